/* test-analysis.c: the analysis pipeline: options, body weight, zeroing, quality flags, protocol
 * guessing, filtering, combining files, and the result model.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-analysis.h"
#include "stance-test.h"

static StanceAnalysis *
analyse_ok(const StanceRecording *rec, const StanceAnalysisOptions *o)
{
  StanceAnalysis *a = NULL;
  StanceError err = {0};
  int rc = stance_analyse(rec, "test", o, &a, &err);
  ck_assert_msg(rc == STANCE_OK, "stance_analyse: %s", err.message);
  ck_assert_ptr_nonnull(a);
  return a;
}

/* A PLATES recording of the simulated forces (left, right), with `add_left` newtons added to the
 * left plate. */
static StanceRecording *
plates_from(const StanceRecording *cells, double add_left)
{
  StanceRecording *p = stance_recording_new(STANCE_LAYOUT_PLATES, cells->sample_rate_hz, false);
  ck_assert_ptr_nonnull(p);
  p->meta = cells->meta;
  for (size_t i = 0; i < cells->n_samples; i++) {
    double f[2] = {stance_recording_force_at(cells, i, STANCE_SEL_LEFT) + add_left,
                   stance_recording_force_at(cells, i, STANCE_SEL_RIGHT)};
    ck_assert_int_eq(stance_recording_append_forces(p, f, NULL, 0), STANCE_OK);
  }
  return p;
}

START_TEST(test_bad_input)
{
  StanceAnalysis *a = NULL;
  StanceError err = {0};
  StanceRecording *empty = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000, false);
  ck_assert_int_eq(stance_analyse(empty, "x", NULL, &a, &err), STANCE_ENODATA);
  ck_assert_ptr_null(a);
  ck_assert_msg(strstr(err.message, "empty"), "message: %s", err.message);
  stance_recording_free(empty);

  StanceRecording *rec = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 1);
  stance_test_sim_set(&p, "duration", "5");
  stance_test_sim_run(&p, &rec, NULL);

  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.filter = STANCE_FILTER_BUTTERWORTH;
  o.filter_order = 4;
  o.filter_cutoff_hz = 600; /* above Nyquist at 1 kHz */
  stance_error_clear(&err);
  ck_assert_int_eq(stance_analyse(rec, "x", &o, &a, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "cutoff 600") && strstr(err.message, "500"), "message: %s",
                err.message);
  o.filter_cutoff_hz = 10;
  o.filter_order = 3;
  ck_assert_int_eq(stance_analyse(rec, "x", &o, &a, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "order 3"), "message: %s", err.message);

  stance_analysis_options_default(&o);
  o.onset_sd = -1;
  ck_assert_int_eq(stance_analyse(rec, "x", &o, &a, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "onset SD"), "message: %s", err.message);
  stance_analysis_options_default(&o);
  o.peak_rfd_window_s = 0.0005; /* half a sample */
  ck_assert_int_eq(stance_analyse(rec, "x", &o, &a, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "peak RFD window"), "message: %s", err.message);
  stance_recording_free(rec);
}
END_TEST

/* Body weight, mass and the still share against the simulator's truth. The stillest 1 s window
 * of a quiet start holds m g plus noise (cell noise 0.5 N RMS x 8 cells, ADC noise ~0.02 N):
 * its mean is within 0.5 N of the truth, far inside the 0.5 % a demanding user asks for. */
START_TEST(test_body_weight_truth)
{
  const char *asym[] = {"30", "0", "10"};
  const size_t n_cases = stance_test_under_valgrind() ? 1 : 3;
  for (size_t k = 0; k < n_cases; k++) {
    StanceRecording *rec = NULL;
    StanceSimTruth *truth = NULL;
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 11 + k);
    stance_test_sim_set(&p, "asymmetry", asym[k]);
    stance_test_sim_set(&p, "reps", "1");
    stance_test_sim_run(&p, &rec, &truth);
    StanceAnalysis *a = analyse_ok(rec, NULL);
    ck_assert(a->cond.has_body_weight);
    ck_assert_near(a->cond.body_weight_n, truth->body_weight_n, 0.5);
    ck_assert_near(a->cond.body_mass_kg, truth->body_weight_n / STANCE_GRAVITY, 0.05);
    /* The still share: truth within 0.005 (0.5 points; the sim's +-1 % wobble is slow). */
    ck_assert_near(a->cond.still_share_left, truth->still_share_left, 0.005);
    ck_assert(a->cond.body_weight_sd_n > 0.1 && a->cond.body_weight_sd_n < 5.0);
    ck_assert_int_eq(a->protocol, STANCE_PROTO_CMJ);
    ck_assert_str_eq(stance_asym_formula_name(a->formula), "lr_sum");
    ck_assert_ptr_null(stance_analysis_find_flag(a, STANCE_FLAG_NO_STILL));
    ck_assert_ptr_null(stance_analysis_find_flag(a, STANCE_FLAG_SATURATION));
    ck_assert_ptr_null(stance_analysis_find_flag(a, STANCE_FLAG_MAINS_HUM));
    ck_assert_str_eq(a->cond.filter.id, "filter.raw");
    stance_analysis_free(a);
    stance_sim_truth_free(truth);
    stance_recording_free(rec);
  }
}
END_TEST

