package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/** Sends one inference request to a deployment: over HTTP to its executor, or over its Kafka request topic. */
public final class Predictor {
    public record Result(int status, JsonNode body, String requestId, long millis) {
    }

    private final ApiClient api;
    private final String project;

    public Predictor(ApiClient api, String project) {
        this.api = api;
        this.project = project;
    }

    private JsonNode deployment(String name) {
        ApiClient.Answer d = api.get("/api/v1/projects/" + project + "/deployments/" + name);
        ModelCommand.fail(d);
        return d.body();
    }

    public Result sync(String name, String model, String body) {
        JsonNode d = deployment(name);
        String endpoint = d.at("/status/endpoint").asText(null);
        if (endpoint == null || !io.clops.avro.DeploymentPhase.Ready.name().equals(d.at("/status/phase").asText())) {
            throw new CliException("deployment " + name + " is not Ready (" + d.at("/status/phase").asText() + ": "
                    + d.at("/status/reason").asText() + ")");
        }
        String m = model != null ? model : d.at("/routes/0/model").asText();
        long t0 = System.nanoTime();
        ApiClient.Answer a = api.send("POST", endpoint + "/v2/models/" + m + "/infer", parse(body), java.util.Map.of());
        return new Result(a.status(), a.body(), null, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Where the platform's Kafka enforces ACLs: the caller's own SASL credentials in the project, issued by the API
     * (each issuance sets a new password for this member's Kafka principal and is a command in the project's log).
     */
    static JsonNode issued(ApiClient api, String project) {
        ApiClient.Answer c = api.send("POST", "/api/v1/projects/" + project + "/kafka-credentials", null);
        ModelCommand.fail(c);
        if (!c.body().hasNonNull("password")) { // 202: the issuance is in the log, not decided yet; nothing was issued
            throw new CliException("no Kafka credentials yet for project " + project + " (the platform has not decided the request): try again");
        }
        return c.body();
    }

    public Result async(String name, String model, String body, Duration timeout) {
        JsonNode d = deployment(name);
        if ("sync".equals(d.at("/spec/mode").asText())) {
            throw new CliException("deployment " + name + " has mode sync: it does not consume a request topic");
        }
        parse(body);
        JsonNode info = api.get("/api/v1/info").body();
        String bootstrap = info.path("kafkaBootstrap").asText();
        if (!info.has("kafkaSecurity")) {
            return async(bootstrap, java.util.Map.of(), name, model, body, timeout);
        }
        // the credentials issued before, while Kafka takes them: one issuance (one command in the log) per caller, not per prediction
        KafkaCredentialsCache cache = KafkaCredentialsCache.beside(CliConfig.path());
        String key = KafkaCredentialsCache.key(api.server(), project, api.token());
        KafkaCredentialsCache.Credentials kept = cache.get(key);
        if (kept != null) {
            try {
                return async(bootstrap, io.clops.kafka.KafkaAccess.client(kept.username(), kept.password()), name, model, body, timeout);
            } catch (org.apache.kafka.common.errors.AuthenticationException refused) {
                cache.remove(key); // a newer issuance changed the password: ask for another
            }
        }
        JsonNode issued = issued(api, project);
        KafkaCredentialsCache.Credentials fresh = new KafkaCredentialsCache.Credentials(issued.path("username").asText(), issued.path("password").asText());
        cache.put(key, fresh);
        return async(bootstrap, io.clops.kafka.KafkaAccess.client(fresh.username(), fresh.password()), name, model, body, timeout);
    }

    private Result async(String bootstrap, java.util.Map<String, String> security, String name, String model, String body, Duration timeout) {
        String requests = Topics.inferRequests(project, name).name();
        String responses = Topics.inferResponses(project, name).name();
        String id = UUID.randomUUID().toString();
        var readerSettings = KafkaConfigs.reader(bootstrap, "clops-cli");
        readerSettings.putAll(security);
        var producerSettings = KafkaConfigs.producer(bootstrap, "clops-cli");
        producerSettings.putAll(security);
        try (var consumer = new KafkaConsumer<>(readerSettings, new StringDeserializer(), new ByteArrayDeserializer());
             var producer = new KafkaProducer<>(producerSettings, new StringSerializer(), new ByteArraySerializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(responses, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(responses, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position);
            var headers = new RecordHeaders();
            headers.add("clops-request-id", id.getBytes(StandardCharsets.UTF_8));
            if (api.token() != null) {
                headers.add("clops-token", api.token().getBytes(StandardCharsets.UTF_8)); // the executor checks it like Bearer
            }
            if (model != null) {
                headers.add("clops-model", model.getBytes(StandardCharsets.UTF_8));
            }
            headers.add("clops-deadline-ms", Long.toString(System.currentTimeMillis() + timeout.toMillis()).getBytes(StandardCharsets.UTF_8));
            long t0 = System.nanoTime();
            producer.send(new ProducerRecord<>(requests, null, id, body.getBytes(StandardCharsets.UTF_8), headers)).get();
            long deadline = t0 + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (id.equals(r.key())) {
                        var status = r.headers().lastHeader("clops-status");
                        int code = status == null ? 0 : Integer.parseInt(new String(status.value(), StandardCharsets.UTF_8));
                        return new Result(code, ApiClient.JSON.readTree(r.value()), id, (System.nanoTime() - t0) / 1_000_000);
                    }
                }
            }
            throw new CliException("no answer on " + responses + " within " + timeout.toSeconds() + " s (request id " + id + ")", CliException.TIMED_OUT);
        } catch (IOException | java.util.concurrent.ExecutionException e) {
            throw new CliException("async request failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    private static JsonNode parse(String body) {
        try {
            return ApiClient.JSON.readTree(body);
        } catch (IOException e) {
            throw new CliException("-d: not valid JSON: " + e.getMessage(), 2);
        }
    }

    /** The class labels of an OIP v2 answer from the iris example (output "label"). */
    public static List<String> labels(JsonNode answer) {
        for (JsonNode o : answer.path("outputs")) {
            if ("label".equals(o.path("name").asText())) {
                return ApiClient.JSON.convertValue(o.path("data"), ApiClient.JSON.getTypeFactory().constructCollectionType(List.class, String.class));
            }
        }
        return List.of();
    }
}
