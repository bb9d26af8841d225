package io.clops.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The server side of one HTTP/1.1 connection, as a state machine over the bytes a client sends: reading a request
 * head ({@link Http1#read}, strict), then its body (Content-Length, or chunked and checked as it comes), answering
 * {@code Expect: 100-continue}, holding pipelined requests until the one before is answered, and ending the
 * connection honestly (a lingering close after an error, so the client reads its answer before a reset could take it).
 * Its deadlines: a whole head within {@code client.headerMs} of its first byte, a body at {@code client.bodyMinRate}
 * on average, silence at most {@code clientIdleMs} (a client that stops reading its answer included); each refusal
 * is an answer with its reason ({@link ErrorBody}), counted in the metrics.
 * <p>
 * What a request is for is not its business: a whole request goes to {@link #serve}, one whose body is better
 * streamed (large, not all here, {@link #mayStream}) to {@link #stream}, and the subclass answers with
 * {@link #respond} (or by streaming, with {@link #current} set) and so hands the connection back ({@link #next}). All
 * its state is touched on the connection's event loop only.
 */
abstract class Http1Connection extends ChannelInboundHandlerAdapter {
    static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** Request bodies larger than this (with a Content-Length) are streamed, not held whole first. */
    static final int STREAM_MIN = 64 * 1024;
    /** How long a closing connection drains what the client still sends. */
    static final long LINGER_MS = 2000;

    /**
     * An exchange whose request body or answer is streaming: what the connection's reads, deadlines and close need
     * from it.
     */
    interface Streaming {
        /** Bytes of the request body still to come from the client (Long.MAX_VALUE: chunked, until its end). */
        long bodyLeft();

        /** Since when the answer waits for the client to read (System.nanoTime), 0 while it does not. */
        long pausedSince();

        /** More of the body has arrived (in {@link #in}): pass it on. */
        void forward();

        /** The client stopped sending its body or reading its answer: end it, counted as 408. */
        void clientStalled();

        void clientWritable(boolean writable);

        /** The client left before the exchange was over. */
        void clientGone();
    }

    protected final ExecutorConfig config;
    protected final Metrics metrics;

    Http1Connection(ExecutorConfig config, Metrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    /** A whole request (its body null-free: empty when it has none); the connection is busy until {@link #next}. */
    protected abstract void serve(Http1.Head h, ByteBuf body);

    /** A request whose body streams: what has arrived of it is in {@link #in}, {@link #streamChunks} framing a chunked one. */
    protected abstract void stream(Http1.Head h);

    /** Whether this request may be streamed (nothing needs its body whole). */
    protected abstract boolean mayStream(Http1.Head h);

    protected ChannelHandlerContext ctx;
    protected ByteBuf in;
    private Http1.Head head;
    private Http1.Chunks chunks;
    private ByteBuf chunkedBody;
    private boolean continued;
    protected boolean busy;
    protected boolean closing;
    /** The exchange in progress when its body or answer is streaming, else null. */
    protected Streaming current;
    /** A chunked body found streamable: its framing read so far, and its data bytes. */
    protected Http1.Chunks streamChunks;
    protected long streamData;
    /** When the client last sent bytes (System.nanoTime). */
    private long lastRead;
    /** The pending idle check, and the closes a lingering close has scheduled: cancelled with the connection. */
    private ScheduledFuture<?> idleTask;
    private ScheduledFuture<?> lingerTask;
    private ScheduledFuture<?> backstopTask;
    /** The request being answered left (part of) its body unread. */
    protected boolean bodyUnread;
    /** Bytes the client has sent on this connection. */
    private long received;
    /** When the head being read began to arrive (System.nanoTime), 0 when none is; its deadline's task. */
    private long headStartedAt;
    private ScheduledFuture<?> headTask;
    /** A body being read (buffered or streamed): bytes received when it began, time it was being read, its check. */
    private long bodyFrom;
    private long bodyActiveNanos;
    private ScheduledFuture<?> bodyTask;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        lastRead = System.nanoTime();
        idleTask = ctx.executor().schedule(this::checkIdle, config.clientIdleMs(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    /**
     * A client may stay silent at most clientIdleMs: mid-request it gets 408 (a stalled streamed upload: the
     * connection is cut, the model's too), between requests its keep-alive connection ends; one that stops
     * reading its answer for as long is cut too. While the model is working, silence is expected (the model's own
     * timeout applies). One check per connection, rescheduled.
     */
    private void checkIdle() {
        if (closing || !ctx.channel().isActive()) {
            return;
        }
        long limit = TimeUnit.MILLISECONDS.toNanos(config.clientIdleMs());
        long silent = System.nanoTime() - lastRead;
        boolean uploading = current != null && current.bodyLeft() > 0;
        boolean notReading = current != null && current.pausedSince() != 0 && System.nanoTime() - current.pausedSince() >= limit;
        if (busy && !uploading && !notReading || !busy && silent < limit) {
            idleTask = ctx.executor().schedule(this::checkIdle, busy ? limit : limit - silent, TimeUnit.NANOSECONDS);
        } else if (uploading || notReading) {
            current.clientStalled();
            closing = true;
            ctx.close();
        } else if (head != null || chunkedBody != null || in != null && in.isReadable()) {
            reject(408, "the request did not arrive within " + config.clientIdleMs() + " ms");
        } else {
            closing = true;
            ctx.close(); // an idle keep-alive connection
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastRead = System.nanoTime();
        if (!(msg instanceof ByteBuf bytes) || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        received += bytes.readableBytes();
        in = ModelClient.cumulate(ctx, in, bytes);
        if (busy) {
            if (current != null && current.bodyLeft() > 0) {
                current.forward();
            }
            if (in != null && in.readableBytes() > config.maxBodyBytes() + Http1.MAX_HEAD) {
                ctx.channel().config().setAutoRead(false); // a client pipelining far ahead: wait for it
            }
            return;
        }
        readRequests();
    }

    /** Reads and serves requests from the bytes at hand while none is in progress. */
    private void readRequests() {
        while (!busy && !closing && in != null && in.isReadable()) {
            if (head == null) {
                head = Http1.read(in, true);
                if (head == null) {
                    headArriving();
                    break;
                }
                headArrived();
                if (head.error != 0) {
                    int status = head.error;
                    String why = head.why;
                    dropHead();
                    reject(status, why);
                    break;
                }
                if (head.contentLength > config.maxBodyBytes()) {
                    dropHead();
                    reject(413, "request body larger than " + config.maxBodyBytes() + " bytes");
                    break;
                }
                continued = false;
                chunks = head.chunked ? new Http1.Chunks() : null;
                if (streamable(head)) {
                    Http1.Head h = head;
                    head = null;
                    busy = true;
                    bodyArriving();
                    stream(h);
                    continue;
                }
            }
            ByteBuf body = body();
            if (body == null) {
                if (head != null) {
                    bodyArriving();
                }
                break; // more to come
            }
            bodyArrived();
            Http1.Head h = head;
            head = null;
            busy = true;
            serve(h, body);
        }
        if (in != null && !in.isReadable()) {
            in.release();
            in = null;
        }
    }

    /**
     * A head begun and not whole: it has clientHeaderTimeoutMs from its first byte, however slowly the rest
     * trickles in (a client dripping a byte a second would otherwise hold the connection for ever: every byte
     * resets the idle clock).
     */
    private void headArriving() {
        if (headStartedAt != 0) {
            return;
        }
        headStartedAt = System.nanoTime();
        headTask = ctx.executor().schedule(() -> {
            if (headStartedAt != 0 && !closing && !busy && head == null) {
                reject(408, "the request head did not arrive within " + config.client().headerMs() + " ms");
            }
        }, config.client().headerMs(), TimeUnit.MILLISECONDS);
    }

    private void headArrived() {
        headStartedAt = 0;
        if (headTask != null) {
            headTask.cancel(false);
            headTask = null;
        }
    }

    /**
     * A body begun and not whole: once it has had clientHeaderTimeoutMs, it must have arrived at clientBodyMinRate
     * on average over the time it was being read (time the executor stopped reading, waiting for the model, does
     * not count). Checked each second while it lasts.
     */
    private void bodyArriving() {
        if (bodyTask != null) {
            return;
        }
        bodyFrom = received - (in == null ? 0 : in.readableBytes()) - (chunkedBody == null ? 0 : chunkedBody.readableBytes());
        bodyActiveNanos = 0;
        bodyTask = ctx.executor().scheduleAtFixedRate(this::checkBodyRate, 1, 1, TimeUnit.SECONDS);
    }

    private void bodyArrived() {
        if (bodyTask != null) {
            bodyTask.cancel(false);
            bodyTask = null;
        }
    }

    private void checkBodyRate() {
        boolean waiting = head != null && !busy || current != null && current.bodyLeft() > 0;
        if (closing || !waiting) {
            bodyArrived();
            return;
        }
        if (ctx.channel().config().isAutoRead()) {
            bodyActiveNanos += TimeUnit.SECONDS.toNanos(1);
        }
        double counted = (bodyActiveNanos - TimeUnit.MILLISECONDS.toNanos(config.client().headerMs())) / 1e9;
        if (counted > 0 && received - bodyFrom < counted * config.client().bodyMinRate()) {
            bodyArrived();
            String why = "the request body arrived slower than " + config.client().bodyMinRate() + " bytes per second";
            if (current != null && current.bodyLeft() > 0) {
                current.clientStalled();
                closing = true;
                ctx.close();
            } else {
                reject(408, why);
            }
        }
    }

    /**
     * Whether to stream this request's body: with a Content-Length, over {@value #STREAM_MIN} bytes and not all
     * here yet; chunked, not all here yet (its size is unknown); and the server lets it ({@link #mayStream}).
     */
    private boolean streamable(Http1.Head h) {
        if (!h.chunked && (h.contentLength <= STREAM_MIN || h.contentLength <= in.readableBytes()) || !mayStream(h)) {
            return false;
        }
        if (h.chunked) {
            Http1.Chunks probe = new Http1.Chunks();
            long[] data = {0};
            int end = probe.feed(in, in.readerIndex(), in.writerIndex(), (b, i, n) -> data[0] += n);
            if (end != -1 || data[0] > config.maxBodyBytes()) {
                return false; // complete, malformed or already too large: the buffered path answers it
            }
            streamChunks = probe;
            streamData = data[0];
        }
        return true;
    }

    /** The current request's whole body, or null until it has arrived (or when it was refused). */
    private ByteBuf body() {
        if (chunks == null) {
            long n = Math.max(0, head.contentLength);
            if (in.readableBytes() < n) {
                sendContinue();
                return null;
            }
            return n == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice((int) n);
        }
        if (chunkedBody == null) {
            chunkedBody = ctx.alloc().buffer(1024);
        }
        int end = chunks.feed(in, in.readerIndex(), in.writerIndex(), (b, i, n) -> chunkedBody.writeBytes(b, i, n));
        if (end == -2) {
            String why = chunks.error;
            dropHead();
            reject(400, why);
            return null;
        }
        if (chunkedBody.readableBytes() > config.maxBodyBytes()) {
            dropHead();
            reject(413, "request body larger than " + config.maxBodyBytes() + " bytes");
            return null;
        }
        if (end < 0) {
            in.skipBytes(in.readableBytes());
            sendContinue();
            return null;
        }
        in.readerIndex(end);
        ByteBuf b = chunkedBody;
        chunkedBody = null;
        return b;
    }

    private void sendContinue() {
        if (head.expectContinue && !continued) {
            continued = true;
            ctx.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
        }
    }

    protected void dropHead() {
        head = null;
        if (chunkedBody != null) {
            chunkedBody.release();
            chunkedBody = null;
        }
        chunks = null;
    }

    /** A request that cannot be read on: answer, and close (what follows it on the connection is unknowable). */
    protected void reject(int status, String why) {
        metrics.record("sync", "-", status, 0, -1);
        ctx.write(Http1.response(ctx.alloc(), status, "application/json", ErrorBody.json(status, why), null, true));
        linger();
    }

    /**
     * Ends the connection after what was written: our side is shut once it is flushed, and what the client still
     * sends (the rest of a body we did not take) is read and dropped until it closes too, at most
     * {@value #LINGER_MS} ms. Closing outright with unread bytes would make the kernel reset the connection, and
     * a client could lose the answer it had not read yet (nginx's "lingering close"). A client that does not read
     * the answer either is cut after clientIdleMs.
     */
    protected void linger() {
        closing = true;
        dropHead();
        ctx.channel().config().setAutoRead(true);
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess() && f.channel() instanceof DuplexChannel d) {
                d.shutdownOutput();
                lingerTask = ctx.executor().schedule(() -> ctx.close(), LINGER_MS, TimeUnit.MILLISECONDS);
            } else {
                ctx.close();
            }
        });
        backstopTask = ctx.executor().schedule(() -> ctx.close(), config.clientIdleMs(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (current != null) {
            current.clientWritable(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // a connection gone leaves no timer behind (many short connections would otherwise pile them up)
        for (ScheduledFuture<?> t : new ScheduledFuture<?>[]{idleTask, lingerTask, backstopTask, headTask, bodyTask}) {
            if (t != null) {
                t.cancel(false);
            }
        }
        dropHead();
        if (in != null) {
            in.release();
            in = null;
        }
        if (current != null) {
            current.clientGone();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    protected static void release(ByteBuf body) {
        if (body != null) {
            body.release();
        }
    }

    /** Sends a whole answer (from any thread); then the next request on this connection, or close. */
    protected void respond(int status, String contentType, byte[] body, String extraHeaderLines, boolean keepAlive) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> respond(status, contentType, body, extraHeaderLines, keepAlive));
            return;
        }
        ctx.writeAndFlush(Http1.response(ctx.alloc(), status, contentType, body, extraHeaderLines, !keepAlive));
        next(keepAlive);
    }

    /** The current request is answered: read the next one on this connection, or close. */
    protected void next(boolean keepAlive) {
        boolean unread = bodyUnread || current != null && current.bodyLeft() > 0 || in != null && in.isReadable();
        busy = false;
        current = null;
        bodyUnread = false;
        if (!keepAlive) {
            if (unread) {
                linger(); // the client may still be sending: a plain close could reset the answer away
            } else {
                closing = true;
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        ctx.channel().config().setAutoRead(true);
        readRequests();
    }
}
