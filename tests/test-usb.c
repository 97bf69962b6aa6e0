/* test-usb.c: the USB plates source against an emulated plate.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The emulated plate is a umockdev device (in-process usbfs emulation: the test runs with
 * LD_PRELOAD=libumockdev-preload.so.0) whose ioctl handler answers libusb's usbfs requests by
 * running the firmware's own portable code built for the host (stance_fw_host_dep):
 *   - the descriptors (sysfs and GET_DESCRIPTOR) come from fw_desc_*;
 *   - every command on endpoint 0x02 goes through fw_core_handle_command(), its reply out on 0x82;
 *   - stream frames on 0x81 come from fw_core_poll_frame() over a simulated ADS131M08: each
 *     conversion is a deterministic function of (board seed, sample index), built into the chip's
 *     30-byte SPI frame with fw_ads131_build_frame(), parsed back with fw_ads131_parse() and pushed
 *     with fw_core_push_sample(), as the board's DRDY handler does.
 * The board's microsecond clock is simulated: it advances by one conversion period per conversion,
 * and conversions happen when the host asks for stream data, so a minute of 4 kHz data takes a
 * few seconds of wall time. To stand in for the real board's pace without the wall clock, the
 * emulation keeps at most MAX_LEAD samples ahead of what the test has read (the board would
 * otherwise outrun any consumer and fill the host's ring).
 *
 * Fault knobs: drop or corrupt stream frame k, ADC CRC failure at sample k, board FIFO overflow at
 * sample k, stall the stream endpoint, go silent after sample k, answer INFO with protocol major
 * 2, unplug (remove uevent, usbfs ENODEV) and replug with the same serial (a fresh boot at a new
 * address), several boards with different serials.
 *
 * Threads: the handler runs on umockdev's worker thread; every plate field below is guarded by
 * emu->lock except `consumed` (atomic).
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/usbdevice_fs.h>

#include <umockdev.h>

#include "fw-ads131.h"
#include "fw-core.h"
#include "fw-desc.h"
#include "stance-recorder.h"
#include "stance-source-usb.h"
#include "stance-test.h"
#include "stance-wire.h"

#define FW_VERSION "1.0.0"
#define HW_NAME "stance-f411-ads131m08"
#define MAX_LEAD 6000u     /* samples the board may run ahead of the reader (ring: 16384) */
#define ADS_STATUS 0x05FFu /* STATUS word: 24-bit words, DRDY on all 8 channels */

/* ------------------------------------------------------------------------------------------ */
/* The simulated ADC: counts as a pure function of (seed, index, channel) */

