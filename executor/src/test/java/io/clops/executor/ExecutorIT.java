package io.clops.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.clops.avro.InferenceEnvelope;
import io.clops.net.FreePorts;
import io.clops.examples.iris.IrisServer;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.testing.KafkaExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KafkaExtension.class)
class ExecutorIT {
    static final String SETOSA = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";
    static final String VIRGINICA = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[6.3,3.3,6.0,2.5]}]}";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static IrisServer iris;
    static HttpServer slow;
    static ExecutorMain executor;
    static String bootstrap;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        iris = new IrisServer(0, "iris", "1").start();
        slow = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        slow.createContext("/", ex -> {
            try (ex) {
                Thread.sleep(1500);
                ex.sendResponseHeaders(200, -1);
            } catch (InterruptedException ignored) {
                // stopping
            }
        });
        slow.start();
        executor = new ExecutorMain(config("iris-exec", "http://127.0.0.1:" + iris.port(), "both", 5000, 1024));
    }

    @AfterAll
    static void stop() {
        executor.close();
        iris.stop();
        slow.stop(0);
    }

    static ExecutorConfig config(String deployment, String modelUrl, String mode, int timeoutMs, long maxBody) {
        return ExecutorConfig.single(0, modelUrl, "iris", "exectest", deployment, mode, bootstrap, timeoutMs, maxBody);
    }

    static HttpResponse<String> post(int port, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void syncInferIsProxiedToTheModel() throws Exception {
        HttpResponse<String> r = post(executor.port(), "/v2/models/iris/infer", VIRGINICA);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).at("/outputs/0/data/0").asText()).isEqualTo("virginica");
        HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/v2/health/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("clops_executor_requests_total{project=\"exectest\",deployment=\"iris-exec\",mode=\"sync\",route=\"iris\",code=\"200\"}")
                .contains("clops_executor_model_seconds_bucket");
    }

    @Test
    void modelErrorsPassThroughWithTheirStatus() throws Exception {
        HttpResponse<String> r = post(executor.port(), "/v2/models/iris/infer", "{\"inputs\":[]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("inputs");
    }

    @Test
    void oversizedBodyIs413WithJson() throws Exception {
        HttpResponse<String> r = post(executor.port(), "/v2/models/iris/infer", "x".repeat(2048));
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(JSON.readTree(r.body()).get("error").asText()).contains("larger than 1024 bytes");
    }

    @Test
    void modelDownIs503AndNotReady() throws Exception {
        int closed = FreePorts.pick();
        try (ExecutorMain down = new ExecutorMain(config("down", "http://127.0.0.1:" + closed, "sync", 2000, 1024))) {
            HttpResponse<String> r = post(down.port(), "/v2/models/iris/infer", SETOSA);
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(r.body()).get("error").asText()).startsWith("model unavailable");
            HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + down.port() + "/v2/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
        }
    }

    @Test
    void slowModelIs504() throws Exception {
        try (ExecutorMain timeout = new ExecutorMain(config("slow", "http://127.0.0.1:" + slow.getAddress().getPort(), "sync", 300, 1024))) {
            HttpResponse<String> r = post(timeout.port(), "/anything", "{}");
            assertThat(r.statusCode()).isEqualTo(504);
            assertThat(JSON.readTree(r.body()).get("error").asText()).contains("within 300 ms");
        }
    }

    @Test
    void plainKafkaClientWithJsonAndHeadersGetsItsAnswer() throws Exception {
        String requests = Topics.inferRequests("exectest", "iris-exec").name();
        String replyTo = "exectest.my-replies";
        TopicAdmin.ensure(bootstrap, List.of(new io.clops.kafka.TopicSpec(replyTo, 1, "delete", 3600_000)));
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "plain-client"), new StringSerializer(), new StringSerializer())) {
            var headers = new RecordHeaders();
            headers.add("clops-request-id", "req-json-1".getBytes(StandardCharsets.UTF_8));
            headers.add("trace-id", "abc123".getBytes(StandardCharsets.UTF_8));
            headers.add("clops-reply-to", replyTo.getBytes(StandardCharsets.UTF_8));
            producer.send(new ProducerRecord<>(requests, null, "req-json-1", SETOSA, headers)).get();
            var expired = new RecordHeaders();
            expired.add("clops-request-id", "req-late".getBytes(StandardCharsets.UTF_8));
            expired.add("clops-reply-to", replyTo.getBytes(StandardCharsets.UTF_8));
            expired.add("clops-deadline-ms", "1000".getBytes(StandardCharsets.UTF_8));
            producer.send(new ProducerRecord<>(requests, null, "req-late", SETOSA, expired)).get();
        }
        Map<String, ConsumerRecord<String, byte[]>> answers = await(replyTo, "req-json-1", "req-late");
        ConsumerRecord<String, byte[]> ok = answers.get("req-json-1");
        assertThat(header(ok, "clops-status")).isEqualTo("200");
        assertThat(header(ok, "trace-id")).isEqualTo("abc123");
        assertThat(JSON.readTree(ok.value()).at("/outputs/0/data/0").asText()).isEqualTo("setosa");
        ConsumerRecord<String, byte[]> late = answers.get("req-late");
        assertThat(header(late, "clops-status")).isEqualTo("504");
        assertThat(JSON.readTree(late.value()).get("error").asText()).contains("deadline exceeded");
    }

    /**
     * Requests that cannot be sent as they are get an error naming the field, on the response topic when the reply-to
     * topic is what is wrong, and the requests after them (same partition) are answered as usual: no bad header stops
     * the worker or holds the answers behind it, and none reaches the model (no header smuggled into its request).
     */
    @Test
    void badAsyncRequestsGetAnErrorNamingTheFieldAndTheRestGoOn() throws Exception {
        String requests = Topics.inferRequests("exectest", "iris-exec").name();
        String responses = Topics.inferResponses("exectest", "iris-exec").name();
        Map<String, String[]> bad = new java.util.LinkedHashMap<>();
        bad.put("bad-deadline", new String[]{"clops-deadline-ms", "soon"});
        bad.put("bad-model", new String[]{"clops-model", "iris/infer HTTP/1.1\r\nX-Smuggled: 1\r\n\r\nGET /x"});
        bad.put("bad-type", new String[]{"content-type", "application/json\r\nX-Smuggled: 1"});
        bad.put("foreign-reply", new String[]{"clops-reply-to", "clops.commands"});
        bad.put("missing-reply", new String[]{"clops-reply-to", "exectest.no-such-topic"});
        bad.put("request-reply", new String[]{"clops-reply-to", requests}); // its answer would be read again as a request
        bad.put("bad-deadline-replied", new String[]{"clops-deadline-ms", "soon", "clops-reply-to", "exectest.my-replies"});
        TopicAdmin.ensure(bootstrap, List.of(new io.clops.kafka.TopicSpec("exectest.my-replies", 1, "delete", 3600_000)));
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "bad-client"), new StringSerializer(), new StringSerializer())) {
            for (var e : bad.entrySet()) {
                var headers = new RecordHeaders();
                headers.add("clops-request-id", e.getKey().getBytes(StandardCharsets.UTF_8));
                for (int i = 0; i < e.getValue().length; i += 2) {
                    headers.add(e.getValue()[i], e.getValue()[i + 1].getBytes(StandardCharsets.UTF_8));
                }
                producer.send(new ProducerRecord<>(requests, null, "one-partition", SETOSA, headers));
            }
            var headers = new RecordHeaders();
            headers.add("clops-request-id", "after-the-bad".getBytes(StandardCharsets.UTF_8));
            producer.send(new ProducerRecord<>(requests, null, "one-partition", SETOSA, headers)).get();
        }
        Map<String, ConsumerRecord<String, byte[]>> answers = await(responses, "bad-deadline", "bad-model", "bad-type",
                "foreign-reply", "missing-reply", "request-reply", "after-the-bad");
        Map<String, String> expected = Map.of("bad-deadline", "400 header clops-deadline-ms", "bad-model", "400 header clops-model",
                "bad-type", "400 header content-type",
                "foreign-reply", "403 header clops-reply-to: topic 'clops.commands' is not a response topic of project exectest",
                "request-reply", "403 header clops-reply-to: topic '" + requests + "' is not a response topic of project exectest",
                "missing-reply", "404 header clops-reply-to: topic 'exectest.no-such-topic' does not exist");
        expected.forEach((id, want) -> {
            ConsumerRecord<String, byte[]> a = answers.get(id);
            String error;
            try {
                error = JSON.readTree(a.value()).get("error").asText();
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            assertThat(header(a, "clops-status") + " " + error).as(id).startsWith(want);
        });
        assertThat(header(answers.get("after-the-bad"), "clops-status")).isEqualTo("200");
        // a refusal goes where the answer would have gone
        assertThat(header(await("exectest.my-replies", "bad-deadline-replied").get("bad-deadline-replied"), "clops-status")).isEqualTo("400");
        assertThat(JSON.readTree(answers.get("after-the-bad").value()).at("/outputs/0/data/0").asText()).isEqualTo("setosa");
    }

    @Test
    void avroEnvelopeIsAnsweredWithAnEnvelope() throws Exception {
        String requests = Topics.inferRequests("exectest", "iris-exec").name();
        String responses = Topics.inferResponses("exectest", "iris-exec").name();
        InferenceEnvelope req = InferenceEnvelope.newBuilder().setId("req-avro-1").setModel("iris")
                .setBody(ByteBuffer.wrap(VIRGINICA.getBytes(StandardCharsets.UTF_8))).setHeaders(Map.of("corr", "42")).build();
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "avro-client"), new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(requests, "req-avro-1", Topics.INFERENCE_ENVELOPE.serialize(requests, req))).get();
        }
        ConsumerRecord<String, byte[]> answer = await(responses, "req-avro-1").get("req-avro-1");
        InferenceEnvelope env = Topics.INFERENCE_ENVELOPE.deserialize(responses, answer.value());
        assertThat(env.getStatus()).isEqualTo(200);
        assertThat(env.getHeaders()).containsEntry("corr", "42");
        assertThat(JSON.readTree(StandardCharsets.UTF_8.decode(env.getBody()).toString()).at("/outputs/0/data/0").asText())
                .isEqualTo("virginica");
    }

    @Test
    void asyncOverHttpSubmitsThenFetchesTheAnswerById() throws Exception {
        HttpResponse<String> submitted = post(executor.port(), "/async/v2/models/iris/infer", VIRGINICA);
        assertThat(submitted.statusCode()).isEqualTo(202);
        String id = JSON.readTree(submitted.body()).get("id").asText();
        assertThat(submitted.headers().firstValue("Location")).hasValue("/async/results/" + id);
        URI result = URI.create("http://127.0.0.1:" + executor.port() + "/async/results/" + id);
        HttpResponse<String> r;
        long deadline = System.currentTimeMillis() + 20_000;
        do {
            r = HTTP.send(HttpRequest.newBuilder(result).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 202) {
                assertThat(JSON.readTree(r.body()).get("status").asText()).isEqualTo("pending");
                Thread.sleep(50);
            }
        } while (r.statusCode() == 202 && System.currentTimeMillis() < deadline);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).at("/outputs/0/data/0").asText()).isEqualTo("virginica");

        HttpResponse<String> unknown = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port()
                + "/async/results/nope")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).get("error").asText()).contains("no answer known for request id nope");
        try (ExecutorMain syncOnly = new ExecutorMain(config("sync-only", "http://127.0.0.1:" + iris.port(), "sync", 2000, 1024))) {
            assertThat(post(syncOnly.port(), "/async/v2/models/iris/infer", VIRGINICA).statusCode()).isEqualTo(404);
        }
    }

    static HttpResponse<String> awaitResult(String id) throws Exception {
        URI result = URI.create("http://127.0.0.1:" + executor.port() + "/async/results/" + id);
        HttpResponse<String> r;
        long deadline = System.currentTimeMillis() + 20_000;
        do {
            r = HTTP.send(HttpRequest.newBuilder(result).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 202) {
                Thread.sleep(50);
            }
        } while (r.statusCode() == 202 && System.currentTimeMillis() < deadline);
        return r;
    }

    @Test
    void asyncResultsBelongToWhoeverSubmittedThem() throws Exception {
        // two callers choosing one X-Request-Id: each gets an id of its own, and its own answer
        HttpResponse<String> a = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/async/v2/models/iris/infer"))
                .POST(HttpRequest.BodyPublishers.ofString(VIRGINICA)).header("X-Request-Id", "mine").build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> b = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + executor.port() + "/async/v2/models/iris/infer"))
                .POST(HttpRequest.BodyPublishers.ofString(SETOSA)).header("X-Request-Id", "mine").build(), HttpResponse.BodyHandlers.ofString());
        String idA = JSON.readTree(a.body()).get("id").asText();
        String idB = JSON.readTree(b.body()).get("id").asText();
        assertThat(idA).isNotEqualTo(idB).isNotEqualTo("mine").matches("[0-9a-f-]{36}");
        assertThat(JSON.readTree(awaitResult(idA).body()).at("/outputs/0/data/0").asText()).isEqualTo("virginica");
        assertThat(JSON.readTree(awaitResult(idB).body()).at("/outputs/0/data/0").asText()).isEqualTo("setosa");

        // a Kafka client's answer (no id: one made up, random) is not served over HTTP, nor under its old guessable id
        String requests = Topics.inferRequests("exectest", "iris-exec").name();
        String responses = Topics.inferResponses("exectest", "iris-exec").name();
        var marker = new RecordHeaders();
        marker.add("x-which", "kafka-client-no-id".getBytes(StandardCharsets.UTF_8));
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "no-id-client"), new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<String, String>(requests, null, (String) null, SETOSA, marker)).get();
        }
        ConsumerRecord<String, byte[]>[] answer = new ConsumerRecord[1];
        io.clops.testing.Await.until("the answer to the request without an id", () -> {
            answer[0] = io.clops.testing.TopicProbe.readAll(bootstrap, responses, new org.apache.kafka.common.serialization.StringDeserializer(),
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer()).stream()
                    .filter(r -> "kafka-client-no-id".equals(header(r, "x-which"))).findFirst().orElse(null);
            return answer[0] != null;
        });
        assertThat(answer[0].key()).as("made up at random, not topic-partition-offset").matches("[0-9a-f-]{36}");
        assertThat(awaitResult(answer[0].key()).statusCode()).isEqualTo(404);
    }

    static String header(ConsumerRecord<?, ?> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Reads the topic from its start until every request id has an answer, 30 s at most (other tests answer on the same topics). */
    static Map<String, ConsumerRecord<String, byte[]>> await(String topic, String... ids) {
        return awaitOn(bootstrap, topic, ids);
    }

    static Map<String, ConsumerRecord<String, byte[]>> awaitOn(String bootstrap, String topic, String... ids) {
        Map<String, ConsumerRecord<String, byte[]>> out = new HashMap<>();
        try (var consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "probe"), new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 30_000;
            while (!out.keySet().containsAll(List.of(ids)) && System.currentTimeMillis() < deadline) {
                for (var r : consumer.poll(Duration.ofMillis(200))) {
                    out.put(header(r, "clops-request-id") != null ? header(r, "clops-request-id") : r.key(), r);
                }
            }
        }
        assertThat(out).as("answers on " + topic).containsKeys(ids);
        return out;
    }
}
