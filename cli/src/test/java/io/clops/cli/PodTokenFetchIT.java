package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.clops.auth.Users;
import io.clops.modelserver.ModelCache;
import io.clops.platform.Platform;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A pod's init step fetches its project's model file from the store with the pod's own Kubernetes service-account
 * token (projected for the audience "clops"), which the API checks with kube-apiserver: no Secret to issue. kube-apiserver
 * cannot run here, so a stand-in answers its TokenReview endpoint as the real one does (authenticated, the service
 * account's user name, the audiences); the platform, its API with tokens required, the store and the init step's
 * fetch are the real ones.
 */
class PodTokenFetchIT {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path home;
    Platform platform;
    HttpServer kube;

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
        if (kube != null) {
            kube.stop(0);
        }
        for (String p : List.of("clops.kubernetes.pod-tokens", "clops.kubernetes.api-url", "clops.kubernetes.token-file")) {
            System.clearProperty(p);
        }
    }

    String clops(String token, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("--server=" + platform.apiUrl(), "--token=" + token, "--project=files"));
        all.addAll(List.of(args));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all.toArray(String[]::new));
        assertThat(code).as(String.join(" ", args) + ": " + err).isZero();
        return out.toString();
    }

    /** A token shaped as the kubelet's (a JWT; the stand-in knows which ones it issued, as kube-apiserver checks signatures). */
    static String jwt(String sub) {
        java.util.Base64.Encoder b = java.util.Base64.getUrlEncoder().withoutPadding();
        long exp = java.time.Instant.now().getEpochSecond() + 3600;
        return b.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b.encodeToString(("{\"aud\":[\"clops\"],\"sub\":\"" + sub + "\",\"exp\":" + exp + ",\"jti\":\"" + java.util.UUID.randomUUID() + "\"}")
                .getBytes(StandardCharsets.UTF_8)) + ".c2ln";
    }

    final String podOfFiles = jwt("system:serviceaccount:files:default");
    final String podOfOther = jwt("system:serviceaccount:other:default");
    final String wrongAudience = jwt("system:serviceaccount:files:default"); // kube-apiserver says: for another audience
    final String unknown = jwt("system:serviceaccount:files:default"); // kube-apiserver says: not authenticated

    @Test
    void aPodOfTheProjectFetchesItsModelFileWithItsOwnTokenAndNothingElse() throws Exception {
        AtomicInteger reviews = new AtomicInteger();
        kube = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        kube.createContext("/apis/authentication.k8s.io/v1/tokenreviews", ex -> {
            reviews.incrementAndGet();
            JsonNode review = ApiClient.JSON.readTree(ex.getRequestBody().readAllBytes());
            if (!"Bearer the-api's-own-token".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.sendResponseHeaders(401, -1); // kube-apiserver asks who reviews, too
                ex.close();
                return;
            }
            if (!review.at("/spec/audiences").toString().equals("[\"clops\"]")) {
                ex.sendResponseHeaders(400, -1); // the API must ask for its own audience: a fetch then fails the test
                ex.close();
                return;
            }
            String token = review.at("/spec/token").asText();
            String user = token.equals(podOfFiles) || token.equals(wrongAudience) ? "system:serviceaccount:files:default" : null;
            String audience = token.equals(wrongAudience) ? "https://kubernetes.default.svc" : "clops";
            String status = user == null ? "{\"authenticated\":false,\"error\":\"invalid bearer token\"}"
                    : "{\"authenticated\":true,\"user\":{\"username\":\"" + user + "\",\"groups\":[\"system:serviceaccounts\"]},\"audiences\":[\"" + audience + "\"]}";
            byte[] body = ("{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(201, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        kube.start();
        Path apiToken = Files.writeString(home.resolve("api-sa-token"), "the-api's-own-token\n");
        System.setProperty("clops.kubernetes.pod-tokens", "true");
        System.setProperty("clops.kubernetes.api-url", "http://127.0.0.1:" + kube.getAddress().getPort());
        System.setProperty("clops.kubernetes.token-file", apiToken.toString());

        Users.put(home.resolve("auth/users"), "alice", "alice's password");
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true), line -> { });
        HttpResponse<String> login = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/login"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"alice\",\"password\":\"alice's password\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String alice = ApiClient.JSON.readTree(login.body()).get("token").asText();
        clops(alice, "project", "create", "files");
        Path onnx = Path.of("..", "examples", "target", "models", "iris.onnx").toAbsolutePath().normalize();
        String sha = ApiClient.JSON.readTree(clops(alice, "model", "register", "iris", "--file", onnx.toString(), "-o", "json")).at("/artifact/sha256").asText();
        URI file = URI.create(platform.apiUrl() + "/api/v1/projects/files/artifacts/sha256/" + sha);

        // the init step of a pod in the project's namespace, presenting its projected token
        ModelCache.Entry fetched = new ModelCache(home.resolve("node"), podOfFiles).ensure(file, sha);
        assertThat(fetched.fetched()).isTrue();
        assertThat(Files.size(fetched.path())).isEqualTo(Files.size(onnx));
        int afterFirst = reviews.get();
        assertThat(afterFirst).as("kube-apiserver was asked").isEqualTo(1);
        assertThat(new ModelCache(home.resolve("node-2"), podOfFiles).ensure(file, sha).fetched()).isTrue();
        assertThat(reviews.get()).as("the same token again within 30 s: its answer is kept").isEqualTo(afterFirst);

        // a pod of another namespace, a token for another audience, a token kube-apiserver does not know, a made-up one:
        // refused; only the two that could be a pod's of "files" were worth asking kube-apiserver about
        int node = 0;
        for (String token : List.of(podOfOther, wrongAudience, unknown, "made-up")) {
            Path cache = home.resolve("node-refused-" + node++);
            assertThatThrownBy(() -> new ModelCache(cache, token).ensure(file, sha)).as(token).hasMessageContaining("HTTP 401");
            assertThat(cache.resolve("sha256").resolve(sha)).as(token).doesNotExist();
        }
        assertThat(reviews.get() - afterFirst).isEqualTo(2);
        // the pod's token reads model files, nothing else of the project
        for (String path : List.of("/api/v1/projects/files", "/api/v1/projects/files/deployments", "/api/v1/projects/files/models",
                "/api/v1/projects/files/artifacts/uploads/some-id")) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + path)).header("Authorization", "Bearer " + podOfFiles).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(401);
        }
        HttpResponse<String> write = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/projects/files/artifacts?format=onnx"))
                .header("Authorization", "Bearer " + podOfFiles).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[]{1, 2, 3})).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(write.statusCode()).as("nor writes: " + write.body()).isEqualTo(401);
    }
}
