/* stance-bench-report.c: time to build the PDF asymmetry report of a session.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A simulated session (not timed) of N trials, four protocols in turn: bilateral CMJs (3 jumps),
 * single-leg CMJs alternating left and right (3 jumps), isometric mid-thigh pulls (3 holds) and
 * split squats alternating the leading leg (6 reps), each with its own asymmetry and seed, every
 * trial analysed with stance_analyse(); plus a trend of five earlier sessions for each protocol.
 * Then stance_report_write_pdf() builds the report R times (best and median reported, seconds
 * per report), and the PDF's size and page count are printed. Each run checks that the file was
 * written and is a PDF, so a fast failure cannot pass as a fast report.
 *
 *   stance-bench-report [--trials N] [--runs N] [--dir DIR] [--keep]
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stance-analysis.h"
#include "stance-report.h"
#include "stance-sim.h"

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  StanceProtocol proto;
  const char *side; /* NULL: bilateral; "alt": left and right in turn */
  int reps;
  double asym_pct;
} Item;

static const Item items[] = {
    {STANCE_PROTO_CMJ, NULL, 3, 6.0},
    {STANCE_PROTO_SL_CMJ, "alt", 3, 12.0},
    {STANCE_PROTO_IMTP, NULL, 3, 14.0},
    {STANCE_PROTO_SPLIT_SQUAT, "alt", 6, 18.0},
};
#define N_ITEMS (sizeof items / sizeof items[0])

static int
usage(FILE *out, int code)
{
  fprintf(out, "Usage: stance-bench-report [--trials N] [--runs N] [--dir DIR] [--keep]\n"
               "  --trials N  trials in the session, four protocols in turn (default 20)\n"
               "  --runs N    reports built; the best and the median are printed (default 5)\n"
               "  --dir DIR   folder for the PDF (default $TMPDIR or /tmp)\n"
               "  --keep      keep the PDF\n");
  return code;
}

