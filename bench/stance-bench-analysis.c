/* stance-bench-analysis.c: speed and memory of the full analysis.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * 1. A simulated session of an hour (by default) of 8-channel 1 kHz recordings, protocol after
 *    protocol (CMJs, drop jumps, single-leg CMJs, pogo hops, isometric pulls, split squats, back
 *    squat sets, quiet standing) until the hour is full. stance_analyse() runs on every
 *    recording, best of N runs: samples/s, ms per trial, the hour's total time.
 * 2. Peak memory: a child process reads the whole session from .stance files and analyses it;
 *    its peak resident set (getrusage) is reported against the raw data (counts + status).
 * 3. The real public recordings in tests/data (when --data is given): ms per file, samples/s.
 *
 * Every stage checks its result (trials found, no error), so a fast but wrong analysis fails the
 * benchmark.
 *
 *   stance-bench-analysis [--minutes N] [--runs N] [--data DIR] [--dir TMPDIR]
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stance-analysis.h"
#include "stance-file.h"
#include "stance-import.h"
#include "stance-recording.h"
#include "stance-sim.h"

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  StanceProtocol proto;
  const char *params; /* "key=value,key=value" for stance_sim_params_set */
} SessionItem;

/* One round of the session; repeated (with new seeds) until the duration is reached. */
static const SessionItem round_items[] = {
    {STANCE_PROTO_CMJ, "reps=5,asymmetry=8"},
    {STANCE_PROTO_SL_CMJ, "side=both,reps=6,asymmetry=12"},
    {STANCE_PROTO_DJ, "reps=3,asymmetry=5"},
    {STANCE_PROTO_POGO, "reps=12,asymmetry=6"},
    {STANCE_PROTO_IMTP, "reps=3,asymmetry=10"},
    {STANCE_PROTO_SPLIT_SQUAT, "side=left,reps=8,asymmetry=10"},
    {STANCE_PROTO_BACK_SQUAT, "reps=5,sets=3,load=60,asymmetry=7"},
    {STANCE_PROTO_QUIET_STANDING, "duration=30,asymmetry=6"},
};

static int
apply_params(StanceSimParams *p, const char *spec)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  char *save = NULL;
  for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq)
      return -1;
    *eq = '\0';
    StanceError err = {0};
    if (stance_sim_params_set(p, kv, eq + 1, &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-analysis: %s\n", err.message);
      return -1;
    }
  }
  return 0;
}

static size_t
raw_bytes(const StanceRecording *r)
{
  size_t per = r->layout == STANCE_LAYOUT_CELLS ? STANCE_N_CELLS * sizeof(int32_t)
                                                : r->n_channels * sizeof(double);
  return r->n_samples * (per + sizeof(uint16_t));
}

/* Analyses every recording; returns trials found, or -1 on error. */
static long
analyse_all(StanceRecording **recs, size_t n)
{
  long trials = 0;
  for (size_t i = 0; i < n; i++) {
    StanceAnalysis *a = NULL;
    StanceError err = {0};
    if (stance_analyse(recs[i], "bench", NULL, &a, &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-analysis: recording %zu (%s): %s\n", i,
              stance_protocol_name(recs[i]->meta.protocol), err.message);
      return -1;
    }
    if (a->n_trials == 0) {
      fprintf(stderr, "stance-bench-analysis: recording %zu (%s): no trial found\n", i,
              stance_protocol_name(recs[i]->meta.protocol));
      stance_analysis_free(a);
      return -1;
    }
    trials += (long)a->n_trials;
    stance_analysis_free(a);
  }
  return trials;
}

static void
usage(FILE *out)
{
  fputs("Usage: stance-bench-analysis [--minutes N] [--runs N] [--data DIR] [--dir TMPDIR]\n"
        "  --minutes N  length of the simulated session (default 60)\n"
        "  --runs N     timed runs, the best is reported (default 3)\n"
        "  --data DIR   also analyse the public recordings in DIR (tests/data)\n"
        "  --dir DIR    where the memory stage writes its .stance files (default /tmp)\n",
        out);
}

