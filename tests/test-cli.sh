#!/usr/bin/env bash
# tests/test-cli.sh: stance-cli end to end, on the simulator and on the public recordings in
# tests/data.
#
#   bash tests/test-cli.sh /path/to/stance-cli        (STANCE_TEST_DATA: the tests/data folder)
#
# Prints one TAP-like line per check ("ok N - ...", "not ok N - ...") and ends with
# "N passed, M failed"; exits 1 when any check failed.
#
# SPDX-License-Identifier: GPL-3.0-or-later
set -u

# shellcheck source-path=SCRIPTDIR source=cli-lib.sh
. "$(dirname "$0")/cli-lib.sh"
DATA=${STANCE_TEST_DATA:-$here/data}
cli_lib_init cli "$@"

# field LABEL: what follows a labelled line "  label   value ..." of the last stdout.
field() {
  printf '%s\n' "$out" |
    awk -v l="$1" '{ sub(/^ +/, "") } index($0, l " ") == 1 { sub("^" l " +", ""); print; exit }'
}
# col WORD N: field N of the first stdout line whose first field is WORD and third is "N" (the
# "left 522.6 N 71.0 % of total" lines of info); col WORD 4 is the share in %.
col() { printf '%s\n' "$out" | awk -v w="$1" -v k="$2" '$1 == w && $3 == "N" { print $k; exit }'; }
# near A B TOL: |A - B| <= TOL (decimal numbers; false when A or B is empty).
near() {
  awk -v a="$1" -v b="$2" -v t="$3" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t) }'
}
calc() { awk "BEGIN { print $1 }"; }

version=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" "$here/../meson.build" | head -n 1)
version=${version:-0.1.0}

# ---------------------------------------------------------------------------------------------
# Global options, help and usage errors
# ---------------------------------------------------------------------------------------------
run --version
check "--version prints 'stance-cli $version'" "exit $rc, output '$out'" \
  [ "$rc" -eq 0 -a "$out" = "stance-cli $version" ]

lists_subcommands() {
  [ "$rc" -eq 0 ] && has "$out" '^  simulate ' && has "$out" '^  import ' && has "$out" '^  info '
}
for args in "--help" "help"; do
  run $args
  check "'stance-cli $args' lists the subcommands" "exit $rc: $out" lists_subcommands
done

# Every option the manual promises appears in its subcommand's --help, with a default.
simulate_opts="protocol side front reps sets asymmetry asym-force asym-rfd asym-impulse weaker
  body-mass load fatigue tempo duration rate noise cell-noise mains hum drift saturate no-still
  foot-left foot-right no-warmup rest seed output truth format params help"
import_opts="output columns rate skip-lines delimiter decimal-comma swap-sides scale protocol side
  athlete help"
info_opts="rate columns skip-lines json help"
documents_all() {
  [ "$rc" -eq 0 ] && [ -z "$missing" ] && has "$out" "^Usage: stance-cli $sub" &&
    has "$out" '^Examples:'
}
for sub in simulate import info; do
  run "$sub" --help
  eval "opts=\$${sub}_opts"
  missing=""
  for o in $opts; do has "$out" "--$o( |$)" || missing="$missing --$o"; done
  check "'$sub --help' exits 0 and documents every option and examples" \
    "exit $rc; missing:$missing" documents_all
  run help "$sub"
  check "'help $sub' exits 0" "exit $rc" [ "$rc" -eq 0 ]
  check "'help $sub' prints its usage" "$out" has "$out" "^Usage: stance-cli $sub"
done

run
expect_rc "no subcommand is a usage error" 2
run frobnicate
expect_rc "an unknown subcommand is a usage error" 2
check "the message names the unknown subcommand" "$err" \
  has "$err" "^stance-cli: 'frobnicate' is not a subcommand"
for sub in simulate import info; do
  run "$sub" --no-such-option
  expect_rc "$sub: an unknown option is a usage error" 2
  check "$sub: the message names the option" "$err" \
    has "$err" "^stance-cli $sub: unknown option '--no-such-option'"
done
run simulate --protocol cmj -o
expect_rc "simulate: -o without a value" 2
run simulate --protocol cmj --reps many -o x.stance
expect_rc "simulate: --reps many" 2
check "the bad value is named with its option" "$err" \
  has "$err" "^stance-cli simulate: --reps: 'many'"
