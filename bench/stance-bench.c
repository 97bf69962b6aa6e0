/* stance-bench.c: throughput of the core's file paths on a long recording.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Generates a text file of an hour (by default) of 8-channel 1 kHz load-cell forces with decimals,
 * in a temporary folder, then times, best of N runs (CLOCK_MONOTONIC):
 *   - stance_import_text() on it            (MB/s of text, samples/s)
 *   - stance_file_write() of the recording  (MB/s of .stance, samples/s)
 *   - stance_file_read() of that file       (MB/s of .stance, samples/s)
 *   - stance_sim_run() of 10 minutes of quiet standing (samples/s)
 * and the peak resident set size (getrusage). Every stage checks its result (sample counts, the
 * read-back recording equal to the written one), so a fast but wrong path fails the benchmark.
 *
 *   stance-bench [--minutes N] [--runs N] [--dir DIR] [--keep]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stance-file.h"
#include "stance-import.h"
#include "stance-recording.h"
#include "stance-sim.h"

#define RATE_HZ 1000.0

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
peak_rss_mib(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

static off_t
file_size(const char *path)
{
  struct stat sb;
  return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A small deterministic generator (xorshift64*) and a Gaussian from it (Box-Muller). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double
uniform01(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) * 0x1.0p-53;
}

static double
gauss(void)
{
  double u = uniform01(), v = uniform01();
  if (u < 1e-300)
    u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Fixed-point text with 3 decimals, no locale involved. Returns the end of the written text. */
