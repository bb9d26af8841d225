package io.clops.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaFieldAccess;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.clops.kafka.Topics;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One way in: only the command gateway writes clops.commands and clops.registry. Checked three ways, each able to
 * fail (the rules are shown a rogue writer below):
 * <ul>
 *   <li>no class outside {@code io.clops.gateway} that names either topic may use a Kafka producer;</li>
 *   <li>inside the gateway only {@code LogWriter} holds a producer;</li>
 *   <li>no source file but the topic catalog spells either topic's name (a literal would slip past the first rule).</li>
 * </ul>
 * The topology reads both topics; that its sinks never write them is {@code ClopsTopologyTest}'s to check.
 */
class OneWayInTest {
    static final JavaClasses PLATFORM = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.clops");

    static final DescribedPredicate<JavaFieldAccess> THE_LOG = DescribedPredicate.describe("clops.commands or clops.registry",
            a -> a.getTargetOwner().isEquivalentTo(Topics.class)
                    && (a.getTarget().getName().equals("COMMANDS") || a.getTarget().getName().equals("REGISTRY")));

    static final ArchCondition<JavaClass> NOT_PRODUCE_TO_THE_LOG = new ArchCondition<>("not name the log's topics while using a Kafka producer") {
        @Override
        public void check(JavaClass c, ConditionEvents events) {
            List<JavaFieldAccess> names = c.getFieldAccessesFromSelf().stream().filter(THE_LOG).toList();
            boolean produces = c.getDirectDependenciesFromSelf().stream()
                    .anyMatch(d -> d.getTargetClass().getPackageName().startsWith("org.apache.kafka.clients.producer"));
            if (!names.isEmpty() && produces) {
                events.add(SimpleConditionEvent.violated(c, c.getName() + " uses a Kafka producer and names "
                        + names.stream().map(JavaAccess::getDescription).toList()));
            }
        }
    };

    static final ArchRule ONLY_THE_GATEWAY = classes().that().resideOutsideOfPackage("io.clops.gateway")
            .should(NOT_PRODUCE_TO_THE_LOG).because("the command gateway is the only writer of the log (docs/architecture.md)");

    static final ArchRule ONE_WRITER_IN_THE_GATEWAY = noClasses().that().resideInAPackage("io.clops.gateway")
            .and().doNotHaveSimpleName("LogWriter")
            .should().dependOnClassesThat().resideInAPackage("org.apache.kafka.clients.producer..")
            .because("LogWriter is the gateway's one producer");

    @Test
    void onlyTheGatewayProducesToTheLog() {
        assertThat(PLATFORM.contain("io.clops.gateway.LogWriter")).as("the import sees the platform").isTrue();
        assertThat(PLATFORM.contain("io.clops.k8s.crd.CrdBridge")).isTrue();
        ONLY_THE_GATEWAY.check(PLATFORM);
        ONE_WRITER_IN_THE_GATEWAY.check(PLATFORM);
    }

    @Test
    void theRuleCatchesARogueWriter() {
        JavaClasses rogue = new ClassFileImporter().importClasses(RogueWriter.class);
        assertThat(ONLY_THE_GATEWAY.evaluate(rogue).hasViolation()).isTrue();
    }

    @Test
    void noSourceButTheCatalogSpellsTheLogsTopicNames() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        try (Stream<Path> files = Files.walk(root)) {
            List<Path> spelled = files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/"))
                    .filter(p -> !p.endsWith(Path.of("schemas/src/main/java/io/clops/kafka/Topics.java")))
                    .filter(p -> {
                        try {
                            String text = Files.readString(p);
                            return text.contains("\"clops.commands\"") || text.contains("\"clops.registry\"");
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    }).toList();
            assertThat(spelled).isEmpty();
        }
    }

    /** What the rules exist to stop: a class that writes a command behind the gateway's back. */
    static final class RogueWriter {
        void write(org.apache.kafka.clients.producer.Producer<String, byte[]> producer, byte[] command) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.COMMANDS.name(), "demo", command));
        }
    }
}
