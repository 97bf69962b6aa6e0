/* stance-sim-jumps.c: simulated CMJ, SJ, DJ, single-leg CMJ, single-leg hops and pogo hops.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The body is one point mass m = m_body + m_load under gravity g. Each limb's vertical force is a
 * parametric curve built from smooth shapes; the total F = F_left + F_right is integrated sample
 * by sample with the trapezoid rule (a = F/m - g; v += dt (a_prev + a) / 2; y += dt (v_prev + v)
 * / 2), the same discrete rule the truth metrics use. Takeoff is the first sample where the
 * designed contact force is 0; the takeoff velocity is what the integration gives there, so the
 * net impulse from a still onset to takeoff is m v_to by construction. The flight lasts exactly
 * 2 v_to / g (takeoff and landing at the same COM height); the landing curve starts at that exact
 * time (the first landing sample is the first sample at or after it) and its amplitude is solved
 * so that the discrete integration ends at v = 0; a slow recovery then brings the COM back to its
 * standing height. docs/simulator.md ("Jumps and hops") has the full description.
 *
 * Shapes (x in [0, 1] over the phase, S = cubic smoothstep):
 *   CMJ / SJ limb   dip      F = base - (base - fmin) S(t / t_dip)            (CMJ only)
 *                   rise     F = fmin + (fpk - fmin) S(t' / t_rise)           (SJ: fmin = base)
 *                   decline  F = fpk (1 - x^p)(1 - beta x^2) until takeoff
 *   hop / DJ limb   rise     F = fpk sin(pi/2 t / t_up)                       (from touchdown)
 *                   fall     F = fpk cos(pi/2 x^gamma) until takeoff
 *   landing (total) F = W S(t / t_w) + A P(t / t_p), P(x) = x (1 - x)^3 / max (peak at x = 1/4)
 *   recovery        F = W + B sin(2 pi t / t_rec)
 * What is solved rather than drawn: the takeoff sample (for the target takeoff velocity), the CMJ
 * unweighting time (for the drawn COM height at takeoff), the athlete's base peak (for the drawn
 * countermovement / squat depth, by work-energy), the landing pulse (absorbs the landing
 * velocity with a drawn peak), the recovery amplitude (back to standing height).
 *
 * Asymmetry: the weaker limb's peak is (1 - asym_force) times the stronger limb's (amplitude);
 * its peak RFD (the truth's peak_rfd: steepest 20 ms slope from onset to takeoff) is
 * (1 - asym_rfd) times the stronger limb's (its rise time is solved for it); its net impulse from
 * onset to takeoff is (1 - asym_impulse) times the stronger limb's (its decline fullness is
 * solved for it; outside the shape family's reach the nearest value is produced). Unilateral
 * protocols put the same deficits on the weaker side's trials, against the stronger side's trial
 * with the same random draws; there the net impulse deficit is a takeoff velocity deficit.
 * Feasibility floors keep every jump a jump under extreme deficits or fatigue (CMJ/SJ limb peaks
 * at least 1.6 x the load they carry; contacts that cannot reach half their target takeoff
 * velocity push as hard as needed); the truth always reports what was produced.
 *
 * Threads: reentrant; everything lives in the scene and the local context.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "stance-sim-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================================
 * Context, body integration, pushing
 * ====================================================================================== */

typedef struct {
  double v, y, a; /* velocity, COM height relative to standing, acceleration at the last sample */
} Body;

typedef struct {
  StanceSimScene *s;
  const StanceSimParams *p;
  double m, g, W, dt, rate;
  double share[STANCE_N_PLATES]; /* bilateral still share of each limb */
  int weak;                      /* 0 left, 1 right */
  double f_force;                /* weaker limb's peak factor, 1 - asym_force / 100 */
  double f_rfd;                  /* weaker limb's peak RFD factor */
  double f_imp;                  /* weaker limb's net impulse factor */
  Body body;                     /* state at the last pushed sample */
} Jctx;

static void
body_step(const Jctx *c, Body *b, double f_total)
{
  double a = f_total / c->m - c->g;
  double v = b->v + 0.5 * c->dt * (b->a + a);
  b->y += 0.5 * c->dt * (b->v + v);
  b->v = v;
  b->a = a;
}

static void
body_rest(Jctx *c)
{
  c->body.v = c->body.y = c->body.a = 0.0;
}

static int
push2(Jctx *c, double fl, double fr)
{
  fl = fl > 0.0 ? fl : 0.0;
  fr = fr > 0.0 ? fr : 0.0;
  int r = _stance_sim_push(c->s, fl, fr);
  if (r < 0)
    return r;
  body_step(c, &c->body, fl + fr);
  return STANCE_OK;
}

/* Empty plates while the athlete is in the air (the body keeps integrating: a = -g). */
static int
push_flight_until(Jctx *c, size_t i_end)
{
  while (c->s->n < i_end) {
    int r = push2(c, 0.0, 0.0);
    if (r < 0)
      return r;
  }
  return STANCE_OK;
}

