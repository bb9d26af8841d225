package io.clops.executor;

import io.clops.kafka.KafkaConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The request consumer's settings: the executor's defaults, and the environment over them (docs/operations.md). */
class AsyncWorkerSettingsTest {
    static final ExecutorConfig CONFIG = ExecutorConfig.single(0, "http://127.0.0.1:1", "iris", "demo", "iris", "async", "kafka:9092", 1000, 1 << 20);

    @Test
    void withoutEnvironmentTheExecutorsDefaults() {
        Map<String, Object> c = AsyncWorker.consumerSettings(CONFIG, Map.of());
        assertThat(c).containsEntry(ConsumerConfig.GROUP_ID_CONFIG, "clops.executor.demo.iris")
                .containsEntry(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 64)
                .containsEntry(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000)
                .containsEntry(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000)
                .containsEntry(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    }

    @Test
    void theEnvironmentWinsOverEveryDefault() {
        Map<String, String> env = KafkaConfigs.fromEnvironment(Map.of(
                "CLOPS_KAFKA_CLIENT_MAX_POLL_RECORDS", "7",
                "CLOPS_KAFKA_CLIENT_SESSION_TIMEOUT_MS", "30000",
                "CLOPS_KAFKA_CLIENT_HEARTBEAT_INTERVAL_MS", "3000",
                "CLOPS_KAFKA_CLIENT_GROUP_ID", "team-a.iris",
                "CLOPS_KAFKA_CLIENT_PARTITION_ASSIGNMENT_STRATEGY", "org.apache.kafka.clients.consumer.RangeAssignor"), new Properties());
        Map<String, Object> c = AsyncWorker.consumerSettings(CONFIG, env);
        assertThat(c).containsEntry(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "7")
                .containsEntry(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000")
                .containsEntry(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "3000")
                .containsEntry(ConsumerConfig.GROUP_ID_CONFIG, "team-a.iris")
                .containsEntry(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, "org.apache.kafka.clients.consumer.RangeAssignor");
    }
}
