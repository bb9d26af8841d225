package io.clops.modelserver;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * AWS Signature Version 4 for reading an object over S3's REST API (Amazon S3, and the S3-compatible stores that speak
 * it: MinIO, Ceph, Cloudflare R2, Google Cloud Storage's XML API with HMAC keys), the way an S3 client signs a GET: the
 * credential a project keeps for the store's host is {@code aws-sigv4 <region> <access-key-id> <secret-access-key>
 * [<session-token>]}, and each request is signed with it at the moment it goes (a signature is valid for 15 minutes and
 * for that one request: it is never stored). The body is not hashed ({@code UNSIGNED-PAYLOAD}: a GET has none; the file
 * is checked against its registered digest anyway).
 */
final class SigV4 {
    static final String SCHEME = "aws-sigv4";
    static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final String SERVICE = "s3";

    /** A store's signing credential. */
    record Key(String region, String accessKeyId, String secretAccessKey, String sessionToken) {
        @Override
        public String toString() { // never the secret, should it reach a message or a log
            return "SigV4 key " + accessKeyId + " for " + region;
        }
    }

    private SigV4() {
    }

    /** Whether a credential asks for SigV4: it is {@value #SCHEME}, alone (refused by {@link #parse}) or followed by a space. */
    static boolean names(String credential) {
        String c = credential.strip();
        return c.equalsIgnoreCase(SCHEME) || c.regionMatches(true, 0, SCHEME + " ", 0, SCHEME.length() + 1);
    }

    /**
     * The key in a credential {@code aws-sigv4 <region> <access-key-id> <secret-access-key> [<session-token>]}, refused
     * naming the host and what is wrong, never the secret.
     */
    static Key parse(String credential, String host) {
        String[] p = credential.strip().split(" +");
        if (p.length < 4 || p.length > 5) {
            throw new IllegalArgumentException("the credential for " + host + " names " + SCHEME + " but is not '" + SCHEME
                    + " <region> <access-key-id> <secret-access-key> [<session-token>]' (" + (p.length - 1) + " values after the scheme)");
        }
        if (!p[1].matches("[a-z0-9-]{1,64}")) {
            throw new IllegalArgumentException("the credential for " + host + ": region '" + p[1] + "' is not a region name (such as eu-west-1)");
        }
        if (!p[2].matches("[A-Za-z0-9]{1,128}")) {
            throw new IllegalArgumentException("the credential for " + host + ": the access key id is not letters and digits");
        }
        return new Key(p[1], p[2], p[3], p.length == 5 ? p[4] : null);
    }

    /**
     * The headers that sign a GET of {@code uri} at {@code now}: {@code x-amz-date}, {@code x-amz-content-sha256},
     * {@code x-amz-security-token} for temporary credentials, and {@code Authorization}.
     *
     * @param host  the Host header as the request carries it (host, and {@code :port} when not the scheme's own)
     * @param extra more headers the request carries that are to be signed (name → value), or an empty map
     */
    static Map<String, String> sign(Key key, String method, URI uri, String host, Instant now, String payloadHash, Map<String, String> extra) {
        String stamp = STAMP.format(now);
        String day = stamp.substring(0, 8);
        Map<String, String> added = new LinkedHashMap<>();
        added.put("x-amz-date", stamp);
        added.put("x-amz-content-sha256", payloadHash);
        if (key.sessionToken() != null) {
            added.put("x-amz-security-token", key.sessionToken());
        }
        TreeMap<String, String> signed = new TreeMap<>();
        signed.put("host", host);
        extra.forEach((n, v) -> signed.put(n.toLowerCase(Locale.ROOT), v.strip().replaceAll(" +", " ")));
        signed.putAll(added);
        StringBuilder canonical = new StringBuilder(method).append('\n')
                .append(canonicalPath(uri.getRawPath())).append('\n')
                .append(canonicalQuery(uri.getRawQuery())).append('\n');
        signed.forEach((n, v) -> canonical.append(n).append(':').append(v).append('\n'));
        String names = String.join(";", signed.keySet());
        canonical.append('\n').append(names).append('\n').append(payloadHash);
        String scope = day + "/" + key.region() + "/" + SERVICE + "/aws4_request";
        String toSign = "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex(sha256(canonical.toString()));
        byte[] k = hmac(("AWS4" + key.secretAccessKey()).getBytes(StandardCharsets.UTF_8), day);
        k = hmac(k, key.region());
        k = hmac(k, SERVICE);
        k = hmac(k, "aws4_request");
        added.put("Authorization", "AWS4-HMAC-SHA256 Credential=" + key.accessKeyId() + "/" + scope + ",SignedHeaders=" + names
                + ",Signature=" + hex(hmac(k, toSign)));
        return added;
    }

    /** The Host header Java's HTTP client sends for {@code uri}: the port only when it is not the scheme's own. */
    static String hostHeader(URI uri) {
        int port = uri.getPort();
        boolean own = port == -1 || port == (uri.getScheme().equalsIgnoreCase("https") ? 443 : 80);
        return uri.getHost() + (own ? "" : ":" + port);
    }

    /**
     * The path as S3 reads it back: each segment's escapes decoded and the segment encoded again, RFC 3986's unreserved
     * characters kept (so {@code my%20model+v1} is signed as {@code my%20model%2Bv1}, whichever way the URL spelled it).
     */
    static String canonicalPath(String rawPath) {
        if (rawPath == null || rawPath.isEmpty()) {
            return "/";
        }
        StringBuilder out = new StringBuilder();
        for (String segment : rawPath.split("/", -1)) {
            out.append(out.length() == 0 && segment.isEmpty() ? "" : "/").append(encode(decode(segment)));
        }
        return out.toString();
    }

    /** The query's parameters sorted by name then value, each encoded as SigV4 asks (RFC 3986's unreserved kept). */
    static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        List<String[]> pairs = new ArrayList<>();
        for (String p : rawQuery.split("&")) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String n = eq < 0 ? p : p.substring(0, eq);
            String v = eq < 0 ? "" : p.substring(eq + 1);
            pairs.add(new String[]{encode(decode(n)), encode(decode(v))});
        }
        pairs.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        StringBuilder out = new StringBuilder();
        for (String[] p : pairs) {
            out.append(out.length() == 0 ? "" : "&").append(p[0]).append('=').append(p[1]);
        }
        return out.toString();
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String encode(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
