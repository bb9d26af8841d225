package io.clops.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CliParsingTest {

    @Test
    void aProjectMayBeNamedLikeACommand() {
        var cl = Main.commandLine();
        cl.parseArgs("-p", "demo", "--server", "http://x:1", "get", "deployments");
        Main root = cl.getCommand();
        assertThat(root.project).isEqualTo("demo");
        assertThat(root.server).isEqualTo("http://x:1");
    }

    @Test
    void anUnreachableServerIsAOneLineErrorNotAStackTrace() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true),
                "--server", "http://127.0.0.1:1", "get", "deployments");
        assertThat(code).isEqualTo(CliException.UNREACHABLE);
        assertThat(err.toString()).startsWith("error: cannot reach the clops API at http://127.0.0.1:1");
    }

    @Test
    void predictDataFromAFileThatIsNotThereIsAUsageErrorNamingIt() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true),
                "--server", "http://127.0.0.1:1", "predict", "iris", "-d", "@/nonexistent/request.json");
        assertThat(code).as("refused before any call to the API").isEqualTo(2);
        assertThat(err.toString()).contains("--data @/nonexistent/request.json: cannot read /nonexistent/request.json: no such file");
    }

    @Test
    void waitingFlagsOutOfRangeAreUsageErrorsBeforeAnyCallToTheApi() {
        for (String[] args : List.of(new String[]{"deploy", "-f", "-", "--wait", "--fail-after", "-1"},
                new String[]{"deploy", "-f", "-", "--wait", "--timeout", "0"},
                new String[]{"rollback", "iris", "--to-generation", "1", "--wait", "--fail-after", "-5"})) {
            StringWriter err = new StringWriter();
            java.util.List<String> all = new java.util.ArrayList<>(List.of("--server", "http://127.0.0.1:1"));
            all.addAll(List.of(args));
            int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), all.toArray(String[]::new));
            assertThat(code).as(String.join(" ", args) + ": refused before any call to the API (which is unreachable: 3)").isEqualTo(2);
            assertThat(err.toString()).containsPattern("--(fail-after|timeout): seconds, [01] or more, not -?\\d+");
        }
    }

    @Test
    void predictDataAtDashIsStandardInputAndPlainJsonIsItself() {
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("{\"inputs\":[]}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            assertThat(PredictCommand.body("@-")).isEqualTo("{\"inputs\":[]}");
        } finally {
            System.setIn(stdin);
        }
        assertThat(PredictCommand.body("{\"inputs\":[]}")).isEqualTo("{\"inputs\":[]}");
    }

    @Test
    void anUnknownOutputFormatIsAUsageError() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "-o", "xml", "get", "deployments");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("-o").contains("xml");
    }

    /** Every command path of the CLI, as a user types it (clops model alias, clops project quota set, ...). */
    static java.util.List<java.util.List<String>> commandPaths(picocli.CommandLine cl, java.util.List<String> prefix) {
        java.util.List<java.util.List<String>> out = new java.util.ArrayList<>();
        out.add(prefix);
        cl.getSubcommands().forEach((name, sub) -> {
            if (name.equals(sub.getCommandName())) {
                java.util.List<String> path = new java.util.ArrayList<>(prefix);
                path.add(name);
                out.addAll(commandPaths(sub, path));
            }
        });
        return out;
    }

    @Test
    void helpOnEveryCommandPrintsItsHelpAndExitsZero() {
        java.util.List<java.util.List<String>> paths = commandPaths(Main.commandLine(), java.util.List.of());
        assertThat(paths).extracting(p -> String.join(" ", p))
                .contains("deploy", "model alias", "project create", "project member add", "project quota set", "completion");
        for (java.util.List<String> path : paths) {
            java.util.List<String> args = new java.util.ArrayList<>(path);
            args.add("--help");
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
            assertThat(code).as("clops %s: %s", String.join(" ", args), err).isZero();
            assertThat(out.toString()).as("clops %s", String.join(" ", args)).contains("Usage: clops " + String.join(" ", path));
            assertThat(err.toString()).isEmpty();
        }
    }

    @Test
    void theCompletionScriptLoadsInBashAndCompletesCommands(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        StringWriter out = new StringWriter();
        assertThat(Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "completion")).isZero();
        java.nio.file.Path script = dir.resolve("clops-completion.bash");
        java.nio.file.Files.writeString(script, out.toString());
        // load it as a user would: nothing on stderr, and clops has a completion
        Process load = new ProcessBuilder("bash", "-c", "source " + script + " && complete -p clops").start();
        String loaded = new String(load.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        String loadErrors = new String(load.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(load.waitFor()).as(loadErrors).isZero();
        assertThat(loadErrors).isEmpty();
        assertThat(loaded).contains("_complete_clops").endsWith("clops\n");
        // then ask it what follows `clops proj` and `clops project member ` (outside a real completion, bash's
        // compopt complains on stderr: only stdout is read)
        String probe = "source " + script + " 2>/dev/null"
                + " && COMP_WORDS=(clops proj) COMP_CWORD=1 COMP_LINE='clops proj' COMP_POINT=10 && _complete_clops clops proj clops"
                + " && echo \"${COMPREPLY[@]}\""
                + " && COMP_WORDS=(clops project member '') COMP_CWORD=3 COMP_LINE='clops project member ' COMP_POINT=21"
                + " && _complete_clops clops '' member && echo \"${COMPREPLY[@]}\"";
        Process bash = new ProcessBuilder("bash", "-c", probe).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String said = new String(bash.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(bash.waitFor()).as(said).isZero();
        java.util.List<String> lines = said.lines().toList();
        assertThat(lines).as(said).hasSize(2);
        assertThat(lines.get(0).split(" ")).containsExactly("project");
        assertThat(lines.get(1).split(" ")).contains("add", "rm", "list");
    }

    @Test
    void aFlagWinsOverTheEnvironmentWhichWinsOverTheConfigFileWhichWinsOverTheDefault(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path file = dir.resolve("config.yaml");
        assertThat(CliConfig.fallback("project", java.util.Map.of(), file)).isEqualTo("default");
        java.nio.file.Files.writeString(file, "server: http://kept:8080\nproject: team-a\n");
        assertThat(CliConfig.fallback("project", java.util.Map.of(), file)).isEqualTo("team-a");
        assertThat(CliConfig.fallback("server", java.util.Map.of(), file)).isEqualTo("http://kept:8080");
        assertThat(CliConfig.fallback("project", java.util.Map.of("CLOPS_PROJECT", "from-env"), file)).isEqualTo("from-env");
        java.nio.file.Files.writeString(file, "- not\n- a mapping\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CliConfig.fallback("project", java.util.Map.of(), file))
                .hasMessageContaining("must be a YAML mapping");
    }

    @Test
    void useProjectKeepsTheCurrentProjectForTheNextCommands(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("CLOPS_CONFIG") == null && System.getenv("CLOPS_PROJECT") == null,
                "CLOPS_CONFIG or CLOPS_PROJECT is set: this test of the config file in the home directory is skipped");
        String before = System.getProperty("user.home");
        System.setProperty("user.home", home.toString());
        try {
            StringWriter out = new StringWriter();
            assertThat(Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "config", "use-project", "team-a")).isZero();
            assertThat(home.resolve(".clops/config.yaml")).content().contains("project: \"team-a\"");
            var cl = Main.commandLine();
            cl.parseArgs("get", "deployments");
            assertThat(((Main) cl.getCommand()).project).isEqualTo("team-a");
            cl = Main.commandLine();
            cl.parseArgs("-p", "other", "get", "deployments");
            assertThat(((Main) cl.getCommand()).project).as("a flag wins").isEqualTo("other");
            StringWriter view = new StringWriter();
            assertThat(Main.run(new PrintWriter(view, true), new PrintWriter(new StringWriter(), true), "config", "view")).isZero();
            assertThat(view.toString()).containsPattern("project\\s+team-a\\s+config file").containsPattern("server\\s+http://127.0.0.1:8080\\s+default");
            assertThat(Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true), "config", "set-server", "not a url"))
                    .isEqualTo(CliException.USAGE);
        } finally {
            System.setProperty("user.home", before);
        }
    }
}
