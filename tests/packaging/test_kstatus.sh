#!/usr/bin/env bash
# test_kstatus.sh — runs the kstatus Go test (tests/packaging/kstatus: the
# sample stacks through sigs.k8s.io/cli-utils kstatus.Compute, as Flux and
# kubectl-style waiters read them). Uses the committed go.sum.
set -uo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
command -v go >/dev/null || { echo "FAIL go not found"; echo "0 passed, 1 failed"; exit 1; }
cd "$here/kstatus" || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off go test -count=1 -v ./... >"$log" 2>&1; then
	rc=0
else
	rc=1
fi
cat "$log"
passed=$(grep -c -- '--- PASS' "$log")
failed=$(grep -c -- '--- FAIL' "$log")
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $rc
