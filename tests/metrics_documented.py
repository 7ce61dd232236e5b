#!/usr/bin/env python3
"""Every metric the server exports (a "chainquiz_..." name in
server/net/http.c) has a row in docs/deploy.md's metrics table, and every
row there names a metric the server exports. Usage: metrics_documented.py ROOT"""
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
src = open(root + "/server/net/http.c", encoding="utf-8").read()
doc = open(root + "/docs/deploy.md", encoding="utf-8").read()
exported = set(re.findall(r'"(chainquiz_[a-z_]+)"', src))
rows = set(re.findall(r"^\| `(chainquiz_[a-z_]+)(?:\{[^`]*\})?` \|", doc, re.M))
bad = sorted("exported, no row in docs/deploy.md: " + n for n in exported - rows)
bad += sorted("a row in docs/deploy.md, not exported: " + n for n in rows - exported)
for b in bad:
    print(b)
print("metrics_documented: %d exported, %d documented, %d problems" % (len(exported), len(rows), len(bad)))
sys.exit(1 if bad else 0)
