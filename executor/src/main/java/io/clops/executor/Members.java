package io.clops.executor;

import io.clops.auth.Tokens;
import io.clops.avro.Project;
import io.clops.avro.Revocation;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.ExecutorContract;

import java.security.KeyFactory;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Who may predict on this deployment, the same rule sync and async: a token the platform signed, unexpired, not
 * revoked, whose user is a member of the deployment's project in any role (viewer and up: a service account is a
 * member of its own project); or anyone, when the deployment's {@code spec.access} is public. The members and the
 * revocations are the log's ({@code clops.members.<project>}, the project's record its worker publishes from clops.projects, and
 * {@code clops.revocations}), followed live: a member removed or a
 * token revoked is refused as soon as this executor has read the record (the platform's revocation bound).
 * <p>
 * A signature check costs tens of microseconds, more than proxying a small request: a token verified once is kept
 * (its claims, by its text) and checked again only for what can change, its expiry, its revocation and the
 * membership, all map lookups. A forged or garbage token is never kept.
 */
final class Members implements TokenCheck, AutoCloseable {
    /** Tokens kept verified at most; past it the cache starts again (a flood of distinct valid tokens only costs CPU). */
    static final int CACHE_MAX = 10_000;

    private final Tokens verifier;
    private final String project;
    private final boolean open;
    private final Function<String, Project> projects;
    private final Predicate<String> revoked;
    private final Clock clock;
    private final Map<String, Tokens.Claims> verified = new ConcurrentHashMap<>();
    private final Runnable views;
    private final java.util.function.Supplier<String> stopped;

    Members(Tokens verifier, String project, boolean open, Function<String, Project> projects, Predicate<String> revoked,
            Clock clock, Runnable views) {
        this(verifier, project, open, projects, revoked, clock, views, () -> null);
    }

    /** @param stopped why the members or revocations are no longer followed (then every token is refused), or null */
    Members(Tokens verifier, String project, boolean open, Function<String, Project> projects, Predicate<String> revoked,
            Clock clock, Runnable views, java.util.function.Supplier<String> stopped) {
        this.stopped = stopped;
        this.verifier = verifier;
        this.project = project;
        this.open = open;
        this.projects = projects;
        this.revoked = revoked;
        this.clock = clock;
        this.views = views;
    }

    /** The platform's check for {@code project}: follows the log at {@code bootstrap}; returns once it has read it. */
    static Members follow(ExecutorContract.Auth auth, String project, String bootstrap, Clock clock) throws InterruptedException {
        PublicKey key = publicKey(auth.publicKey());
        CompactedView<Project> members = new CompactedView<>(bootstrap, Topics.projectMembers(project)).start();
        CompactedView<Revocation> revocations = new CompactedView<>(bootstrap, Topics.REVOCATIONS).start();
        Runnable views = () -> {
            members.close();
            revocations.close();
        };
        try {
            if (!members.awaitCaughtUp(Duration.ofSeconds(60)) || !revocations.awaitCaughtUp(Duration.ofSeconds(60))) {
                throw new IllegalStateException("could not read " + Topics.projectMembers(project).name() + " and clops.revocations at " + bootstrap + " within 60 s");
            }
        } catch (InterruptedException | RuntimeException e) {
            views.run();
            throw e;
        }
        return new Members(Tokens.verifier(key, clock), project, auth.open(), p -> members.get(p).orElse(null),
                id -> revocations.get(id).isPresent(), clock, views, () -> members.stopped() != null ? members.stopped() : revocations.stopped());
    }

    static PublicKey publicKey(String base64) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("CLOPS_AUTH_PUBLIC_KEY is not an Ed25519 public key (base64 X.509): " + e.getMessage());
        }
    }

    @Override
    public Admission.Refusal refuseHeader(String authorization) {
        return open ? null : TokenCheck.super.refuseHeader(authorization);
    }

    @Override
    public Admission.Refusal refuse(String token) {
        if (open) {
            return null;
        }
        String why = stopped.get();
        if (why != null) { // fail closed: a revocation this executor cannot see must not let a token through
            return new Admission.Refusal(503, "this executor cannot check tokens now (" + why + "); it is being restarted", null);
        }
        if (token == null || token.isEmpty()) {
            return TokenCheck.unauthenticated("no token: deployments of project '" + project
                    + "' answer its members; send Authorization: Bearer <token> (clops login; clops whoami shows who you are)");
        }
        Tokens.Claims c = verified.get(token);
        if (c == null) {
            try {
                c = verifier.verify(token);
            } catch (Tokens.Invalid e) {
                return TokenCheck.unauthenticated(e.getMessage());
            }
            if (verified.size() >= CACHE_MAX) {
                verified.clear();
            }
            verified.put(token, c);
        } else if (clock.millis() >= c.expiresMs()) {
            verified.remove(token);
            return TokenCheck.unauthenticated("the token expired at " + java.time.Instant.ofEpochMilli(c.expiresMs()));
        }
        if (revoked.test(c.id())) {
            return TokenCheck.unauthenticated("the token was revoked");
        }
        if (c.kind() == Tokens.Kind.service && !project.equals(c.project())) {
            return new Admission.Refusal(403, c.subject() + "'s token is for project '" + c.project() + "' only, not '" + project + "'", null);
        }
        Project p = projects.apply(project);
        if (p == null || !p.getMembers().containsKey(c.subject())) {
            return new Admission.Refusal(403, "user '" + c.subject() + "' has no role in project '" + project
                    + "'; predicting needs viewer, modeler or admin", null);
        }
        return null;
    }

    /** Why this executor no longer follows the members or the revocations (liveness fails with it), or null. */
    String broken() {
        return stopped.get();
    }

    @Override
    public void close() {
        views.run();
    }
}
