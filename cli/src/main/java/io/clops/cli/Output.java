package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Tables by default, {@code -o json}, {@code -o yaml} or {@code -o jsonl} (one line per item) on request. */
public final class Output {
    public enum Format { table, json, yaml, jsonl }

    private static final ObjectMapper COMPACT = new ObjectMapper();

    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

    public record Column(String header, Function<JsonNode, String> value) {
    }

    public static Column col(String header, String pointer) {
        return new Column(header, n -> {
            JsonNode v = n.at(pointer);
            return v.isMissingNode() || v.isNull() ? "" : v.isValueNode() ? v.asText() : v.toString();
        });
    }

    /** Prints {@code data} (an object, or {@code items} of it as rows) in the chosen format. */
    public static void print(PrintWriter out, Format format, JsonNode data, List<Column> columns) {
        try {
            switch (format) {
                case json -> out.println(PRETTY.writeValueAsString(data));
                case yaml -> out.print(YAML.writeValueAsString(data));
                case jsonl -> { // one compact JSON document per line: each item, or the object (what a SIEM or Elasticsearch ingests)
                    if (data.has("items") && data.get("items").isArray()) {
                        for (JsonNode item : data.get("items")) {
                            out.println(COMPACT.writeValueAsString(item));
                        }
                    } else {
                        out.println(COMPACT.writeValueAsString(data));
                    }
                }
                case table -> table(out, data.has("items") ? data.get("items") : data, columns);
            }
        } catch (Exception e) {
            throw new CliException("cannot print output: " + e.getMessage());
        }
        out.flush();
    }

    static void table(PrintWriter out, JsonNode rows, List<Column> columns) {
        List<JsonNode> list = new ArrayList<>();
        if (rows.isArray()) {
            rows.forEach(list::add);
        } else {
            list.add(rows);
        }
        int[] width = new int[columns.size()];
        List<String[]> cells = new ArrayList<>();
        for (int c = 0; c < columns.size(); c++) {
            width[c] = columns.get(c).header().length();
        }
        for (JsonNode row : list) {
            String[] r = new String[columns.size()];
            for (int c = 0; c < columns.size(); c++) {
                r[c] = columns.get(c).value().apply(row);
                width[c] = Math.max(width[c], r[c].length());
            }
            cells.add(r);
        }
        StringBuilder fmt = new StringBuilder();
        for (int c = 0; c < columns.size(); c++) {
            fmt.append(c == columns.size() - 1 ? "%s" : "%-" + (width[c] + 3) + "s");
        }
        fmt.append("%n");
        out.printf(fmt.toString(), columns.stream().map(Column::header).toArray());
        for (String[] r : cells) {
            out.printf(fmt.toString(), (Object[]) r);
        }
        if (list.isEmpty()) {
            out.println("(none)");
        }
    }
}
