#!/usr/bin/env python3
"""Fails when a plain-C core source includes GLib, GTK, libadwaita or libusb, or when anything but
the SQLite backend (src/store/stance-store-sqlite.c) includes sqlite3.h: the store interface is the
only way to the database (the seam a PostgreSQL backend would plug into).

The core is src/core/, src/analysis/, calib/ and the plain-C files of src/daq/ (the simulator
physics, the wire protocol and the sample ring) and the firmware. Layers point one way; see docs/DESIGN.md.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
core_globs = [
    "src/core/*.[ch]",
    "src/analysis/*.[ch]",
    "calib/*.[ch]",
    "src/daq/stance-sim*.[ch]",
    "src/daq/stance-wire*.[ch]",
    "src/daq/stance-ring*.[ch]",
    "src/store/stance-c3d*.[ch]",
    "src/store/stance-export-csv*.[ch]",
    "src/store/stance-report*.[ch]",
    "firmware/src/*.[ch]",
    "firmware/src/*/*.[ch]",
    "firmware/tests/*.[ch]",
]
banned = re.compile(r'^\s*#\s*include\s*[<"](glib|gio|gobject|gtk|gdk|adwaita|libusb)', re.M)
bad = []
checked = 0
for g in core_globs:
    for path in sorted(root.glob(g)):
        checked += 1
        for m in banned.finditer(path.read_text(encoding="utf-8")):
            line = path.read_text(encoding="utf-8")[: m.start()].count("\n") + 1
            bad.append(f"{path.relative_to(root)}:{line}: core file includes {m.group(0).strip()}")
sql = re.compile(r'^\s*#\s*include\s*[<"]sqlite3\.h', re.M)
for path in sorted(list(root.glob("src/**/*.[ch]")) + list(root.glob("bench/*.[ch]")) +
                   list(root.glob("calib/*.[ch]"))):
    if path.name == "stance-store-sqlite.c":
        continue
    text = path.read_text(encoding="utf-8")
    for m in sql.finditer(text):
        line = text[: m.start()].count("\n") + 1
        bad.append(f"{path.relative_to(root)}:{line}: only stance-store-sqlite.c may include sqlite3.h")
if checked == 0:
    print("no core sources found under", root)
    sys.exit(1)
for b in bad:
    print(b)
print(f"core purity: {checked} files checked, {len(bad)} violations")
sys.exit(1 if bad else 0)
