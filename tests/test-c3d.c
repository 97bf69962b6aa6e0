/* test-c3d.c: the C3D reader on public sample files, and the C3D export read back.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stance-c3d.h"
#include "stance-test.h"

/* |a - b| <= rel * |b|: the reference values of the sample files carry 17 significant digits,
 * so the reader must match them to far better than 1e-6 (it matches to ~1e-15). */
#define ck_assert_rel(a, b, rel)                                                                   \
  do {                                                                                             \
    double _a = (a), _b = (b), _r = (rel);                                                         \
    ck_assert_msg(fabs(_a - _b) <= _r * fabs(_b), "%s = %.17g, expected %.17g (relative %g)", #a,  \
                  _a, _b, _r);                                                                     \
  } while (0)

/* For checks inside loops: Check's ck_assert* records a mark point (a write to its pipe) on every
 * success, a system call per check, which makes per-sample loops very slow. */
#define require(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* ---- helpers ---- */

static StanceC3d *
read_sample(const char *name)
{
  char rel[128];
  snprintf(rel, sizeof rel, "c3d-samples/%s", name);
  char *path = stance_test_data_path(rel);
  StanceC3d *c = NULL;
  StanceError err = {0};
  int r = stance_c3d_read(path, &c, &err);
  ck_assert_msg(r == 0, "%s: %s", path, err.message);
  free(path);
  return c;
}

static uint8_t *
slurp_sample(const char *name, size_t *len)
{
  char rel[128];
  snprintf(rel, sizeof rel, "c3d-samples/%s", name);
  char *path = stance_test_data_path(rel);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  ck_assert_int_gt(n, 0);
  rewind(f);
  uint8_t *buf = malloc((size_t)n);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  free(path);
  *len = (size_t)n;
  return buf;
}

static uint8_t *
encode(const StanceRecording *rec, const StanceC3dWriteOptions *opt, size_t *len)
{
  uint8_t *buf = NULL;
  StanceError err = {0};
  int r = stance_c3d_encode(rec, opt, &buf, len, &err);
  ck_assert_msg(r == 0, "encode: %s", err.message);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(*len % 512, 0);
  return buf;
}

static StanceC3d *
decode(const uint8_t *buf, size_t len)
{
  StanceC3d *c = NULL;
  StanceError err = {0};
  int r = stance_c3d_read_memory(buf, len, &c, &err);
  ck_assert_msg(r == 0, "read back: %s", err.message);
  ck_assert_ptr_nonnull(c);
  return c;
}

/* Expects a refusal: the code, and a message that says where (a byte offset). */
static void
expect_refused(const uint8_t *buf, size_t len, int code, const char *must_contain)
{
  StanceC3d *c = (StanceC3d *)1;
  StanceError err = {0};
  int r = stance_c3d_read_memory(buf, len, &c, &err);
  ck_assert_msg(r == code, "expected code %d, got %d (%s)", code, r, err.message);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(err.code, code);
  ck_assert_msg(strstr(err.message, "byte") != NULL, "message names no byte: %s", err.message);
  if (must_contain)
    ck_assert_msg(strstr(err.message, must_contain) != NULL, "message lacks '%s': %s", must_contain,
                  err.message);
}

static const StanceC3dParam *
param(const StanceC3d *c, const char *name)
{
  const StanceC3dParam *p = stance_c3d_param(c, name);
  ck_assert_msg(p != NULL, "parameter %s missing", name);
  return p;
}

static double
num(const StanceC3d *c, const char *name, size_t i)
{
  const StanceC3dParam *p = param(c, name);
  ck_assert_ptr_nonnull(p->values);
  ck_assert_uint_gt(p->n_values, i);
  return p->values[i];
}

static const char *
str0(const StanceC3d *c, const char *name)
{
  const StanceC3dParam *p = param(c, name);
  ck_assert_ptr_nonnull(p->strings);
  ck_assert_uint_ge(p->n_values, 1);
  return p->strings[0];
}

/* Byte offsets inside a parameter record (from its record offset). */
static size_t
param_ptr_at(const StanceC3dParam *p)
{
  return p->offset + 2 + strlen(p->name);
}

static size_t
param_data_at(const StanceC3dParam *p)
{
  return param_ptr_at(p) + 2 + 2 + (size_t)p->n_dims;
}

/* Little-endian float / int16 at a byte offset of an Intel file. */
static void
poke_f32(uint8_t *b, float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  b[0] = (uint8_t)u;
  b[1] = (uint8_t)(u >> 8);
  b[2] = (uint8_t)(u >> 16);
  b[3] = (uint8_t)(u >> 24);
}

static void
poke_i16(uint8_t *b, int v)
{
  b[0] = (uint8_t)v;
  b[1] = (uint8_t)((unsigned)v >> 8);
}

/* A simulated recording (a copy the caller frees). Each protocol is simulated once per process
 * (once per test when Check forks, once in all under valgrind, where CK_FORK=no), and under
 * valgrind cut to its first 8000 samples, so that the per-sample checks stay affordable. */
static StanceRecording *
simulate(const char *protocol, const char *side)
{
  static struct {
    char key[48];
    StanceRecording *rec;
  } cache[4];
  char key[48];
  snprintf(key, sizeof key, "%s/%s", protocol, side ? side : "");
  int k = 0;
  while (k < 4 && cache[k].rec && strcmp(cache[k].key, key) != 0)
    k++;
  ck_assert_int_lt(k, 4);
  if (!cache[k].rec) {
    StanceSimParams p = stance_test_sim_params(stance_protocol_from_name(protocol), 7);
    if (side)
      stance_test_sim_set(&p, "side", side);
    StanceRecording *rec = NULL;
    stance_test_sim_run(&p, &rec, NULL);
    snprintf(cache[k].key, sizeof cache[k].key, "%s", key);
    cache[k].rec = rec;
  }
  size_t n = cache[k].rec->n_samples;
  if (stance_test_under_valgrind() && n > 8000)
    n = 8000;
  StanceRecording *copy = stance_recording_slice(cache[k].rec, 0, n);
  ck_assert_ptr_nonnull(copy);
  return copy;
}

/* Samples [from, to) of simulate(protocol, NULL) (a copy the caller frees). */
static StanceRecording *
simulate_part(const char *protocol, size_t from, size_t to)
{
  StanceRecording *full = simulate(protocol, NULL);
  StanceRecording *rec = stance_recording_slice(full, from, to);
  stance_recording_free(full);
  ck_assert_ptr_nonnull(rec);
  return rec;
}

/* Marks samples [a, b) as lost, as a receiver would (status GAP, values 0). */
static void
make_gap(StanceRecording *rec, size_t a, size_t b)
{
  for (size_t i = a; i < b && i < rec->n_samples; i++) {
    rec->status[i] = STANCE_STATUS_GAP;
    memset(rec->counts + i * STANCE_N_CELLS, 0, STANCE_N_CELLS * sizeof(int32_t));
  }
}

/* ======================================================================================== */
/* Public sample files (tests/data/c3d-samples/README.txt)                                  */
/* ======================================================================================== */

