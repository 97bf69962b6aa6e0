/* test-sim-jumps.c: the simulator's jumps and hops (CMJ, SJ, DJ, single-leg CMJ, single-leg hops,
 * pogo): physics on the noise-free truth and on the counts decoded through the calibration,
 * published ranges, asymmetry, fatigue, counts and determinism.
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

/* The decoded force of sel (counts through the recording's calibration), caller frees. */
static double *
decoded(const StanceRecording *rec, StanceSel sel)
{
  double *f = malloc(rec->n_samples * sizeof *f);
  ck_assert_ptr_nonnull(f);
  StanceError err = {0};
  ck_assert_int_eq(stance_recording_force(rec, sel, f, &err), 0);
  return f;
}

static double
metric(const StanceTruthTrial *tr, const char *id, unsigned which)
{
  const StanceTruthMetric *m = stance_sim_truth_metric(tr, id);
  ck_assert_msg(m != NULL, "trial %d has no metric %s", tr->index, id);
  ck_assert_msg(m->has & which, "trial %d metric %s lacks value %u", tr->index, id, which);
  return which == STANCE_TRUTH_LEFT ? m->left : which == STANCE_TRUTH_RIGHT ? m->right : m->total;
}

static double
event(const StanceTruthTrial *tr, const char *name)
{
  double t = stance_sim_truth_event(tr, name);
  ck_assert_msg(t >= 0.0, "trial %d has no event %s", tr->index, name);
  return t;
}

static size_t
sample_at(const StanceRecording *rec, double t)
{
  return (size_t)llround(t * rec->sample_rate_hz);
}

/* First sample index >= t. */
static size_t
sample_from(const StanceRecording *rec, double t)
{
  return (size_t)ceil(t * rec->sample_rate_hz - 1e-9);
}

/* Trapezoid of (F - W) over samples [i0, i1], N.s. */
static double
net_impulse(const double *f, size_t i0, size_t i1, double w, double dt)
{
  double j = 0.0;
  for (size_t i = i0; i < i1; i++)
    j += 0.5 * (f[i] + f[i + 1] - 2.0 * w) * dt;
  return j;
}

/* Flight time by the usual threshold rule on the decoded total: from the first sample below 20 N
 * at or after i_from to the first sample at or above 20 N after it. */
static double
decoded_flight(const StanceRecording *rec, const double *f, size_t i_from)
{
  size_t n = rec->n_samples, a = i_from;
  while (a < n && f[a] >= 20.0)
    a++;
  size_t b = a;
  while (b < n && f[b] < 20.0)
    b++;
  ck_assert_msg(b < n, "no landing after sample %zu", i_from);
  return (double)(b - a) / rec->sample_rate_hz;
}

static double
mass(const StanceSimParams *p)
{
  return p->body_mass_kg + p->external_load_kg;
}

/* Checks every trial's truth for the internal consistency the generator promises, and the decoded
 * counts for impulse-momentum and flight time. v_start(trial) is the velocity at onset: 0 for
 * jumps from still standing, -landing velocity for reactive contacts. */
