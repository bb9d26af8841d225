package io.clops.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;

/** Mirrors clops.status, plus the verdict on the last command this resource caused. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ModelDeploymentStatus {
    /** Pending | Ready | Failed | Refused */
    public String phase;
    public String reason;
    public Long observedGeneration;
    public Integer readyReplicas;
    public String endpoint;
    public String lastCommand;
}
