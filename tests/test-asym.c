/* Tests of the asymmetry formulas (stance-asym.c), the reliability statistics (stance-reliab.c)
 * and the session summary (stance-summary.c), against values computed by hand (the arithmetic is
 * in the comments) and against the shiny-vertical-jump app's committed outputs.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-analysis.h"
#include "stance-asym.h"
#include "stance-reliab.h"
#include "stance-test.h"

/* Hand-computed values are exact to ~1e-15 relative; 1e-9 leaves room for the last bits of
 * libm's atan/log without hiding a wrong formula (the smallest formula difference tested below
 * is many orders larger). */
#define TOL 1e-9

static double
asym_ok(StanceAsymFormula f, double l, double r, StanceSide involved, StanceSide *stronger)
{
  StanceError err = {0};
  double v = -12345.0;
  StanceSide s = (StanceSide)-1;
  int rc = stance_asym_compute(f, l, r, involved, &v, &s, &err);
  ck_assert_msg(rc == STANCE_OK, "%s(%g, %g): %s", stance_asym_formula_name(f), l, r, err.message);
  ck_assert(isfinite(v));
  if (stronger)
    *stronger = s;
  return v;
}

/* Checks a refusal: STANCE_ERANGE, a message naming the values, outputs untouched. */
static void
asym_refused(StanceAsymFormula f, double l, double r, StanceSide involved, const char *why)
{
  StanceError err = {0};
  double v = -12345.0;
  StanceSide s = (StanceSide)7;
  int rc = stance_asym_compute(f, l, r, involved, &v, &s, &err);
  ck_assert_msg(rc == STANCE_ERANGE, "%s(%g, %g) gave %d, expected STANCE_ERANGE",
                stance_asym_formula_name(f), l, r, rc);
  ck_assert_int_eq(err.code, STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, stance_asym_formula_name(f)), "message: %s", err.message);
  ck_assert_msg(strstr(err.message, "L = ") && strstr(err.message, "R = "), "message: %s",
                err.message);
  ck_assert_msg(strstr(err.message, why), "message '%s' lacks '%s'", err.message, why);
  ck_assert(v == -12345.0);
  ck_assert_int_eq((int)s, 7);
}

/* ---- Asymmetry formulas ---- */

START_TEST(test_lr_mean_shiny)
{
  /* shiny-vertical-jump, ref_2019-11-08_cmj_analysis.csv row 1 (= single_trial.csv):
   * Peak Force SI: FP1 (left) 989.14, FP2 (right) 970.59 N.
   *   L - R = 18.55; mean = (989.14 + 970.59) / 2 = 1959.73 / 2 = 979.865;
   *   18.55 / 979.865 * 100 = 1.89311792951069 % (the app's committed value). */
  StanceSide s;
  ck_assert_near(asym_ok(STANCE_ASYM_LR_MEAN, 989.14, 970.59, STANCE_SIDE_BOTH, &s),
                 1.89311792951069, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  /* Net Impulse SI: FP1 93.3782034, FP2 112.76652134 N.s.
   *   L - R = -19.38831794; mean = 206.14472474 / 2 = 103.07236237;
   *   -19.38831794 / 103.07236237 * 100 = -18.8103944589933 % (committed value). */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_MEAN, 93.3782034, 112.76652134, STANCE_SIDE_BOTH, &s),
                 -18.8103944589933, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  /* The app's "SI" is our lr_mean, by name too. */
  StanceAsymFormula f = STANCE_ASYM_DEFAULT;
  ck_assert(stance_asym_formula_from_name("SI", &f));
  ck_assert_int_eq(f, STANCE_ASYM_LR_MEAN);
  /* And it is twice lr_sum: (L - R) / (L + R) * 100 = 18.55 / 1959.73 * 100 = 0.946558964755 %.
   * (The app's README says lr_sum; its outputs say lr_mean: this is the difference.) */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, 989.14, 970.59, STANCE_SIDE_BOTH, NULL),
                 1.89311792951069 / 2.0, TOL);
}
END_TEST

