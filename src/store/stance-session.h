/* stance-session.h: what the CLI and the app do with a stored session: analyse its trials, load it
 * whole, export it (CSV, C3D, JSON, PDF report, bundle) and import a bundle (GLib layer, above the
 * store interface: it never sees SQL).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Analyses are deterministic: a session's analyses are re-run from the raw samples with each
 * trial's stored options (its current analysis run), which gives exactly the stored results; a
 * trial never analysed is analysed with the defaults and the athlete's involved limb.
 *
 * Exports (docs/exports.md):
 *   CSV     PATH is a folder (created): trial-NN-<protocol>[-<side>].csv per trial (time, force per
 *           plate and total, force per cell and raw counts, status) and results.csv (the long
 *           results table of `analyse --format csv`), each opening with "# key: value" metadata
 *           lines (units, rate, calibration, methods). Dot decimals whatever the locale.
 *           With trial_number, PATH is that trial's force-time file.
 *   C3D     PATH is a folder of trial-NN-....c3d files (stance-c3d.h); with trial_number, a file.
 *   JSON    one document, the schema of `stance-cli analyse --format json` (docs/analysis-json.md)
 *           with one analysis per trial, plus a "session" object (athlete, date, trial states).
 *   PDF     the asymmetry report (stance-report.h).
 *   BUNDLE  one file another Stance imports losslessly: a SQLite database in the store's own
 *           schema (application id "STNC", docs/exports.md) holding one session, its athlete, its
 *           trials' raw samples, every analysis run and the calibrations used. pseudonymise
 *           replaces the athlete's name by "ATH-" + 8 hex digits of SHA-256(uuid), keeps only the
 *           birth year, and drops injury notes and session notes (free text).
 * Every export writes to a temporary name and renames at the end: a failed export leaves nothing
 * half-written, and its error names the path and the reason (a full disk included).
 *
 * Threads: like the store, one thread at a time; the app runs these in a GTask.
 */
#pragma once

#include "stance-store.h"

G_BEGIN_DECLS

/* A session loaded whole. */
typedef struct {
  StanceAthlete athlete;
  StanceSession session;
  GPtrArray *trials;     /* StanceStoreTrial*, in number order (only accepted ones when asked) */
  GPtrArray *recordings; /* StanceRecording*, same order */
  GPtrArray *analyses;   /* StanceAnalysis*, same order (re-run with the stored options) */
  GPtrArray *options;    /* gchar*, the options text each analysis was run with */
} StanceSessionData;

/* Loads the session, its athlete and its trials (rejected ones too unless accepted_only), reads
 * every recording and re-runs each analysis. Trials still RECORDING are left out. */
StanceSessionData *stance_session_load(StanceStore *store, gint64 session_id,
                                       gboolean accepted_only, GError **error);
void stance_session_data_free(StanceSessionData *d);

/* Analyses the trial's raw recording with opts (NULL: defaults with the athlete's involved limb)
 * and saves the run as the trial's current analysis. *out (optional) gets the analysis. Returns
 * the analysis id, 0 on error. */
gint64 stance_session_analyse_trial(StanceStore *store, gint64 trial_id,
                                    const StanceAnalysisOptions *opts, StanceAnalysis **out,
                                    GError **error);

typedef enum {
  STANCE_EXPORT_CSV = 0,
  STANCE_EXPORT_C3D,
  STANCE_EXPORT_JSON,
  STANCE_EXPORT_PDF,
  STANCE_EXPORT_BUNDLE,
} StanceExportFormat;

/* "csv", "c3d", "json", "pdf", "bundle"; from_name ignores case. */
const char *stance_export_format_name(StanceExportFormat f);
gboolean stance_export_format_from_name(const char *name, StanceExportFormat *out);

typedef struct {
  int trial_number;          /* 0: every trial; N: only trial N (CSV, C3D, JSON) */
  gboolean include_rejected; /* CSV, C3D, JSON, PDF: rejected trials too (marked) */
  gboolean pseudonymise;     /* BUNDLE, and the athlete shown in CSV/JSON/PDF */
  double green_below_pct;    /* PDF traffic lights: |asymmetry| < green is green (10) */
  double red_above_pct;      /* > red is red (15); in between amber */
  const char *notes;         /* PDF: notes printed on the report; NULL: the session's notes */
  gint64 now_unix_ms;        /* "generated" time on reports (0: now); tests pin it */
} StanceExportOptions;

void stance_export_options_default(StanceExportOptions *o);

/* Writes the session in format f to path (see above). */
gboolean stance_session_export(StanceStore *store, gint64 session_id, StanceExportFormat f,
                               const char *path, const StanceExportOptions *opt, GError **error);

/* Imports a bundle into store: the athlete is matched by uuid (added when new), the session must
 * not exist yet (EXISTS names its date and id), trials keep their uuids, states and raw samples
 * bit for bit, analyses and calibrations are copied. Malformed bundles give
 * STANCE_STORE_ERROR_BUNDLE naming what was wrong. Returns the new session's id, 0 on error. */
gint64 stance_bundle_import(StanceStore *store, const char *path, GError **error);

G_END_DECLS
