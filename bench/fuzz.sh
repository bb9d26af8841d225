#!/usr/bin/env bash
# Issue 14's fuzzing harness, run long: each target for SECONDS (default 600 = 10 minutes), one after the other.
#   bench/fuzz.sh          # 10 minutes per target: executor-http1, executor-tensors, control-plane
#   bench/fuzz.sh 60       # a minute each
# In the test suite the same targets run 5 s each. A failing input is written to <module>/target/fuzz-failures/ and
# printed; once fixed, add it to <module>/src/test/resources/fuzz/<target>/ as a regression seed.
set -euo pipefail
SECONDS_PER_TARGET="${1:-600}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# the reactor builds what the targets need (nothing is installed into ~/.m2) and runs only the fuzz tests
mvn -B -ntp -fae -pl executor,gateway -am test -Dtest='Http1FuzzTest,ShapeFuzzTest,DoorsFuzzTest' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dclops.fuzz.seconds="$SECONDS_PER_TARGET" -DtrimStackTrace=false | grep -E "fuzz |Tests run:|FAIL|ERROR" || true
grep -h "^fuzz " executor/target/surefire-reports/*-output.txt gateway/target/surefire-reports/*-output.txt 2>/dev/null || true