START_TEST(test_pct_diff)
{
  StanceSide s;
  /* Bishop 2018: (stronger - weaker) / stronger * 100.
   * L 80, R 100: (100 - 80) / 100 * 100 = 20 %, right stronger. */
  ck_assert_near(asym_ok(STANCE_ASYM_PCT_DIFF, 80.0, 100.0, STANCE_SIDE_BOTH, &s), 20.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  /* L 150, R 120: (150 - 120) / 150 * 100 = 20 %, left stronger: never negative. */
  ck_assert_near(asym_ok(STANCE_ASYM_PCT_DIFF, 150.0, 120.0, STANCE_SIDE_BOTH, &s), 20.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  /* L 1500, R 1300: 200 / 1500 * 100 = 13.3333333333333 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_PCT_DIFF, 1500.0, 1300.0, STANCE_SIDE_BOTH, NULL), 40.0 / 3.0,
                 TOL);
  /* The involved limb changes nothing here. */
  ck_assert_near(asym_ok(STANCE_ASYM_PCT_DIFF, 80.0, 100.0, STANCE_SIDE_LEFT, NULL), 20.0, TOL);
  /* A zero limb: (50 - 0) / 50 * 100 = 100 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_PCT_DIFF, 0.0, 50.0, STANCE_SIDE_BOTH, &s), 100.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
}
END_TEST

START_TEST(test_lr_sum)
{
  StanceSide s;
  /* (L - R) / (L + R) * 100. L 110, R 90: 20 / 200 * 100 = 10 %; swapped: -10 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, 110.0, 90.0, STANCE_SIDE_BOTH, &s), 10.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, 90.0, 110.0, STANCE_SIDE_BOTH, &s), -10.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  /* L 1000, R 900: 100 / 1900 * 100 = 5.26315789473684 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, 1000.0, 900.0, STANCE_SIDE_BOTH, NULL), 100.0 / 19.0,
                 TOL);
  /* L 0, R 50: -50 / 50 * 100 = -100 % (the bound). */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, 0.0, 50.0, STANCE_SIDE_BOTH, NULL), -100.0, TOL);
  /* Huge values do not overflow L + R into infinity (which would silently give 0):
   * L = DBL_MAX, R = DBL_MAX / 2: (1/2) / (3/2) * 100 = 33.3333333333333 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_SUM, DBL_MAX, DBL_MAX / 2.0, STANCE_SIDE_BOTH, NULL),
                 100.0 / 3.0, TOL);
  /* Same for lr_mean: (1/2) / (3/4) * 100 = 66.6666666666667 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LR_MEAN, DBL_MAX, DBL_MAX / 2.0, STANCE_SIDE_BOTH, NULL),
                 200.0 / 3.0, TOL);
}
END_TEST

START_TEST(test_lsi)
{
  StanceSide s;
  /* Involved left (operated knee), L 85, R 100: involved / uninvolved * 100 = 85 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LSI, 85.0, 100.0, STANCE_SIDE_LEFT, &s), 85.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  /* Involved right with the same values: 100 / 85 * 100 = 117.647058823529 % (the involved
   * limb is the stronger one: LSI above 100, not folded). */
  ck_assert_near(asym_ok(STANCE_ASYM_LSI, 85.0, 100.0, STANCE_SIDE_RIGHT, NULL), 2000.0 / 17.0,
                 TOL);
  /* No involved limb: weaker / stronger * 100 = 85 / 100 * 100 = 85 %, either way round. */
  ck_assert_near(asym_ok(STANCE_ASYM_LSI, 85.0, 100.0, STANCE_SIDE_BOTH, NULL), 85.0, TOL);
  ck_assert_near(asym_ok(STANCE_ASYM_LSI, 100.0, 85.0, STANCE_SIDE_BOTH, &s), 85.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  /* Involved limb produced nothing: 0 / 120 * 100 = 0 %. */
  ck_assert_near(asym_ok(STANCE_ASYM_LSI, 0.0, 120.0, STANCE_SIDE_LEFT, NULL), 0.0, TOL);
  /* Uninvolved limb zero: no ratio. */
  asym_refused(STANCE_ASYM_LSI, 120.0, 0.0, STANCE_SIDE_LEFT, "uninvolved (right) value is zero");
  asym_refused(STANCE_ASYM_LSI, 0.0, 120.0, STANCE_SIDE_RIGHT, "uninvolved (left) value is zero");
}
END_TEST

START_TEST(test_sym_angle)
{
  StanceSide s;
  /* Zifchock 2008: SA = (45 deg - atan(L/R)) / 90 deg * 100; ours has the sign turned
   * (+ = left larger): (atan(L/R) - 45) / 90 * 100. Angles with exact tangents:
   *   L/R = sqrt(3): atan = 60 deg -> (60 - 45) / 90 * 100 = 16.6666666666667 %
   *   L/R = 1/sqrt(3): atan = 30 deg -> (30 - 45) / 90 * 100 = -16.6666666666667 %
   *   L/R = 1 + sqrt(2) = tan(67.5 deg) -> (67.5 - 45) / 90 * 100 = 25 %
   *   L/R = 1: atan = 45 deg -> 0. */
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 100.0 * sqrt(3.0), 100.0, STANCE_SIDE_BOTH, &s),
                 50.0 / 3.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 100.0, 100.0 * sqrt(3.0), STANCE_SIDE_BOTH, &s),
                 -50.0 / 3.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 1.0 + sqrt(2.0), 1.0, STANCE_SIDE_BOTH, NULL), 25.0,
                 TOL);
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 700.0, 700.0, STANCE_SIDE_BOTH, &s), 0.0, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_BOTH);
  /* Zifchock's point: unlike lr_mean, the angle does not depend on which limb is the reference,
   * SA(L, R) = -SA(R, L); with L 120, R 100: atan(1.2) = 50.1944289077348 deg, so
   * (50.1944289077348 - 45) / 90 * 100 = 5.7715876752609 % (atan from a table, 13 digits). */
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 120.0, 100.0, STANCE_SIDE_BOTH, NULL),
                 5.7715876752609, 1e-9);
  ck_assert_near(asym_ok(STANCE_ASYM_SYM_ANGLE, 100.0, 120.0, STANCE_SIDE_BOTH, NULL),
                 -5.7715876752609, 1e-9);
  /* Bounded by +-50 %: a tiny right value tends to +50. */
  double v = asym_ok(STANCE_ASYM_SYM_ANGLE, 1e6, 1e-6, STANCE_SIDE_BOTH, NULL);
  ck_assert(v < 50.0 && v > 49.999);
  asym_refused(STANCE_ASYM_SYM_ANGLE, 100.0, 0.0, STANCE_SIDE_BOTH, "needs L > 0 and R > 0");
  asym_refused(STANCE_ASYM_SYM_ANGLE, 0.0, 100.0, STANCE_SIDE_BOTH, "needs L > 0 and R > 0");
}
END_TEST

START_TEST(test_log_ratio)
{
  StanceSide s;
  /* ln(L / R) * 100. L = 2 R: ln 2 * 100 = 69.3147180559945 %; L = R / 2: -69.3147180559945;
   * L = e R: 100 %; L = R: 0. */
  ck_assert_near(asym_ok(STANCE_ASYM_LOG_RATIO, 200.0, 100.0, STANCE_SIDE_BOTH, &s),
                 69.3147180559945, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_LEFT);
  ck_assert_near(asym_ok(STANCE_ASYM_LOG_RATIO, 50.0, 100.0, STANCE_SIDE_BOTH, &s),
                 -69.3147180559945, TOL);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  ck_assert_near(asym_ok(STANCE_ASYM_LOG_RATIO, M_E * 10.0, 10.0, STANCE_SIDE_BOTH, NULL), 100.0,
                 TOL);
  ck_assert_near(asym_ok(STANCE_ASYM_LOG_RATIO, 3.5, 3.5, STANCE_SIDE_BOTH, NULL), 0.0, TOL);
  asym_refused(STANCE_ASYM_LOG_RATIO, 0.0, 100.0, STANCE_SIDE_BOTH, "needs L > 0 and R > 0");
  asym_refused(STANCE_ASYM_LOG_RATIO, 100.0, 0.0, STANCE_SIDE_BOTH, "needs L > 0 and R > 0");
  /* L / R overflows to infinity: refused, not reported as inf. */
  asym_refused(STANCE_ASYM_LOG_RATIO, DBL_MAX, DBL_MIN, STANCE_SIDE_BOTH, "not finite");
}
END_TEST

START_TEST(test_undefined_refused)
{
  for (int f = STANCE_ASYM_LSI; f < STANCE_ASYM_COUNT; f++) {
    asym_refused((StanceAsymFormula)f, 0.0, 0.0, STANCE_SIDE_BOTH, "both values are zero");
    asym_refused((StanceAsymFormula)f, -10.0, 100.0, STANCE_SIDE_BOTH, "need L >= 0 and R >= 0");
    asym_refused((StanceAsymFormula)f, 100.0, -10.0, STANCE_SIDE_BOTH, "need L >= 0 and R >= 0");
    asym_refused((StanceAsymFormula)f, NAN, 100.0, STANCE_SIDE_BOTH, "must be finite");
    asym_refused((StanceAsymFormula)f, 100.0, INFINITY, STANCE_SIDE_BOTH, "must be finite");
  }
  /* The message quotes the values. */
  StanceError err = {0};
  double v;
  StanceSide s;
  ck_assert_int_eq(
      stance_asym_compute(STANCE_ASYM_PCT_DIFF, -12.5, 40.0, STANCE_SIDE_BOTH, &v, &s, &err),
      STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "L = -12.5, R = 40"), "%s", err.message);
  /* DEFAULT (or garbage) is not a formula to compute with. */
  stance_error_clear(&err);
  ck_assert_int_eq(
      stance_asym_compute(STANCE_ASYM_DEFAULT, 1.0, 2.0, STANCE_SIDE_BOTH, &v, &s, &err),
      STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "stance_asym_default"), "%s", err.message);
  ck_assert_int_eq(stance_asym_compute(STANCE_ASYM_COUNT, 1.0, 2.0, STANCE_SIDE_BOTH, &v, &s, NULL),
                   STANCE_EINVAL);
  /* NULL outputs and error are allowed. */
  ck_assert_int_eq(
      stance_asym_compute(STANCE_ASYM_LR_SUM, 0.0, 0.0, STANCE_SIDE_BOTH, NULL, NULL, NULL),
      STANCE_ERANGE);
}
END_TEST

