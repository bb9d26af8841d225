package io.clops.api;

import io.clops.avro.DeploymentSpec;
import io.clops.avro.ProjectQuota;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What deployments use of a project's quota, and whether a change fits: pure functions of specs, so the fold's
 * admission, the API's "usage against quota" and the runtimes agree. What counts: every route of a deployment (each
 * model version of its traffic split, and its shadow) runs {@code replicas.max} replicas of
 * {@code spec.resources}.
 */
public final class Quotas {
    private Quotas() {
    }

    /** What one deployment or a whole project uses. */
    public record Usage(long millicores, long bytes, Map<String, Long> gpus, int deployments, long replicas) {
        public static final Usage NONE = new Usage(0, 0, Map.of(), 0, 0);

        public Usage plus(Usage o) {
            Map<String, Long> g = new TreeMap<>(gpus);
            o.gpus.forEach((k, v) -> g.merge(k, v, Long::sum));
            return new Usage(millicores + o.millicores, bytes + o.bytes, g, deployments + o.deployments, replicas + o.replicas);
        }
    }

    /** Whether the quota limits anything at all (an unlimited one admits every deploy without counting). */
    public static boolean limits(ProjectQuota q) {
        return q.getCpu() != null || q.getMemory() != null || !q.getGpu().isEmpty() || q.getDeployments() != null
                || q.getReplicas() != null;
    }

    /** The routes a spec runs: one per traffic entry (or one for spec.model), plus the shadow. */
    public static int routes(DeploymentSpec spec) {
        return Math.max(1, spec.getTraffic().size()) + (spec.getShadow() != null ? 1 : 0);
    }

    /** What one deployment of this spec uses. The spec was checked by {@link DeploymentSpecParser}: its quantities parse. */
    public static Usage of(DeploymentSpec spec) {
        long replicas = (long) routes(spec) * spec.getReplicas().getMax();
        long gpus = replicas * spec.getResources().getGpu();
        return new Usage(Math.multiplyExact(replicas, Quantity.millicores(spec.getResources().getCpu())),
                Math.multiplyExact(replicas, Quantity.bytes(spec.getResources().getMemory())),
                gpus == 0 ? Map.of() : Map.of(spec.getResources().getGpuType(), gpus), 1, replicas);
    }

    public static Usage of(Collection<DeploymentSpec> specs) {
        Usage u = Usage.NONE;
        for (DeploymentSpec s : specs) {
            u = u.plus(of(s));
        }
        return u;
    }

    /**
     * Why {@code requested} (one deployment's new spec) does not fit beside {@code others} (what the project's other
     * deployments use), or empty when it fits: the resource, the amount requested and the amount left.
     */
    public static Optional<String> admit(String project, ProjectQuota quota, Usage others, DeploymentSpec requested) {
        Usage want = of(requested);
        String routes = routes(requested) + (routes(requested) == 1 ? " route" : " routes");
        String per = " (" + routes + " × " + requested.getReplicas().getMax() + " replicas.max × ";
        List<String> over = new ArrayList<>();
        if (quota.getCpu() != null) {
            long limit = Quantity.millicores(quota.getCpu());
            if (others.millicores() + want.millicores() > limit) {
                over.add("cpu: requested " + Quantity.cpu(want.millicores()) + per + requested.getResources().getCpu() + "), "
                        + Quantity.cpu(Math.max(0, limit - others.millicores())) + " left of " + quota.getCpu());
            }
        }
        if (quota.getMemory() != null) {
            long limit = Quantity.bytes(quota.getMemory());
            if (others.bytes() + want.bytes() > limit) {
                over.add("memory: requested " + Quantity.memory(want.bytes()) + per + requested.getResources().getMemory() + "), "
                        + Quantity.memory(Math.max(0, limit - others.bytes())) + " left of " + quota.getMemory());
            }
        }
        for (Map.Entry<String, Long> g : want.gpus().entrySet()) {
            Integer limit = quota.getGpu().get(g.getKey());
            long used = others.gpus().getOrDefault(g.getKey(), 0L);
            if (limit != null && used + g.getValue() > limit) {
                over.add(g.getKey() + ": requested " + g.getValue() + per + requested.getResources().getGpu() + "), "
                        + Math.max(0, limit - used) + " left of " + limit);
            }
        }
        if (quota.getDeployments() != null && others.deployments() + 1 > quota.getDeployments()) {
            over.add("deployments: requested 1, " + Math.max(0, quota.getDeployments() - others.deployments()) + " left of "
                    + quota.getDeployments());
        }
        if (quota.getReplicas() != null && others.replicas() + want.replicas() > quota.getReplicas()) {
            over.add("replicas: requested " + want.replicas() + " (" + routes + " × " + requested.getReplicas().getMax()
                    + " replicas.max), " + Math.max(0, quota.getReplicas() - others.replicas()) + " left of " + quota.getReplicas());
        }
        if (over.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("project '" + project + "' quota exceeded: " + String.join("; ", over));
    }

    /**
     * Why {@code quota} cannot be set on a project that uses {@code used} (a limit below use), or empty when it can:
     * a quota is never set below what already runs.
     */
    public static Optional<String> below(ProjectQuota quota, Usage used) {
        List<String> over = new ArrayList<>();
        if (quota.getCpu() != null && Quantity.millicores(quota.getCpu()) < used.millicores()) {
            over.add("quota.cpu: " + quota.getCpu() + " is below what the project's deployments use (" + Quantity.cpu(used.millicores()) + ")");
        }
        if (quota.getMemory() != null && Quantity.bytes(quota.getMemory()) < used.bytes()) {
            over.add("quota.memory: " + quota.getMemory() + " is below what the project's deployments use (" + Quantity.memory(used.bytes()) + ")");
        }
        quota.getGpu().forEach((type, limit) -> {
            long u = used.gpus().getOrDefault(type, 0L);
            if (limit < u) {
                over.add("quota.gpu." + type + ": " + limit + " is below what the project's deployments use (" + u + ")");
            }
        });
        if (quota.getDeployments() != null && quota.getDeployments() < used.deployments()) {
            over.add("quota.deployments: " + quota.getDeployments() + " is below the project's " + used.deployments() + " deployments");
        }
        if (quota.getReplicas() != null && quota.getReplicas() < used.replicas()) {
            over.add("quota.replicas: " + quota.getReplicas() + " is below the project's " + used.replicas() + " replicas");
        }
        return over.isEmpty() ? Optional.empty()
                : Optional.of(String.join("; ", over) + "; undeploy or scale down first");
    }
}
