package io.clops.k8s;

import io.clops.k8s.runtime.PodFailures;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;


import static org.assertj.core.api.Assertions.assertThat;

class PodFailuresTest {

    static PodBuilder pod() {
        return new PodBuilder().withNewMetadata().withName("iris-1").endMetadata();
    }

    @Test
    void eachPodFailureIsNamed() {
        Pod unschedulable = pod().withNewStatus().withPhase("Pending").addNewCondition().withType("PodScheduled").withStatus("False")
                .withReason("Unschedulable").withMessage("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.").endCondition().endStatus().build();
        Pod oom = pod().withNewStatus().withPhase("Running").addNewContainerStatus().withName("model").withReady(false)
                .withNewState().withNewTerminated().withReason("OOMKilled").withExitCode(137).endTerminated().endState()
                .endContainerStatus().endStatus().build();
        Pod pull = pod().withNewStatus().withPhase("Pending").addNewContainerStatus().withName("model").withReady(false)
                .withNewState().withNewWaiting().withReason("ErrImagePull").withMessage("not found").endWaiting().endState()
                .endContainerStatus().endStatus().build();
        Pod healthy = pod().withNewStatus().withPhase("Running").addNewContainerStatus().withName("model").withReady(true)
                .withNewState().withNewRunning().endRunning().endState().endContainerStatus().endStatus().build();

        assertThat(PodFailures.reason(unschedulable)).isEqualTo("Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
        assertThat(PodFailures.reason(oom)).isEqualTo("model OOMKilled");
        assertThat(PodFailures.reason(pull)).isEqualTo("model ErrImagePull: not found");
        assertThat(PodFailures.reason(healthy)).isNull();
    }

    @Test
    void aFailedInitStepIsNamedWithItsLastWords() {
        String words = "model file fetched from http://store/x: its SHA-256 is 1f…, but it was registered as 2a…: it changed since";
        Pod crashLooping = pod().withNewStatus().withPhase("Pending").addNewInitContainerStatus().withName("fetch-model").withReady(false)
                .withNewState().withNewWaiting().withReason("CrashLoopBackOff").withMessage("back-off 10s restarting failed container").endWaiting().endState()
                .withNewLastState().withNewTerminated().withExitCode(3).withReason("Error").withMessage(words + "\n").endTerminated().endLastState()
                .endInitContainerStatus().endStatus().build();
        Pod pulling = pod().withNewStatus().withPhase("Pending").addNewInitContainerStatus().withName("fetch-model").withReady(false)
                .withNewState().withNewWaiting().withReason("ImagePullBackOff").withMessage("not found").endWaiting().endState()
                .endInitContainerStatus().endStatus().build();
        Pod fetched = pod().withNewStatus().withPhase("Running").addNewInitContainerStatus().withName("fetch-model").withReady(true)
                .withNewState().withNewTerminated().withExitCode(0).withReason("Completed").endTerminated().endState()
                .endInitContainerStatus().addNewContainerStatus().withName("model").withReady(true).withNewState().withNewRunning().endRunning()
                .endState().endContainerStatus().endStatus().build();

        assertThat(PodFailures.reason(crashLooping)).isEqualTo("init step fetch-model failed (exit 3): " + words);
        assertThat(PodFailures.reason(pulling)).isEqualTo("init step fetch-model ImagePullBackOff: not found");
        assertThat(PodFailures.reason(fetched)).isNull();
    }
}
