package io.clops.auth;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * GitHub login against a local stand-in for GitHub's API (GitHub itself cannot be reached here): it answers
 * {@code /user} and {@code /user/orgs} for the tokens it knows, 401 for the others, as GitHub does.
 */
class GitHubIdentityTest {
    /** token → (login, organisations) */
    static final Map<String, Map.Entry<String, List<String>>> ACCOUNTS = Map.of(
            "ghp_octocat", Map.entry("octocat", List.of("github", "clops-ml")),
            "ghp_outsider", Map.entry("outsider", List.of("elsewhere")));
    HttpServer github;
    final List<String> seenAuthorization = new CopyOnWriteArrayList<>();
    volatile int status = 200;

    @BeforeEach
    void standIn() throws Exception {
        github = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        github.createContext("/", ex -> {
            try (ex) {
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                seenAuthorization.add(auth);
                var account = auth == null ? null : ACCOUNTS.get(auth.replaceFirst("^Bearer ", ""));
                String body;
                int code = status;
                if (code != 200) {
                    body = "{\"message\":\"Server Error\"}";
                } else if (account == null) {
                    code = 401;
                    body = "{\"message\":\"Bad credentials\"}";
                } else if (ex.getRequestURI().getPath().equals("/user")) {
                    body = "{\"login\":\"" + account.getKey() + "\",\"id\":1}";
                } else if (ex.getRequestURI().getPath().equals("/user/orgs")) {
                    body = "[" + String.join(",", account.getValue().stream().map(o -> "{\"login\":\"" + o + "\"}").toList()) + "]";
                } else {
                    code = 404;
                    body = "{}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(code, b.length);
                ex.getResponseBody().write(b);
            }
        });
        github.start();
    }

    @AfterEach
    void stop() {
        github.stop(0);
    }

    GitHubIdentity provider(Set<String> orgs) {
        return new GitHubIdentity(URI.create("http://127.0.0.1:" + github.getAddress().getPort()), orgs, Duration.ofSeconds(5));
    }

    @Test
    void aMemberOfAnAllowedOrganisationIsGithubColonLogin() {
        assertThat(provider(Set.of("CLOPS-ML")).authenticate(null, "ghp_octocat")).contains("github:octocat");
        assertThat(seenAuthorization).containsOnly("Bearer ghp_octocat");
    }

    @Test
    void outsidersAndTokensGitHubRefusesAreNobody() {
        GitHubIdentity p = provider(Set.of("clops-ml"));
        assertThat(p.authenticate(null, "ghp_outsider")).as("not in the organisation").isEmpty();
        assertThat(p.authenticate(null, "ghp_unknown")).as("GitHub says 401").isEmpty();
        int asked = seenAuthorization.size();
        assertThat(p.authenticate(null, "ghp bad\r\nX: y")).as("not a token: GitHub is not even asked").isEmpty();
        assertThat(p.authenticate(null, null)).isEmpty();
        assertThat(seenAuthorization).hasSize(asked);
    }

    @Test
    void withoutOrganisationsGitHubLoginIsOff() {
        GitHubIdentity p = provider(Set.of());
        assertThat(p.enabled()).isFalse();
        assertThat(p.authenticate(null, "ghp_octocat")).isEmpty();
        assertThat(seenAuthorization).isEmpty();
    }

    @Test
    void gitHubDownIsUnavailableNotAWrongToken() {
        status = 502;
        assertThatThrownBy(() -> provider(Set.of("clops-ml")).authenticate(null, "ghp_octocat"))
                .isInstanceOf(GitHubIdentity.Unavailable.class).hasMessage("GitHub answered 502 to GET /user");
        github.stop(0);
        assertThatThrownBy(() -> provider(Set.of("clops-ml")).authenticate(null, "ghp_octocat"))
                .isInstanceOf(GitHubIdentity.Unavailable.class).hasMessageStartingWith("GitHub (127.0.0.1) did not answer");
    }
}
