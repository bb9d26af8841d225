package io.clops.api;

import java.util.List;
import java.util.regex.Pattern;

/** Rules for names users choose: projects, deployments, models, aliases (DNS-1123 labels, so they fit Kubernetes). */
public final class Names {
    private Names() {
    }

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern MODEL_REF = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(@[a-z0-9]([-a-z0-9]*[a-z0-9])?|:[1-9][0-9]{0,8})?");

    /** Adds an error when {@code value} is not a lower-case DNS-1123 label of at most {@code max} characters. */
    public static void checkLabel(String field, String value, int max, List<FieldError> errors) {
        if (value == null || value.isEmpty()) {
            errors.add(new FieldError(field, "is required"));
        } else if (value.length() > max || !LABEL.matcher(value).matches()) {
            errors.add(new FieldError(field, "'" + RegistryRequests.abbreviate(value) + "' must be lower-case letters, digits and '-', start and end with a letter or digit, at most " + max + " characters"));
        }
    }

    /**
     * A project's name: a label of at most 40 characters that is not the platform's own. {@code clops} and
     * {@code clops-*} name the platform's namespaces and topics ({@code clops-system}, {@code clops.commands}),
     * {@code kube-*} Kubernetes' own namespaces: a project named so could reach them.
     */
    public static void checkProject(String field, String value, List<FieldError> errors) {
        int before = errors.size();
        checkLabel(field, value, 40, errors);
        if (errors.size() == before && (value.equals("clops") || value.startsWith("clops-") || value.startsWith("kube-"))) {
            errors.add(new FieldError(field, "'" + value + "' is reserved for the platform (clops, clops-*, kube-*)"));
        }
    }

    /** The principal a project's service account acts as (a member of that project under this name). */
    public static String serviceAccount(String project, String name) {
        return "serviceaccount:" + project + ":" + name;
    }

    public static void checkModelRef(String field, String value, List<FieldError> errors) {
        if (value == null || value.isEmpty()) {
            errors.add(new FieldError(field, "is required"));
        } else if (value.length() > 90 || !MODEL_REF.matcher(value).matches()) {
            errors.add(new FieldError(field, "'" + RegistryRequests.abbreviate(value) + "' must be a model reference: name, name@alias or name:version"));
        }
    }
}
