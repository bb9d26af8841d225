package io.clops.modelserver;

import java.util.List;
import java.util.Map;

/** A loaded model file, as the server sees it: its tensors (read from the model itself) and a way to run it. */
interface Model extends AutoCloseable {
    /** A tensor a model declares: its name, OIP v2 datatype (FP32, FP64, INT32, INT64) and shape (-1: any). */
    record Spec(String name, String datatype, long[] shape) {
    }

    /** A tensor's values, row-major: doubles for FP32/FP64, longs for INT32/INT64. */
    record Tensor(String datatype, long[] shape, double[] reals, long[] integers) {
    }

    String platform();

    List<Spec> inputs();

    List<Spec> outputs();

    /** Runs the model on inputs checked against {@link #inputs()}; the outputs in declared order. */
    Map<String, Tensor> infer(Map<String, Tensor> inputs) throws Exception;

    @Override
    void close();
}
