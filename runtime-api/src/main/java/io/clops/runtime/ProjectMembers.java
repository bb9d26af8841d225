package io.clops.runtime;

import io.clops.avro.Project;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Publishes each project's record to its own topic ({@link Topics#projectMembers}) for the project's executors, which
 * check tokens against their project's members: with their own Kafka credentials they read that topic and not
 * clops.projects, where every project's members and quotas are. The worker that owns a project publishes it before
 * the runtime applies it (so a removal holds while an apply fails), and a tombstone once it is deleted; a record (or a
 * tombstone) already published by this worker is not sent again when the runtime's part is retried.
 */
public final class ProjectMembers implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProjectMembers.class);
    private final Admin admin;
    private final KafkaProducer<String, Project> producer;
    /** What this worker last made each project's topic hold: the record, or empty for the tombstone. */
    private final Map<String, java.util.Optional<Project>> last = new ConcurrentHashMap<>();

    public ProjectMembers(String bootstrap) {
        this.admin = Admin.create(KafkaConfigs.admin(bootstrap));
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "clops-project-members", Duration.ofSeconds(15)),
                Topics.PROJECTS.keySerde().serializer(), Topics.PROJECTS.valueSerde().serializer());
    }

    /** Makes the project's topic hold {@code project}; throws when Kafka did not take it (the worker tries again). */
    public void publish(Project project) {
        if (Objects.equals(last.get(project.getName()), java.util.Optional.of(project))) {
            return;
        }
        var topic = Topics.projectMembers(project.getName());
        TopicAdmin.ensure(admin, List.of(topic.spec()));
        send(topic.name(), project.getName(), project);
        last.put(project.getName(), java.util.Optional.of(project));
    }

    /** The project was deleted: its topic's record becomes a tombstone (executors then refuse every token). */
    void remove(String name) {
        if (java.util.Optional.empty().equals(last.get(name))) {
            return;
        }
        var topic = Topics.projectMembers(name);
        try {
            if (!admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic.name())) {
                last.put(name, java.util.Optional.empty());
                return; // never published (a project deleted long ago, met again in clops.projects): nothing to end
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while listing topics", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot list Kafka's topics: " + e.getMessage(), e);
        }
        send(topic.name(), name, null);
        last.put(name, java.util.Optional.empty());
    }

    /**
     * What a deleted project leaves on Kafka goes with it, so that a project created later under the same name (by
     * other people) finds none of it: its deployments' request and response topics ({@code clops.infer.<project>.*}),
     * its inference log, its members topic, and the consumer groups of its executors and of its members' apps
     * ({@code clops.executor.<project>.*}, {@code <project>.*}). The audit trail, which is the platform's, keeps what
     * was done. Call it once the project's deployments are gone (their executors no longer write). Idempotent.
     *
     * @return the topics and groups deleted
     */
    List<String> deleteData(String name) {
        try {
            List<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
                    .filter(t -> Topics.ofProject(name, t)).sorted().toList();
            List<String> groups = admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream()
                    .map(org.apache.kafka.clients.admin.ConsumerGroupListing::groupId)
                    .filter(g -> Topics.groupOfProject(name, g)).sorted().toList();
            if (!topics.isEmpty()) {
                admin.deleteTopics(topics).all().get(30, TimeUnit.SECONDS);
            }
            List<String> out = new java.util.ArrayList<>(topics);
            for (var g : admin.deleteConsumerGroups(groups).deletedGroups().entrySet()) {
                try {
                    g.getValue().get(30, TimeUnit.SECONDS);
                    out.add(g.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupNotEmptyException)
                            || g.getKey().startsWith(Topics.executorGroupPrefix(name))) {
                        throw e; // an executor's group outlives it for a session timeout: tried again (a deployment of
                                 // the same name later must not start from its offsets)
                    }
                    // an app of a former member still polls (its credentials went with the project): only offsets of
                    // topics that no longer exist, kept until Kafka expires them
                    LOG.info("project {} deleted: consumer group {} still has members, left to expire", name, g.getKey());
                }
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while deleting project " + name + "'s topics", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not delete project " + name + "'s topics and consumer groups: " + e.getMessage(), e);
        }
    }

    private void send(String topic, String key, Project value) {
        try {
            producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing " + topic, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not publish " + topic + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(2));
        admin.close(Duration.ofSeconds(2));
    }
}
