/* stance-source-usb.c: Stance plates over USB (libusb), and board discovery.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads. Two threads touch a StanceUsbSource:
 *   - the owner thread (the one that owns the GMainContext that was thread-default at creation):
 *     every public call, commands (synchronous round trips bounded by 1 s libusb timeouts),
 *     reopening after a replug, and closing handles;
 *   - the libusb event thread (one per source, one libusb context per source): every transfer
 *     callback and hotplug callback. It decodes stream frames and pushes samples into the ring,
 *     and reaches the GObject only through the base class's thread-safe calls (_stance_source_push,
 *     _stance_source_count, _stance_source_emit_event); work that must happen on the owner thread
 *     (closing the handle of an unplugged board, reopening a returning one) is queued there as a
 *     GSource on the owner context.
 * The fields shared by both threads sit under `lock`; `cond` is broadcast whenever a stream
 * transfer finishes or the FINAL frame arrives. Rule: never call libusb event handling or a
 * synchronous libusb function while holding `lock` (the event thread needs `lock` inside its
 * callbacks, so waiting for events with it held would deadlock).
 *
 * Stream timing. Each bulk IN transfer holds a whole number of 512-byte frames covering about
 * 10 ms at the current rate; enough of them are in flight to cover about 500 ms, so the board's
 * 64 ms FIFO never waits for the host even when the host is briefly busy. A stalled stream
 * endpoint is cleared and the transfer resubmitted; a second stall within a second ends the
 * stream with a FAULT. A board that sends nothing for 1 s while streaming ends the stream with a
 * FAULT with TIMEOUT: a watchdog on the event thread compares the time of the last data with the
 * clock at least every 0.1 s. The stream transfers themselves carry no libusb timeout: a
 * per-transfer timeout counts from submission, so with 500 ms queued it would measure the queue,
 * not the board's silence.
 *
 * Sample index. The board numbers its samples from START (drops included); the host adds
 * index_base, which is 0 for a fresh start. After an unplug the board restarts at 0 when it is
 * reopened, so index_base becomes the index after the last received sample plus the wall-clock
 * time that passed (monotonic clock, from the last data received to the moment streaming resumed)
 * times the rate: the gap sits where it happened and later samples stay aligned in time.
 */
#include "stance-source-usb.h"

#include <errno.h>
#include <libusb.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "stance-wire.h"

#define USB_IFACE 0
#define CMD_TIMEOUT_MS 1000u
#define SILENCE_US (1 * G_USEC_PER_SEC)      /* stream watchdog */
#define STALL_WINDOW_US (1 * G_USEC_PER_SEC) /* a second stall within this ends the stream */
#define STOP_DRAIN_US (200 * G_TIME_SPAN_MILLISECOND)
#define CANCEL_WAIT_US (1 * G_USEC_PER_SEC) /* cancelled transfers finish in microseconds */
#define XFER_TARGET_US 10000.0              /* one transfer: about 10 ms of samples */
#define QUEUE_TARGET_US 500000.0            /* all transfers in flight: about 500 ms */
#define MAX_CONSECUTIVE_ERRORS 16           /* bus errors in a row before giving up */
#define REPLY_BUF (STANCE_WIRE_MSG_MAX + STANCE_WIRE_PACKET_SIZE)
#define EVENT_POLL_US 100000  /* event thread wakes at least this often */
#define RECONNECT_POLL_MS 500 /* replug polling when libusb has no hotplug */

#define README_SECTION "\"Using real plates on Linux\""

/* ------------------------------------------------------------------------------------------ */
/* Synchronous transfers and commands (owner thread, or a listing thread without event thread) */

typedef struct {
  int completed; /* read by libusb's event waiting, set by the callback */
} SyncWait;

static void LIBUSB_CALL
sync_cb(struct libusb_transfer *t)
{
  SyncWait *w = t->user_data;
  w->completed = 1;
}

/* One bulk transfer, waited for like libusb_bulk_transfer() (this thread handles events itself
 * or waits for the thread that does), but able to end an OUT message with a zero-length packet
 * when its length is a multiple of the packet size (the protocol's end-of-message rule). Returns
 * 0 or a LIBUSB_ERROR_* code; *actual gets the bytes moved. */
static int
sync_bulk(libusb_context *ctx, libusb_device_handle *h, unsigned char ep, uint8_t *buf, int len,
          int *actual, unsigned int timeout_ms)
{
  struct libusb_transfer *t = libusb_alloc_transfer(0);
  if (!t)
    return LIBUSB_ERROR_NO_MEM;
  SyncWait w = {0};
  libusb_fill_bulk_transfer(t, h, ep, buf, len, sync_cb, &w, timeout_ms);
  if (!(ep & LIBUSB_ENDPOINT_IN) && len > 0 && len % STANCE_WIRE_PACKET_SIZE == 0)
    t->flags |= LIBUSB_TRANSFER_ADD_ZERO_PACKET;
  int r = libusb_submit_transfer(t);
  if (r < 0) {
    libusb_free_transfer(t);
    *actual = 0;
    return r;
  }
  while (!w.completed) {
    r = libusb_handle_events_completed(ctx, &w.completed);
    if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED) {
      /* Event handling itself failed: cancel and keep handling until the callback ran, so the
       * transfer is never freed while libusb still owns it. */
      libusb_cancel_transfer(t);
      while (!w.completed)
        if (libusb_handle_events_completed(ctx, &w.completed) < 0)
          g_usleep(1000);
      break;
    }
  }
  *actual = t->actual_length;
  switch (t->status) {
  case LIBUSB_TRANSFER_COMPLETED: r = 0; break;
  case LIBUSB_TRANSFER_TIMED_OUT: r = LIBUSB_ERROR_TIMEOUT; break;
  case LIBUSB_TRANSFER_STALL: r = LIBUSB_ERROR_PIPE; break;
  case LIBUSB_TRANSFER_NO_DEVICE: r = LIBUSB_ERROR_NO_DEVICE; break;
  case LIBUSB_TRANSFER_OVERFLOW: r = LIBUSB_ERROR_OVERFLOW; break;
  case LIBUSB_TRANSFER_CANCELLED: r = LIBUSB_ERROR_INTERRUPTED; break;
  default: r = LIBUSB_ERROR_IO; break;
  }
  libusb_free_transfer(t);
  return r;
}

/* An open board: what the command path needs. */
typedef struct {
  libusb_context *ctx;
  libusb_device_handle *h;
  guint16 tag;
  char serial[25];
} Link;

static void
set_usb_error(GError **error, int r, const char *serial, const char *what)
{
  const char *who = serial && *serial ? serial : "(unknown serial)";
  switch (r) {
  case LIBUSB_ERROR_TIMEOUT:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_TIMEOUT,
                "board %s did not answer %s within %u ms", who, what, CMD_TIMEOUT_MS);
    break;
  case LIBUSB_ERROR_NO_DEVICE:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_DISCONNECTED,
                "board %s went away during %s (unplugged?)", who, what);
    break;
  case LIBUSB_ERROR_PIPE:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STALL,
                "board %s stalled the endpoint during %s", who, what);
    break;
  case LIBUSB_ERROR_ACCESS:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_ACCESS,
                "permission denied using board %s during %s: install the udev rule "
                "data/70-stance.rules (README section " README_SECTION
                "), then unplug and replug the board",
                who, what);
    break;
  case LIBUSB_ERROR_BUSY:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_BUSY,
                "board %s is in use by another program (close other Stance windows or "
                "programs using it and try again)",
                who);
    break;
  default:
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                "USB error with board %s during %s: %s", who, what,
                libusb_strerror((enum libusb_error)r));
    break;
  }
}

/* One command round trip: the message on 0x02, the reply on 0x82, tag and opcode checked. The
 * reply is decoded into *reply (payload points into reply_buf). Reply statuses other than OK are
 * errors, except `tolerated` (a STANCE_WIRE_ST_* value, or -1 for none), which is returned in
 * reply->status for the caller to handle. Replies to commands other than INFO must carry our
 * major version. */
