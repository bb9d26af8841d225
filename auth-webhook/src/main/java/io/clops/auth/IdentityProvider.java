package io.clops.auth;

import java.util.Optional;

/**
 * Who someone is, proven by what they present: a users file (name and password), GitHub (a GitHub token, its user
 * and organisations). Each answers with the clops user name, or empty; never why (a login failure says nothing
 * about which part was wrong).
 */
public interface IdentityProvider {
    String name();

    Optional<String> authenticate(String user, String secret);
}
