/* test-sim.c: the simulator's core: parameters, the sensor chain (cells, counts, noise, hum,
 * drift, saturation), the virtual board's calibration, determinism, the truth and its JSON, the
 * shared truth helpers and the balance protocols (quiet standing, single-leg balance, weigh-in).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-sim-private.h"
#include "stance-sim.h"
#include "stance-test.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* Mean force of sel over samples [i0, i1), decoded from the counts through the calibration. */
static double
mean_force(const StanceRecording *rec, StanceSel sel, size_t i0, size_t i1)
{
  double sum = 0.0;
  for (size_t i = i0; i < i1; i++)
    sum += stance_recording_force_at(rec, i, sel);
  return sum / (double)(i1 - i0);
}

/* Amplitude of the f Hz component of x[0..n) (Goertzel), same units as x. */
static double
goertzel_amp(const double *x, size_t n, double rate, double f)
{
  double w = 2.0 * M_PI * f / rate, c = 2.0 * cos(w), s1 = 0.0, s2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    double s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double re = s1 - s2 * cos(w), im = s2 * sin(w);
  return 2.0 * sqrt(re * re + im * im) / (double)n;
}

/* Least-squares slope of y over time at rate. */
static double
ls_slope(const double *y, size_t n, double rate)
{
  double mt = 0.0, my = 0.0;
  for (size_t i = 0; i < n; i++) {
    mt += (double)i / rate;
    my += y[i];
  }
  mt /= (double)n;
  my /= (double)n;
  double sty = 0.0, stt = 0.0;
  for (size_t i = 0; i < n; i++) {
    double dt = (double)i / rate - mt;
    sty += dt * (y[i] - my);
    stt += dt * dt;
  }
  return sty / stt;
}

/* ---- a small strict JSON checker (RFC 8259 grammar, no semantic checks) ---- */

typedef struct {
  const char *s;
  size_t i, n;
} JP;

static void
jp_ws(JP *p)
{
  while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
    p->i++;
}

static bool jp_value(JP *p);

static bool
jp_string(JP *p)
{
  if (p->i >= p->n || p->s[p->i] != '"')
    return false;
  p->i++;
  while (p->i < p->n && p->s[p->i] != '"') {
    unsigned char c = (unsigned char)p->s[p->i];
    if (c < 0x20)
      return false;
    if (c == '\\') {
      p->i++;
      if (p->i >= p->n || !strchr("\"\\/bfnrtu", p->s[p->i]))
        return false;
    }
    p->i++;
  }
  if (p->i >= p->n)
    return false;
  p->i++;
  return true;
}

static bool
jp_number(JP *p)
{
  size_t st = p->i;
  if (p->i < p->n && p->s[p->i] == '-')
    p->i++;
  if (p->i >= p->n || !isdigit((unsigned char)p->s[p->i]))
    return false;
  if (p->s[p->i] == '0')
    p->i++;
  else
    while (p->i < p->n && isdigit((unsigned char)p->s[p->i]))
      p->i++;
  if (p->i < p->n && p->s[p->i] == '.') {
    p->i++;
    if (p->i >= p->n || !isdigit((unsigned char)p->s[p->i]))
      return false;
    while (p->i < p->n && isdigit((unsigned char)p->s[p->i]))
      p->i++;
  }
  if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
    p->i++;
    if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
      p->i++;
    if (p->i >= p->n || !isdigit((unsigned char)p->s[p->i]))
      return false;
    while (p->i < p->n && isdigit((unsigned char)p->s[p->i]))
      p->i++;
  }
  return p->i > st;
}

static bool
jp_lit(JP *p, const char *lit)
{
  size_t l = strlen(lit);
  if (p->n - p->i < l || strncmp(p->s + p->i, lit, l) != 0)
    return false;
  p->i += l;
  return true;
}

static bool
jp_value(JP *p)
{
  jp_ws(p);
  if (p->i >= p->n)
    return false;
  char c = p->s[p->i];
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    p->i++;
    jp_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
      p->i++;
      return true;
    }
    for (;;) {
      if (c == '{') {
        jp_ws(p);
        if (!jp_string(p))
          return false;
        jp_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
          return false;
        p->i++;
      }
      if (!jp_value(p))
        return false;
      jp_ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return true;
      }
      return false;
    }
  }
  if (c == '"')
    return jp_string(p);
  if (c == 't')
    return jp_lit(p, "true");
  if (c == 'f')
    return jp_lit(p, "false");
  if (c == 'n')
    return jp_lit(p, "null");
  return jp_number(p);
}

static bool
json_valid(const char *s, size_t n)
{
  JP p = {s, 0, n};
  if (!jp_value(&p))
    return false;
  jp_ws(&p);
  return p.i == n;
}

/* ---- determinism ---- */

START_TEST(test_same_seed_same_counts)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 42);
  p.duration_s = 10.0;
  p.mains_hz = 50.0;
  p.mains_amp_n = 2.0;
  p.drift_n_per_min = 3.0;
  StanceRecording *a, *b, *c;
  stance_test_sim_run(&p, &a, NULL);
  stance_test_sim_run(&p, &b, NULL);
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  ck_assert_int_eq(memcmp(a->counts, b->counts, a->n_samples * STANCE_N_CELLS * sizeof(int32_t)),
                   0);
  ck_assert_int_eq(memcmp(a->status, b->status, a->n_samples * sizeof(uint16_t)), 0);
  /* another seed: another athlete and other noise, so practically every sample differs */
  p.seed = 43;
  stance_test_sim_run(&p, &c, NULL);
  ck_assert_uint_eq(a->n_samples, c->n_samples);
  size_t differ = 0;
  for (size_t i = 0; i < a->n_samples * STANCE_N_CELLS; i++)
    differ += a->counts[i] != c->counts[i];
  ck_assert_msg(differ > a->n_samples * STANCE_N_CELLS * 95 / 100,
                "only %zu of %zu counts differ between seeds 42 and 43", differ,
                a->n_samples * STANCE_N_CELLS);
  stance_recording_free(a);
  stance_recording_free(b);
  stance_recording_free(c);
}
END_TEST

