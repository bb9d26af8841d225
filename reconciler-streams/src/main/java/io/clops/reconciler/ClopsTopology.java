package io.clops.reconciler;

import io.clops.runtime.StatusRules;
import io.clops.avro.ClusterEvent;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.ObservedState;
import io.clops.avro.CommandResult;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.avro.Project;
import io.clops.avro.RegistryEvent;
import io.clops.avro.SeenCommand;
import io.clops.kafka.Topic;
import io.clops.kafka.Topics;
import io.clops.schemas.AvroSerde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The clops topology, as one function of a {@link StreamsBuilder}:
 * <pre>
 * clops.commands (by project) ─ decode ─────────────────────────────┐
 * clops.registry (project/model, partitioned by project) ─ decode ─┴─ fold (stores deployments, models,
 *                                                                        │        commands-seen)
 *                                                                        ├─► clops.command-results (verdicts)
 *                                                                        ├─► clops.models
 *                                                                        └─► clops.desired ─┐
 * clops.cluster (observed objects) ─ decode ─ re-key by deployment ─ repartition ──────────────┴─ status (store
 *                                                                      observed-state) ─► clops.status
 * undecodable records ─► clops.deadletter (with source topic/partition/offset/error headers)
 * </pre>
 * Both inputs are co-partitioned by project and read by the same task, which takes records in timestamp order:
 * a registration acknowledged before a deploy is folded before it. Every stateful operator and store is named, so
 * internal topics keep their names.
 */
public final class ClopsTopology {
    private ClopsTopology() {
    }

    /** The fold's stores: desired deployments (key project/name), models (project/model), decided ids. */
    public static final String DEPLOYMENTS = "deployments";
    public static final String MODELS = "models";
    public static final String SEEN = "commands-seen";
    public static final String OBSERVED = "observed-state";
    public static final String PROJECTS = "projects";
    /** Each project's audit head (key project; {@code seq:hash} of its last record): what its next record chains to. */
    public static final String AUDIT_HEADS = "audit-chain";

    /** An event with the SHA-256 of its bytes as they are in the log (the audit trail records it). */
    record Sourced(Object value, String sha256) {
    }

