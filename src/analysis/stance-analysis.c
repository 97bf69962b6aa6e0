/* stance-analysis.c: the analysis pipeline (forces, conditioning, family analyser, asymmetry,
 * summary). See stance-analysis.h for the steps and docs/methods.md for every rule.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stance-analysis-private.h"
#include "stance-condition.h"

/* An unloaded plate reads below this (N): nobody on it, zero drifted by at most this much. */
#define UNLOADED_THRESHOLD_N 50.0
/* An unloaded stretch must last this long to measure a plate's offset (s). */
#define UNLOADED_MIN_S 0.1
/* Offsets below this are noise, not a zero error (N); see also 3 SD below. */
#define ZERO_MIN_OFFSET_N 2.0
/* Offsets above this are flagged as a warning (the plates were clearly not zeroed). */
#define ZERO_WARN_OFFSET_N 10.0
/* Uneven stance while weighing: a bilateral stance whose limbs' shares differ by more than this
 * (percentage points: 10 = beyond 55/45), the same rule as the balance trials. */
#define UNEVEN_STANCE_POINTS 10.0
/* Balance protocols: default zero-lag low-pass (Hz, order). */
#define BALANCE_CUTOFF_HZ 10.0
#define DEFAULT_FILTER_ORDER 4
/* Residual analysis runs on this much signal around the largest force (s). */
#define RESIDUAL_WINDOW_S 5.0

double
stance_ctx_limb_weight(const StanceCtx *c, StanceSel sel)
{
  if (sel == STANCE_SEL_LEFT)
    return c->limb_weight_n[0];
  if (sel == STANCE_SEL_RIGHT)
    return c->limb_weight_n[1];
  return c->system_weight_n;
}

StanceFamily
stance_protocol_family(StanceProtocol p)
{
  switch (p) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_SL_CMJ: return STANCE_FAMILY_JUMPS;
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: return STANCE_FAMILY_HOPS;
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT: return STANCE_FAMILY_ISO;
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE:
  case STANCE_PROTO_STEP_UP:
  case STANCE_PROTO_SL_SQUAT:
  case STANCE_PROTO_SL_RDL:
  case STANCE_PROTO_BACK_SQUAT:
  case STANCE_PROTO_DEADLIFT: return STANCE_FAMILY_REPS;
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_SL_BALANCE:
  case STANCE_PROTO_WEIGH_IN: return STANCE_FAMILY_BALANCE;
  default: return STANCE_FAMILY_NONE;
  }
}

static bool
is_balance(StanceProtocol p)
{
  return stance_protocol_family(p) == STANCE_FAMILY_BALANCE;
}

