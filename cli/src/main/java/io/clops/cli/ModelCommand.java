package io.clops.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.clops.examples.iris.IrisServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "model", description = "The model registry.", subcommands = {
        ModelCommand.Register.class, ModelCommand.Alias.class, ModelCommand.Unalias.class, ModelCommand.Archive.class,
        ModelCommand.ListModels.class})
public final class ModelCommand {
    /**
     * What a version serves, in a table: its command, its image, or its model file (format, then the store's digest
     * abbreviated or the URI it is fetched from). Empty cells in COMMAND and IMAGE columns said nothing for files.
     */
    static final Output.Column SERVES = new Output.Column("SERVES", n -> {
        if (n.path("command").isArray() && !n.path("command").isEmpty()) {
            return n.path("command").toString();
        }
        if (n.path("image").isTextual()) {
            return "image " + n.path("image").asText();
        }
        com.fasterxml.jackson.databind.JsonNode file = n.path("artifact");
        if (file.isObject()) {
            String uri = file.path("uri").asText();
            return file.path("format").asText() + " file " + (uri.startsWith(io.clops.api.RegistryRequests.STORE_PREFIX)
                    ? "sha256:" + file.path("sha256").asText().substring(0, Math.min(12, file.path("sha256").asText().length())) : uri);
        }
        return "";
    });


    @Command(name = "register", description = "Register a new version of a model (command after --, --example iris, or a model file: --file).")
    static final class Register implements Callable<Integer> {
        @Parameters(index = "0", description = "model name") String name;
        @Parameters(index = "1..*", arity = "0..*", description = "command and arguments; $${PORT} is the port to listen on") List<String> command = new ArrayList<>();
        @Option(names = "--version", description = "version number (default: next)") Integer version;
        @Option(names = "--image", description = "container image, for the Kubernetes runtime") String image;
        @Option(names = "--port", description = "port the model listens on in its container") Integer port;
        @Option(names = "--protocol", description = "v2 or raw") String protocol;
        @Option(names = "--input", description = "declared input as name:DATATYPE:dim,dim (e.g. input-0:FP32:-1,4)") List<String> inputs = new ArrayList<>();
        @Option(names = "--tag", description = "key=value") List<String> tags = new ArrayList<>();
        @Option(names = "--example", description = "register a shipped example instead of a command: iris") String example;
        @Option(names = "--alias", description = "also point this alias at the new version") String alias;
        @Option(names = "--file", description = "a model file clops serves itself (uploaded to the platform's store, named by its SHA-256)") Path file;
        @Option(names = "--format", description = "the file's format: onnx or xgboost (default: from its name, .onnx or .json/.ubj)") String format;
        @Option(names = "--uri", description = "a model file served elsewhere (https://…, http://… or file:/…), fetched where it is served; read once here for its SHA-256 and size") String uri;
        @Option(names = "--uri-token-file", paramLabel = "FILE", description = "a credential for reading --uri here: a bearer token, or a whole Authorization value such as 'Basic dXNlcjpwYXNz' "
                + "(sent to its host only, never to the platform); "
                + "where the file is served, the runtime uses the host's own credential (docs/model-files.md)") Path uriTokenFile;
        @Option(names = "--sha256", description = "with --uri: the SHA-256 you expect (refused when the URI serves another file)") String sha256;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        String guessFormat(String name) {
            String f = format != null ? format : name.endsWith(".onnx") ? "onnx" : name.endsWith(".json") || name.endsWith(".ubj") ? "xgboost" : null;
            if (f == null) {
                throw new CliException("--format: onnx or xgboost (not guessed from the name " + name.substring(name.lastIndexOf('/') + 1) + ")", 2);
            }
            return f;
        }

        /** Parts of a model file sent at once: the API's request limit (its micronaut.server.max-request-size). */
        static final int PART_BYTES = 512 * 1024;

