package io.clops.executor;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Prometheus metrics of one executor, in the text exposition format, without a metrics library. */
public final class Metrics {
    private static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final long[] BUCKETS_NANOS = java.util.Arrays.stream(BUCKETS).mapToLong(s -> Math.round(s * 1e9)).toArray();

    /** mode → route → its series: looked up with the strings at hand, nothing built per request. */
    private final Map<String, Map<String, Series>> series = new ConcurrentHashMap<>();
    /** Requests being served: a LongAdder, as the counters are, so the event loops do not take turns owning one cache line. */
    final LongAdder inFlight = new LongAdder();
    final AtomicLong asyncLag = new AtomicLong();
    final LongAdder logDropped = new LongAdder();
    final AtomicLong asyncRetried = new AtomicLong();
    /** Times a client's upload was paused because the model was not taking it. */
    final LongAdder uploadsPaused = new LongAdder();
    /** Times a model's answer was paused because the client was not reading it. */
    final LongAdder answersPaused = new LongAdder();
    /** Answered requests (shadow copies excluded) at each of the last {@value #WINDOW_S} + 1 ticks, a second apart. */
    static final int WINDOW_S = 10;
    private final long[] answeredAt = new long[WINDOW_S + 1];
    private int ticks;

    /** Request-log records waiting for Kafka (set by the log when there is one). */
    volatile java.util.function.IntSupplier logQueued = () -> 0;

    /** @param mode sync | async; @param route the model version that answered ("shadow:…" for copies) */
    public void record(String mode, String route, int status, long totalNanos, long modelNanos) {
        Series s = series.computeIfAbsent(mode, m -> new ConcurrentHashMap<>()).get(route);
        if (s == null) {
            s = series.get(mode).computeIfAbsent(route, r -> new Series());
        }
        s.count(status);
        s.latency.observe(totalNanos);
        if (modelNanos >= 0) {
            s.model.observe(modelNanos);
        }
    }

    /** Requests answered so far, sync and async, the executor's own refusals included, shadow copies not. */
    long answered() {
        long n = 0;
        for (Map<String, Series> routes : series.values()) {
            for (Map.Entry<String, Series> e : routes.entrySet()) {
                if (e.getKey().startsWith("shadow:")) {
                    continue;
                }
                for (int code = 0; code < Series.CODES; code++) {
                    LongAdder a = e.getValue().byStatus.get(code);
                    if (a != null) {
                        n += a.sum();
                    }
                }
            }
        }
        return n;
    }

    /** Called once a second (ExecutorMain): a sample for {@link #requestsPerSecond()}. */
    synchronized void tick() {
        answeredAt[ticks % answeredAt.length] = answered();
        ticks++;
    }

    /** Requests answered per second over the last {@value #WINDOW_S} s (less just after start): the HPA's rps metric. */
    synchronized double requestsPerSecond() {
        if (ticks < 2) {
            return 0;
        }
        int span = Math.min(ticks - 1, WINDOW_S);
        long newest = answeredAt[(ticks - 1) % answeredAt.length];
        long oldest = answeredAt[(ticks - 1 - span) % answeredAt.length];
        return (newest - oldest) / (double) span;
    }

