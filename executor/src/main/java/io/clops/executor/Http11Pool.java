package io.clops.executor;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A small blocking HTTP/1.1 client to one model: keep-alive connections kept in a pool, TCP_NODELAY, a read timeout.
 * It exists because the JDK's HttpClient capped the executor at ~3,000 proxied requests/s on two cores
 * (bench/executor-sync.sh). Responses with Content-Length or chunked bodies; a connection the model closed while
 * idle is detected on the first read and the request is sent once more on a fresh connection.
 */
final class Http11Pool {
    /** The model answered (any status). */
    record Response(int status, String contentType, byte[] body) {
    }

    /** No connection could be made: the model is down. */
    static final class ConnectFailed extends IOException {
        ConnectFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final java.util.Set<String> HOP = java.util.Set.of("connection", "content-length", "expect", "host",
            "upgrade", "keep-alive", "transfer-encoding", "te", "trailer", "proxy-authorization", "proxy-connection");

    private final String host;
    private final int port;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;
    private final BlockingQueue<Conn> idle = new ArrayBlockingQueue<>(256);

    Http11Pool(String host, int port, int connectTimeoutMs, int readTimeoutMs) {
        this.host = host;
        this.port = port;
        this.connectTimeoutMs = connectTimeoutMs;
        this.readTimeoutMs = readTimeoutMs;
    }

    private static final class Conn {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new UnsyncBufferedInput(socket.getInputStream(), 16 * 1024);
            this.out = socket.getOutputStream();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** @throws SocketTimeoutException when the model does not answer in time; {@link ConnectFailed} when it is down */
    Response exchange(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body) throws IOException {
        byte[] head = head(method, pathAndQuery, headers, body == null ? 0 : body.length);
        Conn c = idle.poll();
        boolean reused = c != null;
        if (c == null) {
            c = open();
        }
        try {
            return send(c, head, body);
        } catch (StaleConnection e) {
            c.close();
            if (!reused) {
                throw new IOException("model closed the connection", e);
            }
            Conn fresh = open();
            try {
                return send(fresh, head, body);
            } catch (StaleConnection again) {
                fresh.close();
                throw new IOException("model closed the connection", again);
            } catch (IOException | RuntimeException ex) {
                fresh.close();
                throw ex;
            }
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** A buffered stream without BufferedInputStream's lock per byte: one connection is used by one thread at a time. */
    private static final class UnsyncBufferedInput extends InputStream {
        private final InputStream in;
        private final byte[] buf;
        private int pos;
        private int len;

        UnsyncBufferedInput(InputStream in, int size) {
            this.in = in;
            this.buf = new byte[size];
        }

        private boolean fill() throws IOException {
            len = in.read(buf, 0, buf.length);
            pos = 0;
            return len > 0;
        }

        @Override
        public int read() throws IOException {
            if (pos >= len && !fill()) {
                return -1;
            }
            return buf[pos++] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int n) throws IOException {
            if (n == 0) {
                return 0;
            }
            if (pos >= len) {
                if (n >= buf.length) {
                    return in.read(b, off, n);
                }
                if (!fill()) {
                    return -1;
                }
            }
            int k = Math.min(n, len - pos);
            System.arraycopy(buf, pos, b, off, k);
            pos += k;
            return k;
        }
    }

    /** The connection ended before any byte of an answer: it was closed while idle. */
    private static final class StaleConnection extends IOException {
        StaleConnection(Throwable cause) {
            super(cause);
        }
    }

    private Conn open() throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), connectTimeoutMs);
            s.setSoTimeout(readTimeoutMs);
            return new Conn(s);
        } catch (IOException e) {
            s.close();
            throw new ConnectFailed("cannot connect to " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    private Response send(Conn c, byte[] head, byte[] body) throws IOException {
        try {
            c.out.write(head);
            if (body != null && body.length > 0) {
                c.out.write(body);
            }
            c.out.flush();
        } catch (IOException e) {
            throw new StaleConnection(e);
        }
        int first;
        try {
            first = c.in.read();
        } catch (SocketTimeoutException e) {
            throw e;
        } catch (IOException e) {
            throw new StaleConnection(e);
        }
        if (first < 0) {
            throw new StaleConnection(new EOFException("no answer"));
        }
        String status = (char) first + line(c.in);
        int code = Integer.parseInt(status.split(" ", 3)[1]);
        long length = -1;
        boolean chunked = false;
        boolean close = status.startsWith("HTTP/1.0");
        String contentType = "application/json";
        for (String h; !(h = line(c.in)).isEmpty(); ) {
            int colon = h.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> close = value.equalsIgnoreCase("close");
                case "content-type" -> contentType = value;
                default -> {
                }
            }
        }
        byte[] payload;
        if (chunked) {
            payload = chunked(c.in);
        } else if (length >= 0) {
            payload = c.in.readNBytes((int) length);
            if (payload.length < length) {
                throw new EOFException("model closed the connection mid-answer");
            }
        } else if (code == 204 || code == 304 || code < 200) {
            payload = new byte[0];
        } else {
            payload = c.in.readAllBytes(); // body until close
            close = true;
        }
        if (close || !idle.offer(c)) {
            c.close();
        }
        return new Response(code, contentType, payload);
    }

    private static byte[] chunked(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
            if (n == 0) {
                while (!line(in).isEmpty()) {
                    // trailers
                }
                return out.toByteArray();
            }
            out.write(in.readNBytes(n));
            line(in);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder(64);
        for (int ch; (ch = in.read()) != '\n'; ) {
            if (ch < 0) {
                throw new EOFException("model closed the connection mid-answer");
            }
            if (ch != '\r') {
                b.append((char) ch);
            }
        }
        return b.toString();
    }

    private byte[] head(String method, String pathAndQuery, Map<String, List<String>> headers, int length) {
        StringBuilder b = new StringBuilder(256).append(method).append(' ').append(pathAndQuery).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append(':').append(port).append("\r\n");
        headers.forEach((name, values) -> {
            if (!HOP.contains(name.toLowerCase(Locale.ROOT))) {
                for (String v : values) {
                    b.append(name).append(": ").append(v).append("\r\n");
                }
            }
        });
        if (length > 0 || method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) {
            b.append("Content-Length: ").append(length).append("\r\n");
        }
        return b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    void close() {
        for (Conn c; (c = idle.poll()) != null; ) {
            c.close();
        }
    }
}