START_TEST(test_flags_saturation_gaps)
{
  StanceRecording *rec = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 5);
  stance_test_sim_set(&p, "reps", "1");
  stance_test_sim_set(&p, "saturate", "yes");
  stance_test_sim_run(&p, &rec, NULL);
  size_t nsat = stance_recording_count_saturated(rec);
  ck_assert_uint_gt(nsat, 0);
  /* 40 missing samples in the quiet start, after the weighing window could start. */
  size_t g0 = (size_t)(1.5 * rec->sample_rate_hz);
  for (size_t i = g0; i < g0 + 40; i++) {
    rec->status[i] = STANCE_STATUS_GAP;
    memset(&rec->counts[i * STANCE_N_CELLS], 0, STANCE_N_CELLS * sizeof(int32_t));
  }
  StanceAnalysis *a = analyse_ok(rec, NULL);
  const StanceFlag *f = stance_analysis_find_flag(a, STANCE_FLAG_SATURATION);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->severity, STANCE_SEVERITY_ERROR);
  char want[64];
  snprintf(want, sizeof want, "%zu samples", nsat);
  ck_assert_msg(strstr(f->message, want), "message: %s (expected '%s')", f->message, want);
  f = stance_analysis_find_flag(a, STANCE_FLAG_GAPS);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(strstr(f->message, "40 missing samples") && strstr(f->message, "1.500 s"),
                "message: %s", f->message);
  /* The weighing window never covers the gap. */
  ck_assert(a->cond.has_body_weight);
  ck_assert(a->cond.bw_window_end_s <= 1.5 + 1e-9 || a->cond.bw_window_start_s >= 1.54 - 1e-9);
  /* The jump holding the saturated peak carries the flag too. */
  bool trial_flag = false;
  for (size_t k = 0; k < a->n_trials; k++)
    trial_flag |= stance_trial_find_flag(&a->trials[k], STANCE_FLAG_SATURATION) != NULL;
  ck_assert_msg(a->n_trials >= 1 && trial_flag, "%zu trials, none flagged saturated", a->n_trials);
  stance_analysis_free(a);
  stance_recording_free(rec);
}
END_TEST

/* Hopping from the first to the last sample: half-sine contacts of 0.25 s peaking at 2000 N,
 * flights of 0.2 s, never still. There is no body weight, and nothing that needs it may carry a
 * value. */
START_TEST(test_flag_no_still)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 1000, false);
  rec->meta.protocol = STANCE_PROTO_POGO;
  for (size_t i = 0; i < 6000; i++) {
    double t = fmod((double)i / 1000.0, 0.45);
    double f = t < 0.25 ? 2000.0 * sin(M_PI * t / 0.25) : 0.0;
    double lr[2] = {f / 2, f / 2};
    ck_assert_int_eq(stance_recording_append_forces(rec, lr, NULL, 0), STANCE_OK);
  }
  StanceAnalysis *a = analyse_ok(rec, NULL);
  ck_assert(!a->cond.has_body_weight);
  const StanceFlag *f = stance_analysis_find_flag(a, STANCE_FLAG_NO_STILL);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->severity, STANCE_SEVERITY_ERROR);
  ck_assert_msg(strstr(f->message, "still"), "message: %s", f->message);
  size_t checked = 0;
  for (size_t k = 0; k < a->n_trials; k++) {
    const StanceMetric *m = stance_trial_metric(&a->trials[k], "net_impulse");
    if (m) {
      checked++;
      ck_assert_msg(!(m->has & STANCE_HAS_TOTAL), "net impulse without body weight");
      ck_assert_msg(m->absent[STANCE_SEL_TOTAL][0] != '\0', "absent without a reason");
    }
    /* Contact and flight need no body weight: they are measured. */
    const StanceMetric *ct = stance_trial_metric(&a->trials[k], "contact_time");
    if (ct && (ct->has & STANCE_HAS_TOTAL))
      ck_assert_near(ct->total, 0.25, 0.003);
  }
  ck_assert_uint_gt(checked, 0);
  stance_analysis_free(a);
  stance_recording_free(rec);
}
END_TEST

