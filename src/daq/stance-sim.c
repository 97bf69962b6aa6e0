/* stance-sim.c: simulator parameters, dispatcher, scene buffers, the sensor chain (feet -> cells ->
 * counts with noise, hum, drift and saturation), truth bookkeeping and the truth JSON.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Determinism: every random number comes from xoshiro256** streams seeded from params.seed (stream
 * 1: the athlete, scene->rng; stream 2: the sensor noise; stream 3: the default foot sway; stream
 * 4: the still-standing load-split wobble). Floating-point contraction (FMA) is switched off here
 * so that the arithmetic is the same on x86-64 and aarch64 (identity across architectures also
 * needs libm's sin/cos/log/exp/pow to round alike; see docs/simulator.md).
 *
 * Threads: reentrant. The only static state is a per-thread cache of the sway parameters of the
 * last seed used (_Thread_local), which is a pure function of the seed.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "stance-sim-private.h"

#include "stance-json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random streams (see the top of the file). */
enum {
  SIM_STREAM_ATHLETE = 1,
  SIM_STREAM_SENSOR = 2,
  SIM_STREAM_SWAY = 3,
  SIM_STREAM_SPLIT = 4,
};

/* ======================================================================================
 * Scene buffers and the shared generator helpers
 * ====================================================================================== */

static int
scene_reserve(StanceSimScene *s, size_t need)
{
  if (need <= s->cap)
    return STANCE_OK;
  size_t cap = s->cap ? s->cap : 4096;
  while (cap < need) {
    if (cap > SIZE_MAX / 2 / sizeof(double))
      return STANCE_ENOMEM;
    cap *= 2;
  }
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    double **arrs[3] = {&s->f[p], &s->cx[p], &s->cy[p]};
    for (int k = 0; k < 3; k++) {
      double *q = realloc(*arrs[k], cap * sizeof(double));
      if (!q)
        return STANCE_ENOMEM;
      *arrs[k] = q;
    }
  }
  s->cap = cap;
  return STANCE_OK;
}

static void
scene_free(StanceSimScene *s)
{
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    free(s->f[p]);
    free(s->cx[p]);
    free(s->cy[p]);
    s->f[p] = s->cx[p] = s->cy[p] = NULL;
  }
  s->n = s->cap = 0;
}

int
_stance_sim_push_cop(StanceSimScene *s, double f_left, double f_right, double cx_left,
                     double cy_left, double cx_right, double cy_right)
{
  if (s->n >= s->cap) {
    int r = scene_reserve(s, s->n + 1);
    if (r < 0)
      return r;
  }
  size_t i = s->n++;
  s->f[0][i] = f_left;
  s->f[1][i] = f_right;
  s->cx[0][i] = cx_left;
  s->cy[0][i] = cy_left;
  s->cx[1][i] = cx_right;
  s->cy[1][i] = cy_right;
  return STANCE_OK;
}

/* The default foot sway: per plate and axis, three slow sinusoids (about 0.1, 0.27 and 0.63 Hz)
 * whose frequencies (+-20 %) and phases are drawn from the seed's sway stream. AP amplitudes 2.0,
 * 1.0, 0.4 mm (RMS about 1.6 mm), ML half of that. It is a pure function of (seed, time), so
 * pushing samples never consumes scene->rng and the athlete's other draws do not depend on how many
 * samples a generator pushed. */
#define SWAY_TERMS 3
typedef struct {
  bool init;
  uint64_t seed;
  double w[STANCE_N_PLATES][2][SWAY_TERMS]; /* rad/s */
  double a[STANCE_N_PLATES][2][SWAY_TERMS]; /* mm */
  double ph[STANCE_N_PLATES][2][SWAY_TERMS];
  double split_w[2], split_ph[2];
} SwayCache;

static _Thread_local SwayCache sway_cache;

static const SwayCache *
sway_params(uint64_t seed)
{
  SwayCache *c = &sway_cache;
  if (c->init && c->seed == seed)
    return c;
  static const double f0[SWAY_TERMS] = {0.11, 0.27, 0.63};
  static const double a0[SWAY_TERMS] = {2.0, 1.0, 0.4};
  StanceSimRng r;
  _stance_rng_seed(&r, seed, SIM_STREAM_SWAY);
  for (int p = 0; p < STANCE_N_PLATES; p++)
    for (int axis = 0; axis < 2; axis++) /* 0: x (ML), 1: y (AP) */
      for (int k = 0; k < SWAY_TERMS; k++) {
        c->w[p][axis][k] = 2.0 * M_PI * f0[k] * _stance_rng_range(&r, 0.8, 1.2);
        c->a[p][axis][k] = a0[k] * (axis == 0 ? 0.5 : 1.0);
        c->ph[p][axis][k] = _stance_rng_range(&r, 0.0, 2.0 * M_PI);
      }
  StanceSimRng r2;
  _stance_rng_seed(&r2, seed, SIM_STREAM_SPLIT);
  c->split_w[0] = 2.0 * M_PI * _stance_rng_range(&r2, 0.15, 0.30);
  c->split_w[1] = 2.0 * M_PI * _stance_rng_range(&r2, 0.40, 0.80);
  c->split_ph[0] = _stance_rng_range(&r2, 0.0, 2.0 * M_PI);
  c->split_ph[1] = _stance_rng_range(&r2, 0.0, 2.0 * M_PI);
  c->seed = seed;
  c->init = true;
  return c;
}

static double
sway_at(const SwayCache *c, int plate, int axis, double t)
{
  double v = 0.0;
  for (int k = 0; k < SWAY_TERMS; k++)
    v += c->a[plate][axis][k] * sin(c->w[plate][axis][k] * t + c->ph[plate][axis][k]);
  return v;
}

int
_stance_sim_push(StanceSimScene *s, double f_left, double f_right)
{
  const SwayCache *c = sway_params(s->p->seed);
  double t = _stance_sim_t(s, s->n);
  return _stance_sim_push_cop(s, f_left, f_right, s->p->foot_x_mm[0] + sway_at(c, 0, 0, t),
                              s->p->foot_y_mm[0] + sway_at(c, 0, 1, t),
                              s->p->foot_x_mm[1] + sway_at(c, 1, 0, t),
                              s->p->foot_y_mm[1] + sway_at(c, 1, 1, t));
}

int
_stance_sim_still(StanceSimScene *s, double seconds, double share_left)
{
  const SwayCache *c = sway_params(s->p->seed);
  if (!(share_left >= 0.0))
    share_left = 0.0;
  if (share_left > 1.0)
    share_left = 1.0;
  /* The split wobbles by up to about 1 % of the load (two sinusoids below 1 Hz, peak 1 %), scaled
   * down towards a one-legged stance so the share never leaves [0, 1]. The total is exact. */
  double room = 2.0 * fmin(share_left, 1.0 - share_left); /* 1 at 0.5, 0 at 0 or 1 */
  double amp = 0.01 * fmin(1.0, room);
  size_t n = (size_t)llround(seconds * s->rate_hz);
  if (seconds <= 0.0)
    n = 0;
  int r = scene_reserve(s, s->n + n);
  if (r < 0)
    return r;
  double w = _stance_sim_weight(s);
  for (size_t k = 0; k < n; k++) {
    double t = _stance_sim_t(s, s->n);
    double d = amp * (0.6 * sin(c->split_w[0] * t + c->split_ph[0]) +
                      0.4 * sin(c->split_w[1] * t + c->split_ph[1]));
    double fl = w * (share_left + d);
    if ((r = _stance_sim_push(s, fl, w - fl)) < 0)
      return r;
  }
  return STANCE_OK;
}

