package io.clops.service;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the API asks kube-apiserver about a pod's token, and how often. kube-apiserver cannot run here: a stand-in
 * answers TokenReviews (every token it is asked about belongs to a pod of "files", for the audience "clops").
 */
class PodTokensTest {
    @TempDir
    Path dir;
    HttpServer kube;
    final AtomicInteger reviews = new AtomicInteger();
    final AtomicLong now = new AtomicLong(Instant.parse("2026-12-01T10:00:00Z").toEpochMilli());
    final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(now.get());
        }
    };

    @AfterEach
    void stop() {
        if (kube != null) {
            kube.stop(0);
        }
    }

    static String jwt(String sub, String aud, long exp) {
        Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
        return b.encodeToString("{\"alg\":\"RS256\",\"kid\":\"k\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b.encodeToString(("{\"aud\":[\"" + aud + "\"],\"sub\":\"" + sub + "\",\"exp\":" + exp + "}").getBytes(StandardCharsets.UTF_8))
                + ".c2lnbmF0dXJl";
    }

    PodTokens pods() throws Exception {
        kube = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        kube.createContext("/apis/authentication.k8s.io/v1/tokenreviews", ex -> {
            reviews.incrementAndGet();
            byte[] body = ("{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,\"user\":{\"username\":\"system:serviceaccount:files:default\"},"
                    + "\"audiences\":[\"clops\"]}}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(201, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        kube.start();
        Path own = Files.writeString(dir.resolve("token"), "api");
        return new PodTokens(URI.create("http://127.0.0.1:" + kube.getAddress().getPort()), own, null, clock);
    }

    @Test
    void onlyATokenThatCouldBeAPodsOfTheProjectIsWorthAskingAbout() {
        long t = Instant.parse("2026-12-01T10:00:00Z").getEpochSecond();
        assertThat(PodTokens.plausible(jwt("system:serviceaccount:files:default", "clops", t + 60), "files", t)).isTrue();
        assertThat(PodTokens.plausible(jwt("system:serviceaccount:other:default", "clops", t + 60), "files", t)).as("another namespace").isFalse();
        assertThat(PodTokens.plausible(jwt("system:serviceaccount:files:default", "https://kubernetes.default.svc", t + 60), "files", t))
                .as("another audience").isFalse();
        assertThat(PodTokens.plausible(jwt("system:serviceaccount:files:default", "clops", t - 1), "files", t)).as("expired").isFalse();
        assertThat(PodTokens.plausible(jwt("alice", "clops", t + 60), "files", t)).as("not a service account").isFalse();
        for (String junk : new String[]{"made-up", "a.b.c", "a..c", "x." + "%%%" + ".y", "a.e30.c"}) {
            assertThat(PodTokens.plausible(junk, "files", t)).as(junk).isFalse();
        }
    }

    @Test
    void aFloodOfTokensReachesKubeApiserverAtTheBudgetsPaceAndMadeUpOnesNotAtAll() throws Exception {
        PodTokens pods = pods();
        long exp = now.get() / 1000 + 3600;
        for (int i = 0; i < 1000; i++) {
            assertThat(pods.vouchesFor("made-up-" + i, "files")).isFalse();
            assertThat(pods.vouchesFor(jwt("system:serviceaccount:other:pod-" + i, "clops", exp), "files")).isFalse();
        }
        assertThat(reviews.get()).as("nothing that could not be a pod's of files was forwarded").isZero();

        int vouched = 0;
        for (int i = 0; i < 200; i++) { // 200 distinct plausible tokens at one instant
            vouched += pods.vouchesFor(jwt("system:serviceaccount:files:pod-" + i, "clops", exp), "files") ? 1 : 0;
        }
        assertThat(reviews.get()).as("a burst of %d, then none", PodTokens.REVIEW_BURST).isEqualTo(PodTokens.REVIEW_BURST);
        assertThat(vouched).isEqualTo(PodTokens.REVIEW_BURST);

        String known = jwt("system:serviceaccount:files:pod-0", "clops", exp);
        assertThat(pods.vouchesFor(known, "files")).as("an answer already kept needs no review").isTrue();
        now.addAndGet(1000);
        for (int i = 200; i < 300; i++) {
            pods.vouchesFor(jwt("system:serviceaccount:files:pod-" + i, "clops", exp), "files");
        }
        assertThat(reviews.get() - PodTokens.REVIEW_BURST).as("a second later: %d more", PodTokens.REVIEWS_PER_SECOND)
                .isEqualTo(PodTokens.REVIEWS_PER_SECOND);
    }
}
