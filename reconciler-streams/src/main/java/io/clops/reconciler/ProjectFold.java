package io.clops.reconciler;

import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.CommandVerdict;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentRecord;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.avro.ProjectState;
import io.clops.avro.RegisteredModel;
import io.clops.avro.RegistryEvent;
import io.clops.avro.ResolvedRoute;
import io.clops.avro.TrafficSplit;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionRegistered;
import io.clops.kafka.Topics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;

/**
 * The fold of one project, without Kafka: (state, event) → (new state, outputs).
 * <p>
 * Commands deploy and undeploy; registry events register versions and move aliases. Every accepted change of what
 * a deployment runs bumps its generation and emits a fully resolved {@link DesiredDeployment} (or a tombstone);
 * every command gets exactly one {@link CommandResult}. A command id seen before changes nothing and gets its first
 * verdict again.
 */
public final class ProjectFold {
    private ProjectFold() {
    }

    /** How many verdicts a project remembers for de-duplication. */
    static final int RECENT_COMMANDS = 500;

    public enum Target { COMMAND_RESULTS, DESIRED }

    /** One record to write: value null is a tombstone. */
    public record Output(Target target, String key, Object value) {
    }

    public record Step(ProjectState state, List<Output> outputs) {
    }

    public static ProjectState empty(String project) {
        return ProjectState.newBuilder().setProject(project).setDeployments(new HashMap<>())
                .setModels(new HashMap<>()).setRecentCommands(new ArrayList<>()).build();
    }

    public static Step onCommand(ProjectState current, CommandEnvelope cmd) {
        ProjectState s = ProjectState.newBuilder(current).build();
        List<Output> out = new ArrayList<>();
        Optional<CommandVerdict> seen = s.getRecentCommands().stream()
                .filter(v -> v.getCommandId().equals(cmd.getId())).findFirst();
        if (seen.isPresent()) {
            CommandVerdict v = seen.get();
            out.add(result(cmd, v.getDeployment(), v.getAccepted(), v.getReason(), v.getGeneration()));
            return new Step(current, out);
        }
        CommandVerdict verdict;
        if (cmd.getPayload() instanceof DeployCommand deploy) {
            verdict = deploy(s, cmd, deploy, out);
        } else if (cmd.getPayload() instanceof UndeployCommand undeploy) {
            verdict = undeploy(s, cmd, undeploy, out);
        } else {
            verdict = verdict(cmd, "", false, "unknown command type " + cmd.getPayload().getClass().getSimpleName(), 0);
        }
        remember(s, verdict);
        out.add(0, result(cmd, verdict.getDeployment(), verdict.getAccepted(), verdict.getReason(), verdict.getGeneration()));
        return new Step(s, out);
    }

    private static CommandVerdict deploy(ProjectState s, CommandEnvelope cmd, DeployCommand deploy, List<Output> out) {
        String name = deploy.getName();
        Resolved resolved = resolve(s, deploy.getSpec());
        if (resolved.error() != null) {
            return verdict(cmd, name, false, resolved.error(), 0);
        }
        DeploymentRecord existing = s.getDeployments().get(name);
        if (existing != null && existing.getSpec().equals(deploy.getSpec())
                && existing.getResolvedVersions().equals(resolved.versions())) {
            return verdict(cmd, name, true, "unchanged", existing.getGeneration());
        }
        long generation = existing == null ? 1 : existing.getGeneration() + 1;
        DeploymentRecord rec = DeploymentRecord.newBuilder().setName(name).setGeneration(generation)
                .setSpec(deploy.getSpec()).setCommandId(cmd.getId()).setActor(cmd.getActor())
                .setTimeMs(cmd.getTimeMs()).setResolvedVersions(resolved.versions()).build();
        s.getDeployments().put(name, rec);
        out.add(desired(s.getProject(), rec, resolved));
        return verdict(cmd, name, true, null, generation);
    }

    private static CommandVerdict undeploy(ProjectState s, CommandEnvelope cmd, UndeployCommand undeploy, List<Output> out) {
        String name = undeploy.getName();
        DeploymentRecord existing = s.getDeployments().remove(name);
        if (existing == null) {
            return verdict(cmd, name, false, "deployment '" + name + "' does not exist in project '" + s.getProject() + "'", 0);
        }
        out.add(new Output(Target.DESIRED, Topics.deploymentKey(s.getProject(), name), null));
        return verdict(cmd, name, true, null, existing.getGeneration() + 1);
    }