int
_stance_sim_empty(StanceSimScene *s, double seconds)
{
  size_t n = seconds > 0.0 ? (size_t)llround(seconds * s->rate_hz) : 0;
  int r = scene_reserve(s, s->n + n);
  if (r < 0)
    return r;
  for (size_t k = 0; k < n; k++)
    if ((r = _stance_sim_push_cop(s, 0.0, 0.0, s->p->foot_x_mm[0], s->p->foot_y_mm[0],
                                  s->p->foot_x_mm[1], s->p->foot_y_mm[1])) < 0)
      return r;
  return STANCE_OK;
}

/* The weaker limb bears less of a bilateral still load by half the force asymmetry:
 *   (share_strong - share_weak) / share_strong = a / 2, with a = asym_force_pct / 100, so
 *   share_weak = (1 - a/2) / (2 - a/2) and share_strong = 1 / (2 - a/2).
 * E.g. 10 % with the right limb weaker: left = 1 / 1.95 = 0.5128, right = 0.4872. */
double
_stance_sim_still_share_left(const StanceSimParams *p)
{
  double a = p->asym_force_pct / 100.0;
  if (!(a > 0.0))
    return 0.5;
  double strong = 1.0 / (2.0 - a / 2.0);
  return p->weaker == STANCE_SIDE_LEFT ? 1.0 - strong : strong;
}

/* ---- Truth bookkeeping ---- */

StanceTruthTrial *
_stance_sim_truth_trial(StanceSimScene *s, const char *kind, double start_s, double end_s)
{
  StanceSimTruth *t = s->truth;
  if (!t)
    return NULL;
  if (t->n_trials >= t->cap_trials) {
    size_t cap = t->cap_trials ? t->cap_trials * 2 : 256;
    StanceTruthTrial *q = realloc(t->trials, cap * sizeof *q);
    if (!q)
      return NULL;
    t->trials = q;
    t->cap_trials = cap;
  }
  StanceTruthTrial *tr = &t->trials[t->n_trials];
  memset(tr, 0, sizeof *tr);
  tr->index = (int)t->n_trials + 1;
  snprintf(tr->kind, sizeof tr->kind, "%s", kind ? kind : "");
  tr->start_s = start_s;
  tr->end_s = end_s;
  t->n_trials++;
  return tr;
}

void
_stance_sim_truth_event(StanceTruthTrial *tr, const char *name, double t_s)
{
  if (!tr || !name || tr->n_events >= STANCE_TRUTH_MAX_EVENTS || !isfinite(t_s))
    return;
  StanceTruthEvent *e = &tr->events[tr->n_events++];
  snprintf(e->name, sizeof e->name, "%s", name);
  e->t_s = t_s;
}

