# The clops image: CLI, services and the executor in one (see k8s/README.md).
#   mvn -B -DskipTests install && mvn -B -pl cli dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib
#   docker build -t ghcr.io/clops/clops:0.1.0 .
# Not built on the project's machines (no Docker engine there).
FROM eclipse-temurin:17-jre
# XGBoost's native library links OpenMP (libgomp); ONNX Runtime's ships inside its jar
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/clops
COPY cli/target/lib/ lib/
COPY cli/target/clops-cli-0.1.0-SNAPSHOT.jar lib/
# `clops executor` is the sidecar next to each model (configured by CLOPS_* environment variables).
# The same image is clops's model runtime on Kubernetes: a version registered as a model file (ONNX, XGBoost) runs
#   java -cp lib/* io.clops.modelserver.ModelCache …   (the init step: fetch into the node's cache, by digest)
#   java -cp lib/* io.clops.modelserver.ModelServer …  (the model container: Open Inference Protocol v2)
# with the command set by the worker (K8sModel.ModelFile), so no second image is needed.
ENTRYPOINT ["java", "-XX:+UseSerialGC", "-XX:MaxRAMPercentage=75", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", "lib/*", "io.clops.cli.Main"]
