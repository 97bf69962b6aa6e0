/* test-file.c: the .stance file format (encode/decode, atomic write, damage detection).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stance-atomic.h"
#include "stance-file.h"
#include "stance-test.h"

/* ---- building recordings ---- */

/* Deterministic pseudo-random numbers (an LCG), so every run and failure is reproducible. */
static uint32_t
lcg(uint64_t *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static void
fill_meta(StanceMeta *m, int n_extra)
{
  m->protocol = STANCE_PROTO_SPLIT_SQUAT;
  m->side = STANCE_SIDE_LEFT;
  snprintf(m->athlete, sizeof m->athlete, "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m \"Z\" \\ 01");
  m->start_unix_ms = -1234567890123LL; /* negative: before 1970, must survive the text form */
  snprintf(m->board_serial, sizeof m->board_serial, "SN0042");
  snprintf(m->firmware_version, sizeof m->firmware_version, "1.4.2-rc1");
  snprintf(m->calibration_id, sizeof m->calibration_id, "SN0042-2026-11-24-1");
  snprintf(m->source, sizeof m->source, "simulator");
  m->rate_assumed = true;
  m->sides_assumed = true;
  for (int k = 0; k < n_extra; k++) {
    char key[32], value[160];
    /* The last pair uses the longest key and value the model allows. */
    if (k == n_extra - 1) {
      memset(key, 'k', 31);
      key[31] = '\0';
      memset(value, 'v', 159);
      value[159] = '\0';
    } else {
      snprintf(key, sizeof key, "sim.param%d", k);
      snprintf(value, sizeof value, "%d.25 \xe2\x82\xac", k * 7);
    }
    ck_assert_int_eq(stance_meta_set(m, key, value), STANCE_OK);
  }
  /* An empty value is legal and must stay empty, not disappear. */
  if (n_extra > 1)
    snprintf(m->extra[0].value, sizeof m->extra[0].value, "%s", "");
}

static void
fill_calibration(StanceCalibration *c)
{
  stance_calibration_default(c);
  snprintf(c->id, sizeof c->id, "SN0042-2026-11-24-1");
  snprintf(c->board_serial, sizeof c->board_serial, "SN0042");
  c->created_unix_ms = 1795000000123LL;
  for (int k = 0; k < STANCE_N_CELLS; k++) {
    c->offset_counts[k] = -12345.678 + 1001.3 * k;
    c->gain_n_per_count[k] = 1.0 / (4096.0 + 17.1 * k); /* not exactly representable: bit test */
  }
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    c->plate[p].width_mm = 400.5 + p;
    c->plate[p].length_mm = 600.25 - p;
    for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++) {
      c->plate[p].cell[k].x_mm += 0.1 * (k + 1) + p;
      c->plate[p].cell[k].y_mm -= 0.3 * (k + 1);
    }
    c->plate[p].centre_x_mm = p ? 251.7 : -249.9;
    c->plate[p].centre_y_mm = 3.3 * p;
  }
}

/* CELLS recording of n samples with rails, gaps, saturation and overflow marks. */
static StanceRecording *
make_cells(size_t n, int n_extra)
{
  StanceRecording *r = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_ptr_nonnull(r);
  fill_meta(&r->meta, n_extra);
  fill_calibration(&r->calib);
  uint64_t s = 42;
  for (size_t i = 0; i < n; i++) {
    if (i % 97 == 50) {
      ck_assert_int_eq(stance_recording_append_gap(r, 3), STANCE_OK);
      continue;
    }
    int32_t c[STANCE_N_CELLS];
    uint16_t st = 0;
    for (int k = 0; k < STANCE_N_CELLS; k++)
      c[k] = (int32_t)(lcg(&s) & 0xFFFFFF) - 0x800000;
    if (i % 13 == 5) {
      c[i % 8] = (i & 1) ? STANCE_ADC_MAX : STANCE_ADC_MIN;
      st |= (uint16_t)(1u << (i % 8));
    }
    if (i % 211 == 7)
      st |= STANCE_STATUS_OVERFLOW;
    ck_assert_int_eq(stance_recording_append_counts(r, c, st), STANCE_OK);
  }
  return r;
}

/* PLATES or COMBINED recording with awkward doubles (not short decimals, subnormal, -0). */
static StanceRecording *
make_forces(StanceLayout layout, size_t n, bool cop, bool calib)
{
  StanceRecording *r = stance_recording_new(layout, 1111.111111111, cop);
  ck_assert_ptr_nonnull(r);
  r->meta.protocol = STANCE_PROTO_CMJ;
  snprintf(r->meta.source, sizeof r->meta.source, "import:jump \xe2\x80\x94 1.csv");
  ck_assert_int_eq(stance_meta_set(&r->meta, "column.left", "Fz_L [N]"), STANCE_OK);
  if (calib) {
    r->has_calibration = true;
    fill_calibration(&r->calib);
  }
  uint64_t s = 7;
  size_t nch = r->n_channels;
  for (size_t i = 0; i < n; i++) {
    if (i % 50 == 20) {
      ck_assert_int_eq(stance_recording_append_gap(r, 2), STANCE_OK);
      continue;
    }
    double f[2], xy[4];
    for (size_t k = 0; k < nch; k++) {
      f[k] = (double)lcg(&s) / 3.0e6 - 50.0;
      xy[2 * k] = (double)lcg(&s) / 1.0e7 - 200.0;
      xy[2 * k + 1] = -(double)lcg(&s) / 7.0e6;
    }
    if (i == 3)
      f[0] = -0.0;
    if (i == 4)
      f[0] = 4.9e-324;
    ck_assert_int_eq(stance_recording_append_forces(r, f, xy, (uint16_t)(i % 3 == 0 ? 0x0001 : 0)),
                     STANCE_OK);
  }
  return r;
}

/* ---- comparing ---- */

