package io.clops.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.auth.Users;
import io.clops.testing.KafkaExtension;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The webhooks kube-apiserver calls, over HTTPS as it requires: the API with a certificate (a PKCS12 key store made
 * by the JDK's keytool for 127.0.0.1, trusted by this test's client as kube-apiserver trusts the CA in its webhook
 * config) answers a TokenReview and stamps a ModelDeployment's actor; plain HTTP on that port gets nowhere.
 */
@ExtendWith(KafkaExtension.class)
class WebhooksOverTlsIT {
    static EmbeddedServer server;
    static HttpClient trusting;
    static Path auth;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("clops-tls");
        Path store = dir.resolve("api.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "clops-api", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=clops-api", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String said = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor()).as(said).isZero();
        auth = Files.createTempDirectory("clops-auth");
        Users.put(auth.resolve("users"), "gwen", "gwen's long password");
        server = ApplicationContext.run(EmbeddedServer.class, Map.ofEntries(Map.entry("clops.kafka.bootstrap", KafkaExtension.bootstrapServers()),
                Map.entry("micronaut.server.host", "127.0.0.1"), Map.entry("clops.auth.dir", auth.toString()), Map.entry("clops.intake.enabled", false),
                Map.entry("micronaut.server.ssl.enabled", true), Map.entry("micronaut.server.ssl.port", -1),
                Map.entry("micronaut.server.ssl.key-store.path", "file:" + store), Map.entry("micronaut.server.ssl.key-store.password", "changeit"),
                Map.entry("micronaut.server.ssl.key-store.type", "PKCS12")));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, "changeit".toCharArray());
            trust.load(null, null);
            trust.setCertificateEntry("clops-api", ks.getCertificate("clops-api"));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        trusting = HttpClient.newBuilder().sslContext(ssl).build();
    }

    @AfterAll
    static void stop() {
        server.getApplicationContext().close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return trusting.send(HttpRequest.newBuilder(URI.create(server.getURL() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void kubeApiserverGetsTheTokenReviewAndTheActorStampOverHttps() throws Exception {
        assertThat(server.getURL().getProtocol()).isEqualTo("https");
        HttpResponse<String> login = post("/api/v1/login", "{\"user\":\"gwen\",\"password\":\"gwen's long password\"}");
        assertThat(login.statusCode()).as(login.body()).isEqualTo(200);
        String token = CommandApiIT.json(login).get("token").asText();

        HttpResponse<String> review = post("/api/v1/tokenreviews", """
                {"apiVersion":"authentication.k8s.io/v1beta1","kind":"TokenReview","spec":{"token":"%s"}}""".formatted(token));
        assertThat(review.statusCode()).isEqualTo(200);
        JsonNode r = CommandApiIT.json(review);
        assertThat(r.get("apiVersion").asText()).isEqualTo("authentication.k8s.io/v1beta1");
        assertThat(r.at("/status/authenticated").asBoolean()).isTrue();
        assertThat(r.at("/status/user/username").asText()).isEqualTo("gwen");

        HttpResponse<String> stamped = post("/api/v1/admission/actor", """
                {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"CREATE",
                 "userInfo":{"username":"gwen","groups":["clops:authenticated"]},
                 "object":{"apiVersion":"clops.io/v1","kind":"ModelDeployment","metadata":{"name":"iris","annotations":{"clops.io/actor":"root"}},
                           "spec":{"model":"iris@champion"}}}}""");
        assertThat(stamped.statusCode()).as(stamped.body()).isEqualTo(200);
        JsonNode a = CommandApiIT.json(stamped);
        assertThat(a.at("/response/uid").asText()).isEqualTo("u-1");
        assertThat(a.at("/response/allowed").asBoolean()).isTrue();
        assertThat(new String(Base64.getDecoder().decode(a.at("/response/patch").asText())))
                .isEqualTo("[{\"op\":\"add\",\"path\":\"/metadata/annotations/clops.io~1actor\",\"value\":\"gwen\"}]");
        HttpResponse<String> bad = post("/api/v1/admission/actor", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(CommandApiIT.json(bad).get("fields").findValuesAsText("field")).isEqualTo(List.of("request.uid"));
    }

    @Test
    void plainHttpOnTheTlsPortGetsNoAnswer() {
        URI plain = URI.create("http://127.0.0.1:" + server.getPort() + "/api/v1/tokenreviews");
        assertThatThrownBy(() -> {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(plain).timeout(java.time.Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            throw new AssertionError("plain HTTP was answered " + r.statusCode());
        }).isNotInstanceOf(AssertionError.class);
    }
}
