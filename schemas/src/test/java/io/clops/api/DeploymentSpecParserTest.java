package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.avro.DeploymentSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeploymentSpecParserTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode doc(String text) throws Exception {
        return JSON.readTree(text);
    }

    static List<String> fields(Runnable parse) {
        return RegistryRequestsTest.fields(parse);
    }

    @Test
    void aShortSpecGetsItsDefaults() throws Exception {
        DeploymentSpecParser.Parsed p = DeploymentSpecParser.parse("demo", null,
                doc("{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris@champion\"}}"));
        assertThat(p.project()).isEqualTo("demo");
        assertThat(p.name()).isEqualTo("iris");
        DeploymentSpec s = p.spec();
        assertThat(s.getModel()).isEqualTo("iris@champion");
        assertThat(s.getResources().getCpu()).isEqualTo("500m");
        assertThat(s.getResources().getMemory()).isEqualTo("512Mi");
        assertThat(s.getReplicas().getMin()).isEqualTo(1);
        assertThat(s.getReplicas().getMax()).isEqualTo(1);
        assertThat(s.getMode()).isEqualTo("both");
        assertThat(s.getExecutor().getTimeoutMs()).isEqualTo(5000);
        assertThat(s.getExecutor().getLogRequests()).isTrue();
        assertThat(s.getTraffic()).isEmpty();
        assertThat(s.getShadow()).isNull();
    }

    @Test
    void everyBadFieldIsNamedAtOnce() {
        List<String> f = fields(() -> DeploymentSpecParser.parse("demo", null, doc2("""
                {"apiVersion":"clops.io/v2","kind":"Deployment","metadata":{"name":"Iris_1","colour":"red"},
                 "spec":{"model":"iris@@x","replica":{"min":1},"replicas":{"min":3,"max":2},"mode":"sometimes",
                         "resources":{"cpu":"lots","memory":"1 GB","gpu":99},"port":70000,"protocol":"grpc",
                         "autoscale":{"metric":"mood","target":0},
                         "traffic":[{"model":"iris:1","weight":70},{"model":"iris:0"}],
                         "executor":{"timeoutMs":"5s","logRequests":"yes"}}}""")));
        assertThat(f).contains("apiVersion", "kind", "metadata.name", "metadata.colour", "spec.model", "spec.replica",
                "spec.replicas.max", "spec.mode", "spec.resources.cpu", "spec.resources.memory", "spec.resources.gpu",
                "spec.port", "spec.protocol", "spec.autoscale.metric", "spec.autoscale.target", "spec.traffic[1].model",
                "spec.traffic[1].weight", "spec.traffic", "spec.executor.timeoutMs", "spec.executor.logRequests");
    }

    @Test
    void theUrlAndTheDocumentMustAgree() {
        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2(
                "{\"metadata\":{\"name\":\"other\",\"project\":\"elsewhere\"},\"spec\":{\"model\":\"iris\"}}"))))
                .containsExactly("metadata.name", "metadata.project");
    }

    @Test
    void notAnObjectOrNoSpecIsRefused() {
        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2("[1,2]")))).containsExactly("body");
        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2("{\"metadata\":{}}")))).containsExactly("spec");
    }

    @Test
    void aTypedSpecIsCheckedByTheSameRules() throws Exception {
        DeploymentSpec good = DeploymentSpecParser.parse("demo", "iris", doc("""
                {"spec":{"model":"iris:1","traffic":[{"model":"iris:1","weight":60},{"model":"iris:2","weight":40}],
                 "shadow":"iris:3","autoscale":{"metric":"rps","target":50},"replicas":{"min":1,"max":4}}}""")).spec();
        assertThat(DeploymentSpecParser.validate("demo", "iris", good).spec()).isEqualTo(good);

        DeploymentSpec bad = DeploymentSpec.newBuilder(good).setMode("sometimes")
                .setReplicas(io.clops.avro.Replicas.newBuilder().setMin(5).setMax(2).build()).build();
        assertThat(fields(() -> DeploymentSpecParser.validate("demo", "iris", bad))).containsExactly("spec.replicas.max", "spec.mode");
        assertThatThrownBy(() -> DeploymentSpecParser.validate("demo", "Bad Name", good)).isInstanceOf(InvalidRequest.class)
                .hasMessageContaining("metadata.name");
    }

    static JsonNode doc2(String text) {
        return RegistryRequestsTest.json(text);
    }
}
