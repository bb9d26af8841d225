package io.clops.executor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The executor's side of the model: pooled keep-alive HTTP/1.1 connections ({@link Http11Pool}), a per-request
 * timeout, and failures turned into the status a client should see (503 model down, 504 timed out) with a JSON
 * error body.
 */
public final class ModelClient {
    public record Reply(int status, String contentType, byte[] body, long modelNanos) {
    }

    private final Http11Pool pool;
    private final URI base;
    private final Duration timeout;
    private final java.util.concurrent.Executor async;

    public ModelClient(String baseUrl, int timeoutMs) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        this.timeout = Duration.ofMillis(timeoutMs);
        this.pool = new Http11Pool(base.getHost(), base.getPort() < 0 ? 80 : base.getPort(), Math.min(timeoutMs, 2000), timeoutMs);
        this.async = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "model-call");
            t.setDaemon(true);
            return t;
        });
    }

    /** Blocking: on the caller's thread (the sync server's worker). */
    public Reply callNow(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        long start = System.nanoTime();
        try {
            Http11Pool.Response r = pool.exchange(method, base.getRawPath() + pathAndQuery, headers, body);
            return new Reply(r.status(), r.contentType(), r.body(), System.nanoTime() - start);
        } catch (java.net.SocketTimeoutException e) {
            return error(504, "model did not answer within " + timeout.toMillis() + " ms", System.nanoTime() - start);
        } catch (Http11Pool.ConnectFailed e) {
            return error(503, "model unavailable: cannot connect to " + base, System.nanoTime() - start);
        } catch (IOException | RuntimeException e) {
            return error(503, "model unavailable: " + e.getMessage(), System.nanoTime() - start);
        }
    }

    /** The same on a pool thread, for callers that must not block (the async side). */
    public CompletableFuture<Reply> call(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        return CompletableFuture.supplyAsync(() -> callNow(method, pathAndQuery, headers, body), async);
    }

    /** Is the model ready? v2: its /v2/health/ready answers 200; raw: its port accepts a connection. */
    public boolean ready(String protocol) {
        if ("v2".equals(protocol)) {
            Reply r = callNow("GET", "/v2/health/ready", Map.of(), null);
            return r.status() == 200;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(base.getHost(), base.getPort()), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static Reply error(int status, String message, long nanos) {
        return new Reply(status, "application/json", ErrorBody.json(status, message), nanos);
    }
}
