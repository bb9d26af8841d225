package io.clops.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The build-time check: every top-level schema must read every released version (backward, transitively) and be
 * readable by its last released version except for new union branches (forward), and every change must be
 * recorded in schemas/history/.
 * To release a changed schema: {@code mvn -pl schemas test -Dclops.schemas.snapshot=true} writes vN+1.avsc.
 */
class SchemaCompatibilityTest {

    @TestFactory
    Stream<DynamicTest> everySchemaIsCompatibleWithItsLastReleasedVersion() {
        return SchemaCatalog.TOP_LEVEL.stream().map(current -> DynamicTest.dynamicTest(current.getName(), () -> {
            List<Schema> history = SchemaCatalog.historyOf(current.getFullName());
            if (Boolean.getBoolean("clops.schemas.snapshot")) {
                snapshotIfChanged(current, history);
                history = SchemaCatalog.historyOf(current.getFullName());
            }
            assertThat(history).as("schemas/history/%s/v1.avsc must exist", current.getFullName()).isNotEmpty();
            Schema previous = history.get(history.size() - 1);
            for (Schema older : history) {
                assertCompatible("new reader, old writer (backward)", current, older);
            }
            assertForwardCompatible(previous, current);
            assertThat(SchemaCatalog.fingerprint(current))
                    .as("%s changed since its last released version: record it with -Dclops.schemas.snapshot=true", current.getName())
                    .isEqualTo(SchemaCatalog.fingerprint(previous));
        }));
    }

    private static void assertCompatible(String what, Schema reader, Schema writer) {
        var result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        assertThat(result.getType())
                .as("%s: %s incompatible: %s", what, reader.getName(), result.getResult().getIncompatibilities())
                .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }

    /**
     * Old readers must read what new writers write, with one exception: a new branch of a union (a new kind of
     * command or event). An old reader cannot know it; upgrade readers (the topology) before writers (the gateway),
     * as docs/operations.md says. Any other forward incompatibility fails.
     */
    private static void assertForwardCompatible(Schema previous, Schema current) {
        var result = SchemaCompatibility.checkReaderWriterCompatibility(previous, current);
        var others = result.getResult().getIncompatibilities().stream()
                .filter(i -> i.getType() != SchemaCompatibility.SchemaIncompatibilityType.MISSING_UNION_BRANCH).toList();
        assertThat(others).as("old reader, new writer (forward): %s incompatible beyond new union branches", current.getName()).isEmpty();
    }

    private static void snapshotIfChanged(Schema current, List<Schema> history) throws Exception {
        if (!history.isEmpty() && SchemaCatalog.fingerprint(history.get(history.size() - 1)) == SchemaCatalog.fingerprint(current)) {
            return;
        }
        Path dir = Path.of("history", current.getFullName());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("v" + (history.size() + 1) + ".avsc"), current.toString(true) + "\n");
        // make the new file visible to this run's classpath lookups too
        Path target = Path.of("target/classes/clops-schema-history", current.getFullName());
        Files.createDirectories(target);
        Files.writeString(target.resolve("v" + (history.size() + 1) + ".avsc"), current.toString(true) + "\n");
    }
}
