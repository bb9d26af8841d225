package io.clops.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.k8s.runtime.ManagedFields;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ManagedFieldsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void aLimitNoLongerSetLeavesTheResourceQuotaButOthersKeysElsewhereStay() throws Exception {
        JsonNode live = json("""
                {"kind":"ResourceQuota","metadata":{"name":"clops-quota","labels":{"a":"1","added-by-someone":"x"}},
                 "spec":{"hard":{"requests.cpu":"4","requests.nvidia.com/gpu":"2","pods":"10"}}}""");
        JsonNode desired = json("""
                {"kind":"ResourceQuota","metadata":{"name":"clops-quota","labels":{"a":"1"}},"spec":{"hard":{"requests.cpu":"4000m"}}}""");
        assertThat(ManagedFields.covers(live, desired)).as("every value set is there").isTrue();
        assertThat(ManagedFields.matches(live, desired)).as("but limits clops no longer sets are too").isFalse();
        JsonNode merged = ManagedFields.merge(live, desired);
        assertThat(merged.at("/spec/hard").toString()).isEqualTo("{\"requests.cpu\":\"4000m\"}");
        assertThat(merged.at("/metadata/labels/added-by-someone").asText()).as("others' labels stay").isEqualTo("x");
        assertThat(ManagedFields.matches(merged, desired)).isTrue();

        JsonNode deployment = json("{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl\":\"y\"}}}}}");
        assertThat(ManagedFields.matches(deployment, json("{\"kind\":\"Deployment\",\"spec\":{\"template\":{}}}")))
                .as("other kinds: keys others add are left alone").isTrue();
    }
}