static uint64_t
mix64(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Load-cell-like counts: a per-channel offset, a slow wave and noise, all integers; every 997th
 * sample puts one channel at a rail so saturation flags are exercised too. */
static void
adc_counts(uint64_t seed, uint64_t k, int32_t out[8])
{
  for (int c = 0; c < 8; c++) {
    uint64_t h = mix64(seed * 131u + k * 8u + (uint64_t)c);
    int32_t wave = (int32_t)((k * (uint64_t)(c + 3) * 37u) % 200000u) - 100000;
    out[c] = (c - 4) * 400000 + wave + (int32_t)(h % 20001u) - 10000;
  }
  if (k % 997u == 996u)
    out[k % 8u] = (k / 997u) % 2u ? FW_ADS131_CODE_MAX : FW_ADS131_CODE_MIN;
}

static uint16_t
adc_sat(uint64_t k)
{
  return k % 997u == 996u ? (uint16_t)(1u << (k % 8u)) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The emulated plate */

typedef struct Plate Plate;
typedef struct Plug Plug;

typedef struct {
  UMockdevIoctlClient *client;
  struct usbdevfs_urb *urb;
  int filled; /* stream URBs: bytes of whole frames already written */
} Urb;

struct Plug {
  Plate *plate;
  UMockdevIoctlBase *handler;
  char devnode[64];
  char syspath[64];
  gboolean gone;
  GQueue stream;  /* Urb*: pending on 0x81 */
  GQueue rurbs;   /* Urb*: pending on 0x82 */
  GQueue replies; /* GBytes*: reply messages not yet read */
  GQueue done;    /* Urb*: completed, to be reaped */
  UMockdevIoctlClient *claimed_by;
};

struct Plate {
  char serial[25];
  uint64_t seed;
  int port;
  FwCore core;
  uint32_t now_us; /* the board's simulated clock */
  gboolean adc_running;
  int rate_code;
  uint64_t adc_count;   /* conversions since START (drops included) */
  uint64_t frames_made; /* frames built since START */
  uint64_t produced;    /* conversions since the plate was created (flow control) */
  _Atomic uint64_t consumed;
  uint64_t max_lead; /* 0: no flow control */
  uint8_t calib[STANCE_WIRE_CALIB_SIZE];
  gboolean has_calib;
  /* Knobs (indices since START; -1 = off). */
  int64_t drop_frame, corrupt_frame, adc_crc_sample, overflow_sample, silent_after;
  int stall_next;
  gboolean info_major2;
  /* What happened. */
  int clear_halts;
  uint64_t delivered_upto; /* sample index after the last sample in a completed stream URB */
  uint64_t written_upto;   /* ... in any stream URB (a cancelled one returns what it holds) */
  gint64 last_delivery_us;
  uint64_t stop_total; /* sample total announced by the last STOP reply */
  Plug *plug;          /* NULL while unplugged */
  GPtrArray *plugs;    /* every Plug ever made (freed at teardown) */
};

typedef struct {
  UMockdevTestbed *tb;
  GMutex lock;
  GPtrArray *plates;
  int next_devnum;
} Emu;

static Emu *emu;

static uint32_t
hw_now(void *ctx)
{
  return ((Plate *)ctx)->now_us;
}

static bool
hw_set_rate(void *ctx, int code)
{
  ((Plate *)ctx)->rate_code = code;
  return true;
}

static bool
hw_adc_start(void *ctx)
{
  Plate *p = ctx;
  p->adc_running = TRUE;
  p->adc_count = 0;
  p->frames_made = 0;
  p->delivered_upto = 0;
  p->written_upto = 0;
  return true;
}

static bool
hw_adc_stop(void *ctx)
{
  ((Plate *)ctx)->adc_running = FALSE;
  return true;
}

static bool
hw_calib_write(void *ctx, const uint8_t *block, size_t len)
{
  Plate *p = ctx;
  if (len != sizeof p->calib)
    return false;
  memcpy(p->calib, block, len);
  p->has_calib = TRUE;
  return true;
}

static bool
hw_calib_read(void *ctx, uint8_t *out, size_t len)
{
  Plate *p = ctx;
  if (!p->has_calib || len != sizeof p->calib)
    return false;
  memcpy(out, p->calib, len);
  return true;
}

static void
hw_request_reset(void *ctx)
{
  (void)ctx;
}

/* A fresh boot of the board's firmware. */
static void
plate_boot(Plate *p)
{
  static const FwPlatform hw0 = {
      .set_rate = hw_set_rate,
      .adc_start = hw_adc_start,
      .adc_stop = hw_adc_stop,
      .calib_write = hw_calib_write,
      .calib_read = hw_calib_read,
      .request_reset = hw_request_reset,
      .now_us = hw_now,
  };
  FwPlatform hw = hw0;
  hw.ctx = p;
  FwIdentity id = {.serial = p->serial,
                   .firmware_version = FW_VERSION,
                   .hardware = HW_NAME,
                   .vref_uv = 1200000,
                   .pga_gain = 128};
  ck_assert(fw_core_init(&p->core, &hw, &id));
  p->adc_running = FALSE;
  p->rate_code = STANCE_WIRE_RATE_1000;
  p->adc_count = 0;
  p->frames_made = 0;
}

/* One conversion of the simulated ADC, through the chip's SPI frame and the firmware's parser,
 * into the firmware's FIFO (the DRDY interrupt's job on the board). */
static void
plate_convert_one(Plate *p)
{
  uint64_t k = p->adc_count++;
  p->produced++;
  p->now_us += 1000000u / stance_wire_rate_hz(p->rate_code);
  int32_t counts[8];
  adc_counts(p->seed, k, counts);
  uint8_t raw[FW_ADS131_FRAME_BYTES];
  fw_ads131_build_frame(ADS_STATUS, counts, raw);
  if ((int64_t)k == p->adc_crc_sample)
    raw[7] ^= 0x10; /* a bit flipped on the SPI bus */
  FwAdsFrame fr;
  fw_ads131_parse(raw, &fr);
  fw_core_push_sample(&p->core, fr.counts, fr.sat, fr.crc_ok ? 0 : STANCE_WIRE_SAMPLE_ADC_CRC);
}

static void
plate_convert(Plate *p)
{
  uint64_t k = p->adc_count;
  plate_convert_one(p);
  if ((int64_t)k == p->overflow_sample) {
    /* The main loop stalls for 300 conversions: the 256-sample FIFO overflows. */
    for (int i = 0; i < 300; i++)
      plate_convert_one(p);
  }
}

/* Next stream frame, running the ADC as far as needed. FALSE when none is due (stopped and
 * flushed, silent, or too far ahead of the reader). */
static gboolean
plate_next_frame(Plate *p, uint8_t out[STANCE_WIRE_FRAME_SIZE])
{
  for (;;) {
    if (fw_core_poll_frame(&p->core, out))
      return TRUE;
    if (!p->adc_running)
      return FALSE;
    if (p->silent_after >= 0 && (int64_t)p->adc_count >= p->silent_after)
      return FALSE;
    if (p->max_lead && p->produced >= atomic_load(&p->consumed) + p->max_lead)
      return FALSE;
    plate_convert(p);
  }
}

static uint64_t
get_u64le(const uint8_t *b)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | b[i];
  return v;
}

/* Fills the head stream URB of this client with whole frames; TRUE when it is complete. */
static gboolean
plug_fill_stream(Plug *pl, Urb *u)
{
  Plate *p = pl->plate;
  uint8_t *buf = u->urb->buffer;
  while (u->filled + STANCE_WIRE_FRAME_SIZE <= u->urb->buffer_length) {
    uint8_t fr[STANCE_WIRE_FRAME_SIZE];
    if (!plate_next_frame(p, fr))
      break;
    int64_t k = (int64_t)p->frames_made++;
    if (k == p->drop_frame)
      continue; /* lost on the way */
    if (k == p->corrupt_frame)
      fr[100] ^= 0x5A; /* a byte damaged: the frame CRC no longer matches */
    memcpy(buf + u->filled, fr, sizeof fr);
    u->filled += STANCE_WIRE_FRAME_SIZE;
    if (get_u64le(fr + 8) + fr[16] > p->written_upto)
      p->written_upto = get_u64le(fr + 8) + fr[16];
  }
  u->urb->actual_length = u->filled;
  if (u->filled < u->urb->buffer_length)
    return FALSE;
  for (int off = 0; off < u->filled; off += STANCE_WIRE_FRAME_SIZE) {
    uint64_t end = get_u64le(buf + off + 8) + buf[off + 16];
    if (end > p->delivered_upto)
      p->delivered_upto = end;
  }
  p->last_delivery_us = g_get_monotonic_time();
  u->urb->status = 0;
  return TRUE;
}

static void
plug_control(Plug *pl, struct usbdevfs_urb *urb)
{
  uint8_t *b = urb->buffer;
  uint16_t wlength = (uint16_t)(b[6] | (b[7] << 8));
  uint8_t d[512];
  size_t n = 0;
  if (b[0] == 0x80 && b[1] == 6) { /* GET_DESCRIPTOR */
    switch (b[3]) {
    case 1: n = fw_desc_device(0x0100, d, sizeof d); break;
    case 2: n = fw_desc_config(d, sizeof d); break;
    case 3: n = fw_desc_string(b[2], pl->plate->serial, d, sizeof d); break;
    case 15: n = fw_desc_bos(d, sizeof d); break;
    default: break;
    }
  }
  if (n == 0) {
    urb->status = -EPIPE;
    urb->actual_length = 0;
    return;
  }
  if (n > wlength)
    n = wlength;
  if ((int)n > urb->buffer_length - 8)
    n = (size_t)(urb->buffer_length - 8);
  memcpy(b + 8, d, n);
  urb->actual_length = (int)n;
  urb->status = 0;
}

/* A command arrived on 0x02: run the firmware, queue its reply for 0x82. */
static void
plug_command(Plug *pl, const uint8_t *cmd, size_t len)
{
  Plate *p = pl->plate;
  uint8_t reply[STANCE_WIRE_MSG_MAX];
  size_t n = fw_core_handle_command(&p->core, cmd, len, reply, sizeof reply);
  ck_assert_uint_gt(n, 0);
  StanceWireMsg m;
  ck_assert_int_eq(stance_wire_msg_decode(reply, n, &m, NULL), 0);
  if (m.op == STANCE_WIRE_OP_STOP && m.status == STANCE_WIRE_ST_OK && m.len == 8)
    p->stop_total = get_u64le(m.payload);
  if (m.op == STANCE_WIRE_OP_INFO && p->info_major2) {
    /* A board of a future protocol: INFO (frozen across majors) says 2.0, in a header of 2. */
    uint8_t payload[STANCE_WIRE_MSG_MAX_PAYLOAD];
    memcpy(payload, m.payload, m.len);
    payload[0] = 2;
    payload[1] = 0;
    int r = stance_wire_msg_encode_major(2, true, m.op, m.tag, m.status, payload, m.len, reply,
                                         sizeof reply, NULL);
    ck_assert_int_gt(r, 0);
    n = (size_t)r;
  }
  g_queue_push_tail(&pl->replies, g_bytes_new(reply, n));
}

static Urb *
take_for(GQueue *q, UMockdevIoctlClient *client)
{
  for (GList *l = q->head; l; l = l->next) {
    Urb *u = l->data;
    if (u->client == client) {
      g_queue_delete_link(q, l);
      return u;
    }
  }
  return NULL;
}

static Urb *
peek_for(GQueue *q, UMockdevIoctlClient *client)
{
  for (GList *l = q->head; l; l = l->next)
    if (((Urb *)l->data)->client == client)
      return l->data;
  return NULL;
}

/* Lock held. The device is gone: URBs in flight end with ESHUTDOWN as the kernel reports them. */
static void
plug_kill(Plug *pl)
{
  GQueue *qs[] = {&pl->stream, &pl->rurbs};
  pl->gone = TRUE;
  for (size_t i = 0; i < G_N_ELEMENTS(qs); i++) {
    Urb *u;
    while ((u = g_queue_pop_head(qs[i]))) {
      u->urb->status = -ESHUTDOWN;
      g_queue_push_tail(&pl->done, u);
    }
  }
}

/* The usbfs ioctls libusb uses. The URB memory belongs to libusb in this same process and stays
 * untouched by it while the URB is in flight, so the handler reads and writes it directly (the
 * calling thread is blocked in the ioctl while its argument is accessed). */
static gboolean
on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data)
{
  Plug *pl = data;
  Plate *p = pl->plate;
  gulong req = umockdev_ioctl_client_get_request(client);
  UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
  void *ptr = *(void **)arg->data;
  long res = 0;
  int err = 0;
  gboolean idle = FALSE;

  g_mutex_lock(&emu->lock);
  if (pl->gone && req != USBDEVFS_REAPURBNDELAY && req != USBDEVFS_REAPURB) {
    res = -1;
    err = ENODEV;
    goto out;
  }
  switch (req) {
  case USBDEVFS_GET_CAPABILITIES:
    *(uint32_t *)ptr = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                       USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
    break;
  case USBDEVFS_CLAIMINTERFACE:
    if (pl->claimed_by && pl->claimed_by != client) {
      res = -1;
      err = EBUSY;
    } else {
      pl->claimed_by = client;
    }
    break;
  case USBDEVFS_RELEASEINTERFACE:
    if (pl->claimed_by == client)
      pl->claimed_by = NULL;
    break;
  case USBDEVFS_CLEAR_HALT:
    if (*(unsigned int *)ptr == STANCE_WIRE_EP_STREAM)
      p->clear_halts++;
    break;
  case USBDEVFS_RESETEP:
  case USBDEVFS_SETINTERFACE:
  case USBDEVFS_SETCONFIGURATION: break;
  case USBDEVFS_SUBMITURB: {
    struct usbdevfs_urb *urb = ptr;
    Urb *u = g_new0(Urb, 1);
    u->client = client;
    u->urb = urb;
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
      plug_control(pl, urb);
      g_queue_push_tail(&pl->done, u);
    } else if (urb->type != USBDEVFS_URB_TYPE_BULK) {
      g_free(u);
      res = -1;
      err = EINVAL;
    } else if (urb->endpoint == STANCE_WIRE_EP_CMD) {
      if (urb->buffer_length > 0)
        plug_command(pl, urb->buffer, (size_t)urb->buffer_length);
      urb->actual_length = urb->buffer_length;
      urb->status = 0;
      g_queue_push_tail(&pl->done, u);
    } else if (urb->endpoint == STANCE_WIRE_EP_REPLY) {
      g_queue_push_tail(&pl->rurbs, u);
    } else if (urb->endpoint == STANCE_WIRE_EP_STREAM) {
      g_queue_push_tail(&pl->stream, u);
    } else {
      g_free(u);
      res = -1;
      err = EINVAL;
    }
    break;
  }
  case USBDEVFS_REAPURB:
  case USBDEVFS_REAPURBNDELAY: {
    Urb *u = take_for(&pl->done, client);
    if (!u && !pl->gone) {
      Urb *r = peek_for(&pl->rurbs, client);
      if (r && !g_queue_is_empty(&pl->replies)) {
        GBytes *msg = g_queue_pop_head(&pl->replies);
        gsize n;
        const uint8_t *m = g_bytes_get_data(msg, &n);
        if ((int)n > r->urb->buffer_length)
          n = (gsize)r->urb->buffer_length;
        memcpy(r->urb->buffer, m, n);
        r->urb->actual_length = (int)n;
        r->urb->status = 0;
        g_bytes_unref(msg);
        g_queue_remove(&pl->rurbs, r);
        u = r;
      }
    }
    if (!u && !pl->gone) {
      Urb *s = peek_for(&pl->stream, client);
      if (s && p->stall_next > 0) {
        p->stall_next--;
        s->urb->status = -EPIPE;
        s->urb->actual_length = 0;
        g_queue_remove(&pl->stream, s);
        u = s;
      } else if (s && plug_fill_stream(pl, s)) {
        g_queue_remove(&pl->stream, s);
        u = s;
      }
    }
    if (u) {
      *(void **)ptr = u->urb;
      g_free(u);
    } else {
      res = -1;
      err = pl->gone ? ENODEV : EAGAIN;
      idle = TRUE;
    }
    break;
  }
  case USBDEVFS_DISCARDURB: {
    Urb *u = NULL;
    GQueue *qs[] = {&pl->stream, &pl->rurbs};
    for (size_t i = 0; i < G_N_ELEMENTS(qs) && !u; i++)
      for (GList *l = qs[i]->head; l && !u; l = l->next)
        if (((Urb *)l->data)->urb == ptr) {
          u = l->data;
          g_queue_delete_link(qs[i], l);
        }
    if (u) {
      u->urb->status = -ENOENT; /* actual_length keeps what had arrived */
      g_queue_push_tail(&pl->done, u);
    } else {
      res = -1;
      err = EINVAL;
    }
    break;
  }
  default:
    res = -1;
    err = ENOTTY;
    break;
  }
