/* stance-jumps.c: countermovement, squat and single-leg countermovement jumps: segmentation of a
 * continuous recording into jumps, events (onset, McMahon phases, takeoff, landing) and metrics
 * (docs/methods.md, "Jumps").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Segmentation. The total force is split into loaded contacts and unloaded ("air") stretches by
 * the takeoff threshold (stance_ev_takeoff_threshold); returns above the threshold shorter than
 * 50 ms inside an unloaded stretch are plate ringing and are merged. An air stretch of at least
 * 0.1 s is a jump's flight when a loaded contact precedes it, it lasts at most 1.2 s (a 1.77 m
 * jump: anything longer is the athlete stepping off the plates) and the 1.5 s before takeoff
 * hold a propulsive push above 1.2 x the weight (quiet standing never does; a 5 cm jump already
 * needs a mean propulsive force near 1.35 x BW). Stepping on and off therefore makes no trial:
 * an unloaded start, an unloaded end, or a step-off followed by a step-on has no push before
 * its unloaded stretch. A short unloaded stretch without a push (a hop, a rebound) stays part of
 * the next jump's contact and that jump is flagged.
 *
 * Weighing and onset, per jump. The weight is the session's body weight (conditioning: the
 * stillest window, or the first window with STANCE_WEIGH_FIRST) with its SD. The anchor is the
 * unweighting force minimum (countermovement jumps: the lowest force within 2 s before the
 * propulsive peak) or the propulsive peak (squat jumps). Scanning back from the anchor, the
 * quiet stretch is the latest run of at least 30 ms on the quiet side of the onset band (BW -
 * band for countermovements, BW + band for squat jumps; 30 ms skips the noise re-crossings of a
 * slowly departing curve); the rule is then applied forwards from the start of that run
 * (stance_ev_onset: first sample out of the band, then the step-back, Owen et al. 2014). This is
 * Owen's forward rule started from the last quiet stretch, so fidgeting long before the jump
 * cannot set the onset; with a quiet stance it equals the forward rule and the
 * shiny-vertical-jump / plateforce "last sample in the band before the minimum" rule. When that
 * run is shorter than 0.1 s the trial is weighed locally on its stillest 0.5 s before the anchor
 * (method param weight_source = "local") if that gives a quiet run of 0.1 s, else it keeps the
 * session weight and is flagged movement_before_onset.
 *
 * Phases (McMahon et al. 2018). COM velocity v(i) = (1/m) trapezoid of (F - W) from onset to i
 * (v = 0 at onset, m = W / g), so takeoff velocity = net impulse / m, integrated up to and
 * including the first sample below the takeoff threshold (the contact ends between the last
 * sample above it and that one). Unweighting runs from onset to the first sample at or above W
 * after the force minimum (the velocity minimum); braking from there to the first sample with
 * v >= 0 after v < -0.01 m/s (the lowest COM); propulsion from there to takeoff. A squat jump is
 * all propulsion (onset searched upwards only).
 *
 * Everything is O(n): one pass to segment, a bounded number of passes over each contact.
 * Threads: as stance_analyse().
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_FLIGHT_S 0.100  /* shorter unloaded stretches are not flights */
#define MAX_FLIGHT_S 1.200  /* longer ones are step-offs */
#define PUSH_WINDOW_S 1.500 /* the push must come within this before takeoff */
#define PUSH_FACTOR 1.20    /* ... and exceed this x the weight */
#define QUIET_S 0.100       /* quiet run before the movement */
#define MIN_RUN_S 0.030     /* an in-band run shorter than this is noise on a departing curve */
#define MERGE_S 0.050       /* ringing above the threshold inside a flight, at most */
#define ANCHOR_S 2.000      /* the unweighting minimum lies within this before the peak */
#define CALM_S 1.000        /* movement before onset is looked for this far back ... */
#define CALM_BANDS                                                                                 \
  2.0                        /* ... as a deviation beyond this many onset bands (standing sway     \
                                often leaves a 5 SD band of the stillest second; 10 SD does        \
                                not) */
#define LOCAL_WEIGH_S 0.500  /* local weighing window */
#define VNEG_MPS 0.010       /* velocity that counts as moving down */
#define LANDING_WINDOW_S 0.5 /* landing peak search after touchdown */
#define DOUBLE_PEAK_HI 0.90  /* two stretches above 90 % of the peak ... */
#define DOUBLE_PEAK_DIP 0.90 /* ... separated by a dip below 90 % of that level */

static const unsigned slot_bit[3] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};

typedef struct {
  size_t a, b;   /* [a, b): a = first sample below the threshold, b = first back above (or n) */
  bool open_end; /* the recording ends in the air */
} Air;

typedef struct {
  Air *v;
  size_t n, cap;
} AirList;

static int
air_push(AirList *l, size_t a, size_t b, bool open_end)
{
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 16;
    Air *p = realloc(l->v, nc * sizeof *p);
    if (!p)
      return STANCE_ENOMEM;
    l->v = p;
    l->cap = nc;
  }
  l->v[l->n++] = (Air){a, b, open_end};
  return STANCE_OK;
}

/* Every stretch of the total below thr lasting at least min_len samples (bad samples carry the
 * state they are in), including one at the end of the recording. Plates ring after takeoff: a
 * crossing back above thr for less than merge_len samples inside a flight is ringing, not a
 * contact (no landing lasts under 50 ms), and the two stretches are merged. */
