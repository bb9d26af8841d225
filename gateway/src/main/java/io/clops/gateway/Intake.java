package io.clops.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.api.StrictJson;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.FieldProblem;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.clops.schemas.AvroSerde;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The Kafka way in, for pipelines: reads clops.intake (any client, any partitioner) and hands each request to the
 * log the way the HTTP API does. A record is JSON ({@code {"action": …, "project": …}}, see docs/intake.md) or an
 * Avro envelope (a {@link CommandEnvelope} or {@link RegistryEvent}, single-object encoded; its id, actor and time
 * are the gateway's to set), with headers {@value #REQUEST_ID} and {@value #IDEMPOTENCY_KEY}.
 * <ul>
 *   <li>accepted: appended on its project's partition; the fold's verdict arrives on clops.command-results keyed by
 *       the request id;</li>
 *   <li>malformed (JSON or Avro that says something wrong): a refusal naming each field on clops.command-results,
 *       keyed by the request id, and nothing on clops.commands or clops.registry;</li>
 *   <li>unreadable bytes: clops.deadletter with where they came from and why; the next record is served.</li>
 * </ul>
 * Exactly once from the intake to the log: the requests read within a few milliseconds, their outputs and their
 * offsets commit in one transaction; a failed one is aborted and the same records are read again.
 */
public final class Intake implements AutoCloseable {
    private volatile Authorization authorization = Authorization.ANYONE;
    private volatile Identities identities;

    /** How a record's {@value #TOKEN} header becomes its principal (by default: every record acts for actingFor). */
    public Intake identities(Identities identities) {
        this.identities = identities;
        return this;
    }

    /** Who may make which request: the gateway's one check, applied to the intake's requests as to HTTP's. */
    public Intake authorization(Authorization authorization) {
        this.authorization = authorization;
        return this;
    }
    private static final Logger LOG = LoggerFactory.getLogger(Intake.class);
    public static final String GROUP = "clops-gateway-intake";
    /** Header: the caller's id for the request; its verdict is keyed by it. Default: the record key, else topic-partition-offset. */
    public static final String REQUEST_ID = "clops-request-id";
    /** Header: makes a retried request the same command (applied once). */
    public static final String IDEMPOTENCY_KEY = "clops-idempotency-key";
    /** A record's token: it acts for the token's user (the same tokens as HTTP's Authorization: Bearer). */
    public static final String TOKEN = "clops-token";

    private static final AvroSerde<CommandEnvelope> COMMANDS = AvroSerde.of(CommandEnvelope.class);
    private static final AvroSerde<RegistryEvent> EVENTS = AvroSerde.of(RegistryEvent.class);

    private final String bootstrap;
    private final Principal actingFor;
    private final Clock clock;
    private final Duration window;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    /** How long a transaction stays open for more requests after its first: {@value #WINDOW_MS} ms. */
    public static final long WINDOW_MS = 3;

    /** @param actingFor the principal intake requests act for, until they carry tokens (the identity issue) */
    public Intake(String bootstrap, Principal actingFor, Clock clock) {
        this(bootstrap, actingFor, clock, Duration.ofMillis(WINDOW_MS));
    }

    /**
     * @param window how long a transaction stays open for more requests after its first. A commit costs a few ms
     *               and, now and then, ~20 (bench/command-path.sh): with 16 pipelines writing one request at a time,
     *               3 ms gives ~1,100-1,250 requests/s where committing each poll at once gave ~870
     */
    public Intake(String bootstrap, Principal actingFor, Clock clock, Duration window) {
        this.bootstrap = bootstrap;
        this.actingFor = actingFor;
        this.clock = clock;
        this.window = window;
        this.thread = new Thread(this::run, "gateway-intake");
        thread.setDaemon(true);
    }

    public Intake start() {
        thread.start();
        return this;
    }

    private void run() {
        Map<String, Object> config = KafkaConfigs.reader(bootstrap, "clops-gateway-intake");
        config.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        config.putAll(KafkaConfigs.fromEnvironment());
        LogWriter writer = null;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer = c;
            c.subscribe(List.of(Topics.INTAKE.name()));
            while (running) {
                ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                if (writer == null) {
                    writer = new LogWriter(bootstrap, "clops-gateway-intake", "clops-gateway-intake-" + UUID.randomUUID(),
                            Duration.ofSeconds(30));
                }
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(records.count());
                records.forEach(batch::add);
                try {
                    long began = System.nanoTime();
                    writer.begin();
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        handle(writer, r);
                    }
                    // what else arrives within the window joins this transaction: fewer, fuller transactions
                    for (long left = window.toNanos(); left > 0; left = began + window.toNanos() - System.nanoTime()) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofNanos(left))) {
                            handle(writer, r);
                            batch.add(r);
                        }
                    }
                    writer.commit(next(batch), c.groupMetadata());
                } catch (ProducerFencedException | OutOfOrderSequenceException | InvalidProducerEpochException
                         | AuthorizationException | UnsupportedVersionException fatal) {
                    LOG.warn("intake: the transaction cannot go on ({}); a new producer reads the batch again", fatal.toString());
                    writer.close();
                    writer = null;
                    rewind(c, batch);
                } catch (KafkaException e) {
                    LOG.warn("intake: a transaction failed ({}); aborted, the batch is read again", e.toString());
                    try {
                        writer.abort();
                    } catch (KafkaException abortFailed) {
                        writer.close();
                        writer = null;
                    }
                    rewind(c, batch);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("intake stopped", e);
        } finally {
            if (writer != null) {
                writer.close();
            }
        }
    }

    /** One record: appended, refused (with a verdict), or dead-lettered. Never throws for what the record holds. */
    void handle(LogWriter writer, ConsumerRecord<byte[], byte[]> r) {
        String fallbackId = r.topic() + "-" + r.partition() + "-" + r.offset();
        String requestId = fallbackId;
        List<FieldError> headerErrors = new ArrayList<>();
        String idempotencyKey = null;
        try {
            String fromHeader = header(r, REQUEST_ID);
            String fromKey = r.key() == null ? null : utf8OrNull(r.key());
            requestId = fromHeader != null ? Requests.key(fromHeader, "header " + REQUEST_ID)
                    : fromKey != null && validKey(fromKey) ? fromKey : fallbackId;
        } catch (InvalidRequest e) {
            headerErrors.addAll(e.errors());
        }
        try {
            idempotencyKey = Requests.key(header(r, IDEMPOTENCY_KEY), "header " + IDEMPOTENCY_KEY);
        } catch (InvalidRequest e) {
            headerErrors.addAll(e.errors());
        }
        byte[] value = r.value();
        if (value == null || value.length == 0) {
            writer.deadLetter(r, "an empty record: neither JSON nor an Avro envelope");
            return;
        }
        Request request;
        String project = "";
        try {
            if (AvroSerde.isSingleObject(value)) {
                Object decoded = decodeAvro(value);
                if (decoded == null) {
                    writer.deadLetter(r, "Avro single-object bytes that are neither a CommandEnvelope nor a RegistryEvent");
                    return;
                }
                project = decoded instanceof CommandEnvelope c ? c.getProject() : ((RegistryEvent) decoded).getProject();
                request = decoded instanceof CommandEnvelope c ? Requests.fromAvro(c) : Requests.fromAvro((RegistryEvent) decoded);
            } else {
                JsonNode json;
                try {
                    json = StrictJson.parse(value);
                } catch (StrictJson.NotJson e) {
                    writer.deadLetter(r, "neither JSON nor an Avro envelope: " + e.errors().get(0).message());
                    return;
                }
                project = json != null && json.path("project").isTextual() ? json.get("project").asText() : "";
                request = Requests.fromIntake(json);
            }
            if (!headerErrors.isEmpty()) {
                throw new InvalidRequest("invalid headers", headerErrors);
            }
        } catch (InvalidRequest e) {
            List<FieldError> all = new ArrayList<>(headerErrors);
            e.errors().stream().filter(f -> !headerErrors.contains(f)).forEach(all::add);
            writer.refusal(requestId, refusal(requestId, project, all));
            return;
        }
        Principal who = actingFor;
        if (identities != null) {
            try {
                who = identities.of(header(r, TOKEN));
            } catch (Identities.Unidentified e) {
                writer.refusal(requestId, CommandResult.newBuilder(refusal(requestId, project, List.of())).setCode("unauthenticated")
                        .setReason("unauthenticated (nothing was changed): " + e.getMessage()).build());
                return;
            }
        }
        java.util.Optional<String> forbidden = authorization.refuse(who, request);
        if (forbidden.isPresent()) {
            writer.refusal(requestId, CommandResult.newBuilder(refusal(requestId, project, List.of())).setCode("forbidden")
                    .setReason("forbidden (nothing was changed): " + forbidden.get()).build());
            return;
        }
        Object record = CommandGateway.envelope(request, who, CommandGateway.commandId(request, idempotencyKey), requestId,
                clock.millis());
        if (record instanceof CommandEnvelope c) {
            writer.append(c);
        } else {
            writer.append((RegistryEvent) record);
        }
    }

    private CommandResult refusal(String requestId, String project, List<FieldError> errors) {
        return CommandResult.newBuilder().setCommandId("").setRequestId(requestId).setProject(project.length() > 100 ? "" : project)
                .setDeployment("").setAccepted(false).setActor(actingFor.name()).setTimeMs(clock.millis())
                .setReason("the request is invalid (nothing was changed): "
                        + String.join("; ", errors.stream().map(FieldError::toString).toList()))
                .setErrors(errors.stream().map(f -> FieldProblem.newBuilder().setField(f.field()).setMessage(f.message()).build()).toList())
                .build();
    }

    private static Object decodeAvro(byte[] value) {
        try {
            return COMMANDS.deserialize(Topics.INTAKE.name(), value);
        } catch (RuntimeException notACommand) {
            try {
                return EVENTS.deserialize(Topics.INTAKE.name(), value);
            } catch (RuntimeException notAnEvent) {
                return null;
            }
        }
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        if (h == null || h.value() == null) {
            return null;
        }
        String s = utf8OrNull(h.value());
        return s == null ? "\u0000" : s; // undecodable: refused by Requests.key as not printable
    }

    private static boolean validKey(String s) {
        return !s.isEmpty() && s.length() <= Requests.MAX_KEY && s.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f);
    }

    private static String utf8OrNull(byte[] bytes) {
        try {
            return strictUtf8(bytes);
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static String strictUtf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    }

    /** The offset after the last record of each partition in the batch. */
    private static Map<TopicPartition, OffsetAndMetadata> next(List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            out.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        return out;
    }

    /** After an aborted transaction: read the batch again from its first record of each partition. */
    private static void rewind(KafkaConsumer<byte[], byte[]> c, List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            first.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        first.forEach((tp, offset) -> {
            if (c.assignment().contains(tp)) {
                c.seek(tp, offset);
            }
        });
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
