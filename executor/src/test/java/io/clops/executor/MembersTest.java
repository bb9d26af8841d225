package io.clops.executor;

import io.clops.auth.Tokens;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Who may predict: the executor's token check against the members and revocations it follows (here, maps). */
class MembersTest {
    final io.clops.testing.ManualClock clock = io.clops.testing.ManualClock.at("2026-11-30T12:00:00Z");
    final Tokens issuer = new Tokens(Tokens.generate(), clock);
    final Map<String, ProjectRole> members = new HashMap<>(Map.of("ada", ProjectRole.viewer, "serviceaccount:demo:ci", ProjectRole.modeler));
    final Set<String> revoked = new HashSet<>();

    Members members(boolean open) {
        return new Members(Tokens.verifier(issuer.publicKey(), clock), "demo", open, p -> p.equals("demo") ? project() : null,
                revoked::contains, clock, () -> { });
    }

    Project project() {
        return Project.newBuilder().setName("demo").setMembers(Map.copyOf(members)).setQuota(ProjectQuota.newBuilder().build())
                .setGeneration(1).setCreatedBy("ada").setCreatedMs(0).setCommandId("c").setActor("ada").setTimeMs(0).build();
    }

    String session(String user) {
        return issuer.issue(user, Duration.ofHours(1), Tokens.Kind.session, null);
    }

    @Test
    void aMemberInAnyRolePredicts() {
        Members m = members(false);
        assertThat(m.refuse(session("ada"))).isNull();
        assertThat(m.refuseHeader("Bearer " + session("ada"))).isNull();
        assertThat(m.refuseHeader("bearer  " + session("ada") + " ")).as("the scheme is case-insensitive").isNull();
        String sa = issuer.issue("serviceaccount:demo:ci", Duration.ofDays(30), Tokens.Kind.service, "demo");
        assertThat(m.refuse(sa)).isNull();
    }

    @Test
    void noTokenOrOneThePlatformDidNotSignIs401SayingWhy() {
        Members m = members(false);
        assertThat(m.refuse(null)).satisfies(r -> {
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.message()).startsWith("no token: deployments of project 'demo' answer its members");
            assertThat(r.headerLines()).isEqualTo("WWW-Authenticate: Bearer\r\n");
        });
        assertThat(m.refuseHeader("Basic YWRhOnB3")).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(401, "Authorization must be Bearer <token>");
        assertThat(m.refuse("garbage").message()).isEqualTo("not a clops token");
        String forged = new Tokens(Tokens.generate(), clock).issue("ada", Duration.ofHours(1), Tokens.Kind.session, null);
        assertThat(m.refuse(forged)).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(401, "the token's signature is not the platform's");
        String good = session("ada");
        String tampered = good.substring(0, good.length() - 3) + (good.endsWith("AAA") ? "BBB" : "AAA");
        assertThat(m.refuse(tampered).status()).isEqualTo(401);
        assertThat(m.refuse(good)).as("a forged copy never poisons the cache for the real one").isNull();
    }

    @Test
    void aUserWithoutARoleOrAnotherProjectsServiceAccountIs403() {
        Members m = members(false);
        assertThat(m.refuse(session("eve"))).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(403, "user 'eve' has no role in project 'demo'; predicting needs viewer, modeler or admin");
        String other = issuer.issue("serviceaccount:other:ci", Duration.ofDays(30), Tokens.Kind.service, "other");
        assertThat(m.refuse(other)).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(403, "serviceaccount:other:ci's token is for project 'other' only, not 'demo'");
    }

    @Test
    void whatCanChangeIsCheckedOnEveryRequestEvenForACachedToken() throws Exception {
        Members m = members(false);
        String ada = session("ada");
        assertThat(m.refuse(ada)).isNull();
        members.remove("ada");
        assertThat(m.refuse(ada).status()).as("removed from the project").isEqualTo(403);
        members.put("ada", ProjectRole.admin);
        assertThat(m.refuse(ada)).isNull();
        revoked.add(issuer.verify(ada).id());
        assertThat(m.refuse(ada)).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(401, "the token was revoked");
    }

    @Test
    void anExpiredTokenIsRefusedThoughItWasVerifiedBefore() throws Exception {
        Members m = members(false);
        String ada = session("ada");
        assertThat(m.refuse(ada)).isNull();
        clock.advance(Duration.ofHours(1));
        assertThat(m.refuse(ada)).extracting(Admission.Refusal::status, Admission.Refusal::message)
                .containsExactly(401, "the token expired at 2026-11-30T13:00:00Z");
    }

    @Test
    void anExecutorThatStoppedFollowingTheLogRefusesEveryTokenRatherThanMissARevocation() {
        String[] why = {null};
        Members m = new Members(Tokens.verifier(issuer.publicKey(), clock), "demo", false, p -> project(), revoked::contains, clock, () -> { },
                () -> why[0]);
        String ada = session("ada");
        assertThat(m.refuse(ada)).isNull();
        why[0] = "the view of clops.revocations stopped: boom";
        assertThat(m.refuse(ada)).extracting(Admission.Refusal::status, Admission.Refusal::message).containsExactly(503,
                "this executor cannot check tokens now (the view of clops.revocations stopped: boom); it is being restarted");
        assertThat(m.broken()).as("what liveness reports").isEqualTo(why[0]);
    }

    @Test
    void aPublicDeploymentAnswersAnyone() {
        Members m = members(true);
        assertThat(m.refuse(null)).isNull();
        assertThat(m.refuseHeader("Basic x")).isNull();
        assertThat(m.refuse(session("eve"))).isNull();
    }

    @Test
    void theContractsKeyIsRead() {
        String key = java.util.Base64.getEncoder().encodeToString(issuer.publicKey().getEncoded());
        assertThat(Members.publicKey(key)).isEqualTo(issuer.publicKey());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Members.publicKey("AAAA"))
                .hasMessageStartingWith("CLOPS_AUTH_PUBLIC_KEY is not an Ed25519 public key");
    }
}
