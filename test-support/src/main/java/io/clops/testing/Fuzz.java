package io.clops.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * A small mutational fuzzer for the doors' parsers: seeds from a corpus kept in the repository (regression inputs
 * among them), each run mutated a few times at random (bit flips, interesting bytes, inserted or deleted ranges,
 * splices of two seeds, tokens from the target's dictionary) and handed to the target, for a time budget.
 * A target throws {@link AssertionError} when an invariant breaks; any other throwable is a crash. Either way the
 * input is written to {@code target/fuzz-failures/<target>/} and the test fails with it, to be added to the corpus
 * once fixed. The budget is {@code -Dclops.fuzz.seconds} (5 s in the suite; {@code bench/fuzz.sh} runs longer).
 */
public final class Fuzz {
    private Fuzz() {
    }

    @FunctionalInterface
    public interface Target {
        void run(byte[] input) throws Exception;
    }

    public static Duration budget() {
        return Duration.ofSeconds(Long.getLong("clops.fuzz.seconds", 5));
    }

    /** Runs {@code target} on the seeds, then on mutations of them until the budget is spent; returns how many runs. */
    public static long run(String name, List<byte[]> seeds, List<String> dictionary, Target target) {
        long seed = Long.getLong("clops.fuzz.seed", System.nanoTime());
        Random random = new Random(seed);
        List<byte[]> tokens = dictionary.stream().map(t -> t.getBytes(StandardCharsets.ISO_8859_1)).toList();
        long runs = 0;
        for (byte[] s : seeds) {
            check(name, seed, target, s);
            runs++;
        }
        long deadline = System.nanoTime() + budget().toNanos();
        while (System.nanoTime() < deadline) {
            byte[] input = seeds.get(random.nextInt(seeds.size()));
            int mutations = 1 + random.nextInt(8);
            for (int m = 0; m < mutations; m++) {
                input = mutate(random, input, seeds, tokens);
            }
            check(name, seed, target, input);
            runs++;
        }
        System.out.printf("fuzz %s: %d runs in %d s (seed %d), no failure%n", name, runs, budget().toSeconds(), seed);
        return runs;
    }

    /** The seeds of a corpus directory on the test classpath (src/test/resources/fuzz/NAME), plus {@code more}. */
    public static List<byte[]> corpus(Class<?> owner, String name, String... more) {
        List<byte[]> out = new ArrayList<>();
        try {
            var url = owner.getResource("/fuzz/" + name);
            if (url != null) {
                try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
                    for (Path f : files.sorted().toList()) {
                        out.add(Files.readAllBytes(f));
                    }
                }
            }
        } catch (IOException | java.net.URISyntaxException e) {
            throw new IllegalStateException("cannot read the fuzz corpus " + name, e);
        }
        for (String s : more) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no seeds for " + name);
        }
        return out;
    }

    private static void check(String name, long seed, Target target, byte[] input) {
        try {
            target.run(input);
        } catch (Throwable t) {
            Path saved = save(name, input);
            throw new AssertionError("fuzz " + name + " (seed " + seed + ") failed on the input saved at " + saved + ": "
                    + printable(input) + "\n" + t, t);
        }
    }

    private static Path save(String name, byte[] input) {
        try {
            Path dir = Path.of("target", "fuzz-failures", name);
            Files.createDirectories(dir);
            Path f = dir.resolve(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(input)).substring(0, 16));
            Files.write(f, input);
            return f.toAbsolutePath();
        } catch (Exception e) {
            return Path.of("(not saved: " + e + ")");
        }
    }

    static String printable(byte[] input) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(input.length, 400); i++) {
            int c = input[i] & 0xff;
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return b + (input.length > 400 ? "... (" + input.length + " bytes)" : "");
    }

    private static final byte[] INTERESTING = {0, 1, 0x7f, (byte) 0x80, (byte) 0xff, ' ', '\r', '\n', '\t', '"', '\\', '%', '/', '.',
            ':', ';', '#', '?', '{', '}', '[', ']', ',', '-', '0', '9', 'e', 'E'};

    static byte[] mutate(Random r, byte[] in, List<byte[]> seeds, List<byte[]> tokens) {
        int len = in.length;
        switch (r.nextInt(8)) {
            case 0 -> { // flip a bit
                if (len == 0) {
                    return new byte[]{(byte) r.nextInt(256)};
                }
                byte[] out = in.clone();
                out[r.nextInt(len)] ^= (byte) (1 << r.nextInt(8));
                return out;
            }
            case 1 -> { // an interesting byte
                if (len == 0) {
                    return new byte[]{INTERESTING[r.nextInt(INTERESTING.length)]};
                }
                byte[] out = in.clone();
                out[r.nextInt(len)] = INTERESTING[r.nextInt(INTERESTING.length)];
                return out;
            }
            case 2 -> { // delete a range
                if (len == 0) {
                    return in;
                }
                int from = r.nextInt(len);
                int to = Math.min(len, from + 1 + r.nextInt(Math.min(32, len - from)));
                return concat(slice(in, 0, from), slice(in, to, len));
            }
            case 3 -> { // duplicate a range
                if (len == 0) {
                    return in;
                }
                int from = r.nextInt(len);
                int to = Math.min(len, from + 1 + r.nextInt(64));
                int at = r.nextInt(len + 1);
                return concat(slice(in, 0, at), slice(in, from, to), slice(in, at, len));
            }
            case 4 -> { // random bytes
                byte[] junk = new byte[1 + r.nextInt(8)];
                r.nextBytes(junk);
                int at = r.nextInt(len + 1);
                return concat(slice(in, 0, at), junk, slice(in, at, len));
            }
            case 5 -> { // splice with another seed
                byte[] other = seeds.get(r.nextInt(seeds.size()));
                int a = r.nextInt(len + 1);
                int b = r.nextInt(other.length + 1);
                return concat(slice(in, 0, a), slice(other, b, other.length));
            }
            case 6 -> { // a dictionary token
                if (tokens.isEmpty()) {
                    return in;
                }
                int at = r.nextInt(len + 1);
                return concat(slice(in, 0, at), tokens.get(r.nextInt(tokens.size())), slice(in, at, len));
            }
            default -> { // replace a range by a token
                if (tokens.isEmpty() || len == 0) {
                    return in;
                }
                int from = r.nextInt(len);
                int to = Math.min(len, from + 1 + r.nextInt(16));
                return concat(slice(in, 0, from), tokens.get(r.nextInt(tokens.size())), slice(in, to, len));
            }
        }
    }

    private static byte[] slice(byte[] b, int from, int to) {
        return java.util.Arrays.copyOfRange(b, from, to);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[Math.min(n, 1 << 20)];
        int at = 0;
        for (byte[] p : parts) {
            int take = Math.min(p.length, out.length - at);
            System.arraycopy(p, 0, out, at, take);
            at += take;
        }
        return out;
    }
}
