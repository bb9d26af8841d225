package io.clops.command;

import io.clops.avro.DeploymentPhase;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ResolvedRoute;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.clops.runtime.StatusRules;
import org.apache.avro.generic.GenericData;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The read side of deployments: clops.desired and clops.status, joined per key for answers. */
public final class DeploymentViews implements AutoCloseable {
    private final CompactedView<DesiredDeployment> desired;
    private final CompactedView<DeploymentStatus> status;
    private final Object changed = new Object();

    public DeploymentViews(String bootstrap) throws InterruptedException {
        this.desired = new CompactedView<>(bootstrap, Topics.DESIRED);
        desired.onChange((k, v) -> {
            synchronized (changed) {
                changed.notifyAll();
            }
        });
        desired.start();
        this.status = new CompactedView<>(bootstrap, Topics.STATUS).start();
        if (!desired.awaitCaughtUp(Duration.ofSeconds(60)) || !status.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.desired / clops.status within 60 s");
        }
    }

    /**
     * Waits, at most {@code timeout}, until this view shows the deployment as {@code ready} says (what an accepted
     * command made of it), so that a caller reads what it was told; returns whether it does.
     */
    public boolean await(String project, String name, java.util.function.Predicate<Optional<DesiredDeployment>> ready, Duration timeout)
            throws InterruptedException {
        String key = Topics.deploymentKey(project, name);
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (true) {
                if (ready.test(desired.get(key))) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    public Optional<Map<String, Object>> get(String project, String name) {
        String key = Topics.deploymentKey(project, name);
        return desired.get(key).map(d -> json(d, status.get(key).orElse(null)));
    }

    public List<Map<String, Object>> list(String project) {
        List<Map<String, Object>> out = new ArrayList<>();
        desired.snapshot().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .filter(e -> project == null || e.getValue().getProject().equals(project))
                .forEach(e -> out.add(json(e.getValue(), status.get(e.getKey()).orElse(null))));
        return out;
    }

    /** The specs of every deployment of the project, as desired. */
    public List<io.clops.avro.DeploymentSpec> specs(String project) {
        return desired.snapshot().values().stream().filter(d -> d.getProject().equals(project)).map(DesiredDeployment::getSpec).toList();
    }

    static Map<String, Object> json(DesiredDeployment d, DeploymentStatus s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("project", d.getProject());
        out.put("name", d.getName());
        out.put("generation", d.getGeneration());
        out.put("spec", avroJson(d.getSpec()));
        List<Map<String, Object>> routes = new ArrayList<>();
        for (ResolvedRoute r : d.getRoutes()) {
            routes.add(Map.of("ref", r.getRef(), "model", r.getVersion().getModel(), "version", r.getVersion().getVersion(), "weight", r.getWeight()));
        }
        out.put("routes", routes);
        out.put("lastChangedBy", d.getActor());
        out.put("lastCommand", d.getCommandId());
        Map<String, Object> st = new LinkedHashMap<>();
        if (s == null) {
            st.put("phase", DeploymentPhase.Pending.name());
            st.put("reason", "no worker has reported on this deployment yet");
        } else {
            boolean current = s.getObservedGeneration() >= d.getGeneration();
            st.put("phase", (current ? StatusRules.phaseOf(s) : DeploymentPhase.Pending).name());
            st.put("reason", current ? s.getReason() : "rolling out generation " + d.getGeneration()
                    + " (generation " + s.getObservedGeneration() + " is " + s.getPhase() + ")");
            st.put("observedGeneration", s.getObservedGeneration());
            st.put("readyReplicas", s.getReadyReplicas());
            st.put("endpoint", s.getEndpoint());
            st.put("runtime", s.getRuntime());
        }
        out.put("status", st);
        return out;
    }

    /** An Avro record as plain JSON values (Avro's own JSON rendering, read back by Jackson). */
    static Object avroJson(Object record) {
        try {
            return io.clops.service.Http.JSON.readTree(GenericData.get().toString(record));
        } catch (Exception e) {
            return String.valueOf(record);
        }
    }

    @Override
    public void close() {
        desired.close();
        status.close();
    }
}
