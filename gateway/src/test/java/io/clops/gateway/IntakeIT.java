package io.clops.gateway;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.FieldProblem;
import io.clops.kafka.DeadLetterHeaders;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.clops.reconciler.Reconciler;
import io.clops.testing.Await;
import io.clops.testing.Fixtures;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kafka intake on a real broker with the topology running: what a pipeline writing with a plain Kafka client
 * (any partition) sees. kcat's own run is {@code IntakeKcatIT}.
 */
@ExtendWith(KafkaExtension.class)
class IntakeIT {
    static String bootstrap;
    static Reconciler reconciler;
    static Intake intake;
    static KafkaProducer<String, byte[]> producer;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        intake = new Intake(bootstrap, new Principal("pipeline-bot"), Clock.systemUTC()).start();
        producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "a-pipeline"), new StringSerializer(), new ByteArraySerializer());
        try (CommandGateway gateway = new CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofSeconds(30))) {
            for (String p : List.of("in-a", "in-b", "in-c", "in-d", "in-e")) {
                Verdict v = gateway.submit(new Request.CreateProject(p, null, null, io.clops.testing.Fixtures.unlimited()),
                        new Principal("alice"), null);
                assertThat(v.accepted()).as("project %s", p).isTrue();
            }
        }
    }

    @AfterAll
    static void stop() {
        producer.close();
        intake.close();
        reconciler.close();
    }

    /** Writes to a partition other than the one Java's partitioner would pick for the project, as librdkafka may. */
    static void write(String project, String requestId, String idempotencyKey, byte[] value) throws Exception {
        RecordHeaders h = new RecordHeaders();
        if (requestId != null) {
            h.add(Intake.REQUEST_ID, requestId.getBytes(StandardCharsets.UTF_8));
        }
        if (idempotencyKey != null) {
            h.add(Intake.IDEMPOTENCY_KEY, idempotencyKey.getBytes(StandardCharsets.UTF_8));
        }
        int elsewhere = (Topics.partitionFor(project, 3) + 1) % 3;
        producer.send(new ProducerRecord<>(Topics.INTAKE.name(), elsewhere, (String) null, value, h)).get();
    }

    static void write(String project, String requestId, String json) throws Exception {
        write(project, requestId, null, json.getBytes(StandardCharsets.UTF_8));
    }

    static List<CommandResult> verdicts(String requestId) {
        return TopicProbe.readAll(bootstrap, Topics.COMMAND_RESULTS.name(), Topics.COMMAND_RESULTS.keySerde().deserializer(),
                        Topics.COMMAND_RESULTS.valueSerde().deserializer()).stream()
                .filter(r -> requestId.equals(r.key())).map(ConsumerRecord::value).toList();
    }

    static CommandResult awaitVerdict(String requestId) {
        CommandResult[] found = new CommandResult[1];
        Await.until("a verdict keyed " + requestId, () -> {
            List<CommandResult> vs = verdicts(requestId);
            found[0] = vs.isEmpty() ? null : vs.get(0);
            return found[0] != null;
        });
        return found[0];
    }

    /** The commands the intake appended for the project (its principal's; not the test's project creation). */
    static List<ConsumerRecord<String, CommandEnvelope>> commands(String project) {
        return TopicProbe.readAll(bootstrap, Topics.COMMANDS.name(), Topics.COMMANDS.keySerde().deserializer(),
                Topics.COMMANDS.valueSerde().deserializer()).stream().filter(r -> r.value().getProject().equals(project))
                .filter(r -> r.value().getActor().equals("pipeline-bot")).toList();
    }

    static final String REGISTER = "{\"action\":\"register\",\"project\":\"%s\",\"model\":\"iris\",\"version\":{\"command\":[\"serve\"]}}";
    static final String DEPLOY = "{\"action\":\"deploy\",\"project\":\"%s\",\"deployment\":{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris\"}}}";

    @Test
    void aJsonRequestOnAnyPartitionIsAppendedOnItsProjectsPartitionAndAnswered() throws Exception {
        write("in-a", "reg-1", REGISTER.formatted("in-a"));
        CommandResult registered = awaitVerdict("reg-1");
        assertThat(registered.getAccepted()).isTrue();
        assertThat(registered.getVersion()).isEqualTo(1);

        write("in-a", "dep-1", DEPLOY.formatted("in-a"));
        CommandResult deployed = awaitVerdict("dep-1");
        assertThat(deployed.getAccepted()).as(String.valueOf(deployed.getReason())).isTrue();
        assertThat(deployed.getGeneration()).isEqualTo(1);
        assertThat(deployed.getActor()).isEqualTo("pipeline-bot");

        List<ConsumerRecord<String, CommandEnvelope>> cmds = commands("in-a");
        assertThat(cmds).singleElement().satisfies(r -> {
            assertThat(r.partition()).isEqualTo(Topics.partitionFor("in-a", 3));
            assertThat(r.value().getRequestId()).isEqualTo("dep-1");
            assertThat(r.value().getActor()).isEqualTo("pipeline-bot");
        });
    }

    @Test
    void aMalformedRequestIsRefusedNamingEachFieldAndNothingReachesTheLog() throws Exception {
        long commandsBefore = TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name());
        long registryBefore = TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name());
        write("in-b", "bad-1", """
                {"action":"deploy","project":"in-b","deployment":{"metadata":{"name":"Iris"},
                 "spec":{"model":"iris","replicas":{"min":3,"max":1},"mode":"sometimes","colour":"red"}}}""");
        CommandResult refused = awaitVerdict("bad-1");
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getErrors()).extracting(FieldProblem::getField).containsExactlyInAnyOrder(
                "deployment.metadata.name", "deployment.spec.replicas.max", "deployment.spec.mode", "deployment.spec.colour");
        assertThat(refused.getReason()).startsWith("the request is invalid (nothing was changed)");
        assertThat(refused.getProject()).isEqualTo("in-b");
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name())).isEqualTo(commandsBefore);
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name())).isEqualTo(registryBefore);
    }

    @Test
    void unreadableBytesAreDeadLetteredWithTheirProvenanceAndTheNextRequestIsServed() throws Exception {
        byte[] garbage = {0x00, (byte) 0xff, 0x13, 0x37, (byte) 0xc3, 0x28, 0x7b};
        write("in-c", "garbage-1", null, garbage);
        write("in-c", "after-1", "{\"action\":\"undeploy\",\"project\":\"in-c\",\"name\":\"nothing\"}");

        CommandResult after = awaitVerdict("after-1");
        assertThat(after.getAccepted()).isFalse();
        assertThat(after.getReason()).isEqualTo("deployment 'nothing' does not exist in project 'in-c'");
        Optional<ConsumerRecord<byte[], byte[]>> dead = TopicProbe.readAll(bootstrap, Topics.DEADLETTER.name(),
                        Topics.DEADLETTER.keySerde().deserializer(), Topics.DEADLETTER.valueSerde().deserializer()).stream()
                .filter(r -> Arrays.equals(r.value(), garbage)).findFirst();
        assertThat(dead).isPresent();
        assertThat(header(dead.get(), DeadLetterHeaders.TOPIC)).isEqualTo(Topics.INTAKE.name());
        assertThat(header(dead.get(), DeadLetterHeaders.ERROR)).startsWith("neither JSON nor an Avro envelope");
        assertThat(header(dead.get(), Intake.REQUEST_ID)).isEqualTo("garbage-1");
        assertThat(verdicts("garbage-1")).isEmpty();
    }

    @Test
    void anAvroEnvelopeIsTakenAndARetriedIdempotencyKeyIsAppliedOnce() throws Exception {
        write("in-d", "reg-d", REGISTER.formatted("in-d"));
        assertThat(awaitVerdict("reg-d").getAccepted()).isTrue();
        CommandEnvelope avro = CommandEnvelope.newBuilder(Fixtures.deploy("ignored", "in-d", "iris", Fixtures.spec("iris")))
                .setActor("whoever-i-claim").build();
        byte[] bytes = Topics.COMMANDS.valueSerde().serializer().serialize(Topics.INTAKE.name(), avro);
        write("in-d", "avro-1", "release-7", bytes);
        write("in-d", "avro-2", "release-7", bytes);
        CommandResult first = awaitVerdict("avro-1");
        CommandResult retry = awaitVerdict("avro-2");
        assertThat(first.getAccepted()).isTrue();
        assertThat(first.getActor()).as("the gateway sets the actor, not the envelope").isEqualTo("pipeline-bot");
        assertThat(retry.getCommandId()).isEqualTo(first.getCommandId()).isEqualTo("in-d:release-7");
        assertThat(retry.getGeneration()).isEqualTo(first.getGeneration()).isEqualTo(1);
        assertThat(commands("in-d")).hasSize(2).allSatisfy(r -> assertThat(r.value().getId()).isEqualTo("in-d:release-7"));
    }

    @Test
    void headersThatAreNotPrintableKeysAreRefusedByName() throws Exception {
        write("in-e", "hdr-1", "bad key\r\n", "{\"action\":\"undeploy\",\"project\":\"in-e\",\"name\":\"x\"}".getBytes(StandardCharsets.UTF_8));
        CommandResult refused = awaitVerdict("hdr-1");
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getErrors()).extracting(FieldProblem::getField).containsExactly("header " + Intake.IDEMPOTENCY_KEY);
        assertThat(commands("in-e")).isEmpty();
    }

    static String header(ConsumerRecord<?, ?> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
