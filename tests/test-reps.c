/* test-reps.c: the rep analysis (stance-reps.c) against the simulator's noise-free ground truth for
 * every rep protocol: split squat, lunge, step-up, single-leg squat and RDL, back squat and
 * deadlift, at asymmetries 0-30 % with the simulator's default sensor noise (40 ADC counts and
 * 0.5 N per cell: about 1.4 N RMS on the total force).
 *
 * Everything goes through stance_analyse() on the simulated counts. Tolerances (each check says
 * why):
 *   rep count, sets, reps per set, working/warm-up sets: exact;
 *   per-rep peak and mean force per limb and total: 0.5 % (issue 3);
 *   load shares (left/right, front): 1 point (issue 3);
 *   asymmetry of the peak forces (pct_diff): 1 point (issue 3);
 *   phase times and time under tension: 25 ms (rep duration 40 ms); events: 25 ms;
 *   fatigue index: 2 points (more when the excess is small); rest between sets: 0.1 s;
 *   bar load: 0.5 kg.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-analysis.h"
#include "stance-sim.h"
#include "stance-test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
under_valgrind(void)
{
  const char *v = getenv("STANCE_UNDER_VALGRIND");
  return v && v[0] == '1';
}

typedef struct {
  StanceRecording *rec;
  StanceSimTruth *t;
  StanceAnalysis *a;
  char what[160];
} Run;

static void
run_analyse(Run *r, const StanceAnalysisOptions *opts)
{
  StanceAnalysisOptions o;
  if (opts)
    o = *opts;
  else
    stance_analysis_options_default(&o);
  StanceError err = {0};
  int rc = stance_analyse(r->rec, "simulator", &o, &r->a, &err);
  ck_assert_msg(rc == 0, "%s: stance_analyse failed: %s", r->what, err.message);
}

static void
run_sim(Run *r, const StanceSimParams *p)
{
  memset(r, 0, sizeof *r);
  snprintf(r->what, sizeof r->what, "%s seed %llu side %s weaker %s asym %g fatigue %g",
           stance_protocol_name(p->protocol), (unsigned long long)p->seed,
           stance_side_name(p->side), stance_side_name(p->weaker), p->asym_force_pct,
           p->fatigue_pct);
  stance_test_sim_run(p, &r->rec, &r->t);
}

static void
run_free(Run *r)
{
  stance_analysis_free(r->a);
  stance_recording_free(r->rec);
  stance_sim_truth_free(r->t);
}

static const StanceSel sels[3] = {STANCE_SEL_LEFT, STANCE_SEL_RIGHT, STANCE_SEL_TOTAL};
static const unsigned truth_bits[3] = {STANCE_TRUTH_LEFT, STANCE_TRUTH_RIGHT, STANCE_TRUTH_TOTAL};

static double
truth_val(const StanceTruthMetric *m, int s)
{
  return s == 0 ? m->left : (s == 1 ? m->right : m->total);
}

static double
get(const Run *r, const StanceMetric *m, StanceSel sel, const char *id, size_t trial)
{
  ck_assert_msg(m != NULL, "%s: trial %zu has no %s", r->what, trial, id);
  double v;
  ck_assert_msg(stance_metric_get(m, sel, &v), "%s: trial %zu: %s slot %d absent (%s)", r->what,
                trial, id, (int)sel, m->absent[sel]);
  ck_assert_msg(isfinite(v), "%s: %s not finite", r->what, id);
  return v;
}

static double
session(const Run *r, const char *id, StanceSel sel)
{
  const StanceMetric *m = stance_analysis_metric(r->a, id);
  ck_assert_msg(m != NULL, "%s: no session metric %s", r->what, id);
  double v;
  ck_assert_msg(stance_metric_get(m, sel, &v), "%s: session %s slot %d absent", r->what, id,
                (int)sel);
  return v;
}

static double
pct_diff(double l, double r)
{
  double v;
  StanceSide s;
  ck_assert_int_eq(stance_asym_compute(STANCE_ASYM_PCT_DIFF, l, r, STANCE_SIDE_BOTH, &v, &s, NULL),
                   0);
  return v;
}

/* Everything a rep trial and the session must agree on with the truth. */
static void
check_reps(const Run *r, StanceSide want_side)
{
  const StanceAnalysis *a = r->a;
  const StanceSimTruth *t = r->t;
  const char *w = r->what;
  /* Rep count: exact (issue 3). */
  ck_assert_msg(a->n_trials == t->n_trials, "%s: %zu reps found, truth %zu", w, a->n_trials,
                t->n_trials);
  ck_assert_msg(session(r, "rep_count", STANCE_SEL_TOTAL) ==
                    stance_sim_truth_session_metric(t, "rep_count")->total,
                "%s: rep_count", w);
  ck_assert_msg(session(r, "set_count", STANCE_SEL_TOTAL) ==
                    stance_sim_truth_session_metric(t, "set_count")->total,
                "%s: set_count %g, truth %g", w, session(r, "set_count", STANCE_SEL_TOTAL),
                stance_sim_truth_session_metric(t, "set_count")->total);
  for (size_t k = 0; k < a->n_trials; k++) {
    const StanceTrial *tr = &a->trials[k];
    const StanceTruthTrial *tt = &t->trials[k];
    ck_assert_str_eq(tr->kind, "rep");
    ck_assert_msg(tr->set == tt->set, "%s: rep %zu in set %d, truth %d", w, k + 1, tr->set,
                  tt->set);
    ck_assert_msg(tr->side == want_side, "%s: rep %zu side %s", w, k + 1,
                  stance_side_name(tr->side));
    /* No flag but the warm-up set's information (checked in test_barbell_warmup). */
    for (size_t f = 0; f < tr->n_flags; f++)
      ck_assert_msg(!strcmp(tr->flags[f].id, "warmup_set"), "%s: rep %zu flagged %s: %s", w, k + 1,
                    tr->flags[f].id, tr->flags[f].message);

    /* Peak and mean force per limb and total: 0.5 % (issue 3). The 20 ms average keeps the
     * sensor noise (1.4 N on the total) to a few tenths of a newton at the peak. */
    const char *force_ids[2] = {"peak_force", "mean_force"};
    for (int f = 0; f < 2; f++) {
      const StanceTruthMetric *tm = stance_sim_truth_metric(tt, force_ids[f]);
      const StanceMetric *m = stance_trial_metric(tr, force_ids[f]);
      ck_assert_ptr_nonnull(tm);
      for (int s = 0; s < 3; s++) {
        if (!(tm->has & truth_bits[s]))
          continue;
        double v = get(r, m, sels[s], force_ids[f], k + 1), tv = truth_val(tm, s);
        /* A limb's mean over the rep also depends on the window's edges, where that limb may
         * carry most of the weight: 0.5 % of the total's mean there (8 ms of full load). */
        double tol = 0.005 * (f == 1 ? tm->total : tv);
        ck_assert_msg(fabs(v - tv) <= tol, "%s: rep %zu %s[%d] %.2f, truth %.2f", w, k + 1,
                      force_ids[f], s, v, tv);
      }
      /* Asymmetry of the limb peaks by pct_diff: 1 point (issue 3). */
      if (f == 0 && (tm->has & STANCE_TRUTH_LEFT) && (tm->has & STANCE_TRUTH_RIGHT)) {
        double al = pct_diff(get(r, m, STANCE_SEL_LEFT, "peak_force", k + 1),
                             get(r, m, STANCE_SEL_RIGHT, "peak_force", k + 1));
        double at = pct_diff(tm->left, tm->right);
        ck_assert_msg(fabs(al - at) <= 1.0, "%s: rep %zu peak asymmetry %.2f %%, truth %.2f %%", w,
                      k + 1, al, at);
      }
    }
    /* Load shares: 1 point (issue 3). */
    const StanceTruthMetric *ls = stance_sim_truth_metric(tt, "load_share_pct");
    if (ls) {
      const StanceMetric *m = stance_trial_metric(tr, "load_share_pct");
      for (int s = 0; s < 2; s++) {
        double v = get(r, m, sels[s], "load_share_pct", k + 1);
        ck_assert_msg(fabs(v - truth_val(ls, s)) <= 1.0,
                      "%s: rep %zu load share[%d] %.2f, "
                      "truth %.2f",
                      w, k + 1, s, v, truth_val(ls, s));
      }
    }
    const StanceTruthMetric *fs = stance_sim_truth_metric(tt, "front_share_pct");
    if (fs) {
      double v = get(r, stance_trial_metric(tr, "front_share_pct"), STANCE_SEL_TOTAL,
                     "front_share_pct", k + 1);
      ck_assert_msg(fabs(v - fs->total) <= 1.0, "%s: rep %zu front share %.2f, truth %.2f", w,
                    k + 1, v, fs->total);
    }
    /* Phase times: 25 ms. The phases start and end where the force leaves or regains the system
     * weight with a finite slope (hundreds of N/s); the line extrapolated through the half and
     * quarter band crossings of the 20 ms average lands within a few ms, and within about 10 ms
     * where the curve bends near its end (RDL, deadlift tension ramp). */
    const char *dur_ids[4] = {"time_under_tension", "ecc_duration", "con_duration", "rep_duration"};
    for (int d = 0; d < 4; d++) {
      const StanceTruthMetric *tm = stance_sim_truth_metric(tt, dur_ids[d]);
      double v = get(r, stance_trial_metric(tr, dur_ids[d]), STANCE_SEL_TOTAL, dur_ids[d], k + 1);
      /* rep_duration of the step-up and deadlift ends in smooth load transfers (weight shift,
       * tension ramp, release) timed by the cubic fit; the slow sway of the plate shares (+-1 %)
       * moves their 25 / 75 % crossings by up to about 20 ms each: 40 ms. */
      double tol = d == 3 ? 0.040 : 0.025;
      ck_assert_msg(fabs(v - tm->total) <= tol, "%s: rep %zu %s %.4f s, truth %.4f s", w, k + 1,
                    dur_ids[d], v, tm->total);
    }
    /* Events: 25 ms (same reasoning; the contact events of the lunge and step-up and the ends
     * of the step-up and deadlift reps are timed by the cubic fit of the load transfer, see
     * stance-reps.c; the peak time is the vertex of a parabola fitted over +-60 ms). */
    for (int e = 0; e < tt->n_events; e++) {
      const char *nm = tt->events[e].name;
      double v = stance_trial_event(tr, nm);
      ck_assert_msg(v >= 0.0, "%s: rep %zu has no event %s", w, k + 1, nm);
      ck_assert_msg(fabs(v - tt->events[e].t_s) <= 0.025,
                    "%s: rep %zu event %s at %.4f s, "
                    "truth %.4f s",
                    w, k + 1, nm, v, tt->events[e].t_s);
    }
    /* Concentric RFD of the total: 8 %. The rise from con_start to the concentric peak is small
     * (tens of newtons in a squat) and the peak broad, so 1 N of noise or a few ms at con_start
     * move the ratio by several percent; the peak is located on a 50 ms average. */
    const StanceTruthMetric *rfd = stance_sim_truth_metric(tt, "con_rfd");
    double vr = get(r, stance_trial_metric(tr, "con_rfd"), STANCE_SEL_TOTAL, "con_rfd", k + 1);
    ck_assert_msg(fabs(vr - rfd->total) <= 0.08 * fabs(rfd->total),
                  "%s: rep %zu con_rfd %.1f, "
                  "truth %.1f",
                  w, k + 1, vr, rfd->total);
    /* Peak velocity and displacement of the concentric move, from the integrated force: 0.02 m/s
     * and 1 cm (a 0.2 N level error over a 3 s rep is 0.008 m/s; the phase edges a few ms). */
    const StanceTruthMetric *pv = stance_sim_truth_metric(tt, "peak_velocity");
    const StanceTruthMetric *cd = stance_sim_truth_metric(tt, "com_displacement");
    double v1 = get(r, stance_trial_metric(tr, "peak_velocity"), STANCE_SEL_TOTAL, "pv", k + 1);
    double v2 = get(r, stance_trial_metric(tr, "com_displacement"), STANCE_SEL_TOTAL, "cd", k + 1);
    ck_assert_msg(fabs(v1 - pv->total) <= 0.02, "%s: rep %zu peak velocity %.4f, truth %.4f", w,
                  k + 1, v1, pv->total);
    ck_assert_msg(fabs(v2 - cd->total) <= 0.01, "%s: rep %zu displacement %.4f, truth %.4f", w,
                  k + 1, v2, cd->total);
    /* Net impulse of the movement: the COM starts and ends at rest, so the truth is 0; ours is
     * noise and level error: 1.5 N.s (0.3 N over 4 s plus the noise integral). */
    double ni = get(r, stance_trial_metric(tr, "net_impulse"), STANCE_SEL_TOTAL, "ni", k + 1);
    ck_assert_msg(fabs(ni) <= 1.5, "%s: rep %zu net impulse %.3f N.s", w, k + 1, ni);
    const StanceTruthMetric *bl = stance_sim_truth_metric(tt, "bar_load_kg");
    if (bl) {
      double v = get(r, stance_trial_metric(tr, "bar_load_kg"), STANCE_SEL_TOTAL, "bar", k + 1);
      ck_assert_msg(fabs(v - bl->total) <= 0.5, "%s: rep %zu bar %.2f kg, truth %.2f kg", w, k + 1,
                    v, bl->total);
    }
  }

  /* Session: reps per set exact; fatigue index 2 points: the excess peak above system weight
   * of a squat-type rep is 60-170 N and the maximum of the 20 ms average sits up to ~0.75 N
   * (2.5 noise SDs) above the true peak, independently for the first and the last rep:
   * 1.5 N / 75 N = 2 points at worst (measured: at most 1.65 over 1120 reps of all protocols). */
  for (int k = 0; k < t->n_metrics; k++) {
    const StanceTruthMetric *tm = &t->metrics[k];
    if (!strncmp(tm->id, "reps_set", 8) || !strcmp(tm->id, "working_set_count") ||
        !strcmp(tm->id, "warmup_set_count")) {
      ck_assert_msg(session(r, tm->id, STANCE_SEL_TOTAL) == tm->total, "%s: %s %g, truth %g", w,
                    tm->id, session(r, tm->id, STANCE_SEL_TOTAL), tm->total);
    } else if (!strncmp(tm->id, "fatigue_index_set", 17) ||
               !strncmp(tm->id, "fatigue_index_gross_set", 23)) {
      /* 2 points, or two peak errors of 0.75 N against the first rep's excess when that is
       * small (single-leg RDL: 35-60 N above weight). */
      int set = atoi(strrchr(tm->id, 't') + 1);
      double e1 = 0.0;
      for (size_t q = 0; q < t->n_trials; q++)
        if (t->trials[q].set == set) {
          const StanceTruthMetric *sm = stance_sim_truth_metric(&t->trials[q], "system_mass_kg");
          e1 = stance_sim_truth_metric(&t->trials[q], "peak_force")->total -
               (sm ? sm->total * STANCE_GRAVITY : t->system_weight_n);
          break;
        }
      double tol = e1 > 0.0 ? fmax(2.0, 100.0 * 1.5 / e1) : 2.0;
      double v = session(r, tm->id, STANCE_SEL_TOTAL);
      ck_assert_msg(fabs(v - tm->total) <= tol, "%s: %s %.2f, truth %.2f (tolerance %.2f)", w,
                    tm->id, v, tm->total, tol);
    } else if (!strncmp(tm->id, "rest_s_set", 10)) {
      /* The rest runs from the end of the rerack (or stand-up) to the start of the next unrack
       * (or set-up): smooth load changes timed to about 50 ms; 0.1 s. */
      double v = session(r, tm->id, STANCE_SEL_TOTAL);
      ck_assert_msg(fabs(v - tm->total) <= 0.1, "%s: %s %.3f, truth %.3f", w, tm->id, v, tm->total);
    } else if (!strcmp(tm->id, "load_share_pct")) {
      ck_assert_msg(fabs(session(r, tm->id, STANCE_SEL_LEFT) - tm->left) <= 1.0, "%s: %s", w,
                    tm->id);
      ck_assert_msg(fabs(session(r, tm->id, STANCE_SEL_RIGHT) - tm->right) <= 1.0, "%s: %s", w,
                    tm->id);
    } else if (!strcmp(tm->id, "front_share_pct")) {
      ck_assert_msg(fabs(session(r, tm->id, STANCE_SEL_TOTAL) - tm->total) <= 1.0, "%s: %s", w,
                    tm->id);
    } else if (!strcmp(tm->id, "system_mass_kg")) {
      ck_assert_msg(fabs(session(r, tm->id, STANCE_SEL_TOTAL) - tm->total) <= 0.5, "%s: %s", w,
                    tm->id);
    }
  }

  /* The regression fatigue index against the same regression on the truth's peaks: the same
   * tolerance as above (the same peak errors, spread over all reps). */
  for (int set = 1;; set++) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, w_sys = 0;
    int nn = 0;
    for (size_t k = 0; k < t->n_trials; k++) {
      if (t->trials[k].set != set)
        continue;
      const StanceTruthMetric *sm = stance_sim_truth_metric(&t->trials[k], "system_mass_kg");
      w_sys = sm ? sm->total * STANCE_GRAVITY : t->system_weight_n;
      double y = stance_sim_truth_metric(&t->trials[k], "peak_force")->total - w_sys;
      sx += nn;
      sy += y;
      sxx += (double)nn * nn;
      sxy += nn * y;
      nn++;
    }
    if (nn == 0)
      break;
    if (nn < 3)
      continue;
    double b = (nn * sxy - sx * sy) / (nn * sxx - sx * sx), a0 = (sy - b * sx) / nn;
    double want = -100.0 * b * (nn - 1) / a0;
    char id[40];
    snprintf(id, sizeof id, "fatigue_index_slope_set%d", set);
    double v = session(r, id, STANCE_SEL_TOTAL);
    double tol = a0 > 0.0 ? fmax(2.0, 100.0 * 1.5 / a0) : 2.0;
    ck_assert_msg(fabs(v - want) <= tol, "%s: %s %.2f, regression on truth %.2f (tolerance %.2f)",
                  w, id, v, want, tol);
  }
}

