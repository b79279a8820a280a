#!/bin/sh
# prepare.sh - phasegate's PHASEGATE_PREPARE for /work/shared/peers/runner-bench.sh (see
# README.md): run in the synthetic workspace, it turns `gates.tsv` (name, depends_on, input,
# command) into `phasegate.toml`, one gate per line with the same command, the same need and
# the input's directory as `inputs`, all in one phase.
#
# TREE_FILES=N also adds N committed files under `tree/` (100 per directory), so that the
# workspace is a large git tree: git's index then lists them all, which is what a cached
# run's provenance (is the tree dirty?) has to look at. Every runner of the benchmark sees
# the same tree; none of them declares it as input.
set -eu
: "${TREE_FILES:=0}"

if [ "$TREE_FILES" -gt 0 ]; then
  # One awk process writes them all: a shell loop forking per file takes minutes.
  awk -v n="$TREE_FILES" 'BEGIN {
    for (i = 0; i < n; i++) {
      d = sprintf("tree/d%03d", int(i / 100));
      if (i % 100 == 0) system("mkdir -p " d);
      f = sprintf("%s/f%05d.txt", d, i);
      printf "file %d of the tree\n", i > f; close(f);
    }
  }'
  git add -A tree
  git -c user.email=b@example.invalid -c user.name=bench commit -qm "tree of $TREE_FILES files"
fi

awk -F '\t' '
  NR == 1 { print "# written by bench/runner/prepare.sh from gates.tsv\n"; next }
  {
    dir = $3; sub(/\/[^\/]*$/, "", dir);
    printf "[gates.%s]\nrun = \"%s\"\ninputs = [\"%s/**\"]\n", $1, $4, dir;
    if ($2 != "") printf "needs = [\"%s\"]\n", $2;
    print "";
    gates = gates (gates == "" ? "" : ", ") "\"" $1 "\"";
  }
  END { printf "[[phase]]\nid = \"all\"\ngates = [%s]\n", gates }
' gates.tsv > phasegate.toml
# Committed like a real roadmap, so that the tree is clean for every column.
git add phasegate.toml
git -c user.email=b@example.invalid -c user.name=bench commit -qm "phasegate roadmap"
