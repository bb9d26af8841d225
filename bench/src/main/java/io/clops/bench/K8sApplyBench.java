package io.clops.bench;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.ModelVersion;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.runtime.ReconcileWorker;
import io.clops.reconciler.Reconciler;
import io.clops.runtime.StatusRules;
import io.clops.runtime.ObservationWriter;
import io.clops.schemas.SchemaTopic;
import io.clops.gateway.CommandGateway;
import io.clops.gateway.Principal;
import io.clops.gateway.Requests;
import io.clops.testing.Fixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Deployments through the real broker and the topology into fabric8's mock API server (CRUD mode), with one
 * Kubernetes worker (its default threads): command → desired (the topology's clops.desired, the worker's input),
 * command → applied (the worker's Applied report on clops.cluster) and command → status (clops.status showing the
 * generation), throughput, write requests per deployment. N = 1: one command at a time, {@value #WARM_UP} not
 * counted then {@value #ONE_BY_ONE} measured; N > 1: a burst of N across min(20, N/50) projects. Each size runs on
 * a fresh broker and mock server, once against the indexed stand-in and once against the stock mock
 * ({@link IndexedCrudDispatcher}; {@code --mock=indexed} or {@code --mock=stock} for one). A first burst of
 * {@value #WARM_UP_BURST} warms the JVM up and is printed as the cold row (a fresh JVM spends a core compiling
 * through it). Usage: bench/k8s-apply.sh [--mock=…] [N ...] (default 1 50 1000).
 */
public final class K8sApplyBench {
    record Result(boolean isCold, String mock, int n, int projects, int measured, double seconds, double writesPerDeployment, double requestsPerDeployment,
                  Map<String, Integer> writesByKind, long desiredP50, long desiredP99, long p50, long p99, long max, long statusP50, long statusP99) {
        Result cold() {
            return new Result(true, mock, n, projects, measured, seconds, writesPerDeployment, requestsPerDeployment, writesByKind,
                    desiredP50, desiredP99, p50, p99, max, statusP50, statusP99);
        }

        String label() {
            return isCold ? mock + ",cold" : mock;
        }
    }

    static final int WARM_UP = 5;
    static final int ONE_BY_ONE = 40;
    static final int WARM_UP_BURST = 1000;

    /** Held so the JUL configuration is not garbage-collected: the mock server logs every request at INFO. */
    private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        List<Integer> sizes = new ArrayList<>();
        List<String> mocks = List.of("indexed", "stock");
        for (String a : args) {
            if (a.startsWith("--mock=")) {
                mocks = List.of(a.substring("--mock=".length()).split(","));
                continue;
            }
            sizes.add(Integer.parseInt(a));
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1, 50, 1000);
        }
        List<Result> results = new ArrayList<>();
        // The platform's JVMs run for days; a fresh one spends a core compiling for its first ~30 s (measured: the C2
        // compiler threads took a third of both cores through a cold 1,000 burst). One unmeasured burst first.
        System.err.println("warm-up: one burst of " + WARM_UP_BURST + " (printed as the cold row)");
        results.add(run(WARM_UP_BURST, "indexed").cold());
        for (int n : sizes) {
            for (String mock : mocks) {
                results.add(run(n, mock));
            }
        }
        System.out.println();
        System.out.println("clops k8s apply bench: one worker (" + ReconcileWorker.Settings.defaults().threads()
                + " threads), fabric8 mock API server (CRUD), embedded KRaft broker, " + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.println("mock: indexed = fabric8's CRUD mock reading an object by name (as an API server does), stock = scanning every stored object per write");
        System.out.println("desired = the topology's clops.desired shows the deployment (the worker's input); a cold row: the first burst in a fresh JVM");
        System.out.println("applied = the worker's Applied report on clops.cluster; status = clops.status shows the generation");
        System.out.printf(Locale.ROOT, "%12s %6s %9s %9s %9s %11s %14s %16s %12s %12s %12s %12s %10s %13s %13s%n", "mock", "N", "projects", "measured", "total s",
                "deploys/s", "writes/deploy", "requests/deploy", "desired p50", "desired p99", "applied p50", "applied p99", "max ms", "status p50", "status p99");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%12s %6s %9d %9d %9.2f %11.1f %14.2f %16.2f %12d %12d %12d %12d %10d %13d %13d%n", r.label(),
                    r.n() == 1 ? "1×" + r.measured() : Integer.toString(r.n()), r.projects(), r.measured(), r.seconds(),
                    r.measured() / r.seconds(), r.writesPerDeployment(), r.requestsPerDeployment(), r.desiredP50(), r.desiredP99(), r.p50(), r.p99(), r.max(),
                    r.statusP50(), r.statusP99());
        }
        for (Result r : results) {
            System.out.println("writes for N=" + r.n() + " (" + r.label() + ") by method and resource: " + r.writesByKind());
        }
        System.exit(0);
    }

    static Result run(int n, String mockKind) throws Exception {
        Path dir = Files.createTempDirectory("clops-bench");
        int projects = n == 1 ? 1 : Math.min(20, Math.max(1, n / 50));
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0)) {
            String bootstrap = broker.bootstrapServers();
            TopicAdmin.ensure(bootstrap, Topics.ALL);
            SchemaTopic.connect(bootstrap);
            KubernetesMockServer mock = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                    switch (mockKind) {
                        case "indexed" -> new IndexedCrudDispatcher();
                        case "stock" -> new KubernetesCrudDispatcher();
                        default -> throw new IllegalArgumentException("--mock: indexed or stock, not " + mockKind);
                    }, false);
            mock.init();
            try (KubernetesClient client = mock.createClient();
                 Reconciler reconciler = Reconciler.start(bootstrap, dir.resolve("streams"), Duration.ofSeconds(60));
                 ObservationWriter status = new ObservationWriter(bootstrap, "bench-worker");
                 CommandGateway gateway = new CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofMinutes(30))) {
                client.apiextensions().v1().customResourceDefinitions()
                        .load(K8sApplyBench.class.getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")).create();
                for (int p = 0; p < projects; p++) {
                    gateway.submit(new io.clops.gateway.Request.CreateProject("p" + p, "bench", null, Fixtures.unlimited()),
                            new Principal("bench"), "create-p" + p);
                    ModelVersion v = Fixtures.version("m", 1, List.of());
                    v.setImage("registry.example/m:1");
                    gateway.submit(Requests.fromAvro(Fixtures.registered("r" + p, "p" + p, v)), new Principal("bench"), "r" + p);
                }
                Map<String, Long> applied = new ConcurrentHashMap<>();
                Map<String, Long> statusSeen = new ConcurrentHashMap<>();
                Thread watcher = watchStatus(bootstrap, statusSeen);
                Thread appliedWatcher = watchApplied(bootstrap, applied);
                Map<String, Long> desiredSeen = new ConcurrentHashMap<>();
                Thread desiredWatcher = watch(bootstrap, Topics.DESIRED.name(), "bench-desired", desiredSeen, (key, value) -> key);
                try (KubernetesRuntime runtime = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:bench", bootstrap), status, Clock.systemUTC());
                     ReconcileWorker worker = new ReconcileWorker(bootstrap, runtime, status).start()) {
                    Map<String, Long> sent = new HashMap<>();
                    if (n == 1) {
                        return oneByOne(mockKind, mock, gateway, applied, statusSeen, desiredSeen, watcher, appliedWatcher, desiredWatcher);
                    }
                    int baseline = mock.getRequestCount();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        String project = "p" + (i % projects);
                        String name = "d" + i;
                        DeploymentSpec spec = Fixtures.spec("m");
                        sent.put(Topics.deploymentKey(project, name), System.nanoTime());
                        // a burst: every command submitted before any verdict is awaited
                        gateway.submitAsync(Requests.fromAvro(Fixtures.deploy("c" + i, project, name, spec)), new Principal("bench"), "c" + i);
                    }
                    long lastPrint = System.nanoTime();
                    while (applied.size() < n || statusSeen.size() < n) {
                        if (System.nanoTime() - lastPrint > 5_000_000_000L) {
                            System.err.printf("… N=%d: %d applied after %.0f s%n", n, applied.size(), (System.nanoTime() - t0) / 1e9);
                            lastPrint = System.nanoTime();
                        }
                        if (System.nanoTime() - t0 > TimeUnit.MINUTES.toNanos(30)) {
                            throw new IllegalStateException("only " + applied.size() + " of " + n + " applied in 30 min");
                        }
                        Thread.sleep(20);
                    }
                    double seconds = (sent.keySet().stream().mapToLong(applied::get).max().orElseThrow() - t0) / 1e9;
                    MockRequests counted = MockRequests.since(mock, baseline); // exactly the requests made until all were applied
                    List<Long> lat = latencies(sent, applied);
                    List<Long> toStatus = latencies(sent, statusSeen);
                    List<Long> toDesired = latencies(sent, desiredSeen);
                    desiredWatcher.interrupt();
                    watcher.interrupt();
                    appliedWatcher.interrupt();
                    return new Result(false, mockKind, n, projects, n, seconds, counted.writes() / (double) n, counted.requests() / (double) n, counted.byKind(),
                            percentile(toDesired, 0.5), percentile(toDesired, 0.99), percentile(lat, 0.5), percentile(lat, 0.99), lat.get(lat.size() - 1), percentile(toStatus, 0.5), percentile(toStatus, 0.99));
                }
            } finally {
                mock.destroy();
            }
        }
    }

    /** One command at a time: each sent once the one before it shows in status; the first few warm up. */
    static Result oneByOne(String mockKind, KubernetesMockServer mock, CommandGateway gateway, Map<String, Long> applied, Map<String, Long> statusSeen,
                           Map<String, Long> desiredSeen, Thread... watchers) throws Exception {
        Map<String, Long> sent = new HashMap<>();
        int baseline = 0;
        long t0 = 0;
        for (int i = 0; i < WARM_UP + ONE_BY_ONE; i++) {
            if (i == WARM_UP) {
                baseline = mock.getRequestCount();
                t0 = System.nanoTime();
            }
            String key = Topics.deploymentKey("p0", "d" + i);
            long at = System.nanoTime();
            gateway.submitAsync(Requests.fromAvro(Fixtures.deploy("c" + i, "p0", "d" + i, Fixtures.spec("m"))), new Principal("bench"), "c" + i);
            while (!statusSeen.containsKey(key)) {
                if (System.nanoTime() - at > TimeUnit.MINUTES.toNanos(1)) {
                    throw new IllegalStateException(key + " not applied within a minute");
                }
                Thread.sleep(0, 200_000);
            }
            if (i >= WARM_UP) {
                sent.put(key, at);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        MockRequests counted = MockRequests.since(mock, baseline);
        List<Long> lat = latencies(sent, applied);
        List<Long> toStatus = latencies(sent, statusSeen);
        List<Long> toDesired = latencies(sent, desiredSeen);
        for (Thread w : watchers) {
            w.interrupt();
        }
        return new Result(false, mockKind, 1, 1, ONE_BY_ONE, seconds, counted.writes() / (double) ONE_BY_ONE, counted.requests() / (double) ONE_BY_ONE, counted.byKind(),
                percentile(toDesired, 0.5), percentile(toDesired, 0.99), percentile(lat, 0.5), percentile(lat, 0.99), lat.get(lat.size() - 1), percentile(toStatus, 0.5), percentile(toStatus, 0.99));
    }

    /** The mock server's requests after the first {@code baseline} (set-up: CRD, registrations, informers' first lists). */
    record MockRequests(long requests, long writes, Map<String, Integer> byKind) {
        static MockRequests since(KubernetesMockServer mock, int baseline) throws InterruptedException {
            long writes = 0;
            long requests = 0;
            Map<String, Integer> byKind = new TreeMap<>();
            int end = mock.getRequestCount();
            for (int i = 0; i < end; i++) {
                RecordedRequest r = mock.takeRequest(1, TimeUnit.SECONDS);
                if (r == null) {
                    break;
                }
                if (i < baseline) {
                    continue;
                }
                requests++;
                if (!r.getMethod().equals("GET")) {
                    writes++;
                    String path = r.getPath().replaceAll("\\?.*", "");
                    String kind = path.endsWith("/status") ? "status" : path.replaceAll(".*/namespaces/[^/]+/([^/]+).*", "$1");
                    byKind.merge(r.getMethod() + " " + kind, 1, Integer::sum);
                }
            }
            return new MockRequests(requests, writes, byKind);
        }
    }

    static List<Long> latencies(Map<String, Long> sent, Map<String, Long> done) {
        List<Long> lat = new ArrayList<>();
        sent.forEach((k, s) -> lat.add((done.get(k) - s) / 1_000_000));
        lat.sort(Long::compare);
        return lat;
    }

    static long percentile(List<Long> sorted, double q) {
        return sorted.get((int) Math.max(0, Math.min(sorted.size() - 1, Math.ceil(sorted.size() * q) - 1)));
    }

    /** Records when the worker first reports generation 1 of each deployment applied (clops.cluster). */
    static Thread watchApplied(String bootstrap, Map<String, Long> applied) {
        return watch(bootstrap, Topics.CLUSTER.name(), "bench-applied", applied, (key, value) -> {
            if (!key.startsWith(io.clops.avro.ObservedKind.Applied.name() + "/")) {
                return null;
            }
            var e = Topics.CLUSTER.valueSerde().deserializer().deserialize(Topics.CLUSTER.name(), value);
            return e.getGeneration() >= 1 && e.getReason() == null ? Topics.deploymentKey(e.getNamespace(), e.getName()) : null;
        });
    }

    /** Records when each deployment's status first reports generation 1 (the end of its first apply). */
    static Thread watchStatus(String bootstrap, Map<String, Long> applied) {
        return watch(bootstrap, Topics.STATUS.name(), "bench-status", applied, (key, value) ->
                Topics.STATUS.valueSerde().deserializer().deserialize(Topics.STATUS.name(), value).getObservedGeneration() >= 1 ? key : null);
    }

    /** Reads {@code topic} from its start; the first time {@code seen} names a deployment for a record, notes when. */
    static Thread watch(String bootstrap, String topic, String clientId, Map<String, Long> when,
                        java.util.function.BiFunction<String, byte[], String> seen) {
        Thread t = new Thread(() -> {
            try (var consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, clientId), new StringDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        for (var rec : consumer.poll(Duration.ofMillis(100))) {
                            long now = System.nanoTime();
                            String key = rec.value() == null ? null : seen.apply(rec.key(), rec.value());
                            if (key != null) {
                                when.putIfAbsent(key, now);
                            }
                        }
                    }
                } catch (org.apache.kafka.common.errors.InterruptException e) {
                    // done: asked to stop while polling
                }
                Thread.interrupted(); // the stop was asked for: close the consumer without its own InterruptException
            }
        }, clientId);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
