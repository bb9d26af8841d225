package io.clops.service;

import io.clops.auth.Tokens;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** The platform's tokens: its Ed25519 key kept in {@code clops.auth.dir} (a fresh temporary one when unset). */
@Factory
public class AuthBeans {
    /** Where the signing key and the users file live ({@code clops.auth.dir}; a fresh temporary one when unset). */
    public record AuthHome(Path dir) {
        public Path usersFile() {
            return dir.resolve("users");
        }
    }

    @Singleton
    AuthHome authHome(@Value("${clops.auth.dir:}") String dir) throws IOException {
        return new AuthHome(dir == null || dir.isBlank() ? Files.createTempDirectory("clops-auth") : Path.of(dir));
    }

    @Singleton
    Tokens tokens(AuthHome home) throws IOException {
        return new Tokens(Tokens.keyIn(home.dir()), Clock.systemUTC());
    }

    /** Whose address a request comes from ({@code clops.http.trusted-proxies}); read at start, so a bad value stops it. */
    @Singleton
    @io.micronaut.context.annotation.Context
    ClientAddress clientAddress(@Value("${clops.http.trusted-proxies:}") String trustedProxies) {
        return ClientAddress.trusting(trustedProxies, "clops.http.trusted-proxies");
    }

    @io.micronaut.context.annotation.Context
    @io.micronaut.context.annotation.Bean(preDestroy = "close")
    Revocations revocations(@Value("${clops.kafka.bootstrap}") String bootstrap,
                            @Value("${clops.command.append-timeout-ms:15000}") long appendTimeoutMs) throws InterruptedException {
        return new Revocations(bootstrap, Clock.systemUTC(), java.time.Duration.ofMillis(appendTimeoutMs));
    }
}
