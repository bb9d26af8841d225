package io.clops.command;

import io.clops.api.DeploymentSpecParser;
import io.clops.api.CommandResults;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.CommandResult;
import io.clops.avro.DeployCommand;
import io.clops.avro.UndeployCommand;
import io.clops.kafka.Topics;
import io.clops.service.EventLog;

import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Submits a command and waits, boundedly, for the fold's verdict. The command id is the caller's idempotency key
 * when it gives one: a retried request is the same command, applied once, answered with the first verdict.
 */
public final class CommandService {

    /** What the caller learns: the verdict, or that it is still pending after the wait. */
    public record Outcome(String commandId, CommandResult result) {
        public boolean pending() {
            return result == null;
        }
    }

    private final EventLog log;
    private final CommandResults results;
    private final Clock clock;
    private final Duration wait;

    public CommandService(EventLog log, CommandResults results, Clock clock, Duration wait) {
        this.log = log;
        this.results = results;
        this.clock = clock;
        this.wait = wait;
    }

    public Outcome deploy(String project, String name, io.clops.avro.DeploymentSpec spec, String actor, String idempotencyKey) {
        return submit(project, actor, idempotencyKey, DeployCommand.newBuilder().setName(name).setSpec(spec).build());
    }

    public Outcome undeploy(String project, String name, String actor, String idempotencyKey) {
        return submit(project, actor, idempotencyKey, UndeployCommand.newBuilder().setName(name).build());
    }

    private Outcome submit(String project, String actor, String idempotencyKey, Object payload) {
        String id = idempotencyKey != null && !idempotencyKey.isBlank() ? project + ":" + idempotencyKey : UUID.randomUUID().toString();
        CommandEnvelope cmd = CommandEnvelope.newBuilder().setId(id).setProject(project).setActor(actor)
                .setTimeMs(clock.millis()).setPayload(payload).build();
        CompletableFuture<CommandResult> verdict = results.expect(id);
        try {
            log.append(Topics.COMMANDS, project, cmd);
            return new Outcome(id, verdict.get(wait.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            results.forget(id);
            return new Outcome(id, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot read the verdict of " + id + ": " + e.getCause(), e.getCause());
        } catch (RuntimeException e) {
            results.forget(id);
            throw e;
        }
    }
}
