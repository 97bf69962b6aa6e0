/* stance-sim-strength.c: simulated isometric pulls and squats, split squat, lunge, step-up,
 * single-leg squat and RDL, barbell back squat and deadlift sets.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The models (docs/simulator.md, "Strength protocols", has the formulas and the truth metrics):
 *
 * - Every dynamic rep is point-mass kinematics of the carried system (body, plus the bar while it
 *   is held): the centre of mass (COM) moves along an analytic path z(t) that starts and ends at
 *   rest at the same height, and the total vertical force is F = m (g + z''). The net impulse of a
 *   rep, the integral of F - m g, is therefore m (v_end - v_start) = 0 by construction.
 *     eccentric (down D in Te): a smooth speed-up (velocity smoothstep over ta = 0.3 Te, force
 *       below weight), an optional cruise at constant speed (force = weight), and braking whose
 *       acceleration rises smoothly to a_b at the bottom (force above weight at the reversal);
 *       or, where the movement ends at rest (deadlift lowering, step-down, RDL), braking with a
 *       smoothstep velocity so the force returns to weight.
 *     concentric (up D in Tc): velocity v(tau) = tau (1 - tau)^2 (alpha + beta tau), tau = t / Tc,
 *       alpha = a_b Tc (continuous with the bottom reversal), beta = 30 (D / Tc - alpha / 12) (it
 *       covers D); the acceleration peaks at a_pk early in the ascent and the force falls below
 *       weight as the COM decelerates into the top. Tc is solved so that the peak is a_pk.
 *   The first rep of a set takes its peak from the tempo (a_pk = kappa D / Tc^2 with Tc the
 *   nominal concentric share of the tempo); fatigue lowers a_pk, the peak force above system
 *   weight, linearly across the set, which lengthens the ascent (velocity loss) by itself.
 * - Load sharing between the plates: a static share of the weight (with a slow +-1 % wobble)
 *   plus a share phi of the excess force F - W. Asymmetry: the weaker limb's share of the excess
 *   is scaled by (1 - asym_force), its share of the concentric force rise by (1 - asym_rfd)
 *   (phi moves between the bottom and the concentric peak to produce it), and its static share by
 *   (1 - asym_force / 2) in bilateral stances (the simulator's common rule) or (1 - asym_force)
 *   in split stances, where the front leg chooses how much it takes.
 * - Isometrics: per-limb force = pre-tension share + excess * shape(t), shape a Weibull rise
 *   (0-100 ms RFD set per limb) to 80-88 % of the excess, a slow creep to the peak at 1.5-3.5 s, a
 *   small early overshoot, tremor, and a slight decline to the end of the hold.
 *
 * Randomness: all athlete draws come from scene->rng in a fixed order, so the same seed gives the
 * same athlete; draws never depend on the asymmetry or fatigue values, so changing those changes
 * only what they model. Floating-point contraction is off (as in stance-sim.c) so that x86-64 and
 * aarch64 compute the same scene.
 *
 * Threads: reentrant; all state lives in the scene and the Gen context on the caller's stack.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "stance-sim-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    int _r = (expr);                                                                               \
    if (_r < 0)                                                                                    \
      return _r;                                                                                   \
  } while (0)

/* ======================================================================================
 * Small helpers
 * ====================================================================================== */

static double
clampd(double x, double lo, double hi)
{
  return x < lo ? lo : (x > hi ? hi : x);
}

/* Room for the load-split wobble: 1 for an even split, 0 on one leg. */
static double
split_room(double share)
{
  return clampd(2.0 * fmin(share, 1.0 - share), 0.0, 1.0);
}

/* ======================================================================================
 * Kinematic primitives (COM path of one movement; z up, metres, seconds)
 * ====================================================================================== */

enum { MV_ECC = 0, MV_CON = 1 };

typedef struct {
  int kind;
  double sign; /* +1 as named (ECC goes down, CON goes up), -1 mirrored */
  double dur;  /* s */
  double d;    /* displacement magnitude, m */
  /* ECC: speed-up ta, cruise tcr, braking tb, cruise speed v, braking kind k (1: into a reversal,
   * 0: to a stop) */
  double ta, tcr, tb, v, k;
  /* CON: v(tau) = tau (1 - tau)^2 (alpha + beta tau) */
  double alpha, beta;
} Move;

/* Fraction of the eccentric spent speeding up. */
#define ECC_FA 0.3

/* ECC into a reversal: the braking acceleration rises smoothly (smoothstep) from 0 to ab at the
 * bottom, so braking lasts tb = 2 V / ab and covers 0.7 V tb. The lowest ab reachable in te (no
 * cruise) is 2 D / (te^2 c); when asked for less, the descent is lengthened so that ab is met
 * exactly (a weaker or tired athlete lowers more slowly). */
static void
ecc_setup_reversal(Move *m, double d, double te, double ab)
{
  memset(m, 0, sizeof *m);
  m->kind = MV_ECC;
  m->sign = 1.0;
  m->d = d;
  m->k = 1.0;
  const double fa = ECC_FA, cb = 0.7;
  const double c = (1.0 - fa) * (fa / 2.0 + cb * (1.0 - fa));
  if (ab < 2.0 * d / (te * te * c))
    te = sqrt(2.0 * d / (ab * c));
  double ta = fa * te, h = te - ta / 2.0;
  /* D = V (te - ta/2) - 2 (1 - cb) V^2 / ab with tb = 2 V / ab: the smaller root keeps a cruise. */
  double qa = 2.0 * (1.0 - cb) / ab;
  double disc = h * h - 4.0 * qa * d;
  double v = (h - sqrt(fmax(disc, 0.0))) / (2.0 * qa);
  double tb = 2.0 * v / ab;
  double tcr = te - ta - tb;
  if (tcr < 0.0) {
    tcr = 0.0;
    tb = te - ta;
    v = d / (ta / 2.0 + cb * tb);
  }
  m->ta = ta;
  m->tcr = tcr;
  m->tb = tb;
  m->v = v;
  m->dur = ta + tcr + tb;
}

/* ECC that ends at rest (k = 0): speed-up fa te, cruise, braking fb te, both with smoothstep
 * velocity changes (the force returns to weight at the end). */
static void
ecc_setup_stop(Move *m, double d, double te, double fa, double fb)
{
  memset(m, 0, sizeof *m);
  m->kind = MV_ECC;
  m->sign = 1.0;
  m->d = d;
  m->k = 0.0;
  m->ta = fa * te;
  m->tb = fb * te;
  m->tcr = te - m->ta - m->tb;
  m->v = d / (m->ta / 2.0 + m->tcr + m->tb / 2.0);
  m->dur = te;
}

static void
con_setup(Move *m, double d, double tc, double ab)
{
  memset(m, 0, sizeof *m);
  m->kind = MV_CON;
  m->sign = 1.0;
  m->d = d;
  m->dur = tc;
  m->alpha = ab * tc;
  m->beta = 30.0 * (d / tc - m->alpha / 12.0);
}

/* CON acceleration at tau: (alpha + (2b - 4a) tau + (3a - 6b) tau^2 + 4 b tau^3) / Tc. */
static double
con_acc_tau(const Move *m, double tau)
{
  double a = m->alpha, b = m->beta;
  return (a + (2.0 * b - 4.0 * a) * tau + (3.0 * a - 6.0 * b) * tau * tau +
          4.0 * b * tau * tau * tau) /
         m->dur;
}

/* The largest CON acceleration and where it is (tau), from the cubic's stationary points. */
static double
con_peak(const Move *m, double *tau_pk)
{
  double a = m->alpha, b = m->beta;
  double cand[4] = {0.0, 1.0, -1.0, -1.0};
  /* d/dtau: (2b - 4a) + 2 (3a - 6b) tau + 12 b tau^2 */
  double qa = 12.0 * b, qb = 2.0 * (3.0 * a - 6.0 * b), qc = 2.0 * b - 4.0 * a;
  if (fabs(qa) > 1e-12) {
    double disc = qb * qb - 4.0 * qa * qc;
    if (disc >= 0.0) {
      double sq = sqrt(disc);
      cand[2] = (-qb - sq) / (2.0 * qa);
      cand[3] = (-qb + sq) / (2.0 * qa);
    }
  } else if (fabs(qb) > 1e-12) {
    cand[2] = -qc / qb;
  }
  double best = -INFINITY, best_tau = 0.0;
  for (int k = 0; k < 4; k++) {
    if (cand[k] < 0.0 || cand[k] > 1.0)
      continue;
    double acc = con_acc_tau(m, cand[k]);
    if (acc > best) {
      best = acc;
      best_tau = cand[k];
    }
  }
  if (tau_pk)
    *tau_pk = best_tau;
  return best;
}

/* Solves the CON duration so that the peak acceleration is apk (> ab). Valid CON paths (velocity
 * never negative) need ab <= 20 D / Tc^2; over (0, sqrt(20 D / ab)] the peak falls from infinity
 * to ab, so bisection finds the one solution. */
static void
con_solve(Move *m, double d, double ab, double apk)
{
  if (apk < ab * 1.02)
    apk = ab * 1.02;
  double lo = 0.02, hi = ab > 0.0 ? sqrt(20.0 * d / ab) : 60.0;
  for (int it = 0; it < 100; it++) {
    double mid = 0.5 * (lo + hi);
    con_setup(m, d, mid, ab);
    if (con_peak(m, NULL) > apk)
      lo = mid;
    else
      hi = mid;
  }
  con_setup(m, d, 0.5 * (lo + hi), ab);
}

/* kappa(rho): the peak acceleration of a CON of 1 m in 1 s whose reversal acceleration is rho
 * times its peak. A first rep of displacement D and ascent Tc peaks at kappa D / Tc^2. */
static double
con_kappa(double rho)
{
  double lo = 1e-3, hi = 20.0 / rho;
  Move m;
  for (int it = 0; it < 100; it++) {
    double a = 0.5 * (lo + hi);
    con_setup(&m, 1.0, 1.0, rho * a);
    if (con_peak(&m, NULL) > a)
      lo = a;
    else
      hi = a;
  }
  return 0.5 * (lo + hi);
}

