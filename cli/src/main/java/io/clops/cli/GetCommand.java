package io.clops.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "get", description = "Show resources: deployments, deployment NAME, models, model NAME.")
public final class GetCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "deployments | deployment | models | model") String kind;
    @Parameters(index = "1", arity = "0..1", description = "name") String name;
    @CommandLine.Option(names = {"-A", "--all-projects"}, description = "deployments of every project") boolean all;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        ApiClient api = root.api();
        switch (kind) {
            case "deployments", "deployment", "deploy", "deployments.clops.io" -> {
                String path = name != null ? "/api/v1/projects/" + root.project + "/deployments/" + name
                        : all ? "/api/v1/deployments" : "/api/v1/projects/" + root.project + "/deployments";
                ApiClient.Answer a = api.get(path);
                ModelCommand.fail(a);
                Output.print(spec.commandLine().getOut(), root.output, a.body(), Ui.DEPLOYMENT_COLUMNS);
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
                                Output.col("BY", "/registeredBy"), Output.col("COMMAND", "/command"), Output.col("IMAGE", "/image")));
                return 0;
            }
            default -> throw new CliException("unknown kind '" + kind + "' (deployments, models)", 2);
        }
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
