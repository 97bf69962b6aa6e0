/* cli-import.c: `stance-cli import FILE`: other systems' force-time text files -> .stance.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One .stance file per recording: OUT.stance for a single trial, OUT-1.stance, OUT-2.stance, ...
 * when the file holds several trials. Nothing is written unless the whole file imported.
 */
#include "cli-common.h"
#include "cli-describe.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "stance-file.h"
#include "stance-import.h"

static const char *const SUB = "import";

void
cli_import_help(FILE *out)
{
  fputs(
      "Usage: stance-cli import [options] FILE\n"
      "\n"
      "Converts a force-time text file of another system (comma, tab or semicolon separated;\n"
      "decimal point or comma; per-plate, per-cell or one combined force column; with or\n"
      "without a time column) into .stance recordings: one per trial. The layout is detected\n"
      "(docs/import.md lists the rules and the known exports) and can be forced with the options\n"
      "below. Anything the importer had to assume (the rate, which plate is left) is printed and\n"
      "stored in the recording.\n"
      "\n"
      "Output:\n"
      "  -o, --output OUT.stance  where to write (default: FILE's name with .stance, in the\n"
      "                           current folder); a file with several trials gives\n"
      "                           OUT-1.stance, OUT-2.stance, ...; existing files are replaced\n"
      "Reading:\n"
      "      --columns MAP        column mapping (default: detect), names or 1-based numbers:\n"
      "                           \"left=fp1,right=fp2\"  two plates\n"
      "                           \"total=Fz\"             one combined force\n"
      "                           \"l1=..,l2=..,..,r4=..\"  eight load cells\n"
      "                           \"time=t\", \"copx=..,copy=..\", \"left_copx=..\" ...\n"
      "      --rate HZ            sample rate; wins over a time column (default: from the\n"
      "                           time column; without one, 1000 Hz, flagged as assumed)\n"
      "      --skip-lines N       lines to skip before the header or data (default: detect)\n"
      "      --delimiter D        ',' (or comma), tab, ';' (or semicolon) (default: detect)\n"
      "      --decimal-comma      numbers use a decimal comma, e.g. 812,5 (default: detect)\n"
      "      --swap-sides         exchange left and right after mapping (default: no)\n"
      "      --scale K            multiply every force by K, e.g. 9.80665 for kgf (default: 1)\n"
      "Metadata stored in the recordings:\n"
      "      --protocol P         test protocol (default: unknown); one of the ids below\n"
      "      --side S             left or right: stance leg / front foot / stepping leg, for\n"
      "                           one-sided protocols (required by them); default: bilateral\n"
      "      --athlete NAME       athlete name or pseudonym (default: none)\n"
      "  -h, --help               show this text and exit\n"
      "\n"
      "Protocols:\n",
      out);
  cli_print_protocols(out, 2);
  fputs("\n"
        "Exit status: 0 written, 1 the file cannot be read or parsed, or an output cannot be\n"
        "written, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  stance-cli import single_trial.csv --protocol cmj --athlete \"A. Runner\"\n"
        "  stance-cli import wide_data.csv -o squat-jumps.stance   # squat-jumps-1.stance ...\n"
        "  stance-cli import --rate 1200 subject01_trial1.force.txt -o t1.stance\n"
        "  stance-cli import --columns left=FP2,right=FP1 --decimal-comma --delimiter ';' x.csv\n",
        out);
}

/* Output path of trial k (0-based) of n. */
static char *
output_path(const char *out_opt, const char *input, size_t k, size_t n)
{
  char *base;
  if (out_opt) {
    /* "OUT.stance" -> stem "OUT"; a name without .stance keeps its full name as the stem. */
    if (cli_has_suffix(out_opt, ".stance")) {
      base = strdup(out_opt);
      if (base)
        base[strlen(base) - strlen(".stance")] = '\0';
    } else {
      base = strdup(out_opt);
    }
  } else {
    base = cli_stem(input);
  }
  if (!base)
    return NULL;
  size_t len = strlen(base) + 32;
  char *p = malloc(len);
  if (p) {
    if (n == 1 && out_opt && !cli_has_suffix(out_opt, ".stance"))
      snprintf(p, len, "%s", base);
    else if (n == 1)
      snprintf(p, len, "%s.stance", base);
    else
      snprintf(p, len, "%s-%zu.stance", base, k + 1);
  }
  free(base);
  return p;
}

