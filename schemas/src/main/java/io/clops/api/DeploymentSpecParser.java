package io.clops.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.avro.Autoscale;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.ExecutorSettings;
import io.clops.avro.Replicas;
import io.clops.avro.Resources;
import io.clops.avro.TrafficSplit;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a ModelDeployment document (apiVersion, kind, metadata, spec) strictly: every field is checked, unknown
 * fields are errors (a typo must not be silently ignored), and all errors are reported at once, each naming its
 * field as written ({@code spec.replicas.min}). Nothing is produced for a document with any error.
 */
public final class DeploymentSpecParser {
    private DeploymentSpecParser() {
    }

    public record Parsed(String project, String name, DeploymentSpec spec) {
    }

    /** The most a replica may ask for: more than any node has, far below what overflows a sum of quantities. */
    static final long MAX_CPU_MILLICORES = 1024_000;
    static final long MAX_MEMORY_BYTES = 1L << 44; // 16 Ti
    private static final Pattern EXTENDED_RESOURCE = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?");

    public static Parsed parse(String pathProject, String pathName, JsonNode doc) {
        List<FieldError> errors = new ArrayList<>();
        if (doc == null || !doc.isObject()) {
            throw new InvalidRequest("invalid deployment", List.of(new FieldError("body", "must be a ModelDeployment object")));
        }
        known(doc, Set.of("apiVersion", "kind", "metadata", "spec", "status"), "", errors);
        if (doc.has("apiVersion") && !"clops.io/v1".equals(doc.get("apiVersion").asText())) {
            errors.add(new FieldError("apiVersion", "must be clops.io/v1, not '" + RegistryRequests.abbreviate(doc.get("apiVersion").asText()) + "'"));
        }
        if (doc.has("kind") && !"ModelDeployment".equals(doc.get("kind").asText())) {
            errors.add(new FieldError("kind", "must be ModelDeployment, not '" + RegistryRequests.abbreviate(doc.get("kind").asText()) + "'"));
        }
        JsonNode meta = doc.path("metadata");
        String name = meta.path("name").isTextual() ? meta.get("name").asText() : pathName;
        String project = meta.path("project").isTextual() ? meta.get("project").asText()
                : meta.path("namespace").isTextual() ? meta.get("namespace").asText() : pathProject;
        if (meta.isObject()) {
            known(meta, Set.of("name", "project", "namespace", "labels", "annotations"), "metadata.", errors);
        }
        Names.checkLabel("metadata.name", name, 40, errors);
        if (pathName != null && name != null && !pathName.equals(name)) {
            errors.add(new FieldError("metadata.name", "'" + name + "' differs from the name in the URL '" + pathName + "'"));
        }
        if (pathProject != null && project != null && !pathProject.equals(project)) {
            errors.add(new FieldError("metadata.project", "'" + project + "' differs from the project in the URL '" + pathProject + "'"));
        }
        Names.checkProject("metadata.project", project, errors);

        JsonNode s = doc.get("spec");
        if (s == null || !s.isObject()) {
            errors.add(new FieldError("spec", "is required"));
            throw new InvalidRequest("invalid deployment", errors);
        }
        known(s, Set.of("model", "port", "protocol", "resources", "replicas", "autoscale", "mode", "traffic", "shadow", "executor", "access", "batching"),
                "spec.", errors);
        String model = s.path("model").isTextual() ? s.get("model").asText() : null;
        if (s.has("model") && !s.get("model").isTextual()) {
            errors.add(new FieldError("spec.model", "must be a string"));
        } else {
            Names.checkModelRef("spec.model", model, errors);
        }
        Integer port = s.has("port") ? integer(s.get("port"), "spec.port", 1, 65535, errors) : null;
        String protocol = s.has("protocol") ? oneOf(s.get("protocol"), "spec.protocol", Set.of("v2", "raw"), errors) : null;

        JsonNode r = s.path("resources");
        known(r, Set.of("cpu", "memory", "gpu", "gpuType"), "spec.resources.", errors);
        Resources resources = Resources.newBuilder()
                .setCpu(r.has("cpu") ? cpu(r.get("cpu"), "spec.resources.cpu", 1, MAX_CPU_MILLICORES, errors) : "500m")
                .setMemory(r.has("memory") ? memory(r.get("memory"), "spec.resources.memory", 1, MAX_MEMORY_BYTES, errors) : "512Mi")
                .setGpu(r.has("gpu") ? integer(r.get("gpu"), "spec.resources.gpu", 0, 16, errors) : 0)
                .setGpuType(r.has("gpuType") ? gpuType(r.get("gpuType"), "spec.resources.gpuType", errors) : "nvidia.com/gpu")
                .build();

        JsonNode rep = s.path("replicas");
        known(rep, Set.of("min", "max"), "spec.replicas.", errors);
        int min = rep.has("min") ? integer(rep.get("min"), "spec.replicas.min", 0, 1000, errors) : 1;
        int max = rep.has("max") ? integer(rep.get("max"), "spec.replicas.max", 1, 1000, errors) : Math.max(1, min);
        if (max < min) {
            errors.add(new FieldError("spec.replicas.max", "must be at least spec.replicas.min (" + min + "), not " + max));
        }

        Autoscale autoscale = null;
        if (s.has("autoscale") && !s.get("autoscale").isNull()) {
            JsonNode a = s.get("autoscale");
            known(a, Set.of("metric", "target"), "spec.autoscale.", errors);
            autoscale = Autoscale.newBuilder()
                    .setMetric(a.has("metric") ? oneOf(a.get("metric"), "spec.autoscale.metric", Set.of("cpu", "rps", "inflight", "lag"), errors) : "cpu")
                    .setTarget(a.has("target") ? integer(a.get("target"), "spec.autoscale.target", 1, 1_000_000, errors) : 70)
                    .build();
        }
        String mode = s.has("mode") ? oneOf(s.get("mode"), "spec.mode", Set.of("sync", "async", "both"), errors) : "both";

        List<TrafficSplit> traffic = new ArrayList<>();
        if (s.has("traffic") && !s.get("traffic").isNull()) {
            JsonNode t = s.get("traffic");
            if (!t.isArray()) {
                errors.add(new FieldError("spec.traffic", "must be a list of {model, weight}"));
            } else {
                int sum = 0;
                for (int i = 0; i < t.size(); i++) {
                    String f = "spec.traffic[" + i + "]";
                    known(t.get(i), Set.of("model", "weight"), f + ".", errors);
                    JsonNode mn = t.get(i).path("model");
                    String m = mn.isTextual() ? mn.asText() : null;
                    if (!mn.isMissingNode() && !mn.isTextual()) {
                        errors.add(new FieldError(f + ".model", "must be a model reference (a string), not " + RegistryRequests.abbreviate(mn)));
                    } else {
                        Names.checkModelRef(f + ".model", m, errors);
                    }
                    int w = t.get(i).has("weight") ? integer(t.get(i).get("weight"), f + ".weight", 0, 100, errors) : -1;
                    if (w < 0 && !t.get(i).has("weight")) {
                        errors.add(new FieldError(f + ".weight", "is required"));
                    }
                    sum += Math.max(w, 0);
                    traffic.add(TrafficSplit.newBuilder().setModel(m == null ? "" : m).setWeight(Math.max(w, 0)).build());
                }
                if (!t.isEmpty() && sum != 100) {
                    errors.add(new FieldError("spec.traffic", "weights must add up to 100, not " + sum));
                }
            }
        }
        String shadow = null;
        if (s.has("shadow") && !s.get("shadow").isNull()) {
            if (!s.get("shadow").isTextual()) {
                errors.add(new FieldError("spec.shadow", "must be a model reference (a string), not " + RegistryRequests.abbreviate(s.get("shadow"))));
            } else {
                shadow = s.get("shadow").asText();
                Names.checkModelRef("spec.shadow", shadow, errors);
            }
        }

        JsonNode e = s.path("executor");
        known(e, Set.of("timeoutMs", "rateLimitRps", "maxBodyBytes", "logRequests"), "spec.executor.", errors);
        ExecutorSettings executor = ExecutorSettings.newBuilder()
                .setTimeoutMs(e.has("timeoutMs") ? integer(e.get("timeoutMs"), "spec.executor.timeoutMs", 1, 600_000, errors) : 5000)
                .setRateLimitRps(e.has("rateLimitRps") ? integer(e.get("rateLimitRps"), "spec.executor.rateLimitRps", 0, 1_000_000, errors) : 0)
                .setMaxBodyBytes(e.has("maxBodyBytes") ? integer(e.get("maxBodyBytes"), "spec.executor.maxBodyBytes", 1, 1 << 30, errors) : 10L * 1024 * 1024)
                .setLogRequests(e.has("logRequests") ? bool(e.get("logRequests"), "spec.executor.logRequests", errors) : true)
                .build();

        String access = s.has("access") ? oneOf(s.get("access"), "spec.access", Set.of("members", "public"), errors) : "members";

        io.clops.avro.Batching batching = null;
        if (s.has("batching") && !s.get("batching").isNull()) {
            JsonNode b = s.get("batching");
            known(b, Set.of("maxBatchSize", "maxDelayUs"), "spec.batching.", errors);
            if (b.isObject()) {
                batching = io.clops.avro.Batching.newBuilder()
                        .setMaxBatchSize(b.has("maxBatchSize") ? integer(b.get("maxBatchSize"), "spec.batching.maxBatchSize", 1, 4096, errors) : 16)
                        .setMaxDelayUs(b.has("maxDelayUs") ? integer(b.get("maxDelayUs"), "spec.batching.maxDelayUs", 0, 1_000_000, errors) : 2000)
                        .build();
            }
        }

        if (!errors.isEmpty()) {
            throw new InvalidRequest("invalid deployment", errors);
        }
        DeploymentSpec spec = DeploymentSpec.newBuilder().setModel(model).setPort(port).setProtocol(protocol)
                .setResources(resources).setReplicas(Replicas.newBuilder().setMin(min).setMax(max).build())
                .setAutoscale(autoscale).setMode(mode).setTraffic(traffic).setShadow(shadow).setExecutor(executor).setAccess(access).setBatching(batching).build();
        return new Parsed(project, name, spec);
    }