run simulate --protocol cmj --asymmetry 80 -o x.stance
expect_rc "simulate: --asymmetry 80 is out of range" 2
check "the range message says what is allowed" "$err" has "$err" "outside 0-60"
run simulate --protocol pirouette -o x.stance
expect_rc "simulate: an unknown protocol" 2
check "the unknown-protocol message lists the protocols" "$err" has "$err" "split-squat"
run simulate -o x.stance
expect_rc "simulate: no --protocol" 2
run simulate --protocol cmj
expect_rc "simulate: no -o" 2
check "nothing is written after a usage error" "$(ls)" [ ! -e x.stance ]
run info
expect_rc "info: no file" 2
run import
expect_rc "import: no file" 2
run info --rate fast "$DATA/plateforce/subject01_trial1.force.txt"
expect_rc "info: --rate fast" 2

# ---------------------------------------------------------------------------------------------
# Missing and unreadable files
# ---------------------------------------------------------------------------------------------
run info no-such-recording.stance
expect_rc "info: a missing file is bad input" 1
check "the message names the missing file" "$err" \
  has "$err" "^stance-cli info: .*no-such-recording\.stance"
run import no-such-export.csv
expect_rc "import: a missing file is bad input" 1
check "import names the missing file" "$err" has "$err" "^stance-cli import: .*no-such-export\.csv"
printf 'time,fz\n0.000,abc\n0.001,12.5\n' >garbage.csv
run info garbage.csv
expect_rc "info: an unparseable text file is bad input" 1

# ---------------------------------------------------------------------------------------------
# The acceptance check: a split squat on the simulated plates, then info
# ---------------------------------------------------------------------------------------------
run simulate --protocol split-squat --front left --reps 8 --asymmetry 15 --seed 1 -o s.stance
expect_rc "simulate split-squat, 8 reps, 15 % asymmetry" 0
sim_out=$out
check "the recording and s.truth.json are written" "$(ls -l)" [ -s s.stance -a -s s.truth.json ]
check "the summary names protocol, side and seed" "$sim_out" \
  has "$sim_out" "^Simulated split-squat .*front foot left, seed 1"
check "the truth has the 8 reps" "$sim_out" has "$sim_out" "^  trials +8 "
check "the summary is labelled as ground truth" "$sim_out" has "$sim_out" "^Ground truth"
check "the summary shows per-limb ground-truth peak force" "$sim_out" \
  has "$sim_out" "^  peak_force +[0-9.]+ N +[0-9.]+ N"

run info s.stance
expect_rc "info s.stance" 0
check "info shows 8 channels" "$out" has "$out" "^  channels +8 \(l1 l2 l3 l4 r1 r2 r3 r4\)"
check "info shows the 1000 Hz rate (not assumed)" "$out" has "$out" "^  sample rate +1000 Hz$"
samples=$(field samples)
duration=$(field duration | awk '{ print $1 }')
# The duration is samples / rate, printed to the millisecond, and simulate printed the same.
duration_ok() {
  [ -n "$samples" ] && near "$duration" "$(calc "$samples / 1000")" 0.0005 &&
    has "$sim_out" "^  duration +$duration s"
}
check "info's duration ($duration s) is samples / rate and matches simulate's" \
  "samples '$samples' duration '$duration'" duration_ok
check "info shows protocol and front foot" "$out" \
  has "$out" "^  protocol +split-squat \(Split squat\), front foot left"
left=$(col left 2)
right=$(col right 2)
total=$(col total 2)
bw=$(calc "75 * 9.80665") # the default body mass, 75 kg
# Standing still in the first second, the two plates carry body weight: 1 % allows for the noise
# (40 counts ADC + 0.5 N per cell average out over 1000 samples far below that) and sway.
sum=$(calc "${left:-0} + ${right:-0}")
check "first-second plate means add up to body weight: $left + $right = $sum N vs $bw N (1 %)" \
  "left '$left' right '$right'" near "$sum" "$bw" "$(calc "$bw * 0.01")"
# The printed total is the sum of the printed plates (each rounded to 0.1 N).
check "the total line is left + right" "total $total sum $sum" near "$total" "$sum" 0.11
lp=$(col left 4)
rp=$(col right 4)
check "the plate shares add up to 100 % ($lp + $rp)" "$lp $rp" \
  near "$(calc "${lp:-0} + ${rp:-0}")" 100 0.15

# Determinism: the same seed gives the same bytes; another seed does not.
mkdir -p again
(cd again && "${RUN[@]}" simulate --protocol split-squat --front left --reps 8 --asymmetry 15 \
  --seed 1 -o s.stance >/dev/null 2>&1)
