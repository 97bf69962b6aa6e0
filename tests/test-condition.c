/* test-condition.c: signal conditioning (stance-condition.h): the zero-lag Butterworth against its
 * analytic response, weighing on synthetic signals and on the plateforce reference values,
 * unloaded plates on a simulated flight, Welch against a known sine in white noise, mains hum on
 * simulated plates, Winter's residual analysis and the Hampel spike detector.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-condition.h"
#include "stance-import.h"
#include "stance-sim.h"
#include "stance-test.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static bool
under_valgrind(void)
{
  const char *v = getenv("STANCE_UNDER_VALGRIND");
  return v && v[0] == '1';
}

/* Deterministic Gaussian noise (splitmix64 + Box-Muller): the tests must not depend on libc. */
typedef struct {
  uint64_t s;
} Rng;

static double
rng_uniform(Rng *r)
{
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double
rng_gauss(Rng *r)
{
  double u = rng_uniform(r), v = rng_uniform(r);
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double *
alloc_d(size_t n)
{
  double *p = malloc((n ? n : 1) * sizeof *p);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* Amplitude of the least-squares sinusoid at f_hz fitted to x[from, to). */
static double
sine_amplitude(const double *x, size_t from, size_t to, double rate, double f_hz)
{
  double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0, mean = 0;
  for (size_t i = from; i < to; i++)
    mean += x[i];
  mean /= (double)(to - from);
  for (size_t i = from; i < to; i++) {
    double w = 2.0 * M_PI * f_hz * (double)i / rate, s = sin(w), c = cos(w), v = x[i] - mean;
    ss += s * s;
    sc += s * c;
    cc += c * c;
    xs += v * s;
    xc += v * c;
  }
  double det = ss * cc - sc * sc;
  double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
  return hypot(a, b);
}

static void
expect_error(int rc, int code, const StanceError *err, const char *what)
{
  ck_assert_msg(rc == code, "%s: returned %d, expected %d", what, rc, code);
  ck_assert_msg(err->code == code, "%s: err->code %d, expected %d", what, err->code, code);
  ck_assert_msg(strstr(err->message, "expected") != NULL || strstr(err->message, "needed") ||
                    strstr(err->message, "needs"),
                "%s: message '%s' does not say what was expected", what, err->message);
}

/* The decoded force of sel of a simulated recording, caller frees. */
static double *
sim_force(const StanceRecording *rec, StanceSel sel)
{
  double *f = alloc_d(rec->n_samples);
  StanceError err = {0};
  ck_assert_int_eq(stance_recording_force(rec, sel, f, &err), 0);
  return f;
}

/* The simulated CMJ (seed 21, two jumps) shared by the unloaded and spike tests. Simulating a
 * jump is the slowest part of this program under valgrind, where Check runs every test in one
 * process (CK_FORK=no): there it is made once and kept until main() ends. Elsewhere each test
 * makes and frees its own. */
static StanceRecording *cmj_cached;
static StanceSimTruth *cmj_cached_truth;

static bool
no_fork(void)
{
  const char *v = getenv("CK_FORK");
  return v && strcmp(v, "no") == 0;
}

static void
shared_cmj(StanceRecording **rec, StanceSimTruth **truth)
{
  if (cmj_cached) {
    *rec = cmj_cached;
    *truth = cmj_cached_truth;
    return;
  }
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 21);
  p.reps = 2;
  stance_test_sim_run(&p, rec, truth);
  if (no_fork()) {
    cmj_cached = *rec;
    cmj_cached_truth = *truth;
  }
}

static void
shared_cmj_done(StanceRecording *rec, StanceSimTruth *truth)
{
  if (rec == cmj_cached)
    return;
  stance_recording_free(rec);
  stance_sim_truth_free(truth);
}

/* ---- low-pass ---- */

/* Analytic gain of the forward-backward pair of total order `order` designed for cutoff fc. */
static double
pair_gain(int order, double fc, double rate, double f)
{
  int np = order / 2;
  double c = pow(sqrt(2.0) - 1.0, 1.0 / (2.0 * np));
  double wc = tan(M_PI * fc / rate) / c, w = tan(M_PI * f / rate);
  return 1.0 / (1.0 + pow(w / wc, 2.0 * np));
}

/* Steady-state gain of the filter at f_hz: a sine through it, amplitude fitted away from the
 * ends (the first and last 30 % of 4 s), where the start-up transient has died out. */
static double
measured_gain(int order, double fc, double rate, double f_hz)
{
  size_t n = (size_t)(4.0 * rate);
  double *x = alloc_d(n), *y = alloc_d(n);
  for (size_t i = 0; i < n; i++)
    x[i] = 10.0 * sin(2.0 * M_PI * f_hz * (double)i / rate + 0.3);
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_lowpass(x, NULL, n, rate, order, fc, y, &err), 0);
  size_t a = (size_t)(0.3 * (double)n), b = (size_t)(0.7 * (double)n);
  double g = sine_amplitude(y, a, b, rate, f_hz) / sine_amplitude(x, a, b, rate, f_hz);
  free(x);
  free(y);
  return g;
}

START_TEST(test_lowpass_cutoff_is_3db)
{
  /* (rate, cutoff) pairs from balance filtering (10 Hz at 1 kHz) to a cutoff near Nyquist. */
  const double cases[][2] = {{1000, 10}, {1000, 50}, {200, 20}, {1200, 250}};
  const int orders[] = {2, 4, 6, 8};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (size_t o = 0; o < 4; o++) {
      double rate = cases[c][0], fc = cases[c][1];
      double g = measured_gain(orders[o], fc, rate, fc);
      double db = 20.0 * log10(g);
      /* -3.01 dB (1/sqrt 2) within 0.1 dB, the tolerance. The design is exact in the
       * prewarped frequency, so only the fit over a finite stretch adds error (< 1e-4 dB). */
      ck_assert_msg(fabs(db - 20.0 * log10(M_SQRT1_2)) <= 0.1,
                    "order %d, %g Hz at %g Hz: %.4f dB at the cutoff, expected -3.01 +- 0.1",
                    orders[o], fc, rate, db);
      /* The shape: at half and twice the cutoff the gain follows the Butterworth pair's formula
       * within 0.01 dB (a wrong order or a missing correction is off by > 1 dB there). */
      double fs[2] = {0.5 * fc, fmin(2.0 * fc, 0.45 * rate)};
      for (int k = 0; k < 2; k++) {
        double gm = measured_gain(orders[o], fc, rate, fs[k]);
        double ge = pair_gain(orders[o], fc, rate, fs[k]);
        ck_assert_msg(fabs(20.0 * log10(gm / ge)) <= 0.01,
                      "order %d, cutoff %g Hz at %g Hz: gain at %g Hz %.6f, expected %.6f",
                      orders[o], fc, rate, fs[k], gm, ge);
      }
    }
}
END_TEST

START_TEST(test_lowpass_zero_phase_and_dc)
{
  const double rate = 1000;
  const size_t n = 5000;
  double *x = alloc_d(n), *y = alloc_d(n);
  /* A 2 Hz cosine has its peaks exactly on samples 0, 500, 1000, ... */
  for (size_t i = 0; i < n; i++)
    x[i] = 800.0 + 300.0 * cos(2.0 * M_PI * 2.0 * (double)i / rate);
  StanceError err = {0};
  for (int order = 2; order <= 8; order += 2) {
    ck_assert_int_eq(stance_cond_lowpass(x, NULL, n, rate, order, 10.0, y, &err), 0);
    /* Zero lag: every interior peak stays on its sample (a one-pass 10 Hz Butterworth would
     * delay it by 15-60 samples). */
    for (size_t p = 500; p + 500 < n; p += 500) {
      size_t arg = p - 100;
      for (size_t i = p - 100; i <= p + 100; i++)
        if (y[i] > y[arg])
          arg = i;
      ck_assert_msg(arg == p, "order %d: peak at sample %zu, expected %zu", order, arg, p);
    }
  }
  /* Zero lag on an asymmetric pulse: its centroid does not move (within 0.01 sample). */
  double cx = 0, wx = 0, cy = 0, wy = 0;
  for (size_t i = 0; i < n; i++) {
    double t = ((double)i - 2000.0) / 40.0;
    x[i] = t > 0 ? 500.0 * t * t * exp(-t) : 0.0;
  }
  ck_assert_int_eq(stance_cond_lowpass(x, NULL, n, rate, 4, 15.0, y, &err), 0);
  for (size_t i = 0; i < n; i++) {
    cx += (double)i * x[i];
    wx += x[i];
    cy += (double)i * y[i];
    wy += y[i];
  }
  ck_assert_near(cy / wy, cx / wx, 0.01);

  /* DC passes exactly: a constant stays constant to rounding (1e-9 N on 734 N), every order,
   * even at a cutoff of 1 Hz at 1 kHz. */
  for (size_t i = 0; i < n; i++)
    x[i] = 734.25;
  for (int order = 2; order <= 8; order += 2) {
    ck_assert_int_eq(stance_cond_lowpass(x, NULL, n, rate, order, 1.0, y, &err), 0);
    for (size_t i = 0; i < n; i++)
      ck_assert_msg(fabs(y[i] - 734.25) <= 1e-9, "order %d: y[%zu] = %.12g, expected 734.25", order,
                    i, y[i]);
  }
  free(x);
  free(y);
}
END_TEST

START_TEST(test_lowpass_bad_stretches)
{
  const double rate = 1000;
  const size_t n = 3000;
  double *x = alloc_d(n), *y = alloc_d(n), *z = alloc_d(n), *part = alloc_d(n);
  uint8_t *bad = calloc(n, 1);
  ck_assert_ptr_nonnull(bad);
  Rng rng = {42};
  for (size_t i = 0; i < n; i++)
    x[i] = 700.0 + 100.0 * sin(2.0 * M_PI * 1.3 * (double)i / rate) + 3.0 * rng_gauss(&rng);
  /* A gap of 5 samples, a single bad sample, a 9-sample stretch (< 3 * order = 12) between two
   * bad samples. Bad samples hold NaN: they must never be read. */
  size_t bads[] = {1000, 1001, 1002, 1003, 1004, 2000, 2010};
  for (size_t k = 0; k < sizeof bads / sizeof bads[0]; k++) {
    bad[bads[k]] = 1;
    x[bads[k]] = NAN;
  }
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_lowpass(x, bad, n, rate, 4, 20.0, y, &err), 0);
  for (size_t i = 0; i < n; i++) {
    if (bad[i])
      ck_assert_msg(isnan(y[i]), "bad sample %zu was not copied through", i);
    else
      ck_assert_msg(isfinite(y[i]), "y[%zu] = %g", i, y[i]);
  }
  /* The short stretch is copied unfiltered, bit for bit. */
  ck_assert_int_eq(memcmp(y + 2001, x + 2001, 9 * sizeof *x), 0);
  /* Each long stretch is filtered on its own: the same as filtering it alone, bit for bit. */
  const size_t st[][2] = {{0, 1000}, {1005, 2000}, {2011, 3000}};
  for (int s = 0; s < 3; s++) {
    size_t a = st[s][0], len = st[s][1] - st[s][0];
    ck_assert_int_eq(stance_cond_lowpass(x + a, NULL, len, rate, 4, 20.0, part, &err), 0);
    ck_assert_msg(memcmp(part, y + a, len * sizeof *y) == 0, "stretch %d differs", s);
    /* And it was really filtered (noise of 3 N RMS shrinks). */
    double d = 0;
    for (size_t i = 0; i < len; i++)
      d += (x[a + i] - y[a + i]) * (x[a + i] - y[a + i]);
    ck_assert_double_gt(sqrt(d / (double)len), 1.5);
  }
  /* In place (y aliases x) gives the same bits. */
  memcpy(z, x, n * sizeof *x);
  ck_assert_int_eq(stance_cond_lowpass(z, bad, n, rate, 4, 20.0, z, &err), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert(bad[i] ? isnan(z[i]) : z[i] == y[i]);
  free(x);
  free(y);
  free(z);
  free(part);
  free(bad);
}
END_TEST

START_TEST(test_lowpass_errors)
{
  double x[64] = {0}, y[64];
  StanceError err = {0};
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 3, 10, y, &err), STANCE_EINVAL, &err,
               "odd order");
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 10, 10, y, &err), STANCE_EINVAL, &err,
               "order 10");
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 0, 10, y, &err), STANCE_EINVAL, &err,
               "order 0");
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 4, 0, y, &err), STANCE_EINVAL, &err,
               "cutoff 0");
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 4, 500, y, &err), STANCE_EINVAL, &err,
               "cutoff at Nyquist");
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 4, NAN, y, &err), STANCE_EINVAL, &err,
               "NaN cutoff");
  expect_error(stance_cond_lowpass(x, NULL, 64, 0, 4, 10, y, &err), STANCE_EINVAL, &err, "rate 0");
  x[17] = INFINITY;
  expect_error(stance_cond_lowpass(x, NULL, 64, 1000, 4, 10, y, &err), STANCE_EINVAL, &err,
               "infinite sample");
  ck_assert_msg(strstr(err.message, "sample 17") != NULL, "%s", err.message);
}
END_TEST

