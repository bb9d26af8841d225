package io.clops.testing;

import io.clops.avro.CommandResult;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same catalog and serde against Apache Kafka's container image, on machines with a Docker engine.
 * Without one (as on the clops build machine) the class is skipped, not failed.
 */
@Testcontainers(disabledWithoutDocker = true)
class TestcontainersKafkaIT {

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.0");

    @Test
    void catalogTopicsAndSerdeWorkOnAContainerBroker() throws Exception {
        String bootstrap = KAFKA.getBootstrapServers();
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        TopicAdmin.ensure(bootstrap, Topics.ALL); // idempotent
        CommandResult r = CommandResult.newBuilder().setCommandId("c-1").setProject("p").setDeployment("d")
                .setAccepted(true).setGeneration(1).setTimeMs(1).build();
        try (var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new StringSerializer(), Topics.COMMAND_RESULTS.valueSerde().serializer())) {
            producer.send(new ProducerRecord<>(Topics.COMMAND_RESULTS.name(), "c-1", r)).get();
        }
        var records = TopicProbe.readAll(bootstrap, Topics.COMMAND_RESULTS.name(),
                Topics.COMMAND_RESULTS.keySerde().deserializer(), Topics.COMMAND_RESULTS.valueSerde().deserializer());
        assertThat(records).extracting(rec -> rec.value()).containsExactly(r);
    }
}