#define ck_assert_bits_eq(a, b)                                                                    \
  do {                                                                                             \
    double _x = (a), _y = (b);                                                                     \
    ck_assert_msg(memcmp(&_x, &_y, sizeof _x) == 0, "%s = %.17g differs from %s = %.17g", #a, _x,  \
                  #b, _y);                                                                         \
  } while (0)

static void
assert_same_calibration(const StanceCalibration *a, const StanceCalibration *b)
{
  ck_assert_str_eq(a->id, b->id);
  ck_assert_str_eq(a->board_serial, b->board_serial);
  ck_assert_int_eq(a->created_unix_ms, b->created_unix_ms);
  for (int k = 0; k < STANCE_N_CELLS; k++) {
    ck_assert_bits_eq(a->offset_counts[k], b->offset_counts[k]);
    ck_assert_bits_eq(a->gain_n_per_count[k], b->gain_n_per_count[k]);
  }
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    ck_assert_bits_eq(a->plate[p].width_mm, b->plate[p].width_mm);
    ck_assert_bits_eq(a->plate[p].length_mm, b->plate[p].length_mm);
    ck_assert_bits_eq(a->plate[p].centre_x_mm, b->plate[p].centre_x_mm);
    ck_assert_bits_eq(a->plate[p].centre_y_mm, b->plate[p].centre_y_mm);
    for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++) {
      ck_assert_bits_eq(a->plate[p].cell[k].x_mm, b->plate[p].cell[k].x_mm);
      ck_assert_bits_eq(a->plate[p].cell[k].y_mm, b->plate[p].cell[k].y_mm);
    }
  }
}

static void
assert_same_meta(const StanceMeta *a, const StanceMeta *b)
{
  ck_assert_int_eq(a->protocol, b->protocol);
  ck_assert_int_eq(a->side, b->side);
  ck_assert_str_eq(a->athlete, b->athlete);
  ck_assert_int_eq(a->start_unix_ms, b->start_unix_ms);
  ck_assert_str_eq(a->board_serial, b->board_serial);
  ck_assert_str_eq(a->firmware_version, b->firmware_version);
  ck_assert_str_eq(a->calibration_id, b->calibration_id);
  ck_assert_str_eq(a->source, b->source);
  ck_assert_int_eq(a->rate_assumed, b->rate_assumed);
  ck_assert_int_eq(a->sides_assumed, b->sides_assumed);
  ck_assert_int_eq(a->n_extra, b->n_extra);
  for (int k = 0; k < a->n_extra; k++) {
    ck_assert_str_eq(a->extra[k].key, b->extra[k].key);
    ck_assert_str_eq(a->extra[k].value, b->extra[k].value);
  }
}

static void
assert_same_recording(const StanceRecording *a, const StanceRecording *b)
{
  ck_assert_int_eq(a->layout, b->layout);
  ck_assert_bits_eq(a->sample_rate_hz, b->sample_rate_hz);
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  ck_assert_uint_eq(a->n_channels, b->n_channels);
  size_t n = a->n_samples, nch = a->n_channels;
  if (a->layout == STANCE_LAYOUT_CELLS) {
    ck_assert_ptr_null(b->force_n);
    ck_assert(n == 0 || memcmp(a->counts, b->counts, n * nch * sizeof(int32_t)) == 0);
  } else {
    ck_assert_ptr_null(b->counts);
    ck_assert(n == 0 || memcmp(a->force_n, b->force_n, n * nch * sizeof(double)) == 0);
  }
  ck_assert_int_eq(a->cop_mm != NULL, b->cop_mm != NULL);
  if (a->cop_mm)
    ck_assert(n == 0 || memcmp(a->cop_mm, b->cop_mm, n * nch * 2 * sizeof(double)) == 0);
  ck_assert(n == 0 || memcmp(a->status, b->status, n * sizeof(uint16_t)) == 0);
  ck_assert_int_eq(a->has_calibration, b->has_calibration);
  if (a->has_calibration)
    assert_same_calibration(&a->calib, &b->calib);
  assert_same_meta(&a->meta, &b->meta);
}

static void
roundtrip(const StanceRecording *rec)
{
  uint8_t *buf = NULL;
  size_t len = 0;
  StanceError err = {0};
  ck_assert_msg(stance_file_encode(rec, &buf, &len, &err) == STANCE_OK, "encode: %s", err.message);
  ck_assert(stance_file_is_stance(buf, len));
  StanceRecording *back = NULL;
  ck_assert_msg(stance_file_decode(buf, len, &back, &err) == STANCE_OK, "decode: %s", err.message);
  assert_same_recording(rec, back);
  stance_recording_free(back);
  free(buf);
}

/* ---- tests: CRC ---- */