static StanceSimParams
rep_params(StanceProtocol proto, uint64_t seed, double asym, StanceSide weaker, StanceSide side)
{
  StanceSimParams p = stance_test_sim_params(proto, seed);
  p.asym_force_pct = asym;
  p.asym_rfd_pct = asym;
  p.asym_impulse_pct = asym;
  p.weaker = weaker;
  p.reps = 3;
  p.sets = 2;
  p.rest_s = 12.0;
  if (proto == STANCE_PROTO_BACK_SQUAT || proto == STANCE_PROTO_DEADLIFT) {
    p.include_warmup = false;
    p.rest_s = 20.0;
    p.side = STANCE_SIDE_BOTH;
  } else {
    p.side = side;
  }
  return p;
}

static void
protocol_sweep(StanceProtocol proto)
{
  static const double asym_all[] = {0.0, 10.0, 20.0, 30.0};
  static const double asym_vg[] = {0.0, 30.0};
  const double *asym = under_valgrind() ? asym_vg : asym_all;
  size_t n = under_valgrind() ? 2 : 4;
  bool barbell = proto == STANCE_PROTO_BACK_SQUAT || proto == STANCE_PROTO_DEADLIFT;
  for (size_t k = 0; k < n; k++) {
    StanceSide weaker = k % 2 ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
    StanceSide side = (k / 2) % 2 ? STANCE_SIDE_RIGHT : STANCE_SIDE_LEFT;
    StanceSimParams p = rep_params(proto, 100 + k, asym[k], weaker, side);
    p.fatigue_pct = k == 1 ? 15.0 : 0.0;
    Run r;
    run_sim(&r, &p);
    run_analyse(&r, NULL);
    check_reps(&r, barbell ? STANCE_SIDE_BOTH : side);
    run_free(&r);
  }
}

