package io.clops.reconciler;

import io.clops.avro.AliasRemoved;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelState;
import io.clops.avro.ModelVersion;
import io.clops.avro.RegistryEvent;
import io.clops.avro.TrafficSplit;
import io.clops.avro.VersionArchived;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.clops.testing.Fixtures.alias;
import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.undeploy;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/** The fold's rules, without Kafka: a {@link MemoryState} stands where the topology keeps its stores. */
class ProjectFoldTest {
    final MemoryState state = new MemoryState();

    @org.junit.jupiter.api.BeforeEach
    void projects() {
        for (String p : List.of("p", "demo", "other", "a", "b")) {
            assertThat(command(io.clops.testing.Fixtures.createProject("create-" + p, p)).getAccepted()).isTrue();
        }
    }

    CommandResult command(CommandEnvelope c) {
        return verdict(state.apply(ProjectFold.onCommand(state, c)));
    }

    CommandResult registry(RegistryEvent e) {
        return verdict(state.apply(ProjectFold.onRegistry(state, e)));
    }

    static CommandResult verdict(List<ProjectFold.Output> written) {
        List<CommandResult> vs = written.stream().filter(o -> o.target() == ProjectFold.Target.COMMAND_RESULTS)
                .map(o -> (CommandResult) o.value()).toList();
        assertThat(vs).as("exactly one verdict per event").hasSize(1);
        return vs.get(0);
    }

    static ModelVersion unnumbered(String model) {
        return version(model, 0, List.of("serve"));
    }

    ModelState model(String project, String name) {
        return state.model(project, name).orElseThrow();
    }

    DesiredDeployment desired(String project, String name) {
        return state.deployment(project, name).orElseThrow();
    }

    @Test
    void theFoldNumbersVersionsAndTellsEachCallerItsOwn() {
        for (int i = 0; i < 10; i++) {
            CommandResult r = registry(registered("r" + i, "p", unnumbered("iris")));
            assertThat(r.getAccepted()).isTrue();
            assertThat(r.getVersion()).isEqualTo(i + 1);
            assertThat(r.getModel()).isEqualTo("iris");
        }
        assertThat(model("p", "iris").getVersions()).extracting(e -> e.getVersion().getVersion())
                .containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        assertThat(model("p", "iris").getVersions()).extracting(e -> e.getEventId())
                .containsExactly("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
    }

    @Test
    void anExplicitVersionIsTakenOnceAndTheRestAreRefusedWithAReason() {
        CommandResult first = registry(registered("a", "p", version("iris", 7, List.of("serve"))));
        CommandResult second = registry(registered("b", "p", version("iris", 7, List.of("serve", "--other"))));
        assertThat(first.getAccepted()).isTrue();
        assertThat(first.getVersion()).isEqualTo(7);
        assertThat(second.getAccepted()).isFalse();
        assertThat(second.getReason()).isEqualTo("model 'iris' already has version 7 in project 'p'; versions are immutable, register a new one");
        assertThat(model("p", "iris").getVersions()).hasSize(1);
        assertThat(model("p", "iris").getVersions().get(0).getVersion().getCommand()).containsExactly("serve");
        assertThat(registry(registered("c", "p", unnumbered("iris"))).getVersion()).as("next after the highest").isEqualTo(8);
    }

    @Test
    void anAliasToAMissingVersionOrModelIsRefused() {
        assertThat(registry(alias("a", "p", "iris", "champion", 1)).getReason())
                .isEqualTo("model 'iris' is not registered in project 'p'");
        registry(registered("r", "p", unnumbered("iris")));
        CommandResult r = registry(alias("b", "p", "iris", "champion", 2));
        assertThat(r.getAccepted()).isFalse();
        assertThat(r.getReason()).isEqualTo("model 'iris' has no version 2 in project 'p'");
        assertThat(model("p", "iris").getAliases()).isEmpty();
        assertThat(registry(alias("c", "p", "iris", "champion", 1)).getAccepted()).isTrue();
        assertThat(registry(alias("d", "p", "iris", "champion", 1)).getReason()).isEqualTo("unchanged");
    }

    /**
     * Each resolved route says who registered its version (a runtime that would run it on the platform's own machine
     * trusts that user with it); a generation resolved before routes said so rolls on the same deploy, once.
     */
    @Test
    void routesCarryWhoRegisteredEachVersionAndAGenerationResolvedWithoutItRollsOnTheSameDeploy() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(registered("r2", "p", unnumbered("shadowed")));
        DeploymentSpec s = DeploymentSpec.newBuilder(spec("iris")).setShadow("shadowed").build();
        assertThat(command(deploy("c1", "p", "web", s)).getGeneration()).isEqualTo(1);
        DesiredDeployment d = desired("p", "web");
        assertThat(d.getRoutes().get(0).getRegisteredBy()).isEqualTo("bob");
        assertThat(d.getShadow().getRegisteredBy()).isEqualTo("bob");

        DesiredDeployment old = DesiredDeployment.newBuilder(d)
                .setRoutes(d.getRoutes().stream().map(r -> io.clops.avro.ResolvedRoute.newBuilder(r).setRegisteredBy(null).build()).toList())
                .setShadow(io.clops.avro.ResolvedRoute.newBuilder(d.getShadow()).setRegisteredBy(null).build()).build();
        state.apply(List.of(new ProjectFold.Output(ProjectFold.Target.DESIRED, io.clops.kafka.Topics.deploymentKey("p", "web"), old)));
        CommandResult again = command(deploy("c2", "p", "web", s));
        assertThat(again.getReason()).as("resolved anew").isNotEqualTo("unchanged");
        assertThat(again.getGeneration()).isEqualTo(2);
        assertThat(desired("p", "web").getRoutes().get(0).getRegisteredBy()).isEqualTo("bob");
        assertThat(desired("p", "web").getShadow().getRegisteredBy()).isEqualTo("bob");
        assertThat(command(deploy("c3", "p", "web", s)).getReason()).isEqualTo("unchanged");
    }

