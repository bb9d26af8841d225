package io.clops.examples.iris;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * A multinomial logistic regression over the four iris measurements (standardised), fitted by full-batch gradient
 * descent on the 150 rows of Fisher's data. {@link #fit} is deterministic; the weights it gives ship in
 * {@code iris-weights.properties} (written by {@code IrisTrainer}) and a test checks they are still what it fits.
 */
public final class IrisModel {
    public static final List<String> CLASSES = List.of("setosa", "versicolor", "virginica");
    static final int FEATURES = 4;

    final double[] mean;
    final double[] std;
    /** weights[class][0..3] plus bias at [4] */
    final double[][] weights;

    IrisModel(double[] mean, double[] std, double[][] weights) {
        this.mean = mean;
        this.std = std;
        this.weights = weights;
    }

    public record Sample(double[] x, int label) {
    }

    public static List<Sample> data() {
        try (InputStream in = IrisModel.class.getResourceAsStream("iris.csv")) {
            List<Sample> out = new ArrayList<>();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            r.readLine();
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(",");
                double[] x = new double[FEATURES];
                for (int j = 0; j < FEATURES; j++) {
                    x[j] = Double.parseDouble(f[j]);
                }
                out.add(new Sample(x, CLASSES.indexOf(f[4].trim())));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static IrisModel fit(List<Sample> data, int epochs, double learningRate) {
        int n = data.size();
        double[] mean = new double[FEATURES];
        double[] std = new double[FEATURES];
        for (Sample s : data) {
            for (int j = 0; j < FEATURES; j++) {
                mean[j] += s.x[j] / n;
            }
        }
        for (Sample s : data) {
            for (int j = 0; j < FEATURES; j++) {
                std[j] += (s.x[j] - mean[j]) * (s.x[j] - mean[j]) / n;
            }
        }
        for (int j = 0; j < FEATURES; j++) {
            std[j] = Math.sqrt(std[j]);
        }
        double[][] w = new double[CLASSES.size()][FEATURES + 1];
        IrisModel m = new IrisModel(mean, std, w);
        for (int epoch = 0; epoch < epochs; epoch++) {
            double[][] grad = new double[CLASSES.size()][FEATURES + 1];
            for (Sample s : data) {
                double[] z = m.standardise(s.x);
                double[] p = m.probabilities(s.x);
                for (int c = 0; c < CLASSES.size(); c++) {
                    double err = p[c] - (c == s.label ? 1 : 0);
                    for (int j = 0; j < FEATURES; j++) {
                        grad[c][j] += err * z[j] / n;
                    }
                    grad[c][FEATURES] += err / n;
                }
            }
            for (int c = 0; c < CLASSES.size(); c++) {
                for (int j = 0; j <= FEATURES; j++) {
                    w[c][j] -= learningRate * (grad[c][j] + (j < FEATURES ? 1e-3 * w[c][j] : 0));
                }
            }
        }
        return m;
    }

    double[] standardise(double[] x) {
        double[] z = new double[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            z[j] = (x[j] - mean[j]) / std[j];
        }
        return z;
    }

    public double[] probabilities(double[] x) {
        double[] z = standardise(x);
        double[] logits = new double[CLASSES.size()];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < CLASSES.size(); c++) {
            double v = weights[c][FEATURES];
            for (int j = 0; j < FEATURES; j++) {
                v += weights[c][j] * z[j];
            }
            logits[c] = v;
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int c = 0; c < logits.length; c++) {
            logits[c] = Math.exp(logits[c] - max);
            sum += logits[c];
        }
        for (int c = 0; c < logits.length; c++) {
            logits[c] /= sum;
        }
        return logits;
    }

    public int predict(double[] x) {
        double[] p = probabilities(x);
        int best = 0;
        for (int c = 1; c < p.length; c++) {
            if (p[c] > p[best]) {
                best = c;
            }
        }
        return best;
    }

    public double accuracy(List<Sample> data) {
        return data.stream().filter(s -> predict(s.x) == s.label).count() / (double) data.size();
    }

    Properties toProperties() {
        Properties p = new Properties();
        for (int j = 0; j < FEATURES; j++) {
            p.setProperty("mean." + j, fmt(mean[j]));
            p.setProperty("std." + j, fmt(std[j]));
        }
        for (int c = 0; c < CLASSES.size(); c++) {
            for (int j = 0; j <= FEATURES; j++) {
                p.setProperty("w." + c + "." + j, fmt(weights[c][j]));
            }
        }
        return p;
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%.10f", d);
    }

    static IrisModel fromProperties(Properties p) {
        double[] mean = new double[FEATURES];
        double[] std = new double[FEATURES];
        double[][] w = new double[CLASSES.size()][FEATURES + 1];
        for (int j = 0; j < FEATURES; j++) {
            mean[j] = Double.parseDouble(p.getProperty("mean." + j));
            std[j] = Double.parseDouble(p.getProperty("std." + j));
        }
        for (int c = 0; c < CLASSES.size(); c++) {
            for (int j = 0; j <= FEATURES; j++) {
                w[c][j] = Double.parseDouble(p.getProperty("w." + c + "." + j));
            }
        }
        return new IrisModel(mean, std, w);
    }

    /** The shipped, fitted model. */
    public static IrisModel shipped() {
        try (InputStream in = IrisModel.class.getResourceAsStream("iris-weights.properties")) {
            if (in == null) {
                throw new IllegalStateException("iris-weights.properties missing: run IrisTrainer");
            }
            Properties p = new Properties();
            p.load(in);
            return fromProperties(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
