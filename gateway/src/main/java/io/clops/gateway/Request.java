package io.clops.gateway;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.ModelVersion;

/**
 * A write, parsed and checked by {@link Requests}: what the gateway appends to the log. Deployments go to
 * clops.commands; registry requests to clops.registry. Whether it is accepted is the fold's to say.
 */
public sealed interface Request {
    String project();

    /** What the request acts on, for messages: a deployment or model name. */
    String subject();

    record Deploy(String project, String name, DeploymentSpec spec) implements Request {
        @Override
        public String subject() {
            return name;
        }
    }

    record Undeploy(String project, String name) implements Request {
        @Override
        public String subject() {
            return name;
        }
    }

    /** Registers a version; {@code version.getVersion()} 0 lets the fold number it. */
    record RegisterVersion(String project, String model, ModelVersion version) implements Request {
        @Override
        public String subject() {
            return model;
        }
    }

    record SetAlias(String project, String model, String alias, int version) implements Request {
        @Override
        public String subject() {
            return model;
        }
    }

    record RemoveAlias(String project, String model, String alias) implements Request {
        @Override
        public String subject() {
            return model;
        }
    }

    record ArchiveVersion(String project, String model, int version) implements Request {
        @Override
        public String subject() {
            return model;
        }
    }
}
