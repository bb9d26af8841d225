package io.clops.api;

/** One thing wrong with a request, naming the field as the user wrote it (e.g. {@code spec.replicas.min}). */
public record FieldError(String field, String message) {
    @Override
    public String toString() {
        return field + ": " + message;
    }
}
