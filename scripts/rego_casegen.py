"""Seeded random Rego cases for scripts/rego_conformance.py.

Each case is a small policy directory (one to three files of `package main`, sometimes a library
package imported under an alias) and three JSON inputs drawn from one loose resource shape, with
missing keys, nulls and empty collections. Rules are drawn from templates, one per construct the
differential suite must cover (iteration, `every`, comprehensions, `with`, `default`/`else`,
functions, partial objects over files, complete rules of every value kind, exceptions and the
string, regex, glob, JSON, time and net builtins), with random constants and rule names. The same
seed writes the same cases.
"""

import json
import os
import random

KINDS = ["Deployment", "Service", "Pod", "Bucket", "Job"]
WORDS = ["web", "api", "db", "cache", "prod", "dev", "team-a", "team-b", "Edge", "x"]
REGISTRIES = ["docker.io", "ghcr.io", "quay.io", "acme.azurecr.io"]
CIDRS = ["10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "172.16.0.0/12", "10.1.2.0/24"]
IPS = ["10.1.2.3", "192.168.1.10", "8.8.8.8", "172.20.0.1", "10.200.0.9"]
TIMES = ["2021-03-04T05:06:07Z", "2024-12-31T23:59:59Z", "2026-06-01T00:00:00+02:00", "1999-01-01T00:00:00Z"]


def rand_input(rng):
    doc = {"kind": rng.choice(KINDS), "name": rng.choice(WORDS) + "-" + str(rng.randint(0, 9))}
    optional = {
        "replicas": lambda: rng.choice([0, 1, 3, 7, 12, None]),
        "labels": lambda: {rng.choice(WORDS): rng.choice(WORDS) for _ in range(rng.randint(0, 3))},
        "tags": lambda: [rng.choice(WORDS) for _ in range(rng.randint(0, 4))],
        "ports": lambda: [rng.choice([22, 80, 443, 3389, 8080, 65535]) for _ in range(rng.randint(0, 3))],
        "image": lambda: f"{rng.choice(REGISTRIES)}/{rng.choice(WORDS)}:{rng.choice(['latest', '1.2.3', 'v2', 'sha-ab12'])}",
        "ip": lambda: rng.choice(IPS),
        "created": lambda: rng.choice(TIMES),
        "owner": lambda: rng.choice(["alice", "", None]),
        "meta": lambda: rng.choice([None, {}, {"a": {"b": rng.choice([1, None, "z"])}}, {"a": None}]),
        "ratio": lambda: rng.choice([0.5, 1.25, 2, -3]),
        "containers": lambda: [
            {"name": rng.choice(WORDS), "image": rng.choice(WORDS) + ":" + rng.choice(["latest", "1"]),
             "privileged": rng.choice([True, False, None])}
            for _ in range(rng.randint(0, 3))
        ],
    }
    for key, make in optional.items():
        if rng.random() < 0.75:
            doc[key] = make()
    return doc


class Ctx:
    """Per-case naming: gate rule names, unique helper names, and the library package."""

    def __init__(self, rng):
        self.rng = rng
        self.n = 0

    def uid(self, stem):
        self.n += 1
        return f"{stem}{self.n}"

    def gate(self, partial=True):
        """A deny/violation/warn name; complete rules get a name of their own."""
        base = self.rng.choice(["deny", "violation", "warn"])
        if not partial:
            return f"{base}_{self.uid('c')}"
        return self.rng.choice([base, f"{base}_{self.rng.choice(['public', 'size', 'x'])}"])


def t_compare(c, rng):
    n = rng.choice([0, 2, 5])
    return f'{c.gate()} contains msg if {{\n\tinput.replicas > {n}\n\tmsg := sprintf("replicas %v > {n}", [input.replicas])\n}}\n'


def t_some_in(c, rng):
    p = rng.choice(["t", "p", "d", "E"])
    return (
        f'{c.gate()} contains msg if {{\n\tsome k, v in input.labels\n\tstartswith(lower(k), "{p}")\n'
        f'\tmsg := sprintf("label %s=%s", [k, v])\n}}\n'
    )


def t_every(c, rng):
    n = rng.choice([21, 100, 1000])
    return f'{c.gate()} contains "ports all above {n}" if {{\n\tcount(input.ports) > 0\n\tevery p in input.ports {{ p > {n} }}\n}}\n'


def t_compr(c, rng):
    r = rng.choice(["^team-", "^[a-z]+$", "[0-9]", "^(web|api)$"])
    kind = rng.choice(["array", "set", "object"])
    if kind == "array":
        build = f'bad := [t | some t in input.tags; regex.match(`{r}`, t)]'
    elif kind == "set":
        build = f'bad := {{t | some t in input.tags; regex.match(`{r}`, t)}}'
    else:
        build = f'bad := {{t: i | some i, t in input.tags; regex.match(`{r}`, t)}}'
    return f'{c.gate()} contains msg if {{\n\t{build}\n\tcount(bad) > 0\n\tmsg := sprintf("tags %v", [bad])\n}}\n'


def t_glob(c, rng):
    g = rng.choice(["*:latest", "docker.io/*", "ghcr.io/**", "*/web:*", "*.azurecr.io/*"])
    delim = rng.choice(['["/"]', "[]", "null"])
    return f'{c.gate()} contains msg if {{\n\tglob.match("{g}", {delim}, input.image)\n\tmsg := concat(" ", ["image", input.image, "matches", "{g}"])\n}}\n'


def t_net(c, rng):
    cidr = rng.choice(CIDRS)
    return f'{c.gate()} contains msg if {{\n\tnet.cidr_contains("{cidr}", input.ip)\n\tmsg := sprintf("%s in {cidr}", [input.ip])\n}}\n'


def t_time(c, rng):
    ts = rng.choice(TIMES)
    return (
        f'{c.gate()} contains msg if {{\n\tt := time.parse_rfc3339_ns(input.created)\n'
        f'\tt < time.parse_rfc3339_ns("{ts}")\n\t[y, m, d] := time.date(t)\n'
        f'\tmsg := sprintf("created %d-%d-%d before {ts}", [y, m, d])\n}}\n'
    )


def t_json(c, rng):
    return (
        f'{c.gate()} contains msg if {{\n\ts := json.marshal(input.labels)\n\tcount(s) > {rng.choice([2, 15, 30])}\n'
        f'\tback := json.unmarshal(s)\n\tback == input.labels\n\tmsg := sprintf("labels %s", [s])\n}}\n'
    )


def t_missing(c, rng):
    form = rng.choice(["not input.owner", "input.owner == null", 'object.get(input, "owner", "none") == "none"',
                       "input.meta.a.b == null", "not input.meta.a.b", "input.meta == null", "is_null(input.replicas)"])
    return f'{c.gate()} contains msg if {{\n\t{form}\n\tmsg := "{form.replace(chr(34), "")}"\n}}\n'


def t_default_else(c, rng):
    name = c.uid("level")
    a, b = rng.choice([(5, 2), (10, 0), (3, 1)])
    return (
        f'default {name} := "low"\n\n{name} := "high" if {{\n\tinput.replicas > {a}\n}} else := "mid" if {{\n'
        f'\tinput.replicas > {b}\n}}\n\n{c.gate()} contains msg if {{\n\t{name} != "{rng.choice(["low", "mid", "high"])}"\n'
        f'\tmsg := sprintf("level %s", [{name}])\n}}\n'
    )


def t_functions(c, rng):
    f, same, allowed = c.uid("tag_of"), c.uid("same"), c.uid("allowed")
    w = rng.choice(WORDS)
    return (
        f'{f}(img) := t if {{\n\tparts := split(img, ":")\n\tt := parts[count(parts) - 1]\n}}\n\n'
        f"{same}(x, x)\n\n{allowed}(\"{w}\")\n\n{allowed}(\"latest\")\n\n"
        f'{c.gate()} contains msg if {{\n\tsome ct in input.containers\n\t{same}({f}(ct.image), "{rng.choice(["latest", "1"])}")\n'
        f'\tmsg := sprintf("container %s tag %s", [ct.name, {f}(ct.image)])\n}}\n\n'
        f'{c.gate()} contains msg if {{\n\tnot {allowed}({f}(input.image))\n\tmsg := sprintf("tag of %v not allowed", [input.image])\n}}\n'
    )


def t_const_param(c, rng):
    f = c.uid("is_kind")
    k = rng.choice(KINDS)
    return (
        f'{f}("{k}") if input.kind == "{k}"\n\n{f}(k) if {{\n\tk == "any"\n}}\n\n'
        f'{c.gate()} contains msg if {{\n\t{f}("{rng.choice([k, "any", "Other"])}")\n\tmsg := "kind rule"\n}}\n'
    )


def t_complete(c, rng):
    cond = rng.choice(['input.kind == "Deployment"', "input.replicas > 1", "count(input.tags) > 1", "true"])
    value = rng.choice([
        '{"set item", "other"}',
        '["array item", {"msg": "object item", "details": {}}]',
        '{"msg": "single object", "id": "X-1"}',
        '"single string"',
        "[input.name]",
        '{"no": "msg"}',
        "{input.kind, input.name}",
    ])
    return f"{c.gate(partial=False)} := {value} if {{\n\t{cond}\n}}\n"


def t_strings(c, rng):
    exprs = [
        'upper(input.name)', 'trim(input.name, "-0123456789")', 'replace(input.name, "-", "_")',
        'substring(input.name, 0, 3)', 'sprintf("%d", [count(input.name)])', 'format_int(count(input.name), 16)',
        'concat(",", sort(split(input.name, "-")))', 'sprintf("%v", [indexof(input.name, "-")])',
        'trim_space(sprintf(" %s ", [input.kind]))', 'strings.replace_n({"-": "+"}, input.name)',
        'sprintf("%.2f", [input.ratio])', 'sprintf("%v", [input.ratio * 2])', 'sprintf("%v", [to_number("12") + 1])',
    ]
    e = rng.choice(exprs)
    test = rng.choice(['contains(input.name, "-")', 'endswith(input.name, "1")', "true", 'input.kind != "Job"'])
    return f'{c.gate()} contains msg if {{\n\t{test}\n\tmsg := {e}\n}}\n'


def t_partial_object(c, rng):
    obj = c.uid("by_name")
    return (
        f"# FILE\n{obj}[ct.name] := ct.image if {{\n\tsome ct in input.containers\n}}\n\n"
        f"# FILE\n{obj}[input.name] := input.image if input.image\n\n"
        f'{c.gate()} contains msg if {{\n\tsome n, img in {obj}\n\tendswith(img, ":latest")\n\tmsg := sprintf("%s uses latest", [n])\n}}\n'
    )


def t_partial_set_files(c, rng):
    s = c.uid("names")
    return (
        f"# FILE\n{s} contains input.name\n\n"
        f"# FILE\n{s} contains t if {{\n\tsome t in input.tags\n}}\n\n"
        f'{c.gate()} contains msg if {{\n\tcount({s}) > {rng.choice([1, 2, 3])}\n\tmsg := sprintf("names %v", [{s}])\n}}\n'
    )


def t_with(c, rng):
    h = c.uid("too_many")
    n = rng.choice([1, 4, 50])
    return (
        f"{h} if input.replicas > {n}\n\n"
        f'{c.gate()} contains msg if {{\n\t{h} with input as {{"replicas": {n + 1}}}\n\tnot {h}\n'
        f'\tmsg := "only with input"\n}}\n\n'
        f'{c.gate()} contains msg if {{\n\tx := data.lib.limit with data.lib.limit as {n}\n\tinput.replicas > x\n'
        f'\tmsg := sprintf("above overridden limit %d", [x])\n}}\n'
    )


def t_sets(c, rng):
    return (
        f'{c.gate()} contains msg if {{\n\tports := {{p | some p in input.ports}}\n'
        f'\tcommon := ports & {{22, 3389, {rng.choice([80, 443])}}}\n\tcount(common) > 0\n'
        f'\tmsg := sprintf("ports %v (max %v, sum %v)", [sort(common), max(common), sum(common)])\n}}\n'
    )


def t_privileged(c, rng):
    return (
        f'{c.gate()} contains {{"msg": msg, "id": "P-{rng.randint(1, 9)}", "severity": "high"}} if {{\n'
        f"\tsome i, ct in input.containers\n\tct.privileged == true\n"
        f'\tmsg := sprintf("container %d (%s) is privileged", [i, ct.name])\n}}\n'
    )


def t_alias(c, rng):
    return (
        f"# IMPORT data.lib as l\n"
        f'{c.gate()} contains msg if {{\n\tl.is_big\n\tmsg := sprintf("%s is big (limit %d)", [input.name, l.limit])\n}}\n'
    )


TEMPLATES = [
    t_compare, t_some_in, t_every, t_compr, t_glob, t_net, t_time, t_json, t_missing, t_default_else,
    t_functions, t_const_param, t_complete, t_strings, t_partial_object, t_partial_set_files, t_with,
    t_sets, t_privileged, t_alias,
]

LIB = """package lib

import rego.v1

limit := 4

is_big if input.replicas > limit
"""


def render_case(rng):
    """Files of one case: {relative path: text}."""
    c = Ctx(rng)
    nfiles = rng.randint(1, 3)
    bodies = [[] for _ in range(nfiles)]
    imports = [set() for _ in range(nfiles)]
    for t in rng.sample(TEMPLATES, rng.randint(3, 6)):
        text = t(c, rng)
        chunks = text.split("# FILE\n")
        for chunk in chunks:
            if not chunk.strip():
                continue
            i = rng.randrange(nfiles)
            if chunk.startswith("# IMPORT "):
                line, _, chunk = chunk.partition("\n")
                imports[i].add("import " + line[len("# IMPORT "):])
            bodies[i].append(chunk)
    files = {}
    if any("data.lib" in b for body in bodies for b in body):
        files["policy/lib.rego"] = LIB
    for i in range(nfiles):
        head = ["package main", "", "import rego.v1"] + sorted(imports[i])
        files[f"policy/main{i}.rego"] = "\n".join(head) + "\n\n" + "\n".join(bodies[i])
    if rng.random() < 0.3:
        files["policy/exception.rego"] = (
            "package main\n\nimport rego.v1\n\nexception contains rules if {\n"
            f'\tinput.kind == "{rng.choice(KINDS)}"\n\trules := ["{rng.choice(["public", "size", "x", ""])}"]\n}}\n'
        )
    for n in range(3):
        files[f"input{n}.json"] = json.dumps(rand_input(rng), indent=1) + "\n"
    return files


def write_cases(out_dir, count, seed):
    rng = random.Random(seed)
    for n in range(count):
        for rel, text in render_case(rng).items():
            path = os.path.join(out_dir, f"case{n:03d}", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