/* Mains hum of 2 N per cell at 60 Hz with a random phase per cell: the total's line is a sum of 8
 * phasors (about 2 x sqrt(8) = 5.7 N expected, 3.7 N for this seed); the quiet noise floor of
 * the same run without hum is ~1.4 N RMS spread over 500 Hz, so 1 N of line is clearly hum. */
START_TEST(test_flag_mains)
{
  StanceRecording *rec = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 9);
  stance_test_sim_set(&p, "duration", "6");
  stance_test_sim_set(&p, "mains", "60");
  stance_test_sim_run(&p, &rec, NULL);
  StanceAnalysis *a = analyse_ok(rec, NULL);
  const StanceFlag *f = stance_analysis_find_flag(a, STANCE_FLAG_MAINS_HUM);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(strstr(f->message, "60 Hz"), "message: %s", f->message);
  ck_assert(a->cond.has_spectrum);
  ck_assert_near(a->cond.mains_hz, 60.0, 1e-9);
  ck_assert_msg(a->cond.mains_amp_n > 1.0 && a->cond.mains_amp_n < 16.0, "hum %g N",
                a->cond.mains_amp_n);
  stance_analysis_free(a);
  stance_recording_free(rec);

  p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 9);
  stance_test_sim_set(&p, "duration", "6");
  stance_test_sim_run(&p, &rec, NULL);
  a = analyse_ok(rec, NULL);
  ck_assert_ptr_null(stance_analysis_find_flag(a, STANCE_FLAG_MAINS_HUM));
  ck_assert(a->cond.has_spectrum);
  ck_assert_near(a->cond.mains_hz, 0.0, 0.0);
  /* Balance protocols are low-passed at 10 Hz by default. */
  ck_assert_str_eq(a->cond.filter.id, "filter.butterworth_zero_lag");
  stance_analysis_free(a);
  stance_recording_free(rec);
}
END_TEST

/* A left plate reading 30 N with nobody on it: measured in the flight, removed, flagged. */
START_TEST(test_zeroing)
{
  StanceRecording *rec = NULL;
  StanceSimTruth *truth = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 21);
  stance_test_sim_set(&p, "reps", "1");
  stance_test_sim_run(&p, &rec, &truth);
  StanceRecording *clean = plates_from(rec, 0.0);
  StanceRecording *offset = plates_from(rec, 30.0);
  StanceAnalysis *a0 = analyse_ok(clean, NULL);
  StanceAnalysis *a1 = analyse_ok(offset, NULL);
  ck_assert_ptr_null(stance_analysis_find_flag(a0, STANCE_FLAG_NOT_ZEROED));
  const StanceFlag *f = stance_analysis_find_flag(a1, STANCE_FLAG_NOT_ZEROED);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->severity, STANCE_SEVERITY_WARNING);
  ck_assert_msg(strstr(f->message, "left plate"), "message: %s", f->message);
  ck_assert(a1->cond.zeroed);
  /* The flight lasts ~0.5 s: its mean holds the offset to well within 0.5 N. */
  ck_assert_near(a1->cond.zero_offset_n[STANCE_SEL_LEFT], 30.0, 0.5);
  ck_assert_near(a1->cond.body_weight_n, a0->cond.body_weight_n, 0.5);
  ck_assert_near(a1->cond.body_weight_n, truth->body_weight_n, 0.5);
  stance_analysis_free(a0);
  stance_analysis_free(a1);
  stance_recording_free(clean);
  stance_recording_free(offset);
  stance_sim_truth_free(truth);
  stance_recording_free(rec);
}
END_TEST

