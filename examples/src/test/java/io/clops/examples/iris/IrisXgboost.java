package io.clops.examples.iris;

import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The iris classifier as an XGBoost model file, trained by the build with xgboost4j on the iris data the example
 * ships (no Python): softmax over the three classes, 20 rounds of depth-3 trees, one thread and a fixed seed, so
 * the same data gives the same file. Usage: {@code IrisXgboost DIR} writes {@code DIR/iris-xgboost.json} (XGBoost's
 * JSON model format). Runs from the test class path (exec-maven-plugin, process-test-classes): xgboost4j is a build
 * tool for the example, not a dependency of its server.
 */
public final class IrisXgboost {
    private IrisXgboost() {
    }

    static final Map<String, Object> PARAMS = Map.of("objective", "multi:softprob", "num_class", 3, "max_depth", 3, "eta", 0.3,
            "seed", 7, "nthread", 1, "tree_method", "exact");
    static final int ROUNDS = 20;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        Files.createDirectories(dir);
        Path file = dir.resolve("iris-xgboost.json");
        train().saveModel(file.toString());
        System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
    }

    static Booster train() throws XGBoostError {
        return XGBoost.train(matrix(IrisModel.data()), PARAMS, ROUNDS, Map.of(), null, null);
    }

    static DMatrix matrix(List<IrisModel.Sample> data) throws XGBoostError {
        float[] x = new float[data.size() * 4];
        float[] y = new float[data.size()];
        for (int i = 0; i < data.size(); i++) {
            for (int j = 0; j < 4; j++) {
                x[i * 4 + j] = (float) data.get(i).x()[j];
            }
            y[i] = data.get(i).label();
        }
        DMatrix m = new DMatrix(x, data.size(), 4, Float.NaN);
        m.setLabel(y);
        return m;
    }
}
