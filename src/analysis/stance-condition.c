/* stance-condition.c: signal conditioning of force series (see stance-condition.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Methods and their references are in docs/methods.md ("Conditioning"). Everything here works on
 * plain arrays of newtons; a sample marked bad is never read for a statistic, a spectrum or a
 * filter, and non-finite values in samples not marked bad are refused (STANCE_EINVAL naming the
 * sample) rather than propagated.
 */
#include "stance-condition.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* FFTW's planner (and, per its manual, every FFTW call except fftw_execute) is not thread-safe:
 * planning, allocation and destruction go through this process-wide lock. */
static pthread_mutex_t fftw_lock = PTHREAD_MUTEX_INITIALIZER;

void
stance_fftw_lock(void)
{
  pthread_mutex_lock(&fftw_lock);
}

void
stance_fftw_unlock(void)
{
  pthread_mutex_unlock(&fftw_lock);
}

/* ---- helpers ---- */

static bool
is_bad(const uint8_t *bad, size_t i)
{
  return bad != NULL && bad[i] != 0;
}

static int
check_rate(double rate_hz, const char *fn, StanceError *err)
{
  if (!isfinite(rate_hz) || rate_hz <= 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: sample rate %g Hz is invalid (expected a finite rate > 0 Hz)", fn,
                            rate_hz);
  return STANCE_OK;
}

/* Refuses non-finite values in the samples of [from, to) that are not marked bad. */
static int
check_finite(const double *x, const uint8_t *bad, size_t from, size_t to, const char *fn,
             StanceError *err)
{
  for (size_t i = from; i < to; i++)
    if (!is_bad(bad, i) && !isfinite(x[i]))
      return stance_error_set(err, STANCE_EINVAL,
                              "%s: sample %zu is %g (expected a finite force in newtons, or the "
                              "sample marked bad)",
                              fn, i, x[i]);
  return STANCE_OK;
}

