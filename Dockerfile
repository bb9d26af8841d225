# The clops image: CLI, services and the executor in one (see k8s/README.md).
#   mvn -B -DskipTests install && mvn -B -pl cli dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib
#   docker build -t ghcr.io/clops/clops:0.1.0 .
# Not built on the project's machines (no Docker engine there).
FROM eclipse-temurin:17-jre
WORKDIR /opt/clops
COPY cli/target/lib/ lib/
COPY cli/target/clops-cli-0.1.0-SNAPSHOT.jar lib/
# `clops executor` is the sidecar next to each model (configured by CLOPS_* environment variables)
ENTRYPOINT ["java", "-XX:+UseSerialGC", "-XX:MaxRAMPercentage=75", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops", "-cp", "lib/*", "io.clops.cli.Main"]
