package io.clops.executor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pooled HTTP/1.1 client against a hand-written server that does what real model servers sometimes do. */
class Http11PoolTest {
    ServerSocket server;
    final AtomicInteger connections = new AtomicInteger();

    /** Serves each connection with {@code handler(requestNumberOnThisConnection, out)} until it returns false... */
    void serve(BiConsumer<Integer, OutputStream> handler, boolean closeAfterEach) throws IOException {
        server = new ServerSocket(0);
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    new Thread(() -> {
                        try (s; var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1))) {
                            for (int n = 0; ; n++) {
                                int length = 0;
                                String line = in.readLine();
                                if (line == null) {
                                    return;
                                }
                                while (!(line = in.readLine()).isEmpty()) {
                                    if (line.toLowerCase().startsWith("content-length:")) {
                                        length = Integer.parseInt(line.substring(15).trim());
                                    }
                                }
                                in.skip(length);
                                handler.accept(n, s.getOutputStream());
                                if (closeAfterEach) {
                                    return;
                                }
                            }
                        } catch (IOException ignored) {
                            // client went away
                        }
                    }).start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    static void write(OutputStream out, String s) {
        try {
            out.write(s.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    Http11Pool pool(int readTimeoutMs) {
        return new Http11Pool("127.0.0.1", server.getLocalPort(), 1000, readTimeoutMs);
    }

    @Test
    void keepAliveReusesOneConnectionAndChunkedAnswersAreReassembled() throws Exception {
        serve((n, out) -> write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\n{\"a\":\r\n2;ext=1\r\n" + n + "}\r\n0\r\n\r\n"), false);
        Http11Pool p = pool(2000);
        for (int i = 0; i < 5; i++) {
            Http11Pool.Response r = p.exchange("POST", "/x", Map.of("X-Trace", List.of("t")), "{}".getBytes());
            assertThat(r.status()).isEqualTo(200);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":" + i + "}");
        }
        assertThat(connections.get()).isEqualTo(1);
    }

    @Test
    void aConnectionTheModelClosedWhileIdleIsReplacedTransparently() throws Exception {
        serve((n, out) -> write(out, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"), true); // closes after each answer
        Http11Pool p = pool(2000);
        for (int i = 0; i < 3; i++) {
            Thread.sleep(50); // let the close arrive while the connection sits in the pool
            assertThat(p.exchange("GET", "/", Map.of(), null).status()).isEqualTo(201);
        }
        assertThat(connections.get()).isEqualTo(3);
    }

    @Test
    void connectionCloseAndBodyUntilCloseAreRespected() throws Exception {
        serve((n, out) -> {
            write(out, "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\nno length, body until close");
            try {
                out.close();
            } catch (IOException ignored) {
                // done
            }
        }, true);
        Http11Pool.Response r = pool(2000).exchange("GET", "/", Map.of(), null);
        assertThat(r.status()).isEqualTo(500);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("no length, body until close");
    }

    @Test
    void aSilentModelTimesOutAndAnAbsentOneCannotBeConnected() throws Exception {
        serve((n, out) -> {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException ignored) {
                // stop
            }
        }, true);
        assertThatThrownBy(() -> pool(200).exchange("GET", "/", Map.of(), null)).isInstanceOf(SocketTimeoutException.class);
        int port = server.getLocalPort();
        server.close();
        assertThatThrownBy(() -> new Http11Pool("127.0.0.1", port, 500, 500).exchange("GET", "/", Map.of(), null))
                .isInstanceOf(Http11Pool.ConnectFailed.class);
    }
}
