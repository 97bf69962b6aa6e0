/* stance-calib-fit.c: per-cell offsets and gains by least squares over the force and both moments,
 * with standard errors (GSL).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One plate at a time. With d_ik = mean counts of cell i at loaded step k - offset_i, and
 * w_i = (1, x_i / a, y_i / b) the cell's weights in the force, x-moment and y-moment equations
 * (a, b: mean |x_i|, |y_i|), the design row of equation e of step k is X[(k,e)][i] = d_ik w_ie and
 * its right-hand side W_k (1, x_k / a, y_k / b)_e. The gains solve min |X g - y|^2.
 *
 * Standard errors, three sources, each a covariance of the gains with A = (X'X)^-1:
 *   residual: s^2 A with s^2 = |X g - y|^2 / (N - 4)   (GSL's covariance)
 *   step noise: A X' S X A, S block-diagonal per step, S_k = sum_i g_i^2 sem_ik^2 w_i w_i'
 *   (the noise of each step mean moves its three residuals together)
 *   zeros: A (sum_iz sem(o_iz)^2 q_iz q_iz') A, q_iz = X' u_iz, u_iz[(k,e)] = g_i w_ie l_kz
 *   (an error in zero step z moves every step of cell i that uses that zero, with the weight
 *   l_kz of z in step k's interpolated zero; see below).
 *
 * Zeros: each loaded step is taken relative to the zero steps before and after its run,
 * interpolated in time at the step, so that slow drift during the session does not bias the gains
 * (the plates are emptied between positions anyway). The calibration's offsets are the first zero;
 * drift shows in the verification's zero return.
 * Reported: sqrt(max(residual, step noise) + offsets) per gain. The residual term covers model
 * error (a non-linear cell, a misplaced mass); the step-noise term keeps the figure honest when a
 * few steps fit by chance; the offset term is systematic and never averages out over steps.
 *
 * GSL's error handler is process-global and aborts by default; it is left alone (this file keeps
 * no global state). Inputs are checked (finite, identifiable) so that GSL never reports an error.
 */
#include "stance-calib-private.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
stance_calib_fit_to_calibration(const StanceCalibFit *fit, const StanceCalibration *geometry,
                                StanceCalibration *cal)
{
  StanceCalibration tmp;
  const StanceCalibration *geo = _stance_calib_geometry(geometry, &tmp);
  stance_calibration_default(cal);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    cal->plate[pl] = geo->plate[pl];
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    cal->offset_counts[c] = fit->offset_counts[c];
    cal->gain_n_per_count[c] = fit->gain_n_per_count[c];
  }
}

/* out = A M A for 4 x 4 matrices. */
static void
sandwich(const gsl_matrix *a, const gsl_matrix *m, gsl_matrix *tmp, gsl_matrix *out)
{
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, a, m, 0.0, tmp);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, tmp, a, 0.0, out);
}

