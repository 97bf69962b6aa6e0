/* cli-calibrate.c: `stance-cli calibrate`: calibrates the plates' load cells, guided on a terminal
 * (a board, or the simulated board with a simulated technician) or offline from a recorded
 * session, then reports, writes the JSON, keeps the record in the store and, on request, writes
 * it to the board's calibration block.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The calibration itself is calib/stance-calib.h; this file is the command around it:
 *
 *  - offline (--from SESSION.stance): stance_calib_run() finds the plan's steps by segmentation;
 *  - guided (--device SERIAL or --sim): one StanceSource streams the session into a recorder
 *    (stance-recorder.h) while a state machine walks the plan. For each step it says what to do,
 *    shows the live reading, waits for Enter, records the step for its hold time, checks it
 *    (stance_calib_measure_step, then that the load is on the plate and at the position the plan
 *    says) and asks to redo a refused step. The spans it recorded go to stance_calib_run(). A
 *    board is a StanceUsbSource; the simulated board is CliCalibSim below, a StanceSource that
 *    streams a session simulated in advance (stance_sim_calib_run) step by step: its simulated
 *    technician places each mass when the flow asks for it. Both run the same flow code; only
 *    "is the mass in place yet" and "the board's calibration block" differ;
 *  - then the report (standard output), -o JSON, the store (--db) and the board (--write-board).
 *
 * Standard output carries the report only; the guidance (steps, live reading, checks) goes to
 * standard error, so `calibrate ... > report.txt` keeps the report while the user sees the steps.
 *
 * Threads: the CLI's main thread runs everything here except CliCalibSim's pacing thread, which
 * touches only the fields under its lock and the immutable simulated session.
 */
#include "cli-store.h"

#include <errno.h>
#include <getopt.h>
#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stance-calib.h"
#include "stance-file.h"
#include "stance-recorder.h"
#include "stance-sim.h"
#include "stance-source-usb.h"

static const char *const SUB = "calibrate";

/* Exit status when Ctrl-C, SIGTERM, `q` or a closed standard input stopped a guided session:
 * 128 + SIGINT, as for `record`. Nothing is saved then. */
#define CLI_EXIT_INTERRUPTED 130

/* Default hold of each step after Enter, and of the first zero (the offsets come from it). */
#define DEFAULT_HOLD_S 4.0
#define DEFAULT_ZERO_HOLD_S 10.0
#define MAX_HOLD_S 300.0
/* The simulated technician holds each step at least this much longer than the flow records it,
 * so that the recorded span never reaches the next change. */
#define SIM_HOLD_MARGIN_S 0.5
/* A loaded step's centre of load (through the provisional gains) further than this from the
 * planned position is questioned. Provisional gains within a few % of each other move the centre
 * by a few mm; a mass on the wrong mark moves it by 100 mm or more (the marks of the default plan
 * are 189-270 mm apart). */
#define COP_TOLERANCE_MM 50.0
/* Without a person to ask (--yes), a refused step is repeated at most this many times. */
#define AUTO_MAX_ATTEMPTS 3
/* The live reading: mean and SD over the last LIVE_WINDOW_S, redrawn every LIVE_REDRAW_US. */
#define LIVE_WINDOW_S 0.5
#define LIVE_REDRAW_US 200000
/* Samples the simulated board releases at a time. */
#define SIM_BATCH 256
#define MAX_LOADS 16

/* ======================================================================================
 * Help
 * ====================================================================================== */

void
cli_calibrate_help(FILE *out)
{
  fputs(
      "Usage: stance-cli calibrate --from SESSION.stance [--plan PLAN.txt] [--serial S] [options]\n"
      "       stance-cli calibrate --device SERIAL [options]\n"
      "       stance-cli calibrate --sim [--sim-... options] [options]\n"
      "       stance-cli calibrate --list [--serial S] [--db PATH]\n"
      "\n"
      "Calibrates the load cells of the twin plates with known masses at known positions\n"
      "(docs/calibration.md): an offset and a gain per cell, with standard errors, verified\n"
      "against the pass limits, with faulty or miswired cells named. The report goes to standard\n"
      "output; the record is kept in the store and can be written to the board.\n"
      "\n"
      "Source (one of):\n"
      "      --from FILE         a recorded calibration session (.stance, raw counts): its steps\n"
      "                          are found automatically\n"
      "      --device SERIAL     guided on this terminal, with the board of that serial\n"
      "      --sim               guided, with the simulated board: a simulated technician places\n"
      "                          the masses when asked; its true gains are known (--sim-truth)\n"
      "      --list              list the stored calibrations (with --serial: of that board)\n"
      "Plan (default: centre and near each cell of each plate, 20, 50, 100 kg):\n"
      "      --plan FILE         a plan file (docs/calibration.md, \"Plan format\")\n"
      "      --loads KG,KG,KG    the default plan with these masses (at least 3, ascending)\n"
      "      --corner-fraction F the default plan's corner marks at F of the cell positions\n"
      "                          (0.3-1, default 0.7)\n"
      "Guided session (--device, --sim):\n"
      "      --hold S            each step is recorded this long after Enter (default 4)\n"
      "      --zero-hold S       the first zero (the offsets) is recorded this long (default 10)\n"
      "      --rate HZ           500, 1000, 2000 or 4000 (default 1000; a board: its rate)\n"
      "      --save-session FILE write the whole session to FILE.stance (for --from later)\n"
      "  -y, --yes               --sim only: do not wait for Enter (also when standard input\n"
      "                          is not a terminal)\n"
      "      --fast              --sim only: not paced by the wall clock\n"
      "Simulated board (--sim only):\n"
      "      --seed N            random seed (default 1)\n"
      "      --sim-gain-error CELL:PCT  that cell's true gain is PCT % off (repeatable)\n"
      "      --sim-reverse CELL  that cell's signal wires are reversed\n"
      "      --sim-nonlinear CELL[:K]  that cell is non-linear: F (1 + K F / 1 kN), K default 0.1\n"
      "      --sim-miswire CELL  that cell is wired to the other plate's input (exchanged with\n"
      "                          the same cell of the other plate)\n"
      "      --sim-swap CELL,CELL  two cells exchanged\n"
      "      --sim-hysteresis PCT  plates read high while unloading (% of the run's top load)\n"
      "      --sim-drift N_PER_MIN, --sim-noise COUNTS (40), --sim-cell-noise N (0.2),\n"
      "      --sim-gravity G (the simulated lab's gravity, default 9.81)\n"
      "      --sim-truth FILE    write the true gains, offsets and wiring as JSON\n"
      "                          CELL: l1-l4, r1-r4 (left/right plate, cell 1 front-left,\n"
      "                          2 front-right, 3 rear-right, 4 rear-left)\n"
      "Calibration (docs/calibration.md):\n"
      "      --gravity G         local gravity, m/s2 (default 9.81)\n"
      "      --nominal-gain G    the cells' nominal gain, N/count, to scale the counts before\n"
      "                          the fit (needed for a board or file without a calibration)\n"
      "      --settle S, --min-average S, --min-step S, --steady-window S, --level-tolerance PCT\n"
      "      --limit-force PCT_FS (0.5), --limit-cop MM (5), --limit-nonlinearity PCT_FS (0.25),\n"
      "      --limit-hysteresis PCT_FS (0.25), --limit-zero PCT_FS (0.25),\n"
      "      --limit-gain-spread PCT (25)\n"
      "Results:\n"
      "  -o, --output FILE       the whole result as JSON\n"
      "      --serial S          --from: the board the session calibrates (default: the\n"
      "                          recording's); --list: only this board\n"
      "      --db PATH           the store (default $STANCE_DB, else\n"
      "                          ~/.local/share/stance/stance.db)\n"
      "      --no-store          do not keep the record in the store\n"
      "      --write-board       --device only: write the calibration to the board (refused when\n"
      "                          it failed verification, unless --force)\n"
      "      --force             write a failed calibration to the board anyway\n"
      "  -h, --help              show this text and exit\n"
      "\n"
      "Guided: each step says what to put where (\"put 20 kg on the LEFT plate, centre (x 0 mm,\n"
      "y 0 mm), then press Enter\"), shows the plate's live reading and whether it is steady,\n"
      "records the step, checks it and asks to redo a step that was not steady or whose load is\n"
      "not where the plan says (Enter: redo, k: keep it, q: stop). Ctrl-C stops without saving.\n"
      "\n"
      "Exit status: 0 the calibration PASSED verification, 1 it FAILED verification (the report\n"
      "says why; the record is still kept) or bad input (a file that is not a calibration\n"
      "session, a bad plan file, no board, a store or board error), 2 bad usage, 130 a guided\n"
      "session stopped by Ctrl-C, SIGTERM, q or a closed standard input (nothing saved).\n"
      "\n"
      "Examples:\n"
      "  stance-cli calibrate --sim --fast --yes --sim-truth truth.json -o cal.json\n"
      "  stance-cli calibrate --sim --sim-miswire r4 --fast --yes\n"
      "  stance-cli calibrate --device SN-0042 --nominal-gain 0.0004 --save-session cal.stance \\\n"
      "      --write-board\n"
      "  stance-cli calibrate --from cal.stance -o cal.json\n"
      "  stance-cli calibrate --list --serial SN-0042\n",
      out);
}

/* ======================================================================================
 * Options
 * ====================================================================================== */

typedef struct {
  bool list;
  const char *from;
  const char *device;
  bool sim;
  const char *plan_path;
  double loads[MAX_LOADS];
  size_t n_loads;
  double corner_fraction;
  const char *serial;
  const char *out_json;
  const char *db;
  const char *save_session;
  const char *sim_truth;
  bool no_store, write_board, force, yes, fast;
  double hold_s, zero_hold_s; /* 0: not given */
  double rate_hz;             /* 0: not given */
  StanceCalibOptions copt;
  /* The simulated board: defaults, then each --sim-* option. */
  StanceSimCalibParams sp;
  double gain_error_pct[STANCE_N_CELLS];
  bool reverse[STANCE_N_CELLS];
  char sim_faults[160]; /* the faults asked for, for the session's metadata */
  const char *first_sim_option;
  const char *first_guided_option;
} CalibOpts;

enum {
  OPT_FROM = 256,
  OPT_DEVICE,
  OPT_SIM,
  OPT_LIST,
  OPT_PLAN,
  OPT_LOADS,
  OPT_CORNER,
  OPT_HOLD,
  OPT_ZERO_HOLD,
  OPT_RATE,
  OPT_SAVE_SESSION,
  OPT_FAST,
  OPT_SEED,
  OPT_SIM_GAIN_ERROR,
  OPT_SIM_REVERSE,
  OPT_SIM_NONLINEAR,
  OPT_SIM_MISWIRE,
  OPT_SIM_SWAP,
  OPT_SIM_HYSTERESIS,
  OPT_SIM_DRIFT,
  OPT_SIM_NOISE,
  OPT_SIM_CELL_NOISE,
  OPT_SIM_GRAVITY,
  OPT_SIM_TRUTH,
  OPT_SERIAL,
  OPT_NO_STORE,
  OPT_WRITE_BOARD,
  OPT_FORCE,
  OPT_CALIB_BASE = 600, /* + index into calib_keys */
};

/* The calibration options, by their stance_calib_options_set() key (= the long option name). */
static const char *const calib_keys[] = {
    "gravity",          "settle",       "min-average",       "min-step",  "steady-window",
    "level-tolerance",  "nominal-gain", "limit-force",       "limit-cop", "limit-nonlinearity",
    "limit-hysteresis", "limit-zero",   "limit-gain-spread",
};
#define N_CALIB_KEYS (sizeof calib_keys / sizeof calib_keys[0])

/* "l1".."l4", "r1".."r4" -> channel 0-7; -1 otherwise. */
static int
parse_cell(const char *s, size_t len)
{
  if (len != 2 || (s[0] != 'l' && s[0] != 'L' && s[0] != 'r' && s[0] != 'R') || s[1] < '1' ||
      s[1] > '4')
    return -1;
  return (s[0] == 'r' || s[0] == 'R' ? STANCE_CELLS_PER_PLATE : 0) + (s[1] - '1');
}

