package io.clops.service;

import io.clops.avro.ModelState;
import io.clops.gateway.CommandGateway;
import io.clops.gateway.Intake;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.registry.RegistryView;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import java.time.Clock;
import java.time.Duration;

/** The Kafka side of the services: the command gateway (the one way in), its Kafka intake, the registry's read view. */
@Factory
public class KafkaBeans {

    @Singleton
    @Bean(preDestroy = "close")
    CommandGateway gateway(@Value("${clops.kafka.bootstrap}") String bootstrap,
                           @Value("${clops.command.wait-ms:10000}") long waitMs,
                           @Value("${clops.command.append-timeout-ms:15000}") long appendTimeoutMs,
                           java.util.Optional<io.clops.gateway.Authorization> authorization) {
        CommandGateway g = new CommandGateway(bootstrap, Clock.systemUTC(), Duration.ofMillis(waitMs), Duration.ofMillis(appendTimeoutMs));
        authorization.ifPresent(g::authorization); // the project roles, where the projects are read (command-api)
        return g;
    }

    /** Pipelines' requests on clops.intake, handed to the log like HTTP's ({@code clops.intake.enabled=false}: off). */
    @Context
    @Requires(property = "clops.intake.enabled", notEquals = "false")
    @Bean(preDestroy = "close")
    Intake intake(@Value("${clops.kafka.bootstrap}") String bootstrap, Callers callers,
                  java.util.Optional<io.clops.gateway.Authorization> authorization) {
        Intake intake = new Intake(bootstrap, callers.local(), Clock.systemUTC()).identities(callers.identities());
        authorization.ifPresent(intake::authorization);
        return intake.start();
    }

    @Singleton
    RegistryView registryView() {
        return new RegistryView();
    }

    @Context
    @Named("models")
    @Bean(preDestroy = "close")
    CompactedView<ModelState> modelsLog(@Value("${clops.kafka.bootstrap}") String bootstrap, RegistryView view)
            throws InterruptedException {
        CompactedView<ModelState> log = new CompactedView<>(bootstrap, Topics.MODELS);
        log.onChange(view::apply);
        log.start();
        if (!log.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.models within 60 s");
        }
        return log;
    }
}
