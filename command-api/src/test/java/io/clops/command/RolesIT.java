package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.auth.Users;
import io.clops.avro.CommandEnvelope;
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

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.clops.command.CommandApiIT.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * With {@code clops.auth.required}: every write of the HTTP API needs a valid token, and the writer's role in the
 * project (admin, modeler, viewer, none) decides; a refused write appends nothing, an accepted one is in the log
 * under the token's user, whatever the request claims.
 */
@ExtendWith(KafkaExtension.class)
class RolesIT {
    static Reconciler reconciler;
    static EmbeddedServer server;
    static String bootstrap;
    static String admin;
    static String modeler;
    static String viewer;
    static String stranger;
    static String auditor;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        Path auth = Files.createTempDirectory("clops-auth");
        for (String u : List.of("ida", "jon", "kim", "lee", "mia")) {
            Users.put(auth.resolve("users"), u, u + "'s long password");
        }
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.auth.dir", auth.toString(), "clops.auth.required", true,
                "clops.auth.auditors", "mia, nobody-else", "clops.auth.host-users", "ida"));
        admin = AuthIT.login(server, "ida", "ida's long password");
        modeler = AuthIT.login(server, "jon", "jon's long password");
        viewer = AuthIT.login(server, "kim", "kim's long password");
        stranger = AuthIT.login(server, "lee", "lee's long password");
        auditor = AuthIT.login(server, "mia", "mia's long password");
        assertThat(AuthIT.send(server, "POST", "/api/v1/projects", "{\"name\":\"roles-a\"}", admin).statusCode()).isEqualTo(201);
        assertThat(AuthIT.send(server, "PUT", "/api/v1/projects/roles-a/members/jon", "{\"role\":\"modeler\"}", admin).statusCode()).isEqualTo(200);
        assertThat(AuthIT.send(server, "PUT", "/api/v1/projects/roles-a/members/kim", "{\"role\":\"viewer\"}", admin).statusCode()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    static long logSize() {
        return TopicProbe.endOffsetSum(bootstrap, Topics.COMMANDS.name()) + TopicProbe.endOffsetSum(bootstrap, Topics.REGISTRY.name());
    }

    /** A pipeline's JSON request on clops.intake with this token header (null: none); its verdict, when it comes. */
    static io.clops.avro.CommandResult viaIntake(String token, String json) throws Exception {
        String requestId = "intake-" + java.util.UUID.randomUUID();
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(
                io.clops.kafka.KafkaConfigs.producer(bootstrap, "a-pipeline"), new org.apache.kafka.common.serialization.StringSerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            var record = new org.apache.kafka.clients.producer.ProducerRecord<String, byte[]>(Topics.INTAKE.name(), null,
                    json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            record.headers().add(io.clops.gateway.Intake.REQUEST_ID, requestId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            if (token != null) {
                record.headers().add(io.clops.gateway.Intake.TOKEN, token.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            producer.send(record).get();
        }
        io.clops.avro.CommandResult[] found = new io.clops.avro.CommandResult[1];
        io.clops.testing.Await.until("the verdict on " + requestId, () -> {
            found[0] = TopicProbe.readAll(bootstrap, Topics.COMMAND_RESULTS.name(), Topics.COMMAND_RESULTS.keySerde().deserializer(),
                    Topics.COMMAND_RESULTS.valueSerde().deserializer()).stream().filter(r -> requestId.equals(r.key()))
                    .map(r -> r.value()).findFirst().orElse(null);
            return found[0] != null;
        });
        return found[0];
    }

    @Test
    void theIntakeTakesTheSameTokensAndRoles() throws Exception {
        String undeploy = "{\"action\":\"undeploy\",\"project\":\"roles-a\",\"name\":\"nothing-here\"}";
        long before = logSize();
        var none = viaIntake(null, undeploy);
        assertThat(none.getAccepted()).isFalse();
        assertThat(none.getCode()).isEqualTo("unauthenticated");
        assertThat(none.getReason()).isEqualTo("unauthenticated (nothing was changed): no token: put a clops token in the clops-token header");
        var garbage = viaIntake("let-me-in", undeploy);
        assertThat(garbage.getReason()).isEqualTo("unauthenticated (nothing was changed): not a clops token");
        var asViewer = viaIntake(viewer, undeploy);
        assertThat(asViewer.getCode()).isEqualTo("forbidden");
        assertThat(asViewer.getReason()).isEqualTo("forbidden (nothing was changed): user 'kim' is a viewer of project 'roles-a';"
                + " undeploying needs modeler or admin");
        assertThat(logSize()).as("refused intake requests append nothing").isEqualTo(before);
        var asModeler = viaIntake(modeler, undeploy);
        assertThat(asModeler.getActor()).as("the token's user").isEqualTo("jon");
        assertThat(asModeler.getReason()).as("decided by the fold: in the log").isEqualTo("deployment 'nothing-here' does not exist in project 'roles-a'");
        List<CommandEnvelope> appended = TopicProbe.readAll(bootstrap, Topics.COMMANDS.name(), Topics.COMMANDS.keySerde().deserializer(),
                Topics.COMMANDS.valueSerde().deserializer()).stream().map(r -> r.value())
                .filter(c -> c.getId().equals(asModeler.getCommandId())).toList();
        assertThat(appended).hasSize(1);
        assertThat(appended.get(0).getActor()).isEqualTo("jon");
    }

    static final String DEPLOY = "{\"metadata\":{\"name\":\"iris\"},\"spec\":{\"model\":\"iris:1\",\"resources\":{\"cpu\":\"100m\"}}}";

    @Test
    void eachWriteNeedsItsRoleAndARefusalAppendsNothing() throws Exception {
        record Try(String who, String token, String method, String path, String body, int status, String error) {
        }
        List<Try> refused = List.of(
                new Try("no token", null, "POST", "/api/v1/projects/roles-a/deployments", DEPLOY, 401,
                        "no token: log in (clops login) and send it as Authorization: Bearer <token>"),
                new Try("a forged token", "clops1.e30.AAAA", "POST", "/api/v1/projects/roles-a/deployments", DEPLOY, 401,
                        "the token's signature is not the platform's"),
                new Try("a viewer registering", viewer, "POST", "/api/v1/projects/roles-a/models/iris/versions", "{\"command\":[\"serve\"]}", 403,
                        "user 'kim' is a viewer of project 'roles-a'; changing the registry needs modeler or admin"),
                new Try("a viewer deploying", viewer, "POST", "/api/v1/projects/roles-a/deployments", DEPLOY, 403,
                        "user 'kim' is a viewer of project 'roles-a'; deploying needs modeler or admin"),
                new Try("a stranger deploying", stranger, "POST", "/api/v1/projects/roles-a/deployments", DEPLOY, 403,
                        "user 'lee' has no role in project 'roles-a'"),
                new Try("a modeler setting the quota", modeler, "PUT", "/api/v1/projects/roles-a/quota", "{\"cpu\":\"1\"}", 403,
                        "user 'jon' is a modeler of project 'roles-a'; setting the quota needs admin"),
                new Try("a modeler adding a member", modeler, "PUT", "/api/v1/projects/roles-a/members/lee", "{\"role\":\"admin\"}", 403,
                        "user 'jon' is a modeler of project 'roles-a'; managing members needs admin"),
                new Try("a viewer deleting the project", viewer, "DELETE", "/api/v1/projects/roles-a", null, 403,
                        "user 'kim' is a viewer of project 'roles-a'; deleting the project needs admin"));
        long before = logSize();
        for (Try t : refused) {
            HttpResponse<String> r = AuthIT.send(server, t.method(), t.path(), t.body(), t.token());
            assertThat(r.statusCode()).as(t.who() + ": " + r.body()).isEqualTo(t.status());
            assertThat(json(r).get("error").asText()).as(t.who()).isEqualTo(t.error());
        }
        assertThat(logSize()).as("refused writes append nothing").isEqualTo(before);

        HttpResponse<String> registered = AuthIT.send(server, "POST", "/api/v1/projects/roles-a/models/iris/versions", "{\"image\":\"registry.example/iris:1\"}", modeler);
        assertThat(registered.statusCode()).as(registered.body()).isEqualTo(201);
        java.net.http.HttpRequest claim = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.getURL() + "/api/v1/projects/roles-a/deployments"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + modeler).header("X-Clops-Actor", "ida")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(DEPLOY)).build();
        HttpResponse<String> deployed = CommandApiIT.HTTP.send(claim, HttpResponse.BodyHandlers.ofString());
        assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(200);
        String commandId = json(deployed).get("commandId").asText();
        CommandEnvelope inLog = TopicProbe.readAll(bootstrap, Topics.COMMANDS.name(), Topics.COMMANDS.keySerde().deserializer(),
                Topics.COMMANDS.valueSerde().deserializer()).stream().map(r -> r.value()).filter(c -> c.getId().equals(commandId))
                .findFirst().orElseThrow();
        assertThat(inLog.getActor()).as("the token's user, not the X-Clops-Actor claim").isEqualTo("jon");
        assertThat(AuthIT.send(server, "PUT", "/api/v1/projects/roles-a/quota", "{\"cpu\":\"4\"}", admin).statusCode()).isEqualTo(200);
        JsonNode me = json(AuthIT.send(server, "GET", "/api/v1/whoami", null, viewer));
        assertThat(me.get("projects").toString()).isEqualTo("[{\"project\":\"roles-a\",\"role\":\"viewer\"}]");
    }

    /**
     * A version with a command of its own, or a model file at a file: path, runs on the platform's machine with the
     * platform's rights under the local runtime (the command could read the signing key and mint any token): only the
     * users clops.auth.host-users names register one, whatever their role, by HTTP or by the intake; others still
     * register images and model files.
     */
    @Test
    void onlyTheHostUsersRegisterAVersionThatRunsOnThePlatformsMachine() throws Exception {
        String command = "{\"command\":[\"sh\",\"-c\",\"cat ~/.clops/auth/signing-key.pk8\"]}";
        String fileUri = "{\"artifact\":{\"uri\":\"file:/etc/shadow\",\"sha256\":\"" + "ab".repeat(32) + "\",\"size\":1,\"format\":\"onnx\"}}";
        String path = "/api/v1/projects/roles-a/models/host/versions";
        long before = logSize();
        HttpResponse<String> byCommand = AuthIT.send(server, "POST", path, command, modeler);
        assertThat(byCommand.statusCode()).as(byCommand.body()).isEqualTo(403);
        assertThat(json(byCommand).get("error").asText()).isEqualTo("command: a version's own command runs on the platform's machine with the"
                + " platform's own rights, and user 'jon' is not one of clops.auth.host-users; register the model file instead (--file, or an"
                + " http(s) --uri): clops's own runtime serves it");
        HttpResponse<String> byFile = AuthIT.send(server, "POST", path, fileUri, modeler);
        assertThat(byFile.statusCode()).as(byFile.body()).isEqualTo(403);
        assertThat(json(byFile).get("error").asText()).startsWith("artifact.uri: a file: path is read on the platform's machine");
        var intake = viaIntake(modeler, "{\"action\":\"register\",\"project\":\"roles-a\",\"model\":\"host\",\"version\":" + command + "}");
        assertThat(intake.getCode()).isEqualTo("forbidden");
        assertThat(intake.getReason()).startsWith("forbidden (nothing was changed): command: a version's own command runs on the platform's machine");
        assertThat(logSize()).as("refused registrations append nothing").isEqualTo(before);

        HttpResponse<String> image = AuthIT.send(server, "POST", path, "{\"image\":\"registry.example/host:1\"}", modeler);
        assertThat(image.statusCode()).as("an image runs in a cluster, not here: " + image.body()).isEqualTo(201);
        HttpResponse<String> byHostUser = AuthIT.send(server, "POST", path, command, admin);
        assertThat(byHostUser.statusCode()).as("ida is one of clops.auth.host-users: " + byHostUser.body()).isEqualTo(201);
        assertThat(json(byHostUser).get("command").toString()).contains("signing-key.pk8");

        assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.auth.required", true, "clops.auth.host-users", "ida, a*")))
                .as("a malformed setting stops the API at start, naming it").hasStackTraceContaining("clops.auth.host-users: 'a*'");
    }

    @Test
    void aServiceAccountActsInItsProjectOnlyAndStopsWhenRemoved() throws Exception {
        HttpResponse<String> byModeler = AuthIT.send(server, "POST", "/api/v1/projects/roles-a/serviceaccounts", "{\"name\":\"nightly\"}", modeler);
        assertThat(byModeler.statusCode()).isEqualTo(403);
        assertThat(json(byModeler).get("error").asText()).isEqualTo("user 'jon' is a modeler of project 'roles-a'; managing service accounts needs admin");
        HttpResponse<String> bad = AuthIT.send(server, "POST", "/api/v1/projects/roles-a/serviceaccounts",
                "{\"name\":\"Nightly Job\",\"role\":\"owner\",\"days\":0}", admin);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("fields").findValuesAsText("field")).containsExactlyInAnyOrder("name", "role", "days");

        HttpResponse<String> created = AuthIT.send(server, "POST", "/api/v1/projects/roles-a/serviceaccounts",
                "{\"name\":\"nightly\",\"role\":\"modeler\",\"days\":30}", admin);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String sa = json(created).get("token").asText();
        assertThat(json(created).get("principal").asText()).isEqualTo("serviceaccount:roles-a:nightly");
        HttpResponse<String> listed = AuthIT.send(server, "GET", "/api/v1/projects/roles-a/serviceaccounts", null, viewer);
        assertThat(json(listed).get("items").findValuesAsText("name")).containsExactly("nightly");
        assertThat(listed.body()).as("never the token").doesNotContain(sa.substring(0, 40));

        var viaPipeline = viaIntake(sa, "{\"action\":\"undeploy\",\"project\":\"roles-a\",\"name\":\"nothing-here\"}");
        assertThat(viaPipeline.getActor()).isEqualTo("serviceaccount:roles-a:nightly");
        assertThat(viaPipeline.getCode()).as("decided by the fold, not refused at the door").isNull();
        assertThat(AuthIT.send(server, "POST", "/api/v1/projects", "{\"name\":\"sa-made\"}", sa).statusCode())
                .as("a service account creates no project").isEqualTo(403);
        assertThat(AuthIT.send(server, "POST", "/api/v1/projects", "{\"name\":\"roles-b\"}", admin).statusCode()).isEqualTo(201);
        HttpResponse<String> elsewhere = AuthIT.send(server, "POST", "/api/v1/projects/roles-b/deployments", DEPLOY, sa);
        assertThat(elsewhere.statusCode()).isEqualTo(403);
        assertThat(json(elsewhere).get("error").asText())
                .isEqualTo("serviceaccount:roles-a:nightly's token is for project 'roles-a' only, not 'roles-b'");

        assertThat(AuthIT.send(server, "DELETE", "/api/v1/projects/roles-a/serviceaccounts/nightly", null, admin).statusCode()).isEqualTo(200);
        HttpResponse<String> after = AuthIT.send(server, "GET", "/api/v1/whoami", null, sa);
        assertThat(after.statusCode()).isEqualTo(401);
        assertThat(json(after).get("error").asText()).isEqualTo("the token was revoked");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/projects/roles-a/serviceaccounts", null, admin)).get("items")).isEmpty();
    }

    @Test
    void readsNeedARoleInTheProjectAndListsShowOnlyTheCallersProjects() throws Exception {
        assertThat(AuthIT.send(server, "GET", "/api/v1/projects/roles-a", null, viewer).statusCode()).isEqualTo(200);
        assertThat(AuthIT.send(server, "GET", "/api/v1/projects/roles-a/deployments", null, viewer).statusCode()).isEqualTo(200);
        HttpResponse<String> stranger = AuthIT.send(server, "GET", "/api/v1/projects/roles-a/models", null, RolesIT.stranger);
        assertThat(stranger.statusCode()).isEqualTo(403);
        assertThat(json(stranger).get("error").asText()).isEqualTo("user 'lee' has no role in project 'roles-a'");
        HttpResponse<String> anonymous = AuthIT.send(server, "GET", "/api/v1/projects/roles-a/quota", null, null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"clops\"");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/projects", null, RolesIT.stranger)).get("items").findValuesAsText("name"))
                .doesNotContain("roles-a");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/projects", null, viewer)).get("items").findValuesAsText("name"))
                .contains("roles-a");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/deployments", null, RolesIT.stranger)).get("items").findValuesAsText("project"))
                .doesNotContain("roles-a");
        assertThat(AuthIT.send(server, "GET", "/api/v1/openapi.json", null, null).statusCode()).as("how one finds the way in").isEqualTo(200);
    }

    /**
     * A platform auditor (clops.auth.auditors) is no project's member: reads what a viewer reads in every project (the
     * trail, the project, its deployments, the lists) and every user's logins, and is refused every write. A user who
     * is not one still reads only their own.
     */
    @Test
    void thePlatformsAuditorReadsEveryProjectAndEveryLoginAndWritesNothing() throws Exception {
        HttpResponse<String> trail = AuthIT.send(server, "GET", "/api/v1/audit?project=roles-a", null, auditor);
        assertThat(trail.statusCode()).as(trail.body()).isEqualTo(200);
        assertThat(json(trail).get("items").findValuesAsText("action")).contains("create-project", "set-member");
        // page by page (each page read from where the last one ended): the same records, once each, in order
        List<String> paged = new java.util.ArrayList<>();
        String after = null;
        do {
            JsonNode page = json(AuthIT.send(server, "GET", "/api/v1/audit?project=roles-a&limit=2" + (after == null ? "" : "&after=" + after), null, auditor));
            page.get("items").forEach(r -> paged.add(r.get("seq").asText() + " " + r.get("action").asText()));
            after = page.path("next").isTextual() ? page.get("next").asText() : null;
        } while (after != null);
        List<String> whole = new java.util.ArrayList<>();
        json(trail).get("items").forEach(r -> whole.add(r.get("seq").asText() + " " + r.get("action").asText()));
        assertThat(whole).hasSizeGreaterThan(2);
        assertThat(paged).isEqualTo(whole);
        assertThat(AuthIT.send(server, "GET", "/api/v1/audit?project=roles-a", null, stranger).statusCode()).isEqualTo(403);
        assertThat(AuthIT.send(server, "GET", "/api/v1/projects/roles-a", null, auditor).statusCode()).isEqualTo(200);
        assertThat(AuthIT.send(server, "GET", "/api/v1/projects/roles-a/deployments", null, auditor).statusCode()).isEqualTo(200);
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/projects", null, auditor)).get("items").findValuesAsText("name")).contains("roles-a");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/projects", null, stranger)).get("items").findValuesAsText("name")).doesNotContain("roles-a");

        HttpResponse<String> idas = AuthIT.send(server, "GET", "/api/v1/logins?user=ida", null, auditor);
        assertThat(idas.statusCode()).as(idas.body()).isEqualTo(200);
        assertThat(json(idas).get("items").findValuesAsText("user")).isNotEmpty().containsOnly("ida");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/logins", null, auditor)).get("items").findValuesAsText("user"))
                .as("everyone's").contains("ida", "jon", "mia");
        HttpResponse<String> notHers = AuthIT.send(server, "GET", "/api/v1/logins?user=ida", null, stranger);
        assertThat(notHers.statusCode()).isEqualTo(403);
        assertThat(json(notHers).get("error").asText()).contains("clops.auth.auditors");
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/whoami", null, auditor)).get("auditor").asBoolean()).isTrue();
        assertThat(json(AuthIT.send(server, "GET", "/api/v1/whoami", null, admin)).get("auditor").asBoolean()).isFalse();
        String review = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"%s\"}}";
        assertThat(json(AuthIT.send(server, "POST", "/api/v1/tokenreviews", review.formatted(auditor), null)).at("/status/user/groups"))
                .as("kube-apiserver knows her as an auditor (a viewer in every project's namespace)").extracting(JsonNode::asText).contains("clops:auditors");
        assertThat(json(AuthIT.send(server, "POST", "/api/v1/tokenreviews", review.formatted(admin), null)).at("/status/user/groups"))
                .extracting(JsonNode::asText).contains("clops:roles-a:admin").doesNotContain("clops:auditors");

        long before = logSize();
        HttpResponse<String> deploy = AuthIT.send(server, "POST", "/api/v1/projects/roles-a/deployments",
                "{\"metadata\":{\"name\":\"by-the-auditor\"},\"spec\":{\"model\":\"iris\"}}", auditor);
        assertThat(deploy.statusCode()).as(deploy.body()).isEqualTo(403);
        assertThat(AuthIT.send(server, "PUT", "/api/v1/projects/roles-a/members/mia", "{\"role\":\"admin\"}", auditor).statusCode()).isEqualTo(403);
        assertThat(AuthIT.send(server, "DELETE", "/api/v1/projects/roles-a", null, auditor).statusCode()).isEqualTo(403);
        assertThat(logSize()).as("nothing appended").isEqualTo(before);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap,
                        "micronaut.server.port", -1, "micronaut.server.host", "127.0.0.1", "clops.intake.enabled", false,
                        "clops.auth.auditors", "mia, serviceaccount:roles-a:bot")))
                .as("a service account named an auditor stops the start").hasStackTraceContaining("'serviceaccount:roles-a:bot' is a service account");
    }
}
