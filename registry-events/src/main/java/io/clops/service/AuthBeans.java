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
    @Singleton
    Tokens tokens(@Value("${clops.auth.dir:}") String dir) throws IOException {
        Path home = dir == null || dir.isBlank() ? Files.createTempDirectory("clops-auth") : Path.of(dir);
        return new Tokens(Tokens.keyIn(home), Clock.systemUTC());
    }

    @io.micronaut.context.annotation.Context
    @io.micronaut.context.annotation.Bean(preDestroy = "close")
    Revocations revocations(@Value("${clops.kafka.bootstrap}") String bootstrap) throws InterruptedException {
        return new Revocations(bootstrap, Clock.systemUTC());
    }
}
