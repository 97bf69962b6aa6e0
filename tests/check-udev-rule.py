#!/usr/bin/env python3
"""Checks data/70-stance.rules against the USB IDs of the wire protocol (src/daq/stance-wire.h).

Every rule line must match SUBSYSTEM "usb" and exactly STANCE_WIRE_VID / STANCE_WIRE_PID (udev
compares the lower-case 4-digit hex of sysfs idVendor/idProduct), and the rule must grant access
both ways the file promises: TAG+="uaccess" for the seated user and MODE="0660" GROUP="plugdev".
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
header = (root / "src/daq/stance-wire.h").read_text(encoding="utf-8")
rules_path = root / "data/70-stance.rules"
rules = rules_path.read_text(encoding="utf-8")


def define(name):
    m = re.search(r"^#define\s+" + name + r"\s+(0x[0-9A-Fa-f]+|\d+)\b", header, re.M)
    if not m:
        sys.exit(f"stance-wire.h: no #define {name}")
    return int(m.group(1), 0)


vid, pid = define("STANCE_WIRE_VID"), define("STANCE_WIRE_PID")
want_vid, want_pid = f"{vid:04x}", f"{pid:04x}"
problems = []
lines = [(n, l.strip()) for n, l in enumerate(rules.splitlines(), 1)]
rule_lines = [(n, l) for n, l in lines if l and not l.startswith("#")]
if not rule_lines:
    problems.append("no rule lines (only comments)")
for n, line in rule_lines:
    keys = dict(re.findall(r'([A-Z_]+(?:\{[^}]*\})?)\s*[=!+:]?=\s*"([^"]*)"', line))
    where = f"{rules_path.name}:{n}"
    if keys.get("SUBSYSTEM") != "usb":
        problems.append(f'{where}: expected SUBSYSTEM=="usb"')
    if keys.get("ATTR{idVendor}") != want_vid:
        problems.append(f'{where}: ATTR{{idVendor}} is {keys.get("ATTR{idVendor}")!r}, '
                        f'expected "{want_vid}" (STANCE_WIRE_VID 0x{vid:04X})')
    if keys.get("ATTR{idProduct}") != want_pid:
        problems.append(f'{where}: ATTR{{idProduct}} is {keys.get("ATTR{idProduct}")!r}, '
                        f'expected "{want_pid}" (STANCE_WIRE_PID 0x{pid:04X})')
    if 'TAG+="uaccess"' not in line.replace(" ", ""):
        problems.append(f'{where}: expected TAG+="uaccess" (access for the seated user)')
    if keys.get("MODE") != "0660" or keys.get("GROUP") != "plugdev":
        problems.append(f'{where}: expected MODE="0660", GROUP="plugdev" (the fallback)')
if not re.match(r"\d\d-", rules_path.name) or int(rules_path.name[:2]) >= 73:
    problems.append(f"{rules_path.name}: must sort before 73-seat-late.rules for uaccess to apply")
for p in problems:
    print(p)
print(f"udev rule: {len(rule_lines)} rule line(s) checked against {want_vid}:{want_pid}, "
      f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