static void
check_trials_physics(const StanceSimParams *p, const StanceRecording *rec, const StanceSimTruth *t,
                     bool reactive)
{
  double m = mass(p), g = STANCE_GRAVITY, dt = 1.0 / rec->sample_rate_hz;
  double *ft = decoded(rec, STANCE_SEL_TOTAL);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    double v_to = metric(tr, "takeoff_velocity", STANCE_TRUTH_TOTAL);
    double v_on = reactive ? -metric(tr, "landing_velocity", STANCE_TRUTH_TOTAL) : 0.0;
    double tf = metric(tr, "flight_time", STANCE_TRUTH_TOTAL);

    /* Truth: flight 2 v / g, both jump heights the same (takeoff and landing at one COM height);
     * 1 mm is the brief's tolerance, the construction makes them equal to rounding. */
    ck_assert_near(tf, 2.0 * v_to / g, 1e-12);
    ck_assert_near(metric(tr, "jump_height_impulse", STANCE_TRUTH_TOTAL),
                   metric(tr, "jump_height_flight", STANCE_TRUTH_TOTAL), 0.001);
    ck_assert_near(event(tr, "landing") - event(tr, "takeoff"), tf, 1e-9);
    /* Net impulse onset -> takeoff = m (v_to - v_onset) within 0.1 % (the truth integrates the
     * same samples with the same rule, so this holds to rounding); limbs sum to the total. */
    double ni = metric(tr, "net_impulse", STANCE_TRUTH_TOTAL);
    if (!reactive)
      ck_assert_near(ni, m * v_to, 1e-3 * m * v_to);
    const StanceTruthMetric *nm = stance_sim_truth_metric(tr, "net_impulse");
    double limbs = ((nm->has & STANCE_TRUTH_LEFT) ? nm->left : 0.0) +
                   ((nm->has & STANCE_TRUTH_RIGHT) ? nm->right : 0.0);
    ck_assert_near(limbs, ni, 1e-9 * fabs(ni) + 1e-9);

    /* Decoded counts: integrating F - m g from onset to takeoff gives the takeoff velocity within
     * 1 % (sensor noise of ~1.4 N per sample integrates to ~0.05 N.s, far below 1 %). */
    size_t i_on = sample_from(rec, event(tr, "onset"));
    size_t i_to = sample_at(rec, event(tr, "takeoff"));
    double v_dec = v_on + net_impulse(ft, i_on, i_to, m * g, dt) / m;
    if (reactive) /* the onset sample is the first at or after touchdown: flight until then */
      v_dec = -metric(tr, "landing_velocity", STANCE_TRUTH_TOTAL) -
              g * ((double)i_on * dt - event(tr, "onset")) +
              net_impulse(ft, i_on, i_to, m * g, dt) / m;
    ck_assert_msg(fabs(v_dec - v_to) <= 0.01 * v_to,
                  "trial %d: decoded takeoff velocity %.4f m/s, truth %.4f m/s", tr->index, v_dec,
                  v_to);
    /* Flight by the 20 N threshold matches 2 v_to / g within 2 ms: the takeoff drop and landing
     * rise are steep enough (> 20 N/ms) that the threshold moves each edge by < 1 ms. */
    double tf_dec = decoded_flight(rec, ft, sample_at(rec, event(tr, "peak")));
    ck_assert_msg(fabs(tf_dec - tf) <= 0.002, "trial %d: decoded flight %.4f s, truth %.4f s",
                  tr->index, tf_dec, tf);
  }
  free(ft);
}

/* Quiet standing weighs m g within 0.1 % (mean of the first 1.6 s of the >= 2 s still period). */
static void
check_weighing(const StanceSimParams *p, const StanceRecording *rec)
{
  double *ft = decoded(rec, STANCE_SEL_TOTAL);
  size_t i0 = sample_at(rec, 0.2), i1 = sample_at(rec, 1.8);
  double sum = 0.0;
  for (size_t i = i0; i < i1; i++)
    sum += ft[i];
  double w = mass(p) * STANCE_GRAVITY;
  ck_assert_near(sum / (double)(i1 - i0), w, 1e-3 * w);
  free(ft);
}

/* ---- CMJ ---- */