/* 62.5 % / 37.5 % while weighing: more than 10 points from even. */
START_TEST(test_flag_uneven_stance)
{
  StanceRecording *r = stance_recording_new(STANCE_LAYOUT_PLATES, 1000, false);
  r->meta.protocol = STANCE_PROTO_QUIET_STANDING;
  uint64_t s = 12345;
  for (size_t i = 0; i < 4000; i++) {
    /* Small deterministic noise (+-1 N) so the window has a real SD. */
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double e = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 2.0;
    double f[2] = {500.0 + e, 300.0 - e};
    ck_assert_int_eq(stance_recording_append_forces(r, f, NULL, 0), STANCE_OK);
  }
  StanceAnalysis *a = analyse_ok(r, NULL);
  ck_assert_near(a->cond.body_weight_n, 800.0, 0.1);
  ck_assert_near(a->cond.still_share_left, 0.625, 0.001);
  const StanceFlag *f = stance_analysis_find_flag(a, STANCE_FLAG_UNEVEN_STANCE);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(strstr(f->message, "62.5 %") && strstr(f->message, "37.5 %"), "message: %s",
                f->message);
  stance_analysis_free(a);
  stance_recording_free(r);
}
END_TEST

/* A one-column file of an unknown test with flights: analysed as CMJs, and said so. */
START_TEST(test_protocol_guess)
{
  StanceRecording *rec = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 8);
  stance_test_sim_set(&p, "reps", "2");
  stance_test_sim_run(&p, &rec, NULL);
  StanceRecording *c = stance_recording_new(STANCE_LAYOUT_COMBINED, rec->sample_rate_hz, false);
  for (size_t i = 0; i < rec->n_samples; i++) {
    double f = stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
    ck_assert_int_eq(stance_recording_append_forces(c, &f, NULL, 0), STANCE_OK);
  }
  StanceAnalysis *a = analyse_ok(c, NULL);
  ck_assert_int_eq(a->protocol, STANCE_PROTO_CMJ);
  const StanceFlag *f = stance_analysis_find_flag(a, STANCE_FLAG_PROTOCOL_GUESSED);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(strstr(f->message, "--protocol"), "message: %s", f->message);
  ck_assert_uint_eq(a->n_trials, 2);
  /* One plate: no per-limb values anywhere. */
  for (size_t k = 0; k < a->n_trials; k++)
    for (size_t m = 0; m < a->trials[k].n_metrics; m++)
      ck_assert_msg(!(a->trials[k].metrics[m].has & (STANCE_HAS_LEFT | STANCE_HAS_RIGHT)),
                    "%s has a limb value on a one-plate recording", a->trials[k].metrics[m].id);
  stance_analysis_free(a);
  stance_recording_free(c);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_filter_options)
{
  StanceRecording *rec = NULL;
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 2);
  stance_test_sim_set(&p, "reps", "1");
  stance_test_sim_run(&p, &rec, NULL);
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_parse_filter(&o, "butter:2:50", &err), STANCE_OK);
  StanceAnalysis *a = analyse_ok(rec, &o);
  ck_assert_str_eq(a->cond.filter.id, "filter.butterworth_zero_lag");
  bool cut = false, ord = false;
  for (int i = 0; i < a->cond.filter.n_params; i++) {
    if (strcmp(a->cond.filter.params[i].key, "cutoff_hz") == 0)
      cut = a->cond.filter.params[i].num == 50.0;
    if (strcmp(a->cond.filter.params[i].key, "order") == 0)
      ord = a->cond.filter.params[i].num == 2.0;
  }
  ck_assert(cut && ord);
  /* Residual analysis suggests a cutoff for a jump in a plausible band. */
  ck_assert_msg(a->cond.suggested_cutoff_hz >= 5 && a->cond.suggested_cutoff_hz <= 100,
                "suggested cutoff %g Hz", a->cond.suggested_cutoff_hz);
  stance_analysis_free(a);

  ck_assert_int_eq(stance_analysis_options_parse_filter(&o, "auto", &err), STANCE_OK);
  a = analyse_ok(rec, &o);
  ck_assert_str_eq(a->cond.filter.id, "filter.butterworth_zero_lag");
  stance_analysis_free(a);
  ck_assert_int_eq(stance_analysis_options_parse_filter(&o, "butter:x", &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "butter:x"), "message: %s", err.message);
  stance_recording_free(rec);
}
END_TEST

/* A left-leg file and a right-leg file of single-leg CMJs give one left-against-right summary in
 * percent difference (the default for unilateral tests); the right leg is the weaker one. */
