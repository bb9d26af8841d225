package io.clops.kafka;

import org.apache.kafka.clients.admin.NewTopic;

import java.util.Map;

/** A topic's name and the settings it is created with. */
public record TopicSpec(String name, int partitions, String cleanupPolicy, long retentionMs) {

    public static final long FOREVER = -1L;
    public static final long DAYS_7 = 7L * 24 * 3600 * 1000;

    public NewTopic newTopic(short replicationFactor) {
        return new NewTopic(name, partitions, replicationFactor).configs(configs());
    }

    public Map<String, String> configs() {
        return "compact".equals(cleanupPolicy)
                ? Map.of("cleanup.policy", "compact")
                : Map.of("cleanup.policy", "delete", "retention.ms", Long.toString(retentionMs));
    }
}
