package io.clops.service;

import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topic;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Appends events to the log: idempotent, acks=all, and the call returns only once the broker has the record. */
public final class EventLog implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;

    public EventLog(String bootstrap, String clientId) {
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, clientId), new StringSerializer(), new ByteArraySerializer());
    }

    public <V> RecordMetadata append(Topic<String, V> topic, String key, V value) {
        return append(topic, key, value, null);
    }

    /**
     * Appends to the partition that {@code partitionKey} would choose rather than {@code key}: clops.registry is
     * keyed by project/model but partitioned by project, so that a project's registry events and commands share a
     * partition number and the topology reads them in order, in one task.
     */
    public <V> RecordMetadata append(Topic<String, V> topic, String key, V value, String partitionKey) {
        byte[] bytes = topic.valueSerde().serializer().serialize(topic.name(), value);
        Integer partition = partitionKey == null ? null
                : Topics.partitionFor(partitionKey, producer.partitionsFor(topic.name()).size());
        try {
            return producer.send(new ProducerRecord<>(topic.name(), partition, key, bytes)).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to " + topic.name(), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot write to " + topic.name() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
