package io.clops.bench;

import io.clops.platform.Platform;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The command path, command → verdict, over the running services: an embedded KRaft broker, the topology and the
 * API with its gateway and intake in this JVM (no worker: nothing is started for a deployment, only its desired
 * state is written). Over HTTP and over the Kafka intake, one client at a time (latency) and 16 clients at once
 * (throughput), for deploys of new deployments and for undeploys of deployments that do not exist (refused by the
 * fold). Rounds repeat the eight runs (the JIT is still compiling in the first). Usage: bench/command-path.sh [n=500]
 * (-Dbench.rounds=3).
 */
public final class CommandPathBench {
    static final ObjectMapper JSON = new ObjectMapper();

    record Result(String what, int clients, int n, double seconds, long[] micros, double cpuSeconds) {
        double p(double q) {
            long[] s = micros.clone();
            Arrays.sort(s);
            return s[Math.min(s.length - 1, (int) Math.floor(q * s.length))] / 1000.0;
        }
    }

    /** Sends command {@code i} and returns once its verdict is known. */
    interface Sender {
        void send(int i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int rounds = Integer.getInteger("bench.rounds", 3);
        Path home = Files.createTempDirectory("clops-bench-commands");
        List<Result> results = new ArrayList<>();
        double idleBefore;
        double idleAfter;
        try (Platform platform = Platform.start(new Platform.Options(home, "127.0.0.1", 0, 0, null,
                EnumSet.of(Platform.Component.API, Platform.Component.RECONCILER), "local", null, false),
                m -> System.err.println("clops: " + m));
             IntakeClient intake = new IntakeClient(platform.bootstrap())) {
            String api = platform.apiUrl();
            for (int c = 0; c < 16; c++) {
                register(api, "bench-" + c);
            }
            register(api, "bench");
            // warm-up: the JIT (everything runs in this one JVM), connections, the topology's first commits
            run("warm-up (http)", 16, 3000, i -> http(api, i % 2 == 0 ? deploy("bench-" + (i % 16), "warm-" + i)
                    : delete("bench-" + (i % 16), "warm-" + (i - 1))));
            run("warm-up (intake)", 16, 3000, i -> intake.send("bench-" + (i % 16), i % 2 == 0
                    ? deployJson("bench-" + (i % 16), "iwarm-" + i) : undeployJson("bench-" + (i % 16), "iwarm-" + (i - 1))));
            idleBefore = idle(5);
            for (int round = 0; round < rounds; round++) {
                String r = "r" + round + "-";
                results.add(run("http: undeploy of nothing (refused)", 1, n, i -> http(api, delete("bench", r + "nothing-" + i))));
                results.add(run("http: deploy, new deployment", 1, n, i -> http(api, deploy("bench", r + "one-" + i))));
                results.add(run("intake: undeploy of nothing", 1, n, i -> intake.send("bench", undeployJson("bench", r + "inothing-" + i))));
                results.add(run("intake: deploy, new deployment", 1, n, i -> intake.send("bench", deployJson("bench", r + "ione-" + i))));
                results.add(run("http: undeploy of nothing (refused)", 16, n * 8, i -> http(api, delete("bench-" + (i % 16), r + "nothing-" + i))));
                results.add(run("http: deploy, new deployment", 16, n * 8, i -> http(api, deploy("bench-" + (i % 16), r + "many-" + i))));
                results.add(run("intake: undeploy of nothing", 16, n * 8, i -> intake.send("bench-" + (i % 16),
                        undeployJson("bench-" + (i % 16), r + "inothing-" + i))));
                intake.printHops("before");
                results.add(run("intake: deploy, new deployment", 16, n * 8, i -> intake.send("bench-" + (i % 16),
                        deployJson("bench-" + (i % 16), r + "imany-" + i))));
                intake.printHops("intake: deploy, 16 clients");
            }
            idleAfter = idle(10);
            if (Boolean.getBoolean("bench.metrics")) {
                dumpStreamsMetrics();
            }
        }
        System.out.println();
        System.out.println("clops command path: command -> verdict over HTTP and over the Kafka intake; embedded KRaft broker,"
                + " topology, API and clients in one JVM, " + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.printf(Locale.ROOT, "idle: %.2f cores after the warm-up, %.3f after the runs%n", idleBefore, idleAfter);
        System.out.printf(Locale.ROOT, "%-6s %-36s %8s %8s %10s %12s %10s %10s %10s %10s %14s%n", "round", "what", "clients", "n",
                "total s", "commands/s", "p50 ms", "p99 ms", "max ms", "cores", "CPU ms/command");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            System.out.printf(Locale.ROOT, "%-6d %-36s %8d %8d %10.2f %12.1f %10.1f %10.1f %10.1f %10.2f %14.2f%n", i / 8 + 1, r.what(),
                    r.clients(), r.n(), r.seconds(), r.n() / r.seconds(), r.p(0.50), r.p(0.99), r.p(1.0), r.cpuSeconds() / r.seconds(),
                    r.cpuSeconds() * 1000 / r.n());
        }
    }

