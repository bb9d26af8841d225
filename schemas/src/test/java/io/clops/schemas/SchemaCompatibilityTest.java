package io.clops.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The build-time check: every top-level schema must read every released version (backward, transitively) and be
 * readable by its last released version except for new union branches (forward), and every change must be
 * recorded in schemas/history/.
 * To release a changed schema: {@code mvn -pl schemas test -Dclops.schemas.snapshot=true} writes vN+1.avsc.
 */
class SchemaCompatibilityTest {

    @TestFactory
    Stream<DynamicTest> everySchemaIsCompatibleWithItsLastReleasedVersion() {
        return SchemaCatalog.TOP_LEVEL.stream().map(current -> DynamicTest.dynamicTest(current.getName(), () ->
                gate(current, SchemaCatalog.historyOf(current.getFullName()), Boolean.getBoolean("clops.schemas.snapshot"),
                        Path.of("history", current.getFullName()), Path.of("target/classes/clops-schema-history", current.getFullName()))));
    }

    /**
     * The gate: the current schema against the released history as it was before this run. Releasing
     * ({@code snapshot}) records a new version only once it has passed, so the release command cannot pass a change
     * by comparing it with itself.
     */
    static void gate(Schema current, List<Schema> history, boolean snapshot, Path... historyDirs) throws Exception {
        if (history.isEmpty()) {
            assertThat(snapshot).as("schemas/history/%s/v1.avsc must exist: release it with -Dclops.schemas.snapshot=true",
                    current.getFullName()).isTrue();
        } else {
            for (Schema older : history) {
                assertCompatible("new reader, old writer (backward)", current, older);
            }
            assertForwardCompatible(history.get(history.size() - 1), current);
        }
        if (snapshot) {
            snapshotIfChanged(current, history, historyDirs);
        } else {
            assertThat(SchemaCatalog.fingerprint(current))
                    .as("%s changed since its last released version: record it with -Dclops.schemas.snapshot=true", current.getName())
                    .isEqualTo(SchemaCatalog.fingerprint(history.get(history.size() - 1)));
        }
    }

    @Test
    void releasingCannotPassAnIncompatibleChange(@TempDir Path dir) throws Exception {
        Schema v1 = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}");
        Schema v2 = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
                + "{\"name\":\"b\",\"type\":\"string\"}]}"); // a new field without a default: old records unreadable
        assertThatThrownBy(() -> gate(v2, List.of(v1), true, dir)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("READER_FIELD_MISSING_DEFAULT_VALUE");
        assertThat(dir.resolve("v2.avsc")).doesNotExist();
        gate(v1, List.of(v1), true, dir);
        assertThat(dir.resolve("v2.avsc")).as("unchanged: nothing to release").doesNotExist();
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

    /** Writes vN+1.avsc into each directory (the sources' history, and the build's so this run sees it). */
    private static void snapshotIfChanged(Schema current, List<Schema> history, Path... dirs) throws Exception {
        if (!history.isEmpty() && SchemaCatalog.fingerprint(history.get(history.size() - 1)) == SchemaCatalog.fingerprint(current)) {
            return;
        }
        for (Path dir : dirs) {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("v" + (history.size() + 1) + ".avsc"), current.toString(true) + "\n");
        }
    }
}
