#!/usr/bin/env bash
# tests/test-cli-record.sh: `stance-cli record` and `stance-cli devices` end to end: a realtime
# recording of the simulated plates that info and analyse read; a recording not paced by the clock
# at 4000 Hz in which analyse finds the jump; SIGINT and SIGTERM during a realtime recording keep a
# valid shorter file and exit 130; a replay of that file reproduces it (info equal); usage and
# input errors naming what was wrong; `devices` on this machine, which has no USB.
#
#   bash tests/test-cli-record.sh /path/to/stance-cli
#
# Prints one TAP-like line per check ("ok N - ...", "not ok N - ...") and ends with
# "N passed, M failed"; exits 1 when any check failed.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

# shellcheck source-path=SCRIPTDIR source=cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
cli_lib_init record "$@"
# `record --athlete` records into the session store: keep it in the temporary folder.
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" STANCE_DB="$tmp/store.db"

# info_value FILE LABEL: the value column of one `info` line.
info_value() { "$CLI" info "$1" | sed -n "s/^  $2  *//p" | head -n 1; }
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------------------------------------
# Help
# ---------------------------------------------------------------------------------------------
run_quick record --help
check "record --help: exit 0, the three sources and the exit status 130" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "--device SERIAL" && has "$out" "--sim PROTOCOL" &&
    has "$out" "--replay FILE" && has "$out" "130 interrupted"'
run_quick devices --help
check "devices --help: exit 0, --format" "$out" eval '[ "$rc" -eq 0 ] && has "$out" "--format"'
run_quick help record
check "stance-cli help record is record --help" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Usage: stance-cli record"'

# ---------------------------------------------------------------------------------------------
# The issue's acceptance check: a realtime recording that info and analyse read
# ---------------------------------------------------------------------------------------------
"$CLI" athlete add "Test Athlete" >/dev/null
t0=$(now)
run record --sim cmj --rate 1000 --duration 3 -o c.stance --athlete "Test Athlete"
took=$(elapsed_since "$t0")
expect_rc "record --sim cmj --rate 1000 --duration 3" 0
check "the summary names the file, 3000 samples at 1000 Hz and the source" "$out" \
  has "$out" "^Recorded c.stance: 3000 samples \\(3.000 s at 1000 Hz\\) from Simulated plates"
# Paced by the wall clock: 3 s of samples take at least (about) 3 s. The lower bound leaves room
# for the clock granularity (samples are released every 5 ms); there is no upper bound worth
# checking on a shared machine beyond the test's timeout.
check "realtime: 3 s of samples took at least 2.9 s (took ${took} s)" "" \
  awk -v t="$took" 'BEGIN { exit !(t >= 2.9) }'
# stderr is not a terminal here: one status line at the end, no carriage returns.
check "not a terminal: one status line on stderr, no carriage returns" "$err" \
  eval '[ "$(printf "%s\n" "$err" | grep -c "samples")" -eq 1 ] && ! grep -q $'"'"'\r'"'"' "$tmp/stderr" &&
    has "$err" "^3.0 / 3.0 s  3000 samples  [0-9]+ Hz  gaps 0  L [0-9.]+ N  R [0-9.]+ N  total [0-9.]+ N$"'
run info c.stance
expect_rc "info reads the recording" 0
check "info: 3000 samples at 1000 Hz, 8 cells, simulator, cmj, the athlete, the calibration" "$out" \
  eval 'has "$out" "^  samples +3000$" && has "$out" "^  sample rate +1000 Hz$" &&
    has "$out" "^  layout +cells" && has "$out" "^  source +simulator$" &&
    has "$out" "^  protocol +cmj " && has "$out" "^  athlete +Test Athlete$" &&
    has "$out" "^  calibration +SIM-0001-2026-01-01-1$" && has "$out" "^  gaps +none$"'
# Standing still for the first second: the plates carry body weight (75 kg default).
check "info: the first second weighs 75.0 kg" "$out" has "$out" "\\(75\\.0 kg at g"
run analyse c.stance
# The simulated CMJ's first jump starts at 2.5 s and takes off after 3 s: a 3 s recording holds
# the weighing and the start of the jump, which analyse reads (exit 0) without a whole jump.
check "analyse reads it: body weight 75 kg, 3.000 s at 1000 Hz" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "recording +1000 Hz, 3.000 s" && has "$out" "body mass 7[45]\\.[0-9]+ kg"'

