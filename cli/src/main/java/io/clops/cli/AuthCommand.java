package io.clops.cli;

import io.clops.auth.Tokens;
import io.clops.auth.Users;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;

/** What an operator sets up before the platform runs with tokens: the signing key and the users file (no API needed). */
@Command(name = "auth", description = "Set up identity for a platform run elsewhere (Kubernetes): its signing key and its users file.",
        subcommands = {AuthCommand.Keygen.class, AuthCommand.UserAdd.class})
public final class AuthCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "keygen", description = {"Make the platform's Ed25519 signing key in DIR (signing-key.pk8, owner-only; signing-key.pub;",
            "public-key: base64, the executors' CLOPS_AUTH_PUBLIC_KEY). An existing key is kept: kubectl -n clops-system create secret",
            "generic clops-auth --from-file=DIR/signing-key.pk8 --from-file=DIR/signing-key.pub --from-file=DIR/public-key --from-file=DIR/users"})
    static final class Keygen implements Callable<Integer> {
        @Parameters(index = "0", description = "directory") Path dir;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            var key = Tokens.keyIn(dir).getPublic();
            String b64 = Base64.getEncoder().encodeToString(key.getEncoded());
            Files.writeString(dir.resolve("public-key"), b64);
            spec.commandLine().getOut().printf("signing key in %s; public key (CLOPS_AUTH_PUBLIC_KEY): %s%n", dir.resolve("signing-key.pk8"), b64);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "user", description = "Add a user to a users file, or change their password: clops auth user FILE NAME --password-stdin")
    static final class UserAdd implements Callable<Integer> {
        @Parameters(index = "0", description = "users file (created if missing)") Path file;
        @Parameters(index = "1", description = "user name") String user;
        @Option(names = "--password-stdin", description = "read the password from the first line of stdin (else asked for)") boolean fromStdin;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            String password;
            if (fromStdin) {
                password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            } else if (System.console() != null) {
                char[] p = System.console().readPassword("password for %s: ", user);
                password = p == null ? null : new String(p);
            } else {
                throw new CliException("no terminal to ask the password on: use --password-stdin", CliException.USAGE);
            }
            try {
                Users.put(file, user, password == null ? "" : password);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage(), CliException.USAGE);
            }
            spec.commandLine().getOut().printf("%s is in %s (bcrypt)%n", user, file);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
