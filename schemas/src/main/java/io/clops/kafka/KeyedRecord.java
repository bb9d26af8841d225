package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/** A record of a String-keyed topic, decoded; value null is a tombstone. */
record KeyedRecord<V>(String key, V value, int partition) {
    private static final Logger LOG = LoggerFactory.getLogger(KeyedRecord.class);

    /** Empty when the value cannot be decoded: logged and skipped (it stays on the topic for the dead-letter tooling). */
    static <V> Optional<KeyedRecord<V>> decode(Topic<String, V> topic, ConsumerRecord<byte[], byte[]> rec) {
        String key = topic.keySerde().deserializer().deserialize(rec.topic(), rec.key());
        try {
            return Optional.of(new KeyedRecord<>(key, topic.valueSerde().deserializer().deserialize(rec.topic(), rec.value()), rec.partition()));
        } catch (SerializationException e) {
            LOG.warn("skipping undecodable record {}-{}@{}: {}", rec.topic(), rec.partition(), rec.offset(), e.getMessage());
            return Optional.empty();
        }
    }
}
