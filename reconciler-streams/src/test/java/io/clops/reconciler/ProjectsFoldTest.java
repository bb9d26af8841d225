package io.clops.reconciler;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DeleteProject;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import io.clops.avro.RemoveMember;
import io.clops.avro.Replicas;
import io.clops.avro.Resources;
import io.clops.avro.SetMember;
import io.clops.avro.SetQuota;
import io.clops.avro.TrafficSplit;
import io.clops.testing.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/** Projects in the fold: existence, members and roles, quota admission, deletion, expected generations. */
class ProjectsFoldTest {
    final MemoryState state = new MemoryState();
    int ids;

    CommandResult command(CommandEnvelope c) {
        return ProjectFoldTest.verdict(state.apply(ProjectFold.onCommand(state, c)));
    }

    CommandEnvelope cmd(String project, Object payload) {
        return CommandEnvelope.newBuilder().setId("c" + ids++).setProject(project).setActor("alice").setTimeMs(1000 + ids)
                .setPayload(payload).build();
    }

    static ProjectQuota quota(String cpu, String memory, Map<String, Integer> gpu, Integer deployments, Integer replicas) {
        return ProjectQuota.newBuilder().setCpu(cpu).setMemory(memory).setGpu(gpu).setDeployments(deployments).setReplicas(replicas).build();
    }

    static DeploymentSpec spec(String cpu, String memory, int gpu, int max, String... traffic) {
        DeploymentSpec.Builder b = DeploymentSpec.newBuilder(Fixtures.spec("iris@champion"))
                .setResources(Resources.newBuilder().setCpu(cpu).setMemory(memory).setGpu(gpu).build())
                .setReplicas(Replicas.newBuilder().setMin(1).setMax(max).build());
        if (traffic.length > 0) {
            b.setTraffic(java.util.Arrays.stream(traffic).map(t -> TrafficSplit.newBuilder().setModel(t).setWeight(100 / traffic.length).build()).toList());
        }
        return b.build();
    }

    CommandResult deploy(String project, String name, DeploymentSpec spec) {
        return command(cmd(project, DeployCommand.newBuilder().setName(name).setSpec(spec).build()));
    }

    @BeforeEach
    void irisIsRegisteredInTeamA() {
        assertThat(command(Fixtures.createProject("create", "team-a", quota("2", "4Gi", Map.of("nvidia.com/gpu", 2), 3, 6))).getAccepted())
                .isTrue();
        for (int v = 1; v <= 2; v++) {
            state.apply(ProjectFold.onRegistry(state, registered("r" + v, "team-a", version("iris", v, List.of("serve")))));
        }
        state.apply(ProjectFold.onRegistry(state, Fixtures.alias("a1", "team-a", "iris", "champion", 1)));
    }

    @Test
    void nothingHappensInAProjectThatWasNeverCreated() {
        CommandResult r = deploy("nowhere", "iris", spec("500m", "1Gi", 0, 1));
        assertThat(r.getAccepted()).isFalse();
        assertThat(r.getReason()).isEqualTo("project 'nowhere' does not exist: create it first (clops project create nowhere)");
        CommandResult reg = ProjectFoldTest.verdict(state.apply(ProjectFold.onRegistry(state,
                registered("r9", "nowhere", version("iris", 1, List.of("serve"))))));
        assertThat(reg.getReason()).startsWith("project 'nowhere' does not exist");
        assertThat(state.desired()).isEmpty();
        assertThat(state.models()).doesNotContainKey("nowhere/iris");
    }

    @Test
    void theCreatorIsTheFirstAdminAndAProjectIsCreatedOnce() {
        Project p = state.project("team-a").orElseThrow();
        assertThat(p.getMembers()).containsExactly(Map.entry("alice", ProjectRole.admin));
        assertThat(p.getCreatedBy()).isEqualTo("alice");
        CommandResult again = command(Fixtures.createProject("create-again", "team-a"));
        assertThat(again.getAccepted()).isFalse();
        assertThat(again.getReason()).isEqualTo("project 'team-a' already exists (created by alice)");
    }

