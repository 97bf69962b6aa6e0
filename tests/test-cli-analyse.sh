#!/usr/bin/env bash
# tests/test-cli-analyse.sh: `stance-cli analyse` end to end: usage and input errors, a simulated
# recording against its ground truth, every shared text format in tests/data, the JSON document
# (docs/analysis-json.md) checked key by key with python3, CSV and table output, and the issue's
# acceptance check on shiny-vertical-jump's single_trial.csv.
#
#   bash tests/test-cli-analyse.sh /path/to/stance-cli   (STANCE_TEST_DATA: the tests/data folder)
#
# Prints one TAP-like line per check ("ok N - ...", "not ok N - ...") and ends with
# "N passed, M failed"; exits 1 when any check failed.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

# shellcheck source-path=SCRIPTDIR source=cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
DATA=${STANCE_TEST_DATA:-$here/data}
DATA=$(cd "$DATA" && pwd) || exit 1 # the checks run in a temporary folder
cli_lib_init analyse "$@"

version=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" "$here/../meson.build" | head -n 1)
version=${version:-0.1.0}

if [ -z "$PY" ]; then
  echo "1..0 # SKIP python3 is needed to check the JSON documents"
  exit 77
fi

# ---------------------------------------------------------------------------------------------
# The JSON checker: python3 check.py MODE FILE [ARGS]; prints what is wrong, exits 1 if anything.
# ---------------------------------------------------------------------------------------------
cat >check.py <<'EOF'
import json, math, re, sys

problems = []
def bad(msg):
    problems.append(msg)

def reject_constant(name):
    raise ValueError("non-JSON number constant %s" % name)

def load(path):
    text = open(path, encoding="utf-8").read()
    if re.search(r"\b(NaN|-?Infinity)\b", text):
        bad("the text holds NaN or Infinity")
    return json.loads(text, parse_constant=reject_constant)

def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

SLOTS = ("left", "right", "total")

def check_method(m, where):
    if not isinstance(m, dict) or not isinstance(m.get("id"), str) or not m["id"]:
        bad("%s: method without an id" % where)
        return
    if not isinstance(m.get("params"), dict):
        bad("%s: method without params{}" % where)
        return
    for k, v in m["params"].items():
        if not (num(v) or isinstance(v, str)):
            bad("%s: method param %s is %r" % (where, k, v))

def check_asym(a, where):
    if not isinstance(a.get("formula"), str) or not num(a.get("value")):
        bad("%s: asymmetry without formula or value: %r" % (where, a))
    if a.get("stronger") not in ("left", "right", "even"):
        bad("%s: asymmetry stronger is %r" % (where, a.get("stronger")))

def check_metric(mid, m, limbs, where):
    w = "%s metric %s" % (where, mid)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", mid):
        bad("%s: id is not snake_case" % w)
    if not isinstance(m.get("unit"), str) or not m["unit"]:
        bad("%s: no unit" % w)
    check_method(m.get("method"), w)
    for s in SLOTS:
        if s in m and not num(m[s]):
            bad("%s: %s is %r" % (w, s, m[s]))
    if not limbs and ("left" in m or "right" in m or "asymmetry" in m):
        bad("%s: per-limb values in a one-plate recording" % w)
    for s, reason in m.get("absent", {}).items():
        if s not in SLOTS or s in m or not isinstance(reason, str) or not reason:
            bad("%s: absent.%s = %r next to %r" % (w, s, reason, m.get(s)))
    if "asymmetry" in m:
        check_asym(m["asymmetry"], w)
        if "left" not in m or "right" not in m:
            bad("%s: asymmetry without both limbs" % w)

def check_stats(s, where):
    if not isinstance(s.get("n"), int) or s["n"] < 1 or not num(s.get("mean")):
        bad("%s: stats without n or mean: %r" % (where, s))
    if "sd" in s and (not num(s["sd"]) or s["sd"] < 0 or s["n"] < 2):
        bad("%s: sd %r with n %r" % (where, s.get("sd"), s.get("n")))
    if "cv_pct" in s and not num(s["cv_pct"]):
        bad("%s: cv_pct %r" % (where, s["cv_pct"]))

