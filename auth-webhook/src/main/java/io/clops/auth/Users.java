package io.clops.auth;

import org.springframework.security.crypto.bcrypt.BCrypt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The users file: one {@code name:hash} per line (htpasswd's shape), each hash bcrypt with cost {@value #COST}
 * (Spring Security's BCrypt: salted, slow by design). Lines starting with {@code #} are comments. A login is checked
 * against the hash; an unknown user costs the same as a wrong password (a dummy hash is checked), so timing does not
 * tell which users exist.
 */
public final class Users implements IdentityProvider {
    public static final int COST = 12;
    /** bcrypt reads at most 72 bytes: a longer password would be silently cut, so it is refused. */
    public static final int MAX_PASSWORD_BYTES = 72;
    private static final String DUMMY = BCrypt.hashpw("not a password", BCrypt.gensalt(COST));

    private final Map<String, String> hashes;

    private Users(Map<String, String> hashes) {
        this.hashes = Map.copyOf(hashes);
    }

    public static Users read(Path file) throws IOException {
        Map<String, String> h = new LinkedHashMap<>();
        if (Files.exists(file)) {
            int n = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                n++;
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                int colon = l.indexOf(':');
                if (colon <= 0 || !l.substring(colon + 1).startsWith("$2")) {
                    throw new IOException(file + " line " + n + ": expected name:bcrypt-hash");
                }
                h.put(l.substring(0, colon), l.substring(colon + 1));
            }
        }
        return new Users(h);
    }

    /** Adds or replaces a user's password in the file (written whole, then moved into place). */
    public static void put(Path file, String user, String password) throws IOException {
        checkUser(user);
        checkPassword(password);
        List<String> lines = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.startsWith(user + ":")) {
                    lines.add(line);
                }
            }
        } else {
            lines.add("# clops users: name:bcrypt-hash (clops user add NAME writes it)");
        }
        lines.add(user + ":" + BCrypt.hashpw(password, BCrypt.gensalt(COST)));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        Tokens.ownerOnly(tmp);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static void checkUser(String user) {
        if (user == null || user.isEmpty() || user.length() > 200 || !user.chars().allMatch(c -> c > 0x20 && c != 0x7f && c != ':')) {
            throw new IllegalArgumentException("user: 1 to 200 printable characters without spaces or ':'");
        }
    }

    static void checkPassword(String password) {
        if (password == null || password.length() < 8) {
            throw new IllegalArgumentException("password: at least 8 characters");
        }
        if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            throw new IllegalArgumentException("password: at most " + MAX_PASSWORD_BYTES + " bytes (bcrypt reads no more)");
        }
    }

    @Override
    public String name() {
        return "users-file";
    }

    @Override
    public Optional<String> authenticate(String user, String password) {
        String hash = user == null ? null : hashes.get(user);
        boolean ok;
        try {
            ok = password != null && password.getBytes(StandardCharsets.UTF_8).length <= MAX_PASSWORD_BYTES
                    && BCrypt.checkpw(password, hash != null ? hash : DUMMY);
        } catch (IllegalArgumentException e) {
            ok = false;
        }
        return ok && hash != null ? Optional.of(user) : Optional.empty();
    }

    /** Is {@code user} a name in the file? (Says nothing to a caller: for what the platform records of a refusal.) */
    public boolean knows(String user) {
        return user != null && hashes.containsKey(user);
    }

    public boolean isEmpty() {
        return hashes.isEmpty();
    }
}
