package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.auth.Tokens;
import io.clops.auth.Users;
import io.clops.kafka.Topics;
import io.clops.reconciler.Reconciler;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.clops.command.CommandApiIT.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Logins are in the log (clops.logins): every token issued by its id and expiry, every refused attempt, with the
 * method and the address; never a password nor a token. A user reads back their own, with each token's state, and no
 * one else's. The API requires tokens here, as on a cluster.
 */
@ExtendWith(KafkaExtension.class)
class LoginsIT {
    static Reconciler reconciler;
    static EmbeddedServer server;
    static String bootstrap;
    static Path auth;

    @BeforeAll
    static void start() throws Exception {
        bootstrap = KafkaExtension.bootstrapServers();
        reconciler = Reconciler.start(bootstrap, Files.createTempDirectory("clops-streams"), Duration.ofSeconds(60));
        auth = Files.createTempDirectory("clops-auth");
        Users.put(auth.resolve("users"), "logins-uma", "uma's long password");
        Users.put(auth.resolve("users"), "logins-vic", "vic's long password");
        server = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.auth.dir", auth.toString(), "clops.auth.required", true,
                "clops.intake.enabled", false));
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
        reconciler.close();
    }

    static HttpResponse<String> get(String path, String token) throws Exception {
        return AuthIT.send(server, "GET", path, null, token);
    }

    @Test
    void everyLoginIsInTheLogAndAUserReadsTheirOwnWithEachTokensState() throws Exception {
        HttpResponse<String> wrong = AuthIT.send(server, "POST", "/api/v1/login", "{\"user\":\"logins-uma\",\"password\":\"a guess of hers\"}", null);
        assertThat(wrong.statusCode()).isEqualTo(401);
        // the password typed into the name field (and the name into the password's): refused, and recorded under
        // "?", not under what was typed
        long unknownBefore = unknownUserRecordsFromHere();
        HttpResponse<String> swapped = AuthIT.send(server, "POST", "/api/v1/login", "{\"user\":\"uma's long password\",\"password\":\"logins-uma\"}", null);
        assertThat(swapped.statusCode()).isEqualTo(401);
        io.clops.testing.Await.until("the refusal of a name no user has is recorded", () -> unknownUserRecordsFromHere() > unknownBefore);
        String first = AuthIT.login(server, "logins-uma", "uma's long password");
        String second = AuthIT.login(server, "logins-uma", "uma's long password");
        String vics = AuthIT.login(server, "logins-vic", "vic's long password");
        assertThat(AuthIT.send(server, "POST", "/api/v1/logout", null, first).statusCode()).isEqualTo(200);
        Tokens tokens = new Tokens(Tokens.keyIn(auth), Clock.systemUTC());
        Tokens.Claims firstClaims = tokens.check(first).orElseThrow(() -> new AssertionError("not a token"));
        Tokens.Claims secondClaims = tokens.check(second).orElseThrow(() -> new AssertionError("not a token"));

        HttpResponse<String> mine = get("/api/v1/logins", second);
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(200);
        JsonNode items = json(mine).get("items");
        List<String> seen = new ArrayList<>();
        items.forEach(i -> seen.add(i.get("outcome").asText() + " " + i.path("state").asText("-")));
        assertThat(seen).as(mine.body()).containsExactly("refused -", "issued revoked", "issued active");
        assertThat(items.get(1).get("tokenId").asText()).isEqualTo(firstClaims.id());
        assertThat(items.get(2).get("tokenId").asText()).isEqualTo(secondClaims.id());
        assertThat(items.get(2).get("expires").asText()).isEqualTo(java.time.Instant.ofEpochMilli(secondClaims.expiresMs()).toString());
        for (JsonNode i : items) {
            assertThat(i.get("user").asText()).isEqualTo("logins-uma");
            assertThat(i.get("method").asText()).isEqualTo("password");
            assertThat(i.get("address").asText()).isEqualTo("127.0.0.1");
        }
        assertThat(json(mine).get("truncated").asBoolean()).isFalse();

        HttpResponse<String> latest = get("/api/v1/logins?limit=1", second);
        assertThat(json(latest).get("items")).hasSize(1);
        assertThat(json(latest).at("/items/0/tokenId").asText()).isEqualTo(secondClaims.id());
        assertThat(json(latest).get("truncated").asBoolean()).isTrue();
        java.time.Instant since = java.time.Instant.parse(items.get(2).get("@timestamp").asText());
        JsonNode fromSince = json(get("/api/v1/logins?since=" + since, second)).get("items");
        assertThat(fromSince).isNotEmpty().allSatisfy(i -> assertThat(java.time.Instant.parse(i.get("@timestamp").asText())).isAfterOrEqualTo(since));
        assertThat(fromSince.get(fromSince.size() - 1).get("tokenId").asText()).isEqualTo(secondClaims.id());

        HttpResponse<String> others = get("/api/v1/logins?user=logins-uma", vics);
        assertThat(others.statusCode()).isEqualTo(403);
        assertThat(json(others).get("error").asText()).contains("your own logins only").contains("logins-vic");
        assertThat(json(get("/api/v1/logins", vics)).get("items")).as("vic sees his own, not uma's")
                .allSatisfy(i -> assertThat(i.get("user").asText()).isEqualTo("logins-vic")).hasSize(1);
        assertThat(get("/api/v1/logins", null).statusCode()).isEqualTo(401);
        HttpResponse<String> badLimit = get("/api/v1/logins?limit=0", second);
        assertThat(badLimit.statusCode()).isEqualTo(400);
        assertThat(json(badLimit).get("error").asText()).startsWith("limit:");
        HttpResponse<String> badSince = get("/api/v1/logins?since=yesterday", second);
        assertThat(badSince.statusCode()).isEqualTo(400);
        assertThat(json(badSince).get("error").asText()).startsWith("since:");

        // what the log holds: uma's records under her name, and neither her password nor any token
        List<ConsumerRecord<String, byte[]>> raw = TopicProbe.readAll(bootstrap, Topics.LOGINS.name(), new StringDeserializer(), new ByteArrayDeserializer());
        List<ConsumerRecord<String, byte[]>> hers = raw.stream().filter(r -> "logins-uma".equals(r.key())).toList();
        assertThat(hers).hasSize(3);
        assertThat(raw).noneMatch(r -> r.key().contains("long password"));
        for (ConsumerRecord<String, byte[]> r : raw) {
            String bytes = new String(r.value(), StandardCharsets.ISO_8859_1);
            assertThat(bytes).doesNotContain("uma's long password").doesNotContain("a guess of hers")
                    .doesNotContain(first.substring(first.lastIndexOf('.') + 1)).doesNotContain(second.substring(second.lastIndexOf('.') + 1));
        }
    }

    /** Records of refused logins under "?" (a name no user has) from this test's own address. */
    static long unknownUserRecordsFromHere() {
        return TopicProbe.readAll(bootstrap, Topics.LOGINS.name(), new StringDeserializer(), new ByteArrayDeserializer()).stream()
                .filter(r -> r.key().equals("?") && new String(r.value(), StandardCharsets.ISO_8859_1).contains("127.0.0.1")).count();
    }

    static HttpResponse<String> login(EmbeddedServer to, String user, String password, String forwardedFor) throws Exception {
        return CommandApiIT.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(to.getURL() + "/api/v1/login"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-Forwarded-For", forwardedFor)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    static String lastAddress(String token) throws Exception {
        JsonNode items = json(get("/api/v1/logins?limit=1", token)).get("items");
        return items.get(0).get("address").asText();
    }

    /**
     * The address a login is recorded and limited under: the socket's peer, whatever X-Forwarded-For a client writes;
     * behind the platform's own proxy (clops.http.trusted-proxies) the address that proxy saw, never one the client
     * wrote, and one client's failures lock out that client, not everyone behind the same proxy.
     */
    @Test
    void theAddressIsTheClientsOwnBehindATrustedProxyAndNeverOneTheClientWrote() throws Exception {
        Users.put(auth.resolve("users"), "logins-xena", "xena's long password");
        HttpResponse<String> spoofed = login(server, "logins-xena", "xena's long password", "198.51.100.66");
        assertThat(spoofed.statusCode()).as(spoofed.body()).isEqualTo(200);
        assertThat(lastAddress(json(spoofed).get("token").asText())).as("no trusted proxies: the header is the client's word").isEqualTo("127.0.0.1");

        EmbeddedServer proxied = ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.auth.dir", auth.toString(), "clops.auth.required", true,
                "clops.intake.enabled", false, "clops.http.trusted-proxies", "127.0.0.1/32, ::1"));
        try {
            // the client wrote 10.20.30.40; the proxy (this test, at 127.0.0.1) appended the address it saw
            HttpResponse<String> behind = login(proxied, "logins-xena", "xena's long password", "10.20.30.40, 198.51.100.7");
            assertThat(behind.statusCode()).as(behind.body()).isEqualTo(200);
            assertThat(lastAddress(json(behind).get("token").asText())).isEqualTo("198.51.100.7");

            for (int i = 0; i < 20; i++) { // the per-address limit, each under another name (the per-user one is 5)
                assertThat(login(proxied, "logins-nobody-" + i, "a wrong password", "198.51.100.66").statusCode()).isEqualTo(401);
            }
            HttpResponse<String> locked = login(proxied, "logins-xena", "xena's long password", "198.51.100.66");
            assertThat(locked.statusCode()).as(locked.body()).isEqualTo(429);
            assertThat(locked.headers().firstValue("Retry-After")).isPresent();
            HttpResponse<String> neighbour = login(proxied, "logins-xena", "xena's long password", "198.51.100.67");
            assertThat(neighbour.statusCode()).as("another client behind the same proxy: " + neighbour.body()).isEqualTo(200);
        } finally {
            proxied.getApplicationContext().close();
        }
        assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, Map.of("clops.kafka.bootstrap", bootstrap, "micronaut.server.port", -1,
                "micronaut.server.host", "127.0.0.1", "clops.auth.dir", auth.toString(), "clops.intake.enabled", false,
                "clops.http.trusted-proxies", "ingress.local")))
                .as("a bad setting stops the start").hasStackTraceContaining("clops.http.trusted-proxies: 'ingress.local' is not an IP address");
    }
}
