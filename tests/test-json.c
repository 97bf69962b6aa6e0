/* test-json.c: the streaming JSON writer.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-json.h"
#include "stance-test.h"
#include "stance-utf8.h"

/* A writer on an in-memory stream; finish() then close() gives the text. */
typedef struct {
  FILE *f;
  char *buf;
  size_t len;
} Capture;

static StanceJson *
capture_open(Capture *c, bool pretty)
{
  c->buf = NULL;
  c->len = 0;
  c->f = open_memstream(&c->buf, &c->len);
  ck_assert_ptr_nonnull(c->f);
  StanceJson *j = stance_json_new(c->f, pretty);
  ck_assert_ptr_nonnull(j);
  return j;
}

/* Finishes the writer, closes the stream, returns the code; c->buf holds the text. */
static int
capture_close(Capture *c, StanceJson *j, StanceError *err)
{
  int r = stance_json_finish(j, err);
  ck_assert_int_eq(fclose(c->f), 0);
  return r;
}

/* One document exercising every value kind, nesting, empty containers and the shorthands. */
static void
write_sample_doc(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_kv_string(j, "protocol", "cmj");
  stance_json_kv_int(j, "reps", 3);
  stance_json_kv_bool(j, "bilateral", true);
  stance_json_kv_bool(j, "assumed", false);
  stance_json_key(j, "note");
  stance_json_null(j);
  stance_json_kv_number(j, "peak_n", 1812.25);
  stance_json_key(j, "forces");
  stance_json_begin_array(j);
  stance_json_number(j, 812.5);
  stance_json_number(j, -0.25);
  stance_json_int(j, -9007199254740993LL); /* beyond 2^53: must be exact, not via double */
  stance_json_end_array(j);
  stance_json_key(j, "empty_obj");
  stance_json_begin_object(j);
  stance_json_end_object(j);
  stance_json_key(j, "nested");
  stance_json_begin_object(j);
  stance_json_key(j, "empty_arr");
  stance_json_begin_array(j);
  stance_json_end_array(j);
  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  stance_json_begin_object(j);
  stance_json_kv_number(j, "x", 1);
  stance_json_end_object(j);
  stance_json_begin_array(j);
  stance_json_string(j, "a");
  stance_json_end_array(j);
  stance_json_end_array(j);
  stance_json_end_object(j);
  stance_json_end_object(j);
}

START_TEST(test_pretty_nested)
{
  Capture c;
  StanceJson *j = capture_open(&c, true);
  write_sample_doc(j);
  StanceError err = {0};
  ck_assert_int_eq(capture_close(&c, j, &err), STANCE_OK);
  const char *expected = "{\n"
                         "  \"protocol\": \"cmj\",\n"
                         "  \"reps\": 3,\n"
                         "  \"bilateral\": true,\n"
                         "  \"assumed\": false,\n"
                         "  \"note\": null,\n"
                         "  \"peak_n\": 1812.25,\n"
                         "  \"forces\": [\n"
                         "    812.5,\n"
                         "    -0.25,\n"
                         "    -9007199254740993\n"
                         "  ],\n"
                         "  \"empty_obj\": {},\n"
                         "  \"nested\": {\n"
                         "    \"empty_arr\": [],\n"
                         "    \"trials\": [\n"
                         "      {\n"
                         "        \"x\": 1\n"
                         "      },\n"
                         "      [\n"
                         "        \"a\"\n"
                         "      ]\n"
                         "    ]\n"
                         "  }\n"
                         "}\n";
  ck_assert_str_eq(c.buf, expected);
  free(c.buf);
}
END_TEST

START_TEST(test_compact_nested)
{
  Capture c;
  StanceJson *j = capture_open(&c, false);
  write_sample_doc(j);
  StanceError err = {0};
  ck_assert_int_eq(capture_close(&c, j, &err), STANCE_OK);
  ck_assert_str_eq(c.buf, "{\"protocol\":\"cmj\",\"reps\":3,\"bilateral\":true,\"assumed\":false,"
                          "\"note\":null,\"peak_n\":1812.25,\"forces\":[812.5,-0.25,"
                          "-9007199254740993],\"empty_obj\":{},\"nested\":{\"empty_arr\":[],"
                          "\"trials\":[{\"x\":1},[\"a\"]]}}");
  free(c.buf);
}
END_TEST

