package io.clops.schemas;

import io.clops.avro.CommandResult;
import io.clops.avro.DeploymentStatus;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AvroSerdeTest {

    @Test
    void roundTripsWithSingleObjectEncoding() {
        AvroSerde<CommandResult> serde = AvroSerde.of(CommandResult.class);
        CommandResult r = CommandResult.newBuilder().setCommandId("c1").setProject("demo").setDeployment("iris")
                .setAccepted(false).setReason("quota exceeded").setGeneration(3).setTimeMs(42).build();
        byte[] bytes = serde.serialize("t", r);
        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        assertThat(AvroSerde.isSingleObject(bytes)).isTrue();
        assertThat(serde.deserialize("t", bytes)).isEqualTo(r);
        assertThat(serde.serialize("t", null)).isNull();
        assertThat(serde.deserialize("t", null)).isNull();
    }

    @Test
    void readsAnOlderWriterLearnedFromTheRemoteCatalogWithDefaults() throws Exception {
        // An "older" DeploymentStatus without endpoint/runtime/readyReplicas/reason, unknown to the jar's history.
        Schema old = SchemaBuilder.record("DeploymentStatus").namespace("io.clops.avro").fields()
                .requiredString("project").requiredString("name").requiredString("phase")
                .requiredLong("observedGeneration").requiredLong("timeMs").endRecord();
        GenericRecord rec = new GenericData.Record(old);
        rec.put("project", "demo");
        rec.put("name", "iris");
        rec.put("phase", "Ready");
        rec.put("observedGeneration", 7L);
        rec.put("timeMs", 1L);
        ByteBuffer buf = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), old).encode(rec);
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);

        SchemaCatalog catalog = new SchemaCatalog();
        AvroSerde<DeploymentStatus> serde = new AvroSerde<>(DeploymentStatus.class, catalog);
        assertThatThrownBy(() -> serde.deserialize("clops.status", bytes)).isInstanceOf(SerializationException.class);

        catalog.setRemote(() -> List.of(old));
        DeploymentStatus status = serde.deserialize("clops.status", bytes);
        assertThat(status.getPhase()).isEqualTo("Ready");
        assertThat(status.getObservedGeneration()).isEqualTo(7L);
        assertThat(status.getRuntime()).isEqualTo("local");
        assertThat(status.getEndpoint()).isNull();
    }

    @Test
    void garbageIsASerializationErrorNotACrash() {
        AvroSerde<CommandResult> serde = AvroSerde.of(CommandResult.class);
        assertThatThrownBy(() -> serde.deserialize("t", "{\"not\":\"avro\"}".getBytes()))
                .isInstanceOf(SerializationException.class).hasMessageContaining("CommandResult");
    }
}
