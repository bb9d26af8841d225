package io.clops.artifacts;

import io.clops.api.RegistryRequests;
import io.clops.avro.Artifact;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Model files larger than one request, uploaded in parts (the resumable-upload protocol of tus and S3's multipart
 * uploads, reduced to what a model file needs): an upload is begun, its bytes are appended part by part at the offset
 * the server says it holds (a part sent again after a lost answer is refused with the offset to resume from, never
 * appended twice), then completed: hashed, and moved into the {@link ArtifactStore} under its digest. No part is
 * held in memory beyond its request; the whole is limited ({@code maxBytes}) and so is each part ({@code partBytes}).
 * <p>
 * An upload is two files in {@code dir}: its bytes ({@code <id>.part}) and who began it where ({@code <id>.meta}):
 * it survives a restart of the API, and replicas sharing the directory continue each other's uploads (an append holds
 * the part file's lock, so two at once cannot both pass the offset check). An upload belongs to who began it, in its
 * project: anyone else gets "no such upload". Uploads not completed within {@code ttl} are dropped with their bytes.
 */
public final class ArtifactUploads {
    /** What a caller sees of an upload. */
    public record Status(String id, long offset, long maxBytes, int partBytes, long expiresMs) {
    }

    /**
     * A part or a completion refused: the HTTP status to answer and why, the offset the upload is at (or -1), and the
     * request's field at fault when one is (a 400).
     */
    public static final class Refused extends Exception {
        private final int status;
        private final long offset;
        private final String field;

        Refused(int status, String message, long offset) {
            this(status, message, offset, null);
        }

        Refused(int status, String message, long offset, String field) {
            super(message, null, false, false);
            this.status = status;
            this.offset = offset;
            this.field = field;
        }

        /** The request's field at fault ({@code format}, {@code sha256}, {@code body}), or null. */
        public String field() {
            return field;
        }

        public int status() {
            return status;
        }

        public long offset() {
            return offset;
        }
    }

    /** Who began an upload, where and when (its meta file). */
    private record Meta(String project, String owner, long createdMs) {
    }

    private static final String ID = "[0-9a-f]{32}";

    private final ArtifactStore store;
    private final Path dir;
    private final long maxBytes;
    private final int partBytes;
    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Threads of this JVM queue on an upload before taking its file lock (one JVM may not hold it twice). */
    private final ConcurrentMap<String, Object> locks = new ConcurrentHashMap<>();
    private volatile long lastSweepMs;

    public ArtifactUploads(ArtifactStore store, Path dir, long maxBytes, int partBytes, Duration ttl, Clock clock) {
        this.store = store;
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.partBytes = partBytes;
        this.ttl = ttl;
        this.clock = clock;
    }

    /** Begins an upload for {@code owner} in {@code project}. */
    public Status begin(String project, String owner) throws IOException {
        expire();
        Files.createDirectories(dir);
        byte[] b = new byte[16];
        random.nextBytes(b);
        String id = HexFormat.of().formatHex(b);
        long now = clock.millis();
        Files.createFile(part(id));
        Path tmp = dir.resolve(id + ".meta.tmp");
        Files.writeString(tmp, project + "\n" + owner + "\n" + now + "\n");
        Files.move(tmp, dir.resolve(id + ".meta"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return new Status(id, 0, maxBytes, partBytes, now + ttl.toMillis());
    }

    /** Where an upload stands (to resume it). */
    public Optional<Status> status(String project, String owner, String id) throws IOException {
        expire();
        Optional<Meta> m = find(project, owner, id);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Status(id, Files.size(part(id)), maxBytes, partBytes, m.get().createdMs() + ttl.toMillis()));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // completed or dropped meanwhile
        }
    }

    /**
     * Appends a part: {@code offset} must be where the upload stands; the part at most {@code partBytes} and the whole
     * at most {@code maxBytes}. Reads at most {@code partBytes + 1} bytes of {@code body}.
     *
     * @return the new offset
     */
    public long append(String project, String owner, String id, long offset, InputStream body) throws IOException, Refused {
        expire();
        find(project, owner, id).orElseThrow(() -> noSuch(project, id));
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            try (FileChannel ch = FileChannel.open(part(id), StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
                if (!Files.exists(dir.resolve(id + ".meta"))) {
                    throw noSuch(project, id); // completed or dropped while this waited for the lock
                }
                long size = ch.size();
                if (offset != size) {
                    throw new Refused(409, "the upload holds " + size + " bytes: send the part at offset " + size + ", not " + offset, size);
                }
                byte[] part = body.readNBytes(partBytes + 1);
                if (part.length > partBytes) {
                    throw new Refused(413, "a part is at most " + partBytes + " bytes", size);
                }
                if (part.length == 0) {
                    throw new Refused(400, "the part is empty", size, "body");
                }
                if (size + part.length > maxBytes) {
                    drop(id);
                    throw new Refused(413, "a model file is at most " + maxBytes + " bytes here; the upload is dropped", -1);
                }
                ByteBuffer buf = ByteBuffer.wrap(part);
                ch.position(size);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                return size + part.length;
            } catch (NoSuchFileException e) {
                throw noSuch(project, id);
            }
        }
    }

