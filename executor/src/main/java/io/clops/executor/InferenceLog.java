package io.clops.executor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * Request/response records on clops.inference-log, keyed project/deployment, as JSON (what a Kafka Connect
 * Elasticsearch sink indexes as is): sampled, bodies capped, with route, status and latencies. Asynchronous and
 * batched: logging never slows or fails a request.
 */
public final class InferenceLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaProducer<String, byte[]> producer;
    private final String key;
    private final String project;
    private final String deployment;
    private final double sample;
    private final int maxBodyBytes;
    private final DoubleSupplier random;

    public InferenceLog(String bootstrap, String project, String deployment, double sample, int maxBodyBytes, DoubleSupplier random) {
        Map<String, Object> c = KafkaConfigs.producer(bootstrap, "inference-log-" + deployment);
        c.put(ProducerConfig.ACKS_CONFIG, "1");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        c.put(ProducerConfig.LINGER_MS_CONFIG, 50);
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        this.producer = new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
        this.key = Topics.deploymentKey(project, deployment);
        this.project = project;
        this.deployment = deployment;
        this.sample = sample;
        this.maxBodyBytes = maxBodyBytes;
        this.random = random;
    }

    /** Whether to record the next request (decided before it is served, so only sampled bodies are copied). */
    public boolean sampled() {
        return sample >= 1.0 || random.getAsDouble() < sample;
    }

    /** How much of each body a record keeps. */
    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    /**
     * Records one request, already sampled. The bodies may be given cut to {@link #maxBodyBytes()}; their full sizes
     * come apart.
     *
     * @param shadow the answer of a shadow model (logged, never returned)
     */
    public void log(String requestId, String mode, String route, boolean shadow, int status, long totalNanos, long modelNanos,
                    byte[] request, long requestBytes, byte[] response, long responseBytes) {
        ObjectNode r = JSON.createObjectNode();
        r.put("@timestamp", java.time.Instant.now().toString());
        r.put("project", project);
        r.put("deployment", deployment);
        r.put("requestId", requestId);
        r.put("mode", mode);
        r.put("route", route);
        r.put("shadow", shadow);
        r.put("status", status);
        r.put("latencyMs", totalNanos / 1e6);
        if (modelNanos >= 0) {
            r.put("modelMs", modelNanos / 1e6);
        }
        body(r, "request", request, requestBytes);
        body(r, "response", response, responseBytes);
        try {
            producer.send(new ProducerRecord<>(Topics.INFERENCE_LOG.name(), key, JSON.writeValueAsBytes(r)));
        } catch (Exception e) {
            // best effort: a full buffer or a broker away must not touch the request
        }
    }

    private void body(ObjectNode r, String field, byte[] body, long size) {
        if (body == null) {
            return;
        }
        r.put(field, new String(body, 0, Math.min(body.length, maxBodyBytes), StandardCharsets.UTF_8));
        r.put(field + "Bytes", size);
        if (size > maxBodyBytes) {
            r.put(field + "Truncated", true);
        }
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(2));
    }
}
