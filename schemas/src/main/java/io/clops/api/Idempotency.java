package io.clops.api;

import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What makes a retry the same request, as clients of Stripe's API and the IETF's Idempotency-Key draft expect: a
 * command id (a project and the caller's key) names one request, identified by a fingerprint of where it acts and
 * what it asks. Within {@link #WINDOW_MS} the same id with the same request gets its first answer and changes
 * nothing; with another request it is refused ({@link #KEY_REUSED}); after the window it is refused too
 * ({@link #KEY_EXPIRED}), never applied again. The fold decides; the gateway answers repeats it has seen itself
 * without appending them.
 */
public final class Idempotency {
    private Idempotency() {
    }

    /** How long a key's first answer is given again: 7 days of event time. */
    public static final long WINDOW_MS = 7L * 24 * 3600 * 1000;
    public static final String KEY_REUSED = "idempotency-key-reused";
    public static final String KEY_EXPIRED = "idempotency-key-expired";

    /** SHA-256 of where a request acts (its project, or project/model) and its payload's Avro binary. */
    public static String fingerprint(String where, SpecificRecord payload) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(where.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(payload.getClass().getName().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(binary(payload));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] binary(SpecificRecord r) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(bytes, null);
            new SpecificDatumWriter<SpecificRecord>(r.getSchema()).write(sortedMaps(r), enc);
            enc.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Tags are a map: encode them in key order, so the same tags always give the same bytes. */
    private static SpecificRecord sortedMaps(SpecificRecord r) {
        if (r instanceof io.clops.avro.VersionRegistered reg && !reg.getVersion().getTags().isEmpty()) {
            java.util.Map<String, String> sorted = new java.util.LinkedHashMap<>();
            new java.util.TreeSet<>(reg.getVersion().getTags().keySet()).forEach(k -> sorted.put(k, reg.getVersion().getTags().get(k)));
            return io.clops.avro.VersionRegistered.newBuilder()
                    .setVersion(io.clops.avro.ModelVersion.newBuilder(reg.getVersion()).setTags(sorted).build()).build();
        }
        return r;
    }
}
