/* cli-export.c: `stance-cli export SESSION --format F -o PATH` (CSV, C3D, JSON, PDF or a session
 * bundle) and `stance-cli import-bundle FILE` (a bundle from another Stance into this store).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The work is stance_session_export() and stance_bundle_import() (stance-session.h,
 * docs/exports.md); this file checks the options, resolves the session and trial, and says what
 * was written or imported.
 */
#include "cli-store.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

static const char *const SUB = "export";
static const char *const SUB_IMPORT = "import-bundle";

void
cli_export_help(FILE *out)
{
  fputs("Usage: stance-cli export SESSION --format csv|c3d|json|pdf|bundle -o PATH [options]\n"
        "\n"
        "Exports a stored session (docs/exports.md). SESSION is a session id, latest or\n"
        "latest:ATHLETE (stance-cli session list shows them). Formats:\n"
        "  csv     PATH is a folder (created): trial-NN-<protocol>[-<side>].csv per trial (time,\n"
        "          force per plate and total, force and raw counts per cell, status) and\n"
        "          results.csv (every metric of every trial); '#' metadata lines first, dot\n"
        "          decimals in every locale. With --trial N, PATH is that trial's CSV file\n"
        "  c3d     PATH is a folder of trial-NN-....c3d files (force plates as analog channels);\n"
        "          with --trial N, PATH is that trial's .c3d file\n"
        "  json    one document: `analyse --format json` with one analysis per trial, plus the\n"
        "          session (athlete, date, trial states)\n"
        "  pdf     the asymmetry report (as `stance-cli report`)\n"
        "  bundle  one file holding the session losslessly (athlete, raw samples, every analysis\n"
        "          run, calibrations) for another Stance: stance-cli import-bundle FILE\n"
        "Every file is written under a temporary name and renamed at the end: a failed export\n"
        "leaves nothing half-written.\n"
        "\n"
        "Options:\n"
        "      --format F          csv, c3d, json, pdf or bundle (required)\n"
        "  -o, --output PATH       the file or folder to write (required); replaced if it exists\n"
        "      --trial N           csv, c3d, json: only trial N of the session\n"
        "      --include-rejected  csv, c3d, json, pdf: the rejected trials too (marked)\n"
        "      --pseudonymise      the athlete as \"ATH-\" + 8 hex digits of a hash of their id,\n"
        "                          the birth year only, no injury or session notes (bundle: also\n"
        "                          the stored athlete; CSV, JSON, PDF: the athlete shown)\n"
        "      --green PCT, --red PCT, --notes TEXT\n"
        "                          pdf: as for `stance-cli report`\n"
        "      --db PATH           the store (default: $STANCE_DB, else\n"
        "                          ~/.local/share/stance/stance.db)\n"
        "  -h, --help              show this text and exit\n"
        "\n"
        "Exit status: 0 written, 1 the store cannot be opened, no such session or trial, or the\n"
        "output cannot be written, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  stance-cli export 12 --format csv -o session-12/\n"
        "  stance-cli export 12 --format csv --trial 2 -o trial-2.csv\n"
        "  stance-cli export 12 --format c3d -o c3d/\n"
        "  stance-cli export 12 --format json -o session-12.json\n"
        "  stance-cli export 12 --format bundle --pseudonymise -o ana.stance-session\n"
        "  stance-cli import-bundle ana.stance-session --db other.db\n",
        out);
}

