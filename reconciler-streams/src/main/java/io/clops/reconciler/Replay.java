package io.clops.reconciler;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.Topics;

import java.util.Iterator;
import java.util.List;
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
     * Folds {@code events} (in fold order) up to and including {@code atMs} into a fresh state, each with its audit
     * record; {@code verdicts} sees each event with what was written for it (the fold's outputs, the audit record last).
     */
    public static MemoryState fold(Iterator<Event> events, long atMs, java.util.function.BiConsumer<Event, List<ProjectFold.Output>> verdicts) {
        MemoryState state = new MemoryState();
        while (events.hasNext()) {
            Event e = events.next();
            if (e.timestampMs() > atMs) {
                break; // in fold order, every later event is later still
            }
            List<ProjectFold.Output> out = state.apply(AuditTrail.fold(state, e.value(), e.source(), state.auditHead(e.project()), state::current));
            verdicts.accept(e, out);
        }
        return state;
    }

    /** The state alone: the same fold, without computing each event's audit record (what a replay of the state needs). */
    public static MemoryState fold(Iterator<Event> events, long atMs) {
        MemoryState state = new MemoryState();
        while (events.hasNext()) {
            Event e = events.next();
            if (e.timestampMs() > atMs) {
                break;
            }
            state.apply(e.value() instanceof CommandEnvelope c ? ProjectFold.onCommand(state, c) : ProjectFold.onRegistry(state, (RegistryEvent) e.value()));
        }
        return state;
    }

    /**
     * The log as it is now, in the order the live fold took it. Partition by partition (projects share nothing): the
     * order the audit trail recorded, which is the order the topology folded the commands and registry events of those
     * projects; events the trail does not cover yet (the fold is behind, or the trail is gone) after that, merged by
     * timestamp (a command first on a tie) as the topology would take records that are all there. Read lazily.
     *
     * @param progress told the number of events read so far, every 100,000
     */
    public static LogReader read(LogSource source, Consumer<Long> progress) {
        return new LogReader(source, progress);
    }

    /** The log read in fold order. */
    public static final class LogReader implements Iterator<Event> {
        private final LogSource source;
        private final Consumer<Long> progress;
        private int partition = -1;
        private Cursor commands;
        private Cursor registry;
        private Iterator<LogSource.Raw> audit;
        private long read;
        private long skipped;
        private long unaudited;
        private Event next;

        LogReader(LogSource source, Consumer<Long> progress) {
            this.source = source;
            this.progress = progress;
        }

        /** Records that did not decode (the topology's dead letters), skipped. */
        public long skipped() {
            return skipped;
        }

        /** Events the audit trail did not order (taken by timestamp). */
        public long unaudited() {
            return unaudited;
        }

        @Override
        public boolean hasNext() {
            while (next == null) {
                if (commands == null) {
                    if (++partition >= source.partitions()) {
                        return false;
                    }
                    commands = new Cursor(source.read(Topics.COMMANDS.name(), partition), Topics.COMMANDS.valueSerde().deserializer());
                    registry = new Cursor(source.read(Topics.REGISTRY.name(), partition), Topics.REGISTRY.valueSerde().deserializer());
                    audit = source.read(Topics.AUDIT.name(), partition);
                }
                next = fromAudit();
                if (next == null) {
                    Event c = commands.peek();
                    Event r = registry.peek();
                    if (c == null && r == null) {
                        skipped += commands.skipped + registry.skipped;
                        commands = null;
                        registry = null;
                        audit = null;
                        continue;
                    }
                    next = r == null || c != null && c.timestampMs() <= r.timestampMs() ? commands.take() : registry.take();
                    unaudited++;
                }
            }
            return true;
        }

        /** The event the next audit record names, if the trail still leads. */
        private Event fromAudit() {
            while (audit != null && audit.hasNext()) {
                LogSource.Raw raw = audit.next();
                io.clops.avro.AuditRecord a;
                try {
                    a = Topics.AUDIT.valueSerde().deserializer().deserialize(raw.topic(), raw.value());
                } catch (RuntimeException unreadable) {
                    audit = null; // the trail cannot lead: timestamps do
                    return null;
                }
                Cursor cursor = a.getTopic().equals(Topics.COMMANDS.name()) ? commands : a.getTopic().equals(Topics.REGISTRY.name()) ? registry : null;
                if (cursor == null) {
                    audit = null;
                    return null;
                }
                Event head = cursor.peek();
                if (head != null && head.offset() == a.getOffset()) {
                    return cursor.take();
                }
                if (head == null || head.offset() > a.getOffset()) {
                    continue; // a record for an event already taken: a second fold of the same log (a new topology) wrote the trail again
                }
                audit = null; // an event the trail skipped: it no longer leads
                return null;
            }
            audit = null;
            return null;
        }

        @Override
        public Event next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Event e = next;
            next = null;
            if (++read % 100_000 == 0 && progress != null) {
                progress.accept(read);
            }
            return e;
        }
    }

    /** One topic-partition's events, decoded, one ahead; what does not decode is skipped and counted. */
    private static final class Cursor {
        private final Iterator<LogSource.Raw> records;
        private final org.apache.kafka.common.serialization.Deserializer<?> values;
        private Event head;
        long skipped;

        Cursor(Iterator<LogSource.Raw> records, org.apache.kafka.common.serialization.Deserializer<?> values) {
            this.records = records;
            this.values = values;
        }

        Event peek() {
            while (head == null && records.hasNext()) {
                LogSource.Raw r = records.next();
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
                head = new Event(r.topic(), r.partition(), r.offset(), r.timestampMs(), v, AuditTrail.sha256(r.value()));
            }
            return head;
        }

        Event take() {
            Event e = peek();
            head = null;
            return e;
        }
    }
}
