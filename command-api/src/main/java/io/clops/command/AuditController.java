package io.clops.command;

import io.clops.avro.AuditRecord;
import io.clops.gateway.Principal;
import io.clops.reconciler.AuditTrail;
import io.clops.reconciler.AuditVerifier;
import io.clops.reconciler.MemoryState;
import io.clops.service.Callers;
import io.clops.service.Http;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Auditors' questions, answered from the log: who did what and when ({@code GET /audit}), whether the trail is intact
 * ({@code GET /audit/verify}), what was desired at a moment ({@code GET /replay}), a deployment's generations
 * ({@code GET /projects/{p}/deployments/{d}/history}). Where tokens are required, each answer holds only the caller's
 * projects (ReadAccess checks the project paths).
 */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AuditController {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    private final AuditLog log;
    private final Callers callers;
    private final ReadAccess readAccess;

    public AuditController(AuditLog log, Callers callers, ReadAccess readAccess) {
        this.log = log;
        this.callers = callers;
        this.readAccess = readAccess;
    }

    /** Which projects' records the caller may read: every one without tokens, else those it has a role in. */
    private Predicate<String> visible(HttpRequest<?> request) {
        if (!callers.required()) {
            return p -> true;
        }
        Principal who = callers.of(request);
        return p -> readAccess.memberOf(who, p);
    }

    @Get(uri = "/audit", produces = "application/json")
    public HttpResponse<String> audit(HttpRequest<?> request, @Nullable @QueryValue String project, @Nullable @QueryValue String deployment,
                                      @Nullable @QueryValue String model, @Nullable @QueryValue String actor, @Nullable @QueryValue String since,
                                      @Nullable @QueryValue String until, @Nullable @QueryValue String limit, @Nullable @QueryValue String after) {
        Predicate<String> visible = visible(request);
        if (project != null && !visible.test(project)) {
            return Http.error(HttpStatus.FORBIDDEN, "you have no role in project '" + project + "'");
        }
        AuditLog.Filter filter;
        int n;
        try {
            filter = new AuditLog.Filter(project, deployment, model, actor, time(since, "since"), time(until, "until"));
            n = limit(limit);
        } catch (IllegalArgumentException e) {
            return Http.error(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        AuditLog.Page page;
        try {
            page = log.page(filter, visible, after, n);
        } catch (IllegalArgumentException e) {
            return Http.error(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("items", page.items().stream().map(AuditLog::json).toList());
        out.put("next", page.next());
        return Http.json(HttpStatus.OK, out);
    }

    @Get(uri = "/audit/verify", produces = "application/json")
    public HttpResponse<String> verify(HttpRequest<?> request) {
        Predicate<String> visible = visible(request);
        AuditVerifier.Result r = log.verify();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("intact", r.intact());
        out.put("records", r.records());
        out.put("events", r.events());
        out.put("unaudited", r.unaudited());
        String broken = r.broken();
        if (broken != null && callers.required() && !namesOnly(broken, visible)) {
            broken = "a record of a project you have no role in is broken: an operator can run clops audit verify on a copy of the log";
        }
        out.put("broken", broken);
        return Http.json(r.intact() ? HttpStatus.OK : HttpStatus.CONFLICT, out);
    }

    /** Whether every project the message names (" (project X,") is one the caller may see. */
    private static boolean namesOnly(String message, Predicate<String> visible) {
        var m = java.util.regex.Pattern.compile("\\(project ([^,]+),").matcher(message);
        boolean any = false;
        while (m.find()) {
            any = true;
            if (!visible.test(m.group(1))) {
                return false;
            }
        }
        return any;
    }

    /**
     * The desired state at {@code at} (every deployment and the registry's aliases), rebuilt by folding the log up to
     * then; with {@code diff}, also what changed from then to now, field by field.
     */
    @Get(uri = "/replay", produces = "application/json")
    public HttpResponse<String> replay(HttpRequest<?> request, @Nullable @QueryValue String at, @Nullable @QueryValue String project,
                                       @Nullable @QueryValue String diff) {
        Predicate<String> visible = visible(request);
        if (project != null && !visible.test(project)) {
            return Http.error(HttpStatus.FORBIDDEN, "you have no role in project '" + project + "'");
        }
        long atMs;
        try {
            if (at == null) {
                throw new IllegalArgumentException("at: required, the moment to rebuild (2026-12-01T14:03:00Z, 2026-12-01T14:03, or epoch milliseconds)");
            }
            atMs = time(at, "at");
        } catch (IllegalArgumentException e) {
            return Http.error(HttpStatus.BAD_REQUEST, e.getMessage());
        }
        MemoryState then = log.replay(atMs, project);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("at", Instant.ofEpochMilli(atMs).toString());
        out.putAll(AuditLog.json(then, visible));
        if ("true".equals(diff)) {
            MemoryState now = log.replay(Long.MAX_VALUE, project);
            out.put("changesSince", changes(then, now, visible));
        }
        return Http.json(HttpStatus.OK, out);
    }

    /** Field by field, what differs from {@code then} to {@code now}: the audit trail's own diff. */
    static List<String> changes(MemoryState then, MemoryState now, Predicate<String> visible) {
        List<String> out = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(then.desired().keySet());
        keys.addAll(now.desired().keySet());
        for (String k : keys) {
            if (visible.test(k.substring(0, k.indexOf('/')))) {
                diff("deployment " + k, then.desired().get(k), now.desired().get(k), out);
            }
        }
        TreeSet<String> models = new TreeSet<>(then.models().keySet());
        models.addAll(now.models().keySet());
        for (String k : models) {
            if (visible.test(k.substring(0, k.indexOf('/')))) {
                var a = then.models().get(k);
                var z = now.models().get(k);
                diff("model " + k + " aliases", a == null ? null : new java.util.TreeMap<>(a.getAliases()), z == null ? null : new java.util.TreeMap<>(z.getAliases()), out);
            }
        }
        return out;
    }

    private static void diff(String label, Object then, Object now, List<String> out) {
        if (then == null && now != null) {
            out.add(label + ": created since");
        } else {
            AuditTrail.diff(label, then, now, out);
        }
    }

    @Get(uri = "/projects/{project}/deployments/{name}/history", produces = "application/json")
    public HttpResponse<String> history(String project, String name) {
        List<AuditLog.Generation> generations = log.history(project, name);
        if (generations.isEmpty()) {
            return Http.error(HttpStatus.NOT_FOUND, "deployment '" + name + "' has no history in project '" + project + "'");
        }
        List<Map<String, Object>> items = new ArrayList<>();
        for (AuditLog.Generation g : generations) {
            AuditRecord e = g.event();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("generation", g.desired() == null ? null : g.generation());
            m.put("@timestamp", Instant.ofEpochMilli(e.getTimeMs()).toString());
            m.put("actor", e.getActor());
            m.put("action", g.desired() == null ? "undeploy" : e.getAction());
            m.put("eventId", e.getEventId());
            String prefix = "deployment " + project + "/" + name;
            m.put("changes", e.getChanges().stream().filter(c -> c.startsWith(prefix + " ") || c.startsWith(prefix + ":"))
                    .map(c -> c.substring(prefix.length()).replaceFirst("^[ :] ?", "")).toList());
            if (g.desired() != null) {
                m.put("spec", DeploymentViews.avroJson(g.desired().getSpec()));
                m.put("routes", DeploymentViews.json(g.desired(), null).get("routes"));
            }
            items.add(m);
        }
        return Http.json(HttpStatus.OK, Map.of("items", items));
    }

    /** A page size as the API takes it: a whole number from 1 to {@link #MAX_LIMIT}; null is {@link #DEFAULT_LIMIT}. */
    static int limit(String value) {
        if (value == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("limit: a whole number between 1 and " + MAX_LIMIT + ", not '" + value + "'");
    }

    /**
     * A moment as the API takes it: an ISO-8601 instant ({@code 2026-12-01T14:03:00Z}), a date and time without zone
     * (UTC), a date (its start, UTC), or epoch milliseconds; null stays null.
     */
    static Long time(String value, String field) {
        if (value == null) {
            return null;
        }
        String v = value.strip();
        try {
            if (v.matches("\\d{1,15}")) {
                return Long.parseLong(v);
            }
            if (v.matches("\\d{4}-\\d{2}-\\d{2}")) {
                return LocalDate.parse(v).atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
            }
            if (v.endsWith("Z") || v.matches(".*[+-]\\d{2}:\\d{2}$")) {
                return java.time.OffsetDateTime.parse(v).toInstant().toEpochMilli();
            }
            return LocalDateTime.parse(v).toInstant(ZoneOffset.UTC).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(field + ": not a moment: '" + value + "' (2026-12-01T14:03:00Z, 2026-12-01T14:03, 2026-12-01, or epoch milliseconds)");
        }
    }
}
