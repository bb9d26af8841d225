package io.clops.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;

/** The clops command line. Every command speaks tables by default and {@code -o json|yaml} on request. */
@Command(name = "clops", mixinStandardHelpOptions = true, version = "clops 0.1.0",
        description = "Serve models on an event-driven platform: register, deploy, predict.",
        subcommands = {UpCommand.class, DemoCommand.class, ModelCommand.class, DeployCommand.class, GetCommand.class,
                PredictCommand.class, UndeployCommand.class, ExecutorCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
    }

    @Option(names = "--server", scope = ScopeType.INHERIT, description = "clops API URL (env CLOPS_SERVER; default ${DEFAULT-VALUE})",
            defaultValue = "${env:CLOPS_SERVER:-http://127.0.0.1:8080}")
    String server;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, defaultValue = "table",
            description = "output format: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    Output.Format output;

    @Option(names = {"-p", "--project"}, scope = ScopeType.INHERIT, defaultValue = "${env:CLOPS_PROJECT:-default}",
            description = "project (env CLOPS_PROJECT; default ${DEFAULT-VALUE})")
    String project;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    ApiClient api() {
        return new ApiClient(server);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setAllowSubcommandsAsOptionParameters(true); // -p demo: a project may be named like a command
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            if (ex instanceof CliException ce) {
                line.getErr().println("error: " + ce.getMessage());
                line.getErr().flush();
                return ce.exitCode();
            }
            throw ex;
        });
        return cl;
    }

    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
