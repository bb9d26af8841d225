package io.clops.executor;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/** Prometheus metrics of one executor, in the text exposition format, without a metrics library. */
public final class Metrics {
    private static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Map<String, Histogram> modelLatency = new ConcurrentHashMap<>();
    final AtomicLong inFlight = new AtomicLong();
    final AtomicLong asyncLag = new AtomicLong();

    /** @param mode sync | async; @param route the model version that answered ("shadow:…" for copies) */
    public void record(String mode, String route, int status, long totalNanos, long modelNanos) {
        String series = mode + "\u0000" + route;
        requests.computeIfAbsent(series + "\u0000" + status, k -> new LongAdder()).increment();
        latency.computeIfAbsent(series, k -> new Histogram()).observe(totalNanos);
        if (modelNanos >= 0) {
            modelLatency.computeIfAbsent(series, k -> new Histogram()).observe(modelNanos);
        }
    }

    public String scrape(String project, String deployment) {
        String base = "project=\"" + project + "\",deployment=\"" + deployment + "\"";
        StringBuilder b = new StringBuilder();
        b.append("# HELP clops_executor_requests_total Requests answered, by mode (sync|async), route (model version) and status code.\n");
        b.append("# TYPE clops_executor_requests_total counter\n");
        requests.forEach((k, v) -> {
            String[] parts = k.split("\u0000");
            b.append("clops_executor_requests_total{").append(base).append(",mode=\"").append(parts[0])
                    .append("\",route=\"").append(parts[1]).append("\",code=\"").append(parts[2]).append("\"} ")
                    .append(v.sum()).append('\n');
        });
        histogram(b, "clops_executor_request_seconds", "Time from request received to answer sent.", base, latency);
        histogram(b, "clops_executor_model_seconds", "Time the model took (executor overhead excluded).", base, modelLatency);
        b.append("# HELP clops_executor_in_flight Requests being served now.\n# TYPE clops_executor_in_flight gauge\n");
        b.append("clops_executor_in_flight{").append(base).append("} ").append(inFlight.get()).append('\n');
        b.append("# HELP clops_executor_async_lag Records on the request topic not yet consumed by this executor's group.\n");
        b.append("# TYPE clops_executor_async_lag gauge\n");
        b.append("clops_executor_async_lag{").append(base).append("} ").append(asyncLag.get()).append('\n');
        return b.toString();
    }

    private static void histogram(StringBuilder b, String name, String help, String base, Map<String, Histogram> hs) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" histogram\n");
        hs.forEach((series, h) -> {
            String[] parts = series.split("\u0000");
            String labels = base + ",mode=\"" + parts[0] + "\",route=\"" + parts[1] + "\"";
            long cumulative = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                cumulative += h.counts.get(i);
                b.append(name).append("_bucket{").append(labels).append(",le=\"").append(fmt(BUCKETS[i])).append("\"} ")
                        .append(cumulative).append('\n');
            }
            cumulative += h.counts.get(BUCKETS.length);
            b.append(name).append("_bucket{").append(labels).append(",le=\"+Inf\"} ").append(cumulative).append('\n');
            b.append(name).append("_sum{").append(labels).append("} ").append(fmt(h.sumNanos.sum() / 1e9)).append('\n');
            b.append(name).append("_count{").append(labels).append("} ").append(cumulative).append('\n');
        });
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%s", d);
    }

    private static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length + 1);
        final LongAdder sumNanos = new LongAdder();

        void observe(long nanos) {
            double s = nanos / 1e9;
            int i = 0;
            while (i < BUCKETS.length && s > BUCKETS[i]) {
                i++;
            }
            counts.incrementAndGet(i);
            sumNanos.add(nanos);
        }
    }
}
