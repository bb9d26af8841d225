package io.clops.command;

import io.clops.api.DeploymentSpecParser;
import io.clops.api.CommandResults;

import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.api.Names;
import io.clops.avro.CommandResult;
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

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deployments over HTTP. Writes are commands on clops.commands (validated first: a malformed spec never enters the
 * log); the answer carries the fold's verdict. Reads join clops.desired and clops.status.
 */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class DeploymentController {
    private final CommandService commands;
    private final DeploymentViews views;
    private final String bootstrap;

    public DeploymentController(CommandService commands, DeploymentViews views,
                                @Value("${clops.kafka.bootstrap}") String bootstrap,
                                @Value("${clops.kafka.advertised-bootstrap:}") String advertised) {
        this.commands = commands;
        this.views = views;
        this.bootstrap = advertised == null || advertised.isBlank() ? bootstrap : advertised;
    }

    @Post(uri = "/projects/{project}/deployments", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> create(HttpRequest<?> request, String project, @Body String body) {
        return apply(request, project, null, body);
    }

    @Put(uri = "/projects/{project}/deployments/{name}", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> replace(HttpRequest<?> request, String project, String name, @Body String body) {
        return apply(request, project, name, body);
    }

    private HttpResponse<String> apply(HttpRequest<?> request, String project, String name, String body) {
        DeploymentSpecParser.Parsed p = DeploymentSpecParser.parse(project, name, Http.body(body));
        CommandService.Outcome o = commands.deploy(p.project(), p.name(), p.spec(), Http.actor(request),
                request.getHeaders().get("Idempotency-Key"));
        return answer(o, p.project(), p.name());
    }

    @Delete(uri = "/projects/{project}/deployments/{name}", produces = "application/json")
    public HttpResponse<String> delete(HttpRequest<?> request, String project, String name) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkLabel("project", project, 40, errors);
        Names.checkLabel("name", name, 40, errors);
        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid name", errors);
        }
        return answer(commands.undeploy(project, name, Http.actor(request), request.getHeaders().get("Idempotency-Key")), project, name);
    }

    @Get(uri = "/projects/{project}/deployments/{name}", produces = "application/json")
    public HttpResponse<String> get(String project, String name) {
        return views.get(project, name).<HttpResponse<String>>map(d -> Http.json(HttpStatus.OK, d))
                .orElseGet(() -> Http.error(HttpStatus.NOT_FOUND, "deployment '" + name + "' does not exist in project '" + project + "'"));
    }

    @Get(uri = "/projects/{project}/deployments", produces = "application/json")
    public HttpResponse<String> list(String project) {
        return Http.json(HttpStatus.OK, Map.of("items", views.list(project)));
    }

    @Get(uri = "/deployments", produces = "application/json")
    public HttpResponse<String> listAll(@Nullable @QueryValue String project) {
        return Http.json(HttpStatus.OK, Map.of("items", views.list(project)));
    }

    @Get(uri = "/info", produces = "application/json")
    public HttpResponse<String> info() {
        return Http.json(HttpStatus.OK, Map.of("kafkaBootstrap", bootstrap, "apiVersion", "clops.io/v1"));
    }

    private static HttpResponse<String> answer(CommandService.Outcome o, String project, String name) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", o.commandId());
        out.put("project", project);
        out.put("deployment", name);
        if (o.pending()) {
            out.put("verdict", "pending");
            out.put("reason", "the command is in the log; no verdict yet within the wait, check the deployment later");
            return Http.json(HttpStatus.ACCEPTED, out);
        }
        CommandResult r = o.result();
        out.put("verdict", r.getAccepted() ? "accepted" : "refused");
        out.put("reason", r.getReason());
        out.put("generation", r.getGeneration());
        return Http.json(r.getAccepted() ? HttpStatus.OK : HttpStatus.CONFLICT, out);
    }
}
