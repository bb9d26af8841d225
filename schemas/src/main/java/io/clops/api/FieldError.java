package io.clops.api;

/** One thing wrong with a request, naming the field as the user wrote it (e.g. {@code spec.replicas.min}). */
public record FieldError(String field, String message) {
    /**
     * The name of a field as a request wrote it, after {@code prefix}: an empty name shows as {@code ""} (an error
     * always names something), others as they are (the JSON reader bounds their length).
     */
    public static String name(String prefix, String key) {
        return prefix + (key.isEmpty() ? "\"\"" : key);
    }

    @Override
    public String toString() {
        return field + ": " + message;
    }
}