static double
clampd(double v, double lo, double hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* 1 + cv z with z standard normal limited to +-2.5: the athlete's rep-to-rep variability. */
static double
vary(Jctx *c, double cv)
{
  return 1.0 + cv * clampd(_stance_rng_gauss(&c->s->rng), -2.5, 2.5);
}

/* ======================================================================================
 * Still standing, weight shifts, stepping off
 * ====================================================================================== */

/* Still standing for `seconds` with `share_left` of the weight on the left plate (the sway of the
 * split comes from _stance_sim_still). The first 0.25 s blend from the previous sample's split
 * into it (blend_in) and the last 0.25 s settle onto the exact share (settle_out), so limb curves
 * that start or end at the exact share join without a step. The total stays W throughout. */
static int
still(Jctx *c, double seconds, double share_left, bool blend_in, bool settle_out)
{
  StanceSimScene *s = c->s;
  size_t n0 = s->n;
  double prev_left = n0 > 0 ? s->f[0][n0 - 1] : share_left * c->W;
  int r = _stance_sim_still(s, seconds, share_left);
  if (r < 0)
    return r;
  size_t n = s->n - n0;
  size_t nb = (size_t)llround(0.25 * c->rate);
  if (nb > n / 2)
    nb = n / 2;
  if (blend_in && n0 > 0 && nb > 0)
    for (size_t k = 0; k < nb; k++) {
      double b = _stance_smoothstep((double)(k + 1) / (double)(nb + 1));
      double fl = (1.0 - b) * prev_left + b * s->f[0][n0 + k];
      s->f[0][n0 + k] = fl;
      s->f[1][n0 + k] = c->W - fl;
    }
  if (settle_out && nb > 0)
    for (size_t k = 0; k < nb; k++) {
      size_t i = s->n - nb + k;
      double b = _stance_smoothstep((double)(k + 1) / (double)nb);
      double fl = (1.0 - b) * s->f[0][i] + b * share_left * c->W;
      s->f[0][i] = fl;
      s->f[1][i] = c->W - fl;
    }
  body_rest(c);
  return STANCE_OK;
}

/* Moves the weight between the feet (total W) from the current split to share_left. */
static int
shift(Jctx *c, double share_left, double seconds)
{
  StanceSimScene *s = c->s;
  double from = s->n > 0 ? s->f[0][s->n - 1] : share_left * c->W;
  size_t n = (size_t)llround(seconds * c->rate);
  for (size_t k = 0; k < n; k++) {
    double b = _stance_smoothstep((double)(k + 1) / (double)n);
    double fl = (1.0 - b) * from + b * share_left * c->W;
    int r = push2(c, fl, c->W - fl);
    if (r < 0)
      return r;
  }
  body_rest(c);
  return STANCE_OK;
}

/* Steps backwards off the plates onto the box: the left foot leaves first (its load moves to the
 * right foot), then the right foot's load moves onto the box. */
static int
step_off(Jctx *c)
{
  StanceSimScene *s = c->s;
  double fl0 = s->n > 0 ? s->f[0][s->n - 1] : c->share[0] * c->W;
  size_t n = (size_t)llround(0.30 * c->rate);
  int r;
  for (size_t k = 0; k < n; k++) {
    double fl = fl0 * (1.0 - _stance_smoothstep((double)(k + 1) / (double)n));
    if ((r = _stance_sim_push(s, fl, c->W - fl)) < 0)
      return r;
  }
  for (size_t k = 0; k < n; k++)
    if ((r = _stance_sim_push(s, 0.0,
                              c->W * (1.0 - _stance_smoothstep((double)(k + 1) / (double)n)))) < 0)
      return r;
  body_rest(c);
  return STANCE_OK;
}

/* ======================================================================================
 * Contact segments: a design evaluated at the samples [i0, i1]
 * ====================================================================================== */

typedef double (*LimbFn)(const void *design, int limb, double tau);

typedef struct {
  LimbFn fn;
  const void *d;
  double u0;     /* time origin in samples: tau = (i - u0) dt */
  size_t i0, i1; /* first and last sample, inclusive */
} Seg;

static double
seg_f(const Jctx *c, const Seg *g, int limb, size_t i)
{
  return g->fn(g->d, limb, ((double)i - g->u0) * c->dt);
}

/* Net impulse of one limb over the segment, exactly as the truth computes it: trapezoid of F over
 * [i0, i1] minus weight (i1 - i0) dt. */
static double
seg_net(const Jctx *c, const Seg *g, int limb, double weight)
{
  double trap = 0.0, prev = seg_f(c, g, limb, g->i0);
  for (size_t i = g->i0 + 1; i <= g->i1; i++) {
    double f = seg_f(c, g, limb, i);
    trap += 0.5 * (prev + f) * c->dt;
    prev = f;
  }
  return trap - weight * (double)(g->i1 - g->i0) * c->dt;
}

static size_t
rfd_window(const Jctx *c)
{
  size_t w = (size_t)llround(0.020 * c->rate);
  return w < 1 ? 1 : w;
}

/* Peak RFD of one limb as the truth computes it: the steepest (F[i + w] - F[i]) / (w dt), 20 ms. */
static double
seg_rfd(const Jctx *c, const Seg *g, int limb)
{
  size_t w = rfd_window(c);
  double best = -INFINITY;
  for (size_t i = g->i0; i + w <= g->i1; i++) {
    double slope = (seg_f(c, g, limb, i + w) - seg_f(c, g, limb, i)) / ((double)w * c->dt);
    if (slope > best)
      best = slope;
  }
  return isfinite(best) ? best : 0.0;
}

/* Integrates the segment's total force from state b (the state at sample i0 - 1). */
static Body
seg_integrate(const Jctx *c, const Seg *g, Body b)
{
  for (size_t i = g->i0; i <= g->i1; i++)
    body_step(c, &b, seg_f(c, g, 0, i) + seg_f(c, g, 1, i));
  return b;
}

static int
seg_push(Jctx *c, const Seg *g)
{
  int r = push_flight_until(c, g->i0);
  if (r < 0)
    return r;
  for (size_t i = g->i0; i <= g->i1; i++)
    if ((r = push2(c, seg_f(c, g, 0, i), seg_f(c, g, 1, i))) < 0)
      return r;
  return STANCE_OK;
}

/* The state at sample i - 1 when the body flies from the current state (the last pushed sample)
 * until then. */
static Body
body_after_flight(const Jctx *c, size_t i)
{
  Body b = c->body;
  for (size_t k = c->s->n; k < i; k++)
    body_step(c, &b, 0.0);
  return b;
}

/* ======================================================================================
 * Countermovement / squat jump contact
 * ====================================================================================== */

typedef struct {
  bool on;
  double base;   /* force at onset, N */
  double fmin;   /* unweighting minimum, N (= base for a squat jump) */
  double fpk;    /* peak, N */
  double t_rise; /* s, from the dip's minimum (SJ: onset) to the peak */
  double p;      /* decline exponent (fullness: the impulse knob) */
  double beta;   /* decline shoulder: F = fpk (1 - x^p)(1 - beta x^2) */
  double beta0;  /* the drawn shoulder (the fullness knob starts from it) */
} CmjLimb;

typedef struct {
  double t_dip; /* s, onset to the unweighting minimum (0: squat jump) */
  double t_to;  /* s, onset to takeoff */
  CmjLimb l[STANCE_N_PLATES];
} CmjDesign;

static double
cmj_force(const void *dv, int j, double tau)
{
  const CmjDesign *d = dv;
  const CmjLimb *l = &d->l[j];
  if (!l->on || tau >= d->t_to)
    return 0.0;
  if (tau <= 0.0)
    return l->base;
  if (tau < d->t_dip)
    return l->base - (l->base - l->fmin) * _stance_smoothstep(tau / d->t_dip);
  double t1 = d->t_dip + l->t_rise;
  if (tau < t1)
    return l->fmin + (l->fpk - l->fmin) * _stance_smoothstep((tau - d->t_dip) / l->t_rise);
  double x = (tau - t1) / (d->t_to - t1);
  return l->fpk * (1.0 - pow(x, l->p)) * (1.0 - l->beta * x * x);
}

static Seg
cmj_seg(const Jctx *c, const CmjDesign *d, size_t i0)
{
  size_t n = (size_t)llround(d->t_to * c->rate);
  return (Seg){cmj_force, d, (double)i0, i0, i0 + n};
}

/* Solves limb j's rise time so that its peak RFD is `target` (N/s). */
static void
cmj_solve_rise(const Jctx *c, CmjDesign *d, int j, double target)
{
  CmjDesign t = *d;
  double lo = 0.03, hi = 0.6;
  for (int it = 0; it < 80; it++) {
    double mid = 0.5 * (lo + hi);
    t.l[j].t_rise = mid;
    t.t_to = t.t_dip + mid + 0.3;
    Seg g = cmj_seg(c, &t, 0);
    if (seg_rfd(c, &g, j) > target)
      lo = mid; /* too steep: rise slower */
    else
      hi = mid;
  }
  d->l[j].t_rise = 0.5 * (lo + hi);
}

/* Trapezoid of limb j's force over the samples [ia, ib] of a segment. */
static double
seg_trap(const Jctx *c, const Seg *g, int limb, size_t ia, size_t ib)
{
  double trap = 0.0, prev = seg_f(c, g, limb, ia);
  for (size_t i = ia + 1; i <= ib; i++) {
    double f = seg_f(c, g, limb, i);
    trap += 0.5 * (prev + f) * c->dt;
    prev = f;
  }
  return trap;
}

/* Number of samples from onset (tau = 0, dt, ...) before time t. */
static size_t
samples_before(const Jctx *c, double t)
{
  double k = ceil(t * c->rate);
  return k > 0.0 ? (size_t)k : 0;
}

/* The impulse knob of a CMJ limb: one monotonic parameter k in [0, 3] over the decline's
 * fullness. k in [0, 1]: p = 1.2 and the shoulder goes from 0.9 (k = 0) to the drawn beta0;
 * k in [1, 2]: exponent p from 1.2 to 40 with beta0; k in [2, 3]: p = 40 and the shoulder
 * flattens from beta0 to 0. */
static void
cmj_set_fullness(CmjLimb *l, double k, double beta0)
{
  if (k >= 2.0) {
    l->p = 40.0;
    l->beta = beta0 * (3.0 - k);
  } else if (k >= 1.0) {
    l->p = 1.2 * exp((k - 1.0) * log(40.0 / 1.2));
    l->beta = beta0;
  } else {
    l->p = 1.2;
    l->beta = beta0 + (0.9 - beta0) * (1.0 - k);
  }
}

/* Solves limb j's decline fullness so that its net impulse is ratio x the other limb's. Only the
 * decline depends on it: the samples before the decline are summed once. */
static void
cmj_solve_impulse(const Jctx *c, CmjDesign *d, int j, double ratio)
{
  double beta0 = d->l[j].beta0;
  Seg g = cmj_seg(c, d, 0);
  double target = ratio * seg_net(c, &g, 1 - j, d->l[1 - j].base);
  if (!(target > 0.0))
    return;
  size_t ka = samples_before(c, d->t_dip + d->l[j].t_rise);
  size_t ia = ka > 0 ? ka - 1 : 0; /* last sample before the decline */
  if (ia > g.i1)
    ia = g.i1;
  double fixed = seg_trap(c, &g, j, g.i0, ia) - d->l[j].base * (double)(g.i1 - g.i0) * c->dt;
  double lo = 0.0, hi = 3.0;
  for (int it = 0; it < 36; it++) {
    double mid = 0.5 * (lo + hi);
    cmj_set_fullness(&d->l[j], mid, beta0);
    if (fixed + seg_trap(c, &g, j, ia, g.i1) < target)
      lo = mid;
    else
      hi = mid;
  }
  cmj_set_fullness(&d->l[j], 0.5 * (lo + hi), beta0);
}

/* Finds the takeoff sample (the contact length in whole samples) whose takeoff velocity is
 * closest to v_target, re-solving the impulse split at each candidate when imp_limb >= 0. Starts
 * from the rest state. Returns the takeoff velocity. */
static double
cmj_search(const Jctx *c, CmjDesign *d, int imp_limb, double imp_ratio, double v_target)
{
  double r_max = 0.0, r_min = INFINITY;
  for (int j = 0; j < 2; j++)
    if (d->l[j].on) {
      r_max = fmax(r_max, d->l[j].t_rise);
      r_min = fmin(r_min, d->l[j].t_rise);
    }
  if (!isfinite(r_min))
    r_min = 0.0;
  long n_lo = (long)ceil((d->t_dip + r_max + 0.06) * c->rate), n_hi = (long)ceil(2.2 * c->rate);
  /* Samples before the first decline starts do not depend on the takeoff time: integrate them
   * once (segment from sample 1, so sample 1 + k is at tau = k dt). */
  Body pre = {0.0, 0.0, 0.0};
  size_t k_pre = samples_before(c, d->t_dip + r_min);
  if (k_pre > 0) {
    d->t_to = (double)n_hi / c->rate;
    Seg gp = cmj_seg(c, d, 1);
    gp.i1 = k_pre;
    pre = seg_integrate(c, &gp, pre);
  }
#define CMJ_EVAL(N, V)                                                                             \
  do {                                                                                             \
    d->t_to = (double)(N) / c->rate;                                                               \
    if (imp_limb >= 0)                                                                             \
      cmj_solve_impulse(c, d, imp_limb, imp_ratio);                                                \
    Seg g_ = cmj_seg(c, d, 1);                                                                     \
    g_.i0 = k_pre + 1;                                                                             \
    (V) = seg_integrate(c, &g_, pre).v;                                                            \
  } while (0)
  double v_lo, v_hi;
  CMJ_EVAL(n_hi, v_hi);
  if (v_hi <= v_target) {
    /* Out of reach. A longer push only helps while the decline's mean force exceeds the load,
     * so take the best takeoff: a coarse scan, then the neighbouring samples. */
    long step = (long)ceil(0.01 * c->rate), best = n_hi;
    double v_best = v_hi, v;
    for (long n = n_lo; n < n_hi; n += step) {
      CMJ_EVAL(n, v);
      if (v > v_best)
        v_best = v, best = n;
    }
    long a = best - step > n_lo ? best - step : n_lo, z = best + step < n_hi ? best + step : n_hi;
    for (long n = a; n <= z; n++) {
      CMJ_EVAL(n, v);
      if (v > v_best)
        v_best = v, best = n;
    }
    CMJ_EVAL(best, v);
    return v;
  }
  CMJ_EVAL(n_lo, v_lo);
  long best = n_lo;
  if (v_lo < v_target) {
    /* v(n_lo) < target <= v(n_hi): bisect for the first n reaching the target. */
    long lo = n_lo, hi = n_hi;
    while (hi - lo > 1) {
      long mid = lo + (hi - lo) / 2;
      double v;
      CMJ_EVAL(mid, v);
      if (v < v_target)
        lo = mid, v_lo = v;
      else
        hi = mid, v_hi = v;
    }
    best = (v_target - v_lo < v_hi - v_target) ? lo : hi;
  }
  double v;
  CMJ_EVAL(best, v);
#undef CMJ_EVAL
  return v;
}

/* ======================================================================================
 * Hop / drop-jump contact
 * ====================================================================================== */

typedef struct {
  bool on;
  double fpk;   /* N */
  double t_up;  /* s, touchdown to peak */
  double gamma; /* fall shape exponent */
} HopLimb;

typedef struct {
  double t_c; /* s, touchdown to takeoff */
  HopLimb l[STANCE_N_PLATES];
} HopDesign;

static double
hop_force(const void *dv, int j, double tau)
{
  const HopDesign *d = dv;
  const HopLimb *l = &d->l[j];
  if (!l->on || tau <= 0.0 || tau >= d->t_c)
    return 0.0;
  if (tau < l->t_up)
    return l->fpk * sin(M_PI_2 * tau / l->t_up);
  double x = (tau - l->t_up) / (d->t_c - l->t_up);
  return l->fpk * cos(M_PI_2 * pow(x, l->gamma));
}

/* A contact touching down at sample time u_land (in samples, may lie between samples) and taking
 * off at sample i_to: its samples run from the first at or after touchdown to i_to. */
static Seg
hop_seg(HopDesign *d, const Jctx *c, double u_land, size_t i_to)
{
  size_t i0 = (size_t)ceil(u_land);
  d->t_c = ((double)i_to - u_land) * c->dt;
  return (Seg){hop_force, d, u_land, i0, i_to};
}

/* Solves limb j's rise time for peak RFD `target`, touching down at u_land. */
static void
hop_solve_rise(const Jctx *c, HopDesign *d, int j, double u_land, double target)
{
  HopDesign t = *d;
  double lo = 0.03, hi = 0.6;
  size_t i0 = (size_t)ceil(u_land);
  for (int it = 0; it < 80; it++) {
    double mid = 0.5 * (lo + hi);
    t.l[j].t_up = mid;
    size_t i_to = i0 + (size_t)ceil((mid + 0.15) * c->rate);
    Seg g = hop_seg(&t, c, u_land, i_to);
    if (seg_rfd(c, &g, j) > target)
      lo = mid;
    else
      hi = mid;
  }
  d->l[j].t_up = 0.5 * (lo + hi);
}

static void
hop_solve_impulse(const Jctx *c, HopDesign *d, const Seg *g, int j, double ratio, double wj,
                  double wo)
{
  double target = ratio * seg_net(c, g, 1 - j, wo);
  if (!(target > 0.0))
    return;
  double lo = log(0.8), hi = log(12.0);
  for (int it = 0; it < 60; it++) {
    double mid = 0.5 * (lo + hi);
    d->l[j].gamma = exp(mid);
    if (seg_net(c, g, j, wj) < target)
      lo = mid;
    else
      hi = mid;
  }
  d->l[j].gamma = exp(0.5 * (lo + hi));
}

typedef struct {
  int imp_limb;     /* limb whose fall exponent is solved for the impulse ratio; -1 none */
  double imp_ratio; /* its net impulse / the other limb's */
  double fpk_ratio; /* weaker limb peak / stronger limb peak (bilateral) */
  int strong;       /* the limb that carries fpk (bilateral: the stronger) */
} HopSplit;

static double
hop_eval(const Jctx *c, HopDesign *d, const HopSplit *sp, double u_land, size_t i_to, Body b0)
{
  Seg g = hop_seg(d, c, u_land, i_to);
  if (sp->imp_limb >= 0)
    hop_solve_impulse(c, d, &g, sp->imp_limb, sp->imp_ratio, c->share[sp->imp_limb] * c->W,
                      c->share[1 - sp->imp_limb] * c->W);
  return seg_integrate(c, &g, b0).v;
}

static void
hop_set_amp(HopDesign *d, const HopSplit *sp, double a)
{
  d->l[sp->strong].fpk = a;
  d->l[1 - sp->strong].fpk = a * sp->fpk_ratio;
}

/* Solves the stronger limb's peak for takeoff velocity v_target with a fixed contact time. */
static double
hop_solve_amp(const Jctx *c, HopDesign *d, const HopSplit *sp, double u_land, size_t i_to, Body b0,
              double v_target)
{
  double lo = 0.2 * c->W, hi = 12.0 * c->W;
  for (int it = 0; it < 60; it++) {
    double mid = 0.5 * (lo + hi);
    hop_set_amp(d, sp, mid);
    if (hop_eval(c, d, sp, u_land, i_to, b0) < v_target)
      lo = mid;
    else
      hi = mid;
  }
  hop_set_amp(d, sp, 0.5 * (lo + hi));
  return hop_eval(c, d, sp, u_land, i_to, b0);
}

/* Finds the takeoff sample whose takeoff velocity is closest to v_target (amplitudes fixed). */
static size_t
hop_search(const Jctx *c, HopDesign *d, const HopSplit *sp, double u_land, Body b0, double v_target,
           double *v_out)
{
  size_t i0 = (size_t)ceil(u_land);
  double t_up = fmax(d->l[0].on ? d->l[0].t_up : 0.0, d->l[1].on ? d->l[1].t_up : 0.0);
  size_t lo = i0 + (size_t)ceil((t_up + 0.04) * c->rate), hi = i0 + (size_t)ceil(0.9 * c->rate);
  double v_lo = hop_eval(c, d, sp, u_land, lo, b0);
  double v_hi = hop_eval(c, d, sp, u_land, hi, b0);
  size_t best = lo;
  if (v_hi <= v_target)
    best = hi;
  else if (v_lo < v_target) {
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      double v = hop_eval(c, d, sp, u_land, mid, b0);
      if (v < v_target)
        lo = mid, v_lo = v;
      else
        hi = mid, v_hi = v;
    }
    best = (v_target - v_lo < v_hi - v_target) ? lo : hi;
  }
  *v_out = hop_eval(c, d, sp, u_land, best, b0);
  return best;
}

