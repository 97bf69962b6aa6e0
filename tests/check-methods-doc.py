#!/usr/bin/env python3
"""Fails when the analysis JSON can contain a metric, event, flag or method that docs/methods.md
does not define.

Runs `stance-cli simulate` for every protocol (short sessions, several variants) and
`stance-cli analyse --format json` on them and on the public recordings in tests/data, collects
every metric id, event name, flag id and method id the documents hold, and looks each up in
docs/methods.md, where it must appear in backticks (`peak_force`).

usage: check-methods-doc.py STANCE_CLI SOURCE_ROOT
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

cli, root = sys.argv[1], pathlib.Path(sys.argv[2])
doc = (root / "docs" / "methods.md").read_text(encoding="utf-8")
documented = set(re.findall(r"`([^`\s]+)`", doc))
# Ids written with a placeholder in the docs: `force_at_<X>`, `rfd_0_<X>`, `impulse_0_<X>`, ...
patterns = []
for d in documented:
    if "<" in d and ">" in d:
        patterns.append(re.compile("^" + re.sub(r"<[^>]+>", "[0-9a-z]+", re.escape(d).replace(r"\<", "<").replace(r"\>", ">")) + "$"))


def is_documented(name):
    return name in documented or any(p.match(name) for p in patterns)


sims = [
    ("cmj", ["--reps", "2", "--asymmetry", "10"]),
    ("cmj", ["--reps", "1", "--saturate"]),
    ("sj", ["--reps", "2"]),
    ("dj", ["--reps", "2"]),
    ("sl-cmj", ["--side", "both", "--reps", "2"]),
    ("sl-hop", ["--side", "left", "--reps", "4"]),
    ("pogo", ["--reps", "6"]),
    ("imtp", ["--reps", "1"]),
    ("iso-squat", ["--side", "right", "--reps", "1"]),
    ("split-squat", ["--front", "left", "--reps", "3"]),
    ("lunge", ["--front", "right", "--reps", "3"]),
    ("step-up", ["--side", "left", "--reps", "3"]),
    ("sl-squat", ["--side", "left", "--reps", "3"]),
    ("sl-rdl", ["--side", "right", "--reps", "3"]),
    ("back-squat", ["--reps", "3", "--sets", "2", "--load", "60"]),
    ("deadlift", ["--reps", "3", "--sets", "1", "--load", "80"]),
    ("quiet-standing", ["--duration", "10", "--mains", "50"]),
    ("sl-balance", ["--side", "left", "--duration", "10"]),
    ("weigh-in", []),
]
real = [
    ("shiny-vertical-jump/single_trial.csv", []),
    ("shiny-vertical-jump/long_1.csv", ["--protocol", "cmj"]),
    ("shiny-vertical-jump/wide_data.csv", ["--protocol", "sj"]),
    ("plateforce/subject01_trial1.force.txt", ["--protocol", "cmj", "--rate", "1200"]),
    ("ACL_squat_jump/BFR003_squat_jump.csv", ["--protocol", "sj"]),
    ("Vertical-Jumps-Fz-Automated-Analysis/Dual-DJ-Fz.txt", ["--protocol", "dj"]),
    ("Vertical-Jumps-Fz-Automated-Analysis/Single-CMJ-Fz.txt", ["--protocol", "cmj"]),
    ("IsometricAnalyzer/Example1.csv", ["--protocol", "imtp"]),
    ("IsometricAnalyzer/Example2.csv", ["--protocol", "imtp"]),
]

seen = {"metric": {}, "event": {}, "flag": {}, "method": {}}


def note(kind, name, where):
    seen[kind].setdefault(name, where)


def walk_method(m, where):
    if isinstance(m, dict) and "id" in m:
        note("method", m["id"], where)


def collect(d, where):
    for f in d.get("flags", []):
        note("flag", f["id"], where)
    walk_method(d.get("onset_method"), where)
    walk_method(d.get("conditioning", {}).get("filter"), where)
    for t in d.get("trials", []):
        for e in t.get("events", {}):
            note("event", re.sub(r"_(left|right)$", "", e), where)
        for f in t.get("flags", []):
            note("flag", f["id"], where)
        for mid, m in t.get("metrics", {}).items():
            note("metric", mid, where)
            walk_method(m.get("method"), where)
    for mid, m in d.get("metrics", {}).items():
        note("metric", mid, where)
        walk_method(m.get("method"), where)
    for mid in d.get("summary", {}):
        note("metric", mid, where)


with tempfile.TemporaryDirectory() as tmp:
    docs = []
    for i, (proto, args) in enumerate(sims):
        out = pathlib.Path(tmp) / f"{i}-{proto}.stance"
        subprocess.run([cli, "simulate", "--protocol", proto, "--seed", str(i + 1), *args,
                        "-o", str(out)], check=True, capture_output=True)
        docs.append((f"simulated {proto} {' '.join(args)}", [str(out)]))
    for rel, args in real:
        docs.append((rel, [str(root / "tests" / "data" / rel), *args]))
    for where, args in docs:
        r = subprocess.run([cli, "analyse", "--format", "json", *args], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print(f"analyse failed on {where}: {r.stderr.strip()}")
            sys.exit(1)
        d = json.loads(r.stdout)
        for a in d.get("analyses", [d]):
            collect(a, where)

missing = 0
for kind, names in seen.items():
    for name, where in sorted(names.items()):
        if not is_documented(name):
            print(f"docs/methods.md does not define the {kind} `{name}` (seen in {where})")
            missing += 1
total = sum(len(v) for v in seen.values())
print(f"methods doc: {total} ids checked ({', '.join(f'{len(v)} {k}s' for k, v in seen.items())}), "
      f"{missing} undocumented")
sys.exit(1 if missing else 0)
