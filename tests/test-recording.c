/* Tests of the recording model: layouts, derived forces, centre of pressure, gaps, metadata.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-recording.h"
#include "stance-test.h"

/* A CELLS recording whose counts encode known cell forces through a non-trivial calibration. */
static StanceRecording *
make_cells(const double forces[][STANCE_N_CELLS], size_t n, StanceCalibration *cal_out)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_ptr_nonnull(rec);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    rec->calib.offset_counts[c] = 1000.0 * (c + 1);
    rec->calib.gain_n_per_count[c] = 0.0004 * (1.0 + 0.01 * c);
  }
  for (size_t i = 0; i < n; i++) {
    int32_t counts[STANCE_N_CELLS];
    for (int c = 0; c < STANCE_N_CELLS; c++)
      counts[c] = (int32_t)lround(rec->calib.offset_counts[c] +
                                  forces[i][c] / rec->calib.gain_n_per_count[c]);
    ck_assert_int_eq(stance_recording_append_counts(rec, counts, 0), STANCE_OK);
  }
  if (cal_out)
    *cal_out = rec->calib;
  return rec;
}

START_TEST(test_cells_forces)
{
  /* Left plate: 100 N on each cell; right plate: 50, 150, 250, 50 N. */
  const double f[2][STANCE_N_CELLS] = {
      {100, 100, 100, 100, 50, 150, 250, 50},
      {0, 0, 0, 0, 0, 0, 0, 0},
  };
  StanceRecording *rec = make_cells(f, 2, NULL);
  /* Counts are rounded to whole codes: a code is 0.0004 N, so 1e-3 N is plenty. */
  ck_assert_near(stance_recording_force_at(rec, 0, STANCE_SEL_LEFT), 400.0, 1e-3);
  ck_assert_near(stance_recording_force_at(rec, 0, STANCE_SEL_RIGHT), 500.0, 1e-3);
  ck_assert_near(stance_recording_force_at(rec, 0, STANCE_SEL_TOTAL), 900.0, 1e-3);
  ck_assert_near(stance_recording_force_at(rec, 1, STANCE_SEL_TOTAL), 0.0, 1e-3);
  ck_assert_near(stance_recording_cell_force(rec, 0, 6), 250.0, 1e-3);
  ck_assert(stance_recording_has_limbs(rec));
  ck_assert_int_eq(stance_recording_cop_plates(rec), 2);

  double out[2];
  ck_assert_int_eq(stance_recording_force(rec, STANCE_SEL_RIGHT, out, NULL), STANCE_OK);
  ck_assert_near(out[0], 500.0, 1e-3);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_cells_cop)
{
  /* Default geometry: cells at (-170, 270), (170, 270), (170, -270), (-170, -270) mm.
   * Right plate 50/150/250/50 N: x = (-50*170 + 150*170 + 250*170 - 50*170) / 500 = 102 mm,
   * y = (50*270 + 150*270 - 250*270 - 50*270) / 500 = -54 mm. */
  const double f[2][STANCE_N_CELLS] = {
      {100, 100, 100, 100, 50, 150, 250, 50},
      {2, 2, 2, 2, 0, 0, 0, 0}, /* 8 N on the left plate: below the 20 N threshold */
  };
  StanceRecording *rec = make_cells(f, 2, NULL);
  double x[2], y[2];
  uint8_t valid[2];
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_RIGHT, 20.0, x, y, valid, NULL), STANCE_OK);
  ck_assert_int_eq(valid[0], 1);
  ck_assert_near(x[0], 102.0, 0.01);
  ck_assert_near(y[0], -54.0, 0.01);
  ck_assert_int_eq(valid[1], 0);
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_LEFT, 20.0, x, y, valid, NULL), STANCE_OK);
  ck_assert_near(x[0], 0.0, 0.01);
  ck_assert_near(y[0], 0.0, 0.01);
  ck_assert_int_eq(valid[1], 0);
  StanceError err = {0};
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_TOTAL, 20.0, x, y, valid, &err),
                   STANCE_ENOTAVAIL);
  ck_assert_ptr_nonnull(strstr(err.message, "left or the right"));
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_combined_has_no_limbs)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 1200.0, false);
  double f = 587.25;
  ck_assert_int_eq(stance_recording_append_forces(rec, &f, NULL, 0), STANCE_OK);
  ck_assert(!stance_recording_has_limbs(rec));
  ck_assert_int_eq(stance_recording_cop_plates(rec), 0);
  ck_assert_near(stance_recording_force_at(rec, 0, STANCE_SEL_TOTAL), 587.25, 0);
  double out[1];
  StanceError err = {0};
  ck_assert_int_eq(stance_recording_force(rec, STANCE_SEL_LEFT, out, &err), STANCE_ENOTAVAIL);
  ck_assert_ptr_nonnull(strstr(err.message, "no left plate"));
  uint8_t v[1];
  double x[1], y[1];
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_TOTAL, 20.0, x, y, v, &err),
                   STANCE_ENOTAVAIL);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_plates_with_cop)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 1000.0, true);
  const double f[2] = {431.0, 10.0};
  const double cop[4] = {12.5, -40.0, 3.0, 4.0};
  ck_assert_int_eq(stance_recording_append_forces(rec, f, cop, 0), STANCE_OK);
  ck_assert_int_eq(stance_recording_cop_plates(rec), 2);
  double x[1], y[1];
  uint8_t v[1];
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_LEFT, 20.0, x, y, v, NULL), STANCE_OK);
  ck_assert_int_eq(v[0], 1);
  ck_assert_near(x[0], 12.5, 0);
  ck_assert_near(y[0], -40.0, 0);
  ck_assert_int_eq(stance_recording_cop(rec, STANCE_SEL_RIGHT, 20.0, x, y, v, NULL), STANCE_OK);
  ck_assert_int_eq(v[0], 0); /* 10 N is below the threshold */
  ck_assert_near(stance_recording_force_at(rec, 0, STANCE_SEL_TOTAL), 441.0, 0);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_gaps_and_growth)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 1000.0, false);
  const double f[2] = {300.0, 310.0};
  /* Far beyond the first block so that growth is exercised. */
  for (int i = 0; i < 5000; i++)
    ck_assert_int_eq(stance_recording_append_forces(rec, f, NULL, 0), STANCE_OK);
  ck_assert_int_eq(stance_recording_append_gap(rec, 25), STANCE_OK);
  ck_assert_int_eq(stance_recording_append_forces(rec, f, NULL, STANCE_STATUS_OVERFLOW | 0x3),
                   STANCE_OK);
  ck_assert_uint_eq(rec->n_samples, 5026);
  ck_assert_uint_eq(stance_recording_count_gaps(rec), 25);
  ck_assert_uint_eq(stance_recording_count_saturated(rec), 1);
  /* A gap sample reads as 0 N and never as the neighbours' values. */
  ck_assert_near(stance_recording_force_at(rec, 5010, STANCE_SEL_TOTAL), 0.0, 0);
  ck_assert_near(stance_recording_force_at(rec, 5025, STANCE_SEL_TOTAL), 610.0, 0);
  ck_assert_near(stance_recording_duration(rec), 5.026, 1e-12);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_slice)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000.0, true);
  rec->meta.start_unix_ms = 1700000000000;
  stance_meta_set(&rec->meta, "k", "v");
  for (int i = 0; i < 3000; i++) {
    double f = i, cop[2] = {i * 0.5, -i * 0.25};
    stance_recording_append_forces(rec, &f, cop, 0);
  }
  StanceRecording *s = stance_recording_slice(rec, 1000, 500);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(s->n_samples, 500);
  ck_assert_near(s->force_n[0], 1000.0, 0);
  ck_assert_near(s->cop_mm[1], -250.0, 0);
  ck_assert_int_eq(s->meta.start_unix_ms, 1700000001000);
  ck_assert_str_eq(stance_meta_get(&s->meta, "k"), "v");
  ck_assert_ptr_null(stance_recording_slice(rec, 2900, 200));
  stance_recording_free(s);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_meta)
{
  StanceMeta m;
  memset(&m, 0, sizeof m);
  ck_assert_int_eq(stance_meta_set(&m, "seed", "1"), STANCE_OK);
  ck_assert_int_eq(stance_meta_set(&m, "seed", "2"), STANCE_OK);
  ck_assert_int_eq(m.n_extra, 1);
  ck_assert_str_eq(stance_meta_get(&m, "seed"), "2");
  ck_assert_ptr_null(stance_meta_get(&m, "nope"));
  char key[16];
  for (int i = 1; i < STANCE_META_MAX_EXTRA; i++) {
    snprintf(key, sizeof key, "k%d", i);
    ck_assert_int_eq(stance_meta_set(&m, key, "x"), STANCE_OK);
  }
  ck_assert_int_eq(stance_meta_set(&m, "one-too-many", "x"), STANCE_ERANGE);
  char longv[400];
  memset(longv, 'a', sizeof longv - 1);
  longv[sizeof longv - 1] = 0;
  ck_assert_int_eq(stance_meta_set(&m, "seed", longv), STANCE_ERANGE);
}
END_TEST