static int
find_air(const StanceCtx *c, const double *f, double thr, size_t min_len, size_t merge_len,
         AirList *out)
{
  size_t i = 0, n = c->n;
  bool have = false;
  Air cur = {0, 0, false};
  while (i < n) {
    size_t a, b;
    if (!stance_ev_first_below(f, c->bad, i, n, thr, &a))
      break;
    bool open = !stance_ev_first_above(f, c->bad, a + 1, n, thr, &b);
    if (open)
      b = n;
    if (have && a - cur.b < merge_len) {
      cur.b = b;
      cur.open_end = open;
    } else {
      if (have && cur.b - cur.a >= min_len) {
        int r = air_push(out, cur.a, cur.b, cur.open_end);
        if (r)
          return r;
      }
      cur = (Air){a, b, open};
      have = true;
    }
    i = b + 1;
  }
  if (have && cur.b - cur.a >= min_len)
    return air_push(out, cur.a, cur.b, cur.open_end);
  return STANCE_OK;
}

/* The onset band half-width of the resolved rule (the same rule stance_ev_onset applies). */
static double
rule_band(const StanceCtx *c, double w, double sd)
{
  const StanceAnalysisOptions *o = c->opts;
  switch (o->onset) {
  case STANCE_ONSET_FIXED_N: return o->onset_n > 0.0 ? o->onset_n : 20.0;
  case STANCE_ONSET_PCT_BW: return (o->onset_pct_bw > 0.0 ? o->onset_pct_bw : 5.0) / 100.0 * w;
  default: return (o->onset_sd > 0.0 ? o->onset_sd : 5.0) * sd;
  }
}

/* Samples that sit on the quiet side of the onset band for movement direction dir. */
static inline bool
in_band(double x, double w, double band, int dir)
{
  if (dir < 0)
    return x >= w - band;
  if (dir > 0)
    return x <= w + band;
  return fabs(x - w) <= band;
}

/* Scanning back from anchor (exclusive) to from: the latest run of at least m samples inside the
 * band; *cross = its last sample, *run0 = its first. Requiring m samples skips the noise
 * re-crossings of a slowly departing curve (the first crossing after quiet standing is the onset,
 * Owen et al. 2014). Bad samples neither extend nor break a run. */
static bool
band_back(const StanceCtx *c, const double *f, size_t from, size_t anchor, double w, double band,
          int dir, size_t m, size_t *cross, size_t *run0)
{
  size_t run = 0, end = 0;
  size_t i = anchor;
  bool found = false;
  while (i-- > from) {
    if (c->bad && c->bad[i])
      continue;
    if (in_band(f[i], w, band, dir)) {
      if (run++ == 0)
        end = i;
      if (run >= m) {
        found = true;
        break;
      }
    } else {
      run = 0;
    }
  }
  if (!found)
    return false;
  size_t r = i;
  while (r > from) {
    size_t k = r - 1;
    if (!(c->bad && c->bad[k]) && !in_band(f[k], w, band, dir))
      break;
    r = k;
  }
  *cross = end;
  *run0 = r;
  return true;
}

/* Stillest window of len samples (lowest SD, gap-free, mean above min_mean) in [from, to):
 * running sums relative to f[from] (numerically tame), restarted at each bad sample. */
static bool
still_window(const StanceCtx *c, const double *f, size_t from, size_t to, size_t len,
             double min_mean, double *mean, double *sd)
{
  if (len < 2 || to < from + len)
    return false;
  double ref = f[from], s1 = 0.0, s2 = 0.0, best = INFINITY, bm = 0.0;
  size_t run = 0;
  for (size_t i = from; i < to; i++) {
    if (c->bad && c->bad[i]) {
      s1 = s2 = 0.0;
      run = 0;
      continue;
    }
    double x = f[i] - ref;
    s1 += x;
    s2 += x * x;
    run++;
    if (run > len) {
      double y = f[i - len] - ref;
      s1 -= y;
      s2 -= y * y;
      run = len;
    }
    if (run == len) {
      double m = s1 / (double)len;
      double var = (s2 - s1 * m) / (double)(len - 1);
      if (var < 0.0)
        var = 0.0;
      if (m + ref > min_mean && var < best) {
        best = var;
        bm = m + ref;
      }
    }
  }
  if (!isfinite(best))
    return false;
  *mean = bm;
  *sd = sqrt(best);
  return true;
}

/* Index of the maximum of f over [a, b] (first of equal maxima). */
static size_t
argmax(const double *f, size_t a, size_t b)
{
  size_t k = a;
  for (size_t i = a + 1; i <= b; i++)
    if (f[i] > f[k])
      k = i;
  return k;
}

/* Threshold crossing time (in samples, fractional) between i - 1 and i by linear interpolation;
 * i itself when the step is degenerate. */
static double
crossing(const double *f, size_t i, double thr)
{
  if (i == 0)
    return 0.0;
  double d = f[i] - f[i - 1];
  if (d == 0.0)
    return (double)i;
  double x = (thr - f[i - 1]) / d;
  if (!(x >= 0.0 && x <= 1.0))
    return (double)i;
  return (double)(i - 1) + x;
}

typedef struct {
  size_t cs;           /* contact start (first loaded sample before the jump) */
  size_t to, ld;       /* takeoff, landing (ld = n when the recording ends in the air) */
  size_t ce;           /* end of the landing contact (next air or n) */
  bool open_end;       /* no landing */
  double to_x, ld_x;   /* interpolated crossings, samples */
  bool has_hop;        /* an unloaded stretch without a push lies in [cs, to) ... */
  size_t hop_a, hop_b; /* ... here */
} JumpSpan;

