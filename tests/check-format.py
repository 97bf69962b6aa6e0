#!/usr/bin/env python3
"""Fails when a C file of the project differs from what clang-format makes of it (.clang-format)."""
import pathlib
import subprocess
import sys

root = pathlib.Path(sys.argv[1])
clang_format = sys.argv[2]
dirs = ["src", "calib", "tests", "bench", "firmware"]
files = sorted(p for d in dirs for p in (root / d).rglob("*.[ch]") if (root / d).exists())
bad = []
for f in files:
    r = subprocess.run([clang_format, "--dry-run", "-Werror", str(f)], capture_output=True, text=True)
    if r.returncode != 0:
        bad.append(str(f.relative_to(root)))
for b in bad:
    print(f"{b}: not formatted (run: clang-format -i {b})")
print(f"format: {len(files)} files checked, {len(bad)} not formatted")
sys.exit(1 if bad or not files else 0)
