package io.clops.bench;

import io.clops.avro.AuditRecord;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.RegistryEvent;
import io.clops.avro.Replicas;
import io.clops.avro.UndeployCommand;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.reconciler.AuditTrail;
import io.clops.reconciler.LogSource;
import io.clops.reconciler.MemoryState;
import io.clops.reconciler.ProjectFold;
import io.clops.reconciler.Replay;
import io.clops.testing.Fixtures;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Issue 12's bench: a log of N generated events (default 1,000,000: per project, its creation, a registered model
 * and its alias, then deploys that scale ten deployments and now and then an undeploy) on a real broker, with the
 * audit trail the topology would write (computed by the same fold: ReplayPropertyTest shows they are equal). Then,
 * in the same run: the raw consumer's read rate of clops.commands (bytes only, the floor), and the replay that
 * rebuilds the desired state from the log (commands, registry and the trail that orders them: decode, fold).
 * Usage: bench/replay.sh [N]
 */
public final class ReplayBench {
    static final int PROJECTS = 1000;
    static final int DEPLOYMENTS = 10;

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(Files.createTempDirectory("clops-replay-bench"), 0, null)) {
            String bootstrap = broker.bootstrapServers();
            TopicAdmin.ensure(bootstrap, Topics.ALL);
            long t0 = System.nanoTime();
            Generated g = generate(bootstrap, n);
            System.out.printf("wrote %,d events (%,d commands, %,d registry events) and their %,d audit records in %.1f s%n",
                    g.events, g.commands, g.registry, g.events, (System.nanoTime() - t0) / 1e9);

            long r0 = System.nanoTime();
            long raw = rawRead(bootstrap, Topics.COMMANDS.name());
            double rawSeconds = (System.nanoTime() - r0) / 1e9;

            long f0 = System.nanoTime();
            MemoryState rebuilt;
            long replayed;
            try (LogSource log = LogSource.kafka(bootstrap)) {
                Replay.LogReader reader = Replay.read(log, done -> System.out.printf("  … %,d events replayed%n", done));
                long[] count = {0};
                java.util.Iterator<Replay.Event> counted = new java.util.Iterator<>() {
                    @Override
                    public boolean hasNext() {
                        return reader.hasNext();
                    }

                    @Override
                    public Replay.Event next() {
                        count[0]++;
                        return reader.next();
                    }
                };
                rebuilt = Replay.fold(counted, Long.MAX_VALUE);
                replayed = count[0];
                if (reader.unaudited() != 0) {
                    throw new IllegalStateException(reader.unaudited() + " events were not ordered by the trail");
                }
            }
            double replaySeconds = (System.nanoTime() - f0) / 1e9;
            if (!rebuilt.desired().equals(g.expected)) {
                throw new IllegalStateException("the replay did not rebuild the desired state the fold wrote (" + rebuilt.desired().size()
                        + " deployments, want " + g.expected.size() + ")");
            }
            System.out.println();
            System.out.printf("raw consumer, clops.commands (bytes, no decoding):  %,10d records in %6.2f s = %,10.0f records/s%n",
                    raw, rawSeconds, raw / rawSeconds);
            System.out.printf("replay (commands + registry + trail: decode, fold): %,10d events  in %6.2f s = %,10.0f events/s%n",
                    replayed, replaySeconds, replayed / replaySeconds);
            System.out.printf("replay / raw read rate: %.2f; desired state rebuilt: %,d deployments, equal to the fold's%n",
                    (replayed / replaySeconds) / (raw / rawSeconds), rebuilt.desired().size());
            System.out.printf("target: %,d events in at most 10 s (≥ 100,000 events/s): %s%n", n,
                    replaySeconds <= 10 && replayed / replaySeconds >= 100_000 ? "met" : "NOT met");
        }
    }

    record Generated(long events, long commands, long registry, Map<String, io.clops.avro.DesiredDeployment> expected) {
    }

    /** Writes the log and the trail, folding as it goes (the trail needs the fold; the expected state is its result). */
    static Generated generate(String bootstrap, int n) throws Exception {
        Map<String, Object> c = KafkaConfigs.producer(bootstrap, "replay-bench");
        c.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        c.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
        c.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        c.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 256L << 20);
        Random random = new Random(12);
        MemoryState state = new MemoryState();
        long[] offsets = new long[3 * 3]; // topic × partition: what the broker gives, in order (one producer, no retries reordering: idempotent)
        long commands = 0;
        long registry = 0;
        long time = System.currentTimeMillis() - n; // a millisecond apart: timestamps as the gateway would give them
        int perProject = Math.max(4, n / PROJECTS);
        long events = 0;
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer())) {
            for (int pi = 0; events < n; pi++) {
                String project = "bench" + pi;
                int partition = Topics.partitionFor(project, 3);
                for (int i = 0; i < perProject && events < n; i++, events++) {
                    Object event;
                    if (i == 0) {
                        event = Fixtures.createProject(project + "-c", project);
                    } else if (i == 1) {
                        event = Fixtures.registered(project + "-r", project, Fixtures.version("iris", 0, List.of("python3", "iris.py")));
                    } else if (i == 2) {
                        event = Fixtures.alias(project + "-a", project, "iris", "champion", 1);
                    } else if (random.nextInt(50) == 0) {
                        event = CommandEnvelope.newBuilder().setId(project + "-" + i).setProject(project).setActor("alice").setTimeMs(0)
                                .setPayload(UndeployCommand.newBuilder().setName("d" + random.nextInt(DEPLOYMENTS)).build()).build();
                    } else {
                        DeploymentSpec s = Fixtures.spec("iris@champion");
                        s.setReplicas(Replicas.newBuilder().setMin(1).setMax(1 + random.nextInt(8)).build());
                        event = CommandEnvelope.newBuilder().setId(project + "-" + i).setProject(project).setActor("alice").setTimeMs(0)
                                .setPayload(DeployCommand.newBuilder().setName("d" + random.nextInt(DEPLOYMENTS)).setSpec(s).build()).build();
                    }
                    long t = ++time;
                    String topic;
                    byte[] bytes;
                    String key;
                    if (event instanceof CommandEnvelope ce) {
                        ce.setTimeMs(t);
                        topic = Topics.COMMANDS.name();
                        bytes = Topics.COMMANDS.valueSerde().serializer().serialize(topic, ce);
                        key = project;
                        commands++;
                    } else {
                        RegistryEvent re = (RegistryEvent) event;
                        re.setTimeMs(t);
                        topic = Topics.REGISTRY.name();
                        bytes = Topics.REGISTRY.valueSerde().serializer().serialize(topic, re);
                        key = Topics.modelKey(project, re.getModel());
                        registry++;
                    }
                    int ti = topic.equals(Topics.COMMANDS.name()) ? 0 : 1;
                    long offset = offsets[ti * 3 + partition]++;
                    p.send(new ProducerRecord<>(topic, partition, t, key, bytes));
                    List<ProjectFold.Output> out = state.apply(AuditTrail.fold(state, event,
                            new AuditTrail.Source(topic, partition, offset, t, AuditTrail.sha256(bytes)), state.auditHead(project), state::current));
                    AuditRecord a = (AuditRecord) out.get(out.size() - 1).value();
                    p.send(new ProducerRecord<>(Topics.AUDIT.name(), partition, t, project, Topics.AUDIT.valueSerde().serializer().serialize(Topics.AUDIT.name(), a)));
                    if (events % 100_000 == 0 && events > 0) {
                        System.out.printf("  … %,d events written%n", events);
                    }
                }
            }
            p.flush();
        }
        return new Generated(events, commands, registry, state.desired());
    }

    /** Every record of the topic, bytes only: the floor any replay of that topic stands on. */
    static long rawRead(String bootstrap, String topic) {
        Map<String, Object> s = KafkaConfigs.reader(bootstrap, "raw");
        s.put("max.poll.records", 5000);
        s.put("fetch.min.bytes", 1 << 20);
        s.put("fetch.max.wait.ms", 20);
        s.put("max.partition.fetch.bytes", 8 << 20);
        long n = 0;
        try (var consumer = new KafkaConsumer<>(s, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                n += consumer.poll(Duration.ofMillis(200)).count();
            }
        }
        return n;
    }
}