START_TEST(test_top_level_scalar)
{
  /* A document may be a single scalar; pretty mode ends it with a newline, compact does not. */
  Capture c;
  StanceJson *j = capture_open(&c, true);
  stance_json_string(j, "x");
  ck_assert_int_eq(capture_close(&c, j, NULL), STANCE_OK);
  ck_assert_str_eq(c.buf, "\"x\"\n");
  free(c.buf);
  j = capture_open(&c, false);
  stance_json_number(j, 2.5);
  ck_assert_int_eq(capture_close(&c, j, NULL), STANCE_OK);
  ck_assert_str_eq(c.buf, "2.5");
  free(c.buf);
}
END_TEST

/* Formats one number as a compact top-level document. Caller frees. */
static char *
number_text(double v)
{
  Capture c;
  StanceJson *j = capture_open(&c, false);
  stance_json_number(j, v);
  StanceError err = {0};
  ck_assert_int_eq(capture_close(&c, j, &err), STANCE_OK);
  return c.buf;
}

START_TEST(test_number_text)
{
  /* Exact expected texts: the fewest of 15/16/17 significant digits that read back, integers
   * below 1e15 without exponent, and the sign of zero dropped (JSON readers differ on "-0"). */
  static const struct {
    double v;
    const char *text;
  } cases[] = {
      {3.0, "3"},
      {-3.0, "-3"},
      {0.0, "0"},
      {-0.0, "0"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e-300, "1e-300"},
      {123456789.125, "123456789.125"},
      {999999999999999.0, "999999999999999"},
      {1e15, "1e+15"},
      {1e21, "1e+21"},
      {DBL_MAX, "1.7976931348623157e+308"},
      {1.0 / 3.0, "0.3333333333333333"},
      {9.81, "9.81"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char *t = number_text(cases[k].v);
    ck_assert_msg(strcmp(t, cases[k].text) == 0, "case %zu: %.17g wrote \"%s\", expected \"%s\"", k,
                  cases[k].v, t, cases[k].text);
    free(t);
  }
}
END_TEST

START_TEST(test_number_roundtrip)
{
  /* Every finite double must read back bit-exactly (except -0, written as 0 by design). */
  double vals[] = {0.1,
                   1e-300,
                   123456789.125,
                   1e21,
                   DBL_MAX,
                   -DBL_MAX,
                   DBL_MIN,
                   5e-324,
                   DBL_EPSILON,
                   1.0 + DBL_EPSILON,
                   2.0 / 3.0,
                   -1e-7,
                   4503599627370497.0,
                   1e15 - 0.5,
                   6.02214076e23};
  for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
    char *t = number_text(vals[k]);
    double back = strtod(t, NULL);
    ck_assert_msg(memcmp(&back, &vals[k], sizeof back) == 0,
                  "value %zu: %.17g written as \"%s\" reads back as %.17g", k, vals[k], t, back);
    free(t);
  }
  /* A deterministic sweep over many magnitudes and mantissas (an LCG, so failures reproduce). */
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int k = 0; k < 20000; k++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t bits = s;
    double v;
    memcpy(&v, &bits, sizeof v);
    if (!isfinite(v) || v == 0.0)
      continue;
    char *t = number_text(v);
    double back = strtod(t, NULL);
    ck_assert_msg(memcmp(&back, &v, sizeof back) == 0,
                  "%.17g written as \"%s\" reads back as %.17g", v, t, back);
    ck_assert_msg(strlen(t) <= 24, "\"%s\" is longer than a 17-digit form", t);
    free(t);
  }
  /* -0.0 reads back as +0: equal in value, which is all JSON promises. */
  char *t = number_text(-0.0);
  ck_assert(strtod(t, NULL) == 0.0);
  free(t);
}
END_TEST

START_TEST(test_escaping)
{
  Capture c;
  StanceJson *j = capture_open(&c, false);
  stance_json_begin_object(j);
  /* Key is escaped too. Non-ASCII UTF-8 (é, €, U+1F600) passes through unchanged. */
  stance_json_kv_string(j, "k\"ey",
                        "q\" b\\ n\n t\t r\r b\b f\f c\x01\x1f d\x7f \xc3\xa9\xe2\x82\xac"
                        "\xf0\x9f\x98\x80 /");
  stance_json_end_object(j);
  ck_assert_int_eq(capture_close(&c, j, NULL), STANCE_OK);
  ck_assert_str_eq(c.buf,
                   "{\"k\\\"ey\":\"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f c\\u0001\\u001f d\x7f "
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 /\"}");
  free(c.buf);
}
END_TEST

/* Runs a writer script that must fail; checks the code and that the message contains needle. */
static void
expect_error(void (*script)(StanceJson *), int code, const char *needle)
{
  Capture c;
  StanceJson *j = capture_open(&c, true);
  script(j);
  StanceError err = {0};
  int r = capture_close(&c, j, &err);
  ck_assert_msg(r == code, "got %d (%s), expected %d", r, err.message, code);
  ck_assert_int_eq(err.code, code);
  ck_assert_msg(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message,
                needle);
  free(c.buf);
}

