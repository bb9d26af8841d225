package io.clops.executor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What both the sync and the async side do with a request: check its shape, choose a version (weighted, sticky),
 * call it, copy it to the shadow (whose answer is only logged), log and measure. One place, so both sides behave
 * the same.
 */
public final class Dispatcher {

    /** The chosen route and the model's reply. */
    public record Answer(Route route, ModelClient.Reply reply) {
    }

    private final Router router;
    private final Map<String, ModelClient> clients = new HashMap<>();
    private final Route shadow;
    private final ModelClient shadowClient;
    private final ShapeValidator validator;
    private final InferenceLog log;
    private final Metrics metrics;

    public Dispatcher(ExecutorConfig config, Router router, ShapeValidator validator, InferenceLog log, Metrics metrics) {
        this.router = router;
        for (Route r : router.routes()) {
            clients.put(r.name(), new ModelClient(r.url(), config.timeoutMs()));
        }
        this.shadow = config.shadow();
        this.shadowClient = shadow == null ? null : new ModelClient(shadow.url(), config.timeoutMs());
        this.validator = validator;
        this.log = log;
        this.metrics = metrics;
    }

    public ModelClient client(Route r) {
        return clients.get(r.name());
    }

    public CompletableFuture<Answer> dispatch(String mode, String requestId, String method, String path,
                                              Map<String, List<String>> headers, byte[] body, String sticky, long startNanos) {
        int q = path.indexOf('?');
        if (validator.appliesTo(method, q < 0 ? path : path.substring(0, q))) {
            String wrong = validator.check(body);
            if (wrong != null) {
                ModelClient.Reply r = ModelClient.error(400, wrong, -1);
                Route none = new Route("-", "", 0);
                finish(mode, requestId, none, false, r, body, startNanos);
                return CompletableFuture.completedFuture(new Answer(none, r));
            }
        }
        Route route = router.choose(sticky);
        if (shadowClient != null) {
            long shadowStart = System.nanoTime();
            shadowClient.call(method, path, headers, body)
                    .thenAccept(r -> finish(mode, requestId, shadow, true, r, body, shadowStart));
        }
        if ("sync".equals(mode)) { // the sync server's worker thread waits anyway: call on it, no hand-off
            ModelClient.Reply r = client(route).callNow(method, path, headers, body);
            finish(mode, requestId, route, false, r, body, startNanos);
            return CompletableFuture.completedFuture(new Answer(route, r));
        }
        return client(route).call(method, path, headers, body).thenApply(r -> {
            finish(mode, requestId, route, false, r, body, startNanos);
            return new Answer(route, r);
        });
    }

    private void finish(String mode, String requestId, Route route, boolean isShadow, ModelClient.Reply r, byte[] body, long start) {
        long total = System.nanoTime() - start;
        metrics.record(mode, isShadow ? "shadow:" + route.name() : route.name(), r.status(), total, r.modelNanos());
        if (log != null) {
            log.log(requestId, mode, route.name(), isShadow, r.status(), total, r.modelNanos(), body, r.body());
        }
    }

    /** Ready when every route's model is (the shadow does not count). */
    public boolean ready(String protocol) {
        return router.routes().stream().allMatch(r -> client(r).ready(protocol));
    }
}
