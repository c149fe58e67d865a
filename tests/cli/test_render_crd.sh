#!/usr/bin/env bash
# test_render_crd.sh — static checks of crds/ (no cluster): the committed CRD
# is what crds/generate.py produces, it stays well under the 256 KiB object
# limit, and it is a structural schema (every property typed, descriptions
# everywhere) with the names, columns and subresource the design asks for.
set -u
cd "$(dirname "$0")/../.."
crd=crds/crosslink.dev_observabilitystacks.yaml
fails=0
if python3 -c 'import yaml' 2>/dev/null; then
    python3 crds/generate.py --check && echo "ok   generated_crd_in_sync" || { echo "FAIL generated_crd_in_sync"; fails=1; }
else
    echo "FAIL PyYAML (python3-yaml) is required to check crds/generate.py"; fails=1
fi
size=$(wc -c <"$crd")
[ "$size" -lt 131072 ] && echo "ok   size $size" || { echo "FAIL size $size"; fails=1; }
python3 - "$crd" <<'PY' || fails=1
import sys, yaml
crd = yaml.safe_load(open(sys.argv[1]))
s = crd["spec"]
assert s["group"] == "crosslink.dev" and s["scope"] == "Namespaced"
assert s["names"]["shortNames"] == ["ostack", "ostacks"] and s["names"]["categories"] == ["observability"]
v = s["versions"][0]
assert v["name"] == "v1alpha1" and v["storage"] and v["subresources"] == {"status": {}}
cols = [c["name"] for c in v["additionalPrinterColumns"]]
for want in ["Ready", "Metrics", "Traces", "Logs", "Profiles", "Age"]:
    assert want in cols, cols
root = v["schema"]["openAPIV3Schema"]
problems = []
def walk(node, path):
    if "x-kubernetes-preserve-unknown-fields" in node or "x-kubernetes-int-or-string" in node:
        problems.append(path + ": untyped subtree")
    if "type" not in node:
        problems.append(path + ": no type")
    if path.startswith(".spec") and not node.get("description") and not path.endswith("[]") and "additionalProperties" not in path:
        problems.append(path + ": no description")
    if node.get("type") == "string" and path.startswith(".spec") and "maxLength" not in node and "enum" not in node:
        problems.append(path + ": string without maxLength (CEL cost)")
    if node.get("type") == "array" and "maxItems" not in node:
        problems.append(path + ": array without maxItems")
    for k, c in (node.get("properties") or {}).items():
        walk(c, path + "." + k)
    if "items" in node:
        walk(node["items"], path + "[]")
    if isinstance(node.get("additionalProperties"), dict):
        walk(node["additionalProperties"], path + ".additionalProperties")
for k in ("spec", "status"):
    walk(root["properties"][k], "." + k)
st = root["properties"]["status"]["properties"]
assert st["conditions"]["x-kubernetes-list-type"] == "map" and st["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
for f in ("observedGeneration", "configMaps", "renderedDigest", "signals"):
    assert f in st, f
assert set(st["signals"]["items"]["properties"]) >= {"signal", "uid", "reachable", "version", "message"}
rules = [r["rule"] for r in root["x-kubernetes-validations"] + root["properties"]["spec"]["x-kubernetes-validations"]]
assert any("has(self.metrics) || has(self.traces)" in r for r in rules)
assert any("self.metadata.name + '-metrics'" in r for r in rules)
if problems:
    print("FAIL structural:\n  " + "\n  ".join(problems)); sys.exit(1)
print("ok   structural_schema")
PY
exit $fails
