package io.clops.command;

import io.clops.api.DeploymentSpecParser;
import io.clops.api.CommandResults;

import io.clops.service.EventLog;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

import java.time.Clock;
import java.time.Duration;

@Factory
public class CommandApiBeans {

    @Context
    @Bean(preDestroy = "close")
    CommandResults commandResults(@Value("${clops.kafka.bootstrap}") String bootstrap) {
        return new CommandResults(bootstrap);
    }

    @Singleton
    CommandService commandService(EventLog log, CommandResults results,
                                  @Value("${clops.command.wait-ms:10000}") long waitMs) {
        return new CommandService(log, results, Clock.systemUTC(), Duration.ofMillis(waitMs));
    }

    @Context
    @Bean(preDestroy = "close")
    DeploymentViews deploymentViews(@Value("${clops.kafka.bootstrap}") String bootstrap) throws InterruptedException {
        return new DeploymentViews(bootstrap);
    }
}
