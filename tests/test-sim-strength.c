/* test-sim-strength.c: the simulator's strength protocols: isometric pulls and squats, split
 * squat, lunge, step-up, single-leg squat and RDL, barbell back squat and deadlift sets.
 *
 * Physics and ranges are checked on the ground truth AND on the forces decoded from the raw counts
 * through the calibration (stance_recording_force), so the sensor chain cannot hide a mistake:
 * rep counts, net impulse over each rep (the COM returns), still weights, load shares, the
 * asymmetry and fatigue models, IMTP peaks and RFD, rests, determinism.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-sim-private.h"
#include "stance-sim.h"
#include "stance-test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

typedef struct {
  StanceRecording *rec;
  StanceSimTruth *t;
  size_t n;
  double rate;
  double *f[3]; /* decoded left, right, total (N) */
} Sim;

static void
sim_run(Sim *sm, const StanceSimParams *p)
{
  memset(sm, 0, sizeof *sm);
  StanceError err = {0};
  int r = stance_sim_run(p, &sm->rec, &sm->t, &err);
  ck_assert_msg(r == 0, "stance_sim_run(%s) failed: %s", stance_protocol_name(p->protocol),
                err.message);
  sm->n = sm->rec->n_samples;
  sm->rate = sm->rec->sample_rate_hz;
  static const StanceSel sel[3] = {STANCE_SEL_LEFT, STANCE_SEL_RIGHT, STANCE_SEL_TOTAL};
  for (int k = 0; k < 3; k++) {
    sm->f[k] = malloc(sm->n * sizeof(double));
    ck_assert_ptr_nonnull(sm->f[k]);
    ck_assert_int_eq(stance_recording_force(sm->rec, sel[k], sm->f[k], NULL), 0);
  }
}

static void
sim_free(Sim *sm)
{
  for (int k = 0; k < 3; k++)
    free(sm->f[k]);
  stance_recording_free(sm->rec);
  stance_sim_truth_free(sm->t);
}

static size_t
idx(const Sim *sm, double t)
{
  double i = floor(t * sm->rate + 0.5);
  if (i < 0)
    i = 0;
  if (i > (double)(sm->n - 1))
    i = (double)(sm->n - 1);
  return (size_t)i;
}

/* Mean of decoded series k over [t0, t1) s. */
static double
mean_dec(const Sim *sm, int k, double t0, double t1)
{
  size_t i0 = idx(sm, t0), i1 = idx(sm, t1);
  ck_assert(i1 > i0);
  double s = 0.0;
  for (size_t i = i0; i < i1; i++)
    s += sm->f[k][i];
  return s / (double)(i1 - i0);
}

/* Largest of series k over [t0, t1) after a centred 21-sample moving average (the noise of a
 * single sample would bias a raw maximum upwards by a couple of newtons). */
static double
max_dec(const Sim *sm, int k, double t0, double t1)
{
  size_t i0 = idx(sm, t0), i1 = idx(sm, t1);
  double best = -INFINITY;
  for (size_t i = i0 + 10; i + 10 < i1; i++) {
    double s = 0.0;
    for (size_t j = i - 10; j <= i + 10; j++)
      s += sm->f[k][j];
    best = fmax(best, s / 21.0);
  }
  return best;
}

static double
min_dec(const Sim *sm, int k, double t0, double t1)
{
  size_t i0 = idx(sm, t0), i1 = idx(sm, t1);
  double best = INFINITY;
  for (size_t i = i0 + 10; i + 10 < i1; i++) {
    double s = 0.0;
    for (size_t j = i - 10; j <= i + 10; j++)
      s += sm->f[k][j];
    best = fmin(best, s / 21.0);
  }
  return best;
}

/* Net impulse of the decoded total over [t0, t1] relative to weight w (trapezoid), N.s. */
static double
net_impulse_dec(const Sim *sm, double t0, double t1, double w)
{
  size_t i0 = idx(sm, t0), i1 = idx(sm, t1);
  double j = 0.0;
  for (size_t i = i0; i < i1; i++)
    j += 0.5 * (sm->f[2][i] + sm->f[2][i + 1] - 2.0 * w) / sm->rate;
  return j;
}

/* Excursions of the decoded total above hi, re-armed when it falls below lo, in [t0, t1). The
 * series is smoothed over 21 samples first. An independent rep counter for squat-type reps. */
static int
count_excursions(const Sim *sm, double t0, double t1, double hi, double lo)
{
  size_t i0 = idx(sm, t0), i1 = idx(sm, t1);
  int n = 0;
  bool armed = true;
  for (size_t i = i0 + 10; i + 10 < i1; i++) {
    double s = 0.0;
    for (size_t j = i - 10; j <= i + 10; j++)
      s += sm->f[2][j];
    s /= 21.0;
    if (armed && s > hi) {
      n++;
      armed = false;
    } else if (!armed && s < lo) {
      armed = true;
    }
  }
  return n;
}

static const StanceTruthMetric *
metric(const StanceTruthTrial *tr, const char *id)
{
  const StanceTruthMetric *m = stance_sim_truth_metric(tr, id);
  ck_assert_msg(m != NULL, "trial %d has no metric %s", tr->index, id);
  return m;
}

static double
session(const StanceSimTruth *t, const char *id)
{
  const StanceTruthMetric *m = stance_sim_truth_session_metric(t, id);
  ck_assert_msg(m != NULL, "no session metric %s", id);
  return m->total;
}

