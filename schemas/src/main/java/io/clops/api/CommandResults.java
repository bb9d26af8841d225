package io.clops.api;

import io.clops.avro.CommandResult;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Follows clops.command-results from the end it had at start-up and completes whoever waits for a command id.
 * Callers register before they produce, so a verdict can never arrive unseen.
 */
public final class CommandResults implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, CompletableFuture<CommandResult>> waiting = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    public CommandResults(String bootstrap) {
        this.consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "command-results"), new StringDeserializer(),
                new ByteArrayDeserializer());
        List<TopicPartition> parts = consumer.partitionsFor(Topics.COMMAND_RESULTS.name(), Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(parts);
        consumer.seekToEnd(parts);
        parts.forEach(consumer::position); // fix the start position now, before any command is produced
        this.thread = new Thread(this::run, "command-results");
        thread.setDaemon(true);
        thread.start();
    }

    public CompletableFuture<CommandResult> expect(String commandId) {
        return waiting.computeIfAbsent(commandId, id -> new CompletableFuture<>());
    }

    public void forget(String commandId) {
        waiting.remove(commandId);
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(100))) {
                    CompletableFuture<CommandResult> f = waiting.remove(rec.key());
                    if (f != null) {
                        try {
                            f.complete(Topics.COMMAND_RESULTS.valueSerde().deserializer().deserialize(rec.topic(), rec.value()));
                        } catch (SerializationException e) {
                            f.completeExceptionally(e);
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(3000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
