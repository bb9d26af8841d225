package io.clops.k8s;

import io.clops.avro.Autoscale;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.model.K8sModel;
import io.clops.k8s.model.PlatformSettings;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.clops.testing.Fixtures.spec;
import static org.assertj.core.api.Assertions.assertThat;

/** The install manifests parse, carry the generated CRD, and grant the worker what its code does: no less. */
class ManifestsTest {
    static final Path DIR = Path.of("manifests");
    static final KubernetesSerialization YAML = new KubernetesSerialization();

    static List<HasMetadata> all() throws Exception {
        List<HasMetadata> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.sorted().toList()) {
                for (String doc : Files.readString(f).split("(?m)^---\\s*$")) {
                    if (doc.lines().anyMatch(l -> l.startsWith("kind:"))) {
                        out.add(YAML.unmarshal(doc, HasMetadata.class));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void theCrdManifestIsTheOneGeneratedFromTheJavaClasses() throws Exception {
        try (InputStream generated = getClass().getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")) {
            assertThat(Files.readString(DIR.resolve("01-crd-modeldeployments.yaml")))
                    .as("k8s/manifests/01-crd-modeldeployments.yaml is stale: copy target/classes/META-INF/fabric8/modeldeployments.clops.io-v1.yml")
                    .isEqualTo(new String(generated.readAllBytes()));
        }
    }

    @Test
    void theWorkerMayWriteEveryKindTheModelProducesAndNothingCanEscalate() throws Exception {
        ClusterRole worker = all().stream().filter(o -> o instanceof ClusterRole && o.getMetadata().getName().equals("clops-worker"))
                .map(o -> (ClusterRole) o).findFirst().orElseThrow();
        DeploymentSpec s = spec("iris");
        s.getReplicas().setMin(2);
        s.getReplicas().setMax(4);
        s.setAutoscale(Autoscale.newBuilder().setMetric("cpu").setTarget(70).build());
        var v1 = io.clops.testing.Fixtures.version("iris", 1, List.of());
        var v2 = io.clops.testing.Fixtures.version("iris", 2, List.of());
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject("p").setName("n").setGeneration(1).setSpec(s)
                .setRoutes(List.of(ResolvedRoute.newBuilder().setRef("iris:1").setVersion(v1).setWeight(50).build(),
                        ResolvedRoute.newBuilder().setRef("iris:2").setVersion(v2).setWeight(50).build()))
                .setShadow(null).setCommandId("c").setActor("a").setTimeMs(1).build();
        PlatformSettings settings = PlatformSettings.defaults("x", "k").withKafkaClient(Map.of("security.protocol", "SASL_SSL"));
        List<HasMetadata> produced = new ArrayList<>(K8sModel.deployment(d, settings, null));
        produced.addAll(K8sModel.project("p", settings));
        for (HasMetadata o : produced) {
            String group = o.getApiVersion().contains("/") ? o.getApiVersion().substring(0, o.getApiVersion().indexOf('/')) : "";
            String plural = o.getKind().toLowerCase().endsWith("y") ? o.getKind().toLowerCase().replaceAll("y$", "ies") : o.getKind().toLowerCase() + "s";
            // Secrets: only ours, by name (create cannot be limited by name, and lets nothing be read)
            boolean secret = o instanceof io.fabric8.kubernetes.api.model.Secret;
            for (String verb : secret ? List.of("get", "update") : List.of("get", "list", "create", "update", "delete")) {
                assertThat(allows(worker, group, plural, verb, secret ? o.getMetadata().getName() : null)).as("clops-worker may %s %s.%s", verb, plural, group).isTrue();
            }
            if (secret) {
                assertThat(allows(worker, group, plural, "create", null)).as("clops-worker may create secrets").isTrue();
                for (String verb : List.of("get", "list", "watch", "update", "delete")) {
                    assertThat(allows(worker, group, plural, verb, null)).as("clops-worker may %s every secret", verb).isFalse();
                }
            }
        }
        assertThat(allows(worker, "clops.io", "modeldeployments/status", "update", null)).isTrue();
        assertThat(worker.getRules()).noneMatch(r -> r.getResources().contains("*") || r.getVerbs().contains("*")
                || r.getVerbs().contains("escalate") || (r.getResources().contains("clusterroles") && r.getResourceNames().isEmpty()));
    }

    /** Whether {@code role} lets {@code verb} on the object {@code name} (null: on any object of the resource). */
    static boolean allows(ClusterRole role, String group, String resource, String verb, String name) {
        for (PolicyRule r : role.getRules()) {
            if (r.getApiGroups().contains(group) && r.getResources().contains(resource) && r.getVerbs().contains(verb)
                    && (r.getResourceNames() == null || r.getResourceNames().isEmpty() || name != null && r.getResourceNames().contains(name))) {
                return true;
            }
        }
        return false;
    }

    /** The metric each autoscale.metric makes the HPA ask for has a rule in the metrics adapter's configuration. */
    @Test
    void everyAutoscaleMetricTheHpaNamesHasAMetricsAdapterRule() throws Exception {
        io.fabric8.kubernetes.api.model.ConfigMap adapter = all().stream()
                .filter(o -> o instanceof io.fabric8.kubernetes.api.model.ConfigMap && o.getMetadata().getName().equals("clops-metrics-adapter"))
                .map(o -> (io.fabric8.kubernetes.api.model.ConfigMap) o).findFirst().orElseThrow();
        @SuppressWarnings("unchecked")
        Map<String, Object> config = YAML.unmarshal(adapter.getData().get("config.yaml"), Map.class);
        java.util.Set<String> pods = new java.util.HashSet<>();
        java.util.Set<String> external = new java.util.HashSet<>();
        for (String list : List.of("rules", "externalRules")) {
            @SuppressWarnings("unchecked") List<Map<String, Object>> rules = (List<Map<String, Object>>) config.get(list);
            for (Map<String, Object> r : rules) {
                @SuppressWarnings("unchecked") Map<String, Object> name = (Map<String, Object>) r.get("name");
                (list.equals("rules") ? pods : external).add((String) name.get("as"));
            }
        }
        for (String metric : List.of("rps", "inflight", "lag")) {
            DeploymentSpec s = spec("iris");
            s.getReplicas().setMax(4);
            s.setAutoscale(Autoscale.newBuilder().setMetric(metric).setTarget(10).build());
            var v = io.clops.testing.Fixtures.version("iris", 1, List.of());
            DesiredDeployment d = DesiredDeployment.newBuilder().setProject("p").setName("n").setGeneration(1).setSpec(s)
                    .setRoutes(List.of(ResolvedRoute.newBuilder().setRef("iris:1").setVersion(v).setWeight(100).build()))
                    .setShadow(null).setCommandId("c").setActor("a").setTimeMs(1).build();
            var hpa = K8sModel.deployment(d, PlatformSettings.defaults("x", "k"), null).stream()
                    .filter(o -> o instanceof io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler)
                    .map(o -> (io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler) o).findFirst().orElseThrow();
            var m = hpa.getSpec().getMetrics().get(0);
            if (m.getPods() != null) {
                assertThat(pods).as("a Pods rule for autoscale.metric %s", metric).contains(m.getPods().getMetric().getName());
            } else {
                assertThat(external).as("an External rule for autoscale.metric %s", metric).contains(m.getExternal().getMetric().getName());
            }
        }
        assertThat(pods).containsExactlyInAnyOrder("clops_executor_requests_per_second", "clops_executor_in_flight");
        assertThat(external).containsExactly("clops_executor_async_lag");
    }

    @Test
    void kubeApiserversWebhooksReachTheApisHttpsPortAndTheServicesShareOneKey() throws Exception {
        List<HasMetadata> objects = all();
        var webhook = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration)
                .map(o -> (io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration) o).findFirst().orElseThrow()
                .getWebhooks().get(0);
        assertThat(webhook.getRules().get(0).getResources()).containsExactly("modeldeployments");
        assertThat(webhook.getRules().get(0).getOperations()).containsExactly("CREATE", "UPDATE");
        var target = webhook.getClientConfig().getService();
        assertThat(target.getPath()).isEqualTo("/api/v1/admission/actor");
        var service = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.Service && o.getMetadata().getName().equals(target.getName()))
                .map(o -> (io.fabric8.kubernetes.api.model.Service) o).findFirst().orElseThrow();
        String portName = service.getSpec().getPorts().stream().filter(p -> p.getPort().equals(target.getPort())).findFirst().orElseThrow()
                .getTargetPort().getStrVal();
        var api = deployment(objects, "clops-api").getSpec().getTemplate().getSpec();
        var container = api.getContainers().get(0);
        int containerPort = container.getPorts().stream().filter(p -> p.getName().equals(portName)).findFirst().orElseThrow().getContainerPort();
        assertThat(container.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("MICRONAUT_SERVER_SSL_PORT");
            assertThat(e.getValue()).isEqualTo(Integer.toString(containerPort));
        });
        assertThat(container.getArgs()).as("the API requires tokens").doesNotContain("--no-auth");
        String authSecret = api.getVolumes().stream().filter(v -> v.getName().equals("auth")).findFirst().orElseThrow().getSecret().getSecretName();
        var worker = deployment(objects, "clops-worker").getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(worker.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("CLOPS_AUTH_PUBLIC_KEY");
            assertThat(e.getValueFrom().getSecretKeyRef().getName()).as("the executors check tokens with the API's key").isEqualTo(authSecret);
        });
        String kubeconfig = Files.readString(Path.of("kube-apiserver/token-webhook.kubeconfig"));
        assertThat(kubeconfig).contains("server: https://").contains("/api/v1/tokenreviews").contains("--authentication-token-webhook-cache-ttl=5s");
    }

    @Test
    void theApiMayReviewPodTokensAndNothingElseAndIsToldTo() throws Exception {
        List<HasMetadata> objects = all();
        ClusterRole api = objects.stream().filter(o -> o instanceof ClusterRole && o.getMetadata().getName().equals("clops-api"))
                .map(o -> (ClusterRole) o).findFirst().orElseThrow();
        assertThat(allows(api, "authentication.k8s.io", "tokenreviews", "create", null)).isTrue();
        assertThat(api.getRules()).as("nothing else").hasSize(1);
        assertThat(api.getRules().get(0).getVerbs()).containsExactly("create");
        var binding = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding && o.getMetadata().getName().equals("clops-api"))
                .map(o -> (io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding) o).findFirst().orElseThrow();
        assertThat(binding.getRoleRef().getName()).isEqualTo("clops-api");
        String sa = deployment(objects, "clops-api").getSpec().getTemplate().getSpec().getServiceAccountName();
        assertThat(binding.getSubjects()).anySatisfy(s -> assertThat(s.getName()).isEqualTo(sa));
        var account = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.ServiceAccount && o.getMetadata().getName().equals(sa))
                .map(o -> (io.fabric8.kubernetes.api.model.ServiceAccount) o).findFirst().orElseThrow();
        assertThat(account.getAutomountServiceAccountToken()).as("its own token authorises its reviews").isNotEqualTo(Boolean.FALSE);
        var config = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.ConfigMap && o.getMetadata().getName().equals("clops"))
                .map(o -> (io.fabric8.kubernetes.api.model.ConfigMap) o).findFirst().orElseThrow();
        assertThat(config.getData()).containsEntry("CLOPS_KUBERNETES_POD_TOKENS", "true");
    }

    @Test
    void everyApiReplicaServesTheSameModelFilesAndPodsFetchThemFromTheApisService() throws Exception {
        List<HasMetadata> objects = all();
        var api = deployment(objects, "clops-api").getSpec().getTemplate().getSpec();
        var container = api.getContainers().get(0);
        String home = container.getArgs().get(container.getArgs().indexOf("--home") + 1);
        var mount = container.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(home + "/artifacts")).findFirst()
                .orElseThrow(() -> new AssertionError("the store (" + home + "/artifacts) is not a volume: each replica would keep its own files"));
        String claim = api.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow()
                .getPersistentVolumeClaim().getClaimName();
        var pvc = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.PersistentVolumeClaim && o.getMetadata().getName().equals(claim))
                .map(o -> (io.fabric8.kubernetes.api.model.PersistentVolumeClaim) o).findFirst().orElseThrow();
        assertThat(pvc.getSpec().getAccessModes()).as("shared by %s replicas", deployment(objects, "clops-api").getSpec().getReplicas())
                .contains("ReadWriteMany");
        // the worker's pods fetch model files from the API's Service, as the default store URL names it
        String storeUrl = PlatformSettings.ModelFiles.defaults("x").storeUrl();
        var service = objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.Service && o.getMetadata().getName().equals("clops-api"))
                .findFirst().orElseThrow();
        assertThat(storeUrl).isEqualTo("http://" + service.getMetadata().getName() + "." + service.getMetadata().getNamespace() + ".svc.cluster.local");
        assertThat(((io.fabric8.kubernetes.api.model.Service) service).getSpec().getPorts()).anySatisfy(p -> assertThat(p.getPort()).isEqualTo(80));
    }

    static io.fabric8.kubernetes.api.model.apps.Deployment deployment(List<HasMetadata> objects, String name) {
        return objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.apps.Deployment && o.getMetadata().getName().equals(name))
                .map(o -> (io.fabric8.kubernetes.api.model.apps.Deployment) o).findFirst().orElseThrow();
    }
}
