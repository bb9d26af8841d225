package io.clops.runtime.local;

import io.clops.api.HostUsers;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.runtime.ApplyFailed;
import io.clops.runtime.DeploymentRuntime;
import io.clops.runtime.ObservationWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The one-machine runtime: each deployment is a model server process and an executor process on free local ports.
 * A supervisor checks them every half second: a process that exits is restarted with backoff (status Failed with
 * the reason meanwhile), a ready executor makes the deployment Ready. A new generation replaces both processes;
 * delete stops them. Processes left behind by a platform that was killed are stopped at start-up (pid files).
 */
public final class LocalProcessRuntime implements DeploymentRuntime {
    /** Under the platform's home: a directory per project of tokens for hosts serving model files, one file per host name. */
    public static final String MODEL_CREDENTIALS = "model-credentials";

    /**
     * Where a project's credentials for hosts serving model files are: {@code <home>/model-credentials/<project>/<host>}.
     * One project's credential never fetches for another, as each project's Secret on Kubernetes.
     */
    public static java.nio.file.Path modelCredentials(java.nio.file.Path home, String project) {
        return home.resolve(MODEL_CREDENTIALS).resolve(project);
    }

    private static final Logger LOG = LoggerFactory.getLogger(LocalProcessRuntime.class);

    /** How to start things on this machine. */
    /**
     * @param authPublicKey the platform's token key (base64 X.509): executors check tokens; null: anyone may call
     * @param hostUsers     whose versions may run here with the platform's rights (a command, a file: model file); null:
     *                      anyone's (a platform without tokens, where every request acts for the local user)
     */
    public record Settings(Path home, String bootstrap, String javaBin, String executorClasspath, Path executorCds, String authPublicKey,
                           Map<String, String> kafkaClient, HostUsers hostUsers) {
        public static Settings defaults(Path home, String bootstrap) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cds = System.getProperty("clops.executor.cds");
            return new Settings(home, bootstrap, java,
                    System.getProperty("clops.executor.classpath", System.getProperty("java.class.path")),
                    cds == null ? null : Path.of(cds), null, Map.of(), null);
        }

        public Settings withAuthPublicKey(String key) {
            return new Settings(home, bootstrap, javaBin, executorClasspath, executorCds, key, kafkaClient, hostUsers);
        }

        /** Kafka client settings the executors get (CLOPS_KAFKA_CLIENT_*): the platform's SASL credentials. Models never do. */
        public Settings withKafkaClient(Map<String, String> settings) {
            return new Settings(home, bootstrap, javaBin, executorClasspath, executorCds, authPublicKey, Map.copyOf(settings), hostUsers);
        }

        public Settings withHostUsers(HostUsers users) {
            return new Settings(home, bootstrap, javaBin, executorClasspath, executorCds, authPublicKey, kafkaClient, users);
        }

        /** Whether a version {@code registeredBy} (null: not known) wrote may run here with the platform's rights. */
        boolean trusts(String registeredBy) {
            return hostUsers == null || hostUsers.admits(registeredBy);
        }

        Path logs() {
            return home.resolve("logs");
        }

        Path run() {
            return home.resolve("run");
        }
    }

    private final Settings settings;
    private final ObservationWriter status;
    private final Clock clock;
    private final Map<String, LocalDeployment> deployments = new ConcurrentHashMap<>();
    private final ScheduledExecutorService supervisor;

    public LocalProcessRuntime(Settings settings, ObservationWriter status, Clock clock) {
        this.settings = settings;
        this.status = status;
        this.clock = clock;
        try {
            Files.createDirectories(settings.logs());
            Files.createDirectories(settings.run());
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + settings.home(), e);
        }
        PidFiles.killOrphans(settings.run());
        this.supervisor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "local-supervisor");
            t.setDaemon(true);
            return t;
        });
        supervisor.scheduleWithFixedDelay(this::superviseAll, 500, 500, TimeUnit.MILLISECONDS);
    }

    /** What this runtime tells the executor of {@code desired}, its models listening on {@code modelPorts} (routes, then the shadow). */
    public static io.clops.runtime.ExecutorContract executorContract(DesiredDeployment desired, List<Integer> modelPorts, int executorPort,
                                                                     String bootstrap) {
        return LocalDeployment.executorContract(desired, modelPorts, executorPort, bootstrap, null);
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public synchronized void apply(DesiredDeployment desired) {
        refuseWhatCannotRunHere(desired); // before anything changes: what runs now keeps running
        String key = Topics.deploymentKey(desired.getProject(), desired.getName());
        LocalDeployment current = deployments.get(key);
        if (current != null && current.generation() == desired.getGeneration()) {
            return;
        }
        if (current != null) {
            current.replacedBy(desired);
        }
        if (!"sync".equals(desired.getSpec().getMode())) {
            TopicAdmin.ensure(settings.bootstrap(), List.of(
                    Topics.inferRequests(desired.getProject(), desired.getName()).spec(),
                    Topics.inferResponses(desired.getProject(), desired.getName()).spec()));
        }
        LocalDeployment next = new LocalDeployment(desired, settings, status, clock);
        deployments.put(key, next);
        next.start();
        LOG.info("deployment {} generation {}: starting {}", key, desired.getGeneration(),
                desired.getRoutes().get(0).getRef());
    }

    /**
     * What this machine does not start: a version that is only a container image (nothing here runs images), and a
     * version that would run here with the platform's rights (its own command, a file: model file) unless one of the
     * host users registered it: the gateway refuses anyone else's registration, and this holds for versions
     * registered before that check or by a user no longer trusted (clops.auth.host-users changed).
     */
    private void refuseWhatCannotRunHere(DesiredDeployment desired) {
        List<ResolvedRoute> all = new java.util.ArrayList<>(desired.getRoutes());
        if (desired.getShadow() != null) {
            all.add(desired.getShadow());
        }
        for (ResolvedRoute r : all) {
            String v = r.getVersion().getModel() + ":" + r.getVersion().getVersion();
            if (r.getVersion().getCommand().isEmpty() && r.getVersion().getArtifact() == null) {
                throw new ApplyFailed(v + " is a container image (" + r.getVersion().getImage() + "), and this runtime runs a version's command or"
                        + " serves its model file, not images: deploy it on Kubernetes, or register a version with a command (-- CMD …) or a"
                        + " model file (--file)", null);
            }
            String field = HostUsers.hostAccess(r.getVersion());
            if (field != null && !settings.trusts(r.getRegisteredBy())) {
                throw new ApplyFailed(v + " would run on this machine with the platform's rights (its " + field + "), and "
                        + (r.getRegisteredBy() == null ? "who registered it is not known here (deploy it again to resolve it anew)"
                        : "it was registered by '" + r.getRegisteredBy() + "', who is not one of " + HostUsers.SETTING)
                        + ": not started", null);
            }
        }
    }

    @Override
    public synchronized void delete(String project, String name) {
        LocalDeployment current = deployments.remove(Topics.deploymentKey(project, name));
        if (current != null) {
            current.stop(true);
            LOG.info("deployment {}/{} stopped", project, name);
        }
    }

    private synchronized void superviseAll() {
        for (LocalDeployment d : deployments.values()) {
            try {
                d.supervise();
            } catch (RuntimeException e) {
                LOG.warn("supervising {} failed: {}", d.key(), e.toString(), e);
            }
        }
    }

    @Override
    public synchronized void close() {
        supervisor.shutdownNow();
        deployments.values().forEach(d -> d.stop(false)); // the platform stops; the deployments stay desired
        deployments.clear();
    }
}
