package io.clops.schemas;

import io.clops.avro.ClusterEvent;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.InferenceEnvelope;
import io.clops.avro.LoginEvent;
import io.clops.avro.ObservedState;
import io.clops.avro.ModelState;
import io.clops.avro.Project;
import io.clops.avro.Revocation;
import io.clops.avro.AuditRecord;
import io.clops.avro.RegistryEvent;
import io.clops.avro.SeenCommand;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.SchemaStore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The schema catalog: every writer schema a reader may meet, by its 64-bit Rabin fingerprint.
 * <p>
 * It starts with the current schemas and every released version from the jar's history, and can learn more from
 * the {@code clops.schemas} topic (see {@link SchemaTopic}) when a record names a fingerprint it has not seen.
 */
public final class SchemaCatalog implements SchemaStore {

    /** The top-level schemas: written to a topic or a state store. Each keeps a history in schemas/history/. */
    public static final List<Schema> TOP_LEVEL = List.of(
            CommandEnvelope.getClassSchema(), CommandResult.getClassSchema(), RegistryEvent.getClassSchema(),
            ClusterEvent.getClassSchema(), DesiredDeployment.getClassSchema(), DeploymentStatus.getClassSchema(),
            InferenceEnvelope.getClassSchema(), ObservedState.getClassSchema(), ModelState.getClassSchema(),
            SeenCommand.getClassSchema(), Project.getClassSchema(), Revocation.getClassSchema(),
            AuditRecord.getClassSchema(), LoginEvent.getClassSchema());

    private static final SchemaCatalog GLOBAL = new SchemaCatalog();

    private final Map<Long, Schema> byFingerprint = new ConcurrentHashMap<>();
    private volatile Supplier<Collection<Schema>> remote = List::of;

    public SchemaCatalog() {
        TOP_LEVEL.forEach(this::add);
        for (Schema s : TOP_LEVEL) {
            historyOf(s.getFullName()).forEach(this::add);
        }
    }

    /** The process-wide catalog the serdes use. */
    public static SchemaCatalog global() {
        return GLOBAL;
    }

    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    public static String fingerprintHex(Schema schema) {
        return HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8).putLong(fingerprint(schema)).array());
    }

    public void add(Schema schema) {
        byFingerprint.putIfAbsent(fingerprint(schema), schema);
    }

    /** Where to look when a fingerprint is unknown (normally: read the whole clops.schemas topic). */
    public void setRemote(Supplier<Collection<Schema>> remote) {
        this.remote = remote;
    }

    @Override
    public Schema findByFingerprint(long fingerprint) {
        Schema known = byFingerprint.get(fingerprint);
        if (known != null) {
            return known;
        }
        remote.get().forEach(this::add);
        return byFingerprint.get(fingerprint);
    }

    /** Every released version of a top-level schema, oldest first, as shipped in the jar. */
    public static List<Schema> historyOf(String fullName) {
        List<Schema> out = new ArrayList<>();
        for (int v = 1; ; v++) {
            String path = "/clops-schema-history/" + fullName + "/v" + v + ".avsc";
            try (InputStream in = SchemaCatalog.class.getResourceAsStream(path)) {
                if (in == null) {
                    return out;
                }
                String text = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                        .lines().reduce("", (a, b) -> a + b + "\n");
                out.add(new Schema.Parser().parse(text));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + path, e);
            }
        }
    }
}
