package io.clops.reconciler;

import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.CreateProject;
import io.clops.avro.DeleteProject;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.avro.ModelVersion;
import io.clops.avro.ProjectRole;
import io.clops.avro.Project;
import io.clops.avro.RemoveMember;
import io.clops.avro.CreateServiceAccount;
import io.clops.avro.RemoveServiceAccount;
import io.clops.avro.ServiceAccount;
import io.clops.avro.SetMember;
import io.clops.avro.SetQuota;
import io.clops.avro.RegistryEvent;
import io.clops.avro.ResolvedRoute;
import io.clops.avro.SeenCommand;
import io.clops.avro.TrafficSplit;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionArchived;
import io.clops.avro.VersionEntry;
import io.clops.avro.VersionRegistered;
import io.clops.api.Idempotency;
import io.clops.api.Quotas;
import io.clops.kafka.Topics;
import org.apache.avro.specific.SpecificRecord;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The fold of the log, without Kafka: (what is known, one event) → the records to write.
 * <p>
 * Commands deploy and undeploy; registry events register versions, move aliases and archive versions. Every command
 * and registry event gets exactly one verdict ({@link CommandResult}, keyed by its request id), accepted or refused
 * with a reason; every accepted change of what a deployment runs bumps its generation and writes a fully resolved
 * {@link DesiredDeployment} (or a tombstone); every registry change writes the model's {@link ModelState}.
 * An id decided before (within {@link #SEEN_RETENTION_MS}) changes nothing: the same request gets its first verdict
 * again, another request under the same id is refused.
 * <p>
 * The fold reads only through {@link State} and writes only what it returns, so the live topology (state stores)
 * and a replay (a {@link MemoryState}) run the same code.
 */
public final class ProjectFold {
    private ProjectFold() {
    }

    /** How long an id's first answer is given again (event time); after it the id is refused, never applied again. */
    public static final long SEEN_RETENTION_MS = Idempotency.WINDOW_MS;

    public enum Target {
        /** A verdict: topic clops.command-results, keyed by request id. */
        COMMAND_RESULTS,
        /** A deployment's desired state (null: undeployed): store deployments and topic clops.desired. */
        DESIRED,
        /** A model's registry state: store models and topic clops.models. */
        MODELS,
        /** A project's state (null: deleted): store projects and topic clops.projects. */
        PROJECTS,
        /** A decided id: store commands-seen only. */
        SEEN,
        /** The event's audit record (never from the fold itself: {@link AuditTrail#fold} adds it): topic clops.audit, key project. */
        AUDIT
    }

    /** One record to write: value null is a tombstone. */
    public record Output(Target target, String key, Object value) {
    }

    /** What the fold reads. Keys are those of {@link Topics#deploymentKey} and {@link Topics#modelKey}. */
    public interface State {
        Optional<DesiredDeployment> deployment(String project, String name);

        /** Every deployment of the project. */
        List<DesiredDeployment> deployments(String project);

        Optional<ModelState> model(String project, String model);

        /** Every model of the project. */
        List<ModelState> models(String project);

        Optional<Project> project(String name);

        Optional<SeenCommand> seen(String id);
    }

    // ---------------------------------------------------------------------------------------------- commands

    public static List<Output> onCommand(State s, CommandEnvelope cmd) {
        String fingerprint = fingerprint(cmd.getProject(), cmd.getPayload());
        Optional<List<Output>> repeat = repeat(s, cmd.getId(), cmd.getRequestId(), fingerprint, cmd.getTimeMs(),
                base(cmd).setDeployment(deploymentOf(cmd)).build());
        if (repeat.isPresent()) {
            return repeat.get();
        }
        List<Output> out = new ArrayList<>();
        CommandResult verdict;
        Optional<Project> project = s.project(cmd.getProject());
        if (cmd.getPayload() instanceof CreateProject create) {
            verdict = createProject(s, cmd, project, create, out);
        } else if (cmd.getPayload() instanceof UndeployCommand undeploy) {
            verdict = undeploy(s, cmd, undeploy, out); // also in a project from before projects were events: cleanup
        } else if (project.isEmpty()) {
            verdict = refused(base(cmd).setDeployment(deploymentOf(cmd)), noProject(cmd.getProject()));
        } else if (cmd.getPayload() instanceof DeployCommand deploy) {
            verdict = deploy(s, cmd, project.get(), deploy, out);
        } else if (cmd.getPayload() instanceof DeleteProject) {
            verdict = deleteProject(s, cmd, out);
        } else if (cmd.getPayload() instanceof SetMember set) {
            verdict = setMember(cmd, project.get(), set, out);
        } else if (cmd.getPayload() instanceof RemoveMember remove) {
            verdict = removeMember(cmd, project.get(), remove, out);
        } else if (cmd.getPayload() instanceof SetQuota set) {
            verdict = setQuota(s, cmd, project.get(), set, out);
        } else if (cmd.getPayload() instanceof CreateServiceAccount create) {
            verdict = createServiceAccount(cmd, project.get(), create, out);
        } else if (cmd.getPayload() instanceof RemoveServiceAccount remove) {
            verdict = removeServiceAccount(cmd, project.get(), remove, out);
        } else if (cmd.getPayload() instanceof io.clops.avro.IssueKafkaCredentials issue) {
            verdict = issueKafkaCredentials(cmd, project.get(), issue);
        } else {
            verdict = refused(base(cmd).setDeployment(""), "unknown command type " + cmd.getPayload().getClass().getSimpleName());
        }
        return decided(cmd.getId(), fingerprint, cmd.getTimeMs(), verdict, out);
    }

    private static CommandResult deploy(State s, CommandEnvelope cmd, Project p, DeployCommand deploy, List<Output> out) {
        String project = cmd.getProject();
        String name = deploy.getName();
        CommandResult.Builder v = base(cmd).setDeployment(name);
        Optional<DesiredDeployment> existing = s.deployment(project, name);
        Long expected = deploy.getExpectedGeneration();
        long current = existing.map(DesiredDeployment::getGeneration).orElse(0L);
        if (expected != null && expected != current) {
            return refused(v.setCode(GENERATION_MISMATCH), "deployment '" + name + "' is at generation " + current
                    + (current == 0 ? " (it does not exist)" : "") + ", not " + expected + " as expected: read it again and retry");
        }
        Resolved resolved = resolve(s, project, deploy.getSpec());
        if (resolved.error() != null) {
            return refused(v, resolved.error());
        }
        if (Quotas.limits(p.getQuota())) { // an unlimited project's deploy reads none of its other deployments
            Quotas.Usage others = Quotas.of(s.deployments(project).stream().filter(d -> !d.getName().equals(name))
                    .map(DesiredDeployment::getSpec).toList());
            Optional<String> over = Quotas.admit(project, p.getQuota(), others, deploy.getSpec());
            if (over.isPresent()) {
                return refused(v.setCode(QUOTA_EXCEEDED), over.get());
            }
        }
        // unchanged: the same spec resolved to the same routes (versions, and who registered each: a generation resolved
        // before routes carried that rolls once)
        if (existing.isPresent() && existing.get().getSpec().equals(deploy.getSpec())
                && existing.get().getRoutes().equals(resolved.routes()) && java.util.Objects.equals(existing.get().getShadow(), resolved.shadow())) {
            return v.setAccepted(true).setReason("unchanged").setGeneration(existing.get().getGeneration()).build();
        }
        long generation = existing.map(d -> d.getGeneration() + 1).orElse(1L);
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject(project).setName(name).setGeneration(generation)
                .setSpec(deploy.getSpec()).setRoutes(resolved.routes()).setShadow(resolved.shadow())
                .setCommandId(cmd.getId()).setActor(cmd.getActor()).setTimeMs(cmd.getTimeMs()).build();
        out.add(new Output(Target.DESIRED, Topics.deploymentKey(project, name), d));
        return v.setAccepted(true).setGeneration(generation).build();
    }

    private static CommandResult undeploy(State s, CommandEnvelope cmd, UndeployCommand undeploy, List<Output> out) {
        String name = undeploy.getName();
        CommandResult.Builder v = base(cmd).setDeployment(name);
        Optional<DesiredDeployment> existing = s.deployment(cmd.getProject(), name);
        if (existing.isEmpty()) {
            return refused(v, "deployment '" + name + "' does not exist in project '" + cmd.getProject() + "'");
        }
        out.add(new Output(Target.DESIRED, Topics.deploymentKey(cmd.getProject(), name), null));
        return v.setAccepted(true).setGeneration(existing.get().getGeneration() + 1).build();
    }

    // ---------------------------------------------------------------------------------------------- projects

    /** Codes of refusals a program may act on. */
    public static final String GENERATION_MISMATCH = "generation-mismatch";
    public static final String QUOTA_EXCEEDED = "quota-exceeded";

    private static String noProject(String project) {
        return "project '" + project + "' does not exist: create it first (clops project create " + project + ")";
    }

    private static CommandResult createProject(State s, CommandEnvelope cmd, Optional<Project> existing, CreateProject create,
                                               List<Output> out) {
        CommandResult.Builder v = base(cmd);
        if (existing.isPresent()) {
            return refused(v, "project '" + cmd.getProject() + "' already exists (created by " + existing.get().getCreatedBy() + ")");
        }
        // deployments from before projects were events are adopted: the quota must hold them
        Optional<String> below = Quotas.below(create.getQuota(), usage(s, cmd.getProject()));
        if (below.isPresent()) {
            return refused(v.setCode(QUOTA_EXCEEDED), below.get());
        }
        Map<String, ProjectRole> members = new TreeMap<>();
        members.put(create.getAdmin(), ProjectRole.admin);
        Project p = Project.newBuilder().setName(cmd.getProject()).setDescription(create.getDescription())
                .setMembers(members).setQuota(create.getQuota()).setGeneration(1).setCreatedBy(cmd.getActor())
                .setCreatedMs(cmd.getTimeMs()).setCommandId(cmd.getId()).setActor(cmd.getActor()).setTimeMs(cmd.getTimeMs()).build();
        out.add(new Output(Target.PROJECTS, cmd.getProject(), p));
        return v.setAccepted(true).setGeneration(1).build();
    }

    /** Undeploys every deployment of the project, removes its models, then the project: one verdict, all or nothing. */
    private static CommandResult deleteProject(State s, CommandEnvelope cmd, List<Output> out) {
        String project = cmd.getProject();
        List<DesiredDeployment> deployments = s.deployments(project);
        for (DesiredDeployment d : deployments) {
            out.add(new Output(Target.DESIRED, Topics.deploymentKey(project, d.getName()), null));
        }
        List<ModelState> models = s.models(project);
        for (ModelState m : models) {
            out.add(new Output(Target.MODELS, Topics.modelKey(project, m.getName()), null));
        }
        out.add(new Output(Target.PROJECTS, project, null));
        return base(cmd).setAccepted(true).setReason("deleted with " + deployments.size() + " deployment(s) and "
                + models.size() + " model(s)").build();
    }

    private static CommandResult setMember(CommandEnvelope cmd, Project p, SetMember set, List<Output> out) {
        CommandResult.Builder v = base(cmd);
        ProjectRole before = p.getMembers().get(set.getUser());
        if (before == set.getRole()) {
            return v.setAccepted(true).setReason("unchanged").setGeneration(p.getGeneration()).build();
        }
        if (before == ProjectRole.admin && admins(p) == 1) {
            return refused(v, "user '" + set.getUser() + "' is the last admin of project '" + p.getName()
                    + "': make someone else admin first");
        }
        Project next = changed(p, cmd);
        next.getMembers().put(set.getUser(), set.getRole());
        out.add(new Output(Target.PROJECTS, p.getName(), next));
        return v.setAccepted(true).setGeneration(next.getGeneration()).build();
    }

    private static CommandResult removeMember(CommandEnvelope cmd, Project p, RemoveMember remove, List<Output> out) {
        CommandResult.Builder v = base(cmd);
        ProjectRole before = p.getMembers().get(remove.getUser());
        if (before == null) {
            return refused(v, "user '" + remove.getUser() + "' is not a member of project '" + p.getName() + "'");
        }
        if (before == ProjectRole.admin && admins(p) == 1) {
            return refused(v, "user '" + remove.getUser() + "' is the last admin of project '" + p.getName()
                    + "': make someone else admin first");
        }
        Project next = changed(p, cmd);
        next.getMembers().remove(remove.getUser());
        out.add(new Output(Target.PROJECTS, p.getName(), next));
        return v.setAccepted(true).setGeneration(next.getGeneration()).build();
    }

    private static CommandResult setQuota(State s, CommandEnvelope cmd, Project p, SetQuota set, List<Output> out) {
        CommandResult.Builder v = base(cmd);
        if (p.getQuota().equals(set.getQuota())) {
            return v.setAccepted(true).setReason("unchanged").setGeneration(p.getGeneration()).build();
        }
        Optional<String> below = Quotas.below(set.getQuota(), usage(s, p.getName()));
        if (below.isPresent()) {
            return refused(v.setCode(QUOTA_EXCEEDED), below.get());
        }
        Project next = changed(p, cmd);
        next.setQuota(set.getQuota());
        out.add(new Output(Target.PROJECTS, p.getName(), next));
        return v.setAccepted(true).setGeneration(next.getGeneration()).build();
    }

    private static CommandResult createServiceAccount(CommandEnvelope cmd, Project p, CreateServiceAccount create, List<Output> out) {
        CommandResult.Builder v = base(cmd);
        if (p.getServiceAccounts().containsKey(create.getName())) {
            return refused(v, "service account '" + create.getName() + "' already exists in project '" + p.getName()
                    + "': remove it first to issue a new token");
        }
        Project next = changed(p, cmd);
        next.setServiceAccounts(new TreeMap<>(p.getServiceAccounts()));
        next.getServiceAccounts().put(create.getName(), ServiceAccount.newBuilder().setRole(create.getRole()).setTokenId(create.getTokenId())
                .setExpiresMs(create.getExpiresMs()).setCreatedBy(cmd.getActor()).setCreatedMs(cmd.getTimeMs()).build());
        next.getMembers().put(io.clops.api.Names.serviceAccount(p.getName(), create.getName()), create.getRole());
        out.add(new Output(Target.PROJECTS, p.getName(), next));
        return v.setAccepted(true).setGeneration(next.getGeneration()).build();
    }

    private static CommandResult removeServiceAccount(CommandEnvelope cmd, Project p, RemoveServiceAccount remove, List<Output> out) {
        CommandResult.Builder v = base(cmd);
        if (!p.getServiceAccounts().containsKey(remove.getName())) {
            return refused(v, "service account '" + remove.getName() + "' does not exist in project '" + p.getName() + "'");
        }
        Project next = changed(p, cmd);
        next.setServiceAccounts(new TreeMap<>(p.getServiceAccounts()));
        next.getServiceAccounts().remove(remove.getName());
        next.getMembers().remove(io.clops.api.Names.serviceAccount(p.getName(), remove.getName()));
        out.add(new Output(Target.PROJECTS, p.getName(), next));
        return v.setAccepted(true).setGeneration(next.getGeneration()).build();
    }

    /**
     * A member's own Kafka credentials: accepted for a member of the project asking for their own; nothing in the
     * project changes (the API sets the password once accepted, and the audit record says which principal).
     */
    private static CommandResult issueKafkaCredentials(CommandEnvelope cmd, Project p, io.clops.avro.IssueKafkaCredentials issue) {
        CommandResult.Builder v = base(cmd);
        if (!issue.getUser().equals(cmd.getActor())) {
            return refused(v, "Kafka credentials are issued to the member who asks for them: '" + cmd.getActor()
                    + "' asked for '" + issue.getUser() + "'");
        }
        if (!p.getMembers().containsKey(issue.getUser())) {
            return refused(v, "user '" + issue.getUser() + "' has no role in project '" + p.getName() + "'");
        }
        return v.setAccepted(true).setGeneration(p.getGeneration()).build();
    }

    private static Quotas.Usage usage(State s, String project) {
        return Quotas.of(s.deployments(project).stream().map(DesiredDeployment::getSpec).toList());
    }

    private static long admins(Project p) {
        return p.getMembers().values().stream().filter(r -> r == ProjectRole.admin).count();
    }

    /** A copy of the project with the next generation, changed by this command. */
    private static Project changed(Project p, CommandEnvelope cmd) {
        return Project.newBuilder(p).setMembers(new TreeMap<>(p.getMembers())).setGeneration(p.getGeneration() + 1)
                .setCommandId(cmd.getId()).setActor(cmd.getActor()).setTimeMs(cmd.getTimeMs()).build();
    }

    // ---------------------------------------------------------------------------------------------- registry

    public static List<Output> onRegistry(State s, RegistryEvent ev) {
        String fingerprint = fingerprint(ev.getProject() + "/" + ev.getModel(), ev.getPayload());
        Optional<List<Output>> repeat = repeat(s, ev.getId(), ev.getRequestId(), fingerprint, ev.getTimeMs(), base(ev).build());
        if (repeat.isPresent()) {
            return repeat.get();
        }
        List<Output> out = new ArrayList<>();
        CommandResult verdict;
        Optional<ModelState> current = s.model(ev.getProject(), ev.getModel());
        if (s.project(ev.getProject()).isEmpty()) {
            verdict = refused(base(ev), noProject(ev.getProject()));
        } else if (ev.getPayload() instanceof VersionRegistered reg) {
            verdict = register(s, ev, current, reg.getVersion(), out);
        } else if (ev.getPayload() instanceof AliasSet set) {
            verdict = setAlias(s, ev, current, set, out);
        } else if (ev.getPayload() instanceof AliasRemoved removed) {
            verdict = removeAlias(s, ev, current, removed, out);
        } else if (ev.getPayload() instanceof VersionArchived archived) {
            verdict = archive(s, ev, current, archived.getVersion(), out);
        } else {
            verdict = refused(base(ev), "unknown registry event type " + ev.getPayload().getClass().getSimpleName());
        }
        return decided(ev.getId(), fingerprint, ev.getTimeMs(), verdict, out);
    }

    private static CommandResult register(State s, RegistryEvent ev, Optional<ModelState> current, ModelVersion requested,
                                          List<Output> out) {
        ModelState m = current.map(ProjectFold::copy).orElseGet(() -> ModelState.newBuilder().setProject(ev.getProject())
                .setName(ev.getModel()).setVersions(new ArrayList<>()).setAliases(new HashMap<>()).setLatest(0).build());
        int number = requested.getVersion() > 0 ? requested.getVersion() : m.getLatest() + 1;
        CommandResult.Builder v = base(ev).setVersion(number);
        if (ModelRef.entry(m, number).isPresent()) {
            return refused(v, "model '" + ev.getModel() + "' already has version " + number + " in project '"
                    + ev.getProject() + "'; versions are immutable, register a new one");
        }
        ModelVersion version = ModelVersion.newBuilder(requested).setModel(ev.getModel()).setVersion(number).build();
        m.getVersions().add(VersionEntry.newBuilder().setVersion(version).setRegisteredBy(ev.getActor())
                .setTimeMs(ev.getTimeMs()).setEventId(ev.getId()).build());
        m.getVersions().sort(Comparator.comparingInt(e -> e.getVersion().getVersion()));
        m.setLatest(Math.max(m.getLatest(), number));
        changed(s, ev, m, out);
        return v.setAccepted(true).build();
    }

    private static CommandResult setAlias(State s, RegistryEvent ev, Optional<ModelState> current, AliasSet set, List<Output> out) {
        CommandResult.Builder v = base(ev).setVersion(set.getVersion());
        if (current.isEmpty()) {
            return refused(v, notRegistered(ev));
        }
        Optional<VersionEntry> target = ModelRef.entry(current.get(), set.getVersion());
        if (target.isEmpty()) {
            return refused(v, "model '" + ev.getModel() + "' has no version " + set.getVersion() + " in project '" + ev.getProject() + "'");
        }
        if (target.get().getArchived()) {
            return refused(v, "version " + set.getVersion() + " of model '" + ev.getModel() + "' is archived");
        }
        Integer before = current.get().getAliases().get(set.getAlias());
        if (before != null && before == set.getVersion()) {
            return v.setAccepted(true).setReason("unchanged").build();
        }
        ModelState m = copy(current.get());
        m.getAliases().put(set.getAlias(), set.getVersion());
        changed(s, ev, m, out);
        return v.setAccepted(true).build();
    }

    private static CommandResult removeAlias(State s, RegistryEvent ev, Optional<ModelState> current, AliasRemoved removed,
                                             List<Output> out) {
        CommandResult.Builder v = base(ev);
        if (current.isEmpty()) {
            return refused(v, notRegistered(ev));
        }
        Integer before = current.get().getAliases().get(removed.getAlias());
        if (before == null) {
            return refused(v, "model '" + ev.getModel() + "' has no alias '" + removed.getAlias() + "'");
        }
        ModelState m = copy(current.get());
        m.getAliases().remove(removed.getAlias());
        changed(s, ev, m, out);
        return v.setVersion(before).setAccepted(true).build();
    }

    private static CommandResult archive(State s, RegistryEvent ev, Optional<ModelState> current, int number, List<Output> out) {
        CommandResult.Builder v = base(ev).setVersion(number);
        if (current.isEmpty()) {
            return refused(v, notRegistered(ev));
        }
        Optional<VersionEntry> entry = ModelRef.entry(current.get(), number);
        if (entry.isEmpty()) {
            return refused(v, "model '" + ev.getModel() + "' has no version " + number + " in project '" + ev.getProject() + "'");
        }
        if (entry.get().getArchived()) {
            return v.setAccepted(true).setReason("unchanged: already archived").build();
        }
        List<String> users = new ArrayList<>();
        current.get().getAliases().entrySet().stream().filter(a -> a.getValue() == number).map(a -> "alias '" + a.getKey() + "'")
                .sorted().forEach(users::add);
        String key = ev.getModel() + ":" + number;
        s.deployments(ev.getProject()).stream()
                .filter(d -> resolvedVersions(d).stream().anyMatch(r -> r.equals(key) || r.equals("shadow=" + key)))
                .map(d -> "deployment '" + d.getName() + "'").sorted().forEach(users::add);
        if (!users.isEmpty()) {
            return refused(v, "version " + number + " of model '" + ev.getModel() + "' is in use by " + String.join(", ", users)
                    + "; move or remove those first");
        }
        ModelState m = copy(current.get());
        int i = m.getVersions().indexOf(entry.get());
        m.getVersions().set(i, VersionEntry.newBuilder(entry.get()).setArchived(true).setArchivedBy(ev.getActor()).build());
        changed(s, ev, m, out);
        return v.setAccepted(true).build();
    }

    /**
     * Writes the model's new state and re-resolves every deployment of the project that names it: a deployment whose
     * references now resolve to other versions gets a new generation; one whose reference no longer resolves keeps
     * what runs.
     */
    private static void changed(State s, RegistryEvent ev, ModelState m, List<Output> out) {
        out.add(new Output(Target.MODELS, Topics.modelKey(ev.getProject(), ev.getModel()), m));
        State after = withModel(s, m);
        for (DesiredDeployment d : s.deployments(ev.getProject())) {
            if (!references(d.getSpec(), ev.getModel())) {
                continue;
            }
            Resolved r = resolve(after, ev.getProject(), d.getSpec());
            if (r.error() != null || r.versions().equals(resolvedVersions(d))) {
                continue;
            }
            DesiredDeployment next = DesiredDeployment.newBuilder(d).setGeneration(d.getGeneration() + 1)
                    .setRoutes(r.routes()).setShadow(r.shadow()).setCommandId(ev.getId()).setActor(ev.getActor())
                    .setTimeMs(ev.getTimeMs()).build();
            out.add(new Output(Target.DESIRED, Topics.deploymentKey(ev.getProject(), d.getName()), next));
        }
    }

    private static String notRegistered(RegistryEvent ev) {
        return "model '" + ev.getModel() + "' is not registered in project '" + ev.getProject() + "'";
    }

    // ---------------------------------------------------------------------------------------------- resolution

    private record Resolved(List<ResolvedRoute> routes, ResolvedRoute shadow, List<String> versions, String error) {
    }

    private static Resolved resolve(State s, String project, DeploymentSpec spec) {
        List<TrafficSplit> traffic = spec.getTraffic().isEmpty()
                ? List.of(TrafficSplit.newBuilder().setModel(spec.getModel()).setWeight(100).build())
                : spec.getTraffic();
        List<ResolvedRoute> routes = new ArrayList<>();
        for (int i = 0; i < traffic.size(); i++) {
            TrafficSplit t = traffic.get(i);
            String field = spec.getTraffic().isEmpty() ? "spec.model" : "spec.traffic[" + i + "].model";
            ModelRef.Resolution res = resolve(s, project, t.getModel());
            if (res instanceof ModelRef.Missing missing) {
                return new Resolved(null, null, null, field + ": " + missing.reason());
            }
            ModelRef.Found found = (ModelRef.Found) res;
            routes.add(ResolvedRoute.newBuilder().setRef(t.getModel()).setVersion(found.version()).setRegisteredBy(found.registeredBy())
                    .setWeight(t.getWeight()).build());
        }
        ResolvedRoute shadow = null;
        if (spec.getShadow() != null) {
            ModelRef.Resolution res = resolve(s, project, spec.getShadow());
            if (res instanceof ModelRef.Missing missing) {
                return new Resolved(null, null, null, "spec.shadow: " + missing.reason());
            }
            ModelRef.Found found = (ModelRef.Found) res;
            shadow = ResolvedRoute.newBuilder().setRef(spec.getShadow()).setVersion(found.version()).setRegisteredBy(found.registeredBy())
                    .setWeight(0).build();
        }
        return new Resolved(routes, shadow, versions(routes, shadow), null);
    }

    private static ModelRef.Resolution resolve(State s, String project, String ref) {
        ModelRef r = ModelRef.parse(ref);
        return r.resolve(project, s.model(project, r.model()).orElse(null));
    }

    /** model:version of each route, then shadow=model:version: what a deployment runs, to notice when it changes. */
    static List<String> resolvedVersions(DesiredDeployment d) {
        return versions(d.getRoutes(), d.getShadow());
    }

    private static List<String> versions(List<ResolvedRoute> routes, ResolvedRoute shadow) {
        List<String> out = new ArrayList<>();
        routes.forEach(r -> out.add(key(r.getVersion())));
        if (shadow != null) {
            out.add("shadow=" + key(shadow.getVersion()));
        }
        return out;
    }

    private static boolean references(DeploymentSpec spec, String model) {
        if (ModelRef.parse(spec.getModel()).model().equals(model)) {
            return true;
        }
        if (spec.getShadow() != null && ModelRef.parse(spec.getShadow()).model().equals(model)) {
            return true;
        }
        return spec.getTraffic().stream().anyMatch(t -> ModelRef.parse(t.getModel()).model().equals(model));
    }

    private static String key(ModelVersion v) {
        return v.getModel() + ":" + v.getVersion();
    }

    private static State withModel(State s, ModelState m) {
        return new State() {
            @Override
            public Optional<DesiredDeployment> deployment(String project, String name) {
                return s.deployment(project, name);
            }

            @Override
            public List<DesiredDeployment> deployments(String project) {
                return s.deployments(project);
            }

            @Override
            public Optional<ModelState> model(String project, String model) {
                return project.equals(m.getProject()) && model.equals(m.getName()) ? Optional.of(m) : s.model(project, model);
            }

            @Override
            public List<ModelState> models(String project) {
                return s.models(project);
            }

            @Override
            public Optional<Project> project(String name) {
                return s.project(name);
            }

            @Override
            public Optional<SeenCommand> seen(String id) {
                return s.seen(id);
            }
        };
    }

    private static ModelState copy(ModelState m) {
        return ModelState.newBuilder(m).setVersions(new ArrayList<>(m.getVersions())).setAliases(new HashMap<>(m.getAliases())).build();
    }

    // ---------------------------------------------------------------------------------------------- verdicts

    /**
     * The verdict on an id decided before, or empty when it is new. Within the window the same request gets its first
     * verdict again and another request is refused; after it the id is refused whatever it asks: a retry that comes
     * that late must not apply an old request over newer ones.
     */
    private static Optional<List<Output>> repeat(State s, String id, String requestId, String fingerprint, long timeMs,
                                                 CommandResult refusalBase) {
        Optional<SeenCommand> seen = s.seen(id);
        if (seen.isEmpty()) {
            return Optional.empty();
        }
        CommandResult again;
        if (timeMs - seen.get().getTimeMs() > SEEN_RETENTION_MS) {
            again = refused(CommandResult.newBuilder(refusalBase).setCode(Idempotency.KEY_EXPIRED), "id '" + id
                    + "' was first used more than 7 days ago: its answer is no longer kept and it is not applied again;"
                    + " use a new key");
        } else if (seen.get().getFingerprint().equals(fingerprint)) {
            again = CommandResult.newBuilder(seen.get().getResult()).setRequestId(requestId).build();
        } else {
            again = refused(CommandResult.newBuilder(refusalBase).setCode(Idempotency.KEY_REUSED), "id '" + id
                    + "' was already used for another request (an idempotency key names one request): nothing was changed;"
                    + " use a new key");
        }
        return Optional.of(List.of(new Output(Target.COMMAND_RESULTS, resultKey(again), again)));
    }

    private static List<Output> decided(String id, String fingerprint, long timeMs, CommandResult verdict, List<Output> changes) {
        List<Output> out = new ArrayList<>(changes.size() + 2);
        out.add(new Output(Target.COMMAND_RESULTS, resultKey(verdict), verdict));
        out.addAll(changes);
        out.add(new Output(Target.SEEN, id, SeenCommand.newBuilder().setId(id).setFingerprint(fingerprint)
                .setTimeMs(timeMs).setResult(verdict).build()));
        return out;
    }

    /** Verdicts are keyed by the request id that asked, or the command id when there was none. */
    public static String resultKey(CommandResult r) {
        return r.getRequestId() != null ? r.getRequestId() : r.getCommandId();
    }

    private static CommandResult.Builder base(CommandEnvelope cmd) {
        return CommandResult.newBuilder().setCommandId(cmd.getId()).setRequestId(cmd.getRequestId()).setProject(cmd.getProject())
                .setActor(cmd.getActor()).setDeployment("").setAccepted(false).setTimeMs(cmd.getTimeMs());
    }

    private static CommandResult.Builder base(RegistryEvent ev) {
        return CommandResult.newBuilder().setCommandId(ev.getId()).setRequestId(ev.getRequestId()).setProject(ev.getProject())
                .setActor(ev.getActor()).setDeployment("").setModel(ev.getModel()).setAccepted(false).setTimeMs(ev.getTimeMs());
    }

    private static CommandResult refused(CommandResult.Builder b, String reason) {
        return b.setAccepted(false).setReason(reason).setGeneration(0).build();
    }

    private static String deploymentOf(CommandEnvelope cmd) {
        if (cmd.getPayload() instanceof DeployCommand d) {
            return d.getName();
        }
        return cmd.getPayload() instanceof UndeployCommand u ? u.getName() : "";
    }

    static String fingerprint(String where, Object payload) {
        return Idempotency.fingerprint(where, (SpecificRecord) payload);
    }
}
