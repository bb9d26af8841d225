package io.clops.executor;

import io.clops.examples.iris.IrisServer;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
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
    /** Answered by b alone before a starts. */
    static final int ALONE = 2_000;
    /** Answered by a before it is killed. */
    static final int BEFORE_KILL = 1_000;
    /** Batches in flight at the kill: 16 in flight plus a polled batch or two of 64, committed a moment later. */
    static final int MAX_DUPLICATES = 500;
    static final String GROUP = "clops.executor.failover.iris";
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";

    static Process executor(String bootstrap, int modelPort, File log) throws Exception {
        return executor(bootstrap, modelPort, log, "iris", Map.of());
    }

    static Process executor(String bootstrap, int modelPort, File log, String deployment, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(jdk("java"), "-Xmx128m", "-XX:+UseSerialGC", "-Dsun.net.httpserver.nodelay=true",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", System.getProperty("java.class.path"),
                ExecutorMain.class.getName()).redirectErrorStream(true).redirectOutput(log);
        pb.environment().putAll(Map.of("CLOPS_EXECUTOR_PORT", "0", "CLOPS_MODEL_URL", "http://127.0.0.1:" + modelPort,
                "CLOPS_MODEL_NAME", "iris", "CLOPS_PROJECT", "failover", "CLOPS_DEPLOYMENT", deployment, "CLOPS_MODE", "async",
                "CLOPS_BOOTSTRAP", bootstrap, "CLOPS_ASYNC_CONCURRENCY", "16"));
        pb.environment().putAll(env);
        return pb.start();
    }

    /** A tool of the JDK running the tests (java, jcmd). */
    static String jdk(String tool) {
        return java.nio.file.Path.of(System.getProperty("java.home"), "bin", tool).toString();
    }

    /** The group's state, and each executor's log tail and threads. */
    static String diagnose(String bootstrap, String group, File logs, Process... executors) {
        StringBuilder out = new StringBuilder();
        try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            out.append("group ").append(admin.describeConsumerGroups(List.of(group)).all().get(10, java.util.concurrent.TimeUnit.SECONDS))
                    .append("\ncommitted ").append(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, java.util.concurrent.TimeUnit.SECONDS));
        } catch (Exception e) {
            out.append("group: ").append(e);
        }
        for (int i = 0; i < executors.length; i++) {
            Process p = executors[i];
            String name = i == 0 ? "a" : "b";
            if (p == null) {
                out.append("\n== executor ").append(name).append(" not started");
                continue;
            }
            try {
                List<String> lines = java.nio.file.Files.readAllLines(new File(logs, name + ".log").toPath());
                out.append("\n== executor ").append(name).append(" (pid ").append(p.pid()).append(p.isAlive() ? ", alive" : ", dead")
                        .append(") log:\n").append(String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())));
                if (p.isAlive()) {
                    Process jcmd = new ProcessBuilder(jdk("jcmd"),
                            Long.toString(p.pid()), "Thread.print").redirectErrorStream(true).start();
                    out.append("\n== threads of ").append(name).append(":\n").append(new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
            } catch (Exception e) {
                out.append("\n").append(name).append(": ").append(e);
            }
        }
        return out.toString();
    }

    /**
     * Answers that cannot be produced (here: the response topic is deleted, and the producer waits for it at most
     * 500 ms) are not given up: their requests are polled again until they can be answered, and the executor lives on.
     */
    @Test
    void requestsWhoseAnswersCannotBeProducedAreAnsweredOnceTheyCan() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("failover", "late").spec()));
        IrisServer iris = new IrisServer(0, "iris", "1").start();
        File logs = java.nio.file.Files.createTempDirectory("late").toFile();
        File log = new File(logs, "a.log");
        Process a = executor(bootstrap, iris.port(), log, "late", Map.of("CLOPS_KAFKA_CLIENT_MAX_BLOCK_MS", "500"));
        try {
            Await.until("the executor to start", () -> {
                try {
                    return java.nio.file.Files.readString(log.toPath()).contains("executor for failover/late on");
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            try (var admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap))) { // made by the executor
                admin.deleteTopics(List.of(Topics.inferResponses("failover", "late").name())).all().get();
            }
            send(bootstrap, Topics.inferRequests("failover", "late").name(), 0, 20);
            try {
                Await.until("answers that could not be produced (the metric says so)", Duration.ofSeconds(60),
                        () -> polledAgain(log) >= 1);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + diagnose(bootstrap, "clops.executor.failover.late", logs, a, null), e);
            }
            TopicAdmin.ensure(bootstrap, List.of(Topics.inferResponses("failover", "late").spec()));
            String responses = Topics.inferResponses("failover", "late").name();
            Set<String> answered = new java.util.HashSet<>();
            Await.until("all 20 answered once the topic is there", Duration.ofSeconds(60), () -> {
                for (var r : TopicProbe.readAll(bootstrap, responses, new StringDeserializer(), new StringDeserializer())) {
                    if ("200".equals(AsyncWorker.header(r.headers(), "clops-status", null))) {
                        answered.add(r.key());
                    }
                }
                return answered.size() == 20;
            });
            assertThat(a.isAlive()).as("the executor lives on").isTrue();
        } finally {
            a.destroyForcibly();
            iris.stop();
        }
    }

    /**
     * An executor whose async worker Kafka stops for good (here: fenced, another executor took its static group
     * membership) does not linger half-alive: it says why and exits, for its supervisor to start it again.
     */
    @Test
    void anExecutorWhoseWorkerKafkaStopsExitsSayingWhy() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        IrisServer iris = new IrisServer(0, "iris", "1").start();
        File logs = java.nio.file.Files.createTempDirectory("fenced").toFile();
        Map<String, String> sameMember = Map.of("CLOPS_KAFKA_CLIENT_GROUP_INSTANCE_ID", "executor-0");
        Process first = executor(bootstrap, iris.port(), new File(logs, "a.log"), "fenced", sameMember);
        Process second = null;
        try {
            Await.until("the first executor in the group", Duration.ofSeconds(60),
                    () -> membersWithPartitions(bootstrap, "clops.executor.failover.fenced") == 1);
            second = executor(bootstrap, iris.port(), new File(logs, "b.log"), "fenced", sameMember);
            assertThat(first.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the fenced executor exits").isTrue();
            assertThat(first.exitValue()).isEqualTo(70);
            assertThat(java.nio.file.Files.readString(new File(logs, "a.log").toPath())).contains("exiting: async worker stopped")
                    .contains("FencedInstanceIdException");
        } finally {
            first.destroyForcibly();
            if (second != null) {
                second.destroyForcibly();
            }
            iris.stop();
        }
    }

    /**
     * An answer that cannot be produced on its reply-to topic (deleted after the executor had answered there) is not
     * lost in silence: the response topic gets a 502 with the request's id, naming the topic.
     */
    @Test
    void anAnswerTheReplyToTopicCannotTakeBecomesAnErrorOnTheResponseTopic() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        String replies = "failover.replies";
        TopicAdmin.ensure(bootstrap, List.of(new io.clops.kafka.TopicSpec(replies, 1, "delete", 3600_000)));
        IrisServer iris = new IrisServer(0, "iris", "1").start();
        File logs = java.nio.file.Files.createTempDirectory("replyfail").toFile();
        Process a = executor(bootstrap, iris.port(), new File(logs, "a.log"), "replyfail", Map.of(
                "CLOPS_KAFKA_CLIENT_MAX_BLOCK_MS", "500", "CLOPS_KAFKA_CLIENT_REQUEST_TIMEOUT_MS", "1000",
                "CLOPS_KAFKA_CLIENT_DELIVERY_TIMEOUT_MS", "2000"));
        String requests = Topics.inferRequests("failover", "replyfail").name();
        String responses = Topics.inferResponses("failover", "replyfail").name();
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "replyfail-client"), new StringSerializer(), new StringSerializer())) {
            java.util.function.Consumer<String> ask = id -> {
                var headers = new RecordHeaders();
                headers.add("clops-request-id", id.getBytes(StandardCharsets.UTF_8));
                headers.add("clops-reply-to", replies.getBytes(StandardCharsets.UTF_8));
                try {
                    producer.send(new ProducerRecord<>(requests, null, id, BODY, headers)).get();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            ask.accept("while-there");
            Await.until("an answer on the reply-to topic", Duration.ofSeconds(60), () -> answers(bootstrap, replies).containsKey("while-there"));
            try (var admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap))) {
                admin.deleteTopics(List.of(replies)).all().get();
            }
            ask.accept("once-gone");
            Await.until("an answer on the response topic", Duration.ofSeconds(60), () -> answers(bootstrap, responses).containsKey("once-gone"));
            var answer = answers(bootstrap, responses).get("once-gone");
            assertThat(AsyncWorker.header(answer.headers(), "clops-status", null)).isEqualTo("502");
            assertThat(answer.value()).contains("could not be produced on topic 'failover.replies'");
        } finally {
            a.destroyForcibly();
            iris.stop();
        }
    }

    /** The answers on a topic now, by request id (an empty map while the topic does not exist). */
    static Map<String, org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> answers(String bootstrap, String topic) {
        Map<String, org.apache.kafka.clients.consumer.ConsumerRecord<String, String>> out = new java.util.HashMap<>();
        try {
            for (var r : TopicProbe.readAll(bootstrap, topic, new StringDeserializer(), new StringDeserializer())) {
                out.put(r.key(), r);
            }
        } catch (RuntimeException e) {
            // not there yet
        }
        return out;
    }

    /** clops_executor_async_polled_again_total, read from the executor's /metrics (its port from its first log line). */
    static long polledAgain(File log) {
        try {
            var m = java.util.regex.Pattern.compile("on http://127.0.0.1:(\\d+)").matcher(java.nio.file.Files.readString(log.toPath()));
            if (!m.find()) {
                return 0;
            }
            var metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + m.group(1) + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            var total = java.util.regex.Pattern.compile("(?m)^clops_executor_async_polled_again_total\\{[^}]*} (\\d+)").matcher(metrics.body());
            return total.find() ? Long.parseLong(total.group(1)) : 0;
        } catch (Exception e) {
            return 0;
        }
    }

    /** The members of the executors' consumer group that hold partitions. */
    static int membersWithPartitions(String bootstrap, String groupId) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            var group = admin.describeConsumerGroups(List.of(groupId)).all().get(10, java.util.concurrent.TimeUnit.SECONDS).get(groupId);
            return (int) group.members().stream().filter(m -> !m.assignment().topicPartitions().isEmpty()).count();
        } catch (Exception e) {
            return 0;
        }
    }

    /** Sends requests req-{from}… req-{to - 1}, every one written (or a failure says why). */
    static void send(String bootstrap, String topic, int from, int to) throws Exception {
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "failover-client"), new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
            for (int i = from; i < to; i++) {
                var headers = new RecordHeaders();
                headers.add("clops-request-id", ("req-" + i).getBytes(StandardCharsets.UTF_8));
                sent.add(producer.send(new ProducerRecord<>(topic, null, "req-" + i, BODY, headers)));
            }
            producer.flush();
            for (var f : sent) {
                f.get();
            }
        }
    }

    /**
     * Executor b first serves alone (it answers, and so has committed, on every partition); a joins and takes some of
     * b's partitions; a is killed mid-way. Every request is answered, and the only duplicates are a's answers not yet
     * committed when it died: not everything a ever answered (b must not commit for partitions it gave up).
     */
    @Test
    void everyRequestIsAnsweredWhenAnExecutorIsKilledMidway() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        String requests = Topics.inferRequests("failover", "iris").name();
        String responses = Topics.inferResponses("failover", "iris").name();
        TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("failover", "iris").spec(), Topics.inferResponses("failover", "iris").spec()));
        IrisServer iris = new IrisServer(0, "iris", "1").start();
        File logs = java.nio.file.Files.createTempDirectory("failover").toFile();
        Process b = executor(bootstrap, iris.port(), new File(logs, "b.log"));
        Process a = null;
        Set<String> answered = ConcurrentHashMap.newKeySet();
        AtomicInteger records = new AtomicInteger();
        AtomicInteger wrong = new AtomicInteger();
        Map<String, AtomicInteger> byExecutor = new ConcurrentHashMap<>();
        var readerFailed = new java.util.concurrent.atomic.AtomicReference<Exception>();
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
            } catch (RuntimeException e) {
                readerFailed.set(e);
            }
        });
        reader.start();
        try {
            try {
                send(bootstrap, requests, 0, ALONE);
                Await.until("b alone answered the first " + ALONE, Duration.ofSeconds(120), () -> answered.size() >= ALONE);
                a = executor(bootstrap, iris.port(), new File(logs, "a.log"));
                Await.until("a joined the group and holds partitions", Duration.ofSeconds(60), () -> membersWithPartitions(bootstrap, GROUP) == 2);
                try (var admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap))) {
                    assertThat(admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP).partitionAssignor())
                            .as("partitions move without stopping every executor").isEqualTo("cooperative-sticky");
                }
                send(bootstrap, requests, ALONE, N);
                String killed = ":" + a.pid();
                Await.until("a answered " + BEFORE_KILL, Duration.ofSeconds(120), () -> byExecutor.entrySet().stream()
                        .anyMatch(e -> e.getKey().endsWith(killed) && e.getValue().get() >= BEFORE_KILL));
                a.destroyForcibly().waitFor();
                int atKill = answered.size();
                int byKilled = byExecutor.entrySet().stream().filter(e -> e.getKey().endsWith(killed)).mapToInt(e -> e.getValue().get()).sum();
                Await.until("every request answered after the kill", Duration.ofSeconds(180), () -> answered.size() == N);
                assertThat(atKill).as("the kill happened mid-way").isLessThan(N);
                assertThat(wrong.get()).as("answers with a wrong id, status or result").isZero();
                assertThat(byExecutor.keySet()).as("both executors answered").anyMatch(k -> k.endsWith(killed))
                        .anyMatch(k -> k.endsWith(":" + b.pid()));
                int duplicates = records.get() - N;
                System.out.printf("async failover: %d requests, all answered, %d duplicates after killing one executor at %d answers (%d its own); by executor %s%n",
                        N, duplicates, atKill, byKilled, byExecutor);
                assertThat(duplicates).as("re-delivered answers (same ids): at most the killed executor's batches in flight, not all %d it answered", byKilled)
                        .isBetween(0, MAX_DUPLICATES);
            } catch (AssertionError e) { // what each side was doing, for a failure seen only on another machine
                throw new AssertionError(e.getMessage() + "; " + answered.size() + " of " + N + " answered in " + records.get()
                        + " records, by executor " + byExecutor + ", reader failed: " + readerFailed.get() + "\n"
                        + diagnose(bootstrap, GROUP, logs, a, b), e);
            }
        } finally {
            reader.interrupt();
            if (a != null) {
                a.destroyForcibly();
            }
            b.destroyForcibly();
            iris.stop();
        }
    }
}
