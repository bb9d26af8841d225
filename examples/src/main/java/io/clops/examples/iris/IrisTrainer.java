package io.clops.examples.iris;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fits the iris model and writes its weights. Run it after changing the data or the fitting:
 * {@code java -cp examples/target/classes io.clops.examples.iris.IrisTrainer examples/src/main/resources/io/clops/examples/iris}
 */
public final class IrisTrainer {
    public static final int EPOCHS = 2000;
    public static final double LEARNING_RATE = 0.5;

    public static IrisModel train() {
        return IrisModel.fit(IrisModel.data(), EPOCHS, LEARNING_RATE);
    }

    public static void main(String[] args) throws Exception {
        IrisModel m = train();
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        try (OutputStream out = Files.newOutputStream(dir.resolve("iris-weights.properties"))) {
            m.toProperties().store(out, "iris softmax regression, " + EPOCHS + " epochs, lr " + LEARNING_RATE
                    + ", training accuracy " + m.accuracy(IrisModel.data()));
        }
        System.out.printf("training accuracy %.3f%n", m.accuracy(IrisModel.data()));
    }
}
