package io.clops.k8s;

import io.clops.k8s.runtime.ExecutorPrincipals;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Executor passwords are derived: the same for every worker, another for a project created again or another key. */
class ExecutorPrincipalsTest {
    static final byte[] KEY = "a key of at least sixteen bytes".getBytes();

    @Test
    void theSameProjectGetsTheSamePasswordOnEveryWorker() {
        assertThat(ExecutorPrincipals.password(KEY, "acme", "alice@1")).isEqualTo(ExecutorPrincipals.password(KEY.clone(), "acme", "alice@1"))
                .matches("[A-Za-z0-9_-]{24}");
    }

    @Test
    void aProjectCreatedAgainAnotherProjectOrAnotherKeyGetAnotherPassword() {
        String p = ExecutorPrincipals.password(KEY, "acme", "alice@1");
        assertThat(ExecutorPrincipals.password(KEY, "acme", "alice@2")).as("created again").isNotEqualTo(p);
        assertThat(ExecutorPrincipals.password(KEY, "acme2", "alice@1")).as("another project").isNotEqualTo(p);
        assertThat(ExecutorPrincipals.password("another key, also sixteen bytes".getBytes(), "acme", "alice@1")).as("another key").isNotEqualTo(p);
    }

    @Test
    void aShortKeyIsRefused() {
        assertThatThrownBy(() -> ExecutorPrincipals.kafka(java.util.Map.of(), "short".getBytes()))
                .hasMessageContaining("at least 16 bytes");
    }
}
