package io.clops.executor;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The executor's side of one model server: non-blocking HTTP/1.1 over keep-alive connections pooled per event loop
 * (a request uses a connection of the loop it arrived on, so the pool needs no lock), the answer handed on as its
 * bytes arrive ({@link Exchange}), a timeout between reads, and failures turned into what a client should see: 503
 * when the model cannot be reached or drops the connection, 504 when it does not answer in time, 502 when its answer
 * is not HTTP, each with a JSON body. A pooled connection the model closed while idle is noticed on use and the
 * request is sent again on a fresh one, only when not a byte of answer had come back.
 */
public final class ModelClient {
    /** A whole answer, for callers that want it in one piece (async side, shadow copies, health). */
    public record Reply(int status, String contentType, byte[] body, long modelNanos) {
    }

    /** How an answer's body ends. */
    public enum Framing { NONE, LENGTH, CHUNKED, CLOSE }

    /**
     * A request ready to send: its head (for this model) and body. Whoever holds it releases it once. A
     * {@code streamed} request's body is only its first bytes: the rest follows with {@link #sendMore} as it arrives
     * from the client. It goes out on a fresh connection (a stale pooled one could not be retried: the bytes sent
     * are gone), which returns to the pool only when the whole body was sent.
     */
    public record Outbound(ByteBuf head, ByteBuf body, boolean headMethod, boolean streamed) {
        public Outbound(ByteBuf head, ByteBuf body, boolean headMethod) {
            this(head, body, headMethod, false);
        }

        void release() {
            head.release();
            body.release();
        }
    }

    /**
     * Receives one answer as it arrives, on the event loop of the request: either {@link #failed} once, or
     * {@link #head} then {@link #body} until {@code last}, or {@link #aborted} when the model stops after the head.
     */
    public interface Exchange {
        /** The connection the request went out on (to pause reading when the client reads slowly). */
        default void upstream(Channel channel) {
        }

        /** The model's connection can take more (true) or has a backlog (false): for a streamed request body. */
        default void upstreamWritable(boolean writable) {
        }

        /** The answer's head; valid during the call only. */
        void head(Http1.Head head, Framing framing);

        /** Body bytes as they came on the wire (chunk framing included); ownership passes to the callee. */
        void body(ByteBuf bytes, boolean last, long modelNanos);

        /** No answer at all: 502, 503 or 504 with its reason. */
        void failed(int status, String message, long modelNanos);

        /** The answer started but did not finish (model gone or silent too long mid-answer). */
        void aborted(String message);
    }

    static final int MAX_IDLE_PER_LOOP = 512;

    private final EventLoops loops;
    private final URI base;
    private final String hostHeader;
    private final InetSocketAddress address;
    private final int timeoutMs;
    private final long sweepMs;
    private final Bootstrap bootstrap;
    private final Map<EventLoop, LoopState> perLoop = new ConcurrentHashMap<>();

    public ModelClient(EventLoops loops, String baseUrl, int timeoutMs) {
        this(loops, baseUrl, timeoutMs, false);
    }

