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
import io.clops.runtime.StatusWriter;
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
 * N deployments through the real broker and the topology into fabric8's mock API server (CRUD mode), with one
 * Kubernetes worker: time until all are applied, write requests per deployment, command→applied latency.
 * Each size runs on a fresh broker and mock server. Usage: bench/k8s-apply.sh [N ...] (default 1000 10000).
 */
public final class K8sApplyBench {
    record Result(int n, double seconds, double writesPerDeployment, double requestsPerDeployment,
                  Map<String, Integer> writesByKind, long p50, long p99, long max) {
    }

    /** Held so the JUL configuration is not garbage-collected: the mock server logs every request at INFO. */
    private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    public static void main(String[] args) throws Exception {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) {
            sizes.add(Integer.parseInt(a));
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1000, 10000);
        }
        List<Result> results = new ArrayList<>();
        for (int n : sizes) {
            results.add(run(n));
        }
        System.out.println();
        System.out.println("clops k8s apply bench: one worker, fabric8 mock API server (CRUD), embedded KRaft broker, "
                + Runtime.getRuntime().availableProcessors() + " cores");
        System.out.printf(Locale.ROOT, "%8s %10s %12s %14s %16s %10s %10s %10s%n", "N", "total s", "deploys/s",
                "writes/deploy", "requests/deploy", "p50 ms", "p99 ms", "max ms");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%8d %10.1f %12.1f %14.2f %16.2f %10d %10d %10d%n", r.n(), r.seconds(), r.n() / r.seconds(),
                    r.writesPerDeployment(), r.requestsPerDeployment(), r.p50(), r.p99(), r.max());
        }
        for (Result r : results) {
            System.out.println("writes for N=" + r.n() + " by method and resource: " + r.writesByKind());
        }
        System.exit(0);
    }

    static Result run(int n) throws Exception {
        Path dir = Files.createTempDirectory("clops-bench");
        int projects = Math.max(1, n / 100);
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0)) {
            String bootstrap = broker.bootstrapServers();
            TopicAdmin.ensure(bootstrap, Topics.ALL);
            SchemaTopic.connect(bootstrap);
            KubernetesMockServer mock = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                    new KubernetesCrudDispatcher(), false);
            mock.init();
            try (KubernetesClient client = mock.createClient();
                 Reconciler reconciler = Reconciler.start(bootstrap, dir.resolve("streams"), Duration.ofSeconds(60));
                 StatusWriter status = new StatusWriter(bootstrap, "bench-worker");
                 CommandGateway gateway = new CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofMinutes(30))) {
                client.apiextensions().v1().customResourceDefinitions()
                        .load(K8sApplyBench.class.getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")).create();
                for (int p = 0; p < projects; p++) {
                    ModelVersion v = Fixtures.version("m", 1, List.of());
                    v.setImage("registry.example/m:1");
                    gateway.submit(Requests.fromAvro(Fixtures.registered("r" + p, "p" + p, v)), new Principal("bench"), "r" + p);
                }
                Map<String, Long> applied = new ConcurrentHashMap<>();
                Thread watcher = watchStatus(bootstrap, applied);
                try (KubernetesRuntime runtime = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:bench", bootstrap), status, Clock.systemUTC());
                     ReconcileWorker worker = new ReconcileWorker(bootstrap, runtime, status).start()) {
                    int baseline = mock.getRequestCount();
                    Map<String, Long> sent = new HashMap<>();
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
                    while (applied.size() < n) {
                        if (System.nanoTime() - lastPrint > 5_000_000_000L) {
                            System.err.printf("… N=%d: %d applied after %.0f s%n", n, applied.size(), (System.nanoTime() - t0) / 1e9);
                            lastPrint = System.nanoTime();
                        }
                        if (System.nanoTime() - t0 > TimeUnit.MINUTES.toNanos(30)) {
                            throw new IllegalStateException("only " + applied.size() + " of " + n + " applied in 30 min");
                        }
                        Thread.sleep(20);
                    }
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    int end = mock.getRequestCount();
                    long writes = 0;
                    long requests = 0;
                    Map<String, Integer> byKind = new TreeMap<>();
                    for (int i = 0; i < end; i++) { // exactly the requests made until all were applied
                        RecordedRequest r = mock.takeRequest(1, TimeUnit.SECONDS);
                        if (r == null) {
                            break;
                        }
                        if (i < baseline) {
                            continue; // set-up: CRD, registrations, informers' first lists
                        }
                        requests++;
                        if (!r.getMethod().equals("GET")) {
                            writes++;
                            String path = r.getPath().replaceAll("\\?.*", "");
                            String kind = path.endsWith("/status") ? "status" : path.replaceAll(".*/namespaces/[^/]+/([^/]+).*", "$1");
                            byKind.merge(r.getMethod() + " " + kind, 1, Integer::sum);
                        }
                    }
                    List<Long> lat = new ArrayList<>();
                    sent.forEach((k, s) -> lat.add((applied.get(k) - s) / 1_000_000));
                    lat.sort(Long::compare);
                    watcher.interrupt();
                    return new Result(n, seconds, writes / (double) n, requests / (double) n, byKind,
                            lat.get(lat.size() / 2), lat.get((int) Math.min(lat.size() - 1, Math.ceil(lat.size() * 0.99) - 1)), lat.get(lat.size() - 1));
                }
            } finally {
                mock.destroy();
            }
        }
    }

    /** Records when each deployment's status first reports generation 1 (the end of its first apply). */
    static Thread watchStatus(String bootstrap, Map<String, Long> applied) {
        Thread t = new Thread(() -> {
            try (var consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "bench-status"), new StringDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> parts = consumer.partitionsFor(Topics.STATUS.name()).stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                while (!Thread.currentThread().isInterrupted()) {
                    for (var rec : consumer.poll(Duration.ofMillis(100))) {
                        if (rec.value() != null) {
                            long now = System.nanoTime();
                            var s = Topics.STATUS.valueSerde().deserializer().deserialize(rec.topic(), rec.value());
                            if (s.getObservedGeneration() >= 1) {
                                applied.putIfAbsent(rec.key(), now);
                            }
                        }
                    }
                }
            } catch (org.apache.kafka.common.errors.InterruptException e) {
                // done
            }
        }, "bench-status");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
