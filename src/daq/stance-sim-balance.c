/* stance-sim-balance.c: simulated quiet standing, single-leg balance and weigh-in.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sway model: each CoP axis of each foot is a mix of a slow part (0.03-0.5 Hz) and a faster part
 * (0.5-2.5 Hz). Both parts are random-phase sums of sinusoids with log-spaced frequencies from
 * scene->rng, centred and scaled to unit RMS. The mix weight w is solved by bisection so that the
 * path's mean CoP velocity hits a target drawn for this athlete, and each axis is then scaled to
 * its drawn RMS, so RMS and velocity land inside the documented ranges (docs/simulator.md) for
 * every seed. In quiet standing the feet's AP sway shares a common slow component (the body sways
 * as a whole over both feet). Single-leg balance adds balance corrections: quick excursions of the
 * CoP (rise 0.25 s, return 0.6 s) every 2.5-6 s, each with a one-cycle vertical force wobble.
 *
 * Vertical force: (m_body + m_load) g times (1 + e(t)) where e(t) is a small physiological term
 * (ballistocardiogram near 1.1 Hz, breathing near 0.25 Hz) made of whole cycles over the standing
 * period, so the mean total force over that period is exactly the weight. The split between the
 * feet follows _stance_sim_still_share_left() with a small zero-mean load transfer.
 *
 * Truth ("stand" trial and session level), from the noise-free full-rate path: weight_bearing_pct,
 * mean_force, cop_path_length, cop_mean_velocity, cop_ellipse_area_95, cop_rms_x, cop_rms_y (per
 * loaded plate, and "total" for the net CoP of both plates in the shared lab frame); weigh-in adds
 * body_weight.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "stance-sim-private.h"

#include <stdlib.h>
#include <string.h>

/* 95 % quantile of the chi-square distribution with 2 degrees of freedom (-2 ln 0.05). */
#define CHI2_95_2DOF 5.991

/* ---- Signal building blocks ---- */

/* out[0..n) = sum of `terms` sinusoids with log-spaced random frequencies in [f_lo, f_hi],
 * amplitudes falling as f^-0.7 and random phases, then centred to zero mean and scaled to unit
 * RMS. Uses a rotating phasor per term (no sin() per sample). */
static void
random_sines(StanceSimRng *r, double *out, size_t n, double dt, double f_lo, double f_hi, int terms)
{
  memset(out, 0, n * sizeof(double));
  for (int k = 0; k < terms; k++) {
    /* one frequency per log-spaced band, jittered inside the band */
    double u = ((double)k + _stance_rng_uniform(r)) / (double)terms;
    double f = f_lo * pow(f_hi / f_lo, u);
    double a = pow(f / f_lo, -0.7);
    double ph = _stance_rng_range(r, 0.0, 2.0 * M_PI);
    double c = cos(2.0 * M_PI * f * dt), sn = sin(2.0 * M_PI * f * dt);
    double re = cos(ph), im = sin(ph);
    for (size_t i = 0; i < n; i++) {
      out[i] += a * im;
      double re2 = re * c - im * sn;
      im = re * sn + im * c;
      re = re2;
    }
  }
  double mean = 0.0, ss = 0.0;
  for (size_t i = 0; i < n; i++)
    mean += out[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) {
    out[i] -= mean;
    ss += out[i] * out[i];
  }
  double rms = sqrt(ss / (double)n);
  if (rms > 0.0)
    for (size_t i = 0; i < n; i++)
      out[i] /= rms;
}

/* out = (1 - w) a + w b, centred and scaled to RMS `rms`. */
static void
mix_scaled(const double *a, const double *b, double w, size_t n, double rms, double *out)
{
  double mean = 0.0, ss = 0.0;
  for (size_t i = 0; i < n; i++) {
    out[i] = (1.0 - w) * a[i] + w * b[i];
    mean += out[i];
  }
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) {
    out[i] -= mean;
    ss += out[i] * out[i];
  }
  double cur = sqrt(ss / (double)n);
  double k = cur > 0.0 ? rms / cur : 0.0;
  for (size_t i = 0; i < n; i++)
    out[i] *= k;
}

