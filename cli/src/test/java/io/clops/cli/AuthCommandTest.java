package io.clops.cli;

import io.clops.auth.Tokens;
import io.clops.auth.Users;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** clops auth: an operator's key and users file for a platform run elsewhere. */
class AuthCommandTest {
    @TempDir
    Path dir;

    static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[]{Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void keygenMakesTheKeyOnceAndPrintsTheExecutorsPublicKey() throws Exception {
        String[] first = run("auth", "keygen", dir.toString());
        assertThat(first[0]).as(first[2]).isEqualTo("0");
        String pub = Files.readString(dir.resolve("public-key"));
        assertThat(pub).isEqualTo(Base64.getEncoder().encodeToString(Tokens.keyIn(dir).getPublic().getEncoded()));
        assertThat(first[1]).contains(pub);
        run("auth", "keygen", dir.toString());
        assertThat(Files.readString(dir.resolve("public-key"))).as("an existing key is kept").isEqualTo(pub);
    }

    @Test
    void userWritesABcryptLineThePlatformAccepts() throws Exception {
        InputStream before = System.in;
        try {
            System.setIn(new ByteArrayInputStream("a long password\n".getBytes(StandardCharsets.UTF_8)));
            String[] r = run("auth", "user", dir.resolve("users").toString(), "ivy", "--password-stdin");
            assertThat(r[0]).as(r[2]).isEqualTo("0");
            assertThat(Users.read(dir.resolve("users")).authenticate("ivy", "a long password")).contains("ivy");
            System.setIn(new ByteArrayInputStream("short\n".getBytes(StandardCharsets.UTF_8)));
            String[] weak = run("auth", "user", dir.resolve("users").toString(), "ivy", "--password-stdin");
            assertThat(weak[0]).isEqualTo("2");
            assertThat(weak[2]).contains("password");
        } finally {
            System.setIn(before);
        }
    }

    @Test
    void configTokenPrintsTheTokenInEffectForOtherClients() {
        String[] given = run("--token=clops1.abc.def", "config", "token");
        assertThat(given[0]).isEqualTo("0");
        assertThat(given[1].strip()).isEqualTo("clops1.abc.def");
        String[] none = run("--token=", "config", "token");
        assertThat(none[0]).isEqualTo("1");
        assertThat(none[2]).contains("no token: clops login first");
    }
}