/* "l1".."r4" for channel c. */
static const char *
cell_id(int c)
{
  static const char *const ids[STANCE_N_CELLS] = {"l1", "l2", "l3", "l4", "r1", "r2", "r3", "r4"};
  return c >= 0 && c < STANCE_N_CELLS ? ids[c] : "?";
}

static int
bad_cell(const char *opt, const char *value)
{
  return cli_usage_error(SUB,
                         "--%s: '%s' is not a cell (expected l1-l4 or r1-r4: left or right plate, "
                         "cell 1 front-left, 2 front-right, 3 rear-right, 4 rear-left)",
                         opt, value);
}

/* A number within [lo, hi] for option opt; prints the usage error and returns false otherwise. */
static bool
parse_range(const char *opt, const char *value, double lo, double hi, const char *what, double *out)
{
  double v;
  if (!cli_parse_double(value, &v) || v < lo || v > hi) {
    cli_usage_error(SUB, "--%s: '%s' is not %s (expected %s to %s)", opt, value, what,
                    cli_num_trim(lo, 6), cli_num_trim(hi, 6));
    return false;
  }
  *out = v;
  return true;
}

static void add_fault_text(CalibOpts *o, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Appends "; <text>" to the description of the simulated faults (for the session's metadata). */
static void
add_fault_text(CalibOpts *o, const char *fmt, ...)
{
  size_t len = strlen(o->sim_faults);
  if (len > 0 && len + 2 < sizeof o->sim_faults) {
    memcpy(o->sim_faults + len, "; ", 3);
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->sim_faults + len, sizeof o->sim_faults - len, fmt, ap);
  va_end(ap);
}

/* Parses one simulator option into o->sp (and the gain tables). Returns CLI_EXIT_OK or a usage
 * error's code. */
static int
parse_sim_option(CalibOpts *o, int c, const char *name, const char *v)
{
  StanceSimCalibParams *sp = &o->sp;
  double d;
  if (!o->first_sim_option)
    o->first_sim_option = name;
  switch (c) {
  case OPT_SEED: {
    char *end = NULL;
    errno = 0;
    unsigned long long s = strtoull(v, &end, 10);
    if (!*v || *v == '-' || *end || errno == ERANGE)
      return cli_usage_error(SUB, "--seed: '%s' is not a seed (expected a whole number >= 0)", v);
    sp->seed = (uint64_t)s;
    return CLI_EXIT_OK;
  }
  case OPT_SIM_GAIN_ERROR: {
    const char *colon = strchr(v, ':');
    int ch = colon ? parse_cell(v, (size_t)(colon - v)) : -1;
    if (ch < 0)
      return cli_usage_error(SUB,
                             "--sim-gain-error: '%s' is not CELL:PCT (expected e.g. l3:40: cell "
                             "l1-l4 or r1-r4, then its gain error in %%)",
                             v);
    if (!parse_range("sim-gain-error", colon + 1, -90.0, 100.0, "a gain error in %", &d))
      return CLI_EXIT_USAGE;
    o->gain_error_pct[ch] = d;
    add_fault_text(o, "gain %s %+g %%", cell_id(ch), d);
    return CLI_EXIT_OK;
  }
  case OPT_SIM_REVERSE: {
    int ch = parse_cell(v, strlen(v));
    if (ch < 0)
      return bad_cell(name, v);
    o->reverse[ch] = true;
    add_fault_text(o, "reversed %s", cell_id(ch));
    return CLI_EXIT_OK;
  }
  case OPT_SIM_NONLINEAR: {
    const char *colon = strchr(v, ':');
    int ch = parse_cell(v, colon ? (size_t)(colon - v) : strlen(v));
    if (ch < 0)
      return bad_cell(name, v);
    if (colon) {
      if (!parse_range("sim-nonlinear", colon + 1, -0.5, 0.5, "a non-linearity per kN", &d))
        return CLI_EXIT_USAGE;
      if (d == 0.0)
        return cli_usage_error(SUB, "--sim-nonlinear: K 0 is linear (expected a non-zero K "
                                    "within -0.5 to 0.5 per kN, e.g. l2:0.1)");
      sp->nonlinear_per_kn = d;
    }
    sp->nonlinear_cell = ch;
    add_fault_text(o, "nonlinear %s k %s/kN", cell_id(ch), cli_num_trim(sp->nonlinear_per_kn, 4));
    return CLI_EXIT_OK;
  }
  case OPT_SIM_MISWIRE: {
    int ch = parse_cell(v, strlen(v));
    if (ch < 0)
      return bad_cell(name, v);
    sp->wrong_plate_channel = ch;
    add_fault_text(o, "miswired %s <-> %s", cell_id(ch),
                   cell_id((ch + STANCE_CELLS_PER_PLATE) % STANCE_N_CELLS));
    return CLI_EXIT_OK;
  }
  case OPT_SIM_SWAP: {
    const char *comma = strchr(v, ',');
    int a = comma ? parse_cell(v, (size_t)(comma - v)) : -1;
    int b = comma ? parse_cell(comma + 1, strlen(comma + 1)) : -1;
    if (a < 0 || b < 0 || a == b)
      return cli_usage_error(SUB,
                             "--sim-swap: '%s' is not two cells (expected two different cells "
                             "l1-l4, r1-r4 separated by a comma, e.g. l3,l4)",
                             v);
    sp->swap_channels[0] = a;
    sp->swap_channels[1] = b;
    add_fault_text(o, "swapped %s <-> %s", cell_id(a), cell_id(b));
    return CLI_EXIT_OK;
  }
  case OPT_SIM_HYSTERESIS:
    if (!parse_range(name, v, 0.0, 10.0, "a hysteresis in % of the top load", &sp->hysteresis_pct))
      return CLI_EXIT_USAGE;
    add_fault_text(o, "hysteresis %s %%", cli_num_trim(sp->hysteresis_pct, 4));
    return CLI_EXIT_OK;
  case OPT_SIM_DRIFT:
    if (!parse_range(name, v, -100.0, 100.0, "a drift in N per minute", &sp->drift_n_per_min))
      return CLI_EXIT_USAGE;
    add_fault_text(o, "drift %s N/min", cli_num_trim(sp->drift_n_per_min, 4));
    return CLI_EXIT_OK;
  case OPT_SIM_NOISE:
    return parse_range(name, v, 0.0, 100000.0, "an ADC noise in counts RMS", &sp->adc_noise_counts)
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case OPT_SIM_CELL_NOISE:
    return parse_range(name, v, 0.0, 100.0, "a cell noise in N RMS", &sp->cell_noise_n)
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case OPT_SIM_GRAVITY:
    return parse_range(name, v, 9.7, 9.9, "a gravity in m/s2", &sp->gravity_m_s2) ? CLI_EXIT_OK
                                                                                  : CLI_EXIT_USAGE;
  case OPT_SIM_TRUTH:
    if (!*v)
      return cli_usage_error(SUB, "--sim-truth: empty file name");
    o->sim_truth = v;
    return CLI_EXIT_OK;
  }
  return CLI_EXIT_OK;
}

static int
parse_loads(CalibOpts *o, const char *v)
{
  o->n_loads = 0;
  const char *p = v;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char buf[64];
    double m;
    if (len == 0 || len >= sizeof buf || o->n_loads == MAX_LOADS)
      goto bad;
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (!cli_parse_double(buf, &m) || !(m > 0.0) || m > STANCE_CALIB_MAX_MASS_KG)
      goto bad;
    if (o->n_loads > 0 && !(m > o->loads[o->n_loads - 1]))
      goto bad;
    o->loads[o->n_loads++] = m;
    if (!comma)
      break;
    p = comma + 1;
  }
  if (o->n_loads < 3)
    goto bad;
  return CLI_EXIT_OK;
bad:
  return cli_usage_error(SUB,
                         "--loads: '%s' is not a list of masses (expected at least 3 ascending "
                         "masses in kg, at most %d, each up to %s kg, separated by commas, e.g. "
                         "20,50,100)",
                         v, MAX_LOADS, cli_num_trim(STANCE_CALIB_MAX_MASS_KG, 0));
}

/* Returns CLI_EXIT_OK, a usage error's code, or -1 after --help. */
static int
parse_options(int argc, char **argv, CalibOpts *o)
{
  struct option longopts[64 + N_CALIB_KEYS];
  size_t no = 0;
  static const struct {
    const char *name;
    int has_arg, val;
  } base[] = {
      {"from", required_argument, OPT_FROM},
      {"device", required_argument, OPT_DEVICE},
      {"sim", no_argument, OPT_SIM},
      {"list", no_argument, OPT_LIST},
      {"plan", required_argument, OPT_PLAN},
      {"loads", required_argument, OPT_LOADS},
      {"corner-fraction", required_argument, OPT_CORNER},
      {"hold", required_argument, OPT_HOLD},
      {"zero-hold", required_argument, OPT_ZERO_HOLD},
      {"rate", required_argument, OPT_RATE},
      {"save-session", required_argument, OPT_SAVE_SESSION},
      {"yes", no_argument, 'y'},
      {"fast", no_argument, OPT_FAST},
      {"seed", required_argument, OPT_SEED},
      {"sim-gain-error", required_argument, OPT_SIM_GAIN_ERROR},
      {"sim-reverse", required_argument, OPT_SIM_REVERSE},
      {"sim-nonlinear", required_argument, OPT_SIM_NONLINEAR},
      {"sim-miswire", required_argument, OPT_SIM_MISWIRE},
      {"sim-swap", required_argument, OPT_SIM_SWAP},
      {"sim-hysteresis", required_argument, OPT_SIM_HYSTERESIS},
      {"sim-drift", required_argument, OPT_SIM_DRIFT},
      {"sim-noise", required_argument, OPT_SIM_NOISE},
      {"sim-cell-noise", required_argument, OPT_SIM_CELL_NOISE},
      {"sim-gravity", required_argument, OPT_SIM_GRAVITY},
      {"sim-truth", required_argument, OPT_SIM_TRUTH},
      {"output", required_argument, 'o'},
      {"serial", required_argument, OPT_SERIAL},
      {"db", required_argument, CLI_OPT_DB},
      {"no-store", no_argument, OPT_NO_STORE},
      {"write-board", no_argument, OPT_WRITE_BOARD},
      {"force", no_argument, OPT_FORCE},
      {"help", no_argument, 'h'},
  };
  for (size_t k = 0; k < sizeof base / sizeof base[0]; k++)
    longopts[no++] = (struct option){base[k].name, base[k].has_arg, NULL, base[k].val};
  for (size_t k = 0; k < N_CALIB_KEYS; k++)
    longopts[no++] =
        (struct option){calib_keys[k], required_argument, NULL, OPT_CALIB_BASE + (int)k};
  longopts[no++] = (struct option){NULL, 0, NULL, 0};

  opterr = 0;
  int c, idx = -1;
  while ((c = getopt_long(argc, argv, ":hyo:", longopts, &idx)) != -1) {
    const char *name = idx >= 0 ? longopts[idx].name : "";
    idx = -1;
    if (c >= OPT_CALIB_BASE && c < OPT_CALIB_BASE + (int)N_CALIB_KEYS) {
      StanceError err;
      stance_error_clear(&err);
      if (stance_calib_options_set(&o->copt, calib_keys[c - OPT_CALIB_BASE], optarg, &err) < 0)
        return cli_usage_error(SUB, "--%s", err.message);
      continue;
    }
    if (c >= OPT_SEED && c <= OPT_SIM_TRUTH) {
      int r = parse_sim_option(o, c, name, optarg);
      if (r != CLI_EXIT_OK)
        return r;
      continue;
    }
    switch (c) {
    case 'h': cli_calibrate_help(stdout); return -1;
    case OPT_FROM:
      if (!*optarg)
        return cli_usage_error(SUB, "--from: empty file name");
      o->from = optarg;
      break;
    case OPT_DEVICE:
      if (!*optarg)
        return cli_usage_error(SUB, "--device: empty serial (expected e.g. --device SN-0042; "
                                    "stance-cli devices lists the boards)");
      o->device = optarg;
      break;
    case OPT_SIM: o->sim = true; break;
    case OPT_LIST: o->list = true; break;
    case OPT_PLAN:
      if (!*optarg)
        return cli_usage_error(SUB, "--plan: empty file name");
      o->plan_path = optarg;
      break;
    case OPT_LOADS: {
      int r = parse_loads(o, optarg);
      if (r != CLI_EXIT_OK)
        return r;
      break;
    }
    case OPT_CORNER:
      if (!cli_parse_double(optarg, &o->corner_fraction) || !(o->corner_fraction > 0.3) ||
          o->corner_fraction > 1.0)
        return cli_usage_error(SUB,
                               "--corner-fraction: '%s' is not a fraction of the cell positions "
                               "(expected more than 0.3 and at most 1, e.g. 0.7)",
                               optarg);
      break;
    case OPT_HOLD:
    case OPT_ZERO_HOLD:
      if (!o->first_guided_option)
        o->first_guided_option = name;
      if (!parse_range(name, optarg, 0.1, MAX_HOLD_S, "a hold time in seconds",
                       c == OPT_HOLD ? &o->hold_s : &o->zero_hold_s))
        return CLI_EXIT_USAGE;
      break;
    case OPT_RATE:
      if (!o->first_guided_option)
        o->first_guided_option = name;
      if (!cli_parse_double(optarg, &o->rate_hz) ||
          (o->rate_hz != 500 && o->rate_hz != 1000 && o->rate_hz != 2000 && o->rate_hz != 4000))
        return cli_usage_error(SUB,
                               "--rate: '%s' is not a rate of the plates (expected 500, 1000, "
                               "2000 or 4000 Hz)",
                               optarg);
      break;
    case OPT_SAVE_SESSION:
      if (!o->first_guided_option)
        o->first_guided_option = name;
      if (!*optarg)
        return cli_usage_error(SUB, "--save-session: empty file name");
      o->save_session = optarg;
      break;
    case 'y': o->yes = true; break;
    case OPT_FAST: o->fast = true; break;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty file name");
      o->out_json = optarg;
      break;
    case OPT_SERIAL:
      if (!*optarg || strlen(optarg) > 31)
        return cli_usage_error(SUB,
                               "--serial: '%s' is not a board serial (expected 1 to 31 letters, "
                               "digits, '-', '_' or '.')",
                               optarg);
      o->serial = optarg;
      break;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty file name");
      o->db = optarg;
      break;
    case OPT_NO_STORE: o->no_store = true; break;
    case OPT_WRITE_BOARD: o->write_board = true; break;
    case OPT_FORCE: o->force = true; break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error(SUB,
                           "unexpected argument '%s' (calibrate takes options only; a recorded "
                           "session goes after --from)",
                           argv[optind]);

  int sources = (o->from ? 1 : 0) + (o->device ? 1 : 0) + (o->sim ? 1 : 0) + (o->list ? 1 : 0);
  if (sources == 0)
    return cli_usage_error(SUB, "nothing to do (expected --from SESSION.stance, --device SERIAL, "
                                "--sim or --list)");
  if (sources > 1)
    return cli_usage_error(SUB, "--from, --device, --sim and --list each choose what to do: give "
                                "one");
  if (o->list) {
    if (o->plan_path || o->n_loads || o->corner_fraction > 0 || o->out_json || o->no_store ||
        o->write_board || o->force || o->yes || o->fast || o->first_guided_option ||
        o->first_sim_option)
      return cli_usage_error(SUB, "--list takes only --serial and --db");
    return CLI_EXIT_OK;
  }
  if (o->plan_path && (o->n_loads || o->corner_fraction > 0))
    return cli_usage_error(SUB, "--plan with --loads or --corner-fraction: these shape the default "
                                "plan (expected one or the other)");
  if (!o->sim && o->first_sim_option)
    return cli_usage_error(SUB, "--%s applies to the simulated board only (expected --sim with it)",
                           o->first_sim_option);
  if (!o->sim && (o->yes || o->fast))
    return cli_usage_error(SUB,
                           "%s applies to the simulated board only (a board needs a person to "
                           "place the masses and confirm each step)",
                           o->yes ? "--yes" : "--fast");
  if (o->from && o->first_guided_option)
    return cli_usage_error(SUB,
                           "--%s applies to a guided session only (--device or --sim); --from "
                           "reads a session already recorded",
                           o->first_guided_option);
  if (o->serial && !o->from)
    return cli_usage_error(SUB, "--serial applies to --from and --list (a guided session "
                                "calibrates the board it talks to)");
  if (o->write_board && !o->device)
    return cli_usage_error(SUB, "--write-board applies to --device only (the board must be "
                                "connected: calibrate it with --device SERIAL --write-board)");
  if (o->force && !o->write_board)
    return cli_usage_error(SUB, "--force applies to --write-board only");
  if (o->no_store && o->db)
    return cli_usage_error(SUB, "--no-store with --db: give one");
  double hold = o->hold_s > 0 ? o->hold_s : DEFAULT_HOLD_S;
  double zero_hold = o->zero_hold_s > 0 ? o->zero_hold_s : DEFAULT_ZERO_HOLD_S;
  double need = o->copt.settle_s + 0.1 + o->copt.min_average_s;
  if (hold < need || zero_hold < need)
    return cli_usage_error(SUB,
                           "--%s %s s is too short for a step (expected at least %s s: %s s to "
                           "settle, %s s steady and 0.1 s before the next change)",
                           hold < need ? "hold" : "zero-hold",
                           cli_num_trim(fmin(hold, zero_hold), 3), cli_num_trim(need, 3),
                           cli_num_trim(o->copt.settle_s, 3),
                           cli_num_trim(o->copt.min_average_s, 3));
  o->hold_s = hold;
  o->zero_hold_s = zero_hold;
  return CLI_EXIT_OK;
}

/* ======================================================================================
 * The simulated board as a StanceSource
 * ====================================================================================== */

/* Streams a calibration session simulated in advance, released up to a gate the flow moves: the
 * flow asks the simulated technician to place a mass (gate = the step's start: the placing ramp
 * and the ring stream out), then to hold it (gate = the step's end); a repeated step rewinds to
 * the step's start. Paced by the monotonic clock (realtime) or as fast as the ring takes them.
 * The stream index is continuous: rewinding repeats samples, it does not jump. */
#define CLI_TYPE_CALIB_SIM (cli_calib_sim_get_type())
G_DECLARE_FINAL_TYPE(CliCalibSim, cli_calib_sim, CLI, CALIB_SIM, StanceSource)

struct _CliCalibSim {
  StanceSource parent_instance;
  StanceRecording *session; /* owned; not modified while streaming */
  gboolean realtime;
  char description[160];
  GMutex lock; /* guards pos, gate, released */
  size_t pos;  /* next sample of session to release */
  size_t gate; /* release up to (not including) this sample */
  guint64 released;
};

G_DEFINE_FINAL_TYPE(CliCalibSim, cli_calib_sim, STANCE_TYPE_SOURCE)

static gpointer
calib_sim_pace(gpointer data)
{
  CliCalibSim *self = data;
  StanceSource *src = STANCE_SOURCE(self);
  const StanceRecording *s = self->session;
  const double rate = s->sample_rate_hz;
  gint64 t0 = 0;
  gboolean paused = TRUE;
  StanceSample buf[SIM_BATCH];
  while (!_stance_source_pacing_stopped(src)) {
    g_mutex_lock(&self->lock);
    size_t avail = self->gate > self->pos ? self->gate - self->pos : 0;
    guint64 released = self->released;
    g_mutex_unlock(&self->lock);
    if (avail == 0) {
      paused = TRUE;
      g_usleep(2000);
      continue;
    }
    if (paused) /* resume the clock here: the next sample is due now */
      t0 = g_get_monotonic_time() - (gint64)((double)released / rate * 1e6);
    paused = FALSE;
    size_t n = _stance_source_pace(src, self->realtime ? rate : 0.0, t0, released,
                                   MIN(avail, (size_t)SIM_BATCH));
    if (n == 0)
      break; /* stopping */
    /* The flow may have moved the gate or rewound while pacing waited: take the state again. */
    g_mutex_lock(&self->lock);
    if (self->gate > self->pos) {
      n = MIN(n, self->gate - self->pos);
      for (size_t k = 0; k < n; k++) {
        const int32_t *c = s->counts + (self->pos + k) * STANCE_N_CELLS;
        buf[k].index = self->released + k;
        buf[k].status = s->status[self->pos + k];
        for (int ch = 0; ch < STANCE_N_CELLS; ch++)
          buf[k].v[ch] = (double)c[ch];
      }
      /* Realtime, a full ring refuses samples (counted by the base; the consumer sees a gap). */
      _stance_source_push(src, buf, n);
      self->pos += n;
      self->released += n;
    }
    g_mutex_unlock(&self->lock);
  }
  return NULL;
}

static gboolean
calib_sim_open(StanceSource *source, GError **error)
{
  CliCalibSim *self = CLI_CALIB_SIM(source);
  StanceSourceInfo info;
  memset(&info, 0, sizeof info);
  g_strlcpy(info.kind, "simulator", sizeof info.kind);
  g_strlcpy(info.description, self->description, sizeof info.description);
  g_strlcpy(info.serial, self->session->meta.board_serial, sizeof info.serial);
  g_strlcpy(info.firmware_version, self->session->meta.firmware_version,
            sizeof info.firmware_version);
  g_strlcpy(info.hardware, "simulator", sizeof info.hardware);
  info.layout = STANCE_LAYOUT_CELLS;
  info.rates_hz[0] = self->session->sample_rate_hz;
  info.n_rates = 1;
  info.rate_hz = self->session->sample_rate_hz;
  /* The virtual board's nominal calibration, as an uncalibrated board's block would be. */
  info.has_calibration = TRUE;
  info.calib = self->session->calib;
  _stance_source_set_info(source, &info);
  (void)error;
  return TRUE;
}

static gboolean
calib_sim_start(StanceSource *source, GError **error)
{
  return _stance_source_start_pacing(source, "stance-calib-sim", calib_sim_pace, error);
}

static void
cli_calib_sim_finalize(GObject *object)
{
  CliCalibSim *self = CLI_CALIB_SIM(object);
  stance_recording_free(self->session);
  g_mutex_clear(&self->lock);
  G_OBJECT_CLASS(cli_calib_sim_parent_class)->finalize(object);
}

static void
cli_calib_sim_class_init(CliCalibSimClass *klass)
{
  StanceSourceClass *sc = STANCE_SOURCE_CLASS(klass);
  sc->open = calib_sim_open;
  sc->start = calib_sim_start;
  G_OBJECT_CLASS(klass)->finalize = cli_calib_sim_finalize;
}

static void
cli_calib_sim_init(CliCalibSim *self)
{
  g_mutex_init(&self->lock);
}

/* Takes session. */
static StanceSource *
calib_sim_new(StanceRecording *session, gboolean realtime, uint64_t seed)
{
  CliCalibSim *self = g_object_new(CLI_TYPE_CALIB_SIM, NULL);
  self->session = session;
  self->realtime = realtime;
  g_snprintf(self->description, sizeof self->description,
             "Simulated board %s (calibration session, seed %" G_GUINT64_FORMAT ")",
             session->meta.board_serial, (guint64)seed);
  return STANCE_SOURCE(self);
}

static void
calib_sim_set_gate(CliCalibSim *self, size_t gate)
{
  g_mutex_lock(&self->lock);
  self->gate = MIN(gate, self->session->n_samples);
  g_mutex_unlock(&self->lock);
}

static void
calib_sim_rewind(CliCalibSim *self, size_t pos)
{
  g_mutex_lock(&self->lock);
  self->pos = self->gate = MIN(pos, self->session->n_samples);
  g_mutex_unlock(&self->lock);
}

/* TRUE when everything up to the gate has gone out; *released: the stream index reached. */
static gboolean
calib_sim_at_gate(CliCalibSim *self, guint64 *released)
{
  g_mutex_lock(&self->lock);
  gboolean at = self->pos >= self->gate;
  *released = self->released;
  g_mutex_unlock(&self->lock);
  return at;
}

/* ======================================================================================
 * Wording
 * ====================================================================================== */

static const char *
plate_word(int plate)
{
  return plate == 0 ? "left" : "right";
}

/* "x -119 mm, y +189 mm" */
static const char *
xy_text(char *buf, size_t n, double x, double y)
{
  snprintf(buf, n, "x %s%s mm, y %s%s mm", x > 0 ? "+" : "", cli_num_trim(x, 1), y > 0 ? "+" : "",
           cli_num_trim(y, 1));
  return buf;
}

/* What the person (or the simulated technician) does for step k. */
static void
step_instruction(const StanceCalibPlan *plan, size_t k, const StanceCalibration *geo, char *buf,
                 size_t n)
{
  const StanceCalibStep *s = &plan->steps[k];
  if (s->kind == STANCE_CALIB_ZERO) {
    if (k == 0)
      snprintf(buf, n, "empty both plates and keep them still (this zero sets the offsets)");
    else
      snprintf(buf, n, "take every mass off: both plates empty and still");
    return;
  }
  char pos[48], xy[64];
  stance_calib_position_name(&geo->plate[s->plate], s->x_mm, s->y_mm, pos, sizeof pos);
  xy_text(xy, sizeof xy, s->x_mm, s->y_mm);
  const StanceCalibStep *p = k > 0 ? &plan->steps[k - 1] : NULL;
  bool same = p && p->kind != STANCE_CALIB_ZERO && p->plate == s->plate && p->x_mm == s->x_mm &&
              p->y_mm == s->y_mm;
  if (same && s->mass_kg > p->mass_kg)
    snprintf(buf, n, "add %s kg on the %s plate, %s (%s): %s kg in all",
             cli_num_trim(s->mass_kg - p->mass_kg, 3), s->plate == 0 ? "LEFT" : "RIGHT", pos, xy,
             cli_num_trim(s->mass_kg, 3));
  else if (same && s->mass_kg < p->mass_kg)
    snprintf(buf, n, "take %s kg off the %s plate, %s (%s): %s kg stays",
             cli_num_trim(p->mass_kg - s->mass_kg, 3), s->plate == 0 ? "LEFT" : "RIGHT", pos, xy,
             cli_num_trim(s->mass_kg, 3));
  else
    snprintf(buf, n, "%sput %s kg on the %s plate, %s (%s)",
             p && p->kind != STANCE_CALIB_ZERO ? "take the masses off, then " : "",
             cli_num_trim(s->mass_kg, 3), s->plate == 0 ? "LEFT" : "RIGHT", pos, xy);
}

/* "right plate, rear-left cell (r4)" */
static const char *
cell_words(int c, char *buf, size_t n)
{
  snprintf(buf, n, "%s plate, %s cell (%s)", plate_word(c / STANCE_CELLS_PER_PLATE),
           stance_calib_cell_name(c % STANCE_CELLS_PER_PLATE + 1), cell_id(c));
  return buf;
}

/* ======================================================================================
 * The guided session
 * ====================================================================================== */

typedef enum {
  PH_PLACE,  /* waiting for the mass to be in place and Enter */
  PH_RECORD, /* recording the step's hold */
  PH_ASK,    /* a refused step: redo, keep or quit */
  PH_DONE,
} Phase;

typedef struct {
  const CalibOpts *o;
  const StanceCalibPlan *plan;
  StanceCalibOptions copt;
  StanceSource *src;
  CliCalibSim *sim;                  /* the simulated board, or NULL */
  const size_t *sim_start, *sim_end; /* per step: the simulated technician's span */
  StanceRecorder *recorder;
  GMainLoop *loop;
  double rate;
  double gains[STANCE_N_CELLS]; /* provisional: to read forces before the fit */
  StanceCalibration geo;
  double fs_n[STANCE_N_PLATES];
  double lightest_n;
  bool interactive; /* waits for Enter (else: --yes, or the simulator without a terminal) */
  bool tty;         /* standard error is a terminal: live line */

  size_t k;
  Phase phase;
  int attempts;
  bool ask_hard;      /* PH_ASK: the step was refused by the measurement (no "keep") */
  bool enter_pending; /* Enter came before the simulated technician was done */
  bool note_shown;
  StanceCalibSpan span;
  StanceCalibStepData cur;
  StanceCalibSpan *spans;
  bool have_zero;
  double zero_counts[STANCE_N_CELLS]; /* the latest accepted zero step's means */
  GString *line;                      /* standard input not yet split into lines */
  guint in_watch;                     /* the standard input watch; 0 once removed */

  bool status_shown;
  gint64 last_status_us;
  bool aborted;
  char abort_why[160];
  bool failed; /* an error stopped the session */
  GError *error;
} Guided;

static void
clear_status(Guided *g)
{
  if (g->tty && g->status_shown) {
    fputs("\r\033[K", stderr);
    g->status_shown = false;
  }
}

/* A line of guidance on stderr (the live line is cleared first). */
static void say(Guided *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
say(Guided *g, const char *fmt, ...)
{
  clear_status(g);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

static size_t
recorded(Guided *g)
{
  return stance_recorder_peek(g->recorder)->n_samples;
}

/* Forces of both plates (N) against the latest zero (or the recording's offsets before the first
 * zero step), their SD, and the plate's counts above zero, over the last LIVE_WINDOW_S. */
typedef struct {
  bool valid;
  double force_n[STANCE_N_PLATES], sd_n[STANCE_N_PLATES], counts[STANCE_N_PLATES];
} Live;

static Live
live_reading(Guided *g)
{
  Live lv;
  memset(&lv, 0, sizeof lv);
  const StanceRecording *rec = stance_recorder_peek(g->recorder);
  size_t n = rec->n_samples, w = (size_t)ceil(LIVE_WINDOW_S * g->rate);
  size_t from = n > w ? n - w : 0, used = 0;
  double sum[STANCE_N_PLATES] = {0}, sum2[STANCE_N_PLATES] = {0}, cs[STANCE_N_PLATES] = {0};
  for (size_t i = from; i < n; i++) {
    if (rec->status[i] & STANCE_STATUS_GAP)
      continue;
    const int32_t *cv = rec->counts + i * STANCE_N_CELLS;
    for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
      double f = 0.0, c = 0.0;
      for (int ch = pl * STANCE_CELLS_PER_PLATE; ch < (pl + 1) * STANCE_CELLS_PER_PLATE; ch++) {
        double z = g->have_zero ? g->zero_counts[ch] : rec->calib.offset_counts[ch];
        f += g->gains[ch] * ((double)cv[ch] - z);
        c += (double)cv[ch] - z;
      }
      sum[pl] += f;
      sum2[pl] += f * f;
      cs[pl] += c;
    }
    used++;
  }
  if (used == 0)
    return lv;
  lv.valid = true;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    lv.force_n[pl] = sum[pl] / (double)used;
    double var = sum2[pl] / (double)used - lv.force_n[pl] * lv.force_n[pl];
    lv.sd_n[pl] = var > 0.0 ? sqrt(var) : 0.0;
    lv.counts[pl] = cs[pl] / (double)used;
  }
  return lv;
}

/* Steady: the SD over the window is within 0.1 % of the plate's FS, the movement
 * stance_calib_measure refuses between the two halves of a step. */
static bool
live_steady(Guided *g, const Live *lv)
{
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    if (lv->sd_n[pl] > 0.001 * g->fs_n[pl])
      return false;
  return true;
}

static void
draw_live(Guided *g)
{
  if (!g->tty)
    return;
  gint64 now = g_get_monotonic_time();
  if (g->status_shown && now - g->last_status_us < LIVE_REDRAW_US)
    return;
  g->last_status_us = now;
  Live lv = live_reading(g);
  GString *line = g_string_new("  ");
  if (g->phase == PH_RECORD)
    g_string_append_printf(line, "recording %s / %s s  ",
                           cli_num((double)(recorded(g) - g->span.start) / g->rate, 1),
                           cli_num((double)(g->span.end - g->span.start) / g->rate, 1));
  if (!lv.valid) {
    g_string_append(line, "waiting for the first samples");
  } else {
    const StanceCalibStep *s = &g->plan->steps[g->k];
    int pl = s->kind == STANCE_CALIB_ZERO ? -1 : s->plate;
    for (int p = 0; p < STANCE_N_PLATES; p++) {
      g_string_append_printf(line, "%s %s N", plate_word(p), cli_num(lv.force_n[p], 1));
      if (p == pl)
        g_string_append_printf(line, " = %s kg (%s counts)",
                               cli_num(lv.force_n[p] / g->copt.gravity_m_s2, 2),
                               cli_num(lv.counts[p], 0));
      g_string_append(line, "  ");
    }
    g_string_append_printf(line, "%s%s", live_steady(g, &lv) ? "steady" : "moving",
                           g->have_zero ? "" : " (not zeroed yet)");
  }
  fprintf(stderr, "\r%s\033[K", line->str);
  fflush(stderr);
  g_string_free(line, TRUE);
  g->status_shown = true;
}

static void
guided_abort(Guided *g, const char *why)
{
  if (!g->aborted && !g->failed) {
    g->aborted = true;
    snprintf(g->abort_why, sizeof g->abort_why, "%s", why);
  }
  g_main_loop_quit(g->loop);
}

static void
guided_fail(Guided *g, GError *e)
{
  if (!g->failed && !g->aborted) {
    g->failed = true;
    g->error = e;
  } else if (e) {
    g_error_free(e);
  }
  g_main_loop_quit(g->loop);
}

/* Step k begins: say what to do and let the simulated technician do it. */
static void
enter_place(Guided *g, bool again)
{
  char what[256];
  step_instruction(g->plan, g->k, &g->geo, what, sizeof what);
  say(g, "Step %zu of %zu%s: %s%s", g->k + 1, g->plan->n_steps, again ? " (again)" : "", what,
      g->interactive ? ", then press Enter" : "");
  g->phase = PH_PLACE;
  g->enter_pending = false;
  g->note_shown = false;
  if (g->sim) {
    if (again)
      calib_sim_rewind(g->sim, g->sim_start[g->k]);
    else
      calib_sim_set_gate(g->sim, g->sim_start[g->k]);
  }
}

/* The mass is in place: for a board, when the person says so; for the simulated board, also once
 * its technician has finished (everything up to the step's start has been recorded). */
static bool
placed(Guided *g)
{
  if (!g->sim)
    return true;
  guint64 released;
  return calib_sim_at_gate(g->sim, &released) && recorded(g) >= released;
}

static void
start_recording(Guided *g)
{
  double hold = g->k == 0 ? g->o->zero_hold_s : g->o->hold_s;
  g->span.start = recorded(g);
  g->span.end = g->span.start + (size_t)llround(hold * g->rate);
  g->phase = PH_RECORD;
  if (g->interactive)
    say(g, "  recording %s s: keep everything still", cli_num_trim(hold, 1));
  if (g->sim)
    calib_sim_set_gate(g->sim, g->sim_end[g->k]);
}

/* The step's plate forces (N) against the latest zero, and the loaded plate's centre of load. */
static void
step_forces(Guided *g, const StanceCalibStepData *d, double f[STANCE_N_PLATES], double *cx,
            double *cy)
{
  const StanceCalibStep *s = &g->plan->steps[g->k];
  double mx = 0.0, my = 0.0;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    f[pl] = 0.0;
    for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
      int ch = pl * STANCE_CELLS_PER_PLATE + i;
      double z = g->have_zero ? g->zero_counts[ch] : d->mean_counts[ch];
      double fc = g->gains[ch] * (d->mean_counts[ch] - z);
      f[pl] += fc;
      if (s->kind != STANCE_CALIB_ZERO && pl == s->plate) {
        mx += fc * g->geo.plate[pl].cell[i].x_mm;
        my += fc * g->geo.plate[pl].cell[i].y_mm;
      }
    }
  }
  *cx = *cy = 0.0;
  if (s->kind != STANCE_CALIB_ZERO && fabs(f[s->plate]) > STANCE_COP_THRESHOLD_N) {
    *cx = mx / f[s->plate];
    *cy = my / f[s->plate];
  }
}

/* Checks a measured step against the plan: the load on the right plate, at its level, at the
 * right position; empty plates at a zero. Fills warnings (one per line); false when any. */
static bool
step_expected(Guided *g, const StanceCalibStepData *d, GString *warn)
{
  const StanceCalibStep *s = &g->plan->steps[g->k];
  double f[STANCE_N_PLATES], cx, cy;
  step_forces(g, d, f, &cx, &cy);
  const double tol = g->copt.level_tolerance_pct / 100.0;
  if (s->kind == STANCE_CALIB_ZERO) {
    if (g->k == 0)
      return true; /* the first zero is the reference itself */
    for (int pl = 0; pl < STANCE_N_PLATES; pl++)
      if (fabs(f[pl]) > tol * g->lightest_n)
        g_string_append_printf(warn,
                               "    the %s plate reads %s N (%s kg) where it should be empty "
                               "(expected within %s N of its zero)\n",
                               plate_word(pl), cli_num(f[pl], 1),
                               cli_num(f[pl] / g->copt.gravity_m_s2, 2),
                               cli_num(tol * g->lightest_n, 1));
    return warn->len == 0;
  }
  const double w = s->mass_kg * g->copt.gravity_m_s2;
  const int pl = s->plate, other = 1 - s->plate;
  if (fabs(f[pl] - w) > tol * w)
    g_string_append_printf(
        warn,
        "    the %s plate reads %s N (%s kg), expected %s N (%s kg) within "
        "%s %%\n",
        plate_word(pl), cli_num(f[pl], 1), cli_num(f[pl] / g->copt.gravity_m_s2, 2), cli_num(w, 1),
        cli_num_trim(s->mass_kg, 3), cli_num_trim(g->copt.level_tolerance_pct, 2));
  if (fabs(f[other]) > tol * w)
    g_string_append_printf(warn,
                           "    the %s plate reads %s N (%s kg) while only the %s plate should "
                           "be loaded\n",
                           plate_word(other), cli_num(f[other], 1),
                           cli_num(f[other] / g->copt.gravity_m_s2, 2), plate_word(pl));
  if (fabs(f[pl]) > STANCE_COP_THRESHOLD_N) {
    double dist = hypot(cx - s->x_mm, cy - s->y_mm);
    if (dist > COP_TOLERANCE_MM) {
      char at[64], want[64], pos[48];
      stance_calib_position_name(&g->geo.plate[pl], cx, cy, pos, sizeof pos);
      g_string_append_printf(warn,
                             "    the load is centred at %s (%s), %s mm from where the plan "
                             "puts it (%s)\n",
                             xy_text(at, sizeof at, cx, cy), pos, cli_num(dist, 0),
                             xy_text(want, sizeof want, s->x_mm, s->y_mm));
    }
  }
  return warn->len == 0;
}

static void
accept_step(Guided *g)
{
  const StanceCalibStep *s = &g->plan->steps[g->k];
  g->spans[g->k] = g->span;
  if (s->kind == STANCE_CALIB_ZERO) {
    memcpy(g->zero_counts, g->cur.mean_counts, sizeof g->zero_counts);
    g->have_zero = true;
  }
  g->attempts = 0;
  g->k++;
  if (g->k == g->plan->n_steps) {
    g->phase = PH_DONE;
    g_main_loop_quit(g->loop);
    return;
  }
  enter_place(g, false);
}

static void
redo_step(Guided *g)
{
  enter_place(g, true);
}

static void
ask(Guided *g, bool hard)
{
  g->ask_hard = hard;
  g->phase = PH_ASK;
  if (hard)
    say(g, "  Press Enter to do the step again, or q and Enter to stop.");
  else
    say(g, "  Press Enter to do the step again, k and Enter to keep it as it is (the verification "
           "will judge it), or q and Enter to stop.");
}

/* The step's hold is recorded: measure and check it. */
static void
check_step(Guided *g)
{
  StanceError err;
  stance_error_clear(&err);
  g->attempts++;
  const StanceRecording *rec = stance_recorder_peek(g->recorder);
  if (stance_calib_measure_step(rec, g->plan, g->k, &g->span, &g->copt, &g->cur, &err) < 0) {
    say(g, "  refused: %s", err.message);
    if (g->interactive) {
      ask(g, true);
    } else if (g->attempts >= AUTO_MAX_ATTEMPTS) {
      guided_fail(g, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                                 "step %zu was refused %d times; last: %s", g->k + 1, g->attempts,
                                 err.message));
    } else {
      redo_step(g);
    }
    return;
  }
  double f[STANCE_N_PLATES], cx, cy;
  step_forces(g, &g->cur, f, &cx, &cy);
  GString *warn = g_string_new(NULL);
  bool ok = step_expected(g, &g->cur, warn);
  const StanceCalibStep *s = &g->plan->steps[g->k];
  if (ok) {
    char at[64];
    if (s->kind == STANCE_CALIB_ZERO)
      say(g, "  ok: both plates empty (left %s N, right %s N against %s)", cli_num(f[0], 2),
          cli_num(f[1], 2), g->k == 0 ? "themselves" : "the previous zero");
    else
      say(g, "  ok: %s plate %s N (%s kg), centre of load %s", plate_word(s->plate),
          cli_num(f[s->plate], 1), cli_num(f[s->plate] / g->copt.gravity_m_s2, 2),
          xy_text(at, sizeof at, cx, cy));
    g_string_free(warn, TRUE);
    accept_step(g);
    return;
  }
  say(g, "  the step does not look as planned:\n%.*s", (int)(warn->len - 1), warn->str);
  g_string_free(warn, TRUE);
  if (g->interactive) {
    ask(g, false);
  } else {
    say(g, "  kept (no one to ask): the verification will judge it");
    accept_step(g);
  }
}

