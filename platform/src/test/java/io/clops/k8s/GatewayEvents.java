package io.clops.k8s;

import io.clops.avro.CommandEnvelope;
import io.clops.avro.RegistryEvent;
import io.clops.gateway.CommandGateway;
import io.clops.gateway.Principal;
import io.clops.gateway.Requests;
import io.clops.gateway.Verdict;

import java.time.Clock;
import java.time.Duration;

/**
 * The tests' commands and registry events, written the only way there is: through the command gateway (the
 * fixture's id as idempotency key, its actor as principal). Each call returns the fold's verdict.
 */
final class GatewayEvents implements AutoCloseable {
    final CommandGateway gateway;

    GatewayEvents(String bootstrap) {
        this.gateway = new CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofSeconds(30));
    }

    Verdict command(CommandEnvelope c) {
        return gateway.submit(Requests.fromAvro(c), new Principal(c.getActor()), c.getId());
    }

    /** Creates the project the test works in (no quota, alice its admin), as `clops project create` does. */
    Verdict project(String name) {
        Verdict v = gateway.submit(new io.clops.gateway.Request.CreateProject(name, "alice", null, io.clops.testing.Fixtures.unlimited()),
                new Principal("alice"), "create-" + name);
        if (!v.accepted()) {
            throw new AssertionError("could not create project " + name + ": " + (v.pending() ? "no verdict" : v.result().getReason()));
        }
        return v;
    }

    Verdict registry(RegistryEvent e) {
        return gateway.submit(Requests.fromAvro(e), new Principal(e.getActor()), e.getId());
    }

    @Override
    public void close() {
        gateway.close();
    }
}
