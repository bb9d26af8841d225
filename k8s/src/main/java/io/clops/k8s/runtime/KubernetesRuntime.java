package io.clops.k8s.runtime;

import io.clops.avro.ClusterEvent;
import io.clops.avro.ObservedKind;
import io.clops.avro.ObservedPhase;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.ModelVersion;
import io.clops.avro.ResolvedRoute;
import io.clops.k8s.crd.CrMapping;
import io.clops.k8s.crd.ModelDeployment;
import io.clops.k8s.model.K8sModel;
import io.clops.k8s.model.K8sNames;
import io.clops.k8s.model.PlatformSettings;
import io.clops.kafka.Topics;
import io.clops.runtime.DeploymentRuntime;
import io.clops.runtime.ObservationWriter;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Kubernetes runtime: a reconcile is a short list of steps, status last.
 * <ol>
 *   <li>the project's namespace, quota and role bindings (once per project and settings);</li>
 *   <li>the ModelDeployment that owns everything else;</li>
 *   <li>each object of the deployment (K8sModel), applied: created, patched or unchanged;</li>
 *   <li>objects of this deployment that the desired state no longer names, deleted;</li>
 *   <li>an Applied report on clops.cluster, from which, with what the informers publish, the topology derives status.</li>
 * </ol>
 * Informers on managed Deployments and Pods publish what they see to clops.cluster and restore a managed
 * Deployment edited or deleted behind clops's back.
 */
