package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "describe", description = "A deployment in full: spec, routes, status and conditions, and its recent commands"
        + " from the log: clops describe deployment iris")
public final class DescribeCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "deployment") String kind;
    @Parameters(index = "1", description = "name") String name;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    static final List<Output.Column> EVENT_COLUMNS = List.of(Output.col("TIME", "/time"), Output.col("ACTOR", "/actor"),
            Output.col("VERDICT", "/verdict"), Output.col("GEN", "/generation"), Output.col("REASON", "/reason"));

    @Override
    public Integer call() {
        if (!List.of("deployment", "deployments", "deploy").contains(kind)) {
            throw new CliException("describe: unknown kind '" + kind + "' (deployment)", CliException.USAGE);
        }
        Main root = Ui.root(spec);
        String path = "/api/v1/projects/" + root.project + "/deployments/" + name;
        ApiClient.Answer d = root.api().get(path);
        ModelCommand.fail(d);
        ApiClient.Answer events = root.api().get(path + "/events");
        ModelCommand.fail(events);
        if (root.output != Output.Format.table) {
            ObjectNode all = ((ObjectNode) d.body().deepCopy());
            all.set("events", events.body().get("items"));
            Output.print(spec.commandLine().getOut(), root.output, all, List.of());
            return 0;
        }
        print(spec.commandLine().getOut(), d.body(), events.body().get("items"));
        return 0;
    }

    static void print(PrintWriter out, JsonNode d, JsonNode events) {
        JsonNode s = d.path("spec");
        JsonNode st = d.path("status");
        JsonNode r = s.path("resources");
        row(out, "Name", d.path("name").asText());
        row(out, "Project", d.path("project").asText());
        row(out, "Generation", d.path("generation").asText() + (st.has("observedGeneration")
                ? " (observed " + st.path("observedGeneration").asText() + ")" : ""));
        row(out, "Model", s.path("model").asText());
        StringBuilder routes = new StringBuilder();
        d.path("routes").forEach(x -> routes.append(routes.length() == 0 ? "" : ", ").append(x.path("ref").asText()).append(" → ")
                .append(x.path("model").asText()).append(':').append(x.path("version").asText()).append(" (").append(x.path("weight").asText())
                .append("%)"));
        row(out, "Routes", routes.toString());
        row(out, "Shadow", s.path("shadow").isNull() || s.path("shadow").isMissingNode() ? "-" : s.path("shadow").asText());
        row(out, "Mode", s.path("mode").asText());
        row(out, "Resources", "cpu " + r.path("cpu").asText() + ", memory " + r.path("memory").asText()
                + (r.path("gpu").asInt() > 0 ? ", " + r.path("gpu").asText() + " " + r.path("gpuType").asText() : "") + " per replica");
        row(out, "Replicas", s.at("/replicas/min").asText() + ".." + s.at("/replicas/max").asText()
                + (s.path("autoscale").isObject() ? " (autoscale on " + s.at("/autoscale/metric").asText() + ", target "
                + s.at("/autoscale/target").asText() + ")" : ""));
        row(out, "Endpoint", st.path("endpoint").asText("-"));
        row(out, "Runtime", st.path("runtime").asText("-"));
        row(out, "Last changed", d.path("lastChangedBy").asText() + " (command " + d.path("lastCommand").asText() + ")");
        out.println("Conditions:");
        out.printf("  %-10s %s%n", "Phase", st.path("phase").asText());
        out.printf("  %-10s %s%n", "Ready", st.path("readyReplicas").asText("0") + " replica(s)");
        out.printf("  %-10s %s%n", "Reason", st.path("reason").asText("-"));
        out.println("Events (recent commands, newest first):");
        Output.table(out, events, EVENT_COLUMNS);
        out.flush();
    }

    private static void row(PrintWriter out, String label, String value) {
        out.printf("%-14s%s%n", label + ":", value);
    }
}
