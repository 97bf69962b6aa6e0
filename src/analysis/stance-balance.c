/* stance-balance.c: quiet standing, single-leg balance and weigh-in (docs/methods.md,
 * "Balance").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Segmentation: a stand is a stretch where the total force stays above half the body weight
 * (drops shorter than 0.1 s do not end it). A stand that begins with the recording (the athlete
 * was already on the plates) starts at once; one that begins with a step on starts when the load
 * is steady: the first sample from which the total stays within +-max(1 % BW, 5 SD of the
 * weighing) of the body weight for 1 s, plus a 0.5 s settling margin (postural adjustments and
 * the centre-of-pressure roll of stepping on outlast the force transient). Symmetrically a stand
 * that ends with a step off ends 0.5 s before the last 1 s of steady load. Stands shorter than
 * 1 s after this are not analysed.
 *
 * Per stand ("stand" trial, over [stand_start, stand_end)):
 *   weight_bearing_pct  100 * sum(F_limb) / sum(F_left + F_right) over the good samples;
 *   mean_force          mean vertical force per limb and total (N);
 *   cop_path_length     sum of the distances between consecutive CoP samples (mm);
 *   cop_mean_velocity   path / time spanned by the summed steps (mm/s);
 *   cop_ellipse_area_95 pi * chi2(0.95; 2) * sqrt(l1 * l2), l1, l2 the eigenvalues of the CoP
 *                       covariance (normalised by the number of samples), chi2(0.95; 2) = 5.991:
 *                       the 95 % prediction ellipse of the simulator's truth and, for the large n
 *                       of a balance trial, of Prieto et al. 1996 (2 * F(0.05; 2, n - 2) -> 5.991);
 *   cop_rms_x, cop_rms_y RMS distance from the mean CoP per axis (mm);
 *   weigh-in: body_weight (N, mean total force), body_weight_sd (N), body_mass (kg).
 * CoP measures are per plate (plate frame) and "total" for the net CoP of both plates in the lab
 * frame (plate centres from the calibration geometry). The CoP is computed from the recording
 * where the plate carries more than STANCE_COP_THRESHOLD_N, low-pass filtered like the forces
 * (zero-lag Butterworth, 4th order 10 Hz by default for balance) and then sampled at about 100 Hz
 * (every k-th sample, k = floor(rate / max(100 Hz, 5 x cutoff))): the rate of Prieto 1996 and
 * Duarte & Freitas 2010 and of the simulator's published path, so path length does not depend on
 * the recording rate. The path is broken (no step counted) across samples without a CoP.
 *
 * Cost: O(n) per stand plus the filter; memory: a slice of the stand and 8 series of its length.
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A stand is loaded while the total exceeds this fraction of the body weight. */
#define STAND_ON_FRACTION 0.5
/* Without a body weight: the reference weight is the mean of the samples above this (N). */
#define STAND_FALLBACK_LOAD_N 100.0
/* A drop below the stand threshold must last this long to end a stand (s). */
#define STAND_OFF_DEBOUNCE_S 0.1
/* Steady load: within +-max(SETTLE_BAND_PCT % of the weight, SETTLE_BAND_SD weighing SDs) ... */
#define SETTLE_BAND_PCT 1.0
#define SETTLE_BAND_SD 5.0
/* ... for at least this long (s) ... */
#define SETTLE_HOLD_S 1.0
/* ... and then this much settling time discarded after a step on / before a step off (s). */
#define SETTLE_MARGIN_S 0.5
/* Shortest stand analysed (s). */
#define MIN_STAND_S 1.0
/* CoP analysis rate (Hz) and the multiple of the cutoff it must exceed. */
#define COP_RATE_HZ 100.0
#define COP_RATE_CUTOFF_MULT 5.0
/* Extra data filtered on each side of a stand so the filter's ends fall outside it (s). */
#define COP_FILTER_PAD_S 0.5
/* Least valid CoP time for the CoP measures (s). */
#define COP_MIN_S 1.0
/* 95 % quantile of chi-square with 2 degrees of freedom (-2 ln 0.05). */
#define CHI2_95_2DOF 5.991
/* Default balance filter when the context does not say (hand-built contexts). */
#define BALANCE_ORDER 4
#define BALANCE_CUTOFF_HZ 10.0
/* Uneven stance: the limbs' weight bearing differs by more than this (points): 55/45 or worse,
 * the first step of extra load on one leg in Anker et al. 2008's protocol (5 % BW). */
