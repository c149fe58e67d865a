#!/usr/bin/env bash
# test_kstatus.sh — runs the kstatus Go test (tests/packaging/kstatus: the
# sample stacks through sigs.k8s.io/cli-utils kstatus.Compute, as Flux and
# kubectl-style waiters read them). Uses the committed go.sum. Passes only
# when every sample listed in samples/expected.txt ran and passed.
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
# Every sample of ../samples/expected.txt must have run and passed as its own
# subtest: zero tests run ("no test files", a renamed test, an empty list)
# is a failure, not a pass.
passed=0 failed=0
while read -r file _; do
	[[ -z $file || $file == \#* ]] && continue
	if grep -qF -- "--- PASS: TestComputeSamples/$file " "$log"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL sample $file: no passing kstatus subtest"
	fi
done <"$here/samples/expected.txt"
if ((passed == 0)); then
	echo "FAIL no kstatus sample test ran"
	failed=$((failed + 1))
fi
if [[ $rc -ne 0 ]] && ! grep -q -- '--- FAIL' "$log"; then
	echo "FAIL go test exited $rc"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
