package io.clops.executor;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sync side: health, metrics, and a reverse proxy to the model for everything else (OIP v2 paths such as
 * /v2/models/{name}/infer and any raw path). Before the model: the token check (401), the rate limit (429 with
 * Retry-After), the body size (413) and, for infer requests, the shape of the inputs (400 naming the input); then
 * the version is chosen ({@link Router}) and named in the {@value Router#STICKY_HEADER} response header. The model
 * down is 503, too slow 504, not speaking HTTP 502. Every error is JSON: {"error": "...", "status": N}.
 * <p>
 * Non-blocking (Netty) and byte-level ({@link Http1}): a request and its call to the model run on the event loop the
 * connection belongs to; header lines are copied as bytes, not parsed into objects. A request body of up to
 * {@value Http1Connection#STREAM_MIN} bytes, or one the shape check or a shadow copy needs whole, is held once (up to the size
 * limit) and handed to the model without copying; a larger one is streamed: the model gets the head and the first
 * bytes at once and the rest as it arrives, reading from the client paused while the model is slow to take it.
 * The answer goes to the client as its bytes arrive (a streamed or chunked answer stays streamed), reading from the
 * model paused while the client is slow to take it.
 */
public final class SyncServer {
    private static final Pattern ASYNC_INFER = Pattern.compile("/v2/models/([^/]+)(/versions/[^/]+)?/infer");

    private final ExecutorConfig config;
    private final EventLoops loops;
    private final Dispatcher dispatcher;
    private final Metrics metrics;
    private final Admission admission;
    private final ExecutorService blocking;
    /** Bodies up to this size (request or answer) travel in one buffer with their head: one write instead of two. */
    static final int ONE_WRITE = 8192;
    private static final byte[] LIVE = "{\"live\":true}".getBytes(StandardCharsets.UTF_8);
    private volatile AsyncFacade facade;
    /** Why the executor no longer works (its async worker stopped), or null: /v2/health/live says so. */
    private volatile java.util.function.Supplier<String> broken = () -> null;
    private Channel server;

    public SyncServer(ExecutorConfig config, EventLoops loops, Dispatcher dispatcher, Metrics metrics) {
        this.config = config;
        this.loops = loops;
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.admission = dispatcher.admission();
        // the async façade waits for Kafka's acknowledgement: never on an event loop
        this.blocking = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "executor-facade");
            t.setDaemon(true);
            return t;
        });
    }

    /** Enables /async/… (the deployment consumes its request topic). */
    public void facade(AsyncFacade facade) {
        this.facade = facade;
    }

    /** What /v2/health/live reports as the reason it fails (null: live). */
    public void broken(java.util.function.Supplier<String> why) {
        this.broken = why;
    }

    public SyncServer start() {
        server = new ServerBootstrap().group(loops.group()).channel(loops.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, LoopBuffers.SHARED)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Connection());
                    }
                })
                .bind(config.host(), config.port()).syncUninterruptibly().channel();
        return this;
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        blocking.shutdownNow();
    }

    /**
     * One client connection: what each request on it is for (health, metrics, the async façade, or the model: the
     * admission checks, the version, the shadow copy, the answer streamed back). Reading requests, their deadlines and
     * ending the connection are {@link Http1Connection}'s.
     */
    private final class Connection extends Http1Connection {
        Connection() {
            super(SyncServer.this.config, SyncServer.this.metrics);
        }

        /**
         * Not when something needs the body whole: the shape check of an infer call, a shadow copy, the async façade,
         * health and metrics.
         */
        @Override
        protected boolean mayStream(Http1.Head h) {
            if (dispatcher.hasShadow()) {
                return false;
            }
            String path = Http1.pathOf(h.target);
            return !(path.startsWith("/async/") || path.startsWith("/v2/health/") || path.equals("/metrics") || dispatcher.checks(h.method, path));
        }

        @Override
        protected void stream(Http1.Head h) {
            proxy(h, null, h.target, h.persistent());
        }

        @Override
        protected void serve(Http1.Head h, ByteBuf body) {
            boolean keepAlive = h.persistent();
            String uri = h.target;
            String path = Http1.pathOf(uri);
            switch (path) {
                case "/v2/health/live" -> {
                    release(body);
                    String why = broken.get();
                    if (why == null) {
                        respond(200, "application/json", LIVE, null, keepAlive);
                    } else {
                        respond(503, "application/json", ErrorBody.json(503, why), null, keepAlive);
                    }
                }
                case "/v2/health/ready" -> {
                    release(body);
                    dispatcher.ready(config.protocol()).whenComplete((ready, e) -> {
                        boolean ok = e == null && ready;
                        respond(ok ? 200 : 503, "application/json", ("{\"ready\":" + ok + "}").getBytes(StandardCharsets.UTF_8), null, keepAlive);
                    });
                }
                case "/metrics" -> {
                    release(body);
                    respond(200, "text/plain; version=0.0.4",
                            metrics.scrape(config.project(), config.deployment()).getBytes(StandardCharsets.UTF_8), null, keepAlive);
                }
                default -> {
                    if (path.startsWith("/async/")) {
                        async(h, body, path.substring("/async".length()), keepAlive);
                    } else {
                        proxy(h, body, uri, keepAlive);
                    }
                }
            }
        }

        private void refuse(int status, String message, String extraHeaderLines, boolean keepAlive, long start) {
            metrics.record("sync", "-", status, System.nanoTime() - start, -1);
            respond(status, "application/json", ErrorBody.json(status, message), extraHeaderLines, keepAlive);
        }

        /** Sends the request on to the model; {@code body} null: it is streamed (its bytes follow in {@link #in}). */
        private void proxy(Http1.Head h, ByteBuf whole, String uri, boolean persistent) {
            long start = System.nanoTime();
            boolean streamed = whole == null;
            boolean keepRefused = persistent && !streamed; // a refused streamed request's body is left unread: close
            Admission.Refusal refused = admission.who(h.header("authorization"));
            if (refused == null) {
                refused = admission.howOften();
            }
            if (refused != null) {
                release(whole);
                bodyUnread = streamed;
                refuse(refused.status(), refused.message(), refused.headerLines(), keepRefused, start);
                return;
            }
            boolean keepAlive = persistent;
            if (streamed && h.expectContinue) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(Http1Connection.CONTINUE));
            }
            // a streamed body: what has arrived so far goes with the head, the rest follows (Proxied.forward); a
            // chunked one goes on chunked, as it came (its framing checked on the way)
            Http1.Chunks upChunks = streamed ? streamChunks : null;
            streamChunks = null;
            ByteBuf body = !streamed ? whole
                    : in.readRetainedSlice(upChunks != null ? in.readableBytes() : (int) Math.min(in.readableBytes(), h.contentLength));
            String method = h.method;
            String requestId = h.header("x-request-id");
            int size = !streamed ? body.readableBytes() : upChunks != null ? -1 : (int) h.contentLength;
            boolean logIt = dispatcher.sampled();
            byte[] logged = !logIt ? null : upChunks != null ? dechunked(body, dispatcher.logBytes())
                    : ByteBufUtil.getBytes(body, body.readerIndex(), Math.min(body.readableBytes(), dispatcher.logBytes()));
            Admission.Refusal wrong = streamed ? null : admission.what(method, uri, () -> new ByteBufInputStream(body.duplicate()));
            if (wrong != null) {
                release(body);
                byte[] answer = ErrorBody.json(wrong.status(), wrong.message());
                dispatcher.finish("sync", requestId, Dispatcher.NONE, false, wrong.status(), System.nanoTime() - start, -1, logIt, logged, size,
                        answer, answer.length);
                respond(wrong.status(), "application/json", answer, null, keepAlive);
                return;
            }
            Route route = dispatcher.choose(h.header("x-clops-route"));
            ModelClient client = dispatcher.client(route);
            EventLoop loop = (EventLoop) ctx.executor();
            if (dispatcher.hasShadow()) {
                dispatcher.shadow("sync", requestId, loop, method, uri, h, body, logIt, logged, size);
            }
            ByteBuf out;
            ByteBuf upBody = body;
            if (!streamed && size <= ONE_WRITE) {
                // a small body goes in the head's buffer: one write to the model, not two
                out = client.encode(ctx.alloc(), method, uri, h, Map.of(), size, size);
                out.writeBytes(body);
                body.release();
                upBody = Unpooled.EMPTY_BUFFER;
            } else {
                out = client.encode(ctx.alloc(), method, uri, h, Map.of(), size);
            }
            metrics.inFlight.increment();
            Proxied exchange = new Proxied(route, requestId, start, keepAlive, logIt, logged, size);
            current = exchange;
            if (streamed) {
                exchange.bodyLeft = upChunks != null ? Long.MAX_VALUE : size - body.readableBytes();
                exchange.upChunks = upChunks;
                exchange.uploaded = streamData;
                ctx.channel().config().setAutoRead(false); // until the model's connection is up (Proxied.upstream)
            }
            client.exchange(loop, new ModelClient.Outbound(out, upBody, method.equals("HEAD"), streamed), exchange);
        }

        /** The first {@code max} data bytes of a chunked body's first part (for the request log). */
        private static byte[] dechunked(ByteBuf chunked, int max) {
            ByteArrayOutputStream data = new ByteArrayOutputStream(Math.min(max, 1024));
            new Http1.Chunks().feed(chunked, chunked.readerIndex(), chunked.writerIndex(), (b, i, n) -> Http1.copyInto(data, b, i, n, max));
            return data.toByteArray();
        }

        /** POST /async/v2/models/{m}/infer → 202 {id}; GET /async/results/{id} → the answer, or 202 while pending. */
        private void async(Http1.Head h, ByteBuf content, String rest, boolean keepAlive) {
            long start = System.nanoTime();
            try {
                Admission.Refusal denied = admission.who(h.header("authorization"));
                AsyncFacade f = facade;
                if (denied != null) {
                    refuse(denied.status(), denied.message(), denied.headerLines(), keepAlive, start);
                } else if (f == null) {
                    refuse(404, "this deployment is not async (spec.mode sync)", null, keepAlive, start);
                } else if (h.method.equals("GET") && rest.startsWith("/results/")) {
                    result(f, rest.substring("/results/".length()), keepAlive, start);
                } else {
                    Matcher m = ASYNC_INFER.matcher(rest);
                    if (!h.method.equals("POST") || !m.matches()) {
                        refuse(404, "async paths: POST /async/v2/models/{model}/infer, GET /async/results/{id}", null, keepAlive, start);
                        return;
                    }
                    String requestId = h.header("x-request-id");
                    String model = m.group(1);
                    byte[] body = ByteBufUtil.getBytes(content);
                    blocking.execute(() -> {
                        try {
                            String id = f.submit(requestId, model, body, TokenCheck.bearerToken(h.header("authorization")));
                            respond(202, "application/json", ("{\"id\":\"" + id + "\",\"status\":\"submitted\",\"result\":\"/async/results/"
                                    + id + "\"}").getBytes(StandardCharsets.UTF_8), "Location: /async/results/" + id + "\r\n", keepAlive);
                        } catch (Exception e) {
                            refuse(503, "cannot put the request on Kafka: " + e.getMessage(), null, keepAlive, start);
                        }
                    });
                }
            } finally {
                release(content);
            }
        }

        private void result(AsyncFacade f, String id, boolean keepAlive, long start) {
            AsyncFacade.Result r = f.result(id);
            if (r != null) {
                respond(r.status(), r.contentType(), r.body(), AsyncWorker.H_REQUEST_ID + ": " + id + "\r\n", keepAlive);
            } else if (f.isPending(id)) {
                respond(202, "application/json", ("{\"id\":\"" + id + "\",\"status\":\"pending\"}").getBytes(StandardCharsets.UTF_8), null, keepAlive);
            } else {
                refuse(404, "no answer known for request id " + id + " (unknown, expired, or submitted to another replica moments ago)",
                        null, keepAlive, start);
            }
        }

        /** One request on its way through the model: its answer passed to the client as it arrives. */
        private final class Proxied implements ModelClient.Exchange, Http1Connection.Streaming {
            private final Route route;
            private final String requestId;
            private final long start;
            private boolean keepAlive;
            private final boolean logIt;
            private final byte[] logged;
            private final long requestBytes;
            private Channel upstream;
            private ByteArrayOutputStream answer;
            private Http1.Chunks logChunks;
            private long answerBytes;
            private int status;
            private boolean over;
            private boolean gone;
            /** The answer's head, held to go out with its small body in one write (head), or null. */
            private ByteBuf waiting;
            /** Bytes of a streamed request body still to come from the client (Long.MAX_VALUE: chunked, until its end). */
            long bodyLeft;
            /** A streamed chunked body: its framing, checked as it passes, and its data bytes so far. */
            Http1.Chunks upChunks;
            long uploaded;
            /** Since when the answer waits for the client to read (System.nanoTime), 0 while it does not. */
            long pausedSince;
            @Override
            public long bodyLeft() {
                return bodyLeft;
            }

            @Override
            public long pausedSince() {
                return pausedSince;
            }

            /** What the metrics say when the client ended the exchange: left (499) or stalled (408). */
            private int goneStatus = 499;

            Proxied(Route route, String requestId, long start, boolean keepAlive, boolean logIt, byte[] logged, long requestBytes) {
                this.route = route;
                this.requestId = requestId;
                this.start = start;
                this.keepAlive = keepAlive;
                this.logIt = logIt;
                this.logged = logged;
                this.requestBytes = requestBytes;
            }

            @Override
            public void upstream(Channel channel) {
                this.upstream = channel;
                if (bodyLeft > 0) {
                    if (gone) {
                        channel.close(); // the client left mid-upload: the model gets no half request
                        return;
                    }
                    ctx.channel().config().setAutoRead(true);
                    forward();
                }
            }

            @Override
            public void upstreamWritable(boolean writable) {
                if (bodyLeft > 0 && !over) {
                    ctx.channel().config().setAutoRead(writable);
                    if (writable) {
                        forward();
                    } else {
                        metrics.uploadsPaused.increment();
                    }
                }
            }

            /** Passes on what has arrived of a streamed body; pauses the client while the model's side is backed up. */
            @Override
            public void forward() {
                if (upstream == null || bodyLeft <= 0 || in == null || !in.isReadable()) {
                    return;
                }
                int n;
                if (upChunks != null) {
                    int end = upChunks.feed(in, in.readerIndex(), in.writerIndex(), (b, i, len) -> uploaded += len);
                    if (end == -2 || uploaded > config.maxBodyBytes()) {
                        // malformed framing, or too large: the model must not take it for a whole request; cut both
                        goneStatus = end == -2 ? 400 : 413;
                        clientGone();
                        closing = true;
                        ctx.close();
                        return;
                    }
                    n = end < 0 ? in.readableBytes() : end - in.readerIndex();
                    bodyLeft = end < 0 ? Long.MAX_VALUE : 0;
                } else {
                    n = (int) Math.min(bodyLeft, in.readableBytes());
                    bodyLeft -= n;
                }
                ModelClient.sendMore(upstream, this, in.readRetainedSlice(n), bodyLeft == 0);
                if (bodyLeft > 0 && !upstream.isWritable() && ctx.channel().config().isAutoRead()) {
                    ctx.channel().config().setAutoRead(false);
                    metrics.uploadsPaused.increment();
                }
                if (!in.isReadable()) {
                    in.release();
                    in = null;
                }
            }

            @Override
            public void head(Http1.Head h, ModelClient.Framing framing) {
                status = h.status;
                if (logIt) {
                    answer = new ByteArrayOutputStream(Math.min(dispatcher.logBytes(), 1024));
                    logChunks = framing == ModelClient.Framing.CHUNKED ? new Http1.Chunks() : null; // the log keeps the data, not the framing
                }
                if (framing == ModelClient.Framing.CLOSE || bodyLeft > 0) {
                    // the model ends its answer by closing, or answers before the whole body came: the client's
                    // connection ends with this answer too
                    keepAlive = false;
                }
                if (gone) {
                    return;
                }
                // the model's head as it came, minus what described its connection, plus the route; a small body
                // known by its length joins it in the same buffer (one write to the client: see body)
                boolean joined = framing == ModelClient.Framing.LENGTH && h.contentLength <= ONE_WRITE;
                ByteBuf out = ctx.alloc().ioBuffer(h.length() + 64 + (joined ? (int) h.contentLength : 0));
                Http1.ascii(out, "HTTP/1.1 ");
                out.writeBytes(h.buf, h.statusAt, 3);
                out.writeByte(' ');
                out.writeBytes(h.buf, h.reasonStart, h.reasonEnd - h.reasonStart);
                out.writeByte('\r').writeByte('\n');
                for (int i = 0; i < h.count; i++) {
                    if (!h.connectionOnly(i)) {
                        h.writeLine(i, out);
                    }
                }
                Http1.ascii(out, Router.STICKY_HEADER);
                out.writeByte(':').writeByte(' ');
                Http1.ascii(out, route.name());
                out.writeByte('\r').writeByte('\n');
                if (!keepAlive) {
                    Http1.ascii(out, "Connection: close\r\n");
                }
                out.writeByte('\r').writeByte('\n');
                if (joined) {
                    waiting = out;
                } else {
                    ctx.write(out, ctx.voidPromise());
                }
            }

            @Override
            public void body(ByteBuf bytes, boolean last, long modelNanos) {
                int n = bytes.readableBytes();
                answerBytes += n;
                if (answer != null && answer.size() < dispatcher.logBytes() && n > 0) {
                    if (logChunks != null) {
                        logChunks.feed(bytes, bytes.readerIndex(), bytes.writerIndex(), this::keep);
                    } else {
                        keep(bytes, bytes.readerIndex(), n);
                    }
                }
                if (gone) {
                    bytes.release();
                    dropWaiting();
                } else {
                    ByteBuf head = waiting;
                    if (head != null) {
                        waiting = null;
                        if (head.writableBytes() >= n) {
                            head.writeBytes(bytes);
                            bytes.release();
                            bytes = head;
                        } else {
                            ctx.write(head, ctx.voidPromise());
                        }
                    }
                    ctx.writeAndFlush(bytes, ctx.voidPromise());
                    if (!last && !ctx.channel().isWritable()) {
                        clientWritable(false); // the client is slow: stop reading the model
                    }
                }
                if (last) {
                    end(status, modelNanos);
                    if (!gone) {
                        next(keepAlive);
                    }
                }
            }

            /** The head held for a body that did not come (the exchange failed or the client left): never sent. */
            private void dropWaiting() {
                if (waiting != null) {
                    waiting.release();
                    waiting = null;
                }
            }

            /** Keeps the answer's first bytes for the request log, up to its cap. */
            private void keep(ByteBuf b, int index, int length) {
                Http1.copyInto(answer, b, index, length, dispatcher.logBytes());
            }

            @Override
            public void failed(int status, String message, long modelNanos) {
                dropWaiting();
                byte[] body = ErrorBody.json(status, message);
                answer = null;
                over = true;
                if (bodyLeft > 0) {
                    keepAlive = false; // the rest of the body is still on its way: this connection cannot go on
                }
                metrics.inFlight.decrement();
                dispatcher.finish("sync", requestId, route, false, gone ? goneStatus : status, System.nanoTime() - start, modelNanos,
                        logIt, logged, requestBytes(), body, body.length);
                if (!gone) {
                    respond(status, "application/json", body, Router.STICKY_HEADER + ": " + route.name() + "\r\n", keepAlive);
                }
            }

            @Override
            public void aborted(String message) {
                dropWaiting();
                end(gone ? goneStatus : 502, -1); // 499: the client left first (nginx's word for it)
                if (!gone) {
                    closing = true;
                    ctx.close(); // the head is out: the only honest signal left is to cut the connection
                }
            }

            private void end(int recorded, long modelNanos) {
                over = true;
                metrics.inFlight.decrement();
                byte[] body = answer == null ? null : answer.toByteArray();
                dispatcher.finish("sync", requestId, route, false, recorded, System.nanoTime() - start, modelNanos, logIt, logged,
                        requestBytes(), body, answerBytes);
            }

            /** The request body's size: a streamed chunked body's is known only as it passes. */
            private long requestBytes() {
                return upChunks != null ? uploaded : requestBytes;
            }

            @Override
            public void clientWritable(boolean writable) {
                if (!over && upstream != null) {
                    if (!writable && pausedSince == 0) {
                        metrics.answersPaused.increment();
                    }
                    ModelClient.pause(upstream, !writable);
                    pausedSince = writable ? 0 : System.nanoTime();
                }
            }

            /** The client stopped sending its body, or stopped reading its answer: end as if it had left, counted as 408. */
            @Override
            public void clientStalled() {
                goneStatus = 408;
                clientGone();
            }

            /** The client left before the answer was complete: stop the model's side too. */
            @Override
            public void clientGone() {
                gone = true;
                dropWaiting();
                if (!over && upstream != null) {
                    upstream.close();
                }
            }
        }
    }
}
