package io.clops.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * GitHub as an identity provider: a GitHub token (a personal access token, or the CLI's {@code gh auth token}) is
 * exchanged for a clops token when GitHub says whose it is ({@code GET /user}) and that user belongs to one of the
 * platform's organisations ({@code GET /user/orgs}: the token needs the {@code read:org} scope for private
 * memberships). The clops user is {@code github:<login>}, so a GitHub account never takes a users-file name. The
 * GitHub token is used for these two calls and forgotten; it is never stored nor logged.
 * <p>
 * Without organisations GitHub login is off: anyone with a GitHub account would otherwise be a user of the platform
 * (and could create projects).
 */
public final class GitHubIdentity implements IdentityProvider {
    public static final String PREFIX = "github:";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LOGIN = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}");
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_.\\-]{1,255}");

    /** GitHub did not answer as it should (unreachable, 5xx, not JSON): not a wrong token, a login to retry. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(String message, Exception cause) {
            super(message, cause);
        }
    }

    private final URI api;
    private final Set<String> orgs;
    private final HttpClient http;
    private final Duration timeout;

    /**
     * @param api  GitHub's API (https://api.github.com; GitHub Enterprise: https://HOST/api/v3)
     * @param orgs the organisations whose members may log in (case-insensitive); empty: GitHub login is off
     */
    public GitHubIdentity(URI api, Set<String> orgs, Duration timeout) {
        this.api = URI.create(api.toString().endsWith("/") ? api.toString() : api + "/");
        this.orgs = orgs.stream().map(o -> o.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
        this.timeout = timeout;
    }

    @Override
    public String name() {
        return "github";
    }

    public boolean enabled() {
        return !orgs.isEmpty();
    }

    /** {@code user} is not used: the GitHub token says whose it is. */
    @Override
    public Optional<String> authenticate(String user, String githubToken) {
        if (!enabled() || githubToken == null || !TOKEN.matcher(githubToken).matches()) {
            return Optional.empty();
        }
        JsonNode me = get("user", githubToken);
        if (me == null || !me.path("login").isTextual() || !LOGIN.matcher(me.get("login").asText()).matches()) {
            return Optional.empty();
        }
        JsonNode memberships = get("user/orgs?per_page=100", githubToken);
        if (memberships == null || !memberships.isArray()) {
            return Optional.empty();
        }
        for (JsonNode o : memberships) {
            if (orgs.contains(o.path("login").asText("").toLowerCase(Locale.ROOT))) {
                return Optional.of(PREFIX + me.get("login").asText());
            }
        }
        return Optional.empty();
    }

    /** GitHub's answer to GET path with the token; null when GitHub refuses the token (401, 403). */
    private JsonNode get(String path, String githubToken) {
        HttpRequest r = HttpRequest.newBuilder(api.resolve(path)).timeout(timeout)
                .header("Authorization", "Bearer " + githubToken)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .header("User-Agent", "clops").GET().build();
        HttpResponse<byte[]> answer;
        try {
            answer = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unavailable("GitHub (" + api.getHost() + ") did not answer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while asking GitHub", e);
        }
        if (answer.statusCode() == 401 || answer.statusCode() == 403 || answer.statusCode() == 404) {
            return null;
        }
        if (answer.statusCode() != 200) {
            throw new Unavailable("GitHub answered " + answer.statusCode() + " to GET /" + path.replaceAll("\\?.*", ""), null);
        }
        try {
            return JSON.readTree(answer.body());
        } catch (IOException e) {
            throw new Unavailable("GitHub's answer to GET /" + path.replaceAll("\\?.*", "") + " is not JSON", e);
        }
    }
}
