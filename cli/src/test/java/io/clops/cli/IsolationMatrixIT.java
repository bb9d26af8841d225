package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.auth.Tokens;
import io.clops.auth.Users;
import io.clops.avro.CommandResult;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.clops.platform.Platform;
import io.clops.testing.Await;
import io.clops.testing.TopicProbe;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The isolation matrix, through the running platform with tokens required (its API, its intake, the executors of a
 * deployment it started as child processes): every kind of caller tries every action on project {@code iso-a}.
 * A cell passes when what happened is what the caller's role allows: done when allowed, refused for who the caller
 * is (401/403, or the intake's unauthenticated/forbidden) when not. Any other outcome (a refusal for another reason,
 * an error) fails the cell, so a refused cell proves the door, not a missing deployment. The matrix is printed.
 */
class IsolationMatrixIT {
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String REQUEST = DemoCommand.REQUEST;
    static final Pattern AUTH_REFUSAL = Pattern.compile("(?i)no token|not a clops token|signature is not the platform's|was revoked|expired"
            + "|has no role in project|is a viewer|is a modeler|needs (viewer|modeler|admin)|only, not|creates no project"
            + "|Not authorized to access topics|is not one of clops.auth.host-users");

    enum Action { deploy, undeploy, register, register_command, upload, upload_parts, download, alias, predict_sync, predict_async, intake, members, quota, serviceaccount }

    /**
     * What each role may do in a project; outsiders nothing. A version with a command of its own runs on this
     * machine with the platform's rights: only alice, the one user clops.auth.host-users names here, registers one.
     */
    static final Set<Action> VIEWER = Set.of(Action.download, Action.predict_sync, Action.predict_async);
    static final Set<Action> MODELER = Set.of(Action.deploy, Action.undeploy, Action.register, Action.upload, Action.upload_parts, Action.download, Action.alias,
            Action.predict_sync, Action.predict_async, Action.intake);
    static final Set<Action> ADMIN = Set.of(Action.values());

    /** @param home the project whose Kafka credentials the caller uses when iso-a gives it none (its own), or null */
    record Caller(String name, String token, Set<Action> may, String home) {
        Caller(String name, String token, Set<Action> may) {
            this(name, token, may, null);
        }
    }

    enum Outcome { done, refused, wrong }

    record Cell(Outcome outcome, String detail) {
    }

    @TempDir
    Path home;
    Platform platform;
    String endpoint;

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    record Run(int code, String out, String err) {
        JsonNode outJson() throws java.io.IOException {
            return ApiClient.JSON.readTree(out);
        }
    }

    Run clops(String token, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("--server=" + platform.apiUrl(), "--token=" + (token == null ? "" : token)));
        if (!args[0].equals("-p")) {
            all.add("--project=iso-a");
        }
        all.addAll(List.of(args));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    Run ok(String token, String... args) {
        Run r = clops(token, args);
        assertThat(r.code()).as(String.join(" ", args) + ": " + r.err()).isZero();
        return r;
    }