/* The real recordings: file, import columns (NULL = detect), rate (0 = detect), protocol. */
typedef struct {
  const char *file;
  const char *columns;
  double rate;
  StanceProtocol proto;
} RealFile;

static const RealFile real_files[] = {
    {"shiny-vertical-jump/single_trial.csv", NULL, 1000, STANCE_PROTO_CMJ},
    {"shiny-vertical-jump/long_1.csv", NULL, 1000, STANCE_PROTO_CMJ},
    {"plateforce/subject01_trial1.force.txt", NULL, 1200, STANCE_PROTO_CMJ},
    {"ACL_squat_jump/BFR003_squat_jump.csv", NULL, 0, STANCE_PROTO_SJ},
    {"Vertical-Jumps-Fz-Automated-Analysis/Dual-CMJ-Fz.txt", NULL, 0, STANCE_PROTO_CMJ},
    {"Vertical-Jumps-Fz-Automated-Analysis/Dual-DJ-Fz.txt", NULL, 0, STANCE_PROTO_DJ},
    {"IsometricAnalyzer/Example2.csv", NULL, 0, STANCE_PROTO_IMTP},
};

static int
bench_real(const char *dir, long runs)
{
  printf("\nreal recordings (best of %ld runs each)\n", runs);
  for (size_t k = 0; k < sizeof real_files / sizeof real_files[0]; k++) {
    const RealFile *rf = &real_files[k];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rf->file);
    StanceImportOptions io;
    stance_import_options_default(&io);
    io.columns = rf->columns;
    io.rate_hz = rf->rate;
    StanceImportResult res = {0};
    StanceError err = {0};
    if (stance_import_text(path, &io, &res, &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-analysis: %s: %s\n", path, err.message);
      return -1;
    }
    StanceAnalysisOptions o;
    stance_analysis_options_default(&o);
    o.protocol = rf->proto;
    double best = 1e30;
    size_t samples = 0;
    long trials = 0;
    for (long r = 0; r < runs; r++) {
      samples = 0;
      trials = 0;
      double t0 = now_s();
      for (size_t i = 0; i < res.n_recs; i++) {
        StanceAnalysis *a = NULL;
        if (stance_analyse(res.recs[i], rf->file, &o, &a, &err) != STANCE_OK) {
          fprintf(stderr, "stance-bench-analysis: %s: %s\n", path, err.message);
          stance_import_result_clear(&res);
          return -1;
        }
        samples += res.recs[i]->n_samples;
        trials += (long)a->n_trials;
        stance_analysis_free(a);
      }
      double dt = now_s() - t0;
      if (dt < best)
        best = dt;
    }
    stance_import_result_clear(&res);
    if (trials == 0) {
      fprintf(stderr, "stance-bench-analysis: %s: no trial found\n", path);
      return -1;
    }
    printf("  %-54s %8zu samples %3ld trials %8.2f ms %12.0f samples/s\n", rf->file, samples,
           trials, best * 1e3, (double)samples / best);
  }
  return 0;
}

