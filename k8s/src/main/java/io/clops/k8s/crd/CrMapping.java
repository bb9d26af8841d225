package io.clops.k8s.crd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.clops.api.DeploymentSpecParser;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.DesiredDeployment;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import org.apache.avro.generic.GenericData;

import java.util.Map;

/** Between the custom resource and clops's spec: the same document, the same parser as the HTTP API. */
public final class CrMapping {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String API_VERSION = "clops.io/v1";

    private CrMapping() {
    }

    /** The resource's spec as a ModelDeployment document, parsed (and validated) like an HTTP request. */
    public static DeploymentSpecParser.Parsed parse(ModelDeployment cr) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("apiVersion", API_VERSION);
        doc.put("kind", "ModelDeployment");
        doc.putObject("metadata").put("name", cr.getMetadata().getName()).put("project", cr.getMetadata().getNamespace());
        doc.set("spec", cr.getSpec() == null ? null : JSON.valueToTree(cr.getSpec()));
        return DeploymentSpecParser.parse(cr.getMetadata().getNamespace(), cr.getMetadata().getName(), doc);
    }

    /** The resource that mirrors a desired deployment (the owner of its Kubernetes objects). */
    public static ModelDeployment resource(DesiredDeployment d, Map<String, String> labels) {
        ModelDeployment cr = new ModelDeployment();
        cr.setMetadata(new ObjectMetaBuilder().withName(d.getName()).withNamespace(d.getProject()).withLabels(labels).build());
        cr.setSpec(spec(d.getSpec()));
        return cr;
    }

    static ModelDeploymentSpec spec(DeploymentSpec s) {
        try {
            JsonNode node = JSON.readTree(GenericData.get().toString(s));
            return JSON.treeToValue(node, ModelDeploymentSpec.class);
        } catch (Exception e) {
            throw new IllegalStateException("cannot map the spec to a ModelDeployment: " + e.getMessage(), e);
        }
    }
}