static void
handle_line(Guided *g, const char *line)
{
  bool quit = strcmp(line, "q") == 0 || strcmp(line, "Q") == 0;
  if (quit && g->phase != PH_DONE) {
    guided_abort(g, "stopped at your request (q)");
    return;
  }
  switch (g->phase) {
  case PH_PLACE:
    g->enter_pending = true;
    if (!placed(g) && !g->note_shown) {
      say(g, "  (the simulated technician is still at it: the step starts when the mass is in "
             "place)");
      g->note_shown = true;
    }
    break;
  case PH_ASK:
    if (line[0] == '\0' || strcmp(line, "r") == 0 || strcmp(line, "R") == 0)
      redo_step(g);
    else if (!g->ask_hard && (strcmp(line, "k") == 0 || strcmp(line, "K") == 0)) {
      say(g, "  kept as it is: the verification will judge it");
      accept_step(g);
    } else
      ask(g, g->ask_hard);
    break;
  case PH_RECORD:
  case PH_DONE: break; /* Enter while recording: nothing to do */
  }
}

static gboolean
on_stdin(gint fd, GIOCondition cond, gpointer data)
{
  Guided *g = data;
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    guided_abort(g, "standard input closed (each step waits for Enter)");
    g->in_watch = 0;
    return G_SOURCE_REMOVE;
  }
  g_string_append_len(g->line, buf, n);
  char *nl;
  while (!g->aborted && !g->failed && g->phase != PH_DONE && (nl = strchr(g->line->str, '\n'))) {
    *nl = '\0';
    char *l = g_strstrip(g->line->str);
    char *copy = g_strdup(l);
    g_string_erase(g->line, 0, nl - g->line->str + 1);
    handle_line(g, copy);
    g_free(copy);
  }
  (void)cond;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_tick(gpointer data)
{
  Guided *g = data;
  GError *e = NULL;
  if (!stance_recorder_drain(g->recorder, &e)) {
    guided_fail(g, e);
    return G_SOURCE_CONTINUE;
  }
  switch (g->phase) {
  case PH_PLACE:
    if (placed(g) && (!g->interactive || g->enter_pending))
      start_recording(g);
    else
      draw_live(g);
    break;
  case PH_RECORD:
    if (recorded(g) >= g->span.end)
      check_step(g);
    else
      draw_live(g);
    break;
  case PH_ASK:
  case PH_DONE: break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint(gpointer data)
{
  guided_abort(data, "interrupted (Ctrl-C)");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm(gpointer data)
{
  guided_abort(data, "interrupted (SIGTERM)");
  return G_SOURCE_CONTINUE;
}

static void
on_event(StanceSource *src, int kind, const GError *error, gpointer data)
{
  Guided *g = data;
  switch ((StanceSourceEvent)kind) {
  case STANCE_SOURCE_EVENT_DISCONNECTED:
    say(g,
        "The board is disconnected%s%s: waiting for it to come back; the step being recorded "
        "will be checked (a gap refuses it when it is too long)",
        error ? ": " : "", error ? error->message : "");
    break;
  case STANCE_SOURCE_EVENT_RECONNECTED: say(g, "The board is back: streaming again."); break;
  case STANCE_SOURCE_EVENT_ENDED:
  case STANCE_SOURCE_EVENT_FAULT:
    guided_fail(g, error ? g_error_copy(error)
                         : g_error_new_literal(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                                               "the stream stopped"));
    break;
  }
  (void)src;
}

/* Runs the plan on src (opened). Returns the session recording and fills spans, or NULL: *status
 * says why (interrupted, or an error already reported). */
static StanceRecording *
guided_run(const CalibOpts *o, const StanceCalibPlan *plan, const StanceCalibOptions *copt,
           StanceSource *src, CliCalibSim *sim, const size_t *sim_start, const size_t *sim_end,
           StanceCalibSpan *spans, int *status)
{
  const StanceSourceInfo *info = stance_source_get_info(src);
  Guided g;
  memset(&g, 0, sizeof g);
  g.o = o;
  g.plan = plan;
  g.copt = *copt;
  g.src = src;
  g.sim = sim;
  g.sim_start = sim_start;
  g.sim_end = sim_end;
  g.rate = info->rate_hz;
  g.geo = info->calib;
  g.spans = spans;
  g.tty = isatty(STDERR_FILENO) == 1;
  g.interactive = !sim || (!o->yes && isatty(STDIN_FILENO) == 1);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    g.gains[c] = copt->nominal_gain_n_per_count > 0 ? copt->nominal_gain_n_per_count
                                                    : fabs(info->calib.gain_n_per_count[c]);
  g.lightest_n = INFINITY;
  for (size_t k = 0; k < plan->n_steps; k++)
    if (plan->steps[k].kind != STANCE_CALIB_ZERO)
      g.lightest_n = fmin(g.lightest_n, plan->steps[k].mass_kg * copt->gravity_m_s2);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    g.fs_n[pl] = stance_calib_plan_max_mass_kg(plan, pl) * copt->gravity_m_s2;
  g.line = g_string_new(NULL);

  GError *e = NULL;
  g.recorder = stance_recorder_new(src, STANCE_PROTO_UNKNOWN, STANCE_SIDE_BOTH, 0, &e);
  if (!g.recorder) {
    g_string_free(g.line, TRUE);
    *status = cli_gerror(SUB, e);
    return NULL;
  }
  g.loop = g_main_loop_new(NULL, FALSE);
  gulong handler = g_signal_connect(src, "event", G_CALLBACK(on_event), &g);
  guint sig_int = g_unix_signal_add(SIGINT, on_sigint, &g);
  guint sig_term = g_unix_signal_add(SIGTERM, on_sigterm, &g);
  if (g.interactive)
    g.in_watch = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &g);

  fprintf(stderr, "Calibrating %s with plan \"%s\": %zu steps.\n", info->description, plan->name,
          plan->n_steps);
  if (g.interactive)
    fputs("Do each step when asked, then press Enter; keep the plates still while a step is "
          "recorded. q and Enter, or Ctrl-C, stops without saving.\n",
          stderr);
  if (!stance_source_start(src, &e)) {
    guided_fail(&g, e);
  } else {
    enter_place(&g, false);
    /* Paced by the clock, 20 ms keeps the ring (4 s) far from full; unpaced, the simulated board
     * waits for room, so drain often. */
    guint tick = g_timeout_add(sim && o->fast ? 5 : 20, on_tick, &g);
    g_main_loop_run(g.loop);
    g_source_remove(tick);
    stance_source_stop(src);
    /* The session keeps everything the source delivered, up to the stop. */
    if (!g.aborted && !g.failed && !stance_recorder_drain(g.recorder, &e))
      guided_fail(&g, e);
  }
  clear_status(&g);
  if (g.in_watch)
    g_source_remove(g.in_watch);
  g_source_remove(sig_int);
  g_source_remove(sig_term);
  g_signal_handler_disconnect(src, handler);
  g_main_loop_unref(g.loop);
  g_string_free(g.line, TRUE);

  StanceRecording *rec = NULL;
  if (g.aborted) {
    cli_error(SUB, "%s at step %zu of %zu: nothing saved", g.abort_why, g.k + 1, plan->n_steps);
    *status = CLI_EXIT_INTERRUPTED;
  } else if (g.failed) {
    cli_error(SUB, "the session stopped at step %zu of %zu: %s; nothing saved", g.k + 1,
              plan->n_steps, g.error ? g.error->message : "no reason given");
    *status = CLI_EXIT_INPUT;
  } else {
    rec = stance_recorder_steal(g.recorder);
    if (!rec) {
      cli_error(SUB, "out of memory");
      *status = CLI_EXIT_INPUT;
    } else {
      fprintf(stderr, "All %zu steps recorded (%s s).\n", plan->n_steps,
              cli_num(stance_recording_duration(rec), 1));
    }
  }
  g_clear_error(&g.error);
  stance_recorder_free(g.recorder);
  return rec;
}

/* ======================================================================================
 * The simulated session
 * ====================================================================================== */

/* Simulates the whole session of plan with the technician's holds matching the flow's. */
static int
simulate_session(CalibOpts *o, const StanceCalibPlan *plan, StanceRecording **rec,
                 StanceSimCalibTruth **truth, size_t **start, size_t **end)
{
  StanceSimCalibParams *sp = &o->sp;
  sp->sample_rate_hz = o->rate_hz > 0 ? o->rate_hz : 1000.0;
  /* The simulator holds each step hold_s x U(0.9, 1.3): at least the flow's hold plus a margin. */
  sp->hold_s = (o->hold_s + SIM_HOLD_MARGIN_S) / 0.9;
  sp->zero_hold_s = o->zero_hold_s + SIM_HOLD_MARGIN_S;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    sp->gain_n_per_count[c] *= 1.0 + o->gain_error_pct[c] / 100.0;
    if (o->reverse[c])
      sp->gain_n_per_count[c] = -sp->gain_n_per_count[c];
  }
  StanceError err;
  stance_error_clear(&err);
  StanceSimCalibStep *steps = calloc(plan->n_steps, sizeof *steps);
  *start = calloc(plan->n_steps, sizeof **start);
  *end = calloc(plan->n_steps, sizeof **end);
  if (!steps || !*start || !*end) {
    free(steps);
    cli_error(SUB, "out of memory for %zu steps", plan->n_steps);
    return CLI_EXIT_INPUT;
  }
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    bool zero = s->kind == STANCE_CALIB_ZERO;
    steps[k] = (StanceSimCalibStep){zero ? -1 : s->plate, zero ? 0.0 : s->x_mm,
                                    zero ? 0.0 : s->y_mm, zero ? 0.0 : s->mass_kg};
  }
  int r = stance_sim_calib_run(sp, steps, plan->n_steps, rec, truth, &err);
  free(steps);
  if (r < 0) {
    cli_error(SUB, "cannot simulate the session: %s", err.message);
    return r == STANCE_ENOMEM ? CLI_EXIT_INPUT : CLI_EXIT_USAGE;
  }
  for (size_t k = 0; k < plan->n_steps; k++) {
    (*start)[k] = (size_t)ceil((*truth)->start_s[k] * sp->sample_rate_hz);
    (*end)[k] = (size_t)floor((*truth)->end_s[k] * sp->sample_rate_hz);
  }
  return CLI_EXIT_OK;
}

