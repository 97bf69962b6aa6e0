/* stance-wire.h: the Stance plate USB wire protocol, encode and decode.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * ONE implementation shared by the board firmware (firmware/, Cortex-M4, newlib-nano) and the host
 * (src/daq/stance-source-usb.c). Plain C17: no allocation, no GLib, no libc beyond
 * <string.h>/<stdint.h>, no floating-point arithmetic (doubles are only copied as bytes). Every
 * decoder takes untrusted bytes and either fills its output completely or returns a negative
 * STANCE_E* code (and a message in the optional StanceError on the host; the firmware passes NULL).
 * Fuzzed by tests/fuzz-wire.c. docs/protocol.md is the normative description; this header mirrors
 * it.
 *
 * USB (full speed): VID 0x1209 PID 0x0001 (pid.codes test range). One vendor-class interface
 * (class 0xFF, subclass 0x53 'S', protocol 0x01) with three bulk endpoints of 64 bytes:
 *   0x81 IN   stream frames, always exactly STANCE_WIRE_FRAME_SIZE bytes (8 full packets; no
 *             short packet, so several frames may arrive in one host transfer)
 *   0x02 OUT  commands: one message per transfer, ended by a short packet (or a zero-length
 *             packet when the length is a multiple of 64)
 *   0x82 IN   replies: one message per transfer, same rule; one reply per command, in order
 * Control transfers are used only for enumeration (and the MS OS 2.0 descriptor request).
 *
 * Byte order: little-endian everywhere. CRC: CRC-32/ISO-HDLC (the zlib/PNG CRC: reflected
 * polynomial 0xEDB88320, init 0xFFFFFFFF, final xor 0xFFFFFFFF); check value of "123456789" is
 * 0xCBF43926.
 *
 * Versioning: the protocol has a major and a minor number. A minor bump only adds (new opcodes,
 * new trailing payload fields, new flag bits that may be ignored); a major bump may change
 * anything except the message header and the INFO command, which are frozen forever so that any
 * host can learn any board's version. Every message header carries the sender's major version.
 * The board answers INFO whatever the major in the command; it refuses every other command whose
 * major differs from its own with STANCE_WIRE_ST_VERSION. The host reads INFO first and refuses
 * a board whose major it does not know (STANCE_EVERSION, naming both versions). Decoders here
 * refuse frames and messages whose major differs from STANCE_WIRE_PROTO_MAJOR, except
 * stance_wire_msg_decode(), which accepts any major so INFO replies can be read (callers check).
 *
 * Threads: every function is reentrant; a StanceWireTracker belongs to one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_WIRE_VID 0x1209
#define STANCE_WIRE_PID 0x0001
#define STANCE_WIRE_IFACE_CLASS 0xFF
#define STANCE_WIRE_IFACE_SUBCLASS 0x53
#define STANCE_WIRE_IFACE_PROTOCOL 0x01
#define STANCE_WIRE_EP_STREAM 0x81
#define STANCE_WIRE_EP_CMD 0x02
#define STANCE_WIRE_EP_REPLY 0x82
#define STANCE_WIRE_PACKET_SIZE 64

#define STANCE_WIRE_PROTO_MAJOR 1
#define STANCE_WIRE_PROTO_MINOR 0

#define STANCE_WIRE_CHANNELS 8

/* ---- CRC ---- */

/* CRC-32/ISO-HDLC, continued from crc (start with 0). */
uint32_t stance_wire_crc32(uint32_t crc, const void *data, size_t len);

/* ---- Stream frames (endpoint 0x81) ----
 *
 * Layout of one 512-byte frame (offsets in bytes):
 *   0  u16  magic 0x4653 ("SF" as bytes 'S','F')
 *   2  u8   protocol major
 *   3  u8   flags (STANCE_WIRE_FRAME_*)
 *   4  u32  sequence number: 0 for the first frame after START, +1 per frame, wraps at 2^32
 *   8  u64  index of the frame's first sample: ADC conversions since START, counting samples the
 *           board dropped, so the host places every sample exactly in time
 *  16  u8   number of samples n, 0..18 (0 only in the final frame after STOP)
 *  17  u8   rate code (STANCE_WIRE_RATE_*)
 *  18  u16  samples dropped by the board (FIFO overflow) immediately before this frame's first
 *           sample (saturates at 65535; the sample index is authoritative)
 *  20  n x 26-byte samples: 8 channels x 24-bit two's complement (little-endian, 3 bytes each,
 *           channel 0 first: left plate cells 1-4, right plate cells 1-4), then u8 saturation mask
 *           (bit c: channel c at an ADC rail), then u8 sample status (STANCE_WIRE_SAMPLE_*)
 *  20+26n .. 507  zero padding (checked: must be zero)
 * 508  u32  CRC over bytes 0..507
 */
