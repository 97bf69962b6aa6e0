/* test-export.c: CSV writers, session loading and analysis, every session export (CSV, C3D, JSON,
 * PDF, bundle) and bundle import.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ground truth: the simulator's recordings themselves. A CSV parsed back must give each
 * recording's forces (stance_recording_force_at) to the printed precision and its counts exactly;
 * a C3D read back its cell and platform forces; a bundle imported into a second store the same
 * athlete, session, raw recordings (byte-identical .stance encodings) and result rows. Exports are
 * written under a decimal-comma locale (de_DE.UTF-8, built with localedef into a temporary
 * LOCPATH when the system lacks it) and parsed back under "C".
 */
#include "stance-c3d.h"
#include "stance-export-csv.h"
#include "stance-file.h"
#include "stance-session.h"
#include "stance-test.h"

#include <cairo.h>
#include <dlfcn.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

/* ======================================================================================
 * Helpers
 * ====================================================================================== */

/* For checks inside per-sample loops: Check's ck_assert* records a mark point (a write to its
 * pipe) on every success, a system call per check, which makes such loops very slow. */
#define require(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

#define require_near(a, b, tol)                                                                    \
  do {                                                                                             \
    double _a = (a), _b = (b), _t = (tol);                                                         \
    if (!(fabs(_a - _b) <= _t))                                                                    \
      ck_abort_msg("%s = %.9g, expected %s = %.9g within %g", #a, _a, #b, _b, _t);                 \
  } while (0)

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

static void
leave_comma_locale(void)
{
  setlocale(LC_ALL, "C");
}

/* Removes a test folder and everything in it. */
static void
rm_tree(const char *dir)
{
  gchar *cmd = g_strdup_printf("chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  g_free(cmd);
}

/* The whole file as a NUL-terminated string (*len its length). */
static char *
slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  ck_assert_int_ge(n, 0);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

/* A parsed CSV file: metadata lines, header fields, data rows (fields split at commas: data rows
 * of our files hold no quoted fields, and a decimal comma would show as an extra field). */
typedef struct {
  char **meta; /* "key: value" without the "# " */
  size_t n_meta;
  char **cols;
  size_t n_cols;
  char ***rows; /* rows[r][c] */
  size_t n_rows;
  char *text;
} Csv;

static char **
split_fields(char *line, size_t *n)
{
  size_t cap = 8, k = 0;
  char **f = malloc(cap * sizeof *f);
  require(f != NULL, "out of memory");
  char *p = line;
  for (;;) {
    if (k == cap) {
      cap *= 2;
      f = realloc(f, cap * sizeof *f);
      require(f != NULL, "out of memory");
    }
    f[k++] = p;
    char *c = strchr(p, ',');
    if (!c)
      break;
    *c = '\0';
    p = c + 1;
  }
  *n = k;
  return f;
}

static void
csv_parse(Csv *c, const char *path)
{
  memset(c, 0, sizeof *c);
  c->text = slurp(path, NULL);
  size_t cap_meta = 16, cap_rows = 1024;
  c->meta = malloc(cap_meta * sizeof *c->meta);
  c->rows = malloc(cap_rows * sizeof *c->rows);
  ck_assert(c->meta && c->rows);
  char *save = NULL;
  for (char *line = strtok_r(c->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    require(!strchr(line, '\r'), "%s: a CR in '%s'", path, line);
    if (line[0] == '#') {
      require(c->n_cols == 0, "%s: metadata after the header: '%s'", path, line);
      require(line[1] == ' ', "%s: metadata line '%s' lacks '# '", path, line);
      if (c->n_meta == cap_meta) {
        cap_meta *= 2;
        c->meta = realloc(c->meta, cap_meta * sizeof *c->meta);
        require(c->meta != NULL, "out of memory");
      }
      c->meta[c->n_meta++] = line + 2;
    } else if (c->n_cols == 0) {
      c->cols = split_fields(line, &c->n_cols);
    } else {
      size_t n;
      char **f = split_fields(line, &n);
      require(n == c->n_cols, "%s: row %zu has %zu fields, the header %zu", path, c->n_rows + 1, n,
              c->n_cols);
      if (c->n_rows == cap_rows) {
        cap_rows *= 2;
        c->rows = realloc(c->rows, cap_rows * sizeof *c->rows);
        require(c->rows != NULL, "out of memory");
      }
      c->rows[c->n_rows++] = f;
    }
  }
}

static void
csv_free(Csv *c)
{
  for (size_t r = 0; r < c->n_rows; r++)
    free(c->rows[r]);
  free(c->rows);
  free(c->cols);
  free(c->meta);
  free(c->text);
}

/* Column index by name, failing the test when absent. */
static size_t
csv_col(const Csv *c, const char *name)
{
  for (size_t i = 0; i < c->n_cols; i++)
    if (strcmp(c->cols[i], name) == 0)
      return i;
  ck_abort_msg("no column %s", name);
  return 0;
}

/* Value of metadata key ("key: value"), NULL when absent. */
static const char *
csv_meta(const Csv *c, const char *key)
{
  size_t n = strlen(key);
  for (size_t i = 0; i < c->n_meta; i++)
    if (strncmp(c->meta[i], key, n) == 0 && c->meta[i][n] == ':' && c->meta[i][n + 1] == ' ')
      return c->meta[i] + n + 2;
  return NULL;
}

/* A number field: strtod in the "C" locale (the tests run in "C" outside the write) must take
 * the whole field, and the field must hold only digits, '-', '.', 'e', '+'. */
static double
num_field(const char *s)
{
  require(s[0] != '\0', "empty number field");
  require(strspn(s, "0123456789-.e+") == strlen(s), "'%s' is not a dot-decimal number", s);
  char *end = NULL;
  double v = strtod(s, &end);
  require(end && *end == '\0', "'%s' is not a number", s);
  return v;
}

/* A simulated recording (two jumps, one under valgrind: enough for every check here, and
 * quick); caller frees. */
static StanceRecording *
sim(StanceProtocol proto, uint64_t seed, const char *side, const char *asym, bool saturate)
{
  StanceSimParams p = stance_test_sim_params(proto, seed);
  if (proto == STANCE_PROTO_CMJ || proto == STANCE_PROTO_SL_CMJ)
    stance_test_sim_set(&p, "reps", stance_test_under_valgrind() ? "1" : "2");
  if (side)
    stance_test_sim_set(&p, "side", side);
  if (asym)
    stance_test_sim_set(&p, "asymmetry", asym);
  if (saturate)
    stance_test_sim_set(&p, "saturate", "true");
  StanceRecording *rec = NULL;
  stance_test_sim_run(&p, &rec, NULL);
  return rec;
}

/* Makes samples [from, from + n) of rec a gap (status GAP, values 0), as the recorder does. */
static void
punch_gap(StanceRecording *rec, size_t from, size_t n)
{
  for (size_t i = from; i < from + n && i < rec->n_samples; i++) {
    rec->status[i] = STANCE_STATUS_GAP;
    if (rec->counts)
      memset(rec->counts + i * STANCE_N_CELLS, 0, STANCE_N_CELLS * sizeof(int32_t));
    if (rec->force_n)
      for (size_t c = 0; c < rec->n_channels; c++)
        rec->force_n[i * rec->n_channels + c] = 0.0;
  }
}

/* Writes rec's force-time CSV to path (under the comma locale when it exists). */
static void
write_recording_csv(const StanceRecording *rec, const char *path, const StanceCsvMeta *meta)
{
  bool comma = enter_comma_locale();
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  StanceError err = {0};
  int r = stance_csv_write_recording(f, rec, meta, &err);
  ck_assert_int_eq(fclose(f), 0);
  if (comma)
    leave_comma_locale();
  ck_assert_msg(r == STANCE_OK, "%s", err.message);
}

static const char *const cell_names[STANCE_N_CELLS] = {"l1", "l2", "l3", "l4",
                                                       "r1", "r2", "r3", "r4"};

/* Checks a force-time CSV of rec: rows = samples, times, forces to the printed precision
 * (4 decimals: within 0.5e-4 N, plus the double's own rounding), counts exact, gap rows empty,
 * status naming each saturated channel. */
static void
check_recording_csv(const Csv *c, const StanceRecording *rec)
{
  ck_assert_uint_eq(c->n_rows, rec->n_samples);
  bool cells = rec->layout == STANCE_LAYOUT_CELLS;
  size_t ct = csv_col(c, "time_s"), cs = csv_col(c, "status"), ctot = csv_col(c, "total_n");
  size_t cl = 0, cr = 0, ccell[8] = {0}, ccount[8] = {0};
  if (rec->layout != STANCE_LAYOUT_COMBINED) {
    cl = csv_col(c, "left_n");
    cr = csv_col(c, "right_n");
  }
  if (cells) {
    for (int k = 0; k < 8; k++) {
      char name[16];
      snprintf(name, sizeof name, "%s_n", cell_names[k]);
      ccell[k] = csv_col(c, name);
      snprintf(name, sizeof name, "%s_counts", cell_names[k]);
      ccount[k] = csv_col(c, name);
    }
  }
  size_t n_gap = 0, n_sat = 0;
  for (size_t i = 0; i < rec->n_samples; i++) {
    char **f = c->rows[i];
    /* time_s = i / rate, printed exactly at 1000 Hz (3 decimals). */
    require_near(num_field(f[ct]), (double)i / rec->sample_rate_hz, 0.5e-6);
    uint16_t st = rec->status[i];
    if (st & STANCE_STATUS_GAP) {
      n_gap++;
      require(strcmp(f[cs], "gap") == 0 && f[ctot][0] == '\0',
              "gap row %zu: status '%s', total '%s'", i, f[cs], f[ctot]);
      if (cells)
        for (int k = 0; k < 8; k++)
          require(f[ccell[k]][0] == '\0' && f[ccount[k]][0] == '\0', "gap row %zu holds values", i);
      continue;
    }
    const double tol = 0.5e-4 + 1e-9;
    require_near(num_field(f[ctot]), stance_recording_force_at(rec, i, STANCE_SEL_TOTAL), tol);
    if (rec->layout != STANCE_LAYOUT_COMBINED) {
      require_near(num_field(f[cl]), stance_recording_force_at(rec, i, STANCE_SEL_LEFT), tol);
      require_near(num_field(f[cr]), stance_recording_force_at(rec, i, STANCE_SEL_RIGHT), tol);
    }
    if (cells) {
      for (int k = 0; k < 8; k++) {
        require_near(num_field(f[ccell[k]]), stance_recording_cell_force(rec, i, k), tol);
        require(strtoll(f[ccount[k]], NULL, 10) == rec->counts[i * 8 + (size_t)k],
                "row %zu %s_counts %s, recorded %d", i, cell_names[k], f[ccount[k]],
                rec->counts[i * 8 + (size_t)k]);
      }
    }
    if (st == 0) {
      require(strcmp(f[cs], "ok") == 0, "row %zu: status '%s', expected ok", i, f[cs]);
    } else {
      n_sat += (st & STANCE_STATUS_SAT_MASK) != 0;
      for (int k = 0; k < 8 && cells; k++) {
        char tok[16];
        snprintf(tok, sizeof tok, "sat:%s", cell_names[k]);
        bool has = strstr(f[cs], tok) != NULL;
        require(has == ((st >> k) & 1), "row %zu status '%s' vs bits 0x%x", i, f[cs], st);
      }
    }
  }
  ck_assert_uint_eq(n_gap, stance_recording_count_gaps(rec));
  ck_assert_uint_eq(n_sat, stance_recording_count_saturated(rec));
}

/* ======================================================================================
 * CSV writers
 * ====================================================================================== */

START_TEST(test_csv_cells)
{
  /* A CMJ with a saturated cell during the peak and a 40 ms gap punched in after the jumps'
   * start, written under de_DE (decimal comma) and read back under "C". */
  StanceRecording *rec = sim(STANCE_PROTO_CMJ, 11, NULL, "10", true);
  ck_assert_uint_gt(stance_recording_count_saturated(rec), 0);
  punch_gap(rec, 1500, 40);
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/cmj.csv", dir);
  StanceCsvMeta meta = {.athlete = "Doe, \"JJ\" Jane",
                        .session = "2026-11-24 09:30 (id 12)",
                        .trial_number = 3,
                        .generator = "Stance test",
                        .exported_unix_ms = 1764000000123};
  write_recording_csv(rec, path, &meta);

  size_t len;
  char *raw = slurp(path, &len);
  /* The athlete's name holds a comma and quotes: one RFC 4180 field in its metadata line. */
  ck_assert_ptr_nonnull(strstr(raw, "\n# athlete: \"Doe, \"\"JJ\"\" Jane\"\n"));
  ck_assert_ptr_nonnull(strstr(raw, "# format: stance-force-csv 1\n"));
  free(raw);

  Csv c;
  csv_parse(&c, path);
  ck_assert_str_eq(csv_meta(&c, "rate"), "1000 Hz");
  char n[32];
  snprintf(n, sizeof n, "%zu", rec->n_samples);
  ck_assert_str_eq(csv_meta(&c, "samples"), n);
  ck_assert_str_eq(csv_meta(&c, "protocol"), "cmj");
  ck_assert_str_eq(csv_meta(&c, "layout"), "cells");
  ck_assert_str_eq(csv_meta(&c, "trial"), "3");
  ck_assert_str_eq(csv_meta(&c, "exported"), "2025-11-24T16:00:00.123Z");
  ck_assert_str_eq(csv_meta(&c, "calibration"), rec->calib.id);
  ck_assert_ptr_nonnull(csv_meta(&c, "units"));
  ck_assert_ptr_nonnull(strstr(csv_meta(&c, "units"), "N"));
  ck_assert_ptr_nonnull(strstr(csv_meta(&c, "method"), "(counts - offset) x gain"));
  ck_assert_ptr_nonnull(strstr(csv_meta(&c, "gaps"), "40 samples (0.040 s)"));
  /* Every cell's offset and gain, read back to 15 significant digits. */
  for (int k = 0; k < 8; k++) {
    char key[32];
    snprintf(key, sizeof key, "calibration %s", cell_names[k]);
    const char *v = csv_meta(&c, key);
    ck_assert_msg(v, "no %s line", key);
    double off, gain;
    ck_assert_int_eq(sscanf(v, "offset %lf counts; gain %lf N/count", &off, &gain), 2);
    ck_assert_near(off, rec->calib.offset_counts[k], fabs(rec->calib.offset_counts[k]) * 1e-14);
    ck_assert_near(gain, rec->calib.gain_n_per_count[k], rec->calib.gain_n_per_count[k] * 1e-14);
  }
  ck_assert_uint_eq(c.n_cols, 1 + 3 + 8 + 8 + 1);
  check_recording_csv(&c, rec);
  csv_free(&c);
  stance_recording_free(rec);
  rm_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_csv_plates_combined)
{
  /* Imported layouts: PLATES with centre of pressure, COMBINED without. Values chosen so that the
   * 4-decimal rounding and the CoP threshold (20 N) are visible. */
  StanceRecording *pl = stance_recording_new(STANCE_LAYOUT_PLATES, 200.0, true);
  StanceRecording *co = stance_recording_new(STANCE_LAYOUT_COMBINED, 1200.0, false);
  ck_assert(pl && co);
  for (int i = 0; i < 50; i++) {
    double f[2] = {400.0 + i * 0.123456, i < 10 ? 5.0 : 380.0 - i * 0.5};
    double cop[4] = {-12.3456 + i, 45.5, 3.25, -100.0 - i};
    uint16_t st = i == 20 ? 0x0002 : i == 21 ? STANCE_STATUS_OVERFLOW : 0;
    ck_assert_int_eq(stance_recording_append_forces(pl, f, cop, st), 0);
    double t = -0.00004 + i * 1000.000049;
    ck_assert_int_eq(stance_recording_append_forces(co, &t, NULL, 0), 0);
  }
  ck_assert_int_eq(stance_recording_append_gap(pl, 3), 0);
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/plates.csv", dir);
  write_recording_csv(pl, path, NULL);
  Csv c;
  csv_parse(&c, path);
  ck_assert_uint_eq(c.n_cols, 1 + 3 + 4 + 1);
  check_recording_csv(&c, pl);
  /* Row 0: left 400, right 5 N: the right CoP is below 20 N and left empty. */
  ck_assert_str_eq(c.rows[0][csv_col(&c, "left_n")], "400.0000");
  ck_assert_str_eq(c.rows[0][csv_col(&c, "left_cop_x_mm")], "-12.346");
  ck_assert_str_eq(c.rows[0][csv_col(&c, "right_cop_x_mm")], "");
  ck_assert_str_eq(c.rows[15][csv_col(&c, "right_cop_y_mm")], "-115.000");
  ck_assert_str_eq(c.rows[20][csv_col(&c, "status")], "sat:right");
  ck_assert_str_eq(c.rows[21][csv_col(&c, "status")], "overflow");
  ck_assert_str_eq(c.rows[50][csv_col(&c, "time_s")], "0.250");
  ck_assert_str_eq(c.rows[52][csv_col(&c, "status")], "gap");
  ck_assert_str_eq(csv_meta(&c, "calibration"), "none (forces as imported)");
  csv_free(&c);

  snprintf(path, sizeof path, "%s/combined.csv", dir);
  write_recording_csv(co, path, NULL);
  csv_parse(&c, path);
  ck_assert_uint_eq(c.n_cols, 3); /* time_s, total_n, status */
  check_recording_csv(&c, co);
  /* 1200 Hz: 1/1200 s has no short decimal form: 6 decimals. -0.00004 N prints without a
   * "-0.0000". */
  ck_assert_str_eq(c.rows[1][0], "0.000833");
  ck_assert_str_eq(c.rows[0][1], "0.0000");
  ck_assert_str_eq(c.rows[49][1], "49000.0024");
  csv_free(&c);
  stance_recording_free(pl);
  stance_recording_free(co);
  rm_tree(dir);
  free(dir);
}
END_TEST

START_TEST(test_csv_dev_full)
{
  /* A full disk: /dev/full accepts the open and fails every write with ENOSPC. The writer must
   * say so, not succeed. */
  /* 3 s of a constant stance: far more than one stdio buffer, so writes reach the device. */
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_ptr_nonnull(rec);
  rec->has_calibration = true;
  stance_calibration_default(&rec->calib);
  const int32_t counts[STANCE_N_CELLS] = {100000, 100100, 99900, 100050,
                                          98000,  98100,  97900, 98050};
  for (int i = 0; i < 3000; i++)
    ck_assert_int_eq(stance_recording_append_counts(rec, counts, 0), 0);
  FILE *f = fopen("/dev/full", "w");
  ck_assert_ptr_nonnull(f);
  StanceError err = {0};
  int r = stance_csv_write_recording(f, rec, NULL, &err);
  fclose(f);
  ck_assert_int_eq(r, STANCE_EIO);
  ck_assert_msg(strstr(err.message, strerror(ENOSPC)), "message '%s'", err.message);
  ck_assert_ptr_nonnull(strstr(err.message, "force-time CSV"));

  /* The same for results. */
  StanceAnalysis *a = stance_analysis_new();
  StanceTrial *t = stance_analysis_add_trial(a, "jump", 1.0, 2.0);
  stance_metric_set(stance_trial_add_metric(t, "peak_force", "N", "peak.max"), STANCE_SEL_TOTAL,
                    1234.5);
  f = fopen("/dev/full", "w");
  ck_assert_ptr_nonnull(f);
  const StanceAnalysis *as[1] = {a};
  int num[1] = {1};
  stance_error_clear(&err);
  r = stance_csv_write_results(f, as, num, 1, NULL, &err);
  fclose(f);
  ck_assert_int_eq(r, STANCE_EIO);
  ck_assert_msg(strstr(err.message, strerror(ENOSPC)), "message '%s'", err.message);
  stance_analysis_free(a);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_csv_results_numbers)
{
  /* Known values and their exact text: 15 significant digits, trailing zeros dropped, plain
   * notation from 1e-5 to 1e15, exponent outside, no "-0". */
  static const struct {
    double v;
    const char *text;
  } cases[] = {
      {1234.5, "1234.5"},
      {0.1, "0.1"},
      {-0.000012345, "-0.000012345"},
      {123456789.123, "123456789.123"},
      {2.0 / 3.0, "0.666666666666667"},
      {1e20, "1e+20"},
      {-1.5e-7, "-1.5e-07"},
      {100, "100"},
      {99999999999999.99, "100000000000000"}, /* rounding carries into a 16th digit */
      {0.0, "0"},
  };
  size_t nc = sizeof cases / sizeof cases[0];
  StanceAnalysis *a = stance_analysis_new();
  snprintf(a->input, sizeof a->input, "jumps, \"set\" 1.stance");
  a->layout = STANCE_LAYOUT_CELLS;
  a->protocol = STANCE_PROTO_CMJ;
  a->formula = STANCE_ASYM_LR_SUM;
  a->cond.gravity_m_s2 = 9.81;
  StanceTrial *t = stance_analysis_add_trial(a, "jump", 1.25, 2.5);
  for (size_t i = 0; i < nc; i++) {
    char id[32];
    snprintf(id, sizeof id, "m%zu", i);
    StanceMetric *m = stance_trial_add_metric(t, id, "N", "peak.max");
    stance_metric_set(m, STANCE_SEL_LEFT, cases[i].v);
  }
  StanceMetric *m = stance_trial_add_metric(t, "peak_force", "N", "peak.max");
  stance_method_param_num(&m->method, "window_s", 0.02);
  stance_method_param_str(&m->method, "note", "a, b");
  stance_metric_set(m, STANCE_SEL_LEFT, 1000);
  stance_metric_set(m, STANCE_SEL_RIGHT, 900);
  stance_metric_set(m, STANCE_SEL_TOTAL, 1900);
  m->has_asym = true;
  snprintf(m->asym.formula_id, sizeof m->asym.formula_id, "lr_sum");
  m->asym.value = 100.0 / 19.0;
  m->asym.stronger = STANCE_SIDE_LEFT;
  stance_metric_set(stance_analysis_add_metric(a, "rep_count", "count", "count.reps"),
                    STANCE_SEL_TOTAL, 3);

  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  bool comma = enter_comma_locale();
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  const StanceAnalysis *as[1] = {a};
  int num[1] = {7};
  StanceError err = {0};
  ck_assert_int_eq(stance_csv_write_results(f, as, num, 1, NULL, &err), STANCE_OK);
  fclose(f);
  if (comma)
    leave_comma_locale();
  char *raw = slurp(path, NULL);
  ck_assert_ptr_nonnull(strstr(raw, "\ntrial,input,rep,kind,side,start_s,end_s,metric,unit,"
                                    "method,left,right,total,asym_formula,asym_value,stronger\n"));
  for (size_t i = 0; i < nc; i++) {
    char want[160];
    snprintf(want, sizeof want,
             "\n7,\"jumps, \"\"set\"\" 1.stance\",1,jump,both,1.25,2.5,m%zu,N,"
             "peak.max,%s,,,,,\n",
             i, cases[i].text);
    ck_assert_msg(strstr(raw, want), "missing row %s", want);
  }
  ck_assert_ptr_nonnull(strstr(raw, ",peak_force,N,\"peak.max(window_s=0.02; note=a, b)\",1000,900,"
                                    "1900,lr_sum,5.26315789473684,left\n"));
  ck_assert_ptr_nonnull(strstr(raw, "\n7,\"jumps, \"\"set\"\" 1.stance\",,session,both,,,"
                                    "rep_count,count,count.reps,,,3,,,\n"));
  ck_assert_ptr_nonnull(strstr(raw, "# trial 7 formula: lr_sum = (L - R) / (L + R) * 100\n"));
  ck_assert_ptr_nonnull(strstr(raw, "# trial 7 gravity: 9.81 m/s2\n"));
  free(raw);
  stance_analysis_free(a);
  rm_tree(dir);
  free(dir);
}
END_TEST

/* ======================================================================================
 * The stored sessions every store test starts from
 *
 * Built once (an unchecked fixture) into a master database that each test copies, so the
 * simulations and analyses run once: athlete "Jane Doe-Miller" (left knee involved), session A
 * (2025-12-01) with one analysed CMJ, session B (2026-01-15) with 1 CMJ (10 % asymmetry),
 * 2 single-leg CMJ left, 3 single-leg CMJ right, 4 CMJ rejected, 5 CMJ never analysed and
 * imported from a file named after the athlete, plus the simulator's calibration record.
 * ====================================================================================== */

#define ATHLETE_NAME "Jane Doe-Miller"
#define INJURY_NOTES "ACL reconstruction left knee, Dr. Smith"
#define PLACE "Clinic North"
#define SESSION_NOTES "Jane felt fine; knee sore after trial 3"
#define REJECT_REASON "stepped off the plate"
#define SESSION_A_MS INT64_C(1764581400000) /* 2025-12-01 09:30 UTC */
#define SESSION_B_MS INT64_C(1768469400000) /* 2026-01-15 09:30 UTC */

static struct {
  char *dir;
  char *master;
  gint64 athlete_id;
  gint64 session_a, session_b;
  gint64 trial_b[6]; /* ids of session B's trials 1-5 */
  char athlete_uuid[37];
} M;

static StanceStore *
open_store(const char *path, StanceStoreFlags flags)
{
  GError *e = NULL;
  StanceStore *s = stance_store_open(path, flags, &e);
  ck_assert_msg(s != NULL, "open %s: %s", path, e ? e->message : "?");
  return s;
}

static gint64
import_trial(StanceStore *st, gint64 session, StanceRecording *rec, gint64 start_ms)
{
  rec->meta.start_unix_ms = start_ms;
  GError *e = NULL;
  gint64 id = stance_store_trial_import(st, session, rec, &e);
  ck_assert_msg(id > 0, "import: %s", e ? e->message : "?");
  return id;
}

static void
analyse(StanceStore *st, gint64 trial_id)
{
  GError *e = NULL;
  gint64 id = stance_session_analyse_trial(st, trial_id, NULL, NULL, &e);
  ck_assert_msg(id > 0, "analyse trial %" G_GINT64_FORMAT ": %s", trial_id, e ? e->message : "?");
}

/* The simulator's calibration as a full record with known figures. */
static void
sim_calib_record(StanceCalibRecord *r)
{
  memset(r, 0, sizeof *r);
  StanceCalibration cal;
  stance_sim_calibration(&cal);
  r->format_version = STANCE_CALIB_RECORD_VERSION;
  r->calibration = cal;
  g_strlcpy(r->id, cal.id, sizeof r->id);
  g_strlcpy(r->board_serial, cal.board_serial, sizeof r->board_serial);
  r->sequence = 1;
  r->created_unix_ms = cal.created_unix_ms;
  g_strlcpy(r->plan_name, "standard-4-loads", sizeof r->plan_name);
  r->plan_steps = 27;
  g_strlcpy(r->fit_method, "calib.lsq_force_moments", sizeof r->fit_method);
  r->gravity_m_s2 = 9.80665;
  for (int c = 0; c < 8; c++) {
    r->gain_se_n_per_count[c] = 1e-7 * (c + 1);
    r->offset_se_counts[c] = 0.5 + c;
  }
  for (int p = 0; p < 2; p++) {
    r->full_scale_n[p] = 1471.0 + p;
    r->residual_rms_n[p] = 0.31 + p;
    r->force_error_pct_fs[p] = 0.12 + p;
    r->cop_error_mm[p] = 1.5 + p;
    r->nonlinearity_pct_fs[p] = 0.08 + p;
    r->hysteresis_pct_fs[p] = 0.05 + p;
    r->zero_return_pct_fs[p] = 0.02 + p;
  }
  r->n_faults = 0;
  r->passed = true;
}

static void
master_setup(void)
{
  M.dir = stance_test_tmpdir();
  M.master = g_build_filename(M.dir, "master.db", NULL);
  StanceStore *st = open_store(M.master, STANCE_STORE_DEFAULT);
  GError *e = NULL;

  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup(ATHLETE_NAME);
  g_strlcpy(a.birth_date, "1995-03-14", sizeof a.birth_date);
  a.sex = STANCE_SEX_FEMALE;
  a.dominant = STANCE_SIDE_RIGHT;
  a.involved = STANCE_SIDE_LEFT;
  a.injury_notes = g_strdup(INJURY_NOTES);
  g_strlcpy(a.injury_date, "2025-06-02", sizeof a.injury_date);
  M.athlete_id = stance_store_athlete_add(st, &a, &e);
  ck_assert_msg(M.athlete_id > 0, "%s", e ? e->message : "?");
  stance_athlete_clear(&a);
  ck_assert(stance_store_athlete_get(st, M.athlete_id, &a, NULL));
  g_strlcpy(M.athlete_uuid, a.uuid, sizeof M.athlete_uuid);
  stance_athlete_clear(&a);
  StanceMassEntry m1 = {SESSION_A_MS - 86400000, 63.5, "entered"};
  StanceMassEntry m2 = {SESSION_B_MS - 3600000, 62.75, "plates"};
  ck_assert(stance_store_athlete_add_mass(st, M.athlete_id, &m1, NULL));
  ck_assert(stance_store_athlete_add_mass(st, M.athlete_id, &m2, NULL));

  StanceCalibRecord cr;
  sim_calib_record(&cr);
  ck_assert_msg(stance_store_calibration_save(st, &cr, "{\"format\": \"stance-calibration\"}", &e),
                "%s", e ? e->message : "?");

  StanceSession s;
  stance_session_init(&s);
  s.athlete_id = M.athlete_id;
  s.started_unix_ms = SESSION_A_MS;
  M.session_a = stance_store_session_add(st, &s, &e);
  ck_assert_msg(M.session_a > 0, "%s", e ? e->message : "?");
  s.started_unix_ms = SESSION_B_MS;
  s.place = g_strdup(PLACE);
  s.notes = g_strdup(SESSION_NOTES);
  M.session_b = stance_store_session_add(st, &s, &e);
  ck_assert_msg(M.session_b > 0, "%s", e ? e->message : "?");
  stance_session_clear(&s);

  /* Three simulations (the simulator is the slow part, above all under valgrind): the CMJ is
   * stored four times (session A, and trials 1, 4 and 5 of session B; each stored trial is its
   * own row with its own uuid). */
  StanceRecording *cmj = sim(STANCE_PROTO_CMJ, 11, NULL, "10", false);
  StanceRecording *sl_left = sim(STANCE_PROTO_SL_CMJ, 12, "left", NULL, false);
  StanceRecording *sl_right = sim(STANCE_PROTO_SL_CMJ, 13, "right", NULL, false);
  analyse(st, import_trial(st, M.session_a, cmj, SESSION_A_MS + 60000));
  StanceRecording *b[5] = {cmj, sl_left, sl_right, cmj, cmj};
  for (int i = 0; i < 5; i++) {
    char keep[sizeof cmj->meta.source];
    memcpy(keep, b[i]->meta.source, sizeof keep);
    if (i == 4)
      snprintf(b[i]->meta.source, sizeof b[i]->meta.source, "import:jane_doe-miller_cmj.csv");
    M.trial_b[i + 1] = import_trial(st, M.session_b, b[i], SESSION_B_MS + 60000 * (i + 1));
    memcpy(b[i]->meta.source, keep, sizeof keep);
    if (i < 4)
      analyse(st, M.trial_b[i + 1]);
  }
  stance_recording_free(cmj);
  stance_recording_free(sl_left);
  stance_recording_free(sl_right);
  ck_assert(stance_store_trial_set_accepted(st, M.trial_b[4], FALSE, REJECT_REASON, NULL));
  stance_store_close(st);
}

static void
master_teardown(void)
{
  gchar *cmd = g_strdup_printf("rm -rf '%s'", M.dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", M.dir);
  g_free(cmd);
  g_free(M.master);
  free(M.dir);
  memset(&M, 0, sizeof M);
}

/* A test's own copy of the master database, opened; *dir is the test's folder. */
static StanceStore *
open_copy(char **dir, char **path)
{
  *dir = stance_test_tmpdir();
  *path = g_build_filename(*dir, "stance.db", NULL);
  gchar *data = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(M.master, &data, &len, NULL));
  ck_assert(g_file_set_contents(*path, data, (gssize)len, NULL));
  g_free(data);
  return open_store(*path, STANCE_STORE_DEFAULT);
}

static void
done_copy(StanceStore *st, char *dir, char *path)
{
  stance_store_close(st);
  rm_tree(dir);
  free(dir);
  g_free(path);
}

/* Rows of every table a bundle import writes, as a fingerprint of the store. */
static gint64
count_rows(const char *db)
{
  sqlite3 *h = NULL;
  ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  static const char *const tables[] = {"athletes", "athlete_masses", "sessions",
                                       "trials",   "trial_chunks",   "analyses",
                                       "results",  "calibrations"};
  gint64 total = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
    gchar *sql = g_strdup_printf("SELECT count(*) FROM %s", tables[i]);
    sqlite3_stmt *q = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    /* Weighted so that one table's loss cannot hide another's gain. */
    total += sqlite3_column_int64(q, 0) * (gint64)(1 + i * 1000003);
    sqlite3_finalize(q);
    g_free(sql);
  }
  sqlite3_close(h);
  return total;
}

/* The value of a metric slot in an analysis trial (rep = its index) or at recording level (0). */
static bool
analysis_value(const StanceAnalysis *a, int rep, const char *metric, const char *limb, double *v)
{
  const StanceMetric *m = NULL;
  if (rep == 0) {
    m = stance_analysis_metric(a, metric);
  } else if ((size_t)rep <= a->n_trials) {
    m = stance_trial_metric(&a->trials[rep - 1], metric);
  }
  if (!m)
    return false;
  if (strcmp(limb, "asym") == 0) {
    if (!m->has_asym)
      return false;
    *v = m->asym.value;
    return true;
  }
  StanceSel sel = strcmp(limb, "left") == 0    ? STANCE_SEL_LEFT
                  : strcmp(limb, "right") == 0 ? STANCE_SEL_RIGHT
                                               : STANCE_SEL_TOTAL;
  return stance_metric_get(m, sel, v);
}

/* ======================================================================================
 * Loading and analysing
 * ====================================================================================== */

START_TEST(test_load_reruns_analyses)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  GError *e = NULL;
  StanceSessionData *d = stance_session_load(st, M.session_b, TRUE, &e);
  ck_assert_msg(d, "%s", e ? e->message : "?");
  /* Trial 4 was rejected. */
  ck_assert_uint_eq(d->trials->len, 4);
  ck_assert_uint_eq(d->recordings->len, 4);
  ck_assert_uint_eq(d->analyses->len, 4);
  ck_assert_uint_eq(d->options->len, 4);
  ck_assert_str_eq(d->athlete.name, ATHLETE_NAME);
  ck_assert_str_eq(d->session.place, PLACE);
  static const int numbers[] = {1, 2, 3, 5};
  for (guint i = 0; i < 4; i++) {
    const StanceStoreTrial *t = g_ptr_array_index(d->trials, i);
    ck_assert_int_eq(t->number, numbers[i]);
    const StanceAnalysis *a = g_ptr_array_index(d->analyses, i);
    /* The athlete's left knee is involved: the default formula is then the LSI. */
    ck_assert_int_eq(a->involved, STANCE_SIDE_LEFT);
    ck_assert_int_eq(a->formula, STANCE_ASYM_LSI);
    ck_assert_uint_gt(a->n_trials, 0);
    if (numbers[i] == 5) {
      /* Never analysed: the defaults with the athlete's involved limb. */
      ck_assert_ptr_nonnull(strstr(g_ptr_array_index(d->options, i), ";involved=left;"));
      continue;
    }
    /* Re-run from raw samples + stored options: every stored result row is reproduced exactly
     * (the analysis is deterministic; the store keeps doubles as they are). */
    StanceStoreAnalysis cur = {0};
    ck_assert(stance_store_analysis_current(st, t->id, &cur, NULL));
    ck_assert_str_eq(cur.options, g_ptr_array_index(d->options, i));
    GArray *rows = stance_store_results(st, cur.id, NULL);
    ck_assert_ptr_nonnull(rows);
    ck_assert_uint_gt(rows->len, 20);
    for (guint k = 0; k < rows->len; k++) {
      const StanceResultRow *r = &g_array_index(rows, StanceResultRow, k);
      double v;
      ck_assert_msg(analysis_value(a, r->rep, r->metric, r->limb, &v),
                    "trial %d: stored %s %s of rep %d missing after the re-run", t->number,
                    r->metric, r->limb, r->rep);
      ck_assert_msg(v == r->value, "trial %d: %s %s rep %d: %.17g re-run, %.17g stored", t->number,
                    r->metric, r->limb, r->rep, v, r->value);
    }
    g_array_unref(rows);
    stance_store_analysis_clear(&cur);
  }
  stance_session_data_free(d);

  d = stance_session_load(st, M.session_b, FALSE, &e);
  ck_assert_msg(d, "%s", e ? e->message : "?");
  ck_assert_uint_eq(d->trials->len, 5);
  const StanceStoreTrial *t4 = g_ptr_array_index(d->trials, 3);
  ck_assert(!t4->accepted);
  ck_assert_str_eq(t4->reject_reason, REJECT_REASON);
  stance_session_data_free(d);

  /* A session that does not exist. */
  ck_assert_ptr_null(stance_session_load(st, 9999, TRUE, &e));
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND));
  g_clear_error(&e);
  done_copy(st, dir, path);
}
END_TEST

