package io.clops.modelserver;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * clops's own runtime for model files: the file's SHA-256 is checked against the one it was registered with (a
 * mismatch is refused, naming both, before anything loads it), the file is loaded by the runtime its format names
 * (ONNX: ONNX Runtime; XGBoost: xgboost4j) and served over the Open Inference Protocol v2 (REST) with its inputs and
 * outputs read from the model: {@code GET /v2/models/{name}} shows them, and an infer request is checked against them
 * (each input present, of the model's datatype, a shape that fits the model's, as many finite values as the shape
 * says), else 400 naming the input. Datatypes: FP32, FP64, INT32, INT64.
 * <pre>
 * java -cp … io.clops.modelserver.ModelServer --file iris.onnx --sha256 HEX [--format onnx|xgboost] [--name iris] [--port 8080 | env PORT]
 * </pre>
 */
public final class ModelServer implements AutoCloseable {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    static final long MAX_BODY = 16L << 20;

    private final String name;
    private final String sha256;
    private final Model model;
    private final String host;
    private final int requestedPort;
    private final io.netty.channel.EventLoopGroup loops;
    private final boolean epoll = io.netty.channel.epoll.Epoll.isAvailable(); // else NIO
    private volatile java.util.concurrent.ExecutorService handlers;
    private io.netty.channel.Channel channel;
    private volatile Batcher batcher; // null: each request runs alone
    /**
     * A connection with no request being answered that sends nothing for this long is closed: an idle keep-alive
     * connection, or a head or body that stopped arriving (as the JDK's server did, 30 s).
     */
    private volatile long idleMillis = 30_000;

    /** Checks the file's digest, loads it as {@code format} (onnx or xgboost) and binds; {@link #start} serves. */
    public static ModelServer open(Path file, String sha256, String format, String name, String host, int port) throws Exception {
        return open(file, sha256, format, name, host, port, 1);
    }

