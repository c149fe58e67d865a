#!/usr/bin/env python3
"""bundle.py — turns rendered ConfigMap streams (crosslink render output,
golden expected.yaml files, the known-bad fixtures) into one JSON document
for check.js: per file, every ConfigMap with its labels and each data key
both as text and parsed (YAML data-source/provider files with PyYAML's
YAML 1.1 rules, which read booleans like Go's yaml.v2 that Grafana's
provisioning uses; .json keys with json). A key that does not parse is kept
with "error" so the checker can report it. Usage: bundle.py FILE...
"""
import json
import sys

import yaml


def main():
    out = []
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        expect = []
        for line in text.splitlines():
            if line.startswith("# expect:"):
                expect += line.split(":", 1)[1].split()
        cms = []
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
                continue
            md = doc.get("metadata") or {}
            data = {}
            for key, val in (doc.get("data") or {}).items():
                ent = {"text": val}
                try:
                    if key.endswith(".json"):
                        ent["parsed"] = json.loads(val)
                    elif key.endswith((".yaml", ".yml")):
                        ent["parsed"] = yaml.safe_load(val)
                except Exception as e:  # reported by check.js
                    ent["error"] = str(e)
                data[key] = ent
            cms.append({"name": md.get("name"), "namespace": md.get("namespace"),
                        "labels": md.get("labels") or {}, "data": data})
        out.append({"path": path, "expect": expect, "configmaps": cms})
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