int
cli_import_main(int argc, char **argv)
{
  enum {
    OPT_COLUMNS = 256,
    OPT_RATE,
    OPT_SKIP,
    OPT_DELIM,
    OPT_DECIMAL_COMMA,
    OPT_SWAP,
    OPT_SCALE,
    OPT_PROTOCOL,
    OPT_SIDE,
    OPT_ATHLETE,
  };
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"columns", required_argument, NULL, OPT_COLUMNS},
      {"rate", required_argument, NULL, OPT_RATE},
      {"skip-lines", required_argument, NULL, OPT_SKIP},
      {"delimiter", required_argument, NULL, OPT_DELIM},
      {"decimal-comma", no_argument, NULL, OPT_DECIMAL_COMMA},
      {"swap-sides", no_argument, NULL, OPT_SWAP},
      {"scale", required_argument, NULL, OPT_SCALE},
      {"protocol", required_argument, NULL, OPT_PROTOCOL},
      {"side", required_argument, NULL, OPT_SIDE},
      {"athlete", required_argument, NULL, OPT_ATHLETE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  const char *out_opt = NULL, *athlete = NULL;
  StanceProtocol protocol = STANCE_PROTO_UNKNOWN;
  StanceSide side = STANCE_SIDE_BOTH;
  bool side_given = false;
  long lv;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_import_help(stdout); return CLI_EXIT_OK;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty file name");
      out_opt = optarg;
      break;
    case OPT_COLUMNS:
      if (!*optarg)
        return cli_usage_error(SUB, "--columns: empty mapping (expected e.g. left=fp1,right=fp2)");
      opt.columns = optarg;
      break;
    case OPT_RATE:
      if (!cli_parse_double(optarg, &opt.rate_hz) || !(opt.rate_hz > 0) || opt.rate_hz > 1e6)
        return cli_usage_error(SUB, "--rate: '%s' is not a sample rate (expected hertz, e.g. 1000)",
                               optarg);
      break;
    case OPT_SKIP:
      if (!cli_parse_long(optarg, 0, 1000000, &lv))
        return cli_usage_error(SUB, "--skip-lines: '%s' is not a line count (expected 0 or more)",
                               optarg);
      opt.skip_lines = (int)lv;
      break;
    case OPT_DELIM:
      if (strcmp(optarg, ",") == 0 || strcmp(optarg, "comma") == 0)
        opt.delimiter = ',';
      else if (strcmp(optarg, ";") == 0 || strcmp(optarg, "semicolon") == 0)
        opt.delimiter = ';';
      else if (strcmp(optarg, "tab") == 0 || strcmp(optarg, "\t") == 0 ||
               strcmp(optarg, "\\t") == 0)
        opt.delimiter = '\t';
      else
        return cli_usage_error(
            SUB, "--delimiter: '%s' is not a delimiter (expected ',', tab or ';')", optarg);
      break;
    case OPT_DECIMAL_COMMA: opt.decimal_comma = 1; break;
    case OPT_SWAP: opt.swap_sides = true; break;
    case OPT_SCALE:
      if (!cli_parse_double(optarg, &opt.force_scale) || opt.force_scale == 0.0)
        return cli_usage_error(SUB,
                               "--scale: '%s' is not a usable factor (expected a non-zero "
                               "number, e.g. 9.80665)",
                               optarg);
      break;
    case OPT_PROTOCOL:
      if (!cli_parse_protocol(SUB, "--protocol", optarg, &protocol))
        return CLI_EXIT_USAGE;
      break;
    case OPT_SIDE:
      if (!cli_parse_side(SUB, "--side", optarg, true, &side))
        return CLI_EXIT_USAGE;
      side_given = true;
      break;
    case OPT_ATHLETE:
      if (strlen(optarg) >= sizeof(((StanceMeta *)0)->athlete))
        return cli_usage_error(SUB, "--athlete: the name is %zu bytes long (expected at most %zu)",
                               strlen(optarg), sizeof(((StanceMeta *)0)->athlete) - 1);
      athlete = optarg;
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no file given (expected one text file to import)");
  if (argc - optind > 1)
    return cli_usage_error(SUB, "one file at a time: got %d files (%s, %s%s)", argc - optind,
                           argv[optind], argv[optind + 1], argc - optind > 2 ? ", ..." : "");
  const char *input = argv[optind];

  /* Side and protocol must agree before anything is read. */
  if (protocol != STANCE_PROTO_UNKNOWN) {
    const StanceProtocolInfo *pi = stance_protocol_info(protocol);
    if (pi->needs_side && side == STANCE_SIDE_BOTH)
      return cli_usage_error(SUB, "--protocol %s is done on one side: give --side left or right",
                             pi->name);
    if (!pi->needs_side && !pi->allows_side && side != STANCE_SIDE_BOTH)
      return cli_usage_error(SUB, "--protocol %s is bilateral: --side %s does not apply", pi->name,
                             stance_side_name(side));
  }
  /* A --side without --protocol is kept too: it says which leg the (unknown) test was done on. */

  StanceImportResult res;
  memset(&res, 0, sizeof res);
  StanceError err;
  stance_error_clear(&err);
  int r = stance_import_text(input, &opt, &res, &err);
  if (r < 0) {
    if (!strstr(err.message, input))
      stance_error_prefix(&err, "%s: ", input);
    cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(r));
    stance_import_result_clear(&res);
    return CLI_EXIT_INPUT;
  }

  /* Name every output first, so a clash is found before anything is written. */
  size_t n = res.n_recs;
  char **paths = calloc(n, sizeof *paths);
  int status = CLI_EXIT_OK;
  bool sides_assumed = false;
  if (!paths) {
    cli_error(SUB, "out of memory");
    stance_import_result_clear(&res);
    return CLI_EXIT_INPUT;
  }
  for (size_t k = 0; k < n && status == CLI_EXIT_OK; k++) {
    paths[k] = output_path(out_opt, input, k, n);
    if (!paths[k]) {
      cli_error(SUB, "out of memory");
      status = CLI_EXIT_INPUT;
    } else if (cli_same_file(paths[k], input)) {
      cli_error(SUB, "the output %s is the input file; choose another name with -o", paths[k]);
      status = CLI_EXIT_USAGE;
    }
  }

  if (status == CLI_EXIT_OK) {
    printf("Imported %s: %zu %s\n", input, n, n == 1 ? "recording" : "trials");
    if (res.notes[0])
      cli_print_wrapped(stdout, 2, 12, "notes", res.notes);
  }
  for (size_t k = 0; k < n && status == CLI_EXIT_OK; k++) {
    StanceRecording *rec = res.recs[k];
    if (protocol != STANCE_PROTO_UNKNOWN)
      rec->meta.protocol = protocol;
    if (side_given)
      rec->meta.side = side;
    if (athlete)
      snprintf(rec->meta.athlete, sizeof rec->meta.athlete, "%s", athlete);
    stance_error_clear(&err);
    r = stance_file_write(rec, paths[k], &err);
    if (r < 0) {
      cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(r));
      status = CLI_EXIT_INPUT;
      break;
    }
    char what[256];
    snprintf(what, sizeof what, "%s, %zu ch, %s Hz%s, %s samples, %s s",
             stance_layout_name(rec->layout), rec->n_channels, cli_rate_text(rec->sample_rate_hz),
             rec->meta.rate_assumed ? " (assumed)" : "", cli_size(rec->n_samples),
             cli_num(stance_recording_duration(rec), 3));
    printf("  %-10s%s  (%s)\n", "wrote", paths[k], what);
    if (rec->meta.sides_assumed && stance_recording_has_limbs(rec))
      sides_assumed = true;
  }
  if (status == CLI_EXIT_OK && sides_assumed)
    cli_print_wrapped(stdout, 2, 12, "note",
                      "which plate is left was assumed (the file does not say): check with a "
                      "known stance, and import again with --swap-sides or --columns if it is "
                      "the other way round");
  for (size_t k = 0; k < n; k++)
    free(paths[k]);
  free(paths);
  stance_import_result_clear(&res);
  return status;
}
