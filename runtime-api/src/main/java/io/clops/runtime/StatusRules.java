package io.clops.runtime;

import io.clops.avro.ClusterEvent;
import io.clops.avro.DeploymentPhase;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ObservedKind;
import io.clops.avro.ObservedPhase;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * What a user reads, from what the runtimes observe: the desired deployment joined with the objects on
 * clops.cluster that belong to it. The same rules for every runtime:
 * <ul>
 *   <li>{@link ObservedKind#Applied}: the runtime's report that it applied a generation (or could not, with the reason);</li>
 *   <li>{@link ObservedKind#Workload} / {@link ObservedKind#Deployment}: something serving, phase
 *       {@link ObservedPhase#Serving} or {@link ObservedPhase#Shadow}, readyReplicas available;</li>
 *   <li>anything else (Pod, Process) with a reason: a failure to report.</li>
 * </ul>
 * Pending until the current generation is applied; Failed with the first failure; Ready when every serving
 * workload has at least {@code replicas.min} (at least one) ready; Pending otherwise. Kinds and phases are the Avro
 * enums {@link ObservedKind}, {@link ObservedPhase} and {@link DeploymentPhase}; the records carry their symbols as
 * strings (the log is kept forever, and Avro cannot read a string written before as an enum).
 */
public final class StatusRules {
    private StatusRules() {
    }

    /** Whether {@code e} reports a {@code kind}. */
    public static boolean is(ClusterEvent e, ObservedKind kind) {
        return kind.name().equals(e.getKind());
    }

    /** Whether {@code e}'s phase is {@code phase}. */
    public static boolean is(ClusterEvent e, ObservedPhase phase) {
        return phase.name().equals(e.getPhase());
    }

    /** A status's phase; an unknown symbol (a newer writer) reads as Pending, the phase that promises nothing. */
    public static DeploymentPhase phaseOf(DeploymentStatus s) {
        for (DeploymentPhase p : DeploymentPhase.values()) {
            if (p.name().equals(s.getPhase())) {
                return p;
            }
        }
        return DeploymentPhase.Pending;
    }

    private static DeploymentStatus phase(DeploymentStatus.Builder s, DeploymentPhase phase, String reason) {
        return s.setPhase(phase.name()).setReason(reason).build();
    }

    public static DeploymentStatus compute(DesiredDeployment d, Collection<ClusterEvent> observed, long timeMs) {
        ClusterEvent applied = observed.stream().filter(e -> is(e, ObservedKind.Applied))
                .max(Comparator.comparingLong(ClusterEvent::getGeneration)).orElse(null);
        DeploymentStatus.Builder s = DeploymentStatus.newBuilder().setProject(d.getProject()).setName(d.getName())
                .setTimeMs(timeMs).setObservedGeneration(applied == null ? 0 : applied.getGeneration())
                .setRuntime(applied == null ? "none" : applied.getPhase())
                .setEndpoint(applied == null ? null : applied.getEndpoint());
        List<ClusterEvent> serving = observed.stream()
                .filter(e -> (is(e, ObservedKind.Workload) || is(e, ObservedKind.Deployment)) && is(e, ObservedPhase.Serving))
                .sorted(Comparator.comparing(ClusterEvent::getName)).toList();
        int ready = serving.stream().mapToInt(ClusterEvent::getReadyReplicas).sum();
        s.setReadyReplicas(ready);
        if (applied == null) {
            return phase(s, DeploymentPhase.Pending, "waiting for a worker to apply generation " + d.getGeneration());
        }
        if (applied.getGeneration() < d.getGeneration()) {
            return phase(s, DeploymentPhase.Pending, "rolling out generation " + d.getGeneration());
        }
        if (applied.getReason() != null) {
            return phase(s, DeploymentPhase.Failed, applied.getReason());
        }
        ClusterEvent failure = observed.stream().filter(e -> e.getReason() != null && !is(e, ObservedKind.Applied))
                .min(Comparator.comparing(ClusterEvent::getName)).orElse(null);
        if (failure != null) {
            String what = is(failure, ObservedKind.Pod) ? "pod " + failure.getName() + ": " : "";
            return phase(s, DeploymentPhase.Failed, what + failure.getReason());
        }
        int expected = d.getRoutes().size();
        if (serving.size() < expected) {
            return phase(s, DeploymentPhase.Pending, "waiting for " + (expected - serving.size()) + " workload(s)");
        }
        int min = Math.max(1, d.getSpec().getReplicas().getMin());
        for (ClusterEvent w : serving) {
            if (w.getReadyReplicas() < min) {
                return phase(s, DeploymentPhase.Pending, w.getName() + ": " + w.getReadyReplicas() + " of " + min + " replicas ready");
            }
        }
        return phase(s, DeploymentPhase.Ready, null);
    }

    /** Two statuses that say the same (time aside). */
    public static boolean same(DeploymentStatus a, DeploymentStatus b) {
        if (a == null || b == null) {
            return a == b;
        }
        return DeploymentStatus.newBuilder(a).setTimeMs(0).build().equals(DeploymentStatus.newBuilder(b).setTimeMs(0).build());
    }
}
