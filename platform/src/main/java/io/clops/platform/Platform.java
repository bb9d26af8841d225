package io.clops.platform;

import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.net.FreePorts;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.k8s.runtime.ExecutorPrincipals;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.ObservationWriter;
import io.clops.runtime.local.LocalProcessRuntime;
import io.clops.schemas.SchemaTopic;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The whole platform in one process, on one machine: a KRaft broker (persistent under {@code home/kafka}), the
 * topic catalog, the reconciler topology, the HTTP services (command-api and registry-events) and the local
 * process worker. All state lives in the broker's log: a restart with the same home brings everything back.
 */
public final class Platform implements AutoCloseable {

    /** Which parts run in this process: all of them on one machine; one each per Deployment on a cluster. */
    public enum Component { API, RECONCILER, WORKER }

    /**
     * @param runtime           local (processes on this machine) or kubernetes (the current kubeconfig's cluster)
     * @param externalBootstrap a Kafka cluster to use instead of the embedded broker (required for kubernetes)
     * @param executorImage     the executor sidecar's image (kubernetes)
     */
    /**
     * @param authRequired every request to the API needs a token and the role its project grants (clops up: yes;
     *                     the embedded platform of tests and the demo: no, requests act for the local user)
     */
    /**
     * @param hostUsers who may register versions that run on this machine with its user's rights (a command, a
     *                  {@code file:} model file): {@code clops.auth.host-users}; null: {@code CLOPS_AUTH_HOST_USERS}, else
     *                  the local admin alone on the local runtime and everyone on Kubernetes (commands run in pods there)
     */
    public record Options(Path home, String apiHost, int apiPort, int kafkaPort, String externalBootstrap,
                          java.util.Set<Component> components, String runtime, String executorImage, boolean authRequired, String hostUsers) {
        public Options(Path home, int apiPort, int kafkaPort, String externalBootstrap) {
            this(home, "127.0.0.1", apiPort, kafkaPort, externalBootstrap, java.util.EnumSet.allOf(Component.class), "local", null, false, null);
        }

        public Options(Path home, String apiHost, int apiPort, int kafkaPort, String externalBootstrap,
                       java.util.Set<Component> components, String runtime, String executorImage, boolean authRequired) {
            this(home, apiHost, apiPort, kafkaPort, externalBootstrap, components, runtime, executorImage, authRequired, null);
        }

        public Options withAuthRequired(boolean required) {
            return new Options(home, apiHost, apiPort, kafkaPort, externalBootstrap, components, runtime, executorImage, required, hostUsers);
        }

        public Options withHostUsers(String users) {
            return new Options(home, apiHost, apiPort, kafkaPort, externalBootstrap, components, runtime, executorImage, authRequired, users);
        }
    }

    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private String bootstrap;
    private String apiUrl;
    /** The Kafka client settings of the platform's own principal on a broker with SASL; empty otherwise. */
    private Map<String, String> kafkaClient = Map.of();

    private Platform() {
    }

