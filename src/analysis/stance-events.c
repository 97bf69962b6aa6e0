/* stance-events.c: event detection shared by the family analysers: threshold crossings, movement
 * onset by a named rule, the takeoff/landing threshold and flights (docs/methods.md, "Events").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every function here is one pass over [from, to): O(to - from), no allocation.
 */
#include "stance-analysis-private.h"

#include <math.h>

bool
stance_ev_first_below(const double *f, const uint8_t *bad, size_t from, size_t to, double thr,
                      size_t *i)
{
  if (!f)
    return false;
  for (size_t k = from; k < to; k++) {
    if (bad && bad[k])
      continue;
    if (f[k] < thr) {
      if (i)
        *i = k;
      return true;
    }
  }
  return false;
}

bool
stance_ev_first_above(const double *f, const uint8_t *bad, size_t from, size_t to, double thr,
                      size_t *i)
{
  if (!f)
    return false;
  for (size_t k = from; k < to; k++) {
    if (bad && bad[k])
      continue;
    if (f[k] > thr) {
      if (i)
        *i = k;
      return true;
    }
  }
  return false;
}

/* The band half-width of the resolved onset rule around weight w with weighing SD sd, and the
 * rule's method. The step-back belongs to the BW +- k SD rule (Owen 2014); the fixed and % of BW
 * rules take the first sample out of their band as it is. */
static double
onset_band(const StanceAnalysisOptions *o, double w, double sd, double *step_back_s,
           StanceMethod *m)
{
  double band;
  *step_back_s = 0.0;
  switch (o ? o->onset : STANCE_ONSET_BW_5SD) {
  case STANCE_ONSET_FIXED_N: {
    double n = o->onset_n > 0.0 ? o->onset_n : 20.0;
    band = n;
    if (m) {
      stance_method_set(m, "onset.fixed_n");
      stance_method_param_num(m, "n", n);
    }
    break;
  }
  case STANCE_ONSET_PCT_BW: {
    double pct = o->onset_pct_bw > 0.0 ? o->onset_pct_bw : 5.0;
    band = pct / 100.0 * fabs(w);
    if (m) {
      stance_method_set(m, "onset.pct_bw");
      stance_method_param_num(m, "pct", pct);
    }
    break;
  }
  case STANCE_ONSET_DEFAULT:
  case STANCE_ONSET_BW_5SD:
  default: {
    double k = (o && o->onset_sd > 0.0) ? o->onset_sd : 5.0;
    double sb = (o && o->onset_step_back_s > 0.0) ? o->onset_step_back_s : 0.0;
    band = k * (sd > 0.0 ? sd : 0.0);
    *step_back_s = sb;
    if (m) {
      stance_method_set(m, "onset.bw_5sd");
      stance_method_param_num(m, "k", k);
      stance_method_param_num(m, "step_back_s", sb);
    }
    break;
  }
  }
  if (m)
    stance_method_param_num(m, "band_n", band);
  return band;
}

bool
stance_ev_onset(const StanceCtx *c, const double *f, size_t from, size_t to, double w, double sd,
                int dir, size_t *onset, StanceMethod *method)
{
  double step_back_s;
  double band = onset_band(c ? c->opts : NULL, w, sd, &step_back_s, method);
  if (!f || !c)
    return false;
  const uint8_t *bad = c->bad;
  size_t hit = to;
  for (size_t k = from; k < to; k++) {
    if (bad && bad[k])
      continue;
    double d = f[k] - w;
    if ((dir >= 0 && d > band) || (dir <= 0 && d < -band)) {
      hit = k;
      break;
    }
  }
  if (hit >= to)
    return false;
  size_t back = (size_t)lround(step_back_s * c->rate);
  size_t on = hit >= from + back ? hit - back : from;
  if (onset)
    *onset = on;
  return true;
}

double
stance_ev_takeoff_threshold(const StanceCtx *c, StanceSel sel, StanceMethod *method)
{
  const StanceAnalysisOptions *o = c ? c->opts : NULL;
  double thr = 20.0;
  const char *rule = "fixed";
  if (o && o->takeoff_n > 0.0) {
    thr = o->takeoff_n;
  } else if (o && o->takeoff_n <= 0.0 && c->cond && c->cond->has_unloaded_sd) {
    const StanceConditioning *k = c->cond;
    double sd = 0.0, off = 0.0;
    if (sel == STANCE_SEL_TOTAL && c->has_limbs) {
      /* Two independent plates: their noise adds in quadrature, their offsets add. */
      sd = sqrt(k->unloaded_sd_n[0] * k->unloaded_sd_n[0] +
                k->unloaded_sd_n[1] * k->unloaded_sd_n[1]);
      if (!k->zeroed)
        off = k->zero_offset_n[0] + k->zero_offset_n[1];
    } else {
      sd = k->unloaded_sd_n[sel];
      if (!k->zeroed)
        off = k->zero_offset_n[sel];
    }
    if (sd > 0.0 && isfinite(sd) && isfinite(off)) {
      /* The series is zeroed when the offsets were removed; otherwise the plate still reads its
       * unloaded offset and the band sits around it. */
      thr = off + 5.0 * sd;
      rule = "unloaded_5sd";
    }
  }
  if (method) {
    stance_method_set(method, "takeoff.threshold");
    stance_method_param_num(method, "threshold_n", thr);
    stance_method_param_str(method, "rule", rule);
  }
  return thr;
}

size_t
stance_ev_flights(const double *f, const uint8_t *bad, size_t from, size_t to, double rate,
                  double thr, double min_flight_s, size_t *takeoff, size_t *landing, size_t max)
{
  if (!f || rate <= 0.0 || from >= to)
    return 0;
  size_t min_len = (size_t)ceil(min_flight_s * rate - 1e-9);
  if (min_len < 1)
    min_len = 1;
  size_t n = 0;
  size_t k = from;
  /* One pass: a bad sample neither starts nor ends a stretch (it carries the state it is in). */
  while (k < to && n < max) {
    size_t a;
    if (!stance_ev_first_below(f, bad, k, to, thr, &a))
      break;
    size_t b;
    if (!stance_ev_first_above(f, bad, a + 1, to, thr, &b))
      break; /* the recording ends in the air: not a complete flight */
    if (b - a >= min_len) {
      if (takeoff)
        takeoff[n] = a;
      if (landing)
        landing[n] = b;
      n++;
    }
    k = b + 1;
  }
  return n;
}
