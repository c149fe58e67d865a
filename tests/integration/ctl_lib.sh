# ctl_lib.sh — helpers for the controller integration tests (sourced by
# tests/integration/it_controller*.sh): cluster checks, a unique namespace,
# starting/stopping `crosslink controller` on free loopback ports, metric
# scraping, bounded polling and the "N passed, N failed" summary.
# Not a test itself (the ctest glob only registers it_*.sh).

set -uo pipefail

PASS=0
FAIL=0
CTL_PIDS=()
CTL_TMP=$(mktemp -d /tmp/xl-it-ctl.XXXXXX)
NS=""

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { # check NAME CMD...: records the outcome of CMD
	local name=$1; shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

# Negative checks name the failure they expect; any other failure (API
# server unreachable, RBAC, a missing file, a typo) makes them fail too.
# absent KIND NAME...: every named object in $NS is NotFound
absent() {
	local kind=$1 name out
	shift
	for name in "$@"; do
		if out=$(kubectl -n "$NS" get "$kind" "$name" -o name 2>&1); then
			return 1
		fi
		if [[ $out != *"(NotFound)"* ]]; then
			echo "absent: kubectl get $kind $name failed otherwise: $out" >&2
			return 1
		fi
	done
}
# no_match REGEX FILE: FILE exists and no line matches (grep exit 1, not 2)
no_match() {
	local rc
	grep -qE -- "$1" "$2"
	rc=$?
	((rc == 1)) || { ((rc == 0)) || echo "no_match: grep $2 failed (rc=$rc)" >&2; return 1; }
}
# fails_with REGEX CMD...: CMD exits nonzero AND its output matches REGEX
fails_with() {
	local re=$1 out
	shift
	if out=$("$@" 2>&1); then
		return 1
	fi
	grep -qE -- "$re" <<<"$out" || { echo "fails_with: expected /$re/, got: $out" >&2; return 1; }
}

die_setup() {
	echo "FAIL setup: $*"
	echo "0 passed, 1 failed"
	exit 1
}

require_cluster() {
	[[ -n ${KUBECONFIG:-} ]] || die_setup "KUBECONFIG is not set (run tests/cluster/up first)"
	[[ -n ${CROSSLINK:-} && -x ${CROSSLINK} ]] || die_setup "CROSSLINK must name the built crosslink binary"
	kubectl get --raw /readyz >/dev/null 2>&1 || die_setup "the API server in $KUBECONFIG is unreachable"
	local repo
	repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
	kubectl apply -f "$repo/crds/crosslink.dev_observabilitystacks.yaml" >/dev/null ||
		die_setup "cannot apply the CRD"
	kubectl wait --for=condition=Established --timeout=60s crd/observabilitystacks.crosslink.dev >/dev/null ||
		die_setup "CRD not established"
}

new_namespace() { # new_namespace PREFIX
	NS="$1-$(date +%s)-$RANDOM"
	kubectl create namespace "$NS" >/dev/null || die_setup "cannot create namespace $NS"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_ctl NAME ARGS...: starts a controller in the background; sets
# PORT_<NAME> (metrics+health on one port) and PID_<NAME>; log in $CTL_TMP/NAME.log
start_ctl() {
	local name=$1; shift
	local port
	port=$(free_port)
	"$CROSSLINK" controller --metrics-addr "127.0.0.1:$port" --health-addr "127.0.0.1:$port" \
		--log-level debug "$@" >"$CTL_TMP/$name.log" 2>&1 &
	local pid=$!
	CTL_PIDS+=("$pid")
	printf -v "PORT_$name" '%s' "$port"
	printf -v "PID_$name" '%s' "$pid"
}

# wait_ready PORT [TIMEOUT_S]
wait_ready() {
	local port=$1 t=${2:-30} i
	for ((i = 0; i < t * 10; i++)); do
		curl -sf --noproxy '*' "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

metrics() { # metrics PORT
	curl -sf --noproxy '*' "http://127.0.0.1:$1/metrics"
}

# The sums below print "?" and fail when /metrics cannot be read, so an
# unreachable (or dead) controller never reads as "0 writes".
# writes PORT: sum of non-GET requests (POST/PUT/PATCH/DELETE) the controller made
writes() {
	local m
	m=$(metrics "$1") || { echo "?"; return 1; }
	awk '/^rest_client_requests_total\{/ && !/method="GET"/ { s += $NF } END { print s + 0 }' <<<"$m"
}

metric_value() { # metric_value PORT REGEX: sum of the matching series
	local m
	m=$(metrics "$1") || { echo "?"; return 1; }
	awk -v re="$2" '$0 ~ re { s += $NF } END { print s + 0 }' <<<"$m"
}

same_count() { # same_count A B: two counter readings, both numbers, equal
	[[ $1 =~ ^[0-9]+$ && $1 == "$2" ]]
}

# poll TIMEOUT_S CMD...: runs CMD every 0.1 s until it succeeds. CMD is run
# again each time, so it must compute its condition itself (a function such
# as cond_is); `poll 15 test "$(…)"` would expand $(…) once, before polling,
# and is refused.
poll() {
	local t=$1; shift
	case $1 in
	test | \[ | \[\[ | true | false)
		echo "poll: '$1' does not re-evaluate its arguments; poll a function (e.g. cond_is)" >&2
		return 2
		;;
	esac
	local end=$((SECONDS + t))
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# stack_yaml NAME [EXTRA_SPEC_YAML]: a stack whose backends refuse connections
stack_yaml() {
	local name=$1 extra=${2:-}
	cat <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata:
  name: $name
  namespace: $NS
spec:
  metrics:
    url: http://127.0.0.1:1/prometheus
  traces:
    url: http://127.0.0.1:1
$extra
EOF
}

# start_standin NAME ARGS...: a tests/standins/standin.py backend stand-in on
# a free loopback port (ARGS e.g. --kind tempo); sets PORT_<NAME>. Stopped by
# cleanup; log in $CTL_TMP/standin-NAME.log
STANDIN_PIDS=()
start_standin() {
	local n=$1; shift
	python3 "$(dirname -- "${BASH_SOURCE[0]}")/../standins/standin.py" --port-file "$CTL_TMP/$n.port" "$@" \
		>"$CTL_TMP/standin-$n.log" 2>&1 &
	STANDIN_PIDS+=($!)
	for _ in $(seq 100); do [[ -s $CTL_TMP/$n.port ]] && break; sleep 0.1; done
	[[ -s $CTL_TMP/$n.port ]] || die_setup "stand-in $n did not start"
	printf -v "PORT_$n" '%s' "$(cat "$CTL_TMP/$n.port")"
}

jp() { # jp KIND NAME JSONPATH
	kubectl -n "$NS" get "$1" "$2" -o "jsonpath=$3" 2>/dev/null
}

cond() { # cond STACK TYPE FIELD
	jp ostack "$1" "{.status.conditions[?(@.type==\"$2\")].$3}"
}

cond_is() { # cond_is STACK TYPE FIELD VALUE: re-reads the condition each call
	[[ $(cond "$1" "$2" "$3") == "$4" ]]
}

stack_converged() { # generation observed and provisioning applied
	local g o a
	g=$(jp ostack "$1" '{.metadata.generation}')
	o=$(jp ostack "$1" '{.status.observedGeneration}')
	a=$(cond "$1" ProvisioningApplied status)
	[[ -n $g && $g == "$o" && $a == True ]]
}

cleanup() {
	local p
	for p in "${STANDIN_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${CTL_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${CTL_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	if [[ -n $NS ]]; then
		kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	fi
	if ((FAIL > 0)); then
		for f in "$CTL_TMP"/*.log; do
			[[ -f $f ]] || continue
			echo "---- last lines of $f"
			tail -n 30 "$f"
		done
	fi
	rm -rf "$CTL_TMP"
}

summary() {
	# controllers built with CROSSLINK_SANITIZE=ON report here
	local p f
	for p in "${CTL_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${CTL_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	for f in "$CTL_TMP"/*.log; do
		[[ -f $f ]] || continue
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
			bad "sanitizer report in $(basename "$f"): $(grep -m1 -E 'ERROR: |runtime error:' "$f")"
		fi
	done
	echo "$PASS passed, $FAIL failed"
	((FAIL == 0 && PASS > 0))
}
