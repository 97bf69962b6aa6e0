/* stance-bench-store.c: storing an hour of recording in the session store and reading it back.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Generates (not timed) N minutes (default 60) of 8-channel 1 kHz raw counts: an athlete doing a
 * slow squat every 4 s on the simulated board's calibration, with noise, so the counts are not a
 * constant a codec could shortcut. Then, per run, in a new database in a temporary folder:
 *   store    a StanceTrialWriter receives the counts in 100 ms blocks (100 samples), as the
 *            recorder hands them over, as fast as it takes them; the writer commits each block as
 *            one chunk (a chunk holds 100 ms of recording), every commit durable (WAL,
 *            synchronous=FULL). Also: the mean, 99th percentile and largest append + commit
 *            time, against the 100 ms a recording allows;
 *   finish   stance_trial_writer_finish() and stance_store_close() (the last checkpoint);
 *   reopen   stance_store_open() of the file (recovery scan included);
 *   read     stance_store_trial_read() of the trial; the recording must equal the generated one
 *            sample for sample, or the benchmark fails;
 *   size     the database on disk (MB), per hour of recording.
 * The best of --runs is reported (CLOCK_MONOTONIC).
 *
 *   stance-bench-store [--minutes M] [--runs N] [--dir DIR] [--keep]
 */
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stance-sim.h"
#include "stance-store.h"

#define RATE_HZ 1000.0
#define BLOCK 100 /* samples per append: 100 ms at 1 kHz */

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
file_mb(const char *path)
{
  double total = 0;
  const char *suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    gchar *p = g_strconcat(path, suffix[i], NULL);
    GStatBuf sb;
    if (g_stat(p, &sb) == 0)
      total += (double)sb.st_size;
    g_free(p);
  }
  return total / 1e6;
}

static void
remove_db(const char *path)
{
  const char *suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    gchar *p = g_strconcat(path, suffix[i], NULL);
    g_remove(p);
    g_free(p);
  }
}

static void
die(const char *what, GError *e)
{
  fprintf(stderr, "stance-bench-store: %s: %s\n", what, e ? e->message : "failed");
  exit(1);
}

/* xorshift64* and a Gaussian from it (Box-Muller). */
static guint64 rng = 0x9e3779b97f4a7c15ULL;

static double
uniform01(void)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 0x2545f4914f6cdd1dULL) >> 11) * 0x1.0p-53;
}

static double
gauss(void)
{
  double u = uniform01(), v = uniform01();
  if (u < 1e-300)
    u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* N samples of an 80 kg athlete squatting every 4 s, 52/48 split, as counts of the simulated
 * board (its calibration inverted), 40 counts of ADC noise. */
static StanceRecording *
generate(size_t n)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, RATE_HZ, false);
  if (!rec || stance_recording_reserve(rec, n) < 0)
    die("generating", NULL);
  stance_sim_calibration(&rec->calib);
  rec->meta.protocol = STANCE_PROTO_BACK_SQUAT;
  g_strlcpy(rec->meta.source, "simulator", sizeof rec->meta.source);
  g_strlcpy(rec->meta.calibration_id, rec->calib.id, sizeof rec->meta.calibration_id);
  const double bw = 80.0 * 9.80665;
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / RATE_HZ;
    double total = bw * (1.0 + 0.3 * sin(2.0 * M_PI * t / 4.0));
    double sway = 0.1 * sin(2.0 * M_PI * t / 7.3);
    int32_t c[STANCE_N_CELLS];
    for (int k = 0; k < STANCE_N_CELLS; k++) {
      double plate = k < 4 ? 0.52 * total : 0.48 * total;
      double share = 0.25 * (1.0 + ((k % 4) < 2 ? sway : -sway));
      double f = plate * share;
      double counts =
          f / rec->calib.gain_n_per_count[k] + rec->calib.offset_counts[k] + 40.0 * gauss();
      c[k] = (int32_t)lrint(counts);
    }
    stance_recording_append_counts(rec, c, 0);
  }
  return rec;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double store_s, finish_s, reopen_s, read_s, mb;
  double commit_mean_ms, commit_p99_ms, commit_max_ms;
} RunFigures;

