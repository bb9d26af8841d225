package io.clops.modelserver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Model files are named by their content: SHA-256, checked before anything loads them. */
public final class Artifacts {
    private Artifacts() {
    }

    /** A file whose content is not the one registered: nothing may serve it. */
    public static final class DigestMismatch extends IOException {
        public DigestMismatch(String message) {
            super(message);
        }
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return digest(in).sha256();
        }
    }

    /** A stream's SHA-256 and length, read to its end (nothing kept). */
    public record Digest(String sha256, long size) {
    }

    public static Digest digest(InputStream in) throws IOException {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        long size = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
            d.update(buffer, 0, n);
            size += n;
        }
        return new Digest(HexFormat.of().formatHex(d.digest()), size);
    }

    /**
     * A model file's bytes from where it was registered: a {@code file:} path, or an {@code http(s):} URL (with a bearer
     * token when given; an answer other than 200 is an error carrying the first words of its body).
     */
    public static InputStream open(java.net.URI source, String token) throws IOException {
        String scheme = source.getScheme() == null ? "" : source.getScheme().toLowerCase(java.util.Locale.ROOT);
        switch (scheme) {
            case "file" -> {
                return Files.newInputStream(Path.of(source));
            }
            case "http", "https" -> {
                java.net.http.HttpRequest.Builder r = java.net.http.HttpRequest.newBuilder(source).timeout(java.time.Duration.ofMinutes(30)).GET();
                if (token != null && !token.isEmpty()) {
                    r.header("Authorization", "Bearer " + token);
                }
                java.net.http.HttpResponse<InputStream> answer;
                try {
                    answer = HTTP.send(r.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("fetching " + source + ": interrupted");
                }
                if (answer.statusCode() != 200) {
                    try (InputStream in = answer.body()) {
                        String why = new String(in.readNBytes(512), java.nio.charset.StandardCharsets.UTF_8);
                        throw new IOException("fetching " + source + ": HTTP " + answer.statusCode() + (why.isBlank() ? "" : ": " + why.strip().replaceAll("\\s+", " ")));
                    }
                }
                return answer.body();
            }
            default -> throw new IllegalArgumentException("model file source: a file:, http: or https: URI, not '" + source + "'");
        }
    }

    private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(10))
            .followRedirects(java.net.http.HttpClient.Redirect.NORMAL).build();

    /**
     * Refuses {@code file} unless its SHA-256 is {@code expected} (64 hex digits, case ignored), naming both digests.
     *
     * @return the digest
     */
    public static String verify(Path file, String expected) throws IOException {
        return verify(file, expected, "model file " + file, "refusing to serve it");
    }

    /** {@link #verify(Path, String)}, naming the file as {@code what} and saying {@code refusal}. */
    public static String verify(Path file, String expected, String what, String refusal) throws IOException {
        if (expected == null || !expected.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256: 64 hexadecimal digits, the digest the model file was registered with; not '" + expected + "'");
        }
        String actual = sha256(file);
        if (!actual.equalsIgnoreCase(expected)) {
            throw new DigestMismatch(what + ": its SHA-256 is " + actual + ", but it was registered as " + expected.toLowerCase()
                    + ": it changed since (corrupted or replaced); " + refusal);
        }
        return actual;
    }
}