/* Two-pass mean and sample SD of the good samples of x[from, to); returns how many were used. */
static size_t
mean_sd(const double *x, const uint8_t *bad, size_t from, size_t to, double *mean, double *sd)
{
  size_t m = 0;
  double s = 0.0;
  for (size_t i = from; i < to; i++)
    if (!is_bad(bad, i)) {
      s += x[i];
      m++;
    }
  *mean = m ? s / (double)m : 0.0;
  double ss = 0.0;
  for (size_t i = from; i < to; i++)
    if (!is_bad(bad, i)) {
      double d = x[i] - *mean;
      ss += d * d;
    }
  *sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
  return m;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- Weighing ---- */

void
stance_weigh_options_default(StanceWeighOptions *o)
{
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  o->rule = STANCE_WEIGH_STILLEST;
  o->window_s = 1.0;
  o->min_force_n = 200.0;
  o->max_sd_n = 15.0;
  o->max_cv_pct = 2.0;
  o->search_from = 0;
  o->search_to = 0;
}

static bool
weigh_is_still(const StanceWeighOptions *o, double mean, double sd)
{
  return sd <= o->max_sd_n && sd <= o->max_cv_pct / 100.0 * mean;
}

/* The stillest rule: every window start from `from` to `to - L` (step one sample), sums kept
 * sliding and recomputed from scratch every 8 L steps so rounding cannot accumulate over long
 * recordings; the chosen window is then measured again with the two-pass formulas. */
static void
weigh_stillest(const double *f, const uint8_t *bad, size_t from, size_t to, size_t L,
               const StanceWeighOptions *o, StanceWeighing *out)
{
  bool have = false;
  size_t best = 0;
  double best_var = 0.0;
  double shift = 0.0, sum = 0.0, sumsq = 0.0;
  size_t nbad = 0, since_sync = 0;
  const double inv_l = 1.0 / (double)L, inv_l1 = 1.0 / (double)(L - 1);
  for (size_t s = from; s + L <= to; s++, since_sync++) {
    if (s == from || since_sync == 8 * L) {
      since_sync = 0;
      /* Resynchronise, shifting by a value of the window so the squares stay small. */
      shift = 0.0;
      for (size_t i = s; i < s + L; i++)
        if (!is_bad(bad, i)) {
          shift = f[i];
          break;
        }
      sum = sumsq = 0.0;
      nbad = 0;
      for (size_t i = s; i < s + L; i++) {
        if (is_bad(bad, i)) {
          nbad++;
        } else {
          double d = f[i] - shift;
          sum += d;
          sumsq += d * d;
        }
      }
    } else {
      size_t out_i = s - 1, in_i = s + L - 1;
      if (is_bad(bad, out_i)) {
        nbad--;
      } else {
        double d = f[out_i] - shift;
        sum -= d;
        sumsq -= d * d;
      }
      if (is_bad(bad, in_i)) {
        nbad++;
      } else {
        double d = f[in_i] - shift;
        sum += d;
        sumsq += d * d;
      }
    }
    if (nbad != 0)
      continue;
    double mean = shift + sum * inv_l;
    if (!(mean > o->min_force_n))
      continue;
    double var = (sumsq - sum * sum * inv_l) * inv_l1;
    if (var < 0.0)
      var = 0.0;
    if (!have || var < best_var) {
      have = true;
      best = s;
      best_var = var;
    }
  }
  if (!have) {
    out->found = false;
    out->start = from;
    out->len = 0;
    return;
  }
  mean_sd(f, NULL, best, best + L, &out->mean_n, &out->sd_n);
  out->start = best;
  out->len = L;
  out->found = weigh_is_still(o, out->mean_n, out->sd_n);
}

int
stance_cond_weigh(const double *f, const uint8_t *bad, size_t n, double rate_hz,
                  const StanceWeighOptions *o, StanceWeighing *out, StanceError *err)
{
  static const char fn[] = "weighing";
  StanceWeighOptions def;
  if (!o) {
    stance_weigh_options_default(&def);
    o = &def;
  }
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "%s: no result given (expected a StanceWeighing)",
                            fn);
  memset(out, 0, sizeof *out);
  if (!f && n > 0)
    return stance_error_set(err, STANCE_EINVAL, "%s: no force series (expected %zu samples)", fn,
                            n);
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (o->rule != STANCE_WEIGH_STILLEST && o->rule != STANCE_WEIGH_FIRST)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: rule %d is unknown (expected STANCE_WEIGH_STILLEST or "
                            "STANCE_WEIGH_FIRST)",
                            fn, (int)o->rule);
  if (!isfinite(o->window_s) || o->window_s <= 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: window of %g s is invalid (expected a finite length > 0 s)", fn,
                            o->window_s);
  /* 1 ms of slack so that 1.0 s computed as e.g. 1200 / 1200.0000001 still counts. */
  if (o->rule == STANCE_WEIGH_STILLEST && o->window_s < 1.0 - 1e-3)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: window of %g s is too short for the stillest-window rule "
                            "(expected at least 1 s)",
                            fn, o->window_s);
  if (!isfinite(o->min_force_n))
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: minimum load %g N is invalid (expected a finite force, e.g. "
                            "200 N)",
                            fn, o->min_force_n);
  if (!isfinite(o->max_sd_n) || o->max_sd_n <= 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: maximum SD %g N is invalid (expected a finite value > 0, e.g. "
                            "15 N)",
                            fn, o->max_sd_n);
  if (!isfinite(o->max_cv_pct) || o->max_cv_pct <= 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: maximum CV %g %% is invalid (expected a finite value > 0, e.g. "
                            "2 %%)",
                            fn, o->max_cv_pct);
  size_t to = o->search_to ? o->search_to : n;
  if (to > n)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: search ends at sample %zu but the series has %zu samples "
                            "(expected search_to <= %zu, or 0 for the end)",
                            fn, to, n, n);
  size_t from = o->search_from;
  if (from >= to && n > 0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: search range [%zu, %zu) is empty (expected search_from < "
                            "search_to)",
                            fn, from, to);
  double wl = round(o->window_s * rate_hz);
  if (wl < 2.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: a %g s window is %.0f sample(s) at %g Hz (expected at least 2)",
                            fn, o->window_s, wl, rate_hz);
  if (n == 0 || wl > (double)(to - from))
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: %zu sample(s) to search, but one %g s window needs %.0f at %g Hz",
                            fn, n == 0 ? 0 : to - from, o->window_s, wl, rate_hz);
  size_t L = (size_t)wl;
  if ((r = check_finite(f, bad, from, to, fn, err)) < 0)
    return r;

  if (o->rule == STANCE_WEIGH_STILLEST) {
    weigh_stillest(f, bad, from, to, L, o, out);
    return STANCE_OK;
  }

  /* FIRST: the window [from, from + L) must be loaded, gap-free and still. */
  double mean, sd;
  size_t m = mean_sd(f, bad, from, from + L, &mean, &sd);
  out->start = from;
  if (m < 2 || !(mean > o->min_force_n)) {
    out->found = false;
    out->len = 0;
    return STANCE_OK;
  }
  out->mean_n = mean;
  out->sd_n = sd;
  out->len = L;
  out->found = m == L && weigh_is_still(o, mean, sd);
  return STANCE_OK;
}