#define UNEVEN_STANCE_POINTS 10.0
/* Single-leg balance: the free foot touches down when its plate exceeds max(20 N, this % BW)
 * for at least TOUCHDOWN_MIN_S. */
#define TOUCHDOWN_PCT_BW 5.0
#define TOUCHDOWN_MIN_S 0.02

typedef struct {
  size_t s0, s1;     /* loaded stretch [s0, s1) */
  bool stepped_on;   /* preceded by unloaded samples */
  bool stepped_off;  /* followed by unloaded samples */
  bool settled_on;   /* after a step on, the load became steady (else a fixed settling time) */
  bool settled_off;  /* before a step off, the load was steady */
  double band_n;     /* steadiness band used */
  size_t on, off;    /* step on (first sample above STANCE_COP_THRESHOLD_N before s0) and step
                        off (first sample back below it after s1); s0 / s1 for single-leg */
  size_t start, end; /* the steady stand [start, end) */
} Stand;

typedef struct {
  bool ok;
  char why[96];
  double path, vel, area, rms_x, rms_y;
} CopStats;

/* The low-pass the CoP gets: the forces' (c->opts resolved by the pipeline), or the balance
 * default for a hand-built context. order 0 = raw. */
static void
cop_filter(const StanceCtx *c, int *order, double *cutoff)
{
  *order = 0;
  *cutoff = 0.0;
  const StanceAnalysisOptions *o = c->opts;
  StanceFilterKind k = o ? o->filter : STANCE_FILTER_DEFAULT;
  if (k == STANCE_FILTER_BUTTERWORTH && o->filter_order > 0 && o->filter_cutoff_hz > 0.0) {
    *order = o->filter_order;
    *cutoff = o->filter_cutoff_hz;
  } else if (k == STANCE_FILTER_DEFAULT || k == STANCE_FILTER_AUTO) {
    /* an unresolved choice: what the pipeline applied to the forces, else the balance default */
    const StanceMethod *m = c->cond ? &c->cond->filter : NULL;
    if (m && strcmp(m->id, "filter.butterworth_zero_lag") == 0) {
      for (int i = 0; i < m->n_params; i++) {
        if (strcmp(m->params[i].key, "order") == 0)
          *order = (int)m->params[i].num;
        else if (strcmp(m->params[i].key, "cutoff_hz") == 0)
          *cutoff = m->params[i].num;
      }
    }
    if (*order <= 0 || *cutoff <= 0.0) {
      *order = BALANCE_ORDER;
      *cutoff = BALANCE_CUTOFF_HZ;
    }
  }
  if (*cutoff >= c->rate / 2.0) {
    *order = 0;
    *cutoff = 0.0;
  }
}

/* First index s >= a from which every good sample of [s, s + hold) lies within band of w; the
 * search stops at b. */
static bool
settle_forward(const double *f, const uint8_t *bad, size_t a, size_t b, double w, double band,
               size_t hold, size_t *out)
{
  size_t run = a;
  for (size_t i = a; i < b; i++) {
    if (!bad[i] && fabs(f[i] - w) > band) {
      run = i + 1;
      continue;
    }
    if (i + 1 - run >= hold) {
      *out = run;
      return true;
    }
  }
  return false;
}

/* Exclusive end e <= b such that every good sample of [e - hold, e) lies within band of w; the
 * search stops at a. */
static bool
settle_backward(const double *f, const uint8_t *bad, size_t a, size_t b, double w, double band,
                size_t hold, size_t *out)
{
  size_t run = b; /* exclusive end of the current in-band run */
  for (size_t i = b; i > a; i--) {
    size_t k = i - 1;
    if (!bad[k] && fabs(f[k] - w) > band) {
      run = k;
      continue;
    }
    if (run - k >= hold) {
      *out = run;
      return true;
    }
  }
  return false;
}

/* Mean of each limb's force over the good samples of [a, b); false when none. */
static bool
limb_means(const StanceCtx *c, size_t a, size_t b, double mean[3])
{
  double s[3] = {0.0, 0.0, 0.0};
  size_t m = 0;
  for (size_t i = a; i < b; i++) {
    if (c->bad[i])
      continue;
    for (int k = 0; k < 3; k++)
      if (c->f[k])
        s[k] += c->f[k][i];
    m++;
  }
  if (m == 0)
    return false;
  for (int k = 0; k < 3; k++)
    mean[k] = s[k] / (double)m;
  return true;
}

