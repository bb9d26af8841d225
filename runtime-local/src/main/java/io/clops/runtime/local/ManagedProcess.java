package io.clops.runtime.local;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One supervised local process: output appended to a log file, restarted with exponential backoff (1 s doubling
 * to 30 s) after it exits, stopped with SIGTERM and, 5 s later, SIGKILL.
 */
final class ManagedProcess {
    private final String role;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path log;
    private final Path pidFile;
    private Process process;
    private int restarts;
    private long restartAtMs;
    private String failure;
    private boolean stopped;

    ManagedProcess(String role, List<String> command, Map<String, String> env, Path log, Path pidFile) {
        this.role = role;
        this.command = command;
        this.env = env;
        this.log = log;
        this.pidFile = pidFile;
    }

    void launch(long nowMs) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            // the platform's own credentials stay with the platform: a model (someone else's code) and an executor get
            // only what their env names (an executor its Kafka settings, LocalDeployment)
            pb.environment().keySet().removeIf(ManagedProcess::platformSecret);
            pb.environment().putAll(env);
            process = pb.start();
            PidFiles.write(pidFile, process.toHandle());
        } catch (IOException e) {
            process = null;
            failed(nowMs, "cannot start " + role + " (" + command.get(0) + "): " + e.getMessage());
        }
    }

    /** Environment variables a child never inherits: Kafka client settings (credentials), the CLI's token, auth settings. */
    static boolean platformSecret(String name) {
        return name.startsWith("CLOPS_KAFKA_CLIENT_") || name.equals("CLOPS_TOKEN") || name.startsWith("CLOPS_AUTH_");
    }

    /** Notices an exit and restarts when the backoff has passed. */
    void supervise(long nowMs) {
        if (stopped) {
            return;
        }
        if (process != null && !process.isAlive()) {
            int code = process.exitValue();
            process = null;
            String last = lastLine();
            failed(nowMs, role + " process exited with code " + code + (last.isEmpty() ? "" : ": " + last));
        }
        if (process == null && nowMs >= restartAtMs) {
            launch(nowMs);
        }
    }

    private void failed(long nowMs, String why) {
        failure = why + " (restart " + (restarts + 1) + ")";
        restartAtMs = nowMs + Math.min(30_000L, 1000L << Math.min(restarts, 5));
        restarts++;
    }

    /** Running now. */
    boolean running() {
        return process != null && process.isAlive();
    }

    /** Why the last run ended, while waiting to restart; null when running. */
    String failure() {
        return running() ? null : failure;
    }

    void resetRestarts() {
        restarts = 0;
        failure = null;
    }

    Long pid() {
        return process == null ? null : process.pid();
    }

    void stop() {
        stopped = true;
        Process p = process;
        process = null;
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        PidFiles.remove(pidFile);
    }

    /** The last non-blank line of the log, to say why a process ended. */
    private String lastLine() {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            int n = (int) Math.min(len, 4096);
            byte[] buf = new byte[n];
            f.seek(len - n);
            f.readFully(buf);
            String[] lines = new String(buf, StandardCharsets.UTF_8).split("\n");
            for (int i = lines.length - 1; i >= 0; i--) {
                if (!lines[i].isBlank()) {
                    String l = lines[i].trim();
                    return l.length() > 300 ? l.substring(0, 300) + "…" : l;
                }
            }
        } catch (IOException e) {
            // no log: nothing to add
        }
        return "";
    }

    static void ensureLog(Path log) {
        try {
            Files.createDirectories(log.getParent());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
