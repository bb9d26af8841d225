package io.clops.service;

import io.clops.gateway.Forbidden;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** The gateway's authorization refused a write: 403 with the reason; nothing entered the log. */
@Produces
@Singleton
@Requires(classes = {Forbidden.class, ExceptionHandler.class})
public class ForbiddenHandler implements ExceptionHandler<Forbidden, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, Forbidden exception) {
        return Http.error(HttpStatus.FORBIDDEN, exception.getMessage());
    }
}
