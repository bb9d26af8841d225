package io.clops.executor;

import java.util.ArrayList;
import java.util.List;

/** One model version behind this endpoint: its name (as in the sticky header), where it listens, its weight. */
public record Route(String name, String url, int weight) {

    /**
     * Parses {@code name=url=weight;name=url=weight} (CLOPS_ROUTES), e.g.
     * {@code iris-v1=http://127.0.0.1:5001=90;iris-v2=http://127.0.0.1:5002=10}.
     */
    public static List<Route> parseAll(String text) {
        List<Route> out = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return out;
        }
        for (String part : text.split(";")) {
            String[] f = part.trim().split("=");
            if (f.length != 3) {
                throw new IllegalArgumentException("CLOPS_ROUTES: expected name=url=weight, got '" + part + "'");
            }
            out.add(new Route(f[0], f[1], Integer.parseInt(f[2])));
        }
        return out;
    }

    public static String format(List<Route> routes) {
        return String.join(";", routes.stream().map(r -> r.name() + "=" + r.url() + "=" + r.weight()).toList());
    }
}
