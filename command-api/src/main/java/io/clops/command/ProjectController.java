package io.clops.command;

import io.clops.avro.CommandResult;
import io.clops.avro.Project;
import io.clops.gateway.CommandGateway;
import io.clops.gateway.Request;
import io.clops.gateway.Requests;
import io.clops.gateway.Verdict;
import io.clops.service.Callers;
import io.clops.service.Http;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Projects over HTTP: create, delete, members and roles, quota. Every change goes through the command gateway and is
 * decided by the fold (which refuses a quota below what runs, removing the last admin, a project that exists); reads
 * come from clops.projects, with usage from the desired deployments. An accepted change is read back before the
 * answer, so a caller sees what it was told.
 */
@Controller("/api/v1/projects")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ProjectController {
    private static final Duration READ_BACK = Duration.ofSeconds(5);
    private final CommandGateway gateway;
    private final Callers callers;
    private final ProjectViews views;
    private final io.clops.auth.Tokens tokens;
    private final io.clops.service.Revocations revocations;
    private final ReadAccess readAccess;
    private final KafkaCredentials kafka;

    public ProjectController(CommandGateway gateway, Callers callers, ProjectViews views, io.clops.auth.Tokens tokens,
                             io.clops.service.Revocations revocations, ReadAccess readAccess, KafkaCredentials kafka) {
        this.kafka = kafka;
        this.gateway = gateway;
        this.callers = callers;
        this.views = views;
        this.tokens = tokens;
        this.revocations = revocations;
        this.readAccess = readAccess;
    }

    /**
     * A service account for a pipeline: a member of this project only, with a long-lived token returned once (its
     * id and expiry are in the log, never the token). Admins only.
     */
    @Post(uri = "/{project}/serviceaccounts", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> createServiceAccount(HttpRequest<?> request, String project, @Body byte[] body) throws InterruptedException {
        Requests.ServiceAccountAsked asked = Requests.serviceAccount(project, Http.body(request, body));
        String id = tokens.newId();
        long expires = System.currentTimeMillis() + java.time.Duration.ofDays(asked.days()).toMillis();
        Verdict v = submit(request, new Request.CreateServiceAccount(project, asked.name(), asked.role(), id, expires));
        if (v.pending() || !v.accepted()) {
            return answer(v, project, HttpStatus.CREATED);
        }
        String principal = io.clops.api.Names.serviceAccount(project, asked.name());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("project", project);
        out.put("name", asked.name());
        out.put("principal", principal);
        out.put("role", asked.role().name());
        out.put("expires", java.time.Instant.ofEpochMilli(expires).toString());
        out.put("token", tokens.issue(principal, id, expires, io.clops.auth.Tokens.Kind.service, project));
        out.put("note", "the token is shown once: keep it in your pipeline's secrets");
        views.await(project, p -> p.isPresent() && p.get().getServiceAccounts().containsKey(asked.name()), READ_BACK);
        return Http.json(HttpStatus.CREATED, out);
    }

    @Get(uri = "/{project}/serviceaccounts", produces = "application/json")
    public HttpResponse<String> serviceAccounts(String project) {
        return views.get(project).<HttpResponse<String>>map(p -> {
            List<Map<String, Object>> items = new java.util.ArrayList<>();
            new java.util.TreeMap<>(p.getServiceAccounts()).forEach((name, sa) -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", name);
                m.put("principal", io.clops.api.Names.serviceAccount(project, name));
                m.put("role", sa.getRole().name());
                m.put("createdBy", sa.getCreatedBy());
                m.put("created", java.time.Instant.ofEpochMilli(sa.getCreatedMs()).toString());
                m.put("expires", java.time.Instant.ofEpochMilli(sa.getExpiresMs()).toString());
                items.add(m);
            });
            return Http.json(HttpStatus.OK, Map.of("items", items));
        }).orElseGet(() -> notFound(project));
    }

    /** Removes the service account and revokes its token on every door (within the revocation bound). */
    @Delete(uri = "/{project}/serviceaccounts/{name}", produces = "application/json")
    public HttpResponse<String> removeServiceAccount(HttpRequest<?> request, String project, String name) throws InterruptedException {
        Request.RemoveServiceAccount r = Requests.removeServiceAccount(project, name);
        var before = views.get(project).map(p -> p.getServiceAccounts().get(name));
        Verdict v = submit(request, r);
        if (v.accepted() && before.isPresent()) {
            String principal = io.clops.api.Names.serviceAccount(project, name);
            revocations.revoke(new io.clops.auth.Tokens.Claims(principal, before.get().getTokenId(), before.get().getCreatedMs(),
                    before.get().getExpiresMs(), io.clops.auth.Tokens.Kind.service, project), callers.of(request).name(), "service account removed");
            kafka.revoke(project, principal);
        }
        return answer(v, project, HttpStatus.OK);
    }

    @Post(consumes = "application/json", produces = "application/json")
    public HttpResponse<String> create(HttpRequest<?> request, @Body byte[] body) throws InterruptedException {
        Request.CreateProject c = Requests.createProject(Http.body(request, body));
        return answer(submit(request, c), c.project(), HttpStatus.CREATED);
    }

    @Delete(uri = "/{project}", produces = "application/json")
    public HttpResponse<String> delete(HttpRequest<?> request, String project) throws InterruptedException {
        Verdict v = submit(request, Requests.deleteProject(project));
        if (v.accepted()) {
            kafka.revokeAll(project);
        }
        return answer(v, project, HttpStatus.OK);
    }

    /**
     * The caller's own Kafka credentials in this project (a member in any role: async predictions, a pipeline's intake
     * records): principal {@code <project>.<user>}, a new password each call (the previous one stops working), allowed
     * only the project's topics ({@code clops.infer.<project>.*}) and writing the intake. 404 where the platform's
     * Kafka does not enforce ACLs. The issuance is a command in the log first (who, when, which principal; never the
     * password), so the audit trail shows who could read a project's predictions since when; the password is set only
     * once the fold accepted it.
     */
    @Post(uri = "/{project}/kafka-credentials", produces = "application/json")
    public HttpResponse<String> kafkaCredentials(HttpRequest<?> request, String project) throws InterruptedException {
        if (!kafka.enabled()) {
            return Http.error(HttpStatus.NOT_FOUND, "this platform's Kafka does not enforce ACLs (clops.kafka.acls): any client reaches every topic");
        }
        io.clops.gateway.Principal who = callers.of(request);
        Optional<Project> p = views.get(project);
        if (p.isEmpty()) {
            return notFound(project);
        }
        if (who.onlyProject() != null && !who.onlyProject().equals(project)) {
            return Http.error(HttpStatus.FORBIDDEN, who.name() + "'s token is for project '" + who.onlyProject() + "' only, not '" + project + "'");
        }
        if (!p.get().getMembers().containsKey(who.name())) {
            return Http.error(HttpStatus.FORBIDDEN, "user '" + who.name() + "' has no role in project '" + project + "'");
        }
        // a repeat with the same Idempotency-Key (a retry whose answer was lost) appends nothing and gets the first
        // verdict; the first password was shown once and is not kept, so it gets a new one for the same principal: the
        // first record stands for it (same member, same principal, from the same time on)
        Verdict v = submit(request, Requests.issueKafkaCredentials(project, who.name()));
        if (v.pending() || !v.accepted()) {
            return answer(v, project, HttpStatus.OK);
        }
        io.clops.kafka.KafkaAccess.Credentials c = kafka.issue(project, who.name());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", v.commandId());
        out.put("project", project);
        out.put("bootstrap", kafka.bootstrap());
        out.put("securityProtocol", "SASL_PLAINTEXT");
        out.put("saslMechanism", "SCRAM-SHA-512");
        out.put("username", c.username());
        out.put("password", c.password());
        out.put("topics", io.clops.kafka.Topics.inferPrefix(project) + "* (read, write), clops.intake (write); consumer groups "
                + io.clops.kafka.Topics.memberGroupPrefix(project) + "*");
        out.put("note", "the password is shown once; asking again sets a new one");
        return Http.json(HttpStatus.OK, out);
    }

    @Put(uri = "/{project}/members/{user}", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> setMember(HttpRequest<?> request, String project, String user, @Body byte[] body)
            throws InterruptedException {
        return answer(submit(request, Requests.setMember(project, user, Http.body(request, body))), project, HttpStatus.OK);
    }

    @Delete(uri = "/{project}/members/{user}", produces = "application/json")
    public HttpResponse<String> removeMember(HttpRequest<?> request, String project, String user) throws InterruptedException {
        Verdict v = submit(request, Requests.removeMember(project, user));
        if (v.accepted()) {
            kafka.revoke(project, user);
        }
        return answer(v, project, HttpStatus.OK);
    }

    @Put(uri = "/{project}/quota", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> setQuota(HttpRequest<?> request, String project, @Body byte[] body) throws InterruptedException {
        return answer(submit(request, Requests.setQuota(project, Http.body(request, body))), project, HttpStatus.OK);
    }

    /** Every project; when tokens are required, the caller's only. */
    @Get(produces = "application/json")
    public HttpResponse<String> list(HttpRequest<?> request) {
        java.util.function.Predicate<io.clops.avro.Project> visible = p -> true;
        if (callers.required()) {
            io.clops.gateway.Principal who = callers.of(request);
            visible = p -> readAccess.memberOf(who, p.getName());
        }
        return Http.json(HttpStatus.OK, Map.of("items", views.list().stream().filter(visible).map(p -> views.json(p)).toList()));
    }

    @Get(uri = "/{project}", produces = "application/json")
    public HttpResponse<String> get(String project) {
        return views.get(project).<HttpResponse<String>>map(p -> Http.json(HttpStatus.OK, views.json(p)))
                .orElseGet(() -> notFound(project));
    }

    @Get(uri = "/{project}/members", produces = "application/json")
    public HttpResponse<String> members(String project) {
        return views.get(project).<HttpResponse<String>>map(p -> Http.json(HttpStatus.OK, Map.of("items", ProjectViews.members(p))))
                .orElseGet(() -> notFound(project));
    }

    @Get(uri = "/{project}/quota", produces = "application/json")
    public HttpResponse<String> quota(String project) {
        return views.get(project).<HttpResponse<String>>map(p -> Http.json(HttpStatus.OK,
                        ProjectViews.quotaJson(p.getQuota(), views.usage(project))))
                .orElseGet(() -> notFound(project));
    }

    private static HttpResponse<String> notFound(String project) {
        return Http.error(HttpStatus.NOT_FOUND, "project '" + project + "' does not exist");
    }

    private Verdict submit(HttpRequest<?> request, Request r) {
        return gateway.submit(r, callers.of(request), Requests.key(request.getHeaders().get("Idempotency-Key"), "Idempotency-Key"));
    }

    /**
     * Accepted: the project as it now is (read back), or {@code deleted}; refused by the fold: 409 with its reason
     * and code; no verdict within the wait: 202 (the request is in the log).
     */
    private HttpResponse<String> answer(Verdict v, String project, HttpStatus created) throws InterruptedException {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", v.commandId());
        out.put("project", project);
        var special = Http.verdict(v, out);
        if (special.isPresent()) {
            return special.get();
        }
        CommandResult r = v.result();
        if (!r.getAccepted()) {
            return Http.json(HttpStatus.CONFLICT, out);
        }
        long generation = r.getGeneration();
        Optional<Project> now = views.await(project, p -> generation == 0 ? p.isEmpty()
                : p.isPresent() && p.get().getGeneration() >= generation, READ_BACK);
        out.put("generation", generation);
        now.ifPresent(p -> out.put("state", views.json(p)));
        return Http.json(generation == 1 && now.isPresent() && now.get().getGeneration() == 1 ? created : HttpStatus.OK, out);
    }
}