static void
metric_set(StanceTruthMetric *arr, int *n, const char *id, const char *unit, unsigned has,
           double left, double right, double total)
{
  StanceTruthMetric *m = NULL;
  for (int k = 0; k < *n; k++)
    if (strcmp(arr[k].id, id) == 0)
      m = &arr[k];
  if (!m) {
    if (*n >= STANCE_TRUTH_MAX_METRICS)
      return;
    m = &arr[(*n)++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
  }
  snprintf(m->unit, sizeof m->unit, "%s", unit ? unit : "");
  /* A non-finite value never enters the truth: its bit is dropped. */
  if ((has & STANCE_TRUTH_LEFT) && isfinite(left)) {
    m->left = left;
    m->has |= STANCE_TRUTH_LEFT;
  }
  if ((has & STANCE_TRUTH_RIGHT) && isfinite(right)) {
    m->right = right;
    m->has |= STANCE_TRUTH_RIGHT;
  }
  if ((has & STANCE_TRUTH_TOTAL) && isfinite(total)) {
    m->total = total;
    m->has |= STANCE_TRUTH_TOTAL;
  }
}

void
_stance_sim_truth_metric(StanceTruthTrial *tr, const char *id, const char *unit, unsigned has,
                         double left, double right, double total)
{
  if (!tr || !id)
    return;
  metric_set(tr->metrics, &tr->n_metrics, id, unit, has, left, right, total);
}

void
_stance_sim_truth_session_metric(StanceSimScene *s, const char *id, const char *unit, unsigned has,
                                 double left, double right, double total)
{
  if (!s || !s->truth || !id)
    return;
  metric_set(s->truth->metrics, &s->truth->n_metrics, id, unit, has, left, right, total);
}

/* Force of series sel (0 left, 1 right, 2 total) at sample i of the noise-free scene. */
static inline double
scene_force(const StanceSimScene *s, int sel, size_t i)
{
  return sel == 2 ? s->f[0][i] + s->f[1][i] : s->f[sel][i];
}

void
_stance_sim_truth_force_metrics(const StanceSimScene *s, StanceTruthTrial *tr, unsigned has,
                                size_t i_onset, size_t i_peak_from, size_t i_end,
                                double weight_left, double weight_right)
{
  if (!s || !tr)
    return;
  if (i_end > s->n)
    i_end = s->n;
  if (i_onset >= i_end)
    return;
  if (i_peak_from < i_onset || i_peak_from >= i_end)
    i_peak_from = i_onset;
  static const unsigned bit[3] = {STANCE_TRUTH_LEFT, STANCE_TRUTH_RIGHT, STANCE_TRUTH_TOTAL};
  double weight[3] = {weight_left, weight_right, weight_left + weight_right};
  const double dt = s->dt;
  const size_t n = i_end - i_onset;

  /* Per metric, the values of the three series and which are set. */
  enum { N_EPOCH = 5 };
  static const int epoch_ms[N_EPOCH] = {50, 100, 150, 200, 250};
  double peak[3] = {0}, ttp[3] = {0}, f_at[N_EPOCH][3] = {{0}}, rfd[N_EPOCH][3] = {{0}};
  double prfd[3] = {0}, mean[3] = {0}, imp[3] = {0}, net[3] = {0};
  bool prfd_ok[3] = {false};
  unsigned use = 0;

  for (int sel = 0; sel < 3; sel++) {
    if (!(has & bit[sel]))
      continue;
    if (sel < 2) {
      /* A limb needs a loaded plate somewhere in the trial. */
      double fmax = 0.0;
      for (size_t i = i_onset; i < i_end; i++)
        fmax = fmax > s->f[sel][i] ? fmax : s->f[sel][i];
      if (!(fmax > STANCE_COP_THRESHOLD_N))
        continue;
    }
    use |= bit[sel];
    size_t ipk = i_peak_from;
    for (size_t i = i_peak_from; i < i_end; i++)
      if (scene_force(s, sel, i) > scene_force(s, sel, ipk))
        ipk = i;
    peak[sel] = scene_force(s, sel, ipk);
    ttp[sel] = (double)(ipk - i_onset) * dt;
    double f0 = scene_force(s, sel, i_onset);
    for (int e = 0; e < N_EPOCH; e++) {
      size_t k = (size_t)llround(epoch_ms[e] * 1e-3 * s->rate_hz);
      if (k == 0 || i_onset + k >= i_end)
        continue;
      f_at[e][sel] = scene_force(s, sel, i_onset + k);
      rfd[e][sel] = (f_at[e][sel] - f0) / ((double)k * dt);
    }
    size_t w = (size_t)llround(0.020 * s->rate_hz);
    if (w < 1)
      w = 1;
    for (size_t i = i_onset; i + w < i_end; i++) {
      double slope = (scene_force(s, sel, i + w) - scene_force(s, sel, i)) / ((double)w * dt);
      if (!prfd_ok[sel] || slope > prfd[sel]) {
        prfd[sel] = slope;
        prfd_ok[sel] = true;
      }
    }
    double sum = 0.0, trap = 0.0;
    for (size_t i = i_onset; i < i_end; i++) {
      sum += scene_force(s, sel, i);
      if (i + 1 < i_end)
        trap += 0.5 * (scene_force(s, sel, i) + scene_force(s, sel, i + 1)) * dt;
    }
    mean[sel] = sum / (double)n;
    imp[sel] = trap;
    net[sel] = trap - weight[sel] * (double)(n - 1) * dt;
  }
  if (!use)
    return;
  _stance_sim_truth_metric(tr, "peak_force", "N", use, peak[0], peak[1], peak[2]);
  _stance_sim_truth_metric(tr, "time_to_peak", "s", use, ttp[0], ttp[1], ttp[2]);
  for (int e = 0; e < N_EPOCH; e++) {
    size_t k = (size_t)llround(epoch_ms[e] * 1e-3 * s->rate_hz);
    if (k == 0 || i_onset + k >= i_end)
      continue;
    char id[32];
    snprintf(id, sizeof id, "force_at_%d", epoch_ms[e]);
    _stance_sim_truth_metric(tr, id, "N", use, f_at[e][0], f_at[e][1], f_at[e][2]);
    snprintf(id, sizeof id, "rfd_0_%d", epoch_ms[e]);
    _stance_sim_truth_metric(tr, id, "N/s", use, rfd[e][0], rfd[e][1], rfd[e][2]);
  }
  unsigned use_prfd = 0;
  for (int sel = 0; sel < 3; sel++)
    if ((use & bit[sel]) && prfd_ok[sel])
      use_prfd |= bit[sel];
  if (use_prfd)
    _stance_sim_truth_metric(tr, "peak_rfd", "N/s", use_prfd, prfd[0], prfd[1], prfd[2]);
  _stance_sim_truth_metric(tr, "mean_force", "N", use, mean[0], mean[1], mean[2]);
  _stance_sim_truth_metric(tr, "impulse", "N.s", use, imp[0], imp[1], imp[2]);
  _stance_sim_truth_metric(tr, "net_impulse", "N.s", use, net[0], net[1], net[2]);
}

/* ======================================================================================
 * Parameters
 * ====================================================================================== */

void
stance_sim_params_default(StanceSimParams *p, StanceProtocol protocol)
{
  memset(p, 0, sizeof *p);
  const StanceProtocolInfo *info = stance_protocol_info(protocol);
  p->protocol = protocol;
  p->seed = 1;
  p->sample_rate_hz = 1000.0;
  p->body_mass_kg = 75.0;
  p->external_load_kg = 0.0;
  p->side = info && info->needs_side ? STANCE_SIDE_LEFT : STANCE_SIDE_BOTH;
  p->weaker = STANCE_SIDE_RIGHT;
  p->asym_force_pct = p->asym_rfd_pct = p->asym_impulse_pct = 0.0;
  p->reps = 0;
  p->sets = 1;
  p->fatigue_pct = 0.0;
  p->tempo_s = 0.0;
  p->duration_s = 0.0;
  p->adc_noise_counts = 40.0;
  p->cell_noise_n = 0.5;
  p->mains_hz = 0.0;
  p->mains_amp_n = 0.0;
  p->drift_n_per_min = 0.0;
  p->saturate = false;
  p->no_still = false;
  for (int k = 0; k < STANCE_N_PLATES; k++)
    p->foot_x_mm[k] = p->foot_y_mm[k] = 0.0;
  p->include_warmup = true;
  p->rest_s = 150.0;

  switch (protocol) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_CMJ: p->reps = 3; break;
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: p->reps = 10; break;
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT:
    p->reps = 3; /* trials */
    p->duration_s = 5.0;
    break;
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE:
  case STANCE_PROTO_STEP_UP:
  case STANCE_PROTO_SL_SQUAT:
    p->reps = 8;
    p->tempo_s = 3.0;
    break;
  case STANCE_PROTO_SL_RDL:
    p->reps = 8;
    p->tempo_s = 4.0;
    break;
  case STANCE_PROTO_BACK_SQUAT:
    p->reps = 5;
    p->sets = 3;
    p->tempo_s = 3.0;
    p->external_load_kg = 100.0;
    break;
  case STANCE_PROTO_DEADLIFT:
    p->reps = 5;
    p->sets = 3;
    p->tempo_s = 3.0;
    p->external_load_kg = 140.0;
    break;
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_SL_BALANCE: p->duration_s = 30.0; break;
  case STANCE_PROTO_WEIGH_IN: p->duration_s = 5.0; break;
  default: break;
  }
}

