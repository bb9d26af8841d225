#!/usr/bin/env bash
# Makes (or refreshes) executor/target/executor.jsa, a class-data archive of what an executor loads, by one training
# run (ExecutorMain --train, ~4 s); executors started with -XX:SharedArchiveFile=<it> start ~0.4 s faster.
# Prints the archive's path when it exists. Used by ./clops and bench/executor-sync.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAR="$ROOT/executor/target/clops-executor-0.1.0-SNAPSHOT.jar"
CP_FILE="$ROOT/executor/target/classpath.txt"
CDS="$ROOT/executor/target/executor.jsa"
[[ -f "$JAR" && -f "$CP_FILE" ]] || exit 0
# stale when the executor's jar, its class path (a build of the whole reactor writes the modules' target/ jars where
# a module's own build wrote ~/.m2's) or any jar on it is newer: the JVM refuses an archive whose class path changed,
# and silently starts without it (~0.4 s slower)
stale() {
  [[ ! -f "$CDS" || "$JAR" -nt "$CDS" || "$CP_FILE" -nt "$CDS" ]] && return 0
  local entries e
  IFS=: read -ra entries < "$CP_FILE"
  for e in "${entries[@]}"; do [[ "$e" -nt "$CDS" ]] && return 0; done
  return 1
}
if stale; then
  rm -f "$CDS"
  "$JAVA" -XX:ArchiveClassesAtExit="$CDS" -Xms16m -Xmx192m -XX:+UseSerialGC -Xss512k \
    -Dlogback.configurationFile=clops-executor-logback.xml -cp "$JAR:$(cat "$CP_FILE")" \
    io.clops.executor.ExecutorMain --train >/dev/null 2>&1 || rm -f "$CDS"
fi
[[ -f "$CDS" ]] && echo "$CDS"
exit 0
