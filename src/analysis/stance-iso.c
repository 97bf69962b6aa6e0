/* stance-iso.c: isometric mid-thigh pull and isometric squat (bilateral or single-leg).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Per pull ("hold" trial), on the total force (docs/methods.md, "Isometrics"):
 *   1. pulls: stretches where the total rises above W + 40 % of the recording's largest excess
 *      over W (W = body weight, or a low percentile of the force when there is none), ending
 *      when it falls below W + 15 % (hysteresis: tremor inside a hold never splits it);
 *   2. baseline: the force of the quiet period just before the pull, with the pretension the
 *      athlete holds on the bar (Comfort et al. 2019: onset is found against the weighing in
 *      the pulling position). Among the 1 s windows of the 3 s before the pull, the latest whose
 *      SD is at most 1.25 x the lowest SD; then the 1 s immediately before the onset found from
 *      it, when that window is as still. Its mean and SD are the baseline and its SD;
 *   3. onset: the options' rule around that baseline, rising only (default BW_5SD: the first
 *      sample above baseline + 5 SD, no step-back, as IsometricAnalyzer), taken at the start of
 *      the last excursion above the band before the pull, so an earlier wobble does not count;
 *   4. hold end: the first sample after the pull back below the starting value
 *      (baseline + band), as IsometricAnalyzer ends its analysis window;
 *   5. the force-curve metrics over [onset, hold end) (stance-curve.c): peak force gross, net,
 *      relative; time to peak; force at 50-250 ms and RFD 0-50 .. 0-250 ms (Maffiuletti et al.
 *      2016; Comfort et al. 2019); peak RFD over a sliding window; mean force; impulse; then the
 *      impulse windows 0-100/200/300 ms (gross and net), the pretension force, the hold
 *      duration and each limb's share of the total at the total's peak.
 * Flags: "pretension" (info) when the baseline is well above body weight, movement_before_onset
 * (warning) when the baseline window is not still or the force dips below the band just before
 * the onset (a countermovement), incomplete_trial when the hold runs past the recording.
 *
 * Single-leg tests (c->side LEFT or RIGHT): the stance plate's slot and the total; the stance
 * limb carries the whole system weight for net values ("stance_limb").
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pull detection, as fractions of the recording's largest excess over the reference weight. */
#define PULL_HI_FRAC 0.40
#define PULL_LO_FRAC 0.15
/* A pull must rise at least this fraction of body weight above it (else: no pull at all). */
#define PULL_MIN_BW_FRAC 0.20
#define PULL_MIN_S 0.20       /* shorter excursions are knocks, not pulls */
#define BASE_SEARCH_S 3.0     /* how far before the pull the baseline is looked for */
#define BASE_MIN_S 0.25       /* shortest usable baseline window */
#define BASE_STILL_RATIO 1.25 /* a window counts as still when its SD <= this x the lowest SD */
#define PRETENSION_PCT_BW 2.0 /* pretension flagged above BW + max(5 SD, this % of BW) */
#define CM_SEARCH_S 0.30      /* a dip this long before the onset is a countermovement */

typedef struct {
  size_t r0, r1; /* first sample above the high threshold; first sample back below the low */
} Pull;

typedef struct {
  double mean, sd;
  size_t start, len;
} Window;

/* Mean and sample SD of f over [a, a + len) from prefix sums (s1, s2 relative to the offset
 * `off` to keep the sums well conditioned). */
static void
window_stats(const double *s1, const double *s2, size_t a, size_t len, double off, Window *w)
{
  double n = (double)len;
  double m = (s1[a + len] - s1[a]) / n;
  double v = len > 1 ? (s2[a + len] - s2[a] - n * m * m) / (n - 1.0) : 0.0;
  w->mean = m + off;
  w->sd = v > 0.0 ? sqrt(v) : 0.0;
  w->start = a;
  w->len = len;
}

/* Compare for qsort. */
static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A low percentile of the good samples (a reference weight when there is no body weight):
 * a strided subsample of at most ~20000 values is sorted, so this stays O(n). *out is NAN when
 * no sample is good. */