/* ---- weighing ---- */

START_TEST(test_weigh_hidden_window)
{
  /* 8 s at 1 kHz: 700 N with a 60 N, 1.3 Hz movement everywhere except a still 1.2 s in
   * [3.0, 4.2) s; noise 2 N RMS throughout. */
  const double rate = 1000;
  const size_t n = 8000;
  double *f = alloc_d(n);
  Rng rng = {7};
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / rate;
    bool still = i >= 3000 && i < 4200;
    f[i] = 700.0 + (still ? 0.0 : 60.0 * sin(2.0 * M_PI * 1.3 * t)) + 2.0 * rng_gauss(&rng);
  }
  StanceWeighOptions o;
  stance_weigh_options_default(&o);
  StanceWeighing w;
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_weigh(f, NULL, n, rate, &o, &w, &err), 0);
  ck_assert(w.found);
  ck_assert_uint_eq(w.len, 1000);
  /* The window lies inside the still part. */
  ck_assert_uint_ge(w.start, 3000);
  ck_assert_uint_le(w.start + w.len, 4200);
  /* Mean within 0.3 N (standard error 2 / sqrt(1000) = 0.063 N: ~5 SE); SD within 10 % of 2 N
   * (relative SE of a 1000-sample SD is 2.2 %). */
  ck_assert_near(w.mean_n, 700.0, 0.3);
  ck_assert_near(w.sd_n, 2.0, 0.2);

  /* A gap inside the still part: the chosen window avoids it. */
  uint8_t *bad = calloc(n, 1);
  ck_assert_ptr_nonnull(bad);
  bad[3500] = 1;
  f[3500] = NAN;
  ck_assert_int_eq(stance_cond_weigh(f, bad, n, rate, &o, &w, &err), 0);
  ck_assert_msg(w.start > 3500 || w.start + w.len <= 3500, "window %zu+%zu holds the gap", w.start,
                w.len);

  /* search_from/search_to restrict the search: [0, 3000) has no still window. */
  o.search_to = 3000;
  ck_assert_int_eq(stance_cond_weigh(f, bad, n, rate, &o, &w, &err), 0);
  ck_assert(!w.found);
  ck_assert_uint_eq(w.len, 1000);
  ck_assert_uint_le(w.start + w.len, 3000);
  ck_assert_double_gt(w.sd_n, 15.0); /* the best window still moves: SD ~ 60 / sqrt 2 */
  free(f);
  free(bad);
}
END_TEST