/* ---- Unloaded plates ---- */

int
stance_cond_unloaded(const double *f, const uint8_t *bad, size_t n, double rate_hz,
                     double load_threshold_n, double min_s, StanceUnloaded *out, StanceError *err)
{
  static const char fn[] = "unloaded plate";
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "%s: no result given (expected a StanceUnloaded)",
                            fn);
  memset(out, 0, sizeof *out);
  if (!f && n > 0)
    return stance_error_set(err, STANCE_EINVAL, "%s: no force series (expected %zu samples)", fn,
                            n);
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (!isfinite(load_threshold_n))
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: load threshold %g N is invalid (expected a finite force, e.g. "
                            "50 N)",
                            fn, load_threshold_n);
  if (!isfinite(min_s) || min_s <= 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: minimum duration %g s is invalid (expected a finite time > 0, "
                            "e.g. 0.1 s)",
                            fn, min_s);
  /* 10 ms are dropped at each end of the stretch (takeoff and landing edges). */
  size_t trim = (size_t)ceil(0.010 * rate_hz - 1e-9);
  double min_len = ceil(min_s * rate_hz - 1e-9);
  if (min_len < (double)(2 * trim + 2))
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: minimum duration %g s is %.0f sample(s) at %g Hz; the 10 ms "
                            "trimmed at each end leave fewer than 2 (expected at least %g s)",
                            fn, min_s, min_len, rate_hz, (double)(2 * trim + 2) / rate_hz);
  if (n == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: the series is empty (expected at least "
                            "%.0f samples)",
                            fn, min_len);
  if ((r = check_finite(f, bad, 0, n, fn, err)) < 0)
    return r;

  size_t best_start = 0, best_len = 0, run_start = 0, run_len = 0;
  for (size_t i = 0; i <= n; i++) {
    bool in = i < n && !is_bad(bad, i) && f[i] < load_threshold_n;
    if (in) {
      if (run_len == 0)
        run_start = i;
      run_len++;
    } else if (run_len > 0) {
      if (run_len > best_len) {
        best_len = run_len;
        best_start = run_start;
      }
      run_len = 0;
    }
  }
  out->start = best_start;
  out->len = best_len;
  if ((double)best_len < min_len) {
    out->found = false;
    return STANCE_OK;
  }
  mean_sd(f, NULL, best_start + trim, best_start + best_len - trim, &out->mean_n, &out->sd_n);
  out->found = true;
  return STANCE_OK;
}

/* ---- Filtering ---- */

/* One section of the cascade: a biquad (or a first-order section with b2 = a2 = 0), direct form
 * II transposed, normalised so a0 = 1. */
typedef struct {
  double b0, b1, b2, a1, a2;
} Sos;

#define MAX_SECTIONS 2

/* Designs a Butterworth low-pass of order np (one pass, 1..4) by the bilinear transform, its
 * single-pass cutoff moved so that the forward-backward pair is -3 dB at cutoff_hz.
 *
 * One pass of a Butterworth of order N has |H|^2 = 1 / (1 + (W / Wc)^(2N)) with W = tan(pi f /
 * fs) the prewarped frequency. Two passes square it, so the pair is at -3 dB where
 * (W / Wc)^(2N) = sqrt(2) - 1: Winter's correction factor C = (2^(1/2) - 1)^(1/(2N)) (0.802 for
 * his second-order pair) and Wc = tan(pi cutoff / fs) / C. Working on the prewarped frequency
 * makes the -3 dB point exact at any cutoff below Nyquist. */
static int
butter_design(int np, double cutoff_hz, double rate_hz, Sos *sos)
{
  double c = pow(sqrt(2.0) - 1.0, 1.0 / (2.0 * np));
  double k = tan(M_PI * cutoff_hz / rate_hz) / c;
  int ns = 0;
  if (np % 2) {
    double norm = 1.0 + k;
    sos[ns++] = (Sos){k / norm, k / norm, 0.0, (k - 1.0) / norm, 0.0};
  }
  for (int j = 0; j < np / 2; j++) {
    double q = 2.0 * sin(M_PI * (2.0 * j + 1.0) / (2.0 * np));
    double norm = 1.0 + q * k + k * k;
    double b0 = k * k / norm;
    sos[ns++] = (Sos){b0, 2.0 * b0, b0, 2.0 * (k * k - 1.0) / norm, (1.0 - q * k + k * k) / norm};
  }
  return ns;
}

