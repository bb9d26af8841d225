package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * Follows every partition of a topic from where it ends at construction, handing each new record to a handler on a
 * background thread. The start position is fixed before the constructor returns, so a caller that registers
 * interest and then produces can never miss the answer. Used to wait for verdicts and async answers.
 */
public final class TopicTail implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;

    public TopicTail(String bootstrap, String topic, String clientId, Consumer<ConsumerRecord<String, byte[]>> handler) {
        this(bootstrap, topic, clientId, false, handler);
    }

    /** With {@code fromStart}, every record the topic still keeps first, then each new one. */
    public TopicTail(String bootstrap, String topic, String clientId, boolean fromStart, Consumer<ConsumerRecord<String, byte[]>> handler) {
        this.consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, clientId), new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(parts);
        if (fromStart) {
            consumer.seekToBeginning(parts);
        } else {
            consumer.seekToEnd(parts);
        }
        parts.forEach(consumer::position); // fix the start position now
        this.thread = new Thread(() -> {
            try {
                while (running) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                        try {
                            handler.accept(r);
                        } catch (RuntimeException e) {
                            LOG.warn("handling {}-{}@{} failed: {}", r.topic(), r.partition(), r.offset(), e.toString());
                        }
                    }
                }
            } catch (WakeupException e) {
                // closing
            } finally {
                consumer.close(Duration.ofSeconds(1));
            }
        }, "tail-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(3000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