/* The true calibration of the simulated board as JSON (docs/calibration.md, "Calibrating with
 * stance-cli"). */
static int
write_sim_truth(const char *path, const CalibOpts *o, const StanceSimCalibTruth *t)
{
  CliOut out;
  StanceError err;
  stance_error_clear(&err);
  if (cli_out_open(&out, path, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    return CLI_EXIT_INPUT;
  }
  const StanceSimCalibParams *sp = &o->sp;
  StanceJson *j = stance_json_new(out.fp, true);
  stance_json_begin_object(j);
  stance_json_kv_string(j, "format", "stance-sim-calibration-truth");
  stance_json_kv_int(j, "version", 1);
  stance_json_kv_string(j, "board_serial", t->calib.board_serial);
  stance_json_kv_int(j, "seed", (int64_t)sp->seed);
  stance_json_kv_number(j, "sample_rate_hz", sp->sample_rate_hz);
  stance_json_kv_number(j, "gravity_m_s2", sp->gravity_m_s2);
  stance_json_kv_number(j, "adc_noise_counts", sp->adc_noise_counts);
  stance_json_kv_number(j, "cell_noise_n", sp->cell_noise_n);
  stance_json_kv_number(j, "drift_n_per_min", sp->drift_n_per_min);
  stance_json_kv_number(j, "hysteresis_pct", sp->hysteresis_pct);
  stance_json_key(j, "nonlinear_cell");
  if (sp->nonlinear_cell >= 0)
    stance_json_string(j, cell_id(sp->nonlinear_cell));
  else
    stance_json_null(j);
  stance_json_kv_number(j, "nonlinear_per_kn", sp->nonlinear_per_kn);
  stance_json_key(j, "cells");
  stance_json_begin_array(j);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    char ct[48];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "channel", c);
    stance_json_kv_string(j, "id", cell_id(c));
    stance_json_kv_string(j, "cell", stance_calib_channel_text(c, ct, sizeof ct));
    /* the physical cell that belongs on channel c */
    stance_json_kv_number(j, "gain_n_per_count", t->calib.gain_n_per_count[c]);
    stance_json_kv_number(j, "offset_counts", t->calib.offset_counts[c]);
    /* which physical cell the input of channel c actually reads (itself when wired right) */
    stance_json_kv_string(j, "reads_cell", cell_id(t->channel_cell[c]));
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
  if (stance_json_finish(j, &err) < 0) {
    cli_out_abort(&out);
    cli_error(SUB, "%s: %s", path, err.message);
    return CLI_EXIT_INPUT;
  }
  if (cli_out_commit(&out, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

/* ======================================================================================
 * The report
 * ====================================================================================== */

static const char *
ok_word(bool ok)
{
  return ok ? "ok" : "FAIL";
}

/* One plate figure row: "  force error       0.003 % FS  ok          0.002 % FS  ok  ..." */
static void
plate_row(const char *label, const double v[STANCE_N_PLATES], int decimals, const char *unit,
          const bool *ok, double limit)
{
  char cell[STANCE_N_PLATES][48];
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    snprintf(cell[pl], sizeof cell[pl], "%s %s%s%s", cli_num(v[pl], decimals), unit, ok ? "  " : "",
             ok ? ok_word(ok[pl]) : "");
  if (limit > 0)
    printf("  %-16s  %-22s  %-22s  %s %s\n", label, cell[0], cell[1], cli_num_trim(limit, 3), unit);
  else
    printf("  %-16s  %-22s  %s\n", label, cell[0], cell[1]);
}

static void
fault_headline(const StanceCalibFault *f, char *buf, size_t n)
{
  char a[64], b[64];
  cell_words(f->channel, a, sizeof a);
  int pl = f->channel / STANCE_CELLS_PER_PLATE;
  switch (f->kind) {
  case STANCE_CALIB_FAULT_WRONG_PLATE:
    if (f->other_channel >= 0)
      snprintf(buf, n,
               "%s: looks wired to the %s plate's input, and the %s to the %s "
               "plate's: the two are exchanged between the plates",
               a, plate_word(1 - pl), cell_words(f->other_channel, b, sizeof b), plate_word(pl));
    else
      snprintf(buf, n, "%s: looks wired to the %s plate's input", a, plate_word(1 - pl));
    break;
  case STANCE_CALIB_FAULT_SWAPPED:
    snprintf(buf, n, "%s: looks swapped with the %s", a,
             f->other_channel >= 0 ? cell_words(f->other_channel, b, sizeof b) : "another cell");
    break;
  case STANCE_CALIB_FAULT_MISPLACED:
    snprintf(buf, n, "%s: responds most near another cell: looks plugged into another input", a);
    break;
  case STANCE_CALIB_FAULT_NEGATIVE_GAIN:
    snprintf(buf, n, "%s: reads lower as load is added: its signal wires look reversed", a);
    break;
  case STANCE_CALIB_FAULT_GAIN_OUTLIER:
    snprintf(buf, n, "%s: gain %s%s %% from the median of the 8 cells", a, f->value > 0 ? "+" : "",
             cli_num(f->value, 1));
    break;
  case STANCE_CALIB_FAULT_NONLINEAR:
    snprintf(buf, n, "%s: non-linear, %s %% FS from a straight line", a, cli_num(f->value, 2));
    break;
  case STANCE_CALIB_FAULT_NO_RESPONSE:
    snprintf(buf, n, "%s: hardly responds to any load (%s %% of the other cells)", a,
             cli_num(f->value * 100.0, 1));
    break;
  }
}

static void
print_report(const StanceCalibResult *res, const char *session_text)
{
  const StanceCalibRecord *cr = &res->record;
  const StanceCalibReport *rep = &res->report;
  const StanceCalibFit *fit = &res->fit;
  const StanceCalibOptions *lim = &rep->limits;
  printf("Calibration %s of board %s\n", cr->id, cr->board_serial);
  printf("  session   %s\n", session_text);
  printf("  plan      %s (%u steps; %s)\n", cr->plan_name, cr->plan_steps,
         res->spans_found ? "steps found in the recording" : "steps as recorded, guided");
  printf("  fit       %s, gravity %s m/s2\n", fit->method, cli_num_trim(cr->gravity_m_s2, 5));
  printf("\nCells (force = gain x (counts - offset)):\n");
  printf("  %-36s %-42s %s\n", "cell", "gain, N/count (+- SE)", "offset, counts (+- SE)");
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    char ct[48], name[64], gain[64], off[64];
    stance_calib_channel_text(c, ct, sizeof ct);
    snprintf(name, sizeof name, "%s %s", cell_id(c), ct);
    double g = fit->gain_n_per_count[c], se = fit->gain_se_n_per_count[c];
    if (fit->excluded[c])
      snprintf(gain, sizeof gain, "left out (no response)");
    else
      snprintf(gain, sizeof gain, "%s +- %s (%s %%)", cli_num(g, 10), cli_num(se, 10),
               cli_num(g != 0.0 ? se / fabs(g) * 100.0 : 0.0, 4));
    snprintf(off, sizeof off, "%s +- %s", cli_num(fit->offset_counts[c], 1),
             cli_num(fit->offset_se_counts[c], 1));
    printf("  %-36s %-42s %s\n", name, gain, off);
  }

  printf("\nPlates:%-17s%-24s%-24s%s\n", "", "left", "right", "limit");
  double v[STANCE_N_PLATES];
  bool ok[STANCE_N_PLATES];
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    v[pl] = rep->plate[pl].full_scale_n;
  plate_row("full scale", v, 1, "N", NULL, 0);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    v[pl] = fit->residual_rms_n[pl];
  plate_row("fit residual", v, 3, "N", NULL, 0);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    v[pl] = rep->plate[pl].max_force_error_pct_fs;
    ok[pl] = rep->plate[pl].force_ok;
  }
  plate_row("force error", v, 3, "% FS", ok, lim->limit_force_error_pct_fs);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    v[pl] = rep->plate[pl].max_cop_error_mm;
    ok[pl] = rep->plate[pl].cop_ok;
  }
  plate_row("CoP error", v, 2, "mm", ok, lim->limit_cop_error_mm);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    v[pl] = rep->plate[pl].nonlinearity_pct_fs;
    ok[pl] = rep->plate[pl].nonlinearity_ok;
  }
  plate_row("non-linearity", v, 3, "% FS", ok, lim->limit_nonlinearity_pct_fs);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    v[pl] = rep->plate[pl].hysteresis_pct_fs;
    ok[pl] = rep->plate[pl].hysteresis_ok;
  }
  plate_row("hysteresis", v, 3, "% FS", ok, lim->limit_hysteresis_pct_fs);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    v[pl] = rep->plate[pl].zero_return_pct_fs;
    ok[pl] = rep->plate[pl].zero_ok;
  }
  plate_row("zero return", v, 3, "% FS", ok, lim->limit_zero_return_pct_fs);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    if (rep->plate[pl].n_cop_missing > 0)
      printf("  the %s plate read too little for a centre of pressure at %d loaded step%s\n",
             plate_word(pl), rep->plate[pl].n_cop_missing,
             rep->plate[pl].n_cop_missing == 1 ? "" : "s");

  printf("\nPositions:%-40s%-16s%-12s%-16s%s\n", "", "force error", "CoP error", "non-linearity",
         "hysteresis");
  for (size_t i = 0; i < rep->n_positions; i++) {
    const StanceCalibPositionCheck *p = &rep->positions[i];
    char pos[48], xy[64], where[96];
    stance_calib_position_name(&cr->calibration.plate[p->plate], p->x_mm, p->y_mm, pos, sizeof pos);
    snprintf(where, sizeof where, "%s %s (%s)", plate_word(p->plate), pos,
             xy_text(xy, sizeof xy, p->x_mm, p->y_mm));
    char fe[32], cop[32], nl[32], hy[32];
    snprintf(fe, sizeof fe, "%s %% FS", cli_num(p->max_force_error_pct_fs, 3));
    snprintf(cop, sizeof cop, "%s mm", cli_num(p->max_cop_error_mm, 2));
    snprintf(nl, sizeof nl, "%s %% FS", cli_num(p->nonlinearity_pct_fs, 3));
    snprintf(hy, sizeof hy, "%s %% FS", cli_num(p->hysteresis_pct_fs, 3));
    printf("  %-48s%-16s%-12s%-16s%s\n", where, fe, cop, nl, hy);
  }

  if (rep->n_faults == 0) {
    printf("\nFaults: none%s\n", rep->position_diagnostics
                                     ? ""
                                     : " found (the plan has no load near every cell: the "
                                       "wiring was not checked)");
  } else {
    printf("\nFaults (%d):\n", rep->n_faults);
    for (int i = 0; i < rep->n_faults; i++) {
      char head[320];
      fault_headline(&rep->faults[i], head, sizeof head);
      printf("  - %s\n    %s\n", head, rep->faults[i].message);
    }
  }
  printf("\nResult: %s\n  %s\n", rep->passed ? "PASSED" : "FAILED", rep->summary);
}

