package io.clops.cli;

/**
 * A failure the CLI explains in one line on stderr, exiting with {@code exitCode}. The codes scripts can rely on
 * (docs/cli.md): 0 done; 1 refused or failed (the reason on stderr); 2 a usage error (bad flags or arguments);
 * 3 the API could not be reached; 4 gave up waiting (--wait, --timeout).
 */
public final class CliException extends RuntimeException {
    public static final int REFUSED = 1;
    public static final int USAGE = 2;
    public static final int UNREACHABLE = 3;
    public static final int TIMED_OUT = 4;

    private final int exitCode;

    public CliException(String message) {
        this(message, 1);
    }

    public CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