static double
mean_speed(const double *x, const double *y, size_t n, double dt)
{
  if (n < 2)
    return 0.0;
  double len = 0.0;
  for (size_t i = 1; i < n; i++)
    len += hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
  return len / ((double)(n - 1) * dt);
}

/* Finds the slow/fast mix whose mean velocity is v_target (bisection on w in [0, 1]; the ends are
 * used when the target lies outside what the two parts can give) and writes the path. */
static void
fit_sway(const double *slow_x, const double *slow_y, const double *fast_x, const double *fast_y,
         size_t n, double dt, double rms_x, double rms_y, double v_target, double *x, double *y)
{
  double lo = 0.0, hi = 1.0;
  mix_scaled(slow_x, fast_x, lo, n, rms_x, x);
  mix_scaled(slow_y, fast_y, lo, n, rms_y, y);
  if (mean_speed(x, y, n, dt) >= v_target)
    return;
  mix_scaled(slow_x, fast_x, hi, n, rms_x, x);
  mix_scaled(slow_y, fast_y, hi, n, rms_y, y);
  if (mean_speed(x, y, n, dt) <= v_target)
    return;
  for (int it = 0; it < 40; it++) {
    double mid = 0.5 * (lo + hi);
    mix_scaled(slow_x, fast_x, mid, n, rms_x, x);
    mix_scaled(slow_y, fast_y, mid, n, rms_y, y);
    if (mean_speed(x, y, n, dt) < v_target)
      lo = mid;
    else
      hi = mid;
  }
  double w = 0.5 * (lo + hi);
  mix_scaled(slow_x, fast_x, w, n, rms_x, x);
  mix_scaled(slow_y, fast_y, w, n, rms_y, y);
}

/* sin(2 pi k i / n + ph): k whole cycles over n samples, so the sum over the n samples is 0. */
static inline double
cycles(double k, size_t i, size_t n, double ph)
{
  return k > 0.0 ? sin(2.0 * M_PI * k * (double)i / (double)n + ph) : 0.0;
}

/* Whole number of cycles closest to f Hz over n samples at dt (at least 1). */
static double
whole_cycles(double f, size_t n, double dt)
{
  double k = round(f * (double)n * dt);
  return k < 1.0 ? 1.0 : k;
}

/* ---- Standing segments ---- */

typedef struct {
  double *buf;                                     /* one allocation for every work array */
  double *x[STANCE_N_PLATES], *y[STANCE_N_PLATES]; /* the sway paths, mm, zero mean */
  double *eps;                                     /* relative vertical force term */
  double *share;                                   /* left share of the total */
} Stand;

static void
stand_free(Stand *st)
{
  free(st->buf);
  memset(st, 0, sizeof *st);
}

