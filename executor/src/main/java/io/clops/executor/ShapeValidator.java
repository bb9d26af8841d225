package io.clops.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.api.InvalidRequest;
import io.clops.api.StrictJson;

import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks an OIP v2 infer request against the model's declared inputs before the model sees it, exactly: one JSON
 * value in UTF-8 (no duplicate keys, nothing after it); each input named once, declared, of its declared datatype;
 * a shape of non-negative integers that fits the declared one (-1: any size), whose element count is computed
 * without overflow and bounded by what a body of maxBodyBytes can hold; {@code data} present, nested or flat, with
 * exactly that many elements, each of the datatype's kind (numbers for numeric types, finite and in the type's range;
 * booleans for BOOL; strings for BYTES). The answer names the input and the element:
 * {@code input 'input-0': data[3] must be a finite FP32 number, not 1e999}.
 */
public final class ShapeValidator {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** OIP v2 infer paths (the target already in its normal form: see Http1.normalize); a trailing slash included. */
    private static final Pattern INFER = Pattern.compile("/v2/models/[^/]+(/versions/[^/]+)?/infer/?");
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    public record Input(String name, String datatype, List<Long> shape) {
    }

    private final Map<String, Input> declared;
    private final long maxElements;
    private final ObjectMapper strict;

    public ShapeValidator(List<Input> inputs) {
        this(inputs, 10L * 1024 * 1024);
    }

    /** @param maxBodyBytes the largest body the executor takes: no tensor can have more elements than half of it */
    public ShapeValidator(List<Input> inputs, long maxBodyBytes) {
        this.declared = inputs.stream().collect(Collectors.toMap(Input::name, i -> i, (a, b) -> a, java.util.LinkedHashMap::new));
        this.maxElements = Math.max(1, maxBodyBytes / 2); // each element takes at least two bytes: a digit and a comma
        this.strict = StrictJson.mapper((int) Math.min(Integer.MAX_VALUE, maxBodyBytes));
    }

    /** Reads CLOPS_INPUTS: a JSON list of {name, datatype, shape}. */
    public static ShapeValidator fromJson(String json, long maxBodyBytes) {
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
        return new ShapeValidator(inputs, maxBodyBytes);
    }

    public static ShapeValidator fromJson(String json) {
        return fromJson(json, 10L * 1024 * 1024);
    }

    public boolean appliesTo(String method, String path) {
        return !declared.isEmpty() && "POST".equals(method) && INFER.matcher(path).matches();
    }

