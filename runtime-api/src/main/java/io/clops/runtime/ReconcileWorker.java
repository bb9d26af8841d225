package io.clops.runtime;

import io.clops.avro.DesiredDeployment;
import io.clops.kafka.CompactedView;
import io.clops.kafka.OwnedView;
import io.clops.kafka.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Makes the world match clops.desired, level-triggered: whenever a key changes it hands the runtime the key's
 * latest desired state (or its absence). After a restart it sees every desired deployment again, so the runtime
 * brings back whatever runs no longer.
 * <p>
 * Alone (the local runtime), it reads every partition. In a group (the Kubernetes runtime, several replicas), each member reads only the partitions the consumer group
 * gives it: every project is owned by one member at a time, so two members never fight over an object; a
 * partition moving away releases its keys (the runtime stops acting on them; nothing is deleted).
 */
public final class ReconcileWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReconcileWorker.class);

    private final DeploymentRuntime runtime;
    private final CompactedView<DesiredDeployment> desired;
    private final OwnedView<DesiredDeployment> ownedDesired;
    private final Set<String> dirty = new LinkedHashSet<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** A worker alone: it reads every partition of clops.desired. */
    public ReconcileWorker(String bootstrap, DeploymentRuntime runtime) {
        this(bootstrap, runtime, null);
    }

    /** With {@code group} non-null, a member of that consumer group owning only the partitions it is given. */
    public ReconcileWorker(String bootstrap, DeploymentRuntime runtime, String group) {
        this.runtime = runtime;
        if (group == null) {
            this.desired = new CompactedView<>(bootstrap, Topics.DESIRED);
            this.ownedDesired = null;
            desired.onChange((key, value) -> markDirty(key));
        } else {
            this.desired = null;
            this.ownedDesired = new OwnedView<>(bootstrap, Topics.DESIRED, group);
            ownedDesired.onChange((key, value) -> markDirty(key));
            ownedDesired.onRelease(key -> {
                String[] pn = key.split("/", 2);
                runtime.release(pn[0], pn[1]);
            });
        }
        this.thread = new Thread(this::loop, "reconcile-worker");
        thread.setDaemon(true);
    }

    public ReconcileWorker start() throws InterruptedException {
        if (ownedDesired != null) {
            ownedDesired.start();
            thread.start();
            return this;
        }
        desired.start();
        if (!desired.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.desired within 60 s");
        }
        thread.start();
        return this;
    }

    /** Partitions of clops.desired this worker owns (all, when it works alone). */
    public java.util.Set<Integer> ownedPartitions() {
        if (ownedDesired != null) {
            return ownedDesired.ownedPartitions();
        }
        return java.util.stream.IntStream.range(0, Topics.DESIRED.spec().partitions()).boxed().collect(java.util.stream.Collectors.toSet());
    }

    private void markDirty(String key) {
        synchronized (dirty) {
            dirty.add(key);
            dirty.notifyAll();
        }
    }

    private void loop() {
        while (running) {
            String key;
            synchronized (dirty) {
                while (dirty.isEmpty() && running) {
                    try {
                        dirty.wait(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (!running) {
                    return;
                }
                key = dirty.iterator().next();
                dirty.remove(key);
            }
            try {
                if (ownedDesired != null && !ownedDesired.owns(key)) {
                    continue; // released meanwhile: its new owner takes it from here
                }
                var d = ownedDesired != null ? ownedDesired.get(key) : desired.get(key);
                if (d.isPresent()) {
                    runtime.apply(d.get());
                } else {
                    String[] pn = key.split("/", 2);
                    runtime.delete(pn[0], pn[1]);
                }
            } catch (RuntimeException e) {
                LOG.error("reconciling {} failed: {}", key, e.toString(), e);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        synchronized (dirty) {
            dirty.notifyAll();
        }
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ownedDesired != null) {
            ownedDesired.close();
        } else {
            desired.close();
        }
    }
}
