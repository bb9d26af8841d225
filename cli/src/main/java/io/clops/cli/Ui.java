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

    /** --timeout and --fail-after of a command that waits: refused before anything is sent. */
    static void checkWait(int timeout, int failAfter) {
        if (timeout < 1) {
            throw new CliException("--timeout: seconds, 1 or more, not " + timeout, CliException.USAGE);
        }
        if (failAfter < 0) {
            throw new CliException("--fail-after: seconds, 0 or more, not " + failAfter, CliException.USAGE);
        }
    }

    /** Polls a deployment until it is gone; prints each phase change as a progress line. */
    static JsonNode awaitGone(CommandLine.Model.CommandSpec spec, ApiClient api, String project, String name, Duration timeout) {
        return await(spec, api, project, name, true, 0, timeout, null);
    }

    /**
     * Polls a deployment until its status is Ready for its current generation (at least {@code generation}, when the
     * command's answer named one); prints each phase change as a progress line. A generation that fails and is still
     * not Ready {@code failAfter} later ends the wait with the last failure's reason (exit 1): a model that crashes as
     * it starts, or a spec the runtime refuses, does not make a pipeline wait for the whole timeout. The platform goes
     * on retrying it; a failure that clears within {@code failAfter} (a restart that comes up) is only shown.
     */
    static JsonNode awaitReady(CommandLine.Model.CommandSpec spec, ApiClient api, String project, String name, long generation,
                               Duration timeout, Duration failAfter) {
        return await(spec, api, project, name, false, generation, timeout, failAfter);
    }

    private static JsonNode await(CommandLine.Model.CommandSpec spec, ApiClient api, String project, String name,
                                  boolean untilGone, long generation, Duration timeout, Duration failAfter) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        long failedSince = 0;
        String failure = null;
        while (true) {
            ApiClient.Answer a = api.get("/api/v1/projects/" + project + "/deployments/" + name);
            if (untilGone && a.status() == 404) {
                return a.body();
            }
            if (!untilGone && a.ok()) {
                JsonNode st = a.body().path("status");
                String phase = st.path("phase").asText();
                String now = phase + (st.path("reason").isTextual() ? ": " + st.path("reason").asText() : "");
                if (!now.equals(last)) {
                    progress(spec, name + " " + now);
                    last = now;
                }
                long current = Math.max(generation, a.body().path("generation").asLong());
                boolean observed = st.path("observedGeneration").asLong() >= current;
                if (observed && io.clops.avro.DeploymentPhase.Ready.name().equals(phase)) {
                    return a.body();
                }
                if (observed && io.clops.avro.DeploymentPhase.Failed.name().equals(phase)) {
                    failure = st.path("reason").asText("no reason given");
                    if (failedSince == 0) {
                        failedSince = System.nanoTime();
                    }
                }
                if (failedSince != 0 && System.nanoTime() - failedSince >= failAfter.toNanos()) {
                    throw new CliException(name + " generation " + current + " failed and was not Ready " + failAfter.toSeconds()
                            + " s later: " + failure + " (the platform keeps trying; `clops get deployment " + name + "` follows it)");
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
