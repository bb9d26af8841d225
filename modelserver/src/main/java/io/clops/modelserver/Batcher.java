package io.clops.modelserver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Adaptive batching: concurrent requests to one model are run together, up to {@code maxRows} rows or {@code maxDelay}
 * after the first of them arrived, whichever comes first, and each caller gets its own rows back. A request alone
 * waits at most the delay; under load batches fill before it. Only for models whose every input and output has the
 * batch as its first dimension (what {@link #batchable} checks); the rows of each input are concatenated along it.
 */
final class Batcher implements AutoCloseable {
    private record Pending(Map<String, Model.Tensor> inputs, int rows, CompletableFuture<Map<String, Model.Tensor>> answer) {
    }

    private final Model model;
    private final int maxRows;
    private final long maxDelayNanos;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean running = true;
    /** Model runs, and requests answered: their ratio is the batching's effect. */
    final LongAdder runs = new LongAdder();
    final LongAdder requests = new LongAdder();

    Batcher(Model model, int maxRows, long maxDelayMicros) {
        this.model = model;
        this.maxRows = maxRows;
        this.maxDelayNanos = TimeUnit.MICROSECONDS.toNanos(maxDelayMicros);
        this.worker = new Thread(this::loop, "batcher");
        worker.setDaemon(true);
        worker.start();
    }

    static boolean batchable(Model m) {
        return m.inputs().stream().allMatch(s -> s.shape().length > 0 && s.shape()[0] < 0)
                && m.outputs().stream().allMatch(s -> s.shape().length > 0 && s.shape()[0] < 0);
    }

    Map<String, Model.Tensor> infer(Map<String, Model.Tensor> inputs) throws Exception {
        int rows = (int) inputs.values().iterator().next().shape()[0];
        for (Model.Tensor t : inputs.values()) {
            if (t.shape()[0] != rows) {
                throw new ModelServer.Invalid("inputs: every input has the same number of rows (the first dimension), not " + t.shape()[0] + " and " + rows);
            }
        }
        Pending p = new Pending(inputs, rows, new CompletableFuture<>());
        queue.add(p);
        try {
            return p.answer().get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    private void loop() {
        while (running) {
            List<Pending> batch = new ArrayList<>();
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                int rows = first.rows();
                long deadline = System.nanoTime() + maxDelayNanos;
                while (rows < maxRows) {
                    long left = deadline - System.nanoTime();
                    Pending next = left <= 0 ? queue.poll() : queue.poll(left, TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                    rows += next.rows();
                }
                run(batch, rows);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                batch.forEach(p -> p.answer().completeExceptionally(e));
                return;
            }
        }
    }

    private void run(List<Pending> batch, int rows) {
        try {
            Map<String, Model.Tensor> out = model.infer(batch.size() == 1 ? batch.get(0).inputs() : concat(batch, rows));
            runs.increment();
            int start = 0;
            for (Pending p : batch) {
                p.answer().complete(batch.size() == 1 ? out : slice(out, rows, start, p.rows()));
                start += p.rows();
            }
            requests.add(batch.size());
        } catch (Exception e) {
            batch.forEach(p -> p.answer().completeExceptionally(e));
        }
    }

    private static Map<String, Model.Tensor> concat(List<Pending> batch, int rows) {
        Map<String, Model.Tensor> out = new LinkedHashMap<>();
        for (String name : batch.get(0).inputs().keySet()) {
            Model.Tensor first = batch.get(0).inputs().get(name);
            long[] shape = first.shape().clone();
            shape[0] = rows;
            int size = batch.stream().mapToInt(p -> length(p.inputs().get(name))).sum();
            double[] reals = first.reals() != null ? new double[size] : null;
            long[] integers = first.reals() == null ? new long[size] : null;
            int at = 0;
            for (Pending p : batch) {
                Model.Tensor t = p.inputs().get(name);
                if (reals != null) {
                    System.arraycopy(t.reals(), 0, reals, at, t.reals().length);
                } else {
                    System.arraycopy(t.integers(), 0, integers, at, t.integers().length);
                }
                at += length(t);
            }
            out.put(name, new Model.Tensor(first.datatype(), shape, reals, integers));
        }
        return out;
    }

    private static Map<String, Model.Tensor> slice(Map<String, Model.Tensor> out, int rows, int start, int count) {
        Map<String, Model.Tensor> mine = new LinkedHashMap<>();
        out.forEach((name, t) -> {
            int perRow = length(t) / rows;
            long[] shape = t.shape().clone();
            shape[0] = count;
            mine.put(name, new Model.Tensor(t.datatype(), shape,
                    t.reals() == null ? null : java.util.Arrays.copyOfRange(t.reals(), start * perRow, (start + count) * perRow),
                    t.integers() == null ? null : java.util.Arrays.copyOfRange(t.integers(), start * perRow, (start + count) * perRow)));
        });
        return mine;
    }

    private static int length(Model.Tensor t) {
        return t.reals() != null ? t.reals().length : t.integers().length;
    }

    @Override
    public void close() {
        running = false;
        worker.interrupt();
    }
}
