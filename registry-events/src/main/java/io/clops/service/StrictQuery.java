package io.clops.service;

import io.clops.api.FieldError;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.web.router.MethodBasedRouteInfo;
import io.micronaut.web.router.RouteAttributes;
import io.micronaut.web.router.RouteInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Query parameters parsed exactly, where they decide the answer: an endpoint that takes query parameters (its
 * handler's {@code @QueryValue} arguments: {@code /audit}'s filters, {@code /logins}, {@code /replay}, …) refuses one
 * it does not take (a typo such as {@code sinse=} would otherwise be dropped and the answer silently cover everything)
 * and one given twice ({@code actor=a&actor=b} would otherwise read as {@code a} alone), with a 400 naming the
 * parameter and listing those it takes. Endpoints that take none ignore a query string, as kube-apiserver's
 * {@code ?timeout=} on a webhook call needs.
 */
@ServerFilter("/api/**")
public class StrictQuery {
    private final Map<RouteInfo<?>, Set<String>> taken = new ConcurrentHashMap<>();

    @RequestFilter
    @Nullable
    public HttpResponse<?> check(HttpRequest<?> request) {
        if (request.getParameters().isEmpty()) {
            return null;
        }
        Set<String> names = RouteAttributes.getRouteInfo(request).map(r -> taken.computeIfAbsent(r, StrictQuery::queryValues)).orElse(Set.of());
        if (names.isEmpty()) {
            return null;
        }
        List<FieldError> errors = new ArrayList<>();
        for (String name : new TreeSet<>(request.getParameters().names())) {
            if (!names.contains(name)) {
                errors.add(new FieldError("query " + name, "not a parameter of this endpoint; it takes " + String.join(", ", names)));
            } else if (request.getParameters().getAll(name).size() > 1) {
                errors.add(new FieldError("query " + name, "given more than once"));
            }
        }
        if (errors.isEmpty()) {
            return null;
        }
        return Http.refused(HttpStatus.BAD_REQUEST, "invalid query", errors);
    }

    /** The query parameters a route's handler binds, by the names they are bound under, in order. */
    private static Set<String> queryValues(RouteInfo<?> route) {
        Set<String> names = new java.util.LinkedHashSet<>();
        if (route instanceof MethodBasedRouteInfo<?, ?> m) {
            for (Argument<?> a : m.getTargetMethod().getArguments()) {
                if (a.getAnnotationMetadata().hasAnnotation(QueryValue.class)) {
                    names.add(a.getAnnotationMetadata().stringValue(QueryValue.class).filter(s -> !s.isEmpty()).orElse(a.getName()));
                }
            }
        }
        return java.util.Collections.unmodifiableSet(names);
    }
}
