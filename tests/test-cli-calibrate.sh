#!/usr/bin/env bash
# tests/test-cli-calibrate.sh: `stance-cli calibrate` end to end against the simulated board's
# ground truth: a guided session of the simulated board (--sim --yes --fast) recovers the true
# gains and offsets written by --sim-truth and PASSES; a non-linear cell and a cell wired to the
# other plate FAIL naming the cell; the session saved with --save-session calibrates again with
# --from to the same gains; records land in the store with increasing sequence numbers and
# `--list` shows them; a step that is never steady is refused and repeated; Ctrl-C and SIGTERM
# save nothing; bad inputs (a CMJ recording, a text file, a bad plan file, a plan that does not
# match the session, unknown options, no board) give clear errors.
#
#   bash tests/test-cli-calibrate.sh /path/to/stance-cli
#
# The device path (--device, --write-board) needs a board: here it is exercised only as far as
# "no such board" (docs/calibration.md, "Calibrating with stance-cli", says what was run where).
#
# Prints one TAP-like line per check ("ok N - ...", "not ok N - ...") and ends with
# "N passed, M failed"; exits 1 when any check failed.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

# shellcheck source-path=SCRIPTDIR source=cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
cli_lib_init calibrate "$@"

# Nothing may touch the user's real store: the default database lives under XDG_DATA_HOME.
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/xdg"
unset STANCE_DB
mkdir -p "$HOME"

if [ -z "$PY" ]; then
  not_ok "python3 is needed to read the JSON outputs (meson itself runs on it)"
  echo "$passed passed, $failed failed"
  exit 1
fi

# The simulated sessions of the checks that only need a verdict are shorter (500 Hz, 2 s steps,
# 4 s zero): a fifth of the samples of the default session, quick under memcheck too.
SHORT=(--rate 500 --hold 2 --zero-hold 4)

# ---------------------------------------------------------------------------------------------
# Help
# ---------------------------------------------------------------------------------------------
run_quick calibrate --help
check "calibrate --help: exit 0, the modes and the exit status" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "--from FILE" && has "$out" "--device SERIAL" &&
    has "$out" "--sim " && has "$out" "--list" && has "$out" "--write-board" &&
    has "$out" "FAILED verification"'
run_quick help calibrate
check "stance-cli help calibrate is calibrate --help" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Usage: stance-cli calibrate"'

# ---------------------------------------------------------------------------------------------
# A healthy simulated board: the true gains are recovered, PASSED
# ---------------------------------------------------------------------------------------------
run calibrate --sim --yes --fast --seed 4 --sim-truth truth.json -o pass.json --db cal.db \
  --save-session session.stance
expect_rc "calibrate --sim --yes --fast (healthy board)" 0
printf '%s\n' "$out" >pass.txt
check "the report says PASSED and names the record SIM-0001-<date>-1" "$out" \
  eval 'has "$out" "^Result: PASSED$" && has "$out" "^Calibration SIM-0001-[0-9]{4}-[0-9]{2}-[0-9]{2}-1 of board SIM-0001$"'
check "the guidance names the steps and where the masses go (stderr)" "$err" \
  eval 'has "$err" "^Step 1 of 61: empty both plates" &&
    has "$err" "^Step 2 of 61: put 20 kg on the LEFT plate, centre \\(x 0 mm, y 0 mm\\)$" &&
    has "$err" "^Step 3 of 61: add 30 kg on the LEFT plate, centre \\(x 0 mm, y 0 mm\\): 50 kg in all$" &&
    has "$err" "^Step 8 of 61: put 20 kg on the LEFT plate, front-left corner \\(x -119 mm, y \\+189 mm\\)$" &&
    has "$err" "^All 61 steps recorded" && ! has "$err" "does not look as planned"'
check "the report has every cell, both plates' figures against their limits, every position" "$out" \
  eval 'has "$out" "^  l1 left plate cell 1 \\(front-left\\) +0\\.000[0-9]+ \\+- 0\\.0000000[0-9]+" &&
    has "$out" "^  r4 right plate cell 4 \\(rear-left\\) " &&
    has "$out" "^  force error +0\\.[0-9]+ % FS  ok +0\\.[0-9]+ % FS  ok +0\\.5 % FS$" &&
    has "$out" "^  CoP error +[0-9.]+ mm  ok" && has "$out" "^  hysteresis " &&
    has "$out" "^  left rear-left corner \\(x -119 mm, y -189 mm\\)" && has "$out" "^Faults: none$"'