/* Feasibility floor of a reactive contact: when its peak (after a large force deficit or fatigue)
 * cannot reach half the target takeoff velocity, the contact lasts t_max and its peak is solved
 * for the target (the stronger/weaker ratio kept); the truth reports the peaks produced. */
static size_t
hop_feasible(const Jctx *c, HopDesign *d, const HopSplit *sp, double u_land, Body b0,
             double v_target, double t_max, double *v_out)
{
  size_t i_to = (size_t)ceil(u_land) + (size_t)llround(t_max * c->rate);
  *v_out = hop_solve_amp(c, d, sp, u_land, i_to, b0, v_target);
  return i_to;
}

static int
no_takeoff(StanceError *err, int index, double v)
{
  return stance_error_set(err, STANCE_ERANGE,
                          "jump/hop %d cannot take off (takeoff velocity %.3f m/s; expected a "
                          "positive one): the asymmetry or fatigue parameters leave too little "
                          "force",
                          index, v);
}

/* ======================================================================================
 * Landing and recovery
 * ====================================================================================== */

typedef struct {
  double W, A, t_p, t_w;
  double share[STANCE_N_PLATES];
} LandDesign;

static double
land_force(const void *dv, int j, double tau)
{
  const LandDesign *d = dv;
  if (tau <= 0.0)
    return 0.0;
  double f = d->W * _stance_smoothstep(tau / d->t_w);
  if (tau < d->t_p) {
    double x = tau / d->t_p, q = 1.0 - x;
    f += d->A * x * q * q * q / 0.10546875; /* max of x (1 - x)^3, at x = 1/4 */
  }
  return d->share[j] * f;
}

typedef struct {
  double W, B, t_rec;
  double share[STANCE_N_PLATES];
} RecDesign;

static double
rec_force(const void *dv, int j, double tau)
{
  const RecDesign *d = dv;
  double f = d->W;
  if (tau > 0.0 && tau < d->t_rec)
    f += d->B * sin(2.0 * M_PI * tau / d->t_rec);
  return d->share[j] * f;
}

typedef struct {
  double peak[3]; /* landing peak: left, right, total (N) */
  double t_end;   /* end of the recovery (s) */
} LandResult;

/* Lands at sample time u_land (the body flies until then from the current state), absorbs the
 * landing velocity with a peak near peak_bw x W, then recovers to the standing height. share_left:
 * 0.5-ish bilateral, 1 or 0 on one leg. */
