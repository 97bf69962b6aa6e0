/* Tests of the device sources and the recorder: the simulated plates streamed through the source
 * interface and recorded equal the simulator's own recording sample by sample (across the seed + 1
 * repetition boundary, at every rate); realtime pacing; replay of .stance files with gaps and of
 * imported text files; errors naming what was wrong; counters; stop keeping samples readable; the
 * "event" signal arriving on the owner context.
 *
 * Every test runs its own GMainContext (pushed as thread default before the source is made, so it
 * is the source's owner context) and iterates it itself.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stance-file.h"
#include "stance-import.h"
#include "stance-recorder.h"
#include "stance-source-replay.h"
#include "stance-source-sim.h"
#include "stance-test.h"

/* For checks inside loops: Check's ck_assert* records a mark point (a write to its pipe) on every
 * success, a system call per check, which valgrind makes very slow. */
#define require(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

static GMainContext *ctx;
static GThread *main_thread;

static void
setup(void)
{
  ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  main_thread = g_thread_self();
}

static void
teardown(void)
{
  /* Run what is still queued (events of stopped streams are dropped there), then let go. */
  while (g_main_context_iteration(ctx, FALSE))
    ;
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  ctx = NULL;
}

#define ck_assert_gerror(err, code_)                                                               \
  do {                                                                                             \
    ck_assert_msg((err) != NULL, "expected an error");                                             \
    ck_assert_msg(g_error_matches((err), STANCE_DAQ_ERROR, (code_)),                               \
                  "expected STANCE_DAQ_ERROR code %d, got %s %d: %s", (int)(code_),                \
                  g_quark_to_string((err)->domain), (err)->code, (err)->message);                  \
  } while (0)

#define ck_assert_no_gerror(err)                                                                   \
  ck_assert_msg((err) == NULL, "unexpected error: %s", (err) ? (err)->message : "")

/* Iterates the test's context without blocking, then yields the CPU briefly: the producers are
 * other threads, so there is nothing to wait on here but them. */
static void
spin_once(void)
{
  if (!g_main_context_iteration(ctx, FALSE))
    g_usleep(500);
}

/* ---- Events ---- */

typedef struct {
  int n[4];
  int n_total;
  gboolean wrong_thread; /* an emission happened off the test's thread or outside its context */
  int last_kind;
  char last_message[256];
} EventLog;

static void
on_event(StanceSource *src, int kind, const GError *error, gpointer data)
{
  EventLog *log = data;
  if (g_thread_self() != main_thread || !g_main_context_is_owner(ctx))
    log->wrong_thread = TRUE;
  if (kind >= 0 && kind < 4)
    log->n[kind]++;
  log->n_total++;
  log->last_kind = kind;
  g_strlcpy(log->last_message, error ? error->message : "", sizeof log->last_message);
  (void)src;
}

static void
on_state(GObject *obj, GParamSpec *pspec, gpointer data)
{
  (*(int *)data)++;
  (void)obj;
  (void)pspec;
}

/* ---- Helpers ---- */

/* Records exactly n samples from an open, started source through a recorder (the consumer loop of
 * the CLI and the app, run here by hand). Fails the test after 120 s. */
static StanceRecording *
record_n(StanceSource *src, guint64 n, StanceProtocol proto, StanceSide side)
{
  GError *e = NULL;
  StanceRecorder *r = stance_recorder_new(src, proto, side, n, &e);
  ck_assert_no_gerror(e);
  ck_assert_ptr_nonnull(r);
  gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
  while (!stance_recorder_is_full(r)) {
    require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
    require(g_get_monotonic_time() < deadline,
            "only %zu of %" G_GUINT64_FORMAT " samples after 120 s",
            stance_recorder_peek(r)->n_samples, n);
    if (!stance_recorder_is_full(r))
      spin_once();
  }
  StanceRecording *rec = stance_recorder_steal(r);
  ck_assert_ptr_nonnull(rec);
  stance_recorder_free(r);
  return rec;
}

/* The simulated plates doing p, not opened yet. */
static StanceSource *
sim_source_new(const StanceSimParams *p, gboolean realtime)
{
  GError *e = NULL;
  StanceSource *src = stance_sim_source_new(p, realtime, &e);
  ck_assert_no_gerror(e);
  return src;
}

/* The simulated plates doing p, opened. */
static StanceSource *
sim_source(const StanceSimParams *p, gboolean realtime)
{
  GError *e = NULL;
  StanceSource *src = sim_source_new(p, realtime);
  ck_assert(stance_source_open(src, &e));
  ck_assert_no_gerror(e);
  return src;
}

