package io.clops.executor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {
    @Test
    void aBurstUpToTheRateThenRetryAfterThenRefilled() {
        AtomicLong now = new AtomicLong();
        RateLimiter limiter = new RateLimiter(5, now::get);
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.acquire()).isZero();
        }
        assertThat(limiter.acquire()).isEqualTo(1);
        now.addAndGet(200_000_000L); // 0.2 s: one token back
        assertThat(limiter.acquire()).isZero();
        assertThat(limiter.acquire()).isEqualTo(1);
        assertThat(new RateLimiter(0, now::get).acquire()).as("0 is unlimited").isZero();
    }
}
