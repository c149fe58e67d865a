#!/usr/bin/env bash
# test_ctl_lib.sh — the integration tests' helpers (tests/integration/ctl_lib.sh)
# can fail: poll re-evaluates its condition (and refuses `test "$(…)"`, which
# would not), negative checks pass only on the failure they expect (absent:
# NotFound, not "API server unreachable"; no_match: no line, not "no such
# file"), counter readings of an unreachable controller never compare equal.
# No cluster: kubectl is a stub on PATH. Prints "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
source "$here/../integration/ctl_lib.sh"
trap cleanup EXIT
stub=$CTL_TMP/bin
mkdir -p "$stub"
PATH=$stub:$PATH
kubectl_says() { # kubectl_says RC TEXT: the stub kubectl prints TEXT and exits RC
	printf '#!/bin/sh\nprintf "%%s\\n" %q >&2\nexit %d\n' "$2" "$1" >"$stub/kubectl"
	chmod +x "$stub/kubectl"
}
NS=""  # cleanup must not try to delete a namespace

# poll
flag=$CTL_TMP/flag
flag_set() { [[ -e $flag ]]; }
(sleep 0.5; touch "$flag") &
check "poll re-evaluates a condition that becomes true later" poll 5 flag_set
wait
rm -f "$flag"
check "poll times out (false after 1 s)" fails_with '' poll 1 flag_set
check "poll refuses test (evaluated once)" fails_with 'does not re-evaluate' poll 1 test a == a
check "poll refuses [" fails_with 'does not re-evaluate' poll 1 [ a == a ]

# absent
kubectl_says 1 'Error from server (NotFound): configmaps "x" not found'
check "absent: NotFound is absent" absent cm x
kubectl_says 1 'The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?'
check "absent: an unreachable API server is not absent" fails_with 'failed otherwise' absent cm x
kubectl_says 1 'Error from server (Forbidden): configmaps "x" is forbidden'
check "absent: Forbidden is not absent" fails_with 'failed otherwise' absent cm x
kubectl_says 0 'configmap/x'
check "absent: an existing object is not absent" fails_with '' absent cm x

# no_match
printf 'a\nb\n' >"$CTL_TMP/log.txt"
check "no_match: no matching line" no_match '^c$' "$CTL_TMP/log.txt"
check "no_match: a matching line fails" fails_with '' no_match '^b$' "$CTL_TMP/log.txt"
check "no_match: a missing file fails" fails_with 'rc=2' no_match '^c$' "$CTL_TMP/missing.txt"

# fails_with
check "fails_with: expected failure" fails_with 'NotFound' sh -c 'echo "(NotFound)"; exit 1'
check "fails_with: other failure" fails_with 'expected' fails_with 'NotFound' sh -c 'echo refused; exit 1'
check "fails_with: success is not a failure" fails_with '' fails_with 'x' sh -c 'echo x'

# counters from an unreachable controller
port=$(free_port)
check "writes of an unreachable controller fail" fails_with '^\?$' writes "$port"
check "metric_value of an unreachable controller fails" fails_with '^\?$' metric_value "$port" .
check "same_count: equal numbers" same_count 3 3
check "same_count: unreadable counters are not equal" fails_with '' same_count '?' '?'
check "same_count: different numbers" fails_with '' same_count 3 4

# cond_is reads the condition each call
kubectl_says 0 ''
printf '#!/bin/sh\ncat %q\n' "$CTL_TMP/cond" >"$stub/kubectl"
echo Unknown >"$CTL_TMP/cond"
(sleep 0.5; echo False >"$CTL_TMP/cond") &
check "poll cond_is sees a condition change" poll 5 cond_is s MetricsReachable status False
wait

echo "$PASS passed, $FAIL failed"
((FAIL == 0 && PASS > 0))
