package io.clops.cli;

import io.clops.platform.Platform;
import com.fasterxml.jackson.databind.JsonNode;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.TopicProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end, as a user: the whole platform in this JVM (its own KRaft broker, persistent in a temp home), driven
 * through the CLI. Model servers and executors are real child processes.
 */
class PlatformEndToEndIT {
    static final String SETOSA_VERSICOLOR_VIRGINICA = DemoCommand.REQUEST;

    @TempDir
    Path home;
    Platform platform;

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    CliRun clops(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("--server=" + platform.apiUrl(), "--project=e2e"));
        all.addAll(List.of(args));
        return CliRun.of(all);
    }

    Path spec(String text) throws Exception {
        Path f = Files.createTempFile(home, "spec", ".yaml");
        Files.writeString(f, text);
        return f;
    }

    static final String IRIS_SPEC = """
            apiVersion: clops.io/v1
            kind: ModelDeployment
            metadata: { name: iris }
            spec:
              model: iris@champion
              mode: both
            """;

    /** Starts the platform and creates the project the tests work in, as a user would. */
    void start() {
        restart();
        CliRun created = clops("project", "create", "e2e", "--description", "end to end");
        assertThat(created.code()).as(created.err()).isZero();
    }

    void restart() {
        platform = Platform.start(new Platform.Options(home, 0, 0, null), line -> { });
    }

    static List<ProcessHandle> children(String marker) {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .filter(p -> p.info().commandLine().orElse("").contains(marker)).toList();
    }

    static void await(String what, BooleanSupplier ok) {
        Await.until(what, ok);
    }

    @Test
    void registerDeployPredictSyncAndAsyncSurviveACrashAndUndeploy() throws Exception {
        start();
        CliRun reg = clops("model", "register", "iris", "--example", "iris", "--alias", "champion", "-o", "json");
        assertThat(reg.code()).as(reg.err()).isZero();
        assertThat(reg.json().get("version").asInt()).isEqualTo(1);

        long commandsBefore = TopicProbe.endOffsetSum(platform.bootstrap(), Topics.COMMANDS.name());
        CliRun bad = clops("deploy", "-f", spec(IRIS_SPEC.replace("mode: both", "mode: both\n  replicas: { min: 3, max: 1 }\n  moel: x")).toString());
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("spec.replicas.max").contains("spec.moel: unknown field");
        assertThat(TopicProbe.endOffsetSum(platform.bootstrap(), Topics.COMMANDS.name())).isEqualTo(commandsBefore);

        CliRun deploy = clops("deploy", "-f", spec(IRIS_SPEC).toString(), "--wait", "-o", "json");
        assertThat(deploy.code()).as(deploy.err()).isZero();
        assertThat(deploy.json().at("/status/phase").asText()).isEqualTo("Ready");
        String endpoint = deploy.json().at("/status/endpoint").asText();

        CliRun sync = clops("predict", "iris", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json");
        assertThat(sync.code()).as(sync.err()).isZero();
        assertThat(Predictor.labels(sync.json())).containsExactly("setosa", "versicolor", "virginica");
        CliRun async = clops("predict", "iris", "--async", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json");
        assertThat(async.code()).as(async.err()).isZero();
        assertThat(Predictor.labels(async.json())).containsExactly("setosa", "versicolor", "virginica");
        assertThat(async.json().get("clops_request_id").asText()).isNotBlank();

        // a crashed model is reported with its reason, restarted, and served again
        List<ProcessHandle> models = children("io.clops.examples.iris.IrisServer");
        assertThat(models).hasSize(1);
        assertThat(children("-Dclops.role=executor")).hasSize(1);
        models.get(0).destroyForcibly();
        await("status Failed with the exit reason", () -> {
            CliRun got = clops("get", "deployment", "iris", "-o", "json");
            return got.json().at("/status/phase").asText().equals("Failed")
                    && got.json().at("/status/reason").asText().startsWith("model process exited with code");
        });
        await("Ready again after the restart", () -> clops("get", "deployment", "iris", "-o", "json").json()
                .at("/status/phase").asText().equals("Ready"));
        assertThat(children("io.clops.examples.iris.IrisServer")).hasSize(1).doesNotContainAnyElementsOf(models);
        assertThat(Predictor.labels(clops("predict", "iris", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json").json()))
                .containsExactly("setosa", "versicolor", "virginica");

        CliRun undeploy = clops("undeploy", "iris", "--wait");
        assertThat(undeploy.code()).as(undeploy.err()).isZero();
        await("model and executor processes gone", () -> children("io.clops.examples.iris.IrisServer").isEmpty()
                && children("-Dclops.role=executor").isEmpty());
        assertThat(accepts(endpoint)).isFalse();
        assertThat(clops("get", "deployments", "-o", "json").json().get("items")).isEmpty();
    }

    @Test
    void afterARestartModelsAndDeploymentsComeBackFromTheLogAndAreServedAgain() throws Exception {
        start();
        assertThat(clops("model", "register", "iris", "--example", "iris", "--alias", "champion").code()).isZero();
        assertThat(clops("deploy", "-f", spec(IRIS_SPEC).toString(), "--wait").code()).isZero();
        platform.close();
        platform = null;
        await("processes stopped with the platform", () -> children("io.clops.examples.iris.IrisServer").isEmpty());

        restart();
        assertThat(clops("project", "list", "-o", "json").json().get("items").findValuesAsText("name")).containsExactly("e2e");
        CliRun models = clops("get", "models", "-o", "json");
        assertThat(models.json().get("items").get(0).get("name").asText()).isEqualTo("iris");
        await("the deployment is Ready again", () -> clops("get", "deployment", "iris", "-o", "json").json()
                .at("/status/phase").asText().equals("Ready"));
        CliRun got = clops("get", "deployment", "iris", "-o", "json");
        assertThat(got.json().get("generation").asInt()).isEqualTo(1);
        assertThat(Predictor.labels(clops("predict", "iris", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json").json()))
                .containsExactly("setosa", "versicolor", "virginica");
        assertThat(Predictor.labels(clops("predict", "iris", "--async", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json").json()))
                .containsExactly("setosa", "versicolor", "virginica");
    }

    @Test
    void aTrafficSplitServesBothVersionsBehindOneEndpoint() throws Exception {
        start();
        assertThat(clops("model", "register", "iris", "--example", "iris").code()).isZero();
        assertThat(clops("model", "register", "iris", "--example", "iris").code()).isZero();
        CliRun deploy = clops("deploy", "-f", spec(IRIS_SPEC.replace("model: iris@champion", "model: iris:1\n  traffic:\n"
                + "    - { model: iris:1, weight: 50 }\n    - { model: iris:2, weight: 50 }\n  shadow: iris:2")).toString(), "--wait", "-o", "json");
        assertThat(deploy.code()).as(deploy.err()).isZero();
        assertThat(children("io.clops.examples.iris.IrisServer")).as("two routes and a shadow").hasSize(3);
        String endpoint = deploy.json().at("/status/endpoint").asText();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.Map<String, Integer> routes = new java.util.HashMap<>();
        for (int i = 0; i < 40; i++) {
            var r = http.send(java.net.http.HttpRequest.newBuilder(URI.create(endpoint + "/v2/models/iris/infer"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(SETOSA_VERSICOLOR_VIRGINICA)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(Predictor.labels(ApiClient.JSON.readTree(r.body()))).containsExactly("setosa", "versicolor", "virginica");
            routes.merge(r.headers().firstValue("X-Clops-Route").orElse("?"), 1, Integer::sum);
        }
        assertThat(routes).containsOnlyKeys("iris-v1", "iris-v2");
    }

    /** An image is for a cluster: this machine refuses to start one and says so, instead of failing somewhere inside. */
    @Test
    void anImageOnlyVersionIsRefusedHereSayingWhy() throws Exception {
        start();
        CliRun registered = clops("model", "register", "web", "--image", "registry.example/web:1");
        assertThat(registered.code()).isZero();
        assertThat(registered.out()).as("the table says what it serves").containsPattern("web\\s+1\\s+v2\\s+image registry.example/web:1");
        assertThat(clops("deploy", "-f", spec("metadata: { name: web }\nspec: { model: web:1, mode: sync }\n").toString()).code()).isZero();
        String[] reason = {""};
        await("the deployment says why it does not start", () -> {
            reason[0] = clops("get", "deployment", "web", "-o", "json").json().at("/status/reason").asText();
            return !reason[0].isEmpty() && !reason[0].startsWith("rolling out");
        });
        assertThat(reason[0]).contains("web:1 is a container image (registry.example/web:1), and this runtime runs a version's command or serves"
                + " its model file, not images");
    }

    @Test
    void aProjectsQuotaRefusesWhatDoesNotFitAndDeletingItStopsEveryProcessInIt() throws Exception {
        start();
        assertThat(clops("project", "quota", "set", "--cpu", "1", "--deployments", "3").code()).isZero();
        assertThat(clops("model", "register", "iris", "--example", "iris", "--alias", "champion").code()).isZero();
        for (String name : List.of("a", "b", "c")) { // a answers over Kafka too
            CliRun d = clops("deploy", "-f", spec(IRIS_SPEC.replace("name: iris", "name: " + name)
                    .replace("mode: both", "mode: " + (name.equals("a") ? "both" : "sync") + "\n  resources: { cpu: 300m, memory: 128Mi }")).toString());
            assertThat(d.code()).as(d.err()).isZero();
        }
        CliRun over = clops("deploy", "-f", spec(IRIS_SPEC.replace("name: iris", "name: d")).toString());
        assertThat(over.code()).isEqualTo(1);
        assertThat(over.err()).contains("project 'e2e' quota exceeded: cpu: requested 500m (1 route × 1 replicas.max × 500m),"
                + " 100m left of 1; deployments: requested 1, 0 left of 3");
        CliRun quota = clops("project", "quota", "get");
        assertThat(quota.out()).containsPattern("cpu\\s+1\\s+900m\\s+100m").containsPattern("deployments\\s+3\\s+3\\s+0");
        await("three deployments running", () -> children("io.clops.examples.iris.IrisServer").size() == 3
                && children("-Dclops.role=executor").size() == 3);
        CliRun asked = clops("predict", "a", "--async", "-d", SETOSA_VERSICOLOR_VIRGINICA, "-o", "json");
        assertThat(asked.code()).as(asked.err()).isZero();
        assertThat(projectTopics("e2e")).as("what the project left on Kafka").contains("clops.infer.e2e.a.requests", "clops.infer.e2e.a.responses",
                Topics.projectMembers("e2e").name());
        assertThat(TopicProbe.endOffsetSum(platform.bootstrap(), "clops.infer.e2e.a.requests")).isPositive();

        CliRun deleted = clops("project", "delete", "e2e");
        assertThat(deleted.code()).as(deleted.err()).isZero();
        assertThat(deleted.out()).contains("deleted with 3 deployment(s) and 1 model(s)");
        await("every process of the project stopped", () -> children("io.clops.examples.iris.IrisServer").isEmpty()
                && children("-Dclops.role=executor").isEmpty());
        assertThat(clops("project", "list", "-o", "json").json().get("items")).isEmpty();
        assertThat(clops("get", "deployments", "-o", "json").json().get("items")).isEmpty();
        // its requests and answers, inference log, members and consumer groups go with it: a project created later
        // under the same name, by other people, reads none of them
        await("the project's topics and consumer groups deleted", () -> projectTopics("e2e").isEmpty() && projectGroups("e2e").isEmpty());
        assertThat(clops("project", "create", "e2e").code()).isZero();
        assertThat(clops("model", "register", "iris", "--example", "iris", "--alias", "champion").code()).isZero();
        CliRun again = clops("deploy", "-f", spec(IRIS_SPEC.replace("name: iris", "name: a")).toString(), "--wait");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(TopicProbe.endOffsetSum(platform.bootstrap(), "clops.infer.e2e.a.requests")).as("a new topic, none of the old requests").isZero();
        assertThat(TopicProbe.endOffsetSum(platform.bootstrap(), "clops.infer.e2e.a.responses")).as("nor their answers").isZero();
    }

    List<String> projectTopics(String project) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(io.clops.kafka.KafkaConfigs.admin(platform.bootstrap()))) {
            return admin.listTopics().names().get().stream().filter(t -> Topics.ofProject(project, t)).sorted().toList();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    List<String> projectGroups(String project) {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(io.clops.kafka.KafkaConfigs.admin(platform.bootstrap()))) {
            return admin.listConsumerGroups().all().get().stream().map(org.apache.kafka.clients.admin.ConsumerGroupListing::groupId)
                    .filter(g -> Topics.groupOfProject(project, g)).sorted().toList();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static boolean accepts(String url) {
        URI u = URI.create(url);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 300);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