/* Runs one section over buf[0..m) forward (dir 1) or backward (dir -1), its state started at the
 * steady state for a constant input equal to the first sample it sees (the DC gain is 1, so the
 * state for input u is z1 = u (1 - b0), z2 = u (b2 - a2)). */
static void
sos_run(const Sos *s, double *buf, size_t m, int dir)
{
  size_t i = dir > 0 ? 0 : m - 1;
  double u = buf[i];
  double z1 = u * (1.0 - s->b0), z2 = u * (s->b2 - s->a2);
  for (size_t c = 0; c < m; c++, i += (size_t)(ptrdiff_t)dir) {
    double xin = buf[i];
    double y = s->b0 * xin + z1;
    z1 = s->b1 * xin - s->a1 * y + z2;
    z2 = s->b2 * xin - s->a2 * y;
    buf[i] = y;
  }
}

/* Filters x[0..len) into y[0..len) (may alias) using work (len + 2 * 3 * order doubles). */
static void
filter_stretch(const Sos *sos, int ns, int order, const double *x, size_t len, double *y,
               double *work)
{
  size_t pad = (size_t)(3 * order);
  if (pad > len - 1)
    pad = len - 1;
  /* The filter runs on x - x[0]: a constant comes out exactly (zeros stay zeros), and body
   * weight no longer sits in the states of poles close to z = 1 (low cutoffs) where its rounding
   * would show. Odd reflection about each end point: the padding continues the local slope, so
   * the filter starts on a trend rather than on a step. */
  double x0 = x[0], xe = x[len - 1] - x0;
  for (size_t i = 0; i < pad; i++)
    work[i] = -(x[pad - i] - x0);
  for (size_t i = 0; i < len; i++)
    work[pad + i] = x[i] - x0;
  for (size_t j = 0; j < pad; j++)
    work[pad + len + j] = 2.0 * xe - (x[len - 2 - j] - x0);
  size_t m = len + 2 * pad;
  for (int s = 0; s < ns; s++)
    sos_run(&sos[s], work, m, 1);
  for (int s = ns - 1; s >= 0; s--)
    sos_run(&sos[s], work, m, -1);
  for (size_t i = 0; i < len; i++)
    y[i] = work[pad + i] + x0;
}

static int
check_lowpass_args(double rate_hz, int order, double cutoff_hz, const char *fn, StanceError *err)
{
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (order < 2 || order > 8 || order % 2)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: order %d is invalid (expected an even total order 2, 4, 6 or 8)",
                            fn, order);
  if (!isfinite(cutoff_hz) || cutoff_hz <= 0.0 || cutoff_hz >= rate_hz / 2.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: cutoff %g Hz is invalid (expected 0 < cutoff < %g Hz, half the "
                            "%g Hz rate)",
                            fn, cutoff_hz, rate_hz / 2.0, rate_hz);
  return STANCE_OK;
}

int
stance_cond_lowpass(const double *x, const uint8_t *bad, size_t n, double rate_hz, int order,
                    double cutoff_hz, double *y, StanceError *err)
{
  static const char fn[] = "low-pass";
  int r = check_lowpass_args(rate_hz, order, cutoff_hz, fn, err);
  if (r < 0)
    return r;
  if (n == 0)
    return STANCE_OK;
  if (!x || !y)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: no %s series (expected %zu samples in and out)", fn,
                            !x ? "input" : "output", n);
  if ((r = check_finite(x, bad, 0, n, fn, err)) < 0)
    return r;
  Sos sos[MAX_SECTIONS];
  int ns = butter_design(order / 2, cutoff_hz, rate_hz, sos);
  size_t minlen = (size_t)(3 * order);
  double *work = NULL;
  size_t i = 0;
  while (i < n) {
    if (is_bad(bad, i)) {
      y[i] = x[i];
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && !is_bad(bad, j))
      j++;
    size_t len = j - i;
    if (len < minlen) {
      if (y != x)
        memmove(y + i, x + i, len * sizeof *y);
    } else {
      if (!work) {
        work = malloc((n + 2 * minlen) * sizeof *work);
        if (!work)
          return stance_error_set(err, STANCE_ENOMEM,
                                  "%s: out of memory for a work buffer of %zu samples", fn,
                                  n + 2 * minlen);
      }
      filter_stretch(sos, ns, order, x + i, len, y + i, work);
    }
    i = j;
  }
  free(work);
  return STANCE_OK;
}