static int
land_and_recover(Jctx *c, double u_land, double peak_bw, double share_left, LandResult *out)
{
  LandDesign d = {c->W, 0.0, 0.2, 0.15, {share_left, 1.0 - share_left}};
  size_t i0 = (size_t)ceil(u_land);
  Body b0 = body_after_flight(c, i0);
  double target = peak_bw * c->W;
  Seg g = {land_force, &d, u_land, i0, i0};
  /* The amplitude that ends the landing at v = 0 (v_end is affine in A), then the pulse length
   * that gives the wanted peak (longer pulse, lower peak). */
  double lo = 0.06, hi = 0.6;
  for (int it = 0; it < 50; it++) {
    d.t_p = 0.5 * (lo + hi);
    g.i1 = i0 + (size_t)ceil(fmax(d.t_p, d.t_w) * c->rate) + 1;
    d.A = 0.0;
    double v0 = seg_integrate(c, &g, b0).v;
    d.A = 1000.0;
    double v1 = seg_integrate(c, &g, b0).v;
    d.A = 1000.0 * -v0 / (v1 - v0);
    double pk = 0.0;
    for (size_t i = g.i0; i <= g.i1; i++)
      pk = fmax(pk, seg_f(c, &g, 0, i) + seg_f(c, &g, 1, i));
    if (pk > target)
      lo = d.t_p;
    else
      hi = d.t_p;
  }
  d.t_p = 0.5 * (lo + hi);
  g.i1 = i0 + (size_t)ceil(fmax(d.t_p, d.t_w) * c->rate) + 1;
  d.A = 0.0;
  double v0 = seg_integrate(c, &g, b0).v;
  d.A = 1000.0;
  double v1 = seg_integrate(c, &g, b0).v;
  d.A = 1000.0 * -v0 / (v1 - v0);
  if (!(d.A > 0.0))
    d.A = 0.0;

  int r = seg_push(c, &g);
  if (r < 0)
    return r;
  out->peak[0] = out->peak[1] = out->peak[2] = 0.0;
  for (size_t i = g.i0; i <= g.i1; i++) {
    out->peak[0] = fmax(out->peak[0], c->s->f[0][i]);
    out->peak[1] = fmax(out->peak[1], c->s->f[1][i]);
    out->peak[2] = fmax(out->peak[2], c->s->f[0][i] + c->s->f[1][i]);
  }

  /* Recovery: W + B sin(2 pi t / T) lifts the COM by B T^2 / (2 pi m) (exactly: the discrete
   * displacement is linear in B). */
  RecDesign rd = {c->W, 0.0, 0.0, {share_left, 1.0 - share_left}};
  double t_rec = _stance_rng_range(&c->s->rng, 1.0, 1.4);
  double dy = -c->body.y;
  for (;;) {
    size_t n = (size_t)llround(t_rec * c->rate);
    rd.t_rec = (double)n * c->dt;
    rd.B = 1.0;
    Seg gr = {rec_force, &rd, (double)c->s->n, c->s->n, c->s->n + n};
    Body b = c->body;
    b.v = 0.0; /* the landing ended at rest (to rounding) */
    double per_b = seg_integrate(c, &gr, b).y - b.y;
    rd.B = per_b != 0.0 ? dy / per_b : 0.0;
    if (fabs(rd.B) <= 0.4 * c->W || t_rec > 4.0) {
      rd.B = clampd(rd.B, -0.4 * c->W, 0.4 * c->W); /* never reached in practice */
      if ((r = seg_push(c, &gr)) < 0)
        return r;
      break;
    }
    t_rec *= 1.25;
  }
  out->t_end = _stance_sim_t(c->s, c->s->n - 1);
  body_rest(c);
  return STANCE_OK;
}

/* ======================================================================================
 * Truth helpers
 * ====================================================================================== */

/* Total (left + right) force of sample i. */
static double
f_tot(const Jctx *c, size_t i)
{
  return c->s->f[0][i] + c->s->f[1][i];
}

typedef struct {
  size_t i_peak;         /* total peak */
  size_t i_limb_peak[2]; /* each limb's peak */
  bool has_vzero;        /* the velocity went from negative back to >= 0 */
  size_t i_vzero;        /* first sample with v >= 0 after being negative */
  double y_min;          /* lowest COM over [i0, i1] */
  double peak_power;     /* max F v where v > 0 (propulsion) */
} PathInfo;

/* Integrates the pushed samples [i0, i1] from state b (at i0 - 1) to find the velocity zero, the
 * lowest COM and the peak power; peaks are searched from i_from. */
static PathInfo
path_info(const Jctx *c, size_t i0, size_t i1, Body b, size_t i_from)
{
  PathInfo pi = {i_from, {i_from, i_from}, false, 0, INFINITY, 0.0};
  bool was_neg = b.v < 0.0;
  for (size_t i = i0; i <= i1; i++) {
    body_step(c, &b, f_tot(c, i));
    if (b.v < 0.0)
      was_neg = true;
    if (was_neg && !pi.has_vzero && b.v >= 0.0) {
      pi.has_vzero = true;
      pi.i_vzero = i;
    }
    if (b.y < pi.y_min)
      pi.y_min = b.y;
    if (b.v > 0.0)
      pi.peak_power = fmax(pi.peak_power, f_tot(c, i) * b.v);
    if (i >= i_from) {
      if (f_tot(c, i) > f_tot(c, pi.i_peak))
        pi.i_peak = i;
      for (int j = 0; j < 2; j++)
        if (c->s->f[j][i] > c->s->f[j][pi.i_limb_peak[j]])
          pi.i_limb_peak[j] = i;
    }
  }
  return pi;
}

static int
oom(StanceError *err)
{
  return stance_error_set(err, STANCE_ENOMEM, "out of memory while simulating jumps");
}

/* Metrics shared by every trial with a takeoff. */
static void
truth_flight(StanceTruthTrial *tr, double g, double v_to, double contact_s)
{
  double tf = 2.0 * v_to / g;
  _stance_sim_truth_metric(tr, "takeoff_velocity", "m/s", STANCE_TRUTH_TOTAL, 0, 0, v_to);
  _stance_sim_truth_metric(tr, "jump_height_impulse", "m", STANCE_TRUTH_TOTAL, 0, 0,
                           v_to * v_to / (2.0 * g));
  _stance_sim_truth_metric(tr, "jump_height_flight", "m", STANCE_TRUTH_TOTAL, 0, 0,
                           g * tf * tf / 8.0);
  _stance_sim_truth_metric(tr, "flight_time", "s", STANCE_TRUTH_TOTAL, 0, 0, tf);
  _stance_sim_truth_metric(tr, "contact_time", "s", STANCE_TRUTH_TOTAL, 0, 0, contact_s);
}

static void
truth_peak_offset(const Jctx *c, StanceTruthTrial *tr, const PathInfo *pi, bool bilateral)
{
  if (!bilateral)
    return;
  _stance_sim_truth_metric(tr, "peak_time_offset", "s", STANCE_TRUTH_TOTAL, 0, 0,
                           ((double)pi->i_limb_peak[1] - (double)pi->i_limb_peak[0]) * c->dt);
}

static void
truth_landing(StanceTruthTrial *tr, const LandResult *lr, int stance)
{
  unsigned has = STANCE_TRUTH_TOTAL;
  if (stance != 1)
    has |= STANCE_TRUTH_LEFT;
  if (stance != 0)
    has |= STANCE_TRUTH_RIGHT;
  _stance_sim_truth_metric(tr, "landing_peak_force", "N", has, lr->peak[0], lr->peak[1],
                           lr->peak[2]);
}

/* ======================================================================================
 * Jumps from still standing: CMJ, SJ, single-leg CMJ
 * ====================================================================================== */

typedef struct {
  double h;      /* jump height target, m */
  double P;      /* peak (bilateral: total, both limbs at full strength) in W */
  double fmin;   /* unweighting minimum, fraction of the onset force */
  double t_dip;  /* s */
  double t_rise; /* s */
  double p;      /* decline exponent */
  double beta;   /* decline shoulder */
  double land;   /* landing peak target, in W */
  double h_toff; /* COM height at takeoff above standing, m */
  double depth;  /* athlete's countermovement / squat depth (sets the base peak), m */
  double t_desc; /* SJ: descent into the squat, s */
  double t_hold; /* SJ: squat hold, s */
} JumpDraw;

/* One limb design from a draw. stance: -1 both, else the loaded limb. */
static CmjDesign
cmj_design(const Jctx *c, const JumpDraw *dr, bool squat, int stance, double weak_factor)
{
  CmjDesign d;
  memset(&d, 0, sizeof d);
  d.t_dip = squat ? 0.0 : dr->t_dip;
  for (int j = 0; j < 2; j++) {
    CmjLimb *l = &d.l[j];
    l->on = stance < 0 || stance == j;
    if (!l->on)
      continue;
    l->base = stance < 0 ? c->share[j] * c->W : c->W;
    l->fmin = squat ? l->base : dr->fmin * l->base;
    if (stance < 0)
      l->fpk = dr->P * c->W / (1.0 + c->f_force) * (j == c->weak ? c->f_force : 1.0);
    else
      l->fpk = dr->P * c->W * weak_factor;
    /* A jump needs the peak well above the load the limb stands on: extreme deficits or fatigue
     * are floored here (the truth reports the peaks produced). */
    l->fpk = fmax(l->fpk, 1.6 * l->base);
    l->t_rise = dr->t_rise;
    l->p = dr->p;
    l->beta = l->beta0 = dr->beta;
  }
  return d;
}

/* COM height at takeoff above standing of a complete design, from rest. */
static double
cmj_takeoff_height(const Jctx *c, const CmjDesign *d)
{
  Seg g = cmj_seg(c, d, 1);
  Body rest = {0.0, 0.0, 0.0};
  return seg_integrate(c, &g, rest).y;
}

/* Countermovement jumps: solves the unweighting time (hence the countermovement depth) so that
 * the COM leaves the ground h_toff above its standing height, finding the takeoff time for
 * v_target at each step (a longer unweighting goes deeper and takes off lower). The bisection
 * runs without the impulse split (which is costly and moves the takeoff height only a little);
 * the offset the split causes is then measured and the fit repeated once for the corrected
 * target. */
static double
cmj_fit_plain(const Jctx *c, CmjDesign *d, double v_target, double h_toff)
{
  double lo = 0.15, hi = 0.60;
  for (int it = 0; it < 14; it++) {
    d->t_dip = 0.5 * (lo + hi);
    cmj_search(c, d, -1, 1.0, v_target);
    if (cmj_takeoff_height(c, d) > h_toff)
      lo = d->t_dip;
    else
      hi = d->t_dip;
  }
  d->t_dip = 0.5 * (lo + hi);
  return cmj_search(c, d, -1, 1.0, v_target);
}

