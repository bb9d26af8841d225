package io.clops.k8s;

import io.clops.auth.Tokens;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.k8s.model.K8sNames;
import io.clops.k8s.model.PlatformSettings;
import io.clops.k8s.runtime.ExecutorPrincipals;
import io.clops.k8s.runtime.KubernetesRuntime;
import io.clops.kafka.KafkaAccess;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.TopicSpec;
import io.clops.kafka.Topics;
import io.clops.net.FreePorts;
import io.clops.runtime.ExecutorContract;
import io.clops.runtime.ObservationWriter;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * On Kubernetes (fabric8's mock API server in CRUD mode stands in for the cluster; Kafka is a real broker with SASL
 * and ACLs) the worker puts the project's own executor principal in the project's namespace, never the platform's
 * credentials: a real executor process started with the Secret's settings serves its project (members followed,
 * sync and async, its inference log written) and is refused everything else; the password holds across the
 * project's changes and dies with the project.
 */
@ExtendWith(KafkaExtension.class) // the status writer's broker (plain); the door under test is the secured one
@EnableKubernetesMockClient(crud = true, https = false)
class ExecutorPrincipalsIT {
    static KubernetesClient client;
    static EmbeddedKafkaBroker broker;
    static final Tokens ISSUER = new Tokens(Tokens.generate(), Clock.systemUTC());
    static final String BODY = "{\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";
    static com.sun.net.httpserver.HttpServer model;