START_TEST(test_weigh_no_still)
{
  const double rate = 1000;
  const size_t n = 6000;
  double *f = alloc_d(n);
  Rng rng = {11};
  /* Moving all the time (1.3 Hz, 60 N, like repeated squats). */
  for (size_t i = 0; i < n; i++)
    f[i] = 700.0 + 60.0 * sin(2.0 * M_PI * 1.3 * (double)i / rate) + 2.0 * rng_gauss(&rng);
  StanceWeighing w;
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_weigh(f, NULL, n, rate, NULL, &w, &err), 0);
  ck_assert(!w.found);
  ck_assert_uint_eq(w.len, 1000); /* the best window seen, for the flag's message */
  ck_assert_double_gt(w.sd_n, 15.0);
  /* Nobody on the plate: no loaded window at all. */
  for (size_t i = 0; i < n; i++)
    f[i] = 0.5 * rng_gauss(&rng);
  ck_assert_int_eq(stance_cond_weigh(f, NULL, n, rate, NULL, &w, &err), 0);
  ck_assert(!w.found);
  ck_assert_uint_eq(w.len, 0);
  free(f);

  /* A simulated CMJ that starts moving at once: the first second is not still (FIRST rule);
   * the stillest window is the rest after the landing. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 5);
  p.reps = 1;
  p.no_still = true;
  StanceRecording *rec;
  StanceSimTruth *truth;
  stance_test_sim_run(&p, &rec, &truth);
  f = sim_force(rec, STANCE_SEL_TOTAL);
  StanceWeighOptions o;
  stance_weigh_options_default(&o);
  o.rule = STANCE_WEIGH_FIRST;
  ck_assert_int_eq(stance_cond_weigh(f, NULL, rec->n_samples, rate, &o, &w, &err), 0);
  ck_assert(!w.found);
  o.rule = STANCE_WEIGH_STILLEST;
  ck_assert_int_eq(stance_cond_weigh(f, NULL, rec->n_samples, rate, &o, &w, &err), 0);
  double landing = stance_sim_truth_event(&truth->trials[0], "landing");
  ck_assert_double_gt(landing, 0.0);
  if (w.found) {
    ck_assert_double_ge((double)w.start / rate, landing);
    /* Body weight: 75 kg * g within 0.5 % (the rest after landing settles onto m g). */
    ck_assert_near(w.mean_n, truth->body_weight_n, 0.005 * truth->body_weight_n);
  }
  /* Searching only before the takeoff leaves no still window. */
  double takeoff = stance_sim_truth_event(&truth->trials[0], "takeoff");
  o.search_to = (size_t)(takeoff * rate);
  int rc = stance_cond_weigh(f, NULL, rec->n_samples, rate, &o, &w, &err);
  ck_assert(rc == STANCE_ENODATA || (rc == 0 && !w.found));
  free(f);
  stance_recording_free(rec);
  stance_sim_truth_free(truth);
}
END_TEST

