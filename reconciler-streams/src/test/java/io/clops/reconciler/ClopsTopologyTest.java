package io.clops.reconciler;

import io.clops.avro.ClusterEvent;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.CommandResult;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.Topics;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static io.clops.testing.Fixtures.alias;
import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.undeploy;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

class ClopsTopologyTest {
    private TopologyTestDriver driver;
    private TestInputTopic<String, CommandEnvelope> commands;
    private TestInputTopic<String, RegistryEvent> registry;
    private TestInputTopic<String, byte[]> rawCommands;
    private TestOutputTopic<String, CommandResult> results;
    private TestOutputTopic<String, DesiredDeployment> desired;
    private TestOutputTopic<String, byte[]> deadletter;
    private TestInputTopic<String, ClusterEvent> cluster;
    private TestOutputTopic<String, DeploymentStatus> status;

    @BeforeEach
    void setUp() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "clops-reconciler-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/clops-ttd-" + System.nanoTime());
        driver = new TopologyTestDriver(ClopsTopology.build(new StreamsBuilder()), props);
        commands = driver.createInputTopic(Topics.COMMANDS.name(), Serdes.String().serializer(), Topics.COMMANDS.valueSerde().serializer());
        rawCommands = driver.createInputTopic(Topics.COMMANDS.name(), Serdes.String().serializer(), Serdes.ByteArray().serializer());
        registry = driver.createInputTopic(Topics.REGISTRY.name(), Serdes.String().serializer(), Topics.REGISTRY.valueSerde().serializer());
        results = driver.createOutputTopic(Topics.COMMAND_RESULTS.name(), Serdes.String().deserializer(), Topics.COMMAND_RESULTS.valueSerde().deserializer());
        desired = driver.createOutputTopic(Topics.DESIRED.name(), Serdes.String().deserializer(), Topics.DESIRED.valueSerde().deserializer());
        deadletter = driver.createOutputTopic(Topics.DEADLETTER.name(), Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        cluster = driver.createInputTopic(Topics.CLUSTER.name(), Serdes.String().serializer(), Topics.CLUSTER.valueSerde().serializer());
        status = driver.createOutputTopic(Topics.STATUS.name(), Serdes.String().deserializer(), Topics.STATUS.valueSerde().deserializer());
        for (String p : List.of("demo", "other")) {
            commands.pipeInput(p, io.clops.testing.Fixtures.createProject("create-" + p, p));
        }
        assertThat(results.readValuesToList()).as("the projects the tests work in").allMatch(CommandResult::getAccepted).hasSize(2);
    }

    private void observe(String kind, String name, long generation, String phase, int ready, String reason) {
        cluster.pipeInput(kind + "/demo/" + name, ClusterEvent.newBuilder().setKind(kind).setNamespace("demo").setName(name)
                .setDeployment("iris").setGeneration(generation).setPhase(phase).setReadyReplicas(ready).setReason(reason)
                .setEndpoint(kind.equals("Applied") ? "http://iris.demo" : null).setTimeMs(1).build());
    }

    private DeploymentStatus lastStatus() {
        List<TestRecord<String, DeploymentStatus>> all = status.readRecordsToList();
        assertThat(all).isNotEmpty();
        return all.get(all.size() - 1).value();
    }

    @Test
    void statusJoinsTheDesiredStateWithWhatTheRuntimeObserves() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));
        assertThat(lastStatus().getReason()).isEqualTo("waiting for a worker to apply generation 1");

        observe("Applied", "iris", 1, "kubernetes", 0, null);
        observe("Deployment", "iris", 0, "Serving", 0, null);
        DeploymentStatus pending = lastStatus();
        assertThat(pending.getPhase()).isEqualTo("Pending");
        assertThat(pending.getReason()).isEqualTo("iris: 0 of 1 replicas ready");
        assertThat(pending.getObservedGeneration()).isEqualTo(1);
        assertThat(pending.getEndpoint()).isEqualTo("http://iris.demo");

        observe("Pod", "iris-x1", 0, "Pending", 0, "model ImagePullBackOff");
        DeploymentStatus failed = lastStatus();
        assertThat(failed.getPhase()).isEqualTo("Failed");
        assertThat(failed.getReason()).isEqualTo("pod iris-x1: model ImagePullBackOff");
        observe("Pod", "iris-x1", 0, "Deleted", 0, null);
        observe("Deployment", "iris", 0, "Serving", 1, null);
        assertThat(lastStatus().getPhase()).isEqualTo("Ready");
        observe("Deployment", "iris", 0, "Serving", 1, null);
        assertThat(status.isEmpty()).as("no status written when nothing changed").isTrue();

        // a new generation is Pending until the runtime applied it
        registry.pipeInput("demo/iris", alias("r4", "demo", "iris", "champion", 2));
        assertThat(lastStatus().getReason()).isEqualTo("rolling out generation 2");
        observe("Applied", "iris", 2, "kubernetes", 0, null);
        DeploymentStatus ready = lastStatus();
        assertThat(ready.getPhase()).isEqualTo("Ready");
        assertThat(ready.getObservedGeneration()).isEqualTo(2);

        commands.pipeInput("demo", undeploy("c2", "demo", "iris"));
        List<TestRecord<String, DeploymentStatus>> gone = status.readRecordsToList();
        assertThat(gone.get(gone.size() - 1).key()).isEqualTo("demo/iris");
        assertThat(gone.get(gone.size() - 1).value()).as("status tombstone").isNull();
    }

    @Test
    void aRuntimeThatCannotApplySaysWhy() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));
        observe("Applied", "iris", 1, "kubernetes", 0, "model iris:1 has no image; the Kubernetes runtime needs one");
        DeploymentStatus failed = lastStatus();
        assertThat(failed.getPhase()).isEqualTo("Failed");
        assertThat(failed.getReason()).contains("has no image");
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    /** Registers iris 1 and 2 and points champion at 1; reads their three verdicts off clops.command-results. */
    private void registerIris() {
        registry.pipeInput("demo/iris", registered("r1", "demo", version("iris", 1, List.of("java", "Iris"))));
        registry.pipeInput("demo/iris", registered("r2", "demo", version("iris", 2, List.of("java", "Iris2"))));
        registry.pipeInput("demo/iris", alias("r3", "demo", "iris", "champion", 1));
        assertThat(results.readValuesToList()).extracting(CommandResult::getCommandId, CommandResult::getAccepted)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("r1", true), org.assertj.core.groups.Tuple.tuple("r2", true),
                        org.assertj.core.groups.Tuple.tuple("r3", true));
    }

    @Test
    void registryEventsGetVerdictsAndTheModelsStateIsPublished() {
        registerIris();
        var models = driver.createOutputTopic(Topics.MODELS.name(), Serdes.String().deserializer(), Topics.MODELS.valueSerde().deserializer());
        List<TestRecord<String, io.clops.avro.ModelState>> states = models.readRecordsToList();
        assertThat(states).hasSize(3).allSatisfy(r -> assertThat(r.key()).isEqualTo("demo/iris"));
        io.clops.avro.ModelState last = states.get(2).value();
        assertThat(last.getVersions()).extracting(e -> e.getVersion().getVersion()).containsExactly(1, 2);
        assertThat(last.getAliases()).containsEntry("champion", 1);

        registry.pipeInput("demo/iris", alias("r4", "demo", "iris", "canary", 7));
        CommandResult refused = results.readValue();
        assertThat(refused.getCommandId()).isEqualTo("r4");
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getReason()).isEqualTo("model 'iris' has no version 7 in project 'demo'");
        assertThat(models.isEmpty()).as("a refusal changes no model").isTrue();
    }

    @Test
    void deployResolvesAnAliasAndIsAccepted() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));

        CommandResult r = results.readValue();
        assertThat(r.getCommandId()).isEqualTo("c1");
        assertThat(r.getAccepted()).isTrue();
        assertThat(r.getGeneration()).isEqualTo(1);
        var rec = desired.readRecord();
        assertThat(rec.key()).isEqualTo("demo/iris");
        assertThat(rec.value().getRoutes()).hasSize(1);
        assertThat(rec.value().getRoutes().get(0).getVersion().getVersion()).isEqualTo(1);
        assertThat(rec.value().getActor()).isEqualTo("alice");
    }

    @Test
    void unknownModelOrAliasIsRefusedWithAReasonAndNothingDesired() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "x", spec("iris@canary")));
        commands.pipeInput("demo", deploy("c2", "demo", "y", spec("resnet")));
        commands.pipeInput("demo", deploy("c3", "demo", "z", spec("iris:9")));

        Map<String, CommandResult> byId = results.readKeyValuesToMap();
        assertThat(byId.get("c1").getAccepted()).isFalse();
        assertThat(byId.get("c1").getReason()).isEqualTo("spec.model: model 'iris' has no alias 'canary'");
        assertThat(byId.get("c2").getReason()).contains("model 'resnet' is not registered in project 'demo'");
        assertThat(byId.get("c3").getReason()).contains("has no version 9");
        assertThat(desired.isEmpty()).isTrue();
    }

    @Test
    void sameSpecAgainIsUnchangedAndARepeatedCommandIdChangesNothing() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));
        commands.pipeInput("demo", deploy("c2", "demo", "iris", spec("iris@champion")));
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion"))); // replayed: the first verdict
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris:2"))); // replayed id, other payload: refused
        List<CommandResult> rs = results.readValuesToList();
        assertThat(rs).extracting(CommandResult::getCommandId).containsExactly("c1", "c2", "c1", "c1");
        assertThat(rs.get(1).getReason()).isEqualTo("unchanged");
        assertThat(rs.get(2)).isEqualTo(rs.get(0));
        assertThat(rs.get(3).getAccepted()).isFalse();
        assertThat(rs.get(3).getReason()).startsWith("id 'c1' was already used for another request");
        assertThat(desired.readValuesToList()).hasSize(1);
    }

    @Test
    void movingAnAliasRollsTheDeploymentToANewGeneration() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));
        desired.readValue();
        registry.pipeInput("demo/iris", alias("r4", "demo", "iris", "champion", 2));

        DesiredDeployment d = desired.readValue();
        assertThat(d.getGeneration()).isEqualTo(2);
        assertThat(d.getRoutes().get(0).getVersion().getVersion()).isEqualTo(2);
        assertThat(d.getCommandId()).isEqualTo("r4");
        assertThat(d.getActor()).isEqualTo("bob");
    }

    @Test
    void undeployWritesATombstoneAndUnknownUndeployIsRefused() {
        registerIris();
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));
        commands.pipeInput("demo", undeploy("c2", "demo", "iris"));
        commands.pipeInput("demo", undeploy("c3", "demo", "iris"));

        List<TestRecord<String, DesiredDeployment>> ds = desired.readRecordsToList();
        assertThat(ds).hasSize(2);
        assertThat(ds.get(1).key()).isEqualTo("demo/iris");
        assertThat(ds.get(1).value()).isNull();
        Map<String, CommandResult> byId = results.readKeyValuesToMap();
        assertThat(byId.get("c2").getAccepted()).isTrue();
        assertThat(byId.get("c3").getAccepted()).isFalse();
        assertThat(byId.get("c3").getReason()).isEqualTo("deployment 'iris' does not exist in project 'demo'");
    }

    @Test
    void projectsAreIndependent() {
        registerIris();
        commands.pipeInput("other", deploy("c1", "other", "iris", spec("iris@champion")));
        assertThat(results.readValue().getReason()).contains("not registered in project 'other'");
    }

    @Test
    void aPoisonRecordGoesToTheDeadLetterTopicAndThePipelineGoesOn() {
        registerIris();
        rawCommands.pipeInput("demo", "{\"this is\": \"not avro\"}".getBytes(StandardCharsets.UTF_8));
        commands.pipeInput("demo", deploy("c1", "demo", "iris", spec("iris@champion")));

        TestRecord<String, byte[]> dead = deadletter.readRecord();
        assertThat(new String(dead.value(), StandardCharsets.UTF_8)).isEqualTo("{\"this is\": \"not avro\"}");
        assertThat(header(dead, "clops.dlq.topic")).isEqualTo("clops.commands");
        assertThat(header(dead, "clops.dlq.offset")).as("after the two project creations of setUp").isEqualTo("2");
        assertThat(header(dead, "clops.dlq.error")).contains("CommandEnvelope");
        assertThat(results.readValue().getAccepted()).isTrue();
    }

    @Test
    void theTopologyReadsTheLogAndNeverWritesIt() {
        java.util.Set<String> sinks = new java.util.TreeSet<>();
        java.util.Set<String> sources = new java.util.TreeSet<>();
        for (var sub : ClopsTopology.build(new StreamsBuilder()).describe().subtopologies()) {
            for (var node : sub.nodes()) {
                if (node instanceof org.apache.kafka.streams.TopologyDescription.Sink sink) {
                    sinks.add(sink.topic());
                } else if (node instanceof org.apache.kafka.streams.TopologyDescription.Source source) {
                    sources.addAll(source.topicSet());
                }
            }
        }
        assertThat(sources).contains(Topics.COMMANDS.name(), Topics.REGISTRY.name());
        assertThat(sinks).contains(Topics.COMMAND_RESULTS.name(), Topics.DESIRED.name(), Topics.MODELS.name())
                .doesNotContain(Topics.COMMANDS.name(), Topics.REGISTRY.name());
    }

    private static String header(TestRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
