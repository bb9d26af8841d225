package io.clops.reconciler;

import io.clops.avro.ModelVersion;
import io.clops.avro.ProjectState;
import io.clops.avro.RegisteredModel;

import java.util.Comparator;

/**
 * A reference to a registered model as a spec writes it: {@code name@alias}, {@code name:version}, or {@code name}
 * (its newest version). Resolution is a value, never an exception: either a version or the reason there is none.
 */
public record ModelRef(String model, String alias, Integer version) {

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

    public record Found(ModelVersion version) implements Resolution {
    }

    public record Missing(String reason) implements Resolution {
    }

    public Resolution resolve(ProjectState state) {
        RegisteredModel m = state.getModels().get(model);
        if (m == null || m.getVersions().isEmpty()) {
            return new Missing("model '" + model + "' is not registered in project '" + state.getProject() + "'");
        }
        int v;
        if (alias != null) {
            Integer target = m.getAliases().get(alias);
            if (target == null) {
                return new Missing("model '" + model + "' has no alias '" + alias + "'");
            }
            v = target;
        } else if (version != null) {
            v = version;
        } else {
            v = m.getVersions().values().stream().map(ModelVersion::getVersion).max(Comparator.naturalOrder()).orElseThrow();
        }
        ModelVersion found = m.getVersions().get(Integer.toString(v));
        return found == null
                ? new Missing("model '" + model + "' has no version " + v)
                : new Found(found);
    }
}
