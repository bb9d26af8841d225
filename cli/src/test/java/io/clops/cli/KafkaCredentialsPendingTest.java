package io.clops.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kafka credentials are issued only once the platform's fold accepted the issuance; when it has not decided within
 * the API's wait, the API answers 202 with the command's id and no password. The real API answers that only while its
 * fold is behind, which a test cannot arrange without stopping the fold: a stand-in answers as the API does then.
 */
class KafkaCredentialsPendingTest {
    HttpServer api;

    @AfterEach
    void stop() {
        if (api != null) {
            api.stop(0);
        }
    }

    @Test
    void aRequestNotYetDecidedIsReportedAndNoCredentialsAreUsed() throws Exception {
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        api.createContext("/api/v1/projects/demo/kafka-credentials", ex -> {
            byte[] body = "{\"commandId\":\"c1\",\"project\":\"demo\",\"status\":\"pending\"}".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(202, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        api.start();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "--server=http://127.0.0.1:" + api.getAddress().getPort(),
                "--token=t", "--project=demo", "project", "kafka-credentials");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("no Kafka credentials yet for project demo (the platform has not decided the request): try again");
        assertThat(out.toString()).doesNotContain("password");
    }
}
