package io.clops.service;

import io.clops.api.FieldError;
import io.micronaut.http.HttpStatus;

import java.util.List;

/** A request refused at the door with a status of its own (415, 413, 422, …), naming what was wrong. */
public final class Refusal extends RuntimeException {
    private final HttpStatus status;
    private final List<FieldError> fields;

    public Refusal(HttpStatus status, String message, List<FieldError> fields) {
        super(message);
        this.status = status;
        this.fields = List.copyOf(fields);
    }

    public HttpStatus status() {
        return status;
    }

    public List<FieldError> fields() {
        return fields;
    }
}
