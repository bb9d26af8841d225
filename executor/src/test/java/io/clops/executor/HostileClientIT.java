package io.clops.executor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The executor tried as a hostile client would, over raw sockets, against a recording model: the check cannot be
 * passed around by spelling the path otherwise, invalid tensors and broken framing never reach the model, and clients
 * too slow to send a head or a body are cut at their deadlines while good requests go on being served.
 */
class HostileClientIT {
    static final String IRIS_INPUTS = "[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]";
    static final String GOOD = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[5.1,3.5,1.4,0.2]}]}";
    static final String FP64 = GOOD.replace("FP32", "FP64");

    ProxyBehaviourIT.RawModel model;
    ExecutorMain executor;

    @AfterEach
    void stop() throws IOException {
        if (executor != null) {
            executor.close();
        }
        if (model != null) {
            model.close();
        }
    }

    void start(ExecutorConfig.ClientLimits limits) throws IOException {
        model = new ProxyBehaviourIT.RawModel((head, out) -> {
            try {
                out.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        ExecutorConfig c = ExecutorConfig.single(0, "http://127.0.0.1:" + model.port(), "iris", "hostile", "iris", "sync", null, 2000, 1 << 20);
        executor = new ExecutorMain(new ExecutorConfig(c.port(), c.routes(), c.shadow(), c.modelName(), c.protocol(), c.project(),
                c.deployment(), c.mode(), c.bootstrap(), c.timeoutMs(), c.maxBodyBytes(), c.asyncConcurrency(), c.rateLimitRps(),
                IRIS_INPUTS, false, 1.0, 4096, null, "127.0.0.1", 0, null, limits, null));
    }

    Socket client() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), executor.port());
        s.setSoTimeout(15_000);
        return s;
    }

    /** Sends bytes, reads the answer until the executor closes or one Content-Length answer is whole. */
    String exchange(String raw) throws IOException {
        try (Socket s = client()) {
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return readAnswer(s.getInputStream());
        }
    }

    static String readAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[4096];
        int n;
        while ((n = in.read(b)) > 0) {
            buf.write(b, 0, n);
            String text = buf.toString(StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            if (end > 0) {
                int cl = text.toLowerCase().indexOf("content-length: ");
                if (cl > 0 && cl < end) {
                    int len = Integer.parseInt(text.substring(cl + 16, text.indexOf("\r\n", cl)).trim());
                    if (buf.size() >= end + 4 + len) {
                        break;
                    }
                }
            }
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    static String post(String target, String body, String... headers) {
        StringBuilder h = new StringBuilder("POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (String x : headers) {
            h.append(x).append("\r\n");
        }
        byte[] utf8 = body.getBytes(StandardCharsets.UTF_8);
        return h + "Content-Length: " + utf8.length + "\r\n\r\n" + new String(utf8, StandardCharsets.ISO_8859_1); // sent as these bytes
    }

    static int status(String answer) {
        return Integer.parseInt(answer.substring(9, 12));
    }

    @Test
    void theCheckCannotBeBypassedByAnotherSpellingOfThePath() throws Exception {
        start(ExecutorConfig.ClientLimits.DEFAULT);
        assertThat(status(exchange(post("/v2/models/iris/infer", FP64)))).as("the check itself").isEqualTo(400);
        assertThat(status(exchange(post("/v2/models/iris/%69nfer", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("http://127.0.0.1/v2/models/iris/infer", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("/v2/models/iris/infer#x", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("/v2/models/iris/infer/", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("/v2/models/iris/./infer", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("/v2//models/iris/infer", FP64)))).isEqualTo(400);
        assertThat(status(exchange(post("/v2/models/iris/infer;x", FP64)))).isEqualTo(400);
        assertThat(model.heads).as("nothing reached the model").isEmpty();
        assertThat(status(exchange(post("/v2/models/iris/%69nfer", GOOD)))).isEqualTo(200);
        assertThat(model.heads).singleElement().satisfies(h -> assertThat(h).startsWith("POST /v2/models/iris/infer HTTP/1.1\r\n"));
    }

    @Test
    void invalidTensorsAndBodiesNeverReachTheModel() throws Exception {
        start(ExecutorConfig.ClientLimits.DEFAULT);
        List<String> bad = List.of(
                GOOD.replace("[5.1,3.5,1.4,0.2]", "[\"5.1\",3.5,1.4,0.2]"),
                GOOD.replace("[5.1,3.5,1.4,0.2]", "[true,3.5,1.4,0.2]"),
                GOOD.replace("[5.1,3.5,1.4,0.2]", "[null,3.5,1.4,0.2]"),
                GOOD.replace("[5.1,3.5,1.4,0.2]", "[{},3.5,1.4,0.2]"),
                GOOD.replace("[5.1,3.5,1.4,0.2]", "[1e999,3.5,1.4,0.2]"),
                GOOD.replace(",\"data\":[5.1,3.5,1.4,0.2]", ""),
                GOOD.replace("[1,4]", "[\"1\",\"4\"]"),
                GOOD.replace("[1,4]", "[1.9,4.2]"),
                GOOD.replace("[1,4]", "[4611686018427387905,4]"),
                GOOD + "garbage",
                "\uFEFF" + GOOD);
        for (String body : bad) {
            String answer = exchange(post("/v2/models/iris/infer", body));
            assertThat(status(answer)).as(body).isEqualTo(400);
        }
        byte[] utf16 = GOOD.getBytes(StandardCharsets.UTF_16);
        try (Socket s = client()) {
            s.getOutputStream().write(("POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " + utf16.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(utf16);
            assertThat(status(readAnswer(s.getInputStream()))).isEqualTo(400);
        }
        assertThat(model.heads).as("nothing reached the model").isEmpty();
    }

    @Test
    void theFramingRulesOfHttp11AreKept() throws Exception {
        start(ExecutorConfig.ClientLimits.DEFAULT);
        assertThat(status(exchange("GET /v2/health/live HTTP/1.1\r\nConnection: close\r\n\r\n"))).as("no Host").isEqualTo(400);
        assertThat(status(exchange("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"))).as("two Hosts").isEqualTo(400);
        assertThat(status(exchange("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nhi\r\n0\r\n\r\n"))).isEqualTo(400);
        assertThat(status(exchange("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;e=\u0000\r\nhi\r\n0\r\n\r\n")))
                .isEqualTo(400);
        assertThat(status(exchange("GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"))).isEqualTo(414);
        assertThat(status(exchange("GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: " + "p".repeat(20_000) + "\r\n\r\n"))).isEqualTo(431);
        assertThat(model.heads).as("nothing reached the model").isEmpty();
    }

    @Test
    void whatCannotBeHttpIsAnsweredAtOnceNotAfterATimeout() throws Exception {
        start(new ExecutorConfig.ClientLimits(60_000, 60_000, 4096));
        for (byte[] garbage : List.of(new byte[]{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03},
                "GET /\r\n".getBytes(StandardCharsets.ISO_8859_1))) {
            try (Socket s = client()) {
                s.setSoTimeout(5_000); // far below the 60 s limits: only an answer at once passes
                s.getOutputStream().write(garbage);
                s.getOutputStream().flush();
                assertThat(status(readAnswer(s.getInputStream()))).isIn(400, 505);
            }
        }
    }

    @Test
    void fortyClientsDrippingAByteASecondAreAllCutAtTheHeadDeadlineWhileGoodRequestsAreServed() throws Exception {
        int headerMs = 3_000;
        start(new ExecutorConfig.ClientLimits(60_000, headerMs, 4096));
        String head = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + "s".repeat(40) + "\r\n\r\n";
        ExecutorService pool = Executors.newFixedThreadPool(40);
        try {
            long t0 = System.nanoTime();
            List<Future<Long>> drips = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                drips.add(pool.submit(() -> {
                    try (Socket s = client()) {
                        OutputStream out = s.getOutputStream();
                        InputStream in = s.getInputStream();
                        s.setSoTimeout(1_000);
                        for (int k = 0; k < head.length(); k++) {
                            try {
                                out.write(head.charAt(k));
                                out.flush();
                            } catch (IOException closed) {
                                break; // cut while dripping
                            }
                            try {
                                in.read(); // a second's wait between bytes, unless the executor answers or closes
                                break;
                            } catch (SocketTimeoutException stillOpen) {
                                // no answer yet: drip on
                            }
                        }
                        return (System.nanoTime() - t0) / 1_000_000;
                    }
                }));
            }
            // while they drip, a good client is answered at once, again and again
            for (int i = 0; i < 5; i++) {
                assertThat(status(exchange("GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).isEqualTo(200);
            }
            for (Future<Long> d : drips) {
                long cutAt = d.get();
                assertThat(cutAt).as("cut at the head deadline, not before").isGreaterThanOrEqualTo(headerMs - 50);
                assertThat(cutAt).as("cut at the head deadline (%d ms; a dripped head would take %d s)", headerMs, head.length())
                        .isLessThan(headerMs + 5_000);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aBodyTrickledSlowerThanTheMinimumRateIsCut() throws Exception {
        start(new ExecutorConfig.ClientLimits(60_000, 1_000, 1_000));
        try (Socket s = client()) {
            s.getOutputStream().write(("POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.setSoTimeout(500);
            String answer = null;
            for (int i = 0; i < 20 && answer == null; i++) { // 10 bytes every half second: 20 bytes/s, far under 1,000
                try {
                    s.getOutputStream().write("0123456789".getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException cut) {
                    break;
                }
                try {
                    answer = readAnswer(s.getInputStream());
                } catch (SocketTimeoutException notYet) {
                    // drip on
                }
            }
            assertThat(answer).as("answered before 10 s of dripping").isNotNull();
            assertThat(status(answer)).isEqualTo(408);
        }
        assertThat(model.heads).isEmpty();
    }
}
