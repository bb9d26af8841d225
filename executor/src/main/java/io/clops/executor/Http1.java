package io.clops.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.1 message heads read and written as bytes, so the proxy passes a request and its answer on without building
 * an object per header (what a byte-level proxy such as nginx does). Parsing is strict where laxness lets a request
 * mean one thing to us and another to the model (RFC 9112): CRLF line ends, no folded lines, no whitespace before
 * the colon, one Content-Length, no Content-Length beside Transfer-Encoding in a request, chunked as the only
 * request transfer coding.
 */
final class Http1 {
    static final int MAX_HEAD = 16 * 1024;
    static final int MAX_HEADERS = 128;
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private Http1() {
    }

    /** A message head: its bytes (copied out once: parsed faster, owned by nobody) and what the proxy needs from them. */
    static final class Head {
        byte[] buf;
        // request line
        String method;
        String target;
        // status line
        int status;
        /** Where the three digits of the status code are. */
        int statusAt;
        int reasonStart;
        int reasonEnd;
        boolean http10;
        /** nameStart, nameEnd, valueStart, valueEnd per header line. */
        int[] lines = new int[4 * 16]; // grows up to MAX_HEADERS
        int count;
        long contentLength = -1;
        boolean chunked;
        /** A response with a transfer coding that is not chunked: its body ends when the connection does. */
        boolean otherCoding;
        boolean close;
        boolean keepAlive;
        boolean expectContinue;
        /** Host header lines in a request: exactly one on HTTP/1.1 (RFC 9112 §3.2). */
        int hosts;
        boolean transferEncoding;
        /** Status to refuse the message with (400, 431, 501, 505), or 0. */
        int error;
        String why;

        boolean persistent() {
            return !close && (!http10 || keepAlive);
        }

        /** The value of the first header with this (lower-case) name, or null. */
        String header(String lowerName) {
            for (int i = 0; i < count; i++) {
                if (nameIs(i, lowerName)) {
                    return value(i);
                }
            }
            return null;
        }

        String value(int i) {
            return new String(buf, lines[4 * i + 2], lines[4 * i + 3] - lines[4 * i + 2], StandardCharsets.ISO_8859_1);
        }

        boolean nameIs(int i, String lowerName) {
            int s = lines[4 * i];
            int len = lines[4 * i + 1] - s;
            if (len != lowerName.length()) {
                return false;
            }
            for (int k = 0; k < len; k++) {
                int c = buf[s + k];
                if (c >= 'A' && c <= 'Z') {
                    c += 32;
                }
                if (c != lowerName.charAt(k)) {
                    return false;
                }
            }
            return true;
        }

        /** Describes the connection, not the message: not passed on (Connection names more of them). */
        boolean connectionOnly(int i) {
            int len = lines[4 * i + 1] - lines[4 * i];
            return switch (len) {
                case 2 -> nameIs(i, "te");
                case 7 -> nameIs(i, "trailer") || nameIs(i, "upgrade");
                case 10 -> nameIs(i, "connection") || nameIs(i, "keep-alive");
                case 16 -> nameIs(i, "proxy-connection");
                case 18 -> nameIs(i, "proxy-authenticate");
                case 19 -> nameIs(i, "proxy-authorization");
                default -> false;
            } || namedByConnection(i);
        }

        /** Header names the Connection header lists besides close and keep-alive (lower case), read once at parse. */
        private java.util.List<String> connectionNamed = java.util.List.of();

        private boolean namedByConnection(int i) {
            for (String token : connectionNamed) {
                if (nameIs(i, token)) {
                    return true;
                }
            }
            return false;
        }

        /** Writes header line i as "Name: value\r\n". */
        void writeLine(int i, ByteBuf out) {
            int ns = lines[4 * i];
            out.writeBytes(buf, ns, lines[4 * i + 1] - ns);
            out.writeByte(':').writeByte(' ');
            out.writeBytes(buf, lines[4 * i + 2], lines[4 * i + 3] - lines[4 * i + 2]);
            out.writeByte(CR).writeByte(LF);
        }

        int length() {
            return buf.length;
        }
    }

