package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every rule of a project request names the field it is about. */
class ProjectRequestsTest {

    static JsonNode json(String s) {
        return StrictJson.parse(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static List<FieldError> errors(Runnable r) {
        try {
            r.run();
        } catch (InvalidRequest e) {
            return e.errors();
        }
        throw new AssertionError("expected an InvalidRequest");
    }

    @Test
    void aProjectWithItsQuotaIsParsed() {
        ProjectRequests.Create c = ProjectRequests.create(json("""
                {"name":"team-a","description":"fraud models","admin":"alice@example.com",
                 "quota":{"cpu":"8","memory":"32Gi","gpu":{"nvidia.com/gpu":2},"deployments":10,"replicas":40}}"""));
        assertThat(c.name()).isEqualTo("team-a");
        assertThat(c.admin()).isEqualTo("alice@example.com");
        assertThat(c.description()).isEqualTo("fraud models");
        assertThat(c.quota()).isEqualTo(ProjectQuota.newBuilder().setCpu("8").setMemory("32Gi").setGpu(Map.of("nvidia.com/gpu", 2))
                .setDeployments(10).setReplicas(40).build());
    }

    @Test
    void noQuotaIsUnlimitedAndNoAdminIsTheCaller() {
        ProjectRequests.Create c = ProjectRequests.create(json("{\"name\":\"team-a\"}"));
        assertThat(c.admin()).isNull();
        assertThat(c.quota()).isEqualTo(ProjectRequests.unlimited());
        assertThat(c.quota().getCpu()).isNull();
        assertThat(c.quota().getGpu()).isEmpty();
    }

    @Test
    void eachBadFieldOfACreateIsNamed() {
        List<FieldError> e = errors(() -> ProjectRequests.create(json("""
                {"name":"Team A","admin":"two words","description":123,"owner":"x",
                 "quota":{"cpu":"lots","memory":"-1Gi","gpu":{"GPU":1,"nvidia.com/gpu":-1},"deployments":"ten","replicas":1.5,"disk":"1Ti"}}""")));
        assertThat(e).extracting(FieldError::field).containsExactlyInAnyOrder("name", "admin", "description", "owner",
                "quota.cpu", "quota.memory", "quota.gpu.GPU", "quota.gpu.nvidia.com/gpu", "quota.deployments", "quota.replicas", "quota.disk");
        assertThat(message(e, "quota.cpu")).isEqualTo("'lots' must start with a number; a CPU quantity is such as 500m or 2");
        assertThat(message(e, "quota.memory")).isEqualTo("'-1Gi' must not be negative; a memory quantity is such as 512Mi or 2Gi");
        assertThat(message(e, "quota.gpu.nvidia.com/gpu")).isEqualTo("must be between 0 and 1000000, not -1");
        assertThat(message(e, "owner")).startsWith("unknown field (known: admin, description, name, quota)");
    }

    @Test
    void reservedAndMissingNamesAreRefused() {
        assertThat(errors(() -> ProjectRequests.create(json("{\"name\":\"kube-system\"}"))))
                .extracting(FieldError::message).containsExactly("'kube-system' is reserved for the platform (clops, clops-*, kube-*)");
        assertThat(errors(() -> ProjectRequests.create(json("{}")))).extracting(FieldError::field, FieldError::message)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("name", "is required"));
        assertThat(errors(() -> ProjectRequests.create(json("[]")))).extracting(FieldError::field).containsExactly("body");
    }

    @Test
    void aQuotaBeyondWhatIsTakenIsRefusedNotWrapped() {
        List<FieldError> e = new ArrayList<>();
        ProjectRequests.quota(json("{\"cpu\":\"2000000000\",\"memory\":\"2Ei\",\"replicas\":99999999999}"), "", e);
        assertThat(e).extracting(FieldError::field).containsExactly("cpu", "memory", "replicas");
        assertThat(e.get(0).message()).isEqualTo("must be between 0 and 1000000, not '2000000000'");
        assertThat(e.get(1).message()).isEqualTo("must be between 0 and 1Ei, not '2Ei'");
    }

    @Test
    void aRoleIsOneOfThree() {
        assertThat(ProjectRequests.role(json("{\"role\":\"modeler\"}"))).isEqualTo(ProjectRole.modeler);
        assertThat(errors(() -> ProjectRequests.role(json("{\"role\":\"owner\"}")))).extracting(FieldError::field, FieldError::message)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("role", "must be one of viewer, modeler, admin, not \"owner\""));
        assertThat(errors(() -> ProjectRequests.role(json("{}")))).extracting(FieldError::message)
                .containsExactly("is required: one of viewer, modeler, admin");
        assertThat(errors(() -> ProjectRequests.role(json("{\"role\":\"admin\",\"until\":1}")))).extracting(FieldError::field)
                .containsExactly("until");
    }

    @Test
    void userNamesArePrintableWithoutSpaces() {
        List<FieldError> e = new ArrayList<>();
        ProjectRequests.checkUser("user", "alice@example.com", e);
        ProjectRequests.checkUser("user", "system:serviceaccount:ml:pipeline", e);
        assertThat(e).isEmpty();
        ProjectRequests.checkUser("user", "a b", e);
        ProjectRequests.checkUser("user", "", e);
        ProjectRequests.checkUser("user", "x".repeat(201), e);
        ProjectRequests.checkUser("user", "bell\u0007", e);
        assertThat(e).hasSize(4).allMatch(f -> f.field().equals("user"));
    }

    private static String message(List<FieldError> e, String field) {
        return e.stream().filter(f -> f.field().equals(field)).findFirst().orElseThrow().message();
    }
}
