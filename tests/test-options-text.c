/* test-options-text.c: analysis options as one line of text (stance_analysis_options_to_text and
 * _from_text), the form the store keeps with every analysis run so it can be repeated exactly.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ground truth: the defaults' text is written out here in full; random option sets (random enum
 * values, random doubles from every binade, including subnormals and -0) must come back bit for
 * bit; text with keys left out keeps the defaults; every kind of bad text is refused with a
 * message naming the key. The conversions must not depend on the process locale: they also run
 * under a decimal-comma locale (de_DE.UTF-8, built with localedef when the system lacks it).
 */
#include "stance-analysis.h"
#include "stance-test.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* For checks inside loops: Check's ck_assert* records a mark point (a write to its pipe) on every
 * success, a system call per check. */
#define require(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* The defaults' text, every field in the writer's order. */
static const char *const default_text =
    "protocol=unknown;side=both;involved=both;formula=default;onset=default;onset_sd=5;"
    "onset_step_back_s=-1;onset_n=20;onset_pct_bw=5;takeoff_n=20;peak_rfd_window_s=0.02;"
    "filter=default;filter_order=4;filter_cutoff_hz=0;weigh=auto;weigh_window_s=1;"
    "weigh_start_s=-1;gravity_m_s2=9.81;external_load_kg=-1";

/* Bitwise equality of two doubles (so -0 and 0 differ, as an exact round trip must keep). */
static bool
same_double(double a, double b)
{
  return memcmp(&a, &b, sizeof a) == 0;
}

/* Every field equal (doubles bit for bit); names the first field that differs. */
static const char *
options_diff(const StanceAnalysisOptions *a, const StanceAnalysisOptions *b)
{
  if (a->protocol != b->protocol)
    return "protocol";
  if (a->side != b->side)
    return "side";
  if (a->involved != b->involved)
    return "involved";
  if (a->formula != b->formula)
    return "formula";
  if (a->onset != b->onset)
    return "onset";
  if (!same_double(a->onset_sd, b->onset_sd))
    return "onset_sd";
  if (!same_double(a->onset_step_back_s, b->onset_step_back_s))
    return "onset_step_back_s";
  if (!same_double(a->onset_n, b->onset_n))
    return "onset_n";
  if (!same_double(a->onset_pct_bw, b->onset_pct_bw))
    return "onset_pct_bw";
  if (!same_double(a->takeoff_n, b->takeoff_n))
    return "takeoff_n";
  if (!same_double(a->peak_rfd_window_s, b->peak_rfd_window_s))
    return "peak_rfd_window_s";
  if (a->filter != b->filter)
    return "filter";
  if (a->filter_order != b->filter_order)
    return "filter_order";
  if (!same_double(a->filter_cutoff_hz, b->filter_cutoff_hz))
    return "filter_cutoff_hz";
  if (a->weigh != b->weigh)
    return "weigh";
  if (!same_double(a->weigh_window_s, b->weigh_window_s))
    return "weigh_window_s";
  if (!same_double(a->weigh_start_s, b->weigh_start_s))
    return "weigh_start_s";
  if (!same_double(a->gravity_m_s2, b->gravity_m_s2))
    return "gravity_m_s2";
  if (!same_double(a->external_load_kg, b->external_load_kg))
    return "external_load_kg";
  return NULL;
}

/* xorshift64*: reproducible random numbers. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t
rng(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* A random finite double: half of them arbitrary bit patterns (every binade, subnormals, -0),
 * half "typed in" decimals such as 12.5 or 0.03 (what users actually set). */
static double
random_double(void)
{
  if (rng() & 1) {
    for (;;) {
      uint64_t bits = rng();
      double v;
      memcpy(&v, &bits, sizeof v);
      if (isfinite(v))
        return v;
    }
  }
  static const double scale[] = {1, 10, 100, 1000, 1e4};
  double v = (double)(rng() % 100000) / scale[rng() % 5];
  return (rng() & 1) ? -v : v;
}

