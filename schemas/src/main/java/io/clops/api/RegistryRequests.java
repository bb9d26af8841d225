package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.avro.ModelVersion;
import io.clops.avro.TensorSpec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Turns registry request bodies into events' payloads, or an {@link InvalidRequest} naming every bad field. */
public final class RegistryRequests {
    private RegistryRequests() {
    }

    private static final Set<String> VERSION_FIELDS = Set.of("version", "image", "command", "port", "protocol", "inputs", "outputs", "tags", "artifact");
    private static final Set<String> ARTIFACT_FIELDS = Set.of("uri", "sha256", "size", "format");
    /** What clops's own runtime serves (issue 13). */
    public static final Set<String> FORMATS = Set.of("onnx", "xgboost");
    public static final String STORE_PREFIX = "clops:artifacts/sha256/";
    private static final Set<String> DATATYPES = Set.of("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
            "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES");

    /** Bounds no real version needs to pass: they keep a version's record far below the log's record limit. */
    public static final int MAX_COMMAND_ARGS = 128;
    public static final int MAX_ARG_LENGTH = 4096;
    public static final int MAX_IMAGE_LENGTH = 512;
    public static final int MAX_TAGS = 64;
    public static final int MAX_TAG_KEY = 63;
    public static final int MAX_TAG_VALUE = 256;
    public static final int MAX_TENSORS = 64;
    public static final int MAX_TENSOR_NAME = 128;
    public static final int MAX_DIMENSIONS = 16;

    /** A version to register; version 0 when the body names none (the fold numbers it). */
    public static ModelVersion version(String project, String model, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("model", model, 40, errors);
        if (body == null || !body.isObject()) {
            throw new InvalidRequest("invalid model version", List.of(new FieldError("body", "must be a JSON object")));
        }
        unknownFields(body, VERSION_FIELDS, "", errors);
        int version = body.has("version") ? integer(body, "version", 1, 999_999_999, errors) : 0;
        String image = text(body, "image", errors);
        if (image != null && (image.length() > MAX_IMAGE_LENGTH || image.chars().anyMatch(ch -> ch <= 0x20 || ch >= 0x7f))) {
            errors.add(new FieldError("image", "must be an image reference of at most " + MAX_IMAGE_LENGTH
                    + " printable characters without spaces"));
        }
        List<String> command = new ArrayList<>();
        if (body.has("command")) {
            JsonNode c = body.get("command");
            if (!c.isArray() || c.isEmpty() || c.size() > MAX_COMMAND_ARGS) {
                errors.add(new FieldError("command", "must be a list of 1 to " + MAX_COMMAND_ARGS + " strings"));
            } else {
                for (int i = 0; i < c.size(); i++) {
                    if (!c.get(i).isTextual() || c.get(i).asText().isEmpty() || c.get(i).asText().length() > MAX_ARG_LENGTH) {
                        errors.add(new FieldError("command[" + i + "]", "must be a string of 1 to " + MAX_ARG_LENGTH
                                + " characters, not " + abbreviate(c.get(i))));
                    } else {
                        command.add(c.get(i).asText());
                    }
                }
            }
        }
        io.clops.avro.Artifact artifact = body.has("artifact") ? artifact(body.get("artifact"), errors) : null;
        if (image == null && !body.has("command") && !body.has("artifact")) {
            errors.add(new FieldError("command", "a version needs a command (local runtime), an image (Kubernetes) or a model file (artifact)"));
        }
        int port = body.has("port") ? integer(body, "port", 1, 65535, errors) : 8080;
        String protocol = body.has("protocol") ? text(body, "protocol", errors) : "v2";
        if (protocol != null && !protocol.equals("v2") && !protocol.equals("raw")) {
            errors.add(new FieldError("protocol", "must be v2 or raw, not '" + abbreviate(protocol) + "'"));
        }
        List<TensorSpec> inputs = tensors(body, "inputs", errors);
        List<TensorSpec> outputs = tensors(body, "outputs", errors);
        Map<String, String> tags = new HashMap<>();
        if (body.has("tags")) {
            if (!body.get("tags").isObject() || body.get("tags").size() > MAX_TAGS) {
                errors.add(new FieldError("tags", "must be an object of at most " + MAX_TAGS + " strings"));
            } else {
                body.get("tags").fields().forEachRemaining(e -> {
                    if (e.getKey().isEmpty() || e.getKey().length() > MAX_TAG_KEY) {
                        errors.add(new FieldError(FieldError.name("tags.", abbreviate(e.getKey())), "a tag's name is 1 to " + MAX_TAG_KEY + " characters"));
                    } else if (!e.getValue().isTextual() || e.getValue().asText().length() > MAX_TAG_VALUE) {
                        errors.add(new FieldError("tags." + e.getKey(), "must be a string of at most " + MAX_TAG_VALUE
                                + " characters, not " + abbreviate(e.getValue())));
                    } else {
                        tags.put(e.getKey(), e.getValue().asText());
                    }
                });
            }
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid model version", errors);
        }
        return ModelVersion.newBuilder().setModel(model).setVersion(version).setImage(image).setCommand(command)
                .setPort(port).setProtocol(protocol).setInputs(inputs).setOutputs(outputs).setTags(tags).setArtifact(artifact).build();
    }

