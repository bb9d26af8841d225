package io.clops.testing;

import io.clops.avro.AliasSet;
import io.clops.avro.CommandEnvelope;
import io.clops.avro.CreateProject;
import io.clops.avro.ProjectQuota;
import io.clops.avro.DeployCommand;
import io.clops.avro.DeploymentSpec;
import io.clops.avro.ExecutorSettings;
import io.clops.avro.ModelVersion;
import io.clops.avro.RegistryEvent;
import io.clops.avro.Replicas;
import io.clops.avro.Resources;
import io.clops.avro.TensorSpec;
import io.clops.avro.UndeployCommand;
import io.clops.avro.VersionRegistered;

import java.util.List;
import java.util.Map;

/** Small builders for the records tests need; every field a reader would ask about is set. */
public final class Fixtures {
    private Fixtures() {
    }

    public static DeploymentSpec spec(String model) {
        return DeploymentSpec.newBuilder().setModel(model)
                .setResources(Resources.newBuilder().build())
                .setReplicas(Replicas.newBuilder().build())
                .setExecutor(ExecutorSettings.newBuilder().build())
                .build();
    }

    public static CommandEnvelope deploy(String id, String project, String name, DeploymentSpec spec) {
        return CommandEnvelope.newBuilder().setId(id).setProject(project).setActor("alice").setTimeMs(1000)
                .setPayload(DeployCommand.newBuilder().setName(name).setSpec(spec).build()).build();
    }

    /** A project without limits, created by alice (its admin) before anything else happens in it. */
    public static CommandEnvelope createProject(String id, String project) {
        return createProject(id, project, unlimited());
    }

    public static CommandEnvelope createProject(String id, String project, ProjectQuota quota) {
        return CommandEnvelope.newBuilder().setId(id).setProject(project).setActor("alice").setTimeMs(100)
                .setPayload(CreateProject.newBuilder().setAdmin("alice").setQuota(quota).build()).build();
    }

    public static ProjectQuota unlimited() {
        return ProjectQuota.newBuilder().setGpu(new java.util.TreeMap<>()).build();
    }

    public static CommandEnvelope undeploy(String id, String project, String name) {
        return CommandEnvelope.newBuilder().setId(id).setProject(project).setActor("alice").setTimeMs(2000)
                .setPayload(UndeployCommand.newBuilder().setName(name).build()).build();
    }

    public static ModelVersion version(String model, int version, List<String> command) {
        return ModelVersion.newBuilder().setModel(model).setVersion(version).setCommand(command).setPort(8080)
                .setProtocol("v2").setInputs(List.of(TensorSpec.newBuilder().setName("input").setDatatype("FP32")
                        .setShape(List.of(-1L, 4L)).build())).setTags(Map.of()).build();
    }

    public static RegistryEvent registered(String id, String project, ModelVersion v) {
        return RegistryEvent.newBuilder().setId(id).setProject(project).setModel(v.getModel()).setActor("bob")
                .setTimeMs(500).setPayload(VersionRegistered.newBuilder().setVersion(v).build()).build();
    }

    public static RegistryEvent alias(String id, String project, String model, String alias, int version) {
        return RegistryEvent.newBuilder().setId(id).setProject(project).setModel(model).setActor("bob")
                .setTimeMs(600).setPayload(AliasSet.newBuilder().setAlias(alias).setVersion(version).build()).build();
    }
}
