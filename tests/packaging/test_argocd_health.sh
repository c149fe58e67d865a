#!/usr/bin/env bash
# test_argocd_health.sh — runs deploy/argocd/health.lua with Debian's lua5.1
# against every sample in tests/packaging/samples (expected results in
# samples/expected.txt, shared with the kstatus Go test), and checks that the
# argocd-cm snippet carries exactly that script. No cluster needed.
set -uo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
here=$root/tests/packaging
script=$root/deploy/argocd/health.lua
LUA=${LUA:-lua5.1}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

command -v "$LUA" >/dev/null || { echo "FAIL $LUA not found (apt-get install lua5.1)"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

while read -r file _kstatus want; do
	[[ -z $file || $file == \#* ]] && continue
	if ! python3 "$here/yaml2lua.py" "$here/samples/$file" >"$tmp/obj.lua"; then
		bad "$file: cannot convert to Lua"
		continue
	fi
	if ! out=$("$LUA" "$here/run_health.lua" "$script" "$tmp/obj.lua" 2>&1); then
		bad "$file: script error: $out"
		continue
	fi
	got=${out%%$'\t'*}
	msg=${out#*$'\t'}
	if [[ $got == "$want" && -n $msg && $msg != nil ]]; then
		ok "$file -> $got ($msg)"
	else
		bad "$file -> '$got' ('$msg'), want $want with a message"
	fi
done <"$here/samples/expected.txt"

# The Stalled message names the offending field, so the Argo CD UI shows it.
python3 "$here/yaml2lua.py" "$here/samples/stalled.yaml" >"$tmp/obj.lua"
out=$("$LUA" "$here/run_health.lua" "$script" "$tmp/obj.lua" 2>&1)
if [[ $out == *"spec.logs.url"* ]]; then ok "stalled message names the field"; else bad "stalled message: $out"; fi

# The sandbox really is restrictive: a script using the string library fails.
printf 'return { status = string.upper("healthy") }\n' >"$tmp/bad.lua"
if "$LUA" "$here/run_health.lua" "$tmp/bad.lua" "$tmp/obj.lua" >/dev/null 2>&1; then
	bad "sandbox allowed the string library"
else
	ok "sandbox rejects libraries Argo CD does not open"
fi

# argocd-cm.yaml must install exactly health.lua under the right key.
if python3 - "$root/deploy/argocd/argocd-cm.yaml" "$script" <<'PY'; then
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
key = "resource.customizations.health.crosslink.dev_ObservabilityStack"
assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "argocd-cm", "not argocd-cm"
assert cm["data"][key] == open(sys.argv[2], encoding="utf-8").read(), "script differs from health.lua"
PY
	ok "argocd-cm.yaml carries health.lua verbatim"
else
	bad "argocd-cm.yaml does not carry health.lua verbatim"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