static double
event(const StanceTruthTrial *tr, const char *name)
{
  double t = stance_sim_truth_event(tr, name);
  ck_assert_msg(t >= 0.0, "trial %d has no event %s", tr->index, name);
  return t;
}

static int
count_kind(const StanceSimTruth *t, const char *kind, int set)
{
  int n = 0;
  for (size_t k = 0; k < t->n_trials; k++)
    if (strcmp(t->trials[k].kind, kind) == 0 && (set < 0 || t->trials[k].set == set))
      n++;
  return n;
}

/* Every rep of a run: the COM returns (net impulse of the decoded force over the rep, relative
 * to the system weight, within 0.5 % of W x rep duration; the noise contributes about 0.05 N.s),
 * the truth's own net impulse is ~0, and the events are in order. */
static void
check_reps_com(const Sim *sm, double w, const char *imp0_ev, const char *imp1_ev)
{
  for (size_t k = 0; k < sm->t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm->t->trials[k];
    if (strcmp(tr->kind, "rep") != 0)
      continue;
    double t0 = imp0_ev ? event(tr, imp0_ev) : tr->start_s;
    double t1 = imp1_ev ? event(tr, imp1_ev) : tr->end_s;
    double dur = t1 - t0;
    double wr = w > 0 ? w : metric(tr, "system_mass_kg")->total * STANCE_GRAVITY;
    double j = net_impulse_dec(sm, t0, t1, wr);
    ck_assert_msg(fabs(j) < 0.005 * wr * dur, "rep %d: decoded net impulse %.3f N.s over %.3f s",
                  tr->index, j, dur);
    ck_assert_msg(fabs(metric(tr, "net_impulse")->total) < 0.001 * wr * dur,
                  "rep %d: truth net impulse %.4f N.s", tr->index,
                  metric(tr, "net_impulse")->total);
    double es = event(tr, "ecc_start"), cs = event(tr, "con_start"), pk = event(tr, "peak");
    double re = event(tr, "rep_end");
    ck_assert(es >= tr->start_s - 1e-9 && cs >= tr->start_s - 1e-9 && re <= tr->end_s + 1e-9);
    ck_assert(pk > cs && pk < re);
  }
}

/* ---- split squat (the issue's check) ---- */

START_TEST(test_split_squat_issue)
{
  /* simulate split-squat --front left --reps 8 --asymmetry 15 --seed 1 */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SPLIT_SQUAT, 1);
  stance_test_sim_set(&p, "front", "left");
  stance_test_sim_set(&p, "reps", "8");
  stance_test_sim_set(&p, "asymmetry", "15");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;

  ck_assert_int_eq(count_kind(sm.t, "rep", 1), 8);
  ck_assert_int_eq((int)session(sm.t, "rep_count"), 8);
  /* Independent count on the decoded total: excursions above BW + 5 %. */
  const StanceTruthTrial *first = &sm.t->trials[0], *last = &sm.t->trials[sm.t->n_trials - 1];
  ck_assert_int_eq(
      count_excursions(&sm, first->start_s - 0.5, last->end_s + 0.5, 1.05 * bw, 1.01 * bw), 8);
  /* The first 2 s are still standing in the split stance: they weigh m g within 0.1 %. */
  ck_assert_near(mean_dec(&sm, 2, 0.1, 1.9), bw, 0.001 * bw);
  check_reps_com(&sm, bw, NULL, NULL);

  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    /* Front (left) share of the mean force: 60-70 % nominal, shifted by the asymmetry (the rear
     * right leg is the weaker one by default here, so the front takes a little more). */
    double fs = metric(tr, "front_share_pct")->total;
    ck_assert_msg(fs > 55.0 && fs < 75.0, "rep %d front share %.2f %%", tr->index, fs);
    ck_assert_near(metric(tr, "load_share_pct")->left, fs, 1e-9);
    double dec_fs =
        100.0 * mean_dec(&sm, 0, tr->start_s, tr->end_s) / mean_dec(&sm, 2, tr->start_s, tr->end_s);
    ck_assert_near(dec_fs, fs, 0.1); /* decoded vs truth: noise only */
    /* Forces: the total peaks 5-35 % above weight and dips below it (descent and top of the
     * ascent); the front foot carries more than the rear at its peak. */
    double pk = max_dec(&sm, 2, tr->start_s, tr->end_s);
    double mn = min_dec(&sm, 2, tr->start_s, tr->end_s);
    ck_assert_msg(pk > 1.05 * bw && pk < 1.35 * bw, "rep %d peak %.1f N", tr->index, pk);
    ck_assert_msg(mn < 0.97 * bw && mn > 0.70 * bw, "rep %d min %.1f N", tr->index, mn);
    ck_assert_near(pk, metric(tr, "peak_force")->total, 0.01 * bw);
    ck_assert(metric(tr, "peak_force")->left > metric(tr, "peak_force")->right);
    /* Tempo 3 s (default): descent + ascent. */
    double dur = metric(tr, "rep_duration")->total;
    ck_assert_msg(dur > 2.6 && dur < 3.4, "rep %d lasts %.3f s", tr->index, dur);
    ck_assert(metric(tr, "con_rfd")->total > 0.0);
    ck_assert_near(metric(tr, "time_under_tension")->total, dur, 1e-9);
    /* Bottom reversal: force above weight at con_start. */
    ck_assert(sm.f[2][idx(&sm, event(tr, "con_start"))] > bw * 1.02);
  }
  sim_free(&sm);
}
END_TEST

