package io.clops.reconciler;

import io.clops.avro.AuditRecord;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.RegistryEvent;
import org.apache.avro.generic.GenericRecord;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * The audit record of one folded event, without Kafka: who, when, the verdict, what changed (each field of a
 * deployment's desired state, a model's registry state or a project that the event changed, old → new), and a hash
 * chaining it to the previous record of its project. The live topology and a replay both call {@link #next}, so a
 * replay recomputes the very records the topology wrote.
 */
public final class AuditTrail {
    private AuditTrail() {
    }

    /** The hash before a project's first record. */
    public static final String GENESIS = "0".repeat(64);
    /** At most this many change lines per record (a registration lists every field of the version). */
    static final int MAX_CHANGES = 200;
    /** Fields that say when and by whom, not what: not listed as changes. */
    private static final Set<String> BOOKKEEPING = Set.of("generation", "commandId", "actor", "timeMs", "createdMs", "createdBy", "project", "name");

    /**
     * What the next record of a project chains to: the last one's number and hash (all a fold keeps of it; the record
     * itself is on clops.audit).
     */
    public record Head(long seq, String hash) {
        public static Head of(AuditRecord r) {
            return new Head(r.getSeq(), r.getHash());
        }

        /** As the topology's store keeps it: {@code seq:hash}. */
        public String text() {
            return seq + ":" + hash;
        }

        public static Head parse(String text) {
            if (text == null) {
                return null;
            }
            int colon = text.indexOf(':');
            return new Head(Long.parseLong(text.substring(0, colon)), text.substring(colon + 1));
        }
    }

    /** Where a folded event is in the log, and its bytes' digest. */
    public record Source(String topic, int partition, long offset, long timestampMs, String sha256) {
    }

    /**
     * The record for {@code event}, folded into {@code outputs}.
     *
     * @param previous the project's last record's head, or null before its first
     * @param before   what a DESIRED, MODELS or PROJECTS key held before the event (null: nothing)
     */
    public static AuditRecord next(Head previous, Source source, Object event, List<ProjectFold.Output> outputs,
                                   BiFunction<ProjectFold.Target, String, Object> before) {
        CommandResult verdict = outputs.stream().filter(o -> o.target() == ProjectFold.Target.COMMAND_RESULTS)
                .map(o -> (CommandResult) o.value()).findFirst()
                .orElseThrow(() -> new IllegalStateException("the fold gave no verdict for " + source));
        AuditRecord.Builder b = AuditRecord.newBuilder()
                .setSeq(previous == null ? 1 : previous.seq() + 1)
                .setTopic(source.topic()).setPartition(source.partition()).setOffset(source.offset()).setTimeMs(source.timestampMs())
                .setAccepted(verdict.getAccepted()).setReason(verdict.getReason()).setGeneration(verdict.getGeneration())
                .setRequestId(verdict.getRequestId()).setEventSha256(source.sha256())
                .setPrevHash(previous == null ? GENESIS : previous.hash());
        if (event instanceof CommandEnvelope c) {
            String deployment = verdict.getDeployment() == null || verdict.getDeployment().isEmpty() ? null : verdict.getDeployment();
            b.setProject(c.getProject()).setEventId(c.getId()).setActor(c.getActor()).setAction(action(c.getPayload()))
                    .setDeployment(deployment).setModel(null);
        } else {
            RegistryEvent r = (RegistryEvent) event;
            b.setProject(r.getProject()).setEventId(r.getId()).setActor(r.getActor()).setAction(action(r.getPayload()))
                    .setDeployment(null).setModel(r.getModel());
        }
        List<String> changes = new ArrayList<>();
        for (ProjectFold.Output o : outputs) {
            if (o.target() == ProjectFold.Target.DESIRED || o.target() == ProjectFold.Target.MODELS || o.target() == ProjectFold.Target.PROJECTS) {
                String label = switch (o.target()) {
                    case DESIRED -> "deployment ";
                    case MODELS -> "model ";
                    default -> "project ";
                } + o.key();
                diff(label, before.apply(o.target(), o.key()), o.value(), changes);
            }
        }
        if (verdict.getAccepted() && event instanceof CommandEnvelope c && c.getPayload() instanceof io.clops.avro.IssueKafkaCredentials k) {
            changes.add("kafka principal " + k.getPrincipal() + ": new password"); // outside the project's state: Kafka's
        }
        if (changes.size() > MAX_CHANGES) {
            int more = changes.size() - MAX_CHANGES;
            changes = new ArrayList<>(changes.subList(0, MAX_CHANGES));
            changes.add("… and " + more + " more");
        }
        b.setChanges(changes).setHash("");
        AuditRecord r = b.build();
        r.setHash(hash(r));
        return r;
    }

    /**
     * The record's hash: SHA-256 over every field but the hash (the previous record's hash among them), in schema
     * order, each as {@code name=value} and a NUL, a list's items joined by U+0001 (fed to the digest piece by piece).
     */
    public static String hash(AuditRecord r) {
        MessageDigest d = SHA256.get();
        for (org.apache.avro.Schema.Field f : r.getSchema().getFields()) {
            if (!f.name().equals("hash")) {
                d.update(f.name().getBytes(StandardCharsets.UTF_8));
                d.update((byte) '=');
                Object v = r.get(f.pos());
                if (v instanceof List<?> l) {
                    for (int i = 0; i < l.size(); i++) {
                        if (i > 0) {
                            d.update((byte) 1);
                        }
                        d.update(String.valueOf(l.get(i)).getBytes(StandardCharsets.UTF_8));
                    }
                } else {
                    d.update(String.valueOf(v).getBytes(StandardCharsets.UTF_8));
                }
                d.update((byte) 0);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(SHA256.get().digest(bytes)); // digest() resets it for the next call
    }

    static String action(Object payload) {
        String simple = payload.getClass().getSimpleName(); // DeployCommand, SetMember, VersionRegistered, AliasSet ...
        return switch (simple) {
            case "DeployCommand" -> "deploy";
            case "UndeployCommand" -> "undeploy";
            case "VersionRegistered" -> "register";
            case "AliasSet" -> "set-alias";
            case "AliasRemoved" -> "remove-alias";
            case "VersionArchived" -> "archive";
            default -> simple.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT); // CreateProject → create-project
        };
    }

    /** One line per field that differs: {@code key path: old → new} (∅ for none). */
    public static void diff(String key, Object before, Object after, List<String> out) {
        if (before == null && after == null) {
            return;
        }
        if (after == null) {
            out.add(key + ": removed" + (before instanceof DesiredDeployment d ? " (was generation " + d.getGeneration() + ")" : ""));
            return;
        }
        Map<String, String> a = flatten(before);
        Map<String, String> z = flatten(after);
        Set<String> paths = new TreeSet<>(a.keySet());
        paths.addAll(z.keySet());
        for (String p : paths) {
            String was = a.get(p);
            String is = z.get(p);
            if (!java.util.Objects.equals(was, is)) {
                out.add(key + " " + p + ": " + (was == null ? "∅" : was) + " → " + (is == null ? "∅" : is));
            }
        }
    }

    static Map<String, String> flatten(Object v) {
        Map<String, String> out = new TreeMap<>();
        if (v != null) {
            flatten("", v, out);
        }
        return out;
    }

    private static void flatten(String path, Object v, Map<String, String> out) {
        if (v instanceof io.clops.avro.ModelVersion mv && path.startsWith("routes[")) {
            // what a deployment resolved to: the version, not the whole registration (the registry's record has that)
            out.put(path + ".model", mv.getModel());
            out.put(path + ".version", Integer.toString(mv.getVersion()));
        } else if (v instanceof GenericRecord r) {
            for (org.apache.avro.Schema.Field f : r.getSchema().getFields()) {
                if (path.isEmpty() && BOOKKEEPING.contains(f.name())) {
                    continue;
                }
                Object x = r.get(f.pos());
                if (x != null) {
                    flatten(path.isEmpty() ? f.name() : path + "." + f.name(), x, out);
                }
            }
        } else if (v instanceof Map<?, ?> m) {
            new TreeMap<>(m.entrySet().stream().collect(java.util.stream.Collectors.toMap(e -> String.valueOf(e.getKey()), Map.Entry::getValue)))
                    .forEach((k, x) -> {
                        if (x != null) {
                            flatten(path.isEmpty() ? k : path + "." + k, x, out);
                        }
                    });
        } else if (v instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof GenericRecord) {
            for (int i = 0; i < l.size(); i++) {
                flatten(path + "[" + i + "]", l.get(i), out);
            }
        } else {
            out.put(path, String.valueOf(v));
        }
    }

    /** Whether {@code r}'s hash is what its fields and previous hash give. */
    public static boolean intact(AuditRecord r) {
        return r.getHash().equals(hash(r));
    }

    /**
     * One event through the fold and then the audit trail: what the live topology's processor and a replay both run.
     * The outputs are the fold's, and last the event's audit record (target AUDIT, key project).
     *
     * @param head   the project's last audit record's head, or null
     * @param before what a DESIRED, MODELS or PROJECTS key holds now, before the outputs are applied
     */
    public static List<ProjectFold.Output> fold(ProjectFold.State state, Object event, Source source, Head head,
                                                BiFunction<ProjectFold.Target, String, Object> before) {
        List<ProjectFold.Output> out = new ArrayList<>(event instanceof CommandEnvelope c ? ProjectFold.onCommand(state, c)
                : ProjectFold.onRegistry(state, (RegistryEvent) event));
        AuditRecord r = next(head, source, event, out, before);
        out.add(new ProjectFold.Output(ProjectFold.Target.AUDIT, r.getProject(), r));
        return out;
    }
}