START_TEST(test_metadata_regenerates)
{
  /* The recording's "sim.*" pairs are the CLI keys: setting them on fresh defaults must give the
   * same recording again, byte for byte. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_BALANCE, 977);
  p.side = STANCE_SIDE_RIGHT;
  p.body_mass_kg = 61.3;
  p.foot_x_mm[1] = 12.5;
  p.foot_y_mm[1] = -30.0;
  p.duration_s = 8.0;
  p.adc_noise_counts = 55.0;
  StanceRecording *a, *b;
  stance_test_sim_run(&p, &a, NULL);
  ck_assert_str_eq(a->meta.source, "simulator");
  ck_assert_str_eq(a->meta.board_serial, "SIM-0001");
  ck_assert_str_eq(a->meta.firmware_version, "sim");
  ck_assert_int_eq(a->meta.protocol, STANCE_PROTO_SL_BALANCE);
  ck_assert_int_eq(a->meta.side, STANCE_SIDE_RIGHT);
  ck_assert_str_eq(a->meta.calibration_id, a->calib.id);
  ck_assert_str_eq(stance_meta_get(&a->meta, "sim.seed"), "977");

  StanceSimParams q;
  stance_sim_params_default(&q, STANCE_PROTO_QUIET_STANDING);
  StanceError err = {0};
  for (int k = 0; k < a->meta.n_extra; k++) {
    const StanceMetaEntry *e = &a->meta.extra[k];
    ck_assert(strncmp(e->key, "sim.", 4) == 0);
    ck_assert_msg(stance_sim_params_set(&q, e->key + 4, e->value, &err) == 0, "%s=%s: %s", e->key,
                  e->value, err.message);
  }
  stance_test_sim_run(&q, &b, NULL);
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  ck_assert_int_eq(memcmp(a->counts, b->counts, a->n_samples * STANCE_N_CELLS * sizeof(int32_t)),
                   0);
  stance_recording_free(a);
  stance_recording_free(b);
}
END_TEST

/* ---- the virtual board ---- */

START_TEST(test_calibration)
{
  StanceCalibration c1, c2;
  stance_sim_calibration(&c1);
  stance_sim_calibration(&c2);
  ck_assert_int_eq(memcmp(&c1, &c2, sizeof c1), 0);
  StanceError err = {0};
  ck_assert_int_eq(stance_calibration_validate(&c1, &err), 0);
  ck_assert_str_eq(c1.board_serial, "SIM-0001");
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    ck_assert_msg(fabs(c1.gain_n_per_count[c] / 0.0004 - 1.0) <= 0.03 + 1e-12, "cell %d gain %g", c,
                  c1.gain_n_per_count[c]);
    ck_assert(c1.offset_counts[c] >= 2000 && c1.offset_counts[c] <= 9000);
  }
  /* gains differ per cell, as on a real board */
  ck_assert(c1.gain_n_per_count[0] != c1.gain_n_per_count[1]);

  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 1);
  p.duration_s = 2.0;
  StanceRecording *rec;
  stance_test_sim_run(&p, &rec, NULL);
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_CELLS);
  ck_assert(rec->has_calibration);
  ck_assert_int_eq(memcmp(&rec->calib, &c1, sizeof c1), 0);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_rates)
{
  /* Any rate gives duration * rate samples and still weighs m g. */
  static const double rates[] = {500.0, 2000.0, 4000.0};
  for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 5);
    p.sample_rate_hz = rates[k];
    p.duration_s = 4.0;
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    ck_assert_double_eq(rec->sample_rate_hz, rates[k]);
    ck_assert_uint_eq(rec->n_samples, (size_t)(4.0 * rates[k]));
    double w = p.body_mass_kg * STANCE_GRAVITY;
    /* 0.05 %: sensor noise averages out far below this over >= 2000 samples */
    ck_assert_near(mean_force(rec, STANCE_SEL_TOTAL, 0, rec->n_samples), w, 0.0005 * w);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
}
END_TEST

/* ---- physics of standing ---- */

START_TEST(test_quiet_standing_weighs_mg)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 7);
  p.body_mass_kg = 82.4;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  double w = 82.4 * STANCE_GRAVITY;
  ck_assert_uint_eq(rec->n_samples, 30000);
  ck_assert_near(t->body_weight_n, w, 1e-9);
  ck_assert_near(t->system_weight_n, w, 1e-9);
  /* Through the calibration with default noise: ADC noise (40 counts = 0.016 N) and cell noise
   * (0.5 N) per cell average to ~0.01 N over 30000 samples; 0.05 % of m g is 0.4 N. */
  double m = mean_force(rec, STANCE_SEL_TOTAL, 0, rec->n_samples);
  ck_assert_near(m, w, 0.0005 * w);
  /* Noise-free: the physiological force term is made of whole cycles: the mean is m g exactly
   * (to rounding). */
  ck_assert_uint_eq(t->n_trials, 1);
  ck_assert_str_eq(t->trials[0].kind, "stand");
  const StanceTruthMetric *mf = stance_sim_truth_metric(&t->trials[0], "mean_force");
  ck_assert_ptr_nonnull(mf);
  ck_assert_near(mf->total, w, 1e-9 * w);
  /* ...and the force is not a flat line: the physiology moves it by ~1 N, not more than 1 %. */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < rec->n_samples; i += 10) {
    double f = stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
    lo = fmin(lo, f);
    hi = fmax(hi, f);
  }
  ck_assert_msg(hi - lo > 0.5 && hi - lo < 0.02 * w, "total force range %g N", hi - lo);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_cells_reproduce_cop)
{
  /* No noise: the counts only carry the rounding to whole counts (0.0004 N), so the CoP decoded
   * from the cells must match the noise-free truth path to far better than 0.5 mm. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 11);
  p.adc_noise_counts = 0.0;
  p.cell_noise_n = 0.0;
  p.duration_s = 10.0;
  p.foot_x_mm[0] = 60.0;
  p.foot_y_mm[0] = -120.0;
  p.foot_x_mm[1] = -35.0;
  p.foot_y_mm[1] = 90.0;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  size_t n = rec->n_samples;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  uint8_t *valid = malloc(n);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    StanceError err = {0};
    ck_assert_int_eq(
        stance_recording_cop(rec, (StanceSel)pl, STANCE_COP_THRESHOLD_N, x, y, valid, &err), 0);
    ck_assert_double_eq(t->cop_rate_hz, 100.0);
    size_t compared = 0;
    double mx = 0.0, my = 0.0;
    for (size_t k = 0; k < t->cop_n; k++) {
      size_t i = k * 10; /* 1000 Hz / 100 Hz */
      ck_assert(t->cop_valid[pl][k]);
      ck_assert(valid[i]);
      ck_assert_near(x[i], t->cop_x[pl][k], 0.5);
      ck_assert_near(y[i], t->cop_y[pl][k], 0.5);
      mx += x[i];
      my += y[i];
      compared++;
    }
    ck_assert_uint_eq(compared, 1000);
    /* the sway is centred on the foot position given */
    ck_assert_near(mx / (double)compared, p.foot_x_mm[pl], 0.5);
    ck_assert_near(my / (double)compared, p.foot_y_mm[pl], 0.5);
  }
  free(x);
  free(y);
  free(valid);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_weight_share)
{
  /* 20 % force asymmetry: the weaker limb bears less by half of it:
   * strong = 1 / (2 - 0.1) = 0.526316, weak = 0.473684. */
  for (int weaker = STANCE_SIDE_LEFT; weaker <= STANCE_SIDE_RIGHT; weaker++) {
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 21);
    p.asym_force_pct = 20.0;
    p.weaker = (StanceSide)weaker;
    double strong = 1.0 / 1.9;
    double expect_left = weaker == STANCE_SIDE_LEFT ? 1.0 - strong : strong;
    ck_assert_near(_stance_sim_still_share_left(&p), expect_left, 1e-12);
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    ck_assert_near(t->still_share_left, expect_left, 1e-12);
    /* From the counts: the load-transfer wobble is zero-mean, noise averages out: 0.1 %. */
    double fl = mean_force(rec, STANCE_SEL_LEFT, 0, rec->n_samples);
    double ft = mean_force(rec, STANCE_SEL_TOTAL, 0, rec->n_samples);
    ck_assert_near(fl / ft, expect_left, 0.001);
    const StanceTruthMetric *wb = stance_sim_truth_session_metric(t, "weight_bearing_pct");
    ck_assert_ptr_nonnull(wb);
    ck_assert_uint_eq(wb->has, STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT);
    ck_assert_near(wb->left, 100.0 * expect_left, 0.01);
    ck_assert_near(wb->left + wb->right, 100.0, 1e-9);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
  StanceSimParams sym = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 1);
  ck_assert_double_eq(_stance_sim_still_share_left(&sym), 0.5);
}
END_TEST

/* CoP statistics computed here independently, from the counts. */
typedef struct {
  double rms_x, rms_y, vel, area;
} Sway;

