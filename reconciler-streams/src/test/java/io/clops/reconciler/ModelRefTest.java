package io.clops.reconciler;

import io.clops.avro.ModelState;
import io.clops.avro.VersionEntry;
import io.clops.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ModelRefTest {

    static ModelState iris(boolean... archived) {
        List<VersionEntry> versions = new ArrayList<>();
        for (int i = 0; i < archived.length; i++) {
            versions.add(VersionEntry.newBuilder().setVersion(Fixtures.version("iris", i + 1, List.of("serve")))
                    .setRegisteredBy("bob").setTimeMs(1).setEventId("r" + i).setArchived(archived[i]).build());
        }
        return ModelState.newBuilder().setProject("p").setName("iris").setVersions(versions)
                .setAliases(Map.of("champion", 1, "gone", 3)).setLatest(archived.length).build();
    }

    static Object resolve(String ref, ModelState m) {
        ModelRef.Resolution r = ModelRef.parse(ref).resolve("p", m);
        return r instanceof ModelRef.Found f ? f.version().getVersion() : ((ModelRef.Missing) r).reason();
    }

    @Test
    void parsesTheThreeForms() {
        assertThat(ModelRef.parse("iris")).isEqualTo(new ModelRef("iris", null, null));
        assertThat(ModelRef.parse("iris@champion")).isEqualTo(new ModelRef("iris", "champion", null));
        assertThat(ModelRef.parse("iris:12")).isEqualTo(new ModelRef("iris", null, 12));
    }

    @Test
    void resolvesOrSaysWhyNot() {
        ModelState m = iris(false, false, true);
        assertThat(resolve("iris", m)).as("newest not archived").isEqualTo(2);
        assertThat(resolve("iris@champion", m)).isEqualTo(1);
        assertThat(resolve("iris:2", m)).isEqualTo(2);
        assertThat(resolve("iris:3", m)).isEqualTo("version 3 of model 'iris' is archived");
        assertThat(resolve("iris@gone", m)).isEqualTo("version 3 of model 'iris' is archived");
        assertThat(resolve("iris:9", m)).isEqualTo("model 'iris' has no version 9");
        assertThat(resolve("iris@canary", m)).isEqualTo("model 'iris' has no alias 'canary'");
        assertThat(resolve("iris", null)).isEqualTo("model 'iris' is not registered in project 'p'");
        assertThat(resolve("iris", iris(true, true))).isEqualTo("every version of model 'iris' is archived");
    }
}
