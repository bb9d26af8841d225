package io.clops.command;

import io.clops.kafka.KafkaAccess;
import io.clops.kafka.KafkaConfigs;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.admin.Admin;


/**
 * Kafka credentials per member and project, where the platform's Kafka enforces ACLs ({@code clops.kafka.acls}: the
 * embedded broker of {@code clops up}, or a cluster whose operators let the platform manage SCRAM users and ACLs).
 * Issued on request to a member (a new password each time), removed with the member, the service account or the
 * project ({@link KafkaAccess}).
 */
@Singleton
public class KafkaCredentials {
    private final boolean enabled;
    private final String bootstrap;

    public KafkaCredentials(@Value("${clops.kafka.acls:false}") boolean enabled, @Value("${clops.kafka.bootstrap}") String bootstrap) {
        this.enabled = enabled;
        this.bootstrap = bootstrap;
    }

    public boolean enabled() {
        return enabled;
    }

    public String bootstrap() {
        return bootstrap;
    }

    /** New credentials for {@code member} in {@code project} (the member's previous password stops working). */
    public KafkaAccess.Credentials issue(String project, String member) {
        try (Admin admin = Admin.create(KafkaConfigs.admin(bootstrap))) {
            return KafkaAccess.grant(admin, project, member, KafkaAccess.newPassword());
        }
    }

    /** Removes a member's credentials in a project (nothing when Kafka does not enforce ACLs). */
    public void revoke(String project, String member) {
        if (enabled) {
            try (Admin admin = Admin.create(KafkaConfigs.admin(bootstrap))) {
                KafkaAccess.revoke(admin, project, member);
            }
        }
    }

    /** Removes every member's credentials in a project. */
    public void revokeAll(String project) {
        if (enabled) {
            try (Admin admin = Admin.create(KafkaConfigs.admin(bootstrap))) {
                KafkaAccess.revokeAll(admin, project);
            }
        }
    }
}
