package io.clops.reconciler;

import io.clops.avro.AuditRecord;
import io.clops.kafka.Topics;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Checks the audit trail against itself and against the log, and names the first broken link:
 * <ul>
 *   <li>each audit record's hash is what its fields give (a record edited after it was written);</li>
 *   <li>each record chains to its project's previous one (a record removed, inserted or reordered);</li>
 *   <li>each event the trail names is in the log with the bytes whose SHA-256 the trail recorded (an event edited,
 *       or removed, after the fold took it).</li>
 * </ul>
 * Events after the trail's last (the fold is behind) are counted, not broken; an event between two the trail names
 * and not in it is broken (inserted). A topology that folds the log
 * again from its start (a new application id) writes a second trail; each project's chain may start again there
 * (sequence 1 after the genesis hash), and the events are checked again.
 */
public final class AuditVerifier {
    private AuditVerifier() {
    }

    /** What a check found: counts, and the first broken link (null when none). */
    public record Result(long records, long events, long unaudited, String broken) {
        public boolean intact() {
            return broken == null;
        }
    }

    public static Result verify(LogSource source) {
        long records = 0;
        long events = 0;
        long unaudited = 0;
        for (int p = 0; p < source.partitions(); p++) {
            Map<String, AuditRecord> last = new HashMap<>();
            Map<String, String> lastWhere = new HashMap<>();
            Map<String, Cursor> cursors = new HashMap<>();
            for (String t : java.util.List.of(Topics.COMMANDS.name(), Topics.REGISTRY.name())) {
                cursors.put(t, new Cursor(source, t, p));
            }
            for (Iterator<LogSource.Raw> it = source.read(Topics.AUDIT.name(), p); it.hasNext(); ) {
                LogSource.Raw raw = it.next();
                records++;
                AuditRecord a;
                try {
                    a = Topics.AUDIT.valueSerde().deserializer().deserialize(raw.topic(), raw.value());
                } catch (RuntimeException e) {
                    return new Result(records, events, unaudited, raw.where() + ": the audit record does not decode (" + e.getMessage() + ")");
                }
                String name = raw.where() + " (project " + a.getProject() + ", record " + a.getSeq() + ")";
                if (!AuditTrail.intact(a)) {
                    return new Result(records, events, unaudited, name + ": its hash is not what its fields give: it was edited after it was written");
                }
                AuditRecord prev = last.get(a.getProject());
                boolean restart = a.getSeq() == 1 && AuditTrail.GENESIS.equals(a.getPrevHash());
                if (!restart) {
                    if (prev == null) {
                        return new Result(records, events, unaudited, name + ": it chains to a record that is not in the trail (the project's "
                                + "earlier records were removed)");
                    }
                    if (!a.getPrevHash().equals(prev.getHash()) || a.getSeq() != prev.getSeq() + 1) {
                        return new Result(records, events, unaudited, name + ": it does not chain to the project's previous record "
                                + lastWhere.get(a.getProject()) + " (record " + prev.getSeq() + "): a record was removed, inserted or reordered between them");
                    }
                }
                Cursor cursor = cursors.get(a.getTopic());
                if (cursor == null) {
                    return new Result(records, events, unaudited, name + ": it names topic " + a.getTopic() + ", which is not the log");
                }
                if (a.getPartition() != p) {
                    return new Result(records, events, unaudited, name + ": it names partition " + a.getPartition() + " of " + a.getTopic()
                            + ", but a project's events and its trail share a partition number");
                }
                LogSource.Raw event = cursor.seek(a.getOffset());
                if (cursor.passed != null) {
                    return new Result(records, events, unaudited, cursor.passed + ": the event is in the log, but the audit trail goes from "
                            + "the record before it to " + name + ", which names a later one: it was inserted after the fold (or its record removed)");
                }
                if (event == null) {
                    return new Result(records, events, unaudited, a.getTopic() + "/" + p + "@" + a.getOffset() + ": the event " + name
                            + " names is not in the log (removed?)");
                }
                events++;
                String sha = AuditTrail.sha256(event.value());
                if (!sha.equals(a.getEventSha256())) {
                    return new Result(records, events, unaudited, event.where() + ": its bytes' SHA-256 is " + sha + ", but " + name
                            + " recorded " + a.getEventSha256() + " when the fold took it: the event was changed since");
                }
                last.put(a.getProject(), a);
                lastWhere.put(a.getProject(), raw.where());
            }
            for (Cursor c : cursors.values()) {
                unaudited += c.rest();
            }
        }
        return new Result(records, events, unaudited, null);
    }

    /** A topic-partition of the log, read forward; opened again when a second trail goes back to its start. */
    private static final class Cursor {
        private final LogSource source;
        private final String topic;
        private final int partition;
        private Iterator<LogSource.Raw> records;
        private LogSource.Raw head;
        /** A decodable event passed over without an audit record (dead letters are not folded, so not counted). */
        String passed;

        Cursor(LogSource source, String topic, int partition) {
            this.source = source;
            this.topic = topic;
            this.partition = partition;
            this.records = source.read(topic, partition);
        }

        /** The record at {@code offset}, or null when the log has none there. */
        LogSource.Raw seek(long offset) {
            if (head != null && head.offset() > offset) {
                records = source.read(topic, partition); // a second trail: from the start again
                head = null;
            }
            while (true) {
                if (head == null) {
                    if (!records.hasNext()) {
                        return null;
                    }
                    head = records.next();
                }
                if (head.offset() == offset) {
                    LogSource.Raw r = head;
                    head = null;
                    return r;
                }
                if (head.offset() > offset) {
                    return null;
                }
                if (decodes(head)) {
                    passed = head.where();
                    return null;
                }
                head = null;
            }
        }

        long rest() {
            long n = head != null && decodes(head) ? 1 : 0;
            head = null;
            while (records.hasNext()) {
                if (decodes(records.next())) {
                    n++;
                }
            }
            return n;
        }

        private boolean decodes(LogSource.Raw r) {
            try {
                var serde = topic.equals(Topics.COMMANDS.name()) ? Topics.COMMANDS.valueSerde() : Topics.REGISTRY.valueSerde();
                return r.value() != null && serde.deserializer().deserialize(topic, r.value()) != null;
            } catch (RuntimeException e) {
                return false;
            }
        }
    }
}
