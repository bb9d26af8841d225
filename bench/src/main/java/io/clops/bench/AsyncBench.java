package io.clops.bench;

import com.sun.net.httpserver.HttpServer;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.executor.ExecutorConfig;
import io.clops.executor.ExecutorMain;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.TopicSpec;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

/**
 * Async inference round trip: a plain Kafka client puts OIP v2 JSON on a deployment's request topic and waits for
 * the answer on its response topic; one executor in between, a no-op model behind it. Printed beside Kafka's own
 * EndToEndLatency (produce → consume, acks=all) on the same broker: the floor any Kafka round trip pays twice.
 * Usage: bench/executor-async.sh
 */
public final class AsyncBench {
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";
    private static final java.util.logging.Logger JUL = java.util.logging.Logger.getLogger("");

    record Step(int rate, int sent, int answered, double seconds, double p50, double p99, double max) {
        boolean sustained() {
            return answered == sent && answered / seconds >= 0.95 * rate && p99 <= 1000;
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        System.setProperty("sun.net.httpserver.nodelay", "true");
        JUL.setLevel(java.util.logging.Level.WARNING);
        Path dir = Files.createTempDirectory("clops-async-bench");
        HttpServer model = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        byte[] answer = "{\"model_name\":\"noop\",\"outputs\":[{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"setosa\"]}]}"
                .getBytes(StandardCharsets.UTF_8);
        model.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, answer.length);
                ex.getResponseBody().write(answer);
            }
        });
        model.setExecutor(Executors.newFixedThreadPool(8));
        model.start();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0)) {
            String bootstrap = broker.bootstrapServers();
            TopicAdmin.ensure(bootstrap, Topics.ALL);
            TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("bench", "noop").spec(), Topics.inferResponses("bench", "noop").spec(),
                    new TopicSpec("bench.e2e-latency", 1, "delete", TopicSpec.DAYS_7)));
            ExecutorConfig config = new ExecutorConfig(0, List.of(new io.clops.executor.Route("noop", "http://127.0.0.1:" + model.getAddress().getPort(), 100)),
                    null, "noop", "v2", "bench", "noop", "async", bootstrap, 5000, 1 << 20, 32, 0, null, false, 1.0, 4096, null, "127.0.0.1", 0, null, ExecutorConfig.ClientLimits.DEFAULT, null);
            TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("bench", "echo").spec(), Topics.inferResponses("bench", "echo").spec()));
            String executorIn = Topics.inferRequests("bench", "noop").name();
            String echoIn = Topics.inferRequests("bench", "echo").name();
            try (ExecutorMain executor = new ExecutorMain(config); Echo echo = new Echo(bootstrap, echoIn, Topics.inferResponses("bench", "echo").name());
                 Client client = new Client(bootstrap, List.of(Topics.inferResponses("bench", "noop").name(), Topics.inferResponses("bench", "echo").name()))) {
                client.run(executorIn, 200, 5); // warm-up: group join, JIT
                client.run(echoIn, 200, 5);
                // a scale event, eager and cooperative rebalancing in turn (before any overload leaves a backlog)
                String modelUrl = "http://127.0.0.1:" + model.getAddress().getPort();
                List<Step> eagers = new ArrayList<>();
                List<Step> cooperatives = new ArrayList<>();
                for (int round = 0; round < 2; round++) {
                    eagers.add(scaleEvent(bootstrap, modelUrl, "scale-eager-" + round, org.apache.kafka.clients.consumer.RangeAssignor.class.getName()));
                    cooperatives.add(scaleEvent(bootstrap, modelUrl, "scale-cooperative-" + round, null));
                }
                // Interleaved rounds, median: this machine's noise moves single runs by 2×.
                List<Step> viaExecutor = new ArrayList<>();
                List<Step> viaEcho = new ArrayList<>();
                for (int round = 0; round < 5; round++) {
                    viaEcho.add(client.run(echoIn, 200, 4));
                    viaExecutor.add(client.run(executorIn, 200, 4));
                    System.err.printf(Locale.ROOT, "… round %d at 200 req/s: echo p50 %.2f ms, executor p50 %.2f ms%n", round + 1,
                            viaEcho.get(round).p50(), viaExecutor.get(round).p50());
                }
                Step latency = median(viaExecutor);
                Step floorTrip = median(viaEcho);
                List<Step> steps = new ArrayList<>();
                List<Step> echoSteps = new ArrayList<>(); // Kafka's floor at the same rate, just before
                for (int rate : new int[]{1000, 2000, 4000, 8000, 12000, 16000, 24000}) {
                    Step e = client.run(echoIn, rate, 5);
                    Step s = client.run(executorIn, rate, 5);
                    echoSteps.add(e);
                    steps.add(s);
                    System.err.printf(Locale.ROOT, "… %d req/s offered: executor %d/%d answered, p50 %.2f ms, p99 %.2f ms (echo floor p50 %.2f ms)%n",
                            rate, s.answered(), s.sent(), s.p50(), s.p99(), e.p50());
                    if (!s.sustained()) {
                        break;
                    }
                }
                String[] floor = endToEndLatency(bootstrap);
                System.out.println();
                System.out.println("clops async bench: plain Kafka client → request topic → executor → no-op model → response topic, "
                        + Runtime.getRuntime().availableProcessors() + " cores, embedded KRaft broker");
                System.out.printf(Locale.ROOT, "Kafka EndToEndLatency (one produce → consume hop, acks=all, 100 B, same broker): avg %s ms, p50 %s ms, p99 %s ms (whole ms)%n",
                        floor[2], floor[0], floor[1]);
                System.out.printf(Locale.ROOT, "Kafka round-trip floor (same client → echo loop: poll, produce → client; no executor, no model), 200 req/s: p50 %.2f ms, p99 %.2f ms%n",
                        floorTrip.p50(), floorTrip.p99());
                System.out.printf(Locale.ROOT, "round trip through the executor, 200 req/s: p50 %.2f ms, p99 %.2f ms (median of 5 rounds of %d requests, interleaved with the echo's)%n",
                        latency.p50(), latency.p99(), latency.sent());
                System.out.printf(Locale.ROOT, "executor round-trip p50 ÷ Kafka round-trip floor p50: %.2f×; ÷ two EndToEndLatency average hops: %.2f×%n",
                        latency.p50() / floorTrip.p50(), latency.p50() / (2 * Double.parseDouble(floor[2])));
                System.out.println("scale event (a second executor joins the group 2 s into 8 s at 1,000 req/s), two rounds each, in turn:");
                for (int round = 0; round < eagers.size(); round++) {
                    Step e = eagers.get(round);
                    Step c = cooperatives.get(round);
                    System.out.printf(Locale.ROOT, "  round %d: eager (range) p50 %.2f ms, p99 %.2f ms, max %.0f ms, %d/%d answered | cooperative (clops's) p50 %.2f ms, p99 %.2f ms, max %.0f ms, %d/%d answered | p99 ratio %.2f×%n",
                            round + 1, e.p50(), e.p99(), e.max(), e.answered(), e.sent(), c.p50(), c.p99(), c.max(), c.answered(), c.sent(),
                            e.p99() / c.p99());
                }
                int best = steps.stream().filter(Step::sustained).mapToInt(Step::rate).max().orElse(0);
                System.out.printf(Locale.ROOT, "highest sustained rate with nothing lost (all answered, p99 ≤ 1 s): %d req/s%n", best);
                for (int i = 0; i < steps.size(); i++) {
                    Step s = steps.get(i);
                    Step e = echoSteps.get(i);
                    System.out.printf(Locale.ROOT, "  offered %5d req/s: executor answered %d/%d in %.1f s, p50 %.2f ms, p99 %.2f ms | echo floor %s, p50 %.2f ms, p99 %.2f ms%n",
                            s.rate(), s.answered(), s.sent(), s.seconds(), s.p50(), s.p99(), e.sustained() ? "kept up" : "fell behind", e.p50(), e.p99());
                }
            }
        } finally {
            model.stop(0);
        }
        System.exit(0);
    }

    /**
     * One executor serves a steady 1,000 req/s; 2 s in, a second one joins its group (as autoscaling does): the
     * latencies of the whole run, the rebalance's pause in their tail. {@code strategy}: the assignor, null for clops's.
     */
    static Step scaleEvent(String bootstrap, String modelUrl, String deployment, String strategy) throws Exception {
        String key = io.clops.kafka.KafkaConfigs.PROPERTY_PREFIX + "partition.assignment.strategy";
        TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests("bench", deployment).spec(), Topics.inferResponses("bench", deployment).spec()));
        ExecutorConfig config = ExecutorConfig.single(0, modelUrl, "noop", "bench", deployment, "async", bootstrap, 5000, 1 << 20);
        if (strategy != null) {
            System.setProperty(key, strategy);
        }
        try (ExecutorMain first = new ExecutorMain(config);
             Client client = new Client(bootstrap, List.of(Topics.inferResponses("bench", deployment).name()))) {
            String requests = Topics.inferRequests("bench", deployment).name();
            client.run(requests, 500, 3); // the first executor has joined and warmed up
            ExecutorMain[] second = new ExecutorMain[1];
            Thread joiner = new Thread(() -> {
                try {
                    Thread.sleep(2000);
                    second[0] = new ExecutorMain(config);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "bench-joiner");
            joiner.start();
            Step s = client.run(requests, 1000, 8);
            joiner.join();
            if (second[0] != null) {
                second[0].close();
            }
            System.err.printf(Locale.ROOT, "… scale event, %s: p50 %.2f ms, p99 %.2f ms, max %.0f ms, %d/%d answered%n",
                    strategy == null ? "cooperative" : "eager", s.p50(), s.p99(), s.max(), s.answered(), s.sent());
            return s;
        } finally {
            System.clearProperty(key);
        }
    }

    static Step median(List<Step> steps) {
        List<Step> byP50 = new ArrayList<>(steps);
        byP50.sort(java.util.Comparator.comparingDouble(Step::p50));
        return byP50.get(byP50.size() / 2);
    }

    /**
     * The least any Kafka round trip costs with these clients and settings: a poll loop that answers each request
     * by producing its value back, keyed the same (no model, no parsing).
     */
    static final class Echo implements AutoCloseable {
        final KafkaConsumer<String, byte[]> consumer;
        final KafkaProducer<String, byte[]> producer;
        final Thread loop;
        volatile boolean running = true;

        Echo(String bootstrap, String in, String out) {
            Map<String, Object> c = KafkaConfigs.reader(bootstrap, "bench-echo");
            c.put(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG, "bench-echo");
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
            producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "bench-echo"), new StringSerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer());
            consumer.subscribe(List.of(in));
            loop = new Thread(() -> {
                while (running) {
                    var records = consumer.poll(Duration.ofMillis(50));
                    for (var r : records) {
                        producer.send(new ProducerRecord<>(out, null, r.key(), r.value(), r.headers()));
                    }
                    if (!records.isEmpty()) {
                        consumer.commitAsync();
                    }
                }
                consumer.close();
            }, "bench-echo");
            loop.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            loop.join(5000);
            producer.close();
        }
    }

    /** Runs Kafka's own tool in its own JVM (it exits when done) and returns {p50, p99} in ms. */
    static String[] endToEndLatency(String bootstrap) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                "org.apache.kafka.tools.EndToEndLatency", "--bootstrap-server", bootstrap, "--topic", "bench.e2e-latency",
                "--num-records", "5000", "--producer-acks", "all", "--record-size", "100").redirectErrorStream(true).start();
        String p50 = "?";
        String p99 = "?";
        String avg = "NaN";
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("50th = ([0-9.]+), 99th = ([0-9.]+)").matcher(line);
                if (m.find()) {
                    p50 = m.group(1);
                    p99 = m.group(2);
                }
                java.util.regex.Matcher a = java.util.regex.Pattern.compile("Avg latency: ([0-9.]+)").matcher(line);
                if (a.find()) {
                    avg = a.group(1);
                }
            }
        }
        p.waitFor();
        return new String[]{p50, p99, avg};
    }

    /** Sends at a fixed rate and matches answers by request id. */
    static final class Client implements AutoCloseable {
        final KafkaProducer<String, String> producer;
        final KafkaConsumer<String, byte[]> consumer;
        final Map<String, Long> sentAt = new ConcurrentHashMap<>();
        final Map<String, Long> latency = new ConcurrentHashMap<>();
        final Thread reader;
        volatile boolean running = true;
        int seq;

        Client(String bootstrap, List<String> responseTopics) {
            producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "bench-client"), new StringSerializer(), new StringSerializer());
            consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "bench-client"), new StringDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> parts = responseTopics.stream().flatMap(t -> consumer.partitionsFor(t).stream())
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position);
            reader = new Thread(() -> {
                while (running) {
                    for (var r : consumer.poll(Duration.ofMillis(50))) {
                        Long t = sentAt.get(r.key());
                        if (t != null) {
                            latency.putIfAbsent(r.key(), (System.nanoTime() - t) / 1_000); // µs
                        }
                    }
                }
            }, "bench-reader");
            reader.start();
        }

        Step run(String requests, int rate, int seconds) throws InterruptedException {
            sentAt.clear();
            latency.clear();
            int n = rate * seconds;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long due = start + (long) (i * 1e9 / rate);
                for (long left; (left = due - System.nanoTime()) > 0; ) { // sleep, spin only the last 50 µs: 2 cores
                    if (left > 100_000) {
                        java.util.concurrent.locks.LockSupport.parkNanos(left - 50_000);
                    } else {
                        Thread.onSpinWait();
                    }
                }
                String id = "b" + (seq++);
                var headers = new RecordHeaders();
                headers.add("clops-request-id", id.getBytes(StandardCharsets.UTF_8));
                sentAt.put(id, System.nanoTime());
                producer.send(new ProducerRecord<>(requests, null, id, BODY, headers));
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (latency.size() < n && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            double took = (System.nanoTime() - start) / 1e9;
            List<Long> l = new ArrayList<>(latency.values());
            l.sort(Long::compare);
            double p50 = l.isEmpty() ? -1 : l.get(l.size() / 2) / 1000.0;
            double p99 = l.isEmpty() ? -1 : l.get((int) Math.min(l.size() - 1, Math.ceil(l.size() * 0.99) - 1)) / 1000.0;
            double max = l.isEmpty() ? -1 : l.get(l.size() - 1) / 1000.0;
            return new Step(rate, n, latency.size(), took, p50, p99, max);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            reader.join(2000);
            producer.close();
            consumer.close();
        }
    }
}
