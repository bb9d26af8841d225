package io.clops.executor;

import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.schemas.SchemaTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
    private final Metrics metrics = new Metrics();
    private final Members members;
    private final java.util.concurrent.ScheduledExecutorService ticker = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "executor-metrics");
        t.setDaemon(true);
        return t;
    });

    public ExecutorMain(ExecutorConfig config) throws IOException {
        // one generator per thread: a shared java.util.Random is a compare-and-set on one seed from every event loop
        java.util.function.DoubleSupplier random = () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble();
        this.log = config.logRequests() && config.bootstrap() != null
                ? new InferenceLog(config.bootstrap(), config.project(), config.deployment(), config.logSample(), config.logMaxBytes(), random,
                        metrics.logDropped)
                : null;
        if (log != null) {
            metrics.logQueued = log::queued;
        }
        metrics.tick();
        ticker.scheduleAtFixedRate(metrics::tick, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
        this.loops = new EventLoops(config.threads(), config.transport());
        TokenCheck who;
        if (config.auth() != null) {
            try {
                this.members = Members.follow(config.auth(), config.project(), config.bootstrap(), Clock.systemUTC());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while reading the project's members", e);
            }
            who = members;
        } else {
            this.members = null;
            who = config.token() == null ? TokenCheck.ALLOW_ALL : TokenCheck.bearer(config.token());
        }
        Admission admission = new Admission(who,
                new RateLimiter(config.rateLimitRps(), System::nanoTime), config.rateLimitRps(),
                ShapeValidator.fromJson(config.inputsJson(), config.maxBodyBytes()));
        Dispatcher dispatcher = new Dispatcher(config, loops, new Router(config.routes(), random), admission, log, metrics);
        this.sync = new SyncServer(config, loops, dispatcher, metrics).start();
        if (members != null) {
            sync.broken(members::broken); // liveness fails when tokens cannot be checked (and every token is refused)
        }
        if (config.async()) {
            SchemaTopic.connect(config.bootstrap());
            TopicAdmin.ensure(config.bootstrap(), List.of(
                    Topics.inferRequests(config.project(), config.deployment()).spec(),
                    Topics.inferResponses(config.project(), config.deployment()).spec()));
            this.async = new AsyncWorker(config, dispatcher, metrics, Clock.systemUTC());
            this.facade = new AsyncFacade(config);
            sync.facade(facade);
            sync.broken(() -> firstOf(async.failure(), members == null ? null : members.broken())); // liveness fails: a kubelet restarts it
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

    private static String firstOf(String a, String b) {
        return a != null ? a : b;
    }

    public int port() {
        return sync.port();
    }

    /** The transport the event loops use: io_uring, epoll or nio. */
    public String transport() {
        return loops.transport();
    }

    /** This executor's metrics (what /metrics shows), readable after close too. */
    Metrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
        ticker.shutdownNow();
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
        if (members != null) {
            members.close();
        }
    }

    /**
     * One run through what serving loads (the server, a proxied answer, health, metrics) against a model on a raw
     * socket, then exit: run with {@code -XX:ArchiveClassesAtExit=F} it leaves a class-data archive that executors
     * started with {@code -XX:SharedArchiveFile=F} map instead of loading and verifying their classes again.
     */
    static void train() throws Exception {
        try (java.net.ServerSocket model = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
            Thread answers = new Thread(() -> {
                byte[] ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".getBytes(StandardCharsets.US_ASCII);
                while (!model.isClosed()) {
                    try (java.net.Socket s = model.accept()) {
                        java.io.InputStream in = s.getInputStream();
                        for (int n = 0; n < 4; ) { // a head with no body: up to its blank line
                            int c = in.read();
                            if (c < 0) {
                                break;
                            }
                            n = c == '\r' || c == '\n' ? n + 1 : 0;
                        }
                        s.getOutputStream().write(ok);
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            }, "training-model");
            answers.setDaemon(true);
            answers.start();
            ExecutorConfig c = ExecutorConfig.single(0, "http://127.0.0.1:" + model.getLocalPort(), "m", "cds", "training", "sync",
                    null, 2000, 1 << 20);
            try (ExecutorMain m = new ExecutorMain(c);
                 java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), m.port())) {
                s.setSoTimeout(5000);
                for (String path : new String[]{"/v2/health/live", "/v2/models/m", "/metrics"}) {
                    s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    java.io.InputStream in = s.getInputStream();
                    int first = in.read();
                    if (first < 0) {
                        throw new IllegalStateException("the training executor closed the connection at " + path);
                    }
                    Thread.sleep(100);
                    in.skip(in.available());
                }
            }
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
        if (args.length > 0 && args[0].equals("--train")) {
            train();
            System.exit(0);
        }
        ExecutorConfig config = ExecutorConfig.fromEnv(Map.copyOf(System.getenv()));
        ExecutorMain main = new ExecutorMain(config);
        Runtime.getRuntime().addShutdownHook(new Thread(main::close, "executor-shutdown"));
        if (main.asyncThread != null) {
            main.asyncThread.join();
            if (main.async.failure() != null) { // crash-only: whoever runs executors (kubelet, ./clops up) starts it again
                LOG.error("exiting: {}", main.async.failure());
                System.exit(70);
            }
        }
        Thread.currentThread().join();
    }
}
