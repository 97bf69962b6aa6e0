/* stance-source-sim.c: the simulated plates as a streaming device source (see
 * stance-source-sim.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads:
 *  - the owner thread calls open/set_rate/start/stop/close (the base class checks the states);
 *  - one pacing thread per stream (run by the base class, _stance_source_pace) releases samples
 *    into the ring: by the monotonic clock (realtime: sample k is released once k / rate seconds
 *    have passed since the first one), or as fast as the ring has room (not realtime: it never
 *    pushes more than the ring can take, so nothing is lost, and waits 2 ms when the ring is full
 *    instead of spinning);
 *  - the simulator runs a whole repetition at a time (stance_sim_run: 0.1-4 s of CPU at 4 kHz), so
 *    it runs on a generator thread, never on the pacing thread: the first repetition when the
 *    stream starts, the next one (seed + 1, seed + 2, ...) when the current one is out or, in
 *    realtime, PREFETCH_S before, so the clock never waits for it. A generator cannot be
 *    interrupted; a stop() abandons it (it frees its result when it finishes), so stop() returns
 *    within a few milliseconds whatever the simulator is doing.
 * The sample index is continuous across repetitions: the stream is one long recording.
 */
#include "stance-source-sim.h"

#include <string.h>

static const double sim_rates[] = {500.0, 1000.0, 2000.0, 4000.0};
#define N_SIM_RATES ((int)G_N_ELEMENTS(sim_rates))

/* Realtime: the next repetition is simulated once this much of the current one is left (s). The
 * longest (back squat at 4 kHz) takes about 4 s of CPU; not realtime, the next one is made when
 * needed (the consumer is not bound to the clock, and a stream cut short wastes nothing). */
#define PREFETCH_S 15.0
/* Samples converted and pushed at a time. */
#define BATCH 256

/* ---- Generator jobs ---- */

/* One repetition being simulated. Shared by the pacing thread and the generator thread, freed by
 * whichever lets go last. */
typedef struct {
  gint refs;
  StanceSimParams params;
  GMutex lock;
  GCond cond;
  gboolean done;
  StanceRecording *rec; /* result, NULL on error */
  StanceError err;
} GenJob;

static void
job_unref(GenJob *job)
{
  if (!job || !g_atomic_int_dec_and_test(&job->refs))
    return;
  stance_recording_free(job->rec);
  g_mutex_clear(&job->lock);
  g_cond_clear(&job->cond);
  g_free(job);
}

static gpointer
job_run(gpointer data)
{
  GenJob *job = data;
  StanceRecording *rec = NULL;
  StanceError err;
  stance_error_clear(&err);
  if (stance_sim_run(&job->params, &rec, NULL, &err) < 0) {
    stance_recording_free(rec);
    rec = NULL;
  }
  g_mutex_lock(&job->lock);
  job->rec = rec;
  job->err = err;
  job->done = TRUE;
  g_cond_broadcast(&job->cond);
  g_mutex_unlock(&job->lock);
  job_unref(job);
  return NULL;
}

/* Starts simulating params with seed on a detached thread. NULL when no thread could be made. */
static GenJob *
job_start(const StanceSimParams *params, guint64 seed)
{
  GenJob *job = g_new0(GenJob, 1);
  job->refs = 2; /* the caller and the generator */
  job->params = *params;
  job->params.seed = seed;
  g_mutex_init(&job->lock);
  g_cond_init(&job->cond);
  GThread *t = g_thread_try_new("stance-sim-gen", job_run, job, NULL);
  if (!t) {
    job->refs = 1;
    job_unref(job);
    return NULL;
  }
  g_thread_unref(t); /* detached: see the file comment */
  return job;
}

/* ---- The source ---- */

struct _StanceSimSource {
  StanceSource parent_instance;

  StanceSimParams params; /* sample_rate_hz is the current rate */
  gboolean realtime;
};

G_DEFINE_FINAL_TYPE(StanceSimSource, stance_sim_source, STANCE_TYPE_SOURCE)

/* Waits for a job; FALSE when a stop was requested first. */
static gboolean
job_wait(StanceSimSource *self, GenJob *job)
{
  for (;;) {
    g_mutex_lock(&job->lock);
    if (!job->done)
      g_cond_wait_until(&job->cond, &job->lock, g_get_monotonic_time() + 10000);
    gboolean done = job->done;
    g_mutex_unlock(&job->lock);
    if (done)
      return TRUE;
    /* The generator knows nothing of the source (it may outlive it), so a stop request is seen
     * here within 10 ms rather than by a wake-up. */
    if (_stance_source_pacing_stopped(STANCE_SOURCE(self)))
      return FALSE;
  }
}

static void
fault(StanceSimSource *self, int code, const char *what)
{
  GError *e = g_error_new(STANCE_DAQ_ERROR,
                          code == STANCE_ENOMEM ? STANCE_DAQ_ERROR_IO : STANCE_DAQ_ERROR_INVALID,
                          "the simulator stopped: %s", what);
  _stance_source_emit_event(STANCE_SOURCE(self), STANCE_SOURCE_EVENT_FAULT, e);
  g_error_free(e);
}

