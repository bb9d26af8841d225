package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
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

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import static io.clops.command.CommandApiIT.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Projects as tenants, through the HTTP API, the gateway, the real broker and the fold. */
@ExtendWith(KafkaExtension.class)
class ProjectsIT {
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
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    static HttpResponse<String> send(String method, String path, String body) throws Exception {
        return send(method, path, body, Map.of());
    }

    static HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.getURL() + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-Clops-Actor", "mallory")
                .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody() : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return CommandApiIT.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String deployment(String project, String name, String cpu) {
        return """
                {"apiVersion":"clops.io/v1","kind":"ModelDeployment","metadata":{"name":"%s","project":"%s"},
                 "spec":{"model":"iris:1","resources":{"cpu":"%s","memory":"256Mi"},"replicas":{"min":1,"max":1}}}"""
                .formatted(name, project, cpu);
    }

    static void projectWithIris(String project, String quota) throws Exception {
        HttpResponse<String> created = send("POST", "/api/v1/projects", "{\"name\":\"" + project + "\",\"quota\":" + quota + "}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(send("POST", "/api/v1/projects/" + project + "/models/iris/versions", "{\"command\":[\"serve\"]}").statusCode())
                .isEqualTo(201);
    }

    @Test
    void twoClientsDeployingAtOnceIntoAQuotaThatFitsOneGetOneAcceptedAndOneRefusedNamingTheAmounts() throws Exception {
        projectWithIris("race", "{\"cpu\":\"1\",\"memory\":\"4Gi\"}");
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> both = new ArrayList<>();
        for (String name : List.of("left", "right")) {
            both.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                    return send("POST", "/api/v1/projects/race/deployments", deployment("race", name, "600m"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        go.countDown();
        List<HttpResponse<String>> answers = both.stream().map(CompletableFuture::join).toList();
        assertThat(answers).extracting(HttpResponse::statusCode).containsExactlyInAnyOrder(200, 409);
        HttpResponse<String> refused = answers.stream().filter(a -> a.statusCode() == 409).findFirst().orElseThrow();
        assertThat(json(refused).get("code").asText()).isEqualTo("quota-exceeded");
        assertThat(json(refused).get("reason").asText()).isEqualTo("project 'race' quota exceeded: cpu: requested 600m"
                + " (1 route × 1 replicas.max × 600m), 400m left of 1");
        String loser = json(refused).get("deployment").asText();
        assertThat(json(send("GET", "/api/v1/projects/race/deployments", null)).get("items")).hasSize(1);

        HttpResponse<String> raised = send("PUT", "/api/v1/projects/race/quota", "{\"cpu\":\"2\",\"memory\":\"4Gi\"}");
        assertThat(raised.statusCode()).as(raised.body()).isEqualTo(200);
        assertThat(json(raised).at("/state/quota/cpu/limit").asText()).isEqualTo("2");
        HttpResponse<String> retried = send("POST", "/api/v1/projects/race/deployments", deployment("race", loser, "600m"));
        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);

        JsonNode quota = json(send("GET", "/api/v1/projects/race/quota", null)); // the answer waited for the view
        assertThat(quota.at("/cpu/used").asText()).isEqualTo("1200m");
        assertThat(quota.at("/cpu/left").asText()).isEqualTo("800m");
        assertThat(quota.at("/memory/used").asText()).isEqualTo("512Mi");
        assertThat(quota.at("/deployments/limit").isNull()).as("unlimited").isTrue();
        assertThat(quota.at("/deployments/used").asInt()).isEqualTo(2);
    }

    @Test
    void aQuotaIsNeverLoweredBelowWhatRunsAndItsRefusalNamesEachLimit() throws Exception {
        projectWithIris("shrink", "{\"cpu\":\"2\"}");
        assertThat(send("POST", "/api/v1/projects/shrink/deployments", deployment("shrink", "a", "1500m")).statusCode()).isEqualTo(200);
        HttpResponse<String> lower = send("PUT", "/api/v1/projects/shrink/quota", "{\"cpu\":\"1\",\"deployments\":0}");
        assertThat(lower.statusCode()).isEqualTo(409);
        assertThat(json(lower).get("reason").asText()).isEqualTo("quota.cpu: 1 is below what the project's deployments use (1500m);"
                + " quota.deployments: 0 is below the project's 1 deployments; undeploy or scale down first");
        assertThat(json(send("GET", "/api/v1/projects/shrink/quota", null)).at("/cpu/limit").asText()).isEqualTo("2");
    }

    @Test
    void membersAndRolesAreKeptAndShownAndTheLastAdminStays() throws Exception {
        assertThat(send("POST", "/api/v1/projects", "{\"name\":\"team\",\"description\":\"fraud models\"}").statusCode()).isEqualTo(201);
        assertThat(send("PUT", "/api/v1/projects/team/members/bob%40example.com", "{\"role\":\"modeler\"}").statusCode()).isEqualTo(200);
        JsonNode members = json(send("GET", "/api/v1/projects/team/members", null));
        assertThat(members.get("items").toString()).isEqualTo("[{\"user\":\"alice\",\"role\":\"admin\"},"
                + "{\"user\":\"bob@example.com\",\"role\":\"modeler\"}]");
        HttpResponse<String> last = send("DELETE", "/api/v1/projects/team/members/alice", null);
        assertThat(last.statusCode()).isEqualTo(409);
        assertThat(json(last).get("reason").asText()).isEqualTo("user 'alice' is the last admin of project 'team': make someone else admin first");
        JsonNode team = json(send("GET", "/api/v1/projects/team", null));
        assertThat(team.get("createdBy").asText()).as("the caller, not X-Clops-Actor").isEqualTo("alice");
        assertThat(team.get("description").asText()).isEqualTo("fraud models");
        assertThat(team.get("generation").asInt()).isEqualTo(2);
    }

    @Test
    void malformedProjectRequestsAre400NamingTheFieldAndNothingReachesTheLog() throws Exception {
        long before = TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name());
        HttpResponse<String> bad = send("POST", "/api/v1/projects", "{\"name\":\"Bad Name\",\"quota\":{\"cpu\":\"1.5m\",\"gpu\":{\"gpu\":1}}}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("fields").findValuesAsText("field")).containsExactlyInAnyOrder("name", "quota.cpu", "quota.gpu.gpu");
        assertThat(json(bad).toString()).contains("is not a whole number of its unit: CPU is counted in whole millicores");
        HttpResponse<String> role = send("PUT", "/api/v1/projects/team/members/carol", "{\"role\":\"owner\"}");
        assertThat(role.statusCode()).isEqualTo(400);
        assertThat(json(role).get("fields").findValuesAsText("field")).containsExactly("role");
        HttpResponse<String> quota = send("PUT", "/api/v1/projects/team/quota", "{\"cpu\":\"2\",\"cpu\":\"3\"}");
        assertThat(quota.statusCode()).as("a duplicate key").isEqualTo(400);
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name())).isEqualTo(before);
    }

