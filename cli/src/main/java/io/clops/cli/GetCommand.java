package io.clops.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "get", description = "Show resources: deployments, deployment NAME, models, model NAME, projects.")
public final class GetCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "deployments | deployment | models | model | projects") String kind;
    @Parameters(index = "1", arity = "0..1", description = "name") String name;
    @CommandLine.Option(names = {"-A", "--all-projects"}, description = "deployments of every project") boolean all;
    @CommandLine.Option(names = {"-l", "--selector"}, split = ",",
            description = "only deployments matching every KEY=VALUE (keys: model, phase, mode, project; KEY!=VALUE excludes)")
    List<String> selector = new java.util.ArrayList<>();
    @CommandLine.Option(names = {"-w", "--watch"}, description = "after the list, print each deployment again whenever it changes")
    boolean watch;
    @CommandLine.Option(names = "--watch-for", description = "stop watching after this many seconds (default: until Ctrl-C)")
    Integer watchFor;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        ApiClient api = root.api();
        switch (kind) {
            case "deployments", "deployment", "deploy", "deployments.clops.io" -> {
                String path = name != null ? "/api/v1/projects/" + root.project + "/deployments/" + name
                        : all ? "/api/v1/deployments" : "/api/v1/projects/" + root.project + "/deployments";
                Selector sel = Selector.parse(selector);
                ApiClient.Answer a = api.get(path);
                ModelCommand.fail(a);
                JsonNode shown = name != null ? a.body() : sel.filter(a.body());
                Output.print(spec.commandLine().getOut(), root.output, shown, Ui.DEPLOYMENT_COLUMNS);
                if (watch) {
                    watch(api, path, sel, shown);
                }
                return 0;
            }
            case "projects", "project" -> {
                ApiClient.Answer a = api.get(name != null ? "/api/v1/projects/" + name : "/api/v1/projects");
                ModelCommand.fail(a);
                Output.print(spec.commandLine().getOut(), root.output, a.body(), ProjectCommand.PROJECT_COLUMNS);
                return 0;
            }
            case "models", "model" -> {
                if (name == null) {
                    return printModels(spec);
                }
                ApiClient.Answer a = api.get("/api/v1/projects/" + root.project + "/models/" + name);
                ModelCommand.fail(a);
                Output.print(spec.commandLine().getOut(), root.output, root.output == Output.Format.table ? a.body().get("versions") : a.body(),
                        List.of(Output.col("MODEL", "/model"), Output.col("VERSION", "/version"), Output.col("PROTOCOL", "/protocol"),
                                Output.col("BY", "/registeredBy"), ModelCommand.SERVES));
                return 0;
            }
            default -> throw new CliException("unknown kind '" + kind + "' (deployments, models, projects)", 2);
        }
    }

    /**
     * Polls once a second and prints each deployment whose row changed (a table line, or one JSON/YAML document per
     * change), and a deployment gone as DELETED, as {@code kubectl get -w} does.
     */
    private void watch(ApiClient api, String path, Selector sel, JsonNode first) {
        java.util.Map<String, String> last = Watch.rows(first, root().output);
        long until = watchFor == null ? Long.MAX_VALUE : System.nanoTime() + watchFor * 1_000_000_000L;
        while (System.nanoTime() < until) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            ApiClient.Answer a = api.get(path);
            ModelCommand.fail(a);
            JsonNode now = name != null ? (a.ok() ? a.body() : com.fasterxml.jackson.databind.node.MissingNode.getInstance()) : sel.filter(a.body());
            java.util.Map<String, String> rows = Watch.rows(now, root().output);
            Watch.changes(last, rows).forEach(line -> spec.commandLine().getOut().println(line));
            spec.commandLine().getOut().flush();
            last = rows;
        }
    }

    private Main root() {
        return Ui.root(spec);
    }

    static int printModels(CommandLine.Model.CommandSpec spec) {
        Main root = Ui.root(spec);
        ApiClient.Answer a = root.api().get("/api/v1/projects/" + root.project + "/models");
        ModelCommand.fail(a);
        Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("PROJECT", "/project"),
                Output.col("MODEL", "/name"), Output.col("VERSIONS", "/versions"), Output.col("LATEST", "/latest"),
                Output.col("ALIASES", "/aliases")));
        return 0;
    }
}
