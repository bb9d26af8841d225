package io.clops.auth;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Failed logins, limited per user and per address: after {@code perUser} failures within {@code window}, further
 * tries for that user (from anywhere) are refused, and after {@code perAddress} failures from one address (many users
 * may share one behind a proxy), tries from it for anyone; until the oldest failure leaves the window, whether the
 * password is right or not. Bounded: keys with no recent failure are dropped.
 */
public final class LoginGuard {
    private final int perUser;
    private final int perAddress;
    private final Duration window;
    private final Clock clock;
    private final Map<String, Deque<Long>> failures = new ConcurrentHashMap<>();

    public LoginGuard(int perUser, int perAddress, Duration window, Clock clock) {
        this.perUser = perUser;
        this.perAddress = perAddress;
        this.window = window;
        this.clock = clock;
    }

    /** How long until {@code user} from {@code address} may try again; zero when it may now. */
    public Duration wait(String user, String address) {
        long now = clock.millis();
        return max(waitFor("user:" + user, now), waitFor("addr:" + address, now));
    }

    public void failed(String user, String address) {
        long now = clock.millis();
        for (String k : new String[]{"user:" + user, "addr:" + address}) {
            Deque<Long> d = failures.computeIfAbsent(k, x -> new ArrayDeque<>());
            synchronized (d) {
                d.addLast(now);
                while (d.size() > max(k)) {
                    d.removeFirst();
                }
            }
        }
        if (failures.size() > 100_000) {
            failures.entrySet().removeIf(e -> waitFor(e.getKey(), now).isZero());
        }
    }

    private Duration waitFor(String key, long now) {
        Deque<Long> d = failures.get(key);
        if (d == null) {
            return Duration.ZERO;
        }
        synchronized (d) {
            while (!d.isEmpty() && d.peekFirst() <= now - window.toMillis()) {
                d.removeFirst();
            }
            if (d.size() < max(key)) {
                return Duration.ZERO;
            }
            return Duration.ofMillis(d.peekFirst() + window.toMillis() - now);
        }
    }

    private int max(String key) {
        return key.startsWith("user:") ? perUser : perAddress;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
