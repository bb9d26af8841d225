package io.clops.executor;

import java.util.List;

/**
 * One model version behind this endpoint: its name (as in the sticky header), where it listens, its weight. The
 * runtimes hand them over in CLOPS_ROUTES, read and written by io.clops.runtime.ExecutorContract.
 */
public record Route(String name, String url, int weight) {

    /** {@code name=url=weight;…}, as in CLOPS_ROUTES (for the start-up log line). */
    public static String format(List<Route> routes) {
        return String.join(";", routes.stream().map(r -> r.name() + "=" + r.url() + "=" + r.weight()).toList());
    }
}
