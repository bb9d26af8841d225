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
import java.util.concurrent.ConcurrentHashMap;

/**
 * Async inference over HTTP, for clients without a Kafka library: {@code POST /async/<OIP v2 path>} puts the request
 * on the deployment's request topic and answers 202 with its id; {@code GET /async/results/<id>} answers 200 with the
 * model's answer once it is on the response topic (202 while pending). Every executor replica reads the whole
 * response topic, so any replica can serve a result; the last {@value #KEEP} answers are kept.
 */
public final class AsyncFacade implements AutoCloseable {
    static final int KEEP = 10_000;

    /** A stored answer. */
    public record Result(int status, String contentType, byte[] body) {
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
    private final Set<String> pending = ConcurrentHashMap.newKeySet();

    public AsyncFacade(ExecutorConfig config) {
        this.config = config;
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(config.bootstrap(), "facade-" + config.deployment()),
                new StringSerializer(), new ByteArraySerializer());
        this.tail = new TopicTail(config.bootstrap(), config.responseTopic(), "facade-" + config.deployment(), r -> {
            if (r.key() == null) {
                return;
            }
            var status = r.headers().lastHeader(AsyncWorker.H_STATUS);
            var type = r.headers().lastHeader(AsyncWorker.H_CONTENT_TYPE);
            results.put(r.key(), new Result(status == null ? 200 : Integer.parseInt(new String(status.value(), StandardCharsets.UTF_8)),
                    type == null ? "application/json" : new String(type.value(), StandardCharsets.UTF_8), r.value()));
            pending.remove(r.key());
        });
    }

    /** Puts a request on the request topic; the id is the caller's X-Request-Id or a new one. */
    public String submit(String requestId, String model, byte[] body) throws Exception {
        String id = requestId == null || requestId.isBlank() ? UUID.randomUUID().toString() : requestId;
        var headers = new RecordHeaders();
        headers.add(AsyncWorker.H_REQUEST_ID, id.getBytes(StandardCharsets.UTF_8));
        headers.add(AsyncWorker.H_MODEL, model.getBytes(StandardCharsets.UTF_8));
        pending.add(id);
        producer.send(new ProducerRecord<>(config.requestTopic(), null, id, body, headers)).get();
        return id;
    }

    public Result result(String id) {
        return results.get(id);
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