static int
validate_options(const StanceAnalysisOptions *o, double rate, StanceError *err)
{
  if (o->protocol < STANCE_PROTO_UNKNOWN || o->protocol >= STANCE_PROTO_COUNT)
    return stance_error_set(err, STANCE_EINVAL, "protocol %d is not a known protocol",
                            (int)o->protocol);
  if (o->involved != STANCE_SIDE_BOTH && o->involved != STANCE_SIDE_LEFT &&
      o->involved != STANCE_SIDE_RIGHT)
    return stance_error_set(err, STANCE_EINVAL, "involved limb %d: expected left or right",
                            (int)o->involved);
  if (o->formula < STANCE_ASYM_DEFAULT || o->formula >= STANCE_ASYM_COUNT)
    return stance_error_set(err, STANCE_EINVAL, "asymmetry formula %d is not known",
                            (int)o->formula);
  if (!(o->onset_sd > 0 && o->onset_sd <= 50))
    return stance_error_set(err, STANCE_EINVAL,
                            "onset SD multiple %g: expected a number in (0, 50], e.g. 5",
                            o->onset_sd);
  if (!(o->onset_n > 0 && o->onset_n <= 1000))
    return stance_error_set(err, STANCE_EINVAL,
                            "onset threshold %g N: expected a number in (0, 1000], e.g. 20",
                            o->onset_n);
  if (!(o->onset_pct_bw > 0 && o->onset_pct_bw <= 100))
    return stance_error_set(err, STANCE_EINVAL,
                            "onset threshold %g %% BW: expected a number in (0, 100], e.g. 5",
                            o->onset_pct_bw);
  if (!isfinite(o->onset_step_back_s) || o->onset_step_back_s > 1.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "onset step-back %g s: expected 0 to 1 s (e.g. 0.030), or negative "
                            "for the default",
                            o->onset_step_back_s);
  if (!isfinite(o->takeoff_n) || o->takeoff_n > 500)
    return stance_error_set(err, STANCE_EINVAL,
                            "takeoff threshold %g N: expected at most 500 N (e.g. 20), or 0 for "
                            "5 SD of the unloaded plate",
                            o->takeoff_n);
  if (!(o->peak_rfd_window_s >= 2.0 / rate && o->peak_rfd_window_s <= 0.5))
    return stance_error_set(err, STANCE_EINVAL,
                            "peak RFD window %g s: expected at least two samples (%g s) and at "
                            "most 0.5 s (e.g. 0.020)",
                            o->peak_rfd_window_s, 2.0 / rate);
  if (o->filter == STANCE_FILTER_BUTTERWORTH) {
    if (o->filter_order < 2 || o->filter_order > 8 || o->filter_order % 2)
      return stance_error_set(err, STANCE_EINVAL,
                              "filter order %d: expected 2, 4, 6 or 8 (the forward-backward "
                              "pair's total order)",
                              o->filter_order);
    if (!(o->filter_cutoff_hz > 0 && o->filter_cutoff_hz < rate / 2))
      return stance_error_set(err, STANCE_EINVAL,
                              "filter cutoff %g Hz: expected above 0 and below half the sample "
                              "rate (%g Hz)",
                              o->filter_cutoff_hz, rate / 2);
  }
  if (o->weigh != STANCE_WEIGH_STILLEST && o->weigh != STANCE_WEIGH_FIRST &&
      o->weigh != STANCE_WEIGH_AUTO)
    return stance_error_set(err, STANCE_EINVAL,
                            "weighing rule %d: expected stillest, first or auto", (int)o->weigh);
  if (!(o->weigh_window_s >= 0.25 && o->weigh_window_s <= 10))
    return stance_error_set(err, STANCE_EINVAL,
                            "weighing window %g s: expected 0.25 to 10 s (default 1)",
                            o->weigh_window_s);
  if (!(o->gravity_m_s2 >= 9.7 && o->gravity_m_s2 <= 9.9))
    return stance_error_set(err, STANCE_EINVAL,
                            "gravity %g m/s^2: expected Earth's, 9.7 to 9.9 (e.g. 9.81 or the "
                            "standard 9.80665)",
                            o->gravity_m_s2);
  if (!isfinite(o->weigh_start_s))
    return stance_error_set(err, STANCE_EINVAL,
                            "weighing window start %g s: expected a time in the recording, or "
                            "negative for the rule",
                            o->weigh_start_s);
  if (!isfinite(o->external_load_kg) || o->external_load_kg > 1000)
    return stance_error_set(err, STANCE_EINVAL,
                            "external load %g kg: expected 0 to 1000 kg, or negative to take the "
                            "recording's",
                            o->external_load_kg);
  return STANCE_OK;
}

/* External load: the options', else the recording's ("external_load_kg", or the simulator's
 * "sim.load"), else 0. */
static double
external_load(const StanceRecording *rec, const StanceAnalysisOptions *o)
{
  if (o->external_load_kg >= 0)
    return o->external_load_kg;
  const char *keys[] = {"external_load_kg", "sim.load"};
  for (size_t k = 0; k < 2; k++) {
    const char *v = stance_meta_get(&rec->meta, keys[k]);
    if (v) {
      char *end = NULL;
      double x = strtod(v, &end);
      if (end && end != v && *end == '\0' && isfinite(x) && x >= 0 && x <= 1000)
        return x;
    }
  }
  return 0.0;
}

/* Guesses a protocol for a recording that does not say: jumps when flights exist, an isometric
 * pull when the force rises far above the standing weight without flight, else quiet standing. */
static StanceProtocol
guess_protocol(const double *total, const uint8_t *bad, size_t n, double rate, double bw,
               bool has_bw, const char **why)
{
  size_t to[1], land[1];
  size_t k = stance_ev_flights(total, bad, 0, n, rate, 20.0, 0.1, to, land, 1);
  bool loaded_before = false;
  if (k > 0) {
    size_t i;
    loaded_before = stance_ev_first_above(total, bad, 0, to[0], 200.0, &i);
  }
  if (k > 0 && loaded_before) {
    *why = "flights found after loaded contact: analysed as countermovement jumps";
    return STANCE_PROTO_CMJ;
  }
  double mx = 0.0;
  for (size_t i = 0; i < n; i++)
    if (!bad[i] && total[i] > mx)
      mx = total[i];
  if (has_bw && mx > 1.4 * bw) {
    *why = "no flight, force rising above 1.4 x body weight: analysed as an isometric pull";
    return STANCE_PROTO_IMTP;
  }
  *why = "no flight and no large force: analysed as quiet standing";
  return STANCE_PROTO_QUIET_STANDING;
}

/* For barbell protocols the athlete weighs without the bar: only the stretch before the load
 * first changes by more than 10 % counts. Returns the end of that stretch (n when none). */
