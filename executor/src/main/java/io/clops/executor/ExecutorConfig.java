package io.clops.executor;

import io.clops.kafka.Topics;

import java.util.Map;

/**
 * What one executor serves: read from environment variables (the worker that starts it sets them).
 *
 * @param modelName default model name for async requests (OIP v2 path /v2/models/{name}/infer)
 * @param mode      sync | async | both: whether the request topic is consumed
 */
public record ExecutorConfig(int port, String modelUrl, String modelName, String protocol, String project,
                             String deployment, String mode, String bootstrap, int timeoutMs, long maxBodyBytes,
                             int asyncConcurrency) {

    public static ExecutorConfig fromEnv(Map<String, String> env) {
        return new ExecutorConfig(
                Integer.parseInt(env.getOrDefault("CLOPS_EXECUTOR_PORT", "9000")),
                require(env, "CLOPS_MODEL_URL"),
                env.getOrDefault("CLOPS_MODEL_NAME", "model"),
                env.getOrDefault("CLOPS_PROTOCOL", "v2"),
                env.getOrDefault("CLOPS_PROJECT", "default"),
                env.getOrDefault("CLOPS_DEPLOYMENT", "model"),
                env.getOrDefault("CLOPS_MODE", "sync"),
                env.get("CLOPS_BOOTSTRAP"),
                Integer.parseInt(env.getOrDefault("CLOPS_TIMEOUT_MS", "5000")),
                Long.parseLong(env.getOrDefault("CLOPS_MAX_BODY_BYTES", Long.toString(10L * 1024 * 1024))),
                Integer.parseInt(env.getOrDefault("CLOPS_ASYNC_CONCURRENCY", "8")));
    }

    private static String require(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("environment variable " + name + " is required");
        }
        return v;
    }

    public boolean async() {
        return ("async".equals(mode) || "both".equals(mode)) && bootstrap != null;
    }

    public String requestTopic() {
        return Topics.inferRequests(project, deployment).name();
    }

    public String responseTopic() {
        return Topics.inferResponses(project, deployment).name();
    }

    public String consumerGroup() {
        return "clops.executor." + project + "." + deployment;
    }
}