    /** Null when the request fits, else what is wrong. */
    public String check(byte[] body) {
        JsonNode req;
        try {
            req = StrictJson.parse(body, strict);
        } catch (InvalidRequest e) {
            return e.errors().get(0).toString();
        }
        if (!req.isObject()) {
            return "body: must be an OIP v2 infer request (a JSON object with inputs)";
        }
        JsonNode inputs = req.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
            return "inputs: a non-empty list of tensors is required";
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < inputs.size(); i++) {
            String wrong = input(inputs.get(i), i, seen);
            if (wrong != null) {
                return wrong;
            }
        }
        for (String name : declared.keySet()) {
            if (!seen.contains(name)) {
                return "input '" + name + "' is required";
            }
        }
        return null;
    }

    /** The same, reading the body from a stream (already bounded by the executor's maxBodyBytes). */
    public String check(java.io.InputStream body) {
        try {
            return check(body.readAllBytes());
        } catch (java.io.IOException e) {
            return "body: cannot be read";
        }
    }

    private String input(JsonNode in, int index, Set<String> seen) {
        if (!in.isObject()) {
            return "inputs[" + index + "]: must be a tensor {name, datatype, shape, data}";
        }
        JsonNode n = in.get("name");
        if (n == null || !n.isTextual() || n.asText().isEmpty()) {
            return "inputs[" + index + "].name: every input needs a name";
        }
        String name = n.asText();
        if (!seen.add(name)) {
            return "input '" + name + "' is given twice";
        }
        Input d = declared.get(name);
        if (d == null) {
            return "input '" + name + "' is not declared (declared: " + String.join(", ", declared.keySet()) + ")";
        }
        JsonNode dtNode = in.get("datatype");
        String dt = dtNode != null && dtNode.isTextual() ? dtNode.asText() : "";
        if (!d.datatype().equals(dt)) {
            return "input '" + name + "': datatype " + (dtNode == null ? "missing" : dtNode.isTextual() ? dt : dtNode.toString())
                    + ", expected " + d.datatype();
        }
        JsonNode shapeNode = in.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            return "input '" + name + "': shape must be a list of non-negative integers";
        }
        List<Long> shape = new ArrayList<>(shapeNode.size());
        for (int k = 0; k < shapeNode.size(); k++) {
            JsonNode dim = shapeNode.get(k);
            if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.asLong() < 0) {
                return "input '" + name + "': shape[" + k + "] must be a non-negative integer, not " + abbreviate(dim);
            }
            shape.add(dim.asLong());
        }
        if (!fits(shape, d.shape())) {
            return "input '" + name + "': shape " + shape + " does not match " + d.shape();
        }
        long expected = 1;
        for (long dim : shape) {
            try {
                expected = Math.multiplyExact(expected, dim);
            } catch (ArithmeticException e) {
                expected = Long.MAX_VALUE;
            }
            if (expected > maxElements) {
                return "input '" + name + "': shape " + shape + " has more elements than a request body can hold (" + maxElements + ")";
            }
        }
        JsonNode data = in.get("data");
        if (data == null || data.isNull()) {
            return "input '" + name + "': data is required";
        }
        return elements(name, d.datatype(), data, expected, shape);
    }

    /** Walks the data (nested or flat) without recursion: counts the elements and checks each one's kind. */
    private static String elements(String name, String datatype, JsonNode data, long expected, List<Long> shape) {
        Deque<JsonNode> todo = new ArrayDeque<>();
        todo.push(data);
        long count = 0;
        while (!todo.isEmpty()) {
            JsonNode x = todo.pop();
            if (x.isArray()) {
                for (int k = x.size() - 1; k >= 0; k--) {
                    todo.push(x.get(k));
                }
                continue;
            }
            String kind = kind(datatype, x);
            if (kind != null) {
                return "input '" + name + "': data[" + count + "] must be " + kind + ", not " + abbreviate(x);
            }
            if (++count > expected) {
                break;
            }
        }
        if (count != expected) {
            return "input '" + name + "': " + (count > expected ? "more than " + expected : Long.toString(count)) + " values for shape "
                    + shape + " (expected " + expected + ")";
        }
        return null;
    }

    /** Null when {@code x} is an element of {@code datatype}, else what it must be. */
    static String kind(String datatype, JsonNode x) {
        switch (datatype) {
            case "BOOL":
                return x.isBoolean() ? null : "true or false";
            case "BYTES":
                return x.isTextual() ? null : "a string";
            case "FP16":
                return x.isNumber() && Math.abs(x.asDouble()) <= 65504 ? null : "a finite FP16 number (at most 65504 in magnitude)";
            case "FP32":
                return x.isNumber() && Math.abs(x.asDouble()) <= Float.MAX_VALUE ? null : "a finite FP32 number";
            case "FP64":
                return x.isNumber() && Double.isFinite(x.asDouble()) ? null : "a finite FP64 number";
            case "INT8":
                return integer(x, -128, 127);
            case "INT16":
                return integer(x, Short.MIN_VALUE, Short.MAX_VALUE);
            case "INT32":
                return integer(x, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case "INT64":
                return integer(x, Long.MIN_VALUE, Long.MAX_VALUE);
            case "UINT8":
                return integer(x, 0, 255);
            case "UINT16":
                return integer(x, 0, 65535);
            case "UINT32":
                return integer(x, 0, 4294967295L);
            case "UINT64":
                return x.isIntegralNumber() && x.bigIntegerValue().signum() >= 0 && x.bigIntegerValue().compareTo(UINT64_MAX) <= 0
                        ? null : "an integer from 0 to " + UINT64_MAX;
            default:
                return "of a datatype the executor knows (declared " + datatype + ")";
        }
    }

    private static String integer(JsonNode x, long min, long max) {
        return x.isIntegralNumber() && x.canConvertToLong() && x.asLong() >= min && x.asLong() <= max
                ? null : "an integer from " + min + " to " + max;
    }

    private static String abbreviate(JsonNode x) {
        String s = x.isNumber() ? x.asText() : x.toString();
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    private static boolean fits(List<Long> shape, List<Long> declared) {
        if (shape.size() != declared.size()) {
            return false;
        }
        for (int i = 0; i < shape.size(); i++) {
            if (declared.get(i) >= 0 && !declared.get(i).equals(shape.get(i))) {
                return false;
            }
        }
        return true;
    }
}