static size_t
pre_load_end(const double *total, const uint8_t *bad, size_t n, double rate)
{
  size_t i0;
  if (!stance_ev_first_above(total, bad, 0, n, 200.0, &i0))
    return n;
  size_t w = (size_t)(0.5 * rate);
  if (i0 + w >= n)
    return n;
  double s = 0;
  size_t m = 0;
  for (size_t i = i0; i < i0 + w; i++)
    if (!bad[i]) {
      s += total[i];
      m++;
    }
  if (m == 0)
    return n;
  double level = s / (double)m;
  for (size_t i = i0 + w; i < n; i++)
    if (!bad[i] && fabs(total[i] - level) > 0.1 * level)
      return i;
  return n;
}

static void
flag_status(StanceAnalysis *a, const StanceRecording *rec)
{
  size_t gaps = 0, sat = 0, first_gap = 0, first_sat = 0;
  unsigned sat_channels = 0;
  for (size_t i = 0; i < rec->n_samples; i++) {
    uint16_t s = rec->status[i];
    if (s & STANCE_STATUS_GAP) {
      if (gaps++ == 0)
        first_gap = i;
    }
    if (s & STANCE_STATUS_SAT_MASK) {
      if (sat++ == 0)
        first_sat = i;
      sat_channels |= s & STANCE_STATUS_SAT_MASK;
    }
  }
  double r = rec->sample_rate_hz;
  if (gaps)
    stance_analysis_flag(a, STANCE_FLAG_GAPS, STANCE_SEVERITY_WARNING,
                         "%zu missing samples (%.3f s), the first at %.3f s; nothing is "
                         "interpolated: metrics over a gap are absent",
                         gaps, (double)gaps / r, (double)first_gap / r);
  if (sat) {
    char ch[96] = "";
    size_t len = 0;
    for (int c = 0; c < STANCE_N_CELLS && len < sizeof ch - 16; c++)
      if (sat_channels & (1u << c))
        len += (size_t)snprintf(ch + len, sizeof ch - len, "%s%s cell %d", len ? ", " : "",
                                c < 4 ? "left" : "right", c % 4 + 1);
    stance_analysis_flag(a, STANCE_FLAG_SATURATION, STANCE_SEVERITY_ERROR,
                         "%zu samples at an ADC rail (%s), the first at %.3f s: forces there are "
                         "unknown and metrics using them are absent",
                         sat, ch, (double)first_sat / r);
  }
  if (rec->meta.sides_assumed)
    stance_analysis_flag(a, STANCE_FLAG_SIDES_ASSUMED, STANCE_SEVERITY_WARNING,
                         "the source does not say which plate is left: the first plate column "
                         "was taken as left");
  if (rec->meta.rate_assumed)
    stance_analysis_flag(a, STANCE_FLAG_RATE_ASSUMED, STANCE_SEVERITY_WARNING,
                         "the source gives no sample rate or time column: %g Hz was assumed",
                         rec->sample_rate_hz);
}

/* Per-trial flags for gaps and saturation inside the trial. */
static void
flag_trials(StanceAnalysis *a, const StanceRecording *rec)
{
  double r = rec->sample_rate_hz;
  for (size_t k = 0; k < a->n_trials; k++) {
    StanceTrial *t = &a->trials[k];
    size_t i0 = t->start_s > 0 ? (size_t)(t->start_s * r) : 0;
    size_t i1 = (size_t)(t->end_s * r) + 1;
    if (i1 > rec->n_samples)
      i1 = rec->n_samples;
    size_t gaps = 0, sat = 0, fg = 0, fs = 0;
    for (size_t i = i0; i < i1; i++) {
      if ((rec->status[i] & STANCE_STATUS_GAP) && gaps++ == 0)
        fg = i;
      if ((rec->status[i] & STANCE_STATUS_SAT_MASK) && sat++ == 0)
        fs = i;
    }
    if (gaps)
      stance_trial_flag(t, STANCE_FLAG_GAPS, STANCE_SEVERITY_WARNING,
                        "%zu missing samples in this trial, the first at %.3f s", gaps,
                        (double)fg / r);
    if (sat)
      stance_trial_flag(t, STANCE_FLAG_SATURATION, STANCE_SEVERITY_ERROR,
                        "%zu saturated samples in this trial, the first at %.3f s", sat,
                        (double)fs / r);
  }
}

/* Single-leg trials: a whole-body value (jump height, flight time, contact time, ...) measured
 * while standing on one leg is that leg's value. Copy the total into the stance limb's slot when
 * the family left it empty, so that left-leg trials and right-leg trials compare (the summary's
 * left/right asymmetry). Split stances load both plates and keep their per-plate values. */
