package io.clops.reconciler;

import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.AuditRecord;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeleteProject;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.avro.ProjectQuota;
import io.clops.avro.RegistryEvent;
import io.clops.avro.Replicas;
import io.clops.avro.SetQuota;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionArchived;
import io.clops.avro.VersionRegistered;
import io.clops.kafka.Topics;
import io.clops.testing.Fixtures;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replay is the live fold: for 1,000 random sequences of commands and registry events (deploys, scales, undeploys,
 * quotas, a project deleted and created again; versions registered and archived, aliases moved and removed; ids
 * repeated with the same or another payload), the desired table and the models the live topology writes equal a
 * from-scratch {@link Replay}, and a replay at a moment T equals the live tables as they were at T.
 */
class ReplayPropertyTest {
    static final int SEQUENCES = 1_000;

    @Test
    void theLiveTablesEqualAReplayAndAReplayAtTEqualsTheLiveTablesAtT() {
        long seed = Long.getLong("clops.replay.seed", System.nanoTime());
        Random random = new Random(seed);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "clops-replay-property");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/clops-replay-" + System.nanoTime());
        long events = 0;
        int comparedAtT = 0;
        int deploying = 0; // sequences whose desired table was ever non-empty: the generator does more than get refused
        int generations = 0; // deployments that reached a generation above 1 (a change of what runs)
        try (TopologyTestDriver driver = new TopologyTestDriver(ClopsTopology.build(new StreamsBuilder()), props)) {
            TestInputTopic<String, CommandEnvelope> commands = driver.createInputTopic(Topics.COMMANDS.name(), Serdes.String().serializer(),
                    Topics.COMMANDS.valueSerde().serializer());
            TestInputTopic<String, RegistryEvent> registry = driver.createInputTopic(Topics.REGISTRY.name(), Serdes.String().serializer(),
                    Topics.REGISTRY.valueSerde().serializer());
            TestOutputTopic<String, DesiredDeployment> desired = driver.createOutputTopic(Topics.DESIRED.name(), Serdes.String().deserializer(),
                    Topics.DESIRED.valueSerde().deserializer());
            TestOutputTopic<String, ModelState> models = driver.createOutputTopic(Topics.MODELS.name(), Serdes.String().deserializer(),
                    Topics.MODELS.valueSerde().deserializer());
            TestOutputTopic<String, AuditRecord> audit = driver.createOutputTopic(Topics.AUDIT.name(), Serdes.String().deserializer(),
                    Topics.AUDIT.valueSerde().deserializer());
            Map<String, Long> offsets = new TreeMap<>(); // the driver's: one partition per topic, from 0
            for (int n = 0; n < SEQUENCES; n++) {
                String project = "p" + n; // projects share nothing: one driver serves every sequence
                List<Replay.Event> sequence = new ArrayList<>();
                for (Replay.Event e : sequence(random, project, 1_000_000L * n)) {
                    long offset = offsets.merge(e.topic(), 1L, Long::sum) - 1;
                    sequence.add(new Replay.Event(e.topic(), 0, offset, e.timestampMs(), e.value(), e.sha256()));
                }
                Map<String, DesiredDeployment> liveDesired = new TreeMap<>();
                Map<String, ModelState> liveModels = new TreeMap<>();
                List<Snapshot> snapshots = new ArrayList<>();
                for (Replay.Event e : sequence) {
                    if (e.value() instanceof CommandEnvelope c) {
                        commands.pipeInput(c.getProject(), c, e.timestampMs());
                    } else {
                        RegistryEvent r = (RegistryEvent) e.value();
                        registry.pipeInput(Topics.modelKey(r.getProject(), r.getModel()), r, e.timestampMs());
                    }
                    fold(desired.readRecordsToList(), liveDesired);
                    fold(models.readRecordsToList(), liveModels);
                    snapshots.add(new Snapshot(e.timestampMs(), new TreeMap<>(liveDesired), new TreeMap<>(liveModels)));
                }
                deploying += snapshots.stream().anyMatch(s -> !s.desired().isEmpty()) ? 1 : 0;
                generations += (int) liveDesired.values().stream().filter(d -> d.getGeneration() > 1).count();
                events += sequence.size();
                List<AuditRecord> replayedAudit = new ArrayList<>();
                MemoryState replayed = Replay.fold(sequence.iterator(), Long.MAX_VALUE, (e, out) -> out.stream()
                        .filter(o -> o.target() == ProjectFold.Target.AUDIT).forEach(o -> replayedAudit.add((AuditRecord) o.value())));
                List<AuditRecord> liveAudit = audit.readValuesToList();
                assertThat(replayedAudit).as("seed %d, sequence %d: the audit trail", seed, n).isEqualTo(liveAudit).hasSize(sequence.size());
                assertThat(liveAudit).allMatch(AuditTrail::intact);
                for (int i = 1; i < liveAudit.size(); i++) {
                    assertThat(liveAudit.get(i).getPrevHash()).isEqualTo(liveAudit.get(i - 1).getHash());
                }
                assertThat(replayed.desired()).as("seed %d, sequence %d: the desired table", seed, n).isEqualTo(liveDesired);
                assertThat(replayed.models()).as("seed %d, sequence %d: the models", seed, n).isEqualTo(liveModels);
                for (int k = 0; k < 3; k++) { // at moments between events, and at an event's own millisecond
                    Snapshot s = snapshots.get(random.nextInt(snapshots.size()));
                    long at = s.atMs() + (random.nextBoolean() ? 0 : 1); // the next event is at least 2 ms later
                    MemoryState then = Replay.fold(sequence.iterator(), at);
                    assertThat(then.desired()).as("seed %d, sequence %d: the desired table at %d", seed, n, at).isEqualTo(s.desired());
                    assertThat(then.models()).as("seed %d, sequence %d: the models at %d", seed, n, at).isEqualTo(s.models());
                    comparedAtT++;
                }
                MemoryState before = Replay.fold(sequence.iterator(), sequence.get(0).timestampMs() - 1);
                assertThat(before.desired()).as("before the first event").isEmpty();
            }
        }
        System.out.printf("replay property: %d sequences, %d events, %d comparisons at a moment T, %d sequences deployed something, "
                + "%d deployments past generation 1 (seed %d)%n", SEQUENCES, events, comparedAtT, deploying, generations, seed);
        assertThat(events).as("events generated").isGreaterThan(SEQUENCES * 5L);
        assertThat(deploying).as("sequences that deployed something").isGreaterThan(SEQUENCES / 3);
        assertThat(generations).as("deployments changed after their first generation").isGreaterThan(SEQUENCES / 10);
    }

    record Snapshot(long atMs, Map<String, DesiredDeployment> desired, Map<String, ModelState> models) {
    }

    static <V> void fold(List<TestRecord<String, V>> records, Map<String, V> table) {
        for (TestRecord<String, V> r : records) {
            if (r.value() == null) {
                table.remove(r.key());
            } else {
                table.put(r.key(), r.value());
            }
        }
    }

    /** A random life of one project: what users and pipelines do, valid or not, timestamps 2–40 ms apart. */
    static List<Replay.Event> sequence(Random random, String project, long start) {
        List<Replay.Event> out = new ArrayList<>();
        List<Object> sent = new ArrayList<>();
        long[] t = {start};
        java.util.function.Consumer<Object> add = v -> {
            t[0] += 2 + random.nextInt(39);
            Object value = v instanceof CommandEnvelope c ? CommandEnvelope.newBuilder(c).setTimeMs(t[0]).build()
                    : RegistryEvent.newBuilder((RegistryEvent) v).setTimeMs(t[0]).build();
            sent.add(value);
            byte[] bytes = value instanceof CommandEnvelope c ? Topics.COMMANDS.valueSerde().serializer().serialize(Topics.COMMANDS.name(), c)
                    : Topics.REGISTRY.valueSerde().serializer().serialize(Topics.REGISTRY.name(), (RegistryEvent) value);
            String topic = value instanceof CommandEnvelope ? Topics.COMMANDS.name() : Topics.REGISTRY.name();
            out.add(new Replay.Event(topic, 0, -1, t[0], value, AuditTrail.sha256(bytes))); // the offset is the driver's, given when piped
        };
        if (random.nextInt(20) > 0) { // now and then a project that was never created: every command refused
            add.accept(Fixtures.createProject(project + "-create", project));
        }
        for (String model : List.of("m0", "m1")) { // most projects start with a model to deploy
            if (random.nextInt(5) > 0) {
                add.accept(Fixtures.registered(project + "-" + model, project, Fixtures.version(model, 0, List.of("python3", "-m", model))));
                if (random.nextBoolean()) {
                    add.accept(registry(project + "-" + model + "-champion", project, model, AliasSet.newBuilder().setAlias("champion").setVersion(1).build()));
                }
            }
        }
        int length = 4 + random.nextInt(22);
        for (int i = 0; i < length; i++) {
            String id = project + "-" + i;
            String model = "m" + random.nextInt(2);
            String name = "d" + random.nextInt(3);
            switch (random.nextInt(13)) {
                case 0, 1 -> add.accept(Fixtures.registered(id, project, Fixtures.version(model, random.nextInt(4) == 0 ? 1 + random.nextInt(3) : 0,
                        List.of("python3", "-m", model))));
                case 2, 3 -> add.accept(registry(id, project, model, AliasSet.newBuilder().setAlias(random.nextBoolean() ? "champion" : "canary")
                        .setVersion(1 + random.nextInt(3)).build()));
                case 4 -> add.accept(registry(id, project, model, AliasRemoved.newBuilder().setAlias("champion").build()));
                case 5 -> add.accept(registry(id, project, model, VersionArchived.newBuilder().setVersion(1 + random.nextInt(3)).build()));
                case 6, 7, 8 -> add.accept(command(id, project, DeployCommand.newBuilder().setName(name).setSpec(spec(random, model)).build()));
                case 9 -> add.accept(command(id, project, UndeployCommand.newBuilder().setName(name).build()));
                case 10 -> add.accept(command(id, project, SetQuota.newBuilder().setQuota(ProjectQuota.newBuilder().setGpu(new TreeMap<>())
                        .setReplicas(random.nextBoolean() ? null : 1 + random.nextInt(6)).setDeployments(random.nextBoolean() ? null : 1 + random.nextInt(3))
                        .build()).build()));
                case 11 -> { // a retry: the same id and payload (the first verdict again), or the same id with another payload (refused)
                    if (!sent.isEmpty()) {
                        Object again = sent.get(random.nextInt(sent.size()));
                        if (random.nextBoolean() && again instanceof CommandEnvelope c && c.getPayload() instanceof DeployCommand d) {
                            again = CommandEnvelope.newBuilder(c).setPayload(DeployCommand.newBuilder(d).setSpec(spec(random, "m0")).build()).build();
                        }
                        add.accept(again);
                    }
                }
                default -> {
                    if (random.nextInt(4) == 0) { // deleted, and perhaps created again
                        add.accept(command(id, project, DeleteProject.newBuilder().build()));
                        if (random.nextBoolean()) {
                            add.accept(Fixtures.createProject(id + "-again", project));
                        }
                    } else {
                        add.accept(command(id, project, DeployCommand.newBuilder().setName(name).setSpec(spec(random, model))
                                .setExpectedGeneration((long) random.nextInt(3)).build()));
                    }
                }
            }
        }
        return out;
    }

    static DeploymentSpec spec(Random random, String model) {
        String ref = switch (random.nextInt(4)) {
            case 0 -> model + "@champion";
            case 1 -> model + "@canary";
            case 2 -> model + ":" + (1 + random.nextInt(3));
            default -> model;
        };
        DeploymentSpec s = Fixtures.spec(ref);
        s.setReplicas(Replicas.newBuilder().setMin(1 + random.nextInt(3)).setMax(3 + random.nextInt(3)).build());
        return s;
    }

    static CommandEnvelope command(String id, String project, Object payload) {
        return CommandEnvelope.newBuilder().setId(id).setProject(project).setActor("alice").setTimeMs(0).setPayload(payload).build();
    }

    static RegistryEvent registry(String id, String project, String model, Object payload) {
        return RegistryEvent.newBuilder().setId(id).setProject(project).setModel(model).setActor("bob").setTimeMs(0).setPayload(payload).build();
    }
}