    /**
     * @param keepsAuthorization the caller's Authorization header stays here (the executor checked the platform's
     *                           token): the model, someone else's code, never sees a caller's credentials
     */
    public ModelClient(EventLoops loops, String baseUrl, int timeoutMs, boolean keepsAuthorization) {
        this.keepsAuthorization = keepsAuthorization;
        this.loops = loops;
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        int port = base.getPort() < 0 ? 80 : base.getPort();
        this.hostHeader = base.getHost() + (base.getPort() < 0 ? "" : ":" + port);
        this.address = InetSocketAddress.createUnresolved(base.getHost(), port);
        this.timeoutMs = timeoutMs;
        this.sweepMs = Math.max(10, Math.min(250, timeoutMs / 10));
        this.bootstrap = new Bootstrap().channel(loops.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, LoopBuffers.SHARED)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, Math.min(timeoutMs, 2000))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Upstream());
                    }
                });
    }

    /**
     * The head of a request for this model: request line with the model's base path, Host, the client's header
     * lines ({@code from}, may be null) minus those of its connection and framing, then the {@code headers} given,
     * and Content-Length ({@code bodyLength} -1: the body follows chunked).
     */
    private final boolean keepsAuthorization;

    public ByteBuf encode(ByteBufAllocator alloc, String method, String pathAndQuery, Http1.Head from,
                          Map<String, List<String>> headers, int bodyLength) {
        return encode(alloc, method, pathAndQuery, from, headers, bodyLength, 0);
    }

    /** The same, in a buffer with room for {@code extra} more bytes (a small body to follow the head in one write). */
    public ByteBuf encode(ByteBufAllocator alloc, String method, String pathAndQuery, Http1.Head from,
                          Map<String, List<String>> headers, int bodyLength, int extra) {
        ByteBuf out = alloc.ioBuffer((from == null ? 256 : from.length() + 96) + extra);
        Http1.ascii(out, method);
        out.writeByte(' ');
        Http1.ascii(out, base.getRawPath());
        Http1.ascii(out, pathAndQuery);
        Http1.ascii(out, " HTTP/1.1\r\nHost: ");
        Http1.ascii(out, hostHeader);
        out.writeByte('\r').writeByte('\n');
        if (from != null) {
            for (int i = 0; i < from.count; i++) {
                if (!framing(from, i) && !from.connectionOnly(i) && !(keepsAuthorization && authorization(from, i))) {
                    from.writeLine(i, out);
                }
            }
        }
        headers.forEach((name, values) -> {
            for (String v : values) {
                Http1.ascii(out, name + ": " + v + "\r\n");
            }
        });
        if (bodyLength < 0) {
            Http1.ascii(out, "Transfer-Encoding: chunked\r\n");
        } else if (bodyLength > 0 || !(method.equals("GET") || method.equals("HEAD") || method.equals("DELETE") || method.equals("OPTIONS"))) {
            Http1.ascii(out, "Content-Length: ");
            Http1.ascii(out, Integer.toString(bodyLength));
            out.writeByte('\r').writeByte('\n');
        }
        out.writeByte('\r').writeByte('\n');
        return out;
    }

    private static boolean authorization(Http1.Head h, int i) {
        return h.lines[4 * i + 1] - h.lines[4 * i] == 13 && h.nameIs(i, "authorization");
    }

    /** Host, Content-Length, Transfer-Encoding and Expect: the proxy sets the next hop's own. */
    private static boolean framing(Http1.Head h, int i) {
        int len = h.lines[4 * i + 1] - h.lines[4 * i];
        return len == 4 && h.nameIs(i, "host") || len == 14 && h.nameIs(i, "content-length")
                || len == 17 && h.nameIs(i, "transfer-encoding") || len == 6 && h.nameIs(i, "expect");
    }

    /** Sends {@code request} (the caller gives up its reference) on {@code loop}; the answer goes to {@code exchange}. */
    public void exchange(EventLoop loop, Outbound request, Exchange exchange) {
        if (loop.inEventLoop()) {
            start(loop, request, exchange, System.nanoTime());
        } else {
            loop.execute(() -> start(loop, request, exchange, System.nanoTime()));
        }
    }

    /** The whole answer, on any loop. */
    public CompletableFuture<Reply> call(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        return call(loops.group().next(), method, pathAndQuery, headers, body);
    }

    /** The whole answer, sent on {@code loop} (no hand-off when called on it). */
    public CompletableFuture<Reply> call(EventLoop loop, String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        ByteBuf b = body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
        ByteBuf head = encode(ByteBufAllocator.DEFAULT, method, pathAndQuery, null, headers, b.readableBytes());
        return call(loop, new Outbound(head, b, method.equals("HEAD")));
    }

    /** The whole answer to {@code request} (the caller gives up its reference), sent on {@code loop}. */
    public CompletableFuture<Reply> call(EventLoop loop, Outbound request) {
        Collector c = new Collector();
        exchange(loop, request, c);
        return c.reply;
    }

    /** Is the model ready? v2: its /v2/health/ready answers 200; raw: its port accepts a connection. */
    public CompletableFuture<Boolean> ready(String protocol) {
        if ("v2".equals(protocol)) {
            return call("GET", "/v2/health/ready", Map.of(), null).thenApply(r -> r.status() == 200);
        }
        CompletableFuture<Boolean> up = new CompletableFuture<>();
        bootstrap.clone(loops.group().next()).connect(address).addListener((ChannelFutureListener) f -> {
            up.complete(f.isSuccess());
            if (f.isSuccess()) {
                f.channel().close();
            }
        });
        return up;
    }

    static Reply error(int status, String message, long nanos) {
        return new Reply(status, "application/json", ErrorBody.json(status, message), nanos);
    }

    private void start(EventLoop loop, Outbound request, Exchange exchange, long startNanos) {
        ArrayDeque<Channel> pool = state(loop).idle;
        Channel ch;
        while (!request.streamed() && (ch = pool.pollLast()) != null) {
            if (ch.isActive()) {
                send(ch, request, exchange, startNanos, true);
                return;
            }
        }
        bootstrap.clone(loop).connect(address).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                send(f.channel(), request, exchange, startNanos, false);
            } else {
                request.release();
                exchange.failed(503, "model unavailable: cannot connect to " + base, System.nanoTime() - startNanos);
            }
        });
    }

    private void send(Channel ch, Outbound request, Exchange exchange, long startNanos, boolean reused) {
        Upstream u = ch.pipeline().get(Upstream.class);
        u.begin(request, exchange, startNanos, reused);
        if (request.body().isReadable()) {
            ch.write(request.head().retainedDuplicate(), ch.voidPromise());
            ch.writeAndFlush(request.body().retainedDuplicate(), ch.voidPromise());
        } else { // no body, or one already in the head's buffer (SyncServer: a small one goes out in the same write)
            ch.writeAndFlush(request.head().retainedDuplicate(), ch.voidPromise());
        }
        exchange.upstream(ch); // after the head: a streamed body's next bytes may go out from here on
    }

    /**
     * Stops (or resumes) reading the model's answer while the client is slow to take it. Paused time is not the
     * model's silence: its timeout starts again on resume.
     */
    public static void pause(Channel upstream, boolean paused) {
        Upstream u = upstream.pipeline().get(Upstream.class);
        if (u != null) {
            u.paused = paused;
            u.lastReadNanos = System.nanoTime();
        }
        upstream.config().setAutoRead(!paused);
    }

    /**
     * More of {@code owner}'s streamed request body, on {@code upstream}'s loop ({@code last}: the body is complete).
     * Counts as activity for the timeout: the model owes no answer while the request is still arriving.
     */
    public static void sendMore(Channel upstream, Exchange owner, ByteBuf bytes, boolean last) {
        Upstream u = upstream.pipeline().get(Upstream.class);
        if (u == null || u.exchange != owner) {
            bytes.release(); // the answer is over (the model did not wait for the whole body): nothing to send it to
            return;
        }
        u.lastReadNanos = System.nanoTime();
        if (last) {
            u.bodyPending = false;
        }
        upstream.writeAndFlush(bytes, upstream.voidPromise());
    }

    private void release(Channel ch) {
        ArrayDeque<Channel> pool = state(ch.eventLoop()).idle;
        if (pool.size() < MAX_IDLE_PER_LOOP && ch.isActive()) {
            ch.config().setAutoRead(true);
            pool.addLast(ch);
        } else {
            ch.close();
        }
    }

    private LoopState state(EventLoop loop) {
        LoopState s = perLoop.get(loop);
        return s != null ? s : perLoop.computeIfAbsent(loop, LoopState::new);
    }

    /**
     * What this client keeps per event loop, touched on that loop only: idle connections, and the exchanges in
     * progress, which one periodic sweep checks for silence (cheaper than a timer per request).
     */
    private final class LoopState {
        final ArrayDeque<Channel> idle = new ArrayDeque<>();
        private Upstream[] busy = new Upstream[16];
        private int busyCount;
        private ScheduledFuture<?> sweeper;
        private final EventLoop loop;

        LoopState(EventLoop loop) {
            this.loop = loop;
        }

        void busy(Upstream u) {
            if (busyCount == busy.length) {
                busy = java.util.Arrays.copyOf(busy, busy.length * 2);
            }
            u.busyIndex = busyCount;
            busy[busyCount++] = u;
            if (sweeper == null) {
                sweeper = loop.scheduleWithFixedDelay(this::sweep, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
            }
        }

        void idle(Upstream u) {
            int i = u.busyIndex;
            if (i < 0) {
                return;
            }
            Upstream last = busy[--busyCount];
            busy[i] = last;
            last.busyIndex = i;
            busy[busyCount] = null;
            u.busyIndex = -1;
        }

        private void sweep() {
            long now = System.nanoTime();
            for (int i = busyCount - 1; i >= 0; i--) {
                if (i < busyCount) {
                    busy[i].checkTimeout(now);
                }
            }
            if (busyCount == 0 && idle.isEmpty() && sweeper != null) {
                sweeper.cancel(false);
                sweeper = null;
            }
        }
    }

    /** One connection's handler: the exchange in progress on it, if any. Runs on the connection's loop only. */
    private final class Upstream extends ChannelInboundHandlerAdapter {
        private Outbound request;
        private Exchange exchange;
        private long startNanos;
        private long lastReadNanos;
        private boolean reused;
        private boolean bodyPending;
        private boolean paused;
        private boolean headSeen;
        private boolean keepAlive;
        private Framing framing;
        private long remaining;
        private Http1.Chunks chunks;
        private ByteBuf in;
        private Channel channel;
        private LoopState loop;
        int busyIndex = -1;

        void begin(Outbound request, Exchange exchange, long startNanos, boolean reused) {
            this.request = request;
            this.exchange = exchange;
            this.startNanos = startNanos;
            this.lastReadNanos = System.nanoTime();
            this.reused = reused;
            this.bodyPending = request.streamed();
            this.paused = false;
            this.headSeen = false;
            this.framing = null;
            if (loop == null) {
                loop = state(channel.eventLoop());
            }
            loop.busy(this);
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.channel = ctx.channel();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (exchange == null || !(msg instanceof ByteBuf bytes)) { // nothing asked: a stray answer; drop the connection
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            lastReadNanos = System.nanoTime();
            in = cumulate(ctx, in, bytes);
            while (exchange != null && in != null && in.isReadable()) {
                if (!headSeen && !readHead(ctx)) {
                    break;
                }
                if (exchange != null && headSeen) {
                    readBody(ctx);
                }
            }
            if (in != null && !in.isReadable()) {
                in.release();
                in = null;
            }
        }

        /** False while the head is incomplete. */
        private boolean readHead(ChannelHandlerContext ctx) {
            Http1.Head h = Http1.read(in, false);
            if (h == null) {
                return false;
            }
            if (h.error != 0) {
                protocolError(ctx, "the model's answer is not HTTP/1.1: " + h.why);
                return false;
            }
            if (h.status >= 100 && h.status < 200) {
                return true; // an interim answer (100 Continue): the real one follows
            }
            headSeen = true;
            if (request.headMethod() || h.status == 204 || h.status == 304) {
                framing = Framing.NONE;
            } else if (h.chunked) {
                framing = Framing.CHUNKED;
                chunks = new Http1.Chunks();
            } else if (h.contentLength >= 0 && !h.otherCoding) {
                framing = h.contentLength == 0 ? Framing.NONE : Framing.LENGTH;
                remaining = h.contentLength;
            } else {
                framing = Framing.CLOSE;
            }
            keepAlive = h.persistent() && framing != Framing.CLOSE;
            exchange.head(h, framing);
            if (framing == Framing.NONE) {
                finish(ctx, Unpooled.EMPTY_BUFFER);
            }
            return true;
        }

        private void readBody(ChannelHandlerContext ctx) {
            int readable = in.readableBytes();
            if (readable == 0) {
                return; // the head came alone: nothing to pass on (nor to flush) until the body comes
            }
            switch (framing) {
                case CLOSE -> exchange.body(in.readRetainedSlice(readable), false, -1);
                case LENGTH -> {
                    int n = (int) Math.min(remaining, readable);
                    remaining -= n;
                    ByteBuf part = in.readRetainedSlice(n);
                    if (remaining == 0) {
                        finish(ctx, part);
                    } else {
                        exchange.body(part, false, -1);
                    }
                }
                case CHUNKED -> {
                    int end = chunks.feed(in, in.readerIndex(), in.writerIndex(), null);
                    if (end == -2) {
                        abort(ctx, "malformed chunked answer from the model: " + chunks.error);
                    } else if (end < 0) {
                        exchange.body(in.readRetainedSlice(readable), false, -1);
                    } else {
                        finish(ctx, in.readRetainedSlice(end - in.readerIndex()));
                    }
                }
                default -> {
                }
            }
        }

        /** The answer is complete: the connection goes back to the pool (unless it cannot), then the last bytes on. */
        private void finish(ChannelHandlerContext ctx, ByteBuf last) {
            Exchange e = exchange;
            request.release();
            done();
            boolean leftover = in != null && in.isReadable(); // the model said more than it was asked: not reusable
            if (keepAlive && !leftover && !bodyPending) { // an answer before the whole body: the rest cannot follow
                release(ctx.channel());
            } else {
                ctx.close();
            }
            e.body(last, true, System.nanoTime() - startNanos);
        }

        private void protocolError(ChannelHandlerContext ctx, String why) {
            Exchange e = exchange;
            request.release();
            done();
            ctx.close();
            e.failed(502, why, System.nanoTime() - startNanos);
        }

        private void abort(ChannelHandlerContext ctx, String why) {
            Exchange e = exchange;
            request.release();
            done();
            ctx.close();
            e.aborted(why);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Exchange e = exchange;
            if (in != null) {
                in.release();
                in = null;
            }
            if (e == null) {
                return;
            }
            if (framing == Framing.CLOSE) { // the body ends where the connection does
                keepAlive = false;
                finish(ctx, Unpooled.EMPTY_BUFFER);
                return;
            }
            Outbound req = request;
            boolean retry = reused && !headSeen;
            boolean started = headSeen;
            done();
            long nanos = System.nanoTime() - startNanos;
            if (retry) { // the model had closed this idle connection: send again on a fresh one
                start(ctx.channel().eventLoop(), req, e, startNanos);
                return;
            }
            req.release();
            if (started) {
                e.aborted("the model closed the connection mid-answer");
            } else {
                e.failed(503, "model unavailable: it closed the connection without answering", nanos);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // channelInactive reports it
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (exchange != null) {
                exchange.upstreamWritable(ctx.channel().isWritable());
            }
            ctx.fireChannelWritabilityChanged();
        }

        /** Between reads the model may be silent at most timeoutMs; then the request ends with 504 (or is cut). */
        void checkTimeout(long now) {
            // while a streamed body is still coming, or the answer waits for a slow client, a silence is the client's
            // (SyncServer times that out), not the model's
            if (exchange == null || bodyPending || paused || now - lastReadNanos < TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                return;
            }
            Exchange e = exchange;
            boolean started = headSeen;
            Outbound req = request;
            done();
            req.release();
            channel.close();
            if (started) {
                e.aborted("the model went silent for " + timeoutMs + " ms mid-answer");
            } else {
                e.failed(504, "model did not answer within " + timeoutMs + " ms", System.nanoTime() - startNanos);
            }
        }

        /** The exchange is over on this connection; the caller releases {@code request} or sends it again. */
        private void done() {
            loop.idle(this);
            exchange = null;
            request = null;
            chunks = null;
        }
    }

    /** Adds {@code next} to what was read before and not yet used (Netty's merge cumulator, as its decoders use). */
    static ByteBuf cumulate(ChannelHandlerContext ctx, ByteBuf in, ByteBuf next) {
        return in == null ? next : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), in, next);
    }

    /** Collects an answer into a {@link Reply}. */
    private static final class Collector implements Exchange {
        final CompletableFuture<Reply> reply = new CompletableFuture<>();
        private int status;
        private String contentType;
        private Http1.Chunks chunks;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream(256);

        @Override
        public void head(Http1.Head head, Framing framing) {
            status = head.status;
            String type = head.header("content-type");
            contentType = type == null ? "application/octet-stream" : type;
            chunks = framing == Framing.CHUNKED ? new Http1.Chunks() : null;
        }

        @Override
        public void body(ByteBuf bytes, boolean last, long modelNanos) {
            try {
                if (chunks != null) {
                    chunks.feed(bytes, bytes.readerIndex(), bytes.writerIndex(), (b, i, n) -> copy(b, i, n));
                } else {
                    copy(bytes, bytes.readerIndex(), bytes.readableBytes());
                }
            } finally {
                bytes.release();
            }
            if (last) {
                reply.complete(new Reply(status, contentType, body.toByteArray(), modelNanos));
            }
        }

        private void copy(ByteBuf b, int index, int length) {
            Http1.copyInto(body, b, index, length, Integer.MAX_VALUE);
        }

        @Override
        public void failed(int status, String message, long modelNanos) {
            reply.complete(error(status, message, modelNanos));
        }

        @Override
        public void aborted(String message) {
            reply.complete(error(502, "incomplete answer from the model: " + message, -1));
        }
    }
}
