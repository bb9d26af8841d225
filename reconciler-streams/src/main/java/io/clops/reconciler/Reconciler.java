package io.clops.reconciler;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/** Runs {@link ClopsTopology} with exactly-once processing; main only starts and stops. */
public final class Reconciler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);
    /**
     * v2: the fold keeps deployments, models and decided ids in stores of their own (v1 kept one record per project).
     * A platform upgraded from v1 starts a new application: it folds the whole log again from the start, which
     * gives the same generations (the fold is deterministic) and writes the same desired records again.
     */
    public static final String APPLICATION_ID = "clops-reconciler-v2";

    private final KafkaStreams streams;

    private Reconciler(KafkaStreams streams) {
        this.streams = streams;
    }

    public static Properties config(String bootstrap, Path stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        // A caller waits for its verdict, which read_committed readers see only once the transaction commits: commit
        // every 5 ms, and poll for at most 5 ms so that a commit is never held behind a poll waiting for records that
        // will not come (the callers are waiting). Under load a commit carries ~15 commands; idle, nothing is
        // committed and the loop costs nothing measurable (bench/command-path.sh prints both).
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 5);
        p.put(StreamsConfig.POLL_MS_CONFIG, 5);
        // a transaction begun right after a commit may be told CONCURRENT_TRANSACTIONS (the last one's markers are
        // still being written) and retried after retry.backoff.ms: 5 ms, not the default 100
        p.put(StreamsConfig.producerPrefix(org.apache.kafka.clients.producer.ProducerConfig.RETRY_BACKOFF_MS_CONFIG), 5);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, -1);
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
        p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 10_000);
        p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), 1_000);
        p.putAll(io.clops.kafka.KafkaConfigs.fromEnvironment());
        return p;
    }

    /** Starts the topology and waits until it is running (or fails). */
    public static Reconciler start(String bootstrap, Path stateDir, Duration timeout) {
        KafkaStreams streams = new KafkaStreams(ClopsTopology.build(new StreamsBuilder()), config(bootstrap, stateDir));
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("reconciler stream thread failed; replacing it", e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (System.nanoTime() > deadline || streams.state() == KafkaStreams.State.ERROR) {
                KafkaStreams.State state = streams.state();
                streams.close(Duration.ofSeconds(5));
                throw new IllegalStateException("reconciler topology did not start within " + timeout + " (state " + state + ")");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return new Reconciler(streams);
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(10));
    }
}