/* Samples [from, from + n) of got equal samples [0, n) of want: counts and status. */
static void
assert_same_samples(const StanceRecording *got, size_t from, const StanceRecording *want, size_t n,
                    const char *what)
{
  ck_assert_uint_ge(got->n_samples, from + n);
  ck_assert_uint_ge(want->n_samples, n);
  for (size_t i = 0; i < n; i++) {
    require(got->status[from + i] == want->status[i],
            "%s: sample %zu: status 0x%04x, expected 0x%04x", what, from + i, got->status[from + i],
            want->status[i]);
    const int32_t *a = got->counts + (from + i) * STANCE_N_CELLS;
    const int32_t *b = want->counts + i * STANCE_N_CELLS;
    for (int c = 0; c < STANCE_N_CELLS; c++)
      require(a[c] == b[c], "%s: sample %zu channel %d: %d counts, expected %d", what, from + i, c,
              a[c], b[c]);
  }
}

/* ---- The simulated plates ---- */

/* Through the source, the ring and the recorder, the counts and status are the simulator's own,
 * bit for bit: nothing is lost, reordered or altered on the way, and after the protocol the
 * stream goes on with the next repetition (seed + 1) at the next index. */
static void
check_sim_equals_run(StanceProtocol proto, double rate, guint64 seed, const char *duration)
{
  StanceSimParams p = stance_test_sim_params(proto, seed);
  p.sample_rate_hz = rate;
  if (duration)
    stance_test_sim_set(&p, "duration", duration);
  StanceRecording *want1 = NULL, *want2 = NULL;
  stance_test_sim_run(&p, &want1, NULL);
  StanceSimParams p2 = p;
  p2.seed = seed + 1;
  stance_test_sim_run(&p2, &want2, NULL);

  StanceSource *src = sim_source(&p, FALSE);
  GError *e = NULL;
  ck_assert(stance_source_start(src, &e));
  /* All of the first repetition and 40 % of the second. */
  size_t n2 = want2->n_samples * 2 / 5;
  StanceRecording *got = record_n(src, want1->n_samples + n2, proto, STANCE_SIDE_BOTH);
  stance_source_stop(src);

  char what[96];
  g_snprintf(what, sizeof what, "%s at %g Hz, seed %" G_GUINT64_FORMAT, stance_protocol_name(proto),
             rate, seed);
  ck_assert_uint_eq(got->n_samples, want1->n_samples + n2);
  ck_assert_int_eq(got->layout, STANCE_LAYOUT_CELLS);
  ck_assert(got->sample_rate_hz == rate);
  assert_same_samples(got, 0, want1, want1->n_samples, what);
  g_strlcat(what, " + 1", sizeof what);
  assert_same_samples(got, want1->n_samples, want2, n2, what);
  ck_assert_uint_eq(stance_recording_count_gaps(got), 0);

  /* The metadata comes from the source: the simulator's board calibration and its id. */
  StanceCalibration cal;
  stance_sim_calibration(&cal);
  ck_assert(got->has_calibration);
  ck_assert_str_eq(got->calib.id, cal.id);
  ck_assert_str_eq(got->meta.calibration_id, cal.id);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    ck_assert(got->calib.gain_n_per_count[c] == cal.gain_n_per_count[c]);
    ck_assert(got->calib.offset_counts[c] == cal.offset_counts[c]);
  }
  ck_assert_str_eq(got->meta.source, "simulator");
  ck_assert_int_eq(got->meta.protocol, proto);
  ck_assert_int_gt(got->meta.start_unix_ms, 1700000000000);

  /* Not paced by the clock, the source never pushes more than the ring takes: nothing lost. */
  StanceSourceStats st;
  stance_source_get_stats(src, &st);
  ck_assert_uint_eq(st.gap_samples, 0);
  ck_assert_uint_eq(st.ring_overflows, 0);
  ck_assert_uint_ge(st.samples, got->n_samples);

  stance_recording_free(got);
  stance_recording_free(want1);
  stance_recording_free(want2);
  g_object_unref(src);
}

START_TEST(test_sim_equals_run_every_rate)
{
  /* weigh-in with a 1 s hold: a few seconds a repetition, so the boundary comes quickly. Under
   * valgrind, where the simulator itself runs 50 times slower, the lowest rate only: the path
   * through the source, ring and recorder is the same at every rate. */
  static const double rates[] = {500, 1000, 2000, 4000};
  for (size_t k = 0; k < (stance_test_under_valgrind() ? 1 : 4); k++)
    check_sim_equals_run(STANCE_PROTO_WEIGH_IN, rates[k], 40 + k, "1");
}
END_TEST

START_TEST(test_sim_equals_run_cmj)
{
  /* A jump protocol: flights (plates unloaded), landings, three jumps, then seed + 1. Not under
   * valgrind: two 20 s CMJs take a minute there, and test_sim_equals_run_every_rate covers the
   * same path. */
  if (stance_test_under_valgrind())
    return;
  check_sim_equals_run(STANCE_PROTO_CMJ, 1000, 7, NULL);
}
END_TEST

START_TEST(test_sim_realtime)
{
  /* Paced by the monotonic clock. Two bounds:
   * - never ahead of the clock: the samples delivered by any moment are at most rate x the time
   *   since start() was called (plus 50 ms of release granularity). This holds however slow or
   *   loaded the machine is; a source that is not paced delivers a whole repetition (6000
   *   samples) at once and fails it;
   * - not held back: over one second after the first sample, at least 70 % of rate x elapsed.
   *   Under valgrind, which runs one thread at a time, the pacing thread gets a fraction of the
   *   CPU and catches up in bursts, so there this bound only asks that samples keep flowing
   *   (10 %). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_QUIET_STANDING, 3);
  p.sample_rate_hz = 2000;
  stance_test_sim_set(&p, "duration", "3");
  StanceSource *src = sim_source(&p, TRUE);
  GError *e = NULL;
  StanceRecorder *r =
      stance_recorder_new(src, STANCE_PROTO_QUIET_STANDING, STANCE_SIDE_BOTH, 0, &e);
  ck_assert_no_gerror(e);
  gint64 t0 = g_get_monotonic_time();
  ck_assert(stance_source_start(src, &e));
  /* The clock starts with the first sample (after the first repetition is simulated). */
  gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  while (stance_recorder_peek(r)->n_samples == 0) {
    require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
    require(g_get_monotonic_time() < deadline, "no sample within 60 s");
    spin_once();
  }
  gint64 t1 = g_get_monotonic_time();
  size_t n1 = stance_recorder_peek(r)->n_samples;
  while (g_get_monotonic_time() - t1 < G_USEC_PER_SEC) {
    require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
    g_usleep(10000); /* a consumer at 100 Hz, like a display */
  }
  require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
  gint64 t2 = g_get_monotonic_time();
  size_t total = stance_recorder_peek(r)->n_samples;
  double since_start = (double)(t2 - t0) / 1e6;
  ck_assert_msg((double)total <= 2000.0 * (since_start + 0.05),
                "%zu samples %.3f s after start() at 2000 Hz: ahead of the clock", total,
                since_start);
  double elapsed = (double)(t2 - t1) / 1e6;
  size_t n = total - n1;
  double expect = 2000.0 * elapsed;
  double low = stance_test_under_valgrind() ? 0.1 : 0.7;
  ck_assert_msg((double)n >= low * expect,
                "%zu samples in %.3f s at 2000 Hz (expected at least %.0f %% of %.0f)", n, elapsed,
                100.0 * low, expect);
  /* The measured rate over the last second: not above the nominal rate by more than a burst of
   * catching up (30 %), not below the same lower bound. */
  StanceRecorderStatus s;
  stance_recorder_get_status(r, &s);
  ck_assert_msg(s.measured_hz >= low * 2000.0 &&
                    (stance_test_under_valgrind() || s.measured_hz <= 2600.0),
                "measured %.1f Hz", s.measured_hz);
  ck_assert(s.rate_hz == 2000.0);
  /* Standing still on the plates: the total is body weight, 75 kg x g, within the
   * simulated noise and sway (2 %), and the plates share it (each 30-70 %). */
  ck_assert_near(s.total_n, 75.0 * STANCE_GRAVITY, 0.02 * 75.0 * STANCE_GRAVITY);
  ck_assert_near(s.force_n[0] + s.force_n[1], s.total_n, 1e-6);
  ck_assert(s.force_n[0] > 0.3 * s.total_n && s.force_n[1] > 0.3 * s.total_n);
  ck_assert_uint_eq(s.gap_samples, 0);
  stance_source_stop(src);
  stance_recorder_free(r);
  g_object_unref(src);
}
END_TEST