#define STANCE_WIRE_FRAME_SIZE 512
#define STANCE_WIRE_FRAME_HEADER 20
#define STANCE_WIRE_SAMPLE_SIZE 26
#define STANCE_WIRE_SAMPLES_PER_FRAME 18
#define STANCE_WIRE_FRAME_MAGIC 0x4653u

enum {
  STANCE_WIRE_FRAME_FINAL = 0x01,    /* last frame of a stream (sent after STOP) */
  STANCE_WIRE_FRAME_OVERFLOW = 0x02, /* the board FIFO overflowed before this frame (dropped > 0) */
};
enum {
  STANCE_WIRE_SAMPLE_ADC_CRC = 0x01, /* the ADC's own frame CRC failed: values are not valid */
};

/* Sample rates and their codes. */
enum {
  STANCE_WIRE_RATE_500 = 0,
  STANCE_WIRE_RATE_1000 = 1,
  STANCE_WIRE_RATE_2000 = 2,
  STANCE_WIRE_RATE_4000 = 3,
  STANCE_WIRE_N_RATES = 4,
};
/* Rate in Hz for a code, 0 for an unknown code. */
uint32_t stance_wire_rate_hz(int code);
/* Code for a rate in Hz, or STANCE_ERANGE. */
int stance_wire_rate_code(uint32_t hz);

typedef struct {
  uint8_t flags;
  uint32_t seq;
  uint64_t first_sample;
  uint8_t n_samples;
  uint8_t rate_code;
  uint16_t dropped;
  int32_t counts[STANCE_WIRE_SAMPLES_PER_FRAME][STANCE_WIRE_CHANNELS]; /* sign-extended */
  uint8_t sat[STANCE_WIRE_SAMPLES_PER_FRAME];
  uint8_t status[STANCE_WIRE_SAMPLES_PER_FRAME];
} StanceWireFrame;

/* Encodes f into exactly STANCE_WIRE_FRAME_SIZE bytes. STANCE_EINVAL when n_samples > 18, the rate
 * code is unknown or a count is outside the 24-bit range. */
int stance_wire_frame_encode(const StanceWireFrame *f, uint8_t out[STANCE_WIRE_FRAME_SIZE],
                             StanceError *err);
/* Decodes one frame from buf[0..len): len must be STANCE_WIRE_FRAME_SIZE (STANCE_ETRUNC when
 * shorter, STANCE_EFORMAT when longer). STANCE_ECORRUPT on a CRC mismatch, STANCE_EFORMAT on a bad
 * magic, sample count, rate code or non-zero padding, STANCE_EVERSION on another major. */
int stance_wire_frame_decode(const uint8_t *buf, size_t len, StanceWireFrame *f, StanceError *err);

/* Host-side continuity check of a stream: where each decoded frame belongs and what was lost. */
typedef struct {
  bool started;
  uint32_t next_seq;
  uint64_t next_sample;
  uint8_t rate_code;
  /* Totals since stance_wire_tracker_init(). */
  uint64_t frames;         /* frames accepted */
  uint64_t frames_lost;    /* sequence numbers skipped */
  uint64_t samples;        /* samples accepted */
  uint64_t samples_gap;    /* samples missing from the host's view (lost frames + board drops) */
  uint64_t board_dropped;  /* samples the board itself reported dropped (FIFO overflow) */
  uint64_t frames_refused; /* frames refused by stance_wire_tracker_refuse() (CRC, format) */
} StanceWireTracker;

void stance_wire_tracker_init(StanceWireTracker *t);
/* Accepts a decoded frame. *gap_before is the number of samples missing between the previous
 * accepted frame and this one (lost frames or board drops), to be recorded as gap samples.
 * STANCE_EFORMAT (tracker unchanged, frame to be dropped and counted) when the frame goes back in
 * time (first_sample below the next expected sample, e.g. a duplicate), changes rate mid-stream,
 * or its sequence number and sample index disagree (fewer samples skipped than frames lost would
 * need is fine; a sequence number going backwards is not). The first frame after init sets the
 * origin: samples before its first_sample are a gap too (*gap_before = first_sample). */
int stance_wire_tracker_accept(StanceWireTracker *t, const StanceWireFrame *f, uint64_t *gap_before,
                               StanceError *err);
/* Counts a frame that failed to decode; its samples will show up as a gap before the next
 * accepted frame. */
void stance_wire_tracker_refuse(StanceWireTracker *t);