static gboolean
link_command(Link *l, uint8_t op, const uint8_t *payload, uint16_t len, int tolerated,
             uint8_t reply_buf[REPLY_BUF], StanceWireMsg *reply, GError **error)
{
  uint8_t cmd[STANCE_WIRE_MSG_MAX];
  StanceError err = {0};
  guint16 tag = ++l->tag;
  char what[48];
  g_snprintf(what, sizeof what, "the %s command", stance_wire_op_name(op));

  int n = stance_wire_msg_encode(false, op, tag, 0, payload, len, cmd, sizeof cmd, &err);
  if (n < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID, "cannot encode %s: %s", what,
                err.message);
    return FALSE;
  }
  int actual = 0;
  int r = sync_bulk(l->ctx, l->h, STANCE_WIRE_EP_CMD, cmd, n, &actual, CMD_TIMEOUT_MS);
  if (r == 0 && actual != n)
    r = LIBUSB_ERROR_IO;
  if (r < 0) {
    set_usb_error(error, r, l->serial, what);
    return FALSE;
  }

  /* A reply whose tag is older than ours is the late answer to a command that timed out: read
   * on once. A zero-length read is the terminating packet of an earlier full-size reply. */
  for (int attempt = 0; attempt < 3; attempt++) {
    r = sync_bulk(l->ctx, l->h, STANCE_WIRE_EP_REPLY, reply_buf, REPLY_BUF, &actual,
                  CMD_TIMEOUT_MS);
    if (r < 0) {
      set_usb_error(error, r, l->serial, what);
      return FALSE;
    }
    if (actual == 0)
      continue;
    if (stance_wire_msg_decode(reply_buf, (size_t)actual, reply, &err) < 0) {
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                  "board %s sent a malformed reply to %s: %s", l->serial, what, err.message);
      return FALSE;
    }
    if (reply->is_reply && reply->tag != tag && attempt == 0)
      continue;
    break;
  }
  if (actual == 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s sent only empty packets in reply to %s", l->serial, what);
    return FALSE;
  }
  if (!reply->is_reply || reply->tag != tag || reply->op != op) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s answered %s with an unexpected message (%s %s, tag %u; expected the "
                "reply to %s with tag %u)",
                l->serial, what, reply->is_reply ? "reply" : "command",
                stance_wire_op_name(reply->op), reply->tag, stance_wire_op_name(op), tag);
    return FALSE;
  }
  if (op != STANCE_WIRE_OP_INFO && reply->major != STANCE_WIRE_PROTO_MAJOR) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_VERSION,
                "board %s answered %s in protocol %u, this Stance speaks protocol %u: update "
                "Stance or the board's firmware",
                l->serial, what, reply->major, STANCE_WIRE_PROTO_MAJOR);
    return FALSE;
  }
  if (reply->status != STANCE_WIRE_ST_OK && (int)reply->status != tolerated) {
    g_set_error(error, STANCE_DAQ_ERROR,
                reply->status == STANCE_WIRE_ST_VERSION ? STANCE_DAQ_ERROR_VERSION
                                                        : STANCE_DAQ_ERROR_PROTOCOL,
                "board %s refused %s: %s", l->serial, what, stance_wire_status_text(reply->status));
    return FALSE;
  }
  return TRUE;
}

/* INFO, with the version check every host must make before anything else. */
static gboolean
link_info(Link *l, StanceWireInfo *info, GError **error)
{
  uint8_t buf[REPLY_BUF];
  StanceWireMsg reply;
  StanceError err = {0};
  if (!link_command(l, STANCE_WIRE_OP_INFO, NULL, 0, -1, buf, &reply, error))
    return FALSE;
  memset(info, 0, sizeof *info);
  int r = stance_wire_info_decode(reply.payload, reply.len, info, &err);
  if (r == STANCE_EVERSION || (r == 0 && info->major != STANCE_WIRE_PROTO_MAJOR)) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_VERSION,
                "board %s speaks protocol %u.%u, but this Stance understands protocol %u.%u "
                "(major %u only): update Stance, or flash firmware that speaks protocol %u",
                l->serial, info->major, info->minor, STANCE_WIRE_PROTO_MAJOR,
                STANCE_WIRE_PROTO_MINOR, STANCE_WIRE_PROTO_MAJOR, STANCE_WIRE_PROTO_MAJOR);
    return FALSE;
  }
  if (r < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s sent an invalid INFO reply: %s", l->serial, err.message);
    return FALSE;
  }
  if (info->channels != STANCE_WIRE_CHANNELS || info->n_rates == 0 ||
      info->n_rates > STANCE_WIRE_N_RATES) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s reports %u channels and %u rates (expected %d channels, 1-%d rates)",
                l->serial, info->channels, info->n_rates, STANCE_WIRE_CHANNELS,
                STANCE_WIRE_N_RATES);
    return FALSE;
  }
  if (info->serial[0] && l->serial[0] && strcmp(info->serial, l->serial) != 0)
    g_debug("board %s reports serial %s in INFO", l->serial, info->serial);
  return TRUE;
}

/* Copies a calibration into its wire block (to_wire) or back: the fields correspond one to one,
 * only the direction differs. The destination is cleared first; its strings are cut to fit. */
static void
calib_wire_copy(StanceCalibration *c, StanceWireCalib *w, gboolean to_wire)
{
#define MOVE(cal_field, wire_field)                                                                \
  do {                                                                                             \
    if (to_wire)                                                                                   \
      (wire_field) = (cal_field);                                                                  \
    else                                                                                           \
      (cal_field) = (wire_field);                                                                  \
  } while (0)
  if (to_wire) {
    memset(w, 0, sizeof *w);
    g_strlcpy(w->id, c->id, sizeof w->id);
    g_strlcpy(w->board_serial, c->board_serial, sizeof w->board_serial);
  } else {
    memset(c, 0, sizeof *c);
    g_strlcpy(c->id, w->id, sizeof c->id);
    g_strlcpy(c->board_serial, w->board_serial, sizeof c->board_serial);
  }
  MOVE(c->created_unix_ms, w->created_unix_ms);
  for (int i = 0; i < STANCE_N_CELLS; i++) {
    MOVE(c->offset_counts[i], w->offset_counts[i]);
    MOVE(c->gain_n_per_count[i], w->gain_n_per_count[i]);
  }
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    MOVE(c->plate[p].width_mm, w->plate[p].width_mm);
    MOVE(c->plate[p].length_mm, w->plate[p].length_mm);
    for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++) {
      MOVE(c->plate[p].cell[k].x_mm, w->plate[p].cell_x_mm[k]);
      MOVE(c->plate[p].cell[k].y_mm, w->plate[p].cell_y_mm[k]);
    }
    MOVE(c->plate[p].centre_x_mm, w->plate[p].centre_x_mm);
    MOVE(c->plate[p].centre_y_mm, w->plate[p].centre_y_mm);
  }
#undef MOVE
}

/* READ_CALIB. Returns TRUE with *found FALSE when the board has no valid block. */
static gboolean
link_read_calib(Link *l, StanceCalibration *cal, gboolean *found, GError **error)
{
  uint8_t buf[REPLY_BUF];
  StanceWireMsg reply;
  StanceError err = {0};
  *found = FALSE;
  if (!link_command(l, STANCE_WIRE_OP_READ_CALIB, NULL, 0, STANCE_WIRE_ST_NO_CALIB, buf, &reply,
                    error))
    return FALSE;
  if (reply.status == STANCE_WIRE_ST_NO_CALIB)
    return TRUE;
  StanceWireCalib w;
  if (stance_wire_calib_decode(reply.payload, reply.len, &w, &err) < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s sent an invalid calibration block: %s", l->serial, err.message);
    return FALSE;
  }
  if (strlen(w.id) >= sizeof cal->id) {
    /* The wire allows 64 bytes; Stance recordings keep ids of at most 63 (with the NUL). */
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s holds a calibration id of %zu bytes (expected at most %zu): "
                "write the calibration again with Stance",
                l->serial, strlen(w.id), sizeof cal->id - 1);
    return FALSE;
  }
  calib_wire_copy(cal, &w, FALSE);
  *found = TRUE;
  return TRUE;
}