START_TEST(test_weigh_errors)
{
  double f[3000];
  for (size_t i = 0; i < 3000; i++)
    f[i] = 700.0;
  StanceWeighOptions o;
  stance_weigh_options_default(&o);
  StanceWeighing w;
  StanceError err = {0};
  o.window_s = 0.5;
  expect_error(stance_cond_weigh(f, NULL, 3000, 1000, &o, &w, &err), STANCE_EINVAL, &err,
               "stillest window of 0.5 s");
  o.rule = STANCE_WEIGH_FIRST; /* FIRST may use a shorter window */
  ck_assert_int_eq(stance_cond_weigh(f, NULL, 3000, 1000, &o, &w, &err), 0);
  ck_assert(w.found && w.len == 500 && w.mean_n == 700.0 && w.sd_n == 0.0);
  stance_weigh_options_default(&o);
  expect_error(stance_cond_weigh(f, NULL, 800, 1000, &o, &w, &err), STANCE_ENODATA, &err,
               "800 samples");
  ck_assert_msg(strstr(err.message, "1000") != NULL, "%s", err.message);
  o.search_to = 4000;
  expect_error(stance_cond_weigh(f, NULL, 3000, 1000, &o, &w, &err), STANCE_EINVAL, &err,
               "search_to beyond the end");
  stance_weigh_options_default(&o);
  o.max_sd_n = -1;
  expect_error(stance_cond_weigh(f, NULL, 3000, 1000, &o, &w, &err), STANCE_EINVAL, &err,
               "negative max SD");
  stance_weigh_options_default(&o);
  f[1234] = NAN;
  expect_error(stance_cond_weigh(f, NULL, 3000, 1000, &o, &w, &err), STANCE_EINVAL, &err,
               "NaN sample");
  ck_assert_msg(strstr(err.message, "1234") != NULL, "%s", err.message);
  /* FIRST with a gap in its window: not found (the window must be clean). */
  uint8_t bad[3000] = {0};
  bad[1234] = 1;
  o.rule = STANCE_WEIGH_FIRST;
  o.window_s = 2.0;
  ck_assert_int_eq(stance_cond_weigh(f, bad, 3000, 1000, &o, &w, &err), 0);
  ck_assert(!w.found);
}
END_TEST

/* The reference_subject01.csv column `name` for trial (1-based). */
static double
reference_value(const char *name, int trial)
{
  char *path = stance_test_data_path("plateforce/reference_subject01.csv");
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  free(path);
  char line[8192];
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  int col = -1, k = 0;
  for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), k++)
    if (strcmp(tok, name) == 0)
      col = k;
  ck_assert_msg(col >= 0, "no column %s", name);
  double v = NAN;
  for (int t = 1; t <= trial; t++) {
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    if (t < trial)
      continue;
    k = 0;
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), k++)
      if (k == col)
        v = strtod(tok, NULL);
  }
  fclose(f);
  ck_assert(isfinite(v));
  return v;
}

START_TEST(test_weigh_plateforce)
{
  /* plateforce subject 01, trials 1-6 (1200 Hz, one combined plate), against the frozen numpy
   * reference. Found by trying window lengths and steps: bw_lowvar is the lowest-variance window
   * of 1.00 s (1200 samples) at a step of ONE sample among loaded windows (trial 5's overall
   * quietest second is after the athlete stepped off, at 0.01 N); 0.25 and 0.5 s windows and steps
   * of 60-300 samples miss it by 0.01-0.2 N. That is exactly our STILLEST rule. bw_100, bw_025,
   * sd_025 and sd_050 are the first 1, 0.25 and 0.5 s (FIRST rule); the reference's SDs are
   * population SDs (ddof 0), ours sample SDs: sd_pop = sd * sqrt((n - 1) / n). */
  for (int t = 1; t <= 6; t++) {
    char rel[64];
    snprintf(rel, sizeof rel, "plateforce/subject01_trial%d.force.txt", t);
    char *path = stance_test_data_path(rel);
    StanceImportOptions io;
    stance_import_options_default(&io);
    io.rate_hz = 1200;
    StanceImportResult res;
    StanceError err = {0};
    ck_assert_msg(stance_import_text(path, &io, &res, &err) == 0, "%s: %s", path, err.message);
    free(path);
    StanceRecording *rec = res.recs[0];
    size_t n = rec->n_samples;
    double *f = sim_force(rec, STANCE_SEL_TOTAL);
    StanceWeighOptions o;
    stance_weigh_options_default(&o);
    StanceWeighing w;

    /* Tolerances: the reference prints 16-17 significant digits; only summation order differs:
     * 1e-9 N on ~586 N for means, 1e-9 N on SDs of 1-8 N. */
    o.rule = STANCE_WEIGH_FIRST;
    ck_assert_int_eq(stance_cond_weigh(f, NULL, n, 1200, &o, &w, &err), 0);
    ck_assert(w.found && w.start == 0 && w.len == 1200);
    ck_assert_near(w.mean_n, reference_value("bw_100", t), 1e-9);
    const struct {
      double s;
      const char *bw, *sd;
    } firsts[] = {{0.25, "bw_025", "sd_025"}, {0.5, NULL, "sd_050"}};
    for (int k = 0; k < 2; k++) {
      o.window_s = firsts[k].s;
      ck_assert_int_eq(stance_cond_weigh(f, NULL, n, 1200, &o, &w, &err), 0);
      double m = (double)w.len;
      ck_assert_uint_eq(w.len, (size_t)(firsts[k].s * 1200));
      if (firsts[k].bw)
        ck_assert_near(w.mean_n, reference_value(firsts[k].bw, t), 1e-9);
      ck_assert_near(w.sd_n * sqrt((m - 1) / m), reference_value(firsts[k].sd, t), 1e-9);
    }

    /* STILLEST, 1 s: bw_lowvar. 1e-6 N: windows tied for the lowest variance (trial 2 starts
     * 401-403, trial 6 517-522) hold the same mean to 1e-12 N, so whichever tie we pick agrees. */
    o.rule = STANCE_WEIGH_STILLEST;
    o.window_s = 1.0;
    ck_assert_int_eq(stance_cond_weigh(f, NULL, n, 1200, &o, &w, &err), 0);
    ck_assert(w.found && w.len == 1200);
    ck_assert_near(w.mean_n, reference_value("bw_lowvar", t), 1e-6);
    /* The stillest window of a trimmed CMJ is in the quiet standing before the movement onset. */
    ck_assert_uint_le(w.start + w.len, (size_t)reference_value("onset_jm", t));
    /* Its SD is at most the first second's (it is the minimum over all windows). */
    StanceWeighing w1;
    o.rule = STANCE_WEIGH_FIRST;
    ck_assert_int_eq(stance_cond_weigh(f, NULL, n, 1200, &o, &w1, &err), 0);
    ck_assert_double_le(w.sd_n, w1.sd_n + 1e-9);
    free(f);
    stance_import_result_clear(&res);
  }
}
END_TEST