int
stance_sim_params_validate(const StanceSimParams *p, StanceError *err)
{
  if (!p)
    return stance_error_set(err, STANCE_EINVAL, "no simulator parameters given");
  const StanceProtocolInfo *info = stance_protocol_info(p->protocol);
  if (!info)
    return stance_error_set(err, STANCE_EINVAL,
                            "protocol: %d is not a known protocol (expected an id such as cmj, "
                            "quiet-standing or back-squat)",
                            (int)p->protocol);
  if (!_stance_sim_in_range(p->sample_rate_hz, 100.0, 10000.0))
    return stance_error_set(
        err, STANCE_ERANGE,
        "rate: %g Hz is outside 100-10000 Hz (the board runs at 500, 1000, 2000 "
        "or 4000 Hz)",
        p->sample_rate_hz);
  if (!_stance_sim_in_range(p->body_mass_kg, 20.0, 250.0))
    return stance_error_set(err, STANCE_ERANGE, "body-mass: %g kg is outside 20-250 kg",
                            p->body_mass_kg);
  if (!_stance_sim_in_range(p->external_load_kg, 0.0, 500.0))
    return stance_error_set(err, STANCE_ERANGE, "load: %g kg is outside 0-500 kg",
                            p->external_load_kg);
  if (p->side != STANCE_SIDE_BOTH && p->side != STANCE_SIDE_LEFT && p->side != STANCE_SIDE_RIGHT)
    return stance_error_set(err, STANCE_EINVAL,
                            "side: %d is not a side (expected left, right or "
                            "both)",
                            (int)p->side);
  /* Single-leg jumps and hops with side "both" alternate left and right trials in one
   * recording; every other one-sided protocol needs its side. */
  bool alternates = p->protocol == STANCE_PROTO_SL_CMJ || p->protocol == STANCE_PROTO_SL_HOP;
  if (info->needs_side && !alternates && p->side == STANCE_SIDE_BOTH)
    return stance_error_set(err, STANCE_EINVAL,
                            "side: %s needs a side (expected left or right, not both)", info->name);
  if (!info->needs_side && !info->allows_side && p->side != STANCE_SIDE_BOTH)
    return stance_error_set(err, STANCE_EINVAL, "side: %s is bilateral (expected both, not %s)",
                            info->name, stance_side_name(p->side));
  if (p->weaker != STANCE_SIDE_LEFT && p->weaker != STANCE_SIDE_RIGHT)
    return stance_error_set(err, STANCE_EINVAL, "weaker: expected left or right");
  if (!_stance_sim_in_range(p->asym_force_pct, 0.0, 60.0))
    return stance_error_set(err, STANCE_ERANGE, "asym-force: %g %% is outside 0-60 %%",
                            p->asym_force_pct);
  if (!_stance_sim_in_range(p->asym_rfd_pct, 0.0, 60.0))
    return stance_error_set(err, STANCE_ERANGE, "asym-rfd: %g %% is outside 0-60 %%",
                            p->asym_rfd_pct);
  if (!_stance_sim_in_range(p->asym_impulse_pct, 0.0, 60.0))
    return stance_error_set(err, STANCE_ERANGE, "asym-impulse: %g %% is outside 0-60 %%",
                            p->asym_impulse_pct);
  if (p->reps < 0 || p->reps > 50)
    return stance_error_set(err, STANCE_ERANGE,
                            "reps: %d is outside 1-50 (0 means the protocol's default)", p->reps);
  if (p->sets < 0 || p->sets > 10)
    return stance_error_set(err, STANCE_ERANGE,
                            "sets: %d is outside 1-10 (0 means the protocol's default)", p->sets);
  if (!_stance_sim_in_range(p->fatigue_pct, 0.0, 50.0))
    return stance_error_set(err, STANCE_ERANGE, "fatigue: %g %% is outside 0-50 %%",
                            p->fatigue_pct);
  if (!(p->tempo_s == 0.0 || _stance_sim_in_range(p->tempo_s, 1.0, 10.0)))
    return stance_error_set(err, STANCE_ERANGE,
                            "tempo: %g s is outside 1-10 s (0 means the protocol's default)",
                            p->tempo_s);
  if (!(p->duration_s == 0.0 || _stance_sim_in_range(p->duration_s, 1.0, 600.0)))
    return stance_error_set(err, STANCE_ERANGE,
                            "duration: %g s is outside 1-600 s (0 means the protocol's default)",
                            p->duration_s);
  if (!_stance_sim_in_range(p->adc_noise_counts, 0.0, 100000.0))
    return stance_error_set(err, STANCE_ERANGE, "adc-noise: %g counts RMS is outside 0-100000",
                            p->adc_noise_counts);
  if (!_stance_sim_in_range(p->cell_noise_n, 0.0, 100.0))
    return stance_error_set(err, STANCE_ERANGE, "cell-noise: %g N RMS is outside 0-100 N",
                            p->cell_noise_n);
  if (!(p->mains_hz == 0.0 || p->mains_hz == 50.0 || p->mains_hz == 60.0))
    return stance_error_set(err, STANCE_ERANGE, "mains: %g Hz is not 0 (off), 50 or 60",
                            p->mains_hz);
  if (!_stance_sim_in_range(p->mains_amp_n, 0.0, 100.0))
    return stance_error_set(err, STANCE_ERANGE, "mains-amp: %g N is outside 0-100 N",
                            p->mains_amp_n);
  if (p->mains_amp_n > 0.0 && p->mains_hz == 0.0)
    return stance_error_set(err, STANCE_EINVAL,
                            "mains-amp: %g N of hum needs a mains frequency (expected mains 50 or "
                            "60, or mains-amp 0)",
                            p->mains_amp_n);
  if (p->mains_hz > 0.0 && p->mains_hz >= p->sample_rate_hz / 2.0)
    return stance_error_set(err, STANCE_ERANGE,
                            "mains: %g Hz hum needs a rate above %g Hz (rate is %g Hz)",
                            p->mains_hz, 2.0 * p->mains_hz, p->sample_rate_hz);
  if (!_stance_sim_in_range(p->drift_n_per_min, -100.0, 100.0))
    return stance_error_set(err, STANCE_ERANGE, "drift: %g N/min is outside -100 to 100 N/min",
                            p->drift_n_per_min);
  static const char *foot_key[STANCE_N_PLATES] = {"foot-left", "foot-right"};
  for (int k = 0; k < STANCE_N_PLATES; k++)
    if (!_stance_sim_in_range(p->foot_x_mm[k], -150.0, 150.0) ||
        !_stance_sim_in_range(p->foot_y_mm[k], -200.0, 200.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "%s: (%g, %g) mm is off the plate's loading area (expected x within "
                              "+-150 mm and y within +-200 mm)",
                              foot_key[k], p->foot_x_mm[k], p->foot_y_mm[k]);
  if (!(p->rest_s == 0.0 || _stance_sim_in_range(p->rest_s, 10.0, 900.0)))
    return stance_error_set(err, STANCE_ERANGE,
                            "rest: %g s is outside 10-900 s (0 means the default 150 s)",
                            p->rest_s);
  return STANCE_OK;
}

/* Strict number parsing: the whole text must be the number. */
static int
parse_double(const char *key, const char *value, double *out, StanceError *err)
{
  if (!value || !*value)
    return stance_error_set(err, STANCE_EINVAL, "%s: no value (expected a number such as 75.5)",
                            key);
  char *end = NULL;
  errno = 0;
  double v = strtod(value, &end);
  if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v))
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: '%s' is not a number (expected a decimal such as 75.5)", key,
                            value);
  *out = v;
  return STANCE_OK;
}

static int
parse_int(const char *key, const char *value, int *out, StanceError *err)
{
  if (!value || !*value)
    return stance_error_set(err, STANCE_EINVAL, "%s: no value (expected a whole number such as 8)",
                            key);
  char *end = NULL;
  errno = 0;
  long v = strtol(value, &end, 10);
  if (end == value || *end != '\0' || errno == ERANGE || v < -1000000 || v > 1000000)
    return stance_error_set(err, STANCE_EINVAL, "%s: '%s' is not a whole number (expected e.g. 8)",
                            key, value);
  *out = (int)v;
  return STANCE_OK;
}

static int
parse_bool(const char *key, const char *value, bool *out, StanceError *err)
{
  /* A bare flag ("--saturate") arrives as NULL or "". */
  if (!value || !*value || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
      !strcasecmp(value, "on") || !strcmp(value, "1")) {
    *out = true;
    return STANCE_OK;
  }
  if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off") ||
      !strcmp(value, "0")) {
    *out = false;
    return STANCE_OK;
  }
  return stance_error_set(err, STANCE_EINVAL,
                          "%s: '%s' is not a yes/no value (expected true, false, yes, no, 1 or 0)",
                          key, value);
}

static int
parse_side(const char *key, const char *value, bool allow_both, StanceSide *out, StanceError *err)
{
  StanceSide s;
  if (!value || !stance_side_from_name(value, &s) || (!allow_both && s == STANCE_SIDE_BOTH))
    return stance_error_set(err, STANCE_EINVAL, "%s: '%s' is not a side (expected left or right%s)",
                            key, value ? value : "", allow_both ? " or both" : "");
  *out = s;
  return STANCE_OK;
}

static int
parse_xy(const char *key, const char *value, double *x, double *y, StanceError *err)
{
  const char *comma = value ? strchr(value, ',') : NULL;
  char buf[64];
  if (!comma || strlen(value) >= sizeof buf)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: '%s' is not a position (expected \"x,y\" in mm such as 10,-25)",
                            key, value ? value : "");
  memcpy(buf, value, (size_t)(comma - value));
  buf[comma - value] = '\0';
  char *end;
  errno = 0;
  double vx = strtod(buf, &end);
  bool okx = end != buf && *end == '\0' && errno == 0 && isfinite(vx);
  errno = 0;
  double vy = strtod(comma + 1, &end);
  bool oky = end != comma + 1 && *end == '\0' && errno == 0 && isfinite(vy);
  if (!okx || !oky)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s: '%s' is not a position (expected \"x,y\" in mm such as 10,-25)",
                            key, value);
  *x = vx;
  *y = vy;
  return STANCE_OK;
}

