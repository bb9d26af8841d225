package io.clops.k8s.model;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.kafka.KafkaConfigs;
import io.clops.avro.ModelVersion;
import io.clops.avro.ResolvedRoute;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpecBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What should exist, without I/O: a desired deployment (and its project) → the Kubernetes objects it needs.
 * The same input always yields the same objects. The worker only applies them.
 */
public final class K8sModel {
    private K8sModel() {
    }

    public static final List<String> ROLES = List.of("viewer", "modeler", "admin");

    /**
     * Namespace, ResourceQuota and one RoleBinding per role for the project's groups and configured members; with
     * Kafka client settings, the Secret {@value K8sNames#KAFKA_CLIENT_SECRET} its executors read them from.
     */
    public static List<HasMetadata> project(String project, PlatformSettings platform) {
        return project(project, platform, null);
    }

    /**
     * The same, from the project as the log has it: its quota becomes the ResourceQuota (each limit it sets; what it
     * leaves unlimited is not limited) and its members the RoleBindings' users. {@code p} null: a project from
     * before projects were events, from the platform settings.
     */
    public static List<HasMetadata> project(String project, PlatformSettings platform, io.clops.avro.Project p) {
        return project(project, platform, p, platform.kafkaClient());
    }

    /**
     * The same, with {@code kafkaClient} as the Kafka client settings in the project's Secret: where each project's
     * executors have a principal of their own, its credentials over the platform's other settings (the runtime's
     * {@link io.clops.k8s.runtime.ExecutorPrincipals}); empty: no Secret.
     */
    public static List<HasMetadata> project(String project, PlatformSettings platform, io.clops.avro.Project p, Map<String, String> kafkaClient) {
        PlatformSettings.ProjectSettings settings = p == null ? platform.project(project) : fromLog(p);
        List<HasMetadata> out = new ArrayList<>();
        String ns = K8sNames.namespace(project);
        Namespace namespace = new NamespaceBuilder().withMetadata(new ObjectMetaBuilder().withName(ns)
                .withLabels(K8sNames.projectLabels(project)).build()).build();
        out.add(namespace);
        Map<String, Quantity> hard = new LinkedHashMap<>();
        if (p == null) {
            PlatformSettings.Quota q = settings.quota();
            hard.put("requests.cpu", new Quantity(q.cpu()));
            hard.put("requests.memory", new Quantity(q.memory()));
            hard.put("limits.cpu", new Quantity(q.cpu()));
            hard.put("limits.memory", new Quantity(q.memory()));
            hard.put("requests." + K8sNames.GPU_RESOURCE, new Quantity(Integer.toString(q.gpu())));
            hard.put("pods", new Quantity(Integer.toString(q.pods())));
        } else {
            hard.putAll(hard(p.getQuota()));
        }
        ResourceQuota quota = new ResourceQuotaBuilder().withMetadata(meta("clops-quota", ns, K8sNames.projectLabels(project), null))
                .withNewSpec().withHard(hard).endSpec().build();
        out.add(quota);
        for (String role : ROLES) {
            List<Subject> subjects = new ArrayList<>();
            subjects.add(new SubjectBuilder().withKind("Group").withApiGroup("rbac.authorization.k8s.io")
                    .withName(io.clops.api.KubeGroups.member(project, role)).build());
            if (role.equals("viewer")) { // the platform's auditors read every project as a viewer does
                subjects.add(new SubjectBuilder().withKind("Group").withApiGroup("rbac.authorization.k8s.io")
                        .withName(io.clops.api.KubeGroups.AUDITORS).build());
            }
            for (String user : settings.members().getOrDefault(role, List.of())) {
                subjects.add(new SubjectBuilder().withKind("User").withApiGroup("rbac.authorization.k8s.io").withName(user).build());
            }
            RoleBinding rb = new RoleBindingBuilder().withMetadata(meta(K8sNames.roleBinding(project, role), ns, K8sNames.projectLabels(project), null))
                    .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole")
                    .withName(K8sNames.clusterRole(role)).endRoleRef().withSubjects(subjects).build();
            out.add(rb);
        }
        if (!kafkaClient.isEmpty()) {
            Map<String, String> data = new java.util.TreeMap<>(); // as the API server keeps it (base64): no patch each time
            kafkaClient.forEach((name, value) -> data.put(KafkaConfigs.environmentName(name),
                    java.util.Base64.getEncoder().encodeToString(value.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
            out.add(new io.fabric8.kubernetes.api.model.SecretBuilder()
                    .withMetadata(meta(K8sNames.KAFKA_CLIENT_SECRET, ns, K8sNames.projectLabels(project), null))
                    .withType("Opaque").withData(data).build());
        }
        return out;
    }

    /**
     * A project's quota as ResourceQuota limits: CPU and memory on requests and limits (the executor sidecar and the
     * model container ask for what the spec says, so requests equal limits), GPUs by type, pods for replicas and
     * ModelDeployments for deployments. Kubernetes checks what the fold already admitted: a second line, not the first.
     */
    static Map<String, Quantity> hard(io.clops.avro.ProjectQuota q) {
        Map<String, Quantity> hard = new LinkedHashMap<>();
        if (q.getCpu() != null) {
            hard.put("requests.cpu", new Quantity(q.getCpu()));
            hard.put("limits.cpu", new Quantity(q.getCpu()));
        }
        if (q.getMemory() != null) {
            hard.put("requests.memory", new Quantity(q.getMemory()));
            hard.put("limits.memory", new Quantity(q.getMemory()));
        }
        new java.util.TreeMap<>(q.getGpu()).forEach((type, n) -> hard.put("requests." + type, new Quantity(Integer.toString(n))));
        if (q.getReplicas() != null) {
            hard.put("pods", new Quantity(Integer.toString(q.getReplicas())));
        }
        if (q.getDeployments() != null) {
            hard.put("count/modeldeployments.clops.io", new Quantity(Integer.toString(q.getDeployments())));
        }
        return hard;
    }

    /** Members by role, as the RoleBindings name them. */
    private static PlatformSettings.ProjectSettings fromLog(io.clops.avro.Project p) {
        Map<String, List<String>> members = new LinkedHashMap<>();
        new java.util.TreeMap<>(p.getMembers()).forEach((user, role) -> members.computeIfAbsent(role.name(), r -> new ArrayList<>()).add(user));
        return new PlatformSettings.ProjectSettings(null, members);
    }

    /**
     * The objects of one deployment: per route (and shadow) a Deployment with the model container and the executor
     * sidecar and, when it scales, an HPA; one Service; a PDB when at least two replicas must stay; Istio
     * VirtualService and DestinationRule when traffic names several versions or a shadow.
     *
     * @param owner owner reference put on every object (the ModelDeployment resource), or null
     */
    public static List<HasMetadata> deployment(DesiredDeployment d, PlatformSettings settings, OwnerReference owner) {
        List<HasMetadata> out = new ArrayList<>();
        DeploymentSpec spec = d.getSpec();
        List<ResolvedRoute> routes = d.getRoutes();
        boolean single = routes.size() == 1 && d.getShadow() == null;
        String ns = K8sNames.namespace(d.getProject());
        for (ResolvedRoute r : routes) {
            out.addAll(workload(d, r.getVersion(), true, single, settings, owner));
        }
        if (d.getShadow() != null) {
            out.addAll(workload(d, d.getShadow().getVersion(), false, false, settings, owner));
        }
        Map<String, String> selector = new LinkedHashMap<>();
        selector.put(K8sNames.DEPLOYMENT, d.getName());
        selector.put(K8sNames.SERVING, "true");
        Service svc = new ServiceBuilder().withMetadata(meta(K8sNames.service(d), ns, K8sNames.labels(d), owner))
                .withNewSpec().withType("ClusterIP").withSelector(selector)
                .addNewPort().withName("http").withProtocol("TCP").withPort(80).withTargetPort(new IntOrString("http")).endPort()
                .endSpec().build();
        out.add(svc);
        if (spec.getReplicas().getMin() >= 2) {
            PodDisruptionBudget pdb = new PodDisruptionBudgetBuilder().withMetadata(meta(d.getName(), ns, K8sNames.labels(d), owner))
                    .withNewSpec().withMaxUnavailable(new IntOrString(1)).withNewSelector()
                    .withMatchLabels(Map.of(K8sNames.DEPLOYMENT, d.getName())).endSelector().endSpec().build();
            out.add(pdb);
        }
        if (!single) {
            // each version's model, for the other versions' executors (weighted routing and shadow copies)
            List<ModelVersion> versions = new ArrayList<>();
            routes.forEach(r -> versions.add(r.getVersion()));
            if (d.getShadow() != null) {
                versions.add(d.getShadow().getVersion());
            }
            for (ModelVersion v : versions) {
                out.add(new ServiceBuilder().withMetadata(meta(modelService(d, v), ns, K8sNames.labels(d), owner))
                        .withNewSpec().withType("ClusterIP")
                        .withSelector(Map.of(K8sNames.DEPLOYMENT, d.getName(), K8sNames.WORKLOAD, K8sNames.workload(d, v, false)))
                        .addNewPort().withName("model").withProtocol("TCP").withPort(modelPort(d, v)).withTargetPort(new IntOrString("model")).endPort()
                        .endSpec().build());
            }
            out.add(destinationRule(d, owner));
            out.add(virtualService(d, owner));
        }
        return out;
    }

    private static List<HasMetadata> workload(DesiredDeployment d, ModelVersion v, boolean serving, boolean single,
                                              PlatformSettings settings, OwnerReference owner) {
        DeploymentSpec spec = d.getSpec();
        String ns = K8sNames.namespace(d.getProject());
        String name = K8sNames.workload(d, v, single);
        Map<String, String> labels = K8sNames.labels(d);
        Map<String, String> podLabels = new LinkedHashMap<>(labels);
        podLabels.put(K8sNames.ROUTE, K8sNames.route(v));
        podLabels.put(K8sNames.MODEL, v.getModel());
        podLabels.put(K8sNames.VERSION, Integer.toString(v.getVersion()));
        podLabels.put(K8sNames.SERVING, Boolean.toString(serving));
        podLabels.put(K8sNames.WORKLOAD, name);
        Map<String, String> selector = Map.of(K8sNames.DEPLOYMENT, d.getName(), K8sNames.WORKLOAD, name);
        int port = spec.getPort() != null ? spec.getPort() : v.getPort();
        String protocol = Objects.requireNonNullElse(spec.getProtocol(), v.getProtocol());
        int gpu = spec.getResources().getGpu();
        boolean scales = spec.getAutoscale() != null || spec.getReplicas().getMax() > spec.getReplicas().getMin();

        Map<String, Quantity> modelResources = new LinkedHashMap<>();
        modelResources.put("cpu", new Quantity(spec.getResources().getCpu()));
        modelResources.put("memory", new Quantity(spec.getResources().getMemory()));
        Map<String, Quantity> modelLimits = new LinkedHashMap<>(modelResources);
        if (gpu > 0) {
            modelLimits.put(spec.getResources().getGpuType(), new Quantity(Integer.toString(gpu)));
        }
        ContainerBuilder modelBuilder = new ContainerBuilder().withName("model")
                .withImage(v.getImage() == null ? "" : v.getImage())
                .addNewPort().withName("model").withContainerPort(port).withProtocol("TCP").endPort()
                .withEnv(new EnvVar("PORT", Integer.toString(port), null))
                .withResources(new ResourceRequirementsBuilder().withRequests(modelResources).withLimits(modelLimits).build());
        ModelFile file = servesFile(v) ? new ModelFile(d.getProject(), v, settings.modelFiles()) : null;
        if (file != null) {
            file.serve(modelBuilder, port, spec.getBatching());
        }
        Container model = modelBuilder.build();
        Container executor = new ContainerBuilder().withName("executor").withImage(settings.executorImage())
                .withArgs("executor")
                .addNewPort().withName("http").withContainerPort(K8sNames.EXECUTOR_PORT).withProtocol("TCP").endPort()
                .withEnv(executorContract(d, v, serving, single, port, protocol, settings).toEnv().entrySet().stream()
                        .map(e -> env(e.getKey(), e.getValue())).toList())
                // the platform's Kafka client settings (SASL, TLS), when it has any: see project()
                .withEnvFrom(new io.fabric8.kubernetes.api.model.EnvFromSourceBuilder().withNewSecretRef()
                        .withName(K8sNames.KAFKA_CLIENT_SECRET).withOptional(true).endSecretRef().build())
                .withNewReadinessProbe().withNewHttpGet().withPath("/v2/health/ready").withPort(new IntOrString("http")).endHttpGet()
                .withPeriodSeconds(5).withFailureThreshold(3).endReadinessProbe()
                .withNewLivenessProbe().withNewHttpGet().withPath("/v2/health/live").withPort(new IntOrString("http")).endHttpGet()
                .withPeriodSeconds(10).withFailureThreshold(3).endLivenessProbe()
                .withResources(new ResourceRequirementsBuilder()
                        .withRequests(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("128Mi")))
                        .withLimits(Map.of("cpu", new Quantity("1"), "memory", new Quantity("256Mi"))).build())
                .build();

        DeploymentBuilder b = new DeploymentBuilder().withMetadata(meta(name, ns, labels, owner));
        var podSpec = b.withNewSpec()
                .withReplicas(scales ? null : spec.getReplicas().getMin())
                .withNewSelector().withMatchLabels(selector).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(podLabels)
                // Prometheus scrapes each executor (k8s/manifests/05-metrics-adapter.yaml turns its series into HPA metrics)
                .withAnnotations(Map.of("prometheus.io/scrape", "true", "prometheus.io/port", Integer.toString(K8sNames.EXECUTOR_PORT),
                        "prometheus.io/path", "/metrics")).endMetadata()
                .withNewSpec().withContainers(model, executor);
        if (file != null) {
            podSpec = podSpec.withInitContainers(file.fetchStep()).withVolumes(file.volumes());
        }
        if (gpu > 0) {
            podSpec = podSpec.withNodeSelector(Map.of("nvidia.com/gpu.present", "true"))
                    .withTolerations(new TolerationBuilder().withKey(spec.getResources().getGpuType()).withOperator("Exists").withEffect("NoSchedule").build());
        }
        Deployment deployment = podSpec.endSpec().endTemplate().endSpec().build();
        List<HasMetadata> out = new ArrayList<>();
        out.add(deployment);
        if (scales && serving) {
            out.add(hpa(d, name, labels, owner));
        }
        return out;
    }

    /** A version served as a model file by clops's runtime: no image and no command of its own, a file registered. */
    public static boolean servesFile(ModelVersion v) {
        return v.getImage() == null && v.getArtifact() != null && (v.getCommand() == null || v.getCommand().isEmpty());
    }

    /**
     * A model file on a pod: an init step fetches it into the node's cache, keyed by its digest (a pod of the same
     * version on that node finds it and fetches nothing: {@code ModelCache}), and clops's runtime serves it from there,
     * read-only, checking the digest again as it loads.
     */
    record ModelFile(String project, ModelVersion v, PlatformSettings.ModelFiles files) {
        static final String CACHE_MOUNT = "/var/cache/clops/models";
        static final String TOKEN_MOUNT = "/var/run/clops/model-fetch";
        static final String CREDENTIALS_MOUNT = "/var/run/clops/model-credentials";
        /** The pod's own service-account token for the platform's audience: the store checks it with kube-apiserver. */
        static final String POD_TOKEN_MOUNT = "/var/run/clops/pod-token";
        /** The project's Secret of tokens for hosts serving its model files: one key per host name (optional). */
        static final String CREDENTIALS_SECRET = "clops-model-credentials";
        static final String JAVA = "java";

        String sha256() {
            return v.getArtifact().getSha256();
        }

        /** Where the fetch step gets the file: the platform's store over HTTP, else the URI as registered. */
        String source() {
            return inStore() ? files.storeUrl() + "/api/v1/projects/" + project + "/artifacts/sha256/" + sha256() : v.getArtifact().getUri();
        }

        boolean inStore() {
            return v.getArtifact().getUri().startsWith(io.clops.api.RegistryRequests.STORE_PREFIX);
        }

        void serve(ContainerBuilder model, int port, io.clops.avro.Batching batching) {
            List<String> args = io.clops.runtime.ModelRuntime.args(v, List.of("--file", CACHE_MOUNT + "/sha256/" + sha256()), "0.0.0.0",
                    Integer.toString(port), batching);
            model.withImage(files.image())
                    .withCommand(JAVA, "-XX:+UseSerialGC", "-XX:MaxRAMPercentage=75", "-cp", "lib/*", io.clops.runtime.ModelRuntime.MAIN)
                    .withArgs(args)
                    .addNewVolumeMount().withName("model-cache").withMountPath(CACHE_MOUNT).withReadOnly(true).endVolumeMount();
        }

        Container fetchStep() {
            // the platform's token (and the pod's own) go to the platform's store only; any other host gets its own
            // credential, if the project keeps one for it, and never the platform's
            List<io.fabric8.kubernetes.api.model.VolumeMount> credentials = inStore()
                    ? List.of(mount("model-fetch-token", TOKEN_MOUNT), mount("pod-token", POD_TOKEN_MOUNT))
                    : List.of(mount("model-credentials", CREDENTIALS_MOUNT));
            return new ContainerBuilder().withName("fetch-model").withImage(files.image())
                    .withCommand(JAVA, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", "lib/*", "io.clops.modelserver.ModelCache")
                    .withArgs(fetchArgs())
                    .withTerminationMessagePolicy("FallbackToLogsOnError") // a refused digest shows in the pod's status
                    .addNewVolumeMount().withName("model-cache").withMountPath(CACHE_MOUNT).endVolumeMount()
                    .addAllToVolumeMounts(credentials)
                    .withResources(new ResourceRequirementsBuilder()
                            .withRequests(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("128Mi")))
                            .withLimits(Map.of("cpu", new Quantity("1"), "memory", new Quantity("256Mi"))).build())
                    .build();
        }

        private static io.fabric8.kubernetes.api.model.VolumeMount mount(String volume, String path) {
            return new io.fabric8.kubernetes.api.model.VolumeMountBuilder().withName(volume).withMountPath(path).withReadOnly(true).build();
        }

        List<String> fetchArgs() {
            List<String> args = new java.util.ArrayList<>(List.of("--cache", CACHE_MOUNT, "--uri", source(), "--sha256", sha256()));
            args.addAll(inStore() ? List.of("--token-file", TOKEN_MOUNT + "/token", "--pod-token-file", POD_TOKEN_MOUNT + "/token")
                    // a file another project's pod left on the node is handed over once this project's credential opens its source
                    : List.of("--credentials-dir", CREDENTIALS_MOUNT, "--project", project));
            // a pod's own cache (emptyDir) goes with the pod: only a node's is bounded
            args.addAll(List.of("--max-bytes", Long.toString(files.nodeCacheDir() == null ? 0 : files.nodeCacheMaxBytes())));
            return args;
        }

        List<io.fabric8.kubernetes.api.model.Volume> volumes() {
            var cache = new io.fabric8.kubernetes.api.model.VolumeBuilder().withName("model-cache");
            var cacheVolume = files.nodeCacheDir() == null
                    ? cache.withNewEmptyDir().endEmptyDir().build()
                    : cache.withNewHostPath().withPath(files.nodeCacheDir()).withType("DirectoryOrCreate").endHostPath().build();
            var token = inStore()
                    ? new io.fabric8.kubernetes.api.model.VolumeBuilder().withName("model-fetch-token")
                            .withNewSecret().withSecretName(files.fetchSecret()).withOptional(true).endSecret().build()
                    : new io.fabric8.kubernetes.api.model.VolumeBuilder().withName("model-credentials")
                            .withNewSecret().withSecretName(CREDENTIALS_SECRET).withOptional(true).endSecret().build();
            if (!inStore()) {
                return List.of(cacheVolume, token);
            }
            // kubelet-issued, for the platform's audience only, rotated: what the store's ReadAccess checks with kube-apiserver
            var podToken = new io.fabric8.kubernetes.api.model.VolumeBuilder().withName("pod-token").withNewProjected()
                    .addNewSource().withNewServiceAccountToken().withAudience("clops").withExpirationSeconds(3600L).withPath("token")
                    .endServiceAccountToken().endSource().endProjected().build();
            return List.of(cacheVolume, token, podToken);
        }
    }

    private static HorizontalPodAutoscaler hpa(DesiredDeployment d, String target, Map<String, String> labels, OwnerReference owner) {
        DeploymentSpec spec = d.getSpec();
        String metric = spec.getAutoscale() == null ? "cpu" : spec.getAutoscale().getMetric();
        int value = spec.getAutoscale() == null ? 70 : spec.getAutoscale().getTarget();
        MetricSpec m = switch (metric) {
            case "rps" -> new MetricSpecBuilder().withType("Pods").withNewPods().withNewMetric()
                    .withName("clops_executor_requests_per_second").endMetric().withNewTarget().withType("AverageValue")
                    .withAverageValue(new Quantity(Integer.toString(value))).endTarget().endPods().build();
            case "inflight" -> new MetricSpecBuilder().withType("Pods").withNewPods().withNewMetric()
                    .withName("clops_executor_in_flight").endMetric().withNewTarget().withType("AverageValue")
                    .withAverageValue(new Quantity(Integer.toString(value))).endTarget().endPods().build();
            case "lag" -> new MetricSpecBuilder().withType("External").withNewExternal().withNewMetric()
                    .withName("clops_executor_async_lag").withNewSelector()
                    .withMatchLabels(Map.of("project", d.getProject(), "deployment", d.getName())).endSelector().endMetric()
                    .withNewTarget().withType("AverageValue").withAverageValue(new Quantity(Integer.toString(value))).endTarget()
                    .endExternal().build();
            default -> new MetricSpecBuilder().withType("Resource").withNewResource().withName("cpu").withNewTarget()
                    .withType("Utilization").withAverageUtilization(value).endTarget().endResource().build();
        };
        return new HorizontalPodAutoscalerBuilder().withMetadata(meta(target, K8sNames.namespace(d.getProject()), labels, owner))
                .withNewSpec().withNewScaleTargetRef().withApiVersion("apps/v1").withKind("Deployment").withName(target).endScaleTargetRef()
                .withMinReplicas(Math.max(1, spec.getReplicas().getMin())).withMaxReplicas(spec.getReplicas().getMax())
                .withMetrics(m).endSpec().build();
    }

    private static GenericKubernetesResource destinationRule(DesiredDeployment d, OwnerReference owner) {
        List<Map<String, Object>> subsets = new ArrayList<>();
        List<ModelVersion> versions = new ArrayList<>();
        d.getRoutes().forEach(r -> versions.add(r.getVersion()));
        if (d.getShadow() != null) {
            versions.add(d.getShadow().getVersion());
        }
        for (ModelVersion v : versions) {
            subsets.add(Map.of("name", K8sNames.route(v), "labels", Map.of(K8sNames.ROUTE, K8sNames.route(v))));
        }
        return new GenericKubernetesResourceBuilder().withApiVersion("networking.istio.io/v1").withKind("DestinationRule")
                .withMetadata(meta(d.getName(), K8sNames.namespace(d.getProject()), K8sNames.labels(d), owner))
                .addToAdditionalProperties("spec", Map.of("host", host(d), "subsets", subsets)).build();
    }

    private static GenericKubernetesResource virtualService(DesiredDeployment d, OwnerReference owner) {
        List<Map<String, Object>> route = new ArrayList<>();
        for (ResolvedRoute r : d.getRoutes()) {
            route.add(Map.of("destination", Map.of("host", host(d), "subset", K8sNames.route(r.getVersion())), "weight", r.getWeight()));
        }
        Map<String, Object> http = new LinkedHashMap<>();
        http.put("route", route);
        // the shadow's copies are the executors' to make (as on one machine): a mirror here would double them
        return new GenericKubernetesResourceBuilder().withApiVersion("networking.istio.io/v1").withKind("VirtualService")
                .withMetadata(meta(d.getName(), K8sNames.namespace(d.getProject()), K8sNames.labels(d), owner))
                .addToAdditionalProperties("spec", Map.of("hosts", List.of(host(d)), "http", List.of(http))).build();
    }

    /**
     * The executor sidecar's settings: the same traffic rules as on one machine. A serving workload's executor knows
     * every serving version with its weight (its own model on 127.0.0.1, the others through their model Services)
     * and the shadow, so sync and async requests alike are split by the deployment's weights and a
     * {@code clops-route} keeps a caller on its version, whichever pod takes the request or the record; with or
     * without a service mesh. A shadow's executor serves only its own model, sync.
     */
    static io.clops.runtime.ExecutorContract executorContract(DesiredDeployment d, ModelVersion v, boolean serving, boolean single,
                                                             int port, String protocol, PlatformSettings settings) {
        DeploymentSpec spec = d.getSpec();
        List<io.clops.runtime.ExecutorContract.Route> routes = new ArrayList<>();
        io.clops.runtime.ExecutorContract.Route shadow = null;
        if (serving) {
            for (ResolvedRoute r : d.getRoutes()) {
                routes.add(contractRoute(d, r.getVersion(), r.getWeight(), r.getVersion().equals(v) ? port : -1, single));
            }
            if (d.getShadow() != null) {
                shadow = contractRoute(d, d.getShadow().getVersion(), 0, -1, false);
            }
        } else {
            routes.add(contractRoute(d, v, 100, port, single));
        }
        return io.clops.runtime.ExecutorContract.builder(v.getModel(), routes)
                .port(K8sNames.EXECUTOR_PORT)
                .host("0.0.0.0") // the Service and the kubelet's probes come in on the pod IP
                .shadow(shadow)
                .protocol(protocol)
                .deployment(d.getProject(), d.getName())
                .mode(serving ? spec.getMode() : "sync")
                .bootstrap(settings.bootstrap())
                .timeoutMs(spec.getExecutor().getTimeoutMs())
                .maxBodyBytes(spec.getExecutor().getMaxBodyBytes())
                .inputs(io.clops.runtime.ExecutorEnv.inputsJson(v))
                .rateLimitRps(spec.getExecutor().getRateLimitRps())
                .logRequests(spec.getExecutor().getLogRequests())
                .auth(io.clops.runtime.ExecutorContract.Auth.of(settings.authPublicKey(), spec.getAccess()))
                .build();
    }

    /** A version as a route: its own model on 127.0.0.1 ({@code localPort} ≥ 0), another's through its model Service. */
    private static io.clops.runtime.ExecutorContract.Route contractRoute(DesiredDeployment d, ModelVersion v, int weight, int localPort,
                                                                        boolean single) {
        String url = localPort >= 0 ? "http://127.0.0.1:" + localPort
                : "http://" + modelService(d, v) + "." + K8sNames.namespace(d.getProject()) + ".svc.cluster.local:" + modelPort(d, v);
        return new io.clops.runtime.ExecutorContract.Route(io.clops.runtime.ExecutorEnv.routeName(v), url, weight);
    }

    /** The Service in front of one version's model containers (several versions only): what other versions' executors call. */
    static String modelService(DesiredDeployment d, ModelVersion v) {
        return K8sNames.dns(K8sNames.workload(d, v, false) + "-model");
    }

    private static int modelPort(DesiredDeployment d, ModelVersion v) {
        return d.getSpec().getPort() != null ? d.getSpec().getPort() : v.getPort();
    }

    private static String host(DesiredDeployment d) {
        return K8sNames.service(d) + "." + K8sNames.namespace(d.getProject()) + ".svc.cluster.local";
    }

    private static EnvVar env(String name, String value) {
        return new EnvVar(name, value, null);
    }

    private static ObjectMeta meta(String name, String ns, Map<String, String> labels, OwnerReference owner) {
        ObjectMetaBuilder b = new ObjectMetaBuilder().withName(name).withNamespace(ns).withLabels(new LinkedHashMap<>(labels));
        if (owner != null) {
            b.withOwnerReferences(owner);
        }
        return b.build();
    }
}
