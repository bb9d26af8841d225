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
 * One request takes a file of at most {@code clops.artifacts.max-bytes} (default and at most the server's request
 * limit, 512 KiB: every body is bounded before it is read); a larger file goes in parts ({@link #beginUpload}), each
 * at most that, up to {@code clops.artifacts.max-upload-bytes} in all.
 */
@Controller("/api/v1/projects/{project}/artifacts")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ArtifactController {
    private final ArtifactStore store;
    private final long maxBytes;
    private final Callers callers;
    private final Authorization authorization;
    private final RegistryView registry;
    private final io.clops.artifacts.ArtifactUploads uploads;
    /** A part of an upload: the server's request size limit (micronaut.server.max-request-size, {@link Http#MAX_BODY_BYTES}). */
    static final int PART_BYTES = Http.MAX_BODY_BYTES;

    public ArtifactController(@Nullable @Value("${clops.artifacts.dir:}") String dir, @Value("${clops.artifacts.max-bytes:524288}") long maxBytes,
                              @Value("${clops.artifacts.max-upload-bytes:2147483648}") long maxUploadBytes,
                              Callers callers, Optional<Authorization> authorization, RegistryView registry) {
        this.store = dir == null || dir.isBlank() ? null : new ArtifactStore(Path.of(dir));
        this.maxBytes = maxBytes;
        this.callers = callers;
        this.authorization = authorization.orElse(Authorization.ANYONE);
        this.registry = registry;
        this.uploads = store == null ? null : new io.clops.artifacts.ArtifactUploads(store, Path.of(dir).resolve("uploads"), maxUploadBytes,
                PART_BYTES, java.time.Duration.ofHours(1), java.time.Clock.systemUTC());
    }

    /** Why {@code who} may not write model files into the project, or empty. */
    private Optional<HttpResponse<String>> refusedWriter(Principal who, String project) {
        Optional<String> refused = authorization.refuse(who, new Request.RegisterVersion(project, "model-file",
                ModelVersion.newBuilder().setModel("model-file").setVersion(0).setCommand(List.of()).build()));
        if (refused.isPresent()) {
            return Optional.of(Http.error(HttpStatus.FORBIDDEN, "uploading a model file needs what registering a version does: " + refused.get()));
        }
        if (store == null) {
            return Optional.of(Http.error(HttpStatus.NOT_FOUND, "this platform keeps no model files (clops.artifacts.dir is not set)"));
        }
        return Optional.empty();
    }

    /**
     * A model file in parts ({@link io.clops.artifacts.ArtifactUploads}): {@code POST …/artifacts/uploads} begins one;
     * {@code PATCH …/uploads/{id}} with {@code Upload-Offset: N} appends a part of at most {@value #PART_BYTES} bytes
     * (409 with the offset to resume from when N is not where the upload stands); {@code GET …/uploads/{id}} says
     * where it stands; {@code POST …/uploads/{id}/complete?format=onnx[&sha256=HEX]} stores it under its digest and
     * answers as a single upload does. At most {@code clops.artifacts.max-upload-bytes} (2 GiB) in all.
     */
    @Post(uri = "/uploads", produces = "application/json")
    public HttpResponse<String> beginUpload(HttpRequest<?> request, String project) {
        Principal who = callers.of(request);
        Optional<HttpResponse<String>> refused = refusedWriter(who, project);
        if (refused.isPresent()) {
            return refused.get();
        }
        try {
            return Http.json(HttpStatus.CREATED, statusJson(project, uploads.begin(project, who.name())));
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot begin an upload: " + e.getMessage());
        }
    }

    @Get(uri = "/uploads/{id}", produces = "application/json")
    public HttpResponse<String> uploadStatus(HttpRequest<?> request, String project, String id) {
        Principal who = callers.of(request);
        if (uploads == null) {
            return Http.error(HttpStatus.NOT_FOUND, "this platform keeps no model files (clops.artifacts.dir is not set)");
        }
        try {
            return uploads.status(project, who.name(), id).<HttpResponse<String>>map(st -> Http.json(HttpStatus.OK, statusJson(project, st)))
                    .orElseGet(() -> Http.error(HttpStatus.NOT_FOUND, "no upload " + abbreviated(id) + " of yours in project '" + project + "'"));
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot read the upload: " + e.getMessage());
        }
    }

    @io.micronaut.http.annotation.Patch(uri = "/uploads/{id}", consumes = "application/octet-stream", produces = "application/json")
    public HttpResponse<String> appendPart(HttpRequest<?> request, String project, String id, @Nullable @Body byte[] body) {
        Principal who = callers.of(request);
        Optional<HttpResponse<String>> refused = refusedWriter(who, project);
        if (refused.isPresent()) {
            return refused.get();
        }
        String header = request.getHeaders().get("Upload-Offset");
        if (header == null || !header.matches("[0-9]{1,18}")) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("Upload-Offset",
                    "the header is required: the byte offset this part starts at (what the upload holds), not " + (header == null ? "nothing" : "'" + abbreviated(header) + "'"))));
        }
        try {
            long offset = uploads.append(project, who.name(), id, Long.parseLong(header), new java.io.ByteArrayInputStream(body == null ? new byte[0] : body));
            return Http.json(HttpStatus.OK, Map.of("id", id, "offset", offset)).header("Upload-Offset", Long.toString(offset));
        } catch (io.clops.artifacts.ArtifactUploads.Refused r) {
            return uploadRefused(r);
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot store the part: " + e.getMessage());
        }
    }

    @Post(uri = "/uploads/{id}/complete", produces = "application/json")
    public HttpResponse<String> completeUpload(HttpRequest<?> request, String project, String id, @Nullable @QueryValue String format,
                                               @Nullable @QueryValue String sha256) {
        Principal who = callers.of(request);
        Optional<HttpResponse<String>> refused = refusedWriter(who, project);
        if (refused.isPresent()) {
            return refused.get();
        }
        try {
            Artifact done = uploads.complete(project, who.name(), id, format, sha256);
            return link(project, done).orElseGet(() -> Http.json(HttpStatus.CREATED, artifactJson(done)));
        } catch (io.clops.artifacts.ArtifactUploads.Refused r) {
            return uploadRefused(r);
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot store the model file: " + e.getMessage());
        }
    }

    private static HttpResponse<String> uploadRefused(io.clops.artifacts.ArtifactUploads.Refused r) {
        if (r.field() != null) {
            return Http.refused(HttpStatus.valueOf(r.status()), "the request is invalid", List.of(new io.clops.api.FieldError(r.field(), r.getMessage())));
        }
        io.micronaut.http.MutableHttpResponse<String> out = Http.error(HttpStatus.valueOf(r.status()), r.getMessage());
        return r.offset() >= 0 ? out.header("Upload-Offset", Long.toString(r.offset())) : out;
    }

    private static Map<String, Object> statusJson(String project, io.clops.artifacts.ArtifactUploads.Status st) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", st.id());
        out.put("offset", st.offset());
        out.put("maxBytes", st.maxBytes());
        out.put("partBytes", st.partBytes());
        out.put("expiresMs", st.expiresMs());
        out.put("location", "/api/v1/projects/" + project + "/artifacts/uploads/" + st.id());
        return out;
    }

    private static Map<String, Object> artifactJson(Artifact a) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("uri", a.getUri());
        out.put("sha256", a.getSha256());
        out.put("size", a.getSize());
        out.put("format", a.getFormat());
        return out;
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
        Optional<HttpResponse<String>> refused = refusedWriter(callers.of(request), project);
        if (refused.isPresent()) {
            return refused.get();
        }
        if (body == null || body.length == 0) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("body", "the model file's bytes, not nothing")));
        }
        if (body.length > maxBytes) {
            return Http.error(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "a model file is at most " + maxBytes + " bytes in one request, not " + body.length
                    + ": larger ones go in parts (POST /api/v1/projects/" + project + "/artifacts/uploads; the CLI does so by itself)");
        }
        Artifact a;
        try {
            a = store.put(body, format == null ? "" : format);
        } catch (IllegalArgumentException e) {
            return Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("format", e.getMessage())));
        } catch (IOException e) {
            return Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot store the model file: " + e.getMessage());
        }
        Optional<HttpResponse<String>> unlinked = link(project, a);
        return unlinked.orElseGet(() -> Http.json(HttpStatus.CREATED, artifactJson(a)));
    }

    /** The project's versions may name the file now ({@link ArtifactStore#link}); an answer when that failed. */
    private Optional<HttpResponse<String>> link(String project, Artifact a) {
        try {
            store.link(project, a.getSha256());
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of(Http.refused(HttpStatus.BAD_REQUEST, "the request is invalid", List.of(new io.clops.api.FieldError("project", e.getMessage()))));
        } catch (IOException e) {
            return Optional.of(Http.error(HttpStatus.INTERNAL_SERVER_ERROR, "cannot store the model file: " + e.getMessage()));
        }
    }
}
