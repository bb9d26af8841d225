package io.clops.runtime;

import io.clops.avro.Batching;

import java.util.List;

/**
 * clops's own runtime for model files ({@code io.clops.modelserver.ModelServer}) as both runtimes start it: the flags a
 * deployment's settings become, written in one place.
 */
public final class ModelRuntime {
    private ModelRuntime() {
    }

    public static final String MAIN = "io.clops.modelserver.ModelServer";

    /** Adaptive batching as the deployment asks ({@code spec.batching}); none: off. */
    public static List<String> batchingArgs(Batching b) {
        return b == null ? List.of() : List.of("--max-batch", Integer.toString(b.getMaxBatchSize()), "--max-delay-us", Integer.toString(b.getMaxDelayUs()));
    }
}