/* ---- Command and reply messages (endpoints 0x02 and 0x82) ----
 *
 *   0  u16  magic: 0x4353 ("SC") for a command, 0x5253 ("SR") for a reply
 *   2  u8   protocol major of the sender
 *   3  u8   opcode (STANCE_WIRE_OP_*)
 *   4  u16  tag: chosen by the host, echoed in the reply
 *   6  u8   status: 0 in commands; STANCE_WIRE_ST_* in replies
 *   7  u8   reserved, 0
 *   8  u16  payload length L, 0..STANCE_WIRE_MSG_MAX_PAYLOAD
 *  10  L bytes payload
 * 10+L u32  CRC over bytes 0..9+L
 */
#define STANCE_WIRE_MSG_HEADER 10
#define STANCE_WIRE_MSG_MAX_PAYLOAD 498
#define STANCE_WIRE_MSG_MAX (STANCE_WIRE_MSG_HEADER + STANCE_WIRE_MSG_MAX_PAYLOAD + 4) /* 512 */
#define STANCE_WIRE_CMD_MAGIC 0x4353u
#define STANCE_WIRE_REPLY_MAGIC 0x5253u

typedef enum {
  STANCE_WIRE_OP_PING = 0x01,       /* payload 0..32 bytes, echoed */
  STANCE_WIRE_OP_INFO = 0x02,       /* no payload; reply StanceWireInfo */
  STANCE_WIRE_OP_SET_RATE = 0x03,   /* u32 Hz; refused while streaming */
  STANCE_WIRE_OP_START = 0x04,      /* no payload; stream restarts at seq 0, sample 0 */
  STANCE_WIRE_OP_STOP = 0x05,       /* no payload; a FINAL frame ends the stream; reply u64 count */
  STANCE_WIRE_OP_READ_CALIB = 0x06, /* no payload; reply the calibration block */
  STANCE_WIRE_OP_WRITE_CALIB = 0x07, /* payload the calibration block; refused while streaming */
  STANCE_WIRE_OP_RESET = 0x08, /* no payload; the board replies, then resets (re-enumerates) */
} StanceWireOp;

typedef enum {
  STANCE_WIRE_ST_OK = 0,
  STANCE_WIRE_ST_BAD_CRC = 1,      /* the command's CRC did not match */
  STANCE_WIRE_ST_BAD_MSG = 2,      /* bad magic, length or reserved byte */
  STANCE_WIRE_ST_UNKNOWN_OP = 3,   /* opcode not known to this firmware */
  STANCE_WIRE_ST_BAD_ARG = 4,      /* payload not valid for the opcode (e.g. unsupported rate) */
  STANCE_WIRE_ST_BUSY = 5,         /* not allowed while streaming */
  STANCE_WIRE_ST_VERSION = 6,      /* the command's major version differs from the board's */
  STANCE_WIRE_ST_NO_CALIB = 7,     /* no valid calibration block stored */
  STANCE_WIRE_ST_FLASH = 8,        /* writing flash failed */
  STANCE_WIRE_ST_NOT_STREAMING = 9 /* STOP while not streaming */
} StanceWireStatus;

/* Text for an opcode ("set-rate") or status ("busy: not allowed while streaming"); never NULL. */
const char *stance_wire_op_name(int op);
const char *stance_wire_status_text(int status);

typedef struct {
  bool is_reply;
  uint8_t major;
  uint8_t op;
  uint16_t tag;
  uint8_t status;
  uint16_t len;
  const uint8_t *payload; /* points into the decoded buffer (not copied) */
} StanceWireMsg;

/* Encodes a message into out[0..cap); returns the number of bytes (10 + len + 4) or STANCE_ERANGE
 * when cap is too small or len too large. */
int stance_wire_msg_encode(bool is_reply, uint8_t op, uint16_t tag, uint8_t status,
                           const uint8_t *payload, uint16_t len, uint8_t *out, size_t cap,
                           StanceError *err);
/* Encodes with the given major (tests of version refusal; normal senders use the function above,
 * which sends STANCE_WIRE_PROTO_MAJOR). */
int stance_wire_msg_encode_major(uint8_t major, bool is_reply, uint8_t op, uint16_t tag,
                                 uint8_t status, const uint8_t *payload, uint16_t len, uint8_t *out,
                                 size_t cap, StanceError *err);
/* Decodes exactly one message occupying buf[0..len). STANCE_ETRUNC when len is shorter than the
 * header or than the header's length says, STANCE_EFORMAT on a bad magic, reserved byte or
 * trailing bytes, STANCE_ECORRUPT on a CRC mismatch. Any major is accepted (see Versioning). */
int stance_wire_msg_decode(const uint8_t *buf, size_t len, StanceWireMsg *msg, StanceError *err);

