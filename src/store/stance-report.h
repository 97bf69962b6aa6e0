/* stance-report.h: the PDF asymmetry report (cairo, A4) for a physiotherapist.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pages (docs/report.md):
 *   1. header: athlete (name, age at the session, sex, body mass, dominant and involved limb,
 * injury date and notes), session date and place, board serial and calibration id, generated time;
 *      the summary: one line per test with its headline asymmetry and traffic light.
 *   per test (trials of one protocol and side grouped, e.g. left and right single-leg CMJs):
 *      a table of the key metrics: left, right, asymmetry with its formula id, the stronger limb
 *      and a traffic light (|asymmetry| < green_below_pct green, > red_above_pct red, else amber;
 *      for LSI the distance is |100 - LSI|); the formula written out under the table;
 *      left-vs-right force-time overlay of one representative trial (the median of the headline
 *      metric) with its events marked; rep-by-rep bars of the headline metric per limb;
 *      the quality flags.
 *   trends: per test, the headline asymmetry across the athlete's sessions with the MDC95 band
 *      around the first session, and each session's point coloured by its traffic light.
 *   notes.
 * Everything is drawn by us with cairo (no external renderer); text is UTF-8 through cairo's toy
 * font API with the "DejaVu Sans" family (fonts-dejavu-core).
 *
 * Plain C plus cairo, no GLib (it sits in src/store/ because it reads what the store holds; the
 * model below is filled by stance-session.c, and by the tests and the benchmark directly).
 * Threads: reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-analysis.h"
#include "stance-error.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One stored trial in the report. */
typedef struct {
  int number;                 /* the trial's number in the session */
  const StanceRecording *rec; /* for the overlays */
  const StanceAnalysis *an;   /* its analysis */
  bool accepted;
  const char *reject_reason; /* NULL when accepted */
  bool interrupted;          /* recording was interrupted (recovered) */
} StanceReportTrial;

/* One point of a trend: a session's mean asymmetry of the headline metric. */
typedef struct {
  int64_t started_unix_ms;
  double asym; /* in the formula's unit */
  StanceSide stronger;
  double left, right; /* means, for the tooltip-like labels */
  bool has_left, has_right;
  bool is_this_session;
} StanceReportTrendPoint;

typedef struct {
  StanceProtocol protocol;
  char metric[32];
  char unit[12];
  char formula[24];
  const StanceReportTrendPoint *points; /* oldest first */
  size_t n_points;
  bool has_mdc;
  double mdc95; /* of the asymmetry, same unit */
} StanceReportTrend;

typedef struct {
  /* Athlete */
  const char *athlete_name;
  const char *birth_date;   /* "YYYY-MM-DD" or NULL */
  bool birth_year_only;     /* pseudonymised: print only the year */
  const char *sex;          /* "female", ... or NULL */
  double body_mass_kg;      /* <= 0: unknown */
  StanceSide dominant;      /* BOTH: unknown */
  StanceSide involved;      /* BOTH: none */
  const char *injury_date;  /* NULL or "" when none */
  const char *injury_notes; /* NULL when none */
  /* Session */
  int64_t session_unix_ms;
  const char *place;        /* NULL when none */
  const char *board_serial; /* NULL when not from a board */
  const char *calibration_id;
  const StanceReportTrial *trials;
  size_t n_trials;
  const StanceReportTrend *trends;
  size_t n_trends;
  const char *notes;      /* NULL when none */
  double green_below_pct; /* 10 */
  double red_above_pct;   /* 15 */
  int64_t generated_unix_ms;
  const char *generator; /* "Stance 0.1.0" */
} StanceReport;

typedef enum {
  STANCE_LIGHT_GREEN = 0,
  STANCE_LIGHT_AMBER,
  STANCE_LIGHT_RED,
} StanceLight;

/* The traffic light of an asymmetry value in formula f (by name): the distance from symmetry
 * (|value| for the signed and percent formulas, |100 - value| for lsi) against the bands. */
StanceLight stance_report_light(const char *formula, double value, double green_below_pct,
                                double red_above_pct);
const char *stance_light_name(StanceLight l); /* "green", "amber", "red" */

/* The headline metric of a protocol (the one on the summary line, the bars and the trend): a
 * per-limb metric, so that it has an asymmetry: net impulse for bilateral jumps and hops, jump
 * height for single-leg jumps, RSI for single-leg hops, peak force for isometrics and reps,
 * weight bearing for standing, CoP path length for balance (docs/report.md lists them). */
const char *stance_report_headline_metric(StanceProtocol p);

/* Checks the bands (0 < green <= red <= 100) and the model; writes the PDF atomically. */
int stance_report_write_pdf(const StanceReport *r, const char *path, StanceError *err);

#ifdef __cplusplus
}
#endif
