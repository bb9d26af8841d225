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
}