START_TEST(test_qualisys_header_and_parameters)
{
  StanceC3d *c = read_sample("Qualisys.c3d");
  const StanceC3dHeader *h = stance_c3d_header(c);
  ck_assert_int_eq(h->parameter_block, 2);
  ck_assert_int_eq(h->key, 80);
  ck_assert_int_eq(h->n_points, 55);
  ck_assert_int_eq(h->max_gap, 10);
  ck_assert_rel(h->point_scale, -0.0762322545, 1e-9); /* the README gives 9 digits */
  ck_assert_rel(h->frame_rate_hz, 200.0, 1e-12);
  ck_assert_int_eq(h->analog_per_frame, 690);
  ck_assert_int_eq(h->analog_samples, 10);
  /* The README's first/last frames 704 and 1043 are ezc3d's 0-based numbers; the header words
   * themselves are 1-based: 705 and 1044. 340 frames either way. */
  ck_assert_int_eq(h->first_frame, 705);
  ck_assert_int_eq(h->last_frame, 1044);
  ck_assert_uint_eq(stance_c3d_frame_count(c), 340);
  ck_assert_int_eq(h->processor, STANCE_C3D_INTEL);
  ck_assert_uint_eq(stance_c3d_analog_count(c), 69);
  ck_assert_uint_eq(stance_c3d_analog_samples(c), 3400);
  ck_assert_rel(stance_c3d_analog_rate(c), 2000.0, 1e-12);

  ck_assert_uint_eq(stance_c3d_group_count(c), 7);
  ck_assert_str_eq(stance_c3d_group_name(c, 0), "POINT");
  ck_assert_double_eq(num(c, "POINT:USED", 0), 55);
  ck_assert_double_eq(num(c, "POINT:RATE", 0), 200);
  ck_assert_double_eq(num(c, "ANALOG:USED", 0), 69);
  ck_assert_double_eq(num(c, "ANALOG:GEN_SCALE", 0), 1);
  ck_assert_uint_eq(param(c, "ANALOG:SCALE")->n_values, 69);
  ck_assert_uint_eq(param(c, "ANALOG:OFFSET")->n_values, 69);
  ck_assert_double_eq(num(c, "ANALOG:RATE", 0), 2000);
  ck_assert_double_eq(num(c, "FORCE_PLATFORM:USED", 0), 2);
  const StanceC3dParam *type = param(c, "FORCE_PLATFORM:TYPE");
  ck_assert_uint_eq(type->n_values, 2);
  ck_assert_double_eq(type->values[0], 2);
  ck_assert_double_eq(type->values[1], 2);
  const StanceC3dParam *zero = param(c, "FORCE_PLATFORM:ZERO");
  ck_assert_uint_eq(zero->n_values, 2);
  ck_assert_double_eq(zero->values[0], 0);
  ck_assert_double_eq(zero->values[1], 0);
  const StanceC3dParam *corners = param(c, "FORCE_PLATFORM:CORNERS");
  ck_assert_uint_eq(corners->n_values, 24);
  ck_assert_int_eq(corners->n_dims, 3);
  ck_assert_int_eq(corners->dims[0], 3);
  ck_assert_int_eq(corners->dims[1], 4);
  ck_assert_int_eq(corners->dims[2], 2);
  ck_assert_uint_eq(param(c, "FORCE_PLATFORM:ORIGIN")->n_values, 6);
  ck_assert_uint_eq(param(c, "FORCE_PLATFORM:CHANNEL")->n_values, 12);
  const StanceC3dParam *cal = param(c, "FORCE_PLATFORM:CAL_MATRIX");
  ck_assert_uint_eq(cal->n_values, 72);
  for (size_t i = 0; i < 72; i++)
    ck_assert_double_eq(cal->values[i], 0.0);
  ck_assert_str_eq(str0(c, "MANUFACTURER:COMPANY"), "Qualisys");
  ck_assert_str_eq(str0(c, "MANUFACTURER:SOFTWARE"), "Qualisys Track Manager");
  /* Lookups are case-insensitive; absent ones give NULL. */
  ck_assert_ptr_eq(stance_c3d_param(c, "force_platform:Type"), type);
  ck_assert_ptr_null(stance_c3d_param(c, "FORCE_PLATFORM:NOPE"));
  ck_assert_ptr_null(stance_c3d_param(c, "NOGROUP:USED"));
  ck_assert_ptr_null(stance_c3d_param(c, "USED"));
  ck_assert_uint_eq(stance_c3d_group_param_count(c, "force_platform"), 8);
  /* Char parameters: one string per column of a 2-D array, blanks stripped. */
  const StanceC3dParam *labels = param(c, "POINT:LABELS");
  ck_assert_int_eq(labels->type, STANCE_C3D_CHAR);
  ck_assert_uint_eq(labels->n_values, 55);
  ck_assert_int_eq(labels->dims[1], 55);
  for (size_t i = 0; i < labels->n_values; i++)
    ck_assert_msg(strlen(labels->strings[i]) > 0 &&
                      labels->strings[i][strlen(labels->strings[i]) - 1] != ' ',
                  "label %zu '%s'", i, labels->strings[i]);
  stance_c3d_free(c);
}
END_TEST

START_TEST(test_qualisys_platforms)
{
  StanceC3d *c = read_sample("Qualisys.c3d");
  ck_assert_int_eq(stance_c3d_platform_count(c), 2);
  StanceError err = {0};
  for (int p = 0; p < 2; p++) {
    const StanceC3dPlatform *fp = NULL;
    ck_assert_msg(stance_c3d_platform(c, p, &fp, &err) == 0, "%s", err.message);
    ck_assert_int_eq(fp->type, 2);
    ck_assert_int_eq(fp->n_channels, 6);
    ck_assert_str_eq(fp->force_unit, "N");
    ck_assert_str_eq(fp->moment_unit, "Nmm");
    ck_assert_str_eq(fp->position_unit, "mm");
    ck_assert(!fp->baseline_applied);
    /* FORCE_PLATFORM:CHANNEL 58..69, 0-based here. */
    for (int j = 0; j < 6; j++)
      ck_assert_int_eq(fp->channel[j], 57 + 6 * p + j);
    /* Qualisys stores ORIGIN with a positive z; it is taken reversed, as ezc3d does. */
    ck_assert(fp->origin_flipped);
    ck_assert(fp->origin[2] < 0);
    /* The rotation is orthonormal and the platform z points down into the floor. */
    ck_assert_near(fp->rot[2][2], -1.0, 1e-12);
  }
  /* Platform 1, first analog sample: ezc3d's values (README). */
  StanceC3dWrench w;
  ck_assert_msg(stance_c3d_platform_wrench(c, 0, 0, &w, &err) == 0, "%s", err.message);
  ck_assert_rel(w.force[0], 0.13992118835449219, 1e-6);
  ck_assert_rel(w.force[1], 0.046148300170898438, 1e-6);
  ck_assert_rel(w.force[2], -0.18352508544921872, 1e-6);
  ck_assert_rel(w.moment[0], 20.867615272954936, 1e-6);
  ck_assert_rel(w.moment[1], -4.622511359985765, 1e-6);
  ck_assert_rel(w.moment[2], -29.393223381101276, 1e-6);
  ck_assert_rel(w.cop[0], 228.81266090518048, 1e-6);
  ck_assert_rel(w.cop[1], 118.29556977523387, 1e-6);
  ck_assert_near(w.cop[2], 0.0, 1e-9);
  ck_assert_near(w.free_moment[0], 0.0, 1e-9);
  ck_assert_near(w.free_moment[1], 0.0, 1e-9);
  ck_assert_rel(w.free_moment[2], -44.140528790099872, 1e-6);
  ck_assert(w.cop_defined);

  /* Every sample of both platforms: finite, and a loaded plate pushes up (lab Fz > 0 is the
   * ground reaction in this file, the convention our export follows). */
  double peak[2] = {0, 0};
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < stance_c3d_analog_samples(c); i++) {
      require(stance_c3d_platform_wrench(c, p, i, &w, &err) == 0, "%s", err.message);
      if (fabs(w.force[2]) > fabs(peak[p]))
        peak[p] = w.force[2];
    }
  ck_assert_msg(peak[0] > 500 && peak[1] > 500, "peak lab Fz %g %g", peak[0], peak[1]);
  /* Out of range: refused, not read past the end. */
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 3400, &w, &err), STANCE_ERANGE);
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 2, 0, &w, &err), STANCE_ERANGE);
  stance_c3d_free(c);
}
END_TEST

START_TEST(test_fp_type3)
{
  StanceC3d *c = read_sample("FP_Type3.c3d");
  const StanceC3dHeader *h = stance_c3d_header(c);
  ck_assert_int_eq(h->n_points, 34);
  ck_assert_int_eq(h->analog_samples, 4);
  ck_assert_uint_eq(stance_c3d_analog_count(c), 16);
  ck_assert_uint_eq(stance_c3d_frame_count(c), 2);
  ck_assert_int_eq(stance_c3d_platform_count(c), 2);
  StanceError err = {0};
  for (int p = 0; p < 2; p++) {
    const StanceC3dPlatform *fp;
    ck_assert_int_eq(stance_c3d_platform(c, p, &fp, &err), 0);
    ck_assert_int_eq(fp->type, 3);
    ck_assert_int_eq(fp->n_channels, 8);
    ck_assert_str_eq(fp->force_unit, "N");
    ck_assert_str_eq(fp->moment_unit, "Nmm");
    ck_assert_str_eq(fp->position_unit, "mm");
    /* ORIGIN a, b, az0 = 210, 350, -53 (negative z: kept as is). */
    ck_assert(!fp->origin_flipped);
    ck_assert_double_eq(fp->origin[2], -53.0);
  }
  StanceC3dWrench w;
  ck_assert_msg(stance_c3d_platform_wrench(c, 0, 0, &w, &err) == 0, "%s", err.message);
  ck_assert_rel(w.force[0], 1.872237068676853, 1e-6);
  ck_assert_rel(w.force[1], -2.862660636894518, 1e-6);
  ck_assert_rel(w.force[2], 886.3955055852457, 1e-6);
  ck_assert_rel(w.moment[0], 3146.7092174447007, 1e-6);
  ck_assert_rel(w.moment[1], -7249.1753702378046, 1e-6);
  ck_assert_rel(w.moment[2], -29.186897835585174, 1e-6);
  ck_assert_rel(w.cop[0], 446.65133312146855, 1e-6);
  ck_assert_rel(w.cop[1], 291.14651198373156, 1e-6);
  stance_c3d_free(c);
}
END_TEST