def check_summary(summ, limbs, n_trials, where):
    if not isinstance(summ, dict):
        bad("%s: summary is not an object" % where)
        return
    for mid, e in summ.items():
        w = "%s summary %s" % (where, mid)
        if not isinstance(e.get("unit"), str):
            bad("%s: no unit" % w)
        for s in SLOTS:
            if s in e:
                check_stats(e[s], w + "." + s)
        if "total" in e and "mean" not in e:
            bad("%s: a total but no top-level mean" % w)
        if "mean" in e:
            check_stats(e, w)
        if not limbs and ("left" in e or "right" in e or "asymmetry" in e):
            bad("%s: per-limb statistics in a one-plate recording" % w)
        if "asymmetry" in e:
            check_asym(e["asymmetry"], w)
            dc = e["asymmetry"].get("direction_consistency_pct")
            if dc is not None and not (num(dc) and 0 <= dc <= 100):
                bad("%s: direction_consistency_pct %r" % (w, dc))

def check_analysis(d, where, limbs=None):
    for k in ("input", "protocol", "side", "layout", "asymmetry_formula", "sample_rate_hz",
              "duration_s", "conditioning", "onset_method", "flags", "trials", "metrics",
              "summary"):
        if k not in d:
            bad("%s: no key %s" % (where, k))
    if problems:
        return
    if limbs is None:
        limbs = d["layout"] != "combined"
    if not num(d["sample_rate_hz"]) or d["sample_rate_hz"] <= 0:
        bad("%s: sample_rate_hz %r" % (where, d["sample_rate_hz"]))
    f = d["asymmetry_formula"]
    if f.get("id") not in ("lsi", "pct_diff", "lr_sum", "lr_mean", "sym_angle", "log_ratio"):
        bad("%s: asymmetry_formula %r" % (where, f))
    if "body_weight_n" in d:
        for k in ("body_weight_sd_n", "body_mass_kg", "system_mass_kg"):
            if not num(d.get(k)):
                bad("%s: body_weight_n without %s" % (where, k))
    for fl in d["flags"]:
        if set(fl) != {"id", "severity", "message"} or \
                fl["severity"] not in ("info", "warning", "error"):
            bad("%s: flag %r" % (where, fl))
    check_method(d["conditioning"].get("filter"), where + " conditioning.filter")
    for i, t in enumerate(d["trials"]):
        w = "%s trial %d" % (where, i + 1)
        for k in ("index", "kind", "side", "start_s", "end_s", "events", "flags", "metrics"):
            if k not in t:
                bad("%s: no key %s" % (w, k))
        if problems:
            return
        if t["index"] != i + 1:
            bad("%s: index %r" % (w, t["index"]))
        if not (num(t["start_s"]) and num(t["end_s"]) and t["start_s"] <= t["end_s"]):
            bad("%s: start_s %r end_s %r" % (w, t["start_s"], t["end_s"]))
        for name, ts in t["events"].items():
            if not num(ts):
                bad("%s: event %s = %r" % (w, name, ts))
        for fl in t["flags"]:
            if set(fl) != {"id", "severity", "message"}:
                bad("%s: flag %r" % (w, fl))
        for mid, m in t["metrics"].items():
            check_metric(mid, m, limbs, w)
    for mid, m in d["metrics"].items():
        check_metric(mid, m, limbs, where + " session")
    check_summary(d["summary"], limbs, len(d["trials"]), where)

def head(d, version):
    if d.get("stance_version") != version:
        bad("stance_version %r, expected %r" % (d.get("stance_version"), version))
    if d.get("format") != "stance-analysis" or d.get("format_version") != 1:
        bad("format %r version %r" % (d.get("format"), d.get("format_version")))

mode, path = sys.argv[1], sys.argv[2]
try:
    d = load(sys.argv[3] if mode == "csv" else path)
except (ValueError, OSError) as e:
    print("not valid JSON: %s" % e)
    sys.exit(1)

if mode == "one":
    # one FILE VERSION [MIN_TRIALS]: a single-analysis document
    head(d, sys.argv[3])
    check_analysis(d, "document")
    mt = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    if not problems and len(d["trials"]) < mt:
        bad("%d trials, expected at least %d" % (len(d["trials"]), mt))
    if not problems and d["layout"] != "combined" and d["trials"]:
        if not any("asymmetry" in m for t in d["trials"] for m in t["metrics"].values()):
            bad("no metric of a two-plate recording has an asymmetry")
    if not problems and len(d["trials"]) >= 2:
        if not any("sd" in e and "cv_pct" in e for e in d["summary"].values()):
            bad("%d trials but no summary entry with sd and cv_pct" % len(d["trials"]))
