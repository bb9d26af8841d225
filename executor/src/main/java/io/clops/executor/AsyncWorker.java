package io.clops.executor;

import io.clops.avro.InferenceEnvelope;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.clops.schemas.AvroSerde;
import io.netty.channel.EventLoop;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * The async side: the deployment's request topic, consumed by all its executors as one consumer group. Each request
 * is answered on the response topic (or the topic its {@code clops-reply-to} header names), keyed by request id and
 * carrying the request's headers back. Each answer is produced as soon as it is ready; a batch's offsets are
 * committed (asynchronously, off the requests' path; synchronously on revocation and close) only after all its
 * answers are acknowledged (at-least-once: an executor that dies mid-batch leaves the batch to another, which may
 * answer some ids twice).
 * <p>
 * A request is either plain OIP v2 JSON with headers ({@code clops-request-id}, optional {@code clops-model},
 * {@code clops-deadline-ms}, {@code clops-reply-to}) or an Avro {@link InferenceEnvelope}; the answer has the same form.
 */
public final class AsyncWorker implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncWorker.class);
    public static final String H_REQUEST_ID = "clops-request-id";
    public static final String H_MODEL = "clops-model";
    public static final String H_DEADLINE = "clops-deadline-ms";
    public static final String H_REPLY_TO = "clops-reply-to";
    /** Who sends the request: a clops token (the same as Authorization: Bearer on the sync side); never copied on. */
    public static final String H_TOKEN = "clops-token";
    public static final String H_STATUS = "clops-status";
    public static final String H_CONTENT_TYPE = "content-type";
    /** Which executor answered (host:pid), for debugging and to tell a re-delivery apart. */
    public static final String H_EXECUTOR = "clops-executor";
    static final byte[] SELF = (hostName() + ":" + ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8);

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }

    /** The version that answered; a client may send it back to stay on that version. */
    public static final String H_ROUTE = "clops-route";

    private final ExecutorConfig config;
    private final Dispatcher dispatcher;
    private final Metrics metrics;
    private final Clock clock;
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final Semaphore inFlight;
    private final ReplyTopics replyTopics = new ReplyTopics();
    private volatile boolean running = true;
    private volatile String failure;

    /**
     * The request consumer's settings: the executor's defaults (its group, 64 records a poll, cooperative
     * assignment, a dead executor's partitions moved after 10 s), then the environment's
     * ({@code CLOPS_KAFKA_CLIENT_*}, {@code -Dclops.kafka.client.*}) over them: the environment wins, as
     * docs/operations.md says.
     */
    static Map<String, Object> consumerSettings(ExecutorConfig config, Map<String, String> environment) {
        Map<String, Object> c = new HashMap<>(KafkaConfigs.reader(config.bootstrap(), "executor-" + config.deployment()));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, config.consumerGroup());
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 64);
        // cooperative: when executors come or go (autoscaling), only the partitions that move pause, not every
        // executor's; range stays listed so a group with executors of an older version still agrees on a protocol
        c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, List.of(
                org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName(),
                org.apache.kafka.clients.consumer.RangeAssignor.class.getName()));
        // a dead executor's partitions move to the others after 10 s, not Kafka's default 45 s
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        c.putAll(environment);
        return c;
    }

    public AsyncWorker(ExecutorConfig config, Dispatcher dispatcher, Metrics metrics, Clock clock) {
        this.config = config;
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.clock = clock;
        Map<String, Object> c = consumerSettings(config, KafkaConfigs.fromEnvironment());
        this.consumer = new KafkaConsumer<>(c, new StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(config.bootstrap(), "executor-" + config.deployment()),
                new StringSerializer(), new ByteArraySerializer());
        this.inFlight = new Semaphore(config.asyncConcurrency());
    }

    /** One polled batch for the bookkeeping: per partition its first and last offsets, and its record count. */
    private static AsyncOffsets.Batch batchOf(ConsumerRecords<String, byte[]> records) {
        Map<TopicPartition, long[]> ranges = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<String, byte[]>> rs = records.records(tp);
            ranges.put(tp, new long[]{rs.get(0).offset(), rs.get(rs.size() - 1).offset()});
        }
        return new AsyncOffsets.Batch(ranges, records.count());
    }

    /**
     * An answer to produce; {@code fallback}: what to produce instead if it cannot be (its reply-to topic failed),
     * made only then; null for answers on the response topic.
     */
    private record Outgoing(ProducerRecord<String, byte[]> record, AsyncOffsets.Batch batch,
                            java.util.function.Supplier<ProducerRecord<String, byte[]>> fallback) {
    }

    /** Answers waiting to be produced: the model's answers complete on event loops, the sender thread produces them. */
    private final java.util.concurrent.BlockingQueue<Outgoing> outbox = new java.util.concurrent.LinkedBlockingQueue<>();
    /** Polled batches not committed yet, in poll order, and what is committable (the at-least-once rules). */
    private final AsyncOffsets offsets = new AsyncOffsets();

    @Override
    public void run() {
        Thread sender = new Thread(this::send, "executor-async-sender");
        sender.setDaemon(true);
        sender.start();
        try {
            consumer.subscribe(List.of(config.requestTopic()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                    settle(partitions); // whoever gets these partitions starts after what was answered here
                }

                @Override
                public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
                    // no longer ours and nothing can be committed for them: the new owner answers again what was in flight
                    forget(partitions);
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                }
            });
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(offsets.isEmpty() ? 200 : 5));
                if (!records.isEmpty()) {
                    AsyncOffsets.Batch batch = batchOf(records);
                    offsets.add(batch);
                    // a poll's requests go to one event loop together: one hand-off per group, not per request
                    EventLoop loop = dispatcher.nextLoop();
                    List<Runnable> group = new ArrayList<>();
                    for (ConsumerRecord<String, byte[]> rec : records) {
                        if (!inFlight.tryAcquire()) {
                            handOff(loop, group); // what is ready goes now; then wait for room
                            inFlight.acquireUninterruptibly();
                        }
                        Runnable call = answer(rec, loop, batch);
                        if (call != null) {
                            group.add(call);
                        }
                    }
                    handOff(loop, group);
                }
                commitAcknowledged();
                maybeUpdateLag();
            }
        } catch (WakeupException e) {
            // closing
        } catch (Exception e) {
            if (running) {
                failure = "async worker stopped: " + e;
                LOG.error("async worker of {} stopped: {}", config.deployment(), e.toString(), e);
            }
        } finally {
            settle(java.util.Set.of());
            sender.interrupt();
            consumer.close(Duration.ofSeconds(2));
            producer.close(Duration.ofSeconds(2));
        }
    }

    /** The sender thread: produces each answer as soon as it is ready (never on an event loop: send may block). */
    private void send() {
        try {
            while (true) {
                Outgoing o = outbox.take();
                org.apache.kafka.clients.producer.Callback done = (meta, e) -> {
                    if (e != null && o.fallback() != null) { // the reply-to topic failed: an error on the response topic
                        replyTopics.forget(o.record().topic());
                        outbox.add(new Outgoing(o.fallback().get(), o.batch(), null));
                    } else {
                        o.batch().ack(e);
                    }
                };
                try {
                    producer.send(o.record(), done);
                } catch (RuntimeException e) { // not one of Kafka's own failures (those reach the callback): treated alike
                    done.onCompletion(null, e);
                }
            }
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("async sender of {} stopped: {}", config.deployment(), e.toString(), e);
        }
    }

    /**
     * Commits, asynchronously and off the requests' path, the batches whose answers are all acknowledged, in poll
     * order (a batch waits for those before it). A batch an answer of which could not be produced (Kafka away longer
     * than the producer's delivery timeout) is not committed: it and every batch after it are polled again.
     */
    private void commitAcknowledged() {
        AsyncOffsets.Step step = offsets.advance();
        if (step.pollAgainFrom() != null) {
            var assigned = consumer.assignment();
            step.pollAgainFrom().forEach((tp, offset) -> {
                if (assigned.contains(tp)) {
                    consumer.seek(tp, offset);
                }
            });
            metrics.asyncRetried.incrementAndGet();
            LOG.warn("an answer could not be produced ({}); polling again from {}", step.why(), step.pollAgainFrom());
        } else if (step.commit() != null) {
            consumer.commitAsync(step.commit(), (committed, e) -> {
                if (e != null) {
                    LOG.debug("async commit failed, a later one covers it: {}", e.toString());
                }
            });
        }
    }

    /**
     * Waits for the answers in flight (bounded), commits what is acknowledged, synchronously, then gives up
     * {@code leaving}. With cooperative rebalancing only the partitions that move are revoked: the others go on where
     * they are, so their batches stay pending (dropping them could let a later batch's commit pass answers not yet
     * produced).
     */
    private void settle(java.util.Collection<TopicPartition> leaving) {
        try {
            CompletableFuture.allOf(offsets.inFlight()).get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("answers still in flight or failed ({}); their requests will be answered again", e.toString());
        }
        Map<TopicPartition, OffsetAndMetadata> done = offsets.settle();
        if (!done.isEmpty()) {
            try {
                try {
                    consumer.commitSync(done, Duration.ofSeconds(5));
                } catch (WakeupException e) { // close() woke the consumer after the loop had left poll: commit anyway
                    consumer.commitSync(done, Duration.ofSeconds(5));
                }
            } catch (RuntimeException e) {
                LOG.warn("could not commit answered offsets ({}); those requests will be answered again", e.toString());
            }
        }
        forget(leaving);
    }

    /** No commit of ours names these partitions from here on (AsyncOffsets.forget). */
    private void forget(java.util.Collection<TopicPartition> partitions) {
        offsets.forget(partitions);
    }

    private long lagCheckedAt;

    private void maybeUpdateLag() {
        long now = System.nanoTime();
        if (now - lagCheckedAt > 1_000_000_000L) {
            lagCheckedAt = now;
            updateLag();
        }
    }

    private void updateLag() {
        try {
            var assigned = consumer.assignment();
            if (assigned.isEmpty()) {
                return;
            }
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned, Duration.ofMillis(500));
            long lag = 0;
            for (TopicPartition tp : assigned) {
                lag += Math.max(0, end.get(tp) - consumer.position(tp));
            }
            metrics.asyncLag.set(lag);
        } catch (RuntimeException e) {
            // lag is best effort
        }
    }

    private static void handOff(EventLoop loop, List<Runnable> group) {
        if (!group.isEmpty()) {
            Runnable[] tasks = group.toArray(Runnable[]::new);
            group.clear();
            loop.execute(() -> {
                for (Runnable t : tasks) {
                    t.run();
                }
            });
        }
    }

    /**
     * Parses the request here (the poll thread); returns what calls the model, to run on {@code loop}, and puts the
     * answer in the outbox (null: answered already: refused, or its deadline had passed). The caller holds an
     * in-flight permit for it, released when the model has answered.
     */
    private Runnable answer(ConsumerRecord<String, byte[]> rec, EventLoop loop, AsyncOffsets.Batch batch) {
        long start = System.nanoTime();
        Request req = Request.parse(rec, config.modelName(), config.protocol());
        Admission.Refusal who = dispatcher.admission().whoToken(req.token());
        ModelClient.Reply refusal = who != null ? ModelClient.error(who.status(), who.message(), -1)
                : req.replyTo() == null ? null : replyTopics.check(req.replyTo());
        String replyTo = req.replyTo() != null && refusal == null ? req.replyTo() : config.responseTopic();
        if (refusal == null && req.invalid() != null) {
            refusal = ModelClient.error(400, req.invalid(), -1);
        }
        if (refusal == null && req.deadlineMs() != null && clock.millis() > req.deadlineMs()) {
            refusal = ModelClient.error(504, "deadline exceeded before the request was computed", -1);
        }
        if (refusal != null) { // answered at once, on the response topic when the reply-to topic is what was wrong
            metrics.record("async", "-", refusal.status(), System.nanoTime() - start, -1);
            inFlight.release();
            outbox.add(new Outgoing(req.response(replyTo, refusal, null), batch, fallback(req, replyTo, refusal)));
            return null;
        }
        String sticky = header(rec.headers(), H_ROUTE, null);
        return () -> {
            metrics.inFlight.increment();
            CompletableFuture<Dispatcher.Answer> called;
            try {
                called = dispatcher.dispatch(loop, "async", req.id(), "POST", req.path(), Map.of("Content-Type", List.of(req.contentType())),
                        req.body(), sticky, start);
            } catch (RuntimeException e) { // one request's failure must not keep its permit, nor the tasks after it
                called = CompletableFuture.failedFuture(e);
            }
            called.whenComplete((a, e) -> {
                        inFlight.release();
                        metrics.inFlight.decrement();
                    })
                    .thenApply(a -> new Outgoing(req.response(replyTo, a.reply(), a.route().name().equals("-") ? null : a.route().name()),
                            batch, fallback(req, replyTo, a.reply())))
                    .exceptionally(e -> {
                        ModelClient.Reply r = ModelClient.error(500, "executor failed to answer: " + e, -1);
                        return new Outgoing(req.response(replyTo, r, null), batch, fallback(req, replyTo, r));
                    })
                    .thenAccept(outbox::add);
        };
    }

    /** When an answer goes to a reply-to topic: the error the response topic gets if it cannot be produced there. */
    private java.util.function.Supplier<ProducerRecord<String, byte[]>> fallback(Request req, String topic, ModelClient.Reply reply) {
        if (topic.equals(config.responseTopic())) {
            return null;
        }
        return () -> req.response(config.responseTopic(), ModelClient.error(502, "header " + H_REPLY_TO + ": the answer (status "
                + reply.status() + ") could not be produced on topic '" + topic + "'", -1), null);
    }

    /**
     * The topics a request may name as {@code clops-reply-to}: those of the deployment's project ({@code <project>.*}
     * or {@code clops.infer.<project>.*}; never the platform's own), and only if they exist (a missing one would
     * hold every answer behind it for the producer's {@code max.block.ms}). Checked on the poll thread, remembered.
     */
    final class ReplyTopics {
        private static final java.util.regex.Pattern LEGAL = java.util.regex.Pattern.compile("[a-zA-Z0-9._-]{1,249}");
        private static final long MISSING_RECHECK_NANOS = 10_000_000_000L;
        private static final int MISSING_REMEMBERED = 1_000;
        private final java.util.Set<String> existing = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final Map<String, Long> missingSince = new HashMap<>();

        /** Null when {@code topic} may be answered on, else the refusal. */
        ModelClient.Reply check(String topic) {
            if (existing.contains(topic)) {
                return null;
            }
            if (!LEGAL.matcher(topic).matches()) {
                return ModelClient.error(400, "header " + H_REPLY_TO + ": '" + topic + "' is not a Kafka topic name", -1);
            }
            String why = notOurs(topic, config.project());
            if (why != null) {
                return ModelClient.error(403, "header " + H_REPLY_TO + ": topic '" + topic + "' " + why, -1);
            }
            Long since = missingSince.get(topic);
            long now = System.nanoTime();
            if (since == null || now - since > MISSING_RECHECK_NANOS) {
                try {
                    if (consumer.partitionsFor(topic, Duration.ofSeconds(5)).isEmpty()) {
                        if (missingSince.size() >= MISSING_REMEMBERED) { // requests naming ever new topics: memory stays bounded
                            missingSince.clear();
                        }
                        missingSince.put(topic, now);
                    } else {
                        missingSince.remove(topic);
                        existing.add(topic);
                        return null;
                    }
                } catch (RuntimeException e) { // cannot tell now: let the producer try (a failure falls back)
                    return null;
                }
            }
            return ModelClient.error(404, "header " + H_REPLY_TO + ": topic '" + topic + "' does not exist", -1);
        }

        /**
         * Null when {@code topic} may carry answers for {@code project}: a topic of the project's own
         * ({@code <project>.*}), or the response topic of one of its deployments
         * ({@code clops.infer.<project>.<deployment>.responses}), classified exactly: never a request topic (its
         * answer would be read again as a request), never another platform topic. Project names cannot be
         * {@code clops} or {@code clops-*} (io.clops.api.Names), so a project's prefix never covers the platform's.
         */
        static String notOurs(String topic, String project) {
            if (topic.startsWith("clops.")) {
                String prefix = Topics.inferPrefix(project);
                String rest = topic.startsWith(prefix) ? topic.substring(prefix.length()) : null;
                if (rest != null && rest.endsWith(".responses") && RESPONSE_DEPLOYMENT.matcher(rest.substring(0, rest.length() - 10)).matches()) {
                    return null;
                }
                return "is not a response topic of project " + project + " (clops.infer." + project + ".<deployment>.responses)";
            }
            if (!topic.startsWith(project + ".") || topic.length() == project.length() + 1) {
                return "is not project " + project + "'s: a reply-to topic is '" + project + ".<name>' or a response topic"
                        + " clops.infer." + project + ".<deployment>.responses";
            }
            return null;
        }

        private static final java.util.regex.Pattern RESPONSE_DEPLOYMENT = java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

        /** A produce on {@code topic} failed: check it again next time. */
        void forget(String topic) {
            existing.remove(topic);
        }
    }

    static String header(Headers headers, String name, String fallback) {
        Header h = headers.lastHeader(name);
        return h == null ? fallback : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Characters a header value may carry on to the model: visible ASCII, space and tab (no CR/LF: no smuggling). */
    private static boolean fieldValue(String v, boolean spaces) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (!(c > 0x20 && c < 0x7f || spaces && (c == ' ' || c == '\t'))) {
                return false;
            }
        }
        return !v.isEmpty();
    }

    private static final java.util.regex.Pattern MODEL_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,252}");

    /**
     * One request, whichever form it came in. {@code invalid}: why it cannot be sent to the model (a field named),
     * or null; {@code path}: what it calls on the model.
     */
    private record Request(String id, String model, String contentType, byte[] body, Long deadlineMs, String replyTo,
                           Headers correlation, boolean envelope, String path, String invalid, String token) {

        static Request parse(ConsumerRecord<String, byte[]> rec, String defaultModel, String protocol) {
            Headers correlation = new RecordHeaders();
            for (Header h : rec.headers()) {
                if (!h.key().equals(H_REPLY_TO) && !h.key().equals(H_DEADLINE) && !h.key().equals(H_STATUS) && !h.key().equals(H_TOKEN)) {
                    correlation.add(h);
                }
            }
            // a request without an id or key gets one nobody can guess (its answer is found by its copied headers)
            String fallbackId = rec.key() != null ? rec.key() : java.util.UUID.randomUUID().toString();
            String id;
            String model;
            String contentType;
            byte[] body;
            Long deadline = null;
            String replyTo;
            boolean envelope = false;
            String invalid = null;
            InferenceEnvelope env = null;
            if (AvroSerde.isSingleObject(rec.value())) {
                try {
                    env = Topics.INFERENCE_ENVELOPE.deserialize(rec.topic(), rec.value());
                } catch (RuntimeException e) {
                    // not an envelope after all: treated as raw bytes
                }
            }
            if (env != null) {
                envelope = true;
                id = env.getId();
                model = env.getModel() != null ? env.getModel() : defaultModel;
                contentType = env.getContentType();
                body = new byte[env.getBody().remaining()];
                env.getBody().duplicate().get(body);
                deadline = env.getDeadlineMs();
                replyTo = env.getHeaders().getOrDefault(H_REPLY_TO, header(rec.headers(), H_REPLY_TO, null));
                env.getHeaders().forEach((k, v) -> {
                    if (!k.equals(H_REPLY_TO) && !k.equals(H_TOKEN) && correlation.lastHeader(k) == null) {
                        correlation.add(k, v.getBytes(StandardCharsets.UTF_8));
                    }
                });
            } else {
                id = header(rec.headers(), H_REQUEST_ID, fallbackId);
                model = header(rec.headers(), H_MODEL, defaultModel);
                contentType = header(rec.headers(), H_CONTENT_TYPE, "application/json");
                body = rec.value() == null ? new byte[0] : rec.value();
                replyTo = header(rec.headers(), H_REPLY_TO, null);
                String d = header(rec.headers(), H_DEADLINE, null);
                if (d != null) {
                    try {
                        deadline = Long.valueOf(d.trim());
                    } catch (NumberFormatException e) {
                        invalid = "header " + H_DEADLINE + ": '" + d + "' is not a time in epoch milliseconds";
                    }
                }
            }
            String path;
            if ("v2".equals(protocol)) {
                path = "/v2/models/" + model + "/infer";
                if (!model.equals(defaultModel) && !MODEL_NAME.matcher(model).matches()) { // the deployment's own is known good
                    invalid = (envelope ? "field model" : "header " + H_MODEL) + ": '" + model
                            + "' is not a model name (letters, digits, '.', '_', '-'; not starting with '.' or '-')";
                }
            } else {
                path = header(rec.headers(), "clops-path", "/");
                Http1.Target t = fieldValue(path, false) ? Http1.normalize(path, "POST") : null;
                if (t == null || t.problem() != null) {
                    invalid = "header clops-path: '" + path + "' is not a request path"
                            + (t == null ? " (starts with '/', visible ASCII only)" : ": " + t.problem());
                } else {
                    path = t.normalized();
                }
            }
            if (!fieldValue(contentType, true)) {
                invalid = (envelope ? "field contentType" : "header " + H_CONTENT_TYPE) + ": '" + contentType
                        + "' is not a media type (visible ASCII only)";
            }
            String token = env != null && env.getHeaders().containsKey(H_TOKEN) ? env.getHeaders().get(H_TOKEN)
                    : header(rec.headers(), H_TOKEN, null);
            return new Request(id, model, contentType, body, deadline, replyTo, correlation, envelope, path, invalid, token);
        }

        ProducerRecord<String, byte[]> response(String topic, ModelClient.Reply r, String route) {
            Headers headers = new RecordHeaders(correlation.toArray());
            headers.remove(H_REQUEST_ID);
            headers.remove(H_CONTENT_TYPE);
            headers.remove(H_ROUTE);
            headers.remove(H_EXECUTOR);
            headers.add(H_EXECUTOR, SELF);
            if (route != null) {
                headers.add(H_ROUTE, route.getBytes(StandardCharsets.UTF_8));
            }
            headers.add(H_REQUEST_ID, id.getBytes(StandardCharsets.UTF_8));
            headers.add(H_STATUS, Integer.toString(r.status()).getBytes(StandardCharsets.UTF_8));
            headers.add(H_CONTENT_TYPE, r.contentType().getBytes(StandardCharsets.UTF_8));
            byte[] value = r.body();
            if (envelope) {
                Map<String, String> hs = new HashMap<>();
                for (Header h : correlation) {
                    hs.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
                }
                boolean ok = r.status() >= 200 && r.status() < 300;
                InferenceEnvelope out = InferenceEnvelope.newBuilder().setId(id).setModel(model)
                        .setContentType(r.contentType()).setBody(ByteBuffer.wrap(r.body())).setHeaders(hs)
                        .setStatus(r.status()).setError(ok ? null : new String(r.body(), StandardCharsets.UTF_8)).build();
                value = Topics.INFERENCE_ENVELOPE.serialize(topic, out);
            }
            return new ProducerRecord<>(topic, null, id, value, headers);
        }
    }

    /** Why the worker stopped on its own (Kafka refused it: authentication, authorization…), or null. */
    public String failure() {
        return failure;
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
    }
}
