#!/usr/bin/env bash
# The load benchmark: phasegate's closed loop side by side with wrk, oha and hey against one
# private nginx on loopback, through the shared peers script (not run in CI).
#
#   bench/load/run.sh install        # the peers (apt: wrk hey nginx-light; cargo: oha)
#   bench/load/run.sh                # build phasegate (release), serve nginx, run, stop
#
# Environment: PEERS (path of load-bench.sh) [../shared/peers/load-bench.sh relative to the
# repository's parent], and load-bench.sh's own: TOOLS, THREADS, REPS, DURATION, CONNS...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$root/../shared/peers/load-bench.sh}
[ -x "$peers" ] || { echo "load-bench.sh not found at $peers (set PEERS)" >&2; exit 2; }
if [ "${1:-}" = install ]; then exec "$peers" install; fi
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -p phasegate --manifest-path "$root/Cargo.toml" >&2
exe="$target/release/phasegate"
port=${PORT:-18391}
"$peers" serve "$port" >&2
trap '"$peers" stop >&2' EXIT
export PHASEGATE_CMD="$exe load {url} --connections {conns} --duration {duration}s --threads {threads} --format kv"
TOOLS=${TOOLS:-"wrk oha hey phasegate"} "$peers" run "http://127.0.0.1:$port/"