/* ======================================================================================
 * Results: JSON, store, board
 * ====================================================================================== */

static int
write_json_file(const char *path, const StanceCalibResult *res)
{
  CliOut out;
  StanceError err;
  stance_error_clear(&err);
  if (cli_out_open(&out, path, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    return CLI_EXIT_INPUT;
  }
  if (stance_calib_result_write_json(res, out.fp, true, &err) < 0) {
    cli_out_abort(&out);
    cli_error(SUB, "%s: %s", path, err.message);
    return CLI_EXIT_INPUT;
  }
  if (cli_out_commit(&out, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

/* The result's JSON as a string (caller frees), or NULL after reporting. */
static char *
result_json_text(const StanceCalibResult *res)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) {
    cli_error(SUB, "out of memory for the result's JSON");
    return NULL;
  }
  StanceError err;
  stance_error_clear(&err);
  int r = stance_calib_result_write_json(res, fp, false, &err);
  if (fclose(fp) != 0 && r == 0)
    r = stance_error_set(&err, STANCE_ENOMEM, "out of memory for the result's JSON");
  if (r < 0) {
    cli_error(SUB, "%s", err.message);
    free(buf);
    return NULL;
  }
  return buf;
}

/* Writes the calibration to the board (opened, not streaming) and reads it back to compare. */
static int
write_board(StanceSource *src, const StanceCalibResult *res)
{
  StanceCalibration cal, back;
  stance_calib_record_to_calibration(&res->record, &cal);
  GError *e = NULL;
  StanceUsbSource *usb = STANCE_USB_SOURCE(src);
  if (!stance_usb_source_write_calibration(usb, &cal, &e)) {
    cli_error(SUB, "cannot write the calibration to board %s: %s", res->record.board_serial,
              e->message);
    g_error_free(e);
    return CLI_EXIT_INPUT;
  }
  if (!stance_usb_source_read_calibration(usb, &back, &e)) {
    cli_error(SUB, "the calibration was written to board %s but cannot be read back: %s",
              res->record.board_serial, e->message);
    g_error_free(e);
    return CLI_EXIT_INPUT;
  }
  bool same = strcmp(back.id, cal.id) == 0;
  for (int c = 0; c < STANCE_N_CELLS; c++)
    same = same && back.gain_n_per_count[c] == cal.gain_n_per_count[c] &&
           back.offset_counts[c] == cal.offset_counts[c];
  if (!same) {
    cli_error(SUB,
              "board %s reads back another calibration (%s) than the one written (%s): write it "
              "again, and check the board's firmware if this repeats",
              res->record.board_serial, back.id, cal.id);
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

typedef struct {
  const CalibOpts *o;
  StanceStore *store;  /* NULL with --no-store */
  StanceSource *board; /* the USB board, for --write-board */
  const char *session_text;
} Finish;

/* Report, JSON, store, board; returns the exit status. */
static int
finish(const Finish *fi, const StanceCalibResult *res)
{
  const CalibOpts *o = fi->o;
  const StanceCalibRecord *cr = &res->record;
  print_report(res, fi->session_text);
  fflush(stdout);
  int status = CLI_EXIT_OK;
  if (o->out_json && write_json_file(o->out_json, res) != CLI_EXIT_OK)
    status = CLI_EXIT_INPUT;
  bool stored = false;
  /* A cell left out of the fit has gain 0: such a calibration cannot be used by a recording, and
   * the store keeps only usable ones. Only a failed calibration can have one (its faults say
   * why). */
  char left_out[64] = "";
  int n_out = 0;
  for (int c = 0; c < STANCE_N_CELLS; c++)
    if (res->fit.excluded[c])
      snprintf(left_out + strlen(left_out), sizeof left_out - strlen(left_out), "%s%s",
               n_out++ ? " and " : "", cell_id(c));
  if (fi->store && n_out > 0) {
    cli_error(SUB,
              "not saved in the store: %s %s gave no response to %s loads and %s left out of the "
              "fit (gain 0), so this calibration cannot be used; fix what the faults name and "
              "calibrate again",
              n_out == 1 ? "cell" : "cells", left_out, n_out == 1 ? "its plate's" : "their plates'",
              n_out == 1 ? "was" : "were");
  } else if (fi->store) {
    char *json = result_json_text(res);
    GError *e = NULL;
    if (!json) {
      status = CLI_EXIT_INPUT;
    } else if (!stance_store_calibration_save(fi->store, cr, json, &e)) {
      status = cli_gerror(SUB, e);
    } else {
      stored = true;
      fprintf(stderr, "Saved calibration %s in %s.\n", cr->id, stance_store_path(fi->store));
    }
    free(json);
  }
  if (o->write_board && status == CLI_EXIT_OK) {
    if (!cr->passed && !o->force) {
      cli_error(SUB,
                "not written to board %s: the calibration FAILED verification (fix what the "
                "report names and calibrate again, or pass --force to write it anyway)",
                cr->board_serial);
    } else if (write_board(fi->board, res) != CLI_EXIT_OK) {
      status = CLI_EXIT_INPUT;
    } else {
      fprintf(stderr, "Wrote calibration %s to board %s%s (read back and checked).\n", cr->id,
              cr->board_serial, cr->passed ? "" : " although it FAILED verification (--force)");
      GError *e = NULL;
      if (stored &&
          !stance_store_calibration_mark_written(fi->store, cr->id, g_get_real_time() / 1000, &e))
        status = cli_gerror(SUB, e);
    }
  }
  if (!cr->passed) {
    /* the summary starts "failed: " */
    const char *why = strchr(res->report.summary, ':');
    cli_error(SUB, "the calibration FAILED verification:%s", why ? why + 1 : res->report.summary);
    if (status == CLI_EXIT_OK)
      status = CLI_EXIT_INPUT;
  }
  return status;
}

/* The next sequence number of the board's calibrations of that UTC day (1 without a store). */
static bool
next_sequence(StanceStore *store, const char *serial, int64_t created, uint32_t *seq)
{
  *seq = 1;
  if (!store)
    return true;
  GError *e = NULL;
  guint32 s = stance_store_calibration_next_sequence(store, serial, created, &e);
  if (e) {
    cli_gerror(SUB, e);
    return false;
  }
  *seq = s;
  return true;
}

/* Runs the calibration and finishes it. */
static int
calibrate_and_finish(const Finish *fi, const StanceRecording *rec, const StanceCalibPlan *plan,
                     const StanceCalibSpan *spans, const char *serial, const char *what)
{
  StanceCalibIdentity id = {serial, rec->meta.start_unix_ms, 1};
  if (id.created_unix_ms == 0) {
    cli_error(SUB,
              "%s has no start time (expected the time of the calibration, which dates its id)",
              what);
    return CLI_EXIT_INPUT;
  }
  if (!next_sequence(fi->store, serial, id.created_unix_ms, &id.sequence))
    return CLI_EXIT_INPUT;
  StanceCalibResult *res = NULL;
  StanceError err;
  stance_error_clear(&err);
  if (stance_calib_run(rec, plan, spans, &id, &fi->o->copt, &res, &err) < 0) {
    cli_error(SUB, "%s: %s", what, err.message);
    if (!spans && err.code == STANCE_ENODATA)
      fprintf(stderr,
              "The steps of plan \"%s\" (%zu steps) were not all found: is this a "
              "calibration session recorded with that plan? Give its plan with --plan.\n",
              plan->name, plan->n_steps);
    return CLI_EXIT_INPUT;
  }
  int status = finish(fi, res);
  stance_calib_result_free(res);
  return status;
}

/* ======================================================================================
 * Modes
 * ====================================================================================== */

/* The plan: --plan's file, or the default for the geometry. NULL after reporting (*status). */
static StanceCalibPlan *
make_plan(const CalibOpts *o, const StanceCalibration *geo, int *status)
{
  StanceCalibPlan *plan = NULL;
  StanceError err;
  stance_error_clear(&err);
  if (o->plan_path) {
    if (stance_calib_plan_read_file(o->plan_path, &plan, &err) < 0) {
      cli_error(SUB, "bad plan file: %s", err.message);
      *status = CLI_EXIT_INPUT;
      return NULL;
    }
  } else if (stance_calib_plan_default(geo, o->n_loads ? o->loads : NULL, o->n_loads,
                                       o->corner_fraction, &plan, &err) < 0) {
    cli_error(SUB, "cannot make the default plan: %s", err.message);
    *status = CLI_EXIT_USAGE;
    return NULL;
  }
  if (stance_calib_plan_validate(plan, geo, &err) < 0) {
    cli_error(SUB, "%s%s%s", o->plan_path ? o->plan_path : "the plan", ": ", err.message);
    stance_calib_plan_free(plan);
    *status = CLI_EXIT_INPUT;
    return NULL;
  }
  return plan;
}

static int
run_from(const CalibOpts *o, StanceStore *store)
{
  StanceImportOptions iopt;
  stance_import_options_default(&iopt);
  CliLoaded ld;
  StanceError err;
  stance_error_clear(&err);
  int status = CLI_EXIT_OK;
  if (cli_load(o->from, &iopt, &ld, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    cli_unload(&ld);
    return CLI_EXIT_INPUT;
  }
  if (!ld.is_stance) {
    cli_error(SUB,
              "%s is not a .stance recording (expected a calibration session: the raw counts of "
              "the 8 cells, as calibrate --save-session or record --device writes)",
              o->from);
    cli_unload(&ld);
    return CLI_EXIT_INPUT;
  }
  const StanceRecording *rec = ld.rec;
  const StanceProtocolInfo *pi = stance_protocol_info(rec->meta.protocol);
  if (rec->layout != STANCE_LAYOUT_CELLS) {
    cli_error(SUB,
              "%s holds %s forces, not the raw counts of the cells (expected a calibration "
              "session recorded from the plates: 8 channels of counts)",
              o->from, stance_layout_name(rec->layout));
    status = CLI_EXIT_INPUT;
  } else if (rec->meta.protocol != STANCE_PROTO_UNKNOWN) {
    cli_error(SUB,
              "%s is a recording of %s (protocol %s), not a calibration session (expected the "
              "plates loaded with known masses step by step, as calibrate --save-session "
              "writes)",
              o->from, pi ? pi->title : "a test", stance_protocol_name(rec->meta.protocol));
    status = CLI_EXIT_INPUT;
  } else if (rec->n_samples == 0) {
    cli_error(SUB, "%s holds no samples (expected a calibration session)", o->from);
    status = CLI_EXIT_INPUT;
  }
  const char *serial = o->serial ? o->serial : rec->meta.board_serial;
  if (status == CLI_EXIT_OK && !serial[0]) {
    cli_error(SUB,
              "%s names no board serial (expected --serial S naming the board the session "
              "calibrates: a calibration belongs to one board)",
              o->from);
    status = CLI_EXIT_INPUT;
  }
  if (status == CLI_EXIT_OK && o->copt.nominal_gain_n_per_count == 0) {
    if (stance_calibration_is_placeholder(&rec->calib)) {
      cli_error(SUB,
                "%s carries no calibration (gain 1 N/count, a placeholder): give the cells' "
                "nominal gain to find the steps, e.g. --nominal-gain 0.0004",
                o->from);
      status = CLI_EXIT_USAGE;
    }
  }
  StanceCalibPlan *plan = status == CLI_EXIT_OK ? make_plan(o, &rec->calib, &status) : NULL;
  if (plan) {
    char what[512];
    snprintf(what, sizeof what, "%s", o->from);
    char text[600];
    snprintf(text, sizeof text, "%s (%s s at %s Hz, recorded %s)", o->from,
             cli_num(stance_recording_duration(rec), 1), cli_num_trim(rec->sample_rate_hz, 3),
             rec->meta.start_unix_ms ? cli_time_text(rec->meta.start_unix_ms)
                                     : "at an unknown time");
    Finish fi = {o, store, NULL, text};
    status = calibrate_and_finish(&fi, rec, plan, NULL, serial, what);
    stance_calib_plan_free(plan);
  }
  cli_unload(&ld);
  return status;
}

/* Marks the recording as a calibration session, with the simulator's parameters for --sim. */
static void
session_meta(StanceRecording *rec, const CalibOpts *o, const StanceCalibPlan *plan)
{
  StanceMeta *m = &rec->meta;
  stance_meta_set(m, "calib.session", "guided");
  char buf[160];
  snprintf(buf, sizeof buf, "%.159s", plan->name);
  stance_meta_set(m, "calib.plan", buf);
  snprintf(buf, sizeof buf, "%zu", plan->n_steps);
  stance_meta_set(m, "calib.steps", buf);
  if (o->sim) {
    stance_meta_set(m, "sim.session", "calibration");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->sp.seed);
    stance_meta_set(m, "sim.seed", buf);
    stance_meta_set(m, "sim.faults", o->sim_faults[0] ? o->sim_faults : "none");
  }
}

static int
run_guided(CalibOpts *o, StanceStore *store)
{
  int status = CLI_EXIT_OK;
  StanceSource *src = NULL;
  StanceCalibPlan *plan = NULL;
  size_t *sim_start = NULL, *sim_end = NULL;
  StanceCalibSpan *spans = NULL;
  StanceRecording *rec = NULL;
  StanceSimCalibTruth *truth = NULL; /* --sim: written with the results, not before */
  GError *e = NULL;
  char text[256];

  if (o->sim) {
    StanceCalibration geo;
    stance_calibration_default(&geo);
    plan = make_plan(o, &geo, &status);
    if (!plan)
      return status;
    StanceRecording *session = NULL;
    status = simulate_session(o, plan, &session, &truth, &sim_start, &sim_end);
    if (status != CLI_EXIT_OK) {
      stance_recording_free(session);
      goto out;
    }
    src = calib_sim_new(session, !o->fast, o->sp.seed);
    if (!stance_source_open(src, &e)) {
      status = cli_gerror(SUB, e);
      goto out;
    }
    snprintf(text, sizeof text, "guided, simulated board (seed %llu%s%s%s)",
             (unsigned long long)o->sp.seed, o->sim_faults[0] ? "; " : "", o->sim_faults,
             o->fast ? "; not paced by the clock" : "");
  } else {
    src = stance_usb_source_new(o->device);
    if (!stance_source_open(src, &e)) {
      status = cli_gerror(SUB, e);
      goto out;
    }
    if (o->rate_hz > 0 && stance_source_get_info(src)->rate_hz != o->rate_hz &&
        !stance_source_set_rate(src, o->rate_hz, &e)) {
      status = e->code == STANCE_DAQ_ERROR_RATE ? cli_usage_error(SUB, "%s", e->message)
                                                : cli_gerror(SUB, g_error_copy(e));
      g_clear_error(&e);
      goto out;
    }
    const StanceSourceInfo *info = stance_source_get_info(src);
    if (stance_calibration_is_placeholder(&info->calib) && o->copt.nominal_gain_n_per_count == 0) {
      status = cli_usage_error(SUB,
                               "board %s carries no calibration yet: give its cells' nominal "
                               "gain to read the steps, e.g. --nominal-gain 0.0004 (N per count)",
                               info->serial);
      goto out;
    }
    plan = make_plan(o, &info->calib, &status);
    if (!plan)
      goto out;
    snprintf(text, sizeof text, "guided, %s", info->description);
  }

  spans = calloc(plan->n_steps, sizeof *spans);
  if (!spans) {
    cli_error(SUB, "out of memory");
    status = CLI_EXIT_INPUT;
    goto out;
  }
  rec = guided_run(o, plan, &o->copt, src, o->sim ? CLI_CALIB_SIM(src) : NULL, sim_start, sim_end,
                   spans, &status);
  if (!rec)
    goto out;
  session_meta(rec, o, plan);
  if (truth && o->sim_truth && (status = write_sim_truth(o->sim_truth, o, truth)) != CLI_EXIT_OK)
    goto out;
  if (o->save_session) {
    StanceError err;
    stance_error_clear(&err);
    if (stance_file_write(rec, o->save_session, &err) < 0) {
      cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(err.code));
      status = CLI_EXIT_INPUT;
      goto out;
    }
    fprintf(stderr, "Saved the session in %s (calibrate --from %s repeats the calibration).\n",
            o->save_session, o->save_session);
  }
  Finish fi = {o, store, o->sim ? NULL : src, text};
  status = calibrate_and_finish(&fi, rec, plan, spans, rec->meta.board_serial, "the session");

out:
  stance_sim_calib_truth_free(truth);
  stance_recording_free(rec);
  free(spans);
  free(sim_start);
  free(sim_end);
  stance_calib_plan_free(plan);
  if (src)
    g_object_unref(src);
  return status;
}

static int
run_list(const CalibOpts *o)
{
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  GError *e = NULL;
  GPtrArray *list = stance_store_calibration_list(store, o->serial, &e);
  int status = CLI_EXIT_OK;
  if (!list) {
    status = cli_gerror(SUB, e);
  } else if (list->len == 0) {
    if (o->serial)
      printf("No calibrations of board %s in %s.\n", o->serial, stance_store_path(store));
    else
      printf("No calibrations in %s.\n", stance_store_path(store));
  } else {
    printf("%-28s %-16s  %-6s  %-12s  %-9s  %-6s  %s\n", "ID", "CREATED", "RESULT", "FORCE ERROR",
           "COP ERROR", "FAULTS", "ON BOARD");
    for (guint i = 0; i < list->len; i++) {
      const StanceStoreCalibration *c = g_ptr_array_index(list, i);
      char fe[32], cop[32], board[32];
      snprintf(fe, sizeof fe, "%s %% FS",
               cli_num(fmax(c->force_error_pct_fs[0], c->force_error_pct_fs[1]), 3));
      snprintf(cop, sizeof cop, "%s mm", cli_num(fmax(c->cop_error_mm[0], c->cop_error_mm[1]), 2));
      snprintf(board, sizeof board, "%s",
               c->written_to_board_unix_ms ? cli_time_text(c->written_to_board_unix_ms) : "no");
      printf("%-28s %-16s  %-6s  %-12s  %-9s  %-6u  %s\n", c->id, cli_time_text(c->created_unix_ms),
             c->passed ? "passed" : "FAILED", fe, cop, (unsigned)c->n_faults, board);
    }
  }
  if (list)
    g_ptr_array_unref(list);
  stance_store_close(store);
  return status;
}

/* Fails early (before a long session) when an output cannot be written. */
static bool
probe_output(const char *path)
{
  if (!path)
    return true;
  CliOut probe;
  StanceError err;
  stance_error_clear(&err);
  if (cli_out_open(&probe, path, &err) < 0) {
    cli_error(SUB, "%s", err.message);
    return false;
  }
  cli_out_abort(&probe);
  return true;
}

int
cli_calibrate_main(int argc, char **argv)
{
  CalibOpts o;
  memset(&o, 0, sizeof o);
  stance_calib_options_default(&o.copt);
  stance_sim_calib_params_default(&o.sp);
  int status = parse_options(argc, argv, &o);
  if (status != CLI_EXIT_OK)
    return status < 0 ? CLI_EXIT_OK : status;
  if (o.list)
    return run_list(&o);

  StanceError err;
  stance_error_clear(&err);
  if (stance_calib_options_validate(&o.copt, &err) < 0)
    return cli_usage_error(SUB, "%s", err.message);
  const char *outs[] = {o.out_json, o.save_session, o.sim_truth};
  for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
    for (size_t j = i + 1; j < sizeof outs / sizeof outs[0]; j++)
      if (outs[i] && outs[j] && strcmp(outs[i], outs[j]) == 0)
        return cli_usage_error(SUB,
                               "%s is named for two outputs (expected different files for "
                               "-o, --save-session and --sim-truth)",
                               outs[i]);
  if (o.from && o.out_json &&
      (strcmp(o.from, o.out_json) == 0 || cli_same_file(o.from, o.out_json)))
    return cli_usage_error(SUB, "-o %s is the session being read (expected another name)",
                           o.out_json);
  for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
    if (!probe_output(outs[i]))
      return CLI_EXIT_INPUT;

  /* The store first: a guided session takes minutes, and a store that cannot be opened should
   * say so before, not after. */
  StanceStore *store = NULL;
  if (!o.no_store) {
    store = cli_store_open(SUB, o.db, STANCE_STORE_DEFAULT);
    if (!store)
      return CLI_EXIT_INPUT;
  }
  status = o.from ? run_from(&o, store) : run_guided(&o, store);
  if (store)
    stance_store_close(store);
  return status;
}