/* Acceleration, velocity and displacement of a move at t (clamped to [0, dur]); z up. */
static void
move_eval(const Move *m, double t, double *acc, double *vel, double *disp)
{
  double a = 0.0, v = 0.0, z = 0.0;
  if (t < 0.0)
    t = 0.0;
  if (m->kind == MV_CON) {
    double tau = clampd(t / m->dur, 0.0, 1.0);
    double al = m->alpha, be = m->beta, om = 1.0 - tau;
    a = t >= m->dur ? 0.0 : con_acc_tau(m, tau);
    v = tau * om * om * (al + be * tau);
    double t2 = tau * tau, t3 = t2 * tau, t4 = t3 * tau, t5 = t4 * tau;
    z = m->dur *
        (al * (t2 / 2.0 - 2.0 * t3 / 3.0 + t4 / 4.0) + be * (t3 / 3.0 - t4 / 2.0 + t5 / 5.0));
  } else {
    double V = m->v, k = m->k;
    if (t < m->ta) {
      double u = t / m->ta;
      a = -V * 6.0 * u * (1.0 - u) / m->ta;
      v = -V * u * u * (3.0 - 2.0 * u);
      z = -V * m->ta * (u * u * u - u * u * u * u / 2.0);
    } else if (t < m->ta + m->tcr) {
      a = 0.0;
      v = -V;
      z = -V * m->ta / 2.0 - V * (t - m->ta);
    } else {
      double u = clampd((t - m->ta - m->tcr) / m->tb, 0.0, 1.0);
      double z0 = -V * (m->ta / 2.0 + m->tcr);
      double u2 = u * u, u3 = u2 * u, u4 = u3 * u, u5 = u4 * u;
      if (k > 0.5) {
        /* reversal: a = 2 V S(u) / tb, v = -V (1 - 2 u^3 + u^4) */
        a = t >= m->dur ? 0.0 : 2.0 * V * u2 * (3.0 - 2.0 * u) / m->tb;
        v = -V * (1.0 - 2.0 * u3 + u4);
        z = z0 - V * m->tb * (u - u4 / 2.0 + u5 / 5.0);
      } else {
        /* stop: v = -V (1 - S(u)) */
        a = t >= m->dur ? 0.0 : 6.0 * V * u * (1.0 - u) / m->tb;
        v = -V * (1.0 - u2 * (3.0 - 2.0 * u));
        z = z0 - V * m->tb * (u - u3 + u4 / 2.0);
      }
    }
  }
  if (acc)
    *acc = m->sign * a;
  if (vel)
    *vel = m->sign * v;
  if (disp)
    *disp = m->sign * z;
}

/* One rep: two moves with an optional pause between them. Squat-type reps go down then up
 * (the force is continuous through the reversal); rise-type reps (step-up, deadlift) go up, pause
 * at the top, then come down and stop. Times are relative to the rep start. */
typedef struct {
  Move first, second;
  bool rise_first;
  double gap;     /* pause between the moves, s */
  double dur;     /* whole rep, s */
  double t_ecc;   /* start of the eccentric move */
  double t_brake; /* start of the eccentric braking */
  double t_con;   /* start of the concentric move */
  double t_con_end;
  double t_peak;  /* concentric acceleration peak */
  double apk, ab; /* peak and reversal accelerations, m/s^2 */
  double vpk;     /* peak concentric velocity, m/s */
  double d;       /* COM displacement, m */
} Rep;

static void
rep_finish(Rep *r)
{
  r->dur = r->first.dur + r->gap + r->second.dur;
  const Move *con = r->rise_first ? &r->first : &r->second;
  const Move *ecc = r->rise_first ? &r->second : &r->first;
  r->t_con = r->rise_first ? 0.0 : r->first.dur + r->gap;
  r->t_ecc = r->rise_first ? r->first.dur + r->gap : 0.0;
  r->t_brake = r->t_ecc + ecc->ta + ecc->tcr;
  r->t_con_end = r->t_con + con->dur;
  double tau;
  r->apk = con_peak(con, &tau);
  r->t_peak = r->t_con + tau * con->dur;
  /* Peak velocity of the CON polynomial: sampled finely (it is smooth). */
  double vmax = 0.0;
  for (int k = 0; k <= 400; k++) {
    double v;
    move_eval(con, con->dur * k / 400.0, NULL, &v, NULL);
    vmax = fmax(vmax, v);
  }
  r->vpk = vmax;
  r->d = con->d;
}

static void
rep_eval(const Rep *r, double t, double *acc, double *vel, double *disp)
{
  double a = 0.0, v = 0.0, z = 0.0;
  if (t < r->first.dur) {
    move_eval(&r->first, t, &a, &v, &z);
  } else if (t < r->first.dur + r->gap) {
    move_eval(&r->first, r->first.dur, NULL, NULL, &z);
  } else {
    double z1;
    move_eval(&r->first, r->first.dur, NULL, NULL, &z1);
    move_eval(&r->second, t - r->first.dur - r->gap, &a, &v, &z);
    z += z1;
  }
  if (acc)
    *acc = a;
  if (vel)
    *vel = v;
  if (disp)
    *disp = z;
}

/* The most negative COM acceleration of a rep (sampled finely; the shapes are smooth). */
static double
rep_min_acc(const Rep *r)
{
  double mn = 0.0;
  for (int k = 0; k <= 800; k++) {
    double a;
    rep_eval(r, r->dur * k / 800.0, &a, NULL, NULL);
    mn = fmin(mn, a);
  }
  return mn;
}

/* Tempos too fast for the depth would need the COM to fall faster than the feet can unload:
 * such a rep is slowed (descent x 1.1, peak / 1.21) until its acceleration stays above -0.7 g,
 * so the plates never see less than 30 % of the weight from a rep. */
#define REP_MIN_ACC (-0.7 * STANCE_GRAVITY)

static void
rep_plan_squat_once(Rep *r, double d, double te, double apk, double rho)
{
  memset(r, 0, sizeof *r);
  r->ab = rho * apk;
  ecc_setup_reversal(&r->first, d, te, r->ab);
  con_solve(&r->second, d, r->ab, apk);
  r->rise_first = false;
  r->gap = 0.0;
  rep_finish(r);
}

/* Squat-type rep: down d in te into a reversal at ab = rho apk, up with peak apk. */
static void
rep_plan_squat(Rep *r, double d, double te, double apk, double rho)
{
  rep_plan_squat_once(r, d, te, apk, rho);
  for (int it = 0; it < 40 && rep_min_acc(r) < REP_MIN_ACC; it++) {
    te *= 1.1;
    apk /= 1.21;
    rep_plan_squat_once(r, d, te, apk, rho);
  }
}

/* A descent to rest (ECC stop, fa 0.3, fb 0.4) brakes with at most 1.5 V / tb; it is lengthened
 * when needed so that this stays below 0.8 apk: the rep's largest force is its concentric peak
 * (a tired athlete lowers more slowly rather than braking harder than they can push). */
static double
ecc_stop_time(double d, double te, double apk)
{
  const double fa = 0.3, fb = 0.4, c = 1.0 - fa / 2.0 - fb / 2.0;
  double te_min = sqrt(1.5 * d / (fb * c * 0.8 * apk));
  return fmax(te, te_min);
}

/* Squat-type rep with a pause at the bottom (single-leg RDL): down d in te to rest, hold gap,
 * up from rest with peak apk. */
static void
rep_plan_paused(Rep *r, double d, double te, double apk, double gap)
{
  for (int it = 0; it < 40; it++) {
    memset(r, 0, sizeof *r);
    ecc_setup_stop(&r->first, d, ecc_stop_time(d, te, apk), 0.3, 0.4);
    con_solve(&r->second, d, 0.0, apk);
    r->rise_first = false;
    r->gap = gap;
    rep_finish(r);
    if (rep_min_acc(r) >= REP_MIN_ACC)
      break;
    te *= 1.1;
    apk /= 1.21;
  }
}

/* Rise-type rep: up d from rest with peak apk, pause gap at the top, down d in te to rest. */
static void
rep_plan_rise(Rep *r, double d, double apk, double gap, double te)
{
  for (int it = 0; it < 40; it++) {
    memset(r, 0, sizeof *r);
    con_solve(&r->first, d, 0.0, apk);
    ecc_setup_stop(&r->second, d, ecc_stop_time(d, te, apk), 0.3, 0.4);
    r->rise_first = true;
    r->gap = gap;
    rep_finish(r);
    if (rep_min_acc(r) >= REP_MIN_ACC)
      break;
    te *= 1.1;
    apk /= 1.21;
  }
}

/* ======================================================================================
 * The generator context: load-split wobble, single-leg balance sway, emitting samples
 * ====================================================================================== */

typedef struct {
  StanceSimScene *s;
  double wob_w[2], wob_ph[2];       /* load-split wobble (rad/s, rad) */
  double bal_w[2][3], bal_ph[2][3]; /* single-leg balance sway per axis (x, y) */
  double bal_a[2][3];               /* mm */
  double cv;                        /* rep-to-rep coefficient of variation */
  /* Session bookkeeping */
  int rep_count;
  int set_count;
} Gen;

static void
gen_init(Gen *g, StanceSimScene *s)
{
  memset(g, 0, sizeof *g);
  g->s = s;
  StanceSimRng *r = &s->rng;
  g->wob_w[0] = 2.0 * M_PI * _stance_rng_range(r, 0.12, 0.25);
  g->wob_w[1] = 2.0 * M_PI * _stance_rng_range(r, 0.35, 0.70);
  g->wob_ph[0] = _stance_rng_range(r, 0.0, 2.0 * M_PI);
  g->wob_ph[1] = _stance_rng_range(r, 0.0, 2.0 * M_PI);
  /* One-legged stance sways more than two-legged: about 2.5 mm ML and 3.3 mm AP RMS more. */
  static const double f0[3] = {0.35, 0.8, 1.6};
  static const double a0[2][3] = {{3.0, 1.6, 0.6}, {4.0, 2.2, 0.8}};
  for (int ax = 0; ax < 2; ax++)
    for (int k = 0; k < 3; k++) {
      g->bal_w[ax][k] = 2.0 * M_PI * f0[k] * _stance_rng_range(r, 0.8, 1.25);
      g->bal_ph[ax][k] = _stance_rng_range(r, 0.0, 2.0 * M_PI);
      g->bal_a[ax][k] = a0[ax][k];
    }
  g->cv = _stance_rng_range(r, 0.02, 0.04);
}

/* Left share of the static load at absolute time t: base plus a +-1 % wobble (two sinusoids
 * below 1 Hz, a pure function of time, so it is continuous across phases), shrinking to nothing
 * towards a one-legged stance so an unloaded plate stays at exactly 0 N. */
static double
share_wob(const Gen *g, double base, double t)
{
  double w = 0.6 * sin(g->wob_w[0] * t + g->wob_ph[0]) + 0.4 * sin(g->wob_w[1] * t + g->wob_ph[1]);
  return clampd(base + 0.01 * split_room(base) * w, 0.0, 1.0);
}

