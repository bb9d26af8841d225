package io.clops.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Creates topics idempotently (an existing topic is left as it is) and returns once clients can see them: a created
 * topic reaches the brokers' metadata a little after the controller has it, and a client asking in between is told
 * it does not exist ({@code partitionsFor} returns no partitions).
 */
public final class TopicAdmin {
    private TopicAdmin() {
    }

    public static void ensure(String bootstrap, Collection<TopicSpec> specs) {
        try (Admin admin = Admin.create(KafkaConfigs.admin(bootstrap))) {
            ensure(admin, specs);
        }
    }

    public static void ensure(Admin admin, Collection<TopicSpec> specs) {
        try {
            int brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
            short rf = (short) Math.min(3, Math.max(1, brokers));
            List<NewTopic> topics = specs.stream().map(s -> s.newTopic(rf)).toList();
            var result = admin.createTopics(topics);
            for (var entry : result.values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
            awaitVisible(admin, specs.stream().map(TopicSpec::name).toList());
            checkKeptForever(admin, specs.stream().filter(s -> s.retentionMs() == TopicSpec.FOREVER).toList());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (java.util.concurrent.TimeoutException | ExecutionException e) {
            throw new IllegalStateException("cannot reach Kafka to create topics: " + e.getMessage(), e);
        }
    }

    /**
     * The log (commands, registry, intake) is the audit trail and what every state is rebuilt from: a topic created to
     * keep its records forever that was since set to drop them (by time, by size, or compacted) refuses start-up,
     * naming the topic, the setting and how to set it back. An existing topic is never altered by clops: shortening
     * the audit trail is someone's decision, and undoing it is too.
     */
    static void checkKeptForever(Admin admin, List<TopicSpec> forever) throws InterruptedException, ExecutionException,
            java.util.concurrent.TimeoutException {
        if (forever.isEmpty()) {
            return;
        }
        List<org.apache.kafka.common.config.ConfigResource> resources = forever.stream()
                .map(s -> new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, s.name())).toList();
        var configs = admin.describeConfigs(resources).all().get(30, TimeUnit.SECONDS);
        List<String> problems = new java.util.ArrayList<>();
        for (var r : resources) {
            var c = configs.get(r);
            String retentionMs = value(c, "retention.ms");
            String retentionBytes = value(c, "retention.bytes");
            String policy = value(c, "cleanup.policy");
            if (!"-1".equals(retentionMs)) {
                problems.add(r.name() + " has retention.ms=" + retentionMs + " (records older than that are deleted; want -1)");
            }
            if (retentionBytes != null && !"-1".equals(retentionBytes)) {
                problems.add(r.name() + " has retention.bytes=" + retentionBytes + " (the oldest records are deleted past that size; want -1)");
            }
            if (!"delete".equals(policy)) {
                problems.add(r.name() + " has cleanup.policy=" + policy + " (compaction drops every record but the last of each key; want delete)");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("refusing to start: the log must keep every record (it is the audit trail and what every state is "
                    + "rebuilt from), but " + String.join("; ", problems) + ". Set it back, e.g. kafka-configs.sh --bootstrap-server <kafka> --alter "
                    + "--entity-type topics --entity-name " + forever.get(0).name() + " --add-config retention.ms=-1,retention.bytes=-1,cleanup.policy=delete");
        }
    }

    private static String value(org.apache.kafka.clients.admin.Config c, String name) {
        var e = c.get(name);
        return e == null ? null : e.value();
    }

    /**
     * Until every partition of every topic has a leader in the metadata brokers serve, and that leader answers for it
     * (a list-offsets request goes to the leader itself). The metadata names a leader a moment before the leader
     * takes the partition on: a producer writing in between gets NOT_LEADER_OR_FOLLOWER, and an idempotent one can
     * then stall on out-of-order sequence numbers, its records never written.
     */
    private static void awaitVisible(Admin admin, List<String> names) throws InterruptedException, java.util.concurrent.TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                var described = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
                if (described.values().stream().allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()))) {
                    Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
                    described.values().forEach(d -> d.partitions().forEach(p -> latest.put(
                            new org.apache.kafka.common.TopicPartition(d.name(), p.partition()), org.apache.kafka.clients.admin.OffsetSpec.latest())));
                    admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
                    return;
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.RetriableException)) {
                    throw new IllegalStateException("cannot describe topics " + names + ": " + e.getCause().getMessage(), e.getCause());
                }
            }
            if (System.nanoTime() > deadline) {
                throw new java.util.concurrent.TimeoutException("topics " + names + " created but not visible after 30 s");
            }
            Thread.sleep(20);
        }
    }
}
