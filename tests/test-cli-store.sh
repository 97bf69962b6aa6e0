#!/usr/bin/env bash
# tests/test-cli-store.sh: the stance-cli subcommands on the session store, end to end: athletes
# (add, list, show, edit, refused values), recording the simulated plates into the store for an
# athlete (bilateral and single-leg CMJs), session list/show with the stored results checked
# against `analyse` of the same recording and against the simulated asymmetry, reject/accept,
# re-analysis with another formula, the PDF report, every export (CSV, C3D, JSON, PDF, bundle), a
# bundle imported into a second store (same `session show`), a pseudonymised bundle, the trend over
# three sessions, kill -9 during a recording (the trial is recovered with what was on disk), a
# full database while recording, and bad input (unknown athlete or session, a corrupt database, a
# malformed bundle) with the documented exit codes.
#
#   bash tests/test-cli-store.sh /path/to/stance-cli
#
# Every database lives in the temporary folder: HOME, XDG_DATA_HOME and STANCE_DB point there, so
# the user's own store is never touched. Prints one TAP-like line per check and ends with
# "N passed, M failed"; exits 1 when any check failed.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

# shellcheck source-path=SCRIPTDIR source=cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
cli_lib_init store "$@"

export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" STANCE_DB="$tmp/main.db"
mkdir -p "$HOME"
unset STANCE_DB_MAX_BYTES

now_ms() { date +%s%3N; }
# json_get FILE EXPR: a Python expression over d = the JSON document of FILE.
json_get() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }
# in_range VALUE LO HI
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v + 0 == v && v >= lo && v <= hi) }'; }

# ---------------------------------------------------------------------------------------------
# Help
# ---------------------------------------------------------------------------------------------
for sub in athlete session report export import-bundle trend; do
  run_quick "$sub" --help
  check "$sub --help: exit 0, usage, --db and examples" "$out" \
    eval '[ "$rc" -eq 0 ] && has "$out" "^Usage: stance-cli $sub" && has "$out" "--db PATH" &&
      has "$out" "^Examples:"'
done
run_quick --help
check "stance-cli --help lists the store subcommands" "$out" \
  eval 'has "$out" "^  athlete " && has "$out" "^  session " && has "$out" "^  import-bundle "'
run_quick record --help
check "record --help documents --athlete, --session and --db" "$out" \
  eval 'has "$out" "--athlete ATHLETE" && has "$out" "--session S" && has "$out" "--db PATH"'

# ---------------------------------------------------------------------------------------------
# Athletes
# ---------------------------------------------------------------------------------------------
run athlete add "Ana Silva" --birth 1998-04-17 --sex f --dominant right --injury-date 2025-09-02 \
  --injury-notes "ACL reconstruction, hamstring graft" --mass 62.5
check "athlete add: exit 0, prints the new id" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$out" = "Added athlete 1: Ana Silva" ]'
check "the store was created at \$STANCE_DB" "" [ -s "$tmp/main.db" ]