START_TEST(test_split_squat)
{
  protocol_sweep(STANCE_PROTO_SPLIT_SQUAT);
}
END_TEST

START_TEST(test_lunge)
{
  protocol_sweep(STANCE_PROTO_LUNGE);
}
END_TEST

START_TEST(test_step_up)
{
  protocol_sweep(STANCE_PROTO_STEP_UP);
}
END_TEST

START_TEST(test_sl_squat)
{
  protocol_sweep(STANCE_PROTO_SL_SQUAT);
}
END_TEST

START_TEST(test_sl_rdl)
{
  protocol_sweep(STANCE_PROTO_SL_RDL);
}
END_TEST

START_TEST(test_back_squat)
{
  protocol_sweep(STANCE_PROTO_BACK_SQUAT);
}
END_TEST

START_TEST(test_deadlift)
{
  protocol_sweep(STANCE_PROTO_DEADLIFT);
}
END_TEST

/* Unilateral reps: the free limb's slot is absent, the load share carries no asymmetry. */
START_TEST(test_unilateral_slots)
{
  StanceSimParams p =
      rep_params(STANCE_PROTO_SL_SQUAT, 7, 20.0, STANCE_SIDE_RIGHT, STANCE_SIDE_RIGHT);
  p.sets = 1;
  Run r;
  run_sim(&r, &p);
  run_analyse(&r, NULL);
  ck_assert_uint_eq(r.a->n_trials, 3);
  for (size_t k = 0; k < r.a->n_trials; k++) {
    const StanceMetric *m = stance_trial_metric(&r.a->trials[k], "peak_force");
    ck_assert_ptr_nonnull(m);
    ck_assert(m->has & STANCE_HAS_RIGHT);
    ck_assert(m->has & STANCE_HAS_TOTAL);
    ck_assert(!(m->has & STANCE_HAS_LEFT));
    ck_assert(!m->has_asym);
    const StanceMetric *ls = stance_trial_metric(&r.a->trials[k], "load_share_pct");
    ck_assert_ptr_nonnull(ls);
    ck_assert(!ls->has_asym);
    double v;
    ck_assert(stance_metric_get(ls, STANCE_SEL_RIGHT, &v));
    ck_assert_msg(fabs(v - 100.0) < 0.5, "stance leg share %.2f", v);
  }
  run_free(&r);
}
END_TEST

