package io.clops.cli;

import io.clops.platform.Platform;
import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "demo", description = "Start the platform, register and deploy the iris example, predict sync and async; exit 0 only if both answers are right.")
public final class DemoCommand implements Callable<Integer> {
    /** One flower of each species from Fisher's data, and what they are. */
    static final String REQUEST = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[3,4],"
            + "\"data\":[[5.1,3.5,1.4,0.2],[6.4,3.2,4.5,1.5],[6.3,3.3,6.0,2.5]]}]}";
    static final List<String> EXPECTED = List.of("setosa", "versicolor", "virginica");

    static final String SPEC = """
            apiVersion: clops.io/v1
            kind: ModelDeployment
            metadata: { name: iris, project: demo }
            spec:
              model: iris@champion
              protocol: v2
              resources: { cpu: 500m, memory: 256Mi }
              replicas: { min: 1, max: 1 }
              mode: both
              executor: { timeoutMs: 5000 }
            """;

    @Option(names = "--home", description = "data directory (default: a fresh temporary one, removed afterwards)") Path home;
    @Option(names = "--keep", description = "leave the platform running after the demo (Ctrl-C to stop)") boolean keep;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        PrintWriter out = spec.commandLine().getOut();
        boolean temp = home == null;
        Path dir = temp ? Files.createTempDirectory("clops-demo") : home;
        Platform platform = Platform.start(new Platform.Options(dir, 0, 0, null), line -> Ui.progress(spec, line));
        try {
            out.println("clops demo: API " + platform.apiUrl() + ", Kafka " + platform.bootstrap());
            out.flush();
            ApiClient api = new ApiClient(platform.apiUrl());
            CommandLine cli = Main.commandLine();
            cli.setOut(out);
            cli.setErr(spec.commandLine().getErr());
            String server = "--server=" + platform.apiUrl();
            String noToken = "--token="; // the demo's own platform needs none; a token kept for another platform would be refused

            Ui.progress(spec, "creating project demo (quota: 2 cpu, 4Gi memory, 5 deployments)");
            check(cli.execute("project", "create", "demo", "--description", "the clops demo", "--cpu", "2", "--memory", "4Gi",
                    "--deployments", "5", server, noToken), "project create");
            Ui.progress(spec, "registering the iris example as iris v1, alias champion");
            check(cli.execute("model", "register", "iris", "--example", "iris", "--alias", "champion", "-p", "demo", server, noToken), "model register");
            Path specFile = dir.resolve("iris-deployment.yaml");
            Files.writeString(specFile, SPEC);
            Ui.progress(spec, "deploying " + specFile);
            check(cli.execute("deploy", "-f", specFile.toString(), "--wait", "--timeout", "120", server, noToken), "deploy");

            Predictor predictor = new Predictor(api, "demo");
            Predictor.Result sync = predictor.sync("iris", null, REQUEST);
            List<String> syncLabels = Predictor.labels(sync.body());
            out.printf("sync  prediction (HTTP, %d ms):  %s%n", sync.millis(), syncLabels);
            Predictor.Result async = predictor.async("iris", null, REQUEST, Duration.ofSeconds(60));
            List<String> asyncLabels = Predictor.labels(async.body());
            out.printf("async prediction (Kafka, %d ms): %s%n", async.millis(), asyncLabels);
            boolean ok = EXPECTED.equals(syncLabels) && EXPECTED.equals(asyncLabels);
            out.printf("expected %s: %s%n", EXPECTED, ok ? "both correct" : "WRONG");
            out.printf("demo took %.1f s%n", (System.nanoTime() - t0) / 1e9);
            out.flush();
            if (keep) {
                out.println("platform left running: ./clops --server " + platform.apiUrl() + " -p demo get deployments  (Ctrl-C to stop)");
                out.flush();
                Thread.currentThread().join();
            }
            check(cli.execute("undeploy", "iris", "--wait", "-p", "demo", server, noToken), "undeploy");
            return ok ? 0 : 1;
        } finally {
            platform.close();
            if (temp) {
                delete(dir);
            }
        }
    }

    private static void check(int code, String what) {
        if (code != 0) {
            throw new CliException("demo step '" + what + "' failed (exit " + code + ")");
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }
}
