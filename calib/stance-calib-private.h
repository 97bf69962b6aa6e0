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

/* Positions closer than this are the same position (mm). */
#define STANCE_CALIB_SAME_POS_MM 1e-6

/* geometry, or the default geometry in *tmp when geometry is NULL. */
const StanceCalibration *_stance_calib_geometry(const StanceCalibration *geometry,
                                                StanceCalibration *tmp);

/* Mean |x| and mean |y| of a plate's cells (the half-spans a, b of the cell rectangle), mm. */
void _stance_calib_half_spans(const StancePlateGeometry *g, double *a, double *b);

/* Same plate and position. */
static inline bool
_stance_calib_same_position(const StanceCalibStep *s, int plate, double x, double y)
{
  return s->plate == plate && fabs(s->x_mm - x) <= STANCE_CALIB_SAME_POS_MM &&
         fabs(s->y_mm - y) <= STANCE_CALIB_SAME_POS_MM;
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

/* The gains (N/count, positive) used to scale counts for segmentation and steadiness checks:
 * opt->nominal_gain_n_per_count for every channel when set, else |gain| of the recording's
 * calibration. Fails when the recording's calibration is the 1 N/count placeholder. */
int _stance_calib_scale_gains(const StanceRecording *rec, const StanceCalibOptions *opt,
                              double gains[STANCE_N_CELLS], StanceError *err);
