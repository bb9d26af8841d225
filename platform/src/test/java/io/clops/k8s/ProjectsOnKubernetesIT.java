package io.clops.k8s;

import io.clops.api.ProjectRequests;
import io.clops.api.StrictJson;
import io.clops.avro.ModelVersion;
import io.clops.avro.ProjectRole;
import io.clops.gateway.Principal;
import io.clops.gateway.Request;
import io.clops.gateway.Verdict;
import io.clops.k8s.crd.ModelDeployment;
import io.clops.k8s.model.K8sNames;
import io.clops.testing.Await;
import io.clops.testing.KafkaExtension;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuota;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.clops.testing.Fixtures.deploy;
import static io.clops.testing.Fixtures.registered;
import static io.clops.testing.Fixtures.spec;
import static io.clops.testing.Fixtures.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * On the Kubernetes runtime (fabric8's mock API server in CRUD mode, standing in for a cluster), a project's objects
 * follow the log with no other input: its quota becomes the ResourceQuota, its members the RoleBindings; deleting
 * the project removes every object of its deployments and its own.
 */
@ExtendWith(KafkaExtension.class)
@EnableKubernetesMockClient(crud = true, https = false)
class ProjectsOnKubernetesIT {
    static KubernetesClient client;
    static final Principal ALICE = new Principal("alice");

    static Verdict submit(K8sPipeline pipeline, Request r) {
        Verdict v = pipeline.events.gateway.submit(r, ALICE, null);
        assertThat(v.accepted()).as(v.pending() ? "pending" : v.result().getReason()).isTrue();
        return v;
    }

    static io.clops.avro.ProjectQuota quota(String json) {
        return ProjectRequests.quota(StrictJson.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    static Map<String, String> hard(String ns) {
        ResourceQuota q = client.resourceQuotas().inNamespace(ns).withName("clops-quota").get();
        Map<String, String> out = new TreeMap<>();
        if (q != null) {
            q.getSpec().getHard().forEach((k, v) -> out.put(k, v.toString()));
        }
        return out;
    }

    static List<String> users(String ns, String role) {
        RoleBinding rb = client.rbac().roleBindings().inNamespace(ns).withName(K8sNames.roleBinding(ns, role)).get();
        return rb == null ? List.of() : rb.getSubjects().stream().filter(s -> s.getKind().equals("User")).map(Subject::getName).toList();
    }

    @Test
    void quotaAndMembersFollowTheLogAndDeletingTheProjectRemovesEveryObject() throws Exception {
        String bootstrap = KafkaExtension.bootstrapServers();
        try (K8sPipeline pipeline = new K8sPipeline(bootstrap, client, false)) {
            String p = "tenants";
            submit(pipeline, new Request.CreateProject(p, null, "team A",
                    quota("{\"cpu\":\"4\",\"memory\":\"8Gi\",\"gpu\":{\"nvidia.com/gpu\":2},\"replicas\":10}")));
            Await.until("the project's ResourceQuota from its quota", () -> hard(p).equals(Map.of("limits.cpu", "4", "limits.memory", "8Gi",
                    "requests.cpu", "4", "requests.memory", "8Gi", "requests.nvidia.com/gpu", "2", "pods", "10")));
            Await.until("its creator bound as admin (the RoleBindings come after the quota)", () -> users(p, "admin").equals(List.of("alice")));

            submit(pipeline, new Request.SetMember(p, "bob", ProjectRole.modeler));
            Await.until("bob bound as modeler", () -> users(p, "modeler").equals(List.of("bob")));
            RoleBinding modeler = client.rbac().roleBindings().inNamespace(p).withName("clops-modeler").get();
            assertThat(modeler.getSubjects()).extracting(Subject::getKind, Subject::getName)
                    .contains(org.assertj.core.groups.Tuple.tuple("Group", io.clops.api.KubeGroups.member(p, "modeler")));

            submit(pipeline, new Request.SetQuota(p, quota("{\"cpu\":\"6\",\"memory\":\"8Gi\"}")));
            Await.until("the ResourceQuota follows quota set", () -> hard(p).equals(Map.of("limits.cpu", "6", "limits.memory", "8Gi",
                    "requests.cpu", "6", "requests.memory", "8Gi")));

            submit(pipeline, new Request.RemoveMember(p, "bob"));
            Await.until("bob unbound", () -> users(p, "modeler").isEmpty());
            assertThat(users(p, "admin")).containsExactly("alice");

            ModelVersion v = version("iris", 1, List.of());
            v.setImage("registry.example/iris:1");
            pipeline.events.registry(registered("r1", p, v));
            for (String name : List.of("a", "b", "c")) {
                assertThat(pipeline.events.command(deploy("c-" + name, p, name, spec("iris:1"))).accepted()).isTrue();
            }
            Await.until("three deployments applied", () -> client.apps().deployments().inNamespace(p).list().getItems().size() == 3);

            Verdict deleted = submit(pipeline, new Request.DeleteProject(p));
            assertThat(deleted.result().getReason()).isEqualTo("deleted with 3 deployment(s) and 1 model(s)");
            Await.until("every object of the project gone", () -> client.apps().deployments().inNamespace(p).list().getItems().isEmpty()
                    && client.services().inNamespace(p).list().getItems().isEmpty()
                    && client.resources(ModelDeployment.class).inNamespace(p).list().getItems().isEmpty()
                    && client.resourceQuotas().inNamespace(p).list().getItems().isEmpty()
                    && client.rbac().roleBindings().inNamespace(p).list().getItems().isEmpty()
                    && client.namespaces().withName(p).get() == null);
        }
    }
}
