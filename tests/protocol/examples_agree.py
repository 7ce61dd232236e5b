#!/usr/bin/env python3
"""Every server message PROTOCOL.md shows must match its schema.

Reads the examples in protocol/PROTOCOL.md (the lines of its ```json blocks
and the `x ← {...}` lines of its flows), and validates each one whose `type`
is a server message (protocol/schema/server/TYPE.schema.json) with
python3-jsonschema (JSON Schema 2020-12). A changed field in the code, the
schema and the document together is what this keeps honest.

Usage: examples_agree.py REPO_ROOT. Exit 0 when all agree, 1 when not, 77
(skipped) without python3-jsonschema.
"""
import glob
import json
import os
import re
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: skipped")
    sys.exit(77)


def main():
    root = sys.argv[1]
    schemas = {}
    for path in glob.glob(os.path.join(root, "protocol/schema/server/*.schema.json")):
        with open(path, encoding="utf-8") as f:
            name = os.path.basename(path)[: -len(".schema.json")]
            schemas[name] = jsonschema.Draft202012Validator(json.load(f))
    with open(os.path.join(root, "protocol/PROTOCOL.md"), encoding="utf-8") as f:
        text = f.read()
    lines = [l for block in re.findall(r"```json\n(.*?)```", text, re.S) for l in block.split("\n")]
    lines += re.findall(r"← (\{.*\})", text)
    checked, failures, seen = 0, 0, set()
    for line in lines:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind not in schemas:
            continue
        checked += 1
        seen.add(kind)
        errs = list(schemas[kind].iter_errors(msg))
        if errs:
            failures += 1
            print(f"FAIL {kind}: {errs[0].message[:200]}\n  in {line[:200]}")
    print(f"{checked} examples of {len(seen)} server messages checked, {failures} do not match")
    missing = sorted(set(schemas) - seen)
    if missing:
        print("no example in PROTOCOL.md for: " + ", ".join(missing))
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