static void
s_nan_key(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_kv_number(j, "peak_force_n", NAN);
  stance_json_end_object(j);
}

static void
s_inf_array(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_key(j, "series");
  stance_json_begin_array(j);
  stance_json_number(j, 1.0);
  stance_json_number(j, -INFINITY);
  stance_json_end_array(j);
  stance_json_end_object(j);
}

static void
s_utf8_lone_ff(StanceJson *j)
{
  stance_json_string(j, "ab\xff");
}

static void
s_utf8_cut(StanceJson *j)
{
  stance_json_string(j, "caf\xc3");
}

static void
s_utf8_overlong(StanceJson *j)
{
  stance_json_string(j, "\xc0\xaf");
}

static void
s_utf8_overlong3(StanceJson *j)
{
  stance_json_string(j, "\xe0\x80\xaf");
}

static void
s_utf8_surrogate(StanceJson *j)
{
  stance_json_string(j, "\xed\xa0\x80");
}

static void
s_utf8_too_big(StanceJson *j)
{
  stance_json_string(j, "\xf4\x90\x80\x80");
}

static void
s_utf8_bad_key(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_kv_int(j, "bad\x80", 1);
  stance_json_end_object(j);
}

static void
s_value_without_key(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_int(j, 1);
  stance_json_end_object(j);
}

static void
s_key_at_top(StanceJson *j)
{
  stance_json_key(j, "orphan");
  stance_json_int(j, 1);
}

static void
s_key_in_array(StanceJson *j)
{
  stance_json_begin_array(j);
  stance_json_key(j, "inarray");
  stance_json_end_array(j);
}

static void
s_key_after_key(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_key(j, "first");
  stance_json_key(j, "second");
  stance_json_end_object(j);
}

static void
s_end_after_key(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_key(j, "dangling");
  stance_json_end_object(j);
}

static void
s_mismatched_end(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_key(j, "a");
  stance_json_begin_array(j);
  stance_json_end_object(j);
}

static void
s_end_at_top(StanceJson *j)
{
  stance_json_end_array(j);
}

static void
s_extra_end(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_end_object(j);
  stance_json_end_object(j);
}

static void
s_unclosed(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  stance_json_int(j, 1);
}

static void
s_two_top_values(StanceJson *j)
{
  stance_json_begin_object(j);
  stance_json_end_object(j);
  stance_json_int(j, 2);
}

static void
s_empty(StanceJson *j)
{
  (void)j;
}

static void
s_first_error_wins(StanceJson *j)
{
  /* A NaN, then unbalanced nesting: the NaN is what gets reported. */
  stance_json_begin_array(j);
  stance_json_number(j, NAN);
}

START_TEST(test_errors)
{
  expect_error(s_nan_key, STANCE_ERANGE, "\"peak_force_n\"");
  expect_error(s_nan_key, STANCE_ERANGE, "NaN");
  expect_error(s_inf_array, STANCE_ERANGE, "element 1 of array \"series\"");
  expect_error(s_inf_array, STANCE_ERANGE, "-infinity");
  expect_error(s_utf8_lone_ff, STANCE_EFORMAT, "byte 2 (0xFF)");
  expect_error(s_utf8_cut, STANCE_EFORMAT, "cut short");
  expect_error(s_utf8_overlong, STANCE_EFORMAT, "UTF-8");
  expect_error(s_utf8_overlong3, STANCE_EFORMAT, "overlong");
  expect_error(s_utf8_surrogate, STANCE_EFORMAT, "surrogate");
  expect_error(s_utf8_too_big, STANCE_EFORMAT, "beyond U+10FFFF");
  expect_error(s_utf8_bad_key, STANCE_EFORMAT, "key \"bad");
  expect_error(s_value_without_key, STANCE_EINVAL, "without a key");
  expect_error(s_key_at_top, STANCE_EINVAL, "\"orphan\" written outside an object");
  expect_error(s_key_in_array, STANCE_EINVAL, "\"inarray\" written outside an object");
  expect_error(s_key_after_key, STANCE_EINVAL, "\"second\" follows key \"first\"");
  expect_error(s_end_after_key, STANCE_EINVAL, "after key \"dangling\"");
  expect_error(s_mismatched_end, STANCE_EINVAL, "end of object while an array is open");
  expect_error(s_end_at_top, STANCE_EINVAL, "no array open");
  expect_error(s_extra_end, STANCE_EINVAL, "no object open");
  expect_error(s_unclosed, STANCE_EINVAL,
               "2 container(s) still open, innermost an array under "
               "key \"trials\"");
  expect_error(s_two_top_values, STANCE_EINVAL, "after the top-level value");
  expect_error(s_empty, STANCE_EINVAL, "empty document");
  expect_error(s_first_error_wins, STANCE_ERANGE, "NaN");
}
END_TEST

