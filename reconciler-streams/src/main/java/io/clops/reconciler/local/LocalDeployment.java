package io.clops.reconciler.local;

import io.clops.avro.ClusterEvent;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.broker.FreePorts;
import io.clops.kafka.Topics;
import io.clops.reconciler.StatusRules;
import io.clops.reconciler.StatusWriter;

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
    private final StatusWriter status;
    private final Clock clock;
    private final String key;
    private final int modelPort;
    private final int executorPort;
    private final ManagedProcess model;
    private final ManagedProcess executor;
    private String reported;

    LocalDeployment(DesiredDeployment desired, LocalProcessRuntime.Settings settings, StatusWriter status, Clock clock) {
        this.desired = desired;
        this.status = status;
        this.clock = clock;
        this.key = Topics.deploymentKey(desired.getProject(), desired.getName());
        this.modelPort = FreePorts.pick();
        this.executorPort = FreePorts.pick();
        ModelVersion v = desired.getRoutes().get(0).getVersion();
        String base = desired.getProject() + "." + desired.getName();
        Path modelLog = settings.logs().resolve(base + ".model.log");
        ManagedProcess.ensureLog(modelLog);

        List<String> modelCmd = new ArrayList<>();
        for (String part : v.getCommand()) {
            modelCmd.add(part.replace("${PORT}", Integer.toString(modelPort)));
        }
        if (!modelCmd.isEmpty() && modelCmd.get(0).equals("java")) {
            modelCmd.set(0, settings.javaBin());
        }
        Map<String, String> modelEnv = Map.of("PORT", Integer.toString(modelPort),
                "CLOPS_PROJECT", desired.getProject(), "CLOPS_DEPLOYMENT", desired.getName());
        this.model = new ManagedProcess("model", modelCmd, modelEnv, modelLog, settings.run().resolve(base + ".model.pid"));

        Map<String, String> execEnv = new HashMap<>();
        execEnv.put("CLOPS_EXECUTOR_PORT", Integer.toString(executorPort));
        execEnv.put("CLOPS_MODEL_URL", "http://127.0.0.1:" + modelPort);
        execEnv.put("CLOPS_MODEL_NAME", v.getModel());
        execEnv.put("CLOPS_PROTOCOL", Objects.requireNonNullElse(desired.getSpec().getProtocol(), v.getProtocol()));
        execEnv.put("CLOPS_PROJECT", desired.getProject());
        execEnv.put("CLOPS_DEPLOYMENT", desired.getName());
        execEnv.put("CLOPS_MODE", desired.getSpec().getMode());
        execEnv.put("CLOPS_BOOTSTRAP", settings.bootstrap());
        execEnv.put("CLOPS_TIMEOUT_MS", Integer.toString(desired.getSpec().getExecutor().getTimeoutMs()));
        execEnv.put("CLOPS_MAX_BODY_BYTES", Long.toString(desired.getSpec().getExecutor().getMaxBodyBytes()));
        List<String> execCmd = List.of(settings.javaBin(), "-Dclops.role=executor",
                "-Dclops.deployment=" + key, "-Xms16m", "-Xmx192m", "-XX:+UseSerialGC", "-Xss512k",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", settings.executorClasspath(),
                "io.clops.executor.ExecutorMain");
        this.executor = new ManagedProcess("executor", execCmd, execEnv, settings.logs().resolve(base + ".executor.log"),
                settings.run().resolve(base + ".executor.pid"));
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
        model.launch(now);
        executor.launch(now);
        status.applied(desired.getProject(), desired.getName(), desired.getGeneration(), "local", endpoint(), null);
        report(false);
    }

    void supervise() {
        long now = clock.millis();
        model.supervise(now);
        executor.supervise(now);
        boolean failing = model.failure() != null || executor.failure() != null;
        boolean ready = !failing && ready();
        if (ready) {
            model.resetRestarts();
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
        String summary = model.pid() + "|" + model.failure() + "|" + executor.pid() + "|" + executor.failure() + "|" + ready;
        if (summary.equals(reported)) {
            return;
        }
        reported = summary;
        long now = clock.millis();
        observe("model", model, "http://127.0.0.1:" + modelPort, now);
        observe("executor", executor, endpoint(), now);
        status.observed(ClusterEvent.newBuilder().setKind(StatusRules.WORKLOAD).setNamespace(desired.getProject())
                .setName(desired.getName()).setDeployment(desired.getName()).setGeneration(desired.getGeneration())
                .setPhase(StatusRules.SERVING).setReplicas(1).setReadyReplicas(ready ? 1 : 0).setEndpoint(endpoint())
                .setTimeMs(now).build());
        status.flush();
    }

    private void observe(String role, ManagedProcess p, String url, long now) {
        status.observed(ClusterEvent.newBuilder().setKind("Process").setNamespace(desired.getProject())
                .setName(desired.getName() + "-" + role).setDeployment(desired.getName())
                .setGeneration(desired.getGeneration()).setPhase(p.running() ? "Running" : "Exited")
                .setReason(p.failure()).setReplicas(1).setReadyReplicas(p.running() ? 1 : 0).setEndpoint(url)
                .setPid(p.pid()).setTimeMs(now).build());
    }

    /** Stops both processes; {@code gone}: the deployment is removed (not replaced by a new generation). */
    void stop(boolean gone) {
        executor.stop();
        model.stop();
        if (gone) {
            status.observedGone("Process", desired.getProject(), desired.getName() + "-model", desired.getName());
            status.observedGone("Process", desired.getProject(), desired.getName() + "-executor", desired.getName());
            status.observedGone(StatusRules.WORKLOAD, desired.getProject(), desired.getName(), desired.getName());
            status.observedGone(StatusRules.APPLIED, desired.getProject(), desired.getName(), desired.getName());
            status.flush();
        } else {
            report(false); // stopped with the platform or replaced: nothing serves here until it starts again
        }
    }
}
