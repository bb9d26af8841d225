package io.clops.reconciler;

import io.clops.avro.AuditRecord;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.Replicas;
import io.clops.kafka.Topics;
import io.clops.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What an auditor reads: who, when, the verdict and each field the event changed; records chained by hash. */
class AuditTrailTest {
    final MemoryState state = new MemoryState();
    final List<AuditRecord> trail = new ArrayList<>();
    long offset;

    AuditRecord fold(Object event) {
        String topic = event instanceof CommandEnvelope ? Topics.COMMANDS.name() : Topics.REGISTRY.name();
        Replay.Event e = new Replay.Event(topic, 0, offset++, 1000 + offset, event, AuditTrail.sha256(("bytes " + offset).getBytes()));
        List<ProjectFold.Output> out = state.apply(AuditTrail.fold(state, event, e.source(), state.auditHead(e.project()), state::current));
        AuditRecord r = (AuditRecord) out.get(out.size() - 1).value();
        trail.add(r);
        return r;
    }

    static DeploymentSpec scaled(String model, int min) {
        DeploymentSpec s = Fixtures.spec(model);
        s.setReplicas(Replicas.newBuilder().setMin(min).setMax(5).build());
        return s;
    }

    @Test
    void eachEventSaysWhoWhenTheVerdictAndWhatItChanged() {
        fold(Fixtures.createProject("c0", "demo"));
        fold(Fixtures.registered("r1", "demo", Fixtures.version("iris", 0, List.of("python3", "iris.py"))));
        fold(Fixtures.registered("r2", "demo", Fixtures.version("iris", 0, List.of("python3", "iris.py"))));
        fold(Fixtures.alias("a1", "demo", "iris", "champion", 1));
        AuditRecord deploy = fold(Fixtures.deploy("c1", "demo", "iris", scaled("iris@champion", 1)));
        AuditRecord scale = fold(Fixtures.deploy("c2", "demo", "iris", scaled("iris@champion", 3)));
        AuditRecord move = fold(Fixtures.alias("a2", "demo", "iris", "champion", 2));
        AuditRecord refused = fold(Fixtures.deploy("c3", "demo", "other", Fixtures.spec("nothing@champion")));
        AuditRecord undeploy = fold(Fixtures.undeploy("c4", "demo", "iris"));

        assertThat(deploy.getAction()).isEqualTo("deploy");
        assertThat(deploy.getActor()).isEqualTo("alice");
        assertThat(deploy.getDeployment()).isEqualTo("iris");
        assertThat(deploy.getAccepted()).isTrue();
        assertThat(deploy.getGeneration()).isEqualTo(1);
        assertThat(deploy.getChanges()).contains("deployment demo/iris spec.model: ∅ → iris@champion", "deployment demo/iris spec.replicas.min: ∅ → 1");
        assertThat(scale.getChanges()).containsExactly("deployment demo/iris spec.replicas.min: 1 → 3");
        assertThat(scale.getGeneration()).isEqualTo(2);
        assertThat(move.getAction()).isEqualTo("set-alias");
        assertThat(move.getActor()).isEqualTo("bob");
        assertThat(move.getModel()).isEqualTo("iris");
        assertThat(move.getChanges()).containsExactly("model demo/iris aliases.champion: 1 → 2", "deployment demo/iris routes[0].version.version: 1 → 2");
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getReason()).isNotBlank();
        assertThat(refused.getChanges()).isEmpty();
        assertThat(undeploy.getChanges()).containsExactly("deployment demo/iris: removed (was generation 3)");
    }

    @Test
    void recordsChainByHashAndAnEditedFieldBreaksIt() {
        fold(Fixtures.createProject("c0", "demo"));
        fold(Fixtures.createProject("c0", "elsewhere"));
        fold(Fixtures.undeploy("c1", "demo", "iris"));
        assertThat(trail.get(0).getPrevHash()).isEqualTo(AuditTrail.GENESIS);
        assertThat(trail.get(1).getPrevHash()).as("another project's chain").isEqualTo(AuditTrail.GENESIS);
        assertThat(trail.get(2).getPrevHash()).isEqualTo(trail.get(0).getHash());
        assertThat(trail.get(2).getSeq()).isEqualTo(2);
        assertThat(trail).allMatch(AuditTrail::intact);
        AuditRecord edited = AuditRecord.newBuilder(trail.get(2)).setActor("mallory").build();
        assertThat(AuditTrail.intact(edited)).isFalse();
    }

    @Test
    void kafkaCredentialsIssuedAreOnTheTrailWithTheirPrincipalAndNeverAPassword() {
        fold(Fixtures.createProject("c0", "demo"));
        CommandEnvelope mine = CommandEnvelope.newBuilder().setId("k1").setProject("demo").setActor("alice").setTimeMs(5000)
                .setPayload(io.clops.avro.IssueKafkaCredentials.newBuilder().setUser("alice").setPrincipal("demo.alice").build()).build();
        AuditRecord issued = fold(mine);
        assertThat(issued.getAction()).isEqualTo("issue-kafka-credentials");
        assertThat(issued.getActor()).isEqualTo("alice");
        assertThat(issued.getAccepted()).isTrue();
        assertThat(issued.getChanges()).containsExactly("kafka principal demo.alice: new password");
        AuditRecord outsider = fold(CommandEnvelope.newBuilder(mine).setId("k2").setActor("mallory")
                .setPayload(io.clops.avro.IssueKafkaCredentials.newBuilder().setUser("mallory").setPrincipal("demo.mallory").build()).build());
        assertThat(outsider.getAccepted()).isFalse();
        assertThat(outsider.getReason()).isEqualTo("user 'mallory' has no role in project 'demo'");
        assertThat(outsider.getChanges()).as("refused: nothing issued").isEmpty();
        assertThat(trail).allMatch(AuditTrail::intact);
    }
}
