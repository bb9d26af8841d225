package io.clops.executor;

import io.netty.channel.EventLoop;
import io.netty.buffer.ByteBuf;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * What both the sync and the async side do with a request: check its shape, choose a version (weighted, sticky),
 * copy it to the shadow (whose answer is only logged), measure and log. One place, so both sides behave the same.
 * The sync side streams the chosen version's answer itself ({@link SyncServer}); the async side takes it whole
 * ({@link #dispatch}).
 */
public final class Dispatcher {

    /** The chosen route and the model's reply. */
    public record Answer(Route route, ModelClient.Reply reply) {
    }

    /** No version was called (the request was refused before). */
    static final Route NONE = new Route("-", "", 0);

    private final Router router;
    private final Map<String, ModelClient> clients = new HashMap<>();
    private final Route shadow;
    /** The metrics route of shadow answers (built once, not per answer). */
    private final String shadowSeries;
    private final ModelClient shadowClient;
    private final Admission admission;
    private final InferenceLog log;
    private final Metrics metrics;
    private final EventLoops loops;

    public Dispatcher(ExecutorConfig config, EventLoops loops, Router router, Admission admission, InferenceLog log, Metrics metrics) {
        this.router = router;
        for (Route r : router.routes()) {
            clients.put(r.name(), new ModelClient(loops, r.url(), config.timeoutMs(), config.auth() != null));
        }
        this.shadow = config.shadow();
        this.shadowSeries = shadow == null ? null : "shadow:" + shadow.name();
        this.shadowClient = shadow == null ? null : new ModelClient(loops, shadow.url(), config.timeoutMs(), config.auth() != null);
        this.loops = loops;
        this.admission = admission;
        this.log = log;
        this.metrics = metrics;
    }

    /** An event loop to call models on (round robin). */
    public EventLoop nextLoop() {
        return loops.group().next();
    }

    public ModelClient client(Route r) {
        return clients.get(r.name());
    }

    /** The checks every request passes, sync and async: one chain ({@link Admission}). */
    Admission admission() {
        return admission;
    }

    /** Whether the admission chain reads this request's body (an infer call on a model with declared inputs). */
    public boolean checks(String method, String path) {
        return admission.reads(method, path);
    }

    public Route choose(String sticky) {
        return router.choose(sticky);
    }

    /** Whether this request goes to the request log (sampling decided once, for the answer and its shadow alike). */
    public boolean sampled() {
        return log != null && log.sampled();
    }

    /** The most of a body a log record keeps (0 when nothing is logged). */
    public int logBytes() {
        return log == null ? 0 : log.maxBodyBytes();
    }

    public boolean hasShadow() {
        return shadowClient != null;
    }

    /** Sends a copy of the request to the shadow version (the body shared, not copied); its answer is measured and logged. */
    public void shadow(String mode, String requestId, EventLoop loop, String method, String pathAndQuery, Http1.Head from,
                       ByteBuf body, boolean logIt, byte[] logged, long requestBytes) {
        long start = System.nanoTime();
        ByteBuf head = shadowClient.encode(io.netty.buffer.ByteBufAllocator.DEFAULT,
                method, pathAndQuery, from, Map.of(), body.readableBytes());
        shadowClient.call(loop, new ModelClient.Outbound(head, body.retainedDuplicate(), "HEAD".equals(method)))
                .thenAccept(r -> finish(mode, requestId, shadow, true, r.status(), System.nanoTime() - start,
                        r.modelNanos(), logIt, logged, requestBytes, r.body(), r.body().length));
    }

    /** Measures an answered request and, when sampled, logs it (bodies possibly cut to {@link #logBytes()}). */
    public void finish(String mode, String requestId, Route route, boolean isShadow, int status, long totalNanos, long modelNanos,
                       boolean logIt, byte[] request, long requestBytes, byte[] response, long responseBytes) {
        metrics.record(mode, isShadow ? shadowSeries : route.name(), status, totalNanos, modelNanos);
        if (logIt) {
            log.log(requestId, mode, route.name(), isShadow, status, totalNanos, modelNanos, request, requestBytes, response, responseBytes);
        }
    }

    /** The async side: the whole answer of the chosen version, the model called on {@code loop}. */
    public CompletableFuture<Answer> dispatch(EventLoop loop, String mode, String requestId, String method, String path,
                                              Map<String, List<String>> headers, byte[] body, String sticky, long startNanos) {
        boolean logIt = sampled();
        // the async side's share of the chain: what it sends (who may write the topic is Kafka's ACLs until identity lands)
        Admission.Refusal wrong = admission.what(method, path, () -> new ByteArrayInputStream(body));
        if (wrong != null) {
            ModelClient.Reply r = ModelClient.error(wrong.status(), wrong.message(), -1);
            finish(mode, requestId, NONE, false, wrong.status(), System.nanoTime() - startNanos, -1, logIt, body, body.length, r.body(), r.body().length);
            return CompletableFuture.completedFuture(new Answer(NONE, r));
        }
        Route route = router.choose(sticky);
        if (shadowClient != null) {
            long shadowStart = System.nanoTime();
            shadowClient.call(loop, method, path, headers, body).thenAccept(r -> finish(mode, requestId, shadow, true, r.status(),
                    System.nanoTime() - shadowStart, r.modelNanos(), logIt, body, body.length, r.body(), r.body().length));
        }
        return client(route).call(loop, method, path, headers, body).thenApply(r -> {
            finish(mode, requestId, route, false, r.status(), System.nanoTime() - startNanos, r.modelNanos(), logIt,
                    body, body.length, r.body(), r.body().length);
            return new Answer(route, r);
        });
    }

    /** Ready when every route's model is (the shadow does not count). */
    public CompletableFuture<Boolean> ready(String protocol) {
        List<CompletableFuture<Boolean>> all = router.routes().stream().map(r -> client(r).ready(protocol)).toList();
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                .thenApply(v -> all.stream().allMatch(CompletableFuture::join));
    }
}
