package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * A live in-memory view of a topic: every partition read from the beginning, the latest value per key kept, a
 * tombstone removing the key. A record that cannot be decoded is logged and skipped (it stays on the topic for
 * the dead-letter tooling); the view goes on. Listeners see each change in order.
 */
public final class CompactedView<V> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CompactedView.class);

    private final Topic<String, V> topic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, V> values = new ConcurrentHashMap<>();
    private final List<BiConsumer<String, V>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String stopped;

    public CompactedView(String bootstrap, Topic<String, V> topic) {
        this.topic = topic;
        this.consumer = new KafkaConsumer<>(KafkaConfigs.reader(bootstrap, "view-" + topic.name()),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "view-" + topic.name());
        this.thread.setDaemon(true);
    }

    public CompactedView<V> start() {
        thread.start();
        return this;
    }

    /** Called for every change after it is applied; {@code value} null means the key was removed. */
    public void onChange(BiConsumer<String, V> listener) {
        listeners.add(listener);
    }

    /** Waits until the view has read every partition up to where it ended at start-up. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Why this view stopped following its topic (it no longer changes), or null while it follows it. */
    public String stopped() {
        return stopped;
    }

    public Optional<V> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public Map<String, V> snapshot() {
        return Map.copyOf(values);
    }

    private void run() {
        try {
            List<TopicPartition> parts = consumer.partitionsFor(topic.name(), Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic.name(), p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            while (running) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
                    apply(rec);
                }
                if (caughtUp.getCount() > 0 && parts.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                stopped = "the view of " + topic.name() + " stopped: " + e;
                LOG.error("view of {} stopped: {}", topic.name(), e.toString(), e);
            }
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> rec) {
        KeyedRecord.decode(topic, rec).ifPresent(r -> {
            if (r.value() == null) {
                values.remove(r.key());
            } else {
                values.put(r.key(), r.value());
            }
            for (BiConsumer<String, V> l : listeners) {
                try {
                    l.accept(r.key(), r.value());
                } catch (RuntimeException e) {
                    LOG.warn("listener on {} failed for {}: {}", topic.name(), r.key(), e.toString(), e);
                }
            }
        });
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