        /**
         * Uploads a model file: in one request when it fits in one part, else in parts (begun, appended at the offset the
         * server holds, completed with the digest computed here so nothing lost on the way goes unnoticed), showing
         * progress on stderr. Nothing is held in memory beyond one part.
         */
        static com.fasterxml.jackson.databind.JsonNode uploadFile(ApiClient api, String project, Path file, String format,
                                                                  java.util.function.Consumer<String> progress) {
            String base = "/api/v1/projects/" + project + "/artifacts";
            try {
                long size = java.nio.file.Files.size(file);
                if (size <= PART_BYTES) {
                    ApiClient.Answer up = api.upload(base + "?format=" + format, java.nio.file.Files.readAllBytes(file));
                    fail(up);
                    return up.body();
                }
                ApiClient.Answer begun = api.send("POST", base + "/uploads", null);
                fail(begun);
                String id = begun.body().get("id").asText();
                java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
                byte[] part = new byte[PART_BYTES];
                long offset = 0;
                long shownTenths = 0;
                try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
                    for (int n; (n = in.readNBytes(part, 0, part.length)) > 0; ) {
                        digest.update(part, 0, n);
                        ApiClient.Answer a = api.sendBytes("PATCH", base + "/uploads/" + id, java.util.Arrays.copyOf(part, n),
                                java.util.Map.of("Upload-Offset", Long.toString(offset)));
                        fail(a);
                        offset = a.body().get("offset").asLong();
                        long tenths = offset * 10 / size;
                        if (tenths > shownTenths || offset == size) { // a line per tenth, not per part
                            shownTenths = tenths;
                            progress.accept("uploading " + file.getFileName() + ": " + (offset >> 20) + " of " + (size >> 20) + " MiB ("
                                    + (offset * 100 / size) + "%)");
                        }
                    }
                }
                ApiClient.Answer done = api.send("POST", base + "/uploads/" + id + "/complete?format=" + format + "&sha256="
                        + java.util.HexFormat.of().formatHex(digest.digest()), null);
                fail(done);
                return done.body();
            } catch (java.io.IOException e) {
                throw new CliException("cannot read " + file + ": " + e.getMessage());
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /** A file served elsewhere: read once for its digest and size (nothing kept), checked against --sha256 when given. */
        static ObjectNode remoteArtifact(String uri, String format, String expected, Path tokenFile, java.util.function.Consumer<String> progress) {
            java.net.URI u;
            try {
                u = new java.net.URI(uri);
            } catch (java.net.URISyntaxException e) {
                throw new CliException("--uri: not a URI: " + e.getMessage(), 2);
            }
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!List.of("file", "http", "https").contains(scheme)) {
                throw new CliException("--uri: https://, http:// or file:/, not " + u, 2);
            }
            String token = null;
            if (tokenFile != null) {
                try {
                    token = java.nio.file.Files.readString(tokenFile).strip();
                } catch (java.io.IOException e) {
                    throw new CliException("--uri-token-file: cannot read " + tokenFile + ": " + e.getMessage(), 2);
                }
            }
            progress.accept("reading " + uri + " for its SHA-256 …");
            io.clops.modelserver.Artifacts.Digest d;
            try (java.io.InputStream in = io.clops.modelserver.Artifacts.open(u, token)) {
                d = io.clops.modelserver.Artifacts.digest(in);
            } catch (java.io.IOException e) {
                throw new CliException("--uri " + uri + ": " + e.getMessage());
            } catch (IllegalArgumentException e) { // a credential that cannot be a header value
                throw new CliException("--uri-token-file: " + e.getMessage(), 2);
            }
            if (expected != null && !expected.equalsIgnoreCase(d.sha256())) {
                throw new CliException("--uri " + uri + " serves a file whose SHA-256 is " + d.sha256() + ", not the " + expected.toLowerCase() + " of --sha256");
            }
            ObjectNode a = ApiClient.JSON.createObjectNode();
            a.put("uri", uri).put("sha256", d.sha256()).put("size", d.size()).put("format", format);
            return a;
        }