# ---------------------------------------------------------------------------------------------
# Not paced by the clock, at 4000 Hz: long enough for the first jump
# ---------------------------------------------------------------------------------------------
t0=$(now)
run record --sim cmj --fast --rate 4000 --duration 10 --seed 3 --asymmetry 10 -o f.stance
took=$(elapsed_since "$t0")
expect_rc "record --sim cmj --fast --rate 4000 --duration 10" 0
check "the summary: 40000 samples (10.000 s at 4000 Hz)" "$out" \
  has "$out" "40000 samples \\(10.000 s at 4000 Hz\\)"
if [ "$VALGRIND" = 0 ]; then
  # A protocol that is quick to simulate (quiet standing at 500 Hz: well under a second of CPU
  # even with sanitizers): 120 s of samples, four repetitions, in far less than 120 s. Paced by
  # the clock it could not take less than 120 s; the bound leaves a slow shared machine room.
  t0=$(now)
  run record --sim quiet-standing --fast --rate 500 --duration 120 -o q.stance
  took=$(elapsed_since "$t0")
  check "--fast is not paced by the clock (120 s recorded in ${took} s)" "$err" \
    eval '[ "$rc" -eq 0 ] && awk -v t="$took" '"'"'BEGIN { exit !(t < 60.0) }'"'"' &&
      [ "$(info_value q.stance samples)" = 60000 ]'
fi
check "info of the --fast file: 40000 samples at 4000 Hz" "" \
  eval '[ "$(info_value f.stance samples)" = 40000 ] && [ "$(info_value f.stance "sample rate")" = "4000 Hz" ]'
