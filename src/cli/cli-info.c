/* cli-info.c: `stance-cli info FILE...`: what a .stance recording or an importable text file holds.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A file is a .stance recording when it starts with the .stance magic, whatever its name; anything
 * else goes through the text importer in memory with the given options. Every file is described
 * even when an earlier one failed; the exit status is 1 when any failed.
 */
#include "cli-common.h"
#include "cli-describe.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stance-file.h"
#include "stance-import.h"
#include "stance-json.h"

static const char *const SUB = "info";

/* Version of the `info --json` document; bump on incompatible changes. */
#define INFO_JSON_VERSION 1

typedef struct {
  double rate_hz;
  const char *columns;
  long skip_lines;
  bool json;
} InfoOptions;

void
cli_info_help(FILE *out)
{
  fputs(
      "Usage: stance-cli info [options] FILE...\n"
      "\n"
      "Describes each FILE: a .stance recording (recognised by its content, not its name) or any\n"
      "text file the importer reads (imported in memory; nothing is written). For every recording\n"
      "(one block per trial for multi-trial text files) it prints: format and layout, source,\n"
      "protocol/side/athlete when known, sample rate (marked when assumed), duration, samples,\n"
      "channels, plates (left/right or combined, marked when the sides are assumed), calibration\n"
      "id, the mean force of each plate over the first second (N and % of the total: in quiet\n"
      "standing the total is body weight), gaps, saturated samples, and whether centre of\n"
      "pressure is available.\n"
      "\n"
      "Options (text files only; a .stance file carries its own):\n"
      "      --rate HZ         sample rate; wins over a time column (default: from the time\n"
      "                        column; without one, 1000 Hz, flagged as assumed)\n"
      "      --columns MAP     column mapping, e.g. \"left=fp1,right=fp2\", \"total=Fz\",\n"
      "                        \"time=1,l1=2,...,r4=9\"; names or 1-based numbers (default: "
      "detect)\n"
      "      --skip-lines N    lines to skip before the header or data (default: detect)\n"
      "Output:\n"
      "      --json            one JSON object instead of text (\"stance_cli_info\": 1 is its\n"
      "                        version; numbers in SI units, unrounded)\n"
      "  -h, --help            show this text and exit\n"
      "\n"
      "Exit status: 0 when every file was described, 1 when any could not be read or parsed\n"
      "(the others are still described), 2 on bad usage.\n"
      "\n"
      "Examples:\n"
      "  stance-cli info session.stance\n"
      "  stance-cli info --rate 1200 subject01_trial1.force.txt\n"
      "  stance-cli info --json *.stance > summary.json\n",
      out);
}

/* Loads path with the importer options the user gave. */
static int
load(const char *path, const InfoOptions *o, CliLoaded *ld, StanceError *err)
{
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  if (o->rate_hz > 0)
    opt.rate_hz = o->rate_hz;
  opt.columns = o->columns;
  if (o->skip_lines >= 0)
    opt.skip_lines = (int)o->skip_lines;
  return cli_load(path, &opt, ld, err);
}

static void
print_text(const char *path, const CliLoaded *ld)
{
  const int vc = 20; /* value column */
  printf("%s\n", path);
  if (ld->is_stance) {
    printf("  %-18sStance recording (.stance version %u.%u)\n", "format", ld->version_major,
           ld->version_minor);
    cli_describe_text(stdout, ld->rec, 2, vc, true);
    return;
  }
  size_t n = ld->imp.n_recs;
  if (n == 1)
    printf("  %-18s%s\n", "format", "text file, imported in memory");
  else
    printf("  %-18stext file with %zu trials, imported in memory\n", "format", n);
  if (ld->imp.notes[0])
    cli_print_wrapped(stdout, 2, vc, "import notes", ld->imp.notes);
  if (n == 1) {
    cli_describe_text(stdout, ld->imp.recs[0], 2, vc, false);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    printf("  trial %zu of %zu\n", k + 1, n);
    cli_describe_text(stdout, ld->imp.recs[k], 4, vc, false);
  }
}

