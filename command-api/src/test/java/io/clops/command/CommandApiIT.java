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

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(KafkaExtension.class)
class CommandApiIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Reconciler reconciler;
    static EmbeddedServer server;
    static String bootstrap;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        server = ApplicationContext.run(EmbeddedServer.class, Map.of(
                "clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1",
                "clops.gateway.local-user", "alice"));
        assertThat(send("POST", "/api/v1/projects", "{\"name\":\"api\"}", Map.of()).statusCode()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    static HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.getURL() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").header("X-Clops-Actor", "mallory"); // a claim, ignored
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    @Test
    void aMalformedSpecIs400NamingEachFieldAndNothingReachesTheLog() throws Exception {
        long before = TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name());
        String doc = """
                {"apiVersion":"clops.io/v1","kind":"ModelDeployment","metadata":{"name":"Iris_1","project":"api"},
                 "spec":{"model":"iris@@x","replica":{"min":1},"replicas":{"min":3,"max":2},"mode":"sometimes",
                         "resources":{"cpu":"lots"},"traffic":[{"model":"iris:1","weight":70}]}}""";
        HttpResponse<String> r = send("POST", "/api/v1/projects/api/deployments", doc, Map.of());
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode fields = json(r).get("fields");
        assertThat(fields.findValuesAsText("field")).contains("metadata.name", "spec.model", "spec.replica",
                "spec.replicas.max", "spec.mode", "spec.resources.cpu", "spec.traffic");
        HttpResponse<String> notJson = send("POST", "/api/v1/projects/api/deployments", "{spec: nope", Map.of());
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(json(notJson).get("fields").get(0).get("field").asText()).isEqualTo("body");
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name())).isEqualTo(before);
    }

    @Test
    void deployIsRefusedForAnUnknownModelThenAcceptedOnceRegisteredAndReadBack() throws Exception {
        String doc = """
                {"apiVersion":"clops.io/v1","kind":"ModelDeployment","metadata":{"name":"iris","project":"api"},
                 "spec":{"model":"iris@champion","replicas":{"min":1,"max":2},"mode":"both"}}""";
        HttpResponse<String> refused = send("POST", "/api/v1/projects/api/deployments", doc, Map.of());
        assertThat(refused.statusCode()).isEqualTo(409);
        assertThat(json(refused).get("verdict").asText()).isEqualTo("refused");
        assertThat(json(refused).get("reason").asText()).isEqualTo("spec.model: model 'iris' is not registered in project 'api'");

        HttpResponse<String> reg = send("POST", "/api/v1/projects/api/models/iris/versions",
                "{\"command\":[\"java\",\"-cp\",\"x\",\"Iris\"],\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]}", Map.of());
        assertThat(reg.statusCode()).isEqualTo(201);
        assertThat(json(reg).get("version").asInt()).isEqualTo(1);
        HttpResponse<String> badAlias = send("PUT", "/api/v1/projects/api/models/iris/aliases/champion", "{\"version\":7}", Map.of());
        assertThat(badAlias.statusCode()).isEqualTo(409);
        assertThat(json(badAlias).get("reason").asText()).isEqualTo("model 'iris' has no version 7 in project 'api'");
        assertThat(send("PUT", "/api/v1/projects/api/models/iris/aliases/champion", "{\"version\":1}", Map.of()).statusCode()).isEqualTo(200);

        HttpResponse<String> accepted = send("POST", "/api/v1/projects/api/deployments", doc, Map.of("Idempotency-Key", "k-1"));
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(200);
        assertThat(json(accepted).get("verdict").asText()).isEqualTo("accepted");
        assertThat(json(accepted).get("generation").asInt()).isEqualTo(1);

        HttpResponse<String> retried = send("POST", "/api/v1/projects/api/deployments", doc, Map.of("Idempotency-Key", "k-1"));
        assertThat(json(retried).get("commandId").asText()).isEqualTo(json(accepted).get("commandId").asText());
        assertThat(json(retried).get("generation").asInt()).isEqualTo(1);

        JsonNode got = awaitGet("/api/v1/projects/api/deployments/iris");
        assertThat(got.at("/spec/model").asText()).isEqualTo("iris@champion");
        assertThat(got.at("/spec/replicas/max").asInt()).isEqualTo(2);
        assertThat(got.at("/routes/0/version").asInt()).isEqualTo(1);
        assertThat(got.at("/status/phase").asText()).isEqualTo("Pending");
        assertThat(got.get("lastChangedBy").asText()).isEqualTo("alice");

        HttpResponse<String> deleted = send("DELETE", "/api/v1/projects/api/deployments/iris", null, Map.of());
        assertThat(json(deleted).get("verdict").asText()).isEqualTo("accepted");
        HttpResponse<String> again = send("DELETE", "/api/v1/projects/api/deployments/iris", null, Map.of());
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(json(again).get("reason").asText()).contains("does not exist");
    }

    /** What a caller was told is what it reads next: the answer waits for this API's view, each time. */
    @Test
    void aGetRightAfterAnAcceptedDeployOrUndeployReadsWhatTheAnswerSaid() throws Exception {
        send("POST", "/api/v1/projects/api/models/ryw/versions", "{\"command\":[\"java\",\"-cp\",\"x\",\"Iris\"]}", Map.of());
        for (int i = 1; i <= 10; i++) {
            String doc = """
                    {"metadata":{"name":"ryw","project":"api"},"spec":{"model":"ryw:1","replicas":{"min":1,"max":%d}}}""".formatted(i);
            HttpResponse<String> deployed = send("POST", "/api/v1/projects/api/deployments", doc, Map.of());
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(200);
            HttpResponse<String> got = send("GET", "/api/v1/projects/api/deployments/ryw", null, Map.of());
            assertThat(got.statusCode()).as("round %d", i).isEqualTo(200);
            assertThat(json(got).get("generation").asLong()).as("round %d", i).isEqualTo(json(deployed).get("generation").asLong());
            assertThat(json(got).at("/spec/replicas/max").asInt()).isEqualTo(i);
        }
        assertThat(send("DELETE", "/api/v1/projects/api/deployments/ryw", null, Map.of()).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/api/v1/projects/api/deployments/ryw", null, Map.of()).statusCode()).as("gone when told so").isEqualTo(404);
    }

    /** The desired view follows the log asynchronously: poll briefly until the deployment appears. */
    static JsonNode awaitGet(String path) throws Exception {
        long deadline = System.currentTimeMillis() + 15_000;
        HttpResponse<String> r;
        do {
            r = send("GET", path, null, Map.of());
            if (r.statusCode() == 200) {
                return json(r);
            }
            Thread.sleep(100);
        } while (System.currentTimeMillis() < deadline);
        throw new AssertionError("GET " + path + " still " + r.statusCode() + ": " + r.body());
    }
}
