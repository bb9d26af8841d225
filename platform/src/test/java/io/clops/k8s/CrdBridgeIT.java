package io.clops.k8s;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.ModelVersion;
import io.clops.k8s.crd.CrdBridge;
import io.clops.k8s.crd.ModelDeployment;
import io.clops.k8s.crd.ModelDeploymentSpec;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/** kubectl apply of a ModelDeployment → the same pipeline as the CLI → objects, and status written back. */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class CrdBridgeIT {
    static KubernetesClient client;

    static String bootstrap;
    static K8sPipeline pipeline;
    static CompactedView<DeploymentStatus> statuses;
    static GatewayEvents events;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        pipeline = new K8sPipeline(bootstrap, client, true);
        statuses = pipeline.statuses;
        events = pipeline.events;
    }

    @AfterAll
    static void stop() {
        pipeline.close();
    }

    static void await(String what, BooleanSupplier ok) {
        Await.until(what, ok);
    }

    static ModelDeployment resource(String ns, String name, String model, String mode) {
        ModelDeployment md = new ModelDeployment();
        md.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
                .withAnnotations(Map.of(CrdBridge.ACTOR_ANNOTATION, "carol")).build());
        ModelDeploymentSpec spec = new ModelDeploymentSpec();
        spec.model = model;
        spec.mode = mode;
        md.setSpec(spec);
        return md;
    }

    static ModelDeployment get(String ns, String name) {
        return client.resources(ModelDeployment.class).inNamespace(ns).withName(name).get();
    }

    @Test
    void anAppliedResourceIsServedThroughThePipelineWithStatusWrittenBack() throws Exception {
        String ns = "crd-a";
        ModelVersion v = version("iris", 1, List.of());
        v.setImage("registry.example/iris:1");
        events.project(ns);
        events.registry(registered("r1", ns, v));

        client.resources(ModelDeployment.class).inNamespace(ns).resource(resource(ns, "iris", "iris:1", "sync")).create();
        await("deployed", () -> statuses.get(Topics.deploymentKey(ns, "iris")).map(s -> s.getObservedGeneration() == 1).orElse(false));
        var dep = client.apps().deployments().inNamespace(ns).withName("iris").get();
        assertThat(dep.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("registry.example/iris:1");
        assertThat(dep.getMetadata().getOwnerReferences().get(0).getUid()).isEqualTo(get(ns, "iris").getMetadata().getUid());

        List<CommandEnvelope> commands = TopicProbe.readAll(bootstrap, Topics.COMMANDS.name(),
                Topics.COMMANDS.keySerde().deserializer(), Topics.COMMANDS.valueSerde().deserializer()).stream()
                .map(r -> r.value()).filter(c -> c.getProject().equals(ns) && c.getPayload() instanceof io.clops.avro.DeployCommand).toList();
        assertThat(commands).as("the bridge's deploys (the project was created by the test)").hasSize(1);
        assertThat(commands.get(0).getActor()).isEqualTo("kubernetes:carol");

        client.apps().deployments().inNamespace(ns).withName("iris").edit(d -> {
            d.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1).build());
            return d;
        });
        await("Ready on the resource's status", () -> get(ns, "iris").getStatus() != null && "Ready".equals(get(ns, "iris").getStatus().phase));

        // kubectl delete → undeploy → objects gone
        client.resources(ModelDeployment.class).inNamespace(ns).withName("iris").delete();
        await("undeployed", () -> statuses.get(Topics.deploymentKey(ns, "iris")).isEmpty()
                && client.apps().deployments().inNamespace(ns).withName("iris").get() == null);
    }

    @Test
    void anInvalidOrRefusedResourceSaysWhyInItsStatusAndAnInvalidOneNeverReachesTheLog() throws Exception {
        String ns = "crd-b";
        events.project(ns);
        long before = TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name());
        client.resources(ModelDeployment.class).inNamespace(ns).resource(resource(ns, "bad", "iris:1", "sometimes")).create();
        await("refused as invalid", () -> get(ns, "bad").getStatus() != null && "Refused".equals(get(ns, "bad").getStatus().phase));
        assertThat(get(ns, "bad").getStatus().reason).contains("spec.mode");
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name())).isEqualTo(before);

        client.resources(ModelDeployment.class).inNamespace(ns).resource(resource(ns, "ghost", "ghost@prod", "sync")).create();
        await("refused by the fold", () -> get(ns, "ghost").getStatus() != null && "Refused".equals(get(ns, "ghost").getStatus().phase));
        assertThat(get(ns, "ghost").getStatus().reason).isEqualTo("spec.model: model 'ghost' is not registered in project 'crd-b'");
    }
}
