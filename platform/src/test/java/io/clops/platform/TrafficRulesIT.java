package io.clops.platform;

import com.sun.net.httpserver.HttpServer;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.avro.ResolvedRoute;
import io.clops.executor.ExecutorConfig;
import io.clops.executor.ExecutorMain;
import io.clops.k8s.model.K8sModel;
import io.clops.k8s.model.PlatformSettings;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.runtime.ExecutorContract;
import io.clops.runtime.local.LocalProcessRuntime;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same traffic rules on both runtimes, tested the same way: a 90/10 deployment served asynchronously by the
 * executors each runtime configures, through the real broker. On one machine: the executor the local runtime starts
 * (its environment, from {@link LocalProcessRuntime#executorContract}). On Kubernetes: one executor per version's
 * Deployment as {@link K8sModel} writes it, its environment taken from the objects as they are, except that the
 * addresses only a cluster resolves (the pod's own model on 127.0.0.1, the other versions' model Services) point at
 * the test's model servers: no cluster runs here. 10,000 requests split 90/10 within four standard deviations
 * (±120), and a {@code clops-route} header keeps a caller on its version.
 */
@ExtendWith(KafkaExtension.class)
class TrafficRulesIT {
    static final int N = 10_000;
    static final int STICKY = 300;
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";

    /** A model server that answers with its route's name. */
    static HttpServer model(String name) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        s.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                byte[] b = ("{\"model_name\":\"" + name + "\",\"outputs\":[]}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        });
        s.setExecutor(Executors.newFixedThreadPool(4));
        s.start();
        return s;
    }

    static DesiredDeployment split(String project) {
        DeploymentSpec s = spec("iris");
        s.setMode("async");
        s.getExecutor().setLogRequests(false);
        List<ResolvedRoute> routes = new ArrayList<>();
        for (int[] vw : new int[][]{{1, 90}, {2, 10}}) {
            ModelVersion v = version("iris", vw[0], List.of("serve"));
            v.setImage("registry.example/iris:" + vw[0]);
            v.setPort(8080);
            v.setInputs(List.of());
            routes.add(ResolvedRoute.newBuilder().setRef("iris:" + vw[0]).setVersion(v).setWeight(vw[1]).build());
        }
        return DesiredDeployment.newBuilder().setProject(project).setName("iris").setGeneration(1).setSpec(s).setRoutes(routes)
                .setShadow(null).setCommandId("c").setActor("a").setTimeMs(1).build();
    }

    @Test
    void onTheLocalRuntime() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        DesiredDeployment d = split("traffic-local");
        HttpServer v1 = model("iris-v1");
        HttpServer v2 = model("iris-v2");
        ExecutorContract contract = LocalProcessRuntime.executorContract(d,
                List.of(v1.getAddress().getPort(), v2.getAddress().getPort()), 0, bootstrap);
        try (ExecutorMain executor = new ExecutorMain(ExecutorConfig.fromEnv(contract.toEnv()))) {
            followsTheRules(bootstrap, d);
        } finally {
            v1.stop(0);
            v2.stop(0);
        }
    }

    @Test
    void onTheKubernetesRuntimesObjects() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        DesiredDeployment d = split("traffic-k8s");
        Map<String, HttpServer> models = new LinkedHashMap<>();
        models.put("iris-v1", model("iris-v1"));
        models.put("iris-v2", model("iris-v2"));
        List<ExecutorMain> executors = new ArrayList<>();
        try {
            for (HasMetadata o : K8sModel.deployment(d, PlatformSettings.defaults("clops/executor:test", bootstrap), null)) {
                if (o instanceof Deployment workload) {
                    Map<String, String> env = new HashMap<>();
                    workload.getSpec().getTemplate().getSpec().getContainers().stream().filter(c -> c.getName().equals("executor"))
                            .findFirst().orElseThrow().getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
                    executors.add(new ExecutorMain(ExecutorConfig.fromEnv(onThisMachine(env, models))));
                }
            }
            assertThat(executors).as("one executor per version's pods").hasSize(2);
            followsTheRules(bootstrap, d);
        } finally {
            executors.forEach(ExecutorMain::close);
            models.values().forEach(s -> s.stop(0));
        }
    }

    /** The pod's environment with each route's address (127.0.0.1 in the pod, a Service's DNS name) a local model's. */
    static Map<String, String> onThisMachine(Map<String, String> env, Map<String, HttpServer> models) {
        Map<String, String> out = new HashMap<>(env);
        List<ExecutorContract.Route> routes = new ArrayList<>();
        String routesText = env.get("CLOPS_ROUTES");
        for (String part : routesText.split(";")) {
            String[] f = part.split("=");
            routes.add(new ExecutorContract.Route(f[0], "http://127.0.0.1:" + models.get(f[0]).getAddress().getPort(), Integer.parseInt(f[2])));
        }
        out.put("CLOPS_ROUTES", ExecutorContract.format(routes));
        out.put("CLOPS_EXECUTOR_PORT", "0");
        out.put("CLOPS_EXECUTOR_HOST", "127.0.0.1");
        return out;
    }

    static void followsTheRules(String bootstrap, DesiredDeployment d) throws Exception {
        String project = d.getProject();
        TopicAdmin.ensure(bootstrap, List.of(Topics.inferRequests(project, "iris").spec(), Topics.inferResponses(project, "iris").spec()));
        Map<String, String> answeredBy = send(bootstrap, project, "split", N, null);
        long v1 = answeredBy.values().stream().filter("iris-v1"::equals).count();
        long v2 = answeredBy.values().stream().filter("iris-v2"::equals).count();
        assertThat(v1 + v2).isEqualTo(N);
        double sd = Math.sqrt(N * 0.9 * 0.1);
        assertThat((double) v1).as("answered by iris-v1 of %d (expected 9,000 ± %.0f)", N, 4 * sd).isBetween(9000 - 4 * sd, 9000 + 4 * sd);
        assertThat(send(bootstrap, project, "sticky-v2", STICKY, "iris-v2").values()).as("a caller asking for iris-v2").containsOnly("iris-v2");
        assertThat(send(bootstrap, project, "sticky-v1", STICKY, "iris-v1").values()).as("a caller asking for iris-v1").containsOnly("iris-v1");
    }

    /** Sends n requests (ids prefix-0…) and waits for an answer to each: request id → the route that answered. */
    static Map<String, String> send(String bootstrap, String project, String prefix, int n, String route) throws Exception {
        String requests = Topics.inferRequests(project, "iris").name();
        String responses = Topics.inferResponses(project, "iris").name();
        Map<String, String> answered = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "traffic-" + prefix),
                new StringDeserializer(), new StringDeserializer());
             KafkaProducer<String, String> producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "traffic-" + prefix),
                     new StringSerializer(), new StringSerializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(responses).stream().map(p -> new TopicPartition(responses, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position); // the known point: answers from here on
            for (int i = 0; i < n; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(requests, prefix + "-" + i, BODY);
                r.headers().add("clops-request-id", (prefix + "-" + i).getBytes(StandardCharsets.UTF_8));
                if (route != null) {
                    r.headers().add("clops-route", route.getBytes(StandardCharsets.UTF_8));
                }
                producer.send(r);
            }
            producer.flush();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (answered.size() < n) {
                assertThat(System.nanoTime()).as("%d of %d answered within 2 minutes", answered.size(), n).isLessThan(deadline);
                for (var rec : consumer.poll(Duration.ofMillis(200))) {
                    var id = rec.headers().lastHeader("clops-request-id");
                    var by = rec.headers().lastHeader("clops-route");
                    if (id != null && by != null && new String(id.value(), StandardCharsets.UTF_8).startsWith(prefix + "-")) {
                        answered.putIfAbsent(new String(id.value(), StandardCharsets.UTF_8), new String(by.value(), StandardCharsets.UTF_8));
                    }
                }
            }
        }
        return answered;
    }
}
