#!/usr/bin/env bash
# Issue 3's bench: N deployments through the real broker into fabric8's mock API server.
#   bench/k8s-apply.sh            # one at a time (N = 1), a burst of 50, then 1000 across 20 projects
#   bench/k8s-apply.sh 500 2000   # other sizes
#   bench/k8s-apply.sh --mock=stock 1000   # only against fabric8's stock CRUD mock (default: indexed and stock)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mvn -B -q -ntp -DskipTests install -pl bench -am > /dev/null
exec java -Xmx4g -XX:+UseParallelGC -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -cp "bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)" \
  io.clops.bench.K8sApplyBench "$@"