static gpointer
pace(gpointer data)
{
  StanceSimSource *self = data;
  StanceSource *src = STANCE_SOURCE(self);
  const StanceSimParams params = self->params; /* fixed while streaming */
  const double rate = params.sample_rate_hz;
  guint64 seed = params.seed;

  GenJob *cur = job_start(&params, seed), *next = NULL;
  if (!cur) {
    fault(self, STANCE_ENOMEM, "cannot start a thread to simulate");
    return NULL;
  }
  StanceRecording *rec = NULL;
  size_t pos = 0;    /* next sample of rec to release */
  guint64 index = 0; /* index of that sample in the stream */
  gint64 t0 = -1;    /* realtime: when sample 0 was due */
  StanceSample buf[BATCH];

  while (!_stance_source_pacing_stopped(src)) {
    if (!rec) {
      if (!job_wait(self, cur))
        break;
      rec = cur->rec;
      cur->rec = NULL;
      if (!rec) {
        fault(self, cur->err.code, cur->err.message[0] ? cur->err.message : "no recording");
        break;
      }
      job_unref(cur);
      cur = NULL;
      pos = 0;
      if (t0 < 0)
        t0 = g_get_monotonic_time(); /* the stream starts with its first sample */
      continue;
    }
    if (pos == rec->n_samples) {
      /* This repetition is out: on with the next, which normally is simulated by now. */
      stance_recording_free(rec);
      rec = NULL;
      seed++;
      cur = next ? next : job_start(&params, seed);
      next = NULL;
      if (!cur) {
        fault(self, STANCE_ENOMEM, "cannot start a thread to simulate");
        break;
      }
      continue;
    }
    if (!next && self->realtime && (double)(rec->n_samples - pos) <= PREFETCH_S * rate) {
      next = job_start(&params, seed + 1);
      if (!next) {
        fault(self, STANCE_ENOMEM, "cannot start a thread to simulate");
        break;
      }
    }

    size_t n = _stance_source_pace(src, self->realtime ? rate : 0.0, t0, index,
                                   MIN(rec->n_samples - pos, (size_t)BATCH));
    if (n == 0)
      break; /* stopping */
    for (size_t k = 0; k < n; k++) {
      const int32_t *c = rec->counts + (pos + k) * STANCE_N_CELLS;
      buf[k].index = index + k;
      buf[k].status = rec->status[pos + k];
      for (int ch = 0; ch < STANCE_N_CELLS; ch++)
        buf[k].v[ch] = (double)c[ch];
    }
    /* Realtime: a full ring refuses (the base counts the loss) and the index runs on, so the
     * loss is a gap in the consumer's recording, as with a board. */
    _stance_source_push(src, buf, n);
    pos += n;
    index += n;
  }
  stance_recording_free(rec);
  job_unref(cur);
  job_unref(next);
  return NULL;
}

static gboolean
sim_open(StanceSource *source, GError **error)
{
  StanceSimSource *self = STANCE_SIM_SOURCE(source);
  StanceSourceInfo info;
  memset(&info, 0, sizeof info);
  g_strlcpy(info.kind, "simulator", sizeof info.kind);
  char side[64];
  stance_side_text(side, sizeof side, self->params.protocol, self->params.side);
  g_snprintf(info.description, sizeof info.description,
             "Simulated plates (%s, %s, seed %" G_GUINT64_FORMAT ")",
             stance_protocol_name(self->params.protocol), side, self->params.seed);
  g_strlcpy(info.hardware, "simulator", sizeof info.hardware);
  info.layout = STANCE_LAYOUT_CELLS;
  info.has_cop = FALSE;
  for (int k = 0; k < N_SIM_RATES; k++)
    info.rates_hz[k] = sim_rates[k];
  info.n_rates = N_SIM_RATES;
  info.rate_hz = self->params.sample_rate_hz;
  info.has_calibration = TRUE;
  stance_sim_calibration(&info.calib);
  _stance_source_set_info(source, &info);
  (void)error;
  return TRUE;
}

static gboolean
sim_set_rate(StanceSource *source, double rate_hz, GError **error)
{
  /* The base class has checked the rate against the info's list. */
  STANCE_SIM_SOURCE(source)->params.sample_rate_hz = rate_hz;
  (void)error;
  return TRUE;
}

static gboolean
sim_start(StanceSource *source, GError **error)
{
  return _stance_source_start_pacing(source, "stance-sim-pace", pace, error);
}

static void
stance_sim_source_class_init(StanceSimSourceClass *klass)
{
  StanceSourceClass *sc = STANCE_SOURCE_CLASS(klass);
  sc->open = sim_open;
  sc->set_rate = sim_set_rate;
  sc->start = sim_start;
  sc->stop = NULL;  /* the base class ends the pacing thread; a generator still running is */
  sc->close = NULL; /* abandoned (it frees its job when it finishes) */
}

static void
stance_sim_source_init(StanceSimSource *self)
{
  (void)self;
}

StanceSource *
stance_sim_source_new(const StanceSimParams *params, gboolean realtime, GError **error)
{
  g_return_val_if_fail(params != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  StanceError err;
  stance_error_clear(&err);
  if (stance_sim_params_validate(params, &err) < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID, "%s", err.message);
    return NULL;
  }
  gboolean known = FALSE;
  for (int k = 0; k < N_SIM_RATES; k++)
    if (params->sample_rate_hz == sim_rates[k])
      known = TRUE;
  if (!known) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_RATE,
                "%g Hz is not a rate of the simulated plates (expected 500, 1000, 2000 or 4000 Hz, "
                "the rates of a Stance board)",
                params->sample_rate_hz);
    return NULL;
  }
  if (params->saturate) {
    /* The simulator drives a cell into the rail by lowering that cell's range in the
     * recording's calibration, chosen per repetition; a stream has one calibration for all of
     * them, so the counts of later repetitions would be read with the wrong gain. */
    g_set_error_literal(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                        "saturate: not available when streaming the simulator (each repetition "
                        "would need its own calibration); simulate a file with saturation "
                        "instead (stance-cli simulate --saturate)");
    return NULL;
  }
  StanceSimSource *self = g_object_new(STANCE_TYPE_SIM_SOURCE, NULL);
  self->params = *params;
  self->realtime = realtime;
  return STANCE_SOURCE(self);
}