static RunFigures
run_once(const char *path, const StanceRecording *rec)
{
  RunFigures f = {0};
  GError *e = NULL;
  remove_db(path);
  StanceStore *s = stance_store_open(path, STANCE_STORE_MUST_CREATE, &e);
  if (!s)
    die("opening a new store", e);
  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup("Bench Athlete");
  gint64 ath = stance_store_athlete_add(s, &a, &e);
  stance_athlete_clear(&a);
  if (!ath)
    die("adding the athlete", e);
  StanceSession ses;
  stance_session_init(&ses);
  ses.athlete_id = ath;
  gint64 sid = stance_store_session_add(s, &ses, &e);
  if (!sid)
    die("adding the session", e);

  size_t n_blocks = (rec->n_samples + BLOCK - 1) / BLOCK;
  double *commit = g_new(double, n_blocks);
  double t0 = now_s();
  StanceTrialWriter *w = stance_store_trial_begin(s, sid, rec, &e);
  if (!w)
    die("beginning the trial", e);
  StanceRecording view = *rec;
  for (size_t b = 0; b < n_blocks; b++) {
    size_t from = b * BLOCK;
    view.n_samples = MIN(from + BLOCK, rec->n_samples);
    double c0 = now_s();
    if (!stance_trial_writer_append(w, &view, from, &e))
      die("storing samples", e);
    commit[b] = (now_s() - c0) * 1000.0;
  }
  f.store_s = now_s() - t0;
  if (stance_trial_writer_committed(w) != rec->n_samples)
    die("counting the committed samples", NULL);
  gint64 tid = stance_trial_writer_id(w);
  t0 = now_s();
  if (!stance_trial_writer_finish(w, &e))
    die("finishing the trial", e);
  stance_trial_writer_free(w);
  stance_store_close(s);
  f.finish_s = now_s() - t0;

  double sum = 0;
  for (size_t b = 0; b < n_blocks; b++)
    sum += commit[b];
  f.commit_mean_ms = sum / (double)n_blocks;
  qsort(commit, n_blocks, sizeof *commit, cmp_double);
  f.commit_p99_ms = commit[(size_t)floor(0.99 * (double)(n_blocks - 1))];
  f.commit_max_ms = commit[n_blocks - 1];
  g_free(commit);
  f.mb = file_mb(path);

  t0 = now_s();
  s = stance_store_open(path, STANCE_STORE_DEFAULT, &e);
  if (!s)
    die("reopening the store", e);
  f.reopen_s = now_s() - t0;
  t0 = now_s();
  StanceRecording *back = stance_store_trial_read(s, tid, &e);
  f.read_s = now_s() - t0;
  if (!back)
    die("reading the trial back", e);
  if (back->n_samples != rec->n_samples ||
      memcmp(back->counts, rec->counts, rec->n_samples * STANCE_N_CELLS * sizeof(int32_t)) != 0 ||
      memcmp(back->status, rec->status, rec->n_samples * sizeof(uint16_t)) != 0 ||
      memcmp(&back->calib, &rec->calib, sizeof rec->calib) != 0)
    die("comparing the trial read back with the recording", NULL);
  stance_recording_free(back);
  stance_store_close(s);
  return f;
}

static void
usage(FILE *out)
{
  fprintf(out, "usage: stance-bench-store [--minutes M] [--runs N] [--dir DIR] [--keep]\n");
}

