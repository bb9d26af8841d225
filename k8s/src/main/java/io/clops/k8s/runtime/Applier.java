package io.clops.k8s.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import io.clops.runtime.ApplyFailed;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * Applies one object: create when absent; when present and some managed field differs, read-modify-write: the live
 * object with our managed fields laid over it, written with its resourceVersion (optimistic concurrency: a
 * concurrent change is a 409, re-read and retried); nothing at all when every managed field already matches.
 * A 409 (a concurrent change) is read again and retried at once, a few times; any other refusal is an
 * {@link ApplyFailed} naming the object and the API server's answer, which the worker shows and retries with its
 * back-off (no thread sleeps here, so no project waits behind another's back-off; fabric8's client itself retries
 * what it considers transient, 5xx and connection failures, per its {@code requestRetryBackoffLimit}). This is the strategy production
 * uses and the tests exercise: the mock API server has no server-side apply, and its JSON merge patch appends lists
 * where a real server replaces them.
 */
public final class Applier {
    private static final Logger LOG = LoggerFactory.getLogger(Applier.class);
    static final int CONFLICT_ATTEMPTS = 5;

    private final KubernetesClient client;

    public Applier(KubernetesClient client) {
        this.client = client;
    }

    public Applied apply(HasMetadata desired) {
        return retry(desired, () -> {
            Resource<? extends HasMetadata> r = resource(desired);
            HasMetadata live = r.get();
            if (live == null) {
                HasMetadata created = r.create(); // 409 when created meanwhile: the retry reads it and patches if needed
                return applied(desired, Outcome.CREATED, created);
            }
            JsonNode want = ManagedFields.managed(json(desired));
            JsonNode have = json(live);
            if (ManagedFields.matches(have, want)) {
                return applied(desired, Outcome.UNCHANGED, live);
            }
            if (LOG.isDebugEnabled()) {
                LOG.debug("{} {}: patching, {} differs", desired.getKind(), desired.getMetadata().getName(),
                        ManagedFields.firstDifference(have, want, ""));
            }
            HasMetadata next = client.getKubernetesSerialization().unmarshal(
                    ManagedFields.merge(have, want).toString(), desired.getClass());
            HasMetadata updated = resource(next).update(); // carries the live resourceVersion: a concurrent change is a 409, retried
            return applied(desired, Outcome.PATCHED, updated);
        });
    }

    /**
     * For an object that cannot exist yet (its owner was just created): create without reading first; if it does
     * exist after all (409), fall back to {@link #apply}.
     */
    public Applied create(HasMetadata desired) {
        try {
            HasMetadata created = resource(desired).create();
            return applied(desired, Outcome.CREATED, created);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return apply(desired);
            }
            throw failed(desired, e);
        }
    }

    /** True when {@code live} already has every managed field of {@code desired} (no request made). */
    public boolean matches(HasMetadata live, HasMetadata desired) {
        return ManagedFields.matches(json(live), ManagedFields.managed(json(desired)));
    }

    /** Deletes one live object (found by label, so it carries its own kind and name). */
    public Applied delete(HasMetadata live) {
        return retry(live, () -> {
            resource(live).delete();
            return applied(live, Outcome.DELETED);
        });
    }

    @SuppressWarnings("unchecked")
    Resource<? extends HasMetadata> resource(HasMetadata o) {
        if (o instanceof GenericKubernetesResource g) {
            return (Resource<? extends HasMetadata>) (Resource<?>) client.genericKubernetesResources(context(g.getApiVersion(), g.getKind()))
                    .inNamespace(g.getMetadata().getNamespace()).resource(g);
        }
        return (Resource<? extends HasMetadata>) (Resource<?>) client.resource(o);
    }

    public static ResourceDefinitionContext context(String apiVersion, String kind) {
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
        return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
                .withPlural(kind.toLowerCase() + "s").withNamespaced(true).build();
    }

    private JsonNode json(HasMetadata o) {
        try {
            return ManagedFields.JSON.readTree(client.getKubernetesSerialization().asJson(o));
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise " + o.getKind() + " " + o.getMetadata().getName(), e);
        }
    }

    private static Applied applied(HasMetadata o, Outcome outcome) {
        return applied(o, outcome, null);
    }

    private static Applied applied(HasMetadata o, Outcome outcome, HasMetadata live) {
        String uid = live == null || live.getMetadata() == null ? null : live.getMetadata().getUid();
        return new Applied(o.getKind(), o.getMetadata().getNamespace(), o.getMetadata().getName(), outcome, uid);
    }

    private static Applied retry(HasMetadata o, Supplier<Applied> step) {
        for (int attempt = 1; ; attempt++) {
            try {
                return step.get();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt >= CONFLICT_ATTEMPTS) {
                    throw failed(o, e);
                }
                LOG.debug("{} {}: changed meanwhile (409, attempt {}), reading it again", o.getKind(), o.getMetadata().getName(), attempt);
            }
        }
    }

    /** The API server's refusal, as a user reads it: {@code 403 Forbidden for Deployment clops-demo/iris-v1: <its message>}. */
    static ApplyFailed failed(HasMetadata o, KubernetesClientException e) {
        var status = e.getStatus();
        String reason = status != null && status.getReason() != null && !status.getReason().isBlank() ? status.getReason() : phrase(e.getCode());
        String message = status != null && status.getMessage() != null && !status.getMessage().isBlank() ? status.getMessage() : e.getMessage();
        String where = o.getMetadata().getNamespace() == null ? o.getMetadata().getName() : o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
        String what = e.getCode() > 0 ? "the API server answered " + e.getCode() + " " + reason : "the API server could not be reached";
        return new ApplyFailed(what + " for " + o.getKind() + " " + where + (message == null ? "" : ": " + message), e);
    }

    private static String phrase(int code) {
        return switch (code) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 409 -> "Conflict";
            case 422 -> "Unprocessable Entity";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "";
        };
    }
}
