package io.clops.gateway;

import io.clops.avro.CommandResult;
import io.clops.kafka.TopicTail;
import io.clops.kafka.Topics;
import org.apache.kafka.common.errors.SerializationException;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Follows clops.command-results from the end it had at start-up and completes whoever waits for a request id.
 * Callers register before they append, so a verdict can never arrive unseen.
 */
final class Verdicts implements AutoCloseable {
    private final Map<String, CompletableFuture<CommandResult>> waiting = new ConcurrentHashMap<>();
    private final TopicTail tail;

    Verdicts(String bootstrap, String clientId) {
        this.tail = new TopicTail(bootstrap, Topics.COMMAND_RESULTS.name(), clientId, rec -> {
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

    CompletableFuture<CommandResult> expect(String requestId) {
        return waiting.computeIfAbsent(requestId, id -> new CompletableFuture<>());
    }

    void forget(String requestId) {
        waiting.remove(requestId);
    }

    int waiting() {
        return waiting.size();
    }

    @Override
    public void close() {
        tail.close();
    }
}