    /**
     * A model file: {@code uri} in the platform's store ({@value #STORE_PREFIX}&lt;sha256&gt;, what an upload gives) or
     * an absolute {@code file:} path or an {@code http(s)://} URL (fetched where it is served, checked against the
     * digest); {@code sha256} 64 lowercase hex digits (the store's URI must carry the same);
     * {@code size} in bytes; {@code format} onnx or xgboost.
     */
    /** An http(s) URL with a host, no user info, no whitespace or control characters. */
    static boolean webUri(String uri) {
        if (!uri.matches("https?://[\\x21-\\x7e]+")) {
            return false;
        }
        try {
            java.net.URI u = new java.net.URI(uri);
            return u.getHost() != null && !u.getHost().isEmpty() && u.getRawUserInfo() == null && u.getRawFragment() == null;
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    static io.clops.avro.Artifact artifact(JsonNode a, List<FieldError> errors) {
        if (a == null || !a.isObject()) {
            errors.add(new FieldError("artifact", "must be an object: uri, sha256, size, format"));
            return null;
        }
        int before = errors.size();
        unknownFields(a, ARTIFACT_FIELDS, "artifact.", errors);
        String sha = a.path("sha256").isTextual() ? a.get("sha256").asText() : null;
        if (sha == null || !sha.matches("[0-9a-f]{64}")) {
            errors.add(new FieldError("artifact.sha256", "must be the file's SHA-256: 64 lowercase hexadecimal digits, not " + abbreviate(a.path("sha256"))));
        }
        String uri = a.path("uri").isTextual() ? a.get("uri").asText() : null;
        if (uri == null || uri.length() > 1024 || !(uri.startsWith(STORE_PREFIX) || uri.matches("file:/[^\\u0000-\\u001f]+") || webUri(uri))) {
            errors.add(new FieldError("artifact.uri", "must be " + STORE_PREFIX + "<sha256> (an upload's), file:/an/absolute/path or an"
                    + " http(s)://host/path URL, not " + abbreviate(a.path("uri"))));
        } else if (uri.startsWith(STORE_PREFIX) && sha != null && !uri.equals(STORE_PREFIX + sha)) {
            errors.add(new FieldError("artifact.uri", "names digest " + uri.substring(STORE_PREFIX.length()) + " but artifact.sha256 is " + sha));
        } else if (uri.startsWith("file:") && (uri.contains("/../") || uri.endsWith("/.."))) {
            errors.add(new FieldError("artifact.uri", "must not climb out of a directory (..)"));
        }
        JsonNode size = a.path("size");
        if (!size.isIntegralNumber() || !size.canConvertToLong() || size.asLong() < 1 || size.asLong() > (1L << 40)) {
            errors.add(new FieldError("artifact.size", "must be the file's size in bytes, 1 to 2^40, not " + abbreviate(size)));
        }
        String format = a.path("format").isTextual() ? a.get("format").asText() : null;
        if (format == null || !FORMATS.contains(format)) {
            errors.add(new FieldError("artifact.format", "must be one of " + new java.util.TreeSet<>(FORMATS) + ", not " + abbreviate(a.path("format"))));
        }
        if (errors.size() > before) {
            return null;
        }
        return io.clops.avro.Artifact.newBuilder().setUri(uri).setSha256(sha).setSize(size.asLong()).setFormat(format).build();
    }

    /**
     * Checks a version that arrived already typed (an Avro envelope on the intake) by the same rules as a request
     * body: written out as one and parsed. Version 0 means the fold numbers it.
     */
    public static ModelVersion validate(String project, String model, ModelVersion v) {
        if (v == null) {
            throw new InvalidRequest("invalid model version", List.of(new FieldError("version", "is required")));
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            com.fasterxml.jackson.databind.node.ObjectNode body = (com.fasterxml.jackson.databind.node.ObjectNode)
                    json.readTree(org.apache.avro.generic.GenericData.get().toString(v));
            if (v.getModel() != null && !v.getModel().equals(model)) {
                throw new InvalidRequest("invalid model version", List.of(new FieldError("version.model",
                        "'" + v.getModel() + "' differs from the event's model '" + model + "'")));
            }
            body.remove("model");
            if (v.getCommand().isEmpty()) {
                body.remove("command"); // typed, an empty list is "no command"
            }
            if (v.getVersion() == 0) {
                body.remove("version");
            }
            List<String> nulls = new ArrayList<>();
            body.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    nulls.add(e.getKey());
                }
            });
            body.remove(nulls);
            return version(project, model, body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRequest("invalid model version", List.of(new FieldError("version", "cannot be read: " + e.getOriginalMessage())));
        }
    }

