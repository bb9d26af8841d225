package io.clops.executor;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
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
 * (a request uses a connection of the loop it arrived on, so the pool needs no lock), the answer streamed back as it
 * comes ({@link Exchange}), a timeout between reads, and failures turned into what a client should see: 503 when the
 * model cannot be reached or drops the connection, 504 when it does not answer in time, each with a JSON body.
 * A pooled connection the model closed while idle is noticed on use and the request is sent again on a fresh one,
 * once, and only when not a byte of answer had come back.
 */
public final class ModelClient {
    /** A whole answer, for callers that want it in one piece (async side, shadow copies, health). */
    public record Reply(int status, String contentType, byte[] body, long modelNanos) {
    }

    /**
     * Receives one answer as it arrives, on the event loop of the request. Either {@link #failed} once, or
     * {@link #head} then {@link #content} until {@code last}; {@link #aborted} when the model stops after the head.
     */
    public interface Exchange {
        /** The connection the request goes out on (to pause reading when the client reads slowly). */
        default void upstream(Channel channel) {
        }

        void head(HttpResponse head);

        /** Ownership of {@code content} passes to the callee. */
        void content(HttpContent content, boolean last, long modelNanos);

        /** No answer at all: 503 or 504 with its reason. */
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
    private final Bootstrap bootstrap;
    private final Map<EventLoop, LoopState> perLoop = new ConcurrentHashMap<>();
    private final long sweepMs;

    public ModelClient(EventLoops loops, String baseUrl, int timeoutMs) {
        this.loops = loops;
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        int port = base.getPort() < 0 ? 80 : base.getPort();
        this.hostHeader = base.getHost() + (base.getPort() < 0 ? "" : ":" + port);
        this.address = InetSocketAddress.createUnresolved(base.getHost(), port);
        this.timeoutMs = timeoutMs;
        this.sweepMs = Math.max(10, Math.min(250, timeoutMs / 10));
        this.bootstrap = new Bootstrap().channel(loops.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, Math.min(timeoutMs, 2000))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(4096, 16384, 16384), new Upstream());
                    }
                });
    }

    /** The model's base path (a URL may carry one, e.g. http://host:8080/prefix) plus the request's path and query. */
    public String target(String pathAndQuery) {
        return base.getRawPath() + pathAndQuery;
    }

    public String hostHeader() {
        return hostHeader;
    }

    /**
     * Sends {@code request} (its Host header is set here; the caller gives up its reference) on {@code loop} and
     * streams the answer into {@code exchange}, on that loop.
     */
    public void exchange(EventLoop loop, FullHttpRequest request, Exchange exchange) {
        request.headers().set(HttpHeaderNames.HOST, hostHeader);
        HttpUtil.setContentLength(request, request.content().readableBytes());
        if (loop.inEventLoop()) {
            start(loop, request, exchange, System.nanoTime());
        } else {
            loop.execute(() -> start(loop, request, exchange, System.nanoTime()));
        }
    }

    /** The whole answer, on any loop. */
    public CompletableFuture<Reply> call(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) {
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method),
                target(pathAndQuery), body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        headers.forEach((name, values) -> {
            if (!Hop.isHopByHop(name)) {
                req.headers().add(name, values);
            }
        });
        return call(loops.group().next(), req);
    }

    /** The whole answer to {@code request} (the caller gives up its reference), sent on {@code loop}. */
    public CompletableFuture<Reply> call(EventLoop loop, FullHttpRequest request) {
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

    private void start(EventLoop loop, FullHttpRequest request, Exchange exchange, long startNanos) {
        ArrayDeque<Channel> pool = state(loop).idle;
        Channel ch;
        while ((ch = pool.pollLast()) != null) {
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

    private void send(Channel ch, FullHttpRequest request, Exchange exchange, long startNanos, boolean reused) {
        Upstream u = ch.pipeline().get(Upstream.class);
        u.begin(request, exchange, startNanos, reused);
        exchange.upstream(ch);
        ch.writeAndFlush(request.retainedDuplicate()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
            }
        });
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
        private FullHttpRequest request;
        private Exchange exchange;
        private long startNanos;
        private long lastReadNanos;
        private boolean reused;
        private boolean headSeen;
        private boolean keepAlive;
        private Channel channel;
        private LoopState loop;
        int busyIndex = -1;

        void begin(FullHttpRequest request, Exchange exchange, long startNanos, boolean reused) {
            this.request = request;
            this.exchange = exchange;
            this.startNanos = startNanos;
            this.lastReadNanos = System.nanoTime();
            this.reused = reused;
            this.headSeen = false;
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
            Exchange e = exchange;
            if (e == null) { // nothing asked: a stray answer; drop it and the connection
                io.netty.util.ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            lastReadNanos = System.nanoTime();
            if (msg instanceof HttpResponse head) {
                if (head.status().code() == HttpResponseStatus.CONTINUE.code()) {
                    io.netty.util.ReferenceCountUtil.release(msg);
                    return;
                }
                headSeen = true;
                keepAlive = HttpUtil.isKeepAlive(head);
                e.head(head);
            }
            if (msg instanceof HttpContent content) {
                boolean last = content instanceof LastHttpContent;
                if (last) {
                    request.release();
                    done();
                    if (keepAlive) {
                        release(ctx.channel());
                    } else {
                        ctx.close();
                    }
                }
                e.content(content, last, lastReadNanos - startNanos);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Exchange e = exchange;
            if (e == null) {
                return;
            }
            FullHttpRequest req = request;
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

        /** Between reads the model may be silent at most timeoutMs; then the request ends with 504 (or is cut). */
        void checkTimeout(long now) {
            if (exchange == null || now - lastReadNanos < TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                return;
            }
            Exchange e = exchange;
            boolean started = headSeen;
            FullHttpRequest req = request;
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
            if (loop != null) {
                loop.idle(this);
            }
            exchange = null;
            request = null;
        }
    }

    /** Collects an answer into a {@link Reply}. */
    private static final class Collector implements Exchange {
        final CompletableFuture<Reply> reply = new CompletableFuture<>();
        private int status;
        private String contentType;
        private ByteArrayOutputStream body;

        @Override
        public void head(HttpResponse head) {
            status = head.status().code();
            contentType = head.headers().get(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            body = new ByteArrayOutputStream(Math.max(64, (int) Math.min(1 << 20, HttpUtil.getContentLength(head, 256L))));
        }

        @Override
        public void content(HttpContent content, boolean last, long modelNanos) {
            try {
                ByteBuf b = content.content();
                if (b.isReadable()) {
                    body.writeBytes(ByteBufUtil.getBytes(b));
                }
            } finally {
                content.release();
            }
            if (last) {
                reply.complete(new Reply(status, contentType, body.toByteArray(), modelNanos));
            }
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
