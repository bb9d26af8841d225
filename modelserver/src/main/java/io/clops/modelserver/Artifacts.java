package io.clops.modelserver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Model files are named by their content: SHA-256, checked before anything loads them. */
public final class Artifacts {
    private Artifacts() {
    }

    /** A file whose content is not the one registered: nothing may serve it. */
    public static final class DigestMismatch extends IOException {
        public DigestMismatch(String message) {
            super(message);
        }
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return digest(in).sha256();
        }
    }

    /** A stream's SHA-256 and length, read to its end (nothing kept). */
    public record Digest(String sha256, long size) {
    }

    public static Digest digest(InputStream in) throws IOException {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        long size = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
            d.update(buffer, 0, n);
            size += n;
        }
        return new Digest(HexFormat.of().formatHex(d.digest()), size);
    }

    /**
     * A model file's bytes from where it was registered: a {@code file:} path, or an {@code http(s):} URL (with a
     * credential when given: see {@link #authorization}; an answer other than 200 is an error carrying the first words
     * of its body). Redirects are
     * followed (up to {@value #MAX_REDIRECTS}), and the token goes only to the URL's own origin (scheme, host and port):
     * a store that redirects to a CDN's signed URL must not hand the CDN its credential.
     */
    public static InputStream open(java.net.URI source, String token) throws IOException {
        return open(source, token, false, false);
    }

    /** {@link #open}; {@code publicOnly}: refusing hosts on this machine's own or private networks ({@link #refusePrivate}). */
    public static InputStream open(java.net.URI source, String token, boolean publicOnly) throws IOException {
        return open(source, token, false, publicOnly);
    }

    /**
     * Refuses {@code at} when its host is, or resolves to, an address of this machine or of a private network:
     * loopback, any address of this machine's own interfaces (a public one reaches what listens on every interface),
     * link-local (cloud metadata services), site-local and unique-local, carrier-grade NAT, unspecified, multicast,
     * broadcast and reserved (240/4). What a process fetches for a user not trusted with the machine must not reach
     * what only the machine can. The connection then goes where this check looked only in a process that
     * {@link #pinResolutions pinned} its resolutions first (else a name answered differently a moment later, DNS
     * rebinding, would slip past it).
     */
    static void refusePrivate(java.net.URI source, java.net.URI at) throws IOException {
        java.net.InetAddress[] all;
        try {
            all = java.net.InetAddress.getAllByName(at.getHost());
        } catch (java.net.UnknownHostException e) {
            throw new IOException("fetching " + source + ": no such host " + at.getHost());
        }
        for (java.net.InetAddress a : all) {
            byte[] b = a.getAddress();
            boolean privateV4 = b.length == 4 && (b[0] == 0 || (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64 // 0/8, 100.64/10
                    || (b[0] & 0xf0) == 0xf0); // 240/4 (reserved) and 255.255.255.255
            boolean uniqueLocalV6 = b.length == 16 && (b[0] & 0xfe) == 0xfc; // fc00::/7
            if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isAnyLocalAddress() || a.isMulticastAddress()
                    || privateV4 || uniqueLocalV6 || java.net.NetworkInterface.getByInetAddress(a) != null) {
                throw new IOException("fetching " + source + (at.equals(source) ? "" : " (redirected to " + at + ")") + ": refused, "
                        + at.getHost() + " is " + a.getHostAddress() + ", an address of the platform's machine or a private network;"
                        + " only versions registered by clops.auth.host-users fetch from there");
            }
        }
    }

    /**
     * Makes this process connect where {@link #refusePrivate} looked: every name resolved once and its answer kept for
     * the life of the process (the JDK's address cache, {@code networkaddress.cache.ttl=-1}), so a name whose DNS
     * answer turns from a public address to a private one between the check and the connection (DNS rebinding) is
     * still connected to the address the check passed. It must run before this process resolves any name (the JDK
     * reads the setting once): the first thing a model server fetching for an untrusted author does.
     */
    public static void pinResolutions() {
        java.security.Security.setProperty("networkaddress.cache.ttl", "-1");
    }

    /**
     * Whether {@code source} answers this credential (null: none) with the file: its first byte asked for
     * ({@code Range: bytes=0-0}; a host that ignores ranges sends the whole, of which one byte is read), redirects
     * and origins as {@link #open}. An {@link IOException} saying why when it does not (401, 403, 404).
     */
    public static void probe(java.net.URI source, String token, boolean publicOnly) throws IOException {
        try (InputStream in = open(source, token, true, publicOnly)) {
            in.read();
        }
    }

    private static InputStream open(java.net.URI source, String token, boolean firstByte, boolean publicOnly) throws IOException {
        String scheme = source.getScheme() == null ? "" : source.getScheme().toLowerCase(java.util.Locale.ROOT);
        switch (scheme) {
            case "file" -> {
                return Files.newInputStream(Path.of(source));
            }
            case "http", "https" -> {
                boolean credential = token != null && !token.isEmpty();
                SigV4.Key signing = credential && SigV4.names(token) ? SigV4.parse(printable(token, source), source.getHost()) : null;
                java.net.URI at = source;
                for (int hop = 0; ; hop++) {
                    if (publicOnly) {
                        refusePrivate(source, at); // every hop: a public host may redirect inwards
                    }
                    java.net.http.HttpRequest.Builder r = java.net.http.HttpRequest.newBuilder(at).timeout(java.time.Duration.ofMinutes(30)).GET();
                    if (firstByte) {
                        r.header("Range", "bytes=0-0");
                    }
                    if (credential && sameOrigin(source, at)) {
                        if (signing != null) { // signed for this very request, as it goes
                            SigV4.sign(signing, "GET", at, SigV4.hostHeader(at), java.time.Instant.now(), SigV4.UNSIGNED_PAYLOAD, java.util.Map.of())
                                    .forEach(r::header);
                        } else {
                            r.header("Authorization", authorization(token, source));
                        }
                    }
                    java.net.http.HttpResponse<InputStream> answer;
                    try {
                        answer = HTTP.send(r.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("fetching " + source + ": interrupted");
                    } catch (IOException e) { // a connection refused, a name unknown, a timeout: say where, not only what
                        String what = e instanceof java.net.ConnectException ? "could not connect"
                                : e instanceof java.net.http.HttpTimeoutException ? "timed out" : e.getClass().getSimpleName();
                        throw new IOException("fetching " + source + (at.equals(source) ? "" : " (redirected to " + at + ")") + ": " + what + " to "
                                + at.getHost() + ":" + port(at) + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
                    }
                    int status = answer.statusCode();
                    java.util.Optional<String> location = answer.headers().firstValue("Location");
                    if (REDIRECTS.contains(status) && location.isPresent()) {
                        answer.body().close();
                        if (hop == MAX_REDIRECTS) {
                            throw new IOException("fetching " + source + ": more than " + MAX_REDIRECTS + " redirects");
                        }
                        java.net.URI next = at.resolve(location.get());
                        String s = next.getScheme() == null ? "" : next.getScheme().toLowerCase(java.util.Locale.ROOT);
                        if (!s.equals("https") && !s.equals("http")) {
                            throw new IOException("fetching " + source + ": redirected to " + next + ", not an http(s) URL");
                        }
                        at = next;
                        continue;
                    }
                    if (status != 200 && !(firstByte && status == 206)) {
                        try (InputStream in = answer.body()) {
                            String why = new String(in.readNBytes(512), java.nio.charset.StandardCharsets.UTF_8);
                            String hint = (status == 401 || status == 403) && (token == null || token.isEmpty())
                                    ? " (no credential was sent for " + source.getHost() + ": see docs/model-files.md, \"Files that need credentials\")" : "";
                            throw new IOException("fetching " + source + (at.equals(source) ? "" : " (redirected to " + at.getHost() + ")") + ": HTTP "
                                    + status + (why.isBlank() ? "" : ": " + why.strip().replaceAll("\\s+", " ")) + hint);
                        }
                    }
                    return answer.body();
                }
            }
            default -> throw new IllegalArgumentException("model file source: a file:, http: or https: URI, not '" + source + "'");
        }
    }

    /** An authentication scheme (RFC 9110 §11.1: a token), a space, then what the scheme takes. */
    private static final java.util.regex.Pattern SCHEME_AND_CREDENTIALS =
            java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]* +[\\x21-\\x7e][\\x20-\\x7e]*");

    /**
     * The Authorization header for a credential: used as it is when it names its scheme ({@code Basic dXNlcjpwYXNz},
     * {@code Bearer …}, {@code Token …}), else a bearer token ({@code aws-sigv4 …} is not sent but signs each request:
     * {@link SigV4}). A credential with a line break, another control
     * character or one outside printable ASCII is refused (it could add headers of its own, or not be a header value
     * at all), naming the host, never the credential.
     */
    static String authorization(String credential, java.net.URI source) {
        return SCHEME_AND_CREDENTIALS.matcher(printable(credential, source)).matches() ? credential : "Bearer " + credential;
    }

    /** {@code credential}, unless it has a line break, another control character or one outside printable ASCII. */
    private static String printable(String credential, java.net.URI source) {
        for (int i = 0; i < credential.length(); i++) {
            char c = credential.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                throw new IllegalArgumentException("the credential for " + source.getHost() + " contains a line break or a character"
                        + " that is not printable ASCII: it must be one line, a token or '<scheme> <credentials>'");
            }
        }
        return credential;
    }

    static final int MAX_REDIRECTS = 5;
    private static final java.util.Set<Integer> REDIRECTS = java.util.Set.of(301, 302, 303, 307, 308);

    private static boolean sameOrigin(java.net.URI a, java.net.URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(java.net.URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /**
     * The credential for {@code source} in a directory of credentials, one file per host name ({@code <dir>/<host>},
     * the credential as its content: the shape of a Kubernetes Secret mounted as a volume): a bearer token, or a whole
     * Authorization value such as {@code Basic dXNlcjpwYXNz} ({@link #authorization}); null when there is none.
     */
    public static String credentialFor(Path dir, java.net.URI source) throws IOException {
        String host = source.getHost() == null ? "" : source.getHost().toLowerCase(java.util.Locale.ROOT);
        if (dir == null || !host.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?") || host.contains("..")) {
            return null;
        }
        Path f = dir.resolve(host);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        String token = Files.readString(f).strip();
        return token.isEmpty() ? null : token;
    }

    private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(10))
            .followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();

    /**
     * Refuses {@code file} unless its SHA-256 is {@code expected} (64 hex digits, case ignored), naming both digests.
     *
     * @return the digest
     */
    public static String verify(Path file, String expected) throws IOException {
        return verify(file, expected, "model file " + file, "refusing to serve it");
    }

    /** {@link #verify(Path, String)}, naming the file as {@code what} and saying {@code refusal}. */
    public static String verify(Path file, String expected, String what, String refusal) throws IOException {
        if (expected == null || !expected.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256: 64 hexadecimal digits, the digest the model file was registered with; not '" + expected + "'");
        }
        String actual = sha256(file);
        if (!actual.equalsIgnoreCase(expected)) {
            throw new DigestMismatch(what + ": its SHA-256 is " + actual + ", but it was registered as " + expected.toLowerCase()
                    + ": it changed since (corrupted or replaced); " + refusal);
        }
        return actual;
    }
}