/* The sample files cut anywhere before the end of their data are refused, never misread. */
START_TEST(test_samples_truncated)
{
  const char *names[2] = {"Qualisys.c3d", "FP_Type3.c3d"};
  for (int k = 0; k < 2; k++) {
    size_t len;
    uint8_t *buf = slurp_sample(names[k], &len);
    StanceC3d *full = decode(buf, len);
    StanceC3dHeader h = *stance_c3d_header(full);
    size_t data_end =
        (size_t)(h.data_block - 1) * 512 +
        stance_c3d_frame_count(full) * (size_t)(4 * h.n_points + h.analog_per_frame) * 4;
    stance_c3d_free(full);
    size_t cuts[] = {0,
                     1,
                     100,
                     511,
                     512,
                     513,
                     515,
                     700,
                     1024,
                     2048,
                     4000,
                     (size_t)(h.parameter_block - 1 + h.parameter_blocks) * 512 - 1,
                     (size_t)(h.data_block - 1) * 512,
                     (size_t)(h.data_block - 1) * 512 + 100,
                     data_end / 2,
                     data_end - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
      StanceC3d *c = NULL;
      StanceError err = {0};
      int r = stance_c3d_read_memory(buf, cuts[i], &c, &err);
      require(r == STANCE_ETRUNC || r == STANCE_EFORMAT, "%s cut at %zu: code %d", names[k],
              cuts[i], r);
      require(c == NULL, "%s cut at %zu: a result", names[k], cuts[i]);
      require(strstr(err.message, "byte") != NULL, "%s cut at %zu: %s", names[k], cuts[i],
              err.message);
    }
    free(buf);
  }
}
END_TEST

/* ======================================================================================== */
/* Export read back                                                                         */
/* ======================================================================================== */

/* Everything a CELLS export must give back. rec may hold gaps. */
static void
check_cells_roundtrip(const StanceRecording *rec, const StanceC3d *c)
{
  StanceError err = {0};
  size_t n = rec->n_samples;
  const StanceC3dHeader *h = stance_c3d_header(c);
  /* Header fields agree with each other and with the parameters. */
  ck_assert_int_eq(h->processor, STANCE_C3D_INTEL);
  ck_assert(h->point_scale < 0);
  ck_assert_int_eq(h->n_points, 0);
  ck_assert_int_eq(h->first_frame, 1);
  ck_assert_int_eq(h->analog_per_frame, 20 * h->analog_samples);
  ck_assert_double_eq(num(c, "POINT:DATA_START", 0), h->data_block);
  ck_assert_double_eq(num(c, "POINT:RATE", 0), h->frame_rate_hz);
  ck_assert_double_eq(num(c, "POINT:USED", 0), 0);
  ck_assert_double_eq(num(c, "POINT:FRAMES", 0), (double)stance_c3d_frame_count(c));
  ck_assert_double_eq(num(c, "ANALOG:RATE", 0), rec->sample_rate_hz);
  ck_assert_double_eq(h->frame_rate_hz * h->analog_samples, rec->sample_rate_hz);
  ck_assert_double_eq(stance_c3d_analog_rate(c), rec->sample_rate_hz);
  ck_assert_uint_eq(stance_c3d_analog_count(c), 20);
  size_t frames = stance_c3d_frame_count(c);
  ck_assert_uint_eq(frames, (n + (size_t)h->analog_samples - 1) / (size_t)h->analog_samples);
  ck_assert_int_eq(h->last_frame, (int)frames);
  ck_assert_double_eq(num(c, "STANCE:SAMPLES", 0), (double)n);
  ck_assert_str_eq(str0(c, "MANUFACTURER:COMPANY"), "Stance");
  ck_assert_str_eq(str0(c, "STANCE:PROTOCOL"), stance_protocol_name(rec->meta.protocol));
  ck_assert_str_eq(str0(c, "STANCE:SIDE"), stance_side_name(rec->meta.side));
  ck_assert_str_eq(str0(c, "STANCE:LAYOUT"), "cells");
  ck_assert_str_eq(str0(c, "STANCE:BOARD_SERIAL"), rec->meta.board_serial);
  ck_assert_str_eq(str0(c, "STANCE:CALIBRATION_ID"), rec->meta.calibration_id);
  ck_assert_str_eq(str0(c, "STANCE:ATHLETE"), rec->meta.athlete);
  ck_assert_str_eq(str0(c, "SUBJECTS:NAMES"), rec->meta.athlete);
  for (int k = 0; k < 8; k++)
    ck_assert_rel(num(c, "STANCE:CAL_GAIN", (size_t)k), rec->calib.gain_n_per_count[k], 1e-7);

  /* Channel labels and units. */
  static const char *const labels[20] = {"Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1", "Fx2",
                                         "Fy2", "Fz2", "Mx2", "My2", "Mz2", "L1",  "L2",
                                         "L3",  "L4",  "R1",  "R2",  "R3",  "R4"};
  for (int k = 0; k < 20; k++) {
    ck_assert_str_eq(stance_c3d_analog_label(c, (size_t)k), labels[k]);
    ck_assert_int_eq(stance_c3d_analog_find(c, labels[k]), k);
  }
  ck_assert_str_eq(stance_c3d_analog_unit(c, 3), "Nmm");
  ck_assert_str_eq(stance_c3d_analog_unit(c, 12), "N");

  /* Platforms: type 2, corners in the C3D quadrant order around the plate centres. */
  const StanceC3dPlatform *fp[2];
  for (int p = 0; p < 2; p++) {
    ck_assert_msg(stance_c3d_platform(c, p, &fp[p], &err) == 0, "%s", err.message);
    ck_assert_int_eq(fp[p]->type, 2);
    const StancePlateGeometry *g = &rec->calib.plate[p];
    ck_assert_near(fp[p]->centre[0], g->centre_x_mm, 1e-3);
    ck_assert_near(fp[p]->centre[1], g->centre_y_mm, 1e-3);
    ck_assert_near(fp[p]->centre[2], 0.0, 1e-9);
    /* Corner 1 is at +x (right) and at +y of the platform, which is backwards in the lab. */
    ck_assert_near(fp[p]->corners[0][0], g->centre_x_mm + g->width_mm / 2, 1e-3);
    ck_assert_near(fp[p]->corners[0][1], g->centre_y_mm - g->length_mm / 2, 1e-3);
    ck_assert_near(fp[p]->corners[2][0], g->centre_x_mm - g->width_mm / 2, 1e-3);
    ck_assert_near(fp[p]->corners[2][1], g->centre_y_mm + g->length_mm / 2, 1e-3);
    /* Platform z points down into the plate, x along the lab X. */
    ck_assert_near(fp[p]->rot[2][2], -1.0, 1e-12);
    ck_assert_near(fp[p]->rot[0][0], 1.0, 1e-12);
  }

  double *cx[2], *cy[2];
  uint8_t *valid[2];
  for (int p = 0; p < 2; p++) {
    cx[p] = malloc(n * sizeof(double));
    cy[p] = malloc(n * sizeof(double));
    valid[p] = malloc(n);
    ck_assert_int_eq(stance_recording_cop(rec, (StanceSel)p, STANCE_COP_THRESHOLD_N, cx[p], cy[p],
                                          valid[p], &err),
                     0);
  }
  size_t n_valid = 0;
  double worst_cop = 0;
  for (size_t i = 0; i < n; i++) {
    for (int p = 0; p < 2; p++) {
      StanceC3dWrench w;
      require(stance_c3d_platform_wrench(c, p, i, &w, &err) == 0, "%s", err.message);
      double f = stance_recording_force_at(rec, i, (StanceSel)p);
      /* Float storage: half an ulp of a float is 6e-8 of the value. */
      require(fabs(w.force[2] - f) <= 1.2e-7 * fabs(f) + 1e-9,
              "sample %zu plate %d: lab Fz %.9g, recording %.9g", i, p, w.force[2], f);
      require(w.force[0] == 0.0 && w.force[1] == 0.0, "sample %zu plate %d: shear force", i, p);
      /* Type 2 with Fx = Fy = Mz = 0 leaves no free moment. */
      require(fabs(w.free_moment[2]) <= 1e-9, "sample %zu plate %d: free moment %g", i, p,
              w.free_moment[2]);
      if (valid[p][i]) {
        /* Within 0.01 mm (it is ~1e-4 mm: float moments over float forces). */
        double ex = w.cop[0] - fp[p]->centre[0] - cx[p][i];
        double ey = w.cop[1] - fp[p]->centre[1] - cy[p][i];
        require(fabs(ex) <= 0.01 && fabs(ey) <= 0.01, "sample %zu plate %d: CoP off by %g, %g mm",
                i, p, ex, ey);
        if (fabs(ex) > worst_cop)
          worst_cop = fabs(ex);
        if (fabs(ey) > worst_cop)
          worst_cop = fabs(ey);
        require(fabs(w.cop[2]) <= 1e-9, "sample %zu: CoP z %g", i, w.cop[2]);
        n_valid++;
      }
    }
    for (int k = 0; k < 8; k++) {
      double f = stance_recording_cell_force(rec, i, k);
      double v = stance_c3d_analog(c, (size_t)(12 + k))[i];
      require(fabs(v - f) <= 6e-8 * fabs(f) + 1e-12, "sample %zu cell %d: %.9g vs %.9g", i, k, v,
              f);
    }
  }
  ck_assert_msg(n_valid > n / 2, "only %zu CoP samples compared", n_valid);
  /* The padding of the last frame reads as zero force. */
  for (size_t i = n; i < stance_c3d_analog_samples(c); i++)
    for (size_t ch = 0; ch < 20; ch++)
      require(stance_c3d_analog(c, ch)[i] == 0.0, "padding sample %zu channel %zu", i, ch);
  for (int p = 0; p < 2; p++) {
    free(cx[p]);
    free(cy[p]);
    free(valid[p]);
  }
}

