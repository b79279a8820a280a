#!/usr/bin/env bash
# The daemon's memory over a soak: one gate scheduled `every = "50ms"`, CYCLES cycles (200
# by default); prints the daemon's RSS after the first few cycles and at the end, and the
# cycles per second. A measurement run by hand, never in CI:
#
#   cargo build --release -p phasegate && bench/daemon-soak/run.sh
#   PHASEGATE=target/debug/phasegate CYCLES=1000 bench/daemon-soak/run.sh
set -euo pipefail

bin=$(realpath "${PHASEGATE:-target/release/phasegate}")
cycles=${CYCLES:-200}
warmup=${WARMUP:-10}
dir=$(mktemp -d)
state=$(mktemp -d)
export XDG_STATE_HOME=$state
cleanup() {
    "$bin" -c "$dir/phasegate.toml" daemon stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$state"
}
trap cleanup EXIT

cat >"$dir/phasegate.toml" <<'TOML'
[project]
name = "soak"

[gates.tick]
run = "true"
every = "50ms"

[[phase]]
id = "p"
gates = ["tick"]
TOML

"$bin" -c "$dir/phasegate.toml" daemon start >/dev/null
pid=$(cat "$dir/.phasegate/daemon/pid")
log="$dir/.phasegate/daemon/log"

# Cycles closed so far (the log rotates past 1 MiB: count the older files too).
closed() { cat "$log"* 2>/dev/null | grep -c ' closed: ' || true; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
wait_for() {
    while [ "$(closed)" -lt "$1" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "the daemon died; log:" >&2; tail "$log" >&2; exit 1; }
        sleep 0.1
    done
}

wait_for "$warmup"
start_rss=$(rss_kib)
start_s=$(date +%s.%N)
wait_for "$cycles"
end_rss=$(rss_kib)
end_s=$(date +%s.%N)
n=$(closed)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
echo "daemon soak: $n cycles (every 50ms), binary $bin"
echo "RSS after $warmup cycles: ${start_rss} KiB; after $n cycles: ${end_rss} KiB; peak ${hwm} KiB"
awk -v a="$start_s" -v b="$end_s" -v c="$((n - warmup))" \
    'BEGIN { printf "%.1f cycles/s over the measured part\n", c / (b - a) }'
