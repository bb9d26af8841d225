package io.clops.api;

import java.util.List;

/** A request refused before anything was written; every field error is listed. */
public class InvalidRequest extends RuntimeException {
    private final List<FieldError> errors;

    public InvalidRequest(String what, List<FieldError> errors) {
        super(what + ": " + String.join("; ", errors.stream().map(FieldError::toString).toList()));
        this.errors = List.copyOf(errors);
    }

    public List<FieldError> errors() {
        return errors;
    }
}