START_TEST(test_roundtrip_split_squat_with_gaps)
{
  StanceRecording *rec = simulate("split-squat", "right");
  snprintf(rec->meta.athlete, sizeof rec->meta.athlete, "Zo\xc3\xab Test");
  ck_assert_uint_gt(rec->n_samples, 5000);
  /* Three lost stretches: at the very start, in the middle, at the very end. */
  size_t n = rec->n_samples;
  make_gap(rec, 0, 5);
  make_gap(rec, 2000, 2137);
  make_gap(rec, n - 3, n);
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *c = decode(buf, len);
  check_cells_roundtrip(rec, c);
  ck_assert_str_eq(str0(c, "STANCE:SIDE"), "right");
  ck_assert_str_eq(str0(c, "STANCE:PROTOCOL"), "split-squat");
  ck_assert_str_eq(str0(c, "STANCE:SIDE_TEXT"), "front foot right");

  /* Gap ranges: first and last sample, 1-based. */
  const StanceC3dParam *gaps = param(c, "STANCE:GAPS");
  ck_assert_int_eq(gaps->n_dims, 2);
  ck_assert_int_eq(gaps->dims[0], 2);
  ck_assert_int_eq(gaps->dims[1], 3);
  double expect[6] = {1, 5, 2001, 2137, (double)n - 2, (double)n};
  for (int k = 0; k < 6; k++)
    ck_assert_double_eq(gaps->values[k], expect[k]);
  ck_assert_double_eq(num(c, "STANCE:GAP_SAMPLES", 0), 5 + 137 + 3);
  /* Gap samples are written as zero force on every channel. */
  for (size_t ch = 0; ch < 20; ch++)
    for (size_t i = 2000; i < 2137; i++)
      require(stance_c3d_analog(c, ch)[i] == 0.0, "gap sample %zu channel %zu", i, ch);
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_roundtrip_cmj)
{
  StanceRecording *rec = simulate("cmj", NULL);
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *c = decode(buf, len);
  check_cells_roundtrip(rec, c);
  /* No gaps: no GAPS parameter, and a count of zero. */
  ck_assert_ptr_null(stance_c3d_param(c, "STANCE:GAPS"));
  ck_assert_double_eq(num(c, "STANCE:GAP_SAMPLES", 0), 0);
  /* Free metadata survives as key/value lists. */
  const StanceC3dParam *keys = param(c, "STANCE:META_KEYS");
  const StanceC3dParam *vals = param(c, "STANCE:META_VALUES");
  ck_assert_uint_eq(keys->n_values, (size_t)rec->meta.n_extra);
  ck_assert_uint_eq(vals->n_values, (size_t)rec->meta.n_extra);
  for (int k = 0; k < rec->meta.n_extra; k++) {
    ck_assert_str_eq(keys->strings[k], rec->meta.extra[k].key);
    ck_assert_str_eq(vals->strings[k], rec->meta.extra[k].value);
  }
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
}
END_TEST

/* A PLATES recording with its own CoP: known forces and paths, some samples under the CoP
 * threshold, a gap. */
START_TEST(test_roundtrip_plates_with_cop)
{
  const double rate = 500.0;
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, rate, true);
  ck_assert_ptr_nonnull(rec);
  rec->meta.protocol = STANCE_PROTO_QUIET_STANDING;
  snprintf(rec->meta.source, sizeof rec->meta.source, "import:balance.csv");
  rec->calib.plate[0].centre_x_mm = -300;
  rec->calib.plate[1].centre_x_mm = 310;
  rec->calib.plate[1].centre_y_mm = 25;
  for (int i = 0; i < 3000; i++) {
    double t = i / rate;
    double f[2] = {400 + 150 * sin(2 * M_PI * 0.7 * t), 420 - 150 * sin(2 * M_PI * 0.7 * t)};
    if (i >= 1000 && i < 1100)
      f[0] = 5.0; /* below the CoP threshold: CoP not defined there */
    double cop[4] = {12 * sin(2 * M_PI * 0.3 * t), -40 + 25 * cos(2 * M_PI * 0.2 * t),
                     -8 + 3 * sin(2 * M_PI * 1.1 * t), 60 * sin(2 * M_PI * 0.05 * t)};
    require(stance_recording_append_forces(rec, f, cop, 0) == 0, "append");
  }
  ck_assert_int_eq(stance_recording_append_gap(rec, 40), 0);
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *c = decode(buf, len);
  ck_assert_uint_eq(stance_c3d_analog_count(c), 12);
  ck_assert_str_eq(str0(c, "STANCE:LAYOUT"), "plates");
  ck_assert_double_eq(num(c, "STANCE:HAS_COP", 0), 1);
  ck_assert_double_eq(num(c, "STANCE:GAPS", 0), 3001);
  ck_assert_double_eq(num(c, "STANCE:GAPS", 1), 3040);
  /* 500 Hz: 5 samples per 100 Hz frame. */
  ck_assert_int_eq(stance_c3d_header(c)->analog_samples, 5);
  StanceError err = {0};
  size_t n = rec->n_samples, compared = 0;
  for (int p = 0; p < 2; p++) {
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    uint8_t *v = malloc(n);
    ck_assert_int_eq(stance_recording_cop(rec, (StanceSel)p, STANCE_COP_THRESHOLD_N, x, y, v, &err),
                     0);
    const StanceC3dPlatform *fp;
    ck_assert_int_eq(stance_c3d_platform(c, p, &fp, &err), 0);
    for (size_t i = 0; i < n; i++) {
      StanceC3dWrench w;
      require(stance_c3d_platform_wrench(c, p, i, &w, &err) == 0, "%s", err.message);
      double f = stance_recording_force_at(rec, i, (StanceSel)p);
      require(fabs(w.force[2] - f) <= 1.2e-7 * fabs(f) + 1e-9, "sample %zu: %g vs %g", i,
              w.force[2], f);
      if (v[i]) {
        require(fabs(w.cop[0] - fp->centre[0] - x[i]) <= 0.01 &&
                    fabs(w.cop[1] - fp->centre[1] - y[i]) <= 0.01,
                "sample %zu plate %d: CoP (%g, %g) vs (%g, %g) + centre", i, p, w.cop[0], w.cop[1],
                x[i], y[i]);
        compared++;
      }
      if (i >= 3000) /* the gap */
        require(!w.cop_defined && w.force[2] == 0.0, "gap sample %zu", i);
    }
    free(x);
    free(y);
    free(v);
  }
  ck_assert_uint_eq(compared, 2 * 3000 - 100);
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
}
END_TEST