static Sway
sway_from_counts(const StanceRecording *rec, StanceSel plate)
{
  size_t n = rec->n_samples;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  uint8_t *valid = malloc(n);
  StanceError err = {0};
  ck_assert_int_eq(stance_recording_cop(rec, plate, STANCE_COP_THRESHOLD_N, x, y, valid, &err), 0);
  double mx = 0, my = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (valid[i]) {
      mx += x[i];
      my += y[i];
      m++;
    }
  ck_assert_uint_gt(m, 100);
  mx /= (double)m;
  my /= (double)m;
  double sxx = 0, syy = 0, sxy = 0, path = 0;
  for (size_t i = 0; i < n; i++)
    if (valid[i]) {
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
      sxy += (x[i] - mx) * (y[i] - my);
      if (i > 0 && valid[i - 1])
        path += hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
    }
  sxx /= (double)m;
  syy /= (double)m;
  sxy /= (double)m;
  Sway s = {sqrt(sxx), sqrt(syy), path / ((double)(m - 1) / rec->sample_rate_hz),
            M_PI * 5.991 * sqrt(sxx * syy - sxy * sxy)};
  free(x);
  free(y);
  free(valid);
  return s;
}

START_TEST(test_quiet_standing_sway)
{
  /* Documented quiet-standing sway per foot: RMS 2-5 mm AP (y), 1-3 mm ML (x), mean velocity
   * 5-15 mm/s. Checked for several athletes, from the counts (no noise, so the decoded CoP is
   * the model's), and the truth metrics must agree with this independent computation to 1 %. */
  const uint64_t end_seed = stance_test_under_valgrind() ? 102 : 106; /* valgrind: 2 athletes */
  for (uint64_t seed = 100; seed < end_seed; seed++) {
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, seed);
    p.adc_noise_counts = 0.0;
    p.cell_noise_n = 0.0;
    p.duration_s = 20.0;
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    const StanceTruthMetric *rx = stance_sim_truth_session_metric(t, "cop_rms_x");
    const StanceTruthMetric *ry = stance_sim_truth_session_metric(t, "cop_rms_y");
    const StanceTruthMetric *mv = stance_sim_truth_session_metric(t, "cop_mean_velocity");
    const StanceTruthMetric *ar = stance_sim_truth_session_metric(t, "cop_ellipse_area_95");
    const StanceTruthMetric *pl = stance_sim_truth_session_metric(t, "cop_path_length");
    ck_assert(rx && ry && mv && ar && pl);
    ck_assert_str_eq(ar->unit, "mm2");
    ck_assert_str_eq(mv->unit, "mm/s");
    for (int side = 0; side < 2; side++) {
      Sway s = sway_from_counts(rec, (StanceSel)side);
      double tx = side ? rx->right : rx->left, ty = side ? ry->right : ry->left;
      double tv = side ? mv->right : mv->left, ta = side ? ar->right : ar->left;
      double tp = side ? pl->right : pl->left;
      ck_assert_msg(ty >= 2.0 && ty <= 5.0, "seed %d AP RMS %g", (int)seed, ty);
      ck_assert_msg(tx >= 1.0 && tx <= 3.0, "seed %d ML RMS %g", (int)seed, tx);
      ck_assert_msg(tv >= 5.0 && tv <= 15.0, "seed %d velocity %g", (int)seed, tv);
      ck_assert_near(s.rms_x, tx, 0.01 * tx);
      ck_assert_near(s.rms_y, ty, 0.01 * ty);
      ck_assert_near(s.vel, tv, 0.01 * tv);
      ck_assert_near(s.area, ta, 0.01 * ta);
      ck_assert_near(tp, tv * (double)(rec->n_samples - 1) / 1000.0, 1e-6 * tp);
    }
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
}
END_TEST

START_TEST(test_sl_balance)
{
  /* Single-leg balance: the stance plate carries the whole weight, the other nothing; sway RMS
   * 5-10 mm on both axes and mean velocity 20-40 mm/s. */
  const uint64_t end_seed = stance_test_under_valgrind() ? 202 : 205; /* valgrind: both sides */
  for (uint64_t seed = 200; seed < end_seed; seed++) {
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_BALANCE, seed);
    ck_assert_int_eq(p.side, STANCE_SIDE_LEFT);
    if (seed % 2)
      p.side = STANCE_SIDE_RIGHT;
    p.adc_noise_counts = 0.0;
    p.cell_noise_n = 0.0;
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    StanceSel st = p.side == STANCE_SIDE_LEFT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
    StanceSel other = st == STANCE_SEL_LEFT ? STANCE_SEL_RIGHT : STANCE_SEL_LEFT;
    double w = p.body_mass_kg * STANCE_GRAVITY;
    ck_assert_near(mean_force(rec, st, 0, rec->n_samples), w, 0.0005 * w);
    ck_assert_near(mean_force(rec, other, 0, rec->n_samples), 0.0, 0.01);
    ck_assert_near(t->still_share_left, st == STANCE_SEL_LEFT ? 1.0 : 0.0, 0.0);
    const StanceTruthMetric *rx = stance_sim_truth_session_metric(t, "cop_rms_x");
    const StanceTruthMetric *ry = stance_sim_truth_session_metric(t, "cop_rms_y");
    const StanceTruthMetric *mv = stance_sim_truth_session_metric(t, "cop_mean_velocity");
    unsigned bit = st == STANCE_SEL_LEFT ? STANCE_TRUTH_LEFT : STANCE_TRUTH_RIGHT;
    ck_assert_uint_eq(rx->has, bit | STANCE_TRUTH_TOTAL);
    double tx = st == STANCE_SEL_LEFT ? rx->left : rx->right;
    double ty = st == STANCE_SEL_LEFT ? ry->left : ry->right;
    double tv = st == STANCE_SEL_LEFT ? mv->left : mv->right;
    ck_assert_msg(tx >= 5.0 && tx <= 10.0 && ty >= 5.0 && ty <= 10.0, "RMS %g %g", tx, ty);
    ck_assert_msg(tv >= 20.0 && tv <= 40.0, "velocity %g", tv);
    Sway s = sway_from_counts(rec, st);
    ck_assert_near(s.vel, tv, 0.01 * tv);
    ck_assert_near(s.rms_x, tx, 0.01 * tx);
    /* the lifted foot's plate never has a CoP */
    for (size_t k = 0; k < t->cop_n; k++)
      ck_assert(!t->cop_valid[other][k] && t->cop_valid[st][k]);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
  /* single-leg balance needs a side */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_BALANCE, 1);
  p.side = STANCE_SIDE_BOTH;
  StanceRecording *rec = NULL;
  StanceError err = {0};
  ck_assert_int_eq(stance_sim_run(&p, &rec, NULL, &err), STANCE_EINVAL);
  ck_assert_ptr_null(rec);
  ck_assert_ptr_nonnull(strstr(err.message, "side"));
}
END_TEST

START_TEST(test_weigh_in)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 31);
  p.body_mass_kg = 93.0;
  p.duration_s = 8.0;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  double w = 93.0 * STANCE_GRAVITY;
  ck_assert_uint_eq(t->n_trials, 1);
  const StanceTruthTrial *tr = &t->trials[0];
  double t_on = stance_sim_truth_event(tr, "step_on");
  double t_still = stance_sim_truth_event(tr, "stand_start");
  ck_assert_near(t_on, 1.0, 1e-9);
  ck_assert_near(t_still, 2.5, 1e-9);
  ck_assert_near(tr->end_s - tr->start_s, 8.0, 1e-9);
  ck_assert_double_eq(stance_sim_truth_event(tr, "no-such-event"), -1.0);
  /* empty plates first: the tare reads 0 N within the noise (1 s mean, < 1 N) */
  ck_assert_near(mean_force(rec, STANCE_SEL_TOTAL, 0, 1000), 0.0, 1.0);
  /* the step on overshoots the weight, then the still period weighs m g */
  double fmax = 0.0;
  for (size_t i = 1000; i < 2500; i++)
    fmax = fmax > stance_recording_force_at(rec, i, STANCE_SEL_TOTAL)
               ? fmax
               : stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
  ck_assert_msg(fmax > 1.02 * w && fmax < 1.10 * w, "step-on peak %g N for weight %g N", fmax, w);
  size_t i0 = (size_t)llround(t_still * 1000.0);
  ck_assert_near(mean_force(rec, STANCE_SEL_TOTAL, i0, rec->n_samples), w, 0.0005 * w);
  const StanceTruthMetric *bw = stance_sim_truth_metric(tr, "body_weight");
  ck_assert_ptr_nonnull(bw);
  ck_assert_near(bw->total, w, 1e-9 * w);
  ck_assert_near(t->body_weight_n, w, 1e-9);
  const StanceTruthMetric *wb = stance_sim_truth_metric(tr, "weight_bearing_pct");
  ck_assert_near(wb->left, 50.0, 0.01);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

