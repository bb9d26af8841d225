package io.clops.executor;

import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicTail;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Async inference over HTTP, for clients without a Kafka library: {@code POST /async/<OIP v2 path>} puts the request
 * on the deployment's request topic and answers 202 with its id; {@code GET /async/results/<id>} answers 200 with the
 * model's answer once it is on the response topic (202 while pending). The id is the facade's own, random (122 bits):
 * a result is read by whoever was given its id, never guessed, and a caller's {@code X-Request-Id} (passed on as
 * {@value #H_CLIENT_REQUEST_ID}) cannot replace another caller's result. Every executor replica reads the whole
 * response topic and keeps the answers to requests the facade sent (marked {@value #H_FACADE}), so any replica can
 * serve one; they are kept {@value #TTL_MS} ms, at most {@value #KEEP} of them.
 */
public final class AsyncFacade implements AutoCloseable {
    static final int KEEP = 10_000;
    static final long TTL_MS = 10 * 60 * 1000;
    /** Marks a request the facade sent (copied onto its answer): only those answers are served over HTTP. */
    static final String H_FACADE = "clops-facade";
    static final String H_CLIENT_REQUEST_ID = "clops-client-request-id";

    /** A stored answer, and when it arrived (System.nanoTime). */
    public record Result(int status, String contentType, byte[] body, long at) {
    }

    private final ExecutorConfig config;
    private final KafkaProducer<String, byte[]> producer;
    private final TopicTail tail;
    private final Map<String, Result> results = java.util.Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Result> e) {
            return size() > KEEP;
        }
    });
    /** Ids sent and not answered yet, bounded like the results (a request never answered does not stay forever). */
    private final Set<String> pending = java.util.Collections.newSetFromMap(java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(1024, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
                    return size() > KEEP;
                }
            }));

    public AsyncFacade(ExecutorConfig config) {
        this.config = config;
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(config.bootstrap(), "facade-" + config.deployment()),
                new StringSerializer(), new ByteArraySerializer());
        this.tail = new TopicTail(config.bootstrap(), config.responseTopic(), "facade-" + config.deployment(), r -> {
            if (r.key() == null || r.headers().lastHeader(H_FACADE) == null) {
                return; // answers to Kafka clients are theirs, not served here
            }
            var status = r.headers().lastHeader(AsyncWorker.H_STATUS);
            var type = r.headers().lastHeader(AsyncWorker.H_CONTENT_TYPE);
            int code;
            try {
                code = status == null ? 200 : Integer.parseInt(new String(status.value(), StandardCharsets.UTF_8));
            } catch (NumberFormatException e) {
                code = 502;
            }
            results.put(r.key(), new Result(code, type == null ? "application/json" : new String(type.value(), StandardCharsets.UTF_8),
                    r.value(), System.nanoTime()));
            pending.remove(r.key());
        });
    }

    /** Puts a request on the request topic under a new random id; the caller's own id travels beside it. */
    public String submit(String clientRequestId, String model, byte[] body) throws Exception {
        return submit(clientRequestId, model, body, null);
    }

    /** {@code token}: the caller's (checked on the sync side), carried as clops-token for the worker's check; or null. */
    public String submit(String clientRequestId, String model, byte[] body, String token) throws Exception {
        String id = UUID.randomUUID().toString();
        var headers = new RecordHeaders();
        headers.add(AsyncWorker.H_REQUEST_ID, id.getBytes(StandardCharsets.UTF_8));
        headers.add(AsyncWorker.H_MODEL, model.getBytes(StandardCharsets.UTF_8));
        headers.add(H_FACADE, new byte[]{'1'});
        if (token != null) {
            headers.add(AsyncWorker.H_TOKEN, token.getBytes(StandardCharsets.UTF_8));
        }
        if (clientRequestId != null && !clientRequestId.isBlank()) {
            headers.add(H_CLIENT_REQUEST_ID, clientRequestId.getBytes(StandardCharsets.UTF_8));
        }
        pending.add(id);
        producer.send(new ProducerRecord<>(config.requestTopic(), null, id, body, headers)).get();
        return id;
    }

    public Result result(String id) {
        Result r = results.get(id);
        if (r != null && System.nanoTime() - r.at() > TTL_MS * 1_000_000) {
            results.remove(id);
            return null;
        }
        return r;
    }

    public boolean isPending(String id) {
        return pending.contains(id);
    }

    @Override
    public void close() {
        tail.close();
        producer.close(Duration.ofSeconds(2));
    }
}
