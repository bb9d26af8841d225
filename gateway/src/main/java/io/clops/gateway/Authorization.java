package io.clops.gateway;

import java.util.Optional;

/**
 * Whether a principal may make a request: the one call every write passes through in the gateway, before anything
 * is appended. Roles (viewer, modeler, admin) are stored in each project and shown; enforcing them is the identity
 * issue's work, which fills this in. Until then {@link #ANYONE}: every principal may make every request.
 */
@FunctionalInterface
public interface Authorization {
    /** Empty when {@code who} may make {@code request}; else why not. */
    Optional<String> refuse(Principal who, Request request);

    Authorization ANYONE = (who, request) -> Optional.empty();
}
