package io.clops.executor;

import io.clops.examples.iris.IrisServer;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * At-least-once, for real: two executor processes share the request topic; one is killed (SIGKILL) mid-way; every
 * request is still answered. Duplicates carry the same request id (clops-request-id header and record key), so a
 * client recognises them.
 */
@ExtendWith(KafkaExtension.class)
class AsyncFailoverIT {
    static final int N = 10_000;
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";

    static Process executor(String bootstrap, int modelPort, File log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.java(), "-Xmx128m", "-XX:+UseSerialGC", "-Dsun.net.httpserver.nodelay=true",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", System.getProperty("java.class.path"),
                ExecutorMain.class.getName()).redirectErrorStream(true).redirectOutput(log);
        pb.environment().putAll(Map.of("CLOPS_EXECUTOR_PORT", "0", "CLOPS_MODEL_URL", "http://127.0.0.1:" + modelPort,
                "CLOPS_MODEL_NAME", "iris", "CLOPS_PROJECT", "failover", "CLOPS_DEPLOYMENT", "iris", "CLOPS_MODE", "async",
                "CLOPS_BOOTSTRAP", bootstrap, "CLOPS_ASYNC_CONCURRENCY", "16"));
        return pb.start();
    }

    static final class Path {
        static String java() {
            return java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        }
    }

    @Test
    void everyRequestIsAnsweredWhenAnExecutorIsKilledMidway() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        String requests = Topics.inferRequests("failover", "iris").name();
        String responses = Topics.inferResponses("failover", "iris").name();
        TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("failover", "iris").spec(), Topics.inferResponses("failover", "iris").spec()));
        IrisServer iris = new IrisServer(0, "iris", "1").start();
        File logs = java.nio.file.Files.createTempDirectory("failover").toFile();
        Process a = executor(bootstrap, iris.port(), new File(logs, "a.log"));
        Process b = executor(bootstrap, iris.port(), new File(logs, "b.log"));
        Set<String> answered = ConcurrentHashMap.newKeySet();
        AtomicInteger records = new AtomicInteger();
        AtomicInteger wrong = new AtomicInteger();
        Map<String, AtomicInteger> byExecutor = new ConcurrentHashMap<>();
        Thread reader = new Thread(() -> {
            try (var consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "failover-reader"), new StringDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> parts = consumer.partitionsFor(responses).stream().map(p -> new TopicPartition(responses, p.partition())).toList();
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                while (!Thread.currentThread().isInterrupted()) {
                    for (var r : consumer.poll(Duration.ofMillis(100))) {
                        records.incrementAndGet();
                        var id = r.headers().lastHeader("clops-request-id");
                        var status = r.headers().lastHeader("clops-status");
                        if (id == null || !new String(id.value(), StandardCharsets.UTF_8).equals(r.key())
                                || status == null || !new String(status.value(), StandardCharsets.UTF_8).equals("200")
                                || !new String(r.value(), StandardCharsets.UTF_8).contains("setosa")) {
                            wrong.incrementAndGet();
                        }
                        answered.add(r.key());
                        var who = r.headers().lastHeader("clops-executor");
                        byExecutor.computeIfAbsent(who == null ? "?" : new String(who.value(), StandardCharsets.UTF_8),
                                k -> new AtomicInteger()).incrementAndGet();
                    }
                }
            } catch (org.apache.kafka.common.errors.InterruptException e) {
                // done
            }
        });
        reader.start();
        try {
            try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "failover-client"), new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < N; i++) {
                    var headers = new RecordHeaders();
                    headers.add("clops-request-id", ("req-" + i).getBytes(StandardCharsets.UTF_8));
                    producer.send(new ProducerRecord<>(requests, null, "req-" + i, BODY, headers));
                }
                producer.flush();
            }
            Await.until("a third answered", Duration.ofSeconds(120), () -> answered.size() >= N / 3);
            String killed = ":" + a.pid();
            Await.until("the executor to be killed has answered some", () -> byExecutor.keySet().stream().anyMatch(k -> k.endsWith(killed)));
            a.destroyForcibly().waitFor();
            int atKill = answered.size();
            Await.until("every request answered after the kill", Duration.ofSeconds(180), () -> answered.size() == N);
            assertThat(atKill).as("the kill happened mid-way").isLessThan(N);
            assertThat(wrong.get()).as("answers with a wrong id, status or result").isZero();
            assertThat(byExecutor.keySet()).as("both executors answered").anyMatch(k -> k.endsWith(killed))
                    .anyMatch(k -> k.endsWith(":" + b.pid()));
            int duplicates = records.get() - N;
            assertThat(duplicates).as("re-delivered answers (same ids), at most the batches in flight").isBetween(0, 2_000);
            System.out.printf("async failover: %d requests, all answered, %d duplicates after killing one executor at %d answers; by executor %s%n",
                    N, duplicates, atKill, byExecutor);
        } finally {
            reader.interrupt();
            a.destroyForcibly();
            b.destroyForcibly();
            iris.stop();
        }
    }
}
