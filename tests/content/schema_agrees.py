#!/usr/bin/env python3
"""The JSON Schema and the loader must accept the same banks.

Runs content/schema/bank.schema.json (JSON Schema 2020-12, python3-jsonschema)
over the banks the loader accepts (the built-in ones, the test bank, the
example in docs/bank-format.md) and over every case in
tests/fixtures/banks-invalid/, which the loader rejects. Each invalid case must
fail the schema too, except the ones listed below: rules that JSON Schema
cannot express, which docs/bank-format.md lists and only the loader checks.

Usage: schema_agrees.py REPO_ROOT. Exit 0 when they agree, 1 when not, 77
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

# Invalid cases whose rule JSON Schema cannot express (docs/bank-format.md,
# "Rules the schema cannot express"), and the JSON texts a parser rejects.
LOADER_ONLY = {
    "not-json": "not JSON at all",
    "duplicate-key": "duplicate keys: JSON parsers keep one, the loader refuses",
    "question-id-repeated": "question ids unique",
    "sources-file-repeated": "sources[].file distinct (uniqueItems compares whole objects)",
    "source-file-not-listed": "source.file listed in sources",
    "correct-out-of-range": "correct indexes below the number of options",
    "multi-all-correct": "at least one wrong option in multi",
    "options-repeat-folded": "options distinct after folding",
    "accepted-repeat-folded": "accepted distinct after folding",
    "excludes-unknown": "excludes names questions of the bank",
    "excludes-self": "a question does not exclude itself",
    "time-limit-not-integer": "integers written without a fraction (30.0 is an integer to JSON Schema)",
}


def main():
    root = sys.argv[1]
    with open(os.path.join(root, "content/schema/bank.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    failures = 0

    valid = sorted(p for p in glob.glob(os.path.join(root, "content/*/*.json"))
                   if os.path.basename(os.path.dirname(p)) != "schema")
    valid += sorted(glob.glob(os.path.join(root, "tests/fixtures/content/*/*.json")))
    valid += sorted(glob.glob(os.path.join(root, "tests/fixtures/content-media/*/*.json")))
    for path in valid:
        with open(path, encoding="utf-8") as f:
            errs = list(validator.iter_errors(json.load(f)))
        if errs:
            failures += 1
            print(f"FAIL {path}: the loader accepts it, the schema does not: {errs[0].message}")
    with open(os.path.join(root, "docs/bank-format.md"), encoding="utf-8") as f:
        example = re.search(r"```json\n(.*?)```", f.read(), re.S).group(1)
    errs = list(validator.iter_errors(json.loads(example)))
    if errs:
        failures += 1
        print(f"FAIL docs/bank-format.md example: {errs[0].message}")

    cases = sorted(glob.glob(os.path.join(root, "tests/fixtures/banks-invalid/*.json")))
    for path in cases:
        name = os.path.basename(path)[:-5]
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except ValueError:
            doc = None
        schema_rejects = doc is None or any(True for _ in validator.iter_errors(doc))
        if name in LOADER_ONLY:
            if schema_rejects and doc is not None:
                failures += 1
                print(f"FAIL {name}: listed as loader-only, but the schema rejects it")
        elif not schema_rejects:
            failures += 1
            print(f"FAIL {name}: the loader rejects it, the schema accepts it")
    missing = set(LOADER_ONLY) - {os.path.basename(p)[:-5] for p in cases}
    for name in sorted(missing):
        failures += 1
        print(f"FAIL {name}: listed as loader-only but there is no such case")
    print(f"{len(valid) + 1} valid banks, {len(cases)} invalid cases "
          f"({len(LOADER_ONLY)} loader-only): {failures} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