static int
fit_plate(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
          const StancePlateGeometry *geo, int pl, const StanceCalibOptions *opt,
          StanceCalibFit *fit, StanceError *err)
{
  const int c0 = pl * STANCE_CELLS_PER_PLATE;
  const char *pn = _stance_calib_plate_name(pl);
  char ch[48];
  size_t n_k = 0;
  for (size_t k = 0; k < plan->n_steps; k++)
    if (plan->steps[k].kind != STANCE_CALIB_ZERO && plan->steps[k].plate == pl)
      n_k++;
  const size_t n_eq = 3 * n_k;
  if (n_k < 3)
    return stance_error_set(err, STANCE_ENODATA,
                            "the %s plate has %zu loaded steps (expected at least 3)", pn, n_k);
  double a, b;
  _stance_calib_half_spans(geo, &a, &b);
  double w[STANCE_CELLS_PER_PLATE][3];
  for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
    w[i][0] = 1.0;
    w[i][1] = geo->cell[i].x_mm / a;
    w[i][2] = geo->cell[i].y_mm / b;
  }
  /* Cells that hardly respond to this plate's loads (a dead cell, or a cell wired to the other
   * plate) are left out with gain 0: their column is noise, and fitting it would give a huge
   * meaningless gain. A healthy cell gets at least 2 % of every load near the opposite corner and
   * over 70 % near its own, so its column is never below 1 % of the largest. */
  double rn[STANCE_CELLS_PER_PLATE] = {0}, rn_max = 0.0;
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    if (s->kind == STANCE_CALIB_ZERO || s->plate != pl)
      continue;
    for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
      double d = _stance_calib_delta(plan, steps, k, c0 + i);
      rn[i] += d * d;
    }
  }
  for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
    rn[i] = sqrt(rn[i]);
    if (!isfinite(rn[i]))
      return stance_error_set(err, STANCE_ERANGE,
                              "%s: its step means are not finite (expected readings)",
                              stance_calib_channel_text(c0 + i, ch, sizeof ch));
    rn_max = fmax(rn_max, rn[i]);
  }
  int col[STANCE_CELLS_PER_PLATE], nc = 0;
  for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
    fit->excluded[c0 + i] = !(rn[i] > 0.01 * rn_max);
    fit->gain_n_per_count[c0 + i] = 0.0;
    fit->gain_se_n_per_count[c0 + i] = 0.0;
    if (!fit->excluded[c0 + i])
      col[nc++] = i;
  }
  if (nc == 0)
    return stance_error_set(err, STANCE_ERANGE,
                            "no cell of the %s plate responds to its loads (expected the counts "
                            "to change when masses are placed): check the board's cable",
                            pn);

  gsl_matrix *X = gsl_matrix_alloc(n_eq, (size_t)nc);
  gsl_matrix *Xn = gsl_matrix_alloc(n_eq, (size_t)nc);
  gsl_vector *y = gsl_vector_alloc(n_eq);
  gsl_vector *gv = gsl_vector_alloc((size_t)nc);
  gsl_matrix *cov = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_matrix *ainv = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_matrix *m_noise = gsl_matrix_calloc((size_t)nc, (size_t)nc);
  gsl_matrix *m_off = gsl_matrix_calloc((size_t)nc, (size_t)nc);
  gsl_matrix *tmp = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_matrix *c_noise = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_matrix *c_off = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_matrix *V = gsl_matrix_alloc((size_t)nc, (size_t)nc);
  gsl_vector *S = gsl_vector_alloc((size_t)nc);
  gsl_vector *svw = gsl_vector_alloc((size_t)nc);
  gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n_eq, (size_t)nc);
  int r = STANCE_OK;
  if (!X || !Xn || !y || !gv || !cov || !ainv || !m_noise || !m_off || !tmp || !c_noise || !c_off ||
      !V || !S || !svw || !ws) {
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory fitting the %s plate", pn);
    goto out;
  }

  size_t row = 0;
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    if (s->kind == STANCE_CALIB_ZERO || s->plate != pl)
      continue;
    double wk = s->mass_kg * opt->gravity_m_s2;
    double rhs[3] = {wk, wk * s->x_mm / a, wk * s->y_mm / b};
    for (int e = 0; e < 3; e++) {
      for (int j = 0; j < nc; j++) {
        int i = col[j];
        double d = _stance_calib_delta(plan, steps, k, c0 + i);
        gsl_matrix_set(X, row, (size_t)j, d * w[i][e]);
      }
      gsl_vector_set(y, row, rhs[e]);
      row++;
    }
  }

  /* identifiability: condition number with unit-norm columns */
  double norm[STANCE_CELLS_PER_PLATE];
  gsl_matrix_memcpy(Xn, X);
  for (int j = 0; j < nc; j++) {
    gsl_vector_view cv = gsl_matrix_column(Xn, (size_t)j);
    norm[j] = gsl_blas_dnrm2(&cv.vector);
    gsl_vector_scale(&cv.vector, 1.0 / norm[j]);
  }
  if (gsl_linalg_SV_decomp(Xn, V, S, svw) != GSL_SUCCESS) {
    r = stance_error_set(err, STANCE_ERANGE, "the %s plate's fit failed (SVD did not converge)",
                         pn);
    goto out;
  }
  double smin = gsl_vector_get(S, (size_t)nc - 1), smax = gsl_vector_get(S, 0);
  double cond = smin > 0.0 ? smax / smin : INFINITY;
  fit->condition_number[pl] = isfinite(cond) ? cond : 0.0;
  if (!(cond < 1e8)) {
    r = stance_error_set(err, STANCE_ERANGE,
                         "the loads on the %s plate do not determine its gains (condition number "
                         "%.3g, expected below 1e8): load the centre and near each cell",
                         pn, cond);
    goto out;
  }

  double chisq = 0.0;
  if (gsl_multifit_linear(X, y, gv, cov, &chisq, ws) != GSL_SUCCESS) {
    r = stance_error_set(err, STANCE_ERANGE, "the %s plate's least-squares fit failed", pn);
    goto out;
  }
  double g[STANCE_CELLS_PER_PLATE] = {0};
  for (int j = 0; j < nc; j++) {
    g[col[j]] = gsl_vector_get(gv, (size_t)j);
    if (!isfinite(g[col[j]])) {
      r = stance_error_set(err, STANCE_ERANGE, "the fit gave %s a non-finite gain",
                           stance_calib_channel_text(c0 + col[j], ch, sizeof ch));
      goto out;
    }
  }

  /* A = (X'X)^-1 from the SVD of the column-scaled design: X = Xn D, Xn = U S V', so
   * A = D^-1 V S^-2 V' D^-1 (no LU: a singular matrix would make GSL call its error handler). */
  for (int p = 0; p < nc; p++)
    for (int q = 0; q < nc; q++) {
      double acc = 0.0;
      for (int j = 0; j < nc; j++) {
        double sj = gsl_vector_get(S, (size_t)j);
        acc += gsl_matrix_get(V, (size_t)p, (size_t)j) * gsl_matrix_get(V, (size_t)q, (size_t)j) /
               (sj * sj);
      }
      gsl_matrix_set(ainv, (size_t)p, (size_t)q, acc / (norm[p] * norm[q]));
    }
  /* step noise: sum over steps k and cells i of g_i^2 sem_ik^2 v v', v = X_k' w_i */
  for (size_t k = 0, rk = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    if (s->kind == STANCE_CALIB_ZERO || s->plate != pl)
      continue;
    for (int jj = 0; jj < nc; jj++) {
      int i = col[jj];
      double v[STANCE_CELLS_PER_PLATE];
      for (int j = 0; j < nc; j++) {
        v[j] = 0.0;
        for (int e = 0; e < 3; e++)
          v[j] += gsl_matrix_get(X, rk + (size_t)e, (size_t)j) * w[i][e];
      }
      double sem = steps[k].sem_counts[c0 + i];
      double f = g[i] * g[i] * sem * sem;
      for (int p = 0; p < nc; p++)
        for (int q = 0; q < nc; q++)
          *gsl_matrix_ptr(m_noise, (size_t)p, (size_t)q) += f * v[p] * v[q];
    }
    rk += 3;
  }
  /* zeros: for cell i and zero step z, q = X' u with u[(k,e)] = g_i w_ie lambda_kz, lambda_kz the
   * weight of zero z in step k's zero */
  for (size_t z = 0; z < plan->n_steps; z++) {
    if (plan->steps[z].kind != STANCE_CALIB_ZERO)
      continue;
    for (int jj = 0; jj < nc; jj++) {
      int i = col[jj];
      double q[STANCE_CELLS_PER_PLATE] = {0};
      bool used = false;
      for (size_t k = 0, rk = 0; k < plan->n_steps; k++) {
        const StanceCalibStep *s = &plan->steps[k];
        if (s->kind == STANCE_CALIB_ZERO || s->plate != pl)
          continue;
        size_t za, zb;
        double wa, wb;
        _stance_calib_zero_weights(plan, steps, k, &za, &wa, &zb, &wb);
        double lam = (za == z ? wa : 0.0) + (zb == z ? wb : 0.0);
        if (lam != 0.0) {
          used = true;
          for (int e = 0; e < 3; e++)
            for (int j = 0; j < nc; j++)
              q[j] += gsl_matrix_get(X, rk + (size_t)e, (size_t)j) * g[i] * w[i][e] * lam;
        }
        rk += 3;
      }
      if (!used)
        continue;
      double so = steps[z].sem_counts[c0 + i];
      for (int p = 0; p < nc; p++)
        for (int qq = 0; qq < nc; qq++)
          *gsl_matrix_ptr(m_off, (size_t)p, (size_t)qq) += so * so * q[p] * q[qq];
    }
  }
  sandwich(ainv, m_noise, tmp, c_noise);
  sandwich(ainv, m_off, tmp, c_off);
  for (int j = 0; j < nc; j++) {
    double v_res = gsl_matrix_get(cov, (size_t)j, (size_t)j);
    double v_noise = gsl_matrix_get(c_noise, (size_t)j, (size_t)j);
    double v_off = gsl_matrix_get(c_off, (size_t)j, (size_t)j);
    double se = sqrt(fmax(fmax(v_res, v_noise), 0.0) + fmax(v_off, 0.0));
    if (!isfinite(se)) {
      r = stance_error_set(err, STANCE_ERANGE, "the fit gave %s a non-finite standard error",
                           stance_calib_channel_text(c0 + col[j], ch, sizeof ch));
      goto out;
    }
    fit->gain_n_per_count[c0 + col[j]] = g[col[j]];
    fit->gain_se_n_per_count[c0 + col[j]] = se;
  }
  fit->residual_rms_n[pl] = sqrt(chisq / (double)n_eq);
  fit->n_steps[pl] = (int)n_k;
  fit->n_equations[pl] = (int)n_eq;
  fit->full_scale_n[pl] = _stance_calib_full_scale_n(plan, pl, opt->gravity_m_s2);