START_TEST(test_calibration_validate)
{
  StanceCalibration cal;
  stance_calibration_default(&cal);
  ck_assert_int_eq(stance_calibration_validate(&cal, NULL), STANCE_OK);
  /* The default's 1 N/count gains are the placeholder; one real gain makes it a calibration. */
  ck_assert(stance_calibration_is_placeholder(&cal));
  cal.gain_n_per_count[7] = 0.0004;
  ck_assert(!stance_calibration_is_placeholder(&cal));
  stance_calibration_default(&cal);
  StanceError err = {0};
  cal.gain_n_per_count[5] = 0.0;
  ck_assert_int_eq(stance_calibration_validate(&cal, &err), STANCE_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.message, "cell 6"));
  stance_calibration_default(&cal);
  cal.gain_n_per_count[0] = NAN;
  ck_assert_int_eq(stance_calibration_validate(&cal, &err), STANCE_ERANGE);
  stance_calibration_default(&cal);
  for (int c = 0; c < 4; c++)
    cal.plate[1].cell[c] = (StanceCellPos){10.0, 10.0};
  ck_assert_int_eq(stance_calibration_validate(&cal, &err), STANCE_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.message, "plate 2"));
}
END_TEST

START_TEST(test_bad_arguments)
{
  ck_assert_ptr_null(stance_recording_new(STANCE_LAYOUT_CELLS, 0.0, false));
  ck_assert_ptr_null(stance_recording_new(STANCE_LAYOUT_CELLS, NAN, false));
  ck_assert_ptr_null(stance_recording_new((StanceLayout)7, 1000.0, false));
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  double f[8] = {0};
  ck_assert_int_eq(stance_recording_append_forces(rec, f, NULL, 0), STANCE_EINVAL);
  ck_assert_near(stance_recording_force_at(rec, 99, STANCE_SEL_TOTAL), 0.0, 0);
  stance_recording_free(rec);
  stance_recording_free(NULL);
}
END_TEST

