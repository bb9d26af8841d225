package io.clops.service;

/** A request without a valid token where one is needed: 401, saying why (never echoing the token). */
public final class Unauthenticated extends RuntimeException {
    public Unauthenticated(String why) {
        super(why, null, false, false);
    }
}
