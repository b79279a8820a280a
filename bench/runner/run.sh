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

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1 \
       NPM_CONFIG_UPDATE_NOTIFIER=false TURBO_UI=false JUST_UNSTABLE=1
ROUNDS=${ROUNDS:-15}

# The peers as runner-bench.sh finds them (after it installed them).
peers() {
  TURBO_NATIVE=$(ls "$TOOLS"/npm/node_modules/@turbo/*/bin/turbo 2>/dev/null | head -1 || true)
  JUST=$(command -v just || true); [ -z "$JUST" ] && [ -x "$TOOLS/cargo/bin/just" ] && JUST="$TOOLS/cargo/bin/just"
  TASK=$(command -v task || true); [ -z "$TASK" ] && [ -x "$TOOLS/venv/bin/task" ] && TASK="$TOOLS/venv/bin/task"
  return 0
}

# name, N, TREE_FILES, phasegate command, columns for runner-bench.sh, then the interleaved
# columns as name=command (the first is the reference).
case_() {
  local name=$1 n=$2 tree=$3 cmd=$4 only=$5; shift 5
  local ws="$BASE/ws-$name" out="$BASE/out/$name"
  echo "== $name: N=$n TREE_FILES=$tree ($cmd)" >&2
  N=$n TREE_FILES=$tree ONLY=$only WS="$ws" OUT="$out" \
    PHASEGATE_PREPARE="$prepare" PHASEGATE_CMD="$cmd" bash "$BENCH"
  peers
  local cols=()
  for c in "$@"; do
    case "$c" in
      turbo-hit=*|just-*=*|task-*=*) [ -z "${c#*=}" ] || [[ "${c#*=}" == " "* ]] && continue ;;
    esac
    cols+=("$c")
  done
  echo "-- $name, interleaved, $ROUNDS rounds" >&2
  nicecmd=(); [ "$(id -u)" = 0 ] && [ "${NICE:--5}" != 0 ] && nicecmd=(nice -n "${NICE:--5}")
  "${nicecmd[@]}" python3 "$here/interleave.py" "$ws" "$ROUNDS" "$out/interleaved.md" "${cols[@]}"
}

want() { local c=$1; shift; [ $# -eq 0 ] || [[ " $* " == *" $c "* ]]; }
cases=("$@")
peers
if want cached-tree "${cases[@]}"; then
  case_ cached-tree 40 10000 "$PHASEGATE run" \
    "sh-seq sh-hash-skip just-seq just-cached task-cached turbo-hit turbo-hit-shim phasegate" \
    "turbo-hit=$TURBO_NATIVE run gate --output-logs=full" "just-cached=$JUST cached" \
    "task-cached=$TASK -s default" "sh-hash-skip=sh ./run-hash-skip.sh" "phasegate=$PHASEGATE run"
fi
if want cached-200 "${cases[@]}"; then
  for n in 40 200; do
    case_ "cached-$n" "$n" 0 "$PHASEGATE run" "just-cached turbo-hit phasegate" \
      "turbo-hit=$TURBO_NATIVE run gate --output-logs=full" "just-cached=$JUST cached" \
      "phasegate=$PHASEGATE run"
  done
fi
if want uncached "${cases[@]}"; then
  case_ uncached 40 0 "$PHASEGATE run --no-cache" "sh-seq just-seq phasegate" \
    "sh-seq=sh ./run-seq.sh" "just-seq=$JUST all" "phasegate=$PHASEGATE run --no-cache"
fi
echo "results: $BASE/out/*/{ratios,interleaved}.md" >&2