static uint32_t
crc_bitwise(const uint8_t *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

START_TEST(test_crc32)
{
  /* Published check values of CRC-32/ISO-HDLC (zlib's crc32). */
  ck_assert_uint_eq(stance_crc32(0, "123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq(stance_crc32(0, "", 0), 0);
  ck_assert_uint_eq(stance_crc32(0, "The quick brown fox jumps over the lazy dog", 43),
                    0x414FA339u);
  /* Continuation: feeding the data in two parts gives the same CRC. */
  ck_assert_uint_eq(stance_crc32(stance_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
  /* The 8-byte folding agrees with the bit-at-a-time definition at every length and alignment. */
  uint8_t data[300];
  uint64_t s = 1;
  for (size_t k = 0; k < sizeof data; k++)
    data[k] = (uint8_t)lcg(&s);
  for (size_t off = 0; off < 8; off++)
    for (size_t n = 0; n + off <= sizeof data; n += 7)
      ck_assert_uint_eq(stance_crc32(0, data + off, n), crc_bitwise(data + off, n));
}
END_TEST

/* ---- tests: round trips ---- */

START_TEST(test_roundtrip_cells)
{
  StanceRecording *r = make_cells(3000, STANCE_META_MAX_EXTRA);
  ck_assert_uint_gt(stance_recording_count_gaps(r), 0);
  ck_assert_uint_gt(stance_recording_count_saturated(r), 0);
  roundtrip(r);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_roundtrip_plates)
{
  StanceRecording *r = make_forces(STANCE_LAYOUT_PLATES, 2000, true, false);
  roundtrip(r);
  stance_recording_free(r);
  r = make_forces(STANCE_LAYOUT_PLATES, 2000, false, true);
  roundtrip(r);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_roundtrip_combined)
{
  StanceRecording *r = make_forces(STANCE_LAYOUT_COMBINED, 1500, true, true);
  roundtrip(r);
  stance_recording_free(r);
  r = make_forces(STANCE_LAYOUT_COMBINED, 1500, false, false);
  roundtrip(r);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_roundtrip_empty_and_defaults)
{
  /* No samples, default metadata (every optional key absent from META). */
  for (int layout = 0; layout < 3; layout++) {
    StanceRecording *r = stance_recording_new((StanceLayout)layout, 200.0, layout != 0);
    roundtrip(r);
    stance_recording_free(r);
  }
}
END_TEST

/* stance-atomic.h: the content lands whole, an existing file keeps its bits, a failure names the
 * path and leaves no temporary file behind. */
START_TEST(test_atomic_write)
{
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/out.bin", dir);
  StanceError err = {0};
  ck_assert_int_eq(stance_atomic_write(path, "first", 5, &err), 0);
  ck_assert_int_eq(chmod(path, 0640), 0);
  ck_assert_int_eq(stance_atomic_write(path, "second!", 7, &err), 0);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq((int)st.st_size, 7);
  ck_assert_int_eq((int)(st.st_mode & 0777), 0640);
  char buf[16] = {0};
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 7);
  fclose(f);
  ck_assert_str_eq(buf, "second!");

  /* An aborted file leaves the target as it was and no temporary file. */
  StanceAtomicFile af;
  ck_assert_int_eq(stance_atomic_open(&af, path, &err), 0);
  fputs("half-written", af.fp);
  stance_atomic_abort(&af);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq((int)st.st_size, 7);
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.' || strncmp(e->d_name, ".out.bin.", 9) == 0;
  closedir(d);
  ck_assert_int_eq(n, 1);

  /* A folder that does not exist. */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/no-such-folder/out.bin", dir);
  ck_assert_int_eq(stance_atomic_write(bad, "x", 1, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, bad) && strstr(err.message, "No such file"), "%s", err.message);
  unlink(path);
  rmdir(dir);
  free(dir);
}
END_TEST

START_TEST(test_write_read_file)
{
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/rec.stance", dir);
  StanceRecording *a = make_cells(500, 3);
  StanceError err = {0};
  ck_assert_msg(stance_file_write(a, path, &err) == STANCE_OK, "%s", err.message);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  /* New files are private (personal data): owner read/write only. */
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  StanceRecording *b = NULL;
  ck_assert_msg(stance_file_read(path, &b, &err) == STANCE_OK, "%s", err.message);
  assert_same_recording(a, b);
  stance_recording_free(b);

  /* Replacing an existing file keeps its permission bits and leaves no temporary file. */
  ck_assert_int_eq(chmod(path, 0640), 0);
  StanceRecording *c = make_forces(STANCE_LAYOUT_PLATES, 300, true, false);
  ck_assert_msg(stance_file_write(c, path, &err) == STANCE_OK, "%s", err.message);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0640);
  ck_assert_msg(stance_file_read(path, &b, &err) == STANCE_OK, "%s", err.message);
  assert_same_recording(c, b);
  stance_recording_free(b);
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int entries = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      entries++;
  closedir(d);
  ck_assert_int_eq(entries, 1);

  /* A relative path (no folder part) works too. */
  char cwd[512];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
  ck_assert_int_eq(chdir(dir), 0);
  ck_assert_msg(stance_file_write(a, "rel.stance", &err) == STANCE_OK, "%s", err.message);
  ck_assert_msg(stance_file_read("rel.stance", &b, &err) == STANCE_OK, "%s", err.message);
  assert_same_recording(a, b);
  stance_recording_free(b);
  unlink("rel.stance");
  ck_assert_int_eq(chdir(cwd), 0);

  unlink(path);
  rmdir(dir);
  free(dir);
  stance_recording_free(a);
  stance_recording_free(c);
}
END_TEST

START_TEST(test_write_failures)
{
  StanceRecording *r = make_cells(10, 0);
  StanceError err = {0};
  /* A folder that does not exist. */
  const char *bad = "/nonexistent-stance-dir/sub/rec.stance";
  ck_assert_int_eq(stance_file_write(r, bad, &err), STANCE_EIO);
  ck_assert_int_eq(err.code, STANCE_EIO);
  ck_assert_msg(strstr(err.message, bad) && strstr(err.message, strerror(ENOENT)), "%s",
                err.message);

  /* The target is a non-empty folder: rename fails after the data was written. The folder must be
   * untouched and the temporary file removed. */
  char *dir = stance_test_tmpdir();
  char target[512], inner[600];
  snprintf(target, sizeof target, "%s/target.stance", dir);
  ck_assert_int_eq(mkdir(target, 0700), 0);
  snprintf(inner, sizeof inner, "%s/keep", target);
  FILE *f = fopen(inner, "w");
  ck_assert_ptr_nonnull(f);
  fputs("keep", f);
  fclose(f);
  stance_error_clear(&err);
  ck_assert_int_eq(stance_file_write(r, target, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, target) && strstr(err.message, "replacing"), "%s", err.message);
  struct stat st;
  ck_assert_int_eq(stat(inner, &st), 0);
  ck_assert_int_eq(st.st_size, 4);
  DIR *d = opendir(dir);
  int entries = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      entries++;
  closedir(d);
  ck_assert_int_eq(entries, 1); /* only target.stance/, no leftover temporary file */
  unlink(inner);
  rmdir(target);
  rmdir(dir);
  free(dir);

  /* Reading: a missing file and a folder. */
  StanceRecording *out = NULL;
  ck_assert_int_eq(stance_file_read(bad, &out, &err), STANCE_EIO);
  ck_assert_ptr_null(out);
  ck_assert_msg(strstr(err.message, bad) != NULL, "%s", err.message);
  ck_assert_int_eq(stance_file_read("/", &out, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, "not a regular file") != NULL, "%s", err.message);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_writer_refuses_bad_recordings)
{
  StanceError err = {0};
  uint8_t *buf = NULL;
  size_t len = 0;

  StanceRecording *r = make_forces(STANCE_LAYOUT_PLATES, 10, true, false);
  r->force_n[7] = NAN;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "sample 3 channel 1") != NULL, "%s", err.message);
  ck_assert_ptr_null(buf);
  r->force_n[7] = 1.0;
  r->cop_mm[5] = INFINITY;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_ERANGE);
  ck_assert_msg(strstr(err.message, "centre of pressure y") != NULL, "%s", err.message);
  r->cop_mm[5] = 0.0;
  r->meta.athlete[0] = '\xff';
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "athlete") && strstr(err.message, "UTF-8"), "%s", err.message);
  memset(r->meta.athlete, 'a', sizeof r->meta.athlete); /* no terminator */
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "NUL-terminated") != NULL, "%s", err.message);
  r->meta.athlete[0] = '\0';
  snprintf(r->meta.extra[1].key, sizeof r->meta.extra[1].key, "column.left");
  r->meta.n_extra = 2;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "twice") != NULL, "%s", err.message);
  stance_recording_free(r);

  r = make_cells(10, 0);
  r->calib.gain_n_per_count[3] = 0.0;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "cell 4 gain") != NULL, "%s", err.message);
  r->calib.gain_n_per_count[3] = 1.0;
  r->has_calibration = false;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, &err), STANCE_EINVAL);
  ck_assert_msg(strstr(err.message, "calibration") != NULL, "%s", err.message);
  ck_assert_ptr_null(buf);
  stance_recording_free(r);
  ck_assert_int_eq(stance_file_encode(NULL, &buf, &len, &err), STANCE_EINVAL);
}
END_TEST

