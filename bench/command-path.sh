#!/usr/bin/env bash
# Issue 8's bench: command -> verdict over the running services (HTTP API; the Kafka intake once it exists).
#   bench/command-path.sh        # n = 500 one at a time, 4,000 with 16 clients, HTTP and intake, 3 rounds
#   bench/command-path.sh 200
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mvn -B -q -ntp -DskipTests install -pl bench -am > /dev/null
exec java -Xmx2g -XX:+UseParallelGC -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -cp "bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)" \
  io.clops.bench.CommandPathBench "$@"
