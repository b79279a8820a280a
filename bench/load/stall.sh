#!/usr/bin/env bash
# The coordinated-omission stall test: phasegate at a constant 2000 req/s for 10 s against the
# peers script's nginx, whose worker is stopped (SIGSTOP) for 1 s at t = 4 s. The requests due
# during the stall wait up to 1 s, so the true p99 of latency from the due time is about
# 900 ms (200 of 20,000 samples at or above 1 s x (1 - 200/2000)); service time hides it.
#
#   bench/load/stall.sh            # needs a release build and bench/load/run.sh install
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
peers=${PEERS:-$root/../shared/peers/load-bench.sh}
exe=${PHASEGATE:-${CARGO_TARGET_DIR:-$root/target}/release/phasegate}
srv=${SRV_DIR:-/tmp/load-bench-nginx}
port=${PORT:-18391}
"$peers" serve "$port" >&2
trap '"$peers" stop >&2' EXIT
worker=$(awk '{print $2}' "$srv/pids")
[ -n "$worker" ] || { echo "no nginx worker pid in $srv/pids" >&2; exit 1; }
"$exe" load "http://127.0.0.1:$port/" --rate 2000 --connections 50 --duration 10s > /tmp/stall.$$ &
load=$!
sleep 4.02   # the run starts 20 ms after the command
kill -STOP "$worker"; sleep 1; kill -CONT "$worker"
wait "$load"
cat /tmp/stall.$$; rm -f /tmp/stall.$$
echo "# expected: corrected p99 about 900 ms (within 5 %: 855 to 945), service-time p99 far lower"