int
stance_sim_params_set(StanceSimParams *p, const char *key, const char *value, StanceError *err)
{
  if (!p || !key)
    return stance_error_set(err, STANCE_EINVAL, "no parameter given");
  int r = STANCE_OK;
  double d;
  int i;
  if (!strcmp(key, "protocol")) {
    StanceProtocol pr = value ? stance_protocol_from_name(value) : STANCE_PROTO_UNKNOWN;
    if (pr == STANCE_PROTO_UNKNOWN)
      return stance_error_set(err, STANCE_EINVAL,
                              "protocol: '%s' is not a protocol id (expected e.g. cmj, "
                              "quiet-standing, back-squat)",
                              value ? value : "");
    p->protocol = pr;
  } else if (!strcmp(key, "seed")) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = value && *value && *value != '-' ? strtoull(value, &end, 10) : 0;
    if (!value || !*value || *value == '-' || end == value || *end != '\0' || errno == ERANGE)
      return stance_error_set(err, STANCE_EINVAL,
                              "seed: '%s' is not a seed (expected a whole number 0-%" PRIu64 ")",
                              value ? value : "", UINT64_MAX);
    p->seed = (uint64_t)v;
  } else if (!strcmp(key, "rate") || !strcmp(key, "sample-rate")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->sample_rate_hz = d;
  } else if (!strcmp(key, "body-mass") || !strcmp(key, "mass")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->body_mass_kg = d;
  } else if (!strcmp(key, "load") || !strcmp(key, "external-load")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->external_load_kg = d;
  } else if (!strcmp(key, "side") || !strcmp(key, "front")) {
    r = parse_side(key, value, true, &p->side, err);
  } else if (!strcmp(key, "weaker")) {
    r = parse_side(key, value, false, &p->weaker, err);
  } else if (!strcmp(key, "asymmetry")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->asym_force_pct = p->asym_rfd_pct = p->asym_impulse_pct = d;
  } else if (!strcmp(key, "asym-force")) {
    /* RFD and impulse deficits follow the force deficit unless they were set apart from it. */
    if ((r = parse_double(key, value, &d, err)) == 0) {
      if (p->asym_rfd_pct == p->asym_force_pct)
        p->asym_rfd_pct = d;
      if (p->asym_impulse_pct == p->asym_force_pct)
        p->asym_impulse_pct = d;
      p->asym_force_pct = d;
    }
  } else if (!strcmp(key, "asym-rfd")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->asym_rfd_pct = d;
  } else if (!strcmp(key, "asym-impulse")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->asym_impulse_pct = d;
  } else if (!strcmp(key, "reps")) {
    if ((r = parse_int(key, value, &i, err)) == 0)
      p->reps = i;
  } else if (!strcmp(key, "sets")) {
    if ((r = parse_int(key, value, &i, err)) == 0)
      p->sets = i;
  } else if (!strcmp(key, "fatigue")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->fatigue_pct = d;
  } else if (!strcmp(key, "tempo")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->tempo_s = d;
  } else if (!strcmp(key, "duration")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->duration_s = d;
  } else if (!strcmp(key, "adc-noise")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->adc_noise_counts = d;
  } else if (!strcmp(key, "cell-noise")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->cell_noise_n = d;
  } else if (!strcmp(key, "mains")) {
    if ((r = parse_double(key, value, &d, err)) == 0) {
      if (d != 0.0 && d != 50.0 && d != 60.0)
        return stance_error_set(err, STANCE_EINVAL, "mains: '%s' is not 0 (off), 50 or 60", value);
      p->mains_hz = d;
      if (d == 0.0)
        p->mains_amp_n = 0.0;
      else if (p->mains_amp_n == 0.0)
        p->mains_amp_n = 2.0;
    }
  } else if (!strcmp(key, "mains-amp")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->mains_amp_n = d;
  } else if (!strcmp(key, "drift")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->drift_n_per_min = d;
  } else if (!strcmp(key, "saturate")) {
    r = parse_bool(key, value, &p->saturate, err);
  } else if (!strcmp(key, "no-still")) {
    r = parse_bool(key, value, &p->no_still, err);
  } else if (!strcmp(key, "warmup")) {
    r = parse_bool(key, value, &p->include_warmup, err);
  } else if (!strcmp(key, "rest")) {
    if ((r = parse_double(key, value, &d, err)) == 0)
      p->rest_s = d;
  } else if (!strcmp(key, "foot-left")) {
    r = parse_xy(key, value, &p->foot_x_mm[0], &p->foot_y_mm[0], err);
  } else if (!strcmp(key, "foot-right")) {
    r = parse_xy(key, value, &p->foot_x_mm[1], &p->foot_y_mm[1], err);
  } else {
    return stance_error_set(err, STANCE_EINVAL,
                            "'%s' is not a simulator parameter (expected one of protocol, seed, "
                            "rate, body-mass, load, side, front, weaker, asymmetry, asym-force, "
                            "asym-rfd, asym-impulse, reps, sets, fatigue, tempo, duration, "
                            "adc-noise, cell-noise, mains, mains-amp, drift, saturate, no-still, "
                            "warmup, rest, foot-left, foot-right)",
                            key);
  }
  return r;
}

/* ======================================================================================
 * The virtual board
 * ====================================================================================== */

/* Board SIM-0001: per-cell gains 0.0004 N/count within +-3 %, offsets (electrical zero of bridge
 * and ADC plus the top plate's dead weight, about 5 N per cell) between 2000 and 9000 counts.
 * Fixed tables so that the calibration of "SIM-0001" is the same everywhere. */
static const double sim_gain_dev[STANCE_N_CELLS] = {+0.021, -0.013, +0.008, -0.027,
                                                    +0.015, -0.004, -0.019, +0.029};
static const double sim_offset[STANCE_N_CELLS] = {4312.0, 6877.0, 2954.0, 8120.0,
                                                  5539.0, 3381.0, 7706.0, 2487.0};
#define SIM_CALIBRATION_ID "SIM-0001-2026-01-01-1"

void
stance_sim_calibration(StanceCalibration *cal)
{
  stance_calibration_default(cal);
  snprintf(cal->id, sizeof cal->id, "%s", SIM_CALIBRATION_ID);
  snprintf(cal->board_serial, sizeof cal->board_serial, "%s", STANCE_SIM_BOARD_SERIAL);
  cal->created_unix_ms = STANCE_SIM_EPOCH_MS;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    cal->gain_n_per_count[c] = STANCE_SIM_GAIN_NOMINAL * (1.0 + sim_gain_dev[c]);
    cal->offset_counts[c] = sim_offset[c];
  }
}

/* Splits a plate's vertical force F with centre of pressure (x, y) onto its four cells. For cells
 * at the corners of a centred rectangle (+-a, +-b) the bilinear split
 *   F_i = F/4 (1 + s_xi x/a)(1 + s_yi y/b)
 * sums to F and its moments sum(F_i x_i) = F x, sum(F_i y_i) = F y reproduce the CoP exactly. */
void
_stance_sim_split_cells(const StancePlateGeometry *g, double f, double x, double y,
                        double out[STANCE_CELLS_PER_PLATE])
{
  double a = 0.0, b = 0.0;
  for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++) {
    a += fabs(g->cell[c].x_mm) / STANCE_CELLS_PER_PLATE;
    b += fabs(g->cell[c].y_mm) / STANCE_CELLS_PER_PLATE;
  }
  for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++) {
    double sx = g->cell[c].x_mm >= 0.0 ? 1.0 : -1.0;
    double sy = g->cell[c].y_mm >= 0.0 ? 1.0 : -1.0;
    out[c] = 0.25 * f * (1.0 + sx * x / a) * (1.0 + sy * y / b);
  }
}