int
stance_cond_residual_cutoff(const double *x, size_t start, size_t len, double rate_hz,
                            double *cutoff_hz, StanceError *err)
{
  static const char fn[] = "residual analysis";
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (!cutoff_hz)
    return stance_error_set(err, STANCE_EINVAL, "%s: no result given (expected a double)", fn);
  *cutoff_hz = 0.0;
  if (!x)
    return stance_error_set(err, STANCE_EINVAL, "%s: no series (expected %zu samples)", fn, len);
  if (start + len < start)
    return stance_error_set(err, STANCE_EINVAL, "%s: stretch [%zu, +%zu) overflows", fn, start,
                            len);
  double fmax = floor(fmin(rate_hz / 4.0, 100.0));
  if (fmax < 10.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: at %g Hz only %.0f cutoff(s) from 1 Hz to rate/4 can be tried "
                            "(expected a rate of at least 40 Hz for 10 cutoffs)",
                            fn, rate_hz, fmax);
  /* At least one period of the lowest cutoff tried (1 Hz). */
  double need = ceil(rate_hz);
  if ((double)len < need)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: %zu sample(s) given, but at least 1 s (%.0f samples at %g Hz) "
                            "is needed",
                            fn, len, need, rate_hz);
  if ((r = check_finite(x, NULL, start, start + len, fn, err)) < 0)
    return r;

  const int order = 4; /* Winter's second-order Butterworth run forward and backward */
  int nf = (int)fmax;
  double *res = malloc((size_t)nf * sizeof *res);
  double *y = malloc(len * sizeof *y);
  double *work = malloc((len + 6 * (size_t)order) * sizeof *work);
  if (!res || !y || !work) {
    free(res);
    free(y);
    free(work);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory for %zu samples", fn, len);
  }
  const double *xs = x + start;
  for (int k = 0; k < nf; k++) {
    Sos sos[MAX_SECTIONS];
    int ns = butter_design(order / 2, k + 1.0, rate_hz, sos);
    filter_stretch(sos, ns, order, xs, len, y, work);
    double ss = 0.0;
    for (size_t i = 0; i < len; i++) {
      double d = xs[i] - y[i];
      ss += d * d;
    }
    res[k] = sqrt(ss / (double)len);
  }
  /* Least-squares line through the highest fifth of cutoffs (at least 2 points): above the
   * signal's band the residual is the noise that passes, falling linearly with the cutoff; its
   * intercept at 0 Hz estimates the RMS of all the noise. */
  int m = (nf + 4) / 5;
  if (m < 2)
    m = 2;
  double sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
  for (int k = nf - m; k < nf; k++) {
    double fc = k + 1.0;
    sx += fc;
    sy += res[k];
    sxx += fc * fc;
    sxy += fc * res[k];
  }
  double den = m * sxx - sx * sx;
  double slope = (m * sxy - sx * sy) / den;
  double a = (sy - slope * sx) / m;
  int found = -1;
  for (int k = 0; k < nf; k++)
    if (res[k] <= a) {
      found = k;
      break;
    }
  double r_lo = res[0], r_hi = res[nf - 1];
  free(res);
  free(y);
  free(work);
  if (found < 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: the residual (%g N at 1 Hz, %g N at %d Hz) never falls to the "
                            "noise line's intercept %g N (expected a signal plus broadband "
                            "noise)",
                            fn, r_lo, r_hi, nf, a);
  *cutoff_hz = found + 1.0;
  return STANCE_OK;
}

/* ---- Spectrum ---- */

static bool
is_pow2(size_t v)
{
  return v && !(v & (v - 1));
}

