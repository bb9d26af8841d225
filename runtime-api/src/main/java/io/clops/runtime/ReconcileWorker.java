package io.clops.runtime;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.Project;
import io.clops.kafka.CompactedView;
import io.clops.kafka.OwnedView;
import io.clops.kafka.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Makes the world match clops.desired, level-triggered: whenever a key changes it hands the runtime the key's
 * latest desired state (or its absence). After a restart it sees every desired deployment again, so the runtime
 * brings back whatever runs no longer.
 * <ul>
 *   <li><b>It retries and tells.</b> An apply that fails is tried again after a capped exponential back-off
 *       ({@link Settings#firstRetry()} doubling up to {@link Settings#maxRetry()}), and until it succeeds the
 *       deployment's status is {@code Failed} with the runtime's reason, the attempt and when the next one comes.
 *       The runtime's own report of a successful apply replaces it. A new desired state is tried at once.</li>
 *   <li><b>Projects in parallel, a project in order.</b> {@link Settings#threads()} threads apply keys; two keys
 *       of one project are never applied at once (a project's shared objects have one writer), and no thread
 *       waits for a back-off: a key waiting for its retry holds nothing.</li>
 *   <li><b>Resync.</b> Every {@link Settings#resync()} each key it owns is applied again, so what changed outside
 *       any watch (an object deleted by hand, a failure that healed) is put right. Runtimes write nothing when
 *       nothing differs.</li>
 * </ul>
 * Alone (the local runtime), it reads every partition. In a group (the Kubernetes runtime, several replicas), each
 * member reads only the partitions the consumer group gives it: every project is owned by one member at a time, so
 * two members never fight over an object; a partition moving away releases its keys (the runtime stops acting on
 * them; nothing is deleted).
 */
public final class ReconcileWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReconcileWorker.class);

    /**
     * @param threads    keys applied at once (never two of one project)
     * @param firstRetry the back-off after a first failure, doubled after each next one
     * @param maxRetry   the longest back-off
     * @param resync     how often every owned key is applied again (zero: never)
     */
    public record Settings(int threads, Duration firstRetry, Duration maxRetry, Duration resync) {
        public Settings {
            if (threads < 1) {
                throw new IllegalArgumentException("threads: at least 1, not " + threads);
            }
        }

        public static Settings defaults() {
            return new Settings(4, Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(10));
        }

        public Settings withThreads(int n) {
            return new Settings(n, firstRetry, maxRetry, resync);
        }

        public Settings withRetry(Duration first, Duration max) {
            return new Settings(threads, first, max, resync);
        }

        public Settings withResync(Duration every) {
            return new Settings(threads, firstRetry, maxRetry, every);
        }

        /** The wait after {@code attempt} failures in a row (1: the first). */
        Duration backoff(int attempt) {
            long first = firstRetry.toMillis();
            long ms = attempt >= 31 ? maxRetry.toMillis() : Math.min(maxRetry.toMillis(), first << Math.max(0, attempt - 1));
            return Duration.ofMillis(ms);
        }
    }

    private final DeploymentRuntime runtime;
    private final ObservationWriter status;
    private final Settings settings;
    private final CompactedView<DesiredDeployment> desired;
    private final OwnedView<DesiredDeployment> ownedDesired;
    /** clops.projects, every partition (small): a project key is the project's name, a deployment's is project/name. */
    private final CompactedView<Project> projects;
    private final ProjectMembers members;
    private final Set<String> projectsApplied = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Keys to apply, in the order they became due, with when (System.nanoTime) each may be tried. */
    private final Map<String, Long> due = new LinkedHashMap<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final Set<String> busyProjects = new HashSet<>();
    private final List<Thread> threads = new ArrayList<>();
    private final Thread resyncer;
    private volatile boolean running = true;

    /** A worker alone: it reads every partition of clops.desired. */
    public ReconcileWorker(String bootstrap, DeploymentRuntime runtime, ObservationWriter status) {
        this(bootstrap, runtime, status, null, Settings.defaults());
    }

    /** With {@code group} non-null, a member of that consumer group owning only the partitions it is given. */
    public ReconcileWorker(String bootstrap, DeploymentRuntime runtime, ObservationWriter status, String group, Settings settings) {
        this.runtime = runtime;
        this.status = status;
        this.settings = settings;
        this.projects = new CompactedView<>(bootstrap, Topics.PROJECTS);
        this.members = new ProjectMembers(bootstrap);
        projects.onChange((name, p) -> {
            if (ownsProject(name)) {
                changed(name);
            }
        });
        if (group == null) {
            this.desired = new CompactedView<>(bootstrap, Topics.DESIRED);
            this.ownedDesired = null;
            desired.onChange((key, value) -> changed(key));
        } else {
            this.desired = null;
            this.ownedDesired = new OwnedView<>(bootstrap, Topics.DESIRED, group);
            ownedDesired.onChange((key, value) -> changed(key));
            ownedDesired.onRelease(key -> {
                synchronized (due) {
                    due.remove(key);
                    failures.remove(key);
                }
                String[] pn = key.split("/", 2);
                runtime.release(pn[0], pn[1]);
            });
        }
        for (int i = 0; i < settings.threads(); i++) {
            Thread t = new Thread(this::loop, "reconcile-worker-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        this.resyncer = new Thread(this::resyncLoop, "reconcile-resync");
        resyncer.setDaemon(true);
    }

    public ReconcileWorker start() throws InterruptedException {
        projects.start();
        if (!projects.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.projects within 60 s");
        }
        if (ownedDesired != null) {
            ownedDesired.start();
        } else {
            desired.start();
            if (!desired.awaitCaughtUp(Duration.ofSeconds(60))) {
                throw new IllegalStateException("could not read clops.desired within 60 s");
            }
        }
        threads.forEach(Thread::start);
        if (!settings.resync().isZero()) {
            resyncer.start();
        }
        return this;
    }

    /** Partitions of clops.desired this worker owns (all, when it works alone). */
    public Set<Integer> ownedPartitions() {
        if (ownedDesired != null) {
            return ownedDesired.ownedPartitions();
        }
        return java.util.stream.IntStream.range(0, Topics.DESIRED.spec().partitions()).boxed().collect(java.util.stream.Collectors.toSet());
    }

    private boolean ownsProject(String project) {
        return ownedDesired == null
                || ownedDesired.ownedPartitions().contains(Topics.partitionFor(project, Topics.DESIRED.spec().partitions()));
    }

    private static boolean isProjectKey(String key) {
        return key.indexOf('/') < 0;
    }

    /** A new desired state (or its removal): tried at once, whatever back-off its key was in. */
    private void changed(String key) {
        synchronized (due) {
            String project = projectOf(key);
            if (!isProjectKey(key) && !projectsApplied.contains(project) && !due.containsKey(project)) {
                due.put(project, System.nanoTime()); // a project this worker has not applied yet goes first
            }
            failures.remove(key);
            due.remove(key); // to the end of the queue, due now
            due.put(key, System.nanoTime());
            due.notifyAll();
        }
    }

    private void resyncLoop() {
        long every = settings.resync().toMillis();
        while (running) {
            try {
                Thread.sleep(every);
            } catch (InterruptedException e) {
                return;
            }
            Map<String, DesiredDeployment> all = ownedDesired != null ? ownedDesired.snapshot() : desired.snapshot();
            synchronized (due) {
                long now = System.nanoTime();
                projects.snapshot().keySet().stream().filter(this::ownsProject).forEach(k -> due.putIfAbsent(k, now));
                all.keySet().forEach(k -> due.putIfAbsent(k, now)); // a key in back-off keeps its wait
                due.notifyAll();
            }
            LOG.debug("resync: {} keys", all.size());
        }
    }

    private static String projectOf(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }

    /** The first due key whose project nobody is working on, taken; null when none (waits a little first). */
    private String next() throws InterruptedException {
        synchronized (due) {
            while (running) {
                long now = System.nanoTime();
                long wait = 500;
                for (Iterator<Map.Entry<String, Long>> it = due.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<String, Long> e = it.next();
                    String project = projectOf(e.getKey());
                    if (busyProjects.contains(project)) {
                        continue;
                    }
                    long left = e.getValue() - now;
                    if (left <= 0) {
                        it.remove();
                        busyProjects.add(project);
                        return e.getKey();
                    }
                    wait = Math.min(wait, Math.max(1, left / 1_000_000));
                }
                due.wait(wait);
            }
            return null;
        }
    }

    private void loop() {
        while (running) {
            String key;
            try {
                key = next();
            } catch (InterruptedException e) {
                return;
            }
            if (key == null) {
                return;
            }
            try {
                reconcile(key);
            } finally {
                synchronized (due) {
                    busyProjects.remove(projectOf(key));
                    due.notifyAll();
                }
            }
        }
    }

    private void reconcile(String key) {
        if (isProjectKey(key)) {
            reconcileProject(key);
            return;
        }
        if (ownedDesired != null && !ownedDesired.owns(key)) {
            return; // released meanwhile: its new owner takes it from here
        }
        Optional<DesiredDeployment> d = ownedDesired != null ? ownedDesired.get(key) : desired.get(key);
        String[] pn = key.split("/", 2);
        try {
            if (d.isPresent()) {
                runtime.apply(d.get());
            } else {
                runtime.delete(pn[0], pn[1]);
            }
            succeeded(key);
        } catch (RuntimeException e) {
            Retry retry = failed(key);
            int attempt = retry.attempt();
            Duration wait = retry.delay();
            String why = reason(e);
            LOG.warn("{}: {} failed (attempt {}), next in {} ms: {}", key, d.isPresent() ? "apply" : "delete", attempt, wait.toMillis(), why,
                    attempt == 1 ? e : null);
            if (d.isPresent()) {
                DesiredDeployment dd = d.get();
                status.applied(dd.getProject(), dd.getName(), dd.getGeneration(), runtime.name(), null,
                        "could not apply generation " + dd.getGeneration() + ": " + why + " (attempt " + attempt + "; next in "
                                + human(wait) + ")");
                status.flush();
            }
        }
    }

    private void reconcileProject(String name) {
        if (!ownsProject(name)) {
            return;
        }
        Optional<Project> p = projects.get(name);
        try {
            // who may call the project's executors follows the log, not the cluster: published before the runtime
            // applies the project, so a member removed is refused even while that apply fails and is retried (and
            // before any of the project's deployments is applied)
            if (p.isPresent()) {
                members.publish(p.get());
                runtime.applyProject(p.get());
            } else {
                members.remove(name);
                runtime.deleteProject(name);
                String left = deploymentsLeft(name);
                if (left != null) { // their executors may still write: the project's topics go after them
                    Retry retry = failed(name);
                    LOG.info("project {} deleted: its topics wait for its deployments to be removed ({}); again in {} ms", name, left,
                            retry.delay().toMillis());
                    return;
                }
                List<String> deleted = members.deleteData(name);
                if (!deleted.isEmpty()) {
                    LOG.info("project {} deleted: removed its topics and consumer groups {}", name, deleted);
                }
            }
            projectsApplied.add(name);
            succeeded(name);
        } catch (RuntimeException e) {
            Retry retry = failed(name);
            LOG.warn("project {}: {} failed (attempt {}), next in {} ms: {}", name, p.isPresent() ? "apply" : "delete", retry.attempt(),
                    retry.delay().toMillis(), reason(e), retry.attempt() == 1 ? e : null);
        }
    }

    /** A deployment of {@code project} still desired or still waiting for this worker to remove it; null when none. */
    private String deploymentsLeft(String project) {
        List<String> keys = new ArrayList<>((ownedDesired != null ? ownedDesired.snapshot() : desired.snapshot()).keySet());
        synchronized (due) {
            keys.addAll(due.keySet());
        }
        return keys.stream().filter(k -> !isProjectKey(k) && projectOf(k).equals(project)).findFirst().orElse(null);
    }

    private record Retry(int attempt, Duration delay) {
    }

    private void succeeded(String key) {
        synchronized (due) {
            failures.remove(key);
        }
    }

    /** Counts a failure of {@code key} and queues it again after its back-off (a newer change already queued wins). */
    private Retry failed(String key) {
        synchronized (due) {
            int attempt = failures.merge(key, 1, Integer::sum);
            Duration wait = settings.backoff(attempt);
            due.putIfAbsent(key, System.nanoTime() + wait.toNanos());
            due.notifyAll();
            return new Retry(attempt, wait);
        }
    }

    /** What a user can act on: a runtime's own reason as it gave it, anything else by its type and message. */
    static String reason(RuntimeException e) {
        String m = e instanceof ApplyFailed ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
        m = m == null ? e.getClass().getSimpleName() : m.replaceAll("\\s+", " ").trim();
        return m.length() > 400 ? m.substring(0, 399) + "…" : m;
    }

    private static String human(Duration d) {
        return d.toMillis() < 1000 ? d.toMillis() + " ms" : d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    @Override
    public void close() {
        running = false;
        synchronized (due) {
            due.notifyAll();
        }
        resyncer.interrupt();
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownedDesired != null) {
            ownedDesired.close();
        } else {
            desired.close();
        }
        projects.close();
        members.close();
    }
}
