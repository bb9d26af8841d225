package io.clops.examples.iris;

import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The XGBoost file the build trains: xgboost4j loads it, it classifies the iris data as well as a model should
 * (≥ 97% of the 150 rows), KServe's documented iris v2 request comes back versicolor twice, and training again gives
 * the same file (the build is reproducible).
 */
class IrisXgboostTest {
    static final Path BUILT = Path.of("target", "models", "iris-xgboost.json");

    static int argmax(float[] p) {
        int best = 0;
        for (int c = 1; c < p.length; c++) {
            if (p[c] > p[best]) {
                best = c;
            }
        }
        return best;
    }

    @Test
    void theBuiltModelClassifiesIrisAndKServesRequestIsVersicolorTwice() throws Exception {
        assertThat(BUILT).as("trained by the build (exec-maven-plugin, process-test-classes)").exists();
        Booster booster = XGBoost.loadModel(BUILT.toString());
        var data = IrisModel.data();
        float[][] p = booster.predict(IrisXgboost.matrix(data));
        int right = 0;
        for (int i = 0; i < data.size(); i++) {
            right += argmax(p[i]) == data.get(i).label() ? 1 : 0;
        }
        assertThat(right).as("rows classified right").isGreaterThanOrEqualTo(146);
        float[][] kserve = booster.predict(new DMatrix(new float[]{6.8f, 2.8f, 4.8f, 1.4f, 6.0f, 3.4f, 4.5f, 1.6f}, 2, 4, Float.NaN));
        assertThat(IrisModel.CLASSES.get(argmax(kserve[0]))).isEqualTo("versicolor");
        assertThat(IrisModel.CLASSES.get(argmax(kserve[1]))).isEqualTo("versicolor");
    }

    @Test
    void trainingAgainGivesTheSameFile() throws Exception {
        Path again = Files.createTempFile("iris-xgboost", ".json");
        IrisXgboost.train().saveModel(again.toString());
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(BUILT));
    }
}
