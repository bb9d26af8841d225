package io.clops.executor;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The sync side: health, metrics, and a reverse proxy to the model for everything else (OIP v2 paths such as
 * /v2/models/{name}/infer and any raw path). Before the model: the token check (401), the rate limit (429 with
 * Retry-After), the body size (413) and, for infer requests, the shape of the inputs (400 naming the input); then
 * the version is chosen ({@link Router}) and named in the {@value Router#STICKY_HEADER} response header. The
 * model down is 503, too slow 504. Every error is JSON: {"error": "...", "status": N}.
 */
public final class SyncServer {
    static {
        // the JDK's server leaves Nagle's algorithm on: each small answer would wait ~40 ms for the peer's delayed ACK
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final ExecutorConfig config;
    private final Dispatcher dispatcher;
    private final Metrics metrics;
    private final RateLimiter limiter;
    private final TokenCheck tokens;
    private volatile AsyncFacade facade;
    private final HttpServer server;
    private final ExecutorService pool;

    public SyncServer(ExecutorConfig config, Dispatcher dispatcher, Metrics metrics, RateLimiter limiter, TokenCheck tokens) throws IOException {
        this.config = config;
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.limiter = limiter;
        this.tokens = tokens;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", config.port()), 1024);
        this.pool = Executors.newFixedThreadPool(Math.max(8, Runtime.getRuntime().availableProcessors() * 8), r -> {
            Thread t = new Thread(r, "executor-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
    }

    /** Enables /async/… (the deployment consumes its request topic). */
    public void facade(AsyncFacade facade) {
        this.facade = facade;
    }

    public SyncServer start() {
        server.start();
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public void stop() {
        server.stop(0);
        pool.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            switch (path) {
                case "/v2/health/live" -> send(ex, 200, "application/json", "{\"live\":true}".getBytes(StandardCharsets.UTF_8));
                case "/v2/health/ready" -> {
                    boolean ready = dispatcher.ready(config.protocol());
                    send(ex, ready ? 200 : 503, "application/json",
                            ("{\"ready\":" + ready + "}").getBytes(StandardCharsets.UTF_8));
                }
                case "/metrics" -> send(ex, 200, "text/plain; version=0.0.4",
                        metrics.scrape(config.project(), config.deployment()).getBytes(StandardCharsets.UTF_8));
                default -> {
                    if (path.startsWith("/async/")) {
                        async(ex, path.substring("/async".length()));
                    } else {
                        proxy(ex);
                    }
                }
            }
        }
    }

    private void proxy(HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        metrics.inFlight.incrementAndGet();
        try {
            String denied = tokens.denied(ex.getRequestHeaders().getFirst("Authorization"));
            if (denied != null) {
                refuse(ex, 401, denied, start);
                return;
            }
            long wait = limiter.acquire();
            if (wait > 0) {
                ex.getResponseHeaders().set("Retry-After", Long.toString(wait));
                refuse(ex, 429, "rate limit of " + config.rateLimitRps() + " requests/s exceeded; retry after " + wait + " s", start);
                return;
            }
            byte[] body = readBody(ex);
            if (body == null) {
                refuse(ex, 413, "request body larger than " + config.maxBodyBytes() + " bytes", start);
                return;
            }
            String target = ex.getRequestURI().getRawPath()
                    + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
            String requestId = ex.getRequestHeaders().getFirst("X-Request-Id");
            Dispatcher.Answer a = dispatcher.dispatch("sync", requestId, ex.getRequestMethod(), target, ex.getRequestHeaders(),
                    body, ex.getRequestHeaders().getFirst(Router.STICKY_HEADER), start).join();
            if (!a.route().name().equals("-")) {
                ex.getResponseHeaders().set(Router.STICKY_HEADER, a.route().name());
            }
            send(ex, a.reply().status(), a.reply().contentType(), a.reply().body());
        } finally {
            metrics.inFlight.decrementAndGet();
        }
    }

    /** POST /async/v2/models/{m}/infer → 202 {id}; GET /async/results/{id} → the answer, or 202 while pending. */
    private void async(HttpExchange ex, String rest) throws IOException {
        long start = System.nanoTime();
        String denied = tokens.denied(ex.getRequestHeaders().getFirst("Authorization"));
        if (denied != null) {
            refuse(ex, 401, denied, start);
            return;
        }
        if (facade == null) {
            refuse(ex, 404, "this deployment is not async (spec.mode sync)", start);
            return;
        }
        if (ex.getRequestMethod().equals("GET") && rest.startsWith("/results/")) {
            String id = rest.substring("/results/".length());
            AsyncFacade.Result r = facade.result(id);
            if (r != null) {
                ex.getResponseHeaders().set(AsyncWorker.H_REQUEST_ID, id);
                send(ex, r.status(), r.contentType(), r.body());
            } else if (facade.isPending(id)) {
                send(ex, 202, "application/json", ("{\"id\":\"" + id + "\",\"status\":\"pending\"}").getBytes(StandardCharsets.UTF_8));
            } else {
                refuse(ex, 404, "no answer known for request id " + id + " (unknown, expired, or submitted to another replica moments ago)", start);
            }
            return;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("/v2/models/([^/]+)(/versions/[^/]+)?/infer").matcher(rest);
        if (!ex.getRequestMethod().equals("POST") || !m.matches()) {
            refuse(ex, 404, "async paths: POST /async/v2/models/{model}/infer, GET /async/results/{id}", start);
            return;
        }
        byte[] body = readBody(ex);
        if (body == null) {
            refuse(ex, 413, "request body larger than " + config.maxBodyBytes() + " bytes", start);
            return;
        }
        try {
            String id = facade.submit(ex.getRequestHeaders().getFirst("X-Request-Id"), m.group(1), body);
            ex.getResponseHeaders().set("Location", "/async/results/" + id);
            send(ex, 202, "application/json", ("{\"id\":\"" + id + "\",\"status\":\"submitted\",\"result\":\"/async/results/"
                    + id + "\"}").getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            refuse(ex, 503, "cannot put the request on Kafka: " + e.getMessage(), start);
        }
    }

    private void refuse(HttpExchange ex, int status, String message, long start) throws IOException {
        metrics.record("sync", "-", status, System.nanoTime() - start, -1);
        send(ex, status, "application/json", ErrorBody.json(status, message));
    }

    /** The body, or null when it is larger than allowed. */
    private byte[] readBody(HttpExchange ex) throws IOException {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null && Long.parseLong(declared) > config.maxBodyBytes()) {
            return null;
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes() + 1));
            return body.length > config.maxBodyBytes() ? null : body;
        }
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
