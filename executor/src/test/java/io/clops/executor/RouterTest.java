package io.clops.executor;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RouterTest {
    static final List<Route> SPLIT = List.of(new Route("iris-v1", "http://a", 90), new Route("iris-v2", "http://b", 10));

    @Test
    void aNinetyTenSplitHoldsOverTenThousandRequests() {
        Router router = new Router(SPLIT, new Random(42)::nextDouble);
        int v2 = 0;
        for (int i = 0; i < 10_000; i++) {
            if (router.choose(null).name().equals("iris-v2")) {
                v2++;
            }
        }
        // binomial(10000, 0.1): mean 1000, sd 30; 4 sd either side
        assertThat(v2).isBetween(880, 1120);
    }

    @Test
    void aStickyRouteIsKeptAndAnUnknownOrWithdrawnOneIsIgnored() {
        Router router = new Router(SPLIT, () -> 0.0);
        assertThat(router.choose("iris-v2").name()).isEqualTo("iris-v2");
        assertThat(router.choose("iris-v7").name()).isEqualTo("iris-v1");
        Router withdrawn = new Router(List.of(new Route("iris-v1", "a", 100), new Route("iris-v2", "b", 0)), () -> 0.99);
        assertThat(withdrawn.choose("iris-v2").name()).isEqualTo("iris-v1");
    }
}
