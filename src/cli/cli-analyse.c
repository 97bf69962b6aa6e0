/* cli-analyse.c: `stance-cli analyse FILE...`: trials, events, per-limb metrics, asymmetry and the
 * session summary of .stance recordings and importable text files, as a table, JSON or CSV.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A file is a .stance recording when it starts with the .stance magic, whatever its name; anything
 * else goes through the text importer in memory (as `info` does). A text file with several trials
 * side by side gives one analysis per trial, named "FILE#k". Every file is analysed even when an
 * earlier one failed; the output then holds the analyses that succeeded and the exit status is 1.
 * Several analyses: JSON is one document (stance_analysis_write_json_many), CSV one header and all
 * rows, the table each analysis and then the combined summary of each protocol.
 */
#include "cli-common.h"
#include "cli-describe.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stance-analysis.h"
#include "stance-asym.h"
#include "stance-file.h"
#include "stance-import.h"

static const char *const SUB = "analyse";

typedef enum {
  FORMAT_TABLE,
  FORMAT_JSON,
  FORMAT_CSV,
} OutFormat;

void
cli_analyse_help(FILE *out)
{
  fputs(
      "Usage: stance-cli analyse [options] FILE...\n"
      "\n"
      "Analyses each FILE: a .stance recording (recognised by its content) or any text file the\n"
      "importer reads (imported in memory; a file with several trials side by side gives one\n"
      "analysis per trial, named FILE#1, FILE#2, ...). The analysis finds the trials of the\n"
      "protocol (jumps, hops, reps, holds, stands), their events and per-limb metrics (left, "
      "right\n"
      "and total), the asymmetry of every per-limb metric by a named formula, quality flags, and\n"
      "the summary across trials (mean, SD, CV %, direction consistency). docs/methods.md defines\n"
      "every metric; docs/analysis-json.md the JSON.\n"
      "\n"
      "Test:\n"
      "      --protocol P      protocol (default: the recording's; when unknown, the analysis\n"
      "                        guesses jump or isometric and flags it); ids below\n"
      "      --side S          left or right: stance leg / front foot / stepping leg of one-sided\n"
      "                        protocols when the recording does not say (default: the\n"
      "                        recording's)\n"
      "      --front S         the same as --side (front foot of a split squat or lunge)\n"
      "      --involved S      injured or operated limb, left or right: asymmetry becomes the\n"
      "                        limb symmetry index involved / uninvolved x 100 (default: none)\n"
      "      --formula F       asymmetry formula (default: lsi with --involved, else pct_diff\n"
      "                        for one-sided tests, lr_sum for bilateral ones):\n",
      out);
  for (int f = STANCE_ASYM_DEFAULT + 1; f < STANCE_ASYM_COUNT; f++)
    cli_print_wrapped(out, 26, 37, stance_asym_formula_name((StanceAsymFormula)f),
                      stance_asym_formula_text((StanceAsymFormula)f));
  fputs(
      "      --load KG         external load (bar, vest) of barbell protocols when the recording\n"
      "                        does not say (default: the recording's, else 0)\n"
      "Events and conditioning:\n"
      "      --onset RULE      movement onset (default: bw-5sd-30ms for jumps, bw-5sd for\n"
      "                        isometrics, fixed-20n for reps):\n"
      "                          bw-5sd       first sample outside body weight +- 5 SD\n"
      "                          bw-5sd-30ms  the same, stepped back 30 ms (Owen 2014)\n"
      "                          bw-<k>sd[-<ms>ms]  another SD multiple and step-back\n"
      "                          fixed-<N>n   deviation from body weight above N newtons\n"
      "                          pct-<p>bw    deviation above p % of body weight\n"
      "      --takeoff N       takeoff and landing threshold, N; 0 or 'unloaded' = 5 SD of the\n"
      "                        unloaded plate (default 20)\n"
      "      --filter SPEC     low-pass (default: raw, and 10 Hz for balance): raw (or none),\n"
      "                        auto (Winter's residual analysis), butter:<cutoff_hz>,\n"
      "                        butter:<order>:<cutoff_hz> (zero-lag Butterworth, order 2-8)\n"
      "      --weigh RULE      body-weight window: auto (default: the first second when it is\n"
      "                        still, else the stillest window), stillest (lowest SD) or first\n"
      "                        (the first window, as the shiny-vertical-jump app and AccuPower)\n"
      "      --weigh-window S  length of that window, s (default 1)\n"
      "      --weigh-at T      weigh on the window starting at T s, as chosen by hand (used even\n"
      "                        when not still, then flagged)\n"
      "      --gravity G       g in m/s^2 for masses, velocities and heights (default 9.81, the\n"
      "                        published tools' value; 9.80665 is standard gravity)\n"
      "      --rfd-window S    sliding window of peak RFD, s (default 0.020)\n"
      "Text files (a .stance file carries its own):\n"
      "      --rate HZ         sample rate; wins over a time column (default: from the time\n"
      "                        column; without one, 1000 Hz, flagged as assumed)\n"
      "      --columns MAP     column mapping, e.g. \"left=fp1,right=fp2\", \"total=Fz\" "
      "(default:\n"
      "                        detect)\n"
      "      --skip-lines N    lines to skip before the header or data (default: detect)\n"
      "      --delimiter D     ',' (or comma), tab, ';' (or semicolon) (default: detect)\n"
      "      --decimal-comma   numbers use a decimal comma (default: detect)\n"
      "      --swap-sides      exchange left and right after mapping (default: no)\n"
      "      --scale K         multiply every force by K, e.g. 9.80665 for kgf (default: 1)\n"
      "Output:\n"
      "      --format F        table (default; heights in cm and durations in ms for reading),\n"
      "                        json (versioned document, SI units, docs/analysis-json.md) or\n"
      "                        csv (one row per file, trial and metric; SI units)\n"
      "      --compact         JSON on one line instead of indented\n"
      "  -o, --output FILE     write to FILE instead of standard output (written atomically)\n"
      "  -h, --help            show this text and exit\n"
      "\n"
      "Protocols:\n",
      out);
  cli_print_protocols(out, 2);
  fputs(
      "\n"
      "Exit status: 0 when every file was analysed, 1 when any could not be read, parsed or\n"
      "analysed (the others are still in the output) or the output cannot be written, 2 on bad\n"
      "usage.\n"
      "\n"
      "Examples:\n"
      "  stance-cli analyse cmj.stance\n"
      "  stance-cli analyse --format json --weigh first single_trial.csv\n"
      "  stance-cli analyse --protocol sl-cmj --involved left left.stance right.stance\n"
      "  stance-cli analyse --format csv -o trials.csv session-*.stance\n"
      "  stance-cli analyse --onset fixed-20n --filter butter:4:50 --rate 1200 trial1.force.txt\n",
      out);
}

