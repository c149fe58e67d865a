#!/usr/bin/env bash
# it_crd.sh — the CRD on a real kube-apiserver (tests/cluster): it installs
# and becomes Established; the examples are accepted and defaulted; invalid
# stacks (no signal, duplicate UID, default-UID collision, two defaults, bad
# URL, sub-millisecond durations, regex label matchers, missing url, org 0)
# are rejected with the CEL/schema message; the status subresource and
# printer columns work; what the apiserver stores renders to the same
# ConfigMaps as the file, and those ConfigMaps pass a server-side dry run.
# Needs KUBECONFIG (fails without it) and $CROSSLINK. Uses its own namespace
# and deletes it; the CRD itself is left installed (other tests need it).
set -u
: "${KUBECONFIG:?KUBECONFIG must be set (tests/cluster/up prints it)}"
CROSSLINK=${CROSSLINK:?CROSSLINK must point at the built binary}
cd "$(dirname "$0")/../.."
K() { timeout 60 kubectl --request-timeout=30s "$@"; }
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

K get --raw /readyz >/dev/null || { echo "FAIL apiserver not reachable via $KUBECONFIG"; exit 1; }
ns="xl-crd-$$-$RANDOM"
tmp=$(mktemp -d)
cleanup() {
    K delete namespace "$ns" --wait=false >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

if K apply -f crds/crosslink.dev_observabilitystacks.yaml >/dev/null &&
    K wait --for=condition=Established crd/observabilitystacks.crosslink.dev --timeout=30s >/dev/null; then
    pass crd_established
else
    fail crd_established
    exit 1
fi
K create namespace "$ns" >/dev/null || { echo "FAIL create namespace"; exit 1; }

sed "s/namespace: observability/namespace: $ns/" examples/stack.yaml >"$tmp/stack.yaml"
if K apply -f "$tmp/stack.yaml" >/dev/null && K apply -n "$ns" -f examples/minimal.yaml >/dev/null; then
    pass examples_accepted
else
    fail examples_accepted
fi

# defaults from the schema
si=$(K get ostack minimal -n "$ns" -o 'jsonpath={.spec.metrics.scrapeInterval}|{.spec.logs.maxLines}|{.spec.metrics.enabled}')
[ "$si" = "15s|1000|true" ] && pass schema_defaults || { fail schema_defaults; echo "  got $si"; }

# short names and category
if K get ostacks -n "$ns" -o name | grep -q "observabilitystack.crosslink.dev/prod" &&
    K get observability -n "$ns" -o name | grep -q minimal; then
    pass short_names_category
else
    fail short_names_category
fi

# kubectl explain shows our descriptions
K explain ostack.spec.correlation.requestMetric 2>/dev/null | grep -q "Request-duration histogram" &&
    pass explain || fail explain

# invalid stacks are rejected with the rule's message
reject() { # name, expected message, yaml
    local name=$1 want=$2
    printf '%s\n' "$3" >"$tmp/$name.yaml"
    if K apply -n "$ns" -f "$tmp/$name.yaml" >"$tmp/out" 2>&1; then
        fail "reject_$name"; echo "  accepted"
    elif grep -qF -- "$want" "$tmp/out"; then
        pass "reject_$name"
    else
        fail "reject_$name"; cat "$tmp/out"
    fi
}
H='apiVersion: crosslink.dev/v1alpha1
kind: ObservabilityStack'
reject no_signal "at least one of metrics, traces, logs, profiles must be set" "$H
metadata: {name: nosig}
spec: {grafana: {folder: x}}"
reject duplicate_uid "data source UIDs must be unique within the stack" "$H
metadata: {name: dup}
spec: {metrics: {url: 'http://m', uid: x}, logs: {url: 'http://l', uid: x}}"
reject default_uid_collision "data source UIDs must be unique within the stack" "$H
metadata: {name: dd}
spec: {metrics: {url: 'http://m', uid: dd-logs}, logs: {url: 'http://l'}}"
reject two_defaults "at most one data source may be the default" "$H
metadata: {name: twodef}
spec: {metrics: {url: 'http://m', default: true}, logs: {url: 'http://l', default: true}}"
reject bad_url "spec.logs.url" "$H
metadata: {name: badurl}
spec: {logs: {url: 'ftp://l'}}"
reject auth_exclusive "set at most one of basic and bearerTokenSecretRef" "$H
metadata: {name: auth}
spec: {logs: {url: 'http://l', auth: {basic: {username: u, passwordSecretRef: {name: s, key: k}}, bearerTokenSecretRef: {name: s, key: t}}}}"
reject timeout_gt_interval "timeout must not exceed interval" "$H
metadata: {name: verify}
spec: {logs: {url: 'http://l'}, verify: {interval: 10s, timeout: 20s}}"
reject sub_millisecond "spec.metrics.scrapeInterval" "$H
metadata: {name: submilli}
spec: {metrics: {url: 'http://m', scrapeInterval: 500us}}"
reject sub_millisecond_fraction "spec.correlation.timeShift.before" "$H
metadata: {name: submilli2}
spec: {logs: {url: 'http://l'}, correlation: {timeShift: {before: 1.0005s}}}"
reject label_matcher_regex "matcherRegex must be a plain label name" "$H
metadata: {name: labelre}
spec: {logs: {url: 'http://l', traceIdFields: [{name: t, matcherType: label, matcherRegex: '^trace_id\$'}]}}"
reject url_required "url is required unless enabled is false" "$H
metadata: {name: nourl}
spec: {logs: {}}"
reject org_zero "spec.grafana.orgId" "$H
metadata: {name: org0}
spec: {logs: {url: 'http://l'}, grafana: {orgId: 0}}"
# accepted: whole-millisecond multi-unit durations, a disabled signal without
# a url, a 63-character name (default UIDs are shortened to fit), new fields
cat >"$tmp/accept.yaml" <<EOF2
$H
metadata: {name: a-very-long-stack-name-that-uses-all-sixty-three-characters-ok}
spec:
  metrics: {url: 'http://m', scrapeInterval: 1m30s}
  traces: {url: 'http://t', traceQueryTimeShift: {before: 1h, after: 1.5h}}
  profiles: {enabled: false}
  correlation: {histograms: native, timeShift: {before: 1.5m, after: '0'}}
  grafana: {orgId: 2, prune: true}
EOF2
if K apply -n "$ns" -f "$tmp/accept.yaml" >"$tmp/out" 2>&1 &&
    K get ostack -n "$ns" a-very-long-stack-name-that-uses-all-sixty-three-characters-ok -o yaml >"$tmp/acc.yaml" &&
    "$CROSSLINK" render -f "$tmp/acc.yaml" >/dev/null; then
    pass grafana_fields_accepted
else
    fail grafana_fields_accepted; cat "$tmp/out"
fi

# status subresource + printer columns
cat >"$tmp/status.json" <<'EOF'
{"status": {"observedGeneration": 1, "configMaps": ["minimal-grafana-datasources", "minimal-grafana-dashboards"],
  "renderedDigest": "sha256:00", "signals": [{"signal": "metrics", "uid": "minimal-metrics", "reachable": true, "version": "2.14.0"}],
  "conditions": [
   {"type": "Ready", "status": "True", "reason": "Ready", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
   {"type": "MetricsReachable", "status": "True", "reason": "Reachable", "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"},
   {"type": "LogsReachable", "status": "False", "reason": "ConnectionRefused", "message": "refused", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
EOF
if K patch ostack minimal -n "$ns" --subresource=status --type=merge --patch-file "$tmp/status.json" >/dev/null &&
    # empty columns (Traces, Profiles) collapse: $2 Ready, $3 Metrics, $4 Logs
    K get ostack minimal -n "$ns" --no-headers | awk '{exit !($2=="True" && $3=="True" && $4=="False")}'; then
    pass status_and_columns
else
    fail status_and_columns; K get ostack minimal -n "$ns"
fi
# status on the main resource is ignored (status subresource)
gen=$(K get ostack minimal -n "$ns" -o jsonpath='{.metadata.generation}')
[ "$gen" = "1" ] && pass generation_unchanged_by_status || fail generation_unchanged_by_status

# what the apiserver stores (with defaults) renders exactly like the file
K get ostack prod -n "$ns" -o yaml >"$tmp/stored.yaml"
if "$CROSSLINK" render -f "$tmp/stored.yaml" >"$tmp/r1.yaml" && "$CROSSLINK" render -f "$tmp/stack.yaml" >"$tmp/r2.yaml" &&
    cmp -s "$tmp/r1.yaml" "$tmp/r2.yaml"; then
    pass stored_object_renders_identically
else
    fail stored_object_renders_identically; diff "$tmp/r1.yaml" "$tmp/r2.yaml" | head -20
fi
if K apply --dry-run=server -f "$tmp/r2.yaml" >/dev/null; then
    pass rendered_configmaps_accepted
else
    fail rendered_configmaps_accepted
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
