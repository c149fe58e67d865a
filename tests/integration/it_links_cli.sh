#!/bin/bash
# it_links_cli.sh — `crosslink probe --links` end to end on loopback (no
# cluster): Debian's REAL Prometheus (--enable-feature=exemplar-storage)
# scrapes the stand-ins' OpenMetrics histograms whose buckets carry exemplars
# with trace ids; Tempo, Loki and Pyroscope are stand-ins
# (tests/standins/standin.py --links-case), one consistent data set per case:
# consistent, otlp, app-label, no-exemplars, missing-trace, no-profiles,
# tenant-mismatch. Checks each link's result and message, exit codes, the
# NoData note, JSON output, and that no log line or secret leaks. Needs
# $CROSSLINK (set by ctest).
set -u
CROSSLINK=${CROSSLINK:?set CROSSLINK to the crosslink binary}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/xl-it-links-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
passed=0 fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; passed=$((passed + 1)); }

PROM=$(command -v prometheus || true)
if [ -z "$PROM" ]; then
  echo "prometheus not installed (tests/install-deps installs it)"; echo "0 passed, 1 failed"; exit 1
fi

CASES="consistent otlp app-label no-exemplars missing-trace no-profiles tenant-mismatch"
metric_of() { echo "http_${1//-/_}_duration_seconds"; }
# free loopback ports picked up front, so the stand-ins and Prometheus start
# at the same time (python start-up is slow on a loaded machine)
read -r -a PORTS <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(9)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
i=0
declare -A PORT
for f in $CASES loki-b; do PORT[$f]=${PORTS[$i]}; i=$((i + 1)); done
PPORT=${PORTS[8]}
start_standin() { # name args...
  local name=$1; shift
  python3 "$ROOT/tests/standins/standin.py" "$@" --port "${PORT[$name]}" --port-file "$TMP/$name.port" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
}
for c in $CASES; do
  start_standin "$c" --kind all --tenant team-a --links-case "$c" --request-metric "$(metric_of "$c")"
done
# tenant-mismatch: this case's Loki serves tenant team-b; the stack sends team-a
start_standin loki-b --kind loki --tenant team-b --links-case tenant-mismatch --request-metric "$(metric_of tenant-mismatch)"

# Prometheus: one job per case, scraping every second (OpenMetrics → exemplars)
{
  echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
  echo "scrape_configs:"
  for c in $CASES; do
    echo "- job_name: $c"
    echo "  static_configs: [{targets: ['127.0.0.1:${PORT[$c]}']}]"
  done
} >"$TMP/prometheus.yml"
"$PROM" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" --enable-feature=exemplar-storage >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
for f in $CASES loki-b; do
  for _ in $(seq 300); do [ -s "$TMP/$f.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$f.port" ] || { echo "stand-in $f did not start"; cat "$TMP/$f.log"; echo "0 passed, 1 failed"; exit 1; }
done

t_prom=$(date +%s)
# wait until every case's exemplars (or series, for no-exemplars) are in
ready=0
for _ in $(seq 200); do
  n=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query?query=count(count_over_time(http_consistent_duration_seconds_count%5B1m%5D)%3E1)%20and%20count(count_over_time(http_tenant_mismatch_duration_seconds_count%5B1m%5D)%3E1)" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["data"]["result"]))' 2>/dev/null)
  ex=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query_exemplars?query=%7B__name__%3D~%22http_.%2A%22%7D&start=0&end=9999999999" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len({s["seriesLabels"]["job"] for s in d["data"]}))' 2>/dev/null)
  [ "${n:-0}" -ge 1 ] && [ "${ex:-0}" -ge 6 ] && { ready=1; break; }
  sleep 0.2
done
echo "Prometheus ready with exemplars after $(( $(date +%s) - t_prom )) s"
[ $ready = 1 ] || { echo "Prometheus did not collect exemplars in time"; tail -5 "$TMP/prometheus.log"; echo "0 passed, 1 failed"; exit 1; }

stack() { # case [loki-port]
  local c=$1 port=${PORT[$1]}
  local lport=${2:-$port}
  cat <<EOF
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: $c, namespace: shop}
spec:
  metrics:  {url: "http://127.0.0.1:$PPORT", flavor: Prometheus, uid: metrics}
  traces:   {url: "http://127.0.0.1:$port", tenant: team-a, uid: traces}
  logs:     {url: "http://127.0.0.1:$lport", tenant: team-a, uid: logs}
  profiles: {url: "http://127.0.0.1:$port", tenant: team-a, uid: profiles}
  correlation:
    requestMetric: $(metric_of "$c")
    extraTags: [{attribute: k8s.namespace.name, label: k8s_namespace_name}]
  verify: {timeout: 3s}
