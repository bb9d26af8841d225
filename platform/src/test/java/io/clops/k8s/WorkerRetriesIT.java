package io.clops.k8s;

import io.clops.avro.DeploymentStatus;
import io.clops.avro.ModelVersion;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.Applied;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.k8s.runtime.Outcome;
import io.clops.runtime.ReconcileWorker;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker that retries and tells, against fabric8's mock API server (CRUD mode, standing in for a cluster) that
 * refuses to create Deployments with 403 until the test lets it: the refusal shows in the deployment's status with
 * the API server's reason, is retried with a growing back-off, and the deployment is applied and Ready once the
 * write is allowed; a worker started again with nothing changed writes nothing.
 */
@ExtendWith(KafkaExtension.class)
class WorkerRetriesIT {

    /** The CRUD mock, except that it answers 403 to creating a Deployment while {@code forbid} is set. */
    static final class Forbidding extends KubernetesCrudDispatcher {
        final AtomicBoolean forbid = new AtomicBoolean();
        final AtomicInteger refused = new AtomicInteger();

        @Override
        public MockResponse handleCreate(RecordedRequest request) {
            if (forbid.get() && request.getPath().matches("/apis/apps/v1/namespaces/[^/]+/deployments(\\?.*)?")) {
                refused.incrementAndGet();
                return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        + "\"message\":\"deployments.apps is forbidden: User \\\"system:serviceaccount:clops:clops-worker\\\" cannot create "
                        + "resource \\\"deployments\\\" in API group \\\"apps\\\"\",\"reason\":\"Forbidden\",\"code\":403}");
            }
            return super.handleCreate(request);
        }
    }

    @Test
    void aRefusedApplyShowsItsReasonIsRetriedWithBackOffAndSucceedsOnceAllowed() throws Exception {
        Forbidding dispatcher = new Forbidding();
        dispatcher.forbid.set(true);
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init();
        String bootstrap = KafkaExtension.bootstrapServers();
        String p = "retries";
        try (KubernetesClient client = server.createClient(); K8sPipeline pipeline = new K8sPipeline(bootstrap, client, false)) {
            ModelVersion v = version("iris", 1, List.of());
            v.setImage("registry.example/iris:1");
            pipeline.events.project(p);
            pipeline.events.registry(registered("r1", p, v));
            pipeline.events.command(deploy("c1", p, "iris", spec("iris")));

            Await.until("the 403 in the deployment's status within 10 s", Duration.ofSeconds(10), () -> {
                DeploymentStatus s = pipeline.status(p, "iris");
                return s != null && "Failed".equals(s.getPhase()) && s.getReason() != null
                        && s.getReason().startsWith("could not apply generation 1: the API server answered 403 Forbidden for Deployment retries/iris")
                        && s.getReason().contains("cannot create resource \"deployments\"");
            });
            // the K8sPipeline's worker waits 500 ms after a first failure, doubling up to 2 s
            Await.until("retried, each wait longer than the last", () -> {
                DeploymentStatus s = pipeline.status(p, "iris");
                return s.getReason() != null && s.getReason().endsWith("(attempt 3; next in 2 s)");
            });
            assertThat(dispatcher.refused.get()).as("one create per attempt").isGreaterThanOrEqualTo(3);

            dispatcher.forbid.set(false);
            Await.until("applied once allowed", () -> {
                DeploymentStatus s = pipeline.status(p, "iris");
                return s.getObservedGeneration() == 1 && !"Failed".equals(s.getPhase());
            });
            assertThat(client.apps().deployments().inNamespace(p).withName("iris").get()).isNotNull();
            client.apps().deployments().inNamespace(p).withName("iris").edit(d -> {
                d.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1)
                        .withAvailableReplicas(1).build());
                return d;
            });
            Await.until("Ready", () -> "Ready".equals(pipeline.status(p, "iris").getPhase()));

            // a worker started again, nothing changed: it reads and writes nothing
            Set<String> objects = new HashSet<>();
            pipeline.runtime.history().forEach(a -> objects.add(a.kind() + " " + a.namespace() + "/" + a.name()));
            pipeline.worker.close();
            pipeline.runtime.close();
            ApiRequests.untilNow(server, client);
            try (KubernetesRuntime again = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:test", "kafka:9092"),
                    pipeline.statusWriter, Clock.systemUTC());
                 ReconcileWorker worker = new ReconcileWorker(bootstrap, again, pipeline.statusWriter).start()) {
                Await.until("the restarted worker went over every object of the deployment", () -> {
                    Set<String> seen = new HashSet<>();
                    again.history().forEach(a -> seen.add(a.kind() + " " + a.namespace() + "/" + a.name()));
                    return seen.containsAll(objects);
                });
                assertThat(again.history()).extracting(Applied::outcome).containsOnly(Outcome.UNCHANGED);
                assertThat(ApiRequests.writesUntilNow(server, client)).as("writes by a restarted worker, nothing changed").isEmpty();
                assertThat(pipeline.status(p, "iris").getPhase()).isEqualTo("Ready");
            }
        } finally {
            server.destroy();
        }
    }
}
