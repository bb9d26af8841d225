package io.clops.reconciler;

import io.clops.avro.ClusterEvent;
import io.clops.avro.DeploymentStatus;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Writes what a worker observes: deployment status on clops.status, object summaries on clops.cluster. */
public class StatusWriter implements AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;

    public StatusWriter(String bootstrap, String clientId) {
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, clientId), new StringSerializer(), new ByteArraySerializer());
    }

    public void status(DeploymentStatus s) {
        String key = Topics.deploymentKey(s.getProject(), s.getName());
        producer.send(new ProducerRecord<>(Topics.STATUS.name(), key, Topics.STATUS.valueSerde().serializer().serialize(Topics.STATUS.name(), s)));
    }

    public void statusGone(String project, String name) {
        producer.send(new ProducerRecord<>(Topics.STATUS.name(), Topics.deploymentKey(project, name), null));
    }

    public void observed(ClusterEvent e) {
        producer.send(new ProducerRecord<>(Topics.CLUSTER.name(), clusterKey(e.getKind(), e.getNamespace(), e.getName()),
                Topics.CLUSTER.valueSerde().serializer().serialize(Topics.CLUSTER.name(), e)));
    }

    public void observedGone(String kind, String namespace, String name) {
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
