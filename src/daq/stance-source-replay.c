/* stance-source-replay.c: a recorded file played back as a device source (see
 * stance-source-replay.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * open() reads the whole file (a .stance file by its magic, anything else through the text
 * importer with its default options; of a text file with several trials, the first is played and
 * the description says so). A pacing thread releases sample k of the file once k / (rate x speed)
 * seconds have passed since the start, or, with speed 0, as fast as the ring has room (never
 * more, so nothing is lost; it waits 2 ms when the ring is full). Gap samples of the file are not
 * pushed: the index skips them, exactly as a board's lost frames do, and they are counted as
 * gap_samples. Gap samples at the very end of a file have no later sample to mark them, so a
 * recording of the replay ends before them. After the last sample the source emits ENDED. The
 * base class runs the pacing thread (_stance_source_pace).
 */
#include "stance-source-replay.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stance-file.h"
#include "stance-import.h"

#define BATCH 256

struct _StanceReplaySource {
  StanceSource parent_instance;

  char *path;
  double speed;         /* 0 = as fast as the ring takes */
  StanceRecording *rec; /* the file, from open() to close() */
};

G_DEFINE_FINAL_TYPE(StanceReplaySource, stance_replay_source, STANCE_TYPE_SOURCE)

/* File sample i as the board would deliver it (layouts as in stance-ring.h). */
static void
to_sample(const StanceRecording *rec, size_t i, StanceSample *s)
{
  memset(s->v, 0, sizeof s->v);
  s->index = i;
  s->status = rec->status[i];
  const size_t nch = rec->n_channels;
  if (rec->layout == STANCE_LAYOUT_CELLS) {
    for (int c = 0; c < STANCE_N_CELLS; c++)
      s->v[c] = (double)rec->counts[i * STANCE_N_CELLS + c];
    return;
  }
  for (size_t c = 0; c < nch; c++)
    s->v[c] = rec->force_n[i * nch + c];
  if (rec->cop_mm)
    for (size_t c = 0; c < 2 * nch; c++)
      s->v[nch + c] = rec->cop_mm[i * nch * 2 + c];
}

static gpointer
pace(gpointer data)
{
  StanceReplaySource *self = data;
  StanceSource *src = STANCE_SOURCE(self);
  const StanceRecording *rec = self->rec;
  const double rate = rec->sample_rate_hz * self->speed;
  const gint64 t0 = g_get_monotonic_time();
  size_t pos = 0;
  StanceSample buf[BATCH];

  while (pos < rec->n_samples) {
    /* The file position is the stream's index: gap samples count as released. */
    size_t n = _stance_source_pace(src, rate, t0, pos, MIN(rec->n_samples - pos, (size_t)BATCH));
    if (n == 0)
      return NULL; /* stopping */
    /* n file samples; the gaps among them are skipped, so at most n go into the ring. */
    size_t m = 0;
    guint64 gaps = 0;
    for (size_t k = 0; k < n; k++) {
      if (rec->status[pos + k] & STANCE_STATUS_GAP) {
        gaps++;
        continue;
      }
      to_sample(rec, pos + k, &buf[m++]);
    }
    if (m > 0)
      _stance_source_push(src, buf, m);
    if (gaps > 0) {
      StanceSourceStats d = {.gap_samples = gaps};
      _stance_source_count(src, &d);
    }
    pos += n;
  }
  _stance_source_emit_event(src, STANCE_SOURCE_EVENT_ENDED, NULL);
  return NULL;
}

/* Reads the file into a recording. */
static gboolean
load_file(const char *path, StanceRecording **out, int *n_trials, GError **error)
{
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    int e = errno;
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_FILE, "cannot open %s: %s", path,
                g_strerror(e));
    return FALSE;
  }
  guint8 head[64];
  size_t got = fread(head, 1, sizeof head, fp);
  gboolean bad = ferror(fp) != 0;
  fclose(fp);
  if (bad) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_FILE, "cannot read %s", path);
    return FALSE;
  }
  StanceError err;
  stance_error_clear(&err);
  *n_trials = 1;
  int r;
  if (stance_file_is_stance(head, got)) {
    r = stance_file_read(path, out, &err);
  } else {
    StanceImportOptions opt;
    stance_import_options_default(&opt);
    StanceImportResult res;
    memset(&res, 0, sizeof res);
    r = stance_import_text(path, &opt, &res, &err);
    if (r == STANCE_OK) {
      if (res.n_recs == 0) {
        r = stance_error_set(&err, STANCE_ENODATA, "no recording in the file");
      } else {
        *out = res.recs[0];
        res.recs[0] = NULL;
        *n_trials = (int)res.n_recs;
      }
    }
    stance_import_result_clear(&res);
  }
  if (r < 0) {
    const char *msg = err.message[0] ? err.message : stance_strerror(r);
    if (strstr(msg, path))
      g_set_error_literal(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_FILE, msg);
    else
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_FILE, "%s: %s", path, msg);
    return FALSE;
  }
  if ((*out)->n_samples == 0 || !isfinite((*out)->sample_rate_hz) || (*out)->sample_rate_hz <= 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_FILE,
                "%s: nothing to replay (expected a recording with samples and a rate)", path);
    stance_recording_free(*out);
    *out = NULL;
    return FALSE;
  }
  return TRUE;
}