START_TEST(test_protocol_names)
{
  for (int p = STANCE_PROTO_CMJ; p < STANCE_PROTO_COUNT; p++) {
    const StanceProtocolInfo *info = stance_protocol_info((StanceProtocol)p);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(stance_protocol_from_name(info->name), p);
  }
  ck_assert_int_eq(stance_protocol_from_name("Split_Squat"), STANCE_PROTO_SPLIT_SQUAT);
  ck_assert_int_eq(stance_protocol_from_name("split"), STANCE_PROTO_UNKNOWN);
  StanceSide s;
  ck_assert(stance_side_from_name("R", &s));
  ck_assert_int_eq(s, STANCE_SIDE_RIGHT);
  ck_assert(!stance_side_from_name("middle", &s));
}
END_TEST

static Suite *
recording_suite(void)
{
  Suite *s = suite_create("recording");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, test_cells_forces);
  tcase_add_test(tc, test_cells_cop);
  tcase_add_test(tc, test_combined_has_no_limbs);
  tcase_add_test(tc, test_plates_with_cop);
  tcase_add_test(tc, test_gaps_and_growth);
  tcase_add_test(tc, test_slice);
  tcase_add_test(tc, test_meta);
  tcase_add_test(tc, test_calibration_validate);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_protocol_names);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(recording_suite());
}