    @Test
    void deployResolvesReferencesAndBumpsGenerationsOnlyWhenSomethingChanges() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(registered("r2", "p", unnumbered("iris")));
        registry(alias("r3", "p", "iris", "champion", 1));

        CommandResult c1 = command(deploy("c1", "p", "web", spec("iris@champion")));
        assertThat(c1.getAccepted()).isTrue();
        assertThat(c1.getGeneration()).isEqualTo(1);
        assertThat(desired("p", "web").getRoutes().get(0).getVersion().getVersion()).isEqualTo(1);
        assertThat(desired("p", "web").getActor()).isEqualTo("alice");

        assertThat(command(deploy("c2", "p", "web", spec("iris@champion"))).getReason()).isEqualTo("unchanged");
        assertThat(desired("p", "web").getGeneration()).isEqualTo(1);

        CommandResult bare = command(deploy("c3", "p", "newest", spec("iris")));
        assertThat(desired("p", "newest").getRoutes().get(0).getVersion().getVersion()).as("a bare name: the newest").isEqualTo(2);
        assertThat(bare.getGeneration()).isEqualTo(1);

        // moving the alias rolls the deployment naming it, by the registry event, and nothing else
        List<ProjectFold.Output> moved = state.apply(ProjectFold.onRegistry(state, alias("r4", "p", "iris", "champion", 2)));
        assertThat(moved).extracting(ProjectFold.Output::target).containsExactly(ProjectFold.Target.COMMAND_RESULTS,
                ProjectFold.Target.MODELS, ProjectFold.Target.DESIRED);
        DesiredDeployment web = desired("p", "web");
        assertThat(web.getGeneration()).isEqualTo(2);
        assertThat(web.getRoutes().get(0).getVersion().getVersion()).isEqualTo(2);
        assertThat(web.getCommandId()).isEqualTo("r4");
        assertThat(web.getActor()).isEqualTo("bob");
        assertThat(desired("p", "newest").getGeneration()).isEqualTo(1);
    }

    @Test
    void aReferenceThatStopsResolvingKeepsWhatRuns() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(alias("r2", "p", "iris", "champion", 1));
        command(deploy("c1", "p", "web", spec("iris@champion")));
        RegistryEvent remove = RegistryEvent.newBuilder(alias("r3", "p", "iris", "champion", 1))
                .setPayload(AliasRemoved.newBuilder().setAlias("champion").build()).build();
        assertThat(registry(remove).getAccepted()).isTrue();
        assertThat(desired("p", "web").getGeneration()).isEqualTo(1);
        assertThat(command(deploy("c2", "p", "other", spec("iris@champion"))).getReason())
                .isEqualTo("spec.model: model 'iris' has no alias 'champion'");
    }

    @Test
    void trafficAndShadowResolveEachRouteAndNameTheFieldThatDoesNot() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(registered("r2", "p", unnumbered("iris")));
        DeploymentSpec split = DeploymentSpec.newBuilder(spec("iris:1")).setTraffic(List.of(
                TrafficSplit.newBuilder().setModel("iris:1").setWeight(80).build(),
                TrafficSplit.newBuilder().setModel("iris:2").setWeight(20).build())).setShadow("iris:2").build();
        assertThat(command(deploy("c1", "p", "web", split)).getAccepted()).isTrue();
        DesiredDeployment d = desired("p", "web");
        assertThat(d.getRoutes()).extracting(r -> r.getVersion().getVersion(), r -> r.getWeight())
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, 80), org.assertj.core.groups.Tuple.tuple(2, 20));
        assertThat(d.getShadow().getVersion().getVersion()).isEqualTo(2);

        DeploymentSpec missing = DeploymentSpec.newBuilder(split).setTraffic(List.of(
                TrafficSplit.newBuilder().setModel("iris:1").setWeight(50).build(),
                TrafficSplit.newBuilder().setModel("iris:3").setWeight(50).build())).build();
        assertThat(command(deploy("c2", "p", "web", missing)).getReason()).isEqualTo("spec.traffic[1].model: model 'iris' has no version 3");
        assertThat(command(deploy("c3", "p", "web", DeploymentSpec.newBuilder(split).setShadow("ghost").build())).getReason())
                .isEqualTo("spec.shadow: model 'ghost' is not registered in project 'p'");
        assertThat(desired("p", "web").getGeneration()).isEqualTo(1);
    }

    @Test
    void undeployWritesATombstoneAndAnUnknownOneIsRefused() {
        registry(registered("r1", "p", unnumbered("iris")));
        command(deploy("c1", "p", "web", spec("iris")));
        List<ProjectFold.Output> out = state.apply(ProjectFold.onCommand(state, undeploy("c2", "p", "web")));
        assertThat(verdict(out).getGeneration()).isEqualTo(2);
        assertThat(out).filteredOn(o -> o.target() == ProjectFold.Target.DESIRED).singleElement()
                .satisfies(o -> assertThat(o.value()).isNull());
        assertThat(state.deployment("p", "web")).isEmpty();
        assertThat(command(undeploy("c3", "p", "web")).getReason()).isEqualTo("deployment 'web' does not exist in project 'p'");
        assertThat(command(deploy("c4", "p", "web", spec("iris"))).getGeneration()).as("a new deployment starts again").isEqualTo(1);
    }

    @Test
    void archivingIsRefusedWhileAnAliasOrADeploymentUsesTheVersionNamingWhich() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(registered("r2", "p", unnumbered("iris")));
        registry(alias("r3", "p", "iris", "champion", 1));
        command(deploy("c1", "p", "web", spec("iris:1")));
        command(deploy("c2", "p", "shadowed", DeploymentSpec.newBuilder(spec("iris:2")).setShadow("iris:1").build()));

        CommandResult refused = registry(archive("a1", "p", "iris", 1));
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getReason()).isEqualTo("version 1 of model 'iris' is in use by alias 'champion', deployment 'shadowed',"
                + " deployment 'web'; move or remove those first");

        command(undeploy("c3", "p", "web"));
        command(undeploy("c4", "p", "shadowed"));
        registry(alias("r4", "p", "iris", "champion", 2));
        CommandResult archived = registry(archive("a2", "p", "iris", 1));
        assertThat(archived.getAccepted()).isTrue();
        assertThat(model("p", "iris").getVersions().get(0).getArchived()).isTrue();
        assertThat(model("p", "iris").getVersions().get(0).getArchivedBy()).isEqualTo("bob");

        assertThat(command(deploy("c5", "p", "web", spec("iris:1"))).getReason()).isEqualTo("spec.model: version 1 of model 'iris' is archived");
        assertThat(registry(alias("r5", "p", "iris", "old", 1)).getReason()).isEqualTo("version 1 of model 'iris' is archived");
        assertThat(registry(archive("a3", "p", "iris", 9)).getReason()).isEqualTo("model 'iris' has no version 9 in project 'p'");
        assertThat(registry(registered("r6", "p", unnumbered("iris"))).getVersion()).as("numbers are never reused").isEqualTo(3);
    }

    @Test
    void aBareNameResolvesToTheNewestVersionThatIsNotArchived() {
        registry(registered("r1", "p", unnumbered("iris")));
        registry(registered("r2", "p", unnumbered("iris")));
        registry(archive("a1", "p", "iris", 2));
        command(deploy("c1", "p", "web", spec("iris")));
        assertThat(desired("p", "web").getRoutes().get(0).getVersion().getVersion()).isEqualTo(1);
        registry(archive("a2", "p", "iris", 1));
        assertThat(model("p", "iris").getVersions().get(0).getArchived()).as("in use by web").isFalse();
    }

    @Test
    void anIdDecidedBeforeGetsItsFirstVerdictAgainAndAnotherRequestUnderItIsRefused() {
        registry(registered("r1", "p", unnumbered("iris")));
        CommandResult first = command(deploy("p:key-1", "p", "web", spec("iris")));
        CommandEnvelope retry = CommandEnvelope.newBuilder(deploy("p:key-1", "p", "web", spec("iris"))).setRequestId("req-2").build();
        List<ProjectFold.Output> again = state.apply(ProjectFold.onCommand(state, retry));
        assertThat(again).as("nothing but the verdict").singleElement().satisfies(o -> {
            assertThat(o.key()).isEqualTo("req-2");
            assertThat(((CommandResult) o.value()).getGeneration()).isEqualTo(first.getGeneration());
            assertThat(((CommandResult) o.value()).getAccepted()).isTrue();
        });

        CommandResult other = command(undeploy("p:key-1", "p", "web"));
        assertThat(other.getAccepted()).isFalse();
        assertThat(other.getCode()).isEqualTo(io.clops.api.Idempotency.KEY_REUSED);
        assertThat(other.getReason()).startsWith("id 'p:key-1' was already used for another request");
        assertThat(state.deployment("p", "web")).isPresent();

        // registry ids are remembered the same way: a retried registration does not register twice
        CommandResult reg = registry(registered("p:reg", "p", unnumbered("iris")));
        CommandResult regAgain = registry(registered("p:reg", "p", unnumbered("iris")));
        assertThat(regAgain.getVersion()).isEqualTo(reg.getVersion());
        assertThat(model("p", "iris").getVersions()).hasSize(2);
    }

    @Test
    void aRetryAfterTheWindowIsRefusedNeverAppliedOverNewerRequests() {
        registry(registered("r1", "p", unnumbered("iris")));
        CommandEnvelope at = deploy("k", "p", "web", spec("iris"));
        command(at);
        command(undeploy("u", "p", "web"));
        CommandEnvelope within = CommandEnvelope.newBuilder(at).setTimeMs(at.getTimeMs() + ProjectFold.SEEN_RETENTION_MS).build();
        assertThat(state.apply(ProjectFold.onCommand(state, within))).hasSize(1);
        assertThat(state.deployment("p", "web")).as("a retry within the window changes nothing").isEmpty();
        CommandEnvelope after = CommandEnvelope.newBuilder(at).setTimeMs(at.getTimeMs() + ProjectFold.SEEN_RETENTION_MS + 1).build();
        CommandResult late = command(after);
        assertThat(late.getAccepted()).isFalse();
        assertThat(late.getCode()).isEqualTo(io.clops.api.Idempotency.KEY_EXPIRED);
        assertThat(late.getReason()).startsWith("id 'k' was first used more than 7 days ago");
        assertThat(state.deployment("p", "web")).as("the old request is not applied over the undeploy").isEmpty();
    }

    @Test
    void projectsAreIndependent() {
        registry(registered("r1", "a", unnumbered("iris")));
        assertThat(command(deploy("c1", "b", "web", spec("iris"))).getReason()).isEqualTo("spec.model: model 'iris' is not registered in project 'b'");
        registry(registered("r2", "b", unnumbered("iris")));
        assertThat(model("b", "iris").getVersions()).extracting(e -> e.getVersion().getVersion()).containsExactly(1);
        assertThat(state.desired()).isEqualTo(Map.of());
    }

    static RegistryEvent archive(String id, String project, String model, int version) {
        return RegistryEvent.newBuilder(alias(id, project, model, "x", version))
                .setPayload(VersionArchived.newBuilder().setVersion(version).build()).build();
    }
}
