package io.clops.executor;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ShapeValidatorTest {
    final ShapeValidator v = ShapeValidator.fromJson("[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]");

    String check(String body) {
        return v.check(body.getBytes(StandardCharsets.UTF_8));
    }

    static String req(String name, String dt, String shape, String data) {
        return "{\"inputs\":[{\"name\":\"" + name + "\",\"datatype\":\"" + dt + "\",\"shape\":" + shape + ",\"data\":" + data + "}]}";
    }

    @Test
    void aRequestThatFitsPasses() {
        assertThat(check(req("input-0", "FP32", "[2,4]", "[[1,2,3,4],[5,6,7,8]]"))).isNull();
        assertThat(v.appliesTo("POST", "/v2/models/iris/infer")).isTrue();
        assertThat(v.appliesTo("POST", "/v2/models/iris/versions/2/infer")).isTrue();
        assertThat(v.appliesTo("GET", "/v2/models/iris")).isFalse();
    }

    @Test
    void eachMismatchNamesTheInput() {
        assertThat(check(req("x", "FP32", "[1,4]", "[1,2,3,4]"))).isEqualTo("input 'x' is not declared (declared: input-0)");
        assertThat(check(req("input-0", "FP64", "[1,4]", "[1,2,3,4]"))).isEqualTo("input 'input-0': datatype FP64, expected FP32");
        assertThat(check(req("input-0", "FP32", "[1,3]", "[1,2,3]"))).isEqualTo("input 'input-0': shape [1, 3] does not match [-1, 4]");
        assertThat(check(req("input-0", "FP32", "[2,4]", "[1,2,3,4]"))).isEqualTo("input 'input-0': 4 values for shape [2, 4] (expected 8)");
        assertThat(check("{\"inputs\":[]}")).isEqualTo("inputs: a non-empty list of tensors is required");
        assertThat(check("{\"nope\":1}")).isEqualTo("inputs: a non-empty list of tensors is required");
        assertThat(new ShapeValidator(java.util.List.of()).appliesTo("POST", "/v2/models/iris/infer")).as("nothing declared, nothing checked").isFalse();
    }

    /** Every tensor that reached the iris model unchecked before (issue 14), refused with its input and element named. */
    @Test
    void invalidTensorsAreRefusedNamingTheElement() {
        assertThat(check(req("input-0", "FP32", "[1,4]", "[\"1\",2,3,4]"))).isEqualTo("input 'input-0': data[0] must be a finite FP32 number, not \"1\"");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,true,3,4]"))).isEqualTo("input 'input-0': data[1] must be a finite FP32 number, not true");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,2,null,4]"))).startsWith("input 'input-0': data[2] must be");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,2,3,{}]"))).startsWith("input 'input-0': data[3] must be");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,2,3,1e999]"))).isEqualTo("input 'input-0': data[3] must be a finite FP32 number, not Infinity");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,2,3,1e39]"))).as("finite as FP64, not as FP32").startsWith("input 'input-0': data[3] must be");
        assertThat(check("{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4]}]}")).isEqualTo("input 'input-0': data is required");
        assertThat(check(req("input-0", "FP32", "[\"1\",\"4\"]", "[1,2,3,4]"))).isEqualTo("input 'input-0': shape[0] must be a non-negative integer, not \"1\"");
        assertThat(check(req("input-0", "FP32", "[1.9,4.2]", "[1,2,3,4]"))).isEqualTo("input 'input-0': shape[0] must be a non-negative integer, not 1.9");
        assertThat(check(req("input-0", "FP32", "[4611686018427387905,4]", "[1,2,3,4]")))
                .isEqualTo("input 'input-0': shape [4611686018427387905, 4] has more elements than a request body can hold (5242880)");
        assertThat(check(req("input-0", "FP32", "[1,4]", "[1,2,3,4]") + " trailing")).startsWith("body: is not valid JSON");
        assertThat(v.check(("\uFEFF" + req("input-0", "FP32", "[1,4]", "[1,2,3,4]")).getBytes(StandardCharsets.UTF_8))).startsWith("body: starts with a byte-order mark");
        assertThat(v.check(req("input-0", "FP32", "[1,4]", "[1,2,3,4]").getBytes(StandardCharsets.UTF_16))).startsWith("body: is not UTF-8 JSON");
        assertThat(check("{\"inputs\":[{\"name\":\"input-0\",\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}"))
                .isEqualTo("inputs[0].name: is given more than once");
        String twice = req("input-0", "FP32", "[1,4]", "[1,2,3,4]");
        assertThat(check(twice.replace("]}]}", "]},") + twice.substring("{\"inputs\":[".length())))
                .isEqualTo("input 'input-0' is given twice");
    }

    @Test
    void eachDatatypeTakesItsOwnElements() {
        assertThat(ShapeValidator.kind("BOOL", node("true"))).isNull();
        assertThat(ShapeValidator.kind("BOOL", node("1"))).isNotNull();
        assertThat(ShapeValidator.kind("BYTES", node("\"aGk=\""))).isNull();
        assertThat(ShapeValidator.kind("BYTES", node("7"))).isNotNull();
        assertThat(ShapeValidator.kind("INT8", node("127"))).isNull();
        assertThat(ShapeValidator.kind("INT8", node("128"))).isNotNull();
        assertThat(ShapeValidator.kind("INT32", node("1.5"))).isNotNull();
        assertThat(ShapeValidator.kind("UINT8", node("-1"))).isNotNull();
        assertThat(ShapeValidator.kind("UINT64", node("18446744073709551615"))).isNull();
        assertThat(ShapeValidator.kind("UINT64", node("18446744073709551616"))).isNotNull();
        assertThat(ShapeValidator.kind("FP16", node("65504"))).isNull();
        assertThat(ShapeValidator.kind("FP16", node("70000"))).isNotNull();
        assertThat(ShapeValidator.kind("FP64", node("1e308"))).isNull();
        assertThat(ShapeValidator.kind("FP64", node("1e999"))).isNotNull();
    }

    static com.fasterxml.jackson.databind.JsonNode node(String json) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
