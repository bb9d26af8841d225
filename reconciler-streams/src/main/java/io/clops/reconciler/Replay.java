package io.clops.reconciler;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * The state of the platform at any moment, rebuilt from the log with the live topology's own fold
 * ({@link ProjectFold} over a {@link MemoryState}): no second implementation of the rules.
 * <p>
 * The live topology reads clops.commands and clops.registry co-partitioned by project and takes each task's records in
 * timestamp order; a replay takes each partition pair the same way (a command first where a command and a registry
 * event have the same millisecond) and stops at the first record after the moment asked for. Projects never share
 * state, so the partitions are replayed one after another. A record that does not decode is skipped, as the topology
 * sends it to the dead-letter topic.
 */
public final class Replay {
    private Replay() {
    }

    /**
     * One event of the log: where it is, when it was appended (the record's timestamp), what it says, and the SHA-256
     * of its bytes.
     */
    public record Event(String topic, int partition, long offset, long timestampMs, Object value, String sha256) {
        public Event {
            if (!(value instanceof CommandEnvelope) && !(value instanceof RegistryEvent)) {
                throw new IllegalArgumentException("a log event is a command or a registry event, not " + value);
            }
        }

        public String project() {
            return value instanceof CommandEnvelope c ? c.getProject() : ((RegistryEvent) value).getProject();
        }

        AuditTrail.Source source() {
            return new AuditTrail.Source(topic, partition, offset, timestampMs, sha256);
        }
    }

    /**
     * Folds {@code events} (in fold order) up to and including {@code atMs} into a fresh state; {@code verdicts} sees
     * each event with what the fold wrote for it.
     */
    public static MemoryState fold(Iterator<Event> events, long atMs, java.util.function.BiConsumer<Event, List<ProjectFold.Output>> verdicts) {
        MemoryState state = new MemoryState();
        while (events.hasNext()) {
            Event e = events.next();
            if (e.timestampMs() > atMs) {
                break; // in fold order, every later event is later still
            }
            List<ProjectFold.Output> out = state.apply(AuditTrail.fold(state, e.value(), e.source(), state.auditHead(e.project()), state::current));
            if (verdicts != null) {
                verdicts.accept(e, out);
            }
        }
        return state;
    }

    public static MemoryState fold(Iterator<Event> events, long atMs) {
        return fold(events, atMs, null);
    }

    /**
     * The log as it is now (every partition up to its end when this is called), in fold order: partition pair by
     * partition pair, each merged by timestamp. Read lazily: a million events are never all in memory.
     *
     * @param progress told the number of events read so far, every 100,000
     */
    public static LogReader read(String bootstrap, Consumer<Long> progress) {
        return new LogReader(bootstrap, progress);
    }

    /** The log read in fold order; close it to close its consumers. */
    public static final class LogReader implements Iterator<Event>, AutoCloseable {
        private final String bootstrap;
        private final Consumer<Long> progress;
        private final int partitions;
        private int partition = -1;
        private PartitionCursor commands;
        private PartitionCursor registry;
        private long read;
        private long skippedBefore; // in partitions done

        LogReader(String bootstrap, Consumer<Long> progress) {
            this.bootstrap = bootstrap;
            this.progress = progress;
            try (var c = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "replay"), new StringDeserializer(), new ByteArrayDeserializer())) {
                int p = c.partitionsFor(Topics.COMMANDS.name(), Duration.ofSeconds(30)).size();
                int r = c.partitionsFor(Topics.REGISTRY.name(), Duration.ofSeconds(30)).size();
                if (p != r) {
                    throw new IllegalStateException("clops.commands has " + p + " partitions and clops.registry " + r
                            + ": they must be co-partitioned (the same number) for the fold");
                }
                this.partitions = p;
            }
            nextPartition();
        }

        /** Records that did not decode (the topology's dead letters), skipped. */
        public long skipped() {
            return skippedBefore + (commands == null ? 0 : commands.skipped + registry.skipped);
        }

        private void nextPartition() {
            closeCursors();
            partition++;
            if (partition < partitions) {
                commands = new PartitionCursor(bootstrap, Topics.COMMANDS.name(), partition, Topics.COMMANDS.valueSerde().deserializer());
                registry = new PartitionCursor(bootstrap, Topics.REGISTRY.name(), partition, Topics.REGISTRY.valueSerde().deserializer());
            }
        }

        @Override
        public boolean hasNext() {
            while (partition < partitions) {
                if (commands.peek() != null || registry.peek() != null) {
                    return true;
                }
                nextPartition();
            }
            return false;
        }

        @Override
        public Event next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Event c = commands.peek();
            Event r = registry.peek();
            Event e = r == null || c != null && c.timestampMs() <= r.timestampMs() ? commands.take() : registry.take();
            if (++read % 100_000 == 0 && progress != null) {
                progress.accept(read);
            }
            return e;
        }

        private void closeCursors() {
            if (commands != null) {
                skippedBefore += commands.skipped + registry.skipped;
                commands.close();
                registry.close();
                commands = null;
                registry = null;
            }
        }

        @Override
        public void close() {
            closeCursors();
            partition = partitions;
        }
    }

    /** One topic-partition read from its start to the end it had when opened, decoded, one poll ahead. */
    private static final class PartitionCursor implements AutoCloseable {
        private final KafkaConsumer<String, byte[]> consumer;
        private final TopicPartition tp;
        private final long end;
        private final org.apache.kafka.common.serialization.Deserializer<?> values;
        private final ArrayDeque<Event> buffer = new ArrayDeque<>();
        private long position;
        long skipped;

        PartitionCursor(String bootstrap, String topic, int partition, org.apache.kafka.common.serialization.Deserializer<?> values) {
            Map<String, Object> settings = KafkaConfigs.reader(bootstrap, "replay-" + topic + "-" + partition);
            settings.put("max.poll.records", 5000);
            settings.put("fetch.min.bytes", 1 << 20);
            settings.put("fetch.max.wait.ms", 50);
            settings.put("max.partition.fetch.bytes", 8 << 20);
            this.consumer = new KafkaConsumer<>(settings, new StringDeserializer(), new ByteArrayDeserializer());
            this.tp = new TopicPartition(topic, partition);
            this.values = values;
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            this.end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            this.position = consumer.position(tp, Duration.ofSeconds(30));
        }

        Event peek() {
            while (buffer.isEmpty() && position < end) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    position = r.offset() + 1;
                    if (r.offset() >= end) {
                        position = end;
                        break;
                    }
                    Object v;
                    try {
                        v = r.value() == null ? null : values.deserialize(r.topic(), r.value());
                    } catch (RuntimeException poison) {
                        v = null;
                    }
                    if (v == null) {
                        skipped++;
                        continue;
                    }
                    buffer.add(new Event(r.topic(), r.partition(), r.offset(), r.timestamp(), v, AuditTrail.sha256(r.value())));
                }
                if (buffer.isEmpty() && position < end) {
                    position = Math.max(position, consumer.position(tp));
                }
            }
            return buffer.peek();
        }

        Event take() {
            Event e = peek();
            buffer.poll();
            return e;
        }

        @Override
        public void close() {
            consumer.close(Duration.ZERO);
        }
    }
}