elif mode == "many":
    # many FILE VERSION N: a document with N analyses
    head(d, sys.argv[3])
    if not isinstance(d.get("analyses"), list) or len(d["analyses"]) != int(sys.argv[4]):
        bad("analyses: %r" % (type(d.get("analyses")),))
    else:
        for i, a in enumerate(d["analyses"]):
            check_analysis(a, "analysis %d" % (i + 1))
    comb = d.get("combined")
    if not isinstance(comb, list) or not comb:
        bad("no combined groups")
    else:
        seen = 0
        for g in comb:
            for k in ("protocol", "inputs", "asymmetry_formula", "trials", "summary"):
                if k not in g:
                    bad("combined group without %s" % k)
            if problems:
                break
            seen += len(g["inputs"])
            members = [a for a in d["analyses"] if a["input"] in g["inputs"]]
            limbs = any(a["layout"] != "combined" for a in members)
            check_summary(g["summary"], limbs, len(g["trials"]), "combined " + g["protocol"])
            ntr = sum(len(a["trials"]) for a in members)
            if len(g["trials"]) != ntr:
                bad("combined %s: %d trials, the analyses hold %d"
                    % (g["protocol"], len(g["trials"]), ntr))
        if not problems and seen != len(d["analyses"]):
            bad("combined groups cover %d inputs of %d" % (seen, len(d["analyses"])))
elif mode == "acceptance":
    # shiny-vertical-jump single_trial.csv with --weigh first, against the app's committed output
    # (ref_2019-11-08_cmj_analysis.csv row 1): FP1/FP2 peak force 989.14 / 970.59 N, total
    # 1959.73 N (the same samples, so to 0.01 N), body mass 80.5062395514781 kg, which the app
    # computes as mean(fp1 + fp2 over the first 1000 samples) / 9.81 (README): our body weight over
    # the same window divided by the app's g must give it to 0.01 kg. Our own body_mass_kg uses
    # standard gravity (gravity_m_s2 = 9.80665) and must be body_weight_n / that.
    t = d["trials"][0] if d.get("trials") else {}
    pf = t.get("metrics", {}).get("peak_force", {})
    for slot, ref in (("left", 989.14), ("right", 970.59), ("total", 1959.73)):
        v = pf.get(slot)
        if not num(v) or abs(v - ref) > 0.01:
            bad("peak_force %s = %r, the app says %r" % (slot, v, ref))
    bw = d.get("body_weight_n")
    if not num(bw) or abs(bw / 9.81 - 80.5062395514781) > 0.01:
        bad("body_weight_n %r / 9.81 is not the app's body mass 80.5062 kg" % bw)
    g = d.get("gravity_m_s2")
    if not num(g) or not num(d.get("body_mass_kg")) or abs(d["body_mass_kg"] - bw / g) > 1e-9:
        bad("body_mass_kg %r is not body_weight_n / gravity_m_s2 (%r)" % (d.get("body_mass_kg"), g))
    if pf.get("asymmetry", {}).get("stronger") != "left":
        bad("peak_force: the left plate (989.14 N) is not named stronger: %r" % pf.get("asymmetry"))
    print("peak force L %.2f R %.2f total %.2f N; body weight %.3f N = %.4f kg at g 9.81 "
          "(%.4f kg at %s)" % (pf.get("left", -1), pf.get("right", -1), pf.get("total", -1),
                                bw, bw / 9.81, d.get("body_mass_kg", -1), g))
elif mode == "truth":
    # truth FILE TRUTH: a simulated CMJ against its ground truth: the same number of jumps, each
    # total peak force within 0.5 % (the issue's tolerance with noise), the stronger limb of
    # peak_force as the truth's.
    tr = json.load(open(sys.argv[3]))
    if len(d["trials"]) != len(tr["trials"]):
        bad("%d trials, the truth has %d" % (len(d["trials"]), len(tr["trials"])))
    for a, b in zip(d["trials"], tr["trials"]):
        pa, pb = a["metrics"].get("peak_force", {}), b["metrics"]["peak_force"]
        if not num(pa.get("total")) or abs(pa["total"] - pb["total"]) > 0.005 * pb["total"]:
            bad("trial %d: peak force %r N, truth %.2f N"
                % (a["index"], pa.get("total"), pb["total"]))
        want = "left" if pb["left"] > pb["right"] else "right"
        if pa.get("asymmetry", {}).get("stronger") != want:
            bad("trial %d: stronger %r, truth %s" % (a["index"], pa.get("asymmetry"), want))