/* The documented asymmetry model: a weaker FRONT leg scales the front share of the static load
 * and of the excess by (1 - a): s = b (1 - a) / (b (1 - a) + 1 - b), with b the share without
 * asymmetry (same seed, so the same athlete and the same rep-to-rep draws). */
START_TEST(test_split_squat_front_weaker)
{
  StanceSimParams p0 = stance_test_sim_params(STANCE_PROTO_SPLIT_SQUAT, 1);
  stance_test_sim_set(&p0, "rate", "500");
  stance_test_sim_set(&p0, "front", "left");
  stance_test_sim_set(&p0, "weaker", "left");
  StanceSimParams p1 = p0;
  stance_test_sim_set(&p1, "asymmetry", "15");
  Sim a, b;
  sim_run(&a, &p0);
  sim_run(&b, &p1);
  ck_assert_uint_eq(a.t->n_trials, b.t->n_trials);
  double drop_sum = 0.0;
  for (size_t k = 0; k < a.t->n_trials; k++) {
    double s0 = metric(&a.t->trials[k], "front_share_pct")->total / 100.0;
    double s1 = metric(&b.t->trials[k], "front_share_pct")->total / 100.0;
    double expect = s0 * 0.85 / (s0 * 0.85 + 1.0 - s0);
    /* 0.3 points: the +-1 % load-split wobble is scaled slightly differently at another share. */
    ck_assert_msg(fabs(100.0 * (s1 - expect)) < 0.3, "rep %zu: front share %.2f %%, expected %.2f",
                  k + 1, 100 * s1, 100 * expect);
    /* The front peak force scales by the same ratio (the front takes s of the total force). */
    double r =
        metric(&b.t->trials[k], "peak_force")->left / metric(&a.t->trials[k], "peak_force")->left;
    ck_assert_msg(fabs(r - s1 / s0) < 0.01, "rep %zu: front peak ratio %.4f vs %.4f", k + 1, r,
                  s1 / s0);
    drop_sum += 100.0 * (s0 - s1);
  }
  /* Visibly: about 3.5-4.5 points of front share for b = 0.62-0.68. */
  double drop = drop_sum / (double)a.t->n_trials;
  ck_assert_msg(drop > 3.0 && drop < 5.0, "front share drop %.2f points", drop);
  /* Decoded: the front plate's mean force over the reps drops by the same fraction. */
  const StanceTruthTrial *fa = &a.t->trials[0], *la = &a.t->trials[a.t->n_trials - 1];
  double m0 = mean_dec(&a, 0, fa->start_s, la->end_s), m1 = mean_dec(&b, 0, fa->start_s, la->end_s);
  ck_assert_msg(m1 < 0.96 * m0, "front mean %.1f N vs %.1f N", m1, m0);
  sim_free(&a);
  sim_free(&b);
}
END_TEST

START_TEST(test_split_squat_fatigue_and_variability)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SPLIT_SQUAT, 7);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "reps", "12");
  stance_test_sim_set(&p, "fatigue", "20");
  stance_test_sim_set(&p, "side", "right");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq(count_kind(sm.t, "rep", 1), 12);
  /* Fatigue is the drop of the peak force above weight from the first to the last rep. */
  ck_assert_near(session(sm.t, "fatigue_index_set1"), 20.0, 1.0);
  const StanceTruthTrial *f = &sm.t->trials[0], *l = &sm.t->trials[11];
  double e1 = max_dec(&sm, 2, f->start_s, f->end_s) - bw;
  double en = max_dec(&sm, 2, l->start_s, l->end_s) - bw;
  ck_assert_near(100.0 * (e1 - en) / e1, 20.0, 1.0);
  /* Velocity falls too (a slower ascent), and the ascent is longer. */
  ck_assert(metric(l, "peak_velocity")->total < metric(f, "peak_velocity")->total);
  ck_assert(metric(l, "con_duration")->total > metric(f, "con_duration")->total);
  /* Rep-to-rep variability about the fatigue line: residual CV of the excess peaks of the middle
   * reps between 0.5 % and 6 % (the athlete's CV is 2-4 %). */
  double ss = 0.0;
  int n = 0;
  for (int k = 1; k < 11; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double line = (metric(f, "peak_force")->total - bw) * (1.0 - 0.2 * k / 11.0);
    double dev = (metric(tr, "peak_force")->total - bw) / line - 1.0;
    ss += dev * dev;
    n++;
  }
  double cv = sqrt(ss / n);
  ck_assert_msg(cv > 0.005 && cv < 0.06, "rep CV %.4f", cv);
  check_reps_com(&sm, bw, NULL, NULL);
  sim_free(&sm);
}
END_TEST

/* ---- lunge, step-up, single-leg squat and RDL ---- */