out:
  gsl_matrix_free(X);
  gsl_matrix_free(Xn);
  gsl_vector_free(y);
  gsl_vector_free(gv);
  gsl_matrix_free(cov);
  gsl_matrix_free(ainv);
  gsl_matrix_free(m_noise);
  gsl_matrix_free(m_off);
  gsl_matrix_free(tmp);
  gsl_matrix_free(c_noise);
  gsl_matrix_free(c_off);
  gsl_matrix_free(V);
  gsl_vector_free(S);
  gsl_vector_free(svw);
  if (ws)
    gsl_multifit_linear_free(ws);
  return r;
}

int
stance_calib_fit(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
                 const StanceCalibration *geometry, const StanceCalibOptions *opt_in,
                 StanceCalibFit *fit, StanceError *err)
{
  if (!plan || !steps || !fit)
    return stance_error_set(err, STANCE_EINVAL, "no plan, step data or fit given");
  StanceCalibOptions opt;
  StanceCalibration tmp;
  const StanceCalibration *geo = NULL;
  int r = _stance_calib_prepare(plan, geometry, opt_in, &opt, &tmp, &geo, err);
  if (r < 0)
    return r;
  memset(fit, 0, sizeof *fit);
  snprintf(fit->method, sizeof fit->method, "%s", STANCE_CALIB_FIT_METHOD);
  fit->gravity_m_s2 = opt.gravity_m_s2;
  fit->zero_step = 0;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    fit->offset_counts[c] = steps[0].mean_counts[c];
    fit->offset_se_counts[c] = steps[0].sem_counts[c];
  }
  for (int pl = 0; pl < STANCE_N_PLATES && r == 0; pl++)
    r = fit_plate(plan, steps, &geo->plate[pl], pl, &opt, fit, err);
  return r;
}