static double
cmj_fit(const Jctx *c, CmjDesign *d, int imp_limb, double v_target, double h_toff)
{
  double v = cmj_fit_plain(c, d, v_target, h_toff);
  if (imp_limb < 0)
    return v;
  CmjDesign plain = *d;
  cmj_search(c, d, imp_limb, c->f_imp, v_target);
  double off = cmj_takeoff_height(c, d) - cmj_takeoff_height(c, &plain);
  if (fabs(off) > 0.002) {
    for (int j = 0; j < 2; j++) /* back to the drawn shape before refitting */
      d->l[j].p = plain.l[j].p, d->l[j].beta = plain.l[j].beta;
    cmj_fit_plain(c, d, v_target, h_toff - off);
  }
  return cmj_search(c, d, imp_limb, c->f_imp, v_target);
}

/* Fits (CMJ) or searches (SJ) the design for v_target. When it cannot reach half of that (the
 * asked-for deficits or fatigue leave too little force), both limbs push harder, their ratio
 * kept, until it can: a floor of feasibility; the truth reports the peaks produced. */
static double
cmj_solve(const Jctx *c, CmjDesign *d, bool squat, int imp_limb, double v_target, double h_toff)
{
  double v = squat ? cmj_search(c, d, imp_limb, c->f_imp, v_target)
                   : cmj_fit(c, d, imp_limb, v_target, h_toff);
  for (int it = 0; v < 0.5 * v_target && it < 30; it++) {
    for (int j = 0; j < 2; j++)
      d->l[j].fpk *= 1.1;
    v = squat ? cmj_search(c, d, imp_limb, c->f_imp, v_target)
              : cmj_fit(c, d, imp_limb, v_target, h_toff);
  }
  return v;
}

/* Builds, pushes and records one jump whose design `d` is complete but for its takeoff time (and,
 * with imp_limb >= 0, that limb's decline exponent). Starts at the current sample (rest). */
static int
jump_from_still(Jctx *c, CmjDesign *d, int imp_limb, double v_target, const JumpDraw *dr,
                int stance, StanceError *err)
{
  StanceSimScene *s = c->s;
  bool squat = d->t_dip == 0.0;
  double v_to = cmj_solve(c, d, squat, imp_limb, v_target, dr->h_toff);
  if (!(v_to > 0.05))
    return no_takeoff(err, 0, v_to);
  double t_ecc = -1.0, t_hold = -1.0, depth = 0.0;
  int r;
  if (squat) {
    /* The squat: W - B sin(2 pi t / T) lowers the COM by B T^2 / (2 pi m) and stops; the depth is
     * chosen so that the takeoff happens h_toff above the standing height. */
    Body rest = {0.0, 0.0, 0.0};
    depth = clampd(cmj_takeoff_height(c, d) - dr->h_toff, 0.15, 0.60);
    size_t n = (size_t)llround(dr->t_desc * c->rate);
    RecDesign dd = {c->W, 1.0, (double)n * c->dt, {c->share[0], c->share[1]}};
    if (stance >= 0)
      dd.share[0] = stance == 0 ? 1.0 : 0.0, dd.share[1] = 1.0 - dd.share[0];
    Seg gd = {rec_force, &dd, (double)s->n, s->n, s->n + n};
    double per_b = seg_integrate(c, &gd, rest).y;
    dd.B = -depth / per_b;
    t_ecc = _stance_sim_t(s, s->n);
    if ((r = seg_push(c, &gd)) < 0)
      return oom(err);
    t_hold = _stance_sim_t(s, s->n);
    double y_sq = c->body.y;
    if ((r = still(c, dr->t_hold, stance < 0 ? c->share[0] : (stance == 0 ? 1.0 : 0.0), true,
                   true)) < 0)
      return oom(err);
    c->body.y = y_sq;
  }
  size_t i0 = s->n;
  Body b_on = c->body;
  Seg g = cmj_seg(c, d, i0);
  if ((r = seg_push(c, &g)) < 0)
    return oom(err);
  size_t i_to = g.i1;
  v_to = c->body.v;
  double y_to = c->body.y;
  double tf = 2.0 * v_to / c->g;
  double u_land = (double)i_to + tf * c->rate;

  /* Phases (McMahon et al. 2018): unweighting ends where the force is back at W after its
   * minimum (the velocity minimum), braking ends at zero velocity (the lowest COM). */
  size_t i_umin = i0, i_uw = 0;
  if (!squat) {
    size_t i_dip = i0 + (size_t)llround(d->t_dip * c->rate);
    for (size_t i = i0; i <= i_dip && i <= i_to; i++)
      if (f_tot(c, i) < f_tot(c, i_umin))
        i_umin = i;
    for (size_t i = i_umin; i <= i_to; i++)
      if (f_tot(c, i) >= c->W) {
        i_uw = i;
        break;
      }
  }
  size_t i_from = squat ? i0 : (i_uw ? i_uw : i0);
  PathInfo pi = path_info(c, i0, i_to, b_on, i_from);

  LandResult lr;
  double land_share = stance < 0 ? c->share[0] : (stance == 0 ? 1.0 : 0.0);
  if ((r = land_and_recover(c, u_land, dr->land, land_share, &lr)) < 0)
    return oom(err);

  double t0 = _stance_sim_t(s, i0), t_to = _stance_sim_t(s, i_to);
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, "jump", squat ? t_ecc : t0, lr.t_end);
  if (!tr)
    return oom(err);
  if (squat) {
    _stance_sim_truth_event(tr, "ecc_start", t_ecc);
    _stance_sim_truth_event(tr, "hold_start", t_hold);
    _stance_sim_truth_event(tr, "hold_end", t0);
  }
  _stance_sim_truth_event(tr, "onset", t0);
  if (!squat) {
    if (i_uw)
      _stance_sim_truth_event(tr, "unweighting_end", _stance_sim_t(s, i_uw));
    if (pi.has_vzero)
      _stance_sim_truth_event(tr, "braking_end", _stance_sim_t(s, pi.i_vzero));
  }
  _stance_sim_truth_event(tr, "peak", _stance_sim_t(s, pi.i_peak));
  _stance_sim_truth_event(tr, "takeoff", t_to);
  _stance_sim_truth_event(tr, "landing", u_land * c->dt);

  unsigned has = STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT | STANCE_TRUTH_TOTAL;
  double wl = stance < 0 ? c->share[0] * c->W : (stance == 0 ? c->W : 0.0);
  _stance_sim_truth_force_metrics(s, tr, has, i0, i_from, i_to + 1, wl, c->W - wl);
  truth_flight(tr, c->g, v_to, t_to - t0);
  _stance_sim_truth_metric(tr, "time_to_takeoff", "s", STANCE_TRUTH_TOTAL, 0, 0, t_to - t0);
  _stance_sim_truth_metric(tr, "rsi_mod", "m/s", STANCE_TRUTH_TOTAL, 0, 0,
                           v_to * v_to / (2.0 * c->g) / (t_to - t0));
  _stance_sim_truth_metric(tr, "peak_power", "W", STANCE_TRUTH_TOTAL, 0, 0, pi.peak_power);
  _stance_sim_truth_metric(tr, "com_height_takeoff", "m", STANCE_TRUTH_TOTAL, 0, 0, y_to);
  if (squat) {
    _stance_sim_truth_metric(tr, "squat_depth", "m", STANCE_TRUTH_TOTAL, 0, 0, depth);
  } else {
    double fmin = f_tot(c, i_umin);
    _stance_sim_truth_metric(tr, "countermovement_depth", "m", STANCE_TRUTH_TOTAL, 0, 0, -pi.y_min);
    _stance_sim_truth_metric(tr, "unweighting_min_force", "N", STANCE_TRUTH_TOTAL, 0, 0, fmin);
    if (i_uw && pi.has_vzero) {
      _stance_sim_truth_metric(tr, "unweighting_duration", "s", STANCE_TRUTH_TOTAL, 0, 0,
                               (double)(i_uw - i0) * c->dt);
      _stance_sim_truth_metric(tr, "braking_duration", "s", STANCE_TRUTH_TOTAL, 0, 0,
                               ((double)pi.i_vzero - (double)i_uw) * c->dt);
      _stance_sim_truth_metric(tr, "propulsion_duration", "s", STANCE_TRUTH_TOTAL, 0, 0,
                               (double)(i_to - pi.i_vzero) * c->dt);
    }
  }
  truth_peak_offset(c, tr, &pi, stance < 0);
  truth_landing(tr, &lr, stance);
  return STANCE_OK;
}

/* Peak RFD of limb j of a CMJ/SJ design (independent of the takeoff time). */
static double
cmj_rfd(const Jctx *c, const CmjDesign *d, int j)
{
  CmjDesign t = *d;
  t.t_to = t.t_dip + t.l[j].t_rise + 0.3;
  Seg g = cmj_seg(c, &t, 0);
  return seg_rfd(c, &g, j);
}