static void
random_options(StanceAnalysisOptions *o)
{
  stance_analysis_options_default(o);
  o->protocol = (StanceProtocol)(rng() % STANCE_PROTO_COUNT);
  o->side = (StanceSide)(rng() % 3);
  o->involved = (StanceSide)(rng() % 3);
  o->formula = (StanceAsymFormula)(rng() % STANCE_ASYM_COUNT);
  o->onset = (StanceOnsetRule)(rng() % 4);
  o->onset_sd = random_double();
  o->onset_step_back_s = random_double();
  o->onset_n = random_double();
  o->onset_pct_bw = random_double();
  o->takeoff_n = random_double();
  o->peak_rfd_window_s = random_double();
  o->filter = (StanceFilterKind)(rng() % 4);
  o->filter_order = (int)(int32_t)(uint32_t)rng();
  o->filter_cutoff_hz = random_double();
  o->weigh = (StanceWeighRule)(rng() % 3);
  o->weigh_window_s = random_double();
  o->weigh_start_s = random_double();
  o->gravity_m_s2 = random_double();
  o->external_load_kg = random_double();
}

/* Set by main(): a decimal-comma locale exists (LOCPATH set when it was built here). */
static bool have_comma_locale = false;

/* Switches the process to de_DE.UTF-8 and checks that printf really writes a comma there. */
static bool
enter_comma_locale(void)
{
  if (!have_comma_locale || !setlocale(LC_ALL, "de_DE.UTF-8"))
    return false;
  char b[16];
  snprintf(b, sizeof b, "%.1f", 1.5);
  return strcmp(b, "1,5") == 0;
}

START_TEST(test_default_text)
{
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  char buf[640];
  int n = stance_analysis_options_to_text(&o, buf, sizeof buf);
  ck_assert_str_eq(buf, default_text);
  ck_assert_int_eq(n, (int)strlen(default_text));

  /* Every field is in the text exactly once. */
  static const char *const keys[] = {"protocol",
                                     "side",
                                     "involved",
                                     "formula",
                                     "onset",
                                     "onset_sd",
                                     "onset_step_back_s",
                                     "onset_n",
                                     "onset_pct_bw",
                                     "takeoff_n",
                                     "peak_rfd_window_s",
                                     "filter",
                                     "filter_order",
                                     "filter_cutoff_hz",
                                     "weigh",
                                     "weigh_window_s",
                                     "weigh_start_s",
                                     "gravity_m_s2",
                                     "external_load_kg"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char pat[40];
    snprintf(pat, sizeof pat, "%s=", keys[i]);
    const char *hit = strstr(buf, pat);
    ck_assert_msg(hit && (hit == buf || hit[-1] == ';'), "key %s missing", keys[i]);
    ck_assert_msg(!strstr(hit + 1, pat) || strstr(hit + 1, pat)[-1] != ';', "key %s twice",
                  keys[i]);
  }

  /* Empty text, blanks and lone separators are the defaults. */
  static const char *const empties[] = {"", " ", ";", " ; ;; "};
  for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
    StanceAnalysisOptions r;
    memset(&r, 0x5a, sizeof r);
    StanceError err = {0};
    ck_assert_int_eq(stance_analysis_options_from_text(&r, empties[i], &err), STANCE_OK);
    const char *d = options_diff(&r, &o);
    ck_assert_msg(!d, "'%s': %s differs from the default", empties[i], d);
  }
}
END_TEST