elif mode == "csv":
    # csv FILE JSON: the CSV of the same analyses as the JSON document: one header, one row per
    # trial and metric plus the session metrics, 15 fields, numbers with a dot.
    import csv
    rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
    want_head = ["input", "trial", "kind", "side", "start_s", "end_s", "metric", "unit", "method",
                 "left", "right", "total", "asym_formula", "asym_value", "stronger"]
    if not rows or rows[0] != want_head:
        bad("header %r" % (rows[0] if rows else None))
    analyses = d["analyses"] if "analyses" in d else [d]
    want = sum(len(t["metrics"]) for a in analyses for t in a["trials"]) + \
        sum(len(a["metrics"]) for a in analyses)
    if len(rows) - 1 != want:
        bad("%d data rows, the JSON has %d metrics" % (len(rows) - 1, want))
    numre = re.compile(r"^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$")
    for r in rows[1:]:
        if len(r) != 15:
            bad("row with %d fields: %r" % (len(r), r))
            break
        for k in (4, 5, 9, 10, 11, 13):
            if r[k] and not numre.match(r[k]):
                bad("field %s is not a dot-decimal number: %r" % (want_head[k], r[k]))
                break
    # The values agree with the JSON, to the last bit: every value of every trial metric of the
    # first analysis (an absent value is an empty cell).
    a = analyses[0]
    for t in a["trials"]:
        for mid, m in t["metrics"].items():
            r = [r for r in rows[1:]
                 if r[0] == a["input"] and r[1] == str(t["index"]) and r[6] == mid]
            if len(r) != 1:
                bad("trial %d %s: %d CSV rows" % (t["index"], mid, len(r)))
                continue
            for k, s in ((9, "left"), (10, "right"), (11, "total")):
                if (float(r[0][k]) if r[0][k] else None) != m.get(s):
                    bad("trial %d %s %s: CSV %r, JSON %r" % (t["index"], mid, s, r[0][k], m.get(s)))
elif mode == "get":
    # get FILE EXPR: prints a value (for the shell)
    print(eval(sys.argv[3], {"d": d}))
    sys.exit(0)

for p in problems[:12]:
    print(p)
sys.exit(1 if problems else 0)
EOF
# json_ok DESC FILE MODE ARGS...: the checker's verdict as one test line.
json_ok() {
  local desc=$1
  shift
  local msg
  msg=$("$PY" check.py "$@" 2>&1)
  check "$desc" "$msg" [ $? -eq 0 ]
}

# ---------------------------------------------------------------------------------------------
# Help and usage errors
# ---------------------------------------------------------------------------------------------
run analyse --help
missing=""
for o in protocol side front involved formula load onset takeoff filter weigh weigh-window \
  rfd-window rate columns skip-lines delimiter decimal-comma swap-sides scale format compact \
  output help; do
  has "$out" "--$o( |$)" || missing="$missing --$o"
done
check "'analyse --help' exits 0 and documents every option" "exit $rc; missing:$missing" \
  [ "$rc" -eq 0 -a -z "$missing" ]
check "the help lists the onset rules, formulas and protocols" "$out" \
  eval 'has "$out" "bw-5sd-30ms" && has "$out" "pct_diff" && has "$out" "split-squat" &&
    has "$out" "^Examples:"'
run --help
check "'stance-cli --help' lists analyse" "$out" has "$out" "^  analyse "
run help analyse
check "'help analyse' prints its usage" "exit $rc" eval '[ "$rc" -eq 0 ] &&
  has "$out" "^Usage: stance-cli analyse"'