START_TEST(test_lunge)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_LUNGE, 3);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "front", "right");
  stance_test_sim_set(&p, "reps", "6");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq(count_kind(sm.t, "rep", 1), 6);
  ck_assert_near(sm.t->still_share_left, 1.0, 1e-12); /* both feet on the rear (left) plate */
  /* Standing: all on the rear plate, the front plate empty (decoded within noise). */
  ck_assert_near(mean_dec(&sm, 0, 0.1, 1.9), bw, 0.001 * bw);
  ck_assert_near(mean_dec(&sm, 1, 0.1, 1.9), 0.0, 1.0);
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double on = event(tr, "front_on"), off = event(tr, "front_off");
    ck_assert(on > tr->start_s && on < event(tr, "con_start") && off > event(tr, "con_start") &&
              off <= tr->end_s);
    /* front plate: empty before the step, loaded 55-75 % in the split, empty after */
    ck_assert_near(mean_dec(&sm, 1, tr->start_s, on - 0.02), 0.0, 1.0);
    double split = mean_dec(&sm, 1, on + 0.3, event(tr, "con_start")) /
                   mean_dec(&sm, 2, on + 0.3, event(tr, "con_start"));
    ck_assert_msg(split > 0.55 && split < 0.75, "rep %d front share in the split %.3f", tr->index,
                  split);
    ck_assert_near(mean_dec(&sm, 1, off + 0.02, tr->end_s + 0.3), 0.0, 1.0);
    /* the rear foot stays: the left plate never unloads */
    ck_assert(min_dec(&sm, 0, tr->start_s, tr->end_s) > 0.2 * bw);
  }
  ck_assert_int_eq(count_excursions(&sm, 2.0, sm.n / sm.rate - 0.1, 1.05 * bw, 1.01 * bw), 6);
  check_reps_com(&sm, bw, NULL, NULL);
  sim_free(&sm);
}
END_TEST

START_TEST(test_step_up)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_STEP_UP, 4);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "side", "left"); /* box on the left plate */
  stance_test_sim_set(&p, "reps", "5");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq(count_kind(sm.t, "rep", 1), 5);
  ck_assert_near(mean_dec(&sm, 2, 0.1, 1.9), bw, 0.001 * bw);
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double off = event(tr, "trail_off"), on = event(tr, "trail_on");
    ck_assert(event(tr, "con_start") < off && off < event(tr, "ecc_start") &&
              event(tr, "ecc_start") < on);
    /* At the top the trailing (right) plate is empty and the box plate carries the weight. */
    ck_assert_near(mean_dec(&sm, 1, off + 0.05, on - 0.05), 0.0, 1.0);
    /* Standing before the rep, the trailing foot bears 60-70 %. */
    double tshare = mean_dec(&sm, 1, tr->start_s - 0.3, tr->start_s) /
                    mean_dec(&sm, 2, tr->start_s - 0.3, tr->start_s);
    ck_assert(tshare > 0.58 && tshare < 0.72);
    /* The rise: peak 5-35 % above weight, from the box leg. */
    double pk = metric(tr, "peak_force")->total;
    ck_assert(pk > 1.05 * bw && pk < 1.35 * bw);
    ck_assert_near(metric(tr, "peak_force")->left, pk, 0.02 * bw);
    ck_assert(metric(tr, "com_displacement")->total > 0.28 &&
              metric(tr, "com_displacement")->total < 0.42);
  }
  check_reps_com(&sm, bw, NULL, NULL);
  sim_free(&sm);
}
END_TEST

START_TEST(test_single_leg_squat_and_rdl)
{
  for (int rdl = 0; rdl < 2; rdl++) {
    StanceSimParams p = stance_test_sim_params(rdl ? STANCE_PROTO_SL_RDL : STANCE_PROTO_SL_SQUAT,
                                               5 + (uint64_t)rdl);
    stance_test_sim_set(&p, "rate", "500");
    stance_test_sim_set(&p, "side", "right");
    stance_test_sim_set(&p, "reps", "6");
    Sim sm;
    sim_run(&sm, &p);
    const double bw = 75.0 * STANCE_GRAVITY;
    ck_assert_int_eq(count_kind(sm.t, "rep", 1), 6);
    ck_assert_near(mean_dec(&sm, 2, 0.1, 1.9), bw, 0.001 * bw); /* both feet */
    const StanceTruthTrial *f = &sm.t->trials[0], *l = &sm.t->trials[5];
    /* The free (left) foot is off its plate for the whole set. */
    double lmax = max_dec(&sm, 0, f->start_s - 0.5, l->end_s + 0.5);
    ck_assert_msg(lmax < 2.0, "left plate %.2f N during single-leg reps", lmax);
    for (int k = 0; k < 6; k++) {
      const StanceTruthTrial *tr = &sm.t->trials[k];
      double pk = max_dec(&sm, 1, tr->start_s, tr->end_s) / bw - 1.0;
      double mn = 1.0 - min_dec(&sm, 1, tr->start_s, tr->end_s) / bw;
      /* Force oscillation: squat +10-30 % / -5-30 % of BW; the slower, shallower RDL +5-15 %. */
      if (rdl) {
        ck_assert_msg(pk > 0.04 && pk < 0.15, "RDL rep %d +%.3f BW", k + 1, pk);
        ck_assert_msg(mn > 0.02 && mn < 0.15, "RDL rep %d -%.3f BW", k + 1, mn);
      } else {
        ck_assert_msg(pk > 0.10 && pk < 0.30, "SL squat rep %d +%.3f BW", k + 1, pk);
        ck_assert_msg(mn > 0.05 && mn < 0.30, "SL squat rep %d -%.3f BW", k + 1, mn);
      }
      ck_assert_near(metric(tr, "load_share_pct")->right, 100.0, 1e-9);
    }
    /* The stance foot's CoP moves forward with depth (truth path at 100 Hz, right plate): the
     * AP range over the reps exceeds the 2-legged sway's few millimetres. */
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < sm.t->cop_n; k++) {
      double t = (double)k / sm.t->cop_rate_hz;
      if (t < f->start_s || t > l->end_s || !sm.t->cop_valid[1][k])
        continue;
      ymin = fmin(ymin, sm.t->cop_y[1][k]);
      ymax = fmax(ymax, sm.t->cop_y[1][k]);
    }
    ck_assert_msg(ymax - ymin > 10.0 && ymax - ymin < 60.0, "CoP AP range %.1f mm", ymax - ymin);
    check_reps_com(&sm, bw, NULL, NULL);
    sim_free(&sm);
  }
}
END_TEST