static double
scene_cell_force(const StanceSimScene *s, const StanceCalibration *cal, size_t i, int channel)
{
  int plate = channel / STANCE_CELLS_PER_PLATE;
  double cells[STANCE_CELLS_PER_PLATE];
  _stance_sim_split_cells(&cal->plate[plate], s->f[plate][i], s->cx[plate][i], s->cy[plate][i],
                          cells);
  return cells[channel % STANCE_CELLS_PER_PLATE];
}

/* saturate = true: the virtual board's range on the most loaded cell of the recording (the cell
 * with the highest noise-free force of all, at its peak sample) is lowered: that channel's gain is
 * raised in the recording's calibration so that the cell reaches the positive rail at the force it
 * exceeds for 40 ms around its peak. The 40 ms window grows from the peak towards the larger
 * neighbour, and its smallest force becomes the rail. With noise the railed stretch is 30-60 ms on
 * a steep peak (a flat one may flicker on and off the rail for longer, as real plates do); any
 * other moment where that cell carries as much rails too. The recording's calibration carries the
 * changed gain, so unrailed samples still read true forces. */
static void
saturate_setup(const StanceSimScene *s, StanceCalibration *cal)
{
  size_t ipk = 0;
  int cell = 0;
  double fmax = -INFINITY;
  for (size_t i = 0; i < s->n; i++) {
    double cells[STANCE_N_CELLS];
    for (int pl = 0; pl < STANCE_N_PLATES; pl++)
      _stance_sim_split_cells(&cal->plate[pl], s->f[pl][i], s->cx[pl][i], s->cy[pl][i],
                              cells + pl * STANCE_CELLS_PER_PLATE);
    for (int c = 0; c < STANCE_N_CELLS; c++)
      if (cells[c] > fmax) {
        fmax = cells[c];
        ipk = i;
        cell = c;
      }
  }
  size_t want = (size_t)llround(0.040 * s->rate_hz);
  size_t lo = ipk, hi = ipk;
  double fth = scene_cell_force(s, cal, ipk, cell);
  while (hi - lo + 1 < want && (lo > 0 || hi + 1 < s->n)) {
    double fl = lo > 0 ? scene_cell_force(s, cal, lo - 1, cell) : -INFINITY;
    double fh = hi + 1 < s->n ? scene_cell_force(s, cal, hi + 1, cell) : -INFINITY;
    if (fl >= fh) {
      lo--;
      fth = fmin(fth, fl);
    } else {
      hi++;
      fth = fmin(fth, fh);
    }
  }
  if (!(fth > 10.0)) /* an (almost) unloaded recording: nothing to drive into the rail */
    return;
  double gain = fth / ((double)STANCE_ADC_MAX - cal->offset_counts[cell]);
  if (gain < cal->gain_n_per_count[cell])
    cal->gain_n_per_count[cell] = gain;
}

/* Writes the double with the fewest digits that read back exactly. */
static void
fmt_double(char *buf, size_t size, double v)
{
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

static void
meta_num(StanceMeta *m, const char *key, double v)
{
  char buf[40];
  fmt_double(buf, sizeof buf, v);
  stance_meta_set(m, key, buf);
}

static void
fill_meta(StanceMeta *m, const StanceSimParams *p)
{
  char buf[64];
  m->protocol = p->protocol;
  m->side = p->side;
  snprintf(m->athlete, sizeof m->athlete, "%s", "Simulated athlete");
  m->start_unix_ms = STANCE_SIM_EPOCH_MS;
  snprintf(m->board_serial, sizeof m->board_serial, "%s", STANCE_SIM_BOARD_SERIAL);
  snprintf(m->firmware_version, sizeof m->firmware_version, "%s", "sim");
  snprintf(m->calibration_id, sizeof m->calibration_id, "%s", SIM_CALIBRATION_ID);
  snprintf(m->source, sizeof m->source, "%s", "simulator");
  m->rate_assumed = false;
  m->sides_assumed = false;
  /* The parameters, under "sim.<CLI key>" so that a recording can be regenerated. */
  snprintf(buf, sizeof buf, "%" PRIu64, p->seed);
  stance_meta_set(m, "sim.seed", buf);
  stance_meta_set(m, "sim.protocol", stance_protocol_name(p->protocol));
  meta_num(m, "sim.rate", p->sample_rate_hz);
  meta_num(m, "sim.body-mass", p->body_mass_kg);
  meta_num(m, "sim.load", p->external_load_kg);
  stance_meta_set(m, "sim.side", stance_side_name(p->side));
  stance_meta_set(m, "sim.weaker", stance_side_name(p->weaker));
  meta_num(m, "sim.asym-force", p->asym_force_pct);
  meta_num(m, "sim.asym-rfd", p->asym_rfd_pct);
  meta_num(m, "sim.asym-impulse", p->asym_impulse_pct);
  snprintf(buf, sizeof buf, "%d", p->reps);
  stance_meta_set(m, "sim.reps", buf);
  snprintf(buf, sizeof buf, "%d", p->sets);
  stance_meta_set(m, "sim.sets", buf);
  meta_num(m, "sim.fatigue", p->fatigue_pct);
  meta_num(m, "sim.tempo", p->tempo_s);
  meta_num(m, "sim.duration", p->duration_s);
  meta_num(m, "sim.adc-noise", p->adc_noise_counts);
  meta_num(m, "sim.cell-noise", p->cell_noise_n);
  meta_num(m, "sim.mains", p->mains_hz);
  meta_num(m, "sim.mains-amp", p->mains_amp_n);
  meta_num(m, "sim.drift", p->drift_n_per_min);
  stance_meta_set(m, "sim.saturate", p->saturate ? "true" : "false");
  stance_meta_set(m, "sim.no-still", p->no_still ? "true" : "false");
  stance_meta_set(m, "sim.warmup", p->include_warmup ? "true" : "false");
  meta_num(m, "sim.rest", p->rest_s);
  char x[40], y[40];
  for (int k = 0; k < STANCE_N_PLATES; k++) {
    fmt_double(x, sizeof x, p->foot_x_mm[k]);
    fmt_double(y, sizeof y, p->foot_y_mm[k]);
    snprintf(buf, sizeof buf, "%s,%s", x, y);
    stance_meta_set(m, k == 0 ? "sim.foot-left" : "sim.foot-right", buf);
  }
}

/* The sensor chain: plate loads -> cell forces -> noisy counts, clamped at the rails. */
static int
sensor_chain(const StanceSimScene *s, const StanceSimParams *p, StanceRecording **out,
             StanceError *err)
{
  StanceCalibration cal;
  stance_sim_calibration(&cal);
  if (p->saturate)
    saturate_setup(s, &cal);

  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, s->rate_hz, false);
  if (!rec || stance_recording_reserve(rec, s->n) < 0) {
    stance_recording_free(rec);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu simulated samples", s->n);
  }
  rec->calib = cal;
  rec->has_calibration = true;
  fill_meta(&rec->meta, p);

  StanceSimRng rng;
  _stance_rng_seed(&rng, p->seed, SIM_STREAM_SENSOR);
  double phase[STANCE_N_CELLS];
  for (int c = 0; c < STANCE_N_CELLS; c++)
    phase[c] = _stance_rng_range(&rng, 0.0, 2.0 * M_PI);
  const double w_mains = 2.0 * M_PI * p->mains_hz;

  for (size_t i = 0; i < s->n; i++) {
    double t = _stance_sim_t(s, i);
    double cells[STANCE_N_CELLS];
    for (int pl = 0; pl < STANCE_N_PLATES; pl++)
      _stance_sim_split_cells(&cal.plate[pl], s->f[pl][i], s->cx[pl][i], s->cy[pl][i],
                              cells + pl * STANCE_CELLS_PER_PLATE);
    int32_t counts[STANCE_N_CELLS];
    uint16_t status = 0;
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      /* Both Gaussian draws happen whatever the amplitudes, so that changing one noise level
       * leaves the other noise sources' values unchanged. */
      double g_cell = _stance_rng_gauss(&rng);
      double g_adc = _stance_rng_gauss(&rng);
      double f = cells[c] + p->cell_noise_n * g_cell + p->drift_n_per_min * t / 60.0;
      if (p->mains_hz > 0.0)
        f += p->mains_amp_n * sin(w_mains * t + phase[c]);
      double v = cal.offset_counts[c] + f / cal.gain_n_per_count[c] + p->adc_noise_counts * g_adc;
      counts[c] = _stance_sim_adc_counts(v, c, &status);
    }
    int r = stance_recording_append_counts(rec, counts, status);
    if (r < 0) {
      stance_recording_free(rec);
      return stance_error_set(err, r, "could not store simulated sample %zu", i);
    }
  }
  *out = rec;
  return STANCE_OK;
}