static void
draw_jump_base(Jctx *c, StanceProtocol proto, JumpDraw *b)
{
  StanceSimRng *rng = &c->s->rng;
  memset(b, 0, sizeof *b);
  if (proto == STANCE_PROTO_SL_CMJ) {
    b->h = _stance_rng_range(rng, 0.14, 0.18);
    b->P = 2.1;
    b->fmin = _stance_rng_range(rng, 0.35, 0.50);
    b->t_dip = _stance_rng_range(rng, 0.24, 0.30);
    b->t_rise = _stance_rng_range(rng, 0.18, 0.24);
    b->land = _stance_rng_range(rng, 2.6, 3.4);
  } else if (proto == STANCE_PROTO_SJ) {
    b->h = _stance_rng_range(rng, 0.27, 0.34);
    b->P = 2.3;
    b->t_rise = _stance_rng_range(rng, 0.15, 0.20);
    b->land = _stance_rng_range(rng, 3.5, 4.5);
    b->h_toff = _stance_rng_range(rng, 0.08, 0.13);
    b->t_desc = _stance_rng_range(rng, 1.0, 1.4);
    b->t_hold = _stance_rng_range(rng, 1.2, 1.8);
  } else {
    b->h = _stance_rng_range(rng, 0.31, 0.39);
    /* Stronger athletes jump higher: the peak follows the height (the propulsion displacement is
     * about m g h / mean net force, so this keeps the countermovement depth realistic). */
    b->P = 2.45;
    b->fmin = _stance_rng_range(rng, 0.26, 0.40);
    b->t_dip = _stance_rng_range(rng, 0.31, 0.36);
    b->t_rise = _stance_rng_range(rng, 0.22, 0.27);
    b->land = _stance_rng_range(rng, 3.6, 4.8);
  }
  b->p = _stance_rng_range(rng, 6.0, 9.0);
  b->beta = _stance_rng_range(rng, 0.12, 0.28);
  if (proto != STANCE_PROTO_SJ)
    b->h_toff = proto == STANCE_PROTO_SL_CMJ ? _stance_rng_range(rng, 0.04, 0.09)
                                             : _stance_rng_range(rng, 0.06, 0.12);
  b->depth = proto == STANCE_PROTO_SL_CMJ ? _stance_rng_range(rng, 0.20, 0.28)
                                          : _stance_rng_range(rng, 0.29, 0.38);
}

/* Lowest COM (below standing, positive) of a complete design, from rest. */
static double
cmj_depth(const Jctx *c, const CmjDesign *d)
{
  Seg g = cmj_seg(c, d, 1);
  Body b = {0.0, 0.0, 0.0};
  double y_min = 0.0;
  for (size_t i = g.i0; i <= g.i1; i++) {
    body_step(c, &b, seg_f(c, &g, 0, i) + seg_f(c, &g, 1, i));
    y_min = fmin(y_min, b.y);
  }
  return -y_min;
}

/* Depth reached by the base jump with peak P (the full limb procedure: the weaker limb's rise
 * solved for its RFD deficit, its decline for its impulse deficit). */
static double
base_depth(const Jctx *c, bool squat, int stance, JumpDraw *b, double P)
{
  b->P = P;
  double v = sqrt(2.0 * c->g * b->h);
  CmjDesign d = cmj_design(c, b, squat, stance, 1.0);
  int imp = -1;
  if (stance < 0) {
    imp = c->weak;
    cmj_solve_rise(c, &d, c->weak, c->f_rfd * cmj_rfd(c, &d, 1 - c->weak));
  }
  if (squat) {
    cmj_search(c, &d, imp, c->f_imp, v);
    return cmj_takeoff_height(c, &d) - b->h_toff;
  }
  cmj_fit(c, &d, imp, v, b->h_toff);
  return cmj_depth(c, &d);
}

/* The athlete's base peak force: the one with which the base jump reaches the drawn depth. By
 * work-energy the propulsion displacement is about m g h / (mean net force), so for a given jump
 * height and takeoff height the depth fixes how hard the athlete pushes. The depth falls as P
 * rises; regula falsi (Illinois) within the published range of peaks. */
static void
solve_base_peak(const Jctx *c, bool squat, int stance, JumpDraw *b)
{
  double a = stance >= 0 ? 1.5 : 1.9, z = stance >= 0 ? 2.8 : 3.1;
  double fa = base_depth(c, squat, stance, b, a) - b->depth;
  double fz = base_depth(c, squat, stance, b, z) - b->depth;
  if (fa <= 0.0) { /* even the weakest push is shallow enough */
    b->P = a;
    return;
  }
  if (fz >= 0.0) {
    b->P = z;
    return;
  }
  int side = 0;
  double x = a;
  for (int it = 0; it < 12; it++) {
    x = (a * fz - z * fa) / (fz - fa);
    double fx = base_depth(c, squat, stance, b, x) - b->depth;
    if (fabs(fx) < 0.003)
      break;
    if (fx > 0.0) {
      a = x, fa = fx;
      if (side == -1)
        fz *= 0.5;
      side = -1;
    } else {
      z = x, fz = fx;
      if (side == 1)
        fa *= 0.5;
      side = 1;
    }
  }
  b->P = x;
}

static void
draw_jump_rep(Jctx *c, const JumpDraw *b, double fatigue, JumpDraw *r)
{
  *r = *b;
  r->h = b->h * vary(c, 0.03); /* unfatigued: fatigued reps solve their height (v_for_depth) */
  r->P = b->P * vary(c, 0.03) * fatigue;
  r->fmin = clampd(b->fmin * vary(c, 0.03), 0.15, 0.6);
  r->t_dip = b->t_dip * vary(c, 0.03);
  r->t_rise = b->t_rise * vary(c, 0.03);
  r->p = b->p * vary(c, 0.03);
  r->beta = b->beta * vary(c, 0.03);
  r->land = b->land * vary(c, 0.05);
  r->h_toff = b->h_toff * vary(c, 0.05);
  r->t_desc = b->t_desc * vary(c, 0.05);
  r->t_hold = b->t_hold * vary(c, 0.05);
}

static double
fatigue_factor(const Jctx *c, int k, int n)
{
  if (n < 2)
    return 1.0;
  return 1.0 - c->p->fatigue_pct / 100.0 * (double)k / (double)(n - 1);
}

/* A fatigued rep keeps the athlete's movement (depth and takeoff height) and loses height: the
 * takeoff velocity (at most v_max) with which design d0's lower forces reach `depth`. A higher
 * jump needs a longer push, hence a deeper countermovement (SJ: a deeper squat). */
static double
v_for_depth(const Jctx *c, const CmjDesign *d0, bool squat, double h_toff, double depth,
            double v_max)
{
  double lo = 0.3, hi = v_max;
  for (int it = 0; it < 12; it++) {
    double v = 0.5 * (lo + hi);
    CmjDesign d = *d0;
    double got;
    if (squat) {
      cmj_search(c, &d, -1, 1.0, v);
      got = cmj_takeoff_height(c, &d) - h_toff;
    } else {
      cmj_fit(c, &d, -1, v, h_toff);
      got = cmj_depth(c, &d);
    }
    if (got > depth)
      hi = v;
    else
      lo = v;
  }
  return 0.5 * (lo + hi);
}

static int
gen_from_still(Jctx *c, StanceProtocol proto, StanceError *err)
{
  const StanceSimParams *p = c->p;
  int n = p->reps > 0 ? p->reps : 3;
  bool sl = proto == STANCE_PROTO_SL_CMJ, squat = proto == STANCE_PROTO_SJ;
  int n_trials = sl && p->side == STANCE_SIDE_BOTH ? 2 * n : n;
  JumpDraw base, rep;
  draw_jump_base(c, proto, &base);
  solve_base_peak(c, squat, sl ? (p->side == STANCE_SIDE_RIGHT ? 1 : 0) : -1, &base);
  int r;
  if ((r = still(c, p->no_still ? 0.05 : _stance_rng_range(&c->s->rng, 2.2, 2.8), c->share[0],
                 false, true)) < 0)
    return oom(err);
  int count[2] = {0, 0};
  for (int t = 0; t < n_trials; t++) {
    int stance = -1, k = t;
    if (sl) {
      if (p->side == STANCE_SIDE_BOTH) {
        stance = t % 2;
        k = t / 2;
      } else {
        stance = p->side == STANCE_SIDE_LEFT ? 0 : 1;
      }
    }
    /* One set of draws per rep (shared by the left and right trial of a pair). */
    if (!sl || p->side != STANCE_SIDE_BOTH || t % 2 == 0)
      draw_jump_rep(c, &base, fatigue_factor(c, k, n), &rep);
    double v_target = sqrt(2.0 * c->g * rep.h);
    if (sl) {
      double one = stance == 0 ? 1.0 : 0.0;
      if ((r = shift(c, one, 0.4)) < 0 ||
          (r = still(c, 1.0 + 0.5 * _stance_rng_uniform(&c->s->rng), one, false, false)) < 0)
        return oom(err);
      CmjDesign d = cmj_design(c, &rep, false, stance, 1.0);
      if (p->fatigue_pct > 0.0)
        v_target = v_for_depth(c, &d, false, rep.h_toff, base.depth, 1.15 * v_target);
      if (stance == c->weak) {
        /* Against the stronger side's jump with the same draws. */
        CmjDesign strong = d;
        double v_s = cmj_solve(c, &strong, false, -1, v_target, rep.h_toff);
        double rfd_s = cmj_rfd(c, &strong, stance);
        double depth_s = cmj_depth(c, &strong);
        d = cmj_design(c, &rep, false, stance, c->f_force);
        cmj_solve_rise(c, &d, stance, c->f_rfd * rfd_s);
        v_target = c->f_imp * v_s;
        /* Same movement strategy: the weaker leg's decline fullness is solved so that it dips as
         * deep as the stronger leg (a weaker push needs longer or fuller force to rise as far). */
        double lo = 0.8, hi = 3.0;
        for (int it = 0; it < 10; it++) {
          double mid = 0.5 * (lo + hi);
          cmj_set_fullness(&d.l[stance], mid, d.l[stance].beta0);
          cmj_fit(c, &d, -1, v_target, rep.h_toff);
          if (cmj_depth(c, &d) > depth_s)
            lo = mid;
          else
            hi = mid;
        }
        cmj_set_fullness(&d.l[stance], 0.5 * (lo + hi), d.l[stance].beta0);
      }
      if ((r = jump_from_still(c, &d, -1, v_target, &rep, stance, err)) < 0)
        return r;
      if ((r = shift(c, c->share[0], 0.4)) < 0)
        return oom(err);
    } else {
      CmjDesign d = cmj_design(c, &rep, squat, -1, 1.0);
      int strong = 1 - c->weak;
      cmj_solve_rise(c, &d, c->weak, c->f_rfd * cmj_rfd(c, &d, strong));
      if (p->fatigue_pct > 0.0)
        v_target = v_for_depth(c, &d, squat, rep.h_toff, base.depth, 1.15 * v_target);
      if ((r = jump_from_still(c, &d, c->weak, v_target, &rep, -1, err)) < 0)
        return r;
    }
    count[stance < 0 ? 0 : stance]++;
    bool last = t == n_trials - 1;
    double rest = last ? 2.0 : _stance_rng_range(&c->s->rng, 3.0, 4.0);
    if ((r = still(c, rest, c->share[0], true, !last)) < 0)
      return oom(err);
  }
  unsigned has = STANCE_TRUTH_TOTAL;
  if (sl)
    has |= STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
  _stance_sim_truth_session_metric(c->s, "jump_count", "count", has, count[0], count[1], n_trials);
  return STANCE_OK;
}

