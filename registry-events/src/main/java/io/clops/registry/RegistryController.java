package io.clops.registry;

import io.clops.avro.CommandResult;
import io.clops.avro.ModelState;
import io.clops.avro.ModelVersion;
import io.clops.avro.VersionEntry;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model registry over HTTP. Every change is a request to the command gateway, decided by the fold (which numbers
 * versions, refuses a duplicate version, an alias to a missing version, archiving a version in use) and answered with
 * that verdict. Reads come from clops.models, the registry as the fold keeps it.
 */
@Controller("/api/v1/projects/{project}/models")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RegistryController {
    private static final Duration READ_BACK = Duration.ofSeconds(5);
    private final CommandGateway gateway;
    private final RegistryView view;
    private final Callers callers;

    public RegistryController(CommandGateway gateway, RegistryView view, Callers callers) {
        this.gateway = gateway;
        this.view = view;
        this.callers = callers;
    }

    @Post(uri = "/{model}/versions", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> register(HttpRequest<?> request, String project, String model, @Body byte[] body)
            throws InterruptedException {
        Request.RegisterVersion r = Requests.register(project, model, Http.body(request, body));
        Verdict v = submit(request, r);
        if (!v.accepted()) {
            return refusedOrPending(v);
        }
        int number = v.result().getVersion();
        // the version's record is written with the verdict: wait until this view has read it, so a caller reads back
        // what it was told
        view.await(project, model, m -> entry(m, number) != null, READ_BACK);
        Map<String, Object> out = versionJson(ModelVersion.newBuilder(r.version()).setVersion(number).build(),
                v.result().getActor(), false);
        out.put("commandId", v.commandId());
        out.put("verdict", "accepted");
        return Http.json(HttpStatus.CREATED, out);
    }

    @Put(uri = "/{model}/aliases/{alias}", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> setAlias(HttpRequest<?> request, String project, String model, String alias, @Body byte[] body) {
        Verdict v = submit(request, Requests.setAlias(project, model, alias, Http.body(request, body)));
        return v.accepted() ? aliasAnswer(v, alias) : refusedOrPending(v);
    }

    @Delete(uri = "/{model}/aliases/{alias}", produces = "application/json")
    public HttpResponse<String> removeAlias(HttpRequest<?> request, String project, String model, String alias) {
        Verdict v = submit(request, Requests.removeAlias(project, model, alias));
        return v.accepted() ? aliasAnswer(v, alias) : refusedOrPending(v);
    }

    /** Versions are immutable: one is archived (no longer resolved or deployable), never deleted. */
    @Post(uri = "/{model}/versions/{version}/archive", produces = "application/json")
    public HttpResponse<String> archive(HttpRequest<?> request, String project, String model, String version) {
        Verdict v = submit(request, Requests.archive(project, model, version));
        if (!v.accepted()) {
            return refusedOrPending(v);
        }
        Map<String, Object> out = answer(v);
        out.put("archived", true);
        return Http.json(HttpStatus.OK, out);
    }

    @Get(produces = "application/json")
    public HttpResponse<String> list(String project) {
        List<Map<String, Object>> out = new ArrayList<>();
        view.inProject(project).values().forEach(m -> out.add(modelJson(m, false)));
        return Http.json(HttpStatus.OK, Map.of("items", out));
    }

    @Get(uri = "/{model}", produces = "application/json")
    public HttpResponse<String> get(String project, String model) {
        return view.get(project, model).<HttpResponse<String>>map(m -> Http.json(HttpStatus.OK, modelJson(m, true)))
                .orElseGet(() -> Http.error(HttpStatus.NOT_FOUND, "model '" + model + "' is not registered in project '" + project + "'"));
    }

    private Verdict submit(HttpRequest<?> request, Request r) {
        return gateway.submit(r, callers.of(request), Requests.key(request.getHeaders().get("Idempotency-Key"), "Idempotency-Key"));
    }

    private static HttpResponse<String> aliasAnswer(Verdict v, String alias) {
        Map<String, Object> out = answer(v);
        out.put("alias", alias);
        return Http.json(HttpStatus.OK, out);
    }

    private static Map<String, Object> answer(Verdict v) {
        CommandResult r = v.result();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", v.commandId());
        out.put("project", r.getProject());
        out.put("model", r.getModel());
        out.put("version", r.getVersion());
        out.put("verdict", r.getAccepted() ? "accepted" : "refused");
        out.put("reason", r.getReason());
        return out;
    }

    /** Refused by the fold: 409 with its reason; no verdict within the wait: 202 (the request is in the log). */
    private static HttpResponse<String> refusedOrPending(Verdict v) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("commandId", v.commandId());
        var special = Http.verdict(v, out);
        if (special.isPresent()) {
            return special.get();
        }
        return Http.json(HttpStatus.CONFLICT, answer(v));
    }

    private static VersionEntry entry(ModelState m, int version) {
        return m.getVersions().stream().filter(e -> e.getVersion().getVersion() == version).findFirst().orElse(null);
    }

    private static Map<String, Object> modelJson(ModelState m, boolean withVersions) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("project", m.getProject());
        out.put("name", m.getName());
        out.put("latest", m.getVersions().stream().filter(e -> !e.getArchived()).mapToInt(e -> e.getVersion().getVersion()).max().orElse(0));
        out.put("aliases", new java.util.TreeMap<>(m.getAliases()));
        if (withVersions) {
            out.put("versions", m.getVersions().stream().map(e -> versionJson(e.getVersion(), e.getRegisteredBy(), e.getArchived())).toList());
        } else {
            out.put("versions", m.getVersions().stream().filter(e -> !e.getArchived()).count());
        }
        return out;
    }

    static Map<String, Object> versionJson(ModelVersion v, String by, boolean archived) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", v.getModel());
        out.put("version", v.getVersion());
        out.put("image", v.getImage());
        out.put("command", v.getCommand());
        out.put("port", v.getPort());
        out.put("protocol", v.getProtocol());
        out.put("inputs", v.getInputs().stream().map(t -> Map.of("name", t.getName(), "datatype", t.getDatatype(), "shape", t.getShape())).toList());
        out.put("tags", v.getTags());
        if (v.getArtifact() != null) {
            out.put("artifact", Map.of("uri", v.getArtifact().getUri(), "sha256", v.getArtifact().getSha256(), "size", v.getArtifact().getSize(),
                    "format", v.getArtifact().getFormat()));
        }
        out.put("registeredBy", by);
        out.put("archived", archived);
        return out;
    }
}