START_TEST(test_large_roundtrip)
{
  /* 1e6 samples of 8 cells (about 34 MB on disk) through a real file. */
  StanceRecording *r = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_int_eq(stance_recording_reserve(r, 1000000), STANCE_OK);
  uint64_t s = 3;
  for (size_t i = 0; i < 1000000; i++) {
    int32_t c[8];
    for (int k = 0; k < 8; k++)
      c[k] = (int32_t)(lcg(&s) & 0xFFFFFF) - 0x800000;
    stance_recording_append_counts(r, c, (uint16_t)(i % 1000 == 0 ? STANCE_STATUS_GAP : 0));
  }
  char *dir = stance_test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/big.stance", dir);
  StanceError err = {0};
  ck_assert_msg(stance_file_write(r, path, &err) == STANCE_OK, "%s", err.message);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_gt(st.st_size, 34000000);
  StanceRecording *b = NULL;
  ck_assert_msg(stance_file_read(path, &b, &err) == STANCE_OK, "%s", err.message);
  assert_same_recording(r, b);
  stance_recording_free(b);
  stance_recording_free(r);
  unlink(path);
  rmdir(dir);
  free(dir);
}
END_TEST

/* ---- tests: byte layout against docs/formats.md ---- */

/* The example file of docs/formats.md ("A complete example"), byte for byte. */
static const uint8_t golden_tiny[196] = {
    /* header */
    0x89, 0x53, 0x54, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A, 0x01, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x8F, 0x40, 0x05, 0x17, 0xC4, 0x48,
    /* META */
    0x4D, 0x45, 0x54, 0x41, 0x01, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 'p', 'r', 'o', 't', 'o', 'c', 'o', 'l', 0x08,
    0x00, 0x00, 0x00, 'w', 'e', 'i', 'g', 'h', '-', 'i', 'n', 0x04, 0x00, 0x00, 0x00, 's', 'i', 'd',
    'e', 0x04, 0x00, 0x00, 0x00, 'b', 'o', 't', 'h', 0x4E, 0x03, 0x1C, 0x0B,
    /* DATA */
    0x44, 0x41, 0x54, 0x41, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0xE0, 0x85, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0xEC, 0x85, 0x40,
    0x37, 0x61, 0x87, 0x87,
    /* STAT */
    0x53, 0x54, 0x41, 0x54, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x9D, 0xB0, 0xCE, 0x03,
    /* END */
    0x45, 0x4E, 0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xC4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x82, 0xBE, 0xF0, 0xFB};

static StanceRecording *
make_tiny(void)
{
  StanceRecording *r = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000.0, false);
  r->meta.protocol = STANCE_PROTO_WEIGH_IN;
  double f1 = 700.0, f2 = 701.5;
  stance_recording_append_forces(r, &f1, NULL, 0);
  stance_recording_append_forces(r, &f2, NULL, 0);
  return r;
}

START_TEST(test_golden_bytes)
{
  StanceRecording *r = make_tiny();
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, NULL), STANCE_OK);
  ck_assert_uint_eq(len, sizeof golden_tiny);
  for (size_t k = 0; k < len; k++)
    ck_assert_msg(buf[k] == golden_tiny[k], "byte %zu is 0x%02X, the documented example has 0x%02X",
                  k, buf[k], golden_tiny[k]);
  /* And the documented bytes decode to the recording. */
  StanceRecording *back = NULL;
  ck_assert_int_eq(stance_file_decode(golden_tiny, sizeof golden_tiny, &back, NULL), STANCE_OK);
  assert_same_recording(r, back);
  stance_recording_free(back);
  free(buf);
  stance_recording_free(r);
}
END_TEST

/* ---- a test-side image editor: split a valid image into chunks, change them, rebuild with valid
 * CRCs and END length, so the reader's content checks can be reached past the checksums ---- */