static gboolean
link_simple(Link *l, uint8_t op, const uint8_t *payload, uint16_t len, GError **error)
{
  uint8_t buf[REPLY_BUF];
  StanceWireMsg reply;
  return link_command(l, op, payload, len, -1, buf, &reply, error);
}

static gboolean
link_set_rate(Link *l, uint32_t hz, GError **error)
{
  uint8_t p[4] = {(uint8_t)hz, (uint8_t)(hz >> 8), (uint8_t)(hz >> 16), (uint8_t)(hz >> 24)};
  return link_simple(l, STANCE_WIRE_OP_SET_RATE, p, sizeof p, error);
}

/* Reads the serial (iSerialNumber) of an opened device; "" when it has none. */
static int
read_serial(libusb_device_handle *h, char out[25])
{
  struct libusb_device_descriptor dd;
  out[0] = '\0';
  int r = libusb_get_device_descriptor(libusb_get_device(h), &dd);
  if (r < 0)
    return r;
  if (dd.iSerialNumber == 0)
    return 0;
  unsigned char s[64];
  r = libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, s, sizeof s);
  if (r < 0)
    return r;
  g_strlcpy(out, (const char *)s, 25);
  return 0;
}

static gboolean
is_stance_board(libusb_device *dev)
{
  struct libusb_device_descriptor dd;
  return libusb_get_device_descriptor(dev, &dd) == 0 && dd.idVendor == STANCE_WIRE_VID &&
         dd.idProduct == STANCE_WIRE_PID;
}

/* The board was asked STOP while a stream was running (left by a crashed program): read and
 * discard the stream endpoint until the FINAL frame, so the next stream starts clean. Bounded by
 * about a second. */
static void
link_discard_stream(Link *l)
{
  uint8_t buf[4 * STANCE_WIRE_FRAME_SIZE];
  gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC;
  while (g_get_monotonic_time() < end) {
    int actual = 0;
    int r = sync_bulk(l->ctx, l->h, STANCE_WIRE_EP_STREAM, buf, sizeof buf, &actual, 100);
    for (int off = 0; off + STANCE_WIRE_FRAME_SIZE <= actual; off += STANCE_WIRE_FRAME_SIZE)
      if (buf[off + 3] & STANCE_WIRE_FRAME_FINAL)
        return;
    if (r < 0 && r != LIBUSB_ERROR_TIMEOUT)
      return;
    if (r == LIBUSB_ERROR_TIMEOUT && actual == 0)
      return;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The source */

typedef struct {
  StanceUsbSource *self;
  struct libusb_transfer *xfer;
  gboolean busy; /* submitted and its callback has not run yet */
} StreamXfer;

struct _StanceUsbSource {
  StanceSource parent_instance;

  char *want_serial; /* NULL: the only board */
  GMainContext *owner;

  /* Owner thread. */
  libusb_context *usb;
  GThread *event_thread;
  int quit; /* atomic; libusb's `completed` flag for the event loop */
  gboolean hotplug_registered;
  libusb_hotplug_callback_handle hotplug;
  Link link; /* link.h is also read by the hotplug callback, under lock */
  gboolean claimed;
  StanceWireInfo winfo;
  StanceSourceInfo info;
  gboolean opened;

  GMutex lock;
  GCond cond;
  /* Under lock: stream state shared with the event thread. */
  StreamXfer *xfers;
  guint n_xfers;
  guint in_flight;
  gsize xfer_len;
  StanceSample *batch;
  gsize batch_cap;
  gboolean streaming; /* transfers are to be resubmitted */
  gboolean stopping;  /* STOP sent: resubmit until the FINAL frame */
  gboolean saw_final;
  gboolean awaiting_first;
  gboolean dead; /* the open handle's device is gone */
  gboolean faulted;
  gboolean waiting; /* unplugged mid-stream: waiting for the same serial */
  gboolean closing;
  GPtrArray *arrivals; /* libusb_device refs that arrived while waiting */
  GSource *work;       /* pending owner-thread work (cleanup, reconnect) */
  StanceWireTracker tracker;
  guint64 index_base;
  guint64 next_index; /* host index after the last sample accounted for */
  gboolean overflow_pending;
  gint64 last_data_us;
  gint64 last_stall_us;
  guint stalls_cleared;
  guint consecutive_errors;
  int rate_code;
  double rate_hz;
};

G_DEFINE_FINAL_TYPE(StanceUsbSource, stance_usb_source, STANCE_TYPE_SOURCE)

static void schedule_work(StanceUsbSource *self, guint delay_ms);
static void fault_locked(StanceUsbSource *self, GError *e);

/* ---- Event thread ---- */

static gpointer
event_thread_main(gpointer data)
{
  StanceUsbSource *self = data;
  while (!g_atomic_int_get(&self->quit)) {
    struct timeval tv = {0, EVENT_POLL_US};
    int r = libusb_handle_events_timeout_completed(self->usb, &tv, &self->quit);
    if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT)
      g_usleep(1000); /* should not happen; avoid spinning on a broken context */

    /* Stream watchdog: a board that sends nothing for a second while streaming has hung. */
    g_mutex_lock(&self->lock);
    if (self->streaming && !self->stopping && !self->faulted && !self->dead &&
        g_get_monotonic_time() - self->last_data_us > SILENCE_US)
      fault_locked(self, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_TIMEOUT,
                                     "board %s sent no data for %.1f s while streaming; the "
                                     "stream was stopped (check the cable, then start again)",
                                     self->link.serial, SILENCE_US / 1e6));
    g_mutex_unlock(&self->lock);
  }
  return NULL;
}

/* Lock held. Ends the stream with a FAULT: no more resubmission, the rest cancelled. */
static void
fault_locked(StanceUsbSource *self, GError *e)
{
  if (self->faulted) {
    g_error_free(e);
    return;
  }
  self->faulted = TRUE;
  for (guint i = 0; i < self->n_xfers; i++)
    if (self->xfers[i].busy)
      libusb_cancel_transfer(self->xfers[i].xfer);
  /* emit_event only queues onto the owner context: safe with the lock held. */
  _stance_source_emit_event(STANCE_SOURCE(self), STANCE_SOURCE_EVENT_FAULT, e);
  g_error_free(e);
}

/* Lock held. The open board went away (transfer NO_DEVICE, failed submit, hotplug LEFT). */
static void
gone_locked(StanceUsbSource *self)
{
  if (self->dead)
    return;
  self->dead = TRUE;
  for (guint i = 0; i < self->n_xfers; i++)
    if (self->xfers[i].busy)
      libusb_cancel_transfer(self->xfers[i].xfer);
  if (self->streaming && !self->stopping && !self->faulted) {
    self->waiting = TRUE;
    StanceSourceStats d = {.disconnects = 1};
    _stance_source_count(STANCE_SOURCE(self), &d);
    GError *e = g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_DISCONNECTED,
                            "board %s was unplugged; everything received is kept and the "
                            "recording resumes when it is plugged in again",
                            self->link.serial);
    _stance_source_emit_event(STANCE_SOURCE(self), STANCE_SOURCE_EVENT_DISCONNECTED, e);
    g_error_free(e);
  }
  self->streaming = FALSE; /* a vanished board streams no more; resume starts a new stream */
  g_cond_broadcast(&self->cond);
  schedule_work(self, 0);
}

/* Lock held, event thread. Decodes the whole frames of one finished transfer. `arrived` is TRUE
 * when the transfer completed just now (its data is fresh: the board was alive a moment ago);
 * FALSE for what a cancelled or failed transfer had collected earlier. */
