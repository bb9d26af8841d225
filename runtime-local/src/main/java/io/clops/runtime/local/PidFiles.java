package io.clops.runtime.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** One file per started process, so a platform that was killed can stop what it left running. */
final class PidFiles {
    private static final Logger LOG = LoggerFactory.getLogger(PidFiles.class);

    private PidFiles() {
    }

    static void write(Path file, ProcessHandle p) {
        long start = p.info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
        try {
            Files.writeString(file, p.pid() + " " + start + "\n");
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", file, e.toString());
        }
    }

    static void remove(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", file, e.toString());
        }
    }

    static void killOrphans(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".pid")).toList()) {
                List<String> parts = List.of(Files.readString(f).trim().split(" "));
                long pid = Long.parseLong(parts.get(0));
                long start = Long.parseLong(parts.get(1));
                ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                        .filter(h -> h.info().startInstant().map(i -> i.toEpochMilli() == start).orElse(false))
                        .ifPresent(h -> {
                            LOG.info("stopping process {} left behind by an earlier run ({})", pid, f.getFileName());
                            h.descendants().forEach(ProcessHandle::destroyForcibly);
                            h.destroyForcibly();
                        });
                Files.deleteIfExists(f);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot check for left-over processes in {}: {}", dir, e.toString());
        }
    }
}
