/* stance-limbs.c: timing between the left and the right limb's force curves (docs/methods.md,
 * "Limb timing").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   peak_time_offset  t(peak of F_right) - t(peak of F_left) over [a, b), s. A limb's peak time is
 *                     the first sample within 0.2 % of the maximum of that limb's force after a
 *                     zero-lag 50 Hz low-pass (4th order; skipped when the rate is at most
 *                     100 Hz). Plain argmax on the raw force lets noise choose between the samples
 *                     of a flat top or between two near-equal humps (on simulated CMJs with 1 N
 *                     of noise it jumps by up to 0.2 s); the low-pass removes the noise, the
 *                     0.2 % tie rule takes the earlier of near-equal humps. For one clear peak
 *                     both give the same sample.
 *   limb_xcorr_lag    the lag L (s) of the right curve against the left that maximises their
 *                     normalised cross-correlation over [a, b): for each lag k the Pearson
 *                     coefficient of l(i) and r(i + k) over the samples where both exist. The
 *                     cross products come from one FFT (FFTW r2c / c2r) of the mean-removed curves
 *                     zero-padded to a power of two >= 2 (b - a), so the correlation is linear,
 *                     not circular; the overlap's sums come from prefix sums: O(n log n) in all.
 *                     Normalising per overlap removes the pull towards lag 0 of the plain sum
 *                     (whose overlap shrinks with |k|): a curve and its copy delayed by d samples
 *                     correlate with r = 1 exactly at k = d. Lags are searched within
 *                     +-(b - a) / 2 (at least half of each curve overlaps the other) and refined
 *                     below one sample by a parabola through the maximum and its neighbours.
 *                     + = the right curve comes later. The method reports the peak r.
 * Neither value is a limb's quality, so both are in the "total" slot with no asymmetry.
 *
 * Threads: FFTW's planner is not thread-safe; plans are made (FFTW_ESTIMATE) and destroyed under
 * the analysis-wide stance_fftw_lock() (stance-condition.h), execution is lock-free.
 */
#include "stance-analysis-private.h"

#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Peak timing: low-pass (Hz, total order of the zero-lag pair) and the tie rule (% of the peak). */
#define PEAK_SMOOTH_HZ 50.0
#define PEAK_SMOOTH_ORDER 4
#define PEAK_TIE_PCT 0.2

/* Adds both metrics absent with the same reason. */
static int
timing_absent(StanceTrial *t, const char *why, double a_s, double b_s)
{
  const char *ids[2] = {"peak_time_offset", "limb_xcorr_lag"};
  const char *methods[2] = {"limb_timing.peak_offset", "limb_timing.xcorr_lag"};
  for (int k = 0; k < 2; k++) {
    StanceMetric *m = stance_trial_add_metric(t, ids[k], "s", methods[k]);
    if (!m)
      return STANCE_ENOMEM;
    m->no_asym = true;
    stance_method_param_num(&m->method, "from_s", a_s);
    stance_method_param_num(&m->method, "to_s", b_s);
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", why);
  }
  return STANCE_OK;
}

/* The first index of f[0..len) within tie_pct % of its maximum. */
static size_t
first_near_max(const double *f, size_t len, double tie_pct)
{
  size_t k = 0;
  for (size_t i = 1; i < len; i++)
    if (f[i] > f[k])
      k = i;
  double thr = f[k] - fabs(f[k]) * tie_pct / 100.0;
  for (size_t i = 0; i < k; i++)
    if (f[i] >= thr)
      return i;
  return k;
}

/* The normalised cross-correlation lag of r against l over [a, b), in samples (with sub-sample
 * refinement); *peak_r gets the Pearson coefficient at the best integer lag. Returns 0,
 * STANCE_ENOMEM, or STANCE_ENODATA when a curve is flat. */
