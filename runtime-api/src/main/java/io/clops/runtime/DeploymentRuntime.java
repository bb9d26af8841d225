package io.clops.runtime;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.Project;

/**
 * Where deployments run: local processes or a Kubernetes cluster. The worker calls it level-triggered: with the
 * latest desired state of a key (apply) or its absence (delete), as often as it likes; both must be idempotent.
 */
public interface DeploymentRuntime extends AutoCloseable {
    /** The runtime's name in status: {@code local}, {@code kubernetes}. */
    String name();

    /**
     * Makes the deployment run as desired. May be called from several threads at once, never for two deployments
     * of one project at once. Throws (preferably {@link ApplyFailed} with a reason a user can act on) when it could
     * not: the worker tries again later and shows the reason meanwhile.
     */
    void apply(DesiredDeployment desired);

    void delete(String project, String name);

    /**
     * The project as the log has it (members, roles, quota): make what the runtime keeps per project match it. Called
     * by the worker that owns the project, before its deployments and whenever it changes; idempotent like apply.
     */
    default void applyProject(Project project) {
    }

    /** The project was deleted (its deployments are deleted one by one besides): remove what the runtime keeps for it. */
    default void deleteProject(String project) {
    }

    /** Another worker owns this deployment now: stop acting on it, delete nothing. */
    default void release(String project, String name) {
    }

    @Override
    void close();
}