START_TEST(test_analyse_trial_with_options)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.formula = STANCE_ASYM_PCT_DIFF;
  o.onset = STANCE_ONSET_FIXED_N;
  o.onset_n = 30;
  StanceAnalysis *a = NULL;
  GError *e = NULL;
  gint64 id = stance_session_analyse_trial(st, M.trial_b[1], &o, &a, &e);
  ck_assert_msg(id > 0, "%s", e ? e->message : "?");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(a->formula, STANCE_ASYM_PCT_DIFF);
  /* The new run is current and keeps its options exactly. */
  StanceStoreAnalysis cur = {0};
  ck_assert(stance_store_analysis_current(st, M.trial_b[1], &cur, NULL));
  ck_assert(cur.id == id);
  StanceAnalysisOptions back;
  ck_assert_int_eq(stance_analysis_options_from_text(&back, cur.options, NULL), STANCE_OK);
  ck_assert(back.formula == o.formula && back.onset == o.onset && back.onset_n == 30.0);
  stance_store_analysis_clear(&cur);
  /* Two runs now: the raw samples are untouched, the older run kept. */
  GPtrArray *runs = stance_store_analysis_list(st, M.trial_b[1], NULL);
  ck_assert_uint_eq(runs->len, 2);
  g_ptr_array_unref(runs);
  /* Loading re-runs with these options: the same analysis. */
  StanceSessionData *d = stance_session_load(st, M.session_b, TRUE, &e);
  ck_assert_msg(d, "%s", e ? e->message : "?");
  const StanceAnalysis *b = g_ptr_array_index(d->analyses, 0);
  ck_assert_int_eq(b->formula, STANCE_ASYM_PCT_DIFF);
  ck_assert_uint_eq(b->n_trials, a->n_trials);
  for (size_t i = 0; i < a->n_trials; i++) {
    const StanceMetric *ma = stance_trial_metric(&a->trials[i], "peak_force");
    const StanceMetric *mb = stance_trial_metric(&b->trials[i], "peak_force");
    ck_assert(ma && mb && ma->left == mb->left && ma->asym.value == mb->asym.value);
  }
  stance_session_data_free(d);
  stance_analysis_free(a);

  /* A trial that does not exist. */
  ck_assert_int_eq(stance_session_analyse_trial(st, 9999, NULL, NULL, &e), 0);
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND));
  g_clear_error(&e);
  done_copy(st, dir, path);
}
END_TEST

