package io.clops.modelserver;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The node cache the Kubernetes init step runs: a second pod of a version on a node fetches nothing. */
class ModelCacheTest {
    @TempDir
    Path dir;

    Path model(String name, String content) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void theSecondPodOfAVersionOnANodeFindsTheFileAndFetchesNothing() throws Exception {
        Path source = model("iris.onnx", "the model's bytes");
        String sha = Artifacts.sha256(source);
        ModelCache node = new ModelCache(dir.resolve("cache"), null);

        ModelCache.Entry first = node.ensure(source.toUri(), sha);
        assertThat(first.fetched()).isTrue();
        assertThat(first.path()).isEqualTo(dir.resolve("cache/sha256/" + sha));
        assertThat(Files.readString(first.path())).isEqualTo("the model's bytes");

        Files.delete(source); // the second pod could not fetch it: it must not need to
        ModelCache.Entry second = new ModelCache(dir.resolve("cache"), null).ensure(source.toUri(), sha);
        assertThat(second.fetched()).isFalse();
        assertThat(second.path()).isEqualTo(first.path());
        assertThat(Files.readString(second.path())).isEqualTo("the model's bytes");
    }

    @Test
    void aCorruptedSourceIsRefusedNamingBothDigestsAndNothingIsCached() throws Exception {
        Path source = model("iris.onnx", "the model's bytes");
        String registered = Artifacts.sha256(source);
        Files.writeString(source, "the model's bytez"); // one byte changed after registration
        String actual = Artifacts.sha256(source);
        ModelCache node = new ModelCache(dir.resolve("cache"), null);

        assertThatThrownBy(() -> node.ensure(source.toUri(), registered))
                .isInstanceOf(Artifacts.DigestMismatch.class)
                .hasMessageContaining("its SHA-256 is " + actual)
                .hasMessageContaining("registered as " + registered);
        assertThat(node.pathOf(registered)).doesNotExist();
        try (var left = Files.list(dir.resolve("cache/sha256"))) {
            assertThat(left.filter(p -> !p.getFileName().toString().endsWith(".lock")).toList()).isEmpty(); // no partial file either
        }
    }

    @Test
    void aCachedFileChangedOnTheNodesDiskIsFetchedAgain() throws Exception {
        Path source = model("iris.onnx", "the model's bytes");
        String sha = Artifacts.sha256(source);
        ModelCache node = new ModelCache(dir.resolve("cache"), null);
        Path cached = node.ensure(source.toUri(), sha).path();
        cached.toFile().setWritable(true);
        Files.writeString(cached, "the model's bytez");

        ModelCache.Entry again = node.ensure(source.toUri(), sha);
        assertThat(again.fetched()).isTrue();
        assertThat(Files.readString(again.path())).isEqualTo("the model's bytes");
    }

