package io.clops.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a runtime tells an executor, typed, and the one place its environment variables ({@code CLOPS_*}) are
 * written ({@link #toEnv()}, by both runtimes) and read ({@link #fromEnv}, by the executor). A value the
 * environment does not give takes its default; one that cannot be read is refused naming the variable.
 *
 * @param routes  the model versions behind the endpoint with their weights ({@code CLOPS_ROUTES}); async requests
 *                and sync ones alike are split by these weights, and a {@code clops-route} naming one keeps a caller
 *                on it
 * @param shadow  a version that gets a copy of each request, its answers only logged ({@code CLOPS_SHADOW}), or null
 * @param inputs  the model's declared inputs as a JSON list of {name, datatype, shape} ({@code CLOPS_INPUTS}), or null
 * @param threads event loops; 0: one per available core
 * @param transport io_uring, epoll or nio; null: the best this machine allows
 * @param auth    who may call: the platform's token key and the deployment's access ({@link Auth}); null: anyone
 *                (the platform runs without identity: tests, the demo, {@code clops up --no-auth})
 */
public record ExecutorContract(int port, String host, List<Route> routes, Route shadow, String modelName, String protocol,
                               String project, String deployment, String mode, String bootstrap, int timeoutMs,
                               long maxBodyBytes, int rateLimitRps, String inputs, boolean logRequests, double logSample,
                               int logMaxBytes, int asyncConcurrency, String token, int threads, String transport,
                               int clientIdleMs, int clientHeaderTimeoutMs, int clientBodyMinRate, Auth auth) {

    /**
     * Tokens on every request: the executor checks each against the platform's public key, the revocations and its
     * project's members ({@code clops.members.<project>}, {@code clops.revocations}: it needs {@code bootstrap}).
     *
     * @param publicKey the platform's Ed25519 verifying key, base64 X.509 ({@code CLOPS_AUTH_PUBLIC_KEY})
     * @param access    members (any role of the project) or public (anyone, no token) ({@code CLOPS_ACCESS}: spec.access)
     */
    public record Auth(String publicKey, String access) {
        public Auth {
            if (publicKey == null || publicKey.isBlank() || !publicKey.matches("[A-Za-z0-9+/=]{1,200}")) {
                throw new IllegalArgumentException("CLOPS_AUTH_PUBLIC_KEY: base64 of the platform's public key, not '" + publicKey + "'");
            }
            if (!"members".equals(access) && !"public".equals(access)) {
                throw new IllegalArgumentException("CLOPS_ACCESS: members or public, not '" + access + "'");
            }
        }

        public boolean open() {
            return "public".equals(access);
        }

        /** The platform's key ({@code null}: the platform runs without identity) and a deployment's spec.access. */
        public static Auth of(String publicKey, String access) {
            return publicKey == null ? null : new Auth(publicKey, access);
        }
    }

    /** One model version: its name (as in {@code clops-route} and the metrics), where it listens, its weight. */
    public record Route(String name, String url, int weight) {
        public Route {
            if (name == null || name.isBlank() || name.contains("=") || name.contains(";")) {
                throw new IllegalArgumentException("route name '" + name + "': non-empty, without '=' or ';'");
            }
            if (url == null || !url.startsWith("http://") || url.contains(";") || url.indexOf('=') >= 0) {
                throw new IllegalArgumentException("route " + name + ": url '" + url + "' must be http://host:port, without '=' or ';'");
            }
            if (weight < 0 || weight > 100) {
                throw new IllegalArgumentException("route " + name + ": weight " + weight + " is not 0..100");
            }
        }
    }

    public static final int DEFAULT_PORT = 9000;
    public static final int DEFAULT_CLIENT_IDLE_MS = 60_000;

    public ExecutorContract {
        routes = List.copyOf(routes);
        if (routes.isEmpty()) {
            throw new IllegalArgumentException("CLOPS_ROUTES: at least one route");
        }
    }

    /** The defaults, and one model at {@code modelUrl} (named {@code modelName}): set the rest as needed. */
    public static Builder builder(String modelName, String modelUrl) {
        return new Builder(modelName, List.of(new Route(modelName, modelUrl, 100)));
    }

    public static Builder builder(String modelName, List<Route> routes) {
        return new Builder(modelName, routes);
    }

    public Builder toBuilder() {
        Builder b = new Builder(modelName, routes);
        b.port = port;
        b.host = host;
        b.shadow = shadow;
        b.protocol = protocol;
        b.project = project;
        b.deployment = deployment;
        b.mode = mode;
        b.bootstrap = bootstrap;
        b.timeoutMs = timeoutMs;
        b.maxBodyBytes = maxBodyBytes;
        b.rateLimitRps = rateLimitRps;
        b.inputs = inputs;
        b.logRequests = logRequests;
        b.logSample = logSample;
        b.logMaxBytes = logMaxBytes;
        b.asyncConcurrency = asyncConcurrency;
        b.token = token;
        b.threads = threads;
        b.transport = transport;
        b.clientIdleMs = clientIdleMs;
        b.clientHeaderTimeoutMs = clientHeaderTimeoutMs;
        b.clientBodyMinRate = clientBodyMinRate;
        b.auth = auth;
        return b;
    }

    /** The environment an executor process is started with (only what is set: defaults are the executor's). */
    public Map<String, String> toEnv() {
        Map<String, String> env = new TreeMap<>();
        env.put("CLOPS_EXECUTOR_PORT", Integer.toString(port));
        env.put("CLOPS_EXECUTOR_HOST", host);
        env.put("CLOPS_ROUTES", format(routes));
        if (shadow != null) {
            env.put("CLOPS_SHADOW", format(List.of(shadow)));
        }
        env.put("CLOPS_MODEL_NAME", modelName);
        env.put("CLOPS_PROTOCOL", protocol);
        env.put("CLOPS_PROJECT", project);
        env.put("CLOPS_DEPLOYMENT", deployment);
        env.put("CLOPS_MODE", mode);
        if (bootstrap != null) {
            env.put("CLOPS_BOOTSTRAP", bootstrap);
        }
        env.put("CLOPS_TIMEOUT_MS", Integer.toString(timeoutMs));
        env.put("CLOPS_MAX_BODY_BYTES", Long.toString(maxBodyBytes));
        env.put("CLOPS_RATE_LIMIT_RPS", Integer.toString(rateLimitRps));
        if (inputs != null) {
            env.put("CLOPS_INPUTS", inputs);
        }
        env.put("CLOPS_LOG_REQUESTS", Boolean.toString(logRequests));
        env.put("CLOPS_LOG_SAMPLE", Double.toString(logSample));
        env.put("CLOPS_LOG_MAX_BYTES", Integer.toString(logMaxBytes));
        env.put("CLOPS_ASYNC_CONCURRENCY", Integer.toString(asyncConcurrency));
        if (token != null) {
            env.put("CLOPS_EXECUTOR_TOKEN", token);
        }
        env.put("CLOPS_EXECUTOR_THREADS", Integer.toString(threads));
        if (transport != null) {
            env.put("CLOPS_EXECUTOR_TRANSPORT", transport);
        }
        env.put("CLOPS_CLIENT_IDLE_MS", Integer.toString(clientIdleMs));
        env.put("CLOPS_CLIENT_HEADER_TIMEOUT_MS", Integer.toString(clientHeaderTimeoutMs));
        env.put("CLOPS_CLIENT_BODY_MIN_RATE", Integer.toString(clientBodyMinRate));
        if (auth != null) {
            env.put("CLOPS_AUTH_PUBLIC_KEY", auth.publicKey());
            env.put("CLOPS_ACCESS", auth.access());
        }
        return env;
    }

    /**
     * Reads an executor's environment: {@code CLOPS_ROUTES} (or, for one model, {@code CLOPS_MODEL_URL}) required,
     * everything else defaulted. A value that cannot be read is an IllegalArgumentException naming the variable.
     */
    public static ExecutorContract fromEnv(Map<String, String> env) {
        String modelName = env.getOrDefault("CLOPS_MODEL_NAME", "model");
        List<Route> routes = parse("CLOPS_ROUTES", env.get("CLOPS_ROUTES"));
        if (routes.isEmpty()) {
            String url = env.get("CLOPS_MODEL_URL");
            if (url == null || url.isBlank()) {
                throw new IllegalArgumentException("environment variable CLOPS_ROUTES (or CLOPS_MODEL_URL) is required");
            }
            routes = List.of(new Route(modelName, url, 100));
        }
        List<Route> shadow = parse("CLOPS_SHADOW", env.get("CLOPS_SHADOW"));
        Builder b = builder(modelName, routes);
        b.shadow = shadow.isEmpty() ? null : shadow.get(0);
        b.port = integer(env, "CLOPS_EXECUTOR_PORT", b.port, 0, 65535);
        b.host = env.getOrDefault("CLOPS_EXECUTOR_HOST", b.host);
        b.protocol = env.getOrDefault("CLOPS_PROTOCOL", b.protocol);
        b.project = env.getOrDefault("CLOPS_PROJECT", b.project);
        b.deployment = env.getOrDefault("CLOPS_DEPLOYMENT", b.deployment);
        b.mode = oneOf(env, "CLOPS_MODE", b.mode, List.of("sync", "async", "both"));
        b.bootstrap = env.get("CLOPS_BOOTSTRAP");
        b.timeoutMs = integer(env, "CLOPS_TIMEOUT_MS", b.timeoutMs, 1, Integer.MAX_VALUE);
        b.maxBodyBytes = longValue(env, "CLOPS_MAX_BODY_BYTES", b.maxBodyBytes);
        b.rateLimitRps = integer(env, "CLOPS_RATE_LIMIT_RPS", b.rateLimitRps, 0, Integer.MAX_VALUE);
        b.inputs = env.get("CLOPS_INPUTS");
        b.logRequests = bool(env, "CLOPS_LOG_REQUESTS", b.logRequests);
        b.logSample = decimal(env, "CLOPS_LOG_SAMPLE", b.logSample);
        b.logMaxBytes = integer(env, "CLOPS_LOG_MAX_BYTES", b.logMaxBytes, 0, Integer.MAX_VALUE);
        b.asyncConcurrency = integer(env, "CLOPS_ASYNC_CONCURRENCY", b.asyncConcurrency, 1, 4096);
        b.token = env.get("CLOPS_EXECUTOR_TOKEN");
        b.threads = integer(env, "CLOPS_EXECUTOR_THREADS", b.threads, 0, 1024);
        b.transport = env.get("CLOPS_EXECUTOR_TRANSPORT");
        b.clientIdleMs = integer(env, "CLOPS_CLIENT_IDLE_MS", b.clientIdleMs, 1, Integer.MAX_VALUE);
        b.clientHeaderTimeoutMs = integer(env, "CLOPS_CLIENT_HEADER_TIMEOUT_MS", b.clientHeaderTimeoutMs, 1, Integer.MAX_VALUE);
        b.clientBodyMinRate = integer(env, "CLOPS_CLIENT_BODY_MIN_RATE", b.clientBodyMinRate, 0, Integer.MAX_VALUE);
        if (env.get("CLOPS_AUTH_PUBLIC_KEY") != null) {
            b.auth = new Auth(env.get("CLOPS_AUTH_PUBLIC_KEY"), env.getOrDefault("CLOPS_ACCESS", "members"));
            if (b.bootstrap == null) {
                throw new IllegalArgumentException("CLOPS_BOOTSTRAP is required with CLOPS_AUTH_PUBLIC_KEY (the executor follows the project's members)");
            }
        } else if (env.get("CLOPS_ACCESS") != null) {
            throw new IllegalArgumentException("CLOPS_ACCESS needs CLOPS_AUTH_PUBLIC_KEY");
        }
        return b.build();
    }

    /** {@code name=url=weight;…}, e.g. {@code iris-v1=http://127.0.0.1:5001=90;iris-v2=http://127.0.0.1:5002=10}. */
    public static String format(List<Route> routes) {
        return String.join(";", routes.stream().map(r -> r.name() + "=" + r.url() + "=" + r.weight()).toList());
    }

    static List<Route> parse(String variable, String text) {
        List<Route> out = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return out;
        }
        for (String part : text.split(";")) {
            String[] f = part.trim().split("=");
            if (f.length != 3) {
                throw new IllegalArgumentException(variable + ": expected name=url=weight, got '" + part + "'");
            }
            try {
                out.add(new Route(f[0], f[1], Integer.parseInt(f[2])));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(variable + ": weight '" + f[2] + "' is not a number");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(variable + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static int integer(Map<String, String> env, String name, int fallback, int min, int max) {
        String v = env.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new IllegalArgumentException(name + ": " + n + " is not in " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + v + "' is not a whole number");
        }
    }

    private static long longValue(Map<String, String> env, String name, long fallback) {
        String v = env.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 1) {
                throw new IllegalArgumentException(name + ": " + n + " must be positive");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + v + "' is not a whole number");
        }
    }

    private static double decimal(Map<String, String> env, String name, double fallback) {
        String v = env.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (!(d >= 0 && d <= 1)) {
                throw new IllegalArgumentException(name + ": " + v + " is not in 0..1");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": '" + v + "' is not a number");
        }
    }

    private static boolean bool(Map<String, String> env, String name, boolean fallback) {
        String v = env.get(name);
        if (v == null) {
            return fallback;
        }
        if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new IllegalArgumentException(name + ": '" + v + "' is not true or false");
    }

    private static String oneOf(Map<String, String> env, String name, String fallback, List<String> allowed) {
        String v = env.getOrDefault(name, fallback);
        if (!allowed.contains(v)) {
            throw new IllegalArgumentException(name + ": '" + v + "' is not one of " + String.join(", ", allowed));
        }
        return v;
    }

    /** Settings with names; {@link #build()} checks them. */
    public static final class Builder {
        private final String modelName;
        private final List<Route> routes;
        public int port = DEFAULT_PORT;
        public String host = "127.0.0.1";
        public Route shadow;
        public String protocol = "v2";
        public String project = "default";
        public String deployment = "model";
        public String mode = "sync";
        public String bootstrap;
        public int timeoutMs = 5000;
        public long maxBodyBytes = 10L * 1024 * 1024;
        public int rateLimitRps;
        public String inputs;
        public boolean logRequests = true;
        public double logSample = 1.0;
        public int logMaxBytes = 4096;
        public int asyncConcurrency = 8;
        public String token;
        public int threads;
        public String transport;
        public int clientIdleMs = DEFAULT_CLIENT_IDLE_MS;
        public int clientHeaderTimeoutMs = 10_000;
        public int clientBodyMinRate = 4096;
        public Auth auth;

        private Builder(String modelName, List<Route> routes) {
            this.modelName = modelName;
            this.routes = routes;
        }

        public Builder port(int p) {
            port = p;
            return this;
        }

        public Builder host(String h) {
            host = h;
            return this;
        }

        public Builder shadow(Route r) {
            shadow = r;
            return this;
        }

        public Builder protocol(String p) {
            protocol = p;
            return this;
        }

        public Builder deployment(String projectName, String deploymentName) {
            project = projectName;
            deployment = deploymentName;
            return this;
        }

        public Builder mode(String m) {
            mode = m;
            return this;
        }

        public Builder bootstrap(String b) {
            bootstrap = b;
            return this;
        }

        public Builder timeoutMs(int ms) {
            timeoutMs = ms;
            return this;
        }

        public Builder maxBodyBytes(long n) {
            maxBodyBytes = n;
            return this;
        }

        public Builder rateLimitRps(int n) {
            rateLimitRps = n;
            return this;
        }

        public Builder inputs(String json) {
            inputs = json;
            return this;
        }

        public Builder logRequests(boolean on) {
            logRequests = on;
            return this;
        }

        public Builder auth(Auth a) {
            auth = a;
            return this;
        }

        public ExecutorContract build() {
            return new ExecutorContract(port, host, routes, shadow, modelName, protocol, project, deployment, mode, bootstrap,
                    timeoutMs, maxBodyBytes, rateLimitRps, inputs, logRequests, logSample, logMaxBytes, asyncConcurrency, token,
                    threads, transport, clientIdleMs, clientHeaderTimeoutMs, clientBodyMinRate, auth);
        }
    }
}