START_TEST(test_format_names)
{
  StanceExportFormat f;
  ck_assert(stance_export_format_from_name("CSV", &f) && f == STANCE_EXPORT_CSV);
  ck_assert(stance_export_format_from_name("Bundle", &f) && f == STANCE_EXPORT_BUNDLE);
  ck_assert(stance_export_format_from_name("pdf", &f) && f == STANCE_EXPORT_PDF);
  ck_assert(!stance_export_format_from_name("xlsx", &f));
  ck_assert(!stance_export_format_from_name(NULL, &f));
  ck_assert_str_eq(stance_export_format_name(STANCE_EXPORT_C3D), "c3d");
  ck_assert_str_eq(stance_export_format_name(STANCE_EXPORT_JSON), "json");
  StanceExportOptions o;
  stance_export_options_default(&o);
  ck_assert(o.green_below_pct == 10.0 && o.red_above_pct == 15.0 && o.trial_number == 0);
  ck_assert(!o.pseudonymise && !o.include_rejected && o.notes == NULL);
}
END_TEST

/* ======================================================================================
 * CSV export of a session
 * ====================================================================================== */

static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names in a folder, sorted, joined by spaces. */
static gchar *
folder_listing(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  ck_assert_ptr_nonnull(d);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)))
    g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, compare_names);
  g_ptr_array_add(names, NULL);
  gchar *s = g_strjoinv(" ", (gchar **)names->pdata);
  g_ptr_array_unref(names);
  return s;
}