EOF
}

run_case() { # case → $out, $rc
  local c=$1
  if [ "$c" = tenant-mismatch ]; then stack "$c" "${PORT[loki-b]}"; else stack "$c"; fi >"$TMP/$c.yaml"
  out=$("$CROSSLINK" probe --links -f "$TMP/$c.yaml" 2>"$TMP/$c.err"); rc=$?
}
result_of() { # link-name → result column of $out
  local line
  line=$(grep -F -- "$1 " <<<"$out" | grep -v '^note:' | head -1)
  line=${line#"$1"}
  awk '{ print $1 }' <<<"$line"
}
expect() { # case link result [message-substring]
  local c=$1 l=$2 want=$3 msg=${4:-}
  local got; got=$(result_of "$l")
  if [ "$got" = "$want" ] && { [ -z "$msg" ] || grep -F -- "$msg" <<<"$out" | grep -qF -- "$l"; }; then
    ok "$c: $l $want${msg:+ ($msg)}"
  else
    fail "$c: $l: want $want${msg:+ with \"$msg\"}, got '${got}'"; echo "$out"; cat "$TMP/$c.err"
  fi
}
expect_rc() { [ "$rc" = "$2" ] && ok "$1: exit $2" || { fail "$1: exit $rc, want $2"; echo "$out"; }; }
no_leak() { # no log line text and no trace span name in any output
  if grep -qE 'charged card|order stored|chargeCard|POST /checkout' <<<"$out$(cat "$TMP/$1.err")"; then
    fail "$1: output quotes log lines or span contents"; echo "$out"
  else
    ok "$1: no log line / span content in the output"
  fi
}

t_start=$(date +%s)
run_case consistent
for l in "metrics→traces" "traces→logs" "traces→metrics" "traces→profiles" "logs→traces" "service map"; do
  expect consistent "$l" Verified
done
expect consistent "metrics→traces" Verified 'trace_id="4bf92f3577b34da6a3ce929d0e0e4736"'
expect_rc consistent 0
no_leak consistent

run_case otlp
expect otlp "traces→logs" Verified
expect otlp "logs→traces" Verified "derived field TraceID takes trace 4bf92f3577b34da6a3ce929d0e0e4736"
expect_rc otlp 0
no_leak otlp

run_case app-label
expect app-label "traces→logs" Broken 'no Loki stream has service_name="checkout"; streams of that window have app="checkout"'
expect app-label "metrics→traces" Verified
expect_rc app-label 1

run_case no-exemplars
expect no-exemplars "metrics→traces" NoData "no exemplars of"
expect no-exemplars "traces→logs" Verified
expect_rc no-exemplars 0
grep -q '^note: 1 link had no data to follow' <<<"$out" && ok "no-exemplars: NoData note" || { fail "no-exemplars: no NoData note"; echo "$out"; }

run_case missing-trace
expect missing-trace "metrics→traces" Broken 'exemplar trace_id="0af7651916cd43dd8448eb211c80319c"'
grep -q 'Tempo does not have (404)' <<<"$out" && ok "missing-trace: says Tempo has no such trace" || fail "missing-trace: message"
expect missing-trace "traces→logs" Verified
expect_rc missing-trace 1

run_case no-profiles
expect no-profiles "traces→profiles" Broken "carries pyroscope.profile.id"
expect no-profiles "traces→logs" Verified
expect_rc no-profiles 1

run_case tenant-mismatch
expect tenant-mismatch "traces→logs" Broken 'Loki answered 401'
grep -q 'tenant "team-a"' <<<"$out" && ok "tenant-mismatch: names the tenant sent" || fail "tenant-mismatch: tenant not named"
expect tenant-mismatch "logs→traces" Broken 'Loki answered 401'
expect tenant-mismatch "metrics→traces" Verified
expect_rc tenant-mismatch 1

# JSON output
out=$("$CROSSLINK" probe --links -f "$TMP/app-label.yaml" -o json 2>/dev/null); rc=$?
if [ $rc = 1 ] && python3 - "$out" <<'PY'
import json, sys
rows = json.loads(sys.argv[1])
by = {r["id"]: r for r in rows}
assert by["traces_logs"]["result"] == "Broken", by
assert 'app="checkout"' in by["traces_logs"]["message"], by
assert by["metrics_traces"]["result"] == "Verified", by
assert all(r["stack"] == "app-label" for r in rows)
PY
then ok "JSON output (-o json), exit 1"; else fail "JSON output: rc=$rc"; echo "$out"; fi

t_end=$(date +%s)
echo "cases ran in $((t_end - t_start)) s"
echo "$passed passed, $fails failed"
[ $fails -eq 0 ]