static int
low_percentile(const double *f, const uint8_t *bad, size_t n, double q, double *out)
{
  size_t stride = n / 20000 + 1, m = 0;
  double *v = malloc((n / stride + 1) * sizeof *v);
  *out = NAN;
  if (!v)
    return STANCE_ENOMEM;
  for (size_t i = 0; i < n; i += stride)
    if (!bad || !bad[i])
      v[m++] = f[i];
  if (m) {
    qsort(v, m, sizeof *v, cmp_double);
    *out = v[(size_t)(q * (double)(m - 1))];
  }
  free(v);
  return STANCE_OK;
}

/* Onset of one pull against the baseline window w: the start of the last excursion above the
 * rule's band before r0 (so an earlier wobble does not count), stepped back by the rule's
 * step-back (never before floor). The band and the method come from stance_ev_onset() (rising
 * only), so the rule lives in one place. */
static bool
find_onset(const StanceCtx *c, const double *f, const Window *w, size_t floor, size_t r0,
           size_t *onset, double *band, StanceMethod *method)
{
  StanceMethod m;
  stance_method_set(&m, "");
  /* An empty search range: only the band and the method are filled. */
  (void)stance_ev_onset(c, f, r0, r0, w->mean, w->sd, +1, NULL, &m);
  double b = 0.0, back_s = 0.0;
  for (int k = 0; k < m.n_params; k++) {
    if (strcmp(m.params[k].key, "band_n") == 0)
      b = m.params[k].num;
    else if (strcmp(m.params[k].key, "step_back_s") == 0)
      back_s = m.params[k].num;
  }
  const double thr = w->mean + b;
  size_t j = r0;
  while (j > floor && ((c->bad && c->bad[j]) || f[j] > thr))
    j--;
  if ((c->bad && c->bad[j]) || f[j] > thr)
    return false; /* never at the baseline between floor and the pull */
  size_t hit;
  if (!stance_ev_first_above(f, c->bad, j + 1, r0 + 1, thr, &hit))
    return false;
  size_t back = (size_t)llround(back_s * c->rate);
  *onset = hit >= floor + back ? hit - back : floor;
  *band = b;
  if (method)
    stance_method_copy(method, &m);
  return true;
}

/* The baseline window before a pull starting at r0, searched in [lo, r0). */
static bool
find_baseline(const double *s1, const double *s2, const size_t *nbad, double off, size_t lo,
              size_t r0, size_t len, double rate, Window *best, double *sd_min_out)
{
  size_t from = r0 > lo + (size_t)llround(BASE_SEARCH_S * rate)
                    ? r0 - (size_t)llround(BASE_SEARCH_S * rate)
                    : lo;
  if (r0 < from + len)
    return false;
  double sd_min = INFINITY;
  Window w;
  for (size_t a = from; a + len <= r0; a++) {
    if (nbad[a + len] != nbad[a])
      continue;
    window_stats(s1, s2, a, len, off, &w);
    if (w.sd < sd_min)
      sd_min = w.sd;
  }
  if (!isfinite(sd_min))
    return false;
  bool found = false;
  for (size_t a = r0 - len + 1; a-- > from;) {
    if (nbad[a + len] != nbad[a])
      continue;
    window_stats(s1, s2, a, len, off, &w);
    if (w.sd <= BASE_STILL_RATIO * sd_min + 1e-12) {
      *best = w;
      found = true;
      break;
    }
  }
  *sd_min_out = sd_min;
  return found;
}

/* Adds per-slot metrics that stance-curve.c does not cover: impulse windows, pretension, share,
 * hold duration. */
static int
iso_extra_metrics(const StanceCtx *c, StanceTrial *t, unsigned slots, size_t on, size_t end,
                  const Window *base, const double weight[3], const char *rule, bool has_weight,
                  size_t ipk_total)
{
  static const unsigned bit[3] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};
  static const int win_ms[3] = {100, 200, 300};
  const double dt = c->dt;
  StanceMetric *m;

  for (int wi = 0; wi < 3; wi++) {
    size_t kw = (size_t)llround(win_ms[wi] * 1e-3 * c->rate);
    bool fits = kw > 0 && on + kw < end;
    size_t nb = 0;
    if (fits && c->bad)
      for (size_t i = on; i <= on + kw; i++)
        nb += c->bad[i] != 0;
    char id[32], why[96];
    if (!fits)
      snprintf(why, sizeof why, "window 0-%d ms runs past the end of the hold (%.0f ms long)",
               win_ms[wi], (double)(end - on) * dt * 1e3);
    else
      snprintf(why, sizeof why, "%zu bad samples (gap or saturation) in the window 0-%d ms", nb,
               win_ms[wi]);
    double imp[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++)
      if ((slots & bit[s]) && fits && !nb)
        imp[s] = stance_curve_integral(c->f[s], on, on + kw + 1, 0.0, dt);
    const double span = (double)kw * dt;

    snprintf(id, sizeof id, "impulse_0_%d", win_ms[wi]);
    if (!(m = stance_trial_add_metric(t, id, "N.s", "impulse.trapezoid_window")))
      return STANCE_ENOMEM;
    stance_method_param_num(&m->method, "window_s", win_ms[wi] * 1e-3);
    for (int s = 0; s < 3; s++) {
      if (!(slots & bit[s]))
        continue;
      if (fits && !nb)
        stance_metric_set(m, (StanceSel)s, imp[s]);
      else
        stance_metric_absent(m, (StanceSel)s, "%s", why);
    }

    snprintf(id, sizeof id, "net_impulse_0_%d", win_ms[wi]);
    if (!(m = stance_trial_add_metric(t, id, "N.s", "net_impulse.trapezoid_window")))
      return STANCE_ENOMEM;
    stance_method_param_num(&m->method, "window_s", win_ms[wi] * 1e-3);
    stance_method_param_str(&m->method, "weight_rule", rule);
    stance_method_param_num(&m->method, "weight_n", weight[STANCE_SEL_TOTAL]);
    if (slots & STANCE_HAS_LEFT)
      stance_method_param_num(&m->method, "weight_left_n", weight[STANCE_SEL_LEFT]);
    if (slots & STANCE_HAS_RIGHT)
      stance_method_param_num(&m->method, "weight_right_n", weight[STANCE_SEL_RIGHT]);
    for (int s = 0; s < 3; s++) {
      if (!(slots & bit[s]))
        continue;
      if (!has_weight)
        stance_metric_absent(m, (StanceSel)s,
                             "no body weight (no still window): net value needs it");
      else if (fits && !nb)
        stance_metric_set(m, (StanceSel)s, imp[s] - weight[s] * span);
      else
        stance_metric_absent(m, (StanceSel)s, "%s", why);
    }
  }

  /* Pretension: the mean force of the baseline window, per slot (base NULL: no quiet period
   * before the pull). */
  if (!(m = stance_trial_add_metric(t, "pretension_force", "N", "pretension.baseline_window")))
    return STANCE_ENOMEM;
  if (base) {
    stance_method_param_num(&m->method, "window_s", (double)base->len * dt);
    stance_method_param_num(&m->method, "start_s", (double)base->start * dt);
  }
  for (int s = 0; s < 3; s++) {
    if (!(slots & bit[s]))
      continue;
    if (!base) {
      stance_metric_absent(m, (StanceSel)s, "no quiet period before the pull");
      continue;
    }
    double sum = 0.0;
    for (size_t i = base->start; i < base->start + base->len; i++)
      sum += c->f[s][i];
    stance_metric_set(m, (StanceSel)s, sum / (double)base->len);
  }

  if (!(m = stance_trial_add_metric(t, "hold_duration", "s", "hold.onset_to_end")))
    return STANCE_ENOMEM;
  stance_method_param_str(&m->method, "end_rule", "back_below_start_value");
  stance_metric_set(m, STANCE_SEL_TOTAL, (double)(end - on) * dt);

  /* Each limb's share of the total at the instant of the total's peak (bilateral only). */
  if ((slots & STANCE_HAS_LEFT) && (slots & STANCE_HAS_RIGHT) && ipk_total < end) {
    if (!(m = stance_trial_add_metric(t, "peak_share_pct", "%", "share.at_total_peak")))
      return STANCE_ENOMEM;
    m->no_asym = true;
    double tot = c->f[STANCE_SEL_TOTAL][ipk_total];
    for (int s = 0; s < 2; s++) {
      if (tot > 0.0)
        stance_metric_set(m, (StanceSel)s, 100.0 * c->f[s][ipk_total] / tot);
      else
        stance_metric_absent(m, (StanceSel)s, "total force at the peak is not positive");
    }
  }
  return STANCE_OK;
}

/* Analyses one pull. lo: first sample after the previous hold; next: start of the next pull
 * (or n). *hold_end_out receives the end of this hold. */
static int
analyse_pull(StanceCtx *c, const Pull *p, size_t lo, size_t next, const double *s1,
             const double *s2, const size_t *nbad, double off, size_t *hold_end_out)
{
  const double *f = c->f[STANCE_SEL_TOTAL];
  const double *fr = c->f_raw[STANCE_SEL_TOTAL] ? c->f_raw[STANCE_SEL_TOTAL] : f;
  const double rate = c->rate, dt = c->dt;
  const StanceConditioning *cd = c->cond;
  const bool has_bw = cd && cd->has_body_weight && c->system_weight_n > 0.0;
  const bool single = c->side == STANCE_SIDE_LEFT || c->side == STANCE_SIDE_RIGHT;
  *hold_end_out = p->r1;

  /* Baseline window (the quiet period in the pulling position). */
  double win_s = c->opts && c->opts->weigh_window_s > 0.0 ? c->opts->weigh_window_s : 1.0;
  size_t len = (size_t)llround(win_s * rate);
  if (len < 2)
    len = 2;
  /* A short quiet span (a pull right after the previous hold) gets windows of half its length,
   * so they can slide clear of the rise. */
  size_t avail = p->r0 > lo ? p->r0 - lo : 0;
  if (len > avail / 2 && avail < len + len / 2)
    len = avail / 2;
  Window base;
  double sd_min = 0.0;
  bool have_base = len >= (size_t)llround(BASE_MIN_S * rate) && len >= 2 &&
                   find_baseline(s1, s2, nbad, off, lo, p->r0, len, rate, &base, &sd_min);
  bool base_from_bw = false;
  if (!have_base) {
    if (!has_bw) {
      return stance_analysis_flag(c->out, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_ERROR,
                                  "pull at %.3f s skipped: no quiet period before it and no body "
                                  "weight to find its onset against",
                                  (double)p->r0 * dt);
    }
    base.mean = cd->body_weight_n;
    base.sd = cd->body_weight_sd_n;
    base.start = (size_t)llround(cd->bw_window_start_s * rate);
    base.len = (size_t)llround((cd->bw_window_end_s - cd->bw_window_start_s) * rate);
    if (base.len < 1 || base.start + base.len > c->n) {
      base.start = 0;
      base.len = 1;
    }
    base_from_bw = true;
  }

  StanceMethod onset_method;
  size_t on = 0;
  double band = 0.0;
  if (!find_onset(c, f, &base, lo, p->r0, &on, &band, &onset_method))
    return stance_analysis_flag(c->out, "no_onset", STANCE_SEVERITY_ERROR,
                                "pull at %.3f s skipped: no onset found against the baseline "
                                "%.1f N (SD %.2f N)",
                                (double)p->r0 * dt, base.mean, base.sd);
  /* Settle on the window immediately before the onset (Comfort et al. 2019's weighing period)
   * when it is as still as the one found; at most a few rounds. */
  for (int round = 0; round < 3 && !base_from_bw; round++) {
    if (on < lo + len)
      break;
    size_t a = on - len;
    if (nbad[a + len] != nbad[a] || a == base.start)
      break;
    Window w2;
    window_stats(s1, s2, a, len, off, &w2);
    if (!(w2.sd <= BASE_STILL_RATIO * sd_min + 1e-12))
      break;
    size_t on2;
    double band2;
    StanceMethod m2;
    if (!find_onset(c, f, &w2, lo, p->r0, &on2, &band2, &m2))
      break;
    base = w2;
    on = on2;
    band = band2;
    onset_method = m2;
  }
  if (c->out->onset_method.id[0] == '\0')
    stance_method_copy(&c->out->onset_method, &onset_method);

  /* Hold end: back below the starting value (baseline + band) after the pull. */
  const double start_value = base.mean + band;
  size_t hold_end;
  bool incomplete = false, merged = false;
  if (!stance_ev_first_below(f, c->bad, p->r1, next, start_value, &hold_end)) {
    if (next >= c->n) {
      hold_end = c->n;
      incomplete = true;
    } else {
      /* The next pull starts before the force returns: end where the force reaches the valley
       * between them (first sample within the band of its lowest force), so the next pull keeps
       * the valley for its baseline. */
      double vmin = INFINITY;
      for (size_t i = p->r1; i < next; i++)
        if ((!c->bad || !c->bad[i]) && f[i] < vmin)
          vmin = f[i];
      hold_end = p->r1;
      if (isfinite(vmin))
        (void)stance_ev_first_below(f, c->bad, p->r1, next, vmin + band + 1e-9, &hold_end);
      merged = true;
    }
  }
  if (hold_end <= on + 1)
    hold_end = on + 2 <= c->n ? on + 2 : c->n;
  *hold_end_out = hold_end;

  /* The trial starts with its baseline window (or at the onset when body weight stood in). */
  StanceTrial *t = stance_analysis_add_trial(
      c->out, "hold", (double)(base_from_bw ? on : base.start) * dt, (double)hold_end * dt);
  if (!t)
    return STANCE_ENOMEM;
  t->side = single ? c->side : STANCE_SIDE_BOTH;

  /* Slots and weights. */
  unsigned slots = STANCE_HAS_TOTAL;
  double weight[3] = {0, 0, 0};
  const char *rule = c->limb_weight_rule ? c->limb_weight_rule : "still_share";
  weight[STANCE_SEL_TOTAL] = c->system_weight_n;
  if (c->has_limbs && c->f[STANCE_SEL_LEFT] && c->f[STANCE_SEL_RIGHT]) {
    if (single) {
      int spl = c->side == STANCE_SIDE_LEFT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
      slots |= spl == STANCE_SEL_LEFT ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT;
      weight[spl] = c->system_weight_n;
      rule = "stance_limb";
    } else {
      slots |= STANCE_HAS_LEFT | STANCE_HAS_RIGHT;
      weight[STANCE_SEL_LEFT] = stance_ctx_limb_weight(c, STANCE_SEL_LEFT);
      weight[STANCE_SEL_RIGHT] = stance_ctx_limb_weight(c, STANCE_SEL_RIGHT);
    }
  } else {
    rule = "system_weight"; /* total only */
  }

  /* Events and flags. */
  int rc;
  if ((rc = stance_trial_add_event(t, "onset", (double)on * dt, STANCE_SEL_TOTAL)) < 0)
    return rc;
  size_t ipk = on;
  for (size_t i = on; i < hold_end; i++)
    if ((!c->bad || !c->bad[i]) && fr[i] > fr[ipk])
      ipk = i;
  if ((rc = stance_trial_add_event(t, "peak", (double)ipk * dt, STANCE_SEL_TOTAL)) < 0)
    return rc;
  for (int s = 0; s < 2; s++) {
    unsigned b = s == 0 ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT;
    if (!(slots & b))
      continue;
    const double *g = c->f_raw[s] ? c->f_raw[s] : c->f[s];
    size_t k = on;
    for (size_t i = on; i < hold_end; i++)
      if ((!c->bad || !c->bad[i]) && g[i] > g[k])
        k = i;
    if ((rc = stance_trial_add_event(t, "peak", (double)k * dt, (StanceSel)s)) < 0)
      return rc;
  }
  if ((rc = stance_trial_add_event(t, "hold_end", (double)hold_end * dt, STANCE_SEL_TOTAL)) < 0)
    return rc;

  if (base_from_bw && (rc = stance_trial_flag(t, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_WARNING,
                                              "no quiet period before the pull at %.3f s: onset "
                                              "found against body weight %.1f N",
                                              (double)p->r0 * dt, base.mean)) < 0)
    return rc;
  if (has_bw) {
    double bw = cd->body_weight_n;
    double lim = fmax(5.0 * cd->body_weight_sd_n, PRETENSION_PCT_BW / 100.0 * bw);
    if (base.mean - bw > lim &&
        (rc = stance_trial_flag(t, "pretension", STANCE_SEVERITY_INFO,
                                "pretension before the pull: %.1f N, %.1f N (%.1f %%) above body "
                                "weight; onset found against it",
                                base.mean, base.mean - bw, 100.0 * (base.mean - bw) / bw)) < 0)
      return rc;
  }
  if (!base_from_bw) {
    /* Still by the weighing's own criteria (stance-condition.h: SD and CV limits). */
    StanceWeighOptions wo;
    stance_weigh_options_default(&wo);
    if ((base.sd > wo.max_sd_n || base.sd > wo.max_cv_pct / 100.0 * fabs(base.mean)) &&
        (rc = stance_trial_flag(t, STANCE_FLAG_MOVEMENT_BEFORE_ONSET, STANCE_SEVERITY_WARNING,
                                "not still before the pull: SD %.2f N over %.3f-%.3f s (still "
                                "means SD <= %.0f N and <= %.0f %% of the force)",
                                base.sd, (double)base.start * dt,
                                (double)(base.start + base.len) * dt, wo.max_sd_n, wo.max_cv_pct)) <
            0)
      return rc;
  }
  {
    /* A dip below the baseline just before the onset: a countermovement. Judged against the
     * stillest window's SD, since a dip inside the baseline window inflates that window's own
     * SD. */
    double dip_band = sd_min > 0.0 ? fmin(band, 5.0 * sd_min) : band;
    size_t span = (size_t)llround(CM_SEARCH_S * rate);
    size_t a = on > lo + span ? on - span : lo;
    size_t dip;
    if (!base_from_bw && dip_band > 0.0 && a < on &&
        stance_ev_first_below(f, c->bad, a, on, base.mean - dip_band, &dip) &&
        (rc = stance_trial_flag(t, STANCE_FLAG_MOVEMENT_BEFORE_ONSET, STANCE_SEVERITY_WARNING,
                                "countermovement before the pull: force %.1f N at %.3f s, more "
                                "than %.1f N below the baseline %.1f N",
                                f[dip], (double)dip * dt, dip_band, base.mean)) < 0)
      return rc;
  }
  if (incomplete &&
      (rc = stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                              "the hold started at %.3f s still runs at the end of the recording",
                              (double)on * dt)) < 0)
    return rc;
  if (merged && (rc = stance_trial_flag(t, "hold_not_released", STANCE_SEVERITY_INFO,
                                        "force did not return to the starting value %.1f N "
                                        "before the next pull; hold ends in the valley between "
                                        "them (%.3f s)",
                                        start_value, (double)hold_end * dt)) < 0)
    return rc;

  /* The force-curve metrics. */
  StanceCurveSpec spec;
  memset(&spec, 0, sizeof spec);
  spec.onset = on;
  spec.peak_from = on;
  spec.end = hold_end;
  for (int s = 0; s < 3; s++)
    spec.weight_n[s] = weight[s];
  spec.weight_rule = rule;
  spec.mass_kg = has_bw ? c->mass_kg : 0.0;
  spec.epochs = true;
  spec.impulse = true;
  spec.relative = true;
  if ((rc = stance_curve_metrics(c, t, slots, &spec)) < 0)
    return rc;
  return iso_extra_metrics(c, t, slots, on, hold_end, base_from_bw ? NULL : &base, weight, rule,
                           has_bw, ipk);
}

