#!/usr/bin/env bash
# Issue 12's bench: replaying a log of N generated events (default 1,000,000) rebuilds the desired state, beside the
# raw consumer's read rate of the same topic in the same run.
#   bench/replay.sh            # 1,000,000 events
#   bench/replay.sh 200000     # another size
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mvn -B -q -ntp -DskipTests install -pl bench -am > /dev/null
exec java -Xmx6g -XX:+UseParallelGC -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" -cp "bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)" \
  io.clops.bench.ReplayBench "$@"