out:
  g_mutex_unlock(&emu->lock);
  /* libusb polls the emulated node continuously (it is always writable): a short pause when there
   * is nothing to reap keeps that loop from starving the rest of the test. */
  if (idle)
    g_usleep(100);
  umockdev_ioctl_client_complete(client, res, err);
  return TRUE;
}

static void
on_client_vanished(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data)
{
  Plug *pl = data;
  g_mutex_lock(&emu->lock);
  if (pl->claimed_by == client)
    pl->claimed_by = NULL; /* the kernel releases interfaces when the file is closed */
  GQueue *qs[] = {&pl->stream, &pl->rurbs, &pl->done};
  for (size_t i = 0; i < G_N_ELEMENTS(qs); i++) {
    Urb *u;
    while ((u = take_for(qs[i], client)))
      g_free(u);
  }
  g_mutex_unlock(&emu->lock);
}

static char *
descriptors_hex(void)
{
  uint8_t d[256];
  size_t n = fw_desc_device(0x0100, d, sizeof d);
  ck_assert_uint_eq(n, 18);
  size_t m = fw_desc_config(d + n, sizeof d - n);
  ck_assert_uint_gt(m, 9);
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < n + m; i++)
    g_string_append_printf(s, "%02x", d[i]);
  return g_string_free(s, FALSE);
}

/* Plugs the plate in: a fresh boot at a new device address. */
static void
plate_plug(Plate *p)
{
  Plug *pl = g_new0(Plug, 1);
  pl->plate = p;
  g_queue_init(&pl->stream);
  g_queue_init(&pl->rurbs);
  g_queue_init(&pl->replies);
  g_queue_init(&pl->done);
  int devnum = emu->next_devnum++;
  g_snprintf(pl->devnode, sizeof pl->devnode, "/dev/bus/usb/001/%03d", devnum);
  g_snprintf(pl->syspath, sizeof pl->syspath, "/sys/devices/usb1/1-%d", p->port);
  pl->handler = umockdev_ioctl_base_new();
  g_signal_connect(pl->handler, "handle-ioctl", G_CALLBACK(on_ioctl), pl);
  g_signal_connect(pl->handler, "client-vanished", G_CALLBACK(on_client_vanished), pl);
  GError *e = NULL;
  /* The handler first, so the node answers as soon as the add uevent is seen. */
  ck_assert_msg(umockdev_testbed_attach_ioctl(emu->tb, pl->devnode, pl->handler, &e), "%s",
                e ? e->message : "");
  g_mutex_lock(&emu->lock);
  plate_boot(p);
  p->plug = pl;
  g_ptr_array_add(p->plugs, pl);
  g_mutex_unlock(&emu->lock);
  char *hex = descriptors_hex();
  char *dev = g_strdup_printf("P: /devices/usb1/1-%d\n"
                              "N: bus/usb/001/%03d\n"
                              "E: SUBSYSTEM=usb\n"
                              "E: DEVTYPE=usb_device\n"
                              "E: DRIVER=usb\n"
                              "E: BUSNUM=001\n"
                              "E: DEVNUM=%03d\n"
                              "E: DEVNAME=%s\n"
                              "A: busnum=1\\n\n"
                              "A: devnum=%d\\n\n"
                              "A: speed=12\\n\n"
                              "A: bConfigurationValue=1\\n\n"
                              "H: descriptors=%s\n",
                              p->port, devnum, devnum, pl->devnode, devnum, hex);
  ck_assert_msg(umockdev_testbed_add_from_string(emu->tb, dev, &e), "%s", e ? e->message : "");
  g_free(dev);
  g_free(hex);
}

