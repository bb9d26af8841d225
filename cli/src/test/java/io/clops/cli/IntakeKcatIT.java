package io.clops.cli;

import io.clops.platform.Platform;
import com.fasterxml.jackson.databind.JsonNode;
import io.clops.avro.CommandResult;
import io.clops.avro.FieldProblem;
import io.clops.gateway.Intake;
import io.clops.kafka.DeadLetterHeaders;
import io.clops.kafka.Topics;
import io.clops.testing.Await;
import io.clops.testing.TopicProbe;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A pipeline that is not Java: kcat (librdkafka, its own default partitioner) writes JSON requests onto clops.intake of
 * a running platform, and the deployment becomes Ready; a malformed request is refused naming its fields with nothing
 * on clops.commands; garbage bytes are dead-lettered and the next request is still served. Skipped, saying so, where
 * kcat is not installed (.ci/run installs it).
 */
class IntakeKcatIT {
    @TempDir
    Path home;
    Platform platform;

    @BeforeEach
    void start() {
        Assumptions.assumeTrue(kcatInstalled(), "kcat is not installed: IntakeKcatIT skipped (apt-get install kcat; .ci/run does)");
        platform = Platform.start(new Platform.Options(home, 0, 0, null), line -> { });
    }

    @AfterEach
    void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    static boolean kcatInstalled() {
        try {
            Process p = new ProcessBuilder("kcat", "-V").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** kcat -P: one record, its value from a file (so any bytes pass), headers as given; librdkafka's partitioner. */
    void kcat(byte[] value, String... headers) throws Exception {
        Path f = Files.createTempFile(home, "record", ".bin");
        Files.write(f, value);
        List<String> cmd = new ArrayList<>(List.of("kcat", "-P", "-b", platform.bootstrap(), "-t", Topics.INTAKE.name(), "-c", "1"));
        for (String h : headers) {
            cmd.add("-H");
            cmd.add(h);
        }
        cmd.add(f.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("kcat: " + out).isZero();
    }

    void kcat(String json, String requestId) throws Exception {
        kcat(json.getBytes(StandardCharsets.UTF_8), Intake.REQUEST_ID + "=" + requestId);
    }

    CommandResult awaitVerdict(String requestId) {
        CommandResult[] found = new CommandResult[1];
        Await.until("a verdict on clops.command-results keyed " + requestId, () -> {
            found[0] = TopicProbe.readAll(platform.bootstrap(), Topics.COMMAND_RESULTS.name(),
                            Topics.COMMAND_RESULTS.keySerde().deserializer(), Topics.COMMAND_RESULTS.valueSerde().deserializer())
                    .stream().filter(r -> requestId.equals(r.key())).map(ConsumerRecord::value).findFirst().orElse(null);
            return found[0] != null;
        });
        return found[0];
    }

    JsonNode clops(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 4];
        all[0] = "--server=" + platform.apiUrl();
        all[1] = "--project=pipes";
        System.arraycopy(args, 0, all, 2, args.length);
        all[all.length - 2] = "-o";
        all[all.length - 1] = "json";
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        assertThat(code).as(err.toString()).isZero();
        return ApiClient.JSON.readTree(out.toString());
    }

    @Test
    void kcatDeploysThroughTheIntakeAndMalformedOrGarbageRecordsNeverReachTheLog() throws Exception {
        clops("project", "create", "pipes");
        clops("model", "register", "iris", "--example", "iris", "--alias", "champion");

        kcat("""
                {"action":"deploy","project":"pipes","deployment":{"metadata":{"name":"iris"},"spec":{"model":"iris@champion","mode":"sync"}}}""",
                "pipeline-run-1");
        CommandResult accepted = awaitVerdict("pipeline-run-1");
        assertThat(accepted.getAccepted()).as(String.valueOf(accepted.getReason())).isTrue();
        Await.until("the deployment is Ready", () -> {
            try {
                return clops("get", "deployment", "iris").at("/status/phase").asText().equals("Ready");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });

        long commandsBefore = TopicProbe.endOffsetSum(platform.bootstrap(), Topics.COMMANDS.name());
        kcat("""
                {"action":"deploy","project":"pipes","deployment":{"metadata":{"name":"iris"},"spec":{"model":"iris@champion","replicas":{"min":2,"max":1},"mood":"happy"}}}""",
                "pipeline-run-2");
        CommandResult refused = awaitVerdict("pipeline-run-2");
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getErrors()).extracting(FieldProblem::getField)
                .containsExactlyInAnyOrder("deployment.spec.replicas.max", "deployment.spec.mood");
        assertThat(TopicProbe.endOffsetSum(platform.bootstrap(), Topics.COMMANDS.name())).isEqualTo(commandsBefore);

        byte[] garbage = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef, 0x00, 0x01};
        kcat(garbage, Intake.REQUEST_ID + "=pipeline-run-3");
        kcat("{\"action\":\"undeploy\",\"project\":\"pipes\",\"name\":\"iris\"}", "pipeline-run-4");
        assertThat(awaitVerdict("pipeline-run-4").getAccepted()).isTrue();
        List<ConsumerRecord<byte[], byte[]>> dead = TopicProbe.readAll(platform.bootstrap(), Topics.DEADLETTER.name(),
                        Topics.DEADLETTER.keySerde().deserializer(), Topics.DEADLETTER.valueSerde().deserializer()).stream()
                .filter(r -> Arrays.equals(r.value(), garbage)).toList();
        assertThat(dead).singleElement().satisfies(r -> assertThat(new String(r.headers().lastHeader(DeadLetterHeaders.TOPIC).value(),
                StandardCharsets.UTF_8)).isEqualTo(Topics.INTAKE.name()));
        Await.until("undeployed", () -> {
            try {
                return clops("get", "deployments").get("items").isEmpty();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
