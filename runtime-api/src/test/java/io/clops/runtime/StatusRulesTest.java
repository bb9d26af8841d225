package io.clops.runtime;

import io.clops.avro.ClusterEvent;
import io.clops.avro.DeploymentPhase;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ObservedKind;
import io.clops.avro.ObservedPhase;
import io.clops.avro.ResolvedRoute;
import io.clops.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The status a user reads, from what runtimes report; the same rules for both runtimes. */
class StatusRulesTest {
    static DesiredDeployment desired(long generation, int routes, int minReplicas) {
        var spec = Fixtures.spec("m");
        spec.getReplicas().setMin(minReplicas);
        List<ResolvedRoute> rs = new ArrayList<>();
        for (int i = 0; i < routes; i++) {
            rs.add(ResolvedRoute.newBuilder().setRef("m@" + (i + 1)).setVersion(Fixtures.version("m", i + 1, List.of("serve"))).setWeight(100 / routes).build());
        }
        return DesiredDeployment.newBuilder().setProject("p").setName("d").setGeneration(generation).setSpec(spec)
                .setRoutes(rs).setCommandId("c").setActor("alice").setTimeMs(1).build();
    }

    static ClusterEvent applied(long generation, String reason) {
        return ClusterEvent.newBuilder().setKind(ObservedKind.Applied.name()).setNamespace("p").setName("d").setDeployment("d")
                .setGeneration(generation).setPhase("kubernetes").setReason(reason).setEndpoint("http://d.p:8080").setTimeMs(2).build();
    }

    static ClusterEvent workload(ObservedKind kind, String name, ObservedPhase phase, int ready) {
        return ClusterEvent.newBuilder().setKind(kind.name()).setNamespace("p").setName(name).setDeployment("d")
                .setPhase(phase.name()).setReplicas(ready).setReadyReplicas(ready).setTimeMs(3).build();
    }

    static DeploymentStatus compute(DesiredDeployment d, ClusterEvent... observed) {
        return StatusRules.compute(d, List.of(observed), 9);
    }

    @Test
    void pendingUntilTheCurrentGenerationIsApplied() {
        DeploymentStatus none = compute(desired(2, 1, 1));
        assertThat(none.getPhase()).isEqualTo("Pending");
        assertThat(none.getReason()).isEqualTo("waiting for a worker to apply generation 2");
        assertThat(none.getRuntime()).isEqualTo("none");

        DeploymentStatus older = compute(desired(2, 1, 1), applied(1, null), workload(ObservedKind.Deployment, "d-1", ObservedPhase.Serving, 1));
        assertThat(older.getPhase()).isEqualTo("Pending");
        assertThat(older.getReason()).isEqualTo("rolling out generation 2");
        assertThat(older.getObservedGeneration()).isEqualTo(1);
    }

    @Test
    void failedWithTheRuntimesReasonOrTheFirstFailingPod() {
        DeploymentStatus refused = compute(desired(1, 1, 1), applied(1, "403 Forbidden: deployments.apps is forbidden"));
        assertThat(refused.getPhase()).isEqualTo("Failed");
        assertThat(refused.getReason()).isEqualTo("403 Forbidden: deployments.apps is forbidden");

        ClusterEvent pod = ClusterEvent.newBuilder(workload(ObservedKind.Pod, "d-1-abc", ObservedPhase.Present, 0))
                .setPhase("Running").setReason("container model: CrashLoopBackOff").build();
        DeploymentStatus crashing = compute(desired(1, 1, 1), applied(1, null), workload(ObservedKind.Deployment, "d-1", ObservedPhase.Serving, 0), pod);
        assertThat(crashing.getPhase()).isEqualTo("Failed");
        assertThat(crashing.getReason()).isEqualTo("pod d-1-abc: container model: CrashLoopBackOff");
    }

    @Test
    void readyWhenEveryServingWorkloadHasItsMinimumReady() {
        DesiredDeployment split = desired(1, 2, 2);
        DeploymentStatus oneMissing = compute(split, applied(1, null), workload(ObservedKind.Workload, "d-1", ObservedPhase.Serving, 2));
        assertThat(oneMissing.getPhase()).isEqualTo("Pending");
        assertThat(oneMissing.getReason()).isEqualTo("waiting for 1 workload(s)");

        // a shadow is not a route: it does not count as the second workload
        DeploymentStatus shadowOnly = compute(split, applied(1, null), workload(ObservedKind.Workload, "d-1", ObservedPhase.Serving, 2),
                workload(ObservedKind.Workload, "d-s", ObservedPhase.Shadow, 2));
        assertThat(shadowOnly.getPhase()).isEqualTo("Pending");

        DeploymentStatus short1 = compute(split, applied(1, null), workload(ObservedKind.Workload, "d-1", ObservedPhase.Serving, 2),
                workload(ObservedKind.Workload, "d-2", ObservedPhase.Serving, 1));
        assertThat(short1.getPhase()).isEqualTo("Pending");
        assertThat(short1.getReason()).isEqualTo("d-2: 1 of 2 replicas ready");

        DeploymentStatus ready = compute(split, applied(1, null), workload(ObservedKind.Workload, "d-1", ObservedPhase.Serving, 2),
                workload(ObservedKind.Deployment, "d-2", ObservedPhase.Serving, 3));
        assertThat(ready.getPhase()).isEqualTo(DeploymentPhase.Ready.name());
        assertThat(ready.getReason()).isNull();
        assertThat(ready.getReadyReplicas()).isEqualTo(5);
        assertThat(ready.getRuntime()).isEqualTo("kubernetes");
        assertThat(ready.getEndpoint()).isEqualTo("http://d.p:8080");
    }

    @Test
    void phaseOfReadsEverySymbolAndAnUnknownOneAsPending() {
        for (DeploymentPhase p : DeploymentPhase.values()) {
            DeploymentStatus s = DeploymentStatus.newBuilder().setProject("p").setName("d").setPhase(p.name()).setObservedGeneration(1).setTimeMs(1).build();
            assertThat(StatusRules.phaseOf(s)).isEqualTo(p);
        }
        DeploymentStatus newer = DeploymentStatus.newBuilder().setProject("p").setName("d").setPhase("Hibernating").setObservedGeneration(1).setTimeMs(1).build();
        assertThat(StatusRules.phaseOf(newer)).isEqualTo(DeploymentPhase.Pending);
    }
}