/* Appends one sample: the forces, each foot's default CoP with the simulator's sway (through
 * _stance_sim_push), the movement's CoP shifts d = (dx_left, dy_left, dx_right, dy_right), and
 * extra one-legged balance sway on the plate that carries the load when base_left nears 0 or 1. */
static int
emit(Gen *g, double fl, double fr, double base_left, const double *d)
{
  StanceSimScene *s = g->s;
  double t = _stance_sim_t(s, s->n);
  TRY(_stance_sim_push(s, fmax(fl, 0.0), fmax(fr, 0.0)));
  size_t i = s->n - 1;
  if (d) {
    s->cx[0][i] += d[0];
    s->cy[0][i] += d[1];
    s->cx[1][i] += d[2];
    s->cy[1][i] += d[3];
  }
  double lam = 1.0 - split_room(base_left);
  if (lam > 0.0) {
    int pl = base_left >= 0.5 ? 0 : 1;
    for (int ax = 0; ax < 2; ax++) {
      double v = 0.0;
      for (int k = 0; k < 3; k++)
        v += g->bal_a[ax][k] * sin(g->bal_w[ax][k] * t + g->bal_ph[ax][k]);
      if (ax == 0)
        s->cx[pl][i] += lam * v;
      else
        s->cy[pl][i] += lam * v;
    }
  }
  return STANCE_OK;
}

/* Still standing for `seconds` with the static left share `base` of the current weight. */
static int
still(Gen *g, double seconds, double base)
{
  StanceSimScene *s = g->s;
  double W = _stance_sim_weight(s);
  size_t n = seconds > 0.0 ? (size_t)llround(seconds * s->rate_hz) : 0;
  for (size_t k = 0; k < n; k++) {
    double sh = share_wob(g, base, _stance_sim_t(s, s->n));
    TRY(emit(g, sh * W, (1.0 - sh) * W, base, NULL));
  }
  return STANCE_OK;
}

/* Shifts the static share from `from` to `to` (smoothstep) while standing still. */
static int
shift(Gen *g, double seconds, double from, double to)
{
  StanceSimScene *s = g->s;
  double W = _stance_sim_weight(s);
  size_t n = (size_t)llround(seconds * s->rate_hz);
  for (size_t k = 0; k < n; k++) {
    double base = from + (to - from) * _stance_smoothstep((double)(k + 1) / (double)n);
    double sh = share_wob(g, base, _stance_sim_t(s, s->n));
    TRY(emit(g, sh * W, (1.0 - sh) * W, base, NULL));
  }
  return STANCE_OK;
}

/* Takes up (dm > 0) or puts down (dm < 0) an external load while standing still: the total goes
 * from W to W + dm g (smoothstep); the scene's carried load is updated at the end. */
static int
load_ramp(Gen *g, double seconds, double base, double dm)
{
  StanceSimScene *s = g->s;
  double W0 = _stance_sim_weight(s);
  size_t n = (size_t)llround(seconds * s->rate_hz);
  for (size_t k = 0; k < n; k++) {
    double W = W0 + dm * s->g * _stance_smoothstep((double)(k + 1) / (double)n);
    double sh = share_wob(g, base, _stance_sim_t(s, s->n));
    TRY(emit(g, sh * W, (1.0 - sh) * W, base, NULL));
  }
  s->m_load += dm;
  if (s->m_load < 1e-9)
    s->m_load = 0.0;
  return STANCE_OK;
}

/* ======================================================================================
 * Load split during a rep
 * ====================================================================================== */

typedef enum {
  SPLIT_PHI,     /* F_left = share(t) W + phi(t) (F - W) */
  SPLIT_CONTACT, /* F_left = share(t) F, share(t) following foot contacts (knots) */
} SplitMode;

#define SPLIT_MAX_KNOTS 10

typedef struct {
  SplitMode mode;
  /* PHI: static left share blended from base0 to base1 over the first t_blend s of the rep */
  double base0, base1, t_blend;
  double phiF, phi0; /* left share of the excess force (at the peak, at the reversal) */
  /* CONTACT: left share at knot times, smoothstep between consecutive knots */
  int n_knots;
  double kt[SPLIT_MAX_KNOTS], ks[SPLIT_MAX_KNOTS];
} Split;

static void
split_knot(Split *sp, double t, double share)
{
  if (sp->n_knots < SPLIT_MAX_KNOTS) {
    sp->kt[sp->n_knots] = t;
    sp->ks[sp->n_knots] = share;
    sp->n_knots++;
  }
}

static double
split_knots_at(const Split *sp, double t)
{
  if (sp->n_knots == 0)
    return 0.5;
  if (t <= sp->kt[0])
    return sp->ks[0];
  for (int k = 1; k < sp->n_knots; k++)
    if (t < sp->kt[k]) {
      double span = sp->kt[k] - sp->kt[k - 1];
      double u = span > 0.0 ? (t - sp->kt[k - 1]) / span : 1.0;
      return sp->ks[k - 1] + (sp->ks[k] - sp->ks[k - 1]) * _stance_smoothstep(u);
    }
  return sp->ks[sp->n_knots - 1];
}

/* The left share of the excess at rep time t: phiF, moving to phi0 during the eccentric braking
 * and back to phiF by the concentric peak (the RFD asymmetry), see the file header. */
static double
split_phi(const Split *sp, const Rep *r, double t)
{
  if (sp->phi0 == sp->phiF || r->rise_first)
    return sp->phiF;
  if (t >= r->t_brake && t < r->t_con) {
    double span = r->t_con - r->t_brake;
    return sp->phiF +
           (sp->phi0 - sp->phiF) * _stance_smoothstep(span > 0 ? (t - r->t_brake) / span : 1);
  }
  if (t >= r->t_con && t < r->t_peak) {
    double span = r->t_peak - r->t_con;
    return sp->phi0 +
           (sp->phiF - sp->phi0) * _stance_smoothstep(span > 0 ? (t - r->t_con) / span : 1);
  }
  return sp->phiF;
}

/* phi0 so that the limb's share of the concentric rise (E_pk - E_0) is phiR while its share of
 * the peak excess is phiF: phiF E_pk - phi0 E_0 = phiR (E_pk - E_0), with E = m a. */
static double
phi_at_reversal(double phiF, double phiR, double apk, double ab)
{
  if (!(ab > 0.0))
    return phiF;
  double p0 = (phiF * apk - phiR * (apk - ab)) / ab;
  return clampd(p0, fmax(0.02, phiF - 0.3), fmin(0.98, phiF + 0.3));
}

/* Emits the samples of one rep of mass m. cop_full: CoP shifts (dxL, dyL, dxR, dyR) at full
 * depth, scaled by the COM displacement fraction |z| / D; *i_first gets the rep's first sample. */
static int
emit_rep(Gen *g, const Rep *r, double m, const Split *sp, const double cop_full[4], size_t *i_first)
{
  StanceSimScene *s = g->s;
  *i_first = s->n;
  size_t n = (size_t)ceil(r->dur * s->rate_hz - 1e-9);
  double W = m * s->g;
  for (size_t k = 0; k < n; k++) {
    double tr = (double)k * s->dt;
    double t = _stance_sim_t(s, s->n);
    double a, z;
    rep_eval(r, tr, &a, NULL, &z);
    double F = m * (s->g + a), E = m * a;
    double fl, base;
    if (sp->mode == SPLIT_PHI) {
      base = sp->base0 +
             (sp->base1 - sp->base0) * _stance_smoothstep(sp->t_blend > 0 ? tr / sp->t_blend : 1.0);
      fl = share_wob(g, base, t) * W + split_phi(sp, r, tr) * E;
      if (base >= 1.0)
        fl = F;
      else if (base <= 0.0)
        fl = 0.0;
    } else {
      base = split_knots_at(sp, tr);
      fl = share_wob(g, base, t) * F;
    }
    fl = clampd(fl, 0.0, F);
    double frac = r->d > 0 ? fabs(z) / r->d : 0.0;
    double d[4] = {0, 0, 0, 0};
    if (cop_full)
      for (int c = 0; c < 4; c++)
        d[c] = cop_full[c] * frac;
    TRY(emit(g, fl, F - fl, base, d));
  }
  return STANCE_OK;
}

/* ======================================================================================
 * Rep truth
 * ====================================================================================== */

typedef struct {
  size_t i_start, i_end; /* samples of the rep, [i_start, i_end) */
  size_t i_con0, i_con1; /* concentric phase, [i_con0, i_con1) */
  size_t i_imp0, i_imp1; /* net-impulse window, [i_imp0, i_imp1) */
  double w_imp;          /* weight for the net impulse, N */
  double t0;             /* rep start time, s */
  const Rep *rep;
  int set;
  unsigned has;
  int front;     /* 0: not a split stance; 1: left plate is the front foot; 2: right */
  double tut;    /* time under tension, s */
  double mass;   /* system mass during the rep, kg */
  double bar_kg; /* bar load (barbell), or < 0 */
  /* extra events (name, time from rep start) */
  const char *ev_name[4];
  double ev_t[4];
  int n_ev;
} RepInfo;

/* Per-set first/last rep peaks for the fatigue index. */
typedef struct {
  int n;
  double first_pk, last_pk; /* gross total peak of the first and last rep, N */
  double w;                 /* system weight during the reps, N */
} SetStat;

static inline double
sc_force(const StanceSimScene *s, int sel, size_t i)
{
  return sel == 2 ? s->f[0][i] + s->f[1][i] : s->f[sel][i];
}

