package io.clops.k8s.runtime;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

import java.util.List;
import java.util.Set;

/**
 * Why a pod cannot serve, in the words a user searches for: ImagePullBackOff, CrashLoopBackOff, OOMKilled,
 * Unschedulable, and an init step that failed with its last words (its termination message).
 */
public final class PodFailures {
    private PodFailures() {
    }

    static final Set<String> WAITING_FAILURES = Set.of("ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
            "CreateContainerConfigError", "InvalidImageName", "CreateContainerError", "RunContainerError");

    /** The reason, or null when the pod is fine (or just starting). */
    public static String reason(Pod p) {
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
        // an init step that fails (a model file whose digest does not match, a store that refuses): its last words
        if (p.getStatus().getInitContainerStatuses() != null) {
            for (ContainerStatus c : p.getStatus().getInitContainerStatuses()) {
                var last = c.getLastState() == null ? null : c.getLastState().getTerminated();
                var now = c.getState() == null ? null : c.getState().getTerminated();
                var failed = now != null && now.getExitCode() != null && now.getExitCode() != 0 ? now
                        : last != null && last.getExitCode() != null && last.getExitCode() != 0 ? last : null;
                if (failed != null) {
                    String msg = failed.getMessage() == null ? "" : ": " + failed.getMessage().strip();
                    return "init step " + c.getName() + " failed (exit " + failed.getExitCode() + ")" + msg;
                }
                if (c.getState() != null && c.getState().getWaiting() != null && WAITING_FAILURES.contains(c.getState().getWaiting().getReason())) {
                    String msg = c.getState().getWaiting().getMessage();
                    return "init step " + c.getName() + " " + c.getState().getWaiting().getReason() + (msg == null ? "" : ": " + msg);
                }
            }
        }
        List<ContainerStatus> cs = p.getStatus().getContainerStatuses();
        if (cs == null) {
            return null;
        }
        for (ContainerStatus c : cs) {
            boolean lastOom = c.getLastState() != null && c.getLastState().getTerminated() != null
                    && "OOMKilled".equals(c.getLastState().getTerminated().getReason());
            if (c.getState() != null && c.getState().getWaiting() != null && WAITING_FAILURES.contains(c.getState().getWaiting().getReason())) {
                String msg = c.getState().getWaiting().getMessage();
                return c.getName() + " " + c.getState().getWaiting().getReason() + (lastOom ? " (last exit: OOMKilled)" : "")
                        + (msg == null ? "" : ": " + msg);
            }
            if (c.getState() != null && c.getState().getTerminated() != null && "OOMKilled".equals(c.getState().getTerminated().getReason())) {
                return c.getName() + " OOMKilled";
            }
            if (lastOom && !Boolean.TRUE.equals(c.getReady())) {
                return c.getName() + " OOMKilled";
            }
        }
        return null;
    }
}
