package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** A deployment's generations, and going back to one. */
final class HistoryCommand {
    private HistoryCommand() {
    }

    @Command(name = "history", description = "A deployment's generations from the log: who, when, what changed (and its removals).")
    static final class History implements Callable<Integer> {
        @Parameters(index = "0", description = "deployment name") String name;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            return Ui.printGet(spec, "/api/v1/projects/" + root.project + "/deployments/" + name + "/history", List.of(
                    new Output.Column("GENERATION", n -> n.path("generation").isNull() ? "-" : n.path("generation").asText()),
                    Output.col("TIME", "/@timestamp"), Output.col("ACTOR", "/actor"), Output.col("ACTION", "/action"),
                    Output.col("MODEL", "/spec/model"), AuditCommand.changes()));
        }
    }

    @Command(name = "rollback", description = {"Deploy a deployment's generation N again: a new command with generation N's spec, so the",
            "rollback is itself in the log (a new generation, your name on it)."})
    static final class Rollback implements Callable<Integer> {
        @Parameters(index = "0", description = "deployment name") String name;
        @Option(names = "--to-generation", required = true, description = "the generation whose spec to deploy (clops history NAME)") long generation;
        @Option(names = "--wait", description = "wait until the new generation is Ready") boolean await;
        @Option(names = "--timeout", defaultValue = "120", description = "seconds to wait with --wait (default ${DEFAULT-VALUE})") int timeout;
        @Option(names = "--fail-after", defaultValue = "30", description = {"with --wait: give up (exit 1, with the reason) when the new generation",
                "failed and is still not Ready this many seconds later (default ${DEFAULT-VALUE}; 0: at its first failure)"}) int failAfter;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            Ui.checkWait(timeout, failAfter);
            ApiClient api = root.api();
            ObjectNode body = ApiClient.JSON.createObjectNode().put("generation", generation);
            ApiClient.Answer a = api.send("POST", "/api/v1/projects/" + root.project + "/deployments/" + name + "/rollback", body);
            ModelCommand.fail(a);
            if (await) {
                Ui.awaitReady(spec, api, root.project, name, a.body().path("generation").asLong(), java.time.Duration.ofSeconds(timeout),
                        java.time.Duration.ofSeconds(failAfter));
            }
            Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("DEPLOYMENT", "/deployment"),
                    Output.col("GENERATION", "/generation"), Output.col("VERDICT", "/verdict"), Output.col("REASON", "/reason")));
            return 0;
        }
    }

    @Command(name = "replay", description = {"The desired state at a moment, rebuilt by folding the log up to it with the topology's own code:",
            "every deployment (its spec and the versions it resolved to) and every model's aliases. --diff: what changed since."})
    static final class Replay implements Callable<Integer> {
        @Option(names = "--at", required = true, description = "2026-12-01T14:03:00Z, 2026-12-01T14:03 (UTC), 2026-12-01, or epoch ms") String at;
        @Option(names = "--all", description = "every project you have a role in, not only -p's") boolean all;
        @Option(names = "--diff", description = "also list what changed from then to now, field by field") boolean diff;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            StringBuilder q = new StringBuilder("?at=").append(AuditCommand.enc(at));
            AuditCommand.param(q, "project", all ? null : root.project);
            if (diff) {
                q.append("&diff=true");
            }
            ApiClient.Answer a = root.api().get("/api/v1/replay" + q);
            ModelCommand.fail(a);
            var out = spec.commandLine().getOut();
            if (root.output != Output.Format.table) {
                Output.print(out, root.output, a.body(), List.of());
                return 0;
            }
            out.println("desired at " + a.body().path("at").asText() + ":");
            Output.print(out, root.output, a.body().path("deployments"), List.of(Output.col("PROJECT", "/project"), Output.col("NAME", "/name"),
                    Output.col("GENERATION", "/generation"), Output.col("MODEL", "/spec/model"),
                    new Output.Column("VERSION", n -> {
                        StringBuilder b = new StringBuilder();
                        n.path("routes").forEach(r -> b.append(b.length() == 0 ? "" : ",").append(r.path("model").asText()).append(':')
                                .append(r.path("version").asText()));
                        return b.toString();
                    }), Output.col("REPLICAS", "/spec/replicas/min"), Output.col("BY", "/lastChangedBy")));
            out.println();
            out.println("models at " + a.body().path("at").asText() + ":");
            Output.print(out, root.output, a.body().path("models"), List.of(Output.col("PROJECT", "/project"), Output.col("MODEL", "/name"),
                    Output.col("LATEST", "/latest"), Output.col("ALIASES", "/aliases")));
            if (diff) {
                out.println();
                out.println("changed since:");
                JsonNode c = a.body().path("changesSince");
                c.forEach(line -> out.println("  " + line.asText()));
                if (c.isEmpty()) {
                    out.println("  (nothing)");
                }
            }
            out.flush();
            return 0;
        }
    }
}
