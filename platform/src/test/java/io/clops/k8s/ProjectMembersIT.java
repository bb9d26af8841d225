package io.clops.k8s;

import io.clops.avro.DesiredDeployment;
import io.clops.avro.Project;
import io.clops.avro.ProjectQuota;
import io.clops.avro.ProjectRole;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.TopicAdmin;
import io.clops.kafka.Topics;
import io.clops.runtime.DeploymentRuntime;
import io.clops.runtime.ObservationWriter;
import io.clops.runtime.ReconcileWorker;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.clops.testing.TopicProbe;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worker that owns a project publishes its record to {@code clops.members.<project>} for the project's executors
 * (which read that topic with their own credentials, never clops.projects): before the runtime applies the project,
 * again when its members change, a tombstone once it is deleted; a member removed while the runtime cannot apply the
 * project (a 403 from kube-apiserver, retried with back-off) is refused by the executors all the same. The runtime here
 * records what it is asked and fails when told to (either runtime would do; the publishing is the worker's).
 */
@ExtendWith(KafkaExtension.class)
class ProjectMembersIT {
    static final class Recording implements DeploymentRuntime {
        final List<String> calls = new CopyOnWriteArrayList<>();
        volatile boolean refusing;

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public void apply(DesiredDeployment desired) {
        }

        @Override
        public void delete(String project, String name) {
        }

        @Override
        public void applyProject(Project project) {
            String call = "apply " + project.getName() + " " + new java.util.TreeMap<>(project.getMembers());
            if (refusing) {
                calls.add("refused " + call);
                throw new io.clops.runtime.ApplyFailed("rolebindings is forbidden (a stand-in for kube-apiserver's 403)", null);
            }
            calls.add(call);
        }

        @Override
        public void deleteProject(String project) {
            calls.add("delete " + project);
        }

        @Override
        public void close() {
        }
    }

    static Project project(String name, long generation, Map<String, ProjectRole> members) {
        return Project.newBuilder().setName(name).setMembers(new HashMap<>(members)).setQuota(ProjectQuota.newBuilder().build())
                .setGeneration(generation).setCreatedBy("ada").setCreatedMs(0).setCommandId("c-" + generation).setActor("ada").setTimeMs(0).build();
    }

    /** The latest record of the project's members topic, and whether there is one (null: a tombstone). */
    static List<ConsumerRecord<String, Project>> published(String bootstrap, String project) {
        var topic = Topics.projectMembers(project);
        return TopicProbe.readAll(bootstrap, topic.name(), topic.keySerde().deserializer(), topic.valueSerde().deserializer());
    }

    @Test
    void theOwningWorkerPublishesTheProjectForItsExecutorsOnEveryChangeAndEndsItWhenDeleted() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        TopicAdmin.ensure(bootstrap, Topics.ALL);
        Recording runtime = new Recording();
        try (var producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "members-it"), Topics.PROJECTS.keySerde().serializer(),
                Topics.PROJECTS.valueSerde().serializer());
             ObservationWriter status = new ObservationWriter(bootstrap, "members-it");
             ReconcileWorker worker = new ReconcileWorker(bootstrap, runtime, status, null,
                     ReconcileWorker.Settings.defaults().withRetry(Duration.ofMillis(100), Duration.ofMillis(400))).start()) {
            producer.send(new ProducerRecord<>(Topics.PROJECTS.name(), "pm-a", project("pm-a", 1, Map.of("ada", ProjectRole.admin, "bob", ProjectRole.viewer)))).get();
            Await.until("pm-a's members are published", Duration.ofSeconds(30), () -> {
                var r = lastOrNull(bootstrap, "pm-a");
                return r != null && r.value() != null && r.value().getMembers().keySet().equals(java.util.Set.of("ada", "bob"));
            });
            Await.until("pm-a is applied", Duration.ofSeconds(30), () -> runtime.calls.contains("apply pm-a {ada=admin, bob=viewer}"));

            // the cluster refuses the project's objects from now on; bob is removed all the same where it counts
            runtime.refusing = true;
            producer.send(new ProducerRecord<>(Topics.PROJECTS.name(), "pm-a", project("pm-a", 2, Map.of("ada", ProjectRole.admin)))).get();
            Await.until("bob's removal is published", Duration.ofSeconds(30), () -> {
                var r = lastOrNull(bootstrap, "pm-a");
                return r != null && r.value() != null && r.value().getMembers().keySet().equals(java.util.Set.of("ada"));
            });
            Await.until("the apply is retried", Duration.ofSeconds(30),
                    () -> runtime.calls.stream().filter("refused apply pm-a {ada=admin}"::equals).count() >= 2);
            assertThat(runtime.calls).as("not applied while refused").doesNotContain("apply pm-a {ada=admin}");
            runtime.refusing = false;
            Await.until("the retry applies pm-a once the cluster allows it", Duration.ofSeconds(30),
                    () -> runtime.calls.contains("apply pm-a {ada=admin}"));

            assertThat(published(bootstrap, "pm-a")).extracting(r -> r.value() == null ? "tombstone" : "generation " + r.value().getGeneration())
                    .as("each change once, in order, however often the runtime's part was retried")
                    .containsExactly("generation 1", "generation 2");

            // deleted: the record becomes a tombstone (executors refuse every token), then the topic goes with the
            // project's other topics (it has no deployments left)
            producer.send(new ProducerRecord<>(Topics.PROJECTS.name(), "pm-a", null)).get();
            Await.until("the deleted project's members topic is gone", Duration.ofSeconds(30), () -> {
                try (var admin = org.apache.kafka.clients.admin.Admin.create(KafkaConfigs.admin(bootstrap))) {
                    return !admin.listTopics().names().get().contains(Topics.projectMembers("pm-a").name());
                } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(runtime.calls).contains("delete pm-a");
        }
    }

    static ConsumerRecord<String, Project> lastOrNull(String bootstrap, String project) {
        try {
            List<ConsumerRecord<String, Project>> all = published(bootstrap, project);
            return all.isEmpty() ? null : all.get(all.size() - 1);
        } catch (RuntimeException notYet) { // the topic is not there before the first publication
            return null;
        }
    }
}