static int
xcorr_lag(const double *l, const double *r, size_t a, size_t b, double *lag, double *peak_r,
          size_t *max_lag_out)
{
  const size_t len = b - a;
  double ml = 0.0, mr = 0.0;
  for (size_t i = a; i < b; i++) {
    ml += l[i];
    mr += r[i];
  }
  ml /= (double)len;
  mr /= (double)len;

  size_t nfft = 1;
  while (nfft < 2 * len)
    nfft <<= 1;
  const size_t nc = nfft / 2 + 1;
  double *x = fftw_malloc(nfft * sizeof(double));
  fftw_complex *xl = fftw_malloc(nc * sizeof(fftw_complex));
  fftw_complex *xr = fftw_malloc(nc * sizeof(fftw_complex));
  /* prefix sums of the mean-removed curves and their squares: index j = sum over [0, j) */
  double *pre = malloc((4 * (len + 1) + len + 1) * sizeof(double)); /* + rho */
  fftw_plan fwd = NULL, inv = NULL;
  int rc = STANCE_OK;
  if (!x || !xl || !xr || !pre) {
    rc = STANCE_ENOMEM;
    goto out;
  }
  double *pl = pre, *pl2 = pre + (len + 1), *pr = pre + 2 * (len + 1), *pr2 = pre + 3 * (len + 1);
  pl[0] = pl2[0] = pr[0] = pr2[0] = 0.0;
  for (size_t i = 0; i < len; i++) {
    double u = l[a + i] - ml, v = r[a + i] - mr;
    pl[i + 1] = pl[i] + u;
    pl2[i + 1] = pl2[i] + u * u;
    pr[i + 1] = pr[i] + v;
    pr2[i + 1] = pr2[i] + v * v;
  }
  /* flat: an SD below 1e-9 of the level (rounding, not a force) */
  const double el = pl2[len], er = pr2[len];
  if (!(el > (double)len * 1e-18 * (ml * ml + 1.0)) ||
      !(er > (double)len * 1e-18 * (mr * mr + 1.0))) {
    rc = STANCE_ENODATA;
    goto out;
  }

  stance_fftw_lock();
  fwd = fftw_plan_dft_r2c_1d((int)nfft, x, xl, FFTW_ESTIMATE);
  inv = fftw_plan_dft_c2r_1d((int)nfft, xl, x, FFTW_ESTIMATE);
  stance_fftw_unlock();
  if (!fwd || !inv) {
    rc = STANCE_ENOMEM;
    goto out;
  }

  /* spectra of both zero-padded curves (the new-array execute: same sizes and alignment) */
  memset(x, 0, nfft * sizeof(double));
  for (size_t i = 0; i < len; i++)
    x[i] = l[a + i] - ml;
  fftw_execute_dft_r2c(fwd, x, xl);
  memset(x, 0, nfft * sizeof(double));
  for (size_t i = 0; i < len; i++)
    x[i] = r[a + i] - mr;
  fftw_execute_dft_r2c(fwd, x, xr);
  /* conj(L) R: its inverse is sum_i l(i) r(i + k) at index k (k < 0 at nfft + k) */
  for (size_t k = 0; k < nc; k++) {
    double re = xl[k][0] * xr[k][0] + xl[k][1] * xr[k][1];
    double im = xl[k][0] * xr[k][1] - xl[k][1] * xr[k][0];
    xl[k][0] = re;
    xl[k][1] = im;
  }
  fftw_execute_dft_c2r(inv, xl, x); /* unnormalised: every value times nfft */

  size_t max_lag = len / 2;
  if (max_lag < 1)
    max_lag = 1;
  *max_lag_out = max_lag;
  /* Pearson coefficient per lag, rho[k + max_lag]; -2 where an overlap is numerically flat (a
   * variance below 1e-12 of the whole curve's) */
  const size_t nl = 2 * max_lag + 1;
  double *rho = pre + 4 * (len + 1);
  const double tiny_l = 1e-12 * el, tiny_r = 1e-12 * er;
  for (size_t q = 0; q < nl; q++) {
    long k = (long)q - (long)max_lag;
    size_t ak = (size_t)(k < 0 ? -k : k), m = len - ak;
    /* overlap: l over [0, m) with r over [k, len) for k >= 0; l over [-k, len) with r over
     * [0, m) for k < 0 */
    double sl, sll, sr, srr;
    if (k >= 0) {
      sl = pl[m];
      sll = pl2[m];
      sr = pr[len] - pr[ak];
      srr = pr2[len] - pr2[ak];
    } else {
      sl = pl[len] - pl[ak];
      sll = pl2[len] - pl2[ak];
      sr = pr[m];
      srr = pr2[m];
    }
    double slr = (k >= 0 ? x[ak] : x[nfft - ak]) / (double)nfft;
    double cov = slr - sl * sr / (double)m;
    double vl = sll - sl * sl / (double)m, vr = srr - sr * sr / (double)m;
    rho[q] = (vl > tiny_l && vr > tiny_r) ? cov / sqrt(vl * vr) : -2.0;
  }
  size_t qb = 0;
  for (size_t q = 1; q < nl; q++)
    if (rho[q] > rho[qb])
      qb = q;
  if (rho[qb] < -1.5) {
    rc = STANCE_ENODATA;
    goto out;
  }
  double delta = 0.0;
  if (qb > 0 && qb + 1 < nl && rho[qb - 1] > -1.5 && rho[qb + 1] > -1.5) {
    double ym = rho[qb - 1], y0 = rho[qb], yp = rho[qb + 1];
    double den = ym - 2.0 * y0 + yp;
    if (den < 0.0)
      delta = fmin(0.5, fmax(-0.5, 0.5 * (ym - yp) / den));
  }
  *lag = (double)((long)qb - (long)max_lag) + delta;
  *peak_r = rho[qb];

out:
  stance_fftw_lock();
  if (fwd)
    fftw_destroy_plan(fwd);
  if (inv)
    fftw_destroy_plan(inv);
  stance_fftw_unlock();
  fftw_free(x);
  fftw_free(xl);
  fftw_free(xr);
  free(pre);
  return rc;
}

