#!/usr/bin/env bash
# From a fresh Debian 12 machine: installs what is missing, builds, starts a local worker and
# runs the examples through it with rexec-send.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh
BIN="${REXEC_BUILD_DIR:-build}/tools"

log="$(mktemp)"
"$BIN/rexec-worker" --listen 127.0.0.1:0 >"$log" 2>&1 &
worker_pid=$!
trap 'kill "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$log" && break
  sleep 0.1
done
address="$(sed -n 's/^rexec-worker listening on //p' "$log")"
if [[ -z "$address" ]]; then
  cat "$log"
  exit 1
fi
echo "demo: worker listening on $address"

run() {
  echo "demo: \$ rexec-send $*"
  "$BIN/rexec-send" --worker "$address" "$@"
}

run -v examples/hello.cpp
run -v examples/hello.cpp
echo "to be or not to be" | run -O2 -std=c++20 examples/word_count.cpp -- --top 3
run examples/seed/commands.cpp --list
run examples/seed/commands.cpp --command SampleCommand2 --set message=hello \
  --set 'xs=[1,2.5]' --set repeat=2 --print-state
echo "demo: \$ seed-master 1 --worker $address"
"${REXEC_BUILD_DIR:-build}/examples/seed-master" 1 --worker "$address"
