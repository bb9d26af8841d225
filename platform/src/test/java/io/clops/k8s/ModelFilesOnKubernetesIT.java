package io.clops.k8s;

import com.sun.net.httpserver.HttpServer;
import io.clops.avro.Artifact;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model file on the Kubernetes runtime (issue 13), against fabric8's mock API server (standing in for a cluster):
 * the worker writes a Deployment whose pods fetch the file in an init step into the node's cache, keyed by digest,
 * and serve it with the platform's image. No kubelet runs here, so the test runs what the kubelet would: the init
 * step's own command line, read back from the object the mock stores, with the hostPath and the token Secret mounted
 * at temporary directories. A second pod of the version on the node fetches nothing; a changed file is refused,
 * naming both digests, and nothing is cached.
 */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class ModelFilesOnKubernetesIT {
    static KubernetesClient client;

    @TempDir
    Path dir;

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    record Ran(int code, String out) {
    }

    /** A container's command as a kubelet on this machine would run it: java and lib/* of the image are this JVM's. */
    Ran run(Container c, Path nodeCache, Path tokenDir) throws Exception {
        List<String> cmd = new ArrayList<>();
        for (String part : concat(c.getCommand(), c.getArgs())) {
            String p = part.equals("java") ? Path.of(System.getProperty("java.home"), "bin", "java").toString()
                    : part.equals("lib/*") ? System.getProperty("java.class.path") : part;
            cmd.add(p.replace("/var/cache/clops/models", nodeCache.toString()).replace("/var/run/clops/model-fetch", tokenDir.toString()));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Ran(p.waitFor(), out);
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void podsOfAModelFileFetchItOncePerNodeAndAChangedFileIsRefused() throws Exception {
        client.apiextensions().v1().customResourceDefinitions()
                .load(ModelFilesOnKubernetesIT.class.getResourceAsStream("/META-INF/fabric8/modeldeployments.clops.io-v1.yml")).create();
        byte[] model = Files.readAllBytes(Path.of("..", "examples", "target", "models", "iris.onnx"));
        String sha = sha256(model);
        AtomicReference<byte[]> served = new AtomicReference<>(model);
        AtomicInteger fetches = new AtomicInteger();
        HttpServer store = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        store.createContext("/api/v1/projects/files/artifacts/sha256/" + sha, ex -> {
            boolean allowed = "Bearer fetch-token".equals(ex.getRequestHeaders().getFirst("Authorization"));
            byte[] body = allowed ? served.get() : "{\"error\":\"no token\"}".getBytes(StandardCharsets.UTF_8);
            if (allowed) {
                fetches.incrementAndGet();
            }
            ex.sendResponseHeaders(allowed ? 200 : 401, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        store.start();
        Path nodeA = dir.resolve("node-a");
        Path tokenDir = Files.createDirectories(dir.resolve("secret"));
        Files.writeString(tokenDir.resolve("token"), "fetch-token\n");
        var v = version("iris", 1, List.of());
        v.setArtifact(Artifact.newBuilder().setUri("clops:artifacts/sha256/" + sha).setSha256(sha).setSize(model.length).setFormat("onnx").build());
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject("files").setName("iris").setGeneration(1)
                .setSpec(spec("iris")).setRoutes(List.of(ResolvedRoute.newBuilder().setRef("iris:1").setVersion(v).setWeight(100).build()))
                .setShadow(null).setCommandId("c").setActor("a").setTimeMs(1).build();
        PlatformSettings settings = PlatformSettings.defaults("clops/clops:test", "kafka:9092").withModelFiles(
                new PlatformSettings.ModelFiles("clops/clops:test", "http://127.0.0.1:" + store.getAddress().getPort(), "/var/cache/clops/models", "clops-model-fetch"));
        try (ObservationWriter status = new ObservationWriter(KafkaExtension.bootstrapServers(), "files");
             KubernetesRuntime runtime = new KubernetesRuntime(client, settings, status, Clock.systemUTC())) {
            runtime.apply(d);
            Deployment stored = client.apps().deployments().inNamespace("files").withName("iris").get();
            assertThat(stored).as("the Deployment the worker wrote").isNotNull();
            PodSpec pod = stored.getSpec().getTemplate().getSpec();
            assertThat(pod.getVolumes().stream().filter(x -> x.getName().equals("model-cache")).findFirst().orElseThrow().getHostPath().getPath())
                    .isEqualTo("/var/cache/clops/models");
            Container fetch = pod.getInitContainers().get(0);
            Container server = pod.getContainers().stream().filter(c -> c.getName().equals("model")).findFirst().orElseThrow();
            assertThat(fetch.getImage()).isEqualTo("clops/clops:test");
            assertThat(server.getImage()).isEqualTo("clops/clops:test");

            // the first pod on node a fetches; the second finds the file by its digest and fetches nothing
            Ran first = run(fetch, nodeA, tokenDir);
            assertThat(first.code()).as(first.out()).isZero();
            assertThat(first.out()).contains("fetched " + nodeA.resolve("sha256").resolve(sha));
            assertThat(fetches.get()).isEqualTo(1);
            Ran second = run(fetch, nodeA, tokenDir);
            assertThat(second.code()).as(second.out()).isZero();
            assertThat(second.out()).contains("cached " + nodeA.resolve("sha256").resolve(sha));
            assertThat(fetches.get()).as("the second pod on the node fetched nothing").isEqualTo(1);
            // what the runtime container is told to serve is that very file
            int at = server.getArgs().indexOf("--file");
            Path file = Path.of(server.getArgs().get(at + 1).replace("/var/cache/clops/models", nodeA.toString()));
            assertThat(sha256(Files.readAllBytes(file))).isEqualTo(sha);

            // node b, and the store now holds a file with one byte changed: refused, both digests named, nothing cached
            byte[] changed = model.clone();
            changed[changed.length / 2] ^= 0x01;
            served.set(changed);
            Path nodeB = dir.resolve("node-b");
            Ran refused = run(fetch, nodeB, tokenDir);
            assertThat(refused.code()).as(refused.out()).isEqualTo(3);
            assertThat(refused.out()).contains("its SHA-256 is " + sha256(changed)).contains("registered as " + sha);
            assertThat(nodeB.resolve("sha256").resolve(sha)).doesNotExist();
        } finally {
            store.stop(0);
        }
    }
}
