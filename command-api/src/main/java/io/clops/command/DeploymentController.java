package io.clops.command;

import io.clops.avro.CommandResult;
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
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.context.annotation.Value;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deployments over HTTP. Writes go through the command gateway (parsed first: a malformed spec never enters the
 * log); the answer carries the fold's verdict. Reads join clops.desired and clops.status.
 */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class DeploymentController {
    private final CommandGateway gateway;
    private final Callers callers;
    private final DeploymentViews views;
    private final RecentVerdicts verdicts;
    private final ReadAccess readAccess;
    private final AuditLog audit;
    private final String bootstrap;

    public DeploymentController(CommandGateway gateway, Callers callers, DeploymentViews views, RecentVerdicts verdicts, ReadAccess readAccess,
                                AuditLog audit, @Value("${clops.kafka.bootstrap}") String bootstrap,
                                @Value("${clops.kafka.advertised-bootstrap:}") String advertised,
                                @Value("${clops.kafka.acls:false}") boolean kafkaAcls) {
        this.kafkaAcls = kafkaAcls;
        this.gateway = gateway;
        this.callers = callers;
        this.views = views;
        this.verdicts = verdicts;
        this.readAccess = readAccess;
        this.audit = audit;
        this.bootstrap = advertised == null || advertised.isBlank() ? bootstrap : advertised;
    }

    @Post(uri = "/projects/{project}/deployments", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> create(HttpRequest<?> request, String project, @Body byte[] body) {
        return apply(request, project, null, body);
    }

    @Put(uri = "/projects/{project}/deployments/{name}", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> replace(HttpRequest<?> request, String project, String name, @Body byte[] body) {
        return apply(request, project, name, body);
    }

    private HttpResponse<String> apply(HttpRequest<?> request, String project, String name, byte[] body) {
        // If-Match: the generation the caller read (0: the deployment must be new); refused with 409 otherwise
        Request.Deploy d = Requests.deploy(project, name, Http.body(request, body),
                Requests.generation(request.getHeaders().get("If-Match"), "If-Match"));
        Verdict v = submit(request, d);
        readBack(v, d.project(), d.name(), false);
        return answer(v, d.project(), d.name());
    }

    /**
     * An accepted deploy or undeploy is answered once this API's view shows it (at most {@link #READ_BACK}: the fold
     * wrote it with the verdict, so it arrives within moments), so a GET right after the answer reads what it was told.
     */
    private void readBack(Verdict v, String project, String name, boolean undeploy) {
        if (v.pending() || v.result() == null || !v.result().getAccepted()) {
            return;
        }
        long generation = v.result().getGeneration();
        try {
            views.await(project, name, d -> undeploy ? d.isEmpty() || d.get().getGeneration() > generation
                    : d.isPresent() && d.get().getGeneration() >= generation, READ_BACK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final java.time.Duration READ_BACK = java.time.Duration.ofSeconds(5);

    /**
     * A new deploy whose spec is generation N's, as the caller: the rollback is itself a command in the log (its own
     * verdict, a new generation, an audit record). Body {@code {"generation": N}}.
     */
    @Post(uri = "/projects/{project}/deployments/{name}/rollback", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> rollback(HttpRequest<?> request, String project, String name, @Body byte[] body) {
        callers.of(request); // who it is, before reading the log for them
        com.fasterxml.jackson.databind.JsonNode b = Http.body(request, body);
        com.fasterxml.jackson.databind.JsonNode g = b.get("generation");
        if (!b.isObject() || g == null || !g.isIntegralNumber() || g.asLong() < 1 || b.size() != 1) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid",
                    List.of(new io.clops.api.FieldError("generation", "required, the only field: the generation (1 or more) whose spec to deploy again")));
        }
        long n = g.asLong();
        if (callers.required() && !readAccess.memberOf(callers.of(request), project)) {
            return Http.error(HttpStatus.FORBIDDEN, "you have no role in project '" + project + "'");
        }
        var spec = audit.history(project, name).stream().filter(x -> x.desired() != null && x.generation() == n)
                .map(x -> x.desired().getSpec()).reduce((first, later) -> later); // a deployment removed and made again: its latest life
        if (spec.isEmpty()) {
            return Http.refused(HttpStatus.NOT_FOUND, "the request is invalid", List.of(new io.clops.api.FieldError("generation",
                    "deployment '" + name + "' of project '" + project + "' never had generation " + n + " (clops history " + name + ")")));
        }
        Request.Deploy d = new Request.Deploy(project, name, io.clops.avro.DeploymentSpec.newBuilder(spec.get()).build(), null);
        Verdict v = submit(request, d);
        readBack(v, project, name, false);
        return answer(v, project, name);
    }

    @Delete(uri = "/projects/{project}/deployments/{name}", produces = "application/json")
    public HttpResponse<String> delete(HttpRequest<?> request, String project, String name) {
        Verdict v = submit(request, Requests.undeploy(project, name));
        readBack(v, project, name, true);
        return answer(v, project, name);
    }

    private Verdict submit(HttpRequest<?> request, Request r) {
        return gateway.submit(r, callers.of(request), Requests.key(request.getHeaders().get("Idempotency-Key"), "Idempotency-Key"));
    }

    @Get(uri = "/projects/{project}/deployments/{name}", produces = "application/json")
    public HttpResponse<String> get(String project, String name) {
        return views.get(project, name).<HttpResponse<String>>map(d -> Http.json(HttpStatus.OK, d))
                .orElseGet(() -> Http.error(HttpStatus.NOT_FOUND, "deployment '" + name + "' does not exist in project '" + project + "'"));
    }

    /** The deployment's last verdicts (who asked what, when; accepted or why not), newest first: what describe shows. */
    @Get(uri = "/projects/{project}/deployments/{name}/events", produces = "application/json")
    public HttpResponse<String> events(String project, String name) {
        return Http.json(HttpStatus.OK, Map.of("items", verdicts.of(project, name)));
    }

    @Get(uri = "/projects/{project}/deployments", produces = "application/json")
    public HttpResponse<String> list(String project) {
        return Http.json(HttpStatus.OK, Map.of("items", views.list(project)));
    }

    /** Deployments of every project (or one); when tokens are required, of the caller's projects only. */
    @Get(uri = "/deployments", produces = "application/json")
    public HttpResponse<String> listAll(HttpRequest<?> request, @Nullable @QueryValue String project) {
        java.util.List<Map<String, Object>> items = views.list(project);
        if (callers.required()) {
            io.clops.gateway.Principal who = callers.of(request);
            items = items.stream().filter(d -> readAccess.memberOf(who, (String) d.get("project"))).toList();
        }
        return Http.json(HttpStatus.OK, Map.of("items", items));
    }

    private final boolean kafkaAcls;

    /** Where Kafka is, and, when it enforces ACLs, how a member gets credentials for a project. */
    @Get(uri = "/info", produces = "application/json")
    public HttpResponse<String> info() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("kafkaBootstrap", bootstrap);
        out.put("apiVersion", "clops.io/v1");
        if (kafkaAcls) {
            out.put("kafkaSecurity", Map.of("securityProtocol", "SASL_PLAINTEXT", "saslMechanism", "SCRAM-SHA-512",
                    "credentials", "POST /api/v1/projects/{project}/kafka-credentials"));
        }
        return Http.json(HttpStatus.OK, out);
    }

    private static HttpResponse<String> answer(Verdict o, String project, String name) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", o.commandId());
        out.put("project", project);
        out.put("deployment", name);
        var special = Http.verdict(o, out);
        if (special.isPresent()) {
            return special.get();
        }
        CommandResult r = o.result();
        out.put("generation", r.getGeneration());
        return Http.json(r.getAccepted() ? HttpStatus.OK : HttpStatus.CONFLICT, out);
    }
}
