#!/usr/bin/env bash
# Issue 4's async benchmark: round trip through Kafka and an executor beside Kafka's own EndToEndLatency.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mvn -B -q -ntp -DskipTests install -pl bench -am > /dev/null
exec java -Xmx2g -XX:+UseParallelGC -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" \
  -cp "bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)" io.clops.bench.AsyncBench "$@"