START_TEST(test_stronger_and_ties)
{
  /* Equal values: stronger BOTH, and each formula gives its "symmetric" value. */
  const double sym[STANCE_ASYM_COUNT] = {
      [STANCE_ASYM_LSI] = 100.0,   [STANCE_ASYM_PCT_DIFF] = 0.0,  [STANCE_ASYM_LR_SUM] = 0.0,
      [STANCE_ASYM_LR_MEAN] = 0.0, [STANCE_ASYM_SYM_ANGLE] = 0.0, [STANCE_ASYM_LOG_RATIO] = 0.0,
  };
  for (int f = STANCE_ASYM_LSI; f < STANCE_ASYM_COUNT; f++) {
    StanceSide s = STANCE_SIDE_LEFT;
    ck_assert_near(asym_ok((StanceAsymFormula)f, 812.5, 812.5, STANCE_SIDE_BOTH, &s), sym[f], TOL);
    ck_assert_int_eq(s, STANCE_SIDE_BOTH);
    /* One ulp apart is no longer a tie: the larger value wins. */
    asym_ok((StanceAsymFormula)f, nextafter(812.5, 1e9), 812.5, STANCE_SIDE_BOTH, &s);
    ck_assert_int_eq(s, STANCE_SIDE_LEFT);
    asym_ok((StanceAsymFormula)f, 812.5, nextafter(812.5, 1e9), STANCE_SIDE_BOTH, &s);
    ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  }
  /* LSI with an involved limb keeps "stronger" = larger value, independent of the involved
   * limb: L 85 (involved), R 100 -> stronger RIGHT. */
  StanceSide s;
  asym_ok(STANCE_ASYM_LSI, 85.0, 100.0, STANCE_SIDE_LEFT, &s);
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  /* Signed formulas: the sign agrees with the stronger limb. */
  for (int f = STANCE_ASYM_LR_SUM; f < STANCE_ASYM_COUNT; f++) {
    ck_assert(asym_ok((StanceAsymFormula)f, 3.0, 2.0, STANCE_SIDE_BOTH, &s) > 0.0);
    ck_assert_int_eq(s, STANCE_SIDE_LEFT);
    ck_assert(asym_ok((StanceAsymFormula)f, 2.0, 3.0, STANCE_SIDE_BOTH, &s) < 0.0);
    ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  }
}
END_TEST

START_TEST(test_names)
{
  const char *names[STANCE_ASYM_COUNT] = {"default", "lsi",       "pct_diff", "lr_sum",
                                          "lr_mean", "sym_angle", "log_ratio"};
  for (int f = 0; f < STANCE_ASYM_COUNT; f++) {
    ck_assert_str_eq(stance_asym_formula_name((StanceAsymFormula)f), names[f]);
    StanceAsymFormula out = STANCE_ASYM_COUNT;
    ck_assert(stance_asym_formula_from_name(names[f], &out));
    ck_assert_int_eq(out, f);
    /* Every formula has its own text. */
    const char *t = stance_asym_formula_text((StanceAsymFormula)f);
    ck_assert(t && *t);
    for (int g = 0; g < f; g++)
      ck_assert_str_ne(t, stance_asym_formula_text((StanceAsymFormula)g));
  }
  ck_assert_str_eq(stance_asym_formula_text(STANCE_ASYM_PCT_DIFF),
                   "(stronger - weaker) / stronger * 100");
  ck_assert_str_eq(stance_asym_formula_text(STANCE_ASYM_LR_SUM), "(L - R) / (L + R) * 100");
  ck_assert_str_eq(stance_asym_formula_name(STANCE_ASYM_COUNT), "unknown");
  ck_assert_str_eq(stance_asym_formula_name((StanceAsymFormula)-1), "unknown");

  /* Dashes, any case, aliases. */
  const struct {
    const char *name;
    StanceAsymFormula f;
  } ok[] = {
      {"PCT-DIFF", STANCE_ASYM_PCT_DIFF},
      {"Percent-Difference", STANCE_ASYM_PCT_DIFF},
      {"percent_difference", STANCE_ASYM_PCT_DIFF},
      {"bishop", STANCE_ASYM_PCT_DIFF},
      {"BISHOP", STANCE_ASYM_PCT_DIFF},
      {"si", STANCE_ASYM_LR_MEAN},
      {"lr-mean", STANCE_ASYM_LR_MEAN},
      {"Zifchock", STANCE_ASYM_SYM_ANGLE},
      {"sym-angle", STANCE_ASYM_SYM_ANGLE},
      {"Log-Ratio", STANCE_ASYM_LOG_RATIO},
      {"LSI", STANCE_ASYM_LSI},
      {"lr-sum", STANCE_ASYM_LR_SUM},
      {"Default", STANCE_ASYM_DEFAULT},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    StanceAsymFormula out = STANCE_ASYM_COUNT;
    ck_assert_msg(stance_asym_formula_from_name(ok[i].name, &out), "%s", ok[i].name);
    ck_assert_int_eq(out, ok[i].f);
  }
  const char *bad[] = {
      "",        "pct",     "lsi ",     " lsi",
      "percent", "lr_sum_", "symmetry", "a-very-long-name-that-is-not-a-formula-at-all"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    StanceAsymFormula out = STANCE_ASYM_LOG_RATIO;
    ck_assert_msg(!stance_asym_formula_from_name(bad[i], &out), "'%s' accepted", bad[i]);
    ck_assert_int_eq(out, STANCE_ASYM_LOG_RATIO); /* untouched */
  }
  ck_assert(!stance_asym_formula_from_name(NULL, NULL));
}
END_TEST

START_TEST(test_defaults)
{
  /* Bilateral tests: lr_sum. */
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_CMJ, STANCE_SIDE_BOTH), STANCE_ASYM_LR_SUM);
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_BACK_SQUAT, STANCE_SIDE_BOTH),
                   STANCE_ASYM_LR_SUM);
  /* IMTP may be single-leg but does not need a side: lr_sum. */
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_IMTP, STANCE_SIDE_BOTH), STANCE_ASYM_LR_SUM);
  /* Unilateral and split-stance tests: pct_diff. */
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_SL_CMJ, STANCE_SIDE_BOTH),
                   STANCE_ASYM_PCT_DIFF);
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_SPLIT_SQUAT, STANCE_SIDE_BOTH),
                   STANCE_ASYM_PCT_DIFF);
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_SL_BALANCE, STANCE_SIDE_BOTH),
                   STANCE_ASYM_PCT_DIFF);
  /* An involved limb: LSI whatever the protocol. */
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_CMJ, STANCE_SIDE_LEFT), STANCE_ASYM_LSI);
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_SL_HOP, STANCE_SIDE_RIGHT), STANCE_ASYM_LSI);
  /* Unknown protocol: treated as bilateral. */
  ck_assert_int_eq(stance_asym_default(STANCE_PROTO_UNKNOWN, STANCE_SIDE_BOTH), STANCE_ASYM_LR_SUM);
  /* Every protocol follows the rule through its needs_side. */
  for (int p = 1; p < STANCE_PROTO_COUNT; p++) {
    const StanceProtocolInfo *info = stance_protocol_info((StanceProtocol)p);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(stance_asym_default((StanceProtocol)p, STANCE_SIDE_BOTH),
                     info->needs_side ? STANCE_ASYM_PCT_DIFF : STANCE_ASYM_LR_SUM);
    ck_assert_int_eq(stance_asym_default((StanceProtocol)p, STANCE_SIDE_LEFT), STANCE_ASYM_LSI);
  }
}
END_TEST

