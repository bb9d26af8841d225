package io.clops.runtime;

import io.clops.avro.ClusterEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Clock;

/**
 * What a worker tells the platform: observed objects on clops.cluster. It never writes status: the topology joins
 * these observations with the desired state ({@link StatusRules}) and writes clops.status.
 */
public class ObservationWriter implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;
    private final Clock clock = Clock.systemUTC();

    public ObservationWriter(String bootstrap, String clientId) {
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, clientId), new StringSerializer(), new ByteArraySerializer());
    }

    public void observed(ClusterEvent e) {
        producer.send(new ProducerRecord<>(Topics.CLUSTER.name(), clusterKey(e.getKind(), e.getNamespace(), e.getName()),
                Topics.CLUSTER.valueSerde().serializer().serialize(Topics.CLUSTER.name(), e)));
    }

    /** The runtime applied {@code generation} of a deployment (reason non-null: it could not). */
    public void applied(String project, String deployment, long generation, String runtime, String endpoint, String reason) {
        observed(ClusterEvent.newBuilder().setKind(io.clops.avro.ObservedKind.Applied.name()).setNamespace(project).setName(deployment)
                .setDeployment(deployment).setGeneration(generation).setPhase(runtime).setReason(reason)
                .setEndpoint(endpoint).setTimeMs(clock.millis()).build());
    }

    /** An object is gone: a Deleted event the topology sees, then a tombstone that compaction keeps. */
    public void observedGone(io.clops.avro.ObservedKind kind, String namespace, String name, String deployment) {
        observedGone(kind.name(), namespace, name, deployment);
    }

    /** {@link #observedGone(io.clops.avro.ObservedKind, String, String, String)} for a kind clops does not name (a Kubernetes object's own kind). */
    public void observedGone(String kind, String namespace, String name, String deployment) {
        observed(ClusterEvent.newBuilder().setKind(kind).setNamespace(namespace).setName(name).setDeployment(deployment)
                .setPhase(io.clops.avro.ObservedPhase.Deleted.name()).setTimeMs(clock.millis()).build());
        producer.send(new ProducerRecord<>(Topics.CLUSTER.name(), clusterKey(kind, namespace, name), null));
    }

    public static String clusterKey(String kind, String namespace, String name) {
        return kind + "/" + namespace + "/" + name;
    }

    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close();
    }
}
