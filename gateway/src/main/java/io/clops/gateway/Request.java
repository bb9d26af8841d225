package io.clops.gateway;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.ModelVersion;

/**
 * A write, parsed and checked by {@link Requests}: what the gateway appends to the log. Deployments go to
 * clops.commands; registry requests to clops.registry. Whether it is accepted is the fold's to say.
 */
public sealed interface Request {
    String project();

    record Deploy(String project, String name, DeploymentSpec spec) implements Request {
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
}
