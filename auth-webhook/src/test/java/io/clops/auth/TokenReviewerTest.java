package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** TokenReviews with the request bodies of Kubernetes' webhook token authentication documentation. */
class TokenReviewerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant T0 = Instant.parse("2026-11-30T12:00:00Z");
    final io.clops.testing.ManualClock clock = new io.clops.testing.ManualClock(T0);
    final Tokens tokens = new Tokens(Tokens.generate(), clock);
    final Set<String> revoked = new java.util.HashSet<>();
    final Map<String, List<String>> memberships = Map.of("alice", List.of("clops:demo:modeler", "clops:ops:viewer"));
    final TokenReviewer reviewer = new TokenReviewer(tokens, revoked::contains, u -> memberships.getOrDefault(u, List.of()),
            Set.of("https://myserver.example.com", "clops"));

    /** The v1 request of the Kubernetes documentation, with {@code token} in place of its example token. */
    static JsonNode v1(String token) throws Exception {
        return JSON.readTree("""
                {
                  "apiVersion": "authentication.k8s.io/v1",
                  "kind": "TokenReview",
                  "spec": {
                    "token": "%s",
                    "audiences": ["https://myserver.example.com", "https://myserver.internal.example.com"]
                  }
                }""".formatted(token));
    }

    /** The v1beta1 request of the same page. */
    static JsonNode v1beta1(String token) throws Exception {
        return JSON.readTree("""
                {
                  "apiVersion": "authentication.k8s.io/v1beta1",
                  "kind": "TokenReview",
                  "spec": {
                    "token": "%s",
                    "audiences": ["https://myserver.example.com", "https://myserver.internal.example.com"]
                  }
                }""".formatted(token));
    }

    @Test
    void aValidTokenIsItsUserWithProjectRoleGroupsAndTheAudiencesAccepted() throws Exception {
        String token = tokens.issue("alice", Duration.ofHours(8), Tokens.Kind.session, null);
        JsonNode answer = reviewer.review(v1(token));
        assertThat(answer.get("apiVersion").asText()).isEqualTo("authentication.k8s.io/v1");
        assertThat(answer.get("kind").asText()).isEqualTo("TokenReview");
        assertThat(answer.at("/status/authenticated").asBoolean()).isTrue();
        assertThat(answer.at("/status/user/username").asText()).isEqualTo("alice");
        assertThat(answer.at("/status/user/uid").asText()).isEqualTo("clops:alice");
        assertThat(answer.at("/status/user/groups").toString())
                .isEqualTo("[\"clops:authenticated\",\"clops:demo:modeler\",\"clops:ops:viewer\"]");
        assertThat(answer.at("/status/user/extra/clops.io~1token-id/0").asText()).isEqualTo(tokens.verify(token).id());
        assertThat(answer.at("/status/audiences").toString()).isEqualTo("[\"https://myserver.example.com\"]");
        assertThat(answer.at("/status/error").isMissingNode()).isTrue();
    }

    @Test
    void v1beta1IsAnsweredInV1beta1() throws Exception {
        JsonNode answer = reviewer.review(v1beta1(tokens.issue("alice", Duration.ofMinutes(5), Tokens.Kind.session, null)));
        assertThat(answer.get("apiVersion").asText()).isEqualTo("authentication.k8s.io/v1beta1");
        assertThat(answer.at("/status/authenticated").asBoolean()).isTrue();
    }

    @Test
    void expiredRevokedForgedTamperedAndGarbageTokensAreNotAuthenticatedAndSayWhy() throws Exception {
        String token = tokens.issue("alice", Duration.ofMinutes(5), Tokens.Kind.session, null);
        Tokens other = new Tokens(Tokens.generate(), clock);
        String forged = other.issue("alice", Duration.ofHours(1), Tokens.Kind.session, null);
        String[] parts = token.split("\\.");
        String claimsOfBob = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(new String(
                java.util.Base64.getUrlDecoder().decode(parts[1])).replace("\"alice\"", "\"bob\"").getBytes());
        String tampered = parts[0] + "." + claimsOfBob + "." + parts[2];
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("014fbff9a07c...", "not a clops token"); // the documentation's own example token
        cases.put("", "no token");
        cases.put(forged, "the token's signature is not the platform's");
        cases.put(tampered, "the token's signature is not the platform's");
        cases.put("clops1.!!!.@@@", "not a clops token");
        cases.put("clops1." + "A".repeat(5000), "not a clops token");
        for (var c : cases.entrySet()) {
            JsonNode answer = reviewer.review(v1(c.getKey()));
            assertThat(answer.at("/status/authenticated").asBoolean()).as(c.getValue()).isFalse();
            assertThat(answer.at("/status/error").asText()).isEqualTo(c.getValue());
            assertThat(answer.at("/status/user").isMissingNode()).isTrue();
            if (c.getKey().length() > 8) {
                assertThat(answer.toString()).as("the token is never echoed").doesNotContain(c.getKey().substring(0, Math.min(40, c.getKey().length())));
            }
        }

        revoked.add(tokens.verify(token).id());
        assertThat(reviewer.review(v1(token)).at("/status/error").asText()).isEqualTo("the token was revoked");
        revoked.clear();
        clock.set(T0.plus(Duration.ofMinutes(5)));
        assertThat(reviewer.review(v1(token)).at("/status/error").asText()).isEqualTo("the token expired at 2026-11-30T12:05:00Z");
    }

    @Test
    void aTokenForNoneOfTheAudiencesAskedIsNotAuthenticated() throws Exception {
        String token = tokens.issue("alice", Duration.ofMinutes(5), Tokens.Kind.session, null);
        JsonNode request = v1(token);
        ((com.fasterxml.jackson.databind.node.ObjectNode) request.get("spec")).putArray("audiences").add("https://elsewhere.example.com");
        JsonNode answer = reviewer.review(request);
        assertThat(answer.at("/status/authenticated").asBoolean()).isFalse();
        assertThat(answer.at("/status/error").asText()).isEqualTo("the token is not for the audiences asked");
        ((com.fasterxml.jackson.databind.node.ObjectNode) request.get("spec")).remove("audiences");
        assertThat(reviewer.review(request).at("/status/audiences").isMissingNode()).as("none asked: none named").isTrue();
    }

    @Test
    void aServiceAccountTokenCarriesOnlyItsOwnProjectsGroups() throws Exception {
        String token = tokens.issue("alice", Duration.ofDays(90), Tokens.Kind.service, "ops");
        JsonNode answer = reviewer.review(v1(token));
        assertThat(answer.at("/status/user/groups").toString()).isEqualTo("[\"clops:authenticated\",\"clops:ops:viewer\"]");
        assertThat(answer.at("/status/user/extra/clops.io~1token-kind/0").asText()).isEqualTo("service");
    }

    @Test
    void aRequestThatIsNotATokenReviewNamesTheField() {
        assertThatThrownBy(() -> reviewer.review(JSON.readTree("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{}}")))
                .hasMessage("spec.token: required, a string");
        assertThatThrownBy(() -> reviewer.review(JSON.readTree("{\"apiVersion\":\"authentication.k8s.io/v2\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"x\"}}")))
                .hasMessageStartingWith("apiVersion:");
        assertThatThrownBy(() -> reviewer.review(JSON.readTree("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SubjectAccessReview\"}")))
                .hasMessage("kind: expected TokenReview");
        assertThatThrownBy(() -> reviewer.review(JSON.readTree("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\","
                + "\"spec\":{\"token\":\"x\",\"audiences\":\"clops\"}}"))).hasMessage("spec.audiences: a list of strings");
    }
}
