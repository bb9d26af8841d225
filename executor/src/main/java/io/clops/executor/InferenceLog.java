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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * Request/response records on the project's inference log (clops.inference-log.&lt;project&gt;), keyed project/deployment, as JSON (what a Kafka Connect
 * Elasticsearch sink indexes as is): sampled, bodies capped, with route, status and latencies. Logging never slows
 * or fails a request: a request's thread only queues its record (bounded, {@value #QUEUE} records); one thread of
 * its own turns them into JSON and hands them to Kafka, where a broker away may block it, not an event loop. When
 * the queue is full, records are dropped and counted ({@code clops_executor_log_dropped_total}).
 */
public final class InferenceLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaProducer<String, byte[]> producer;
    private final String key;
    private final String topic;
    private final String bootstrap;
    private boolean topicReady; // the writer thread's own
    private long lastEnsure;
    private final String project;
    private final String deployment;
    private final double sample;
    private final int maxBodyBytes;
    private final DoubleSupplier random;
    static final int QUEUE = 10_000;
    private final BlockingQueue<Entry> queue = new ArrayBlockingQueue<>(QUEUE);
    private final LongAdder dropped;
    private final Thread writer;
    private volatile boolean running = true;

    /** One answer to log, as the request's thread saw it. */
    private record Entry(long epochMillis, String requestId, String mode, String route, boolean shadow, int status, long totalNanos,
                         long modelNanos, byte[] request, long requestBytes, byte[] response, long responseBytes) {
    }

    public InferenceLog(String bootstrap, String project, String deployment, double sample, int maxBodyBytes, DoubleSupplier random,
                        LongAdder dropped) {
        Map<String, Object> c = KafkaConfigs.producer(bootstrap, "inference-log-" + deployment);
        c.put(ProducerConfig.ACKS_CONFIG, "1");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        c.put(ProducerConfig.LINGER_MS_CONFIG, 50);
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        this.producer = new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
        this.key = Topics.deploymentKey(project, deployment);
        this.topic = Topics.inferenceLog(project).name();
        this.bootstrap = bootstrap;
        this.project = project;
        this.deployment = deployment;
        this.sample = sample;
        this.maxBodyBytes = maxBodyBytes;
        this.random = random;
        this.dropped = dropped;
        this.writer = new Thread(this::write, "inference-log");
        writer.setDaemon(true);
        writer.start();
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
        if (!queue.offer(new Entry(System.currentTimeMillis(), requestId, mode, route, shadow, status, totalNanos, modelNanos,
                request, requestBytes, response, responseBytes))) {
            dropped.increment();
        }
    }

    /** Records waiting for the writer (clops_executor_log_queued). */
    public int queued() {
        return queue.size();
    }

    private void write() {
        while (running || !queue.isEmpty()) {
            Entry e = null;
            try {
                e = queue.poll(200, TimeUnit.MILLISECONDS);
                if (e != null) {
                    ensureTopic();
                    producer.send(new ProducerRecord<>(topic, key, json(e)), (metadata, failed) -> {
                        if (failed != null) {
                            dropped.increment(); // not delivered (a broker away past the producer's timeouts)
                        }
                    });
                }
            } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException ie) {
                // closed while Kafka was away: the record being sent and what is still queued are dropped, and counted
                dropped.add((e != null ? 1 : 0) + queue.size());
                queue.clear();
                return;
            } catch (Exception ex) {
                dropped.increment(); // best effort: a full buffer or a broker away for long costs records, not requests
            }
        }
    }

    /**
     * Creates the project's log topic before the first record (and again after a failure, at most every 30 s): here on
     * the writer's thread, so an executor starts and serves while Kafka is away.
     */
    private void ensureTopic() throws InterruptedException {
        long now = System.nanoTime();
        if (topicReady || now - lastEnsure < 30_000_000_000L && lastEnsure != 0) {
            return;
        }
        lastEnsure = now;
        org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap));
        try {
            io.clops.kafka.TopicAdmin.ensure(admin, java.util.List.of(Topics.inferenceLog(project).spec()));
            topicReady = true;
        } catch (RuntimeException ex) {
            if (Thread.interrupted()) {
                throw new InterruptedException("closed while creating the inference log topic");
            }
            org.slf4j.LoggerFactory.getLogger(InferenceLog.class).warn("cannot create the inference log topic {} (retried in 30 s): {}",
                    topic, ex.getMessage());
        } finally {
            admin.close(java.time.Duration.ZERO); // never waits: closing the executor must not hang on a broker away
        }
    }

    private byte[] json(Entry e) throws java.io.IOException {
        ObjectNode r = JSON.createObjectNode();
        r.put("@timestamp", java.time.Instant.ofEpochMilli(e.epochMillis()).toString());
        r.put("project", project);
        r.put("deployment", deployment);
        r.put("requestId", e.requestId());
        r.put("mode", e.mode());
        r.put("route", e.route());
        r.put("shadow", e.shadow());
        r.put("status", e.status());
        r.put("latencyMs", e.totalNanos() / 1e6);
        if (e.modelNanos() >= 0) {
            r.put("modelMs", e.modelNanos() / 1e6);
        }
        body(r, "request", e.request(), e.requestBytes());
        body(r, "response", e.response(), e.responseBytes());
        return JSON.writeValueAsBytes(r);
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
        running = false; // the writer sends what is queued, then stops
        try {
            writer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.interrupt();
        try {
            writer.join(2000); // it counts what it could not write, then stops
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(java.time.Duration.ofSeconds(2));
    }
}
