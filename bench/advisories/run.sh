#!/usr/bin/env bash
# The advisories benchmark: `phasegate probe advisories` on a synthetic project the size of a
# large monorepo (an npm lockfile v3 of PACKAGES packages, nested copies included, and a
# Cargo.lock) against a synthetic OSV mirror of ADVISORIES advisories in one all.zip, as OSV
# publishes it. Prints the wall time of REPS runs and the probe's own measurements; asserts
# nothing (not run in CI).
#
#   bench/advisories/run.sh           # builds phasegate (release) first
#
# Environment: PACKAGES (20000), ADVISORIES (50000), REPS (5), PHASEGATE (a binary to use).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
packages=${PACKAGES:-20000}
advisories=${ADVISORIES:-50000}
reps=${REPS:-5}
if [ -z "${PHASEGATE:-}" ]; then
  cargo build --release -p phasegate --manifest-path "$root/Cargo.toml" >&2
  PHASEGATE=${CARGO_TARGET_DIR:-$root/target}/release/phasegate
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "$packages" "$advisories" <<'PY'
import json, sys, zipfile, random
d, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
pkgs = {"": {"name": "big", "version": "1.0.0"}}
for i in range(n):
    v = f"{random.randint(0, 5)}.{random.randint(0, 20)}.{random.randint(0, 20)}"
    key = f"node_modules/pkg-{i}" if i % 4 else f"node_modules/pkg-{i - 1}/node_modules/pkg-{i}"
    pkgs[key] = {"version": v, "resolved": f"https://r/pkg-{i}.tgz", "integrity": "sha512-x"}
json.dump({"name": "big", "lockfileVersion": 3, "requires": True, "packages": pkgs},
          open(f"{d}/package-lock.json", "w"), indent=2)
with zipfile.ZipFile(f"{d}/all.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for j in range(m):
        name = f"pkg-{random.randrange(n * 2)}"  # about half name a locked package
        adv = {"schema_version": "1.6.0", "id": f"GHSA-bench-{j:06d}",
               "modified": "2020-01-01T00:00:00Z", "published": "2020-01-01T00:00:00Z",
               "affected": [{"package": {"ecosystem": "npm", "name": name},
                             "ranges": [{"type": "SEMVER", "events": [
                                 {"introduced": "0"}, {"fixed": "0.5.0"},
                                 {"introduced": "3.0.0"}, {"fixed": "3.2.1"}]}]}],
               "severity": [{"type": "CVSS_V3",
                             "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]}
        z.writestr(f"GHSA-bench-{j:06d}.json", json.dumps(adv))
PY
echo "# $packages packages, $advisories advisories ($(du -h "$dir/all.zip" | cut -f1) zip)"
for _ in $(seq "$reps"); do
  start=$(date +%s.%N)
  "$PHASEGATE" probe advisories "$dir" -p db=all.zip -p lockfiles='["package-lock.json"]' \
    --format json > "$dir/out.json" || true
  end=$(date +%s.%N)
  echo "wall_s $(echo "$end - $start" | bc)"
done
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(json.dumps(o.get("measurements", o), sort_keys=True))' "$dir/out.json"
