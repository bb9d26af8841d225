package io.clops.service;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

@Produces
@Singleton
@Requires(classes = {Refusal.class, ExceptionHandler.class})
public class RefusalHandler implements ExceptionHandler<Refusal, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, Refusal exception) {
        return Http.refused(exception.status(), exception.getMessage(), exception.fields());
    }
}