START_TEST(test_sim_stop_keeps_samples)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 5);
  StanceSource *src = sim_source(&p, FALSE);
  int notifies = 0;
  g_signal_connect(src, "notify::state", G_CALLBACK(on_state), &notifies);
  GError *e = NULL;
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_OPEN);
  ck_assert(stance_source_start(src, &e));
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_STREAMING);
  /* Nobody reads: the source fills the ring and then waits (it must not lose samples). */
  StanceSourceStats st;
  gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  do {
    spin_once();
    stance_source_get_stats(src, &st);
    require(g_get_monotonic_time() < deadline, "timed out");
  } while (st.samples < 3000);
  stance_source_stop(src);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_OPEN);
  stance_source_get_stats(src, &st);
  /* The ring holds at least 4 s at the highest rate (4000 Hz). */
  ck_assert_uint_ge(st.samples, 3000);
  ck_assert_uint_le(st.samples, 65536);
  ck_assert_uint_eq(st.ring_overflows, 0);
  /* Everything pushed before stop is still there, index 0, 1, 2, ... */
  StanceSample *buf = g_new(StanceSample, st.samples + 16);
  size_t got = stance_source_read(src, buf, st.samples + 16);
  ck_assert_uint_eq(got, st.samples);
  for (size_t i = 0; i < got; i++)
    require(buf[i].index == i, "sample %zu has index %llu", i, (unsigned long long)buf[i].index);
  ck_assert_uint_eq(stance_source_read(src, buf, 16), 0);
  /* A new stream starts again at index 0 with fresh counters. */
  ck_assert(stance_source_start(src, &e));
  do {
    spin_once();
    got = stance_source_read(src, buf, 1);
  } while (got == 0);
  ck_assert_uint_eq(buf[0].index, 0);
  stance_source_stop(src);
  stance_source_get_stats(src, &st);
  ck_assert_uint_ge(st.samples, 1);
  stance_source_close(src);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_CLOSED);
  ck_assert_ptr_null(stance_source_get_info(src));
  /* open -> streaming -> open -> streaming -> open -> closed */
  ck_assert_int_eq(notifies, 5);
  g_free(buf);
  g_object_unref(src);
}
END_TEST

START_TEST(test_sim_info_and_rates)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 9);
  GError *e = NULL;
  StanceSource *src = sim_source_new(&p, FALSE);
  ck_assert_ptr_null(stance_source_get_info(src));
  ck_assert(stance_source_open(src, &e));
  const StanceSourceInfo *info = stance_source_get_info(src);
  ck_assert_ptr_nonnull(info);
  ck_assert_str_eq(info->kind, "simulator");
  ck_assert_int_eq(info->layout, STANCE_LAYOUT_CELLS);
  ck_assert_int_eq(info->n_rates, 4);
  ck_assert(info->rates_hz[0] == 500 && info->rates_hz[3] == 4000);
  ck_assert(info->rate_hz == 1000);
  ck_assert(info->has_calibration);
  ck_assert_str_eq(info->calib.id, "SIM-0001-2026-01-01-1");
  ck_assert(strstr(info->description, "cmj") != NULL);
  ck_assert(stance_source_set_rate(src, 4000, &e));
  ck_assert_no_gerror(e);
  ck_assert(stance_source_get_info(src)->rate_hz == 4000);
  /* A rate the board does not have: the message lists the ones it has. */
  ck_assert(!stance_source_set_rate(src, 3000, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_RATE);
  ck_assert_msg(strstr(e->message, "3000 Hz") && strstr(e->message, "500, 1000, 2000 or 4000 Hz"),
                "%s", e->message);
  g_clear_error(&e);
  ck_assert(stance_source_get_info(src)->rate_hz == 4000);
  g_object_unref(src); /* disposing an open source closes it */
}
END_TEST

/* ---- Errors ---- */