static int
rep_truth(Gen *g, const RepInfo *ri, SetStat *st)
{
  StanceSimScene *s = g->s;
  const Rep *r = ri->rep;
  size_t i0 = ri->i_start, i1 = ri->i_end > s->n ? s->n : ri->i_end;
  if (i1 <= i0 + 1)
    return STANCE_OK;
  StanceTruthTrial *tr = _stance_sim_truth_trial(s, "rep", ri->t0, ri->t0 + r->dur);
  if (!tr && s->truth)
    return STANCE_ENOMEM;
  g->rep_count++;
  if (!tr)
    return STANCE_OK;
  tr->set = ri->set;

  static const unsigned bit[3] = {STANCE_TRUTH_LEFT, STANCE_TRUTH_RIGHT, STANCE_TRUTH_TOTAL};
  double pk[3] = {0}, mean[3] = {0}, rfd[3] = {0};
  size_t ipk_total = i0;
  for (int sel = 0; sel < 3; sel++) {
    double mx = -INFINITY, sum = 0.0;
    size_t imx = i0;
    for (size_t i = i0; i < i1; i++) {
      double f = sc_force(s, sel, i);
      sum += f;
      if (f > mx) {
        mx = f;
        imx = i;
      }
    }
    pk[sel] = mx;
    mean[sel] = sum / (double)(i1 - i0);
    if (sel == 2)
      ipk_total = imx;
    /* con_rfd: (F at the concentric peak - F at con_start) / (t_peak - t_con_start), with the
     * series' own largest force in the concentric phase; 0 when it is largest at the start. */
    size_t c0 = ri->i_con0, c1 = ri->i_con1 > i1 ? i1 : ri->i_con1;
    if (c1 > c0) {
      size_t ip = c0;
      for (size_t i = c0; i < c1; i++)
        if (sc_force(s, sel, i) > sc_force(s, sel, ip))
          ip = i;
      rfd[sel] = ip > c0
                     ? (sc_force(s, sel, ip) - sc_force(s, sel, c0)) / ((double)(ip - c0) * s->dt)
                     : 0.0;
    }
  }
  unsigned has = ri->has | STANCE_TRUTH_TOTAL;
  unsigned limbs = 0;
  for (int sel = 0; sel < 2; sel++)
    if ((has & bit[sel]) && pk[sel] > STANCE_COP_THRESHOLD_N)
      limbs |= bit[sel];
  unsigned use = limbs | STANCE_TRUTH_TOTAL;

  _stance_sim_truth_event(tr, r->rise_first ? "con_start" : "ecc_start",
                          ri->t0 + (r->rise_first ? r->t_con : r->t_ecc));
  _stance_sim_truth_event(tr, r->rise_first ? "ecc_start" : "con_start",
                          ri->t0 + (r->rise_first ? r->t_ecc : r->t_con));
  _stance_sim_truth_event(tr, "peak", _stance_sim_t(s, ipk_total));
  for (int k = 0; k < ri->n_ev; k++)
    _stance_sim_truth_event(tr, ri->ev_name[k], ri->t0 + ri->ev_t[k]);
  _stance_sim_truth_event(tr, "rep_end", ri->t0 + r->dur);

  _stance_sim_truth_metric(tr, "peak_force", "N", use, pk[0], pk[1], pk[2]);
  _stance_sim_truth_metric(tr, "mean_force", "N", use, mean[0], mean[1], mean[2]);
  _stance_sim_truth_metric(tr, "con_rfd", "N/s", use, rfd[0], rfd[1], rfd[2]);
  if (mean[2] > 0.0)
    _stance_sim_truth_metric(tr, "load_share_pct", "%", STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT,
                             100.0 * mean[0] / mean[2], 100.0 * mean[1] / mean[2], 0.0);
  if (ri->front && mean[2] > 0.0)
    _stance_sim_truth_metric(tr, "front_share_pct", "%", STANCE_TRUTH_TOTAL, 0, 0,
                             100.0 * mean[ri->front - 1] / mean[2]);
  _stance_sim_truth_metric(tr, "time_under_tension", "s", STANCE_TRUTH_TOTAL, 0, 0, ri->tut);
  _stance_sim_truth_metric(tr, "rep_duration", "s", STANCE_TRUTH_TOTAL, 0, 0, r->dur);
  _stance_sim_truth_metric(tr, "ecc_duration", "s", STANCE_TRUTH_TOTAL, 0, 0,
                           r->rise_first ? r->second.dur : r->first.dur);
  _stance_sim_truth_metric(tr, "con_duration", "s", STANCE_TRUTH_TOTAL, 0, 0,
                           r->rise_first ? r->first.dur : r->second.dur);
  _stance_sim_truth_metric(tr, "peak_velocity", "m/s", STANCE_TRUTH_TOTAL, 0, 0, r->vpk);
  _stance_sim_truth_metric(tr, "com_displacement", "m", STANCE_TRUTH_TOTAL, 0, 0, r->d);
  /* Net impulse over the window where the COM starts and ends at rest: trapezoid of F - W. */
  size_t j0 = ri->i_imp0, j1 = ri->i_imp1 > s->n ? s->n : ri->i_imp1;
  double net = 0.0;
  for (size_t i = j0; i + 1 < j1; i++)
    net += 0.5 * (sc_force(s, 2, i) + sc_force(s, 2, i + 1) - 2.0 * ri->w_imp) * s->dt;
  _stance_sim_truth_metric(tr, "net_impulse", "N.s", STANCE_TRUTH_TOTAL, 0, 0, net);
  if (ri->bar_kg >= 0.0) {
    _stance_sim_truth_metric(tr, "bar_load_kg", "kg", STANCE_TRUTH_TOTAL, 0, 0, ri->bar_kg);
    _stance_sim_truth_metric(tr, "system_mass_kg", "kg", STANCE_TRUTH_TOTAL, 0, 0, ri->mass);
  }

  if (st) {
    if (st->n == 0)
      st->first_pk = pk[2];
    st->last_pk = pk[2];
    st->w = ri->mass * s->g;
    st->n++;
  }
  return STANCE_OK;
}

/* Session metrics of one set: fatigue index on the excess over system weight and on gross peaks. */
static void
set_truth(Gen *g, int set_no, const SetStat *st)
{
  char id[32];
  double e1 = st->first_pk - st->w, en = st->last_pk - st->w;
  snprintf(id, sizeof id, "fatigue_index_set%d", set_no);
  _stance_sim_truth_session_metric(g->s, id, "%", STANCE_TRUTH_TOTAL, 0, 0,
                                   e1 > 0.0 ? 100.0 * (e1 - en) / e1 : 0.0);
  snprintf(id, sizeof id, "fatigue_index_gross_set%d", set_no);
  _stance_sim_truth_session_metric(
      g->s, id, "%", STANCE_TRUTH_TOTAL, 0, 0,
      st->first_pk > 0.0 ? 100.0 * (st->first_pk - st->last_pk) / st->first_pk : 0.0);
  snprintf(id, sizeof id, "reps_set%d", set_no);
  _stance_sim_truth_session_metric(g->s, id, "count", STANCE_TRUTH_TOTAL, 0, 0, (double)st->n);
}

/* Mean load share over all reps (session) from the rep trials. */
static void
session_share(Gen *g, bool front_metric)
{
  StanceSimTruth *t = g->s->truth;
  if (!t)
    return;
  double sl = 0, sr = 0, sf = 0;
  int n = 0, nf = 0;
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthMetric *m = stance_sim_truth_metric(&t->trials[k], "load_share_pct");
    if (m && strcmp(t->trials[k].kind, "rep") == 0) {
      sl += m->left;
      sr += m->right;
      n++;
    }
    const StanceTruthMetric *f = stance_sim_truth_metric(&t->trials[k], "front_share_pct");
    if (f) {
      sf += f->total;
      nf++;
    }
  }
  if (n > 0)
    _stance_sim_truth_session_metric(g->s, "load_share_pct", "%",
                                     STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT, sl / n, sr / n, 0);
  if (front_metric && nf > 0)
    _stance_sim_truth_session_metric(g->s, "front_share_pct", "%", STANCE_TRUTH_TOTAL, 0, 0,
                                     sf / nf);
}

/* ======================================================================================
 * Per-rep variation: fatigue line and rep-to-rep variability
 * ====================================================================================== */

typedef struct {
  double apk, d, te, pause, share_jit;
} RepDraw;

/* Draws rep k of n (0-based). The peak excess acceleration follows the fatigue line
 * apk1 (1 - fat k / (n - 1)); the reps between the first and the last vary around it with the
 * athlete's CV, the first and last sit on it (so the set's fatigue index is the programmed one).
 * Depth and descent time vary by CV / 2 and CV on every rep. The draws are always made. */
static void
rep_draw(Gen *g, RepDraw *rd, double apk1, double d, double te, int k, int n, double fat,
         double pause_lo, double pause_hi)
{
  StanceSimRng *r = &g->s->rng;
  double e_apk = _stance_rng_gauss(r), e_d = _stance_rng_gauss(r), e_te = _stance_rng_gauss(r);
  double e_sh = _stance_rng_gauss(r);
  double pause = _stance_rng_range(r, pause_lo, pause_hi);
  double lin = n > 1 ? (double)k / (double)(n - 1) : 0.0;
  double var = (k == 0 || k == n - 1) ? 0.0 : clampd(g->cv * e_apk, -0.1, 0.1);
  rd->apk = apk1 * (1.0 - fat * lin) * (1.0 + var);
  rd->d = d * (1.0 + clampd(0.5 * g->cv * e_d, -0.05, 0.05));
  rd->te = te * (1.0 + clampd(g->cv * e_te, -0.1, 0.1));
  rd->pause = pause;
  rd->share_jit = clampd(0.005 * e_sh, -0.015, 0.015);
}

/* Capacity factors of the left and right limbs: 1, or 1 - deficit for the weaker limb's force and
 * RFD (asym_impulse_pct has no separate lever in these protocols; the truth reports the impulses
 * that result). */
typedef struct {
  double f[2], r[2];
} Caps;

static void
caps_of(const StanceSimParams *p, Caps *c)
{
  for (int k = 0; k < 2; k++)
    c->f[k] = c->r[k] = 1.0;
  int w = p->weaker == STANCE_SIDE_LEFT ? 0 : (p->weaker == STANCE_SIDE_RIGHT ? 1 : -1);
  if (w >= 0) {
    c->f[w] = _stance_sim_weak_factor(p->asym_force_pct);
    c->r[w] = _stance_sim_weak_factor(p->asym_rfd_pct);
  }
}

static int
side_plate(StanceSide side)
{
  return side == STANCE_SIDE_RIGHT ? 1 : 0;
}

/* ======================================================================================
 * Split squat and lunge (side = front foot)
 * ====================================================================================== */

