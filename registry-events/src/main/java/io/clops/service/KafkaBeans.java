package io.clops.service;

import io.clops.avro.RegistryEvent;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.registry.RegistryView;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import java.time.Duration;

/** The Kafka side of the services: one producer, and the registry view rebuilt from clops.registry at start. */
@Factory
public class KafkaBeans {

    @Singleton
    @Bean(preDestroy = "close")
    EventLog eventLog(@Value("${clops.kafka.bootstrap}") String bootstrap) {
        return new EventLog(bootstrap, "clops-api");
    }

    @Singleton
    RegistryView registryView() {
        return new RegistryView();
    }

    @Context
    @Named("registry")
    @Bean(preDestroy = "close")
    CompactedView<RegistryEvent> registryLog(@Value("${clops.kafka.bootstrap}") String bootstrap, RegistryView view)
            throws InterruptedException {
        CompactedView<RegistryEvent> log = new CompactedView<>(bootstrap, Topics.REGISTRY);
        log.onChange((key, event) -> {
            if (event != null) {
                view.apply(event);
            }
        });
        log.start();
        if (!log.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.registry within 60 s");
        }
        return log;
    }
}
