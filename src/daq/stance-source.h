/* stance-source.h: the device-source interface: USB plates, simulated plates, file replay.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GLib service layer. A StanceSource is opened, described (info), given a rate, started, read and
 * stopped, then closed. Every source produces samples on its own acquisition thread (the USB
 * source's libusb event thread, the simulator's and replay's pacing thread) into a lock-free SPSC
 * ring (stance-ring.h); the consumer drains it with stance_source_read() from ONE thread of its
 * choice (the UI's frame-clock tick, the CLI's main loop), never blocking. No call here blocks the
 * caller for longer than a USB command round trip (open, start, stop: bounded by 1 s timeouts).
 *
 * Threads: every public function except stance_source_read() and stance_source_get_stats() must
 * be called from the thread that owns the GMainContext that was thread-default when the source
 * was created (the "owner context"); signals are emitted there. stance_source_read() is the
 * consumer side of the ring: one thread at a time. get_stats() may be called from any thread.
 *
 * Signals (emitted on the owner context):
 *   "event" (StanceSourceEvent kind, const GError *error_or_null): DISCONNECTED (board unplugged
 *       mid-stream: everything received stays readable; the index keeps running by wall clock so
 *       the gap is exact), RECONNECTED (the same serial came back and streaming resumed), ENDED
 *       (a replay reached its end; no more samples will come), FAULT (an error stopped the stream;
 *       error says what).
 *   "notify::state".
 */
#pragma once

#include <gio/gio.h>
#include <glib-object.h>

#include "stance-recording.h"
#include "stance-ring.h"

G_BEGIN_DECLS

/* ---- Errors ---- */
#define STANCE_DAQ_ERROR (stance_daq_error_quark())
GQuark stance_daq_error_quark(void);

typedef enum {
  STANCE_DAQ_ERROR_NOT_FOUND,    /* no board (with that serial) is connected */
  STANCE_DAQ_ERROR_ACCESS,       /* permission denied opening the board (udev rule missing) */
  STANCE_DAQ_ERROR_BUSY,         /* the board is claimed by another program */
  STANCE_DAQ_ERROR_VERSION,      /* the board speaks a protocol major this build does not know */
  STANCE_DAQ_ERROR_PROTOCOL,     /* malformed or unexpected reply, or an error status */
  STANCE_DAQ_ERROR_TIMEOUT,      /* the board did not answer in time */
  STANCE_DAQ_ERROR_STALL,        /* an endpoint stalled and could not be cleared */
  STANCE_DAQ_ERROR_DISCONNECTED, /* the board went away */
  STANCE_DAQ_ERROR_RATE,         /* the rate is not one the source supports */
  STANCE_DAQ_ERROR_STATE,        /* the call is not valid in the source's current state */
  STANCE_DAQ_ERROR_IO,           /* libusb or system error */
  STANCE_DAQ_ERROR_FILE,         /* replay: the file could not be read */
  STANCE_DAQ_ERROR_INVALID,      /* an argument is invalid (e.g. simulator parameters) */
} StanceDaqError;

typedef enum {
  STANCE_SOURCE_CLOSED,
  STANCE_SOURCE_OPEN,      /* opened, not streaming */
  STANCE_SOURCE_STREAMING, /* samples are flowing */
  STANCE_SOURCE_WAITING,   /* streaming was interrupted (unplugged); waiting for the board */
  STANCE_SOURCE_ENDED,     /* replay finished or a fault stopped the stream */
} StanceSourceState;

typedef enum {
  STANCE_SOURCE_EVENT_DISCONNECTED,
  STANCE_SOURCE_EVENT_RECONNECTED,
  STANCE_SOURCE_EVENT_ENDED,
  STANCE_SOURCE_EVENT_FAULT,
} StanceSourceEvent;

/* What a source is. Filled by open(); stable until close(). */
typedef struct {
  char kind[16];         /* "usb", "simulator", "replay" */
  char description[160]; /* for people: "Stance plates SN-0042 (firmware 1.0.0, protocol 1.0)" */
  char serial[25];       /* board serial; "" for the simulator, the file's serial for replay */
  char firmware_version[17]; /* "" when not a board */
  char hardware[25];
  uint8_t proto_major, proto_minor; /* 0 when not a board */
  StanceLayout layout;              /* CELLS for boards and the simulator; the file's for replay */
  gboolean has_cop;                 /* PLATES/COMBINED only */
  double rates_hz[4];               /* supported rates (replay: just the file's) */
  int n_rates;
  double rate_hz;           /* current rate */
  gboolean has_calibration; /* calib below is real (board block, simulator truth, file) */
  StanceCalibration calib;  /* CELLS: always filled (the default geometry when not calibrated) */
} StanceSourceInfo;

