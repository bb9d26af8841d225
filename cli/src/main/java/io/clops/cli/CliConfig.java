package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The CLI's config file: the server and the current project (later the token), so that they need not be typed each
 * time. {@code $CLOPS_CONFIG}, else {@code ~/.clops/config.yaml}. What is given wins over what is kept: a flag, then
 * the environment ({@code CLOPS_SERVER}, {@code CLOPS_PROJECT}), then this file, then the built-in default.
 */
public final class CliConfig {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));
    public static final Set<String> KEYS = Set.of("server", "project");
    static final Map<String, String> DEFAULTS = Map.of("server", "http://127.0.0.1:8080", "project", "default");
    static final Map<String, String> ENV = Map.of("server", "CLOPS_SERVER", "project", "CLOPS_PROJECT");

    private CliConfig() {
    }

    public static Path path() {
        String env = System.getenv("CLOPS_CONFIG");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".clops", "config.yaml");
    }

    /** What the file keeps (empty when there is none); a file that is not the config's YAML is an error naming it. */
    public static ObjectNode read(Path file) {
        if (!Files.exists(file)) {
            return YAML.createObjectNode();
        }
        try {
            JsonNode n = YAML.readTree(file.toFile());
            if (n == null || n.isMissingNode() || n.isNull()) {
                return YAML.createObjectNode();
            }
            if (!n.isObject()) {
                throw new CliException("config file " + file + " must be a YAML mapping (server: …, project: …)");
            }
            return (ObjectNode) n;
        } catch (IOException e) {
            throw new CliException("cannot read the config file " + file + ": " + e.getMessage());
        }
    }

    /** Replaces the file at once (no half-written file), readable by its owner only: it may keep a token or a password. */
    public static void write(Path file, ObjectNode config) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, YAML.writeValueAsString(config));
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CliException("cannot write " + file + ": " + e.getMessage());
        }
    }

    /** The token requests carry: {@code CLOPS_TOKEN}, else the config file's (written by clops login); null when none. */
    static String token(Map<String, String> env, Path file) {
        String e = env.get("CLOPS_TOKEN");
        if (e != null && !e.isBlank()) {
            return e.strip();
        }
        JsonNode kept = read(file).get("token");
        return kept != null && kept.isTextual() ? kept.asText() : null;
    }

    /** The value of {@code key} when no flag gives it: the environment, the file, the built-in default. */
    static String fallback(String key, Map<String, String> env, Path file) {
        String e = env.get(ENV.get(key));
        if (e != null && !e.isBlank()) {
            return e;
        }
        JsonNode kept = read(file).get(key);
        return kept != null && kept.isTextual() ? kept.asText() : DEFAULTS.get(key);
    }
}
