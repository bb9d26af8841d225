package io.clops.artifacts;

import io.clops.avro.Artifact;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Model files larger than one request, uploaded in parts (the resumable-upload protocol of tus and S3's multipart
 * uploads, reduced to what a model file needs): an upload is begun, its bytes are appended part by part at the offset
 * the server says it holds (a part sent again after a lost answer is refused with the offset to resume from, never
 * appended twice), then completed: hashed, and moved into the {@link ArtifactStore} under its digest. No part is
 * held in memory beyond its request; the whole is limited ({@code maxBytes}) and so is each part ({@code partBytes}).
 * <p>
 * An upload belongs to who began it, in its project: anyone else gets "no such upload". Uploads not completed within
 * {@code ttl} are dropped with their bytes; they do not survive a restart of the API (begin again).
 */
public final class ArtifactUploads {
    /** What a caller sees of an upload. */
    public record Status(String id, long offset, long maxBytes, int partBytes, long expiresMs) {
    }

    /** A part or a completion refused: the HTTP status to answer and why (with the offset the upload is at). */
    public static final class Refused extends Exception {
        private final int status;
        private final long offset;

        Refused(int status, String message, long offset) {
            super(message, null, false, false);
            this.status = status;
            this.offset = offset;
        }

        public int status() {
            return status;
        }

        public long offset() {
            return offset;
        }
    }

    /** One upload; its size changes under its own lock. */
    private static final class Upload {
        final String id;
        final String project;
        final String owner;
        final Path file;
        final long createdMs;
        long size;
        boolean done;

        Upload(String id, String project, String owner, Path file, long createdMs) {
            this.id = id;
            this.project = project;
            this.owner = owner;
            this.file = file;
            this.createdMs = createdMs;
        }
    }

    private final ArtifactStore store;
    private final Path dir;
    private final long maxBytes;
    private final int partBytes;
    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Upload> uploads = new ConcurrentHashMap<>();

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
        Path file = dir.resolve(id + ".part");
        Files.createFile(file);
        Upload u = new Upload(id, project, owner, file, clock.millis());
        uploads.put(id, u);
        return status(u);
    }

    /** Where an upload stands (to resume it). */
    public Optional<Status> status(String project, String owner, String id) {
        expire();
        return find(project, owner, id).map(this::status);
    }

    /**
     * Appends a part: {@code offset} must be where the upload stands; the part at most {@code partBytes} and the whole
     * at most {@code maxBytes}. Reads at most {@code partBytes + 1} bytes of {@code body}.
     *
     * @return the new offset
     */
    public long append(String project, String owner, String id, long offset, InputStream body) throws IOException, Refused {
        expire();
        Upload u = find(project, owner, id).orElseThrow(() -> new Refused(404, "no upload " + id + " of yours in project '" + project + "'", -1));
        synchronized (u) {
            if (u.done) {
                throw new Refused(404, "no upload " + id + " of yours in project '" + project + "'", -1);
            }
            if (offset != u.size) {
                throw new Refused(409, "the upload holds " + u.size + " bytes: send the part at offset " + u.size + ", not " + offset, u.size);
            }
            byte[] part = body.readNBytes(partBytes + 1);
            if (part.length > partBytes) {
                throw new Refused(413, "a part is at most " + partBytes + " bytes", u.size);
            }
            if (part.length == 0) {
                throw new Refused(400, "the part is empty", u.size);
            }
            if (u.size + part.length > maxBytes) {
                drop(u);
                throw new Refused(413, "a model file is at most " + maxBytes + " bytes here; the upload is dropped", -1);
            }
            try (OutputStream out = Files.newOutputStream(u.file, StandardOpenOption.APPEND)) {
                out.write(part);
            }
            u.size += part.length;
            return u.size;
        }
    }

    /**
     * Completes an upload: its bytes become a model file of {@code format} in the store. With {@code expectedSha256}
     * (the digest the client computed), a file whose digest differs is refused naming both, and dropped.
     */
    public Artifact complete(String project, String owner, String id, String format, String expectedSha256) throws IOException, Refused {
        expire();
        if (format == null || !io.clops.api.RegistryRequests.FORMATS.contains(format)) {
            throw new Refused(400, "format: one of " + new java.util.TreeSet<>(io.clops.api.RegistryRequests.FORMATS) + ", not '" + format + "'", -1);
        }
        if (expectedSha256 != null && !expectedSha256.matches("[0-9a-fA-F]{64}")) {
            throw new Refused(400, "sha256: 64 hexadecimal digits, not '" + expectedSha256 + "'", -1);
        }
        Upload u = find(project, owner, id).orElseThrow(() -> new Refused(404, "no upload " + id + " of yours in project '" + project + "'", -1));
        synchronized (u) {
            if (u.done) {
                throw new Refused(404, "no upload " + id + " of yours in project '" + project + "'", -1);
            }
            u.done = true;
            uploads.remove(id);
            try {
                if (u.size == 0) {
                    throw new Refused(400, "the upload is empty", 0);
                }
                Artifact a = store.putFile(u.file, format);
                if (expectedSha256 != null && !expectedSha256.equalsIgnoreCase(a.getSha256())) {
                    throw new Refused(422, "the uploaded file's SHA-256 is " + a.getSha256() + ", not the " + expectedSha256.toLowerCase()
                            + " the client computed: a part was lost or changed on the way; upload it again", -1);
                }
                return a;
            } finally {
                Files.deleteIfExists(u.file);
            }
        }
    }

    /** Uploads older than the ttl, dropped with their bytes. */
    void expire() {
        long now = clock.millis();
        for (Iterator<Upload> it = uploads.values().iterator(); it.hasNext(); ) {
            Upload u = it.next();
            if (now - u.createdMs > ttl.toMillis()) {
                it.remove();
                try {
                    Files.deleteIfExists(u.file);
                } catch (IOException e) {
                    // a file left behind is harmless: the next begin does not reuse its id
                }
            }
        }
    }

    private void drop(Upload u) throws IOException {
        u.done = true;
        uploads.remove(u.id);
        Files.deleteIfExists(u.file);
    }

    private Optional<Upload> find(String project, String owner, String id) {
        Upload u = id == null ? null : uploads.get(id);
        return u != null && u.project.equals(project) && u.owner.equals(owner) ? Optional.of(u) : Optional.empty();
    }

    private Status status(Upload u) {
        synchronized (u) {
            return new Status(u.id, u.size, maxBytes, partBytes, u.createdMs + ttl.toMillis());
        }
    }
}