/* Without a CoP the moments are zero (the CoP tools compute is the plate centre, and HAS_COP says
 * it means nothing); COMBINED gives one platform. */
START_TEST(test_plates_without_cop_and_combined)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 1000.0, false);
  for (int i = 0; i < 1234; i++) {
    double f[2] = {300 + i * 0.1, 500 - i * 0.05};
    require(stance_recording_append_forces(rec, f, NULL, 0) == 0, "append");
  }
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *c = decode(buf, len);
  ck_assert_double_eq(num(c, "STANCE:HAS_COP", 0), 0);
  StanceError err = {0};
  for (size_t i = 0; i < rec->n_samples; i += 7)
    for (int p = 0; p < 2; p++) {
      StanceC3dWrench w;
      require(stance_c3d_platform_wrench(c, p, i, &w, &err) == 0, "%s", err.message);
      require(fabs(w.force[2] - stance_recording_force_at(rec, i, (StanceSel)p)) <= 1e-4,
              "sample %zu", i);
      require(w.moment[0] == 0.0 && w.moment[1] == 0.0, "sample %zu: moments without a CoP", i);
    }
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);

  rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 200.0, true);
  for (int i = 0; i < 400; i++) {
    double f = 700 + 100 * sin(i * 0.05), cop[2] = {30 * cos(i * 0.02), -15 + 10 * sin(i * 0.03)};
    require(stance_recording_append_forces(rec, &f, cop, 0) == 0, "append");
  }
  buf = encode(rec, NULL, &len);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform_count(c), 1);
  ck_assert_uint_eq(stance_c3d_analog_count(c), 6);
  ck_assert_str_eq(str0(c, "STANCE:LAYOUT"), "combined");
  /* 200 Hz: 2 samples per 100 Hz frame. */
  ck_assert_int_eq(stance_c3d_header(c)->analog_samples, 2);
  for (size_t i = 0; i < 400; i++) {
    StanceC3dWrench w;
    require(stance_c3d_platform_wrench(c, 0, i, &w, &err) == 0, "%s", err.message);
    require(fabs(w.force[2] - rec->force_n[i]) <= 1e-4, "sample %zu", i);
    /* One platform centred on the lab origin. */
    require(fabs(w.cop[0] - rec->cop_mm[2 * i]) <= 0.01 &&
                fabs(w.cop[1] - rec->cop_mm[2 * i + 1]) <= 0.01,
            "sample %zu: CoP", i);
  }
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
}
END_TEST

/* DEC and MIPS files hold the same floats as the Intel file; 16-bit integer files hold them to
 * half a step of their per-channel scale. */
START_TEST(test_number_formats)
{
  StanceRecording *rec = simulate_part("cmj", 1500, 2003);
  make_gap(rec, 100, 120);
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *ref = decode(buf, len);
  free(buf);
  size_t nch = stance_c3d_analog_count(ref), ns = stance_c3d_analog_samples(ref);
  StanceC3dProcessor procs[2] = {STANCE_C3D_DEC, STANCE_C3D_MIPS};
  for (int k = 0; k < 2; k++) {
    StanceC3dWriteOptions opt;
    stance_c3d_write_options_default(&opt);
    opt.processor = procs[k];
    buf = encode(rec, &opt, &len);
    ck_assert_int_eq(buf[512 + 3], (int)procs[k]);
    StanceC3d *c = decode(buf, len);
    ck_assert_int_eq(stance_c3d_header(c)->processor, procs[k]);
    ck_assert_double_eq(stance_c3d_header(c)->frame_rate_hz, stance_c3d_header(ref)->frame_rate_hz);
    ck_assert_uint_eq(stance_c3d_analog_count(c), nch);
    ck_assert_uint_eq(stance_c3d_analog_samples(c), ns);
    ck_assert_uint_eq(stance_c3d_param_count(c), stance_c3d_param_count(ref));
    for (size_t i = 0; i < stance_c3d_param_count(ref); i++) {
      const StanceC3dParam *a = stance_c3d_param_at(ref, i), *b = stance_c3d_param_at(c, i);
      ck_assert_str_eq(a->name, b->name);
      ck_assert_uint_eq(a->n_values, b->n_values);
      for (size_t j = 0; a->values && j < a->n_values; j++)
        require(a->values[j] == b->values[j], "%s:%s[%zu] %.9g vs %.9g", a->group, a->name, j,
                a->values[j], b->values[j]);
    }
    for (size_t ch = 0; ch < nch; ch++)
      for (size_t i = 0; i < ns; i++)
        require(stance_c3d_analog(c, ch)[i] == stance_c3d_analog(ref, ch)[i],
                "format %d channel %zu sample %zu", procs[k], ch, i);
    stance_c3d_free(c);
    free(buf);
  }
  StanceC3dWriteOptions opt;
  stance_c3d_write_options_default(&opt);
  opt.integer_data = true;
  buf = encode(rec, &opt, &len);
  StanceC3d *c = decode(buf, len);
  ck_assert(stance_c3d_header(c)->point_scale > 0);
  const StanceC3dParam *scale = param(c, "ANALOG:SCALE");
  for (size_t ch = 0; ch < nch; ch++) {
    double s = scale->values[ch];
    ck_assert(s > 0);
    for (size_t i = 0; i < ns; i++)
      /* Half a step, plus the float rounding of the reference itself. */
      require(fabs(stance_c3d_analog(c, ch)[i] - stance_c3d_analog(ref, ch)[i]) <=
                  0.5 * s + 1.2e-7 * fabs(stance_c3d_analog(ref, ch)[i]),
              "integer channel %zu sample %zu", ch, i);
  }
  /* The platform still gives the vertical force to the integer resolution (Fz range / 32000). */
  StanceError err = {0};
  StanceC3dWrench w;
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 300, &w, &err), 0);
  ck_assert_near(w.force[2], stance_recording_force_at(rec, 300, STANCE_SEL_LEFT),
                 scale->values[2]);
  stance_c3d_free(c);
  free(buf);
  stance_c3d_free(ref);
  stance_recording_free(rec);
}
END_TEST

/* More than 65535 frames: the header's 16-bit last frame saturates; TRIAL:ACTUAL_END_FIELD (two
 * 16-bit words) and POINT:FRAMES (a float) carry the count. 10 Hz gives one sample per frame. */
START_TEST(test_long_recording_frames)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 10.0, false);
  size_t n = 70001;
  ck_assert_int_eq(stance_recording_reserve(rec, n), 0);
  for (size_t i = 0; i < n; i++) {
    double f[2] = {(double)(i % 1000), 1000.0 - (double)(i % 1000)};
    require(stance_recording_append_forces(rec, f, NULL, 0) == 0, "append");
  }
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  StanceC3d *c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_header(c)->last_frame, 65535);
  ck_assert_int_eq(stance_c3d_header(c)->analog_samples, 1);
  ck_assert_uint_eq(stance_c3d_frame_count(c), n);
  ck_assert_double_eq(num(c, "POINT:FRAMES", 0), (double)n);
  ck_assert_int_eq(param(c, "POINT:FRAMES")->type, STANCE_C3D_REAL);
  ck_assert_uint_eq(stance_c3d_analog_samples(c), n);
  int fz2 = stance_c3d_analog_find(c, "Fz2");
  ck_assert_int_eq(fz2, 8);
  ck_assert_double_eq(stance_c3d_analog(c, (size_t)fz2)[n - 1],
                      -(1000.0 - (double)((n - 1) % 1000)));
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
}
END_TEST

