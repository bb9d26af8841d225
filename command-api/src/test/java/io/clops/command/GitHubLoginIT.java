package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.clops.testing.KafkaExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;

import static io.clops.command.CommandApiIT.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Logging in with a GitHub token through the running API, against a local stand-in for GitHub's API (GitHub cannot be
 * reached from here): {@code /user} and {@code /user/orgs} for the tokens it knows, 401 for others.
 */
@ExtendWith(KafkaExtension.class)
class GitHubLoginIT {
    static HttpServer github;
    static EmbeddedServer server;
    static EmbeddedServer off;

    @BeforeAll
    static void start() throws Exception {
        github = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        github.createContext("/", ex -> {
            try (ex) {
                String auth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
                String login = auth.equals("Bearer ghp_octocat") ? "octocat" : auth.equals("Bearer ghp_outsider") ? "outsider" : null;
                String body = login == null ? "{\"message\":\"Bad credentials\"}"
                        : ex.getRequestURI().getPath().equals("/user") ? "{\"login\":\"" + login + "\"}"
                        : login.equals("octocat") ? "[{\"login\":\"clops-ml\"}]" : "[{\"login\":\"elsewhere\"}]";
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(login == null ? 401 : 200, b.length);
                ex.getResponseBody().write(b);
            }
        });
        github.start();
        String bootstrap = KafkaExtension.bootstrapServers();
        Map<String, Object> props = Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1",
                "clops.auth.dir", Files.createTempDirectory("clops-auth").toString(), "clops.intake.enabled", false,
                "clops.auth.github.api-url", "http://127.0.0.1:" + github.getAddress().getPort(), "clops.auth.github.orgs", "clops-ml, other-org");
        server = ApplicationContext.run(EmbeddedServer.class, props);
        off = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.intake.enabled", false));
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        off.getApplicationContext().close();
        github.stop(0);
    }

    @Test
    void aGitHubTokenOfAnOrganisationMemberIsExchangedForAClopsToken() throws Exception {
        HttpResponse<String> r = AuthIT.send(server, "POST", "/api/v1/login/github", "{\"token\":\"ghp_octocat\"}", null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode b = json(r);
        assertThat(b.get("user").asText()).isEqualTo("github:octocat");
        String token = b.get("token").asText();
        assertThat(token).startsWith("clops1.").doesNotContain("ghp_octocat");
        HttpResponse<String> me = AuthIT.send(server, "GET", "/api/v1/whoami", null, token);
        assertThat(json(me).get("user").asText()).isEqualTo("github:octocat");
        JsonNode logins = json(AuthIT.send(server, "GET", "/api/v1/logins?user=github:octocat", null, token)).get("items");
        assertThat(logins).as("the login is in the log").isNotEmpty();
        JsonNode last = logins.get(logins.size() - 1);
        assertThat(last.get("method").asText() + " " + last.get("outcome").asText() + " " + last.get("state").asText()).isEqualTo("github issued active");
    }

    @Test
    void outsidersUnknownTokensAndAPlatformWithoutOrganisationsAreRefusedSayingWhy() throws Exception {
        HttpResponse<String> outsider = AuthIT.send(server, "POST", "/api/v1/login/github", "{\"token\":\"ghp_outsider\"}", null);
        assertThat(outsider.statusCode()).isEqualTo(401);
        assertThat(json(outsider).get("error").asText())
                .isEqualTo("GitHub does not know this token, or its user is in none of the platform's organisations");
        assertThat(AuthIT.send(server, "POST", "/api/v1/login/github", "{\"token\":\"ghp_nobody\"}", null).statusCode()).isEqualTo(401);
        JsonNode refused = json(AuthIT.send(server, "GET", "/api/v1/logins?user=github:?", null, null)).get("items");
        assertThat(refused).as("refused GitHub logins are in the log, under github:?").hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(i -> assertThat(i.get("method").asText() + " " + i.get("outcome").asText()).isEqualTo("github refused"));
        assertThat(io.clops.testing.TopicProbe.readAll(KafkaExtension.bootstrapServers(), io.clops.kafka.Topics.LOGINS.name(),
                new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer()))
                .as("no GitHub token in the log").allSatisfy(r -> assertThat(new String(r.value(), StandardCharsets.ISO_8859_1)).doesNotContain("ghp_"));
        HttpResponse<String> missing = AuthIT.send(server, "POST", "/api/v1/login/github", "{\"tokn\":\"x\"}", null);
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(json(missing).get("fields").findValuesAsText("field")).containsExactly("token");
        HttpResponse<String> disabled = AuthIT.send(off, "POST", "/api/v1/login/github", "{\"token\":\"ghp_octocat\"}", null);
        assertThat(disabled.statusCode()).isEqualTo(404);
        assertThat(json(disabled).get("error").asText()).startsWith("GitHub login is off on this platform");
    }
}