/* Builds n samples of bilateral standing: both feet sway, the split wobbles around share_left. */
static int
stand_bilateral(StanceSimScene *s, size_t n, double share_left, Stand *st)
{
  memset(st, 0, sizeof *st);
  /* 6 outputs + 1 common + 4 per plate work arrays */
  st->buf = malloc(15 * n * sizeof(double));
  if (!st->buf)
    return STANCE_ENOMEM;
  double *b = st->buf;
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    st->x[p] = b;
    b += n;
    st->y[p] = b;
    b += n;
  }
  st->eps = b;
  b += n;
  st->share = b;
  b += n;
  double *common = b;
  b += n;
  StanceSimRng *r = &s->rng;
  const double dt = s->dt;

  /* This athlete's sway: AP RMS 2.34-4.62 mm, ML RMS 1.26-2.64 mm, mean velocity 6.75-12.65
   * mm/s per foot (a base value with +-10 % between the feet). */
  double base_ap = _stance_rng_range(r, 2.6, 4.2);
  double base_ml = _stance_rng_range(r, 1.4, 2.4);
  double base_v = _stance_rng_range(r, 7.5, 11.5);
  random_sines(r, common, n, dt, 0.03, 0.5, 24);
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    double *slow_x = b, *slow_y = b + n, *fast_x = b + 2 * n, *fast_y = b + 3 * n;
    b += 4 * n;
    random_sines(r, slow_x, n, dt, 0.03, 0.5, 24);
    random_sines(r, slow_y, n, dt, 0.03, 0.5, 24);
    random_sines(r, fast_x, n, dt, 0.5, 2.5, 24);
    random_sines(r, fast_y, n, dt, 0.5, 2.5, 24);
    for (size_t i = 0; i < n; i++)
      slow_y[i] = 0.85 * common[i] + 0.53 * slow_y[i];
    double rms_ap = base_ap * _stance_rng_range(r, 0.9, 1.1);
    double rms_ml = base_ml * _stance_rng_range(r, 0.9, 1.1);
    double v = base_v * _stance_rng_range(r, 0.9, 1.1);
    fit_sway(slow_x, slow_y, fast_x, fast_y, n, dt, rms_ml, rms_ap, v, st->x[p], st->y[p]);
  }

  /* Vertical: ballistocardiogram 0.15 % near 1.1 Hz, breathing 0.05 % near 0.25 Hz. Load transfer
   * between the feet: 0.5 % of the load near 0.2 Hz and 0.3 % near 0.6 Hz, scaled down towards a
   * one-legged share. All whole cycles over the segment: zero mean. */
  double k_heart = whole_cycles(_stance_rng_range(r, 1.0, 1.25), n, dt);
  double k_breath = whole_cycles(_stance_rng_range(r, 0.2, 0.3), n, dt);
  double k_s1 = whole_cycles(_stance_rng_range(r, 0.15, 0.25), n, dt);
  double k_s2 = whole_cycles(_stance_rng_range(r, 0.5, 0.7), n, dt);
  double ph[4];
  for (int k = 0; k < 4; k++)
    ph[k] = _stance_rng_range(r, 0.0, 2.0 * M_PI);
  double room = fmin(1.0, 2.0 * fmin(share_left, 1.0 - share_left));
  for (size_t i = 0; i < n; i++) {
    st->eps[i] = 0.0015 * cycles(k_heart, i, n, ph[0]) + 0.0005 * cycles(k_breath, i, n, ph[1]);
    st->share[i] =
        share_left + room * (0.005 * cycles(k_s1, i, n, ph[2]) + 0.003 * cycles(k_s2, i, n, ph[3]));
  }
  return STANCE_OK;
}

