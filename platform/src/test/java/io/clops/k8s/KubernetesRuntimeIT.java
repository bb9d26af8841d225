package io.clops.k8s;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.ModelVersion;
import io.clops.avro.TrafficSplit;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.clops.testing.Fixtures.alias;
import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.undeploy;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Through the real broker and the topology into fabric8's mock API server (CRUD mode; it stands in for a cluster,
 * which this machine cannot run). Writes are counted from the requests the mock server received.
 */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class KubernetesRuntimeIT {
    static KubernetesClient client;
    static KubernetesMockServer server;

    static String bootstrap;
    static K8sPipeline pipeline;
    static KubernetesRuntime runtime;
    static CompactedView<DeploymentStatus> statuses;
    static GatewayEvents events;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        pipeline = new K8sPipeline(bootstrap, client, false);
        runtime = pipeline.runtime;
        statuses = pipeline.statuses;
        events = pipeline.events;
    }

    @AfterAll
    static void stop() {
        pipeline.close();
    }

    static ModelVersion image(int n) {
        ModelVersion v = version("iris", n, List.of());
        v.setImage("registry.example/iris:" + n);
        return v;
    }

    static void await(String what, BooleanSupplier ok) {
        Await.until(what, ok);
    }

    static DeploymentStatus status(String project, String name) {
        return statuses.get(Topics.deploymentKey(project, name)).orElse(null);
    }

    static void awaitGeneration(String project, String name, long generation) throws InterruptedException {
        await(project + "/" + name + " at generation " + generation, () -> {
            DeploymentStatus s = status(project, name);
            return s != null && s.getObservedGeneration() == generation;
        });
    }

    /** The writes since the last call, up to now (a marker request: {@link ApiRequests}), status writes apart. */
    static List<String> writes() throws InterruptedException {
        return ApiRequests.writesUntilNow(server, client);
    }

    static Deployment deployment(String ns, String name) {
        return client.apps().deployments().inNamespace(ns).withName(name).get();
    }

    @Test
    void deployScaleNewVersionSplitAndUndeployWriteOnlyWhatChanged() throws Exception {
        String p = "k8s-a";
        events.project(p);
        events.registry(registered("r1", p, image(1)));
        events.registry(registered("r2", p, image(2)));
        events.registry(alias("r3", p, "iris", "champion", 1));
        DeploymentSpec s = spec("iris@champion");
        s.getReplicas().setMax(2);
        events.command(deploy("c1", p, "iris", s));
        awaitGeneration(p, "iris", 1);

        Deployment d = deployment(p, "iris");
        assertThat(d).isNotNull();
        assertThat(d.getSpec().getTemplate().getSpec().getContainers()).extracting("image")
                .containsExactly("registry.example/iris:1", "clops/executor:test");
        assertThat(client.services().inNamespace(p).withName("iris").get()).isNotNull();
        assertThat(client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(p).withName("iris").get().getSpec().getMaxReplicas()).isEqualTo(2);
        assertThat(client.namespaces().withName(p).get()).isNotNull();
        assertThat(client.resourceQuotas().inNamespace(p).withName("clops-quota").get()).isNotNull();
        assertThat(client.rbac().roleBindings().inNamespace(p).list().getItems()).hasSize(3);
        assertThat(status(p, "iris").getPhase()).isEqualTo("Pending");
        var md = client.resources(io.clops.k8s.crd.ModelDeployment.class).inNamespace(p).withName("iris").get();
        assertThat(md.getSpec().model).isEqualTo("iris@champion");
        assertThat(d.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("ModelDeployment");
            assertThat(o.getUid()).isEqualTo(md.getMetadata().getUid());
        });
        assertThat(client.services().inNamespace(p).withName("iris").get().getMetadata().getOwnerReferences()).hasSize(1);
        writes();

        // the same desired state again: nothing written
        runtime.apply(statusless(p));
        assertThat(writes()).isEmpty();

        // scale: only the HPA changes
        DeploymentSpec scaled = spec("iris@champion");
        scaled.getReplicas().setMax(4);
        events.command(deploy("c2", p, "iris", scaled));
        awaitGeneration(p, "iris", 2);
        assertThat(writes()).containsExactlyInAnyOrder("PUT /apis/clops.io/v1/namespaces/k8s-a/modeldeployments/iris",
                "PUT /apis/autoscaling/v2/namespaces/k8s-a/horizontalpodautoscalers/iris");

        // a new version through the alias: only the Deployment changes
        events.registry(alias("r4", p, "iris", "champion", 2));
        awaitGeneration(p, "iris", 3);
        assertThat(writes()).containsExactly("PUT /apis/apps/v1/namespaces/k8s-a/deployments/iris");
        assertThat(deployment(p, "iris").getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("registry.example/iris:2");

        // a traffic split: one workload per version, Istio routes, the single workload and its HPA go
        DeploymentSpec split = spec("iris@champion");
        split.getReplicas().setMax(4);
        split.setTraffic(List.of(TrafficSplit.newBuilder().setModel("iris:1").setWeight(90).build(),
                TrafficSplit.newBuilder().setModel("iris:2").setWeight(10).build()));
        events.command(deploy("c3", p, "iris", split));
        awaitGeneration(p, "iris", 4);
        assertThat(writes()).containsExactlyInAnyOrder(
                "POST /apis/apps/v1/namespaces/k8s-a/deployments",
                "POST /apis/autoscaling/v2/namespaces/k8s-a/horizontalpodautoscalers",
                "POST /apis/apps/v1/namespaces/k8s-a/deployments",
                "POST /apis/autoscaling/v2/namespaces/k8s-a/horizontalpodautoscalers",
                "POST /api/v1/namespaces/k8s-a/services", // each version's model, for the other versions' executors
                "POST /api/v1/namespaces/k8s-a/services",
                "POST /apis/networking.istio.io/v1/namespaces/k8s-a/destinationrules",
                "POST /apis/networking.istio.io/v1/namespaces/k8s-a/virtualservices",
                "DELETE /apis/apps/v1/namespaces/k8s-a/deployments/iris",
                "DELETE /apis/autoscaling/v2/namespaces/k8s-a/horizontalpodautoscalers/iris",
                "PUT /apis/clops.io/v1/namespaces/k8s-a/modeldeployments/iris");
        assertThat(client.apps().deployments().inNamespace(p).list().getItems()).extracting(x -> x.getMetadata().getName())
                .containsExactlyInAnyOrder("iris-iris-v1", "iris-iris-v2");

        // undeploy: everything of the deployment is gone, the project stays
        events.command(undeploy("c4", p, "iris"));
        await("all objects deleted", () -> client.apps().deployments().inNamespace(p).list().getItems().isEmpty()
                && client.services().inNamespace(p).list().getItems().isEmpty()
                && client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(p).list().getItems().isEmpty()
                && client.genericKubernetesResources(io.clops.k8s.runtime.Applier.context("networking.istio.io/v1", "VirtualService")).inNamespace(p).list().getItems().isEmpty());
        await("status removed", () -> status(p, "iris") == null);
        await("the ModelDeployment deleted", () -> client.resources(io.clops.k8s.crd.ModelDeployment.class).inNamespace(p).withName("iris").get() == null);
        assertThat(client.namespaces().withName(p).get()).isNotNull();
    }

    /** The desired deployment as the topology last wrote it. */
    static io.clops.avro.DesiredDeployment statusless(String project) throws Exception {
        try (var view = new CompactedView<>(bootstrap, Topics.DESIRED).start()) {
            view.awaitCaughtUp(Duration.ofSeconds(10));
            return view.get(Topics.deploymentKey(project, "iris")).orElseThrow();
        }
    }

    @Test
    void driftIsRepairedAndPodFailuresAndReadinessShowInStatus() throws Exception {
        String p = "k8s-b";
        events.project(p);
        events.registry(registered("r1", p, image(1)));
        events.command(deploy("c1", p, "iris", spec("iris")));
        awaitGeneration(p, "iris", 1);

        // deleted behind our back: restored
        client.apps().deployments().inNamespace(p).withName("iris").delete();
        await("Deployment restored", () -> deployment(p, "iris") != null);
        // edited behind our back: the managed field comes back, a foreign label stays
        client.apps().deployments().inNamespace(p).withName("iris").edit(dep -> {
            dep.getSpec().getTemplate().getSpec().getContainers().get(0).setImage("evil/image:latest");
            dep.getMetadata().getLabels().put("team", "red");
            return dep;
        });
        await("image restored", () -> deployment(p, "iris").getSpec().getTemplate().getSpec().getContainers().get(0)
                .getImage().equals("registry.example/iris:1"));
        assertThat(deployment(p, "iris").getMetadata().getLabels()).containsEntry("team", "red");

        // a pod that cannot pull its image
        Map<String, String> labels = Map.of("app.kubernetes.io/managed-by", "clops", "clops.io/project", p, "clops.io/deployment", "iris");
        client.pods().inNamespace(p).resource(new PodBuilder().withNewMetadata().withName("iris-abc").withNamespace(p).withLabels(labels).endMetadata()
                .withNewStatus().withPhase("Pending").addNewContainerStatus().withName("model").withReady(false)
                .withNewState().withNewWaiting().withReason("ImagePullBackOff").withMessage("Back-off pulling image").endWaiting().endState()
                .endContainerStatus().endStatus().build()).create();
        await("Failed with the pod's reason", () -> {
            DeploymentStatus s = status(p, "iris");
            return s != null && "Failed".equals(s.getPhase()) && s.getReason().contains("model ImagePullBackOff");
        });
        client.pods().inNamespace(p).withName("iris-abc").delete();
        client.pods().inNamespace(p).resource(new PodBuilder().withNewMetadata().withName("iris-oom").withNamespace(p).withLabels(labels).endMetadata()
                .withNewStatus().withPhase("Running").addNewContainerStatus().withName("model").withReady(false)
                .withNewState().withNewWaiting().withReason("CrashLoopBackOff").endWaiting().endState()
                .withNewLastState().withNewTerminated().withReason("OOMKilled").withExitCode(137).endTerminated().endLastState()
                .endContainerStatus().endStatus().build()).create();
        await("CrashLoopBackOff after OOMKilled", () -> status(p, "iris").getReason() != null
                && status(p, "iris").getReason().contains("CrashLoopBackOff (last exit: OOMKilled)"));
        client.pods().inNamespace(p).withName("iris-oom").delete();

        // the cluster reports an available replica: Ready, and that status write is no drift
        writes();
        client.apps().deployments().inNamespace(p).withName("iris").edit(dep -> {
            dep.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1).build());
            return dep;
        });
        await("Ready", () -> "Ready".equals(status(p, "iris").getPhase()));
        assertThat(status(p, "iris").getReadyReplicas()).isEqualTo(1);
        assertThat(writes()).as("only the test's own status edit").hasSize(1);
    }
}
