package io.clops.k8s.crd;

import io.clops.api.CommandResults;
import io.clops.api.DeploymentSpecParser;
import io.clops.api.InvalidRequest;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentStatus;
import io.clops.avro.DesiredDeployment;
import io.clops.avro.UndeployCommand;
import io.clops.kafka.CompactedView;
import io.clops.kafka.KafkaConfigs;
import io.clops.kafka.Topics;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * ModelDeployment resources → the command log. A resource whose spec differs from what is desired becomes a deploy
 * command (a deleted one an undeploy), with the Kubernetes user as actor; the fold's verdict is written back to the
 * resource's status when it refuses, and clops.status is mirrored to every resource's status. An invalid spec is refused right here, in the resource's status, and never
 * reaches the log. Command ids derive from the resource's uid and spec, so a resync or a second bridge replica
 * sends the same command id, which the fold applies once.
 */
public final class CrdBridge implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CrdBridge.class);
    /** Set by an admission webhook (or a person) to name who applied the resource. */
    public static final String ACTOR_ANNOTATION = "clops.io/actor";

    private final KubernetesClient client;
    private final Clock clock;
    private final CompactedView<DesiredDeployment> desired;
    private final CompactedView<DeploymentStatus> statuses;
    private final CommandResults results;
    private final KafkaProducer<String, byte[]> producer;
    private final SharedIndexInformer<ModelDeployment> informer;
    private final Map<String, String> sent = new ConcurrentHashMap<>();

    public CrdBridge(KubernetesClient client, String bootstrap, Clock clock) throws InterruptedException {
        this.client = client;
        this.clock = clock;
        this.desired = new CompactedView<>(bootstrap, Topics.DESIRED).start();
        if (!desired.awaitCaughtUp(Duration.ofSeconds(60))) {
            throw new IllegalStateException("could not read clops.desired within 60 s");
        }
        this.results = new CommandResults(bootstrap);
        this.statuses = new CompactedView<>(bootstrap, Topics.STATUS);
        statuses.onChange((key, st) -> {
            if (st != null) {
                mirror(st);
            }
        });
        statuses.start();
        this.producer = new KafkaProducer<>(KafkaConfigs.producer(bootstrap, "crd-bridge"), new StringSerializer(), new ByteArraySerializer());
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
        send(CommandEnvelope.newBuilder().setId(id).setProject(ns).setActor(actor(cr)).setTimeMs(clock.millis())
                .setPayload(DeployCommand.newBuilder().setName(name).setSpec(parsed.spec()).build()).build(), name);
    }

    private void deleted(ModelDeployment cr) {
        String ns = cr.getMetadata().getNamespace();
        String name = cr.getMetadata().getName();
        String key = Topics.deploymentKey(ns, name);
        sent.remove(key);
        if (desired.get(key).isEmpty()) {
            return; // already gone: clops deleted the resource itself
        }
        send(CommandEnvelope.newBuilder().setId("k8s:" + cr.getMetadata().getUid() + ":delete").setProject(ns)
                .setActor(actor(cr)).setTimeMs(clock.millis())
                .setPayload(UndeployCommand.newBuilder().setName(name).build()).build(), null);
    }

    private void send(CommandEnvelope cmd, String writeBackTo) {
        var verdict = results.expect(cmd.getId());
        producer.send(new ProducerRecord<>(Topics.COMMANDS.name(), cmd.getProject(),
                Topics.COMMANDS.valueSerde().serializer().serialize(Topics.COMMANDS.name(), cmd)));
        producer.flush();
        LOG.info("ModelDeployment {}/{} by {} → command {}", cmd.getProject(), cmd.getPayload() instanceof DeployCommand dc ? dc.getName() : "",
                cmd.getActor(), cmd.getId());
        if (writeBackTo != null) {
            verdict.thenAccept(r -> {
                if (!r.getAccepted()) {
                    refuse(cmd.getProject(), writeBackTo, r.getReason(), cmd.getId());
                }
            });
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
        informer.close();
        statuses.close();
        producer.close();
        results.close();
        desired.close();
    }
}