/* Builds n samples of one-legged standing on plate `stance`: larger sway with corrections. */
static int
stand_single(StanceSimScene *s, size_t n, int stance, Stand *st)
{
  memset(st, 0, sizeof *st);
  st->buf = malloc(9 * n * sizeof(double));
  if (!st->buf)
    return STANCE_ENOMEM;
  double *b = st->buf;
  int other = 1 - stance;
  st->x[stance] = b;
  b += n;
  st->y[stance] = b;
  b += n;
  /* the lifted foot's plate carries nothing; its CoP is never used */
  st->x[other] = b;
  st->y[other] = b;
  b += n;
  st->eps = b;
  b += n;
  st->share = b;
  b += n;
  double *slow_x = b, *slow_y = b + n, *fast_x = b + 2 * n, *fast_y = b + 3 * n;
  StanceSimRng *r = &s->rng;
  const double dt = s->dt;
  memset(st->x[other], 0, n * sizeof(double));

  /* Single-leg sway: AP RMS 6-9 mm, ML RMS 5.5-8.5 mm, mean velocity 24-36 mm/s. */
  double rms_ap = _stance_rng_range(r, 6.0, 9.0);
  double rms_ml = _stance_rng_range(r, 5.5, 8.5);
  double v = _stance_rng_range(r, 24.0, 36.0);
  random_sines(r, slow_x, n, dt, 0.03, 0.5, 24);
  random_sines(r, slow_y, n, dt, 0.03, 0.5, 24);
  random_sines(r, fast_x, n, dt, 0.5, 2.5, 24);
  random_sines(r, fast_y, n, dt, 0.5, 2.5, 24);

  double k_heart = whole_cycles(_stance_rng_range(r, 1.0, 1.25), n, dt);
  double ph_heart = _stance_rng_range(r, 0.0, 2.0 * M_PI);
  for (size_t i = 0; i < n; i++) {
    st->eps[i] = 0.002 * cycles(k_heart, i, n, ph_heart);
    st->share[i] = stance == 0 ? 1.0 : 0.0;
  }

  /* Corrections: an excursion of 1.5-2.5 slow-part RMS in a random direction, and a one-cycle
   * vertical wobble of 2 % over 0.5 s (zero impulse). */
  const double dur = (double)n * dt;
  size_t m_wob = (size_t)llround(0.5 / dt);
  double tc = _stance_rng_range(r, 1.0, 3.0);
  while (tc + 1.0 < dur - 0.5) {
    double ang = _stance_rng_range(r, 0.0, 2.0 * M_PI);
    double amp = _stance_rng_range(r, 1.5, 2.5);
    size_t i0 = (size_t)llround(tc / dt);
    size_t i_end = (size_t)llround((tc + 0.85) / dt);
    for (size_t i = i0; i < i_end && i < n; i++) {
      double tau = (double)(i - i0) * dt;
      double shape = tau < 0.25 ? _stance_smoothstep(tau / 0.25)
                                : 1.0 - _stance_smoothstep((tau - 0.25) / 0.6);
      slow_x[i] += amp * cos(ang) * shape;
      slow_y[i] += amp * sin(ang) * shape;
    }
    for (size_t j = 0; j < m_wob && i0 + j < n; j++)
      st->eps[i0 + j] += 0.02 * sin(2.0 * M_PI * (double)j / (double)m_wob);
    tc += _stance_rng_range(r, 2.5, 6.0);
  }
  fit_sway(slow_x, slow_y, fast_x, fast_y, n, dt, rms_ml, rms_ap, v, st->x[stance], st->y[stance]);
  return STANCE_OK;
}

/* Pushes sample i of a standing segment. */
static int
stand_push(StanceSimScene *s, const Stand *st, size_t i)
{
  const StanceSimParams *p = s->p;
  double w = _stance_sim_weight(s) * (1.0 + st->eps[i]);
  double fl = w * st->share[i];
  return _stance_sim_push_cop(s, fl, w - fl, p->foot_x_mm[0] + st->x[0][i],
                              p->foot_y_mm[0] + st->y[0][i], p->foot_x_mm[1] + st->x[1][i],
                              p->foot_y_mm[1] + st->y[1][i]);
}

/* ---- Truth ---- */

typedef struct {
  bool ok;
  double path, vel, area, rms_x, rms_y;
} CopStats;

/* CoP statistics of samples [i0, i1) where the force f exceeds the CoP threshold: path length
 * (sum of the steps between consecutive valid samples), mean velocity (path over the valid time),
 * RMS about the mean per axis and the 95 % prediction ellipse area pi * chi2(0.95, 2) *
 * sqrt(det cov), covariance normalised by the number of samples. */