run_quick athlete add "Bad Date" --birth 1998-02-30 --db "$tmp/never.db"
check "--birth 1998-02-30: exit 2 naming the option and the expected form" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--birth: .1998-02-30. is not a date \\(expected YYYY-MM-DD"'
run_quick athlete add "Bad Sex" --sex x --db "$tmp/never.db"
check "--sex x: exit 2 naming the accepted values" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--sex: .x. is not a sex \\(expected f, m or other\\)"'
run_quick athlete add "Future" --birth 2999-01-01 --db "$tmp/never.db"
check "a birth date in the future: exit 2 saying so" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "2999-01-01" && has "$err" "future"'
run_quick athlete add "Bad Mass" --mass 5 --db "$tmp/never.db"
check "--mass 5: exit 2 naming the range" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--mass: .5. is not a body mass \\(expected 20 to 300 kg"'
run_quick athlete add "Bad Limb" --involved middle --db "$tmp/never.db"
expect_rc "--involved middle" 2
check "usage errors never create a database" "" [ ! -e "$tmp/never.db" ]

run athlete add "Tim Trend" --sex m
run athlete add "Kim Kill"
run athlete list
check "athlete list: three athletes with their details" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^ +1  Ana Silva +1998-04-17  female  right +- +0  -$" &&
    has "$out" "^ +2  Tim Trend" && has "$out" "^ +3  Kim Kill"'
if [ -n "$PY" ]; then
  run athlete list --format json
  printf '%s\n' "$out" >athletes.json
  got=$(json_get athletes.json '(d["stance_cli_athletes"], len(d["athletes"]), d["athletes"][0]["name"], d["athletes"][0]["involved"])')
  check "athlete list --format json: version 1, three athletes, null involved limb" "$got" \
    [ "$got" = "(1, 3, 'Ana Silva', None)" ]
fi
run athlete edit "ana silva" --mass 63.1 --dominant left
check "athlete edit by name (any case): exit 0" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Updated athlete 1: Ana Silva$" && has "$out" "63.1 kg added"'
run athlete show 1
check "athlete show: details, the latest mass and a history of two entries" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^  dominant limb +left$" && has "$out" "^  involved limb +none$" &&
    has "$out" "^  injury notes +ACL reconstruction, hamstring graft$" &&
    has "$out" "^  body mass +63.1 kg" && [ "$(printf "%s\n" "$out" | grep -c " kg  entered$")" -eq 2 ]'
run_quick athlete edit 1
check "athlete edit with nothing to change: exit 2" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "nothing to change"'
run athlete edit 1 --injury-date 1990-01-01
check "an injury before birth: exit 2, the store's message" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "1990-01-01"'
run athlete show "Nobody Here"
check "athlete show of an unknown athlete: exit 1, says how to add one" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "Nobody Here" && has "$err" "stance-cli athlete add"'

# ---------------------------------------------------------------------------------------------
# Recording into the store
# ---------------------------------------------------------------------------------------------
# 20 s of a simulated CMJ hold its 3 jumps. The right limb is 10 % weaker (force, RFD, impulse).
run record --sim cmj --fast --asymmetry 10 --seed 5 --duration 20 --athlete "Ana Silva" -o cmj1.stance
check "record --athlete -o: exit 0, stored as trial 1 of a new session, file written" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Stored trial 1 of session 1 \\(Ana Silva, new session .*20000 samples \\(20.000 s at 1000 Hz\\), complete; trial id 1$" &&
    has "$out" "^Recorded cmj1.stance: 20000 samples"'
check "the one-line summary: 3 jumps, jump height and an asymmetry with formula and stronger limb" "$out" \
  has "$out" "^  cmj, bilateral: 3 jumps; jump_height_impulse [0-9.]+ cm; asymmetry of [a-z_]+ [0-9.]+ % lr_sum \\(left stronger\\)$"
run record --sim cmj --fast --asymmetry 10 --seed 6 --reps 2 --duration 15 --athlete 1
check "a second CMJ goes into today's session as trial 2" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Stored trial 2 of session 1 \\(Ana Silva, [0-9]"'
run record --sim sl-cmj --side left --fast --asymmetry 10 --seed 7 --reps 2 --duration 18 --athlete 1
check "a left single-leg CMJ: trial 3, asks for the other side" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Stored trial 3 of session 1" && has "$out" "record the right side too"'
run record --sim sl-cmj --side right --fast --asymmetry 10 --seed 8 --reps 2 --duration 18 --athlete 1
check "the right single-leg CMJ: trial 4, left against right at once" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Stored trial 4 of session 1" &&
    has "$out" "left against right in this session: jump_height_impulse [0-9.]+ % pct_diff \\(left stronger\\)"'

run_quick record --sim cmj --fast --duration 1
check "record with neither --athlete nor -o: exit 2 naming both" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "-o FILE.stance" && has "$err" "--athlete ATHLETE"'
run_quick record --sim cmj --fast --duration 1 -o x.stance --session new
check "--session without --athlete: exit 2" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--session applies to recording into the store"'
run_quick record --sim cmj --fast --duration 1 --athlete 1 --session yesterday
check "--session yesterday: exit 2 naming the accepted values" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--session: .yesterday. is not a session \\(expected today, new or a session id"'
run record --sim cmj --fast --duration 1 --athlete "Zed Unknown"
check "record for an unknown athlete: exit 1, suggests athlete add, nothing stored" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "Zed Unknown" && has "$err" "stance-cli athlete add \"Zed Unknown\""'
run record --sim cmj --fast --duration 1 --athlete 1 --session 999
check "record into a session that does not exist: exit 1" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "999"'

# ---------------------------------------------------------------------------------------------
# Sessions: list, show, the stored results
# ---------------------------------------------------------------------------------------------
run session list
check "session list: one session of Ana Silva with 4 trials and its protocols" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^ +1  [0-9-]+ [0-9:]+  Ana Silva +4  cmj, sl-cmj \\(left, right\\)$"'
run session list --athlete "Tim Trend"
check "session list --athlete: none yet for Tim" "$out" has "$out" "^No sessions of this athlete yet"
run session show 1
check "session show: 4 complete, accepted trials with their protocol and side" "$out" \
  eval '[ "$rc" -eq 0 ] && [ "$(printf "%s\n" "$out" | grep -cE "^  state +complete$")" -eq 4 ] &&
    [ "$(printf "%s\n" "$out" | grep -cE "^  accepted +yes$")" -eq 4 ] &&
    has "$out" "^Trial 3: sl-cmj, left" && has "$out" "^Trial 4: sl-cmj, right" &&
    has "$out" "^  recording +20.000 s at 1000 Hz \\(20000 samples\\), simulator$"'
check "session show: per-limb results with lr_sum asymmetry, and left against right" "$out" \
  eval 'has "$out" "^    peak_force +N +[0-9.]+ +[0-9.]+ +[0-9.]+   [0-9.]+ % lr_sum \\(left stronger\\)$" &&
    has "$out" "^Left against right" && has "$out" "^    sl-cmj +jump_height_impulse +cm "'
if [ -n "$PY" ]; then
  run session show 1 --format json
  printf '%s\n' "$out" >show.json
  run analyse --format json cmj1.stance
  printf '%s\n' "$out" >cmj1.json
  # The stored run is the same analysis as `analyse` of the same samples: its peak-force asymmetry
  # (the formula on the mean left and mean right of the jumps) is the analysis summary's, to
  # rounding. And it is what was simulated: lr_sum = (L - R) / (L + R) x 100 for a right limb 10 %
  # weaker is 100 x 0.1 / 1.9 = 5.26; measured on noisy counts with three jumps, within 1.5.
  got=$("$PY" -c '
import json, sys
show = json.load(open(sys.argv[1])); an = json.load(open(sys.argv[2]))
t1 = show["trials"][0]["analysis"]
m = [x for x in t1["metrics"] if x["id"] == "peak_force"][0]
ref = an["summary"]["peak_force"]["asymmetry"]
ok = (t1["formula"] == "lr_sum" and m["asym"]["formula"] == ref["formula"] and
      abs(m["asym"]["value"] - ref["value"]) < 1e-9 and m["asym"]["stronger"] == ref["stronger"] and
      abs(m["left"] - an["summary"]["peak_force"]["left"]["mean"]) < 1e-9)
print("%s %.6f" % ("ok" if ok else "differs: %s / %s" % (m, ref), m["asym"]["value"]))' show.json cmj1.json)
  check "trial 1 peak_force asymmetry equals analyse --format json of the same recording" "$got" \
    has "$got" "^ok "
  check "and lies within 1.5 of the simulated 5.26 % lr_sum (${got#ok })" "$got" \
    in_range "${got#ok }" 3.76 6.76
  got=$(json_get show.json '[t["state"] for t in d["trials"]] == ["complete"] * 4 and d["athlete"]["name"] == "Ana Silva" and len(d["left_right"]) > 0')
  check "session show --format json: 4 complete trials, the athlete, left_right" "$got" [ "$got" = True ]
fi

run session reject 1 2 --reason "stepped off the plate"
check "session reject: exit 0" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$out" = "Trial 2 of session 1 rejected: stepped off the plate" ]'
run session show 1
check "session show: trial 2 rejected with its reason" "$out" \
  has "$out" "^  accepted +no, rejected: stepped off the plate$"
run_quick session reject 1 2
check "session reject without --reason: exit 2" "$err" eval '[ "$rc" -eq 2 ] && has "$err" "--reason TEXT"'
run session reject 1 9 --reason x
check "session reject of a trial that does not exist: exit 1" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "no trial 9"'

# Re-analysis with another formula: a new run, the raw samples untouched.
run session analyse 1 1 --formula lsi
check "session analyse --formula lsi: lr_sum -> lsi" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Trial 1: cmj, 3 jumps, formula lr_sum -> lsi; "'
run session show 1
check "session show: trial 1 now shows the LSI (weaker / stronger x 100, about 90 for 10 %)" "$out" \
  eval 'line=$(printf "%s\n" "$out" | sed -n "/^Trial 1:/,/^Trial 2:/p" | grep "^    peak_force ") &&
    v=$(printf "%s\n" "$line" | sed -n "s/.*  \\([0-9.]*\\) % lsi (left stronger)$/\\1/p") && in_range "$v" 87 93'
run session analyse 1 --onset sideways
check "session analyse --onset sideways: exit 2 listing the rules" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "--onset: " && has "$err" "bw-5sd"'

# ---------------------------------------------------------------------------------------------
# Report and exports
# ---------------------------------------------------------------------------------------------
run report 1 -o report.pdf
check "report: exit 0, says the rejected trial was left out" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Wrote report.pdf: report of session 1 \\(Ana Silva, .*3 trials \\(1 rejected left out"'
check "report.pdf is a PDF" "$(head -c 8 report.pdf | od -c | head -n 1)" \
  eval '[ "$(head -c 5 report.pdf)" = "%PDF-" ]'
if command -v pdftotext >/dev/null 2>&1; then
  txt=$(pdftotext report.pdf - 2>/dev/null)
  check "the report's text names the athlete and the asymmetry" "$(printf '%s\n' "$txt" | head -n 20)" \
    eval 'has "$txt" "Ana Silva" && printf "%s\n" "$txt" | grep -qi "asymmetry"'
else
  skip "the report's text names the athlete and the asymmetry" "pdftotext is not installed"
fi
run_quick report 1 --green 20 --red 10 -o bad.pdf
check "report --green above --red: exit 2" "$err" eval '[ "$rc" -eq 2 ] && has "$err" "--green 20 is above --red 10"'
run report 999 -o bad.pdf
check "report of an unknown session: exit 1, nothing written" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "999" && [ ! -e bad.pdf ]'

run session accept 1 2
check "session accept: trial 2 is back" "$out" [ "$out" = "Trial 2 of session 1 accepted" ]

run export 1 --format csv -o csv
check "export csv: a folder with one file per trial and results.csv" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "5 files: results.csv, trial-01-cmj.csv, trial-02-cmj.csv, trial-03-sl-cmj-left.csv, trial-04-sl-cmj-right.csv"'
rows=$(grep -vc '^#' csv/trial-01-cmj.csv)
check "trial-01-cmj.csv: one header and 20000 sample rows (got $rows lines)" "" [ "$rows" -eq 20001 ]
run export 1 --format csv --trial 3 -o t3.csv
rows=$(grep -vc '^#' t3.csv 2>/dev/null)
check "export csv --trial 3: one file, header + 18000 rows" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$rows" -eq 18001 ] && grep -q "^# trial: 3" t3.csv'
run export 1 --format c3d -o c3d
check "export c3d: four .c3d files with the C3D key byte (0x50 at offset 1)" "$out $err" \
  eval '[ "$rc" -eq 0 ] && [ "$(ls c3d/*.c3d | wc -l)" -eq 4 ] &&
    [ "$(od -An -tx1 -j1 -N1 c3d/trial-01-cmj.c3d | tr -d " ")" = 50 ]'
run export 1 --format json -o session.json
check "export json: exit 0" "$out $err" eval '[ "$rc" -eq 0 ] && [ -s session.json ]'
if [ -n "$PY" ]; then
  got=$(json_get session.json 'len(d["analyses"]) == 4 and "session" in d')
  check "the JSON holds one analysis per trial and the session" "$got" [ "$got" = True ]
fi
run export 1 --format pdf -o export.pdf
check "export pdf: a PDF" "$out $err" eval '[ "$rc" -eq 0 ] && [ "$(head -c 5 export.pdf)" = "%PDF-" ]'
run export 1 --format bundle -o ana.stance-session
check "export bundle: exit 0, 4 trials" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "as bundle to ana.stance-session: 4 trials"'
run_quick export 1 --format xml -o x
check "export --format xml: exit 2 naming the formats" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "expected csv, c3d, json, pdf or bundle"'
run_quick export 1 --format bundle --trial 2 -o x
expect_rc "export --format bundle --trial 2" 2
run export 1 --format csv --trial 9 -o t9.csv
check "export --trial 9: exit 1, no such trial" "$err" eval '[ "$rc" -eq 1 ] && has "$err" "no trial 9"'

# The bundle in another store: the same session, whatever the ids there.
run athlete add "Someone Else" --db "$tmp/second.db"
run import-bundle ana.stance-session --db "$tmp/second.db"
check "import-bundle: a new session and a new athlete, 4 trials, 4 analysed" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^Imported session 1 from ana.stance-session$" &&
    has "$out" "Ana Silva \\(id 2, new\\)" && has "$out" "4 \\(4 accepted, 0 rejected, 0 interrupted\\), 4 analysed"'
norm() { sed -E 's/(id|session|Session|analyse) [0-9]+/\1 N/g; s/\(run [0-9: -]+\)//'; }
"$CLI" session show 1 | norm >show-main.txt
"$CLI" session show 1 --db "$tmp/second.db" | norm >show-second.txt
check "session show of the imported session equals the original's (ids aside)" \
  "$(diff show-main.txt show-second.txt | head -n 20)" cmp -s show-main.txt show-second.txt
run import-bundle ana.stance-session --db "$tmp/second.db"
check "importing the same bundle again: exit 1, already there" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "already in the store"'
run export 1 --format bundle --pseudonymise -o anon.stance-session
check "a pseudonymised bundle holds no name" "" \
  eval '[ "$rc" -eq 0 ] && ! grep -aq "Ana Silva" anon.stance-session && ! grep -aq "hamstring" anon.stance-session'
run import-bundle anon.stance-session --db "$tmp/third.db"
check "imported, the pseudonymised athlete is ATH-xxxxxxxx" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "ATH-[0-9a-f]{8} \\(id 1, new, pseudonymised\\)"'

# ---------------------------------------------------------------------------------------------
# Trend over three sessions
# ---------------------------------------------------------------------------------------------
for k in 1 2 3; do
  "$CLI" record --sim cmj --fast --asymmetry $((k * 5)) --seed $((20 + k)) --reps 2 --duration 15 \
    --athlete "Tim Trend" --session new >/dev/null 2>&1
done
run trend "Tim Trend" --metric peak_force --protocol cmj
rows=$(printf '%s\n' "$out" | grep -cE '^ +[0-9]+  [0-9]{4}-')
check "trend: three sessions, TE and MDC95, the last change against the MDC" "$out" \
  eval '[ "$rc" -eq 0 ] && [ "$rows" -eq 3 ] && has "$out" "^  typical error \\(TE\\)" &&
    has "$out" "^  MDC95" && has "$out" "^Last change \\(session [0-9]+ against [0-9]+\\):" &&
    has "$out" "^  asymmetry +[-+][0-9.]+ % +(exceeds|within) the MDC95"'
run trend "Tim Trend" --metric peak_force --protocol cmj --format csv
# Deficits of 5, 10 and 15 % give lr_sum asymmetries of 2.6, 5.3 and 8.1 %: they must rise.
asyms=$(printf '%s\n' "$out" | awk -F, 'NR > 1 { print $12 }' | tr '\n' ' ')
check "trend --format csv: 3 rows whose asymmetry rises with the simulated deficit ($asyms)" "$out" \
  eval '[ "$(printf "%s\n" "$out" | wc -l)" -eq 4 ] &&
    printf "%s\n" "$asyms" | awk "{ exit !(\$1 < \$2 && \$2 < \$3 && \$1 > 1 && \$3 < 11) }"'
if [ -n "$PY" ]; then
  run trend "Tim Trend" --metric peak_force --protocol cmj --format json
  printf '%s\n' "$out" >trend.json
  got=$(json_get trend.json '(d["stance_cli_trend"], len(d["points"]), d["formula"], "asym" in d["last_change"])')
  check "trend --format json: three points, the formula, the last change" "$got" \
    [ "$got" = "(1, 3, 'lr_sum', True)" ]
fi
run trend "Tim Trend" --metric wingspan
check "trend of a metric no session has: exit 1 listing the metrics" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "wingspan" && has "$err" "peak_force"'
run_quick trend "Tim Trend"
expect_rc "trend without --metric" 2

# ---------------------------------------------------------------------------------------------
# Numbers do not depend on the locale: a decimal-comma locale changes no output
# ---------------------------------------------------------------------------------------------
loc=""
locpath=""
for l in de_DE.UTF-8 de_DE.utf8 fr_FR.UTF-8; do
  if [ "$(env LC_ALL="$l" printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]; then loc=$l; break; fi
done
if [ -z "$loc" ] && command -v localedef >/dev/null 2>&1; then
  mkdir -p "$tmp/locale"
  if localedef -i de_DE -f UTF-8 "$tmp/locale/de_DE.UTF-8" >/dev/null 2>&1 &&
    [ "$(env LOCPATH="$tmp/locale" LC_ALL=de_DE.UTF-8 printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]; then
    loc=de_DE.UTF-8
    locpath=$tmp/locale
  fi
fi
if [ -n "$loc" ]; then
  same=0
  for args in "session show 1" "session show 1 --format json" "athlete show 1" \
    "trend 2 --metric peak_force --format csv" "trend 2 --metric peak_force"; do
    # shellcheck disable=SC2086 # the arguments are words
    "$CLI" $args >c-locale.txt 2>&1
    # shellcheck disable=SC2086
    env ${locpath:+LOCPATH="$locpath"} LC_ALL="$loc" "$CLI" $args >de-locale.txt 2>&1
    cmp -s c-locale.txt de-locale.txt && same=$((same + 1))
  done
  check "session show, athlete show and trend print the same bytes under LC_ALL=$loc" \
    "$(diff c-locale.txt de-locale.txt | head)" [ "$same" -eq 5 ]
else
  skip "outputs under a decimal-comma locale" "no decimal-comma locale could be set up"
fi

# ---------------------------------------------------------------------------------------------
# kill -9 while recording: the trial is recovered with what was on disk
# ---------------------------------------------------------------------------------------------
# Paced by the clock: samples arrive in real time and the writer commits every 100 ms (on the
# 50 ms drains), so at most ~150 ms (plus scheduling) are lost. Under memcheck the recorder runs
# natively (valgrind would only slow the pacing); the next command runs in memcheck as usual.
"$CLI" record --sim cmj --duration 30 --athlete "Kim Kill" >kill.out 2>kill.err &
pid=$!
# The session appears with the first samples (after the simulator has prepared its first
# repetition, which a loaded machine may take a while to do); then 1.5 s more of recording.
for _ in $(seq 100); do
  "$CLI" session list --athlete "Kim Kill" 2>/dev/null | grep -q "Kim Kill" && break
  sleep 0.1
done
sleep 1.5
kill_ms=$(now_ms)
{
  kill -9 "$pid"
  wait "$pid"
} 2>/dev/null # (bash reports the killed job on its own stderr)
run session show "latest:Kim Kill" --format json
check "the next command recovers the trial and says so on stderr" "$err" \
  eval '[ "$rc" -eq 0 ] && has "$err" "^stance-cli session: recovered interrupted trial 1 of session [0-9]+ \\(Kim Kill\\): [0-9.]+ s kept$"'
if [ -n "$PY" ]; then
  printf '%s\n' "$out" >kill.json
  # The samples end at most 0.5 s before the kill (one commit period, one drain period and the
  # scheduling of a loaded machine), and more than a second was recorded. The end of the samples
  # is their start (the trial's start time: the first sample, from the wall clock) plus their
  # duration.
  got=$("$PY" -c '
import json, sys
t = json.load(open(sys.argv[1]))["trials"][0]
end_ms = t["started_unix_ms"] + t["duration_s"] * 1000
lag = (int(sys.argv[2]) - end_ms) / 1000
print("%s %.3f %.3f %s" % (t["state"], t["duration_s"], lag, t["note"]))' kill.json "$kill_ms")
  read -r kstate kdur klag _ <<<"$got"
  check "the trial is interrupted, ${kdur:-?} s kept, ending ${klag:-?} s before the kill" "$got" \
    eval '[ "$kstate" = interrupted ] && in_range "$kdur" 1 4 && in_range "$klag" -0.1 0.5 &&
      has "$got" "interrupted while recording"'
fi
run session show "latest:Kim Kill"
check "session show: state interrupted with the recovery note; no recovery line the second time" "$out $err" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^  state +interrupted$" &&
    has "$out" "^  note +interrupted while recording \\(writer pid [0-9]+ gone\\)" && [ -z "$err" ]'

# SIGINT finishes the trial cleanly: complete (shorter), analysed, exit 130 as without the store.
"$CLI" athlete add "Ivy Int" >/dev/null
"${RUN[@]}" record --sim cmj --duration 30 --athlete "Ivy Int" >int.out 2>int.err &
pid=$!
for _ in $(seq 600); do # (the first samples: up to a minute in memcheck)
  "$CLI" session list --athlete "Ivy Int" 2>/dev/null | grep -q "Ivy Int" && break
  sleep 0.1
done
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
check "SIGINT while recording into the store: exit 130, stored as a complete trial" \
  "exit $rc; $(cat int.out int.err)" \
  eval '[ "$rc" -eq 130 ] && grep -q "interrupted by SIGINT" int.err &&
    grep -Eq "^Stored trial 1 of session [0-9]+ \(Ivy Int, new session .*\), complete; trial id" int.out'
run session show "latest:Ivy Int"
check "session show: the interrupted-by-SIGINT trial is complete and analysed" "$out" \
  eval '[ "$rc" -eq 0 ] && has "$out" "^  state +complete$" && has "$out" "^  analysis +"'

# ---------------------------------------------------------------------------------------------
# A full database while recording: what was committed is kept and the message says how much
# ---------------------------------------------------------------------------------------------
"$CLI" athlete add "Fay Full" --db "$tmp/full.db" >/dev/null
size=$(stat -c %s "$tmp/full.db")
# Room for about a second of samples at 4000 Hz (8 cells: 34 bytes a sample, 136 kB/s), paced
# by the clock so that chunks of ~100 ms are committed until the limit refuses one.
STANCE_DB_MAX_BYTES=$((size + 150000)) run record --sim cmj --rate 4000 --duration 10 \
  --athlete "Fay Full" --db "$tmp/full.db"
check "a full database stops the recording: exit 1, 'the disk is full' with what was kept" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "disk is full" && has "$err" "keeps its first [0-9.]+ s"'
run session show "latest:Fay Full" --db "$tmp/full.db" --format json
if [ -n "$PY" ]; then
  printf '%s\n' "$out" >full.json
  got=$(json_get full.json '"%s %.3f" % (d["trials"][0]["state"], d["trials"][0]["duration_s"])')
  read -r fstate fdur <<<"$got"
  # Well short of the 10 s asked for, but what was committed before the limit is there.
  check "the trial is kept as interrupted with what was committed (${fdur:-?} s)" "$got" \
    eval '[ "$fstate" = interrupted ] && in_range "$fdur" 0.2 2'
fi

# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
run session show 999
check "session show of an unknown session: exit 1 naming it" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "999"'
head -c 4096 /dev/urandom >random.db
run session list --db random.db
check "a database of random bytes: exit 1, not a Stance database, naming the file" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "random.db" && has "$err" "not a Stance database"'
head -c 4096 /dev/urandom >random.stance-session
run import-bundle random.stance-session --db "$tmp/third.db"
check "a bundle of random bytes: exit 1 saying it is not a bundle" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "random.stance-session" && has "$err" "bundle"'
head -c 20000 ana.stance-session >cut.stance-session
run import-bundle cut.stance-session --db "$tmp/third.db"
check "a truncated bundle: exit 1" "$err" eval '[ "$rc" -eq 1 ] && [ -n "$err" ]'
run import-bundle missing.stance-session
check "a bundle that does not exist: exit 1 naming it" "$err" \
  eval '[ "$rc" -eq 1 ] && has "$err" "missing.stance-session"'
run_quick session frobnicate
check "session frobnicate: exit 2 listing the actions" "$err" \
  eval '[ "$rc" -eq 2 ] && has "$err" "expected list, show, reject, accept or analyse"'
run_quick athlete list --db ""
expect_rc "--db with an empty path" 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