/* Welch on xs[0..len) without argument checks. */
static int
welch_core(const double *xs, size_t len, double rate_hz, size_t seg, double *psd, StanceError *err)
{
  static const char fn[] = "Welch spectrum";
  size_t nb = seg / 2 + 1;
  pthread_mutex_lock(&fftw_lock);
  double *in = fftw_alloc_real(seg);
  fftw_complex *spec = fftw_alloc_complex(nb);
  fftw_plan plan = NULL;
  if (in && spec)
    plan = fftw_plan_dft_r2c_1d((int)seg, in, spec, FFTW_ESTIMATE);
  pthread_mutex_unlock(&fftw_lock);
  double *win = malloc(seg * sizeof *win);
  if (!plan || !win) {
    free(win);
    pthread_mutex_lock(&fftw_lock);
    if (plan)
      fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(spec);
    pthread_mutex_unlock(&fftw_lock);
    return stance_error_set(err, STANCE_ENOMEM,
                            "%s: out of memory (or no FFTW plan) for %zu-point segments", fn, seg);
  }
  /* Periodic Hann window; density scaling 1 / (fs sum w^2), one-sided. */
  double wss = 0.0;
  for (size_t j = 0; j < seg; j++) {
    win[j] = 0.5 - 0.5 * cos(2.0 * M_PI * (double)j / (double)seg);
    wss += win[j] * win[j];
  }
  for (size_t k = 0; k < nb; k++)
    psd[k] = 0.0;
  size_t hop = seg / 2, nseg = (len - seg) / hop + 1;
  for (size_t g = 0; g < nseg; g++) {
    const double *s = xs + g * hop;
    double mean = 0.0;
    for (size_t j = 0; j < seg; j++)
      mean += s[j];
    mean /= (double)seg;
    for (size_t j = 0; j < seg; j++)
      in[j] = (s[j] - mean) * win[j];
    fftw_execute(plan);
    for (size_t k = 0; k < nb; k++)
      psd[k] += spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];
  }
  double scale = 1.0 / (rate_hz * wss * (double)nseg);
  for (size_t k = 0; k < nb; k++) {
    double one_sided = (k == 0 || k == seg / 2) ? 1.0 : 2.0;
    psd[k] *= scale * one_sided;
  }
  free(win);
  pthread_mutex_lock(&fftw_lock);
  fftw_destroy_plan(plan);
  fftw_free(in);
  fftw_free(spec);
  pthread_mutex_unlock(&fftw_lock);
  return STANCE_OK;
}

int
stance_cond_welch(const double *x, size_t start, size_t len, double rate_hz, size_t seg_len,
                  double *psd, StanceError *err)
{
  static const char fn[] = "Welch spectrum";
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (!x || !psd)
    return stance_error_set(err, STANCE_EINVAL, "%s: no %s (expected %s)", fn,
                            !x ? "series" : "output",
                            !x ? "the samples to analyse" : "seg_len/2 + 1 values for the PSD");
  if (start + len < start)
    return stance_error_set(err, STANCE_EINVAL, "%s: stretch [%zu, +%zu) overflows", fn, start,
                            len);
  if (!is_pow2(seg_len) || seg_len < 16 || seg_len > (size_t)1 << 30)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: segment length %zu is invalid (expected a power of two from 16 "
                            "to 2^30)",
                            fn, seg_len);
  if (seg_len > len)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: %zu sample(s) given, fewer than one %zu-sample segment "
                            "(expected at least %zu samples)",
                            fn, len, seg_len, seg_len);
  if ((r = check_finite(x, NULL, start, start + len, fn, err)) < 0)
    return r;
  return welch_core(x + start, len, rate_hz, seg_len, psd, err);
}

/* Median of the PSD over the 30-90 Hz band, leaving out the bins within 2 of either mains line;
 * returns the number of bins used. */
static size_t
band_median(const double *psd, size_t nb, double df, size_t k50, size_t k60, double *median)
{
  size_t lo = (size_t)ceil(30.0 / df), hi = (size_t)floor(90.0 / df);
  if (hi >= nb)
    hi = nb - 1;
  if (lo > hi)
    return 0;
  double *tmp = malloc((hi - lo + 1) * sizeof *tmp);
  if (!tmp)
    return 0;
  size_t m = 0;
  for (size_t k = lo; k <= hi; k++) {
    size_t d50 = k > k50 ? k - k50 : k50 - k, d60 = k > k60 ? k - k60 : k60 - k;
    if (d50 > 2 && d60 > 2)
      tmp[m++] = psd[k];
  }
  if (m > 0) {
    qsort(tmp, m, sizeof *tmp, cmp_double);
    *median = m % 2 ? tmp[m / 2] : 0.5 * (tmp[m / 2 - 1] + tmp[m / 2]);
  }
  free(tmp);
  return m;
}

