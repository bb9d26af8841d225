package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.time.Duration;

/** Small shared pieces of the commands: parent options, progress lines, waiting for a deployment. */
final class Ui {
    private Ui() {
    }

    static Main root(CommandLine.Model.CommandSpec spec) {
        CommandLine c = spec.commandLine();
        while (c.getParent() != null) {
            c = c.getParent();
        }
        return (Main) c.getCommand();
    }

    /** GET {@code path} from the API and print it with {@code columns} (or as -o json|yaml); fails on a refusal. */
    static int printGet(CommandLine.Model.CommandSpec spec, String path, java.util.List<Output.Column> columns) {
        Main root = root(spec);
        ApiClient.Answer a = root.api().get(path);
        ModelCommand.fail(a);
        Output.print(spec.commandLine().getOut(), root.output, a.body(), columns);
        return 0;
    }

    static void progress(CommandLine.Model.CommandSpec spec, String line) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("… " + line);
        err.flush();
    }

    /**
     * Polls a deployment until its status is Ready for its current generation (or it is gone, when
     * {@code untilGone}); prints each phase change as a progress line.
     */
    static JsonNode await(CommandLine.Model.CommandSpec spec, ApiClient api, String project, String name,
                          boolean untilGone, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (true) {
            ApiClient.Answer a = api.get("/api/v1/projects/" + project + "/deployments/" + name);
            if (untilGone && a.status() == 404) {
                return a.body();
            }
            if (!untilGone && a.ok()) {
                JsonNode st = a.body().path("status");
                String now = st.path("phase").asText() + (st.path("reason").isTextual() ? ": " + st.path("reason").asText() : "");
                if (!now.equals(last)) {
                    progress(spec, name + " " + now);
                    last = now;
                }
                if (io.clops.avro.DeploymentPhase.Ready.name().equals(st.path("phase").asText())
                        && st.path("observedGeneration").asLong() >= a.body().path("generation").asLong()) {
                    return a.body();
                }
            }
            if (System.nanoTime() > deadline) {
                throw new CliException("timed out after " + timeout.toSeconds() + " s waiting for " + name
                        + (untilGone ? " to go away" : " to be Ready (last: " + last + ")"), CliException.TIMED_OUT);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            }
        }
    }

    static final java.util.List<Output.Column> DEPLOYMENT_COLUMNS = java.util.List.of(
            Output.col("PROJECT", "/project"), Output.col("NAME", "/name"), Output.col("MODEL", "/spec/model"),
            new Output.Column("VERSION", n -> {
                StringBuilder b = new StringBuilder();
                n.path("routes").forEach(r -> b.append(b.length() == 0 ? "" : ",").append(r.path("model").asText())
                        .append(':').append(r.path("version").asText()));
                return b.toString();
            }),
            Output.col("GEN", "/generation"), Output.col("PHASE", "/status/phase"),
            Output.col("ENDPOINT", "/status/endpoint"), Output.col("REASON", "/status/reason"));
}