int
stance_analyse_iso(StanceCtx *c, StanceError *err)
{
  const double *f = c->f[STANCE_SEL_TOTAL];
  const size_t n = c->n;
  if (!f || n < 2)
    return stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                                "no isometric pull: the recording has %zu samples", n);
  const uint8_t *bad = c->bad;
  const StanceConditioning *cd = c->cond;
  const bool has_bw = cd && cd->has_body_weight && c->system_weight_n > 0.0;

  /* Reference weight and the largest force. */
  double wref = c->system_weight_n;
  if (!has_bw && low_percentile(f, bad, n, 0.10, &wref) != STANCE_OK)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
  if (!isfinite(wref))
    return stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                                "no isometric pull: no usable sample");
  double fpeak = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if ((!bad || !bad[i]) && f[i] > fpeak)
      fpeak = f[i];
  double excess = fpeak - wref;
  double min_excess = PULL_MIN_BW_FRAC * fabs(wref);
  if (!(excess > min_excess) || !(excess > 50.0))
    return stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                                "no isometric pull: the total force never rises more than %.0f N "
                                "above %s %.1f N (largest %.1f N)",
                                fmax(min_excess, 50.0),
                                has_bw ? "body weight" : "the resting force", wref,
                                isfinite(fpeak) ? fpeak : 0.0);
  const double hi = wref + PULL_HI_FRAC * excess, lo_thr = wref + PULL_LO_FRAC * excess;

  /* Pulls (hysteresis). */
  Pull *pulls = NULL;
  size_t n_pulls = 0, cap = 0;
  size_t min_len = (size_t)llround(PULL_MIN_S * c->rate);
  for (size_t i = 0; i < n;) {
    if ((bad && bad[i]) || !(f[i] > hi)) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && ((bad && bad[j]) || f[j] >= lo_thr))
      j++;
    if (j - i >= min_len) {
      if (n_pulls == cap) {
        size_t nc = cap ? cap * 2 : 8;
        Pull *q = realloc(pulls, nc * sizeof *q);
        if (!q) {
          free(pulls);
          return stance_error_set(err, STANCE_ENOMEM, "out of memory listing isometric pulls");
        }
        pulls = q;
        cap = nc;
      }
      pulls[n_pulls].r0 = i;
      pulls[n_pulls].r1 = j;
      n_pulls++;
    }
    i = j;
  }
  if (n_pulls == 0) {
    free(pulls);
    return stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                                "no isometric pull: no rise above %.1f N lasting %.2f s", hi,
                                PULL_MIN_S);
  }

  /* Prefix sums (offset by the reference weight) and bad counts for the window statistics. */
  double *s1 = malloc((n + 1) * sizeof *s1), *s2 = malloc((n + 1) * sizeof *s2);
  size_t *nbad = malloc((n + 1) * sizeof *nbad);
  int rc = STANCE_OK;
  if (!s1 || !s2 || !nbad) {
    rc = stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
    goto done;
  }
  s1[0] = s2[0] = 0.0;
  nbad[0] = 0;
  for (size_t i = 0; i < n; i++) {
    bool b = bad && bad[i];
    double x = b ? 0.0 : f[i] - wref;
    s1[i + 1] = s1[i] + x;
    s2[i + 1] = s2[i] + x * x;
    nbad[i + 1] = nbad[i] + (b ? 1 : 0);
  }

  size_t lo = 0;
  for (size_t k = 0; k < n_pulls; k++) {
    if (pulls[k].r0 < lo)
      continue; /* inside the previous hold (it never returned to its starting value) */
    size_t next = k + 1 < n_pulls ? pulls[k + 1].r0 : n;
    size_t end = pulls[k].r1;
    rc = analyse_pull(c, &pulls[k], lo, next, s1, s2, nbad, wref, &end);
    if (rc < 0) {
      rc = stance_error_set(err, rc, "out of memory while analysing the pull at %.3f s",
                            (double)pulls[k].r0 * c->dt);
      goto done;
    }
    rc = STANCE_OK;
    lo = end;
  }

done:
  free(pulls);
  free(s1);
  free(s2);
  free(nbad);
  return rc;
}
