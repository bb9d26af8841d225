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
        assertThat(check("{\"inputs\":[]}")).isEqualTo("input 'input-0' is required");
        assertThat(check("{\"nope\":1}")).isEqualTo("inputs: a list of tensors is required");
        assertThat(new ShapeValidator(java.util.List.of()).appliesTo("POST", "/v2/models/iris/infer")).as("nothing declared, nothing checked").isFalse();
    }
}