static gboolean export(StanceStore *st, gint64 session, StanceExportFormat f, const char *path,
                       const StanceExportOptions *o, GError **e)
{
  bool comma = enter_comma_locale();
  gboolean ok = stance_session_export(st, session, f, path, o, e);
  if (comma)
    leave_comma_locale();
  return ok;
}

START_TEST(test_export_csv_session)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *out = g_build_filename(dir, "csv", NULL);
  StanceExportOptions o;
  stance_export_options_default(&o);
  o.now_unix_ms = SESSION_B_MS + 7200000;
  GError *e = NULL;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_CSV, out, &o, &e), "%s",
                e ? e->message : "?");
  gchar *list = folder_listing(out);
  ck_assert_str_eq(list, "results.csv trial-01-cmj.csv trial-02-sl-cmj-left.csv "
                         "trial-03-sl-cmj-right.csv trial-05-cmj.csv");
  g_free(list);
  /* Nothing left beside it: the temporary folder ".csv.XXXXXX" was renamed. */
  list = folder_listing(dir);
  /* (A hidden ".csv.XXXXXX" would sort first; the store's -wal and -shm files may follow.) */
  ck_assert_msg(strncmp(list, "csv stance.db", 13) == 0, "%s", list);
  g_free(list);

  StanceSessionData *d = stance_session_load(st, M.session_b, TRUE, &e);
  ck_assert_msg(d, "%s", e ? e->message : "?");
  static const char *const files[] = {"trial-01-cmj.csv", "trial-02-sl-cmj-left.csv",
                                      "trial-03-sl-cmj-right.csv", "trial-05-cmj.csv"};
  for (int i = 0; i < 4; i++) {
    gchar *f = g_build_filename(out, files[i], NULL);
    Csv c;
    csv_parse(&c, f);
    const StanceRecording *rec = g_ptr_array_index(d->recordings, (guint)i);
    check_recording_csv(&c, rec);
    ck_assert_str_eq(csv_meta(&c, "athlete"), ATHLETE_NAME);
    ck_assert_str_eq(csv_meta(&c, "calibration"), "SIM-0001-2026-01-01-1");
    ck_assert_ptr_nonnull(csv_meta(&c, "units"));
    ck_assert_ptr_nonnull(csv_meta(&c, "method"));
    ck_assert_str_eq(csv_meta(&c, "rate"), "1000 Hz");
    ck_assert_ptr_nonnull(strstr(csv_meta(&c, "session"), " (id 2)"));
    char num[8];
    snprintf(num, sizeof num, "%d",
             ((const StanceStoreTrial *)g_ptr_array_index(d->trials, (guint)i))->number);
    ck_assert_str_eq(csv_meta(&c, "trial"), num);
    csv_free(&c);
    g_free(f);
  }

  /* results.csv: every value is the analysis value to its 15 printed digits. */
  gchar *f = g_build_filename(out, "results.csv", NULL);
  Csv c;
  csv_parse(&c, f);
  ck_assert_ptr_nonnull(strstr(csv_meta(&c, "trial 1 formula"), "lsi = "));
  ck_assert_ptr_nonnull(strstr(csv_meta(&c, "trial 2 onset"), "onset."));
  ck_assert_ptr_nonnull(csv_meta(&c, "trial 5 gravity"));
  size_t ctr = csv_col(&c, "trial"), crep = csv_col(&c, "rep"), cm = csv_col(&c, "metric");
  size_t cl = csv_col(&c, "left"), cr = csv_col(&c, "right"), ct = csv_col(&c, "total");
  size_t ca = csv_col(&c, "asym_value");
  size_t expected_rows = 0;
  for (guint i = 0; i < d->analyses->len; i++) {
    const StanceAnalysis *a = g_ptr_array_index(d->analyses, i);
    expected_rows += a->n_metrics;
    for (size_t k = 0; k < a->n_trials; k++)
      expected_rows += a->trials[k].n_metrics;
  }
  ck_assert_uint_eq(c.n_rows, expected_rows);
  size_t compared = 0;
  for (size_t r = 0; r < c.n_rows; r++) {
    char **row = c.rows[r];
    int number = atoi(row[ctr]);
    const StanceAnalysis *a = NULL;
    for (guint i = 0; i < d->trials->len; i++)
      if (((const StanceStoreTrial *)g_ptr_array_index(d->trials, i))->number == number)
        a = g_ptr_array_index(d->analyses, i);
    require(a, "row %zu: no trial %d", r, number);
    int rep = row[crep][0] ? atoi(row[crep]) : 0;
    const char *limbs[] = {"left", "right", "total", "asym"};
    const size_t cols[] = {cl, cr, ct, ca};
    for (int k = 0; k < 4; k++) {
      double v;
      bool has = analysis_value(a, rep, row[cm], limbs[k], &v);
      if (!row[cols[k]][0]) {
        require(!has, "row %zu %s %s: value missing", r, row[cm], limbs[k]);
        continue;
      }
      require(has, "row %zu %s %s: a value the analysis lacks", r, row[cm], limbs[k]);
      double got = num_field(row[cols[k]]);
      /* 15 significant digits: within 1e-14 relative (one scaling by an exact power of ten). */
      require(fabs(got - v) <= 1e-14 * fabs(v) + 1e-300, "row %zu %s %s: %.17g vs %.17g", r,
              row[cm], limbs[k], got, v);
      compared++;
    }
  }
  ck_assert_uint_gt(compared, 200);
  csv_free(&c);
  g_free(f);

  /* One trial as one file; the rejected trial on request. */
  gchar *one = g_build_filename(dir, "trial3.csv", NULL);
  o.trial_number = 3;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_CSV, one, &o, &e), "%s",
                e ? e->message : "?");
  csv_parse(&c, one);
  check_recording_csv(&c, g_ptr_array_index(d->recordings, 2));
  ck_assert_str_eq(csv_meta(&c, "protocol"), "sl-cmj");
  ck_assert_str_eq(csv_meta(&c, "side"), "right leg");
  csv_free(&c);
  /* A folder that is not empty is never overwritten; a trial that does not exist is named. */
  o.trial_number = 0;
  ck_assert(!export(st, M.session_b, STANCE_EXPORT_CSV, out, &o, &e));
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS));
  ck_assert_ptr_nonnull(strstr(e->message, out));
  g_clear_error(&e);
  o.trial_number = 9;
  ck_assert(!export(st, M.session_b, STANCE_EXPORT_CSV, one, &o, &e));
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND));
  ck_assert_ptr_nonnull(strstr(e->message, "trial 9"));
  g_clear_error(&e);

  stance_session_data_free(d);
  g_free(one);
  g_free(out);
  done_copy(st, dir, path);
}
END_TEST

