package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Project request bodies (create, members, quota), parsed exactly, or an {@link InvalidRequest} naming every bad field. */
public final class ProjectRequests {
    private ProjectRequests() {
    }

    /** The largest quota limits taken: far beyond any cluster, far below what overflows a sum. */
    public static final long MAX_QUOTA_MILLICORES = 1_000_000_000L; // a million cores
    public static final long MAX_QUOTA_BYTES = 1L << 60;           // 1 Ei
    public static final int MAX_QUOTA_COUNT = 1_000_000;
    public static final int MAX_GPU_TYPES = 16;
    public static final int MAX_DESCRIPTION = 500;
    public static final int MAX_USER = 200;

    private static final Set<String> QUOTA_FIELDS = Set.of("cpu", "memory", "gpu", "deployments", "replicas");
    private static final Set<String> CREATE_FIELDS = Set.of("name", "admin", "description", "quota");

    /** What {@code POST /projects} asks: a name, an optional first admin (the caller when null), a description, a quota. */
    public record Create(String name, String admin, String description, ProjectQuota quota) {
    }

    public static Create create(JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        if (body == null || !body.isObject()) {
            throw new InvalidRequest("invalid project", List.of(new FieldError("body", "must be a JSON object {\"name\": …}")));
        }
        DeploymentSpecParser.known(body, CREATE_FIELDS, "", errors);
        String name = body.path("name").isTextual() ? body.get("name").asText() : null;
        if (body.has("name") && !body.get("name").isTextual()) {
            errors.add(new FieldError("name", "must be a string, not " + RegistryRequests.abbreviate(body.get("name"))));
        } else {
            Names.checkProject("name", name, errors);
        }
        String admin = null;
        if (body.has("admin") && !body.get("admin").isNull()) {
            admin = user("admin", body.get("admin"), errors);
        }
        String description = null;
        if (body.has("description") && !body.get("description").isNull()) {
            JsonNode d = body.get("description");
            if (!d.isTextual() || d.asText().length() > MAX_DESCRIPTION || d.asText().chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                errors.add(new FieldError("description", "must be a string of at most " + MAX_DESCRIPTION
                        + " printable characters, not " + RegistryRequests.abbreviate(d)));
            } else {
                description = d.asText();
            }
        }
        ProjectQuota quota = body.has("quota") && !body.get("quota").isNull() ? quota(body.get("quota"), "quota.", errors)
                : unlimited();
        throwIfAny("invalid project", errors);
        return new Create(name, admin, description, quota);
    }