    @Test
    void aDeployThatWouldExceedTheQuotaIsRefusedNamingTheResourceTheRequestAndWhatIsLeft() {
        assertThat(deploy("team-a", "a", spec("1500m", "1Gi", 0, 1)).getAccepted()).isTrue();
        CommandResult r = deploy("team-a", "b", spec("250m", "512Mi", 0, 3));
        assertThat(r.getAccepted()).isFalse();
        assertThat(r.getCode()).isEqualTo(ProjectFold.QUOTA_EXCEEDED);
        assertThat(r.getReason()).isEqualTo("project 'team-a' quota exceeded: cpu: requested 750m (1 route × 3 replicas.max × 250m),"
                + " 500m left of 2");
        assertThat(state.desired()).containsOnlyKeys("team-a/a");
        assertThat(deploy("team-a", "b", spec("250m", "512Mi", 0, 2)).getAccepted()).as("what fits exactly").isTrue();
    }

    @Test
    void everyRouteAndTheShadowRunReplicasMaxReplicas() {
        DeploymentSpec split = DeploymentSpec.newBuilder(spec("250m", "512Mi", 0, 2, "iris:1", "iris:2")).setShadow("iris:2").build();
        // 3 routes × 2 replicas × 250m = 1500m, 3Gi memory, 6 replicas: exactly the quota's replicas
        assertThat(deploy("team-a", "split", split).getAccepted()).isTrue();
        CommandResult more = deploy("team-a", "one-more", spec("100m", "128Mi", 0, 1));
        assertThat(more.getReason()).isEqualTo("project 'team-a' quota exceeded: replicas: requested 1 (1 route × 1 replicas.max),"
                + " 0 left of 6");
    }

    @Test
    void gpusCountByTypeAndEveryResourceOverIsNamed() {
        DeploymentSpec gpu = DeploymentSpec.newBuilder(spec("100m", "128Mi", 1, 3)).build();
        CommandResult r = deploy("team-a", "big", DeploymentSpec.newBuilder(gpu).setResources(Resources.newBuilder(gpu.getResources())
                .setCpu("1").setMemory("2Gi").build()).build());
        assertThat(r.getReason()).isEqualTo("project 'team-a' quota exceeded: cpu: requested 3 (1 route × 3 replicas.max × 1), 2 left of 2;"
                + " memory: requested 6Gi (1 route × 3 replicas.max × 2Gi), 4Gi left of 4Gi;"
                + " nvidia.com/gpu: requested 3 (1 route × 3 replicas.max × 1), 2 left of 2");
        DeploymentSpec otherType = DeploymentSpec.newBuilder(gpu).setResources(Resources.newBuilder(gpu.getResources())
                .setGpuType("amd.com/gpu").build()).build();
        assertThat(deploy("team-a", "amd", otherType).getAccepted()).as("a type the quota does not name is unlimited").isTrue();
    }

    @Test
    void aDeploymentReplacedCountsOnceSoScalingWithinTheQuotaPasses() {
        assertThat(deploy("team-a", "a", spec("1", "1Gi", 0, 2)).getAccepted()).isTrue();
        assertThat(deploy("team-a", "a", spec("500m", "512Mi", 0, 4)).getAccepted()).as("2 cpu, replacing 2 cpu").isTrue();
        assertThat(deploy("team-a", "a", spec("500m", "512Mi", 0, 5)).getReason())
                .isEqualTo("project 'team-a' quota exceeded: cpu: requested 2500m (1 route × 5 replicas.max × 500m), 2 left of 2");
    }

    @Test
    void theDeploymentCountIsAQuotaToo() {
        for (String n : List.of("a", "b", "c")) {
            assertThat(deploy("team-a", n, spec("100m", "128Mi", 0, 1)).getAccepted()).isTrue();
        }
        assertThat(deploy("team-a", "d", spec("100m", "128Mi", 0, 1)).getReason())
                .isEqualTo("project 'team-a' quota exceeded: deployments: requested 1, 0 left of 3");
        assertThat(deploy("team-a", "a", spec("200m", "128Mi", 0, 1)).getAccepted()).as("changing one of the three").isTrue();
    }

