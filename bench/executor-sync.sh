#!/usr/bin/env bash
# Issue 4's sync benchmark, one run: wrk against the model directly, through nginx proxy_pass, and through the clops
# executor; with a no-op model (nginx answering a fixed OIP v2 body) and with the iris example model.
# Each path is measured ROUNDS times, interleaved (direct, nginx, executor, direct, ...), and the median is printed:
# req/s, p50/p99 latency as ratios to direct, and the proxy's own CPU time per request (nginx workers vs executor
# process), which depends less on the neighbours than req/s does. Then the executor's RSS (idle, under load) and
# start-up time. Everything shares the machine's cores with wrk: compare within a run, not across machines.
#   bench/executor-sync.sh [duration_s=10] [connections=32] [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DUR="${1:-10}"; CONN="${2:-32}"; ROUNDS="${3:-3}"
command -v wrk >/dev/null && command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx-light; }
cd "$ROOT"
[[ -f cli/target/classpath.txt && -f executor/target/classpath.txt ]] || mvn -B -q -ntp -DskipTests install >/dev/null
CP="cli/target/clops-cli-0.1.0-SNAPSHOT.jar:$(cat cli/target/classpath.txt)"
EX_CP="executor/target/clops-executor-0.1.0-SNAPSHOT.jar:$(cat executor/target/classpath.txt)" # as ./clops starts them
W="$(mktemp -d)"; PIDS=(); SAMPLERS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for c in model proxy; do nginx -p "$W" -c "$W/$c.conf" -s stop 2>/dev/null || true; done
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_NOOP=$(port); P_NGX_NOOP=$(port); P_NGX_IRIS=$(port); P_IRIS=$(port); P_EX_NOOP=$(port); P_EX_IRIS=$(port)
BODY='{"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}'
# the no-op model and the proxy are separate nginx instances, so the proxy's CPU time is its own
cat > "$W/model.conf" <<NGINX
worker_processes 1; pid $W/model.pid; error_log $W/model-error.log warn; events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$P_NOOP; location / { default_type application/json;
           return 200 '{"model_name":"noop","outputs":[{"name":"label","datatype":"BYTES","shape":[1],"data":["setosa"]}]}'; } } }
