package io.clops.schemas;

import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Publishes this process's writer schemas to clops.schemas and reads the topic back for unknown fingerprints. */
public final class SchemaTopic {
    private SchemaTopic() {
    }

    /**
     * Publish every current top-level schema, and let the global catalog consult the topic from now on. A client
     * Kafka lets read the catalog and not write it (a project's executors on Kubernetes: a tenant must not be able
     * to write the schemas every service trusts) only reads it; the platform's services published the same schemas.
     */
    public static void connect(String bootstrap) {
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                KafkaConfigs.producer(bootstrap, "schemas"), new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (Schema s : SchemaCatalog.TOP_LEVEL) {
                sent.add(producer.send(new ProducerRecord<>(Topics.SCHEMAS.name(), SchemaCatalog.fingerprintHex(s), s.toString())));
            }
            producer.flush();
            for (var f : sent) {
                f.get();
            }
        } catch (org.apache.kafka.common.errors.TopicAuthorizationException readOnly) {
            // a reader only
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicAuthorizationException)) {
                throw new IllegalStateException("cannot publish the schemas on " + Topics.SCHEMAS.name() + ": " + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing the schemas", e);
        }
        SchemaCatalog.global().setRemote(() -> readAll(bootstrap));
    }

    public static Collection<Schema> readAll(String bootstrap) {
        List<Schema> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(
                KafkaConfigs.reader(bootstrap, "schemas"), new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(Topics.SCHEMAS.name(), 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            while (consumer.position(tp) < end) {
                for (var rec : consumer.poll(Duration.ofMillis(500))) {
                    if (rec.value() != null) {
                        out.add(new Schema.Parser().parse(rec.value()));
                    }
                }
            }
        }
        return out;
    }
}
