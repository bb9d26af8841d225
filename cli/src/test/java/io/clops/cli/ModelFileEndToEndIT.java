package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.examples.iris.IrisModel;
import io.clops.platform.Platform;
import io.clops.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "You just model" (issue 13), through the running platform and the CLI: the ONNX file the build writes and the
 * XGBoost file it trains are each registered with {@code --file} (uploaded to the store, named by its SHA-256),
 * deployed with no command or image of their own, and served by clops's own runtime: KServe's iris request is
 * versicolor twice, sync and async, from each.
 * Then one byte of the stored file is changed: the restarted runtime refuses it, and the deployment says why, naming
 * the digests.
 */
class ModelFileEndToEndIT {
    static final String KSERVE_IRIS = "{\"inputs\":[{\"name\":\"input-0\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}]}";

    @TempDir
    Path home;
    Platform platform;

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    CliRun ok(String... args) {
        return okIn("files", args);
    }

    CliRun okIn(String project, String... args) {
        List<String> all = new ArrayList<>(List.of("--server=" + platform.apiUrl(), "--project=" + project));
        all.addAll(List.of(args));
        CliRun r = CliRun.of(all);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err() + r.out()).isZero();
        return r;
    }

    static List<String> classes(JsonNode answer) {
        return Predictor.labels(answer).stream().map(l -> IrisModel.CLASSES.get(Integer.parseInt(l))).toList();
    }

    /** The running model process's command line (NUL-separated, as Linux keeps it). */
    String modelCommandLine(String deployment) throws Exception {
        List<Path> pids;
        try (var files = Files.list(home.resolve("run"))) {
            pids = files.filter(f -> f.getFileName().toString().startsWith("files." + deployment + ".") && f.getFileName().toString().endsWith(".model.pid")).toList();
        }
        assertThat(pids).as("the model server's pid file").hasSize(1);
        String pid = Files.readString(pids.get(0)).strip().split(" ")[0];
        return Files.readString(Path.of("/proc", pid, "cmdline"), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Test
    void anOnnxFileIsRegisteredDeployedAndServedAndACorruptedOneIsRefused() throws Exception {
        Path onnx = Path.of("..", "examples", "target", "models", "iris.onnx").toAbsolutePath().normalize();
        assertThat(onnx).as("written by the examples build").exists();
        platform = Platform.start(new Platform.Options(home, 0, 0, null), line -> { });
        ok("project", "create", "files");
        JsonNode reg = ok("model", "register", "iris-onnx", "--file", onnx.toString(), "--alias", "champion", "-o", "json").json();
        String sha = reg.at("/artifact/sha256").asText();
        assertThat(sha).matches("[0-9a-f]{64}");
        assertThat(reg.at("/artifact/uri").asText()).isEqualTo("clops:artifacts/sha256/" + sha);
        assertThat(reg.path("command")).as("no command of its own").isEmpty();
        assertThat(ok("get", "model", "iris-onnx").out()).as("the table says what it serves").contains("onnx file sha256:" + sha.substring(0, 12));

        ApiClient api = new ApiClient(platform.apiUrl(), null);
        ApiClient.Answer pickle = api.upload("/api/v1/projects/files/artifacts?format=pickle", new byte[]{1, 2, 3});
        assertThat(pickle.status()).isEqualTo(400);
        assertThat(pickle.body().at("/fields/0/field").asText()).isEqualTo("format");
        assertThat(api.upload("/api/v1/projects/files/artifacts?format=onnx", new byte[0]).status()).as("an empty file").isEqualTo(400);
        assertThat(api.upload("/api/v1/projects/files/artifacts?format=onnx", new byte[8 * 1024 * 1024 + 1]).status()).as("over the limit")
                .isEqualTo(413);

        // a file over one request goes in parts: the CLI does it by itself, showing progress, and the store holds it whole
        byte[] large = new byte[20 * 1024 * 1024 + 123];
        new java.util.Random(13).nextBytes(large);
        Path big = home.resolve("big.onnx");
        Files.write(big, large);
        CliRun bigReg = ok("model", "register", "big", "--file", big.toString(), "-o", "json");
        assertThat(bigReg.json().at("/artifact/sha256").asText()).isEqualTo(io.clops.artifacts.ArtifactStore.sha256(large));
        assertThat(bigReg.json().at("/artifact/size").asLong()).isEqualTo(large.length);
        assertThat(bigReg.err()).contains("uploading big.onnx: 10 of 20 MiB (52%)").contains("uploading big.onnx: 20 of 20 MiB (100%)");
        assertThat(bigReg.err().lines().filter(l -> l.contains("uploading big.onnx")).count()).as("a line per tenth").isEqualTo(10);
        assertThat(Files.readAllBytes(home.resolve("artifacts/sha256/" + io.clops.artifacts.ArtifactStore.sha256(large)))).isEqualTo(large);
        // a part sent at the wrong offset is refused with the offset to resume from; nothing is appended twice
        ApiClient.Answer begun = api.send("POST", "/api/v1/projects/files/artifacts/uploads", null);
        assertThat(begun.status()).isEqualTo(201);
        String uploadPath = "/api/v1/projects/files/artifacts/uploads/" + begun.body().get("id").asText();
        assertThat(api.sendBytes("PATCH", uploadPath, new byte[]{1, 2, 3}, java.util.Map.of("Upload-Offset", "0")).body().get("offset").asLong()).isEqualTo(3);
        ApiClient.Answer again = api.sendBytes("PATCH", uploadPath, new byte[]{1, 2, 3}, java.util.Map.of("Upload-Offset", "0"));
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.body().get("error").asText()).contains("send the part at offset 3");
        assertThat(api.sendBytes("PATCH", uploadPath, new byte[]{4}, java.util.Map.of()).body().at("/fields/0/field").asText()).isEqualTo("Upload-Offset");

        Path spec = home.resolve("iris-onnx.yaml");
        // with adaptive batching: sync and async requests pass through the runtime's batcher and get their own rows back
        Files.writeString(spec, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: iris-onnx }\nspec:\n  model: iris-onnx@champion\n  mode: both\n"
                + "  batching: { maxBatchSize: 8, maxDelayUs: 1000 }\n");
        assertThat(ok("deploy", "-f", spec.toString(), "--wait", "-o", "json").json().at("/status/phase").asText()).isEqualTo("Ready");
        assertThat(classes(ok("predict", "iris-onnx", "-d", KSERVE_IRIS, "-o", "json").json())).containsExactly("versicolor", "versicolor");
        assertThat(classes(ok("predict", "iris-onnx", "--async", "-d", KSERVE_IRIS, "-o", "json").json())).containsExactly("versicolor", "versicolor");
        assertThat(modelCommandLine("iris-onnx")).as("the runtime started as the spec asks").contains("--max-batch\u00008\u0000--max-delay-us\u00001000");

        // a file served elsewhere and private (--uri, here the XGBoost file behind a bearer token): registered with the
        // digest the CLI reads with --uri-token-file, fetched once by the runtime into the store with the host's own
        // credential from <home>/model-credentials/<project>/<host>, which fetches for that project only
        Path xgbFile = Path.of("..", "examples", "target", "models", "iris-xgboost.json").toAbsolutePath().normalize();
        byte[] webBytes = Files.readAllBytes(xgbFile);
        String webSha = io.clops.artifacts.ArtifactStore.sha256(webBytes);
        java.util.concurrent.atomic.AtomicInteger webGets = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger webServed = new java.util.concurrent.atomic.AtomicInteger(); // answered with the file
        com.sun.net.httpserver.HttpServer web = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        web.createContext("/models/iris-xgboost.json", ex -> {
            webGets.incrementAndGet();
            if ("Bearer web-token".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                webServed.incrementAndGet();
                ex.sendResponseHeaders(200, webBytes.length);
                ex.getResponseBody().write(webBytes);
            } else {
                ex.sendResponseHeaders(401, -1);
            }
            ex.close();
        });
        Path tokenFile = home.resolve("web-token");
        Files.writeString(tokenFile, "web-token\n");
        web.start();
        try {
            String url = "http://127.0.0.1:" + web.getAddress().getPort() + "/models/iris-xgboost.json";
            CliRun noToken = CliRun.of(List.of("--server=" + platform.apiUrl(), "--project=files", "model", "register", "iris-web", "--uri", url));
            assertThat(noToken.code()).isNotZero();
            assertThat(noToken.err()).contains("HTTP 401").contains("no credential was sent for 127.0.0.1");
            Path twoLines = home.resolve("two-lines");
            Files.writeString(twoLines, "web-token\r\nX-Injected: yes\n");
            int gets = webGets.get();
            CliRun injected = CliRun.of(List.of("--server=" + platform.apiUrl(), "--project=files", "model", "register", "iris-web", "--uri", url,
                    "--uri-token-file", twoLines.toString()));
            assertThat(injected.code()).isEqualTo(2);
            assertThat(injected.err()).contains("--uri-token-file: the credential for 127.0.0.1 contains a line break").doesNotContain("web-token");
            assertThat(webGets.get()).as("refused before any request went out").isEqualTo(gets);
            CliRun wrong = CliRun.of(List.of("--server=" + platform.apiUrl(), "--project=files", "model", "register", "iris-web", "--uri", url,
                    "--uri-token-file", tokenFile.toString(), "--sha256", "0".repeat(64)));
            assertThat(wrong.code()).isNotZero();
            assertThat(wrong.err()).contains("SHA-256 is " + webSha).contains("not the " + "0".repeat(64));
            JsonNode wreg = ok("model", "register", "iris-web", "--uri", url, "--uri-token-file", tokenFile.toString(), "--sha256", webSha,
                    "--alias", "champion", "-o", "json").json();
            assertThat(wreg.toString()).as("the token stays with the CLI and the host").doesNotContain("web-token");
            Files.createDirectories(home.resolve("model-credentials/files"));
            Files.writeString(home.resolve("model-credentials/files/127.0.0.1"), "web-token\n");
            // another project that knows the URL and even the digest gets nothing with files' credential
            ok("project", "create", "neighbour");
            assertThat(api.send("POST", "/api/v1/projects/neighbour/models/iris-web/versions", ApiClient.JSON.readTree("{\"artifact\":{\"uri\":\""
                    + url + "\",\"sha256\":\"" + webSha + "\",\"size\":" + webBytes.length + ",\"format\":\"xgboost\"}}")).status()).isEqualTo(201);
            Path other = home.resolve("neighbour.yaml");
            Files.writeString(other, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: iris-web }\nspec:\n  model: iris-web:1\n");
            int beforeOther = webGets.get();
            // --wait ends at the failure (exit 1, its reason), not at the timeout (exit 4)
            CliRun waited = CliRun.of(List.of("--server=" + platform.apiUrl(), "--project=neighbour", "deploy", "-f", other.toString(),
                    "--wait", "--fail-after", "2", "--timeout", "90"));
            assertThat(waited.code()).as(waited.err()).isEqualTo(CliException.REFUSED);
            assertThat(waited.err()).contains("iris-web generation 1 failed and was not Ready 2 s later: ").contains("HTTP 401")
                    .contains("no credential was sent for 127.0.0.1").contains("clops get deployment iris-web");
            assertThat(webGets.get()).as("it asked, without files' token").isGreaterThan(beforeOther);
            assertThat(home.resolve("artifacts").resolve("sha256").resolve(webSha)).as("nothing fetched into the store").doesNotExist();
            okIn("neighbour", "undeploy", "iris-web");
            assertThat(wreg.at("/version").asInt()).as("the refused try registered nothing").isEqualTo(1);
            assertThat(wreg.at("/artifact/uri").asText()).isEqualTo(url);
            Path wspec = home.resolve("iris-web.yaml");
            Files.writeString(wspec, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: iris-web }\nspec:\n  model: iris-web@champion\n");
            int before = webServed.get(); // (the neighbour's model server may still be asking, without a credential, as it stops)
            assertThat(ok("deploy", "-f", wspec.toString(), "--wait", "-o", "json").json().at("/status/phase").asText()).isEqualTo("Ready");
            Path request = home.resolve("request.json"); // -d @FILE, as curl takes it
            Files.writeString(request, KSERVE_IRIS);
            assertThat(classes(ok("predict", "iris-web", "-d", "@" + request, "-o", "json").json())).containsExactly("versicolor", "versicolor");
            assertThat(webServed.get() - before).as("fetched by the runtime, once, with the host's credential").isEqualTo(1);
            assertThat(home.resolve("artifacts").resolve("sha256").resolve(webSha)).as("into the store, by digest").exists();
            ok("undeploy", "iris-web");
        } finally {
            web.stop(0);
        }

        // the XGBoost file the build trained, the same way
        Path xgb = Path.of("..", "examples", "target", "models", "iris-xgboost.json").toAbsolutePath().normalize();
        JsonNode xreg = ok("model", "register", "iris-xgb", "--file", xgb.toString(), "--alias", "champion", "-o", "json").json();
        assertThat(xreg.at("/artifact/format").asText()).as("guessed from .json").isEqualTo("xgboost");
        Path xspec = home.resolve("iris-xgb.yaml");
        Files.writeString(xspec, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: iris-xgb }\nspec:\n  model: iris-xgb@champion\n  mode: both\n");
        assertThat(ok("deploy", "-f", xspec.toString(), "--wait", "-o", "json").json().at("/status/phase").asText()).isEqualTo("Ready");
        assertThat(classes(ok("predict", "iris-xgb", "-d", KSERVE_IRIS, "-o", "json").json())).containsExactly("versicolor", "versicolor");
        assertThat(classes(ok("predict", "iris-xgb", "--async", "-d", KSERVE_IRIS, "-o", "json").json())).containsExactly("versicolor", "versicolor");

        // the store reads a registered file back (the Kubernetes init step fetches it so), in its project only
        var http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, java.net.http.HttpResponse<byte[]>> get = path -> {
            try {
                return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(platform.apiUrl() + path)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        var back = get.apply("/api/v1/projects/files/artifacts/sha256/" + sha);
        assertThat(back.statusCode()).isEqualTo(200);
        assertThat(back.body()).isEqualTo(Files.readAllBytes(onnx));
        ok("project", "create", "elsewhere");
        var elsewhere = get.apply("/api/v1/projects/elsewhere/artifacts/sha256/" + sha);
        assertThat(elsewhere.statusCode()).as("a digest registered in another project only").isEqualTo(404);
        assertThat(new String(elsewhere.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("no model file " + sha + " is registered in project 'elsewhere'");
        // nor may another project register it by its digest: the file was uploaded to files, not there
        String byDigest = "{\"artifact\":{\"uri\":\"clops:artifacts/sha256/" + sha + "\",\"sha256\":\"" + sha + "\",\"size\":"
                + Files.size(onnx) + ",\"format\":\"onnx\"}}";
        ApiClient.Answer borrowed = api.send("POST", "/api/v1/projects/elsewhere/models/borrowed/versions", ApiClient.JSON.readTree(byDigest));
        assertThat(borrowed.status()).as(borrowed.body().toString()).isEqualTo(403);
        assertThat(borrowed.body().get("error").asText()).contains("artifact.uri: no model file " + sha + " was uploaded to project 'elsewhere'");
        assertThat(get.apply("/api/v1/projects/elsewhere/artifacts/sha256/" + sha).statusCode()).as("still not there").isEqualTo(404);
        JsonNode own = okIn("elsewhere", "model", "register", "borrowed", "--file", onnx.toString(), "-o", "json").json();
        assertThat(own.at("/artifact/sha256").asText()).as("uploaded there, the same file: one copy in the store").isEqualTo(sha);
        assertThat(get.apply("/api/v1/projects/elsewhere/artifacts/sha256/" + sha).statusCode()).isEqualTo(200);
        var malformed = get.apply("/api/v1/projects/files/artifacts/sha256/" + sha.toUpperCase());
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(ApiClient.JSON.readTree(malformed.body()).at("/fields/0/field").asText()).isEqualTo("sha256");

        // one byte of the stored file changed: the runtime, started again, refuses it and the deployment says why
        Path stored = home.resolve("artifacts").resolve("sha256").resolve(sha);
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(stored, bytes);
        List<Path> pids;
        try (var files = Files.list(home.resolve("run"))) {
            pids = files.filter(f -> f.getFileName().toString().startsWith("files.iris-onnx.") && f.getFileName().toString().endsWith(".model.pid")).toList();
        }
        assertThat(pids).as("the model server's pid file").hasSize(1);
        ProcessHandle server = ProcessHandle.of(Long.parseLong(Files.readString(pids.get(0)).strip().split(" ")[0])).orElseThrow(); // "pid start-time"
        server.destroyForcibly();
        Await.until("the deployment Failed, naming the digests", java.time.Duration.ofSeconds(60), () -> {
            JsonNode d = ok("get", "deployment", "iris-onnx", "-o", "json").json();
            return d.at("/status/phase").asText().equals("Failed") && d.at("/status/reason").asText().contains("registered as " + sha);
        });
        String reason = ok("get", "deployment", "iris-onnx", "-o", "json").json().at("/status/reason").asText();
        assertThat(reason).contains("its SHA-256 is " + io.clops.artifacts.ArtifactStore.sha256(bytes)).startsWith("model process exited with code 3");
    }
}
