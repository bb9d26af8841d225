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

    private final Path dataDir;
    private final int port;
    private final KafkaRaftServer server;

    private EmbeddedKafkaBroker(Path dataDir, int port, KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.port = port;
        this.server = server;
    }

    /**
     * Starts a broker on {@code dataDir}. {@code port} 0 picks a free port on first start; a formatted directory
     * keeps the port it was formatted with unless {@code port} names another one explicitly.
     */
    public static EmbeddedKafkaBroker start(Path dataDir, int port) {
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
            int brokerPort = port != 0 ? port
                    : formatted ? Integer.parseInt(state.getProperty("port")) : FreePorts.pick();
            int controllerPort = formatted ? Integer.parseInt(state.getProperty("controller.port")) : FreePorts.pick();
            String clusterId = formatted ? state.getProperty("cluster.id") : Uuid.randomUuid().toString();
            requireFree(brokerPort, "Kafka listener");
            requireFree(controllerPort, "KRaft controller listener");

            Path logDir = dataDir.resolve("kafka-logs");
            Properties props = brokerProps(logDir, brokerPort, controllerPort);
            Path configFile = dataDir.resolve("server.properties");
            try (var out = Files.newOutputStream(configFile)) {
                props.store(out, "written by clops EmbeddedKafkaBroker");
            }
            if (!formatted) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                int rc = StorageTool.execute(new String[]{"format", "-t", clusterId, "-c", configFile.toString(), "--standalone"},
                        new PrintStream(buf, true, StandardCharsets.UTF_8));
                if (rc != 0) {
                    throw new IllegalStateException("formatting Kafka storage failed: " + buf.toString(StandardCharsets.UTF_8));
                }
                state.setProperty("cluster.id", clusterId);
                state.setProperty("port", Integer.toString(brokerPort));
                state.setProperty("controller.port", Integer.toString(controllerPort));
                try (var out = Files.newOutputStream(stateFile)) {
                    state.store(out, "clops embedded broker: cluster id and ports chosen at format time");
                }
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            return new EmbeddedKafkaBroker(dataDir, brokerPort, server);
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
