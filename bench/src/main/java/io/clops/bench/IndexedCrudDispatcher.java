package io.clops.bench;

import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.CrudDispatcher;

import java.lang.reflect.Field;
import java.util.AbstractMap;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * fabric8's CRUD mock API server with one change: a lookup by name (every create, update and patch first looks for
 * the object it would replace) reads the objects of that name instead of scanning every stored object. The stock
 * dispatcher compares the request with each stored object's attributes, so each write costs time proportional to
 * everything stored: with ~3,000 objects its single event-loop thread, not the platform, sets the burst's pace (a
 * JFR profile of `bench/k8s-apply.sh 1000`: half of all samples on that thread, 90% of them in that scan). A real API
 * server reads an object by its key. Reads of lists, watches and everything else are the stock dispatcher's; the
 * objects stored and the answers given are the same. {@code bench/k8s-apply.sh} runs its bursts against both.
 */
final class IndexedCrudDispatcher extends KubernetesCrudDispatcher {
    /** Stored keys by their name attribute; guarded by {@link #map}'s own lock (it is a synchronized map). */
    private final Map<Attribute, Set<AttributeSet>> byName = new HashMap<>();

    IndexedCrudDispatcher() {
        Map<AttributeSet, String> indexed = Collections.synchronizedMap(new LinkedHashMap<>() {
            @Override
            public String put(AttributeSet key, String value) {
                Attribute name = key.getAttribute(KubernetesAttributesExtractor.NAME);
                if (name != null) {
                    byName.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(key);
                }
                return super.put(key, value);
            }

            @Override
            public String remove(Object key) {
                if (key instanceof AttributeSet set) {
                    Attribute name = set.getAttribute(KubernetesAttributesExtractor.NAME);
                    Set<AttributeSet> named = name == null ? null : byName.get(name);
                    if (named != null && named.remove(set) && named.isEmpty()) {
                        byName.remove(name);
                    }
                }
                return super.remove(key);
            }

            @Override
            public void clear() {
                byName.clear();
                super.clear();
            }
        });
        try {
            Field field = CrudDispatcher.class.getDeclaredField("map");
            field.setAccessible(true);
            field.set(this, indexed);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("fabric8's CrudDispatcher changed: no map field to index", e);
        }
    }

    @Override
    public Map.Entry<AttributeSet, String> findResource(AttributeSet query) {
        Attribute name = query.getAttribute(KubernetesAttributesExtractor.NAME);
        if (name == null) {
            return super.findResource(query);
        }
        synchronized (map) {
            for (AttributeSet key : byName.getOrDefault(name, Set.of())) {
                if (key.matches(query)) {
                    return new AbstractMap.SimpleImmutableEntry<>(key, map.get(key));
                }
            }
        }
        return null;
    }
}