static void
decode_locked(StanceUsbSource *self, const uint8_t *buf, int len, gboolean arrived)
{
  StanceSourceStats d = {0};
  gsize n = 0;
  gint64 now = g_get_monotonic_time();

  for (int off = 0; off + STANCE_WIRE_FRAME_SIZE <= len; off += STANCE_WIRE_FRAME_SIZE) {
    StanceWireFrame f;
    StanceError err = {0};
    if (stance_wire_frame_decode(buf + off, STANCE_WIRE_FRAME_SIZE, &f, &err) < 0) {
      stance_wire_tracker_refuse(&self->tracker);
      d.crc_errors++;
      g_debug("board %s: frame refused: %s", self->link.serial, err.message);
      continue;
    }
    if (self->awaiting_first && (f.flags & STANCE_WIRE_FRAME_FINAL) && f.seq != 0) {
      /* The end of a stream from before our START: not ours. */
      continue;
    }
    self->awaiting_first = FALSE;
    guint64 lost0 = self->tracker.frames_lost, drop0 = self->tracker.board_dropped;
    guint64 gap = 0;
    if (stance_wire_tracker_accept(&self->tracker, &f, &gap, &err) < 0) {
      d.crc_errors++;
      g_debug("board %s: frame out of place: %s", self->link.serial, err.message);
      continue;
    }
    d.frames++;
    d.frames_lost += self->tracker.frames_lost - lost0;
    d.board_overflows += self->tracker.board_dropped - drop0;
    d.gap_samples += gap;
    if (f.dropped > 0 || (f.flags & STANCE_WIRE_FRAME_OVERFLOW))
      self->overflow_pending = TRUE;
    for (int j = 0; j < f.n_samples; j++) {
      if (f.status[j] & STANCE_WIRE_SAMPLE_ADC_CRC) {
        d.gap_samples++; /* values are not valid: the sample becomes a gap */
        continue;
      }
      StanceSample *s = &self->batch[n++];
      s->index = self->index_base + f.first_sample + (guint64)j;
      s->status = f.sat[j];
      if (self->overflow_pending) {
        s->status |= STANCE_STATUS_OVERFLOW;
        self->overflow_pending = FALSE;
      }
      for (int c = 0; c < STANCE_WIRE_CHANNELS; c++)
        s->v[c] = (double)f.counts[j][c];
    }
    self->next_index = self->index_base + self->tracker.next_sample;
    if (f.flags & STANCE_WIRE_FRAME_FINAL)
      self->saw_final = TRUE;
  }
  if (arrived && len >= STANCE_WIRE_FRAME_SIZE)
    self->last_data_us = now;
  if (n > 0)
    _stance_source_push(STANCE_SOURCE(self), self->batch, n);
  _stance_source_count(STANCE_SOURCE(self), &d);
}

static void LIBUSB_CALL
stream_cb(struct libusb_transfer *t)
{
  StreamXfer *x = t->user_data;
  StanceUsbSource *self = x->self;
  gboolean resubmit = FALSE;

  g_mutex_lock(&self->lock);
  x->busy = FALSE;
  self->in_flight--;

  /* Whatever arrived is kept, also from cancelled, timed-out or faulted transfers. */
  if (t->actual_length > 0)
    decode_locked(self, t->buffer, t->actual_length, t->status == LIBUSB_TRANSFER_COMPLETED);

  switch (t->status) {
  case LIBUSB_TRANSFER_COMPLETED:
    self->consecutive_errors = 0;
    resubmit = TRUE;
    break;
  case LIBUSB_TRANSFER_CANCELLED: break;
  case LIBUSB_TRANSFER_NO_DEVICE: gone_locked(self); break;
  case LIBUSB_TRANSFER_STALL: {
    if (self->faulted || self->dead || !self->streaming)
      break;
    gint64 now = g_get_monotonic_time();
    if (self->last_stall_us != 0 && now - self->last_stall_us < STALL_WINDOW_US) {
      fault_locked(self, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STALL,
                                     "board %s stalled its stream endpoint twice within a "
                                     "second; the stream was stopped (replug the board)",
                                     self->link.serial));
      break;
    }
    self->last_stall_us = now;
    /* CLEAR_FEATURE(ENDPOINT_HALT) is a plain ioctl on Linux: fine on this thread. */
    int r = libusb_clear_halt(self->link.h, STANCE_WIRE_EP_STREAM);
    if (r == LIBUSB_ERROR_NO_DEVICE) {
      gone_locked(self);
    } else if (r < 0) {
      fault_locked(self, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STALL,
                                     "board %s stalled its stream endpoint and the stall could "
                                     "not be cleared: %s",
                                     self->link.serial, libusb_strerror((enum libusb_error)r)));
    } else {
      self->stalls_cleared++;
      g_info("board %s: stream endpoint stall cleared (%u so far)", self->link.serial,
             self->stalls_cleared);
      resubmit = TRUE;
    }
    break;
  }
  case LIBUSB_TRANSFER_ERROR:
  case LIBUSB_TRANSFER_OVERFLOW:
  default:
    /* Bus errors also precede an unplug: resubmitting tells the two apart (a gone device
     * refuses the submit with NO_DEVICE). Many in a row is a broken link. */
    if (++self->consecutive_errors > MAX_CONSECUTIVE_ERRORS) {
      fault_locked(self, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                                     "board %s: %u USB errors in a row on the stream (last: "
                                     "%s); the stream was stopped",
                                     self->link.serial, self->consecutive_errors,
                                     libusb_error_name(t->status)));
    } else {
      resubmit = TRUE;
    }
    break;
  }

  if (resubmit && self->streaming && !self->faulted && !self->dead &&
      !(self->stopping && self->saw_final)) {
    int r = libusb_submit_transfer(t);
    if (r == 0) {
      x->busy = TRUE;
      self->in_flight++;
    } else if (r == LIBUSB_ERROR_NO_DEVICE) {
      gone_locked(self);
    } else {
      fault_locked(self, g_error_new(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                                     "board %s: cannot resubmit a stream transfer: %s",
                                     self->link.serial, libusb_strerror((enum libusb_error)r)));
    }
  }
  g_cond_broadcast(&self->cond);
  g_mutex_unlock(&self->lock);
}

static int LIBUSB_CALL
hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *user_data)
{
  StanceUsbSource *self = user_data;
  g_mutex_lock(&self->lock);
  if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
    if (self->link.h && libusb_get_device(self->link.h) == dev)
      gone_locked(self);
  } else if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED && self->waiting && !self->closing) {
    /* Opening happens on the owner thread, never inside a hotplug callback. */
    g_ptr_array_add(self->arrivals, libusb_ref_device(dev));
    schedule_work(self, 0);
  }
  g_mutex_unlock(&self->lock);
  return 0;
}

/* ---- Owner thread ---- */

/* Transfer geometry for a rate: frames per transfer and transfers in flight. A frame carries 18
 * samples but the board flushes a partial frame once its oldest sample is 10 ms old, so a frame
 * spans min(18 / rate, ~10 ms). */
static void
stream_geometry(double rate_hz, guint *frames_per_xfer, guint *n_xfers)
{
  double frame_us = MIN(STANCE_WIRE_SAMPLES_PER_FRAME * 1e6 / rate_hz, XFER_TARGET_US);
  guint f = (guint)lround(XFER_TARGET_US / frame_us);
  if (f < 1)
    f = 1;
  guint n = (guint)ceil(QUEUE_TARGET_US / (f * frame_us));
  if (n < 2)
    n = 2;
  *frames_per_xfer = f;
  *n_xfers = n;
}

/* Lock NOT held. Frees the stream transfers; they must all have finished. */
static void
free_transfers(StanceUsbSource *self)
{
  g_mutex_lock(&self->lock);
  g_assert(self->in_flight == 0);
  StreamXfer *xs = self->xfers;
  guint n = self->n_xfers;
  self->xfers = NULL;
  self->n_xfers = 0;
  g_mutex_unlock(&self->lock);
  for (guint i = 0; i < n; i++)
    if (xs[i].xfer)
      libusb_free_transfer(xs[i].xfer); /* LIBUSB_TRANSFER_FREE_BUFFER frees the buffer */
  g_free(xs);
}

/* Lock NOT held. Cancels every stream transfer and waits (bounded) for their callbacks. Returns
 * FALSE when some did not finish in time (they are then leaked rather than freed in flight). */
