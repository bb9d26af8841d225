package io.clops.runtime.local;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a model or executor process never inherits from the platform's own environment. */
class ManagedProcessEnvTest {
    @Test
    void credentialsOfThePlatformAndItsUserStayWithThePlatform() {
        assertThat(ManagedProcess.platformSecret("CLOPS_KAFKA_CLIENT_SASL_JAAS_CONFIG")).isTrue();
        assertThat(ManagedProcess.platformSecret("CLOPS_TOKEN")).isTrue();
        assertThat(ManagedProcess.platformSecret("CLOPS_AUTH_GITHUB_ORGS")).isTrue();
        assertThat(ManagedProcess.platformSecret("PATH")).isFalse();
        assertThat(ManagedProcess.platformSecret("CLOPS_PROJECT")).as("what a model is told about itself").isFalse();
    }
}