void
cli_import_bundle_help(FILE *out)
{
  fputs(
      "Usage: stance-cli import-bundle FILE [--db PATH]\n"
      "\n"
      "Imports a session bundle written by `stance-cli export --format bundle` (on this or\n"
      "another installation) into the store: the athlete is matched by their uuid (added when\n"
      "new), the session is added with its trials (raw samples bit for bit, states, acceptance\n"
      "and notes), every analysis run and the calibrations used. A session already in the store\n"
      "is refused. Prints the new session's id and what was imported.\n"
      "\n"
      "Options:\n"
      "      --db PATH     the store (default: $STANCE_DB, else ~/.local/share/stance/stance.db)\n"
      "  -h, --help        show this text and exit\n"
      "\n"
      "Exit status: 0 imported, 1 the file is not a valid bundle (the message says what is\n"
      "wrong), the session is already there, or the store cannot be written, 2 bad usage.\n"
      "\n"
      "Examples:\n"
      "  stance-cli import-bundle ana.stance-session\n"
      "  stance-cli import-bundle ana.stance-session --db clinic.db\n",
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

static int
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files a folder export wrote, sorted, as "a.csv, b.csv". */
static gchar *
folder_listing(const char *path, int *n_files)
{
  *n_files = 0;
  GDir *dir = g_dir_open(path, 0, NULL);
  if (!dir)
    return g_strdup("?");
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)))
    g_ptr_array_add(names, g_strdup(name));
  g_dir_close(dir);
  g_ptr_array_sort(names, compare_names);
  GString *s = g_string_new(NULL);
  for (guint k = 0; k < names->len; k++)
    g_string_append_printf(s, "%s%s", k ? ", " : "", (char *)names->pdata[k]);
  *n_files = (int)names->len;
  g_ptr_array_unref(names);
  return g_string_free(s, FALSE);
}