static gboolean
cancel_and_wait(StanceUsbSource *self)
{
  g_mutex_lock(&self->lock);
  self->streaming = FALSE;
  for (guint i = 0; i < self->n_xfers; i++)
    if (self->xfers[i].busy)
      libusb_cancel_transfer(self->xfers[i].xfer);
  gint64 end = g_get_monotonic_time() + CANCEL_WAIT_US;
  while (self->in_flight > 0)
    if (!g_cond_wait_until(&self->cond, &self->lock, end))
      break;
  gboolean ok = self->in_flight == 0;
  if (!ok) {
    g_warning("board %s: %u stream transfers did not finish after cancellation", self->link.serial,
              self->in_flight);
    /* Leak them: libusb still owns them. */
    self->xfers = NULL;
    self->n_xfers = 0;
    self->in_flight = 0;
  }
  g_mutex_unlock(&self->lock);
  if (ok)
    free_transfers(self);
  return ok;
}

/* Lock NOT held. Allocates and submits the stream transfers for the current rate; the board's
 * sample 0 will be host index index_base. On failure everything submitted is cancelled again. */
static gboolean
submit_transfers(StanceUsbSource *self, guint64 index_base, GError **error)
{
  guint fpx, n;
  stream_geometry(self->rate_hz, &fpx, &n);
  gsize len = (gsize)fpx * STANCE_WIRE_FRAME_SIZE;

  StreamXfer *xs = g_new0(StreamXfer, n);
  for (guint i = 0; i < n; i++) {
    xs[i].self = self;
    xs[i].xfer = libusb_alloc_transfer(0);
    guint8 *buf = g_malloc(len);
    if (!xs[i].xfer) {
      g_free(buf);
      for (guint k = 0; k < i; k++)
        libusb_free_transfer(xs[k].xfer);
      g_free(xs);
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "out of memory for transfers");
      return FALSE;
    }
    libusb_fill_bulk_transfer(xs[i].xfer, self->link.h, STANCE_WIRE_EP_STREAM, buf, (int)len,
                              stream_cb, &xs[i], 0 /* no timeout: the watchdog watches */);
    /* libusb frees the buffer with free(): allocate it with malloc semantics. g_malloc is
     * malloc on every platform GLib >= 2.46 supports. */
    xs[i].xfer->flags |= LIBUSB_TRANSFER_FREE_BUFFER;
  }

  g_mutex_lock(&self->lock);
  gsize cap = (gsize)fpx * STANCE_WIRE_SAMPLES_PER_FRAME;
  if (self->batch_cap < cap) {
    self->batch = g_renew(StanceSample, self->batch, cap);
    self->batch_cap = cap;
  }
  self->xfers = xs;
  self->n_xfers = n;
  self->xfer_len = len;
  self->in_flight = 0;
  self->streaming = TRUE;
  self->stopping = FALSE;
  self->saw_final = FALSE;
  self->faulted = FALSE;
  self->awaiting_first = TRUE;
  self->overflow_pending = FALSE;
  self->last_stall_us = 0;
  self->consecutive_errors = 0;
  self->last_data_us = g_get_monotonic_time();
  self->index_base = index_base;
  self->next_index = index_base;
  stance_wire_tracker_init(&self->tracker);
  int r = 0;
  for (guint i = 0; i < n && r == 0; i++) {
    r = libusb_submit_transfer(xs[i].xfer);
    if (r == 0) {
      xs[i].busy = TRUE;
      self->in_flight++;
    }
  }
  g_mutex_unlock(&self->lock);
  if (r < 0) {
    set_usb_error(error, r, self->link.serial, "starting the stream transfers");
    cancel_and_wait(self);
    return FALSE;
  }
  return TRUE;
}

static void
close_link(StanceUsbSource *self)
{
  libusb_device_handle *h;
  g_mutex_lock(&self->lock);
  h = self->link.h;
  self->link.h = NULL;
  g_mutex_unlock(&self->lock);
  if (!h)
    return;
  if (self->claimed)
    libusb_release_interface(h, USB_IFACE);
  self->claimed = FALSE;
  libusb_close(h);
}

/* Opens dev, checks its serial (when want is not NULL), claims the interface and checks INFO.
 * On success self->link holds the handle (and serial) and self->winfo the board's INFO. */
static gboolean
open_device(StanceUsbSource *self, libusb_device *dev, const char *want, GError **error)
{
  libusb_device_handle *h = NULL;
  char serial[25] = "";
  int r = libusb_open(dev, &h);
  if (r < 0) {
    if (r == LIBUSB_ERROR_ACCESS)
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_ACCESS,
                  "permission denied opening the Stance board on USB bus %u, address %u: install "
                  "the udev rule data/70-stance.rules (README section " README_SECTION
                  "), then unplug and replug the board",
                  libusb_get_bus_number(dev), libusb_get_device_address(dev));
    else
      set_usb_error(error, r, want, "opening");
    return FALSE;
  }
  /* From here until the handle is the link's, a failure closes it (fail_close below). */
  r = read_serial(h, serial);
  if (r < 0) {
    set_usb_error(error, r, want, "reading the serial number");
    goto fail_close;
  }
  if (want && strcmp(serial, want) != 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_NOT_FOUND,
                "the board on bus %u, address %u has serial '%s', not '%s'",
                libusb_get_bus_number(dev), libusb_get_device_address(dev), serial, want);
    goto fail_close;
  }
  r = libusb_claim_interface(h, USB_IFACE);
  if (r < 0) {
    set_usb_error(error, r, serial, "claiming its interface");
    goto fail_close;
  }
  g_mutex_lock(&self->lock);
  self->link.ctx = self->usb;
  self->link.h = h;
  g_strlcpy(self->link.serial, serial, sizeof self->link.serial);
  self->dead = FALSE;
  g_mutex_unlock(&self->lock);
  self->claimed = TRUE;

  StanceWireInfo wi;
  if (!link_info(&self->link, &wi, error)) {
    close_link(self);
    return FALSE;
  }
  self->winfo = wi;
  if (wi.flags & STANCE_WIRE_INFO_STREAMING) {
    /* Left streaming by a program that ended without stopping it. */
    GError *e = NULL;
    if (!link_simple(&self->link, STANCE_WIRE_OP_STOP, NULL, 0, &e)) {
      g_debug("board %s: stopping a stale stream: %s", serial, e->message);
      g_clear_error(&e);
    }
    link_discard_stream(&self->link);
  }
  return TRUE;

fail_close:
  libusb_close(h);
  return FALSE;
}

/* Finds and opens the board this source wants (by serial, or the only one). */
static gboolean
find_and_open(StanceUsbSource *self, GError **error)
{
  libusb_device **list = NULL;
  ssize_t n = libusb_get_device_list(self->usb, &list);
  if (n < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "cannot list USB devices: %s",
                libusb_strerror((enum libusb_error)n));
    return FALSE;
  }
  GString *present = g_string_new(NULL);
  GError *first_err = NULL;
  libusb_device *match = NULL;
  int n_boards = 0;
  gboolean ok = FALSE;

  for (ssize_t i = 0; i < n; i++) {
    if (!is_stance_board(list[i]))
      continue;
    n_boards++;
    /* Read the serial without claiming: the board may be busy elsewhere. */
    libusb_device_handle *h = NULL;
    char serial[25] = "";
    int r = libusb_open(list[i], &h);
    if (r == 0) {
      r = read_serial(h, serial);
      libusb_close(h);
    }
    if (r < 0) {
      if (!first_err) {
        if (r == LIBUSB_ERROR_ACCESS)
          g_set_error(&first_err, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_ACCESS,
                      "permission denied opening the Stance board on USB bus %u, address %u: "
                      "install the udev rule data/70-stance.rules (README section " README_SECTION
                      "), then unplug and replug the board",
                      libusb_get_bus_number(list[i]), libusb_get_device_address(list[i]));
        else
          set_usb_error(&first_err, r, NULL, "reading the serial number");
      }
      g_string_append_printf(present, "%s(bus %u address %u, unreadable)", present->len ? ", " : "",
                             libusb_get_bus_number(list[i]), libusb_get_device_address(list[i]));
      if (!self->want_serial && !match)
        match = list[i]; /* the only board: report its real problem below */
      continue;
    }
    g_string_append_printf(present, "%s%s", present->len ? ", " : "",
                           serial[0] ? serial : "(none)");
    if (self->want_serial ? strcmp(serial, self->want_serial) == 0 : !match)
      match = list[i];
  }

  if (!self->want_serial && n_boards > 1) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                "%d Stance boards are connected (%s): choose one by its serial", n_boards,
                present->str);
  } else if (!match) {
    if (first_err) {
      /* A board we could not read may be the one asked for: its problem is the useful one. */
      g_propagate_error(error, first_err);
      first_err = NULL;
    } else if (self->want_serial) {
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_NOT_FOUND,
                  "no Stance board with serial '%s' is connected (connected: %s)",
                  self->want_serial, n_boards ? present->str : "none");
    } else {
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_NOT_FOUND,
                  "no Stance board is connected (looked for USB %04x:%04x)", STANCE_WIRE_VID,
                  STANCE_WIRE_PID);
    }
  } else {
    ok = open_device(self, match, self->want_serial, error);
  }
  g_clear_error(&first_err);
  g_string_free(present, TRUE);
  libusb_free_device_list(list, 1);
  return ok;
}

