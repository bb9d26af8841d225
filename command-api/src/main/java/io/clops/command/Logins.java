package io.clops.command;

import io.clops.avro.LoginEvent;
import io.clops.avro.LoginMethod;
import io.clops.avro.LoginOutcome;
import io.clops.gateway.LogUnavailable;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.clops.reconciler.LogSource;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Logins in the log ({@code clops.logins}, key user): a session token is given only once the log took the record of
 * its issue (its id and expiry, the method, the address; never the token, never a password), and every refused login
 * the API checked is recorded too. Read back per user ({@code GET /api/v1/logins}, {@code clops audit logins}).
 */
@Singleton
@Bean(preDestroy = "close")
public class Logins implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Logins.class);
    private final String bootstrap;
    private final KafkaProducer<String, LoginEvent> producer;
    private final Clock clock;
    private final long appendTimeoutMs;

    /** @param appendTimeoutMs how long a login waits for the log, metadata and acks included (the commands' setting) */
    public Logins(@Value("${clops.kafka.bootstrap}") String bootstrap, @Value("${clops.command.append-timeout-ms:15000}") long appendTimeoutMs) {
        this.bootstrap = bootstrap;
        this.clock = Clock.systemUTC();
        this.appendTimeoutMs = appendTimeoutMs;
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "clops-logins", Duration.ofMillis(appendTimeoutMs)),
                Topics.LOGINS.keySerde().serializer(), Topics.LOGINS.valueSerde().serializer());
    }

    /** Records a token about to be issued; throws {@link LogUnavailable} when the log did not take it (then issue nothing). */
    public void issued(LoginMethod method, String user, String tokenId, long expiresMs, String address) {
        LoginEvent e = event(method, LoginOutcome.issued, user, address).setTokenId(tokenId).setExpiresMs(expiresMs).build();
        try {
            producer.send(new ProducerRecord<>(Topics.LOGINS.name(), user, e)).get(appendTimeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new LogUnavailable("interrupted while recording the login; no token was issued: try again", ie);
        } catch (ExecutionException | TimeoutException | org.apache.kafka.common.KafkaException ex) {
            throw new LogUnavailable("the log did not take the login; no token was issued: try again", ex);
        }
    }

    /** What a refused login is recorded under when the name given is no user's (it may be anything, a password too). */
    public static final String UNKNOWN_USER = "?";

    /** Records a refused login; the refusal stands whatever the log answers (a record the log did not take is logged here). */
    public void refused(LoginMethod method, String user, String address) {
        producer.send(new ProducerRecord<>(Topics.LOGINS.name(), user, event(method, LoginOutcome.refused, user, address).build()),
                (meta, error) -> {
                    if (error != null) {
                        LOG.warn("a refused {} login of '{}' from {} is not in the log: {}", method, user, address, error.toString());
                    }
                });
    }

    private LoginEvent.Builder event(LoginMethod method, LoginOutcome outcome, String user, String address) {
        return LoginEvent.newBuilder().setUser(user).setMethod(method).setOutcome(outcome).setAddress(address).setTimeMs(clock.millis());
    }

    /** The logins asked for, oldest first: the latest {@code limit} of them, and whether older ones matched too. */
    public record Page(List<LoginEvent> items, boolean truncated) {
    }

    /**
     * The logins of {@code user} (null: everyone's) from {@code sinceMs} to {@code untilMs} (inclusive; null: open).
     * One user's are read from their partition only.
     */
    public Page list(String user, Long sinceMs, Long untilMs, int limit) {
        // the latest `limit` kept as they come (oldest on top, dropped first): memory by the page, not by the partition
        // (ties in time: the one read later counts as later, as a stable sort of everything read would have it)
        java.util.PriorityQueue<Seen> latest = new java.util.PriorityQueue<>(Seen.ORDER);
        boolean truncated = false;
        long read = 0;
        try (LogSource log = LogSource.kafka(bootstrap)) {
            int partitions = log.partitions(Topics.LOGINS.name());
            for (int p = 0; p < partitions; p++) {
                if (user != null && p != Topics.partitionFor(user, partitions)) {
                    continue;
                }
                for (Iterator<LogSource.Raw> it = log.readSince(Topics.LOGINS.name(), p, sinceMs); it.hasNext(); ) {
                    LogSource.Raw raw = it.next();
                    if (user != null && !user.equals(raw.key()) || raw.value() == null) {
                        continue; // another user's, hashed to the same partition: not decoded
                    }
                    LoginEvent e;
                    try {
                        e = Topics.LOGINS.valueSerde().deserializer().deserialize(raw.topic(), raw.value());
                    } catch (RuntimeException unreadable) {
                        LOG.warn("{} is not a login record: {}", raw.where(), unreadable.toString());
                        continue;
                    }
                    if ((sinceMs == null || e.getTimeMs() >= sinceMs)
                            && (untilMs == null || e.getTimeMs() <= untilMs)) {
                        latest.add(new Seen(e, read++));
                        if (latest.size() > limit) {
                            latest.poll();
                            truncated = true;
                        }
                    }
                }
            }
        }
        List<LoginEvent> page = latest.stream().sorted(Seen.ORDER).map(Seen::event).toList();
        return new Page(new ArrayList<>(page), truncated);
    }

    private record Seen(LoginEvent event, long read) {
        static final Comparator<Seen> ORDER = Comparator.comparingLong((Seen x) -> x.event().getTimeMs()).thenComparingLong(Seen::read);
    }

    public long now() {
        return clock.millis();
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(2));
    }
}