ST=$DATA/shiny-vertical-jump/single_trial.csv
# usage ARGS... -- OPTION: exit 2, the message names OPTION.
usage() {
  local opt=${!#}
  local args=("${@:1:$#-2}")
  run_quick analyse "${args[@]}"
  check "analyse ${args[*]}: bad usage naming $opt (exit 2)" "exit $rc; stderr: $err" \
    eval '[ "$rc" -eq 2 ] && has "$err" "^stance-cli analyse: .*$opt"'
}
usage --format xml "$ST" -- "--format: 'xml'"
usage --onset sideways "$ST" -- "--onset: 'sideways' is not an onset rule"
usage --onset bw-0sd "$ST" -- "--onset: 'bw-0sd'"
usage --filter butter:3:10 "$ST" -- "--filter: 'butter:3:10': order 3"
usage --filter lowpass "$ST" -- "--filter: 'lowpass' is not a filter"
usage --formula golden "$ST" -- "--formula: 'golden'"
usage --involved both "$ST" -- "--involved: 'both'"
usage --takeoff -5 "$ST" -- "--takeoff: '-5'"
usage --weigh median "$ST" -- "--weigh: 'median'"
usage --rate fast "$ST" -- "--rate: 'fast'"
usage --protocol hopscotch "$ST" -- "--protocol: 'hopscotch'"
usage --protocol cmj --side left "$ST" -- "--protocol cmj is bilateral"
usage --no-such-option "$ST" -- "unknown option '--no-such-option'"
usage --format -- "option '--format' needs a value"
usage --format json -- "no file given"
# A cutoff at or above the Nyquist frequency of this file (1000 Hz: 500 Hz) is bad usage too; it
# is found after the file is read (under memcheck in the valgrind run).
run analyse --filter butter:600 -o o.json "$ST"
check "analyse --filter butter:600 on a 1000 Hz file: bad usage naming --filter (exit 2)" \
  "exit $rc; stderr: $err" eval '[ "$rc" -eq 2 ] &&
    has "$err" "^stance-cli analyse: --filter: a cutoff of 600 Hz is not below half the sample"'
check "nothing is written after a usage error" "$(ls)" [ ! -e o.json ]

# ---------------------------------------------------------------------------------------------
# Unreadable and corrupt input: exit 1, the message names the file
# ---------------------------------------------------------------------------------------------
run analyse no-such-file.stance
expect_rc "a missing file is bad input" 1
check "the message names the missing file" "$err" \
  has "$err" "^stance-cli analyse: .*no-such-file\.stance"
printf 'time,fz\n0.000,abc\n0.001,12.5\n' >garbage.csv
run analyse garbage.csv
expect_rc "an unparseable text file is bad input" 1
check "the message names the text file" "$err" has "$err" "^stance-cli analyse: garbage\.csv"
mkdir folder.stance
run analyse folder.stance
expect_rc "a folder is bad input" 1

# ---------------------------------------------------------------------------------------------
# A simulated CMJ: JSON against the ground truth, table, CSV
# ---------------------------------------------------------------------------------------------
run simulate --protocol cmj --reps 3 --asymmetry 10 --seed 5 -o cmj.stance
expect_rc "simulate a 3-jump CMJ with 10 % asymmetry" 0
run analyse --format json cmj.stance
expect_rc "analyse --format json cmj.stance" 0
cp stdout cmj.json
json_ok "cmj.json: a valid document with every key of docs/analysis-json.md, 3 trials" \
  one cmj.json "$version" 3
json_ok "cmj.json: 3 jumps, peak forces within 0.5 % of the truth, the truth's stronger limb" \
  truth cmj.json cmj.truth.json
check "the JSON names the input" "$(head -c 400 cmj.json)" grep -q '"input": "cmj.stance"' cmj.json

# -o and --compact: not repeated under valgrind (the same writer as stdout).
same_data() {
  [ "$rc" -eq 0 ] && [ "$(wc -l <stdout)" -eq 1 ] &&
    "$PY" -c 'import json, sys
sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' cmj.json stdout
}
if [ "$VALGRIND" = 0 ]; then
  run analyse --format json -o cmj-o.json cmj.stance
  check "-o writes the same document and nothing to stdout" \
    "exit $rc; stdout: $(head -c 200 stdout)" \
    eval '[ "$rc" -eq 0 ] && [ ! -s stdout ] && cmp -s cmj.json cmj-o.json'
  run analyse --format json --compact cmj.stance
  check "--compact: one line, the same data" "exit $rc; $(wc -l <stdout) lines" same_data
fi

run analyse cmj.stance
table=$out
check "table: protocol, formula, per-trial asymmetry and the summary" "$table" \
  eval 'has "$table" "^  protocol +cmj \(Countermovement jump\), bilateral" &&
    has "$table" "^  asymmetry +lr_sum = \(L - R\) / \(L \+ R\) \* 100" &&
    has "$table" "^Trial 3: jump" &&
    has "$table" "peak_force +N +[0-9.]+ +[0-9.]+ +[0-9.]+ +-?[0-9.]+ % +(left|right)" &&
    has "$table" "^Summary over 3 trials"'
check "table: jump heights in cm and times in ms, and it says so" "$table" \
  eval 'has "$table" "jump_height_impulse +cm " && has "$table" "time_to_takeoff +ms " &&
    has "$table" "heights and distances in cm, durations in ms"'
# The jump height in the table is the JSON's metres x 100, rounded to 0.1 cm.
jh_json=$("$PY" check.py get cmj.json \
  'round(d["trials"][0]["metrics"]["jump_height_impulse"]["total"] * 100, 1)')
jh_table=$(printf '%s\n' "$table" | awk '$1 == "jump_height_impulse" { print $5; exit }')
check "table jump height $jh_table cm = JSON's $jh_json cm" "" \
  awk -v a="$jh_json" -v b="$jh_table" 'BEGIN { exit !(a != "" && a + 0 == b + 0) }'

run analyse --format csv cmj.stance
cp stdout cmj.csv
json_ok "CSV: the header, one row per trial metric and session metric, dot decimals" \
  csv cmj.csv cmj.json

# Locale: a decimal-comma locale changes nothing in JSON and CSV (test-cli.sh explains the setup).
loc=""
locpath=""
for l in de_DE.UTF-8 de_DE.utf8 fr_FR.UTF-8; do
  if [ "$(env LC_ALL="$l" printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]; then loc=$l; break; fi
done
if [ -z "$loc" ] && [ "$VALGRIND" = 0 ] && command -v localedef >/dev/null 2>&1; then
  mkdir -p "$tmp/locale"
  if localedef -i de_DE -f UTF-8 "$tmp/locale/de_DE.UTF-8" >/dev/null 2>&1 &&
    [ "$(env LOCPATH="$tmp/locale" LC_ALL=de_DE.UTF-8 printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]
  then
    loc=de_DE.UTF-8
    locpath=$tmp/locale
  fi
fi
if [ "$VALGRIND" = 1 ]; then
  ok "CSV under a decimal-comma locale # SKIP not repeated under valgrind"
elif [ -n "$loc" ]; then
  env ${locpath:+LOCPATH="$locpath"} LC_ALL="$loc" "${RUN[@]}" analyse --format csv cmj.stance \
    >cmj-loc.csv 2>/dev/null
  check "CSV under LC_ALL=$loc is byte for byte the C-locale CSV" \
    "$(diff cmj.csv cmj-loc.csv | head)" \
    cmp -s cmj.csv cmj-loc.csv
else
  ok "CSV under a decimal-comma locale # SKIP no decimal-comma locale could be set up"
fi

# Corrupt and truncated .stance files name the file.
size=$(wc -c <cmj.stance)
cp cmj.stance corrupt.stance
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 corrupt.stance | tr -d ' ')
printf "$(printf '\\%03o' $(((byte ^ 0x5a) & 255)))" |
  dd of=corrupt.stance bs=1 seek="$off" conv=notrunc status=none
run analyse corrupt.stance
check "a .stance with a flipped byte is bad input naming the file (exit 1)" "exit $rc: $err" \
  eval '[ "$rc" -eq 1 ] &&
    has "$err" "^stance-cli analyse: corrupt\.stance: .*(corrupt|CRC|checksum)"'
head -c $((size - 100)) cmj.stance >cut.stance
run analyse cut.stance
check "a truncated .stance is bad input naming the file (exit 1)" "exit $rc: $err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "^stance-cli analyse: cut\.stance: "'
# A bad file among good ones: the good one is still analysed, the status is 1.
run analyse --format json cmj.stance no-such-file.stance
check "a missing file among good ones: exit 1, the good analysis still printed" "exit $rc: $err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "no-such-file\.stance" &&
    grep -q "\"input\": \"cmj.stance\"" stdout'

# ---------------------------------------------------------------------------------------------
# The issue's acceptance check: single_trial.csv as the shiny-vertical-jump app weighs it
# ---------------------------------------------------------------------------------------------
run analyse --format json "$ST" --weigh first
expect_rc "analyse --format json single_trial.csv --weigh first" 0
cp stdout st.json
json_ok "single_trial.csv: a valid document" one st.json "$version" 1
msg=$("$PY" check.py acceptance st.json 2>&1)
check "single_trial.csv: peak forces 989.14 / 970.59 N and body mass 80.5062 kg (to 0.01)" \
  "$msg" [ $? -eq 0 ]
echo "# $msg" | head -n 1

# ---------------------------------------------------------------------------------------------
# Every shared text format
# ---------------------------------------------------------------------------------------------
# name|options|file|one-plate (1) or two plates (0)|analyses|protocol
cases="
shiny long|--protocol cmj|shiny-vertical-jump/long_1.csv|0|1|cmj
shiny wide (4 trials)|--protocol sj|shiny-vertical-jump/wide_data.csv|0|4|sj
plateforce|--rate 1200 --protocol cmj|plateforce/subject01_trial1.force.txt|1|1|cmj
ACL squat jump|--protocol sj|ACL_squat_jump/BFR003_squat_jump.csv|0|1|sj
Vertical-Jumps dual|--protocol cmj|Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt|0|1|cmj
Vertical-Jumps single|--protocol cmj|Vertical-Jumps-Fz-Automated-Analysis/Single-CMJ-Fz.txt|1|1|cmj
Vertical-Jumps drop jump|--protocol dj|Vertical-Jumps-Fz-Automated-Analysis/Dual-DJ-Fz.txt|0|1|dj
IsometricAnalyzer|--protocol imtp|IsometricAnalyzer/Example1.csv|1|1|imtp
"
if [ "$VALGRIND" = 1 ]; then
  # memcheck is ~30x slower: one two-plate and one one-plate file cover the code paths.
  cases="
Vertical-Jumps dual|--protocol cmj|Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt|0|1|cmj
plateforce|--rate 1200 --protocol cmj|plateforce/subject01_trial1.force.txt|1|1|cmj
"
fi
while IFS='|' read -r name opts f oneplate nan proto; do
  [ -z "$name" ] && continue
  if [ ! -f "$DATA/$f" ]; then
    not_ok "analyse $name" "missing test data file $DATA/$f"
    continue
  fi
  # shellcheck disable=SC2086
  run analyse --format json $opts "$DATA/$f"
  if [ "$rc" -ne 0 ]; then
    not_ok "analyse $name ($f): exit 0" "exit $rc: $err"
    continue
  fi
  cp stdout case.json
  if [ "$nan" = 1 ]; then
    json_ok "$name: a valid $proto document with trials" one case.json "$version" 1
    layout=$("$PY" check.py get case.json 'd["layout"]')
  else
    json_ok "$name: one document with $nan analyses and their combined summary" \
      many case.json "$version" "$nan"
    layout=$("$PY" check.py get case.json 'd["analyses"][0]["layout"]')
  fi
  if [ "$oneplate" = 1 ]; then
    check "$name: one combined force, so no left/right keys at all" "layout $layout" \
      eval '[ "$layout" = combined ] && ! grep -Eq "\"(left|right)\":" case.json'
  else
    check "$name: two plates, per-limb values present" "layout $layout" \
      eval '[ "$layout" != combined ] && grep -q "\"left\":" case.json'
  fi
  [ "$VALGRIND" = 1 ] && continue # the CSV writer is checked under memcheck on cmj.stance
  # shellcheck disable=SC2086
  run analyse --format csv $opts "$DATA/$f"
  cp stdout case.csv
  json_ok "$name: CSV rows match the JSON" csv case.csv case.json
done <<EOF
$cases
EOF

# ---------------------------------------------------------------------------------------------
# Options that change the document, and awkward file names
# ---------------------------------------------------------------------------------------------
run analyse --format json --involved left cmj.stance
cp stdout lsi.json
# LSI = involved / uninvolved x 100: with the left limb involved, left / right x 100.
lsi=$("$PY" check.py get lsi.json '(lambda pf: " ".join([d["asymmetry_formula"]["id"],
  d["involved"], pf["asymmetry"].get("involved", "-"), "%.6f" % pf["asymmetry"]["value"],
  "%.6f" % (pf["left"] / pf["right"] * 100)]))(d["trials"][0]["metrics"]["peak_force"])')
