package io.clops.command;

import io.clops.avro.AuditRecord;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.kafka.Topics;
import io.clops.reconciler.AuditVerifier;
import io.clops.reconciler.LogSource;
import io.clops.reconciler.MemoryState;
import io.clops.reconciler.ProjectFold;
import io.clops.reconciler.Replay;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Predicate;

/**
 * The log read back for auditors, with the topology's own code: the audit trail (clops.audit) filtered and paged,
 * its check ({@link AuditVerifier}), the state at a moment ({@link Replay}) and a deployment's generations.
 * Everything is read from Kafka when asked (a project's questions read only its partition), nothing is kept.
 */
@Singleton
public class AuditLog {
    private final String bootstrap;

    public AuditLog(@Value("${clops.kafka.bootstrap}") String bootstrap) {
        this.bootstrap = bootstrap;
    }

    /** What an auditor asks for; null: any. Times are epoch milliseconds, inclusive. */
    public record Filter(String project, String deployment, String model, String actor, Long sinceMs, Long untilMs) implements Predicate<AuditRecord> {
        @Override
        public boolean test(AuditRecord r) {
            return (project == null || project.equals(r.getProject()))
                    && (deployment == null || deployment.equals(r.getDeployment())
                        || r.getChanges().stream().anyMatch(c -> c.startsWith("deployment " + r.getProject() + "/" + deployment + " ")
                            || c.startsWith("deployment " + r.getProject() + "/" + deployment + ":")))
                    && (model == null || model.equals(r.getModel()))
                    && (actor == null || actor.equals(r.getActor()))
                    && (sinceMs == null || r.getTimeMs() >= sinceMs)
                    && (untilMs == null || r.getTimeMs() <= untilMs);
        }
    }

    /** A page: records in time order (then project, then sequence), and where the next page starts (null: none). */
    public record Page(List<AuditRecord> items, String next) {
    }

    /**
     * The records {@code filter} and {@code visible} let through, oldest first, after the cursor {@code after} (from
     * an earlier page), at most {@code limit}.
     */
    public Page page(Filter filter, Predicate<String> visible, String after, int limit) {
        try (LogSource log = source(filter.project())) {
            return page(log, filter, visible, after, limit);
        }
    }

    /** The same over {@code log}: each partition read from the page's moment on, and only until the page is full. */
    static Page page(LogSource log, Filter filter, Predicate<String> visible, String after, int limit) {
        java.util.Comparator<AuditRecord> order = java.util.Comparator.comparingLong(AuditRecord::getTimeMs)
                .thenComparing(AuditRecord::getProject).thenComparingLong(AuditRecord::getSeq);
        AuditRecord cursor = after == null ? null : Cursors.decode(after);
        PriorityQueue<AuditRecord> earliest = new PriorityQueue<>(order.reversed()); // the limit+1 earliest, the latest on top
        // nothing from before this moment can pass, so it is not read, and a page after a cursor starts where the last
        // one ended instead of at the log's start
        Long from = filter.sinceMs();
        if (cursor != null) {
            from = from == null ? cursor.getTimeMs() : Math.max(from, cursor.getTimeMs());
        }
        for (int p = 0; p < log.partitions(); p++) {
            for (Iterator<LogSource.Raw> it = log.readSince(Topics.AUDIT.name(), p, from); it.hasNext(); ) {
                LogSource.Raw raw = it.next();
                AuditRecord r;
                try {
                    r = Topics.AUDIT.valueSerde().deserializer().deserialize(raw.topic(), raw.value());
                } catch (RuntimeException unreadable) {
                    continue; // audit verify names it
                }
                if (earliest.size() > limit && r.getTimeMs() > earliest.peek().getTimeMs() + LogSource.CLOCK_SLACK_MS) {
                    break; // the page is full and a partition's trail is in time order (within the slack): the rest is later
                }
                if (!filter.test(r) || !visible.test(r.getProject()) || cursor != null && order.compare(r, cursor) <= 0) {
                    continue;
                }
                earliest.add(r);
                if (earliest.size() > limit + 1) {
                    earliest.poll();
                }
            }
        }
        List<AuditRecord> items = new ArrayList<>(earliest);
        items.sort(order);
        String next = null;
        if (items.size() > limit) {
            items = items.subList(0, limit);
            next = Cursors.encode(items.get(limit - 1));
        }
        return new Page(items, next);
    }

    public AuditVerifier.Result verify() {
        try (LogSource log = LogSource.kafka(bootstrap)) {
            return AuditVerifier.verify(log);
        }
    }

    /** The state as of {@code atMs}: every project's, or one's (only its partition is read, only its events folded). */
    public MemoryState replay(long atMs, String project) {
        try (LogSource log = source(project)) {
            Iterator<Replay.Event> events = Replay.read(log, null);
            return Replay.fold(project == null ? events : only(events, project), atMs);
        }
    }