/* Barbell with the warm-up ladder (8-6-4-2 at 40-85 % of the working load, then 2 working sets):
 * every set found, warm-up against working sets by the measured bar load, rests measured. */
START_TEST(test_barbell_warmup)
{
  StanceProtocol protos[2] = {STANCE_PROTO_BACK_SQUAT, STANCE_PROTO_DEADLIFT};
  for (int k = 0; k < (under_valgrind() ? 1 : 2); k++) {
    StanceSimParams p = rep_params(protos[k], 21 + k, 12.0, STANCE_SIDE_LEFT, STANCE_SIDE_BOTH);
    p.include_warmup = true;
    p.reps = 3;
    p.sets = 2;
    p.fatigue_pct = 12.0;
    p.rest_s = 20.0; /* warm-up rests 40-60 % of it: 8-12 s, still above the 8 s set gap */
    Run r;
    run_sim(&r, &p);
    run_analyse(&r, NULL);
    check_reps(&r, STANCE_SIDE_BOTH);
    ck_assert_msg(session(&r, "warmup_set_count", STANCE_SEL_TOTAL) == 4.0, "%s", r.what);
    ck_assert_msg(session(&r, "working_set_count", STANCE_SEL_TOTAL) == 2.0, "%s", r.what);
    /* The warm-up reps (8 + 6 + 4 + 2) carry the information flag, the working reps none. */
    size_t n_warm_reps = 0;
    for (size_t j = 0; j < r.a->n_trials; j++) {
      bool fl = stance_trial_find_flag(&r.a->trials[j], "warmup_set") != NULL;
      ck_assert_msg(fl == (r.a->trials[j].set <= 4), "%s: rep %zu of set %d", r.what, j + 1,
                    r.a->trials[j].set);
      n_warm_reps += fl;
    }
    ck_assert_uint_eq(n_warm_reps, 20);
    run_free(&r);
  }
}
END_TEST