/* Unplugs the plate: usbfs answers ENODEV from now on, then the kernel's remove uevent. */
static void
plate_unplug(Plate *p)
{
  g_mutex_lock(&emu->lock);
  Plug *pl = p->plug;
  ck_assert_ptr_nonnull(pl);
  plug_kill(pl);
  p->plug = NULL;
  p->adc_running = FALSE;
  g_mutex_unlock(&emu->lock);
  umockdev_testbed_uevent(emu->tb, pl->syspath, "remove");
  umockdev_testbed_remove_device(emu->tb, pl->syspath);
}

static Plate *
emu_add_plate(const char *serial, uint64_t seed)
{
  Plate *p = g_new0(Plate, 1);
  g_strlcpy(p->serial, serial, sizeof p->serial);
  p->seed = seed;
  p->port = (int)emu->plates->len + 1;
  p->drop_frame = p->corrupt_frame = p->adc_crc_sample = p->overflow_sample = -1;
  p->silent_after = -1;
  p->max_lead = MAX_LEAD;
  atomic_init(&p->consumed, 0);
  p->plugs = g_ptr_array_new();
  g_ptr_array_add(emu->plates, p);
  plate_plug(p);
  return p;
}

static void
emu_setup(void)
{
  const char *preload = g_getenv("LD_PRELOAD");
  ck_assert_msg(preload && strstr(preload, "libumockdev-preload"),
                "run under the umockdev preload (LD_PRELOAD=libumockdev-preload.so.0)");
  emu = g_new0(Emu, 1);
  g_mutex_init(&emu->lock);
  emu->tb = umockdev_testbed_new();
  emu->plates = g_ptr_array_new();
  emu->next_devnum = 2;
}

static void
emu_teardown(void)
{
  g_object_unref(emu->tb); /* stops the worker thread: no handler runs after this */
  for (guint i = 0; i < emu->plates->len; i++) {
    Plate *p = g_ptr_array_index(emu->plates, i);
    for (guint j = 0; j < p->plugs->len; j++) {
      Plug *pl = g_ptr_array_index(p->plugs, j);
      g_signal_handlers_disconnect_by_data(pl->handler, pl);
      g_object_unref(pl->handler);
      GQueue *qs[] = {&pl->stream, &pl->rurbs, &pl->done};
      for (size_t q = 0; q < G_N_ELEMENTS(qs); q++)
        g_queue_clear_full(qs[q], g_free);
      g_queue_clear_full(&pl->replies, (GDestroyNotify)g_bytes_unref);
      g_free(pl);
    }
    g_ptr_array_unref(p->plugs);
    g_free(p);
  }
  g_ptr_array_unref(emu->plates);
  g_mutex_clear(&emu->lock);
  g_free(emu);
  emu = NULL;
  /* Events queued by sources that are gone: let them run (they find no source) and free. */
  while (g_main_context_iteration(NULL, FALSE))
    ;
}

/* ------------------------------------------------------------------------------------------ */
/* The host side: events and a checking reader */

typedef struct {
  int kind;
  int code;
  char message[512];
  gint64 t_us;
} Ev;

static void
on_event(StanceSource *src, int kind, GError *error, gpointer data)
{
  GArray *evs = data;
  Ev e = {.kind = kind, .code = error ? error->code : -1, .t_us = g_get_monotonic_time()};
  if (error)
    g_strlcpy(e.message, error->message, sizeof e.message);
  g_array_append_val(evs, e);
}

typedef struct {
  StanceSource *src;
  Plate *plate;
  GArray *evs;
  GArray *all; /* StanceSample: every sample read, when keep_all */
  gboolean keep_all;
  guint64 n;              /* samples read */
  guint64 next;           /* index after the last sample read */
  GArray *gaps;           /* guint64 pairs: start, length */
  guint64 offset;         /* host index - board index of the samples being checked */
  gboolean rebase_on_gap; /* after a replug the board counts from 0 again, right after the gap */
  guint64 bad;            /* samples whose values differ from the emulated ADC's */
  char first_bad[256];
  StanceSample first, last;
} Reader;

static Reader *
reader_new(StanceSource *src, Plate *p)
{
  Reader *r = g_new0(Reader, 1);
  r->src = src;
  r->plate = p;
  r->evs = g_array_new(FALSE, TRUE, sizeof(Ev));
  r->all = g_array_new(FALSE, FALSE, sizeof(StanceSample));
  r->gaps = g_array_new(FALSE, FALSE, sizeof(guint64));
  g_signal_connect(src, "event", G_CALLBACK(on_event), r->evs);
  return r;
}

static void
reader_free(Reader *r)
{
  g_signal_handlers_disconnect_by_data(r->src, r->evs);
  g_array_unref(r->evs);
  g_array_unref(r->all);
  g_array_unref(r->gaps);
  g_free(r);
}

static void
check_sample(Reader *r, const StanceSample *s)
{
  guint64 k = s->index - r->offset;
  int32_t want[8];
  adc_counts(r->plate->seed, k, want);
  uint16_t want_status = adc_sat(k);
  gboolean ok = (s->status & ~STANCE_STATUS_OVERFLOW) == want_status;
  for (int c = 0; c < 8 && ok; c++)
    ok = s->v[c] == (double)want[c];
  if (!ok && r->bad++ == 0)
    g_snprintf(r->first_bad, sizeof r->first_bad,
               "sample %" G_GUINT64_FORMAT " (board %" G_GUINT64_FORMAT
               "): ch0 %.0f status 0x%x, expected ch0 %d status 0x%x",
               s->index, k, s->v[0], s->status, want[0], want_status);
}

/* Reads what is waiting (and runs the owner context once); returns the samples read. */
static size_t
reader_pump(Reader *r)
{
  StanceSample buf[2048];
  g_main_context_iteration(NULL, FALSE);
  size_t n = stance_source_read(r->src, buf, G_N_ELEMENTS(buf));
  for (size_t i = 0; i < n; i++) {
    const StanceSample *s = &buf[i];
    if (r->n > 0)
      ck_assert_msg(s->index >= r->next, "index %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT,
                    s->index, r->next - 1);
    if (s->index > r->next && r->n > 0) {
      guint64 g[2] = {r->next, s->index - r->next};
      g_array_append_vals(r->gaps, g, 2);
      if (r->rebase_on_gap)
        r->offset = s->index;
    } else if (s->index > r->next) {
      guint64 g[2] = {0, s->index};
      g_array_append_vals(r->gaps, g, 2);
    }
    if (r->n == 0)
      r->first = *s;
    r->last = *s;
    r->next = s->index + 1;
    r->n++;
    check_sample(r, s);
    if (r->keep_all)
      g_array_append_val(r->all, *s);
  }
  atomic_fetch_add(&r->plate->consumed, n);
  if (n == 0)
    g_usleep(200);
  return n;
}

/* Reads until at least `until` samples have been read; fails after timeout_s. */
static void
reader_until(Reader *r, guint64 until, double timeout_s)
{
  gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
  while (r->n < until) {
    reader_pump(r);
    ck_assert_msg(g_get_monotonic_time() < end,
                  "only %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " samples within %.0f s", r->n,
                  until, timeout_s);
  }
}

/* Runs the loop until the n-th event arrived (or fails after timeout_s). */
static const Ev *
reader_wait_event(Reader *r, guint n, double timeout_s)
{
  gint64 end = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
  while (r->evs->len < n) {
    reader_pump(r);
    ck_assert_msg(g_get_monotonic_time() < end, "event %u did not come within %.1f s", n,
                  timeout_s);
  }
  return &g_array_index(r->evs, Ev, n - 1);
}

/* Reads whatever is still waiting after stop(). */
static void
reader_drain(Reader *r)
{
  for (int idle = 0; idle < 3;)
    idle = reader_pump(r) ? 0 : idle + 1;
}

static double
timeout_scale(void)
{
  return stance_test_under_valgrind() ? 10.0 : 1.0;
}

