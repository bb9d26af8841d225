package io.clops.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks an OIP v2 infer request against the model's declared inputs (name, datatype, shape; -1 is any size)
 * before the model sees it. The answer names the input: {@code input 'input-0': shape [1,3] does not match [-1,4]}.
 */
public final class ShapeValidator {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern INFER = Pattern.compile("/v2/models/[^/]+(/versions/[^/]+)?/infer");

    public record Input(String name, String datatype, List<Long> shape) {
    }

    private final Map<String, Input> declared;

    public ShapeValidator(List<Input> inputs) {
        this.declared = inputs.stream().collect(Collectors.toMap(Input::name, i -> i, (a, b) -> a, java.util.LinkedHashMap::new));
    }

    /** Reads CLOPS_INPUTS: a JSON list of {name, datatype, shape}. */
    public static ShapeValidator fromJson(String json) {
        List<Input> inputs = new ArrayList<>();
        if (json != null && !json.isBlank()) {
            try {
                for (JsonNode n : JSON.readTree(json)) {
                    List<Long> shape = new ArrayList<>();
                    n.path("shape").forEach(d -> shape.add(d.asLong()));
                    inputs.add(new Input(n.path("name").asText(), n.path("datatype").asText(), shape));
                }
            } catch (Exception e) {
                throw new IllegalArgumentException("CLOPS_INPUTS is not a JSON list of {name, datatype, shape}: " + e.getMessage(), e);
            }
        }
        return new ShapeValidator(inputs);
    }

    public boolean appliesTo(String method, String path) {
        return !declared.isEmpty() && "POST".equals(method) && INFER.matcher(path).matches();
    }

    /** Null when the request fits, else what is wrong. */
    public String check(byte[] body) {
        return check(new java.io.ByteArrayInputStream(body));
    }

    /** The same, reading the body from a stream. */
    public String check(java.io.InputStream body) {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (Exception e) {
            return "request body is not valid JSON";
        }
        if (req == null || !req.path("inputs").isArray()) {
            return "inputs: a list of tensors is required";
        }
        List<String> seen = new ArrayList<>();
        for (JsonNode in : req.get("inputs")) {
            String name = in.path("name").asText(null);
            if (name == null) {
                return "inputs: every input needs a name";
            }
            seen.add(name);
            Input d = declared.get(name);
            if (d == null) {
                return "input '" + name + "' is not declared (declared: " + String.join(", ", declared.keySet()) + ")";
            }
            String dt = in.path("datatype").asText("");
            if (!d.datatype().equals(dt)) {
                return "input '" + name + "': datatype " + (dt.isEmpty() ? "missing" : dt) + ", expected " + d.datatype();
            }
            List<Long> shape = new ArrayList<>();
            in.path("shape").forEach(x -> shape.add(x.asLong()));
            if (!fits(shape, d.shape())) {
                return "input '" + name + "': shape " + shape + " does not match " + d.shape();
            }
            JsonNode data = in.get("data");
            if (data != null) {
                long expected = shape.stream().reduce(1L, (a, b) -> a * b);
                long got = count(data);
                if (got != expected) {
                    return "input '" + name + "': " + got + " values for shape " + shape + " (expected " + expected + ")";
                }
            }
        }
        for (String name : declared.keySet()) {
            if (!seen.contains(name)) {
                return "input '" + name + "' is required";
            }
        }
        return null;
    }

    private static boolean fits(List<Long> shape, List<Long> declared) {
        if (shape.size() != declared.size()) {
            return false;
        }
        for (int i = 0; i < shape.size(); i++) {
            if (shape.get(i) < 0 || (declared.get(i) >= 0 && !declared.get(i).equals(shape.get(i)))) {
                return false;
            }
        }
        return true;
    }

    private static long count(JsonNode data) {
        if (!data.isArray()) {
            return 1;
        }
        long n = 0;
        for (JsonNode x : data) {
            n += count(x);
        }
        return n;
    }
}
