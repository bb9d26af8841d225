#!/usr/bin/env bash
# Issue 13's bench: the iris ONNX file served by clops's own runtime (modelserver) behind the executor, at 32
# concurrent clients (wrk, single-row OIP v2 requests), with adaptive batching off and on, beside ONNX Runtime called
# in-process in the same run (the floor: no HTTP, no executor). Median of interleaved rounds.
#   bench/modelserver.sh [duration_s=10] [connections=32] [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DUR="${1:-10}"; CONN="${2:-32}"; ROUNDS="${3:-3}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cd "$ROOT"
mvn -B -q -ntp -DskipTests install -pl bench -am >/dev/null
CP="cli/target/clops-cli-0.1.0-SNAPSHOT.jar:$(cat cli/target/classpath.txt)"
BENCH_CP="bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
EX_CP="executor/target/clops-executor-0.1.0-SNAPSHOT.jar:$(cat executor/target/classpath.txt)"
MODEL="examples/target/models/iris.onnx"; SHA="$(sha256sum "$MODEL" | cut -d' ' -f1)"
W="$(mktemp -d)"; PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_OFF=$(port); P_ON=$(port); P_EX_OFF=$(port); P_EX_ON=$(port)
MS="java -Xmx256m -XX:+UseSerialGC -cp $CP io.clops.modelserver.ModelServer --file $MODEL --sha256 $SHA --format onnx --name iris"
$MS --port "$P_OFF" >"$W/off.log" 2>&1 & PIDS+=($!)
$MS --port "$P_ON" --max-batch 32 --max-delay-us "${MAX_DELAY_US:-1000}" >"$W/on.log" 2>&1 & PIDS+=($!)
JOPTS="-Xms16m -Xmx192m -XX:+UseSerialGC -Xss512k -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops -Dlogback.configurationFile=clops-executor-logback.xml"
for pair in "$P_EX_OFF:$P_OFF" "$P_EX_ON:$P_ON"; do
  env CLOPS_EXECUTOR_PORT=${pair%%:*} CLOPS_MODEL_URL=http://127.0.0.1:${pair##*:} CLOPS_MODEL_NAME=iris CLOPS_MODE=sync \
    java $JOPTS -cp "$EX_CP" io.clops.executor.ExecutorMain >"$W/ex-${pair%%:*}.log" 2>&1 & PIDS+=($!)
done
for p in $P_OFF $P_ON $P_EX_OFF $P_EX_ON; do until curl -sf "http://127.0.0.1:$p/v2/health/ready" >/dev/null; do sleep 0.05; done; done
BODY='{"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,4],"data":[6.8,2.8,4.8,1.4]}]}'
printf 'wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"; wrk.body = %s\n' "'$BODY'" > "$W/post.lua"
run() { wrk -t2 -c"$CONN" -d"${DUR}s" -s "$W/post.lua" "http://127.0.0.1:$1/v2/models/iris/infer" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# JIT warm-up of both servers and both executors (unmeasured): a fresh JVM's first seconds compile, on the same cores
run "$P_EX_OFF" >/dev/null; run "$P_EX_ON" >/dev/null
: > "$W/floor"; : > "$W/off"; : > "$W/on"
for r in $(seq "$ROUNDS"); do
  java -Xmx256m -cp "$BENCH_CP" io.clops.bench.OnnxFloorBench "$MODEL" "$CONN" "$DUR" >> "$W/floor"
  run "$P_EX_OFF" >> "$W/off"
  run "$P_EX_ON" >> "$W/on"
done
FLOOR=$(median < "$W/floor"); OFF=$(median < "$W/off"); ON=$(median < "$W/on")
printf '\nclops modelserver bench: iris.onnx, %s clients, single-row OIP v2 requests, median of %s interleaved rounds of %ss, %s cores shared\n' "$CONN" "$ROUNDS" "$DUR" "$(nproc)"
printf '%-52s %12s %10s\n' "path" "req/s" "÷ floor"
printf '%-52s %12.0f %10.2f\n' "ONNX Runtime in-process ($CONN threads: the floor)" "$FLOOR" 1
printf '%-52s %12.0f %10.2f\n' "executor → modelserver, batching off" "$OFF" "$(echo "$OFF / $FLOOR" | bc -l)"
printf '%-52s %12.0f %10.2f\n' "executor → modelserver, batching on (≤32 rows, ${MAX_DELAY_US:-1000} µs)" "$ON" "$(echo "$ON / $FLOOR" | bc -l)"
printf 'batching on ÷ off: %.2f\n' "$(echo "$ON / $OFF" | bc -l)"