static void
fill_info(StanceUsbSource *self, gboolean has_cal, const StanceCalibration *cal)
{
  StanceSourceInfo *in = &self->info;
  const StanceWireInfo *w = &self->winfo;
  memset(in, 0, sizeof *in);
  g_strlcpy(in->kind, "usb", sizeof in->kind);
  g_snprintf(in->description, sizeof in->description,
             "Stance plates %s (firmware %s, protocol %u.%u)", self->link.serial,
             w->firmware_version, w->major, w->minor);
  g_strlcpy(in->serial, self->link.serial, sizeof in->serial);
  g_strlcpy(in->firmware_version, w->firmware_version, sizeof in->firmware_version);
  g_strlcpy(in->hardware, w->hardware, sizeof in->hardware);
  in->proto_major = w->major;
  in->proto_minor = w->minor;
  in->layout = STANCE_LAYOUT_CELLS;
  in->has_cop = FALSE;
  in->n_rates = 0;
  for (int i = 0; i < w->n_rates && i < 4; i++)
    if (w->rates_hz[i] > 0)
      in->rates_hz[in->n_rates++] = w->rates_hz[i];
  in->rate_hz = self->rate_hz;
  in->has_calibration = has_cal;
  if (has_cal)
    in->calib = *cal;
  else
    stance_calibration_default(&in->calib);
  if (!has_cal)
    g_strlcpy(in->calib.board_serial, self->link.serial, sizeof in->calib.board_serial);
}

static gboolean
ensure_context(StanceUsbSource *self, GError **error)
{
  if (self->usb)
    return TRUE;
  int r = libusb_init(&self->usb);
  if (r < 0) {
    self->usb = NULL;
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "cannot start libusb: %s",
                libusb_strerror((enum libusb_error)r));
    return FALSE;
  }
  g_atomic_int_set(&self->quit, 0);
  self->event_thread = g_thread_new("stance-usb-events", event_thread_main, self);
  if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
    r = libusb_hotplug_register_callback(
        self->usb, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
        STANCE_WIRE_VID, STANCE_WIRE_PID, LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, self,
        &self->hotplug);
    self->hotplug_registered = r == LIBUSB_SUCCESS;
    if (r < 0)
      g_debug("libusb hotplug unavailable (%s): polling for replugged boards instead",
              libusb_strerror((enum libusb_error)r));
  }
  return TRUE;
}

static void
teardown_context(StanceUsbSource *self)
{
  if (!self->usb)
    return;
  if (self->hotplug_registered)
    libusb_hotplug_deregister_callback(self->usb, self->hotplug);
  self->hotplug_registered = FALSE;
  g_atomic_int_set(&self->quit, 1);
  libusb_interrupt_event_handler(self->usb);
  g_thread_join(self->event_thread);
  self->event_thread = NULL;
  g_mutex_lock(&self->lock);
  g_ptr_array_set_size(self->arrivals, 0);
  g_mutex_unlock(&self->lock);
  libusb_exit(self->usb);
  self->usb = NULL;
}

static gboolean
usb_open(StanceSource *source, GError **error)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(source);
  if (!ensure_context(self, error))
    return FALSE;
  if (!find_and_open(self, error)) {
    teardown_context(self);
    return FALSE;
  }
  StanceCalibration cal;
  gboolean has_cal = FALSE;
  if (!link_read_calib(&self->link, &cal, &has_cal, error)) {
    close_link(self);
    teardown_context(self);
    return FALSE;
  }
  int code = self->winfo.current_rate_code;
  self->rate_code = stance_wire_rate_hz(code) ? code : STANCE_WIRE_RATE_1000;
  self->rate_hz = stance_wire_rate_hz(self->rate_code);
  fill_info(self, has_cal, &cal);
  _stance_source_set_info(source, &self->info);
  self->opened = TRUE;
  return TRUE;
}

static gboolean
rate_supported(StanceUsbSource *self, double rate_hz, int *code, GError **error)
{
  for (int i = 0; i < self->info.n_rates; i++) {
    if (fabs(self->info.rates_hz[i] - rate_hz) < 1e-6) {
      int c = stance_wire_rate_code((uint32_t)lround(rate_hz));
      if (c >= 0) {
        *code = c;
        return TRUE;
      }
    }
  }
  GString *s = g_string_new(NULL);
  for (int i = 0; i < self->info.n_rates; i++)
    g_string_append_printf(s, "%s%g", i ? ", " : "", self->info.rates_hz[i]);
  g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_RATE,
              "%g Hz is not a rate board %s supports (supported: %s Hz)", rate_hz,
              self->link.serial, s->str);
  g_string_free(s, TRUE);
  return FALSE;
}

/* Reopens the board by serial when its handle died while the source was not streaming. */
static gboolean
ensure_link(StanceUsbSource *self, GError **error)
{
  g_mutex_lock(&self->lock);
  gboolean dead = self->dead || !self->link.h;
  g_mutex_unlock(&self->lock);
  if (!dead)
    return TRUE;
  close_link(self);
  char *want = g_strdup(self->info.serial);
  char *saved = self->want_serial;
  self->want_serial = want;
  gboolean ok = find_and_open(self, error);
  self->want_serial = saved;
  g_free(want);
  return ok;
}

static gboolean
usb_set_rate(StanceSource *source, double rate_hz, GError **error)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(source);
  int code;
  if (!self->opened) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE, "the board is not open");
    return FALSE;
  }
  if (!rate_supported(self, rate_hz, &code, error))
    return FALSE;
  g_mutex_lock(&self->lock);
  gboolean busy = self->streaming || self->waiting || self->n_xfers > 0;
  g_mutex_unlock(&self->lock);
  if (busy) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE,
                "the rate of board %s cannot change while it streams (stop first)",
                self->link.serial);
    return FALSE;
  }
  if (!ensure_link(self, error) || !link_set_rate(&self->link, stance_wire_rate_hz(code), error))
    return FALSE;
  self->rate_code = code;
  self->rate_hz = stance_wire_rate_hz(code);
  self->info.rate_hz = self->rate_hz;
  _stance_source_set_info(source, &self->info);
  return TRUE;
}

static gboolean board_idle(StanceUsbSource *self, GError **error, const char *busy_format, ...)
    G_GNUC_PRINTF(3, 4);

/* TRUE when the board is open and not streaming (nor waiting for a stream to come back); else a
 * STATE error, which says "not open" or, busy, busy_format's text. */