    /** A quota document: each limit absent or null is unlimited. Field names carry {@code prefix} ("quota."). */
    public static ProjectQuota quota(JsonNode q, String prefix, List<FieldError> errors) {
        ProjectQuota.Builder b = unlimitedBuilder();
        if (q == null || !q.isObject()) {
            errors.add(new FieldError(prefix.isEmpty() ? "body" : prefix.substring(0, prefix.length() - 1),
                    "must be an object {\"cpu\": …, \"memory\": …, \"gpu\": {…}, \"deployments\": …, \"replicas\": …}"));
            return b.build();
        }
        DeploymentSpecParser.known(q, QUOTA_FIELDS, prefix, errors);
        if (present(q, "cpu")) {
            b.setCpu(DeploymentSpecParser.cpu(q.get("cpu"), prefix + "cpu", 0, MAX_QUOTA_MILLICORES, errors));
        }
        if (present(q, "memory")) {
            b.setMemory(DeploymentSpecParser.memory(q.get("memory"), prefix + "memory", 0, MAX_QUOTA_BYTES, errors));
        }
        if (present(q, "gpu")) {
            JsonNode g = q.get("gpu");
            if (!g.isObject() || g.size() > MAX_GPU_TYPES) {
                errors.add(new FieldError(prefix + "gpu", "must be an object of at most " + MAX_GPU_TYPES
                        + " GPU types and counts, such as {\"nvidia.com/gpu\": 4}, not " + RegistryRequests.abbreviate(g)));
            } else {
                Map<String, Integer> gpus = new TreeMap<>();
                Iterator<Map.Entry<String, JsonNode>> it = g.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String field = prefix + "gpu." + e.getKey();
                    int before = errors.size();
                    DeploymentSpecParser.gpuType(com.fasterxml.jackson.databind.node.TextNode.valueOf(e.getKey()), field, errors);
                    int n = DeploymentSpecParser.integer(e.getValue(), field, 0, MAX_QUOTA_COUNT, errors);
                    if (errors.size() == before) {
                        gpus.put(e.getKey(), n);
                    }
                }
                b.setGpu(gpus);
            }
        }
        if (present(q, "deployments")) {
            b.setDeployments(DeploymentSpecParser.integer(q.get("deployments"), prefix + "deployments", 0, MAX_QUOTA_COUNT, errors));
        }
        if (present(q, "replicas")) {
            b.setReplicas(DeploymentSpecParser.integer(q.get("replicas"), prefix + "replicas", 0, MAX_QUOTA_COUNT, errors));
        }
        return b.build();
    }

    public static ProjectQuota quota(JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        ProjectQuota q = quota(body, "", errors);
        throwIfAny("invalid quota", errors);
        return q;
    }

    /** A member's role from {@code {"role": "modeler"}}. */
    public static ProjectRole role(JsonNode body) {
        List<FieldError> errors = new ArrayList<>();
        if (body == null || !body.isObject()) {
            throw new InvalidRequest("invalid member", List.of(new FieldError("body", "must be a JSON object {\"role\": …}")));
        }
        DeploymentSpecParser.known(body, Set.of("role"), "", errors);
        JsonNode r = body.get("role");
        ProjectRole role = null;
        if (r == null || r.isNull()) {
            errors.add(new FieldError("role", "is required: one of " + roles()));
        } else if (!r.isTextual() || Arrays.stream(ProjectRole.values()).noneMatch(x -> x.name().equals(r.asText()))) {
            errors.add(new FieldError("role", "must be one of " + roles() + ", not " + RegistryRequests.abbreviate(r)));
        } else {
            role = ProjectRole.valueOf(r.asText());
        }
        throwIfAny("invalid member", errors);
        return role;
    }

    /** A user name as a path segment or a field: 1 to 200 printable characters, no spaces. */
    public static void checkUser(String field, String user, List<FieldError> errors) {
        if (user == null || user.isEmpty() || user.length() > MAX_USER || !user.chars().allMatch(c -> c > 0x20 && c != 0x7f)) {
            errors.add(new FieldError(field, "must be a user name of 1 to " + MAX_USER + " printable characters without spaces, not '"
                    + RegistryRequests.abbreviate(user == null ? "" : user) + "'"));
        }
    }

    private static String user(String field, JsonNode n, List<FieldError> errors) {
        if (!n.isTextual()) {
            errors.add(new FieldError(field, "must be a string, not " + RegistryRequests.abbreviate(n)));
            return null;
        }
        checkUser(field, n.asText(), errors);
        return n.asText();
    }

    public static ProjectQuota unlimited() {
        return unlimitedBuilder().build();
    }

    private static ProjectQuota.Builder unlimitedBuilder() {
        return ProjectQuota.newBuilder().setCpu(null).setMemory(null).setGpu(new TreeMap<>()).setDeployments(null).setReplicas(null);
    }

    private static String roles() {
        return String.join(", ", Arrays.stream(ProjectRole.values()).map(Enum::name).toList());
    }

    private static boolean present(JsonNode q, String f) {
        return q.has(f) && !q.get(f).isNull();
    }

    private static void throwIfAny(String what, List<FieldError> errors) {
        if (!errors.isEmpty()) {
            throw new InvalidRequest(what, errors);
        }
    }
}