/* ---- the noise chain ---- */

START_TEST(test_mains_hum)
{
  /* 2 N of 50 Hz hum per cell: the Goertzel amplitude of one cell's force at 50 Hz reads 2 N,
   * and the neighbour 47 Hz reads only the white noise (0.5 N RMS cell noise spread over 30000
   * samples: ~0.006 N). The sway and the physiology are below 3 Hz. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 3);
  StanceError err = {0};
  ck_assert_int_eq(stance_sim_params_set(&p, "mains", "50", &err), 0);
  ck_assert_double_eq(p.mains_amp_n, 2.0);
  StanceRecording *rec;
  stance_test_sim_run(&p, &rec, NULL);
  size_t n = rec->n_samples;
  double *f = calloc(n, sizeof *f);
  ck_assert_ptr_nonnull(f);
  for (int c = 0; c < STANCE_N_CELLS; c += 5) {
    for (size_t i = 0; i < n; i++)
      f[i] = stance_recording_cell_force(rec, i, c);
    ck_assert_near(goertzel_amp(f, n, 1000.0, 50.0), 2.0, 0.1);
    ck_assert_msg(goertzel_amp(f, n, 1000.0, 47.0) < 0.05, "47 Hz %g",
                  goertzel_amp(f, n, 1000.0, 47.0));
    ck_assert_msg(goertzel_amp(f, n, 1000.0, 60.0) < 0.05, "60 Hz %g",
                  goertzel_amp(f, n, 1000.0, 60.0));
  }
  stance_recording_free(rec);
  /* without hum there is nothing at 50 Hz */
  p.mains_hz = 0.0;
  p.mains_amp_n = 0.0;
  stance_test_sim_run(&p, &rec, NULL);
  for (size_t i = 0; i < n; i++)
    f[i] = stance_recording_cell_force(rec, i, 0);
  ck_assert_msg(goertzel_amp(f, n, 1000.0, 50.0) < 0.05, "50 Hz without hum %g",
                goertzel_amp(f, n, 1000.0, 50.0));
  stance_recording_free(rec);
  free(f);
}
END_TEST

START_TEST(test_drift)
{
  /* 6 N/min per cell: the total of 8 cells drifts by 48 N/min = 0.8 N/s. The standing force
   * itself has no trend (whole cycles; residual slope < 0.01 N/s), so the fitted slope is the
   * drift within 2 %. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 9);
  p.drift_n_per_min = 6.0;
  StanceRecording *rec;
  stance_test_sim_run(&p, &rec, NULL);
  size_t n = rec->n_samples;
  double *f = calloc(n, sizeof *f);
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < n; i++)
    f[i] = stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
  ck_assert_near(ls_slope(f, n, 1000.0), 0.8, 0.016);
  stance_recording_free(rec);
  p.drift_n_per_min = 0.0;
  stance_test_sim_run(&p, &rec, NULL);
  for (size_t i = 0; i < n; i++)
    f[i] = stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
  ck_assert_near(ls_slope(f, n, 1000.0), 0.0, 0.016);
  stance_recording_free(rec);
  free(f);
}
END_TEST

START_TEST(test_noise_levels)
{
  /* The empty plates before a weigh-in show the noise alone: per cell, RMS in newtons is
   * sqrt(cell_noise^2 + (adc_noise * gain)^2) = sqrt(0.5^2 + 0.016^2) = 0.50 N; within 10 % over
   * 1000 samples. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 13);
  StanceRecording *rec;
  stance_test_sim_run(&p, &rec, NULL);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < 1000; i++) {
      double f = stance_recording_cell_force(rec, i, c);
      s += f;
      ss += f * f;
    }
    double mean = s / 1000.0, rms = sqrt(ss / 1000.0 - mean * mean);
    double g = rec->calib.gain_n_per_count[c];
    ck_assert_near(rms, sqrt(0.25 + 1600.0 * g * g), 0.05);
    ck_assert_near(mean, 0.0, 0.1);
  }
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_saturation)
{
  /* Default parameters never reach a rail while standing or weighing. */
  static const StanceProtocol protos[] = {STANCE_PROTO_QUIET_STANDING, STANCE_PROTO_SL_BALANCE,
                                          STANCE_PROTO_WEIGH_IN};
  for (size_t k = 0; k < 3; k++) {
    StanceSimParams p = stance_test_sim_params(protos[k], 17);
    StanceRecording *rec;
    stance_test_sim_run(&p, &rec, NULL);
    ck_assert_uint_eq(stance_recording_count_saturated(rec), 0);
    for (size_t i = 0; i < rec->n_samples * STANCE_N_CELLS; i++)
      ck_assert(rec->counts[i] != STANCE_ADC_MAX && rec->counts[i] != STANCE_ADC_MIN);
    stance_recording_free(rec);
  }
  /* saturate = true on a weigh-in: the most loaded cell rails around its peak. Without cell noise
   * the railed stretch is the 40 ms the model aims at (the ADC noise is far below the peak's
   * curvature); every railed sample is flagged and sits at the rail. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 17);
  p.cell_noise_n = 0.0;
  p.saturate = true;
  StanceRecording *rec, *ref;
  stance_test_sim_run(&p, &rec, NULL);
  p.saturate = false;
  stance_test_sim_run(&p, &ref, NULL);
  size_t first = SIZE_MAX, last = 0, n_sat = 0, ipk = 0;
  int chan = -1, cpk = 0;
  for (size_t i = 0; i < rec->n_samples; i++) {
    for (int c = 0; c < STANCE_N_CELLS; c++)
      if (stance_recording_cell_force(ref, i, c) > stance_recording_cell_force(ref, ipk, cpk)) {
        ipk = i;
        cpk = c;
      }
    uint16_t st = rec->status[i] & STANCE_STATUS_SAT_MASK;
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      bool railed = rec->counts[i * STANCE_N_CELLS + c] == STANCE_ADC_MAX;
      ck_assert_msg(railed == ((st >> c) & 1), "sample %zu channel %d flag/rail mismatch", i, c);
    }
    if (st) {
      ck_assert_msg(__builtin_popcount(st) == 1, "sample %zu: several channels railed", i);
      int c = __builtin_ctz(st);
      ck_assert(chan < 0 || chan == c);
      chan = c;
      first = first < i ? first : i;
      last = i;
      n_sat++;
    }
  }
  ck_assert_int_eq(chan, cpk); /* the most loaded cell rails */
  double span_ms = (double)(last - first + 1);
  ck_assert_msg(span_ms >= 30.0 && span_ms <= 60.0, "railed for %g ms", span_ms);
  ck_assert_msg(n_sat >= 30 && n_sat <= 60, "%zu railed samples", n_sat);
  ck_assert_msg(first <= ipk && ipk <= last, "peak %zu outside the railed stretch %zu-%zu", ipk,
                first, last);
  /* the changed range is in the recording's calibration: away from the rail the forces read true
   * (same noise draws as the reference; the rounding to counts differs by < 0.01 N) */
  for (size_t i = 3000; i < rec->n_samples; i += 7)
    ck_assert_near(stance_recording_force_at(rec, i, STANCE_SEL_TOTAL),
                   stance_recording_force_at(ref, i, STANCE_SEL_TOTAL), 0.05);
  ck_assert_uint_eq(stance_recording_count_saturated(ref), 0);
  stance_recording_free(rec);
  stance_recording_free(ref);
}
END_TEST

