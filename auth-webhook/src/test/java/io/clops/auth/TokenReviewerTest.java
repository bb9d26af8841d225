package io.clops.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenReviewerTest {
    static final ObjectMapper JSON = new ObjectMapper();

    TokenReviewer reviewer() {
        TokenStore store = new TokenStore();
        store.add("s3cret", new TokenStore.Identity("alice", "u-1", List.of("clops:demo:modeler", "clops:ops:viewer")));
        return new TokenReviewer(store);
    }

    @Test
    void aKnownTokenIsAUserWithProjectRoleGroups() throws Exception {
        var answer = reviewer().review(JSON.readTree(
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"s3cret\"}}"));
        assertThat(answer.at("/status/authenticated").asBoolean()).isTrue();
        assertThat(answer.at("/status/user/username").asText()).isEqualTo("alice");
        assertThat(answer.at("/status/user/groups/0").asText()).isEqualTo("clops:demo:modeler");
    }

    @Test
    void anUnknownTokenIsNotAuthenticatedAndABadRequestNamesTheField() throws Exception {
        var answer = reviewer().review(JSON.readTree(
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"guess\"}}"));
        assertThat(answer.at("/status/authenticated").asBoolean()).isFalse();
        assertThatThrownBy(() -> reviewer().review(JSON.readTree(
                "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{}}")))
                .hasMessage("spec.token: required");
    }

    @Test
    void tokensAreStoredHashed() {
        assertThat(TokenStore.hash("s3cret")).hasSize(64).doesNotContain("s3cret");
    }
}
