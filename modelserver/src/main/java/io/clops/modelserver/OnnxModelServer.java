package io.clops.modelserver;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * clops's own runtime for ONNX model files: the file's SHA-256 is checked against the one it was registered with
 * (a mismatch is refused, naming both, before anything loads it), ONNX Runtime loads it, and it is served over the
 * Open Inference Protocol v2 (REST) with its inputs and outputs (names, datatypes, shapes) read from the model:
 * {@code GET /v2/models/{name}} shows them, and an infer request is checked against them (each input present, of
 * the model's datatype, a shape that fits the model's, as many finite values as the shape says), else 400 naming
 * the input. Datatypes: FP32, FP64, INT32, INT64.
 * <pre>
 * java -cp … io.clops.modelserver.OnnxModelServer --file iris.onnx --sha256 HEX [--name iris] [--port 8080 | env PORT]
 * </pre>
 */
public final class OnnxModelServer implements AutoCloseable {
    static {
        System.setProperty("sun.net.httpserver.nodelay", "true"); // small answers must not wait for a delayed ACK
    }

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    static final long MAX_BODY = 16L << 20;

    private final String name;
    private final String sha256;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Map<String, TensorInfo> inputs = new LinkedHashMap<>();
    private final Map<String, TensorInfo> outputs = new LinkedHashMap<>();
    private final HttpServer server;

