package io.clops.executor;

import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.schemas.SchemaTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/** One executor process: sync proxy always, async worker when the deployment's mode asks for it. */
public final class ExecutorMain implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorMain.class);

    private final EventLoops loops;
    private final SyncServer sync;
    private final AsyncWorker async;
    private final Thread asyncThread;
    private final InferenceLog log;
    private final AsyncFacade facade;

    public ExecutorMain(ExecutorConfig config) throws IOException {
        Metrics metrics = new Metrics();
        java.util.Random random = new java.util.Random();
        this.log = config.logRequests() && config.bootstrap() != null
                ? new InferenceLog(config.bootstrap(), config.project(), config.deployment(), config.logSample(), config.logMaxBytes(), random::nextDouble,
                        metrics.logDropped)
                : null;
        this.loops = new EventLoops(config.threads(), config.transport());
        Dispatcher dispatcher = new Dispatcher(config, loops, new Router(config.routes(), random::nextDouble),
                ShapeValidator.fromJson(config.inputsJson()), log, metrics);
        this.sync = new SyncServer(config, loops, dispatcher, metrics, new RateLimiter(config.rateLimitRps(), System::nanoTime),
                config.token() == null ? TokenCheck.ALLOW_ALL : TokenCheck.bearer(config.token())).start();
        if (config.async()) {
            SchemaTopic.connect(config.bootstrap());
            TopicAdmin.ensure(config.bootstrap(), List.of(
                    Topics.inferRequests(config.project(), config.deployment()).spec(),
                    Topics.inferResponses(config.project(), config.deployment()).spec()));
            this.async = new AsyncWorker(config, dispatcher, metrics, Clock.systemUTC());
            this.facade = new AsyncFacade(config);
            sync.facade(facade);
            this.asyncThread = new Thread(async, "executor-async");
            asyncThread.start();
        } else {
            this.async = null;
            this.asyncThread = null;
            this.facade = null;
        }
        LOG.info("executor for {}/{} on http://{}:{} → {} (mode {}, {})", config.project(), config.deployment(),
                config.host(), sync.port(), Route.format(config.routes()), config.mode(), loops.transport());
    }

    public int port() {
        return sync.port();
    }

    /** The transport the event loops use: io_uring, epoll or nio. */
    public String transport() {
        return loops.transport();
    }

    @Override
    public void close() {
        if (async != null) {
            async.close();
            try {
                asyncThread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        sync.stop();
        loops.close();
        if (facade != null) {
            facade.close();
        }
        if (log != null) {
            log.close();
        }
    }

    public static void main(String[] args) throws Exception {
        // a serving process skips Netty's per-access buffer checks (tests keep them: they build ExecutorMain directly);
        // -Dio.netty.buffer.checkAccessible=true turns them back on
        for (String check : new String[]{"io.netty.buffer.checkAccessible", "io.netty.buffer.checkBounds"}) {
            if (System.getProperty(check) == null) {
                System.setProperty(check, "false");
            }
        }
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // tests run with Netty's sampling leak detector; a serving process does not pay for it unless asked
            io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        }
        ExecutorConfig config = ExecutorConfig.fromEnv(Map.copyOf(System.getenv()));
        ExecutorMain main = new ExecutorMain(config);
        Runtime.getRuntime().addShutdownHook(new Thread(main::close, "executor-shutdown"));
        Thread.currentThread().join();
    }
}
