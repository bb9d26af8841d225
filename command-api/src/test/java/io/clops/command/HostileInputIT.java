package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.kafka.Topics;
import io.clops.reconciler.Reconciler;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The control plane's HTTP door tried as a hostile or careless client would, over a raw socket so that every byte is
 * the test's: each bad input gets a 4xx in the documented {@code {"error", "fields"}} shape naming what was wrong,
 * never a 5xx, and nothing reaches the log.
 */
@ExtendWith(KafkaExtension.class)
class HostileInputIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static Reconciler reconciler;
    static EmbeddedServer server;
    static String bootstrap;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap,
                "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1", "clops.intake.enabled", false));
        assertThat(post("/api/v1/projects", "{\"name\":\"hostile\"}").status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    record Answer(int status, JsonNode body, String raw) {
        List<String> fields() {
            return body.path("fields").findValuesAsText("field");
        }
    }

    /** One request, written byte for byte; the answer read until the server closes or Content-Length is met. */
    static Answer raw(byte[] request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.getPort())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            // written beside the reading: a server that refuses a large body answers and closes before it has all of
            // it, and the answer must be read, not lost to a write that fails on the closed connection
            Thread writer = new Thread(() -> {
                try {
                    out.write(request);
                    out.flush();
                } catch (java.io.IOException closed) {
                    // the server stopped reading: its answer is what counts
                }
            }, "raw-writer");
            writer.start();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            try {
                while ((n = in.read(chunk)) > 0) {
                    buf.write(chunk, 0, n);
                    String text = buf.toString(StandardCharsets.UTF_8);
                    int head = text.indexOf("\r\n\r\n");
                    if (head > 0) {
                        int cl = contentLength(text.substring(0, head));
                        if (cl >= 0 && buf.size() >= head + 4 + cl) {
                            break;
                        }
                    }
                }
            } catch (java.net.SocketException reset) {
                if (buf.size() == 0) {
                    throw reset; // no answer at all
                }
            }
            writer.join(30_000);
            String text = buf.toString(StandardCharsets.UTF_8);
            int status = Integer.parseInt(text.substring(9, 12));
            String body = text.substring(text.indexOf("\r\n\r\n") + 4);
            JsonNode json;
            try {
                json = JSON.readTree(body);
            } catch (Exception e) {
                json = JSON.createObjectNode();
            }
            return new Answer(status, json == null ? JSON.createObjectNode() : json, text);
        }
    }

    static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                return Integer.parseInt(line.substring(15).trim());
            }
        }
        return -1;
    }

    static Answer request(String method, String path, String contentType, byte[] body, String... extraHeaders) throws Exception {
        StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (contentType != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n");
        }
        for (String h : extraHeaders) {
            head.append(h).append("\r\n");
        }
        head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        all.write(body);
        return raw(all.toByteArray());
    }

    static Answer post(String path, String json) throws Exception {
        return request("POST", path, "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    static final String DEPLOY = "/api/v1/projects/hostile/deployments";
    static final String GOOD = "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\"}}";

    static void assertRefused(Answer a, int status, String field) {
        assertThat(a.status()).as(a.raw()).isEqualTo(status);
        assertThat(a.body().path("error").isTextual()).as("an error message: " + a.raw()).isTrue();
        if (field != null) {
            assertThat(a.fields()).as(a.raw()).contains(field);
        }
    }

    long logEnd() {
        return TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name()) + TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name());
    }

    /**
     * Query parameters where they decide the answer: a typo is not dropped (the answer would silently cover
     * everything), a repeat is not read as its first value; endpoints that take none ignore a query string (as
     * kube-apiserver's {@code ?timeout=} on a webhook call needs).
     */
    @Test
    void aQueryParameterAnEndpointDoesNotTakeOrOneGivenTwiceIsRefusedNamingIt() throws Exception {
        Answer typo = request("GET", "/api/v1/audit?project=hostile&sinse=2026-01-01T00:00:00Z", null, new byte[0]);
        assertRefused(typo, 400, "query sinse");
        assertThat(typo.raw()).contains("since").contains("actor");
        Answer twice = request("GET", "/api/v1/audit?project=hostile&actor=a&actor=b", null, new byte[0]);
        assertRefused(twice, 400, "query actor");
        assertThat(twice.raw()).contains("more than once");
        assertRefused(request("GET", "/api/v1/logins?limit=1&limit=1000", null, new byte[0]), 400, "query limit");
        assertRefused(request("GET", "/api/v1/replay?at=2026-01-01T00:00:00Z&projct=hostile", null, new byte[0]), 400, "query projct");
        assertRefused(request("GET", "/api/v1/deployments?project=hostile&project=other", null, new byte[0]), 400, "query project");

        assertThat(request("GET", "/api/v1/audit?project=hostile&limit=5", null, new byte[0]).status()).isEqualTo(200);
        assertThat(request("GET", "/api/v1/deployments?project=hostile", null, new byte[0]).status()).isEqualTo(200);
        assertThat(request("GET", "/api/v1/projects/hostile?verbose=1", null, new byte[0]).status()).as("takes none: ignored").isEqualTo(200);
        Answer review = request("POST", "/api/v1/tokenreviews?timeout=10s", "application/json",
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"not-a-token\"}}".getBytes(StandardCharsets.UTF_8));
        assertThat(review.status()).as(review.raw()).isEqualTo(200);
        assertThat(review.body().at("/status/authenticated").asBoolean()).isFalse();
    }

    @Test
    void jsonBeyondTheParsersLimitsIs400NamingTheBody() throws Exception {
        long before = logEnd();
        assertRefused(post(DEPLOY, "[".repeat(1001) + "]".repeat(1001)), 400, "body");
        assertRefused(post(DEPLOY, "{\"spec\":{\"replicas\":{\"min\":" + "9".repeat(1001) + "}}}"), 400, "body");
        assertRefused(post(DEPLOY, "{\"" + "x".repeat(50_001) + "\":1}"), 400, "body");
        assertThat(logEnd()).isEqualTo(before);
    }

    @Test
    void duplicateKeysTrailingContentAndNonUtf8BodiesAreRefused() throws Exception {
        long before = logEnd();
        assertRefused(post(DEPLOY, "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\",\"model\":\"evil\"}}"), 400, "spec.model");
        assertRefused(post(DEPLOY, GOOD + " {\"more\":1}"), 400, "body");
        assertRefused(post(DEPLOY, GOOD + "garbage"), 400, "body");
        byte[] bom = ("\uFEFF" + GOOD).getBytes(StandardCharsets.UTF_8);
        assertRefused(request("POST", DEPLOY, "application/json", bom), 400, "body");
        assertRefused(request("POST", DEPLOY, "application/json; charset=utf-16", GOOD.getBytes(StandardCharsets.UTF_16)), 415, "Content-Type");
        assertRefused(request("POST", DEPLOY, "application/json", GOOD.getBytes(StandardCharsets.UTF_16LE)), 400, "body");
        assertThat(logEnd()).isEqualTo(before);
    }

    @Test
    void bodiesTooLargeForTheLogAre413BeforeAnythingIsWritten() throws Exception {
        long before = logEnd();
        String big = "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\"},\"status\":{\"pad\":\"" + "x".repeat(2_000_000) + "\"}}";
        assertRefused(post(DEPLOY, big), 413, "body");
        String version = "{\"command\":[\"serve\"],\"tags\":{\"pad\":\"" + "x".repeat(1_100_000) + "\"}}";
        assertRefused(post("/api/v1/projects/hostile/models/iris/versions", version), 413, "body");
        assertThat(logEnd()).isEqualTo(before);
    }

    @Test
    void invalidValuesAreRefusedNamingTheFieldNeverCoerced() throws Exception {
        long before = logEnd();
        String versions = "/api/v1/projects/hostile/models/iris/versions";
        Answer command = post(versions, "{\"command\":[1,{},null,true,[]]}");
        assertRefused(command, 400, "command[0]");
        assertThat(command.fields()).contains("command[1]", "command[2]", "command[3]", "command[4]");
        Answer shape = post(versions, "{\"command\":[\"serve\"],\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[\"a\",1.5,-7,1e30,null]}]}");
        assertRefused(shape, 400, "inputs[0].shape[0]");
        assertThat(shape.fields()).contains("inputs[0].shape[1]", "inputs[0].shape[2]", "inputs[0].shape[3]", "inputs[0].shape[4]");
        assertRefused(post(versions, "{\"command\":[\"serve\"],\"tags\":{\"a\":{\"b\":1},\"c\":2}}"), 400, "tags.a");
        Answer names = post(versions, "{\"command\":[\"serve\"],\"inputs\":[{\"name\":\"\",\"datatype\":\"FP32\",\"shape\":[1]},"
                + "{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]},{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]}]}");
        assertRefused(names, 400, "inputs[0].name");
        assertThat(names.fields()).contains("inputs[2].name");
        assertRefused(post(DEPLOY, "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\",\"shadow\":true}}"), 400, "spec.shadow");
        assertRefused(post(DEPLOY, "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"" + "m".repeat(1000) + "\"}}"), 400, "spec.model");
        assertRefused(post(DEPLOY, "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\",\"resources\":{\"memory\":\"99999999999999999999Gi\"}}}"),
                400, "spec.resources.memory");
        assertRefused(post(DEPLOY, "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\",\"resources\":{\"cpu\":\"5000\"}}}"),
                400, "spec.resources.cpu");
        assertRefused(post("/api/v1/projects/clops/deployments", GOOD), 400, "metadata.project");
        assertRefused(post("/api/v1/projects/clops-system/models/iris/versions", "{\"command\":[\"serve\"]}"), 400, "project");
        assertThat(logEnd()).isEqualTo(before);
    }

    @Test
    void aReusedIdempotencyKeyIs422NamingItAndAppendsNothing() throws Exception {
        Answer first = request("DELETE", DEPLOY + "/nothing-here", null, new byte[0], "Idempotency-Key: k-reused");
        assertThat(first.status()).isEqualTo(409);
        assertThat(first.body().get("reason").asText()).isEqualTo("deployment 'nothing-here' does not exist in project 'hostile'");
        long before = logEnd();
        Answer other = request("POST", DEPLOY, "application/json", GOOD.replace("iris\"}", "other\"}").getBytes(StandardCharsets.UTF_8),
                "Idempotency-Key: k-reused");
        assertRefused(other, 422, "Idempotency-Key");
        assertThat(other.body().get("error").asText()).contains("was already used for another request");
        Answer same = request("DELETE", DEPLOY + "/nothing-here", null, new byte[0], "Idempotency-Key: k-reused");
        assertThat(same.status()).isEqualTo(409);
        assertThat(same.body().get("commandId").asText()).isEqualTo(first.body().get("commandId").asText());
        assertThat(logEnd()).as("neither the other request nor the repeat was appended").isEqualTo(before);
    }

    @Test
    void theFrameworksOwnRefusalsHaveTheDocumentedShape() throws Exception {
        assertRefused(request("PATCH", DEPLOY + "/iris", "application/json", GOOD.getBytes(StandardCharsets.UTF_8)), 405, null);
        assertRefused(request("POST", DEPLOY, "text/plain", GOOD.getBytes(StandardCharsets.UTF_8)), 415, "Content-Type");
        assertRefused(request("POST", DEPLOY, "application/json", new byte[0]), 400, "body");
        assertRefused(request("GET", "/api/v1/nothing-here", null, new byte[0]), 404, null);
        assertRefused(request("GET", "/api/v1/projects/x/deployments/" + "a".repeat(10_000), null, new byte[0]), 414, null);
        assertRefused(request("GET", "/api/v1/info", null, new byte[0], "X-Pad: " + "p".repeat(9_000)), 431, null);
    }
}
