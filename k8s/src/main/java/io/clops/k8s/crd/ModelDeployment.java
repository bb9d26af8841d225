package io.clops.k8s.crd;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * {@code kubectl apply} for GitOps users: a ModelDeployment in a project's namespace is the same spec the CLI sends.
 * Its CRD is generated from these classes at build time (target/classes/META-INF/fabric8/).
 */
@Group("clops.io")
@Version("v1")
@Kind("ModelDeployment")
@Plural("modeldeployments")
@ShortNames("md")
public class ModelDeployment extends CustomResource<ModelDeploymentSpec, ModelDeploymentStatus> implements Namespaced {
}
