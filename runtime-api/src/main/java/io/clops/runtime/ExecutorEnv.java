package io.clops.runtime;

import io.clops.avro.ModelVersion;
import io.clops.avro.TensorSpec;

/** How every runtime names a route and hands the executor a model's declared inputs (CLOPS_INPUTS). */
public final class ExecutorEnv {
    private ExecutorEnv() {
    }

    /** The route's name, as in the sticky header and the executor's metrics: model-vN. */
    public static String routeName(ModelVersion v) {
        return v.getModel() + "-v" + v.getVersion();
    }

    /** The declared inputs as a JSON list of {name, datatype, shape}. */
    public static String inputsJson(ModelVersion v) {
        StringBuilder b = new StringBuilder("[");
        for (TensorSpec t : v.getInputs()) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append("{\"name\":\"").append(t.getName().replace("\"", "")).append("\",\"datatype\":\"")
                    .append(t.getDatatype().replace("\"", "")).append("\",\"shape\":").append(t.getShape().toString().replace(" ", "")).append('}');
        }
        return b.append(']').toString();
    }
}