int
main(int argc, char **argv)
{
  double minutes = 60.0;
  int runs = 3;
  const char *dir_opt = NULL;
  gboolean keep = FALSE;
  static const struct option longopts[] = {
      {"minutes", required_argument, NULL, 'm'}, {"runs", required_argument, NULL, 'r'},
      {"dir", required_argument, NULL, 'd'},     {"keep", no_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': minutes = g_ascii_strtod(optarg, NULL); break;
    case 'r': runs = atoi(optarg); break;
    case 'd': dir_opt = optarg; break;
    case 'k': keep = TRUE; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!(minutes > 0 && minutes <= 24 * 60) || runs < 1 || runs > 100) {
    fprintf(stderr, "stance-bench-store: --minutes must be in (0, 1440] and --runs in 1..100\n");
    return 2;
  }
  gchar *dir = NULL;
  if (dir_opt) {
    dir = g_strdup(dir_opt);
  } else {
    GError *e = NULL;
    dir = g_dir_make_tmp("stance-bench-store-XXXXXX", &e);
    if (!dir)
      die("making a temporary folder", e);
  }
  gchar *path = g_build_filename(dir, "bench.db", NULL);
  size_t n = (size_t)llround(minutes * 60.0 * RATE_HZ);
  StanceRecording *rec = generate(n);
  printf("store: %.1f min of 8-channel %.0f Hz counts = %zu samples in %zu blocks of %d, "
         "%d run%s, database %s\n",
         minutes, RATE_HZ, n, (n + BLOCK - 1) / BLOCK, BLOCK, runs, runs == 1 ? "" : "s", path);
  fflush(stdout);

  RunFigures best = {
      .store_s = INFINITY, .finish_s = INFINITY, .reopen_s = INFINITY, .read_s = INFINITY};
  for (int r = 0; r < runs; r++) {
    RunFigures f = run_once(path, rec);
    printf("run %d: store %.2f s (%.0f samples/s; commit mean %.2f ms, p99 %.2f ms, max %.1f ms "
           "per 100 ms chunk), finish+close %.3f s, reopen %.4f s, read %.3f s (%.0f samples/s), "
           "%.1f MB on disk\n",
           r + 1, f.store_s, (double)n / f.store_s, f.commit_mean_ms, f.commit_p99_ms,
           f.commit_max_ms, f.finish_s, f.reopen_s, f.read_s, (double)n / f.read_s, f.mb);
    fflush(stdout);
    best.store_s = MIN(best.store_s, f.store_s);
    best.finish_s = MIN(best.finish_s, f.finish_s);
    best.reopen_s = MIN(best.reopen_s, f.reopen_s);
    best.read_s = MIN(best.read_s, f.read_s);
    best.mb = f.mb;
    best.commit_mean_ms = r == 0 ? f.commit_mean_ms : MIN(best.commit_mean_ms, f.commit_mean_ms);
    best.commit_p99_ms = r == 0 ? f.commit_p99_ms : MIN(best.commit_p99_ms, f.commit_p99_ms);
    best.commit_max_ms = r == 0 ? f.commit_max_ms : MIN(best.commit_max_ms, f.commit_max_ms);
  }
  printf("%-30s best %9.3f s  %12.0f samples/s  (%.1f x real time)\n", "store (100 ms chunks)",
         best.store_s, (double)n / best.store_s, (double)n / RATE_HZ / best.store_s);
  printf("%-30s mean %7.2f ms  p99 %7.2f ms  max %7.1f ms  (a chunk is due every 100 ms)\n",
         "commit per chunk", best.commit_mean_ms, best.commit_p99_ms, best.commit_max_ms);
  printf("%-30s best %9.3f s\n", "finish + close", best.finish_s);
  printf("%-30s best %9.4f s\n", "reopen", best.reopen_s);
  printf("%-30s best %9.3f s  %12.0f samples/s\n", "read trial back", best.read_s,
         (double)n / best.read_s);
  printf("%-30s %9.1f MB  (%.1f MB per hour, %.1f bytes per sample)\n", "on disk", best.mb,
         best.mb * 60.0 / minutes, best.mb * 1e6 / (double)n);

  if (!keep) {
    remove_db(path);
    if (!dir_opt)
      g_rmdir(dir);
  }
  stance_recording_free(rec);
  g_free(path);
  g_free(dir);
  return 0;
}
