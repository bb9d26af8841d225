package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The mutating webhook's answers to AdmissionReview bodies shaped as in the Kubernetes documentation. */
class ActorStampTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** After the documentation's example request (admission.k8s.io/v1), for a ModelDeployment. */
    static JsonNode review(String apiVersion, String operation, String metadata) throws Exception {
        return JSON.readTree("""
                {"apiVersion": "%s", "kind": "AdmissionReview",
                 "request": {
                   "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                   "kind": {"group": "clops.io", "version": "v1", "kind": "ModelDeployment"},
                   "resource": {"group": "clops.io", "version": "v1", "resource": "modeldeployments"},
                   "requestKind": {"group": "clops.io", "version": "v1", "kind": "ModelDeployment"},
                   "requestResource": {"group": "clops.io", "version": "v1", "resource": "modeldeployments"},
                   "name": "iris", "namespace": "clops-demo", "operation": "%s",
                   "userInfo": {"username": "alice", "uid": "clops:alice", "groups": ["clops:authenticated", "clops:demo:modeler"]},
                   "object": {"apiVersion": "clops.io/v1", "kind": "ModelDeployment", "metadata": %s, "spec": {"model": "iris@champion"}},
                   "oldObject": null, "dryRun": false,
                   "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}
                """.formatted(apiVersion, operation, metadata));
    }

    static JsonNode patch(JsonNode answer) throws Exception {
        return JSON.readTree(Base64.getDecoder().decode(answer.at("/response/patch").asText()));
    }

    @Test
    void aCreateIsAllowedAndStampedWithTheRequestingUser() throws Exception {
        JsonNode a = ActorStamp.review(review("admission.k8s.io/v1", "CREATE", "{\"name\": \"iris\", \"namespace\": \"clops-demo\"}"));
        assertThat(a.get("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
        assertThat(a.get("kind").asText()).isEqualTo("AdmissionReview");
        assertThat(a.at("/response/uid").asText()).isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
        assertThat(a.at("/response/allowed").asBoolean()).isTrue();
        assertThat(a.at("/response/patchType").asText()).isEqualTo("JSONPatch");
        assertThat(patch(a)).hasToString("[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"clops.io/actor\":\"alice\"}}]");
    }

    @Test
    void anActorTheWriterClaimsIsOverwrittenAndOtherAnnotationsKept() throws Exception {
        JsonNode a = ActorStamp.review(review("admission.k8s.io/v1beta1", "UPDATE",
                "{\"name\": \"iris\", \"annotations\": {\"clops.io/actor\": \"the-boss\", \"team\": \"ml\"}}"));
        assertThat(a.get("apiVersion").asText()).isEqualTo("admission.k8s.io/v1beta1");
        assertThat(patch(a)).hasToString("[{\"op\":\"add\",\"path\":\"/metadata/annotations/clops.io~1actor\",\"value\":\"alice\"}]");
    }

    @Test
    void aDeleteIsAllowedWithoutAPatch() throws Exception {
        JsonNode a = ActorStamp.review(review("admission.k8s.io/v1", "DELETE", "{}"));
        assertThat(a.at("/response/allowed").asBoolean()).isTrue();
        assertThat(a.at("/response/patch").isMissingNode()).isTrue();
    }

    @Test
    void whatIsNotAnAdmissionReviewIsRefusedNamingTheField() throws Exception {
        assertThatThrownBy(() -> ActorStamp.review(JSON.readTree("[]"))).hasMessage("body: must be an AdmissionReview object");
        assertThatThrownBy(() -> ActorStamp.review(JSON.readTree("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"AdmissionReview\"}")))
                .hasMessage("apiVersion: must be admission.k8s.io/v1 or v1beta1, not 'authentication.k8s.io/v1'");
        JsonNode noUser = review("admission.k8s.io/v1", "CREATE", "{}");
        ((com.fasterxml.jackson.databind.node.ObjectNode) noUser.get("request")).remove("userInfo");
        assertThatThrownBy(() -> ActorStamp.review(noUser)).hasMessageStartingWith("request.userInfo.username: is required");
        JsonNode noUid = review("admission.k8s.io/v1", "CREATE", "{}");
        ((com.fasterxml.jackson.databind.node.ObjectNode) noUid.get("request")).put("uid", "");
        assertThatThrownBy(() -> ActorStamp.review(noUid)).hasMessageStartingWith("request.uid: is required");
    }
}
