#!/usr/bin/env bash
# Stance quick start.
#
#   ./quickstart.sh run    install what is missing, build, and run Stance on the simulated plates
#   ./quickstart.sh test   install what is missing, build, and run every test suite: a normal build,
#                          an ASan+UBSan build, and the valgrind setup; ends with
#                          "tests: N passed, N failed"
#
# Works on a fresh Debian 12 machine, as root or as a user with sudo. Nothing else is downloaded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

packages=(
  meson ninja-build pkg-config gcc libc6-dev python3
  libusb-1.0-0-dev libfftw3-dev libgsl-dev libgtk-4-dev libadwaita-1-dev libsqlite3-dev
  check umockdev libumockdev-dev valgrind clang-format
  libcairo2-dev libfontconfig-dev fonts-dejavu-core
  xvfb xauth dbus poppler-utils locales
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  clang libclang-rt-14-dev
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#packages[@]} packages present"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# build DIR [meson options...]
build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir $*"
    meson setup "$dir" "$@" >/dev/null
  fi
  log "building $dir"
  meson compile -C "$dir" >/dev/null
}

cmd_run() {
  install_missing
  build build
  local cli=build/src/cli/stance-cli
  local out
  out=$(mktemp -d)
  # A session store of its own in the temporary folder: the demo never touches the user's database
  # (~/.local/share/stance/stance.db, which stance-cli uses when STANCE_DB is not set).
  export STANCE_DB=$out/stance.db
  log "headless session on the simulated plates (store and report in $out)"
  "$cli" athlete add "Demo Athlete" --sex f --dominant left --involved right --mass 68
  # Split squats with each foot in front, recorded into the store like real plates would be; the
  # simulated right leg is 15 % weaker.
  "$cli" record --sim split-squat --side left --asymmetry 15 --seed 1 --fast --duration 35 \
    --athlete "Demo Athlete" 2>/dev/null
  "$cli" record --sim split-squat --side right --asymmetry 15 --seed 2 --fast --duration 35 \
    --athlete "Demo Athlete" 2>/dev/null
  echo
  log "the stored session: each trial, then the left-front against the right-front asymmetry"
  "$cli" session show latest
  echo
  "$cli" report latest -o "$out/asymmetry-report.pdf"
  log "asymmetry report for the physio: $out/asymmetry-report.pdf"
}

# Prints "tests: N passed, N failed" over the given meson build dirs' last test logs.
summarise() {
  python3 - "$@" <<'EOF'
import json, sys, pathlib
passed = failed = 0
for d in sys.argv[1:]:
  for log in sorted((pathlib.Path(d) / "meson-logs").glob("testlog*.json")):
    for line in log.read_text().splitlines():
      if not line.strip():
        continue
      r = json.loads(line)["result"]
      if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
      elif r != "SKIP":
        failed += 1
print(f"tests: {passed} passed, {failed} failed")
EOF
}

cmd_test() {
  install_missing
  local status=0 dirs=()

  build build
  log "tests (normal build)"
  meson test -C build --verbose --print-errorlogs || status=1
  dirs+=(build)

  build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
  log "tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
  meson test -C build-asan --verbose --print-errorlogs || status=1
  dirs+=(build-asan)

  # Every unit test but the simulator's own (suite sim-physics: they run above, plain and under
  # ASan+UBSan, and the simulator runs under valgrind inside every analysis test) and the two
  # slowest under memcheck, calibration and C3D (suite slow-valgrind; LeakSanitizer checks them
  # above). By hand:
  #   meson test -C build --setup valgrind --suite sim-physics --suite slow-valgrind
  log "tests (valgrind: memory errors and leaks)"
  meson test -C build --setup valgrind --suite unit --no-suite sim-physics --no-suite slow-valgrind \
    --print-errorlogs ||
    status=1

  # The firmware: its own cross project. Builds the ELF, checks the flash/RAM budget and runs the
  # firmware's logic tests as ARM code under QEMU (they also ran on the host above).
  if [ ! -f build-fw/build.ninja ]; then
    log "configuring build-fw (firmware, arm-none-eabi)"
    meson setup build-fw firmware --cross-file firmware/cross/arm-none-eabi.ini >/dev/null
  fi
  log "building build-fw"
  meson compile -C build-fw >/dev/null
  log "tests (firmware under qemu-system-arm)"
  meson test -C build-fw --verbose --print-errorlogs || status=1
  dirs+=(build-fw)

  summarise "${dirs[@]}"
  return $status
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac
