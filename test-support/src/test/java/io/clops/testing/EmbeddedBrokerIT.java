package io.clops.testing;

import io.clops.avro.CommandResult;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KafkaExtension.class)
class EmbeddedBrokerIT {

    @Test
    void catalogTopicsExistAndCarryAvroRecords() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        CommandResult r = CommandResult.newBuilder().setCommandId("c-1").setProject("p").setDeployment("d")
                .setAccepted(true).setGeneration(1).setTimeMs(1).build();
        try (var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new StringSerializer(), Topics.COMMAND_RESULTS.valueSerde().serializer())) {
            producer.send(new ProducerRecord<>(Topics.COMMAND_RESULTS.name(), "c-1", r)).get();
        }
        var records = TopicProbe.readAll(bootstrap, Topics.COMMAND_RESULTS.name(),
                Topics.COMMAND_RESULTS.keySerde().deserializer(), Topics.COMMAND_RESULTS.valueSerde().deserializer());
        assertThat(records).extracting(rec -> rec.value()).contains(r);
    }
}
