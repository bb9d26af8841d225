package io.clops.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The thin HTTP edge shared by clops services: JSON in and out (Jackson), error bodies. */
public final class Http {
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Http() {
    }

    /** Parses a request body; anything that is not JSON is a 400 naming {@code body}. */
    public static JsonNode body(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidRequest("empty request", List.of(new FieldError("body", "is required")));
        }
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidRequest("invalid JSON", List.of(new FieldError("body",
                    "is not valid JSON: " + e.getOriginalMessage() + " at line " + e.getLocation().getLineNr())));
        }
    }

    public static MutableHttpResponse<String> json(HttpStatus status, Object body) {
        try {
            return HttpResponse.<String>status(status).contentType(MediaType.APPLICATION_JSON_TYPE)
                    .body(JSON.writeValueAsString(body) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MutableHttpResponse<String> error(HttpStatus status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        return json(status, m);
    }

    public static MutableHttpResponse<String> invalid(InvalidRequest e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", e.getMessage());
        m.put("fields", e.errors().stream().map(f -> Map.of("field", f.field(), "message", f.message())).toList());
        return json(HttpStatus.BAD_REQUEST, m);
    }
}