/* The side taken from the loads when the recording does not name it. */
START_TEST(test_side_inferred)
{
  StanceProtocol protos[3] = {STANCE_PROTO_SPLIT_SQUAT, STANCE_PROTO_LUNGE, STANCE_PROTO_STEP_UP};
  for (int k = 0; k < 3; k++) {
    StanceSimParams p = rep_params(protos[k], 31 + k, 10.0, STANCE_SIDE_LEFT, STANCE_SIDE_RIGHT);
    p.sets = 1;
    Run r;
    run_sim(&r, &p);
    r.rec->meta.side = STANCE_SIDE_BOTH;
    run_analyse(&r, NULL);
    ck_assert_msg(stance_analysis_find_flag(r.a, "side_inferred") != NULL, "%s", r.what);
    ck_assert_uint_eq(r.a->n_trials, 3);
    for (size_t j = 0; j < r.a->n_trials; j++)
      ck_assert_msg(r.a->trials[j].side == STANCE_SIDE_RIGHT, "%s: rep %zu side %s", r.what, j + 1,
                    stance_side_name(r.a->trials[j].side));
    run_free(&r);
  }
}
END_TEST

/* Quiet standing analysed as a split squat: no rep, a clear flag, counts of zero. */
START_TEST(test_no_reps)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 3);
  p.duration_s = 8.0;
  Run r;
  run_sim(&r, &p);
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.protocol = STANCE_PROTO_SPLIT_SQUAT;
  o.side = STANCE_SIDE_LEFT;
  run_analyse(&r, &o);
  ck_assert_uint_eq(r.a->n_trials, 0);
  ck_assert_ptr_nonnull(stance_analysis_find_flag(r.a, "no_trials"));
  ck_assert(session(&r, "rep_count", STANCE_SEL_TOTAL) == 0.0);
  run_free(&r);
}
END_TEST