/* Counters, totals since start(). */
typedef struct {
  guint64 samples;     /* samples delivered into the ring */
  guint64 gap_samples; /* samples missing (lost frames, board drops, disconnection, ring full) */
  guint64 frames;      /* USB frames accepted (0 for other sources) */
  guint64 frames_lost; /* sequence numbers skipped */
  guint64 crc_errors;  /* frames refused for a bad CRC or format */
  guint64 board_overflows; /* samples the board dropped (its FIFO overflowed) */
  guint64 ring_overflows;  /* samples refused because the consumer fell behind */
  guint64 disconnects;     /* times the board went away mid-stream */
} StanceSourceStats;

#define STANCE_TYPE_SOURCE (stance_source_get_type())
G_DECLARE_DERIVABLE_TYPE(StanceSource, stance_source, STANCE, SOURCE, GObject)

struct _StanceSourceClass {
  GObjectClass parent_class;

  /* Subclasses fill info with _stance_source_set_info() in open(). */
  gboolean (*open)(StanceSource *self, GError **error);
  gboolean (*set_rate)(StanceSource *self, double rate_hz, GError **error);
  /* Starts the acquisition thread; the ring has been reset and the index starts at 0. */
  gboolean (*start)(StanceSource *self, GError **error);
  /* Stops and joins the acquisition thread; samples already in the ring stay readable. */
  void (*stop)(StanceSource *self);
  void (*close)(StanceSource *self);

  gpointer padding[8];
};

gboolean stance_source_open(StanceSource *self, GError **error);
/* NULL until opened. */
const StanceSourceInfo *stance_source_get_info(StanceSource *self);
gboolean stance_source_set_rate(StanceSource *self, double rate_hz, GError **error);
gboolean stance_source_start(StanceSource *self, GError **error);
void stance_source_stop(StanceSource *self);
void stance_source_close(StanceSource *self);
StanceSourceState stance_source_get_state(StanceSource *self);
const char *stance_source_state_name(StanceSourceState state);

/* Consumer: copies up to max waiting samples into out; never blocks; 0 when none. */
size_t stance_source_read(StanceSource *self, StanceSample *out, size_t max);
/* Any thread. */
void stance_source_get_stats(StanceSource *self, StanceSourceStats *out);

/* ---- For subclasses ---- */
/* Owner context: fills the info (copied). */
void _stance_source_set_info(StanceSource *self, const StanceSourceInfo *info);
/* Owner context: changes the state and notifies. */
void _stance_source_set_state(StanceSource *self, StanceSourceState state);
/* Acquisition thread: pushes samples (index must increase); counts ring overflow. Returns the
 * number accepted. */
size_t _stance_source_push(StanceSource *self, const StanceSample *s, size_t n);
/* Acquisition thread: how many samples the ring can take now (a lower bound: the consumer only
 * makes room). Sources that must not lose samples (simulator and replay when not paced by the
 * clock) push no more than this. */
size_t _stance_source_ring_space(StanceSource *self);
/* Any thread: adds to counters (atomic). */
void _stance_source_count(StanceSource *self, const StanceSourceStats *delta);
/* Any thread: emits "event" on the owner context (queued; error copied, may be NULL) and, for
 * DISCONNECTED/RECONNECTED/ENDED/FAULT, moves the state to WAITING/STREAMING/ENDED/ENDED. */
void _stance_source_emit_event(StanceSource *self, StanceSourceEvent kind, const GError *error);
/* The owner context (for subclasses that schedule work there). */
GMainContext *_stance_source_get_context(StanceSource *self);

/* Sources that release samples they hold in memory (simulator, replay) run one pacing thread per
 * stream through these three calls. */
/* Owner context, from the subclass's start(): runs func(self) on a new thread named name. The
 * base's stop() (and so close() and dispose) asks it to end and joins it before calling the
 * subclass's stop(), so func may use the subclass's state until it returns. */
gboolean _stance_source_start_pacing(StanceSource *self, const char *name, GThreadFunc func,
                                     GError **error);
/* Pacing thread: TRUE once stop() has asked the thread to end. */
gboolean _stance_source_pacing_stopped(StanceSource *self);
/* Pacing thread: waits until samples may be released and returns how many, at most max (> 0);
 * 0 once stop() has asked the thread to end. With rate_hz > 0, by the monotonic clock: sample k of
 * the stream is due once k / rate_hz seconds have passed since t0 (g_get_monotonic_time() units),
 * and released samples have gone out so far; with rate_hz 0, as many as the ring has room for, so
 * that nothing is lost. */
size_t _stance_source_pace(StanceSource *self, double rate_hz, gint64 t0, guint64 released,
                           size_t max);

G_END_DECLS
