package io.clops.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The floor for serving an ONNX file: ONNX Runtime called in-process by N threads, one single-row request each at a
 * time, for D seconds; prints requests per second (what no server in front of it can beat).
 * Usage: OnnxFloorBench MODEL.onnx [threads=32] [seconds=10]
 */
public final class OnnxFloorBench {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(Files.readAllBytes(model), new OrtSession.SessionOptions())) {
            LongAdder done = new LongAdder();
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try {
                        while (System.nanoTime() < end) {
                            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[]{5.1f, 3.5f, 1.4f, 0.2f}), new long[]{1, 4});
                                 OrtSession.Result r = session.run(Map.of("input-0", x))) {
                                r.get(0);
                                done.increment();
                            }
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                th.start();
                all.add(th);
            }
            for (Thread th : all) {
                th.join();
            }
            System.out.printf("%.0f%n", done.sum() / (double) seconds);
        }
    }
}
