package io.clops.reconciler;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On a real broker with the real topology: the audit trail the topology writes covers every event, a replay of the
 * log from Kafka (in the trail's order) rebuilds the live desired table, a copy of the log checks out, and editing
 * one record's bytes in the copy, or removing one, makes the check name that record.
 */
@ExtendWith(KafkaExtension.class)
class AuditIT {
    static String bootstrap;
    static Reconciler reconciler;
    static final List<Replay.Event> written = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-audit-it"), Duration.ofSeconds(90));
        Random random = new Random(7);
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "audit-it"), new StringSerializer(), new ByteArraySerializer())) {
            for (int n = 0; n < 20; n++) {
                String project = "audit" + n;
                int partition = Topics.partitionFor(project, 3);
                for (Replay.Event e : ReplayPropertyTest.sequence(random, project, System.currentTimeMillis() + n)) {
                    byte[] bytes = e.value() instanceof CommandEnvelope c ? Topics.COMMANDS.valueSerde().serializer().serialize(e.topic(), c)
                            : Topics.REGISTRY.valueSerde().serializer().serialize(e.topic(), (RegistryEvent) e.value());
                    String key = e.value() instanceof RegistryEvent r ? Topics.modelKey(project, r.getModel()) : project;
                    producer.send(new ProducerRecord<>(e.topic(), partition, e.timestampMs(), key, bytes)).get();
                    written.add(e);
                }
            }
            producer.send(new ProducerRecord<>(Topics.COMMANDS.name(), 0, "poison", "not an envelope".getBytes())).get();
        }
        Await.until("an audit record for each of the " + written.size() + " events", Duration.ofSeconds(60),
                () -> TopicProbe.readAll(bootstrap, Topics.AUDIT.name(), new StringDeserializer(), new ByteArrayDeserializer()).size() == written.size());
    }

    @AfterAll
    static void stop() {
        reconciler.close();
    }

    static Map<String, DesiredDeployment> liveDesired() {
        Map<String, DesiredDeployment> out = new TreeMap<>();
        for (var r : TopicProbe.readAll(bootstrap, Topics.DESIRED.name(), new StringDeserializer(), new ByteArrayDeserializer())) {
            if (!r.key().startsWith("audit")) {
                continue;
            }
            if (r.value() == null) {
                out.remove(r.key());
            } else {
                out.put(r.key(), Topics.DESIRED.valueSerde().deserializer().deserialize(r.topic(), r.value()));
            }
        }
        return out;
    }

    static List<String> keysFrom(LogSource log, long fromMs) {
        List<String> keys = new ArrayList<>();
        for (var it = log.read(Topics.LOGINS.name(), 0, fromMs); it.hasNext(); ) {
            String k = it.next().key();
            if (k != null && k.startsWith("logsource-")) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** A reader of an hour does not read the years before: from Kafka (offsetsForTimes) and from a copy alike. */
    @Test
    void aReadFromAMomentStartsAtTheFirstRecordStampedThenAndMissesNoneAfter() throws Exception {
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "log-source-it"), new StringSerializer(), new ByteArraySerializer())) {
            for (String k : List.of("a", "b", "c")) {
                long stamp = 1_000L * (1 + "abc".indexOf(k)); // 1970: before anything else on the partition
                producer.send(new ProducerRecord<>(Topics.LOGINS.name(), 0, stamp, "logsource-" + k, new byte[]{1})).get();
            }
        }
        Path copy = Files.createTempFile("clops-log-copy", ".jsonl");
        try (LogSource log = LogSource.kafka(bootstrap)) {
            assertThat(keysFrom(log, 0)).containsExactly("logsource-a", "logsource-b", "logsource-c");
            assertThat(keysFrom(log, 2_000)).containsExactly("logsource-b", "logsource-c");
            assertThat(keysFrom(log, 2_001)).containsExactly("logsource-c");
            assertThat(keysFrom(log, 3_001)).isEmpty();
            LogSource.export(log, copy);
        }
        LogSource file = LogSource.file(copy);
        assertThat(keysFrom(file, 2_000)).containsExactly("logsource-b", "logsource-c");
        assertThat(keysFrom(file, 3_001)).isEmpty();
    }

    @Test
    void aReplayFromKafkaInTheTrailsOrderRebuildsTheLiveDesiredTable() {
        Map<String, DesiredDeployment> live = liveDesired();
        assertThat(live).as("the sequences deployed something").isNotEmpty();
        try (LogSource log = LogSource.kafka(bootstrap)) {
            Replay.LogReader reader = Replay.read(log, null);
            MemoryState replayed = Replay.fold(reader, Long.MAX_VALUE);
            Map<String, DesiredDeployment> mine = new TreeMap<>(replayed.desired());
            mine.keySet().removeIf(k -> !k.startsWith("audit"));
            assertThat(mine).isEqualTo(live);
            assertThat(reader.skipped()).as("the poison record, skipped as the topology dead-letters it").isEqualTo(1);
            assertThat(reader.unaudited()).as("events the trail did not order").isZero();
        }
        try (LogSource log = LogSource.kafka(bootstrap)) {
            assertThat(Replay.fold(Replay.read(log, null), written.get(0).timestampMs() - 1).desired().keySet())
                    .as("before the first event").noneMatch(k -> k.startsWith("audit"));
        }
    }

    @Test
    void aCopyOfTheLogChecksOutAndAnEditedOrRemovedRecordIsNamed() throws Exception {
        Path copy = Files.createTempFile("clops-log", ".jsonl");
        try (LogSource log = LogSource.kafka(bootstrap)) {
            assertThat(AuditVerifier.verify(log).broken()).as("the live log").isNull();
            assertThat(LogSource.export(log, copy)).isGreaterThanOrEqualTo(2L * written.size());
        }
        AuditVerifier.Result ok = AuditVerifier.verify(LogSource.file(copy));
        assertThat(ok.broken()).isNull();
        assertThat(ok.records()).isEqualTo(written.size());
        assertThat(ok.events()).isEqualTo(written.size());

        List<String> lines = Files.readAllLines(copy);
        // one byte of one command's value
        int i = indexOf(lines, "\"topic\":\"clops.commands\"", 5);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var line = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(lines.get(i));
        byte[] value = Base64.getDecoder().decode(line.get("value").asText());
        value[value.length - 3] ^= 0x01;
        line.put("value", Base64.getEncoder().encodeToString(value));
        String where = "clops.commands/" + line.get("partition").asInt() + "@" + line.get("offset").asLong();
        assertThat(verify(copy, lines, i, json.writeValueAsString(line)).broken()).startsWith(where + ": its bytes' SHA-256 is");

        // one byte of one audit record
        int j = indexOf(lines, "\"topic\":\"clops.audit\"", 9);
        line = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(lines.get(j));
        value = Base64.getDecoder().decode(line.get("value").asText());
        value[value.length - 70] ^= 0x01; // inside the hash's hex text: the record still decodes
        line.put("value", Base64.getEncoder().encodeToString(value));
        String auditWhere = "clops.audit/" + line.get("partition").asInt() + "@" + line.get("offset").asLong();
        assertThat(verify(copy, lines, j, json.writeValueAsString(line)).broken()).startsWith(auditWhere);

        // one audit record removed: the next of its project no longer chains
        assertThat(verify(copy, lines, j, null).broken()).contains("does not chain to the project's previous record");
    }

    static int indexOf(List<String> lines, String marker, int nth) {
        for (int i = 0, seen = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker) && seen++ == nth) {
                return i;
            }
        }
        throw new AssertionError("no " + nth + "th line with " + marker);
    }

    /** Verifies a copy of {@code lines} with line {@code i} replaced (null: removed). */
    static AuditVerifier.Result verify(Path dir, List<String> lines, int i, String replacement) throws Exception {
        List<String> edited = new ArrayList<>(lines);
        if (replacement == null) {
            edited.remove(i);
        } else {
            edited.set(i, replacement);
        }
        Path f = Files.createTempFile(dir.getParent(), "clops-log-edited", ".jsonl");
        Files.write(f, edited);
        return AuditVerifier.verify(LogSource.file(f));
    }
}