NGINX
cat > "$W/proxy.conf" <<NGINX
worker_processes ${NGINX_WORKERS:-auto}; pid $W/proxy.pid; error_log $W/proxy-error.log warn; events { worker_connections 4096; }
http { access_log off;
  upstream noop { server 127.0.0.1:$P_NOOP; keepalive 64; }
  upstream iris { server 127.0.0.1:$P_IRIS; keepalive 64; }
  server { listen 127.0.0.1:$P_NGX_NOOP; location / { proxy_pass http://noop; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$P_NGX_IRIS; location / { proxy_pass http://iris; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -p "$W" -c "$W/model.conf"; nginx -p "$W" -c "$W/proxy.conf"
java -Xmx64m -XX:+UseSerialGC -Dsun.net.httpserver.nodelay=true -cp "$CP" io.clops.examples.iris.IrisServer --port "$P_IRIS" >"$W/iris.log" 2>&1 & PIDS+=($!)
JOPTS="-Xms16m -Xmx192m -XX:+UseSerialGC -Xss512k -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops -Dlogback.configurationFile=clops-executor-logback.xml"
CDS="$(executor/cds-archive.sh)" # as ./clops starts local executors
[[ -n "$CDS" ]] && JOPTS="$JOPTS -XX:SharedArchiveFile=$CDS -Xshare:auto"
start_executor() { # port model_url [VAR=value ...] → "pid start-up-ms"
  local t0=$(date +%s%N)
  env CLOPS_EXECUTOR_PORT=$1 CLOPS_MODEL_URL=$2 CLOPS_MODEL_NAME=iris CLOPS_MODE=sync "${@:3}" java $JOPTS -cp "$EX_CP" io.clops.executor.ExecutorMain >"$W/ex-$1.log" 2>&1 &
  local pid=$!
  until curl -sf "http://127.0.0.1:$1/v2/health/live" >/dev/null; do sleep 0.02; done
  echo "$pid $(( ($(date +%s%N) - t0) / 1000000 ))"
}
read EX_NOOP_PID STARTUP_MS < <(start_executor "$P_EX_NOOP" "http://127.0.0.1:$P_NOOP")
read EX_IRIS_PID _ < <(start_executor "$P_EX_IRIS" "http://127.0.0.1:$P_IRIS")
PIDS+=("$EX_NOOP_PID" "$EX_IRIS_PID") # started in a subshell: its PIDS+= does not reach this one
until curl -sf "http://127.0.0.1:$P_IRIS/v2/health/ready" >/dev/null; do sleep 0.05; done
RSS_IDLE=$(( $(ps -o rss= -p "$EX_NOOP_PID") / 1024 ))
NGX_WORKERS=$(pgrep -P "$(cat "$W/proxy.pid")" | tr '\n' ' ')
cat > "$W/post.lua" <<LUA
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"; wrk.body = '$BODY'
LUA
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.3f", v}'; }
ticks() { local t=0; for p in "$@"; do t=$(( t + $(awk '{print $14+$15}' "/proc/$p/stat") )); done; echo "$t"; }
run() { # url [pids whose CPU counts] → "rps p50 p99 non2xx cpu_us_per_request"
  local url=$1; shift
  local before; before=$(ticks "$@")
  local out; out=$(wrk -t"${RUN_T:-2}" -c"${RUN_C:-$CONN}" -d"${RUN_D:-$DUR}s" --latency -s "${RUN_S:-$W/post.lua}" "$url/v2/models/iris/infer")
  local after; after=$(ticks "$@")
  local rps p50 p99 errs n cpu
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | ms); p99=$(echo "$out" | awk '$1=="99%" {print $2}' | ms)
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}'); n=$(echo "$out" | awk '/requests in/ {print $1}')
  cpu=$( [[ $# -gt 0 ]] && echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $n" | bc -l || echo 0)
  echo "$rps $p50 $p99 ${errs:-0} $cpu"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\nclops executor sync bench: wrk -t2 -c%s -d%ss, POST OIP v2 infer, median of %s interleaved rounds, %s cores shared by wrk, nginx, models and executor\n' \
  "$CONN" "$DUR" "$ROUNDS" "$(nproc)"
printf '%-6s %-17s %9s %8s %8s %10s %10s %10s %12s %7s\n' model path req/s p50_ms p99_ms rps/direct p50/direct p99/direct proxy_cpu_us non2xx
paths() { # model → D (direct), N (nginx), E (executor) URLs and EP (the executor's pid)
  if [[ $1 == noop ]]; then D="http://127.0.0.1:$P_NOOP"; N="http://127.0.0.1:$P_NGX_NOOP"; E="http://127.0.0.1:$P_EX_NOOP"; EP=$EX_NOOP_PID
  else D="http://127.0.0.1:$P_IRIS"; N="http://127.0.0.1:$P_NGX_IRIS"; E="http://127.0.0.1:$P_EX_IRIS"; EP=$EX_IRIS_PID; fi
}
for model in noop iris; do
  paths "$model"
  run "$E" >/dev/null  # JIT warm-up of the executor
  : > "$W/direct"; : > "$W/nginx"; : > "$W/executor"
  for ((r = 1; r <= ROUNDS; r++)); do
    run "$D" >> "$W/direct"
    # shellcheck disable=SC2086
    run "$N" $NGX_WORKERS >> "$W/nginx"
    if (( r == 1 )); then ( sleep $((DUR / 2)); echo $(( $(ps -o rss= -p "$EP") / 1024 )) > "$W/rss-$model" ) & SAMPLERS+=($!); fi
    run "$E" "$EP" >> "$W/executor"
  done
  col() { awk -v c="$2" '{print $c}' "$W/$1" | median; }
  d_rps=$(col direct 1); d_p50=$(col direct 2); d_p99=$(col direct 3)
  for path in direct nginx executor; do
    rps=$(col $path 1); p50=$(col $path 2); p99=$(col $path 3); err=$(col $path 4); cpu=$(col $path 5)
    case $path in direct) label=direct; cpu_s=-;; nginx) label="nginx proxy_pass"; cpu_s=$(printf '%.1f' "$cpu");; *) label="clops executor"; cpu_s=$(printf '%.1f' "$cpu");; esac
    printf '%-6s %-17s %9.0f %8.3f %8.3f %10.2f %10.2f %10.2f %12s %7s\n' "$model" "$label" "$rps" "$p50" "$p99" \
      "$(echo "$rps / $d_rps" | bc -l)" "$(echo "$p50 / $d_p50" | bc -l)" "$(echo "$p99 / $d_p99" | bc -l)" "$cpu_s" "$err"
  done
  # each round's own ratio (the executor runs right after nginx in every round): the spread the median hides
  paste "$W/executor" "$W/nginx" | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $6}' > "$W/ratios-$model"
done
printf 'executor ÷ nginx req/s in each round, in order: noop %s; iris %s\n' "$(cat "$W/ratios-noop")" "$(cat "$W/ratios-iris")"
# Added latency without queueing: one connection, one request at a time (under load, p50 mostly measures queues,
# and a proxy with more throughput sends more load to the model, whose queue then grows)
printf '\nunloaded: wrk -t1 -c1 -d3s, median of %s interleaved rounds: p50 in ms, and what the proxy adds to direct\n' "$ROUNDS"
printf '%-6s %9s %9s %9s %11s %11s\n' model direct nginx executor nginx_adds executor_adds
for model in noop iris; do
  paths "$model"
  : > "$W/u-direct"; : > "$W/u-nginx"; : > "$W/u-executor"
  for ((r = 1; r <= ROUNDS; r++)); do
    RUN_T=1 RUN_C=1 RUN_D=3 run "$D" | awk '{print $2}' >> "$W/u-direct"
    RUN_T=1 RUN_C=1 RUN_D=3 run "$N" | awk '{print $2}' >> "$W/u-nginx"
    RUN_T=1 RUN_C=1 RUN_D=3 run "$E" | awk '{print $2}' >> "$W/u-executor"
  done
  d=$(median < "$W/u-direct"); n=$(median < "$W/u-nginx"); e=$(median < "$W/u-executor")
  printf '%-6s %9.3f %9.3f %9.3f %11.3f %11.3f\n' "$model" "$d" "$n" "$e" "$(echo "$n - $d" | bc -l)" "$(echo "$e - $d" | bc -l)"
done
# Token checks (identity): the no-op model behind an executor that checks every request's token (the platform's
# Ed25519 signature, verified once and cached; expiry, revocation and project membership on every request, from the
# log it follows) against the one that checks nothing, interleaved; the ratio is what the checks cost in throughput
BENCH_CP="bench/target/clops-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)"
java -Xmx384m -XX:+UseSerialGC -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.clops -Dlogback.configurationFile="$ROOT/bench/src/main/resources/logback.xml" \
  -cp "$BENCH_CP" io.clops.bench.AuthFixture "$W/auth" >"$W/auth.log" 2>&1 & FIXTURE=$!; PIDS+=($FIXTURE)
until [[ -f "$W/auth" ]]; do
  kill -0 "$FIXTURE" 2>/dev/null || { echo "the token fixture (broker, project, token) failed:" >&2; tail -20 "$W/auth.log" >&2; exit 1; }
  sleep 0.1
done
read -r A_BOOT A_KEY A_TOKEN < "$W/auth"
P_EX_AUTH=$(port)
read EX_AUTH_PID _ < <(start_executor "$P_EX_AUTH" "http://127.0.0.1:$P_NOOP" CLOPS_AUTH_PUBLIC_KEY="$A_KEY" CLOPS_BOOTSTRAP="$A_BOOT" \
  CLOPS_PROJECT=bench CLOPS_DEPLOYMENT=noop-auth CLOPS_LOG_REQUESTS=false)
PIDS+=("$EX_AUTH_PID")
A="http://127.0.0.1:$P_EX_AUTH"
[[ $(curl -s -o /dev/null -w '%{http_code}' -d "$BODY" "$A/v2/models/iris/infer") == 401 ]] || { echo "the checking executor answers without a token" >&2; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A_TOKEN" -d "$BODY" "$A/v2/models/iris/infer") == 200 ]] \
  || { echo "the checking executor refuses the member's token" >&2; exit 1; }
cat > "$W/post-auth.lua" <<LUA
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"; wrk.headers["Authorization"] = "Bearer $A_TOKEN"; wrk.body = '$BODY'
LUA
RUN_S="$W/post-auth.lua" run "$A" >/dev/null # JIT warm-up
: > "$W/plain"; : > "$W/checked"
for ((r = 1; r <= ROUNDS; r++)); do
  run "http://127.0.0.1:$P_EX_NOOP" "$EX_NOOP_PID" >> "$W/plain"
  RUN_S="$W/post-auth.lua" run "$A" "$EX_AUTH_PID" >> "$W/checked"
done
pr=$(awk '{print $1}' "$W/plain" | median); cr=$(awk '{print $1}' "$W/checked" | median)
pc=$(awk '{print $5}' "$W/plain" | median); cc=$(awk '{print $5}' "$W/checked" | median)
ce=$(awk '{print $4}' "$W/checked" | median); pe=$(awk '{print $4}' "$W/plain" | median)
printf '\ntoken checks: noop model, wrk -t2 -c%s -d%ss, median of %s interleaved rounds\n' "$CONN" "$DUR" "$ROUNDS"
printf '%-28s %9s %12s %7s\n' executor req/s proxy_cpu_us non2xx
printf '%-28s %9.0f %12.1f %7s\n' "no token checks" "$pr" "$pc" "$pe"
printf '%-28s %9.0f %12.1f %7s\n' "token checks (a member)" "$cr" "$cc" "$ce"
printf 'with/without token checks: %.2fx throughput\n' "$(echo "$cr / $pr" | bc -l)"
wait "${SAMPLERS[@]}"
printf '\nexecutor: start-up %s ms (launch → /v2/health/live), RSS idle %s MiB, under load %s MiB (noop) / %s MiB (iris)\n' \
  "$STARTUP_MS" "$RSS_IDLE" "$(cat "$W/rss-noop")" "$(cat "$W/rss-iris")"
