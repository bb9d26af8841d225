package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.reconciler.Reconciler;
import io.clops.testing.TopicProbe;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker stops and starts again while a client sends 1,000 deploy commands, each with its own Idempotency-Key,
 * retrying (same key) whatever gets no verdict: every command gets exactly one verdict, none is lost or applied twice.
 * All 1,000 change one deployment's spec, so each accepted command is one generation: applied twice would skip a
 * generation or give two commands one, lost would leave the last below 1,000. This class runs its own broker.
 */
class BrokerRestartIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int N = 1000;

    @TempDir
    Path home;
    EmbeddedKafkaBroker broker;
    Reconciler reconciler;
    EmbeddedServer server;
    /** A stand-in for GitHub's API (GitHub cannot be reached from here): ghp_octocat is octocat's, a member of clops-ml. */
    com.sun.net.httpserver.HttpServer github;

    @AfterEach
    void stop() {
        if (github != null) {
            github.stop(0);
        }
        if (server != null) {
            server.getApplicationContext().close();
        }
        if (reconciler != null) {
            reconciler.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    record Answer(int status, JsonNode body) {
    }

    Answer send(HttpClient http, String method, String path, String body, String key) throws Exception {
        return send(http, method, path, body, key, null);
    }

    Answer send(HttpClient http, String method, String path, String body, String key, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.getURL() + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (key != null) {
            b.header("Idempotency-Key", key);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), JSON.readTree(r.body()));
    }

    static String spec(int i) {
        return "{\"metadata\":{\"name\":\"counter\"},\"spec\":{\"model\":\"iris\",\"executor\":{\"timeoutMs\":" + (1000 + i) + "}}}";
    }

    @Test
    void everyCommandGetsExactlyOneVerdictAcrossABrokerRestart() throws Exception {
        broker = EmbeddedKafkaBroker.start(home.resolve("kafka"), 0);
        String bootstrap = broker.bootstrapServers();
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        reconciler = Reconciler.start(bootstrap, home.resolve("streams"), Duration.ofSeconds(60));
        io.clops.auth.Users.put(home.resolve("auth/users"), "rita", "rita's long password");
        github = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 16);
        github.createContext("/", ex -> {
            try (ex) {
                boolean known = "Bearer ghp_octocat".equals(ex.getRequestHeaders().getFirst("Authorization"));
                byte[] b = (!known ? "{\"message\":\"Bad credentials\"}" : ex.getRequestURI().getPath().equals("/user")
                        ? "{\"login\":\"octocat\"}" : "[{\"login\":\"clops-ml\"}]").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                ex.sendResponseHeaders(known ? 200 : 401, b.length);
                ex.getResponseBody().write(b);
            }
        });
        github.start();
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap,
                "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1", "clops.command.wait-ms", 5000,
                "clops.command.append-timeout-ms", 2000, "clops.auth.dir", home.resolve("auth").toString(),
                "clops.intake.enabled", false, "clops.auth.github.api-url", "http://127.0.0.1:" + github.getAddress().getPort(),
                "clops.auth.github.orgs", "clops-ml"));
        HttpClient http = HttpClient.newHttpClient();
        String login = "{\"user\":\"rita\",\"password\":\"rita's long password\"}";
        Answer before = send(http, "POST", "/api/v1/login", login, null);
        assertThat(before.status()).as(before.body().toString()).isEqualTo(200);
        String ritasToken = before.body().get("token").asText();
        assertThat(send(http, "POST", "/api/v1/projects", "{\"name\":\"restart\"}", "project").status()).isEqualTo(201);
        assertThat(send(http, "POST", "/api/v1/projects/restart/models/iris/versions", "{\"command\":[\"serve\"]}", "model").status())
                .isEqualTo(201);

        Map<Integer, Answer> answers = new HashMap<>();
        AtomicInteger retries = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        CompletableFuture<Void> client = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < N; i++) {
                while (true) {
                    try {
                        Answer a = send(http, "POST", "/api/v1/projects/restart/deployments", spec(i), "cmd-" + i);
                        if (a.status() == 200 || a.status() == 409) {
                            answers.put(i, a);
                            break;
                        }
                        // 202 (no verdict within the wait) or 503 (the log did not take it): the same key again
                    } catch (Exception e) {
                        // the API stays up; a timeout while the broker is away: the same key again
                    }
                    retries.incrementAndGet();
                    sleepQuietly(100);
                }
                done.incrementAndGet();
            }
        });

        // the broker goes away after 300 verdicts and comes back on the same data
        while (done.get() < 300) {
            assertThat(client).isNotCompletedExceptionally();
            sleepQuietly(10);
        }
        broker.close();
        int atStop = done.get();
        // back once the client has been told at least once that the log is away (it retries with the same key)
        int retriesAtStop = retries.get();
        while (retries.get() == retriesAtStop) {
            assertThat(client).isNotCompletedExceptionally();
            sleepQuietly(10);
        }
        // a login while the log is away gets no token (a session is given only once its issue is in the log), and a
        // logout is refused rather than half done: the token stays valid, as the answer says
        long t0 = System.nanoTime();
        Answer away = send(http, "POST", "/api/v1/login", login, null);
        assertThat(away.status()).as(away.body().toString()).isEqualTo(503);
        assertThat(away.body().toString()).contains("no token was issued").doesNotContain("clops1.");
        Answer awayGitHub = send(http, "POST", "/api/v1/login/github", "{\"token\":\"ghp_octocat\"}", null);
        assertThat(awayGitHub.status()).as("GitHub vouched, the log is away: " + awayGitHub.body()).isEqualTo(503);
        assertThat(awayGitHub.body().toString()).contains("no token was issued").doesNotContain("clops1.");
        Answer logout = send(http, "POST", "/api/v1/logout", "", null, ritasToken);
        assertThat(logout.status()).as(logout.body().toString()).isEqualTo(503);
        assertThat(logout.body().get("error").asText()).contains("the token is still valid");
        System.out.printf("BrokerRestartIT: without the broker, two logins and a logout were refused in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        broker = EmbeddedKafkaBroker.start(home.resolve("kafka"), 0);
        client.get(5, TimeUnit.MINUTES);
        Answer back = send(http, "POST", "/api/v1/login", login, null);
        assertThat(back.status()).as(back.body().toString()).isEqualTo(200);
        List<io.clops.avro.LoginEvent> ritas = TopicProbe.readAll(broker.bootstrapServers(), Topics.LOGINS.name(),
                        Topics.LOGINS.keySerde().deserializer(), Topics.LOGINS.valueSerde().deserializer()).stream()
                .map(ConsumerRecord::value).filter(e -> e.getUser().equals("rita")).toList();
        assertThat(ritas).as("only the logins that got a token are in the log").hasSize(2)
                .allSatisfy(e -> assertThat(e.getOutcome()).isEqualTo(io.clops.avro.LoginOutcome.issued));
        Answer backGitHub = send(http, "POST", "/api/v1/login/github", "{\"token\":\"ghp_octocat\"}", null);
        assertThat(backGitHub.status()).as(backGitHub.body().toString()).isEqualTo(200);
        List<io.clops.avro.LoginEvent> octocats = TopicProbe.readAll(broker.bootstrapServers(), Topics.LOGINS.name(),
                        Topics.LOGINS.keySerde().deserializer(), Topics.LOGINS.valueSerde().deserializer()).stream()
                .map(ConsumerRecord::value).filter(e -> e.getUser().equals("github:octocat")).toList();
        assertThat(octocats).as("the GitHub login that got no token is not in the log; the one after is").hasSize(1)
                .allSatisfy(e -> assertThat(e.getTokenId()).isEqualTo(new io.clops.auth.Tokens(io.clops.auth.Tokens.keyIn(home.resolve("auth")),
                        java.time.Clock.systemUTC()).check(backGitHub.body().get("token").asText()).orElseThrow().id()));
        Answer me = send(http, "GET", "/api/v1/whoami", null, null, ritasToken);
        assertThat(me.status()).as("the logout that failed revoked nothing: " + me.body()).isEqualTo(200);

        assertThat(atStop).as("the client was still sending when the broker stopped").isLessThan(N);
        assertThat(retries.get()).as("some requests had to be retried").isPositive();
        // every command: one answer, accepted, and the generations 1..N in the order sent
        assertThat(answers).hasSize(N);
        for (int i = 0; i < N; i++) {
            Answer a = answers.get(i);
            assertThat(a.status()).as("command %d: %s", i, a.body()).isEqualTo(200);
            assertThat(a.body().get("generation").asLong()).as("command %d", i).isEqualTo(i + 1);
        }
        JsonNode d = send(http, "GET", "/api/v1/projects/restart/deployments/counter", "", null).body();
        assertThat(d.get("generation").asLong()).isEqualTo(N);
        assertThat(d.at("/spec/executor/timeoutMs").asInt()).isEqualTo(1000 + N - 1);

        // in the log: every command id's verdicts agree (a retry gets the first verdict again)
        String b = broker.bootstrapServers();
        Map<String, List<CommandResult>> verdicts = TopicProbe.readAll(b, Topics.COMMAND_RESULTS.name(),
                        Topics.COMMAND_RESULTS.keySerde().deserializer(), Topics.COMMAND_RESULTS.valueSerde().deserializer()).stream()
                .map(ConsumerRecord::value).filter(r -> r.getProject().equals("restart") && r.getCommandId().startsWith("restart:cmd-"))
                .collect(Collectors.groupingBy(CommandResult::getCommandId));
        assertThat(verdicts).hasSize(N);
        verdicts.forEach((id, vs) -> assertThat(vs.stream().map(v -> v.getAccepted() + "/" + v.getGeneration()).distinct().toList())
                .as("verdicts of %s", id).hasSize(1));
        List<CommandEnvelope> commands = TopicProbe.readAll(b, Topics.COMMANDS.name(), Topics.COMMANDS.keySerde().deserializer(),
                Topics.COMMANDS.valueSerde().deserializer()).stream().map(ConsumerRecord::value)
                .filter(c -> c.getProject().equals("restart") && c.getPayload() instanceof io.clops.avro.DeployCommand).toList();
        assertThat(commands.stream().map(CommandEnvelope::getId).distinct().count()).isEqualTo(N);
        System.out.printf("BrokerRestartIT: %d commands, %d retries, %d records on clops.commands (%d distinct), broker stopped after %d%n",
                N, retries.get(), commands.size(), N, atStop);
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
