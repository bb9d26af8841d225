package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The client settings clops uses everywhere: idempotent, acks=all producers; read_committed consumers; plus what the
 * environment adds to every client of the process ({@link #fromEnvironment}): security (SASL, TLS) and tuning.
 */
public final class KafkaConfigs {
    /** {@code CLOPS_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL} sets {@code security.protocol} on every client. */
    public static final String ENV_PREFIX = "CLOPS_KAFKA_CLIENT_";
    /** The same as a system property: {@code -Dclops.kafka.client.security.protocol=SASL_SSL}. */
    public static final String PROPERTY_PREFIX = "clops.kafka.client.";

    private KafkaConfigs() {
    }

    /**
     * Kafka client settings from environment variables {@code CLOPS_KAFKA_CLIENT_<NAME>} (name upper-cased, dots as
     * underscores: Kafka's client setting names have no underscores) and system properties
     * {@code clops.kafka.client.<name>} (which win). For a cluster with SASL/TLS, or to tune timeouts.
     */
    public static Map<String, String> fromEnvironment(Map<String, String> env, Properties system) {
        Map<String, String> out = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                out.put(k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
            }
        });
        system.stringPropertyNames().forEach(k -> {
            if (k.startsWith(PROPERTY_PREFIX) && k.length() > PROPERTY_PREFIX.length()) {
                out.put(k.substring(PROPERTY_PREFIX.length()), system.getProperty(k));
            }
        });
        return out;
    }

    /** This process's settings: {@link #fromEnvironment} of its environment and system properties. */
    public static Map<String, String> fromEnvironment() {
        return fromEnvironment(System.getenv(), System.getProperties());
    }

    /** The environment variable that carries Kafka client setting {@code name}: the inverse of {@link #fromEnvironment}. */
    public static String environmentName(String name) {
        return ENV_PREFIX + name.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /** {@code m} with this process's {@link #fromEnvironment} settings put over it. */
    public static <M extends Map<? super String, Object>> M withEnvironment(M m) {
        m.putAll(fromEnvironment());
        return m;
    }

    /** An admin client's settings. */
    public static Map<String, Object> admin(String bootstrap) {
        Map<String, Object> m = new HashMap<>();
        m.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return withEnvironment(m);
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
        return withEnvironment(m);
    }

    /**
     * A producer whose every append ends within {@code appendTimeout}, waiting for metadata and acks included (a send
     * to a broker that is away fails then, instead of blocking for max.block.ms' 60 s); the environment's settings
     * still win.
     */
    public static Map<String, Object> producer(String bootstrap, String clientId, java.time.Duration appendTimeout) {
        Map<String, Object> m = producer(bootstrap, clientId);
        int timeout = (int) appendTimeout.toMillis();
        m.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
        m.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(15_000, timeout / 2));
        m.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
        return withEnvironment(m);
    }

    /** A consumer without a group: the caller assigns partitions itself. */
    public static Map<String, Object> reader(String bootstrap, String clientId) {
        Map<String, Object> m = new HashMap<>();
        m.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        m.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        m.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        m.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return withEnvironment(m);
    }
}
