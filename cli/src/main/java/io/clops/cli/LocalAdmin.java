package io.clops.cli;

/** {@code clops up}'s local admin: one machine stays two commands, with a user and a logged-in CLI from the start. */
final class LocalAdmin {
    private LocalAdmin() {
    }

    /**
     * One machine: the first start creates a local admin (the operating-system user, with a random password kept
     * owner-only in {@code <home>/auth/initial-password}) and logs the CLI in as them; later starts keep the users
     * file and log the CLI in again if it has no token.
     */
    static String ensure(java.nio.file.Path home, String apiUrl) {
        try {
            java.nio.file.Path auth = home.resolve("auth");
            java.nio.file.Path users = auth.resolve("users");
            String user = System.getProperty("user.name", "admin");
            String note = "";
            if (!java.nio.file.Files.exists(users)) {
                byte[] random = new byte[18];
                new java.security.SecureRandom().nextBytes(random);
                String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
                io.clops.auth.Users.put(users, user, password);
                java.nio.file.Path initial = auth.resolve("initial-password");
                java.nio.file.Files.writeString(initial, password + "\n");
                try {
                    java.nio.file.Files.setPosixFilePermissions(initial, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                } catch (UnsupportedOperationException notPosix) {
                    // the directory's own permissions protect it
                }
                note = "; its password is in " + initial;
            }
            com.fasterxml.jackson.databind.node.ObjectNode kept = CliConfig.read(CliConfig.path());
            if (!kept.hasNonNull("token") || !apiUrl.equals(kept.path("server").asText())) {
                io.clops.auth.Tokens tokens = new io.clops.auth.Tokens(io.clops.auth.Tokens.keyIn(auth), java.time.Clock.systemUTC());
                kept.put("token", tokens.issue(user, java.time.Duration.ofHours(12), io.clops.auth.Tokens.Kind.session, null));
                kept.put("server", apiUrl);
                CliConfig.write(CliConfig.path(), kept);
                note += "; the CLI is logged in (" + CliConfig.path() + ")";
            }
            return user + " (local admin" + note + ")";
        } catch (java.io.IOException e) {
            throw new CliException("cannot set up the local admin in " + home.resolve("auth") + ": " + e.getMessage());
        }
    }
}