static gboolean
replay_open(StanceSource *source, GError **error)
{
  StanceReplaySource *self = STANCE_REPLAY_SOURCE(source);
  int n_trials = 1;
  StanceRecording *rec = NULL;
  if (!load_file(self->path, &rec, &n_trials, error))
    return FALSE;
  self->rec = rec;

  StanceSourceInfo info;
  memset(&info, 0, sizeof info);
  g_strlcpy(info.kind, "replay", sizeof info.kind);
  char *base = g_path_get_basename(self->path);
  char trials[48] = "";
  if (n_trials > 1)
    g_snprintf(trials, sizeof trials, ", trial 1 of %d", n_trials);
  char speed[40];
  if (self->speed > 0)
    g_snprintf(speed, sizeof speed, "%gx real time", self->speed);
  else
    g_strlcpy(speed, "as fast as read", sizeof speed);
  g_snprintf(info.description, sizeof info.description, "Replay of %s (%s, %g Hz%s, %s)", base,
             stance_layout_name(rec->layout), rec->sample_rate_hz, trials, speed);
  g_free(base);
  g_strlcpy(info.serial, rec->meta.board_serial, sizeof info.serial);
  g_strlcpy(info.firmware_version, rec->meta.firmware_version, sizeof info.firmware_version);
  info.layout = rec->layout;
  info.has_cop = rec->layout != STANCE_LAYOUT_CELLS && rec->cop_mm != NULL;
  info.rates_hz[0] = rec->sample_rate_hz;
  info.n_rates = 1;
  info.rate_hz = rec->sample_rate_hz;
  info.has_calibration = rec->has_calibration;
  if (rec->has_calibration)
    info.calib = rec->calib;
  else
    stance_calibration_default(&info.calib);
  _stance_source_set_info(source, &info);
  return TRUE;
}

static gboolean
replay_start(StanceSource *source, GError **error)
{
  return _stance_source_start_pacing(source, "stance-replay", pace, error);
}

static void
replay_close(StanceSource *source)
{
  /* The base class has stopped and joined the pacing thread. */
  StanceReplaySource *self = STANCE_REPLAY_SOURCE(source);
  stance_recording_free(self->rec);
  self->rec = NULL;
}

static void
stance_replay_source_finalize(GObject *object)
{
  StanceReplaySource *self = STANCE_REPLAY_SOURCE(object);
  stance_recording_free(self->rec);
  g_free(self->path);
  G_OBJECT_CLASS(stance_replay_source_parent_class)->finalize(object);
}

static void
stance_replay_source_class_init(StanceReplaySourceClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = stance_replay_source_finalize;
  StanceSourceClass *sc = STANCE_SOURCE_CLASS(klass);
  sc->open = replay_open;
  sc->set_rate = NULL; /* the base class allows only the file's rate, which needs no change */
  sc->start = replay_start;
  sc->stop = NULL; /* the base class ends the pacing thread */
  sc->close = replay_close;
}

static void
stance_replay_source_init(StanceReplaySource *self)
{
  (void)self;
}

StanceSource *
stance_replay_source_new(const char *path, double speed, GError **error)
{
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (!path || !*path) {
    g_set_error_literal(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                        "no file to replay (expected the path of a .stance or text file)");
    return NULL;
  }
  if (!isfinite(speed) || speed < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                "replay speed %g is invalid (expected 0 for as fast as possible, or a positive "
                "factor of real time such as 1 or 10)",
                speed);
    return NULL;
  }
  StanceReplaySource *self = g_object_new(STANCE_TYPE_REPLAY_SOURCE, NULL);
  self->path = g_strdup(path);
  self->speed = speed;
  return STANCE_SOURCE(self);
}
