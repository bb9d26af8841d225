package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.api.FieldError;
import io.clops.auth.LoginGuard;
import io.clops.auth.TokenReviewer;
import io.clops.auth.Tokens;
import io.clops.auth.Users;
import io.clops.avro.LoginEvent;
import io.clops.avro.LoginMethod;
import io.clops.avro.Project;
import io.clops.service.Http;
import io.clops.service.Refusal;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who someone is: {@code POST /api/v1/login} (a users-file name and password for a token), {@code GET
 * /api/v1/whoami}, and the TokenReview webhook kube-apiserver calls ({@code POST /api/v1/tokenreviews}). Tokens are
 * {@link Tokens}: signed with the platform's key (kept in {@code clops.auth.dir}), valid {@code clops.auth.session-ttl}.
 */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AuthController {
    private final Tokens tokens;
    private final Path usersFile;
    private final LoginGuard guard;
    private final ProjectViews projects;
    private final Duration ttl;
    private final TokenReviewer reviewer;
    private final io.clops.auth.GitHubIdentity github;

    private final io.clops.service.Callers callers;
    private final io.clops.service.Revocations revocations;
    private final Logins logins;
    private final io.clops.service.ClientAddress clients;

    public AuthController(ProjectViews projects, Tokens tokens, io.clops.service.Callers callers,
                          io.clops.service.Revocations revocations, Logins logins, io.clops.service.AuthBeans.AuthHome home,
                          @Value("${clops.auth.session-ttl:12h}") Duration ttl,
                          @Value("${clops.auth.github.api-url:https://api.github.com}") String githubApi,
                          @Value("${clops.auth.github.orgs:}") String githubOrgs,
                          io.clops.service.ClientAddress clients) throws IOException {
        this.clients = clients;
        this.github = new io.clops.auth.GitHubIdentity(java.net.URI.create(githubApi),
                java.util.Arrays.stream(githubOrgs.split(",")).map(String::strip).filter(o -> !o.isEmpty()).collect(java.util.stream.Collectors.toSet()),
                Duration.ofSeconds(10));
        this.tokens = tokens;
        this.callers = callers;
        this.revocations = revocations;
        this.logins = logins;
        this.usersFile = home.usersFile();
        this.guard = new LoginGuard(5, 20, Duration.ofMinutes(1), Clock.systemUTC());
        this.projects = projects;
        this.ttl = ttl;
        this.reviewer = new TokenReviewer(tokens, revocations::revoked, this::groups,
                Set.of("clops", "https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local"));
    }

    /** The tokens this API issues and checks. */
    public Tokens tokens() {
        return tokens;
    }

    @Post(uri = "/login", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> login(HttpRequest<?> request, @Body byte[] body) throws IOException {
        JsonNode b = Http.body(request, body);
        List<FieldError> errors = new ArrayList<>();
        String user = text(b, "user", errors);
        String password = text(b, "password", errors);
        if (!errors.isEmpty()) {
            throw new Refusal(HttpStatus.BAD_REQUEST, "invalid login", errors);
        }
        String address = clients.of(request);
        Duration wait = guard.wait(user, address);
        if (!wait.isZero()) {
            return Http.error(HttpStatus.TOO_MANY_REQUESTS, "too many failed logins: try again in " + Math.max(1, wait.toSeconds()) + " s")
                    .header("Retry-After", Long.toString(Math.max(1, wait.toSeconds())));
        }
        Users users = Users.read(usersFile);
        if (users.authenticate(user, password).isEmpty()) {
            guard.failed(user, address);
            // under the name only when it is a user's: a password typed into the name field must not be kept forever
            logins.refused(LoginMethod.password, users.knows(user) ? user : Logins.UNKNOWN_USER, address);
            return Http.error(HttpStatus.UNAUTHORIZED, "wrong user or password");
        }
        return session(LoginMethod.password, user, address);
    }

    /** A session token for {@code user}, given only once the log took the record of its issue (else 503, no token). */
    private HttpResponse<String> session(LoginMethod method, String user, String address) {
        String id = tokens.newId();
        long expiresMs = logins.now() + ttl.toMillis();
        logins.issued(method, user, id, expiresMs, address);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("user", user);
        out.put("token", tokens.issue(user, id, expiresMs, Tokens.Kind.session, null));
        out.put("expires", Instant.ofEpochMilli(expiresMs).toString());
        return Http.json(HttpStatus.OK, out);
    }

    /**
     * A GitHub token for a clops session token ({@code {"token": "<GitHub token>"}}): the user is {@code github:<login>}
     * when GitHub says the token is theirs and they belong to one of {@code clops.auth.github.orgs}; GitHub login is off
     * without organisations. Failures count against the address like password logins.
     */
    @Post(uri = "/login/github", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> loginGitHub(HttpRequest<?> request, @Body byte[] body) throws IOException {
        JsonNode b = Http.body(request, body);
        List<FieldError> errors = new ArrayList<>();
        String githubToken = text(b, "token", errors);
        if (!errors.isEmpty()) {
            throw new Refusal(HttpStatus.BAD_REQUEST, "invalid login", errors);
        }
        if (!github.enabled()) {
            return Http.error(HttpStatus.NOT_FOUND, "GitHub login is off on this platform (clops.auth.github.orgs names no organisation)");
        }
        String address = clients.of(request);
        Duration wait = guard.wait("github@" + address, address);
        if (!wait.isZero()) {
            return Http.error(HttpStatus.TOO_MANY_REQUESTS, "too many failed logins: try again in " + Math.max(1, wait.toSeconds()) + " s")
                    .header("Retry-After", Long.toString(Math.max(1, wait.toSeconds())));
        }
        java.util.Optional<String> user;
        try {
            user = github.authenticate(null, githubToken);
        } catch (io.clops.auth.GitHubIdentity.Unavailable e) {
            return Http.error(HttpStatus.BAD_GATEWAY, e.getMessage() + ": try again");
        }
        if (user.isEmpty()) {
            guard.failed("github@" + address, address);
            logins.refused(LoginMethod.github, "github:?", address);
            return Http.error(HttpStatus.UNAUTHORIZED, "GitHub does not know this token, or its user is in none of the platform's organisations");
        }
        return session(LoginMethod.github, user.get(), address);
    }

    /**
     * Logins from the log ({@code clops.logins}), oldest first: the latest {@code limit} (default 100, at most 1000)
     * from {@code since} to {@code until}. Where tokens are required a user reads their own only; each issued token is
     * {@code active}, {@code revoked} or {@code expired}.
     */
    @Get(uri = "/logins", produces = "application/json")
    public HttpResponse<String> logins(HttpRequest<?> request, @io.micronaut.core.annotation.Nullable @io.micronaut.http.annotation.QueryValue String user,
                                       @io.micronaut.core.annotation.Nullable @io.micronaut.http.annotation.QueryValue String since,
                                       @io.micronaut.core.annotation.Nullable @io.micronaut.http.annotation.QueryValue String until,
                                       @io.micronaut.core.annotation.Nullable @io.micronaut.http.annotation.QueryValue String limit) {
        String whose = user;
        if (callers.required()) {
            io.clops.gateway.Principal caller = callers.of(request);
            if (!callers.auditor(caller)) {
                if (whose != null && !whose.equals(caller.name())) {
                    return Http.error(HttpStatus.FORBIDDEN, "you may read your own logins only (you are '" + caller.name() + "', not '" + whose
                            + "'; the platform's auditors, clops.auth.auditors, read everyone's)");
                }
                whose = caller.name();
            }
        }
        Long sinceMs;
        Long untilMs;
        int n;
        try {
            sinceMs = AuditController.time(since, "since");
            untilMs = AuditController.time(until, "until");
            n = AuditController.limit(limit);
        } catch (IllegalArgumentException e) {
            return Http.error(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        Logins.Page page = logins.list(whose, sinceMs, untilMs, n);
        long now = logins.now();
        List<Map<String, Object>> items = new ArrayList<>();
        for (LoginEvent e : page.items()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("@timestamp", Instant.ofEpochMilli(e.getTimeMs()).toString());
            m.put("user", e.getUser());
            m.put("method", e.getMethod().name());
            m.put("outcome", e.getOutcome().name());
            m.put("address", e.getAddress());
            if (e.getTokenId() != null) {
                m.put("tokenId", e.getTokenId());
                m.put("expires", Instant.ofEpochMilli(e.getExpiresMs()).toString());
                m.put("state", revocations.revoked(e.getTokenId()) ? "revoked" : e.getExpiresMs() <= now ? "expired" : "active");
            }
            items.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("items", items);
        out.put("truncated", page.truncated());
        return Http.json(HttpStatus.OK, out);
    }

    /** Revokes the token the request presents, on every door within the revocation bound (this one at once). */
    @Post(uri = "/logout", produces = "application/json")
    public HttpResponse<String> logout(HttpRequest<?> request) {
        Tokens.Claims c = callers.claims(request);
        revocations.revoke(c, c.subject(), "logout");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("user", c.subject());
        out.put("revoked", true);
        out.put("everywhereWithin", io.clops.service.Revocations.BOUND.toString());
        return Http.json(HttpStatus.OK, out);
    }

    @Get(uri = "/whoami", produces = "application/json")
    public HttpResponse<String> whoami(HttpRequest<?> request) {
        Tokens.Claims c = callers.claims(request);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("user", c.subject());
        out.put("tokenKind", c.kind().name());
        out.put("expires", Instant.ofEpochMilli(c.expiresMs()).toString());
        List<Map<String, Object>> roles = new ArrayList<>();
        for (Project p : projects.list()) {
            if (p.getMembers().containsKey(c.subject()) && (c.project() == null || c.project().equals(p.getName()))) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("project", p.getName());
                r.put("role", p.getMembers().get(c.subject()).name());
                roles.add(r);
            }
        }
        out.put("projects", roles);
        out.put("auditor", callers.auditor(new io.clops.gateway.Principal(c.subject(), c.project())));
        return Http.json(HttpStatus.OK, out);
    }

    /** kube-apiserver's webhook token authentication (and any service's): a TokenReview in, a TokenReview out. */
    @Post(uri = "/tokenreviews", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> tokenReview(HttpRequest<?> request, @Body byte[] body) {
        JsonNode review = Http.body(request, body);
        try {
            return Http.json(HttpStatus.OK, reviewer.review(review));
        } catch (IllegalArgumentException e) {
            String field = e.getMessage().substring(0, Math.max(0, e.getMessage().indexOf(':')));
            throw new Refusal(HttpStatus.BAD_REQUEST, "not a TokenReview", List.of(new FieldError(field, e.getMessage().substring(field.length() + 2))));
        }
    }

    /**
     * The mutating admission webhook for ModelDeployments (k8s/manifests/06-webhooks.yaml): stamps the requesting
     * user as {@code clops.io/actor}, which the CRD bridge takes as the command's actor ({@link io.clops.auth.ActorStamp}).
     */
    @Post(uri = "/admission/actor", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> admission(HttpRequest<?> request, @Body byte[] body) {
        JsonNode review = Http.body(request, body);
        try {
            return Http.json(HttpStatus.OK, io.clops.auth.ActorStamp.review(review));
        } catch (IllegalArgumentException e) {
            String field = e.getMessage().substring(0, Math.max(0, e.getMessage().indexOf(':')));
            throw new Refusal(HttpStatus.BAD_REQUEST, "not an AdmissionReview", List.of(new FieldError(field, e.getMessage().substring(field.length() + 2))));
        }
    }

    /**
     * The user's {@code clops:<project>:<role>} groups, as the fold decided the projects, and {@code clops:auditors}
     * for the platform's auditors (bound as viewers in every project's namespace).
     */
    List<String> groups(String user) {
        List<String> out = new ArrayList<>();
        if (callers.auditor(new io.clops.gateway.Principal(user))) { // never a service account's name (Callers refuses one)
            out.add(io.clops.api.KubeGroups.AUDITORS);
        }
        for (Project p : projects.list()) {
            var role = p.getMembers().get(user);
            if (role != null) {
                out.add(io.clops.api.KubeGroups.member(p.getName(), role.name()));
            }
        }
        return out;
    }

    private static String text(JsonNode b, String field, List<FieldError> errors) {
        JsonNode n = b == null ? null : b.get(field);
        if (n == null || !n.isTextual() || n.asText().isEmpty() || n.asText().length() > 200) {
            errors.add(new FieldError(field, "is required: a string of 1 to 200 characters"));
            return null;
        }
        return n.asText();
    }
}