static StanceSource *
open_source(const char *serial)
{
  StanceSource *src = stance_usb_source_new(serial);
  GError *e = NULL;
  ck_assert_msg(stance_source_open(src, &e), "open(%s): %s", serial ? serial : "(any)",
                e ? e->message : "");
  return src;
}

static void
start_at(StanceSource *src, double rate)
{
  GError *e = NULL;
  ck_assert_msg(stance_source_set_rate(src, rate, &e), "set_rate(%g): %s", rate,
                e ? e->message : "");
  ck_assert_msg(stance_source_start(src, &e), "start at %g Hz: %s", rate, e ? e->message : "");
}

static guint64
plate_get(Plate *p, const uint64_t *field)
{
  g_mutex_lock(&emu->lock);
  guint64 v = *field;
  g_mutex_unlock(&emu->lock);
  return v;
}

/* Sets a knob of the plate under the emulation's lock. */
#define PLATE_SET(p, field, value)                                                                 \
  do {                                                                                             \
    g_mutex_lock(&emu->lock);                                                                      \
    (p)->field = (value);                                                                          \
    g_mutex_unlock(&emu->lock);                                                                    \
  } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Cases */

static void
setup(void)
{
  emu_setup();
}

static void
teardown(void)
{
  emu_teardown();
}

static void
make_calib(const char *serial, StanceWireCalib *w)
{
  StanceCalibration c;
  stance_calibration_default(&c);
  memset(w, 0, sizeof *w);
  g_strlcpy(w->board_serial, serial, sizeof w->board_serial);
  g_strlcpy(w->id, "SN-0043-2026-11-24-1", sizeof w->id);
  w->created_unix_ms = 1795000000000;
  for (int i = 0; i < 8; i++) {
    w->offset_counts[i] = -1200.5 + 100.0 * i;
    w->gain_n_per_count[i] = 2.5e-4 * (1.0 + 0.01 * i);
  }
  for (int k = 0; k < 2; k++) {
    w->plate[k].width_mm = c.plate[k].width_mm;
    w->plate[k].length_mm = c.plate[k].length_mm;
    for (int j = 0; j < 4; j++) {
      w->plate[k].cell_x_mm[j] = c.plate[k].cell[j].x_mm;
      w->plate[k].cell_y_mm[j] = c.plate[k].cell[j].y_mm;
    }
    w->plate[k].centre_x_mm = c.plate[k].centre_x_mm;
    w->plate[k].centre_y_mm = c.plate[k].centre_y_mm;
  }
}

/* Enumeration, INFO, calibration, and the open errors that name what is wrong. */
START_TEST(test_list_and_info)
{
  emu_add_plate("SN-0042", 42);
  Plate *b = emu_add_plate("SN-0043", 43);
  StanceWireCalib wc;
  make_calib("SN-0043", &wc);
  ck_assert_int_eq(stance_wire_calib_encode(&wc, b->calib, sizeof b->calib, NULL), 0);
  b->has_calib = TRUE;

  GError *e = NULL;
  GArray *boards = stance_usb_list(&e);
  ck_assert_msg(boards != NULL, "%s", e ? e->message : "");
  ck_assert_uint_eq(boards->len, 2);
  for (guint i = 0; i < 2; i++) {
    const StanceUsbBoard *bd = &g_array_index(boards, StanceUsbBoard, i);
    ck_assert_str_eq(bd->serial, i == 0 ? "SN-0042" : "SN-0043");
    ck_assert_str_eq(bd->problem, "");
    ck_assert_str_eq(bd->firmware_version, FW_VERSION);
    ck_assert_str_eq(bd->hardware, HW_NAME);
    ck_assert_uint_eq(bd->proto_major, STANCE_WIRE_PROTO_MAJOR);
    ck_assert_uint_eq(bd->proto_minor, STANCE_WIRE_PROTO_MINOR);
    ck_assert_int_eq(bd->n_rates, 4);
    ck_assert(bd->rates_hz[0] == 500 && bd->rates_hz[1] == 1000 && bd->rates_hz[2] == 2000 &&
              bd->rates_hz[3] == 4000);
    ck_assert_int_eq(bd->has_calibration, i == 1);
    ck_assert_uint_eq(bd->bus, 1);
    ck_assert_uint_eq(bd->address, 2 + i);
  }
  g_array_unref(boards);

  /* Several boards and no serial: refused, naming both. */
  StanceSource *any = stance_usb_source_new(NULL);
  ck_assert(!stance_source_open(any, &e));
  ck_assert_int_eq(e->code, STANCE_DAQ_ERROR_INVALID);
  ck_assert_msg(strstr(e->message, "SN-0042") && strstr(e->message, "SN-0043"), "%s", e->message);
  g_clear_error(&e);
  g_object_unref(any);

  /* An absent serial: NOT_FOUND naming the one asked for and those present. */
  StanceSource *none = stance_usb_source_new("SN-9999");
  ck_assert(!stance_source_open(none, &e));
  ck_assert_int_eq(e->code, STANCE_DAQ_ERROR_NOT_FOUND);
  ck_assert_msg(strstr(e->message, "SN-9999") && strstr(e->message, "SN-0042") &&
                    strstr(e->message, "SN-0043"),
                "%s", e->message);
  g_clear_error(&e);
  g_object_unref(none);

  /* The calibrated board: its block comes back as the source's calibration. */
  StanceSource *s43 = open_source("SN-0043");
  const StanceSourceInfo *in = stance_source_get_info(s43);
  ck_assert_str_eq(in->kind, "usb");
  ck_assert_str_eq(in->serial, "SN-0043");
  ck_assert_str_eq(in->firmware_version, FW_VERSION);
  ck_assert_str_eq(in->hardware, HW_NAME);
  ck_assert_ptr_nonnull(strstr(in->description, "SN-0043"));
  ck_assert_uint_eq(in->proto_major, 1);
  ck_assert_int_eq(in->layout, STANCE_LAYOUT_CELLS);
  ck_assert_int_eq(in->n_rates, 4);
  ck_assert(in->rate_hz == 1000.0); /* the firmware boots at 1000 Hz */
  ck_assert(in->has_calibration);
  ck_assert_str_eq(in->calib.id, wc.id);
  ck_assert_str_eq(in->calib.board_serial, "SN-0043");
  for (int i = 0; i < 8; i++) {
    ck_assert(in->calib.offset_counts[i] == wc.offset_counts[i]); /* copied bytewise: exact */
    ck_assert(in->calib.gain_n_per_count[i] == wc.gain_n_per_count[i]);
  }
  g_object_unref(s43);

  /* The uncalibrated board: default geometry, has_calibration FALSE. */
  StanceSource *s42 = open_source("SN-0042");
  in = stance_source_get_info(s42);
  ck_assert(!in->has_calibration);
  StanceCalibration def;
  stance_calibration_default(&def);
  ck_assert(in->calib.gain_n_per_count[3] == def.gain_n_per_count[3]);
  ck_assert(in->calib.plate[1].cell[2].x_mm == def.plate[1].cell[2].x_mm);

  /* While it is open, another program cannot have it: BUSY, and the listing says so. */
  StanceSource *again = stance_usb_source_new("SN-0042");
  ck_assert(!stance_source_open(again, &e));
  ck_assert_int_eq(e->code, STANCE_DAQ_ERROR_BUSY);
  ck_assert_msg(strstr(e->message, "SN-0042") && strstr(e->message, "another program"), "%s",
                e->message);
  g_clear_error(&e);
  g_object_unref(again);
  boards = stance_usb_list(&e);
  ck_assert_uint_eq(boards->len, 2);
  ck_assert_ptr_nonnull(strstr(g_array_index(boards, StanceUsbBoard, 0).problem, "in use"));
  ck_assert_str_eq(g_array_index(boards, StanceUsbBoard, 0).serial, "SN-0042");
  ck_assert_str_eq(g_array_index(boards, StanceUsbBoard, 1).problem, "");
  g_array_unref(boards);

  /* Writing a calibration stores it on the board; reading it back gives the same block. */
  StanceCalibration cal = def;
  g_strlcpy(cal.id, "SN-0042-cal-7", sizeof cal.id);
  g_strlcpy(cal.board_serial, "SN-0042", sizeof cal.board_serial);
  cal.gain_n_per_count[5] = 3.125e-4;
  cal.offset_counts[2] = 4321.0;
  ck_assert_msg(stance_usb_source_write_calibration(STANCE_USB_SOURCE(s42), &cal, &e), "%s",
                e ? e->message : "");
  StanceCalibration back;
  ck_assert_msg(stance_usb_source_read_calibration(STANCE_USB_SOURCE(s42), &back, &e), "%s",
                e ? e->message : "");
  ck_assert_str_eq(back.id, "SN-0042-cal-7");
  ck_assert(back.gain_n_per_count[5] == 3.125e-4 && back.offset_counts[2] == 4321.0);
  ck_assert(stance_source_get_info(s42)->has_calibration);
  g_object_unref(s42);
}
END_TEST