int
stance_cond_spectrum_quality(const double *x, size_t start, size_t len, double rate_hz,
                             StanceSpectrumQuality *out, StanceError *err)
{
  static const char fn[] = "spectrum quality";
  if (!out)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: no result given (expected a StanceSpectrumQuality)", fn);
  memset(out, 0, sizeof *out);
  int r = check_rate(rate_hz, fn, err);
  if (r < 0)
    return r;
  if (!x)
    return stance_error_set(err, STANCE_EINVAL, "%s: no series (expected %zu samples)", fn, len);
  if (start + len < start)
    return stance_error_set(err, STANCE_EINVAL, "%s: stretch [%zu, +%zu) overflows", fn, start,
                            len);
  double need = fmax(ceil(rate_hz - 1e-9), 32.0);
  if ((double)len < need)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: %zu still sample(s) given, but at least 1 s (and 32 samples; "
                            "%.0f at %g Hz) is needed",
                            fn, len, need, rate_hz);
  if ((r = check_finite(x, NULL, start, start + len, fn, err)) < 0)
    return r;

  /* Segments: the largest power of two within a quarter of the stretch (at least 7 segments with
   * 50 % overlap: the average tames the cross terms between a line and the noise under it) and
   * at most 1 s long (bins >= 1 Hz); but never coarser than 4 Hz bins while the stretch allows,
   * so that 50 and 60 Hz stay apart and the 30-90 Hz band keeps enough bins for its median. */
  size_t seg = 16;
  while (seg * 2 <= len / 4 && (double)(seg * 2) <= rate_hz)
    seg *= 2;
  while (seg * 2 <= len && rate_hz / (double)seg > 4.0)
    seg *= 2;
  size_t nb = seg / 2 + 1;
  double *d = malloc(len * sizeof *d);
  double *psd = malloc(nb * sizeof *psd);
  if (!d || !psd) {
    free(d);
    free(psd);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory for %zu samples", fn, len);
  }
  /* Remove the least-squares line of the whole stretch (slow drift or sway trend). */
  const double *xs = x + start;
  double tm = 0.5 * (double)(len - 1), xm = 0.0;
  for (size_t i = 0; i < len; i++)
    xm += xs[i];
  xm /= (double)len;
  double stt = 0.0, stx = 0.0;
  for (size_t i = 0; i < len; i++) {
    double t = (double)i - tm;
    stt += t * t;
    stx += t * (xs[i] - xm);
  }
  double slope = stt > 0.0 ? stx / stt : 0.0;
  for (size_t i = 0; i < len; i++)
    d[i] = xs[i] - xm - slope * ((double)i - tm);
  r = welch_core(d, len, rate_hz, seg, psd, err);
  free(d);
  if (r < 0) {
    free(psd);
    return r;
  }
  double df = rate_hz / (double)seg;
  out->df_hz = df;
  double pw = 0.0;
  for (size_t k = 1; k < nb; k++)
    if ((double)k * df >= 1.0)
      pw += psd[k] * df;
  out->noise_floor_n = sqrt(pw);

  if (rate_hz >= 200.0) {
    size_t k50 = (size_t)lround(50.0 / df), k60 = (size_t)lround(60.0 / df);
    double med = 0.0;
    if (band_median(psd, nb, df, k50, k60, &med) >= 5) {
      const double lines[2] = {50.0, 60.0};
      const size_t kl[2] = {k50, k60};
      for (int l = 0; l < 2; l++) {
        size_t kc = kl[l];
        if (kc < 3 || kc + 2 >= nb)
          continue;
        double peak = fmax(psd[kc - 1], fmax(psd[kc], psd[kc + 1]));
        if (!(peak > 10.0 * med))
          continue;
        /* The Hann main lobe spans +-2 bins: its power above the band's level is the line's. */
        double p = 0.0;
        for (size_t k = kc - 2; k <= kc + 2; k++)
          p += fmax(psd[k] - med, 0.0) * df;
        double amp = sqrt(2.0 * p);
        /* 1 uN: below that a "line" is rounding on a numerically constant signal. */
        if (amp > 1e-6 && amp > out->mains_amp_n) {
          out->mains_hz = lines[l];
          out->mains_amp_n = amp;
        }
      }
    }
  }
  free(psd);
  return STANCE_OK;
}

/* ---- Spikes ---- */