static int
gen_split(Gen *g, bool lunge)
{
  StanceSimScene *s = g->s;
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  int fp = side_plate(p->side), rp = 1 - fp;
  Caps c;
  caps_of(p, &c);

  /* The athlete: nominal front share, depth, descent share of the tempo, reversal ratio. */
  double b_front = _stance_rng_range(rng, 0.62, 0.68);
  double d_nom = lunge ? _stance_rng_range(rng, 0.32, 0.40) : _stance_rng_range(rng, 0.30, 0.38);
  double ecc_frac = _stance_rng_range(rng, 0.55, 0.60);
  double rho = _stance_rng_range(rng, 0.55, 0.65);
  double t_on = _stance_rng_range(rng, 0.25, 0.35); /* lunge: front contact, fraction of Te */
  double off0 = _stance_rng_range(rng, 0.55, 0.65); /* lunge: front unloading, fraction of Tc */
  double cop_front_y = _stance_rng_range(rng, 8.0, 16.0);

  /* Front share of the static load and of the excess (full force deficit: split stance). */
  double kf = b_front * c.f[fp], kr = (1.0 - b_front) * c.f[rp];
  double s_front = kf / (kf + kr);
  double phiR_front = b_front * c.r[fp] / (b_front * c.r[fp] + (1.0 - b_front) * c.r[rp]);
#define TO_LEFT(front_share) (fp == 0 ? (front_share) : 1.0 - (front_share))

  double tempo = p->tempo_s > 0 ? p->tempo_s : 3.0;
  double te_nom = ecc_frac * tempo, tc_nom = tempo - te_nom;
  double apk1 = con_kappa(rho) * d_nom / (tc_nom * tc_nom);
  double fat = p->fatigue_pct / 100.0;
  int n = p->reps > 0 ? p->reps : 8, sets = p->sets > 0 ? p->sets : 1;

  /* Standing base: split stance, or (lunge) both feet on the rear plate. */
  double stand_left = lunge ? TO_LEFT(0.0) : TO_LEFT(s_front);
  if (s->truth)
    s->truth->still_share_left = stand_left;
  if (!p->no_still)
    TRY(still(g, 2.0, stand_left));

  double prev_front = s_front;
  for (int set = 1; set <= sets; set++) {
    SetStat st = {0};
    for (int k = 0; k < n; k++) {
      RepDraw rd;
      rep_draw(g, &rd, apk1, d_nom, te_nom, k, n, fat, 0.5, 0.9);
      Rep r;
      rep_plan_squat(&r, rd.d, rd.te, rd.apk, rho);
      double sf = clampd(s_front + rd.share_jit, 0.05, 0.95);
      Split sp = {0};
      RepInfo ri = {0};
      if (!lunge) {
        sp.mode = SPLIT_PHI;
        sp.base0 = TO_LEFT(prev_front);
        sp.base1 = TO_LEFT(sf);
        sp.t_blend = 0.4;
        double phiF = sf, phi0 = phi_at_reversal(sf, phiR_front + rd.share_jit, r.apk, r.ab);
        sp.phiF = TO_LEFT(phiF);
        sp.phi0 = TO_LEFT(phi0);
      } else {
        /* Front contact: touch-down early in the descent, load taken in 0.2 s, released late in
         * the ascent as the front foot pushes back to the rear plate. */
        sp.mode = SPLIT_CONTACT;
        double ton = t_on * r.first.dur;
        double toff0 = r.t_con + off0 * r.second.dur, toff1 = r.t_con + 0.92 * r.second.dur;
        split_knot(&sp, 0.0, TO_LEFT(0.0));
        split_knot(&sp, ton, TO_LEFT(0.0));
        split_knot(&sp, ton + 0.2, TO_LEFT(sf));
        split_knot(&sp, toff0, TO_LEFT(sf));
        split_knot(&sp, toff1, TO_LEFT(0.0));
        ri.ev_name[ri.n_ev] = "front_on";
        ri.ev_t[ri.n_ev++] = ton;
        ri.ev_name[ri.n_ev] = "front_off";
        ri.ev_t[ri.n_ev++] = toff1;
      }
      /* The front foot's CoP moves forward with the knee; the rear forefoot slightly. */
      double cop[4] = {0, 0, 0, 0};
      cop[fp * 2 + 1] = cop_front_y;
      cop[rp * 2 + 1] = 0.4 * cop_front_y;
      size_t i0;
      TRY(emit_rep(g, &r, (s->m_body + s->m_load), &sp, cop, &i0));
      ri.i_start = i0;
      ri.i_end = s->n;
      ri.t0 = _stance_sim_t(s, i0);
      ri.i_con0 = i0 + (size_t)llround(r.t_con * s->rate_hz);
      ri.i_con1 = i0 + (size_t)llround(r.t_con_end * s->rate_hz);
      ri.i_imp0 = i0;
      ri.i_imp1 = s->n;
      ri.w_imp = _stance_sim_weight(s);
      ri.rep = &r;
      ri.set = set;
      ri.has = STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
      ri.front = fp + 1;
      ri.tut = r.dur;
      ri.mass = s->m_body + s->m_load;
      ri.bar_kg = -1.0;
      TRY(rep_truth(g, &ri, &st));
      prev_front = sf;
      double pause_left = lunge ? TO_LEFT(0.0) : TO_LEFT(sf);
      TRY(still(g, k + 1 < n ? rd.pause : 1.5, pause_left));
    }
    set_truth(g, set, &st);
    g->set_count++;
    TRY(shift(g, 0.5, lunge ? stand_left : TO_LEFT(prev_front), stand_left));
    prev_front = s_front;
    if (set < sets)
      TRY(still(g, p->rest_s, stand_left));
  }
#undef TO_LEFT
  TRY(still(g, 0.5, stand_left));
  session_share(g, true);
  return STANCE_OK;
}

/* ======================================================================================
 * Single-leg squat and single-leg RDL (side = stance leg)
 * ====================================================================================== */

static int
gen_single_leg(Gen *g, bool rdl)
{
  StanceSimScene *s = g->s;
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  int sp_plate = side_plate(p->side);
  Caps c;
  caps_of(p, &c);

  double d_nom = rdl ? _stance_rng_range(rng, 0.18, 0.24) : _stance_rng_range(rng, 0.27, 0.35);
  double ecc_frac = rdl ? _stance_rng_range(rng, 0.42, 0.47) : _stance_rng_range(rng, 0.58, 0.64);
  double rho = _stance_rng_range(rng, 0.55, 0.65);
  /* CoP shifts at full depth: the hinge moves the CoP forward (RDL 15-25 mm), the knee of a
   * single-leg squat moves it forward and medially. */
  double cop_y = rdl ? _stance_rng_range(rng, 15.0, 25.0) : _stance_rng_range(rng, 8.0, 14.0);
  double cop_x = rdl ? _stance_rng_range(rng, -3.0, 3.0) : _stance_rng_range(rng, 3.0, 6.0);

  /* Squat: down and straight back up through a reversal. RDL: down to rest, a balance hold at
   * the bottom (20 % of the tempo), and up from rest. The stance leg's force capacity scales the
   * peak (a weaker stance leg rises with less excess force). */
  double tempo = p->tempo_s > 0 ? p->tempo_s : (rdl ? 4.0 : 3.0);
  double hold = rdl ? 0.2 * tempo : 0.0;
  double te_nom = ecc_frac * tempo, tc_nom = tempo - te_nom - hold;
  double kappa = rdl ? con_kappa(1e-6) : con_kappa(rho);
  double apk1 = kappa * d_nom / (tc_nom * tc_nom) * c.f[sp_plate];
  double fat = p->fatigue_pct / 100.0;
  int n = p->reps > 0 ? p->reps : 8, sets = p->sets > 0 ? p->sets : 1;

  double both = _stance_sim_still_share_left(p);
  double one = sp_plate == 0 ? 1.0 : 0.0;
  if (!p->no_still)
    TRY(still(g, 2.0, both));
  for (int set = 1; set <= sets; set++) {
    SetStat st = {0};
    TRY(shift(g, 0.8, both, one));
    TRY(still(g, 1.0, one));
    for (int k = 0; k < n; k++) {
      RepDraw rd;
      rep_draw(g, &rd, apk1, d_nom, te_nom, k, n, fat, 0.5, 0.9);
      Rep r;
      if (rdl)
        rep_plan_paused(&r, rd.d, rd.te, rd.apk, hold);
      else
        rep_plan_squat(&r, rd.d, rd.te, rd.apk, rho);
      Split sp = {.mode = SPLIT_PHI, .base0 = one, .base1 = one, .phiF = one, .phi0 = one};
      double cop[4] = {0, 0, 0, 0};
      double medial = sp_plate == 0 ? 1.0 : -1.0; /* medial is +x for the left foot */
      cop[sp_plate * 2 + 0] = medial * cop_x;
      cop[sp_plate * 2 + 1] = cop_y;
      size_t i0;
      TRY(emit_rep(g, &r, s->m_body + s->m_load, &sp, cop, &i0));
      RepInfo ri = {0};
      ri.i_start = i0;
      ri.i_end = s->n;
      ri.t0 = _stance_sim_t(s, i0);
      ri.i_con0 = i0 + (size_t)llround(r.t_con * s->rate_hz);
      ri.i_con1 = i0 + (size_t)llround(r.t_con_end * s->rate_hz);
      ri.i_imp0 = i0;
      ri.i_imp1 = s->n;
      ri.w_imp = _stance_sim_weight(s);
      ri.rep = &r;
      ri.set = set;
      ri.has = sp_plate == 0 ? STANCE_TRUTH_LEFT : STANCE_TRUTH_RIGHT;
      ri.tut = r.dur;
      ri.mass = s->m_body + s->m_load;
      ri.bar_kg = -1.0;
      TRY(rep_truth(g, &ri, &st));
      TRY(still(g, k + 1 < n ? rd.pause : 1.0, one));
    }
    TRY(shift(g, 0.8, one, both));
    set_truth(g, set, &st);
    g->set_count++;
    if (set < sets)
      TRY(still(g, p->rest_s, both));
  }
  TRY(still(g, 1.5, both));
  session_share(g, false);
  return STANCE_OK;
}

/* ======================================================================================
 * Step-up (side = stepping leg; a tared box on its plate)
 * ====================================================================================== */

