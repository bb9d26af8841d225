package io.clops.broker;

import io.clops.net.FreePorts;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Apache Kafka's own broker (KRaft, combined broker+controller, one node) in this JVM.
 * <p>
 * Used by the JUnit extension (a temporary directory, one broker per test JVM) and by the one-machine mode
 * {@code clops up} (a persistent data directory: topics, offsets and the whole log survive a restart).
 * The first start formats the directory and records the cluster id and ports in {@code clops-broker.properties};
 * later starts reuse them, so clients and the KRaft quorum find the broker where it was.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final String STATE_FILE = "clops-broker.properties";

    /**
     * A broker that requires SASL like a production cluster: clients authenticate with SCRAM-SHA-512, the KRaft
     * controller listener with PLAIN (SCRAM credentials live in the metadata the controller serves), and Kafka's
     * StandardAuthorizer allows only what ACLs grant; {@code user} (the platform's services) is the one super user.
     */
    public record Security(String user, String password) {
        public Security {
            if (user == null || !user.matches("[A-Za-z0-9._-]{1,64}") || password == null || !password.matches("[A-Za-z0-9_-]{16,128}")) {
                throw new IllegalArgumentException("a broker user is 1-64 of [A-Za-z0-9._-] and its password 16-128 of [A-Za-z0-9_-]");
            }
        }

        /** A new random password (144 bits, base64url). */
        public static String newPassword() {
            return io.clops.kafka.KafkaAccess.newPassword();
        }

        /** The Kafka client settings that authenticate as {@code user} with {@code password}. */
        public static java.util.Map<String, String> client(String user, String password) {
            return io.clops.kafka.KafkaAccess.client(user, password);
        }

        /** The client settings of this super user. */
        public java.util.Map<String, String> client() {
            return client(user, password);
        }
    }

    private final Path dataDir;
    private final int port;
    private final KafkaRaftServer server;
    private final Security security;

    private EmbeddedKafkaBroker(Path dataDir, int port, KafkaRaftServer server, Security security) {
        this.dataDir = dataDir;
        this.port = port;
        this.server = server;
        this.security = security;
    }

    /**
     * Starts a broker on {@code dataDir}. {@code port} 0 picks a free port on first start; a formatted directory
     * keeps the port it was formatted with unless {@code port} names another one explicitly.
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port) {
        return start(dataDir, port, null);
    }

    /**
     * {@link #start(Path, int)}, requiring SASL when {@code security} is given ({@link Security}). A directory keeps the
     * mode it was formatted in: starting it in the other is refused, saying so.
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port, Security security) {
        try {
            Files.createDirectories(dataDir);
            Path stateFile = dataDir.resolve(STATE_FILE);
            Properties state = new Properties();
            if (Files.exists(stateFile)) {
                try (var in = Files.newInputStream(stateFile)) {
                    state.load(in);
                }
            }
            boolean formatted = state.containsKey("cluster.id");
            String mode = security == null ? "plaintext" : "sasl";
            if (formatted && !mode.equals(state.getProperty("security", "plaintext"))) {
                throw new IllegalStateException("the Kafka data in " + dataDir + " was made " + ("sasl".equals(mode) ? "without" : "with")
                        + " SASL and cannot be started " + ("sasl".equals(mode) ? "with" : "without") + " it: use another home, or the mode it was made in");
            }
            int brokerPort = port != 0 ? port
                    : formatted ? Integer.parseInt(state.getProperty("port")) : FreePorts.pick();
            int controllerPort = formatted ? Integer.parseInt(state.getProperty("controller.port")) : FreePorts.pick();
            String clusterId = formatted ? state.getProperty("cluster.id") : Uuid.randomUuid().toString();
            requireFree(brokerPort, "Kafka listener");
            requireFree(controllerPort, "KRaft controller listener");

            Path logDir = dataDir.resolve("kafka-logs");
            Properties props = brokerProps(logDir, brokerPort, controllerPort);
            if (security != null) {
                secure(props, brokerPort, controllerPort, security);
            }
            Path configFile = dataDir.resolve("server.properties");
            try (var out = Files.newOutputStream(configFile)) {
                props.store(out, "written by clops EmbeddedKafkaBroker");
            }
            if (!formatted) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                java.util.List<String> format = new java.util.ArrayList<>(java.util.List.of("format", "-t", clusterId, "-c", configFile.toString(), "--standalone"));
                if (security != null) { // the super user's SCRAM credential, in the metadata from the start
                    format.addAll(java.util.List.of("--add-scram", "SCRAM-SHA-512=[name=" + security.user() + ",password=" + security.password() + "]"));
                }
                int rc = StorageTool.execute(format.toArray(String[]::new), new PrintStream(buf, true, StandardCharsets.UTF_8));
                if (rc != 0) {
                    throw new IllegalStateException("formatting Kafka storage failed: " + buf.toString(StandardCharsets.UTF_8));
                }
                state.setProperty("cluster.id", clusterId);
                state.setProperty("port", Integer.toString(brokerPort));
                state.setProperty("controller.port", Integer.toString(controllerPort));
                state.setProperty("security", mode);
                try (var out = Files.newOutputStream(stateFile)) {
                    state.store(out, "clops embedded broker: cluster id and ports chosen at format time");
                }
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            return new EmbeddedKafkaBroker(dataDir, brokerPort, server, security);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded Kafka broker in " + dataDir, e);
        }
    }

    static Properties brokerProps(Path logDir, int port, int controllerPort) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("log.dirs", logDir.toString());
        p.setProperty("num.partitions", "3");
        p.setProperty("auto.create.topics.enable", "false");
        // a one-node cluster: internal topics must not ask for three replicas, or consumers silently get nothing
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "5");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("transaction.state.log.num.partitions", "5");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        p.setProperty("log.cleaner.dedupe.buffer.size", Integer.toString(8 * 1024 * 1024));
        p.setProperty("log.segment.bytes", Integer.toString(64 * 1024 * 1024));
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "4");
        return p;
    }

    /** How the data in {@code dataDir} was formatted: "sasl", "plaintext", or null when it is not formatted yet. */
    public static String formattedMode(Path dataDir) {
        Path stateFile = dataDir.resolve(STATE_FILE);
        if (!Files.exists(stateFile)) {
            return null;
        }
        Properties state = new Properties();
        try (var in = Files.newInputStream(stateFile)) {
            state.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return state.containsKey("cluster.id") ? state.getProperty("security", "plaintext") : null;
    }

    /** SASL on every listener, ACLs enforced, {@code security.user()} the super user. */
    static void secure(Properties p, int port, int controllerPort, Security security) {
        String scram = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + security.user()
                + "\" password=\"" + security.password() + "\";";
        String plain = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + security.user()
                + "\" password=\"" + security.password() + "\" user_" + security.user() + "=\"" + security.password() + "\";";
        p.setProperty("listeners", "SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "SASL_PLAINTEXT://127.0.0.1:" + port);
        p.setProperty("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.setProperty("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT");
        p.setProperty("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
        p.setProperty("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "SCRAM-SHA-512");
        p.setProperty("listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", scram);
        p.setProperty("sasl.mechanism.controller.protocol", "PLAIN");
        p.setProperty("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
        p.setProperty("listener.name.controller.plain.sasl.jaas.config", plain);
        p.setProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.setProperty("super.users", "User:" + security.user());
        p.setProperty("allow.everyone.if.no.acl.found", "false");
    }

    /** The super user this broker was started with, or null (a plaintext broker). */
    public Security security() {
        return security;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    private static void requireFree(int port, String what) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            throw new IllegalStateException(what + " port " + port + " is already in use (another clops up running?)");
        } catch (IOException expected) {
            // nothing listens there: good
        }
    }
}
