package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.platform.Platform;
import io.clops.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An auditor's questions through the running platform and the CLI: deploy, move an alias, scale, undeploy (and a
 * refused deploy); {@code clops audit} lists each with its actor and verdict; {@code clops replay --at} a moment
 * between the alias move and the scale shows that moment's state; {@code clops history} lists the generations;
 * {@code clops rollback} deploys generation 1's spec again and it serves; {@code clops audit verify} finds the trail
 * intact, and a copy of the log with one byte changed is named by {@code clops audit verify --file}.
 */
class AuditEndToEndIT {
    @TempDir
    Path home;
    Platform platform;

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    String token; // whose the next commands are

    CliRun clops(String... args) {
        List<String> all = new ArrayList<>(List.of("--server=" + platform.apiUrl(), "--project=books", "--token=" + token));
        all.addAll(List.of(args));
        return CliRun.of(all);
    }

    CliRun ok(String... args) {
        CliRun r = clops(args);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err() + r.out()).isZero();
        return r;
    }

    String login(String user) throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(platform.apiUrl() + "/api/v1/login"))
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"user\":\"" + user + "\",\"password\":\"" + user + "'s password\"}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return ApiClient.JSON.readTree(r.body()).get("token").asText();
    }

    Path spec(String replicas) throws Exception {
        Path f = Files.createTempFile(home, "spec", ".yaml");
        Files.writeString(f, """
                apiVersion: clops.io/v1
                kind: ModelDeployment
                metadata: { name: iris }
                spec:
                  model: iris@champion
                  mode: sync
                  replicas: %s
                """.formatted(replicas));
        return f;
    }

    @Test
    void auditReplayHistoryAndRollbackAnswerFromTheLog() throws Exception {
        for (String u : List.of("alice", "mia", "oscar")) {
            io.clops.auth.Users.put(home.resolve("auth/users"), u, u + "'s password");
        }
        platform = Platform.start(new Platform.Options(home, 0, 0, null).withAuthRequired(true).withHostUsers("mia"), line -> { });
        String alice = login("alice");
        String mia = login("mia");
        token = alice;
        ok("project", "create", "books");
        ok("project", "member", "add", "mia", "--role", "modeler");
        token = mia;
        ok("model", "register", "iris", "--example", "iris", "--alias", "champion");
        ok("model", "register", "iris", "--example", "iris");
        token = alice;
        ok("deploy", "-f", spec("{ min: 1, max: 1 }").toString(), "--wait");                // generation 1: iris:1
        token = mia;
        ok("model", "alias", "iris", "champion", "2");                                       // generation 2: iris:2
        token = alice;
        Await.until("generation 2 Ready (the v1 workload reported gone)", () -> {
            JsonNode d = ok("get", "deployment", "iris", "-o", "json").json();
            return d.path("generation").asLong() == 2 && d.at("/status/observedGeneration").asLong() == 2
                    && d.at("/status/phase").asText().equals("Ready");
        });
        Instant between = Instant.now();
        Await.until("the clock past the alias move", () -> Instant.now().isAfter(between.plusMillis(5)));
        ok("deploy", "-f", spec("{ min: 1, max: 3 }").toString(), "--wait");                // generation 3: scaled
        Path unknown = Files.createTempFile(home, "unknown", ".yaml");
        Files.writeString(unknown, "apiVersion: clops.io/v1\nkind: ModelDeployment\nmetadata: { name: other }\nspec: { model: nothing@champion }\n");
        assertThat(clops("deploy", "-f", unknown.toString()).code()).as("refused by state: an event with a refusal").isNotZero();
        ok("undeploy", "iris", "--wait");

        // who did what: each with its actor and verdict, oldest first
        JsonNode audit = ok("audit", "-o", "json").json().path("items");
        List<String> actions = new ArrayList<>();
        audit.forEach(r -> actions.add(r.path("action").asText() + " " + (r.path("deployment").isTextual() ? r.path("deployment").asText()
                : r.path("model").asText("")) + " " + (r.path("accepted").asBoolean() ? "accepted" : "refused")));
        assertThat(actions).containsExactly("create-project  accepted", "set-member  accepted", "register iris accepted", "set-alias iris accepted",
                "register iris accepted", "deploy iris accepted", "set-alias iris accepted", "deploy iris accepted", "deploy other refused",
                "undeploy iris accepted");
        List<String> actors = new ArrayList<>();
        audit.forEach(r -> actors.add(r.path("actor").asText()));
        assertThat(actors).as("the authenticated users").containsExactly("alice", "alice", "mia", "mia", "mia", "alice", "mia", "alice", "alice", "alice");
        JsonNode move = audit.get(6);
        assertThat(move.path("changes").toString()).contains("model books/iris aliases.champion: 1 → 2")
                .contains("deployment books/iris routes[0].version.version: 1 → 2");
        assertThat(audit.get(7).path("changes").toString()).contains("deployment books/iris spec.replicas.max: 1 → 3");
        assertThat(audit.get(8).path("reason").asText()).contains("nothing");
        // what a careless or hostile caller sends is refused, naming the parameter
        assertThat(clops("audit", "--since", "yesterday").err()).contains("since: not a moment: 'yesterday'");
        assertThat(clops("replay", "--at", "1e9").err()).contains("at: not a moment");
        assertThat(clops("rollback", "iris", "--to-generation", "99").err()).contains("generation: deployment 'iris' of project 'books' never had generation 99");
        token = login("oscar");
        assertThat(ok("audit", "--all", "-o", "json").json().path("items")).as("no role in books: none of its records").isEmpty();
        assertThat(clops("audit").code()).as("-p books: refused").isNotZero();
        assertThat(clops("replay", "--at", Instant.now().toString()).code()).isNotZero();
        token = alice;
        assertThat(ok("audit", "--deployment", "iris", "--since", between.toString(), "-o", "json").json().path("items")).hasSize(2)
                .allSatisfy(r -> assertThat(r.path("deployment").asText()).isEqualTo("iris"));
        String jsonl = ok("audit", "-o", "jsonl").out();
        assertThat(jsonl.lines().toList()).hasSize(10).allSatisfy(l -> assertThat(ApiClient.JSON.readTree(l).has("@timestamp")).isTrue());

        // the state between the alias move and the scale
        JsonNode then = ok("replay", "--at", between.toString(), "-o", "json").json();
        assertThat(then.path("deployments")).hasSize(1);
        assertThat(then.at("/deployments/0/generation").asLong()).isEqualTo(2);
        assertThat(then.at("/deployments/0/routes/0/version").asInt()).isEqualTo(2);
        assertThat(then.at("/deployments/0/spec/replicas/max").asInt()).isEqualTo(1);
        assertThat(then.at("/models/0/aliases/champion").asInt()).isEqualTo(2);
        assertThat(ok("replay", "--at", between.toString(), "--diff", "-o", "json").json().path("changesSince").toString())
                .contains("deployment books/iris: removed");
        assertThat(ok("get", "deployments", "-o", "json").json().path("items")).as("now").isEmpty();

        // its generations, and back to the first one's spec
        JsonNode history = ok("history", "iris", "-o", "json").json().path("items");
        List<String> generations = new ArrayList<>();
        history.forEach(g -> generations.add(g.path("generation").asText() + " " + g.path("action").asText()));
        assertThat(generations).containsExactly("1 deploy", "2 set-alias", "3 deploy", "null undeploy");
        CliRun back = ok("rollback", "iris", "--to-generation", "1", "--wait", "-o", "json");
        assertThat(back.json().path("generation").asLong()).isPositive();
        JsonNode now = ok("get", "deployment", "iris", "-o", "json").json();
        assertThat(now.at("/spec/replicas/max").asInt()).as("generation 1's spec").isEqualTo(1);
        assertThat(now.at("/status/phase").asText()).isEqualTo("Ready");
        assertThat(Predictor.labels(ok("predict", "iris", "-d", DemoCommand.REQUEST, "-o", "json").json()))
                .containsExactly("setosa", "versicolor", "virginica");
        JsonNode rollbackRecord = ok("audit", "--deployment", "iris", "-o", "json").json().path("items");
        assertThat(rollbackRecord.get(rollbackRecord.size() - 1).path("action").asText()).isEqualTo("deploy");

        // the trail is intact; a copy with one byte changed is named
        CliRun verify = ok("audit", "verify", "-o", "json");
        assertThat(verify.json().path("intact").asBoolean()).isTrue();
        assertThat(verify.json().path("records").asLong()).as("every event so far, the rollback too").isEqualTo(11);
        Path copy = home.resolve("log-copy.jsonl");
        ok("audit", "export", copy.toString(), "--bootstrap", platform.bootstrap());
        assertThat(ok("audit", "verify", "--file", copy.toString(), "-o", "json").json().path("intact").asBoolean()).isTrue();
        List<String> lines = Files.readAllLines(copy);
        assertThat(lines.stream().filter(l -> l.contains("\"topic\":\"clops.logins\"") && l.contains("\"key\":\"oscar\"")))
                .as("the copy keeps the logins too").isNotEmpty();
        int i = 0;
        while (!lines.get(i).contains("\"topic\":\"clops.registry\"")) {
            i++;
        }
        var line = (com.fasterxml.jackson.databind.node.ObjectNode) ApiClient.JSON.readTree(lines.get(i));
        byte[] value = java.util.Base64.getDecoder().decode(line.get("value").asText());
        value[value.length - 2] ^= 0x01;
        line.put("value", java.util.Base64.getEncoder().encodeToString(value));
        lines.set(i, ApiClient.JSON.writeValueAsString(line));
        Path edited = home.resolve("log-edited.jsonl");
        Files.write(edited, lines);
        CliRun broken = clops("audit", "verify", "--file", edited.toString(), "-o", "json");
        assertThat(broken.code()).isEqualTo(1);
        assertThat(broken.json().path("broken").asText()).startsWith("clops.registry/" + line.get("partition").asInt() + "@" + line.get("offset").asLong());
    }
}
