package io.clops.testing;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Writes commands and registry events the way the services do (registry partitioned by project). */
public final class EventProducer implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;

    public EventProducer(String bootstrap) {
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "test-events"), new StringSerializer(), new ByteArraySerializer());
    }

    public void command(CommandEnvelope c) {
        send(new ProducerRecord<>(Topics.COMMANDS.name(), c.getProject(),
                Topics.COMMANDS.valueSerde().serializer().serialize(Topics.COMMANDS.name(), c)));
    }

    public void registry(RegistryEvent e) {
        int partitions = producer.partitionsFor(Topics.REGISTRY.name()).size();
        send(new ProducerRecord<>(Topics.REGISTRY.name(), Topics.partitionFor(e.getProject(), partitions),
                Topics.modelKey(e.getProject(), e.getModel()), Topics.REGISTRY.valueSerde().serializer().serialize(Topics.REGISTRY.name(), e)));
    }

    private void send(ProducerRecord<String, byte[]> r) {
        try {
            producer.send(r).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