typedef struct {
  double w, sd, band, m;
  const char *source; /* "session" or "local" */
  size_t anchor;      /* unweighting minimum (countermovement) or propulsive peak (squat jump) */
  size_t run0;        /* first sample of the in-band run before the movement */
  size_t quiet_len;   /* its length, samples */
  bool have_quiet;    /* the run lasts at least QUIET_S */
  size_t onset;
  bool have_onset;
  StanceMethod onset_method;
} JumpWeigh;

/* Weight and onset of one jump (see the file comment): backwards from the anchor to the last
 * sample inside the onset band, then the rule (first sample out of the band, step-back) applied
 * forwards from the start of that in-band run. */
static void
weigh_and_onset(const StanceCtx *c, const JumpSpan *sp, int dir, JumpWeigh *jw)
{
  const double *f = c->f[STANCE_SEL_TOTAL];
  const StanceConditioning *cd = c->cond;
  size_t q = (size_t)llround(QUIET_S * c->rate);
  size_t mrun = (size_t)llround(MIN_RUN_S * c->rate);
  if (mrun < 2)
    mrun = 2;
  memset(jw, 0, sizeof *jw);
  jw->source = "session";
  size_t pw = (size_t)llround(PUSH_WINDOW_S * c->rate);
  size_t pa = sp->to > sp->cs + pw ? sp->to - pw : sp->cs;
  size_t pk = argmax(f, pa, sp->to - 1);
  jw->anchor = pk;
  if (dir < 0) {
    size_t aw = (size_t)llround(ANCHOR_S * c->rate);
    size_t a0 = pk > sp->cs + aw ? pk - aw : sp->cs;
    /* Not the loading ramp of stepping on: start where the force first carries most of the
     * weight. */
    double w_ref = c->system_weight_n;
    if (w_ref > 0.0) {
      size_t k0;
      if (stance_ev_first_above(f, c->bad, a0, pk, 0.8 * w_ref, &k0))
        a0 = k0;
    }
    size_t k = a0;
    for (size_t i = a0; i <= pk; i++)
      if (f[i] < f[k])
        k = i;
    jw->anchor = k;
  }
  size_t cross = 0, run0 = 0;
  bool have_sess = cd && cd->has_body_weight && c->system_weight_n > 0.0;
  bool ok = false;
  if (have_sess) {
    jw->w = c->system_weight_n;
    jw->sd = cd->body_weight_sd_n;
    jw->band = rule_band(c, jw->w, jw->sd);
    ok = band_back(c, f, sp->cs, jw->anchor, jw->w, jw->band, dir, mrun, &cross, &run0);
  }
  if (!ok || cross + 1 - run0 < q) {
    /* Weigh locally: the stillest LOCAL_WEIGH_S before the anchor. */
    size_t len = (size_t)llround(LOCAL_WEIGH_S * c->rate);
    double m, s;
    if (still_window(c, f, sp->cs, jw->anchor, len, 50.0, &m, &s)) {
      double band = rule_band(c, m, s);
      size_t lc, lr;
      if (band_back(c, f, sp->cs, jw->anchor, m, band, dir, mrun, &lc, &lr) &&
          (!ok || lc + 1 - lr >= q)) {
        jw->w = m;
        jw->sd = s;
        jw->band = band;
        jw->source = "local";
        cross = lc;
        run0 = lr;
        ok = true;
      }
    }
  }
  if (!ok || !(jw->w > 0.0))
    return;
  jw->m = jw->w / c->g;
  jw->run0 = run0;
  jw->quiet_len = cross + 1 - run0;
  jw->have_quiet = jw->quiet_len >= q;
  jw->have_onset = stance_ev_onset(c, f, run0, jw->anchor + 1, jw->w, jw->sd, dir, &jw->onset,
                                   &jw->onset_method);
}

/* COM kinematics from onset to takeoff (inclusive). */
typedef struct {
  double v_to;       /* takeoff velocity */
  double y_min;      /* lowest COM (<= 0) */
  double y_to;       /* COM at takeoff */
  double peak_power; /* max F v with v > 0 */
  bool has_power;
  bool went_down; /* v < -VNEG_MPS at some point */
  bool has_vzero;
  size_t i_vzero; /* first v >= 0 after going down */
  size_t i_umin;  /* force minimum before i_vzero */
  bool has_uw;
  size_t i_uw; /* first F >= W after i_umin */
} Kin;

static void
kinematics(const StanceCtx *c, size_t on, size_t to, double w, double m, Kin *k)
{
  const double *f = c->f[STANCE_SEL_TOTAL];
  const double dt = c->dt;
  memset(k, 0, sizeof *k);
  double v = 0.0, y = 0.0, a_prev = (f[on] - w) / m;
  k->i_umin = on;
  for (size_t i = on + 1; i <= to; i++) {
    double a = (f[i] - w) / m;
    double v_new = v + 0.5 * dt * (a_prev + a);
    y += 0.5 * dt * (v + v_new);
    v = v_new;
    a_prev = a;
    if (y < k->y_min)
      k->y_min = y;
    if (v < -VNEG_MPS)
      k->went_down = true;
    if (!k->has_vzero) {
      if (f[i] < f[k->i_umin])
        k->i_umin = i;
      if (k->went_down && v >= 0.0) {
        k->has_vzero = true;
        k->i_vzero = i;
      }
    }
    if (v > 0.0) {
      double p = f[i] * v;
      if (!k->has_power || p > k->peak_power) {
        k->peak_power = p;
        k->has_power = true;
      }
    }
  }
  k->v_to = v;
  k->y_to = y;
  if (k->has_vzero) {
    for (size_t i = k->i_umin; i <= k->i_vzero; i++)
      if (f[i] >= w) {
        k->has_uw = true;
        k->i_uw = i;
        break;
      }
  }
}