START_TEST(test_write_file_and_refusals)
{
  StanceRecording *rec = simulate("cmj", NULL);
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/trial.c3d", dir);
  StanceError err = {0};
  ck_assert_msg(stance_c3d_write(rec, path, &err) == 0, "%s", err.message);
  StanceC3d *c = NULL;
  ck_assert_msg(stance_c3d_read(path, &c, &err) == 0, "%s", err.message);
  size_t len;
  uint8_t *buf = encode(rec, NULL, &len);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq((size_t)st.st_size, len); /* the file is exactly the encoded bytes */
  check_cells_roundtrip(rec, c);
  stance_c3d_free(c);
  free(buf);

  /* Writing into a folder that does not exist fails with the path and the reason. */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/no/such/folder/trial.c3d", dir);
  ck_assert_int_eq(stance_c3d_write(rec, bad, &err), STANCE_EIO);
  ck_assert_ptr_nonnull(strstr(err.message, "no/such/folder"));
  /* Reading a missing file too. */
  ck_assert_int_eq(stance_c3d_read(bad, &c, &err), STANCE_EIO);
  ck_assert_ptr_null(c);
  unlink(path);
  rmdir(dir);
  free(dir);
  stance_recording_free(rec);

  /* Refusals. */
  uint8_t *out = NULL;
  rec = stance_recording_new(STANCE_LAYOUT_PLATES, 1000.0, true);
  ck_assert_int_eq(stance_c3d_encode(rec, NULL, &out, &len, &err), STANCE_ENODATA);
  double f[2] = {100, NAN}, cop[4] = {0, 0, 0, 0};
  ck_assert_int_eq(stance_recording_append_forces(rec, f, cop, 0), 0);
  f[1] = 200;
  cop[2] = INFINITY;
  ck_assert_int_eq(stance_recording_append_forces(rec, f, cop, 0), 0);
  ck_assert_int_eq(stance_c3d_encode(rec, NULL, &out, &len, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "sample 1") && strstr(err.message, "Fz"), "%s", err.message);
  rec->force_n[1] = 300;
  ck_assert_int_eq(stance_c3d_encode(rec, NULL, &out, &len, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "sample 2"), "%s", err.message);
  ck_assert_ptr_null(out);
  stance_recording_free(rec);
  /* A rate a C3D float cannot hold exactly. */
  rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000.1, false);
  double one = 1;
  ck_assert_int_eq(stance_recording_append_forces(rec, &one, NULL, 0), 0);
  ck_assert_int_eq(stance_c3d_encode(rec, NULL, &out, &len, &err), STANCE_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.message, "1000.1"));
  stance_recording_free(rec);
  /* A non-integer rate that a float holds: one sample per frame. */
  rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 960.5, false);
  ck_assert_int_eq(stance_recording_append_forces(rec, &one, NULL, 0), 0);
  buf = encode(rec, NULL, &len);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_header(c)->analog_samples, 1);
  ck_assert_double_eq(stance_c3d_analog_rate(c), 960.5);
  stance_c3d_free(c);
  free(buf);
  stance_recording_free(rec);
  /* An invalid option. */
  rec = simulate("cmj", NULL);
  StanceC3dWriteOptions opt;
  stance_c3d_write_options_default(&opt);
  opt.processor = (StanceC3dProcessor)87;
  ck_assert_int_eq(stance_c3d_encode(rec, &opt, &out, &len, &err), STANCE_EINVAL);
  /* A calibration the export cannot use. */
  rec->calib.gain_n_per_count[3] = NAN;
  ck_assert_int_eq(stance_c3d_encode(rec, NULL, &out, &len, &err), STANCE_ERANGE);
  ck_assert_ptr_nonnull(strstr(err.message, "cell 4"));
  stance_recording_free(rec);
}
END_TEST

/* ======================================================================================== */
/* Platform types and ZERO, on patched copies of an export                                  */
/* ======================================================================================== */

START_TEST(test_platform_types_and_zero)
{
  StanceRecording *rec = simulate_part("cmj", 0, 3000);
  size_t len;
  uint8_t *orig = encode(rec, NULL, &len);
  StanceC3d *ref = decode(orig, len);
  uint8_t *buf = malloc(len);
  StanceError err = {0};
  size_t spf = (size_t)stance_c3d_header(ref)->analog_samples;

  /* ZERO 1..10: the mean of frames 1-10 of each input is subtracted. */
  memcpy(buf, orig, len);
  const StanceC3dParam *zero = param(ref, "FORCE_PLATFORM:ZERO");
  poke_i16(buf + param_data_at(zero), 1);
  poke_i16(buf + param_data_at(zero) + 2, 10);
  StanceC3d *c = decode(buf, len);
  const StanceC3dPlatform *fp;
  ck_assert_int_eq(stance_c3d_platform(c, 0, &fp, &err), 0);
  ck_assert(fp->baseline_applied);
  double base = 0;
  for (size_t i = 0; i < 10 * spf; i++)
    base += stance_c3d_analog(ref, 2)[i];
  base /= (double)(10 * spf);
  ck_assert_near(fp->baseline[2], base, 1e-9 * fabs(base));
  ck_assert(fabs(base) > 100); /* a standing athlete: the baseline is large */
  StanceC3dWrench w0, w1;
  ck_assert_int_eq(stance_c3d_platform_wrench(ref, 0, 2500, &w0, &err), 0);
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 2500, &w1, &err), 0);
  ck_assert_near(w1.force[2], w0.force[2] + base, 1e-6 * fabs(w0.force[2])); /* lab z = -plate z */
  stance_c3d_free(c);

  /* TYPE 4 with CAL_MATRIX = 2 x identity: forces and moments double, the CoP stays. */
  memcpy(buf, orig, len);
  const StanceC3dParam *type = param(ref, "FORCE_PLATFORM:TYPE");
  const StanceC3dParam *cal = param(ref, "FORCE_PLATFORM:CAL_MATRIX");
  poke_i16(buf + param_data_at(type), 4);
  for (int i = 0; i < 6; i++)
    poke_f32(buf + param_data_at(cal) + 4 * (size_t)(i * 6 + i), 2.0f);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform(c, 0, &fp, &err), 0);
  ck_assert_int_eq(fp->type, 4);
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 2500, &w1, &err), 0);
  ck_assert_near(w1.force[2], 2 * w0.force[2], 1e-9 * fabs(w0.force[2]));
  ck_assert_near(w1.moment[0], 2 * w0.moment[0], 1e-9 * fabs(w0.moment[0]) + 1e-9);
  ck_assert_near(w1.cop[0], w0.cop[0], 1e-9);
  ck_assert_near(w1.cop[1], w0.cop[1], 1e-9);
  /* Platform 2 is still type 2 and unchanged. */
  ck_assert_int_eq(stance_c3d_platform(c, 1, &fp, &err), 0);
  ck_assert_int_eq(fp->type, 2);
  stance_c3d_free(c);

  /* TYPE 1: channels are Fx Fy Fz CoPx CoPy Tz; the CoP is read, the moment follows from it. */
  memcpy(buf, orig, len);
  poke_i16(buf + param_data_at(type), 1);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 2500, &w1, &err), 0);
  ck_assert_double_eq(w1.cop_platform[0], stance_c3d_analog(c, 3)[2500]);
  ck_assert_double_eq(w1.cop_platform[1], stance_c3d_analog(c, 4)[2500]);
  ck_assert_near(w1.force[2], w0.force[2], 1e-12);
  stance_c3d_free(c);

  /* TYPE 5 is not computed: the platform says so, the file stays readable. */
  memcpy(buf, orig, len);
  poke_i16(buf + param_data_at(type) + 2, 5);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform(c, 1, &fp, &err), STANCE_ENOTAVAIL);
  ck_assert_ptr_nonnull(strstr(err.message, "TYPE 5"));
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 1, 0, &w1, &err), STANCE_ENOTAVAIL);
  ck_assert_int_eq(stance_c3d_platform_wrench(c, 0, 0, &w1, &err), 0);
  stance_c3d_free(c);

  /* A CHANNEL beyond the analog channels: that platform refused with the parameter named. */
  memcpy(buf, orig, len);
  const StanceC3dParam *chan = param(ref, "FORCE_PLATFORM:CHANNEL");
  poke_i16(buf + param_data_at(chan) + 2 * 8, 99);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform(c, 1, &fp, &err), STANCE_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.message, "FORCE_PLATFORM:CHANNEL"));
  ck_assert_ptr_nonnull(strstr(err.message, "99"));
  stance_c3d_free(c);

  /* Degenerate CORNERS (all at one point). */
  memcpy(buf, orig, len);
  const StanceC3dParam *corners = param(ref, "FORCE_PLATFORM:CORNERS");
  for (int k = 0; k < 12; k++)
    poke_f32(buf + param_data_at(corners) + 4 * (size_t)k, 1.0f);
  c = decode(buf, len);
  ck_assert_int_eq(stance_c3d_platform(c, 0, &fp, &err), STANCE_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.message, "CORNERS"));
  stance_c3d_free(c);

  free(buf);
  free(orig);
  stance_c3d_free(ref);
  stance_recording_free(rec);
}
END_TEST

/* ======================================================================================== */
/* Malformed files                                                                          */
/* ======================================================================================== */

/* A small export without the simulator (these tests read it tens of thousands of times): 120
 * samples (12 frames) of two feet shifting weight, with the simulator's calibration, a protocol,
 * an athlete, free metadata and a gap. Parameters ~10 blocks, data 2 blocks. */
