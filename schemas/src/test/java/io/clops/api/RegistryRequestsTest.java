package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.avro.ModelVersion;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RegistryRequestsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> fields(Runnable parse) {
        try {
            parse.run();
        } catch (InvalidRequest e) {
            return e.errors().stream().map(FieldError::field).toList();
        }
        throw new AssertionError("parsed without errors");
    }

    @Test
    void aVersionWithoutANumberIsLeftForTheFoldToNumber() {
        ModelVersion v = RegistryRequests.version("demo", "iris", json("""
                {"command":["java","-cp","x","Iris","--port","${PORT}"],"inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,4]}],
                 "tags":{"team":"ml"}}"""));
        assertThat(v.getVersion()).isZero();
        assertThat(v.getModel()).isEqualTo("iris");
        assertThat(v.getCommand()).containsExactly("java", "-cp", "x", "Iris", "--port", "${PORT}");
        assertThat(v.getPort()).isEqualTo(8080);
        assertThat(v.getProtocol()).isEqualTo("v2");
        assertThat(v.getInputs().get(0).getShape()).containsExactly(-1L, 4L);
        assertThat(v.getTags()).isEqualTo(Map.of("team", "ml"));
        assertThat(RegistryRequests.version("demo", "iris", json("{\"version\":7,\"image\":\"reg/iris:7\"}")).getVersion()).isEqualTo(7);
    }

    @Test
    void everyBadFieldIsNamedAndNothingIsCoerced() {
        assertThat(fields(() -> RegistryRequests.version("demo", "Iris", json("""
                {"version":0,"command":[1,{},null,true,[]],"port":"80","protocol":"grpc","tags":{"a":1,"b":"ok"},
                 "inputs":[{"name":"","datatype":"FP99","shape":["1",4.5,-2]},"x"],"colour":"red"}"""))))
                .containsExactlyInAnyOrder("model", "version", "command[0]", "command[1]", "command[2]", "command[3]", "command[4]",
                        "port", "protocol", "tags.a", "inputs[0].name", "inputs[0].datatype", "inputs[0].shape[0]",
                        "inputs[0].shape[1]", "inputs[0].shape[2]", "inputs[1]", "colour");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("{}")))).containsExactly("command");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("[]")))).containsExactly("body");
    }

    static final String SHA = "a".repeat(64);

    @Test
    void aModelFileVersionNamesItsContentAndFormat() {
        ModelVersion v = RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"clops:artifacts/sha256/%s","sha256":"%s","size":660,"format":"onnx"}}""".formatted(SHA, SHA)));
        assertThat(v.getArtifact().getSha256()).isEqualTo(SHA);
        assertThat(v.getArtifact().getFormat()).isEqualTo("onnx");
        assertThat(v.getCommand()).isEmpty();
        assertThat(RegistryRequests.validate("demo", "iris", v)).as("the typed path (an Avro envelope on the intake)").isEqualTo(v);
        assertThat(RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"file:/models/iris.json","sha256":"%s","size":1,"format":"xgboost"}}""".formatted(SHA))).getArtifact().getUri())
                .isEqualTo("file:/models/iris.json");
        assertThat(RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"https://models.example/iris/1/iris.onnx?v=1","sha256":"%s","size":1,"format":"onnx"}}""".formatted(SHA))).getArtifact().getUri())
                .as("fetched where it is served").isEqualTo("https://models.example/iris/1/iris.onnx?v=1");
    }

    @Test
    void aModelFileUrlHasAHostAndNothingHidden() {
        for (String bad : java.util.List.of("https://", "https:///iris.onnx", "https://user:secret@models.example/iris.onnx",
                "https://models.example/a b.onnx", "http://models.example/iris.onnx#x", "https://models.example/\\u0000", "HTTPS//x/y")) {
            String body = "{\"artifact\":{\"uri\":\"" + bad + "\",\"sha256\":\"" + SHA + "\",\"size\":1,\"format\":\"onnx\"}}";
            assertThat(fields(() -> RegistryRequests.version("demo", "iris", json(body)))).as(bad).containsExactly("artifact.uri");
        }
    }

    @Test
    void aBadModelFileIsRefusedFieldByField() {
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"ftp://x/iris.onnx","sha256":"ABC","size":0,"format":"pickle","colour":1}}"""))))
                .containsExactlyInAnyOrder("artifact.uri", "artifact.sha256", "artifact.size", "artifact.format", "artifact.colour");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"clops:artifacts/sha256/%s","sha256":"%s","size":"660","format":"onnx"}}""".formatted("b".repeat(64), SHA)))))
                .containsExactlyInAnyOrder("artifact.uri", "artifact.size");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("""
                {"artifact":{"uri":"file:/models/../etc/passwd","sha256":"%s","size":1,"format":"onnx"}}""".formatted(SHA)))))
                .containsExactly("artifact.uri");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("{\"artifact\":\"iris.onnx\"}")))).containsExactly("artifact");
        assertThat(fields(() -> RegistryRequests.version("demo", "iris", json("{}")))).containsExactly("command");
    }

    @Test
    void anAliasTargetIsAVersionNumber() {
        assertThat(RegistryRequests.aliasTarget("champion", json("{\"version\":3}"))).isEqualTo(3);
        assertThat(fields(() -> RegistryRequests.aliasTarget("Champ!", json("{\"version\":\"3\"}")))).containsExactly("alias", "version");
        assertThat(fields(() -> RegistryRequests.aliasTarget("champion", json("{}")))).containsExactly("version");
        assertThat(fields(() -> RegistryRequests.aliasTarget("champion", json("{\"version\":2,\"why\":1}")))).containsExactly("why");
    }

    @Test
    void aTypedVersionIsCheckedByTheSameRules() {
        ModelVersion good = RegistryRequests.version("demo", "iris", json("{\"image\":\"reg/iris:1\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]}]}"));
        assertThat(RegistryRequests.validate("demo", "iris", good)).isEqualTo(good);
        ModelVersion noRuntime = ModelVersion.newBuilder(good).setImage(null).build();
        assertThat(fields(() -> RegistryRequests.validate("demo", "iris", noRuntime))).containsExactly("command");
        assertThat(fields(() -> RegistryRequests.validate("demo", "other", good))).containsExactly("version.model");
    }
}