    public OnnxModelServer(Path file, String sha256, String name, String host, int port) throws IOException, OrtException {
        this.sha256 = Artifacts.verify(file, sha256); // before ONNX Runtime reads a byte of it
        this.name = name;
        this.session = env.createSession(file.toString(), new OrtSession.SessionOptions());
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            inputs.put(e.getKey(), tensor(e.getValue(), "input"));
        }
        for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
            outputs.put(e.getKey(), tensor(e.getValue(), "output"));
        }
        this.server = HttpServer.create(new InetSocketAddress(host, port), 128);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors())));
    }

    private static TensorInfo tensor(NodeInfo n, String what) {
        if (!(n.getInfo() instanceof TensorInfo t)) {
            throw new IllegalArgumentException("the model's " + what + " '" + n.getName() + "' is not a tensor (" + n.getInfo() + "): not served");
        }
        datatype(t.type); // refuses what this server does not speak
        return t;
    }

    public OnnxModelServer start() {
        server.start();
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        try {
            session.close();
        } catch (OrtException e) {
            // closing: nothing to do
        }
    }

    static String datatype(OnnxJavaType t) {
        return switch (t) {
            case FLOAT -> "FP32";
            case DOUBLE -> "FP64";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
            default -> throw new IllegalArgumentException("tensors of " + t + " are not served (FP32, FP64, INT32, INT64)");
        };
    }

    /** What the model declares, as OIP v2 metadata. */
    ObjectNode metadata() {
        ObjectNode m = JSON.createObjectNode();
        m.put("name", name).put("platform", "onnxruntime").put("sha256", sha256);
        m.set("inputs", describe(inputs));
        m.set("outputs", describe(outputs));
        return m;
    }

    private static ArrayNode describe(Map<String, TensorInfo> tensors) {
        ArrayNode a = JSON.createArrayNode();
        tensors.forEach((n, t) -> {
            ObjectNode o = a.addObject().put("name", n).put("datatype", datatype(t.type));
            ArrayNode shape = o.putArray("shape");
            for (long d : t.getShape()) {
                shape.add(d);
            }
        });
        return a;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String method = ex.getRequestMethod();
            String base = "/v2/models/" + name;
            if (method.equals("GET") && (path.equals("/v2/health/live") || path.equals("/v2/health/ready") || path.equals(base + "/ready"))) {
                send(ex, 200, JSON.createObjectNode().put("live", true));
            } else if (method.equals("GET") && (path.equals(base) || path.equals("/v2/models/" + name + "/versions/1"))) {
                send(ex, 200, metadata());
            } else if (method.equals("POST") && path.equals(base + "/infer")) {
                infer(ex);
            } else {
                send(ex, 404, error("no such endpoint: " + method + " " + path + " (this server serves model '" + name + "')"));
            }
        }
    }

    private void infer(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes((int) MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) {
            send(ex, 413, error("the request is larger than " + MAX_BODY + " bytes"));
            return;
        }
        JsonNode request;
        try {
            request = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            send(ex, 400, error("the request is not one JSON document: " + e.getOriginalMessage()));
            return;
        }
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed = tensors(request);
            try (OrtSession.Result result = session.run(feed)) {
                ObjectNode answer = JSON.createObjectNode().put("model_name", name);
                if (request.path("id").isTextual()) {
                    answer.put("id", request.get("id").asText());
                }
                ArrayNode out = answer.putArray("outputs");
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.add(output(e.getKey(), (OnnxTensor) e.getValue()));
                }
                send(ex, 200, answer);
            }
        } catch (Invalid e) {
            send(ex, 400, error(e.getMessage()));
        } catch (OrtException e) {
            send(ex, 500, error("the model failed: " + e.getMessage()));
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /** A request the model cannot take, and why (naming the input). */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    /** The request's inputs as the model's tensors, each checked against what the model declares. */
    Map<String, OnnxTensor> tensors(JsonNode request) throws Invalid, OrtException {
        if (!request.isObject() || !request.path("inputs").isArray()) {
            throw new Invalid("inputs: required, an array of tensors (Open Inference Protocol v2)");
        }
        Map<String, JsonNode> given = new LinkedHashMap<>();
        for (JsonNode in : request.get("inputs")) {
            String n = in.path("name").asText("");
            if (!inputs.containsKey(n)) {
                throw new Invalid("inputs: '" + n + "' is not an input of model '" + name + "' (it takes " + inputs.keySet() + ")");
            }
            if (given.put(n, in) != null) {
                throw new Invalid("inputs: '" + n + "' is given twice");
            }
        }
        Map<String, OnnxTensor> out = new HashMap<>();
        try {
            for (Map.Entry<String, TensorInfo> e : inputs.entrySet()) {
                JsonNode in = given.get(e.getKey());
                if (in == null) {
                    throw new Invalid("inputs: '" + e.getKey() + "' is required by model '" + name + "'");
                }
                out.put(e.getKey(), tensor(e.getKey(), e.getValue(), in));
            }
        } catch (Invalid | OrtException | RuntimeException x) {
            out.values().forEach(OnnxTensor::close);
            throw x;
        }
        return out;
    }

    private OnnxTensor tensor(String input, TensorInfo declared, JsonNode in) throws Invalid, OrtException {
        String want = datatype(declared.type);
        if (!want.equals(in.path("datatype").asText())) {
            throw new Invalid("inputs." + input + ".datatype: the model takes " + want + ", not " + in.path("datatype"));
        }
        JsonNode shapeNode = in.path("shape");
        long[] model = declared.getShape();
        if (!shapeNode.isArray() || shapeNode.size() != model.length) {
            throw new Invalid("inputs." + input + ".shape: " + model.length + " dimensions, as the model's " + java.util.Arrays.toString(model));
        }
        long[] shape = new long[model.length];
        long count = 1;
        for (int i = 0; i < model.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > MAX_BODY) {
                throw new Invalid("inputs." + input + ".shape[" + i + "]: a whole number from 0 to " + MAX_BODY + ", not " + d);
            }
            shape[i] = d.asLong();
            if (model[i] >= 0 && model[i] != shape[i]) {
                throw new Invalid("inputs." + input + ".shape[" + i + "]: the model takes " + model[i] + ", not " + shape[i]);
            }
            count *= shape[i];
            if (count > MAX_BODY) {
                throw new Invalid("inputs." + input + ".shape: more than " + MAX_BODY + " elements");
            }
        }
        JsonNode data = in.path("data");
        List<JsonNode> values = new ArrayList<>();
        flatten(data, values);
        if (!data.isArray() || values.size() != count) {
            throw new Invalid("inputs." + input + ".data: " + count + " values for shape " + java.util.Arrays.toString(shape) + ", not " + values.size());
        }
        for (int i = 0; i < values.size(); i++) {
            JsonNode v = values.get(i);
            boolean ok = want.startsWith("FP") ? v.isNumber() && Double.isFinite(v.asDouble())
                    : v.isIntegralNumber() && v.canConvertToLong() && (want.equals("INT64") || v.canConvertToInt());
            if (!ok) {
                throw new Invalid("inputs." + input + ".data[" + i + "]: a " + (want.startsWith("FP") ? "finite number" : want + " integer") + ", not " + v);
            }
        }
        return switch (want) {
            case "FP32" -> {
                FloatBuffer b = FloatBuffer.allocate(values.size());
                values.forEach(v -> b.put((float) v.asDouble()));
                yield OnnxTensor.createTensor(env, b.flip(), shape);
            }
            case "FP64" -> {
                java.nio.DoubleBuffer b = java.nio.DoubleBuffer.allocate(values.size());
                values.forEach(v -> b.put(v.asDouble()));
                yield OnnxTensor.createTensor(env, b.flip(), shape);
            }
            case "INT32" -> {
                java.nio.IntBuffer b = java.nio.IntBuffer.allocate(values.size());
                values.forEach(v -> b.put(v.asInt()));
                yield OnnxTensor.createTensor(env, b.flip(), shape);
            }
            default -> {
                LongBuffer b = LongBuffer.allocate(values.size());
                values.forEach(v -> b.put(v.asLong()));
                yield OnnxTensor.createTensor(env, b.flip(), shape);
            }
        };
    }

    /** OIP v2 takes data flat or nested as the shape: both are read row-major. */
    private static void flatten(JsonNode data, List<JsonNode> out) {
        if (data.isArray()) {
            data.forEach(d -> flatten(d, out));
        } else {
            out.add(data);
        }
    }

    private static ObjectNode output(String name, OnnxTensor t) {
        TensorInfo info = t.getInfo();
        ObjectNode o = JSON.createObjectNode().put("name", name).put("datatype", datatype(info.type));
        ArrayNode shape = o.putArray("shape");
        for (long d : info.getShape()) {
            shape.add(d);
        }
        ArrayNode data = o.putArray("data");
        switch (info.type) {
            case FLOAT -> {
                FloatBuffer b = t.getFloatBuffer();
                while (b.hasRemaining()) {
                    data.add(b.get());
                }
            }
            case DOUBLE -> {
                java.nio.DoubleBuffer b = t.getDoubleBuffer();
                while (b.hasRemaining()) {
                    data.add(b.get());
                }
            }
            case INT32 -> {
                java.nio.IntBuffer b = t.getIntBuffer();
                while (b.hasRemaining()) {
                    data.add(b.get());
                }
            }
            default -> {
                LongBuffer b = t.getLongBuffer();
                while (b.hasRemaining()) {
                    data.add(b.get());
                }
            }
        }
        return o;
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] b = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        if (!a.containsKey("file") || !a.containsKey("sha256")) {
            System.err.println("usage: OnnxModelServer --file MODEL.onnx --sha256 HEX [--name NAME] [--host H] [--port P | env PORT]");
            System.exit(2);
        }
        int port = Integer.parseInt(a.getOrDefault("port", System.getenv().getOrDefault("PORT", "8080")));
        try {
            OnnxModelServer s = new OnnxModelServer(Path.of(a.get("file")), a.get("sha256"), a.getOrDefault("name", "model"),
                    a.getOrDefault("host", "127.0.0.1"), port).start();
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
            System.out.println("serving " + a.get("file") + " (sha256 " + a.get("sha256") + ") as '" + a.getOrDefault("name", "model")
                    + "' on port " + s.port());
        } catch (Artifacts.DigestMismatch e) {
            System.err.println(e.getMessage());
            System.exit(3); // the process's exit reason is what the deployment's status shows
        }
    }
}
