package io.clops.executor;

import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;

/**
 * The seam for authentication: given the Authorization header, why the request is refused (null: allowed).
 * Identity and roles come with the auth issue; today either everyone is allowed, or one static bearer token
 * (CLOPS_EXECUTOR_TOKEN) is required.
 */
@FunctionalInterface
public interface TokenCheck {
    String denied(String authorization);

    TokenCheck ALLOW_ALL = authorization -> null;

    static TokenCheck bearer(String token) {
        byte[] want = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        return authorization -> {
            if (authorization == null) {
                return "missing Authorization: Bearer token";
            }
            return MessageDigest.isEqual(want, authorization.getBytes(StandardCharsets.UTF_8)) ? null : "invalid token";
        };
    }
}
