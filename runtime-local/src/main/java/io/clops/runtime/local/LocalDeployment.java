package io.clops.runtime.local;

import io.clops.avro.ClusterEvent;
import io.clops.avro.ObservedKind;
import io.clops.avro.ObservedPhase;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.avro.ResolvedRoute;
import io.clops.net.FreePorts;
import io.clops.kafka.Topics;
import io.clops.runtime.ExecutorContract;
import io.clops.runtime.ExecutorEnv;
import io.clops.runtime.ObservationWriter;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** One generation of one deployment on this machine: its model process and its executor process. */
final class LocalDeployment {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();

    private final DesiredDeployment desired;
    private final ObservationWriter status;
    private final Clock clock;
    private final String key;
    private final int executorPort;
    /** One model process per route, then the shadow's (if any). */
    private final List<ManagedProcess> models = new ArrayList<>();
    private final List<Integer> modelPorts = new ArrayList<>();
    private final ManagedProcess executor;
    private String reported;

    LocalDeployment(DesiredDeployment desired, LocalProcessRuntime.Settings settings, ObservationWriter status, Clock clock) {
        this.desired = desired;
        this.status = status;
        this.clock = clock;
        this.key = Topics.deploymentKey(desired.getProject(), desired.getName());
        this.executorPort = FreePorts.pick();
        String base = desired.getProject() + "." + desired.getName();
        List<ResolvedRoute> all = new ArrayList<>(desired.getRoutes());
        if (desired.getShadow() != null) {
            all.add(desired.getShadow());
        }
        for (int i = 0; i < all.size(); i++) {
            ModelVersion v = all.get(i).getVersion();
            int port = FreePorts.pick();
            String route = ExecutorEnv.routeName(v);
            Path log = settings.logs().resolve(base + "." + route + ".model.log");
            ManagedProcess.ensureLog(log);
            List<String> cmd = new ArrayList<>();
            for (String part : v.getCommand().isEmpty() && v.getArtifact() != null ? modelServer(desired.getProject(), v, all.get(i).getRegisteredBy(), desired.getSpec().getBatching(), settings) : v.getCommand()) {
                cmd.add(part.replace("${PORT}", Integer.toString(port)));
            }
            if (!cmd.isEmpty() && cmd.get(0).equals("java")) {
                cmd.set(0, settings.javaBin());
            }
            Map<String, String> env = Map.of("PORT", Integer.toString(port),
                    "CLOPS_PROJECT", desired.getProject(), "CLOPS_DEPLOYMENT", desired.getName());
            models.add(new ManagedProcess(all.size() == 1 ? "model" : "model " + route, cmd, env, log, settings.run().resolve(base + "." + route + ".model.pid")));
            modelPorts.add(port);
        }
        Map<String, String> execEnv = executorContract(desired, modelPorts, executorPort, settings.bootstrap(), settings.authPublicKey()).toEnv();
        settings.kafkaClient().forEach((name, value) -> execEnv.put(io.clops.kafka.KafkaConfigs.environmentName(name), value));
        List<String> execCmd = new java.util.ArrayList<>(List.of(settings.javaBin(), "-Dclops.role=executor",
                "-Dclops.deployment=" + key, "-Xms16m", "-Xmx192m", "-XX:+UseSerialGC", "-Xss512k",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-Dlogback.configurationFile=clops-executor-logback.xml"));
        if (settings.executorCds() != null && java.nio.file.Files.isRegularFile(settings.executorCds())) {
            // classes mapped from the archive ./clops made at build time: ~0.4 s less to start (-Xshare:auto: a stale
            // archive is ignored, not fatal)
            execCmd.add("-XX:SharedArchiveFile=" + settings.executorCds());
            execCmd.add("-Xshare:auto");
        }
        execCmd.addAll(List.of("-cp", settings.executorClasspath(), "io.clops.executor.ExecutorMain"));
        this.executor = new ManagedProcess("executor", execCmd, execEnv, settings.logs().resolve(base + ".executor.log"),
                settings.run().resolve(base + ".executor.pid"));
    }

    /**
     * The executor's settings for one generation, given where each route's model (then the shadow's) listens on this
     * machine: every version with its weight, the same traffic rules as on Kubernetes (K8sModel.executorContract).
     */
    static ExecutorContract executorContract(DesiredDeployment desired, List<Integer> modelPorts, int executorPort, String bootstrap,
                                             String authPublicKey) {
        List<ExecutorContract.Route> routes = new ArrayList<>();
        ExecutorContract.Route shadow = null;
        List<ResolvedRoute> all = new ArrayList<>(desired.getRoutes());
        if (desired.getShadow() != null) {
            all.add(desired.getShadow());
        }
        for (int i = 0; i < all.size(); i++) {
            ExecutorContract.Route entry = new ExecutorContract.Route(ExecutorEnv.routeName(all.get(i).getVersion()),
                    "http://127.0.0.1:" + modelPorts.get(i), all.get(i).getWeight());
            if (i < desired.getRoutes().size()) {
                routes.add(entry);
            } else {
                shadow = entry;
            }
        }
        ModelVersion primary = desired.getRoutes().get(0).getVersion();
        var exec = desired.getSpec().getExecutor();
        return ExecutorContract.builder(primary.getModel(), routes)
                .port(executorPort)
                .shadow(shadow)
                .inputs(ExecutorEnv.inputsJson(primary))
                .protocol(Objects.requireNonNullElse(desired.getSpec().getProtocol(), primary.getProtocol()))
                .deployment(desired.getProject(), desired.getName())
                .mode(desired.getSpec().getMode())
                .bootstrap(bootstrap)
                .timeoutMs(exec.getTimeoutMs())
                .maxBodyBytes(exec.getMaxBodyBytes())
                .rateLimitRps(exec.getRateLimitRps())
                .logRequests(exec.getLogRequests())
                .auth(ExecutorContract.Auth.of(authPublicKey, desired.getSpec().getAccess()))
                .build();
    }

    /**
     * A version that is a model file and nothing else: clops's own runtime serves it (`modelserver`, on the platform's
     * class path), from the platform's store or its file: URI, or fetched once from its http(s) URL into the store (by
     * digest); the runtime checks the registered SHA-256 before it
     * loads the file, and a mismatch ends the process with that reason (what the deployment's status then says).
     */

    static List<String> modelServer(String project, ModelVersion v, String registeredBy, io.clops.avro.Batching batching,
                                    LocalProcessRuntime.Settings settings) {
        io.clops.avro.Artifact a = v.getArtifact();
        java.nio.file.Path store = settings.home().resolve("artifacts");
        List<String> where = a.getUri().startsWith("http://") || a.getUri().startsWith("https://")
                // fetched into the store by digest, once; with the host's token from <home>/model-credentials/<project>/<host>,
                // if the project has one: one project's credential never fetches for another (as its Secret on Kubernetes)
                ? List.of("--uri", a.getUri(), "--cache", store.toString(), "--credentials-dir", LocalProcessRuntime.modelCredentials(settings.home(), project).toString(),
                        "--project", project, // a file another project fetched is served only once this one's credential opens it
                        // fetched from this machine: what only it reaches (localhost, metadata services, private networks) is
                        // for its host users' versions
                        "--public-hosts-only", Boolean.toString(!settings.trusts(registeredBy)))
                : List.of("--file", new io.clops.artifacts.ArtifactStore(store).resolve(a.getUri()).toString());
        List<String> cmd = new java.util.ArrayList<>(List.of(settings.javaBin(), "-Xmx256m", "-XX:+UseSerialGC", "-cp", settings.executorClasspath(),
                io.clops.runtime.ModelRuntime.MAIN));
        cmd.addAll(io.clops.runtime.ModelRuntime.args(v, where, null, "${PORT}", batching));
        return List.copyOf(cmd);
    }

    List<String> workloads() {
        return desired.getRoutes().stream().map(r -> desired.getName() + "-" + ExecutorEnv.routeName(r.getVersion())).toList();
    }

    String key() {
        return key;
    }

    long generation() {
        return desired.getGeneration();
    }

    String endpoint() {
        return "http://127.0.0.1:" + executorPort;
    }

    void start() {
        long now = clock.millis();
        models.forEach(m -> m.launch(now));
        executor.launch(now);
        status.applied(desired.getProject(), desired.getName(), desired.getGeneration(), "local", endpoint(), null);
        report(false);
    }

    void supervise() {
        long now = clock.millis();
        models.forEach(m -> m.supervise(now));
        executor.supervise(now);
        boolean failing = executor.failure() != null || models.stream().anyMatch(m -> m.failure() != null);
        boolean ready = !failing && ready();
        if (ready) {
            models.forEach(ManagedProcess::resetRestarts);
            executor.resetRestarts();
        }
        report(ready);
    }

    private boolean ready() {
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(endpoint() + "/v2/health/ready"))
                    .timeout(Duration.ofMillis(800)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
    }

    /** What this machine shows, on clops.cluster when it changes: the two processes and the serving workload. */
    private void report(boolean ready) {
        StringBuilder sb = new StringBuilder();
        models.forEach(m -> sb.append(m.pid()).append('|').append(m.failure()).append('|'));
        String summary = sb + "" + executor.pid() + "|" + executor.failure() + "|" + ready;
        if (summary.equals(reported)) {
            return;
        }
        reported = summary;
        long now = clock.millis();
        for (int i = 0; i < models.size(); i++) {
            observe(i == 0 ? "model" : "model-" + (i + 1), models.get(i), "http://127.0.0.1:" + modelPorts.get(i), now);
        }
        observe("executor", executor, endpoint(), now);
        // one workload per version, as on Kubernetes; here one executor serves them all, and is ready when every
        // version's model is
        for (String w : workloads()) {
            status.observed(ClusterEvent.newBuilder().setKind(ObservedKind.Workload.name()).setNamespace(desired.getProject())
                    .setName(w).setDeployment(desired.getName()).setGeneration(desired.getGeneration())
                    .setPhase(ObservedPhase.Serving.name()).setReplicas(1).setReadyReplicas(ready ? 1 : 0).setEndpoint(endpoint())
                    .setTimeMs(now).build());
        }
        status.flush();
    }

    private void observe(String role, ManagedProcess p, String url, long now) {
        status.observed(ClusterEvent.newBuilder().setKind(ObservedKind.Process.name()).setNamespace(desired.getProject())
                .setName(desired.getName() + "-" + role).setDeployment(desired.getName())
                .setGeneration(desired.getGeneration()).setPhase((p.running() ? ObservedPhase.Running : ObservedPhase.Exited).name())
                .setReason(p.failure()).setReplicas(1).setReadyReplicas(p.running() ? 1 : 0).setEndpoint(url)
                .setPid(p.pid()).setTimeMs(now).build());
    }

    /**
     * Stops this generation for {@code next}: the versions {@code next} no longer serves are reported gone (an alias
     * moved from v1 to v2: the v1 workload goes), or status would wait for them to be ready again, forever.
     */
    void replacedBy(DesiredDeployment next) {
        stop(false);
        java.util.Set<String> kept = new java.util.HashSet<>();
        next.getRoutes().forEach(r -> kept.add(next.getName() + "-" + ExecutorEnv.routeName(r.getVersion())));
        boolean any = false;
        for (String w : workloads()) {
            if (!kept.contains(w)) {
                status.observedGone(ObservedKind.Workload, desired.getProject(), w, desired.getName());
                any = true;
            }
        }
        if (any) {
            status.flush();
        }
    }

    /** Stops both processes; {@code gone}: the deployment is removed (not replaced by a new generation). */
    void stop(boolean gone) {
        executor.stop();
        models.forEach(ManagedProcess::stop);
        if (gone) {
            for (int i = 0; i < models.size(); i++) {
                status.observedGone(ObservedKind.Process, desired.getProject(), desired.getName() + "-" + (i == 0 ? "model" : "model-" + (i + 1)), desired.getName());
            }
            status.observedGone(ObservedKind.Process, desired.getProject(), desired.getName() + "-executor", desired.getName());
            for (String w : workloads()) {
                status.observedGone(ObservedKind.Workload, desired.getProject(), w, desired.getName());
            }
            status.observedGone(ObservedKind.Applied, desired.getProject(), desired.getName(), desired.getName());
            status.flush();
        } else {
            report(false); // stopped with the platform or replaced: nothing serves here until it starts again
        }
    }
}