START_TEST(test_cmj_physics_and_ranges)
{
  /* Three athletes (seeds) of three jumps: physics on truth and decoded counts, phases and the
   * published ranges (McMahon et al. 2018; Cormie et al.): peak 2-3 BW, height 0.25-0.50 m, time
   * to takeoff 0.6-1.0 s, unweighting minimum 0.2-0.5 BW, countermovement depth 0.2-0.5 m. */
  /* Under valgrind one athlete: the same checks, a third of the time. */
  const uint64_t last_seed = stance_test_under_valgrind() ? 11 : 13;
  for (uint64_t seed = 11; seed <= last_seed; seed++) {
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, seed);
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    check_weighing(&p, rec);
    check_trials_physics(&p, rec, t, false);
    ck_assert_uint_eq(t->n_trials, 3);
    double m = mass(&p), w = m * STANCE_GRAVITY, dt = 1.0 / rec->sample_rate_hz;
    double *ft = decoded(rec, STANCE_SEL_TOTAL);
    for (size_t k = 0; k < t->n_trials; k++) {
      const StanceTruthTrial *tr = &t->trials[k];
      ck_assert_str_eq(tr->kind, "jump");
      double t_on = event(tr, "onset"), t_uw = event(tr, "unweighting_end");
      double t_br = event(tr, "braking_end"), t_pk = event(tr, "peak");
      double t_to = event(tr, "takeoff"), t_ld = event(tr, "landing");
      ck_assert(t_on < t_uw && t_uw < t_br && t_br < t_to && t_to < t_ld);
      ck_assert(t_pk >= t_uw && t_pk < t_to);
      double pk = metric(tr, "peak_force", STANCE_TRUTH_TOTAL) / w;
      ck_assert_msg(pk >= 2.0 && pk <= 3.0, "CMJ peak %.3f BW", pk);
      double h = metric(tr, "jump_height_impulse", STANCE_TRUTH_TOTAL);
      ck_assert_msg(h >= 0.25 && h <= 0.50, "CMJ height %.3f m", h);
      double ttt = metric(tr, "time_to_takeoff", STANCE_TRUTH_TOTAL);
      ck_assert_msg(ttt >= 0.6 && ttt <= 1.0, "CMJ time to takeoff %.3f s", ttt);
      ck_assert_near(ttt, t_to - t_on, 1e-9);
      double umin = metric(tr, "unweighting_min_force", STANCE_TRUTH_TOTAL) / w;
      ck_assert_msg(umin >= 0.2 && umin <= 0.5, "unweighting minimum %.3f BW", umin);
      double depth = metric(tr, "countermovement_depth", STANCE_TRUTH_TOTAL);
      ck_assert_msg(depth >= 0.2 && depth <= 0.5, "countermovement depth %.3f m", depth);
      ck_assert_near(metric(tr, "rsi_mod", STANCE_TRUTH_TOTAL), h / ttt, 1e-9);
      double lp = metric(tr, "landing_peak_force", STANCE_TRUTH_TOTAL) / w;
      ck_assert_msg(lp >= 3.0 && lp <= 6.0, "landing peak %.2f BW", lp);

      /* The phases on the decoded signal: the COM velocity (integral of F - W from onset) is at
       * its minimum where unweighting ends (force back at W) and back through zero at the end
       * of braking (one sample of integration ~ 0.01 m/s). */
      size_t i_on = sample_at(rec, t_on), i_uw = sample_at(rec, t_uw), i_br = sample_at(rec, t_br);
      double v = 0.0, v_min = 0.0;
      size_t i_vmin = i_on;
      for (size_t i = i_on; i < i_br + 5; i++) {
        v += 0.5 * (ft[i] + ft[i + 1] - 2.0 * w) * dt / m;
        if (v < v_min)
          v_min = v, i_vmin = i + 1;
        if (i + 1 == i_br)
          ck_assert_msg(fabs(v) < 0.02, "velocity at braking end %.4f m/s", v);
      }
      ck_assert_msg(labs((long)i_vmin - (long)i_uw) <= 2,
                    "velocity minimum at %zu, unweighting "
                    "end at %zu",
                    i_vmin, i_uw);
      ck_assert_msg(v_min < -0.8 && v_min > -2.0, "peak downward velocity %.3f m/s", v_min);
    }
    free(ft);
    const StanceTruthMetric *jc = stance_sim_truth_session_metric(t, "jump_count");
    ck_assert_ptr_nonnull(jc);
    ck_assert_near(jc->total, 3.0, 0.0);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
}
END_TEST

/* Per-trial ratio right / left of a metric. */
static double
rl(const StanceTruthTrial *tr, const char *id)
{
  return metric(tr, id, STANCE_TRUTH_RIGHT) / metric(tr, id, STANCE_TRUTH_LEFT);
}