/* A longer set with fatigue: the first-to-last index against the programmed drop. */
START_TEST(test_fatigue_long_set)
{
  StanceProtocol protos[3] = {STANCE_PROTO_SPLIT_SQUAT, STANCE_PROTO_SL_SQUAT,
                              STANCE_PROTO_STEP_UP};
  for (int k = 0; k < (under_valgrind() ? 1 : 3); k++) {
    StanceSimParams p = rep_params(protos[k], 41 + k, 10.0, STANCE_SIDE_RIGHT, STANCE_SIDE_LEFT);
    p.sets = 1;
    p.reps = 6;
    p.fatigue_pct = 25.0;
    Run r;
    run_sim(&r, &p);
    run_analyse(&r, NULL);
    check_reps(&r, STANCE_SIDE_LEFT);
    /* The simulator's first and last reps sit exactly on the programmed line: 2 points. */
    ck_assert_msg(fabs(session(&r, "fatigue_index_set1", STANCE_SEL_TOTAL) - 25.0) <= 2.0,
                  "%s: fatigue %.2f", r.what, session(&r, "fatigue_index_set1", STANCE_SEL_TOTAL));
    ck_assert_msg(fabs(session(&r, "fatigue_index", STANCE_SEL_TOTAL) - 25.0) <= 2.0, "%s", r.what);
    run_free(&r);
  }
}
END_TEST