START_TEST(test_saturation_jumps)
{
  /* The intended use: a steep peak. On a CMJ with default noise the most loaded cell rails for
   * 20-60 ms at a time (the model aims at 40 ms around the highest peak; jumps whose peak comes as
   * high rail too), once per jump at most, and only that channel. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 23);
  p.saturate = true;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  int chan = -1, episodes = 0;
  size_t start = 0, last = 0;
  bool in = false;
  for (size_t i = 0; i <= rec->n_samples; i++) {
    uint16_t st = i < rec->n_samples ? rec->status[i] & STANCE_STATUS_SAT_MASK : 0;
    if (st) {
      ck_assert_msg(__builtin_popcount(st) == 1, "sample %zu: several channels railed", i);
      ck_assert(chan < 0 || chan == __builtin_ctz(st));
      chan = __builtin_ctz(st);
      ck_assert_int_eq(rec->counts[i * STANCE_N_CELLS + (size_t)chan], STANCE_ADC_MAX);
      if (!in)
        start = i;
      in = true;
      last = i;
    } else if (in && (i == rec->n_samples || i - last > 20)) {
      /* an episode ends after 20 ms without a railed sample */
      double ms = (double)(last - start + 1) * 1000.0 / rec->sample_rate_hz;
      ck_assert_msg(ms >= 20.0 && ms <= 60.0, "railed episode of %g ms at %zu", ms, start);
      episodes++;
      in = false;
    }
  }
  ck_assert_int_ge(episodes, 1);
  ck_assert_int_le(episodes, (int)t->n_trials);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_every_protocol_through_the_cells)
{
  /* Every generator's output goes through the same cell split: with the noise off, the CoP
   * decoded from the counts must be the truth's noise-free path (0.5 mm) wherever both say the
   * plate is loaded, and they must agree on where that is (a sample may differ only when the plate
   * force sits within a count's rounding of the 20 N threshold). Default parameters never rail. */
  for (int pr = 1; pr < STANCE_PROTO_COUNT; pr++) {
    StanceSimParams p = stance_test_sim_params((StanceProtocol)pr, 29);
    p.adc_noise_counts = 0.0;
    p.cell_noise_n = 0.0;
    if (stance_test_under_valgrind()) {
      /* Every generator still runs, on its shortest session: one rep, one set, no warm-up. */
      p.reps = 1;
      p.sets = 1;
      p.include_warmup = false;
    }
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    const char *name = stance_protocol_name((StanceProtocol)pr);
    ck_assert_msg(stance_recording_count_saturated(rec) == 0, "%s rails by default", name);
    ck_assert_double_eq(t->cop_rate_hz, 100.0);
    ck_assert_uint_eq(t->cop_n, (rec->n_samples - 1) / 10 + 1);
    size_t n = rec->n_samples;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *valid = malloc(n);
    ck_assert(x && y && valid);
    size_t total_compared = 0;
    for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
      StanceError err = {0};
      ck_assert_int_eq(
          stance_recording_cop(rec, (StanceSel)pl, STANCE_COP_THRESHOLD_N, x, y, valid, &err), 0);
      size_t mismatch = 0, compared = 0;
      for (size_t k = 0; k < t->cop_n; k++) {
        size_t i = k * 10;
        if (valid[i] != t->cop_valid[pl][k]) {
          ck_assert_msg(fabs(stance_recording_force_at(rec, i, (StanceSel)pl) -
                             STANCE_COP_THRESHOLD_N) < 0.01,
                        "%s plate %d sample %zu: valid %d vs truth %d at %g N", name, pl, i,
                        valid[i], t->cop_valid[pl][k],
                        stance_recording_force_at(rec, i, (StanceSel)pl));
          mismatch++;
          continue;
        }
        if (!valid[i])
          continue;
        ck_assert_msg(fabs(x[i] - t->cop_x[pl][k]) <= 0.5 && fabs(y[i] - t->cop_y[pl][k]) <= 0.5,
                      "%s plate %d t=%g s: CoP (%g, %g) vs truth (%g, %g)", name, pl,
                      (double)k / 100.0, x[i], y[i], t->cop_x[pl][k], t->cop_y[pl][k]);
        compared++;
      }
      ck_assert_uint_le(mismatch, 2);
      total_compared += compared;
    }
    ck_assert_msg(total_compared > 100, "%s: only %zu loaded CoP samples", name, total_compared);
    free(x);
    free(y);
    free(valid);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
}
END_TEST

/* ---- parameters ---- */

START_TEST(test_defaults_validate)
{
  StanceError err = {0};
  for (int pr = 1; pr < STANCE_PROTO_COUNT; pr++) {
    StanceSimParams p;
    stance_sim_params_default(&p, (StanceProtocol)pr);
    const StanceProtocolInfo *info = stance_protocol_info((StanceProtocol)pr);
    ck_assert_msg(stance_sim_params_validate(&p, &err) == 0, "%s: %s", info->name, err.message);
    ck_assert_double_eq(p.sample_rate_hz, 1000.0);
    ck_assert_double_eq(p.body_mass_kg, 75.0);
    ck_assert_int_eq(p.weaker, STANCE_SIDE_RIGHT);
    ck_assert_int_eq(p.side, info->needs_side ? STANCE_SIDE_LEFT : STANCE_SIDE_BOTH);
    ck_assert_double_eq(p.asym_rfd_pct, p.asym_force_pct);
    ck_assert_double_eq(p.adc_noise_counts, 40.0);
    ck_assert_double_eq(p.cell_noise_n, 0.5);
  }
  StanceSimParams p;
  stance_sim_params_default(&p, STANCE_PROTO_BACK_SQUAT);
  ck_assert_double_eq(p.external_load_kg, 100.0);
  ck_assert_int_eq(p.sets, 3);
  ck_assert_int_eq(p.reps, 5);
  ck_assert(p.include_warmup);
  ck_assert_double_eq(p.rest_s, 150.0);
  stance_sim_params_default(&p, STANCE_PROTO_DEADLIFT);
  ck_assert_double_eq(p.external_load_kg, 140.0);
  stance_sim_params_default(&p, STANCE_PROTO_CMJ);
  ck_assert_int_eq(p.reps, 3);
  stance_sim_params_default(&p, STANCE_PROTO_POGO);
  ck_assert_int_eq(p.reps, 10);
  stance_sim_params_default(&p, STANCE_PROTO_SPLIT_SQUAT);
  ck_assert_int_eq(p.reps, 8);
  stance_sim_params_default(&p, STANCE_PROTO_QUIET_STANDING);
  ck_assert_double_eq(p.duration_s, 30.0);
  stance_sim_params_default(&p, STANCE_PROTO_WEIGH_IN);
  ck_assert_double_eq(p.duration_s, 5.0);
}
END_TEST

