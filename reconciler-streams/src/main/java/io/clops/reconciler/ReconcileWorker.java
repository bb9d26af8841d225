package io.clops.reconciler;

import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Makes the world match clops.desired, level-triggered: it reads the whole compacted topic, and whenever a key
 * changes it hands the runtime the key's latest desired state (or its absence). After a restart it sees every
 * desired deployment again, so the runtime brings back whatever runs no longer. Status left over for keys that are
 * no longer desired is removed.
 */
public final class ReconcileWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReconcileWorker.class);

    private final DeploymentRuntime runtime;
    private final StatusWriter status;
    private final CompactedView<DesiredDeployment> desired;
    private final CompactedView<DeploymentStatus> observed;
    private final Set<String> dirty = new LinkedHashSet<>();
    private final Thread thread;
    private volatile boolean running = true;

    public ReconcileWorker(String bootstrap, DeploymentRuntime runtime, StatusWriter status) {
        this.runtime = runtime;
        this.status = status;
        this.desired = new CompactedView<>(bootstrap, Topics.DESIRED);
        this.observed = new CompactedView<>(bootstrap, Topics.STATUS);
        desired.onChange((key, value) -> markDirty(key));
        this.thread = new Thread(this::loop, "reconcile-worker");
        thread.setDaemon(true);
    }

    public ReconcileWorker start() throws InterruptedException {
        observed.start();
        desired.start();
        if (!desired.awaitCaughtUp(Duration.ofSeconds(60)) || !observed.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.desired / clops.status within 60 s");
        }
        for (String key : observed.snapshot().keySet()) {
            if (desired.get(key).isEmpty()) {
                String[] pn = key.split("/", 2);
                status.statusGone(pn[0], pn[1]);
            }
        }
        thread.start();
        return this;
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
                var d = desired.get(key);
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
        desired.close();
        observed.close();
    }
}
