package io.clops.service;

import io.clops.api.FieldError;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.JsonErrorResponseBodyProvider;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The framework's own refusals (no such route, method not allowed, unsupported media type, body too large, a
 * missing body) in the same shape as ours: {@code {"error": "...", "fields": [...]}}, naming the header or
 * {@code body} where one is at fault.
 */
@Singleton
@Replaces(JsonErrorResponseBodyProvider.class)
public class ErrorBodies implements JsonErrorResponseBodyProvider<Map<String, Object>> {
    @Override
    public Map<String, Object> body(ErrorContext context, HttpResponse<?> response) {
        HttpStatus status = response.getStatus();
        String message = context.getErrors().isEmpty() ? response.reason() : context.getErrors().get(0).getMessage();
        List<FieldError> fields = new ArrayList<>();
        switch (status) {
            case REQUEST_ENTITY_TOO_LARGE -> {
                message = "the request body is too large for the log";
                fields.add(new FieldError("body", "must be at most " + Http.MAX_BODY_BYTES + " bytes"));
            }
            case UNSUPPORTED_MEDIA_TYPE -> fields.add(new FieldError("Content-Type", "must be application/json"));
            case METHOD_NOT_ALLOWED -> message = "method " + context.getRequest().getMethodName() + " is not allowed on "
                    + context.getRequest().getPath();
            case NOT_FOUND -> message = "no such resource: " + context.getRequest().getPath();
            case BAD_REQUEST -> {
                if (message != null && message.toLowerCase().contains("body")) {
                    fields.add(new FieldError("body", "is required"));
                }
            }
            default -> {
            }
        }
        return Http.errorBody(message, fields);
    }
}
