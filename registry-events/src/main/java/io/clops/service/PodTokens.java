package io.clops.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which project's pod a Kubernetes service-account token belongs to, as kube-apiserver says (a TokenReview for the
 * audience {@value #AUDIENCE}): the namespace of {@code system:serviceaccount:<namespace>:<name>}, which is the
 * project's. The Kubernetes runtime gives each pod that serves a model file a projected token of that audience, and
 * its init step presents it to fetch the project's file from the store: no Secret to issue, nothing long-lived (the
 * kubelet rotates it), a token of one namespace's pods that reads that project's registered files and nothing else
 * ({@code ReadAccess}). Answers are kept {@value #KEEP_SECONDS} s per token (by its hash), so a burst of pods asks
 * kube-apiserver once per token.
 * <p>Anyone can send a bearer token, so kube-apiserver is asked only about tokens that could be a pod's of the
 * project asked for ({@link #plausible}: a JWT whose unverified claims name the audience, a service account of that
 * namespace and a time not past), and at most {@value #REVIEWS_PER_SECOND} times a second (a burst of
 * {@value #REVIEW_BURST}): a flood of made-up tokens is refused here, not forwarded.
 */
public final class PodTokens {
    public static final String AUDIENCE = "clops";
    static final long KEEP_SECONDS = 30;
    static final int REVIEWS_PER_SECOND = 20;
    static final int REVIEW_BURST = 50;
    private static final Pattern SERVICE_ACCOUNT = Pattern.compile("^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):[^:]+$");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI reviews;
    private final Path ownToken;
    private final HttpClient http;
    private final Clock clock;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private double allowance = REVIEW_BURST;
    private long allowanceAt;

    private record Answer(Optional<String> namespace, long until) {
    }

    /**
     * @param apiServer kube-apiserver's URL ({@code https://kubernetes.default.svc} in a cluster)
     * @param ownToken  the API's own service-account token, which authorises its TokenReviews (re-read on each call:
     *                  the kubelet rotates it)
     * @param caFile    the cluster's CA (PEM) to trust, or null for the JDK's trust store
     */
    public PodTokens(URI apiServer, Path ownToken, Path caFile, Clock clock) throws IOException {
        this.reviews = apiServer.resolve("/apis/authentication.k8s.io/v1/tokenreviews");
        this.ownToken = ownToken;
        this.clock = clock;
        this.allowanceAt = clock.millis();
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (caFile != null) {
            b.sslContext(trusting(caFile));
        }
        this.http = b.build();
    }

    /** In a pod: kube-apiserver from the environment, the service account's token and CA where the kubelet mounts them. */
    public static PodTokens inCluster(Map<String, String> env) throws IOException {
        String host = env.get("KUBERNETES_SERVICE_HOST");
        String port = env.getOrDefault("KUBERNETES_SERVICE_PORT", "443");
        if (host == null || host.isBlank()) {
            throw new IllegalStateException("clops.kubernetes.pod-tokens: not in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set); "
                    + "set clops.kubernetes.api-url");
        }
        Path sa = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");
        return new PodTokens(URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port), sa.resolve("token"),
                sa.resolve("ca.crt"), Clock.systemUTC());
    }

    /** Whether the pod's token presented for {@code namespace} is vouched for by kube-apiserver for {@value #AUDIENCE}. */
    public boolean vouchesFor(String token, String namespace) {
        return plausible(token, namespace, clock.instant().getEpochSecond()) && namespaceOf(token).map(namespace::equals).orElse(false);
    }

    /**
     * Whether {@code token} could be the service-account token of a pod of {@code namespace} for {@value #AUDIENCE}, by
     * its own unverified claims (a JWT: {@code aud} names it, {@code sub} is a service account of that namespace,
     * {@code exp} not past): what is worth asking kube-apiserver about. Nothing here is trusted; kube-apiserver decides.
     */
    static boolean plausible(String token, String namespace, long nowSeconds) {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3 || token.length() > 8192 || parts[1].isEmpty()) {
            return false;
        }
        try {
            JsonNode claims = JSON.readTree(java.util.Base64.getUrlDecoder().decode(parts[1]));
            Matcher m = SERVICE_ACCOUNT.matcher(claims.path("sub").asText(""));
            return namesUs(claims.path("aud")) && m.matches() && m.group(1).equals(namespace) && claims.path("exp").canConvertToLong()
                    && claims.path("exp").asLong() > nowSeconds;
        } catch (IllegalArgumentException | IOException e) {
            return false;
        }
    }

    /** Whether an audience claim (one string, or a list as JWTs and TokenReviews carry it) names {@value #AUDIENCE}. */
    private static boolean namesUs(JsonNode audiences) {
        if (audiences.isTextual()) {
            return AUDIENCE.equals(audiences.asText());
        }
        for (JsonNode a : audiences) { // not an array (missing, a number...): no elements
            if (AUDIENCE.equals(a.asText())) {
                return true;
            }
        }
        return false;
    }

    /** Takes one review from the budget ({@value #REVIEWS_PER_SECOND}/s, bursts of {@value #REVIEW_BURST}); false: none left. */
    private synchronized boolean mayReview() {
        long now = clock.millis();
        allowance = Math.min(REVIEW_BURST, allowance + (now - allowanceAt) * REVIEWS_PER_SECOND / 1000.0);
        allowanceAt = now;
        if (allowance < 1) {
            return false;
        }
        allowance -= 1;
        return true;
    }

    /** The namespace of the pod the token was issued to, when kube-apiserver vouches for it for {@value #AUDIENCE}. */
    Optional<String> namespaceOf(String token) {
        String key = hash(token);
        long now = clock.millis();
        Answer a = answers.get(key);
        if (a != null && a.until() > now) {
            return a.namespace();
        }
        if (!mayReview()) {
            return Optional.empty(); // over budget: refused now, not remembered
        }
        Optional<String> ns = review(token);
        if (ns == null) {
            return Optional.empty(); // kube-apiserver did not answer: refused now, asked again next time
        }
        if (answers.size() > 10_000) {
            answers.entrySet().removeIf(e -> e.getValue().until() <= now);
        }
        answers.put(key, new Answer(ns, now + KEEP_SECONDS * 1000));
        return ns;
    }

    /** kube-apiserver's answer; null when it gave none (unreachable, or an error of its own). */
    private Optional<String> review(String token) {
        try {
            ObjectNode body = JSON.createObjectNode().put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenReview");
            body.putObject("spec").put("token", token).putArray("audiences").add(AUDIENCE);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(reviews).timeout(Duration.ofSeconds(10))
                    .header("Authorization", "Bearer " + Files.readString(ownToken).strip())
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 201 && r.statusCode() != 200) {
                return null;
            }
            JsonNode status = JSON.readTree(r.body()).path("status");
            if (!status.path("authenticated").asBoolean(false)) {
                return Optional.empty();
            }
            Matcher m = SERVICE_ACCOUNT.matcher(status.path("user").path("username").asText(""));
            return namesUs(status.path("audiences")) && m.matches() ? Optional.of(m.group(1)) : Optional.empty();
        } catch (IOException e) {
            return null; // not vouched for now; the pod's init step is retried by the kubelet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static javax.net.ssl.SSLContext trusting(Path caFile) throws IOException {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca-" + i++, cert);
            }
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("the cluster's CA in " + caFile + ": " + e.getMessage(), e);
        }
    }
}
