package io.clops.gateway;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import io.clops.kafka.DeadLetterHeaders;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The one writer of clops.commands and clops.registry (an architecture test keeps it so): idempotent, acks=all.
 * Both topics are partitioned by project, so a project's commands and registry events reach the fold's one task for
 * it in the order they were appended. With a transactional id it writes in transactions (the intake's
 * consume-transform-produce); without, each append stands alone (HTTP, the CRD bridge).
 */
final class LogWriter implements AutoCloseable {
    private final KafkaProducer<byte[], byte[]> producer;

    /**
     * @param appendTimeout how long an append may take, waiting for metadata and acks included, before it fails
     */
    LogWriter(String bootstrap, String clientId, String transactionalId, Duration appendTimeout) {
        Map<String, Object> config = KafkaConfigs.producer(bootstrap, clientId, appendTimeout);
        if (transactionalId != null) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            // a transaction begun right after a commit can find the coordinator still writing the last one's markers
            // (CONCURRENT_TRANSACTIONS) and is retried after retry.backoff.ms: 100 ms by default, which was the
            // intake's p99 (bench/command-path.sh: 16 clients 350 → 900 commands/s, p99 220 → 50 ms)
            config.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 5);
        }
        config.putAll(KafkaConfigs.fromEnvironment());
        this.producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
        if (transactionalId != null) {
            producer.initTransactions();
        }
    }

    CompletableFuture<RecordMetadata> append(CommandEnvelope cmd) {
        return send(new ProducerRecord<>(Topics.COMMANDS.name(), partition(Topics.COMMANDS.name(), cmd.getProject()),
                utf8(cmd.getProject()), Topics.COMMANDS.valueSerde().serializer().serialize(Topics.COMMANDS.name(), cmd)));
    }

    CompletableFuture<RecordMetadata> append(RegistryEvent ev) {
        return send(new ProducerRecord<>(Topics.REGISTRY.name(), partition(Topics.REGISTRY.name(), ev.getProject()),
                utf8(Topics.modelKey(ev.getProject(), ev.getModel())), Topics.REGISTRY.valueSerde().serializer().serialize(Topics.REGISTRY.name(), ev)));
    }

    /** A refusal the gateway itself decides (an intake request that never entered the log), keyed by request id. */
    CompletableFuture<RecordMetadata> refusal(String requestId, CommandResult r) {
        return send(new ProducerRecord<>(Topics.COMMAND_RESULTS.name(), utf8(requestId),
                Topics.COMMAND_RESULTS.valueSerde().serializer().serialize(Topics.COMMAND_RESULTS.name(), r)));
    }

    /** Bytes nobody can read, with where they came from and why (the same headers as the topology's dead letters). */
    CompletableFuture<RecordMetadata> deadLetter(ConsumerRecord<byte[], byte[]> raw, String error) {
        RecordHeaders h = new RecordHeaders(raw.headers().toArray());
        h.add(DeadLetterHeaders.TOPIC, utf8(raw.topic()));
        h.add(DeadLetterHeaders.PARTITION, utf8(Integer.toString(raw.partition())));
        h.add(DeadLetterHeaders.OFFSET, utf8(Long.toString(raw.offset())));
        h.add(DeadLetterHeaders.ERROR, utf8(error));
        return send(new ProducerRecord<>(Topics.DEADLETTER.name(), null, raw.timestamp(), raw.key(), raw.value(), h));
    }

    /** Sends; the future completes when the broker has the record (acks=all) or the send failed. */
    private CompletableFuture<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
        CompletableFuture<RecordMetadata> done = new CompletableFuture<>();
        producer.send(record, (meta, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            } else {
                done.complete(meta);
            }
        });
        return done;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Integer partition(String topic, String project) {
        return Topics.partitionFor(project, producer.partitionsFor(topic).size());
    }

    void begin() {
        producer.beginTransaction();
    }

    void commit(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
        producer.sendOffsetsToTransaction(offsets, group);
        producer.commitTransaction();
    }

    void abort() {
        producer.abortTransaction();
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