static void
set_method_weights(StanceMethod *mth, const char *rule, const double wt[3], unsigned has)
{
  stance_method_param_str(mth, "weight_rule", rule);
  stance_method_param_num(mth, "weight_n", wt[STANCE_SEL_TOTAL]);
  if (has & STANCE_HAS_LEFT)
    stance_method_param_num(mth, "weight_left_n", wt[STANCE_SEL_LEFT]);
  if (has & STANCE_HAS_RIGHT)
    stance_method_param_num(mth, "weight_right_n", wt[STANCE_SEL_RIGHT]);
}

/* Copies src's parameters under another method id. */
static void
copy_method_as(StanceMethod *dst, const StanceMethod *src, const char *id)
{
  stance_method_set(dst, id);
  for (int i = 0; i < src->n_params; i++) {
    if (src->params[i].str[0])
      stance_method_param_str(dst, src->params[i].key, src->params[i].str);
    else
      stance_method_param_num(dst, src->params[i].key, src->params[i].num);
  }
}

/* Per-slot net impulse and mean force of one phase [a, b] (inclusive). */
static int
phase_metrics(const StanceCtx *c, StanceTrial *t, const char *phase, size_t a, size_t b,
              unsigned has, const double wt[3], const char *rule)
{
  char id[32];
  snprintf(id, sizeof id, "%s_net_impulse", phase);
  StanceMetric *mi = stance_trial_add_metric(t, id, "N.s", "impulse.trapezoid");
  if (!mi)
    return STANCE_ENOMEM;
  set_method_weights(&mi->method, rule, wt, has);
  stance_method_param_str(&mi->method, "phase", phase);
  for (int s = 0; s < 3; s++)
    if (has & slot_bit[s])
      stance_metric_set(mi, (StanceSel)s, stance_curve_integral(c->f[s], a, b + 1, wt[s], c->dt));
  snprintf(id, sizeof id, "%s_mean_force", phase);
  StanceMetric *mf = stance_trial_add_metric(t, id, "N", "force.mean");
  if (!mf)
    return STANCE_ENOMEM;
  stance_method_param_str(&mf->method, "phase", phase);
  for (int s = 0; s < 3; s++) {
    if (!(has & slot_bit[s]))
      continue;
    double sum = 0.0;
    for (size_t i = a; i <= b; i++)
      sum += c->f[s][i];
    stance_metric_set(mf, (StanceSel)s, sum / (double)(b - a + 1));
  }
  return STANCE_OK;
}

static int
metric_total(StanceTrial *t, const char *id, const char *unit, const char *method, double v,
             StanceMetric **out)
{
  StanceMetric *m = stance_trial_add_metric(t, id, unit, method);
  if (!m)
    return STANCE_ENOMEM;
  stance_metric_set(m, STANCE_SEL_TOTAL, v);
  if (out)
    *out = m;
  return STANCE_OK;
}

static int
metric_absent(StanceTrial *t, const char *id, const char *unit, const char *method, const char *why)
{
  StanceMetric *m = stance_trial_add_metric(t, id, unit, method);
  if (!m)
    return STANCE_ENOMEM;
  stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", why);
  return STANCE_OK;
}

/* Two stretches above DOUBLE_PEAK_HI x peak separated by a dip below DOUBLE_PEAK_DIP x that
 * level, within [a, b]. */
static bool
double_peak(const double *f, size_t a, size_t b, double pk, double *t_first, double *t_second,
            double dt)
{
  double hi = DOUBLE_PEAK_HI * pk, lo = DOUBLE_PEAK_DIP * hi;
  bool in_first = false, dipped = false, seen_first = false;
  for (size_t i = a; i <= b; i++) {
    if (!seen_first) {
      if (f[i] >= hi) {
        seen_first = in_first = true;
        *t_first = (double)i * dt;
      }
      continue;
    }
    if (in_first && f[i] >= hi)
      continue;
    in_first = false;
    if (f[i] < lo)
      dipped = true;
    if (dipped && f[i] >= hi) {
      *t_second = (double)i * dt;
      return true;
    }
  }
  return false;
}