/* ======================================================================================
 * C3D, JSON, PDF
 * ====================================================================================== */

START_TEST(test_export_c3d_session)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *out = g_build_filename(dir, "c3d", NULL);
  GError *e = NULL;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_C3D, out, NULL, &e), "%s",
                e ? e->message : "?");
  gchar *list = folder_listing(out);
  ck_assert_str_eq(list, "trial-01-cmj.c3d trial-02-sl-cmj-left.c3d trial-03-sl-cmj-right.c3d "
                         "trial-05-cmj.c3d");
  g_free(list);
  /* Trial 1 (bilateral, 10 % asymmetry) and 3 (right leg) read back sample by sample. */
  static const struct {
    const char *file;
    int number;
  } cases[] = {{"trial-01-cmj.c3d", 1}, {"trial-03-sl-cmj-right.c3d", 3}};
  for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
    gchar *f = g_build_filename(out, cases[k].file, NULL);
    StanceC3d *c = NULL;
    StanceError err = {0};
    ck_assert_msg(stance_c3d_read(f, &c, &err) == STANCE_OK, "%s", err.message);
    StanceRecording *rec = stance_store_trial_read(st, M.trial_b[cases[k].number], &e);
    ck_assert_msg(rec, "%s", e ? e->message : "?");
    ck_assert_uint_ge(stance_c3d_analog_samples(c), rec->n_samples);
    ck_assert_near(stance_c3d_analog_rate(c), 1000.0, 1e-9);
    ck_assert_int_eq(stance_c3d_platform_count(c), 2);
    int ch[8];
    for (int i = 0; i < 8; i++) {
      char label[4] = {i < 4 ? 'L' : 'R', (char)('1' + i % 4), '\0', '\0'};
      ch[i] = stance_c3d_analog_find(c, label);
      ck_assert_int_ge(ch[i], 0);
    }
    for (size_t i = 0; i < rec->n_samples; i++) {
      /* Floats: half an ulp of a float is 6e-8 of the value. */
      for (int cell = 0; cell < 8; cell++) {
        double want = stance_recording_cell_force(rec, i, cell);
        double got = stance_c3d_analog(c, (size_t)ch[cell])[i];
        require(fabs(got - want) <= 6e-8 * fabs(want) + 1e-12,
                "%s sample %zu cell %d: %.9g vs %.9g", cases[k].file, i, cell, got, want);
      }
      for (int p = 0; p < 2; p++) {
        StanceC3dWrench w;
        require(stance_c3d_platform_wrench(c, p, i, &w, &err) == STANCE_OK, "%s", err.message);
        double fz = stance_recording_force_at(rec, i, (StanceSel)p);
        require(fabs(w.force[2] - fz) <= 1.2e-7 * fabs(fz) + 1e-9,
                "%s sample %zu plate %d: Fz %.9g vs %.9g", cases[k].file, i, p, w.force[2], fz);
      }
    }
    const StanceC3dParam *ath = stance_c3d_param(c, "STANCE:ATHLETE");
    ck_assert_ptr_nonnull(ath);
    ck_assert_str_eq(ath->strings[0], ATHLETE_NAME);
    stance_c3d_free(c);
    stance_recording_free(rec);
    g_free(f);
  }
  /* The rejected trial on request. */
  StanceExportOptions o;
  stance_export_options_default(&o);
  o.include_rejected = TRUE;
  gchar *all = g_build_filename(dir, "all", NULL);
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_C3D, all, &o, &e), "%s",
                e ? e->message : "?");
  list = folder_listing(all);
  ck_assert_str_eq(list, "trial-01-cmj.c3d trial-02-sl-cmj-left.c3d trial-03-sl-cmj-right.c3d "
                         "trial-04-cmj.c3d trial-05-cmj.c3d");
  g_free(list);
  g_free(all);
  o.include_rejected = FALSE;

  /* One trial, pseudonymised: the file names the pseudonym only. */
  o.trial_number = 2;
  o.pseudonymise = TRUE;
  gchar *one = g_build_filename(dir, "t2.c3d", NULL);
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_C3D, one, &o, &e), "%s",
                e ? e->message : "?");
  gsize len;
  gchar *bytes;
  ck_assert(g_file_get_contents(one, &bytes, &len, NULL));
  ck_assert_ptr_null(memmem(bytes, len, "Jane", 4));
  ck_assert_ptr_nonnull(memmem(bytes, len, "ATH-", 4));
  g_free(bytes);
  g_free(one);
  g_free(out);
  done_copy(st, dir, path);
}
END_TEST

/* The report draws text through cairo and fontconfig, whose caches live until the process ends;
 * LeakSanitizer and valgrind would report them. Released as the CLI does after a report
 * (FcFini looked up at run time: fontconfig is loaded as cairo's dependency). */
static void
release_fonts(void)
{
  cairo_debug_reset_static_data();
  void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
  if (fc_fini)
    fc_fini();
}

