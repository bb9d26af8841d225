package io.clops.reconciler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The log's records as they are stored, bytes and all: the commands, the registry, the audit trail and the logins, partition by
 * partition in offset order. From Kafka, or from a copy written to a file ({@link #export}: one JSON line per record,
 * the value in base64), so that an auditor can keep the log and check it away from the cluster.
 */
public interface LogSource extends AutoCloseable {
    /** The topics a copy holds: what replay and verification read, and the logins (who could act since when). */
    List<String> TOPICS = List.of(Topics.COMMANDS.name(), Topics.REGISTRY.name(), Topics.AUDIT.name(), Topics.LOGINS.name());

    /** One stored record. */
    record Raw(String topic, int partition, long offset, long timestampMs, String key, byte[] value) {
        public String where() {
            return topic + "/" + partition + "@" + offset;
        }
    }

    /** How many partitions the commands (and so the registry and the audit trail) have. */
    int partitions();

    /** How many partitions {@code topic} has (the logins are partitioned by user, on a topic of their own). */
    default int partitions(String topic) {
        return partitions();
    }

    /** The partition's records from its start to where it ended when this source was opened. */
    Iterator<Raw> read(String topic, int partition);

    /**
     * The same from a moment on: every record stamped at or after {@code fromMs}, and perhaps some before (from Kafka:
     * from the first offset stamped at or after it, {@code offsetsForTimes}), so a reader that wants the records of an
     * hour does not read the years before. The caller still filters by its own times.
     */
    default Iterator<Raw> read(String topic, int partition, long fromMs) {
        return read(topic, partition);
    }

    /** How far a record's own stamp may trail the time it holds (a clock stepped back): read that much earlier. */
    long CLOCK_SLACK_MS = 60_000;

    /**
     * The records that may hold times at or after {@code sinceMs} (null: every record), for records whose stamp is
     * never earlier than the time they hold, within {@link #CLOCK_SLACK_MS}: the audit trail (the topology forwards
     * each event's stamp; a broker that stamps appends stamps later) and the logins (stamped at their send).
     */
    default Iterator<Raw> readSince(String topic, int partition, Long sinceMs) {
        return sinceMs == null ? read(topic, partition) : read(topic, partition, sinceMs - CLOCK_SLACK_MS);
    }

    @Override
    default void close() {
    }

    /** The log on a Kafka cluster. */
    static LogSource kafka(String bootstrap) {
        return new Kafka(bootstrap);
    }

    /**
     * Only the partition a project's records are in (its commands, registry events and audit records share a
     * partition number): what replaying or listing one project needs to read.
     */
    static LogSource ofProject(LogSource source, String project) {
        int only = Topics.partitionFor(project, source.partitions());
        return new LogSource() {
            @Override
            public int partitions() {
                return source.partitions();
            }

            @Override
            public Iterator<Raw> read(String topic, int partition) {
                return partition == only ? source.read(topic, partition) : java.util.Collections.emptyIterator();
            }

            @Override
            public Iterator<Raw> read(String topic, int partition, long fromMs) {
                return partition == only ? source.read(topic, partition, fromMs) : java.util.Collections.emptyIterator();
            }

            @Override
            public void close() {
                source.close();
            }
        };
    }

    /** A copy {@link #export} wrote. */
    static LogSource file(Path file) {
        return new FileCopy(file);
    }

    /**
     * Writes every record of the source's topics to {@code file}, one JSON line each: topic, partition, offset,
     * timestamp, key and the value's bytes in base64.
     *
     * @return the number of records written
     */
    static long export(LogSource source, Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        long n = 0;
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (String topic : TOPICS) {
                for (int p = 0; p < source.partitions(topic); p++) {
                    for (Iterator<Raw> it = source.read(topic, p); it.hasNext(); ) {
                        Raw r = it.next();
                        ObjectNode line = json.createObjectNode();
                        line.put("topic", r.topic()).put("partition", r.partition()).put("offset", r.offset()).put("timestamp", r.timestampMs())
                                .put("key", r.key()).put("value", r.value() == null ? null : Base64.getEncoder().encodeToString(r.value()));
                        w.write(json.writeValueAsString(line));
                        w.write('\n');
                        n++;
                    }
                }
            }
        }
        return n;
    }

    /** Kafka: one consumer per partition read, each stopping at the end offset it saw when it started. */
    final class Kafka implements LogSource {
        private final String bootstrap;
        private final int partitions;
        private final Map<String, Integer> partitionsOf = new HashMap<>();
        private final List<KafkaConsumer<String, byte[]>> open = new ArrayList<>();

        Kafka(String bootstrap) {
            this.bootstrap = bootstrap;
            try (var c = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "log-source"), new org.apache.kafka.common.serialization.StringDeserializer(),
                    new ByteArrayDeserializer())) {
                for (String topic : TOPICS) { // a topic a platform does not have yet (the logins, on an older one): none
                    partitionsOf.put(topic, c.partitionsFor(topic, Duration.ofSeconds(30)).size());
                }
                int p = partitionsOf.get(Topics.COMMANDS.name());
                int r = partitionsOf.get(Topics.REGISTRY.name());
                if (p != r) {
                    throw new IllegalStateException("clops.commands has " + p + " partitions and clops.registry " + r
                            + ": they must be co-partitioned (the same number) for the fold");
                }
                this.partitions = p;
            }
        }

        @Override
        public int partitions() {
            return partitions;
        }

        @Override
        public int partitions(String topic) {
            return partitionsOf.getOrDefault(topic, partitions);
        }

        @Override
        public Iterator<Raw> read(String topic, int partition) {
            return read(topic, partition, null);
        }

        @Override
        public Iterator<Raw> read(String topic, int partition, long fromMs) {
            return read(topic, partition, Long.valueOf(fromMs));
        }

        private Iterator<Raw> read(String topic, int partition, Long fromMs) {
            Map<String, Object> settings = KafkaConfigs.reader(bootstrap, "log-" + topic + "-" + partition);
            settings.put("max.poll.records", 5000);
            settings.put("fetch.min.bytes", 1 << 20);
            settings.put("fetch.max.wait.ms", 20);
            settings.put("max.partition.fetch.bytes", 8 << 20);
            KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(settings, new org.apache.kafka.common.serialization.StringDeserializer(),
                    new ByteArrayDeserializer());
            open.add(consumer);
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            if (fromMs == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                var at = consumer.offsetsForTimes(Map.of(tp, Math.max(0, fromMs)), Duration.ofSeconds(30)).get(tp);
                consumer.seek(tp, at == null ? end : Math.min(at.offset(), end)); // null: nothing stamped that late
            }
            return new Iterator<>() {
                private final ArrayDeque<Raw> buffer = new ArrayDeque<>();
                private long position = consumer.position(tp, Duration.ofSeconds(30));
                private boolean closed;

                @Override
                public boolean hasNext() {
                    while (buffer.isEmpty() && position < end) {
                        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                            if (r.offset() >= end) {
                                position = end;
                                break;
                            }
                            position = r.offset() + 1;
                            buffer.add(new Raw(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value()));
                        }
                        if (buffer.isEmpty()) {
                            position = Math.max(position, consumer.position(tp)); // transaction markers and aborted records take offsets
                        }
                    }
                    if (buffer.isEmpty() && !closed) {
                        closed = true;
                        open.remove(consumer);
                        consumer.close(Duration.ZERO);
                    }
                    return !buffer.isEmpty();
                }

                @Override
                public Raw next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return buffer.poll();
                }
            };
        }

        @Override
        public void close() {
            open.forEach(c -> c.close(Duration.ZERO));
            open.clear();
        }
    }

    /** A copy in a file: read whole (an auditor's copy of a log fits in memory; the live log is read from Kafka). */
    final class FileCopy implements LogSource {
        private final Map<String, List<Raw>> byPartition = new HashMap<>();
        private int partitions;

        FileCopy(Path file) {
            ObjectMapper json = new ObjectMapper();
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                int n = 0;
                while ((line = in.readLine()) != null) {
                    n++;
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode j;
                    try {
                        j = json.readTree(line);
                    } catch (IOException e) {
                        throw new IllegalArgumentException(file + " line " + n + " is not a JSON record of a log copy: " + e.getMessage());
                    }
                    JsonNode value = j.get("value");
                    Raw r = new Raw(j.path("topic").asText(), j.path("partition").asInt(), j.path("offset").asLong(), j.path("timestamp").asLong(),
                            j.path("key").isNull() ? null : j.path("key").asText(),
                            value == null || value.isNull() ? null : Base64.getDecoder().decode(value.asText()));
                    byPartition.computeIfAbsent(r.topic() + "/" + r.partition(), k -> new ArrayList<>()).add(r);
                    partitions = Math.max(partitions, r.partition() + 1);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the log copy " + file + ": " + e.getMessage(), e);
            }
        }

        @Override
        public int partitions() {
            return partitions;
        }

        @Override
        public Iterator<Raw> read(String topic, int partition) {
            return byPartition.getOrDefault(topic + "/" + partition, List.of()).iterator();
        }

        @Override
        public Iterator<Raw> read(String topic, int partition, long fromMs) {
            return byPartition.getOrDefault(topic + "/" + partition, List.<Raw>of()).stream().filter(r -> r.timestampMs() >= fromMs).iterator();
        }
    }
}
