package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "predict", description = "Send an inference request (OIP v2 JSON) to a deployment, sync over HTTP or --async over Kafka.")
public final class PredictCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "deployment name") String name;
    @Option(names = {"-d", "--data"}, required = true, description = "request body, OIP v2 JSON; @FILE reads it from a file, @- from standard input (as curl does)") String data;
    @Option(names = "--async", description = "through the deployment's Kafka request/response topics") boolean async;
    @Option(names = "--model", description = "model name in the OIP path (default: the deployment's model)") String model;
    @Option(names = "--timeout", defaultValue = "30", description = "seconds (default ${DEFAULT-VALUE})") int timeout;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        String data = body(this.data);
        Predictor p = new Predictor(root.api(), root.project);
        Predictor.Result r = async ? p.async(name, model, data, Duration.ofSeconds(timeout)) : p.sync(name, model, data);
        JsonNode shown = r.body();
        if (root.output == Output.Format.table) {
            shown = r.body().has("outputs") ? r.body().get("outputs") : r.body();
        } else if (r.requestId() != null && shown.isObject()) {
            ((ObjectNode) shown).put("clops_request_id", r.requestId());
        }
        Output.print(spec.commandLine().getOut(), root.output, shown, r.body().has("outputs")
                ? List.of(Output.col("OUTPUT", "/name"), Output.col("DATATYPE", "/datatype"), Output.col("SHAPE", "/shape"), Output.col("DATA", "/data"))
                : List.of(Output.col("STATUS", "/status"), Output.col("ERROR", "/error")));
        if (root.output == Output.Format.table) {
            Ui.progress(spec, (async ? "async" : "sync") + " answer in " + r.millis() + " ms, status " + r.status());
        }
        return r.status() >= 200 && r.status() < 300 ? 0 : 1;
    }

    /** {@code -d}'s value: the JSON itself, or {@code @FILE} / {@code @-} for a file's or standard input's (JSON never starts with '@'). */
    static String body(String data) {
        if (!data.startsWith("@")) {
            return data;
        }
        String where = data.substring(1);
        try {
            return where.equals("-") ? new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    : java.nio.file.Files.readString(java.nio.file.Path.of(where));
        } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
            throw new CliException("--data " + data + ": cannot read " + (where.equals("-") ? "standard input" : where) + ": "
                    + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()), 2);
        }
    }
}
