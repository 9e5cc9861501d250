#!/usr/bin/env python3
"""Differential test of the Rego gate against real OPA: "N/N cases agree", exit 1 on any miss.

A case is policies plus the input documents they judge. Three kinds run:

- every directory under tests/rego-conformance/ with a `policy/` folder (`policy/*.rego`, data
  files beside them) and input files at its top;
- the built-in `policy/` library over each input file of `examples/` and `tests/data/` (Terraform
  files once per HCL shape);
- `--random N` cases from scripts/rego_casegen.py, reproduced by `--seed`.

Both sides judge the same documents: `thoth-bot __rego-inputs` prints the gate's input documents
(HCL, Dockerfile and YAML parsed by thoth-bot) with the gate's evaluation time for each. OPA
evaluates each package of the case as conftest does with `--all-namespaces`: `deny*` and
`violation*` results are failures, `warn*` results warnings, and `exception` exempts the rules it
names. They are compared, per input file, with the failures and warnings of
`thoth-bot check CASE --gates rego --format json`. Cases listed in
tests/rego-conformance/known-divergences.txt are run and reported apart; they do not fail the run.

OPA comes from the opa-golib-python-bindings package (OPA 1.20.2's Go library behind a C bridge):

    python3 -m venv /work/venv-opa
    /work/venv-opa/bin/pip install --ignore-requires-python opa-golib-python-bindings==0.4.4
    /work/venv-opa/bin/python scripts/rego_conformance.py --bin target/debug/thoth-bot

`--timing` adds thoth-bot's evaluation time per input document next to OPA's.
"""

import argparse
import collections
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rego_casegen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE_RULE = re.compile(r"^(deny|violation|warn)(_\w+)?$")
INPUT_FILE = re.compile(r"(\.(tf|hcl|ya?ml|json)$|^dockerfile$|^dockerfile\.|\.dockerfile$)", re.I)
EVAL_ERROR = re.compile(r"^policy (\S+) (?:failed to evaluate|exceeded its evaluation time limit) on (.+?): ")
LIBRARY_INPUTS = ("examples", os.path.join("tests", "data"))


class Group:
    """Policies (`policy_dirs`, loaded into OPA) and a project directory thoth-bot checks. A group
    is one case, or with `per_file` one case per input file (the built-in library's inputs)."""

    def __init__(self, name, project, policy_dirs, shape="object", per_file=False):
        self.name = name
        self.project = project
        self.policy_dirs = policy_dirs
        self.shape = shape
        self.per_file = per_file


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
    # thoth-bot shows such a result as compact JSON with sorted keys.
    return json.dumps(result, sort_keys=True, separators=(",", ":"))


def exceptions(value):
    names = []
    for item in results(value):
        if isinstance(item, list):
            names.extend(n for n in item if isinstance(n, str))
        elif isinstance(item, str):
            names.append(item)
    return names


def load_policies(engine, policy_dirs):
    """Adds every non-test .rego file and data file of the directories; returns the packages."""
    packages = set()
    for base in policy_dirs:
        for path in sorted(glob.glob(os.path.join(base, "**", "*"), recursive=True)):
            rel = os.path.relpath(path, base)
            if path.endswith(".rego") and not path.endswith("_test.rego"):
                with open(path, encoding="utf-8") as f:
                    source = f.read()
                engine.add_policy(rel, source)
                m = re.search(r"^package\s+([\w.]+)", source, re.M)
                if m:
                    packages.add(m.group(1))
            elif path.endswith((".json", ".yaml", ".yml")):
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                if path.endswith(".json"):
                    engine.add_data(json.loads(text))
                else:
                    import yaml  # only the cases with YAML data files need it

                    engine.add_data(yaml.safe_load(text))
    return sorted(packages)


_ENGINES = {}


def opa_engine(policy_dirs):
    """One engine per policy set: OPA prepares each query once per engine."""
    key = tuple(policy_dirs)
    if key not in _ENGINES:
        engine = OpaEngine()
        _ENGINES[key] = (engine, load_policies(engine, policy_dirs))
    return _ENGINES[key]