static uint8_t *
small_file(size_t *len, StanceC3d **parsed)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_ptr_nonnull(rec);
  stance_sim_calibration(&rec->calib);
  rec->meta.protocol = STANCE_PROTO_CMJ;
  snprintf(rec->meta.athlete, sizeof rec->meta.athlete, "Test Athlete");
  snprintf(rec->meta.board_serial, sizeof rec->meta.board_serial, "SN0042");
  snprintf(rec->meta.calibration_id, sizeof rec->meta.calibration_id, "SN0042-1");
  ck_assert_int_eq(stance_meta_set(&rec->meta, "operator", "coach"), 0);
  ck_assert_int_eq(stance_meta_set(&rec->meta, "shoes", "barefoot"), 0);
  for (int i = 0; i < 120; i++) {
    int32_t counts[8];
    for (int c = 0; c < 8; c++) {
      double load = 180.0 + 60.0 * sin(0.05 * i + c) * (c < 4 ? 1 : -1); /* N per cell */
      counts[c] =
          (int32_t)lrint(rec->calib.offset_counts[c] + load / rec->calib.gain_n_per_count[c]);
    }
    ck_assert_int_eq(stance_recording_append_counts(rec, counts, 0), 0);
  }
  make_gap(rec, 50, 60);
  uint8_t *buf = encode(rec, NULL, len);
  stance_recording_free(rec);
  if (parsed)
    *parsed = decode(buf, *len);
  return buf;
}

START_TEST(test_malformed_named_errors)
{
  size_t len;
  StanceC3d *ref;
  uint8_t *orig = small_file(&len, &ref);
  uint8_t *buf = malloc(len);
  size_t ps = 512, pe = 512 + (size_t)stance_c3d_header(ref)->parameter_blocks * 512;

  /* Not C3D: header key. */
  memcpy(buf, orig, len);
  buf[1] = 0x51;
  expect_refused(buf, len, STANCE_EFORMAT, "byte 1");
  /* Parameter section in block 1 / beyond the file. */
  memcpy(buf, orig, len);
  buf[0] = 1;
  expect_refused(buf, len, STANCE_EFORMAT, "byte 0");
  buf[0] = 200;
  expect_refused(buf, len, STANCE_ETRUNC, "byte 0");
  /* Unknown processor. */
  memcpy(buf, orig, len);
  buf[ps + 3] = 83;
  expect_refused(buf, len, STANCE_EFORMAT, "processor type 83");
  /* The parameter section claims more blocks than the file has. */
  memcpy(buf, orig, len);
  buf[ps + 2] = 255;
  expect_refused(buf, len, STANCE_ETRUNC, "claims 255 blocks");
  /* ... or so many that the data would start inside it. */
  memcpy(buf, orig, len);
  buf[ps + 2] = (uint8_t)(stance_c3d_header(ref)->parameter_blocks + 1);
  expect_refused(buf, len, STANCE_EFORMAT, "not after the parameter section");
  /* A record's next-pointer leads outside the section. */
  const StanceC3dParam *labels = param(ref, "ANALOG:LABELS");
  memcpy(buf, orig, len);
  poke_i16(buf + param_ptr_at(labels), 0x7fff);
  expect_refused(buf, len, STANCE_EFORMAT, "outside the section");
  /* ... or backwards / into itself. */
  poke_i16(buf + param_ptr_at(labels), -40);
  expect_refused(buf, len, STANCE_EFORMAT, "pointer");
  poke_i16(buf + param_ptr_at(labels), 1);
  expect_refused(buf, len, STANCE_EFORMAT, "pointer");
  /* ... or short, so the record's data runs past it. */
  poke_i16(buf + param_ptr_at(labels), 6);
  expect_refused(buf, len, STANCE_EFORMAT, "runs past the record's end");
  /* A parameter whose dimensions claim more data than its record (and the file) holds. */
  memcpy(buf, orig, len);
  buf[param_ptr_at(labels) + 4] = 255; /* first dimension */
  buf[param_ptr_at(labels) + 5] = 255;
  expect_refused(buf, len, STANCE_EFORMAT, "ANALOG:LABELS at byte");
  /* The last parameter (pointer 0: bounded by the section) claiming 7 x 255 dimensions. */
  const StanceC3dParam *last = stance_c3d_param_at(ref, stance_c3d_param_count(ref) - 1);
  ck_assert_int_eq(buf[param_ptr_at(last)], 0);
  memcpy(buf, orig, len);
  buf[param_ptr_at(last) + 3] = 7;
  for (int k = 0; k < 7; k++)
    buf[param_ptr_at(last) + 4 + (size_t)k] = 255;
  expect_refused(buf, len, STANCE_EFORMAT, "the end of the parameter section");
  /* A bad type byte; too many dimensions. */
  const StanceC3dParam *used = param(ref, "ANALOG:USED");
  memcpy(buf, orig, len);
  buf[param_ptr_at(used) + 2] = 3;
  expect_refused(buf, len, STANCE_EFORMAT, "data type 3");
  memcpy(buf, orig, len);
  buf[param_ptr_at(used) + 3] = 8;
  expect_refused(buf, len, STANCE_EFORMAT, "8 dimensions");
  /* A parameter of a group that does not exist. */
  memcpy(buf, orig, len);
  buf[used->offset + 1] = 99;
  expect_refused(buf, len, STANCE_EFORMAT, "group id 99");
  /* Two groups with one id. */
  memcpy(buf, orig, len);
  {
    /* The ANALOG group record sits just before its first parameter, ANALOG:USED. */
    size_t g = used->offset;
    size_t gstart = 0;
    for (size_t q = ps + 4; q + 8 < g; q++)
      if (memcmp(buf + q + 2, "ANALOG", 6) == 0 && (int8_t)buf[q + 1] < 0)
        gstart = q;
    ck_assert_uint_gt(gstart, 0);
    buf[gstart + 1] = (uint8_t)(int8_t)-1; /* POINT's id */
    expect_refused(buf, len, STANCE_EFORMAT, "reuses group id 1");
  }
  /* A name with a control character. */
  memcpy(buf, orig, len);
  buf[used->offset + 2] = 0x07;
  expect_refused(buf, len, STANCE_EFORMAT, "0x07");
  /* ANALOG:USED disagreeing with the header. */
  memcpy(buf, orig, len);
  poke_i16(buf + param_data_at(used), 19);
  expect_refused(buf, len, STANCE_EFORMAT, "ANALOG:USED");
  /* Header: analog values not a multiple of samples per frame; data block inside parameters. */
  memcpy(buf, orig, len);
  poke_i16(buf + 4, 201);
  expect_refused(buf, len, STANCE_EFORMAT, "word 3");
  memcpy(buf, orig, len);
  poke_i16(buf + 16, 3);
  expect_refused(buf, len, STANCE_EFORMAT, "bytes 16-17");
  /* A NaN point scale; a negative frame rate. */
  memcpy(buf, orig, len);
  poke_f32(buf + 12, NAN);
  expect_refused(buf, len, STANCE_EFORMAT, "bytes 12-15");
  memcpy(buf, orig, len);
  poke_f32(buf + 20, -100.0f);
  expect_refused(buf, len, STANCE_EFORMAT, "bytes 20-23");
  /* More frames than the data holds. */
  memcpy(buf, orig, len);
  poke_i16(buf + 8, 200);
  expect_refused(buf, len, STANCE_ETRUNC, "data section");
  /* A NaN analog value. */
  memcpy(buf, orig, len);
  size_t data = (size_t)(stance_c3d_header(ref)->data_block - 1) * 512;
  poke_f32(buf + data + 4 * 25, NAN);
  expect_refused(buf, len, STANCE_EFORMAT, "analog channel 6");
  /* A NaN parameter value. */
  memcpy(buf, orig, len);
  poke_f32(buf + param_data_at(param(ref, "POINT:RATE")), INFINITY);
  expect_refused(buf, len, STANCE_EFORMAT, "not a finite number");

  /* Huge REAL values where counts and types are expected (UBSan checks the conversions): the
   * POINT:RATE record (REAL, a 4-letter name) is moved into another group under another name;
   * coming first in the file, it is the one the reader finds. */
  {
    StanceRecording *one = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000.0, false);
    for (int i = 0; i < 30; i++) {
      double f = 500;
      ck_assert_int_eq(stance_recording_append_forces(one, &f, NULL, 0), 0);
    }
    size_t olen;
    uint8_t *ob = encode(one, NULL, &olen);
    StanceC3d *oc = decode(ob, olen);
    const StanceC3dParam *rate = param(oc, "POINT:RATE");
    size_t at = rate->offset, val = param_data_at(rate);
    const char *moves[3][2] = {{"\x03", "USED"}, {"\x03", "TYPE"}, {"\x02", "USED"}};
    for (int k = 0; k < 3; k++) {
      uint8_t *b2 = malloc(olen);
      memcpy(b2, ob, olen);
      b2[at + 1] = (uint8_t)moves[k][0][0];
      memcpy(b2 + at + 2, moves[k][1], 4);
      poke_f32(b2 + val, 1e30f);
      StanceC3d *x = NULL;
      StanceError e2 = {0};
      int r = stance_c3d_read_memory(b2, olen, &x, &e2);
      if (k == 0) { /* FORCE_PLATFORM:USED = 1e30 */
        ck_assert_int_eq(r, STANCE_EFORMAT);
        ck_assert_ptr_nonnull(strstr(e2.message, "FORCE_PLATFORM:USED"));
      } else if (k == 1) { /* FORCE_PLATFORM:TYPE = 1e30: that platform is not computed */
        ck_assert_msg(r == 0, "%s", e2.message);
        const StanceC3dPlatform *fp;
        ck_assert_int_eq(stance_c3d_platform(x, 0, &fp, &e2), STANCE_ENOTAVAIL);
        stance_c3d_free(x);
      } else { /* ANALOG:USED = 1e30 */
        ck_assert_int_eq(r, STANCE_EFORMAT);
        ck_assert_ptr_nonnull(strstr(e2.message, "ANALOG:USED"));
      }
      free(b2);
    }
    stance_c3d_free(oc);
    free(ob);
    stance_recording_free(one);
  }

  /* Not errors: a negative name length marks a locked group or parameter. */
  memcpy(buf, orig, len);
  buf[used->offset] = (uint8_t)(int8_t)-4;
  StanceC3d *c = decode(buf, len);
  ck_assert(stance_c3d_param(c, "ANALOG:USED")->locked);
  ck_assert(!stance_c3d_param(c, "ANALOG:RATE")->locked);
  ck_assert_double_eq(num(c, "ANALOG:USED", 0), 20);
  stance_c3d_free(c);
  (void)pe;

  free(buf);
  free(orig);
  stance_c3d_free(ref);
}
END_TEST

