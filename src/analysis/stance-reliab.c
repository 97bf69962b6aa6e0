/* stance-reliab.c: reliability statistics (see stance-reliab.h and docs/methods.md,
 * "Reliability").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Means and variances are computed in two passes (mean first, then the squared deviations from
 * it), which keeps the SD accurate for force values of ~1000 N that differ by a few newtons.
 */
#include "stance-reliab.h"

#include <math.h>
#include <stdlib.h>

/* Sum of squared deviations from the mean of v[0..n), n >= 1. Non-finite values propagate. */
static void
mean_ss(const double *v, size_t n, double *mean, double *ss)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += v[i];
  double m = s / (double)n;
  double q = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = v[i] - m;
    q += d * d;
  }
  *mean = m;
  *ss = q;
}

static int
check_finite(const double *v, size_t n, const char *what, StanceError *err)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return stance_error_set(err, STANCE_ERANGE, "%s[%zu] is not finite (expected a number)", what,
                              i);
  return STANCE_OK;
}

int
stance_reliab_stats(const double *v, size_t n, StanceReliabStats *out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output for the statistics");
  *out = (StanceReliabStats){.n = n};
  if (n == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "no values: the mean needs at least 1 value, the SD and CV 2");
  if (!v)
    return stance_error_set(err, STANCE_EINVAL, "%zu values announced but none given", n);
  int rc = check_finite(v, n, "value", err);
  if (rc)
    return rc;

  double mean, ss;
  mean_ss(v, n, &mean, &ss);
  if (!isfinite(mean) || !isfinite(ss))
    return stance_error_set(err, STANCE_ERANGE,
                            "the mean or SD of %zu values is not finite (values too large)", n);
  out->mean = mean;
  if (n >= 2) {
    out->sd = sqrt(ss / (double)(n - 1));
    out->has_sd = true;
    if (mean != 0.0) {
      double cv = out->sd / fabs(mean) * 100.0;
      if (isfinite(cv)) {
        out->cv_pct = cv;
        out->has_cv = true;
      }
    }
  }
  return STANCE_OK;
}

int
stance_reliab_te_paired(const double *a, const double *b, size_t n, double *te, StanceError *err)
{
  if (n < 2)
    return stance_error_set(err, STANCE_ENODATA,
                            "the typical error from paired values needs at least 2 pairs "
                            "(got %zu)",
                            n);
  if (!a || !b || !te)
    return stance_error_set(err, STANCE_EINVAL, "missing values or output for the typical error");
  int rc = check_finite(a, n, "a", err);
  if (!rc)
    rc = check_finite(b, n, "b", err);
  if (rc)
    return rc;

  double *d = malloc(n * sizeof *d);
  if (!d)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu differences", n);
  for (size_t i = 0; i < n; i++)
    d[i] = b[i] - a[i];
  double mean, ss;
  mean_ss(d, n, &mean, &ss);
  free(d);
  /* SD of the differences over sqrt(2): each difference carries the within-athlete error of
   * two measurements (Hopkins 2000). */
  double v = sqrt(ss / (double)(n - 1)) / sqrt(2.0);
  if (!isfinite(v))
    return stance_error_set(err, STANCE_ERANGE,
                            "the typical error of %zu pairs is not finite (values too large)", n);
  *te = v;
  return STANCE_OK;
}

int
stance_reliab_te_pooled(const double *v, const int *session, size_t n, int n_sessions, double *te,
                        StanceError *err)
{
  if (n_sessions < 1)
    return stance_error_set(err, STANCE_EINVAL, "%d sessions (expected at least 1)", n_sessions);
  if (n > 0 && (!v || !session))
    return stance_error_set(err, STANCE_EINVAL, "%zu values announced but none given", n);
  if (!te)
    return stance_error_set(err, STANCE_EINVAL, "no output for the typical error");
  for (size_t i = 0; i < n; i++)
    if (session[i] < 0 || session[i] >= n_sessions)
      return stance_error_set(err, STANCE_EINVAL,
                              "value %zu belongs to session %d (expected 0..%d)", i, session[i],
                              n_sessions - 1);
  int rc = check_finite(v, n, "value", err);
  if (rc)
    return rc;

  double *sum = calloc((size_t)n_sessions, sizeof *sum);
  double *ss = calloc((size_t)n_sessions, sizeof *ss);
  size_t *cnt = calloc((size_t)n_sessions, sizeof *cnt);
  if (!sum || !ss || !cnt) {
    free(sum);
    free(ss);
    free(cnt);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for %d sessions", n_sessions);
  }
  /* Two passes: session means, then squared deviations from them. */
  for (size_t i = 0; i < n; i++) {
    sum[session[i]] += v[i];
    cnt[session[i]]++;
  }
  for (int s = 0; s < n_sessions; s++)
    if (cnt[s])
      sum[s] /= (double)cnt[s];
  for (size_t i = 0; i < n; i++) {
    double d = v[i] - sum[session[i]];
    ss[session[i]] += d * d;
  }
  /* Pooled variance = sum over sessions of (n_s - 1) var_s / sum of (n_s - 1): the sessions'
   * variances weighted by their degrees of freedom; one-value sessions add nothing. */
  double ss_all = 0.0;
  size_t df = 0;
  for (int s = 0; s < n_sessions; s++) {
    if (cnt[s] >= 2) {
      ss_all += ss[s];
      df += cnt[s] - 1;
    }
  }
  free(sum);
  free(ss);
  free(cnt);
  if (df == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "the pooled typical error needs a session with at least 2 values "
                            "(got %zu values in %d sessions, none with 2)",
                            n, n_sessions);
  double t = sqrt(ss_all / (double)df);
  if (!isfinite(t))
    return stance_error_set(err, STANCE_ERANGE,
                            "the pooled typical error is not finite (values too large)");
  *te = t;
  return STANCE_OK;
}