/* One plate (COMBINED layout: the total only): every rep found, total values only, no limb
 * slots and no load shares. */
START_TEST(test_combined_plate)
{
  StanceProtocol protos[2] = {STANCE_PROTO_SPLIT_SQUAT, STANCE_PROTO_BACK_SQUAT};
  for (int k = 0; k < 2; k++) {
    StanceSimParams p = rep_params(protos[k], 51 + k, 15.0, STANCE_SIDE_RIGHT, STANCE_SIDE_LEFT);
    Run r;
    run_sim(&r, &p);
    size_t n = r.rec->n_samples;
    double *tot = malloc(n * sizeof *tot);
    ck_assert_ptr_nonnull(tot);
    ck_assert_int_eq(stance_recording_force(r.rec, STANCE_SEL_TOTAL, tot, NULL), 0);
    StanceRecording *one =
        stance_recording_new(STANCE_LAYOUT_COMBINED, r.rec->sample_rate_hz, false);
    ck_assert_ptr_nonnull(one);
    ck_assert_int_eq(stance_recording_reserve(one, n), 0);
    for (size_t i = 0; i < n; i++)
      ck_assert_int_eq(stance_recording_append_forces(one, &tot[i], NULL, 0), 0);
    one->meta = r.rec->meta;
    free(tot);
    stance_recording_free(r.rec);
    r.rec = one;
    run_analyse(&r, NULL);
    ck_assert_msg(r.a->n_trials == r.t->n_trials, "%s: %zu reps on one plate, truth %zu", r.what,
                  r.a->n_trials, r.t->n_trials);
    for (size_t j = 0; j < r.a->n_trials; j++) {
      const StanceMetric *m = stance_trial_metric(&r.a->trials[j], "peak_force");
      ck_assert_ptr_nonnull(m);
      ck_assert_uint_eq(m->has, STANCE_HAS_TOTAL);
      double tv = stance_sim_truth_metric(&r.t->trials[j], "peak_force")->total;
      ck_assert_msg(fabs(m->total - tv) <= 0.005 * tv, "%s: rep %zu peak %.2f, truth %.2f", r.what,
                    j + 1, m->total, tv);
      ck_assert_ptr_null(stance_trial_metric(&r.a->trials[j], "load_share_pct"));
    }
    run_free(&r);
  }
}
END_TEST