    /** The version an alias should point at. */
    public static int aliasTarget(String alias, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkLabel("alias", alias, 40, errors);
        int version = 0;
        if (body == null || !body.isObject() || !body.has("version")) {
            errors.add(new FieldError("version", "is required"));
        } else {
            unknownFields(body, Set.of("version"), "", errors);
            version = integer(body, "version", 1, 999_999_999, errors);
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid alias", errors);
        }
        return version;
    }

    private static List<TensorSpec> tensors(JsonNode body, String field, List<FieldError> errors) {
        List<TensorSpec> out = new ArrayList<>();
        if (!body.has(field)) {
            return out;
        }
        JsonNode arr = body.get(field);
        if (!arr.isArray() || arr.size() > MAX_TENSORS) {
            errors.add(new FieldError(field, "must be a list of at most " + MAX_TENSORS + " {name, datatype, shape}"));
            return out;
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode t = arr.get(i);
            String f = field + "[" + i + "]";
            if (!t.isObject()) {
                errors.add(new FieldError(f, "must be an object {name, datatype, shape}"));
                continue;
            }
            unknownFields(t, Set.of("name", "datatype", "shape"), f + ".", errors);
            String name = t.path("name").asText("");
            if (t.path("name").isTextual() && !name.isEmpty() && !names.add(name)) {
                errors.add(new FieldError(f + ".name", "'" + name + "' is named twice in " + field));
            }
            if (!t.path("name").isTextual() || name.isEmpty() || name.length() > MAX_TENSOR_NAME) {
                errors.add(new FieldError(f + ".name", "is required"));
            }
            String dt = t.path("datatype").asText("");
            if (!DATATYPES.contains(dt)) {
                errors.add(new FieldError(f + ".datatype", "must be one of " + new java.util.TreeSet<>(DATATYPES) + ", not '" + abbreviate(dt) + "'"));
            }
            List<Long> shape = new ArrayList<>();
            if (!t.path("shape").isArray() || t.get("shape").size() > MAX_DIMENSIONS) {
                errors.add(new FieldError(f + ".shape", "must be a list of integers (-1 for a variable dimension)"));
            } else {
                JsonNode dims = t.get("shape");
                for (int d = 0; d < dims.size(); d++) {
                    JsonNode dim = dims.get(d);
                    if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.asLong() < -1) {
                        errors.add(new FieldError(f + ".shape[" + d + "]", "must be an integer of at least -1 (-1: variable), not " + abbreviate(dim)));
                    } else {
                        shape.add(dim.asLong());
                    }
                }
            }
            out.add(TensorSpec.newBuilder().setName(t.path("name").asText()).setDatatype(dt).setShape(shape).build());
        }
        return out;
    }

    /** A value as a message shows it: at most 60 characters of it. */
    public static String abbreviate(Object value) {
        String s = String.valueOf(value);
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    static void unknownFields(JsonNode node, Set<String> known, String prefix, List<FieldError> errors) {
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (!known.contains(f)) {
                errors.add(new FieldError(FieldError.name(prefix, f), "unknown field"));
            }
        }
    }

    private static String text(JsonNode body, String field, List<FieldError> errors) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual() || n.asText().isBlank()) {
            errors.add(new FieldError(field, "must be a non-empty string"));
            return null;
        }
        return n.asText();
    }

    private static int integer(JsonNode body, String field, int min, int max, List<FieldError> errors) {
        JsonNode n = body.get(field);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) {
            errors.add(new FieldError(field, "must be an integer"));
            return 0;
        }
        int v = n.asInt();
        if (v < min || v > max) {
            errors.add(new FieldError(field, "must be between " + min + " and " + max + ", not " + v));
        }
        return v;
    }
}
