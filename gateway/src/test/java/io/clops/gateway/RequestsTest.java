package io.clops.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeployCommand;
import io.clops.avro.Replicas;
import io.clops.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RequestsTest {
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
    void eachIntakeActionBecomesTheRequestItsHttpRouteWouldMake() {
        Request deploy = Requests.fromIntake(json("""
                {"action":"deploy","project":"demo","deployment":{"metadata":{"name":"iris"},"spec":{"model":"iris@champion"}}}"""));
        assertThat(deploy).isInstanceOfSatisfying(Request.Deploy.class, d -> {
            assertThat(d.project()).isEqualTo("demo");
            assertThat(d.name()).isEqualTo("iris");
            assertThat(d.spec()).isEqualTo(Requests.deploy("demo", "iris",
                    json("{\"spec\":{\"model\":\"iris@champion\"}}")).spec());
        });
        assertThat(Requests.fromIntake(json("{\"action\":\"undeploy\",\"project\":\"demo\",\"name\":\"iris\"}")))
                .isEqualTo(new Request.Undeploy("demo", "iris"));
        assertThat(Requests.fromIntake(json("{\"action\":\"register\",\"project\":\"demo\",\"model\":\"iris\",\"version\":{\"image\":\"r/i:1\"}}")))
                .isInstanceOfSatisfying(Request.RegisterVersion.class, r -> assertThat(r.version().getImage()).isEqualTo("r/i:1"));
        assertThat(Requests.fromIntake(json("{\"action\":\"alias\",\"project\":\"demo\",\"model\":\"iris\",\"alias\":\"champion\",\"version\":2}")))
                .isEqualTo(new Request.SetAlias("demo", "iris", "champion", 2));
        assertThat(Requests.fromIntake(json("{\"action\":\"unalias\",\"project\":\"demo\",\"model\":\"iris\",\"alias\":\"champion\"}")))
                .isEqualTo(new Request.RemoveAlias("demo", "iris", "champion"));
        assertThat(Requests.fromIntake(json("{\"action\":\"archive\",\"project\":\"demo\",\"model\":\"iris\",\"version\":1}")))
                .isEqualTo(new Request.ArchiveVersion("demo", "iris", 1));
    }

    @Test
    void aMalformedIntakeRequestNamesEveryFieldFromTheTopOfTheRecord() {
        assertThat(fields(() -> Requests.fromIntake(json("""
                {"action":"deploy","project":"Demo","deployment":{"metadata":{"name":"iris"},
                 "spec":{"model":"iris@@x","replicas":{"min":3,"max":1},"mode":"sometimes"}},"extra":1}"""))))
                .containsExactly("extra");
        assertThat(fields(() -> Requests.fromIntake(json("""
                {"action":"deploy","project":"Demo","deployment":{"metadata":{"name":"iris"},
                 "spec":{"model":"iris@@x","replicas":{"min":3,"max":1},"mode":"sometimes"}}}"""))))
                .contains("deployment.metadata.project", "deployment.spec.model", "deployment.spec.replicas.max", "deployment.spec.mode");
        assertThat(fields(() -> Requests.fromIntake(json("{\"action\":\"launch\",\"project\":\"demo\"}")))).containsExactly("action");
        assertThat(fields(() -> Requests.fromIntake(json("{\"project\":\"demo\"}")))).containsExactly("action");
        assertThat(fields(() -> Requests.fromIntake(json("{\"action\":\"undeploy\",\"project\":7,\"name\":[\"x\"]}"))))
                .containsExactly("project", "name");
        assertThat(fields(() -> Requests.fromIntake(json("{\"action\":\"register\",\"project\":\"demo\",\"model\":\"iris\",\"version\":{\"command\":[1]}}"))))
                .containsExactly("version.command[0]");
        assertThat(fields(() -> Requests.fromIntake(json("{\"action\":\"register\",\"project\":\"demo\",\"model\":\"iris\",\"version\":7}"))))
                .containsExactly("version");
        assertThat(fields(() -> Requests.fromIntake(json("{\"action\":\"archive\",\"project\":\"demo\",\"model\":\"iris\",\"version\":\"1\"}"))))
                .containsExactly("version");
        assertThat(fields(() -> Requests.fromIntake(json("[1]")))).containsExactly("body");
    }

    @Test
    void anAvroEnvelopeIsCheckedLikeJson() {
        CommandEnvelope good = Fixtures.deploy("x", "demo", "iris", Fixtures.spec("iris@champion"));
        assertThat(Requests.fromAvro(good)).isEqualTo(new Request.Deploy("demo", "iris", Fixtures.spec("iris@champion")));
        CommandEnvelope bad = CommandEnvelope.newBuilder(good).setProject("Not A Project").setPayload(DeployCommand.newBuilder()
                .setName("iris").setSpec(io.clops.avro.DeploymentSpec.newBuilder(Fixtures.spec("iris"))
                        .setReplicas(Replicas.newBuilder().setMin(4).setMax(2).build()).build()).build()).build();
        assertThat(fields(() -> Requests.fromAvro(bad))).contains("metadata.project", "spec.replicas.max");
    }

    @Test
    void keysArePrintableAndBounded() {
        assertThat(Requests.key(null, "h")).isNull();
        assertThat(Requests.key("build-42/step:3", "h")).isEqualTo("build-42/step:3");
        assertThat(fields(() -> Requests.key("", "h"))).containsExactly("h");
        assertThat(fields(() -> Requests.key("has space", "h"))).containsExactly("h");
        assertThat(fields(() -> Requests.key("line\r\nbreak", "h"))).containsExactly("h");
        assertThat(fields(() -> Requests.key("x".repeat(201), "h"))).containsExactly("h");
        assertThat(fields(() -> Requests.archive("demo", "iris", "0"))).containsExactly("version");
        assertThat(fields(() -> Requests.archive("demo", "iris", "99999999999"))).containsExactly("version");
    }

    static List<String> messages(Runnable parse) {
        try {
            parse.run();
        } catch (InvalidRequest e) {
            return e.errors().stream().map(FieldError::toString).toList();
        }
        throw new AssertionError("parsed without errors");
    }

    @Test
    void anExpectedGenerationIsAWholeNumberFromZeroWhereverItComesFrom() {
        Request.Deploy d = (Request.Deploy) Requests.fromIntake(json("""
                {"action":"deploy","project":"demo","expectedGeneration":3,"deployment":{"metadata":{"name":"iris"},"spec":{"model":"iris"}}}"""));
        assertThat(d.expectedGeneration()).isEqualTo(3L);
        assertThat(messages(() -> Requests.fromIntake(json("""
                {"action":"deploy","project":"demo","expectedGeneration":-1,"deployment":{"metadata":{"name":"iris"},"spec":{"model":"iris"}}}"""))))
                .containsExactly("expectedGeneration: must be the generation the deployment is expected at (0 for a new one), not -1");
        assertThat(Requests.generation("\"7\"", "If-Match")).isEqualTo(7L);
        assertThat(Requests.generation(null, "If-Match")).isNull();
        assertThat(messages(() -> Requests.generation("W/\"x\"", "If-Match")))
                .containsExactly("If-Match: must be the generation the deployment is expected at (0 for a new one), not 'W/\"x\"'");
    }

    @Test
    void aServiceAccountRequestNamesEachBadField() {
        Requests.ServiceAccountAsked ok = Requests.serviceAccount("demo", json("{\"name\":\"nightly\"}"));
        assertThat(ok.role()).isEqualTo(io.clops.avro.ProjectRole.modeler);
        assertThat(ok.days()).isEqualTo(365);
        assertThat(messages(() -> Requests.serviceAccount("demo", json("{\"name\":\"Nightly\",\"role\":\"root\",\"days\":4000,\"scope\":1}"))))
                .containsExactlyInAnyOrder(
                        "scope: unknown field (known: days, name, role)",
                        "name: 'Nightly' must be lower-case letters, digits and '-', start and end with a letter or digit, at most 40 characters",
                        "role: must be one of viewer, modeler, admin, not \"root\"",
                        "days: must be a whole number of days from 1 to 3650, not 4000");
        assertThat(messages(() -> Requests.removeServiceAccount("demo", "")))
                .containsExactly("name: is required");
    }
}