static CopStats
cop_stats(const double *f, const double *x, const double *y, size_t i0, size_t i1, double dt)
{
  CopStats c = {0};
  size_t m = 0;
  double mx = 0.0, my = 0.0;
  for (size_t i = i0; i < i1; i++)
    if (f[i] > STANCE_COP_THRESHOLD_N) {
      mx += x[i];
      my += y[i];
      m++;
    }
  if (m < 2)
    return c;
  mx /= (double)m;
  my /= (double)m;
  double sxx = 0.0, syy = 0.0, sxy = 0.0, path = 0.0;
  size_t prev = SIZE_MAX;
  for (size_t i = i0; i < i1; i++) {
    if (!(f[i] > STANCE_COP_THRESHOLD_N)) {
      prev = SIZE_MAX;
      continue;
    }
    double dx = x[i] - mx, dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
    if (prev != SIZE_MAX)
      path += hypot(x[i] - x[prev], y[i] - y[prev]);
    prev = i;
  }
  sxx /= (double)m;
  syy /= (double)m;
  sxy /= (double)m;
  c.ok = true;
  c.path = path;
  c.vel = path / ((double)(m - 1) * dt);
  c.rms_x = sqrt(sxx);
  c.rms_y = sqrt(syy);
  double det = sxx * syy - sxy * sxy;
  c.area = M_PI * CHI2_95_2DOF * sqrt(det > 0.0 ? det : 0.0);
  return c;
}

/* Balance metrics of the scene samples [i0, i1) into the trial and the session. */
static int
balance_truth(StanceSimScene *s, StanceTruthTrial *tr, size_t i0, size_t i1)
{
  size_t n = i1 - i0;
  double sum_l = 0.0, sum_r = 0.0;
  for (size_t i = i0; i < i1; i++) {
    sum_l += s->f[0][i];
    sum_r += s->f[1][i];
  }
  double sum = sum_l + sum_r;
  _stance_sim_truth_metric(tr, "weight_bearing_pct", "%", STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT,
                           100.0 * sum_l / sum, 100.0 * sum_r / sum, 0.0);
  _stance_sim_truth_metric(tr, "mean_force", "N",
                           STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT | STANCE_TRUTH_TOTAL,
                           sum_l / (double)n, sum_r / (double)n, sum / (double)n);

  /* The net CoP of both plates in the shared lab frame (plate centres of the virtual board). */
  StanceCalibration cal;
  stance_sim_calibration(&cal);
  double *buf = malloc(3 * n * sizeof(double));
  if (!buf)
    return STANCE_ENOMEM;
  double *ft = buf, *xt = buf + n, *yt = buf + 2 * n;
  for (size_t k = 0; k < n; k++) {
    size_t i = i0 + k;
    double fl = s->f[0][i], fr = s->f[1][i];
    ft[k] = fl + fr;
    xt[k] = ft[k] > 0.0 ? (fl * (s->cx[0][i] + cal.plate[0].centre_x_mm) +
                           fr * (s->cx[1][i] + cal.plate[1].centre_x_mm)) /
                              ft[k]
                        : 0.0;
    yt[k] = ft[k] > 0.0 ? (fl * (s->cy[0][i] + cal.plate[0].centre_y_mm) +
                           fr * (s->cy[1][i] + cal.plate[1].centre_y_mm)) /
                              ft[k]
                        : 0.0;
  }
  CopStats cs[3];
  cs[0] = cop_stats(s->f[0], s->cx[0], s->cy[0], i0, i1, s->dt);
  cs[1] = cop_stats(s->f[1], s->cx[1], s->cy[1], i0, i1, s->dt);
  cs[2] = cop_stats(ft, xt, yt, 0, n, s->dt);
  free(buf);
  unsigned has = (cs[0].ok ? STANCE_TRUTH_LEFT : 0u) | (cs[1].ok ? STANCE_TRUTH_RIGHT : 0u) |
                 (cs[2].ok ? STANCE_TRUTH_TOTAL : 0u);
  if (has) {
    _stance_sim_truth_metric(tr, "cop_path_length", "mm", has, cs[0].path, cs[1].path, cs[2].path);
    _stance_sim_truth_metric(tr, "cop_mean_velocity", "mm/s", has, cs[0].vel, cs[1].vel, cs[2].vel);
    _stance_sim_truth_metric(tr, "cop_ellipse_area_95", "mm2", has, cs[0].area, cs[1].area,
                             cs[2].area);
    _stance_sim_truth_metric(tr, "cop_rms_x", "mm", has, cs[0].rms_x, cs[1].rms_x, cs[2].rms_x);
    _stance_sim_truth_metric(tr, "cop_rms_y", "mm", has, cs[0].rms_y, cs[1].rms_y, cs[2].rms_y);
  }
  return STANCE_OK;
}