    static double idle(int seconds) throws InterruptedException {
        long cpu = cpuNanos();
        Thread.sleep(seconds * 1000L);
        return (cpuNanos() - cpu) / (seconds * 1e9);
    }

    static String deployJson(String project, String name) {
        return "{\"action\":\"deploy\",\"project\":\"" + project + "\",\"deployment\":{\"metadata\":{\"name\":\"" + name
                + "\"},\"spec\":{\"model\":\"iris@champion\"}}}";
    }

    static String undeployJson(String project, String name) {
        return "{\"action\":\"undeploy\",\"project\":\"" + project + "\",\"name\":\"" + name + "\"}";
    }

    /**
     * A pipeline on the intake: one producer shared by the client threads (acks=all, the default partitioner: keyed by
     * project here, which the gateway does not rely on), verdicts followed on clops.command-results by request id.
     */
    static final class IntakeClient implements AutoCloseable {
        private final org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> producer;
        private final java.util.Map<String, java.util.concurrent.CompletableFuture<Void>> waiting = new java.util.concurrent.ConcurrentHashMap<>();
        private final io.clops.kafka.TopicTail verdicts;
        /** With -Dbench.hops=true: when each request's command became visible on clops.commands (the intake's hop). */
        private final io.clops.kafka.TopicTail commands;
        final java.util.Map<String, Long> appendedAt = new java.util.concurrent.ConcurrentHashMap<>();
        final java.util.List<long[]> hops = java.util.Collections.synchronizedList(new ArrayList<>());

        IntakeClient(String bootstrap) {
            this.producer = new org.apache.kafka.clients.producer.KafkaProducer<>(io.clops.kafka.KafkaConfigs.producer(bootstrap, "bench-pipeline"),
                    new org.apache.kafka.common.serialization.StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer());
            this.verdicts = new io.clops.kafka.TopicTail(bootstrap, io.clops.kafka.Topics.COMMAND_RESULTS.name(), "bench-verdicts", rec -> {
                var f = waiting.remove(rec.key());
                if (f != null) {
                    f.complete(null);
                }
            });
            this.commands = !Boolean.getBoolean("bench.hops") ? null
                    : new io.clops.kafka.TopicTail(bootstrap, io.clops.kafka.Topics.COMMANDS.name(), "bench-commands", rec -> {
                        var c = io.clops.kafka.Topics.COMMANDS.valueSerde().deserializer().deserialize(rec.topic(), rec.value());
                        if (c.getRequestId() != null) {
                            appendedAt.put(c.getRequestId(), System.nanoTime());
                        }
                    });
        }

