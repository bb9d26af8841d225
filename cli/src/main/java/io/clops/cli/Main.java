package io.clops.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;

/** The clops command line. Every command speaks tables by default and {@code -o json|yaml} on request. */
@Command(name = "clops", mixinStandardHelpOptions = true, version = "clops 0.1.0",
        description = "Serve models on an event-driven platform: register, deploy, predict.",
        subcommands = {UpCommand.class, DemoCommand.class, ProjectCommand.class, ModelCommand.class, DeployCommand.class, GetCommand.class, DescribeCommand.class,
                PredictCommand.class, UndeployCommand.class, AuditCommand.class, HistoryCommand.History.class, HistoryCommand.Rollback.class, HistoryCommand.Replay.class, ExecutorCommand.class, ConfigCommand.class, LoginCommand.class, LoginCommand.Logout.class, LoginCommand.WhoAmI.class, AuthCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static {
        System.setProperty("org.apache.avro.SERIALIZABLE_PACKAGES", "io.clops");
    }

    @Option(names = "--server", scope = ScopeType.INHERIT,
            description = "clops API URL (else env CLOPS_SERVER, else the config file, else http://127.0.0.1:8080)")
    String server;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, defaultValue = "table",
            description = "output format: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    Output.Format output;

    @Option(names = {"-p", "--project"}, scope = ScopeType.INHERIT,
            description = "project (else env CLOPS_PROJECT, else the config file's current project, else default)")
    String project;

    @Option(names = "--token", scope = ScopeType.INHERIT,
            description = "token to send (else env CLOPS_TOKEN, else the config file's from clops login; empty: none)")
    String token;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    ApiClient api() {
        return new ApiClient(server, token());
    }

    /** The token in effect: --token (empty: none), else CLOPS_TOKEN, else the config file's; null when none. */
    String token() {
        return token != null ? (token.isBlank() ? null : token) : CliConfig.token(System.getenv(), CliConfig.path());
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        withHelp(cl);
        // --server and --project when not given: the environment, then the config file (clops config), then the default
        cl.setDefaultValueProvider(arg -> arg instanceof CommandLine.Model.OptionSpec o && CliConfig.KEYS.contains(o.longestName().substring(2))
                ? CliConfig.fallback(o.longestName().substring(2), System.getenv(), CliConfig.path()) : null);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setAllowSubcommandsAsOptionParameters(true); // -p demo: a project may be named like a command
        cl.setExpandAtFiles(false); // @FILE is what -d reads (as curl does), not a file of arguments picocli splices in
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

    /**
     * {@code -h, --help} on every command: it prints the command's help and exits 0, before any check of the command's
     * own arguments (so {@code clops deploy --help} is help, not a missing {@code -f}).
     */
    private static void withHelp(CommandLine cl) {
        CommandLine.Model.CommandSpec spec = cl.getCommandSpec();
        if (spec.optionsMap().get("--help") == null && !(cl.getCommand() instanceof CommandLine.HelpCommand)) {
            spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("Show this help message and exit.").build());
        }
        cl.getSubcommands().values().stream().distinct().forEach(Main::withHelp);
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
