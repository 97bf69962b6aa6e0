/* stance-recorder.h: drains a device source into a StanceRecording.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The consumer side shared by stance-cli record and the app: call stance_recorder_drain() from the
 * consumer thread (a GLib timeout in the CLI, the frame-clock tick in the app); it reads the ring,
 * appends samples, turns index jumps into gap samples (STANCE_STATUS_GAP), and keeps a short
 * status for display. The recording's metadata (source, serial, firmware, calibration, start time,
 * protocol and side when given) is filled from the source's info at creation.
 *
 * Ownership: the recorder keeps a reference to the source; stance_recorder_steal() hands the
 * recording to the caller. Threads: the consumer thread only.
 */
#pragma once

#include "stance-source.h"

G_BEGIN_DECLS

typedef struct {
  guint64 samples;     /* samples in the recording, gaps included */
  guint64 gap_samples; /* of which gaps */
  double seconds;      /* samples / rate */
  double rate_hz;      /* nominal */
  double measured_hz;  /* samples delivered per wall-clock second over the last second */
  double force_n[2];   /* latest force per plate (N); CELLS and PLATES; NaN-free: 0 when unknown */
  double total_n;      /* latest total force (N) */
} StanceRecorderStatus;

typedef struct _StanceRecorder StanceRecorder;

/* source must be open. protocol/side go into the metadata (STANCE_PROTO_UNKNOWN / BOTH when not
 * known). max_samples 0 = unlimited; otherwise draining stops appending at that many samples. */
StanceRecorder *stance_recorder_new(StanceSource *source, StanceProtocol protocol, StanceSide side,
                                    guint64 max_samples, GError **error);
void stance_recorder_free(StanceRecorder *rec);

/* Drains what is waiting. Returns FALSE with error only on out of memory. */
gboolean stance_recorder_drain(StanceRecorder *rec, GError **error);
/* TRUE once max_samples were recorded. */
gboolean stance_recorder_is_full(StanceRecorder *rec);
void stance_recorder_get_status(StanceRecorder *rec, StanceRecorderStatus *out);
/* The recording so far (owned by the recorder). */
const StanceRecording *stance_recorder_peek(StanceRecorder *rec);
/* Hands over the recording; the recorder then starts a new empty one. */
StanceRecording *stance_recorder_steal(StanceRecorder *rec);

G_END_DECLS
