package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The CLI's HTTP side: JSON requests to the clops API, answers as status + JSON. */
public final class ApiClient {
    public static final ObjectMapper JSON = new ObjectMapper();

    public record Answer(int status, JsonNode body) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }

        public String error() {
            if (body.has("fields")) {
                return "the request is invalid (nothing was changed):";
            }
            return body.has("reason") && !body.get("reason").isNull() ? body.get("reason").asText()
                    : body.path("error").asText(body.toString());
        }
    }

    private final String server;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public ApiClient(String server) {
        this(server, null);
    }

    /** The token this client sends, or null. */
    public String token() {
        return token;
    }

    /** @param token sent as {@code Authorization: Bearer} on every request (null: none) */
    public ApiClient(String server, String token) {
        this.server = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
        this.token = token;
    }

    public String server() {
        return server;
    }

    public Answer get(String path) {
        return send("GET", path, null);
    }

    public Answer send(String method, String path, JsonNode body) {
        return send(method, server + path, body, java.util.Map.of());
    }

    /**
     * A write (POST, PUT, DELETE) carries an Idempotency-Key made for this invocation, so that it can be sent again
     * safely: a 503 (the log did not take it, the platform is restarting its broker, say) is retried with the same
     * key, up to four more times a second apart.
     */
    public Answer send(String method, String url, JsonNode body, java.util.Map<String, String> headers) {
        if (method.equals("GET") || headers.containsKey("Idempotency-Key")) {
            return sendOnce(method, url, body, headers);
        }
        java.util.Map<String, String> keyed = new java.util.HashMap<>(headers);
        keyed.put("Idempotency-Key", "cli-" + java.util.UUID.randomUUID());
        Answer a = sendOnce(method, url, body, keyed);
        for (int attempt = 1; attempt < 5 && a.status() == 503; attempt++) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            }
            a = sendOnce(method, url, body, keyed);
        }
        return a;
    }

    /** POSTs raw bytes (a model file) as application/octet-stream; storing the same content twice is harmless. */
    public Answer upload(String path, byte[] bytes) {
        return sendBytes("POST", path, bytes, java.util.Map.of());
    }

    /** Sends raw bytes with {@code method} and these headers; the answer's JSON and its Upload-Offset header. */
    public Answer sendBytes(String method, String path, byte[] bytes, java.util.Map<String, String> headers) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server + path)).timeout(Duration.ofSeconds(300))
                    .header("Content-Type", "application/octet-stream").method(method, HttpRequest.BodyPublishers.ofByteArray(bytes));
            headers.forEach(b::header);
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body().isBlank() ? JSON.createObjectNode() : parse(r.body()));
        } catch (ConnectException e) {
            throw new CliException("cannot reach the clops API at " + server, CliException.UNREACHABLE);
        } catch (IOException e) {
            throw new CliException("upload to " + server + path + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    private Answer sendOnce(String method, String url, JsonNode body, java.util.Map<String, String> headers) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
            headers.forEach(b::header);
            if (token != null && !headers.containsKey("Authorization")) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = r.body().isBlank() ? JSON.createObjectNode() : parse(r.body());
            return new Answer(r.statusCode(), json);
        } catch (ConnectException e) {
            throw new CliException("cannot reach the clops API at " + server + " (is `clops up` running? set --server, CLOPS_SERVER or clops config set-server)",
                    CliException.UNREACHABLE);
        } catch (IOException e) {
            throw new CliException("request to " + url + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    private static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            return JSON.createObjectNode().put("error", text);
        }
    }
}
