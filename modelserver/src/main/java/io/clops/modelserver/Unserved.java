package io.clops.modelserver;

/** What a runtime starts for a model file of a format clops cannot serve yet: it says so and exits (status shows it). */
public final class Unserved {
    private Unserved() {
    }

    public static void main(String[] args) {
        System.err.println("model files of format '" + (args.length > 0 ? args[0] : "?") + "' are not served yet (clops serves onnx)");
        System.exit(4);
    }
}
