package io.clops.executor;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Who may call, the first step of {@link Admission}: given the token a request presents (the {@code Authorization:
 * Bearer} header's on the sync side, the {@code clops-token} header's on the async side; null when none), why it is
 * refused (401: no valid token; 403: a valid token whose user may not predict here), or null when it may call.
 * The platform's check is {@link Members}; {@link #bearer} is one static token for an executor run on its own.
 */
interface TokenCheck {
    Admission.Refusal refuse(String token);

    /** The check of an {@code Authorization} header: {@code Bearer <token>}, or none. */
    default Admission.Refusal refuseHeader(String authorization) {
        if (authorization == null) {
            return refuse(null);
        }
        String token = bearerToken(authorization);
        return token == null ? unauthenticated("Authorization must be Bearer <token>") : refuse(token);
    }

    /** The token of an {@code Authorization: Bearer <token>} header (the scheme in any case); null for none or another scheme. */
    static String bearerToken(String authorization) {
        return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).strip() : null;
    }

    TokenCheck ALLOW_ALL = new TokenCheck() {
        @Override
        public Admission.Refusal refuse(String token) {
            return null;
        }

        @Override
        public Admission.Refusal refuseHeader(String authorization) {
            return null;
        }
    };

    /** A 401 saying why (never the token's text), with the challenge RFC 6750 asks for. */
    static Admission.Refusal unauthenticated(String why) {
        return new Admission.Refusal(401, why, "WWW-Authenticate: Bearer\r\n");
    }

    static TokenCheck bearer(String token) {
        byte[] want = token.getBytes(StandardCharsets.UTF_8);
        return t -> {
            if (t == null) {
                return unauthenticated("missing Authorization: Bearer token");
            }
            return MessageDigest.isEqual(want, t.getBytes(StandardCharsets.UTF_8)) ? null : unauthenticated("invalid token");
        };
    }
}