static int
gen_step_up(Gen *g)
{
  StanceSimScene *s = g->s;
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  int bp = side_plate(p->side), tp = 1 - bp; /* box plate, trailing-foot plate */
  Caps c;
  caps_of(p, &c);

  double h = _stance_rng_range(rng, 0.30, 0.38);       /* box height = COM rise, m */
  double b_trail = _stance_rng_range(rng, 0.60, 0.70); /* trailing foot's share standing */
  double tau_off = _stance_rng_range(rng, 0.30, 0.40); /* trailing foot leaves, fraction of Tc */
  double tau_on = _stance_rng_range(rng, 0.65, 0.75);  /* trailing foot lands, fraction of Te */
  double con_frac = _stance_rng_range(rng, 0.42, 0.48);
  double gap_lo = 0.4, gap_hi = 0.7;

  double tempo = p->tempo_s > 0 ? p->tempo_s : 3.0;
  double tc_nom = con_frac * tempo, te_nom = tempo - tc_nom;
  /* The stepping leg drives the rise: a weaker stepping leg rises with a lower peak. */
  double apk1 = con_kappa(1e-6) * h / (tc_nom * tc_nom) * c.f[bp];
  double fat = p->fatigue_pct / 100.0;
  int n = p->reps > 0 ? p->reps : 8, sets = p->sets > 0 ? p->sets : 1;

#define TRAIL_TO_LEFT(x) (tp == 0 ? (x) : 1.0 - (x))
  double stand_left = TRAIL_TO_LEFT(b_trail);
  if (s->truth)
    s->truth->still_share_left = stand_left;
  if (!p->no_still)
    TRY(still(g, 2.0, stand_left));
  for (int set = 1; set <= sets; set++) {
    SetStat st = {0};
    for (int k = 0; k < n; k++) {
      RepDraw rd;
      rep_draw(g, &rd, apk1, h, te_nom, k, n, fat, 0.6, 1.0);
      double gap = _stance_rng_range(rng, gap_lo, gap_hi);
      Rep core;
      rep_plan_rise(&core, rd.d, rd.apk, gap, rd.te);
      /* The rep: weight shift onto the box leg (tw), the rise, the top, the step down, and the
       * weight shift back (tw); the shifts are static, the kinematics are `core` in between. */
      const double tw = 0.5;
      /* The trailing foot pushes while the weight moves onto the box leg and leaves at tau_off of
       * the rise; a weaker trailing leg gives up sooner (tau_off scaled by its force capacity). */
      double t_off = tau_off * c.f[tp] * core.first.dur;
      Split sp = {.mode = SPLIT_CONTACT};
      split_knot(&sp, 0.0, TRAIL_TO_LEFT(b_trail));
      split_knot(&sp, tw + t_off, TRAIL_TO_LEFT(0.0));
      split_knot(&sp, tw + core.t_ecc + tau_on * core.second.dur, TRAIL_TO_LEFT(0.0));
      split_knot(&sp, tw + core.dur + tw, TRAIL_TO_LEFT(b_trail));
      size_t i0 = s->n;
      size_t n_lead = (size_t)llround(tw * s->rate_hz);
      double W = _stance_sim_weight(s), m = s->m_body + s->m_load;
      for (size_t q = 0; q < n_lead; q++) {
        double tr = (double)q * s->dt;
        double base = split_knots_at(&sp, tr);
        double sh = share_wob(g, base, _stance_sim_t(s, s->n));
        TRY(emit(g, sh * W, (1.0 - sh) * W, base, NULL));
      }
      size_t n_core = (size_t)ceil(core.dur * s->rate_hz - 1e-9);
      double t_lead = (double)n_lead * s->dt;
      for (size_t q = 0; q < n_core; q++) {
        double tr = (double)q * s->dt;
        double a, z;
        rep_eval(&core, tr, &a, NULL, &z);
        double F = m * (s->g + a);
        double base = split_knots_at(&sp, t_lead + tr);
        double fl = clampd(share_wob(g, base, _stance_sim_t(s, s->n)) * F, 0.0, F);
        double cop[4] = {0, 0, 0, 0};
        cop[bp * 2 + 1] = 10.0 * clampd(z / core.d, 0.0, 1.0); /* forward as the body rises */
        TRY(emit(g, fl, F - fl, base, cop));
      }
      size_t n_tail = (size_t)llround(tw * s->rate_hz);
      double t_core_end = t_lead + (double)n_core * s->dt;
      for (size_t q = 0; q < n_tail; q++) {
        double tr = t_core_end + (double)q * s->dt;
        double base = split_knots_at(&sp, tr);
        double sh = share_wob(g, base, _stance_sim_t(s, s->n));
        TRY(emit(g, sh * W, (1.0 - sh) * W, base, NULL));
      }
      /* Truth: the rep runs from the start of the weight shift to the end of the shift back; the
       * rep's phase times are offset by the lead. */
      Rep rt = core;
      rt.dur = t_core_end + (double)n_tail * s->dt;
      rt.t_con += t_lead;
      rt.t_con_end += t_lead;
      rt.t_ecc += t_lead;
      rt.t_brake += t_lead;
      rt.t_peak += t_lead;
      RepInfo ri = {0};
      ri.i_start = i0;
      ri.i_end = s->n;
      ri.t0 = _stance_sim_t(s, i0);
      ri.i_con0 = i0 + n_lead;
      ri.i_con1 = i0 + n_lead + (size_t)llround(core.first.dur * s->rate_hz);
      ri.i_imp0 = i0;
      ri.i_imp1 = s->n;
      ri.w_imp = W;
      ri.rep = &rt;
      ri.set = set;
      ri.has = STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
      ri.tut = core.dur;
      ri.mass = m;
      ri.bar_kg = -1.0;
      ri.ev_name[ri.n_ev] = "trail_off";
      ri.ev_t[ri.n_ev++] = t_lead + t_off;
      ri.ev_name[ri.n_ev] = "trail_on";
      ri.ev_t[ri.n_ev++] = t_lead + core.t_ecc + tau_on * core.second.dur;
      TRY(rep_truth(g, &ri, &st));
      TRY(still(g, k + 1 < n ? rd.pause : 1.0, stand_left));
    }
    set_truth(g, set, &st);
    g->set_count++;
    if (set < sets)
      TRY(still(g, p->rest_s, stand_left));
  }
#undef TRAIL_TO_LEFT
  TRY(still(g, 1.0, stand_left));
  session_share(g, false);
  return STANCE_OK;
}

/* ======================================================================================
 * Barbell back squat and deadlift sets
 * ====================================================================================== */

/* Bar loads are made of plates: the nearest 2.5 kg, at least the 20 kg bar (or the working load
 * itself when that is lighter). */
static double
round_load(double kg, double work)
{
  double r = 2.5 * floor(kg / 2.5 + 0.5);
  return fmin(work, fmax(r, 20.0));
}

/* Emits one move of mass m with a fixed static share (a body-only movement: deadlift set-up). */
static int
emit_move(Gen *g, const Move *mv, double m, double base)
{
  StanceSimScene *s = g->s;
  size_t n = (size_t)ceil(mv->dur * s->rate_hz - 1e-9);
  for (size_t k = 0; k < n; k++) {
    double a;
    move_eval(mv, (double)k * s->dt, &a, NULL, NULL);
    double F = m * (s->g + a);
    double fl = clampd(share_wob(g, base, _stance_sim_t(s, s->n)) * F, 0.0, F);
    TRY(emit(g, fl, F - fl, base, NULL));
  }
  return STANCE_OK;
}

/* One deadlift rep: the pull takes up the bar's weight (tension, body still: the plates carry
 * body + pull), the bar leaves the floor (liftoff: from here the plates carry body + bar and the
 * system COM follows `core`: up, lockout, down), the bar is set down (touchdown) and released. */
static int
deadlift_rep(Gen *g, const Rep *core, double bar, double t_tension, double t_release,
             const Split *sp, size_t *i_first, size_t *n_tension, size_t *n_core)
{
  StanceSimScene *s = g->s;
  double mb = s->m_body, ms = mb + bar;
  *i_first = s->n;
  size_t nt = (size_t)llround(t_tension * s->rate_hz);
  size_t nc = (size_t)ceil(core->dur * s->rate_hz - 1e-9);
  size_t nr = (size_t)llround(t_release * s->rate_hz);
  for (size_t k = 0; k < nt + nc + nr; k++) {
    double tr = (double)k * s->dt;
    double wst, E = 0.0, phi = sp->phiF;
    if (k < nt) {
      wst = (mb + bar * _stance_smoothstep((double)(k + 1) / (double)nt)) * s->g;
    } else if (k < nt + nc) {
      double a;
      rep_eval(core, (double)(k - nt) * s->dt, &a, NULL, NULL);
      wst = ms * s->g;
      E = ms * a;
    } else {
      wst = (mb + bar * (1.0 - _stance_smoothstep((double)(k - nt - nc + 1) / (double)nr))) * s->g;
    }
    double base = sp->base0 + (sp->base1 - sp->base0) * _stance_smoothstep(tr / sp->t_blend);
    double F = wst + E;
    double fl = clampd(share_wob(g, base, _stance_sim_t(s, s->n)) * wst + phi * E, 0.0, F);
    TRY(emit(g, fl, F - fl, base, NULL));
  }
  *n_tension = nt;
  *n_core = nc;
  return STANCE_OK;
}

typedef struct {
  double frac; /* of the working load */
  int reps;
  bool warmup;
} SetPlan;