/* ---- Reliability ---- */

START_TEST(test_stats)
{
  /* {10, 12, 14, 16, 18}: mean 70 / 5 = 14; deviations -4 -2 0 2 4, squares sum 40;
   * SD = sqrt(40 / 4) = sqrt(10) = 3.16227766016838; CV = 3.16227766016838 / 14 * 100 =
   * 22.5876975726313 %. */
  const double v[] = {10, 12, 14, 16, 18};
  StanceReliabStats s;
  StanceError err = {0};
  ck_assert_int_eq(stance_reliab_stats(v, 5, &s, &err), STANCE_OK);
  ck_assert_uint_eq(s.n, 5);
  ck_assert_near(s.mean, 14.0, TOL);
  ck_assert(s.has_sd && s.has_cv);
  ck_assert_near(s.sd, 3.16227766016838, TOL);
  ck_assert_near(s.cv_pct, 22.5876975726313, TOL);

  /* Forces close together: {1000.1, 1000.2, 1000.3}: deviations -0.1 0 0.1, SD = sqrt(0.02 / 2)
   * = 0.1 exactly; the two-pass SD keeps it to 1e-9 N. CV = 0.1 / 1000.2 * 100 =
   * 0.00999800039992 %. */
  const double f[] = {1000.1, 1000.2, 1000.3};
  ck_assert_int_eq(stance_reliab_stats(f, 3, &s, &err), STANCE_OK);
  ck_assert_near(s.sd, 0.1, 1e-9);
  ck_assert_near(s.cv_pct, 0.00999800039992, 1e-12);

  /* One value: mean only. */
  ck_assert_int_eq(stance_reliab_stats(v + 2, 1, &s, &err), STANCE_OK);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_near(s.mean, 14.0, TOL);
  ck_assert(!s.has_sd && !s.has_cv);

  /* Mean zero: SD = sqrt((1 + 1) / 1) = sqrt 2, no CV. */
  const double z[] = {-1.0, 1.0};
  ck_assert_int_eq(stance_reliab_stats(z, 2, &s, &err), STANCE_OK);
  ck_assert_near(s.sd, sqrt(2.0), TOL);
  ck_assert(s.has_sd && !s.has_cv);

  /* CV uses |mean|: {-10, -12, -14, -16, -18} has the same CV as above. */
  const double neg[] = {-10, -12, -14, -16, -18};
  ck_assert_int_eq(stance_reliab_stats(neg, 5, &s, &err), STANCE_OK);
  ck_assert_near(s.cv_pct, 22.5876975726313, TOL);

  /* Too few and bad values. */
  ck_assert_int_eq(stance_reliab_stats(v, 0, &s, &err), STANCE_ENODATA);
  ck_assert_msg(strstr(err.message, "at least 1"), "%s", err.message);
  const double bad[] = {1.0, NAN, 3.0};
  ck_assert_int_eq(stance_reliab_stats(bad, 3, &s, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "value[1]"), "%s", err.message);
}
END_TEST

START_TEST(test_te_paired)
{
  /* Session 1 {100, 102, 98, 101}, session 2 {103, 101, 100, 105}: differences 3 -1 2 4, mean 2,
   * deviations 1 -3 0 2, squares sum 14, SD = sqrt(14 / 3) = 2.16024689946929;
   * TE = SD / sqrt 2 = sqrt(7 / 3) = 1.52752523165195. */
  const double a[] = {100, 102, 98, 101};
  const double b[] = {103, 101, 100, 105};
  double te = -1.0;
  StanceError err = {0};
  ck_assert_int_eq(stance_reliab_te_paired(a, b, 4, &te, &err), STANCE_OK);
  ck_assert_near(te, 1.52752523165195, TOL);
  /* A constant shift between sessions is not error: TE 0. */
  const double c[] = {105, 107, 103, 106};
  ck_assert_int_eq(stance_reliab_te_paired(a, c, 4, &te, &err), STANCE_OK);
  ck_assert_near(te, 0.0, 1e-12);
  ck_assert_int_eq(stance_reliab_te_paired(a, b, 1, &te, &err), STANCE_ENODATA);
  ck_assert_msg(strstr(err.message, "at least 2"), "%s", err.message);
  const double bad[] = {103, INFINITY, 100, 105};
  ck_assert_int_eq(stance_reliab_te_paired(a, bad, 4, &te, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "b[1]"), "%s", err.message);
}
END_TEST

START_TEST(test_te_pooled)
{
  /* Session 0 {10, 12, 14}: mean 12, squares 4 + 0 + 4 = 8, df 2 (variance 4);
   * session 1 {20, 23}: mean 21.5, squares 2.25 + 2.25 = 4.5, df 1 (variance 4.5);
   * session 2 {30}: df 0, adds nothing.
   * Pooled variance = (8 + 4.5) / (2 + 1) = (2 * 4 + 1 * 4.5) / 3 = 4.16666666666667;
   * TE = sqrt(12.5 / 3) = 2.04124145231932. The values are interleaved on purpose. */
  const double v[] = {10, 20, 12, 30, 23, 14};
  const int s[] = {0, 1, 0, 2, 1, 0};
  double te = -1.0;
  StanceError err = {0};
  ck_assert_int_eq(stance_reliab_te_pooled(v, s, 6, 3, &te, &err), STANCE_OK);
  ck_assert_near(te, 2.04124145231932, TOL);
  /* Sessions at different levels: the pooled within-session SD ignores the level (a plain SD of
   * all six values would be 7.8 here). */
  ck_assert(te < 3.0);

  /* Only one-value sessions: nothing to pool. */
  const int each[] = {0, 1, 2};
  ck_assert_int_eq(stance_reliab_te_pooled(v, each, 3, 3, &te, &err), STANCE_ENODATA);
  ck_assert_msg(strstr(err.message, "at least 2 values"), "%s", err.message);
  /* A session index out of range, no sessions. */
  const int oob[] = {0, 3};
  ck_assert_int_eq(stance_reliab_te_pooled(v, oob, 2, 3, &te, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "expected 0..2"), "%s", err.message);
  ck_assert_int_eq(stance_reliab_te_pooled(v, s, 6, 0, &te, &err), STANCE_EINVAL);
}
END_TEST

