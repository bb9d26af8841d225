package io.clops.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

/** What `clops predict --async` keeps of its Kafka credentials, and how it keeps them. */
class KafkaCredentialsCacheTest {
    @TempDir
    Path dir;

    @Test
    void keptOwnerOnlyPerServerProjectAndTokenAndNeverUnderTheTokenItself() throws Exception {
        KafkaCredentialsCache cache = KafkaCredentialsCache.beside(dir.resolve("config.yaml"));
        String mine = KafkaCredentialsCache.key("http://api:8080", "demo", "clops1.secret-token");
        cache.put(mine, new KafkaCredentialsCache.Credentials("demo.alice", "p1"));
        Path file = dir.resolve("kafka-credentials.yaml");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readString(file)).contains("demo.alice").doesNotContain("secret-token");
        assertThat(cache.get(mine)).isEqualTo(new KafkaCredentialsCache.Credentials("demo.alice", "p1"));
        assertThat(cache.get(KafkaCredentialsCache.key("http://api:8080", "demo", "clops1.another-token"))).as("another token").isNull();
        assertThat(cache.get(KafkaCredentialsCache.key("http://api:8080", "other", "clops1.secret-token"))).as("another project").isNull();
        assertThat(cache.get(KafkaCredentialsCache.key("http://elsewhere:8080", "demo", "clops1.secret-token"))).as("another server").isNull();
        cache.remove(mine);
        assertThat(cache.get(mine)).isNull();
    }

    @Test
    void aFileThatIsNotWhatItKeepsIsStartedAgainNotAnError() throws Exception {
        Files.writeString(dir.resolve("kafka-credentials.yaml"), "- not: [a mapping\n");
        KafkaCredentialsCache cache = KafkaCredentialsCache.beside(dir.resolve("config.yaml"));
        String key = KafkaCredentialsCache.key("http://api:8080", "demo", "t");
        assertThat(cache.get(key)).isNull();
        cache.put(key, new KafkaCredentialsCache.Credentials("demo.alice", "p2"));
        assertThat(cache.get(key).password()).isEqualTo("p2");
    }
}