    /**
     * Reads a head from {@code in} at its reader index. Null when the head is not complete yet; otherwise the head
     * (its bytes copied out of {@code in}, whose reader index moves past them), possibly with {@link Head#error} set.
     */
    static Head read(ByteBuf in, boolean request) {
        int start = in.readerIndex();
        int limit = in.writerIndex();
        int end = -1;
        int pos = start;
        // find the empty line; lines are checked for a CR before each LF below
        while (pos < limit) {
            int lf = in.indexOf(pos, limit, LF);
            if (lf < 0) {
                break;
            }
            if (lf == pos || lf == pos + 1 && in.getByte(pos) == CR) { // an empty line (a bare LF one is refused below)
                end = lf + 1;
                break;
            }
            pos = lf + 1;
        }
        if (end < 0) {
            Head early = request ? notHttp(in, start, limit) : null;
            if (early != null) {
                return early;
            }
            if (limit - start > MAX_HEAD) {
                Head h = new Head();
                h.buf = new byte[0];
                h.error = 431;
                h.why = "request head larger than " + MAX_HEAD + " bytes";
                return h;
            }
            return null;
        }
        if (end - start > MAX_HEAD) {
            in.skipBytes(end - start);
            return early(request ? 431 : 502, (request ? "request" : "the model's response") + " head larger than " + MAX_HEAD + " bytes");
        }
        Head h = new Head();
        h.buf = new byte[end - start];
        in.readBytes(h.buf);
        parse(h, request);
        return h;
    }

    /**
     * What can be refused before a request head is whole: bytes that cannot begin an HTTP/1.x request (a TLS
     * ClientHello, binary garbage) and a complete request line that is wrong (an HTTP/0.9 line, a bad version, a
     * malformed target), at once rather than after the head timeout. Null while the bytes so far may still be one.
     */
    private static Head notHttp(ByteBuf in, int start, int limit) {
        int lf = in.indexOf(start, limit, LF);
        int lineEnd = lf < 0 ? limit : lf;
        for (int i = start; i < lineEnd; i++) {
            byte c = in.getByte(i);
            if (c == ' ') {
                if (i == start) {
                    return early(400, "malformed request line");
                }
                if (lf < 0) {
                    return lineEnd - start > MAX_TARGET + 64 ? early(414, "request line longer than " + MAX_TARGET + " characters") : null;
                }
                Head h = new Head();
                h.buf = new byte[lf + 1 - start];
                in.getBytes(start, h.buf);
                if (lf == start || h.buf[h.buf.length - 2] != CR) {
                    return early(400, "malformed request line");
                }
                return requestLine(h, 0, h.buf.length - 2) ? null : early(h.error, h.why);
            }
            if (!tchar(c)) {
                return early(400, "not an HTTP/1.x request");
            }
        }
        return lf >= 0 || limit - start > 32 ? early(400, "not an HTTP/1.x request") : null;
    }

    private static Head early(int status, String why) {
        Head h = new Head();
        h.buf = new byte[0];
        h.error = status;
        h.why = why;
        return h;
    }

