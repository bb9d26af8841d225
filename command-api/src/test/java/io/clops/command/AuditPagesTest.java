package io.clops.command;

import io.clops.avro.AuditRecord;
import io.clops.kafka.Topics;
import io.clops.reconciler.LogSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pages of the audit trail over a log held in memory (a {@link LogSource} like Kafka's: each partition in the order the
 * fold wrote it, a read from a moment starting at the first record stamped then), counting what each page reads.
 */
class AuditPagesTest {
    static final long T0 = 1_764_000_000_000L;

    /** Partitions of audit records; counts the records handed out. */
    static final class Memory implements LogSource {
        final Map<Integer, List<Raw>> partitions = new TreeMap<>();
        int read;

        void add(int partition, String project, long seq, long timeMs) {
            AuditRecord r = AuditRecord.newBuilder().setProject(project).setSeq(seq).setTimeMs(timeMs).setTopic(Topics.COMMANDS.name())
                    .setPartition(partition).setOffset(seq).setEventId("e-" + project + "-" + seq).setActor("ada").setAction("deploy")
                    .setAccepted(true).setEventSha256("").setPrevHash("").setHash("").build();
            List<Raw> p = partitions.computeIfAbsent(partition, k -> new ArrayList<>());
            p.add(new Raw(Topics.AUDIT.name(), partition, p.size(), timeMs, project,
                    Topics.AUDIT.valueSerde().serializer().serialize(Topics.AUDIT.name(), r)));
        }

        @Override
        public int partitions() {
            return partitions.size();
        }

        @Override
        public Iterator<Raw> read(String topic, int partition) {
            return counting(partitions.get(partition).iterator());
        }

        @Override
        public Iterator<Raw> read(String topic, int partition, long fromMs) {
            List<Raw> all = partitions.get(partition);
            int first = 0;
            while (first < all.size() && all.get(first).timestampMs() < fromMs) {
                first++;
            }
            return counting(all.subList(first, all.size()).iterator());
        }

        private Iterator<Raw> counting(Iterator<Raw> it) {
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public Raw next() {
                    read++;
                    return it.next();
                }
            };
        }
    }

    static final AuditLog.Filter ALL = new AuditLog.Filter(null, null, null, null, null, null);

    static List<String> all(Memory log, AuditLog.Filter filter, int limit) {
        List<String> out = new ArrayList<>();
        String after = null;
        do {
            AuditLog.Page page = AuditLog.page(log, filter, p -> true, after, limit);
            page.items().forEach(r -> out.add(r.getProject() + "#" + r.getSeq()));
            after = page.next();
        } while (after != null);
        return out;
    }

    @Test
    void pagesGoThroughEveryRecordOnceInTimeOrderAcrossPartitions() {
        Memory log = new Memory();
        for (int i = 1; i <= 50; i++) {
            log.add(0, "a", i, T0 + i * 1_000L);
            log.add(1, "b", i, T0 + i * 1_000L + 500);
        }
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            expected.add("a#" + i);
            expected.add("b#" + i);
        }
        assertThat(all(log, ALL, 7)).isEqualTo(expected);
        assertThat(all(log, ALL, 1000)).isEqualTo(expected);
        assertThat(all(log, new AuditLog.Filter("b", null, null, null, T0 + 40_000, null), 3))
                .containsExactly("b#40", "b#41", "b#42", "b#43", "b#44", "b#45", "b#46", "b#47", "b#48", "b#49", "b#50");
    }

    @Test
    void aPageReadsFromItsMomentAndStopsOnceFull() {
        Memory log = new Memory();
        for (int i = 1; i <= 10_000; i++) { // a long trail: one record every two minutes
            log.add(0, "a", i, T0 + i * 120_000L);
        }
        AuditLog.Page first = AuditLog.page(log, ALL, p -> true, null, 100);
        assertThat(first.items()).hasSize(100);
        assertThat(log.read).as("the first page reads about itself, not the trail").isLessThan(110);
        log.read = 0;
        AuditLog.Page second = AuditLog.page(log, ALL, p -> true, first.next(), 100);
        assertThat(second.items().get(0).getSeq()).isEqualTo(101);
        assertThat(log.read).as("the next page starts where the first ended").isLessThan(110);
        log.read = 0;
        AuditLog.Page since = AuditLog.page(log, new AuditLog.Filter(null, null, null, null, T0 + 9_000 * 120_000L, null), p -> true, null, 10);
        assertThat(since.items().get(0).getSeq()).isEqualTo(9_000);
        assertThat(log.read).as("since seeks").isLessThan(20);
    }

    @Test
    void recordsALittleOutOfOrderWithinTheSlackAreNotLost() {
        Memory log = new Memory();
        // two writers' clocks 30 s apart: the partition's order is not quite time order
        for (int i = 1; i <= 20; i++) {
            log.add(0, i % 2 == 0 ? "a" : "b", i, T0 + i * 1_000L + (i % 2 == 0 ? 30_000 : 0));
        }
        List<String> paged = all(log, ALL, 3);
        assertThat(paged).hasSize(20).doesNotHaveDuplicates();
        assertThat(paged).isEqualTo(all(log, ALL, 1000));
    }
}
