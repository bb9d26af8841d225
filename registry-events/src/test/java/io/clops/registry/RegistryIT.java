package io.clops.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.clops.avro.CommandResult;
import io.clops.avro.RegistryEvent;
import io.clops.kafka.Topics;
import io.clops.reconciler.Reconciler;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The registry over HTTP through the running services (the API with its gateway, the topology, a real broker): the
 * fold numbers versions and judges every change, and each caller is told what the fold recorded.
 */
@ExtendWith(KafkaExtension.class)
class RegistryIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Reconciler reconciler;
    static EmbeddedServer server;
    static String bootstrap;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap,
                "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1", "clops.gateway.local-user", "dana"));
        // projects are command-api's routes: created here through the same gateway bean
        io.clops.gateway.CommandGateway gateway = server.getApplicationContext().getBean(io.clops.gateway.CommandGateway.class);
        for (String p : List.of("reg-a", "reg-b", "reg-c", "reg-d", "reg-e")) {
            assertThat(gateway.submit(new io.clops.gateway.Request.CreateProject(p, null, null, io.clops.testing.Fixtures.unlimited()),
                    new io.clops.gateway.Principal("dana"), null).accepted()).isTrue();
        }
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    record Answer(int status, JsonNode body) {
    }

    static Answer send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.getURL() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (headers.length > 0) {
            b.headers(headers);
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), JSON.readTree(r.body()));
    }

    static List<Answer> atOnce(int n, Function<Integer, Callable<Answer>> call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Answer>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(pool.submit(call.apply(i)));
            }
            List<Answer> out = new ArrayList<>();
            for (Future<Answer> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdown();
        }
    }

    /** The registry events of a model in the log, and the verdicts on them, by command id. */
    static List<RegistryEvent> events(String project, String model) {
        return TopicProbe.readAll(bootstrap, Topics.REGISTRY.name(), Topics.REGISTRY.keySerde().deserializer(),
                        Topics.REGISTRY.valueSerde().deserializer()).stream().map(r -> r.value())
                .filter(e -> e.getProject().equals(project) && e.getModel().equals(model)).toList();
    }

    static Map<String, CommandResult> verdicts() {
        return TopicProbe.readAll(bootstrap, Topics.COMMAND_RESULTS.name(), Topics.COMMAND_RESULTS.keySerde().deserializer(),
                        Topics.COMMAND_RESULTS.valueSerde().deserializer()).stream()
                .collect(Collectors.toMap(r -> r.value().getCommandId(), r -> r.value(), (a, b) -> a));
    }

    static final String VERSION = "{\"command\":[\"serve\",\"--port\",\"${PORT}\"],\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]}";

    @Test
    void tenRegistrationsAtOnceGetTenDistinctVersionsAndEachCallerIsToldItsOwn() throws Exception {
        List<Answer> answers = atOnce(10, i -> () -> send("POST", "/api/v1/projects/reg-a/models/iris/versions", VERSION,
                "X-Clops-Actor", "mallory"));
        assertThat(answers).extracting(Answer::status).containsOnly(201);
        List<Integer> told = answers.stream().map(a -> a.body().get("version").asInt()).sorted().toList();
        assertThat(told).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

        // every answer is what the fold recorded: the version's registration event is the answer's command
        Answer model = send("GET", "/api/v1/projects/reg-a/models/iris", null);
        Map<Integer, String> registeredBy = new java.util.HashMap<>();
        model.body().get("versions").forEach(v -> registeredBy.put(v.get("version").asInt(), v.get("registeredBy").asText()));
        assertThat(registeredBy).hasSize(10).containsValue("dana").doesNotContainValue("mallory");
        Map<String, CommandResult> verdicts = verdicts();
        for (Answer a : answers) {
            CommandResult v = verdicts.get(a.body().get("commandId").asText());
            assertThat(v.getAccepted()).isTrue();
            assertThat(v.getVersion()).isEqualTo(a.body().get("version").asInt());
        }
        assertThat(events("reg-a", "iris")).hasSize(10).allSatisfy(e -> assertThat(e.getActor()).isEqualTo("dana"));
    }

    @Test
    void tenRegistrationsOfOneExplicitVersionAtOnceAcceptOneAndRefuseNineInTheLog() throws Exception {
        String body = VERSION.replace("{\"command\"", "{\"version\":3,\"command\"");
        List<Answer> answers = atOnce(10, i -> () -> send("POST", "/api/v1/projects/reg-b/models/iris/versions", body));
        assertThat(answers).filteredOn(a -> a.status() == 201).singleElement()
                .satisfies(a -> assertThat(a.body().get("version").asInt()).isEqualTo(3));
        List<Answer> refused = answers.stream().filter(a -> a.status() != 201).toList();
        assertThat(refused).hasSize(9).allSatisfy(a -> {
            assertThat(a.status()).isEqualTo(409);
            assertThat(a.body().get("verdict").asText()).isEqualTo("refused");
            assertThat(a.body().get("reason").asText())
                    .isEqualTo("model 'iris' already has version 3 in project 'reg-b'; versions are immutable, register a new one");
        });
        // the refusals are in the log: ten events, ten verdicts, nine of them refusals
        List<RegistryEvent> events = events("reg-b", "iris");
        assertThat(events).hasSize(10);
        Map<String, CommandResult> verdicts = verdicts();
        assertThat(events).extracting(e -> verdicts.get(e.getId()).getAccepted()).containsOnly(true, false)
                .filteredOn(ok -> !ok).hasSize(9);
        for (Answer a : answers) {
            assertThat(verdicts.get(a.body().get("commandId").asText()).getAccepted()).isEqualTo(a.status() == 201);
        }
        Answer model = send("GET", "/api/v1/projects/reg-b/models/iris", null);
        assertThat(model.body().get("versions")).hasSize(1);
    }

    @Test
    void aliasesAndArchivingAreJudgedByTheFoldAndReadBack() throws Exception {
        assertThat(send("POST", "/api/v1/projects/reg-c/models/iris/versions", VERSION).status()).isEqualTo(201);
        assertThat(send("POST", "/api/v1/projects/reg-c/models/iris/versions", VERSION).status()).isEqualTo(201);

        Answer missing = send("PUT", "/api/v1/projects/reg-c/models/iris/aliases/champion", "{\"version\":7}");
        assertThat(missing.status()).isEqualTo(409);
        assertThat(missing.body().get("reason").asText()).isEqualTo("model 'iris' has no version 7 in project 'reg-c'");
        assertThat(send("PUT", "/api/v1/projects/reg-c/models/iris/aliases/champion", "{\"version\":1}").status()).isEqualTo(200);

        Answer inUse = send("POST", "/api/v1/projects/reg-c/models/iris/versions/1/archive", null);
        assertThat(inUse.status()).isEqualTo(409);
        assertThat(inUse.body().get("reason").asText()).isEqualTo("version 1 of model 'iris' is in use by alias 'champion'; move or remove those first");

        assertThat(send("DELETE", "/api/v1/projects/reg-c/models/iris/aliases/champion", null).status()).isEqualTo(200);
        Answer archived = send("POST", "/api/v1/projects/reg-c/models/iris/versions/1/archive", null);
        assertThat(archived.status()).isEqualTo(200);
        assertThat(archived.body().get("archived").asBoolean()).isTrue();

        JsonNode model = awaitModel("reg-c", "iris", m -> m.get("versions").get(0).get("archived").asBoolean());
        assertThat(model.get("aliases")).isEmpty();
        assertThat(model.get("latest").asInt()).isEqualTo(2);
        assertThat(send("GET", "/api/v1/projects/reg-c/models", null).body().get("items").get(0).get("versions").asInt())
                .as("archived versions are not counted").isEqualTo(1);
    }

    @Test
    void malformedRequestsAre400NamingEachFieldAndNothingReachesTheLog() throws Exception {
        long before = TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name());
        Answer bad = send("POST", "/api/v1/projects/reg-d/models/Iris/versions",
                "{\"command\":[1,{},\"ok\"],\"port\":0,\"protocol\":\"grpc\",\"tags\":{\"a\":1},"
                        + "\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP99\",\"shape\":[\"1\",4.5]}],\"colour\":\"red\"}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().get("fields").findValuesAsText("field")).contains("model", "command[0]", "command[1]", "port",
                "protocol", "tags.a", "inputs[0].datatype", "inputs[0].shape[0]", "inputs[0].shape[1]", "colour");
        Answer badAlias = send("PUT", "/api/v1/projects/reg-d/models/iris/aliases/Champ", "{\"version\":\"1\"}");
        assertThat(badAlias.status()).isEqualTo(400);
        assertThat(badAlias.body().get("fields").findValuesAsText("field")).contains("alias", "version");
        Answer badArchive = send("POST", "/api/v1/projects/reg-d/models/iris/versions/x1/archive", null);
        assertThat(badArchive.status()).isEqualTo(400);
        assertThat(badArchive.body().get("fields").findValuesAsText("field")).containsExactly("version");
        Answer badKey = send("POST", "/api/v1/projects/reg-d/models/iris/versions", VERSION, "Idempotency-Key", "a key with spaces");
        assertThat(badKey.status()).isEqualTo(400);
        assertThat(badKey.body().get("fields").findValuesAsText("field")).containsExactly("Idempotency-Key");
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name())).isEqualTo(before);
    }

    @Test
    void aRetryWithTheSameIdempotencyKeyRegistersOnceAndAnotherBodyUnderItIsRefused() throws Exception {
        Answer first = send("POST", "/api/v1/projects/reg-e/models/iris/versions", VERSION, "Idempotency-Key", "build-42");
        Answer retry = send("POST", "/api/v1/projects/reg-e/models/iris/versions", VERSION, "Idempotency-Key", "build-42");
        assertThat(first.status()).isEqualTo(201);
        assertThat(retry.status()).isEqualTo(201);
        assertThat(retry.body().get("version").asInt()).isEqualTo(first.body().get("version").asInt());
        long before = TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name());
        Answer other = send("POST", "/api/v1/projects/reg-e/models/iris/versions", VERSION.replace("serve", "other"),
                "Idempotency-Key", "build-42");
        assertThat(other.status()).isEqualTo(422);
        assertThat(other.body().get("error").asText()).startsWith("id 'reg-e:build-42' was already used for another request");
        assertThat(other.body().get("fields").findValuesAsText("field")).containsExactly("Idempotency-Key");
        Answer again = send("POST", "/api/v1/projects/reg-e/models/iris/versions", VERSION, "Idempotency-Key", "build-42");
        assertThat(again.body().get("version").asInt()).isEqualTo(first.body().get("version").asInt());
        assertThat(TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name())).as("repeats append nothing").isEqualTo(before);
        assertThat(send("GET", "/api/v1/projects/reg-e/models/iris", null).body().get("versions")).hasSize(1);
    }

    static JsonNode awaitModel(String project, String model, java.util.function.Predicate<JsonNode> ok) throws Exception {
        JsonNode[] last = new JsonNode[1];
        io.clops.testing.Await.until("model " + model + " as expected", () -> {
            try {
                last[0] = send("GET", "/api/v1/projects/" + project + "/models/" + model, null).body();
                return ok.test(last[0]);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return last[0];
    }
}