int
stance_reliab_swc(const double *session_means, size_t n, double factor, double *swc,
                  StanceError *err)
{
  /* factor 0 means Hopkins' default 0.2 ("small" standardised effect). */
  if (factor == 0.0)
    factor = 0.2;
  if (!isfinite(factor) || factor < 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "SWC factor %g (expected a positive number such as 0.2, or 0 for "
                            "the default 0.2)",
                            factor);
  if (n < 2)
    return stance_error_set(err, STANCE_ENODATA,
                            "the smallest worthwhile change needs at least 2 session means "
                            "(got %zu)",
                            n);
  if (!session_means || !swc)
    return stance_error_set(err, STANCE_EINVAL, "missing session means or output for the SWC");
  int rc = check_finite(session_means, n, "session mean", err);
  if (rc)
    return rc;
  double mean, ss;
  mean_ss(session_means, n, &mean, &ss);
  double v = factor * sqrt(ss / (double)(n - 1));
  if (!isfinite(v))
    return stance_error_set(err, STANCE_ERANGE,
                            "the SWC of %zu session means is not finite (values too large)", n);
  *swc = v;
  return STANCE_OK;
}

int
stance_reliab_mdc95(double sem, double *mdc, StanceError *err)
{
  if (!isfinite(sem) || sem < 0.0)
    return stance_error_set(err, STANCE_ERANGE, "SEM %g (expected a finite value >= 0)", sem);
  if (!mdc)
    return stance_error_set(err, STANCE_EINVAL, "no output for the MDC95");
  /* 1.96: the two-sided 95 % z value; sqrt(2): a change is the difference of two measurements,
   * each carrying the SEM (Weir 2005). */
  double v = 1.96 * sqrt(2.0) * sem;
  if (!isfinite(v))
    return stance_error_set(err, STANCE_ERANGE, "the MDC95 of SEM %g is not finite", sem);
  *mdc = v;
  return STANCE_OK;
}

int
stance_reliab_direction(const int *stronger, size_t n, double *pct, int *dominant, StanceError *err)
{
  if (n == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "direction consistency needs at least 1 trial (got 0)");
  if (!stronger || !pct || !dominant)
    return stance_error_set(err, STANCE_EINVAL, "missing values or output for the direction");
  size_t c[3] = {0, 0, 0}; /* BOTH (0), LEFT (1), RIGHT (2) */
  for (size_t i = 0; i < n; i++) {
    if (stronger[i] < 0 || stronger[i] > 2)
      return stance_error_set(err, STANCE_EINVAL,
                              "trial %zu: stronger limb %d (expected 0 = both, 1 = left, "
                              "2 = right)",
                              i, stronger[i]);
    c[stronger[i]]++;
  }
  /* The dominant limb is the more frequent of left and right; trials with equal limbs (BOTH)
   * count against the consistency. A left/right tie has no dominant limb (BOTH) and reports the
   * share of either; when every trial was exactly even, the direction is "both" in all of
   * them (100 %). */
  if (c[1] > c[2]) {
    *dominant = 1;
    *pct = (double)c[1] / (double)n * 100.0;
  } else if (c[2] > c[1]) {
    *dominant = 2;
    *pct = (double)c[2] / (double)n * 100.0;
  } else {
    *dominant = 0;
    *pct = c[1] == 0 ? 100.0 : (double)c[1] / (double)n * 100.0;
  }
  return STANCE_OK;
}
