package io.clops.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The one JSON reader of every door that takes requests (HTTP API, Kafka intake): exactly one JSON value in UTF-8,
 * no byte-order mark, no duplicate keys, nothing after the value, and bounds on nesting, numbers, names and strings
 * that no request needs to pass. Anything else is refused naming the field (a duplicate key) or {@code body}.
 */
public final class StrictJson {
    private StrictJson() {
    }

    /** Deeper than any request needs (a ModelDeployment document nests 5 levels). */
    public static final int MAX_DEPTH = 32;
    /** Digits of one number: more than any int or long field needs, far fewer than a CPU-burning one. */
    public static final int MAX_NUMBER_LENGTH = 32;
    public static final int MAX_NAME_LENGTH = 256;
    public static final int MAX_STRING_LENGTH = 256 * 1024;

    private static final ObjectMapper JSON = mapper(MAX_STRING_LENGTH);

    /** A reader with these bounds; strings up to {@code maxStringLength} characters (a tensor's BYTES may be long). */
    public static ObjectMapper mapper(int maxStringLength) {
        return new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).maxNumberLength(MAX_NUMBER_LENGTH)
                        .maxNameLength(MAX_NAME_LENGTH).maxStringLength(maxStringLength).build())
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build())
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /** The bytes are not one JSON value in UTF-8 (an intake dead-letters them; HTTP answers 400). */
    public static final class NotJson extends InvalidRequest {
        public NotJson(String message) {
            super("not JSON", List.of(new FieldError("body", message)));
        }
    }

    public static JsonNode parse(byte[] bytes) {
        return parse(bytes, JSON);
    }

    /**
     * Reads the bytes as they are (no copy into a String): a UTF-8 byte-order mark is refused, and so is any NUL byte,
     * which UTF-8 JSON never holds (a string's NUL is escaped) and UTF-16 or UTF-32 text always does: the parser
     * would otherwise detect those encodings and take them. Invalid UTF-8 inside strings fails the parser.
     */
    public static JsonNode parse(byte[] bytes, ObjectMapper mapper) {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidRequest("empty request", List.of(new FieldError("body", "is required")));
        }
        if (bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB && (bytes[2] & 0xff) == 0xBF) {
            throw new NotJson("starts with a byte-order mark; send UTF-8 JSON without one");
        }
        int bad = invalidUtf8(bytes);
        if (bad >= 0) {
            int first = bytes[0] & 0xff;
            throw new NotJson(bytes[bad] == 0 || first == 0xFE || first == 0xFF
                    ? "is not UTF-8 JSON (a NUL byte or a UTF-16 byte-order mark: UTF-16 or UTF-32?); JSON requests are UTF-8 (RFC 8259)"
                    : "is not UTF-8 (byte " + bad + " is 0x" + Integer.toHexString(bytes[bad] & 0xff) + "); JSON requests are UTF-8 (RFC 8259)");
        }
        boolean blank = true;
        for (byte b : bytes) {
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                blank = false;
                break;
            }
        }
        if (blank) {
            throw new InvalidRequest("empty request", List.of(new FieldError("body", "is required")));
        }
        try {
            return mapper.readTree(bytes);
        } catch (StreamConstraintsException e) {
            throw new InvalidRequest("invalid JSON", List.of(new FieldError("body", limit(e))));
        } catch (JsonParseException e) {
            String m = e.getOriginalMessage();
            if (m != null && m.startsWith("Duplicate Object property") || m != null && m.startsWith("Duplicate field")) {
                throw new InvalidRequest("invalid JSON", List.of(new FieldError(duplicated(e), "is given more than once")));
            }
            throw new NotJson("is not valid JSON: " + firstLine(m) + where(e));
        } catch (JsonProcessingException e) {
            throw new NotJson("is not valid JSON: " + firstLine(e.getOriginalMessage()) + where(e));
        } catch (IOException e) {
            throw new NotJson("cannot be read: " + e.getMessage());
        }
    }

    /**
     * The index of the first byte that is NUL or not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
     * nothing above U+10FFFF), or -1. The parser checks strings, but not every name it has seen before (its symbol
     * table matches raw bytes), so the whole body is checked once here.
     */
    public static int invalidUtf8(byte[] b) {
        int i = 0;
        int n = b.length;
        while (i < n) {
            int c = b[i];
            if (c > 0) {
                i++;
                continue;
            }
            if (c == 0) {
                return i;
            }
            c &= 0xff;
            int need;
            int min;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
                min = 0x80;
            } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                min = 0x800;
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                min = 0x10000;
            } else {
                return i;
            }
            if (i + need >= n) {
                return i;
            }
            int cp = c & (0x3F >> need);
            for (int k = 1; k <= need; k++) {
                int cc = b[i + k] & 0xff;
                if ((cc & 0xC0) != 0x80) {
                    return i;
                }
                cp = (cp << 6) | (cc & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                return i;
            }
            i += need + 1;
        }
        return -1;
    }

    private static String limit(StreamConstraintsException e) {
        String m = firstLine(e.getOriginalMessage());
        int ref = m.indexOf(" (from `");
        return "exceeds a limit: " + (ref > 0 ? m.substring(0, ref) + ")" : m);
    }

    /** The dotted path of the key given twice, e.g. {@code spec.model}. */
    private static String duplicated(JsonParseException e) {
        List<String> names = new ArrayList<>();
        JsonParser p = e.getProcessor();
        if (p != null) {
            for (JsonStreamContext c = p.getParsingContext(); c != null; c = c.getParent()) {
                if (c.getCurrentName() != null) {
                    names.add(0, FieldError.name("", c.getCurrentName()));
                } else if (c.inArray()) {
                    names.add(0, "[" + c.getCurrentIndex() + "]");
                }
            }
        }
        return names.isEmpty() ? "body" : String.join(".", names).replace(".[", "[");
    }

    private static String where(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
