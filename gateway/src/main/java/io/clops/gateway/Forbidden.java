package io.clops.gateway;

/** {@link Authorization} refused a request: nothing was appended. */
public final class Forbidden extends RuntimeException {
    public Forbidden(String message) {
        super(message);
    }
}
