package io.clops.kafka;

import org.apache.kafka.common.serialization.Serde;

/** A topic with the serdes of its keys and values: the only way code names a topic. */
public record Topic<K, V>(TopicSpec spec, Serde<K> keySerde, Serde<V> valueSerde) {
    public String name() {
        return spec.name();
    }
}
