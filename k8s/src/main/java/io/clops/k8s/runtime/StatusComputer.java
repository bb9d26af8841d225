package io.clops.k8s.runtime;

import io.clops.avro.DesiredDeployment;
import io.clops.k8s.model.K8sNames;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.apps.Deployment;

import java.util.List;
import java.util.Set;

/**
 * From what the cluster shows to what a user reads: Ready when every serving workload has at least the minimum of
 * available replicas; Failed with the pod's reason (ImagePullBackOff, CrashLoopBackOff, OOMKilled, Unschedulable…);
 * Pending otherwise. Pure, so it is tested with hand-made objects.
 */
public final class StatusComputer {
    private StatusComputer() {
    }

    static final Set<String> WAITING_FAILURES = Set.of("ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
            "CreateContainerConfigError", "InvalidImageName", "CreateContainerError", "RunContainerError");

    public record Observed(String phase, String reason, int readyReplicas) {
    }

    public static Observed compute(DesiredDeployment d, List<Deployment> workloads, List<Pod> pods) {
        for (Pod p : pods) {
            String why = failure(p);
            if (why != null) {
                return new Observed("Failed", "pod " + p.getMetadata().getName() + ": " + why, ready(workloads));
            }
        }
        int min = Math.max(1, d.getSpec().getReplicas().getMin());
        List<Deployment> serving = workloads.stream().filter(w -> {
            var labels = w.getSpec() == null || w.getSpec().getTemplate() == null ? null : w.getSpec().getTemplate().getMetadata().getLabels();
            return labels == null || !"false".equals(labels.get(K8sNames.SERVING));
        }).toList();
        int expected = d.getRoutes().size();
        if (serving.size() < expected) {
            return new Observed("Pending", "waiting for " + (expected - serving.size()) + " workload(s) to be created", ready(workloads));
        }
        for (Deployment w : serving) {
            int available = w.getStatus() == null || w.getStatus().getAvailableReplicas() == null ? 0 : w.getStatus().getAvailableReplicas();
            if (available < min) {
                return new Observed("Pending", w.getMetadata().getName() + ": " + available + " of " + min + " replicas available", ready(workloads));
            }
        }
        return new Observed("Ready", null, ready(workloads));
    }

    private static int ready(List<Deployment> workloads) {
        return workloads.stream().mapToInt(w -> w.getStatus() == null || w.getStatus().getReadyReplicas() == null ? 0
                : w.getStatus().getReadyReplicas()).sum();
    }

    /** The reason a pod cannot serve, or null. */
    static String failure(Pod p) {
        if (p.getStatus() == null) {
            return null;
        }
        if (p.getStatus().getConditions() != null) {
            for (PodCondition c : p.getStatus().getConditions()) {
                if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) {
                    return "Unschedulable" + (c.getMessage() == null ? "" : ": " + c.getMessage());
                }
            }
        }
        List<ContainerStatus> cs = p.getStatus().getContainerStatuses();
        if (cs == null) {
            return null;
        }
        for (ContainerStatus c : cs) {
            if (c.getState() != null && c.getState().getWaiting() != null && WAITING_FAILURES.contains(c.getState().getWaiting().getReason())) {
                String msg = c.getState().getWaiting().getMessage();
                String last = c.getLastState() != null && c.getLastState().getTerminated() != null
                        && "OOMKilled".equals(c.getLastState().getTerminated().getReason()) ? " (last exit: OOMKilled)" : "";
                return c.getName() + " " + c.getState().getWaiting().getReason() + last + (msg == null ? "" : ": " + msg);
            }
            if (c.getState() != null && c.getState().getTerminated() != null && "OOMKilled".equals(c.getState().getTerminated().getReason())) {
                return c.getName() + " OOMKilled";
            }
            if (c.getLastState() != null && c.getLastState().getTerminated() != null
                    && "OOMKilled".equals(c.getLastState().getTerminated().getReason()) && !Boolean.TRUE.equals(c.getReady())) {
                return c.getName() + " OOMKilled";
            }
        }
        return null;
    }
}