START_TEST(test_weigh_shiny)
{
  /* shiny-vertical-jump weighs on 1000 samples of fp1 + fp2 and divides by 9.81. For
   * single_trial.csv (the CMJ row) that is the first 1000 samples: FIRST rule, 1 s at 1000 Hz.
   * The SJ rows of wide_data.csv start unloaded; a search over every 1000-sample window finds
   * their Body Mass only at samples 4052 (trial 1) and 4991 (trial 2), neither the first loaded
   * second nor the stillest (ours: 4124 and 5238, 0.08 and 0.24 kg heavier): a window brushed
   * by hand in the app. FIRST from search_from reproduces them. The app prints 15 significant
   * digits: 1e-9 kg. */
  const struct {
    const char *file;
    size_t rec, from;
    double mass_kg;
  } cases[] = {{"shiny-vertical-jump/single_trial.csv", 0, 0, 80.5062395514781},
               {"shiny-vertical-jump/wide_data.csv", 0, 4052, 68.7467115188583},
               {"shiny-vertical-jump/wide_data.csv", 1, 4991, 68.4713007135576}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *path = stance_test_data_path(cases[c].file);
    StanceImportResult res;
    StanceError err = {0};
    ck_assert_msg(stance_import_text(path, NULL, &res, &err) == 0, "%s: %s", path, err.message);
    free(path);
    ck_assert_uint_gt(res.n_recs, cases[c].rec);
    StanceRecording *rec = res.recs[cases[c].rec];
    ck_assert(rec->sample_rate_hz == 1000.0);
    double *f = sim_force(rec, STANCE_SEL_TOTAL);
    StanceWeighOptions o;
    stance_weigh_options_default(&o);
    o.rule = STANCE_WEIGH_FIRST;
    o.search_from = cases[c].from;
    StanceWeighing w;
    ck_assert_int_eq(stance_cond_weigh(f, NULL, rec->n_samples, 1000, &o, &w, &err), 0);
    ck_assert(w.found && w.start == cases[c].from && w.len == 1000);
    ck_assert_near(w.mean_n / 9.81, cases[c].mass_kg, 1e-9);
    /* The stillest window is at least as still. */
    StanceWeighing ws;
    o.rule = STANCE_WEIGH_STILLEST;
    o.search_from = 0;
    ck_assert_int_eq(stance_cond_weigh(f, NULL, rec->n_samples, 1000, &o, &ws, &err), 0);
    ck_assert(ws.found && ws.sd_n <= w.sd_n + 1e-9);
    free(f);
    stance_import_result_clear(&res);
  }
}
END_TEST

/* ---- unloaded plates ---- */

START_TEST(test_unloaded_synthetic)
{
  /* 1 kHz: 700 N, a 400 ms flight at an offset of 12.5 N with 0.8 N noise whose first and last
   * 10 ms read 45 N (still below the 50 N threshold: the edges must be ignored), then 700 N. */
  const double rate = 1000;
  const size_t n = 2000;
  double *f = alloc_d(n);
  Rng rng = {3};
  for (size_t i = 0; i < n; i++) {
    bool flight = i >= 800 && i < 1200;
    bool edge = flight && (i < 810 || i >= 1190);
    f[i] = !flight ? 700.0 : edge ? 45.0 : 12.5 + 0.8 * rng_gauss(&rng);
  }
  StanceUnloaded u;
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_unloaded(f, NULL, n, rate, 50.0, 0.1, &u, &err), 0);
  ck_assert(u.found);
  ck_assert_uint_eq(u.start, 800);
  ck_assert_uint_eq(u.len, 400);
  /* 380 samples of N(12.5, 0.8): mean SE 0.04 N, SD relative SE 3.6 %: 5 SE tolerances. */
  ck_assert_near(u.mean_n, 12.5, 0.2);
  ck_assert_near(u.sd_n, 0.8, 0.15);
  /* Too short: at least 0.5 s asked. */
  ck_assert_int_eq(stance_cond_unloaded(f, NULL, n, rate, 50.0, 0.5, &u, &err), 0);
  ck_assert(!u.found);
  ck_assert_uint_eq(u.len, 400);
  /* A gap splits the flight: the longest piece is measured. */
  uint8_t *bad = calloc(n, 1);
  ck_assert_ptr_nonnull(bad);
  bad[950] = 1;
  ck_assert_int_eq(stance_cond_unloaded(f, bad, n, rate, 50.0, 0.1, &u, &err), 0);
  ck_assert(u.found && u.start == 951 && u.len == 249);
  expect_error(stance_cond_unloaded(f, NULL, n, rate, 50.0, 0.015, &u, &err), STANCE_EINVAL, &err,
               "min_s shorter than the trimmed edges");
  free(bad);
  free(f);
}
END_TEST

START_TEST(test_unloaded_sim_flight)
{
  /* A simulated CMJ: the flight is the longest unloaded stretch of each plate and of the sum. */
  StanceRecording *rec;
  StanceSimTruth *truth;
  shared_cmj(&rec, &truth);
  double rate = rec->sample_rate_hz;
  for (int s = 0; s < 3; s++) {
    double *f = sim_force(rec, (StanceSel)s);
    StanceUnloaded u;
    StanceError err = {0};
    ck_assert_int_eq(stance_cond_unloaded(f, NULL, rec->n_samples, rate, 50.0, 0.1, &u, &err), 0);
    ck_assert(u.found);
    /* The stretch is one of the flights: it starts and ends within 30 ms of that jump's true
     * takeoff and landing (force crosses 50 N a few ms away from the events' definitions). */
    bool matched = false;
    for (size_t t = 0; t < truth->n_trials; t++) {
      double takeoff = stance_sim_truth_event(&truth->trials[t], "takeoff");
      double landing = stance_sim_truth_event(&truth->trials[t], "landing");
      ck_assert(takeoff > 0 && landing > takeoff);
      if (fabs((double)u.start / rate - takeoff) <= 0.03 &&
          fabs((double)(u.start + u.len) / rate - landing) <= 0.03)
        matched = true;
    }
    ck_assert_msg(matched, "plate %d: unloaded %.3f-%.3f s is no flight", s, (double)u.start / rate,
                  (double)(u.start + u.len) / rate);
    /* Expected noise of the unloaded sum of cells: per cell 0.5 N mechanical (cell_noise_n) and
     * 40 counts of ADC noise times the cell's gain. */
    StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 21);
    double var = 0;
    int c0 = s == STANCE_SEL_RIGHT ? 4 : 0, c1 = s == STANCE_SEL_LEFT ? 4 : 8;
    for (int c = c0; c < c1; c++) {
      double adc = p.adc_noise_counts * rec->calib.gain_n_per_count[c];
      var += p.cell_noise_n * p.cell_noise_n + adc * adc;
    }
    double sd = sqrt(var);
    /* Offset near 0 (the calibration removes the cells' offsets): within 5 standard errors of a
     * ~450-sample mean (plus 0.05 N for count rounding). SD within 15 % (its relative SE is
     * ~3.5 %: > 4 SE). */
    double se = sd / sqrt((double)u.len - 0.02 * rate);
    ck_assert_msg(fabs(u.mean_n) <= 5 * se + 0.05, "plate %d offset %.3f N, expected 0 +- %.3f", s,
                  u.mean_n, 5 * se + 0.05);
    ck_assert_msg(fabs(u.sd_n / sd - 1.0) <= 0.15, "plate %d SD %.3f N, expected %.3f +- 15 %%", s,
                  u.sd_n, sd);
    free(f);
  }
  shared_cmj_done(rec, truth);
}
END_TEST

