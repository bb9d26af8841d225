package io.clops.reconciler;

import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

import java.nio.charset.StandardCharsets;

/**
 * Decodes a value; a record that cannot be decoded (a poison record) is passed on with dead-letter headers naming
 * its source topic, partition, offset and the error, so the topology can route it to clops.deadletter and go on.
 */
final class DecodeOrDeadLetter<T> implements FixedKeyProcessor<String, byte[], Decoded<T>> {
    static final String H_TOPIC = io.clops.kafka.DeadLetterHeaders.TOPIC;
    static final String H_PARTITION = io.clops.kafka.DeadLetterHeaders.PARTITION;
    static final String H_OFFSET = io.clops.kafka.DeadLetterHeaders.OFFSET;
    static final String H_ERROR = io.clops.kafka.DeadLetterHeaders.ERROR;

    private final Deserializer<T> deserializer;
    private FixedKeyProcessorContext<String, Decoded<T>> context;

    DecodeOrDeadLetter(Deserializer<T> deserializer) {
        this.deserializer = deserializer;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, Decoded<T>> context) {
        this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> record) {
        String topic = context.recordMetadata().map(m -> m.topic()).orElse("?");
        try {
            T value = deserializer.deserialize(topic, record.value());
            if (value == null) {
                throw new IllegalArgumentException("null value (tombstone) is not a valid event");
            }
            context.forward(record.withValue(new Decoded<>(value, record.value(), null))); // the bytes: their digest goes in the audit trail
        } catch (RuntimeException e) {
            var meta = context.recordMetadata();
            var headers = record.headers();
            headers.add(H_TOPIC, bytes(topic));
            headers.add(H_PARTITION, bytes(meta.map(m -> Integer.toString(m.partition())).orElse("-1")));
            headers.add(H_OFFSET, bytes(meta.map(m -> Long.toString(m.offset())).orElse("-1")));
            headers.add(H_ERROR, bytes(String.valueOf(e.getMessage())));
            context.forward(record.withValue(new Decoded<T>(null, record.value(), String.valueOf(e.getMessage()))).withHeaders(headers));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
