package io.clops.gateway;

import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.CreateProject;
import io.clops.avro.DeleteProject;
import io.clops.avro.DeployCommand;
import io.clops.avro.RemoveMember;
import io.clops.avro.SetMember;
import io.clops.avro.SetQuota;
import io.clops.avro.RegistryEvent;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionArchived;
import io.clops.avro.VersionRegistered;

import io.clops.api.Idempotency;

import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one way in. Every write of the platform (the HTTP API, the registry, the CRD bridge, the Kafka intake) comes
 * here as a parsed {@link Request}: it is enveloped with the acting {@link Principal}, appended to clops.commands or
 * clops.registry (acks=all, the send's result checked), and answered with the fold's verdict when it arrives within
 * the wait. Nothing else writes those two topics.
 * <p>
 * Ids: the command id is {@code <project>:<idempotency key>} when the caller gives a key (a retry is the same command,
 * applied once, answered with the first verdict), else a fresh UUID; every submission has its own request id, under
 * which its verdict is published, so two callers retrying one key each get an answer.
 */
public final class CommandGateway implements AutoCloseable {
    private final LogWriter log;
    private final Verdicts verdicts;
    private final Clock clock;
    private final Duration wait;
    private volatile Authorization authorization = Authorization.ANYONE;

    /**
     * @param wait how long a caller waits for the fold's verdict before it is told "pending"
     */
    public CommandGateway(String bootstrap, Clock clock, Duration wait) {
        this(bootstrap, clock, wait, Duration.ofSeconds(15));
    }

    /**
     * @param appendTimeout how long an append may take before the caller is told the log is unavailable
     */
    public CommandGateway(String bootstrap, Clock clock, Duration wait, Duration appendTimeout) {
        this.clock = clock;
        this.wait = wait;
        this.verdicts = new Verdicts(bootstrap, "clops-gateway-verdicts");
        this.log = new LogWriter(bootstrap, "clops-gateway", null, appendTimeout);
    }

    /** Who may make which request: checked for every request before it is appended (today {@link Authorization#ANYONE}). */
    public CommandGateway authorization(Authorization authorization) {
        this.authorization = authorization;
        return this;
    }

    /**
     * Appends and waits for the verdict: the answer, or a pending verdict when the fold has not decided within the
     * wait. Throws {@link LogUnavailable} when the log did not take the request.
     */
    public Verdict submit(Request request, Principal who, String idempotencyKey) {
        try {
            return submitAsync(request, who, idempotencyKey).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /** {@link #submit} without blocking: completes with the verdict, pending after the wait, or a {@link LogUnavailable}. */
    public CompletableFuture<Verdict> submitAsync(Request request, Principal who, String idempotencyKey) {
        java.util.Optional<String> refused = authorization.refuse(who, request);
        if (refused.isPresent()) {
            return CompletableFuture.failedFuture(new Forbidden(refused.get()));
        }
        String requestId = UUID.randomUUID().toString();
        String commandId = commandId(request, idempotencyKey);
        Object record = envelope(request, who, commandId, requestId, clock.millis());
        String fingerprint = idempotencyKey == null ? null : fingerprint(record);
        if (fingerprint != null) {
            Decided d = decided.get(commandId);
            if (d != null) {
                return CompletableFuture.completedFuture(new Verdict(commandId, requestId, d.answer(record, fingerprint, requestId, clock.millis())));
            }
        }
        CompletableFuture<CommandResult> verdict = verdicts.expect(requestId);
        CompletableFuture<Verdict> answer = new CompletableFuture<>();
        try {
            CompletableFuture<?> sent = record instanceof CommandEnvelope c ? log.append(c) : log.append((RegistryEvent) record);
            sent.whenComplete((ok, failed) -> {
                if (failed != null) {
                    verdicts.forget(requestId);
                    answer.completeExceptionally(unavailable(failed));
                    return;
                }
                verdict.orTimeout(wait.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
                    if (e == null) {
                        if (fingerprint != null && r.getCode() == null) {
                            decided.put(commandId, new Decided(fingerprint, r));
                        }
                        answer.complete(new Verdict(commandId, requestId, r));
                    } else {
                        verdicts.forget(requestId);
                        if (e instanceof TimeoutException) {
                            answer.complete(new Verdict(commandId, requestId, null));
                        } else {
                            answer.completeExceptionally(e);
                        }
                    }
                });
            });
        } catch (RuntimeException e) {
            verdicts.forget(requestId);
            answer.completeExceptionally(unavailable(e));
        }
        return answer;
    }

    /**
     * Ids with a caller's key this gateway has seen decided, and how: a retry it can answer itself is not appended
     * again (Stripe's and the IETF draft's semantics). The fold decides what this gateway has not seen (another
     * gateway's, or two retries racing): its verdicts say the same, with the request in the log.
     */
    private final Map<String, Decided> decided = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Decided> eldest) {
            return size() > 100_000;
        }
    });

    private record Decided(String fingerprint, CommandResult result) {
        /** What the fold would say to this repeat: the first verdict, or a refusal naming the key. */
        CommandResult answer(Object record, String fp, String requestId, long now) {
            CommandResult.Builder b = CommandResult.newBuilder(result).setRequestId(requestId);
            if (now - result.getTimeMs() > Idempotency.WINDOW_MS) {
                return b.setAccepted(false).setGeneration(0).setCode(Idempotency.KEY_EXPIRED).setReason("id '" + result.getCommandId()
                        + "' was first used more than 7 days ago: its answer is no longer kept and it is not applied again; use a new key").build();
            }
            if (!fingerprint.equals(fp)) {
                return b.setAccepted(false).setGeneration(0).setCode(Idempotency.KEY_REUSED).setReason("id '" + result.getCommandId()
                        + "' was already used for another request (an idempotency key names one request): nothing was changed;"
                        + " use a new key").build();
            }
            return b.build();
        }
    }

    private static String fingerprint(Object record) {
        if (record instanceof CommandEnvelope c) {
            return Idempotency.fingerprint(c.getProject(), (org.apache.avro.specific.SpecificRecord) c.getPayload());
        }
        RegistryEvent e = (RegistryEvent) record;
        return Idempotency.fingerprint(e.getProject() + "/" + e.getModel(), (org.apache.avro.specific.SpecificRecord) e.getPayload());
    }

    private static LogUnavailable unavailable(Throwable e) {
        Throwable cause = (e instanceof java.util.concurrent.ExecutionException || e instanceof CompletionException)
                && e.getCause() != null ? e.getCause() : e;
        String why = cause instanceof org.apache.kafka.common.errors.TimeoutException ? "no answer from Kafka in time: " + cause.getMessage()
                : cause.toString();
        return new LogUnavailable("the log did not take the request (" + why + "); it may or may not have been written:"
                + " retry with the same idempotency key", cause);
    }

    static String commandId(Request r, String idempotencyKey) {
        return idempotencyKey != null ? r.project() + ":" + idempotencyKey : UUID.randomUUID().toString();
    }

    /** The record a request becomes: a command for clops.commands or an event for clops.registry. */
    static Object envelope(Request r, Principal who, String commandId, String requestId, long timeMs) {
        if (r instanceof Request.Deploy d) {
            return command(d.project(), who, commandId, requestId, timeMs, DeployCommand.newBuilder().setName(d.name()).setSpec(d.spec())
                    .setExpectedGeneration(d.expectedGeneration()).build());
        }
        if (r instanceof Request.CreateProject c) {
            return command(c.project(), who, commandId, requestId, timeMs, CreateProject.newBuilder()
                    .setAdmin(c.admin() != null ? c.admin() : who.name()).setDescription(c.description()).setQuota(c.quota()).build());
        }
        if (r instanceof Request.DeleteProject d) {
            return command(d.project(), who, commandId, requestId, timeMs, DeleteProject.newBuilder().build());
        }
        if (r instanceof Request.SetMember m) {
            return command(m.project(), who, commandId, requestId, timeMs, SetMember.newBuilder().setUser(m.user()).setRole(m.role()).build());
        }
        if (r instanceof Request.RemoveMember m) {
            return command(m.project(), who, commandId, requestId, timeMs, RemoveMember.newBuilder().setUser(m.user()).build());
        }
        if (r instanceof Request.CreateServiceAccount a) {
            return command(a.project(), who, commandId, requestId, timeMs, io.clops.avro.CreateServiceAccount.newBuilder().setName(a.name())
                    .setRole(a.role()).setTokenId(a.tokenId()).setExpiresMs(a.expiresMs()).build());
        }
        if (r instanceof Request.RemoveServiceAccount a) {
            return command(a.project(), who, commandId, requestId, timeMs, io.clops.avro.RemoveServiceAccount.newBuilder().setName(a.name()).build());
        }
        if (r instanceof Request.IssueKafkaCredentials k) {
            return command(k.project(), who, commandId, requestId, timeMs, io.clops.avro.IssueKafkaCredentials.newBuilder().setUser(k.user())
                    .setPrincipal(io.clops.kafka.KafkaAccess.principal(k.project(), k.user())).build());
        }
        if (r instanceof Request.SetQuota q) {
            return command(q.project(), who, commandId, requestId, timeMs, SetQuota.newBuilder().setQuota(q.quota()).build());
        }
        if (r instanceof Request.Undeploy u) {
            return command(u.project(), who, commandId, requestId, timeMs, UndeployCommand.newBuilder().setName(u.name()).build());
        }
        if (r instanceof Request.RegisterVersion v) {
            return event(v.project(), v.model(), who, commandId, requestId, timeMs, VersionRegistered.newBuilder().setVersion(v.version()).build());
        }
        if (r instanceof Request.SetAlias a) {
            return event(a.project(), a.model(), who, commandId, requestId, timeMs,
                    AliasSet.newBuilder().setAlias(a.alias()).setVersion(a.version()).build());
        }
        if (r instanceof Request.RemoveAlias a) {
            return event(a.project(), a.model(), who, commandId, requestId, timeMs, AliasRemoved.newBuilder().setAlias(a.alias()).build());
        }
        Request.ArchiveVersion a = (Request.ArchiveVersion) r;
        return event(a.project(), a.model(), who, commandId, requestId, timeMs, VersionArchived.newBuilder().setVersion(a.version()).build());
    }

    private static CommandEnvelope command(String project, Principal who, String id, String requestId, long timeMs, Object payload) {
        return CommandEnvelope.newBuilder().setId(id).setRequestId(requestId).setProject(project).setActor(who.name())
                .setTimeMs(timeMs).setPayload(payload).build();
    }

    private static RegistryEvent event(String project, String model, Principal who, String id, String requestId, long timeMs,
                                       Object payload) {
        return RegistryEvent.newBuilder().setId(id).setRequestId(requestId).setProject(project).setModel(model)
                .setActor(who.name()).setTimeMs(timeMs).setPayload(payload).build();
    }

    @Override
    public void close() {
        log.close();
        verdicts.close();
    }
}