    /**
     * Completes an upload: its bytes become a model file of {@code format} in the store. With {@code expectedSha256}
     * (the digest the client computed), a file whose digest differs is refused naming both, and dropped.
     */
    public Artifact complete(String project, String owner, String id, String format, String expectedSha256) throws IOException, Refused {
        expire();
        if (format == null || !RegistryRequests.FORMATS.contains(format)) {
            throw new Refused(400, "format: one of " + new java.util.TreeSet<>(RegistryRequests.FORMATS) + ", not '" + format + "'", -1, "format");
        }
        if (expectedSha256 != null && !expectedSha256.matches("[0-9a-fA-F]{64}")) {
            throw new Refused(400, "sha256: 64 hexadecimal digits, not '" + expectedSha256 + "'", -1, "sha256");
        }
        find(project, owner, id).orElseThrow(() -> noSuch(project, id));
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            Path staged = dir.resolve(id + ".complete");
            try (FileChannel ch = FileChannel.open(part(id), StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
                if (!Files.exists(dir.resolve(id + ".meta"))) {
                    throw noSuch(project, id);
                }
                if (ch.size() == 0) {
                    throw new Refused(400, "the upload is empty", 0, "body");
                }
                Files.delete(dir.resolve(id + ".meta")); // from here on it is no longer an upload anyone can add to
                Files.move(part(id), staged, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchFileException e) {
                throw noSuch(project, id);
            } finally {
                locks.remove(id);
            }
            try {
                Artifact a = store.putFile(staged, format);
                if (expectedSha256 != null && !expectedSha256.equalsIgnoreCase(a.getSha256())) {
                    throw new Refused(422, "the uploaded file's SHA-256 is " + a.getSha256() + ", not the " + expectedSha256.toLowerCase()
                            + " the client computed: a part was lost or changed on the way; upload it again", -1);
                }
                return a;
            } finally {
                Files.deleteIfExists(staged);
            }
        }
    }

    /** Uploads older than the ttl, dropped with their bytes (looked for at most once a minute). */
    void expire() throws IOException {
        long now = clock.millis();
        if (now - lastSweepMs < 60_000 || !Files.isDirectory(dir)) {
            return;
        }
        lastSweepMs = now;
        try (DirectoryStream<Path> metas = Files.newDirectoryStream(dir, "*.meta")) {
            for (Path m : metas) {
                String id = m.getFileName().toString().replace(".meta", "");
                Optional<Meta> meta = read(id);
                if (meta.isPresent() && now - meta.get().createdMs() > ttl.toMillis()) {
                    drop(id);
                }
            }
        }
    }

    /** Sweeps now, whenever the last sweep was (tests). */
    void expireNow() throws IOException {
        lastSweepMs = Long.MIN_VALUE / 2;
        expire();
    }

    private void drop(String id) throws IOException {
        Files.deleteIfExists(dir.resolve(id + ".meta"));
        Files.deleteIfExists(part(id));
        locks.remove(id);
    }

    private Path part(String id) {
        return dir.resolve(id + ".part");
    }

    private Optional<Meta> read(String id) throws IOException {
        try {
            List<String> lines = Files.readAllLines(dir.resolve(id + ".meta"), StandardCharsets.UTF_8);
            return lines.size() < 3 ? Optional.empty() : Optional.of(new Meta(lines.get(0), lines.get(1), Long.parseLong(lines.get(2))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** The upload, if it is {@code owner}'s in {@code project} and not expired; an id that is not one of ours is none. */
    private Optional<Meta> find(String project, String owner, String id) throws IOException {
        if (id == null || !id.matches(ID)) {
            return Optional.empty();
        }
        Optional<Meta> m = read(id);
        if (m.isPresent() && clock.millis() - m.get().createdMs() > ttl.toMillis()) {
            drop(id);
            return Optional.empty();
        }
        return m.filter(x -> x.project().equals(project) && x.owner().equals(owner));
    }

    private static Refused noSuch(String project, String id) {
        return new Refused(404, "no upload " + (id != null && id.length() > 40 ? id.substring(0, 40) + "…" : id) + " of yours in project '"
                + project + "'", -1);
    }
}