int
main(int argc, char **argv)
{
  long minutes = 60, runs = 3;
  const char *data = NULL, *tmpdir = "/tmp";
  static const struct option longopts[] = {
      {"minutes", required_argument, NULL, 'm'}, {"runs", required_argument, NULL, 'r'},
      {"data", required_argument, NULL, 'd'},    {"dir", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case 'm':
      minutes = strtol(optarg, &end, 10);
      if (!end || *end || minutes < 1 || minutes > 600) {
        fprintf(stderr, "stance-bench-analysis: --minutes: expected 1-600, got '%s'\n", optarg);
        return 2;
      }
      break;
    case 'r':
      runs = strtol(optarg, &end, 10);
      if (!end || *end || runs < 1 || runs > 100) {
        fprintf(stderr, "stance-bench-analysis: --runs: expected 1-100, got '%s'\n", optarg);
        return 2;
      }
      break;
    case 'd': data = optarg; break;
    case 't': tmpdir = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }

  /* ---- the simulated session ---- */
  double t0 = now_s();
  size_t cap = 64, n = 0, samples = 0, bytes = 0;
  StanceRecording **recs = calloc(cap, sizeof *recs);
  const double want_s = (double)minutes * 60.0;
  double have_s = 0;
  uint64_t seed = 1;
  while (have_s < want_s) {
    for (size_t k = 0; k < sizeof round_items / sizeof round_items[0] && have_s < want_s; k++) {
      StanceSimParams p;
      stance_sim_params_default(&p, round_items[k].proto);
      p.seed = seed++;
      if (apply_params(&p, round_items[k].params) != 0)
        return 1;
      StanceError err = {0};
      StanceRecording *r = NULL;
      if (stance_sim_run(&p, &r, NULL, &err) != STANCE_OK) {
        fprintf(stderr, "stance-bench-analysis: simulate %s: %s\n",
                stance_protocol_name(p.protocol), err.message);
        return 1;
      }
      if (n == cap) {
        cap *= 2;
        StanceRecording **nr = realloc(recs, cap * sizeof *recs);
        if (!nr)
          return 1;
        recs = nr;
      }
      recs[n++] = r;
      samples += r->n_samples;
      bytes += raw_bytes(r);
      have_s += stance_recording_duration(r);
    }
  }
  printf("stance-bench-analysis: simulated session of %.1f min: %zu recordings, %zu samples of 8 "
         "channels at 1 kHz, %.1f MB raw (generated in %.1f s, not timed)\n",
         have_s / 60.0, n, samples, (double)bytes / 1e6, now_s() - t0);

  double best = 1e30;
  long trials = 0;
  for (long r = 0; r < runs; r++) {
    double s0 = now_s();
    trials = analyse_all(recs, n);
    double dt = now_s() - s0;
    if (trials < 0)
      return 1;
    if (dt < best)
      best = dt;
  }
  printf("%-34s best %8.3f s for the session  %12.0f samples/s  %ld trials  %.3f ms/trial\n",
         "stance_analyse (all protocols)", best, (double)samples / best, trials,
         best * 1e3 / (double)trials);
  printf("%-34s %.3f s per hour of data (target < 1 s on one core)\n", "  => per hour",
         best * 3600.0 / have_s);

  /* ---- peak memory in a child that reads the session from disk and analyses it ---- */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/stance-bench-analysis-XXXXXX", tmpdir);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "stance-bench-analysis: cannot create a folder in %s: %s\n", tmpdir,
            strerror(errno));
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%04zu.stance", dir, i);
    StanceError err = {0};
    if (stance_file_write(recs[i], path, &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-analysis: %s\n", err.message);
      return 1;
    }
  }
  for (size_t i = 0; i < n; i++)
    stance_recording_free(recs[i]);
  free(recs);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    StanceRecording **rr = calloc(n, sizeof *rr);
    for (size_t i = 0; i < n; i++) {
      char path[1100];
      snprintf(path, sizeof path, "%s/%04zu.stance", dir, i);
      StanceError err = {0};
      if (stance_file_read(path, &rr[i], &err) != STANCE_OK) {
        fprintf(stderr, "stance-bench-analysis: %s\n", err.message);
        _exit(1);
      }
    }
    _exit(analyse_all(rr, n) < 0 ? 1 : 0);
  }
  int status = 0;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "stance-bench-analysis: the memory stage failed\n");
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%04zu.stance", dir, i);
    unlink(path);
  }
  rmdir(dir);
  double peak = (double)ru.ru_maxrss * 1024.0;
  printf("%-34s %.0f MiB peak RSS (session loaded + analysed) = %.2f x the raw data (target < 3)\n",
         "memory", peak / 1048576.0, peak / (double)bytes);

  if (data && bench_real(data, runs) != 0)
    return 1;
  return 0;
}
