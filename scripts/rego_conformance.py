#!/usr/bin/env python3
"""Differential test of the Rego gate against real OPA (not part of CI).

Every directory under tests/rego-conformance/ is a case: `policy/*.rego` (plus optional
`policy/*.json|yaml` data files) and input documents (`*.yaml`, `*.yml`, `*.json`) at its top.
For each input document and each package, OPA evaluates the package as conftest does with
`--all-namespaces`: `deny*` and `violation*` results are failures, `warn*` results warnings,
and `exception` exempts the rules it names. Results are compared, per input file, with the
failures and warnings of `thoth-bot check CASE --gates rego --format json`.

OPA comes from the opa-golib-python-bindings package (OPA's Go library behind a C bridge):

    python3 -m venv /work/venv-opa
    /work/venv-opa/bin/pip install --ignore-requires-python opa-golib-python-bindings==0.4.4 pyyaml
    /work/venv-opa/bin/python scripts/rego_conformance.py --bin target/debug/thoth-bot

Prints one line per case and "N/N cases agree"; exits 1 if any case disagrees.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys

import yaml
from opa_bindings import OpaEngine, OpaUndefinedError

GATE_RULE = re.compile(r"^(deny|violation|warn)(_\w+)?$")
INPUT_EXT = (".yaml", ".yml", ".json")


def load_docs(path):
    """The documents of an input file: one for JSON, one per `---` section for YAML."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return [json.loads(text)]
    return [d for d in yaml.safe_load_all(text) if d is not None]


def results(value):
    """conftest: a rule's value is a set/array of results, or a single result."""
    if value is None or value is False:
        return []
    if isinstance(value, list):
        return value
    if value is True:
        return [""]
    return [value]


def message(result):
    if isinstance(result, str):
        return result
    if isinstance(result, dict) and isinstance(result.get("msg"), str):
        return result["msg"]
    return json.dumps(result, sort_keys=True)


def exceptions(value):
    names = []
    for item in results(value):
        if isinstance(item, list):
            names.extend(n for n in item if isinstance(n, str))
        elif isinstance(item, str):
            names.append(item)
    return names


def opa_findings(case):
    """(input file, level, message) of every OPA result, as a multiset."""
    engine = OpaEngine()
    packages = set()
    for path in sorted(glob.glob(os.path.join(case, "policy", "**", "*"), recursive=True)):
        rel = os.path.relpath(path, case)
        if path.endswith(".rego") and not path.endswith("_test.rego"):
            with open(path, encoding="utf-8") as f:
                source = f.read()
            engine.add_policy(rel, source)
            m = re.search(r"^package\s+([\w.]+)", source, re.M)
            if m:
                packages.add(m.group(1))
        elif path.endswith(INPUT_EXT):
            for doc in load_docs(path):
                engine.add_data(doc)
    out = collections.Counter()
    for name in sorted(os.listdir(case)):
        path = os.path.join(case, name)
        if not (os.path.isfile(path) and name.endswith(INPUT_EXT)):
            continue
        for doc in load_docs(path):
            for pkg in sorted(packages):
                try:
                    value = engine.eval_document(pkg, doc)
                except OpaUndefinedError:
                    continue
                if not isinstance(value, dict):
                    continue
                exempt = exceptions(value.get("exception"))
                for rule, rule_value in value.items():
                    m = GATE_RULE.match(rule)
                    if not m:
                        continue
                    suffix = (m.group(2) or "")[1:]
                    if rule in exempt or (suffix and suffix in exempt):
                        continue
                    level = "warning" if m.group(1) == "warn" else "failure"
                    for r in results(rule_value):
                        out[(name, level, message(r))] += 1
    engine.close()
    return out


def thoth_findings(binary, case):
    proc = subprocess.run(
        [binary, "check", case, "--gates", "rego", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout)
    out = collections.Counter()
    for f in report["findings"]:
        if f.get("gate") != "rego":
            continue
        level = f["level"]
        if level not in ("failure", "warning"):
            level = "error"
        out[(f.get("file"), level, f["message"])] += 1
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--bin", default=os.path.join(root, "target", "debug", "thoth-bot"))
    parser.add_argument("--cases", default=os.path.join(root, "tests", "rego-conformance"))
    parser.add_argument("-v", "--verbose", action="store_true", help="print agreeing results too")
    args = parser.parse_args()
    cases = sorted(
        d for d in glob.glob(os.path.join(args.cases, "*")) if os.path.isdir(os.path.join(d, "policy"))
    )
    agree = 0
    for case in cases:
        name = os.path.basename(case)
        try:
            want = opa_findings(case)
        except Exception as e:  # a case OPA rejects is a broken case, not a thoth-bot bug
            print(f"BROKEN {name}: OPA: {e}")
            continue
        got = thoth_findings(args.bin, case)
        if want == got:
            agree += 1
            print(f"ok     {name} ({sum(want.values())} results)")
            if args.verbose:
                for k in sorted(want):
                    print(f"         {k}")
            continue
        print(f"DIFF   {name}")
        for k in sorted(set(want) | set(got), key=str):
            if want[k] != got[k]:
                print(f"         opa {want[k]} thoth-bot {got[k]}: {k}")
    print(f"{agree}/{len(cases)} cases agree")
    return 0 if agree == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
