/* test-import.c: text import of other systems' force-time files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every shared data file in tests/data is imported and checked against values read from the files
 * themselves (first and last value of each channel, exactly as printed) and against the figures
 * the data sets' READMEs state (body weight, flights, peak forces). Synthetic buffers cover the
 * detection rules, the options and every error message. Expected values were computed with an
 * independent Python csv reader from the same files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stance-import.h"
#include "stance-test.h"

/* ---- helpers ---- */

static void
import_ok(const char *rel, const StanceImportOptions *opt, StanceImportResult *res)
{
  char *path = stance_test_data_path(rel);
  StanceError err = {0};
  int r = stance_import_text(path, opt, res, &err);
  ck_assert_msg(r == 0, "%s: import failed (%d): %s", rel, r, err.message);
  ck_assert_uint_ge(res->n_recs, 1);
  free(path);
}

static void
buffer_ok(const char *text, const StanceImportOptions *opt, StanceImportResult *res)
{
  StanceError err = {0};
  int r = stance_import_text_buffer("synthetic.csv", text, strlen(text), opt, res, &err);
  ck_assert_msg(r == 0, "import of %.200s failed (%d): %s", text, r, err.message);
}

/* Imports text, expects failure with code and a message containing every given fragment. */
static void
buffer_fails(const char *text, const StanceImportOptions *opt, int code, const char *frag1,
             const char *frag2)
{
  StanceImportResult res;
  StanceError err = {0};
  int r = stance_import_text_buffer("bad.csv", text, strlen(text), opt, &res, &err);
  ck_assert_msg(r == code, "expected code %d, got %d (%s) for input '%.200s'", code, r, err.message,
                text);
  ck_assert_int_eq(err.code, code);
  ck_assert_ptr_null(res.recs);
  ck_assert_uint_eq(res.n_recs, 0);
  ck_assert_msg(strncmp(err.message, "bad.csv: ", 9) == 0, "message lacks the name: %s",
                err.message);
  if (frag1)
    ck_assert_msg(strstr(err.message, frag1), "message '%s' lacks '%s'", err.message, frag1);
  if (frag2)
    ck_assert_msg(strstr(err.message, frag2), "message '%s' lacks '%s'", err.message, frag2);
}

static double
force(const StanceRecording *rec, size_t i, size_t ch)
{
  ck_assert_uint_lt(i, rec->n_samples);
  ck_assert_uint_lt(ch, rec->n_channels);
  return rec->force_n[i * rec->n_channels + ch];
}

static double
cop(const StanceRecording *rec, size_t i, size_t ch, int axis)
{
  ck_assert_ptr_nonnull(rec->cop_mm);
  return rec->cop_mm[(i * rec->n_channels + ch) * 2 + (size_t)axis];
}

/* The parser is correctly rounded for these short decimals (Clinger's fast path), so values equal
 * the C literal of the printed text exactly. */
static void
check_ends(const StanceRecording *rec, size_t ch, double first, double last)
{
  ck_assert_msg(force(rec, 0, ch) == first, "channel %zu first %.17g, expected %.17g", ch,
                force(rec, 0, ch), first);
  ck_assert_msg(force(rec, rec->n_samples - 1, ch) == last,
                "channel %zu last %.17g, expected %.17g", ch, force(rec, rec->n_samples - 1, ch),
                last);
}

static double
mean_total(const StanceRecording *rec, size_t from, size_t n)
{
  double s = 0;
  for (size_t i = from; i < from + n; i++)
    s += stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
  return s / (double)n;
}

static double
mean_channel(const StanceRecording *rec, size_t ch, size_t from, size_t n)
{
  double s = 0;
  for (size_t i = from; i < from + n; i++)
    s += force(rec, i, ch);
  return s / (double)n;
}

static void
check_meta(const StanceRecording *rec, const char *key, const char *want)
{
  const char *v = stance_meta_get(&rec->meta, key);
  ck_assert_msg(v != NULL, "metadata %s missing", key);
  ck_assert_msg(strcmp(v, want) == 0, "metadata %s = '%s', expected '%s'", key, v, want);
}

static void
check_meta_has(const StanceRecording *rec, const char *key, const char *frag)
{
  const char *v = stance_meta_get(&rec->meta, key);
  ck_assert_msg(v != NULL, "metadata %s missing", key);
  ck_assert_msg(strstr(v, frag), "metadata %s = '%s' lacks '%s'", key, v, frag);
}

static void
check_notes_has(const StanceImportResult *res, const char *frag)
{
  ck_assert_msg(strstr(res->notes, frag), "notes lack '%s':\n%s", frag, res->notes);
}

/* ---- shiny-vertical-jump ---- */

START_TEST(test_shiny_single_trial)
{
  StanceImportResult res;
  import_ok("shiny-vertical-jump/single_trial.csv", NULL, &res);
  ck_assert_uint_eq(res.n_recs, 1);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert_uint_eq(rec->n_samples, 5589);
  ck_assert(rec->sample_rate_hz == 1000.0);
  ck_assert(rec->meta.rate_assumed);  /* no time column, no rate given */
  ck_assert(rec->meta.sides_assumed); /* "fp1,fp2" does not say which foot */
  ck_assert_ptr_null(rec->cop_mm);
  check_ends(rec, 0, 399.52, 240.7); /* fp1 = left */
  check_ends(rec, 1, 405.08, 10.04);
  /* README: body mass = mean(fp1+fp2 over the first 1000 samples)/9.81 = 80.5062395514781 kg;
   * the app's own output, so only summation order differs: 1e-9 kg. */
  ck_assert_near(mean_total(rec, 0, 1000) / 9.81, 80.5062395514781, 1e-9);
  /* README: peak force 1959.73 N at sample 3704 = FP1 989.14 + FP2 970.59. */
  ck_assert(force(rec, 3704, 0) == 989.14);
  ck_assert(force(rec, 3704, 1) == 970.59);
  ck_assert_near(stance_recording_force_at(rec, 3704, STANCE_SEL_TOTAL), 1959.73, 1e-9);
  check_meta(rec, "import.columns", "left=fp1,right=fp2");
  check_meta(rec, "import.layout", "two force plates (FP1, FP2)");
  ck_assert_str_eq(rec->meta.source, "import:single_trial.csv");
  check_notes_has(&res, "assumed");
  check_notes_has(&res, "FP1 = left");
  stance_import_result_clear(&res);
  ck_assert_ptr_null(res.recs);
}
END_TEST