START_TEST(test_cmj_asymmetry)
{
  /* asymmetry 15 (force, RFD and impulse), weaker right: the weaker limb's peak force, peak RFD
   * (steepest 20 ms slope) and net impulse are each 0.85 x the stronger limb's within 0.5 %. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 5);
  stance_test_sim_set(&p, "asymmetry", "15");
  stance_test_sim_set(&p, "weaker", "right");
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_trials_physics(&p, rec, t, false);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    ck_assert_near(rl(tr, "peak_force"), 0.85, 0.005 * 0.85);
    ck_assert_near(rl(tr, "peak_rfd"), 0.85, 0.005 * 0.85);
    ck_assert_near(rl(tr, "net_impulse"), 0.85, 0.005 * 0.85);
  }
  /* The still standing split: the weaker limb bears less (stance-sim.c's share). */
  double *fl = decoded(rec, STANCE_SEL_LEFT);
  double sl = 0.0;
  for (size_t i = 200; i < 1800; i++)
    sl += fl[i];
  sl /= 1600.0 * mass(&p) * STANCE_GRAVITY;
  ck_assert_near(sl, _stance_sim_still_share_left(&p), 0.005);
  free(fl);
  stance_recording_free(rec);
  stance_sim_truth_free(t);

  /* The three qualities are independent: 20 % force, 5 % RFD, 10 % impulse, weaker left. */
  p = stance_test_sim_params(STANCE_PROTO_CMJ, 6);
  p.asym_force_pct = 20.0;
  p.asym_rfd_pct = 5.0;
  p.asym_impulse_pct = 10.0;
  p.weaker = STANCE_SIDE_LEFT;
  stance_test_sim_run(&p, &rec, &t);
  check_trials_physics(&p, rec, t, false);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    ck_assert_near(1.0 / rl(tr, "peak_force"), 0.80, 0.005 * 0.80);
    ck_assert_near(1.0 / rl(tr, "peak_rfd"), 0.95, 0.005 * 0.95);
    ck_assert_near(1.0 / rl(tr, "net_impulse"), 0.90, 0.005 * 0.90);
    /* Rise time is what sets RFD for a given peak: with an RFD deficit (5 %) smaller than the
     * force deficit (20 %) the weaker left limb rises faster, so it peaks first (right - left
     * > 0). */
    ck_assert(metric(tr, "peak_time_offset", STANCE_TRUTH_TOTAL) > 0.0);
  }
  stance_recording_free(rec);
  stance_sim_truth_free(t);

  /* 0 %: symmetric within 0.5 %, limb peaks at the same sample. */
  p = stance_test_sim_params(STANCE_PROTO_CMJ, 7);
  stance_test_sim_run(&p, &rec, &t);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    ck_assert_near(rl(tr, "peak_force"), 1.0, 0.005);
    ck_assert_near(rl(tr, "peak_rfd"), 1.0, 0.005);
    ck_assert_near(rl(tr, "net_impulse"), 1.0, 0.005);
    ck_assert_near(metric(tr, "peak_time_offset", STANCE_TRUTH_TOTAL), 0.0, 1e-9);
  }
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_cmj_fatigue_and_reps)
{
  /* reps 5 with fatigue 20 %: five jumps; against the same seed without fatigue (same random
   * draws), jump k's limb peak is lower by exactly 20 % x k / 4 (0.1 %: peak sampling). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 21);
  p.reps = 5;
  StanceRecording *r0, *r1;
  StanceSimTruth *t0, *t1;
  stance_test_sim_run(&p, &r0, &t0);
  p.fatigue_pct = 20.0;
  stance_test_sim_run(&p, &r1, &t1);
  ck_assert_uint_eq(t0->n_trials, 5);
  ck_assert_uint_eq(t1->n_trials, 5);
  ck_assert_near(stance_sim_truth_session_metric(t1, "jump_count")->total, 5.0, 0.0);
  for (size_t k = 0; k < 5; k++) {
    double ratio = metric(&t1->trials[k], "peak_force", STANCE_TRUTH_LEFT) /
                   metric(&t0->trials[k], "peak_force", STANCE_TRUTH_LEFT);
    ck_assert_near(ratio, 1.0 - 0.2 * (double)k / 4.0, 0.001);
  }
  check_trials_physics(&p, r1, t1, false);
  /* Rep-to-rep variability is small but present: jump heights differ, CV below 6 %. */
  double s = 0.0, s2 = 0.0;
  for (size_t k = 0; k < 5; k++) {
    double h = metric(&t0->trials[k], "jump_height_impulse", STANCE_TRUTH_TOTAL);
    s += h;
    s2 += h * h;
  }
  double mean = s / 5.0, cv = sqrt(fmax(0.0, s2 / 5.0 - mean * mean)) / mean;
  ck_assert_msg(cv > 0.002 && cv < 0.06, "jump height CV %.4f", cv);
  stance_recording_free(r0);
  stance_recording_free(r1);
  stance_sim_truth_free(t0);
  stance_sim_truth_free(t1);
}
END_TEST

START_TEST(test_cmj_mass_load_rate)
{
  /* 95 kg with a 10 kg vest at 500 Hz: the system mass is what the plates weigh and what the
   * impulse accelerates. (Flight by threshold is not checked at 2 ms sampling.) */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 3);
  p.body_mass_kg = 95.0;
  p.external_load_kg = 10.0;
  p.sample_rate_hz = 500.0;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_weighing(&p, rec);
  double m = mass(&p), dt = 1.0 / rec->sample_rate_hz;
  double *ft = decoded(rec, STANCE_SEL_TOTAL);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    double v_to = metric(tr, "takeoff_velocity", STANCE_TRUTH_TOTAL);
    ck_assert_near(metric(tr, "net_impulse", STANCE_TRUTH_TOTAL), m * v_to, 1e-3 * m * v_to);
    double v = net_impulse(ft, sample_at(rec, event(tr, "onset")),
                           sample_at(rec, event(tr, "takeoff")), m * STANCE_GRAVITY, dt) /
               m;
    ck_assert_near(v, v_to, 0.01 * v_to);
  }
  free(ft);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