/* CoP statistics of x, y over [from, to) where ok[i], taking every k-th sample from `from`. */
static void
cop_stats(const double *x, const double *y, const uint8_t *ok, size_t from, size_t to, size_t k,
          double dt, CopStats *cs)
{
  memset(cs, 0, sizeof *cs);
  size_t m = 0, steps = 0;
  bool have_prev = false, broken = false;
  double px = 0.0, py = 0.0, x0 = 0.0, y0 = 0.0;
  double sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, path = 0.0;
  for (size_t i = from; i < to; i++) {
    if (!ok[i]) {
      broken = true;
      continue;
    }
    if ((i - from) % k != 0)
      continue;
    if (m == 0) {
      x0 = x[i];
      y0 = y[i];
    }
    /* sums about the first sample keep the variance well conditioned */
    double dx = x[i] - x0, dy = y[i] - y0;
    sx += dx;
    sy += dy;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
    m++;
    if (have_prev && !broken) {
      path += hypot(x[i] - px, y[i] - py);
      steps++;
    }
    px = x[i];
    py = y[i];
    have_prev = true;
    broken = false;
  }
  double valid_s = (double)m * (double)k * dt;
  if (m < 2 || steps == 0 || valid_s < COP_MIN_S) {
    snprintf(
        cs->why, sizeof cs->why,
        "centre of pressure defined for %.2f s of the stand (plate above %.0f N): needs %.1f s",
        valid_s, STANCE_COP_THRESHOLD_N, COP_MIN_S);
    return;
  }
  double mx = sx / (double)m, my = sy / (double)m;
  double cxx = fmax(sxx / (double)m - mx * mx, 0.0);
  double cyy = fmax(syy / (double)m - my * my, 0.0);
  double cxy = sxy / (double)m - mx * my;
  /* eigenvalues of the 2 x 2 covariance: the ellipse's squared semi-axes divided by chi2 */
  double half_tr = 0.5 * (cxx + cyy);
  double disc = sqrt(0.25 * (cxx - cyy) * (cxx - cyy) + cxy * cxy);
  double l1 = half_tr + disc, l2 = fmax(half_tr - disc, 0.0);
  cs->ok = true;
  cs->path = path;
  cs->vel = path / ((double)steps * (double)k * dt);
  cs->area = M_PI * CHI2_95_2DOF * sqrt(l1 * l2);
  cs->rms_x = sqrt(cxx);
  cs->rms_y = sqrt(cyy);
}

/* The CoP of one stand for the slots in `slots` (STANCE_HAS_*): st[LEFT], st[RIGHT] (plate
 * frames) and st[TOTAL] (net CoP in the lab frame for two plates, or the single plate of a
 * COMBINED recording). Slots that cannot be computed get ok = false and a reason. */
static int
stand_cop(const StanceCtx *c, const Stand *sd, unsigned slots, int order, double cutoff, size_t k,
          CopStats st[3], StanceError *err)
{
  for (int s = 0; s < 3; s++) {
    memset(&st[s], 0, sizeof st[s]);
    snprintf(st[s].why, sizeof st[s].why, "not computed");
  }
  const StanceRecording *rec = c->rec;
  int np = stance_recording_cop_plates(rec);
  if (np == 0) {
    for (int s = 0; s < 3; s++)
      snprintf(st[s].why, sizeof st[s].why,
               "the recording has no centre of pressure (one force per plate)");
    return STANCE_OK;
  }
  size_t pad = (size_t)llround(COP_FILTER_PAD_S * c->rate);
  size_t lo = sd->start > pad ? sd->start - pad : 0;
  size_t hi = sd->end + pad < c->n ? sd->end + pad : c->n;
  size_t len = hi - lo;
  StanceRecording *sl = stance_recording_slice(rec, lo, len);
  double *buf = malloc(8 * len * sizeof(double));
  uint8_t *mbuf = malloc(3 * len);
  int rc = STANCE_OK;
  if (!sl || !buf || !mbuf) {
    rc = stance_error_set(err, STANCE_ENOMEM,
                          "out of memory for the centre of pressure of %zu "
                          "samples",
                          len);
    goto out;
  }
  double *xr[2] = {buf, buf + len}, *yr[2] = {buf + 2 * len, buf + 3 * len};
  double *xn = buf + 4 * len, *yn = buf + 5 * len, *xf = buf + 6 * len, *yf = buf + 7 * len;
  uint8_t *valid[2] = {mbuf, mbuf + len}, *mask = mbuf + 2 * len;

  int sels[3] = {-1, -1, -1}; /* which series feeds each slot: 0/1 a plate, 2 the net CoP */
  if (np == 1) {
    if (slots & STANCE_HAS_TOTAL) {
      rc = stance_recording_cop(sl, STANCE_SEL_TOTAL, STANCE_COP_THRESHOLD_N, xr[0], yr[0],
                                valid[0], err);
      if (rc)
        goto out;
      sels[STANCE_SEL_TOTAL] = 0;
    }
  } else {
    for (int p = 0; p < 2; p++) {
      rc = stance_recording_cop(sl, (StanceSel)p, STANCE_COP_THRESHOLD_N, xr[p], yr[p], valid[p],
                                err);
      if (rc)
        goto out;
    }
    if (slots & STANCE_HAS_LEFT)
      sels[STANCE_SEL_LEFT] = 0;
    if (slots & STANCE_HAS_RIGHT)
      sels[STANCE_SEL_RIGHT] = 1;
    if (slots & STANCE_HAS_TOTAL) {
      if (!rec->has_calibration || !c->f_raw[STANCE_SEL_LEFT] || !c->f_raw[STANCE_SEL_RIGHT]) {
        snprintf(st[STANCE_SEL_TOTAL].why, sizeof st[STANCE_SEL_TOTAL].why,
                 "the plates' positions are unknown (no calibration geometry): the net centre "
                 "of pressure needs them");
      } else {
        /* net CoP: force-weighted mean of the plates' CoPs moved into the lab frame; a plate
         * without a CoP (unloaded) contributes nothing */
        for (size_t i = 0; i < len; i++) {
          double fz = 0.0, mx = 0.0, my = 0.0;
          for (int p = 0; p < 2; p++) {
            if (!valid[p][i])
              continue;
            double f = c->f_raw[p][lo + i];
            fz += f;
            mx += f * (xr[p][i] + rec->calib.plate[p].centre_x_mm);
            my += f * (yr[p][i] + rec->calib.plate[p].centre_y_mm);
          }
          bool v = fz > STANCE_COP_THRESHOLD_N;
          xn[i] = v ? mx / fz : 0.0;
          yn[i] = v ? my / fz : 0.0;
          valid[0][i] |= (uint8_t)(v ? 2 : 0); /* bit 1: net CoP valid */
        }
        sels[STANCE_SEL_TOTAL] = 2;
      }
    }
  }

  for (int s = 0; s < 3; s++) {
    int src = sels[s];
    if (src < 0)
      continue;
    const double *x = src == 2 ? xn : xr[src];
    const double *y = src == 2 ? yn : yr[src];
    for (size_t i = 0; i < len; i++) {
      bool v = src == 2 ? (valid[0][i] & 2) != 0 : (valid[src][i] & 1) != 0;
      mask[i] = (uint8_t)((!v || c->bad[lo + i]) ? 1 : 0);
    }
    const double *xu = x, *yu = y;
    if (order > 0) {
      rc = stance_cond_lowpass(x, mask, len, c->rate, order, cutoff, xf, err);
      if (rc == STANCE_OK)
        rc = stance_cond_lowpass(y, mask, len, c->rate, order, cutoff, yf, err);
      if (rc)
        goto out;
      xu = xf;
      yu = yf;
    }
    for (size_t i = 0; i < len; i++)
      mask[i] = (uint8_t)!mask[i]; /* now "ok" */
    cop_stats(xu, yu, mask, sd->start - lo, sd->end - lo, k, c->dt, &st[s]);
  }

out:
  free(buf);
  free(mbuf);
  stance_recording_free(sl);
  return rc;
}

/* Adds one CoP metric from the stats of the slots in `slots`. */
static int
add_cop_metric(StanceTrial *t, const char *id, const char *unit, const char *method_id,
               const CopStats st[3], unsigned slots, int which, int order, double cutoff,
               double cop_rate)
{
  StanceMetric *m = stance_trial_add_metric(t, id, unit, method_id);
  if (!m)
    return STANCE_ENOMEM;
  /* sway of the two feet is not a strength: a larger value is not the "stronger" limb */
  m->no_asym = true;
  stance_method_param_str(&m->method, "filter", order > 0 ? "butterworth_zero_lag" : "raw");
  if (order > 0) {
    stance_method_param_num(&m->method, "order", order);
    stance_method_param_num(&m->method, "cutoff_hz", cutoff);
  }
  stance_method_param_num(&m->method, "rate_hz", cop_rate);
  stance_method_param_num(&m->method, "threshold_n", STANCE_COP_THRESHOLD_N);
  if (which == 2) {
    stance_method_param_num(&m->method, "chi2", CHI2_95_2DOF);
    stance_method_param_str(&m->method, "covariance", "population");
  }
  for (int s = 0; s < 3; s++) {
    unsigned bit = s == 0 ? STANCE_HAS_LEFT : s == 1 ? STANCE_HAS_RIGHT : STANCE_HAS_TOTAL;
    if (!(slots & bit))
      continue;
    if (!st[s].ok) {
      stance_metric_absent(m, (StanceSel)s, "%s", st[s].why);
      continue;
    }
    double v = which == 0   ? st[s].path
               : which == 1 ? st[s].vel
               : which == 2 ? st[s].area
               : which == 3 ? st[s].rms_x
                            : st[s].rms_y;
    stance_metric_set(m, (StanceSel)s, v);
  }
  return STANCE_OK;
}

/* Flags touchdowns of the free foot during a single-leg stand. */
static void
flag_touchdowns(const StanceCtx *c, StanceTrial *t, const Stand *sd, int free_plate, double w)
{
  const double *f = c->f[free_plate];
  if (!f)
    return;
  double thr = fmax(STANCE_COP_THRESHOLD_N, TOUCHDOWN_PCT_BW / 100.0 * w);
  size_t min_len = (size_t)fmax(1.0, round(TOUCHDOWN_MIN_S * c->rate));
  size_t count = 0, run = 0, first = 0;
  double fmax_seen = 0.0;
  for (size_t i = sd->start; i < sd->end; i++) {
    if (c->bad[i])
      continue;
    if (f[i] > thr) {
      if (++run == min_len) {
        if (count++ == 0)
          first = i + 1 - min_len;
      }
      if (f[i] > fmax_seen)
        fmax_seen = f[i];
    } else {
      run = 0;
    }
  }
  if (count)
    stance_trial_flag(t, "touchdown", STANCE_SEVERITY_WARNING,
                      "the free (%s) foot touched down %zu time%s during the stand, the first at "
                      "%.3f s, carrying up to %.0f N (threshold %.0f N for %.0f ms)",
                      free_plate == 0 ? "left" : "right", count, count == 1 ? "" : "s",
                      (double)first * c->dt, fmax_seen, thr, TOUCHDOWN_MIN_S * 1000.0);
}

