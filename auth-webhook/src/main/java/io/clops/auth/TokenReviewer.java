package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Answers an {@code authentication.k8s.io/v1} TokenReview, as kube-apiserver's webhook token authenticator sends
 * it: the token is looked up; the answer carries the user and its {@code clops:<project>:<role>} groups, or
 * {@code authenticated: false} with an error. A plain class, so it is tested without a server.
 */
public final class TokenReviewer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TokenStore tokens;

    public TokenReviewer(TokenStore tokens) {
        this.tokens = tokens;
    }

    /** @throws IllegalArgumentException naming the field when the request is not a TokenReview */
    public ObjectNode review(JsonNode request) {
        if (request == null || !"TokenReview".equals(request.path("kind").asText())) {
            throw new IllegalArgumentException("kind: expected TokenReview");
        }
        if (!request.path("apiVersion").asText().startsWith("authentication.k8s.io/")) {
            throw new IllegalArgumentException("apiVersion: expected authentication.k8s.io/v1");
        }
        JsonNode token = request.path("spec").path("token");
        if (!token.isTextual()) {
            throw new IllegalArgumentException("spec.token: required");
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("apiVersion", request.path("apiVersion").asText());
        out.put("kind", "TokenReview");
        ObjectNode status = out.putObject("status");
        tokens.find(token.asText()).ifPresentOrElse(id -> {
            status.put("authenticated", true);
            ObjectNode user = status.putObject("user");
            user.put("username", id.username());
            user.put("uid", id.uid());
            var groups = user.putArray("groups");
            id.groups().forEach(groups::add);
        }, () -> {
            status.put("authenticated", false);
            status.put("error", "unknown or expired token");
        });
        return out;
    }
}