def opa_eval(engine, pkg, value):
    """The package's document, None if undefined, or the OPA error."""
    try:
        return engine.eval_document(pkg, value)
    except OpaUndefinedError:
        return None
    except OpaError as e:
        return e


def opa_findings(policy_dirs, docs, repeat):
    """(input file, level, message) of every OPA result as a multiset, and OPA's time per doc
    (best of `repeat`, the package queries already prepared)."""
    engine, packages = opa_engine(policy_dirs)
    out = collections.Counter()
    times = []
    for d in docs:
        values = [(pkg, opa_eval(engine, pkg, d["value"])) for pkg in packages]
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            for pkg in packages:
                opa_eval(engine, pkg, d["value"])
            best = min(best, time.perf_counter() - start)
        times.append(best * 1e6)
        for pkg, value in values:
            if isinstance(value, OpaError):
                out[(d["file"], "error", pkg)] += 1
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
                    out[(d["file"], level, message(r))] += 1
    return out, times


def run_bin(binary, args):
    proc = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"thoth-bot {' '.join(args)}: {e}: {proc.stderr.strip()}") from e


def thoth_findings(binary, group):
    args = ["check", group.project, "--gates", "rego", "--format", "json", "--input-shape", group.shape]
    # The built-in library runs beside a project's own policies; OPA is given only the case's,
    # so a case with a policy folder is judged by that folder alone.
    if not group.name.startswith("library"):
        args.append("--no-builtin")
    report = run_bin(binary, args)
    out = collections.Counter()
    for f in report["findings"]:
        if f.get("gate") != "rego":
            continue
        level = f["level"]
        m = EVAL_ERROR.match(f["message"])
        if m and f.get("rule_id") == "evaluation-error":
            # One per package and input, like OPA's error for the package's document.
            out[(m.group(2), "error", m.group(1))] += 1
            continue
        if level not in ("failure", "warning"):
            level = "error"
        out[(f.get("file"), level, f["message"])] += 1
    return out


def dir_groups(root, prefix=""):
    return [
        Group(prefix + os.path.basename(d), d, [os.path.join(d, "policy")])
        for d in sorted(glob.glob(os.path.join(root, "*")))
        if os.path.isdir(os.path.join(d, "policy"))
    ]


def library_groups(tmp):
    """The built-in library over every input file of examples/ and tests/data/ (outside policy
    folders), copied into one project without a policy folder so thoth-bot evaluates the
    built-in library; one case per input file and HCL shape."""
    project = os.path.join(tmp, "library")
    for top in LIBRARY_INPUTS:
        for path in sorted(glob.glob(os.path.join(ROOT, top, "**", "*"), recursive=True)):
            rel = os.path.relpath(path, ROOT)
            if os.path.isfile(path) and "/policy/" not in rel and INPUT_FILE.search(os.path.basename(path)):
                os.makedirs(os.path.dirname(os.path.join(project, rel)), exist_ok=True)
                shutil.copy(path, os.path.join(project, rel))
    policy = [os.path.join(ROOT, "policy")]
    return [
        Group("library", project, policy, "object", per_file=True),
        Group("library-conftest-hcl", project, policy, "conftest", per_file=True),
    ]


def known_divergences(root):
    path = os.path.join(root, "known-divergences.txt")
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(" ")
                out[name] = why.strip()
    return out


