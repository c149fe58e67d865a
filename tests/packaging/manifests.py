#!/usr/bin/env python3
"""manifests.py — small queries over a multi-document YAML stream (stdin),
used by the packaging tests so they need neither jq nor yq.

  manifests.py kinds                      "Kind namespace/name" per object, sorted
  manifests.py rules KIND NAME [NS]       the object's RBAC rules, one
                                          "group resource verb" per line, sorted
  manifests.py images                     every container image, one per line
  manifests.py check-deployment NAME      hardening checks of the Deployment
                                          (prints one "FAIL ..." line per problem)
  manifests.py get KIND NAME PATH         a value by dotted path (lists by index)
"""
import sys

import yaml


def docs():
    return [d for d in yaml.safe_load_all(sys.stdin) if d]


def find(objs, kind, name, ns=None):
    for o in objs:
        md = o.get("metadata", {})
        if o.get("kind") == kind and md.get("name") == name and (ns is None or md.get("namespace") == ns):
            return o
    raise SystemExit("manifests.py: no %s %s%s" % (kind, (ns + "/") if ns else "", name))


def rules(obj):
    out = set()
    for r in obj.get("rules") or []:
        for g in r.get("apiGroups") or [""]:
            for res in r.get("resources") or []:
                for v in r.get("verbs") or []:
                    out.add("%s %s %s" % (g or "core", res, v))
    return sorted(out)


def containers(o):
    spec = o.get("spec", {})
    tmpl = spec.get("template", {}).get("spec", {})
    return (tmpl.get("containers") or []) + (tmpl.get("initContainers") or [])


def check_deployment(d):
    problems = []
    spec = d["spec"]
    pod = spec["template"]["spec"]
    psc = pod.get("securityContext") or {}
    if not psc.get("runAsNonRoot"):
        problems.append("pod securityContext.runAsNonRoot is not true")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile is not RuntimeDefault")
    if not pod.get("serviceAccountName"):
        problems.append("no serviceAccountName")
    cs = pod.get("containers") or []
    if len(cs) != 1:
        problems.append("want exactly 1 container, got %d" % len(cs))
    for c in cs:
        sc = c.get("securityContext") or {}
        n = c.get("name")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append("%s: readOnlyRootFilesystem is not true" % n)
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append("%s: allowPrivilegeEscalation is not false" % n)
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            problems.append("%s: capabilities.drop is not [ALL]" % n)
        if sc.get("runAsNonRoot") is not True:
            problems.append("%s: runAsNonRoot is not true" % n)
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append("%s: seccompProfile is not RuntimeDefault" % n)
        res = c.get("resources") or {}
        for part, keys in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
            for k in keys:
                if not (res.get(part) or {}).get(k):
                    problems.append("%s: resources.%s.%s is empty" % (n, part, k))
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            hg = (c.get(probe) or {}).get("httpGet") or {}
            if hg.get("path") != path:
                problems.append("%s: %s path is %r, want %s" % (n, probe, hg.get("path"), path))
            if hg.get("port") not in ("health", ports.get("health")):
                problems.append("%s: %s does not use the health port" % (n, probe))
        args = c.get("args") or []
        if not args or args[0] != "controller":
            problems.append("%s: args do not start with 'controller': %r" % (n, args))
        env = {e.get("name"): e for e in c.get("env") or []}
        for var, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
            if ((env.get(var) or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") != field:
                problems.append("%s: env %s is not the downward API %s" % (n, var, field))
    return problems


def get(obj, path):
    cur = obj
    for part in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(part)]
        else:
            cur = cur.get(part)
        if cur is None:
            return ""
    if isinstance(cur, (dict, list)):
        return yaml.safe_dump(cur, default_flow_style=True).strip()
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    objs = docs()
    if cmd == "kinds":
        for line in sorted("%s %s%s" % (o["kind"], (o["metadata"].get("namespace") + "/") if o["metadata"].get("namespace") else "", o["metadata"]["name"]) for o in objs):
            print(line)
    elif cmd == "rules":
        for line in rules(find(objs, argv[2], argv[3], argv[4] if len(argv) > 4 else None)):
            print(line)
    elif cmd == "images":
        for o in objs:
            for c in containers(o):
                print(c.get("image"))
    elif cmd == "check-deployment":
        for p in check_deployment(find(objs, "Deployment", argv[2])):
            print("FAIL " + p)
    elif cmd == "get":
        print(get(find(objs, argv[2], argv[3]), argv[4]))
    else:
        raise SystemExit("manifests.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
