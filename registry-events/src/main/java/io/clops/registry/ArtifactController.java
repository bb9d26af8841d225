package io.clops.registry;

import io.clops.artifacts.ArtifactStore;
import io.clops.avro.Artifact;
import io.clops.avro.ModelVersion;
import io.clops.gateway.Authorization;
import io.clops.gateway.Principal;
import io.clops.gateway.Request;
import io.clops.service.Callers;
import io.clops.service.Http;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Model files into the platform's content-addressed store ({@code POST /api/v1/projects/{p}/artifacts?format=onnx},
 * the file's bytes as the body): answered with the URI, SHA-256 and size a version then registers
 * ({@code "artifact": {...}}). Who may upload is who may register a version in the project (modeler or admin).
 * {@code GET .../artifacts/sha256/{hex}} reads a registered file back (the Kubernetes init step fetches it so).
 * A file is at most {@code clops.artifacts.max-bytes} (default 8 MiB: the body is buffered whole for now, under the
 * server's request size limit; a streamed upload for large models is the next step).
 */
@Controller("/api/v1/projects/{project}/artifacts")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ArtifactController {
    private final ArtifactStore store;
    private final long maxBytes;
    private final Callers callers;
    private final Authorization authorization;
    private final RegistryView registry;

    public ArtifactController(@Nullable @Value("${clops.artifacts.dir:}") String dir, @Value("${clops.artifacts.max-bytes:8388608}") long maxBytes,
                              Callers callers, Optional<Authorization> authorization, RegistryView registry) {
        this.store = dir == null || dir.isBlank() ? null : new ArtifactStore(Path.of(dir));
        this.maxBytes = maxBytes;
        this.callers = callers;
        this.authorization = authorization.orElse(Authorization.ANYONE);
        this.registry = registry;
    }

    /**
     * A stored model file, for the Kubernetes runtime's init step ({@code ModelCache}) and for members: the file of a
     * version registered in this project (a digest registered only in another project is not found here, whoever
     * knows it). Who may read is who may read the project (the {@code ReadAccess} filter: a member, or the project's
     * service account). The body is the file as stored; the caller checks its digest.
     */
    @Get(uri = "/sha256/{sha256}", produces = "application/octet-stream")
    public HttpResponse<?> download(String project, String sha256) {
        if (store == null) {
            return Http.error(HttpStatus.NOT_FOUND, "this platform keeps no model files (clops.artifacts.dir is not set)");
        }
        if (!sha256.matches("[0-9a-f]{64}")) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("sha256", "64 lower-case hexadecimal digits, not '" + abbreviated(sha256) + "'")));
        }
        boolean registered = registry.inProject(project).values().stream().flatMap(m -> m.getVersions().stream())
                .anyMatch(e -> e.getVersion().getArtifact() != null && sha256.equals(e.getVersion().getArtifact().getSha256())
                        && e.getVersion().getArtifact().getUri().startsWith(io.clops.api.RegistryRequests.STORE_PREFIX));
        Path file = store.resolve(io.clops.api.RegistryRequests.STORE_PREFIX + sha256);
        if (!registered || !java.nio.file.Files.isRegularFile(file)) {
            return Http.error(HttpStatus.NOT_FOUND, "no model file " + sha256 + " is registered in project '" + project + "'");
        }
        return HttpResponse.ok(new io.micronaut.http.server.types.files.SystemFile(file.toFile(), io.micronaut.http.MediaType.APPLICATION_OCTET_STREAM_TYPE));
    }

    private static String abbreviated(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }

    @Post(consumes = "application/octet-stream", produces = "application/json")
    public HttpResponse<String> upload(HttpRequest<?> request, String project, @Nullable @QueryValue String format, @Body byte[] body) {
        Principal who = callers.of(request);
        Optional<String> refused = authorization.refuse(who, new Request.RegisterVersion(project, "model-file",
                ModelVersion.newBuilder().setModel("model-file").setVersion(0).setCommand(List.of()).build()));
        if (refused.isPresent()) {
            return Http.error(HttpStatus.FORBIDDEN, "uploading a model file needs what registering a version does: " + refused.get());
        }
        if (store == null) {
            return Http.error(HttpStatus.NOT_FOUND, "this platform keeps no model files (clops.artifacts.dir is not set)");
        }
        if (body == null || body.length == 0) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("body", "the model file's bytes, not nothing")));
        }
        if (body.length > maxBytes) {
            return Http.error(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "a model file is at most " + maxBytes + " bytes here, not " + body.length);
        }
        Artifact a;
        try {
            a = store.put(body, format == null ? "" : format);
        } catch (IllegalArgumentException e) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("format", e.getMessage())));
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot store the model file: " + e.getMessage());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("uri", a.getUri());
        out.put("sha256", a.getSha256());
        out.put("size", a.getSize());
        out.put("format", a.getFormat());
        return Http.json(HttpStatus.CREATED, out);
    }
}
