package io.clops.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "config", description = "The CLI's config file ($CLOPS_CONFIG, else ~/.clops/config.yaml): server and current project.",
        subcommands = {ConfigCommand.View.class, ConfigCommand.UseProject.class, ConfigCommand.SetServer.class, ConfigCommand.Token.class})
public final class ConfigCommand {

    @Command(name = "view", description = "What is in effect: each setting, its value and where it comes from.")
    static final class View implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ObjectNode kept = CliConfig.read(CliConfig.path());
            var rows = ApiClient.JSON.createArrayNode();
            rows.addObject().put("setting", "server").put("value", root.server).put("from", from("server", kept));
            rows.addObject().put("setting", "project").put("value", root.project).put("from", from("project", kept));
            ObjectNode out = ApiClient.JSON.createObjectNode().put("file", CliConfig.path().toString());
            out.set("items", rows);
            Output.print(spec.commandLine().getOut(), root.output, out, List.of(Output.col("SETTING", "/setting"),
                    Output.col("VALUE", "/value"), Output.col("FROM", "/from")));
            return 0;
        }

        private String from(String key, ObjectNode kept) {
            Main root = Ui.root(spec);
            CommandLine.ParseResult parsed = spec.root().commandLine().getParseResult();
            if (parsed != null && parsed.hasMatchedOption("--" + key)) {
                return "flag --" + key;
            }
            String env = System.getenv(CliConfig.ENV.get(key));
            if (env != null && !env.isBlank()) {
                return "environment " + CliConfig.ENV.get(key);
            }
            return kept.has(key) ? "config file" : "default";
        }
    }

    @Command(name = "token", description = {"Print the token in effect (--token, else CLOPS_TOKEN, else the config file's), for other",
            "clients: curl -H \"Authorization: Bearer $(clops config token)\" …; exit 1 when there is none."})
    static final class Token implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String t = Ui.root(spec).token();
            if (t == null) {
                throw new CliException("no token: clops login first");
            }
            spec.commandLine().getOut().println(t);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "use-project", description = "Make PROJECT the current project: clops config use-project team-a")
    static final class UseProject implements Callable<Integer> {
        @Parameters(index = "0", description = "project") String project;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return set(spec, "project", project);
        }
    }

    @Command(name = "set-server", description = "Set the API the CLI talks to: clops config set-server http://clops.example:8080")
    static final class SetServer implements Callable<Integer> {
        @Parameters(index = "0", description = "URL") String url;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (!url.matches("https?://[^\\s/]+(/\\S*)?")) {
                throw new CliException("server must be an http(s) URL, not '" + url + "'", 2);
            }
            return set(spec, "server", url);
        }
    }

    static int set(CommandLine.Model.CommandSpec spec, String key, String value) {
        ObjectNode kept = CliConfig.read(CliConfig.path());
        kept.put(key, value);
        CliConfig.write(CliConfig.path(), kept);
        spec.commandLine().getOut().printf("%s set to %s in %s%n", key, value, CliConfig.path());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
