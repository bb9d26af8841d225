package io.clops.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Issued tokens, kept only as SHA-256 hashes: a leaked store does not leak tokens. Thin for now: login, password
 * files and GitHub token exchange come with the identity issue.
 */
public final class TokenStore {
    public record Identity(String username, String uid, List<String> groups) {
    }

    private final Map<String, Identity> byHash = new ConcurrentHashMap<>();

    public void add(String token, Identity identity) {
        byHash.put(hash(token), identity);
    }

    public Optional<Identity> find(String token) {
        return token == null || token.isEmpty() ? Optional.empty() : Optional.ofNullable(byHash.get(hash(token)));
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