START_TEST(test_swc_mdc)
{
  /* Session means {100, 104, 96, 100}: mean 100, squares 0 + 16 + 16 + 0 = 32,
   * SD = sqrt(32 / 3) = 3.26598632371090; SWC = 0.2 * SD = 0.653197264742181;
   * factor 0.5: 1.63299316185545. */
  const double m[] = {100, 104, 96, 100};
  double swc = -1.0;
  StanceError err = {0};
  ck_assert_int_eq(stance_reliab_swc(m, 4, 0.2, &swc, &err), STANCE_OK);
  ck_assert_near(swc, 0.653197264742181, TOL);
  ck_assert_int_eq(stance_reliab_swc(m, 4, 0.0, &swc, &err), STANCE_OK); /* 0: default 0.2 */
  ck_assert_near(swc, 0.653197264742181, TOL);
  ck_assert_int_eq(stance_reliab_swc(m, 4, 0.5, &swc, &err), STANCE_OK);
  ck_assert_near(swc, 1.63299316185545, TOL);
  ck_assert_int_eq(stance_reliab_swc(m, 1, 0.2, &swc, &err), STANCE_ENODATA);
  ck_assert_msg(strstr(err.message, "at least 2 session means"), "%s", err.message);
  ck_assert_int_eq(stance_reliab_swc(m, 4, -0.2, &swc, &err), STANCE_EINVAL);

  /* MDC95 = 1.96 * sqrt 2 * SEM. SEM = sqrt(7/3) = 1.52752523165195 (the paired TE above):
   * 1.96 * 1.41421356237310 * 1.52752523165195 = 2.77185858225127 * 1.52752523165195 =
   * 4.23408392295980. */
  double mdc = -1.0;
  ck_assert_int_eq(stance_reliab_mdc95(1.52752523165195, &mdc, &err), STANCE_OK);
  ck_assert_near(mdc, 4.23408392295980, TOL);
  ck_assert_int_eq(stance_reliab_mdc95(0.0, &mdc, &err), STANCE_OK);
  ck_assert_near(mdc, 0.0, 0.0);
  ck_assert_int_eq(stance_reliab_mdc95(-1.0, &mdc, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, ">= 0"), "%s", err.message);
  ck_assert_int_eq(stance_reliab_mdc95(NAN, &mdc, &err), STANCE_ERANGE);
}
END_TEST

START_TEST(test_direction)
{
  double pct = -1.0;
  int dom = -1;
  StanceError err = {0};
  /* L L R L: left in 3 of 4 = 75 %. */
  const int a[] = {1, 1, 2, 1};
  ck_assert_int_eq(stance_reliab_direction(a, 4, &pct, &dom, &err), STANCE_OK);
  ck_assert_int_eq(dom, STANCE_SIDE_LEFT);
  ck_assert_near(pct, 75.0, TOL);
  /* R R R: 100 % right. */
  const int b[] = {2, 2, 2};
  ck_assert_int_eq(stance_reliab_direction(b, 3, &pct, &dom, &err), STANCE_OK);
  ck_assert_int_eq(dom, STANCE_SIDE_RIGHT);
  ck_assert_near(pct, 100.0, TOL);
  /* L R: a tie, no dominant limb, 50 %. */
  const int c[] = {1, 2};
  ck_assert_int_eq(stance_reliab_direction(c, 2, &pct, &dom, &err), STANCE_OK);
  ck_assert_int_eq(dom, STANCE_SIDE_BOTH);
  ck_assert_near(pct, 50.0, TOL);
  /* L, even, even: left dominant in 1 of 3 = 33.3333333333333 % (even trials count against). */
  const int d[] = {1, 0, 0};
  ck_assert_int_eq(stance_reliab_direction(d, 3, &pct, &dom, &err), STANCE_OK);
  ck_assert_int_eq(dom, STANCE_SIDE_LEFT);
  ck_assert_near(pct, 100.0 / 3.0, TOL);
  /* Every trial exactly even: both, 100 %. */
  const int e[] = {0, 0};
  ck_assert_int_eq(stance_reliab_direction(e, 2, &pct, &dom, &err), STANCE_OK);
  ck_assert_int_eq(dom, STANCE_SIDE_BOTH);
  ck_assert_near(pct, 100.0, TOL);
  /* Errors. */
  ck_assert_int_eq(stance_reliab_direction(a, 0, &pct, &dom, &err), STANCE_ENODATA);
  ck_assert_msg(strstr(err.message, "at least 1"), "%s", err.message);
  const int bad[] = {1, 3};
  ck_assert_int_eq(stance_reliab_direction(bad, 2, &pct, &dom, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "trial 1"), "%s", err.message);
}
END_TEST

/* ---- Summary ---- */

static StanceTrial *
add_trial(StanceAnalysis *a, StanceSide side)
{
  double t0 = (double)a->n_trials * 10.0;
  StanceTrial *t = stance_analysis_add_trial(a, "jump", t0, t0 + 5.0);
  ck_assert_ptr_nonnull(t);
  t->side = side;
  return t;
}

/* Adds a metric; NAN leaves a slot absent. */
static StanceMetric *
add_metric(StanceTrial *t, const char *id, const char *unit, double l, double r, double tot)
{
  StanceMetric *m = stance_trial_add_metric(t, id, unit, "test.hand");
  ck_assert_ptr_nonnull(m);
  if (!isnan(l))
    stance_metric_set(m, STANCE_SEL_LEFT, l);
  if (!isnan(r))
    stance_metric_set(m, STANCE_SEL_RIGHT, r);
  if (!isnan(tot))
    stance_metric_set(m, STANCE_SEL_TOTAL, tot);
  return m;
}

static const StanceSummaryMetric *
summary(const StanceAnalysis *a, const char *id)
{
  const StanceSummaryMetric *s = stance_analysis_summary(a, id);
  ck_assert_msg(s != NULL, "no summary for %s", id);
  return s;
}

/* Three bilateral CMJs with lr_sum (the analysis' default formula). */
static StanceAnalysis *
bilateral(void)
{
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  a->protocol = STANCE_PROTO_CMJ;
  a->formula = STANCE_ASYM_LR_SUM;
  a->involved = STANCE_SIDE_BOTH;
  StanceTrial *t = add_trial(a, STANCE_SIDE_BOTH);
  add_metric(t, "peak_force", "N", 1000, 900, 1900);
  add_metric(t, "net_impulse", "N.s", 100, 110, 210);
  add_metric(t, "rfd_0_50", "N/s", 0, 0, 0);
  add_metric(t, "peak_offset", "s", 0.010, 0.012, NAN)->no_asym = true;
  t = add_trial(a, STANCE_SIDE_BOTH);
  add_metric(t, "peak_force", "N", 1100, 1000, 2100);
  add_metric(t, "jump_height_impulse", "m", NAN, NAN, 0.35);
  add_metric(t, "net_impulse", "N.s", 105, NAN, 215); /* right absent */
  add_metric(t, "rfd_0_50", "N/s", 0, 0, 0);
  t = add_trial(a, STANCE_SIDE_BOTH);
  add_metric(t, "net_impulse", "N.s", 95, 100, 195);
  add_metric(t, "peak_force", "N", 950, 1000, 1950);
  return a;
}

