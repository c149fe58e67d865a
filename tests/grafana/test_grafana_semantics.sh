#!/usr/bin/env bash
# test_grafana_semantics.sh — the Grafana-semantics check (issue 12): every
# golden file (tests/golden/*/expected.yaml) and the render of every
# examples/*.yaml is read the way Grafana reads it, by Grafana's own npm code
# (check.js; packages installed by ./setup into ~/.cache/crosslink/npm), and
# every known-bad fixture (bad/*.yaml) must be caught by exactly the rules it
# names — so the check is proven able to fail. Missing Node/npm or a failed
# install fails this test; it never skips.
set -uo pipefail
CROSSLINK=${CROSSLINK:?CROSSLINK must point at the built binary}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd -- "$here/../.." && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"

nm=$("$here/setup") || { echo "FAIL setup: Grafana's npm packages could not be installed"; echo "0 passed, 1 failed"; exit 1; }

files=(tests/golden/*/expected.yaml)
mkdir -p "$tmp/examples"
render_fail=0
for ex in examples/*.yaml; do
	out="$tmp/examples/$(basename "$ex")"
	if ! "$CROSSLINK" render -f "$ex" >"$out" 2>"$tmp/err"; then
		echo "FAIL render $ex"; cat "$tmp/err"; render_fail=1; continue
	fi
	files+=("$out")
done
files+=("$here"/bad/*.yaml)
python3 "$here/bundle.py" "${files[@]}" >"$tmp/bundle.json" || { echo "FAIL bundle.py"; echo "0 passed, 1 failed"; exit 1; }
node "$here/check.js" "$nm" "$tmp/bundle.json"
rc=$?
if ((render_fail)); then echo "FAIL rendering an example"; exit 1; fi
exit $rc