static void
json_file(StanceJson *j, const char *path, const CliLoaded *ld, const StanceError *err)
{
  stance_json_begin_object(j);
  cli_json_kv_text(j, "file", path);
  if (err) {
    stance_json_key(j, "error");
    stance_json_begin_object(j);
    stance_json_kv_string(j, "kind", stance_strerror(err->code));
    cli_json_kv_text(j, "message", err->message);
    stance_json_end_object(j);
    stance_json_end_object(j);
    return;
  }
  stance_json_kv_string(j, "format", ld->is_stance ? "stance" : "text");
  if (ld->is_stance) {
    char v[32];
    snprintf(v, sizeof v, "%u.%u", ld->version_major, ld->version_minor);
    stance_json_kv_string(j, "format_version", v);
  }
  if (!ld->is_stance) {
    cli_json_kv_text(j, "import_notes", ld->imp.notes);
  }
  stance_json_key(j, "recordings");
  stance_json_begin_array(j);
  size_t n = ld->is_stance ? 1 : ld->imp.n_recs;
  for (size_t k = 0; k < n; k++) {
    const StanceRecording *rec = ld->is_stance ? ld->rec : ld->imp.recs[k];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "trial", (int64_t)k + 1);
    cli_describe_json(j, rec);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
}

int
cli_info_main(int argc, char **argv)
{
  enum { OPT_RATE = 256, OPT_COLUMNS, OPT_SKIP, OPT_JSON };
  static const struct option longopts[] = {
      {"rate", required_argument, NULL, OPT_RATE},
      {"columns", required_argument, NULL, OPT_COLUMNS},
      {"skip-lines", required_argument, NULL, OPT_SKIP},
      {"json", no_argument, NULL, OPT_JSON},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  InfoOptions o = {.rate_hz = 0, .columns = NULL, .skip_lines = -1, .json = false};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_info_help(stdout); return CLI_EXIT_OK;
    case OPT_RATE:
      if (!cli_parse_double(optarg, &o.rate_hz) || !(o.rate_hz > 0) || o.rate_hz > 1e6)
        return cli_usage_error(SUB, "--rate: '%s' is not a sample rate (expected hertz, e.g. 1000)",
                               optarg);
      break;
    case OPT_COLUMNS:
      if (!*optarg)
        return cli_usage_error(SUB, "--columns: empty mapping (expected e.g. left=fp1,right=fp2)");
      o.columns = optarg;
      break;
    case OPT_SKIP:
      if (!cli_parse_long(optarg, 0, 1000000, &o.skip_lines))
        return cli_usage_error(SUB, "--skip-lines: '%s' is not a line count (expected 0 or more)",
                               optarg);
      break;
    case OPT_JSON: o.json = true; break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no file given (expected one or more .stance or text files)");

  int status = CLI_EXIT_OK;
  StanceJson *j = NULL;
  if (o.json) {
    j = stance_json_new(stdout, true);
    if (!j) {
      cli_error(SUB, "out of memory");
      return CLI_EXIT_INPUT;
    }
    stance_json_begin_object(j);
    stance_json_kv_int(j, "stance_cli_info", INFO_JSON_VERSION);
    stance_json_key(j, "files");
    stance_json_begin_array(j);
  }
  bool warned_opts = false;
  for (int k = optind; k < argc; k++) {
    const char *path = argv[k];
    CliLoaded ld;
    StanceError err;
    stance_error_clear(&err);
    int r = load(path, &o, &ld, &err);
    if (r < 0) {
      cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(r));
      status = CLI_EXIT_INPUT;
      if (j)
        json_file(j, path, NULL, &err);
      cli_unload(&ld);
      continue;
    }
    if (ld.is_stance && !warned_opts && (o.rate_hz > 0 || o.columns || o.skip_lines >= 0)) {
      cli_error(SUB,
                "note: --rate, --columns and --skip-lines apply to text files only; %s is a "
                ".stance recording and carries its own",
                path);
      warned_opts = true;
    }
    if (j) {
      json_file(j, path, &ld, NULL);
    } else {
      if (k > optind)
        putchar('\n');
      print_text(path, &ld);
    }
    cli_unload(&ld);
  }
  if (j) {
    stance_json_end_array(j);
    stance_json_end_object(j);
    StanceError err;
    stance_error_clear(&err);
    if (stance_json_finish(j, &err) < 0) {
      cli_error(SUB, "JSON output: %s", err.message);
      status = CLI_EXIT_INPUT;
    }
  }
  return status;
}
