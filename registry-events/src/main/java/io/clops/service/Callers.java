package io.clops.service;

import io.clops.auth.Tokens;
import io.clops.gateway.Principal;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpRequest;
import jakarta.inject.Singleton;

/**
 * Who an HTTP request acts for: the user of its token ({@code Authorization: Bearer}, checked with the platform's
 * key; a service account's token is for its one project). A request that presents a token that is not valid is
 * refused (401, saying why), whatever else it carries. Without a token: 401 when {@code clops.auth.required}, else
 * the platform's configured local user ({@code clops.gateway.local-user}, by default the operating-system user).
 * What a client claims (an {@code X-Clops-Actor} header, say) is ignored: the log records who the platform knows.
 */
@Singleton
@io.micronaut.context.annotation.Context // read at start: a bad clops.auth.auditors or clops.auth.host-users stops it
public class Callers {
    private final Principal local;
    private final boolean required;
    private final Tokens tokens;
    private final Revocations revocations;
    private final java.util.Set<String> auditors;
    private final io.clops.api.HostUsers hostUsers;

    public Callers(@Value("${clops.gateway.local-user:}") String user, @Value("${clops.auth.required:false}") boolean required,
                   Tokens tokens, Revocations revocations, @Value("${clops.auth.auditors:}") String auditors,
                   @Value("${clops.auth.host-users:}") String hostUsers) {
        this.local = new Principal(localUser(user));
        this.required = required;
        this.tokens = tokens;
        this.revocations = revocations;
        this.auditors = names(auditors);
        for (String a : this.auditors) {
            if (a.startsWith("serviceaccount:")) {
                throw new IllegalArgumentException("clops.auth.auditors: '" + a + "' is a service account; auditors are users");
            }
        }
        this.hostUsers = io.clops.api.HostUsers.parse(hostUsers, local.name());
    }

    /** Whom requests without a token act for: {@code clops.gateway.local-user} if set, else the operating-system user. */
    public static String localUser(String configured) {
        return configured == null || configured.isBlank() ? System.getProperty("user.name", "clops") : configured;
    }

    private static java.util.Set<String> names(String list) {
        return java.util.Arrays.stream(list == null ? new String[0] : list.split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /**
     * May {@code who} register a model version that would run on the platform's own machine with its rights (a
     * command of its own, a {@code file:} model file)? Only the users {@code clops.auth.host-users} names
     * ({@link io.clops.api.HostUsers}: by default the local admin, who runs the platform).
     */
    public boolean hostUser(Principal who) {
        return hostUsers.admits(who.name());
    }

    /**
     * Is {@code who} one of the platform's auditors ({@code clops.auth.auditors}: user names)? An auditor reads what a
     * viewer reads, in every project (the audit trail, deployments, the registry, replay), and every user's logins;
     * writes nothing and predicts nothing it is not a member for. A service account is never one.
     */
    public boolean auditor(Principal who) {
        return who.onlyProject() == null && auditors.contains(who.name());
    }

    public Principal of(HttpRequest<?> request) {
        if (request.getHeaders().get("Authorization") == null && !required) {
            return local;
        }
        return principal(claims(request));
    }

    /** The same rules for a bare token (the intake's {@code clops-token} header; null: none). */
    public io.clops.gateway.Identities identities() {
        return token -> {
            if (token == null) {
                if (required) {
                    throw new io.clops.gateway.Identities.Unidentified("no token: put a clops token in the clops-token header");
                }
                return local;
            }
            try {
                return principal(verify(token));
            } catch (Tokens.Invalid e) {
                throw new io.clops.gateway.Identities.Unidentified(e.getMessage());
            }
        };
    }

    /** The valid, unrevoked claims of the request's Bearer token; {@link Unauthenticated} saying why not. */
    public Tokens.Claims claims(HttpRequest<?> request) {
        String header = request.getHeaders().get("Authorization");
        if (header == null) {
            throw new Unauthenticated("no token: log in (clops login) and send it as Authorization: Bearer <token>");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new Unauthenticated("Authorization must be Bearer <token>");
        }
        try {
            return verify(header.substring(7));
        } catch (Tokens.Invalid e) {
            throw new Unauthenticated(e.getMessage());
        }
    }

    /** A token's claims when it is valid and not revoked, as far as this door has read the log. */
    private Tokens.Claims verify(String token) throws Tokens.Invalid {
        Tokens.Claims c = tokens.verify(token.strip());
        if (revocations.stopped() != null) { // fail closed: a revocation this door cannot see must not let a token through
            throw new Tokens.Invalid("this API cannot check revocations now (" + revocations.stopped() + "): try another instance or later");
        }
        if (revocations.revoked(c.id())) {
            throw new Tokens.Invalid("the token was revoked");
        }
        return c;
    }

    private static Principal principal(Tokens.Claims c) {
        return new Principal(c.subject(), c.kind() == Tokens.Kind.service ? c.project() : null);
    }

    /** Whether a token id was revoked, as far as this door has read the log. */
    public boolean revoked(String tokenId) {
        return revocations.revoked(tokenId);
    }

    /** The principal requests without a token act for (HTTP when tokens are not required, and the Kafka intake). */
    public Principal local() {
        return local;
    }

    public boolean required() {
        return required;
    }
}