/* ======================================================================================
 * Drop jumps
 * ====================================================================================== */

#define DJ_BOX_HEIGHT_M 0.30

typedef struct {
  double t_c, phi, gamma, h, land, amp, box_wait;
} DropDraw;

/* Bilateral hop/DJ design: the stronger limb carries amp, the weaker f_force x amp; the stronger
 * limb's rise time is phi x t_c0; the weaker's is solved for the RFD deficit at touchdown
 * u_land. */
static void
hop_bilateral_design(const Jctx *c, HopDesign *d, HopSplit *sp, double t_up, double gamma,
                     double u_land)
{
  memset(d, 0, sizeof *d);
  sp->strong = 1 - c->weak;
  sp->imp_limb = c->weak;
  sp->imp_ratio = c->f_imp;
  sp->fpk_ratio = c->f_force;
  for (int j = 0; j < 2; j++) {
    d->l[j].on = true;
    d->l[j].t_up = t_up;
    d->l[j].gamma = gamma;
  }
  hop_set_amp(d, sp, 3.0 * c->W); /* the RFD ratio does not depend on the amplitude */
  HopDesign t = *d;
  size_t i0 = (size_t)ceil(u_land);
  Seg g = hop_seg(&t, c, u_land, i0 + (size_t)ceil((t_up + 0.15) * c->rate));
  double rfd_s = seg_rfd(c, &g, sp->strong);
  hop_solve_rise(c, d, c->weak, u_land, c->f_rfd * rfd_s);
}

/* Records the truth of one reactive contact [i0, i_to] (touchdown at u_land, landing velocity
 * v_land) whose next landing is at u_next. */
static int
truth_contact(Jctx *c, const char *kind, int set, double u_land, size_t i0, size_t i_to,
              Body b_before, double v_land, double y_land, double u_next, int stance,
              StanceTruthTrial **out)
{
  StanceSimScene *s = c->s;
  double v_to = c->body.v;
  PathInfo pi = path_info(c, i0, i_to, b_before, i0);
  double t_land = u_land * c->dt, t_to = _stance_sim_t(s, i_to);
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, kind, t_land, u_next * c->dt);
  if (!tr)
    return STANCE_ENOMEM;
  tr->set = set;
  _stance_sim_truth_event(tr, "onset", t_land);
  if (pi.has_vzero)
    _stance_sim_truth_event(tr, "braking_end", _stance_sim_t(s, pi.i_vzero));
  _stance_sim_truth_event(tr, "peak", _stance_sim_t(s, pi.i_peak));
  _stance_sim_truth_event(tr, "takeoff", t_to);
  _stance_sim_truth_event(tr, "landing", u_next * c->dt);
  double wl = stance < 0 ? c->share[0] * c->W : (stance == 0 ? c->W : 0.0);
  _stance_sim_truth_force_metrics(s, tr,
                                  STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT | STANCE_TRUTH_TOTAL, i0,
                                  i0, i_to + 1, wl, c->W - wl);
  double tc = t_to - t_land, tf = 2.0 * v_to / c->g;
  truth_flight(tr, c->g, v_to, tc);
  _stance_sim_truth_metric(tr, "landing_velocity", "m/s", STANCE_TRUTH_TOTAL, 0, 0, v_land);
  _stance_sim_truth_metric(tr, "rsi", "m/s", STANCE_TRUTH_TOTAL, 0, 0, c->g * tf * tf / 8.0 / tc);
  double dy = y_land - pi.y_min;
  _stance_sim_truth_metric(tr, "com_displacement", "m", STANCE_TRUTH_TOTAL, 0, 0, dy);
  /* Dalleau et al. 2004 (sine-wave model from contact and flight times) and the true
   * Fmax / COM displacement of the simulated contact. */
  double k_dal = c->m * M_PI * (tf + tc) / (tc * tc * ((tf + tc) / M_PI - tc / 4.0));
  _stance_sim_truth_metric(tr, "leg_stiffness", "kN/m", STANCE_TRUTH_TOTAL, 0, 0, k_dal / 1000.0);
  if (dy > 0.0)
    _stance_sim_truth_metric(tr, "vertical_stiffness", "kN/m", STANCE_TRUTH_TOTAL, 0, 0,
                             f_tot(c, pi.i_peak) / dy / 1000.0);
  truth_peak_offset(c, tr, &pi, stance < 0);
  *out = tr;
  return STANCE_OK;
}

static int
gen_drop(Jctx *c, StanceError *err)
{
  const StanceSimParams *p = c->p;
  StanceSimScene *s = c->s;
  StanceSimRng *rng = &s->rng;
  int n = p->reps > 0 ? p->reps : 3;
  DropDraw base;
  base.t_c = _stance_rng_range(rng, 0.21, 0.25);
  base.phi = _stance_rng_range(rng, 0.40, 0.47);
  base.gamma = _stance_rng_range(rng, 1.4, 1.8);
  base.h = _stance_rng_range(rng, 0.28, 0.35);
  base.land = _stance_rng_range(rng, 3.6, 4.8);
  const double v_c = sqrt(2.0 * c->g * DJ_BOX_HEIGHT_M);
  double amp0 = 0.0;
  int r;
  if (!p->no_still) {
    if ((r = still(c, _stance_rng_range(rng, 2.2, 2.8), c->share[0], false, false)) < 0 ||
        (r = step_off(c)) < 0)
      return oom(err);
  }
  for (int k = 0; k < n; k++) {
    double t_c = base.t_c * vary(c, 0.03);
    double t_up = base.phi * base.t_c * vary(c, 0.03);
    double v_target = sqrt(2.0 * c->g * base.h * vary(c, 0.03));
    double a_var = vary(c, 0.03);
    double land = base.land * vary(c, 0.05);
    if ((r = _stance_sim_empty(s, _stance_rng_range(rng, 1.2, 1.8))) < 0)
      return oom(err);
    /* Touchdown exactly at the next sample, falling at v_c. */
    size_t i0 = s->n;
    c->body.a = -c->g;
    c->body.v = -v_c + c->g * c->dt;
    c->body.y = 0.5 * c->dt * (-c->body.v + v_c);
    Body b_before = c->body;
    HopDesign d;
    HopSplit sp;
    hop_bilateral_design(c, &d, &sp, t_up, base.gamma, (double)i0);
    size_t i_to;
    double v_to;
    if (k == 0) {
      i_to = i0 + (size_t)llround(t_c * c->rate);
      v_to = hop_solve_amp(c, &d, &sp, (double)i0, i_to, b_before, v_target);
      amp0 = d.l[sp.strong].fpk;
    } else {
      hop_set_amp(&d, &sp, amp0 * fatigue_factor(c, k, n) * a_var);
      i_to = hop_search(c, &d, &sp, (double)i0, b_before, v_target, &v_to);
      if (v_to < 0.5 * v_target)
        i_to = hop_feasible(c, &d, &sp, (double)i0, b_before, v_target, 1.4 * base.t_c, &v_to);
    }
    if (!(v_to > 0.05))
      return no_takeoff(err, k + 1, v_to);
    Seg g = hop_seg(&d, c, (double)i0, i_to);
    if ((r = seg_push(c, &g)) < 0)
      return oom(err);
    v_to = c->body.v;
    double u_land = (double)i_to + 2.0 * v_to / c->g * c->rate;
    StanceTruthTrial *tr;
    if ((r = truth_contact(c, "jump", 0, (double)i0, i0, i_to, b_before, v_c, 0.0, u_land, -1,
                           &tr)) < 0)
      return oom(err);
    _stance_sim_truth_metric(tr, "drop_height", "m", STANCE_TRUTH_TOTAL, 0, 0, DJ_BOX_HEIGHT_M);
    size_t idx = (size_t)(tr - s->truth->trials);
    LandResult lr;
    if ((r = land_and_recover(c, u_land, land, c->share[0], &lr)) < 0)
      return oom(err);
    tr = &s->truth->trials[idx];
    tr->end_s = lr.t_end;
    truth_landing(tr, &lr, -1);
    bool last = k == n - 1;
    if ((r = still(c, last ? 2.0 : _stance_rng_range(rng, 3.0, 4.0), c->share[0], true, false)) < 0)
      return oom(err);
    if (!last && (r = step_off(c)) < 0)
      return oom(err);
  }
  _stance_sim_truth_session_metric(s, "jump_count", "count", STANCE_TRUTH_TOTAL, 0, 0, n);
  return STANCE_OK;
}

/* ======================================================================================
 * Hop series: pogo (bilateral) and single-leg hops
 * ====================================================================================== */

typedef struct {
  double t_c0, t_f0, phi, gamma, land;
} HopBase;

typedef struct {
  double a, t_up, tf;
} HopRep;

/* One series of n hops on `stance` (-1 both feet). weak_side: a single-leg series on the weaker
 * limb. */