def run_group(binary, group, timing):
    """[(case name, OPA results, thoth-bot results, [(thoth-bot us, OPA us) per input])]."""
    repeat = 3 if timing else 1
    args = ["__rego-inputs", group.project, "--input-shape", group.shape, "--repeat", str(repeat)]
    docs = run_bin(binary, args)["docs"]
    if group.per_file and group.shape != "object":
        docs = [d for d in docs if d["file"].endswith((".tf", ".hcl"))]
    want, opa_us = opa_findings(group.policy_dirs, docs, repeat if timing else 0)
    got = thoth_findings(binary, group)
    times = [(d["eval_us"], o) for d, o in zip(docs, opa_us)]
    if not group.per_file:
        return [(group.name, want, got, times)]
    out = []
    for file in sorted({d["file"] for d in docs}):
        pick = lambda c: collections.Counter({k: n for k, n in c.items() if k[0] == file})  # noqa: E731
        t = [x for d, x in zip(docs, times) if d["file"] == file]
        suffix = "" if group.shape == "object" else f" ({group.shape})"
        out.append((f"{group.name}:{file}{suffix}", pick(want), pick(got), t))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "thoth-bot"))
    parser.add_argument("--cases", default=os.path.join(ROOT, "tests", "rego-conformance"))
    parser.add_argument("--random", type=int, default=250, help="generated cases (default 250)")
    parser.add_argument("--seed", type=int, default=12, help="seed of the generated cases")
    parser.add_argument("--no-library", action="store_true", help="skip the built-in library cases")
    parser.add_argument("--only", help="run only cases whose name contains this")
    parser.add_argument("--timing", action="store_true", help="evaluation time per input, thoth-bot and OPA")
    parser.add_argument("--keep", help="write the generated cases to this directory and keep them")
    parser.add_argument("-v", "--verbose", action="store_true", help="print agreeing results too")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)

    tmp = tempfile.mkdtemp(prefix="rego-conformance-")
    try:
        groups = dir_groups(args.cases)
        if not args.no_library:
            groups += library_groups(tmp)
        if args.random:
            gen_dir = args.keep or os.path.join(tmp, "generated")
            rego_casegen.write_cases(gen_dir, args.random, args.seed)
            groups += dir_groups(gen_dir, prefix=f"random:{args.seed}:")
        if args.only:
            groups = [g for g in groups if args.only in g.name]
        diverging = known_divergences(args.cases)
        agree, counted, known, timings = 0, 0, [], []
        for group in groups:
            try:
                cases = run_group(binary, group, args.timing)
            except Exception as e:  # a case OPA or thoth-bot cannot even load is a disagreement
                print(f"BROKEN {group.name}: {e}")
                counted += 1
                continue
            for name, want, got, t in cases:
                kind = name.split(":")[0] if ":" in name else "hand-written"
                timings.extend((kind, thoth_us, opa_us) for thoth_us, opa_us in t)
                if name in diverging:
                    known.append((name, want == got, diverging[name]))
                    continue
                counted += 1
                if want == got:
                    agree += 1
                    print(f"ok     {name} ({sum(want.values())} results)")
                    if args.verbose:
                        for k in sorted(want):
                            print(f"         {k}")
                    if args.timing:
                        for thoth_us, opa_us in t:
                            print(f"         eval per input: thoth-bot {thoth_us:.0f} us, OPA {opa_us:.0f} us")
                    continue
                print(f"DIFF   {name}")
                for k in sorted(set(want) | set(got), key=str):
                    if want[k] != got[k]:
                        print(f"         opa {want[k]} thoth-bot {got[k]}: {k}")
        for name, ok, why in known:
            state = "now agrees: take it off the list" if ok else "still differs"
            print(f"known divergence {name} ({why}): {state}")
        if args.timing and timings:
            report_timing(timings)
        print(f"{agree}/{counted} cases agree" + (f" ({len(known)} known divergences reported apart)" if known else ""))
        return 0 if counted and agree == counted else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def report_timing(timings):
    """Medians and p90 per kind of case (hand-written, library, random) and overall."""
    kinds = sorted({k for k, _, _ in timings}) + ["all"]
    for kind in kinds:
        rows = [(t, o) for k, t, o in timings if kind in ("all", k)]
        thoth = [t for t, _ in rows]
        opa = [o for _, o in rows]
        ratios = [t / o for t, o in rows if o > 0]
        print(
            f"eval per input, {kind} ({len(rows)} documents): "
            f"thoth-bot median {statistics.median(thoth):.0f} us (p90 {quantile(thoth, 0.9):.0f}), "
            f"OPA median {statistics.median(opa):.0f} us (p90 {quantile(opa, 0.9):.0f}); "
            f"thoth-bot/OPA median {statistics.median(ratios):.2f}x, "
            f"{sum(1 for r in ratios if r <= 1)}/{len(ratios)} within 1x"
        )


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


if __name__ == "__main__":
    sys.exit(main())
