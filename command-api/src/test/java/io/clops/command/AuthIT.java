package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.auth.Users;
import io.clops.reconciler.Reconciler;
import io.clops.testing.KafkaExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static io.clops.command.CommandApiIT.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Login, whoami and the TokenReview webhook over the running API, with a users file of bcrypt hashes. */
@ExtendWith(KafkaExtension.class)
class AuthIT {
    static Reconciler reconciler;
    static EmbeddedServer server;
    static Path auth;
    static String bootstrap;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        auth = Files.createTempDirectory("clops-auth");
        Users.put(auth.resolve("users"), "erin", "erin's long password");
        Users.put(auth.resolve("users"), "frank", "frank's long password");
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.gateway.local-user", "erin", "clops.auth.dir", auth.toString(),
                "clops.intake.enabled", false));
        assertThat(send("POST", "/api/v1/projects", "{\"name\":\"auth-a\"}", null).statusCode()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    static HttpResponse<String> send(String method, String path, String body, String token) throws Exception {
        return send(server, method, path, body, token);
    }

    static HttpResponse<String> send(EmbeddedServer server, String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.getURL() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return CommandApiIT.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String login(String user, String password) throws Exception {
        return login(server, user, password);
    }

    static String login(EmbeddedServer server, String user, String password) throws Exception {
        HttpResponse<String> r = send(server, "POST", "/api/v1/login", "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("token").asText();
    }

    @Test
    void aUserLogsInAndIsKnownByTheirTokenWithTheirRoles() throws Exception {
        String token = login("erin", "erin's long password");
        assertThat(token).startsWith("clops1.");
        JsonNode me = json(send("GET", "/api/v1/whoami", null, token));
        assertThat(me.get("user").asText()).isEqualTo("erin");
        assertThat(me.get("projects").toString()).isEqualTo("[{\"project\":\"auth-a\",\"role\":\"admin\"}]");
        assertThat(me.get("tokenKind").asText()).isEqualTo("session");
    }

    @Test
    void aTokenLoggedOutStopsWorkingOnEveryDoorWithinTheRevocationBound() throws Exception {
        String token = login("erin", "erin's long password");
        String other = login("erin", "erin's long password");
        // a second API beside the first (its own process on a cluster; the same key and log)
        EmbeddedServer second = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap,
                "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1", "clops.auth.dir", auth.toString(),
                "clops.intake.enabled", false));
        try {
            assertThat(send(second, "GET", "/api/v1/whoami", null, token).statusCode()).isEqualTo(200);
            assertThat(send("POST", "/api/v1/logout", null, token).statusCode()).isEqualTo(200);
            long revokedAt = System.nanoTime();
            io.clops.testing.Await.until("the other door refuses the revoked token", io.clops.service.Revocations.BOUND,
                    () -> {
                        try {
                            return send(second, "GET", "/api/v1/whoami", null, token).statusCode() == 401;
                        } catch (Exception e) {
                            return false;
                        }
                    });
            System.out.printf("AuthIT: another door refused a logged-out token after %d ms (bound %s)%n",
                    (System.nanoTime() - revokedAt) / 1_000_000, io.clops.service.Revocations.BOUND);
            assertThat(json(send(second, "GET", "/api/v1/whoami", null, token)).get("error").asText()).isEqualTo("the token was revoked");
        } finally {
            second.getApplicationContext().close();
        }
        String review = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"" + token + "\"}}";
        assertThat(json(send("GET", "/api/v1/whoami", null, token)).get("error").asText()).isEqualTo("the token was revoked");
        assertThat(json(send("POST", "/api/v1/tokenreviews", review, null)).at("/status/error").asText()).isEqualTo("the token was revoked");
        assertThat(send("GET", "/api/v1/whoami", null, other).statusCode()).as("her other session stays").isEqualTo(200);
        // every project's executors read clops.revocations: it names no one (whose it was is on clops.logins by token id)
        String id = server.getApplicationContext().getBean(AuthController.class).tokens().check(token).orElseThrow().id();
        var revoked = io.clops.testing.TopicProbe.readAll(bootstrap, io.clops.kafka.Topics.REVOCATIONS.name(),
                        io.clops.kafka.Topics.REVOCATIONS.keySerde().deserializer(), io.clops.kafka.Topics.REVOCATIONS.valueSerde().deserializer())
                .stream().filter(r -> r.key().equals(id)).map(org.apache.kafka.clients.consumer.ConsumerRecord::value).toList();
        assertThat(revoked).hasSize(1);
        assertThat(revoked.get(0).getSubject() + revoked.get(0).getRevokedBy()).isEmpty();
        assertThat(revoked.get(0).getReason()).isEqualTo("logout");
    }

    @Test
    void noTokenAGarbageTokenAndAForgedOneAre401SayingWhy() throws Exception {
        HttpResponse<String> none = send("GET", "/api/v1/whoami", null, null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(json(none).get("error").asText()).startsWith("no token");
        HttpResponse<String> garbage = send("GET", "/api/v1/whoami", null, "let-me-in");
        assertThat(garbage.statusCode()).isEqualTo(401);
        assertThat(json(garbage).get("error").asText()).isEqualTo("not a clops token");
        String forged = new io.clops.auth.Tokens(io.clops.auth.Tokens.generate(), java.time.Clock.systemUTC())
                .issue("erin", Duration.ofHours(1), io.clops.auth.Tokens.Kind.session, null);
        HttpResponse<String> f = send("GET", "/api/v1/whoami", null, forged);
        assertThat(f.statusCode()).isEqualTo(401);
        assertThat(json(f).get("error").asText()).isEqualTo("the token's signature is not the platform's");
        assertThat(f.body()).doesNotContain(forged.substring(0, 30));
    }

    @Test
    void failedLoginsSayNothingOfWhichPartWasWrongAndAreLimited() throws Exception {
        HttpResponse<String> wrong = send("POST", "/api/v1/login", "{\"user\":\"frank\",\"password\":\"guess one\"}", null);
        HttpResponse<String> unknown = send("POST", "/api/v1/login", "{\"user\":\"nobody\",\"password\":\"guess one\"}", null);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(unknown.statusCode()).isEqualTo(401);
        assertThat(json(wrong).get("error").asText()).isEqualTo(json(unknown).get("error").asText()).isEqualTo("wrong user or password");
        for (int i = 0; i < 4; i++) {
            assertThat(send("POST", "/api/v1/login", "{\"user\":\"frank\",\"password\":\"guess " + i + "\"}", null).statusCode()).isEqualTo(401);
        }
        HttpResponse<String> limited = send("POST", "/api/v1/login", "{\"user\":\"frank\",\"password\":\"frank's long password\"}", null);
        assertThat(limited.statusCode()).as("even the right password, once limited").isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After")).isPresent();
        HttpResponse<String> bad = send("POST", "/api/v1/login", "{\"user\":\"frank\"}", null);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("fields").findValuesAsText("field")).containsExactly("password");
    }

    @Test
    void theTokenReviewWebhookAnswersKubernetesWithTheUserAndTheirProjectGroups() throws Exception {
        String token = login("erin", "erin's long password");
        HttpResponse<String> r = send("POST", "/api/v1/tokenreviews", """
                {"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"}}""".formatted(token), null);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode review = json(r);
        assertThat(review.at("/status/authenticated").asBoolean()).isTrue();
        assertThat(review.at("/status/user/username").asText()).isEqualTo("erin");
        assertThat(review.at("/status/user/groups").toString()).isEqualTo("[\"clops:authenticated\",\"clops:auth-a:admin\"]");
        HttpResponse<String> bad = send("POST", "/api/v1/tokenreviews", "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\"}", null);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("fields").findValuesAsText("field")).containsExactly("spec.token");
    }
}
