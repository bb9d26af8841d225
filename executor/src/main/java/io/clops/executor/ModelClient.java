package io.clops.executor;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The executor's side of the model: pooled keep-alive HTTP/1.1 connections, a per-request timeout, and failures
 * turned into the status a client should see (503 model down, 504 timed out) with a JSON error body.
 */
public final class ModelClient {
    /** Headers the JDK client sets itself or that belong to one hop only. */
    private static final Set<String> SKIP = Set.of("connection", "content-length", "expect", "host", "upgrade",
            "keep-alive", "transfer-encoding", "te", "trailer", "proxy-authorization", "proxy-connection");

    public record Reply(int status, String contentType, byte[] body, long modelNanos) {
    }

    private final HttpClient http;
    private final URI base;
    private final Duration timeout;

    public ModelClient(String baseUrl, int timeoutMs) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        this.timeout = Duration.ofMillis(timeoutMs);
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(Math.min(timeoutMs, 2000))).build();
    }

    public CompletableFuture<Reply> call(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(timeout)
                .method(method, body == null || body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((name, values) -> {
            if (!SKIP.contains(name.toLowerCase())) {
                values.forEach(v -> b.header(name, v));
            }
        });
        long start = System.nanoTime();
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray())
                .handle((r, err) -> {
                    long nanos = System.nanoTime() - start;
                    if (err == null) {
                        return new Reply(r.statusCode(), r.headers().firstValue("content-type").orElse("application/json"),
                                r.body(), nanos);
                    }
                    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                    if (cause instanceof HttpTimeoutException && !(cause instanceof HttpConnectTimeoutException)) {
                        return error(504, "model did not answer within " + timeout.toMillis() + " ms", nanos);
                    }
                    if (cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException) {
                        return error(503, "model unavailable: cannot connect to " + base, nanos);
                    }
                    return error(503, "model unavailable: " + cause, nanos);
                });
    }

    /** Is the model ready? v2: its /v2/health/ready answers 200; raw: its port accepts a connection. */
    public boolean ready(String protocol) {
        if ("v2".equals(protocol)) {
            Reply r = call("GET", "/v2/health/ready", Map.of(), null).join();
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
