package io.clops.reconciler;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.avro.Project;
import io.clops.avro.SeenCommand;
import io.clops.kafka.Topics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@link ProjectFold.State} in memory: the fold's state without Kafka, for tests and for replaying the log. Applies
 * the fold's outputs exactly as the topology's processor applies them to its stores.
 */
public final class MemoryState implements ProjectFold.State {
    // by key in order, so that a project's entries are one range (project/ … project0): a replay of a million events
    // asks for a project's deployments often, and must not walk every project's
    private final TreeMap<String, DesiredDeployment> deployments = new TreeMap<>();
    private final TreeMap<String, ModelState> models = new TreeMap<>();
    private final Map<String, SeenCommand> seen = new java.util.HashMap<>();
    private final Map<String, Project> projects = new java.util.HashMap<>();
    private final Map<String, AuditTrail.Head> auditHeads = new java.util.HashMap<>();

    /** Applies what {@link ProjectFold} returned and gives back the verdicts and the records for the topics. */
    public List<ProjectFold.Output> apply(List<ProjectFold.Output> outputs) {
        List<ProjectFold.Output> written = new ArrayList<>();
        for (ProjectFold.Output o : outputs) {
            switch (o.target()) {
                case DESIRED -> {
                    if (o.value() == null) {
                        deployments.remove(o.key());
                    } else {
                        deployments.put(o.key(), (DesiredDeployment) o.value());
                    }
                    written.add(o);
                }
                case MODELS -> {
                    if (o.value() == null) {
                        models.remove(o.key());
                    } else {
                        models.put(o.key(), (ModelState) o.value());
                    }
                    written.add(o);
                }
                case PROJECTS -> {
                    if (o.value() == null) {
                        projects.remove(o.key());
                    } else {
                        projects.put(o.key(), (Project) o.value());
                    }
                    written.add(o);
                }
                case SEEN -> seen.put(o.key(), (SeenCommand) o.value());
                case COMMAND_RESULTS -> written.add(o);
                case AUDIT -> {
                    auditHeads.put(o.key(), AuditTrail.Head.of((io.clops.avro.AuditRecord) o.value()));
                    written.add(o);
                }
            }
        }
        return written;
    }

    /** What the project's next audit record chains to, or null before its first. */
    public AuditTrail.Head auditHead(String project) {
        return auditHeads.get(project);
    }

    /** What a DESIRED, MODELS or PROJECTS key holds now (null: nothing): the audit trail's "before". */
    public Object current(ProjectFold.Target target, String key) {
        return switch (target) {
            case DESIRED -> deployments.get(key);
            case MODELS -> models.get(key);
            case PROJECTS -> projects.get(key);
            default -> null;
        };
    }

    @Override
    public Optional<DesiredDeployment> deployment(String project, String name) {
        return Optional.ofNullable(deployments.get(Topics.deploymentKey(project, name)));
    }

    @Override
    public List<DesiredDeployment> deployments(String project) {
        return List.copyOf(deployments.subMap(project + "/", project + "0").values()); // '0' follows '/'
    }

    @Override
    public Optional<ModelState> model(String project, String model) {
        return Optional.ofNullable(models.get(Topics.modelKey(project, model)));
    }

    @Override
    public List<ModelState> models(String project) {
        return List.copyOf(models.subMap(project + "/", project + "0").values());
    }

    @Override
    public Optional<Project> project(String name) {
        return Optional.ofNullable(projects.get(name));
    }

    /** Every project, by name. */
    public Map<String, Project> projects() {
        return new TreeMap<>(projects);
    }

    @Override
    public Optional<SeenCommand> seen(String id) {
        return Optional.ofNullable(seen.get(id));
    }

    /** Every desired deployment, by key. */
    public Map<String, DesiredDeployment> desired() {
        return Map.copyOf(deployments);
    }

    /** Every model, by key. */
    public Map<String, ModelState> models() {
        return Map.copyOf(models);
    }
}