/* ---- SJ ---- */

START_TEST(test_sj)
{
  /* A still squat hold of 1-2 s, then propulsion only: the decoded force never dips below the
   * weight between onset and the peak (no countermovement; 6 N = 4 x the noise RMS). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SJ, 8);
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_weighing(&p, rec);
  check_trials_physics(&p, rec, t, false);
  double w = mass(&p) * STANCE_GRAVITY;
  double *ft = decoded(rec, STANCE_SEL_TOTAL);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    double hold = event(tr, "hold_end") - event(tr, "hold_start");
    ck_assert_msg(hold >= 1.0 && hold <= 2.0, "squat hold %.2f s", hold);
    ck_assert(stance_sim_truth_event(tr, "unweighting_end") < 0.0);
    ck_assert(stance_sim_truth_event(tr, "braking_end") < 0.0);
    /* Still in the hold: the decoded total stays at W (mean within 0.2 %). */
    size_t h0 = sample_at(rec, event(tr, "hold_start") + 0.3),
           h1 = sample_at(rec, event(tr, "hold_end"));
    double sum = 0.0;
    for (size_t i = h0; i < h1; i++)
      sum += ft[i];
    ck_assert_near(sum / (double)(h1 - h0), w, 0.002 * w);
    size_t i_on = sample_at(rec, event(tr, "onset")), i_pk = sample_at(rec, event(tr, "peak"));
    for (size_t i = i_on; i <= i_pk; i++)
      ck_assert_msg(ft[i] > w - 6.0, "SJ dips to %.1f N at sample %zu", ft[i], i);
    double h = metric(tr, "jump_height_impulse", STANCE_TRUTH_TOTAL);
    ck_assert_msg(h >= 0.2 && h <= 0.45, "SJ height %.3f m", h);
    double depth = metric(tr, "squat_depth", STANCE_TRUTH_TOTAL);
    ck_assert_msg(depth >= 0.2 && depth <= 0.5, "squat depth %.3f m", depth);
  }
  free(ft);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

/* ---- DJ ---- */