    @Test
    void aQuotaIsNeverSetBelowWhatRunsAndRaisingItLetsARefusedDeployIn() {
        assertThat(deploy("team-a", "a", spec("1500m", "3Gi", 0, 1)).getAccepted()).isTrue();
        CommandResult lower = command(cmd("team-a", SetQuota.newBuilder().setQuota(quota("1", "2Gi", Map.of(), null, null)).build()));
        assertThat(lower.getAccepted()).isFalse();
        assertThat(lower.getReason()).isEqualTo("quota.cpu: 1 is below what the project's deployments use (1500m);"
                + " quota.memory: 2Gi is below what the project's deployments use (3Gi); undeploy or scale down first");
        assertThat(state.project("team-a").orElseThrow().getQuota().getCpu()).isEqualTo("2");

        DeploymentSpec more = spec("1", "512Mi", 0, 1);
        assertThat(deploy("team-a", "b", more).getAccepted()).isFalse();
        CommandResult raise = command(cmd("team-a", SetQuota.newBuilder().setQuota(quota("4", "8Gi", Map.of(), null, null)).build()));
        assertThat(raise.getAccepted()).isTrue();
        assertThat(raise.getGeneration()).isEqualTo(2);
        assertThat(deploy("team-a", "b", more).getAccepted()).isTrue();
    }

    @Test
    void membersGetRolesAndAProjectKeepsAnAdmin() {
        assertThat(command(cmd("team-a", SetMember.newBuilder().setUser("bob").setRole(ProjectRole.modeler).build())).getAccepted()).isTrue();
        assertThat(state.project("team-a").orElseThrow().getMembers()).containsEntry("bob", ProjectRole.modeler);
        CommandResult demote = command(cmd("team-a", SetMember.newBuilder().setUser("alice").setRole(ProjectRole.viewer).build()));
        assertThat(demote.getReason()).isEqualTo("user 'alice' is the last admin of project 'team-a': make someone else admin first");
        CommandResult leave = command(cmd("team-a", RemoveMember.newBuilder().setUser("alice").build()));
        assertThat(leave.getAccepted()).isFalse();
        assertThat(command(cmd("team-a", SetMember.newBuilder().setUser("bob").setRole(ProjectRole.admin).build())).getAccepted()).isTrue();
        assertThat(command(cmd("team-a", RemoveMember.newBuilder().setUser("alice").build())).getAccepted()).isTrue();
        assertThat(state.project("team-a").orElseThrow().getMembers()).containsExactly(Map.entry("bob", ProjectRole.admin));
        assertThat(command(cmd("team-a", RemoveMember.newBuilder().setUser("carol").build())).getReason())
                .isEqualTo("user 'carol' is not a member of project 'team-a'");
        assertThat(state.project("team-a").orElseThrow().getGeneration()).isEqualTo(4);
    }

