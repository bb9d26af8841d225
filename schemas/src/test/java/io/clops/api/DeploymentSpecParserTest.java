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
        assertThat(s.getBatching()).as("batching off unless asked").isNull();
    }

    @Test
    void batchingTakesItsDefaultsAndItsBounds() throws Exception {
        DeploymentSpec on = DeploymentSpecParser.parse("demo", "iris", doc("{\"spec\":{\"model\":\"iris\",\"batching\":{}}}")).spec();
        assertThat(on.getBatching().getMaxBatchSize()).isEqualTo(16);
        assertThat(on.getBatching().getMaxDelayUs()).isEqualTo(2000);
        DeploymentSpec set = DeploymentSpecParser.parse("demo", "iris", doc(
                "{\"spec\":{\"model\":\"iris\",\"batching\":{\"maxBatchSize\":64,\"maxDelayUs\":500}}}")).spec();
        assertThat(set.getBatching().getMaxBatchSize()).isEqualTo(64);
        assertThat(set.getBatching().getMaxDelayUs()).isEqualTo(500);
        assertThat(DeploymentSpecParser.validate("demo", "iris", set).spec()).as("the typed path").isEqualTo(set);

        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2(
                "{\"spec\":{\"model\":\"iris\",\"batching\":{\"maxBatchSize\":0,\"maxDelayUs\":-1,\"size\":8}}}"))))
                .containsExactlyInAnyOrder("spec.batching.maxBatchSize", "spec.batching.maxDelayUs", "spec.batching.size");
        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2(
                "{\"spec\":{\"model\":\"iris\",\"batching\":{\"maxBatchSize\":\"16\",\"maxDelayUs\":2000000}}}"))))
                .containsExactlyInAnyOrder("spec.batching.maxBatchSize", "spec.batching.maxDelayUs");
        assertThat(fields(() -> DeploymentSpecParser.parse("demo", "iris", doc2("{\"spec\":{\"model\":\"iris\",\"batching\":true}}"))))
                .containsExactly("spec.batching");
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
    void resourcesAreKubernetesQuantitiesCheckedExactlyAndEachMessageNamesItsField() {
        java.util.Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"cpu\":\"1.5m\"}", "spec.resources.cpu: '1.5m' is not a whole number of its unit: CPU is counted in whole millicores"
                + " (1m = 0.001 cores); a CPU quantity is such as 500m or 2");
        cases.put("{\"cpu\":\"0\"}", "spec.resources.cpu: must be between 1m and 1024, not '0'");
        cases.put("{\"cpu\":\"2000\"}", "spec.resources.cpu: must be between 1m and 1024, not '2000'");
        cases.put("{\"cpu\":1.5}", "spec.resources.cpu: must be a CPU quantity such as 500m or 2 (a string), not 1.5");
        cases.put("{\"memory\":\"99999999999999999999Gi\"}", "spec.resources.memory: '99999999999999999999Gi' is too large;"
                + " a memory quantity is such as 512Mi or 2Gi");
        cases.put("{\"memory\":\"17Ti\"}", "spec.resources.memory: must be between 1 and 16Ti, not '17Ti'");
        cases.put("{\"memory\":\"1GB\"}", "spec.resources.memory: '1GB' has an unknown suffix 'GB' (one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E,"
                + " or an exponent e3); a memory quantity is such as 512Mi or 2Gi");
        cases.put("{\"gpu\":1,\"gpuType\":\"GPU\"}", "spec.resources.gpuType: must be an extended resource name such as nvidia.com/gpu, not 'GPU'");
        cases.forEach((resources, message) -> {
            try {
                DeploymentSpecParser.parse("demo", "iris", doc2("{\"spec\":{\"model\":\"iris\",\"resources\":" + resources + "}}"));
                throw new AssertionError("accepted: " + resources);
            } catch (InvalidRequest e) {
                assertThat(e.errors()).as(resources).extracting(FieldError::toString).containsExactly(message);
            }
        });
        DeploymentSpec ok = DeploymentSpecParser.parse("demo", "iris", doc2("""
                {"spec":{"model":"iris","resources":{"cpu":"0.25","memory":"1.5Gi","gpu":2,"gpuType":"amd.com/gpu"}}}""")).spec();
        assertThat(ok.getResources().getCpu()).as("kept as written").isEqualTo("0.25");
        assertThat(Quantity.millicores(ok.getResources().getCpu())).isEqualTo(250);
        assertThat(ok.getResources().getGpuType()).isEqualTo("amd.com/gpu");
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