static gboolean
board_idle(StanceUsbSource *self, GError **error, const char *busy_format, ...)
{
  if (!self->opened) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE, "the board is not open");
    return FALSE;
  }
  g_mutex_lock(&self->lock);
  gboolean busy = self->streaming || self->waiting || self->n_xfers > 0;
  g_mutex_unlock(&self->lock);
  if (busy) {
    va_list ap;
    va_start(ap, busy_format);
    char *why = g_strdup_vprintf(busy_format, ap);
    va_end(ap);
    g_set_error_literal(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE, why);
    g_free(why);
    return FALSE;
  }
  return TRUE;
}

static gboolean
usb_start(StanceSource *source, GError **error)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(source);
  if (!board_idle(self, error, "board %s is already streaming", self->link.serial))
    return FALSE;
  if (!ensure_link(self, error))
    return FALSE;
  if (!link_set_rate(&self->link, (uint32_t)self->rate_hz, error) ||
      !link_simple(&self->link, STANCE_WIRE_OP_START, NULL, 0, error))
    return FALSE;
  if (!submit_transfers(self, 0, error)) {
    GError *e = NULL;
    if (!link_simple(&self->link, STANCE_WIRE_OP_STOP, NULL, 0, &e))
      g_clear_error(&e);
    return FALSE;
  }
  return TRUE;
}

static void
cancel_work(StanceUsbSource *self)
{
  g_mutex_lock(&self->lock);
  GSource *w = self->work;
  self->work = NULL;
  g_ptr_array_set_size(self->arrivals, 0);
  self->waiting = FALSE;
  g_mutex_unlock(&self->lock);
  if (w) {
    g_source_destroy(w);
    g_source_unref(w);
  }
}

static void
usb_stop(StanceSource *source)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(source);

  g_mutex_lock(&self->lock);
  gboolean live = self->streaming && !self->faulted && !self->dead;
  gboolean have_xfers = self->n_xfers > 0;
  gboolean board_there = self->link.h && !self->dead;
  if (live)
    self->stopping = TRUE;
  g_mutex_unlock(&self->lock);

  cancel_work(self);

  if (board_there && (live || have_xfers)) {
    GError *e = NULL;
    if (!link_simple(&self->link, STANCE_WIRE_OP_STOP, NULL, 0, &e)) {
      /* NOT_STREAMING after a fault, or a board that stopped answering: nothing more to do. */
      g_debug("board %s: STOP: %s", self->link.serial, e->message);
      g_clear_error(&e);
    }
  }
  if (live) {
    /* Keep the transfers going until the FINAL frame has delivered the last samples. */
    g_mutex_lock(&self->lock);
    gint64 end = g_get_monotonic_time() + STOP_DRAIN_US;
    while (!self->saw_final && !self->dead && self->in_flight > 0)
      if (!g_cond_wait_until(&self->cond, &self->lock, end))
        break;
    g_mutex_unlock(&self->lock);
  }
  if (have_xfers)
    cancel_and_wait(self);

  g_mutex_lock(&self->lock);
  self->streaming = FALSE;
  self->stopping = FALSE;
  g_mutex_unlock(&self->lock);
  /* A handle whose device is gone is useless: close it now, reopen on the next start. */
  g_mutex_lock(&self->lock);
  gboolean dead = self->dead;
  g_mutex_unlock(&self->lock);
  if (dead)
    close_link(self);
}

static void
usb_close(StanceSource *source)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(source);
  g_mutex_lock(&self->lock);
  self->closing = TRUE;
  gboolean have_xfers = self->n_xfers > 0 || self->streaming;
  g_mutex_unlock(&self->lock);
  if (have_xfers)
    usb_stop(source);
  cancel_work(self);
  close_link(self);
  teardown_context(self);
  cancel_work(self);
  self->opened = FALSE;
  g_mutex_lock(&self->lock);
  self->closing = FALSE;
  self->dead = FALSE;
  self->faulted = FALSE;
  g_mutex_unlock(&self->lock);
}

/* Owner thread: reopens a returning board and resumes the stream where the wall clock says. */
static gboolean
try_resume(StanceUsbSource *self, libusb_device *dev)
{
  GError *e = NULL;
  if (!open_device(self, dev, self->info.serial, &e)) {
    g_debug("waiting for board %s: %s", self->info.serial, e->message);
    g_error_free(e);
    return FALSE;
  }
  if (!link_set_rate(&self->link, (uint32_t)self->rate_hz, &e) ||
      !link_simple(&self->link, STANCE_WIRE_OP_START, NULL, 0, &e)) {
    g_warning("board %s came back but could not be restarted: %s", self->info.serial, e->message);
    g_error_free(e);
    close_link(self);
    return FALSE;
  }
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&self->lock);
  double away_s = (double)(now - self->last_data_us) / 1e6;
  guint64 gap = away_s > 0 ? (guint64)llround(away_s * self->rate_hz) : 0;
  guint64 base = self->next_index + gap;
  g_mutex_unlock(&self->lock);

  g_mutex_lock(&self->lock);
  self->waiting = FALSE;
  g_mutex_unlock(&self->lock);
  if (!submit_transfers(self, base, &e)) {
    g_warning("board %s came back but its stream could not be started: %s", self->info.serial,
              e->message);
    g_error_free(e);
    g_mutex_lock(&self->lock);
    self->waiting = TRUE;
    g_mutex_unlock(&self->lock);
    close_link(self);
    return FALSE;
  }
  StanceSourceStats d = {.gap_samples = gap};
  _stance_source_count(STANCE_SOURCE(self), &d);
  _stance_source_emit_event(STANCE_SOURCE(self), STANCE_SOURCE_EVENT_RECONNECTED, NULL);
  return TRUE;
}

static gboolean
work_cb(gpointer data)
{
  StanceUsbSource *self = data;

  g_mutex_lock(&self->lock);
  if (self->work) {
    g_source_unref(self->work);
    self->work = NULL;
  }
  gboolean dead = self->dead && self->link.h;
  guint in_flight = self->in_flight;
  gboolean waiting = self->waiting;
  g_mutex_unlock(&self->lock);

  if (dead) {
    if (in_flight > 0) {
      /* Transfers of the vanished device are still finishing: look again shortly. */
      g_mutex_lock(&self->lock);
      schedule_work(self, 10);
      g_mutex_unlock(&self->lock);
      return G_SOURCE_REMOVE;
    }
    free_transfers(self);
    close_link(self);
  }
  if (!waiting)
    return G_SOURCE_REMOVE;

  if (!self->hotplug_registered) {
    /* No hotplug: look at the bus for boards of ours. */
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(self->usb, &list);
    g_mutex_lock(&self->lock);
    for (ssize_t i = 0; i < n; i++)
      if (is_stance_board(list[i]))
        g_ptr_array_add(self->arrivals, libusb_ref_device(list[i]));
    g_mutex_unlock(&self->lock);
    if (n >= 0)
      libusb_free_device_list(list, 1);
  }

  g_mutex_lock(&self->lock);
  GPtrArray *devs = self->arrivals;
  self->arrivals = g_ptr_array_new_with_free_func((GDestroyNotify)libusb_unref_device);
  g_mutex_unlock(&self->lock);
  gboolean resumed = FALSE;
  for (guint i = 0; i < devs->len && !resumed; i++)
    resumed = try_resume(self, g_ptr_array_index(devs, i));
  g_ptr_array_unref(devs);

  if (!resumed && !self->hotplug_registered) {
    g_mutex_lock(&self->lock);
    schedule_work(self, RECONNECT_POLL_MS);
    g_mutex_unlock(&self->lock);
  }
  return G_SOURCE_REMOVE;
}

/* Lock held. Queues work_cb on the owner context (once). */
static void
schedule_work(StanceUsbSource *self, guint delay_ms)
{
  if (self->work || self->closing || !self->owner)
    return;
  GSource *s = delay_ms ? g_timeout_source_new(delay_ms) : g_idle_source_new();
  g_source_set_callback(s, work_cb, self, NULL);
  g_source_set_static_name(s, "stance-usb-work");
  self->work = s;
  g_source_attach(s, self->owner);
}

/* ---- Calibration ---- */

