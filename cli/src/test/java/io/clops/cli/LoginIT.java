package io.clops.cli;

import io.clops.auth.Tokens;
import io.clops.auth.Users;
import io.clops.platform.Platform;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Logging in with the CLI against the running platform, and {@code clops up}'s local admin. The CLI's config file
 * lives in a temporary home (user.home), never the developer's.
 */
class LoginIT {
    @TempDir
    Path home;
    @TempDir
    Path userHome;
    Platform platform;
    String userHomeBefore;
    InputStream stdinBefore;

    @BeforeEach
    void isolate() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("CLOPS_CONFIG") == null && System.getenv("CLOPS_TOKEN") == null,
                "CLOPS_CONFIG or CLOPS_TOKEN is set: LoginIT, which needs the CLI's config file in a temporary home, is skipped");
        userHomeBefore = System.getProperty("user.home");
        System.setProperty("user.home", userHome.toString());
        stdinBefore = System.in;
    }

    @AfterEach
    void restore() {
        if (platform != null) {
            platform.close();
        }
        if (userHomeBefore != null) {
            System.setProperty("user.home", userHomeBefore);
        }
        System.setIn(stdinBefore);
    }

    record Run(int code, String out, String err) {
    }

    Run clops(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "--server=" + platform.apiUrl();
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void aUserLogsInSeesWhoTheyAreAndLogsOut() throws Exception {
        Users.put(home.resolve("auth/users"), "gina", "gina's long password");
        platform = Platform.start(new Platform.Options(home, 0, 0, null), line -> { });
        assertThat(clops("project", "create", "login-a", "--admin", "gina").code()).isZero();

        System.setIn(new ByteArrayInputStream("not her password\n".getBytes(StandardCharsets.UTF_8)));
        Run wrong = clops("login", "-u", "gina", "--password-stdin");
        assertThat(wrong.code()).isEqualTo(CliException.REFUSED);
        assertThat(wrong.err()).contains("wrong user or password");

        System.setIn(new ByteArrayInputStream("gina's long password\n".getBytes(StandardCharsets.UTF_8)));
        Run login = clops("login", "-u", "gina", "--password-stdin");
        assertThat(login.code()).as(login.err()).isZero();
        assertThat(login.out()).startsWith("logged in to " + platform.apiUrl() + " as gina");
        assertThat(Files.readString(userHome.resolve(".clops/config.yaml"))).contains("token: \"clops1.");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(userHome.resolve(".clops/config.yaml"))))
                .as("the kept token is its owner's only").isEqualTo("rw-------");

        Run me = clops("whoami");
        assertThat(me.code()).as(me.err()).isZero();
        assertThat(me.out()).startsWith("gina (session token, until ").containsPattern("login-a\\s+admin");

        assertThat(clops("logout").out()).startsWith("logged out");
        Run after = clops("whoami");
        assertThat(after.code()).isEqualTo(CliException.REFUSED);
        assertThat(after.err()).contains("no token");

        Run logins = clops("audit", "logins", "--user", "gina");
        assertThat(logins.code()).as(logins.err()).isZero();
        assertThat(logins.out()).startsWith("TIME").containsPattern("gina\\s+password\\s+refused\\s+127\\.0\\.0\\.1")
                .containsPattern("gina\\s+password\\s+issued\\s+127\\.0\\.0\\.1\\s+[0-9a-f]{32}\\s+\\S+\\s+revoked");
        Run json = clops("audit", "logins", "--user", "gina", "-o", "json");
        assertThat(json.out()).contains("\"outcome\" : \"refused\"").contains("\"state\" : \"revoked\"").doesNotContain("\"password\" :");
    }

    @Test
    void upsLocalAdminHasARandomPasswordKeptOwnerOnlyAndTheCliIsLoggedInThroughTheApi() throws Exception {
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true), line -> { });
        String said = LocalAdmin.ensure(home, platform.apiUrl());
        String user = System.getProperty("user.name");
        assertThat(said).startsWith(user + " (local admin; its password is in " + home.resolve("auth/initial-password"));
        String password = Files.readString(home.resolve("auth/initial-password")).strip();
        assertThat(password).hasSizeGreaterThanOrEqualTo(20);
        assertThat(Users.read(home.resolve("auth/users")).authenticate(user, password)).contains(user);
        if (Files.getFileStore(home).supportsFileAttributeView("posix")) {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve("auth/initial-password"))))
                    .isEqualTo("rw-------");
        }
        String token = CliConfig.token(java.util.Map.of(), CliConfig.path());
        Tokens.Claims c = new Tokens(Tokens.keyIn(home.resolve("auth")), java.time.Clock.systemUTC()).verify(token);
        assertThat(c.subject()).isEqualTo(user);
        assertThat(CliConfig.read(CliConfig.path()).get("server").asText()).isEqualTo(platform.apiUrl());
        Run logins = clops("audit", "logins", "-o", "json");
        assertThat(logins.code()).as(logins.err()).isZero();
        assertThat(logins.out()).as("the local admin's token was issued through the log").contains("\"tokenId\" : \"" + c.id() + "\"");

        String again = LocalAdmin.ensure(home, platform.apiUrl());
        assertThat(again).as("a second start keeps the users and the token").isEqualTo(user + " (local admin)");
        assertThat(Users.read(home.resolve("auth/users")).authenticate(user, password)).contains(user);
    }

    @Test
    void withTokensRequiredTheCliWorksOnceLoggedInAndNotBefore() throws Exception {
        Users.put(home.resolve("auth/users"), "hana", "hana's long password");
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true), line -> { });
        Run before = clops("project", "create", "secured");
        assertThat(before.code()).isEqualTo(CliException.REFUSED);
        assertThat(before.err()).contains("no token: log in (clops login)");
        assertThat(clops("get", "deployments", "-p", "secured").err()).contains("no token");

        System.setIn(new ByteArrayInputStream("hana's long password\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(clops("login", "-u", "hana", "--password-stdin").code()).isZero();
        Run created = clops("project", "create", "secured");
        assertThat(created.code()).as(created.err()).isZero();
        Run members = clops("-p", "secured", "project", "member", "list");
        assertThat(members.out()).containsPattern("hana\\s+admin");
    }

    /**
     * clops up's default: the local admin, who runs the platform, is the one user trusted with this machine. Anyone
     * else, even a project's admin, cannot register a version whose command the local runtime would start here with
     * the platform's rights (it could read the signing key below and mint anyone's token); they register model files.
     */
    @Test
    void onAPlatformOfItsOwnOnlyTheLocalAdminRegistersACommandThatRunsOnThisMachine() throws Exception {
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true), line -> { });
        LocalAdmin.ensure(home, platform.apiUrl()); // the first start's users file: the local admin, and the CLI logged in as them
        Users.put(home.resolve("auth/users"), "mal", "mal's long password");
        Run created = clops("project", "create", "host-a");
        assertThat(created.code()).as(created.err()).isZero();
        Run member = clops("-p", "host-a", "project", "member", "add", "mal", "--role", "admin");
        assertThat(member.code()).as(member.err()).isZero();
        Run byAdmin = clops("-p", "host-a", "model", "register", "iris", "--example", "iris");
        assertThat(byAdmin.code()).as(byAdmin.err()).isZero();

        System.setIn(new ByteArrayInputStream("mal's long password\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(clops("login", "-u", "mal", "--password-stdin").code()).isZero();
        Run steal = clops("-p", "host-a", "model", "register", "pwn", "--", "sh", "-c", "cat " + home.resolve("auth/signing-key.pk8"));
        assertThat(steal.code()).isEqualTo(CliException.REFUSED);
        assertThat(steal.err()).contains("command: a version's own command runs on the platform's machine with the platform's own rights,"
                + " and user 'mal' is not one of clops.auth.host-users");
        assertThat(clops("-p", "host-a", "model", "register", "iris", "--example", "iris").code()).isEqualTo(CliException.REFUSED);
        Run file = clops("-p", "host-a", "model", "register", "iris", "--file",
                Path.of("..", "examples", "target", "models", "iris.onnx").toAbsolutePath().normalize().toString());
        assertThat(file.code()).as("a model file is served by clops's own runtime: " + file.err()).isZero();
        Run models = clops("-p", "host-a", "get", "models", "-o", "json");
        assertThat(models.out()).as("the refused versions were never registered").doesNotContain("pwn")
                .contains("\"latest\" : 2");

        // a URL is fetched from this machine: mal's may not reach what only the machine reaches (here, localhost)
        byte[] onnx = Files.readAllBytes(Path.of("..", "examples", "target", "models", "iris.onnx").toAbsolutePath().normalize());
        java.util.concurrent.atomic.AtomicInteger gets = new java.util.concurrent.atomic.AtomicInteger();
        com.sun.net.httpserver.HttpServer web = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        web.createContext("/iris.onnx", ex -> {
            gets.incrementAndGet();
            ex.sendResponseHeaders(200, onnx.length);
            ex.getResponseBody().write(onnx);
            ex.close();
        });
        web.start();
        try {
            String url = "http://127.0.0.1:" + web.getAddress().getPort() + "/iris.onnx";
            Run byUrl = clops("-p", "host-a", "model", "register", "local-web", "--uri", url);
            assertThat(byUrl.code()).as("registering it is not fetching it: " + byUrl.err()).isZero();
            int readByCli = gets.get();
            Path spec = home.resolve("local-web.yaml");
            Files.writeString(spec, "metadata: { name: local-web }\nspec: { model: local-web:1, mode: sync }\n");
            assertThat(clops("-p", "host-a", "deploy", "-f", spec.toString()).code()).isZero();
            String[] status = {""};
            io.clops.testing.Await.until("the runtime refuses to fetch from localhost for mal", java.time.Duration.ofSeconds(60), () -> {
                status[0] = clops("-p", "host-a", "get", "deployment", "local-web", "-o", "json").out();
                return status[0].contains("Failed");
            });
            assertThat(status[0]).contains("refused, 127.0.0.1 is 127.0.0.1, an address of the platform's machine or a private network");
            assertThat(gets.get()).as("nothing asked by the runtime").isEqualTo(readByCli);
        } finally {
            web.stop(0);
        }
    }

    /**
     * The runtime's side of the same rule: a command registered while its author was trusted with this machine is not
     * started once they are not (clops.auth.host-users changed), whoever deploys it; the deployment says why.
     */
    @Test
    void aCommandWhoseAuthorIsNoLongerTrustedWithThisMachineIsNotStarted() throws Exception {
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true).withHostUsers("mal"), line -> { });
        LocalAdmin.ensure(home, platform.apiUrl());
        Users.put(home.resolve("auth/users"), "mal", "mal's long password");
        assertThat(clops("project", "create", "host-b").code()).isZero();
        assertThat(clops("-p", "host-b", "project", "member", "add", "mal", "--role", "modeler").code()).isZero();
        System.setIn(new ByteArrayInputStream("mal's long password\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(clops("login", "-u", "mal", "--password-stdin").code()).isZero();
        Path ran = home.resolve("it-ran");
        Run registered = clops("-p", "host-b", "model", "register", "pwn", "--protocol", "raw", "--", "sh", "-c", "touch " + ran + "; exec sleep 600");
        assertThat(registered.code()).as("mal is trusted with the machine for now: " + registered.err()).isZero();
        platform.close();

        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true), line -> { }); // the local admin alone now
        Path spec = home.resolve("pwn.yaml");
        Files.writeString(spec, "metadata: { name: pwn }\nspec: { model: pwn:1, protocol: raw, mode: sync }\n");
        Run deployed = clops("-p", "host-b", "deploy", "-f", spec.toString());
        assertThat(deployed.code()).as(deployed.err()).isZero();
        String[] reason = {""};
        io.clops.testing.Await.until("the worker refuses to start pwn:1", java.time.Duration.ofSeconds(30), () -> {
            reason[0] = clops("-p", "host-b", "get", "deployment", "pwn", "-o", "json").out();
            return reason[0].contains("not one of clops.auth.host-users");
        });
        assertThat(reason[0]).contains("pwn:1 would run on this machine with the platform's rights (its command), and it was registered by 'mal'");
        assertThat(ran).as("the command was never started").doesNotExist();
    }
}
