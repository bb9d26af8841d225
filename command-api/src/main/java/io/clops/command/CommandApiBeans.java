package io.clops.command;

import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;

@Factory
public class CommandApiBeans {

    @Context
    @Bean(preDestroy = "close")
    DeploymentViews deploymentViews(@Value("${clops.kafka.bootstrap}") String bootstrap) throws InterruptedException {
        return new DeploymentViews(bootstrap);
    }

    @Context
    @Bean(preDestroy = "close")
    RecentVerdicts recentVerdicts(@Value("${clops.kafka.bootstrap}") String bootstrap) {
        return new RecentVerdicts(bootstrap);
    }

    @Context
    @Bean(preDestroy = "close")
    ProjectViews projectViews(@Value("${clops.kafka.bootstrap}") String bootstrap, DeploymentViews deployments) throws InterruptedException {
        return new ProjectViews(bootstrap, deployments);
    }
}
