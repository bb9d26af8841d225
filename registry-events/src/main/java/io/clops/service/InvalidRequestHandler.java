package io.clops.service;

import io.clops.api.InvalidRequest;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;

/** Every {@link InvalidRequest} becomes a 400 whose body lists each bad field. */
@Produces
@Singleton
@Requires(classes = {InvalidRequest.class, ExceptionHandler.class})
public class InvalidRequestHandler implements ExceptionHandler<InvalidRequest, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, InvalidRequest exception) {
        return Http.invalid(exception);
    }
}
