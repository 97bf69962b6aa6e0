/* stance-curve.c: force-curve metrics shared by the family analysers (peak force, time to peak,
 * force and RFD at fixed epochs, peak RFD over a sliding window, mean force, impulse and net
 * impulse), with the simulator's truth definitions (src/daq/stance-sim.c,
 * _stance_sim_truth_force_metrics):
 *
 *   peak_force    max F over [peak_from, end) (first sample of the maximum), on f_raw
 *   time_to_peak  (i_peak - onset) dt
 *   force_at_X    F[onset + k], k = round(X ms x rate), only when onset + k < end
 *   rfd_0_X       (F[onset + k] - F[onset]) / (k dt)
 *   peak_rfd      max over i in [onset, end - w) of (F[i + w] - F[i]) / (w dt),
 *                 w = round(window_s x rate) >= 1
 *   mean_force    sum F / n over [onset, end)
 *   impulse       trapezoid of F over the samples onset .. end - 1 (n - 1 intervals)
 *   net_impulse   impulse - weight (n - 1) dt
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything here is O(n) in the length of the curve (the sliding peak-RFD window included).
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_EPOCH 5
static const int epoch_ms[N_EPOCH] = {50, 100, 150, 200, 250};

static const unsigned slot_bit[3] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};

double
stance_curve_integral(const double *f, size_t a, size_t b, double w, double dt)
{
  if (!f || b <= a + 1)
    return 0.0;
  /* Trapezoid over b - a - 1 intervals; the weight term is subtracted once at the end so the
   * gross sum is not disturbed by a large constant per sample. */
  double sum = 0.0;
  for (size_t i = a; i + 1 < b; i++)
    sum += f[i] + f[i + 1];
  return 0.5 * sum * dt - w * (double)(b - a - 1) * dt;
}

/* Number of bad samples in [a, b). */
static size_t
count_bad(const uint8_t *bad, size_t a, size_t b)
{
  size_t nb = 0;
  if (!bad)
    return 0;
  for (size_t i = a; i < b; i++)
    nb += bad[i] != 0;
  return nb;
}

/* What one slot's curve gives (the values of the metrics and why some are absent). */
typedef struct {
  bool use;      /* the slot is computed */
  char skip[96]; /* when !use but requested: why (plate unloaded) */
  bool peak_ok;  /* peak, time to peak and the relative peaks */
  double peak, ttp;
  bool mean_ok, imp_ok; /* mean force and impulses (no bad sample in [onset, end)) */
  double mean, imp;
  bool ep_ok[N_EPOCH];
  double f_at[N_EPOCH], rfd[N_EPOCH];
  bool prfd_ok;
  double prfd;
} SlotVals;

/* The shared absence reasons for one curve. */
typedef struct {
  char bad_curve[96]; /* bad samples in [onset, end) */
  char bad_peak[96];  /* bad samples in [peak_from, end) */
  char ep_reason[N_EPOCH][96];
  char prfd_reason[96];
  char no_weight[96];
  char no_mass[96];
} Reasons;

