package io.clops.cli;

import io.clops.avro.Artifact;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.model.K8sModel;
import io.clops.k8s.model.PlatformSettings;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The platform's image is clops's model runtime on Kubernetes: what the worker tells a model file's pods to run (the
 * init step and the model container) is in that image. No Docker engine here to build it, so this checks the parts:
 * the Dockerfile puts the CLI's runtime classpath in {@code /opt/clops/lib} (the working directory the commands'
 * {@code lib/*} is relative to) with XGBoost's OpenMP library, and every class those commands name is on that
 * classpath (the CLI module's, which the Dockerfile copies).
 */
class RuntimeImageTest {
    @Test
    void whatAModelFilesPodsRunIsInThePlatformsImage() throws Exception {
        String sha = "a".repeat(64);
        var v = version("iris", 1, List.of());
        v.setArtifact(Artifact.newBuilder().setUri("clops:artifacts/sha256/" + sha).setSha256(sha).setSize(1).setFormat("xgboost").build());
        DesiredDeployment d = DesiredDeployment.newBuilder().setProject("p").setName("iris").setGeneration(1).setSpec(spec("iris"))
                .setRoutes(List.of(ResolvedRoute.newBuilder().setRef("iris:1").setVersion(v).setWeight(100).build()))
                .setCommandId("c").setActor("a").setTimeMs(1).build();
        Deployment dep = (Deployment) K8sModel.deployment(d, PlatformSettings.defaults("ghcr.io/clops/clops:0.1.0", "kafka:9092"), null)
                .stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
        var pod = dep.getSpec().getTemplate().getSpec();
        List<Container> run = new ArrayList<>(pod.getInitContainers());
        run.add(pod.getContainers().stream().filter(c -> c.getName().equals("model")).findFirst().orElseThrow());
        for (Container c : run) {
            assertThat(c.getImage()).isEqualTo("ghcr.io/clops/clops:0.1.0");
            List<String> cmd = c.getCommand();
            assertThat(cmd.get(0)).isEqualTo("java");
            assertThat(cmd).containsSubsequence("-cp", "lib/*");
            String main = cmd.get(cmd.indexOf("lib/*") + 1);
            assertThat(Class.forName(main).getMethod("main", String[].class)).as(main + " on the CLI's classpath").isNotNull();
        }
        Class.forName("ai.onnxruntime.OrtEnvironment");
        Class.forName("ml.dmlc.xgboost4j.java.XGBoost");

        String dockerfile = Files.readString(Path.of("..", "Dockerfile"));
        assertThat(dockerfile).contains("WORKDIR /opt/clops").contains("COPY cli/target/lib/ lib/").contains("libgomp1");
    }
}