public final class KubernetesRuntime implements DeploymentRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesRuntime.class);

    private final KubernetesClient client;
    private final PlatformSettings settings;
    private final ExecutorPrincipals principals;
    private final ObservationWriter status;
    private final Clock clock;
    private final Applier applier;
    private final Map<String, DesiredDeployment> desired = new ConcurrentHashMap<>();
    private final Map<String, List<HasMetadata>> objects = new ConcurrentHashMap<>();
    private final Set<String> projectsDone = ConcurrentHashMap.newKeySet();
    /** Each project as the log has it (members, quota); absent for a project from before projects were events. */
    private final Map<String, io.clops.avro.Project> projects = new ConcurrentHashMap<>();
    private final Map<String, Object> projectLocks = new ConcurrentHashMap<>();
    /** The informer's index of managed Deployments by project/deployment. */
    private static final String BY_DEPLOYMENT = "clops-deployment";
    private final Map<String, String> anchorUid = new ConcurrentHashMap<>();
    private final SharedIndexInformer<Deployment> deployments;
    private final SharedIndexInformer<Pod> pods;
    private final List<Applied> history = java.util.Collections.synchronizedList(new ArrayList<>());

    public KubernetesRuntime(KubernetesClient client, PlatformSettings settings, ObservationWriter status, Clock clock) {
        this(client, settings, status, clock, null);
    }

    /**
     * @param principals where the platform's Kafka enforces ACLs, what gives each project's executors a principal of
     *                   their own (its credentials go in the project's Secret instead of the platform's); null: the
     *                   Secret holds the platform's Kafka client settings as they are
     */
    public KubernetesRuntime(KubernetesClient client, PlatformSettings settings, ObservationWriter status, Clock clock,
                             ExecutorPrincipals principals) {
        this.client = client;
        this.principals = principals;
        this.settings = settings;
        this.status = status;
        this.clock = clock;
        this.applier = new Applier(client);
        this.deployments = client.apps().deployments().inAnyNamespace().withLabel(K8sNames.MANAGED_BY, K8sNames.MANAGER).runnableInformer(0);
        deployments.addIndexers(Map.of(BY_DEPLOYMENT, dep -> {
            var labels = dep.getMetadata().getLabels();
            return labels == null || labels.get(K8sNames.PROJECT) == null || labels.get(K8sNames.DEPLOYMENT) == null ? List.of()
                    : List.of(Topics.deploymentKey(labels.get(K8sNames.PROJECT), labels.get(K8sNames.DEPLOYMENT)));
        }));
        deployments.addEventHandler(new Handler<>(true));
        this.pods = client.pods().inAnyNamespace().withLabel(K8sNames.MANAGED_BY, K8sNames.MANAGER).runnableInformer(0);
        pods.addEventHandler(new Handler<>(false));
        deployments.start();
        pods.start();
    }

    /** Every outcome since start (tests, metrics). */
    public List<Applied> history() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    /** One lock per project: a project's objects are written in order (the worker never applies two of its deployments at once; drift repair waits its turn). */
    private Object lockOf(String project) {
        return projectLocks.computeIfAbsent(project, p -> new Object());
    }

    @Override
    public void apply(DesiredDeployment d) {
        synchronized (lockOf(d.getProject())) {
            applyLocked(d);
        }
    }

    private void applyLocked(DesiredDeployment d) {
        String key = Topics.deploymentKey(d.getProject(), d.getName());
        List<Applied> outcomes = new ArrayList<>();
        applyProjectObjects(d.getProject(), outcomes);
        ModelDeployment anchor = CrMapping.resource(d, K8sNames.labels(d));
        // a deployment this worker has not applied and of which the cluster shows nothing (the informer has synced and
        // indexes no Deployment of it): its owner is most likely new, so create it without reading first (a 409 falls
        // back to reading and comparing)
        boolean likelyNew = !objects.containsKey(key) && deployments.hasSynced()
                && deployments.getIndexer().byIndex(BY_DEPLOYMENT, key).isEmpty();
        Applied anchored = likelyNew ? applier.create(anchor) : applier.apply(anchor);
        outcomes.add(anchored);
        if (anchored.uid() != null) {
            anchorUid.put(key, anchored.uid()); // the owner's uid as the apply saw it: no second read
        }
        OwnerReference owner = owner(d);
        List<HasMetadata> want = K8sModel.deployment(d, settings, owner);
        List<HasMetadata> before = objects.put(key, want);
        desired.put(key, d);
        boolean fresh = before == null && anchored.outcome() == Outcome.CREATED;
        for (HasMetadata o : want) {
            outcomes.add(fresh ? applier.create(o) : applier.apply(o));
        }
        if (before != null) {
            outcomes.addAll(deleteGone(before, want)); // what this worker applied last time, minus what is wanted now
        } else if (anchored.outcome() != Outcome.CREATED) {
            outcomes.addAll(deleteStale(d.getProject(), d.getName(), want)); // after a restart: look for leftovers
        } // else: its owner was just created, so nothing of this deployment can exist yet
        history.addAll(outcomes);
        LOG.info("{} generation {}: {}", key, d.getGeneration(), summary(outcomes));
        ModelVersion noImage = d.getRoutes().stream().map(ResolvedRoute::getVersion)
                .filter(v -> v.getImage() == null && !K8sModel.servesFile(v)).findFirst().orElse(null);
        status.applied(d.getProject(), d.getName(), d.getGeneration(), "kubernetes", endpoint(d), noImage == null ? null
                : "model " + noImage.getModel() + ":" + noImage.getVersion() + " has no image and no model file; the Kubernetes runtime needs one of them");
    }

    static String endpoint(DesiredDeployment d) {
        return "http://" + K8sNames.service(d) + "." + K8sNames.namespace(d.getProject()) + ".svc.cluster.local";
    }

    private List<Applied> deleteGone(List<HasMetadata> before, List<HasMetadata> want) {
        Set<String> wanted = new HashSet<>();
        want.forEach(o -> wanted.add(o.getKind() + "/" + o.getMetadata().getName()));
        List<Applied> out = new ArrayList<>();
        for (HasMetadata o : before) {
            if (!wanted.contains(o.getKind() + "/" + o.getMetadata().getName())) {
                out.add(applier.delete(o));
            }
        }
        return out;
    }

    /**
     * Namespace, ResourceQuota (from the project's quota), RoleBindings (its members by role), the Kafka client Secret:
     * written once per version of the project (its generation), and again after a failure.
     */
    private void applyProjectObjects(String project, List<Applied> outcomes) {
        io.clops.avro.Project p = projects.get(project);
        String projectStamp = project + "|" + (p != null ? "generation " + p.getGeneration() : settings.project(project));
        if (!projectsDone.contains(projectStamp)) {
            K8sModel.project(project, settings, p, executorKafkaClient(project, p)).forEach(o -> outcomes.add(applier.apply(o)));
            projectsDone.removeIf(stamp -> stamp.startsWith(project + "|"));
            projectsDone.add(projectStamp); // only once every shared object is in place: a failure is tried again
        }
    }

    /**
     * The Kafka client settings a project's executors get: the platform's, with the project's own executor principal
     * in place of the platform's credentials when there are {@link ExecutorPrincipals}.
     */
    private Map<String, String> executorKafkaClient(String project, io.clops.avro.Project p) {
        if (principals == null) {
            return settings.kafkaClient();
        }
        io.clops.kafka.KafkaAccess.Credentials c = principals.grant(project, p == null ? null : p.getCreatedBy() + "@" + p.getCreatedMs());
        Map<String, String> out = new java.util.TreeMap<>(settings.kafkaClient());
        out.putIfAbsent("security.protocol", "SASL_PLAINTEXT");
        out.put("sasl.mechanism", "SCRAM-SHA-512");
        out.put("sasl.jaas.config", io.clops.kafka.KafkaAccess.jaas(c.username(), c.password()));
        return out;
    }

    @Override
    public void applyProject(io.clops.avro.Project p) {
        synchronized (lockOf(p.getName())) {
            projects.put(p.getName(), p);
            List<Applied> outcomes = new ArrayList<>();
            applyProjectObjects(p.getName(), outcomes);
            history.addAll(outcomes);
            if (!outcomes.isEmpty()) {
                LOG.info("project {} generation {} applied: {}", p.getName(), p.getGeneration(), summary(outcomes));
            }
        }
    }

    /**
     * The project's own objects go (its deployments' objects go with their own deletions): the ResourceQuota,
     * RoleBindings and Secret, then the Namespace (on a cluster, deleting it removes anything left in it).
     */
    @Override
    public void deleteProject(String project) {
        synchronized (lockOf(project)) {
            projects.remove(project);
            projectsDone.removeIf(stamp -> stamp.startsWith(project + "|"));
            List<HasMetadata> own = new ArrayList<>(K8sModel.project(project, settings, null,
                    principals == null ? settings.kafkaClient() : Map.of("sasl.mechanism", "SCRAM-SHA-512"))); // the Secret too
            if (principals != null) {
                principals.revoke(project);
            }
            java.util.Collections.reverse(own); // the Namespace last
            List<Applied> outcomes = new ArrayList<>();
            for (HasMetadata o : own) {
                if (applier.resource(o).get() != null) {
                    outcomes.add(applier.delete(o));
                }
            }
            history.addAll(outcomes);
            LOG.info("project {} deleted: {}", project, summary(outcomes));
        }
    }

    @Override
    public void delete(String project, String name) {
        synchronized (lockOf(project)) {
            deleteLocked(project, name);
        }
    }

    private void deleteLocked(String project, String name) {
        String key = Topics.deploymentKey(project, name);
        desired.remove(key);
        List<HasMetadata> before = objects.remove(key);
        anchorUid.remove(key);
        List<Applied> outcomes = new ArrayList<>(before != null ? deleteGone(before, List.of()) : deleteStale(project, name, List.of()));
        ModelDeployment anchor = client.resources(ModelDeployment.class).inNamespace(K8sNames.namespace(project)).withName(name).get();
        if (anchor != null) {
            outcomes.add(applier.delete(anchor));
        }
        history.addAll(outcomes);
        LOG.info("{} deleted: {}", key, summary(outcomes));
        status.observedGone(ObservedKind.Applied, project, name, name);
    }

    @Override
    public void release(String project, String name) {
        String key = Topics.deploymentKey(project, name);
        desired.remove(key);
        objects.remove(key);
        anchorUid.remove(key);
        LOG.info("{} released to another worker", key);
    }

    /** The ModelDeployment that owns every object of the deployment (applied first, so it exists). */
    private OwnerReference owner(DesiredDeployment d) {
        String key = Topics.deploymentKey(d.getProject(), d.getName());
        String uid = anchorUid.get(key);
        if (uid == null) {
            ModelDeployment cr = client.resources(ModelDeployment.class).inNamespace(K8sNames.namespace(d.getProject()))
                    .withName(d.getName()).get();
            uid = cr.getMetadata().getUid();
            anchorUid.put(key, uid);
        }
        return new OwnerReferenceBuilder().withApiVersion(CrMapping.API_VERSION).withKind("ModelDeployment")
                .withName(d.getName()).withUid(uid).withController(true).withBlockOwnerDeletion(true).build();
    }

    /** Deletes, by label, every managed object of this deployment that {@code keep} does not name. */
    private List<Applied> deleteStale(String project, String name, List<HasMetadata> keep) {
        Set<String> wanted = new HashSet<>();
        keep.forEach(o -> wanted.add(o.getKind() + "/" + o.getMetadata().getName()));
        String ns = K8sNames.namespace(project);
        Map<String, String> labels = Map.of(K8sNames.MANAGED_BY, K8sNames.MANAGER, K8sNames.DEPLOYMENT, name);
        List<HasMetadata> live = new ArrayList<>();
        live.addAll(client.apps().deployments().inNamespace(ns).withLabels(labels).list().getItems());
        live.addAll(client.services().inNamespace(ns).withLabels(labels).list().getItems());
        live.addAll(client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(ns).withLabels(labels).list().getItems());
        live.addAll(client.policy().v1().podDisruptionBudget().inNamespace(ns).withLabels(labels).list().getItems());
        for (String kind : List.of("VirtualService", "DestinationRule")) {
            try {
                live.addAll(client.genericKubernetesResources(Applier.context("networking.istio.io/v1", kind))
                        .inNamespace(ns).withLabels(labels).list().getItems());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 404) {
                    throw e; // 404: Istio is not installed, so there is nothing of that kind
                }
            }
        }
        List<Applied> out = new ArrayList<>();
        for (HasMetadata o : live) {
            if (!wanted.contains(o.getKind() + "/" + o.getMetadata().getName())) {
                out.add(applier.delete(o));
            }
        }
        return out;
    }

    /** Informer events: publish what is seen, restore drifted Deployments, recompute status. */
    private final class Handler<T extends HasMetadata> implements ResourceEventHandler<T> {
        private final boolean workload;

        Handler(boolean workload) {
            this.workload = workload;
        }

        @Override
        public void onAdd(T obj) {
            seen(obj, false);
        }

        @Override
        public void onUpdate(T oldObj, T newObj) {
            seen(newObj, false);
        }

        @Override
        public void onDelete(T obj, boolean deletedFinalStateUnknown) {
            seen(obj, true);
        }

        private void seen(T obj, boolean gone) {
            try {
                var labels = obj.getMetadata().getLabels();
                String key = Topics.deploymentKey(labels.get(K8sNames.PROJECT), labels.get(K8sNames.DEPLOYMENT));
                if (!desired.containsKey(key)) {
                    if (gone) {
                        publish(obj, true); // a tombstone is harmless twice, and no worker may own the key any more
                    }
                    return; // not ours (another worker's, or not desired any more)
                }
                publish(obj, gone);
                if (workload) {
                    repairDrift(key, obj, gone);
                }
            } catch (RuntimeException e) {
                LOG.warn("handling {} {}: {}", obj.getKind(), obj.getMetadata().getName(), e.toString(), e);
            }
        }
    }

    private void repairDrift(String key, HasMetadata live, boolean gone) {
        List<HasMetadata> want = objects.get(key);
        if (want == null) {
            return;
        }
        for (HasMetadata o : want) {
            if (o.getKind().equals(live.getKind()) && o.getMetadata().getName().equals(live.getMetadata().getName())) {
                if (!gone && applier.matches(live, o)) {
                    return; // the event carries the live object: nothing drifted, no need to read it again
                }
                synchronized (lockOf(live.getMetadata().getLabels().get(K8sNames.PROJECT))) {
                    Applied a = applier.apply(o);
                    history.add(a);
                    if (a.wrote()) {
                        LOG.info("{} {} changed behind clops's back ({}): {}", o.getKind(), o.getMetadata().getName(),
                                gone ? "deleted" : "edited", a.outcome());
                    }
                }
            }
        }
    }

    /** What the informers see, for the topology: workloads with their available replicas, pods with a failure. */
    private void publish(HasMetadata obj, boolean gone) {
        String ns = obj.getMetadata().getNamespace();
        String kind = obj.getKind() == null ? (obj instanceof Pod ? ObservedKind.Pod : ObservedKind.Deployment).name() : obj.getKind();
        String deployment = obj.getMetadata().getLabels().get(K8sNames.DEPLOYMENT);
        if (gone) {
            status.observedGone(kind, ns, obj.getMetadata().getName(), deployment);
            return;
        }
        int replicas = 0;
        int ready = 0;
        String phase = ObservedPhase.Present.name();
        String reason = null;
        if (obj instanceof Deployment dep) {
            var template = dep.getSpec() == null || dep.getSpec().getTemplate() == null ? null : dep.getSpec().getTemplate().getMetadata();
            boolean serving = template == null || template.getLabels() == null || !"false".equals(template.getLabels().get(K8sNames.SERVING));
            phase = (serving ? ObservedPhase.Serving : ObservedPhase.Shadow).name();
            if (dep.getStatus() != null) {
                replicas = dep.getStatus().getReplicas() == null ? 0 : dep.getStatus().getReplicas();
                ready = dep.getStatus().getAvailableReplicas() == null ? 0 : dep.getStatus().getAvailableReplicas();
            }
        } else if (obj instanceof Pod pod && pod.getStatus() != null) {
            phase = pod.getStatus().getPhase() == null ? "Unknown" : pod.getStatus().getPhase();
            reason = PodFailures.reason(pod);
        }
        status.observed(ClusterEvent.newBuilder().setKind(kind).setNamespace(ns).setName(obj.getMetadata().getName())
                .setDeployment(deployment).setPhase(phase).setReason(reason)
                .setReplicas(replicas).setReadyReplicas(ready).setTimeMs(clock.millis()).build());
    }

    private static String summary(List<Applied> outcomes) {
        Map<Outcome, Integer> n = new java.util.EnumMap<>(Outcome.class);
        outcomes.forEach(a -> n.merge(a.outcome(), 1, Integer::sum));
        return n.toString();
    }

    @Override
    public void close() {
        deployments.close();
        pods.close();
    }
}
