package io.clops.examples.iris;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The iris classifier served over the Open Inference Protocol v2 (REST), with nothing but a JDK.
 * <pre>
 * java -cp clops-examples.jar io.clops.examples.iris.IrisServer --port 8080 [--name iris] [--version 1]
 * POST /v2/models/iris/infer
 *   {"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}
 * → outputs "label" (BYTES [N]) and "probabilities" (FP32 [N,3], order setosa, versicolor, virginica)
 * </pre>
 */
public final class IrisServer {
    static {
        // the JDK's server leaves Nagle's algorithm on: each small answer would wait ~40 ms for the peer's delayed ACK
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final IrisModel model;
    private final String name;
    private final String version;
    private final HttpServer server;

    public IrisServer(int port, String name, String version) throws IOException {
        this.model = IrisModel.shipped();
        this.name = name;
        this.version = version;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 128);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
    }

    public IrisServer start() {
        server.start();
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public void stop() {
        server.stop(0);
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String name = "iris";
        String version = "1";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--name" -> name = args[i + 1];
                case "--version" -> version = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        IrisServer s = new IrisServer(port, name, version).start();
        System.out.println("iris model '" + name + "' v" + version + " serving OIP v2 on http://127.0.0.1:" + s.port());
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String prefix = "/v2/models/" + name;
            if (path.equals("/v2/health/live") || path.equals("/v2/health/ready") || path.equals(prefix + "/ready")
                    || path.equals(prefix + "/versions/" + version + "/ready")) {
                send(ex, 200, Map.of(path.endsWith("live") ? "live" : "ready", true));
            } else if (path.equals("/v2")) {
                send(ex, 200, Map.of("name", "clops-iris", "version", "1", "extensions", List.of()));
            } else if (path.equals(prefix) || path.equals(prefix + "/versions/" + version)) {
                send(ex, 200, metadata());
            } else if ((path.equals(prefix + "/infer") || path.equals(prefix + "/versions/" + version + "/infer"))
                    && ex.getRequestMethod().equals("POST")) {
                infer(ex);
            } else if (path.startsWith("/v2/models/")) {
                send(ex, 404, Map.of("error", "unknown model or path " + path + "; this server serves '" + name + "'"));
            } else {
                send(ex, 404, Map.of("error", "not found: " + path));
            }
        }
    }

    private Map<String, Object> metadata() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("versions", List.of(version));
        m.put("platform", "java-softmax-regression");
        m.put("inputs", List.of(Map.of("name", "input-0", "datatype", "FP32", "shape", List.of(-1, 4))));
        m.put("outputs", List.of(Map.of("name", "label", "datatype", "BYTES", "shape", List.of(-1)),
                Map.of("name", "probabilities", "datatype", "FP32", "shape", List.of(-1, 3))));
        return m;
    }

    private void infer(HttpExchange ex) throws IOException {
        Map<String, Object> req;
        double[][] rows;
        try {
            Object parsed = Json.parse(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (!(parsed instanceof Map)) {
                throw new IllegalArgumentException("request body must be a JSON object");
            }
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) parsed;
            req = m;
            rows = rows(req);
        } catch (IllegalArgumentException e) {
            send(ex, 400, Map.of("error", e.getMessage()));
            return;
        }
        List<Object> labels = new ArrayList<>();
        List<Object> probs = new ArrayList<>();
        for (double[] x : rows) {
            double[] p = model.probabilities(x);
            labels.add(IrisModel.CLASSES.get(model.predict(x)));
            for (double v : p) {
                probs.add((double) (float) v);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model_name", name);
        out.put("model_version", version);
        if (req.get("id") != null) {
            out.put("id", req.get("id"));
        }
        out.put("outputs", List.of(
                Map.of("name", "label", "datatype", "BYTES", "shape", List.of(rows.length), "data", labels),
                Map.of("name", "probabilities", "datatype", "FP32", "shape", List.of(rows.length, 3), "data", probs)));
        send(ex, 200, out);
    }

    /** Reads inputs[0] as an [N,4] FP32 tensor (flat or nested data). */
    static double[][] rows(Map<String, Object> req) {
        if (!(req.get("inputs") instanceof List<?> inputs) || inputs.isEmpty() || !(inputs.get(0) instanceof Map<?, ?> in)) {
            throw new IllegalArgumentException("inputs: expected a list with one tensor");
        }
        Object dt = in.get("datatype");
        if (!"FP32".equals(dt) && !"FP64".equals(dt)) {
            throw new IllegalArgumentException("inputs[0].datatype: expected FP32, got " + dt);
        }
        if (!(in.get("shape") instanceof List<?> shape) || shape.size() != 2 || ((Number) shape.get(1)).intValue() != 4) {
            throw new IllegalArgumentException("inputs[0].shape: expected [N,4], got " + in.get("shape"));
        }
        int n = ((Number) shape.get(0)).intValue();
        List<Double> flat = new ArrayList<>();
        flatten(in.get("data"), flat);
        if (flat.size() != n * 4) {
            throw new IllegalArgumentException("inputs[0].data: expected " + (n * 4) + " numbers for shape [" + n + ",4], got " + flat.size());
        }
        double[][] rows = new double[n][4];
        for (int i = 0; i < n * 4; i++) {
            rows[i / 4][i % 4] = flat.get(i);
        }
        return rows;
    }

    private static void flatten(Object v, List<Double> out) {
        if (v instanceof List<?> l) {
            l.forEach(x -> flatten(x, out));
        } else if (v instanceof Number num) {
            out.add(num.doubleValue());
        } else {
            throw new IllegalArgumentException("inputs[0].data: expected numbers, got " + v);
        }
    }

    private static void send(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