static void
slot_compute(const StanceCtx *c, int sel, size_t onset, size_t peak_from, size_t end, size_t w,
             SlotVals *v)
{
  const double *f = c->f[sel];
  const double *fr = c->f_raw[sel] ? c->f_raw[sel] : f;
  const uint8_t *bad = c->bad;
  const double dt = c->dt;
  const size_t n = end - onset;

  memset(v, 0, sizeof *v);
  if (sel != STANCE_SEL_TOTAL) {
    /* A limb needs a loaded plate somewhere in the curve (the truth's rule). */
    double fmax = -INFINITY;
    for (size_t i = onset; i < end; i++)
      if ((!bad || !bad[i]) && f[i] > fmax)
        fmax = f[i];
    if (!(fmax > STANCE_COP_THRESHOLD_N)) {
      snprintf(v->skip, sizeof v->skip, "plate not loaded during the curve (max %.1f N <= %.0f N)",
               isfinite(fmax) ? fmax : 0.0, STANCE_COP_THRESHOLD_N);
      return;
    }
  }
  v->use = true;

  /* Peak on the unfiltered series; a bad sample in the search window may hide the true peak
   * (saturation clips it), so the peak is then absent. */
  if (count_bad(bad, peak_from, end) == 0) {
    size_t ipk = peak_from;
    for (size_t i = peak_from; i < end; i++)
      if (fr[i] > fr[ipk])
        ipk = i;
    v->peak = fr[ipk];
    v->ttp = (double)(ipk - onset) * dt;
    v->peak_ok = true;
  }

  if (count_bad(bad, onset, end) == 0) {
    double sum = 0.0;
    for (size_t i = onset; i < end; i++)
      sum += f[i];
    v->mean = sum / (double)n;
    v->mean_ok = true;
    v->imp = stance_curve_integral(f, onset, end, 0.0, dt);
    v->imp_ok = true;
  }

  for (int e = 0; e < N_EPOCH; e++) {
    size_t k = (size_t)llround(epoch_ms[e] * 1e-3 * c->rate);
    if (k == 0 || onset + k >= end || count_bad(bad, onset, onset + k + 1) != 0)
      continue;
    v->f_at[e] = f[onset + k];
    v->rfd[e] = (f[onset + k] - f[onset]) / ((double)k * dt);
    v->ep_ok[e] = true;
  }

  /* Peak RFD: one pass with a running count of bad samples in the window [i, i + w]. */
  if (onset + w < end) {
    size_t nb = count_bad(bad, onset, onset + w + 1);
    for (size_t i = onset; i + w < end; i++) {
      if (i > onset && bad) {
        nb -= bad[i - 1] != 0;
        nb += bad[i + w] != 0;
      }
      if (nb)
        continue;
      double slope = (f[i + w] - f[i]) / ((double)w * dt);
      if (!v->prfd_ok || slope > v->prfd) {
        v->prfd = slope;
        v->prfd_ok = true;
      }
    }
  }
}

/* Sets slot sel of m when the slot is requested: the value when ok, else absent with why (or
 * with the slot's own reason when its plate was not loaded). */
static void
put(StanceMetric *m, unsigned slots, int sel, const SlotVals *v, bool ok, double val,
    const char *why)
{
  if (!(slots & slot_bit[sel]))
    return;
  if (!v->use) {
    stance_metric_absent(m, (StanceSel)sel, "%s", v->skip);
    return;
  }
  if (ok)
    stance_metric_set(m, (StanceSel)sel, val);
  else
    stance_metric_absent(m, (StanceSel)sel, "%s", why && *why ? why : "not computable");
}

/* The weights a net value subtracted, as method parameters. */
static void
weight_params(StanceMethod *mth, const char *rule, const StanceCurveSpec *spec, unsigned slots)
{
  stance_method_param_str(mth, "weight_rule", rule);
  stance_method_param_num(mth, "weight_n", spec->weight_n[STANCE_SEL_TOTAL]);
  if (slots & STANCE_HAS_LEFT)
    stance_method_param_num(mth, "weight_left_n", spec->weight_n[STANCE_SEL_LEFT]);
  if (slots & STANCE_HAS_RIGHT)
    stance_method_param_num(mth, "weight_right_n", spec->weight_n[STANCE_SEL_RIGHT]);
}

int
stance_curve_metrics(const StanceCtx *c, StanceTrial *t, unsigned has, const StanceCurveSpec *spec)
{
  if (!c || !t || !spec)
    return STANCE_EINVAL;
  size_t onset = spec->onset, end = spec->end < c->n ? spec->end : c->n;
  size_t peak_from = spec->peak_from;
  if (peak_from < onset || peak_from >= end)
    peak_from = onset;

  /* The slots that exist: requested and with a series (left/right of a one-plate recording are
   * simply not there, without a reason). */
  unsigned slots = 0;
  for (int sel = 0; sel < 3; sel++)
    if ((has & slot_bit[sel]) && c->f[sel])
      slots |= slot_bit[sel];
  if (!slots)
    return STANCE_OK;

  const double rate = c->rate;
  const double dt = c->dt;
  double win_s = c->opts && c->opts->peak_rfd_window_s > 0 ? c->opts->peak_rfd_window_s : 0.020;
  size_t w = (size_t)llround(win_s * rate);
  if (w < 1)
    w = 1;

  static const char *const ids_all[][2] = {
      {"peak_force", "N"}, {"peak_force_net", "N"}, {"time_to_peak", "s"}, {"mean_force", "N"},
      {"peak_rfd", "N/s"}, {"impulse", "N.s"},      {"net_impulse", "N.s"}};

  if (onset >= end) {
    /* An empty curve: every metric absent, saying why. */
    for (size_t k = 0; k < sizeof ids_all / sizeof *ids_all; k++) {
      StanceMetric *m = stance_trial_add_metric(t, ids_all[k][0], ids_all[k][1], "curve.empty");
      if (!m)
        return STANCE_ENOMEM;
      for (int sel = 0; sel < 3; sel++)
        if (slots & slot_bit[sel])
          stance_metric_absent(m, (StanceSel)sel,
                               "empty curve (onset %.3f s at or after end %.3f s)",
                               (double)onset * dt, (double)end * dt);
    }
    return STANCE_OK;
  }

  SlotVals v[3];
  for (int sel = 0; sel < 3; sel++) {
    if (slots & slot_bit[sel])
      slot_compute(c, sel, onset, peak_from, end, w, &v[sel]);
    else
      memset(&v[sel], 0, sizeof v[sel]);
  }

  /* Reasons shared by the slots. */
  Reasons r;
  memset(&r, 0, sizeof r);
  size_t nb_curve = count_bad(c->bad, onset, end), nb_peak = count_bad(c->bad, peak_from, end);
  snprintf(r.bad_curve, sizeof r.bad_curve,
           "%zu bad samples (gap or saturation) between %.3f and %.3f s", nb_curve,
           (double)onset * dt, (double)end * dt);
  snprintf(r.bad_peak, sizeof r.bad_peak,
           "%zu bad samples (gap or saturation) in the peak search %.3f-%.3f s", nb_peak,
           (double)peak_from * dt, (double)end * dt);
  for (int e = 0; e < N_EPOCH; e++) {
    size_t k = (size_t)llround(epoch_ms[e] * 1e-3 * rate);
    if (k == 0)
      snprintf(r.ep_reason[e], sizeof r.ep_reason[e], "epoch %d ms shorter than one sample",
               epoch_ms[e]);
    else if (onset + k >= end)
      snprintf(r.ep_reason[e], sizeof r.ep_reason[e],
               "epoch 0-%d ms runs past the end of the curve (%.0f ms long)", epoch_ms[e],
               (double)(end - onset) * dt * 1e3);
    else
      snprintf(r.ep_reason[e], sizeof r.ep_reason[e],
               "bad samples (gap or saturation) in the epoch 0-%d ms", epoch_ms[e]);
  }
  if (onset + w >= end)
    snprintf(r.prfd_reason, sizeof r.prfd_reason,
             "curve (%.0f ms) not longer than the %.0f ms RFD window",
             (double)(end - onset) * dt * 1e3, (double)w * dt * 1e3);
  else
    snprintf(r.prfd_reason, sizeof r.prfd_reason,
             "every %.0f ms RFD window holds bad samples (gap or saturation)",
             (double)w * dt * 1e3);
  snprintf(r.no_weight, sizeof r.no_weight, "no body weight (no still window): net value needs it");
  snprintf(r.no_mass, sizeof r.no_mass, "no body mass (no still window): relative value needs it");

  const double peak_from_s = (double)(peak_from - onset) * dt;
  const bool has_weight = c->system_weight_n > 0.0;
  /* The limb rule only means something when a limb slot is there. */
  const char *rule =
      (slots & (STANCE_HAS_LEFT | STANCE_HAS_RIGHT)) && spec->weight_rule && *spec->weight_rule
          ? spec->weight_rule
          : "system_weight";
  StanceMetric *m;

  /* Peak force, gross. */
  if (!(m = stance_trial_add_metric(t, "peak_force", "N", "peak.max")))
    return STANCE_ENOMEM;
  stance_method_param_str(&m->method, "series", "unfiltered");
  stance_method_param_num(&m->method, "search_from_s", peak_from_s);
  for (int sel = 0; sel < 3; sel++)
    put(m, slots, sel, &v[sel], v[sel].peak_ok, v[sel].peak, r.bad_peak);

  /* Net of the weight. */
  if (!(m = stance_trial_add_metric(t, "peak_force_net", "N", "peak.net")))
    return STANCE_ENOMEM;
  weight_params(&m->method, rule, spec, slots);
  for (int sel = 0; sel < 3; sel++)
    put(m, slots, sel, &v[sel], v[sel].peak_ok && has_weight, v[sel].peak - spec->weight_n[sel],
        has_weight ? r.bad_peak : r.no_weight);

  if (spec->relative) {
    const bool has_mass = spec->mass_kg > 0.0;
    const double bw = spec->mass_kg * c->g;
    if (!(m = stance_trial_add_metric(t, "peak_force_rel", "N/kg", "peak.relative_mass")))
      return STANCE_ENOMEM;
    if (has_mass)
      stance_method_param_num(&m->method, "mass_kg", spec->mass_kg);
    for (int sel = 0; sel < 3; sel++)
      put(m, slots, sel, &v[sel], v[sel].peak_ok && has_mass,
          has_mass ? v[sel].peak / spec->mass_kg : 0.0, has_mass ? r.bad_peak : r.no_mass);
    if (!(m = stance_trial_add_metric(t, "peak_force_bw", "BW", "peak.relative_weight")))
      return STANCE_ENOMEM;
    if (has_mass)
      stance_method_param_num(&m->method, "weight_n", bw);
    for (int sel = 0; sel < 3; sel++)
      put(m, slots, sel, &v[sel], v[sel].peak_ok && has_mass, has_mass ? v[sel].peak / bw : 0.0,
          has_mass ? r.bad_peak : r.no_mass);
  }

  if (!(m = stance_trial_add_metric(t, "time_to_peak", "s", "time_to_peak.from_onset")))
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "search_from_s", peak_from_s);
  for (int sel = 0; sel < 3; sel++)
    put(m, slots, sel, &v[sel], v[sel].peak_ok, v[sel].ttp, r.bad_peak);

  if (!(m = stance_trial_add_metric(t, "mean_force", "N", "mean.samples")))
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "duration_s", (double)(end - onset) * dt);
  for (int sel = 0; sel < 3; sel++)
    put(m, slots, sel, &v[sel], v[sel].mean_ok, v[sel].mean, r.bad_curve);

  if (spec->epochs) {
    for (int e = 0; e < N_EPOCH; e++) {
      char id[32];
      snprintf(id, sizeof id, "force_at_%d", epoch_ms[e]);
      if (!(m = stance_trial_add_metric(t, id, "N", "force.at_epoch")))
        return STANCE_ENOMEM;
      stance_method_param_num(&m->method, "epoch_s", epoch_ms[e] * 1e-3);
      for (int sel = 0; sel < 3; sel++)
        put(m, slots, sel, &v[sel], v[sel].ep_ok[e], v[sel].f_at[e], r.ep_reason[e]);
      snprintf(id, sizeof id, "rfd_0_%d", epoch_ms[e]);
      if (!(m = stance_trial_add_metric(t, id, "N/s", "rfd.epoch")))
        return STANCE_ENOMEM;
      stance_method_param_num(&m->method, "epoch_s", epoch_ms[e] * 1e-3);
      for (int sel = 0; sel < 3; sel++)
        put(m, slots, sel, &v[sel], v[sel].ep_ok[e], v[sel].rfd[e], r.ep_reason[e]);
    }
  }

  if (!(m = stance_trial_add_metric(t, "peak_rfd", "N/s", "rfd.peak_sliding")))
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "window_s", (double)w * dt);
  for (int sel = 0; sel < 3; sel++)
    put(m, slots, sel, &v[sel], v[sel].prfd_ok, v[sel].prfd, r.prfd_reason);

  if (spec->impulse) {
    const double span = (double)(end - onset - 1) * dt;
    if (!(m = stance_trial_add_metric(t, "impulse", "N.s", "impulse.trapezoid")))
      return STANCE_ENOMEM;
    stance_method_param_num(&m->method, "duration_s", span);
    for (int sel = 0; sel < 3; sel++)
      put(m, slots, sel, &v[sel], v[sel].imp_ok, v[sel].imp, r.bad_curve);
    if (!(m = stance_trial_add_metric(t, "net_impulse", "N.s", "net_impulse.trapezoid")))
      return STANCE_ENOMEM;
    stance_method_param_num(&m->method, "duration_s", span);
    weight_params(&m->method, rule, spec, slots);
    for (int sel = 0; sel < 3; sel++)
      put(m, slots, sel, &v[sel], v[sel].imp_ok && has_weight,
          v[sel].imp - spec->weight_n[sel] * span, has_weight ? r.bad_curve : r.no_weight);
  }
  return STANCE_OK;
}