    public static Platform start(Options o, Consumer<String> progress) {
        Platform p = new Platform();
        try {
            p.boot(o, progress);
            return p;
        } catch (RuntimeException | InterruptedException e) {
            p.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    private void boot(Options o, Consumer<String> progress) throws InterruptedException {
        long t0 = System.nanoTime();
        if (o.externalBootstrap() == null) {
            EmbeddedKafkaBroker.Security security = o.authRequired() ? kafkaSecurity(o, progress) : null;
            progress.accept("starting Kafka (KRaft" + (security != null ? ", SASL/SCRAM and ACLs" : "") + ", data in " + o.home().resolve("kafka") + ")");
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(o.home().resolve("kafka"), o.kafkaPort(), security);
            started.push(broker);
            bootstrap = broker.bootstrapServers();
            if (security != null) {
                kafkaClient = security.client();
                started.push(useKafkaClient(kafkaClient)); // popped after every service has stopped
            }
        } else {
            bootstrap = o.externalBootstrap();
        }
        progress.accept("creating topics");
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        SchemaTopic.connect(bootstrap);
        if (o.components().contains(Component.RECONCILER)) {
            progress.accept("starting the reconciler topology");
            started.push(Reconciler.start(bootstrap, o.home().resolve("streams"), Duration.ofSeconds(90)));
        }
        if (o.components().contains(Component.API)) {
            progress.accept("starting the API (command-api, registry-events)");
            int port = o.apiPort() == 0 ? FreePorts.pick() : o.apiPort();
            Map<String, Object> props = new java.util.HashMap<>(Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", port,
                    "micronaut.server.host", o.apiHost(), "clops.auth.dir", o.home().resolve("auth").toString(),
                    "clops.auth.required", o.authRequired(), "clops.kafka.acls", kafkaAcls(),
                    "clops.artifacts.dir", o.home().resolve("artifacts").toString())); // model files: the local runtime reads the same
            String hostUsers = hostUsersSetting(o);
            if (hostUsers != null) {
                props.put(io.clops.api.HostUsers.SETTING, hostUsers);
            }
            if ("true".equals(System.getenv("CLOPS_KUBERNETES_POD_TOKENS"))) { // in a cluster: pods fetch model files with their own tokens
                props.put("clops.kubernetes.pod-tokens", true);
            }
            ApplicationContext ctx = ApplicationContext.builder().properties(props).deduceEnvironment(false).start();
            started.push(ctx::close);
            ctx.getBean(EmbeddedServer.class).start();
            apiUrl = "http://" + ("0.0.0.0".equals(o.apiHost()) ? "127.0.0.1" : o.apiHost()) + ":" + port;
        }
        if (o.components().contains(Component.WORKER)) {
            ObservationWriter status = new ObservationWriter(bootstrap, o.runtime() + "-worker");
            started.push(status);
            if ("kubernetes".equals(o.runtime())) {
                progress.accept("starting the Kubernetes worker, watcher and ModelDeployment bridge (current kubeconfig)");
                io.fabric8.kubernetes.client.KubernetesClient client = new io.fabric8.kubernetes.client.KubernetesClientBuilder().build();
                started.push(client::close);
                Map<String, String> workerKafka = io.clops.kafka.KafkaConfigs.fromEnvironment();
                var runtime = new io.clops.k8s.runtime.KubernetesRuntime(client,
                        io.clops.k8s.model.PlatformSettings.defaults(o.executorImage(), bootstrap)
                                .withAuthPublicKey(executorKey(o)).withKafkaClient(workerKafka)
                                .withModelFiles(io.clops.k8s.model.PlatformSettings.ModelFiles.defaults(o.executorImage()).fromEnvironment(System.getenv())),
                        status, Clock.systemUTC(), executorPrincipals(bootstrap, workerKafka));
                started.push(runtime);
                started.push(new ReconcileWorker(bootstrap, runtime, status, "clops-k8s-workers", ReconcileWorker.Settings.defaults()).start());
                io.clops.gateway.CommandGateway gateway = new io.clops.gateway.CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofSeconds(10));
                started.push(gateway);
                started.push(new io.clops.k8s.crd.CrdBridge(client, gateway, bootstrap));
            } else {
                progress.accept("starting the local worker");
                oldCredentials(o.home()).forEach(host -> progress.accept("model-credentials/" + host + " is not read: each project has its own now;"
                        + " move it to model-credentials/<project>/" + host + " for the projects that may use it"));
                LocalProcessRuntime runtime = new LocalProcessRuntime(LocalProcessRuntime.Settings.defaults(o.home(), bootstrap)
                        .withAuthPublicKey(executorKey(o)).withKafkaClient(io.clops.kafka.KafkaConfigs.fromEnvironment())
                        .withHostUsers(o.authRequired() ? io.clops.api.HostUsers.parse(hostUsersSetting(o),
                                io.clops.service.Callers.localUser(System.getenv("CLOPS_GATEWAY_LOCAL_USER"))) : null),
                        status, Clock.systemUTC());
                started.push(runtime);
                started.push(new ReconcileWorker(bootstrap, runtime, status).start());
            }
        }
        progress.accept(String.format("ready in %.1f s", (System.nanoTime() - t0) / 1e9));
    }

    /**
     * Where the platform's Kafka enforces ACLs (the embedded broker with SASL, or {@code CLOPS_KAFKA_ACLS=true} for a
     * cluster whose operators let the platform manage SCRAM users and ACLs), each project's executors get a principal
     * of their own, its password derived under {@code CLOPS_EXECUTOR_KAFKA_KEY} or, without it, under a hash of the
     * worker's own Kafka login (every worker has the same); null: executors use the platform's Kafka settings.
     */
    /**
     * clops.auth.host-users for the API and the local runtime alike: the option, else the environment, else everyone
     * on Kubernetes (a version's command runs in its project's pods, not here); null: the default, the local admin.
     */
    static String hostUsersSetting(Options o) {
        String env = System.getenv("CLOPS_AUTH_HOST_USERS");
        return o.hostUsers() != null ? o.hostUsers() : env != null ? env : "kubernetes".equals(o.runtime()) ? io.clops.api.HostUsers.EVERYONE : null;
    }

    /** Host credentials for model files where every project's fetch used them, before each project had its own. */
    static java.util.List<String> oldCredentials(Path home) {
        Path dir = home.resolve(LocalProcessRuntime.MODEL_CREDENTIALS);
        if (!java.nio.file.Files.isDirectory(dir)) {
            return java.util.List.of();
        }
        try (var files = java.nio.file.Files.list(dir)) {
            return files.filter(java.nio.file.Files::isRegularFile).map(f -> f.getFileName().toString()).sorted().toList();
        } catch (java.io.IOException e) {
            return java.util.List.of();
        }
    }