START_TEST(test_summary_bilateral)
{
  StanceAnalysis *a = bilateral();
  stance_analysis_compute_asymmetry(a);

  /* Per trial: lr_sum of trial 1 peak force = (1000 - 900) / 1900 * 100 = 5.26315789473684 %. */
  const StanceMetric *m = stance_trial_metric(&a->trials[0], "peak_force");
  ck_assert(m->has_asym);
  ck_assert_str_eq(m->asym.formula_id, "lr_sum");
  ck_assert_near(m->asym.value, 100.0 / 19.0, TOL);
  ck_assert_int_eq(m->asym.stronger, STANCE_SIDE_LEFT);
  ck_assert_int_eq(m->asym.involved, STANCE_SIDE_BOTH);
  /* Trial 3: (950 - 1000) / 1950 * 100 = -2.56410256410256 %, right stronger. */
  m = stance_trial_metric(&a->trials[2], "peak_force");
  ck_assert(m->has_asym);
  ck_assert_near(m->asym.value, -50.0 / 19.5, TOL);
  ck_assert_int_eq(m->asym.stronger, STANCE_SIDE_RIGHT);
  /* No right value, both zero, no_asym, total only: no asymmetry. */
  ck_assert(!stance_trial_metric(&a->trials[1], "net_impulse")->has_asym);
  ck_assert(!stance_trial_metric(&a->trials[0], "rfd_0_50")->has_asym);
  ck_assert(!stance_trial_metric(&a->trials[0], "peak_offset")->has_asym);
  ck_assert(!stance_trial_metric(&a->trials[1], "jump_height_impulse")->has_asym);

  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  /* One entry per id, in first-appearance order. */
  ck_assert_uint_eq(a->n_summary, 5);
  ck_assert_str_eq(a->summary[0].id, "peak_force");
  ck_assert_str_eq(a->summary[1].id, "net_impulse");
  ck_assert_str_eq(a->summary[2].id, "rfd_0_50");
  ck_assert_str_eq(a->summary[3].id, "peak_offset");
  ck_assert_str_eq(a->summary[4].id, "jump_height_impulse");
  ck_assert_str_eq(a->summary[1].unit, "N.s");

  /* peak_force. L {1000, 1100, 950}: mean 3050 / 3 = 1016.66666666667; deviations -16.667,
   * 83.333, -66.667, squares 277.778 + 6944.444 + 4444.444 = 11666.667; SD = sqrt(5833.333) =
   * 76.3762615825973; CV = 76.3762615825973 / 1016.66666666667 * 100 = 7.51241917205875 %.
   * R {900, 1000, 1000}: mean 966.666666666667, squares 4444.444 + 1111.111 * 2 = 6666.667, SD =
   * sqrt(3333.333) = 57.7350269189626, CV 5.97258899161682 %.
   * Total {1900, 2100, 1950}: mean 1983.33333333333, squares 6944.444 + 13611.111 + 1111.111 =
   * 21666.667, SD = sqrt(10833.333) = 104.083299973307, CV 5.24789747764571 %. */
  const StanceSummaryMetric *s = summary(a, "peak_force");
  ck_assert_uint_eq(s->has, STANCE_HAS_LEFT | STANCE_HAS_RIGHT | STANCE_HAS_TOTAL);
  ck_assert_uint_eq(s->left.n, 3);
  ck_assert_near(s->left.mean, 3050.0 / 3.0, TOL);
  ck_assert_near(s->left.sd, 76.3762615825973, TOL);
  ck_assert_near(s->left.cv_pct, 7.51241917205875, TOL);
  ck_assert_near(s->right.mean, 2900.0 / 3.0, TOL);
  ck_assert_near(s->right.sd, 57.7350269189626, TOL);
  ck_assert_near(s->right.cv_pct, 5.97258899161682, TOL);
  ck_assert_near(s->total.mean, 5950.0 / 3.0, TOL);
  ck_assert_near(s->total.sd, 104.083299973307, TOL);
  ck_assert_near(s->total.cv_pct, 5.24789747764571, TOL);
  ck_assert(s->left.has_sd && s->left.has_cv && s->total.has_cv);
  /* Asymmetry of the means: (1016.667 - 966.667) / (1016.667 + 966.667) * 100 = 50 / 1983.333 *
   * 100 = 2.52100840336134 %, left stronger. (The mean of the per-trial values, 2.487 %, is
   * a different number: asym_stats holds it.) */
  ck_assert(s->has_asym);
  ck_assert_str_eq(s->asym.formula_id, "lr_sum");
  ck_assert_near(s->asym.value, 2.52100840336134, TOL);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);
  ck_assert_int_eq(s->asym.involved, STANCE_SIDE_BOTH);
  /* Per-trial asymmetries 5.26315789473684, 4.76190476190476 (100 / 2100 * 100),
   * -2.56410256410256: mean 7.46096009253904 / 3 = 2.48698669751301; SD 4.38154547190824;
   * CV 176.178886533241 %. Left stronger in 2 of 3 trials: 66.6666666666667 %. */
  ck_assert_uint_eq(s->asym_stats.n, 3);
  ck_assert_near(s->asym_stats.mean, 2.48698669751301, TOL);
  ck_assert_near(s->asym_stats.sd, 4.38154547190824, TOL);
  ck_assert_near(s->asym_stats.cv_pct, 176.178886533241, 1e-8);
  ck_assert(s->has_direction);
  ck_assert_near(s->direction_consistency_pct, 200.0 / 3.0, TOL);

  /* net_impulse: L {100, 105, 95} mean 100, SD 5; R {110, 100} (trial 2 has none) mean 105,
   * SD sqrt(50) = 7.07106781186548; total {210, 215, 195} mean 206.666666666667, SD
   * 10.4083299973307. The asymmetry pairs the trials with both values (1 and 3): mean L 97.5,
   * mean R 105: (97.5 - 105) / 202.5 * 100 = -3.7037037037037 %, right stronger (the unpaired
   * means would give (100 - 105) / 205 * 100 = -2.439 %). Per trial: -10 / 210 * 100 =
   * -4.76190476190476, -5 / 195 * 100 = -2.56410256410256: right in both, 100 %. */
  s = summary(a, "net_impulse");
  ck_assert_uint_eq(s->left.n, 3);
  ck_assert_near(s->left.mean, 100.0, TOL);
  ck_assert_near(s->left.sd, 5.0, TOL);
  ck_assert_uint_eq(s->right.n, 2);
  ck_assert_near(s->right.mean, 105.0, TOL);
  ck_assert_near(s->right.sd, sqrt(50.0), TOL);
  ck_assert_near(s->total.mean, 620.0 / 3.0, TOL);
  ck_assert_near(s->total.sd, 10.4083299973307, TOL);
  ck_assert(s->has_asym);
  ck_assert_near(s->asym.value, -3.7037037037037, TOL);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_RIGHT);
  ck_assert_uint_eq(s->asym_stats.n, 2);
  ck_assert_near(s->asym_stats.mean, (-200.0 / 42.0 - 500.0 / 195.0) / 2.0, TOL);
  ck_assert(s->has_direction);
  ck_assert_near(s->direction_consistency_pct, 100.0, TOL);

  /* rfd_0_50: all zero: stats (mean 0, SD 0, no CV) but no asymmetry. */
  s = summary(a, "rfd_0_50");
  ck_assert_uint_eq(s->left.n, 2);
  ck_assert_near(s->left.mean, 0.0, 0.0);
  ck_assert(s->left.has_sd && !s->left.has_cv);
  ck_assert(!s->has_asym && !s->has_direction);
  ck_assert_uint_eq(s->asym_stats.n, 0);

  /* peak_offset (no_asym): L {0.010} R {0.012}, one trial, mean only; no asymmetry. */
  s = summary(a, "peak_offset");
  ck_assert_uint_eq(s->has, STANCE_HAS_LEFT | STANCE_HAS_RIGHT);
  ck_assert_near(s->left.mean, 0.010, 1e-15);
  ck_assert(!s->left.has_sd);
  ck_assert(!s->has_asym && !s->has_direction);

  /* jump_height_impulse: total only, in one trial. */
  s = summary(a, "jump_height_impulse");
  ck_assert_uint_eq(s->has, STANCE_HAS_TOTAL);
  ck_assert_uint_eq(s->total.n, 1);
  ck_assert_near(s->total.mean, 0.35, 1e-15);
  ck_assert(!s->has_asym);

  /* Summarising again rebuilds, not appends. */
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  ck_assert_uint_eq(a->n_summary, 5);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_summary_formula_and_lsi)
{
  /* Same trials with lr_mean: the summary of peak force = (1016.667 - 966.667) / 991.667 * 100 =
   * 5.04201680672269 % (twice lr_sum), and the per-trial values are recomputed with it even
   * though the trials still hold lr_sum asymmetries from an earlier pass. */
  StanceAnalysis *a = bilateral();
  stance_analysis_compute_asymmetry(a);
  a->formula = STANCE_ASYM_LR_MEAN;
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  const StanceSummaryMetric *s = summary(a, "peak_force");
  ck_assert_str_eq(s->asym.formula_id, "lr_mean");
  ck_assert_near(s->asym.value, 2.0 * 2.52100840336134, TOL);
  ck_assert_near(s->asym_stats.mean, 2.0 * 2.48698669751301, TOL);

  /* LSI with the left limb involved: 1016.667 / 966.667 * 100 = 3050 / 2900 * 100 =
   * 105.172413793103 %; per trial 1000 / 900 * 100 = 111.111111111111. */
  a->formula = STANCE_ASYM_LSI;
  a->involved = STANCE_SIDE_LEFT;
  stance_analysis_compute_asymmetry(a);
  const StanceMetric *m = stance_trial_metric(&a->trials[0], "peak_force");
  ck_assert_str_eq(m->asym.formula_id, "lsi");
  ck_assert_near(m->asym.value, 1000.0 / 9.0, TOL);
  ck_assert_int_eq(m->asym.involved, STANCE_SIDE_LEFT);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  s = summary(a, "peak_force");
  ck_assert_near(s->asym.value, 3050.0 / 29.0, TOL);
  ck_assert_int_eq(s->asym.involved, STANCE_SIDE_LEFT);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);

  /* A session-level metric with both limbs gets its asymmetry too: lsi 45 / 55 * 100 =
   * 81.8181818181818 %. */
  StanceMetric *sm = stance_analysis_add_metric(a, "load_share", "%", "test.hand");
  ck_assert_ptr_nonnull(sm);
  stance_metric_set(sm, STANCE_SEL_LEFT, 45.0);
  stance_metric_set(sm, STANCE_SEL_RIGHT, 55.0);
  stance_analysis_compute_asymmetry(a);
  ck_assert(sm->has_asym);
  ck_assert_near(sm->asym.value, 4500.0 / 55.0, TOL);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_summary_direction_against_means)
{
  /* Left slightly stronger in two trials, right much stronger in one: L {1010, 1010, 800},
   * R {1000, 1000, 1100}. Means 940 and 1033.333: the session is right-stronger
   * ((940 - 1033.333) / 1973.333 * 100 = -4.72972972972973 %), yet only 1 of 3 trials is
   * right-stronger: direction consistency 33.3333333333333 % for the summary's limb. */
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  a->protocol = STANCE_PROTO_CMJ;
  a->formula = STANCE_ASYM_LR_SUM;
  const double l[] = {1010, 1010, 800}, r[] = {1000, 1000, 1100};
  for (int i = 0; i < 3; i++)
    add_metric(add_trial(a, STANCE_SIDE_BOTH), "peak_force", "N", l[i], r[i], l[i] + r[i]);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  const StanceSummaryMetric *s = summary(a, "peak_force");
  ck_assert_near(s->asym.value, -280.0 / 59.2, TOL);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_RIGHT);
  ck_assert(s->has_direction);
  ck_assert_near(s->direction_consistency_pct, 100.0 / 3.0, TOL);
  stance_analysis_free(a);
}
END_TEST