typedef struct {
  uint8_t tag[4];
  uint32_t flags;
  uint8_t *payload;
  size_t len;
} TChunk;

typedef struct {
  uint8_t header[44];
  TChunk ch[16];
  int n;
} TImg;

static void
put32(uint8_t *p, uint32_t v)
{
  for (int k = 0; k < 4; k++)
    p[k] = (uint8_t)(v >> (8 * k));
}

static void
put64(uint8_t *p, uint64_t v)
{
  for (int k = 0; k < 8; k++)
    p[k] = (uint8_t)(v >> (8 * k));
}

static uint32_t
get32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
timg_parse(TImg *img, const uint8_t *buf, size_t len)
{
  memset(img, 0, sizeof *img);
  ck_assert_uint_eq(get32(buf + 12), 44);
  memcpy(img->header, buf, 44);
  size_t pos = 44;
  while (pos < len) {
    TChunk *c = &img->ch[img->n++];
    memcpy(c->tag, buf + pos, 4);
    c->flags = get32(buf + pos + 4);
    c->len = get32(buf + pos + 8);
    c->payload = malloc(c->len + 1);
    memcpy(c->payload, buf + pos + 16, c->len);
    pos += 20 + c->len;
  }
  ck_assert_uint_eq(pos, len);
}

static void
timg_free(TImg *img)
{
  for (int k = 0; k < img->n; k++)
    free(img->ch[k].payload);
  img->n = 0;
}

static int
timg_find(const TImg *img, const char tag[4])
{
  for (int k = 0; k < img->n; k++)
    if (memcmp(img->ch[k].tag, tag, 4) == 0)
      return k;
  ck_abort_msg("no chunk %.4s", tag);
  return -1;
}

/* Inserts a chunk before index at (the payload is copied). */
static void
timg_insert(TImg *img, int at, const char tag[4], uint32_t flags, const void *p, size_t len)
{
  ck_assert_int_lt(img->n, 16);
  memmove(&img->ch[at + 1], &img->ch[at], (size_t)(img->n - at) * sizeof img->ch[0]);
  TChunk *c = &img->ch[at];
  memcpy(c->tag, tag, 4);
  c->flags = flags;
  c->payload = malloc(len + 1);
  memcpy(c->payload, p, len);
  c->len = len;
  img->n++;
}

static void
timg_remove(TImg *img, int at)
{
  free(img->ch[at].payload);
  memmove(&img->ch[at], &img->ch[at + 1], (size_t)(img->n - at - 1) * sizeof img->ch[0]);
  img->n--;
}

static void
timg_set_payload(TImg *img, int at, const void *p, size_t len)
{
  uint8_t *copy = malloc(len + 1); /* p may point into the old payload */
  memcpy(copy, p, len);
  free(img->ch[at].payload);
  img->ch[at].payload = copy;
  img->ch[at].len = len;
}

/* Serialises with valid CRCs; the END chunk (if any) gets the true total length. */
static uint8_t *
timg_build(TImg *img, size_t *out_len)
{
  size_t total = 44;
  for (int k = 0; k < img->n; k++)
    total += 20 + img->ch[k].len;
  for (int k = 0; k < img->n; k++)
    if (memcmp(img->ch[k].tag, "END\0", 4) == 0 && img->ch[k].len == 8)
      put64(img->ch[k].payload, total);
  uint8_t *b = malloc(total);
  put32(img->header + 40, stance_crc32(0, img->header, 40));
  memcpy(b, img->header, 44);
  size_t pos = 44;
  for (int k = 0; k < img->n; k++) {
    TChunk *c = &img->ch[k];
    memcpy(b + pos, c->tag, 4);
    put32(b + pos + 4, c->flags);
    put64(b + pos + 8, c->len);
    memcpy(b + pos + 16, c->payload, c->len);
    put32(b + pos + 16 + c->len, stance_crc32(0, b + pos, 16 + c->len));
    pos += 20 + c->len;
  }
  *out_len = total;
  return b;
}

/* Builds img and expects decode to fail with code and a message containing needle. */
static void
expect_refused(TImg *img, int code, const char *needle)
{
  size_t len;
  uint8_t *b = timg_build(img, &len);
  StanceRecording *out = (StanceRecording *)1;
  StanceError err = {0};
  int r = stance_file_decode(b, len, &out, &err);
  ck_assert_msg(r == code, "decode gave %d (%s), expected %d (%s)", r, err.message, code, needle);
  ck_assert_ptr_null(out);
  ck_assert_msg(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message,
                needle);
  free(b);
}

static StanceRecording *
expect_accepted(TImg *img)
{
  size_t len;
  uint8_t *b = timg_build(img, &len);
  StanceRecording *out = NULL;
  StanceError err = {0};
  ck_assert_msg(stance_file_decode(b, len, &out, &err) == STANCE_OK, "%s", err.message);
  free(b);
  return out;
}

static void
encode_into(const StanceRecording *r, TImg *img)
{
  uint8_t *buf;
  size_t len;
  StanceError err = {0};
  ck_assert_msg(stance_file_encode(r, &buf, &len, &err) == STANCE_OK, "%s", err.message);
  timg_parse(img, buf, len);
  free(buf);
}

/* A META payload from key/value pairs. */
static size_t
meta_payload(uint8_t *out, int n, const char *const *kv)
{
  put32(out, (uint32_t)n);
  size_t pos = 4;
  for (int k = 0; k < 2 * n; k++) {
    size_t l = strlen(kv[k]);
    put32(out + pos, (uint32_t)l);
    memcpy(out + pos + 4, kv[k], l);
    pos += 4 + l;
  }
  return pos;
}

/* ---- tests: damage and structure ---- */

