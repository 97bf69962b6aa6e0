/* stance-calib-private.h: helpers shared by the calibration sources.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   stance-calib-plan.c     plans: building, text format, validation, names of cells and steps
 *   stance-calib-segment.c  finding steps in a recorded session; averaging each step
 *   stance-calib-fit.c      offsets and gains by least squares with standard errors
 *   stance-calib-verify.c   verification figures and per-cell fault diagnostics
 *   stance-calib.c          options, records, ids, the whole run, JSON, drift
 *
 * Threads: everything here is reentrant.
 */
#pragma once

#include "stance-calib.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Positions closer than this are the same position (mm). */
#define STANCE_CALIB_SAME_POS_MM 1e-6

/* geometry, or the default geometry in *tmp when geometry is NULL. */
const StanceCalibration *_stance_calib_geometry(const StanceCalibration *geometry,
                                                StanceCalibration *tmp);

/* Mean |x| and mean |y| of a plate's cells (the half-spans a, b of the cell rectangle), mm. */
void _stance_calib_half_spans(const StancePlateGeometry *g, double *a, double *b);

/* "left" for plate 0, "right" for plate 1. */
static inline const char *
_stance_calib_plate_name(int plate)
{
  return plate == 0 ? "left" : "right";
}

/* The same position on a plate: both coordinates within STANCE_CALIB_SAME_POS_MM. */
static inline bool
_stance_calib_same_point(double xa, double ya, double xb, double yb)
{
  return fabs(xa - xb) <= STANCE_CALIB_SAME_POS_MM && fabs(ya - yb) <= STANCE_CALIB_SAME_POS_MM;
}

/* Same plate and position. */
static inline bool
_stance_calib_same_position(const StanceCalibStep *s, int plate, double x, double y)
{
  return s->plate == plate && _stance_calib_same_point(s->x_mm, s->y_mm, x, y);
}

/* The lowest channel whose saturation bit is set in status word st (STANCE_N_CELLS when none). */
static inline int
_stance_calib_railed_channel(uint16_t st)
{
  int c = 0;
  while (c < STANCE_N_CELLS && !(st & (1u << c)))
    c++;
  return c;
}

/* Largest force the plan applies to plate: max mass * g (N); 0 when none. */
double _stance_calib_full_scale_n(const StanceCalibPlan *plan, int plate, double g);

/* Lightest mass of any loaded step (kg); 0 when none. */
double _stance_calib_min_mass_kg(const StanceCalibPlan *plan);

/* Index of the last ZERO step at or before step k (the plan's first step is ZERO). */
size_t _stance_calib_zero_before(const StanceCalibPlan *plan, size_t k);

/* The zero of loaded step k, as weights of two ZERO steps: the one before k's run (*za, weight
 * *wa) and the one after it (*zb, *wb; the same as *za when the plan ends without one),
 * interpolated linearly in time at the middle of each step's averaged samples. This follows slow
 * drift through the session; a ZERO step k gets itself with weight 1. */
void _stance_calib_zero_weights(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
                                size_t k, size_t *za, double *wa, size_t *zb, double *wb);

/* mean counts of channel c at step k minus the zero of step k (above). */
static inline double
_stance_calib_delta(const StanceCalibPlan *plan, const StanceCalibStepData *steps, size_t k, int c)
{
  size_t za, zb;
  double wa, wb;
  _stance_calib_zero_weights(plan, steps, k, &za, &wa, &zb, &wb);
  return steps[k].mean_counts[c] - (wa * steps[za].mean_counts[c] + wb * steps[zb].mean_counts[c]);
}

/* The cell (0-3) of plate g whose quadrant contains (x, y) when the position lies clearly off
 * both centre lines (|x| > a/4 and |y| > b/4), else -1. */
int _stance_calib_corner_cell(const StancePlateGeometry *g, double x, double y);

/* Writes v with the fewest digits that read back exactly (C locale independent: uses '.'). */
void _stance_calib_fmt_double(char *buf, size_t n, double v);

/* What the functions that read a recording expect of it (the end of their error message). */
#define STANCE_CALIB_EXPECT_COUNTS "raw cell counts"
#define STANCE_CALIB_EXPECT_SESSION "raw cell counts: a calibration session recorded from the board"

/* Fails with "the recording holds <layout> (expected <expected>)" unless rec holds raw cell
 * counts. */
int _stance_calib_check_cells(const StanceRecording *rec, const char *expected, StanceError *err);

/* *opt = *opt_in, or the defaults when opt_in is NULL, then validated. */
int _stance_calib_options_resolve(const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                                  StanceError *err);

/* _stance_calib_check_cells, then _stance_calib_options_resolve: the start of the functions that
 * read a recording without a plan to validate. */
int _stance_calib_cells_options(const StanceRecording *rec, const char *expected,
                                const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                                StanceError *err);

/* The common start of fit, verify and run: resolves the options into *opt (as above), the
 * geometry into *geo (geometry, or the default one kept in *tmp) and validates the plan against
 * it. */
int _stance_calib_prepare(const StanceCalibPlan *plan, const StanceCalibration *geometry,
                          const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                          StanceCalibration *tmp, const StanceCalibration **geo, StanceError *err);

/* The gains (N/count, positive) used to scale counts for segmentation and steadiness checks:
 * opt->nominal_gain_n_per_count for every channel when set, else |gain| of the recording's
 * calibration. Fails when the recording's calibration is the 1 N/count placeholder. */
int _stance_calib_scale_gains(const StanceRecording *rec, const StanceCalibOptions *opt,
                              double gains[STANCE_N_CELLS], StanceError *err);
