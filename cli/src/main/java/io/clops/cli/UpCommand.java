package io.clops.cli;

import io.clops.platform.Platform;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "up", description = "Run the whole platform on this machine: Kafka, API, topology, local worker. Ctrl-C stops it; state survives a restart.")
public final class UpCommand implements Callable<Integer> {
    @Option(names = "--home", defaultValue = "${env:CLOPS_HOME:-${sys:user.home}/.clops}", description = "data directory (default ${DEFAULT-VALUE})")
    Path home;

    @Option(names = "--api-port", defaultValue = "8080", description = "API port (default ${DEFAULT-VALUE})")
    int apiPort;

    @Option(names = "--kafka-port", defaultValue = "0", description = "Kafka port on first start (0: a free one, kept afterwards)")
    int kafkaPort;

    @Option(names = "--bootstrap", description = "use this Kafka cluster instead of the embedded broker (required with --runtime kubernetes)")
    String bootstrap;

    @Option(names = "--runtime", defaultValue = "local", description = "local (processes on this machine) or kubernetes (the current kubeconfig's cluster)")
    String runtime;

    @Option(names = "--executor-image", defaultValue = "ghcr.io/clops/clops:0.1.0", description = "executor sidecar image (kubernetes runtime)")
    String executorImage;

    @Option(names = "--api-host", defaultValue = "127.0.0.1", description = "address the API listens on (0.0.0.0 in a container)")
    String apiHost;

    @Option(names = "--components", split = ",", description = "run only these: api, reconciler, worker (default: all)")
    java.util.Set<Platform.Component> components = java.util.EnumSet.allOf(Platform.Component.class);

    @Option(names = "--no-auth", description = "let requests without a token act for the local user (by default every API request"
            + " needs a token and its project role; `clops up` logs the CLI in as the local admin)")
    boolean noAuth;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        if (!runtime.equals("local") && !runtime.equals("kubernetes")) {
            throw new CliException("--runtime: local or kubernetes, not '" + runtime + "'", 2);
        }
        if (runtime.equals("kubernetes") && bootstrap == null) {
            throw new CliException("--runtime kubernetes needs --bootstrap: executors in the cluster must reach Kafka", 2);
        }
        Platform platform = Platform.start(new Platform.Options(home, apiHost, apiPort, kafkaPort, bootstrap,
                components, runtime, executorImage, !noAuth), line -> Ui.progress(spec, line));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("… stopping clops");
            platform.close();
            stopped.countDown();
        }, "clops-shutdown"));
        var out = spec.commandLine().getOut();
        String admin = platform.apiUrl() == null ? null : LocalAdmin.ensure(home, platform.apiUrl());
        out.println("clops is up");
        out.println("  API:    " + (platform.apiUrl() == null ? "(not in this process)" : platform.apiUrl()));
        out.println("  Runtime: " + runtime);
        out.println("  Kafka:  " + platform.bootstrap());
        out.println("  Home:   " + home);
        if (admin != null) {
            out.println("  You:    " + admin);
        }
        if (!noAuth && runtime.equals("local")) { // a version's command runs here as this process's user
            String host = System.getenv("CLOPS_AUTH_HOST_USERS");
            out.println("  Host:   " + (host == null || host.isBlank() ? "only you (the local admin)" : host.strip())
                    + " may register versions that run a command or read a file: path on this machine (CLOPS_AUTH_HOST_USERS)");
        }
        out.println("Try: ./clops get deployments    (Ctrl-C to stop)");
        out.flush();
        stopped.await();
        return 0;
    }
}