START_TEST(test_shiny_wide)
{
  StanceImportResult res;
  import_ok("shiny-vertical-jump/wide_data.csv", NULL, &res);
  /* Four trials side by side, (FP1, FP2) column pairs; the pairs of trials 1 and 3 differ by one
   * trailing value, which is dropped (rows where both exist). */
  ck_assert_uint_eq(res.n_recs, 4);
  const size_t n[4] = {10629, 11144, 8809, 9756};
  const double first[4][2] = {{1.67, 1.46}, {-0.43, 1.42}, {631.79, 63.61}, {-0.02, 1.85}};
  const double last[4][2] = {
      {282.24, 291.31}, {316.84, 361.18}, {311.37, 332.01}, {561.07, 177.39}};
  for (int k = 0; k < 4; k++) {
    StanceRecording *rec = res.recs[k];
    ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
    ck_assert_uint_eq(rec->n_samples, n[k]);
    ck_assert(rec->sample_rate_hz == 1000.0);
    ck_assert(rec->meta.rate_assumed);
    ck_assert(rec->meta.sides_assumed);
    check_ends(rec, 0, first[k][0], last[k][0]);
    check_ends(rec, 1, first[k][1], last[k][1]);
    char want[32];
    snprintf(want, sizeof want, "left=%d,right=%d", 2 * k + 1, 2 * k + 2);
    check_meta(rec, "import.columns", want);
  }
  check_meta(res.recs[1], "import.trial", "2/4 (columns 3-4)");
  /* README (ref_2019-11-08_sj_analysis.csv): the SJ rows are trials 1 and 2, peak forces 1421.6 N
   * and 1515.59 N; located at samples 8210 and 8780 of fp1+fp2. Two-decimal sums: 1e-9 N. */
  ck_assert_near(stance_recording_force_at(res.recs[0], 8210, STANCE_SEL_TOTAL), 1421.6, 1e-9);
  ck_assert_near(stance_recording_force_at(res.recs[1], 8780, STANCE_SEL_TOTAL), 1515.59, 1e-9);
  check_notes_has(&res, "trial 1: 1 value without a partner");
  check_notes_has(&res, "trial 3: 1 value without a partner");
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_shiny_long_and_reference_segment)
{
  StanceImportResult res;
  import_ok("shiny-vertical-jump/long_1.csv", NULL, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert_uint_eq(rec->n_samples, 58050); /* README: 58 s at 1000 Hz */
  ck_assert(rec->meta.rate_assumed && rec->meta.sides_assumed);
  check_ends(rec, 0, 0.5, -4.5);
  check_ends(rec, 1, -0.3, 9.0);
  /* README: flights of ~0.6 s start near samples 11431, 26026, 37789, 48438: the plates are
   * unloaded there (total below 20 N, the usual flight threshold). */
  const size_t flights[4] = {11431, 26026, 37789, 48438};
  for (int k = 0; k < 4; k++)
    ck_assert_double_lt(stance_recording_force_at(rec, flights[k] + 100, STANCE_SEL_TOTAL), 20.0);
  stance_import_result_clear(&res);

  /* The phase-labelled reference segment carries text columns around time, fp1, fp2: the text is
   * ignored, the time column gives 1000 Hz and the start time 7.072 s. */
  import_ok("shiny-vertical-jump/ref_2021-07-17_phase_labelled_cmj_segment.csv", NULL, &res);
  rec = res.recs[0];
  ck_assert_uint_eq(rec->n_samples, 654);
  ck_assert(rec->sample_rate_hz == 1000.0);
  ck_assert(!rec->meta.rate_assumed);
  check_ends(rec, 0, 349.43, -37.8);
  check_ends(rec, 1, 355.25, 36.14);
  check_meta(rec, "import.time_start_s", "7.072");
  check_meta_has(rec, "import.ignored", "total_force");
  stance_import_result_clear(&res);
}
END_TEST

/* ---- plateforce ---- */

/* bw_100 of reference_subject01.csv for trial k (1-based), read from the file. */
static double
reference_bw100(int trial)
{
  char *path = stance_test_data_path("plateforce/reference_subject01.csv");
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  free(path);
  char line[8192];
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  int col = -1, k = 0;
  for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), k++)
    if (strcmp(tok, "bw_100") == 0)
      col = k;
  ck_assert_int_ge(col, 0);
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

START_TEST(test_plateforce)
{
  const size_t n[6] = {6000, 6000, 4076, 3461, 4201, 6000};
  const double first[6] = {584.3485, 567.5729, 587.1444, 589.9403, 585.7464, 582.9505};
  const double last[6] = {868.1349, 0, 1.398, 1.398, 0, 0};
  for (int k = 0; k < 6; k++) {
    char rel[64];
    snprintf(rel, sizeof rel, "plateforce/subject01_trial%d.force.txt", k + 1);
    StanceImportResult res;
    /* Without a rate: 1000 Hz, flagged as assumed. */
    import_ok(rel, NULL, &res);
    StanceRecording *rec = res.recs[0];
    ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
    ck_assert_uint_eq(rec->n_samples, n[k]);
    ck_assert(rec->sample_rate_hz == 1000.0 && rec->meta.rate_assumed);
    ck_assert(!rec->meta.sides_assumed);
    check_ends(rec, 0, first[k], last[k]);
    check_meta(rec, "import.columns", "total=1");
    check_notes_has(&res, "1000 Hz assumed");
    stance_import_result_clear(&res);

    /* With the README's 1200 Hz. */
    StanceImportOptions opt;
    stance_import_options_default(&opt);
    opt.rate_hz = 1200;
    import_ok(rel, &opt, &res);
    rec = res.recs[0];
    ck_assert(rec->sample_rate_hz == 1200.0 && !rec->meta.rate_assumed);
    ck_assert_uint_eq(rec->n_samples, n[k]);
    /* bw_100 is the mean over the first 1.00 s (1200 samples at 1200 Hz): found to match the
     * frozen reference to its printed 7 decimals; 1e-6 N covers summation order and printing. */
    double bw = mean_total(rec, 0, (size_t)lround(1.0 * rec->sample_rate_hz));
    ck_assert_near(bw, reference_bw100(k + 1), 1e-6);
    /* README: body weight ~584-587 N (rounded): 583.5 .. 587.5. */
    ck_assert_double_ge(bw, 583.5);
    ck_assert_double_le(bw, 587.5);
    stance_import_result_clear(&res);
  }
}
END_TEST

/* ---- ACL_squat_jump (OpenSim exports) ---- */

typedef struct {
  const char *file;
  size_t n;
  double t0;
  double left[2], right[2]; /* ground_force2_vy, ground_force1_vy: first, last */
  double lcop[4], rcop[4];  /* pz, px first; pz, px last (metres, as printed) */
  int n_flights;
  size_t flights[3]; /* README: flight lengths (ms = samples at 1000 Hz) */
  const char *time_start;
} AclCase;

