package io.clops.executor;

import java.io.InputStream;
import java.util.function.Supplier;

/**
 * What every request passes before a model sees it, in one place and in this order: who is asking (the token:
 * 401), how often (the rate limit: 429 with Retry-After), what it sends (an infer call against the model's declared
 * inputs: 400 naming the input). Each step answers a {@link Refusal} as a value, or null: the caller answers it in
 * its own way (an HTTP response on the sync side, an answer record on the async side). The body's size is bounded
 * where the bytes arrive, before this (the HTTP framing's 413; Kafka's record size). Who may call is the
 * {@link TokenCheck}: on the platform, {@link Members}.
 */
final class Admission {
    /** A refused request: the status, what is wrong (a user reads it), and extra header lines (CRLF-terminated) or null. */
    record Refusal(int status, String message, String headerLines) {
    }

    private final TokenCheck tokens;
    private final RateLimiter limiter;
    private final int rateLimitRps;
    private final ShapeValidator validator;

    Admission(TokenCheck tokens, RateLimiter limiter, int rateLimitRps, ShapeValidator validator) {
        this.tokens = tokens;
        this.limiter = limiter;
        this.rateLimitRps = rateLimitRps;
        this.validator = validator;
    }

    /** Who, on the sync side: null when the Authorization header's token may call (401 or 403 otherwise). */
    Refusal who(String authorization) {
        return tokens.refuseHeader(authorization);
    }

    /** Who, on the async side: null when the request's {@code clops-token} (null: none) may call. */
    Refusal whoToken(String token) {
        return tokens.refuse(token);
    }

    /** How often: null when the request is within the rate limit (it takes its share of it). */
    Refusal howOften() {
        long wait = limiter.acquire();
        return wait <= 0 ? null : new Refusal(429, "rate limit of " + rateLimitRps + " requests/s exceeded; retry after " + wait + " s",
                "Retry-After: " + wait + "\r\n");
    }

    /** Whether {@link #what} reads this request's body (an infer call on a model with declared inputs). */
    boolean reads(String method, String path) {
        return validator.appliesTo(method, path);
    }

    /** What: null when the request fits the model's declared inputs, or is not an infer call. */
    Refusal what(String method, String pathAndQuery, Supplier<InputStream> body) {
        if (!validator.appliesTo(method, Http1.pathOf(pathAndQuery))) {
            return null;
        }
        String wrong = validator.check(body.get());
        return wrong == null ? null : new Refusal(400, wrong, null);
    }

    /** The whole chain, in order: the first refusal, or null. */
    Refusal admit(String authorization, String method, String pathAndQuery, Supplier<InputStream> body) {
        Refusal r = who(authorization);
        if (r == null) {
            r = howOften();
        }
        if (r == null) {
            r = what(method, pathAndQuery, body);
        }
        return r;
    }
}