static void
fill_stance_limb(StanceAnalysis *a)
{
  if (stance_protocol_is_split_stance(a->protocol))
    return;
  for (size_t k = 0; k < a->n_trials; k++) {
    StanceTrial *t = &a->trials[k];
    if (t->side != STANCE_SIDE_LEFT && t->side != STANCE_SIDE_RIGHT)
      continue;
    StanceSel s = t->side == STANCE_SIDE_LEFT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
    StanceSel o = s == STANCE_SEL_LEFT ? STANCE_SEL_RIGHT : STANCE_SEL_LEFT;
    for (size_t i = 0; i < t->n_metrics; i++) {
      StanceMetric *m = &t->metrics[i];
      double v;
      if (m->no_asym || stance_metric_get(m, s, NULL) || stance_metric_get(m, o, NULL) ||
          m->absent[s][0] || !stance_metric_get(m, STANCE_SEL_TOTAL, &v))
        continue;
      stance_metric_set(m, s, v);
    }
  }
}

/* Measures each plate unloaded and removes real offsets. */
static int
zero_plates(StanceAnalysis *a, double *const series[3], int first, int last, const uint8_t *bad,
            size_t n, double rate, StanceError *err)
{
  StanceConditioning *cd = &a->cond;
  bool any_sd = false;
  for (int s = first; s <= last; s++) {
    StanceUnloaded u;
    int rc = stance_cond_unloaded(series[s], bad, n, rate, UNLOADED_THRESHOLD_N, UNLOADED_MIN_S, &u,
                                  err);
    if (rc == STANCE_ENOMEM)
      return rc;
    if (rc != STANCE_OK || !u.found) {
      stance_error_clear(err);
      continue;
    }
    cd->unloaded_sd_n[s] = u.sd_n;
    any_sd = true;
    if (fabs(u.mean_n) > ZERO_MIN_OFFSET_N && fabs(u.mean_n) > 3.0 * u.sd_n) {
      for (size_t i = 0; i < n; i++)
        series[s][i] -= u.mean_n;
      cd->zero_offset_n[s] = u.mean_n;
      cd->zeroed = true;
      const char *name = s == STANCE_SEL_LEFT    ? "left plate"
                         : s == STANCE_SEL_RIGHT ? "right plate"
                                                 : "plate";
      stance_analysis_flag(a, STANCE_FLAG_NOT_ZEROED,
                           fabs(u.mean_n) > ZERO_WARN_OFFSET_N ? STANCE_SEVERITY_WARNING
                                                               : STANCE_SEVERITY_INFO,
                           "%s read %.1f N unloaded (%.3f-%.3f s): the offset was removed", name,
                           u.mean_n, (double)u.start / rate, (double)(u.start + u.len) / rate);
    }
  }
  cd->has_unloaded_sd = any_sd;
  return STANCE_OK;
}

