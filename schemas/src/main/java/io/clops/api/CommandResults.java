package io.clops.api;

import io.clops.avro.CommandResult;
import io.clops.kafka.TopicTail;
import io.clops.kafka.Topics;
import org.apache.kafka.common.errors.SerializationException;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Follows clops.command-results from the end it had at start-up and completes whoever waits for a command id.
 * Callers register before they produce, so a verdict can never arrive unseen.
 */
public final class CommandResults implements AutoCloseable {
    private final Map<String, CompletableFuture<CommandResult>> waiting = new ConcurrentHashMap<>();
    private final TopicTail tail;

    public CommandResults(String bootstrap) {
        this.tail = new TopicTail(bootstrap, Topics.COMMAND_RESULTS.name(), "command-results", rec -> {
            CompletableFuture<CommandResult> f = waiting.remove(rec.key());
            if (f != null) {
                try {
                    f.complete(Topics.COMMAND_RESULTS.valueSerde().deserializer().deserialize(rec.topic(), rec.value()));
                } catch (SerializationException e) {
                    f.completeExceptionally(e);
                }
            }
        });
    }

    public CompletableFuture<CommandResult> expect(String commandId) {
        return waiting.computeIfAbsent(commandId, id -> new CompletableFuture<>());
    }

    public void forget(String commandId) {
        waiting.remove(commandId);
    }

    @Override
    public void close() {
        tail.close();
    }
}
