/* stance-recorder.c: drains a device source into a StanceRecording (see stance-recorder.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The recorder expects sample index `next` (0 at the start). A sample with index next + k was
 * preceded by k samples that never arrived: k gap samples go in first (values 0, status GAP), so
 * every later sample keeps its place in time. A sample whose index is below `next` cannot come
 * from a correct source (indices only grow); it is dropped rather than written out of place.
 *
 * The measured rate is the number of samples (gaps excluded) read over the last second of wall
 * time, from a short history of (time, total read) pairs kept at each drain.
 */
#include "stance-recorder.h"

#include <math.h>
#include <string.h>

/* Samples read per stance_source_read() call. */
#define CHUNK 512
/* Drain history for the measured rate: one entry per drain, enough for 1 s at 500 drains/s. */
#define HISTORY 512

struct _StanceRecorder {
  StanceSource *source;  /* referenced */
  StanceSourceInfo info; /* copied at creation */
  StanceProtocol protocol;
  StanceSide side;
  guint64 max_samples;

  StanceRecording *rec;
  guint64 next_index;  /* index the next sample should have */
  gint64 created_us;   /* real time at creation */
  gboolean started;    /* a sample arrived in this recording */
  guint64 gap_samples; /* gap samples in rec (counted as appended: the status is shown often) */

  /* Latest non-gap sample, for the status. */
  gboolean have_latest;
  StanceSample latest;

  guint64 total_read; /* samples read from the source (gaps excluded), since creation */
  struct {
    gint64 t_us;
    guint64 total;
  } hist[HISTORY];
  unsigned hist_head, hist_n;
};

/* A new empty recording with the metadata of the source. */
static StanceRecording *
new_recording(StanceRecorder *r)
{
  const StanceSourceInfo *info = &r->info;
  StanceRecording *rec = stance_recording_new(info->layout, info->rate_hz, info->has_cop);
  if (!rec)
    return NULL;
  StanceMeta *m = &rec->meta;
  m->protocol = r->protocol;
  m->side = r->side;
  g_strlcpy(m->source, info->kind, sizeof m->source);
  g_strlcpy(m->board_serial, info->serial, sizeof m->board_serial);
  g_strlcpy(m->firmware_version, info->firmware_version, sizeof m->firmware_version);
  if (info->has_calibration || info->layout == STANCE_LAYOUT_CELLS) {
    /* CELLS recordings always carry one: the source's, or the default geometry with unit gains
     * (has_calibration tells which). */
    rec->has_calibration = true;
    rec->calib = info->calib;
    if (info->has_calibration)
      g_strlcpy(m->calibration_id, info->calib.id, sizeof m->calibration_id);
  }
  /* Until the first sample arrives: the time the recording was asked for. */
  m->start_unix_ms = r->created_us / 1000;
  return rec;
}

StanceRecorder *
stance_recorder_new(StanceSource *source, StanceProtocol protocol, StanceSide side,
                    guint64 max_samples, GError **error)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(source), NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  const StanceSourceInfo *info = stance_source_get_info(source);
  if (!info) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE,
                "cannot record from a source that is %s (expected it opened first)",
                stance_source_state_name(stance_source_get_state(source)));
    return NULL;
  }
  if (!(info->rate_hz > 0) || !isfinite(info->rate_hz)) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                "the source reports a rate of %g Hz (expected a positive rate)", info->rate_hz);
    return NULL;
  }
  StanceRecorder *r = g_new0(StanceRecorder, 1);
  r->source = g_object_ref(source);
  r->info = *info;
  r->protocol = protocol;
  r->side = side;
  r->max_samples = max_samples;
  r->created_us = g_get_real_time();
  r->rec = new_recording(r);
  if (!r->rec) {
    stance_recorder_free(r);
    g_set_error_literal(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                        "out of memory for a new recording");
    return NULL;
  }
  return r;
}

void
stance_recorder_free(StanceRecorder *r)
{
  if (!r)
    return;
  stance_recording_free(r->rec);
  g_clear_object(&r->source);
  g_free(r);
}

gboolean
stance_recorder_is_full(StanceRecorder *r)
{
  g_return_val_if_fail(r != NULL, FALSE);
  return r->max_samples > 0 && r->rec->n_samples >= r->max_samples;
}

static gboolean
oom(GError **error, size_t n)
{
  g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
              "out of memory: the recording cannot grow beyond %zu samples", n);
  return FALSE;
}

/* Appends one sample (the index has been checked). */
static gboolean
append(StanceRecorder *r, const StanceSample *s, GError **error)
{
  StanceRecording *rec = r->rec;
  uint16_t status = (uint16_t)(s->status & ~STANCE_STATUS_GAP);
  int rc;
  if (rec->layout == STANCE_LAYOUT_CELLS) {
    int32_t counts[STANCE_N_CELLS];
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      /* Counts arrive as exact integers in doubles; clamp anything else to the 24-bit codes. */
      double v = s->v[c];
      if (!isfinite(v))
        v = 0.0;
      v = CLAMP(v, (double)STANCE_ADC_MIN, (double)STANCE_ADC_MAX);
      counts[c] = (int32_t)lrint(v);
    }
    rc = stance_recording_append_counts(rec, counts, status);
  } else {
    const size_t nch = rec->n_channels;
    double f[2], cop[4];
    for (size_t c = 0; c < nch; c++)
      f[c] = isfinite(s->v[c]) ? s->v[c] : 0.0;
    for (size_t c = 0; c < 2 * nch; c++)
      cop[c] = isfinite(s->v[nch + c]) ? s->v[nch + c] : 0.0;
    rc = stance_recording_append_forces(rec, f, cop, status);
  }
  if (rc < 0)
    return oom(error, rec->n_samples);
  return TRUE;
}

