#!/usr/bin/env bash
# bench/secrets/run.sh - phasegate's secret scanner beside its peers, on one tree.
#
#   bench/secrets/run.sh [WORKDIR] [REPS]
#
# Builds phasegate (release), then a corpus under WORKDIR (default /tmp/phasegate-secrets-bench):
#   corpus/   large public source trees unpacked from crates.io packages (.crate files, from
#             cargo's download cache when present, else https://static.crates.io) plus the
#             labelled fixture set (planted secrets and decoys, EXPECTED.tsv / DECOYS.tsv)
#   fixtures/ the labelled fixture set alone (recall and precision)
# and runs ../shared/peers/secrets-bench.sh on both with phasegate as the extra column.
# SB_TOOLS / SB_INSTALL / SB_PREFIX are passed through (see the peers script's header).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-/tmp/phasegate-secrets-bench}
REPS=${2:-3}
PEERS=${SECRETS_BENCH:-$ROOT/../shared/peers/secrets-bench.sh}
[ -x "$PEERS" ] || PEERS=/work/shared/peers/secrets-bench.sh
CRATES=${BENCH_CRATES:-"icu_segmenter-2.4.0 linux-raw-sys-0.12.1 libsqlite3-sys-0.39.1 sqlite-wasm-rs-0.6.2 linux-raw-sys-0.11.0 windows-sys-0.52.0 windows-sys-0.60.2 windows-sys-0.61.2 linux-raw-sys-0.4.15 ring-0.17.14 winapi-0.3.9 tokio-1.54.1 libc-0.2.191 libc-0.2.190"}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build -q --release -p phasegate && cargo build -q --release -p phasegate-secrets --example fixtures)
BIN=$CARGO_TARGET_DIR/release/phasegate
FIXTURES_BIN=$CARGO_TARGET_DIR/release/examples/fixtures

rm -rf "$WORK/corpus" "$WORK/fixtures"
mkdir -p "$WORK/corpus" "$WORK/crates"
for c in $CRATES; do
  f="$WORK/crates/$c.crate"
  if [ ! -s "$f" ]; then
    cached=$(ls "$HOME"/.cargo/registry/cache/*/"$c.crate" 2>/dev/null | head -1 || true)
    if [ -n "$cached" ]; then cp "$cached" "$f"
    else curl -sSfL -o "$f" "https://static.crates.io/crates/${c%-*}/$c.crate"; fi
  fi
  tar xzf "$f" -C "$WORK/corpus"
done
"$FIXTURES_BIN" "$WORK/fixtures" 7
# The same set inside the corpus, with its labels' paths made relative to the corpus.
cp -r "$WORK/fixtures" "$WORK/corpus/planted"
sed '1!s|^|planted/|' "$WORK/fixtures/EXPECTED.tsv" >"$WORK/corpus/EXPECTED.tsv"
sed '1!s|^|planted/|' "$WORK/fixtures/DECOYS.tsv" >"$WORK/corpus/DECOYS.tsv"
rm "$WORK/corpus/planted/EXPECTED.tsv" "$WORK/corpus/planted/DECOYS.tsv"
echo "corpus: $(du -sm "$WORK/corpus" | cut -f1) MB in $(find "$WORK/corpus" -type f | wc -l) files" >&2

export PHASEGATE_CMD="'$BIN' scan secrets --format json --output \"\$SB_RAW\" \"\$SB_DIR\""
echo "== fixture set (recall / precision)"
"$PEERS" "$WORK/fixtures" 1
echo "== corpus (speed)"
"$PEERS" "$WORK/corpus" "$REPS"
# Start-up: one small file, as a pre-commit hook on a small change sees it.
mkdir -p "$WORK/one" && echo 'print("hello")' >"$WORK/one/a.py"
echo "== start-up (one small file), CPU seconds of 20 runs"
/usr/bin/time -f "%U user %S sys for 20 runs" bash -c "for i in \$(seq 20); do '$BIN' scan secrets '$WORK/one' >/dev/null; done"
