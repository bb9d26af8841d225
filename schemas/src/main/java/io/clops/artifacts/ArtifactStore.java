package io.clops.artifacts;

import io.clops.api.RegistryRequests;
import io.clops.avro.Artifact;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The platform's model files, content-addressed: {@code <root>/sha256/<digest>}, named in the registry as
 * {@value RegistryRequests#STORE_PREFIX}{@code <digest>}. A file is written under a temporary name and moved into
 * place whole, so a reader never sees half of one; the same content stored twice is one file. Whoever serves a file
 * checks its digest again when it loads it (a file on disk can change; {@code modelserver} refuses it then).
 */
public final class ArtifactStore {
    private final Path root;

    public ArtifactStore(Path root) {
        this.root = root;
    }

    /** Stores {@code content} as a model file of {@code format} and says how the registry names it. */
    public Artifact put(byte[] content, String format) throws IOException {
        if (!RegistryRequests.FORMATS.contains(format)) {
            throw new IllegalArgumentException("format: one of " + new java.util.TreeSet<>(RegistryRequests.FORMATS) + ", not '" + format + "'");
        }
        if (content.length == 0) {
            throw new IllegalArgumentException("the model file is empty");
        }
        String sha = sha256(content);
        Path target = path(sha);
        if (!Files.exists(target)) {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempFile(target.getParent(), ".upload-", ".part");
            try {
                Files.write(tmp, content);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return Artifact.newBuilder().setUri(RegistryRequests.STORE_PREFIX + sha).setSha256(sha).setSize(content.length).setFormat(format).build();
    }

    /**
     * Stores the file at {@code staged} (on this store's file system, e.g. an upload's parts) as a model file of
     * {@code format}: hashed as it lies, then moved under its digest (the same content twice is one file). The staged
     * file is gone afterwards.
     */
    public Artifact putFile(Path staged, String format) throws IOException {
        if (!RegistryRequests.FORMATS.contains(format)) {
            throw new IllegalArgumentException("format: one of " + new java.util.TreeSet<>(RegistryRequests.FORMATS) + ", not '" + format + "'");
        }
        long size = Files.size(staged);
        if (size == 0) {
            throw new IllegalArgumentException("the model file is empty");
        }
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        try (java.io.InputStream in = Files.newInputStream(staged)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                d.update(buffer, 0, n);
            }
        }
        String sha = HexFormat.of().formatHex(d.digest());
        Path target = path(sha);
        if (Files.exists(target)) {
            Files.delete(staged);
        } else {
            Files.createDirectories(target.getParent());
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        }
        return Artifact.newBuilder().setUri(RegistryRequests.STORE_PREFIX + sha).setSha256(sha).setSize(size).setFormat(format).build();
    }

    /**
     * Records that {@code project} holds the stored file {@code sha256}: it was uploaded there. Only then may the
     * project's versions name it ({@link #linked}): a file is content-addressed, but knowing its digest is not having
     * read it, and a digest travels further than the file (a log line, a former member's notes). Idempotent.
     */
    public void link(String project, String sha256) throws IOException {
        Path mark = mark(project, sha256);
        Files.createDirectories(mark.getParent());
        if (!Files.exists(mark)) {
            try {
                Files.createFile(mark);
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // another upload of the same file to the same project got there first
            }
        }
    }

    /** Was the stored file {@code sha256} uploaded to {@code project} ({@link #link})? */
    public boolean linked(String project, String sha256) {
        return Files.exists(mark(project, sha256)) && Files.isRegularFile(path(sha256));
    }

    private Path mark(String project, String sha256) {
        java.util.List<io.clops.api.FieldError> wrong = new java.util.ArrayList<>();
        io.clops.api.Names.checkProject("project", project, wrong);
        if (!wrong.isEmpty()) {
            throw new IllegalArgumentException(wrong.get(0).message());
        }
        path(sha256); // checks the digest's form
        return root.resolve("projects").resolve(project).resolve(sha256);
    }

    /** Where a stored file is (it may be missing), or a {@code file:} URI's path. */
    public Path resolve(String uri) {
        if (uri.startsWith(RegistryRequests.STORE_PREFIX)) {
            return path(uri.substring(RegistryRequests.STORE_PREFIX.length()));
        }
        if (uri.startsWith("file:")) {
            return Path.of(java.net.URI.create(uri));
        }
        throw new IllegalArgumentException("not a model file's URI: " + uri);
    }

    private Path path(String sha) {
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a SHA-256: " + sha);
        }
        return root.resolve("sha256").resolve(sha);
    }

    public static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
