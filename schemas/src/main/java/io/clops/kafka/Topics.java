package io.clops.kafka;

import io.clops.avro.ClusterEvent;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.InferenceEnvelope;
import io.clops.avro.LoginEvent;
import io.clops.avro.ModelState;
import io.clops.avro.Project;
import io.clops.avro.Revocation;
import io.clops.avro.AuditRecord;
import io.clops.avro.RegistryEvent;
import io.clops.schemas.AvroSerde;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

import java.util.List;

/** The topic catalog (ARCHITECTURE.md): every topic clops uses, its key, value and policy. */
public final class Topics {
    private Topics() {
    }

    static final int PARTITIONS = 3;
    private static final Serde<String> KEY = Serdes.String();

    public static final Topic<String, CommandEnvelope> COMMANDS = new Topic<>(
            new TopicSpec("clops.commands", PARTITIONS, "delete", TopicSpec.FOREVER), KEY, AvroSerde.of(CommandEnvelope.class));
    public static final Topic<String, RegistryEvent> REGISTRY = new Topic<>(
            new TopicSpec("clops.registry", PARTITIONS, "delete", TopicSpec.FOREVER), KEY, AvroSerde.of(RegistryEvent.class));
    /**
     * Where pipelines write requests with any Kafka client and any partitioner (JSON or an Avro envelope; headers
     * clops-request-id, clops-idempotency-key). Only the command gateway reads it; kept forever like the log.
     */
    public static final Topic<String, byte[]> INTAKE = new Topic<>(
            new TopicSpec("clops.intake", PARTITIONS, "delete", TopicSpec.FOREVER), KEY, Serdes.ByteArray());
    /** The registry as the fold decided it: one record per model (key project/model, partitioned by project). */
    public static final Topic<String, ModelState> MODELS = new Topic<>(
            new TopicSpec("clops.models", PARTITIONS, "compact", 0), KEY, AvroSerde.of(ModelState.class));
    /** Projects as the fold decided them: members, roles, quota (key project; a tombstone once deleted). */
    public static final Topic<String, Project> PROJECTS = new Topic<>(
            new TopicSpec("clops.projects", PARTITIONS, "compact", 0), KEY, AvroSerde.of(Project.class));
    /** Tokens revoked before their expiry (key token id): every door that checks tokens follows it. */
    public static final Topic<String, Revocation> REVOCATIONS = new Topic<>(
            new TopicSpec("clops.revocations", 1, "compact", 0), KEY, AvroSerde.of(Revocation.class));
    /**
     * The audit trail: one record per event of the log in the order the fold took it (key project, partitioned like
     * the commands), chained by hash per project. Kept forever like the log it describes.
     */
    public static final Topic<String, AuditRecord> AUDIT = new Topic<>(
            new TopicSpec("clops.audit", PARTITIONS, "delete", TopicSpec.FOREVER), KEY, AvroSerde.of(AuditRecord.class));
    /**
     * Every login the API checked (key user, partitioned by it): issued session tokens by id and expiry, refused
     * attempts, with the method and the address. Kept forever like the log: who could act since when.
     */
    public static final Topic<String, LoginEvent> LOGINS = new Topic<>(
            new TopicSpec("clops.logins", PARTITIONS, "delete", TopicSpec.FOREVER), KEY, AvroSerde.of(LoginEvent.class));
    public static final Topic<String, ClusterEvent> CLUSTER = new Topic<>(
            new TopicSpec("clops.cluster", PARTITIONS, "compact", 0), KEY, AvroSerde.of(ClusterEvent.class));
    public static final Topic<String, CommandResult> COMMAND_RESULTS = new Topic<>(
            new TopicSpec("clops.command-results", PARTITIONS, "delete", TopicSpec.DAYS_7), KEY, AvroSerde.of(CommandResult.class));
    public static final Topic<String, DesiredDeployment> DESIRED = new Topic<>(
            new TopicSpec("clops.desired", PARTITIONS, "compact", 0), KEY, AvroSerde.of(DesiredDeployment.class));
    public static final Topic<String, DeploymentStatus> STATUS = new Topic<>(
            new TopicSpec("clops.status", PARTITIONS, "compact", 0), KEY, AvroSerde.of(DeploymentStatus.class));
    public static final Topic<String, String> SCHEMAS = new Topic<>(
            new TopicSpec("clops.schemas", 1, "compact", 0), KEY, Serdes.String());
    public static final Topic<byte[], byte[]> DEADLETTER = new Topic<>(
            new TopicSpec("clops.deadletter", 1, "delete", TopicSpec.DAYS_7), Serdes.ByteArray(), Serdes.ByteArray());

