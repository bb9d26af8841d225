package io.clops.examples.iris;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shipped iris classifier as an ONNX model, written by the build from the shipped weights, without Python: the
 * graph is encoded field by field with the numbers of ONNX's protobuf definitions (onnx.proto: ModelProto,
 * GraphProto, NodeProto, TensorProto, ValueInfoProto), opset 13.
 * <pre>
 * input-0 float[batch,4] ─ Sub(mean) ─ Div(std) ─ MatMul(W float[4,3]) ─ Add(b) ─ Softmax(axis 1) ─► probabilities float[batch,3]
 *                                                                                └ ArgMax(axis 1) ─► label int64[batch]
 * </pre>
 * The same arithmetic as {@link IrisModel#probabilities} (in float instead of double); {@code IrisOnnxTest} runs it
 * in ONNX Runtime and compares every row of the data.
 * Usage: {@code IrisOnnx DIR} writes {@code DIR/iris.onnx}.
 */
public final class IrisOnnx {
    private IrisOnnx() {
    }

    static final int FLOAT = 1; // TensorProto.DataType
    static final int INT64 = 7;
    static final int ATTR_INT = 2; // AttributeProto.AttributeType

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        Files.createDirectories(dir);
        Path file = dir.resolve("iris.onnx");
        Files.write(file, bytes(IrisModel.shipped()));
        System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
    }

    /** The model as ONNX bytes. */
    public static byte[] bytes(IrisModel m) {
        int features = IrisModel.FEATURES;
        int classes = IrisModel.CLASSES.size();
        float[] mean = new float[features];
        float[] std = new float[features];
        for (int j = 0; j < features; j++) {
            mean[j] = (float) m.mean[j];
            std[j] = (float) m.std[j];
        }
        float[] w = new float[features * classes]; // [4,3], row-major: w[j][c]
        float[] b = new float[classes];
        for (int c = 0; c < classes; c++) {
            for (int j = 0; j < features; j++) {
                w[j * classes + c] = (float) m.weights[c][j];
            }
            b[c] = (float) m.weights[c][features];
        }
        Proto graph = new Proto()
                .message(1, node("standardise-sub", "Sub", new String[]{"input-0", "mean"}, "centred"))
                .message(1, node("standardise-div", "Div", new String[]{"centred", "std"}, "z"))
                .message(1, node("weights", "MatMul", new String[]{"z", "W"}, "zw"))
                .message(1, node("bias", "Add", new String[]{"zw", "b"}, "logits"))
                .message(1, node("softmax", "Softmax", new String[]{"logits"}, "probabilities").message(5, intAttribute("axis", 1)))
                .message(1, node("argmax", "ArgMax", new String[]{"probabilities"}, "label")
                        .message(5, intAttribute("axis", 1)).message(5, intAttribute("keepdims", 0)))
                .string(2, "iris")
                .message(5, tensor("mean", new long[]{features}, mean))
                .message(5, tensor("std", new long[]{features}, std))
                .message(5, tensor("W", new long[]{features, classes}, w))
                .message(5, tensor("b", new long[]{classes}, b))
                .message(11, valueInfo("input-0", FLOAT, "batch", features))
                .message(12, valueInfo("probabilities", FLOAT, "batch", classes))
                .message(12, valueInfo("label", INT64, "batch", -1));
        return new Proto()
                .varint(1, 8) // ir_version 8 (ONNX 1.12+)
                .string(2, "clops")
                .string(3, "0.1.0")
                .string(6, "Fisher's iris: multinomial logistic regression over standardised measurements; classes "
                        + String.join(", ", IrisModel.CLASSES))
                .message(7, graph)
                .message(8, new Proto().string(1, "").varint(2, 13)) // opset_import: the default domain, opset 13
                .toByteArray();
    }

    static Proto node(String name, String op, String[] inputs, String output) {
        Proto n = new Proto();
        for (String in : inputs) {
            n.string(1, in);
        }
        return n.string(2, output).string(3, name).string(4, op);
    }

    static Proto intAttribute(String name, long value) {
        return new Proto().string(1, name).varint(3, value).varint(20, ATTR_INT);
    }

    static Proto tensor(String name, long[] dims, float[] values) {
        Proto t = new Proto();
        for (long d : dims) {
            t.varint(1, d);
        }
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        return t.varint(2, FLOAT).string(8, name).bytes(9, raw.array()); // raw_data: little-endian, as the spec says
    }

    /** A tensor's name, element type and shape [batch, size] (size < 0: [batch]). */
    static Proto valueInfo(String name, int elemType, String batch, int size) {
        Proto shape = new Proto().message(1, new Proto().string(2, batch));
        if (size >= 0) {
            shape.message(1, new Proto().varint(1, size));
        }
        Proto tensorType = new Proto().varint(1, elemType).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /** Protocol Buffers' wire format, the four parts of it this model needs: varints, strings, bytes, messages. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            tag(field, 0);
            raw(value);
            return this;
        }

        Proto string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Proto bytes(int field, byte[] value) {
            tag(field, 2);
            raw(value.length);
            out.writeBytes(value);
            return this;
        }

        Proto message(int field, Proto value) {
            return bytes(field, value.toByteArray());
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void tag(int field, int wireType) {
            raw(((long) field << 3) | wireType);
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
