package io.clops.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

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
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: cannot reach the clops API at http://127.0.0.1:1");
    }

    @Test
    void anUnknownOutputFormatIsAUsageError() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "-o", "xml", "get", "deployments");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("-o").contains("xml");
    }
}