/* Every truncation: refused exactly when it cuts into the data (the block padding after the last
 * frame may go), with ETRUNC or EFORMAT and a byte offset. */
START_TEST(test_every_truncation)
{
  size_t len;
  StanceC3d *ref;
  uint8_t *buf = small_file(&len, &ref);
  const StanceC3dHeader *h = stance_c3d_header(ref);
  size_t data_end = (size_t)(h->data_block - 1) * 512 +
                    stance_c3d_frame_count(ref) * (size_t)h->analog_per_frame * 4;
  size_t step = stance_test_under_valgrind() ? 97 : 1;
  for (size_t cut = 0; cut < len; cut += step) {
    StanceC3d *c = NULL;
    StanceError err = {0};
    uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any read past the end */
    memcpy(copy, buf, cut);
    int r = stance_c3d_read_memory(copy, cut, &c, &err);
    if (cut < data_end) {
      require(r == STANCE_ETRUNC || r == STANCE_EFORMAT, "cut at %zu: code %d", cut, r);
      require(c == NULL, "cut at %zu: a result", cut);
      require(strstr(err.message, "byte") != NULL, "cut at %zu: %s", cut, err.message);
    } else {
      require(r == 0, "cut at %zu (after the data): %s", cut, err.message);
      stance_c3d_free(c);
    }
    free(copy);
  }
  free(buf);
  stance_c3d_free(ref);
}
END_TEST

/* Single-bit flips of every byte of the header and parameter section (all 8 bits of the header
 * words and the section's own header; bits 0, 2, 5 and 7 of the records: small, middle and sign
 * changes of every count, pointer and value) and of a spread of data bytes: the reader either
 * refuses with a message or returns a file whose every output is finite. */
START_TEST(test_bitflip_sweep)
{
  size_t len;
  StanceC3d *ref;
  uint8_t *orig = small_file(&len, &ref);
  const StanceC3dHeader *h = stance_c3d_header(ref);
  size_t pend = 512 + (size_t)h->parameter_blocks * 512;
  uint8_t *buf = malloc(len);
  size_t refused = 0, accepted = 0;
  size_t step = stance_test_under_valgrind() ? 13 : 1;
  for (size_t at = 0; at < len; at += (at < pend ? step : 37 * step)) {
    for (int bit = 0; bit < 8; bit++) {
      bool all_bits = at < 24 || (at >= 512 && at < 516);
      if (!all_bits && bit != 0 && bit != 2 && bit != 5 && bit != 7)
        continue;
      memcpy(buf, orig, len);
      buf[at] ^= (uint8_t)(1u << bit);
      StanceC3d *c = NULL;
      StanceError err = {0};
      int r = stance_c3d_read_memory(buf, len, &c, &err);
      if (r < 0) {
        require(c == NULL && err.message[0] != '\0', "flip %zu.%d: empty message", at, bit);
        refused++;
        continue;
      }
      accepted++;
      size_t nch = stance_c3d_analog_count(c), ns = stance_c3d_analog_samples(c);
      for (size_t ch = 0; ch < nch; ch++)
        for (size_t i = 0; i < ns; i++)
          require(isfinite(stance_c3d_analog(c, ch)[i]), "flip %zu.%d", at, bit);
      for (int p = 0; p < stance_c3d_platform_count(c); p++) {
        const StanceC3dPlatform *fp;
        if (stance_c3d_platform(c, p, &fp, &err) < 0) {
          require(err.message[0] != '\0', "flip %zu.%d: platform refused without a message", at,
                  bit);
          continue;
        }
        for (size_t i = 0; i < ns; i += 4) {
          StanceC3dWrench w;
          if (stance_c3d_platform_wrench(c, p, i, &w, &err) < 0)
            continue;
          for (int j = 0; j < 3; j++)
            require(isfinite(w.force[j]) && isfinite(w.moment[j]) && isfinite(w.cop[j]) &&
                        isfinite(w.free_moment[j]),
                    "flip %zu.%d: platform %d sample %zu not finite", at, bit, p, i);
        }
      }
      for (size_t k = 0; k < stance_c3d_param_count(c); k++) {
        const StanceC3dParam *p = stance_c3d_param_at(c, k);
        require(p->group != NULL, "flip %zu.%d: parameter without a group", at, bit);
        for (size_t j = 0; p->values && j < p->n_values; j++)
          require(isfinite(p->values[j]), "flip %zu.%d: %s not finite", at, bit, p->name);
      }
      stance_c3d_free(c);
    }
  }
  /* Both outcomes happen: flips in descriptions and values are legal files, flips in keys,
   * pointers and counts are not. */
  ck_assert_uint_gt(refused, 100);
  ck_assert_uint_gt(accepted, 100);
  free(buf);
  free(orig);
  stance_c3d_free(ref);
}
END_TEST

static Suite *
c3d_suite(void)
{
  Suite *s = suite_create("c3d");
  TCase *samples = tcase_create("samples");
  tcase_add_test(samples, test_qualisys_header_and_parameters);
  tcase_add_test(samples, test_qualisys_platforms);
  tcase_add_test(samples, test_fp_type3);
  tcase_add_test(samples, test_samples_truncated);
  suite_add_tcase(s, samples);
  TCase *exp = tcase_create("export");
  tcase_add_test(exp, test_roundtrip_split_squat_with_gaps);
  tcase_add_test(exp, test_roundtrip_cmj);
  tcase_add_test(exp, test_roundtrip_plates_with_cop);
  tcase_add_test(exp, test_plates_without_cop_and_combined);
  tcase_add_test(exp, test_number_formats);
  tcase_add_test(exp, test_long_recording_frames);
  tcase_add_test(exp, test_write_file_and_refusals);
  tcase_add_test(exp, test_platform_types_and_zero);
  suite_add_tcase(s, exp);
  TCase *bad = tcase_create("malformed");
  tcase_add_test(bad, test_malformed_named_errors);
  tcase_add_test(bad, test_every_truncation);
  tcase_add_test(bad, test_bitflip_sweep);
  suite_add_tcase(s, bad);
  return s;
}

int
main(void)
{
  return stance_test_run(c3d_suite());
}
