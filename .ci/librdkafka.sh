#!/usr/bin/env bash
# Builds a librdkafka that can authenticate with SCRAM to a Kafka 4 broker, for kcat in the tests.
#
# Debian 12's kcat links librdkafka 2.0.2, which cannot finish a SCRAM handshake with Kafka 4 (edenhill/kcat#462,
# fixed in librdkafka 2.6.1), so KafkaAclIT's kcat test (one project's credentials against another project's topics)
# would only skip. librdkafka's source ships inside the node-rdkafka npm package (npm is reachable here, GitHub is
# not); this builds its C library (about 30 s on 2 cores) into ~/.cache/clops/librdkafka-<version>/ once, and the
# tests run Debian's kcat against it with LD_LIBRARY_PATH (the ABI, librdkafka.so.1, is the same).
# Prints the directory. Needs gcc, make, libssl-dev (the caller installs them); exits non-zero if it cannot build.
set -euo pipefail
NODE_RDKAFKA=3.6.1 # bundles librdkafka 2.12.0
VERSION=2.12.0
DIR="${CLOPS_LIBRDKAFKA_DIR:-$HOME/.cache/clops/librdkafka-$VERSION}"
if [ -f "$DIR/librdkafka.so.1" ]; then echo "$DIR"; exit 0; fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "node-rdkafka@$NODE_RDKAFKA" >/dev/null
tar xzf "node-rdkafka-$NODE_RDKAFKA.tgz" package/deps/librdkafka
cd package/deps/librdkafka
./configure --disable-zstd --disable-lz4-ext --disable-curl --disable-gssapi --enable-ssl >"$WORK/configure.log" 2>&1 \
  || { tail -20 "$WORK/configure.log" >&2; exit 1; }
make -j"$(nproc)" -C src >"$WORK/make.log" 2>&1 || { tail -20 "$WORK/make.log" >&2; exit 1; }
mkdir -p "$DIR"
cp src/librdkafka.so.1 "$DIR/"
echo "$VERSION" >"$DIR/VERSION"
echo "$DIR"