/* Analyses one steady stand into a new trial. */
static int
analyse_stand(StanceCtx *c, const Stand *sd, double w, StanceError *err)
{
  const StanceProtocol proto = c->protocol;
  const bool single = proto == STANCE_PROTO_SL_BALANCE;
  double mean[3] = {0.0, 0.0, 0.0};
  bool have_mean = limb_means(c, sd->start, sd->end, mean);

  /* the stance limb of a single-leg stand: the recording's side unless the loads contradict it */
  StanceSide side = STANCE_SIDE_BOTH;
  bool side_from_load = false;
  if (single) {
    side = c->side;
    if (c->has_limbs && have_mean && mean[0] + mean[1] > 0.0) {
      StanceSide loaded = mean[0] >= mean[1] ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
      if (side != loaded) {
        side_from_load = side != STANCE_SIDE_BOTH;
        side = loaded;
      }
    }
  }

  StanceTrial *t = stance_analysis_add_trial(c->out, "stand", (double)sd->start * c->dt,
                                             (double)sd->end * c->dt);
  if (!t)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a trial");
  t->side = side;
  if (side_from_load)
    stance_trial_flag(t, "side_from_load", STANCE_SEVERITY_WARNING,
                      "the recording names the %s leg but the %s plate carried %.0f %% of the "
                      "load: analysed as a %s-leg stand",
                      side == STANCE_SIDE_LEFT ? "right" : "left",
                      side == STANCE_SIDE_LEFT ? "left" : "right",
                      100.0 * mean[side == STANCE_SIDE_LEFT ? 0 : 1] / (mean[0] + mean[1]),
                      side == STANCE_SIDE_LEFT ? "left" : "right");

  /* events: stepping on and off (single-leg: lifting and putting down the free foot, where
   * |F_left - F_right| crosses half the weight) and the steady stand */
  int rc = 0;
  if (sd->stepped_on)
    rc |= stance_trial_add_event(t, single ? "foot_lift" : "step_on", (double)sd->on * c->dt,
                                 STANCE_SEL_TOTAL);
  rc |= stance_trial_add_event(t, "stand_start", (double)sd->start * c->dt, STANCE_SEL_TOTAL);
  rc |= stance_trial_add_event(t, "stand_end", (double)sd->end * c->dt, STANCE_SEL_TOTAL);
  if (sd->stepped_off)
    rc |= stance_trial_add_event(t, single ? "foot_down" : "step_off", (double)sd->off * c->dt,
                                 STANCE_SEL_TOTAL);
  if (rc < 0)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for an event");
  if ((sd->stepped_on && !sd->settled_on) || (sd->stepped_off && !sd->settled_off))
    stance_trial_flag(t, "unsteady_stand", STANCE_SEVERITY_INFO,
                      "the load never stayed within %.1f N of %.1f N for %.1f s next to the %s: "
                      "%.1f s of settling were skipped instead",
                      sd->band_n, w, SETTLE_HOLD_S,
                      sd->stepped_on && !sd->settled_on ? (single ? "foot lift" : "step on")
                                                        : (single ? "foot down" : "step off"),
                      SETTLE_HOLD_S + SETTLE_MARGIN_S);

  /* which slots this stand reports */
  unsigned limb_slots = 0;
  if (c->has_limbs) {
    if (!single || side == STANCE_SIDE_BOTH)
      limb_slots = STANCE_HAS_LEFT | STANCE_HAS_RIGHT;
    else
      limb_slots = side == STANCE_SIDE_LEFT ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT;
  }
  const unsigned slots = limb_slots | STANCE_HAS_TOTAL;
  const double t0 = (double)sd->start * c->dt, t1 = (double)sd->end * c->dt;

  /* weight bearing and mean force */
  if (c->has_limbs) {
    StanceMetric *m =
        stance_trial_add_metric(t, "weight_bearing_pct", "%", "balance.weight_bearing");
    if (!m)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory for a metric");
    stance_method_param_str(&m->method, "rule", "mean_share_of_total");
    stance_method_param_num(&m->method, "from_s", t0);
    stance_method_param_num(&m->method, "to_s", t1);
    double sum = mean[0] + mean[1];
    for (int s = 0; s < 2; s++) {
      if (!(limb_slots & (s == 0 ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT)))
        continue;
      if (have_mean && sum > 0.0)
        stance_metric_set(m, (StanceSel)s, 100.0 * mean[s] / sum);
      else
        stance_metric_absent(m, (StanceSel)s, "no good sample with load in the stand");
    }
  }
  {
    StanceMetric *m = stance_trial_add_metric(t, "mean_force", "N", "force.mean");
    if (!m)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory for a metric");
    stance_method_param_num(&m->method, "from_s", t0);
    stance_method_param_num(&m->method, "to_s", t1);
    for (int s = 0; s < 3; s++) {
      unsigned bit = s == 0 ? STANCE_HAS_LEFT : s == 1 ? STANCE_HAS_RIGHT : STANCE_HAS_TOTAL;
      if (!(slots & bit))
        continue;
      if (have_mean)
        stance_metric_set(m, (StanceSel)s, mean[s]);
      else
        stance_metric_absent(m, (StanceSel)s, "every sample of the stand is a gap or saturated");
    }
  }

  if (proto == STANCE_PROTO_WEIGH_IN) {
    double ss = 0.0;
    size_t nm = 0;
    for (size_t i = sd->start; i < sd->end; i++)
      if (!c->bad[i]) {
        double d = c->f[STANCE_SEL_TOTAL][i] - mean[STANCE_SEL_TOTAL];
        ss += d * d;
        nm++;
      }
    const char *ids[3] = {"body_weight", "body_weight_sd", "body_mass"};
    const char *units[3] = {"N", "N", "kg"};
    double vals[3] = {mean[STANCE_SEL_TOTAL], nm > 1 ? sqrt(ss / (double)(nm - 1)) : 0.0,
                      mean[STANCE_SEL_TOTAL] / c->g};
    for (int k = 0; k < 3; k++) {
      StanceMetric *m = stance_trial_add_metric(t, ids[k], units[k], "weigh.stand_mean");
      if (!m)
        return stance_error_set(err, STANCE_ENOMEM, "out of memory for a metric");
      stance_method_param_num(&m->method, "from_s", t0);
      stance_method_param_num(&m->method, "to_s", t1);
      if (k == 2)
        stance_method_param_num(&m->method, "g", c->g);
      if (have_mean && (k != 1 || nm > 1))
        stance_metric_set(m, STANCE_SEL_TOTAL, vals[k]);
      else
        stance_metric_absent(m, STANCE_SEL_TOTAL, "%s",
                             have_mean ? "one good sample only" : "no good sample in the stand");
    }
  }

  /* centre of pressure */
  int order;
  double cutoff;
  cop_filter(c, &order, &cutoff);
  double target = fmax(COP_RATE_HZ, COP_RATE_CUTOFF_MULT * cutoff);
  size_t k = (size_t)floor(c->rate / target + 1e-9);
  if (k < 1)
    k = 1;
  CopStats st[3];
  rc = stand_cop(c, sd, slots, order, cutoff, k, st, err);
  if (rc)
    return rc;
  const char *cop_ids[5] = {"cop_path_length", "cop_mean_velocity", "cop_ellipse_area_95",
                            "cop_rms_x", "cop_rms_y"};
  const char *cop_units[5] = {"mm", "mm/s", "mm2", "mm", "mm"};
  const char *cop_methods[5] = {"cop.path_length", "cop.mean_velocity", "cop.ellipse_95", "cop.rms",
                                "cop.rms"};
  for (int q = 0; q < 5; q++)
    if (add_cop_metric(t, cop_ids[q], cop_units[q], cop_methods[q], st, slots, q, order, cutoff,
                       c->rate / (double)k) < 0)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory for a metric");

  /* flags */
  if (!single && c->has_limbs && have_mean && mean[0] + mean[1] > 0.0) {
    double wl = 100.0 * mean[0] / (mean[0] + mean[1]);
    if (fabs(2.0 * wl - 100.0) > UNEVEN_STANCE_POINTS)
      stance_trial_flag(t, STANCE_FLAG_UNEVEN_STANCE, STANCE_SEVERITY_WARNING,
                        "over the stand (%.3f-%.3f s) the left limb bore %.1f %% and the right "
                        "%.1f %% of the load (expected to differ by at most %.0f points)",
                        t0, t1, wl, 100.0 - wl, UNEVEN_STANCE_POINTS);
  }
  if (single && c->has_limbs && side != STANCE_SIDE_BOTH)
    flag_touchdowns(c, t, sd, side == STANCE_SIDE_LEFT ? 1 : 0, w);
  return STANCE_OK;
}

