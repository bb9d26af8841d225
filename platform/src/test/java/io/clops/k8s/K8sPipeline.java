package io.clops.k8s;

import io.clops.avro.DeploymentStatus;
import io.clops.k8s.crd.CrdBridge;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.ObservationWriter;
import io.fabric8.kubernetes.client.KubernetesClient;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;

/** The whole path the ITs drive: the topology, one Kubernetes worker (and, if asked, the CRD bridge), a status view. */
final class K8sPipeline implements AutoCloseable {
    final Reconciler reconciler;
    final ObservationWriter statusWriter;
    final KubernetesRuntime runtime;
    final ReconcileWorker worker;
    final CrdBridge bridge;
    final CompactedView<DeploymentStatus> statuses;
    final GatewayEvents events;

    K8sPipeline(String bootstrap, KubernetesClient client, boolean withBridge) throws Exception {
        client.apiextensions().v1().customResourceDefinitions()
                .load(K8sPipeline.class.getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")).create();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("k8s-streams"), Duration.ofSeconds(60));
        statusWriter = new ObservationWriter(bootstrap, "k8s-worker");
        runtime = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:test", "kafka:9092"), statusWriter, Clock.systemUTC());
        worker = new ReconcileWorker(bootstrap, runtime, statusWriter, null, ReconcileWorker.Settings.defaults().withRetry(Duration.ofMillis(500), Duration.ofSeconds(2))).start();
        events = new GatewayEvents(bootstrap);
        bridge = withBridge ? new CrdBridge(client, events.gateway, bootstrap) : null;
        statuses = new CompactedView<>(bootstrap, Topics.STATUS).start();
    }

    DeploymentStatus status(String project, String name) {
        return statuses.get(Topics.deploymentKey(project, name)).orElse(null);
    }

    @Override
    public void close() {
        statuses.close();
        if (bridge != null) {
            bridge.close();
        }
        events.close();
        worker.close();
        runtime.close();
        statusWriter.close();
        reconciler.close();
    }
}
