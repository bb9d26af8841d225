package io.clops.k8s;

import io.clops.avro.DeploymentStatus;
import io.clops.avro.ModelVersion;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.Applied;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/** Two Kubernetes workers in one consumer group against one (mock) API server: they never apply the same object. */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class TwoWorkersIT {
    static KubernetesClient client;
    static KubernetesMockServer server;

    record Member(ObservationWriter status, KubernetesRuntime runtime, ReconcileWorker worker) implements AutoCloseable {
        Set<String> keys() {
            return runtime.history().stream().filter(a -> a.kind().equals("Deployment")).map(a -> a.namespace() + "/" + a.name())
                    .collect(Collectors.toSet());
        }

        @Override
        public void close() {
            worker.close();
            runtime.close();
            status.close();
        }
    }

    static Member member(String bootstrap, String id) throws Exception {
        ObservationWriter s = new ObservationWriter(bootstrap, id);
        KubernetesRuntime r = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:test", "kafka:9092"), s, Clock.systemUTC());
        return new Member(s, r, new ReconcileWorker(bootstrap, r, s, "clops-k8s-workers", ReconcileWorker.Settings.defaults()).start());
    }

    static void await(String what, BooleanSupplier ok) {
        Await.until(what, ok);
    }

    /** Project names spread over all three partitions, two per partition. */
    static List<String> projects() {
        List<String> out = new ArrayList<>();
        int[] per = new int[3];
        for (int i = 0; out.size() < 6; i++) {
            String p = "two-" + i;
            int part = Topics.partitionFor(p, 3);
            if (per[part] < 2) {
                per[part]++;
                out.add(p);
            }
        }
        return out;
    }

    @Test
    void eachObjectIsAppliedByOneWorkerAndAStoppedWorkersProjectsMoveToTheOther() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        try (Reconciler reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("two-streams"), Duration.ofSeconds(60));
             GatewayEvents events = new GatewayEvents(bootstrap);
             CompactedView<DeploymentStatus> statuses = new CompactedView<>(bootstrap, Topics.STATUS).start();
             Member b = member(bootstrap, "worker-b")) {
            Member a = member(bootstrap, "worker-a");
            await("both members own partitions", () -> !a.worker().ownedPartitions().isEmpty() && !b.worker().ownedPartitions().isEmpty()
                    && a.worker().ownedPartitions().size() + b.worker().ownedPartitions().size() == 3);
            ApiRequests.untilNow(server, client); // forget what came before
            List<String> projects = projects();
            for (String p : projects) {
                ModelVersion v = version("m", 1, List.of());
                v.setImage("registry.example/m:1");
                events.project(p);
                events.registry(registered("r-" + p, p, v));
                events.command(deploy("c-" + p, p, "m", spec("m")));
            }
            await("all deployments applied", () -> projects.stream().allMatch(p -> statuses.get(Topics.deploymentKey(p, "m"))
                    .map(s -> s.getObservedGeneration() == 1).orElse(false)));

            Map<String, Integer> creates = new java.util.HashMap<>();
            for (RecordedRequest r : ApiRequests.untilNow(server, client)) { // everything up to the statuses observed
                if (r.getMethod().equals("POST")) {
                    creates.merge(r.getPath().replaceAll("\\?.*", ""), 1, Integer::sum);
                }
            }
            for (String p : projects) {
                assertThat(creates.get("/apis/apps/v1/namespaces/" + p + "/deployments")).as("Deployment created once in " + p).isEqualTo(1);
                assertThat(creates.get("/api/v1/namespaces/" + p + "/services")).as("Service created once in " + p).isEqualTo(1);
            }
            assertThat(creates.get("/api/v1/namespaces")).as("each namespace created once").isEqualTo(projects.size());
            Set<String> byA = a.keys();
            Set<String> byB = b.keys();
            assertThat(byA).isNotEmpty().doesNotContainAnyElementsOf(byB);
            assertThat(byB).isNotEmpty();
            Set<String> all = new HashSet<>(byA);
            all.addAll(byB);
            assertThat(all).hasSize(projects.size());

            // worker a stops: b takes its partitions and serves a change in one of a's projects
            String moved = byA.iterator().next().split("/")[0];
            a.close();
            await("b owns every partition", () -> b.worker().ownedPartitions().size() == 3);
            var scaled = spec("m");
            scaled.getReplicas().setMin(2);
            scaled.getReplicas().setMax(2);
            events.command(deploy("c2-" + moved, moved, "m", scaled));
            await("b applied the change in " + moved, () -> statuses.get(Topics.deploymentKey(moved, "m"))
                    .map(s -> s.getObservedGeneration() == 2).orElse(false));
            assertThat(client.apps().deployments().inNamespace(moved).withName("m").get().getSpec().getReplicas()).isEqualTo(2);
            assertThat(b.runtime().history()).anyMatch(x -> x.namespace() != null && x.namespace().equals(moved) && x.wrote());
        }
    }
}