/* Sets one field wrong and expects validate to refuse it naming `name` (and `range`). */
#define EXPECT_INVALID(proto, stmt, name, range)                                                   \
  do {                                                                                             \
    StanceSimParams q_;                                                                            \
    stance_sim_params_default(&q_, proto);                                                         \
    StanceSimParams *p = &q_;                                                                      \
    stmt;                                                                                          \
    StanceError e_ = {0};                                                                          \
    ck_assert_int_lt(stance_sim_params_validate(p, &e_), 0);                                       \
    ck_assert_msg(strstr(e_.message, name) != NULL, "message '%s' does not name %s", e_.message,   \
                  name);                                                                           \
    ck_assert_msg(strstr(e_.message, range) != NULL, "message '%s' does not give %s", e_.message,  \
                  range);                                                                          \
    StanceRecording *r_ = (StanceRecording *)1;                                                    \
    ck_assert_int_lt(stance_sim_run(p, &r_, NULL, NULL), 0);                                       \
    ck_assert_ptr_null(r_);                                                                        \
  } while (0)

START_TEST(test_validate_messages)
{
  const StanceProtocol qs = STANCE_PROTO_QUIET_STANDING;
  EXPECT_INVALID(qs, p->body_mass_kg = 10.0, "body-mass", "20-250");
  EXPECT_INVALID(qs, p->body_mass_kg = NAN, "body-mass", "20-250");
  EXPECT_INVALID(qs, p->sample_rate_hz = 50.0, "rate", "100-10000");
  EXPECT_INVALID(qs, p->external_load_kg = -1.0, "load", "0-500");
  EXPECT_INVALID(qs, p->asym_force_pct = 61.0, "asym-force", "0-60");
  EXPECT_INVALID(qs, p->asym_rfd_pct = -1.0, "asym-rfd", "0-60");
  EXPECT_INVALID(qs, p->asym_impulse_pct = INFINITY, "asym-impulse", "0-60");
  EXPECT_INVALID(qs, p->reps = 51, "reps", "1-50");
  EXPECT_INVALID(qs, p->sets = 11, "sets", "1-10");
  EXPECT_INVALID(qs, p->fatigue_pct = 70.0, "fatigue", "0-50");
  EXPECT_INVALID(qs, p->tempo_s = 0.5, "tempo", "1-10");
  EXPECT_INVALID(qs, p->duration_s = 601.0, "duration", "1-600");
  EXPECT_INVALID(qs, p->adc_noise_counts = -1.0, "adc-noise", "0-100000");
  EXPECT_INVALID(qs, p->cell_noise_n = 1000.0, "cell-noise", "0-100");
  EXPECT_INVALID(qs, p->mains_hz = 55.0, "mains", "50 or 60");
  EXPECT_INVALID(qs, p->mains_amp_n = 2.0, "mains-amp", "mains 50 or 60");
  EXPECT_INVALID(qs, p->drift_n_per_min = 500.0, "drift", "-100 to 100");
  EXPECT_INVALID(qs, p->foot_y_mm[1] = 250.0, "foot-right", "200 mm");
  EXPECT_INVALID(qs, p->rest_s = 5.0, "rest", "10-900");
  EXPECT_INVALID(qs, p->side = STANCE_SIDE_LEFT, "side", "bilateral");
  EXPECT_INVALID(STANCE_PROTO_SL_BALANCE, p->side = STANCE_SIDE_BOTH, "side", "left or right");
  EXPECT_INVALID(qs, p->weaker = STANCE_SIDE_BOTH, "weaker", "left or right");
  EXPECT_INVALID(qs, p->protocol = STANCE_PROTO_UNKNOWN, "protocol", "expected");
  /* the edges of the ranges are allowed */
  StanceSimParams p;
  stance_sim_params_default(&p, qs);
  p.body_mass_kg = 250.0;
  p.asym_force_pct = 60.0;
  p.reps = 50;
  p.sample_rate_hz = 10000.0;
  StanceError err = {0};
  ck_assert_msg(stance_sim_params_validate(&p, &err) == 0, "%s", err.message);
  /* IMTP may be single-leg */
  stance_sim_params_default(&p, STANCE_PROTO_IMTP);
  p.side = STANCE_SIDE_RIGHT;
  ck_assert_int_eq(stance_sim_params_validate(&p, &err), 0);
}
END_TEST

START_TEST(test_set_parses)
{
  StanceSimParams p;
  stance_sim_params_default(&p, STANCE_PROTO_SPLIT_SQUAT);
  StanceError err = {0};
#define SET_OK(k, v) ck_assert_msg(stance_sim_params_set(&p, k, v, &err) == 0, "%s", err.message)
  SET_OK("body-mass", "80.5");
  ck_assert_double_eq(p.body_mass_kg, 80.5);
  SET_OK("mass", "1e2");
  ck_assert_double_eq(p.body_mass_kg, 100.0);
  SET_OK("asymmetry", "12");
  ck_assert(p.asym_force_pct == 12.0 && p.asym_rfd_pct == 12.0 && p.asym_impulse_pct == 12.0);
  SET_OK("asym-force", "15"); /* rfd and impulse followed force: they follow again */
  ck_assert(p.asym_force_pct == 15.0 && p.asym_rfd_pct == 15.0 && p.asym_impulse_pct == 15.0);
  SET_OK("asym-rfd", "5");
  SET_OK("asym-force", "20"); /* rfd was set apart: it stays */
  ck_assert(p.asym_force_pct == 20.0 && p.asym_rfd_pct == 5.0 && p.asym_impulse_pct == 20.0);
  SET_OK("front", "right");
  ck_assert_int_eq(p.side, STANCE_SIDE_RIGHT);
  SET_OK("side", "l");
  ck_assert_int_eq(p.side, STANCE_SIDE_LEFT);
  SET_OK("weaker", "left");
  ck_assert_int_eq(p.weaker, STANCE_SIDE_LEFT);
  SET_OK("foot-left", "10,-25.5");
  ck_assert(p.foot_x_mm[0] == 10.0 && p.foot_y_mm[0] == -25.5);
  SET_OK("foot-right", "-3,40");
  ck_assert(p.foot_x_mm[1] == -3.0 && p.foot_y_mm[1] == 40.0);
  SET_OK("mains", "60");
  ck_assert(p.mains_hz == 60.0 && p.mains_amp_n == 2.0);
  SET_OK("mains-amp", "3.5");
  SET_OK("mains", "50");
  ck_assert(p.mains_hz == 50.0 && p.mains_amp_n == 3.5);
  SET_OK("mains", "0");
  ck_assert(p.mains_hz == 0.0 && p.mains_amp_n == 0.0);
  SET_OK("saturate", NULL);
  ck_assert(p.saturate);
  SET_OK("saturate", "no");
  ck_assert(!p.saturate);
  SET_OK("no-still", "true");
  ck_assert(p.no_still);
  SET_OK("warmup", "0");
  ck_assert(!p.include_warmup);
  SET_OK("seed", "18446744073709551615");
  ck_assert(p.seed == UINT64_MAX);
  SET_OK("reps", "12");
  ck_assert_int_eq(p.reps, 12);
  SET_OK("protocol", "back_squat");
  ck_assert_int_eq(p.protocol, STANCE_PROTO_BACK_SQUAT);
  SET_OK("rate", "2000");
  SET_OK("drift", "-2.5");
  ck_assert_double_eq(p.drift_n_per_min, -2.5);
#undef SET_OK

  /* garbage is refused, naming the key and the expected form; the value is left alone */
  struct {
    const char *key, *value, *expect;
  } bad[] = {
      {"body-mass", "80kg", "body-mass"},
      {"body-mass", "", "body-mass"},
      {"body-mass", "nan", "body-mass"},
      {"body-mass", "1e999", "body-mass"},
      {"reps", "8.5", "reps"},
      {"reps", "eight", "whole number"},
      {"foot-left", "10;20", "x,y"},
      {"foot-left", "10,", "foot-left"},
      {"foot-right", ",5", "foot-right"},
      {"mains", "55", "50 or 60"},
      {"seed", "-1", "seed"},
      {"seed", "99999999999999999999", "seed"},
      {"saturate", "maybe", "saturate"},
      {"side", "middle", "left or right"},
      {"weaker", "both", "weaker"},
      {"protocol", "jumping-jacks", "protocol"},
      {"asymmetry", "10 %", "asymmetry"},
      {"colour", "red", "colour"},
  };
  StanceSimParams before = p;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    StanceError e = {0};
    ck_assert_msg(stance_sim_params_set(&p, bad[k].key, bad[k].value, &e) < 0, "%s=%s accepted",
                  bad[k].key, bad[k].value);
    ck_assert_msg(strstr(e.message, bad[k].expect) != NULL, "%s=%s: message '%s' lacks '%s'",
                  bad[k].key, bad[k].value, e.message, bad[k].expect);
    ck_assert_msg(memcmp(&p, &before, sizeof p) == 0, "%s=%s changed the parameters", bad[k].key,
                  bad[k].value);
  }
}
END_TEST

