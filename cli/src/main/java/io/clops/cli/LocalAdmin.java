package io.clops.cli;

/** {@code clops up}'s local admin: one machine stays two commands, with a user and a logged-in CLI from the start. */
final class LocalAdmin {
    private LocalAdmin() {
    }

    /**
     * One machine: the first start creates a local admin (the operating-system user, with a random password kept
     * owner-only in {@code <home>/auth/initial-password}) and logs the CLI in as them through the API (the login is in
     * the log like any other); later starts keep the users file and log the CLI in again if it has no token.
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
                note += login(apiUrl, user, auth.resolve("initial-password"));
            }
            return user + " (local admin" + note + ")";
        } catch (java.io.IOException e) {
            throw new CliException("cannot set up the local admin in " + home.resolve("auth") + ": " + e.getMessage());
        }    }

    /**
     * Logs the CLI in through the API like {@code clops login} (so the token's issue is in the log, clops.logins),
     * with the password in {@code initialPassword}; says what it did, or how to log in when it could not.
     */
    private static String login(String apiUrl, String user, java.nio.file.Path initialPassword) throws java.io.IOException {
        if (!java.nio.file.Files.exists(initialPassword)) {
            return "; log the CLI in with clops login -u " + user;
        }
        ApiClient.Answer a = LoginCommand.login(apiUrl, "/api/v1/login", ApiClient.JSON.createObjectNode().put("user", user)
                .put("password", java.nio.file.Files.readString(initialPassword).strip()));
        return a.status() == 200 ? "; the CLI is logged in (" + CliConfig.path() + ")"
                : "; the CLI could not log in (" + a.body().path("error").asText("HTTP " + a.status()) + "): clops login -u " + user;
    }
}
