package io.clops.bench;

import io.clops.auth.Tokens;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.schemas.SchemaTopic;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

/**
 * What bench/executor-sync.sh needs to measure an executor with token checks on: a broker, the project "bench" with
 * one member on clops.projects, the platform's key and a member's token. Writes {@code bootstrap key token} (one
 * line) to the file given, then runs until killed.
 *   java … io.clops.bench.AuthFixture OUT_FILE
 */
public final class AuthFixture {
    public static void main(String[] args) {
        try {
            run(args);
        } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(1); // the broker's threads would keep a failed fixture alive
        }
    }

    static void run(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("clops-auth-bench");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0);
        String bootstrap = broker.bootstrapServers();
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        SchemaTopic.connect(bootstrap);
        Tokens tokens = new Tokens(Tokens.generate(), Clock.systemUTC());
        Project p = Project.newBuilder().setName("bench").setMembers(new java.util.HashMap<>(Map.of("bench-user", ProjectRole.viewer)))
                .setQuota(ProjectQuota.newBuilder().build()).setGeneration(1).setCreatedBy("bench").setCreatedMs(0).setCommandId("bench")
                .setActor("bench").setTimeMs(0).build();
        try (var members = new io.clops.runtime.ProjectMembers(bootstrap)) { // as the project's worker publishes it for its executors
            members.publish(p);
        }
        String token = tokens.issue("bench-user", Duration.ofHours(2), Tokens.Kind.session, null);
        String key = Base64.getEncoder().encodeToString(tokens.publicKey().getEncoded());
        Path out = Path.of(args[0]);
        Files.writeString(out.resolveSibling(out.getFileName() + ".tmp"), bootstrap + " " + key + " " + token + "\n");
        Files.move(out.resolveSibling(out.getFileName() + ".tmp"), out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close));
        Thread.currentThread().join();
    }
}
