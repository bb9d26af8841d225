package io.clops.testing;

import io.clops.broker.EmbeddedKafkaBroker;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One real Apache Kafka broker (KRaft, in this JVM) shared by every test class of the JVM that uses
 * {@code @ExtendWith(KafkaExtension.class)}; the catalog's topics exist before the first test. Closed when the JVM's
 * test run ends.
 */
public final class KafkaExtension implements BeforeAllCallback {

    private static volatile EmbeddedKafkaBroker broker;

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent("clops-kafka-broker", k -> new Handle(), Handle.class);
    }

    /** Bootstrap servers of the shared broker (starting it if no test class did yet). */
    public static synchronized String bootstrapServers() {
        if (broker == null) {
            new Handle();
        }
        return broker.bootstrapServers();
    }

    private static final class Handle implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        private final Path dir;

        Handle() {
            synchronized (KafkaExtension.class) {
                try {
                    dir = Files.createTempDirectory("clops-test-kafka");
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                if (broker == null) {
                    broker = EmbeddedKafkaBroker.start(dir, 0);
                    TopicAdmin.ensure(broker.bootstrapServers(), Topics.ALL);
                }
            }
        }

        @Override
        public void close() {
            synchronized (KafkaExtension.class) {
                if (broker != null) {
                    broker.close();
                    broker = null;
                }
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // a temp dir left behind is harmless
                }
            }
        }
    }
}
