#!/usr/bin/env bash
# it_controller_leader.sh — two `crosslink controller --leader-elect`
# processes on one Lease: exactly one reconciles; SIGTERM on the leader
# releases the Lease (holderIdentity cleared) and the standby leads within
# 3 s; kill -9 on the leader → the standby leads within the lease duration.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap cleanup EXIT

require_cluster
new_namespace xl-it-lead
LEASE=crosslink-it-$RANDOM
common=(--namespaces "$NS" --leader-elect --lease-namespace "$NS" --lease-name "$LEASE")
POD_NAME=cand-a start_ctl a "${common[@]}"
wait_ready "$PORT_a" 30 || die_setup "controller a not ready"
leader_status() { # leader_status PORT 0|1: the controller reports that value
	local m
	m=$(metrics "$1") || return 1
	grep -q "^leader_election_master_status{name=\"$LEASE\"} $2\$" <<<"$m"
}
leads() { leader_status "$1" 1; } # leads PORT
check "first candidate leads" poll 15 leads "$PORT_a"
POD_NAME=cand-b start_ctl b "${common[@]}"
wait_ready "$PORT_b" 30 || die_setup "controller b not ready"
check "lease holder is cand-a" test "$(kubectl -n "$NS" get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}')" == cand-a

stack_yaml s1 | kubectl apply -f - >/dev/null
check "the leader reconciles the stack" poll 30 stack_converged s1
reconciles() { metric_value "$1" '^controller_runtime_reconcile_total\{'; }
check "the standby reports it does not lead" leader_status "$PORT_b" 0
check "the standby reconciled nothing" test "$(reconciles "$PORT_b")" == 0
check "the standby made no writes" test "$(writes "$PORT_b")" == 0
check "the leader reconciled" test "$(reconciles "$PORT_a")" -gt 0

# ---- SIGTERM: release → takeover within 3 s ----------------------------------
t0=$(date +%s%N)
kill -TERM "$PID_a"
check "cand-b leads within 3 s of SIGTERM" poll 3 leads "$PORT_b"
echo "     (took over after $((($(date +%s%N) - t0) / 1000000)) ms)"
for ((i = 0; i < 100; i++)); do kill -0 "$PID_a" 2>/dev/null || break; sleep 0.1; done
wait "$PID_a"
check "the old leader exited 0" test $? == 0
check "the old leader logged the release" grep -q '"lease released"' "$CTL_TMP/a.log"
check "lease holder is cand-b" test "$(kubectl -n "$NS" get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}')" == cand-b
stack_yaml s2 | kubectl apply -f - >/dev/null
check "the new leader reconciles" poll 30 stack_converged s2

# ---- kill -9: takeover within the lease duration ------------------------------
POD_NAME=cand-c start_ctl c "${common[@]}"
wait_ready "$PORT_c" 30 || die_setup "controller c not ready"
sleep 3 # let c observe the lease record
t0=$(date +%s%N)
kill -KILL "$PID_b"
check "cand-c leads within the lease duration after kill -9 (15 s + retry)" poll 20 leads "$PORT_c"
echo "     (took over after $((($(date +%s%N) - t0) / 1000000)) ms)"
check "lease holder is cand-c" test "$(kubectl -n "$NS" get lease "$LEASE" -o 'jsonpath={.spec.holderIdentity}')" == cand-c
check "transitions counted" test "$(kubectl -n "$NS" get lease "$LEASE" -o 'jsonpath={.spec.leaseTransitions}')" -ge 2

summary