    /**
     * Checks a spec that arrived already typed (an Avro envelope on the intake) by the same rules as a document:
     * it is written out as a document and parsed, so both ways in accept exactly the same specs.
     */
    public static Parsed validate(String project, String name, DeploymentSpec spec) {
        if (spec == null) {
            throw new InvalidRequest("invalid deployment", List.of(new FieldError("spec", "is required")));
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode doc = json.createObjectNode();
        doc.putObject("metadata").put("name", name).put("project", project);
        try {
            doc.set("spec", withoutNulls(json.readTree(org.apache.avro.generic.GenericData.get().toString(spec))));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRequest("invalid deployment", List.of(new FieldError("spec", "cannot be read: " + e.getOriginalMessage())));
        }
        return parse(project, name, doc);
    }

    private static JsonNode withoutNulls(JsonNode n) {
        if (n.isObject()) {
            com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) n;
            List<String> nulls = new ArrayList<>();
            o.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    nulls.add(e.getKey());
                } else {
                    withoutNulls(e.getValue());
                }
            });
            o.remove(nulls);
        } else if (n.isArray()) {
            n.forEach(DeploymentSpecParser::withoutNulls);
        }
        return n;
    }

    static void known(JsonNode node, Set<String> fields, String prefix, List<FieldError> errors) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            errors.add(new FieldError(prefix.isEmpty() ? "body" : prefix.substring(0, prefix.length() - 1), "must be an object"));
            return;
        }
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (!fields.contains(f)) {
                errors.add(new FieldError(FieldError.name(prefix, f), "unknown field (known: " + String.join(", ", new java.util.TreeSet<>(fields)) + ")"));
            }
        }
    }

    static int integer(JsonNode n, String field, int min, int max, List<FieldError> errors) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            errors.add(new FieldError(field, "must be an integer, not " + RegistryRequests.abbreviate(n)));
            return min;
        }
        int v = n.asInt();
        if (v < min || v > max) {
            errors.add(new FieldError(field, "must be between " + min + " and " + max + ", not " + v));
        }
        return v;
    }

    private static boolean bool(JsonNode n, String field, List<FieldError> errors) {
        if (!n.isBoolean()) {
            errors.add(new FieldError(field, "must be true or false, not " + RegistryRequests.abbreviate(n)));
            return false;
        }
        return n.asBoolean();
    }

    private static String oneOf(JsonNode n, String field, Set<String> allowed, List<FieldError> errors) {
        String v = n.isTextual() ? n.asText() : n.toString();
        if (!allowed.contains(v)) {
            errors.add(new FieldError(field, "must be one of " + String.join(", ", new java.util.TreeSet<>(allowed)) + ", not '" + RegistryRequests.abbreviate(v) + "'"));
        }
        return v;
    }

    /** A CPU quantity (a string, or a bare number) between {@code min} and {@code max} millicores, as written. */
    public static String cpu(JsonNode n, String field, long min, long max, List<FieldError> errors) {
        String v = quantityText(n, field, "a CPU quantity such as 500m or 2", errors);
        if (v != null) {
            try {
                long m = Quantity.millicores(v);
                if (m < min || m > max) {
                    errors.add(new FieldError(field, "must be between " + Quantity.cpu(min) + " and " + Quantity.cpu(max) + ", not '" + v + "'"));
                }
            } catch (Quantity.Invalid e) {
                errors.add(new FieldError(field, "'" + RegistryRequests.abbreviate(v) + "' " + e.getMessage() + "; a CPU quantity is such as 500m or 2"));
            }
        }
        return v;
    }

    /** A memory quantity between {@code min} and {@code max} bytes, as written. */
    public static String memory(JsonNode n, String field, long min, long max, List<FieldError> errors) {
        String v = quantityText(n, field, "a memory quantity such as 512Mi or 2Gi", errors);
        if (v != null) {
            try {
                long b = Quantity.bytes(v);
                if (b < min || b > max) {
                    errors.add(new FieldError(field, "must be between " + Quantity.memory(min) + " and " + Quantity.memory(max) + ", not '" + v + "'"));
                }
            } catch (Quantity.Invalid e) {
                errors.add(new FieldError(field, "'" + RegistryRequests.abbreviate(v) + "' " + e.getMessage() + "; a memory quantity is such as 512Mi or 2Gi"));
            }
        }
        return v;
    }

    private static String quantityText(JsonNode n, String field, String what, List<FieldError> errors) {
        if (n.isTextual() || n.isIntegralNumber()) {
            return n.asText();
        }
        errors.add(new FieldError(field, "must be " + what + " (a string), not " + RegistryRequests.abbreviate(n.toString())));
        return null;
    }

    /** An extended resource name such as nvidia.com/gpu. */
    public static String gpuType(JsonNode n, String field, List<FieldError> errors) {
        String v = n.isTextual() ? n.asText() : null;
        if (v == null || !EXTENDED_RESOURCE.matcher(v).matches()) {
            errors.add(new FieldError(field, "must be an extended resource name such as nvidia.com/gpu, not "
                    + RegistryRequests.abbreviate(n.isTextual() ? "'" + v + "'" : n.toString())));
        }
        return v;
    }
}