int
stance_analyse(const StanceRecording *rec, const char *input, const StanceAnalysisOptions *opts_in,
               StanceAnalysis **out, StanceError *err)
{
  *out = NULL;
  if (!rec || rec->n_samples == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "the recording is empty (expected at least a few seconds of samples)");
  const double rate = rec->sample_rate_hz;
  const size_t n = rec->n_samples;
  if (!(rate > 0 && isfinite(rate)))
    return stance_error_set(err, STANCE_EINVAL, "sample rate %g Hz: expected a positive rate",
                            rate);
  if ((double)n < rate * 0.5)
    return stance_error_set(err, STANCE_ENODATA,
                            "the recording holds %zu samples (%.3f s): expected at least 0.5 s", n,
                            (double)n / rate);

  StanceAnalysisOptions o;
  if (opts_in)
    o = *opts_in;
  else
    stance_analysis_options_default(&o);
  int rc = validate_options(&o, rate, err);
  if (rc)
    return rc;

  StanceAnalysis *a = stance_analysis_new();
  double *buf = NULL, *fbuf = NULL;
  uint8_t *bad = NULL, *spike = NULL;
  if (!a)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  snprintf(a->input, sizeof a->input, "%s", input ? input : "");
  a->layout = rec->layout;
  a->sample_rate_hz = rate;
  a->duration_s = (double)n / rate;
  a->involved = o.involved;

  const bool limbs = stance_recording_has_limbs(rec);
  const int first = limbs ? STANCE_SEL_LEFT : STANCE_SEL_TOTAL;

  /* 1. Forces and the bad-sample mask. */
  buf = calloc(3 * n, sizeof *buf);
  bad = calloc(n, 1);
  spike = calloc(n, 1);
  if (!buf || !bad || !spike) {
    rc = stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
    goto fail;
  }
  double *series[3] = {limbs ? buf : NULL, limbs ? buf + n : NULL, buf + 2 * n};
  for (int s = first; s <= STANCE_SEL_TOTAL; s++) {
    rc = stance_recording_force(rec, (StanceSel)s, series[s], err);
    if (rc)
      goto fail;
  }
  for (size_t i = 0; i < n; i++)
    bad[i] = (rec->status[i] & (STANCE_STATUS_GAP | STANCE_STATUS_SAT_MASK)) ? 1 : 0;
  flag_status(a, rec);

  /* 2a. Zeroing: each plate unloaded; the total follows its plates. */
  rc =
      zero_plates(a, series, first, limbs ? STANCE_SEL_RIGHT : STANCE_SEL_TOTAL, bad, n, rate, err);
  if (rc)
    goto fail;
  if (limbs) {
    for (size_t i = 0; i < n; i++)
      series[STANCE_SEL_TOTAL][i] = series[STANCE_SEL_LEFT][i] + series[STANCE_SEL_RIGHT][i];
    a->cond.zero_offset_n[STANCE_SEL_TOTAL] =
        a->cond.zero_offset_n[STANCE_SEL_LEFT] + a->cond.zero_offset_n[STANCE_SEL_RIGHT];
    StanceUnloaded u;
    if (stance_cond_unloaded(series[STANCE_SEL_TOTAL], bad, n, rate, UNLOADED_THRESHOLD_N,
                             UNLOADED_MIN_S, &u, NULL) == STANCE_OK &&
        u.found)
      a->cond.unloaded_sd_n[STANCE_SEL_TOTAL] = u.sd_n;
  }

  /* 2b. Protocol, side and formula. */
  StanceProtocol proto = o.protocol != STANCE_PROTO_UNKNOWN ? o.protocol : rec->meta.protocol;
  StanceSide side = o.side != STANCE_SIDE_BOTH ? o.side : rec->meta.side;

  /* 2c. Weighing. */
  StanceWeighOptions wo;
  stance_weigh_options_default(&wo);
  wo.rule = o.weigh;
  wo.window_s = o.weigh_window_s;
  if (proto != STANCE_PROTO_UNKNOWN && stance_protocol_info(proto)->uses_bar)
    wo.search_to = pre_load_end(series[STANCE_SEL_TOTAL], bad, n, rate);
  StanceWeighing wg;
  memset(&wg, 0, sizeof wg);
  if (o.weigh_start_s >= 0) {
    /* A window chosen by hand: used as given, flagged when it is not still. */
    size_t i0 = (size_t)llround(o.weigh_start_s * rate);
    if (i0 + (size_t)llround(o.weigh_window_s * rate) > n) {
      rc = stance_error_set(err, STANCE_EINVAL,
                            "weighing window %.3f-%.3f s: the recording ends at %.3f s (expected "
                            "a window inside it)",
                            o.weigh_start_s, o.weigh_start_s + o.weigh_window_s, (double)n / rate);
      goto fail;
    }
    wo.rule = STANCE_WEIGH_FIRST;
    wo.search_from = i0;
    wo.search_to = 0;
    rc = stance_cond_weigh(series[STANCE_SEL_TOTAL], bad, n, rate, &wo, &wg, err);
    if (rc == STANCE_ENOMEM)
      goto fail;
    if (rc == STANCE_OK && !wg.found && wg.len > 0) {
      stance_analysis_flag(a, "weigh_window_not_still", STANCE_SEVERITY_WARNING,
                           "the chosen weighing window %.3f-%.3f s varies by SD %.1f N around "
                           "%.1f N (still would be at most %.0f N and %.0f %%): used as chosen",
                           o.weigh_start_s, o.weigh_start_s + o.weigh_window_s, wg.sd_n, wg.mean_n,
                           wo.max_sd_n, wo.max_cv_pct);
      wg.found = true;
    }
  } else if (o.weigh == STANCE_WEIGH_AUTO) {
    /* The first second when it is still (Owen 2014, the shiny-vertical-jump app, AccuPower and
     * IsometricAnalyzer weigh there, before any pretension or countermovement), else the
     * stillest window anywhere. */
    wo.rule = STANCE_WEIGH_FIRST;
    rc = stance_cond_weigh(series[STANCE_SEL_TOTAL], bad, n, rate, &wo, &wg, NULL);
    if (rc == STANCE_ENOMEM)
      goto fail;
    if (rc != STANCE_OK || !wg.found) {
      memset(&wg, 0, sizeof wg);
      wo.rule = STANCE_WEIGH_STILLEST;
      if (wo.window_s < 1.0)
        wo.window_s = 1.0;
    }
  }
  if (!wg.found && o.weigh_start_s < 0)
    rc = stance_cond_weigh(series[STANCE_SEL_TOTAL], bad, n, rate, &wo, &wg, err);
  if (rc == STANCE_ENOMEM)
    goto fail;
  if (rc != STANCE_OK) {
    stance_analysis_flag(a, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_ERROR, "no body weight: %s",
                         err ? err->message : "weighing failed");
    stance_error_clear(err);
    rc = STANCE_OK;
  } else if (!wg.found) {
    if (wg.len > 0)
      stance_analysis_flag(a, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_ERROR,
                           "no still window of %.2f s: the stillest (%.3f-%.3f s) varies by SD "
                           "%.1f N around %.1f N (expected at most %.0f N and %.0f %%); metrics "
                           "that need body weight are absent",
                           wo.window_s, (double)wg.start / rate, (double)(wg.start + wg.len) / rate,
                           wg.sd_n, wg.mean_n, wo.max_sd_n, wo.max_cv_pct);
    else
      stance_analysis_flag(a, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_ERROR,
                           "no loaded window of %.2f s (mean above %.0f N): nobody stood on the "
                           "plates long enough to weigh",
                           wo.window_s, wo.min_force_n);
  }
  StanceConditioning *cd = &a->cond;
  cd->still_share_left = 0.5;
  cd->gravity_m_s2 = o.gravity_m_s2;
  if (wg.found) {
    cd->has_body_weight = true;
    cd->body_weight_n = wg.mean_n;
    cd->body_weight_sd_n = wg.sd_n;
    cd->bw_window_start_s = (double)wg.start / rate;
    cd->bw_window_end_s = (double)(wg.start + wg.len) / rate;
    cd->body_mass_kg = wg.mean_n / o.gravity_m_s2;
    if (limbs && wg.mean_n > 0) {
      double sl = 0;
      for (size_t i = wg.start; i < wg.start + wg.len; i++)
        sl += series[STANCE_SEL_LEFT][i];
      cd->still_share_left = sl / (double)wg.len / wg.mean_n;
    }
  }

  if (proto == STANCE_PROTO_UNKNOWN) {
    const char *why = "";
    proto = guess_protocol(series[STANCE_SEL_TOTAL], bad, n, rate, cd->body_weight_n,
                           cd->has_body_weight, &why);
    stance_analysis_flag(a, STANCE_FLAG_PROTOCOL_GUESSED, STANCE_SEVERITY_WARNING,
                         "the recording names no protocol: %s (pass --protocol to choose)", why);
  }
  const StanceProtocolInfo *pi = stance_protocol_info(proto);
  a->protocol = proto;
  if (!pi->needs_side && !pi->allows_side)
    side = STANCE_SIDE_BOTH;
  a->side = side;
  a->formula =
      o.formula != STANCE_ASYM_DEFAULT ? o.formula : stance_asym_default(proto, o.involved);

  if (cd->has_body_weight && limbs && !pi->needs_side && side == STANCE_SIDE_BOTH &&
      fabs(cd->still_share_left * 200.0 - 100.0) > UNEVEN_STANCE_POINTS)
    stance_analysis_flag(a, STANCE_FLAG_UNEVEN_STANCE, STANCE_SEVERITY_WARNING,
                         "while weighing (%.3f-%.3f s) the left plate carried %.1f %% and the "
                         "right %.1f %% (expected the limbs within %.0f points of each other)",
                         cd->bw_window_start_s, cd->bw_window_end_s, cd->still_share_left * 100.0,
                         100.0 - cd->still_share_left * 100.0, UNEVEN_STANCE_POINTS);

  cd->external_load_kg = pi->uses_bar ? external_load(rec, &o) : 0.0;
  cd->system_mass_kg = cd->body_mass_kg + cd->external_load_kg;

  /* 2d. Spectrum of the still period: noise floor and mains hum. */
  if (wg.found && (double)wg.len >= rate) {
    StanceSpectrumQuality q;
    if (stance_cond_spectrum_quality(series[STANCE_SEL_TOTAL], wg.start, wg.len, rate, &q, NULL) ==
        STANCE_OK) {
      cd->has_spectrum = true;
      cd->noise_floor_n = q.noise_floor_n;
      cd->mains_hz = q.mains_hz;
      cd->mains_amp_n = q.mains_amp_n;
      if (q.mains_hz > 0)
        stance_analysis_flag(a, STANCE_FLAG_MAINS_HUM, STANCE_SEVERITY_WARNING,
                             "mains hum at %.0f Hz, amplitude %.2f N, in the still period: check "
                             "the plates' earthing and cables",
                             q.mains_hz, q.mains_amp_n);
    }
  }

  /* 2e. Residual analysis on the stretch around the largest force (movement content). */
  {
    size_t imax = 0;
    double fmax = -INFINITY;
    for (size_t i = 0; i < n; i++)
      if (!bad[i] && series[STANCE_SEL_TOTAL][i] > fmax) {
        fmax = series[STANCE_SEL_TOTAL][i];
        imax = i;
      }
    size_t half = (size_t)(RESIDUAL_WINDOW_S * rate / 2);
    size_t a0 = imax > half ? imax - half : 0;
    size_t a1 = imax + half < n ? imax + half : n;
    /* Shrink to the gap-free stretch around the peak. */
    for (size_t i = imax; i > a0; i--)
      if (bad[i - 1]) {
        a0 = i;
        break;
      }
    for (size_t i = imax; i < a1; i++)
      if (bad[i]) {
        a1 = i;
        break;
      }
    double fc = 0;
    if (a1 > a0 && stance_cond_residual_cutoff(series[STANCE_SEL_TOTAL], a0, a1 - a0, rate, &fc,
                                               NULL) == STANCE_OK)
      cd->suggested_cutoff_hz = fc;
  }

  /* 2f. Spikes (flagged, kept). */
  rc = stance_cond_spikes(series[STANCE_SEL_TOTAL], bad, n, 0, 0, 0, spike, &cd->n_spikes, err);
  if (rc == STANCE_ENOMEM)
    goto fail;
  if (rc) {
    stance_error_clear(err);
    rc = STANCE_OK;
  }
  if (cd->n_spikes > 0) {
    size_t i0 = 0;
    while (i0 < n && !spike[i0])
      i0++;
    stance_analysis_flag(a, STANCE_FLAG_SPIKES, STANCE_SEVERITY_WARNING,
                         "%zu isolated spikes (Hampel filter), the first at %.3f s: kept in the "
                         "data, check the cables and the plate's feet",
                         cd->n_spikes, (double)i0 / rate);
  }

  /* 2g. Low-pass. */
  StanceFilterKind fk = o.filter;
  int order = o.filter_order > 0 ? o.filter_order : DEFAULT_FILTER_ORDER;
  double cutoff = o.filter_cutoff_hz;
  if (fk == STANCE_FILTER_DEFAULT) {
    if (is_balance(proto) && BALANCE_CUTOFF_HZ < rate / 2) {
      fk = STANCE_FILTER_BUTTERWORTH;
      order = DEFAULT_FILTER_ORDER;
      cutoff = BALANCE_CUTOFF_HZ;
    } else {
      fk = STANCE_FILTER_RAW;
    }
  } else if (fk == STANCE_FILTER_AUTO) {
    if (cd->suggested_cutoff_hz > 0 && cd->suggested_cutoff_hz < rate / 2) {
      fk = STANCE_FILTER_BUTTERWORTH;
      cutoff = cd->suggested_cutoff_hz;
    } else {
      fk = STANCE_FILTER_RAW;
      stance_analysis_flag(a, "filter_not_applied", STANCE_SEVERITY_WARNING,
                           "--filter auto: residual analysis found no cutoff; the data are "
                           "analysed unfiltered");
    }
  }
  const double *fcond[3] = {series[0], series[1], series[2]};
  if (fk == STANCE_FILTER_BUTTERWORTH) {
    fbuf = calloc(3 * n, sizeof *fbuf);
    if (!fbuf) {
      rc = stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
      goto fail;
    }
    double *fs[3] = {limbs ? fbuf : NULL, limbs ? fbuf + n : NULL, fbuf + 2 * n};
    for (int s = first; s <= STANCE_SEL_TOTAL; s++) {
      if (limbs && s == STANCE_SEL_TOTAL) {
        for (size_t i = 0; i < n; i++)
          fs[s][i] = fs[STANCE_SEL_LEFT][i] + fs[STANCE_SEL_RIGHT][i];
        continue;
      }
      rc = stance_cond_lowpass(series[s], bad, n, rate, order, cutoff, fs[s], err);
      if (rc)
        goto fail;
    }
    for (int s = 0; s < 3; s++)
      fcond[s] = fs[s];
    stance_method_set(&cd->filter, "filter.butterworth_zero_lag");
    stance_method_param_num(&cd->filter, "order", order);
    stance_method_param_num(&cd->filter, "cutoff_hz", cutoff);
    stance_method_param_str(&cd->filter, "passes", "forward-backward");
  } else {
    stance_method_set(&cd->filter, "filter.raw");
  }

  /* 3. Context and the family analyser. */
  StanceAnalysisOptions ro = o;
  if (ro.onset == STANCE_ONSET_DEFAULT)
    ro.onset = (pi->has_reps && !pi->is_jump) ? STANCE_ONSET_FIXED_N : STANCE_ONSET_BW_5SD;
  if (ro.onset_step_back_s < 0)
    ro.onset_step_back_s = (pi->is_jump && ro.onset == STANCE_ONSET_BW_5SD) ? 0.030 : 0.0;
  ro.filter = fk;
  ro.filter_order = order;
  ro.filter_cutoff_hz = cutoff;
  ro.formula = a->formula;
  ro.protocol = proto;
  ro.side = side;

  StanceCtx c;
  memset(&c, 0, sizeof c);
  c.rec = rec;
  c.opts = &ro;
  c.rate = rate;
  c.dt = 1.0 / rate;
  c.g = o.gravity_m_s2;
  c.n = n;
  c.has_limbs = limbs;
  c.protocol = proto;
  c.side = side;
  for (int s = 0; s < 3; s++) {
    c.f[s] = fcond[s];
    c.f_raw[s] = series[s];
  }
  c.bad = bad;
  c.spike = spike;
  c.cond = cd;
  if (cd->has_body_weight) {
    c.system_weight_n = cd->body_weight_n + cd->external_load_kg * o.gravity_m_s2;
    c.mass_kg = c.system_weight_n / o.gravity_m_s2;
  }
  if (pi->needs_side) {
    /* Unilateral tests: the stance limb carries the system weight. Split stances use the still
     * share instead (both feet load). Bilateral tests: each limb's own share of the still load,
     * as the shiny-vertical-jump app does; the limbs' net values then sum to the total. */
    bool split = stance_protocol_is_split_stance(proto);
    if (split) {
      c.limb_weight_rule = "still_share";
      c.limb_weight_n[0] = c.system_weight_n * cd->still_share_left;
      c.limb_weight_n[1] = c.system_weight_n * (1.0 - cd->still_share_left);
    } else {
      c.limb_weight_rule = "stance_limb";
      c.limb_weight_n[0] = c.system_weight_n;
      c.limb_weight_n[1] = c.system_weight_n;
    }
  } else {
    c.limb_weight_rule = "still_share";
    c.limb_weight_n[0] = c.system_weight_n * cd->still_share_left;
    c.limb_weight_n[1] = c.system_weight_n * (1.0 - cd->still_share_left);
  }
  c.out = a;

  switch (stance_protocol_family(proto)) {
  case STANCE_FAMILY_JUMPS: rc = stance_analyse_jumps(&c, err); break;
  case STANCE_FAMILY_HOPS: rc = stance_analyse_hops(&c, err); break;
  case STANCE_FAMILY_ISO: rc = stance_analyse_iso(&c, err); break;
  case STANCE_FAMILY_REPS: rc = stance_analyse_reps(&c, err); break;
  case STANCE_FAMILY_BALANCE: rc = stance_analyse_balance(&c, err); break;
  default:
    rc = stance_error_set(err, STANCE_EINVAL, "protocol '%s' has no analysis",
                          stance_protocol_name(proto));
    break;
  }
  if (rc)
    goto fail;
  if (c.out->onset_method.id[0] == '\0') {
    /* The rule in force, for the document, even when no trial needed it. */
    const char *ids[] = {"onset.bw_5sd", "onset.bw_5sd", "onset.fixed_n", "onset.pct_bw"};
    stance_method_set(&a->onset_method, ids[ro.onset]);
    if (ro.onset == STANCE_ONSET_BW_5SD) {
      stance_method_param_num(&a->onset_method, "k", ro.onset_sd);
      stance_method_param_num(&a->onset_method, "step_back_s", ro.onset_step_back_s);
    } else if (ro.onset == STANCE_ONSET_FIXED_N) {
      stance_method_param_num(&a->onset_method, "n", ro.onset_n);
    } else {
      stance_method_param_num(&a->onset_method, "pct", ro.onset_pct_bw);
    }
  }
  if (a->n_trials == 0 && !stance_analysis_find_flag(a, "no_trials"))
    stance_analysis_flag(a, "no_trials", STANCE_SEVERITY_ERROR,
                         "no %s trial was found in %.1f s of data",
                         stance_protocol_info(proto)->title, a->duration_s);
  flag_trials(a, rec);
  fill_stance_limb(a);

  /* 4-5. Asymmetry and summary. */
  stance_analysis_compute_asymmetry(a);
  rc = stance_analysis_summarise(a);
  if (rc) {
    rc = stance_error_set(err, rc, "out of memory while summarising");
    goto fail;
  }
  free(buf);
  free(fbuf);
  free(bad);
  free(spike);
  *out = a;
  return STANCE_OK;

fail:
  free(buf);
  free(fbuf);
  free(bad);
  free(spike);
  stance_analysis_free(a);
  return rc ? rc : STANCE_ENOMEM;
}