/* ---- The analyses ---- */

typedef struct {
  StanceAnalysis **v;
  size_t n, cap;
} AnalysisList;

static bool
list_add(AnalysisList *l, StanceAnalysis *a)
{
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 8;
    StanceAnalysis **nv = realloc(l->v, ncap * sizeof *nv);
    if (!nv)
      return false;
    l->v = nv;
    l->cap = ncap;
  }
  l->v[l->n++] = a;
  return true;
}

static void
list_clear(AnalysisList *l)
{
  for (size_t i = 0; i < l->n; i++)
    stance_analysis_free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* Options that depend on the recording's rate: a usage problem, named with its option. Returns
 * false (message printed) when they do not fit this recording. */
static bool
options_fit(const StanceAnalysisOptions *o, const char *name, double rate)
{
  if (o->filter == STANCE_FILTER_BUTTERWORTH && !(o->filter_cutoff_hz < rate / 2.0)) {
    cli_usage_error(SUB,
                    "--filter: a cutoff of %s Hz is not below half the sample rate of %s "
                    "(%s Hz; expected a cutoff below %s Hz)",
                    cli_num_trim(o->filter_cutoff_hz, 3), name, cli_num_trim(rate, 3),
                    cli_num_trim(rate / 2.0, 3));
    return false;
  }
  if (o->peak_rfd_window_s < 2.0 / rate) {
    cli_usage_error(SUB,
                    "--rfd-window: %s s is shorter than two samples of %s (%s Hz; expected at "
                    "least %s s)",
                    cli_num_trim(o->peak_rfd_window_s, 6), name, cli_num_trim(rate, 3),
                    cli_num_trim(2.0 / rate, 6));
    return false;
  }
  return true;
}

/* Analyses one recording; returns an exit code (OK, INPUT or USAGE). */
static int
analyse_one(const StanceRecording *rec, const char *name, const StanceAnalysisOptions *o,
            AnalysisList *list)
{
  if (!options_fit(o, name, rec->sample_rate_hz))
    return CLI_EXIT_USAGE;
  StanceAnalysis *a = NULL;
  StanceError err;
  stance_error_clear(&err);
  int r = stance_analyse(rec, name, o, &a, &err);
  if (r < 0) {
    cli_error(SUB, "%s: %s", name, err.message[0] ? err.message : stance_strerror(r));
    return CLI_EXIT_INPUT;
  }
  if (!list_add(list, a)) {
    stance_analysis_free(a);
    cli_error(SUB, "out of memory");
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

/* ---- Output ---- */

static int
write_table_all(const AnalysisList *l, FILE *out, StanceError *err)
{
  for (size_t i = 0; i < l->n; i++) {
    if (i > 0)
      fputc('\n', out);
    int r = stance_analysis_write_table(l->v[i], out, err);
    if (r < 0)
      return r;
  }
  if (l->n < 2)
    return STANCE_OK;
  /* The combined summary of each protocol, in order of first appearance. */
  bool *done = calloc(l->n, sizeof *done);
  StanceAnalysis **members = calloc(l->n, sizeof *members);
  int r = STANCE_OK;
  if (!done || !members)
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory");
  for (size_t i = 0; r == STANCE_OK && i < l->n; i++) {
    if (done[i])
      continue;
    size_t m = 0;
    for (size_t k = i; k < l->n; k++) {
      if (!done[k] && l->v[k]->protocol == l->v[i]->protocol) {
        done[k] = true;
        members[m++] = l->v[k];
      }
    }
    StanceAnalysis *c = stance_analysis_combine(members, m);
    if (!c) {
      r = stance_error_set(err, STANCE_ENOMEM, "out of memory combining the analyses");
      break;
    }
    fprintf(out, "\nCombined: %s, %zu analyses\n", stance_protocol_name(c->protocol), m);
    for (size_t k = 0; k < m; k++)
      fprintf(out, "  %-18s%s (%zu trial%s)\n", k == 0 ? "inputs" : "", members[k]->input,
              members[k]->n_trials, members[k]->n_trials == 1 ? "" : "s");
    r = stance_analysis_write_table_summary(c, out, err);
    stance_analysis_free(c);
  }
  free(done);
  free(members);
  return r;
}

static int
write_output(const AnalysisList *l, OutFormat fmt, bool pretty, FILE *out, StanceError *err)
{
  switch (fmt) {
  case FORMAT_JSON: {
    int r = l->n == 1 ? stance_analysis_write_json(l->v[0], out, pretty, err)
                      : stance_analysis_write_json_many(l->v, l->n, out, pretty, err);
    /* The compact document is one line: end it like any text line. */
    if (r == STANCE_OK && !pretty && fputc('\n', out) == EOF)
      r = stance_error_set(err, STANCE_EIO, "writing the analysis JSON failed");
    return r;
  }
  case FORMAT_CSV:
    for (size_t i = 0; i < l->n; i++) {
      int r = stance_analysis_write_csv(l->v[i], out, i == 0, err);
      if (r < 0)
        return r;
    }
    return STANCE_OK;
  case FORMAT_TABLE: return write_table_all(l, out, err);
  }
  return STANCE_OK;
}

/* ---- Options ---- */

static bool
parse_format(const char *s, OutFormat *f)
{
  if (strcmp(s, "table") == 0 || strcmp(s, "text") == 0)
    *f = FORMAT_TABLE;
  else if (strcmp(s, "json") == 0)
    *f = FORMAT_JSON;
  else if (strcmp(s, "csv") == 0)
    *f = FORMAT_CSV;
  else
    return false;
  return true;
}

int
cli_analyse_main(int argc, char **argv)
{
  enum {
    OPT_PROTOCOL = 256,
    OPT_SIDE,
    OPT_INVOLVED,
    OPT_FORMULA,
    OPT_LOAD,
    OPT_ONSET,
    OPT_TAKEOFF,
    OPT_FILTER,
    OPT_WEIGH,
    OPT_WEIGH_WINDOW,
    OPT_WEIGH_AT,
    OPT_GRAVITY,
    OPT_RFD_WINDOW,
    OPT_RATE,
    OPT_COLUMNS,
    OPT_SKIP,
    OPT_DELIM,
    OPT_DECIMAL_COMMA,
    OPT_SWAP,
    OPT_SCALE,
    OPT_FORMAT,
    OPT_COMPACT,
  };
  static const struct option longopts[] = {
      {"protocol", required_argument, NULL, OPT_PROTOCOL},
      {"side", required_argument, NULL, OPT_SIDE},
      {"front", required_argument, NULL, OPT_SIDE},
      {"involved", required_argument, NULL, OPT_INVOLVED},
      {"formula", required_argument, NULL, OPT_FORMULA},
      {"load", required_argument, NULL, OPT_LOAD},
      {"onset", required_argument, NULL, OPT_ONSET},
      {"takeoff", required_argument, NULL, OPT_TAKEOFF},
      {"filter", required_argument, NULL, OPT_FILTER},
      {"weigh", required_argument, NULL, OPT_WEIGH},
      {"weigh-window", required_argument, NULL, OPT_WEIGH_WINDOW},
      {"weigh-at", required_argument, NULL, OPT_WEIGH_AT},
      {"gravity", required_argument, NULL, OPT_GRAVITY},
      {"rfd-window", required_argument, NULL, OPT_RFD_WINDOW},
      {"rate", required_argument, NULL, OPT_RATE},
      {"columns", required_argument, NULL, OPT_COLUMNS},
      {"skip-lines", required_argument, NULL, OPT_SKIP},
      {"delimiter", required_argument, NULL, OPT_DELIM},
      {"decimal-comma", no_argument, NULL, OPT_DECIMAL_COMMA},
      {"swap-sides", no_argument, NULL, OPT_SWAP},
      {"scale", required_argument, NULL, OPT_SCALE},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"compact", no_argument, NULL, OPT_COMPACT},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  StanceImportOptions iopt;
  stance_import_options_default(&iopt);
  bool text_opts = false, side_given = false, pretty = true;
  OutFormat fmt = FORMAT_TABLE;
  const char *out_path = NULL;
  StanceError perr;
  double dv;
  long lv;
  opterr = 0;
  int c;
  int li = -1;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, &li)) != -1) {
    stance_error_clear(&perr);
    switch (c) {
    case 'h': cli_analyse_help(stdout); return CLI_EXIT_OK;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty file name");
      out_path = optarg;
      break;
    case OPT_PROTOCOL:
      if (!cli_parse_protocol(SUB, "--protocol", optarg, &o.protocol))
        return CLI_EXIT_USAGE;
      break;
    case OPT_SIDE:
      /* --side or --front, named as the user typed it. */
      if (!cli_parse_side(SUB,
                          li >= 0 && strcmp(longopts[li].name, "front") == 0 ? "--front" : "--side",
                          optarg, true, &o.side))
        return CLI_EXIT_USAGE;
      side_given = o.side != STANCE_SIDE_BOTH;
      break;
    case OPT_INVOLVED:
      if (!cli_parse_side(SUB, "--involved", optarg, false, &o.involved))
        return CLI_EXIT_USAGE;
      break;
    case OPT_FORMULA:
      if (!stance_asym_formula_from_name(optarg, &o.formula))
        return cli_usage_error(SUB,
                               "--formula: '%s' is not an asymmetry formula (expected lsi, "
                               "pct_diff, lr_sum, lr_mean, sym_angle, log_ratio or default)",
                               optarg);
      break;
    case OPT_LOAD:
      if (!cli_parse_double(optarg, &o.external_load_kg) || o.external_load_kg < 0 ||
          o.external_load_kg > 1000)
        return cli_usage_error(SUB, "--load: '%s' is not a load (expected 0 to 1000 kg, e.g. 60)",
                               optarg);
      break;
    case OPT_ONSET:
      if (stance_analysis_options_parse_onset(&o, optarg, &perr) < 0)
        return cli_usage_error(SUB, "--onset: %s", perr.message);
      break;
    case OPT_TAKEOFF:
      if (strcmp(optarg, "unloaded") == 0)
        o.takeoff_n = 0.0;
      else if (!cli_parse_double(optarg, &o.takeoff_n) || o.takeoff_n < 0 || o.takeoff_n > 500)
        return cli_usage_error(SUB,
                               "--takeoff: '%s' is not a threshold (expected 0 to 500 N, e.g. "
                               "20, or 0 / unloaded for 5 SD of the unloaded plate)",
                               optarg);
      break;
    case OPT_FILTER:
      if (stance_analysis_options_parse_filter(&o, optarg, &perr) < 0)
        return cli_usage_error(SUB, "--filter: %s", perr.message);
      break;
    case OPT_WEIGH:
      if (strcmp(optarg, "auto") == 0)
        o.weigh = STANCE_WEIGH_AUTO;
      else if (strcmp(optarg, "stillest") == 0)
        o.weigh = STANCE_WEIGH_STILLEST;
      else if (strcmp(optarg, "first") == 0)
        o.weigh = STANCE_WEIGH_FIRST;
      else
        return cli_usage_error(SUB,
                               "--weigh: '%s' is not a weighing rule (expected auto, stillest "
                               "or first)",
                               optarg);
      break;
    case OPT_WEIGH_WINDOW:
      if (!cli_parse_double(optarg, &o.weigh_window_s) || o.weigh_window_s < 0.25 ||
          o.weigh_window_s > 10)
        return cli_usage_error(SUB,
                               "--weigh-window: '%s' is not a window length (expected 0.25 to 10 "
                               "s, e.g. 1)",
                               optarg);
      break;
    case OPT_WEIGH_AT:
      if (!cli_parse_double(optarg, &o.weigh_start_s) || o.weigh_start_s < 0)
        return cli_usage_error(SUB,
                               "--weigh-at: '%s' is not a time (expected seconds from the start "
                               "of the recording, e.g. 0.5)",
                               optarg);
      break;
    case OPT_GRAVITY:
      if (!cli_parse_double(optarg, &o.gravity_m_s2) || o.gravity_m_s2 < 9.7 ||
          o.gravity_m_s2 > 9.9)
        return cli_usage_error(SUB,
                               "--gravity: '%s' is not Earth's gravity (expected 9.7 to 9.9 m/s^2, "
                               "e.g. 9.81)",
                               optarg);
      break;
    case OPT_RFD_WINDOW:
      if (!cli_parse_double(optarg, &o.peak_rfd_window_s) || !(o.peak_rfd_window_s > 0) ||
          o.peak_rfd_window_s > 0.5)
        return cli_usage_error(SUB,
                               "--rfd-window: '%s' is not a window length (expected more than 0 "
                               "and at most 0.5 s, e.g. 0.020)",
                               optarg);
      break;
    case OPT_RATE:
      if (!cli_parse_double(optarg, &iopt.rate_hz) || !(iopt.rate_hz > 0) || iopt.rate_hz > 1e6)
        return cli_usage_error(SUB, "--rate: '%s' is not a sample rate (expected hertz, e.g. 1000)",
                               optarg);
      text_opts = true;
      break;
    case OPT_COLUMNS:
      if (!*optarg)
        return cli_usage_error(SUB, "--columns: empty mapping (expected e.g. left=fp1,right=fp2)");
      iopt.columns = optarg;
      text_opts = true;
      break;
    case OPT_SKIP:
      if (!cli_parse_long(optarg, 0, 1000000, &lv))
        return cli_usage_error(SUB, "--skip-lines: '%s' is not a line count (expected 0 or more)",
                               optarg);
      iopt.skip_lines = (int)lv;
      text_opts = true;
      break;
    case OPT_DELIM:
      if (strcmp(optarg, ",") == 0 || strcmp(optarg, "comma") == 0)
        iopt.delimiter = ',';
      else if (strcmp(optarg, ";") == 0 || strcmp(optarg, "semicolon") == 0)
        iopt.delimiter = ';';
      else if (strcmp(optarg, "tab") == 0 || strcmp(optarg, "\t") == 0 ||
               strcmp(optarg, "\\t") == 0)
        iopt.delimiter = '\t';
      else
        return cli_usage_error(
            SUB, "--delimiter: '%s' is not a delimiter (expected ',', tab or ';')", optarg);
      text_opts = true;
      break;
    case OPT_DECIMAL_COMMA:
      iopt.decimal_comma = 1;
      text_opts = true;
      break;
    case OPT_SWAP:
      iopt.swap_sides = true;
      text_opts = true;
      break;
    case OPT_SCALE:
      if (!cli_parse_double(optarg, &dv) || dv == 0.0)
        return cli_usage_error(SUB,
                               "--scale: '%s' is not a usable factor (expected a non-zero "
                               "number, e.g. 9.80665)",
                               optarg);
      iopt.force_scale = dv;
      text_opts = true;
      break;
    case OPT_FORMAT:
      if (!parse_format(optarg, &fmt))
        return cli_usage_error(SUB,
                               "--format: '%s' is not an output format (expected table, "
                               "json or csv)",
                               optarg);
      break;
    case OPT_COMPACT: pretty = false; break;
    default: return cli_getopt_error(SUB, c, argv);
    }
    li = -1;
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no file given (expected one or more .stance or text files)");
  if (o.protocol != STANCE_PROTO_UNKNOWN && side_given) {
    const StanceProtocolInfo *pi = stance_protocol_info(o.protocol);
    if (!pi->needs_side && !pi->allows_side)
      return cli_usage_error(SUB, "--protocol %s is bilateral: --side %s does not apply", pi->name,
                             stance_side_name(o.side));
  }
  if (out_path) {
    for (int k = optind; k < argc; k++)
      if (cli_same_file(out_path, argv[k]))
        return cli_usage_error(SUB,
                               "the output %s is the input file %s; choose another name "
                               "with -o",
                               out_path, argv[k]);
  }

  int status = CLI_EXIT_OK;
  AnalysisList list = {0};
  bool noted = false;
  for (int k = optind; k < argc; k++) {
    const char *path = argv[k];
    CliLoaded ld;
    StanceError err;
    stance_error_clear(&err);
    if (cli_load(path, &iopt, &ld, &err) < 0) {
      cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(err.code));
      status = CLI_EXIT_INPUT;
      cli_unload(&ld);
      continue;
    }
    if (ld.is_stance && text_opts && !noted) {
      cli_error(SUB,
                "note: --rate, --columns, --skip-lines, --delimiter, --decimal-comma, "
                "--swap-sides and --scale apply to text files only; %s is a .stance recording "
                "and carries its own",
                path);
      noted = true;
    }
    int r = CLI_EXIT_OK;
    if (ld.is_stance) {
      r = analyse_one(ld.rec, path, &o, &list);
    } else {
      size_t n = ld.imp.n_recs;
      for (size_t t = 0; t < n && r != CLI_EXIT_USAGE; t++) {
        char name[1024];
        if (n == 1)
          snprintf(name, sizeof name, "%s", path);
        else
          snprintf(name, sizeof name, "%s#%zu", path, t + 1);
        int rt = analyse_one(ld.imp.recs[t], name, &o, &list);
        if (rt != CLI_EXIT_OK)
          r = rt;
      }
    }
    cli_unload(&ld);
    if (r == CLI_EXIT_USAGE) {
      list_clear(&list);
      return CLI_EXIT_USAGE;
    }
    if (r != CLI_EXIT_OK)
      status = r;
  }
  if (list.n == 0) {
    list_clear(&list);
    return status == CLI_EXIT_OK ? CLI_EXIT_INPUT : status;
  }

  StanceError err;
  stance_error_clear(&err);
  int r;
  if (out_path) {
    CliOut co;
    r = cli_out_open(&co, out_path, &err);
    if (r == STANCE_OK) {
      r = write_output(&list, fmt, pretty, co.fp, &err);
      if (r == STANCE_OK)
        r = cli_out_commit(&co, &err);
      else
        cli_out_abort(&co);
    }
  } else {
    r = write_output(&list, fmt, pretty, stdout, &err);
  }
  if (r < 0) {
    cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(r));
    status = CLI_EXIT_INPUT;
  }
  list_clear(&list);
  return status;
}