/* ---- isometrics ---- */

START_TEST(test_imtp_bilateral)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_IMTP, 1);
  stance_test_sim_set(&p, "rest", "20");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq(count_kind(sm.t, "hold", -1), 3);          /* default 3 trials */
  ck_assert_near(mean_dec(&sm, 2, 0.1, 1.9), bw, 0.001 * bw); /* still, bar not pulled */
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double on = event(tr, "onset"), pk = event(tr, "peak"), he = event(tr, "hold_end");
    ck_assert(on < pk && pk < he);
    ck_assert_near(he - on, 5.0, 1e-6); /* default hold */
    /* Published ranges: gross peak 2.5-4 BW; 0-100 ms RFD 5000-15000 N/s bilateral. */
    double fpk = metric(tr, "peak_force")->total;
    ck_assert_msg(fpk > 2.5 * bw && fpk < 4.0 * bw, "trial %d peak %.0f N", tr->index, fpk);
    double rfd = metric(tr, "rfd_0_100")->total;
    ck_assert_msg(rfd > 5000 && rfd < 15000, "trial %d RFD 0-100 %.0f N/s", tr->index, rfd);
    /* RFD epochs fall after the early rise: 0-250 < 0-100 (the force levels off). */
    ck_assert(metric(tr, "rfd_0_250")->total < rfd);
    /* Decoded: the peak within 1 % and the 0-100 ms rise within 3 % of the truth. */
    ck_assert_near(max_dec(&sm, 2, on, he), fpk, 0.01 * fpk);
    double f0 = mean_dec(&sm, 2, on - 0.5, on);
    double d100 = (mean_dec(&sm, 2, on + 0.099, on + 0.101) - f0) / 0.1;
    ck_assert_near(d100, rfd, 0.03 * rfd);
    /* Stands still after the release: body weight again. */
    ck_assert_near(mean_dec(&sm, 2, tr->end_s + 0.2, tr->end_s + 1.2), bw, 0.001 * bw);
    /* Net impulse is net of body weight per limb by the still share. */
    const StanceTruthMetric *ni = metric(tr, "net_impulse"), *im = metric(tr, "impulse");
    double span = he - on - 1.0 / sm.rate;
    ck_assert_near(ni->total, im->total - bw * span, 1e-6 * im->total);
    ck_assert_near(ni->left, im->left - bw * sm.t->still_share_left * span, 1e-6 * im->total);
    ck_assert(metric(tr, "net_impulse_0_300")->total > metric(tr, "net_impulse_0_100")->total);
  }
  sim_free(&sm);
}
END_TEST

START_TEST(test_imtp_asymmetry_and_single_leg)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_IMTP, 2);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "rest", "10");
  stance_test_sim_set(&p, "reps", "2");
  stance_test_sim_set(&p, "asymmetry", "15");
  stance_test_sim_set(&p, "weaker", "left");
  Sim sm;
  sim_run(&sm, &p);
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    /* weaker / stronger gross peak = 0.85 (1 % for tremor and the overshoot at the peak),
     * 0-100 ms RFD likewise (2 %: the tremor at 100 ms). */
    const StanceTruthMetric *pk = metric(tr, "peak_force"), *rfd = metric(tr, "rfd_0_100");
    ck_assert_near(pk->left / pk->right, 0.85, 0.01);
    ck_assert_near(rfd->left / rfd->right, 0.85, 0.02);
    double on = event(tr, "onset"), he = event(tr, "hold_end");
    ck_assert_near(max_dec(&sm, 0, on, he) / max_dec(&sm, 1, on, he), 0.85, 0.012);
  }
  sim_free(&sm);

  /* Single-leg IMTP on the right: the left plate is empty during the pull. */
  p = stance_test_sim_params(STANCE_PROTO_IMTP, 3);
  stance_test_sim_set(&p, "side", "right");
  stance_test_sim_set(&p, "reps", "1");
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq(count_kind(sm.t, "hold", -1), 1);
  const StanceTruthTrial *tr = &sm.t->trials[0];
  double on = event(tr, "onset"), he = event(tr, "hold_end");
  ck_assert(max_dec(&sm, 0, on - 0.5, he) < 2.0);
  double fpk = metric(tr, "peak_force")->right;
  ck_assert_msg(fpk > 1.5 * bw && fpk < 3.0 * bw, "single-leg peak %.0f N", fpk);
  ck_assert(stance_sim_truth_metric(tr, "peak_force")->has & STANCE_TRUTH_RIGHT);
  ck_assert(!(stance_sim_truth_metric(tr, "peak_force")->has & STANCE_TRUTH_LEFT));
  sim_free(&sm);

  /* Isometric squat: similar or higher peaks. */
  p = stance_test_sim_params(STANCE_PROTO_ISO_SQUAT, 4);
  stance_test_sim_set(&p, "reps", "1");
  stance_test_sim_set(&p, "duration", "3");
  sim_run(&sm, &p);
  tr = &sm.t->trials[0];
  ck_assert_near(event(tr, "hold_end") - event(tr, "onset"), 3.0, 1e-6);
  fpk = metric(tr, "peak_force")->total;
  ck_assert_msg(fpk > 2.5 * bw && fpk < 4.0 * bw, "iso squat peak %.0f N", fpk);
  sim_free(&sm);
}
END_TEST

