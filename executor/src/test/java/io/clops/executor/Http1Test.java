package io.clops.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/1.1 heads as {@link Http1} reads them: one normal form of the target, and RFC 9112's rules kept. */
class Http1Test {

    static Http1.Head head(String text) {
        ByteBuf in = Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1);
        try {
            return Http1.read(in, true);
        } finally {
            in.release();
        }
    }

    static String target(String target) {
        Http1.Target t = Http1.normalize(target, "POST");
        return t.problem() == null ? t.normalized() : "refused: " + t.problem();
    }

    @Test
    void everySpellingOfAPathReachesOneNormalForm() {
        assertThat(target("/v2/models/iris/infer")).isEqualTo("/v2/models/iris/infer");
        assertThat(target("/v2/models/iris/%69nfer")).isEqualTo("/v2/models/iris/infer");
        assertThat(target("/v2/models/%69%72%69%73/infer?x=%2f")).isEqualTo("/v2/models/iris/infer?x=%2f");
        assertThat(target("http://127.0.0.1/v2/models/iris/infer")).isEqualTo("/v2/models/iris/infer");
        assertThat(target("HTTPS://model.example:8443/v2/models/iris/infer?a=1")).isEqualTo("/v2/models/iris/infer?a=1");
        assertThat(target("http://host?q")).isEqualTo("/?q");
        assertThat(target("/a%20b/%7euser")).isEqualTo("/a%20b/~user");
        assertThat(target("/predict/")).as("a trailing slash stays").isEqualTo("/predict/");
    }

    @Test
    void targetsThatCouldMeanAnotherPathAreRefused() {
        assertThat(target("/v2/models/iris/infer#x")).startsWith("refused: a request target has no fragment");
        assertThat(target("/v2/models/iris/%2e%2e/other/infer")).startsWith("refused: dot segments");
        assertThat(target("/v2/models/./iris/infer")).startsWith("refused: dot segments");
        assertThat(target("/v2/models/iris/infer/..")).startsWith("refused: dot segments");
        assertThat(target("/v2/models/iris%2Finfer")).startsWith("refused: an encoded");
        assertThat(target("/v2/models/iris%5cinfer")).startsWith("refused: an encoded");
        assertThat(target("/v2/models/iris/%2569nfer")).startsWith("refused: an encoded");
        assertThat(target("/v2/models/iris/%00")).startsWith("refused: an encoded");
        assertThat(target("/v2/models/iris/%zz")).startsWith("refused: malformed percent-encoding");
        assertThat(target("/v2/models/iris/%6")).startsWith("refused: malformed percent-encoding");
        assertThat(target("/v2//models/iris/infer")).startsWith("refused: empty segments");
        assertThat(target("/v2/models/iris/infer;jsessionid=1")).startsWith("refused: ';'");
        assertThat(target("v2/models/iris/infer")).startsWith("refused: a request target must be a path");
        assertThat(target("http:///v2")).startsWith("refused: an absolute request target needs a host");
        assertThat(target("*")).startsWith("refused: '*'");
        assertThat(Http1.normalize("*", "OPTIONS").normalized()).isEqualTo("*");
    }

    @Test
    void theHeadCarriesTheNormalTarget() {
        Http1.Head h = head("POST http://127.0.0.1/v2/models/iris/%69nfer HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assertThat(h.error).isZero();
        assertThat(h.target).isEqualTo("/v2/models/iris/infer");
        assertThat(head("GET /v2/models/iris/infer#x HTTP/1.1\r\nHost: x\r\n\r\n").error).isEqualTo(400);
    }

    @Test
    void hostExactlyOnceOnHttp11() {
        assertThat(head("GET / HTTP/1.1\r\n\r\n").why).isEqualTo("an HTTP/1.1 request needs a Host header");
        assertThat(head("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").why).isEqualTo("Host is given more than once");
        assertThat(head("GET / HTTP/1.0\r\n\r\n").error).as("HTTP/1.0 may omit it").isZero();
        assertThat(head("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n").error).isEqualTo(400);
    }

    @Test
    void oneTransferCodingAndNoNulInTheFraming() {
        assertThat(head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").why)
                .isEqualTo("Transfer-Encoding is given more than once");
        Http1.Chunks chunks = new Http1.Chunks();
        ByteBuf body = Unpooled.copiedBuffer("5;ext=a\u0000b\r\nhello\r\n0\r\n\r\n", StandardCharsets.ISO_8859_1);
        assertThat(chunks.feed(body, 0, body.writerIndex(), null)).isEqualTo(-2);
        assertThat(chunks.error).isEqualTo("NUL in a chunk extension");
        Http1.Chunks trailer = new Http1.Chunks();
        ByteBuf t = Unpooled.copiedBuffer("0\r\nX-T: a\u0000\r\n\r\n", StandardCharsets.ISO_8859_1);
        assertThat(trailer.feed(t, 0, t.writerIndex(), null)).isEqualTo(-2);
        assertThat(trailer.error).isEqualTo("NUL in a trailer");
        Http1.Chunks fine = new Http1.Chunks();
        ByteBuf ok = Unpooled.copiedBuffer("5;ext=ab\r\nhello\r\n0\r\n\r\n", StandardCharsets.ISO_8859_1);
        assertThat(fine.feed(ok, 0, ok.writerIndex(), null)).isEqualTo(ok.writerIndex());
        body.release();
        t.release();
        ok.release();
    }

    @Test
    void whatCannotBeHttpIsRefusedBeforeTheHeadIsWhole() {
        assertThat(head("\u0016\u0003\u0001\u0002\u0000\u0001").why).as("a TLS ClientHello").isEqualTo("not an HTTP/1.x request");
        assertThat(head("GET /\r\n").error).as("an HTTP/0.9 line").isIn(400, 505);
        assertThat(head("GET / HTTP/2.0\r\nHost").error).isEqualTo(505);
        assertThat(head("GET /a#b HTTP/1.1\r\nHo").error).isEqualTo(400);
        assertThat(head("GE")).as("may still become a request").isNull();
        assertThat(head("GET /v2/models/iris/infer HTTP/1.1\r\nHost: a\r\n")).as("a good line, the head to come").isNull();
        assertThat(head("GET /" + "a".repeat(Http1.MAX_TARGET + 100)).error).isEqualTo(414);
    }

    @Test
    void theFastPathTakesOnlyTargetsTheSlowOneLeavesAsTheyAre() {
        String alphabet = "/ab.%2F?#;\\:@!$&'()*+,=~-_ \u00e9\u0000";
        java.util.Random random = new java.util.Random(7);
        int plain = 0;
        for (int round = 0; round < 300_000; round++) {
            StringBuilder b = new StringBuilder("/");
            for (int n = random.nextInt(12); n > 0; n--) {
                b.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String t = b.toString();
            if (Http1.plain(t)) {
                plain++;
                assertThat(Http1.normalizeSlowly(t, "GET")).as(t).isEqualTo(new Http1.Target(t, null));
            }
            assertThat(Http1.normalize(t, "GET")).as(t).isEqualTo(Http1.normalizeSlowly(t, "GET"));
        }
        assertThat(plain).as("the fast path is taken at all").isGreaterThan(1000);
    }
}