START_TEST(test_combine_sides)
{
  StanceAnalysis *as[2];
  const char *sides[] = {"left", "right"};
  double truth_mean[2] = {0, 0}, truth_h[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    StanceRecording *rec = NULL;
    StanceSimTruth *truth = NULL;
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_CMJ, 30 + k);
    stance_test_sim_set(&p, "side", sides[k]);
    stance_test_sim_set(&p, "weaker", "right");
    stance_test_sim_set(&p, "asymmetry", "20");
    stance_test_sim_set(&p, "reps", "2");
    stance_test_sim_run(&p, &rec, &truth);
    for (size_t t = 0; t < truth->n_trials; t++) {
      const StanceTruthMetric *m = stance_sim_truth_metric(&truth->trials[t], "peak_force");
      ck_assert_ptr_nonnull(m);
      truth_mean[k] += (k == 0 ? m->left : m->right) / (double)truth->n_trials;
      const StanceTruthMetric *h =
          stance_sim_truth_metric(&truth->trials[t], "jump_height_impulse");
      ck_assert_ptr_nonnull(h);
      truth_h[k] += h->total / (double)truth->n_trials;
    }
    as[k] = analyse_ok(rec, NULL);
    ck_assert_int_eq(as[k]->side, k == 0 ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT);
    stance_sim_truth_free(truth);
    stance_recording_free(rec);
  }
  StanceAnalysis *c = stance_analysis_combine(as, 2);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(c->n_trials, as[0]->n_trials + as[1]->n_trials);
  ck_assert_int_eq(c->trials[c->n_trials - 1].index, (int)c->n_trials);
  ck_assert_str_eq(stance_asym_formula_name(c->formula), "pct_diff");
  const StanceSummaryMetric *s = stance_analysis_summary(c, "peak_force");
  ck_assert_ptr_nonnull(s);
  ck_assert(s->has_asym);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);
  /* The truth's percent difference of the side means (gross peaks, so below the 20 % deficit the
   * simulator puts on the force above weight); ours within 1 point as the issue asks. */
  double want = (truth_mean[0] - truth_mean[1]) / truth_mean[0] * 100.0;
  ck_assert(want > 5.0);
  ck_assert_near(s->asym.value, want, 1.0);
  /* A single-leg jump's height is that leg's: left-leg trials against right-leg trials. */
  s = stance_analysis_summary(c, "jump_height_impulse");
  ck_assert_ptr_nonnull(s);
  ck_assert(s->has_asym && (s->has & STANCE_HAS_LEFT) && (s->has & STANCE_HAS_RIGHT));
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);
  ck_assert_near(s->asym.value, (truth_h[0] - truth_h[1]) / truth_h[0] * 100.0, 1.0);
  stance_analysis_free(c);
  /* Different protocols cannot be combined. */
  as[1]->protocol = STANCE_PROTO_CMJ;
  ck_assert_ptr_null(stance_analysis_combine(as, 2));
  stance_analysis_free(as[0]);
  stance_analysis_free(as[1]);
}
END_TEST

/* The model refuses made-up numbers: NaN and infinity become absences with a reason. */
START_TEST(test_model_no_nan)
{
  StanceAnalysis *a = stance_analysis_new();
  StanceTrial *t = stance_analysis_add_trial(a, "jump", 1.0, 2.0);
  StanceMetric *m = stance_trial_add_metric(t, "peak_force", "N", "peak.max");
  stance_metric_set(m, STANCE_SEL_LEFT, 900.0);
  stance_metric_set(m, STANCE_SEL_RIGHT, NAN);
  stance_metric_set(m, STANCE_SEL_TOTAL, INFINITY);
  double v = 0;
  ck_assert(stance_metric_get(m, STANCE_SEL_LEFT, &v) && v == 900.0);
  ck_assert(!stance_metric_get(m, STANCE_SEL_RIGHT, &v));
  ck_assert(!stance_metric_get(m, STANCE_SEL_TOTAL, &v));
  ck_assert_str_eq(m->absent[STANCE_SEL_RIGHT], "not finite");
  stance_method_param_num(&m->method, "threshold_n", NAN);
  ck_assert_int_eq(m->method.n_params, 0);
  /* Same id twice replaces; the flag keeps the first message and the highest severity. */
  m = stance_trial_add_metric(t, "peak_force", "N", "peak.max");
  ck_assert_uint_eq(t->n_metrics, 1);
  ck_assert_int_eq(stance_trial_flag(t, "x", STANCE_SEVERITY_INFO, "first"), STANCE_OK);
  ck_assert_int_eq(stance_trial_flag(t, "x", STANCE_SEVERITY_ERROR, "second"), STANCE_OK);
  ck_assert_uint_eq(t->n_flags, 1);
  ck_assert_str_eq(t->flags[0].message, "first");
  ck_assert_int_eq(t->flags[0].severity, STANCE_SEVERITY_ERROR);
  ck_assert_int_eq(stance_trial_add_event(t, "onset", NAN, STANCE_SEL_TOTAL), STANCE_ERANGE);
  ck_assert_int_eq(stance_trial_add_event(t, "onset", 1.25, STANCE_SEL_TOTAL), STANCE_OK);
  ck_assert_near(stance_trial_event(t, "onset"), 1.25, 0);
  ck_assert_near(stance_trial_event(t, "takeoff"), -1, 0);
  stance_analysis_free(a);
}
END_TEST