int
stance_limb_timing(const StanceCtx *c, StanceTrial *t, size_t a, size_t b)
{
  if (!c || !t)
    return STANCE_EINVAL;
  if (b > c->n)
    b = c->n;
  const double a_s = (double)a * c->dt, b_s = (double)b * c->dt;
  if (!c->has_limbs || !c->f[STANCE_SEL_LEFT] || !c->f[STANCE_SEL_RIGHT] ||
      !c->f_raw[STANCE_SEL_LEFT] || !c->f_raw[STANCE_SEL_RIGHT])
    return timing_absent(t, "one-plate recording: no separate limb curves", a_s, b_s);
  if (b <= a || b - a < 3)
    return timing_absent(t, "the window holds fewer than 3 samples", a_s, b_s);
  if (b - a > (size_t)INT_MAX / 4)
    return timing_absent(t, "the window is too long for one transform", a_s, b_s);
  for (size_t i = a; i < b; i++)
    if (c->bad && c->bad[i]) {
      char why[96];
      snprintf(why, sizeof why, "gap or saturated sample at %.3f s inside the window",
               (double)i * c->dt);
      return timing_absent(t, why, a_s, b_s);
    }

  /* peak times on the smoothed unfiltered forces */
  const size_t len = b - a;
  const bool smooth = PEAK_SMOOTH_HZ < c->rate / 2.0 && len >= 3 * PEAK_SMOOTH_ORDER;
  size_t ip[2];
  double *sm = smooth ? malloc(len * sizeof(double)) : NULL;
  if (smooth && !sm)
    return STANCE_ENOMEM;
  bool smoothed = smooth;
  for (int s = 0; s < 2; s++) {
    const double *f = c->f_raw[s] + a;
    if (smooth) {
      int rc =
          stance_cond_lowpass(f, NULL, len, c->rate, PEAK_SMOOTH_ORDER, PEAK_SMOOTH_HZ, sm, NULL);
      if (rc == STANCE_ENOMEM) {
        free(sm);
        return rc;
      }
      if (rc == STANCE_OK)
        f = sm;
      else
        smoothed = false; /* not expected for the checked rate: the raw force then */
    }
    ip[s] = a + first_near_max(f, len, PEAK_TIE_PCT);
  }
  free(sm);
  StanceMetric *m = stance_trial_add_metric(t, "peak_time_offset", "s", "limb_timing.peak_offset");
  if (!m)
    return STANCE_ENOMEM;
  m->no_asym = true;
  stance_method_param_num(&m->method, "from_s", a_s);
  stance_method_param_num(&m->method, "to_s", b_s);
  stance_method_param_num(&m->method, "smooth_hz", smoothed ? PEAK_SMOOTH_HZ : 0.0);
  stance_method_param_num(&m->method, "tie_pct", PEAK_TIE_PCT);
  stance_method_param_num(&m->method, "left_peak_s", (double)ip[0] * c->dt);
  stance_method_param_num(&m->method, "right_peak_s", (double)ip[1] * c->dt);
  stance_metric_set(m, STANCE_SEL_TOTAL, ((double)ip[1] - (double)ip[0]) * c->dt);

  /* cross-correlation lag on the conditioned forces */
  double lag = 0.0, peak_r = 0.0;
  size_t max_lag = 0;
  int rc = xcorr_lag(c->f[STANCE_SEL_LEFT], c->f[STANCE_SEL_RIGHT], a, b, &lag, &peak_r, &max_lag);
  if (rc == STANCE_ENOMEM)
    return rc;
  m = stance_trial_add_metric(t, "limb_xcorr_lag", "s", "limb_timing.xcorr_lag");
  if (!m)
    return STANCE_ENOMEM;
  m->no_asym = true;
  stance_method_param_num(&m->method, "from_s", a_s);
  stance_method_param_num(&m->method, "to_s", b_s);
  stance_method_param_str(&m->method, "normalise", "pearson_per_lag");
  stance_method_param_str(&m->method, "refine", "parabolic");
  if (rc == STANCE_ENODATA) {
    stance_metric_absent(m, STANCE_SEL_TOTAL, "a limb's force is constant over the window");
    return STANCE_OK;
  }
  stance_method_param_num(&m->method, "max_lag_s", (double)max_lag * c->dt);
  stance_method_param_num(&m->method, "peak_r", peak_r);
  stance_metric_set(m, STANCE_SEL_TOTAL, lag * c->dt);
  return STANCE_OK;
}
