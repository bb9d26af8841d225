package io.clops.command;

import io.clops.avro.CommandResult;
import io.clops.kafka.TopicTail;
import io.clops.kafka.Topics;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last verdicts on each deployment, read from clops.command-results (kept 7 days): who asked what when, and
 * whether it was accepted or why not. What {@code clops describe deployment} shows as its events; the full history,
 * forever, is the audit's. Bounded: {@link #KEPT} per deployment.
 */
public final class RecentVerdicts implements AutoCloseable {
    public static final int KEPT = 20;
    private final Map<String, Deque<CommandResult>> byDeployment = new ConcurrentHashMap<>();
    private final TopicTail tail;

    public RecentVerdicts(String bootstrap) {
        this.tail = new TopicTail(bootstrap, Topics.COMMAND_RESULTS.name(), "clops-api-recent-verdicts", true, r -> {
            if (r.value() == null) {
                return;
            }
            CommandResult v = Topics.COMMAND_RESULTS.valueSerde().deserializer().deserialize(r.topic(), r.value());
            if (v.getDeployment() == null || v.getDeployment().isEmpty()) {
                return;
            }
            Deque<CommandResult> d = byDeployment.computeIfAbsent(Topics.deploymentKey(v.getProject(), v.getDeployment()), k -> new ArrayDeque<>());
            synchronized (d) {
                d.addLast(v);
                while (d.size() > KEPT) {
                    d.removeFirst();
                }
            }
        });
    }

    /** The deployment's last verdicts, newest first, as the API shows them. */
    public List<Map<String, Object>> of(String project, String deployment) {
        Deque<CommandResult> d = byDeployment.get(Topics.deploymentKey(project, deployment));
        List<Map<String, Object>> out = new ArrayList<>();
        if (d == null) {
            return out;
        }
        List<CommandResult> copy;
        synchronized (d) {
            copy = new ArrayList<>(d);
        }
        for (int i = copy.size() - 1; i >= 0; i--) {
            CommandResult v = copy.get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", Instant.ofEpochMilli(v.getTimeMs()).toString());
            m.put("actor", v.getActor());
            m.put("verdict", v.getAccepted() ? "accepted" : "refused");
            m.put("generation", v.getGeneration());
            m.put("reason", v.getReason());
            m.put("commandId", v.getCommandId());
            out.add(m);
        }
        return out;
    }

    @Override
    public void close() {
        tail.close();
    }
}
