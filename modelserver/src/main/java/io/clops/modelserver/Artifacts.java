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
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                d.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    /**
     * Refuses {@code file} unless its SHA-256 is {@code expected} (64 hex digits, case ignored), naming both digests.
     *
     * @return the digest
     */
    public static String verify(Path file, String expected) throws IOException {
        if (expected == null || !expected.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256: 64 hexadecimal digits, the digest the model file was registered with; not '" + expected + "'");
        }
        String actual = sha256(file);
        if (!actual.equalsIgnoreCase(expected)) {
            throw new DigestMismatch("model file " + file + ": its SHA-256 is " + actual + ", but it was registered as " + expected.toLowerCase()
                    + ": it changed since (corrupted or replaced); refusing to serve it");
        }
        return actual;
    }
}
