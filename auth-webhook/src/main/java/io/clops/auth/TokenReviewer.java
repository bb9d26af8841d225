package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Answers a TokenReview as kube-apiserver's webhook token authenticator sends it ({@code authentication.k8s.io/v1}
 * or {@code v1beta1}, answered in the same apiVersion): a valid, unrevoked clops token is its user, with uid
 * {@code clops:<user>}, the groups {@code clops:authenticated} and {@code clops:<project>:<role>} for each project
 * the user is a member of (service accounts: their one project), and the token's id and kind as extra; anything
 * else is {@code authenticated: false} with the reason. With {@code spec.audiences}, the answer names those the
 * platform accepts, and a token for none of them is not authenticated. A plain class: tested without a server.
 */
public final class TokenReviewer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> VERSIONS = Set.of("authentication.k8s.io/v1", "authentication.k8s.io/v1beta1");
    private final Tokens tokens;
    private final Predicate<String> revoked;
    private final Function<String, List<String>> groups;
    private final Set<String> audiences;

    /**
     * @param revoked   whether a token id was revoked (the log's revocations, as far as this door has read them)
     * @param groups    a user's {@code clops:<project>:<role>} groups, from the projects as the fold decided them
     * @param audiences the audiences clops tokens are good for (the API server's, clops's own)
     */
    public TokenReviewer(Tokens tokens, Predicate<String> revoked, Function<String, List<String>> groups, Set<String> audiences) {
        this.tokens = tokens;
        this.revoked = revoked;
        this.groups = groups;
        this.audiences = Set.copyOf(audiences);
    }

    /** @throws IllegalArgumentException naming the field when the request is not a TokenReview (a 400) */
    public ObjectNode review(JsonNode request) {
        if (request == null || !request.isObject() || !"TokenReview".equals(request.path("kind").asText())) {
            throw new IllegalArgumentException("kind: expected TokenReview");
        }
        String apiVersion = request.path("apiVersion").asText();
        if (!VERSIONS.contains(apiVersion)) {
            throw new IllegalArgumentException("apiVersion: expected authentication.k8s.io/v1 or authentication.k8s.io/v1beta1");
        }
        JsonNode token = request.path("spec").path("token");
        if (!token.isTextual()) {
            throw new IllegalArgumentException("spec.token: required, a string");
        }
        JsonNode asked = request.path("spec").path("audiences");
        if (!asked.isMissingNode() && !asked.isNull() && !asked.isArray()) {
            throw new IllegalArgumentException("spec.audiences: a list of strings");
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("apiVersion", apiVersion);
        out.put("kind", "TokenReview");
        if (request.has("metadata")) {
            out.set("metadata", request.get("metadata"));
        }
        ObjectNode status = out.putObject("status");
        List<String> granted = new ArrayList<>();
        if (asked.isArray()) {
            asked.forEach(a -> {
                if (a.isTextual() && audiences.contains(a.asText())) {
                    granted.add(a.asText());
                }
            });
        }
        try {
            Tokens.Claims c = tokens.verify(token.asText());
            if (revoked.test(c.id())) {
                throw new Tokens.Invalid("the token was revoked");
            }
            if (asked.isArray() && !asked.isEmpty() && granted.isEmpty()) {
                throw new Tokens.Invalid("the token is not for the audiences asked");
            }
            status.put("authenticated", true);
            ObjectNode user = status.putObject("user");
            user.put("username", c.subject());
            user.put("uid", "clops:" + c.subject());
            ArrayNode g = user.putArray("groups");
            g.add("clops:authenticated");
            groups.apply(c.subject()).stream()
                    .filter(x -> c.kind() != Tokens.Kind.service || x.startsWith("clops:" + c.project() + ":"))
                    .forEach(g::add);
            ObjectNode extra = user.putObject("extra");
            extra.putArray("clops.io/token-id").add(c.id());
            extra.putArray("clops.io/token-kind").add(c.kind().name());
            if (asked.isArray() && !asked.isEmpty()) {
                ArrayNode a = status.putArray("audiences");
                granted.forEach(a::add);
            }
        } catch (Tokens.Invalid e) {
            status.put("authenticated", false);
            status.put("error", e.getMessage());
        }
        return out;
    }
}
