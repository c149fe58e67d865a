#!/usr/bin/env bash
# cold_start.sh — cold start of `crosslink controller` binaries side by side
# on the local control plane. For each N and each binary, in a fresh
# namespace: N/2 stacks are created and converged by that binary (then it is
# stopped) — the "unchanged" half; N/2 more are created while no controller
# runs — the "new" half (10 parallel `kubectl create`, timed: the kubectl
# reference). Then the binary starts with default settings (no --workers)
# and the run reports: time from start until all N stacks are Ready at
# their generation (bench/ready_watch.py: one kubectl watch, no polling),
# the process's VmHWM (peak), VmRSS and RssAnon then, CPU seconds used (and
# the apiserver's + etcd's, during kubectl's creates and during the cold
# start: the machine's share the controller cannot save),
# writes (POST/PUT/PATCH/APPLY/DELETE on stacks, ConfigMaps and Events)
# counted by the apiserver's own apiserver_request_total per new stack
# until none came for 3 s after all were Ready (Events are sent behind the
# statuses), split into ConfigMap applies, status patches and Events (the
# stand-in has no exemplars, so every new stack's links are broken: a
# LinksBroken Warning besides the Ready Event) and the Events the
# controller's recorder dropped (crosslink_events_dropped_total), and
# how many unchanged stacks or their ConfigMaps changed resourceVersion
# (must be 0: verified without a write). Every stack has metrics + traces
# on one stand-in backend (tests/standins/standin.py), so Ready is True.
#
# Usage: KUBECONFIG=... bench/cold_start.sh [NAME=BINARY]...
#   default: new=build/controller/crosslink
#   CTL_ARGS="--workers 4" adds controller flags (the default is none);
#   SIZES="1000 2000 10000" (default "1000 2000"), REPEAT=1 (binaries alternate
#   order on every repeat), TIMEOUT=900 s per run.
#   Cluster: eval "$(tests/cluster/up --state-dir /tmp/xl-cold | tail -1)"
# Prints one Markdown row per run.
set -uo pipefail
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-"1000 2000"}
REPEAT=${REPEAT:-1}
TIMEOUT=${TIMEOUT:-900}
BINS=("$@")
((${#BINS[@]})) || BINS=("new=$REPO/build/controller/crosslink")
[[ -n ${KUBECONFIG:-} ]] || { echo "KUBECONFIG must be set (tests/cluster/up)" >&2; exit 1; }
kubectl get --raw /readyz >/dev/null || { echo "API server unreachable" >&2; exit 1; }
for nb in "${BINS[@]}"; do [[ -x ${nb#*=} ]] || { echo "${nb#*=}: not executable" >&2; exit 1; }; done
kubectl apply -f "$REPO/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null

TMP=$(mktemp -d /tmp/xl-cold.XXXXXX)
PID= SPID= NS=
cleanup() {
	[[ -n $PID ]] && { pkill -TERM -P "$PID" 2>/dev/null; kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
	[[ -n $SPID ]] && kill "$SPID" 2>/dev/null
	[[ -n $NS ]] && kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

python3 "$REPO/tests/standins/standin.py" --kind all --tenant t1 --port 0 --port-file "$TMP/standin.port" \
	>"$TMP/standin.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do [[ -s $TMP/standin.port ]] && break; sleep 0.1; done
BACKEND=$(cat "$TMP/standin.port")

now_ms() { date +%s%3N; }
kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# CPU seconds of the local control plane's apiserver and etcd (0 when the
# KUBECONFIG is not one of tests/cluster/up's state dirs)
STATE=$(dirname -- "$KUBECONFIG")
cp_cpu() {
	local f t=0
	for f in kube-apiserver etcd; do
		[[ -r $STATE/$f.pid && -r /proc/$(cat "$STATE/$f.pid")/stat ]] &&
			t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", t + ($14 + $15) / hz }' "/proc/$(cat "$STATE/$f.pid")/stat")
	done
	echo "$t"
}
# writes the apiserver served for our resources (its own counter): "total
# configmaps status events"
api_writes() {
	kubectl get --raw /metrics | awk '
		/^apiserver_request_total\{/ && /verb="(POST|PUT|PATCH|APPLY|DELETE)"/ &&
		/resource="(observabilitystacks|configmaps|events)"/ {
			s += $NF
			if (/resource="configmaps"/) c += $NF
			else if (/resource="events"/) e += $NF
			else t += $NF
		}
		END { printf "%d %d %d %d\n", s, c, t, e }'
}
# "kind/name rv" of the stacks and ConfigMaps of the unchanged half (u<i>, u<i>-*)
snapshot() {
	kubectl -n "$NS" get observabilitystacks.crosslink.dev,configmaps -o \
		jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.metadata.resourceVersion}{"\n"}{end}' |
		grep -E '^[A-Za-z]+/u[0-9]+(-| )' | sort
}
create_half() { # create_half PREFIX COUNT LABEL → prints ms taken
	local p=$1 n=$2 h=$3 i t0
	rm -rf "$TMP/parts"
	mkdir -p "$TMP/parts"
	for ((i = 0; i < n; i++)); do
		cat <<YAML >>"$TMP/parts/p$((i % 10)).yaml"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: $p$i, namespace: $NS, labels: {half: "$h"}}
spec:
  metrics: {url: "http://127.0.0.1:$BACKEND/prometheus", tenant: t1}
  traces: {url: "http://127.0.0.1:$BACKEND", tenant: t1}
---
YAML
	done
	t0=$(now_ms)
	ls "$TMP"/parts/*.yaml | xargs -P 10 -n 1 kubectl create -f >/dev/null 2>"$TMP/create.err" ||
		{ echo "kubectl create failed: $(head -2 "$TMP/create.err")" >&2; exit 1; }
	echo $(($(now_ms) - t0))
}
start_ctl() { # start_ctl BINARY LOG [WRAP...]; sets PID and PORT (metrics)
	local port bin=$1 log=$2
	shift 2
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$@" "$bin" controller --namespaces "$NS" --metrics-addr "127.0.0.1:$port" --health-addr "127.0.0.1:$port" \
		--log-level warn ${CTL_ARGS:-} >"$log" 2>&1 &
	PID=$! PORT=$port
}
stop_ctl() {
	pkill -TERM -P "$PID" 2>/dev/null # a PROFILE wrapper's child (heaptrack, perf)
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

echo "| N | binary | kubectl: create N/2 (ms) | cold start → all Ready (ms) | ratio to kubectl | VmHWM MiB | VmRSS MiB | RssAnon MiB | CPU s | apiserver+etcd CPU s: kubectl / cold start | writes / new stack | unchanged objects written |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for N in $SIZES; do
	H=$((N / 2))
	for ((rep = 0; rep < REPEAT; rep++)); do
		order=("${BINS[@]}")
		((rep % 2)) && order=($(printf '%s\n' "${BINS[@]}" | tac))
		for nb in "${order[@]}"; do
			name=${nb%%=*} bin=${nb#*=}
			NS=xl-cold-$N-$rep-$name-$(date +%s)
			kubectl create namespace "$NS" >/dev/null
			# the unchanged half, converged by this binary
			create_half u "$H" u >/dev/null || exit 1
			start_ctl "$bin" "$TMP/setup.log"
			python3 "$REPO/bench/ready_watch.py" "$NS" "$H" "$TIMEOUT" >"$TMP/setup.ready"
			stop_ctl
			BEFORE=$(snapshot)
			K0=$(cp_cpu)
			T_KUBECTL=$(create_half n "$H" n) || exit 1
			K1=$(cp_cpu)
			sleep 2
			W0=$(api_writes)
			python3 "$REPO/bench/ready_watch.py" "$NS" "$N" "$TIMEOUT" >"$TMP/ready" &
			WPID=$!
			sleep 1 # the watch has listed
			C0=$(cp_cpu)
			T0=$(now_ms)
			# PROFILE="perf record -e cpu-clock -g -o FILE --" wraps the measured
			# run (its memory columns are then the wrapper's: profile only)
			start_ctl "$bin" "$TMP/run.log" ${PROFILE:-}
			HWM=0
			while kill -0 "$WPID" 2>/dev/null; do
				h=$(status "$PID" VmHWM)
				[[ -n $h ]] && HWM=$h
				sleep 0.2
			done
			wait "$WPID"
			T_READY=$(awk '$1 == "READY" { print $2 }' "$TMP/ready")
			sleep 1
			HWM=$(status "$PID" VmHWM) RSS=$(status "$PID" VmRSS) ANON=$(status "$PID" RssAnon) CPU=$(cpu_s "$PID")
			C1=$(cp_cpu)
			# writes go on after Ready (queued Events, a LinksVerified status
			# that missed the first write): count until none came for 3 s
			W1=$(api_writes) quiet=0
			for _ in $(seq 120); do
				sleep 0.5
				w=$(api_writes)
				if [[ $w == "$W1" ]]; then ((++quiet >= 6)) && break; else W1=$w quiet=0; fi
			done
			AFTER=$(snapshot)
			# Events the recorder's full queue dropped ("–": a binary without the counter)
			DROPPED=$(curl -s "127.0.0.1:$PORT/metrics" | awk '/^crosslink_events_dropped_total / { print $2 }')
			CHANGED=$(diff <(echo "$BEFORE") <(echo "$AFTER") | grep -c '^>')
			stop_ctl
			if [[ -n $T_READY ]]; then
				DT=$((T_READY - T0))
			else
				DT="timeout ($(tail -1 "$TMP/ready"))"
			fi
			printf '| %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d of %d |\n' "$N" "$name" "$T_KUBECTL" "$DT" \
				"$(awk -v a="$DT" -v b="$T_KUBECTL" 'BEGIN { printf "%.2f", (a + 0) / b }')" \
				"$(kib "$HWM")" "$(kib "$RSS")" "$(kib "$ANON")" "$CPU" "$(awk -v a="$C0" -v b="$C1" -v c="$K0" -v d="$K1" 'BEGIN { printf "%.1f / %.1f", d - c, b - a }')" \
				"$(awk -v a="$W0" -v b="$W1" -v n="$H" -v d="${DROPPED:-–}" 'BEGIN { split(a, x, " "); split(b, y, " ")
					printf "%.2f (%.2f ConfigMaps, %.2f status, %.2f Events; %s dropped)", (y[1] - x[1]) / n,
						(y[2] - x[2]) / n, (y[3] - x[3]) / n, (y[4] - x[4]) / n, d }')" "$CHANGED" "$(echo "$BEFORE" | grep -c .)"
			kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
			# let the namespace controller finish before the next run
			for _ in $(seq 600); do kubectl get namespace "$NS" >/dev/null 2>&1 || break; sleep 1; done
			NS=
		done
	done
done
