package io.clops.k8s.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Quantity;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;

/**
 * Compares only what clops manages: every field the desired object sets must have the same value in the live
 * object; fields the server or others add (defaults, status, resourceVersion, extra labels) are ignored.
 * Quantities compare by amount ("0.5" equals "500m").
 */
public final class ManagedFields {
    static final ObjectMapper JSON = new ObjectMapper();

    private ManagedFields() {
    }

    /** The part of an object clops writes: apiVersion, kind, spec (and other top-level data), and our metadata. */
    public static ObjectNode managed(JsonNode object) {
        ObjectNode out = object.deepCopy();
        out.remove("status");
        JsonNode meta = object.path("metadata");
        ObjectNode m = JSON.createObjectNode();
        for (String f : new String[]{"name", "namespace", "labels", "annotations", "ownerReferences"}) {
            if (meta.has(f)) {
                m.set(f, meta.get(f));
            }
        }
        out.set("metadata", m);
        return out;
    }

    /**
     * Maps clops owns whole, by kind: a key it no longer sets must go (a quota limit removed from the project). Elsewhere
     * keys others add are left alone.
     */
    static final Map<String, String> OWNED_WHOLE = Map.of("ResourceQuota", "/spec/hard");

    /** True when {@code live} has every value {@code desired} sets, and nothing more in a map clops owns whole. */
    public static boolean matches(JsonNode live, JsonNode desired) {
        if (!covers(live, desired)) {
            return false;
        }
        String owned = OWNED_WHOLE.get(desired.path("kind").asText());
        if (owned == null) {
            return true;
        }
        JsonNode want = desired.at(owned);
        for (Iterator<String> it = live.at(owned).fieldNames(); it.hasNext(); ) {
            if (!want.has(it.next())) {
                return false;
            }
        }
        return true;
    }

    /** {@link #overlay}, with each map clops owns whole replaced by the desired one. */
    public static JsonNode merge(JsonNode live, JsonNode desired) {
        JsonNode out = overlay(live, desired);
        String owned = OWNED_WHOLE.get(desired.path("kind").asText());
        if (owned != null && out.at(owned.substring(0, owned.lastIndexOf('/'))) instanceof ObjectNode parent) {
            String field = owned.substring(owned.lastIndexOf('/') + 1);
            JsonNode want = desired.at(owned);
            if (want.isMissingNode()) {
                parent.remove(field);
            } else {
                parent.set(field, want.deepCopy());
            }
        }
        return out;
    }

    /** True when {@code live} has every value {@code desired} sets. */
    public static boolean covers(JsonNode live, JsonNode desired) {
        if (desired == null || desired.isNull()) {
            return true;
        }
        if (live == null || live.isMissingNode() || live.isNull()) {
            return false;
        }
        if (desired.isObject()) {
            if (!live.isObject()) {
                return false;
            }
            Iterator<Map.Entry<String, JsonNode>> it = desired.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (!covers(live.get(e.getKey()), e.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (desired.isArray()) {
            if (!live.isArray() || live.size() != desired.size()) {
                return false;
            }
            for (int i = 0; i < desired.size(); i++) {
                if (!covers(live.get(i), desired.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (desired.equals(live)) {
            return true;
        }
        return sameQuantity(live, desired);
    }

    /**
     * The live object with every managed field set to its desired value: objects merge field by field, lists and
     * values are replaced whole. Fields clops does not set (defaults, others' labels, status) stay as they are.
     */
    public static JsonNode overlay(JsonNode live, JsonNode desired) {
        if (desired.isObject() && live != null && live.isObject()) {
            ObjectNode out = live.deepCopy();
            Iterator<Map.Entry<String, JsonNode>> it = desired.fields();
            while (it.hasNext()) {
                var e = it.next();
                out.set(e.getKey(), overlay(live.get(e.getKey()), e.getValue()));
            }
            return out;
        }
        return desired.deepCopy();
    }

    /** The path of the first managed field whose live value differs, for logs; null when covered. */
    public static String firstDifference(JsonNode live, JsonNode desired, String path) {
        if (covers(live, desired)) {
            return null;
        }
        if (desired.isObject() && live != null && live.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = desired.fields();
            while (it.hasNext()) {
                var e = it.next();
                String d = firstDifference(live.get(e.getKey()), e.getValue(), path + "." + e.getKey());
                if (d != null) {
                    return d;
                }
            }
        }
        if (desired.isArray() && live != null && live.isArray() && live.size() == desired.size()) {
            for (int i = 0; i < desired.size(); i++) {
                String d = firstDifference(live.get(i), desired.get(i), path + "[" + i + "]");
                if (d != null) {
                    return d;
                }
            }
        }
        return path + " (live " + (live == null ? "absent" : live) + ", desired " + desired + ")";
    }

    private static boolean sameQuantity(JsonNode a, JsonNode b) {
        if (!(a.isValueNode() && b.isValueNode())) {
            return false;
        }
        try {
            BigDecimal x = Quantity.getAmountInBytes(new Quantity(a.asText()));
            BigDecimal y = Quantity.getAmountInBytes(new Quantity(b.asText()));
            return x.compareTo(y) == 0;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
