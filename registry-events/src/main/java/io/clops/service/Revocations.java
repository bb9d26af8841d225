package io.clops.service;

import io.clops.auth.Tokens;
import io.clops.avro.Revocation;
import io.clops.kafka.CompactedView;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Revoked tokens: written to clops.revocations (key token id) and followed by every door that checks tokens. A
 * door refuses a revoked token once it has read the record: the revocation bound is how far it lags the topic
 * (the view polls continuously: milliseconds on a healthy cluster; {@link #BOUND} is what docs and tests hold it
 * to). The door that revokes refuses the token at once.
 */
public final class Revocations implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Revocations.class);
    /** The revocation bound the platform promises: every door refuses a revoked token within it. */
    public static final Duration BOUND = Tokens.REVOCATION_BOUND;
    private final CompactedView<Revocation> view;
    private final KafkaProducer<String, Revocation> producer;
    private final Set<String> here = ConcurrentHashMap.newKeySet();
    private final Clock clock;
    private final Duration appendTimeout;

    /** @param appendTimeout how long a revocation waits for the log, metadata and acks included (the commands' setting) */
    public Revocations(String bootstrap, Clock clock, Duration appendTimeout) throws InterruptedException {
        this.clock = clock;
        this.appendTimeout = appendTimeout;
        this.view = new CompactedView<>(bootstrap, Topics.REVOCATIONS).start();
        if (!view.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.revocations within 60 s");
        }
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "clops-revocations", appendTimeout),
                Topics.REVOCATIONS.keySerde().serializer(), Topics.REVOCATIONS.valueSerde().serializer());
    }

    /** Whether the token was revoked; every token counts as revoked once this door stopped following the log (fail closed). */
    public boolean revoked(String tokenId) {
        return view.stopped() != null || here.contains(tokenId) || view.get(tokenId).isPresent();
    }

    /** Why this door no longer follows clops.revocations, or null. */
    public String stopped() {
        return view.stopped();
    }

    /**
     * Revokes the token everywhere (this door at once); throws when the log did not take it.
     *
     * @param by     who revoked it: in this process's log only, never on the topic (see below)
     * @param reason a fixed word or phrase ("logout", "service account removed"), never a name
     */
    public void revoke(Tokens.Claims token, String by, String reason) {
        // no names: every project's executors read this topic, and whose token it was and who revoked it are elsewhere
        // for those who may read them (a session's on clops.logins by token id, a service account's removal in its
        // project's audit trail); the reason is one of a few fixed words
        Revocation r = Revocation.newBuilder().setTokenId(token.id()).setSubject("").setExpiresMs(token.expiresMs())
                .setRevokedBy("").setReason(reason).setTimeMs(clock.millis()).build();
        try {
            producer.send(new ProducerRecord<>(Topics.REVOCATIONS.name(), token.id(), r)).get(appendTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while revoking", e);
        } catch (ExecutionException | TimeoutException | org.apache.kafka.common.KafkaException e) {
            throw new io.clops.gateway.LogUnavailable("the log did not take the revocation; the token is still valid: try again", e);
        }
        here.add(token.id());
        LOG.info("token {} of {} revoked by {}: {}", token.id(), token.subject(), by, reason);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(2));
        view.close();
    }
}