    String login(String user) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/login"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"" + user + "\",\"password\":\"" + user + "'s password\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return ApiClient.JSON.readTree(r.body()).get("token").asText();
    }

    Path spec(String name) throws Exception {
        Path f = home.resolve(name + ".yaml");
        Files.writeString(f, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: " + name + " }\nspec:\n  model: iris@champion\n  mode: both\n");
        return f;
    }

    @Test
    void everyCallerDoesExactlyWhatItsRoleAllowsOnEveryDoor() throws Exception {
        for (String u : List.of("alice", "mia", "vic", "oscar")) {
            Users.put(home.resolve("auth/users"), u, u + "'s password");
        }
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true).withHostUsers("alice"), line -> { });
        String alice = login("alice");
        String oscar = login("oscar");
        ok(alice, "project", "create", "iso-a");
        ok(alice, "project", "member", "add", "mia", "--role", "modeler");
        ok(alice, "project", "member", "add", "vic", "--role", "viewer");
        String saA = ApiClient.JSON.readTree(ok(alice, "project", "sa", "create", "ci", "--role", "modeler", "-o", "json").out()).get("token").asText();
        ok(oscar, "project", "create", "iso-b");
        String saB = ApiClient.JSON.readTree(ok(oscar, "-p", "iso-b", "project", "sa", "create", "bot", "--role", "admin", "-o", "json").out())
                .get("token").asText();
        ok(alice, "model", "register", "iris", "--example", "iris", "--alias", "champion");
        JsonNode file = ApiClient.JSON.readTree(ok(alice, "model", "register", "iris-file", "--file", onnx().toString(), "-o", "json").out());
        fileSha = file.at("/artifact/sha256").asText();
        JsonNode iris = ApiClient.JSON.readTree(ok(alice, "deploy", "-f", spec("iris").toString(), "--wait", "-o", "json").out());
        endpoint = iris.at("/status/endpoint").asText();
        assertThat(predictSync(alice).outcome()).as("the deployment answers its admin").isEqualTo(Outcome.done);

        String forged = new Tokens(Tokens.generate(), java.time.Clock.systemUTC()).issue("alice", Duration.ofHours(1), Tokens.Kind.session, null);
        String revoked = login("alice");
        HttpResponse<String> logout = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/logout"))
                .header("Authorization", "Bearer " + revoked).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(logout.statusCode()).isEqualTo(200);
        Await.until("the executor refuses the logged-out token", Tokens.REVOCATION_BOUND, () -> predictSync(revoked).outcome() == Outcome.refused);

        List<Caller> callers = List.of(
                new Caller("alice (admin)", alice, ADMIN),
                new Caller("mia (modeler)", login("mia"), MODELER),
                new Caller("vic (viewer)", login("vic"), VIEWER),
                new Caller("sa ci (modeler)", saA, MODELER),
                new Caller("oscar (other project)", oscar, Set.of(), "iso-b"),
                new Caller("sa bot of iso-b", saB, Set.of(), "iso-b"),
                new Caller("no token", null, Set.of()),
                new Caller("forged token", forged, Set.of()),
                new Caller("logged-out token", revoked, Set.of()));

        Map<String, Map<Action, Cell>> matrix = new LinkedHashMap<>();
        int wrongfulSuccesses = 0;
        int wrongfulRefusals = 0;
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < callers.size(); i++) {
            Caller c = callers.get(i);
            Map<Action, Cell> row = new LinkedHashMap<>();
            for (Action a : Action.values()) {
                Cell cell = attempt(c, "c" + i, a);
                row.put(a, cell);
                boolean allowed = c.may().contains(a);
                if (cell.outcome() == Outcome.done && !allowed) {
                    wrongfulSuccesses++;
                    failures.add(c.name() + " × " + a + ": done, but its role does not allow it");
                } else if (cell.outcome() != Outcome.done && allowed) {
                    wrongfulRefusals++;
                    failures.add(c.name() + " × " + a + ": " + cell.detail());
                } else if (cell.outcome() == Outcome.wrong) {
                    failures.add(c.name() + " × " + a + ": not refused for who it is: " + cell.detail());
                }
            }
            matrix.put(c.name(), row);
        }
        print(matrix, wrongfulSuccesses, wrongfulRefusals);
        assertThat(failures).as("cells that are not what the roles say").isEmpty();
        assertThat(wrongfulSuccesses).isZero();
        assertThat(wrongfulRefusals).isZero();

        // every Kafka credential the matrix got for iso-a is on its audit trail (who, which principal; never a
        // password), and nobody else's attempt is: a non-member was refused before anything entered the log
        Await.until("the audit trail shows each member's Kafka credentials", Duration.ofSeconds(10), () -> {
            try {
                return kafkaCredentialsOnTheTrail(alice, "iso-a").keySet().containsAll(List.of("alice", "mia", "vic", "serviceaccount:iso-a:ci"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        java.util.Map<String, String> issued = kafkaCredentialsOnTheTrail(alice, "iso-a");
        assertThat(issued).as("only members of iso-a, each for their own principal")
                .containsOnlyKeys("alice", "mia", "vic", "serviceaccount:iso-a:ci")
                .allSatisfy((actor, change) -> assertThat(change).isEqualTo("kafka principal iso-a." + actor + ": new password"));

        theCliKeepsItsKafkaCredentialsSoPredictionsDoNotFillTheTrail(callers.get(1).token());
    }

    /**
     * {@code clops predict --async} keeps the credentials it was issued (beside its config, in a home of the test's
     * own): two predictions put one issuance in the log, not two; after someone asks for new credentials (the kept
     * password stops working) the next prediction is issued new ones and is answered. Counted between issuances whose
     * command ids the test knows, so a record still on its way cannot be missed.
     */
    void theCliKeepsItsKafkaCredentialsSoPredictionsDoNotFillTheTrail(String mia) throws Exception {
        String userHome = System.getProperty("user.home");
        System.setProperty("user.home", home.resolve("cli-home").toString());
        try {
            String a = marker(mia);
            for (int i = 0; i < 2; i++) {
                assertThat(Predictor.labels(ok(mia, "predict", "iris", "--async", "-d", DemoCommand.REQUEST, "-o", "json").outJson()))
                        .containsExactly("setosa", "versicolor", "virginica");
            }
            String b = marker(mia); // a new password: the one the CLI kept stops working
            assertThat(Predictor.labels(ok(mia, "predict", "iris", "--async", "-d", DemoCommand.REQUEST, "-o", "json").outJson()))
                    .as("the kept password refused, new credentials issued and used").containsExactly("setosa", "versicolor", "virginica");
            String c = marker(mia);
            // a retry with the same Idempotency-Key (its answer lost) appends nothing; it gets working credentials
            // for the same principal (the first password was shown once and is not kept)
            String first = null;
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> keyed = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/projects/iso-a/kafka-credentials"))
                        .header("Authorization", "Bearer " + mia).header("Idempotency-Key", "k-1").POST(HttpRequest.BodyPublishers.noBody()).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(keyed.statusCode()).as(keyed.body()).isEqualTo(200);
                JsonNode k = ApiClient.JSON.readTree(keyed.body());
                assertThat(k.get("username").asText()).isEqualTo("iso-a.mia");
                first = first == null ? k.get("commandId").asText() : first;
                assertThat(k.get("commandId").asText()).as("the same command").isEqualTo(first);
            }
            String d = marker(mia);
            List<String> ids = new ArrayList<>();
            Await.until("the trail reaches the last issuance", Duration.ofSeconds(10), () -> {
                try {
                    ids.clear();
                    ids.addAll(issuedBy(alice(), "mia"));
                    return ids.contains(d);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(ids.indexOf(b) - ids.indexOf(a) - 1).as("issuances for two predictions").isEqualTo(1);
            assertThat(ids.indexOf(c) - ids.indexOf(b) - 1).as("issuances for a prediction after the password changed").isEqualTo(1);
            assertThat(ids.indexOf(d) - ids.indexOf(c) - 1).as("issuances for a request and its retry with one idempotency key").isEqualTo(1);
        } finally {
            System.setProperty("user.home", userHome);
        }
    }

    String aliceToken;

    String alice() throws Exception {
        return aliceToken != null ? aliceToken : (aliceToken = login("alice"));
    }

    /** Asks for new Kafka credentials; the command's id. */
    String marker(String token) throws Exception {
        return ApiClient.JSON.readTree(ok(token, "project", "kafka-credentials", "-o", "json").out()).get("commandId").asText();
    }

    /** The event ids of the accepted issue-kafka-credentials records of {@code actor} in iso-a, oldest first. */
    List<String> issuedBy(String token, String actor) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/audit?project=iso-a&actor=" + actor + "&limit=1000"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        for (JsonNode item : ApiClient.JSON.readTree(r.body()).get("items")) {
            if (item.get("action").asText().equals("issue-kafka-credentials") && item.get("accepted").asBoolean()) {
                out.add(item.get("eventId").asText());
            }
        }
        return out;
    }

    /** Actor → the change line of each accepted issue-kafka-credentials record of the project (the last one each). */
    java.util.Map<String, String> kafkaCredentialsOnTheTrail(String token, String project) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/audit?project=" + project + "&limit=1000"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (JsonNode item : ApiClient.JSON.readTree(r.body()).get("items")) {
            if (item.get("action").asText().equals("issue-kafka-credentials") && item.get("accepted").asBoolean()) {
                assertThat(item.get("changes")).hasSize(1);
                out.put(item.get("actor").asText(), item.get("changes").get(0).asText());
            }
        }
        return out;
    }

    /** One caller's try at one action; {@code tag} keeps each caller's objects apart. */
    Cell attempt(Caller c, String tag, Action a) throws Exception {
        return switch (a) {
            case deploy -> cli(c.token(), "deploy", "-f", spec("d-" + tag).toString());
            case undeploy -> cli(c.token(), "undeploy", "d-" + tag); // the deployment its own deploy made, when allowed
            case register -> cli(c.token(), "model", "register", "m-" + tag, "--image", "registry.example/m:1");
            case register_command -> cli(c.token(), "model", "register", "c-" + tag, "--example", "iris");
            case upload -> cli(c.token(), "model", "register", "f-" + tag, "--file", onnx().toString());
            case upload_parts -> uploadInParts(c.token());
            case download -> download(c.token());
            case alias -> cli(c.token(), "model", "alias", "iris", "champion", "1");
            case predict_sync -> predictSync(c.token());
            case predict_async -> predictAsync(c);
            case intake -> intake(c, "{\"action\":\"alias\",\"project\":\"iso-a\",\"model\":\"iris\",\"alias\":\"stable-" + tag + "\",\"version\":1}");
            case members -> cli(c.token(), "project", "member", "add", "u-" + tag, "--role", "viewer");
            case quota -> cli(c.token(), "project", "quota", "set", "--cpu", "64");
            case serviceaccount -> cli(c.token(), "project", "sa", "create", "s-" + tag);
        };
    }

    String fileSha;

    static Path onnx() {
        Path f = Path.of("..", "examples", "target", "models", "iris.onnx").toAbsolutePath().normalize();
        assertThat(f).as("written by the examples build").exists();
        return f;
    }

    /** A model file in parts, straight over HTTP: begin, one part, complete; each step must be allowed. */
    Cell uploadInParts(String token) {
        ApiClient api = new ApiClient(platform.apiUrl(), token);
        String base = "/api/v1/projects/iso-a/artifacts/uploads";
        ApiClient.Answer begun = api.send("POST", base, null);
        if (begun.status() != 201) {
            return classify(begun.status() + " " + begun.body());
        }
        String id = begun.body().get("id").asText();
        ApiClient.Answer part = api.sendBytes("PATCH", base + "/" + id, new byte[]{1, 2, 3}, Map.of("Upload-Offset", "0"));
        if (part.status() != 200) {
            return new Cell(Outcome.wrong, "begun, then the part: " + part.status() + " " + part.body());
        }
        ApiClient.Answer done = api.send("POST", base + "/" + id + "/complete?format=onnx", null);
        return done.status() == 201 && done.body().path("size").asLong() == 3 ? new Cell(Outcome.done, "")
                : new Cell(Outcome.wrong, "complete: " + done.status() + " " + done.body());
    }

    /** What the Kubernetes init step does with the caller's token: fetch iso-a's registered model file into a node cache. */
    Cell download(String token) {
        try {
            Path cache = Files.createTempDirectory(home, "node-cache");
            io.clops.modelserver.ModelCache.Entry e = new io.clops.modelserver.ModelCache(cache, token)
                    .ensure(URI.create(platform.apiUrl() + "/api/v1/projects/iso-a/artifacts/sha256/" + fileSha), fileSha);
            return e.fetched() && Files.size(e.path()) == Files.size(onnx()) ? new Cell(Outcome.done, "") : new Cell(Outcome.wrong, e.toString());
        } catch (java.io.IOException e) {
            return classify(e.getMessage());
        } catch (Exception e) {
            return new Cell(Outcome.wrong, e.toString());
        }
    }

    Cell cli(String token, String... args) {
        Run r = clops(token, args);
        if (r.code() == 0) {
            return new Cell(Outcome.done, "");
        }
        return classify(r.err().strip());
    }

    static Cell classify(String why) {
        return new Cell(AUTH_REFUSAL.matcher(why).find() ? Outcome.refused : Outcome.wrong, why);
    }

    Cell predictSync(String token) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(endpoint + "/v2/models/iris/infer"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(REQUEST));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return Predictor.labels(ApiClient.JSON.readTree(r.body())).equals(List.of("setosa", "versicolor", "virginica"))
                        ? new Cell(Outcome.done, "") : new Cell(Outcome.wrong, r.body());
            }
            return r.statusCode() == 401 || r.statusCode() == 403 ? classify(r.statusCode() + " " + r.body())
                    : new Cell(Outcome.wrong, r.statusCode() + " " + r.body());
        } catch (Exception e) {
            return new Cell(Outcome.wrong, e.toString());
        }
    }

    /**
     * The caller's Kafka client settings: the broker of a platform with tokens requires SASL with per-member ACLs, so
     * the caller asks the API for its credentials in iso-a, else (an outsider) in its own project; none when it gets
     * none (then it cannot even connect, and the cell is refused with the API's reason).
     */
    record KafkaClient(Map<String, Object> settings, String refusal) {
    }

    KafkaClient kafka(Caller c) throws Exception {
        String why = null;
        for (String project : c.home() == null ? List.of("iso-a") : List.of("iso-a", c.home())) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(platform.apiUrl() + "/api/v1/projects/" + project + "/kafka-credentials"))
                    .POST(HttpRequest.BodyPublishers.noBody());
            if (c.token() != null) {
                b.header("Authorization", "Bearer " + c.token());
            }
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                JsonNode k = ApiClient.JSON.readTree(r.body());
                Map<String, Object> settings = new java.util.HashMap<>(io.clops.kafka.KafkaAccess.client(k.get("username").asText(), k.get("password").asText()));
                settings.put("max.block.ms", 15_000);
                settings.put("default.api.timeout.ms", 15_000);
                return new KafkaClient(settings, null);
            }
            why = why == null ? r.statusCode() + " " + r.body() : why;
        }
        return new KafkaClient(null, "no Kafka credentials: " + why);
    }

    static Map<String, Object> with(Map<String, Object> settings, KafkaClient k) {
        settings.putAll(k.settings());
        return settings;
    }

    /** A request on the deployment's request topic with the caller's clops-token header; its answer on the response topic. */
    Cell predictAsync(Caller c) throws Exception {
        KafkaClient k = kafka(c);
        if (k.settings() == null) {
            return classify(k.refusal());
        }
        try {
            return predictAsync(c.token(), k);
        } catch (org.apache.kafka.common.errors.TopicAuthorizationException e) {
            return classify(e.getMessage());
        }
    }

    Cell predictAsync(String token, KafkaClient k) throws Exception {
        String requests = Topics.inferRequests("iso-a", "iris").name();
        String responses = Topics.inferResponses("iso-a", "iris").name();
        String id = "iso-" + UUID.randomUUID();
        try (var consumer = new KafkaConsumer<>(with(KafkaConfigs.reader(platform.bootstrap(), "iso"), k), new StringDeserializer(), new ByteArrayDeserializer());
             var producer = new KafkaProducer<>(with(KafkaConfigs.producer(platform.bootstrap(), "iso"), k), new StringSerializer(), new ByteArraySerializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(responses).stream().map(p -> new TopicPartition(responses, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position); // the answer comes after this point
            ProducerRecord<String, byte[]> r = new ProducerRecord<>(requests, id, REQUEST.getBytes(StandardCharsets.UTF_8));
            r.headers().add("clops-request-id", id.getBytes(StandardCharsets.UTF_8));
            if (token != null) {
                r.headers().add("clops-token", token.getBytes(StandardCharsets.UTF_8));
            }
            try {
                producer.send(r).get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException re ? re : e;
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                for (var answer : consumer.poll(Duration.ofMillis(200))) {
                    if (!id.equals(answer.key())) {
                        continue;
                    }
                    var status = answer.headers().lastHeader("clops-status");
                    int code = status == null ? 200 : Integer.parseInt(new String(status.value(), StandardCharsets.UTF_8));
                    String body = new String(answer.value(), StandardCharsets.UTF_8);
                    if (answer.headers().lastHeader("clops-token") != null) {
                        return new Cell(Outcome.wrong, "the answer carries the caller's token");
                    }
                    if (code == 200) {
                        return Predictor.labels(ApiClient.JSON.readTree(body)).equals(List.of("setosa", "versicolor", "virginica"))
                                ? new Cell(Outcome.done, "") : new Cell(Outcome.wrong, body);
                    }
                    return code == 401 || code == 403 ? classify(code + " " + body) : new Cell(Outcome.wrong, code + " " + body);
                }
            }
            return new Cell(Outcome.wrong, "no answer to " + id + " within 30 s");
        }
    }

    /** A pipeline's record on clops.intake with the caller's clops-token header; its verdict on clops.command-results. */
    Cell intake(Caller c, String json) throws Exception {
        KafkaClient k = kafka(c);
        if (k.settings() == null) {
            return classify(k.refusal());
        }
        String token = c.token();
        String id = "iso-" + UUID.randomUUID();
        try (var producer = new KafkaProducer<>(with(KafkaConfigs.producer(platform.bootstrap(), "iso-pipeline"), k), new StringSerializer(),
                new ByteArraySerializer())) {
            ProducerRecord<String, byte[]> r = new ProducerRecord<>(Topics.INTAKE.name(), null, json.getBytes(StandardCharsets.UTF_8));
            r.headers().add("clops-request-id", id.getBytes(StandardCharsets.UTF_8));
            if (token != null) {
                r.headers().add("clops-token", token.getBytes(StandardCharsets.UTF_8));
            }
            producer.send(r).get();
        }
        CommandResult[] verdict = new CommandResult[1];
        Await.until("the intake's verdict on " + id, () -> {
            verdict[0] = TopicProbe.readAll(platform.bootstrap(), Topics.COMMAND_RESULTS.name(), Topics.COMMAND_RESULTS.keySerde().deserializer(),
                    Topics.COMMAND_RESULTS.valueSerde().deserializer()).stream().filter(x -> id.equals(x.key())).map(x -> x.value())
                    .findFirst().orElse(null);
            return verdict[0] != null;
        });
        CommandResult v = verdict[0];
        if (v.getAccepted()) {
            return new Cell(Outcome.done, "");
        }
        return "unauthenticated".equals(v.getCode()) || "forbidden".equals(v.getCode())
                ? new Cell(Outcome.refused, v.getCode() + ": " + v.getReason()) : new Cell(Outcome.wrong, v.getCode() + ": " + v.getReason());
    }

    static void print(Map<String, Map<Action, Cell>> matrix, int wrongfulSuccesses, int wrongfulRefusals) {
        StringBuilder b = new StringBuilder("\nisolation matrix, project iso-a (✓ done, · refused for who the caller is, ! wrong)\n");
        b.append(String.format("%-24s", "caller"));
        for (Action a : Action.values()) {
            b.append(String.format("%-15s", a));
        }
        b.append('\n');
        matrix.forEach((caller, row) -> {
            b.append(String.format("%-24s", caller));
            row.values().forEach(cell -> b.append(String.format("%-15s", switch (cell.outcome()) {
                case done -> "✓";
                case refused -> "·";
                case wrong -> "!";
            })));
            b.append('\n');
        });
        b.append("unauthorized successes: ").append(wrongfulSuccesses).append(", wrongful refusals: ").append(wrongfulRefusals).append('\n');
        b.append("why each refusal (first line):\n");
        matrix.forEach((caller, row) -> row.forEach((action, cell) -> {
            if (cell.outcome() != Outcome.done) {
                b.append("  ").append(caller).append(" × ").append(action).append(": ")
                        .append(cell.detail().lines().findFirst().orElse("").replaceAll("\\s+", " ")).append('\n');
            }
        }));
        System.out.println(b);
    }
}