    /** One generation of a deployment (or its removal: {@code desired} null), with the audit record of its event. */
    public record Generation(DesiredDeployment desired, long generation, AuditRecord event) {
    }

    /** Every generation of the deployment the log holds, oldest first (a removal ends one life; a new deploy starts another). */
    public List<Generation> history(String project, String name) {
        String key = Topics.deploymentKey(project, name);
        List<Generation> out = new ArrayList<>();
        try (LogSource log = source(project)) {
            Replay.fold(only(Replay.read(log, null), project), Long.MAX_VALUE, (e, outputs) -> {
                AuditRecord audit = (AuditRecord) outputs.get(outputs.size() - 1).value();
                for (ProjectFold.Output o : outputs) {
                    if (o.target() == ProjectFold.Target.DESIRED && o.key().equals(key)) {
                        DesiredDeployment d = (DesiredDeployment) o.value();
                        out.add(new Generation(d, d == null ? 0 : d.getGeneration(), audit));
                    }
                }
            });
        }
        return out;
    }

    private LogSource source(String project) {
        LogSource all = LogSource.kafka(bootstrap);
        return project == null ? all : LogSource.ofProject(all, project);
    }

    private static Iterator<Replay.Event> only(Iterator<Replay.Event> events, String project) {
        return new Iterator<>() {
            private Replay.Event next;

            @Override
            public boolean hasNext() {
                while (next == null && events.hasNext()) {
                    Replay.Event e = events.next();
                    if (e.project().equals(project)) {
                        next = e;
                    }
                }
                return next != null;
            }

            @Override
            public Replay.Event next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                Replay.Event e = next;
                next = null;
                return e;
            }
        };
    }

    /** An audit record as JSON: what `clops audit` shows and `-o jsonl` streams (an Elasticsearch document as is). */
    public static Map<String, Object> json(AuditRecord r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("@timestamp", Instant.ofEpochMilli(r.getTimeMs()).toString());
        out.put("project", r.getProject());
        out.put("seq", r.getSeq());
        out.put("actor", r.getActor());
        out.put("action", r.getAction());
        out.put("deployment", r.getDeployment());
        out.put("model", r.getModel());
        out.put("accepted", r.getAccepted());
        out.put("reason", r.getReason());
        out.put("generation", r.getGeneration());
        out.put("changes", r.getChanges());
        out.put("eventId", r.getEventId());
        out.put("requestId", r.getRequestId());
        out.put("event", r.getTopic() + "/" + r.getPartition() + "@" + r.getOffset());
        out.put("eventSha256", r.getEventSha256());
        out.put("prevHash", r.getPrevHash());
        out.put("hash", r.getHash());
        return out;
    }

    /** The desired deployments and models of a replay, as JSON, filtered to what the caller may see. */
    public static Map<String, Object> json(MemoryState s, Predicate<String> visible) {
        List<Map<String, Object>> deployments = new ArrayList<>();
        s.desired().values().stream().filter(d -> visible.test(d.getProject()))
                .sorted(java.util.Comparator.comparing(DesiredDeployment::getProject).thenComparing(DesiredDeployment::getName))
                .forEach(d -> {
                    Map<String, Object> m = DeploymentViews.json(d, null);
                    m.remove("status");
                    deployments.add(m);
                });
        List<Map<String, Object>> models = new ArrayList<>();
        s.models().values().stream().filter(m -> visible.test(m.getProject()))
                .sorted(java.util.Comparator.comparing(ModelState::getProject).thenComparing(ModelState::getName))
                .forEach(m -> {
                    Map<String, Object> j = new LinkedHashMap<>();
                    j.put("project", m.getProject());
                    j.put("name", m.getName());
                    j.put("aliases", new java.util.TreeMap<>(m.getAliases()));
                    j.put("latest", m.getLatest());
                    models.add(j);
                });
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("deployments", deployments);
        out.put("models", models);
        return out;
    }

    /** Page cursors: the last record's time, project and sequence, opaque to callers. */
    static final class Cursors {
        private Cursors() {
        }

        static String encode(AuditRecord r) {
            return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (r.getTimeMs() + ":" + r.getSeq() + ":" + r.getProject()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        static AuditRecord decode(String cursor) {
            try {
                String[] p = new String(java.util.Base64.getUrlDecoder().decode(cursor), java.nio.charset.StandardCharsets.UTF_8).split(":", 3);
                return AuditRecord.newBuilder().setTimeMs(Long.parseLong(p[0])).setSeq(Long.parseLong(p[1])).setProject(p[2])
                        .setTopic("").setPartition(0).setOffset(0).setEventId("").setActor("").setAction("").setAccepted(false)
                        .setEventSha256("").setPrevHash("").setHash("").build();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("after: not a cursor this API gave (" + e.getMessage() + ")");
            }
        }
    }
}
