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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /** A log topic whose retention was shortened, capped by size or turned to compaction refuses start-up, saying which and how to undo it. */
    @Test
    void aLogTopicThatNoLongerKeepsEveryRecordRefusesStartUp() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        TopicSpec log = new TopicSpec("kept-forever", 1, "delete", TopicSpec.FOREVER);
        TopicAdmin.ensure(bootstrap, List.of(log)); // created as the log is: accepted
        TopicAdmin.ensure(bootstrap, List.of(log)); // and again, as every start does
        for (var change : List.of(Map.entry("retention.ms", "604800000"), Map.entry("retention.bytes", "1073741824"),
                Map.entry("cleanup.policy", "compact"))) {
            alter(bootstrap, log.name(), change.getKey(), change.getValue());
            assertThatThrownBy(() -> TopicAdmin.ensure(bootstrap, List.of(log))).as(change.getKey())
                    .hasMessageStartingWith("refusing to start: the log must keep every record")
                    .hasMessageContaining("kept-forever has " + change.getKey() + "=" + change.getValue())
                    .hasMessageContaining("--entity-name kept-forever --add-config retention.ms=-1,retention.bytes=-1,cleanup.policy=delete");
            alter(bootstrap, log.name(), change.getKey(), change.getKey().equals("cleanup.policy") ? "delete" : "-1");
            TopicAdmin.ensure(bootstrap, List.of(log)); // set back: starts again
        }
    }

    static void alter(String bootstrap, String topic, String name, String value) throws Exception {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap))) {
            var resource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new org.apache.kafka.clients.admin.AlterConfigOp(
                    new org.apache.kafka.clients.admin.ConfigEntry(name, value), org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
                    .all().get();
            Await.until(topic + " " + name + "=" + value + " as the broker describes it", () -> {
                try {
                    return value.equals(admin.describeConfigs(List.of(resource)).all().get().get(resource).get(name).value());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
        }
    }
}
