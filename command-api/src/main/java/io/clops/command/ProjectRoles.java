package io.clops.command;

import io.clops.api.HostUsers;
import io.clops.api.RegistryRequests;
import io.clops.artifacts.ArtifactStore;
import io.clops.avro.Project;
import io.clops.avro.ProjectRole;
import io.clops.gateway.Authorization;
import io.clops.gateway.Principal;
import io.clops.gateway.Request;
import io.clops.service.Callers;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Who may make which write, from the projects' members as the fold decided them: a viewer only reads and predicts;
 * a modeler also deploys, undeploys and registers; an admin also manages members, quota and deletes the project.
 * Any authenticated user may create a project (and is its first admin). A service account acts only in its project.
 * A version that would run on the platform's own machine (a command of its own, a {@code file:} model file) is
 * registered only by the users {@code clops.auth.host-users} names ({@link Callers#hostUser}), whatever their role.
 * Enforced when {@code clops.auth.required}; until then every principal may do everything (docs/security.md), but
 * name a stored model file its project never received, with tokens or without ({@link #unlinkedFile}).
 */
@Singleton
public class ProjectRoles implements Authorization {
    private final ProjectViews projects;
    private final boolean required;
    private final Callers callers;
    private final ArtifactStore store;

    public ProjectRoles(ProjectViews projects, @Value("${clops.auth.required:false}") boolean required, Callers callers,
                        @Value("${clops.artifacts.dir:}") String artifactsDir) {
        this.projects = projects;
        this.required = required;
        this.callers = callers;
        this.store = artifactsDir == null || artifactsDir.isBlank() ? null : new ArtifactStore(Path.of(artifactsDir));
    }

    @Override
    public Optional<String> refuse(Principal who, Request request) {
        Optional<String> byRole = required ? byRole(who, request) : Optional.empty();
        return byRole.isPresent() ? byRole : unlinkedFile(request); // a stranger learns nothing of the project's files
    }

    private Optional<String> byRole(Principal who, Request request) {
        String project = request.project();
        if (who.onlyProject() != null && !who.onlyProject().equals(project)) {
            return Optional.of(who.name() + "'s token is for project '" + who.onlyProject() + "' only, not '" + project + "'");
        }
        if (request instanceof Request.CreateProject) {
            return who.onlyProject() == null ? Optional.empty()
                    : Optional.of("a service account creates no project");
        }
        ProjectRole needed = needs(request);
        ProjectRole has = projects.get(project).map(Project::getMembers).map(m -> m.get(who.name())).orElse(null);
        if (has == null) {
            return Optional.of("user '" + who.name() + "' has no role in project '" + project + "'");
        }
        if (has.ordinal() < needed.ordinal()) {
            return Optional.of("user '" + who.name() + "' is " + article(has) + " of project '" + project + "'; "
                    + what(request) + " needs " + needed.name() + (needed == ProjectRole.admin ? "" : " or admin"));
        }
        if (request instanceof Request.RegisterVersion r && !callers.hostUser(who)) {
            String field = HostUsers.hostAccess(r.version());
            if (field != null) {
                return Optional.of(field + ": " + (field.equals("command") ? "a version's own command runs" : "a file: path is read")
                        + " on the platform's machine with the platform's own rights, and user '" + who.name() + "' is not one of"
                        + " clops.auth.host-users; register the model file instead (--file, or an http(s) --uri): clops's own runtime serves it");
            }
        }
        return Optional.empty();
    }

    /**
     * A version may name a file in the platform's store only if it was uploaded to the version's project
     * ({@link ArtifactStore#linked}): the store is shared by every project, and a digest someone
     * learned (a former member, a log line) must not reach another project's file. With or without tokens.
     */
    private Optional<String> unlinkedFile(Request request) {
        if (store == null || !(request instanceof Request.RegisterVersion r) || r.version().getArtifact() == null
                || !r.version().getArtifact().getUri().startsWith(RegistryRequests.STORE_PREFIX)) {
            return Optional.empty();
        }
        String sha = r.version().getArtifact().getSha256();
        return store.linked(r.project(), sha) ? Optional.empty()
                : Optional.of("artifact.uri: no model file " + sha + " was uploaded to project '" + r.project() + "'; upload it there"
                + " (clops model register --file): knowing a file's digest is not having it");
    }

    /** The least role a write needs (roles are ordered viewer < modeler < admin). */
    static ProjectRole needs(Request r) {
        if (r instanceof Request.DeleteProject || r instanceof Request.SetMember || r instanceof Request.RemoveMember
                || r instanceof Request.SetQuota || r instanceof Request.CreateServiceAccount || r instanceof Request.RemoveServiceAccount) {
            return ProjectRole.admin;
        }
        if (r instanceof Request.IssueKafkaCredentials) {
            return ProjectRole.viewer; // a member's own, for the topics any role may use (async predictions)
        }
        return ProjectRole.modeler;
    }

    private static String what(Request r) {
        if (r instanceof Request.Deploy) {
            return "deploying";
        }
        if (r instanceof Request.Undeploy) {
            return "undeploying";
        }
        if (r instanceof Request.DeleteProject) {
            return "deleting the project";
        }
        if (r instanceof Request.SetMember || r instanceof Request.RemoveMember) {
            return "managing members";
        }
        if (r instanceof Request.SetQuota) {
            return "setting the quota";
        }
        if (r instanceof Request.CreateServiceAccount || r instanceof Request.RemoveServiceAccount) {
            return "managing service accounts";
        }
        if (r instanceof Request.IssueKafkaCredentials) {
            return "issuing Kafka credentials";
        }
        return "changing the registry";
    }

    private static String article(ProjectRole r) {
        return (r == ProjectRole.admin ? "an " : "a ") + r.name();
    }
}