/* The 100 Hz noise-free CoP path per plate (nearest full-rate sample), valid where the plate
 * carries more than STANCE_COP_THRESHOLD_N. */
static int
truth_cop_path(const StanceSimScene *s, StanceSimTruth *t)
{
  t->cop_rate_hz = 100.0;
  size_t n = (size_t)floor((double)(s->n - 1) * t->cop_rate_hz / s->rate_hz) + 1;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    t->cop_x[pl] = calloc(n, sizeof(double));
    t->cop_y[pl] = calloc(n, sizeof(double));
    t->cop_valid[pl] = calloc(n, 1);
    if (!t->cop_x[pl] || !t->cop_y[pl] || !t->cop_valid[pl])
      return STANCE_ENOMEM;
  }
  t->cop_n = n;
  for (size_t k = 0; k < n; k++) {
    size_t i = (size_t)llround((double)k * s->rate_hz / t->cop_rate_hz);
    if (i >= s->n)
      i = s->n - 1;
    for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
      if (s->f[pl][i] > STANCE_COP_THRESHOLD_N) {
        t->cop_x[pl][k] = s->cx[pl][i];
        t->cop_y[pl][k] = s->cy[pl][i];
        t->cop_valid[pl][k] = 1;
      }
    }
  }
  return STANCE_OK;
}

/* Fills the protocol defaults for the parameters left at 0 ("protocol default"). */
static void
resolve_defaults(StanceSimParams *q)
{
  StanceSimParams d;
  stance_sim_params_default(&d, q->protocol);
  if (q->reps == 0)
    q->reps = d.reps;
  if (q->sets == 0)
    q->sets = d.sets;
  if (q->tempo_s == 0.0)
    q->tempo_s = d.tempo_s;
  if (q->duration_s == 0.0)
    q->duration_s = d.duration_s;
  if (q->rest_s == 0.0)
    q->rest_s = d.rest_s;
}

int
stance_sim_run(const StanceSimParams *p_in, StanceRecording **rec, StanceSimTruth **truth,
               StanceError *err)
{
  if (rec)
    *rec = NULL;
  if (truth)
    *truth = NULL;
  if (!p_in || !rec)
    return stance_error_set(err, STANCE_EINVAL, "no parameters or output recording given");
  int r = stance_sim_params_validate(p_in, err);
  if (r < 0)
    return r;
  StanceSimParams p = *p_in;
  resolve_defaults(&p);

  StanceSimTruth *t = calloc(1, sizeof *t);
  if (!t)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  t->params = p;
  t->body_weight_n = p.body_mass_kg * STANCE_GRAVITY;
  t->system_weight_n = (p.body_mass_kg + p.external_load_kg) * STANCE_GRAVITY;
  /* Generators of one-legged or split stances overwrite this with their own split. */
  t->still_share_left = _stance_sim_still_share_left(&p);

  StanceSimScene s;
  memset(&s, 0, sizeof s);
  s.p = &p;
  s.rate_hz = p.sample_rate_hz;
  s.dt = 1.0 / p.sample_rate_hz;
  s.m_body = p.body_mass_kg;
  s.m_load = p.external_load_kg;
  s.g = STANCE_GRAVITY;
  s.truth = t;
  _stance_rng_seed(&s.rng, p.seed, SIM_STREAM_ATHLETE);

  StanceError gen_err = {0};
  switch (p.protocol) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_CMJ:
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: r = _stance_sim_gen_jumps(&s, &gen_err); break;
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT:
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE:
  case STANCE_PROTO_STEP_UP:
  case STANCE_PROTO_SL_SQUAT:
  case STANCE_PROTO_SL_RDL:
  case STANCE_PROTO_BACK_SQUAT:
  case STANCE_PROTO_DEADLIFT: r = _stance_sim_gen_strength(&s, &gen_err); break;
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_SL_BALANCE:
  case STANCE_PROTO_WEIGH_IN: r = _stance_sim_gen_balance(&s, &gen_err); break;
  default:
    r = stance_error_set(&gen_err, STANCE_EINVAL, "protocol: '%s' cannot be simulated",
                         stance_protocol_name(p.protocol));
    break;
  }
  if (r < 0) {
    if (gen_err.code == 0)
      stance_error_set(&gen_err, r, "simulating %s failed: %s", stance_protocol_name(p.protocol),
                       stance_strerror(r));
    if (err)
      *err = gen_err;
    goto fail;
  }
  if (s.n == 0) {
    r = stance_error_set(err, STANCE_ENODATA, "the %s simulation produced no samples",
                         stance_protocol_name(p.protocol));
    goto fail;
  }
  for (size_t i = 0; i < s.n; i++)
    for (int pl = 0; pl < STANCE_N_PLATES; pl++)
      if (!isfinite(s.f[pl][i]) || !isfinite(s.cx[pl][i]) || !isfinite(s.cy[pl][i])) {
        r = stance_error_set(err, STANCE_ERANGE,
                             "the %s simulation produced a non-finite %s-plate value at sample "
                             "%zu (t = %.3f s)",
                             stance_protocol_name(p.protocol), pl == 0 ? "left" : "right", i,
                             _stance_sim_t(&s, i));
        goto fail;
      }

  if ((r = sensor_chain(&s, &p, rec, err)) < 0)
    goto fail;
  if ((r = truth_cop_path(&s, t)) < 0) {
    stance_error_set(err, r, "out of memory for the ground-truth CoP path");
    stance_recording_free(*rec);
    *rec = NULL;
    goto fail;
  }
  scene_free(&s);
  if (truth)
    *truth = t;
  else
    stance_sim_truth_free(t);
  return STANCE_OK;

fail:
  scene_free(&s);
  stance_sim_truth_free(t);
  return r;
}

/* ======================================================================================
 * Truth: lookups, JSON, free
 * ====================================================================================== */

void
stance_sim_truth_free(StanceSimTruth *t)
{
  if (!t)
    return;
  free(t->trials);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    free(t->cop_x[pl]);
    free(t->cop_y[pl]);
    free(t->cop_valid[pl]);
  }
  free(t);
}