/* One jump: events, metrics and flags. */
static int
analyse_one(StanceCtx *c, const JumpSpan *sp, int *count_side)
{
  const StanceProtocol proto = c->protocol;
  const bool squat = proto == STANCE_PROTO_SJ;
  const bool uni = proto == STANCE_PROTO_SL_CMJ;
  const double *f = c->f[STANCE_SEL_TOTAL];
  const double dt = c->dt;
  int r;

  JumpWeigh jw;
  weigh_and_onset(c, sp, squat ? +1 : -1, &jw);

  /* Stance limb of a single-leg trial: the recording's side, or when it says BOTH (alternating
   * sides) the plate that carries more impulse from the quiet stretch to takeoff. */
  StanceSide side = STANCE_SIDE_BOTH;
  if (uni) {
    side = c->side;
    if (side == STANCE_SIDE_BOTH && c->has_limbs) {
      size_t a = jw.w > 0.0 ? jw.run0 : sp->cs;
      double il = stance_curve_integral(c->f[STANCE_SEL_LEFT], a, sp->to + 1, 0.0, dt);
      double ir = stance_curve_integral(c->f[STANCE_SEL_RIGHT], a, sp->to + 1, 0.0, dt);
      side = il >= ir ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
    }
  }
  unsigned has = STANCE_HAS_TOTAL;
  if (c->has_limbs) {
    if (!uni)
      has |= STANCE_HAS_LEFT | STANCE_HAS_RIGHT;
    else if (side == STANCE_SIDE_LEFT)
      has |= STANCE_HAS_LEFT;
    else if (side == STANCE_SIDE_RIGHT)
      has |= STANCE_HAS_RIGHT;
  }

  size_t on = jw.have_onset ? jw.onset : sp->cs;
  double t_start = (double)on * dt;
  /* End of the trial: the landing contact until the force has settled (a quiet run around the
   * weight after the landing peak), at most the next unloaded stretch. */
  size_t end = sp->ce;
  size_t i_land_pk = sp->ld;
  if (!sp->open_end) {
    size_t lw = sp->ld + (size_t)llround(LANDING_WINDOW_S * c->rate);
    if (lw > sp->ce)
      lw = sp->ce;
    if (lw > sp->ld)
      i_land_pk = argmax(f, sp->ld, lw - 1);
    if (jw.w > 0.0) {
      size_t q = (size_t)llround(QUIET_S * c->rate), run = 0;
      for (size_t i = i_land_pk; i < sp->ce; i++) {
        if (fabs(f[i] - jw.w) <= fmax(jw.band, 0.05 * jw.w)) {
          if (++run >= q) {
            end = i - q + 1;
            break;
          }
        } else {
          run = 0;
        }
      }
    }
  }
  StanceTrial *t = stance_analysis_add_trial(c->out, "jump", t_start, (double)end * dt);
  if (!t)
    return STANCE_ENOMEM;
  t->side = side;
  if (uni)
    count_side[side == STANCE_SIDE_RIGHT ? 1 : 0]++;

  StanceMethod to_m;
  double thr = stance_ev_takeoff_threshold(c, STANCE_SEL_TOTAL, &to_m);

  if (!(jw.w > 0.0)) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_NO_STILL, STANCE_SEVERITY_ERROR,
                               "no body weight for the jump taking off at %.3f s: no still "
                               "window in the session or before the jump",
                               (double)sp->to * dt)) < 0)
      return r;
  }
  if (sp->has_hop && jw.have_onset && sp->hop_a > jw.onset) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_MOVEMENT_BEFORE_ONSET, STANCE_SEVERITY_WARNING,
                               "the athlete left the plates for %.3f s at %.3f s between the "
                               "onset and the takeoff (a hop or rebound, not a countermovement "
                               "jump from standing)",
                               (double)(sp->hop_b - sp->hop_a) * dt, (double)sp->hop_a * dt)) < 0)
      return r;
  }

  if (jw.have_onset && !jw.have_quiet) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_MOVEMENT_BEFORE_ONSET, STANCE_SEVERITY_WARNING,
                               "the force stayed within %.1f N of the weight (%.1f N) for only "
                               "%.3f s before the onset at %.3f s (at least %.2f s expected)",
                               jw.band, jw.w, (double)jw.quiet_len * dt, (double)jw.onset * dt,
                               QUIET_S)) < 0)
      return r;
  } else if (jw.have_onset) {
    /* Owen et al. 2014: the body must be still before the onset. A countermovement jump may not
     * sway beyond twice the band either way in the second before; a squat jump may not dip below
     * the band in the half second before its push (a countermovement). */
    size_t back = (size_t)llround((squat ? 0.5 : CALM_S) * c->rate);
    size_t a0 = jw.onset > sp->cs + back ? jw.onset - back : sp->cs;
    size_t k = 0;
    bool moved = false;
    for (size_t i = a0; i < jw.onset && !moved; i++) {
      if (c->bad && c->bad[i])
        continue;
      double d = f[i] - jw.w;
      if (squat ? d < -jw.band : fabs(d) > CALM_BANDS * jw.band) {
        moved = true;
        k = i;
      }
    }
    if (moved &&
        (r = stance_trial_flag(t, STANCE_FLAG_MOVEMENT_BEFORE_ONSET, STANCE_SEVERITY_WARNING,
                               squat ? "countermovement before the squat jump's push: %.1f N off "
                                       "the weight at %.3f s"
                                     : "movement before the onset: %.1f N off the weight at "
                                       "%.3f s",
                               f[k] - jw.w, (double)k * dt)) < 0)
      return r;
  }
  if (sp->cs == 0 && jw.run0 == 0 && !jw.have_quiet) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                               "the recording starts during the jump taking off at %.3f s",
                               (double)sp->to * dt)) < 0)
      return r;
  }
  if (sp->open_end) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                               "the recording ends in the air after the takeoff at %.3f s",
                               (double)sp->to * dt)) < 0)
      return r;
  }
  if ((r = stance_trial_add_event(t, "takeoff", (double)sp->to * dt, STANCE_SEL_TOTAL)) < 0)
    return r;
  if (!sp->open_end &&
      (r = stance_trial_add_event(t, "landing", (double)sp->ld * dt, STANCE_SEL_TOTAL)) < 0)
    return r;

  /* Flight-derived metrics (need a landing). */
  double tf = (sp->ld_x - sp->to_x) * dt;
  StanceMetric *m;
  if (!sp->open_end) {
    if ((r = metric_total(t, "flight_time", "s", "flight.threshold", tf, &m)) < 0)
      return r;
    copy_method_as(&m->method, &to_m, "flight.threshold");
    stance_method_param_str(&m->method, "crossing", "linear_interpolation");
    if ((r = metric_total(t, "jump_height_flight", "m", "jump_height.flight_time",
                          c->g * tf * tf / 8.0, &m)) < 0)
      return r;
    stance_method_param_num(&m->method, "g", c->g);
    stance_method_param_num(&m->method, "threshold_n", thr);
  } else {
    if ((r = metric_absent(t, "flight_time", "s", "flight.threshold",
                           "the recording ends before the landing")) < 0 ||
        (r = metric_absent(t, "jump_height_flight", "m", "jump_height.flight_time",
                           "the recording ends before the landing")) < 0)
      return r;
  }

  if (!jw.have_onset) {
    const char *why = jw.w > 0.0 ? "no onset: the force never leaves the onset band"
                                 : "no body weight to find the onset against";
    static const char *ids[] = {"takeoff_velocity", "jump_height_impulse",
                                "time_to_takeoff",  "contact_time",
                                "rsi_mod",          "peak_force"};
    static const char *units[] = {"m/s", "m", "s", "s", "m/s", "N"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
      if ((r = metric_absent(t, ids[k], units[k], "jump", why)) < 0)
        return r;
    return STANCE_OK;
  }

  if (c->out->onset_method.id[0] == '\0')
    stance_method_copy(&c->out->onset_method, &jw.onset_method);
  if ((r = stance_trial_add_event(t, "onset", (double)on * dt, STANCE_SEL_TOTAL)) < 0)
    return r;

  /* Weights per slot: the system weight on the total; per limb the context's rule (half body
   * weight for bilateral jumps) scaled to this trial's weight, or for a single-leg trial the
   * whole weight on the stance limb. */
  double wt[3] = {0.0, 0.0, jw.w};
  const char *rule = c->limb_weight_rule ? c->limb_weight_rule : "half_bw";
  if (uni) {
    rule = "stance_limb";
    wt[STANCE_SEL_LEFT] = wt[STANCE_SEL_RIGHT] = jw.w;
  } else if (c->has_limbs) {
    double sw = c->system_weight_n;
    for (int s = 0; s < 2; s++) {
      double lw = stance_ctx_limb_weight(c, (StanceSel)s);
      wt[s] = sw > 0.0 && lw > 0.0 ? jw.w * lw / sw : 0.5 * jw.w;
    }
    if (!(sw > 0.0))
      rule = "half_bw";
  }

  /* A gap or a saturated channel between onset and takeoff breaks the integration: the
   * impulse-momentum metrics are absent (the force-curve metrics judge their own windows). */
  size_t nbad = 0;
  if (c->bad)
    for (size_t i = on; i <= sp->to; i++)
      nbad += c->bad[i] != 0;
  if (nbad > 0) {
    StanceCurveSpec cs0;
    memset(&cs0, 0, sizeof cs0);
    cs0.onset = on;
    cs0.peak_from = on;
    cs0.end = sp->to + 1 <= c->n ? sp->to + 1 : c->n;
    for (int s = 0; s < 3; s++)
      cs0.weight_n[s] = wt[s];
    cs0.weight_rule = rule;
    cs0.mass_kg = jw.m;
    cs0.epochs = cs0.impulse = cs0.relative = true;
    if ((r = stance_curve_metrics(c, t, has, &cs0)) < 0)
      return r;
    char why[96];
    snprintf(why, sizeof why, "%zu gap or saturated samples between onset and takeoff", nbad);
    static const char *ids[] = {"takeoff_velocity", "jump_height_impulse", "rsi_mod",
                                "peak_power",       "braking_duration",    "propulsion_duration"};
    static const char *units[] = {"m/s", "m", "m/s", "W", "s", "s"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
      if ((r = metric_absent(t, ids[i], units[i], "impulse_momentum", why)) < 0)
        return r;
    return metric_total(t, "time_to_takeoff", "s", "time.onset_to_takeoff",
                        (double)(sp->to - on) * dt, NULL);
  }

  Kin k;
  kinematics(c, on, sp->to, jw.w, jw.m, &k);
  bool cm = !squat && k.has_vzero && k.has_uw;
  size_t i_prop = cm ? k.i_vzero : on;
  size_t peak_from = cm ? k.i_uw : on;
  if (cm) {
    if ((r = stance_trial_add_event(t, "unweighting_end", (double)k.i_uw * dt, STANCE_SEL_TOTAL)) <
            0 ||
        (r = stance_trial_add_event(t, "braking_end", (double)k.i_vzero * dt, STANCE_SEL_TOTAL)) <
            0)
      return r;
  }
  size_t i_pk = argmax(f, peak_from, sp->to);
  if ((r = stance_trial_add_event(t, "peak", (double)i_pk * dt, STANCE_SEL_TOTAL)) < 0)
    return r;

  /* Force-curve metrics from onset to takeoff (inclusive), peak searched from braking onset. */
  StanceCurveSpec cs;
  memset(&cs, 0, sizeof cs);
  cs.onset = on;
  cs.peak_from = peak_from;
  cs.end = sp->to + 1 <= c->n ? sp->to + 1 : c->n;
  for (int s = 0; s < 3; s++)
    cs.weight_n[s] = wt[s];
  cs.weight_rule = rule;
  cs.mass_kg = jw.m;
  cs.epochs = true;
  cs.impulse = true;
  cs.relative = true;
  if ((r = stance_curve_metrics(c, t, has, &cs)) < 0)
    return r;
  if (c->has_limbs && !uni) {
    if ((r = stance_limb_timing(c, t, on, cs.end)) < 0)
      return r;
  }

  /* Impulse-momentum: v_to = net impulse / m from onset to takeoff. */
  double tto = (double)(sp->to - on) * dt;
  double h_imp = k.v_to > 0.0 ? k.v_to * k.v_to / (2.0 * c->g) : 0.0;
  if ((r = metric_total(t, "takeoff_velocity", "m/s", "takeoff_velocity.impulse_momentum", k.v_to,
                        &m)) < 0)
    return r;
  stance_method_param_num(&m->method, "weight_n", jw.w);
  stance_method_param_num(&m->method, "mass_kg", jw.m);
  stance_method_param_str(&m->method, "weight_source", jw.source);
  if (k.v_to > 0.0) {
    if ((r = metric_total(t, "jump_height_impulse", "m", "jump_height.impulse_momentum", h_imp,
                          &m)) < 0)
      return r;
    stance_method_param_num(&m->method, "g", c->g);
  } else if ((r = metric_absent(t, "jump_height_impulse", "m", "jump_height.impulse_momentum",
                                "takeoff velocity not positive")) < 0) {
    return r;
  }
  if ((r = metric_total(t, "time_to_takeoff", "s", "time.onset_to_takeoff", tto, NULL)) < 0 ||
      (r = metric_total(t, "contact_time", "s", "time.onset_to_takeoff", tto, NULL)) < 0)
    return r;
  if (k.v_to > 0.0 && tto > 0.0) {
    if ((r = metric_total(t, "rsi_mod", "m/s", "rsi_mod.impulse_height", h_imp / tto, &m)) < 0)
      return r;
    stance_method_param_str(&m->method, "height", "jump_height_impulse");
    stance_method_param_str(&m->method, "time", "time_to_takeoff");
  }
  if (k.has_power) {
    if ((r = metric_total(t, "peak_power", "W", "power.force_velocity", k.peak_power, &m)) < 0)
      return r;
    stance_method_param_str(&m->method, "velocity", "impulse_momentum");
  }
  /* COM height at takeoff relative to quiet standing: a squat jump starts from the squat, not
   * from standing, so it has none. */
  if (!squat && (r = metric_total(t, "com_height_takeoff", "m", "displacement.double_integration",
                                  k.y_to, NULL)) < 0)
    return r;

  if (cm) {
    if ((r = metric_total(t, "countermovement_depth", "m", "displacement.double_integration",
                          -k.y_min, NULL)) < 0 ||
        (r = metric_total(t, "unweighting_min_force", "N", "force.min", f[k.i_umin], NULL)) < 0 ||
        (r = metric_total(t, "unweighting_duration", "s", "phase.mcmahon_2018",
                          (double)(k.i_uw - on) * dt, NULL)) < 0 ||
        (r = metric_total(t, "braking_duration", "s", "phase.mcmahon_2018",
                          (double)(k.i_vzero - k.i_uw) * dt, NULL)) < 0 ||
        (r = metric_total(t, "propulsion_duration", "s", "phase.mcmahon_2018",
                          (double)(sp->to - k.i_vzero) * dt, NULL)) < 0)
      return r;
    if ((r = phase_metrics(c, t, "unweighting", on, k.i_uw, has, wt, rule)) < 0 ||
        (r = phase_metrics(c, t, "braking", k.i_uw, k.i_vzero, has, wt, rule)) < 0)
      return r;
  } else if (!squat) {
    if ((r = metric_absent(t, "braking_duration", "s", "phase.mcmahon_2018",
                           "no countermovement: the velocity never went below -0.01 m/s")) < 0)
      return r;
  } else {
    if ((r = metric_total(t, "propulsion_duration", "s", "phase.mcmahon_2018", tto, NULL)) < 0)
      return r;
  }
  if ((r = phase_metrics(c, t, "propulsion", i_prop, sp->to, has, wt, rule)) < 0)
    return r;

  /* Landing peak within 0.5 s of touchdown. */
  if (!sp->open_end && sp->ce > sp->ld) {
    size_t lw = sp->ld + (size_t)llround(LANDING_WINDOW_S * c->rate);
    if (lw > sp->ce)
      lw = sp->ce;
    StanceMetric *ml = stance_trial_add_metric(t, "landing_peak_force", "N", "landing.peak");
    if (!ml)
      return STANCE_ENOMEM;
    stance_method_param_num(&ml->method, "window_s", LANDING_WINDOW_S);
    size_t lbad = 0;
    if (c->bad)
      for (size_t i = sp->ld; i < lw; i++)
        lbad += c->bad[i] != 0;
    for (int s = 0; s < 3; s++) {
      if (!(has & slot_bit[s]))
        continue;
      if (lbad)
        stance_metric_absent(ml, (StanceSel)s, "%zu gap or saturated samples in the landing", lbad);
      else
        stance_metric_set(ml, (StanceSel)s, c->f[s][argmax(c->f[s], sp->ld, lw - 1)]);
    }
  }

  /* Flags. */
  double t1 = 0.0, t2 = 0.0;
  if (double_peak(f, i_prop, sp->to, f[argmax(f, i_prop, sp->to)], &t1, &t2, dt)) {
    if ((r = stance_trial_flag(t, STANCE_FLAG_DOUBLE_PEAK, STANCE_SEVERITY_INFO,
                               "two propulsive peaks of similar height at %.3f s and %.3f s", t1,
                               t2)) < 0)
      return r;
  }
  return STANCE_OK;
}

int
stance_analyse_jumps(StanceCtx *c, StanceError *err)
{
  if (!c || !c->f[STANCE_SEL_TOTAL] || c->n == 0 || !(c->rate > 0.0))
    return stance_error_set(err, STANCE_EINVAL, "jump analysis needs a force series and a rate");
  const double *f = c->f[STANCE_SEL_TOTAL];
  StanceMethod to_m;
  double thr = stance_ev_takeoff_threshold(c, STANCE_SEL_TOTAL, &to_m);
  size_t min_len = (size_t)ceil(MIN_FLIGHT_S * c->rate - 1e-9);
  AirList air = {0};
  int r = find_air(c, f, thr, min_len, (size_t)llround(MERGE_S * c->rate), &air);
  if (r) {
    free(air.v);
    return stance_error_set(err, r, "out of memory while segmenting jumps");
  }

  /* Reference weight for the push test: the session's, else the stillest 0.5 s of the
   * recording's loaded part. */
  double w_ref = c->system_weight_n;
  if (!(w_ref > 0.0)) {
    double m, s;
    if (still_window(c, f, 0, c->n, (size_t)llround(LOCAL_WEIGH_S * c->rate), 50.0, &m, &s))
      w_ref = m;
  }

  int count_side[2] = {0, 0};
  int n_jumps = 0;
  size_t max_flight = (size_t)llround(MAX_FLIGHT_S * c->rate);
  size_t push_w = (size_t)llround(PUSH_WINDOW_S * c->rate);
  /* A jump's search for its quiet stretch starts after the previous flight, step-off or
   * unloaded start; a short unloaded stretch without a push before it (a hop onto the plates, a
   * rebound) is part of the next jump's contact. */
  size_t last_break = 0;
  bool has_hop = false;
  size_t hop_a = 0, hop_b = 0;
  for (size_t k = 0; k < air.n; k++) {
    const Air *ai = &air.v[k];
    size_t cs = k > 0 ? air.v[k - 1].b : 0;
    if (ai->a == 0 || cs >= ai->a || (!ai->open_end && ai->b - ai->a > max_flight)) {
      /* Unloaded start or a step-off: the next contact starts afresh. */
      last_break = ai->b;
      has_hop = false;
      continue;
    }
    size_t pa = ai->a > cs + push_w ? ai->a - push_w : cs;
    size_t ipk = argmax(f, pa, ai->a - 1);
    if (!(w_ref > 0.0) || !(f[ipk] > PUSH_FACTOR * w_ref)) {
      /* No propulsive push: stepping off briefly, or a hop without a jump. */
      if (ai->open_end) {
        last_break = ai->b;
        has_hop = false;
      } else {
        has_hop = true;
        hop_a = ai->a;
        hop_b = ai->b;
      }
      continue;
    }
    JumpSpan sp;
    sp.cs = last_break;
    sp.to = ai->a;
    sp.ld = ai->b;
    sp.open_end = ai->open_end;
    sp.ce = k + 1 < air.n ? air.v[k + 1].a : c->n;
    sp.to_x = crossing(f, sp.to, thr);
    sp.ld_x = sp.open_end ? (double)sp.ld : crossing(f, sp.ld, thr);
    sp.has_hop = has_hop;
    sp.hop_a = hop_a;
    sp.hop_b = hop_b;
    r = analyse_one(c, &sp, count_side);
    if (r) {
      free(air.v);
      return stance_error_set(err, r, "out of memory while analysing jumps");
    }
    last_break = ai->b;
    has_hop = false;
    n_jumps++;
  }
  free(air.v);

  StanceMetric *m = stance_analysis_add_metric(c->out, "jump_count", "count", "jump.flights");
  if (!m)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory while analysing jumps");
  copy_method_as(&m->method, &to_m, "jump.flights");
  stance_method_param_num(&m->method, "min_flight_s", MIN_FLIGHT_S);
  stance_method_param_num(&m->method, "max_flight_s", MAX_FLIGHT_S);
  stance_method_param_num(&m->method, "push_factor_bw", PUSH_FACTOR);
  stance_metric_set(m, STANCE_SEL_TOTAL, n_jumps);
  if (c->protocol == STANCE_PROTO_SL_CMJ && c->has_limbs) {
    stance_metric_set(m, STANCE_SEL_LEFT, count_side[0]);
    stance_metric_set(m, STANCE_SEL_RIGHT, count_side[1]);
    m->no_asym = true;
  }
  if (n_jumps == 0)
    stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                         "no jump found: no flight of %.2f-%.2f s below %.1f N preceded by a push "
                         "above %.2f x the weight",
                         MIN_FLIGHT_S, MAX_FLIGHT_S, thr, PUSH_FACTOR);
  return STANCE_OK;
}
