package io.clops.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UsersTest {
    @TempDir
    Path dir;

    @Test
    void aUserLogsInWithTheirPasswordOnlyAndTheFileKeepsNoPassword() throws Exception {
        Path file = dir.resolve("users");
        Users.put(file, "alice", "correct horse battery");
        Users.put(file, "bob", "another long secret");
        Users users = Users.read(file);
        assertThat(users.authenticate("alice", "correct horse battery")).contains("alice");
        assertThat(users.authenticate("alice", "correct horse batter")).isEmpty();
        assertThat(users.authenticate("alice", "another long secret")).as("bob's password").isEmpty();
        assertThat(users.authenticate("carol", "correct horse battery")).as("unknown user").isEmpty();
        assertThat(users.authenticate("alice", null)).isEmpty();
        String kept = Files.readString(file);
        assertThat(kept).doesNotContain("correct horse").contains("alice:$2a$12$");
        Users.put(file, "alice", "a new password!");
        assertThat(Users.read(file).authenticate("alice", "a new password!")).contains("alice");
        assertThat(Users.read(file).authenticate("alice", "correct horse battery")).as("replaced").isEmpty();
    }

    @Test
    void passwordsBcryptWouldCutAndBadLinesAreRefusedSayingWhere() throws Exception {
        assertThatThrownBy(() -> Users.put(dir.resolve("u"), "alice", "é".repeat(37))).hasMessageContaining("at most 72 bytes");
        assertThatThrownBy(() -> Users.put(dir.resolve("u"), "alice", "short")).hasMessageContaining("at least 8");
        assertThatThrownBy(() -> Users.put(dir.resolve("u"), "a:b", "long enough")).hasMessageStartingWith("user:");
        Path bad = dir.resolve("bad");
        Files.writeString(bad, "# comment\nalice:plaintext\n");
        assertThatThrownBy(() -> Users.read(bad)).hasMessageContaining("line 2: expected name:bcrypt-hash");
    }

    @Test
    void failedLoginsAreLimitedPerUserAndPerAddress() {
        io.clops.testing.ManualClock clock = io.clops.testing.ManualClock.at("2026-11-30T12:00:00Z");
        LoginGuard guard = new LoginGuard(3, 5, Duration.ofMinutes(1), clock);
        for (int i = 0; i < 3; i++) {
            assertThat(guard.wait("alice", "10.0.0.1")).isZero();
            guard.failed("alice", "10.0.0.1");
        }
        assertThat(guard.wait("alice", "10.0.0.2")).as("the user, from anywhere").isEqualTo(Duration.ofMinutes(1));
        assertThat(guard.wait("bob", "10.0.0.1")).as("the address allows more").isZero();
        guard.failed("carol", "10.0.0.1");
        guard.failed("dave", "10.0.0.1");
        assertThat(guard.wait("bob", "10.0.0.1")).as("the address, for anyone").isEqualTo(Duration.ofMinutes(1));
        assertThat(guard.wait("bob", "10.0.0.2")).isZero();
        clock.advance(Duration.ofSeconds(60));
        assertThat(guard.wait("alice", "10.0.0.1")).as("once the failures leave the window").isZero();
    }
}
