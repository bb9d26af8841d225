package io.clops.executor;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The async side's at-least-once rules, alone: what is committed, when, and where polling starts again. */
class AsyncOffsetsTest {
    static final TopicPartition P0 = new TopicPartition("requests", 0);
    static final TopicPartition P1 = new TopicPartition("requests", 1);

    static AsyncOffsets.Batch batch(int records, Object... partitionFirstLast) {
        Map<TopicPartition, long[]> ranges = new java.util.HashMap<>();
        for (int i = 0; i < partitionFirstLast.length; i += 3) {
            ranges.put((TopicPartition) partitionFirstLast[i], new long[]{(Long) partitionFirstLast[i + 1], (Long) partitionFirstLast[i + 2]});
        }
        return new AsyncOffsets.Batch(ranges, records);
    }

    static void ackAll(AsyncOffsets.Batch b, int n) {
        for (int i = 0; i < n; i++) {
            b.ack(null);
        }
    }

    @Test
    void aBatchIsCommittedOnlyOnceItAndEveryBatchBeforeItAreAnswered() {
        AsyncOffsets o = new AsyncOffsets();
        AsyncOffsets.Batch first = batch(2, P0, 0L, 1L);
        AsyncOffsets.Batch second = batch(2, P0, 2L, 3L, P1, 0L, 0L);
        o.add(first);
        o.add(second);
        ackAll(second, 2); // answered first, but polled second
        assertThat(o.advance().commit()).as("nothing: the first batch still waits for an answer").isNull();
        first.ack(null);
        assertThat(o.advance().commit()).isNull();
        first.ack(null);
        assertThat(o.advance().commit()).containsExactlyInAnyOrderEntriesOf(Map.of(P0, new OffsetAndMetadata(4), P1, new OffsetAndMetadata(1)));
        assertThat(o.isEmpty()).isTrue();
        assertThat(o.advance().commit()).as("nothing new").isNull();
    }

    @Test
    void anAnswerThatCouldNotBeProducedPollsEveryPendingBatchAgainFromItsFirstOffset() {
        AsyncOffsets o = new AsyncOffsets();
        AsyncOffsets.Batch done = batch(1, P0, 0L, 0L);
        AsyncOffsets.Batch failed = batch(2, P0, 1L, 2L);
        AsyncOffsets.Batch later = batch(1, P0, 3L, 3L, P1, 5L, 5L);
        o.add(done);
        o.add(failed);
        o.add(later);
        done.ack(null);
        later.ack(null);
        failed.ack(null);
        failed.ack(new IllegalStateException("the response topic is gone"));
        AsyncOffsets.Step step = o.advance();
        assertThat(step.pollAgainFrom()).containsExactlyInAnyOrderEntriesOf(Map.of(P0, 1L, P1, 5L));
        assertThat(step.why()).contains("the response topic is gone");
        assertThat(o.isEmpty()).as("the rest is polled again, not kept").isTrue();
        assertThat(o.settle()).as("what the batch before the failure answered stays committable").containsEntry(P0, new OffsetAndMetadata(1));
    }

    @Test
    void partitionsGivenUpAreNeverNamedInACommitAgain() {
        AsyncOffsets o = new AsyncOffsets();
        AsyncOffsets.Batch a = batch(2, P0, 0L, 0L, P1, 0L, 0L);
        AsyncOffsets.Batch b = batch(1, P1, 1L, 1L);
        o.add(a);
        o.add(b);
        ackAll(a, 2);
        assertThat(o.settle()).containsOnlyKeys(P0, P1);
        o.forget(List.of(P1));
        b.ack(null);
        assertThat(o.advance().commit()).containsOnlyKeys(P0);
        assertThat(o.settle()).containsOnlyKeys(P0);
    }

    @Test
    void settlingCommitsTheAnsweredPrefixAndKeepsWhatFollowsAGap() {
        AsyncOffsets o = new AsyncOffsets();
        AsyncOffsets.Batch a = batch(1, P0, 0L, 0L);
        AsyncOffsets.Batch gap = batch(1, P0, 1L, 1L);
        AsyncOffsets.Batch c = batch(1, P0, 2L, 2L);
        o.add(a);
        o.add(gap);
        o.add(c);
        a.ack(null);
        c.ack(null);
        assertThat(o.settle()).containsExactlyEntriesOf(Map.of(P0, new OffsetAndMetadata(1)));
        assertThat(o.isEmpty()).isFalse();
        assertThat(o.inFlight()).hasSize(2);
    }
}
