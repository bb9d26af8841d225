package io.clops.executor;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufInputStream;
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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sync side: health, metrics, and a reverse proxy to the model for everything else (OIP v2 paths such as
 * /v2/models/{name}/infer and any raw path). Before the model: the token check (401), the rate limit (429 with
 * Retry-After), the body size (413) and, for infer requests, the shape of the inputs (400 naming the input); then
 * the version is chosen ({@link Router}) and named in the {@value Router#STICKY_HEADER} response header. The model
 * down is 503, too slow 504. Every error is JSON: {"error": "...", "status": N}.
 * <p>
 * Non-blocking (Netty): a request and its call to the model run on the event loop the connection belongs to. The
 * request body is held once (up to the size limit: the shape check, the shadow copy and a resend on a stale
 * connection need it) and handed to the model without copying; the answer is passed on to the client as it comes
 * (a streamed or chunked answer stays streamed), reading from the model paused while the client is slow to take it.
 */
public final class SyncServer {
    /** Headers copied from a message the codec has already validated: not validated again. */
    static final HttpHeadersFactory COPIED = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final Pattern ASYNC_INFER = Pattern.compile("/v2/models/([^/]+)(/versions/[^/]+)?/infer");

    private final ExecutorConfig config;
    private final EventLoops loops;
    private final Dispatcher dispatcher;
    private final Metrics metrics;
    private final RateLimiter limiter;
    private final TokenCheck tokens;
    private final ExecutorService blocking;
    private volatile AsyncFacade facade;
    private Channel server;

    public SyncServer(ExecutorConfig config, EventLoops loops, Dispatcher dispatcher, Metrics metrics, RateLimiter limiter, TokenCheck tokens) {
        this.config = config;
        this.loops = loops;
        this.dispatcher = dispatcher;
        this.metrics = metrics;
        this.limiter = limiter;
        this.tokens = tokens;
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

    public SyncServer start() {
        int maxBody = (int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes());
        server = new ServerBootstrap().group(loops.group()).channel(loops.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(8192, 16384, 16384), new BodyLimit(maxBody), new Connection());
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

    /** Holds a request's body up to the limit; past it, a JSON 413 and the connection is closed. */
    private final class BodyLimit extends HttpObjectAggregator {
        BodyLimit(int max) {
            super(max);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            metrics.record("sync", "-", 413, 0, -1);
            FullHttpResponse r = json(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                    ErrorBody.json(413, "request body larger than " + config.maxBodyBytes() + " bytes"));
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    static FullHttpResponse json(HttpResponseStatus status, byte[] body) {
        return response(status, "application/json", body);
    }

    static FullHttpResponse response(HttpResponseStatus status, String contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType).setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }

    /**
     * One client connection. Requests on it are answered in order, one at a time (pipelined ones wait their turn).
     * All its state is touched on its event loop only.
     */
    private final class Connection extends ChannelInboundHandlerAdapter {
        private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>(2);
        private ChannelHandlerContext ctx;
        private boolean busy;
        private Proxied current;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpRequest req)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (busy) {
                waiting.addLast(req);
            } else {
                serve(req);
            }
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
            FullHttpRequest r;
            while ((r = waiting.pollFirst()) != null) {
                r.release();
            }
            if (current != null) {
                current.clientGone();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private void serve(FullHttpRequest req) {
            busy = true;
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                req.release();
                respond(json(HttpResponseStatus.BAD_REQUEST, ErrorBody.json(400, "malformed HTTP request: " + req.decoderResult().cause())), false);
                return;
            }
            String uri = req.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            switch (path) {
                case "/v2/health/live" -> {
                    req.release();
                    respond(json(HttpResponseStatus.OK, "{\"live\":true}".getBytes(StandardCharsets.UTF_8)), keepAlive);
                }
                case "/v2/health/ready" -> {
                    req.release();
                    dispatcher.ready(config.protocol()).whenComplete((ready, e) -> {
                        boolean ok = e == null && ready;
                        respond(json(ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                                ("{\"ready\":" + ok + "}").getBytes(StandardCharsets.UTF_8)), keepAlive);
                    });
                }
                case "/metrics" -> {
                    req.release();
                    respond(response(HttpResponseStatus.OK, "text/plain; version=0.0.4",
                            metrics.scrape(config.project(), config.deployment()).getBytes(StandardCharsets.UTF_8)), keepAlive);
                }
                default -> {
                    if (path.startsWith("/async/")) {
                        async(req, path.substring("/async".length()), keepAlive);
                    } else {
                        proxy(req, uri, keepAlive);
                    }
                }
            }
        }

        /** Sends a whole answer (from any thread); then the next request on this connection, or close. */
        private void respond(FullHttpResponse r, boolean keepAlive) {
            if (!ctx.executor().inEventLoop()) {
                ctx.executor().execute(() -> respond(r, keepAlive));
                return;
            }
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            ctx.writeAndFlush(r);
            next(keepAlive);
        }

        private void refuse(int status, String message, boolean keepAlive, long start) {
            metrics.record("sync", "-", status, System.nanoTime() - start, -1);
            respond(json(HttpResponseStatus.valueOf(status), ErrorBody.json(status, message)), keepAlive);
        }

        /** The current request is answered. */
        private void next(boolean keepAlive) {
            busy = false;
            current = null;
            if (!keepAlive) {
                ctx.flush();
                ctx.close();
                return;
            }
            FullHttpRequest n = waiting.pollFirst();
            if (n != null) {
                serve(n);
            }
        }

        private void proxy(FullHttpRequest req, String uri, boolean keepAlive) {
            long start = System.nanoTime();
            String denied = tokens.denied(req.headers().get(HttpHeaderNames.AUTHORIZATION));
            if (denied != null) {
                req.release();
                refuse(401, denied, keepAlive, start);
                return;
            }
            long wait = limiter.acquire();
            if (wait > 0) {
                req.release();
                FullHttpResponse r = json(HttpResponseStatus.TOO_MANY_REQUESTS, ErrorBody.json(429,
                        "rate limit of " + config.rateLimitRps() + " requests/s exceeded; retry after " + wait + " s"));
                r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(wait));
                metrics.record("sync", "-", 429, System.nanoTime() - start, -1);
                respond(r, keepAlive);
                return;
            }
            String method = req.method().name();
            String requestId = req.headers().get("X-Request-Id");
            int size = req.content().readableBytes();
            boolean logIt = dispatcher.sampled();
            byte[] logged = logIt ? ByteBufUtil.getBytes(req.content(), req.content().readerIndex(), Math.min(size, dispatcher.logBytes())) : null;
            String wrong = dispatcher.invalid(method, uri, () -> new ByteBufInputStream(req.content().duplicate()));
            if (wrong != null) {
                req.release();
                byte[] body = ErrorBody.json(400, wrong);
                dispatcher.finish("sync", requestId, Dispatcher.NONE, false, 400, System.nanoTime() - start, -1, logIt, logged, size, body, body.length);
                respond(json(HttpResponseStatus.BAD_REQUEST, body), keepAlive);
                return;
            }
            Route route = dispatcher.choose(req.headers().get(Router.STICKY_HEADER));
            ModelClient client = dispatcher.client(route);
            EventLoop loop = (EventLoop) ctx.executor();
            // the request goes on as it came, minus what described the client's connection; its body is not copied
            Hop.strip(req.headers());
            req.setProtocolVersion(HttpVersion.HTTP_1_1);
            if (dispatcher.hasShadow()) {
                FullHttpRequest copy = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, req.method(), uri,
                        req.content().retainedDuplicate(), req.headers().copy(), COPIED.newEmptyHeaders());
                dispatcher.shadow("sync", requestId, loop, copy, logIt, logged, size);
            }
            req.setUri(client.target(uri));
            metrics.inFlight.incrementAndGet();
            current = new Proxied(route, requestId, start, keepAlive, logIt, logged, size);
            client.exchange(loop, req, current);
        }

        /** POST /async/v2/models/{m}/infer → 202 {id}; GET /async/results/{id} → the answer, or 202 while pending. */
        private void async(FullHttpRequest req, String rest, boolean keepAlive) {
            long start = System.nanoTime();
            try {
                String denied = tokens.denied(req.headers().get(HttpHeaderNames.AUTHORIZATION));
                AsyncFacade f = facade;
                if (denied != null) {
                    refuse(401, denied, keepAlive, start);
                } else if (f == null) {
                    refuse(404, "this deployment is not async (spec.mode sync)", keepAlive, start);
                } else if (req.method().equals(HttpMethod.GET) && rest.startsWith("/results/")) {
                    result(f, rest.substring("/results/".length()), keepAlive, start);
                } else {
                    Matcher m = ASYNC_INFER.matcher(rest);
                    if (!req.method().equals(HttpMethod.POST) || !m.matches()) {
                        refuse(404, "async paths: POST /async/v2/models/{model}/infer, GET /async/results/{id}", keepAlive, start);
                        return;
                    }
                    String requestId = req.headers().get("X-Request-Id");
                    String model = m.group(1);
                    byte[] body = ByteBufUtil.getBytes(req.content());
                    blocking.execute(() -> {
                        try {
                            String id = f.submit(requestId, model, body);
                            FullHttpResponse r = json(HttpResponseStatus.ACCEPTED, ("{\"id\":\"" + id + "\",\"status\":\"submitted\",\"result\":\"/async/results/"
                                    + id + "\"}").getBytes(StandardCharsets.UTF_8));
                            r.headers().set(HttpHeaderNames.LOCATION, "/async/results/" + id);
                            respond(r, keepAlive);
                        } catch (Exception e) {
                            refuse(503, "cannot put the request on Kafka: " + e.getMessage(), keepAlive, start);
                        }
                    });
                }
            } finally {
                req.release();
            }
        }

        private void result(AsyncFacade f, String id, boolean keepAlive, long start) {
            AsyncFacade.Result r = f.result(id);
            if (r != null) {
                FullHttpResponse out = response(HttpResponseStatus.valueOf(r.status()), r.contentType(), r.body());
                out.headers().set(AsyncWorker.H_REQUEST_ID, id);
                respond(out, keepAlive);
            } else if (f.isPending(id)) {
                respond(json(HttpResponseStatus.ACCEPTED, ("{\"id\":\"" + id + "\",\"status\":\"pending\"}").getBytes(StandardCharsets.UTF_8)), keepAlive);
            } else {
                refuse(404, "no answer known for request id " + id + " (unknown, expired, or submitted to another replica moments ago)", keepAlive, start);
            }
        }

        /** One request on its way through the model: its answer streamed to the client as it arrives. */
        private final class Proxied implements ModelClient.Exchange {
            private final Route route;
            private final String requestId;
            private final long start;
            private final boolean keepAlive;
            private final boolean logIt;
            private final byte[] logged;
            private final long requestBytes;
            private Channel upstream;
            private ByteArrayOutputStream answer;
            private long answerBytes;
            private int status;
            private boolean over;
            private boolean gone;

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
            }

            @Override
            public void head(HttpResponse head) {
                status = head.status().code();
                if (logIt) {
                    answer = new ByteArrayOutputStream(Math.min(dispatcher.logBytes(), 1024));
                }
                if (gone) {
                    return;
                }
                HttpResponse out = head; // passed on as it came, minus what described the model's connection
                Hop.strip(out.headers());
                out.setProtocolVersion(HttpVersion.HTTP_1_1);
                if (!HttpUtil.isContentLengthSet(out) && !HttpUtil.isTransferEncodingChunked(out)) {
                    HttpUtil.setTransferEncodingChunked(out, true); // the model ends its answer by closing: chunk it
                }
                out.headers().set(Router.STICKY_HEADER, route.name());
                if (!keepAlive) {
                    out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                }
                ctx.write(out);
            }

            @Override
            public void content(HttpContent content, boolean last, long modelNanos) {
                int n = content.content().readableBytes();
                answerBytes += n;
                if (answer != null && answer.size() < dispatcher.logBytes() && n > 0) {
                    int take = Math.min(n, dispatcher.logBytes() - answer.size());
                    answer.writeBytes(ByteBufUtil.getBytes(content.content(), content.content().readerIndex(), take));
                }
                if (gone) {
                    content.release();
                } else {
                    ctx.writeAndFlush(content);
                    if (!last && !ctx.channel().isWritable()) {
                        upstream.config().setAutoRead(false); // the client is slow: stop reading the model
                    }
                }
                if (last) {
                    end(status, modelNanos);
                    if (!gone) {
                        next(keepAlive);
                    }
                }
            }

            @Override
            public void failed(int status, String message, long modelNanos) {
                byte[] body = ErrorBody.json(status, message);
                answer = null;
                over = true;
                metrics.inFlight.decrementAndGet();
                dispatcher.finish("sync", requestId, route, false, status, System.nanoTime() - start, modelNanos, logIt, logged,
                        requestBytes, body, body.length);
                if (!gone) {
                    FullHttpResponse r = json(HttpResponseStatus.valueOf(status), body);
                    r.headers().set(Router.STICKY_HEADER, route.name());
                    respond(r, keepAlive);
                }
            }

            @Override
            public void aborted(String message) {
                end(gone ? 499 : 502, -1); // 499: the client left first (nginx's word for it)
                if (!gone) {
                    ctx.close(); // the head is out: the only honest signal left is to cut the connection
                }
            }

            private void end(int recorded, long modelNanos) {
                over = true;
                metrics.inFlight.decrementAndGet();
                byte[] body = answer == null ? null : answer.toByteArray();
                dispatcher.finish("sync", requestId, route, false, recorded, System.nanoTime() - start, modelNanos, logIt, logged,
                        requestBytes, body, answerBytes);
            }

            void clientWritable(boolean writable) {
                if (!over && upstream != null) {
                    upstream.config().setAutoRead(writable);
                }
            }

            /** The client left before the answer was complete: stop the model's side too. */
            void clientGone() {
                gone = true;
                if (!over && upstream != null) {
                    upstream.close();
                }
            }
        }
    }
}
