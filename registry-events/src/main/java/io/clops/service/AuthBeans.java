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

    @io.micronaut.context.annotation.Context
    @io.micronaut.context.annotation.Bean(preDestroy = "close")
    Revocations revocations(@Value("${clops.kafka.bootstrap}") String bootstrap,
                            @Value("${clops.command.append-timeout-ms:15000}") long appendTimeoutMs) throws InterruptedException {
        return new Revocations(bootstrap, Clock.systemUTC(), java.time.Duration.ofMillis(appendTimeoutMs));
    }
}
