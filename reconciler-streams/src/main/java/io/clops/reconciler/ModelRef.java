package io.clops.reconciler;

import io.clops.avro.ModelState;
import io.clops.avro.ModelVersion;
import io.clops.avro.VersionEntry;

import java.util.Optional;

/**
 * A reference to a registered model as a spec writes it: {@code name@alias}, {@code name:version}, or {@code name}
 * (its newest version that is not archived). Resolution is a value, never an exception: either a version or the
 * reason there is none.
 */
public record ModelRef(String model, String alias, Integer version) {

    /** Parses a reference the spec parser has accepted ({@code io.clops.api.Names#checkModelRef}). */
    public static ModelRef parse(String text) {
        int at = text.indexOf('@');
        if (at > 0) {
            return new ModelRef(text.substring(0, at), text.substring(at + 1), null);
        }
        int colon = text.indexOf(':');
        if (colon > 0) {
            return new ModelRef(text.substring(0, colon), null, Integer.valueOf(text.substring(colon + 1)));
        }
        return new ModelRef(text, null, null);
    }

    public sealed interface Resolution permits Found, Missing {
    }

    /** @param registeredBy who registered the version */
    public record Found(ModelVersion version, String registeredBy) implements Resolution {
    }

    public record Missing(String reason) implements Resolution {
    }

    /** Resolves against the model's state ({@code null}: not registered) in {@code project}. */
    public Resolution resolve(String project, ModelState m) {
        if (m == null || m.getVersions().isEmpty()) {
            return new Missing("model '" + model + "' is not registered in project '" + project + "'");
        }
        if (alias != null) {
            Integer target = m.getAliases().get(alias);
            if (target == null) {
                return new Missing("model '" + model + "' has no alias '" + alias + "'");
            }
            return usable(m, target);
        }
        if (version != null) {
            return usable(m, version);
        }
        return m.getVersions().stream().filter(e -> !e.getArchived()).reduce((a, b) -> b)
                .<Resolution>map(e -> new Found(e.getVersion(), e.getRegisteredBy()))
                .orElseGet(() -> new Missing("every version of model '" + model + "' is archived"));
    }

    private Resolution usable(ModelState m, int v) {
        Optional<VersionEntry> e = entry(m, v);
        if (e.isEmpty()) {
            return new Missing("model '" + model + "' has no version " + v);
        }
        if (e.get().getArchived()) {
            return new Missing("version " + v + " of model '" + model + "' is archived");
        }
        return new Found(e.get().getVersion(), e.get().getRegisteredBy());
    }

    /** The entry of version {@code v}, archived or not. */
    public static Optional<VersionEntry> entry(ModelState m, int v) {
        if (m == null) {
            return Optional.empty();
        }
        return m.getVersions().stream().filter(e -> e.getVersion().getVersion() == v).findFirst();
    }
}
