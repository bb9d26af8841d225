package io.clops.service;

import io.clops.gateway.LogUnavailable;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** The log did not take a write: 503 with Retry-After; a retry with the same Idempotency-Key is safe. */
@Produces
@Singleton
@Requires(classes = {LogUnavailable.class, ExceptionHandler.class})
public class LogUnavailableHandler implements ExceptionHandler<LogUnavailable, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, LogUnavailable exception) {
        return Http.error(HttpStatus.SERVICE_UNAVAILABLE, exception.getMessage()).header("Retry-After", "1");
    }
}
