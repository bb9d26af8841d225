package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * clops tokens: signed, not stored. A token is {@code clops1.<claims>.<signature>}, the claims base64url JSON
 * ({@code sub} the user, {@code jti} a random id, {@code iat}/{@code exp} in epoch milliseconds, {@code kind}
 * session or service, {@code project} for a service account), signed with the platform's Ed25519 key.
 * <p>
 * Why signed rather than opaque: every door checks a token where it stands (the gateway, each executor sidecar on any
 * node, the TokenReview webhook) with only the public key, no call on the hot path and no token store to leak.
 * What a signature cannot say, that a token was revoked, is an event in the log every door follows (the revocation
 * bound is how far a door may lag it). Verification is the signature algorithm's, constant time in the token's
 * content; an unparseable token costs as little as a wrong one.
 */
public final class Tokens {
    public static final String PREFIX = "clops1.";
    /**
     * The revocation bound the platform promises: every door (the API, each executor) refuses a revoked token, or one
     * whose user left the project, within it of the record reaching the log. Each door follows the log continuously
     * (milliseconds on a healthy cluster); this is what the docs and tests hold them to.
     */
    public static final java.time.Duration REVOCATION_BOUND = java.time.Duration.ofSeconds(5);
    /** Longest token looked at: anything longer is refused before decoding. */
    public static final int MAX_LENGTH = 2048;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

    public enum Kind { session, service }

    /** What a valid token says. */
    public record Claims(String subject, String id, long issuedMs, long expiresMs, Kind kind, String project) {
    }

    /** Why a token is not valid: for {@code status.error} and 401 bodies; never contains the token. */
    public static final class Invalid extends Exception {
        public Invalid(String message) {
            super(message, null, false, false);
        }
    }

    private final PrivateKey signing;
    private final PublicKey verifying;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public Tokens(KeyPair keys, Clock clock) {
        this.signing = keys.getPrivate();
        this.verifying = keys.getPublic();
        this.clock = clock;
    }

    /** A verifier only: it checks tokens and can issue none. */
    public static Tokens verifier(PublicKey key, Clock clock) {
        return new Tokens(new KeyPair(key, null), clock);
    }

    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available in this JDK", e);
        }
    }

    /**
     * The platform's signing key, kept in {@code dir} (created on first use, readable by its owner only): tokens
     * issued before a restart stay valid after it.
     */
    public static KeyPair keyIn(Path dir) throws IOException {
        Path priv = dir.resolve("signing-key.pk8");
        Path pub = dir.resolve("signing-key.pub");
        try {
            KeyFactory f = KeyFactory.getInstance("Ed25519");
            if (Files.exists(priv) && Files.exists(pub)) {
                return new KeyPair(f.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(pub))),
                        f.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(priv))));
            }
            Files.createDirectories(dir);
            KeyPair k = generate();
            Path tmp = dir.resolve("signing-key.pk8.tmp");
            Files.write(tmp, k.getPrivate().getEncoded());
            ownerOnly(tmp);
            Files.write(pub, k.getPublic().getEncoded());
            Files.move(tmp, priv, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return k;
        } catch (GeneralSecurityException e) {
            throw new IOException("the signing key in " + dir + " is not an Ed25519 key pair: " + e.getMessage(), e);
        }
    }

    static void ownerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: the directory's own permissions are what protects it
        }
    }

    public PublicKey publicKey() {
        return verifying;
    }

    /** A new token for {@code subject}, valid for {@code ttl}. */
    public String issue(String subject, Duration ttl, Kind kind, String project) {
        long now = clock.millis();
        return issue(subject, newId(), now + ttl.toMillis(), kind, project);
    }

    /** A new random token id (128 bits, hex). */
    public String newId() {
        byte[] id = new byte[16];
        random.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    /** A token with a chosen id and expiry: a service account's, whose id the log recorded before it was issued. */
    public String issue(String subject, String id, long expiresMs, Kind kind, String project) {
        if (signing == null) {
            throw new IllegalStateException("a verifier issues no tokens");
        }
        long now = clock.millis();
        ObjectNode c = JSON.createObjectNode().put("sub", subject).put("jti", id).put("iat", now)
                .put("exp", expiresMs).put("kind", kind.name());
        if (project != null) {
            c.put("project", project);
        }
        String body = PREFIX + B64.encodeToString(c.toString().getBytes(StandardCharsets.UTF_8));
        return body + "." + B64.encodeToString(sign(body.getBytes(StandardCharsets.US_ASCII)));
    }

    /** The claims of a valid, unexpired token; {@link Invalid} saying why not otherwise. */
    public Claims verify(String token) throws Invalid {
        if (token == null || token.isEmpty()) {
            throw new Invalid("no token");
        }
        if (token.length() > MAX_LENGTH || !token.startsWith(PREFIX)) {
            throw new Invalid("not a clops token");
        }
        int dot = token.lastIndexOf('.');
        if (dot <= PREFIX.length()) {
            throw new Invalid("not a clops token");
        }
        String body = token.substring(0, dot);
        byte[] sig;
        byte[] claims;
        try {
            sig = UNB64.decode(token.substring(dot + 1));
            claims = UNB64.decode(body.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new Invalid("not a clops token");
        }
        if (!verifies(body.getBytes(StandardCharsets.US_ASCII), sig)) {
            throw new Invalid("the token's signature is not the platform's");
        }
        JsonNode c;
        try {
            c = JSON.readTree(claims);
        } catch (IOException e) {
            throw new Invalid("not a clops token");
        }
        long exp = c.path("exp").asLong();
        if (clock.millis() >= exp) {
            throw new Invalid("the token expired at " + java.time.Instant.ofEpochMilli(exp));
        }
        Kind kind;
        try {
            kind = Kind.valueOf(c.path("kind").asText());
        } catch (IllegalArgumentException e) {
            throw new Invalid("not a clops token");
        }
        return new Claims(c.path("sub").asText(), c.path("jti").asText(), c.path("iat").asLong(), exp, kind,
                c.hasNonNull("project") ? c.get("project").asText() : null);
    }

    /** {@link #verify} as an optional, for doors that only need to know whether. */
    public Optional<Claims> check(String token) {
        try {
            return Optional.of(verify(token));
        } catch (Invalid e) {
            return Optional.empty();
        }
    }

    private byte[] sign(byte[] data) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(signing);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private boolean verifies(byte[] data, byte[] sig) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(verifying);
            s.update(data);
            return s.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
