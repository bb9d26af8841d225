package io.clops.service;

import io.clops.gateway.Principal;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpRequest;
import jakarta.inject.Singleton;

/**
 * Who an HTTP request acts for. Until tokens are checked (the identity issue), every request acts for the platform's
 * configured local user ({@code clops.gateway.local-user}, by default the operating-system user that runs the
 * platform). What a client claims (an {@code X-Clops-Actor} header, say) is ignored: the log records who the
 * platform knows, not who a caller says it is.
 */
@Singleton
public class Callers {
    private final Principal local;

    public Callers(@Value("${clops.gateway.local-user:}") String user) {
        this.local = new Principal(user == null || user.isBlank() ? System.getProperty("user.name", "clops") : user);
    }

    public Principal of(HttpRequest<?> request) {
        return local;
    }

    /** The principal requests without a token act for (HTTP today, and the Kafka intake). */
    public Principal local() {
        return local;
    }
}
