package io.clops.k8s.model;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** One place names every Kubernetes object clops manages, and labels them. */
public final class K8sNames {
    private K8sNames() {
    }

    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String MANAGER = "clops";
    /** The Secret in each project's namespace with the Kafka client settings its executors need (SASL, TLS). */
    public static final String KAFKA_CLIENT_SECRET = "clops-kafka-client";
    public static final String NAME = "app.kubernetes.io/name";
    public static final String PART_OF = "app.kubernetes.io/part-of";
    public static final String PROJECT = "clops.io/project";
    public static final String DEPLOYMENT = "clops.io/deployment";
    public static final String ROUTE = "clops.io/route";
    /** Selector label of a workload: stable across versions, because a Deployment's selector cannot change. */
    public static final String WORKLOAD = "clops.io/workload";
    public static final String MODEL = "clops.io/model";
    public static final String VERSION = "clops.io/version";
    public static final String SERVING = "clops.io/serving";
    public static final String GPU_RESOURCE = "nvidia.com/gpu";
    public static final int EXECUTOR_PORT = 9000;

    public static String namespace(String project) {
        return project;
    }

    /** A route's Deployment: the deployment's name for a single route, else name-model-vN (≤ 63 chars). */
    public static String workload(DesiredDeployment d, ModelVersion v, boolean single) {
        return single ? d.getName() : dns(d.getName() + "-" + v.getModel() + "-v" + v.getVersion());
    }

    public static String route(ModelVersion v) {
        return dns(v.getModel() + "-v" + v.getVersion());
    }

    public static String service(DesiredDeployment d) {
        return d.getName();
    }

    public static String roleBinding(String project, String role) {
        return "clops-" + role;
    }

    public static String clusterRole(String role) {
        return "clops-" + role;
    }

    /** Labels on every object of a deployment; selectors use a subset. */
    public static Map<String, String> labels(DesiredDeployment d) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put(NAME, d.getName());
        l.put(PART_OF, "clops");
        l.put(MANAGED_BY, MANAGER);
        l.put(PROJECT, d.getProject());
        l.put(DEPLOYMENT, d.getName());
        return l;
    }

    public static Map<String, String> projectLabels(String project) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put(PART_OF, "clops");
        l.put(MANAGED_BY, MANAGER);
        l.put(PROJECT, project);
        return l;
    }

    /** Kubernetes names are at most 63 characters: longer ones keep a readable prefix and a hash. */
    static String dns(String s) {
        if (s.length() <= 63) {
            return s;
        }
        try {
            String h = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
            return s.substring(0, 54).replaceAll("-+$", "") + "-" + h;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