    /** Whether the platform's Kafka enforces ACLs: the embedded broker with SASL, or {@code CLOPS_KAFKA_ACLS=true}. */
    private boolean kafkaAcls() {
        return !kafkaClient.isEmpty() || "true".equalsIgnoreCase(System.getenv("CLOPS_KAFKA_ACLS"));
    }

    private ExecutorPrincipals executorPrincipals(String bootstrap, Map<String, String> workerKafka) {
        if (!kafkaAcls()) {
            return null;
        }
        String key = System.getenv("CLOPS_EXECUTOR_KAFKA_KEY");
        String jaas = workerKafka.get("sasl.jaas.config");
        if ((key == null || key.isBlank()) && jaas == null) {
            throw new IllegalStateException("with Kafka ACLs, the Kubernetes worker gives each project's executors their own principal: it needs "
                    + "CLOPS_EXECUTOR_KAFKA_KEY (at least 16 bytes) or a SASL login of its own (CLOPS_KAFKA_CLIENT_SASL_JAAS_CONFIG) to derive their passwords");
        }
        byte[] k = key != null && !key.isBlank() ? key.strip().getBytes(java.nio.charset.StandardCharsets.UTF_8) : sha256("clops executor principals\0" + jaas);
        return ExecutorPrincipals.kafka(io.clops.kafka.KafkaConfigs.admin(bootstrap), k);
    }

    private static byte[] sha256(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What executors check tokens with: {@code CLOPS_AUTH_PUBLIC_KEY} when set (a worker on Kubernetes: the API's key
     * from the shared Secret), else, when tokens are required, the key in {@code <home>/auth} (one machine: the API's);
     * null: executors let anyone call.
     */
    private static String executorKey(Options o) {
        String env = System.getenv("CLOPS_AUTH_PUBLIC_KEY");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        if (o.authRequired() && "kubernetes".equals(o.runtime()) && !o.components().contains(Component.API)) {
            throw new IllegalStateException("a Kubernetes worker needs CLOPS_AUTH_PUBLIC_KEY, the API's public key (the Secret clops-auth, "
                    + "key public-key): its executors check every prediction's token with it. Or run the platform with --no-auth");
        }
        return o.authRequired() ? authPublicKey(o) : null;
    }

    /**
     * The embedded broker's super user when tokens are required: its password kept owner-only in
     * {@code <home>/auth/kafka-platform-password}. A home whose broker was made without SASL keeps running without it
     * (said on start): its data cannot change mode.
     */
    private static EmbeddedKafkaBroker.Security kafkaSecurity(Options o, Consumer<String> progress) {
        if ("plaintext".equals(EmbeddedKafkaBroker.formattedMode(o.home().resolve("kafka")))) {
            progress.accept("warning: this home's Kafka was made without SASL: anyone who reaches it reads and writes every topic "
                    + "(start a new --home for per-project Kafka credentials)");
            return null;
        }
        try {
            java.nio.file.Path file = o.home().resolve("auth").resolve("kafka-platform-password");
            if (!java.nio.file.Files.exists(file)) {
                java.nio.file.Files.createDirectories(file.getParent());
                java.nio.file.Files.writeString(file, EmbeddedKafkaBroker.Security.newPassword());
                try {
                    java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                } catch (UnsupportedOperationException notPosix) {
                    // the directory's own permissions protect it
                }
            }
            return new EmbeddedKafkaBroker.Security("clops", java.nio.file.Files.readString(file).strip());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot keep the Kafka password in " + o.home().resolve("auth") + ": " + e.getMessage(), e);
        }
    }

    /**
     * Every Kafka client of this process authenticates with {@code settings} (KafkaConfigs reads them from system
     * properties) until the returned handle is closed, which restores what was there.
     */
    private static AutoCloseable useKafkaClient(Map<String, String> settings) {
        Map<String, String> before = new java.util.HashMap<>();
        settings.forEach((k, v) -> {
            String prop = io.clops.kafka.KafkaConfigs.PROPERTY_PREFIX + k;
            before.put(prop, System.getProperty(prop));
            System.setProperty(prop, v);
        });
        return () -> before.forEach((prop, v) -> {
            if (v == null) {
                System.clearProperty(prop);
            } else {
                System.setProperty(prop, v);
            }
        });
    }

    /** The platform's token key (kept in {@code <home>/auth}), base64 X.509. */
    private static String authPublicKey(Options o) {
        try {
            return java.util.Base64.getEncoder().encodeToString(io.clops.auth.Tokens.keyIn(o.home().resolve("auth")).getPublic().getEncoded());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read the platform's signing key in " + o.home().resolve("auth") + ": " + e.getMessage(), e);
        }
    }

    public String bootstrap() {
        return bootstrap;
    }

    public String apiUrl() {
        return apiUrl;
    }

    @Override
    public synchronized void close() {
        while (!started.isEmpty()) {
            try {
                started.pop().close();
            } catch (Exception e) {
                System.err.println("clops: error while stopping: " + e);
            }
        }
    }
}
