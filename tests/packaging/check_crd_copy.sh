#!/usr/bin/env bash
# check_crd_copy.sh — fails when the CRD copies in helm/crosslink/crds/ and
# deploy/crds/ differ from crds/ (the source), or when they hold extra files.
# Fix with tests/packaging/sync-crd.
set -uo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
src=$root/crds/crosslink.dev_observabilitystacks.yaml
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

if [[ ! -f $src ]]; then
	bad "crds/$(basename "$src") missing"
else
	for dir in helm/crosslink/crds deploy/crds; do
		copy=$root/$dir/$(basename "$src")
		if [[ ! -f $copy ]]; then
			bad "$dir/$(basename "$src") missing (run tests/packaging/sync-crd)"
		elif cmp -s "$src" "$copy"; then
			ok "$dir/$(basename "$src") matches crds/"
		else
			bad "$dir/$(basename "$src") differs from crds/ (run tests/packaging/sync-crd):"
			diff -u "$src" "$copy" | head -20
		fi
		extra=$(find "$root/$dir" -type f ! -name "$(basename "$src")" ! -name kustomization.yaml | sed "s|^$root/||")
		if [[ -n $extra ]]; then bad "unexpected files in $dir: $extra"; else ok "$dir holds only the CRD"; fi
	done
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
