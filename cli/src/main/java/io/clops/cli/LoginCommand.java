package io.clops.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "login", description = {"Log in: your name and password for a token the CLI keeps in its config file.",
        "The password is asked for, or read from stdin with --password-stdin (for scripts); never a flag.",
        "--github: a GitHub token instead ($GITHUB_TOKEN, else the first line of stdin; e.g. gh auth token | clops login --github),",
        "for a member of one of the platform's GitHub organisations; you are then github:<login>."})
public final class LoginCommand implements Callable<Integer> {
    @Option(names = {"-u", "--user"}, description = "user (default: the operating-system user)") String user;
    @Option(names = "--password-stdin", description = "read the password from the first line of stdin") boolean fromStdin;
    @Option(names = "--github", description = "log in with a GitHub token ($GITHUB_TOKEN, else stdin's first line)") boolean github;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Main root = Ui.root(spec);
        if (github) {
            String gh = System.getenv("GITHUB_TOKEN");
            if (gh == null || gh.isBlank()) {
                gh = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            }
            if (gh == null || gh.isBlank()) {
                throw new CliException("no GitHub token: set GITHUB_TOKEN or pipe one in (gh auth token | clops login --github)", CliException.USAGE);
            }
            return keep(root, "/api/v1/login/github", ApiClient.JSON.createObjectNode().put("token", gh.strip()));
        }
        String name = user != null ? user : System.getProperty("user.name");
        String password;
        if (fromStdin) {
            password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        } else if (System.console() != null) {
            char[] p = System.console().readPassword("password for %s: ", name);
            password = p == null ? null : new String(p);
        } else {
            throw new CliException("no terminal to ask the password on: use --password-stdin", CliException.USAGE);
        }
        if (password == null || password.isEmpty()) {
            throw new CliException("no password given", CliException.USAGE);
        }
        return keep(root, "/api/v1/login", ApiClient.JSON.createObjectNode().put("user", name).put("password", password));
    }

    /** Sends the login, keeps the token it answers in the config file, says who. */
    private int keep(Main root, String path, ObjectNode body) {
        ApiClient.Answer a = login(root.server, path, body);
        ModelCommand.fail(a);
        spec.commandLine().getOut().printf("logged in to %s as %s (until %s); token kept in %s%n", root.server, a.body().path("user").asText(),
                a.body().path("expires").asText(), CliConfig.path());
        spec.commandLine().getOut().flush();
        return 0;
    }

    /**
     * POSTs a login to {@code server} and, when it answers a token, keeps it with the server in the config file (as
     * {@code clops login} and {@code clops up}'s local admin do). Sent once: a 503 issued no token, the user may try
     * again.
     */
    static ApiClient.Answer login(String server, String path, ObjectNode body) {
        ApiClient.Answer a = new ApiClient(server).send("POST", server + path, body, java.util.Map.of("Idempotency-Key", "login"));
        if (a.status() == 200) {
            ObjectNode kept = CliConfig.read(CliConfig.path());
            kept.put("token", a.body().get("token").asText());
            kept.put("server", server);
            CliConfig.write(CliConfig.path(), kept);
        }
        return a;
    }

    @Command(name = "logout", description = "Revoke the token the CLI keeps (on every door, within the revocation bound) and forget it.")
    static final class Logout implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ObjectNode kept = CliConfig.read(CliConfig.path());
            boolean had = kept.hasNonNull("token");
            String revoked = "";
            if (had) {
                ApiClient.Answer a = root.api().send("POST", root.server + "/api/v1/logout", null, java.util.Map.of("Idempotency-Key", "logout"));
                if (!a.ok() && a.status() != 401) { // 401: expired or revoked already
                    ModelCommand.fail(a);
                }
                revoked = a.ok() ? "token revoked, " : "token no longer valid, ";
            }
            kept.remove("token");
            CliConfig.write(CliConfig.path(), kept);
            spec.commandLine().getOut().println(had ? "logged out (" + revoked + "removed from " + CliConfig.path() + ")" : "not logged in");
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "whoami", description = "Who the API takes you for, and your role in each project.")
    static final class WhoAmI implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ApiClient.Answer a = root.api().get("/api/v1/whoami");
            ModelCommand.fail(a);
            if (root.output != Output.Format.table) {
                Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of());
                return 0;
            }
            spec.commandLine().getOut().printf("%s (%s token, until %s)%s%n", a.body().path("user").asText(),
                    a.body().path("tokenKind").asText(), a.body().path("expires").asText(),
                    a.body().path("auditor").asBoolean() ? "; the platform's auditor: reads every project and everyone's logins" : "");
            Output.table(spec.commandLine().getOut(), a.body().path("projects"),
                    List.of(Output.col("PROJECT", "/project"), Output.col("ROLE", "/role")));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