/* ---- INFO reply payload ----
 *   0  u8   protocol major      1 u8 protocol minor
 *   2  char[16] firmware version, NUL-padded UTF-8 ("1.0.0")
 *  18  char[24] board serial, NUL-padded ASCII [0-9A-Za-z-] (the USB iSerialNumber string)
 *  42  char[24] hardware name, NUL-padded ("stance-f411-ads131m08")
 *  66  u8   channels (8)        67 u8 ADC bits (24)
 *  68  u8   number of rates R (1..4); 69 u8 current rate code
 *  70  R x u32 rates in Hz (rate codes are the index in STANCE_WIRE_RATE_*; only the listed
 *           rates are supported)
 *  70+4R u8 flags (STANCE_WIRE_INFO_*)   71+4R u8 samples per frame (18)
 *  72+4R u32 ADC reference in microvolts (1200000)   76+4R u8 PGA gain (e.g. 128)
 *  Fields may be appended by later minors: decoders ignore trailing bytes.
 */
enum {
  STANCE_WIRE_INFO_STREAMING = 0x01, /* a stream is running */
  STANCE_WIRE_INFO_HAS_CALIB = 0x02, /* a valid calibration block is stored */
};
typedef struct {
  uint8_t major, minor;
  char firmware_version[17];
  char serial[25];
  char hardware[25];
  uint8_t channels;
  uint8_t adc_bits;
  uint8_t n_rates;
  uint32_t rates_hz[STANCE_WIRE_N_RATES];
  uint8_t current_rate_code;
  uint8_t flags;
  uint8_t samples_per_frame;
  uint32_t vref_uv;
  uint8_t pga_gain;
} StanceWireInfo;

/* Returns the payload length written or a negative code (STANCE_EINVAL on a field out of range,
 * e.g. a serial with characters outside [0-9A-Za-z-], STANCE_ERANGE when cap is too small). */
int stance_wire_info_encode(const StanceWireInfo *info, uint8_t *out, size_t cap, StanceError *err);
/* Decodes an INFO payload; strings come back NUL-terminated. STANCE_ETRUNC / STANCE_EFORMAT with a
 * message naming the field. Only the major/minor bytes are read when the major is not ours
 * (STANCE_EVERSION, info->major/minor filled) so the caller can name both versions. */
int stance_wire_info_decode(const uint8_t *p, size_t len, StanceWireInfo *info, StanceError *err);

/* ---- Calibration block (READ_CALIB reply, WRITE_CALIB payload, and the board's flash page) ----
 * A fixed 428-byte block the board stores verbatim after checking its CRC and version:
 *   0   u32 magic 0x424C4143 ("CALB")     4 u16 block version (1)     6 u16 reserved 0
 *   8   char[24] board serial              32 char[64] calibration id
 *   96  i64 created, unix ms (UTC)
 *   104 8 x f64 offset in counts           168 8 x f64 gain in N per count
 *   232 2 plates x (f64 width mm, f64 length mm, 4 x (f64 x mm, f64 y mm), f64 centre x mm,
 *       f64 centre y mm) = 2 x 96 bytes
 *   424 ... see STANCE_WIRE_CALIB_SIZE; the last 4 bytes are the CRC over all bytes before them.
 * doubles are IEEE-754 binary64, little-endian, copied bytewise (no arithmetic on the board).
 */
#define STANCE_WIRE_CALIB_MAGIC 0x424C4143u
#define STANCE_WIRE_CALIB_VERSION 1
#define STANCE_WIRE_CALIB_SIZE 428 /* 424 bytes of content + CRC */
typedef struct {
  char board_serial[25];
  char id[65];
  int64_t created_unix_ms;
  double offset_counts[STANCE_WIRE_CHANNELS];
  double gain_n_per_count[STANCE_WIRE_CHANNELS];
  struct {
    double width_mm, length_mm;
    double cell_x_mm[4], cell_y_mm[4];
    double centre_x_mm, centre_y_mm;
  } plate[2];
} StanceWireCalib;

/* Encodes into exactly STANCE_WIRE_CALIB_SIZE bytes (STANCE_ERANGE when cap is smaller). */
int stance_wire_calib_encode(const StanceWireCalib *c, uint8_t *out, size_t cap, StanceError *err);
/* Checks a block's size, magic, version and CRC without decoding the doubles (the firmware's check
 * before writing flash). */
int stance_wire_calib_check(const uint8_t *p, size_t len, StanceError *err);
/* Checks and decodes; also refuses non-finite doubles and zero gains (STANCE_EFORMAT naming the
 * field). Host only in practice, but plain C. */
int stance_wire_calib_decode(const uint8_t *p, size_t len, StanceWireCalib *c, StanceError *err);

#ifdef __cplusplus
}
#endif
