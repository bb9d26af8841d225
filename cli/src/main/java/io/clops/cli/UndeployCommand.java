package io.clops.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "undeploy", description = "Remove a deployment: its model and executor stop.")
public final class UndeployCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "deployment name") String name;
    @Option(names = "--wait", description = "wait until it is gone") boolean waitGone;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        ApiClient api = root.api();
        ApiClient.Answer a = api.send("DELETE", "/api/v1/projects/" + root.project + "/deployments/" + name, null);
        ModelCommand.fail(a);
        if (waitGone) {
            Ui.awaitGone(spec, api, root.project, name, Duration.ofSeconds(60));
        }
        Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("DEPLOYMENT", "/deployment"),
                Output.col("VERDICT", "/verdict"), Output.col("REASON", "/reason")));
        return 0;
    }
}
