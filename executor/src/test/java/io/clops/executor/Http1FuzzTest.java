package io.clops.executor;

import io.clops.testing.Fuzz;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes what the executor reads from a client (request heads, chunked framing, infer bodies) with a mutational
 * fuzzer ({@link Fuzz}; 5 s here, {@code bench/fuzz.sh} for longer). Invariants: nothing throws; a refusal has an
 * HTTP/1 status; an accepted target is in its normal form; and no spelling of a path that a lax server would route
 * to an infer call escapes the shape check (no unchecked request reaches a model).
 */
class Http1FuzzTest {
    static final ShapeValidator IRIS = ShapeValidator.fromJson("[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]", 1 << 20);
    static final Pattern INFER_ROUTE = Pattern.compile("/v2/models/[^/]+(/versions/[^/]+)?/infer");
    static final Set<Integer> REFUSALS = Set.of(400, 413, 414, 417, 431, 501, 505);

    static final List<String> DICTIONARY = List.of("%", "%2f", "%2F", "%2e", "%69", "%25", "%00", "../", "./", "//", ";", "#", "?",
            "\r\n", "\n", "\r\n\r\n", " HTTP/1.1", " HTTP/1.0", "http://h", "Host: x\r\n", "Transfer-Encoding: chunked\r\n",
            "Content-Length: 4\r\n", "Content-Length: 99999999999999999999\r\n", "Expect: 100-continue\r\n", "Connection: close\r\n",
            "0\r\n\r\n", "5;a=b\r\n", "POST ", "GET ", "/v2/models/iris/infer", "infer", "\"data\":", "1e999", "\u0000");

    @Test
    void requestsFromHostileClients() {
        String body = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";
        Fuzz.run("executor-http1", Fuzz.corpus(Http1FuzzTest.class, "executor-http1",
                "POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
                "POST /v2/models/iris/%69nfer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"inp\r\n0\r\n\r\n",
                "GET http://127.0.0.1/v2/health/live HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.0\r\n\r\n"), DICTIONARY, Http1FuzzTest::serve);
    }

    /** Reads requests the way the executor's connection does, checking the invariants on each. */
    static void serve(byte[] input) {
        ByteBuf in = Unpooled.wrappedBuffer(input);
        try {
            for (int n = 0; n < 16 && in.isReadable(); n++) {
                Http1.Head h = Http1.read(in, true);
                if (h == null) {
                    return;
                }
                if (h.error != 0) {
                    assertThat(REFUSALS).as("refused with %d: %s", h.error, h.why).contains(h.error);
                    return;
                }
                Http1.Target again = Http1.normalize(h.target, h.method);
                assertThat(Http1.normalizeSlowly(h.target, h.method)).as("the fast path agrees with the slow one").isEqualTo(again);
                assertThat(again.normalized()).as("the normal form is normal").isEqualTo(h.target);
                if ("POST".equals(h.method) && INFER_ROUTE.matcher(laxRoute(h.target)).matches()) {
                    assertThat(IRIS.appliesTo(h.method, Http1.pathOf(h.target))).as("a lax server routes '%s' to infer: it must be checked",
                            h.target).isTrue();
                }
                if (h.chunked) {
                    int end = new Http1.Chunks().feed(in, in.readerIndex(), in.writerIndex(), null);
                    if (end < 0) {
                        return;
                    }
                    in.readerIndex(end);
                } else if (h.contentLength > 0) {
                    int take = (int) Math.min(h.contentLength, in.readableBytes());
                    byte[] b = new byte[take];
                    in.readBytes(b);
                    IRIS.check(b); // never throws, whatever the body
                }
            }
        } finally {
            in.release();
        }
    }

    /**
     * Where a lax HTTP server would route a target: every escape decoded (three times over), the query, fragment and
     * matrix parameters dropped, empty and dot segments resolved, a trailing slash ignored.
     */
    static String laxRoute(String target) {
        String t = target;
        for (int i = 0; i < 3; i++) {
            try {
                t = URLDecoder.decode(t.replace("+", "%2B"), StandardCharsets.ISO_8859_1);
            } catch (IllegalArgumentException e) {
                break;
            }
        }
        int cut = t.length();
        for (char c : new char[]{'?', '#'}) {
            int i = t.indexOf(c);
            if (i >= 0) {
                cut = Math.min(cut, i);
            }
        }
        t = t.substring(0, cut).replace('\\', '/');
        Deque<String> segments = new ArrayDeque<>();
        for (String seg : t.split("/")) {
            int semi = seg.indexOf(';');
            String s = semi >= 0 ? seg.substring(0, semi) : seg;
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                segments.pollLast();
            } else {
                segments.add(s);
            }
        }
        return "/" + String.join("/", segments);
    }
}
