package io.clops.runtime;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReconcileWorkerTest {
    @Test
    void theBackOffDoublesFromTheFirstRetryUpToTheCap() {
        ReconcileWorker.Settings s = ReconcileWorker.Settings.defaults().withRetry(Duration.ofMillis(500), Duration.ofSeconds(2));
        assertThat(s.backoff(1)).isEqualTo(Duration.ofMillis(500));
        assertThat(s.backoff(2)).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.backoff(3)).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.backoff(4)).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.backoff(1000)).as("no overflow after many failures").isEqualTo(Duration.ofSeconds(2));
        assertThat(ReconcileWorker.Settings.defaults().backoff(7)).as("defaults: 1 s doubling, at most a minute").isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void aReasonIsTheRuntimesOwnOrTheErrorsTypeAndMessageOnOneBoundedLine() {
        assertThat(ReconcileWorker.reason(new ApplyFailed("the API server answered 403 Forbidden for Deployment a/b: no", null)))
                .isEqualTo("the API server answered 403 Forbidden for Deployment a/b: no");
        assertThat(ReconcileWorker.reason(new IllegalStateException("line one\nline two"))).isEqualTo("IllegalStateException: line one line two");
        assertThat(ReconcileWorker.reason(new IllegalStateException("x".repeat(1000)))).hasSize(400).endsWith("…");
    }

    @Test
    void atLeastOneThread() {
        assertThatThrownBy(() -> ReconcileWorker.Settings.defaults().withThreads(0)).hasMessageContaining("threads");
    }
}
