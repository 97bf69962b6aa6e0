/* cli-store.h: what the stance-cli subcommands that use the session store share (GLib layer).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every store subcommand takes `--db PATH` (default: $STANCE_DB, else
 * ~/.local/share/stance/stance.db: stance_store_default_path()). Opening the store recovers
 * trials interrupted by a crash and says so on stderr, one line per trial:
 *   "stance-cli <sub>: recovered interrupted trial 3 of session 12 (Ana Silva): 14.20 s kept"
 *
 * Threads: the CLI is single-threaded.
 */
#pragma once

#include <glib.h>

#include "cli-common.h"
#include "stance-session.h"
#include "stance-store.h"

int cli_athlete_main(int argc, char **argv);
int cli_session_main(int argc, char **argv);
int cli_report_main(int argc, char **argv);
int cli_export_main(int argc, char **argv);
int cli_import_bundle_main(int argc, char **argv);
int cli_trend_main(int argc, char **argv);
int cli_calibrate_main(int argc, char **argv);

void cli_athlete_help(FILE *out);
void cli_session_help(FILE *out);
void cli_report_help(FILE *out);
void cli_export_help(FILE *out);
void cli_import_bundle_help(FILE *out);
void cli_trend_help(FILE *out);
void cli_calibrate_help(FILE *out);

/* getopt_long() value of --db in every store subcommand. */
#define CLI_OPT_DB 900

/* Opens the store at db (NULL: the default), printing recovered trials. On failure prints
 * "stance-cli <sub>: <message>" and returns NULL. */
StanceStore *cli_store_open(const char *sub, const char *db, StanceStoreFlags flags);

/* Prints a GError as "stance-cli <sub>: <message>" and frees it; returns CLI_EXIT_INPUT. */
int cli_gerror(const char *sub, GError *error);

/* Resolves an athlete given by id, uuid or name; prints the error (NOT_FOUND, AMBIGUOUS with the
 * candidates' ids) and returns FALSE. */
gboolean cli_find_athlete(const char *sub, StanceStore *store, const char *key, StanceAthlete *out);

/* Resolves a session given as a decimal id, or "latest" / "latest:<athlete>"; prints the error
 * and returns 0. */
gint64 cli_find_session(const char *sub, StanceStore *store, const char *key);

/* "2026-11-24 09:30" in local time (static buffer from the cli_num() ring). */
const char *cli_time_text(gint64 unix_ms);

/* ---- Helpers shared by the store subcommands (cli-store.c) ---- */

/* One metric of a stored analysis run, averaged over its reps (rep >= 1): the means of the reps
 * with a value, and the asymmetry by the run's formula of the mean left and mean right of the reps
 * that have both (as `analyse` computes its summary). */
typedef struct {
  char metric[32];
  char unit[12];
  int n; /* reps with a value */
  gboolean has_left, has_right, has_total, has_asym;
  double left, right, total;
  double asym;
  char formula[24];
  StanceSide stronger;
} CliMetricMean;

/* The current analysis of a stored trial, in short. */
typedef struct {
  gint64 analysis_id;
  gint64 created_unix_ms;
  gchar *options;            /* the run's options text */
  StanceAsymFormula formula; /* resolved (never DEFAULT) */
  StanceSide involved;
  int n_reps;      /* analysis trials (jumps, reps, ...) */
  char kind[16];   /* their kind ("jump", "rep", ...) */
  GArray *metrics; /* CliMetricMean, first-seen order */
} CliTrialResults;

/* Fills out from the trial's current analysis. NOT_FOUND when it was never analysed. */
gboolean cli_trial_results(StanceStore *store, const StanceStoreTrial *trial, CliTrialResults *out,
                           GError **error);
void cli_trial_results_clear(CliTrialResults *r);
const CliMetricMean *cli_trial_results_find(const CliTrialResults *r, const char *metric);

/* The metrics worth a line for protocol p (headline first, then per-limb metrics with an
 * asymmetry), those present in r; at most max. Returns how many. */
size_t cli_key_metrics(StanceProtocol p, const CliTrialResults *r, const char **ids, size_t max);

/* "3 jumps", "1 rep", "no jump found": how many analysis trials a stored run found, named by
 * their kind (or the protocol's family when none was found). From a small static ring. */
const char *cli_reps_text(StanceProtocol p, const CliTrialResults *r);

/* A value in display units (heights and distances in cm, durations in ms, as `analyse` tables
 * show them) with a sensible number of decimals; *unit gets the display unit. From the cli_num()
 * ring. */
const char *cli_display_value(double v, const char *si_unit, const char **unit);

/* "10.2 % lr_sum (left stronger)", "94.1 % lsi (right stronger)" into buf. */
const char *cli_asym_value_text(char *buf, size_t n, double value, const char *formula,
                                StanceSide stronger);

/* Left against right over the accepted, analysed trials of a one-sided protocol in a session:
 * each limb's value is the mean over the trials of that side (the stance limb's own value), the
 * asymmetry by the formula of those trials' analyses. */
typedef struct {
  StanceProtocol protocol;
  char metric[32];
  char unit[12];
  int n_left, n_right; /* trials of each side with a value */
  double left, right;
  gboolean has_asym;
  double asym;
  char formula[24];
  StanceSide stronger;
} CliSideComparison;

/* Comparisons for every one-sided protocol of the session with trials on both sides, key metrics
 * only (GArray of CliSideComparison; empty when there is none). */
GArray *cli_session_side_comparisons(StanceStore *store, gint64 session_id, GError **error);

/* key + text, or key + null when s is NULL or empty (invalid UTF-8 written as U+FFFD). */
void cli_json_kv_nullable(StanceJson *j, const char *key, const char *s);
/* Ends a JSON document (stance_json_finish), printing the error; returns an exit code. */
int cli_json_end(const char *sub, StanceJson *j);

/* Frees cairo's and fontconfig's process-wide caches after a PDF was drawn (report, export pdf):
 * the CLI exits next, and leak checkers would otherwise report fontconfig's allocations. Call
 * only when no cairo object is alive. */
void cli_release_fonts(void);