START_TEST(test_invalid_string_writes_nothing)
{
  /* A refused string must not leave a half-written token in the output. */
  Capture c;
  StanceJson *j = capture_open(&c, false);
  stance_json_begin_array(j);
  stance_json_string(j, "ok");
  stance_json_string(j, "bad\xfe");
  stance_json_end_array(j);
  ck_assert_int_eq(capture_close(&c, j, NULL), STANCE_EFORMAT);
  ck_assert_str_eq(c.buf, "[\"ok\",");
  free(c.buf);
}
END_TEST

START_TEST(test_write_failure)
{
  /* /dev/full accepts open but every write fails with ENOSPC; the writer must say so. */
  FILE *f = fopen("/dev/full", "w");
  ck_assert_ptr_nonnull(f);
  StanceJson *j = stance_json_new(f, true);
  ck_assert_ptr_nonnull(j);
  stance_json_begin_object(j);
  stance_json_kv_string(j, "a", "b");
  stance_json_end_object(j);
  StanceError err = {0};
  ck_assert_int_eq(stance_json_finish(j, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, "No space left") != NULL, "message: %s", err.message);
  fclose(f);
}
END_TEST

START_TEST(test_null_arguments)
{
  ck_assert_ptr_null(stance_json_new(NULL, true));
  StanceError err = {0};
  ck_assert_int_eq(stance_json_finish(NULL, &err), STANCE_EINVAL);
  /* Calls on a NULL writer are ignored rather than crashing. */
  stance_json_begin_object(NULL);
  stance_json_kv_number(NULL, "a", 1.0);
  stance_json_end_object(NULL);
}
END_TEST

START_TEST(test_deep_nesting)
{
  /* More levels than the initial stack: the stack grows; 200 arrays then 200 closes. */
  Capture c;
  StanceJson *j = capture_open(&c, false);
  for (int k = 0; k < 200; k++)
    stance_json_begin_array(j);
  for (int k = 0; k < 200; k++)
    stance_json_end_array(j);
  ck_assert_int_eq(capture_close(&c, j, NULL), STANCE_OK);
  ck_assert_uint_eq(c.len, 400);
  for (int k = 0; k < 200; k++) {
    ck_assert_int_eq(c.buf[k], '[');
    ck_assert_int_eq(c.buf[200 + k], ']');
  }
  free(c.buf);
}
END_TEST

/* Cleaning text for an output: valid text passes as is; each invalid byte becomes U+FFFD; a
 * small buffer cuts at a character boundary, never inside U+FFFD. */
START_TEST(test_utf8_clean)
{
  char buf[16];
  const char *ok = "Jos\xc3\xa9";
  ck_assert_ptr_eq(stance_utf8_clean(ok, buf, sizeof buf), ok);
  ck_assert_str_eq(stance_utf8_clean(NULL, buf, sizeof buf), "");
  ck_assert_str_eq(stance_utf8_clean("a\xff"
                                     "b",
                                     buf, sizeof buf),
                   "a\xef\xbf\xbd"
                   "b");
  /* A cut-short sequence: its lead byte and the lone continuation both become U+FFFD. */
  ck_assert_str_eq(stance_utf8_clean("\xe2\x82"
                                     "x",
                                     buf, sizeof buf),
                   "\xef\xbf\xbd\xef\xbf\xbd"
                   "x");
  /* 5 bytes of room: "a" and one replacement (4 with the NUL), not a partial second one. */
  ck_assert_str_eq(stance_utf8_clean("a\xff\xff", buf, 5), "a\xef\xbf\xbd");
}
END_TEST

static Suite *
json_suite(void)
{
  Suite *s = suite_create("json");
  TCase *tc = tcase_create("writer");
  tcase_add_test(tc, test_pretty_nested);
  tcase_add_test(tc, test_compact_nested);
  tcase_add_test(tc, test_top_level_scalar);
  tcase_add_test(tc, test_number_text);
  tcase_add_test(tc, test_number_roundtrip);
  tcase_add_test(tc, test_escaping);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_invalid_string_writes_nothing);
  tcase_add_test(tc, test_write_failure);
  tcase_add_test(tc, test_null_arguments);
  tcase_add_test(tc, test_deep_nesting);
  tcase_add_test(tc, test_utf8_clean);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(json_suite());
}
