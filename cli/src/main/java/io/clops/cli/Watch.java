package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@code clops get -w} prints: each deployment whose row changed, and those gone. */
final class Watch {
    private Watch() {
    }

    /** Each deployment of a listing (or one deployment) by project/name, rendered as it would be printed. */
    static Map<String, String> rows(JsonNode data, Output.Format format) {
        Map<String, String> out = new LinkedHashMap<>();
        List<JsonNode> list = new ArrayList<>();
        if (data.has("items")) {
            data.get("items").forEach(list::add);
        } else if (data.isObject() && data.has("name")) {
            list.add(data);
        }
        for (JsonNode d : list) {
            String key = d.path("project").asText() + "/" + d.path("name").asText();
            out.put(key, format == Output.Format.table
                    ? String.join("   ", Ui.DEPLOYMENT_COLUMNS.stream().map(c -> c.value().apply(d)).toList())
                    : d.toString());
        }
        return out;
    }

    /** The lines to print going from {@code before} to {@code now}: changed or new rows, then those gone. */
    static List<String> changes(Map<String, String> before, Map<String, String> now) {
        List<String> lines = new ArrayList<>();
        now.forEach((k, row) -> {
            if (!row.equals(before.get(k))) {
                lines.add(row);
            }
        });
        before.keySet().stream().filter(k -> !now.containsKey(k)).forEach(k -> lines.add(k + " DELETED"));
        return lines;
    }
}