run analyse --format json f.stance
if [ -n "$PY" ]; then
  printf '%s\n' "$out" >f.json
  # The ground truth of the same simulation (the stream's first repetition is exactly it): every
  # jump that took off within the first 10 s is found, at its takeoff within 10 ms (the analysis'
  # threshold crossing against the noise-free truth), and nothing else.
  "$CLI" simulate --protocol cmj --rate 4000 --seed 3 --asymmetry 10 -o truth.stance >/dev/null
  got=$("$PY" -c '
import json, sys
truth = json.load(open(sys.argv[1]))
want = [e["t_s"] for tr in truth["trials"] for e in tr["events"]
        if tr["kind"] == "jump" and e["name"] == "takeoff" and e["t_s"] < 10.0]
found = [t["events"].get("takeoff") for t in json.load(open(sys.argv[2]))["trials"]
         if t["kind"] == "jump"]
ok = len(want) >= 1 and len(found) == len(want) and all(
    f is not None and abs(f - w) <= 0.010 for f, w in zip(found, want))
print("ok" if ok else "truth takeoffs %s, found %s" % (want, found))' truth.truth.json f.json 2>&1)
  check "analyse finds the jumps of the first 10 s at the truth's takeoffs" "$got" [ "$got" = ok ]
fi
run info --json f.stance
check "the sim.* metadata records the seed and the asymmetry" "$out" \
  eval 'has "$out" "\"sim.seed\": \"3\"" && has "$out" "\"sim.asym-force\": \"10\""'

# ---------------------------------------------------------------------------------------------
# Interrupted: SIGINT and SIGTERM keep what was recorded, exit 130
# ---------------------------------------------------------------------------------------------
# Quiet standing at 500 Hz is simulated in a few hundredths of a second (a few seconds in
# memcheck), so the recording runs well before the signal.
wait_s=2
[ "$VALGRIND" = 1 ] && wait_s=20
interrupt() { # interrupt SIGNAL FILE: records, sends SIGNAL after wait_s, sets rc/out/err
  "${RUN[@]}" record --sim quiet-standing --rate 500 --duration 60 -o "$2" \
    >"$tmp/stdout" 2>"$tmp/stderr" &
  local pid=$!
  sleep "$wait_s"
  kill -s "$1" "$pid"
  wait "$pid"
  rc=$?
  out=$(cat "$tmp/stdout")
  err=$(cat "$tmp/stderr")
}
interrupt INT i.stance
expect_rc "SIGINT during a realtime recording" 130
check "it says it was interrupted and wrote the file" "$err" \
  eval 'has "$err" "interrupted by SIGINT after [0-9.]+ s of 60.000 s" && has "$out" "^Recorded i.stance: "'
isamples=$(info_value i.stance samples)
check "the interrupted file is valid and shorter (samples: $isamples)" "" \
  eval '"$CLI" info i.stance >/dev/null && [ "${isamples:-0}" -gt 50 ] && [ "${isamples:-0}" -lt 30000 ]'
check "its duration matches its samples" "" \
  eval '[ "$(info_value i.stance duration)" = "$(awk -v n="$isamples" '"'"'BEGIN { printf "%.3f s", n / 500 }'"'"')" ]'
interrupt TERM t.stance
expect_rc "SIGTERM during a realtime recording" 130
check "SIGTERM: interrupted, file written" "$err" \
  eval 'has "$err" "interrupted by SIGTERM" && "$CLI" info t.stance >/dev/null'

# ---------------------------------------------------------------------------------------------
# Replay reproduces the recording
# ---------------------------------------------------------------------------------------------
run record --replay i.stance --speed 0 -o r.stance
expect_rc "record --replay i.stance --speed 0 (to the end of the file)" 0
check "the replay summary: as many samples as the file" "$out" \
  has "$out" "^Recorded r.stance: $isamples samples .* from Replay of i.stance"
"$CLI" info i.stance | tail -n +2 >i.info
"$CLI" info r.stance | tail -n +2 >r.info
check "info of the replayed recording equals info of the original" "$(diff i.info r.info)" \
  cmp -s i.info r.info
run record --replay c.stance --speed 4 --duration 2 -o r2.stance
check "replay at 4x with --duration 2: 2000 samples" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$(info_value r2.stance samples)" = 2000 ]'

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
run_quick record --sim cmj --rate 1234 --duration 3 -o bad.stance
expect_rc "--rate 1234" 2
check "--rate 1234: the message lists the supported rates" "$err" \
  has "$err" "1234 Hz .*500, 1000, 2000 or 4000 Hz"
check "--rate 1234: no file written" "" eval '! ls bad.stance* >/dev/null 2>&1'
run_quick record --sim cmj --duration -1 -o bad.stance
expect_rc "--duration -1" 2
check "--duration -1: names the option and what is expected" "$err" \
  has "$err" "--duration: '-1' is not a duration \\(expected seconds"
run_quick record --device SN-0042 --sim cmj --duration 3 -o bad.stance
expect_rc "--device with --sim" 2
check "--device with --sim: says to give one source" "$err" \
  has "$err" "--device and --sim: these choose the source, give one"
run_quick record --sim cmj --duration 3
expect_rc "missing -o" 2
check "missing -o: asks for the output file" "$err" has "$err" "no output file given \\(expected -o"
run_quick record --sim cmj -o bad.stance
expect_rc "missing --duration" 2
run_quick record --replay c.stance --seed 3 -o bad.stance
expect_rc "--seed without --sim" 2
check "--seed without --sim: says it is a simulator option" "$err" has "$err" "--seed applies to"
run_quick record --sim cmj --speed 2 --duration 1 -o bad.stance
expect_rc "--speed without --replay" 2
run_quick record --sim sl-cmj --side both --duration 1 -o bad.stance
expect_rc "--sim sl-cmj --side both (a one-sided protocol)" 2
run_quick record --sim jumping-jacks --duration 1 -o bad.stance
check "--sim with an unknown protocol: exit 2, lists the protocols" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "not a protocol" && has "$err" "split-squat"'
run_quick record --sim cmj --body-mass 5 --duration 1 -o bad.stance
check "--body-mass 5: exit 2 naming the option" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--body-mass"'
run_quick record --replay c.stance -o c.stance
expect_rc "-o the file being replayed" 2
run record --replay missing.stance -o bad.stance
check "--replay of a missing file: exit 1 naming it" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "missing.stance: No such file"'
printf 'not a recording\n\001\002\n' >garbage.csv
run record --replay garbage.csv -o bad.stance
check "--replay of a garbage file: exit 1 naming it and what was wrong" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "garbage.csv" && [ ${#err} -gt 60 ]'
run record --replay c.stance --rate 2000 -o bad.stance
check "--replay at another rate: exit 2, the file's rate expected" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "2000 Hz .*expected 1000 Hz"'
run_quick record --sim cmj --duration 1 -o /nonexistent-folder/x.stance
check "an output folder that does not exist: exit 1 before recording" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "/nonexistent-folder/x.stance"'

# No USB in this machine: no board.
rm -f bad.stance*
run record --duration 3 -o bad.stance
check "no source and no board: exit 1, says to pass --sim" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "--sim PROTOCOL"'
check "no file written when there is no source" "" eval '! ls bad.stance* >/dev/null 2>&1'

# ---------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------
run devices
check "devices: no boards here (exit 0)" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$out" = "No Stance boards connected." ]'
run devices --format json
if [ -n "$PY" ]; then
  printf '%s\n' "$out" >d.json
  got=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["stance_cli_devices"], len(d["boards"]))' d.json 2>&1)
  check "devices --format json: version 1, no boards" "$got" eval '[ "$rc" -eq 0 ] && [ "$got" = "1 0" ]'
fi
run_quick devices --format xml
expect_rc "devices --format xml" 2
run_quick devices extra
expect_rc "devices with an argument" 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
