package io.clops.modelserver;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * A node's model files, keyed by SHA-256: {@code <root>/sha256/<hex>}. The Kubernetes runtime mounts one directory per
 * node (a hostPath) into an init step of every pod serving a model file; the init step calls {@link #ensure}, so the
 * first pod of a version on a node fetches the file and every later one finds it there.
 * <ul>
 *   <li><b>Nothing unverified is ever at its name.</b> A fetch goes to a temporary file beside it, is checked against
 *       the digest, and is moved into place atomically; a file that does not match is deleted and refused with both
 *       digests.</li>
 *   <li><b>A cached file is checked again on every use</b> (hashing reads it once, far cheaper than fetching it): a
 *       byte changed on the node's disk is found, the entry dropped and fetched again.</li>
 *   <li><b>One fetch per digest on a node</b>, however many pods start at once: an exclusive file lock per digest
 *       ({@code <hex>.lock}); the others wait, then find the file.</li>
 * </ul>
 * Sources: {@code file:} URIs and {@code http(s):} URIs (with a bearer token when given: the platform's artifact
 * store answers {@code GET /api/v1/projects/{p}/artifacts/sha256/{hex}}).
 */
public final class ModelCache {
    /** What {@link #ensure} did: the file's path, and whether this call fetched it. */
    public record Entry(Path path, boolean fetched) {
    }

    private final Path root;
    private final String token;

    /** @param token a bearer token for http(s) sources, or null */
    public ModelCache(Path root, String token) {
        this.root = root;
        this.token = token;
    }

    /** Where a file of this digest lives in the cache (whether or not it is there yet). */
    public Path pathOf(String sha256) {
        return root.resolve("sha256").resolve(checked(sha256));
    }

    /**
     * The file of digest {@code sha256}, from the cache when it is there and intact, else fetched from {@code source}
     * and verified first.
     *
     * @throws Artifacts.DigestMismatch when what {@code source} holds is not the registered file (nothing is cached)
     */
    public Entry ensure(URI source, String sha256) throws IOException {
        String hex = checked(sha256);
        Path target = pathOf(hex);
        Files.createDirectories(target.getParent());
        // the file lock keeps other processes (pods) out; threads of this one queue on the path first (a JVM may not
        // hold two locks on one file)
        synchronized (LOCKS.computeIfAbsent(target.toAbsolutePath().normalize(), k -> new Object())) {
            return ensureLocked(source, hex, target);
        }
    }

    private static final java.util.concurrent.ConcurrentMap<Path, Object> LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    private Entry ensureLocked(URI source, String hex, Path target) throws IOException {
        try (FileChannel lockFile = FileChannel.open(target.resolveSibling(hex + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockFile.lock()) {
            if (Files.exists(target)) {
                if (Artifacts.sha256(target).equals(hex)) {
                    return new Entry(target, false);
                }
                Files.delete(target); // changed on this node's disk since it was cached: fetch it again
            }
            Path tmp = Files.createTempFile(target.getParent(), hex + ".", ".part");
            try {
                try (InputStream in = Artifacts.open(source, token)) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Artifacts.verify(tmp, hex, "model file fetched from " + source, "refusing to cache or serve it");
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                target.toFile().setReadOnly();
                return new Entry(target, true);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static String checked(String sha256) {
        if (sha256 == null || !sha256.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256: 64 hexadecimal digits, not '" + sha256 + "'");
        }
        return sha256.toLowerCase(Locale.ROOT);
    }

    /**
     * The init step: {@code ModelCache --cache DIR --uri URI --sha256 HEX [--token-file F]}; prints where the file is
     * and whether it was fetched; exit 3 on a digest mismatch (the message names both digests), 1 on any other failure.
     */
    public static void main(String[] args) throws Exception {
        java.util.Map<String, String> a = new java.util.HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        if (!a.containsKey("cache") || !a.containsKey("uri") || !a.containsKey("sha256") || args.length % 2 != 0) {
            System.err.println("usage: ModelCache --cache DIR --uri URI --sha256 HEX [--token-file FILE]");
            System.exit(2);
        }
        String token = a.containsKey("token-file") && Files.exists(Path.of(a.get("token-file")))
                ? Files.readString(Path.of(a.get("token-file"))).strip() : null;
        try {
            Entry e = new ModelCache(Path.of(a.get("cache")), token).ensure(URI.create(a.get("uri")), a.get("sha256"));
            System.out.println((e.fetched() ? "fetched " : "cached ") + e.path());
        } catch (Artifacts.DigestMismatch e) {
            System.err.println(e.getMessage());
            System.exit(3);
        } catch (IOException | RuntimeException e) {
            System.err.println("model file " + a.get("uri") + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