/* ---- spectrum ---- */

START_TEST(test_welch_sine_noise)
{
  /* 1 kHz, A = 3 N at 123.4 Hz (between bins) plus white noise of 0.5 N RMS. One-sided noise
   * density 2 sigma^2 / fs = 5e-4 N^2/Hz; the sine's power A^2 / 2 = 4.5 N^2. */
  const double rate = 1000, amp = 3.0, f0 = 123.4, sigma = 0.5;
  const size_t n = under_valgrind() ? 16384 : 65536, seg = 1024, nb = seg / 2 + 1;
  double *x = alloc_d(n), *psd = alloc_d(nb);
  Rng rng = {99};
  for (size_t i = 0; i < n; i++)
    x[i] = 250.0 + amp * sin(2.0 * M_PI * f0 * (double)i / rate) + sigma * rng_gauss(&rng);
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_welch(x, 0, n, rate, seg, psd, &err), 0);
  double df = rate / (double)seg;
  size_t k0 = (size_t)lround(f0 / df);
  double noise = 0;
  size_t m = 0;
  for (size_t k = 2; k < nb - 1; k++)
    if (k + 6 < k0 || k > k0 + 6) {
      noise += psd[k];
      m++;
    }
  noise /= (double)m;
  /* Noise density within 3 %: averaged over 30-127 segments and ~500 bins, its relative error is
   * ~1 %, and the sample variance of the noise itself varies by sqrt(2 / n) < 1.2 %. */
  ck_assert_near(noise / (2.0 * sigma * sigma / rate), 1.0, 0.03);
  /* Sine power from its bins (+-4 around the line, Hann main lobe +-2 plus leakage) minus the
   * noise in them: within 2 % (leakage beyond 4 bins is < 0.1 %; the noise in 9 bins adds
   * ~0.2 % uncertainty). */
  double pw = 0;
  for (size_t k = k0 - 4; k <= k0 + 4; k++)
    pw += (psd[k] - noise) * df;
  ck_assert_near(pw / (amp * amp / 2.0), 1.0, 0.02);
  /* Parseval: the PSD integrates to the variance (1 %; the Hann-overlap estimate of the total
   * power is unbiased). */
  double tot = 0, var = 0, mean = 0;
  for (size_t k = 0; k < nb; k++)
    tot += psd[k] * df;
  for (size_t i = 0; i < n; i++)
    mean += x[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= (double)n;
  ck_assert_near(tot / var, 1.0, 0.01);
  /* Mean removal per segment: the 250 N offset leaves no DC line. */
  ck_assert_double_lt(psd[0], 10.0 * noise);

  expect_error(stance_cond_welch(x, 0, n, rate, 1000, psd, &err), STANCE_EINVAL, &err,
               "segment not a power of two");
  expect_error(stance_cond_welch(x, 0, n, rate, 8, psd, &err), STANCE_EINVAL, &err, "segment of 8");
  expect_error(stance_cond_welch(x, 0, 500, rate, 1024, psd, &err), STANCE_ENODATA, &err,
               "segment longer than the data");
  free(x);
  free(psd);
}
END_TEST

/* Welch from several threads at once: FFTW's planner is serialised inside stance-condition.c, so
 * every thread gets the same bits as a lone call. */
typedef struct {
  const double *x;
  size_t n;
  const double *want;
  int ok;
} WelchJob;

static void *
welch_thread(void *arg)
{
  WelchJob *j = arg;
  double psd[129];
  j->ok = 1;
  for (int r = 0; r < 20; r++) {
    StanceError err = {0};
    if (stance_cond_welch(j->x, 0, j->n, 1000, 256, psd, &err) != 0 ||
        memcmp(psd, j->want, sizeof psd) != 0)
      j->ok = 0;
  }
  return NULL;
}

START_TEST(test_welch_threads)
{
  const size_t n = 4096;
  double *x = alloc_d(n), want[129];
  Rng rng = {17};
  for (size_t i = 0; i < n; i++)
    x[i] = rng_gauss(&rng);
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_welch(x, 0, n, 1000, 256, want, &err), 0);
  pthread_t th[4];
  WelchJob jobs[4];
  for (int t = 0; t < 4; t++) {
    jobs[t] = (WelchJob){x, n, want, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, welch_thread, &jobs[t]), 0);
  }
  for (int t = 0; t < 4; t++) {
    pthread_join(th[t], NULL);
    ck_assert_msg(jobs[t].ok, "thread %d got a different spectrum", t);
  }
  free(x);
}
END_TEST

/* Quiet standing on the simulated plates with and without hum (same seed: the noise draws are
 * the same), returning both recordings. */
static void
sim_standing(double mains_hz, double amp, StanceRecording **with, StanceRecording **without)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 8);
  p.duration_s = 6.0;
  stance_test_sim_run(&p, without, NULL);
  p.mains_hz = mains_hz;
  p.mains_amp_n = amp;
  stance_test_sim_run(&p, with, NULL);
}

