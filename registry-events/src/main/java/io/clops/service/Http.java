package io.clops.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.api.StrictJson;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The thin HTTP edge shared by clops services: JSON in and out (Jackson), error bodies. */
public final class Http {
    public static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /**
     * The largest request body taken (micronaut.server.max-request-size in application.properties): well below Kafka's
     * default record limit of 1 MB, so a request the API takes is never refused by the log for its size.
     */
    public static final int MAX_BODY_BYTES = 512 * 1024;

    private Http() {
    }

    /**
     * Parses a request body with the doors' one strict reader ({@link StrictJson}): UTF-8 only (another charset named
     * in Content-Type is a 415), one JSON value, no duplicate keys; anything else is a 400 naming the field.
     */
    public static JsonNode body(HttpRequest<?> request, byte[] bytes) {
        request.getContentType().flatMap(MediaType::getCharset).ifPresent(charset -> {
            if (!charset.equals(StandardCharsets.UTF_8)) {
                throw new Refusal(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "JSON requests are UTF-8, not " + charset,
                        List.of(new FieldError("Content-Type", "must be application/json (charset UTF-8), not charset " + charset)));
            }
        });
        return StrictJson.parse(bytes);
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
        return refused(HttpStatus.BAD_REQUEST, e.getMessage(), e.errors());
    }

    /** The one shape of every refusal: {@code {"error": "...", "fields": [{"field", "message"}]}}. */
    public static MutableHttpResponse<String> refused(HttpStatus status, String message, List<FieldError> fields) {
        return json(status, errorBody(message, fields));
    }

    /**
     * A verdict refusing the request's Idempotency-Key (used for another request, or too long ago) is a 422 naming
     * the key, as the IETF draft and Stripe answer; nothing was changed.
     */
    public static java.util.Optional<MutableHttpResponse<String>> keyRefusal(io.clops.avro.CommandResult r) {
        if (r == null || r.getCode() == null || !r.getCode().startsWith("idempotency-key")) {
            return java.util.Optional.empty();
        }
        MutableHttpResponse<String> out = refused(HttpStatus.UNPROCESSABLE_ENTITY, r.getReason(),
                List.of(new FieldError("Idempotency-Key", r.getReason())));
        return java.util.Optional.of(out);
    }

    /**
     * The answer to a write whose verdict is not a plain one, or empty: 202 "pending" (no verdict within the wait; the
     * request is in the log) with {@code out} and the request id, or the 422 of an Idempotency-Key refusal. Otherwise
     * {@code out} gets the verdict, its reason and its code, for the caller to answer with.
     */
    public static java.util.Optional<MutableHttpResponse<String>> verdict(io.clops.gateway.Verdict v, Map<String, Object> out) {
        if (v.pending()) {
            out.put("verdict", "pending");
            out.put("requestId", v.requestId());
            out.put("reason", "the request is in the log; no verdict yet within the wait");
            return java.util.Optional.of(json(HttpStatus.ACCEPTED, out));
        }
        io.clops.avro.CommandResult r = v.result();
        var key = keyRefusal(r);
        if (key.isPresent()) {
            return key;
        }
        out.put("verdict", r.getAccepted() ? "accepted" : "refused");
        out.put("reason", r.getReason());
        if (r.getCode() != null) {
            out.put("code", r.getCode());
        }
        return java.util.Optional.empty();
    }

    public static Map<String, Object> errorBody(String message, List<FieldError> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        m.put("fields", fields.stream().map(f -> Map.of("field", f.field(), "message", f.message())).toList());
        return m;
    }
}
