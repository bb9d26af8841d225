package io.clops.k8s.runtime;

import io.clops.kafka.KafkaAccess;
import org.apache.kafka.clients.admin.Admin;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;

/**
 * Each project's executors get a Kafka principal of their own ({@link KafkaAccess#executorPrincipal}), where the
 * platform's Kafka enforces ACLs: on Kubernetes they run in the project's namespace, whose admins can read its
 * Secrets, so the platform's own credentials must not be there.
 * <p>
 * The password is derived, not stored: HMAC-SHA256 under a key only the platform holds, of the principal and the
 * project's identity (its name, who created it and when). Every worker computes the same password, so two
 * workers applying one project never race to different ones and a restarted worker rotates nothing; a project
 * deleted and created again under the same name gets a different password, so an admin of the old one keeps
 * nothing.
 */
public interface ExecutorPrincipals {

    /**
     * Sets the project's executors' SCRAM credential and ACLs (idempotent) and returns them.
     *
     * @param incarnation what tells this project from an earlier one of the same name (who created it, when): stable
     *                    across its changes, so running executors keep working
     */
    KafkaAccess.Credentials grant(String project, String incarnation);

    /** Removes the project's executors' credential and ACLs (the project was deleted). */
    void revoke(String project);

    /** Principals on the Kafka cluster {@code admin} settings reach (a super user's), passwords derived under {@code key}. */
    static ExecutorPrincipals kafka(Map<String, Object> admin, byte[] key) {
        if (key == null || key.length < 16) {
            throw new IllegalArgumentException("the key executor passwords are derived under needs at least 16 bytes");
        }
        byte[] k = key.clone();
        return new ExecutorPrincipals() {
            @Override
            public KafkaAccess.Credentials grant(String project, String incarnation) {
                try (Admin a = Admin.create(admin)) {
                    return KafkaAccess.grantExecutor(a, project, password(k, project, incarnation));
                }
            }

            @Override
            public void revoke(String project) {
                try (Admin a = Admin.create(admin)) {
                    KafkaAccess.revokeExecutor(a, project);
                }
            }
        };
    }

    /** The derived password: 144 bits of HMAC-SHA256(key, principal NUL incarnation), base64url. */
    static String password(byte[] key, String project, String incarnation) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal((KafkaAccess.executorPrincipal(project) + "\0" + (incarnation == null ? "" : incarnation))
                    .getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(h, 18));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