START_TEST(test_dj)
{
  /* Drop from 0.30 m: the plates are empty >= 1 s before touchdown at sqrt(2 g 0.3) m/s; contact
   * 0.2-0.3 s; RSI (flight height / contact time, m/s) 1.0-2.5; impulse-momentum on the decoded
   * contact: integral of F - W = m (v_to + v_touchdown). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_DJ, 9);
  p.asym_force_pct = p.asym_rfd_pct = p.asym_impulse_pct = 10.0;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_weighing(&p, rec);
  check_trials_physics(&p, rec, t, true);
  double *ft = decoded(rec, STANCE_SEL_TOTAL);
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    double v_c = metric(tr, "landing_velocity", STANCE_TRUTH_TOTAL);
    ck_assert_near(v_c, sqrt(2.0 * STANCE_GRAVITY * 0.30), 1e-12);
    ck_assert_near(metric(tr, "drop_height", STANCE_TRUTH_TOTAL), 0.30, 0.0);
    size_t i_on = sample_at(rec, event(tr, "onset"));
    for (size_t i = i_on - sample_at(rec, 1.0); i < i_on; i++)
      ck_assert_msg(ft[i] < 20.0, "plates loaded (%.1f N) before the drop", ft[i]);
    double tc = metric(tr, "contact_time", STANCE_TRUTH_TOTAL);
    ck_assert_msg(tc >= 0.2 && tc <= 0.3, "DJ contact %.3f s", tc);
    double rsi = metric(tr, "rsi", STANCE_TRUTH_TOTAL);
    ck_assert_msg(rsi >= 1.0 && rsi <= 2.5, "RSI %.3f", rsi);
    ck_assert_near(rsi, metric(tr, "jump_height_flight", STANCE_TRUTH_TOTAL) / tc, 1e-9);
    ck_assert_near(rl(tr, "peak_force"), 0.90, 0.005 * 0.90);
    ck_assert_near(rl(tr, "peak_rfd"), 0.90, 0.005 * 0.90);
    ck_assert_near(rl(tr, "net_impulse"), 0.90, 0.005 * 0.90);
  }
  free(ft);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

/* ---- pogo ---- */

START_TEST(test_pogo)
{
  /* reps 12: 12 hops, each contact 150-250 ms, flight 0.25-0.40 s, peak 3-5 BW; the stiffness
   * metrics follow their formulas. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_POGO, 4);
  p.reps = 12;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_weighing(&p, rec);
  check_trials_physics(&p, rec, t, true);
  ck_assert_uint_eq(t->n_trials, 12);
  ck_assert_near(stance_sim_truth_session_metric(t, "hop_count")->total, 12.0, 0.0);
  double m = mass(&p), w = m * STANCE_GRAVITY;
  for (size_t k = 0; k < t->n_trials; k++) {
    const StanceTruthTrial *tr = &t->trials[k];
    ck_assert_str_eq(tr->kind, "hop");
    double tc = metric(tr, "contact_time", STANCE_TRUTH_TOTAL);
    double tf = metric(tr, "flight_time", STANCE_TRUTH_TOTAL);
    ck_assert_msg(tc >= 0.15 && tc <= 0.25, "pogo contact %.3f s", tc);
    ck_assert_msg(tf >= 0.25 && tf <= 0.40, "pogo flight %.3f s", tf);
    double pk = metric(tr, "peak_force", STANCE_TRUTH_TOTAL);
    ck_assert_msg(pk / w >= 3.0 && pk / w <= 5.0, "pogo peak %.2f BW", pk / w);
    /* Consecutive hops chain: this hop's landing is the next hop's onset, and it lands as fast
     * as it took off. */
    if (k + 1 < t->n_trials) {
      ck_assert_near(event(tr, "landing"), event(&t->trials[k + 1], "onset"), 1e-9);
      ck_assert_near(metric(&t->trials[k + 1], "landing_velocity", STANCE_TRUTH_TOTAL),
                     metric(tr, "takeoff_velocity", STANCE_TRUTH_TOTAL), 1e-12);
    }
    /* Dalleau et al. (2004): k = m pi (tf + tc) / (tc^2 ((tf + tc) / pi - tc / 4)), kN/m. */
    double k_dal = m * M_PI * (tf + tc) / (tc * tc * ((tf + tc) / M_PI - tc / 4.0)) / 1000.0;
    ck_assert_near(metric(tr, "leg_stiffness", STANCE_TRUTH_TOTAL), k_dal, 1e-9 * k_dal);
    double dy = metric(tr, "com_displacement", STANCE_TRUTH_TOTAL);
    double k_true = metric(tr, "vertical_stiffness", STANCE_TRUTH_TOTAL);
    ck_assert_near(k_true, pk / dy / 1000.0, 1e-9 * k_true);
    /* The sine-wave model approximates these near-sinusoidal contacts within 30 %. */
    ck_assert_msg(fabs(k_dal / k_true - 1.0) < 0.3, "Dalleau %.2f vs true %.2f kN/m", k_dal,
                  k_true);
  }
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

/* ---- single-leg ---- */

START_TEST(test_sl_cmj)
{
  /* Side left: the lifted right foot leaves the right plate at ~0 N during every jump (noise
   * only: 5 N is > 4 x its RMS), heights 0.10-0.20 m. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_CMJ, 10);
  p.side = STANCE_SIDE_LEFT;
  p.asym_force_pct = p.asym_rfd_pct = p.asym_impulse_pct = 15.0;
  p.weaker = STANCE_SIDE_RIGHT;
  StanceRecording *rl_rec, *rr_rec;
  StanceSimTruth *tl, *tr_;
  stance_test_sim_run(&p, &rl_rec, &tl);
  check_weighing(&p, rl_rec);
  check_trials_physics(&p, rl_rec, tl, false);
  double *fr = decoded(rl_rec, STANCE_SEL_RIGHT);
  for (size_t k = 0; k < tl->n_trials; k++) {
    const StanceTruthTrial *tr = &tl->trials[k];
    for (size_t i = sample_at(rl_rec, event(tr, "onset"));
         i < sample_at(rl_rec, event(tr, "landing") + 0.3); i++)
      ck_assert_msg(fabs(fr[i]) < 5.0, "lifted plate reads %.2f N", fr[i]);
    ck_assert(!(stance_sim_truth_metric(tr, "peak_force")->has & STANCE_TRUTH_RIGHT));
    double h = metric(tr, "jump_height_impulse", STANCE_TRUTH_TOTAL);
    ck_assert_msg(h >= 0.10 && h <= 0.20, "SL-CMJ height %.3f m", h);
  }
  free(fr);

  /* The same athlete (seed) on the weaker right leg: per rep, peak force and peak RFD are 0.85 x
   * the left leg's (0.5 % and 1 %: the rise starts at a different sampling phase), and the net
   * impulse (hence the takeoff velocity) 0.85 x (1 %). */
  p.side = STANCE_SIDE_RIGHT;
  stance_test_sim_run(&p, &rr_rec, &tr_);
  check_trials_physics(&p, rr_rec, tr_, false);
  ck_assert_uint_eq(tl->n_trials, tr_->n_trials);
  for (size_t k = 0; k < tl->n_trials; k++) {
    const StanceTruthTrial *a = &tl->trials[k], *b = &tr_->trials[k];
    ck_assert_near(metric(b, "peak_force", STANCE_TRUTH_RIGHT) /
                       metric(a, "peak_force", STANCE_TRUTH_LEFT),
                   0.85, 0.005 * 0.85);
    ck_assert_near(metric(b, "peak_rfd", STANCE_TRUTH_RIGHT) /
                       metric(a, "peak_rfd", STANCE_TRUTH_LEFT),
                   0.85, 0.01 * 0.85);
    ck_assert_near(metric(b, "net_impulse", STANCE_TRUTH_RIGHT) /
                       metric(a, "net_impulse", STANCE_TRUTH_LEFT),
                   0.85, 0.01 * 0.85);
    double h = metric(b, "jump_height_impulse", STANCE_TRUTH_TOTAL);
    ck_assert_msg(h >= 0.08 && h <= 0.20, "weaker-leg SL-CMJ height %.3f m", h);
  }
  const StanceTruthMetric *jc = stance_sim_truth_session_metric(tr_, "jump_count");
  ck_assert_near(jc->right, 3.0, 0.0);
  ck_assert_near(jc->left, 0.0, 0.0);
  stance_recording_free(rl_rec);
  stance_recording_free(rr_rec);
  stance_sim_truth_free(tl);
  stance_sim_truth_free(tr_);
}
END_TEST

START_TEST(test_sl_hop)
{
  /* Right-leg hops: the left plate stays at ~0 N through the series; contact 0.2-0.35 s. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_HOP, 12);
  p.side = STANCE_SIDE_RIGHT;
  p.reps = 8;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  check_trials_physics(&p, rec, t, true);
  ck_assert_uint_eq(t->n_trials, 8);
  const StanceTruthMetric *hc = stance_sim_truth_session_metric(t, "hop_count");
  ck_assert_near(hc->total, 8.0, 0.0);
  ck_assert_near(hc->right, 8.0, 0.0);
  double *fl = decoded(rec, STANCE_SEL_LEFT);
  size_t i0 = sample_at(rec, event(&t->trials[0], "onset") - 0.5);
  size_t i1 = sample_at(rec, event(&t->trials[7], "landing") + 0.3);
  for (size_t i = i0; i < i1; i++)
    ck_assert_msg(fabs(fl[i]) < 5.0, "lifted plate reads %.2f N", fl[i]);
  free(fl);
  for (size_t k = 0; k < t->n_trials; k++) {
    double tc = metric(&t->trials[k], "contact_time", STANCE_TRUTH_TOTAL);
    ck_assert_msg(tc >= 0.2 && tc <= 0.35, "single-leg hop contact %.3f s", tc);
    ck_assert_int_eq(t->trials[k].set, 1);
  }
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_sl_cmj_both_alternates)
{
  /* Side both (driven through the generator interface: the public parameter check asks single-leg
   * protocols for one side): reps per side, alternating left, right, left, ...; each trial loads
   * only its own plate, and the session count splits 2 + 2. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_CMJ, 14);
  p.side = STANCE_SIDE_BOTH;
  p.reps = 2;
  StanceSimTruth truth;
  memset(&truth, 0, sizeof truth);
  StanceSimScene s;
  memset(&s, 0, sizeof s);
  s.p = &p;
  s.rate_hz = p.sample_rate_hz;
  s.dt = 1.0 / p.sample_rate_hz;
  s.m_body = p.body_mass_kg;
  s.g = STANCE_GRAVITY;
  s.truth = &truth;
  _stance_rng_seed(&s.rng, p.seed, 1);
  StanceError err = {0};
  ck_assert_msg(_stance_sim_gen_jumps(&s, &err) == 0, "%s", err.message);
  ck_assert_uint_eq(truth.n_trials, 4);
  for (size_t k = 0; k < 4; k++) {
    unsigned has = stance_sim_truth_metric(&truth.trials[k], "peak_force")->has;
    unsigned want = k % 2 == 0 ? STANCE_TRUTH_LEFT : STANCE_TRUTH_RIGHT;
    ck_assert_uint_eq(has & (STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT), want);
    /* The lifted plate carries nothing from onset to landing. */
    int lifted = k % 2 == 0 ? 1 : 0;
    size_t i0 = (size_t)llround(event(&truth.trials[k], "onset") * s.rate_hz);
    size_t i1 = (size_t)llround(event(&truth.trials[k], "landing") * s.rate_hz);
    for (size_t i = i0; i <= i1; i++)
      ck_assert(s.f[lifted][i] == 0.0);
  }
  const StanceTruthMetric *jc = stance_sim_truth_session_metric(&truth, "jump_count");
  ck_assert_near(jc->left, 2.0, 0.0);
  ck_assert_near(jc->right, 2.0, 0.0);
  ck_assert_near(jc->total, 4.0, 0.0);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    free(s.f[pl]);
    free(s.cx[pl]);
    free(s.cy[pl]);
  }
  free(truth.trials);
}
END_TEST