static int
hop_series(Jctx *c, int set, int stance, bool weak_side, const HopBase *hb, const HopRep *hr, int n,
           int *count, StanceError *err)
{
  StanceSimScene *s = c->s;
  int r;
  double one = stance == 0 ? 1.0 : 0.0;
  double still_share = stance < 0 ? c->share[0] : one;
  if (stance >= 0) {
    if ((r = shift(c, one, 0.4)) < 0 ||
        (r = still(c, 1.0 + 0.5 * _stance_rng_uniform(&s->rng), one, false, false)) < 0)
      return oom(err);
  }
  double vf = stance >= 0 && weak_side ? c->f_imp : 1.0; /* takeoff velocity factor */
  double v0 = 0.5 * c->g * hb->t_f0;

  /* Reference amplitude: the stronger limb's peak in a steady hop of t_c0 and t_f0. */
  HopDesign d;
  HopSplit sp = {-1, 1.0, 1.0, stance < 0 ? 1 - c->weak : stance};
  double amp0;
  {
    size_t ir = 1000;
    Body b = {-v0 + c->g * c->dt, 0.0, -c->g};
    if (stance < 0) {
      hop_bilateral_design(c, &d, &sp, hb->phi * hb->t_c0, hb->gamma, (double)ir);
    } else {
      memset(&d, 0, sizeof d);
      d.l[stance].on = true;
      d.l[stance].t_up = hb->phi * hb->t_c0;
      d.l[stance].gamma = hb->gamma;
    }
    hop_solve_amp(c, &d, &sp, (double)ir, ir + (size_t)llround(hb->t_c0 * c->rate), b, v0);
    amp0 = d.l[sp.strong].fpk;
  }

  /* The first takeoff: a small countermovement from standing (not counted as a hop). */
  {
    JumpDraw mini = {0};
    mini.fmin = 0.6;
    mini.t_dip = 0.18;
    mini.t_rise = 0.15;
    mini.P = 1.9;
    mini.p = 4.0;
    CmjDesign md;
    memset(&md, 0, sizeof md);
    md.t_dip = mini.t_dip;
    for (int j = 0; j < 2; j++) {
      CmjLimb *l = &md.l[j];
      l->on = stance < 0 || stance == j;
      if (!l->on)
        continue;
      double w = stance < 0 ? c->share[j] : 1.0;
      l->base = w * c->W;
      l->fmin = mini.fmin * l->base;
      l->fpk = mini.P * l->base;
      l->t_rise = mini.t_rise;
      l->p = mini.p;
    }
    cmj_search(c, &md, -1, 1.0, vf * v0 * hr[0].tf / hb->t_f0);
    Seg g = cmj_seg(c, &md, s->n);
    if ((r = seg_push(c, &g)) < 0)
      return oom(err);
  }
  size_t i_to_prev = s->n - 1;
  double v_prev = c->body.v, y_prev = c->body.y;
  for (int k = 0; k < n; k++) {
    double u_land = (double)i_to_prev + 2.0 * v_prev / c->g * c->rate;
    size_t i0 = (size_t)ceil(u_land);
    Body b_before = body_after_flight(c, i0);
    double t_up = hr[k].t_up;
    double amp = amp0 * fatigue_factor(c, k, n) * hr[k].a;
    if (stance < 0) {
      hop_bilateral_design(c, &d, &sp, t_up, hb->gamma, u_land);
      hop_set_amp(&d, &sp, amp);
    } else {
      memset(&d, 0, sizeof d);
      d.l[stance].on = true;
      d.l[stance].t_up = t_up;
      d.l[stance].gamma = hb->gamma;
      d.l[stance].fpk = amp;
      if (weak_side) {
        /* The weaker leg: f_force x the peak, its rise solved against the stronger leg's RFD
         * at the same touchdown phase. */
        HopDesign st = d;
        size_t it = i0 + (size_t)ceil((t_up + 0.15) * c->rate);
        Seg gs = hop_seg(&st, c, u_land, it);
        double rfd_s = seg_rfd(c, &gs, stance);
        d.l[stance].fpk = amp * c->f_force;
        hop_solve_rise(c, &d, stance, u_land, c->f_rfd * rfd_s);
      }
      sp.fpk_ratio = 1.0;
      sp.imp_limb = -1;
      sp.strong = stance;
    }
    double v_target = vf * 0.5 * c->g * hr[k].tf, v_to;
    size_t i_to = hop_search(c, &d, &sp, u_land, b_before, v_target, &v_to);
    if (v_to < 0.5 * v_target)
      i_to = hop_feasible(c, &d, &sp, u_land, b_before, v_target, 1.6 * hb->t_c0, &v_to);
    if (!(v_to > 0.05))
      return no_takeoff(err, k + 1, v_to);
    Seg g = hop_seg(&d, c, u_land, i_to);
    if ((r = seg_push(c, &g)) < 0)
      return oom(err);
    v_to = c->body.v;
    double u_next = (double)i_to + 2.0 * v_to / c->g * c->rate;
    StanceTruthTrial *tr;
    if ((r = truth_contact(c, "hop", set, u_land, i0, i_to, b_before, v_prev, y_prev, u_next,
                           stance, &tr)) < 0)
      return oom(err);
    i_to_prev = i_to;
    v_prev = v_to;
    y_prev = c->body.y;
    count[stance < 0 ? 0 : stance]++;
  }
  LandResult lr;
  double u_land = (double)i_to_prev + 2.0 * v_prev / c->g * c->rate;
  if ((r = land_and_recover(c, u_land, hb->land, still_share, &lr)) < 0)
    return oom(err);
  if (stance >= 0 && (r = shift(c, c->share[0], 0.4)) < 0)
    return oom(err);
  return STANCE_OK;
}

static int
gen_hops(Jctx *c, StanceProtocol proto, StanceError *err)
{
  const StanceSimParams *p = c->p;
  StanceSimRng *rng = &c->s->rng;
  int n = p->reps > 0 ? p->reps : 10;
  bool pogo = proto == STANCE_PROTO_POGO;
  HopBase hb;
  hb.t_c0 = pogo ? _stance_rng_range(rng, 0.18, 0.22) : _stance_rng_range(rng, 0.25, 0.29);
  hb.t_f0 = pogo ? _stance_rng_range(rng, 0.30, 0.36) : _stance_rng_range(rng, 0.22, 0.27);
  hb.phi = _stance_rng_range(rng, 0.42, 0.48);
  hb.gamma = _stance_rng_range(rng, 1.4, 1.8);
  hb.land = pogo ? _stance_rng_range(rng, 3.0, 3.8) : _stance_rng_range(rng, 2.6, 3.2);
  HopRep *hr = malloc((size_t)n * sizeof *hr);
  if (!hr)
    return oom(err);
  for (int k = 0; k < n; k++) {
    hr[k].a = vary(c, 0.025);
    hr[k].t_up = hb.phi * hb.t_c0 * vary(c, 0.03);
    hr[k].tf = hb.t_f0 * vary(c, 0.025);
  }
  int r, count[2] = {0, 0};
  int stances[2], n_series = 1;
  if (pogo)
    stances[0] = -1;
  else if (p->side == STANCE_SIDE_BOTH)
    stances[0] = 0, stances[1] = 1, n_series = 2;
  else
    stances[0] = p->side == STANCE_SIDE_LEFT ? 0 : 1;
  if ((r = still(c, p->no_still ? 0.05 : _stance_rng_range(rng, 2.2, 2.8), c->share[0], false,
                 true)) < 0) {
    free(hr);
    return oom(err);
  }
  for (int k = 0; k < n_series && r >= 0; k++) {
    r = hop_series(c, k + 1, stances[k], stances[k] == c->weak, &hb, hr, n, count, err);
    if (r >= 0) {
      bool last = k == n_series - 1;
      r = still(c, last ? 2.0 : _stance_rng_range(rng, 3.0, 4.0), c->share[0], true, !last);
      if (r < 0)
        r = oom(err);
    }
  }
  free(hr);
  if (r < 0)
    return r;
  unsigned has = STANCE_TRUTH_TOTAL;
  if (!pogo)
    has |= STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
  _stance_sim_truth_session_metric(c->s, "hop_count", "count", has, count[0], count[1],
                                   count[0] + count[1]);
  return STANCE_OK;
}

/* ======================================================================================
 * Entry
 * ====================================================================================== */

int
_stance_sim_gen_jumps(StanceSimScene *s, StanceError *err)
{
  StanceProtocol proto = s->p->protocol;
  switch (proto) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_CMJ:
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: break;
  default:
    return stance_error_set(err, STANCE_EINVAL, "protocol '%s' is not one of the jumps generator's",
                            stance_protocol_name(s->p->protocol));
  }
  Jctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.p = s->p;
  c.g = s->g;
  c.m = s->m_body + s->m_load;
  c.W = _stance_sim_weight(s);
  c.dt = s->dt;
  c.rate = s->rate_hz;
  c.share[0] = _stance_sim_still_share_left(s->p);
  c.share[1] = 1.0 - c.share[0];
  c.weak = s->p->weaker == STANCE_SIDE_LEFT ? 0 : 1;
  c.f_force = _stance_sim_weak_factor(s->p->asym_force_pct);
  c.f_rfd = _stance_sim_weak_factor(s->p->asym_rfd_pct);
  c.f_imp = _stance_sim_weak_factor(s->p->asym_impulse_pct);
  if (!(c.m > 0.0) || !(c.g > 0.0) || !(c.rate > 0.0))
    return stance_error_set(err, STANCE_EINVAL,
                            "jump simulation needs a positive mass, gravity and rate (got %g kg, "
                            "%g m/s2, %g Hz)",
                            c.m, c.g, c.rate);
  switch (proto) {
  case STANCE_PROTO_DJ: return gen_drop(&c, err);
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: return gen_hops(&c, proto, err);
  default: return gen_from_still(&c, proto, err);
  }
}
