package io.clops.k8s;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.Applied;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.k8s.runtime.Outcome;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.util.List;
import java.util.Map;

import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/** A worker that starts again (nothing cached) finds what an earlier run left behind, by label, and removes it. */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class RestartIT {
    static KubernetesClient client;

    @Test
    void aRestartedWorkerChangesNothingThatMatchesAndDeletesLeftovers() {
        client.apiextensions().v1().customResourceDefinitions()
                .load(RestartIT.class.getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")).create();
        var v = version("iris", 1, List.of());
        v.setImage("registry.example/iris:1");
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject("restart").setName("iris").setGeneration(1)
                .setSpec(spec("iris")).setRoutes(List.of(ResolvedRoute.newBuilder().setRef("iris").setVersion(v).setWeight(100).build()))
                .setShadow(null).setCommandId("c").setActor("a").setTimeMs(1).build();
        PlatformSettings settings = PlatformSettings.defaults("clops/executor:test", "kafka:9092")
                .withKafkaClient(Map.of("security.protocol", "SASL_SSL"));
        try (ObservationWriter status = new ObservationWriter(KafkaExtension.bootstrapServers(), "restart");
             KubernetesRuntime first = new KubernetesRuntime(client, settings, status, Clock.systemUTC());
             KubernetesRuntime second = new KubernetesRuntime(client, settings, status, Clock.systemUTC())) {
            first.apply(d);
            // something of this deployment that the desired state does not name (say, from an older generation)
            client.services().inNamespace("restart").resource(new ServiceBuilder().withNewMetadata().withName("iris-old")
                    .withNamespace("restart").withLabels(Map.of("app.kubernetes.io/managed-by", "clops", "clops.io/deployment", "iris"))
                    .endMetadata().withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();

            second.apply(d);
            List<Applied> outcomes = second.history();
            assertThat(outcomes).filteredOn(a -> !a.kind().equals("Namespace") && !a.kind().equals("ResourceQuota") && !a.kind().equals("RoleBinding"))
                    .extracting(Applied::outcome).containsOnly(Outcome.UNCHANGED, Outcome.DELETED);
            assertThat(outcomes).filteredOn(a -> a.outcome() == Outcome.DELETED).extracting(Applied::name).containsExactly("iris-old");
            assertThat(client.services().inNamespace("restart").withName("iris-old").get()).isNull();
            assertThat(client.services().inNamespace("restart").withName("iris").get()).isNotNull();
            // the executors' Kafka settings: written once, then found as they are (kept as the API server keeps them)
            assertThat(outcomes).filteredOn(a -> a.kind().equals("Secret")).extracting(Applied::outcome).containsExactly(Outcome.UNCHANGED);
            assertThat(client.secrets().inNamespace("restart").withName("clops-kafka-client").get().getData())
                    .containsKey("CLOPS_KAFKA_CLIENT_SECURITY_PROTOCOL");
        }
    }
}
