#!/usr/bin/env bash
# it_controller_links.sh — condition LinksVerified on the real control plane
# (issue #13): Debian's REAL Prometheus (--enable-feature=exemplar-storage)
# scrapes a stand-in (tests/standins/standin.py --kind all --links-case …)
# whose OpenMetrics histogram buckets carry exemplars; the same stand-in is
# Tempo, Loki and Pyroscope. A stack (spec.verify.interval 5s) whose data is
# consistent turns LinksVerified=True while Ready stays True; nothing changes
# → no status write for several intervals (rest_client_requests_total
# non-GET, as the other it_controller tests count) and link rounds stay at
# about one per interval (Loki query_range requests counted in the stand-in);
# then the stand-in is restarted on the same port with the `app-label` case
# (Loki streams labelled app instead of service_name): LinksVerified turns
# False naming traces→logs and the label the data does have, within one
# interval (+ the round itself), with a LinksBroken Event, and Ready stays
# True (LinksVerified is informational). Also checks
# crosslink_link_checks_total{link,result}.
#
# Can fail: with the LinksVerified condition not passed to the status
# (reconcile.c step_conditions: `in.links = NULL;`) the first check goes red
# ("LinksVerified=True" times out after 40 s) and so do the LinksVerified
# reason, the app-label checks and the "within one interval" bound (tried:
# 6 FAIL, 6 ok — the metric and Ready checks stay green). With an ASan build
# (CROSSLINK=build-asan/controller/crosslink) the summary also fails on any
# sanitizer report of the link-check threads.
# Needs KUBECONFIG, CROSSLINK and prometheus; runtime ~40-60 s.
source "$(dirname -- "${BASH_SOURCE[0]}")/ctl_lib.sh"
trap 'kill "${PROM_PID:-}" 2>/dev/null; cleanup' EXIT

PROM=$(command -v prometheus || true)
[[ -n $PROM ]] || die_setup "prometheus not installed (tests/install-deps installs it)"
require_cluster
new_namespace xl-it-links

METRIC=http_server_request_duration_seconds
start_standin data --kind all --tenant team-a --links-case consistent --request-metric "$METRIC"
PPORT=$(free_port)
cat >"$CTL_TMP/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: data
  static_configs: [{targets: ['127.0.0.1:$PORT_data']}]
EOF
"$PROM" --config.file="$CTL_TMP/prometheus.yml" --storage.tsdb.path="$CTL_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --enable-feature=exemplar-storage >"$CTL_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
exemplars() {
	local n
	n=$(curl -sf --noproxy '*' "http://127.0.0.1:$PPORT/api/v1/query_exemplars?query=%7B__name__%3D~%22http_.%2A%22%7D&start=0&end=9999999999" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))' 2>/dev/null)
	[[ ${n:-0} -ge 1 ]]
}
poll 40 exemplars || die_setup "Prometheus did not collect exemplars (log: $(tail -3 "$CTL_TMP/prometheus.log"))"

start_ctl a --namespaces "$NS"
wait_ready "$PORT_a" 30 || die_setup "controller not ready (log: $(tail -5 "$CTL_TMP/a.log"))"

kubectl apply -f - >/dev/null <<YML || die_setup "cannot create the stack"
apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack
metadata: {name: shop, namespace: $NS}
spec:
  metrics:  {url: "http://127.0.0.1:$PPORT", flavor: Prometheus, uid: metrics}
  traces:   {url: "http://127.0.0.1:$PORT_data", tenant: team-a, uid: traces}
  logs:     {url: "http://127.0.0.1:$PORT_data", tenant: team-a, uid: logs}
  profiles: {url: "http://127.0.0.1:$PORT_data", tenant: team-a, uid: profiles}
  correlation:
    requestMetric: $METRIC
    extraTags: [{attribute: k8s.namespace.name, label: k8s_namespace_name}]
  verify: {interval: 5s, timeout: 3s}
YML

t0=$SECONDS
check "consistent data: LinksVerified=True" poll 40 cond_is shop LinksVerified status True
echo "     (after $((SECONDS - t0)) s)"
check "LinksVerified reason LinksVerified" cond_is shop LinksVerified reason LinksVerified
check "Ready=True beside it" cond_is shop Ready status True
checks_ok() { [[ $(metric_value "$PORT_a" '^crosslink_link_checks_total\{link="traces_logs",result="Verified"\}') -ge 1 ]]; }
check "crosslink_link_checks_total{link=traces_logs,result=Verified} >= 1" checks_ok

# nothing changes: no write over 3 intervals, about one round per interval
sleep 2
count() { curl -sf --noproxy '*' "http://127.0.0.1:$PORT_data/__count" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"].get("GET /loki/api/v1/query_range", 0))'; }
curl -sf --noproxy '*' -X POST "http://127.0.0.1:$PORT_data/__reset" >/dev/null
w1=$(writes "$PORT_a")
sleep 15
w2=$(writes "$PORT_a")
lq=$(count)
check "unchanged data: no write in 15 s ($w1 → $w2)" same_count "$w1" "$w2"
check "links re-checked periodically but not more: $lq Loki query_range in 15 s (rounds every 5 s)" \
	test "${lq:-0}" -ge 2 -a "${lq:-99}" -le 12

# break the data: the same stand-in port now holds Loki streams labelled app
kill "${STANDIN_PIDS[0]}" 2>/dev/null
wait "${STANDIN_PIDS[0]}" 2>/dev/null
python3 "$(dirname -- "${BASH_SOURCE[0]}")/../standins/standin.py" --port "$PORT_data" --port-file "$CTL_TMP/data2.port" \
	--kind all --tenant team-a --links-case app-label --request-metric "$METRIC" >"$CTL_TMP/standin-data2.log" 2>&1 &
STANDIN_PIDS+=($!)
t1=$SECONDS
broken() {
	[[ $(cond shop LinksVerified status) == False && $(cond shop LinksVerified message) == *'traces→logs: no Loki stream has service_name="checkout"; streams of that window have app="checkout"'* ]]
}
check "app-label data: LinksVerified=False naming traces→logs and the label the data has" poll 30 broken
dt=$((SECONDS - t1))
check "turned False within one interval + the round ($dt s <= 12 s)" test "$dt" -le 12
check "LinksVerified reason LinksBroken" cond_is shop LinksVerified reason LinksBroken
check "Ready stays True (LinksVerified is informational)" cond_is shop Ready status True
ev() { kubectl -n "$NS" get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' 2>/dev/null | grep -qx LinksBroken; }
check "a LinksBroken Event was sent" poll 10 ev
broken_ok() { [[ $(metric_value "$PORT_a" '^crosslink_link_checks_total\{link="traces_logs",result="Broken"\}') -ge 1 ]]; }
check "crosslink_link_checks_total{link=traces_logs,result=Broken} >= 1" broken_ok

summary