    public String scrape(String project, String deployment) {
        String base = "project=\"" + project + "\",deployment=\"" + deployment + "\"";
        StringBuilder b = new StringBuilder();
        b.append("# HELP clops_executor_requests_total Requests answered, by mode (sync|async), route (model version) and status code.\n");
        b.append("# TYPE clops_executor_requests_total counter\n");
        series.forEach((mode, routes) -> routes.forEach((route, s) -> {
            for (int code = 0; code < Series.CODES; code++) {
                LongAdder n = s.byStatus.get(code);
                if (n != null) {
                    b.append("clops_executor_requests_total{").append(base).append(",mode=\"").append(mode)
                            .append("\",route=\"").append(route).append("\",code=\"").append(code).append("\"} ")
                            .append(n.sum()).append('\n');
                }
            }
        }));
        histogram(b, "clops_executor_request_seconds", "Time from request received to answer sent.", base, s -> s.latency);
        histogram(b, "clops_executor_model_seconds", "Time the model took (executor overhead excluded).", base, s -> s.model);
        b.append("# HELP clops_executor_requests_per_second Requests answered per second over the last 10 s, sync and async "
                + "(shadow copies excluded): what autoscale.metric rps scales on.\n# TYPE clops_executor_requests_per_second gauge\n");
        b.append("clops_executor_requests_per_second{").append(base).append("} ").append(fmt(requestsPerSecond())).append('\n');
        b.append("# HELP clops_executor_in_flight Requests being served now.\n# TYPE clops_executor_in_flight gauge\n");
        b.append("clops_executor_in_flight{").append(base).append("} ").append(inFlight.sum()).append('\n');
        b.append("# HELP clops_executor_async_lag Records on the request topic not yet consumed by this executor's group.\n");
        b.append("# TYPE clops_executor_async_lag gauge\n");
        b.append("clops_executor_async_lag{").append(base).append("} ").append(asyncLag.get()).append('\n');
        b.append("# HELP clops_executor_log_dropped_total Request-log records dropped (queue full, or Kafka away for long).\n");
        b.append("# TYPE clops_executor_log_dropped_total counter\n");
        b.append("clops_executor_log_dropped_total{").append(base).append("} ").append(logDropped.sum()).append('\n');
        b.append("# HELP clops_executor_log_queued Request-log records waiting to be handed to Kafka.\n");
        b.append("# TYPE clops_executor_log_queued gauge\n");
        b.append("clops_executor_log_queued{").append(base).append("} ").append(logQueued.getAsInt()).append('\n');
        b.append("# HELP clops_executor_backpressure_pauses_total Times the executor stopped reading a client's upload because the model "
                + "was not taking it (upload), or a model's answer because the client was not reading it (answer).\n");
        b.append("# TYPE clops_executor_backpressure_pauses_total counter\n");
        b.append("clops_executor_backpressure_pauses_total{").append(base).append(",direction=\"upload\"} ").append(uploadsPaused.sum()).append('\n');
        b.append("clops_executor_backpressure_pauses_total{").append(base).append(",direction=\"answer\"} ").append(answersPaused.sum()).append('\n');
        b.append("# HELP clops_executor_async_polled_again_total Times answers could not be produced and their requests were polled again.\n");
        b.append("# TYPE clops_executor_async_polled_again_total counter\n");
        b.append("clops_executor_async_polled_again_total{").append(base).append("} ").append(asyncRetried.get()).append('\n');
        return b.toString();
    }

    private void histogram(StringBuilder b, String name, String help, String base, java.util.function.Function<Series, Histogram> which) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" histogram\n");
        series.forEach((mode, routes) -> routes.forEach((route, s) -> {
            Histogram h = which.apply(s);
            long total = h.total();
            if (total == 0) {
                return;
            }
            String labels = base + ",mode=\"" + mode + "\",route=\"" + route + "\"";
            long cumulative = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                cumulative += h.counts[i].sum();
                b.append(name).append("_bucket{").append(labels).append(",le=\"").append(fmt(BUCKETS[i])).append("\"} ")
                        .append(cumulative).append('\n');
            }
            cumulative += h.counts[BUCKETS.length].sum();
            b.append(name).append("_bucket{").append(labels).append(",le=\"+Inf\"} ").append(cumulative).append('\n');
            b.append(name).append("_sum{").append(labels).append("} ").append(fmt(h.sumNanos.sum() / 1e9)).append('\n');
            b.append(name).append("_count{").append(labels).append("} ").append(cumulative).append('\n');
        }));
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%s", d);
    }

    /** One mode and route: answers by status code, and two latency histograms. */
    private static final class Series {
        static final int CODES = 600;
        final java.util.concurrent.atomic.AtomicReferenceArray<LongAdder> byStatus = new java.util.concurrent.atomic.AtomicReferenceArray<>(CODES);
        final Histogram latency = new Histogram();
        final Histogram model = new Histogram();

        void count(int status) {
            int code = status >= 0 && status < CODES ? status : 0;
            LongAdder n = byStatus.get(code);
            if (n == null) {
                byStatus.compareAndSet(code, null, new LongAdder());
                n = byStatus.get(code);
            }
            n.increment();
        }
    }

    private static final class Histogram {
        // one adder per bucket: event loops on several cores count without fighting over a cache line
        final LongAdder[] counts = java.util.stream.Stream.generate(LongAdder::new).limit(BUCKETS.length + 1).toArray(LongAdder[]::new);
        final LongAdder sumNanos = new LongAdder();

        void observe(long nanos) {
            int i = 0; // buckets compared in nanoseconds: no floating point per request
            while (i < BUCKETS_NANOS.length && nanos > BUCKETS_NANOS[i]) {
                i++;
            }
            counts[i].increment();
            sumNanos.add(nanos);
        }

        long total() {
            long t = 0;
            for (LongAdder c : counts) {
                t += c.sum();
            }
            return t;
        }
    }
}