START_TEST(test_spectrum_mains)
{
  const double hz[2] = {50.0, 60.0};
  int cases = under_valgrind() ? 1 : 2;
  for (int h = 0; h < cases; h++) {
    StanceRecording *rec, *clean;
    sim_standing(hz[h], 2.0, &rec, &clean);
    double rate = rec->sample_rate_hz;
    size_t n = rec->n_samples;
    /* A still stretch: [2, 5) s of the 6 s of standing (the simulated athlete stands from the
     * start; the first 2 s are left out so the sway has settled). */
    size_t a = (size_t)(2.0 * rate), len = (size_t)(3.0 * rate);
    ck_assert_uint_le(a + len, n);
    for (int s = 0; s < 3; s++) {
      double *f = sim_force(rec, (StanceSel)s), *g = sim_force(clean, (StanceSel)s);
      /* The hum actually on this series: the simulator gives each cell its own phase, so a
       * plate's line is |sum of 4 phasors| * 2 N, not 4 * 2 N. Measured by fitting a sine to
       * the difference of the two recordings (identical noise; counts rounding < 0.001 N). */
      for (size_t i = 0; i < n; i++)
        g[i] = f[i] - g[i];
      double expected = sine_amplitude(g, 0, n, rate, hz[h]);
      double cells = s == STANCE_SEL_TOTAL ? 8.0 : 4.0;
      ck_assert_double_le(expected, cells * 2.0 + 0.01);
      ck_assert_double_gt(expected, 0.5); /* seed 8 gives a clear line on every series */
      StanceSpectrumQuality q;
      StanceError err = {0};
      /* On 3 s of standing and on a 1 s weighing window (what the pipeline passes). */
      const size_t lens[2] = {len, (size_t)rate};
      for (int w = 0; w < 2; w++) {
        ck_assert_int_eq(stance_cond_spectrum_quality(f, a, lens[w], rate, &q, &err), 0);
        ck_assert_msg(q.mains_hz == hz[h], "series %d, %zu samples: mains %g Hz, expected %g", s,
                      lens[w], q.mains_hz, hz[h]);
        /* Amplitude: 2 % for the estimator (the Hann main lobe, +-2 bins, holds > 99.9 % of an
         * off-bin line's power; noise-free runs agree to 0.05 %) plus 4 standard errors of a
         * sine amplitude measured from m samples in white noise of RMS sigma, sigma sqrt(2 / m),
         * with sigma the noise floor: the noise under the line adds or removes power. */
        double tol = 0.02 * expected + 4.0 * q.noise_floor_n * sqrt(2.0 / (double)lens[w]);
        ck_assert_msg(fabs(q.mains_amp_n - expected) <= tol,
                      "series %d, %zu samples: hum %.3f N, expected %.3f N +- %.3f", s, lens[w],
                      q.mains_amp_n, expected, tol);
        ck_assert_double_gt(q.df_hz, 0.0);
        ck_assert_double_le(q.df_hz, 4.0);
      }

      /* Without mains: no hum, and the noise floor is the plates' noise: per cell 0.5 N and
       * 40 counts (x gain); the floor also holds sway above 1 Hz, so within -10 % / +30 %. */
      double *c = sim_force(clean, (StanceSel)s);
      ck_assert_int_eq(stance_cond_spectrum_quality(c, a, len, rate, &q, &err), 0);
      ck_assert_msg(q.mains_hz == 0.0, "series %d: hum %g Hz %.3f N found on a clean recording", s,
                    q.mains_hz, q.mains_amp_n);
      double var = 0;
      int c0 = s == STANCE_SEL_RIGHT ? 4 : 0, c1 = s == STANCE_SEL_LEFT ? 4 : 8;
      for (int cc = c0; cc < c1; cc++) {
        double adc = 40.0 * clean->calib.gain_n_per_count[cc];
        var += 0.25 + adc * adc;
      }
      double ratio = q.noise_floor_n / sqrt(var);
      ck_assert_msg(ratio >= 0.9 && ratio <= 1.3, "series %d: noise floor %.3f N, expected %.3f", s,
                    q.noise_floor_n, sqrt(var));
      free(f);
      free(g);
      free(c);
    }
    stance_recording_free(rec);
    stance_recording_free(clean);
  }
  /* Too short a stretch. */
  double x[500] = {0};
  StanceSpectrumQuality q;
  StanceError err = {0};
  expect_error(stance_cond_spectrum_quality(x, 0, 500, 1000, &q, &err), STANCE_ENODATA, &err,
               "half a second");
}
END_TEST

/* ---- residual analysis ---- */

START_TEST(test_residual_cutoff)
{
  /* A movement-like signal whose content ends at 4 Hz (1.5 Hz and 3.7 Hz components), plus white
   * noise, 1 kHz, 4 s. Winter's method must cut above the signal's band and below where the
   * noise dominates: a sensible band of 4-30 Hz. More noise must not raise the cutoff. */
  const double rate = 1000;
  const size_t n = 4000;
  double *x = alloc_d(n);
  const double sig[3] = {1.0, 3.0, 10.0};
  double prev = INFINITY;
  for (int s = 0; s < 3; s++) {
    Rng rng = {123};
    for (size_t i = 0; i < n; i++) {
      double t = (double)i / rate;
      x[i] = 700.0 + 300.0 * sin(2.0 * M_PI * 1.5 * t) + 120.0 * sin(2.0 * M_PI * 3.7 * t + 1.0) +
             sig[s] * rng_gauss(&rng);
    }
    double fc = 0;
    StanceError err = {0};
    ck_assert_int_eq(stance_cond_residual_cutoff(x, 0, n, rate, &fc, &err), 0);
    ck_assert_msg(fc >= 4.0 && fc <= 30.0, "noise %g N: cutoff %g Hz, expected 4-30 Hz", sig[s],
                  fc);
    ck_assert_msg(fc <= prev, "noise %g N: cutoff %g Hz rose above %g Hz", sig[s], fc, prev);
    prev = fc;
  }
  double fc;
  StanceError err = {0};
  expect_error(stance_cond_residual_cutoff(x, 0, 500, rate, &fc, &err), STANCE_ENODATA, &err,
               "half a second");
  expect_error(stance_cond_residual_cutoff(x, 0, n, 30.0, &fc, &err), STANCE_EINVAL, &err,
               "30 Hz rate");
  free(x);
}
END_TEST

/* ---- spikes ---- */