/* Alternating single-leg CMJs: L R L R L R; the stance limb's slot and the total. */
static StanceAnalysis *
unilateral(bool right_trials)
{
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  a->protocol = STANCE_PROTO_SL_CMJ;
  a->formula = STANCE_ASYM_PCT_DIFF;
  const double lv[] = {1500, 1520, 1480}, rv[] = {1300, 1350, 1250};
  for (int i = 0; i < 3; i++) {
    add_metric(add_trial(a, STANCE_SIDE_LEFT), "peak_force", "N", lv[i], NAN, lv[i] + 5.0);
    if (right_trials)
      add_metric(add_trial(a, STANCE_SIDE_RIGHT), "peak_force", "N", NAN, rv[i], rv[i] + 5.0);
  }
  return a;
}

START_TEST(test_summary_unilateral)
{
  StanceAnalysis *a = unilateral(true);
  stance_analysis_compute_asymmetry(a);
  for (size_t t = 0; t < a->n_trials; t++)
    ck_assert(!stance_trial_metric(&a->trials[t], "peak_force")->has_asym); /* one limb each */
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  ck_assert_uint_eq(a->n_summary, 1);
  /* Left trials {1500, 1520, 1480}: mean 1500, squares 0 + 400 + 400, SD sqrt(400) = 20,
   * CV 1.33333333333333 %. Right trials {1300, 1350, 1250}: mean 1300, SD sqrt(5000 / 2) = 50,
   * CV 3.84615384615385 %. Totals (+5 N each) {1505, 1525, 1485, 1305, 1355, 1255}: mean
   * 8430 / 6 = 1405, SD 114.717043197600.
   * pct_diff of the means: (1500 - 1300) / 1500 * 100 = 13.3333333333333 %, left stronger. */
  const StanceSummaryMetric *s = summary(a, "peak_force");
  ck_assert_uint_eq(s->has, STANCE_HAS_LEFT | STANCE_HAS_RIGHT | STANCE_HAS_TOTAL);
  ck_assert_uint_eq(s->left.n, 3);
  ck_assert_near(s->left.mean, 1500.0, TOL);
  ck_assert_near(s->left.sd, 20.0, TOL);
  ck_assert_near(s->left.cv_pct, 4.0 / 3.0, TOL);
  ck_assert_uint_eq(s->right.n, 3);
  ck_assert_near(s->right.mean, 1300.0, TOL);
  ck_assert_near(s->right.sd, 50.0, TOL);
  ck_assert_near(s->right.cv_pct, 50.0 / 13.0, TOL);
  ck_assert_uint_eq(s->total.n, 6);
  ck_assert_near(s->total.mean, 1405.0, TOL);
  ck_assert_near(s->total.sd, 114.7170431976, 1e-9);
  ck_assert(s->has_asym);
  ck_assert_str_eq(s->asym.formula_id, "pct_diff");
  ck_assert_near(s->asym.value, 40.0 / 3.0, TOL);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);
  ck_assert(!s->has_direction);
  ck_assert_uint_eq(s->asym_stats.n, 0);

  /* Right limb involved (LSI): 1300 / 1500 * 100 = 86.6666666666667 %. */
  a->formula = STANCE_ASYM_LSI;
  a->involved = STANCE_SIDE_RIGHT;
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  s = summary(a, "peak_force");
  ck_assert_near(s->asym.value, 260.0 / 3.0, TOL);
  ck_assert_int_eq(s->asym.involved, STANCE_SIDE_RIGHT);
  stance_analysis_free(a);

  /* Only left trials: stats, no asymmetry. */
  a = unilateral(false);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  s = summary(a, "peak_force");
  ck_assert_uint_eq(s->has, STANCE_HAS_LEFT | STANCE_HAS_TOTAL);
  ck_assert_near(s->left.mean, 1500.0, TOL);
  ck_assert(!s->has_asym);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_summary_split_stance)
{
  /* Split squats, both plates each rep, side = front foot. Left-front reps: front (left) 700,
   * 720; right-front reps: front (right) 650, 670. Summary: left-front trials' left mean 710
   * against right-front trials' right mean 660: pct_diff (710 - 660) / 710 * 100 =
   * 7.04225352112676 %. Within a rep, front against rear is not a limb asymmetry: none is
   * computed (the rep reports its front share instead). */
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  a->protocol = STANCE_PROTO_SPLIT_SQUAT;
  a->formula = STANCE_ASYM_PCT_DIFF;
  add_metric(add_trial(a, STANCE_SIDE_LEFT), "peak_force", "N", 700, 300, 1000);
  add_metric(add_trial(a, STANCE_SIDE_LEFT), "peak_force", "N", 720, 290, 1010);
  add_metric(add_trial(a, STANCE_SIDE_RIGHT), "peak_force", "N", 320, 650, 970);
  add_metric(add_trial(a, STANCE_SIDE_RIGHT), "peak_force", "N", 310, 670, 980);
  stance_analysis_compute_asymmetry(a);
  for (size_t k = 0; k < a->n_trials; k++)
    ck_assert(!stance_trial_metric(&a->trials[k], "peak_force")->has_asym);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  const StanceSummaryMetric *s = summary(a, "peak_force");
  /* A limb's stats are those of the trials with that foot in front. */
  ck_assert_uint_eq(s->left.n, 2);
  ck_assert_near(s->left.mean, 710.0, TOL);
  ck_assert_uint_eq(s->right.n, 2);
  ck_assert_near(s->right.mean, 660.0, TOL);
  ck_assert(s->has_asym);
  ck_assert_near(s->asym.value, 5000.0 / 710.0, TOL);
  ck_assert_int_eq(s->asym.stronger, STANCE_SIDE_LEFT);
  stance_analysis_free(a);
}
END_TEST