START_TEST(test_state_errors)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 1);
  GError *e = NULL;
  StanceSource *src = sim_source_new(&p, FALSE);

  /* start() before open(): names the current state and what was expected. */
  ck_assert(!stance_source_start(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  ck_assert_msg(strstr(e->message, "start()") && strstr(e->message, "closed") &&
                    strstr(e->message, "open()"),
                "%s", e->message);
  g_clear_error(&e);
  ck_assert(!stance_source_set_rate(src, 1000, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  g_clear_error(&e);
  /* A recorder needs an open source. */
  ck_assert_ptr_null(stance_recorder_new(src, STANCE_PROTO_UNKNOWN, STANCE_SIDE_BOTH, 0, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  g_clear_error(&e);

  ck_assert(stance_source_open(src, &e));
  /* open() twice. */
  ck_assert(!stance_source_open(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  ck_assert_msg(strstr(e->message, "open()") && strstr(e->message, "the source is open"), "%s",
                e->message);
  g_clear_error(&e);

  ck_assert(stance_source_start(src, &e));
  /* Streaming: no second start, no rate change. */
  ck_assert(!stance_source_start(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  ck_assert_msg(strstr(e->message, "streaming"), "%s", e->message);
  g_clear_error(&e);
  ck_assert(!stance_source_set_rate(src, 2000, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_STATE);
  ck_assert_msg(strstr(e->message, "streaming") && strstr(e->message, "stop"), "%s", e->message);
  g_clear_error(&e);
  /* stop and close are idempotent. */
  stance_source_stop(src);
  stance_source_stop(src);
  stance_source_close(src);
  stance_source_close(src);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_CLOSED);
  /* Disposing a streaming source stops it (no thread left behind: the test process ends
   * cleanly under valgrind and ASan). */
  ck_assert(stance_source_open(src, &e));
  ck_assert(stance_source_start(src, &e));
  g_object_unref(src);
}
END_TEST

START_TEST(test_sim_parameter_errors)
{
  GError *e = NULL;
  /* A rate the simulated board does not support: the message lists the supported ones. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  p.sample_rate_hz = 1234;
  ck_assert_ptr_null(stance_sim_source_new(&p, TRUE, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_RATE);
  ck_assert_msg(strstr(e->message, "1234 Hz") && strstr(e->message, "500, 1000, 2000 or 4000 Hz"),
                "%s", e->message);
  g_clear_error(&e);
  /* Parameters the simulator refuses: its message, which names the parameter and its range. */
  p = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  p.body_mass_kg = 5;
  ck_assert_ptr_null(stance_sim_source_new(&p, TRUE, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_INVALID);
  ck_assert_msg(strstr(e->message, "mass") != NULL, "%s", e->message);
  g_clear_error(&e);
  /* Saturation is set per repetition through the calibration: refused for a stream. */
  p = stance_test_sim_params(STANCE_PROTO_CMJ, 1);
  p.saturate = true;
  ck_assert_ptr_null(stance_sim_source_new(&p, TRUE, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_INVALID);
  ck_assert_msg(strstr(e->message, "saturat") != NULL, "%s", e->message);
  g_clear_error(&e);
}
END_TEST

static char *
write_tmp(const char *dir, const char *name, const char *content, size_t len)
{
  char *path = g_build_filename(dir, name, NULL);
  GError *e = NULL;
  ck_assert_msg(g_file_set_contents(path, content, (gssize)len, &e), "%s", e ? e->message : "");
  return path;
}

START_TEST(test_replay_errors)
{
  char *dir = stance_test_tmpdir();
  GError *e = NULL;

  /* Missing file: FILE error naming the path and the system's reason. */
  char *missing = g_build_filename(dir, "missing.stance", NULL);
  StanceSource *src = stance_replay_source_new(missing, 0, &e);
  ck_assert_no_gerror(e);
  ck_assert(!stance_source_open(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_FILE);
  ck_assert_msg(strstr(e->message, missing) && strstr(e->message, "No such file"), "%s",
                e->message);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_CLOSED);
  g_clear_error(&e);
  g_object_unref(src);

  /* Text that is no recording: the importer's message (what was wrong, where) with the path. */
  static const char garbage[] = "hello\nthis is not, a force plate; export\n\x01\x02\x03\n";
  char *gpath = write_tmp(dir, "garbage.csv", garbage, sizeof garbage - 1);
  src = stance_replay_source_new(gpath, 1, &e);
  ck_assert(!stance_source_open(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_FILE);
  ck_assert_msg(strstr(e->message, gpath) != NULL, "%s", e->message);
  ck_assert_msg(strlen(e->message) > strlen(gpath) + 20, "no reason given: %s", e->message);
  g_clear_error(&e);
  g_object_unref(src);

  /* A .stance file cut short: the file reader's message (truncated, at which offset). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 2);
  StanceRecording *rec = NULL;
  stance_test_sim_run(&p, &rec, NULL);
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(stance_file_encode(rec, &buf, &len, NULL), STANCE_OK);
  char *cut = write_tmp(dir, "cut.stance", (const char *)buf, len / 2);
  src = stance_replay_source_new(cut, 0, &e);
  ck_assert(!stance_source_open(src, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_FILE);
  ck_assert_msg(strstr(e->message, cut) && strstr(e->message, "truncated"), "%s", e->message);
  g_clear_error(&e);
  g_object_unref(src);

  /* A good file, asked for another rate: replay plays at the file's rate only. */
  char *good = write_tmp(dir, "good.stance", (const char *)buf, len);
  src = stance_replay_source_new(good, 0, &e);
  ck_assert(stance_source_open(src, &e));
  ck_assert_no_gerror(e);
  ck_assert(!stance_source_set_rate(src, 2000, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_RATE);
  ck_assert_msg(strstr(e->message, "2000 Hz") && strstr(e->message, "expected 1000 Hz"), "%s",
                e->message);
  g_clear_error(&e);
  ck_assert(stance_source_set_rate(src, 1000, &e));
  g_object_unref(src);

  /* Bad arguments. */
  ck_assert_ptr_null(stance_replay_source_new(good, -1, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_INVALID);
  g_clear_error(&e);
  ck_assert_ptr_null(stance_replay_source_new(good, NAN, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_INVALID);
  g_clear_error(&e);
  ck_assert_ptr_null(stance_replay_source_new("", 1, &e));
  ck_assert_gerror(e, STANCE_DAQ_ERROR_INVALID);
  g_clear_error(&e);

  free(buf);
  stance_recording_free(rec);
  unlink(good);
  unlink(cut);
  unlink(gpath);
  rmdir(dir);
  g_free(good);
  g_free(cut);
  g_free(gpath);
  g_free(missing);
  free(dir);
}
END_TEST

/* ---- Replay ---- */

/* Replays path at speed (0: as fast as the ring takes), recording it as proto until ENDED; returns
 * the recording, the source's counters in *stats and, when took_s is not NULL, the time from
 * start() to ENDED in *took_s. */
static StanceRecording *
replay_all(const char *path, double speed, StanceProtocol proto, EventLog *log,
           StanceSourceStats *stats, double *took_s)
{
  GError *e = NULL;
  StanceSource *src = stance_replay_source_new(path, speed, &e);
  ck_assert_no_gerror(e);
  g_signal_connect(src, "event", G_CALLBACK(on_event), log);
  ck_assert_msg(stance_source_open(src, &e), "%s", e ? e->message : "");
  StanceRecorder *r = stance_recorder_new(src, proto, STANCE_SIDE_BOTH, 0, &e);
  ck_assert_no_gerror(e);
  gint64 t0 = g_get_monotonic_time();
  ck_assert(stance_source_start(src, &e));
  while (log->n[STANCE_SOURCE_EVENT_ENDED] == 0) {
    require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
    require(g_get_monotonic_time() - t0 < 120 * G_USEC_PER_SEC, "no ENDED within 120 s");
    spin_once();
  }
  if (took_s)
    *took_s = (double)(g_get_monotonic_time() - t0) / 1e6;
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_ENDED);
  stance_source_stop(src);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_OPEN);
  require(stance_recorder_drain(r, &e), "drain: %s",
          e ? e->message : ""); /* what was still in the ring */
  stance_source_get_stats(src, stats);
  StanceRecording *rec = stance_recorder_steal(r);
  stance_recorder_free(r);
  g_object_unref(src);
  return rec;
}

/* Makes samples [from, from + n) of rec gap samples (no values, GAP status). Returns n. */
static size_t
mark_gap(StanceRecording *rec, size_t from, size_t n)
{
  for (size_t i = from; i < from + n; i++) {
    rec->status[i] = STANCE_STATUS_GAP;
    memset(rec->counts + i * STANCE_N_CELLS, 0, STANCE_N_CELLS * sizeof(int32_t));
  }
  return n;
}

/* A .stance file `name` holding rec, in a fresh temporary folder (*dir). Remove both with
 * remove_tmp(). */
static char *
write_tmp_stance(const StanceRecording *rec, const char *name, char **dir)
{
  *dir = stance_test_tmpdir();
  char *path = g_build_filename(*dir, name, NULL);
  ck_assert_int_eq(stance_file_write(rec, path, NULL), STANCE_OK);
  return path;
}

static void
remove_tmp(char *path, char *dir)
{
  unlink(path);
  rmdir(dir);
  g_free(path);
  free(dir);
}

START_TEST(test_replay_stance_with_gaps)
{
  /* A simulated recording with gap runs at the start, in the middle (a long one and a single
   * sample) and near the end, written to a .stance file. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 21);
  p.sample_rate_hz = 500;
  StanceRecording *orig = NULL;
  stance_test_sim_run(&p, &orig, NULL);
  const size_t runs[][2] = {{0, 7}, {1000, 250}, {2500, 1}, {orig->n_samples - 40, 30}};
  size_t n_gap = 0;
  for (size_t k = 0; k < 4; k++)
    n_gap += mark_gap(orig, runs[k][0], runs[k][1]);
  char *dir;
  char *path = write_tmp_stance(orig, "gaps.stance", &dir);

  EventLog log = {0};
  StanceSourceStats st;
  StanceRecording *got = replay_all(path, 0, STANCE_PROTO_UNKNOWN, &log, &st, NULL);
  /* The same recording: every sample, the gaps at the same places. */
  ck_assert_uint_eq(got->n_samples, orig->n_samples);
  assert_same_samples(got, 0, orig, orig->n_samples, "replay");
  ck_assert_uint_eq(stance_recording_count_gaps(got), n_gap);
  ck_assert(got->sample_rate_hz == 500);
  ck_assert_str_eq(got->meta.source, "replay");
  ck_assert_str_eq(got->meta.board_serial, "SIM-0001");
  ck_assert_str_eq(got->meta.calibration_id, orig->calib.id);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    ck_assert(got->calib.gain_n_per_count[c] == orig->calib.gain_n_per_count[c]);
    ck_assert(got->calib.offset_counts[c] == orig->calib.offset_counts[c]);
  }
  /* The file's gaps are counted as missing samples; the rest were delivered. */
  ck_assert_uint_eq(st.gap_samples, n_gap);
  ck_assert_uint_eq(st.samples, orig->n_samples - n_gap);
  ck_assert_uint_eq(st.ring_overflows, 0);
  /* ENDED, once, on the test's thread inside its context (not on the replay thread). */
  ck_assert_int_eq(log.n[STANCE_SOURCE_EVENT_ENDED], 1);
  ck_assert_int_eq(log.n_total, 1);
  ck_assert(!log.wrong_thread);

  stance_recording_free(got);
  stance_recording_free(orig);
  remove_tmp(path, dir);
}
END_TEST

START_TEST(test_replay_trailing_gap_not_reproduced)
{
  /* Gap samples at the very end have no later sample whose index could mark them: the replay's
   * recording ends with the last received sample (documented in stance-source-replay.c). */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 4);
  p.sample_rate_hz = 500;
  StanceRecording *orig = NULL;
  stance_test_sim_run(&p, &orig, NULL);
  size_t n = orig->n_samples;
  mark_gap(orig, n - 5, 5);
  char *dir;
  char *path = write_tmp_stance(orig, "tail.stance", &dir);
  EventLog log = {0};
  StanceSourceStats st;
  StanceRecording *got = replay_all(path, 0, STANCE_PROTO_UNKNOWN, &log, &st, NULL);
  ck_assert_uint_eq(got->n_samples, n - 5);
  assert_same_samples(got, 0, orig, n - 5, "replay");
  ck_assert_uint_eq(st.gap_samples, 5);
  stance_recording_free(got);
  stance_recording_free(orig);
  remove_tmp(path, dir);
}
END_TEST

/* A text file of tests/data replayed equals the importer's recording: forces, CoP, status. */
static void
check_replay_text(const char *relative, StanceLayout layout, bool cop)
{
  char *path = stance_test_data_path(relative);
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  StanceImportResult res;
  StanceError err = {0};
  ck_assert_msg(stance_import_text(path, &opt, &res, &err) == STANCE_OK, "%s", err.message);
  const StanceRecording *want = res.recs[0];
  ck_assert_int_eq(want->layout, layout);
  ck_assert_int_eq(want->cop_mm != NULL, cop);

  EventLog log = {0};
  StanceSourceStats st;
  StanceRecording *got = replay_all(path, 0, STANCE_PROTO_UNKNOWN, &log, &st, NULL);
  ck_assert_int_eq(got->layout, layout);
  ck_assert_uint_eq(got->n_channels, want->n_channels);
  ck_assert_uint_eq(got->n_samples, want->n_samples);
  ck_assert(got->sample_rate_hz == want->sample_rate_hz);
  ck_assert_int_eq(got->cop_mm != NULL, cop);
  const size_t nch = want->n_channels;
  for (size_t i = 0; i < want->n_samples; i++) {
    require(got->status[i] == want->status[i], "%s sample %zu: status 0x%04x, expected 0x%04x",
            relative, i, got->status[i], want->status[i]);
    for (size_t c = 0; c < nch; c++)
      require(got->force_n[i * nch + c] == want->force_n[i * nch + c],
              "%s sample %zu channel %zu: %.17g N, expected %.17g N", relative, i, c,
              got->force_n[i * nch + c], want->force_n[i * nch + c]);
    for (size_t c = 0; cop && c < 2 * nch; c++)
      require(got->cop_mm[i * nch * 2 + c] == want->cop_mm[i * nch * 2 + c],
              "%s sample %zu CoP value %zu differs", relative, i, c);
  }
  ck_assert_int_eq(log.n[STANCE_SOURCE_EVENT_ENDED], 1);
  ck_assert(!log.wrong_thread);
  stance_recording_free(got);
  stance_import_result_clear(&res);
  free(path);
}

START_TEST(test_replay_text_plates_cop)
{
  /* OpenSim-style export: two plates with centre of pressure, 1000 Hz from the time column. */
  check_replay_text("ACL_squat_jump/BFR007_1st_squat_jump.csv", STANCE_LAYOUT_PLATES, true);
}
END_TEST

START_TEST(test_replay_text_combined)
{
  /* IsometricAnalyzer: one combined force column. */
  check_replay_text("IsometricAnalyzer/Example1.csv", STANCE_LAYOUT_COMBINED, false);
}
END_TEST

START_TEST(test_replay_realtime_speed)
{
  /* A 2 s file at speed 4 ends after about 0.5 s; as fast as possible (speed 0) it would end at
   * once and at speed 1 after 2 s. Loose bounds (shared machine): 0.3-1.5 s. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 6);
  StanceRecording *orig = NULL;
  stance_test_sim_run(&p, &orig, NULL);
  StanceRecording *two = stance_recording_slice(orig, 0, 2000);
  ck_assert_ptr_nonnull(two);
  char *dir;
  char *path = write_tmp_stance(two, "two.stance", &dir);

  EventLog log = {0};
  StanceSourceStats st;
  double took = 0;
  StanceRecording *got = replay_all(path, 4.0, STANCE_PROTO_WEIGH_IN, &log, &st, &took);
  ck_assert_msg(took > 0.3 && took < 1.5, "a 2 s file at speed 4 took %.3f s", took);
  ck_assert_uint_eq(got->n_samples, 2000);
  assert_same_samples(got, 0, two, 2000, "replay x4");
  ck_assert_int_eq(got->meta.protocol, STANCE_PROTO_WEIGH_IN);
  stance_recording_free(got);
  stance_recording_free(two);
  stance_recording_free(orig);
  remove_tmp(path, dir);
}
END_TEST

/* ---- Recorder ---- */

START_TEST(test_recorder_max_and_steal)
{
  /* max_samples cuts the recording exactly; samples that come after are read (the ring does not
   * overflow) but not kept; steal hands the recording over and starts an empty one. */
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_WEIGH_IN, 8);
  StanceSource *src = sim_source(&p, FALSE);
  GError *e = NULL;
  StanceRecorder *r = stance_recorder_new(src, STANCE_PROTO_WEIGH_IN, STANCE_SIDE_BOTH, 1234, &e);
  ck_assert(!stance_recorder_is_full(r));
  StanceRecorderStatus s;
  stance_recorder_get_status(r, &s);
  ck_assert_uint_eq(s.samples, 0);
  ck_assert(s.total_n == 0 && s.force_n[0] == 0 && s.measured_hz == 0);
  ck_assert(stance_source_start(src, &e));
  StanceSourceStats st;
  do {
    require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
    spin_once();
    stance_source_get_stats(src, &st);
  } while (st.samples < 5000);
  require(stance_recorder_drain(r, &e), "drain: %s", e ? e->message : "");
  ck_assert(stance_recorder_is_full(r));
  ck_assert_uint_eq(stance_recorder_peek(r)->n_samples, 1234);
  stance_recorder_get_status(r, &s);
  ck_assert_uint_eq(s.samples, 1234);
  ck_assert_near(s.seconds, 1.234, 1e-9);
  stance_source_stop(src);
  StanceRecording *rec = stance_recorder_steal(r);
  ck_assert_uint_eq(rec->n_samples, 1234);
  ck_assert_uint_eq(stance_recorder_peek(r)->n_samples, 0);
  ck_assert(!stance_recorder_is_full(r));
  stance_recording_free(rec);
  stance_recorder_free(r);
  g_object_unref(src);
}
END_TEST

/* A test case of s whose tests each run their own context (setup, teardown), 300 s at most. */
static TCase *
add_case(Suite *s, const char *name)
{
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *
source_suite(void)
{
  Suite *s = suite_create("source");
  TCase *sim = add_case(s, "sim");
  tcase_add_test(sim, test_sim_equals_run_every_rate);
  tcase_add_test(sim, test_sim_equals_run_cmj);
  tcase_add_test(sim, test_sim_realtime);
  tcase_add_test(sim, test_sim_stop_keeps_samples);
  tcase_add_test(sim, test_sim_info_and_rates);
  TCase *err = add_case(s, "errors");
  tcase_add_test(err, test_state_errors);
  tcase_add_test(err, test_sim_parameter_errors);
  tcase_add_test(err, test_replay_errors);
  TCase *rep = add_case(s, "replay");
  tcase_add_test(rep, test_replay_stance_with_gaps);
  tcase_add_test(rep, test_replay_trailing_gap_not_reproduced);
  tcase_add_test(rep, test_replay_text_plates_cop);
  tcase_add_test(rep, test_replay_text_combined);
  tcase_add_test(rep, test_replay_realtime_speed);
  tcase_add_test(rep, test_recorder_max_and_steal);
  return s;
}

int
main(void)
{
  return stance_test_run(source_suite());
}
