package io.clops.executor;

import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import java.util.stream.Collectors;

/**
 * Chooses the model version for a request: the one a client names in {@value #STICKY_HEADER} (the value a previous
 * answer carried, so a session stays on one version), else by weight. Weights need not add up to 100.
 */
public final class Router {
    public static final String STICKY_HEADER = "X-Clops-Route";

    private final List<Route> routes;
    private final Map<String, Route> byName;
    private final int total;
    private final DoubleSupplier random;

    public Router(List<Route> routes, DoubleSupplier random) {
        if (routes.isEmpty()) {
            throw new IllegalArgumentException("at least one route is needed");
        }
        this.routes = List.copyOf(routes);
        this.byName = routes.stream().collect(Collectors.toMap(Route::name, r -> r, (a, b) -> a));
        this.total = routes.stream().mapToInt(Route::weight).sum();
        this.random = random;
    }

    public Route choose(String sticky) {
        if (routes.size() == 1) {
            return routes.get(0); // what every rule below gives one route, without a draw
        }
        if (sticky != null) {
            Route r = byName.get(sticky.trim());
            if (r != null && r.weight() > 0) {
                return r;
            }
        }
        if (total <= 0) {
            return routes.get(0);
        }
        double x = random.getAsDouble() * total;
        for (Route r : routes) {
            x -= r.weight();
            if (x < 0) {
                return r;
            }
        }
        return routes.get(routes.size() - 1);
    }

    public List<Route> routes() {
        return routes;
    }
}