/* ---- determinism, no still, bad protocol ---- */

START_TEST(test_determinism)
{
  /* Same seed -> the same counts byte for byte and the same truth; another seed differs. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_POGO, 77);
  p.reps = 4;
  p.asym_force_pct = p.asym_rfd_pct = p.asym_impulse_pct = 12.0;
  StanceRecording *a, *b, *c;
  StanceSimTruth *ta, *tb, *tc;
  stance_test_sim_run(&p, &a, &ta);
  stance_test_sim_run(&p, &b, &tb);
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  ck_assert(memcmp(a->counts, b->counts, a->n_samples * STANCE_N_CELLS * sizeof(int32_t)) == 0);
  ck_assert_uint_eq(ta->n_trials, tb->n_trials);
  for (size_t k = 0; k < ta->n_trials; k++)
    ck_assert(memcmp(&ta->trials[k], &tb->trials[k], sizeof ta->trials[k]) == 0);
  p.seed = 78;
  stance_test_sim_run(&p, &c, &tc);
  ck_assert(c->n_samples != a->n_samples ||
            memcmp(a->counts, c->counts, a->n_samples * STANCE_N_CELLS * sizeof(int32_t)) != 0);
  stance_recording_free(a);
  stance_recording_free(b);
  stance_recording_free(c);
  stance_sim_truth_free(ta);
  stance_sim_truth_free(tb);
  stance_sim_truth_free(tc);
}
END_TEST

START_TEST(test_no_still)
{
  /* no-still: the first countermovement starts within ~50 ms of the recording's start. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 2);
  p.no_still = true;
  p.reps = 1;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  ck_assert_uint_eq(t->n_trials, 1);
  ck_assert_msg(event(&t->trials[0], "onset") <= 0.06, "onset at %.3f s",
                event(&t->trials[0], "onset"));
  check_trials_physics(&p, rec, t, false);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_not_a_jump)
{
  /* The generator refuses protocols that are not jumps, naming the protocol. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_IMTP, 1);
  StanceSimScene s;
  memset(&s, 0, sizeof s);
  s.p = &p;
  s.rate_hz = 1000.0;
  s.dt = 0.001;
  s.m_body = 75.0;
  s.g = STANCE_GRAVITY;
  StanceError err = {0};
  ck_assert_int_eq(_stance_sim_gen_jumps(&s, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "imtp"));
  ck_assert_uint_eq(s.n, 0);
}
END_TEST

static Suite *
sim_jumps_suite(void)
{
  Suite *s = suite_create("sim-jumps");
  TCase *tc = tcase_create("jumps");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_cmj_physics_and_ranges);
  tcase_add_test(tc, test_cmj_asymmetry);
  tcase_add_test(tc, test_cmj_fatigue_and_reps);
  tcase_add_test(tc, test_cmj_mass_load_rate);
  tcase_add_test(tc, test_sj);
  tcase_add_test(tc, test_dj);
  tcase_add_test(tc, test_pogo);
  tcase_add_test(tc, test_sl_cmj);
  tcase_add_test(tc, test_sl_cmj_both_alternates);
  tcase_add_test(tc, test_sl_hop);
  tcase_add_test(tc, test_determinism);
  tcase_add_test(tc, test_no_still);
  tcase_add_test(tc, test_not_a_jump);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(sim_jumps_suite());
}
