package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "deploy", description = "Create or update a deployment from a ModelDeployment spec (YAML or JSON).")
public final class DeployCommand implements Callable<Integer> {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Option(names = {"-f", "--file"}, required = true, description = "spec file (YAML or JSON); - reads stdin") String file;
    @Option(names = "--wait", description = "wait until the deployment is Ready") boolean waitReady;
    @Option(names = "--timeout", defaultValue = "120", description = "seconds to wait with --wait (default ${DEFAULT-VALUE})") int timeout;
    @Option(names = "--fail-after", defaultValue = "30", description = {"with --wait: give up (exit 1, with the reason) when the new generation",
            "failed and is still not Ready this many seconds later (default ${DEFAULT-VALUE}; 0: at its first failure)"}) int failAfter;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Main root = Ui.root(spec);
        Ui.checkWait(timeout, failAfter);
        JsonNode doc = read(file);
        String project = doc.at("/metadata/project").asText(null);
        if (project == null) {
            project = root.project;
            if (doc.path("metadata").isObject()) {
                ((ObjectNode) doc.get("metadata")).put("project", project);
            }
        }
        String name = doc.at("/metadata/name").asText("");
        ApiClient api = root.api();
        ApiClient.Answer a = api.send("POST", "/api/v1/projects/" + project + "/deployments", doc);
        ModelCommand.fail(a);
        if (a.status() == 202) {
            Ui.progress(spec, "the command is in the log but the verdict is not in yet: " + a.body().path("commandId").asText());
        }
        JsonNode shown = a.body();
        if (waitReady) {
            shown = Ui.awaitReady(spec, api, project, name, a.body().path("generation").asLong(), Duration.ofSeconds(timeout),
                    Duration.ofSeconds(failAfter));
            Output.print(spec.commandLine().getOut(), root.output, shown, Ui.DEPLOYMENT_COLUMNS);
        } else {
            Output.print(spec.commandLine().getOut(), root.output, shown, List.of(Output.col("DEPLOYMENT", "/deployment"),
                    Output.col("VERDICT", "/verdict"), Output.col("GENERATION", "/generation"), Output.col("REASON", "/reason")));
        }
        return 0;
    }

    static JsonNode read(String file) {
        try {
            byte[] bytes = file.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(file));
            JsonNode doc = YAML.readTree(bytes);
            if (doc == null || !doc.isObject()) {
                throw new CliException(file + ": expected a ModelDeployment document", 2);
            }
            return doc;
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage(), 2);
        }
    }
}