static void
copy_to_session(StanceSimScene *s, const StanceTruthTrial *tr)
{
  for (int k = 0; k < tr->n_metrics; k++) {
    const StanceTruthMetric *m = &tr->metrics[k];
    _stance_sim_truth_session_metric(s, m->id, m->unit, m->has, m->left, m->right, m->total);
  }
}

static size_t
samples_for(const StanceSimScene *s, double seconds)
{
  size_t n = (size_t)llround(seconds * s->rate_hz);
  return n < 2 ? 2 : n;
}

/* ---- Protocols ---- */

static int
gen_quiet_standing(StanceSimScene *s, StanceError *err)
{
  size_t n = samples_for(s, s->p->duration_s);
  double share = _stance_sim_still_share_left(s->p);
  s->truth->still_share_left = share;
  Stand st;
  int r = stand_bilateral(s, n, share, &st);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = stand_push(s, &st, i);
  stand_free(&st);
  if (r < 0)
    return stance_error_set(err, r, "out of memory simulating quiet standing");
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, "stand", 0.0, _stance_sim_t(s, n));
  if (!tr)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the truth");
  _stance_sim_truth_event(tr, "stand_start", 0.0);
  _stance_sim_truth_event(tr, "stand_end", _stance_sim_t(s, n));
  if ((r = balance_truth(s, tr, 0, n)) < 0)
    return stance_error_set(err, r, "out of memory for the truth");
  copy_to_session(s, tr);
  return STANCE_OK;
}

static int
gen_sl_balance(StanceSimScene *s, StanceError *err)
{
  int stance = s->p->side == STANCE_SIDE_RIGHT ? 1 : 0;
  size_t n = samples_for(s, s->p->duration_s);
  s->truth->still_share_left = stance == 0 ? 1.0 : 0.0;
  Stand st;
  int r = stand_single(s, n, stance, &st);
  for (size_t i = 0; r == 0 && i < n; i++)
    r = stand_push(s, &st, i);
  stand_free(&st);
  if (r < 0)
    return stance_error_set(err, r, "out of memory simulating single-leg balance");
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, "stand", 0.0, _stance_sim_t(s, n));
  if (!tr)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the truth");
  _stance_sim_truth_event(tr, "stand_start", 0.0);
  _stance_sim_truth_event(tr, "stand_end", _stance_sim_t(s, n));
  if ((r = balance_truth(s, tr, 0, n)) < 0)
    return stance_error_set(err, r, "out of memory for the truth");
  copy_to_session(s, tr);
  return STANCE_OK;
}

/* Weigh-in: 1 s of empty plates, a step on (first foot, then the second 0.25-0.4 s later; the
 * total rises over 0.5 s and overshoots the weight by 3.5-6.5 % near 0.56 s after contact, a damped
 * 1.2 Hz oscillation gone 1.5 s after contact), then still standing for duration_s. */
