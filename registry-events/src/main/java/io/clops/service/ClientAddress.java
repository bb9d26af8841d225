package io.clops.service;

import io.micronaut.http.HttpRequest;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The address of the client behind a request: the socket's peer, unless that peer is one of the platform's own
 * proxies ({@code clops.http.trusted-proxies}: addresses and CIDR blocks, e.g. an ingress controller's pod network),
 * in which case {@code X-Forwarded-For} is read from the right, past every trusted hop, to the first address a
 * trusted proxy vouched for. Entries further left were written by the client and are never read, so a client cannot
 * choose its address: not to escape the per-address login limit, not to be recorded as someone else. With no trusted
 * proxies (the default) the header is ignored. Only IP literals are read (never a name: no DNS lookups on a
 * client's say-so); a hop a trusted proxy wrote that is not one ends the walk at that proxy.
 */
public final class ClientAddress {
    private static final Pattern V4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]+");
    private final List<Block> trusted;

    private ClientAddress(List<Block> trusted) {
        this.trusted = trusted;
    }

    /** No trusted proxies: the peer's address. */
    public static final ClientAddress PEER = new ClientAddress(List.of());

    /**
     * {@code spec}: comma-separated IP addresses and CIDR blocks ({@code 10.0.0.0/8, fd00::/8, 192.168.1.7}); empty
     * for none. A malformed entry is an {@link IllegalArgumentException} naming {@code setting} and the entry.
     */
    public static ClientAddress trusting(String spec, String setting) {
        List<Block> blocks = new ArrayList<>();
        for (String part : spec == null ? new String[0] : spec.split(",")) {
            String s = part.strip();
            if (s.isEmpty()) {
                continue;
            }
            int slash = s.indexOf('/');
            byte[] addr = literal(slash < 0 ? s : s.substring(0, slash));
            int bits = addr == null ? -1 : addr.length * 8;
            if (addr != null && slash >= 0) {
                String p = s.substring(slash + 1);
                bits = p.matches("\\d{1,3}") ? Integer.parseInt(p) : -1;
                if (bits > addr.length * 8) {
                    bits = -1;
                }
            }
            if (addr == null || bits < 0) {
                throw new IllegalArgumentException(setting + ": '" + s + "' is not an IP address or a CIDR block (such as 10.0.0.0/8)");
            }
            blocks.add(new Block(addr, bits));
        }
        return new ClientAddress(List.copyOf(blocks));
    }

    /** The client's address for {@code request}. */
    public String of(HttpRequest<?> request) {
        return of(request.getRemoteAddress().getAddress(), request.getHeaders().getAll("X-Forwarded-For"));
    }

    /** The client's address given the socket's peer and the X-Forwarded-For header lines, in order. */
    public String of(InetAddress peer, List<String> forwardedFor) {
        if (!trusts(peer.getAddress()) || forwardedFor.isEmpty()) {
            return peer.getHostAddress();
        }
        List<String> hops = new ArrayList<>();
        for (String line : forwardedFor) {
            for (String hop : line.split(",", -1)) {
                hops.add(hop.strip());
            }
        }
        InetAddress vouchedBy = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            byte[] hop = literal(withoutPort(hops.get(i)));
            if (hop == null) {
                return vouchedBy.getHostAddress(); // not an address: the proxy that passed it on is all that is known
            }
            InetAddress a = address(hop);
            if (!trusts(hop)) {
                return a.getHostAddress();
            }
            vouchedBy = a;
        }
        return vouchedBy.getHostAddress(); // every hop is a trusted proxy: the first of them
    }

    private boolean trusts(byte[] addr) {
        for (Block b : trusted) {
            if (b.contains(addr)) {
                return true;
            }
        }
        return false;
    }

    /** "1.2.3.4:80" → "1.2.3.4", "[::1]:80" and "[::1]" → "::1" (some proxies write ports); anything else as it is. */
    private static String withoutPort(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close < 0 ? hop : hop.substring(1, close);
        }
        int colon = hop.indexOf(':');
        return colon > 0 && hop.indexOf(':', colon + 1) < 0 ? hop.substring(0, colon) : hop;
    }

    /** The bytes of an IPv4 (dotted quad) or IPv6 literal, or null; never a name, so never a lookup. */
    static byte[] literal(String s) {
        java.util.regex.Matcher m = V4.matcher(s);
        if (m.matches()) {
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                int v = Integer.parseInt(m.group(i + 1));
                if (v > 255) {
                    return null;
                }
                b[i] = (byte) v;
            }
            return b;
        }
        if (s.indexOf(':') < 0 || !V6.matcher(s).matches()) {
            return null; // a name, a zone id, or nothing
        }
        try {
            return InetAddress.getByName(s).getAddress(); // contains ':': parsed as a literal or refused, never looked up
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static InetAddress address(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
        }
    }

    private record Block(byte[] prefix, int bits) {
        boolean contains(byte[] a) {
            byte[] p = prefix;
            if (a.length != p.length) {
                // an IPv4 address written as IPv4-mapped IPv6 (::ffff:a.b.c.d) against an IPv4 block, and back
                if (a.length == 16 && p.length == 4 && mapped(a)) {
                    a = java.util.Arrays.copyOfRange(a, 12, 16);
                } else {
                    return false;
                }
            }
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != p[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            return rest == 0 || ((a[full] ^ p[full]) & (0xff << (8 - rest)) & 0xff) == 0;
        }

        private static boolean mapped(byte[] a) {
            for (int i = 0; i < 10; i++) {
                if (a[i] != 0) {
                    return false;
                }
            }
            return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
        }
    }
}