static int
gen_barbell(Gen *g, bool deadlift)
{
  StanceSimScene *s = g->s;
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  Caps c;
  caps_of(p, &c);
  const double lw = p->external_load_kg;

  /* Static left share (the bilateral still rule) and the left share of the excess. */
  double s_left = _stance_sim_still_share_left(p);
  double phiF = c.f[0] / (c.f[0] + c.f[1]);
  double phiR = c.r[0] / (c.r[0] + c.r[1]);

  /* The athlete and the technique. System COM displacement per set from the body's and the
   * bar's travel, weighted by their masses. */
  double d_body =
      deadlift ? _stance_rng_range(rng, 0.26, 0.32) : _stance_rng_range(rng, 0.38, 0.44);
  double d_bar = _stance_rng_range(rng, 0.50, 0.58);
  double ecc_frac =
      deadlift ? _stance_rng_range(rng, 0.45, 0.50) : _stance_rng_range(rng, 0.52, 0.58);
  double rho = _stance_rng_range(rng, 0.55, 0.65);
  double t_unrack = _stance_rng_range(rng, 0.8, 1.2);
  double t_setup = _stance_rng_range(rng, 1.2, 1.6);

  double tempo = p->tempo_s > 0 ? p->tempo_s : 3.0;
  double te_work = ecc_frac * tempo, tc_work = tempo - te_work;
  double kappa = deadlift ? con_kappa(1e-6) : con_kappa(rho);
  int reps = p->reps > 0 ? p->reps : 5, sets = p->sets > 0 ? p->sets : 3;
  double rest = p->rest_s > 0 ? p->rest_s : 150.0;

  SetPlan plan[4 + 10];
  int n_sets = 0, n_warm = 0;
  if (p->include_warmup) {
    static const double wf[4] = {0.40, 0.55, 0.70, 0.85};
    static const int wr[4] = {8, 6, 4, 2};
    for (int k = 0; k < 4; k++)
      plan[n_sets++] = (SetPlan){wf[k], wr[k], true};
    n_warm = 4;
  }
  for (int k = 0; k < sets && n_sets < (int)(sizeof plan / sizeof plan[0]); k++)
    plan[n_sets++] = (SetPlan){1.0, reps, false};

  s->m_load = 0.0; /* the bar starts in the rack (squat) or on the floor (deadlift) */
  if (!p->no_still)
    TRY(still(g, 2.0, s_left));
  double prev_share = s_left;
  for (int j = 0; j < n_sets; j++) {
    const SetPlan *sp_plan = &plan[j];
    double bar = round_load(sp_plan->frac * lw, lw);
    double ms = s->m_body + bar;
    double dsys = (s->m_body * d_body + bar * d_bar) / ms;
    /* Lighter loads move faster: the nominal ascent shortens with the relative load. */
    double tc_nom = tc_work * (0.55 + 0.45 * bar / lw);
    double apk1 = kappa * dsys / (tc_nom * tc_nom);
    double fat = sp_plan->warmup ? 0.0 : p->fatigue_pct / 100.0;
    int n = sp_plan->reps;
    SetStat st = {0};
    if (!deadlift) {
      TRY(load_ramp(g, t_unrack, s_left,
                    bar)); /* unrack: the bar's weight moves onto the athlete */
      TRY(still(g, 1.5, s_left));
    } else {
      Move down;
      con_setup(&down, d_body, t_setup, 0.0);
      down.sign = -1.0; /* minimum-jerk descent to the bar */
      TRY(emit_move(g, &down, s->m_body, s_left));
      TRY(still(g, 0.8, s_left));
    }
    for (int k = 0; k < n; k++) {
      RepDraw rd;
      rep_draw(g, &rd, apk1, dsys, te_work, k, n, fat, deadlift ? 0.6 : 0.5, deadlift ? 1.0 : 0.9);
      double gap = _stance_rng_range(rng, 0.3, 0.6);
      double t_tension = _stance_rng_range(rng, 0.3, 0.5);
      double t_release = _stance_rng_range(rng, 0.25, 0.35);
      double sh = clampd(s_left + rd.share_jit, 0.05, 0.95);
      Split sp = {.mode = SPLIT_PHI, .base0 = prev_share, .base1 = sh, .t_blend = 0.4};
      RepInfo ri = {0};
      Rep r, rt;
      if (!deadlift) {
        rep_plan_squat(&r, rd.d, rd.te, rd.apk, rho);
        sp.phiF = phiF;
        sp.phi0 = phi_at_reversal(phiF, phiR, r.apk, r.ab);
        size_t i0;
        TRY(emit_rep(g, &r, ms, &sp, NULL, &i0));
        rt = r;
        ri.i_start = i0;
        ri.i_con0 = i0 + (size_t)llround(r.t_con * s->rate_hz);
        ri.i_con1 = i0 + (size_t)llround(r.t_con_end * s->rate_hz);
        ri.i_imp0 = i0;
        ri.i_imp1 = s->n;
        ri.tut = r.dur;
      } else {
        rep_plan_rise(&r, rd.d, rd.apk, gap, rd.te);
        sp.phiF = sp.phi0 = phiF;
        size_t i0, nt, nc;
        TRY(deadlift_rep(g, &r, bar, t_tension, t_release, &sp, &i0, &nt, &nc));
        double tl = (double)nt * s->dt;
        rt = r;
        rt.dur = (double)(s->n - i0) * s->dt;
        rt.t_con += tl;
        rt.t_con_end += tl;
        rt.t_ecc += tl;
        rt.t_brake += tl;
        rt.t_peak += tl;
        ri.i_start = i0;
        ri.i_con0 = i0 + nt;
        ri.i_con1 = i0 + nt + (size_t)llround(r.first.dur * s->rate_hz);
        ri.i_imp0 = i0 + nt;      /* liftoff */
        ri.i_imp1 = i0 + nt + nc; /* touchdown */
        ri.tut = r.dur;
        ri.ev_name[ri.n_ev] = "liftoff";
        ri.ev_t[ri.n_ev++] = tl;
        ri.ev_name[ri.n_ev] = "touchdown";
        ri.ev_t[ri.n_ev++] = tl + r.dur;
      }
      ri.i_end = s->n;
      ri.t0 = _stance_sim_t(s, ri.i_start);
      ri.w_imp = ms * s->g;
      ri.rep = &rt;
      ri.set = j + 1;
      ri.has = STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
      ri.mass = ms;
      ri.bar_kg = bar;
      TRY(rep_truth(g, &ri, &st));
      prev_share = sh;
      if (k + 1 < n)
        TRY(still(g, rd.pause, sh)); /* squat: at the top; deadlift: bar on the floor, body set */
    }
    if (!deadlift) {
      TRY(still(g, 1.0, prev_share));
      TRY(load_ramp(g, t_unrack, prev_share, -bar)); /* rerack */
    } else {
      TRY(still(g, 0.5, prev_share));
      Move up;
      con_setup(&up, d_body, t_setup * 0.85, 0.0); /* stand up without the bar */
      TRY(emit_move(g, &up, s->m_body, prev_share));
    }
    set_truth(g, j + 1, &st);
    g->set_count++;
    if (j + 1 < n_sets) {
      /* Rests: warm-up rests are 40-60 % of the working rest (60-90 s at the default 150 s). */
      double rs =
          sp_plan->warmup && j + 1 < n_warm ? rest * _stance_rng_range(rng, 0.4, 0.6) : rest;
      double rs_done = (double)llround(rs * s->rate_hz) * s->dt;
      TRY(shift(g, 0.5, prev_share, s_left));
      TRY(still(g, rs - 0.5, s_left));
      prev_share = s_left;
      char id[32];
      snprintf(id, sizeof id, "rest_s_set%d", j + 2);
      _stance_sim_truth_session_metric(s, id, "s", STANCE_TRUTH_TOTAL, 0, 0, rs_done);
    }
  }
  TRY(still(g, 2.0, prev_share));
  _stance_sim_truth_session_metric(s, "working_set_count", "count", STANCE_TRUTH_TOTAL, 0, 0,
                                   (double)(n_sets - n_warm));
  _stance_sim_truth_session_metric(s, "warmup_set_count", "count", STANCE_TRUTH_TOTAL, 0, 0,
                                   (double)n_warm);
  _stance_sim_truth_session_metric(s, "system_mass_kg", "kg", STANCE_TRUTH_TOTAL, 0, 0,
                                   s->m_body + lw);
  session_share(g, false);
  return STANCE_OK;
}

/* ======================================================================================
 * Isometric mid-thigh pull and isometric squat (bilateral, or single-leg on `side`)
 * ====================================================================================== */

typedef struct {
  double E;                 /* excess force at the peak above the pre-tension, N */
  double tau, k;            /* Weibull rise: 1 - exp(-(t / tau)^k) */
  double c_fast;            /* share of the excess reached by the fast rise */
  double over;              /* early overshoot (fraction of the excess) */
  double t_pk;              /* time of the peak from onset, s */
  double decline;           /* drop by the end of the hold, fraction of the excess */
  double dur;               /* hold (onset to hold_end), s */
  double tr_w[2], tr_ph[2]; /* tremor (about 9-11 Hz and 1-2 Hz) */
} PullShape;

static double
pull_fast(const PullShape *ps, double t)
{
  return t <= 0.0 ? 0.0 : 1.0 - exp(-pow(t / ps->tau, ps->k));
}

/* Excess above the pre-tension at t from onset, without tremor: a fraction of E in [0, 1]. */
static double
pull_shape(const PullShape *ps, double t)
{
  if (t <= 0.0)
    return 0.0;
  double fast = pull_fast(ps, t);
  double bump = ps->over * _stance_hann((t - 0.05) / 0.6);
  double creep = _stance_smoothstep(t / ps->t_pk);
  double decl = ps->dur > ps->t_pk
                    ? ps->decline * _stance_smoothstep((t - ps->t_pk) / (ps->dur - ps->t_pk))
                    : 0.0;
  return (ps->c_fast + bump) * fast + (1.0 - ps->c_fast) * creep - decl;
}

static double
pull_force(const PullShape *ps, double t)
{
  double tremor = 0.004 * (0.6 * sin(ps->tr_w[0] * t + ps->tr_ph[0]) +
                           0.4 * sin(ps->tr_w[1] * t + ps->tr_ph[1]));
  return ps->E * (pull_shape(ps, t) + tremor * pull_fast(ps, t));
}

/* The rise time constant that makes the force at 100 ms equal `target` (N above pre-tension). */
static void
pull_solve_tau(PullShape *ps, double target)
{
  double frac = clampd(target / ps->E, 0.02, 0.95 * ps->c_fast);
  double lo = 0.005, hi = 2.0;
  for (int it = 0; it < 100; it++) {
    ps->tau = 0.5 * (lo + hi);
    if (pull_shape(ps, 0.1) > frac)
      lo = ps->tau;
    else
      hi = ps->tau;
  }
  ps->tau = 0.5 * (lo + hi);
}