/* Shortest text of v that reads back, as the JSON writer prints numbers. */
static void
shortest(double v, char *buf, size_t n)
{
  if (fabs(v) < 1e15 && v == trunc(v)) {
    snprintf(buf, n, "%.0f", v);
    return;
  }
  for (int p = 15; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

static int
python_json_check(const char *file, const char *expr)
{
  gchar *cmd = g_strdup_printf(
      "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (%s) else 3)' "
      "'%s'",
      expr, file);
  int r = system(cmd);
  g_free(cmd);
  return r;
}

START_TEST(test_export_json_session)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *out = g_build_filename(dir, "session.json", NULL);
  StanceExportOptions o;
  stance_export_options_default(&o);
  o.include_rejected = TRUE;
  GError *e = NULL;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_JSON, out, &o, &e), "%s",
                e ? e->message : "?");
  gchar *doc = NULL;
  ck_assert(g_file_get_contents(out, &doc, NULL, NULL));
  ck_assert_ptr_nonnull(strstr(doc, "\"format\": \"stance-analysis\""));
  ck_assert_ptr_nonnull(strstr(doc, "\"session\": {"));
  ck_assert_ptr_nonnull(strstr(doc, "\"name\": \"" ATHLETE_NAME "\""));
  ck_assert_ptr_nonnull(strstr(doc, "\"birth_date\": \"1995-03-14\""));
  ck_assert_ptr_nonnull(strstr(doc, "\"started\": \"2026-01-15T09:30:00Z\""));
  ck_assert_ptr_nonnull(strstr(doc, "\"reject_reason\": \"" REJECT_REASON "\""));
  /* Exact numbers of the analysis (the export re-runs it; test_load_reruns_analyses shows the
   * re-run equals the stored rows): every stored value of trial 1's first jump is in the text. */
  StanceStoreAnalysis cur = {0};
  ck_assert(stance_store_analysis_current(st, M.trial_b[1], &cur, NULL));
  GArray *rows = stance_store_results(st, cur.id, NULL);
  stance_store_analysis_clear(&cur);
  size_t checked = 0;
  for (guint k = 0; k < rows->len; k++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, k);
    if (r->rep != 1)
      continue;
    char num[40], want[80];
    shortest(r->value, num, sizeof num);
    snprintf(want, sizeof want, "\"%s\": %s", strcmp(r->limb, "asym") == 0 ? "value" : r->limb,
             num);
    ck_assert_msg(strstr(doc, want), "JSON lacks %s (%s)", want, r->metric);
    checked++;
  }
  ck_assert_uint_gt(checked, 50);
  g_array_unref(rows);
  g_free(doc);
  /* A real JSON document with the session object beside the analyses. */
  int r = python_json_check(
      out, "d[\"format\"]==\"stance-analysis\" and len(d[\"analyses\"])==5 and "
           "d[\"session\"][\"athlete\"][\"involved\"]==\"left\" and "
           "[t[\"number\"] for t in d[\"session\"][\"trials\"]]==[1,2,3,4,5] and "
           "[t[\"accepted\"] for t in d[\"session\"][\"trials\"]]==[True,True,True,False,True] and "
           "all(t[\"state\"]==\"complete\" for t in d[\"session\"][\"trials\"]) and "
           "d[\"analyses\"][0][\"input\"]==\"trial-01-cmj\" and "
           "d[\"session\"][\"place\"]==\"" PLACE "\"");
  ck_assert_msg(r == 0, "python3 json check failed (%d)", r);

  /* Pseudonymised: the name, birth date, injury notes, place and notes are not in it. */
  o.pseudonymise = TRUE;
  o.include_rejected = FALSE;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_JSON, out, &o, &e), "%s",
                e ? e->message : "?");
  ck_assert(g_file_get_contents(out, &doc, NULL, NULL));
  ck_assert_ptr_null(strstr(doc, "Jane"));
  ck_assert_ptr_null(strstr(doc, "Miller"));
  ck_assert_ptr_null(strstr(doc, "Smith"));
  ck_assert_ptr_null(strstr(doc, PLACE));
  ck_assert_ptr_null(strstr(doc, "1995-03-14"));
  ck_assert_ptr_nonnull(strstr(doc, "\"birth_year\": 1995"));
  ck_assert_ptr_nonnull(strstr(doc, "\"pseudonymised\": true"));
  g_free(doc);
  r = python_json_check(out, "len(d[\"analyses\"])==4 and "
                             "d[\"session\"][\"athlete\"][\"name\"].startswith(\"ATH-\")");
  ck_assert_msg(r == 0, "python3 json check failed (%d)", r);
  g_free(out);
  done_copy(st, dir, path);
}
END_TEST

START_TEST(test_export_pdf_session)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *out = g_build_filename(dir, "report.pdf", NULL);
  StanceExportOptions o;
  stance_export_options_default(&o);
  o.now_unix_ms = SESSION_B_MS + 3600000;
  GError *e = NULL;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_PDF, out, &o, &e), "%s",
                e ? e->message : "?");
  gchar *bytes = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(out, &bytes, &len, NULL));
  ck_assert_uint_gt(len, 1000);
  ck_assert_int_eq(memcmp(bytes, "%PDF", 4), 0);
  g_free(bytes);
  gchar *txt = g_build_filename(dir, "report.txt", NULL);
  gchar *cmd = g_strdup_printf("pdftotext '%s' '%s'", out, txt);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  ck_assert(g_file_get_contents(txt, &bytes, NULL, NULL));
  ck_assert_msg(strstr(bytes, ATHLETE_NAME), "the report does not name the athlete");
  g_free(bytes);
  /* Pseudonymised: the pseudonym, not the name. */
  o.pseudonymise = TRUE;
  ck_assert_msg(export(st, M.session_b, STANCE_EXPORT_PDF, out, &o, &e), "%s",
                e ? e->message : "?");
  cmd = g_strdup_printf("pdftotext '%s' '%s'", out, txt);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  ck_assert(g_file_get_contents(txt, &bytes, NULL, NULL));
  ck_assert_ptr_null(strstr(bytes, "Jane"));
  char pseudo[16];
  gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, M.athlete_uuid, -1);
  snprintf(pseudo, sizeof pseudo, "ATH-%.8s", hex);
  g_free(hex);
  ck_assert_msg(strstr(bytes, pseudo), "the report does not show %s", pseudo);
  g_free(bytes);
  g_free(txt);
  /* Bad traffic-light bands are refused before anything is written. */
  o.green_below_pct = 20;
  o.red_above_pct = 15;
  ck_assert(!stance_session_export(st, M.session_b, STANCE_EXPORT_PDF, out, &o, &e));
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID));
  g_clear_error(&e);
  g_free(out);
  done_copy(st, dir, path);
  release_fonts();
}
END_TEST

/* ======================================================================================
 * Export errors
 * ====================================================================================== */

START_TEST(test_export_errors)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  /* A folder that does not exist, and one nobody may write into (as root, which ignores
   * permission bits, sysfs: it refuses new files to everyone). */
  gchar *ro = NULL;
  if (geteuid() == 0) {
    ro = g_strdup("/sys");
  } else {
    ro = g_build_filename(dir, "ro", NULL);
    ck_assert_int_eq(g_mkdir(ro, 0500), 0);
  }
  const char *const parents[] = {"/nonexistent-stance-folder", ro};
  static const struct {
    StanceExportFormat f;
    int trial;
    const char *name;
  } cases[] = {
      {STANCE_EXPORT_CSV, 0, "csv"},
      {STANCE_EXPORT_CSV, 1, "t1.csv"},
      {STANCE_EXPORT_C3D, 0, "c3d"},
      {STANCE_EXPORT_C3D, 1, "t1.c3d"},
      {STANCE_EXPORT_JSON, 0, "s.json"},
      {STANCE_EXPORT_PDF, 0, "r.pdf"},
      {STANCE_EXPORT_BUNDLE, 0, "s.stance-bundle"},
  };
  for (size_t p = 0; p < G_N_ELEMENTS(parents); p++) {
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
      gchar *out = g_build_filename(parents[p], cases[k].name, NULL);
      StanceExportOptions o;
      stance_export_options_default(&o);
      o.trial_number = cases[k].trial;
      GError *e = NULL;
      ck_assert_msg(!stance_session_export(st, M.session_b, cases[k].f, out, &o, &e),
                    "%s export to %s succeeded", stance_export_format_name(cases[k].f), out);
      ck_assert(e && e->domain == STANCE_STORE_ERROR);
      ck_assert_msg(e->code == STANCE_STORE_ERROR_IO, "%s: code %d: %s", out, e->code, e->message);
      if (g_getenv("STANCE_TEST_VERBOSE"))
        fprintf(stderr, "%s: %s\n", out, e->message);
      /* The message names the path (or its folder) and the reason. */
      ck_assert_msg(strstr(e->message, parents[p]), "'%s' does not name %s", e->message,
                    parents[p]);
      ck_assert_msg(strstr(e->message, "No such file") || strstr(e->message, "not exist") ||
                        strstr(e->message, "ermission") || strstr(e->message, "not permitted") ||
                        strstr(e->message, "Read-only"),
                    "'%s' gives no reason", e->message);
      ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
      g_error_free(e);
      g_free(out);
    }
  }
  if (geteuid() != 0) {
    gchar *list = folder_listing(ro);
    ck_assert_str_eq(list, "");
    g_free(list);
  }
  g_free(ro);
  done_copy(st, dir, path);
  release_fonts();
}
END_TEST

/* ======================================================================================
 * Bundles
 * ====================================================================================== */

