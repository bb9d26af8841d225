package io.clops.registry;

import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.ModelVersion;
import io.clops.avro.RegistryEvent;
import io.clops.avro.VersionRegistered;

import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry as read from clops.registry: models per project, their versions and aliases, with who registered
 * what. Rebuilt from the log at every start; nothing else stores it.
 */
public final class RegistryView {

    public record Model(String project, String name, SortedMap<Integer, ModelVersion> versions,
                        SortedMap<String, Integer> aliases, Map<Integer, String> registeredBy) {
        public int latest() {
            return versions.isEmpty() ? 0 : versions.lastKey();
        }
    }

    private final Map<String, Model> models = new ConcurrentHashMap<>();

    /** Applies one event; the same rules as the topology's fold (a version is registered once). */
    public synchronized void apply(RegistryEvent ev) {
        String key = ev.getProject() + "/" + ev.getModel();
        Model m = models.computeIfAbsent(key, k -> new Model(ev.getProject(), ev.getModel(),
                new TreeMap<>(), new TreeMap<>(), new ConcurrentHashMap<>()));
        if (ev.getPayload() instanceof VersionRegistered reg) {
            if (m.versions().putIfAbsent(reg.getVersion().getVersion(), reg.getVersion()) == null) {
                m.registeredBy().put(reg.getVersion().getVersion(), ev.getActor());
            }
        } else if (ev.getPayload() instanceof AliasSet set) {
            m.aliases().put(set.getAlias(), set.getVersion());
        } else if (ev.getPayload() instanceof AliasRemoved removed) {
            m.aliases().remove(removed.getAlias());
        }
    }

    public synchronized Optional<Model> get(String project, String model) {
        return Optional.ofNullable(models.get(project + "/" + model)).map(RegistryView::copy);
    }

    public synchronized SortedMap<String, Model> inProject(String project) {
        SortedMap<String, Model> out = new TreeMap<>();
        models.values().stream().filter(m -> m.project().equals(project)).forEach(m -> out.put(m.name(), copy(m)));
        return out;
    }

    private static Model copy(Model m) {
        return new Model(m.project(), m.name(), new TreeMap<>(m.versions()), new TreeMap<>(m.aliases()), Map.copyOf(m.registeredBy()));
    }
}
