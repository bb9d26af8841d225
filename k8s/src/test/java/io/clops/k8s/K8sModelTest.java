package io.clops.k8s;

import io.clops.avro.Autoscale;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.model.K8sModel;
import io.clops.k8s.model.PlatformSettings;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class K8sModelTest {
    static final PlatformSettings SETTINGS = PlatformSettings.defaults("clops/executor:0.1.0", "kafka:9092");

    static ModelVersion v(int n) {
        ModelVersion v = version("iris", n, List.of());
        v.setImage("registry.example/iris:" + n);
        return v;
    }

    static DesiredDeployment desired(DeploymentSpec spec, List<ResolvedRoute> routes, ResolvedRoute shadow) {
        return DesiredDeployment.newBuilder().setProject("demo").setName("iris").setGeneration(3).setSpec(spec)
                .setRoutes(routes).setShadow(shadow).setCommandId("c").setActor("alice").setTimeMs(1).build();
    }

    static ResolvedRoute route(int version, int weight) {
        return ResolvedRoute.newBuilder().setRef("iris:" + version).setVersion(v(version)).setWeight(weight).build();
    }

    @SuppressWarnings("unchecked")
    static <T> T one(List<HasMetadata> objs, Class<T> type) {
        List<HasMetadata> of = objs.stream().filter(type::isInstance).toList();
        assertThat(of).as(type.getSimpleName()).hasSize(1);
        return (T) of.get(0);
    }

    @Test
    void aSingleVersionIsADeploymentWithTheExecutorSidecarAndAService() {
        DeploymentSpec s = spec("iris@champion");
        List<HasMetadata> objs = K8sModel.deployment(desired(s, List.of(route(1, 100)), null), SETTINGS, null);
        assertThat(objs).extracting(HasMetadata::getKind).containsExactly("Deployment", "Service");

        Deployment d = one(objs, Deployment.class);
        assertThat(d.getMetadata().getNamespace()).isEqualTo("demo");
        assertThat(d.getMetadata().getName()).isEqualTo("iris");
        assertThat(d.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "clops").containsEntry("clops.io/deployment", "iris");
        assertThat(d.getSpec().getReplicas()).isEqualTo(1);
        var containers = d.getSpec().getTemplate().getSpec().getContainers();
        assertThat(containers).extracting("name").containsExactly("model", "executor");
        assertThat(containers.get(0).getImage()).isEqualTo("registry.example/iris:1");
        assertThat(containers.get(0).getResources().getRequests()).containsEntry("cpu", new Quantity("500m"));
        var exec = containers.get(1);
        assertThat(exec.getImage()).isEqualTo("clops/executor:0.1.0");
        assertThat(exec.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/v2/health/ready");
        assertThat(exec.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/v2/health/live");
        assertThat(exec.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("CLOPS_ROUTES");
            assertThat(e.getValue()).isEqualTo("iris-v1=http://127.0.0.1:8080=100");
        });
        assertThat(exec.getEnv()).as("the sidecar listens on the pod IP: the Service and the kubelet's probes come in there")
                .anySatisfy(e -> {
                    assertThat(e.getName()).isEqualTo("CLOPS_EXECUTOR_HOST");
                    assertThat(e.getValue()).isEqualTo("0.0.0.0");
                });
        assertThat(d.getSpec().getTemplate().getSpec().getNodeSelector()).isNullOrEmpty();

        Service svc = one(objs, Service.class);
        assertThat(svc.getSpec().getSelector()).containsEntry("clops.io/deployment", "iris").containsEntry("clops.io/serving", "true");
        assertThat(svc.getSpec().getPorts().get(0).getTargetPort().getStrVal()).isEqualTo("http");
    }

    @Test
    void scalingGpuAndAPodDisruptionBudget() {
        DeploymentSpec s = spec("iris@champion");
        s.getReplicas().setMin(2);
        s.getReplicas().setMax(5);
        s.setAutoscale(Autoscale.newBuilder().setMetric("rps").setTarget(50).build());
        s.getResources().setGpu(1);
        List<HasMetadata> objs = K8sModel.deployment(desired(s, List.of(route(1, 100)), null), SETTINGS, null);
        assertThat(objs).extracting(HasMetadata::getKind).containsExactly("Deployment", "HorizontalPodAutoscaler", "Service", "PodDisruptionBudget");
        Deployment d = one(objs, Deployment.class);
        assertThat(d.getSpec().getReplicas()).as("the HPA owns replicas").isNull();
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits())
                .containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(d.getSpec().getTemplate().getSpec().getNodeSelector()).containsEntry("nvidia.com/gpu.present", "true");
        assertThat(d.getSpec().getTemplate().getSpec().getTolerations()).extracting("key").containsExactly("nvidia.com/gpu");
        HorizontalPodAutoscaler hpa = one(objs, HorizontalPodAutoscaler.class);
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(2);
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(5);
        assertThat(hpa.getSpec().getMetrics().get(0).getPods().getMetric().getName()).isEqualTo("clops_executor_requests_per_second");
    }

    @Test
    void aTrafficSplitWithAShadowIsOneWorkloadPerVersionIstioRoutesAndShadowCopiesByTheExecutors() {
        DeploymentSpec s = spec("iris@champion");
        List<HasMetadata> objs = K8sModel.deployment(desired(s, List.of(route(1, 90), route(2, 10)), route(3, 0)), SETTINGS, null);
        assertThat(objs).filteredOn(o -> o instanceof Deployment).extracting(o -> o.getMetadata().getName())
                .containsExactly("iris-iris-v1", "iris-iris-v2", "iris-iris-v3");
        Deployment shadow = (Deployment) objs.stream().filter(o -> o.getMetadata().getName().equals("iris-iris-v3")).findFirst().orElseThrow();
        assertThat(shadow.getSpec().getTemplate().getMetadata().getLabels()).containsEntry("clops.io/serving", "false");
        GenericKubernetesResource vs = (GenericKubernetesResource) objs.stream().filter(o -> o.getKind().equals("VirtualService")).findFirst().orElseThrow();
        @SuppressWarnings("unchecked") Map<String, Object> spec = (Map<String, Object>) vs.getAdditionalProperties().get("spec");
        assertThat(spec.toString()).contains("weight=90").contains("weight=10").as("the executors copy to the shadow: no mirror")
                .doesNotContain("mirror");
        assertThat(objs).extracting(HasMetadata::getKind).contains("DestinationRule");
        Deployment v1 = (Deployment) objs.stream().filter(o -> o.getMetadata().getName().equals("iris-iris-v1")).findFirst().orElseThrow();
        assertThat(v1.getSpec().getTemplate().getSpec().getContainers().get(1).getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("CLOPS_SHADOW");
            assertThat(e.getValue()).isEqualTo("iris-v3=http://iris-iris-v3-model.demo.svc.cluster.local:8080=0");
        });
        assertThat(shadow.getSpec().getTemplate().getSpec().getContainers().get(1).getEnv()).noneSatisfy(e ->
                assertThat(e.getName()).isEqualTo("CLOPS_SHADOW"));
    }

    @Test
    void theSameInputAlwaysYieldsTheSameObjects() {
        DesiredDeployment d = desired(spec("iris@champion"), List.of(route(1, 90), route(2, 10)), null);
        assertThat(K8sModel.deployment(d, SETTINGS, null)).isEqualTo(K8sModel.deployment(d, SETTINGS, null));
    }

    @Test
    void aProjectIsANamespaceAQuotaAndRoleBindingsForItsGroups() {
        var demo = new PlatformSettings.ProjectSettings(new PlatformSettings.Quota("4", "16Gi", 1, 20), Map.of("admin", List.of("alice")));
        var settings = new PlatformSettings("x", "k", Map.of("demo", demo), SETTINGS.defaults(), Map.of());
        List<HasMetadata> objs = K8sModel.project("demo", settings);
        assertThat(objs).extracting(HasMetadata::getKind).containsExactly("Namespace", "ResourceQuota", "RoleBinding", "RoleBinding", "RoleBinding");
        ResourceQuota q = one(objs, ResourceQuota.class);
        assertThat(q.getSpec().getHard()).containsEntry("requests.nvidia.com/gpu", new Quantity("1")).containsEntry("requests.cpu", new Quantity("4"));
        List<RoleBinding> rbs = objs.stream().filter(o -> o instanceof RoleBinding).map(o -> (RoleBinding) o).toList();
        assertThat(rbs.get(2).getRoleRef().getName()).isEqualTo("clops-admin");
        assertThat(rbs.get(2).getSubjects()).extracting("name").containsExactly("clops:demo:admin", "alice");
        assertThat(rbs.get(0).getRoleRef().getName()).isEqualTo("clops-viewer");
        assertThat(rbs.get(0).getSubjects()).as("the platform's auditors read every project as its viewers do")
                .extracting("kind", "name").containsExactly(org.assertj.core.groups.Tuple.tuple("Group", "clops:demo:viewer"),
                        org.assertj.core.groups.Tuple.tuple("Group", "clops:auditors"));
    }

    /**
     * With Kafka client settings (a cluster with SASL), each project's namespace gets them as a Secret of
     * CLOPS_KAFKA_CLIENT_* keys, which every executor sidecar reads (optional: a platform without them has none).
     */
    @Test
    void kafkaClientSettingsReachTheExecutorsThroughASecretInTheProjectNamespace() {
        var withSasl = SETTINGS.withKafkaClient(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN"));
        io.fabric8.kubernetes.api.model.Secret secret = one(K8sModel.project("demo", withSasl), io.fabric8.kubernetes.api.model.Secret.class);
        assertThat(secret.getMetadata().getName()).isEqualTo("clops-kafka-client");
        assertThat(secret.getMetadata().getNamespace()).isEqualTo(io.clops.k8s.model.K8sNames.namespace("demo"));
        assertThat(secret.getData()).containsOnlyKeys("CLOPS_KAFKA_CLIENT_SECURITY_PROTOCOL", "CLOPS_KAFKA_CLIENT_SASL_MECHANISM");
        assertThat(new String(java.util.Base64.getDecoder().decode(secret.getData().get("CLOPS_KAFKA_CLIENT_SECURITY_PROTOCOL"))))
                .isEqualTo("SASL_SSL");
        assertThat(K8sModel.project("demo", SETTINGS)).noneMatch(o -> o instanceof io.fabric8.kubernetes.api.model.Secret);

        DesiredDeployment d = desired(spec("iris@champion"), List.of(route(1, 100)), null);
        Deployment dep = one(K8sModel.deployment(d, withSasl, null), Deployment.class);
        var executor = dep.getSpec().getTemplate().getSpec().getContainers().stream().filter(c -> c.getName().equals("executor")).findFirst().orElseThrow();
        assertThat(executor.getEnvFrom()).singleElement().satisfies(from -> {
            assertThat(from.getSecretRef().getName()).isEqualTo("clops-kafka-client");
            assertThat(from.getSecretRef().getOptional()).isTrue();
        });
    }

    @Test
    void everyServingExecutorKnowsEveryVersionWithItsWeightSoAsyncFollowsTheSplit() {
        DeploymentSpec s = spec("iris");
        s.setMode("both");
        List<HasMetadata> objs = K8sModel.deployment(desired(s, List.of(route(1, 90), route(2, 10)), null), SETTINGS, null);
        Map<String, Map<String, String>> envByWorkload = new java.util.TreeMap<>();
        for (HasMetadata o : objs) {
            if (o instanceof Deployment d) {
                Map<String, String> env = new java.util.TreeMap<>();
                d.getSpec().getTemplate().getSpec().getContainers().get(1).getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
                envByWorkload.put(d.getMetadata().getName(), env);
            }
        }
        assertThat(envByWorkload.keySet()).containsExactly("iris-iris-v1", "iris-iris-v2");
        assertThat(envByWorkload.get("iris-iris-v1")).containsEntry("CLOPS_ROUTES",
                "iris-v1=http://127.0.0.1:8080=90;iris-v2=http://iris-iris-v2-model.demo.svc.cluster.local:8080=10");
        assertThat(envByWorkload.get("iris-iris-v2")).containsEntry("CLOPS_ROUTES",
                "iris-v1=http://iris-iris-v1-model.demo.svc.cluster.local:8080=90;iris-v2=http://127.0.0.1:8080=10");
        envByWorkload.values().forEach(env -> assertThat(io.clops.runtime.ExecutorContract.fromEnv(env).mode()).isEqualTo("both"));
        assertThat(objs).filteredOn(o -> o instanceof Service).extracting(o -> o.getMetadata().getName())
                .containsExactlyInAnyOrder("iris", "iris-iris-v1-model", "iris-iris-v2-model");
        Service v2 = objs.stream().filter(o -> o.getMetadata().getName().equals("iris-iris-v2-model")).map(Service.class::cast).findFirst().orElseThrow();
        assertThat(v2.getSpec().getSelector()).containsEntry("clops.io/workload", "iris-iris-v2").containsEntry("clops.io/deployment", "iris");
        assertThat(v2.getSpec().getPorts().get(0).getTargetPort().getStrVal()).isEqualTo("model");
    }

    static final String SHA = "4da31d087c071eaf7b36d755b8dd013df71c732a17e516117502a591163fc430";

    static ModelVersion file(String uri) {
        ModelVersion v = version("iris", 1, List.of());
        v.setArtifact(io.clops.avro.Artifact.newBuilder().setUri(uri).setSha256(SHA).setSize(1234).setFormat("onnx").build());
        return v;
    }

    @Test
    void aModelFileIsFetchedByAnInitStepIntoTheNodesCacheKeyedByDigestAndServedByTheRuntimeImage() {
        ResolvedRoute r = ResolvedRoute.newBuilder().setRef("iris:1").setVersion(file("clops:artifacts/sha256/" + SHA)).setWeight(100).build();
        Deployment d = one(K8sModel.deployment(desired(spec("iris"), List.of(r), null), SETTINGS, null), Deployment.class);
        var pod = d.getSpec().getTemplate().getSpec();

        assertThat(pod.getInitContainers()).hasSize(1);
        var fetch = pod.getInitContainers().get(0);
        assertThat(fetch.getName()).isEqualTo("fetch-model");
        assertThat(fetch.getImage()).as("the platform's image carries the runtime").isEqualTo("clops/executor:0.1.0");
        assertThat(String.join(" ", fetch.getCommand()) + " " + String.join(" ", fetch.getArgs()))
                .endsWith("io.clops.modelserver.ModelCache --cache /var/cache/clops/models --uri http://clops-api.clops-system.svc.cluster.local/api/v1/projects/demo/artifacts/sha256/"
                        + SHA + " --sha256 " + SHA + " --token-file /var/run/clops/model-fetch/token --pod-token-file /var/run/clops/pod-token/token"
                        + " --max-bytes " + (20L << 30));
        assertThat(fetch.getTerminationMessagePolicy()).isEqualTo("FallbackToLogsOnError");

        var cache = pod.getVolumes().stream().filter(v -> v.getName().equals("model-cache")).findFirst().orElseThrow();
        assertThat(cache.getHostPath().getPath()).as("one directory per node").isEqualTo("/var/cache/clops/models");
        assertThat(cache.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
        var token = pod.getVolumes().stream().filter(v -> v.getName().equals("model-fetch-token")).findFirst().orElseThrow();
        assertThat(token.getSecret().getSecretName()).isEqualTo("clops-model-fetch");
        assertThat(token.getSecret().getOptional()).isTrue();
        var podToken = pod.getVolumes().stream().filter(v -> v.getName().equals("pod-token")).findFirst().orElseThrow()
                .getProjected().getSources().get(0).getServiceAccountToken();
        assertThat(podToken.getAudience()).as("a token for the platform's store only, which checks it with kube-apiserver").isEqualTo("clops");
        assertThat(podToken.getExpirationSeconds()).isEqualTo(3600L);
        assertThat(fetch.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/var/run/clops/pod-token"));

        var model = pod.getContainers().stream().filter(c -> c.getName().equals("model")).findFirst().orElseThrow();
        assertThat(model.getImage()).isEqualTo("clops/executor:0.1.0");
        assertThat(model.getArgs()).containsSubsequence("--file", "/var/cache/clops/models/sha256/" + SHA, "--sha256", SHA, "--format", "onnx",
                "--name", "iris", "--host", "0.0.0.0", "--port", "8080");
        assertThat(model.getArgs()).as("no batching unless the spec asks").doesNotContain("--max-batch");
        DeploymentSpec batched = spec("iris");
        batched.setBatching(io.clops.avro.Batching.newBuilder().setMaxBatchSize(32).setMaxDelayUs(1500).build());
        var batchedModel = one(K8sModel.deployment(desired(batched, List.of(r), null), SETTINGS, null), Deployment.class)
                .getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(batchedModel.getArgs()).containsSubsequence("--max-batch", "32", "--max-delay-us", "1500");
        assertThat(model.getVolumeMounts()).singleElement().satisfies(m -> {
            assertThat(m.getMountPath()).isEqualTo("/var/cache/clops/models");
            assertThat(m.getReadOnly()).as("the runtime only reads the cache").isTrue();
        });
    }

    @Test
    void aModelFileByHttpIsFetchedFromThereAndAPodOwnCacheWhenHostPathIsRefused() {
        PlatformSettings perPod = SETTINGS.withModelFiles(SETTINGS.modelFiles().fromEnvironment(Map.of("CLOPS_MODEL_CACHE_DIR", "",
                "CLOPS_MODEL_STORE_URL", "https://clops.example")));
        ResolvedRoute r = ResolvedRoute.newBuilder().setRef("iris:1").setVersion(file("https://models.example/iris.onnx")).setWeight(100).build();
        var pod = one(K8sModel.deployment(desired(spec("iris"), List.of(r), null), perPod, null), Deployment.class).getSpec().getTemplate().getSpec();
        assertThat(pod.getInitContainers().get(0).getArgs()).containsSubsequence("--uri", "https://models.example/iris.onnx");
        assertThat(pod.getInitContainers().get(0).getArgs()).as("a pod's own cache goes with it: no limit to keep")
                .containsSubsequence("--max-bytes", "0");
        assertThat(pod.getInitContainers().get(0).getArgs()).as("another host gets its own credential, never the platform's token")
                .containsSubsequence("--credentials-dir", "/var/run/clops/model-credentials").doesNotContain("--token-file");
        assertThat(pod.getVolumes()).extracting(v -> v.getSecret() == null ? null : v.getSecret().getSecretName())
                .contains("clops-model-credentials").doesNotContain("clops-model-fetch");
        assertThat(pod.getVolumes()).as("another host gets no token of the pod either").noneMatch(v -> v.getName().equals("pod-token"));
        assertThat(pod.getVolumes().stream().filter(v -> v.getSecret() != null).findFirst().orElseThrow().getSecret().getOptional()).isTrue();
        var cache = pod.getVolumes().stream().filter(v -> v.getName().equals("model-cache")).findFirst().orElseThrow();
        assertThat(cache.getHostPath()).isNull();
        assertThat(cache.getEmptyDir()).isNotNull();
    }

    @Test
    void theNodesCacheLimitComesFromTheEnvironmentAndANonNumberIsRefusedNamingIt() {
        PlatformSettings small = SETTINGS.withModelFiles(SETTINGS.modelFiles().fromEnvironment(Map.of("CLOPS_MODEL_CACHE_MAX_BYTES", "1073741824")));
        ResolvedRoute r = ResolvedRoute.newBuilder().setRef("iris:1").setVersion(file("https://models.example/iris.onnx")).setWeight(100).build();
        var pod = one(K8sModel.deployment(desired(spec("iris"), List.of(r), null), small, null), Deployment.class).getSpec().getTemplate().getSpec();
        assertThat(pod.getInitContainers().get(0).getArgs()).containsSubsequence("--max-bytes", "1073741824");
        for (String bad : new String[]{"20Gi", "-1", "lots"}) {
            assertThatThrownBy(() -> SETTINGS.modelFiles().fromEnvironment(Map.of("CLOPS_MODEL_CACHE_MAX_BYTES", bad)))
                    .as(bad).hasMessageContaining("CLOPS_MODEL_CACHE_MAX_BYTES");
        }
    }

    @Test
    void aVersionWithAnImageHasNoFetchStep() {
        var pod = one(K8sModel.deployment(desired(spec("iris"), List.of(route(1, 100)), null), SETTINGS, null), Deployment.class)
                .getSpec().getTemplate().getSpec();
        assertThat(pod.getInitContainers()).isEmpty();
        assertThat(pod.getVolumes()).isEmpty();
    }
}