        @Override
        public Integer call() {
            Main root = Ui.root(spec);
            ObjectNode body = ApiClient.JSON.createObjectNode();
            if (file != null && uri != null) {
                throw new CliException("--file or --uri: one model file per version", 2);
            }
            if (uriTokenFile != null && uri == null) {
                throw new CliException("--uri-token-file goes with --uri", 2);
            }
            if (sha256 != null && uri == null) {
                throw new CliException("--sha256 goes with --uri (a --file's digest is computed as it is uploaded)", 2);
            }
            if (uri != null) {
                body.set("artifact", remoteArtifact(uri, guessFormat(uri.replaceAll("[?#].*", "")), sha256, uriTokenFile, line -> Ui.progress(spec, line)));
            }
            if (file != null) {
                String f = guessFormat(file.toString());
                body.set("artifact", uploadFile(root.api(), root.project, file, f, line -> Ui.progress(spec, line)));
            }
            if (version != null) body.put("version", version);
            if (image != null) body.put("image", image);
            if (port != null) body.put("port", port);
            if (protocol != null) body.put("protocol", protocol);
            List<String> cmd = example != null ? exampleCommand(example, name) : command;
            if (!cmd.isEmpty()) {
                ArrayNode c = body.putArray("command");
                cmd.forEach(c::add);
            }
            List<String> in = new ArrayList<>(inputs);
            if (example != null && in.isEmpty()) in.add("input-0:FP32:-1,4");
            if (!in.isEmpty()) {
                ArrayNode arr = body.putArray("inputs");
                for (String i : in) {
                    String[] p = i.split(":");
                    if (p.length != 3) throw new CliException("--input " + i + ": expected name:DATATYPE:dim,dim", 2);
                    ObjectNode t = arr.addObject().put("name", p[0]).put("datatype", p[1]);
                    ArrayNode shape = t.putArray("shape");
                    for (String d : p[2].split(",")) shape.add(Long.parseLong(d.trim()));
                }
            }
            if (!tags.isEmpty()) {
                ObjectNode t = body.putObject("tags");
                tags.forEach(kv -> t.put(kv.substring(0, Math.max(0, kv.indexOf('='))), kv.substring(kv.indexOf('=') + 1)));
            }
            ApiClient api = root.api();
            ApiClient.Answer a = api.send("POST", "/api/v1/projects/" + root.project + "/models/" + name + "/versions", body);
            fail(a);
            if (alias != null) {
                ApiClient.Answer s = api.send("PUT", "/api/v1/projects/" + root.project + "/models/" + name + "/aliases/" + alias,
                        ApiClient.JSON.createObjectNode().put("version", a.body().get("version").asInt()));
                fail(s);
                ((ObjectNode) a.body()).put("alias", alias);
            }
            Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(Output.col("MODEL", "/model"),
                    Output.col("VERSION", "/version"), Output.col("ALIAS", "/alias"), Output.col("PROTOCOL", "/protocol"), SERVES));
            return 0;
        }

        static List<String> exampleCommand(String example, String name) {
            if (!example.equals("iris")) throw new CliException("unknown example '" + example + "' (known: iris)", 2);
            String where = Path.of(IrisServer.class.getProtectionDomain().getCodeSource().getLocation().getPath()).toString();
            return List.of("java", "-Xmx64m", "-XX:+UseSerialGC", "-Dsun.net.httpserver.nodelay=true", "-cp", where, IrisServer.class.getName(),
                    "--port", "${PORT}", "--name", name);
        }
    }

    @Command(name = "alias", description = "Point an alias at a version: clops model alias iris champion 2")
    static final class Alias implements Callable<Integer> {
        @Parameters(index = "0") String name;
        @Parameters(index = "1") String alias;
        @Parameters(index = "2") int version;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return write(spec, "PUT", name + "/aliases/" + alias, ApiClient.JSON.createObjectNode().put("version", version),
                    Output.col("MODEL", "/model"), Output.col("ALIAS", "/alias"), Output.col("VERSION", "/version"));
        }
    }

    @Command(name = "unalias", description = "Remove an alias: clops model unalias iris canary (deployments naming it keep what runs)")
    static final class Unalias implements Callable<Integer> {
        @Parameters(index = "0") String name;
        @Parameters(index = "1") String alias;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return write(spec, "DELETE", name + "/aliases/" + alias, null,
                    Output.col("MODEL", "/model"), Output.col("ALIAS", "/alias"), Output.col("WAS", "/version"));
        }
    }

    @Command(name = "archive", description = "Archive a version (no longer resolved or deployable; refused while an alias"
            + " or a deployment uses it): clops model archive iris 1")
    static final class Archive implements Callable<Integer> {
        @Parameters(index = "0") String name;
        @Parameters(index = "1") int version;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return write(spec, "POST", name + "/versions/" + version + "/archive", null,
                    Output.col("MODEL", "/model"), Output.col("VERSION", "/version"), Output.col("VERDICT", "/verdict"));
        }
    }

    @Command(name = "list", description = "Models of the project.")
    static final class ListModels implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return GetCommand.printModels(spec);
        }
    }

    /** A registry change of the project's model: sent, failed loudly when refused, printed with these columns. */
    static int write(CommandLine.Model.CommandSpec spec, String method, String modelPath,
                     com.fasterxml.jackson.databind.JsonNode body, Output.Column... columns) {
        Main root = Ui.root(spec);
        ApiClient.Answer a = root.api().send(method, "/api/v1/projects/" + root.project + "/models/" + modelPath, body);
        fail(a);
        Output.print(spec.commandLine().getOut(), root.output, a.body(), List.of(columns));
        return 0;
    }

    static void fail(ApiClient.Answer a) {
        if (!a.ok()) {
            StringBuilder b = new StringBuilder(a.error());
            a.body().path("fields").forEach(f -> b.append("\n  ").append(f.path("field").asText()).append(": ").append(f.path("message").asText()));
            throw new CliException(b.toString());
        }
    }
}
