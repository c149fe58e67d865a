#!/usr/bin/env python3
"""yaml2lua.py FILE: print the YAML document in FILE as a Lua table literal
(used by test_argocd_health.sh to hand sample objects to lua5.1 the way Argo
CD hands the live object to a health script: JSON types, nulls dropped)."""
import datetime
import sys

import yaml


def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        # unquoted YAML timestamps; the API server sends RFC 3339 strings
        v = v.isoformat().replace("+00:00", "Z")
    if isinstance(v, str):
        out = []
        for ch in v:
            o = ord(ch)
            if ch in '"\\':
                out.append("\\" + ch)
            elif o < 32 or o == 127:
                out.append("\\%03d" % o)
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua(x) for x in v if x is not None) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (lua(str(k)), lua(x))
                               for k, x in v.items() if x is not None) + "}"
    raise SystemExit("yaml2lua: unsupported value %r" % (v,))


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: yaml2lua.py FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    print("return " + lua(doc))


if __name__ == "__main__":
    main()