START_TEST(test_spikes_injected)
{
  /* Single-sample spikes of 40-300 N (either sign) injected into a simulated CMJ where the force
   * changes slowly (|slope| < 0.5 N/sample over 10 samples: standing, slow countermovement,
   * flight); the defaults must find every one and nothing else. On a ramp of slope s the
   * 11-sample window's MAD is 3 s, so the threshold k * 1.4826 * MAD is ~27 s: 13 N at
   * 0.5 N/sample plus the noise's share, below the 40 N spikes. Spikes on steep edges are out of
   * reach of any Hampel filter and are not asked for. */
  StanceRecording *rec;
  StanceSimTruth *truth;
  shared_cmj(&rec, &truth);
  size_t n = rec->n_samples;
  double *f = sim_force(rec, STANCE_SEL_TOTAL);
  uint8_t *sp = malloc(n), *want = calloc(n, 1);
  ck_assert(sp && want);
  Rng rng = {5};
  int injected = 0;
  while (injected < 25) {
    size_t i = 20 + (size_t)(rng_uniform(&rng) * (double)(n - 40));
    bool ok = true;
    for (size_t j = i - 12; j <= i + 12; j++)
      if (want[j])
        ok = false;
    for (size_t j = i - 6; j <= i + 6; j++)
      if (fabs(f[j + 5] - f[j - 5]) / 10.0 > 0.5)
        ok = false;
    if (!ok)
      continue;
    double a = 40.0 + 260.0 * rng_uniform(&rng);
    f[i] += rng_uniform(&rng) < 0.5 ? -a : a;
    want[i] = 1;
    injected++;
  }
  size_t ns = 0;
  StanceError err = {0};
  ck_assert_int_eq(stance_cond_spikes(f, NULL, n, 0, 0, 0, sp, &ns, &err), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(sp[i] == want[i], "sample %zu: spike %d, expected %d (f %.1f)", i, sp[i], want[i],
                  f[i]);
  ck_assert_uint_eq(ns, 25);

  /* Bad samples are never spikes, and a NaN there is never read. */
  uint8_t *bad = calloc(n, 1);
  ck_assert_ptr_nonnull(bad);
  size_t first = 0;
  while (!want[first])
    first++;
  bad[first] = 1;
  f[first] = NAN;
  ck_assert_int_eq(stance_cond_spikes(f, bad, n, 0, 0, 0, sp, &ns, &err), 0);
  ck_assert_uint_eq(ns, 24);
  ck_assert_int_eq(sp[first], 0);

  /* Arguments. */
  expect_error(stance_cond_spikes(f, bad, n, -1, 0, 0, sp, &ns, &err), STANCE_EINVAL, &err,
               "negative half window");
  expect_error(stance_cond_spikes(f, bad, n, 0, -2, 0, sp, &ns, &err), STANCE_EINVAL, &err,
               "negative k");
  expect_error(stance_cond_spikes(f, bad, n, 0, 0, NAN, sp, &ns, &err), STANCE_EINVAL, &err,
               "NaN min_dev");
  free(f);
  free(sp);
  free(want);
  free(bad);
  shared_cmj_done(rec, truth);
}
END_TEST

START_TEST(test_spikes_clean_jumps)
{
  /* Clean simulated jumps and hops: sharp takeoffs and landings (a monotone edge's median is its
   * own centre sample) and landing impacts (large MAD) give no spike with the defaults
   * (half window 5, k = 6, min_dev max(10 N, 10 x noise)), on each plate and on the sum. */
  const StanceProtocol protos[] = {STANCE_PROTO_CMJ, STANCE_PROTO_DJ, STANCE_PROTO_POGO};
  int nproto = under_valgrind() ? 1 : 3;
  for (int k = 0; k < nproto; k++) {
    StanceRecording *rec;
    StanceSimTruth *truth = NULL;
    if (protos[k] == STANCE_PROTO_CMJ) {
      shared_cmj(&rec, &truth);
    } else {
      StanceSimParams p = stance_test_sim_params(protos[k], 40 + (uint64_t)k);
      p.reps = 2;
      stance_test_sim_run(&p, &rec, NULL);
    }
    size_t n = rec->n_samples;
    uint8_t *sp = malloc(n);
    ck_assert_ptr_nonnull(sp);
    for (int s = 0; s < 3; s++) {
      double *f = sim_force(rec, (StanceSel)s);
      size_t ns = 99;
      StanceError err = {0};
      ck_assert_int_eq(stance_cond_spikes(f, NULL, n, 0, 0, 0, sp, &ns, &err), 0);
      ck_assert_msg(ns == 0, "%s series %d: %zu false spikes", stance_protocol_name(protos[k]), s,
                    ns);
      /* Without the minimum deviation the Hampel rule alone does flag noise: the floor is
       * what keeps a still plate clean. */
      if (s == STANCE_SEL_TOTAL) {
        ck_assert_int_eq(stance_cond_spikes(f, NULL, n, 0, 0, 1e-9, sp, &ns, &err), 0);
        ck_assert_uint_gt(ns, 0);
      }
      free(f);
    }
    free(sp);
    shared_cmj_done(rec, truth);
  }
}
END_TEST

START_TEST(test_spikes_real)
{
  /* shiny-vertical-jump long_1.csv (58 s, four jumps): the defaults flag exactly three samples,
   * each a single-sample dip of 11-14 N below both neighbours while the athlete stands still
   * (SD 1.6 N): glitches seen by eye in the data, not movement. */
  char *path = stance_test_data_path("shiny-vertical-jump/long_1.csv");
  StanceImportResult res;
  StanceError err = {0};
  ck_assert_msg(stance_import_text(path, NULL, &res, &err) == 0, "%s: %s", path, err.message);
  free(path);
  StanceRecording *rec = res.recs[0];
  size_t n = rec->n_samples;
  double *f = sim_force(rec, STANCE_SEL_TOTAL);
  uint8_t *sp = malloc(n);
  ck_assert_ptr_nonnull(sp);
  size_t ns = 0;
  ck_assert_int_eq(stance_cond_spikes(f, NULL, n, 0, 0, 0, sp, &ns, &err), 0);
  ck_assert_uint_eq(ns, 3);
  const size_t at[3] = {15837, 17712, 23087};
  for (int k = 0; k < 3; k++) {
    size_t i = at[k];
    ck_assert_msg(sp[i], "no spike at %zu", i);
    ck_assert_double_gt(f[i - 1] - f[i], 10.0);
    ck_assert_double_gt(f[i + 1] - f[i], 10.0);
  }
  free(f);
  free(sp);
  stance_import_result_clear(&res);
}
END_TEST

static Suite *
condition_suite(void)
{
  Suite *s = suite_create("condition");
  TCase *tc = tcase_create("filter");
  tcase_add_test(tc, test_lowpass_cutoff_is_3db);
  tcase_add_test(tc, test_lowpass_zero_phase_and_dc);
  tcase_add_test(tc, test_lowpass_bad_stretches);
  tcase_add_test(tc, test_lowpass_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("weigh");
  tcase_add_test(tc, test_weigh_hidden_window);
  tcase_add_test(tc, test_weigh_no_still);
  tcase_add_test(tc, test_weigh_errors);
  tcase_add_test(tc, test_weigh_plateforce);
  tcase_add_test(tc, test_weigh_shiny);
  tcase_add_test(tc, test_unloaded_synthetic);
  tcase_add_test(tc, test_unloaded_sim_flight);
  suite_add_tcase(s, tc);
  tc = tcase_create("spectrum");
  tcase_add_test(tc, test_welch_sine_noise);
  tcase_add_test(tc, test_welch_threads);
  tcase_add_test(tc, test_spectrum_mains);
  tcase_add_test(tc, test_residual_cutoff);
  suite_add_tcase(s, tc);
  tc = tcase_create("spikes");
  tcase_add_test(tc, test_spikes_injected);
  tcase_add_test(tc, test_spikes_clean_jumps);
  tcase_add_test(tc, test_spikes_real);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  int status = stance_test_run(condition_suite());
  stance_recording_free(cmj_cached);
  stance_sim_truth_free(cmj_cached_truth);
  return status;
}