gboolean
stance_usb_source_write_calibration(StanceUsbSource *self, const StanceCalibration *cal,
                                    GError **error)
{
  g_return_val_if_fail(STANCE_IS_USB_SOURCE(self), FALSE);
  g_return_val_if_fail(cal != NULL, FALSE);
  StanceError err = {0};
  if (!board_idle(self, error,
                  "the calibration of board %s cannot be written while it streams (stop first)",
                  self->link.serial))
    return FALSE;
  if (stance_calibration_validate(cal, &err) < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID, "invalid calibration: %s",
                err.message);
    return FALSE;
  }
  StanceWireCalib w;
  StanceCalibration c = *cal;
  calib_wire_copy(&c, &w, TRUE);
  uint8_t block[STANCE_WIRE_CALIB_SIZE];
  if (stance_wire_calib_encode(&w, block, sizeof block, &err) < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_INVALID,
                "the calibration cannot be stored on the board: %s", err.message);
    return FALSE;
  }
  if (!ensure_link(self, error) ||
      !link_simple(&self->link, STANCE_WIRE_OP_WRITE_CALIB, block, sizeof block, error))
    return FALSE;
  /* What the board stores is what later opens read back: keep the info in step. */
  calib_wire_copy(&self->info.calib, &w, FALSE);
  self->info.has_calibration = TRUE;
  _stance_source_set_info(STANCE_SOURCE(self), &self->info);
  return TRUE;
}

gboolean
stance_usb_source_read_calibration(StanceUsbSource *self, StanceCalibration *cal, GError **error)
{
  g_return_val_if_fail(STANCE_IS_USB_SOURCE(self), FALSE);
  g_return_val_if_fail(cal != NULL, FALSE);
  if (!board_idle(self, error,
                  "the calibration of board %s cannot be read while it streams (stop first)",
                  self->link.serial))
    return FALSE;
  gboolean found = FALSE;
  if (!ensure_link(self, error) || !link_read_calib(&self->link, cal, &found, error))
    return FALSE;
  if (!found) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_PROTOCOL,
                "board %s has no calibration stored (%s)", self->link.serial,
                stance_wire_status_text(STANCE_WIRE_ST_NO_CALIB));
    return FALSE;
  }
  return TRUE;
}

/* ---- GObject ---- */

static void
stance_usb_source_dispose(GObject *object)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(object);
  if (self->usb)
    usb_close(STANCE_SOURCE(self));
  G_OBJECT_CLASS(stance_usb_source_parent_class)->dispose(object);
}

static void
stance_usb_source_finalize(GObject *object)
{
  StanceUsbSource *self = STANCE_USB_SOURCE(object);
  g_free(self->want_serial);
  g_free(self->batch);
  g_ptr_array_unref(self->arrivals);
  if (self->owner)
    g_main_context_unref(self->owner);
  g_mutex_clear(&self->lock);
  g_cond_clear(&self->cond);
  G_OBJECT_CLASS(stance_usb_source_parent_class)->finalize(object);
}

static void
stance_usb_source_class_init(StanceUsbSourceClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  StanceSourceClass *sc = STANCE_SOURCE_CLASS(klass);
  oc->dispose = stance_usb_source_dispose;
  oc->finalize = stance_usb_source_finalize;
  sc->open = usb_open;
  sc->set_rate = usb_set_rate;
  sc->start = usb_start;
  sc->stop = usb_stop;
  sc->close = usb_close;
}

static void
stance_usb_source_init(StanceUsbSource *self)
{
  g_mutex_init(&self->lock);
  g_cond_init(&self->cond);
  self->arrivals = g_ptr_array_new_with_free_func((GDestroyNotify)libusb_unref_device);
  self->rate_code = STANCE_WIRE_RATE_1000;
  self->rate_hz = 1000.0;
}

StanceSource *
stance_usb_source_new(const char *serial)
{
  StanceUsbSource *self = g_object_new(STANCE_TYPE_USB_SOURCE, NULL);
  self->want_serial = serial && *serial ? g_strdup(serial) : NULL;
  self->owner = g_main_context_ref_thread_default();
  return STANCE_SOURCE(self);
}

/* ------------------------------------------------------------------------------------------ */
/* Listing */

static void
list_one(libusb_context *ctx, libusb_device *dev, StanceUsbBoard *b)
{
  memset(b, 0, sizeof *b);
  b->bus = libusb_get_bus_number(dev);
  b->address = libusb_get_device_address(dev);
  libusb_device_handle *h = NULL;
  int r = libusb_open(dev, &h);
  if (r < 0) {
    if (r == LIBUSB_ERROR_ACCESS)
      g_snprintf(b->problem, sizeof b->problem,
                 "permission denied: install the udev rule data/70-stance.rules (README "
                 "section " README_SECTION "), then unplug and replug the board");
    else
      g_snprintf(b->problem, sizeof b->problem, "cannot open: %s",
                 libusb_strerror((enum libusb_error)r));
    return;
  }
  r = read_serial(h, b->serial);
  if (r < 0) {
    g_snprintf(b->problem, sizeof b->problem, "cannot read the serial number: %s",
               libusb_strerror((enum libusb_error)r));
    libusb_close(h);
    return;
  }
  r = libusb_claim_interface(h, USB_IFACE);
  if (r < 0) {
    if (r == LIBUSB_ERROR_BUSY)
      g_snprintf(b->problem, sizeof b->problem,
                 "in use by another program (it is recording, or another Stance window has it)");
    else
      g_snprintf(b->problem, sizeof b->problem, "cannot claim its interface: %s",
                 libusb_strerror((enum libusb_error)r));
    libusb_close(h);
    return;
  }
  Link l = {.ctx = ctx, .h = h, .tag = 0};
  g_strlcpy(l.serial, b->serial, sizeof l.serial);
  StanceWireInfo wi;
  memset(&wi, 0, sizeof wi);
  GError *e = NULL;
  if (!link_info(&l, &wi, &e)) {
    g_strlcpy(b->problem, e->message, sizeof b->problem);
    if (e->code == STANCE_DAQ_ERROR_VERSION) {
      b->proto_major = wi.major;
      b->proto_minor = wi.minor;
    }
    g_error_free(e);
  } else {
    g_strlcpy(b->firmware_version, wi.firmware_version, sizeof b->firmware_version);
    g_strlcpy(b->hardware, wi.hardware, sizeof b->hardware);
    b->proto_major = wi.major;
    b->proto_minor = wi.minor;
    for (int i = 0; i < wi.n_rates && i < 4; i++)
      b->rates_hz[b->n_rates++] = wi.rates_hz[i];
    b->has_calibration = (wi.flags & STANCE_WIRE_INFO_HAS_CALIB) != 0;
  }
  libusb_release_interface(h, USB_IFACE);
  libusb_close(h);
}

static gint
board_cmp(gconstpointer a, gconstpointer b)
{
  const StanceUsbBoard *x = a, *y = b;
  if (x->bus != y->bus)
    return x->bus < y->bus ? -1 : 1;
  return x->address < y->address ? -1 : x->address > y->address;
}

GArray *
stance_usb_list(GError **error)
{
  libusb_context *ctx = NULL;
  int r = libusb_init(&ctx);
  if (r < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "cannot start libusb: %s",
                libusb_strerror((enum libusb_error)r));
    return NULL;
  }
  libusb_device **list = NULL;
  ssize_t n = libusb_get_device_list(ctx, &list);
  if (n < 0) {
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "cannot list USB devices: %s",
                libusb_strerror((enum libusb_error)n));
    libusb_exit(ctx);
    return NULL;
  }
  GArray *boards = g_array_new(FALSE, TRUE, sizeof(StanceUsbBoard));
  for (ssize_t i = 0; i < n; i++) {
    if (!is_stance_board(list[i]))
      continue;
    StanceUsbBoard b;
    list_one(ctx, list[i], &b);
    g_array_append_val(boards, b);
  }
  libusb_free_device_list(list, 1);
  libusb_exit(ctx);
  g_array_sort(boards, board_cmp);
  return boards;
}
