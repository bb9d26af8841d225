package io.clops.testing;

import io.clops.kafka.TopicAdmin;
import io.clops.kafka.TopicSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KafkaExtension.class)
class TopicAdminIT {

    /** A reader that assigns itself a topic's partitions right after ensure() must find them all, every time. */
    @Test
    void ensuredTopicsAreVisibleToClientsAtOnce() {
        String bootstrap = KafkaExtension.bootstrapServers();
        for (int i = 0; i < 20; i++) {
            String name = "ensure-visible-" + i;
            TopicAdmin.ensure(bootstrap, List.of(new TopicSpec(name, 3, "delete", TopicSpec.DAYS_7)));
            try (var consumer = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers", bootstrap),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                assertThat(consumer.partitionsFor(name)).as("partitions of %s right after ensure", name).hasSize(3);
            }
        }
    }
}
