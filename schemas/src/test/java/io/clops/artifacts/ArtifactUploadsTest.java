package io.clops.artifacts;

import io.clops.avro.Artifact;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A model file larger than one request, uploaded in parts: resumable, limited, owned, never half-stored. */
class ArtifactUploadsTest {
    @TempDir
    Path dir;

    /** A clock the test moves. */
    static final class Moved extends Clock {
        long ms = 1_000_000;

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(ms);
        }
    }

    final Moved clock = new Moved();

    ArtifactUploads uploads(long max, int part) {
        return new ArtifactUploads(new ArtifactStore(dir.resolve("store")), dir.resolve("store/uploads"), max, part, Duration.ofHours(1), clock);
    }

    static ByteArrayInputStream bytes(byte[] b, int from, int to) {
        return new ByteArrayInputStream(Arrays.copyOfRange(b, from, to));
    }

    static int code(ThrowableRunnable r) {
        try {
            r.run();
            return 0;
        } catch (ArtifactUploads.Refused e) {
            return e.status();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    interface ThrowableRunnable {
        void run() throws Exception;
    }

    @Test
    void partsAtTheRightOffsetsBecomeOneFileUnderItsDigest() throws Exception {
        byte[] model = new byte[25_000];
        new Random(7).nextBytes(model);
        ArtifactUploads u = uploads(1 << 20, 10_000);
        var st = u.begin("demo", "alice");
        assertThat(st.offset()).isZero();
        assertThat(u.append("demo", "alice", st.id(), 0, bytes(model, 0, 10_000))).isEqualTo(10_000);

        // the answer to the second part was lost: the client sends it again, and is told where to resume instead
        assertThat(u.append("demo", "alice", st.id(), 10_000, bytes(model, 10_000, 20_000))).isEqualTo(20_000);
        assertThatThrownBy(() -> u.append("demo", "alice", st.id(), 10_000, bytes(model, 10_000, 20_000)))
                .isInstanceOfSatisfying(ArtifactUploads.Refused.class, r -> {
                    assertThat(r.status()).isEqualTo(409);
                    assertThat(r.offset()).isEqualTo(20_000);
                    assertThat(r.getMessage()).contains("send the part at offset 20000");
                });
        assertThat(u.status("demo", "alice", st.id()).orElseThrow().offset()).isEqualTo(20_000);
        u.append("demo", "alice", st.id(), 20_000, bytes(model, 20_000, 25_000));

        String sha = ArtifactStore.sha256(model);
        Artifact a = u.complete("demo", "alice", st.id(), "onnx", sha);
        assertThat(a.getSha256()).isEqualTo(sha);
        assertThat(a.getSize()).isEqualTo(25_000);
        assertThat(a.getUri()).isEqualTo("clops:artifacts/sha256/" + sha);
        assertThat(Files.readAllBytes(dir.resolve("store/sha256/" + sha))).isEqualTo(model);
        assertThat(u.status("demo", "alice", st.id())).as("a completed upload is gone").isEmpty();
        try (var left = Files.list(dir.resolve("store/uploads"))) {
            assertThat(left.toList()).as("no parts left behind").isEmpty();
        }
    }

    @Test
    void limitsOwnersAndDigestsAreKept() throws Exception {
        byte[] model = new byte[3_000];
        new Random(8).nextBytes(model);
        ArtifactUploads u = uploads(2_500, 1_000);
        var st = u.begin("demo", "alice");
        assertThat(code(() -> u.append("demo", "alice", st.id(), 0, bytes(model, 0, 1_001)))).as("a part over its limit").isEqualTo(413);
        assertThat(code(() -> u.append("demo", "bob", st.id(), 0, bytes(model, 0, 1_000)))).as("another user's upload").isEqualTo(404);
        assertThat(code(() -> u.append("other", "alice", st.id(), 0, bytes(model, 0, 1_000)))).as("another project").isEqualTo(404);
        assertThat(code(() -> u.append("demo", "alice", st.id(), 0, bytes(model, 0, 0)))).as("an empty part").isEqualTo(400);
        u.append("demo", "alice", st.id(), 0, bytes(model, 0, 1_000));
        u.append("demo", "alice", st.id(), 1_000, bytes(model, 1_000, 2_000));
        assertThat(code(() -> u.append("demo", "alice", st.id(), 2_000, bytes(model, 2_000, 3_000)))).as("the whole over its limit").isEqualTo(413);
        assertThat(u.status("demo", "alice", st.id())).as("dropped").isEmpty();

        var second = u.begin("demo", "alice");
        u.append("demo", "alice", second.id(), 0, bytes(model, 0, 1_000));
        assertThat(code(() -> u.complete("demo", "alice", second.id(), "pickle", null))).as("a format not served").isEqualTo(400);
        String wrong = "0".repeat(64);
        assertThatThrownBy(() -> u.complete("demo", "alice", second.id(), "onnx", wrong))
                .isInstanceOfSatisfying(ArtifactUploads.Refused.class, r -> assertThat(r.status()).isEqualTo(422))
                .hasMessageContaining("SHA-256 is " + ArtifactStore.sha256(Arrays.copyOf(model, 1_000))).hasMessageContaining("not the " + wrong);
    }

    @Test
    void anUploadSurvivesARestartAndIsContinuedWhereItStood() throws Exception {
        byte[] model = new byte[2_500];
        new Random(9).nextBytes(model);
        var st = uploads(1 << 20, 1_000).begin("demo", "alice");
        uploads(1 << 20, 1_000).append("demo", "alice", st.id(), 0, bytes(model, 0, 1_000));
        ArtifactUploads afterRestart = uploads(1 << 20, 1_000); // another instance on the same directory: a restart, or a replica
        assertThat(afterRestart.status("demo", "alice", st.id()).orElseThrow().offset()).isEqualTo(1_000);
        assertThat(code(() -> afterRestart.append("demo", "alice", st.id(), 0, bytes(model, 0, 1_000)))).isEqualTo(409);
        afterRestart.append("demo", "alice", st.id(), 1_000, bytes(model, 1_000, 2_000));
        afterRestart.append("demo", "alice", st.id(), 2_000, bytes(model, 2_000, 2_500));
        assertThat(afterRestart.complete("demo", "alice", st.id(), "onnx", ArtifactStore.sha256(model)).getSize()).isEqualTo(2_500);
        assertThat(code(() -> afterRestart.complete("demo", "alice", st.id(), "onnx", null))).as("completed once").isEqualTo(404);
    }

    @Test
    void anIdThatIsNotAnUploadOfOursFindsNothing() throws Exception {
        ArtifactUploads u = uploads(1 << 20, 1_000);
        Files.createDirectories(dir.resolve("store/uploads"));
        Files.writeString(dir.resolve("store/secret.meta"), "demo\nalice\n" + clock.ms + "\n");
        for (String id : new String[]{"../secret", "..", "", "ABCDEF0123456789ABCDEF0123456789", "0".repeat(33)}) {
            assertThat(u.status("demo", "alice", id)).as(id).isEmpty();
            assertThat(code(() -> u.append("demo", "alice", id, 0, new ByteArrayInputStream(new byte[1])))).as(id).isEqualTo(404);
        }
    }

    @Test
    void anUploadLeftUnfinishedExpiresWithItsBytes() throws Exception {
        ArtifactUploads u = uploads(1 << 20, 1_000);
        var st = u.begin("demo", "alice");
        u.append("demo", "alice", st.id(), 0, new ByteArrayInputStream(new byte[500]));
        clock.ms += Duration.ofMinutes(59).toMillis();
        assertThat(u.status("demo", "alice", st.id())).isPresent();
        clock.ms += Duration.ofMinutes(2).toMillis();
        assertThat(u.status("demo", "alice", st.id())).isEmpty();
        assertThat(dir.resolve("store/uploads/" + st.id() + ".part")).doesNotExist();

        var unseen = u.begin("demo", "bob"); // one nobody asks about again: the sweep drops it
        clock.ms += Duration.ofMinutes(61).toMillis();
        u.expireNow();
        assertThat(dir.resolve("store/uploads/" + unseen.id() + ".part")).doesNotExist();
        assertThat(dir.resolve("store/uploads/" + unseen.id() + ".meta")).doesNotExist();
    }
}