/* Start and stop at every rate: every sample the ADC converted arrives, in order, exact. */
/* Runs one stream at rate with the plate's knobs as set: reads until `samples` have been read
 * (failing after timeout_s), stops and reads what is left. keep_all: every sample read is kept in
 * r->all. */
static Reader *
run_stream(Plate *p, StanceSource *src, double rate, guint64 samples, double timeout_s,
           gboolean keep_all)
{
  Reader *r = reader_new(src, p);
  r->keep_all = keep_all;
  start_at(src, rate);
  reader_until(r, samples, timeout_s);
  stance_source_stop(src);
  reader_drain(r);
  return r;
}

static void
assert_one_gap(Reader *r, guint64 start, guint64 len)
{
  ck_assert_msg(r->gaps->len == 2, "%u gaps, expected 1", r->gaps->len / 2);
  guint64 s = g_array_index(r->gaps, guint64, 0), n = g_array_index(r->gaps, guint64, 1);
  ck_assert_msg(s == start && n == len,
                "gap of %" G_GUINT64_FORMAT " at %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT
                " at %" G_GUINT64_FORMAT,
                n, s, len, start);
}

/* A stream of plate p (its fault knob set) at rate, stopped after `samples`: what was read holds
 * exactly one gap, of len samples at start, and no sample differs from the ADC's. Returns the
 * reader, the source in *src (the caller frees both) and its counters in *st. */
static Reader *
one_gap_stream(Plate *p, double rate, guint64 samples, guint64 start, guint64 len,
               StanceSource **src, StanceSourceStats *st)
{
  *src = open_source(p->serial);
  Reader *r = run_stream(p, *src, rate, samples, 20 * timeout_scale(), FALSE);
  assert_one_gap(r, start, len);
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  stance_source_get_stats(*src, st);
  return r;
}

START_TEST(test_rates)
{
  Plate *p = emu_add_plate("SN-0100", 100);
  StanceSource *src = open_source("SN-0100");
  static const double rates[] = {500, 1000, 2000, 4000};
  for (size_t i = 0; i < G_N_ELEMENTS(rates); i++) {
    Reader *r = reader_new(src, p);
    start_at(src, rates[i]);
    ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_STREAMING);
    ck_assert(stance_source_get_info(src)->rate_hz == rates[i]);
    /* Half a second of data, a quarter under valgrind. */
    guint64 want = (guint64)(rates[i] / (stance_test_under_valgrind() ? 4 : 2));
    reader_until(r, want, 20 * timeout_scale());
    stance_source_stop(src);
    reader_drain(r);
    ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_OPEN);

    guint64 converted = plate_get(p, &p->adc_count);
    ck_assert_int_eq(p->rate_code, stance_wire_rate_code((uint32_t)rates[i]));
    ck_assert_msg(r->n == converted,
                  "%g Hz: %" G_GUINT64_FORMAT " samples read, the ADC made %" G_GUINT64_FORMAT,
                  rates[i], r->n, converted);
    ck_assert_uint_eq(plate_get(p, &p->stop_total), converted);
    ck_assert_uint_eq(r->gaps->len, 0);
    ck_assert_msg(r->bad == 0, "%g Hz: %s", rates[i], r->first_bad);
    ck_assert_uint_eq(r->first.index, 0);
    ck_assert_uint_eq(r->last.index, converted - 1);
    int32_t c0[8], cl[8];
    adc_counts(p->seed, 0, c0);
    adc_counts(p->seed, converted - 1, cl);
    ck_assert(r->first.v[0] == c0[0] && r->first.v[7] == c0[7]);
    ck_assert(r->last.v[0] == cl[0] && r->last.v[7] == cl[7]);
    StanceSourceStats st;
    stance_source_get_stats(src, &st);
    ck_assert_uint_eq(st.samples, converted);
    ck_assert_uint_eq(st.gap_samples, 0);
    ck_assert_uint_eq(st.crc_errors, 0);
    ck_assert_uint_eq(st.frames_lost, 0);
    ck_assert_uint_gt(st.frames, converted / STANCE_WIRE_SAMPLES_PER_FRAME);
    ck_assert_uint_eq(r->evs->len, 0);
    reader_free(r);
  }
  g_object_unref(src);
}
END_TEST

/* 60 s at 4 kHz: 240000 samples, none lost, every one equal to what the ADC produced. Under
 * valgrind (where every emulated USB request costs about 20x more) 5 s of data: the same path,
 * fewer repetitions of it. */
