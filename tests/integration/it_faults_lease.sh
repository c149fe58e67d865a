#!/usr/bin/env bash
# it_faults_lease.sh — the leader's Lease is taken away mid-reconcile
# (docs/faults.md): while stacks are being edited continuously, another
# holder writes the Lease (and keeps renewing it, as a real successor
# would). The old leader must stop writing ConfigMaps and stack status
# within the lease duration (15 s) of the theft, never write the Lease back,
# and stay quiet afterwards. Writes are counted by the API server for the
# controller's own user (faults_lib.sh), so a process that lingers and
# writes is seen even if it never reports it.
#
# Seen red by hand (not committed): manager.c on_leader() ignoring
# CTL_LEADER_LOST (no shutdown) keeps the old leader reconciling the
# editor's changes — "last write within the lease duration" fails.
# Needs KUBECONFIG (a tests/cluster control plane) and CROSSLINK.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/faults_lib.sh"
trap 'kill $EDITOR_PID $THIEF_PID 2>/dev/null; cleanup' EXIT

LEASE_S=15
require_cluster
make_ctl_user
new_namespace xl-it-flease
LEASE=crosslink-fault-$RANDOM
POD_NAME=victim start_ctl a --kubeconfig "$CTL_KUBECONFIG" --namespaces "$NS" --verify-interval 300s \
	--leader-elect --lease-namespace "$NS" --lease-name "$LEASE"
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"
leads() { metrics "$PORT_a" | grep -q "^leader_election_master_status{name=\"$LEASE\"} 1"; }
check "the controller leads" poll 20 leads
for i in 1 2 3; do stack_yaml "s$i"; echo "---"; done | kubectl apply -f - >/dev/null
conv() { stack_converged s1 && stack_converged s2 && stack_converged s3; }
check "stacks converge under the leader" poll 60 conv

# an editor keeps the controller busy: a new spec every 0.3 s
editor() {
	local n=0
	while :; do
		n=$((n + 1))
		stack_yaml "s$((n % 3 + 1))" "  correlation:
    serviceLabel: edit_$n" | kubectl apply -f - >/dev/null 2>&1
		sleep 0.3
	done
}
editor &
EDITOR_PID=$!
sleep 2
w_busy=$(fs_count "$FS_WRITE" all)
sleep 2
check "the leader is writing while the editor runs" test "$(fs_count "$FS_WRITE" all)" -gt "$w_busy"

# the theft: another holder, renewed every 2 s like client-go would
now_micro() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
steal() { # steal ACQUIRE_TIME TRANSITIONS: a merge patch, no resourceVersion precondition
	kubectl -n "$NS" patch lease "$LEASE" --type merge -p "{\"spec\":{\"holderIdentity\":\"thief\",
		\"leaseDurationSeconds\":$LEASE_S,\"acquireTime\":\"$1\",\"renewTime\":\"$(now_micro)\",
		\"leaseTransitions\":$2}}" >/dev/null 2>>"$CTL_TMP/steal.err"
}
acq=$(now_micro)
tr=$(($(jp lease "$LEASE" '{.spec.leaseTransitions}') + 1))
t_steal=$(date +%s%N)
steal "$acq" "$tr"
check "the Lease was taken by another holder" test "$(jp lease "$LEASE" '{.spec.holderIdentity}')" == thief
thief() { while :; do sleep 2; steal "$acq" "$tr"; done; }
thief &
THIEF_PID=$!

# sample the controller's writes (server-side count) every 0.5 s for 22 s
last=$(fs_count "$FS_WRITE" all)
last_ms=0
exited_ms=""
while (($(ms_since "$t_steal") < (LEASE_S + 7) * 1000)); do
	sleep 0.5
	w=$(fs_count "$FS_WRITE" all)
	if [[ $w != "$last" ]]; then last=$w; last_ms=$(ms_since "$t_steal"); fi
	if [[ -z $exited_ms ]] && ! kill -0 "$PID_a" 2>/dev/null; then exited_ms=$(ms_since "$t_steal"); fi
	# gone for 2 s (its writes are counted): nothing more can come from it
	[[ -n $exited_ms ]] && (($(ms_since "$t_steal") > exited_ms + 2000)) && break
done
kill "$EDITOR_PID" 2>/dev/null
echo "     (last controller write ${last_ms} ms after the theft; process exit: ${exited_ms:-still running} ms)"
check "the old leader's last write came within the lease duration (${last_ms} ms ≤ ${LEASE_S}000)" \
	test "$last_ms" -le $((LEASE_S * 1000))
# exited, or still serving /metrics with the gauge at 0 (not merely unreadable)
not_leading() {
	kill -0 "$PID_a" 2>/dev/null || return 0
	metrics "$PORT_a" | grep -q "^leader_election_master_status{name=\"$LEASE\"} 0"
}
check "the old leader no longer reports leadership (or exited)" not_leading
check "the Lease stays with the thief" test "$(jp lease "$LEASE" '{.spec.holderIdentity}')" == thief
kill "$THIEF_PID" 2>/dev/null
if [[ -n $exited_ms ]]; then
	wait "$PID_a"
	rc=$?
	echo "     (exit code $rc)"
	check "lost leadership is logged" grep -q -i 'leadership lost\|lease lost' "$CTL_TMP/a.log"
fi

summary
