package io.clops.registry;

import io.clops.avro.ModelState;
import io.clops.kafka.Topics;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The registry as the fold decided it, read from clops.models: a read view only. Nothing here decides anything; the
 * fold numbers versions and judges aliases and archiving (the gateway submits, the fold answers).
 */
public final class RegistryView {
    private final Map<String, ModelState> models = new ConcurrentHashMap<>();
    private final Object changed = new Object();

    /** Applies one record of clops.models (null: gone). */
    public void apply(String key, ModelState m) {
        if (m == null) {
            models.remove(key);
        } else {
            models.put(key, m);
        }
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    public Optional<ModelState> get(String project, String model) {
        return Optional.ofNullable(models.get(Topics.modelKey(project, model)));
    }

    public SortedMap<String, ModelState> inProject(String project) {
        SortedMap<String, ModelState> out = new TreeMap<>();
        models.values().stream().filter(m -> m.getProject().equals(project)).forEach(m -> out.put(m.getName(), m));
        return out;
    }

    /**
     * Waits, at most {@code timeout}, until the model's state satisfies {@code ready}: a caller told its version was
     * registered then reads it back (the verdict and the model's record are written in one transaction; this view's
     * reader may just not have fetched it yet).
     */
    public Optional<ModelState> await(String project, String model, Predicate<ModelState> ready, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (true) {
                Optional<ModelState> m = get(project, model);
                if (m.isPresent() && ready.test(m.get())) {
                    return m;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return m;
                }
                changed.wait(Math.max(1, left / 1_000_000));
            }
        }
    }
}
