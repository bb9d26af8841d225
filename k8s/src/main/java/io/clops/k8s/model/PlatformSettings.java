package io.clops.k8s.model;

import java.util.List;
import java.util.Map;

/**
 * What the cluster side needs beyond a deployment: the executor image, the Kafka bootstrap the executors use, and
 * per project its quota and members. Until projects come from their own issue, these come from configuration.
 */
public record PlatformSettings(String executorImage, String bootstrap, Map<String, ProjectSettings> projects,
                               ProjectSettings defaults) {

    public record Quota(String cpu, String memory, int gpu, int pods) {
    }

    /** Members by role (viewer, modeler, admin): Kubernetes user names bound besides the role's group. */
    public record ProjectSettings(Quota quota, Map<String, List<String>> members) {
    }

    public static PlatformSettings defaults(String executorImage, String bootstrap) {
        return new PlatformSettings(executorImage, bootstrap, Map.of(),
                new ProjectSettings(new Quota("8", "32Gi", 0, 50), Map.of()));
    }

    public ProjectSettings project(String project) {
        return projects.getOrDefault(project, defaults);
    }
}