/* ---- barbell ---- */

/* Checks every set: reps counted on the decoded force (one excursion above the set's system
 * weight + 5 % per squat rep; one liftoff per deadlift rep), the truth's reps per set. */
static void
check_sets(const Sim *sm, const int *reps, int n_sets, bool deadlift)
{
  const double bw = 75.0 * STANCE_GRAVITY;
  ck_assert_int_eq((int)session(sm->t, "set_count"), n_sets);
  int total = 0;
  for (int s = 1; s <= n_sets; s++) {
    ck_assert_int_eq(count_kind(sm->t, "rep", s), reps[s - 1]);
    total += reps[s - 1];
    double t0 = INFINITY, t1 = -INFINITY, ms = 0.0;
    for (size_t k = 0; k < sm->t->n_trials; k++) {
      const StanceTruthTrial *tr = &sm->t->trials[k];
      if (tr->set != s)
        continue;
      t0 = fmin(t0, tr->start_s);
      t1 = fmax(t1, tr->end_s);
      ms = metric(tr, "system_mass_kg")->total;
    }
    double w = ms * STANCE_GRAVITY;
    int n = deadlift ? count_excursions(sm, t0 - 0.3, t1 + 0.3, 0.5 * (bw + w),
                                        0.5 * (bw + w) - 0.05 * (w - bw))
                     : count_excursions(sm, t0 - 0.5, t1 + 0.5, 1.05 * w, 1.02 * w);
    ck_assert_msg(n == reps[s - 1], "set %d: %d reps counted on the decoded force, %d expected", s,
                  n, reps[s - 1]);
  }
  ck_assert_int_eq((int)session(sm->t, "rep_count"), total);
}

START_TEST(test_back_squat_sets)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_BACK_SQUAT, 1);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "rest", "20");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  static const int reps[7] = {8, 6, 4, 2, 5, 5, 5};
  static const double load[7] = {40, 55, 70, 85, 100, 100, 100}; /* of 100 kg, 2.5 kg plates */
  check_sets(&sm, reps, 7, false);
  ck_assert_int_eq((int)session(sm.t, "working_set_count"), 3);
  ck_assert_near(session(sm.t, "system_mass_kg"), 175.0, 1e-9);
  ck_assert_near(mean_dec(&sm, 2, 0.1, 1.9), bw, 0.001 * bw); /* before the first unrack */
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double bar = metric(tr, "bar_load_kg")->total;
    ck_assert_near(bar, load[tr->set - 1], 1e-9);
    ck_assert_near(metric(tr, "system_mass_kg")->total, 75.0 + bar, 1e-9);
    double w = (75.0 + bar) * STANCE_GRAVITY;
    /* The first rep of each set follows >= 1 s of still standing with the bar on the back: it
     * weighs (body + bar) g within 0.1 %. */
    bool first = k == 0 || sm.t->trials[k - 1].set != tr->set;
    if (first)
      ck_assert_near(mean_dec(&sm, 2, tr->start_s - 1.0, tr->start_s - 0.05), w, 0.001 * w);
    /* Load share per rep: near 50/50 without asymmetry (the static wobble and jitter). */
    double ls = metric(tr, "load_share_pct")->left;
    ck_assert(ls > 47.0 && ls < 53.0);
    double pk = metric(tr, "peak_force")->total;
    ck_assert_msg(pk > 1.05 * w && pk < 1.6 * w, "rep %d peak %.0f N (W %.0f)", tr->index, pk, w);
    ck_assert(metric(tr, "con_rfd")->total > 0.0);
  }
  /* Racked between sets: the plates carry the body only during the rests. */
  for (int s = 5; s <= 7; s++) {
    char id[32];
    snprintf(id, sizeof id, "rest_s_set%d", s);
    ck_assert_near(session(sm.t, id), 20.0, 0.01);
  }
  check_reps_com(&sm, 0.0, NULL, NULL);
  sim_free(&sm);
}
END_TEST

/* Defaults once: 1000 Hz, warm-up ladder, 3 x 5 at 100 kg, 150 s rests, under 15 minutes.
 * Under valgrind (memcheck finds memory errors, not physics) the same run is made at 500 Hz to
 * halve its 830 000 samples; nothing checked here depends on the rate. */
START_TEST(test_back_squat_defaults)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_BACK_SQUAT, 11);
  if (getenv("STANCE_UNDER_VALGRIND"))
    p.sample_rate_hz = 500.0;
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  double dur = (double)sm.n / sm.rate;
  ck_assert_msg(dur > 600.0 && dur < 900.0, "recording lasts %.0f s", dur);
  ck_assert_int_eq((int)session(sm.t, "set_count"), 7);
  ck_assert_int_eq((int)session(sm.t, "rep_count"), 35);
  for (int s = 2; s <= 7; s++) {
    char id[32];
    snprintf(id, sizeof id, "rest_s_set%d", s);
    double r = session(sm.t, id);
    if (s <= 4) /* between warm-up sets: 60-90 s */
      ck_assert_msg(r >= 60.0 && r <= 90.0, "%s = %.1f s", id, r);
    else /* before and between working sets: 2-3 min */
      ck_assert_msg(r >= 120.0 && r <= 180.0, "%s = %.1f s", id, r);
    /* The rest ends where set s's unrack begins: find set s's first rep and the previous set's
     * last rep, and check that body weight alone is on the plates for most of the gap. */
    double prev_end = -1, next_start = -1;
    for (size_t k = 0; k < sm.t->n_trials; k++) {
      const StanceTruthTrial *tr = &sm.t->trials[k];
      if (tr->set == s - 1)
        prev_end = tr->end_s;
      if (tr->set == s && next_start < 0)
        next_start = tr->start_s;
    }
    double gap = next_start - prev_end;
    ck_assert_msg(gap > r && gap < r + 10.0, "set %d gap %.1f s vs rest %.1f s", s, gap, r);
    ck_assert_near(mean_dec(&sm, 2, prev_end + 4.0, prev_end + r - 1.0), bw, 0.001 * bw);
  }
  for (int s = 5; s <= 7; s++) {
    char id[32];
    snprintf(id, sizeof id, "fatigue_index_set%d", s);
    ck_assert_near(session(sm.t, id), 0.0, 0.01); /* default fatigue 0 */
  }
  sim_free(&sm);
}
END_TEST

