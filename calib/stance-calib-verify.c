/* stance-calib-verify.c: verification of a fitted calibration on every step, and per-cell fault
 * diagnostics.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Figures (docs/calibration.md, "Verification"), all against the plate's full scale (FS, its
 * largest applied force):
 *   force error      measured - applied plate force at every loaded step, against the step's
 *                    interpolated zero (as re-zeroing between trials would); an unloaded plate's
 *                    reading while the other is loaded counts as its force error too;
 *   CoP error        distance of the measured CoP from the known position;
 *   non-linearity    per run (the loads at one position between two zero steps): the zero before
 *                    it and the loading steps, measured against applied, deviation from their
 *                    least-squares line (best-fit straight line), max;
 *   hysteresis       |unloading - loading| reading at the same mass in a run, max;
 *   zero return      |reading| of a plate at every zero step after the first, against the
 *                    first (the calibration's offsets): drift and creep during the session.
 *
 * Diagnostics look at each channel's RESPONSE, counts per newton applied, at every loaded
 * position of either plate. A healthy cell responds most to the load standing near it (a mass at
 * 0.7 of a cell's coordinates puts 72 % of its weight on that cell, 13 % on each neighbour, 2 % on
 * the opposite one). A channel that responds most near another cell, or on the other plate, is
 * miswired; one that does not respond is dead. Gain checks are skipped on a plate with a wiring
 * fault: the fit there is meaningless until the wiring is fixed.
 */
#include "stance-calib-private.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
stance_calib_fault_name(StanceCalibFaultKind kind)
{
  switch (kind) {
  case STANCE_CALIB_FAULT_NEGATIVE_GAIN: return "negative-gain";
  case STANCE_CALIB_FAULT_GAIN_OUTLIER: return "gain-outlier";
  case STANCE_CALIB_FAULT_NONLINEAR: return "nonlinear";
  case STANCE_CALIB_FAULT_SWAPPED: return "swapped";
  case STANCE_CALIB_FAULT_MISPLACED: return "misplaced";
  case STANCE_CALIB_FAULT_WRONG_PLATE: return "wrong-plate";
  case STANCE_CALIB_FAULT_NO_RESPONSE: return "no-response";
  }
  return "?";
}

void
stance_calib_report_clear(StanceCalibReport *rep)
{
  if (!rep)
    return;
  free(rep->steps);
  free(rep->positions);
  memset(rep, 0, sizeof *rep);
}

const StanceCalibFault *
stance_calib_report_find_fault(const StanceCalibReport *rep, StanceCalibFaultKind kind, int channel)
{
  if (!rep)
    return NULL;
  for (int i = 0; i < rep->n_faults; i++) {
    const StanceCalibFault *f = &rep->faults[i];
    if (f->kind == kind && (f->channel == channel || f->other_channel == channel))
      return f;
  }
  return NULL;
}

static void add_fault(StanceCalibReport *rep, StanceCalibFaultKind kind, int channel, int other,
                      double value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
add_fault(StanceCalibReport *rep, StanceCalibFaultKind kind, int channel, int other, double value,
          const char *fmt, ...)
{
  if (rep->n_faults >= STANCE_CALIB_MAX_FAULTS)
    return;
  StanceCalibFault *f = &rep->faults[rep->n_faults++];
  f->kind = kind;
  f->channel = channel;
  f->other_channel = other;
  f->value = value;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->message, sizeof f->message, fmt, ap);
  va_end(ap);
}

