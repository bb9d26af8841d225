package io.clops.executor;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/** The JSON body of every error the executor itself answers: {"error": "...", "status": N}. */
final class ErrorBody {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ErrorBody() {
    }

    static byte[] json(int status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        m.put("status", status);
        try {
            return JSON.writeValueAsBytes(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
