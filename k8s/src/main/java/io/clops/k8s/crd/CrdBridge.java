package io.clops.k8s.crd;

import io.clops.api.DeploymentSpecParser;
import io.clops.api.InvalidRequest;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.gateway.CommandGateway;
import io.clops.gateway.Principal;
import io.clops.gateway.Request;
import io.clops.kafka.CompactedView;
import io.clops.kafka.Topics;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * ModelDeployment resources → the command gateway. A resource whose spec differs from what is desired becomes a
 * deploy request (a deleted one an undeploy), acting for the Kubernetes user; the fold's verdict is written back to
 * the resource's status when it refuses, and clops.status is mirrored to every resource's status. An invalid spec is
 * refused right here, in the resource's status, and never reaches the log. Idempotency keys derive from the
 * resource's uid and spec, so a resync or a second bridge replica sends the same command id, which the fold applies
 * once. A request the log did not take is sent again after a pause.
 */
public final class CrdBridge implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CrdBridge.class);
    /** Set by an admission webhook (or a person) to name who applied the resource. */
    public static final String ACTOR_ANNOTATION = "clops.io/actor";

    private final KubernetesClient client;
    private final CompactedView<DesiredDeployment> desired;
    private final CompactedView<DeploymentStatus> statuses;
    private final CommandGateway gateway;
    private final SharedIndexInformer<ModelDeployment> informer;
    private final Map<String, String> sent = new ConcurrentHashMap<>();
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "crd-bridge-retry");
        t.setDaemon(true);
        return t;
    });

    /** The gateway is the caller's to close. */
    public CrdBridge(KubernetesClient client, CommandGateway gateway, String bootstrap) throws InterruptedException {
        this.client = client;
        this.gateway = gateway;
        this.desired = new CompactedView<>(bootstrap, Topics.DESIRED).start();
        if (!desired.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.desired within 60 s");
        }
        this.statuses = new CompactedView<>(bootstrap, Topics.STATUS);
        statuses.onChange((key, st) -> {
            if (st != null) {
                mirror(st);
            }
        });
        statuses.start();
        this.informer = client.resources(ModelDeployment.class).inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ModelDeployment cr) {
                applied(cr);
            }

            @Override
            public void onUpdate(ModelDeployment old, ModelDeployment cr) {
                applied(cr);
            }

            @Override
            public void onDelete(ModelDeployment cr, boolean unknownFinalState) {
                deleted(cr);
            }
        }, 0);
    }

    private void applied(ModelDeployment cr) {
        String ns = cr.getMetadata().getNamespace();
        String name = cr.getMetadata().getName();
        String key = Topics.deploymentKey(ns, name);
        DeploymentSpecParser.Parsed parsed;
        try {
            parsed = CrMapping.parse(cr);
        } catch (InvalidRequest e) {
            refuse(ns, name, "invalid spec: " + String.join("; ", e.errors().stream().map(Object::toString).toList()), null);
            return;
        }
        boolean same = desired.get(key).map(d -> d.getSpec().equals(parsed.spec())).orElse(false);
        if (same) {
            return; // what is desired already (our own mirror, a resync, or a status update)
        }
        String id = "k8s:" + cr.getMetadata().getUid() + ":" + hash(parsed.spec().toString());
        if (id.equals(sent.put(key, id))) {
            return;
        }
        send(new Request.Deploy(ns, name, parsed.spec()), name, actor(cr), id, true);
    }

    private void deleted(ModelDeployment cr) {
        String ns = cr.getMetadata().getNamespace();
        String name = cr.getMetadata().getName();
        String key = Topics.deploymentKey(ns, name);
        sent.remove(key);
        if (desired.get(key).isEmpty()) {
            return; // already gone: clops deleted the resource itself
        }
        send(new Request.Undeploy(ns, name), name, actor(cr), "k8s:" + cr.getMetadata().getUid() + ":delete", false);
    }

    /**
     * Submits through the gateway. A refusal is written back to the resource (deploys); a request the log did not
     * take is tried again from the resource's latest state after a pause.
     */
    private void send(Request request, String name, String actor, String idempotencyKey, boolean writeBack) {
        String ns = request.project();
        LOG.info("ModelDeployment {}/{} by {} → {}", ns, name, actor, idempotencyKey);
        gateway.submitAsync(request, new Principal(actor), idempotencyKey).whenComplete((v, failed) -> {
            Throwable cause = failed instanceof java.util.concurrent.CompletionException && failed.getCause() != null ? failed.getCause() : failed;
            if (cause instanceof io.clops.gateway.Forbidden) {
                if (writeBack) {
                    refuse(ns, name, "forbidden: " + cause.getMessage(), null); // not retried: the same request would be refused again
                }
            } else if (failed != null) {
                LOG.warn("ModelDeployment {}/{}: {}; trying again in 2 s", ns, name, failed.getMessage());
                sent.remove(Topics.deploymentKey(ns, name));
                retries.schedule(() -> retry(request, name, actor, idempotencyKey), 2, TimeUnit.SECONDS);
            } else if (writeBack && !v.pending() && !v.accepted()) {
                refuse(ns, name, v.result().getReason(), v.commandId());
            }
        });
    }

    private void retry(Request request, String name, String actor, String idempotencyKey) {
        ModelDeployment cr = informer.getStore().getByKey(request.project() + "/" + name);
        if (request instanceof Request.Deploy && cr != null) {
            applied(cr); // its latest spec: the same key when unchanged
        } else if (request instanceof Request.Undeploy && cr == null
                && desired.get(Topics.deploymentKey(request.project(), name)).isPresent()) {
            send(request, name, actor, idempotencyKey, false);
        }
    }

    /** The resource's status subresource shows what clops.status says (a merge patch: no read first). */
    private void mirror(DeploymentStatus s) {
        ModelDeploymentStatus st = new ModelDeploymentStatus();
        st.phase = s.getPhase();
        st.reason = s.getReason();
        st.readyReplicas = s.getReadyReplicas();
        st.observedGeneration = s.getObservedGeneration();
        st.endpoint = s.getEndpoint();
        st.lastCommand = desired.get(Topics.deploymentKey(s.getProject(), s.getName())).map(DesiredDeployment::getCommandId).orElse(null);
        ModelDeployment patch = new ModelDeployment();
        patch.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(s.getName()).withNamespace(s.getProject()).build());
        patch.setStatus(st);
        try {
            client.resources(ModelDeployment.class).resource(patch).patchStatus();
        } catch (KubernetesClientException e) {
            LOG.debug("no ModelDeployment {}/{} to mirror status to: {}", s.getProject(), s.getName(), e.getMessage());
        }
    }

    private void refuse(String ns, String name, String reason, String commandId) {
        try {
            client.resources(ModelDeployment.class).inNamespace(ns).withName(name).editStatus(cr -> {
                ModelDeploymentStatus st = cr.getStatus() == null ? new ModelDeploymentStatus() : cr.getStatus();
                st.phase = "Refused";
                st.reason = reason;
                st.lastCommand = commandId;
                cr.setStatus(st);
                return cr;
            });
        } catch (KubernetesClientException e) {
            LOG.warn("cannot write the refusal of {}/{}: {}", ns, name, e.getMessage());
        }
    }

    /**
     * The actor: the {@value #ACTOR_ANNOTATION} annotation when an admission webhook set it, otherwise the field
     * manager that last wrote the resource (kubectl, argocd, …), prefixed with {@code kubernetes:}.
     */
    static String actor(ModelDeployment cr) {
        Map<String, String> a = cr.getMetadata().getAnnotations();
        if (a != null && a.get(ACTOR_ANNOTATION) != null) {
            return "kubernetes:" + a.get(ACTOR_ANNOTATION);
        }
        List<ManagedFieldsEntry> mf = cr.getMetadata().getManagedFields();
        if (mf != null && !mf.isEmpty() && mf.get(mf.size() - 1).getManager() != null) {
            return "kubernetes:" + mf.get(mf.size() - 1).getManager();
        }
        return "kubernetes:unknown";
    }

    private static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        retries.shutdownNow();
        informer.close();
        statuses.close();
        desired.close();
    }
}