        void send(String project, String json) throws Exception {
            String id = java.util.UUID.randomUUID().toString();
            var verdict = new java.util.concurrent.CompletableFuture<Void>();
            waiting.put(id, verdict);
            var record = new org.apache.kafka.clients.producer.ProducerRecord<String, byte[]>(io.clops.kafka.Topics.INTAKE.name(), project,
                    json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            record.headers().add(io.clops.gateway.Intake.REQUEST_ID, id.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            long t0 = System.nanoTime();
            producer.send(record).get();
            verdict.get(60, java.util.concurrent.TimeUnit.SECONDS);
            long t1 = System.nanoTime();
            Long appended = commands == null ? null : appendedAt.remove(id);
            if (appended != null) {
                hops.add(new long[]{(appended - t0) / 1000, (t1 - appended) / 1000});
            }
        }

        void printHops(String what) {
            if (commands == null || hops.isEmpty()) {
                return;
            }
            long[] a = hops.stream().mapToLong(h -> h[0]).sorted().toArray();
            long[] b = hops.stream().mapToLong(h -> h[1]).sorted().toArray();
            System.err.printf(Locale.ROOT, "   %s: sent → on clops.commands p50 %.1f p99 %.1f ms; on clops.commands → verdict p50 %.1f p99 %.1f ms%n",
                    what, a[a.length / 2] / 1e3, a[(int) (a.length * 0.99)] / 1e3, b[b.length / 2] / 1e3, b[(int) (b.length * 0.99)] / 1e3);
            hops.clear();
        }

        @Override
        public void close() {
            if (commands != null) {
                commands.close();
            }
            verdicts.close();
            producer.close();
        }
    }

    /** With -Dbench.metrics=true: where the topology's stream thread spends its loop (Kafka Streams' own JMX metrics). */
    static void dumpStreamsMetrics() throws Exception {
        javax.management.MBeanServer mbs = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        for (javax.management.ObjectName n : mbs.queryNames(new javax.management.ObjectName("kafka.streams:type=stream-thread-metrics,*"), null)) {
            for (String a : List.of("poll-latency-avg", "poll-records-avg", "process-latency-avg", "process-records-avg",
                    "commit-latency-avg", "commit-rate", "poll-rate", "process-rate", "poll-ratio", "process-ratio", "commit-ratio")) {
                try {
                    System.out.println(a + " = " + mbs.getAttribute(n, a));
                } catch (Exception e) {
                    System.out.println(a + ": " + e);
                }
            }
        }
    }

    record Call(String method, String path, String body) {
    }

    static Call deploy(String project, String name) {
        return new Call("POST", "/api/v1/projects/" + project + "/deployments",
                "{\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{\"model\":\"iris@champion\"}}");
    }

    static Call delete(String project, String name) {
        return new Call("DELETE", "/api/v1/projects/" + project + "/deployments/" + name, null);
    }

    static void register(String api, String project) throws Exception {
        send(api, new Call("POST", "/api/v1/projects", "{\"name\":\"" + project + "\"}"), 201);
        JsonNode v = send(api, new Call("POST", "/api/v1/projects/" + project + "/models/iris/versions",
                "{\"command\":[\"true\"]}"), 201);
        send(api, new Call("PUT", "/api/v1/projects/" + project + "/models/iris/aliases/champion",
                "{\"version\":" + v.get("version").asInt() + "}"), 200);
    }

    static Result run(String what, int clients, int n, Sender sender) throws Exception {
        long[] micros = new long[n];
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long cpu0 = cpuNanos();
        long jit0 = java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
        java.util.Map<String, Long> threads0 = threadCpu();
        long t0 = System.nanoTime();
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            futures.add(pool.submit(() -> {
                for (int i = client; i < n; i += clients) {
                    long s = System.nanoTime();
                    sender.send(i);
                    micros[i] = (System.nanoTime() - s) / 1000;
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpu = (cpuNanos() - cpu0) / 1e9;
        if (Boolean.getBoolean("bench.threads")) {
            java.util.Map<String, Long> threads1 = threadCpu();
            threads1.entrySet().stream().map(e -> java.util.Map.entry(e.getKey(), e.getValue() - threads0.getOrDefault(e.getKey(), 0L)))
                    .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(15)
                    .forEach(e -> System.err.printf(Locale.ROOT, "   %8.1f ms  %s%n", e.getValue() / 1e6, e.getKey()));
            long gc = java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(b -> b.getCollectionTime()).sum();
            System.err.printf(Locale.ROOT, "   GC so far: %d ms; JIT in this phase: %d ms%n", gc,
                    java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0);
        }
        pool.shutdown();
        System.err.printf(Locale.ROOT, "clops: %s, %d clients: %d in %.2f s%n", what, clients, n, seconds);
        return new Result(what, clients, n, seconds, micros, cpu);
    }

    static java.util.Map<String, Long> threadCpu() {
        java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> out = new java.util.HashMap<>();
        for (long id : t.getAllThreadIds()) {
            java.lang.management.ThreadInfo info = t.getThreadInfo(id);
            long c = t.getThreadCpuTime(id);
            if (info != null && c > 0) {
                out.merge(info.getThreadName().replaceAll("[0-9a-f]{8}-[0-9a-f-]{27}", "*").replaceAll("-[0-9]+$", "-N"), c, Long::sum);
            }
        }
        return out;
    }

    /** CPU time of this whole process (broker, topology, API and clients): what the 2 cores spent. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /**
     * One HTTP/1.1 keep-alive connection per client thread, written and read as bytes: the JDK's HttpClient costs
     * ~0.3 ms of CPU per request on this machine, which the bench would otherwise take from the platform it measures.
     */
    static final ThreadLocal<RawClient> CLIENTS = new ThreadLocal<>();

    static void http(String api, Call c) throws Exception {
        send(api, c, -1);
    }

    static JsonNode send(String api, Call c, int expect) throws Exception {
        RawClient client = CLIENTS.get();
        if (client == null) {
            client = new RawClient(URI.create(api));
            CLIENTS.set(client);
        }
        RawClient.Response r = client.send(c.method(), c.path(), c.body());
        JsonNode body = JSON.readTree(r.body());
        if (expect > 0 && r.status() != expect) {
            throw new IllegalStateException(c + " → " + r.status() + " " + r.body());
        }
        if (r.status() != 200 && r.status() != 201 && r.status() != 409) {
            throw new IllegalStateException(c + " → " + r.status() + " " + r.body());
        }
        if (body.has("verdict") && "pending".equals(body.get("verdict").asText())) {
            throw new IllegalStateException(c + " got no verdict in time: " + r.body());
        }
        return body;
    }

    /** A blocking HTTP/1.1 client on one kept-alive socket: Content-Length bodies only (what the clops API sends). */
    static final class RawClient {
        record Response(int status, String body) {
        }

        private final java.net.Socket socket;
        private final java.io.OutputStream out;
        private final java.io.DataInputStream in;
        private final String host;

        RawClient(URI api) throws java.io.IOException {
            this.socket = new java.net.Socket(api.getHost(), api.getPort());
            socket.setTcpNoDelay(true);
            this.out = new java.io.BufferedOutputStream(socket.getOutputStream());
            this.in = new java.io.DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
            this.host = api.getHost() + ":" + api.getPort();
        }

        Response send(String method, String path, String body) throws java.io.IOException {
            byte[] b = body == null ? new byte[0] : body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + b.length + "\r\n\r\n";
            out.write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            String status = line();
            int code = Integer.parseInt(status.split(" ")[1]);
            int length = -1;
            for (String h = line(); !h.isEmpty(); h = line()) {
                int colon = h.indexOf(':');
                if (colon > 0 && h.substring(0, colon).equalsIgnoreCase("content-length")) {
                    length = Integer.parseInt(h.substring(colon + 1).trim());
                }
            }
            if (length < 0) {
                throw new java.io.IOException("no Content-Length in the answer to " + method + " " + path);
            }
            byte[] answer = new byte[length];
            in.readFully(answer);
            return new Response(code, new String(answer, java.nio.charset.StandardCharsets.UTF_8));
        }

        private String line() throws java.io.IOException {
            StringBuilder sb = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new java.io.EOFException("connection closed");
                }
                if (c != '\r') {
                    sb.append((char) c);
                }
            }
            return sb.toString();
        }
    }
}
