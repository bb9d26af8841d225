package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;

/**
 * The mutating admission webhook kube-apiserver calls on every create and update of a {@code ModelDeployment}
 * ({@code admission.k8s.io/v1} or {@code v1beta1} AdmissionReview, answered in the same apiVersion): it always
 * allows, and patches the object's {@value #ANNOTATION} annotation to the requesting user as the API server
 * authenticated them ({@code request.userInfo.username}), whatever the writer put there. The CRD bridge takes the
 * annotation as the command's actor, so the log names a person (through clops's TokenReview, the clops user), not
 * the field manager. A plain class: tested with the documentation's AdmissionReview bodies, without a server.
 */
public final class ActorStamp {
    public static final String ANNOTATION = "clops.io/actor";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> VERSIONS = Set.of("admission.k8s.io/v1", "admission.k8s.io/v1beta1");

    private ActorStamp() {
    }

    /** The AdmissionReview answer; IllegalArgumentException {@code field: why} for a body that is not a review. */
    public static ObjectNode review(JsonNode review) {
        if (review == null || !review.isObject()) {
            throw new IllegalArgumentException("body: must be an AdmissionReview object");
        }
        String apiVersion = review.path("apiVersion").asText("");
        if (!VERSIONS.contains(apiVersion)) {
            throw new IllegalArgumentException("apiVersion: must be admission.k8s.io/v1 or v1beta1, not '" + abbreviate(apiVersion) + "'");
        }
        if (!"AdmissionReview".equals(review.path("kind").asText())) {
            throw new IllegalArgumentException("kind: must be AdmissionReview");
        }
        JsonNode req = review.path("request");
        String uid = req.path("uid").asText("");
        if (uid.isEmpty() || uid.length() > 128) {
            throw new IllegalArgumentException("request.uid: is required (1 to 128 characters)");
        }
        String user = req.path("userInfo").path("username").asText("");
        if (user.isEmpty() || user.length() > 253 || user.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("request.userInfo.username: is required (1 to 253 printable characters)");
        }
        ObjectNode out = JSON.createObjectNode().put("apiVersion", apiVersion).put("kind", "AdmissionReview");
        ObjectNode response = out.putObject("response").put("uid", uid).put("allowed", true);
        JsonNode object = req.path("object");
        String op = req.path("operation").asText("");
        if (!object.isObject() || !(op.equals("CREATE") || op.equals("UPDATE"))) {
            return out; // nothing to stamp (a delete: the object is gone; the bridge names the deleter by its own means)
        }
        ArrayNode patch = JSON.createArrayNode();
        if (!object.path("metadata").path("annotations").isObject()) {
            patch.addObject().put("op", "add").put("path", "/metadata/annotations").putObject("value").put(ANNOTATION, user);
        } else {
            patch.addObject().put("op", "add").put("path", "/metadata/annotations/" + ANNOTATION.replace("~", "~0").replace("/", "~1"))
                    .put("value", user);
        }
        response.put("patchType", "JSONPatch")
                .put("patch", Base64.getEncoder().encodeToString(patch.toString().getBytes(StandardCharsets.UTF_8)));
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }
}
