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
 * /v2/models/{name}/infer and any raw path), with 413 / 503 / 504 answered as JSON.
 */
public final class SyncServer {
    private final ExecutorConfig config;
    private final ModelClient model;
    private final Metrics metrics;
    private final HttpServer server;
    private final ExecutorService pool;

    public SyncServer(ExecutorConfig config, ModelClient model, Metrics metrics) throws IOException {
        this.config = config;
        this.model = model;
        this.metrics = metrics;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", config.port()), 1024);
        this.pool = Executors.newFixedThreadPool(Math.max(8, Runtime.getRuntime().availableProcessors() * 8), r -> {
            Thread t = new Thread(r, "executor-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
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
                    boolean ready = model.ready(config.protocol());
                    send(ex, ready ? 200 : 503, "application/json",
                            ("{\"ready\":" + ready + "}").getBytes(StandardCharsets.UTF_8));
                }
                case "/metrics" -> send(ex, 200, "text/plain; version=0.0.4",
                        metrics.scrape(config.project(), config.deployment()).getBytes(StandardCharsets.UTF_8));
                default -> proxy(ex);
            }
        }
    }

    private void proxy(HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        metrics.inFlight.incrementAndGet();
        ModelClient.Reply reply;
        try {
            byte[] body = readBody(ex);
            if (body == null) {
                reply = ModelClient.error(413, "request body larger than " + config.maxBodyBytes() + " bytes", -1);
            } else {
                String target = ex.getRequestURI().getRawPath()
                        + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
                reply = model.call(ex.getRequestMethod(), target, ex.getRequestHeaders(), body).join();
            }
            send(ex, reply.status(), reply.contentType(), reply.body());
        } finally {
            metrics.inFlight.decrementAndGet();
        }
        metrics.record("sync", reply.status(), System.nanoTime() - start, reply.modelNanos());
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