    /** Every fixed topic, created at start-up. */
    public static final List<TopicSpec> ALL = List.of(COMMANDS.spec(), REGISTRY.spec(), CLUSTER.spec(),
            COMMAND_RESULTS.spec(), DESIRED.spec(), STATUS.spec(), SCHEMAS.spec(), DEADLETTER.spec(), INTAKE.spec(), MODELS.spec(), PROJECTS.spec(), REVOCATIONS.spec(), AUDIT.spec(), LOGINS.spec());

    /** What every topic of a project's deployments starts with (requests, answers, callers' reply-to topics). */
    public static String inferPrefix(String project) {
        return "clops.infer." + project + ".";
    }

    /** Async inference request topic of one deployment: keyed by request id, OIP v2 JSON or an Avro envelope. */
    public static Topic<String, byte[]> inferRequests(String project, String deployment) {
        return new Topic<>(new TopicSpec(inferPrefix(project) + deployment + ".requests", PARTITIONS, "delete",
                TopicSpec.DAYS_7), KEY, Serdes.ByteArray());
    }

    public static Topic<String, byte[]> inferResponses(String project, String deployment) {
        return new Topic<>(new TopicSpec(inferPrefix(project) + deployment + ".responses", PARTITIONS, "delete",
                TopicSpec.DAYS_7), KEY, Serdes.ByteArray());
    }

    /** What the consumer groups of a project's executors start with: {@code clops.executor.<project>.<deployment>}. */
    public static String executorGroupPrefix(String project) {
        return "clops.executor." + project + ".";
    }

    /** What the consumer groups of a project's members' apps start with (their Kafka credentials may use no other). */
    public static String memberGroupPrefix(String project) {
        return project + ".";
    }

    /** Whether {@code topic} is one of {@code project}'s own: its deployments' topics, its inference log, its members. */
    public static boolean ofProject(String project, String topic) {
        return topic.startsWith(inferPrefix(project)) || topic.equals(inferenceLog(project).name()) || topic.equals(projectMembers(project).name());
    }

    /** Whether consumer group {@code group} is one of {@code project}'s: its executors' or its members' apps'. */
    public static boolean groupOfProject(String project, String group) {
        return group.startsWith(executorGroupPrefix(project)) || group.startsWith(memberGroupPrefix(project));
    }

    /**
     * One project's inference log: request/response records of its deployments (key project/deployment, JSON), one
     * topic per project so that the project's own Kafka credentials can read its records and no other project's
     * ({@link KafkaAccess}). Its executors create it.
     */
    public static Topic<String, byte[]> inferenceLog(String project) {
        return new Topic<>(new TopicSpec("clops.inference-log." + project, PARTITIONS, "delete", TopicSpec.DAYS_7), KEY, Serdes.ByteArray());
    }

    /**
     * One project's record (members, roles, quota) for its executors: key the project, one record, a tombstone once
     * the project is deleted. The worker that owns the project publishes it from clops.projects, so that a project's
     * executors follow their own project's members and read no other project's ({@link KafkaAccess}).
     */
    public static Topic<String, Project> projectMembers(String project) {
        return new Topic<>(new TopicSpec("clops.members." + project, 1, "compact", 0), KEY, PROJECTS.valueSerde());
    }

    /** Envelope serde for async inference topics (values are bytes: JSON or this envelope). */
    public static final AvroSerde<InferenceEnvelope> INFERENCE_ENVELOPE = AvroSerde.of(InferenceEnvelope.class);

    /** Key of a deployment in clops.desired and clops.status. */
    public static String deploymentKey(String project, String deployment) {
        return project + "/" + deployment;
    }

    /**
     * The partition the default partitioner gives a String key: clops.registry uses it with the project, so a
     * project's registry events share a partition number with its commands (co-partitioned by project).
     */
    public static int partitionFor(String key, int partitions) {
        return org.apache.kafka.common.utils.Utils.toPositive(
                org.apache.kafka.common.utils.Utils.murmur2(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))) % partitions;
    }

    /** Key of a model in clops.registry. */
    public static String modelKey(String project, String model) {
        return project + "/" + model;
    }
}