/* A gap (missing samples) inside a rep: the rep is still found, flagged, and its peak (away
 * from the gap) still right. */
START_TEST(test_gap_in_rep)
{
  StanceSimParams p =
      rep_params(STANCE_PROTO_SPLIT_SQUAT, 61, 10.0, STANCE_SIDE_RIGHT, STANCE_SIDE_LEFT);
  p.sets = 1;
  Run r;
  run_sim(&r, &p);
  /* 30 ms missing in the second rep's descent, 0.4 s after its start. */
  const StanceTruthTrial *tt = &r.t->trials[1];
  size_t i0 = (size_t)llround((tt->start_s + 0.4) * r.rec->sample_rate_hz);
  for (size_t i = i0; i < i0 + 30; i++)
    r.rec->status[i] |= STANCE_STATUS_GAP;
  run_analyse(&r, NULL);
  ck_assert_uint_eq(r.a->n_trials, r.t->n_trials);
  ck_assert_ptr_nonnull(stance_trial_find_flag(&r.a->trials[1], STANCE_FLAG_GAPS));
  ck_assert_ptr_null(stance_trial_find_flag(&r.a->trials[0], STANCE_FLAG_GAPS));
  double tv = stance_sim_truth_metric(tt, "peak_force")->total;
  double v = get(&r, stance_trial_metric(&r.a->trials[1], "peak_force"), STANCE_SEL_TOTAL,
                 "peak_force", 2);
  ck_assert_msg(fabs(v - tv) <= 0.005 * tv, "peak %.2f, truth %.2f", v, tv);
  run_free(&r);
}
END_TEST

/* Mains hum (50 Hz, 2 N per cell: about 8 N on the total) on top of the noise: the stillness test
 * runs on the 20 ms average, so the hum neither hides the reps nor splits them. */
START_TEST(test_mains_hum)
{
  StanceProtocol protos[2] = {STANCE_PROTO_SPLIT_SQUAT, STANCE_PROTO_SL_SQUAT};
  for (int k = 0; k < (under_valgrind() ? 1 : 2); k++) {
    StanceSimParams p = rep_params(protos[k], 1002 + k, 20.0, STANCE_SIDE_RIGHT, STANCE_SIDE_RIGHT);
    p.mains_hz = 50.0;
    p.mains_amp_n = 2.0;
    Run r;
    run_sim(&r, &p);
    run_analyse(&r, NULL);
    check_reps(&r, STANCE_SIDE_RIGHT);
    run_free(&r);
  }
}
END_TEST

static Suite *
reps_suite(void)
{
  Suite *s = suite_create("reps");
  TCase *tc = tcase_create("truth");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_split_squat);
  tcase_add_test(tc, test_lunge);
  tcase_add_test(tc, test_step_up);
  tcase_add_test(tc, test_sl_squat);
  tcase_add_test(tc, test_sl_rdl);
  tcase_add_test(tc, test_back_squat);
  tcase_add_test(tc, test_deadlift);
  tcase_add_test(tc, test_unilateral_slots);
  tcase_add_test(tc, test_barbell_warmup);
  tcase_add_test(tc, test_side_inferred);
  tcase_add_test(tc, test_no_reps);
  tcase_add_test(tc, test_fatigue_long_set);
  tcase_add_test(tc, test_combined_plate);
  tcase_add_test(tc, test_gap_in_rep);
  tcase_add_test(tc, test_mains_hum);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(reps_suite());
}