static gchar *
export_bundle(StanceStore *st, const char *dir, const char *name, gboolean pseudonymise)
{
  gchar *out = g_build_filename(dir, name, NULL);
  StanceExportOptions o;
  stance_export_options_default(&o);
  o.pseudonymise = pseudonymise;
  GError *e = NULL;
  ck_assert_msg(stance_session_export(st, M.session_b, STANCE_EXPORT_BUNDLE, out, &o, &e), "%s",
                e ? e->message : "?");
  /* One file: no journal left beside it, readable by its owner only. */
  gchar *wal = g_strconcat(out, "-wal", NULL);
  ck_assert(!g_file_test(wal, G_FILE_TEST_EXISTS));
  g_free(wal);
  GStatBuf sb;
  ck_assert_int_eq(g_stat(out, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  return out;
}

static uint8_t *
encode(const StanceRecording *rec, size_t *len)
{
  uint8_t *buf = NULL;
  StanceError err = {0};
  ck_assert_msg(stance_file_encode(rec, &buf, len, &err) == STANCE_OK, "%s", err.message);
  return buf;
}

static void
assert_rows_equal(GArray *a, GArray *b)
{
  ck_assert_uint_eq(a->len, b->len);
  for (guint i = 0; i < a->len; i++) {
    const StanceResultRow *x = &g_array_index(a, StanceResultRow, i);
    const StanceResultRow *y = &g_array_index(b, StanceResultRow, i);
    ck_assert_int_eq(x->rep, y->rep);
    ck_assert_str_eq(x->kind, y->kind);
    ck_assert_int_eq(x->rep_side, y->rep_side);
    ck_assert_str_eq(x->metric, y->metric);
    ck_assert_str_eq(x->unit, y->unit);
    ck_assert_str_eq(x->limb, y->limb);
    ck_assert_msg(memcmp(&x->value, &y->value, sizeof x->value) == 0, "%s %s: %.17g vs %.17g",
                  x->metric, x->limb, x->value, y->value);
    ck_assert_str_eq(x->method_id, y->method_id);
    ck_assert_str_eq(x->method_params, y->method_params);
    ck_assert_str_eq(x->formula, y->formula);
    ck_assert_int_eq(x->stronger, y->stronger);
  }
}

/* Session src_sid of src and dst_sid of dst hold the same trials, samples and analysis runs. */
static void
assert_sessions_equal(StanceStore *src, gint64 src_sid, StanceStore *dst, gint64 dst_sid,
                      bool same_meta)
{
  StanceSession a, b;
  stance_session_init(&a);
  stance_session_init(&b);
  ck_assert(stance_store_session_get(src, src_sid, &a, NULL));
  ck_assert(stance_store_session_get(dst, dst_sid, &b, NULL));
  ck_assert_str_eq(a.uuid, b.uuid);
  ck_assert(a.started_unix_ms == b.started_unix_ms);
  ck_assert_int_eq(a.n_trials, b.n_trials);
  stance_session_clear(&a);
  stance_session_clear(&b);
  GPtrArray *ta = stance_store_trial_list(src, src_sid, NULL);
  GPtrArray *tb = stance_store_trial_list(dst, dst_sid, NULL);
  ck_assert_uint_eq(ta->len, 5);
  ck_assert_uint_eq(ta->len, tb->len);
  for (guint i = 0; i < ta->len; i++) {
    const StanceStoreTrial *x = g_ptr_array_index(ta, i);
    const StanceStoreTrial *y = g_ptr_array_index(tb, i);
    ck_assert_str_eq(x->uuid, y->uuid);
    ck_assert_int_eq(x->number, y->number);
    ck_assert_int_eq(x->protocol, y->protocol);
    ck_assert_int_eq(x->side, y->side);
    ck_assert_int_eq(x->state, y->state);
    ck_assert_int_eq(x->accepted, y->accepted);
    ck_assert_str_eq(x->reject_reason ? x->reject_reason : "",
                     y->reject_reason ? y->reject_reason : "");
    if (same_meta)
      ck_assert_str_eq(x->note ? x->note : "", y->note ? y->note : "");
    ck_assert_str_eq(x->calibration_id, y->calibration_id);
    ck_assert(x->n_samples == y->n_samples && x->gap_samples == y->gap_samples);
    ck_assert(x->started_unix_ms == y->started_unix_ms);
    StanceRecording *ra = stance_store_trial_read(src, x->id, NULL);
    StanceRecording *rb = stance_store_trial_read(dst, y->id, NULL);
    ck_assert(ra && rb);
    if (same_meta) {
      /* The raw recording byte for byte: samples, calibration and metadata. */
      size_t la, lb;
      uint8_t *ea = encode(ra, &la), *eb = encode(rb, &lb);
      ck_assert_uint_eq(la, lb);
      ck_assert_msg(memcmp(ea, eb, la) == 0, "trial %d: the recordings differ", x->number);
      free(ea);
      free(eb);
    } else {
      ck_assert_uint_eq(ra->n_samples, rb->n_samples);
      ck_assert_int_eq(memcmp(ra->counts, rb->counts, ra->n_samples * 8 * sizeof(int32_t)), 0);
      ck_assert_int_eq(memcmp(ra->status, rb->status, ra->n_samples * sizeof(uint16_t)), 0);
      ck_assert_int_eq(memcmp(&ra->calib, &rb->calib, sizeof ra->calib), 0);
    }
    stance_recording_free(ra);
    stance_recording_free(rb);
    /* Every analysis run with its rows. */
    GPtrArray *aa = stance_store_analysis_list(src, x->id, NULL);
    GPtrArray *ab = stance_store_analysis_list(dst, y->id, NULL);
    ck_assert_uint_eq(aa->len, ab->len);
    ck_assert_uint_eq(aa->len, x->number <= 4 ? 1 : 0);
    for (guint k = 0; k < aa->len; k++) {
      const StanceStoreAnalysis *p = g_ptr_array_index(aa, k);
      const StanceStoreAnalysis *q = g_ptr_array_index(ab, k);
      ck_assert_str_eq(p->options, q->options);
      ck_assert_str_eq(p->stance_version, q->stance_version);
      ck_assert(p->created_unix_ms == q->created_unix_ms);
      ck_assert_int_eq(p->current, q->current);
      GArray *ra2 = stance_store_results(src, p->id, NULL);
      GArray *rb2 = stance_store_results(dst, q->id, NULL);
      assert_rows_equal(ra2, rb2);
      g_array_unref(ra2);
      g_array_unref(rb2);
    }
    g_ptr_array_unref(aa);
    g_ptr_array_unref(ab);
  }
  g_ptr_array_unref(ta);
  g_ptr_array_unref(tb);
}

START_TEST(test_bundle_roundtrip)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *bundle = export_bundle(st, dir, "session.stance-bundle", FALSE);

  char *tdir = stance_test_tmpdir();
  gchar *tpath = g_build_filename(tdir, "target.db", NULL);
  StanceStore *tgt = open_store(tpath, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 sid = stance_bundle_import(tgt, bundle, &e);
  ck_assert_msg(sid > 0, "%s", e ? e->message : "?");

  /* The athlete, every field. */
  StanceAthlete a, b;
  stance_athlete_init(&a);
  stance_athlete_init(&b);
  ck_assert(stance_store_athlete_get(st, M.athlete_id, &a, NULL));
  ck_assert_msg(stance_store_athlete_find(tgt, a.uuid, &b, &e), "%s", e ? e->message : "?");
  ck_assert_str_eq(a.name, b.name);
  ck_assert_str_eq(a.birth_date, b.birth_date);
  ck_assert_int_eq(a.sex, b.sex);
  ck_assert_int_eq(a.dominant, b.dominant);
  ck_assert_int_eq(a.involved, b.involved);
  ck_assert_str_eq(a.injury_notes, b.injury_notes);
  ck_assert_str_eq(a.injury_date, b.injury_date);
  ck_assert_int_eq(a.pseudonymised, b.pseudonymised);
  ck_assert(!b.pseudonymised);
  ck_assert(a.created_unix_ms == b.created_unix_ms);
  GArray *ma = stance_store_athlete_masses(st, a.id, NULL);
  GArray *mb = stance_store_athlete_masses(tgt, b.id, NULL);
  ck_assert_uint_eq(ma->len, 2);
  ck_assert_uint_eq(ma->len, mb->len);
  for (guint i = 0; i < ma->len; i++) {
    const StanceMassEntry *x = &g_array_index(ma, StanceMassEntry, i);
    const StanceMassEntry *y = &g_array_index(mb, StanceMassEntry, i);
    ck_assert(x->measured_unix_ms == y->measured_unix_ms && x->mass_kg == y->mass_kg);
    ck_assert_str_eq(x->source, y->source);
  }
  g_array_unref(ma);
  g_array_unref(mb);

  /* The session with its place and notes; trials, samples and analyses. */
  StanceSession sa, sb;
  stance_session_init(&sa);
  stance_session_init(&sb);
  ck_assert(stance_store_session_get(st, M.session_b, &sa, NULL));
  ck_assert(stance_store_session_get(tgt, sid, &sb, NULL));
  ck_assert(sb.athlete_id == b.id);
  ck_assert_str_eq(sa.place, sb.place);
  ck_assert_str_eq(sa.notes, sb.notes);
  stance_session_clear(&sa);
  stance_session_clear(&sb);
  assert_sessions_equal(st, M.session_b, tgt, sid, true);

  /* The calibration record the trials used. */
  StanceStoreCalibration ca = {0}, cb = {0};
  ck_assert(stance_store_calibration_get(st, "SIM-0001-2026-01-01-1", &ca, NULL));
  ck_assert_msg(stance_store_calibration_get(tgt, "SIM-0001-2026-01-01-1", &cb, &e), "%s",
                e ? e->message : "?");
  ck_assert_str_eq(ca.board_serial, cb.board_serial);
  ck_assert_str_eq(ca.plan_name, cb.plan_name);
  ck_assert_str_eq(ca.fit_method, cb.fit_method);
  ck_assert_str_eq(ca.result_json, cb.result_json);
  ck_assert(ca.sequence == cb.sequence && ca.created_unix_ms == cb.created_unix_ms);
  ck_assert(ca.passed == cb.passed && ca.n_faults == cb.n_faults);
  ck_assert_int_eq(memcmp(&ca.calibration, &cb.calibration, sizeof ca.calibration), 0);
  ck_assert_int_eq(memcmp(ca.full_scale_n, cb.full_scale_n, sizeof ca.full_scale_n), 0);
  ck_assert_int_eq(
      memcmp(ca.gain_se_n_per_count, cb.gain_se_n_per_count, sizeof ca.gain_se_n_per_count), 0);
  ck_assert_int_eq(memcmp(ca.hysteresis_pct_fs, cb.hysteresis_pct_fs, sizeof ca.hysteresis_pct_fs),
                   0);
  stance_store_calibration_clear(&ca);
  stance_store_calibration_clear(&cb);

  /* The imported session loads and re-analyses to the same numbers. */
  StanceSessionData *d = stance_session_load(tgt, sid, TRUE, &e);
  ck_assert_msg(d, "%s", e ? e->message : "?");
  ck_assert_uint_eq(d->trials->len, 4);
  stance_session_data_free(d);

  /* Twice: EXISTS naming the session, and nothing written. */
  gint64 before = count_rows(tpath);
  ck_assert_int_eq(stance_bundle_import(tgt, bundle, &e), 0);
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS));
  ck_assert_ptr_nonnull(strstr(e->message, "already"));
  ck_assert_ptr_nonnull(strstr(e->message, "2026-01-15"));
  g_clear_error(&e);
  ck_assert(count_rows(tpath) == before);

  /* Into a store that has the athlete already (the source itself minus nothing): the session
   * exists there, so EXISTS too. */
  ck_assert_int_eq(stance_bundle_import(st, bundle, &e), 0);
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS));
  g_clear_error(&e);

  stance_athlete_clear(&a);
  stance_athlete_clear(&b);
  stance_store_close(tgt);
  rm_tree(tdir);
  free(tdir);
  g_free(tpath);
  g_free(bundle);
  done_copy(st, dir, path);
}
END_TEST

START_TEST(test_bundle_calibration_record)
{
  /* The calibration record crosses a bundle whole: every figure the first store was given,
   * including those only the record holds (plan steps, gravity, offset SEs, fit residuals, zero
   * return). */
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *bundle = export_bundle(st, dir, "calib.stance-bundle", FALSE);
  char *tdir = stance_test_tmpdir();
  gchar *tpath = g_build_filename(tdir, "target.db", NULL);
  StanceStore *tgt = open_store(tpath, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  ck_assert_msg(stance_bundle_import(tgt, bundle, &e) > 0, "%s", e ? e->message : "?");
  StanceStoreCalibration cb = {0};
  ck_assert(stance_store_calibration_get(tgt, "SIM-0001-2026-01-01-1", &cb, NULL));
  StanceCalibRecord want;
  sim_calib_record(&want);
  ck_assert_str_eq(cb.plan_name, want.plan_name);
  ck_assert_int_eq(memcmp(&cb.calibration, &want.calibration, sizeof want.calibration), 0);
  ck_assert_int_eq(memcmp(cb.cop_error_mm, want.cop_error_mm, sizeof want.cop_error_mm), 0);
  ck_assert_uint_eq(cb.plan_steps, want.plan_steps);
  ck_assert(cb.gravity_m_s2 == want.gravity_m_s2);
  ck_assert_int_eq(memcmp(cb.offset_se_counts, want.offset_se_counts, sizeof want.offset_se_counts),
                   0);
  ck_assert_int_eq(memcmp(cb.residual_rms_n, want.residual_rms_n, sizeof want.residual_rms_n), 0);
  ck_assert_int_eq(
      memcmp(cb.zero_return_pct_fs, want.zero_return_pct_fs, sizeof want.zero_return_pct_fs), 0);
  stance_store_calibration_clear(&cb);
  stance_store_close(tgt);
  rm_tree(tdir);
  free(tdir);
  g_free(tpath);
  g_free(bundle);
  done_copy(st, dir, path);
}
END_TEST

/* True when the bytes of file hold needle. */
static bool
file_has(const char *file, const char *needle)
{
  gchar *bytes = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(file, &bytes, &len, NULL));
  bool has = memmem(bytes, len, needle, strlen(needle)) != NULL;
  g_free(bytes);
  return has;
}