int
cli_export_main(int argc, char **argv)
{
  enum {
    OPT_FORMAT = 256,
    OPT_TRIAL,
    OPT_REJECTED,
    OPT_PSEUDO,
    OPT_GREEN,
    OPT_RED,
    OPT_NOTES,
  };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, OPT_FORMAT},
      {"output", required_argument, NULL, 'o'},
      {"trial", required_argument, NULL, OPT_TRIAL},
      {"include-rejected", no_argument, NULL, OPT_REJECTED},
      {"pseudonymise", no_argument, NULL, OPT_PSEUDO},
      {"pseudonymize", no_argument, NULL, OPT_PSEUDO},
      {"green", required_argument, NULL, OPT_GREEN},
      {"red", required_argument, NULL, OPT_RED},
      {"notes", required_argument, NULL, OPT_NOTES},
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  StanceExportOptions eo;
  stance_export_options_default(&eo);
  const char *db = NULL, *out_path = NULL, *pdf_option = NULL;
  StanceExportFormat fmt = STANCE_EXPORT_CSV;
  bool fmt_given = false;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_export_help(stdout); return CLI_EXIT_OK;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty path (expected a file or folder to write)");
      out_path = optarg;
      break;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      db = optarg;
      break;
    case OPT_FORMAT:
      if (!stance_export_format_from_name(optarg, &fmt))
        return cli_usage_error(SUB,
                               "--format: '%s' is not an export format (expected csv, c3d, "
                               "json, pdf or bundle)",
                               optarg);
      fmt_given = true;
      break;
    case OPT_TRIAL: {
      long v;
      if (!cli_parse_long(optarg, 1, 100000, &v))
        return cli_usage_error(SUB,
                               "--trial: '%s' is not a trial number (expected 1, 2, ...: "
                               "stance-cli session show lists them)",
                               optarg);
      eo.trial_number = (int)v;
      break;
    }
    case OPT_REJECTED: eo.include_rejected = TRUE; break;
    case OPT_PSEUDO: eo.pseudonymise = TRUE; break;
    case OPT_GREEN:
      if (!parse_band("--green", optarg, &eo.green_below_pct))
        return CLI_EXIT_USAGE;
      pdf_option = "--green";
      break;
    case OPT_RED:
      if (!parse_band("--red", optarg, &eo.red_above_pct))
        return CLI_EXIT_USAGE;
      pdf_option = "--red";
      break;
    case OPT_NOTES:
      if (strlen(optarg) > 4000)
        return cli_usage_error(SUB, "--notes: %zu bytes (expected at most 4000)", strlen(optarg));
      eo.notes = optarg;
      pdf_option = "--notes";
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no session given (expected a session id, latest or "
                                "latest:ATHLETE; stance-cli session list shows them)");
  if (argc - optind > 1)
    return cli_usage_error(SUB, "unexpected argument '%s' (expected one session)",
                           argv[optind + 1]);
  if (!fmt_given)
    return cli_usage_error(SUB, "no format given (expected --format csv, c3d, json, pdf or "
                                "bundle)");
  if (!out_path)
    return cli_usage_error(SUB, "no output given (expected -o PATH: %s)",
                           fmt == STANCE_EXPORT_CSV || fmt == STANCE_EXPORT_C3D
                               ? "a folder, or a file with --trial N"
                               : "a file");
  if (eo.trial_number && (fmt == STANCE_EXPORT_PDF || fmt == STANCE_EXPORT_BUNDLE))
    return cli_usage_error(SUB,
                           "--trial applies to csv, c3d and json (a %s holds the whole "
                           "session)",
                           fmt == STANCE_EXPORT_PDF ? "report" : "bundle");
  if (eo.include_rejected && fmt == STANCE_EXPORT_BUNDLE)
    return cli_usage_error(SUB, "--include-rejected: a bundle always holds every trial with its "
                                "acceptance (expected no --include-rejected with --format "
                                "bundle)");
  if (pdf_option && fmt != STANCE_EXPORT_PDF)
    return cli_usage_error(SUB, "%s applies to --format pdf", pdf_option);
  if (eo.green_below_pct > eo.red_above_pct)
    return cli_usage_error(SUB, "--green %s is above --red %s (expected green <= red)",
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
    goto done;
  }
  if (!stance_store_session_get(store, sid, &s, &error) ||
      !stance_store_athlete_get(store, s.athlete_id, &a, &error) ||
      !(trials = stance_store_trial_list(store, sid, &error))) {
    status = cli_gerror(SUB, error);
    goto done;
  }
  int n_exported = 0, n_rejected = 0;
  bool trial_found = false;
  for (guint k = 0; k < trials->len; k++) {
    const StanceStoreTrial *t = trials->pdata[k];
    if (t->state == STANCE_TRIAL_RECORDING)
      continue;
    if (eo.trial_number && t->number != eo.trial_number)
      continue;
    trial_found = true;
    if (!t->accepted)
      n_rejected++;
    if (t->accepted || eo.include_rejected || fmt == STANCE_EXPORT_BUNDLE)
      n_exported++;
  }
  if (eo.trial_number && !trial_found) {
    cli_error(SUB,
              "session %" G_GINT64_FORMAT " has no trial %d (expected one of the numbers "
              "stance-cli session show %" G_GINT64_FORMAT " lists)",
              sid, eo.trial_number, sid);
    status = CLI_EXIT_INPUT;
    goto done;
  }
  if (!stance_session_export(store, sid, fmt, out_path, &eo, &error)) {
    status = cli_gerror(SUB, error);
    goto done;
  }
  const char *who = eo.pseudonymise ? "athlete pseudonymised" : a.name;
  struct stat sb;
  bool folder = stat(out_path, &sb) == 0 && S_ISDIR(sb.st_mode);
  printf("Exported session %" G_GINT64_FORMAT " (%s, %s) as %s to %s%s: %d trial%s", sid, who,
         cli_time_text(s.started_unix_ms), stance_export_format_name(fmt), out_path,
         folder && !g_str_has_suffix(out_path, "/") ? "/" : "", n_exported,
         n_exported == 1 ? "" : "s");
  if (n_rejected && !eo.include_rejected && fmt != STANCE_EXPORT_BUNDLE)
    printf(" (%d rejected left out: --include-rejected adds them)", n_rejected);
  printf("\n");
  if (folder) {
    int n_files;
    gchar *list = folder_listing(out_path, &n_files);
    printf("  %d file%s: %s\n", n_files, n_files == 1 ? "" : "s", list);
    g_free(list);
  } else if (stat(out_path, &sb) == 0) {
    printf("  %s bytes\n", cli_size((size_t)sb.st_size));
  }
done:
  if (trials)
    g_ptr_array_unref(trials);
  stance_athlete_clear(&a);
  stance_session_clear(&s);
  stance_store_close(store);
  if (fmt == STANCE_EXPORT_PDF)
    cli_release_fonts();
  return status;
}

