/* stance-source-usb.h: Stance plates over USB (libusb), and board discovery.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The board speaks the protocol of docs/protocol.md (codec: stance-wire.h). One StanceUsbSource
 * owns one libusb context, one dedicated libusb event thread and, while streaming, several bulk IN
 * transfers in flight on the stream endpoint, sized by time (about 10 ms of samples each, whole
 * 512-byte frames, about 500 ms in flight in all). Completed transfers are decoded on the event
 * thread and pushed into the source's ring; sequence gaps, CRC failures and board overflows are
 * counted and become index jumps (gaps), never interpolated. Hotplug: when the board leaves
 * mid-stream the source emits DISCONNECTED and waits; when a board with the same serial arrives it
 * is reopened, restarted at the same rate and the source emits RECONNECTED; the sample index
 * advances by the wall-clock time that passed, so the gap is marked where it happened.
 *
 * Commands (info, set rate, start, stop, calibration) are synchronous bulk round trips with a 1 s
 * timeout, made from the owner thread; streaming never waits on them.
 */
#pragma once

#include "stance-source.h"

G_BEGIN_DECLS

/* A connected board, as listed by stance_usb_list(). */
typedef struct {
  char serial[25];
  char firmware_version[17];
  char hardware[25];
  uint8_t proto_major, proto_minor;
  double rates_hz[4];
  int n_rates;
  gboolean has_calibration;
  guint8 bus, address;
  /* Set when the board could not be asked (permission, busy, unknown version): the message says
   * what and what to do; the fields above are then only as far as known (serial from the USB
   * descriptor). */
  char problem[256];
} StanceUsbBoard;

/* Lists connected Stance boards (VID:PID 1209:0001), asking each for INFO. Returns an array of
 * StanceUsbBoard (g_array, element type StanceUsbBoard; empty when none). NULL + error only when
 * libusb itself cannot start. */
GArray *stance_usb_list(GError **error);

#define STANCE_TYPE_USB_SOURCE (stance_usb_source_get_type())
G_DECLARE_FINAL_TYPE(StanceUsbSource, stance_usb_source, STANCE, USB_SOURCE, StanceSource)

/* serial NULL: the only board connected (open() fails with NOT_FOUND when none, INVALID naming the
 * serials when several). */
StanceSource *stance_usb_source_new(const char *serial);

/* Writes / reads the calibration block on the board (opened, not streaming). */
gboolean stance_usb_source_write_calibration(StanceUsbSource *self, const StanceCalibration *cal,
                                             GError **error);
gboolean stance_usb_source_read_calibration(StanceUsbSource *self, StanceCalibration *cal,
                                            GError **error);

G_END_DECLS
