package io.clops.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.api.DeploymentSpecParser;
import io.clops.api.FieldError;
import io.clops.api.InvalidRequest;
import io.clops.api.Names;
import io.clops.api.ProjectRequests;
import io.clops.api.RegistryRequests;
import io.clops.avro.AliasRemoved;
import io.clops.avro.AliasSet;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeployCommand;
import io.clops.avro.RegistryEvent;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionArchived;
import io.clops.avro.VersionRegistered;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Every way a write arrives, parsed into a {@link Request} by the same parsers, or refused with an
 * {@link InvalidRequest} naming each bad field: HTTP (path and body), the intake's JSON actions, the intake's Avro
 * envelopes (checked by the same rules as JSON, never trusted because they are typed).
 */
public final class Requests {
    private Requests() {
    }

    /** The longest idempotency key or request id taken. */
    public static final int MAX_KEY = 200;

    public static Request.Deploy deploy(String project, String name, JsonNode doc) {
        DeploymentSpecParser.Parsed p = DeploymentSpecParser.parse(project, name, doc);
        return new Request.Deploy(p.project(), p.name(), p.spec());
    }

    /** A deploy that must find the deployment at {@code expectedGeneration} (null: any; 0: new). */
    public static Request.Deploy deploy(String project, String name, JsonNode doc, Long expectedGeneration) {
        Request.Deploy d = deploy(project, name, doc);
        return new Request.Deploy(d.project(), d.name(), d.spec(), expectedGeneration);
    }

    /** An expected generation as a caller wrote it (an {@code If-Match} header: 3 or "3"); null when absent. */
    public static Long generation(String value, String field) {
        if (value == null) {
            return null;
        }
        String v = value.length() > 1 && value.startsWith("\"") && value.endsWith("\"") ? value.substring(1, value.length() - 1) : value;
        if (!v.matches("0|[1-9][0-9]{0,17}")) {
            throw new InvalidRequest("invalid " + field, List.of(new FieldError(field,
                    "must be the generation the deployment is expected at (0 for a new one), not '" + RegistryRequests.abbreviate(value) + "'")));
        }
        return Long.parseLong(v);
    }

    public static Request.CreateProject createProject(JsonNode body) {
        ProjectRequests.Create c = ProjectRequests.create(body);
        return new Request.CreateProject(c.name(), c.admin(), c.description(), c.quota());
    }

