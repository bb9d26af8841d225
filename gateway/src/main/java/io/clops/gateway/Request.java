package io.clops.gateway;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.ModelVersion;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;

/**
 * A write, parsed and checked by {@link Requests}: what the gateway appends to the log. Deployments go to
 * clops.commands; registry requests to clops.registry. Whether it is accepted is the fold's to say.
 */
public sealed interface Request {
    String project();

    /** @param expectedGeneration refused unless the deployment is at this generation (0: new); null: any */
    record Deploy(String project, String name, DeploymentSpec spec, Long expectedGeneration) implements Request {
        public Deploy(String project, String name, DeploymentSpec spec) {
            this(project, name, spec, null);
        }
    }

    record Undeploy(String project, String name) implements Request {
    }

    /** Registers a version; {@code version.getVersion()} 0 lets the fold number it. */
    record RegisterVersion(String project, String model, ModelVersion version) implements Request {
    }

    record SetAlias(String project, String model, String alias, int version) implements Request {
    }

    record RemoveAlias(String project, String model, String alias) implements Request {
    }

    record ArchiveVersion(String project, String model, int version) implements Request {
    }

    /** @param admin the first admin; null: whoever asks */
    record CreateProject(String project, String admin, String description, ProjectQuota quota) implements Request {
    }

    record DeleteProject(String project) implements Request {
    }

    record SetMember(String project, String user, ProjectRole role) implements Request {
    }

    record RemoveMember(String project, String user) implements Request {
    }

    record SetQuota(String project, ProjectQuota quota) implements Request {
    }

    /** @param tokenId the id of the token issued once the fold accepts; @param expiresMs its expiry */
    record CreateServiceAccount(String project, String name, ProjectRole role, String tokenId, long expiresMs) implements Request {
    }

    record RemoveServiceAccount(String project, String name) implements Request {
    }

    /**
     * A member's own Kafka credentials in the project, set anew: in the log before they exist (who, when, which
     * principal; never the password), issued by the API once the fold accepts.
     */
    record IssueKafkaCredentials(String project, String user) implements Request {
    }
}
