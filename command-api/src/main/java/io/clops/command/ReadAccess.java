package io.clops.command;

import io.clops.avro.Project;
import io.clops.gateway.Principal;
import io.clops.service.Callers;
import io.clops.service.Http;
import io.clops.service.PodTokens;
import io.clops.service.Unauthenticated;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads need a role too, when {@code clops.auth.required}: anything under {@code /api/v1/projects/{p}} is for the
 * project's members (viewer and up), with a token; the lists across projects show only the caller's
 * ({@link #memberOf}). Login, the TokenReview webhook and the API's description stay open: they are how one gets in.
 * One more caller, with {@code clops.kubernetes.pod-tokens}: a pod of the project's namespace, by the Kubernetes
 * service-account token kube-apiserver vouches for ({@link PodTokens}), may read the project's registered model files
 * ({@code GET …/artifacts/sha256/{hex}}, what the init step of its pods fetches) and nothing else.
 */
@ServerFilter(value = "/api/v1/**", methods = HttpMethod.GET)
public class ReadAccess {
    private static final Pattern IN_PROJECT = Pattern.compile("^/api/v1/projects/([^/]+)(/.*)?$");
    private static final Pattern MODEL_FILE = Pattern.compile("^/api/v1/projects/([^/]+)/artifacts/sha256/[0-9a-f]{64}$");
    private final Callers callers;
    private final ProjectViews projects;
    private final PodTokens pods; // null: pods have no identity here

    public ReadAccess(Callers callers, ProjectViews projects, @Value("${clops.kubernetes.pod-tokens:false}") boolean podTokens,
                      @Value("${clops.kubernetes.api-url:}") String apiUrl, @Value("${clops.kubernetes.token-file:}") String tokenFile,
                      @Value("${clops.kubernetes.ca-file:}") String caFile) throws java.io.IOException {
        this.callers = callers;
        this.projects = projects;
        this.pods = !podTokens ? null : apiUrl.isBlank() ? PodTokens.inCluster(System.getenv())
                : new PodTokens(java.net.URI.create(apiUrl), java.nio.file.Path.of(tokenFile), caFile.isBlank() ? null : java.nio.file.Path.of(caFile),
                java.time.Clock.systemUTC());
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> check(HttpRequest<?> request) {
        if (!callers.required() || request.getPath().startsWith("/api/v1/openapi.")) {
            return null;
        }
        Principal who;
        try {
            who = callers.of(request);
        } catch (Unauthenticated e) {
            if (podOfTheProject(request)) {
                return null;
            }
            return Http.error(HttpStatus.UNAUTHORIZED, e.getMessage()).header("WWW-Authenticate", "Bearer realm=\"clops\"");
        }
        Matcher m = IN_PROJECT.matcher(request.getPath());
        if (m.matches() && !memberOf(who, m.group(1))) {
            return Http.error(HttpStatus.FORBIDDEN, "user '" + who.name() + "' has no role in project '" + m.group(1) + "'");
        }
        return null;
    }

    /** A model file of the project, asked for with the token of one of the project's pods (not a clops token). */
    private boolean podOfTheProject(HttpRequest<?> request) {
        Matcher file = MODEL_FILE.matcher(request.getPath());
        String header = request.getHeaders().get("Authorization");
        if (pods == null || !file.matches() || header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // a project's namespace is named as the project (the Kubernetes runtime's K8sNames.namespace)
        return pods.vouchesFor(header.substring(7).strip(), file.group(1));
    }

    /** Whether {@code who} may read the project (any role, or a platform auditor; a service account only its own). */
    boolean memberOf(Principal who, String project) {
        if (who.onlyProject() != null && !who.onlyProject().equals(project)) {
            return false;
        }
        if (callers.auditor(who)) {
            return true;
        }
        return projects.get(project).map(Project::getMembers).map(m -> m.containsKey(who.name())).orElse(false);
    }
}