static void
check_every_bitflip(const StanceRecording *r)
{
  uint8_t *buf;
  size_t len;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, NULL), STANCE_OK);
  for (size_t off = 0; off < len; off++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[off] ^= (uint8_t)(1u << bit);
      StanceRecording *out = NULL;
      StanceError err = {0};
      int code = stance_file_decode(buf, len, &out, &err);
      ck_assert_msg(code == STANCE_ECORRUPT || code == STANCE_EFORMAT || code == STANCE_ETRUNC ||
                        code == STANCE_EVERSION,
                    "flipping bit %d of byte %zu of %zu gave %d (%s)", bit, off, len, code,
                    err.message);
      ck_assert_ptr_null(out);
      ck_assert_int_eq(err.code, code);
      ck_assert(err.message[0] != '\0');
      buf[off] ^= (uint8_t)(1u << bit);
    }
  }
  /* Unflipped, it still decodes: the loop really restored every byte. */
  StanceRecording *out = NULL;
  ck_assert_int_eq(stance_file_decode(buf, len, &out, NULL), STANCE_OK);
  stance_recording_free(out);
  free(buf);
}

START_TEST(test_every_bitflip_refused)
{
  /* CRC-32 detects every single-bit error; bytes outside CRC coverage (signature, major
   * version, header length) are checked directly. So no flip may ever decode. */
  StanceRecording *r = make_cells(6, 2);
  check_every_bitflip(r);
  stance_recording_free(r);
  r = make_forces(STANCE_LAYOUT_PLATES, 4, true, true);
  check_every_bitflip(r);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
  StanceRecording *r = make_forces(STANCE_LAYOUT_COMBINED, 5, true, true);
  uint8_t *buf;
  size_t len;
  ck_assert_int_eq(stance_file_encode(r, &buf, &len, NULL), STANCE_OK);
  for (size_t n = 0; n < len; n++) {
    /* Copy into an exact-size buffer so ASan catches any read past the given length. */
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, buf, n);
    StanceRecording *out = NULL;
    StanceError err = {0};
    int code = stance_file_decode(cut, n, &out, &err);
    ck_assert_msg(code == STANCE_ETRUNC, "cut to %zu of %zu bytes gave %d (%s)", n, len, code,
                  err.message);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err.message, "truncated") != NULL, "%s", err.message);
    free(cut);
  }
  /* A cut at a chunk boundary (right before END) names where the file ends. */
  StanceRecording *out = NULL;
  StanceError err = {0};
  ck_assert_int_eq(stance_file_decode(buf, len - 28, &out, &err), STANCE_ETRUNC);
  char want[64];
  snprintf(want, sizeof want, "ends at byte %zu, before its END chunk", len - 28);
  ck_assert_msg(strstr(err.message, want) != NULL, "%s", err.message);
  free(buf);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_versions)
{
  StanceRecording *r = make_tiny();
  TImg img;
  encode_into(r, &img);
  /* A newer major version is refused even with a valid header CRC. */
  img.header[8] = 2;
  expect_refused(&img, STANCE_EVERSION, "version 2.0; this Stance reads version 1.x");
  /* A newer minor version is read (it may only add things an older reader can skip). */
  img.header[8] = 1;
  img.header[10] = 7;
  StanceRecording *back = expect_accepted(&img);
  assert_same_recording(r, back);
  stance_recording_free(back);
  timg_free(&img);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_unknown_chunks)
{
  StanceRecording *r = make_forces(STANCE_LAYOUT_PLATES, 30, true, true);
  TImg img;
  encode_into(r, &img);
  /* Non-critical unknown chunks (a newer minor version) anywhere before END are skipped. */
  timg_insert(&img, timg_find(&img, "END\0"), "XTRA", 0, "hello", 5);
  timg_insert(&img, 1, "ZZZZ", 0x00000002u, "", 0); /* unknown non-critical flag bits too */
  StanceRecording *back = expect_accepted(&img);
  assert_same_recording(r, back);
  stance_recording_free(back);
  /* The same chunk marked critical is refused. */
  img.ch[timg_find(&img, "XTRA")].flags = 1;
  expect_refused(&img, STANCE_EVERSION, "'XTRA' at offset");
  timg_free(&img);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_structure_errors)
{
  StanceRecording *r = make_cells(20, 1);
  TImg img;
  int k;

  /* DATA one sample short. */
  encode_into(r, &img);
  k = timg_find(&img, "DATA");
  img.ch[k].len -= 32;
  expect_refused(&img, STANCE_EFORMAT, "n_samples x 8 channels x 4 bytes = 640");
  timg_free(&img);

  /* STAT of the wrong length, then a duplicated STAT. */
  encode_into(r, &img);
  k = timg_find(&img, "STAT");
  img.ch[k].len -= 2;
  expect_refused(&img, STANCE_EFORMAT, "n_samples x 2 bytes = 40");
  img.ch[k].len += 2;
  timg_insert(&img, k, "STAT", 1, img.ch[k].payload, img.ch[k].len);
  expect_refused(&img, STANCE_EFORMAT, "'STAT' at offset");
  timg_free(&img);

  /* Missing required chunks. */
  const char *required[] = {"META", "CALB", "DATA", "STAT"};
  for (size_t q = 0; q < 4; q++) {
    encode_into(r, &img);
    timg_remove(&img, timg_find(&img, required[q]));
    expect_refused(&img, STANCE_EFORMAT, required[q]);
    timg_free(&img);
  }

  /* END: wrong recorded length, wrong size, bytes after it, and missing. */
  encode_into(r, &img);
  k = timg_find(&img, "END\0");
  {
    size_t len;
    uint8_t *b = timg_build(&img, &len);
    /* Rewrite the END length to something else and fix its CRC by hand. */
    put64(b + len - 12, len + 100);
    put32(b + len - 4, stance_crc32(0, b + len - 28, 24));
    StanceRecording *out = NULL;
    StanceError err = {0};
    ck_assert_int_eq(stance_file_decode(b, len, &out, &err), STANCE_EFORMAT);
    ck_assert_msg(strstr(err.message, "records a file length of") != NULL, "%s", err.message);
    free(b);
    /* Trailing garbage after a valid END. */
    b = timg_build(&img, &len);
    uint8_t *b2 = malloc(len + 3);
    memcpy(b2, b, len);
    memcpy(b2 + len, "xyz", 3);
    ck_assert_int_eq(stance_file_decode(b2, len + 3, &out, &err), STANCE_EFORMAT);
    ck_assert_msg(strstr(err.message, "3 unexpected bytes follow the END chunk") != NULL, "%s",
                  err.message);
    free(b);
    free(b2);
  }
  timg_set_payload(&img, k, "1234", 4);
  expect_refused(&img, STANCE_EFORMAT, "END chunk at offset");
  timg_remove(&img, k);
  expect_refused(&img, STANCE_ETRUNC, "before its END chunk");
  timg_free(&img);

  /* Header fields, with a valid header CRC. */
  encode_into(r, &img);
  put64(img.header + 24, UINT64_MAX); /* absurd n_samples: refused before allocating */
  expect_refused(&img, STANCE_ETRUNC, "declares 18446744073709551615 samples");
  put64(img.header + 24, 1ull << 40);
  expect_refused(&img, STANCE_ETRUNC, "declares 1099511627776 samples");
  put64(img.header + 24, 20);
  double bad_rates[] = {NAN, INFINITY, 0.0, -1000.0};
  for (int q = 0; q < 4; q++) {
    uint64_t u;
    memcpy(&u, &bad_rates[q], 8);
    put64(img.header + 32, u);
    expect_refused(&img, STANCE_EFORMAT, "sample rate");
  }
  double ok = 1000.0;
  uint64_t u;
  memcpy(&u, &ok, 8);
  put64(img.header + 32, u);
  img.header[16] = 3;
  expect_refused(&img, STANCE_EFORMAT, "layout 3");
  img.header[16] = 0;
  img.header[18] = 2;
  expect_refused(&img, STANCE_EFORMAT, "2 channels at offset 18 (a cells recording has 8)");
  img.header[18] = 8;
  img.header[20] = 0x03; /* CoP on cells */
  expect_refused(&img, STANCE_EFORMAT, "centre of pressure");
  img.header[20] = 0x00; /* cells without calibration (and a CALB chunk the flags deny) */
  expect_refused(&img, STANCE_EFORMAT, "without calibration");
  img.header[20] = 0x02;
  put32(img.header + 12, 43);
  expect_refused(&img, STANCE_EFORMAT, "header length at offset 12 is 43");
  put32(img.header + 12, 44);
  timg_free(&img);

  /* Calibration that fails validation. */
  encode_into(r, &img);
  k = timg_find(&img, "CALB");
  size_t gains = img.ch[k].len - (8 * 8 + 24 * 8); /* offset of the gains */
  memset(img.ch[k].payload + gains + 8 * 5, 0, 8); /* cell 6 gain = 0 */
  expect_refused(&img, STANCE_EFORMAT, "cell 6 gain");
  timg_set_payload(&img, k, img.ch[k].payload, img.ch[k].len - 8);
  expect_refused(&img, STANCE_EFORMAT, "CALB chunk at offset");
  timg_free(&img);

  /* PLATES: a CoP chunk missing, a non-finite force, a COPD the flags deny. */
  StanceRecording *p = make_forces(STANCE_LAYOUT_PLATES, 5, true, false);
  encode_into(p, &img);
  int c = timg_find(&img, "COPD");
  TChunk copd = img.ch[c];
  copd.payload = malloc(copd.len);
  memcpy(copd.payload, img.ch[c].payload, copd.len);
  timg_remove(&img, c);
  expect_refused(&img, STANCE_EFORMAT, "COPD");
  img.header[20] = 0; /* no CoP flag: now the file without COPD is valid */
  StanceRecording *back = expect_accepted(&img);
  ck_assert_ptr_null(back->cop_mm);
  stance_recording_free(back);
  timg_insert(&img, c, "COPD", 1, copd.payload, copd.len);
  expect_refused(&img, STANCE_EFORMAT, "no centre of pressure");
  img.header[20] = 1;
  k = timg_find(&img, "DATA");
  double nan = NAN;
  memcpy(&u, &nan, 8);
  put64(img.ch[k].payload + 8 * 3, u); /* sample 1, channel 1 */
  expect_refused(&img, STANCE_EFORMAT, "sample 1 channel 1 is not a finite");
  free(copd.payload);
  timg_free(&img);
  stance_recording_free(p);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_meta_errors_and_unknown_protocol)
{
  StanceRecording *r = make_tiny();
  TImg img;
  encode_into(r, &img);
  int k = timg_find(&img, "META");
  uint8_t buf[4096];
  size_t n;

  /* A protocol this build does not know: kept as UNKNOWN, its name kept in a free pair. */
  const char *kv1[] = {"protocol",   "nordic-curl", "side",   "right",
                       "future_key", "ignored",     "x.note", "kept"};
  n = meta_payload(buf, 4, kv1);
  timg_set_payload(&img, k, buf, n);
  StanceRecording *back = expect_accepted(&img);
  ck_assert_int_eq(back->meta.protocol, STANCE_PROTO_UNKNOWN);
  ck_assert_int_eq(back->meta.side, STANCE_SIDE_RIGHT);
  ck_assert_str_eq(stance_meta_get(&back->meta, "unknown_protocol"), "nordic-curl");
  ck_assert_str_eq(stance_meta_get(&back->meta, "note"), "kept");
  ck_assert_int_eq(back->meta.n_extra, 2); /* the unknown standard key is not kept */
  stance_recording_free(back);

  /* "unknown" is the name of STANCE_PROTO_UNKNOWN itself, not an unknown protocol. */
  const char *kv2[] = {"protocol", "unknown"};
  n = meta_payload(buf, 1, kv2);
  timg_set_payload(&img, k, buf, n);
  back = expect_accepted(&img);
  ck_assert_int_eq(back->meta.protocol, STANCE_PROTO_UNKNOWN);
  ck_assert_int_eq(back->meta.n_extra, 0);
  stance_recording_free(back);

  static const struct {
    const char *k, *v, *needle;
  } bad[] = {
      {"side", "up", "side \"up\""},
      {"athlete", "bad \xc3\x28 utf8", "not valid UTF-8"},
      {"rate_assumed", "yes", "expected true or false"},
      {"start_unix_ms", "12a", "expected a decimal"},
      {"start_unix_ms", "9223372036854775808", "expected a decimal"},
      {"start_unix_ms", "", "expected a decimal"},
      {"board_serial", "0123456789012345678901234567890123", "expected at most 31"},
      {"x.", "v", "free pair"},
  };
  for (size_t q = 0; q < sizeof bad / sizeof bad[0]; q++) {
    const char *kv[] = {bad[q].k, bad[q].v};
    n = meta_payload(buf, 1, kv);
    timg_set_payload(&img, k, buf, n);
    expect_refused(&img, STANCE_EFORMAT, bad[q].needle);
  }
  /* A NUL byte inside a value would silently cut it: refused. */
  const char *kvz[] = {"source", "abc"};
  n = meta_payload(buf, 1, kvz);
  buf[n - 2] = '\0';
  timg_set_payload(&img, k, buf, n);
  expect_refused(&img, STANCE_EFORMAT, "without NUL");
  /* Duplicate key. */
  const char *kvd[] = {"athlete", "a", "athlete", "b"};
  n = meta_payload(buf, 2, kvd);
  timg_set_payload(&img, k, buf, n);
  expect_refused(&img, STANCE_EFORMAT, "\"athlete\" appears twice");
  /* Entry count larger than the chunk can hold; length running past the chunk; leftovers. */
  n = meta_payload(buf, 1, kv2);
  put32(buf, 1000);
  timg_set_payload(&img, k, buf, n);
  expect_refused(&img, STANCE_EFORMAT, "declares 1000 entries");
  put32(buf, 1);
  put32(buf + 4, 500);
  timg_set_payload(&img, k, buf, n);
  expect_refused(&img, STANCE_EFORMAT, "entry 1 key is 500 bytes");
  put32(buf + 4, 8);
  timg_set_payload(&img, k, buf, n + 1);
  expect_refused(&img, STANCE_EFORMAT, "1 bytes follow its 1 entries");
  /* The extreme int64 survives. */
  const char *kvm[] = {"start_unix_ms", "-9223372036854775808"};
  n = meta_payload(buf, 1, kvm);
  timg_set_payload(&img, k, buf, n);
  back = expect_accepted(&img);
  ck_assert(back->meta.start_unix_ms == INT64_MIN);
  stance_recording_free(back);
  timg_free(&img);
  stance_recording_free(r);
}
END_TEST

