package io.clops.api;

import io.clops.avro.ModelVersion;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who is trusted with the platform's own machine ({@code clops.auth.host-users}, env {@code CLOPS_AUTH_HOST_USERS}):
 * the local runtime starts a version's own command there as the platform's operating-system user, able to read all
 * the platform can (its signing key, the broker's passwords, every project's files), and its model runtime reads a
 * {@code file:} model file there. Only these users register such a version (the gateway's check) and only their
 * versions run there (the local runtime's check). User names, or {@value #EVERYONE} for everyone (Kubernetes, where
 * a version runs in its project's own pods); by default the local admin alone, who runs the platform.
 */
public record HostUsers(Set<String> names) {
    public static final String EVERYONE = "*";
    public static final String SETTING = "clops.auth.host-users";

    public HostUsers {
        names = Set.copyOf(names);
    }

    /**
     * @param setting   the comma-separated setting; blank: {@code localUser} alone
     * @param localUser who runs the platform (the local admin)
     * @throws IllegalArgumentException naming the setting and the entry that is neither a name nor {@value #EVERYONE}
     */
    public static HostUsers parse(String setting, String localUser) {
        Set<String> names = Arrays.stream(setting == null ? new String[0] : setting.split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        for (String n : names) {
            if (n.contains(EVERYONE) && !n.equals(EVERYONE) || n.length() > 200 || n.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException(SETTING + ": '" + n + "' is neither a user name nor " + EVERYONE + " (everyone)");
            }
        }
        return new HostUsers(names.isEmpty() ? Set.of(localUser) : names);
    }

    /** Is {@code user} (a principal's name; null: not known) trusted with the platform's machine? */
    public boolean admits(String user) {
        return names.contains(EVERYONE) || user != null && names.contains(user);
    }

    /**
     * The field by which {@code v} would run on the platform's machine with the platform's rights under the local
     * runtime: {@code command} (started there), {@code artifact.uri} (a {@code file:} path read there); null when
     * it would not (an image, a model file in the platform's store or at an http(s) URL).
     */
    public static String hostAccess(ModelVersion v) {
        if (!v.getCommand().isEmpty()) {
            return "command";
        }
        return v.getArtifact() != null && v.getArtifact().getUri().startsWith("file:") ? "artifact.uri" : null;
    }
}