check "it says where the record was saved" "$err" has "$err" "^Saved calibration SIM-0001-.*-1 in cal\\.db\\.$"

# Ground truth. Gains: within 3 standard errors of the true gain (a correct SE covers it 99.7 %
# of the time; the seed is fixed, so the run is reproducible) and within 0.1 % (a fifth of the
# 0.5 % FS force-error limit; the expected error is ~0.001 %). Offsets: within 3 SE and 20 counts
# (0.008 N). The report's printed gains (10 decimals) must be the JSON's, rounded.
got=$("$PY" - truth.json pass.json pass.txt <<'EOF' 2>&1
import json, re, sys
truth = json.load(open(sys.argv[1]))
res = json.load(open(sys.argv[2]))
text = open(sys.argv[3]).read()
bad = []
assert res["passed"] is True and res["format"] == "stance-calibration"
for t, r in zip(truth["cells"], res["cells"]):
    assert t["channel"] == r["channel"]
    g, se, gt = r["gain_n_per_count"], r["gain_se_n_per_count"], t["gain_n_per_count"]
    if not (0 < se < 1e-4 * gt and abs(g - gt) <= 3 * se and abs(g - gt) <= 1e-3 * gt):
        bad.append("%s gain %.10g true %.10g SE %.3g" % (t["id"], g, gt, se))
    o, so, ot = r["offset_counts"], r["offset_se_counts"], t["offset_counts"]
    if not (so > 0 and abs(o - ot) <= 3 * so and abs(o - ot) <= 20):
        bad.append("%s offset %.2f true %.0f SE %.2f" % (t["id"], o, ot, so))
    m = re.search(r"^  %s .*?(0\.\d{10}) \+- (0\.\d{10})" % t["id"], text, re.M)
    if not m or abs(float(m.group(1)) - g) > 0.6e-10 or abs(float(m.group(1)) - gt) > 3 * se + 1e-10:
        bad.append("%s printed gain %s" % (t["id"], m.group(1) if m else "missing"))
print("ok" if not bad else "; ".join(bad))
EOF
)
check "gains and offsets equal the simulator's truth within 3 SE (0.1 %, 20 counts)" "$got" [ "$got" = ok ]
got=$("$PY" -c '
import json, sys
t = json.load(open(sys.argv[1]))
ok = t["format"] == "stance-sim-calibration-truth" and t["seed"] == 4 and \
    all(c["reads_cell"] == c["id"] for c in t["cells"]) and t["nonlinear_cell"] is None
print("ok" if ok else t)' truth.json 2>&1)
check "--sim-truth: the healthy board's wiring, seed 4" "$got" [ "$got" = ok ]
# Without --sim-* options the true gains are stance_sim_calibration()'s (docs/simulator.md, the
# table `simulate` prints in CSV headers): l1 0.0004084, r4 0.0004116.
got=$("$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))["cells"]
print("ok" if c[0]["gain_n_per_count"] == 0.0004084 and c[7]["gain_n_per_count"] == 0.0004116 else c)' \
  truth.json 2>&1)
check "the default true gains are the simulator's calibration" "$got" [ "$got" = ok ]

# ---------------------------------------------------------------------------------------------
# The saved session calibrates again offline, to the same gains
# ---------------------------------------------------------------------------------------------
run info --json session.stance
check "the saved session is a CELLS recording of board SIM-0001 with no protocol" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "\"layout\": \"cells\"" && has "$out" "\"protocol\": null" &&
    has "$out" "\"board_serial\": \"SIM-0001\"" && has "$out" "\"calib.session\": \"guided\""'
run calibrate --from session.stance --db cal.db -o from.json
expect_rc "calibrate --from the saved session" 0
check "--from: PASSED, steps found in the recording, sequence 2 of the day" "$out" \
  eval 'has "$out" "^Result: PASSED$" && has "$out" "steps found in the recording" &&
    has "$out" "^Calibration SIM-0001-[0-9-]+-2 of board SIM-0001$"'
# Both calibrations average almost the same samples (automatic segmentation places each step's
# edges within ~25 ms of the guided spans): their gains agree within 2 SE of either.
got=$("$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))["cells"]
b = json.load(open(sys.argv[2]))["cells"]
bad = ["%d: %.10g vs %.10g" % (x["channel"], x["gain_n_per_count"], y["gain_n_per_count"])
       for x, y in zip(a, b)
       if abs(x["gain_n_per_count"] - y["gain_n_per_count"]) > 2 * x["gain_se_n_per_count"]]
print("ok" if not bad else bad)' pass.json from.json 2>&1)
check "--from gives the guided session's gains within 2 SE" "$got" [ "$got" = ok ]

# ---------------------------------------------------------------------------------------------
# Faults: a non-linear cell, a cell wired to the other plate's input
# ---------------------------------------------------------------------------------------------
run calibrate --sim --yes --fast "${SHORT[@]}" --sim-nonlinear l2 -o nl.json --db faults.db
expect_rc "a non-linear cell (l2, 0.1 per kN)" 1
check "it FAILS and names the cell: left plate, front-right cell (l2), non-linear" "$out" \
  eval 'has "$out" "^Result: FAILED$" &&
    has "$out" "^  - left plate, front-right cell \\(l2\\): non-linear, 0\\.[0-9]+ % FS from a straight line$"'
check "stderr says the calibration FAILED verification" "$err" \
  has "$err" "^stance-cli calibrate: the calibration FAILED verification: "
got=$("$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
f = r["verification"]["faults"]
print("ok" if not r["passed"] and [(x["kind"], x["channel"]) for x in f] == [("nonlinear", 1)] else f)' \
  nl.json 2>&1)
check "the JSON holds one fault: nonlinear, channel 1 (l2)" "$got" [ "$got" = ok ]

run calibrate --sim --yes --fast "${SHORT[@]}" --sim-miswire r4 -o mw.json --db faults.db
expect_rc "a cell wired to the other plate (r4 <-> l4)" 1
check "it FAILS and names the miswiring of both cells" "$out" \
  eval 'has "$out" "^Result: FAILED$" &&
    has "$out" "^  - left plate, rear-left cell \\(l4\\): looks wired to the right plate.s input, and the right plate, rear-left cell \\(r4\\) to the left plate.s" &&
    has "$out" "swap their connectors"'
check "the guided checks saw the load on the wrong plate and kept the steps (no one to ask)" "$err" \
  eval 'has "$err" "the right plate reads [0-9.]+ N \\([0-9.]+ kg\\) while only the left plate should be loaded" &&
    has "$err" "kept \\(no one to ask\\)"'
got=$("$PY" -c '
import json, sys
f = json.load(open(sys.argv[1]))["verification"]["faults"]
print("ok" if [(x["kind"], sorted([x["channel"], x["other_channel"]])) for x in f] == [("wrong-plate", [3, 7])] else f)' \
  mw.json 2>&1)
check "the JSON holds one fault: wrong-plate, channels 3 and 7" "$got" [ "$got" = ok ]
check "the miswired calibration is not stored: l4 and r4 were left out of the fit" "$err" \
  has "$err" "not saved in the store: cells l4 and r4 gave no response to their plates. loads and were left out of the fit"

# A step that is never steady (30 N/min of drift on every cell moves the empty plates by ~9 N
# within a step) is refused and repeated; with no one to ask, the third refusal stops the session.
run calibrate --sim --yes --fast "${SHORT[@]}" --sim-drift 30 --no-store --save-session drift.stance
expect_rc "a drifting board: step 1 refused three times" 1
check "the refusal says why and the step is repeated, nothing saved" "$err" \
  eval 'has "$err" "refused: step 1 \\(both plates empty\\): the left plate.s reading moved by" &&
    [ "$(printf "%s\n" "$err" | grep -c "^Step 1 of 61 (again)")" -eq 2 ] &&
    has "$err" "step 1 was refused 3 times" && has "$err" "nothing saved" && [ ! -e drift.stance ]'

# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------
run calibrate --list --db cal.db
expect_rc "calibrate --list" 0
check "--list: the two calibrations, newest first, passed, not on a board" "$out" \
  eval '[ "$(printf "%s\n" "$out" | wc -l)" -eq 3 ] && has "$out" "^ID +CREATED +RESULT" &&
    [ "$(printf "%s\n" "$out" | sed -n "2p" | grep -Ec "^SIM-0001-[0-9-]+-2 .* passed .* no$")" -eq 1 ] &&
    [ "$(printf "%s\n" "$out" | sed -n "3p" | grep -Ec "^SIM-0001-[0-9-]+-1 .* passed .* no$")" -eq 1 ]'
# The stored figures are the result's: the listed force error is the JSON's worst plate.
want=$("$PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))["plates"]
print("%.3f %% FS" % max(x["max_force_error_pct_fs"] for x in p))' pass.json)
check "--list shows the stored force error of the first ($want)" "$out" \
  eval 'printf "%s\n" "$out" | grep -E -- "-1 " | grep -qF -- "$want"'
# The miswired board's calibration has a cell left out of its fit (gain 0): not a usable
# calibration, so it is not stored (and says so); the non-linear one is.
run calibrate --list --db faults.db --serial SIM-0001
check "--list --serial: the non-linear board's calibration, FAILED with 1 fault" "$out" \
  eval '[ "$rc" -eq 0 ] && [ "$(printf "%s\n" "$out" | wc -l)" -eq 2 ] &&
    has "$out" "^SIM-0001-[0-9-]+-1 .* FAILED .* 1 +no$"'
run calibrate --list --db cal.db --serial SN-0042
check "--list of a board with none says so" "$out" \
  eval '[ "$rc" -eq 0 ] && [ "$out" = "No calibrations of board SN-0042 in cal.db." ]'

# The default store is under XDG_DATA_HOME (set to the test folder above), never the user's.
run calibrate --from session.stance --no-store -o nostore.json
check "--no-store: calibrated, nothing saved" "$err" \
  eval '[ "$rc" -eq 0 ] && ! has "$err" "Saved calibration" && [ ! -e "$XDG_DATA_HOME/stance/stance.db" ]'
run calibrate --from session.stance
check "without --db the record goes to \$XDG_DATA_HOME/stance/stance.db (sequence 1 there)" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ -s "$XDG_DATA_HOME/stance/stance.db" ] &&
    has "$out" "^Calibration SIM-0001-[0-9-]+-1 of board SIM-0001$"'

# ---------------------------------------------------------------------------------------------
# Interrupted guided sessions save nothing
# ---------------------------------------------------------------------------------------------
wait_s=2
[ "$VALGRIND" = 1 ] && wait_s=20
interrupt() { # interrupt SIGNAL: a paced session, SIGNAL after wait_s; sets rc/out/err
  "${RUN[@]}" calibrate --sim --yes "${SHORT[@]}" --db int.db --save-session int.stance \
    -o int.json --sim-truth int-truth.json >"$tmp/stdout" 2>"$tmp/stderr" &
  local pid=$!
  sleep "$wait_s"
  kill -s "$1" "$pid"
  wait "$pid"
  rc=$?
  out=$(cat "$tmp/stdout")
  err=$(cat "$tmp/stderr")
}
interrupt INT
expect_rc "Ctrl-C (SIGINT) during a guided session" 130
if [ "$VALGRIND" = 0 ]; then
  # Paced by the clock (no --fast), the first zero is held 4 s: 2 s in, the session is still at
  # step 1 (unpaced, the whole session takes about a second).
  check "paced by the clock: interrupted 2 s in, still at step 1 (the zero is held 4 s)" "$err" \
    has "$err" "at step 1 of 61: nothing saved"
fi
check "SIGINT: says so, nothing saved (no session, no JSON, no truth, no record)" "$err" \
  eval 'has "$err" "interrupted \\(Ctrl-C\\) at step [0-9]+ of 61: nothing saved" &&
    [ ! -e int.stance ] && [ ! -e int.json ] && [ ! -e int-truth.json ] && [ -z "$out" ] &&
    [ "$("$CLI" calibrate --list --db int.db)" = "No calibrations in int.db." ]'
interrupt TERM
check "SIGTERM: exit 130, nothing saved" "$err" \
  eval '[ "$rc" -eq 130 ] && has "$err" "interrupted \\(SIGTERM\\)" && [ ! -e int.stance ]'

# ---------------------------------------------------------------------------------------------
# Bad input (exit 1)
# ---------------------------------------------------------------------------------------------
"$CLI" simulate --protocol cmj --seed 2 -o cmj.stance >/dev/null 2>&1
run calibrate --from cmj.stance --no-store
check "--from a CMJ recording: exit 1, it is not a calibration session" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "cmj\\.stance is a recording of .*\\(protocol cmj\\), not a calibration session"'
printf 'time,fz\n0,1\n0.001,2\n' >forces.csv
run calibrate --from forces.csv --no-store
check "--from a text file: exit 1, not a .stance recording" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "forces\\.csv is not a \\.stance recording \\(expected a calibration session"'
run calibrate --from missing.stance --no-store
check "--from a missing file: exit 1 naming it" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "missing\\.stance: No such file"'
printf 'stance-calibration-plan 1\nzero\nload left 0 0 20\nload lft 0 0 50\n' >bad-plan.txt
run calibrate --from session.stance --plan bad-plan.txt --no-store
check "a plan file with a bad plate: exit 1 naming the file, line and column" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "bad plan file: bad-plan\\.txt.*line 4, column 6: .lft. is not a plate \\(expected left or right\\)"'
printf 'stance-calibration-plan 1\nload left 0 0 20\nzero\n' >rule-plan.txt
run calibrate --sim --yes --fast --plan rule-plan.txt --no-store
check "a plan that does not start with zero: exit 1, the rule named" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "rule-plan\\.txt" && has "$err" "zero"'
# A valid plan that is not the plan of the session: the steps are not found.
cat >other-plan.txt <<'EOF'
stance-calibration-plan 1
name Heavier loads than the session had
zero
load left 0 0 30
load left 0 0 60
load left 0 0 120
zero
load left -119 189 30
zero
load left 119 189 30
zero
load right 0 0 30
load right 0 0 60
load right 0 0 120
zero
load right -119 189 30
zero
load right 119 189 30
zero
EOF
run calibrate --from session.stance --plan other-plan.txt --no-store
check "--from with another plan: exit 1, the missing step named, --plan suggested" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "step 2 \\(left plate, centre x 0 y 0 mm, 30 kg, loading\\) not found" &&
    has "$err" "Give its plan with --plan"'
run calibrate --device SN-NOPE-0001 --nominal-gain 0.0004 --no-store
check "--device with no such board: exit 1, the board named" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "SN-NOPE-0001"'
run calibrate --sim --yes --fast -o /nonexistent-folder/x.json --no-store
check "an output folder that does not exist: exit 1 before the session" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "/nonexistent-folder/x\\.json" && ! has "$err" "Step 1"'

# ---------------------------------------------------------------------------------------------
# Bad usage (exit 2)
# ---------------------------------------------------------------------------------------------
usage() { # usage DESC PATTERN ARGS...: exit 2 and stderr matching PATTERN
  # shellcheck disable=SC2034 # pat is read by the eval'd check
  local desc=$1 pat=$2
  shift 2
  run_quick calibrate "$@"
  check "$desc: exit 2" "got exit $rc; stderr: $err" eval '[ "$rc" -eq 2 ] && has "$err" "$pat"'
}
usage "an unknown option" "unknown option '--frobnicate'" --sim --frobnicate
usage "nothing to do" "nothing to do \\(expected --from" --db x.db
usage "two modes" "give one" --sim --from session.stance
usage "--write-board without --device" "--write-board applies to --device only" --sim --write-board
usage "--yes with --from" "--yes applies to the simulated board only" --from session.stance --yes
usage "--hold with --from" "--hold applies to a guided session only" --from session.stance --hold 5
usage "--sim-miswire with --from" "--sim-miswire applies to the simulated board only" \
  --from session.stance --sim-miswire r4
usage "a cell that does not exist" "--sim-miswire: 'x9' is not a cell \\(expected l1-l4 or r1-r4" \
  --sim --sim-miswire x9
usage "--hold too short for a step" "--hold 1 s is too short for a step" --sim --hold 1
usage "--loads not ascending" "--loads: '20,10,50' is not a list of masses" --sim --loads 20,10,50
usage "--plan with --loads" "--plan with --loads" --sim --plan p.txt --loads 20,50,100
usage "a bad limit" "limit-force" --sim --limit-force abc
usage "--rate 1234" "--rate: '1234' is not a rate of the plates" --sim --rate 1234
usage "--list with -o" "--list takes only --serial and --db" --list -o x.json
usage "--force without --write-board" "--force applies to --write-board only" --sim --force
usage "an argument" "unexpected argument 'session.stance'" session.stance

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
