package io.clops.executor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.clops.auth.Tokens;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import io.clops.avro.Revocation;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.runtime.ExecutorContract;
import io.clops.schemas.SchemaTopic;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The executor as a door (a real broker, real HTTP, the members and revocations it follows on the log): no token, a
 * forged one, another project's or a non-member's get 401/403 with a JSON error and the model sees nothing; a
 * member's request is answered, sync and async over Kafka, and the model never sees the caller's token; a revoked
 * token and a removed member stop working within the revocation bound; a public deployment answers anyone.
 */
@ExtendWith(KafkaExtension.class)
class IdentityIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";
    static final Tokens ISSUER = new Tokens(Tokens.generate(), Clock.systemUTC());
    static final String KEY = Base64.getEncoder().encodeToString(ISSUER.publicKey().getEncoded());

    static String bootstrap;
    static HttpServer model;
    /** What the model saw of each call: its Authorization header, or "-" for none. */
    static final ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
    static KafkaProducer<String, byte[]> raw;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        SchemaTopic.connect(bootstrap);
        TopicAdmin.ensure(bootstrap, List.of(Topics.REVOCATIONS.spec()));
        model = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        model.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                seen.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")).replace("null", "-"));
                byte[] b = "{\"model_name\":\"iris\",\"outputs\":[]}".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        });
        model.start();
        raw = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "identity-it"), new StringSerializer(), new ByteArraySerializer());
        project("idp", Map.of("ada", ProjectRole.viewer, "bob", ProjectRole.modeler, "serviceaccount:idp:ci", ProjectRole.modeler));
        project("other", Map.of("eve", ProjectRole.admin, "serviceaccount:other:ci", ProjectRole.admin));
    }

    @AfterAll
    static void stop() {
        model.stop(0);
        raw.close();
    }

    /** The project's record where its worker publishes it for the project's executors (clops.members.<project>), as the worker does. */
    static void project(String name, Map<String, ProjectRole> members) {
        Project p = Project.newBuilder().setName(name).setMembers(new HashMap<>(members)).setQuota(ProjectQuota.newBuilder().build())
                .setGeneration(1).setCreatedBy("admin").setCreatedMs(0).setCommandId("c-" + name).setActor("admin").setTimeMs(0).build();
        try (var publisher = new io.clops.runtime.ProjectMembers(bootstrap)) {
            publisher.publish(p);
        }
    }

    static ExecutorMain executor(String deployment, String access) throws Exception {
        ExecutorConfig c = ExecutorConfig.single(0, "http://127.0.0.1:" + model.getAddress().getPort(), "iris", "idp", deployment, "both",
                bootstrap, 5000, 1 << 20).withAuth(new ExecutorContract.Auth(KEY, access));
        return new ExecutorMain(c);
    }

    static String session(String user) {
        return ISSUER.issue(user, Duration.ofHours(1), Tokens.Kind.session, null);
    }

    static HttpResponse<String> infer(int port, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/iris/infer"))
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).header("Content-Type", "application/json");
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String error(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).get("error").asText();
    }

    @Test
    void syncRefusalsNameWhyAndTheModelSeesNothingButAMembersRequestWithoutItsToken() throws Exception {
        try (ExecutorMain e = executor("guarded", "members")) {
            int before = seen.size();
            HttpResponse<String> none = infer(e.port(), null);
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
            assertThat(error(none)).startsWith("no token: deployments of project 'idp' answer its members");
            assertThat(error(infer(e.port(), "Bearer garbage"))).isEqualTo("not a clops token");
            String forged = new Tokens(Tokens.generate(), Clock.systemUTC()).issue("ada", Duration.ofHours(1), Tokens.Kind.session, null);
            HttpResponse<String> f = infer(e.port(), "Bearer " + forged);
            assertThat(f.statusCode()).isEqualTo(401);
            assertThat(error(f)).isEqualTo("the token's signature is not the platform's");
            HttpResponse<String> eve = infer(e.port(), "Bearer " + session("eve"));
            assertThat(eve.statusCode()).isEqualTo(403);
            assertThat(error(eve)).isEqualTo("user 'eve' has no role in project 'idp'; predicting needs viewer, modeler or admin");
            String otherSa = ISSUER.issue("serviceaccount:other:ci", Duration.ofDays(1), Tokens.Kind.service, "other");
            assertThat(infer(e.port(), "Bearer " + otherSa).statusCode()).isEqualTo(403);
            HttpResponse<String> results = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + e.port() + "/async/results/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(results.statusCode()).as("results are a door too").isEqualTo(401);
            assertThat(seen.size()).as("nothing refused reached the model").isEqualTo(before);

            String ada = session("ada");
            HttpResponse<String> ok = infer(e.port(), "Bearer " + ada);
            assertThat(ok.statusCode()).isEqualTo(200);
            String sa = ISSUER.issue("serviceaccount:idp:ci", Duration.ofDays(1), Tokens.Kind.service, "idp");
            assertThat(infer(e.port(), "Bearer " + sa).statusCode()).isEqualTo(200);
            assertThat(List.copyOf(seen).subList(before, seen.size())).as("the caller's token stays at the executor").containsExactly("-", "-");
        }
    }

    @Test
    void asyncRequestsCarryTheirTokenInAHeaderThatIsNeverCopiedOn() throws Exception {
        try (ExecutorMain e = executor("guarded-async", "members")) {
            String requests = Topics.inferRequests("idp", "guarded-async").name();
            String responses = Topics.inferResponses("idp", "guarded-async").name();
            String bob = session("bob");
            send(requests, "a-none", null);
            send(requests, "a-garbage", "x");
            send(requests, "a-eve", session("eve"));
            send(requests, "a-bob", bob);
            Map<String, ConsumerRecord<String, byte[]>> answers = ExecutorIT.awaitOn(bootstrap, responses, "a-none", "a-garbage", "a-eve", "a-bob");
            assertThat(ExecutorIT.header(answers.get("a-none"), "clops-status")).isEqualTo("401");
            assertThat(new String(answers.get("a-none").value(), StandardCharsets.UTF_8)).contains("no token");
            assertThat(ExecutorIT.header(answers.get("a-garbage"), "clops-status")).isEqualTo("401");
            assertThat(ExecutorIT.header(answers.get("a-eve"), "clops-status")).isEqualTo("403");
            assertThat(ExecutorIT.header(answers.get("a-bob"), "clops-status")).isEqualTo("200");
            assertThat(answers.values()).allSatisfy(r -> assertThat(r.headers().lastHeader(AsyncWorker.H_TOKEN))
                    .as("no answer carries a token").isNull());

            HttpResponse<String> submitted = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + e.port() + "/async/v2/models/iris/infer"))
                    .header("Authorization", "Bearer " + bob).POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(submitted.statusCode()).isEqualTo(202);
            String id = JSON.readTree(submitted.body()).get("id").asText();
            HttpRequest result = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + e.port() + "/async/results/" + id))
                    .header("Authorization", "Bearer " + bob).build();
            Await.until("the façade's request answered through the worker's token check", () -> {
                try {
                    return HTTP.send(result, HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                } catch (Exception ex) {
                    throw new AssertionError(ex);
                }
            });
        }
    }

    static void send(String topic, String id, String token) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, id, BODY.getBytes(StandardCharsets.UTF_8));
        r.headers().add(AsyncWorker.H_REQUEST_ID, id.getBytes(StandardCharsets.UTF_8));
        if (token != null) {
            r.headers().add(AsyncWorker.H_TOKEN, token.getBytes(StandardCharsets.UTF_8));
        }
        raw.send(r).get();
    }

    @Test
    void aRevokedTokenAndARemovedMemberStopWithinTheBound() throws Exception {
        project("leaving", Map.of("ada", ProjectRole.viewer, "carl", ProjectRole.viewer));
        ExecutorConfig c = ExecutorConfig.single(0, "http://127.0.0.1:" + model.getAddress().getPort(), "iris", "leaving", "m", "sync",
                bootstrap, 5000, 1 << 20).withAuth(new ExecutorContract.Auth(KEY, "members"));
        try (ExecutorMain e = new ExecutorMain(c)) {
            String ada = session("ada");
            String carl = session("carl");
            assertThat(infer(e.port(), "Bearer " + ada).statusCode()).isEqualTo(200);
            assertThat(infer(e.port(), "Bearer " + carl).statusCode()).isEqualTo(200);

            Tokens.Claims claims = ISSUER.verify(ada);
            try (var p = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "identity-it-revoke"), Topics.REVOCATIONS.keySerde().serializer(),
                    Topics.REVOCATIONS.valueSerde().serializer())) {
                p.send(new ProducerRecord<>(Topics.REVOCATIONS.name(), claims.id(), Revocation.newBuilder().setTokenId(claims.id())
                        .setSubject("ada").setExpiresMs(claims.expiresMs()).setRevokedBy("ada").setReason("logout").setTimeMs(0).build())).get();
            }
            Await.until("the revoked token is refused", Tokens.REVOCATION_BOUND, () -> status(e, ada) == 401);
            assertThat(infer(e.port(), "Bearer " + session("ada")).statusCode()).as("only that token").isEqualTo(200);

            project("leaving", Map.of("ada", ProjectRole.viewer));
            Await.until("a member removed is refused", Tokens.REVOCATION_BOUND, () -> status(e, carl) == 403);
        }
    }

    static int status(ExecutorMain e, String token) {
        try {
            return infer(e.port(), "Bearer " + token).statusCode();
        } catch (Exception ex) {
            throw new AssertionError(ex);
        }
    }

    @Test
    void aPublicDeploymentAnswersWithoutAToken() throws Exception {
        try (ExecutorMain e = executor("open", "public")) {
            assertThat(infer(e.port(), null).statusCode()).isEqualTo(200);
        }
    }
}