check "same seed twice: identical .stance files" "" cmp -s s.stance again/s.stance
check "same seed twice: identical truth JSON" "" cmp -s s.truth.json again/s.truth.json
run simulate --protocol split-squat --front left --reps 8 --asymmetry 15 --seed 2 -o s2.stance
check "another seed gives other data" "" eval '! cmp -s s.stance s2.stance'

# JSON form of info: versioned and the same figures.
run info --json s.stance
expect_rc "info --json" 0
have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
if [ $have_python = 1 ]; then
  printf '%s\n' "$out" >info.json
  json_agrees() {
    python3 - "$samples" "$left" "$right" <<'EOF'
import json, sys
doc = json.load(open("info.json"))
rec = doc["files"][0]["recordings"][0]
samples, left, right = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
fs = rec["first_second"]
assert doc["stance_cli_info"] == 1, doc.get("stance_cli_info")
assert doc["files"][0]["format"] == "stance"
assert rec["n_samples"] == samples and rec["n_channels"] == 8, rec
assert rec["sample_rate_hz"] == 1000 and rec["rate_assumed"] is False
assert rec["protocol"] == "split-squat" and rec["side"] == "left"
assert abs(fs["mean_left_n"] - left) <= 0.051 and abs(fs["mean_right_n"] - right) <= 0.051, fs
assert rec["gaps"]["count"] == 0 and rec["cop"]["available"] is True
EOF
  }
  check "info --json parses and agrees with the text (version 1)" "$out" json_agrees

  # A recording's sim.* metadata, used as a --params file, makes the same recording again.
  python3 -c '
import json
rec = json.load(open("info.json"))["files"][0]["recordings"][0]
for k, v in rec["metadata"].items():
    if k.startswith("sim."):
        print("%s = %s" % (k, v))
' >regen.txt
  mkdir -p regen
  run simulate --params regen.txt -o regen/s.stance
  regenerates() {
    [ "$rc" -eq 0 ] && grep -q '^sim.seed = 1$' regen.txt && cmp -s s.stance regen/s.stance
  }
  check "the sim.* metadata of s.stance as --params regenerates it byte for byte" \
    "exit $rc: $err" regenerates
else
  skip "info --json parses and agrees with the text" "python3 not installed"
  skip "the sim.* metadata as --params regenerates the recording" "python3 not installed"
fi

# A --params file, overridden by the command line.
printf '# a session plan\nprotocol = cmj\nreps 2\nbody-mass = 82.5\nseed = 9\n' >plan.txt
run simulate --params plan.txt --reps 4 -o plan.stance
expect_rc "simulate --params plan.txt --reps 4" 0
plan_applied() {
  has "$out" "^Simulated cmj " && has "$out" "^  trials +4 " &&
    has "$out" "^  body weight +809\.0 N \(82\.5 kg\)"
}
check "the plan sets protocol and body mass (82.5 kg = 809.0 N); --reps 4 overrides its 2" \
  "$out" plan_applied
printf 'protocol = cmj\nreps = lots\n' >bad-plan.txt
run simulate --params bad-plan.txt -o bad.stance
expect_rc "a bad value in a --params file is bad input" 1
check "the message names the file and line" "$err" has "$err" "bad-plan\.txt:2: "

# ---------------------------------------------------------------------------------------------
# Corruption
# ---------------------------------------------------------------------------------------------
size=$(wc -c <s.stance)
cp s.stance corrupt.stance
# Flip bits of one byte in the middle of the sample data.
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 corrupt.stance | tr -d ' ')
printf "$(printf '\\%03o' $(((byte ^ 0x5a) & 255)))" |
  dd of=corrupt.stance bs=1 seek="$off" conv=notrunc status=none
if cmp -s s.stance corrupt.stance; then
  not_ok "a byte of the copy was flipped"
else
  run info corrupt.stance
  expect_rc "info on a .stance with a flipped byte is bad input" 1
  check "the message names the corruption" "$err" \
    has "$err" "^stance-cli info: .*(corrupt|checksum|CRC)"
fi
head -c $((size - 100)) s.stance >truncated.stance
run info truncated.stance
expect_rc "info on a truncated .stance is bad input" 1
check "the message says the file is cut short" "$err" has "$err" "truncat|ends"
# Detection is by content: a .stance under another name is still a recording.
cp s.stance renamed.dat
run info renamed.dat
recognised() {
  [ "$rc" -eq 0 ] && has "$out" "^  format +Stance recording" && has "$out" "^  samples +$samples$"
}
check "a .stance file named .dat is recognised by its magic" "exit $rc: $err" recognised

