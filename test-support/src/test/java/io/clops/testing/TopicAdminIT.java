package io.clops.testing;

import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.TopicSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KafkaExtension.class)
class TopicAdminIT {

    /**
     * Right after ensure(), a reader that assigns itself a topic's partitions finds them all, and an idempotent
     * producer's burst is written whole (a produce that reaches the leader before it has taken the partition on gets
     * NOT_LEADER_OR_FOLLOWER, after which the producer can stall on out-of-order sequence numbers).
     */
    @Test
    void ensuredTopicsAreVisibleAndWritableAtOnce() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        for (int i = 0; i < 20; i++) {
            String name = "ensure-visible-" + i;
            TopicAdmin.ensure(bootstrap, List.of(new TopicSpec(name, 3, "delete", TopicSpec.DAYS_7)));
            try (var consumer = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers", bootstrap),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                assertThat(consumer.partitionsFor(name)).as("partitions of %s right after ensure", name).hasSize(3);
            }
            try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "burst"), new StringSerializer(), new StringSerializer())) {
                List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
                for (int n = 0; n < 500; n++) {
                    sent.add(producer.send(new ProducerRecord<>(name, "k" + n, "v")));
                }
                producer.flush();
                for (var f : sent) {
                    f.get(); // fails (after the delivery timeout) when a record could not be written
                }
            }
            assertThat(TopicProbe.endOffsetSum(bootstrap, name)).as("records on %s", name).isEqualTo(500);
        }
    }
}