    /** @param intraOpThreads threads one ONNX Runtime call may use (0: one per core); XGBoost ignores it */
    public static ModelServer open(Path file, String sha256, String format, String name, String host, int port, int intraOpThreads)
            throws Exception {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("--intra-op-threads: 0 (one per core) or more, not " + intraOpThreads);
        }
        String digest = Artifacts.verify(file, sha256); // before a runtime reads a byte of it
        Model m = switch (format) {
            case "onnx" -> new OnnxModel(file, intraOpThreads);
            case "xgboost" -> new XgboostModel(file);
            default -> throw new IllegalArgumentException("format: onnx or xgboost, not '" + format + "'");
        };
        try {
            return new ModelServer(m, digest, name, host, port);
        } catch (IOException e) {
            m.close();
            throw e;
        }
    }

    private ModelServer(Model model, String sha256, String name, String host, int port) throws IOException {
        this.model = model;
        this.sha256 = sha256;
        this.name = name;
        this.host = host;
        this.requestedPort = port;
        // the event loops read and write; a request's model call runs on a handler thread (a model may take its time,
        // and a batch waits for company), two per core: one can run the model while another's answer is written
        this.loops = new io.netty.channel.MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(),
                new io.netty.util.concurrent.DefaultThreadFactory("modelserver-io", false), // they keep the process serving
                epoll ? io.netty.channel.epoll.EpollIoHandler.newFactory() : io.netty.channel.nio.NioIoHandler.newFactory());
        this.handlers = Executors.newFixedThreadPool(Math.max(4, 2 * Runtime.getRuntime().availableProcessors()), handlerThreads());
    }

    /** Handler threads are daemons: the event loops are what keeps a serving process alive. */
    private static java.util.concurrent.ThreadFactory handlerThreads() {
        return new io.netty.util.concurrent.DefaultThreadFactory("modelserver-handler", true);
    }

    /**
     * Batches concurrent requests: up to {@code maxRows} rows, waiting at most {@code maxDelayMicros} after the first
     * (a model whose inputs and outputs do not all start with the batch dimension is served unbatched, and said so).
     */
    public ModelServer batching(int maxRows, long maxDelayMicros) {
        if (maxRows > 1 && Batcher.batchable(model)) {
            this.batcher = new Batcher(model, maxRows, maxDelayMicros);
            // a request waits for its batch on its handler thread: enough of them to fill a batch twice over
            java.util.concurrent.ExecutorService old = handlers;
            handlers = Executors.newFixedThreadPool(Math.max(4, 2 * maxRows), handlerThreads());
            old.shutdown();
        } else if (maxRows > 1) {
            System.err.println("model '" + name + "' has a tensor without a batch dimension first: served unbatched");
        }
        return this;
    }

    /** Sets {@link #idleMillis} (before {@link #start}). */
    ModelServer idleMillis(long millis) {
        this.idleMillis = millis;
        return this;
    }

    /** Model runs and requests answered through the batcher (null without one). */
    long[] batchingCounts() {
        Batcher b = batcher;
        return b == null ? null : new long[]{b.runs.sum(), b.requests.sum()};
    }

    public ModelServer start() {
        io.netty.channel.ChannelFuture bound = new io.netty.bootstrap.ServerBootstrap().group(loops)
                .channel(epoll ? io.netty.channel.epoll.EpollServerSocketChannel.class : io.netty.channel.socket.nio.NioServerSocketChannel.class)
                .option(io.netty.channel.ChannelOption.SO_BACKLOG, 1024)
                .childOption(io.netty.channel.ChannelOption.TCP_NODELAY, true) // small answers must not wait for a delayed ACK
                .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
                    @Override
                    protected void initChannel(io.netty.channel.Channel ch) {
                        ch.pipeline().addLast(new io.netty.handler.timeout.IdleStateHandler(0, 0, idleMillis, java.util.concurrent.TimeUnit.MILLISECONDS))
                                .addLast(new io.netty.handler.codec.http.HttpServerCodec(4096, 16 * 1024, 64 * 1024))
                                .addLast(new io.netty.handler.codec.http.HttpObjectAggregator((int) MAX_BODY, true))
                                .addLast(new Connection());
                    }
                })
                .bind(host, requestedPort).awaitUninterruptibly();
        if (!bound.isSuccess()) { // its threads must not keep a process alive that cannot serve
            loops.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            handlers.shutdownNow();
            throw new IllegalStateException("cannot listen on " + host + ":" + requestedPort + ": " + bound.cause().getMessage(), bound.cause());
        }
        channel = bound.channel();
        return this;
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        loops.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        handlers.shutdownNow();
        if (batcher != null) {
            batcher.close();
        }
        model.close();
    }

    /** An answer: its status and JSON body. */
    record Answer(int status, byte[] json) {
        static Answer of(int status, JsonNode body) {
            try {
                return new Answer(status, JSON.writeValueAsBytes(body));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * One client connection: requests are answered in the order they came (HTTP/1.1), one at a time; the model call
     * runs on a handler thread, the answer is written back on the connection's event loop.
     */
    private final class Connection extends io.netty.channel.SimpleChannelInboundHandler<io.netty.handler.codec.http.FullHttpRequest> {
        private final java.util.ArrayDeque<io.netty.handler.codec.http.FullHttpRequest> waiting = new java.util.ArrayDeque<>();
        private boolean busy;

        Connection() {
            super(false); // released once answered
        }

        @Override
        protected void channelRead0(io.netty.channel.ChannelHandlerContext ctx, io.netty.handler.codec.http.FullHttpRequest request) {
            waiting.add(request);
            next(ctx);
        }

        private void next(io.netty.channel.ChannelHandlerContext ctx) {
            if (busy || waiting.isEmpty()) {
                return;
            }
            io.netty.handler.codec.http.FullHttpRequest request = waiting.poll();
            busy = true;
            boolean keepAlive = io.netty.handler.codec.http.HttpUtil.isKeepAlive(request);
            if (!request.decoderResult().isSuccess()) {
                request.release();
                write(ctx, Answer.of(400, error("not an HTTP/1.1 request: " + request.decoderResult().cause().getMessage())), false);
                return;
            }
            String method = request.method().name();
            String path = new io.netty.handler.codec.http.QueryStringDecoder(request.uri()).rawPath();
            byte[] body = io.netty.buffer.ByteBufUtil.getBytes(request.content());
            request.release();
            try {
                handlers.execute(() -> {
                    Answer a;
                    try {
                        a = respond(method, path, body);
                    } catch (RuntimeException e) {
                        a = Answer.of(500, error("the model server failed: " + e));
                    }
                    Answer answer = a;
                    ctx.executor().execute(() -> write(ctx, answer, keepAlive));
                });
            } catch (java.util.concurrent.RejectedExecutionException e) { // closing
                write(ctx, Answer.of(503, error("the model server is stopping")), false);
            }
        }

        private void write(io.netty.channel.ChannelHandlerContext ctx, Answer a, boolean keepAlive) {
            var response = new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                    io.netty.handler.codec.http.HttpResponseStatus.valueOf(a.status()), io.netty.buffer.Unpooled.wrappedBuffer(a.json()));
            response.headers().set(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_TYPE, "application/json")
                    .setInt(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_LENGTH, a.json().length);
            if (!keepAlive) {
                response.headers().set(io.netty.handler.codec.http.HttpHeaderNames.CONNECTION, "close");
                ctx.writeAndFlush(response).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                return;
            }
            ctx.writeAndFlush(response, ctx.voidPromise());
            busy = false;
            next(ctx);
        }

        @Override
        public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
            waiting.forEach(io.netty.util.ReferenceCounted::release);
            waiting.clear();
            ctx.fireChannelInactive();
        }

        @Override
        public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object event) {
            // quiet both ways for idleMillis while nothing is being answered (a model may take its time: not then)
            if (event instanceof io.netty.handler.timeout.IdleStateEvent && !busy) {
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(event);
            }
        }

        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a connection reset by its client, say: nothing to answer
        }
    }

    /** What the model declares, as OIP v2 metadata. */
    ObjectNode metadata() {
        ObjectNode m = JSON.createObjectNode();
        m.put("name", name).put("platform", model.platform()).put("sha256", sha256);
        m.set("inputs", describe(model.inputs()));
        m.set("outputs", describe(model.outputs()));
        return m;
    }

    private static ArrayNode describe(List<Model.Spec> tensors) {
        ArrayNode a = JSON.createArrayNode();
        for (Model.Spec t : tensors) {
            ObjectNode o = a.addObject().put("name", t.name()).put("datatype", t.datatype());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
        }
        return a;
    }

    /** The answer to one request (a handler thread's work). */
    Answer respond(String method, String path, byte[] body) {
        String base = "/v2/models/" + name;
        if (method.equals("GET") && (path.equals("/v2/health/live") || path.equals("/v2/health/ready") || path.equals(base + "/ready"))) {
            return Answer.of(200, JSON.createObjectNode().put("live", true));
        } else if (method.equals("GET") && (path.equals(base) || path.equals(base + "/versions/1"))) {
            return Answer.of(200, metadata());
        } else if (method.equals("POST") && path.equals(base + "/infer")) {
            return infer(body);
        }
        return Answer.of(404, error("no such endpoint: " + method + " " + path + " (this server serves model '" + name + "')"));
    }

    private Answer infer(byte[] body) {
        JsonNode request;
        try {
            request = JSON.readTree(body);
        } catch (IOException e) {
            String why = e instanceof com.fasterxml.jackson.core.JacksonException j ? j.getOriginalMessage() : e.getMessage();
            return Answer.of(400, error("the request is not one JSON document: " + why));
        }
        if (request == null) {
            return Answer.of(400, error("the request is not one JSON document: it is empty"));
        }
        try {
            Batcher b = batcher;
            Map<String, Model.Tensor> result = b != null ? b.infer(tensors(request)) : model.infer(tensors(request));
            ObjectNode answer = JSON.createObjectNode().put("model_name", name);
            if (request.path("id").isTextual()) {
                answer.put("id", request.get("id").asText());
            }
            ArrayNode out = answer.putArray("outputs");
            result.forEach((n, t) -> out.add(output(n, t)));
            return Answer.of(200, answer);
        } catch (Invalid e) {
            return Answer.of(400, error(e.getMessage()));
        } catch (Exception e) {
            return Answer.of(500, error("the model failed: " + e.getMessage()));
        }
    }

    /** A request the model cannot take, and why (naming the input). */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    /** The request's inputs as the model's tensors, each checked against what the model declares. */
    Map<String, Model.Tensor> tensors(JsonNode request) throws Invalid {
        if (!request.isObject() || !request.path("inputs").isArray()) {
            throw new Invalid("inputs: required, an array of tensors (Open Inference Protocol v2)");
        }
        Map<String, Model.Spec> declared = new LinkedHashMap<>();
        model.inputs().forEach(s -> declared.put(s.name(), s));
        Map<String, JsonNode> given = new LinkedHashMap<>();
        for (JsonNode in : request.get("inputs")) {
            String n = in.path("name").asText("");
            if (!declared.containsKey(n)) {
                throw new Invalid("inputs: '" + n + "' is not an input of model '" + name + "' (it takes " + declared.keySet() + ")");
            }
            if (given.put(n, in) != null) {
                throw new Invalid("inputs: '" + n + "' is given twice");
            }
        }
        Map<String, Model.Tensor> out = new HashMap<>();
        for (Model.Spec s : declared.values()) {
            JsonNode in = given.get(s.name());
            if (in == null) {
                throw new Invalid("inputs: '" + s.name() + "' is required by model '" + name + "'");
            }
            out.put(s.name(), tensor(s, in));
        }
        return out;
    }

    private static Model.Tensor tensor(Model.Spec declared, JsonNode in) throws Invalid {
        String input = declared.name();
        String want = declared.datatype();
        if (!want.equals(in.path("datatype").asText())) {
            throw new Invalid("inputs." + input + ".datatype: the model takes " + want + ", not " + in.path("datatype"));
        }
        JsonNode shapeNode = in.path("shape");
        long[] model = declared.shape();
        if (!shapeNode.isArray() || shapeNode.size() != model.length) {
            throw new Invalid("inputs." + input + ".shape: " + model.length + " dimensions, as the model's " + java.util.Arrays.toString(model));
        }
        long[] shape = new long[model.length];
        long count = 1;
        for (int i = 0; i < model.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > MAX_BODY) {
                throw new Invalid("inputs." + input + ".shape[" + i + "]: a whole number from 0 to " + MAX_BODY + ", not " + d);
            }
            shape[i] = d.asLong();
            if (model[i] >= 0 && model[i] != shape[i]) {
                throw new Invalid("inputs." + input + ".shape[" + i + "]: the model takes " + model[i] + ", not " + shape[i]);
            }
            count *= shape[i];
            if (count > MAX_BODY) {
                throw new Invalid("inputs." + input + ".shape: more than " + MAX_BODY + " elements");
            }
        }
        JsonNode data = in.path("data");
        List<JsonNode> values = new ArrayList<>();
        flatten(data, values);
        if (!data.isArray() || values.size() != count) {
            throw new Invalid("inputs." + input + ".data: " + count + " values for shape " + java.util.Arrays.toString(shape) + ", not " + values.size());
        }
        boolean real = want.startsWith("FP");
        double[] reals = real ? new double[values.size()] : null;
        long[] integers = real ? null : new long[values.size()];
        for (int i = 0; i < values.size(); i++) {
            JsonNode v = values.get(i);
            boolean ok = real ? v.isNumber() && Double.isFinite(v.asDouble()) && (want.equals("FP64") || Math.abs(v.asDouble()) <= Float.MAX_VALUE)
                    : v.isIntegralNumber() && v.canConvertToLong() && (want.equals("INT64") || v.canConvertToInt());
            if (!ok) {
                throw new Invalid("inputs." + input + ".data[" + i + "]: a " + (real ? "finite " + want + " number" : want + " integer") + ", not " + v);
            }
            if (real) {
                reals[i] = v.asDouble();
            } else {
                integers[i] = v.asLong();
            }
        }
        return new Model.Tensor(want, shape, reals, integers);
    }

    /** OIP v2 takes data flat or nested as the shape: both are read row-major. */
    private static void flatten(JsonNode data, List<JsonNode> out) {
        if (data.isArray()) {
            data.forEach(d -> flatten(d, out));
        } else {
            out.add(data);
        }
    }

    private static ObjectNode output(String name, Model.Tensor t) {
        ObjectNode o = JSON.createObjectNode().put("name", name).put("datatype", t.datatype());
        ArrayNode shape = o.putArray("shape");
        for (long d : t.shape()) {
            shape.add(d);
        }
        ArrayNode data = o.putArray("data");
        if (t.reals() != null) {
            boolean fp32 = t.datatype().equals("FP32");
            for (double v : t.reals()) {
                if (fp32) {
                    data.add((float) v);
                } else {
                    data.add(v);
                }
            }
        } else {
            for (long v : t.integers()) {
                data.add(v);
            }
        }
        return o;
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        boolean fetch = a.containsKey("uri") && a.containsKey("cache");
        if (!(a.containsKey("file") || fetch) || !a.containsKey("sha256")) {
            System.err.println("usage: ModelServer (--file MODEL | --uri URI --cache DIR [--credentials-dir DIR] [--project P] [--public-hosts-only true]) --sha256 HEX [--format onnx|xgboost] [--name NAME] [--host H]"
                    + " [--port P | env PORT] [--max-batch ROWS --max-delay-us MICROS] [--intra-op-threads N]");
            System.exit(2);
        }
        int port = Integer.parseInt(a.getOrDefault("port", System.getenv().getOrDefault("PORT", "8080")));
        boolean publicHostsOnly = "true".equals(a.get("public-hosts-only"));
        if (publicHostsOnly) {
            Artifacts.pinResolutions(); // before any name is resolved: the fetch connects where the check looked
        }
        try {
            if (fetch) { // a model file elsewhere: into the cache by digest first (fetched once, verified)
                ModelCache cache = new ModelCache(Path.of(a.get("cache")), null,
                        a.containsKey("credentials-dir") ? Path.of(a.get("credentials-dir")) : null, a.get("project"));
                ModelCache.Entry e = (publicHostsOnly ? cache.publicHostsOnly() : cache)
                        .ensure(java.net.URI.create(a.get("uri")), a.get("sha256"));
                System.out.println((e.fetched() ? "fetched " : "cached ") + a.get("uri") + " as " + e.path());
                a.put("file", e.path().toString());
            }
            ModelCache.servedByThisProcess(Path.of(a.get("file"))); // a node's cache keeps what runs (prune skips it)
            ModelServer s = open(Path.of(a.get("file")), a.get("sha256"), a.getOrDefault("format", "onnx"), a.getOrDefault("name", "model"),
                    a.getOrDefault("host", "127.0.0.1"), port, Integer.parseInt(a.getOrDefault("intra-op-threads", "1")))
                    .batching(Integer.parseInt(a.getOrDefault("max-batch", "1")), Long.parseLong(a.getOrDefault("max-delay-us", "2000"))).start();
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
            System.out.println("serving " + a.get("file") + " (sha256 " + a.get("sha256") + ", " + a.getOrDefault("format", "onnx") + ") as '"
                    + a.getOrDefault("name", "model") + "' on port " + s.port());
        } catch (Artifacts.DigestMismatch e) {
            System.err.println(e.getMessage());
            System.exit(3); // the process's exit reason is what the deployment's status shows
        } catch (IOException e) { // a fetch refused (401, 404), a file that cannot be read: its reason, not a stack frame, last
            e.printStackTrace();
            System.err.println(e.getMessage() != null ? e.getMessage() : e.toString());
            System.exit(3);
        }
    }
}