    public static Request.DeleteProject deleteProject(String project) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        throwIfAny("invalid project", errors);
        return new Request.DeleteProject(project);
    }

    public static Request.SetMember setMember(String project, String user, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        ProjectRequests.checkUser("user", user, errors);
        io.clops.avro.ProjectRole role = null;
        try {
            role = ProjectRequests.role(body);
        } catch (InvalidRequest e) {
            errors.addAll(e.errors());
        }
        throwIfAny("invalid member", errors);
        return new Request.SetMember(project, user, role);
    }

    public static Request.RemoveMember removeMember(String project, String user) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        ProjectRequests.checkUser("user", user, errors);
        throwIfAny("invalid member", errors);
        return new Request.RemoveMember(project, user);
    }

    public static Request.SetQuota setQuota(String project, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        io.clops.avro.ProjectQuota q = ProjectRequests.quota(body, "", errors);
        throwIfAny("invalid quota", errors);
        return new Request.SetQuota(project, q);
    }

    /** The longest a service account's token lasts. */
    public static final int MAX_SERVICE_ACCOUNT_DAYS = 3650;

    /** What {@code POST /projects/{p}/serviceaccounts} asks: a name, a role (default modeler), a lifetime in days (default 365). */
    public record ServiceAccountAsked(String project, String name, io.clops.avro.ProjectRole role, int days) {
    }

    public static ServiceAccountAsked serviceAccount(String project, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        if (body == null || !body.isObject()) {
            throw new InvalidRequest("invalid service account", List.of(new FieldError("body", "must be a JSON object {\"name\": …}")));
        }
        Iterator<String> fields = body.fieldNames();
        while (fields.hasNext()) {
            String f = fields.next();
            if (!Set.of("name", "role", "days").contains(f)) {
                errors.add(new FieldError(FieldError.name("", f), "unknown field (known: days, name, role)"));
            }
        }
        String name = body.path("name").isTextual() ? body.get("name").asText() : null;
        Names.checkLabel("name", name, 40, errors);
        io.clops.avro.ProjectRole role = io.clops.avro.ProjectRole.modeler;
        if (body.has("role")) {
            try {
                role = ProjectRequests.role(((com.fasterxml.jackson.databind.node.ObjectNode) body.deepCopy()).retain("role"));
            } catch (InvalidRequest e) {
                errors.addAll(e.errors());
            }
        }
        int days = 365;
        if (body.has("days")) {
            JsonNode d = body.get("days");
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.asInt() < 1 || d.asInt() > MAX_SERVICE_ACCOUNT_DAYS) {
                errors.add(new FieldError("days", "must be a whole number of days from 1 to " + MAX_SERVICE_ACCOUNT_DAYS + ", not "
                        + RegistryRequests.abbreviate(d)));
            } else {
                days = d.asInt();
            }
        }
        throwIfAny("invalid service account", errors);
        return new ServiceAccountAsked(project, name, role, days);
    }

    public static Request.RemoveServiceAccount removeServiceAccount(String project, String name) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("name", name, 40, errors);
        throwIfAny("invalid service account", errors);
        return new Request.RemoveServiceAccount(project, name);
    }

    public static Request.IssueKafkaCredentials issueKafkaCredentials(String project, String user) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        throwIfAny("invalid Kafka credentials request", errors);
        return new Request.IssueKafkaCredentials(project, user);
    }

    public static Request.Undeploy undeploy(String project, String name) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("name", name, 40, errors);
        throwIfAny("invalid undeploy", errors);
        return new Request.Undeploy(project, name);
    }

    public static Request.RegisterVersion register(String project, String model, JsonNode body) {
        return new Request.RegisterVersion(project, model, RegistryRequests.version(project, model, body));
    }

    public static Request.SetAlias setAlias(String project, String model, String alias, JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("model", model, 40, errors);
        int version = 0;
        try {
            version = RegistryRequests.aliasTarget(alias, body);
        } catch (InvalidRequest e) {
            errors.addAll(e.errors());
        }
        throwIfAny("invalid alias", errors);
        return new Request.SetAlias(project, model, alias, version);
    }

    public static Request.RemoveAlias removeAlias(String project, String model, String alias) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("model", model, 40, errors);
        Names.checkLabel("alias", alias, 40, errors);
        throwIfAny("invalid alias", errors);
        return new Request.RemoveAlias(project, model, alias);
    }

    /** {@code version} as written in a URL path. */
    public static Request.ArchiveVersion archive(String project, String model, String version) {
        List<FieldError> errors = new ArrayList<>();
        Names.checkProject("project", project, errors);
        Names.checkLabel("model", model, 40, errors);
        int v = 0;
        if (version == null || !version.matches("[1-9][0-9]{0,8}")) {
            errors.add(new FieldError("version", "must be a version number (1 to 999999999), not '" + RegistryRequests.abbreviate(version) + "'"));
        } else {
            v = Integer.parseInt(version);
        }
        throwIfAny("invalid archive", errors);
        return new Request.ArchiveVersion(project, model, v);
    }

    /**
     * An idempotency key or request id as a caller sent it ({@code null}: none): at most {@value #MAX_KEY} printable
     * ASCII characters. {@code field} names where it came from (a header).
     */
    public static String key(String value, String field) {
        if (value == null) {
            return null;
        }
        if (value.isEmpty() || value.length() > MAX_KEY || !value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new InvalidRequest("invalid " + field, List.of(new FieldError(field,
                    "must be 1 to " + MAX_KEY + " printable ASCII characters without spaces")));
        }
        return value;
    }

    // ------------------------------------------------------------------------------------------- the intake

    /** The intake's JSON actions and the fields each takes (besides {@code action} and {@code project}). */
    static final Map<String, Set<String>> ACTIONS = Map.of(
            "deploy", Set.of("deployment"),
            "undeploy", Set.of("name"),
            "register", Set.of("model", "version"),
            "alias", Set.of("model", "alias", "version"),
            "unalias", Set.of("model", "alias"),
            "archive", Set.of("model", "version"));

    /**
     * One JSON request from the intake: {@code {"action": …, "project": …, …}} where each action carries the body
     * its HTTP route takes ({@code deployment}: a ModelDeployment document; {@code version}: a version body, or a
     * number for alias and archive). Errors name fields from the top of the record ({@code deployment.spec.mode}).
     */
    public static Request fromIntake(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw new InvalidRequest("invalid intake request", List.of(new FieldError("body",
                    "must be a JSON object {\"action\": …, \"project\": …}")));
        }
        List<FieldError> errors = new ArrayList<>();
        String action = json.path("action").isTextual() ? json.get("action").asText() : null;
        if (action == null || !ACTIONS.containsKey(action)) {
            errors.add(new FieldError("action", "must be one of " + new TreeSet<>(ACTIONS.keySet())
                    + (json.has("action") ? ", not " + RegistryRequests.abbreviate(json.get("action")) : "")));
            throw new InvalidRequest("invalid intake request", errors);
        }
        Set<String> known = new TreeSet<>(ACTIONS.get(action));
        known.add("action");
        known.add("project");
        if (action.equals("deploy")) {
            known.add("expectedGeneration"); // optional: refused unless the deployment is at it
        }
        Iterator<String> names = json.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!known.contains(f)) {
                errors.add(new FieldError(FieldError.name("", f), "unknown field for action " + action + " (known: " + String.join(", ", known) + ")"));
            }
        }
        String project = text(json, "project", errors);
        Map<String, String> texts = new java.util.HashMap<>();
        for (String f : ACTIONS.get(action)) {
            if (!json.has(f) || json.get(f).isNull()) {
                errors.add(new FieldError(f, "is required for action " + action));
            } else if (!f.equals("deployment") && !f.equals("version")) {
                texts.put(f, text(json, f, errors));
            }
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid intake request", errors);
        }
        return switch (action) {
            case "deploy" -> {
                Long expected = json.has("expectedGeneration") ? expectedGeneration(json.get("expectedGeneration")) : null;
                yield nested("deployment.", () -> deploy(project, null, json.get("deployment"), expected));
            }
            case "undeploy" -> undeploy(project, texts.get("name"));
            case "register" -> nested("version.", () -> register(project, texts.get("model"), json.get("version")));
            case "alias" -> setAlias(project, texts.get("model"), texts.get("alias"), ((com.fasterxml.jackson.databind.node.ObjectNode) json.deepCopy()).retain("version"));
            case "unalias" -> removeAlias(project, texts.get("model"), texts.get("alias"));
            case "archive" -> archive(project, texts.get("model"), json.get("version").isIntegralNumber()
                    ? json.get("version").asText() : json.get("version").toString());
            default -> throw new IllegalStateException(action);
        };
    }

    /** A command written as Avro onto the intake: its project and payload, checked like JSON; the rest is the gateway's. */
    public static Request fromAvro(CommandEnvelope c) {
        if (c.getPayload() instanceof DeployCommand d) {
            DeploymentSpecParser.Parsed p = DeploymentSpecParser.validate(c.getProject(), d.getName(), d.getSpec());
            if (d.getExpectedGeneration() != null && d.getExpectedGeneration() < 0) {
                throw new InvalidRequest("invalid command", List.of(new FieldError("payload.expectedGeneration",
                        "must be the generation the deployment is expected at (0 for a new one), not " + d.getExpectedGeneration())));
            }
            return new Request.Deploy(p.project(), p.name(), p.spec(), d.getExpectedGeneration());
        }
        if (c.getPayload() instanceof UndeployCommand u) {
            return undeploy(c.getProject(), u.getName());
        }
        throw new InvalidRequest("invalid command", List.of(new FieldError("payload", "is not a known command")));
    }

    /** A registry event written as Avro onto the intake, checked like JSON. */
    public static Request fromAvro(RegistryEvent e) {
        String p = e.getProject();
        String m = e.getModel();
        Object payload = e.getPayload();
        if (payload instanceof VersionRegistered reg) {
            return new Request.RegisterVersion(p, m, RegistryRequests.validate(p, m, reg.getVersion()));
        }
        if (payload instanceof AliasSet set) {
            return setAlias(p, m, set.getAlias(), new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                    .put("version", set.getVersion()));
        }
        if (payload instanceof AliasRemoved rm) {
            return removeAlias(p, m, rm.getAlias());
        }
        if (payload instanceof VersionArchived a) {
            return archive(p, m, Integer.toString(a.getVersion()));
        }
        throw new InvalidRequest("invalid registry event", List.of(new FieldError("payload", "is not a known registry event")));
    }

    private static Long expectedGeneration(JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new InvalidRequest("invalid intake request", List.of(new FieldError("expectedGeneration",
                    "must be the generation the deployment is expected at (0 for a new one), not " + RegistryRequests.abbreviate(n))));
        }
        return n.asLong();
    }

    private static <T> T nested(String prefix, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (InvalidRequest e) {
            throw new InvalidRequest("invalid intake request", e.errors().stream()
                    .map(f -> new FieldError(f.field().equals("body") ? prefix.substring(0, prefix.length() - 1)
                            : prefix + f.field(), f.message())).toList());
        }
    }

    private static String text(JsonNode json, String field, List<FieldError> errors) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            errors.add(new FieldError(field, "is required"));
            return null;
        }
        if (!n.isTextual()) {
            errors.add(new FieldError(field, "must be a string, not " + RegistryRequests.abbreviate(n)));
            return null;
        }
        return n.asText();
    }

    private static void throwIfAny(String what, List<FieldError> errors) {
        if (!errors.isEmpty()) {
            throw new InvalidRequest(what, errors);
        }
    }
}
