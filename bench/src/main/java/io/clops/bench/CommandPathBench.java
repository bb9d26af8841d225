package io.clops.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.cli.LocalPlatform;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * The command path, command → verdict, over the running services: an embedded KRaft broker, the topology and the
 * API in this JVM (no worker: nothing is started for a deployment, only its desired state is written). Measures
 * one client at a time (latency) and 16 clients at once (throughput), for deploys of new deployments and for
 * DELETEs of deployments that do not exist (refused by the fold). Usage: bench/command-path.sh [n=500].
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

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        Path home = Files.createTempDirectory("clops-bench-commands");
        List<Result> results = new ArrayList<>();
        try (LocalPlatform platform = LocalPlatform.start(new LocalPlatform.Options(home, "127.0.0.1", 0, 0, null,
                EnumSet.of(LocalPlatform.Component.API, LocalPlatform.Component.RECONCILER), "local", null),
                m -> System.err.println("clops: " + m))) {
            String api = platform.apiUrl();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            for (int c = 0; c < 16; c++) {
                register(http, api, "bench-" + c);
            }
            register(http, api, "bench");
            // warm-up: JIT, connections, the topology's first commits
            run(http, api, "warm-up", 16, 3000, i -> i % 2 == 0 ? deploy("bench-" + (i % 16), "warm-" + i) : delete("bench-" + (i % 16), "warm-" + (i - 1)));
            long idle0 = cpuNanos();
            Thread.sleep(5000);
            System.err.printf(Locale.ROOT, "clops: idle, the platform uses %.2f cores%n", (cpuNanos() - idle0) / 5e9);
            int rounds = Integer.getInteger("bench.rounds", 1);
            for (int round = 0; round < rounds; round++) {
                String r = "r" + round + "-";
                results.add(run(http, api, "undeploy of nothing (refused)", 1, n, i -> delete("bench", r + "nothing-" + i)));
                results.add(run(http, api, "deploy, new deployment", 1, n, i -> deploy("bench", r + "one-" + i)));
                results.add(run(http, api, "undeploy of nothing (refused)", 16, n * 8, i -> delete("bench-" + (i % 16), r + "nothing-" + i)));
                results.add(run(http, api, "deploy, new deployment", 16, n * 8, i -> deploy("bench-" + (i % 16), r + "many-" + i)));
            }
            long idle1 = cpuNanos();
            Thread.sleep(10_000);
            System.err.printf(Locale.ROOT, "clops: idle after the runs, the platform uses %.3f cores%n", (cpuNanos() - idle1) / 10e9);
            if (Boolean.getBoolean("bench.metrics")) {
                dumpStreamsMetrics();
            }
        }
        System.out.println();
        System.out.println("clops command path: HTTP command -> verdict, embedded KRaft broker + topology + API in one JVM, "
                + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.printf(Locale.ROOT, "%-32s %8s %8s %10s %12s %10s %10s %10s %10s %14s%n", "what", "clients", "n", "total s",
                "commands/s", "p50 ms", "p99 ms", "max ms", "cores", "CPU ms/command");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-32s %8d %8d %10.2f %12.1f %10.1f %10.1f %10.1f %10.2f %14.2f%n", r.what(), r.clients(), r.n(),
                    r.seconds(), r.n() / r.seconds(), r.p(0.50), r.p(0.99), r.p(1.0), r.cpuSeconds() / r.seconds(),
                    r.cpuSeconds() * 1000 / r.n());
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

    static IntFunction<Call> none() {
        return i -> null;
    }

    static Call deploy(String project, String name) {
        return new Call("POST", "/api/v1/projects/" + project + "/deployments",
                "{\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{\"model\":\"iris@champion\"}}");
    }

    static Call delete(String project, String name) {
        return new Call("DELETE", "/api/v1/projects/" + project + "/deployments/" + name, null);
    }

    static void register(HttpClient http, String api, String project) throws Exception {
        JsonNode v = send(http, api, new Call("POST", "/api/v1/projects/" + project + "/models/iris/versions",
                "{\"command\":[\"true\"]}"), 201);
        send(http, api, new Call("PUT", "/api/v1/projects/" + project + "/models/iris/aliases/champion",
                "{\"version\":" + v.get("version").asInt() + "}"), 200);
    }

    static Result run(HttpClient http, String api, String what, int clients, int n, IntFunction<Call> call) throws Exception {
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
                    send(http, api, call.apply(i), -1);
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

    static JsonNode send(HttpClient unused, String api, Call c, int expect) throws Exception {
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
