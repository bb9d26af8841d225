package io.clops.modelserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.examples.iris.IrisModel;
import io.clops.examples.iris.IrisOnnx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * clops's own runtime over real HTTP with the iris model files the build writes (ONNX, and XGBoost trained by
 * xgboost4j): inputs and outputs read from the model, KServe's documented iris v2 request answered versicolor twice
 * by each, every malformed tensor refused naming the input, and a file with one byte changed refused before it loads
 * (in-process and as the process a runtime starts).
 */
class ModelServerIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    /** KServe's documented OIP v2 request for its iris examples: two rows, both versicolor. */
    static final String KSERVE_IRIS = """
            {"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}]}""";

    static Path file;
    static String sha256;
    static ModelServer server;

    @BeforeAll
    static void start() throws Exception {
        file = Files.createTempFile("iris", ".onnx");
        Files.write(file, IrisOnnx.bytes(IrisModel.shipped()));
        sha256 = Artifacts.sha256(file);
        server = ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", 0).start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v2/models/iris/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metadataComesFromTheModelAndKServesIrisRequestIsVersicolorTwice() throws Exception {
        JsonNode meta = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v2/models/iris")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(meta.at("/inputs/0/name").asText()).isEqualTo("input-0");
        assertThat(meta.at("/inputs/0/datatype").asText()).isEqualTo("FP32");
        assertThat(meta.at("/inputs/0/shape").toString()).isEqualTo("[-1,4]");
        assertThat(meta.path("sha256").asText()).isEqualTo(sha256);
        HttpResponse<String> r = post(KSERVE_IRIS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(r.body());
        JsonNode label = null;
        JsonNode probabilities = null;
        for (JsonNode o : answer.get("outputs")) {
            if (o.get("name").asText().equals("label")) {
                label = o;
            } else if (o.get("name").asText().equals("probabilities")) {
                probabilities = o;
            }
        }
        assertThat(label).isNotNull();
        assertThat(label.get("data").toString()).isEqualTo("[1,1]");
        assertThat(IrisModel.CLASSES.get(label.get("data").get(0).asInt())).isEqualTo("versicolor");
        assertThat(probabilities.get("shape").toString()).isEqualTo("[2,3]");
        double[] want = IrisModel.shipped().probabilities(new double[]{6.8, 2.8, 4.8, 1.4});
        assertThat(probabilities.get("data").get(1).asDouble()).isCloseTo(want[1], org.assertj.core.api.Assertions.within(1e-5));
        assertThat(post(KSERVE_IRIS.replace("[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]", "[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]")).statusCode())
                .as("flat data, as OIP v2 also allows").isEqualTo(200);
    }

    @Test
    void theXgboostFileTheBuildTrainedIsServedToo() throws Exception {
        Path xgb = Path.of("..", "examples", "target", "models", "iris-xgboost.json");
        assertThat(xgb).as("trained by the examples build").exists();
        try (ModelServer s = ModelServer.open(xgb, Artifacts.sha256(xgb), "xgboost", "iris", "127.0.0.1", 0).start()) {
            JsonNode meta = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/iris")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertThat(meta.path("platform").asText()).isEqualTo("xgboost");
            assertThat(meta.at("/inputs/0/shape").toString()).as("the feature count read from the model").isEqualTo("[-1,4]");
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/iris/infer"))
                    .POST(HttpRequest.BodyPublishers.ofString(KSERVE_IRIS)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode label = null;
            for (JsonNode o : JSON.readTree(r.body()).get("outputs")) {
                if (o.get("name").asText().equals("label")) {
                    label = o;
                }
            }
            assertThat(label.get("data").toString()).isEqualTo("[1,1]");
        }
    }

    @Test
    void concurrentRequestsAreBatchedAndEachGetsItsOwnRows() throws Exception {
        IrisModel iris = IrisModel.shipped();
        var data = IrisModel.data();
        try (ModelServer s = ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", 0).batching(64, 50_000).start()) {
            int clients = 32;
            var pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
            var start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<String>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < clients; i++) {
                double[] x = data.get(i * 4).x();
                String body = "{\"inputs\":[{\"name\":\"input-0\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[" + x[0] + "," + x[1] + ","
                        + x[2] + "," + x[3] + "]}]}";
                answers.add(pool.submit(() -> {
                    start.await();
                    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/iris/infer"))
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
                }));
            }
            start.countDown();
            for (int i = 0; i < clients; i++) {
                JsonNode a = JSON.readTree(answers.get(i).get(30, TimeUnit.SECONDS));
                JsonNode label = null;
                for (JsonNode o : a.get("outputs")) {
                    if (o.get("name").asText().equals("label")) {
                        label = o;
                    } else {
                        assertThat(o.get("shape").toString()).as("client %d's own rows", i).isEqualTo("[1,3]");
                    }
                }
                assertThat(label.get("data").get(0).asInt()).as("client %d", i).isEqualTo(iris.predict(data.get(i * 4).x()));
            }
            pool.shutdown();
            long[] counts = s.batchingCounts();
            assertThat(counts[1]).as("requests answered through the batcher").isEqualTo(clients);
            assertThat(counts[0]).as("model runs for " + clients + " concurrent requests").isLessThan(clients);
        }
    }

    @Test
    void malformedTensorsAreRefusedNamingTheInput() throws Exception {
        String good = KSERVE_IRIS;
        String[][] cases = {
                {good.replace("FP32", "FP64"), "inputs.input-0.datatype: the model takes FP32"},
                {good.replace("[2,4]", "[2,5]"), "inputs.input-0.shape[1]: the model takes 4, not 5"},
                {good.replace("[2,4]", "[3,4]"), "inputs.input-0.data: 12 values for shape [3, 4], not 8"},
                {good.replace("[2,4]", "[4611686018427387905,4]"), "inputs.input-0.shape[0]: a whole number"},
                {good.replace("[2,4]", "[\"2\",4]"), "inputs.input-0.shape[0]: a whole number"},
                {good.replace("6.8", "1e999"), "inputs.input-0.data[0]: a finite FP32 number"},
                {good.replace("6.8", "1e300"), "inputs.input-0.data[0]: a finite FP32 number"},
                {good.replace("6.8", "\"6.8\""), "inputs.input-0.data[0]: a finite FP32 number"},
                {good.replace("6.8", "null"), "inputs.input-0.data[0]: a finite FP32 number"},
                {good.replace("input-0", "input-1"), "inputs: 'input-1' is not an input of model 'iris'"},
                {"{\"inputs\":[]}", "inputs: 'input-0' is required"},
                {"{\"outputs\":[]}", "inputs: required"},
                {good + "garbage", "not one JSON document"},
                {good.replace("{\"name\"", "{\"name\":\"x\",\"name\""), "not one JSON document"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = post(c[0]);
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(JSON.readTree(r.body()).get("error").asText()).as(c[0]).contains(c[1]);
        }
        assertThat(post(good).statusCode()).as("a good request after them").isEqualTo(200);
    }

    @Test
    void threadsPerCallAreAnOptionAndANegativeCountIsRefusedNamingIt() throws Exception {
        try (ModelServer s = ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", 0, 2).start()) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/models/iris/infer"))
                    .POST(HttpRequest.BodyPublishers.ofString(KSERVE_IRIS)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode label = null;
            for (JsonNode o : JSON.readTree(r.body()).get("outputs")) {
                label = o.get("name").asText().equals("label") ? o : label;
            }
            assertThat(label).as(r.body()).isNotNull();
            assertThat(label.get("data").toString()).as("both rows versicolor").isEqualTo("[1,1]");
        }
        assertThatThrownBy(() -> ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", 0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--intra-op-threads");
    }

    @Test
    void aConnectionThatStopsSendingMidHeadIsClosedAndAQuietOneBetweenRequestsToo() throws Exception {
        try (ModelServer s = ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", 0).idleMillis(500).start();
             java.net.Socket dripping = new java.net.Socket("127.0.0.1", s.port());
             java.net.Socket keptAlive = new java.net.Socket("127.0.0.1", s.port())) {
            dripping.setSoTimeout(10_000);
            keptAlive.setSoTimeout(10_000);
            dripping.getOutputStream().write("POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Le".getBytes(StandardCharsets.US_ASCII));
            byte[] body = KSERVE_IRIS.getBytes(StandardCharsets.UTF_8);
            keptAlive.getOutputStream().write(("POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            keptAlive.getOutputStream().write(body);
            String answer = new String(keptAlive.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(answer).isEqualTo("HTTP/1.1 200");
            long t0 = System.nanoTime();
            assertThat(dripping.getInputStream().read()).as("closed, nothing answered").isEqualTo(-1);
            keptAlive.getInputStream().readAllBytes(); // the rest of the answer, then the close
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("within a few idle periods, not the read timeout").isLessThan(Duration.ofSeconds(5));
        }
    }

    static long eventLoopThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("modelserver-io") && t.isAlive()).count();
    }

    @Test
    void aPortInUseIsRefusedNamingItAndLeavesNoThreadBehind() throws Exception {
        long before = eventLoopThreads();
        try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            ModelServer s = ModelServer.open(file, sha256, "onnx", "iris", "127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(s::start).hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getLocalPort());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (eventLoopThreads() > before && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // waiting for the state: the refused server's loops gone (they keep a process alive)
            }
            assertThat(eventLoopThreads()).as("the refused server's event loops ended").isEqualTo(before);
        }
    }

    private static int freePort() throws java.io.IOException {
        try (var s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The model server as a runtime starts it: its own process, serving {@code model} as iris (registered as {@link #sha256}). */
    private static Process modelServerProcess(Path model, int port) throws java.io.IOException {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                ModelServer.class.getName(), "--file", model.toString(), "--sha256", sha256, "--name", "iris", "--port", Integer.toString(port))
                .redirectErrorStream(true).start();
    }

    @Test
    void asAProcessItServesUntilStopped() throws Exception {
        int port = freePort();
        Process p = modelServerProcess(file, port);
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
            assertThat(out.readLine()).as("its first line").contains("serving").contains("on port " + port);
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/iris/infer"))
                    .POST(HttpRequest.BodyPublishers.ofString(KSERVE_IRIS)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(p.isAlive()).as("still serving after its first answer").isTrue();
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aNodesCacheKeepsTheFileARunningServerServesAndLetsItGoWhenTheServerEnds() throws Exception {
        Path cacheDir = Files.createTempDirectory("node-cache");
        ModelCache node = new ModelCache(cacheDir, null);
        Path served = node.ensure(file.toUri(), sha256).path();
        Path unused = Files.createTempFile("other", ".onnx");
        Files.writeString(unused, "another version's file, cached on this node and served by nobody");
        String unusedSha = node.ensure(unused.toUri(), Artifacts.sha256(unused)).path().getFileName().toString();
        // the served one was used longest ago: a prune by age alone would take it first
        Files.setLastModifiedTime(served, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        String nothing = "0".repeat(64);

        int port = freePort();
        Process p = modelServerProcess(served, port);
        try {
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
            assertThat(out.readLine()).as("its first line").contains("serving").contains("on port " + port);
            ModelCache.Pruned pruned = node.prune(1, nothing);
            assertThat(pruned.digests()).as("the file a server of another process serves stays; the unused one goes").containsExactly(unusedSha);
            assertThat(Files.exists(served)).isTrue();
            assertThat(Files.exists(node.pathOf(unusedSha))).isFalse();
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/iris/infer"))
                    .POST(HttpRequest.BodyPublishers.ofString(KSERVE_IRIS)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        } finally {
            p.destroyForcibly(); // however it ends, the kernel lets its lock go
            p.waitFor(10, TimeUnit.SECONDS);
        }
        assertThat(node.prune(1, nothing).digests()).as("served by nobody now").containsExactly(sha256);
        assertThat(Files.exists(served)).isFalse();
        assertThat(Files.exists(served.resolveSibling(sha256 + ".use"))).as("its mark went with it").isFalse();
    }

    @Test
    void aFileWithOneByteChangedIsRefusedBeforeItLoadsNamingBothDigests() throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Path corrupted = Files.createTempFile("iris-corrupted", ".onnx");
        Files.write(corrupted, bytes);
        String actual = Artifacts.sha256(corrupted);
        assertThatThrownBy(() -> ModelServer.open(corrupted, sha256, "onnx", "iris", "127.0.0.1", 0))
                .isInstanceOf(Artifacts.DigestMismatch.class)
                .hasMessageContaining("its SHA-256 is " + actual).hasMessageContaining("registered as " + sha256).hasMessageContaining("refusing to serve it");

        // as the process a runtime starts: it exits with the reason, and nothing listens
        int port = freePort();
        Process p = modelServerProcess(corrupted, port);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.exitValue()).as(out).isEqualTo(3);
        assertThat(out).contains("its SHA-256 is " + actual).contains("registered as " + sha256);
        assertThatThrownBy(() -> new java.net.Socket("127.0.0.1", port).close()).as("nothing serves it").isInstanceOf(java.net.ConnectException.class);
    }
}