int
cli_import_bundle_main(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *db = NULL;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_import_bundle_help(stdout); return CLI_EXIT_OK;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB_IMPORT, "--db: empty path (expected the database file)");
      db = optarg;
      break;
    default: return cli_getopt_error(SUB_IMPORT, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB_IMPORT, "no bundle given (expected the FILE that stance-cli "
                                       "export --format bundle wrote)");
  if (argc - optind > 1)
    return cli_usage_error(SUB_IMPORT, "unexpected argument '%s' (expected one bundle)",
                           argv[optind + 1]);
  const char *path = argv[optind];
  struct stat sb;
  if (stat(path, &sb) != 0) {
    cli_error(SUB_IMPORT, "cannot open %s: %s", path, g_strerror(errno));
    return CLI_EXIT_INPUT;
  }
  if (S_ISDIR(sb.st_mode)) {
    cli_error(SUB_IMPORT, "%s is a folder (expected a session bundle file)", path);
    return CLI_EXIT_INPUT;
  }
  StanceStore *store = cli_store_open(SUB_IMPORT, db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  if (db && cli_same_file(db, path)) {
    stance_store_close(store);
    return cli_usage_error(SUB_IMPORT, "%s is the store itself (expected a bundle)", path);
  }
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  GPtrArray *before = NULL, *trials = NULL;
  StanceSession s;
  stance_session_init(&s);
  StanceAthlete a;
  stance_athlete_init(&a);
  /* The athletes before the import, to say whether the bundle's athlete was new. */
  if (!(before = stance_store_athlete_list(store, &error))) {
    status = cli_gerror(SUB_IMPORT, error);
    goto done;
  }
  gint64 sid = stance_bundle_import(store, path, &error);
  if (sid <= 0) {
    status = cli_gerror(SUB_IMPORT, error);
    goto done;
  }
  if (!stance_store_session_get(store, sid, &s, &error) ||
      !stance_store_athlete_get(store, s.athlete_id, &a, &error) ||
      !(trials = stance_store_trial_list(store, sid, &error))) {
    status = cli_gerror(SUB_IMPORT, error);
    goto done;
  }
  bool known = false;
  for (guint k = 0; k < before->len; k++)
    known |= ((StanceAthlete *)before->pdata[k])->id == a.id;
  int accepted = 0, interrupted = 0, analysed = 0;
  GPtrArray *protocols = g_ptr_array_new();
  for (guint k = 0; k < trials->len; k++) {
    const StanceStoreTrial *t = trials->pdata[k];
    accepted += t->accepted ? 1 : 0;
    interrupted += t->state == STANCE_TRIAL_INTERRUPTED ? 1 : 0;
    StanceStoreAnalysis an;
    memset(&an, 0, sizeof an);
    if (stance_store_analysis_current(store, t->id, &an, NULL)) {
      analysed++;
      stance_store_analysis_clear(&an);
    }
    const char *pn = stance_protocol_name(t->protocol);
    bool seen = false;
    for (guint q = 0; q < protocols->len; q++)
      seen |= strcmp(protocols->pdata[q], pn) == 0;
    if (!seen)
      g_ptr_array_add(protocols, (gpointer)pn);
  }
  g_ptr_array_sort(protocols, compare_names);
  printf("Imported session %" G_GINT64_FORMAT " from %s\n", sid, path);
  printf("  %-14s%s (id %" G_GINT64_FORMAT ", %s%s)\n", "athlete", a.name, a.id,
         known ? "already in the store, matched by uuid" : "new",
         a.pseudonymised ? ", pseudonymised" : "");
  printf("  %-14s%s\n", "date", cli_time_text(s.started_unix_ms));
  printf("  %-14s%u (%d accepted, %u rejected, %d interrupted), %d analysed\n", "trials",
         trials->len, accepted, trials->len - (guint)accepted, interrupted, analysed);
  printf("  %-14s", "protocols");
  for (guint q = 0; q < protocols->len; q++)
    printf("%s%s", q ? ", " : "", (const char *)protocols->pdata[q]);
  printf("%s\n", protocols->len ? "" : "-");
  g_ptr_array_unref(protocols);
done:
  if (before)
    g_ptr_array_unref(before);
  if (trials)
    g_ptr_array_unref(trials);
  stance_athlete_clear(&a);
  stance_session_clear(&s);
  stance_store_close(store);
  return status;
}