static const AclCase ACL[] = {
    {"ACL_squat_jump/BFR003_squat_jump.csv",
     12080,
     0,
     {393.959076, 317.816559},
     {392.891296, 470.813843},
     {-0.678939, 0.278425, -0.684573, 0.409967},
     {-1.105239, 0.241716, -1.075496, 0.303357},
     3,
     {290, 309, 304},
     "0"},
    {"ACL_squat_jump/BFR007_1st_squat_jump.csv",
     4000,
     0,
     {431.299866, 441.939667},
     {451.770203, 440.210815},
     {-0.74556, 0.356508, -0.731052, 0.29987},
     {-1.098607, 0.341258, -1.086549, 0.276132},
     1,
     {278},
     "0"},
    {"ACL_squat_jump/BFR007_2nd_squat_jump.csv",
     5000,
     4,
     {441.631805, 469.492371},
     {440.052979, 415.647339},
     {-0.73172, 0.300143, -0.741675, 0.25077},
     {-1.087342, 0.275918, -1.083154, 0.231159},
     1,
     {324},
     "4"},
    {"ACL_squat_jump/BFR007_3rd_squat_jump.csv",
     7350,
     9,
     {467.588623, 0},
     {415.017456, 0},
     {-0.743384, 0.250414, -0.45, 0.3},
     {-1.082773, 0.231075, -1.354, 0.3},
     1,
     {313},
     "9"},
    {"ACL_squat_jump/BFR010_squat_jump.csv",
     7850,
     0,
     {266.604462, 258.976715},
     {314.73877, 320.15506},
     {-0.745702, 0.360397, -0.680884, 0.218583},
     {-1.052234, 0.350272, -1.08741, 0.213661},
     3,
     {311, 317, 327},
     "0"},
};