static int
gen_isometric(Gen *g, bool squat)
{
  StanceSimScene *s = g->s;
  const StanceSimParams *p = s->p;
  StanceSimRng *rng = &s->rng;
  Caps c;
  caps_of(p, &c);
  const bool bilateral = p->side == STANCE_SIDE_BOTH;
  const int spl = side_plate(p->side);
  const double W = _stance_sim_weight(s);
  const double both = _stance_sim_still_share_left(p);
  const double stance = bilateral ? both : (spl == 0 ? 1.0 : 0.0);

  /* The athlete. */
  double peak_bw = squat ? _stance_rng_range(rng, 2.8, 3.9) : _stance_rng_range(rng, 2.6, 3.6);
  double sl_frac = _stance_rng_range(rng, 0.50, 0.60); /* single-leg share of the excess */
  /* Bilateral RFD 0-100 ms, N/s, for this athlete: 6500-12000 N/s at 75 kg, scaled by weight. */
  double rfd100 = _stance_rng_range(rng, 6500.0, 12000.0) * W / (75.0 * STANCE_GRAVITY);
  double kshape = _stance_rng_range(rng, 1.6, 2.0);
  double c_fast = _stance_rng_range(rng, 0.80, 0.88);
  double over = _stance_rng_range(rng, 0.0, 0.04);
  double t_pk0 = _stance_rng_range(rng, 1.5, 3.5);
  double decline = _stance_rng_range(rng, 0.01, 0.04);
  double pre = _stance_rng_range(rng, 0.03, 0.08);
  double f_tr = _stance_rng_range(rng, 8.5, 11.0), f_wob = _stance_rng_range(rng, 1.0, 2.0);
  double dur = p->duration_s > 0 ? p->duration_s : 5.0;
  int n = p->reps > 0 ? p->reps : 3;
  double rest = p->rest_s > 0 ? p->rest_s : 150.0;

  if (!p->no_still)
    TRY(still(g, 2.0, both));
  for (int trial = 1; trial <= n; trial++) {
    double e_pk = _stance_rng_gauss(rng), e_rfd = _stance_rng_gauss(rng);
    double pre_hold = _stance_rng_range(rng, 1.0, 1.5);
    double t_rel = _stance_rng_range(rng, 0.3, 0.5);
    double ph[4];
    for (int k = 0; k < 4; k++)
      ph[k] = _stance_rng_range(rng, 0.0, 2.0 * M_PI);
    double pk_k = 1.0 + (peak_bw - 1.0) * (1.0 + clampd(g->cv * e_pk, -0.1, 0.1));
    /* Force gained in the first 100 ms of a bilateral pull, N (trial CV twice the athlete's). */
    double rise_k = 0.1 * rfd100 * (1.0 + clampd(2.0 * g->cv * e_rfd, -0.15, 0.15));

    if (!bilateral) {
      TRY(shift(g, 0.8, both, stance));
      TRY(still(g, 0.8, stance));
    }
    /* Pre-tension: the total rises from W to W (1 + pre). */
    double w_pre = W * (1.0 + pre);
    {
      size_t nr = (size_t)llround(0.6 * s->rate_hz);
      for (size_t k = 0; k < nr; k++) {
        double w = W + (w_pre - W) * _stance_smoothstep((double)(k + 1) / (double)nr);
        double sh = share_wob(g, stance, _stance_sim_t(s, s->n));
        TRY(emit(g, sh * w, (1.0 - sh) * w, stance, NULL));
      }
      size_t nh = (size_t)llround(pre_hold * s->rate_hz);
      for (size_t k = 0; k < nh; k++) {
        double sh = share_wob(g, stance, _stance_sim_t(s, s->n));
        TRY(emit(g, sh * w_pre, (1.0 - sh) * w_pre, stance, NULL));
      }
    }

    /* Per-limb peaks and 0-100 ms rises. Bilateral: the total gross peak pk_k W is split by
     * force capacity (weaker = (1 - asym_force) x stronger, gross), the total 0-100 ms rise by RFD
     * capacity. Single-leg: the leg's gross peak is W (1 + (pk_k - 1) sl_frac), times its force
     * capacity; its rise is the bilateral rise's fraction of the bilateral excess, applied to the
     * stronger leg's excess, times its RFD capacity. */
    PullShape ps[2];
    double t_pk = fmin(t_pk0, 0.85 * dur);
    /* No athlete gains more than about 62 % of the excess in the first 100 ms (the curve is
     * still rising steeply there): weaker pulls cap the RFD. */
    rise_k = fmin(rise_k, 0.62 * (pk_k * W - w_pre));
    for (int pl = 0; pl < 2; pl++) {
      memset(&ps[pl], 0, sizeof ps[pl]);
      ps[pl].k = kshape;
      ps[pl].c_fast = c_fast;
      ps[pl].over = over;
      ps[pl].t_pk = t_pk;
      ps[pl].decline = decline;
      ps[pl].dur = dur;
      ps[pl].tr_w[0] = 2.0 * M_PI * f_tr;
      ps[pl].tr_w[1] = 2.0 * M_PI * f_wob;
      ps[pl].tr_ph[0] = ph[pl * 2];
      ps[pl].tr_ph[1] = ph[pl * 2 + 1];
    }
    if (bilateral) {
      double p_tot = pk_k * W;
      double rise_tot = rise_k;
      for (int pl = 0; pl < 2; pl++) {
        double sh = pl == 0 ? stance : 1.0 - stance;
        double peak = p_tot * c.f[pl] / (c.f[0] + c.f[1]);
        ps[pl].E = fmax(peak - sh * w_pre, 0.1 * W);
        pull_solve_tau(&ps[pl], rise_tot * c.r[pl] / (c.r[0] + c.r[1]));
      }
    } else {
      double peak_strong = W * (1.0 + (pk_k - 1.0) * sl_frac);
      double peak = fmax(peak_strong * c.f[spl], 1.2 * w_pre);
      ps[spl].E = peak - w_pre;
      double frac = rise_k / (pk_k * W - w_pre);
      pull_solve_tau(&ps[spl], frac * (peak_strong - w_pre) * c.r[spl]);
      ps[1 - spl].E = 0.0;
      ps[1 - spl].tau = 0.1;
    }

    size_t i_on = s->n;
    double t_on = _stance_sim_t(s, i_on);
    size_t nh = (size_t)llround(dur * s->rate_hz);
    double f_end[2] = {0, 0};
    for (size_t k = 0; k < nh; k++) {
      double t = (double)k * s->dt;
      double sh = share_wob(g, stance, _stance_sim_t(s, s->n));
      double fl = sh * w_pre + pull_force(&ps[0], t);
      double fr = (1.0 - sh) * w_pre + pull_force(&ps[1], t);
      if (!bilateral) {
        if (spl == 0)
          fr = 0.0;
        else
          fl = 0.0;
      }
      TRY(emit(g, fl, fr, stance, NULL));
      f_end[0] = fl;
      f_end[1] = fr;
    }
    size_t i_hold_end = s->n;
    /* Release back to standing. */
    size_t nrel = (size_t)llround(t_rel * s->rate_hz);
    for (size_t k = 0; k < nrel; k++) {
      double u = _stance_smoothstep((double)(k + 1) / (double)nrel);
      double sh = share_wob(g, stance, _stance_sim_t(s, s->n));
      double fl = f_end[0] * (1.0 - u) + sh * W * u;
      double fr = f_end[1] * (1.0 - u) + (1.0 - sh) * W * u;
      TRY(emit(g, fl, fr, stance, NULL));
    }
    double t_end = _stance_sim_t(s, s->n);

    StanceTruthTrial *tr = _stance_sim_truth_trial(s, "hold", t_on - pre_hold, t_end);
    if (!tr && s->truth)
      return STANCE_ENOMEM;
    if (tr) {
      size_t ipk = i_on;
      for (size_t i = i_on; i < i_hold_end; i++)
        if (s->f[0][i] + s->f[1][i] > s->f[0][ipk] + s->f[1][ipk])
          ipk = i;
      _stance_sim_truth_event(tr, "onset", t_on);
      _stance_sim_truth_event(tr, "peak", _stance_sim_t(s, ipk));
      _stance_sim_truth_event(tr, "hold_end", t_on + (double)nh * s->dt);
      unsigned has = STANCE_TRUTH_TOTAL;
      double wl, wr;
      if (bilateral) {
        has |= STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT;
        wl = W * stance;
        wr = W - wl;
      } else {
        has |= spl == 0 ? STANCE_TRUTH_LEFT : STANCE_TRUTH_RIGHT;
        wl = spl == 0 ? W : 0.0;
        wr = W - wl;
      }
      _stance_sim_truth_force_metrics(s, tr, has, i_on, i_on, i_hold_end, wl, wr);
      /* Impulse windows from onset: gross and net of the limb's share of body weight. */
      static const int win_ms[3] = {100, 200, 300};
      for (int w = 0; w < 3; w++) {
        size_t kw = (size_t)llround(win_ms[w] * 1e-3 * s->rate_hz);
        if (i_on + kw >= i_hold_end)
          continue;
        double imp[3] = {0, 0, 0};
        for (size_t i = i_on; i < i_on + kw; i++)
          for (int sel = 0; sel < 3; sel++)
            imp[sel] += 0.5 * (sc_force(s, sel, i) + sc_force(s, sel, i + 1)) * s->dt;
        double span = (double)kw * s->dt;
        unsigned hw = has;
        char id[32];
        snprintf(id, sizeof id, "impulse_0_%d", win_ms[w]);
        _stance_sim_truth_metric(tr, id, "N.s", hw, imp[0], imp[1], imp[2]);
        snprintf(id, sizeof id, "net_impulse_0_%d", win_ms[w]);
        _stance_sim_truth_metric(tr, id, "N.s", hw, imp[0] - wl * span, imp[1] - wr * span,
                                 imp[2] - W * span);
      }
      _stance_sim_truth_metric(tr, "pretension_force", "N", has, w_pre * stance,
                               w_pre * (1.0 - stance), w_pre);
    }

    if (!bilateral)
      TRY(shift(g, 0.8, stance, both));
    if (trial < n)
      TRY(still(g, rest, both));
  }
  TRY(still(g, 2.0, both));
  return STANCE_OK;
}

/* ======================================================================================
 * Dispatcher
 * ====================================================================================== */

int
_stance_sim_gen_strength(StanceSimScene *s, StanceError *err)
{
  const StanceSimParams *p = s->p;
  const char *name = stance_protocol_name(p->protocol);
  Gen g;
  int r;
  bool reps = true;
  switch (p->protocol) {
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT:
    gen_init(&g, s);
    r = gen_isometric(&g, p->protocol == STANCE_PROTO_ISO_SQUAT);
    reps = false;
    break;
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE:
  case STANCE_PROTO_STEP_UP:
  case STANCE_PROTO_SL_SQUAT:
  case STANCE_PROTO_SL_RDL:
    if (p->side != STANCE_SIDE_LEFT && p->side != STANCE_SIDE_RIGHT)
      return stance_error_set(err, STANCE_EINVAL,
                              "side: %s needs a side (expected left or right, not both)", name);
    gen_init(&g, s);
    if (p->protocol == STANCE_PROTO_SPLIT_SQUAT || p->protocol == STANCE_PROTO_LUNGE)
      r = gen_split(&g, p->protocol == STANCE_PROTO_LUNGE);
    else if (p->protocol == STANCE_PROTO_STEP_UP)
      r = gen_step_up(&g);
    else
      r = gen_single_leg(&g, p->protocol == STANCE_PROTO_SL_RDL);
    break;
  case STANCE_PROTO_BACK_SQUAT:
  case STANCE_PROTO_DEADLIFT:
    if (!(p->external_load_kg >= 20.0))
      return stance_error_set(err, STANCE_EINVAL,
                              "load: %g kg is not a barbell working load for %s (expected at least "
                              "the 20 kg bar, e.g. 100)",
                              p->external_load_kg, name);
    gen_init(&g, s);
    r = gen_barbell(&g, p->protocol == STANCE_PROTO_DEADLIFT);
    break;
  default:
    return stance_error_set(err, STANCE_EINVAL,
                            "protocol '%s' is not one of the strength generator's", name);
  }
  if (r < 0)
    return stance_error_set(err, r, "simulating %s: %s", name,
                            r == STANCE_ENOMEM ? "out of memory for the samples or the truth"
                                               : stance_strerror(r));
  if (reps) {
    _stance_sim_truth_session_metric(s, "rep_count", "count", STANCE_TRUTH_TOTAL, 0, 0,
                                     (double)g.rep_count);
    _stance_sim_truth_session_metric(s, "set_count", "count", STANCE_TRUTH_TOTAL, 0, 0,
                                     (double)g.set_count);
  }
  return STANCE_OK;
}