/* Largest |residual| of ys against the least-squares line through (xs, ys); n >= 3. */
static double
line_max_dev(const double *xs, const double *ys, int n)
{
  double mx = 0.0, my = 0.0;
  for (int i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  double sxx = 0.0, sxy = 0.0;
  for (int i = 0; i < n; i++) {
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  double slope = sxx > 0.0 ? sxy / sxx : 0.0;
  double dev = 0.0;
  for (int i = 0; i < n; i++)
    dev = fmax(dev, fabs(ys[i] - (my + slope * (xs[i] - mx))));
  return dev;
}

static double
median8(const double *v)
{
  double s[STANCE_N_CELLS];
  memcpy(s, v, sizeof s);
  for (int i = 1; i < STANCE_N_CELLS; i++)
    for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
      double t = s[j];
      s[j] = s[j - 1];
      s[j - 1] = t;
    }
  return 0.5 * (s[STANCE_N_CELLS / 2 - 1] + s[STANCE_N_CELLS / 2]);
}

/* Index of the position (plate, x, y) in rep->positions or -1. */
static int
position_index(const StanceCalibReport *rep, int plate, double x, double y)
{
  for (size_t i = 0; i < rep->n_positions; i++) {
    const StanceCalibPositionCheck *p = &rep->positions[i];
    if (p->plate == plate && _stance_calib_same_point(p->x_mm, p->y_mm, x, y))
      return (int)i;
  }
  return -1;
}

int
stance_calib_verify(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
                    const StanceCalibFit *fit, const StanceCalibration *geometry,
                    const StanceCalibOptions *opt_in, StanceCalibReport *rep, StanceError *err)
{
  if (!plan || !steps || !fit || !rep)
    return stance_error_set(err, STANCE_EINVAL, "no plan, step data, fit or report given");
  StanceCalibOptions opt;
  StanceCalibration tmp;
  const StanceCalibration *geo = NULL;
  int r = _stance_calib_prepare(plan, geometry, opt_in, &opt, &tmp, &geo, err);
  if (r < 0)
    return r;
  memset(rep, 0, sizeof *rep);
  rep->limits = opt;
  const size_t n = plan->n_steps;
  const double g = opt.gravity_m_s2;
  rep->steps = calloc(n, sizeof *rep->steps);
  rep->positions = calloc(n, sizeof *rep->positions);
  double *resp = calloc(n * STANCE_N_CELLS, sizeof(double)); /* per position: counts per N */
  int *resp_n = calloc(n, sizeof(int));
  if (!rep->steps || !rep->positions || !resp || !resp_n) {
    free(resp);
    free(resp_n);
    stance_calib_report_clear(rep);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory verifying %zu steps", n);
  }
  rep->n_steps = n;
  double fs[STANCE_N_PLATES];
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    fs[pl] = fit->full_scale_n[pl] > 0.0 ? fit->full_scale_n[pl]
                                         : _stance_calib_full_scale_n(plan, pl, g);
    rep->plate[pl].full_scale_n = fs[pl];
  }

  /* ---- every step: forces, CoP ---- */
  for (size_t k = 0; k < n; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    StanceCalibStepCheck *ck = &rep->steps[k];
    ck->step = k;
    /* zero steps against the calibration's offsets (the first zero: their reading is the zero
     * return); loaded steps against their run's interpolated zero, as re-zeroing between trials
     * would (drift is judged by the zero return, not twice) */
    double cell_f[STANCE_N_CELLS], dc[STANCE_N_CELLS];
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      dc[c] = s->kind == STANCE_CALIB_ZERO ? steps[k].mean_counts[c] - fit->offset_counts[c]
                                           : _stance_calib_delta(plan, steps, k, c);
      cell_f[c] = fit->gain_n_per_count[c] * dc[c];
    }
    for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
      ck->plate_n[pl] = 0.0;
      for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++)
        ck->plate_n[pl] += cell_f[pl * STANCE_CELLS_PER_PLATE + i];
    }
    if (s->kind == STANCE_CALIB_ZERO) {
      int pl = fabs(ck->plate_n[0]) / fs[0] >= fabs(ck->plate_n[1]) / fs[1] ? 0 : 1;
      ck->force_error_n = ck->plate_n[pl];
      ck->force_error_pct_fs = fabs(ck->plate_n[pl]) / fs[pl] * 100.0;
      continue;
    }
    int pl = s->plate;
    ck->applied_n = s->mass_kg * g;
    ck->force_error_n = ck->plate_n[pl] - ck->applied_n;
    ck->force_error_pct_fs = fabs(ck->force_error_n) / fs[pl] * 100.0;
    if (ck->plate_n[pl] > STANCE_COP_THRESHOLD_N) {
      double mx = 0.0, my = 0.0;
      for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
        mx += cell_f[pl * STANCE_CELLS_PER_PLATE + i] * geo->plate[pl].cell[i].x_mm;
        my += cell_f[pl * STANCE_CELLS_PER_PLATE + i] * geo->plate[pl].cell[i].y_mm;
      }
      ck->has_cop = true;
      ck->cop_x_mm = mx / ck->plate_n[pl];
      ck->cop_y_mm = my / ck->plate_n[pl];
      ck->cop_error_mm = hypot(ck->cop_x_mm - s->x_mm, ck->cop_y_mm - s->y_mm);
    }
    /* positions and responses */
    int pi = position_index(rep, pl, s->x_mm, s->y_mm);
    if (pi < 0) {
      pi = (int)rep->n_positions++;
      rep->positions[pi].plate = pl;
      rep->positions[pi].x_mm = s->x_mm;
      rep->positions[pi].y_mm = s->y_mm;
    }
    StanceCalibPositionCheck *pc = &rep->positions[pi];
    pc->n_steps++;
    pc->max_force_error_pct_fs = fmax(pc->max_force_error_pct_fs, ck->force_error_pct_fs);
    if (ck->has_cop)
      pc->max_cop_error_mm = fmax(pc->max_cop_error_mm, ck->cop_error_mm);
    for (int c = 0; c < STANCE_N_CELLS; c++)
      resp[(size_t)pi * STANCE_N_CELLS + c] += dc[c] / ck->applied_n;
    resp_n[pi]++;
    /* plate figures */
    StanceCalibPlateCheck *pk = &rep->plate[pl];
    pk->max_force_error_n = fmax(pk->max_force_error_n, fabs(ck->force_error_n));
    pk->max_force_error_pct_fs = fmax(pk->max_force_error_pct_fs, ck->force_error_pct_fs);
    if (ck->has_cop)
      pk->max_cop_error_mm = fmax(pk->max_cop_error_mm, ck->cop_error_mm);
    else
      pk->n_cop_missing++;
    int other = 1 - pl;
    StanceCalibPlateCheck *po = &rep->plate[other];
    po->max_force_error_n = fmax(po->max_force_error_n, fabs(ck->plate_n[other]));
    po->max_force_error_pct_fs =
        fmax(po->max_force_error_pct_fs, fabs(ck->plate_n[other]) / fs[other] * 100.0);
  }
  for (size_t pi = 0; pi < rep->n_positions; pi++)
    for (int c = 0; c < STANCE_N_CELLS; c++)
      resp[pi * STANCE_N_CELLS + c] /= resp_n[pi];

  /* zero return */
  for (size_t k = 1; k < n; k++)
    if (plan->steps[k].kind == STANCE_CALIB_ZERO)
      for (int pl = 0; pl < STANCE_N_PLATES; pl++)
        rep->plate[pl].zero_return_pct_fs = fmax(rep->plate[pl].zero_return_pct_fs,
                                                 fabs(rep->steps[k].plate_n[pl]) / fs[pl] * 100.0);

  /* ---- runs: non-linearity and hysteresis (plates and cells) ---- */
  double cell_nl_counts[STANCE_N_CELLS] = {0}; /* max deviation, counts */
  double med_gain = median8(fit->gain_n_per_count);
  double abs_g[STANCE_N_CELLS];
  for (int c = 0; c < STANCE_N_CELLS; c++)
    abs_g[c] = fabs(fit->gain_n_per_count[c]);
  double med_abs_gain = median8(abs_g);
  double *xs = malloc(n * sizeof(double)), *ys = malloc(n * sizeof(double));
  double *yc = malloc(n * STANCE_N_CELLS * sizeof(double));
  if (!xs || !ys || !yc) {
    free(xs);
    free(ys);
    free(yc);
    free(resp);
    free(resp_n);
    stance_calib_report_clear(rep);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory verifying %zu steps", n);
  }
  for (size_t k = 1; k < n;) {
    if (plan->steps[k].kind == STANCE_CALIB_ZERO) {
      k++;
      continue;
    }
    size_t e = k;
    while (e < n && plan->steps[e].kind != STANCE_CALIB_ZERO)
      e++;
    const StanceCalibStep *s0 = &plan->steps[k];
    int pl = s0->plate;
    StanceCalibPositionCheck *pc = &rep->positions[position_index(rep, pl, s0->x_mm, s0->y_mm)];
    /* the zero before the run reads 0 against itself, the run's loads against their zero */
    int np = 0;
    xs[np] = 0.0;
    ys[np] = 0.0;
    for (int c = 0; c < STANCE_N_CELLS; c++)
      yc[c * n + (size_t)np] = 0.0;
    np++;
    for (size_t j = k; j < e; j++)
      if (plan->steps[j].kind == STANCE_CALIB_LOAD) {
        xs[np] = rep->steps[j].applied_n;
        ys[np] = rep->steps[j].plate_n[pl];
        for (int c = 0; c < STANCE_N_CELLS; c++)
          yc[c * n + (size_t)np] = _stance_calib_delta(plan, steps, j, c);
        np++;
      }
    if (np >= 3) {
      double nl = line_max_dev(xs, ys, np) / fs[pl] * 100.0;
      pc->nonlinearity_pct_fs = fmax(pc->nonlinearity_pct_fs, nl);
      for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
        int c = pl * STANCE_CELLS_PER_PLATE + i;
        cell_nl_counts[c] = fmax(cell_nl_counts[c], line_max_dev(xs, &yc[c * n], np));
      }
    }
    for (size_t j = k; j < e; j++) {
      if (plan->steps[j].kind != STANCE_CALIB_UNLOAD)
        continue;
      for (size_t l = k; l < j; l++)
        if (plan->steps[l].kind == STANCE_CALIB_LOAD &&
            fabs(plan->steps[l].mass_kg - plan->steps[j].mass_kg) < 1e-9) {
          double h = fabs(rep->steps[j].plate_n[pl] - rep->steps[l].plate_n[pl]) / fs[pl] * 100.0;
          pc->hysteresis_pct_fs = fmax(pc->hysteresis_pct_fs, h);
        }
    }
    k = e;
  }
  free(xs);
  free(ys);
  free(yc);
  for (size_t pi = 0; pi < rep->n_positions; pi++) {
    const StanceCalibPositionCheck *pc = &rep->positions[pi];
    StanceCalibPlateCheck *pk = &rep->plate[pc->plate];
    pk->nonlinearity_pct_fs = fmax(pk->nonlinearity_pct_fs, pc->nonlinearity_pct_fs);
    pk->hysteresis_pct_fs = fmax(pk->hysteresis_pct_fs, pc->hysteresis_pct_fs);
  }
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    StanceCalibPlateCheck *pk = &rep->plate[pl];
    pk->force_ok = pk->max_force_error_pct_fs <= opt.limit_force_error_pct_fs;
    pk->cop_ok = pk->max_cop_error_mm <= opt.limit_cop_error_mm && pk->n_cop_missing == 0;
    pk->nonlinearity_ok = pk->nonlinearity_pct_fs <= opt.limit_nonlinearity_pct_fs;
    pk->hysteresis_ok = pk->hysteresis_pct_fs <= opt.limit_hysteresis_pct_fs;
    pk->zero_ok = pk->zero_return_pct_fs <= opt.limit_zero_return_pct_fs;
  }

  /* ---- cells ---- */
  int own[STANCE_N_CELLS], best[STANCE_N_CELLS];
  double maxabs[STANCE_N_CELLS];
  rep->position_diagnostics = true;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    int pl = c / STANCE_CELLS_PER_PLATE, i = c % STANCE_CELLS_PER_PLATE;
    StanceCalibCellCheck *cc = &rep->cell[c];
    cc->gain_dev_pct =
        med_gain != 0.0 ? (fit->gain_n_per_count[c] - med_gain) / fabs(med_gain) * 100.0 : 0.0;
    own[c] = -1;
    double dbest = INFINITY;
    for (size_t pi = 0; pi < rep->n_positions; pi++) {
      const StanceCalibPositionCheck *pc = &rep->positions[pi];
      if (pc->plate != pl || _stance_calib_corner_cell(&geo->plate[pl], pc->x_mm, pc->y_mm) != i)
        continue;
      double d =
          hypot(pc->x_mm - geo->plate[pl].cell[i].x_mm, pc->y_mm - geo->plate[pl].cell[i].y_mm);
      if (d < dbest) {
        dbest = d;
        own[c] = (int)pi;
      }
    }
    best[c] = 0;
    maxabs[c] = 0.0;
    for (size_t pi = 0; pi < rep->n_positions; pi++) {
      double v = fabs(resp[pi * STANCE_N_CELLS + c]);
      if (v > maxabs[c]) {
        maxabs[c] = v;
        best[c] = (int)pi;
      }
    }
    cc->response_own = own[c] >= 0 ? resp[(size_t)own[c] * STANCE_N_CELLS + c] : 0.0;
    cc->strongest_plate = rep->positions[best[c]].plate;
    cc->strongest_x_mm = rep->positions[best[c]].x_mm;
    cc->strongest_y_mm = rep->positions[best[c]].y_mm;
    cc->response_strongest = resp[(size_t)best[c] * STANCE_N_CELLS + c];
    /* the cell's non-linearity in N: through its own gain when plausible, else the median */
    double gref =
        fit->gain_n_per_count[c] > 0.0 && fabs(cc->gain_dev_pct) <= opt.limit_gain_spread_pct
            ? fit->gain_n_per_count[c]
            : med_abs_gain;
    cc->nonlinearity_pct_fs = cell_nl_counts[c] * gref / fs[pl] * 100.0;
    if (own[c] < 0)
      rep->position_diagnostics = false;
  }
  free(resp);
  free(resp_n);

  /* ---- faults ---- */
  char a[48], b[48], pa[40], pb[40];
  bool dead[STANCE_N_CELLS] = {false}, wired[STANCE_N_CELLS] = {false};
  bool plate_wiring[STANCE_N_PLATES] = {false};
  double med_maxabs = median8(maxabs);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    if (maxabs[c] < 0.1 * med_maxabs) {
      dead[c] = true;
      add_fault(rep, STANCE_CALIB_FAULT_NO_RESPONSE, c, -1,
                med_maxabs > 0.0 ? maxabs[c] / med_maxabs : 0.0,
                "%s hardly responds to any load (%.1f %% of the other cells' response): check "
                "its cable and connector, then calibrate again",
                stance_calib_channel_text(c, a, sizeof a),
                med_maxabs > 0.0 ? maxabs[c] / med_maxabs * 100.0 : 0.0);
      plate_wiring[c / STANCE_CELLS_PER_PLATE] = true;
    }
  }
  if (rep->position_diagnostics) {
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      if (dead[c] || wired[c])
        continue;
      int pl = c / STANCE_CELLS_PER_PLATE, i = c % STANCE_CELLS_PER_PLATE;
      const StanceCalibPositionCheck *bp = &rep->positions[best[c]];
      stance_calib_channel_text(c, a, sizeof a);
      /* how much more it responds where it responds most than near its own cell */
      double ratio = fmin(maxabs[c] / fmax(fabs(rep->cell[c].response_own), 1e-300), 1e6);
      if (bp->plate != pl) {
        int q = bp->plate;
        int j = _stance_calib_corner_cell(&geo->plate[q], bp->x_mm, bp->y_mm);
        int partner = j >= 0 ? q * STANCE_CELLS_PER_PLATE + j : -1;
        stance_calib_position_name(&geo->plate[q], bp->x_mm, bp->y_mm, pb, sizeof pb);
        if (partner >= 0 && !dead[partner] && best[partner] == own[c]) {
          stance_calib_channel_text(partner, b, sizeof b);
          stance_calib_position_name(&geo->plate[pl], rep->positions[own[c]].x_mm,
                                     rep->positions[own[c]].y_mm, pa, sizeof pa);
          add_fault(rep, STANCE_CALIB_FAULT_WRONG_PLATE, c, partner, ratio,
                    "%s responds most to loads on the %s plate (at its %s) and %s to loads on "
                    "the %s plate (at its %s): the two cells look wired to each other's plate "
                    "inputs; swap their connectors and calibrate again",
                    a, _stance_calib_plate_name(q), pb, b, _stance_calib_plate_name(pl), pa);
          wired[partner] = true;
        } else {
          add_fault(rep, STANCE_CALIB_FAULT_WRONG_PLATE, c, partner, ratio,
                    "%s responds most to loads on the %s plate (at its %s), not to loads on its "
                    "own plate: it looks wired to the %s plate's input; check its connector and "
                    "calibrate again",
                    a, _stance_calib_plate_name(q), pb, _stance_calib_plate_name(q));
        }
        wired[c] = true;
        plate_wiring[pl] = plate_wiring[q] = true;
        continue;
      }
      double r_own = rep->cell[c].response_own;
      if (best[c] != own[c] && maxabs[c] > 1.05 * fabs(r_own)) {
        int j = _stance_calib_corner_cell(&geo->plate[pl], bp->x_mm, bp->y_mm);
        int partner = j >= 0 && j != i ? pl * STANCE_CELLS_PER_PLATE + j : -1;
        stance_calib_position_name(&geo->plate[pl], bp->x_mm, bp->y_mm, pb, sizeof pb);
        stance_calib_position_name(&geo->plate[pl], geo->plate[pl].cell[i].x_mm,
                                   geo->plate[pl].cell[i].y_mm, pa, sizeof pa);
        if (partner >= 0 && !dead[partner] && best[partner] == own[c]) {
          char pp[40];
          stance_calib_position_name(&geo->plate[pl], rep->positions[best[partner]].x_mm,
                                     rep->positions[best[partner]].y_mm, pp, sizeof pp);
          add_fault(rep, STANCE_CALIB_FAULT_SWAPPED, c, partner, ratio,
                    "%s responds most to loads at the %s and cell %d (%s) to loads at the %s: "
                    "cells %d and %d look swapped; exchange their connectors and calibrate again",
                    a, pb, j + 1, stance_calib_cell_name(j + 1), pp, i + 1, j + 1);
          wired[partner] = true;
        } else {
          add_fault(rep, STANCE_CALIB_FAULT_MISPLACED, c, partner, ratio,
                    "%s responds most to loads at the %s (expected the %s, next to it): %s; "
                    "check which cell is plugged into this input and calibrate again",
                    a, pb, pa,
                    partner >= 0 ? "it looks plugged into another cell's input"
                                 : "its response does not follow its position");
        }
        wired[c] = true;
        plate_wiring[pl] = true;
        continue;
      }
      if (r_own < 0.0) {
        add_fault(rep, STANCE_CALIB_FAULT_NEGATIVE_GAIN, c, -1, fit->gain_n_per_count[c],
                  "%s reads lower as load is added: its signal wires look reversed; swap its "
                  "signal + and - and calibrate again",
                  a);
        wired[c] = true;
        plate_wiring[pl] = true;
      }
    }
  }
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    int pl = c / STANCE_CELLS_PER_PLATE;
    if (dead[c] || wired[c] || plate_wiring[pl])
      continue;
    stance_calib_channel_text(c, a, sizeof a);
    double gv = fit->gain_n_per_count[c];
    if (gv < 0.0) {
      add_fault(rep, STANCE_CALIB_FAULT_NEGATIVE_GAIN, c, -1, gv,
                "%s has a negative gain (%.4g N/count; expected about %.4g like the others): its "
                "signal wires may be reversed or the loads were not where the plan says",
                a, gv, med_gain);
    } else if (fabs(rep->cell[c].gain_dev_pct) > opt.limit_gain_spread_pct) {
      add_fault(rep, STANCE_CALIB_FAULT_GAIN_OUTLIER, c, -1, rep->cell[c].gain_dev_pct,
                "%s has a gain of %.4g N/count, %+.1f %% from the median of the 8 cells (limit "
                "%g %%): check that it is the same cell model as the others and its excitation "
                "and cable",
                a, gv, rep->cell[c].gain_dev_pct, opt.limit_gain_spread_pct);
    }
  }
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    if (dead[c] || rep->cell[c].nonlinearity_pct_fs <= opt.limit_nonlinearity_pct_fs)
      continue;
    add_fault(rep, STANCE_CALIB_FAULT_NONLINEAR, c, -1, rep->cell[c].nonlinearity_pct_fs,
              "%s is non-linear: its reading departs from a straight line by %.2f %% of full "
              "scale as load is added (limit %g %%): the cell may be overloaded or damaged; "
              "replace it and calibrate again",
              stance_calib_channel_text(c, a, sizeof a), rep->cell[c].nonlinearity_pct_fs,
              opt.limit_nonlinearity_pct_fs);
  }

  /* ---- verdict ---- */
  bool ok = rep->n_faults == 0;
  double fe = 0, cop = 0, nl = 0, hy = 0, zr = 0;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const StanceCalibPlateCheck *pk = &rep->plate[pl];
    ok =
        ok && pk->force_ok && pk->cop_ok && pk->nonlinearity_ok && pk->hysteresis_ok && pk->zero_ok;
    fe = fmax(fe, pk->max_force_error_pct_fs);
    cop = fmax(cop, pk->max_cop_error_mm);
    nl = fmax(nl, pk->nonlinearity_pct_fs);
    hy = fmax(hy, pk->hysteresis_pct_fs);
    zr = fmax(zr, pk->zero_return_pct_fs);
  }
  rep->passed = ok;
  snprintf(rep->summary, sizeof rep->summary,
           "%s: force error %.3f %% FS (limit %g), CoP error %.2f mm (limit %g), non-linearity "
           "%.3f %% FS (limit %g), hysteresis %.3f %% FS (limit %g), zero return %.3f %% FS "
           "(limit %g), %d fault%s",
           ok ? "passed" : "failed", fe, opt.limit_force_error_pct_fs, cop, opt.limit_cop_error_mm,
           nl, opt.limit_nonlinearity_pct_fs, hy, opt.limit_hysteresis_pct_fs, zr,
           opt.limit_zero_return_pct_fs, rep->n_faults, rep->n_faults == 1 ? "" : "s");
  return STANCE_OK;
}