START_TEST(test_acl_opensim)
{
  const AclCase *a = &ACL[_i];
  StanceImportResult res;
  import_ok(a->file, NULL, &res);
  ck_assert_uint_eq(res.n_recs, 1);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert_uint_eq(rec->n_samples, a->n);
  ck_assert(rec->sample_rate_hz == 1000.0); /* from the time column, step 0.001 s */
  ck_assert(!rec->meta.rate_assumed);
  /* ground_force1 = right, ground_force2 = left: stated by the data set's README, not by the
   * file, so flagged as assumed. */
  ck_assert(rec->meta.sides_assumed);
  check_ends(rec, 0, a->left[0], a->left[1]);
  check_ends(rec, 1, a->right[0], a->right[1]);
  check_meta(rec, "import.columns", "time=time,left=ground_force2_vy,right=ground_force1_vy");
  check_meta(rec, "import.time_start_s", a->time_start);
  check_meta_has(rec, "import.cop", "lab origin");
  /* CoP: x = -1000 * pz, y = -1000 * px (mm). One multiplication by 1000 of a 6-decimal value:
   * within 1e-9 mm. */
  ck_assert_ptr_nonnull(rec->cop_mm);
  size_t e = rec->n_samples - 1;
  ck_assert_near(cop(rec, 0, 0, 0), -1000 * a->lcop[0], 1e-9);
  ck_assert_near(cop(rec, 0, 0, 1), -1000 * a->lcop[1], 1e-9);
  ck_assert_near(cop(rec, e, 0, 0), -1000 * a->lcop[2], 1e-9);
  ck_assert_near(cop(rec, e, 0, 1), -1000 * a->lcop[3], 1e-9);
  ck_assert_near(cop(rec, 0, 1, 0), -1000 * a->rcop[0], 1e-9);
  ck_assert_near(cop(rec, 0, 1, 1), -1000 * a->rcop[1], 1e-9);
  ck_assert_near(cop(rec, e, 1, 0), -1000 * a->rcop[2], 1e-9);
  ck_assert_near(cop(rec, e, 1, 1), -1000 * a->rcop[3], 1e-9);
  /* The right foot (plate 1) stands to the right of the left one in our frame. */
  ck_assert_double_gt(cop(rec, 0, 1, 0), cop(rec, 0, 0, 0) + 200.0);
  /* README sanity figures: flights (total < 20 N) lasting these many ms; runs that reach the end
   * of the file (stepping off) are not flights. */
  size_t found[8], nf = 0, run = 0;
  for (size_t i = 0; i <= rec->n_samples; i++) {
    bool low = i < rec->n_samples && stance_recording_force_at(rec, i, STANCE_SEL_TOTAL) < 20.0;
    if (low) {
      run++;
    } else {
      if (run >= 100 && i < rec->n_samples && nf < 8)
        found[nf++] = run;
      run = 0;
    }
  }
  ck_assert_int_eq((int)nf, a->n_flights);
  for (int k = 0; k < a->n_flights; k++)
    ck_assert_uint_eq(found[k], a->flights[k]);
  if (strstr(a->file, "BFR007")) /* project_starter files: "Relative Time" and "time" */
    check_notes_has(&res, "second time column");
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_acl_standing_asymmetry)
{
  /* README: standing FP1/FP2 in the first 0.5 s of BFR007 trial 1 ~431/399 N, i.e. right 431,
   * left 399. Exact means 430.68828 and 398.55081 (Python); README figures are whole newtons. */
  StanceImportResult res;
  import_ok("ACL_squat_jump/BFR007_1st_squat_jump.csv", NULL, &res);
  StanceRecording *rec = res.recs[0];
  size_t n = (size_t)lround(0.5 * rec->sample_rate_hz);
  ck_assert_near(mean_channel(rec, 1, 0, n), 431.0, 0.5);
  ck_assert_near(mean_channel(rec, 0, 0, n), 399.0, 0.5);
  ck_assert_near(mean_channel(rec, 1, 0, n), 430.688279908, 1e-6);
  ck_assert_near(mean_channel(rec, 0, 0, n), 398.550807709, 1e-6);
  stance_import_result_clear(&res);

  /* The 2nd trial continues where the 1st ended (time 4.000 s): the two files join up. */
  import_ok("ACL_squat_jump/BFR007_2nd_squat_jump.csv", NULL, &res);
  check_meta(res.recs[0], "import.time_start_s", "4");
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_acl_explicit_and_skip)
{
  /* The same file read with an explicit mapping and a forced preamble skip gives the same forces,
   * with the sides now stated by the user. */
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  opt.skip_lines = 6;
  opt.columns = "time=time,left=GROUND_FORCE2_VY,right=3";
  StanceImportResult res;
  import_ok("ACL_squat_jump/BFR010_squat_jump.csv", &opt, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_uint_eq(rec->n_samples, 7850);
  ck_assert(!rec->meta.sides_assumed);
  ck_assert_ptr_null(rec->cop_mm);
  check_ends(rec, 0, 266.604462, 258.976715);
  check_ends(rec, 1, 314.73877, 320.15506);
  stance_import_result_clear(&res);
}
END_TEST

/* ---- Vertical-Jumps-Fz-Automated-Analysis ---- */

typedef struct {
  const char *name;
  double fp1[2], fp2[2], single[2];
  double standing;      /* README quiet-standing total (whole newtons) */
  bool standing_at_end; /* CMJ weighed in the first second, SJ/DJ in the last */
  double peak;          /* README peak total (whole newtons) */
} VjCase;

static const VjCase VJ[] = {
    {"CMJ", {301.312, 301.312}, {359.844, 362.647}, {661.156, 663.959}, 663, false, 2330},
    {"SJ", {309.682, 340.371}, {347.52, 319.494}, {657.202, 659.865}, 661, true, 4004},
    {"DJ", {0, 309.682}, {1.688, 360.418}, {1.688, 670.1}, 665, true, 3100},
};

START_TEST(test_vertical_jumps)
{
  const VjCase *v = &VJ[_i];
  char rel[128];
  StanceImportResult dual, single;
  snprintf(rel, sizeof rel, "Vertical-Jumps-Fz-Automated-Analysis/Dual-%s-Fz.txt", v->name);
  import_ok(rel, NULL, &dual);
  snprintf(rel, sizeof rel, "Vertical-Jumps-Fz-Automated-Analysis/Single-%s-Fz.txt", v->name);
  import_ok(rel, NULL, &single);
  StanceRecording *d = dual.recs[0], *s = single.recs[0];
  ck_assert_int_eq(d->layout, STANCE_LAYOUT_PLATES);
  ck_assert_int_eq(s->layout, STANCE_LAYOUT_COMBINED);
  ck_assert_uint_eq(d->n_samples, 5000);
  ck_assert_uint_eq(s->n_samples, 5000);
  ck_assert(d->sample_rate_hz == 1000.0 && d->meta.rate_assumed && d->meta.sides_assumed);
  ck_assert(s->sample_rate_hz == 1000.0 && s->meta.rate_assumed && !s->meta.sides_assumed);
  check_ends(d, 0, v->fp1[0], v->fp1[1]);
  check_ends(d, 1, v->fp2[0], v->fp2[1]);
  check_ends(s, 0, v->single[0], v->single[1]);
  check_meta(d, "import.columns", "left=FP1,right=FP2");
  check_meta_has(d, "import.format", "tab");
  /* README: Single-X = FP1 + FP2 of Dual-X sample by sample; 3-decimal values, so their double
   * sums differ from the printed sum by at most ~1e-12 N. */
  double peak = 0;
  for (size_t i = 0; i < 5000; i++) {
    double tot = stance_recording_force_at(d, i, STANCE_SEL_TOTAL);
    ck_assert_near(tot, force(s, i, 0), 1e-9);
    peak = fmax(peak, tot);
  }
  /* README figures, whole newtons: within 0.5 N. */
  double standing = v->standing_at_end ? mean_total(d, 4000, 1000) : mean_total(d, 0, 1000);
  ck_assert_near(standing, v->standing, 0.5);
  ck_assert_near(peak, v->peak, 0.5);
  stance_import_result_clear(&dual);
  stance_import_result_clear(&single);
}
END_TEST

/* ---- IsometricAnalyzer ---- */

START_TEST(test_isometric_analyzer)
{
  StanceImportResult res;
  import_ok("IsometricAnalyzer/Example1.csv", NULL, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
  ck_assert_uint_eq(rec->n_samples, 19182);
  ck_assert(rec->sample_rate_hz == 1000.0 && !rec->meta.rate_assumed);
  ck_assert_ptr_null(rec->cop_mm);
  check_ends(rec, 0, 806.348493, 614.726920);
  check_meta(rec, "import.columns", "time=Time,total=Fz");
  stance_import_result_clear(&res);

  import_ok("IsometricAnalyzer/Example2.csv", NULL, &res);
  rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
  ck_assert_uint_eq(rec->n_samples, 23793);
  ck_assert(rec->sample_rate_hz == 1000.0 && !rec->meta.rate_assumed);
  check_ends(rec, 0, 1046.172534, 1.172967);
  ck_assert_int_eq(stance_recording_cop_plates(rec), 1);
  /* CoP in metres (README) -> mm: 0.063746 m = 63.746 mm. */
  size_t e = rec->n_samples - 1;
  ck_assert_near(cop(rec, 0, 0, 0), 63.746, 1e-9);
  ck_assert_near(cop(rec, 0, 0, 1), -28.519, 1e-9);
  ck_assert_near(cop(rec, e, 0, 0), 0.0, 1e-12);
  check_meta(rec, "import.columns", "time=Time,total=Fz,copx=CoPx,copy=CoPy");
  check_meta(rec, "import.ignored", "Mx,My");
  check_meta_has(rec, "import.cop", "metres");
  check_notes_has(&res, "Mx, My (moments are not part of");
  stance_import_result_clear(&res);
}
END_TEST

/* ---- synthetic: detection ---- */

START_TEST(test_decimal_comma_semicolon)
{
  StanceImportResult res;
  buffer_ok("\xef\xbb\xbfTime;Left;Right\r\n0,000;400,5;410,25\r\n0,001;401;409,75\r\n"
            "0,002;-1,5e1;2,0\r\n\r\n\r\n",
            NULL, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert_uint_eq(rec->n_samples, 3);
  ck_assert(rec->sample_rate_hz == 1000.0 && !rec->meta.rate_assumed);
  ck_assert(!rec->meta.sides_assumed); /* named left/right */
  ck_assert(force(rec, 0, 0) == 400.5 && force(rec, 0, 1) == 410.25);
  ck_assert(force(rec, 2, 0) == -15.0 && force(rec, 2, 1) == 2.0);
  check_meta(rec, "import.format", "semicolon; header; decimal comma");
  check_notes_has(&res, "decimal separator: comma (detected)");
  stance_import_result_clear(&res);

  /* Tab and decimal comma, no header; last line without a newline. */
  buffer_ok("1,5\t2,5\n3,25\t4", NULL, &res);
  rec = res.recs[0];
  ck_assert_uint_eq(rec->n_samples, 2);
  ck_assert(force(rec, 1, 0) == 3.25 && force(rec, 1, 1) == 4.0);
  ck_assert(rec->meta.sides_assumed && rec->meta.rate_assumed);
  stance_import_result_clear(&res);

  /* Forced: decimal comma with one column. */
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  opt.decimal_comma = 1;
  buffer_ok("661,156\n661,144\n", &opt, &res);
  ck_assert_uint_eq(res.recs[0]->n_samples, 2);
  ck_assert(force(res.recs[0], 0, 0) == 661.156);
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_tab_and_cr_line_ends)
{
  StanceImportResult res;
  /* Old Mac CR-only line ends, time step 2 ms -> 500 Hz. */
  buffer_ok("time\tfz\r0\t1.5\r0.002\t2.5\r0.004\t3.5\r", NULL, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
  ck_assert_uint_eq(rec->n_samples, 3);
  ck_assert(rec->sample_rate_hz == 500.0 && !rec->meta.rate_assumed);
  check_ends(rec, 0, 1.5, 3.5);
  check_meta(rec, "import.columns", "time=time,total=fz");
  stance_import_result_clear(&res);

  /* Quoted fields and a header with trailing empty fields (as OpenSim preambles have). */
  buffer_ok("\"Fz_left\",\"Fz_right\",,\n\"1.5\",\"2.5\",,\n3,4,,\n", NULL, &res);
  rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert_uint_eq(rec->n_samples, 2);
  check_ends(rec, 0, 1.5, 3.0);
  check_ends(rec, 1, 2.5, 4.0);
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_headerless)
{
  StanceImportResult res;
  /* Time + force, no header: 100 Hz. */
  buffer_ok("0,10\n0.01,11\n0.02,12\n0.03,13\n", NULL, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
  ck_assert(rec->sample_rate_hz == 100.0 && !rec->meta.rate_assumed);
  check_ends(rec, 0, 10, 13);
  check_meta(rec, "import.columns", "time=1,total=2");
  stance_import_result_clear(&res);

  /* Two force columns: left, right (assumed). */
  buffer_ok("5,3\n4,6\n7,1\n", NULL, &res);
  rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert(rec->meta.sides_assumed && rec->meta.rate_assumed);
  check_ends(rec, 0, 5, 7);
  check_ends(rec, 1, 3, 1);
  stance_import_result_clear(&res);

  /* Eight cells in Stance order: plates are sums, CoP from the default geometry. Left plate all
   * load on cell 2 (front-right, +170, +270 mm); right plate even load: CoP at the centre. */
  buffer_ok("0,100,0,0,50,50,50,50\n0,100,0,0,50,50,50,50\n", NULL, &res);
  rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  check_ends(rec, 0, 100, 100);
  check_ends(rec, 1, 200, 200);
  ck_assert_near(cop(rec, 0, 0, 0), 170.0, 1e-12);
  ck_assert_near(cop(rec, 0, 0, 1), 270.0, 1e-12);
  ck_assert_near(cop(rec, 0, 1, 0), 0.0, 1e-12);
  ck_assert_near(cop(rec, 0, 1, 1), 0.0, 1e-12);
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_time_units)
{
  StanceImportResult res;
  /* Integers with step 1 and no unit: milliseconds -> 1000 Hz. */
  buffer_ok("t,fz\n0,1\n1,2\n2,3\n3,4\n", NULL, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 1000.0);
  check_meta_has(res.recs[0], "import.rate", "milliseconds");
  stance_import_result_clear(&res);
  /* Stated in ms: 0.5 ms step -> 2000 Hz. */
  buffer_ok("Time (ms),Fz\n0,1\n0.5,2\n1.0,3\n1.5,4\n", NULL, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 2000.0);
  stance_import_result_clear(&res);
  /* Stated in seconds: a 1 s step is 1 Hz, not milliseconds. */
  buffer_ok("time (s),fz\n0,1\n1,2\n2,3\n", NULL, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 1.0);
  stance_import_result_clear(&res);
  /* 1200 Hz printed in whole milliseconds: steps of 0 and 1 ms, still exactly 1200 Hz. */
  char buf[65536];
  size_t k = (size_t)snprintf(buf, sizeof buf, "time,fz\n");
  for (int i = 0; i < 2400; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%.3f,%d\n", i / 1200.0, i);
  buffer_ok(buf, NULL, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 1200.0);
  ck_assert_uint_eq(res.recs[0]->n_samples, 2400);
  stance_import_result_clear(&res);
  /* A sample missing there is still found (line 1203: the jump from 1001 to 1003 ms). */
  k = (size_t)snprintf(buf, sizeof buf, "time,fz\n");
  for (int i = 0; i < 2400; i++)
    if (i != 1201)
      k += (size_t)snprintf(buf + k, sizeof buf - k, "%.3f,%d\n", i / 1000.0, i);
  buffer_fails(buf, NULL, STANCE_EFORMAT,
               "line 1203, column 1 ('time'): time 1.202 follows 1.2 (line 1202)", NULL);
}
END_TEST

START_TEST(test_explicit_mapping)
{
  const char *text = "a,b,c,d\n0,1,2,3\n0.001,4,5,6\n0.002,7,8,9\n";
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  StanceImportResult res;
  opt.columns = "time=A, left = c ,right=2";
  buffer_ok(text, &opt, &res);
  StanceRecording *rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_PLATES);
  ck_assert(rec->sample_rate_hz == 1000.0);
  ck_assert(!rec->meta.sides_assumed);
  check_ends(rec, 0, 2, 8);
  check_ends(rec, 1, 1, 7);
  check_meta(rec, "import.columns", "time=a,left=c,right=b");
  check_meta(rec, "import.ignored", "d");
  stance_import_result_clear(&res);

  opt.columns = "total=4";
  buffer_ok(text, &opt, &res);
  rec = res.recs[0];
  ck_assert_int_eq(rec->layout, STANCE_LAYOUT_COMBINED);
  ck_assert(rec->meta.rate_assumed); /* 'a' is not a time name and time was not mapped */
  check_ends(rec, 0, 3, 9);
  stance_import_result_clear(&res);

  /* Per-cell mapping by number; combined CoP by name. */
  opt.columns = "l1=1,l2=2,l3=3,l4=4,r1=5,r2=6,r3=7,r4=8";
  buffer_ok("1,2,3,4,5,6,7,8\n1,1,1,1,0,0,0,0\n", &opt, &res);
  rec = res.recs[0];
  check_ends(rec, 0, 10, 4);
  check_ends(rec, 1, 26, 0);
  stance_import_result_clear(&res);
  opt.columns = "total=fz,copx=cx,copy=cy";
  buffer_ok("fz,cx,cy\n800,12.5,-40\n", &opt, &res);
  rec = res.recs[0];
  /* |values| >= 5 with no unit: millimetres as written. */
  ck_assert_near(cop(rec, 0, 0, 0), 12.5, 1e-12);
  ck_assert_near(cop(rec, 0, 0, 1), -40, 1e-12);
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_swap_and_scale)
{
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  StanceImportResult res;
  opt.swap_sides = true;
  buffer_ok("fp1,fp2\n1,2\n3,4\n", &opt, &res);
  StanceRecording *rec = res.recs[0];
  check_ends(rec, 0, 2, 4);
  check_ends(rec, 1, 1, 3);
  ck_assert(!rec->meta.sides_assumed); /* the user said the default was the wrong way round */
  check_meta(rec, "import.columns", "left=fp2,right=fp1");
  check_meta_has(rec, "import.sides", "swapped");
  stance_import_result_clear(&res);

  /* Per-plate CoP follows the swap. */
  buffer_ok("left,right,left cop x,left cop y,right cop x,right cop y\n100,200,10,20,30,40\n", &opt,
            &res);
  rec = res.recs[0];
  ck_assert(force(rec, 0, 0) == 200 && force(rec, 0, 1) == 100);
  ck_assert_near(cop(rec, 0, 0, 0), 30, 1e-12);
  ck_assert_near(cop(rec, 0, 1, 1), 20, 1e-12);
  stance_import_result_clear(&res);

  /* Header unit kgf converts by standard gravity; --scale replaces the header unit. */
  opt.swap_sides = false;
  buffer_ok("Force (kgf)\n10\n20\n", &opt, &res);
  ck_assert_near(force(res.recs[0], 0, 0), 98.0665, 1e-12);
  stance_import_result_clear(&res);
  opt.force_scale = -2.0;
  buffer_ok("Force (kgf)\n10\n20\n", &opt, &res);
  check_ends(res.recs[0], 0, -20, -40);
  check_meta(res.recs[0], "import.scale", "-2");
  stance_import_result_clear(&res);
  /* Swap on one combined force: noted, no effect. */
  opt.force_scale = 0;
  opt.swap_sides = true;
  buffer_ok("fz\n1\n", &opt, &res);
  check_notes_has(&res, "--swap-sides has no effect");
  stance_import_result_clear(&res);
}
END_TEST

START_TEST(test_generic_names)
{
  StanceImportResult res;
  struct {
    const char *text;
    StanceLayout layout;
    bool sides_assumed;
  } cases[] = {
      {"Time (s),Left Force (N),Right Force (N)\n0,1,2\n0.001,3,4\n", STANCE_LAYOUT_PLATES, false},
      {"L,R\n1,2\n3,4\n", STANCE_LAYOUT_PLATES, false},
      {"sample,fz_left,fz_right\n1,1,2\n2,3,4\n", STANCE_LAYOUT_PLATES, false},
      {"Fz1;Fz2\n1;2\n3;4\n", STANCE_LAYOUT_PLATES, true},
      {"Normal Force (N),Normal Force (N)\n1,2\n3,4\n", STANCE_LAYOUT_PLATES, true},
      {"left_1,left_2,left_3,left_4,right_1,right_2,right_3,right_4\n1,2,3,4,5,6,7,8\n3,4,5,6,7,8,"
       "9,10\n",
       STANCE_LAYOUT_PLATES, false},
      {"Total Force\n1\n3\n", STANCE_LAYOUT_COMBINED, false},
      {"# exported by something\n# second comment\nvGRF\n1\n3\n", STANCE_LAYOUT_COMBINED, false},
      {"frame,weird\n1,1\n2,3\n", STANCE_LAYOUT_COMBINED, false},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    buffer_ok(cases[k].text, NULL, &res);
    StanceRecording *rec = res.recs[0];
    ck_assert_msg(rec->layout == cases[k].layout, "case %zu: layout %d", k, rec->layout);
    ck_assert_msg(rec->meta.sides_assumed == cases[k].sides_assumed, "case %zu", k);
    ck_assert_uint_eq(rec->n_samples, 2);
    /* Every case has total 3 then 7, except the per-cell one (10 then 52... ) and singles. */
    double t0 = stance_recording_force_at(rec, 0, STANCE_SEL_TOTAL);
    double t1 = stance_recording_force_at(rec, 1, STANCE_SEL_TOTAL);
    if (rec->layout == STANCE_LAYOUT_COMBINED) {
      ck_assert(t0 == 1 && t1 == 3);
    } else if (k == 5) {
      ck_assert(t0 == 36 && t1 == 52);
      ck_assert_ptr_nonnull(rec->cop_mm);
    } else {
      ck_assert_msg(t0 == 3 && t1 == 7, "case %zu: %g %g", k, t0, t1);
    }
    stance_import_result_clear(&res);
  }
}
END_TEST

/* ---- synthetic: errors, each with its exact place ---- */

START_TEST(test_errors_values)
{
  buffer_fails("fz\n1\nabc\n", NULL, STANCE_EFORMAT,
               "line 3, column 1 ('fz'): 'abc' is not a number", "expected a number such as 812.5");
  /* A point after the 64 lines that revealed the decimal comma. */
  char buf[4096];
  size_t k = (size_t)snprintf(buf, sizeof buf, "time;fz\n");
  for (int i = 0; i < 70; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "0,%03d;%d,5\n", i, i);
  snprintf(buf + k, sizeof buf - k, "0,070;2.5\n");
  buffer_fails(buf, NULL, STANCE_EFORMAT,
               "line 72, column 2 ('fz'): '2.5' is not a number (the file uses a decimal comma",
               NULL);
  /* Decimal point and comma mixed in the first lines: read as points, so the comma fails. */
  buffer_fails("time;fz\n0;1,5\n0.001;2.5\n", NULL, STANCE_EFORMAT,
               "line 2, column 2 ('fz'): '1,5' is not a number (expected a number such as 812.5)",
               NULL);
  buffer_fails("left,right\n1,2\n3\n", NULL, STANCE_EFORMAT, "line 3: 1 field, expected 2",
               "columns: left, right");
  buffer_fails("left,right\n1,2\n3,4,5\n", NULL, STANCE_EFORMAT, "line 3: more than 2 fields",
               NULL);
  buffer_fails("left,right\n1,2\n3,\n", NULL, STANCE_EFORMAT,
               "line 3, column 2 ('right'): empty field", NULL);
  buffer_fails("fz\n1\n1e999\n", NULL, STANCE_ERANGE, "line 3, column 1 ('fz'): '1e999' overflows",
               NULL);
  buffer_fails("fz\n1\n2e13\n", NULL, STANCE_ERANGE,
               "line 3, column 1 ('fz'): '2e13' is out of range", NULL);
  buffer_fails("fz\n1\nNaN\n", NULL, STANCE_EFORMAT,
               "line 3, column 1 ('fz'): 'NaN' is not a finite", NULL);
  buffer_fails("a,fz\nx,1\ny,-inf\n", NULL, STANCE_EFORMAT, "line 3, column 2 ('fz'): '-inf'",
               NULL);
  buffer_fails("fz\n1\n\n2\n", NULL, STANCE_EFORMAT, "line 3 is empty but data follows at line 4",
               NULL);
  buffer_fails("fz\n1\n1.2.3\n", NULL, STANCE_EFORMAT, "line 3, column 1 ('fz'): '1.2.3'", NULL);
  buffer_fails("fz\n1\n--1\n", NULL, STANCE_EFORMAT, "line 3, column 1", NULL);
  buffer_fails("fz\n1\n1e\n", NULL, STANCE_EFORMAT, "line 3, column 1", NULL);
}
END_TEST

START_TEST(test_errors_file)
{
  buffer_fails("", NULL, STANCE_ENODATA, "empty file", NULL);
  buffer_fails("\r\n \n\t\n", NULL, STANCE_ENODATA, "empty file", NULL);
  buffer_fails("time,fz\n", NULL, STANCE_ENODATA, "only a header line (line 1)", NULL);
  buffer_fails("time,fz\n\n\n", NULL, STANCE_ENODATA, "only a header line (line 1)", NULL);
  buffer_fails("hello\nworld\nagain\n", NULL, STANCE_EFORMAT, "no numeric data: lines 1 to 3",
               NULL);
  const char bin[] = "fz\n1\n\0\0\x01";
  StanceImportResult res;
  StanceError err = {0};
  ck_assert_int_eq(stance_import_text_buffer("bin.dat", bin, sizeof bin - 1, NULL, &res, &err),
                   STANCE_EFORMAT);
  ck_assert_msg(strstr(err.message, "not a text file: NUL byte at offset 5"), "%s", err.message);
  /* Time errors name the line. */
  buffer_fails("time,fz\n0.000000,1\n0.001000,1\n0.002000,1\n0.003500,1\n0.004500,1\n", NULL,
               STANCE_EFORMAT, "line 5, column 1 ('time'): time 0.0035 follows 0.002 (line 4)",
               "within 1 %");
  buffer_fails("time,fz\n0,1\n0.001,1\n0.001,1\n0.003,1\n", NULL, STANCE_EFORMAT,
               "line 4, column 1 ('time')", NULL);
  buffer_fails("time,fz\n0,1\n0,2\n0,3\n", NULL, STANCE_EFORMAT,
               "line 3, column 1 ('time'): time 0 does not advance", NULL);
  buffer_fails("Time (V),fz\n0,1\n1,2\n", NULL, STANCE_EFORMAT,
               "column 1 ('Time (V)'): unit 'v' is not a time unit", NULL);
  /* Layout problems. */
  buffer_fails("left\n1\n", NULL, STANCE_EFORMAT, "no right-plate column", NULL);
  buffer_fails("a,b\n1,2\n", NULL, STANCE_EFORMAT, "cannot tell which columns hold the forces",
               "columns: a, b");
  buffer_fails("1,2,3,4,5\n1,2,3,4,5\n", NULL, STANCE_EFORMAT, "no header and 5 columns", NULL);
  buffer_fails("l1,l2,l3,l4,r1,r2,r3\n1,2,3,4,5,6,7\n", NULL, STANCE_EFORMAT, "missing r4", NULL);
  buffer_fails("fz,total\n1,2\n", NULL, STANCE_EFORMAT, "2 columns look like a total force", NULL);
  buffer_fails("Force (V)\n1\n", NULL, STANCE_EFORMAT, "unit 'v' is not a force unit", NULL);
  /* Files on disk. */
  ck_assert_int_eq(stance_import_text("/nonexistent/x.csv", NULL, &res, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, "/nonexistent/x.csv"), "%s", err.message);
  char *dir = stance_test_tmpdir();
  ck_assert_int_eq(stance_import_text(dir, NULL, &res, &err), STANCE_EIO);
  rmdir(dir);
  free(dir);
}
END_TEST

START_TEST(test_errors_options)
{
  const char *text = "fp1,fp2,t\n1,2,0\n3,4,0.001\n";
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  opt.columns = "lft=fp1";
  buffer_fails(text, &opt, STANCE_EINVAL, "unknown role 'lft'", "left_copx");
  opt.columns = "left=fp3,right=fp2";
  buffer_fails(text, &opt, STANCE_EINVAL, "no column named 'fp3'", "columns: fp1, fp2, t");
  opt.columns = "left=fp1,right=FP1";
  buffer_fails(text, &opt, STANCE_EINVAL, "column 1 ('fp1') is mapped to both 'left' and 'right'",
               NULL);
  opt.columns = "left=fp1";
  buffer_fails(text, &opt, STANCE_EINVAL, "'left' needs 'right' too", NULL);
  opt.columns = "left=1,right=2,total=3";
  buffer_fails(text, &opt, STANCE_EINVAL, "not a mix", NULL);
  opt.columns = "total=9";
  buffer_fails(text, &opt, STANCE_EINVAL, "there is no column 9 (the file has 3 columns",
               "fp1, fp2, t");
  opt.columns = "total";
  buffer_fails(text, &opt, STANCE_EINVAL, "'total' is not role=column", NULL);
  opt.columns = "total=fp1,total=fp2";
  buffer_fails(text, &opt, STANCE_EINVAL, "role 'total' is given twice", NULL);
  opt.columns = "l1=1,l2=2";
  buffer_fails(text, &opt, STANCE_EINVAL, "missing l3, l4, r1", NULL);
  opt.columns = "total=fp1,copx=fp2";
  buffer_fails(text, &opt, STANCE_EINVAL, "'copx' needs 'copy' too", NULL);
  opt.columns = "total=x";
  buffer_fails("1,2\n3,4\n", &opt, STANCE_EINVAL, "the file has no header line", NULL);
  opt.columns = "total=Normal Force (N)";
  buffer_fails("Normal Force (N),Normal Force (N)\n1,2\n", &opt, STANCE_EINVAL,
               "2 columns are named 'Normal Force (N)'", "give the column number");
  stance_import_options_default(&opt);
  opt.delimiter = '|';
  buffer_fails(text, &opt, STANCE_EINVAL, "delimiter", NULL);
  stance_import_options_default(&opt);
  opt.decimal_comma = 1;
  opt.delimiter = ',';
  buffer_fails(text, &opt, STANCE_EINVAL, "decimal comma cannot go with a comma", NULL);
  stance_import_options_default(&opt);
  opt.rate_hz = -5;
  buffer_fails(text, &opt, STANCE_EINVAL, "rate -5 Hz", NULL);
  stance_import_options_default(&opt);
  opt.force_scale = NAN;
  buffer_fails(text, &opt, STANCE_EINVAL, "force scale", NULL);
  stance_import_options_default(&opt);
  opt.skip_lines = 10;
  buffer_fails(text, &opt, STANCE_ENODATA, "nothing is left after skipping 10 lines", NULL);
}
END_TEST

START_TEST(test_rate_options)
{
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  StanceImportResult res;
  opt.default_rate_hz = 500;
  buffer_ok("fz\n1\n2\n", &opt, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 500.0 && res.recs[0]->meta.rate_assumed);
  check_notes_has(&res, "500 Hz assumed");
  stance_import_result_clear(&res);
  /* A given rate wins over the time column; a contradiction is noted. */
  opt.rate_hz = 2000;
  buffer_ok("time,fz\n0,1\n0.001,2\n0.002,3\n", &opt, &res);
  ck_assert(res.recs[0]->sample_rate_hz == 2000.0 && !res.recs[0]->meta.rate_assumed);
  check_notes_has(&res, "time column says 1000 Hz");
  stance_import_result_clear(&res);
}
END_TEST

/* ---- robustness: garbage in, a clean error or a sane recording out ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

static void
check_any(const char *buf, size_t len, const StanceImportOptions *opt)
{
  StanceImportResult res;
  StanceError err = {0};
  int r = stance_import_text_buffer("fuzz.csv", buf, len, opt, &res, &err);
  if (r < 0) {
    ck_assert_int_eq(err.code, r);
    ck_assert_msg(err.message[0] != '\0', "error %d without a message", r);
    ck_assert_ptr_null(res.recs);
    return;
  }
  ck_assert_int_eq(r, 0);
  ck_assert_uint_ge(res.n_recs, 1);
  for (size_t k = 0; k < res.n_recs; k++) {
    const StanceRecording *rec = res.recs[k];
    ck_assert(isfinite(rec->sample_rate_hz) && rec->sample_rate_hz > 0);
    ck_assert_uint_ge(rec->n_samples, 1);
    for (size_t i = 0; i < rec->n_samples * rec->n_channels; i++)
      ck_assert(isfinite(rec->force_n[i]));
    for (size_t i = 0; rec->cop_mm && i < rec->n_samples * rec->n_channels * 2; i++)
      ck_assert(isfinite(rec->cop_mm[i]));
  }
  stance_import_result_clear(&res);
}

START_TEST(test_garbage)
{
  static const char alphabet[] = "0123456789.,;\t\n\r -+eE\"#time fz left right l1 r4 nan inf = "
                                 "endheader cop x y (N) ms";
  bool slow = getenv("STANCE_UNDER_VALGRIND") != NULL;
  int rounds = slow ? 400 : 6000;
  char buf[600];
  StanceImportOptions opt;
  for (int it = 0; it < rounds; it++) {
    stance_import_options_default(&opt);
    if (it % 7 == 1)
      opt.columns = (const char *[]){"left=1,right=2",
                                     "total=2,time=1",
                                     "l1=1",
                                     "total=fz",
                                     "=",
                                     ",,,",
                                     "left=left,right=right,left_copx=3"}[rng() % 7];
    if (it % 5 == 2)
      opt.skip_lines = (int)(rng() % 4);
    if (it % 11 == 3)
      opt.rate_hz = 1200;
    size_t len = rng() % sizeof buf;
    for (size_t i = 0; i < len; i++)
      buf[i] = it % 3 == 0 ? (char)(rng() & 0xff) : alphabet[rng() % (sizeof alphabet - 1)];
    check_any(buf, len, &opt);
  }
  /* Mutations of valid files: flip, insert and delete bytes. */
  const char *seeds[] = {
      "Time,Fz,Mx,My,CoPx,CoPy\n0.000,1046.1,-29.8,-66.6,0.06,-0.02\n0.001,1046.2,-30.1,-66.7,"
      "0.06,-0.03\n0.002,1046.9,-29.4,-66.6,0.06,-0.02\n",
      "\xef\xbb\xbfsquat,,,\nversion=1,,,\nendheader,,,\ntime,ground_force1_vy,ground_force1_px,"
      "ground_force1_pz,ground_force2_vy,ground_force2_px,ground_force2_pz\n0,1,0.3,-1.1,2,0.3,-0."
      "7\n"
      "0.001,1,0.3,-1.1,2,0.3,-0.7\n",
      "FP1\tFP2\r\n301.3\t359.8\r\n304.1\t357.0\r\n",
      "Normal Force (N),Normal Force (N),Normal Force (N),Normal Force (N)\n1,2,3,4\n5,6,,\n",
      "l1;l2;l3;l4;r1;r2;r3;r4\n1,5;2;3;4;5;6;7;8\n",
  };
  int mrounds = slow ? 300 : 4000;
  for (int it = 0; it < mrounds; it++) {
    const char *s = seeds[it % 5];
    size_t len = strlen(s);
    memcpy(buf, s, len);
    int edits = 1 + (int)(rng() % 4);
    for (int e = 0; e < edits; e++) {
      size_t pos = len ? rng() % len : 0;
      switch (rng() % 3) {
      case 0:
        if (len)
          buf[pos] = alphabet[rng() % (sizeof alphabet - 1)];
        break;
      case 1:
        if (len + 1 < sizeof buf) {
          memmove(buf + pos + 1, buf + pos, len - pos);
          buf[pos] = alphabet[rng() % (sizeof alphabet - 1)];
          len++;
        }
        break;
      default:
        if (len) {
          memmove(buf + pos, buf + pos + 1, len - pos - 1);
          len--;
        }
      }
    }
    stance_import_options_default(&opt);
    check_any(buf, len, &opt);
  }
}
END_TEST

START_TEST(test_number_parser_precision)
{
  /* Values through the fast and the slow path: long mantissas, exponents, tiny and big numbers.
   * Compared with the compiler's (correctly rounded) literals: the fast path is exact, the slow
   * one within 1 ulp. */
  StanceImportResult res;
  buffer_ok("fz\n0.1\n123456.789012\n1.3e-05\n-1e-06\n0.00100000000000033\n"
            "1234567890.12345678901\n9.999999999999999e11\n4.9e-300\n.5\n5.\n+7\n",
            NULL, &res);
  const double want[] = {0.1,
                         123456.789012,
                         1.3e-05,
                         -1e-06,
                         0.00100000000000033,
                         1234567890.12345678901,
                         9.999999999999999e11,
                         4.9e-300,
                         0.5,
                         5.0,
                         7.0};
  StanceRecording *rec = res.recs[0];
  ck_assert_uint_eq(rec->n_samples, 11);
  for (size_t i = 0; i < 11; i++) {
    double got = force(rec, i, 0);
    ck_assert_msg(fabs(got - want[i]) <= fabs(want[i]) * 2.3e-16, "row %zu: %.17g vs %.17g", i, got,
                  want[i]);
  }
  stance_import_result_clear(&res);
}
END_TEST

static Suite *
import_suite(void)
{
  Suite *s = suite_create("import");
  TCase *tc = tcase_create("shared-data");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_shiny_single_trial);
  tcase_add_test(tc, test_shiny_wide);
  tcase_add_test(tc, test_shiny_long_and_reference_segment);
  tcase_add_test(tc, test_plateforce);
  tcase_add_loop_test(tc, test_acl_opensim, 0, (int)(sizeof ACL / sizeof ACL[0]));
  tcase_add_test(tc, test_acl_standing_asymmetry);
  tcase_add_test(tc, test_acl_explicit_and_skip);
  tcase_add_loop_test(tc, test_vertical_jumps, 0, (int)(sizeof VJ / sizeof VJ[0]));
  tcase_add_test(tc, test_isometric_analyzer);
  suite_add_tcase(s, tc);

  TCase *syn = tcase_create("synthetic");
  tcase_add_test(syn, test_decimal_comma_semicolon);
  tcase_add_test(syn, test_tab_and_cr_line_ends);
  tcase_add_test(syn, test_headerless);
  tcase_add_test(syn, test_time_units);
  tcase_add_test(syn, test_explicit_mapping);
  tcase_add_test(syn, test_swap_and_scale);
  tcase_add_test(syn, test_generic_names);
  tcase_add_test(syn, test_rate_options);
  tcase_add_test(syn, test_number_parser_precision);
  suite_add_tcase(s, syn);

  TCase *errs = tcase_create("errors");
  tcase_set_timeout(errs, 300);
  tcase_add_test(errs, test_errors_values);
  tcase_add_test(errs, test_errors_file);
  tcase_add_test(errs, test_errors_options);
  tcase_add_test(errs, test_garbage);
  suite_add_tcase(s, errs);
  return s;
}

int
main(void)
{
  return stance_test_run(import_suite());
}