/* Between sessions (Hopkins 2000): session A 1000, 1010, 990 N; session B 1100, 1120, 1080 N.
 * Means 1000 and 1100: change +100 N. Within-session SDs 10 and 20 N, pooled over 2 + 2 degrees
 * of freedom: TE = sqrt((2 x 100 + 2 x 400) / 4) = sqrt(250) = 15.8113883 N. SWC = 0.2 x SD of
 * the means (70.7106781 N) = 14.1421356 N. MDC95 = 1.96 x sqrt(2) x TE = 43.8269 N. */
START_TEST(test_between_sessions)
{
  const double vals[2][3] = {{1000, 1010, 990}, {1100, 1120, 1080}};
  StanceAnalysis *as[2];
  for (int k = 0; k < 2; k++) {
    as[k] = stance_analysis_new();
    as[k]->protocol = STANCE_PROTO_IMTP;
    for (int t = 0; t < 3; t++) {
      StanceTrial *tr = stance_analysis_add_trial(as[k], "hold", t * 10.0, t * 10.0 + 5.0);
      StanceMetric *m = stance_trial_add_metric(tr, "peak_force", "N", "peak.max");
      stance_metric_set(m, STANCE_SEL_TOTAL, vals[k][t]);
    }
  }
  StanceAnalysis *c = stance_analysis_combine(as, 2);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(c->n_trend, 1);
  const StanceTrendMetric *t = &c->trend[0];
  ck_assert_str_eq(t->id, "peak_force");
  ck_assert_uint_eq(t->n_sessions, 2);
  ck_assert_near(t->first_mean, 1000.0, 1e-9);
  ck_assert_near(t->last_mean, 1100.0, 1e-9);
  ck_assert_near(t->change, 100.0, 1e-9);
  ck_assert(t->has_te && t->has_swc && t->has_mdc);
  ck_assert_near(t->te, sqrt(250.0), 1e-9);
  ck_assert_near(t->swc, 0.2 * sqrt(5000.0), 1e-9);
  ck_assert_near(t->mdc95, 1.96 * sqrt(2.0) * sqrt(250.0), 1e-9);
  ck_assert(t->exceeds_swc && t->exceeds_mdc);
  stance_analysis_free(c);
  /* Sessions of different sides (a left-leg and a right-leg file) are not a trend. */
  as[1]->side = STANCE_SIDE_RIGHT;
  as[0]->side = STANCE_SIDE_LEFT;
  c = stance_analysis_combine(as, 2);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(c->n_trend, 0);
  stance_analysis_free(c);
  /* One session: no trend. */
  c = stance_analysis_combine(as, 1);
  ck_assert_uint_eq(c->n_trend, 0);
  stance_analysis_free(c);
  stance_analysis_free(as[0]);
  stance_analysis_free(as[1]);
}
END_TEST

static Suite *
analysis_suite(void)
{
  Suite *s = suite_create("analysis");
  TCase *tc = tcase_create("pipeline");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_body_weight_truth);
  tcase_add_test(tc, test_flags_saturation_gaps);
  tcase_add_test(tc, test_flag_no_still);
  tcase_add_test(tc, test_flag_mains);
  tcase_add_test(tc, test_zeroing);
  tcase_add_test(tc, test_flag_uneven_stance);
  tcase_add_test(tc, test_protocol_guess);
  tcase_add_test(tc, test_filter_options);
  tcase_add_test(tc, test_combine_sides);
  tcase_add_test(tc, test_model_no_nan);
  tcase_add_test(tc, test_between_sessions);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(analysis_suite());
}