static int
gen_weigh_in(StanceSimScene *s, StanceError *err)
{
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  double share = _stance_sim_still_share_left(p);
  s->truth->still_share_left = share;
  int r = _stance_sim_empty(s, 1.0);
  if (r < 0)
    return stance_error_set(err, r, "out of memory simulating the weigh-in");
  double t_contact = _stance_sim_t(s, s->n);
  size_t n_still = samples_for(s, p->duration_s);
  Stand st;
  if ((r = stand_bilateral(s, n_still, share, &st)) < 0)
    return stance_error_set(err, r, "out of memory simulating the weigh-in");

  int first = _stance_rng_uniform(rng) < 0.5 ? 0 : 1;
  double share_first_end = first == 0 ? share : 1.0 - share;
  double t2 = _stance_rng_range(rng, 0.25, 0.4);
  double over = _stance_rng_range(rng, 0.06, 0.11);
  const double t_step = 1.5;
  size_t n_step = (size_t)llround(t_step * s->rate_hz);
  double w = _stance_sim_weight(s);
  for (size_t k = 0; r == 0 && k < n_step; k++) {
    double tau = (double)k * s->dt;
    /* the load arrives over 0.5 s; from 0.35 s the body's deceleration adds a damped 1.2 Hz
     * overshoot (peak 3.5-6.5 % of the weight near 0.56 s), faded out by 1.5 s */
    double osc = 0.0;
    if (tau > 0.35)
      osc = over * sin(2.0 * M_PI * 1.2 * (tau - 0.35)) * exp(-(tau - 0.35) / 0.4) *
            (1.0 - _stance_smoothstep((tau - 1.0) / 0.5));
    double total = w * (_stance_smoothstep(tau / 0.5) + osc);
    if (total < 0.0)
      total = 0.0;
    double share_first = 1.0 - (1.0 - share_first_end) * _stance_smoothstep((tau - t2) / 0.4);
    double f_first = total * share_first, f_second = total - f_first;
    /* each foot lands heel first: its CoP rolls 50 mm forward over 0.3 s */
    double roll_first = -50.0 * (1.0 - _stance_smoothstep(tau / 0.3));
    double roll_second = -50.0 * (1.0 - _stance_smoothstep((tau - t2) / 0.3));
    double fl = first == 0 ? f_first : f_second, fr = total - fl;
    double yl = p->foot_y_mm[0] + st.y[0][0] + (first == 0 ? roll_first : roll_second);
    double yr = p->foot_y_mm[1] + st.y[1][0] + (first == 1 ? roll_first : roll_second);
    r = _stance_sim_push_cop(s, fl, fr, p->foot_x_mm[0] + st.x[0][0], yl,
                             p->foot_x_mm[1] + st.x[1][0], yr);
  }
  size_t i_still = s->n;
  for (size_t i = 0; r == 0 && i < n_still; i++)
    r = stand_push(s, &st, i);
  stand_free(&st);
  if (r < 0)
    return stance_error_set(err, r, "out of memory simulating the weigh-in");

  double t_still = _stance_sim_t(s, i_still), t_end = _stance_sim_t(s, s->n);
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, "stand", t_still, t_end);
  if (!tr)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the truth");
  _stance_sim_truth_event(tr, "step_on", t_contact);
  _stance_sim_truth_event(tr, "second_foot", t_contact + t2);
  _stance_sim_truth_event(tr, "stand_start", t_still);
  _stance_sim_truth_event(tr, "stand_end", t_end);
  if ((r = balance_truth(s, tr, i_still, s->n)) < 0)
    return stance_error_set(err, r, "out of memory for the truth");
  const StanceTruthMetric *mf = stance_sim_truth_metric(tr, "mean_force");
  _stance_sim_truth_metric(tr, "body_weight", "N", STANCE_TRUTH_TOTAL, 0.0, 0.0,
                           mf ? mf->total : w);
  copy_to_session(s, tr);
  return STANCE_OK;
}

int
_stance_sim_gen_balance(StanceSimScene *s, StanceError *err)
{
  switch (s->p->protocol) {
  case STANCE_PROTO_QUIET_STANDING: return gen_quiet_standing(s, err);
  case STANCE_PROTO_SL_BALANCE: return gen_sl_balance(s, err);
  case STANCE_PROTO_WEIGH_IN: return gen_weigh_in(s, err);
  default:
    return stance_error_set(err, STANCE_EINVAL,
                            "protocol '%s' is not one of the balance generator's (quiet-standing, "
                            "sl-balance, weigh-in)",
                            stance_protocol_name(s->p->protocol));
  }
}