START_TEST(test_signature)
{
  StanceRecording *out = NULL;
  StanceError err = {0};
  const uint8_t text[] = "time,left,right\n0,1,2\n";
  ck_assert_int_eq(stance_file_decode(text, sizeof text - 1, &out, &err), STANCE_EFORMAT);
  ck_assert_msg(strstr(err.message, "not a .stance file") != NULL, "%s", err.message);
  ck_assert(!stance_file_is_stance(text, sizeof text - 1));
  /* CR LF turned into LF by a text-mode transfer. */
  uint8_t damaged[196];
  memcpy(damaged, golden_tiny, 4);
  memcpy(damaged + 4, golden_tiny + 5, sizeof damaged - 5);
  ck_assert_int_eq(stance_file_decode(damaged, sizeof damaged - 1, &out, &err), STANCE_EFORMAT);
  ck_assert_msg(strstr(err.message, "text-mode") != NULL, "%s", err.message);
  ck_assert(stance_file_is_stance(golden_tiny, sizeof golden_tiny));
  ck_assert(!stance_file_is_stance(golden_tiny, 7));
  /* Checksum messages name the part and the offset. */
  uint8_t copy[196];
  memcpy(copy, golden_tiny, sizeof copy);
  copy[33] ^= 0x10;
  ck_assert_msg(stance_file_decode(copy, sizeof copy, &out, &err) == STANCE_ECORRUPT, "%s",
                err.message);
  ck_assert_msg(strstr(err.message, "header at offset 0") != NULL, "%s", err.message);
  copy[33] ^= 0x10;
  copy[130] ^= 0x01; /* inside the DATA payload (offsets 124..139) */
  ck_assert_int_eq(stance_file_decode(copy, sizeof copy, &out, &err), STANCE_ECORRUPT);
  ck_assert_msg(strstr(err.message, "chunk 'DATA' at offset 108") != NULL, "%s", err.message);
  ck_assert_ptr_null(out);
}
END_TEST