set -- $lsi
lsi_ok() {
  [ "${1:-}" = lsi -a "${2:-}" = left -a "${3:-}" = left -a -n "${4:-}" -a "${4:-}" = "${5:-}" ]
}
check "--involved left: lsi, involved named, peak force LSI = left / right x 100 (${4:-} %)" \
  "got: $lsi" lsi_ok "$@"
json_ok "--involved left: still a valid document" one lsi.json "$version" 3

# A name with a comma and quotes is one quoted CSV field; a name that is not UTF-8 becomes U+FFFD in
# the JSON (which must stay valid UTF-8).
odd_ok() {
  [ "$rc" -eq 0 ] && "$PY" -c 'import csv, sys
rows = list(csv.reader(open("odd.csv", newline="")))
name = "odd, \"name\".stance"
sys.exit(not (len(rows) > 1 and all(len(r) == 15 and r[0] == name for r in rows[1:])))'
}
if [ "$VALGRIND" = 0 ]; then
  cp cmj.stance 'odd, "name".stance'
  run analyse --format csv 'odd, "name".stance'
  cp stdout odd.csv
  check "CSV: a file name with a comma and quotes is one quoted field" "$(head -n 2 odd.csv)" odd_ok
fi
bad_name=$(printf 'bad\377name.stance')
cp cmj.stance "$bad_name"
run analyse --format json "$bad_name"
cp stdout badname.json
got_name=$("$PY" check.py get badname.json 'd["input"]')
check "JSON: a file name that is not UTF-8 is written with U+FFFD" "exit $rc: $err; $got_name" \
  [ "$rc" -eq 0 -a "$got_name" = "bad"$'\xef\xbf\xbd'"name.stance" ]

