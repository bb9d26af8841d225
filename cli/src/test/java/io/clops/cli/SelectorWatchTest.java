package io.clops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SelectorWatchTest {
    static JsonNode listing() throws Exception {
        return ApiClient.JSON.readTree("""
                {"items":[
                 {"project":"a","name":"iris","spec":{"model":"iris@champion","mode":"both"},"routes":[{"model":"iris","version":2}],
                  "generation":2,"status":{"phase":"Ready"}},
                 {"project":"a","name":"split","spec":{"model":"iris:1","mode":"sync"},"routes":[{"model":"iris","version":1},
                  {"model":"resnet","version":3}],"generation":1,"status":{"phase":"Pending"}},
                 {"project":"b","name":"bert","spec":{"model":"bert","mode":"async"},"routes":[{"model":"bert","version":1}],
                  "generation":5,"status":{"phase":"Failed"}}]}""");
    }

    static List<String> names(JsonNode l) {
        return l.get("items").findValuesAsText("name");
    }

    @Test
    void everyTermMustHold() throws Exception {
        assertThat(names(Selector.parse(List.of("model=iris")).filter(listing()))).containsExactly("iris", "split");
        assertThat(names(Selector.parse(List.of("model=resnet")).filter(listing()))).as("any route's model").containsExactly("split");
        assertThat(names(Selector.parse(List.of("model=iris", "phase!=Ready")).filter(listing()))).containsExactly("split");
        assertThat(names(Selector.parse(List.of("project=b", "mode=async")).filter(listing()))).containsExactly("bert");
        assertThat(names(Selector.parse(List.of()).filter(listing()))).hasSize(3);
    }

    @Test
    void anUnknownKeyOrAMissingValueIsAUsageError() {
        for (String bad : List.of("owner=bob", "iris", "=x")) {
            assertThatThrownBy(() -> Selector.parse(List.of(bad))).isInstanceOf(CliException.class)
                    .hasMessageContaining("expected KEY=VALUE").extracting(e -> ((CliException) e).exitCode()).isEqualTo(CliException.USAGE);
        }
    }

    @Test
    void aWatchPrintsWhatChangedAndWhatWent() throws Exception {
        Map<String, String> before = Watch.rows(listing(), Output.Format.table);
        assertThat(before).containsOnlyKeys("a/iris", "a/split", "b/bert");
        JsonNode later = ApiClient.JSON.readTree(listing().toString().replace("\"Pending\"", "\"Ready\""));
        ((com.fasterxml.jackson.databind.node.ArrayNode) later.get("items")).remove(2);
        List<String> lines = Watch.changes(before, Watch.rows(later, Output.Format.table));
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith("a   split").contains("Ready");
        assertThat(lines.get(1)).isEqualTo("b/bert DELETED");
        assertThat(Watch.changes(before, before)).as("nothing changed: nothing printed").isEmpty();
    }
}