START_TEST(test_typical_values)
{
  /* What the CLI sets: the text holds the short decimals a user typed. */
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.protocol = STANCE_PROTO_SL_CMJ;
  o.side = STANCE_SIDE_LEFT;
  o.involved = STANCE_SIDE_RIGHT;
  o.formula = STANCE_ASYM_LSI;
  o.onset = STANCE_ONSET_BW_5SD;
  o.onset_sd = 3;
  o.onset_step_back_s = 0.03;
  o.filter = STANCE_FILTER_BUTTERWORTH;
  o.filter_order = 2;
  o.filter_cutoff_hz = 12.5;
  o.weigh = STANCE_WEIGH_FIRST;
  o.weigh_start_s = 0.1;
  o.gravity_m_s2 = 9.80665;
  o.external_load_kg = 62.5;
  char buf[640];
  stance_analysis_options_to_text(&o, buf, sizeof buf);
  ck_assert_str_eq(buf, "protocol=sl-cmj;side=left;involved=right;formula=lsi;onset=bw_5sd;"
                        "onset_sd=3;onset_step_back_s=0.03;onset_n=20;onset_pct_bw=5;takeoff_n=20;"
                        "peak_rfd_window_s=0.02;filter=butterworth;filter_order=2;"
                        "filter_cutoff_hz=12.5;weigh=first;weigh_window_s=1;weigh_start_s=0.1;"
                        "gravity_m_s2=9.80665;external_load_kg=62.5");
  StanceAnalysisOptions r;
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_from_text(&r, buf, &err), STANCE_OK);
  ck_assert_ptr_null(options_diff(&r, &o));
}
END_TEST

START_TEST(test_random_round_trip)
{
  /* 3000 random sets cover every enum value and binade many times (about a second). */
  int n_sets = stance_test_under_valgrind() ? 400 : 3000;
  for (int i = 0; i < n_sets; i++) {
    StanceAnalysisOptions o, r;
    random_options(&o);
    char buf[640], again[640];
    int n = stance_analysis_options_to_text(&o, buf, sizeof buf);
    require(n > 0 && (size_t)n < sizeof buf, "set %d: length %d", i, n);
    require(!strchr(buf, ','), "set %d: a comma in '%s'", i, buf);
    StanceError err = {0};
    memset(&r, 0x5a, sizeof r);
    require(stance_analysis_options_from_text(&r, buf, &err) == STANCE_OK, "set %d: %s: %s", i, buf,
            err.message);
    const char *d = options_diff(&r, &o);
    require(!d, "set %d: %s differs after the round trip of '%s'", i, d, buf);
    stance_analysis_options_to_text(&r, again, sizeof again);
    require(strcmp(again, buf) == 0, "set %d: '%s' then '%s'", i, buf, again);
  }
}
END_TEST

START_TEST(test_shortest_numbers)
{
  /* The fewest digits that read back: 0.1 is "0.1", not 0.10000000000000001; a value one ulp
   * above needs all 17. */
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.onset_sd = 0.1;
  o.onset_n = nextafter(0.1, 1.0);
  o.onset_pct_bw = -0.0;
  o.takeoff_n = 1e-300;
  o.weigh_window_s = 4.9406564584124654e-324; /* the smallest subnormal */
  o.filter_cutoff_hz = 1.7976931348623157e308;
  char buf[640];
  stance_analysis_options_to_text(&o, buf, sizeof buf);
  ck_assert_ptr_nonnull(strstr(buf, ";onset_sd=0.1;"));
  ck_assert_ptr_nonnull(strstr(buf, ";onset_n=0.10000000000000002;"));
  ck_assert_ptr_nonnull(strstr(buf, ";onset_pct_bw=-0;"));
  ck_assert_ptr_nonnull(strstr(buf, ";takeoff_n=1e-300;"));
  ck_assert_ptr_nonnull(strstr(buf, ";weigh_window_s=5e-324;"));
  ck_assert_ptr_nonnull(strstr(buf, ";filter_cutoff_hz=1.7976931348623157e+308;"));
  StanceAnalysisOptions r;
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_from_text(&r, buf, &err), STANCE_OK);
  ck_assert_ptr_null(options_diff(&r, &o));
}
END_TEST

