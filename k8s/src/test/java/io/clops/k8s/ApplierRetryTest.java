package io.clops.k8s;

import io.clops.k8s.runtime.Applier;
import io.clops.k8s.runtime.Outcome;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The mock API server in expectations mode, to answer with the errors a busy cluster gives. */
@EnableKubernetesMockClient(https = false)
class ApplierRetryTest {
    KubernetesClient client;
    KubernetesMockServer server;

    static ConfigMap cm(String value) {
        return new ConfigMapBuilder().withNewMetadata().withName("c").withNamespace("ns").withResourceVersion("7").endMetadata()
                .withData(Map.of("k", value)).build();
    }

    @Test
    void aConflictIsReadAgainAndRetriedUntilTheWriteLands() {
        String path = "/api/v1/namespaces/ns/configmaps/c";
        server.expect().get().withPath(path).andReturn(200, cm("old")).times(2);
        server.expect().put().withPath(path).andReturn(409, "conflict").once();
        server.expect().put().withPath(path).andReturn(200, cm("new")).once();

        assertThat(new Applier(client).apply(cm("new")).outcome()).isEqualTo(Outcome.PATCHED);
        assertThat(server.getRequestCount()).isEqualTo(4);
    }

    @Test
    void anyOtherRefusalIsNotRetriedHereButNamedForTheWorker() {
        server.expect().get().withPath("/api/v1/namespaces/ns/configmaps/c").andReturn(403, "forbidden").always();
        assertThatThrownBy(() -> new Applier(client).apply(cm("new"))).isInstanceOf(io.clops.runtime.ApplyFailed.class)
                .hasMessageStartingWith("the API server answered 403 Forbidden for ConfigMap ns/c")
                .hasCauseInstanceOf(KubernetesClientException.class);
        assertThat(server.getRequestCount()).as("the worker retries with its back-off, not this thread").isEqualTo(1);
    }
}