    @Test
    void aDeployCarryingAStaleGenerationIsRefusedNamingTheCurrentOne() throws Exception {
        projectWithIris("gen", "{}");
        assertThat(send("POST", "/api/v1/projects/gen/deployments", deployment("gen", "a", "100m"), Map.of("If-Match", "0"))
                .statusCode()).isEqualTo(200);
        HttpResponse<String> stale = send("PUT", "/api/v1/projects/gen/deployments/a", deployment("gen", "a", "200m"),
                Map.of("If-Match", "0"));
        assertThat(stale.statusCode()).isEqualTo(409);
        assertThat(json(stale).get("code").asText()).isEqualTo("generation-mismatch");
        assertThat(json(stale).get("reason").asText()).isEqualTo("deployment 'a' is at generation 1, not 0 as expected: read it again and retry");
        assertThat(send("PUT", "/api/v1/projects/gen/deployments/a", deployment("gen", "a", "200m"), Map.of("If-Match", "\"1\""))
                .statusCode()).isEqualTo(200);
        HttpResponse<String> garbled = send("PUT", "/api/v1/projects/gen/deployments/a", deployment("gen", "a", "200m"),
                Map.of("If-Match", "W/\"x\""));
        assertThat(garbled.statusCode()).isEqualTo(400);
        assertThat(json(garbled).get("fields").findValuesAsText("field")).containsExactly("If-Match");
    }

    @Test
    void deletingAProjectUndeploysEverythingInItAndItIsGoneFromTheList() throws Exception {
        projectWithIris("doomed", "{}");
        for (String n : List.of("a", "b", "c")) {
            assertThat(send("POST", "/api/v1/projects/doomed/deployments", deployment("doomed", n, "100m")).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> deleted = send("DELETE", "/api/v1/projects/doomed", null);
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertThat(json(deleted).get("reason").asText()).isEqualTo("deleted with 3 deployment(s) and 1 model(s)");
        assertThat(send("GET", "/api/v1/projects/doomed", null).statusCode()).isEqualTo(404);
        assertThat(json(send("GET", "/api/v1/projects", null)).get("items").findValuesAsText("name")).doesNotContain("doomed");
        io.clops.testing.Await.until("the deployments of doomed gone from the read side", () -> {
            try {
                return json(send("GET", "/api/v1/projects/doomed/deployments", null)).get("items").isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        HttpResponse<String> after = send("POST", "/api/v1/projects/doomed/deployments", deployment("doomed", "a", "100m"));
        assertThat(json(after).get("reason").asText()).isEqualTo("project 'doomed' does not exist: create it first (clops project create doomed)");
    }

    @Test
    void theApiServesItsOpenApiDocumentGeneratedFromTheControllers() throws Exception {
        HttpResponse<String> doc = send("GET", "/api/v1/openapi.json", null);
        assertThat(doc.statusCode()).isEqualTo(200);
        JsonNode paths = json(doc).get("paths");
        assertThat(json(doc).get("openapi").asText()).startsWith("3.");
        assertThat(paths.has("/api/v1/projects")).isTrue();
        assertThat(paths.has("/api/v1/projects/{project}/quota")).isTrue();
        assertThat(paths.has("/api/v1/projects/{project}/deployments/{name}")).isTrue();
        assertThat(paths.has("/api/v1/projects/{project}/models/{model}/versions")).as("the registry's part, merged").isTrue();
        HttpResponse<String> yaml = send("GET", "/api/v1/openapi.yaml", null);
        assertThat(yaml.statusCode()).isEqualTo(200);
        assertThat(yaml.body()).startsWith("---\nopenapi: \"3.").contains("/api/v1/projects/{project}/members/{user}:");
    }
}