static char *
put_fixed3(char *p, double v)
{
  long long q = llround(v * 1000.0);
  if (q < 0) {
    *p++ = '-';
    q = -q;
  }
  char tmp[24];
  int k = 0;
  long long ip = q / 1000;
  do {
    tmp[k++] = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  while (k)
    *p++ = tmp[--k];
  *p++ = '.';
  int frac = (int)(q % 1000);
  *p++ = (char)('0' + frac / 100);
  *p++ = (char)('0' + frac / 10 % 10);
  *p++ = (char)('0' + frac % 10);
  return p;
}

/* An athlete of 80 kg doing slow squats (one every 4 s, 60 % body weight swings) with a 52/48
 * load split and a swaying centre of pressure, on two plates of four cells each; cell noise
 * 0.3 N RMS. Columns: time_s, l1..l4, r1..r4 in newtons with 3 decimals. */
static int
generate(const char *path, size_t n_samples, size_t *bytes)
{
  FILE *fp = fopen(path, "w");
  if (!fp) {
    fprintf(stderr, "stance-bench: cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  setvbuf(fp, NULL, _IOFBF, 1 << 20);
  fputs("time_s,l1,l2,l3,l4,r1,r2,r3,r4\n", fp);
  const double bw = 80.0 * 9.80665;
  char line[256];
  for (size_t i = 0; i < n_samples; i++) {
    double t = (double)i / RATE_HZ;
    double total = bw * (1.0 + 0.6 * sin(2.0 * M_PI * t / 4.0) * sin(2.0 * M_PI * t / 4.0));
    double plate[2] = {total * 0.52, total * 0.48};
    char *p = line;
    p = put_fixed3(p, t);
    for (int pl = 0; pl < 2; pl++) {
      /* CoP as fractions of the half-spans: x to the right, y forward. */
      double cx = 0.05 * sin(2.0 * M_PI * 0.21 * t + pl);
      double cy = 0.10 * sin(2.0 * M_PI * 0.13 * t + 2 * pl);
      double w[4] = {(1 - cx) * (1 + cy), (1 + cx) * (1 + cy), (1 + cx) * (1 - cy),
                     (1 - cx) * (1 - cy)};
      for (int c = 0; c < 4; c++) {
        *p++ = ',';
        p = put_fixed3(p, plate[pl] * w[c] / 4.0 + 0.3 * gauss());
      }
    }
    *p++ = '\n';
    fwrite(line, 1, (size_t)(p - line), fp);
  }
  int bad = ferror(fp);
  if (fclose(fp) != 0 || bad) {
    fprintf(stderr, "stance-bench: cannot write %s\n", path);
    return -1;
  }
  off_t sz = file_size(path);
  *bytes = sz > 0 ? (size_t)sz : 0;
  return 0;
}

static bool
same_recording(const StanceRecording *a, const StanceRecording *b)
{
  if (a->layout != b->layout || a->n_samples != b->n_samples || a->n_channels != b->n_channels ||
      a->sample_rate_hz != b->sample_rate_hz)
    return false;
  size_t n = a->n_samples, nch = a->n_channels;
  if (memcmp(a->status, b->status, n * sizeof *a->status) != 0)
    return false;
  if (a->counts && memcmp(a->counts, b->counts, n * nch * sizeof *a->counts) != 0)
    return false;
  if (a->force_n && memcmp(a->force_n, b->force_n, n * nch * sizeof *a->force_n) != 0)
    return false;
  return true;
}

static void
report(const char *what, double best_s, double mb, size_t samples)
{
  printf("%-34s best %8.3f s  %9.1f MB/s  %12.0f samples/s  (peak RSS %.0f MiB)\n", what, best_s,
         mb / best_s, (double)samples / best_s, peak_rss_mib());
}

static void
usage(FILE *out)
{
  fputs("Usage: stance-bench [--minutes N] [--runs N] [--dir DIR] [--keep]\n"
        "  --minutes N  length of the generated recording (default 60)\n"
        "  --runs N     timed runs per stage, the best is reported (default 3)\n"
        "  --dir DIR    folder for the temporary files (default $TMPDIR or /tmp)\n"
        "  --keep       keep the generated files\n",
        out);
}

int
main(int argc, char **argv)
{
  long minutes = 60, runs = 3;
  const char *dir = getenv("TMPDIR");
  bool keep = false;
  static const struct option longopts[] = {
      {"minutes", required_argument, NULL, 'm'}, {"runs", required_argument, NULL, 'r'},
      {"dir", required_argument, NULL, 'd'},     {"keep", no_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case 'm':
      minutes = strtol(optarg, &end, 10);
      if (*end || minutes < 1 || minutes > 24 * 60) {
        fprintf(stderr, "stance-bench: --minutes: expected 1-1440, got '%s'\n", optarg);
        return 2;
      }
      break;
    case 'r':
      runs = strtol(optarg, &end, 10);
      if (*end || runs < 1 || runs > 100) {
        fprintf(stderr, "stance-bench: --runs: expected 1-100, got '%s'\n", optarg);
        return 2;
      }
      break;
    case 'd': dir = optarg; break;
    case 'k': keep = true; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!dir || !*dir)
    dir = "/tmp";
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/stance-bench-XXXXXX", dir);
  if (!mkdtemp(tmpl)) {
    fprintf(stderr, "stance-bench: cannot create a folder in %s: %s\n", dir, strerror(errno));
    return 1;
  }
  char txt[4200], stf[4200];
  snprintf(txt, sizeof txt, "%s/long.csv", tmpl);
  snprintf(stf, sizeof stf, "%s/long.stance", tmpl);

  const size_t n = (size_t)minutes * 60 * (size_t)RATE_HZ;
  int status = 0;
  StanceRecording *rec = NULL;
  size_t txt_bytes = 0;
  printf("stance-bench: %ld min of 8-channel %.0f Hz data (%zu samples), best of %ld runs\n",
         minutes, RATE_HZ, n, runs);
  double t0 = now_s();
  if (generate(txt, n, &txt_bytes) < 0) {
    status = 1;
    goto out;
  }
  printf("%-34s %8.3f s  %.1f MB of text in %s\n", "generate text (not timed)", now_s() - t0,
         (double)txt_bytes / 1e6, tmpl);

  /* ---- import ---- */
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  opt.columns = "time=time_s,l1=l1,l2=l2,l3=l3,l4=l4,r1=r1,r2=r2,r3=r3,r4=r4";
  double best = INFINITY;
  for (long k = 0; k < runs; k++) {
    StanceImportResult res;
    memset(&res, 0, sizeof res);
    StanceError err;
    stance_error_clear(&err);
    double a = now_s();
    int r = stance_import_text(txt, &opt, &res, &err);
    double dt = now_s() - a;
    if (r < 0 || res.n_recs != 1 || res.recs[0]->n_samples != n) {
      fprintf(stderr,
              "stance-bench: import failed: %s (got %zu recordings, %zu samples; expected "
              "1 recording of %zu samples)\n",
              r < 0 ? err.message : "wrong result", res.n_recs,
              res.n_recs ? res.recs[0]->n_samples : 0, n);
      stance_import_result_clear(&res);
      status = 1;
      goto out;
    }
    best = fmin(best, dt);
    if (k == runs - 1) {
      /* Keep the last run's recording for the file stages. */
      rec = res.recs[0];
      res.recs[0] = NULL;
      res.n_recs = 0;
      printf("%-34s %s layout, %zu channels, %.0f Hz\n", "imported recording",
             stance_layout_name(rec->layout), rec->n_channels, rec->sample_rate_hz);
    }
    stance_import_result_clear(&res);
  }
  report("stance_import_text", best, (double)txt_bytes / 1e6, n);

  /* ---- write ---- */
  best = INFINITY;
  for (long k = 0; k < runs; k++) {
    StanceError err;
    stance_error_clear(&err);
    double a = now_s();
    int r = stance_file_write(rec, stf, &err);
    double dt = now_s() - a;
    if (r < 0) {
      fprintf(stderr, "stance-bench: write failed: %s\n", err.message);
      status = 1;
      goto out;
    }
    best = fmin(best, dt);
  }
  off_t st_bytes = file_size(stf);
  report("stance_file_write (with fsync)", best, (double)st_bytes / 1e6, n);

  /* ---- read ---- */
  best = INFINITY;
  for (long k = 0; k < runs; k++) {
    StanceError err;
    stance_error_clear(&err);
    StanceRecording *back = NULL;
    double a = now_s();
    int r = stance_file_read(stf, &back, &err);
    double dt = now_s() - a;
    if (r < 0 || !same_recording(rec, back)) {
      fprintf(stderr, "stance-bench: read failed: %s\n",
              r < 0 ? err.message : "the recording read back differs from the one written");
      stance_recording_free(back);
      status = 1;
      goto out;
    }
    stance_recording_free(back);
    best = fmin(best, dt);
  }
  report("stance_file_read", best, (double)st_bytes / 1e6, n);
  printf("%-34s %.1f MB (.stance) vs %.1f MB (text)\n", "file sizes", (double)st_bytes / 1e6,
         (double)txt_bytes / 1e6);
  stance_recording_free(rec);
  rec = NULL;

  /* ---- simulator ---- */
  {
    StanceSimParams p;
    stance_sim_params_default(&p, STANCE_PROTO_QUIET_STANDING);
    p.duration_s = 600.0;
    best = INFINITY;
    size_t sim_n = 0;
    for (long k = 0; k < runs; k++) {
      StanceError err;
      stance_error_clear(&err);
      StanceRecording *srec = NULL;
      StanceSimTruth *truth = NULL;
      double a = now_s();
      int r = stance_sim_run(&p, &srec, &truth, &err);
      double dt = now_s() - a;
      if (r < 0) {
        fprintf(stderr, "stance-bench: simulation failed: %s\n", err.message);
        status = 1;
        goto out;
      }
      sim_n = srec->n_samples;
      stance_recording_free(srec);
      stance_sim_truth_free(truth);
      best = fmin(best, dt);
    }
    if (sim_n < (size_t)(600.0 * p.sample_rate_hz)) {
      fprintf(stderr, "stance-bench: simulation gave %zu samples, expected at least %.0f\n", sim_n,
              600.0 * p.sample_rate_hz);
      status = 1;
      goto out;
    }
    printf("%-34s best %8.3f s  %12.0f samples/s  (peak RSS %.0f MiB)\n",
           "stance_sim_run (10 min standing)", best, (double)sim_n / best, peak_rss_mib());
  }
  printf("%-34s %.0f MiB\n", "peak RSS", peak_rss_mib());

out:
  stance_recording_free(rec);
  if (!keep) {
    unlink(txt);
    unlink(stf);
    rmdir(tmpl);
  } else {
    printf("kept %s\n", tmpl);
  }
  return status;
}