    @Test
    void deletingAProjectUndeploysEverythingInItRemovesItsModelsThenTheProject() {
        for (String n : List.of("a", "b", "c")) {
            assertThat(deploy("team-a", n, spec("100m", "128Mi", 0, 1)).getAccepted()).isTrue();
        }
        List<ProjectFold.Output> out = state.apply(ProjectFold.onCommand(state, cmd("team-a", DeleteProject.newBuilder().build())));
        CommandResult r = ProjectFoldTest.verdict(out);
        assertThat(r.getAccepted()).isTrue();
        assertThat(r.getReason()).isEqualTo("deleted with 3 deployment(s) and 1 model(s)");
        assertThat(out).filteredOn(o -> o.target() == ProjectFold.Target.DESIRED).extracting(ProjectFold.Output::key, ProjectFold.Output::value)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("team-a/a", null),
                        org.assertj.core.groups.Tuple.tuple("team-a/b", null), org.assertj.core.groups.Tuple.tuple("team-a/c", null));
        assertThat(state.desired()).isEmpty();
        assertThat(state.models()).isEmpty();
        assertThat(state.project("team-a")).isEmpty();
        assertThat(deploy("team-a", "a", spec("100m", "128Mi", 0, 1)).getReason()).startsWith("project 'team-a' does not exist");
        assertThat(command(Fixtures.createProject("recreate", "team-a")).getAccepted()).as("the name is free again").isTrue();
    }

    @Test
    void aDeployCarryingTheGenerationItExpectsIsRefusedOnAMismatchNamingTheCurrentOne() {
        DeploymentSpec s = spec("100m", "128Mi", 0, 1);
        CommandResult created = command(cmd("team-a", DeployCommand.newBuilder().setName("a").setSpec(s).setExpectedGeneration(0L).build()));
        assertThat(created.getAccepted()).isTrue();
        CommandResult stale = command(cmd("team-a", DeployCommand.newBuilder().setName("a").setSpec(spec("200m", "128Mi", 0, 1))
                .setExpectedGeneration(0L).build()));
        assertThat(stale.getAccepted()).isFalse();
        assertThat(stale.getCode()).isEqualTo(ProjectFold.GENERATION_MISMATCH);
        assertThat(stale.getReason()).isEqualTo("deployment 'a' is at generation 1, not 0 as expected: read it again and retry");
        CommandResult fresh = command(cmd("team-a", DeployCommand.newBuilder().setName("a").setSpec(spec("200m", "128Mi", 0, 1))
                .setExpectedGeneration(1L).build()));
        assertThat(fresh.getAccepted()).isTrue();
        assertThat(fresh.getGeneration()).isEqualTo(2);
        assertThat(command(cmd("team-a", DeployCommand.newBuilder().setName("new").setSpec(s).setExpectedGeneration(3L).build()))
                .getReason()).isEqualTo("deployment 'new' is at generation 0 (it does not exist), not 3 as expected: read it again and retry");
    }

    @Test
    void aServiceAccountIsAMemberUnderItsPrincipalOnceAndGoesWhenRemoved() {
        CommandResult created = command(cmd("team-a", io.clops.avro.CreateServiceAccount.newBuilder().setName("nightly")
                .setRole(ProjectRole.modeler).setTokenId("t1").setExpiresMs(9_999).build()));
        assertThat(created.getAccepted()).isTrue();
        Project p = state.project("team-a").orElseThrow();
        assertThat(p.getMembers()).containsEntry("serviceaccount:team-a:nightly", ProjectRole.modeler);
        assertThat(p.getServiceAccounts().get("nightly").getTokenId()).isEqualTo("t1");
        assertThat(p.getServiceAccounts().get("nightly").getCreatedBy()).isEqualTo("alice");
        CommandResult again = command(cmd("team-a", io.clops.avro.CreateServiceAccount.newBuilder().setName("nightly")
                .setRole(ProjectRole.admin).setTokenId("t2").setExpiresMs(9_999).build()));
        assertThat(again.getReason()).isEqualTo("service account 'nightly' already exists in project 'team-a': remove it first to issue a new token");
        assertThat(command(cmd("team-a", io.clops.avro.RemoveServiceAccount.newBuilder().setName("nightly").build())).getAccepted()).isTrue();
        assertThat(state.project("team-a").orElseThrow().getMembers()).doesNotContainKey("serviceaccount:team-a:nightly");
        assertThat(state.project("team-a").orElseThrow().getServiceAccounts()).isEmpty();
        assertThat(command(cmd("team-a", io.clops.avro.RemoveServiceAccount.newBuilder().setName("nightly").build())).getReason())
                .isEqualTo("service account 'nightly' does not exist in project 'team-a'");
    }

    @Test
    void kafkaCredentialsAreAcceptedForAMemberAskingForTheirOwnAndChangeNothingInTheProject() {
        Project before = state.project("team-a").orElseThrow();
        List<ProjectFold.Output> out = state.apply(ProjectFold.onCommand(state, cmd("team-a", issue("alice"))));
        CommandResult mine = ProjectFoldTest.verdict(out);
        assertThat(mine.getAccepted()).isTrue();
        assertThat(mine.getGeneration()).as("the project's generation, unchanged").isEqualTo(before.getGeneration());
        assertThat(out).extracting(ProjectFold.Output::target).as("a verdict, no state").contains(ProjectFold.Target.COMMAND_RESULTS)
                .doesNotContain(ProjectFold.Target.PROJECTS, ProjectFold.Target.DESIRED, ProjectFold.Target.MODELS);
        assertThat(state.project("team-a").orElseThrow()).isEqualTo(before);
        assertThat(command(cmd("team-a", issue("bob"))).getReason())
                .isEqualTo("Kafka credentials are issued to the member who asks for them: 'alice' asked for 'bob'");
        CommandEnvelope outsider = CommandEnvelope.newBuilder(cmd("team-a", issue("mallory"))).setActor("mallory").build();
        assertThat(command(outsider).getReason()).isEqualTo("user 'mallory' has no role in project 'team-a'");
        assertThat(command(cmd("team-b", issue("alice"))).getReason()).startsWith("project 'team-b' does not exist");
    }

    static io.clops.avro.IssueKafkaCredentials issue(String user) {
        return io.clops.avro.IssueKafkaCredentials.newBuilder().setUser(user).setPrincipal("team-a." + user).build();
    }
}