START_TEST(test_back_squat_fatigue)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_BACK_SQUAT, 5);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "rest", "15");
  stance_test_sim_set(&p, "fatigue", "20");
  stance_test_sim_set(&p, "reps", "6");
  p.include_warmup = false;
  Sim sm;
  sim_run(&sm, &p);
  static const int reps[3] = {6, 6, 6};
  check_sets(&sm, reps, 3, false);
  ck_assert_int_eq((int)session(sm.t, "warmup_set_count"), 0);
  for (int s = 1; s <= 3; s++) {
    char id[32];
    snprintf(id, sizeof id, "fatigue_index_set%d", s);
    ck_assert_near(session(sm.t, id), 20.0, 1.0);
    const StanceTruthTrial *f = NULL, *l = NULL;
    for (size_t k = 0; k < sm.t->n_trials; k++)
      if (sm.t->trials[k].set == s) {
        if (!f)
          f = &sm.t->trials[k];
        l = &sm.t->trials[k];
      }
    double w = 175.0 * STANCE_GRAVITY;
    double e1 = max_dec(&sm, 2, f->start_s, f->end_s) - w;
    double en = max_dec(&sm, 2, l->start_s, l->end_s) - w;
    ck_assert_near(100.0 * (e1 - en) / e1, 20.0, 1.0); /* decoded */
    ck_assert(metric(l, "peak_velocity")->total < metric(f, "peak_velocity")->total);
  }
  check_reps_com(&sm, 0.0, NULL, NULL);
  sim_free(&sm);
}
END_TEST

START_TEST(test_deadlift_sets)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_DEADLIFT, 2);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "rest", "12");
  stance_test_sim_set(&p, "sets", "2");
  stance_test_sim_set(&p, "reps", "3");
  stance_test_sim_set(&p, "fatigue", "10");
  Sim sm;
  sim_run(&sm, &p);
  const double bw = 75.0 * STANCE_GRAVITY;
  static const int reps[6] = {8, 6, 4, 2, 3, 3};
  check_sets(&sm, reps, 6, true);
  ck_assert_near(session(sm.t, "system_mass_kg"), 215.0, 1e-9);
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    double w = metric(tr, "system_mass_kg")->total * STANCE_GRAVITY;
    double lo = event(tr, "liftoff"), td = event(tr, "touchdown");
    /* Before the pull the plates carry the body only; at lockout body + bar. */
    ck_assert_near(mean_dec(&sm, 2, tr->start_s - 0.25, tr->start_s - 0.01), bw, 0.002 * bw);
    ck_assert_near(event(tr, "con_start"), lo, 1e-9);
    double top0 = lo + metric(tr, "con_duration")->total, top1 = event(tr, "ecc_start");
    ck_assert(top1 - top0 > 0.25);
    ck_assert_near(mean_dec(&sm, 2, top0 + 0.02, top1 - 0.02), w, 0.002 * w);
    ck_assert_near(metric(tr, "time_under_tension")->total, td - lo, 1e-9);
    double pk = metric(tr, "peak_force")->total;
    ck_assert(pk > 1.03 * w && pk < 1.5 * w);
    ck_assert(event(tr, "peak") < top0); /* the largest force is in the pull */
  }
  for (int s = 5; s <= 6; s++) {
    char id[32];
    snprintf(id, sizeof id, "fatigue_index_set%d", s);
    ck_assert_near(session(sm.t, id), 10.0, 1.0);
  }
  check_reps_com(&sm, 0.0, "liftoff", "touchdown");
  sim_free(&sm);
}
END_TEST

