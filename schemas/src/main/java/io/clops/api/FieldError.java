package io.clops.api;

/** One thing wrong with a request, naming the field as the user wrote it (e.g. {@code spec.replicas.min}). */
public record FieldError(String field, String message) {
    /**
     * The name of a field as a request wrote it, after {@code prefix}: an empty name shows as {@code ""} (an error
     * always names something), others as they are (the JSON reader bounds their length).
     */
    public static String name(String prefix, String key) {
        return prefix + (PLAIN.matcher(key).matches() ? key : quoted(key));
    }

    private static final java.util.regex.Pattern PLAIN = java.util.regex.Pattern.compile("[A-Za-z0-9_@:/+-][A-Za-z0-9_@:/+.-]*");

    /** A key that is empty, blank or holds spaces, quotes or control characters, as a JSON string: {@code " "}. */
    private static String quoted(String key) {
        return new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(key)).transform(q -> "\"" + q + "\"");
    }

    @Override
    public String toString() {
        return field + ": " + message;
    }
}