/* ---- truth helpers and JSON ---- */

START_TEST(test_truth_force_metrics)
{
  /* A known curve: left plate 500 N + 2000 N/s ramp for 0.5 s, then 1500 N flat for 0.2 s;
   * right plate 0. Every metric follows by hand. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  StanceSimTruth truth = {0};
  StanceSimScene s = {0};
  s.p = &p;
  s.rate_hz = 1000.0;
  s.dt = 0.001;
  s.m_body = 75.0;
  s.g = STANCE_GRAVITY;
  s.truth = &truth;
  for (int i = 0; i < 700; i++) {
    double f = i <= 500 ? 500.0 + 2.0 * i : 1500.0;
    ck_assert_int_eq(_stance_sim_push(&s, f, 0.0), 0);
  }
  ck_assert_uint_eq(s.n, 700);
  StanceTruthTrial *tr = _stance_sim_truth_trial(&s, "jump", 0.0, 0.7);
  ck_assert_ptr_nonnull(tr);
  ck_assert_int_eq(tr->index, 1);
  _stance_sim_truth_force_metrics(
      &s, tr, STANCE_TRUTH_LEFT | STANCE_TRUTH_RIGHT | STANCE_TRUTH_TOTAL, 0, 0, 700, 600.0, 0.0);
  const StanceTruthMetric *m = stance_sim_truth_metric(tr, "peak_force");
  ck_assert_ptr_nonnull(m);
  /* the right plate never carries load: no right values */
  ck_assert_uint_eq(m->has, STANCE_TRUTH_LEFT | STANCE_TRUTH_TOTAL);
  ck_assert_double_eq(m->left, 1500.0);
  ck_assert_double_eq(m->total, 1500.0);
  ck_assert_str_eq(m->unit, "N");
  ck_assert_near(stance_sim_truth_metric(tr, "time_to_peak")->left, 0.5, 1e-12);
  ck_assert_near(stance_sim_truth_metric(tr, "force_at_100")->left, 700.0, 1e-9);
  ck_assert_near(stance_sim_truth_metric(tr, "force_at_250")->left, 1000.0, 1e-9);
  ck_assert_near(stance_sim_truth_metric(tr, "rfd_0_50")->left, 2000.0, 1e-6);
  ck_assert_near(stance_sim_truth_metric(tr, "rfd_0_200")->total, 2000.0, 1e-6);
  ck_assert_str_eq(stance_sim_truth_metric(tr, "rfd_0_200")->unit, "N/s");
  ck_assert_near(stance_sim_truth_metric(tr, "peak_rfd")->left, 2000.0, 1e-6);
  /* mean of 500..1500 step 2 (501 samples) and 199 samples of 1500 */
  double mean = (501.0 * 1000.0 + 199.0 * 1500.0) / 700.0;
  ck_assert_near(stance_sim_truth_metric(tr, "mean_force")->left, mean, 1e-9);
  /* trapezoid: ramp 0.5 s averaging 1000 N plus 0.199 s of 1500 N */
  double imp = 0.5 * 1000.0 + 0.199 * 1500.0;
  ck_assert_near(stance_sim_truth_metric(tr, "impulse")->left, imp, 1e-9);
  ck_assert_str_eq(stance_sim_truth_metric(tr, "impulse")->unit, "N.s");
  ck_assert_near(stance_sim_truth_metric(tr, "net_impulse")->left, imp - 600.0 * 0.699, 1e-9);
  /* epochs past the end are left out */
  _stance_sim_truth_force_metrics(&s, tr, STANCE_TRUTH_TOTAL, 600, 600, 700, 0.0, 0.0);
  ck_assert_ptr_nonnull(stance_sim_truth_metric(tr, "force_at_50"));
  StanceTruthTrial *tr2 = _stance_sim_truth_trial(&s, "hop", 0.6, 0.7);
  _stance_sim_truth_force_metrics(&s, tr2, STANCE_TRUTH_TOTAL, 600, 600, 700, 0.0, 0.0);
  ck_assert_ptr_nonnull(stance_sim_truth_metric(tr2, "force_at_50"));
  ck_assert_ptr_null(stance_sim_truth_metric(tr2, "force_at_100"));
  ck_assert_ptr_null(stance_sim_truth_metric(tr2, "rfd_0_150"));
  ck_assert_int_eq(tr2->index, 2);

  /* metrics merge by id; session metrics; events */
  _stance_sim_truth_metric(tr2, "jump_height", "m", STANCE_TRUTH_TOTAL, 0, 0, 0.35);
  _stance_sim_truth_metric(tr2, "jump_height", "m", STANCE_TRUTH_LEFT, 0.1, 0, 0);
  const StanceTruthMetric *jh = stance_sim_truth_metric(tr2, "jump_height");
  ck_assert_uint_eq(jh->has, STANCE_TRUTH_TOTAL | STANCE_TRUTH_LEFT);
  ck_assert(jh->total == 0.35 && jh->left == 0.1);
  _stance_sim_truth_metric(tr2, "bad", "m", STANCE_TRUTH_TOTAL, 0, 0, NAN);
  ck_assert_uint_eq(stance_sim_truth_metric(tr2, "bad")->has, 0);
  _stance_sim_truth_session_metric(&s, "rep_count", "count", STANCE_TRUTH_TOTAL, 0, 0, 8);
  ck_assert_double_eq(stance_sim_truth_session_metric(&truth, "rep_count")->total, 8.0);
  ck_assert_ptr_null(stance_sim_truth_session_metric(&truth, "nothing"));
  _stance_sim_truth_event(tr2, "takeoff", 0.61);
  ck_assert_double_eq(stance_sim_truth_event(tr2, "takeoff"), 0.61);

  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    free(s.f[pl]);
    free(s.cx[pl]);
    free(s.cy[pl]);
  }
  free(truth.trials);
}
END_TEST