    public static Step onRegistry(ProjectState current, RegistryEvent ev) {
        ProjectState s = ProjectState.newBuilder(current).build();
        RegisteredModel m = s.getModels().computeIfAbsent(ev.getModel(), n -> RegisteredModel.newBuilder()
                .setName(n).setVersions(new HashMap<>()).setAliases(new HashMap<>()).build());
        if (ev.getPayload() instanceof VersionRegistered reg) {
            m.getVersions().putIfAbsent(Integer.toString(reg.getVersion().getVersion()), reg.getVersion());
        } else if (ev.getPayload() instanceof AliasSet set) {
            m.getAliases().put(set.getAlias(), set.getVersion());
        } else if (ev.getPayload() instanceof AliasRemoved removed) {
            m.getAliases().remove(removed.getAlias());
        }
        // re-resolve every deployment that names this model; a reference that no longer resolves keeps what runs
        List<Output> out = new ArrayList<>();
        for (DeploymentRecord d : List.copyOf(s.getDeployments().values())) {
            if (!references(d.getSpec(), ev.getModel())) {
                continue;
            }
            Resolved r = resolve(s, d.getSpec());
            if (r.error() != null || r.versions().equals(d.getResolvedVersions())) {
                continue;
            }
            DeploymentRecord next = DeploymentRecord.newBuilder(d).setGeneration(d.getGeneration() + 1)
                    .setResolvedVersions(r.versions()).setCommandId(ev.getId()).setActor(ev.getActor())
                    .setTimeMs(ev.getTimeMs()).build();
            s.getDeployments().put(d.getName(), next);
            out.add(desired(s.getProject(), next, r));
        }
        return new Step(s, out);
    }

    private record Resolved(List<ResolvedRoute> routes, ResolvedRoute shadow, List<String> versions, String error) {
    }

    private static Resolved resolve(ProjectState s, DeploymentSpec spec) {
        List<TrafficSplit> traffic = spec.getTraffic().isEmpty()
                ? List.of(TrafficSplit.newBuilder().setModel(spec.getModel()).setWeight(100).build())
                : spec.getTraffic();
        List<ResolvedRoute> routes = new ArrayList<>();
        List<String> versions = new ArrayList<>();
        for (int i = 0; i < traffic.size(); i++) {
            TrafficSplit t = traffic.get(i);
            String field = spec.getTraffic().isEmpty() ? "spec.model" : "spec.traffic[" + i + "].model";
            ResolvedRoute route = route(s, t.getModel(), t.getWeight(), field);
            if (route == null) {
                return new Resolved(null, null, null, field + ": " + missing(s, t.getModel()));
            }
            routes.add(route);
            versions.add(key(route.getVersion()));
        }
        ResolvedRoute shadow = null;
        if (spec.getShadow() != null) {
            shadow = route(s, spec.getShadow(), 0, "spec.shadow");
            if (shadow == null) {
                return new Resolved(null, null, null, "spec.shadow: " + missing(s, spec.getShadow()));
            }
            versions.add("shadow=" + key(shadow.getVersion()));
        }
        return new Resolved(routes, shadow, versions, null);
    }

    private static ResolvedRoute route(ProjectState s, String ref, int weight, String field) {
        if (ModelRef.parse(ref).resolve(s) instanceof ModelRef.Found found) {
            return ResolvedRoute.newBuilder().setRef(ref).setVersion(found.version()).setWeight(weight).build();
        }
        return null;
    }

    private static String missing(ProjectState s, String ref) {
        return ((ModelRef.Missing) ModelRef.parse(ref).resolve(s)).reason();
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

    private static Output desired(String project, DeploymentRecord rec, Resolved r) {
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject(project).setName(rec.getName())
                .setGeneration(rec.getGeneration()).setSpec(rec.getSpec()).setRoutes(r.routes()).setShadow(r.shadow())
                .setCommandId(rec.getCommandId()).setActor(rec.getActor()).setTimeMs(rec.getTimeMs()).build();
        return new Output(Target.DESIRED, Topics.deploymentKey(project, rec.getName()), d);
    }

    private static CommandVerdict verdict(CommandEnvelope cmd, String deployment, boolean accepted, String reason, long generation) {
        return CommandVerdict.newBuilder().setCommandId(cmd.getId()).setDeployment(deployment).setAccepted(accepted)
                .setReason(reason).setGeneration(generation).build();
    }

    private static void remember(ProjectState s, CommandVerdict v) {
        List<CommandVerdict> recent = new ArrayList<>(s.getRecentCommands());
        recent.add(v);
        if (recent.size() > RECENT_COMMANDS) {
            recent = new ArrayList<>(recent.subList(recent.size() - RECENT_COMMANDS, recent.size()));
        }
        s.setRecentCommands(recent);
    }

    private static Output result(CommandEnvelope cmd, String deployment, boolean accepted, String reason, long generation) {
        CommandResult r = CommandResult.newBuilder().setCommandId(cmd.getId()).setProject(cmd.getProject())
                .setDeployment(deployment).setAccepted(accepted).setReason(reason).setGeneration(generation)
                .setTimeMs(cmd.getTimeMs()).build();
        return new Output(Target.COMMAND_RESULTS, cmd.getId(), r);
    }
}
