package io.clops.modelserver;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An ONNX file run by ONNX Runtime (Microsoft's, in-process); inputs and outputs as the model declares them. */
final class OnnxModel implements Model {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final List<Spec> inputs = new ArrayList<>();
    private final List<Spec> outputs = new ArrayList<>();

    /** @param intraOpThreads threads one call may use (0: ONNX Runtime's default, one per core) */
    OnnxModel(Path file, int intraOpThreads) throws OrtException {
        try (OrtSession.SessionOptions options = options(intraOpThreads)) {
            this.session = env.createSession(file.toString(), options);
        }
        session.getInputInfo().values().forEach(n -> inputs.add(spec(n, "input")));
        session.getOutputInfo().values().forEach(n -> outputs.add(spec(n, "output")));
    }

    /**
     * By default one thread per call and no spinning: a server runs many small calls side by side, and ONNX Runtime's
     * own default (an intra-op pool as wide as the machine whose threads spin between calls) spends the cores the
     * HTTP path and the other calls need (`bench/modelserver.sh`: 23,419 → 27,840 req/s with the handler threads
     * below). A large model served to few callers may want more threads per call: {@code --intra-op-threads}.
     */
    static OrtSession.SessionOptions options(int intraOpThreads) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        if (intraOpThreads > 0) {
            o.setIntraOpNumThreads(intraOpThreads);
        }
        o.addConfigEntry("session.intra_op.allow_spinning", "0");
        return o;
    }

    private static Spec spec(NodeInfo n, String what) {
        if (!(n.getInfo() instanceof TensorInfo t)) {
            throw new IllegalArgumentException("the model's " + what + " '" + n.getName() + "' is not a tensor (" + n.getInfo() + "): not served");
        }
        return new Spec(n.getName(), datatype(t.type), t.getShape());
    }

    static String datatype(OnnxJavaType t) {
        return switch (t) {
            case FLOAT -> "FP32";
            case DOUBLE -> "FP64";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
            default -> throw new IllegalArgumentException("tensors of " + t + " are not served (FP32, FP64, INT32, INT64)");
        };
    }

    @Override
    public String platform() {
        return "onnxruntime";
    }

    @Override
    public List<Spec> inputs() {
        return inputs;
    }

    @Override
    public List<Spec> outputs() {
        return outputs;
    }

    @Override
    public Map<String, Tensor> infer(Map<String, Tensor> in) throws OrtException {
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : in.entrySet()) {
                feed.put(e.getKey(), tensor(e.getValue()));
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.put(e.getKey(), values((OnnxTensor) e.getValue()));
                }
            }
            return out;
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(Tensor t) throws OrtException {
        return switch (t.datatype()) {
            case "FP32" -> {
                FloatBuffer b = FloatBuffer.allocate(t.reals().length);
                for (double v : t.reals()) {
                    b.put((float) v);
                }
                yield OnnxTensor.createTensor(env, b.flip(), t.shape());
            }
            case "FP64" -> OnnxTensor.createTensor(env, DoubleBuffer.wrap(t.reals()), t.shape());
            case "INT32" -> {
                IntBuffer b = IntBuffer.allocate(t.integers().length);
                for (long v : t.integers()) {
                    b.put((int) v);
                }
                yield OnnxTensor.createTensor(env, b.flip(), t.shape());
            }
            default -> OnnxTensor.createTensor(env, LongBuffer.wrap(t.integers()), t.shape());
        };
    }

    private static Tensor values(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        String datatype = datatype(info.type);
        long[] shape = info.getShape();
        switch (info.type) {
            case FLOAT -> {
                FloatBuffer b = t.getFloatBuffer();
                double[] d = new double[b.remaining()];
                for (int i = 0; i < d.length; i++) {
                    d[i] = b.get();
                }
                return new Tensor(datatype, shape, d, null);
            }
            case DOUBLE -> {
                DoubleBuffer b = t.getDoubleBuffer();
                double[] d = new double[b.remaining()];
                b.get(d);
                return new Tensor(datatype, shape, d, null);
            }
            case INT32 -> {
                IntBuffer b = t.getIntBuffer();
                long[] l = new long[b.remaining()];
                for (int i = 0; i < l.length; i++) {
                    l[i] = b.get();
                }
                return new Tensor(datatype, shape, null, l);
            }
            default -> {
                LongBuffer b = t.getLongBuffer();
                long[] l = new long[b.remaining()];
                b.get(l);
                return new Tensor(datatype, shape, null, l);
            }
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // closing
        }
    }
}
