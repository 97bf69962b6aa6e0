/* stance-reliab.h: reliability statistics within a session and across sessions (plain C).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Within a session (the trials of one test): mean, SD (n - 1), CV % = SD / |mean| * 100.
 * Across sessions (an athlete's trend), after Hopkins 2000 ("Measures of reliability in sports
 * medicine and science") and Weir 2005:
 *   typical error (TE, = SEM)  the within-athlete SD: from two sessions' paired trial means,
 *                              SD(differences) / sqrt(2); from k sessions of trials, the pooled
 *                              within-session SD (sqrt of the mean of the session variances,
 *                              weighted by their degrees of freedom)
 *   smallest worthwhile change SWC = 0.2 * between-session SD of the session means (Hopkins'
 *                              "small" effect; the factor is a parameter)
 *   MDC95                      1.96 * sqrt(2) * SEM
 * Every function returns STANCE_ENODATA (with a message saying how many values it needs) when
 * the values are too few, STANCE_ERANGE when a result would not be finite.
 *
 * Threads: reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "stance-error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mean, sample SD and CV % of v[0..n). n >= 1 for the mean, >= 2 for SD and CV; CV also needs a
 * non-zero mean. Fills only what can be computed and says so through the has_ flags. */
typedef struct {
  size_t n;
  double mean, sd, cv_pct;
  bool has_sd, has_cv;
} StanceReliabStats;

int stance_reliab_stats(const double *v, size_t n, StanceReliabStats *out, StanceError *err);

/* Typical error from paired values of two sessions (a[i], b[i] of the same trial or athlete):
 * SD(b - a) / sqrt(2). Needs n >= 2. */
int stance_reliab_te_paired(const double *a, const double *b, size_t n, double *te,
                            StanceError *err);

/* Typical error as the pooled within-session SD: sessions are given as one array of values and
 * the session each belongs to (session[i] in 0..n_sessions-1). Needs at least one session with
 * >= 2 values. */
int stance_reliab_te_pooled(const double *v, const int *session, size_t n, int n_sessions,
                            double *te, StanceError *err);

/* Smallest worthwhile change: factor * SD of the session means (factor 0.2 by default). Needs
 * >= 2 session means. */
int stance_reliab_swc(const double *session_means, size_t n, double factor, double *swc,
                      StanceError *err);

/* MDC95 = 1.96 * sqrt(2) * sem. STANCE_ERANGE for a negative or non-finite sem. */
int stance_reliab_mdc95(double sem, double *mdc, StanceError *err);

/* Direction consistency of an asymmetry across trials: stronger[i] is LEFT (1), RIGHT (2) or
 * BOTH (0). Returns the % of trials whose stronger limb is the most frequent one, and that limb
 * in *dominant (BOTH on a tie). Needs n >= 1. */
int stance_reliab_direction(const int *stronger, size_t n, double *pct, int *dominant,
                            StanceError *err);

#ifdef __cplusplus
}
#endif