# ---------------------------------------------------------------------------------------------
# CSV export: dot decimals whatever the locale
# ---------------------------------------------------------------------------------------------
# A locale whose decimal point is a comma: installed, or generated with localedef into $tmp.
loc=""
locpath=""
for l in de_DE.UTF-8 de_DE.utf8 fr_FR.UTF-8; do
  if [ "$(env LC_ALL="$l" printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]; then
    loc=$l
    break
  fi
done
if [ -z "$loc" ] && command -v localedef >/dev/null 2>&1; then
  mkdir -p "$tmp/locale"
  if localedef -i de_DE -f UTF-8 "$tmp/locale/de_DE.UTF-8" >/dev/null 2>&1 &&
    [ "$(env LOCPATH="$tmp/locale" LC_ALL=de_DE.UTF-8 printf '%.1f' 1.5 2>/dev/null)" = "1,5" ]
  then
    loc=de_DE.UTF-8
    locpath=$tmp/locale
  fi
fi
csv_args=(simulate --protocol split-squat --front left --reps 8 --asymmetry 15 --seed 1 -o s.csv)
if [ -n "$loc" ]; then
  locdesc="LC_ALL=$loc${locpath:+ (generated with localedef)}"
  env ${locpath:+LOCPATH="$locpath"} LC_ALL="$loc" "${RUN[@]}" "${csv_args[@]}" >csv.out 2>csv.err
  rc=$?
else
  locdesc="C.UTF-8 with LC_NUMERIC=C.UTF-8 (no decimal-comma locale could be set up)"
  env -u LC_ALL LANG=C.UTF-8 LC_NUMERIC=C.UTF-8 "${RUN[@]}" "${csv_args[@]}" >csv.out 2>csv.err
  rc=$?
fi
err=$(cat csv.err)
expect_rc "simulate -o s.csv under $locdesc" 0
nhead=$(grep -c '^#' s.csv)
ndata=$(grep -vc '^#' s.csv)
header=$(sed -n "$((nhead + 1))p" s.csv)
check "CSV column header after $nhead '#' metadata lines" "$header" \
  [ "$header" = "time_s,l1,l2,l3,l4,r1,r2,r3,r4,left_n,right_n,total_n" ]
csv_meta() {
  grep -q '^# sample rate: 1000 Hz$' s.csv && grep -q '^# calibration id: SIM-' s.csv &&
    grep -q '^# seed: 1$' s.csv && grep -q '^# units: ' s.csv &&
    grep -q '^# protocol: split-squat' s.csv
}
check "CSV metadata: rate, calibration id, seed, units, protocol" "$(grep '^#' s.csv)" csv_meta
check "CSV has one row per sample ($samples)" "$ndata lines for $samples samples" \
  [ "$ndata" -eq $((samples + 1)) ]
row_re='^[0-9]+\.[0-9]{3}(,-?[0-9]+){8}(,-?[0-9]+\.[0-9]{4}){3}$'
bad=$(grep -v '^#' s.csv | tail -n +2 | grep -Evc "$row_re")
check "every CSV row has dot decimals and 12 fields under $locdesc" \
  "$bad bad rows: $(grep -v '^#' s.csv | tail -n +2 | grep -Ev "$row_re" | head -n 2)" \
  [ "$bad" -eq 0 ]
# Same seed, same data: the CSV's first-second plate means equal info's of the .stance (rounded
# to 0.1 N there), and on every row left_n + right_n is total_n (each rounded to 0.1 mN).
csvm=$(grep -v '^#' s.csv | awk -F, 'NR > 1 && NR <= 1001 {
    l += $10; r += $11; if (($10 + $11 - $12)^2 > 1e-6) bad++
  } END { printf "%.4f %.4f %d", l / 1000, r / 1000, bad }')
set -- $csvm
csv_agrees() { near "$1" "$left" 0.051 && near "$2" "$right" 0.051 && [ "$3" -eq 0 ]; }
check "CSV forces agree with the .stance recording (left $1 N, right $2 N)" \
  "csv '$csvm' info '$left $right'" csv_agrees "$@"
check "the CSV run writes the same truth JSON" "" cmp -s s.truth.json again/s.truth.json

# ---------------------------------------------------------------------------------------------
# info on the public recordings: rate and sample count as their READMEs give them
# ---------------------------------------------------------------------------------------------
# path|options|rate|samples|assumed (1: no time column and no --rate, so the rate is assumed)
cases="
shiny-vertical-jump/single_trial.csv||1000|5589|1
shiny-vertical-jump/long_1.csv||1000|58050|1
plateforce/subject01_trial1.force.txt|--rate 1200|1200|6000|0
plateforce/subject01_trial2.force.txt|--rate 1200|1200|6000|0
plateforce/subject01_trial3.force.txt|--rate 1200|1200|4076|0
plateforce/subject01_trial4.force.txt|--rate 1200|1200|3461|0
plateforce/subject01_trial5.force.txt|--rate 1200|1200|4201|0
plateforce/subject01_trial6.force.txt|--rate 1200|1200|6000|0
ACL_squat_jump/BFR003_squat_jump.csv||1000|12080|0
ACL_squat_jump/BFR007_1st_squat_jump.csv||1000|4000|0
ACL_squat_jump/BFR007_2nd_squat_jump.csv||1000|5000|0
ACL_squat_jump/BFR007_3rd_squat_jump.csv||1000|7350|0
ACL_squat_jump/BFR010_squat_jump.csv||1000|7850|0
Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt||1000|5000|1
Vertical-Jumps-Fz-Automated-Analysis/Dual-SJ-Fz.txt||1000|5000|1
Vertical-Jumps-Fz-Automated-Analysis/Dual-DJ-Fz.txt||1000|5000|1
Vertical-Jumps-Fz-Automated-Analysis/Single-CMJ-Fz.txt||1000|5000|1
Vertical-Jumps-Fz-Automated-Analysis/Single-SJ-Fz.txt||1000|5000|1
Vertical-Jumps-Fz-Automated-Analysis/Single-DJ-Fz.txt||1000|5000|1
IsometricAnalyzer/Example1.csv||1000|19182|0
IsometricAnalyzer/Example2.csv||1000|23793|0
"
describes() {
  [ "$rc" -eq 0 ] && has "$out" "$ratepat" && has "$out" "^  samples +$count$" &&
    has "$out" "^    total +[0-9.-]+ N"
}
while IFS='|' read -r f opts rate count assumed; do
  [ -z "$f" ] && continue
  if [ ! -f "$DATA/$f" ]; then
    not_ok "info $f" "missing test data file $DATA/$f"
    continue
  fi
  # shellcheck disable=SC2086
  run info $opts "$DATA/$f"
  if [ "$assumed" = 1 ]; then
    ratepat="^  sample rate +$rate Hz \(assumed"
    what="$rate Hz (assumed)"
  else
    ratepat="^  sample rate +$rate Hz$"
    what="$rate Hz"
  fi
  check "info ${opts:+$opts }$f: $what, $count samples" \
    "exit $rc; $(printf '%s\n' "$out" | grep -E 'sample rate|samples'); $err" describes
done <<EOF
$cases
EOF

# Two-plate files: left and right; the one-column files: combined.
run info "$DATA/Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt"
check "FP1/FP2 without sides: left/right flagged as assumed" "$out" \
  has "$out" "^  plates +left and right \(assumed"
dual_total=$(col total 2)
run info "$DATA/Vertical-Jumps-Fz-Automated-Analysis/Single-CMJ-Fz.txt"
check "a one-column file is one combined force" "$out" has "$out" "^  plates +one combined force"
single_total=$(col total 2)
# README: Single-X = FP1 + FP2 of Dual-X exactly; quiet standing ~663 N in the first second.
check "Single-CMJ first-second mean = Dual-CMJ's FP1 + FP2 ($single_total N, ~663 N standing)" \
  "dual '$dual_total' single '$single_total'" \
  eval 'near "$dual_total" "$single_total" 0.051 && near "$single_total" 663 10'
# plateforce: body weight of trial 1 (reference bw_100 = 587.186 N; its window differs slightly
# from the first 1200 samples, so 1 %).
run info --rate 1200 "$DATA/plateforce/subject01_trial1.force.txt"
pf_total=$(col total 2)
check "plateforce trial 1 weighs $pf_total N (reference 587.2 N, 1 %)" "got '$pf_total'" \
  near "$pf_total" 587.186 5.9
# shiny single_trial: body mass 80.50624 kg = mean(fp1 + fp2 of the first 1000 samples) / 9.81.
run info "$DATA/shiny-vertical-jump/single_trial.csv"
st_total=$(col total 2)
check "single_trial.csv first second: $st_total N = the app's body mass x 9.81" \
  "got '$st_total'" near "$st_total" "$(calc "80.5062395514781 * 9.81")" 0.051

# A multi-trial file: one block per trial.
run info "$DATA/shiny-vertical-jump/wide_data.csv"
four_blocks() {
  [ "$rc" -eq 0 ] && has "$out" "text file with 4 trials" &&
    [ "$(printf '%s\n' "$out" | grep -c '^  trial [1-4] of 4$')" -eq 4 ] &&
    [ "$(printf '%s\n' "$out" | grep -Ec '^    samples +[0-9]+$')" -eq 4 ]
}
check "wide_data.csv: 4 trials, one block each" "exit $rc: $err" four_blocks
# Trials 2 and 4 have complete column pairs: 11144 and 9756 rows.
wide_counts=$(printf '%s\n' "$out" | awk '$1 == "samples" { print $2 }' | tr '\n' ' ')
set -- $wide_counts
check "wide_data.csv trials 2 and 4 have 11144 and 9756 samples" "got: $wide_counts" \
  [ "${2:-}" = 11144 -a "${4:-}" = 9756 ]

# ---------------------------------------------------------------------------------------------
# import, then info of the result
# ---------------------------------------------------------------------------------------------
# The lines from "sample rate" to "CoP", without the calibration line.
core_lines() {
  printf '%s\n' "$out" | sed -n '/^  sample rate/,/^  CoP/p' | grep -v '^  calibration'
}
run info "$DATA/shiny-vertical-jump/single_trial.csv"
text_info=$(core_lines)
run import "$DATA/shiny-vertical-jump/single_trial.csv" --protocol cmj --athlete "Test Athlete"
expect_rc "import single_trial.csv --protocol cmj --athlete" 0
check "the default output is single_trial.stance in the current folder" "$(ls)" \
  [ -s single_trial.stance ]
check "import says what it wrote" "$out" has "$out" "^  wrote +single_trial\.stance"
run info single_trial.stance
stance_info=$(core_lines)
check "info of the imported .stance equals info of the text (rate, samples, plates, means...)" \
  "$(diff <(printf '%s\n' "$text_info") <(printf '%s\n' "$stance_info"))" \
  [ "$rc" -eq 0 -a -n "$text_info" -a "$text_info" = "$stance_info" ]
check "protocol and athlete are stored" "$out" \
  eval 'has "$out" "^  protocol +cmj \(Countermovement jump\), bilateral" &&
    has "$out" "^  athlete +Test Athlete$"'

run import "$DATA/shiny-vertical-jump/wide_data.csv" -o sj.stance --protocol sj
expect_rc "import wide_data.csv -o sj.stance" 0
check "a 4-trial file gives sj-1.stance .. sj-4.stance" "$(ls)" \
  [ -s sj-1.stance -a -s sj-2.stance -a -s sj-3.stance -a -s sj-4.stance -a ! -e sj.stance ]
run info sj-2.stance
check "sj-2.stance holds trial 2 (11144 samples)" "$out" has "$out" "^  samples +11144$"

run import --rate 1200 "$DATA/plateforce/subject01_trial3.force.txt" -o t3.stance
expect_rc "import --rate 1200 plateforce trial 3" 0
run info t3.stance
check "t3.stance: 1200 Hz, 4076 samples, combined" "$out" \
  eval 'has "$out" "^  sample rate +1200 Hz$" && has "$out" "^  samples +4076$" &&
    has "$out" "^  plates +one combined force"'

run import --swap-sides "$DATA/Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt" \
  -o swapped.stance
run info swapped.stance
sw_left=$(col left 2)
run info "$DATA/Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt"
or_right=$(col right 2)
check "--swap-sides puts the right plate on the left ($sw_left N)" \
  "swapped left '$sw_left', original right '$or_right'" \
  [ -n "$sw_left" -a "$sw_left" = "$or_right" ]

run import "$DATA/shiny-vertical-jump/single_trial.csv" --protocol split-squat -o x.stance
expect_rc "import --protocol split-squat without --side" 2
run import "$DATA/shiny-vertical-jump/single_trial.csv" --delimiter pipe -o x.stance
expect_rc "import --delimiter pipe" 2
check "no file is written after import usage errors" "$(ls)" [ ! -e x.stance ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
