package io.clops.service;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** No valid token: 401 with {@code WWW-Authenticate: Bearer} and the reason; nothing entered the log. */
@Produces
@Singleton
@Requires(classes = {Unauthenticated.class, ExceptionHandler.class})
public class UnauthenticatedHandler implements ExceptionHandler<Unauthenticated, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, Unauthenticated exception) {
        return Http.error(HttpStatus.UNAUTHORIZED, exception.getMessage()).header("WWW-Authenticate", "Bearer realm=\"clops\"");
    }
}
