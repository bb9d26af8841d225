package io.clops.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP/1.1 connection state machine on its own: no sockets, no model. Netty's EmbeddedChannel feeds it bytes as
 * a client would send them, in whatever pieces, and runs its timers on a clock the test moves; a recording subclass
 * answers each request it is handed.
 */
class Http1ConnectionTest {
    record Served(String method, String target, String body, boolean streamed) {
    }

    static final ExecutorConfig CONFIG = ExecutorConfig.single(0, "http://127.0.0.1:1", "iris", "p", "d", "sync", null, 5000, 1024)
            .withClient(new ExecutorConfig.ClientLimits(60_000, 2_000, 100));

    /** Answers nothing by itself: the test calls {@link #answer} when it wants the next request read. */
    static final class Recorder extends Http1Connection {
        final List<Served> served = new ArrayList<>();
        boolean streamAllowed = true;

        Recorder() {
            this(CONFIG);
        }

        Recorder(ExecutorConfig config) {
            super(config, new Metrics());
        }

        @Override
        protected void serve(Http1.Head h, ByteBuf body) {
            served.add(new Served(h.method, h.target, body.toString(StandardCharsets.UTF_8), false));
            body.release();
        }

        @Override
        protected void stream(Http1.Head h) {
            served.add(new Served(h.method, h.target, "", true));
            in.skipBytes(in.readableBytes());
        }

        @Override
        protected boolean mayStream(Http1.Head h) {
            return streamAllowed;
        }

        void answer(boolean keepAlive) {
            respond(200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), null, keepAlive);
        }
    }

    final Recorder conn = new Recorder();
    final EmbeddedChannel channel = new EmbeddedChannel(conn);

    Http1ConnectionTest() {
        channel.freezeTime();
    }

    void send(String bytes) {
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
    }

    /** Everything written to the client so far. */
    String written() {
        StringBuilder out = new StringBuilder();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    @Test
    void pipelinedRequestsAreServedOneAtATimeInOrder() {
        send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(conn.served).extracting(Served::target).containsExactly("/a");
        conn.answer(true);
        assertThat(conn.served).extracting(Served::target).containsExactly("/a", "/b");
        assertThat(written()).startsWith("HTTP/1.1 200");
        conn.answer(true);
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void aBodyInPiecesIsServedWholeOnce() {
        send("POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Le");
        send("ngth: 10\r\n\r\n0123");
        assertThat(conn.served).isEmpty();
        send("456789");
        assertThat(conn.served).containsExactly(new Served("POST", "/v2/models/iris/infer", "0123456789", false));
    }

    @Test
    void aChunkedBodyIsServedWithoutItsFraming() {
        conn.streamAllowed = false; // else a chunked body not all here is streamed (next test)
        send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n wor");
        assertThat(conn.served).isEmpty();
        send("ld\r\n0\r\n\r\n");
        assertThat(conn.served).extracting(Served::body).containsExactly("hello world");
    }

    @Test
    void brokenFramingIsAnsweredWithItsReasonAndTheConnectionEnds() {
        send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        String out = written();
        assertThat(out).startsWith("HTTP/1.1 400").contains("\"error\"").containsIgnoringCase("transfer-encoding");
        assertThat(conn.served).isEmpty();
        channel.runPendingTasks();
        assertThat(channel.isOpen()).as("what follows a broken request cannot be trusted").isFalse();
    }

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItArrives() {
        send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
        assertThat(written()).startsWith("HTTP/1.1 413").contains("larger than 1024 bytes");
        assertThat(conn.served).isEmpty();
    }

    @Test
    void expectContinueIsAnsweredBeforeTheBodyIsSent() {
        send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        assertThat(written()).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
        send("abc");
        assertThat(conn.served).extracting(Served::body).containsExactly("abc");
        assertThat(written()).as("continued once").isEmpty();
    }

    @Test
    void aHeadTricklingInIsCutAtItsDeadlineHoweverOftenBytesCome() {
        send("GET /slow HTTP/1.1\r\n");
        for (int i = 0; i < 19; i++) {
            channel.advanceTimeBy(100, TimeUnit.MILLISECONDS);
            send("X-Drip-" + i + ": 1\r\n");
            channel.runScheduledPendingTasks();
        }
        assertThat(written()).as("1.9 s in: still within the 2 s").isEmpty();
        channel.advanceTimeBy(150, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertThat(written()).startsWith("HTTP/1.1 408").contains("did not arrive within 2000 ms");
        assertThat(conn.served).isEmpty();
    }

    @Test
    void aBodySlowerThanTheMinimumRateIsCut() {
        send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
        for (int s = 1; s <= 3; s++) { // 10 bytes a second, against a minimum of 100 once 2 s have passed
            send("0123456789");
            channel.advanceTimeBy(1, TimeUnit.SECONDS);
            channel.runScheduledPendingTasks();
        }
        assertThat(written()).startsWith("HTTP/1.1 408").contains("slower than 100 bytes per second");
        assertThat(conn.served).isEmpty();
    }

    @Test
    void aLargeBodyNotYetHereIsStreamedWhenTheServerLetsIt() {
        String head = "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + (Http1Connection.STREAM_MIN + 1) + "\r\n\r\n";
        ExecutorConfig roomy = ExecutorConfig.single(0, "http://127.0.0.1:1", "iris", "p", "d", "sync", null, 5000, 1 << 20);
        Recorder wide = new Recorder(roomy);
        EmbeddedChannel big = new EmbeddedChannel(wide);
        wide.streamAllowed = false;
        big.writeInbound(Unpooled.copiedBuffer(head + "x".repeat(100), StandardCharsets.ISO_8859_1));
        assertThat(wide.served).as("held until whole: the server needs it so").isEmpty();

        Recorder streaming = new Recorder(roomy);
        EmbeddedChannel ch = new EmbeddedChannel(streaming);
        ch.writeInbound(Unpooled.copiedBuffer(head + "x".repeat(100), StandardCharsets.ISO_8859_1));
        assertThat(streaming.served).containsExactly(new Served("POST", "/big", "", true));

        Recorder chunked = new Recorder(roomy);
        EmbeddedChannel c = new EmbeddedChannel(chunked);
        c.writeInbound(Unpooled.copiedBuffer("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                StandardCharsets.ISO_8859_1));
        assertThat(chunked.served).as("a chunked body not all here: its size is unknown").containsExactly(new Served("POST", "/up", "", true));
    }
}
