package io.clops.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.testing.Fuzz;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes infer bodies against the iris model's declared input: the check never throws, and whatever it lets through
 * is, by an independent reading (a lenient parser and plain arithmetic), a well-formed FP32 [n, 4] tensor: the model
 * gets nothing it did not declare.
 */
class ShapeFuzzTest {
    static final ObjectMapper LENIENT = new ObjectMapper();

    @Test
    void inferBodiesAgainstTheDeclaredInputs() {
        Fuzz.run("executor-tensors", Fuzz.corpus(ShapeFuzzTest.class, "executor-tensors",
                "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[2,4],\"data\":[[5.1,3.5,1.4,0.2],[6.3,3.3,6.0,2.5]]}]}",
                "{\"id\":\"x\",\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4],\"parameters\":{}}]}"),
                List.of("1e999", "-0", "null", "true", "\"1\"", "[", "]", "{", "}", ",", "\"shape\":", "\"data\":", "\"name\":\"input-0\"",
                        "\"datatype\":\"FP64\"", "4611686018427387905", "1.5", "\uFEFF", "\u0000"),
                body -> {
                    String wrong = Http1FuzzTest.IRIS.check(body);
                    if (wrong == null) {
                        assertThat(wellFormed(body)).as("let through").isTrue();
                    }
                });
    }

    /** The oracle: one input-0, FP32, shape [n,4] of non-negative integers, n*4 finite FP32 numbers. */
    static boolean wellFormed(byte[] body) throws Exception {
        JsonNode req = LENIENT.readTree(body);
        JsonNode inputs = req.get("inputs");
        if (inputs == null || inputs.size() != 1) {
            return false;
        }
        JsonNode in = inputs.get(0);
        if (!"input-0".equals(in.path("name").asText(null)) || !"FP32".equals(in.path("datatype").asText(null))) {
            return false;
        }
        JsonNode shape = in.get("shape");
        if (shape == null || shape.size() != 2 || !shape.get(0).isIntegralNumber() || shape.get(0).asLong() < 0
                || !shape.get(1).isIntegralNumber() || shape.get(1).asLong() != 4) {
            return false;
        }
        long expected = shape.get(0).asLong() * 4;
        long count = 0;
        Deque<JsonNode> todo = new ArrayDeque<>();
        todo.push(in.get("data"));
        while (!todo.isEmpty()) {
            JsonNode x = todo.pop();
            if (x == null) {
                return false;
            }
            if (x.isArray()) {
                x.forEach(todo::push);
            } else if (x.isNumber() && Math.abs(x.asDouble()) <= Float.MAX_VALUE) {
                count++;
            } else {
                return false;
            }
        }
        return count == expected;
    }
}