/* Barbell sets: two warm-up reps at 500 N and two working reps at 1000 / 1100 N. The summary
 * holds the working reps only (mean 1050, n 2); with warm-up reps alone it holds those. */
START_TEST(test_summary_skips_warmup)
{
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  a->protocol = STANCE_PROTO_BACK_SQUAT;
  a->formula = STANCE_ASYM_LR_SUM;
  for (int k = 0; k < 2; k++) {
    StanceTrial *t = add_trial(a, STANCE_SIDE_BOTH);
    stance_trial_flag(t, "warmup_set", STANCE_SEVERITY_INFO, "warm-up");
    add_metric(t, "peak_force", "N", 250, 250, 500);
  }
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  const StanceSummaryMetric *s = summary(a, "peak_force");
  ck_assert_uint_eq(s->total.n, 2);
  ck_assert_near(s->total.mean, 500.0, TOL);
  add_metric(add_trial(a, STANCE_SIDE_BOTH), "peak_force", "N", 500, 500, 1000);
  add_metric(add_trial(a, STANCE_SIDE_BOTH), "peak_force", "N", 550, 550, 1100);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  s = summary(a, "peak_force");
  ck_assert_uint_eq(s->total.n, 2);
  ck_assert_near(s->total.mean, 1050.0, TOL);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_summary_growth_and_empty)
{
  /* No trials: an empty summary. */
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  ck_assert_uint_eq(a->n_summary, 0);
  ck_assert_int_eq(stance_analysis_summarise(NULL), STANCE_EINVAL);
  stance_analysis_compute_asymmetry(NULL);

  /* 40 ids across two trials (beyond the initial capacity), order kept: trial 1 has m00..m29,
   * trial 2 m10..m39; metric k has value k on the left, 2k + 1 on the right. */
  for (int t = 0; t < 2; t++) {
    StanceTrial *tr = add_trial(a, STANCE_SIDE_BOTH);
    for (int k = t * 10; k < t * 10 + 30; k++) {
      char id[8];
      snprintf(id, sizeof id, "m%02d", k);
      add_metric(tr, id, "N", k, 2 * k + 1, 3 * k + 1);
    }
  }
  ck_assert_int_eq(stance_analysis_summarise(a), STANCE_OK);
  ck_assert_uint_eq(a->n_summary, 40);
  for (int k = 0; k < 40; k++) {
    char id[8];
    snprintf(id, sizeof id, "m%02d", k);
    ck_assert_str_eq(a->summary[k].id, id);
    /* m10..m29 are in both trials. lr_sum (k - 2k - 1) / (3k + 1) * 100; m00: -100 %. */
    ck_assert_uint_eq(a->summary[k].left.n, k >= 10 && k < 30 ? 2 : 1);
    ck_assert(a->summary[k].has_asym);
    ck_assert_near(a->summary[k].asym.value, -(k + 1.0) / (3.0 * k + 1.0) * 100.0, TOL);
  }
  stance_analysis_free(a);
}
END_TEST

static Suite *
asym_suite(void)
{
  Suite *s = suite_create("asym");
  TCase *tc = tcase_create("formulas");
  tcase_add_test(tc, test_lr_mean_shiny);
  tcase_add_test(tc, test_pct_diff);
  tcase_add_test(tc, test_lr_sum);
  tcase_add_test(tc, test_lsi);
  tcase_add_test(tc, test_sym_angle);
  tcase_add_test(tc, test_log_ratio);
  tcase_add_test(tc, test_undefined_refused);
  tcase_add_test(tc, test_stronger_and_ties);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_defaults);
  suite_add_tcase(s, tc);

  tc = tcase_create("reliability");
  tcase_add_test(tc, test_stats);
  tcase_add_test(tc, test_te_paired);
  tcase_add_test(tc, test_te_pooled);
  tcase_add_test(tc, test_swc_mdc);
  tcase_add_test(tc, test_direction);
  suite_add_tcase(s, tc);

  tc = tcase_create("summary");
  tcase_add_test(tc, test_summary_bilateral);
  tcase_add_test(tc, test_summary_formula_and_lsi);
  tcase_add_test(tc, test_summary_direction_against_means);
  tcase_add_test(tc, test_summary_unilateral);
  tcase_add_test(tc, test_summary_split_stance);
  tcase_add_test(tc, test_summary_skips_warmup);
  tcase_add_test(tc, test_summary_growth_and_empty);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(asym_suite());
}
