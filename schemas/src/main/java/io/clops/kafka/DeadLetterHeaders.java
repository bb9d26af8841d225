package io.clops.kafka;

/** The headers a record carries on clops.deadletter: where it was read and why it could not be. */
public final class DeadLetterHeaders {
    private DeadLetterHeaders() {
    }

    public static final String TOPIC = "clops.dlq.topic";
    public static final String PARTITION = "clops.dlq.partition";
    public static final String OFFSET = "clops.dlq.offset";
    public static final String ERROR = "clops.dlq.error";
}
