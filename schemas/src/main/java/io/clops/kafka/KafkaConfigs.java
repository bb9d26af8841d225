package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.util.HashMap;
import java.util.Map;

/** The client settings clops uses everywhere: idempotent, acks=all producers; read_committed consumers. */
public final class KafkaConfigs {
    private KafkaConfigs() {
    }

    public static Map<String, Object> producer(String bootstrap, String clientId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        m.put(ProducerConfig.ACKS_CONFIG, "all");
        m.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        m.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        m.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        m.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        return m;
    }

    /** A consumer without a group: the caller assigns partitions itself. */
    public static Map<String, Object> reader(String bootstrap, String clientId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        m.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        m.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        m.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return m;
    }
}