int
main(int argc, char **argv)
{
  int n_trials = 20, runs = 5;
  const char *dir = getenv("TMPDIR");
  bool keep = false;
  if (!dir || !*dir)
    dir = "/tmp";
  static const struct option longopts[] = {
      {"trials", required_argument, NULL, 't'}, {"runs", required_argument, NULL, 'r'},
      {"dir", required_argument, NULL, 'd'},    {"keep", no_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 't': n_trials = atoi(optarg); break;
    case 'r': runs = atoi(optarg); break;
    case 'd': dir = optarg; break;
    case 'k': keep = true; break;
    case 'h': return usage(stdout, 0);
    default: return usage(stderr, 2);
    }
  }
  if (n_trials < 1 || n_trials > 1000 || runs < 1 || runs > 1000)
    return usage(stderr, 2);

  /* The session (not timed). */
  const int64_t session_ms = INT64_C(1773480000000);
  StanceRecording **recs = calloc((size_t)n_trials, sizeof *recs);
  StanceAnalysis **ans = calloc((size_t)n_trials, sizeof *ans);
  StanceReportTrial *trials = calloc((size_t)n_trials, sizeof *trials);
  if (!recs || !ans || !trials) {
    fprintf(stderr, "stance-bench-report: out of memory\n");
    return 1;
  }
  double t0 = now_s();
  size_t reps = 0;
  for (int i = 0; i < n_trials; i++) {
    const Item *it = &items[(size_t)i % N_ITEMS];
    StanceSimParams p;
    stance_sim_params_default(&p, it->proto);
    p.seed = 1000 + (uint64_t)i;
    p.reps = it->reps;
    char v[32];
    StanceError err = {0};
    snprintf(v, sizeof v, "%g", it->asym_pct);
    if (stance_sim_params_set(&p, "asymmetry", v, &err) != STANCE_OK ||
        (it->side && stance_sim_params_set(&p, "side", ((size_t)i / N_ITEMS) % 2 ? "right" : "left",
                                           &err) != STANCE_OK) ||
        stance_sim_run(&p, &recs[i], NULL, &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-report: simulating trial %d: %s\n", i + 1, err.message);
      return 1;
    }
    recs[i]->meta.start_unix_ms = session_ms + (int64_t)i * 120000;
    if (stance_analyse(recs[i], "simulator", NULL, &ans[i], &err) != STANCE_OK) {
      fprintf(stderr, "stance-bench-report: analysing trial %d: %s\n", i + 1, err.message);
      return 1;
    }
    if (ans[i]->n_trials == 0) {
      fprintf(stderr, "stance-bench-report: trial %d: the analysis found no repetitions\n", i + 1);
      return 1;
    }
    reps += ans[i]->n_trials;
    trials[i] = (StanceReportTrial){i + 1, recs[i], ans[i], true, NULL, false};
  }
  /* One rejected trial, as in a real session. */
  if (n_trials > 4) {
    trials[4].accepted = false;
    trials[4].reject_reason = "athlete lost balance";
  }
  /* Five earlier sessions per protocol, three weeks apart. */
  StanceReportTrendPoint pts[N_ITEMS][6];
  StanceReportTrend trends[N_ITEMS];
  memset(trends, 0, sizeof trends);
  for (size_t k = 0; k < N_ITEMS; k++) {
    for (int j = 0; j < 6; j++)
      pts[k][j] = (StanceReportTrendPoint){session_ms - (int64_t)(5 - j) * 21 * 86400000,
                                           items[k].asym_pct * (1.6 - 0.12 * j),
                                           STANCE_SIDE_LEFT,
                                           0.0,
                                           0.0,
                                           false,
                                           false,
                                           j == 5};
    trends[k].protocol = items[k].proto;
    snprintf(trends[k].metric, sizeof trends[k].metric, "%s",
             stance_report_headline_metric(items[k].proto));
    snprintf(trends[k].formula, sizeof trends[k].formula, "pct_diff");
    trends[k].points = pts[k];
    trends[k].n_points = 6;
    trends[k].has_mdc = true;
    trends[k].mdc95 = 3.5;
  }
  StanceReport r;
  memset(&r, 0, sizeof r);
  r.athlete_name = "Benchmark Athlete";
  r.birth_date = "1995-05-05";
  r.sex = "male";
  r.body_mass_kg = 75.0;
  r.dominant = STANCE_SIDE_RIGHT;
  r.involved = STANCE_SIDE_BOTH;
  r.session_unix_ms = session_ms;
  r.place = "Bench lab";
  r.board_serial = "SIM-0001";
  r.calibration_id = "SIM-0001-2026-03-01-1";
  r.trials = trials;
  r.n_trials = (size_t)n_trials;
  r.trends = trends;
  r.n_trends = N_ITEMS;
  r.notes = "Benchmark session: four protocols in turn, one trial rejected.";
  r.green_below_pct = 10.0;
  r.red_above_pct = 15.0;
  r.generated_unix_ms = session_ms + 3600000;
  r.generator = "Stance bench";
  printf("session: %d trials (%zu repetitions), simulated and analysed in %.2f s\n", n_trials, reps,
         now_s() - t0);

  char path[1024];
  snprintf(path, sizeof path, "%s/stance-bench-report-%ld.pdf", dir, (long)getpid());
  double *dt = calloc((size_t)runs, sizeof *dt);
  if (!dt)
    return 1;
  long size = 0;
  for (int i = 0; i < runs; i++) {
    unlink(path);
    StanceError err = {0};
    double s = now_s();
    int rc = stance_report_write_pdf(&r, path, &err);
    dt[i] = now_s() - s;
    if (rc != STANCE_OK) {
      fprintf(stderr, "stance-bench-report: %s\n", err.message);
      return 1;
    }
    struct stat st;
    FILE *f = fopen(path, "rb");
    char magic[5] = {0};
    if (stat(path, &st) != 0 || !f || fread(magic, 1, 4, f) != 4 || strcmp(magic, "%PDF") != 0) {
      fprintf(stderr, "stance-bench-report: %s was not written as a PDF\n", path);
      return 1;
    }
    fclose(f);
    size = (long)st.st_size;
  }
  /* Pages: count the page objects' "/Type /Page" entries (not "/Pages"). */
  int pages = 0;
  FILE *f = fopen(path, "rb");
  if (f) {
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
      buf[size] = '\0';
      for (const char *p = buf; (p = memmem(p, (size_t)(buf + size - p), "/Type /Page", 11));
           p += 11)
        if (p[11] != 's')
          pages++;
    }
    free(buf);
    fclose(f);
  }
  qsort(dt, (size_t)runs, sizeof *dt, cmp_double);
  printf("report: %d runs, best %.3f s, median %.3f s per report\n", runs, dt[0],
         dt[(size_t)runs / 2]);
  printf("pdf: %.1f kB, %d pages (%s)\n", (double)size / 1024.0, pages, keep ? path : "removed");
  if (!keep)
    unlink(path);
  free(dt);
  for (int i = 0; i < n_trials; i++) {
    stance_analysis_free(ans[i]);
    stance_recording_free(recs[i]);
  }
  free(recs);
  free(ans);
  free(trials);
  return 0;
}
