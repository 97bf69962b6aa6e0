/* cli-report.c: `stance-cli report SESSION -o report.pdf`: the PDF asymmetry report of a stored
 * session (stance-report.h draws it; stance_session_export() fills it from the store).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli-store.h"

#include <getopt.h>
#include <string.h>

static const char *const SUB = "report";

void
cli_report_help(FILE *out)
{
  fputs(
      "Usage: stance-cli report SESSION -o REPORT.pdf [options]\n"
      "\n"
      "Writes the asymmetry report of a stored session as a PDF (A4) for a physiotherapist or\n"
      "coach: the athlete (age at the session, sex, body mass, dominant and involved limb, "
      "injury),\n"
      "the session, then per test (trials of one protocol and side) the key metrics left, right,\n"
      "the asymmetry with its formula, the stronger limb and a traffic light, a "
      "left-against-right\n"
      "force-time overlay, rep-by-rep bars and the quality flags; then the headline asymmetry\n"
      "across the athlete's sessions with its MDC95 band, and notes (docs/report.md).\n"
      "SESSION is a session id, latest or latest:ATHLETE (stance-cli session list shows them).\n"
      "\n"
      "Options:\n"
      "  -o, --output FILE       the PDF (required); replaced if it exists, written atomically\n"
      "      --green PCT         |asymmetry| below PCT is green (default 10)\n"
      "      --red PCT           |asymmetry| above PCT is red, in between amber (default 15);\n"
      "                          0 < green <= red <= 100; for the LSI the distance is 100 - LSI\n"
      "      --notes TEXT        notes printed on the report (default: the session's notes)\n"
      "      --include-rejected  also the rejected trials, marked with their reason (default:\n"
      "                          accepted trials only)\n"
      "      --pseudonymise      the athlete as \"ATH-\" + 8 hex digits, the birth year only, no\n"
      "                          injury notes\n"
      "      --db PATH           the store (default: $STANCE_DB, else\n"
      "                          ~/.local/share/stance/stance.db)\n"
      "  -h, --help              show this text and exit\n"
      "\n"
      "Exit status: 0 written, 1 the store cannot be opened, no such session, or the PDF cannot\n"
      "be written (nothing is left half-written), 2 bad usage.\n"
      "\n"
      "Examples:\n"
      "  stance-cli report 12 -o ana-2026-11-24.pdf\n"
      "  stance-cli report latest:\"Ana Silva\" --green 8 --red 12 -o report.pdf\n"
      "  stance-cli report 12 --pseudonymise --notes \"6 months after ACL reconstruction\" \\\n"
      "      -o report-anonymous.pdf\n",
      out);
}

/* A traffic-light band: a percentage in (0, 100]. */
static bool
parse_band(const char *opt, const char *s, double *out)
{
  if (!cli_parse_double(s, out) || !(*out > 0) || *out > 100) {
    cli_usage_error(SUB,
                    "%s: '%s' is not a band (expected a percentage above 0 and at most 100, "
                    "e.g. 10)",
                    opt, s);
    return false;
  }
  return true;
}

int
cli_report_main(int argc, char **argv)
{
  enum {
    OPT_GREEN = 256,
    OPT_RED,
    OPT_NOTES,
    OPT_REJECTED,
    OPT_PSEUDO,
  };
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"green", required_argument, NULL, OPT_GREEN},
      {"red", required_argument, NULL, OPT_RED},
      {"notes", required_argument, NULL, OPT_NOTES},
      {"include-rejected", no_argument, NULL, OPT_REJECTED},
      {"pseudonymise", no_argument, NULL, OPT_PSEUDO},
      {"pseudonymize", no_argument, NULL, OPT_PSEUDO},
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  StanceExportOptions eo;
  stance_export_options_default(&eo);
  const char *db = NULL, *out_path = NULL;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_report_help(stdout); return CLI_EXIT_OK;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty file name (expected e.g. -o report.pdf)");
      out_path = optarg;
      break;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      db = optarg;
      break;
    case OPT_GREEN:
      if (!parse_band("--green", optarg, &eo.green_below_pct))
        return CLI_EXIT_USAGE;
      break;
    case OPT_RED:
      if (!parse_band("--red", optarg, &eo.red_above_pct))
        return CLI_EXIT_USAGE;
      break;
    case OPT_NOTES:
      if (strlen(optarg) > 4000)
        return cli_usage_error(SUB, "--notes: %zu bytes (expected at most 4000)", strlen(optarg));
      eo.notes = optarg;
      break;
    case OPT_REJECTED: eo.include_rejected = TRUE; break;
    case OPT_PSEUDO: eo.pseudonymise = TRUE; break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no session given (expected a session id, latest or "
                                "latest:ATHLETE; stance-cli session list shows them)");
  if (argc - optind > 1)
    return cli_usage_error(SUB, "unexpected argument '%s' (expected one session)",
                           argv[optind + 1]);
  if (!out_path)
    return cli_usage_error(SUB, "no output file given (expected -o REPORT.pdf)");
  if (eo.green_below_pct > eo.red_above_pct)
    return cli_usage_error(SUB,
                           "--green %s is above --red %s (expected green <= red: below green "
                           "is green, above red is red, amber in between)",
                           cli_num_trim(eo.green_below_pct, 3), cli_num_trim(eo.red_above_pct, 3));

  StanceStore *store = cli_store_open(SUB, db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  StanceSession s;
  stance_session_init(&s);
  StanceAthlete a;
  stance_athlete_init(&a);
  GPtrArray *trials = NULL;
  gint64 sid = cli_find_session(SUB, store, argv[optind]);
  if (sid <= 0) {
    status = CLI_EXIT_INPUT;
  } else if (!stance_store_session_get(store, sid, &s, &error) ||
             !stance_store_athlete_get(store, s.athlete_id, &a, &error) ||
             !(trials = stance_store_trial_list(store, sid, &error)) ||
             !stance_session_export(store, sid, STANCE_EXPORT_PDF, out_path, &eo, &error)) {
    status = cli_gerror(SUB, error);
  } else {
    int shown = 0, rejected = 0;
    for (guint k = 0; k < trials->len; k++) {
      const StanceStoreTrial *t = trials->pdata[k];
      if (t->state == STANCE_TRIAL_RECORDING)
        continue;
      if (t->accepted || eo.include_rejected)
        shown++;
      if (!t->accepted)
        rejected++;
    }
    printf("Wrote %s: report of session %" G_GINT64_FORMAT " (%s, %s), %d trial%s", out_path, sid,
           eo.pseudonymise ? "athlete pseudonymised" : a.name, cli_time_text(s.started_unix_ms),
           shown, shown == 1 ? "" : "s");
    if (rejected && !eo.include_rejected)
      printf(" (%d rejected left out: --include-rejected shows them)", rejected);
    printf("\n");
  }
  if (trials)
    g_ptr_array_unref(trials);
  stance_athlete_clear(&a);
  stance_session_clear(&s);
  stance_store_close(store);
  cli_release_fonts();
  return status;
}
