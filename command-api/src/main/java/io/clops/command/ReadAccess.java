package io.clops.command;

import io.clops.avro.Project;
import io.clops.gateway.Principal;
import io.clops.service.Callers;
import io.clops.service.Http;
import io.clops.service.Unauthenticated;
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
 */
@ServerFilter(value = "/api/v1/**", methods = HttpMethod.GET)
public class ReadAccess {
    private static final Pattern IN_PROJECT = Pattern.compile("^/api/v1/projects/([^/]+)(/.*)?$");
    private final Callers callers;
    private final ProjectViews projects;

    public ReadAccess(Callers callers, ProjectViews projects) {
        this.callers = callers;
        this.projects = projects;
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
            return Http.error(HttpStatus.UNAUTHORIZED, e.getMessage()).header("WWW-Authenticate", "Bearer realm=\"clops\"");
        }
        Matcher m = IN_PROJECT.matcher(request.getPath());
        if (m.matches() && !memberOf(who, m.group(1))) {
            return Http.error(HttpStatus.FORBIDDEN, "user '" + who.name() + "' has no role in project '" + m.group(1) + "'");
        }
        return null;
    }

    /** Whether {@code who} may read the project (any role; a service account only its own). */
    boolean memberOf(Principal who, String project) {
        if (who.onlyProject() != null && !who.onlyProject().equals(project)) {
            return false;
        }
        return projects.get(project).map(Project::getMembers).map(m -> m.containsKey(who.name())).orElse(false);
    }
}