static double
sorted_median(const double *v, size_t n)
{
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Default minimum deviation of a spike: 10 times the sample-to-sample noise, at least 10 N. */
#define SPIKE_MIN_DEV_FLOOR_N 10.0
#define SPIKE_MIN_DEV_NOISE_X 10.0
#define SPIKE_NOISE_MAX_PAIRS 100000

/* Robust white-noise SD of the series from its first differences: 1.4826 * median |x[i+1] - x[i]|
 * / sqrt(2). Slow movement barely changes sample-to-sample differences, so on a recording with any
 * quiet part this is the sensor noise. At most SPIKE_NOISE_MAX_PAIRS evenly strided pairs are
 * used. */
static int
diff_noise_sd(const double *x, const uint8_t *bad, size_t n, double *sd, StanceError *err)
{
  *sd = 0.0;
  if (n < 2)
    return STANCE_OK;
  size_t pairs = n - 1;
  size_t stride = (pairs + SPIKE_NOISE_MAX_PAIRS - 1) / SPIKE_NOISE_MAX_PAIRS;
  double *d = malloc((pairs / stride + 1) * sizeof *d);
  if (!d)
    return stance_error_set(err, STANCE_ENOMEM, "spikes: out of memory for the noise estimate");
  size_t m = 0;
  for (size_t i = 0; i + 1 < n; i += stride)
    if (!is_bad(bad, i) && !is_bad(bad, i + 1))
      d[m++] = fabs(x[i + 1] - x[i]);
  if (m > 0) {
    qsort(d, m, sizeof *d, cmp_double);
    *sd = 1.4826 * sorted_median(d, m) / sqrt(2.0);
  }
  free(d);
  return STANCE_OK;
}

int
stance_cond_spikes(const double *x, const uint8_t *bad, size_t n, int half_window, double k,
                   double min_dev_n, uint8_t *spike, size_t *n_spikes, StanceError *err)
{
  static const char fn[] = "spikes";
  if (!n_spikes)
    return stance_error_set(err, STANCE_EINVAL, "%s: no count given (expected a size_t)", fn);
  *n_spikes = 0;
  if (half_window < 0 || half_window > 100000)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: half window %d is invalid (expected 1 to 100000 samples, or 0 "
                            "for the default 5)",
                            fn, half_window);
  if (!isfinite(k) || k < 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: k = %g is invalid (expected a finite multiple of the scaled "
                            "MAD > 0, or 0 for the default 6)",
                            fn, k);
  if (!isfinite(min_dev_n) || min_dev_n < 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: minimum deviation %g N is invalid (expected a finite force >= "
                            "0 N)",
                            fn, min_dev_n);
  if (n == 0)
    return STANCE_OK;
  if (!x || !spike)
    return stance_error_set(err, STANCE_EINVAL, "%s: no %s (expected %zu samples)", fn,
                            !x ? "series" : "spike mask", n);
  int r = check_finite(x, bad, 0, n, fn, err);
  if (r < 0)
    return r;
  size_t h = half_window ? (size_t)half_window : 5;
  if (k == 0.0)
    k = 6.0;
  if (min_dev_n == 0.0) {
    double sd = 0.0;
    if ((r = diff_noise_sd(x, bad, n, &sd, err)) < 0)
      return r;
    min_dev_n = fmax(SPIKE_MIN_DEV_FLOOR_N, SPIKE_MIN_DEV_NOISE_X * sd);
  }
  size_t cap = 2 * h + 1;
  double *win = malloc(cap * sizeof *win);
  double *dev = malloc(cap * sizeof *dev);
  if (!win || !dev) {
    free(win);
    free(dev);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory for a %zu-sample window", fn,
                            cap);
  }
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    spike[i] = 0;
    if (is_bad(bad, i))
      continue;
    size_t lo = i > h ? i - h : 0, hi = i + h < n ? i + h : n - 1;
    /* A cheap necessary condition first. The window's median is its middle value (or the mean of
     * the two middle ones), so |x[i] - median| > D needs at least half the window's good values
     * more than D away from x[i]. Most samples fail this and never need a sort. */
    size_t m = 0, far = 0;
    for (size_t j = lo; j <= hi; j++)
      if (!is_bad(bad, j)) {
        m++;
        far += fabs(x[j] - x[i]) > min_dev_n;
      }
    if (m < 3 || 2 * far < m)
      continue;
    m = 0;
    for (size_t j = lo; j <= hi; j++)
      if (!is_bad(bad, j))
        win[m++] = x[j];
    qsort(win, m, sizeof *win, cmp_double);
    double med = sorted_median(win, m);
    double d = fabs(x[i] - med);
    if (!(d > min_dev_n))
      continue;
    for (size_t j = 0; j < m; j++)
      dev[j] = fabs(win[j] - med);
    qsort(dev, m, sizeof *dev, cmp_double);
    double mad = sorted_median(dev, m);
    if (d > k * 1.4826 * mad) {
      spike[i] = 1;
      count++;
    }
  }
  free(win);
  free(dev);
  *n_spikes = count;
  return STANCE_OK;
}
