# shellcheck shell=bash
# tests/cli-lib.sh: what the stance-cli end-to-end scripts (test-cli.sh, test-cli-analyse.sh,
# test-cli-record.sh) share: leaving valgrind, running stance-cli (in memcheck under the valgrind
# setup), a temporary working folder and the TAP-like check helpers. Not a test on its own; each
# script starts with
#
#   . "$(dirname "$0")/cli-lib.sh"
#   cli_lib_init TMPNAME "$@"        (TMPNAME names the temporary folder: stance-test-TMPNAME.*)
#
# and ends with `echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]`.
#
# SPDX-License-Identifier: GPL-3.0-or-later

# The tests folder (for tests/data and ../meson.build).
# shellcheck disable=SC2034 # here, VALGRIND and PY are for the scripts that source this file
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# cli_lib_init TMPNAME ARGS...: ARGS are the script's own (the path of stance-cli first). Sets CLI
# (absolute), RUN (the command that runs stance-cli), VALGRIND (1 when RUN is memcheck), PY
# (python3, or empty), makes the temporary folder $tmp (removed on exit) and changes into it.
# shellcheck disable=SC2034
cli_lib_init() {
  local tmpname=$1
  shift
  # `meson test --setup valgrind` runs the script's bash in memcheck, which then reports bash's
  # own leaks (in forked subshells too) as failures. Leave valgrind by exec'ing a fresh bash
  # (valgrind does not follow exec); stance-cli itself then runs in memcheck explicitly (RUN).
  if [ -z "${STANCE_TEST_CLI_REEXEC:-}" ]; then
    case "${LD_PRELOAD:-}" in
    *vgpreload*) export STANCE_TEST_CLI_REEXEC=1; exec "${BASH:-bash}" "$0" "$@" ;;
    esac
  fi

  CLI=${1:?usage: $(basename "$0") /path/to/stance-cli}
  case $CLI in /*) ;; *) CLI=$PWD/$CLI ;; esac
  # Under the valgrind setup (STANCE_UNDER_VALGRIND=1), stance-cli runs in memcheck: its errors
  # and leaks turn into exit 99, which no check expects.
  VALGRIND=0
  RUN=("$CLI")
  if [ "${STANCE_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    VALGRIND=1
    RUN=(valgrind --quiet --error-exitcode=99 --leak-check=full
      --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "$CLI")
  fi
  PY=$(command -v python3 || true)

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/stance-test-$tmpname.XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT
  cd "$tmp" || exit 1

  passed=0
  failed=0
  n=0
}

ok() {
  n=$((n + 1))
  passed=$((passed + 1))
  echo "ok $n - $1"
}
# not_ok DESC [DETAIL]: DETAIL is printed as '#' comment lines.
not_ok() {
  n=$((n + 1))
  failed=$((failed + 1))
  echo "not ok $n - $1"
  if [ $# -gt 1 ]; then printf '%s\n' "$2" | sed 's/^/#   /'; fi
}
# skip DESC WHY: counts as passed, marked "# SKIP WHY".
skip() {
  n=$((n + 1))
  passed=$((passed + 1))
  echo "ok $n - $1 # SKIP $2"
}
# check DESC DETAIL COMMAND...: ok when COMMAND succeeds, else not ok with DETAIL.
check() {
  local desc=$1 detail=$2
  shift 2
  if "$@"; then ok "$desc"; else not_ok "$desc" "$detail"; fi
}
# run ARGS...: runs stance-cli (RUN), leaving stdout in $out (and the file stdout), stderr in $err
# (and the file stderr) and the status in $rc.
run() {
  "${RUN[@]}" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  out=$(cat "$tmp/stdout")
  err=$(cat "$tmp/stderr")
}
# run_quick ARGS...: the same without memcheck, for option errors that stop before any work
# (memcheck still runs on everything that reads or writes a file).
run_quick() {
  "$CLI" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  out=$(cat "$tmp/stdout")
  err=$(cat "$tmp/stderr")
}
# expect_rc DESC CODE: checks the last run's status, showing stderr when it differs.
expect_rc() {
  check "$1 (exit $2)" "got exit $rc; stderr: $err" [ "$rc" -eq "$2" ]
}
# has TEXT PATTERN: extended-regex match on a multi-line text.
has() { printf '%s\n' "$1" | grep -Eq -- "$2"; }