    @Test
    void podsStartingTogetherFetchOnceOverHttpWithTheirToken() throws Exception {
        byte[] bytes = "a model served by the artifact store".getBytes(StandardCharsets.UTF_8);
        String sha = Artifacts.sha256(model("m.bin", new String(bytes, StandardCharsets.UTF_8)));
        AtomicInteger gets = new AtomicInteger();
        HttpServer store = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        store.createContext("/api/v1/projects/demo/artifacts/sha256/" + sha, ex -> {
            gets.incrementAndGet();
            if (!"Bearer node-token".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                byte[] why = "{\"error\":\"a valid token is required\"}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(401, why.length);
                ex.getResponseBody().write(why);
            } else {
                ex.sendResponseHeaders(200, bytes.length);
                ex.getResponseBody().write(bytes);
            }
            ex.close();
        });
        store.start();
        ExecutorService pods = Executors.newFixedThreadPool(8);
        try {
            URI uri = URI.create("http://127.0.0.1:" + store.getAddress().getPort() + "/api/v1/projects/demo/artifacts/sha256/" + sha);
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), "wrong").ensure(uri, sha))
                    .hasMessageContaining("HTTP 401").hasMessageContaining("a valid token is required");
            int refused = gets.get();

            List<Callable<ModelCache.Entry>> starts = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                starts.add(() -> new ModelCache(dir.resolve("cache"), "node-token").ensure(uri, sha));
            }
            int fetched = 0;
            for (Future<ModelCache.Entry> f : pods.invokeAll(starts)) {
                fetched += f.get().fetched() ? 1 : 0;
                assertThat(Files.readAllBytes(f.get().path())).isEqualTo(bytes);
            }
            assertThat(fetched).isEqualTo(1);
            assertThat(gets.get() - refused).isEqualTo(1);
        } finally {
            pods.shutdownNow();
            store.stop(0);
        }
    }

    @Test
    void aPrivateHostsFileIsFetchedWithItsOwnCredentialWhichNeverFollowsARedirectToAnotherOrigin() throws Exception {
        byte[] bytes = "a private model's bytes".getBytes(StandardCharsets.UTF_8);
        String sha = Artifacts.sha256(model("private.onnx", "a private model's bytes"));
        java.util.concurrent.atomic.AtomicReference<String> cdnSaw = new java.util.concurrent.atomic.AtomicReference<>("nothing yet");
        HttpServer cdn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        cdn.createContext("/signed/blob", ex -> {
            cdnSaw.set(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            ex.sendResponseHeaders(200, bytes.length);
            ex.getResponseBody().write(bytes);
            ex.close();
        });
        cdn.start();
        HttpServer hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/acme/iris/private.onnx", ex -> {
            if ("Bearer hub-token".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/signed/blob?sig=abc");
                ex.sendResponseHeaders(302, -1);
            } else {
                byte[] why = "{\"error\":\"this repository is private\"}".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(401, why.length);
                ex.getResponseBody().write(why);
            }
            ex.close();
        });
        hub.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + hub.getAddress().getPort() + "/acme/iris/private.onnx");
            Path credentials = Files.createDirectories(dir.resolve("credentials"));
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, credentials).ensure(uri, sha))
                    .as("no credential kept for the host").hasMessageContaining("HTTP 401").hasMessageContaining("this repository is private")
                    .hasMessageContaining("no credential was sent for 127.0.0.1");
            assertThat(Files.exists(dir.resolve("cache/sha256/" + sha))).isFalse();

            Files.writeString(credentials.resolve("127.0.0.1"), "hub-token\n"); // as a Secret's key mounts: one file per host
            ModelCache.Entry e = new ModelCache(dir.resolve("cache"), null, credentials).ensure(uri, sha);
            assertThat(e.fetched()).isTrue();
            assertThat(Files.readAllBytes(e.path())).isEqualTo(bytes);
            assertThat(cdnSaw.get()).as("the redirect's target (another origin: another port) got no credential").isEqualTo("null");
        } finally {
            hub.stop(0);
            cdn.stop(0);
        }
    }

    /**
     * A node's cache is shared by every project's pods: a private file one project fetched with its credential is
     * handed to another project only once that project's own credential opens the source (its first byte asked
     * for, not the whole), and then without asking again. A digest learned elsewhere opens nothing.
     */
    @Test
    void aFileAnotherProjectFetchedIsHandedOverOnlyOnceThisProjectsOwnCredentialOpensItsSource() throws Exception {
        byte[] bytes = "team b's private model".getBytes(StandardCharsets.UTF_8);
        String sha = Artifacts.sha256(model("b.onnx", "team b's private model"));
        java.util.List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/team-b/model.onnx", ex -> {
            String auth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
            String range = ex.getRequestHeaders().getFirst("Range");
            asked.add(auth + " " + range);
            if (!auth.equals("Bearer b-token") && !auth.equals("Bearer a-granted")) {
                ex.sendResponseHeaders(403, -1);
            } else if ("bytes=0-0".equals(range)) {
                ex.getResponseHeaders().set("Content-Range", "bytes 0-0/" + bytes.length);
                ex.sendResponseHeaders(206, 1);
                ex.getResponseBody().write(bytes, 0, 1);
            } else {
                ex.sendResponseHeaders(200, bytes.length);
                ex.getResponseBody().write(bytes);
            }
            ex.close();
        });
        hub.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + hub.getAddress().getPort() + "/team-b/model.onnx");
            Path bCreds = Files.createDirectories(dir.resolve("b-credentials"));
            Files.writeString(bCreds.resolve("127.0.0.1"), "b-token\n");
            Path aCreds = Files.createDirectories(dir.resolve("a-credentials"));
            assertThat(new ModelCache(dir.resolve("cache"), null, bCreds, "team-b").ensure(uri, sha).fetched()).isTrue();
            assertThat(asked).containsExactly("Bearer b-token null");

            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha))
                    .as("team a knows the URL and the digest, not the credential").hasMessageContaining("project 'team-a' may not have " + uri)
                    .hasMessageContaining("HTTP 403");
            assertThat(asked).as("asked for the first byte, without a credential").endsWith("null bytes=0-0");

            assertThat(new ModelCache(dir.resolve("cache"), null, bCreds, "team-b").ensure(uri, sha).fetched()).isFalse();
            int before = asked.size();
            Files.writeString(aCreds.resolve("127.0.0.1"), "a-granted\n"); // the hub lets team a read it now
            ModelCache.Entry a = new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha);
            assertThat(a.fetched()).as("the node's copy, not a second download").isFalse();
            assertThat(Files.readAllBytes(a.path())).isEqualTo(bytes);
            assertThat(asked.subList(before, asked.size())).as("team b fetched it: it asks nothing; team a proves it once")
                    .containsExactly("Bearer a-granted bytes=0-0");
            new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha);
            assertThat(asked).as("proven once, remembered").hasSize(before + 1);
            // a proof counts for an hour: then the project's next pod proves it again, and one that lost its access is refused
            Path aProof = dir.resolve("cache/proven/team-a/" + sha);
            java.nio.file.attribute.FileTime anHourAgo = java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofMinutes(61)));
            Files.setLastModifiedTime(aProof, anHourAgo);
            assertThat(new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha).fetched()).isFalse();
            assertThat(asked.subList(before + 1, asked.size())).as("proven again, one byte").containsExactly("Bearer a-granted bytes=0-0");
            Files.writeString(aCreds.resolve("127.0.0.1"), "a-revoked\n"); // the hub no longer lets team a read it
            new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha);
            assertThat(asked).as("within the hour: the renewed proof stands").hasSize(before + 2);
            Files.setLastModifiedTime(aProof, anHourAgo);
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, aCreds, "team-a").ensure(uri, sha))
                    .as("an hour on, access lost at the source is access lost on the node").hasMessageContaining("project 'team-a' may not have " + uri)
                    .hasMessageContaining("HTTP 403");

            // a host of team c's own that answers anything is not a host that has these bytes: it must give them all
            java.util.List<String> fakeSaw = new java.util.concurrent.CopyOnWriteArrayList<>();
            HttpServer fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            fake.createContext("/", ex -> {
                fakeSaw.add(String.valueOf(ex.getRequestHeaders().getFirst("Range")));
                byte[] junk = "whatever you ask for".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, junk.length);
                ex.getResponseBody().write(junk);
                ex.close();
            });
            fake.start();
            try {
                URI mirror = URI.create("http://127.0.0.1:" + fake.getAddress().getPort() + "/team-b/model.onnx");
                assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, null, "team-c").ensure(mirror, sha))
                        .isInstanceOf(Artifacts.DigestMismatch.class);
                assertThat(fakeSaw).as("the whole file asked for, not one byte").containsExactly("null");
                assertThat(Files.readAllBytes(dir.resolve("cache/sha256/" + sha))).as("the node's copy untouched").isEqualTo(bytes);
            } finally {
                fake.stop(0);
            }
            // pruned from the node, the file takes its proofs with it
            assertThat(dir.resolve("cache/proven/team-b/" + sha)).exists();
            assertThat(new ModelCache(dir.resolve("cache"), null).prune(1, null).digests()).containsExactly(sha);
            assertThat(dir.resolve("cache/proven/team-b/" + sha)).doesNotExist();
            assertThat(aProof).doesNotExist();
        } finally {
            hub.stop(0);
        }
    }

    /**
     * Fetching for a version whose author is not trusted with the machine it runs on (the local runtime): hosts on the
     * machine itself or a private network are refused before any request goes out, by address or by name; public
     * addresses pass. The same cache without the restriction fetches the same file.
     */
    @Test
    void aCacheForPublicHostsOnlyRefusesThisMachineAndPrivateNetworksBeforeAsking() throws Exception {
        String sha = Artifacts.sha256(model("local.onnx", "a model on localhost"));
        AtomicInteger asked = new AtomicInteger();
        HttpServer local = servingOnThisMachine("a model on localhost", asked);
        try {
            int port = local.getAddress().getPort();
            for (String host : List.of("127.0.0.1", "localhost")) {
                URI uri = URI.create("http://" + host + ":" + port + "/model.onnx");
                assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, null, "team-a").publicHostsOnly().ensure(uri, sha))
                        .hasMessageContaining("fetching " + uri + ": refused, " + host + " is 127.0.0.1, an address of the platform's machine")
                        .hasMessageContaining("only versions registered by clops.auth.host-users fetch from there");
            }
            assertThat(asked.get()).as("no request went out").isZero();
            assertThat(new ModelCache(dir.resolve("cache"), null, null, "team-a").ensure(URI.create("http://127.0.0.1:" + port + "/model.onnx"), sha)
                    .fetched()).isTrue();
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache"), null, null, "team-b").publicHostsOnly()
                    .ensure(URI.create("http://localhost:" + port + "/model.onnx"), sha))
                    .as("nor proves access there for a copy already cached").hasMessageContaining("refused, localhost is 127.0.0.1");
        } finally {
            local.stop(0);
        }
        for (String address : List.of("169.254.169.254", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.100.100.200", "0.0.0.0", "224.0.0.1",
                "[::1]", "[fd00::1]", "[fe80::1]", "[::ffff:127.0.0.1]")) {
            URI u = URI.create("http://" + address + "/m.onnx");
            assertThatThrownBy(() -> Artifacts.refusePrivate(u, u)).as(address).hasMessageContaining("refused");
        }
        for (String address : List.of("93.184.216.34", "8.8.8.8", "100.128.0.1", "[2606:4700::1111]")) {
            URI u = URI.create("https://" + address + "/m.onnx");
            Artifacts.refusePrivate(u, u); // public: no exception
        }
        for (String address : List.of("240.0.0.1", "255.255.255.255")) { // reserved, broadcast
            URI u = URI.create("http://" + address + "/m.onnx");
            assertThatThrownBy(() -> Artifacts.refusePrivate(u, u)).as(address).hasMessageContaining("refused");
        }
        // this machine's own addresses, public ones too: they reach what listens on every interface
        List<java.net.InetAddress> own = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(java.net.NetworkInterface::inetAddresses).toList();
        assertThat(own).as("this machine has addresses").isNotEmpty();
        for (java.net.InetAddress a : own) {
            String host = a instanceof java.net.Inet6Address ? "[" + a.getHostAddress().replaceAll("%.*", "") + "]" : a.getHostAddress();
            URI u = URI.create("http://" + host + ":8080/m.onnx");
            assertThatThrownBy(() -> Artifacts.refusePrivate(u, u)).as(host).hasMessageContaining("refused");
        }
    }

    /**
     * DNS rebinding: a name that answers a public address to the check and this machine's address a moment later, to
     * the connection. A model server fetching for an untrusted author connects where its check looked. The name is
     * answered through a named pipe as the JDK's hosts file ({@code jdk.net.hosts.file}), one answer per lookup, and
     * the JDK's own address cache is off ({@code sun.net.inetaddr.ttl=0}), as a resolver whose answers change would be.
     */
    @Test
    void aNameThatTurnsPrivateAfterTheCheckIsStillConnectedWhereTheCheckLooked() throws Exception {
        String sha = Artifacts.sha256(model("local.onnx", "a model on this machine"));
        AtomicInteger asked = new AtomicInteger();
        HttpServer local = servingOnThisMachine("a model on this machine", asked);
        Path hosts = dir.resolve("hosts");
        assertThat(new ProcessBuilder("mkfifo", hosts.toString()).inheritIO().start().waitFor()).as("mkfifo").isZero();
        AtomicInteger lookups = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean over = new java.util.concurrent.atomic.AtomicBoolean();
        URI uri = URI.create("http://rebind.test:" + local.getAddress().getPort() + "/model.onnx");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djdk.net.hosts.file=" + hosts, "-Dsun.net.inetaddr.ttl=0", "-cp", System.getProperty("java.class.path"), ModelServer.class.getName(),
                "--uri", uri.toString(), "--cache", dir.resolve("cache").toString(), "--project", "team-a", "--public-hosts-only", "true",
                "--sha256", sha, "--port", "0")
                .redirectErrorStream(true).start();
        Path pipe = hosts.toRealPath();
        Thread resolver = new Thread(() -> { // the first lookup is answered a public address, every later one 127.0.0.1
            try {
                while (!over.get()) {
                    try (var w = Files.newOutputStream(hosts)) { // blocks until a lookup opens the pipe
                        if (!over.get()) {
                            w.write(((lookups.getAndIncrement() == 0 ? "192.0.2.1" : "127.0.0.1") + " rebind.test\n").getBytes(StandardCharsets.US_ASCII));
                        }
                    }
                    while (!over.get() && holds(p.pid(), pipe)) { // one answer per lookup: until that lookup has read to the end and closed it
                        Thread.onSpinWait();
                    }
                }
            } catch (java.io.IOException e) {
                // the pipe went away with the test's directory
            }
        }, "rebinding-resolver");
        resolver.setDaemon(true);
        resolver.start();
        try {
            String out;
            try {
                java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    } catch (java.io.IOException e) {
                        return e.toString();
                    }
                });
                assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
                        .as("the model server gave up its fetch (it would serve what it fetched from 127.0.0.1: " + asked.get() + " request(s) there)").isTrue();
                out = output.get(10, java.util.concurrent.TimeUnit.SECONDS);
            } finally {
                p.destroyForcibly();
            }
            assertThat(asked.get()).as("nothing asked of this machine's server\n" + out).isZero();
            assertThat(p.exitValue()).as(out).isEqualTo(3);
            assertThat(out.strip().lines().reduce((a, b) -> b).orElse("")).as("its last line, what the deployment shows")
                    .startsWith("fetching " + uri + ": could not connect to rebind.test:" + local.getAddress().getPort());
            assertThat(lookups.get()).as("the name looked up once: the connection used the check's answer").isEqualTo(1);
        } finally {
            over.set(true);
            // lets a pending open of the resolver's return (read and write: opening it so never waits for a writer)
            Files.newByteChannel(hosts, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE).close();
            resolver.join(10_000);
            local.stop(0);
        }
    }

    /**
     * An artifact server behind basic auth (Artifactory, Nexus): the host's credential file holds the whole
     * Authorization value and goes as it is; a bare token goes as a bearer token; a credential that would add a header
     * line of its own is refused naming the host, and neither the credential nor a request leaves the node.
     */
    @Test
    void aCredentialThatNamesItsSchemeGoesAsItIsAndOneThatCouldAddHeadersIsRefused() throws Exception {
        byte[] bytes = "an artifact server's model".getBytes(StandardCharsets.UTF_8);
        String sha = Artifacts.sha256(model("basic.onnx", "an artifact server's model"));
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/repo/basic.onnx", ex -> {
            String auth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
            seen.add(auth + (ex.getRequestHeaders().containsKey("X-Injected") ? " +X-Injected" : ""));
            if (auth.equals("Basic Y2xvcHM6czNjcjN0") || auth.equals("Bearer plain-token")) {
                ex.sendResponseHeaders(200, bytes.length);
                ex.getResponseBody().write(bytes);
            } else {
                ex.sendResponseHeaders(401, -1);
            }
            ex.close();
        });
        server.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/repo/basic.onnx");
            Path credentials = Files.createDirectories(dir.resolve("credentials"));
            Files.writeString(credentials.resolve("127.0.0.1"), "Basic Y2xvcHM6czNjcjN0\n"); // clops:s3cr3t
            assertThat(Files.readAllBytes(new ModelCache(dir.resolve("cache-basic"), null, credentials).ensure(uri, sha).path())).isEqualTo(bytes);
            Files.writeString(credentials.resolve("127.0.0.1"), "plain-token\n");
            assertThat(Files.readAllBytes(new ModelCache(dir.resolve("cache-bearer"), null, credentials).ensure(uri, sha).path())).isEqualTo(bytes);
            assertThat(seen).containsExactly("Basic Y2xvcHM6czNjcjN0", "Bearer plain-token");

            Files.writeString(credentials.resolve("127.0.0.1"), "hidden-7f3a\r\nX-Injected: yes\n");
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache-bad"), null, credentials).ensure(uri, sha))
                    .hasMessageContaining("the credential for 127.0.0.1 contains a line break").hasMessageNotContaining("hidden-7f3a");
            assertThat(seen).as("no request went out with it").hasSize(2);
            assertThat(Files.exists(dir.resolve("cache-bad/sha256/" + sha))).isFalse();
        } finally {
            server.stop(0);
        }
    }

    /**
     * A bucket of an S3-compatible store (path-style, as MinIO serves it), standing in for S3, which cannot run here:
     * it checks each request's SigV4 signature the way S3 does (from the request as it arrived: its Host header, its
     * time, its path) and answers S3's XML error otherwise. The host's credential names the key; the secret never
     * travels.
     */
    @Test
    void aFileInAnS3BucketIsFetchedWithRequestsSignedByTheHostsKey() throws Exception {
        byte[] bytes = "a model in a bucket".getBytes(StandardCharsets.UTF_8);
        String sha = Artifacts.sha256(model("bucket.onnx", "a model in a bucket"));
        SigV4.Key bucketKey = SigV4.parse("aws-sigv4 eu-west-1 AKIACLOPSTEST s3-secret-5e1f", "store");
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer s3 = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s3.createContext("/models-bucket/iris/model.onnx", ex -> {
            var h = ex.getRequestHeaders();
            String auth = String.valueOf(h.getFirst("Authorization"));
            seen.add(h.entrySet().toString());
            java.time.Instant at = java.time.LocalDateTime.parse(String.valueOf(h.getFirst("x-amz-date")),
                    java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")).toInstant(java.time.ZoneOffset.UTC);
            boolean fresh = java.time.Duration.between(at, java.time.Instant.now()).abs().toMinutes() < 15; // S3's own window
            String expected = !fresh ? "stale" : SigV4.sign(bucketKey, ex.getRequestMethod(), ex.getRequestURI(), h.getFirst("Host"), at,
                    String.valueOf(h.getFirst("x-amz-content-sha256")), Map.of()).get("Authorization");
            if (auth.equals(expected)) {
                ex.sendResponseHeaders(200, bytes.length);
                ex.getResponseBody().write(bytes);
            } else {
                byte[] why = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature"
                        + " we calculated does not match the signature you provided.</Message></Error>").getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(403, why.length);
                ex.getResponseBody().write(why);
            }
            ex.close();
        });
        s3.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + s3.getAddress().getPort() + "/models-bucket/iris/model.onnx");
            Path credentials = Files.createDirectories(dir.resolve("credentials"));
            Files.writeString(credentials.resolve("127.0.0.1"), "aws-sigv4 eu-west-1 AKIACLOPSTEST s3-secret-5e1f\n");
            ModelCache.Entry e = new ModelCache(dir.resolve("cache"), null, credentials).ensure(uri, sha);
            assertThat(e.fetched()).isTrue();
            assertThat(Files.readAllBytes(e.path())).isEqualTo(bytes);
            assertThat(seen).hasSize(1);
            assertThat(seen.get(0)).contains("AWS4-HMAC-SHA256 Credential=AKIACLOPSTEST/").contains("/eu-west-1/s3/aws4_request")
                    .contains("UNSIGNED-PAYLOAD").doesNotContain("s3-secret-5e1f");

            Files.writeString(credentials.resolve("127.0.0.1"), "aws-sigv4 eu-west-1 AKIACLOPSTEST a-wrong-secret\n");
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache-wrong"), null, credentials).ensure(uri, sha))
                    .hasMessageContaining("HTTP 403").hasMessageContaining("SignatureDoesNotMatch").hasMessageNotContaining("a-wrong-secret");
            assertThat(Files.exists(dir.resolve("cache-wrong/sha256/" + sha))).isFalse();

            Files.writeString(credentials.resolve("127.0.0.1"), "aws-sigv4 eu-west-1 AKIACLOPSTEST\n");
            assertThatThrownBy(() -> new ModelCache(dir.resolve("cache-short"), null, credentials).ensure(uri, sha))
                    .as("no request goes out with half a key").hasMessageContaining("the credential for 127.0.0.1 names aws-sigv4");
            assertThat(seen).hasSize(2);
        } finally {
            s3.stop(0);
        }
    }

    @Test
    void theInitStepsCommandLineExitsThreeOnAMismatch() throws Exception {
        Path source = model("iris.onnx", "the model's bytes");
        String wrong = "0".repeat(64);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ModelCache.class.getName(),
                "--cache", dir.resolve("cache").toString(), "--uri", source.toUri().toString(), "--sha256", wrong)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(3);
        assertThat(out).contains("registered as " + wrong).contains("its SHA-256 is " + Artifacts.sha256(source));
    }

    /** A server on 127.0.0.1 answering {@code /model.onnx} with {@code content}, counting what it is asked. */
    static HttpServer servingOnThisMachine(String content, AtomicInteger asked) throws java.io.IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        HttpServer local = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        local.createContext("/model.onnx", ex -> {
            asked.incrementAndGet();
            ex.sendResponseHeaders(200, bytes.length);
            ex.getResponseBody().write(bytes);
            ex.close();
        });
        local.start();
        return local;
    }

    /** Whether process {@code pid} has {@code file} open (Linux: its {@code /proc/<pid>/fd}). */
    static boolean holds(long pid, Path file) {
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(file);
                } catch (java.io.IOException gone) {
                    return false;
                }
            });
        } catch (java.io.IOException ended) {
            return false;
        }
    }

        /** Caches {@code content} under its digest and marks it used at {@code minutesAgo}; returns the digest. */
    String cached(ModelCache node, String name, String content, int minutesAgo) throws Exception {
        Path source = model(name, content);
        String sha = Artifacts.sha256(source);
        Path f = node.ensure(source.toUri(), sha).path();
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(60L * minutesAgo)));
        return sha;
    }

    @Test
    void pastItsLimitTheCacheDropsTheFilesUsedLongestAgoAndKeepsTheOneAskedFor() throws Exception {
        ModelCache node = new ModelCache(dir.resolve("cache"), null);
        String oldest = cached(node, "a", "a".repeat(100), 30);
        String older = cached(node, "b", "b".repeat(100), 20);
        String recent = cached(node, "c", "c".repeat(100), 10);
        String big = cached(node, "d", "d".repeat(250), 40); // asked for now, bigger than the limit on its own

        // a pod uses the oldest again: it is no longer the oldest
        assertThat(node.ensure(dir.resolve("a").toUri(), oldest).fetched()).isFalse();
        ModelCache.Pruned p = node.prune(350, big);
        assertThat(p.digests()).as("used longest ago first, until within 350 bytes (the one asked for stays)").containsExactly(older, recent);
        assertThat(p.bytes()).isEqualTo(200);
        assertThat(Files.exists(node.pathOf(big))).isTrue();
        assertThat(Files.exists(node.pathOf(oldest))).isTrue();
        assertThat(Files.exists(node.pathOf(older))).isFalse();
        assertThat(Files.exists(node.pathOf(recent))).isFalse();

        // a later pod of a pruned version fetches it again
        assertThat(node.ensure(dir.resolve("b").toUri(), older).fetched()).isTrue();
        assertThat(node.prune(0, big).digests()).as("0: no limit").isEmpty();
    }

    @Test
    void aFileAnotherProcessHoldsTheLockOfIsSkippedAndADeadFetchsPartIsSwept() throws Exception {
        ModelCache node = new ModelCache(dir.resolve("cache"), null);
        String held = cached(node, "a", "a".repeat(100), 30);
        String free = cached(node, "b", "b".repeat(100), 20);
        String keep = cached(node, "c", "c".repeat(100), 10);
        Path deadPart = node.pathOf(free).resolveSibling(free + ".123.part");
        Files.writeString(deadPart, "half a fetch");
        Path livePart = node.pathOf(held).resolveSibling(held + ".456.part");
        Files.writeString(livePart, "a fetch in progress");

        Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), LockHolder.class.getName(), node.pathOf(held).resolveSibling(held + ".lock").toString())
                .redirectErrorStream(true).start();
        try {
            assertThat(new String(other.getInputStream().readNBytes(6))).isEqualTo("locked");
            ModelCache.Pruned p = node.prune(100, keep);
            assertThat(p.digests()).as("the held one is skipped, the next oldest goes").containsExactly(free);
            assertThat(Files.exists(node.pathOf(held))).isTrue();
            assertThat(Files.exists(livePart)).as("its fetch is running").isTrue();
            assertThat(Files.exists(deadPart)).as("nobody holds its lock: a fetch that died").isFalse();
            assertThat(p.bytes()).isEqualTo(100 + "half a fetch".length());
        } finally {
            other.getOutputStream().close();
            other.waitFor();
        }
        assertThat(node.prune(100, keep).digests()).as("once let go").containsExactly(held);
    }

    @Test
    void aFileThisProcessServesIsNotPrunedAndOneOutsideACacheIsNotMarked() throws Exception {
        ModelCache node = new ModelCache(dir.resolve("cache"), null);
        String served = cached(node, "a", "a".repeat(100), 30);
        String other = cached(node, "b", "b".repeat(100), 20);
        assertThat(ModelCache.servedByThisProcess(node.pathOf(served))).isTrue();
        assertThat(ModelCache.servedByThisProcess(dir.resolve("a"))).as("not a cached file").isFalse();
        assertThat(node.prune(1, "0".repeat(64)).digests()).as("used longest ago, but served").containsExactly(other);
        assertThat(Files.exists(node.pathOf(served))).isTrue();
    }

    @Test
    void theInitStepRefusesALimitThatIsNotAByteCount() {
        assertThat(ModelCache.maxBytes("1073741824")).isEqualTo(1L << 30);
        assertThat(ModelCache.maxBytes("0")).isZero();
        for (String bad : new String[]{"-1", "10Gi", "", "1e9"}) {
            assertThatThrownBy(() -> ModelCache.maxBytes(bad)).as(bad).hasMessageContaining("--max-bytes");
        }
    }
}
