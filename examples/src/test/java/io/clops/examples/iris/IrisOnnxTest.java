package io.clops.examples.iris;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The ONNX file the build writes is the shipped classifier: ONNX Runtime (Microsoft's, in-process) loads it, reads
 * its inputs and outputs from the model itself, and gives every row of the iris data the probabilities and the class
 * {@link IrisModel} gives; KServe's documented iris v2 request (two rows) comes back versicolor twice.
 */
class IrisOnnxTest {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    @Test
    void theBuildWroteTheFileThisClassifierGives() throws Exception {
        Path built = Path.of("target", "models", "iris.onnx");
        assertThat(built).as("written by the build (exec-maven-plugin, process-classes)").exists();
        assertThat(Files.readAllBytes(built)).isEqualTo(IrisOnnx.bytes(IrisModel.shipped()));
    }

    @Test
    void onnxRuntimeGivesEveryRowWhatTheClassifierGives() throws Exception {
        IrisModel model = IrisModel.shipped();
        List<IrisModel.Sample> data = IrisModel.data();
        float[][] rows = new float[data.size()][];
        for (int i = 0; i < rows.length; i++) {
            double[] x = data.get(i).x();
            rows[i] = new float[]{(float) x[0], (float) x[1], (float) x[2], (float) x[3]};
        }
        try (OrtSession session = ENV.createSession(IrisOnnx.bytes(model), new OrtSession.SessionOptions())) {
            NodeInfo input = session.getInputInfo().get("input-0");
            assertThat(((TensorInfo) input.getInfo()).getShape()).as("shape read from the model").containsExactly(-1, 4);
            assertThat(session.getOutputNames()).containsExactlyInAnyOrder("probabilities", "label");
            try (OnnxTensor t = OnnxTensor.createTensor(ENV, rows); OrtSession.Result r = session.run(Map.of("input-0", t))) {
                float[][] probabilities = (float[][]) r.get("probabilities").orElseThrow().getValue();
                long[] labels = (long[]) r.get("label").orElseThrow().getValue();
                for (int i = 0; i < rows.length; i++) {
                    double[] want = model.probabilities(data.get(i).x());
                    for (int c = 0; c < want.length; c++) {
                        assertThat((double) probabilities[i][c]).as("row %d class %d", i, c).isCloseTo(want[c], within(1e-5));
                    }
                    assertThat(labels[i]).as("row %d", i).isEqualTo(model.predict(data.get(i).x()));
                }
            }
        }
    }

    @Test
    void kserveDocumentedIrisRequestIsVersicolorTwice() throws Exception {
        float[][] kserve = {{6.8f, 2.8f, 4.8f, 1.4f}, {6.0f, 3.4f, 4.5f, 1.6f}};
        try (OrtSession session = ENV.createSession(IrisOnnx.bytes(IrisModel.shipped()), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(ENV, kserve); OrtSession.Result r = session.run(Map.of("input-0", t))) {
            long[] labels = (long[]) r.get("label").orElseThrow().getValue();
            assertThat(labels).containsExactly(1, 1);
            assertThat(IrisModel.CLASSES.get((int) labels[0])).isEqualTo("versicolor");
        }
    }
}