    @BeforeAll
    static void start() throws Exception {
        broker = EmbeddedKafkaBroker.start(Files.createTempDirectory("clops-exec-principals"), 0,
                new EmbeddedKafkaBroker.Security("clops", EmbeddedKafkaBroker.Security.newPassword()));
        try (Admin admin = Admin.create(platform(KafkaConfigs.admin(broker.bootstrapServers())))) {
            List<TopicSpec> topics = new ArrayList<>(Topics.ALL);
            topics.add(Topics.inferRequests("rival", "iris").spec());
            topics.add(Topics.projectMembers("rival").spec());
            TopicAdmin.ensure(admin, topics);
        }
        try (var p = new KafkaProducer<>(platform(KafkaConfigs.producer(broker.bootstrapServers(), "it")), new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>(Topics.inferRequests("rival", "iris").name(), "k", "secret of rival")).get();
        }
        model = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 16);
        model.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                byte[] b = "{\"model_name\":\"iris\",\"outputs\":[]}".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        });
        model.start();
    }

    @AfterAll
    static void stop() {
        model.stop(0);
        broker.close();
    }

    static <M extends Map<String, Object>> M platform(M settings) {
        settings.putAll(broker.security().client());
        return settings;
    }

    static Project project(String name, long generation, Map<String, ProjectRole> members) {
        return Project.newBuilder().setName(name).setMembers(new HashMap<>(members)).setQuota(ProjectQuota.newBuilder().build())
                .setGeneration(generation).setCreatedBy("alice").setCreatedMs(1_700_000_000_000L).setCommandId("c-" + generation)
                .setActor("alice").setTimeMs(0).build();
    }

    /** The project's record where its worker publishes it for the project's executors (clops.members.<project>). */
    static void publish(Project p) throws Exception {
        var topic = Topics.projectMembers(p.getName());
        try (var admin = org.apache.kafka.clients.admin.Admin.create(platform(KafkaConfigs.admin(broker.bootstrapServers())))) {
            TopicAdmin.ensure(admin, List.of(topic.spec()));
        }
        try (var producer = new KafkaProducer<>(platform(KafkaConfigs.producer(broker.bootstrapServers(), "it-projects")),
                topic.keySerde().serializer(), topic.valueSerde().serializer())) {
            producer.send(new ProducerRecord<>(topic.name(), p.getName(), p)).get();
        }
    }

    /** The Secret's settings as an executor's environment sees them (CLOPS_KAFKA_CLIENT_*). */
    static Map<String, String> secretEnv(String project) {
        Secret s = client.secrets().inNamespace(K8sNames.namespace(project)).withName(K8sNames.KAFKA_CLIENT_SECRET).get();
        assertThat(s).as("the project's Kafka client Secret").isNotNull();
        Map<String, String> env = new HashMap<>();
        s.getData().forEach((k, v) -> env.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
        return env;
    }

    static Map<String, Object> as(Map<String, String> env, Map<String, Object> settings) {
        settings.putAll(KafkaConfigs.fromEnvironment(env, new java.util.Properties()));
        settings.put("default.api.timeout.ms", 15_000);
        settings.put("max.block.ms", 15_000);
        return settings;
    }

    @Test
    void theProjectsNamespaceHoldsItsOwnPrincipalWhichServesItsProjectAndNothingElse() throws Exception {
        String bootstrap = broker.bootstrapServers();
        Map<String, String> platformClient = broker.security().client();
        ExecutorPrincipals principals = ExecutorPrincipals.kafka(platform(KafkaConfigs.admin(bootstrap)), "a key of at least sixteen bytes".getBytes());
        Project acme = project("acme", 1, Map.of("ada", ProjectRole.viewer));
        publish(acme);
        // as an earlier version granted it (every project's members and quotas): a grant leaves exactly today's ACLs
        try (Admin admin = Admin.create(platform(KafkaConfigs.admin(bootstrap)))) {
            admin.createAcls(List.of(new org.apache.kafka.common.acl.AclBinding(new org.apache.kafka.common.resource.ResourcePattern(
                    org.apache.kafka.common.resource.ResourceType.TOPIC, Topics.PROJECTS.name(), org.apache.kafka.common.resource.PatternType.LITERAL),
                    new org.apache.kafka.common.acl.AccessControlEntry("User:" + KafkaAccess.executorPrincipal("acme"), "*",
                            org.apache.kafka.common.acl.AclOperation.READ, org.apache.kafka.common.acl.AclPermissionType.ALLOW)))).all().get();
        }
        try (ObservationWriter status = new ObservationWriter(KafkaExtension.bootstrapServers(), "principals-it");
             KubernetesRuntime runtime = new KubernetesRuntime(client, PlatformSettings.defaults("clops/executor:test", bootstrap)
                     .withKafkaClient(platformClient), status, Clock.systemUTC(), principals)) {
            runtime.applyProject(acme);
            Map<String, String> env = secretEnv("acme");
            KafkaAccess.Credentials own = KafkaAccess.fromJaas(env.get(KafkaConfigs.environmentName("sasl.jaas.config")));
            assertThat(own).as("a SCRAM login in the Secret").isNotNull();
            assertThat(own.username()).isEqualTo("clops-executor.acme");
            String platformPassword = KafkaAccess.fromJaas(platformClient.get("sasl.jaas.config")).password();
            assertThat(String.join("\n", env.values())).as("the platform's password is nowhere in the namespace").doesNotContain(platformPassword);

            // a real executor process, started with the Secret's settings as a pod would be
            int port = FreePorts.pick();
            ExecutorContract contract = ExecutorContract.builder("iris", "http://127.0.0.1:" + model.getAddress().getPort()).port(port)
                    .host("127.0.0.1").deployment("acme", "iris").mode("both").bootstrap(bootstrap).logRequests(true)
                    .auth(new ExecutorContract.Auth(Base64.getEncoder().encodeToString(ISSUER.publicKey().getEncoded()), "members")).build();
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                    "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", System.getProperty("java.class.path"), "io.clops.executor.ExecutorMain")
                    .redirectErrorStream(true).redirectOutput(Files.createTempFile("executor", ".log").toFile());
            pb.environment().keySet().removeIf(k -> k.startsWith("CLOPS_"));
            pb.environment().putAll(contract.toEnv());
            pb.environment().putAll(env);
            Process executor = pb.start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                String ada = ISSUER.issue("ada", Duration.ofHours(1), Tokens.Kind.session, null);
                HttpRequest infer = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/models/iris/infer"))
                        .header("Authorization", "Bearer " + ada).POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
                Await.until("the executor, on its own principal, has read the members and answers a member", Duration.ofSeconds(60), () -> {
                    try {
                        return http.send(infer, HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                    } catch (Exception notYet) {
                        assertThat(executor.isAlive()).as("the executor process is running").isTrue();
                        return false;
                    }
                });
                String eve = ISSUER.issue("eve", Duration.ofHours(1), Tokens.Kind.session, null);
                assertThat(http.send(HttpRequest.newBuilder(infer.uri()).header("Authorization", "Bearer " + eve)
                        .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);

                // async over its own topics and consumer group
                try (var p = new KafkaProducer<>(platform(KafkaConfigs.producer(bootstrap, "it-async")), new StringSerializer(), new ByteArraySerializer())) {
                    ProducerRecord<String, byte[]> r = new ProducerRecord<>(Topics.inferRequests("acme", "iris").name(), "req-1", BODY.getBytes(StandardCharsets.UTF_8));
                    r.headers().add("clops-request-id", "req-1".getBytes(StandardCharsets.UTF_8));
                    r.headers().add("clops-token", ada.getBytes(StandardCharsets.UTF_8));
                    p.send(r).get();
                }
                ConsumerRecord<String, byte[]> answer = first(platform(KafkaConfigs.reader(bootstrap, "it-answers")),
                        Topics.inferResponses("acme", "iris").name(), r -> r.key().equals("req-1"));
                assertThat(new String(answer.headers().lastHeader("clops-status").value(), StandardCharsets.UTF_8)).isEqualTo("200");
                ConsumerRecord<String, byte[]> logged = first(platform(KafkaConfigs.reader(bootstrap, "it-log")), Topics.inferenceLog("acme").name(),
                        r -> new String(r.value(), StandardCharsets.UTF_8).contains("\"status\":200"));
                assertThat(logged.key()).isEqualTo("acme/iris");
            } finally {
                executor.destroy();
                executor.waitFor(10, TimeUnit.SECONDS);
            }

            // the same credentials, as a hostile admin of acme who read the Secret would use them
            assertThatThrownBy(() -> firstValue(as(env, KafkaConfigs.reader(bootstrap, "thief")), Topics.inferRequests("rival", "iris").name()))
                    .as("another project's requests").isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> firstValue(as(env, KafkaConfigs.reader(bootstrap, "thief")), Topics.COMMANDS.name()))
                    .as("the log").isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> firstValue(as(env, KafkaConfigs.reader(bootstrap, "thief")), Topics.inferenceLog("acme").name()))
                    .as("its own inference log (executors write it; members read it with their own credentials)")
                    .isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> firstValue(as(env, KafkaConfigs.reader(bootstrap, "thief")), Topics.PROJECTS.name()))
                    .as("every project's members and quotas").isInstanceOf(TopicAuthorizationException.class);
            assertThatThrownBy(() -> firstValue(as(env, KafkaConfigs.reader(bootstrap, "thief")), Topics.projectMembers("rival").name()))
                    .as("another project's members").isInstanceOf(TopicAuthorizationException.class);
            for (String t : List.of(Topics.COMMANDS.name(), Topics.REGISTRY.name(), Topics.INTAKE.name(), Topics.PROJECTS.name(),
                    Topics.projectMembers("acme").name(), Topics.REVOCATIONS.name(), Topics.SCHEMAS.name())) {
                assertThatThrownBy(() -> write(as(env, KafkaConfigs.producer(bootstrap, "thief")), t)).as("writing " + t)
                        .isInstanceOf(TopicAuthorizationException.class);
            }

            // a change of the project keeps the password (running executors keep working) ...
            Project changed = project("acme", 2, Map.of("ada", ProjectRole.viewer, "bob", ProjectRole.modeler));
            runtime.applyProject(changed);
            assertThat(secretEnv("acme")).isEqualTo(env);
            // ... and deleting it ends the principal
            runtime.deleteProject("acme");
            assertThat(client.secrets().inNamespace(K8sNames.namespace("acme")).withName(K8sNames.KAFKA_CLIENT_SECRET).get()).isNull();
            assertThatThrownBy(() -> write(as(env, KafkaConfigs.producer(bootstrap, "gone")), Topics.inferRequests("acme", "iris").name()))
                    .isInstanceOf(SaslAuthenticationException.class);
        }
    }

    static ConsumerRecord<String, byte[]> first(Map<String, Object> settings, String topic,
                                                java.util.function.Predicate<ConsumerRecord<String, byte[]>> wanted) {
        try (var c = new KafkaConsumer<>(settings, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    if (wanted.test(r)) {
                        return r;
                    }
                }
            }
            throw new AssertionError("nothing wanted on " + topic + " within 30 s");
        }
    }

    static void firstValue(Map<String, Object> settings, String topic) {
        first(settings, topic, r -> true);
    }

    static void write(Map<String, Object> settings, String topic) throws Exception {
        try (var p = new KafkaProducer<>(settings, new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>(topic, "k", "forged")).get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }
}
