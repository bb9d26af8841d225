package io.clops.executor;

import java.util.function.LongSupplier;

/**
 * A token bucket: {@code rate} requests a second on average, bursts up to one second's worth. Time is a
 * parameter (nanoseconds), so tests need no sleeps. Rate 0 means unlimited.
 */
public final class RateLimiter {
    private final double rate;
    private final LongSupplier nanos;
    private double tokens;
    private long last;

    public RateLimiter(int ratePerSecond, LongSupplier nanos) {
        this.rate = ratePerSecond;
        this.nanos = nanos;
        this.tokens = ratePerSecond;
        this.last = nanos.getAsLong();
    }

    /** 0 when the request may pass, else the seconds to wait before trying again (for Retry-After). */
    public long acquire() {
        return rate <= 0 ? 0 : take(); // unlimited: no lock on the hot path
    }

    private synchronized long take() {
        long now = nanos.getAsLong();
        tokens = Math.min(rate, tokens + (now - last) / 1e9 * rate);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return 0;
        }
        return Math.max(1, (long) Math.ceil((1 - tokens) / rate));
    }
}
