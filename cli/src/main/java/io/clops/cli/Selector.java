package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** {@code -l model=iris,phase!=Ready}: which deployments a listing shows. Every term must hold. */
record Selector(List<Term> terms) {
    record Term(String key, boolean equals, String value) {
    }

    /** What each key reads of a deployment as the API shows it. */
    static final Map<String, Function<JsonNode, List<String>>> KEYS = Map.of(
            "model", d -> {
                List<String> models = new ArrayList<>();
                models.add(d.at("/spec/model").asText().split("[@:]")[0]);
                d.path("routes").forEach(r -> models.add(r.path("model").asText()));
                return models;
            },
            "phase", d -> List.of(d.at("/status/phase").asText()),
            "mode", d -> List.of(d.at("/spec/mode").asText()),
            "project", d -> List.of(d.path("project").asText()));

    static Selector parse(List<String> written) {
        List<Term> terms = new ArrayList<>();
        for (String w : written) {
            int ne = w.indexOf("!=");
            int eq = w.indexOf('=');
            boolean not = ne > 0 && ne < eq;
            int at = not ? ne : eq;
            String key = at > 0 ? w.substring(0, at).trim() : "";
            if (at <= 0 || !KEYS.containsKey(key)) {
                throw new CliException("-l " + w + ": expected KEY=VALUE or KEY!=VALUE with KEY one of "
                        + String.join(", ", new java.util.TreeSet<>(KEYS.keySet())), CliException.USAGE);
            }
            terms.add(new Term(key, !not, w.substring(at + (not ? 2 : 1)).trim()));
        }
        return new Selector(terms);
    }

    boolean matches(JsonNode deployment) {
        for (Term t : terms) {
            boolean has = KEYS.get(t.key()).apply(deployment).contains(t.value());
            if (has != t.equals()) {
                return false;
            }
        }
        return true;
    }

    /** A listing ({@code {"items": [...]}}) with only the deployments that match. */
    JsonNode filter(JsonNode listing) {
        if (terms.isEmpty()) {
            return listing;
        }
        ObjectNode out = ApiClient.JSON.createObjectNode();
        ArrayNode items = out.putArray("items");
        listing.path("items").forEach(d -> {
            if (matches(d)) {
                items.add(d);
            }
        });
        return out;
    }
}
