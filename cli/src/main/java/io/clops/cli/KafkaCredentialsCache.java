package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Kafka credentials {@code clops predict --async} was issued, kept beside the CLI's config file (owner-only, like the
 * token there) so that each prediction does not ask for new ones: every issuance sets a new password and is a command in
 * the project's log. Kept per server, project and token (another login of the same user asks again; another user never
 * sees them). A kept password Kafka refuses (someone asked for new credentials since) is dropped and a new one issued.
 */
final class KafkaCredentialsCache {
    record Credentials(String username, String password) {
    }

    private final Path file;

    KafkaCredentialsCache(Path file) {
        this.file = file;
    }

    /** Beside the config file ({@code ~/.clops/kafka-credentials.yaml} by default). */
    static KafkaCredentialsCache beside(Path config) {
        Path dir = config.toAbsolutePath().getParent();
        return new KafkaCredentialsCache(dir.resolve("kafka-credentials.yaml"));
    }

    static String key(String server, String project, String token) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((token == null ? "" : token).getBytes(StandardCharsets.UTF_8));
            return server + " " + project + " " + HexFormat.of().formatHex(d, 0, 8); // the token's digest, never the token
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Credentials get(String key) {
        JsonNode e = read().get(key);
        return e != null && e.hasNonNull("username") && e.hasNonNull("password")
                ? new Credentials(e.get("username").asText(), e.get("password").asText()) : null;
    }

    void put(String key, Credentials c) {
        ObjectNode all = read();
        all.putObject(key).put("username", c.username()).put("password", c.password());
        write(all);
    }

    void remove(String key) {
        ObjectNode all = read();
        if (all.remove(key) != null) {
            write(all);
        }
    }

    private ObjectNode read() {
        if (!Files.exists(file)) {
            return CliConfig.YAML.createObjectNode();
        }
        try {
            JsonNode n = CliConfig.YAML.readTree(file.toFile());
            return n instanceof ObjectNode o ? o : CliConfig.YAML.createObjectNode(); // unreadable: start again
        } catch (IOException e) {
            return CliConfig.YAML.createObjectNode();
        }
    }

    private void write(ObjectNode all) {
        CliConfig.write(file, all);
    }
}
