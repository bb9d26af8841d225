package io.clops.executor;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The async side's offset bookkeeping, at least once, with no Kafka client in it (AsyncWorker drives it; its rules
 * are tested here alone: AsyncOffsetsTest). Polled batches are kept in poll order; a batch is committable once every
 * answer in it is acknowledged and every batch before it is committable; a batch an answer of which could not be
 * produced makes the worker poll again from the first offset of every pending batch; partitions that move to
 * another executor are forgotten (a commit of ours must not move their new owner's offsets back).
 */
final class AsyncOffsets {

    /** One polled batch: where it starts and ends on each partition, and how many answers it still waits for. */
    static final class Batch {
        final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        /** Where this batch starts, per partition: to poll it again when its answers could not be produced. */
        final Map<TopicPartition, Long> first = new HashMap<>();
        final AtomicInteger unacked;
        final CompletableFuture<Void> acked = new CompletableFuture<>();

        /** @param ranges per partition, the first and the last offset of the batch's records there */
        Batch(Map<TopicPartition, long[]> ranges, int records) {
            this.unacked = new AtomicInteger(records);
            ranges.forEach((tp, r) -> {
                first.put(tp, r[0]);
                offsets.put(tp, new OffsetAndMetadata(r[1] + 1));
            });
            if (records == 0) {
                acked.complete(null);
            }
        }

        /** One answer is produced ({@code e} null) or could not be ({@code e} why): any thread. */
        void ack(Exception e) {
            if (e != null) {
                acked.completeExceptionally(e);
            } else if (unacked.decrementAndGet() == 0) {
                acked.complete(null);
            }
        }
    }

    /** What to do after {@link #advance()}: commit these offsets (null: nothing new), or poll again from here. */
    record Step(Map<TopicPartition, OffsetAndMetadata> commit, Map<TopicPartition, Long> pollAgainFrom, String why) {
    }

    private final ArrayDeque<Batch> pending = new ArrayDeque<>();
    /** Acknowledged and committable, maybe not committed yet. */
    private final Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();

    void add(Batch b) {
        pending.addLast(b);
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The acknowledgements of every pending batch (to wait for them, bounded, before giving partitions up). */
    CompletableFuture<?>[] inFlight() {
        return pending.stream().map(b -> b.acked).toArray(CompletableFuture[]::new);
    }

    /**
     * Moves the acknowledged batches at the head of the queue to the committable offsets. When one of them failed,
     * every pending batch is dropped and the step says where to poll again (the first offset of each partition over
     * all of them); else it carries the offsets to commit, or null when nothing new is committable.
     */
    Step advance() {
        boolean any = false;
        while (!pending.isEmpty() && pending.peekFirst().acked.isDone()) {
            if (pending.peekFirst().acked.isCompletedExceptionally()) {
                String why = pending.peekFirst().acked.handle((v, e) -> String.valueOf(e)).join();
                Map<TopicPartition, Long> from = new HashMap<>();
                for (Batch b : pending) {
                    b.first.forEach((tp, offset) -> from.merge(tp, offset, Math::min));
                }
                pending.clear();
                return new Step(null, from, why);
            }
            done.putAll(pending.pollFirst().offsets);
            any = true;
        }
        return new Step(any ? Map.copyOf(done) : null, null, null);
    }

    /** Before giving partitions up: the acknowledged prefix made committable, whatever follows; what to commit. */
    Map<TopicPartition, OffsetAndMetadata> settle() {
        while (!pending.isEmpty() && pending.peekFirst().acked.isDone() && !pending.peekFirst().acked.isCompletedExceptionally()) {
            done.putAll(pending.pollFirst().offsets);
        }
        return Map.copyOf(done);
    }

    /**
     * No commit of ours names these partitions from here on. Their requests still in flight are answered; the new
     * owner may answer them again.
     */
    void forget(Collection<TopicPartition> partitions) {
        done.keySet().removeAll(partitions);
        for (Batch b : pending) {
            b.offsets.keySet().removeAll(partitions);
            b.first.keySet().removeAll(partitions);
        }
    }
}
