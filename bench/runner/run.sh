#!/usr/bin/env bash
# run.sh - phasegate's column in /work/shared/peers/runner-bench.sh, for the three cases of
# issue 11 (see README.md). Builds phasegate with --release first.
#
#   bench/runner/run.sh              all three cases
#   bench/runner/run.sh cached-tree  N=40 gates, fully cached, in a 10,000-file git tree
#   bench/runner/run.sh cached-200   N=200 gates, fully cached (and N=40 for the per-gate cost)
#   bench/runner/run.sh uncached     N=40 trivial gates run every time (--no-cache) vs sh-seq
#
# Knobs: RUNS (default 20), BENCH (the peers' script), BASE (where workspaces, tools and
# results go), PHASEGATE (a phasegate binary to use instead of building one), and those of
# runner-bench.sh (INSTALL=1 installs turbo, go-task and just when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BENCH=${BENCH:-/work/shared/peers/runner-bench.sh}
BASE=${BASE:-/tmp/pg-runner-bench}
export RUNS=${RUNS:-20} BASE TOOLS=${TOOLS:-$BASE/tools}

if [ -z "${PHASEGATE:-}" ]; then
  (cd "$repo" && cargo build --release -q -p phasegate)
  PHASEGATE="${CARGO_TARGET_DIR:-$repo/target}/release/phasegate"
fi
# Keys and state of the benchmark stay out of the user's own.
export XDG_STATE_HOME="$BASE/state"
prepare="$here/prepare.sh && $PHASEGATE run >/dev/null"

case_() { # name, N, TREE_FILES, phasegate command, ONLY columns (empty: all)
  local name=$1 n=$2 tree=$3 cmd=$4 only=$5
  echo "== $name: N=$n TREE_FILES=$tree ($cmd)" >&2
  N=$n TREE_FILES=$tree ONLY=$only WS="$BASE/ws-$name" OUT="$BASE/out/$name" \
    PHASEGATE_PREPARE="$prepare" PHASEGATE_CMD="$cmd" bash "$BENCH"
}

want() { local c=$1; shift; [ $# -eq 0 ] || [[ " $* " == *" $c "* ]]; }
cases=("$@")
if want cached-tree "${cases[@]}"; then
  case_ cached-tree 40 10000 "$PHASEGATE run" ""
fi
if want cached-200 "${cases[@]}"; then
  case_ cached-40 40 0 "$PHASEGATE run" "just-cached turbo-hit phasegate"
  case_ cached-200 200 0 "$PHASEGATE run" "just-cached turbo-hit phasegate"
fi
if want uncached "${cases[@]}"; then
  case_ uncached 40 0 "$PHASEGATE run --no-cache" "sh-seq just-seq phasegate"
fi
echo "results: $BASE/out/*/ratios.md" >&2