START_TEST(test_long_4k)
{
  Plate *p = emu_add_plate("SN-0200", 200);
  StanceSource *src = open_source("SN-0200");
  guint64 want = stance_test_under_valgrind() ? 20000 : 240000;
  Reader *r = run_stream(p, src, 4000, want, 60 * timeout_scale(), FALSE);
  guint64 converted = plate_get(p, &p->adc_count);
  ck_assert_uint_ge(r->n, want);
  ck_assert_uint_eq(r->n, converted);
  ck_assert_uint_eq(r->gaps->len, 0);
  ck_assert_msg(r->bad == 0, "%" G_GUINT64_FORMAT " bad samples, first: %s", r->bad, r->first_bad);
  ck_assert_uint_eq(r->last.index, converted - 1);
  StanceSourceStats st;
  stance_source_get_stats(src, &st);
  ck_assert_uint_eq(st.samples, converted);
  ck_assert_uint_eq(st.gap_samples, 0);
  ck_assert_uint_eq(st.frames_lost, 0);
  ck_assert_uint_eq(st.crc_errors, 0);
  ck_assert_uint_eq(st.ring_overflows, 0);
  ck_assert_uint_eq(st.board_overflows, 0);
  ck_assert_uint_eq(r->evs->len, 0);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* A frame lost on the way: exactly its 18 samples are a gap, at their place. At 4 kHz every frame
 * before it is full (18 samples), so frame 10 holds samples 180-197. */
START_TEST(test_dropped_frame)
{
  Plate *p = emu_add_plate("SN-0300", 300);
  p->drop_frame = 10;
  StanceSource *src;
  StanceSourceStats st;
  Reader *r = one_gap_stream(p, 4000, 2000, 180, 18, &src, &st);
  ck_assert_uint_eq(st.frames_lost, 1);
  ck_assert_uint_eq(st.gap_samples, 18);
  ck_assert_uint_eq(st.crc_errors, 0);
  ck_assert_uint_eq(r->n + 18, plate_get(p, &p->adc_count));
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* A damaged frame: refused by its CRC, counted, and its samples are a gap (frame 7 = 126-143). */
START_TEST(test_corrupt_frame)
{
  Plate *p = emu_add_plate("SN-0301", 301);
  p->corrupt_frame = 7;
  StanceSource *src;
  StanceSourceStats st;
  Reader *r = one_gap_stream(p, 4000, 2000, 126, 18, &src, &st);
  ck_assert_uint_eq(st.crc_errors, 1);
  ck_assert_uint_eq(st.gap_samples, 18);
  ck_assert_uint_eq(r->n + 18, plate_get(p, &p->adc_count));
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* The ADC's own SPI CRC failed for one conversion: the board flags it and the host keeps it out
 * (a one-sample gap), never passing its values on. */
START_TEST(test_adc_crc)
{
  Plate *p = emu_add_plate("SN-0302", 302);
  p->adc_crc_sample = 1000;
  StanceSource *src;
  StanceSourceStats st;
  Reader *r = one_gap_stream(p, 2000, 3000, 1000, 1, &src, &st);
  ck_assert_uint_eq(st.gap_samples, 1);
  ck_assert_uint_eq(st.crc_errors, 0);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* The board's FIFO overflowed (its main loop stalled for 300 conversions after sample 500): the
 * dropped samples are a gap exactly where they were, and the sample after it carries OVERFLOW. */
START_TEST(test_board_overflow)
{
  Plate *p = emu_add_plate("SN-0303", 303);
  p->overflow_sample = 500;
  StanceSource *src = open_source("SN-0303");
  Reader *r = run_stream(p, src, 1000, 3000, 20 * timeout_scale(), TRUE);
  g_mutex_lock(&emu->lock);
  guint64 drops = p->core.fifo.total_drops;
  g_mutex_unlock(&emu->lock);
  /* Samples 500..800 were pushed without the FIFO being read: the last `drops` were refused. */
  ck_assert_uint_gt(drops, 40);
  assert_one_gap(r, 801 - drops, drops);
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  int flagged = 0;
  for (guint i = 0; i < r->all->len; i++) {
    const StanceSample *s = &g_array_index(r->all, StanceSample, i);
    if (s->status & STANCE_STATUS_OVERFLOW) {
      flagged++;
      ck_assert_uint_eq(s->index, 801);
    }
  }
  ck_assert_int_eq(flagged, 1);
  StanceSourceStats st;
  stance_source_get_stats(src, &st);
  ck_assert_uint_eq(st.board_overflows, drops);
  ck_assert_uint_eq(st.gap_samples, drops);
  ck_assert_uint_eq(st.frames_lost, 0);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

START_TEST(test_stall_recovered)
{
  Plate *p = emu_add_plate("SN-0400", 400);
  StanceSource *src = open_source("SN-0400");
  Reader *r = reader_new(src, p);
  start_at(src, 2000);
  reader_until(r, 1000, 20 * timeout_scale());
  PLATE_SET(p, stall_next, 1);
  reader_until(r, 6000, 20 * timeout_scale());
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_STREAMING);
  stance_source_stop(src);
  reader_drain(r);
  g_mutex_lock(&emu->lock);
  int halts = p->clear_halts, left = p->stall_next;
  g_mutex_unlock(&emu->lock);
  ck_assert_int_eq(left, 0);
  ck_assert_int_eq(halts, 1);
  ck_assert_uint_eq(r->evs->len, 0);
  ck_assert_uint_eq(r->gaps->len, 0);
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  ck_assert_uint_eq(r->n, plate_get(p, &p->adc_count));
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* Two stalls within a second: the stream ends with a FAULT (STALL); what came before is right. */
START_TEST(test_stall_fault)
{
  Plate *p = emu_add_plate("SN-0401", 401);
  StanceSource *src = open_source("SN-0401");
  Reader *r = reader_new(src, p);
  start_at(src, 2000);
  reader_until(r, 1000, 20 * timeout_scale());
  PLATE_SET(p, stall_next, 2);
  const Ev *ev = reader_wait_event(r, 1, 5 * timeout_scale());
  ck_assert_int_eq(ev->kind, STANCE_SOURCE_EVENT_FAULT);
  ck_assert_int_eq(ev->code, STANCE_DAQ_ERROR_STALL);
  ck_assert_msg(strstr(ev->message, "SN-0401") && strstr(ev->message, "stall"), "%s", ev->message);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_ENDED);
  reader_drain(r);
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  ck_assert_uint_eq(r->gaps->len, 0);
  stance_source_stop(src);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_OPEN);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* The board goes silent mid-stream: a FAULT with TIMEOUT one second (the stated limit) after the
 * last data, give or take the watchdog's 0.1 s period and the event's trip to the main loop. */
START_TEST(test_silence_timeout)
{
  Plate *p = emu_add_plate("SN-0500", 500);
  p->silent_after = 3000;
  StanceSource *src = open_source("SN-0500");
  Reader *r = reader_new(src, p);
  start_at(src, 1000);
  const Ev *ev = reader_wait_event(r, 1, 10 * timeout_scale());
  g_mutex_lock(&emu->lock);
  gint64 last = p->last_delivery_us;
  guint64 upto = p->written_upto;
  g_mutex_unlock(&emu->lock);
  double after = (double)(ev->t_us - last) / 1e6;
  ck_assert_int_eq(ev->kind, STANCE_SOURCE_EVENT_FAULT);
  ck_assert_int_eq(ev->code, STANCE_DAQ_ERROR_TIMEOUT);
  ck_assert_msg(strstr(ev->message, "SN-0500") && strstr(ev->message, "1.0 s"), "%s", ev->message);
  ck_assert_msg(after >= 1.0 && after <= 1.0 + 0.4 * timeout_scale(),
                "fault %.3f s after the last data (expected 1.0-1.4 s)", after);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_ENDED);
  reader_drain(r);
  ck_assert_uint_eq(r->n, upto); /* everything delivered before the silence, nothing else */
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  stance_source_stop(src);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* Unplugged mid-stream and plugged back: what came before is kept, DISCONNECTED then
 * RECONNECTED, one gap starting right after the last sample received whose length is the time
 * the board was away, and the new stream (the board restarted at its sample 0) right after it. */
START_TEST(test_unplug_replug)
{
  const double rate = 2000;
  Plate *p = emu_add_plate("SN-0600", 600);
  StanceSource *src = open_source("SN-0600");
  Reader *r = reader_new(src, p);
  r->keep_all = TRUE;
  r->rebase_on_gap = TRUE; /* the only gap is the unplug */
  start_at(src, rate);
  reader_until(r, 4000, 20 * timeout_scale());

  gint64 t_remove = g_get_monotonic_time();
  plate_unplug(p);
  const Ev *ev = reader_wait_event(r, 1, 3 * timeout_scale());
  ck_assert_int_eq(ev->kind, STANCE_SOURCE_EVENT_DISCONNECTED);
  ck_assert_int_eq(ev->code, STANCE_DAQ_ERROR_DISCONNECTED);
  ck_assert_ptr_nonnull(strstr(ev->message, "SN-0600"));
  gint64 t_disc = ev->t_us;
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_WAITING);
  g_mutex_lock(&emu->lock);
  guint64 delivered = p->written_upto;
  gint64 last_delivery = p->last_delivery_us;
  g_mutex_unlock(&emu->lock);
  /* Away for 0.3 s, reading what is left meanwhile. */
  while (g_get_monotonic_time() < t_disc + 300 * 1000)
    reader_pump(r);
  guint64 before = r->n;
  ck_assert_uint_eq(before, delivered); /* every delivered sample kept */
  ck_assert_uint_eq(r->gaps->len, 0);

  gint64 t_add = g_get_monotonic_time();
  plate_plug(p);
  ev = reader_wait_event(r, 2, 5 * timeout_scale());
  ck_assert_int_eq(ev->kind, STANCE_SOURCE_EVENT_RECONNECTED);
  gint64 t_recon = ev->t_us;
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_STREAMING);

  /* Values after the gap belong to the new stream: board index = host index - gap end. */
  reader_until(r, before + 1, 5 * timeout_scale());
  ck_assert_uint_eq(r->gaps->len, 2);
  guint64 gap_start = g_array_index(r->gaps, guint64, 0);
  guint64 gap = g_array_index(r->gaps, guint64, 1);
  ck_assert_uint_eq(gap_start, before);
  ck_assert_uint_eq(r->offset, gap_start + gap);
  const StanceSample *first_after = &g_array_index(r->all, StanceSample, before);
  ck_assert_uint_eq(first_after->index, r->offset);
  int32_t c0[8];
  adc_counts(p->seed, 0, c0);
  ck_assert(first_after->v[0] == c0[0] && first_after->v[5] == c0[5]);

  reader_until(r, before + 4000, 20 * timeout_scale());
  stance_source_stop(src);
  reader_drain(r);
  ck_assert_msg(r->bad == 0, "%s", r->first_bad);
  ck_assert_uint_eq(r->gaps->len, 2);
  ck_assert_uint_eq(r->n - before, plate_get(p, &p->adc_count));

  /* The gap is the time away: at least from the disconnection's report to the replug, at most
   * from the last data to the reconnection's report (plus one sample of rounding). */
  double gap_s = (double)gap / rate;
  double lo = (double)(t_add - t_disc) / 1e6, hi = (double)(t_recon - last_delivery) / 1e6;
  ck_assert_msg(gap_s >= lo - 1.0 / rate && gap_s <= hi + 1.0 / rate,
                "gap %.4f s, expected %.4f-%.4f s (removed at +0, reported at %.4f s)", gap_s, lo,
                hi, (double)(t_disc - t_remove) / 1e6);
  ck_assert_uint_eq(r->evs->len, 2);
  StanceSourceStats st;
  stance_source_get_stats(src, &st);
  ck_assert_uint_eq(st.disconnects, 1);
  ck_assert_uint_eq(st.gap_samples, gap);
  ck_assert_uint_eq(st.samples, r->n);
  reader_free(r);
  g_object_unref(src);
}
END_TEST

/* A board speaking protocol 2: refused with VERSION, naming both versions and what to do. */
START_TEST(test_unknown_version)
{
  Plate *p = emu_add_plate("SN-0700", 700);
  p->info_major2 = TRUE;
  StanceSource *src = stance_usb_source_new("SN-0700");
  GError *e = NULL;
  ck_assert(!stance_source_open(src, &e));
  ck_assert_int_eq(e->code, STANCE_DAQ_ERROR_VERSION);
  char ours[16];
  g_snprintf(ours, sizeof ours, "%d.%d", STANCE_WIRE_PROTO_MAJOR, STANCE_WIRE_PROTO_MINOR);
  ck_assert_msg(strstr(e->message, "2.0") && strstr(e->message, ours) &&
                    strstr(e->message, "update Stance") && strstr(e->message, "firmware"),
                "%s", e->message);
  ck_assert_int_eq(stance_source_get_state(src), STANCE_SOURCE_CLOSED);
  g_clear_error(&e);
  g_object_unref(src);

  GArray *boards = stance_usb_list(&e);
  ck_assert_uint_eq(boards->len, 1);
  const StanceUsbBoard *b = &g_array_index(boards, StanceUsbBoard, 0);
  ck_assert_str_eq(b->serial, "SN-0700");
  ck_assert_uint_eq(b->proto_major, 2);
  ck_assert_ptr_nonnull(strstr(b->problem, "2.0"));
  g_array_unref(boards);
}
END_TEST

/* Two boards at once, each recorded completely by the recorder. */
START_TEST(test_two_boards)
{
  Plate *pa = emu_add_plate("SN-A1", 11);
  Plate *pb = emu_add_plate("SN-B2", 22);
  StanceSource *sa = open_source("SN-A1");
  StanceSource *sb = open_source("SN-B2");
  GError *e = NULL;
  ck_assert(stance_source_set_rate(sa, 2000, &e) && stance_source_set_rate(sb, 2000, &e));
  const guint64 n = stance_test_under_valgrind() ? 1500 : 6000;
  StanceRecorder *ra = stance_recorder_new(sa, STANCE_PROTO_UNKNOWN, STANCE_SIDE_BOTH, n, &e);
  ck_assert_msg(ra != NULL, "%s", e ? e->message : "");
  StanceRecorder *rb = stance_recorder_new(sb, STANCE_PROTO_UNKNOWN, STANCE_SIDE_BOTH, n, &e);
  ck_assert_msg(rb != NULL, "%s", e ? e->message : "");
  ck_assert(stance_source_start(sa, &e) && stance_source_start(sb, &e));
  gint64 end = g_get_monotonic_time() + (gint64)(30 * timeout_scale() * G_USEC_PER_SEC);
  while (!stance_recorder_is_full(ra) || !stance_recorder_is_full(rb)) {
    g_main_context_iteration(NULL, FALSE);
    ck_assert(stance_recorder_drain(ra, &e));
    ck_assert(stance_recorder_drain(rb, &e));
    StanceRecorderStatus sta, stb;
    stance_recorder_get_status(ra, &sta);
    stance_recorder_get_status(rb, &stb);
    atomic_store(&pa->consumed, sta.samples);
    atomic_store(&pb->consumed, stb.samples);
    ck_assert_msg(g_get_monotonic_time() < end,
                  "recorded %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                  " samples",
                  sta.samples, stb.samples, n);
    g_usleep(500);
  }
  stance_source_stop(sa);
  stance_source_stop(sb);
  StanceRecorder *recs[] = {ra, rb};
  Plate *plates[] = {pa, pb};
  for (int k = 0; k < 2; k++) {
    const StanceRecording *rec = stance_recorder_peek(recs[k]);
    ck_assert_uint_eq(rec->n_samples, n);
    ck_assert_int_eq(rec->layout, STANCE_LAYOUT_CELLS);
    ck_assert(rec->sample_rate_hz == 2000);
    ck_assert_uint_eq(stance_recording_count_gaps(rec), 0);
    ck_assert_str_eq(rec->meta.board_serial, plates[k]->serial);
    size_t bad = 0;
    for (size_t i = 0; i < rec->n_samples; i++) {
      int32_t want[8];
      adc_counts(plates[k]->seed, i, want);
      if (memcmp(&rec->counts[i * 8], want, sizeof want) != 0 || rec->status[i] != adc_sat(i))
        bad++;
    }
    ck_assert_msg(bad == 0, "%s: %zu samples differ from its ADC", plates[k]->serial, bad);
  }
  /* The two boards' data differ (each recording is its own board's). */
  ck_assert(memcmp(stance_recorder_peek(ra)->counts, stance_recorder_peek(rb)->counts,
                   8 * sizeof(int32_t)) != 0);
  stance_recorder_free(ra);
  stance_recorder_free(rb);
  g_object_unref(sa);
  g_object_unref(sb);
}
END_TEST

static Suite *
usb_suite(void)
{
  Suite *s = suite_create("usb");
  TCase *tc = tcase_create("emulated-plate");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, stance_test_under_valgrind() ? 600 : 60);
  tcase_add_test(tc, test_list_and_info);
  tcase_add_test(tc, test_rates);
  tcase_add_test(tc, test_long_4k);
  tcase_add_test(tc, test_dropped_frame);
  tcase_add_test(tc, test_corrupt_frame);
  tcase_add_test(tc, test_adc_crc);
  tcase_add_test(tc, test_board_overflow);
  tcase_add_test(tc, test_stall_recovered);
  tcase_add_test(tc, test_stall_fault);
  tcase_add_test(tc, test_silence_timeout);
  tcase_add_test(tc, test_unplug_replug);
  tcase_add_test(tc, test_unknown_version);
  tcase_add_test(tc, test_two_boards);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(usb_suite());
}
