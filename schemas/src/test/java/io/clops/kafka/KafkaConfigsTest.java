package io.clops.kafka;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

class KafkaConfigsTest {

    @Test
    void clientSettingsComeFromTheEnvironmentAndSystemPropertiesWin() {
        Properties system = new Properties();
        system.setProperty("clops.kafka.client.sasl.mechanism", "SCRAM-SHA-512");
        system.setProperty("clops.kafka.bootstrap", "not a client setting");
        Map<String, String> settings = KafkaConfigs.fromEnvironment(Map.of(
                "CLOPS_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL",
                "CLOPS_KAFKA_CLIENT_SASL_MECHANISM", "PLAIN",
                "CLOPS_KAFKA_CLIENT_SSL_TRUSTSTORE_LOCATION", "/etc/kafka/truststore.p12",
                "CLOPS_KAFKA_CLIENT_", "empty name",
                "CLOPS_BOOTSTRAP", "kafka:9092"), system);
        assertThat(settings).containsExactlyInAnyOrderEntriesOf(Map.of(
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512",
                "ssl.truststore.location", "/etc/kafka/truststore.p12"));
    }

    @Test
    void aSettingsVariableNameMapsBackToTheSetting() {
        String variable = KafkaConfigs.environmentName("sasl.jaas.config");
        assertThat(variable).isEqualTo("CLOPS_KAFKA_CLIENT_SASL_JAAS_CONFIG");
        assertThat(KafkaConfigs.fromEnvironment(Map.of(variable, "x"), new Properties())).containsExactly(Map.entry("sasl.jaas.config", "x"));
    }

    @Test
    void everyClientTakesThemOverClopsDefaults() {
        System.setProperty("clops.kafka.client.delivery.timeout.ms", "5000");
        try {
            assertThat(KafkaConfigs.producer("k:9092", "p")).containsEntry("delivery.timeout.ms", "5000").containsEntry("acks", "all");
            assertThat(KafkaConfigs.reader("k:9092", "r")).containsEntry("delivery.timeout.ms", "5000");
            assertThat(KafkaConfigs.admin("k:9092")).containsEntry("delivery.timeout.ms", "5000");
        } finally {
            System.clearProperty("clops.kafka.client.delivery.timeout.ms");
        }
        assertThat(KafkaConfigs.producer("k:9092", "p")).containsEntry("delivery.timeout.ms", 30_000);
    }

    @Test
    void aProducerWithAnAppendTimeoutEndsEveryAppendWithinItAndTheEnvironmentStillWins() {
        assertThat(KafkaConfigs.producer("k:9092", "p", java.time.Duration.ofSeconds(2))).containsEntry("max.block.ms", 2000)
                .containsEntry("request.timeout.ms", 1000).containsEntry("delivery.timeout.ms", 2000).containsEntry("acks", "all");
        assertThat(KafkaConfigs.producer("k:9092", "p", java.time.Duration.ofMinutes(1))).containsEntry("request.timeout.ms", 15_000);
        System.setProperty("clops.kafka.client.max.block.ms", "500");
        try {
            assertThat(KafkaConfigs.producer("k:9092", "p", java.time.Duration.ofSeconds(2))).containsEntry("max.block.ms", "500");
        } finally {
            System.clearProperty("clops.kafka.client.max.block.ms");
        }
    }
}
