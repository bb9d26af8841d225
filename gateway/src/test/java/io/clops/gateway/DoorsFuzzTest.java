package io.clops.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.api.DeploymentSpecParser;
import io.clops.api.InvalidRequest;
import io.clops.api.RegistryRequests;
import io.clops.api.StrictJson;
import io.clops.testing.Fuzz;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the control plane's doors (the strict JSON reader, the deployment and registry parsers, the intake's actions)
 * with a mutational fuzzer ({@link Fuzz}; 5 s here, {@code bench/fuzz.sh} for longer). Invariants: a request is
 * taken or refused with an {@link InvalidRequest} naming at least one field, never anything else (which the API would
 * answer with a 5xx); a refusal's fields are bounded; a spec taken as a document is taken as a typed envelope too.
 */
class DoorsFuzzTest {
    static final List<String> DICTIONARY = List.of("{", "}", "[", "]", ",", ":", "\"", "null", "true", "1e999", "-1", "0",
            "99999999999999999999", "\"spec\":", "\"model\":", "\"metadata\":", "\"replicas\":", "\"min\":", "\"max\":",
            "\"traffic\":", "\"weight\":", "\"shadow\":", "\"resources\":", "\"cpu\":", "\"memory\":", "\"500m\"", "\"2Gi\"",
            "\"command\":", "\"inputs\":", "\"shape\":", "\"tags\":", "\"action\":", "\"deploy\"", "\"register\"", "\"project\":",
            "\"clops\"", "\"iris@champion\"", "\uFEFF", "\u0000");

    @Test
    void controlPlaneRequests() {
        Fuzz.run("control-plane", Fuzz.corpus(DoorsFuzzTest.class, "control-plane",
                "{\"action\":\"deploy\",\"project\":\"demo\",\"deployment\":{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris@champion\","
                        + "\"replicas\":{\"min\":1,\"max\":3},\"resources\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"traffic\":[{\"model\":\"iris:1\",\"weight\":60},"
                        + "{\"model\":\"iris:2\",\"weight\":40}],\"shadow\":\"iris:3\",\"autoscale\":{\"metric\":\"rps\",\"target\":50}}}}",
                "{\"action\":\"register\",\"project\":\"demo\",\"model\":\"iris\",\"version\":{\"command\":[\"serve\"],\"inputs\":[{\"name\":\"x\","
                        + "\"datatype\":\"FP32\",\"shape\":[-1,4]}],\"tags\":{\"team\":\"ml\"},\"port\":8080,\"protocol\":\"v2\"}}",
                "{\"action\":\"alias\",\"project\":\"demo\",\"model\":\"iris\",\"alias\":\"champion\",\"version\":2}"), DICTIONARY,
                DoorsFuzzTest::door);
    }

    static void door(byte[] input) {
        JsonNode json;
        try {
            json = StrictJson.parse(input);
        } catch (InvalidRequest e) {
            refusal(e);
            return;
        }
        try {
            Request r = Requests.fromIntake(json);
            if (r instanceof Request.Deploy d) {
                assertThat(DeploymentSpecParser.validate(d.project(), d.name(), d.spec()).spec()).as("typed like the document")
                        .isEqualTo(d.spec());
            }
        } catch (InvalidRequest e) {
            refusal(e);
        }
        for (JsonNode part : new JsonNode[]{json, json.path("deployment"), json.path("version")}) {
            try {
                DeploymentSpecParser.parse("demo", null, part);
            } catch (InvalidRequest e) {
                refusal(e);
            }
            try {
                RegistryRequests.version("demo", "iris", part);
            } catch (InvalidRequest e) {
                refusal(e);
            }
        }
    }

    static void refusal(InvalidRequest e) {
        assertThat(e.errors()).isNotEmpty();
        e.errors().forEach(f -> {
            assertThat(f.field()).isNotBlank().hasSizeLessThan(400);
            assertThat(f.message()).isNotBlank().hasSizeLessThan(2000);
        });
    }
}