int
stance_analyse_balance(StanceCtx *c, StanceError *err)
{
  const double *tot = c->f[STANCE_SEL_TOTAL];
  const size_t n = c->n;
  if (!tot || n == 0)
    return STANCE_OK;
  /* single-leg balance on two plates: a stand is where one foot carries the load, so the series
   * segmented is |F_left - F_right| (the whole weight on one plate: W; both feet: near 0) */
  const bool single = c->protocol == STANCE_PROTO_SL_BALANCE && c->has_limbs;

  /* reference weight: the body weight, else the mean loaded force */
  double w = 0.0, band = 0.0;
  const bool has_bw = c->cond && c->cond->has_body_weight && c->cond->body_weight_n > 0.0;
  if (has_bw) {
    w = c->cond->body_weight_n;
    band = fmax(SETTLE_BAND_PCT / 100.0 * w, SETTLE_BAND_SD * c->cond->body_weight_sd_n);
  } else {
    double s = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (!c->bad[i] && tot[i] > STAND_FALLBACK_LOAD_N) {
        s += tot[i];
        m++;
      }
    if (m == 0) {
      stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                           "nobody stood on the plates: the total force never exceeds %.0f N",
                           STAND_FALLBACK_LOAD_N);
      return STANCE_OK;
    }
    w = s / (double)m;
    band = SETTLE_BAND_PCT / 100.0 * w;
  }

  double *diff = NULL;
  const double *sig = tot;
  if (single) {
    diff = malloc(n * sizeof *diff);
    if (!diff)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
    for (size_t i = 0; i < n; i++)
      diff[i] = fabs(c->f[STANCE_SEL_LEFT][i] - c->f[STANCE_SEL_RIGHT][i]);
    sig = diff;
  }

  const double on = STAND_ON_FRACTION * w;
  const size_t hold = (size_t)llround(SETTLE_HOLD_S * c->rate);
  const size_t margin = (size_t)llround(SETTLE_MARGIN_S * c->rate);
  const size_t min_len = (size_t)llround(MIN_STAND_S * c->rate);
  const size_t debounce = (size_t)fmax(1.0, round(STAND_OFF_DEBOUNCE_S * c->rate));

  int rc = STANCE_OK;
  size_t n_stands = 0, n_short = 0, longest = 0;
  double best_bw = 0.0, best_mass = 0.0;
  bool seen_unloaded = false, on_plate = false;
  size_t s0 = 0, below = 0, below_from = 0, prev_s1 = 0;
  for (size_t i = 0; i <= n; i++) {
    bool end_of_data = i == n;
    if (!end_of_data && c->bad[i])
      continue;
    bool loaded = !end_of_data && sig[i] > on;
    if (!on_plate) {
      if (end_of_data)
        break;
      if (loaded) {
        on_plate = true;
        s0 = i;
        below = 0;
      } else {
        seen_unloaded = true;
      }
      continue;
    }
    if (loaded) {
      below = 0;
      continue;
    }
    if (!end_of_data) {
      if (below++ == 0)
        below_from = i;
      if (below < debounce)
        continue;
    }
    /* the stand [s0, s1) is over */
    Stand sd;
    memset(&sd, 0, sizeof sd);
    sd.s0 = s0;
    sd.s1 = below ? below_from : n;
    sd.stepped_on = seen_unloaded;
    sd.stepped_off = below > 0;
    on_plate = false;
    seen_unloaded = true;
    size_t prev_s1_here = prev_s1;
    prev_s1 = sd.s1;
    sd.start = sd.s0;
    sd.end = sd.s1;
    if (sd.stepped_on) {
      size_t s;
      sd.settled_on = settle_forward(sig, c->bad, sd.s0, sd.s1, w, band, hold, &s);
      /* never steady within the band: a fixed settling time of hold + margin */
      sd.start = (sd.settled_on ? s : sd.s0 + hold) + margin;
    }
    if (sd.stepped_off) {
      size_t e;
      sd.settled_off = settle_backward(sig, c->bad, sd.s0, sd.s1, w, band, hold, &e);
      if (!sd.settled_off)
        e = sd.s1 > hold ? sd.s1 - hold : 0;
      sd.end = e > margin ? e - margin : 0;
    }
    sd.band_n = band;
    /* contact and release: where the total crosses the 20 N contact threshold (single-leg: the
     * half-weight crossings of |F_left - F_right| themselves) */
    sd.on = sd.s0;
    sd.off = sd.s1;
    if (!single) {
      while (sd.on > prev_s1_here && (c->bad[sd.on - 1] || tot[sd.on - 1] > STANCE_COP_THRESHOLD_N))
        sd.on--;
      while (sd.off < n && (c->bad[sd.off] || tot[sd.off] > STANCE_COP_THRESHOLD_N))
        sd.off++;
    }
    if (sd.end <= sd.start || sd.end - sd.start < min_len) {
      n_short++;
      continue;
    }
    rc = analyse_stand(c, &sd, w, err);
    if (rc)
      goto out;
    n_stands++;
    if (sd.end - sd.start > longest && c->protocol == STANCE_PROTO_WEIGH_IN) {
      const StanceTrial *t = &c->out->trials[c->out->n_trials - 1];
      const StanceMetric *bw = stance_trial_metric(t, "body_weight");
      const StanceMetric *bm = stance_trial_metric(t, "body_mass");
      if (stance_metric_get(bw, STANCE_SEL_TOTAL, &best_bw) &&
          stance_metric_get(bm, STANCE_SEL_TOTAL, &best_mass))
        longest = sd.end - sd.start;
    }
  }

  if (n_stands == 0) {
    stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                         "no stand of at least %.1f s once steady: %zu %s stretch%s (%s above "
                         "%.0f N) too short",
                         MIN_STAND_S, n_short, single ? "single-leg" : "loaded",
                         n_short == 1 ? "" : "es", single ? "left - right force" : "total force",
                         on);
    goto out;
  }
  if (longest > 0) {
    /* the weigh-in's answer at session level: the longest stand */
    const char *ids[2] = {"body_weight", "body_mass"};
    const char *units[2] = {"N", "kg"};
    double vals[2] = {best_bw, best_mass};
    for (int k = 0; k < 2; k++) {
      StanceMetric *m = stance_analysis_add_metric(c->out, ids[k], units[k], "weigh.stand_mean");
      if (!m) {
        rc = stance_error_set(err, STANCE_ENOMEM, "out of memory for a metric");
        goto out;
      }
      stance_method_param_str(&m->method, "stand", "longest");
      stance_method_param_num(&m->method, "duration_s", (double)longest * c->dt);
      stance_metric_set(m, STANCE_SEL_TOTAL, vals[k]);
    }
  }
out:
  free(diff);
  return rc;
}
