package io.clops.command;

import io.clops.api.Quantity;
import io.clops.api.Quotas;
import io.clops.avro.ProjectQuota;
import io.clops.avro.Project;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The read side of projects: clops.projects (members, roles, quota as the fold decided them), with each project's
 * usage computed from its desired deployments by the same {@link Quotas} the fold admits with.
 */
public final class ProjectViews implements AutoCloseable {
    private final CompactedView<Project> projects;
    private final DeploymentViews deployments;
    private final Object changed = new Object();

    public ProjectViews(String bootstrap, DeploymentViews deployments) throws InterruptedException {
        this.deployments = deployments;
        this.projects = new CompactedView<>(bootstrap, Topics.PROJECTS);
        projects.onChange((k, v) -> {
            synchronized (changed) {
                changed.notifyAll();
            }
        });
        projects.start();
        if (!projects.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.projects within 60 s");
        }
    }

    public Optional<Project> get(String name) {
        return projects.get(name);
    }

    public List<Project> list() {
        return new ArrayList<>(new TreeMap<>(projects.snapshot()).values());
    }

    /**
     * Waits, at most {@code timeout}, until the project's state (empty: gone) satisfies {@code ready}: a caller told
     * its change was accepted then reads it back.
     */
    public Optional<Project> await(String name, Predicate<Optional<Project>> ready, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (true) {
                Optional<Project> p = get(name);
                long left = deadline - System.nanoTime();
                if (ready.test(p) || left <= 0) {
                    return p;
                }
                changed.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    public Quotas.Usage usage(String project) {
        return Quotas.of(deployments.specs(project));
    }

    /** A project as the API shows it: members, quota, usage against quota. */
    public Map<String, Object> json(Project p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", p.getName());
        out.put("description", p.getDescription());
        out.put("generation", p.getGeneration());
        out.put("createdBy", p.getCreatedBy());
        out.put("created", java.time.Instant.ofEpochMilli(p.getCreatedMs()).toString());
        out.put("lastChangedBy", p.getActor());
        out.put("members", members(p));
        out.put("quota", quotaJson(p.getQuota(), usage(p.getName())));
        return out;
    }

    static List<Map<String, Object>> members(Project p) {
        List<Map<String, Object>> out = new ArrayList<>();
        new TreeMap<>(p.getMembers()).forEach((user, role) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("user", user);
            m.put("role", role.name());
            out.add(m);
        });
        return out;
    }

    /** Each resource: its limit (null: unlimited), what is used, what is left. */
    static Map<String, Object> quotaJson(ProjectQuota q, Quotas.Usage used) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("cpu", row(q.getCpu(), Quantity.cpu(used.millicores()),
                q.getCpu() == null ? null : Quantity.cpu(Math.max(0, Quantity.millicores(q.getCpu()) - used.millicores()))));
        out.put("memory", row(q.getMemory(), Quantity.memory(used.bytes()),
                q.getMemory() == null ? null : Quantity.memory(Math.max(0, Quantity.bytes(q.getMemory()) - used.bytes()))));
        Map<String, Object> gpus = new TreeMap<>();
        q.getGpu().forEach((type, limit) -> gpus.put(type, row(limit, used.gpus().getOrDefault(type, 0L),
                Math.max(0, limit - used.gpus().getOrDefault(type, 0L)))));
        used.gpus().forEach((type, u) -> gpus.putIfAbsent(type, row(null, u, null)));
        out.put("gpu", gpus);
        out.put("deployments", row(q.getDeployments(), used.deployments(),
                q.getDeployments() == null ? null : Math.max(0, q.getDeployments() - used.deployments())));
        out.put("replicas", row(q.getReplicas(), used.replicas(),
                q.getReplicas() == null ? null : Math.max(0, q.getReplicas() - used.replicas())));
        return out;
    }

    private static Map<String, Object> row(Object limit, Object used, Object left) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("limit", limit);
        m.put("used", used);
        m.put("left", left);
        return m;
    }

    @Override
    public void close() {
        projects.close();
    }
}
