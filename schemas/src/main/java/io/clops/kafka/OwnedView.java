package io.clops.kafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Like {@link CompactedView}, but only for the partitions a consumer group gives this member: each key is owned by
 * one member at a time. A newly assigned partition is read from the beginning; a revoked one's keys are released
 * (listeners are told, so the owner stops acting on them) — a release is not a deletion. Offsets are never
 * committed: ownership, not progress, is what the group is for.
 */
public final class OwnedView<V> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OwnedView.class);

    private final Topic<String, V> topic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, V> values = new ConcurrentHashMap<>();
    private final Map<String, Integer> partitionOf = new ConcurrentHashMap<>();
    private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
    private final List<BiConsumer<String, V>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> releaseListeners = new CopyOnWriteArrayList<>();
    private final Map<TopicPartition, Long> catchUpTo = new HashMap<>();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;

    public OwnedView(String bootstrap, Topic<String, V> topic, String group) {
        this.topic = topic;
        Map<String, Object> c = new HashMap<>(KafkaConfigs.reader(bootstrap, group + "-" + topic.name()));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        this.consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "owned-" + topic.name());
        thread.setDaemon(true);
    }

    public OwnedView<V> start() {
        thread.start();
        return this;
    }

    public void onChange(BiConsumer<String, V> l) {
        listeners.add(l);
    }

    public void onRelease(Consumer<String> l) {
        releaseListeners.add(l);
    }

    public Optional<V> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public Map<String, V> snapshot() {
        return Map.copyOf(values);
    }

    /** True while the key's partition is this member's (keys never seen count as owned: nothing to fight over). */
    public boolean owns(String key) {
        Integer p = partitionOf.get(key);
        return p == null || owned.contains(p);
    }

    public Set<Integer> ownedPartitions() {
        return Set.copyOf(owned);
    }

    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void run() {
        try {
            consumer.subscribe(List.of(topic.name()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    release(parts);
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> parts) {
                    release(parts);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    parts.forEach(p -> owned.add(p.partition()));
                    consumer.seekToBeginning(parts);
                    catchUpTo.putAll(consumer.endOffsets(parts));
                    LOG.info("{}: now owning partitions {}", topic.name(), owned);
                }
            });
            while (running) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
                    apply(rec);
                }
                catchUpTo.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
                if (caughtUp.getCount() > 0 && !owned.isEmpty() && catchUpTo.isEmpty()) {
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOG.error("owned view of {} stopped: {}", topic.name(), e.toString(), e);
            }
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void release(Collection<TopicPartition> parts) {
        Set<Integer> gone = new java.util.HashSet<>();
        parts.forEach(p -> gone.add(p.partition()));
        owned.removeAll(gone);
        parts.forEach(catchUpTo::remove);
        for (var e : Map.copyOf(partitionOf).entrySet()) {
            if (gone.contains(e.getValue())) {
                values.remove(e.getKey());
                partitionOf.remove(e.getKey());
                releaseListeners.forEach(l -> l.accept(e.getKey()));
            }
        }
        if (!gone.isEmpty()) {
            LOG.info("{}: released partitions {}", topic.name(), gone);
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> rec) {
        KeyedRecord.decode(topic, rec).ifPresent(r -> {
            partitionOf.put(r.key(), r.partition());
            if (r.value() == null) {
                values.remove(r.key());
            } else {
                values.put(r.key(), r.value());
            }
            listeners.forEach(l -> l.accept(r.key(), r.value()));
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