    public static Topology build(StreamsBuilder builder) {
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DEPLOYMENTS),
                Serdes.String(), AvroSerde.of(DesiredDeployment.class)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(MODELS),
                Serdes.String(), AvroSerde.of(ModelState.class)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SEEN),
                Serdes.String(), AvroSerde.of(SeenCommand.class)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PROJECTS),
                Serdes.String(), AvroSerde.of(Project.class)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(AUDIT_HEADS), Serdes.String(), Serdes.String()));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(OBSERVED),
                Serdes.String(), AvroSerde.of(ObservedState.class)));

        KStream<String, Sourced> commands = decoded(builder, Topics.COMMANDS, "commands");
        KStream<String, Sourced> registry = decoded(builder, Topics.REGISTRY, "registry")
                // clops.registry is partitioned by project (see Topics.partitionFor), so re-keying needs no repartition
                .selectKey((k, v) -> ((RegistryEvent) v.value()).getProject(), Named.as("registry-key-by-project"));

        Map<String, KStream<String, ProjectFold.Output>> outputs = commands.merge(registry, Named.as("project-events"))
                .process(FoldProcessor::new, Named.as("fold"), DEPLOYMENTS, MODELS, SEEN, PROJECTS, AUDIT_HEADS)
                .split(Named.as("fold-"))
                .branch((k, o) -> o.target() == ProjectFold.Target.COMMAND_RESULTS, Branched.as("results"))
                .branch((k, o) -> o.target() == ProjectFold.Target.AUDIT, Branched.as("audit"))
                .branch((k, o) -> o.target() == ProjectFold.Target.MODELS, Branched.as("models"))
                .branch((k, o) -> o.target() == ProjectFold.Target.PROJECTS, Branched.as("projects"))
                .defaultBranch(Branched.as("desired"));

        outputs.get("fold-results")
                .map((k, o) -> KeyValue.pair(o.key(), (CommandResult) o.value()), Named.as("results-unwrap"))
                .to(Topics.COMMAND_RESULTS.name(), Produced.with(Serdes.String(), Topics.COMMAND_RESULTS.valueSerde())
                        .withName("results-sink"));
        outputs.get("fold-audit")
                .map((k, o) -> KeyValue.pair(o.key(), (io.clops.avro.AuditRecord) o.value()), Named.as("audit-unwrap"))
                .to(Topics.AUDIT.name(), Produced.with(Serdes.String(), Topics.AUDIT.valueSerde()).withName("audit-sink"));
        outputs.get("fold-models")
                .map((k, o) -> KeyValue.pair(o.key(), (ModelState) o.value()), Named.as("models-unwrap"))
                .to(Topics.MODELS.name(), Produced.with(Serdes.String(), Topics.MODELS.valueSerde())
                        .withStreamPartitioner(ClopsTopology::byProject).withName("models-sink"));
        outputs.get("fold-projects")
                .map((k, o) -> KeyValue.pair(o.key(), (Project) o.value()), Named.as("projects-unwrap"))
                .to(Topics.PROJECTS.name(), Produced.with(Serdes.String(), Topics.PROJECTS.valueSerde()).withName("projects-sink"));
        KStream<String, DesiredDeployment> desired = outputs.get("fold-desired")
                .map((k, o) -> KeyValue.pair(o.key(), (DesiredDeployment) o.value()), Named.as("desired-unwrap"));
        desired.to(Topics.DESIRED.name(), Produced.with(Serdes.String(), Topics.DESIRED.valueSerde())
                .withStreamPartitioner(ClopsTopology::byProject).withName("desired-sink"));

        // observed objects, keyed by the deployment they belong to and partitioned by project like the rest;
        // compaction tombstones carry nothing (a runtime reports a removal as a Deleted event first)
        KStream<String, Object> observed = builder
                .stream(Topics.CLUSTER.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("cluster-source"))
                .filter((k, v) -> v != null, Named.as("cluster-skip-tombstones"))
                .processValues(() -> new DecodeOrDeadLetter<>(Topics.CLUSTER.valueSerde().deserializer()), Named.as("cluster-decode"))
                .filter((k, d) -> d.ok(), Named.as("cluster-decoded"))
                .map((k, d) -> KeyValue.pair(Topics.deploymentKey(d.value().getNamespace(), d.value().getDeployment()), d.value()),
                        Named.as("cluster-key-by-deployment"))
                .repartition(Repartitioned.with(Serdes.String(), Topics.CLUSTER.valueSerde())
                        .withStreamPartitioner(ClopsTopology::byProject).withName("cluster-by-deployment"))
                .mapValues(v -> (Object) v, Named.as("cluster-as-events"));
        KStream<String, Object> desiredEvents = desired.mapValues(v -> (Object) (v == null ? DESIRED_GONE : v), Named.as("desired-as-events"));
        desiredEvents.merge(observed, Named.as("status-inputs"))
                .process(StatusProcessor::new, Named.as("status"), OBSERVED)
                .to(Topics.STATUS.name(), Produced.with(Serdes.String(), Topics.STATUS.valueSerde()).withName("status-sink"));
        return builder.build();
    }

    /**
     * clops.desired is keyed project/deployment but partitioned by project, like commands and registry: a worker
     * that owns a partition owns whole projects, so two workers never apply the same namespace's objects.
     */
    static Optional<Set<Integer>> byProject(String topic, String key, Object value, int partitions) {
        return Optional.of(Set.of(Topics.partitionFor(key.substring(0, key.indexOf('/')), partitions)));
    }

    private static <T> KStream<String, Sourced> decoded(StreamsBuilder builder, Topic<String, T> topic, String name) {
        Map<String, KStream<String, Decoded<T>>> branches = builder
                .stream(topic.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName(name + "-source"))
                .processValues(() -> new DecodeOrDeadLetter<>(topic.valueSerde().deserializer()), Named.as(name + "-decode"))
                .split(Named.as(name + "-"))
                .branch((k, d) -> d.ok(), Branched.as("ok"))
                .defaultBranch(Branched.as("poison"));
        branches.get(name + "-poison")
                .mapValues(Decoded::raw, Named.as(name + "-poison-raw"))
                .to(Topics.DEADLETTER.name(), Produced.with(Serdes.String(), Serdes.ByteArray()).withName(name + "-deadletter"));
        return branches.get(name + "-ok").mapValues(d -> new Sourced(d.value(), AuditTrail.sha256(d.raw())), Named.as(name + "-value"));
    }

    /** Marks a desired tombstone in the status inputs (a null value would be dropped by the merge's consumers). */
    static final Object DESIRED_GONE = new Object();

    /**
     * Joins a deployment's desired state with what the runtimes observe of it ({@link StatusRules}) and writes its
     * status when that changes; a deployment no longer desired gets a status tombstone.
     */
    static final class StatusProcessor implements Processor<String, Object, String, DeploymentStatus> {
        private ProcessorContext<String, DeploymentStatus> context;
        private KeyValueStore<String, ObservedState> store;

        @Override
        public void init(ProcessorContext<String, DeploymentStatus> context) {
            this.context = context;
            this.store = context.getStateStore(OBSERVED);
        }

        @Override
        public void process(Record<String, Object> record) {
            String key = record.key();
            ObservedState state = store.get(key);
            if (state == null) {
                state = ObservedState.newBuilder().setObjects(new HashMap<>()).build();
            }
            if (record.value() == DESIRED_GONE) {
                state.setDesired(null);
            } else if (record.value() instanceof DesiredDeployment d) {
                state.setDesired(d);
            } else if (record.value() instanceof ClusterEvent e) {
                String object = e.getKind() + "/" + e.getNamespace() + "/" + e.getName();
                if (StatusRules.is(e, io.clops.avro.ObservedPhase.Deleted)) {
                    state.getObjects().remove(object);
                } else {
                    state.getObjects().put(object, e);
                }
            }
            DeploymentStatus next = state.getDesired() == null ? null
                    : StatusRules.compute(state.getDesired(), state.getObjects().values(), record.timestamp());
            boolean changed = !StatusRules.same(state.getStatus(), next);
            state.setStatus(next);
            if (state.getDesired() == null && state.getObjects().isEmpty()) {
                store.delete(key);
            } else {
                store.put(key, state);
            }
            if (changed) {
                context.forward(new Record<>(key, next, record.timestamp()));
            }
        }
    }

    /**
     * Applies {@link ProjectFold} to each command and registry event, reading and writing the fold's stores; a
     * project's records all reach one task (co-partitioned by project), so its stores hold the whole project.
     * Decided ids are kept for good (~200 bytes each): an id older than the idempotency window is refused, which
     * needs it remembered.
     */
    static final class FoldProcessor implements Processor<String, Sourced, String, ProjectFold.Output>, ProjectFold.State {
        private ProcessorContext<String, ProjectFold.Output> context;
        private KeyValueStore<String, String> auditHeads;
        private KeyValueStore<String, DesiredDeployment> deployments;
        private KeyValueStore<String, ModelState> models;
        private KeyValueStore<String, SeenCommand> seen;
        private KeyValueStore<String, Project> projects;

        @Override
        public void init(ProcessorContext<String, ProjectFold.Output> context) {
            this.context = context;
            this.deployments = context.getStateStore(DEPLOYMENTS);
            this.models = context.getStateStore(MODELS);
            this.seen = context.getStateStore(SEEN);
            this.projects = context.getStateStore(PROJECTS);
            this.auditHeads = context.getStateStore(AUDIT_HEADS);

        }

        @Override
        public void process(Record<String, Sourced> record) {
            Object event = record.value().value();
            String project = event instanceof CommandEnvelope c ? c.getProject() : ((RegistryEvent) event).getProject();
            var meta = context.recordMetadata().orElseThrow();
            AuditTrail.Source source = new AuditTrail.Source(meta.topic(), meta.partition(), meta.offset(), record.timestamp(), record.value().sha256());
            List<ProjectFold.Output> outputs = AuditTrail.fold(this, event, source, AuditTrail.Head.parse(auditHeads.get(project)), (target, key) -> switch (target) {
                case DESIRED -> deployments.get(key);
                case MODELS -> models.get(key);
                case PROJECTS -> projects.get(key);
                default -> null;
            });
            for (ProjectFold.Output o : outputs) {
                switch (o.target()) {
                    case DESIRED -> {
                        if (o.value() == null) {
                            deployments.delete(o.key());
                        } else {
                            deployments.put(o.key(), (DesiredDeployment) o.value());
                        }
                        context.forward(record.withValue(o));
                    }
                    case MODELS -> {
                        if (o.value() == null) {
                            models.delete(o.key());
                        } else {
                            models.put(o.key(), (ModelState) o.value());
                        }
                        context.forward(record.withValue(o));
                    }
                    case PROJECTS -> {
                        if (o.value() == null) {
                            projects.delete(o.key());
                        } else {
                            projects.put(o.key(), (Project) o.value());
                        }
                        context.forward(record.withValue(o));
                    }
                    case SEEN -> seen.put(o.key(), (SeenCommand) o.value());
                    case COMMAND_RESULTS -> context.forward(record.withValue(o));
                    case AUDIT -> {
                        auditHeads.put(o.key(), AuditTrail.Head.of((io.clops.avro.AuditRecord) o.value()).text());
                        context.forward(record.withValue(o));
                    }
                }
            }
        }

        @Override
        public Optional<DesiredDeployment> deployment(String project, String name) {
            return Optional.ofNullable(deployments.get(Topics.deploymentKey(project, name)));
        }

        @Override
        public List<DesiredDeployment> deployments(String project) {
            List<DesiredDeployment> out = new ArrayList<>();
            try (KeyValueIterator<String, DesiredDeployment> it = deployments.prefixScan(project + "/", Serdes.String().serializer())) {
                it.forEachRemaining(kv -> out.add(kv.value));
            }
            return out;
        }

        @Override
        public Optional<ModelState> model(String project, String model) {
            return Optional.ofNullable(models.get(Topics.modelKey(project, model)));
        }

        @Override
        public List<ModelState> models(String project) {
            List<ModelState> out = new ArrayList<>();
            try (KeyValueIterator<String, ModelState> it = models.prefixScan(project + "/", Serdes.String().serializer())) {
                it.forEachRemaining(kv -> out.add(kv.value));
            }
            return out;
        }

        @Override
        public Optional<Project> project(String name) {
            return Optional.ofNullable(projects.get(name));
        }

        @Override
        public Optional<SeenCommand> seen(String id) {
            return Optional.ofNullable(seen.get(id));
        }
    }
}
