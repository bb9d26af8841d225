package io.clops.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Required;

import java.util.List;

/** The spec of docs/architecture.md's ModelDeployment; validated by the same parser as the HTTP API. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ModelDeploymentSpec {
    /** name@alias, name:version or name */
    @Required
    public String model;
    public Integer port;
    /** v2 | raw */
    public String protocol;
    public Resources resources;
    public Replicas replicas;
    public Autoscale autoscale;
    /** sync | async | both */
    public String mode;
    public List<Traffic> traffic;
    public String shadow;
    public Executor executor;
    /** members (a token of the project's, any role) | public (anyone may predict, no token) */
    public String access;
    /** adaptive batching in clops's runtime (model files): absent is off */
    public Batching batching;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Batching {
        /** rows in one batch at most (default 16) */
        public Integer maxBatchSize;
        /** how long a request waits for company, in microseconds (default 2000) */
        public Integer maxDelayUs;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Resources {
        public String cpu;
        public String memory;
        public Integer gpu;
        /** the extended resource the GPUs are (default nvidia.com/gpu) */
        public String gpuType;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Replicas {
        public Integer min;
        public Integer max;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Autoscale {
        /** cpu | rps | lag */
        public String metric;
        public Integer target;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Traffic {
        public String model;
        public Integer weight;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Executor {
        public Integer timeoutMs;
        public Integer rateLimitRps;
        public Long maxBodyBytes;
        public Boolean logRequests;
    }
}