START_TEST(test_barbell_asymmetry)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_BACK_SQUAT, 8);
  stance_test_sim_set(&p, "rate", "500");
  stance_test_sim_set(&p, "rest", "10");
  stance_test_sim_set(&p, "sets", "1");
  stance_test_sim_set(&p, "asymmetry", "20");
  stance_test_sim_set(&p, "weaker", "right");
  stance_test_sim_set(&p, "reps", "10");
  p.include_warmup = false;
  Sim sm;
  sim_run(&sm, &p);
  /* Static share: the weaker right bears (1 - 0.1) of the left: left 1 / 1.9 = 52.6 %. The excess
   * splits 1 : 0.8 (left 55.6 %). Load share over a rep is the static share (the excess averages
   * to zero): 52.6 % within the +-1 % wobble and 0.5 % per-rep jitter. */
  double ratio = 0.0, ex_ratio = 0.0;
  const double nt = (double)sm.t->n_trials, w = 175.0 * STANCE_GRAVITY;
  for (size_t k = 0; k < sm.t->n_trials; k++) {
    const StanceTruthTrial *tr = &sm.t->trials[k];
    const StanceTruthMetric *ls = metric(tr, "load_share_pct");
    ck_assert_near(ls->left, 100.0 / 1.9, 2.0);
    const StanceTruthMetric *pk = metric(tr, "peak_force");
    ck_assert(pk->right < pk->left);
    /* Per limb, the excess at the peak over the limb's static load (its share of the rep's mean
     * force, which includes the per-rep jitter) splits 0.8 : 1. */
    ex_ratio += (pk->right - ls->right / 100.0 * w) / (pk->left - ls->left / 100.0 * w) / nt;
    const StanceTruthMetric *rfd = metric(tr, "con_rfd");
    ratio += rfd->right / rfd->left / nt;
  }
  /* Over 10 reps within 0.08 and 0.06: the slow +-1 % load-split wobble (+-17 N of 1716 N) moves
   * within a rep by several newtons against per-limb excesses of about 100 N, and by up to about
   * 30 N/s against concentric RFDs of about 200 N/s. */
  ck_assert_near(ex_ratio, 0.8, 0.08);
  ck_assert_near(ratio, 0.8, 0.06);
  sim_free(&sm);
}
END_TEST

/* ---- determinism and errors ---- */

static char *
truth_json(const StanceSimTruth *t)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(stance_sim_truth_write_json(t, f, NULL), 0);
  fclose(f);
  return buf;
}

START_TEST(test_deterministic)
{
  static const StanceProtocol protos[] = {STANCE_PROTO_SPLIT_SQUAT, STANCE_PROTO_IMTP,
                                          STANCE_PROTO_DEADLIFT};
  for (size_t q = 0; q < sizeof protos / sizeof protos[0]; q++) {
    StanceSimParams p = stance_test_sim_params(protos[q], 42);
    stance_test_sim_set(&p, "rate", "500");
    stance_test_sim_set(&p, "rest", "10");
    stance_test_sim_set(&p, "reps", "2");
    if (protos[q] == STANCE_PROTO_DEADLIFT) {
      stance_test_sim_set(&p, "sets", "1");
      p.include_warmup = false;
    }
    Sim a, b, c;
    sim_run(&a, &p);
    sim_run(&b, &p);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(memcmp(a.rec->counts, b.rec->counts, a.n * STANCE_N_CELLS * sizeof(int32_t)) == 0);
    char *ja = truth_json(a.t), *jb = truth_json(b.t);
    ck_assert_str_eq(ja, jb);
    StanceSimParams p2 = p;
    p2.seed = 43;
    sim_run(&c, &p2);
    char *jc = truth_json(c.t);
    ck_assert(strcmp(ja, jc) != 0);
    free(ja);
    free(jb);
    free(jc);
    sim_free(&a);
    sim_free(&b);
    sim_free(&c);
  }
}
END_TEST

START_TEST(test_errors)
{
  /* A barbell protocol needs a working load of at least the bar. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_DEADLIFT, 1);
  p.external_load_kg = 10.0;
  StanceRecording *rec = NULL;
  StanceSimTruth *t = NULL;
  StanceError err = {0};
  ck_assert_int_eq(stance_sim_run(&p, &rec, &t, &err), STANCE_EINVAL);
  ck_assert_ptr_null(rec);
  ck_assert_msg(strstr(err.message, "load") && strstr(err.message, "20 kg"), "%s", err.message);

  /* The strength generator refuses other protocols. */
  StanceSimParams q = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  StanceSimScene s;
  memset(&s, 0, sizeof s);
  s.p = &q;
  s.rate_hz = 1000.0;
  s.dt = 1e-3;
  s.m_body = 75.0;
  s.g = STANCE_GRAVITY;
  StanceError e2 = {0};
  ck_assert_int_eq(_stance_sim_gen_strength(&s, &e2), STANCE_EINVAL);
  ck_assert_msg(strstr(e2.message, "cmj") != NULL, "%s", e2.message);
  ck_assert_uint_eq(s.n, 0);
}
END_TEST

static TCase *
new_case(Suite *s, const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *
sim_strength_suite(void)
{
  Suite *s = suite_create("sim-strength");
  TCase *tc = new_case(s, "split");
  tcase_add_test(tc, test_split_squat_issue);
  tcase_add_test(tc, test_split_squat_front_weaker);
  tcase_add_test(tc, test_split_squat_fatigue_and_variability);
  tcase_add_test(tc, test_lunge);
  tc = new_case(s, "single-leg");
  tcase_add_test(tc, test_step_up);
  tcase_add_test(tc, test_single_leg_squat_and_rdl);
  tc = new_case(s, "isometric");
  tcase_add_test(tc, test_imtp_bilateral);
  tcase_add_test(tc, test_imtp_asymmetry_and_single_leg);
  tc = new_case(s, "barbell");
  tcase_add_test(tc, test_back_squat_sets);
  tcase_add_test(tc, test_back_squat_defaults);
  tcase_add_test(tc, test_back_squat_fatigue);
  tcase_add_test(tc, test_deadlift_sets);
  tcase_add_test(tc, test_barbell_asymmetry);
  tc = new_case(s, "misc");
  tcase_add_test(tc, test_deterministic);
  tcase_add_test(tc, test_errors);
  return s;
}

int
main(void)
{
  return stance_test_run(sim_strength_suite());
}