gboolean
stance_recorder_drain(StanceRecorder *r, GError **error)
{
  g_return_val_if_fail(r != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  StanceSample buf[CHUNK];
  /* Bounded: a source that fills the ring as fast as we empty it (the simulator not paced by the
   * clock) must not keep this call, and so the caller's main loop, busy for ever. */
  const size_t limit = MAX((size_t)(r->info.rate_hz * 4.0), (size_t)65536);
  size_t done = 0, got;
  guint64 read_now = 0;
  while (done < limit && (got = stance_source_read(r->source, buf, CHUNK)) > 0) {
    done += got;
    read_now += got;
    for (size_t k = 0; k < got; k++) {
      const StanceSample *s = &buf[k];
      if (s->index < r->next_index)
        continue; /* out of order: see the file comment */
      r->latest = *s;
      r->have_latest = TRUE;
      if (!r->started) {
        /* The stream's sample 0 was due (index + 1) / rate before now; never earlier than the
         * recorder itself (a source paced faster than the clock would put it in the past). */
        r->started = TRUE;
        gint64 now_ms = g_get_real_time() / 1000;
        gint64 back_ms = (gint64)llround((double)(s->index + 1) / r->info.rate_hz * 1000.0);
        r->rec->meta.start_unix_ms = MAX(now_ms - back_ms, r->created_us / 1000);
      }
      guint64 room =
          r->max_samples > 0
              ? (r->max_samples > r->rec->n_samples ? r->max_samples - r->rec->n_samples : 0)
              : G_MAXUINT64;
      if (room == 0)
        continue; /* full: read on so the ring does not overflow, but keep nothing */
      guint64 gap = s->index - r->next_index;
      if (gap > 0) {
        size_t g = (size_t)MIN(gap, room);
        if (stance_recording_append_gap(r->rec, g) < 0)
          return oom(error, r->rec->n_samples);
        r->gap_samples += g;
        room -= g;
      }
      r->next_index = s->index + 1;
      if (room == 0)
        continue;
      if (!append(r, s, error))
        return FALSE;
    }
  }
  r->total_read += read_now;
  if (r->total_read == 0)
    return TRUE; /* the rate is measured from the first delivery on, not from before the stream */
  gint64 now = g_get_monotonic_time();
  unsigned slot = (r->hist_head + r->hist_n) % HISTORY;
  if (r->hist_n == HISTORY) {
    r->hist_head = (r->hist_head + 1) % HISTORY;
    r->hist_n--;
  }
  r->hist[slot].t_us = now;
  r->hist[slot].total = r->total_read;
  r->hist_n++;
  return TRUE;
}

/* Samples per second over the last second of drains (0 until two drains span 50 ms). */
static double
measured_rate(const StanceRecorder *r)
{
  if (r->hist_n < 2)
    return 0.0;
  unsigned newest = (r->hist_head + r->hist_n - 1) % HISTORY;
  gint64 t1 = r->hist[newest].t_us;
  /* The oldest entry still within the last second, or the oldest there is. */
  unsigned pick = r->hist_head;
  for (unsigned k = 0; k < r->hist_n; k++) {
    unsigned i = (r->hist_head + k) % HISTORY;
    if (t1 - r->hist[i].t_us <= G_USEC_PER_SEC) {
      /* One older than the first inside the window covers the whole second when there is one. */
      pick = k > 0 ? (r->hist_head + k - 1) % HISTORY : i;
      break;
    }
  }
  double dt = (double)(t1 - r->hist[pick].t_us) / 1e6;
  if (dt < 0.05)
    return 0.0;
  return (double)(r->hist[newest].total - r->hist[pick].total) / dt;
}

void
stance_recorder_get_status(StanceRecorder *r, StanceRecorderStatus *out)
{
  g_return_if_fail(r != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  const StanceRecording *rec = r->rec;
  out->samples = rec->n_samples;
  out->gap_samples = r->gap_samples;
  out->rate_hz = r->info.rate_hz;
  out->seconds = (double)rec->n_samples / r->info.rate_hz;
  out->measured_hz = measured_rate(r);
  if (!r->have_latest)
    return;
  const StanceSample *s = &r->latest;
  double f[2] = {0.0, 0.0}, total = 0.0;
  switch (r->info.layout) {
  case STANCE_LAYOUT_CELLS:
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      const StanceCalibration *cal = &rec->calib;
      f[c / STANCE_CELLS_PER_PLATE] += (s->v[c] - cal->offset_counts[c]) * cal->gain_n_per_count[c];
    }
    total = f[0] + f[1];
    break;
  case STANCE_LAYOUT_PLATES:
    f[0] = s->v[0];
    f[1] = s->v[1];
    total = f[0] + f[1];
    break;
  case STANCE_LAYOUT_COMBINED: total = s->v[0]; break;
  }
  out->force_n[0] = isfinite(f[0]) ? f[0] : 0.0;
  out->force_n[1] = isfinite(f[1]) ? f[1] : 0.0;
  out->total_n = isfinite(total) ? total : 0.0;
}

const StanceRecording *
stance_recorder_peek(StanceRecorder *r)
{
  g_return_val_if_fail(r != NULL, NULL);
  return r->rec;
}

StanceRecording *
stance_recorder_steal(StanceRecorder *r)
{
  g_return_val_if_fail(r != NULL, NULL);
  StanceRecording *fresh = new_recording(r);
  if (!fresh)
    return NULL;
  StanceRecording *out = r->rec;
  r->rec = fresh;
  /* The new recording goes on from where the stream is: the samples handed over are not
   * repeated as gaps. */
  r->started = FALSE;
  r->gap_samples = 0;
  r->created_us = g_get_real_time();
  fresh->meta.start_unix_ms = r->created_us / 1000;
  return out;
}