# ---------------------------------------------------------------------------------------------
# Several files at once
# ---------------------------------------------------------------------------------------------
run simulate --protocol dj --reps 2 --seed 2 -o dj.stance
run analyse --format json cmj.stance dj.stance
cp stdout two.json
groups=$("$PY" check.py get two.json '" ".join(g["protocol"] for g in d["combined"])')
json_ok "a cmj and a dj file: one document with both analyses" many two.json "$version" 2
check "... and one combined group per protocol, in order: cmj dj" "groups: $groups" \
  [ "$groups" = "cmj dj" ]
if [ "$VALGRIND" = 1 ]; then
  echo "$passed passed, $failed failed (valgrind: the three-file runs are not repeated)"
  [ "$failed" -eq 0 ]
  exit
fi
VJ=$DATA/Vertical-Jumps-Fz-Automated-Analysis
run analyse --format json --protocol cmj "$ST" "$VJ/Dual-CMJ-Fz.txt" cmj.stance
expect_rc "analyse --format json of three CMJ files" 0
cp stdout many.json
json_ok "three files: one document, three analyses, one combined cmj group over all trials" \
  many many.json "$version" 3
ngroups=$("$PY" check.py get many.json 'len(d["combined"])')
check "the combined group is one cmj group" "groups: $ngroups" [ "$ngroups" = 1 ]
run analyse --format csv --protocol cmj "$ST" "$VJ/Dual-CMJ-Fz.txt" cmj.stance
cp stdout many.csv
json_ok "three files as CSV: one header, every row" csv many.csv many.json
check "the CSV has exactly one header row" "" \
  [ "$(grep -c '^input,trial,kind' many.csv)" -eq 1 ]
run analyse --protocol cmj "$ST" cmj.stance
check "table of two files: both analyses, then the combined summary" "$out" \
  eval '[ "$rc" -eq 0 ] && [ "$(printf "%s\n" "$out" | grep -c "^Analysis of ")" -eq 2 ] &&
    has "$out" "^Combined: cmj, 2 analyses" && has "$out" "^Summary over 4 trials"'

check "... and the between-sessions block with TE, SWC and MDC95" "$out" \
  eval 'has "$out" "^Between sessions" && has "$out" "MDC95"'
# Between sessions in JSON: the change is last - first and the flags follow the thresholds.
bs=$("$PY" check.py get many.json '" ".join(str(int(abs(b["change"] - (b["last_mean"] - b["first_mean"])) < 1e-9 and b["sessions"] == 3 and b["exceeds_mdc95"] == (abs(b["change"]) > b["mdc95"]))) for b in [d["combined"][0]["between_sessions"]["peak_force"]])')
check "JSON between_sessions: peak_force over 3 sessions, change = last - first, exceeds_mdc95 consistent" \
  "got: $bs" [ "$bs" = 1 ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