START_TEST(test_still_helper)
{
  /* _stance_sim_still: the total is exactly (m_body + m_load) g at every sample; the split wobbles
   * by at most ~1 % around share_left; a one-legged share stays exact. _stance_sim_empty: 0 N. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_BACK_SQUAT, 5);
  StanceSimScene s = {0};
  s.p = &p;
  s.rate_hz = 1000.0;
  s.dt = 0.001;
  s.m_body = 75.0;
  s.m_load = 100.0;
  s.g = STANCE_GRAVITY;
  ck_assert_int_eq(_stance_sim_still(&s, 20.0, 0.45), 0);
  ck_assert_uint_eq(s.n, 20000);
  double w = 175.0 * STANCE_GRAVITY, sum_share = 0.0, dmax = 0.0;
  for (size_t i = 0; i < s.n; i++) {
    ck_assert_near(s.f[0][i] + s.f[1][i], w, 1e-9);
    double sh = s.f[0][i] / w;
    sum_share += sh;
    dmax = fmax(dmax, fabs(sh - 0.45));
  }
  ck_assert_msg(dmax > 0.002 && dmax <= 0.0101, "split wobble %g", dmax);
  /* zero mean: over 20 s of < 1 Hz wobble the mean share is within 0.001 */
  ck_assert_near(sum_share / (double)s.n, 0.45, 0.001);
  size_t n0 = s.n;
  ck_assert_int_eq(_stance_sim_still(&s, 2.0, 1.0), 0);
  for (size_t i = n0; i < s.n; i++)
    ck_assert(s.f[0][i] == w && s.f[1][i] == 0.0);
  n0 = s.n;
  ck_assert_int_eq(_stance_sim_empty(&s, 0.5), 0);
  ck_assert_uint_eq(s.n - n0, 500);
  for (size_t i = n0; i < s.n; i++)
    ck_assert(s.f[0][i] == 0.0 && s.f[1][i] == 0.0);
  /* the default CoP sways a few mm around the foot position */
  double sx = 0, sy = 0, ymax = 0;
  for (size_t i = 0; i < 20000; i++) {
    sx += s.cx[0][i];
    sy += s.cy[0][i];
    ymax = fmax(ymax, fabs(s.cy[0][i]));
  }
  ck_assert_near(sx / 20000.0, 0.0, 1.0);
  ck_assert_near(sy / 20000.0, 0.0, 1.5);
  ck_assert_msg(ymax > 0.5 && ymax < 5.0, "sway %g mm", ymax);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    free(s.f[pl]);
    free(s.cx[pl]);
    free(s.cy[pl]);
  }
}
END_TEST

START_TEST(test_generator_refuses_other_protocols)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  StanceSimTruth truth = {0};
  StanceSimScene s = {0};
  s.p = &p;
  s.rate_hz = 1000.0;
  s.dt = 0.001;
  s.m_body = 75.0;
  s.g = STANCE_GRAVITY;
  s.truth = &truth;
  StanceError err = {0};
  ck_assert_int_eq(_stance_sim_gen_balance(&s, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "cmj"));
  ck_assert_uint_eq(s.n, 0);
}
END_TEST

static char *
truth_json(const StanceSimTruth *t, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  ck_assert_ptr_nonnull(f);
  StanceError err = {0};
  int r = stance_sim_truth_write_json(t, f, &err);
  fclose(f);
  ck_assert_msg(r == 0, "truth JSON: %s", err.message);
  return buf;
}

START_TEST(test_truth_json)
{
  static const StanceProtocol protos[] = {STANCE_PROTO_QUIET_STANDING, STANCE_PROTO_SL_BALANCE,
                                          STANCE_PROTO_WEIGH_IN};
  for (size_t k = 0; k < 3; k++) {
    StanceSimParams p = stance_test_sim_params(protos[k], 1234);
    p.duration_s = 3.0;
    StanceRecording *rec;
    StanceSimTruth *t;
    stance_test_sim_run(&p, &rec, &t);
    size_t len = 0;
    char *js = truth_json(t, &len);
    ck_assert_msg(json_valid(js, len), "%s: truth JSON does not parse",
                  stance_protocol_name(protos[k]));
    ck_assert_ptr_nonnull(strstr(js, "\"format\": \"stance-sim-truth\""));
    ck_assert_ptr_nonnull(strstr(js, "\"version\": 1"));
    ck_assert_ptr_nonnull(strstr(js, "\"seed\": 1234"));
    ck_assert_ptr_nonnull(strstr(js, "\"still_share_left\""));
    ck_assert_ptr_nonnull(strstr(js, "\"weight_bearing_pct\""));
    ck_assert_ptr_nonnull(strstr(js, "\"cop_ellipse_area_95\""));
    ck_assert_ptr_nonnull(strstr(js, "\"unit\": \"mm/s\""));
    ck_assert_ptr_nonnull(strstr(js, "\"kind\": \"stand\""));
    ck_assert_ptr_nonnull(strstr(js, "\"x_mm\""));
    char proto[64];
    snprintf(proto, sizeof proto, "\"protocol\": \"%s\"", stance_protocol_name(protos[k]));
    ck_assert_ptr_nonnull(strstr(js, proto));
    for (char *c = js; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    ck_assert_ptr_null(strstr(js, "nan"));
    ck_assert_ptr_null(strstr(js, "inf"));
    free(js);
    stance_recording_free(rec);
    stance_sim_truth_free(t);
  }
  /* the CoP arrays hold exactly the valid samples: single-leg on the left, the right is empty */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_SL_BALANCE, 5);
  p.duration_s = 2.0;
  StanceRecording *rec;
  StanceSimTruth *t;
  stance_test_sim_run(&p, &rec, &t);
  size_t len = 0;
  char *js = truth_json(t, &len);
  ck_assert_ptr_nonnull(strstr(js, "\"right\": {\n      \"t_s\": [],"));
  ck_assert_uint_eq(t->cop_n, 200);
  free(js);
  /* a seed above 2^63 - 1 is written as a string */
  t->params.seed = UINT64_MAX;
  js = truth_json(t, &len);
  ck_assert_ptr_nonnull(strstr(js, "\"seed\": \"18446744073709551615\""));
  free(js);
  stance_recording_free(rec);
  stance_sim_truth_free(t);
}
END_TEST

START_TEST(test_run_refuses_bad_input)
{
  StanceError err = {0};
  ck_assert_int_eq(stance_sim_run(NULL, NULL, NULL, &err), STANCE_EINVAL);
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 1);
  ck_assert_int_eq(stance_sim_run(&p, NULL, NULL, &err), STANCE_EINVAL);
  ck_assert_int_lt(stance_sim_params_validate(NULL, &err), 0);
  ck_assert_int_lt(stance_sim_truth_write_json(NULL, stdout, &err), 0);
  ck_assert_ptr_null(stance_sim_truth_metric(NULL, "x"));
  stance_sim_truth_free(NULL);
}
END_TEST

static Suite *
sim_suite(void)
{
  Suite *s = suite_create("sim");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_same_seed_same_counts);
  tcase_add_test(tc, test_metadata_regenerates);
  tcase_add_test(tc, test_calibration);
  tcase_add_test(tc, test_rates);
  tcase_add_test(tc, test_quiet_standing_weighs_mg);
  tcase_add_test(tc, test_cells_reproduce_cop);
  tcase_add_test(tc, test_weight_share);
  tcase_add_test(tc, test_quiet_standing_sway);
  tcase_add_test(tc, test_sl_balance);
  tcase_add_test(tc, test_weigh_in);
  tcase_add_test(tc, test_mains_hum);
  tcase_add_test(tc, test_drift);
  tcase_add_test(tc, test_noise_levels);
  tcase_add_test(tc, test_saturation);
  tcase_add_test(tc, test_saturation_jumps);
  tcase_add_test(tc, test_every_protocol_through_the_cells);
  tcase_add_test(tc, test_defaults_validate);
  tcase_add_test(tc, test_validate_messages);
  tcase_add_test(tc, test_set_parses);
  tcase_add_test(tc, test_truth_force_metrics);
  tcase_add_test(tc, test_still_helper);
  tcase_add_test(tc, test_generator_refuses_other_protocols);
  tcase_add_test(tc, test_truth_json);
  tcase_add_test(tc, test_run_refuses_bad_input);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(sim_suite());
}
