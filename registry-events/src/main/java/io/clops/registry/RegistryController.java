package io.clops.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.api.Names;
import io.clops.avro.AliasSet;
import io.clops.avro.ModelVersion;
import io.clops.avro.RegistryEvent;
import io.clops.avro.VersionRegistered;
import io.clops.kafka.Topics;
import io.clops.service.EventLog;
import io.clops.service.Http;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The model registry over HTTP: every change is an event on clops.registry; reads come from the log's view. */
@Controller("/api/v1/projects/{project}/models")
@ExecuteOn(TaskExecutors.BLOCKING)
public class RegistryController {
    private final EventLog log;
    private final RegistryView view;
    private final Clock clock = Clock.systemUTC();

    public RegistryController(EventLog log, RegistryView view) {
        this.log = log;
        this.view = view;
    }

    @Post(uri = "/{model}/versions", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> register(HttpRequest<?> request, String project, String model, @Body String body) {
        JsonNode json = Http.body(body);
        int next = view.get(project, model).map(m -> m.latest() + 1).orElse(1);
        ModelVersion v = RegistryRequests.version(project, model, json, next);
        var existing = view.get(project, model).map(m -> m.versions().get(v.getVersion()));
        if (existing.isPresent() && existing.get() != null) {
            return Http.error(HttpStatus.CONFLICT, "model '" + model + "' already has version " + v.getVersion()
                    + " in project '" + project + "'; versions are immutable, register a new one");
        }
        RegistryEvent ev = event(request, project, model).setPayload(VersionRegistered.newBuilder().setVersion(v).build()).build();
        log.append(Topics.REGISTRY, Topics.modelKey(project, model), ev, project);
        view.apply(ev); // read-your-writes for the caller; the log view applies it again idempotently
        return Http.json(HttpStatus.CREATED, versionJson(v, Http.actor(request)));
    }

    @Put(uri = "/{model}/aliases/{alias}", consumes = "application/json", produces = "application/json")
    public HttpResponse<String> setAlias(HttpRequest<?> request, String project, String model, String alias, @Body String body) {
        int version = RegistryRequests.aliasTarget(alias, Http.body(body));
        var m = view.get(project, model);
        if (m.isEmpty() || !m.get().versions().containsKey(version)) {
            throw new InvalidRequest("invalid alias", List.of(new FieldError("version",
                    "model '" + model + "' has no version " + version + " in project '" + project + "'")));
        }
        RegistryEvent ev = event(request, project, model)
                .setPayload(AliasSet.newBuilder().setAlias(alias).setVersion(version).build()).build();
        log.append(Topics.REGISTRY, Topics.modelKey(project, model), ev, project);
        view.apply(ev);
        return Http.json(HttpStatus.OK, Map.of("model", model, "alias", alias, "version", version));
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

    private RegistryEvent.Builder event(HttpRequest<?> request, String project, String model) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkLabel("project", project, 40, errors);
        Names.checkLabel("model", model, 40, errors);
        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid name", errors);
        }
        return RegistryEvent.newBuilder().setId(UUID.randomUUID().toString()).setProject(project).setModel(model)
                .setActor(Http.actor(request)).setTimeMs(clock.millis());
    }

    private static Map<String, Object> modelJson(RegistryView.Model m, boolean withVersions) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("project", m.project());
        out.put("name", m.name());
        out.put("latest", m.latest());
        out.put("aliases", m.aliases());
        if (withVersions) {
            out.put("versions", m.versions().values().stream().map(v -> versionJson(v, m.registeredBy().get(v.getVersion()))).toList());
        } else {
            out.put("versions", m.versions().size());
        }
        return out;
    }

    static Map<String, Object> versionJson(ModelVersion v, String by) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", v.getModel());
        out.put("version", v.getVersion());
        out.put("image", v.getImage());
        out.put("command", v.getCommand());
        out.put("port", v.getPort());
        out.put("protocol", v.getProtocol());
        out.put("inputs", v.getInputs().stream().map(t -> Map.of("name", t.getName(), "datatype", t.getDatatype(), "shape", t.getShape())).toList());
        out.put("tags", v.getTags());
        out.put("registeredBy", by);
        return out;
    }
}