START_TEST(test_length_bound)
{
  /* The longest possible text: 17-digit negative numbers with three-digit exponents in every
   * double, the longest names in every enum, the most negative int. The header promises that 640
   * bytes are always enough. */
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.protocol = STANCE_PROTO_QUIET_STANDING;
  o.side = STANCE_SIDE_RIGHT;
  o.involved = STANCE_SIDE_RIGHT;
  o.formula = STANCE_ASYM_SYM_ANGLE;
  o.onset = STANCE_ONSET_FIXED_N;
  o.filter = STANCE_FILTER_BUTTERWORTH;
  o.weigh = STANCE_WEIGH_STILLEST;
  o.filter_order = -2147483647 - 1;
  const double w = -2.2250738585072014e-308;
  o.onset_sd = o.onset_step_back_s = o.onset_n = o.onset_pct_bw = o.takeoff_n = w;
  o.peak_rfd_window_s = o.filter_cutoff_hz = o.weigh_window_s = o.weigh_start_s = w;
  o.gravity_m_s2 = o.external_load_kg = w;
  char buf[640];
  int n = stance_analysis_options_to_text(&o, buf, sizeof buf);
  ck_assert_msg(n > 500 && n < 640, "worst-case length %d", n);
  StanceAnalysisOptions r;
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_from_text(&r, buf, &err), STANCE_OK);
  ck_assert_ptr_null(options_diff(&r, &o));

  /* Like snprintf: a short buffer holds a terminated prefix, the return is the full length. */
  char small[20];
  memset(small, 'x', sizeof small);
  int m = stance_analysis_options_to_text(&o, small, sizeof small);
  ck_assert_int_eq(m, n);
  ck_assert_uint_eq(strlen(small), sizeof small - 1);
  ck_assert_int_eq(strncmp(small, buf, sizeof small - 1), 0);
  ck_assert_int_eq(stance_analysis_options_to_text(&o, NULL, 0), n);
}
END_TEST

START_TEST(test_keys_left_out)
{
  /* Keys left out keep their defaults; order and blanks do not matter; aliases of sides and
   * formulas are read (the writer only writes the ids). */
  StanceAnalysisOptions r, want;
  stance_analysis_options_default(&want);
  want.onset_sd = 3;
  want.protocol = STANCE_PROTO_CMJ;
  want.formula = STANCE_ASYM_PCT_DIFF;
  want.involved = STANCE_SIDE_LEFT;
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_from_text(
                       &r, " onset_sd = 3 ;involved=L; formula=bishop;protocol=CMJ;", &err),
                   STANCE_OK);
  const char *d = options_diff(&r, &want);
  ck_assert_msg(!d, "%s differs", d);

  /* A text written by an older Stance with fewer keys reads with today's defaults for the rest. */
  ck_assert_int_eq(stance_analysis_options_from_text(&r, "protocol=imtp;filter=raw", &err),
                   STANCE_OK);
  stance_analysis_options_default(&want);
  want.protocol = STANCE_PROTO_IMTP;
  want.filter = STANCE_FILTER_RAW;
  ck_assert_ptr_null(options_diff(&r, &want));
}
END_TEST

