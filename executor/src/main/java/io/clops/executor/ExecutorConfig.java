package io.clops.executor;

import io.clops.kafka.Topics;
import io.clops.runtime.ExecutorContract;

import java.util.List;
import java.util.Map;

/**
 * What one executor serves: read from environment variables (the worker that starts it sets them).
 *
 * @param routes     model versions behind this endpoint with their weights (CLOPS_ROUTES), or the one CLOPS_MODEL_URL
 * @param shadow     a version that gets a copy of each request; its answers are only logged (CLOPS_SHADOW), or null
 * @param modelName  default model name for async requests (OIP v2 path /v2/models/{name}/infer)
 * @param mode       sync | async | both: whether the request topic is consumed
 * @param inputsJson the model's declared inputs, to check requests against (CLOPS_INPUTS), or null
 * @param token      a bearer token every sync request must carry (CLOPS_EXECUTOR_TOKEN), or null
 * @param host       the address to listen on (CLOPS_EXECUTOR_HOST): 127.0.0.1 on one machine, 0.0.0.0 in a pod
 * @param threads    event loops (CLOPS_EXECUTOR_THREADS); 0 is one per available core
 * @param transport  io_uring, epoll or nio (CLOPS_EXECUTOR_TRANSPORT); null for the best this machine allows
 * @param client     what a client must keep up with ({@link ClientLimits})
 * @param auth       tokens checked on every request ({@link ExecutorContract.Auth}), or null: anyone may call
 */
public record ExecutorConfig(int port, List<Route> routes, Route shadow, String modelName, String protocol, String project,
                             String deployment, String mode, String bootstrap, int timeoutMs, long maxBodyBytes,
                             int asyncConcurrency, int rateLimitRps, String inputsJson, boolean logRequests,
                             double logSample, int logMaxBytes, String token,
                             String host, int threads, String transport, ClientLimits client,
                             ExecutorContract.Auth auth) {

    /**
     * What a client must keep up with (nginx's client_header_timeout and client_body_timeout, and a rate):
     *
     * @param idleMs       how long it may stay silent (CLOPS_CLIENT_IDLE_MS): mid-request → 408, between requests → the
     *                     keep-alive connection is closed
     * @param headerMs     a whole request head within this from its first byte, however it trickles
     *                     (CLOPS_CLIENT_HEADER_TIMEOUT_MS) → 408
     * @param bodyMinRate  bytes per second a body must arrive at, on average, once it has had {@code headerMs}
     *                     (CLOPS_CLIENT_BODY_MIN_RATE); time the executor itself stopped reading (backpressure) does not
     *                     count → 408, a streamed upload cut
     */
    public record ClientLimits(int idleMs, int headerMs, int bodyMinRate) {
        public static final ClientLimits DEFAULT = new ClientLimits(DEFAULT_CLIENT_IDLE_MS, 10_000, 4096);
    }

    public int clientIdleMs() {
        return client.idleMs();
    }

    /** nginx's client_header_timeout and client_body_timeout. */
    public static final int DEFAULT_CLIENT_IDLE_MS = 60_000;

    /** Reads the executor's environment: the contract the runtimes write ({@link ExecutorContract}). */
    public static ExecutorConfig fromEnv(Map<String, String> env) {
        return of(ExecutorContract.fromEnv(env));
    }

    /** The executor's own view of the contract a runtime gave it. */
    public static ExecutorConfig of(ExecutorContract c) {
        return new ExecutorConfig(c.port(), c.routes().stream().map(ExecutorConfig::route).toList(),
                c.shadow() == null ? null : route(c.shadow()), c.modelName(), c.protocol(), c.project(), c.deployment(), c.mode(),
                c.bootstrap(), c.timeoutMs(), c.maxBodyBytes(), c.asyncConcurrency(), c.rateLimitRps(), c.inputs(), c.logRequests(),
                c.logSample(), c.logMaxBytes(), c.token(), c.host(), c.threads(), c.transport(),
                new ClientLimits(c.clientIdleMs(), c.clientHeaderTimeoutMs(), c.clientBodyMinRate()), c.auth());
    }

    private static Route route(ExecutorContract.Route r) {
        return new Route(r.name(), r.url(), r.weight());
    }

    /** One model, everything else at its default: for tests and simple uses. */
    public static ExecutorConfig single(int port, String modelUrl, String modelName, String project, String deployment,
                                        String mode, String bootstrap, int timeoutMs, long maxBodyBytes) {
        return new ExecutorConfig(port, List.of(new Route(modelName, modelUrl, 100)), null, modelName, "v2", project, deployment,
                mode, bootstrap, timeoutMs, maxBodyBytes, 8, 0, null, false, 1.0, 4096, null, "127.0.0.1", 0, null,
                ClientLimits.DEFAULT, null);
    }

    /** The same settings on another transport. */
    public ExecutorConfig withTransport(String transport) {
        return new ExecutorConfig(port, routes, shadow, modelName, protocol, project, deployment, mode, bootstrap, timeoutMs,
                maxBodyBytes, asyncConcurrency, rateLimitRps, inputsJson, logRequests, logSample, logMaxBytes, token, host, threads,
                transport, client, auth);
    }

    /** The same settings with tokens checked ({@code auth} null: anyone may call). */
    public ExecutorConfig withAuth(ExecutorContract.Auth a) {
        return new ExecutorConfig(port, routes, shadow, modelName, protocol, project, deployment, mode, bootstrap, timeoutMs,
                maxBodyBytes, asyncConcurrency, rateLimitRps, inputsJson, logRequests, logSample, logMaxBytes, token, host, threads,
                transport, client, a);
    }

    /** The same settings with another client idle limit. */
    public ExecutorConfig withClientIdleMs(int clientIdleMs) {
        return withClient(new ClientLimits(clientIdleMs, client.headerMs(), client.bodyMinRate()));
    }

    /** The same settings with other client limits. */
    public ExecutorConfig withClient(ClientLimits limits) {
        return new ExecutorConfig(port, routes, shadow, modelName, protocol, project, deployment, mode, bootstrap, timeoutMs,
                maxBodyBytes, asyncConcurrency, rateLimitRps, inputsJson, logRequests, logSample, logMaxBytes, token, host, threads,
                transport, limits, auth);
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
        return Topics.executorGroupPrefix(project) + deployment;
    }
}