static Suite *
file_suite(void)
{
  Suite *s = suite_create("file");
  TCase *tc = tcase_create("format");
  tcase_add_test(tc, test_crc32);
  tcase_add_test(tc, test_roundtrip_cells);
  tcase_add_test(tc, test_roundtrip_plates);
  tcase_add_test(tc, test_roundtrip_combined);
  tcase_add_test(tc, test_roundtrip_empty_and_defaults);
  tcase_add_test(tc, test_golden_bytes);
  tcase_add_test(tc, test_signature);
  tcase_add_test(tc, test_versions);
  tcase_add_test(tc, test_unknown_chunks);
  tcase_add_test(tc, test_structure_errors);
  tcase_add_test(tc, test_meta_errors_and_unknown_protocol);
  tcase_add_test(tc, test_every_bitflip_refused);
  tcase_add_test(tc, test_every_truncation_refused);
  suite_add_tcase(s, tc);
  TCase *io = tcase_create("io");
  tcase_add_test(io, test_write_read_file);
  tcase_add_test(io, test_atomic_write);
  tcase_add_test(io, test_write_failures);
  tcase_add_test(io, test_writer_refuses_bad_recordings);
  tcase_add_test(io, test_large_roundtrip);
  suite_add_tcase(s, io);
  return s;
}

int
main(void)
{
  return stance_test_run(file_suite());
}
