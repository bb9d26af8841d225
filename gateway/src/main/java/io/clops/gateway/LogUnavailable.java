package io.clops.gateway;

/**
 * The log did not take a request in time (the broker is away, say). Whether it was written is unknown: retrying with
 * the same idempotency key is safe, since the fold applies an id once.
 */
public final class LogUnavailable extends RuntimeException {
    public LogUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
