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
                               ProjectSettings defaults, Map<String, String> kafkaClient, String authPublicKey, ModelFiles modelFiles) {

    public PlatformSettings(String executorImage, String bootstrap, Map<String, ProjectSettings> projects,
                            ProjectSettings defaults, Map<String, String> kafkaClient) {
        this(executorImage, bootstrap, projects, defaults, kafkaClient, null, ModelFiles.defaults(executorImage));
    }

    /**
     * How pods serve a version that is a model file (no image or command of its own).
     *
     * @param image        the image with clops's runtime (ONNX Runtime, XGBoost) and its fetch step: the platform's own
     * @param storeUrl     the API as pods reach it, for files in the platform's store ({@code clops:artifacts/...})
     * @param nodeCacheDir the node directory (hostPath) model files are cached in by digest, shared by the node's pods;
     *                     null: each pod its own (an emptyDir), for namespaces whose Pod Security level refuses hostPath
     * @param fetchSecret  the Secret (in each project's namespace, key {@code token}) holding the token the fetch step
     *                     presents: a service account of the project (viewer); optional
     * @param nodeCacheMaxBytes what a node's cache may hold before the fetch step removes the files used longest ago
     *                     (0: no limit)
     */
    public record ModelFiles(String image, String storeUrl, String nodeCacheDir, String fetchSecret, long nodeCacheMaxBytes) {
        /** 20 GiB of model files per node, by default. */
        public static final long DEFAULT_NODE_CACHE_MAX_BYTES = 20L << 30;

        public ModelFiles {
            if (nodeCacheMaxBytes < 0) {
                throw new IllegalArgumentException("CLOPS_MODEL_CACHE_MAX_BYTES: a whole number of bytes, 0 for no limit, not " + nodeCacheMaxBytes);
            }
        }

        public ModelFiles(String image, String storeUrl, String nodeCacheDir, String fetchSecret) {
            this(image, storeUrl, nodeCacheDir, fetchSecret, DEFAULT_NODE_CACHE_MAX_BYTES);
        }

        public static ModelFiles defaults(String image) {
            return new ModelFiles(image, "http://clops-api.clops-system.svc.cluster.local", "/var/cache/clops/models", "clops-model-fetch");
        }

        /**
         * The defaults with what the environment sets: CLOPS_MODEL_STORE_URL, CLOPS_MODEL_CACHE_DIR (empty: per pod),
         * CLOPS_MODEL_CACHE_MAX_BYTES (0: no limit).
         */
        public ModelFiles fromEnvironment(Map<String, String> env) {
            String cache = env.containsKey("CLOPS_MODEL_CACHE_DIR") ? env.get("CLOPS_MODEL_CACHE_DIR") : nodeCacheDir;
            long max = nodeCacheMaxBytes;
            if (env.containsKey("CLOPS_MODEL_CACHE_MAX_BYTES")) {
                try {
                    max = Long.parseLong(env.get("CLOPS_MODEL_CACHE_MAX_BYTES").strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("CLOPS_MODEL_CACHE_MAX_BYTES: a whole number of bytes, 0 for no limit, not '"
                            + env.get("CLOPS_MODEL_CACHE_MAX_BYTES") + "'");
                }
            }
            return new ModelFiles(image, env.getOrDefault("CLOPS_MODEL_STORE_URL", storeUrl), cache == null || cache.isBlank() ? null : cache,
                    fetchSecret, max);
        }
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
        return new PlatformSettings(executorImage, bootstrap, projects, defaults, Map.copyOf(settings), authPublicKey, modelFiles);
    }

    /**
     * The same, with executors that check the platform's tokens: {@code key} is its public key, base64 X.509 (the
     * worker's {@code CLOPS_AUTH_PUBLIC_KEY}); null: executors let anyone call.
     */
    public PlatformSettings withAuthPublicKey(String key) {
        return new PlatformSettings(executorImage, bootstrap, projects, defaults, kafkaClient, key, modelFiles);
    }

    /** The same, serving model files so. */
    public PlatformSettings withModelFiles(ModelFiles files) {
        return new PlatformSettings(executorImage, bootstrap, projects, defaults, kafkaClient, authPublicKey, files);
    }

    public ProjectSettings project(String project) {
        return projects.getOrDefault(project, defaults);
    }
}
