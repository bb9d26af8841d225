package io.clops.modelserver;

import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An XGBoost model file run by xgboost4j: one input {@code input-0} FP32 [batch, features] (the number of features
 * read from the model); outputs {@code probabilities} FP32 [batch, classes] (what the booster predicts: a softprob
 * model's class probabilities, or one score per row) and, for more than one class, {@code label} INT64 [batch].
 */
final class XgboostModel implements Model {
    private final Booster booster;
    private final int features;
    private final int classes;

    XgboostModel(Path file) throws XGBoostError {
        this.booster = XGBoost.loadModel(file.toString());
        this.features = (int) booster.getNumFeature();
        float[][] probe = booster.predict(new DMatrix(new float[features], 1, features, Float.NaN));
        this.classes = probe[0].length;
    }

    @Override
    public String platform() {
        return "xgboost";
    }

    @Override
    public List<Spec> inputs() {
        return List.of(new Spec("input-0", "FP32", new long[]{-1, features}));
    }

    @Override
    public List<Spec> outputs() {
        return classes > 1 ? List.of(new Spec("probabilities", "FP32", new long[]{-1, classes}), new Spec("label", "INT64", new long[]{-1}))
                : List.of(new Spec("probabilities", "FP32", new long[]{-1, 1}));
    }

    @Override
    public Map<String, Tensor> infer(Map<String, Tensor> in) throws XGBoostError {
        Tensor x = in.get("input-0");
        int rows = (int) x.shape()[0];
        float[] data = new float[x.reals().length];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) x.reals()[i];
        }
        float[][] p = booster.predict(new DMatrix(data, rows, features, Float.NaN));
        double[] flat = new double[rows * classes];
        long[] labels = new long[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int c = 0; c < classes; c++) {
                flat[r * classes + c] = p[r][c];
                if (p[r][c] > p[r][best]) {
                    best = c;
                }
            }
            labels[r] = best;
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("probabilities", new Tensor("FP32", new long[]{rows, classes}, flat, null));
        if (classes > 1) {
            out.put("label", new Tensor("INT64", new long[]{rows}, null, labels));
        }
        return out;
    }

    @Override
    public void close() {
        booster.dispose();
    }
}
