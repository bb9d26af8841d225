package io.clops.runtime;

import io.clops.avro.Batching;
import io.clops.avro.ModelVersion;

import java.util.ArrayList;
import java.util.List;

/**
 * clops's own runtime for model files ({@code io.clops.modelserver.ModelServer}) as both runtimes start it: the flags a
 * deployment's settings become, written in one place.
 */
public final class ModelRuntime {
    private ModelRuntime() {
    }

    public static final String MAIN = "io.clops.modelserver.ModelServer";

    /**
     * The runtime's arguments for {@code v}: where its file is ({@code fileArgs}: {@code --file PATH}, or {@code --uri
     * URI --cache DIR}), its digest, format and name, the address to listen on, and the deployment's batching.
     */
    public static List<String> args(ModelVersion v, List<String> fileArgs, String host, String port, Batching batching) {
        List<String> out = new ArrayList<>(fileArgs);
        out.addAll(List.of("--sha256", v.getArtifact().getSha256(), "--format", v.getArtifact().getFormat(), "--name", v.getModel()));
        if (host != null) {
            out.addAll(List.of("--host", host));
        }
        out.addAll(List.of("--port", port));
        out.addAll(batchingArgs(batching));
        return out;
    }

    /** Adaptive batching as the deployment asks ({@code spec.batching}); none: off. */
    public static List<String> batchingArgs(Batching b) {
        return b == null ? List.of() : List.of("--max-batch", Integer.toString(b.getMaxBatchSize()), "--max-delay-us", Integer.toString(b.getMaxDelayUs()));
    }
}