    private static void parse(Head h, boolean request) {
        byte[] b = h.buf;
        int limit = b.length;
        int pos = 0;
        int lf = indexOf(b, pos, limit, LF);
        if (lf <= pos || b[lf - 1] != CR) {
            fail(h, 400, "malformed " + (request ? "request" : "status") + " line");
            return;
        }
        if (request ? !requestLine(h, pos, lf - 1) : !statusLine(h, pos, lf - 1)) {
            return;
        }
        pos = lf + 1;
        while (pos < limit) {
            lf = indexOf(b, pos, limit, LF);
            if (lf < 0 || lf == pos || b[lf - 1] != CR) {
                fail(h, 400, "header lines must end with CRLF");
                return;
            }
            int eol = lf - 1;
            if (eol == pos) {
                break; // the empty line
            }
            byte first = b[pos];
            if (first == ' ' || first == '\t') {
                fail(h, 400, "folded header lines are not accepted");
                return;
            }
            int colon = indexOf(b, pos, eol, (byte) ':');
            if (colon <= pos) {
                fail(h, 400, "header line without a name and a colon");
                return;
            }
            for (int k = pos; k < colon; k++) {
                if (!tchar(b[k])) {
                    fail(h, 400, "invalid character in a header name");
                    return;
                }
            }
            int vs = colon + 1;
            while (vs < eol && (b[vs] == ' ' || b[vs] == '\t')) {
                vs++;
            }
            int ve = eol;
            while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
                ve--;
            }
            for (int k = vs; k < ve; k++) {
                byte c = b[k];
                if (c == 0 || c == CR || c == LF) {
                    fail(h, 400, "invalid character in a header value");
                    return;
                }
            }
            if (h.count == MAX_HEADERS) {
                fail(h, 431, "more than " + MAX_HEADERS + " header lines");
                return;
            }
            int i = h.count++;
            if (4 * h.count > h.lines.length) {
                h.lines = java.util.Arrays.copyOf(h.lines, h.lines.length * 2);
            }
            h.lines[4 * i] = pos;
            h.lines[4 * i + 1] = colon;
            h.lines[4 * i + 2] = vs;
            h.lines[4 * i + 3] = ve;
            if (!meaning(h, i, request)) {
                return;
            }
            pos = lf + 1;
        }
        if (request && (h.hosts > 1 || !h.http10 && h.hosts == 0)) {
            fail(h, 400, h.hosts == 0 ? "an HTTP/1.1 request needs a Host header" : "Host is given more than once");
            return;
        }
        if (h.chunked && h.contentLength >= 0) {
            if (request) {
                fail(h, 400, "Content-Length beside Transfer-Encoding");
                return;
            }
            h.contentLength = -1; // a response: the transfer coding frames the body
        }
    }

    /** The headers that frame the message or the connection. */
    private static boolean meaning(Head h, int i, boolean request) {
        int len = h.lines[4 * i + 1] - h.lines[4 * i];
        if (len == 14 && h.nameIs(i, "content-length")) {
            long n = digits(h.buf, h.lines[4 * i + 2], h.lines[4 * i + 3]);
            if (n < 0 || (h.contentLength >= 0 && h.contentLength != n)) {
                fail(h, 400, "invalid Content-Length");
                return false;
            }
            h.contentLength = n;
        } else if (len == 4 && request && h.nameIs(i, "host")) {
            h.hosts++;
        } else if (len == 17 && h.nameIs(i, "transfer-encoding")) {
            if (request && h.transferEncoding) {
                fail(h, 400, "Transfer-Encoding is given more than once");
                return false;
            }
            h.transferEncoding = true;
            String v = h.value(i).trim().toLowerCase(java.util.Locale.ROOT);
            boolean chunkedLast = v.equals("chunked") || v.endsWith(",chunked") || v.endsWith(", chunked");
            if (request && !v.equals("chunked")) {
                fail(h, 501, "transfer coding '" + v + "' is not supported (only chunked)");
                return false;
            }
            h.chunked = chunkedLast;
            h.otherCoding = !chunkedLast;
        } else if (len == 10 && h.nameIs(i, "connection")) {
            for (String t : h.value(i).split(",")) {
                String token = t.trim().toLowerCase(java.util.Locale.ROOT);
                if (token.equals("close")) {
                    h.close = true;
                } else if (token.equals("keep-alive")) {
                    h.keepAlive = true;
                } else if (!token.isEmpty()) {
                    if (h.connectionNamed.isEmpty()) {
                        h.connectionNamed = new java.util.ArrayList<>(2);
                    }
                    h.connectionNamed.add(token);
                }
            }
        } else if (len == 6 && request && h.nameIs(i, "expect")) {
            if (!h.value(i).equalsIgnoreCase("100-continue")) {
                fail(h, 417, "only Expect: 100-continue is supported");
                return false;
            }
            h.expectContinue = true;
        }
        return true;
    }

    private static boolean requestLine(Head h, int s, int e) {
        byte[] b = h.buf;
        int sp1 = indexOf(b, s, e, (byte) ' ');
        int sp2 = sp1 < 0 ? -1 : indexOf(b, sp1 + 1, e, (byte) ' ');
        if (sp1 <= s || sp2 <= sp1 + 1) {
            return fail(h, 400, "malformed request line");
        }
        for (int k = s; k < sp1; k++) {
            if (!tchar(b[k])) {
                return fail(h, 400, "malformed request method");
            }
        }
        h.method = new String(b, s, sp1 - s, StandardCharsets.US_ASCII);
        String target = new String(b, sp1 + 1, sp2 - sp1 - 1, StandardCharsets.ISO_8859_1);
        if (target.length() > MAX_TARGET) {
            return fail(h, 414, "request target longer than " + MAX_TARGET + " characters");
        }
        if (!version(h, sp2 + 1, e)) {
            return false;
        }
        Target t = normalize(target, h.method);
        if (t.problem() != null) {
            return fail(h, 400, t.problem());
        }
        h.target = t.normalized();
        return true;
    }

    private static boolean statusLine(Head h, int s, int e) {
        byte[] b = h.buf;
        if (!version(h, s, Math.min(e, s + 8)) || e < s + 12 || b[s + 8] != ' ') {
            return fail(h, 502, "malformed status line from the model");
        }
        int code = 0;
        for (int k = s + 9; k < s + 12; k++) {
            byte c = b[k];
            if (c < '0' || c > '9') {
                return fail(h, 502, "malformed status code from the model");
            }
            code = code * 10 + (c - '0');
        }
        h.status = code;
        h.statusAt = s + 9;
        h.reasonStart = Math.min(e, s + 13);
        h.reasonEnd = e;
        return true;
    }

    private static boolean version(Head h, int s, int e) {
        if (e - s != 8 || !regionIs(h.buf, s, "HTTP/1.")) {
            return fail(h, 505, "only HTTP/1.0 and HTTP/1.1 are served");
        }
        byte minor = h.buf[s + 7];
        if (minor != '0' && minor != '1') {
            return fail(h, 505, "only HTTP/1.0 and HTTP/1.1 are served");
        }
        h.http10 = minor == '0';
        return true;
    }

    private static boolean fail(Head h, int status, String why) {
        h.error = status;
        h.why = why;
        return false;
    }

    private static long digits(byte[] b, int s, int e) {
        if (s == e || e - s > 18) {
            return -1;
        }
        long n = 0;
        for (int k = s; k < e; k++) {
            byte c = b[k];
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    /** RFC 9110 token characters, looked up rather than searched. */
    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (int c = 33; c < 127; c++) {
            TCHAR[c] = "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
        }
    }

    private static boolean tchar(byte c) {
        return c >= 0 && TCHAR[c];
    }

    private static int indexOf(byte[] b, int from, int to, byte value) {
        for (int i = from; i < to; i++) {
            if (b[i] == value) {
                return i;
            }
        }
        return -1;
    }

    private static boolean regionIs(byte[] b, int from, String ascii) {
        if (from + ascii.length() > b.length) {
            return false;
        }
        for (int i = 0; i < ascii.length(); i++) {
            if (b[from + i] != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    static final int MAX_TARGET = 8 * 1024;

    /** A request target in normal form, or why it has none. */
    record Target(String normalized, String problem) {
    }

    /**
     * The one normal form of a request target, computed once before any route or check sees it, and what the model
     * is sent (RFC 9112 §3.2, RFC 3986 §6.2.2): the absolute form reduced to the origin form; percent-encoded
     * unreserved characters decoded ({@code %69nfer} is {@code infer}), other escapes in upper case. Refused: a
     * fragment, malformed escapes, an encoded {@code /}, {@code \}, {@code %} or control character in the path, dot
     * segments, empty segments, and {@code ;} in the path (matrix parameters a server may strip before routing): any
     * of them could make the model see another path than the one checked.
     */
    static Target normalize(String target, String method) {
        if (plain(target)) {
            return new Target(target, null); // already in the normal form: the common case, checked in one pass
        }
        return normalizeSlowly(target, method);
    }

    /**
     * True when {@code t} is an origin-form target that {@link #normalizeSlowly} would return unchanged: a path of
     * unreserved characters, sub-delimiters other than ';', ':' and '@', without '%', dot segments or empty segments
     * (a trailing '/' aside), and a query without '%' or '#'. {@code Http1FuzzTest} checks the two agree.
     */
    static boolean plain(String t) {
        int n = t.length();
        if (n == 0 || t.charAt(0) != '/') {
            return false;
        }
        int segment = 1;
        for (int i = 1; i < n; i++) {
            char c = t.charAt(i);
            if (c == '/' || c == '?') {
                if (!plainSegment(t, segment, i, c == '?')) {
                    return false;
                }
                if (c == '?') {
                    for (int j = i + 1; j < n; j++) {
                        char d = t.charAt(j);
                        if (d == '%' || d == '#' || d <= 0x20 || d >= 0x7f) {
                            return false;
                        }
                    }
                    return true;
                }
                segment = i + 1;
            } else if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
                    || c == '~' || c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+'
                    || c == ',' || c == '=' || c == ':' || c == '@')) {
                return false;
            }
        }
        return plainSegment(t, segment, n, true);
    }

    private static boolean plainSegment(String t, int from, int to, boolean last) {
        int len = to - from;
        if (len == 0) {
            return last;
        }
        return !(t.charAt(from) == '.' && (len == 1 || len == 2 && t.charAt(from + 1) == '.'));
    }

    /** The normal form, step by step (any target the fast path does not take). */
    static Target normalizeSlowly(String target, String method) {
        if (target.equals("*")) {
            return "OPTIONS".equals(method) ? new Target("*", null) : new Target(null, "'*' is a request target only for OPTIONS");
        }
        String t = target;
        int colon = t.indexOf("://");
        if (colon > 0 && (t.regionMatches(true, 0, "http://", 0, 7) || t.regionMatches(true, 0, "https://", 0, 8))) {
            int slash = t.indexOf('/', colon + 3);
            int query = t.indexOf('?', colon + 3);
            int end = slash < 0 ? query : query < 0 ? slash : Math.min(slash, query);
            if (end == colon + 3 || colon + 3 == t.length()) {
                return new Target(null, "an absolute request target needs a host");
            }
            t = end < 0 ? "/" : t.charAt(end) == '?' ? "/" + t.substring(end) : t.substring(end);
        }
        if (t.isEmpty() || t.charAt(0) != '/') {
            return new Target(null, "a request target must be a path starting with '/' (origin form) or an http(s) URL");
        }
        if (t.indexOf('#') >= 0) {
            return new Target(null, "a request target has no fragment ('#')");
        }
        int q = t.indexOf('?');
        String path = q < 0 ? t : t.substring(0, q);
        String query = q < 0 ? null : t.substring(q + 1);
        StringBuilder out = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == ';') {
                return new Target(null, "';' (matrix parameters) is not accepted in a request path");
            }
            if (c == '\\') {
                return new Target(null, "a backslash is not accepted in a request path (some servers read it as '/')");
            }
            if (c != '%') {
                out.append(c);
                continue;
            }
            int v = escape(path, i);
            if (v < 0) {
                return new Target(null, "malformed percent-encoding in the request path");
            }
            i += 2;
            if (unreserved(v)) {
                out.append((char) v);
            } else if (v == '/' || v == '\\' || v == '%' || v == '?' || v == '#' || v == ';' || v < 0x20 || v == 0x7f) {
                // each would mean something else to a server that decodes before it splits the target
                return new Target(null, "an encoded '/', '\\', '%', '?', '#', ';' or control character is not accepted in a request path");
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(v >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(v & 15, 16)));
            }
        }
        String normal = out.toString();
        String[] segments = normal.substring(1).split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String seg = segments[i];
            if (seg.equals(".") || seg.equals("..")) {
                return new Target(null, "dot segments ('.', '..') are not accepted in a request path");
            }
            if (seg.isEmpty() && i < segments.length - 1) {
                return new Target(null, "empty segments ('//') are not accepted in a request path");
            }
        }
        if (query != null) {
            for (int i = query.indexOf('%'); i >= 0; i = query.indexOf('%', i + 1)) {
                if (escape(query, i) < 0) {
                    return new Target(null, "malformed percent-encoding in the query");
                }
            }
        }
        return new Target(query == null ? normal : normal + "?" + query, null);
    }

    /** The byte a %XY escape at {@code i} stands for, or -1 when it is not one. */
    private static int escape(String s, int i) {
        if (i + 2 >= s.length()) {
            return -1;
        }
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
    }

    private static boolean unreserved(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /** A request target without its query. */
    static String pathOf(String target) {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /** Copies bytes [index, index + length) of {@code b} to {@code out}, no further than {@code out} holding {@code max}. */
    static void copyInto(java.io.ByteArrayOutputStream out, ByteBuf b, int index, int length, int max) {
        int take = Math.min(length, max - out.size());
        if (take > 0) {
            try {
                b.getBytes(index, out, take);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not throw
            }
        }
    }

    static void ascii(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.ISO_8859_1);
    }

    /** A whole answer: status line, Content-Type, Content-Length, the extra header lines given (each ending CRLF), body. */
    static ByteBuf response(ByteBufAllocator alloc, int status, String contentType, byte[] body, String extraHeaderLines, boolean close) {
        ByteBuf out = alloc.ioBuffer(128 + body.length);
        ascii(out, "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
                + body.length + "\r\n" + (extraHeaderLines == null ? "" : extraHeaderLines) + (close ? "Connection: close\r\n" : "") + "\r\n");
        out.writeBytes(body);
        return out;
    }

    static String reason(int status) {
        return io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase();
    }

    /**
     * Follows a chunked body (RFC 9112 §7.1) to find where it ends; optionally hands out the data bytes (the chunk
     * framing removed) for callers that want the body itself.
     */
    static final class Chunks {
        interface Data {
            void data(ByteBuf buf, int index, int length);
        }

        private enum State { SIZE, EXT, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER_START, TRAILER_LINE, TRAILER_LF, LAST_LF, DONE }

        private static final int MAX_FRAMING_LINE = 4096;
        private State state = State.SIZE;
        private long remaining;
        private int sizeDigits;
        /** Bytes of the chunk extension or trailer line being read. */
        private int lineBytes;
        String error;

        /**
         * Reads bytes [from, to) of {@code buf}. Returns the index just past the body's end, or -1 when the body
         * goes on (all bytes consumed), or -2 on malformed framing ({@link #error}).
         */
        int feed(ByteBuf buf, int from, int to, Data sink) {
            int i = from;
            while (i < to) {
                switch (state) {
                    case DATA -> {
                        int n = (int) Math.min(remaining, to - i);
                        if (sink != null) {
                            sink.data(buf, i, n);
                        }
                        remaining -= n;
                        i += n;
                        if (remaining == 0) {
                            state = State.DATA_CR;
                        }
                        continue;
                    }
                    default -> {
                    }
                }
                byte c = buf.getByte(i++);
                switch (state) {
                    case SIZE -> {
                        int d = Character.digit(c, 16);
                        if (d >= 0 && sizeDigits < 15) {
                            remaining = remaining * 16 + d;
                            sizeDigits++;
                        } else if (sizeDigits > 0 && (c == ';' || c == ' ' || c == '\t')) {
                            state = State.EXT;
                        } else if (sizeDigits > 0 && c == CR) {
                            state = State.SIZE_LF;
                        } else {
                            return bad("malformed chunk size");
                        }
                    }
                    case EXT -> {
                        if (c == CR) {
                            state = State.SIZE_LF;
                        } else if (c == LF) {
                            return bad("chunk line without CR");
                        } else if (c == 0 || ++lineBytes > MAX_FRAMING_LINE) {
                            return bad(c == 0 ? "NUL in a chunk extension" : "chunk extension longer than " + MAX_FRAMING_LINE + " bytes");
                        }
                    }
                    case SIZE_LF -> {
                        if (c != LF) {
                            return bad("chunk line without LF");
                        }
                        sizeDigits = 0;
                        lineBytes = 0;
                        state = remaining == 0 ? State.TRAILER_START : State.DATA;
                    }
                    case DATA_CR -> {
                        if (c != CR) {
                            return bad("chunk data longer than its size");
                        }
                        state = State.DATA_LF;
                    }
                    case DATA_LF -> {
                        if (c != LF) {
                            return bad("chunk data not followed by CRLF");
                        }
                        state = State.SIZE;
                    }
                    case TRAILER_START -> {
                        if (c == 0 || c == LF) {
                            return bad(c == 0 ? "NUL in a trailer" : "trailer line without CR");
                        }
                        lineBytes = 0;
                        state = c == CR ? State.LAST_LF : State.TRAILER_LINE;
                    }
                    case TRAILER_LINE -> {
                        if (c == CR) {
                            state = State.TRAILER_LF;
                        } else if (c == 0 || c == LF || ++lineBytes > MAX_FRAMING_LINE) {
                            return bad(c == 0 ? "NUL in a trailer" : c == LF ? "trailer line without CR"
                                    : "trailer line longer than " + MAX_FRAMING_LINE + " bytes");
                        }
                    }
                    case TRAILER_LF -> {
                        if (c != LF) {
                            return bad("trailer line without LF");
                        }
                        state = State.TRAILER_START;
                    }
                    case LAST_LF -> {
                        if (c != LF) {
                            return bad("chunked body not ended by CRLF");
                        }
                        state = State.DONE;
                        return i;
                    }
                    default -> {
                        return bad("bytes after the end of a chunked body");
                    }
                }
            }
            return -1;
        }

        private int bad(String why) {
            error = why;
            return -2;
        }
    }
}
