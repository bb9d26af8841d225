package io.clops.executor;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.util.Iterator;
import java.util.Map;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, so a proxy does not pass them on. Host and
 * Content-Length are set again for the next hop; an answer's framing (Content-Length, Transfer-Encoding) is kept,
 * since its body is passed on as it comes.
 */
final class Hop {
    private static final AsciiString[] CONNECTION_ONLY = {AsciiString.cached("connection"), AsciiString.cached("keep-alive"),
            AsciiString.cached("proxy-authenticate"), AsciiString.cached("proxy-authorization"),
            AsciiString.cached("proxy-connection"), AsciiString.cached("te"), AsciiString.cached("trailer"),
            AsciiString.cached("upgrade")};
    private static final AsciiString[] FRAMING = {AsciiString.cached("transfer-encoding"), AsciiString.cached("content-length"),
            AsciiString.cached("host")};

    private Hop() {
    }

    /** Not to be sent on: connection headers, and for a request also its framing and Host. */
    static boolean isHopByHop(CharSequence name) {
        return in(CONNECTION_ONLY, name) || in(FRAMING, name);
    }

    /** Removes, in place, what describes the connection it came on (the message is passed on as is otherwise). */
    static void strip(HttpHeaders headers) {
        boolean any = false;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext() && !any; ) {
            any = in(CONNECTION_ONLY, it.next().getKey());
        }
        if (!any) {
            return; // the usual case: one pass over a handful of names, nothing hashed
        }
        String connection = headers.get("connection");
        if (connection != null) {
            for (String token : connection.split(",")) {
                headers.remove(token.trim());
            }
        }
        for (AsciiString n : CONNECTION_ONLY) {
            headers.remove(n);
        }
    }

    private static boolean in(AsciiString[] names, CharSequence name) {
        for (AsciiString n : names) {
            if (n.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }
}
