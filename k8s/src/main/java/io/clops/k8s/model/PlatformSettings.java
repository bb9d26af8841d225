package io.clops.k8s.model;

import java.util.List;
import java.util.Map;

/**
 * What the cluster side needs beyond a deployment: the executor image, the Kafka bootstrap the executors use, the
 * Kafka client settings they need besides (SASL, TLS: Kafka setting name → value; put in each project's namespace
 * as a Secret), and per project its quota and members. Until projects come from their own issue, these come from
 * configuration.
 */
public record PlatformSettings(String executorImage, String bootstrap, Map<String, ProjectSettings> projects,
                               ProjectSettings defaults, Map<String, String> kafkaClient, String authPublicKey) {

    public PlatformSettings(String executorImage, String bootstrap, Map<String, ProjectSettings> projects,
                            ProjectSettings defaults, Map<String, String> kafkaClient) {
        this(executorImage, bootstrap, projects, defaults, kafkaClient, null);
    }

    public record Quota(String cpu, String memory, int gpu, int pods) {
    }

    /** Members by role (viewer, modeler, admin): Kubernetes user names bound besides the role's group. */
    public record ProjectSettings(Quota quota, Map<String, List<String>> members) {
    }

    public static PlatformSettings defaults(String executorImage, String bootstrap) {
        return new PlatformSettings(executorImage, bootstrap, Map.of(),
                new ProjectSettings(new Quota("8", "32Gi", 0, 50), Map.of()), Map.of());
    }

    /** The same, with these Kafka client settings for the executors (setting name → value). */
    public PlatformSettings withKafkaClient(Map<String, String> settings) {
        return new PlatformSettings(executorImage, bootstrap, projects, defaults, Map.copyOf(settings), authPublicKey);
    }

    /**
     * The same, with executors that check the platform's tokens: {@code key} is its public key, base64 X.509 (the
     * worker's {@code CLOPS_AUTH_PUBLIC_KEY}); null: executors let anyone call.
     */
    public PlatformSettings withAuthPublicKey(String key) {
        return new PlatformSettings(executorImage, bootstrap, projects, defaults, kafkaClient, key);
    }

    public ProjectSettings project(String project) {
        return projects.getOrDefault(project, defaults);
    }
}
