package io.clops.executor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MetricsTest {
    static void answer(Metrics m, String route, int n) {
        for (int i = 0; i < n; i++) {
            m.record("sync", route, 200, 1_000, 500);
        }
    }

    @Test
    void requestsPerSecondIsTheRateOverTheLastTenTicksWithoutShadowCopies() {
        Metrics m = new Metrics();
        m.tick();
        assertThat(m.requestsPerSecond()).as("one sample: no rate yet").isZero();
        for (int second = 0; second < 15; second++) {
            answer(m, "iris-v1", 30);
            answer(m, "shadow:iris-v2", 30); // copies: not requests a client made
            m.record("async", "-", 400, 1_000, -1); // the executor's own refusal: a request all the same
            m.tick();
        }
        assertThat(m.requestsPerSecond()).isCloseTo(31.0, within(1e-9));
        assertThat(m.scrape("demo", "iris")).contains("clops_executor_requests_per_second{project=\"demo\",deployment=\"iris\"} 31.0");
        for (int second = 0; second < 3; second++) {
            m.tick(); // idle
        }
        assertThat(m.requestsPerSecond()).as("7 busy seconds of the last 10").isCloseTo(31.0 * 7 / 10, within(1e-9));
    }

    /** What k8s/manifests/05-metrics-adapter.yaml turns into HPA metrics (ManifestsTest checks the other side). */
    @Test
    void theSeriesTheAutoscaleMetricsNameAreExported() {
        String scrape = new Metrics().scrape("demo", "iris");
        for (String series : java.util.List.of("clops_executor_requests_per_second", "clops_executor_in_flight", "clops_executor_async_lag")) {
            assertThat(scrape).contains("# TYPE " + series + " gauge").contains(series + "{project=\"demo\",deployment=\"iris\"} ");
        }
    }
}