const StanceTruthMetric *
stance_sim_truth_metric(const StanceTruthTrial *trial, const char *id)
{
  if (!trial || !id)
    return NULL;
  for (int k = 0; k < trial->n_metrics; k++)
    if (strcmp(trial->metrics[k].id, id) == 0)
      return &trial->metrics[k];
  return NULL;
}

const StanceTruthMetric *
stance_sim_truth_session_metric(const StanceSimTruth *t, const char *id)
{
  if (!t || !id)
    return NULL;
  for (int k = 0; k < t->n_metrics; k++)
    if (strcmp(t->metrics[k].id, id) == 0)
      return &t->metrics[k];
  return NULL;
}

double
stance_sim_truth_event(const StanceTruthTrial *trial, const char *name)
{
  if (!trial || !name)
    return -1.0;
  for (int k = 0; k < trial->n_events; k++)
    if (strcmp(trial->events[k].name, name) == 0)
      return trial->events[k].t_s;
  return -1.0;
}

static void
json_metrics(StanceJson *j, const StanceTruthMetric *m, int n)
{
  stance_json_begin_object(j);
  for (int k = 0; k < n; k++) {
    stance_json_key(j, m[k].id);
    stance_json_begin_object(j);
    stance_json_kv_string(j, "unit", m[k].unit);
    if (m[k].has & STANCE_TRUTH_LEFT)
      stance_json_kv_number(j, "left", m[k].left);
    if (m[k].has & STANCE_TRUTH_RIGHT)
      stance_json_kv_number(j, "right", m[k].right);
    if (m[k].has & STANCE_TRUTH_TOTAL)
      stance_json_kv_number(j, "total", m[k].total);
    stance_json_end_object(j);
  }
  stance_json_end_object(j);
}

static void
json_params(StanceJson *j, const StanceSimParams *p)
{
  stance_json_begin_object(j);
  stance_json_kv_string(j, "protocol", stance_protocol_name(p->protocol));
  if (p->seed <= (uint64_t)INT64_MAX) {
    stance_json_kv_int(j, "seed", (int64_t)p->seed);
  } else {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, p->seed);
    stance_json_kv_string(j, "seed", buf);
  }
  stance_json_kv_number(j, "sample_rate_hz", p->sample_rate_hz);
  stance_json_kv_number(j, "body_mass_kg", p->body_mass_kg);
  stance_json_kv_number(j, "external_load_kg", p->external_load_kg);
  stance_json_kv_string(j, "side", stance_side_name(p->side));
  stance_json_kv_string(j, "weaker", stance_side_name(p->weaker));
  stance_json_kv_number(j, "asym_force_pct", p->asym_force_pct);
  stance_json_kv_number(j, "asym_rfd_pct", p->asym_rfd_pct);
  stance_json_kv_number(j, "asym_impulse_pct", p->asym_impulse_pct);
  stance_json_kv_int(j, "reps", p->reps);
  stance_json_kv_int(j, "sets", p->sets);
  stance_json_kv_number(j, "fatigue_pct", p->fatigue_pct);
  stance_json_kv_number(j, "tempo_s", p->tempo_s);
  stance_json_kv_number(j, "duration_s", p->duration_s);
  stance_json_kv_number(j, "adc_noise_counts", p->adc_noise_counts);
  stance_json_kv_number(j, "cell_noise_n", p->cell_noise_n);
  stance_json_kv_number(j, "mains_hz", p->mains_hz);
  stance_json_kv_number(j, "mains_amp_n", p->mains_amp_n);
  stance_json_kv_number(j, "drift_n_per_min", p->drift_n_per_min);
  stance_json_kv_bool(j, "saturate", p->saturate);
  stance_json_kv_bool(j, "no_still", p->no_still);
  stance_json_key(j, "foot_left_mm");
  stance_json_begin_array(j);
  stance_json_number(j, p->foot_x_mm[0]);
  stance_json_number(j, p->foot_y_mm[0]);
  stance_json_end_array(j);
  stance_json_key(j, "foot_right_mm");
  stance_json_begin_array(j);
  stance_json_number(j, p->foot_x_mm[1]);
  stance_json_number(j, p->foot_y_mm[1]);
  stance_json_end_array(j);
  stance_json_kv_bool(j, "include_warmup", p->include_warmup);
  stance_json_kv_number(j, "rest_s", p->rest_s);
  stance_json_end_object(j);
}

static void
json_cop_plate(StanceJson *j, const StanceSimTruth *t, int pl)
{
  stance_json_begin_object(j);
  static const char *keys[3] = {"t_s", "x_mm", "y_mm"};
  for (int a = 0; a < 3; a++) {
    stance_json_key(j, keys[a]);
    stance_json_begin_array(j);
    for (size_t k = 0; k < t->cop_n; k++) {
      if (!t->cop_valid[pl][k])
        continue;
      /* positions rounded to 0.1 um: exact for any use, and a long session stays compact */
      double v = a == 0   ? (double)k / t->cop_rate_hz
                 : a == 1 ? round(t->cop_x[pl][k] * 1e4) / 1e4
                          : round(t->cop_y[pl][k] * 1e4) / 1e4;
      stance_json_number(j, v);
    }
    stance_json_end_array(j);
  }
  stance_json_end_object(j);
}

int
stance_sim_truth_write_json(const StanceSimTruth *t, FILE *out, StanceError *err)
{
  if (!t || !out)
    return stance_error_set(err, STANCE_EINVAL, "no truth or output stream given");
  StanceJson *j = stance_json_new(out, true);
  if (!j)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the JSON writer");
  stance_json_begin_object(j);
  stance_json_kv_string(j, "format", "stance-sim-truth");
  stance_json_kv_int(j, "version", 1);
  stance_json_key(j, "params");
  json_params(j, &t->params);
  stance_json_kv_number(j, "body_weight_n", t->body_weight_n);
  stance_json_kv_number(j, "system_weight_n", t->system_weight_n);
  stance_json_kv_number(j, "still_share_left", t->still_share_left);
  stance_json_key(j, "metrics");
  json_metrics(j, t->metrics, t->n_metrics);
  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "index", tr->index);
    stance_json_kv_string(j, "kind", tr->kind);
    stance_json_kv_int(j, "set", tr->set);
    stance_json_kv_number(j, "start_s", tr->start_s);
    stance_json_kv_number(j, "end_s", tr->end_s);
    stance_json_key(j, "events");
    stance_json_begin_array(j);
    for (int e = 0; e < tr->n_events; e++) {
      stance_json_begin_object(j);
      stance_json_kv_string(j, "name", tr->events[e].name);
      stance_json_kv_number(j, "t_s", tr->events[e].t_s);
      stance_json_end_object(j);
    }
    stance_json_end_array(j);
    stance_json_key(j, "metrics");
    json_metrics(j, tr->metrics, tr->n_metrics);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_key(j, "cop");
  stance_json_begin_object(j);
  stance_json_kv_number(j, "rate_hz", t->cop_rate_hz);
  stance_json_kv_number(j, "threshold_n", STANCE_COP_THRESHOLD_N);
  stance_json_key(j, "left");
  json_cop_plate(j, t, 0);
  stance_json_key(j, "right");
  json_cop_plate(j, t, 1);
  stance_json_end_object(j);
  stance_json_end_object(j);
  int r = stance_json_finish(j, err);
  if (r < 0 && err)
    stance_error_prefix(err, "simulator truth JSON: ");
  return r;
}
