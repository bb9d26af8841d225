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
 *   <li><b>Bounded</b> ({@link #prune}): past a size limit the files used longest ago go first (each use marks its
 *       file), never the one just asked for, never one whose lock another process holds, and never one a running
 *       model server serves ({@link #servedByThisProcess}: it holds a shared lock on {@code <hex>.use} while it runs,
 *       which the kernel lets go when the process ends, however it ends); parts left by a fetch that died are swept
 *       with them. A file pruned while no pod served it is fetched again by the next pod that needs it.</li>
 * </ul>
 * Sources: {@code file:} URIs and {@code http(s):} URIs, with a bearer token: the one given (the platform's artifact
 * store, {@code GET /api/v1/projects/{p}/artifacts/sha256/{hex}}), else the source host's own from a directory of
 * credentials ({@link Artifacts#credentialFor}); a token goes only to its URL's origin, never along a redirect.
 */
public final class ModelCache {
    /** What {@link #ensure} did: the file's path, and whether this call fetched it. */
    public record Entry(Path path, boolean fetched) {
    }

    private final Path root;
    private final String token;
    private final Path credentials;
    private final String project;
    private final boolean publicOnly;

    /** @param token a bearer token for http(s) sources, or null */
    public ModelCache(Path root, String token) {
        this(root, token, null);
    }

    /**
     * @param token       the bearer token for every http(s) source (the platform's store), or null
     * @param credentials a directory with a token per host name, for sources when {@code token} is null; or null
     */
    public ModelCache(Path root, String token, Path credentials) {
        this(root, token, credentials, null);
    }

    /**
     * @param project the project whose pod (or process) asks, when the cache is shared by several: a file another
     *                project fetched from an http(s) host is given to this one only once its own credential has opened
     *                the source ({@link Artifacts#probe}, once per project and file, remembered as
     *                {@code <root>/proven/<project>/<hex>}); a digest learned elsewhere opens nothing. Null: no check
     *                (a cache of one project's). Files from the platform's store ({@code token} given) need no proof:
     *                only the project they were uploaded to may register them.
     */
    public ModelCache(Path root, String token, Path credentials, String project) {
        this(root, token, credentials, project, false);
    }

    private ModelCache(Path root, String token, Path credentials, String project, boolean publicOnly) {
        if (project != null && !project.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw new IllegalArgumentException("--project: a project's name, not '" + project + "'");
        }
        this.root = root;
        this.token = token;
        this.credentials = credentials;
        this.project = project;
        this.publicOnly = publicOnly;
    }

    /**
     * This cache, fetching from public hosts only: never from an address of this machine or a private network
     * ({@code Artifacts.refusePrivate}), for a version whose author is not trusted with the machine it runs on.
     */
    public ModelCache publicHostsOnly() {
        return new ModelCache(root, token, credentials, project, true);
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
        return underLock(hex, true, held -> ensureLocked(source, hex, target));
    }

    private static final java.util.concurrent.ConcurrentMap<Path, Object> LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    private interface UnderLock<T> {
        T run(boolean held) throws IOException;
    }

    /**
     * Runs {@code work} under the digest's lock: the file lock ({@code <hex>.lock}) keeps other processes (pods) out;
     * threads of this one queue on the path first (a JVM may not hold two locks on one file). {@code wait}: for a lock
     * another process holds; else {@code work} runs at once, told whether it holds the lock.
     */
    private <T> T underLock(String hex, boolean wait, UnderLock<T> work) throws IOException {
        Path target = pathOf(hex);
        synchronized (LOCKS.computeIfAbsent(target.toAbsolutePath().normalize(), k -> new Object())) {
            try (FileChannel lockFile = FileChannel.open(target.resolveSibling(hex + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = wait ? lockFile.lock() : lockFile.tryLock()) {
                return work.run(lock != null);
            }
        }
    }

    private Entry ensureLocked(URI source, String hex, Path target) throws IOException {
        if (Files.exists(target)) {
            if (Artifacts.sha256(target).equals(hex)) {
                boolean fetched = proveAccess(source, hex, target);
                markUsed(target);
                markable(target);
                return new Entry(target, fetched);
            }
            Files.delete(target); // changed on this node's disk since it was cached: fetch it again
        }
        Path tmp = fetchVerified(source, hex, target);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            target.toFile().setReadOnly();
            markable(target);
            proven(hex);
            return new Entry(target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The file from {@code source} in a temporary file beside {@code target}, checked against the digest. */
    private Path fetchVerified(URI source, String hex, Path target) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), hex + ".", ".part");
        try {
            try (InputStream in = Artifacts.open(source, token != null ? token : Artifacts.credentialFor(credentials, source), publicOnly)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Artifacts.verify(tmp, hex, "model file fetched from " + source, "refusing to cache or serve it");
            if (needsProof(source)) {
                recordSource(hex, source);
            }
            return tmp;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Whether this cache must see the asking project open {@code source} itself before it hands over a cached copy. */
    private boolean needsProof(URI source) {
        String scheme = source.getScheme() == null ? "" : source.getScheme().toLowerCase(Locale.ROOT);
        return project != null && token == null && (scheme.equals("http") || scheme.equals("https"));
    }

    private Path proofOf(String hex) {
        return root.resolve("proven").resolve(project).resolve(hex);
    }

    /**
     * A file on this node that another project fetched: this project must show it may have it, once. From a source
     * the file was fetched from before (recorded as {@code sources/<hex>}), its own credential opening that source is
     * enough (one byte asked for); from any other source, the whole file is fetched and checked like a first fetch,
     * since a host that answers is not yet a host that has these bytes.
     *
     * @return whether it fetched the whole file
     */
    private boolean proveAccess(URI source, String hex, Path target) throws IOException {
        if (!needsProof(source) || provenLately(hex)) {
            return false;
        }
        if (!fetchedFrom(hex, source)) {
            Files.delete(fetchVerified(source, hex, target)); // the same bytes as the cached copy: keep that one
            proven(hex);
            return true;
        }
        try {
            Artifacts.probe(source, Artifacts.credentialFor(credentials, source), publicOnly);
        } catch (IOException e) {
            throw new IOException("project '" + project + "' may not have " + source + " (another project's fetch left it on this node, and"
                    + " this project's own credential must open it first): " + e.getMessage(), e);
        }
        proven(hex);
        return false;
    }

    /**
     * How long a project's proof counts ({@value #PROOF_HOURS} h from when it was made): after that its next pod on the
     * node proves it again (one byte), so a project that lost its access at the source loses the node's copy too, as
     * Kubernetes' {@code AlwaysPullImages} makes a pod show it may pull an image a node already has.
     */
    static final long PROOF_HOURS = 1;

    private boolean provenLately(String hex) throws IOException {
        Path mark = proofOf(hex);
        return Files.exists(mark)
                && Files.getLastModifiedTime(mark).toMillis() > System.currentTimeMillis() - java.util.concurrent.TimeUnit.HOURS.toMillis(PROOF_HOURS);
    }

    private Path sourcesOf(String hex) {
        return root.resolve("sources").resolve(hex);
    }

    /** Whether the file {@code hex} was fetched from {@code source} before (and checked). */
    private boolean fetchedFrom(String hex, URI source) throws IOException {
        Path list = sourcesOf(hex);
        return Files.exists(list) && Files.readAllLines(list).contains(source.toString());
    }

    /** The file {@code hex} was just fetched from {@code source} and checked. */
    private void recordSource(String hex, URI source) throws IOException {
        if (!fetchedFrom(hex, source)) {
            Files.createDirectories(sourcesOf(hex).getParent());
            Files.writeString(sourcesOf(hex), source + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    private void proven(String hex) throws IOException {
        if (project != null) {
            Path mark = proofOf(hex);
            Files.createDirectories(mark.getParent());
            Files.writeString(mark, ""); // made or renewed: counts from now
        }
    }

    /** The file a serving process holds a shared lock on while it serves {@code file} ({@link #servedByThisProcess}). */
    private static Path useMark(Path file) {
        return file.resolveSibling(file.getFileName() + ".use");
    }

    /**
     * Makes sure {@code <hex>.use} exists beside a cached file: the serving container mounts the cache read-only, so it
     * can lock that file but not create it.
     */
    private static void markable(Path file) {
        try {
            Files.createFile(useMark(file));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // made by an earlier pod
        } catch (IOException e) {
            // a cache directory this process may read but not write: its servers run unmarked (pruning may take the file)
        }
    }

    /** The locks this process holds on what it serves, kept reachable for as long as it runs (a lost channel would let go). */
    private static final java.util.List<FileLock> SERVING = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Marks {@code file} as served by this process until it ends, if it is a cached file (named by its digest, with
     * {@code <hex>.use} beside it): {@link #prune} on any process of the node then leaves it. A shared lock, so any
     * number of servers can hold it; the kernel drops it when the process ends. Taken before the file is read, so a
     * prune that got there first has removed it and loading fails plainly (the pod's status says so), never half-way.
     *
     * @return whether the file is now marked (false: not a cached file, or its mark cannot be locked; it is served all
     *         the same, only not protected from pruning)
     */
    public static boolean servedByThisProcess(Path file) {
        Path use = useMark(file);
        if (!file.getFileName().toString().matches("[0-9a-f]{64}") || !Files.isRegularFile(use)) {
            return false;
        }
        try {
            FileChannel ch = FileChannel.open(use, StandardOpenOption.READ);
            try {
                SERVING.add(ch.lock(0, Long.MAX_VALUE, true));
                return true;
            } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
                ch.close();
                return false;
            }
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Deletes a cached file unless a process serves it ({@link #servedByThisProcess}): holding {@code <hex>.use}
     * exclusively meanwhile, so no server can start on it half-way; the mark goes with the file.
     */
    private static boolean deleteUnlessServed(Path file) throws IOException {
        Path use = useMark(file);
        if (!Files.exists(use)) {
            return Files.deleteIfExists(file);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(use, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            return false; // cannot tell whether it is served: kept
        }
        try (ch; FileLock lock = ch.tryLock(0, Long.MAX_VALUE, false)) {
            if (lock == null || !Files.deleteIfExists(file)) {
                return false; // a model server of another process serves it, or it is gone already
            }
            Files.deleteIfExists(use);
            return true;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return false; // this process serves it
        }
    }

    /** Marks a file used now (what {@link #prune} orders by); a node whose files belong to another user keeps the old mark. */
    private static void markUsed(Path file) {
        try {
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        } catch (IOException e) {
            // not the file's owner: it only looks older to prune than it is
        }
    }

    /** What {@link #prune} removed: files (by digest) and the bytes they held. */
    public record Pruned(java.util.List<String> digests, long bytes) {
    }

    /**
     * Removes the files used longest ago until the cache holds at most {@code maxBytes} (0: no limit, nothing removed),
     * keeping {@code keep} (the digest just asked for) whatever its size; an entry another process holds the lock of
     * (a fetch or a check in progress) is skipped, as is one a running model server serves and a part file whose fetch
     * is still running.
     */
    public Pruned prune(long maxBytes, String keep) throws IOException {
        Path dir = root.resolve("sha256");
        if (maxBytes <= 0 || !Files.isDirectory(dir)) {
            return new Pruned(java.util.List.of(), 0);
        }
        record Cached(Path path, String hex, long size, long used) {
        }
        java.util.List<Cached> entries = new java.util.ArrayList<>();
        java.util.List<Path> parts = new java.util.ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.matches("[0-9a-f]{64}")) {
                    var attrs = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class);
                    entries.add(new Cached(f, n, attrs.size(), attrs.lastModifiedTime().toMillis()));
                } else if (n.matches("[0-9a-f]{64}\\..*\\.part")) {
                    parts.add(f);
                }
            }
        }
        java.util.List<String> removed = new java.util.ArrayList<>();
        long freed = 0;
        for (Path part : parts) { // a fetch that died: its digest's lock is free
            String hex = part.getFileName().toString().substring(0, 64);
            long size = Files.size(part);
            if (!hex.equals(keep) && withLockIfFree(hex, held -> Files.deleteIfExists(part))) {
                freed += size;
            }
        }
        long total = entries.stream().mapToLong(Cached::size).sum();
        entries.sort(java.util.Comparator.comparingLong(Cached::used).thenComparing(Cached::hex));
        for (Cached c : entries) {
            if (total <= maxBytes) {
                break;
            }
            if (c.hex().equals(keep)) {
                continue;
            }
            if (withLockIfFree(c.hex(), held -> deleteUnlessServed(c.path()) && forgetProofs(c.hex()))) {
                total -= c.size();
                freed += c.size();
                removed.add(c.hex());
            }
        }
        return new Pruned(removed, freed);
    }

    /** Removes every project's proof for a file no longer on the node (a project asking for it again proves it again). */
    private boolean forgetProofs(String hex) throws IOException {
        Path proven = root.resolve("proven");
        if (Files.isDirectory(proven)) {
            try (var projects = Files.list(proven)) {
                for (Path p : (Iterable<Path>) projects::iterator) {
                    Files.deleteIfExists(p.resolve(hex));
                }
            }
        }
        return true;
    }

    /** Runs {@code removal} holding the digest's lock, if no other process holds it; false when it did not run or removed nothing. */
    private boolean withLockIfFree(String hex, UnderLock<Boolean> removal) throws IOException {
        return underLock(hex, false, held -> held && removal.run(true));
    }

    /** The content of the first of these files that exists and is not empty; null when none. */
    static String firstToken(String... files) throws IOException {
        for (String f : files) {
            if (f != null && Files.isRegularFile(Path.of(f))) {
                String t = Files.readString(Path.of(f)).strip();
                if (!t.isEmpty()) {
                    return t;
                }
            }
        }
        return null;
    }

    static long maxBytes(String value) {
        try {
            long n = Long.parseLong(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("--max-bytes: a whole number of bytes, 0 for no limit, not '" + value + "'");
    }

    private static String checked(String sha256) {
        if (sha256 == null || !sha256.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256: 64 hexadecimal digits, not '" + sha256 + "'");
        }
        return sha256.toLowerCase(Locale.ROOT);
    }

    /**
     * The init step: {@code ModelCache --cache DIR --uri URI --sha256 HEX [--token-file F [--pod-token-file P] |
     * --credentials-dir D] [--max-bytes N]}; prints
     * where the file is and whether it was fetched, then prunes the cache to {@code N} bytes (0: no limit) and prints
     * what it removed; exit 3 on a digest mismatch (the message names both digests), 1 on any other failure.
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
            System.err.println("usage: ModelCache --cache DIR --uri URI --sha256 HEX [--token-file FILE [--pod-token-file FILE] | --credentials-dir DIR]"
                    + " [--project P] [--max-bytes N]");
            System.exit(2);
        }
        // the platform's token when a Secret gives one, else the pod's own (a projected service-account token the store
        // checks with kube-apiserver)
        String token = firstToken(a.get("token-file"), a.get("pod-token-file"));
        try {
            long maxBytes = maxBytes(a.getOrDefault("max-bytes", "0"));
            ModelCache cache = new ModelCache(Path.of(a.get("cache")), token, a.containsKey("credentials-dir") ? Path.of(a.get("credentials-dir")) : null,
                    a.get("project"));
            Entry e = cache.ensure(URI.create(a.get("uri")), a.get("sha256"));
            System.out.println((e.fetched() ? "fetched " : "cached ") + e.path());
            Pruned p = cache.prune(maxBytes, checked(a.get("sha256")));
            if (p.bytes() > 0) {
                System.out.println("pruned " + p.digests().size() + " file(s) used longest ago, " + p.bytes() + " bytes, to stay within " + maxBytes
                        + (p.digests().isEmpty() ? "" : ": " + String.join(", ", p.digests())));
            }
        } catch (Artifacts.DigestMismatch e) {
            System.err.println(e.getMessage());
            System.exit(3);
        } catch (IOException | RuntimeException e) {
            System.err.println("model file " + a.get("uri") + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
