package io.clops.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** One endpoint over several versions: a weighted split, sticky routing, a shadow that never answers, the request log. */
@ExtendWith(KafkaExtension.class)
class TrafficIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";

    static HttpServer v1;
    static HttpServer v2;
    static HttpServer shadow;
    static final AtomicInteger shadowCalls = new AtomicInteger();

    /** A model server that answers with its own name (or, for the shadow, an error after a while). */
    static HttpServer model(String name, int status, long delayMs, AtomicInteger calls) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        s.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                if (calls != null) {
                    calls.incrementAndGet();
                }
                if (delayMs > 0) {
                    Thread.sleep(delayMs);
                }
                byte[] b = ("{\"model_name\":\"" + name + "\",\"outputs\":[]}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(status, b.length);
                ex.getResponseBody().write(b);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        s.setExecutor(Executors.newFixedThreadPool(8));
        s.start();
        return s;
    }

    static String url(HttpServer s) {
        return "http://127.0.0.1:" + s.getAddress().getPort();
    }

    @BeforeAll
    static void models() throws Exception {
        v1 = model("iris-v1", 200, 0, null);
        v2 = model("iris-v2", 200, 0, null);
        shadow = model("iris-v3-shadow", 500, 20, shadowCalls);
    }

    @AfterAll
    static void stop() {
        v1.stop(0);
        v2.stop(0);
        shadow.stop(0);
    }

    static ExecutorConfig config(String deployment, int rate, String inputs, String token) {
        return new ExecutorConfig(0, List.of(new Route("iris-v1", url(v1), 90), new Route("iris-v2", url(v2), 10)),
                new Route("iris-v3", url(shadow), 0), "iris", "v2", "traffic", deployment, "sync", KafkaExtension.bootstrapServers(),
                2000, 1 << 20, 8, rate, inputs, true, 1.0, 256, token, "127.0.0.1", 0, null, ExecutorConfig.ClientLimits.DEFAULT, null);
    }

    static HttpResponse<String> infer(int port, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/iris/infer"))
                .POST(HttpRequest.BodyPublishers.ofString(BODY));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aNinetyTenSplitWithAShadowThatNeverChangesAnAnswerAndEveryCallLogged() throws Exception {
        try (ExecutorMain executor = new ExecutorMain(config("split", 0, null, null))) {
            Map<String, Integer> answers = new java.util.concurrent.ConcurrentHashMap<>();
            int n = 10_000;
            java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(8);
            List<java.util.concurrent.Future<?>> calls = new java.util.ArrayList<>();
            for (int c = 0; c < 8; c++) {
                int first = c;
                calls.add(clients.submit(() -> {
                    for (int i = first; i < n; i += 8) {
                        HttpResponse<String> r = infer(executor.port(), Map.of("X-Request-Id", "r" + i));
                        assertThat(r.statusCode()).isEqualTo(200);
                        String answeredBy = JSON.readTree(r.body()).get("model_name").asText();
                        assertThat(r.headers().firstValue(Router.STICKY_HEADER)).hasValue(answeredBy);
                        answers.merge(answeredBy, 1, Integer::sum);
                    }
                    return null;
                }));
            }
            for (var call : calls) {
                call.get();
            }
            clients.shutdown();
            assertThat(answers).containsOnlyKeys("iris-v1", "iris-v2"); // never the shadow's answer, never its 500
            assertThat(answers.get("iris-v2")).as("binomial(10000, 0.1): 1000 ± 4 sd").isBetween(880, 1120);
            Await.until("every request copied to the shadow", () -> shadowCalls.get() >= n);

            for (int i = 0; i < 50; i++) {
                HttpResponse<String> sticky = infer(executor.port(), Map.of(Router.STICKY_HEADER, "iris-v2"));
                assertThat(JSON.readTree(sticky.body()).get("model_name").asText()).isEqualTo("iris-v2");
            }

            Await.until("the request log has every call and every shadow copy", () -> log("split").size() >= 2 * n + 50);
            List<JsonNode> records = log("split");
            assertThat(records).filteredOn(x -> x.get("shadow").asBoolean()).allSatisfy(x -> {
                assertThat(x.get("route").asText()).isEqualTo("iris-v3");
                // the shadow fails (500) and is slow (20 ms each on a small pool): under 8 clients some copies time
                // out (504); neither ever reaches an answer
                assertThat(x.get("status").asInt()).isIn(500, 504);
            });
            JsonNode one = records.stream().filter(x -> "r7".equals(x.path("requestId").asText()) && !x.get("shadow").asBoolean()).findFirst().orElseThrow();
            assertThat(one.get("request").asText()).isEqualTo(BODY);
            assertThat(one.get("latencyMs").asDouble()).isPositive();
        }
    }

    @Test
    void aChunkedAnswerIsLoggedAsItsDataWithoutTheChunkFraming() throws Exception {
        HttpServer chunked = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        chunked.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, 0); // no length: the JDK server answers chunked
                ex.getResponseBody().write("{\"model_name\":".getBytes(StandardCharsets.UTF_8));
                ex.getResponseBody().flush();
                ex.getResponseBody().write("\"streamed\",\"outputs\":[]}".getBytes(StandardCharsets.UTF_8));
            }
        });
        chunked.start();
        ExecutorConfig c = new ExecutorConfig(0, List.of(new Route("iris-chunked", url(chunked), 100)), null, "iris", "v2", "traffic",
                "chunked", "sync", KafkaExtension.bootstrapServers(), 2000, 1 << 20, 8, 0, null, true, 1.0, 256, null, "127.0.0.1", 0, null, ExecutorConfig.ClientLimits.DEFAULT, null);
        try (ExecutorMain executor = new ExecutorMain(c)) {
            HttpResponse<String> r = infer(executor.port(), Map.of("X-Request-Id", "chunky"));
            assertThat(r.body()).isEqualTo("{\"model_name\":\"streamed\",\"outputs\":[]}");
            Await.until("the answer is logged", () -> !log("chunked").isEmpty());
            JsonNode record = log("chunked").get(0);
            assertThat(record.get("requestId").asText()).isEqualTo("chunky");
            assertThat(record.get("response").asText()).isEqualTo(r.body());
        } finally {
            chunked.stop(0);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(120) // a guard against a hang, not a measure: the assertions below are about counts
    void answersDoNotWaitForTheRequestLogWhenKafkaIsAway() throws Exception {
        int closed = freePort(); // nothing listens there: the log's producer waits for metadata that never comes
        ExecutorConfig c = new ExecutorConfig(0, List.of(new Route("iris-v1", url(v1), 100)), null, "iris", "v2", "traffic",
                "kafka-away", "sync", "127.0.0.1:" + closed, 2000, 1 << 20, 8, 0, null, true, 1.0, 256, null, "127.0.0.1", 0, null, ExecutorConfig.ClientLimits.DEFAULT, null);
        ExecutorMain executor = new ExecutorMain(c);
        try {
            for (int i = 0; i < 20; i++) {
                HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/v2/models/iris/infer"))
                        .timeout(java.time.Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
                HttpResponse<String> answer = HTTP.send(r, HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).isEqualTo(200);
                assertThat(JSON.readTree(answer.body()).get("model_name").asText()).isEqualTo("iris-v1");
            }
            // all 20 answered while their records still wait: at most one is in the producer's hands (waiting for
            // metadata that never comes), none delivered
            assertThat(metric(executor.port(), "clops_executor_log_queued") + metric(executor.port(), "clops_executor_log_dropped_total"))
                    .as("records not yet written when every answer was in").isGreaterThanOrEqualTo(19);
        } finally {
            executor.close(); // must return although Kafka is away: what the log could not write is counted, not waited for
        }
        assertThat(executor.metrics().logDropped.sum()).as("every record the log could not write is counted as dropped").isEqualTo(20);
    }

    /** A series of the executor's /metrics (one without labels beyond project and deployment). */
    static long metric(int port, String name) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body().lines().filter(l -> l.startsWith(name + "{")).mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static List<JsonNode> log(String deployment) {
        return TopicProbe.readAll(KafkaExtension.bootstrapServers(), Topics.inferenceLog("traffic").name(), new StringDeserializer(), new ByteArrayDeserializer())
                .stream().filter(r -> r.key().equals("traffic/" + deployment)).map(r -> {
                    try {
                        return JSON.readTree(r.value());
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }).toList();
    }

    @Test
    void protectionsAnswerWithTheirStatusAndAJsonBody() throws Exception {
        String inputs = "[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]";
        try (ExecutorMain executor = new ExecutorMain(config("guarded", 3, inputs, "s3cret"))) {
            HttpResponse<String> noToken = infer(executor.port(), Map.of());
            assertThat(noToken.statusCode()).isEqualTo(401);
            assertThat(JSON.readTree(noToken.body()).get("error").asText()).isEqualTo("missing Authorization: Bearer token");

            HttpRequest bad = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/v2/models/iris/infer"))
                    .header("Authorization", "Bearer s3cret")
                    .POST(HttpRequest.BodyPublishers.ofString(BODY.replace("FP32", "INT64"))).build();
            HttpResponse<String> shape = HTTP.send(bad, HttpResponse.BodyHandlers.ofString());
            assertThat(shape.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(shape.body()).get("error").asText()).isEqualTo("input 'input-0': datatype INT64, expected FP32");

            HttpResponse<String> last = null;
            for (int i = 0; i < 5; i++) {
                last = infer(executor.port(), Map.of("Authorization", "Bearer s3cret"));
            }
            assertThat(last.statusCode()).isEqualTo(429);
            assertThat(last.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(JSON.readTree(last.body()).get("error").asText()).contains("rate limit of 3 requests/s");
        }
    }
}
