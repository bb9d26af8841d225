package io.clops.gateway;

/**
 * Who a request acts for, from the token it carries (null: none): the principal, or {@link Unidentified} saying why
 * not (no token where one is needed, not a valid token, revoked). The HTTP doors and the Kafka intake use the same
 * one, so a token means the same everywhere.
 */
@FunctionalInterface
public interface Identities {
    Principal of(String token) throws Unidentified;

    /** Why a request has no principal; never contains the token. */
    final class Unidentified extends Exception {
        public Unidentified(String why) {
            super(why, null, false, false);
        }
    }
}
