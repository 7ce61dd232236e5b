#!/usr/bin/env python3
"""Every server message the tests received must match its schema.

The test WebSocket client (tests/support/wsclient.c) and the browser tests
(tests/browser/harness.mjs) append each text message they receive to
$CQ_WIRE_LOG_DIR/*.jsonl, one per line. Run by ctest after the other tests
(the fixture `wire_log`), this validates every line against
protocol/schema/server/TYPE.schema.json (JSON Schema 2020-12,
python3-jsonschema): a message that is not JSON, has no known `type` or does
not match fails the test. Identical messages are validated once.

Usage: messages_agree.py REPO_ROOT LOG_DIR
"""
import glob
import json
import os
import sys

import jsonschema


def main():
    root, log_dir = sys.argv[1], sys.argv[2]
    schemas = {}
    for path in glob.glob(os.path.join(root, "protocol/schema/server/*.schema.json")):
        with open(path, encoding="utf-8") as f:
            name = os.path.basename(path)[: -len(".schema.json")]
            schemas[name] = jsonschema.Draft202012Validator(json.load(f))
    counts, failures, done = {}, [], set()
    files = sorted(glob.glob(os.path.join(log_dir, "*.jsonl")))
    total = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                total += 1
                if line in done:
                    continue
                done.add(line)
                try:
                    msg = json.loads(line)
                except ValueError as e:
                    failures.append(f"not JSON ({e}): {line[:200]}")
                    continue
                kind = msg.get("type") if isinstance(msg, dict) else None
                if kind not in schemas:
                    failures.append(f"no schema for type {kind!r}: {line[:200]}")
                    continue
                counts[kind] = counts.get(kind, 0) + 1
                errs = list(schemas[kind].iter_errors(msg))
                if errs:
                    failures.append(
                        f"{kind}: {errs[0].message[:300]} at {list(errs[0].absolute_path)}"
                        f"\n    in {os.path.basename(path)}: {line[:300]}")
    for f in failures[:50]:
        print("FAIL " + f)
    if len(failures) > 50:
        print(f"... and {len(failures) - 50} more")
    print(f"{total} server messages from {len(files)} test processes; "
          f"{len(done)} distinct validated, {len(failures)} do not match")
    print("distinct messages by type: " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    unseen = sorted(set(schemas) - set(counts))
    if unseen:
        print("no test received: " + ", ".join(unseen))
    if not total:
        print("FAIL: no message was logged (is CQ_WIRE_LOG_DIR set for the tests?)")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
