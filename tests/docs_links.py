#!/usr/bin/env python3
"""Every relative link and image in the project's Markdown points at a file
that is in the repository, and every #anchor at a heading of that file.

Usage: tests/docs_links.py SOURCE_DIR. Exits 1 and names each broken link.
(A guide once showed four pictures that had never been committed.)"""
import os
import re
import subprocess
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."


def listing():
    """The repository's files: git's list, or the tree (a tarball has no .git)."""
    try:
        return subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True,
                              check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in ("node_modules", ".git", "artifacts")
                       and not x.startswith("build")]
            out += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return out


tracked = set(listing())
files = sorted(f for f in tracked if f.endswith(".md"))
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def anchors(path):
    """GitHub's heading slugs: lower case, punctuation dropped, spaces to -."""
    out = set()
    seen = {}
    in_code = False
    for line in open(os.path.join(root, path), encoding="utf-8"):
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip()
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


bad = []
for md in files:
    if "node_modules" in md:
        continue
    in_code = False
    for no, line in enumerate(open(os.path.join(root, md), encoding="utf-8"), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for target in link.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, frag = target.partition("#")
            dest = md if not path else os.path.normpath(os.path.join(os.path.dirname(md), path))
            if path and dest not in tracked and not any(t.startswith(dest + "/") for t in tracked):
                bad.append("%s:%d: %s: no such file in the repository" % (md, no, target))
                continue
            if frag and dest.endswith(".md") and frag not in anchors(dest):
                bad.append("%s:%d: %s: no heading #%s in %s" % (md, no, target, frag, dest))
for b in bad:
    print(b)
print("docs_links: %d Markdown files, %d broken links" % (len(files), len(bad)))
sys.exit(1 if bad else 0)