START_TEST(test_bundle_pseudonymised)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *bundle = export_bundle(st, dir, "pseudo.stance-bundle", TRUE);
  static const char *const secrets[] = {"Jane",       "jane",      "Miller", "miller",
                                        "ACL recon",  "Dr. Smith", PLACE,    "felt fine",
                                        "1995-03-14", "knee sore"};
  for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
    ck_assert_msg(!file_has(bundle, secrets[i]), "the bundle holds \"%s\"", secrets[i]);
  char pseudo[16];
  gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, M.athlete_uuid, -1);
  snprintf(pseudo, sizeof pseudo, "ATH-%.8s", hex);
  g_free(hex);
  ck_assert(file_has(bundle, pseudo));

  char *tdir = stance_test_tmpdir();
  gchar *tpath = g_build_filename(tdir, "target.db", NULL);
  StanceStore *tgt = open_store(tpath, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 sid = stance_bundle_import(tgt, bundle, &e);
  ck_assert_msg(sid > 0, "%s", e ? e->message : "?");
  StanceAthlete b;
  stance_athlete_init(&b);
  ck_assert(stance_store_athlete_find(tgt, M.athlete_uuid, &b, NULL));
  ck_assert_str_eq(b.name, pseudo);
  ck_assert_str_eq(b.birth_date, "1995-07-01");
  ck_assert(b.pseudonymised);
  ck_assert_ptr_null(b.injury_notes);
  ck_assert_str_eq(b.injury_date, "2025-06-02");
  ck_assert_int_eq(b.involved, STANCE_SIDE_LEFT);
  stance_athlete_clear(&b);
  StanceSession s;
  stance_session_init(&s);
  ck_assert(stance_store_session_get(tgt, sid, &s, NULL));
  ck_assert_ptr_null(s.place);
  ck_assert_ptr_null(s.notes);
  stance_session_clear(&s);
  assert_sessions_equal(st, M.session_b, tgt, sid, false);
  /* Every recording names the pseudonym; the import file name lost the athlete's name words. */
  GPtrArray *trials = stance_store_trial_list(tgt, sid, NULL);
  for (guint i = 0; i < trials->len; i++) {
    const StanceStoreTrial *t = g_ptr_array_index(trials, i);
    StanceRecording *rec = stance_store_trial_read(tgt, t->id, NULL);
    ck_assert_str_eq(rec->meta.athlete, pseudo);
    if (t->number == 5) {
      gchar *want = g_strdup_printf("import:%s_%s-%s_cmj.csv", pseudo, pseudo, pseudo);
      ck_assert_str_eq(rec->meta.source, want);
      g_free(want);
    }
    stance_recording_free(rec);
  }
  g_ptr_array_unref(trials);
  stance_store_close(tgt);
  rm_tree(tdir);
  free(tdir);
  g_free(tpath);
  g_free(bundle);
  done_copy(st, dir, path);
}
END_TEST

/* Flips one bit in the data of a stored chunk (its CRC left as it was). */
static void
flip_chunk_byte(const char *db)
{
  sqlite3 *h = NULL;
  ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(h,
                                      "SELECT rowid, data FROM trial_chunks ORDER BY rowid "
                                      "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM trial_chunks)",
                                      -1, &q, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
  sqlite3_int64 rowid = sqlite3_column_int64(q, 0);
  int n = sqlite3_column_bytes(q, 1);
  ck_assert_int_gt(n, 100);
  uint8_t *data = g_memdup2(sqlite3_column_blob(q, 1), (gsize)n);
  sqlite3_finalize(q);
  data[n / 2] ^= 0x10;
  ck_assert_int_eq(
      sqlite3_prepare_v2(h, "UPDATE trial_chunks SET data = ? WHERE rowid = ?", -1, &q, NULL),
      SQLITE_OK);
  sqlite3_bind_blob(q, 1, data, n, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 2, rowid);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);
  ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);
  g_free(data);
}

START_TEST(test_bundle_malformed)
{
  char *dir, *path;
  StanceStore *st = open_copy(&dir, &path);
  gchar *good = export_bundle(st, dir, "good.stance-bundle", FALSE);
  gchar *bytes = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(good, &bytes, &len, NULL));

  /* The target: a fresh store holding one imported session already. */
  char *tdir = stance_test_tmpdir();
  gchar *tpath = g_build_filename(tdir, "target.db", NULL);
  StanceStore *tgt = open_store(tpath, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  ck_assert_msg(stance_bundle_import(tgt, good, &e) > 0, "%s", e ? e->message : "?");
  gint64 before = count_rows(tpath);
  ck_assert(before > 0);

  struct {
    const char *name;
    const char *says; /* the message says this */
  } cases[] = {
      {"text.stance-bundle", "SQLite"}, {"empty.stance-bundle", "empty"},
      {"half.stance-bundle", ""},       {"random.stance-bundle", ""},
      {"other-app.db", "not a Stance"}, {"two-sessions.db", "2 sessions"},
      {"flipped.stance-bundle", "CRC"},
  };
  gchar *files[G_N_ELEMENTS(cases)];
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    files[i] = g_build_filename(dir, cases[i].name, NULL);
  ck_assert(g_file_set_contents(files[0], "athlete,trial,peak_force\nJane,1,1234.5\n", -1, NULL));
  ck_assert(g_file_set_contents(files[1], "", 0, NULL));
  ck_assert(g_file_set_contents(files[2], bytes, (gssize)(len / 2), NULL));
  {
    /* A valid SQLite header (the first 100 bytes of the good bundle), then noise: as long as
     * the header says, so that the pages themselves are read and found to be garbage. */
    gsize n = len;
    guint8 *noise = g_malloc(n);
    memcpy(noise, bytes, 100);
    GRand *r = g_rand_new_with_seed(77);
    for (gsize k = 100; k < n; k++)
      noise[k] = (guint8)g_rand_int(r);
    g_rand_free(r);
    ck_assert(g_file_set_contents(files[3], (const gchar *)noise, (gssize)n, NULL));
    g_free(noise);
  }
  {
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(files[4], &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h,
                                  "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); "
                                  "INSERT INTO notes (text) VALUES ('shopping list');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
  }
  {
    /* A Stance store with two sessions: the master itself. */
    gchar *m = NULL;
    gsize ml = 0;
    ck_assert(g_file_get_contents(M.master, &m, &ml, NULL));
    ck_assert(g_file_set_contents(files[5], m, (gssize)ml, NULL));
    g_free(m);
  }
  ck_assert(g_file_set_contents(files[6], bytes, (gssize)len, NULL));
  flip_chunk_byte(files[6]);

  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    ck_assert_int_eq(stance_bundle_import(tgt, files[i], &e), 0);
    ck_assert_msg(e != NULL, "%s: no error", cases[i].name);
    ck_assert_msg(e->domain == STANCE_STORE_ERROR && (e->code == STANCE_STORE_ERROR_BUNDLE ||
                                                      e->code == STANCE_STORE_ERROR_CORRUPT),
                  "%s: code %d: %s", cases[i].name, e->code, e->message);
    if (g_getenv("STANCE_TEST_VERBOSE"))
      fprintf(stderr, "%s: %s\n", cases[i].name, e->message);
    ck_assert_msg(strstr(e->message, files[i]), "%s: '%s' does not name the file", cases[i].name,
                  e->message);
    ck_assert_msg(strstr(e->message, cases[i].says), "%s: '%s' does not say \"%s\"", cases[i].name,
                  e->message, cases[i].says);
    g_clear_error(&e);
    ck_assert_msg(count_rows(tpath) == before, "%s changed the target", cases[i].name);
  }
  /* A file that does not exist is an IO error naming it. */
  gchar *missing = g_build_filename(dir, "missing.stance-bundle", NULL);
  ck_assert_int_eq(stance_bundle_import(tgt, missing, &e), 0);
  ck_assert(g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO));
  ck_assert_ptr_nonnull(strstr(e->message, missing));
  g_clear_error(&e);
  ck_assert(!g_file_test(missing, G_FILE_TEST_EXISTS));
  ck_assert(count_rows(tpath) == before);
  g_free(missing);

  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    g_free(files[i]);
  g_free(bytes);
  stance_store_close(tgt);
  rm_tree(tdir);
  free(tdir);
  g_free(tpath);
  g_free(good);
  done_copy(st, dir, path);
}
END_TEST

/* ======================================================================================
 * Suite
 * ====================================================================================== */

static Suite *
export_suite(void)
{
  Suite *s = suite_create("export");
  TCase *tc = tcase_create("csv");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_csv_cells);
  tcase_add_test(tc, test_csv_plates_combined);
  tcase_add_test(tc, test_csv_dev_full);
  tcase_add_test(tc, test_csv_results_numbers);
  suite_add_tcase(s, tc);

  /* Every store test copies the master database built once by the unchecked fixture. */
  tc = tcase_create("session");
  tcase_set_timeout(tc, 120);
  tcase_add_unchecked_fixture(tc, master_setup, master_teardown);
  tcase_add_test(tc, test_format_names);
  tcase_add_test(tc, test_load_reruns_analyses);
  tcase_add_test(tc, test_analyse_trial_with_options);
  tcase_add_test(tc, test_export_csv_session);
  tcase_add_test(tc, test_export_c3d_session);
  tcase_add_test(tc, test_export_json_session);
  tcase_add_test(tc, test_export_pdf_session);
  tcase_add_test(tc, test_export_errors);
  tcase_add_test(tc, test_bundle_roundtrip);
  tcase_add_test(tc, test_bundle_calibration_record);
  tcase_add_test(tc, test_bundle_pseudonymised);
  tcase_add_test(tc, test_bundle_malformed);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  have_comma_locale = stance_test_prepare_comma_locale();
  if (!have_comma_locale)
    fprintf(stderr, "NOTE: no decimal-comma locale could be set up (localedef failed): the "
                    "exports are written under the C locale only\n");
  int rc = stance_test_run(export_suite());
  stance_test_release_comma_locale();
  return rc;
}
