package io.clops.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The requests fabric8's mock API server received, counted against a known point rather than a quiet window: the
 * test sends a marker request of its own and takes every request up to it. What the runtime wrote before the test
 * observed a state (a generation applied, a status) is counted in that step, never in the next.
 */
final class ApiRequests {
    private ApiRequests() {
    }

    /** Every request received since the last call (or the start), up to a marker sent now. */
    static List<RecordedRequest> untilNow(KubernetesMockServer server, KubernetesClient client) throws InterruptedException {
        String marker = "clops-test-marker-" + UUID.randomUUID();
        client.configMaps().inNamespace("default").withName(marker).get(); // 404 in CRUD mode: a request, nothing else
        List<RecordedRequest> out = new ArrayList<>();
        while (true) {
            RecordedRequest r = server.takeRequest(30, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("the marker request " + marker + " never reached the mock server");
            }
            if (r.getPath().contains(marker)) {
                return out;
            }
            out.add(r);
        }
    }

    /**
     * The writes (not GET/LIST/WATCH) among them as "METHOD path", except status-subresource writes (the
     * ModelDeployment's status mirrors clops.status; checked apart).
     */
    static List<String> writesUntilNow(KubernetesMockServer server, KubernetesClient client) throws InterruptedException {
        List<String> out = new ArrayList<>();
        for (RecordedRequest r : untilNow(server, client)) {
            String path = r.getPath().replaceAll("\\?.*", "");
            if (!r.getMethod().equals("GET") && !path.endsWith("/status")) {
                out.add(r.getMethod() + " " + path);
            }
        }
        return out;
    }
}