START_TEST(test_errors)
{
  static const struct {
    const char *text;
    const char *must_name; /* the message names this */
  } bad[] = {
      {"onset_sd=5;colour=red", "'colour'"},
      {"onset_sd=abc", "onset_sd 'abc'"},
      {"onset_sd=5,5", "onset_sd '5,5'"}, /* a decimal comma is not read as a point */
      {"onset_sd=", "onset_sd ''"},
      {"onset_sd=inf", "onset_sd 'inf'"},
      {"onset_sd=nan", "onset_sd 'nan'"},
      {"onset_sd=1e999", "onset_sd '1e999'"}, /* overflows to infinity */
      {"onset_sd=0x10", "onset_sd '0x10'"},
      {"onset_sd=5 5", "onset_sd '5 5'"},
      {"gravity_m_s2=9.81;gravity_m_s2=9.8", "'gravity_m_s2' is given twice"},
      {"filter_order=4.5", "filter_order '4.5'"},
      {"filter_order=99999999999", "filter_order '99999999999'"},
      {"protocol=cmjx", "protocol 'cmjx'"},
      {"side=up", "side 'up'"},
      {"involved=none", "involved 'none'"},
      {"formula=ratio", "formula 'ratio'"},
      {"onset=bw-5sd", "onset 'bw-5sd'"}, /* the CLI spelling is not the stored id */
      {"filter=butter", "filter 'butter'"},
      {"weigh=last", "weigh 'last'"},
      {"onset_sd", "'onset_sd' at offset 0 is not key=value"},
      {"takeoff_n=20;=5", "empty key at offset 13"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    StanceAnalysisOptions r;
    memset(&r, 0x5a, sizeof r);
    StanceAnalysisOptions before = r;
    StanceError err = {0};
    int rc = stance_analysis_options_from_text(&r, bad[i].text, &err);
    ck_assert_msg(rc == STANCE_EFORMAT, "'%s' gave %d", bad[i].text, rc);
    ck_assert_msg(strstr(err.message, bad[i].must_name), "'%s': message '%s' lacks \"%s\"",
                  bad[i].text, err.message, bad[i].must_name);
    ck_assert_msg(strstr(err.message, "expected"), "'%s': message '%s' says nothing expected",
                  bad[i].text, err.message);
    /* A refused text leaves the options untouched. */
    ck_assert_msg(memcmp(&r, &before, sizeof r) == 0, "'%s' changed the options", bad[i].text);
  }
  StanceError err = {0};
  StanceAnalysisOptions r;
  ck_assert_int_eq(stance_analysis_options_from_text(&r, NULL, &err), STANCE_EINVAL);
  ck_assert_int_eq(stance_analysis_options_from_text(NULL, "", &err), STANCE_EINVAL);
}
END_TEST

START_TEST(test_comma_locale)
{
  if (!enter_comma_locale()) {
    fprintf(stderr, "test_comma_locale: SKIP no decimal-comma locale could be set up\n");
    return;
  }
  /* Under de_DE the text is byte for byte the C-locale text, and reads back. */
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.filter_cutoff_hz = 12.5;
  o.onset_step_back_s = 0.03;
  char buf[640];
  stance_analysis_options_to_text(&o, buf, sizeof buf);
  ck_assert_ptr_null(strchr(buf, ','));
  ck_assert_ptr_nonnull(strstr(buf, ";filter_cutoff_hz=12.5;"));
  ck_assert_ptr_nonnull(strstr(buf, ";peak_rfd_window_s=0.02;"));
  StanceAnalysisOptions r;
  StanceError err = {0};
  ck_assert_int_eq(stance_analysis_options_from_text(&r, buf, &err), STANCE_OK);
  ck_assert_ptr_null(options_diff(&r, &o));
  for (int i = 0; i < 200; i++) {
    random_options(&o);
    stance_analysis_options_to_text(&o, buf, sizeof buf);
    require(!strchr(buf, ','), "a comma in '%s'", buf);
    require(stance_analysis_options_from_text(&r, buf, &err) == STANCE_OK, "%s", err.message);
    require(!options_diff(&r, &o), "'%s' does not read back", buf);
  }
  /* The process locale is left as it was. */
  snprintf(buf, sizeof buf, "%.1f", 2.5);
  ck_assert_str_eq(buf, "2,5");
  setlocale(LC_ALL, "C");
}
END_TEST

static Suite *
options_text_suite(void)
{
  Suite *s = suite_create("options-text");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_default_text);
  tcase_add_test(tc, test_typical_values);
  tcase_add_test(tc, test_random_round_trip);
  tcase_add_test(tc, test_shortest_numbers);
  tcase_add_test(tc, test_length_bound);
  tcase_add_test(tc, test_keys_left_out);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_comma_locale);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  have_comma_locale = stance_test_prepare_comma_locale();
  int rc = stance_test_run(options_text_suite());
  stance_test_release_comma_locale();
  return rc;
}
