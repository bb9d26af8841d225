package io.clops.runtime;

import io.clops.avro.ClusterEvent;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * What a user reads, from what the runtimes observe: the desired deployment joined with the objects on
 * clops.cluster that belong to it. The same rules for every runtime:
 * <ul>
 *   <li>{@value #APPLIED}: the runtime's report that it applied a generation (or could not, with the reason);</li>
 *   <li>{@value #WORKLOAD} / {@code Deployment}: something serving, phase {@value #SERVING} or {@value #SHADOW},
 *       readyReplicas available;</li>
 *   <li>anything else (Pod, Process) with a reason: a failure to report.</li>
 * </ul>
 * Pending until the current generation is applied; Failed with the first failure; Ready when every serving
 * workload has at least {@code replicas.min} (at least one) ready; Pending otherwise.
 */
public final class StatusRules {
    private StatusRules() {
    }

    public static final String APPLIED = "Applied";
    public static final String WORKLOAD = "Workload";
    public static final String DELETED = "Deleted";
    public static final String SERVING = "Serving";
    public static final String SHADOW = "Shadow";

    public static DeploymentStatus compute(DesiredDeployment d, Collection<ClusterEvent> observed, long timeMs) {
        ClusterEvent applied = observed.stream().filter(e -> APPLIED.equals(e.getKind()))
                .max(Comparator.comparingLong(ClusterEvent::getGeneration)).orElse(null);
        DeploymentStatus.Builder s = DeploymentStatus.newBuilder().setProject(d.getProject()).setName(d.getName())
                .setTimeMs(timeMs).setObservedGeneration(applied == null ? 0 : applied.getGeneration())
                .setRuntime(applied == null ? "none" : applied.getPhase())
                .setEndpoint(applied == null ? null : applied.getEndpoint());
        List<ClusterEvent> serving = observed.stream()
                .filter(e -> (WORKLOAD.equals(e.getKind()) || "Deployment".equals(e.getKind())) && SERVING.equals(e.getPhase()))
                .sorted(Comparator.comparing(ClusterEvent::getName)).toList();
        int ready = serving.stream().mapToInt(ClusterEvent::getReadyReplicas).sum();
        s.setReadyReplicas(ready);
        if (applied == null) {
            return s.setPhase("Pending").setReason("waiting for a worker to apply generation " + d.getGeneration()).build();
        }
        if (applied.getGeneration() < d.getGeneration()) {
            return s.setPhase("Pending").setReason("rolling out generation " + d.getGeneration()).build();
        }
        if (applied.getReason() != null) {
            return s.setPhase("Failed").setReason(applied.getReason()).build();
        }
        ClusterEvent failure = observed.stream().filter(e -> e.getReason() != null && !APPLIED.equals(e.getKind()))
                .min(Comparator.comparing(ClusterEvent::getName)).orElse(null);
        if (failure != null) {
            String what = "Pod".equals(failure.getKind()) ? "pod " + failure.getName() + ": " : "";
            return s.setPhase("Failed").setReason(what + failure.getReason()).build();
        }
        int expected = d.getRoutes().size();
        if (serving.size() < expected) {
            return s.setPhase("Pending").setReason("waiting for " + (expected - serving.size()) + " workload(s)").build();
        }
        int min = Math.max(1, d.getSpec().getReplicas().getMin());
        for (ClusterEvent w : serving) {
            if (w.getReadyReplicas() < min) {
                return s.setPhase("Pending").setReason(w.getName() + ": " + w.getReadyReplicas() + " of " + min + " replicas ready").build();
            }
        }
        return s.setPhase("Ready").setReason(null).build();
    }

    /** Two statuses that say the same (time aside). */
    public static boolean same(DeploymentStatus a, DeploymentStatus b) {
        if (a == null || b == null) {
            return a == b;
        }
        return DeploymentStatus.newBuilder(a).setTimeMs(0).build().equals(DeploymentStatus.newBuilder(b).setTimeMs(0).build());
    }
}
