/* stance-wire.c: the Stance plate USB wire protocol, encode and decode (see stance-wire.h and
 * docs/protocol.md, which is normative).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built twice: into the host core, where every refusal fills the caller's StanceError with a
 * message naming the field, its offset and what was expected, and into the firmware with
 * -DSTANCE_WIRE_TERSE, where WIRE_FAIL() drops the message so neither stance_error_set() nor any
 * printf-family function is linked (the codes are the same). No allocation, no floating point:
 * doubles are moved as their 64-bit patterns and judged (finite, zero, sign) from the bits.
 *
 * Every multi-byte field is little-endian and read and written a byte at a time (stance-bytes.h,
 * shared with the .stance and C3D codecs), so the code does not depend on the machine's byte order
 * or alignment.
 */
#include "stance-wire.h"

#include "stance-bytes.h"

#include <string.h>

#ifdef STANCE_WIRE_TERSE
/* The firmware build: the code only. The message and its arguments are named inside sizeof, which
 * does not evaluate them (so no code, no strings, and this function needs no definition: C17
 * 6.9p5), yet they count as used, so both builds compile without warnings. */
int _stance_wire_terse_sink(int unused, ...);
#define WIRE_FAIL(err, code, ...)                                                                  \
  ((void)(err), (void)sizeof(_stance_wire_terse_sink(0, __VA_ARGS__)), (code))
#else
#define WIRE_FAIL(err, code, ...) stance_error_set((err), (code), __VA_ARGS__)
#endif

/* Text kept only for messages: dropped from the firmware build. */
#ifdef STANCE_WIRE_TERSE
#define WIRE_TEXT(s) ""
#else
#define WIRE_TEXT(s) s
#endif

#define COUNT_MAX 8388607    /* 2^23 - 1 */
#define COUNT_MIN (-8388608) /* -2^23 */

/* ---- CRC-32/ISO-HDLC ----
 *
 * Four bits at a time through a 16-entry table (64 bytes). Measured for the choice (2026-11,
 * arm-none-eabi-gcc 12 -Os, Cortex-M4): bitwise 44 bytes of code at about 60 cycles a byte,
 * this 116 bytes (code + table) at about 15 cycles a byte, a 256-entry table 1.1 KiB. At 4 kHz
 * the board checksums 113 KB/s: about 1.8 % of the 96 MHz core here against 7 % bitwise, for 72
 * bytes of the 64 KiB flash. On the host it runs at about 60-150 MB/s (load-dependent), far beyond
 * the stream's need. Entry i is the CRC register after shifting the nibble i out (i * x^32 mod P,
 * reflected).
 *
 * The .stance file code computes the same CRC (stance_crc32 in stance-file.c) slicing by 8 with
 * an 8 KiB table, about ten times faster on whole files. The two stay separate on purpose: this
 * file must build for the board without stance-file.c (stdio, threads) and without 8 KiB of
 * table, and the files must not pay the nibble version's speed. Both are tested against the same
 * check value. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t
stance_wire_crc32(uint32_t crc, const void *data, size_t len)
{
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (len--) {
    c ^= *p++;
    c = (c >> 4) ^ crc_nibble[c & 15u];
    c = (c >> 4) ^ crc_nibble[c & 15u];
  }
  return ~c;
}

/* ---- text fields ---- */

typedef enum {
  TEXT_SERIAL, /* [0-9A-Za-z-] */
  TEXT_ASCII,  /* printable ASCII 0x20..0x7E */
  TEXT_UTF8,   /* UTF-8 without control characters (C0, DEL, C1) */
} TextKind;

static const char *const text_expected[] = {
    [TEXT_SERIAL] = "[0-9A-Za-z-]",
    [TEXT_ASCII] = "printable ASCII",
    [TEXT_UTF8] = "UTF-8 without control characters",
};

static bool
serial_char(uint8_t b)
{
  return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b == '-';
}

/* Index of the first byte of p[0..n) that breaks kind, or n when all are valid. UTF-8 is checked
 * strictly: no overlong forms, no surrogates, nothing above U+10FFFF, no sequence cut short. */
static size_t
text_bad_at(const uint8_t *p, size_t n, TextKind kind)
{
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    if (kind == TEXT_SERIAL) {
      if (!serial_char(b))
        return i;
      i++;
      continue;
    }
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7F)
        return i;
      i++;
      continue;
    }
    if (kind == TEXT_ASCII)
      return i;
    size_t more;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF) {
      more = 1;
      cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
      more = 2;
      cp = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
      more = 3;
      cp = b & 0x07u;
    } else {
      return i;
    }
    if (n - i <= more)
      return i;
    for (size_t k = 1; k <= more; k++) {
      uint8_t c = p[i + k];
      if ((c & 0xC0u) != 0x80u)
        return i;
      cp = cp << 6 | (c & 0x3Fu);
    }
    if ((more == 2 && cp < 0x800u) || (more == 3 && cp < 0x10000u) || cp > 0x10FFFFu ||
        (cp >= 0xD800u && cp <= 0xDFFFu) || (cp >= 0x80u && cp < 0xA0u))
      return i;
    i += more + 1;
  }
  return n;
}

/* Reads a NUL-padded text field of cap bytes at p (message offset `at`) into out (cap + 1 bytes,
 * NUL-terminated). The text is non-empty, valid for kind, and every byte after the first NUL is
 * NUL (so the encoding is canonical). */
static int
text_read(const uint8_t *p, size_t cap, TextKind kind, char *out, const char *what,
          const char *field, size_t at, StanceError *err)
{
  const uint8_t *nul = memchr(p, 0, cap);
  size_t n = nul ? (size_t)(nul - p) : cap;
  if (n == 0)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "%s: %s at offset %zu is empty (expected 1 to %zu bytes of %s, NUL-padded)",
                     what, field, at, cap, text_expected[kind]);
  size_t bad = text_bad_at(p, n, kind);
  if (bad < n)
    return WIRE_FAIL(
        err, STANCE_EFORMAT,
        "%s: %s at offset %zu: byte 0x%02x at offset %zu is not valid (expected %s, NUL-padded)",
        what, field, at, p[bad], at + bad, text_expected[kind]);
  for (size_t i = n; i < cap; i++)
    if (p[i] != 0)
      return WIRE_FAIL(err, STANCE_EFORMAT,
                       "%s: %s at offset %zu: byte 0x%02x at offset %zu follows the terminating "
                       "NUL (expected NUL padding)",
                       what, field, at, p[i], at + i);
  memcpy(out, p, n);
  out[n] = '\0';
  return STANCE_OK;
}

/* Writes the NUL-terminated s (held in a buffer of cap + 1 bytes) as a NUL-padded field of cap
 * bytes, after checking it as text_read() would. */
static int
text_write(uint8_t *p, size_t cap, TextKind kind, const char *s, const char *what,
           const char *field, StanceError *err)
{
  const char *nul = memchr(s, 0, cap + 1);
  if (!nul)
    return WIRE_FAIL(
        err, STANCE_EINVAL,
        "%s: %s is not NUL-terminated within %zu bytes (expected at most %zu bytes of text)", what,
        field, cap + 1, cap);
  size_t n = (size_t)(nul - s);
  if (n == 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "%s: %s is empty (expected 1 to %zu bytes of %s)", what,
                     field, cap, text_expected[kind]);
  size_t bad = text_bad_at((const uint8_t *)s, n, kind);
  if (bad < n)
    return WIRE_FAIL(err, STANCE_EINVAL,
                     "%s: %s: byte 0x%02x at position %zu is not valid (expected %s)", what, field,
                     (unsigned char)s[bad], bad, text_expected[kind]);
  memcpy(p, s, n);
  memset(p + n, 0, cap - n);
  return STANCE_OK;
}

/* ---- doubles judged from their bit patterns ---- */

/* Exponent all ones: infinity or NaN. */
static inline bool
bits_finite(uint64_t u)
{
  return ((u >> 52) & 0x7FFu) != 0x7FFu;
}

/* +0 or -0. */
static inline bool
bits_zero(uint64_t u)
{
  return (u << 1) == 0;
}

static inline bool
bits_negative(uint64_t u)
{
  return (u >> 63) != 0;
}

/* ---- rates ---- */

uint32_t
stance_wire_rate_hz(int code)
{
  if (code < 0 || code >= STANCE_WIRE_N_RATES)
    return 0;
  return 500u << code;
}

int
stance_wire_rate_code(uint32_t hz)
{
  for (int code = 0; code < STANCE_WIRE_N_RATES; code++)
    if (stance_wire_rate_hz(code) == hz)
      return code;
  return STANCE_ERANGE;
}

/* ---- stream frames ---- */

int
stance_wire_frame_encode(const StanceWireFrame *f, uint8_t out[STANCE_WIRE_FRAME_SIZE],
                         StanceError *err)
{
  if (!f || !out)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream frame: no frame or output buffer given");
  unsigned n = f->n_samples;
  if (n > STANCE_WIRE_SAMPLES_PER_FRAME)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream frame: %u samples (expected 0 to %d)", n,
                     STANCE_WIRE_SAMPLES_PER_FRAME);
  if (n == 0 && !(f->flags & STANCE_WIRE_FRAME_FINAL))
    return WIRE_FAIL(err, STANCE_EINVAL,
                     "stream frame: no samples without the FINAL flag (only the final frame after "
                     "STOP may be empty)");
  if (f->rate_code >= STANCE_WIRE_N_RATES)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream frame: rate code %u is unknown (expected 0 to %d)",
                     f->rate_code, STANCE_WIRE_N_RATES - 1);
  if (((f->flags & STANCE_WIRE_FRAME_OVERFLOW) != 0) != (f->dropped != 0))
    return WIRE_FAIL(err, STANCE_EINVAL,
                     "stream frame: the OVERFLOW flag is %s but %u samples were dropped (expected "
                     "the flag set exactly when samples were dropped)",
                     (f->flags & STANCE_WIRE_FRAME_OVERFLOW) ? "set" : "clear", f->dropped);
  for (unsigned s = 0; s < n; s++)
    for (unsigned c = 0; c < STANCE_WIRE_CHANNELS; c++)
      if (f->counts[s][c] < COUNT_MIN || f->counts[s][c] > COUNT_MAX)
        return WIRE_FAIL(err, STANCE_EINVAL,
                         "stream frame: sample %u channel %u count %ld is outside the 24-bit range "
                         "(expected %d to %d)",
                         s, c, (long)f->counts[s][c], COUNT_MIN, COUNT_MAX);

  memset(out, 0, STANCE_WIRE_FRAME_SIZE);
  stance_put_le16(out, STANCE_WIRE_FRAME_MAGIC);
  out[2] = STANCE_WIRE_PROTO_MAJOR;
  out[3] = f->flags;
  stance_put_le32(out + 4, f->seq);
  stance_put_le64(out + 8, f->first_sample);
  out[16] = (uint8_t)n;
  out[17] = f->rate_code;
  stance_put_le16(out + 18, f->dropped);
  uint8_t *p = out + STANCE_WIRE_FRAME_HEADER;
  for (unsigned s = 0; s < n; s++) {
    for (unsigned c = 0; c < STANCE_WIRE_CHANNELS; c++) {
      uint32_t v = (uint32_t)f->counts[s][c]; /* two's complement; the low 24 bits are sent */
      p[0] = (uint8_t)v;
      p[1] = (uint8_t)(v >> 8);
      p[2] = (uint8_t)(v >> 16);
      p += 3;
    }
    p[0] = f->sat[s];
    p[1] = f->status[s];
    p += 2;
  }
  stance_put_le32(out + STANCE_WIRE_FRAME_SIZE - 4,
                  stance_wire_crc32(0, out, STANCE_WIRE_FRAME_SIZE - 4));
  return STANCE_OK;
}

int
stance_wire_frame_decode(const uint8_t *buf, size_t len, StanceWireFrame *f, StanceError *err)
{
  if (!f)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream frame: no output given");
  memset(f, 0, sizeof *f);
  if (!buf && len > 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream frame: no input given");
  if (len < STANCE_WIRE_FRAME_SIZE)
    return WIRE_FAIL(err, STANCE_ETRUNC, "stream frame: %zu bytes (expected exactly %d)", len,
                     STANCE_WIRE_FRAME_SIZE);
  if (len > STANCE_WIRE_FRAME_SIZE)
    return WIRE_FAIL(err, STANCE_EFORMAT, "stream frame: %zu bytes (expected exactly %d)", len,
                     STANCE_WIRE_FRAME_SIZE);
  /* The CRC first: every corruption in transit is then reported as such (CRC-32 catches every
   * single-bit and every burst error up to 32 bits), not as whatever field it happened to hit. */
  uint32_t want = stance_get_le32(buf + STANCE_WIRE_FRAME_SIZE - 4);
  uint32_t got = stance_wire_crc32(0, buf, STANCE_WIRE_FRAME_SIZE - 4);
  uint16_t magic = stance_get_le16(buf);
  if (want != got)
    return WIRE_FAIL(err, STANCE_ECORRUPT,
                     "stream frame: CRC 0x%08lx at offset 508 does not match 0x%08lx computed over "
                     "bytes 0 to 507%s",
                     (unsigned long)want, (unsigned long)got,
                     magic != STANCE_WIRE_FRAME_MAGIC
                         ? " (and the magic at offset 0 is wrong: not a stream frame)"
                         : "");
  if (magic != STANCE_WIRE_FRAME_MAGIC)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame: magic 0x%04x at offset 0 (expected 0x%04x, bytes 'S' 'F')",
                     magic, STANCE_WIRE_FRAME_MAGIC);
  if (buf[2] != STANCE_WIRE_PROTO_MAJOR)
    return WIRE_FAIL(
        err, STANCE_EVERSION,
        "stream frame: protocol major %u at offset 2 (expected %d, the major this host speaks)",
        buf[2], STANCE_WIRE_PROTO_MAJOR);
  uint8_t flags = buf[3];
  unsigned n = buf[16];
  uint8_t rate = buf[17];
  uint16_t dropped = stance_get_le16(buf + 18);
  if (n > STANCE_WIRE_SAMPLES_PER_FRAME)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame: sample count %u at offset 16 (expected 0 to %d)", n,
                     STANCE_WIRE_SAMPLES_PER_FRAME);
  if (n == 0 && !(flags & STANCE_WIRE_FRAME_FINAL))
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame: sample count 0 at offset 16 without the FINAL flag at offset 3 "
                     "(expected 1 to %d samples)",
                     STANCE_WIRE_SAMPLES_PER_FRAME);
  if (rate >= STANCE_WIRE_N_RATES)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame: rate code %u at offset 17 (expected 0 to %d)", rate,
                     STANCE_WIRE_N_RATES - 1);
  if (((flags & STANCE_WIRE_FRAME_OVERFLOW) != 0) != (dropped != 0))
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame: OVERFLOW flag (offset 3) %s but dropped count %u at offset 18 "
                     "(expected the flag set exactly when the count is not 0)",
                     (flags & STANCE_WIRE_FRAME_OVERFLOW) ? "set" : "clear", dropped);
  size_t end = STANCE_WIRE_FRAME_HEADER + (size_t)n * STANCE_WIRE_SAMPLE_SIZE;
  for (size_t i = end; i < STANCE_WIRE_FRAME_SIZE - 4; i++)
    if (buf[i] != 0)
      return WIRE_FAIL(err, STANCE_EFORMAT,
                       "stream frame: padding byte 0x%02x at offset %zu (expected 0 from offset "
                       "%zu, after %u samples)",
                       buf[i], i, end, n);

  f->flags = flags;
  f->seq = stance_get_le32(buf + 4);
  f->first_sample = stance_get_le64(buf + 8);
  f->n_samples = (uint8_t)n;
  f->rate_code = rate;
  f->dropped = dropped;
  const uint8_t *p = buf + STANCE_WIRE_FRAME_HEADER;
  for (unsigned s = 0; s < n; s++) {
    for (unsigned c = 0; c < STANCE_WIRE_CHANNELS; c++) {
      uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
      /* Sign extension without implementation-defined conversions: flip the sign bit into an
       * offset-binary value in [0, 2^24), then remove the offset. */
      f->counts[s][c] = (int32_t)(v ^ 0x800000u) - 0x800000;
      p += 3;
    }
    f->sat[s] = p[0];
    f->status[s] = p[1];
    p += 2;
  }
  return STANCE_OK;
}

/* ---- stream tracker ---- */

void
stance_wire_tracker_init(StanceWireTracker *t)
{
  if (t)
    memset(t, 0, sizeof *t);
}

int
stance_wire_tracker_accept(StanceWireTracker *t, const StanceWireFrame *f, uint64_t *gap_before,
                           StanceError *err)
{
  if (gap_before)
    *gap_before = 0;
  if (!t || !f)
    return WIRE_FAIL(err, STANCE_EINVAL, "stream tracker: no tracker or frame given");
  if (f->n_samples > STANCE_WIRE_SAMPLES_PER_FRAME || f->rate_code >= STANCE_WIRE_N_RATES)
    return WIRE_FAIL(err, STANCE_EINVAL,
                     "stream tracker: frame with %u samples at rate code %u is not a decoded frame "
                     "(expected at most %d samples and a known rate)",
                     f->n_samples, f->rate_code, STANCE_WIRE_SAMPLES_PER_FRAME);
  uint32_t lost;
  uint64_t gap;
  if (!t->started) {
    /* START resets both counters to 0: whatever the first frame skips was lost before it. */
    lost = f->seq;
    gap = f->first_sample;
  } else {
    if (f->rate_code != t->rate_code)
      return WIRE_FAIL(err, STANCE_EFORMAT,
                       "stream frame %lu: rate %lu Hz differs from the stream's %lu Hz (expected "
                       "the same rate until STOP)",
                       (unsigned long)f->seq, (unsigned long)stance_wire_rate_hz(f->rate_code),
                       (unsigned long)stance_wire_rate_hz(t->rate_code));
    /* Serial-number arithmetic: a distance of 2^31 or more is a step backwards, so the counter
     * may wrap at 2^32 (19 weeks of 4 kHz frames) and up to 2^31 - 1 frames may be lost. */
    uint32_t d = f->seq - t->next_seq;
    if (d >= 0x80000000u)
      return WIRE_FAIL(err, STANCE_EFORMAT,
                       "stream frame: sequence number %lu is behind the expected %lu (a duplicate "
                       "or out-of-order frame)",
                       (unsigned long)f->seq, (unsigned long)t->next_seq);
    if (f->first_sample < t->next_sample)
      return WIRE_FAIL(err, STANCE_EFORMAT,
                       "stream frame %lu: first sample %llu is before the expected %llu (the "
                       "stream cannot go back in time)",
                       (unsigned long)f->seq, (unsigned long long)f->first_sample,
                       (unsigned long long)t->next_sample);
    lost = d;
    gap = f->first_sample - t->next_sample;
  }
  if (f->dropped > gap)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame %lu: the board reports %u samples dropped before sample %llu "
                     "but only %llu are missing there (expected at most %llu)",
                     (unsigned long)f->seq, f->dropped, (unsigned long long)f->first_sample,
                     (unsigned long long)gap, (unsigned long long)gap);
  if (f->first_sample > UINT64_MAX - f->n_samples)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "stream frame %lu: sample index %llu + %u overflows 64 bits",
                     (unsigned long)f->seq, (unsigned long long)f->first_sample, f->n_samples);

  t->started = true;
  t->next_seq = f->seq + 1u;
  t->next_sample = f->first_sample + f->n_samples;
  t->rate_code = f->rate_code;
  t->frames++;
  t->frames_lost += lost;
  t->samples += f->n_samples;
  t->samples_gap += gap;
  t->board_dropped += f->dropped;
  if (gap_before)
    *gap_before = gap;
  return STANCE_OK;
}

void
stance_wire_tracker_refuse(StanceWireTracker *t)
{
  if (t)
    t->frames_refused++;
}

/* ---- command and reply messages ---- */

const char *
stance_wire_op_name(int op)
{
  switch (op) {
  case STANCE_WIRE_OP_PING: return "ping";
  case STANCE_WIRE_OP_INFO: return "info";
  case STANCE_WIRE_OP_SET_RATE: return "set-rate";
  case STANCE_WIRE_OP_START: return "start";
  case STANCE_WIRE_OP_STOP: return "stop";
  case STANCE_WIRE_OP_READ_CALIB: return "read-calib";
  case STANCE_WIRE_OP_WRITE_CALIB: return "write-calib";
  case STANCE_WIRE_OP_RESET: return "reset";
  default: return "unknown opcode";
  }
}

const char *
stance_wire_status_text(int status)
{
  switch (status) {
  case STANCE_WIRE_ST_OK: return "ok";
  case STANCE_WIRE_ST_BAD_CRC: return "bad CRC: the command's CRC did not match";
  case STANCE_WIRE_ST_BAD_MSG: return "bad message: wrong magic, length or reserved byte";
  case STANCE_WIRE_ST_UNKNOWN_OP: return "unknown opcode: not known to this firmware";
  case STANCE_WIRE_ST_BAD_ARG: return "bad argument: payload not valid for the opcode";
  case STANCE_WIRE_ST_BUSY: return "busy: not allowed while streaming";
  case STANCE_WIRE_ST_VERSION:
    return "version: the command's protocol major differs from the board's";
  case STANCE_WIRE_ST_NO_CALIB: return "no calibration: no valid calibration block stored";
  case STANCE_WIRE_ST_FLASH: return "flash: writing the flash failed";
  case STANCE_WIRE_ST_NOT_STREAMING: return "not streaming: STOP while no stream runs";
  default: return "unknown status";
  }
}

int
stance_wire_msg_encode(bool is_reply, uint8_t op, uint16_t tag, uint8_t status,
                       const uint8_t *payload, uint16_t len, uint8_t *out, size_t cap,
                       StanceError *err)
{
  return stance_wire_msg_encode_major(STANCE_WIRE_PROTO_MAJOR, is_reply, op, tag, status, payload,
                                      len, out, cap, err);
}

int
stance_wire_msg_encode_major(uint8_t major, bool is_reply, uint8_t op, uint16_t tag, uint8_t status,
                             const uint8_t *payload, uint16_t len, uint8_t *out, size_t cap,
                             StanceError *err)
{
  const char *what = is_reply ? "reply" : "command";
  if (len > STANCE_WIRE_MSG_MAX_PAYLOAD)
    return WIRE_FAIL(err, STANCE_ERANGE, "%s %s: payload of %u bytes (expected at most %d)", what,
                     stance_wire_op_name(op), len, STANCE_WIRE_MSG_MAX_PAYLOAD);
  size_t total = STANCE_WIRE_MSG_HEADER + (size_t)len + 4;
  if (!out || cap < total)
    return WIRE_FAIL(err, STANCE_ERANGE, "%s %s: %zu bytes do not fit the %zu-byte buffer", what,
                     stance_wire_op_name(op), total, out ? cap : 0);
  if (len > 0 && !payload)
    return WIRE_FAIL(err, STANCE_EINVAL, "%s %s: %u payload bytes announced but none given", what,
                     stance_wire_op_name(op), len);
  if (!is_reply && status != STANCE_WIRE_ST_OK)
    return WIRE_FAIL(err, STANCE_EINVAL, "command %s: status %u (expected 0 in a command)",
                     stance_wire_op_name(op), status);
  /* The payload first and with memmove: a caller may have built it in place at out + 10. */
  if (len > 0)
    memmove(out + STANCE_WIRE_MSG_HEADER, payload, len);
  stance_put_le16(out, is_reply ? STANCE_WIRE_REPLY_MAGIC : STANCE_WIRE_CMD_MAGIC);
  out[2] = major;
  out[3] = op;
  stance_put_le16(out + 4, tag);
  out[6] = status;
  out[7] = 0;
  stance_put_le16(out + 8, len);
  stance_put_le32(out + STANCE_WIRE_MSG_HEADER + len,
                  stance_wire_crc32(0, out, STANCE_WIRE_MSG_HEADER + (size_t)len));
  return (int)total;
}

int
stance_wire_msg_decode(const uint8_t *buf, size_t len, StanceWireMsg *msg, StanceError *err)
{
  if (!msg)
    return WIRE_FAIL(err, STANCE_EINVAL, "message: no output given");
  memset(msg, 0, sizeof *msg);
  if (!buf && len > 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "message: no input given");
  if (len < STANCE_WIRE_MSG_HEADER + 4)
    return WIRE_FAIL(err, STANCE_ETRUNC,
                     "message: %zu bytes (expected at least %d: a 10-byte header and a 4-byte CRC)",
                     len, STANCE_WIRE_MSG_HEADER + 4);
  uint16_t magic = stance_get_le16(buf);
  if (magic != STANCE_WIRE_CMD_MAGIC && magic != STANCE_WIRE_REPLY_MAGIC)
    return WIRE_FAIL(
        err, STANCE_EFORMAT,
        "message: magic 0x%04x at offset 0 (expected 0x%04x for a command or 0x%04x for a reply)",
        magic, STANCE_WIRE_CMD_MAGIC, STANCE_WIRE_REPLY_MAGIC);
  bool is_reply = magic == STANCE_WIRE_REPLY_MAGIC;
  const char *what = is_reply ? "reply" : "command";
  uint16_t plen = stance_get_le16(buf + 8);
  if (plen > STANCE_WIRE_MSG_MAX_PAYLOAD)
    return WIRE_FAIL(err, STANCE_EFORMAT, "%s: payload length %u at offset 8 (expected at most %d)",
                     what, plen, STANCE_WIRE_MSG_MAX_PAYLOAD);
  size_t total = STANCE_WIRE_MSG_HEADER + (size_t)plen + 4;
  if (len < total)
    return WIRE_FAIL(err, STANCE_ETRUNC,
                     "%s: %zu bytes but the payload length %u at offset 8 needs %zu", what, len,
                     plen, total);
  if (len > total)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "%s: %zu bytes but the payload length %u at offset 8 gives %zu (expected no "
                     "trailing bytes)",
                     what, len, plen, total);
  uint32_t want = stance_get_le32(buf + total - 4);
  uint32_t got = stance_wire_crc32(0, buf, total - 4);
  if (want != got)
    return WIRE_FAIL(
        err, STANCE_ECORRUPT,
        "%s: CRC 0x%08lx at offset %zu does not match 0x%08lx computed over bytes 0 to %zu", what,
        (unsigned long)want, total - 4, (unsigned long)got, total - 5);
  if (buf[7] != 0)
    return WIRE_FAIL(err, STANCE_EFORMAT, "%s: reserved byte 0x%02x at offset 7 (expected 0)", what,
                     buf[7]);
  if (!is_reply && buf[6] != STANCE_WIRE_ST_OK)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "command: status %u at offset 6 (expected 0 in a command)", buf[6]);
  msg->is_reply = is_reply;
  msg->major = buf[2];
  msg->op = buf[3];
  msg->tag = stance_get_le16(buf + 4);
  msg->status = buf[6];
  msg->len = plen;
  msg->payload = buf + STANCE_WIRE_MSG_HEADER;
  return STANCE_OK;
}

/* ---- INFO payload ---- */

#define INFO_FW_AT 2
#define INFO_FW_LEN 16
#define INFO_SERIAL_AT 18
#define INFO_SERIAL_LEN 24
#define INFO_HW_AT 42
#define INFO_HW_LEN 24
#define INFO_CHANNELS_AT 66
#define INFO_BITS_AT 67
#define INFO_NRATES_AT 68
#define INFO_RATE_AT 69
#define INFO_RATES_AT 70
#define INFO_SIZE(r) (77u + 4u * (r))

/* The first numeric INFO field that is not valid: its offset, name, what was expected, value. */
typedef struct {
  size_t at;
  const char *field;
  const char *expected;
  unsigned long value;
} InfoBad;

/* Shared by encode and decode: true when every numeric field is valid, else false with *bad. */
static bool
info_numbers_ok(const StanceWireInfo *info, InfoBad *bad)
{
  unsigned r = info->n_rates;
  if (info->channels != STANCE_WIRE_CHANNELS) {
    *bad = (InfoBad){INFO_CHANNELS_AT, WIRE_TEXT("channels"), WIRE_TEXT("8"), info->channels};
    return false;
  }
  if (info->adc_bits < 8 || info->adc_bits > 24) {
    *bad = (InfoBad){INFO_BITS_AT, WIRE_TEXT("ADC bits"), WIRE_TEXT("8 to 24"), info->adc_bits};
    return false;
  }
  if (r < 1 || r > STANCE_WIRE_N_RATES) {
    *bad = (InfoBad){INFO_NRATES_AT, WIRE_TEXT("number of rates"), WIRE_TEXT("1 to 4"), r};
    return false;
  }
  bool current_listed = false;
  int prev = -1;
  for (unsigned i = 0; i < r; i++) {
    int code = stance_wire_rate_code(info->rates_hz[i]);
    if (code < 0 || code <= prev) {
      *bad = (InfoBad){INFO_RATES_AT + 4 * i, WIRE_TEXT("rate"),
                       WIRE_TEXT("500, 1000, 2000 or 4000 Hz, in increasing order"),
                       info->rates_hz[i]};
      return false;
    }
    if (code == info->current_rate_code)
      current_listed = true;
    prev = code;
  }
  if (!current_listed) {
    *bad = (InfoBad){INFO_RATE_AT, WIRE_TEXT("current rate code"),
                     WIRE_TEXT("the code of a listed rate"), info->current_rate_code};
    return false;
  }
  if (info->samples_per_frame != STANCE_WIRE_SAMPLES_PER_FRAME) {
    *bad = (InfoBad){INFO_RATES_AT + 4 * r + 1, WIRE_TEXT("samples per frame"), WIRE_TEXT("18"),
                     info->samples_per_frame};
    return false;
  }
  if (info->vref_uv == 0) {
    *bad = (InfoBad){INFO_RATES_AT + 4 * r + 2, WIRE_TEXT("ADC reference"),
                     WIRE_TEXT("more than 0 microvolts"), 0};
    return false;
  }
  if (info->pga_gain == 0) {
    *bad = (InfoBad){INFO_RATES_AT + 4 * r + 6, WIRE_TEXT("PGA gain"), WIRE_TEXT("1 or more"), 0};
    return false;
  }
  return true;
}

int
stance_wire_info_encode(const StanceWireInfo *info, uint8_t *out, size_t cap, StanceError *err)
{
  if (!info || !out)
    return WIRE_FAIL(err, STANCE_EINVAL, "INFO: no info or output buffer given");
  if (info->major == 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "INFO: protocol major 0 (expected 1 or more)");
  InfoBad bad;
  if (!info_numbers_ok(info, &bad))
    return WIRE_FAIL(err, STANCE_EINVAL, "INFO: %s %lu (offset %zu) is not valid (expected %s)",
                     bad.field, bad.value, bad.at, bad.expected);
  size_t size = INFO_SIZE(info->n_rates);
  if (cap < size)
    return WIRE_FAIL(err, STANCE_ERANGE, "INFO: %zu bytes do not fit the %zu-byte buffer", size,
                     cap);
  uint8_t tmp[INFO_SIZE(STANCE_WIRE_N_RATES)];
  int r;
  if ((r = text_write(tmp + INFO_FW_AT, INFO_FW_LEN, TEXT_UTF8, info->firmware_version, "INFO",
                      "firmware version", err)) < 0 ||
      (r = text_write(tmp + INFO_SERIAL_AT, INFO_SERIAL_LEN, TEXT_SERIAL, info->serial, "INFO",
                      "serial", err)) < 0 ||
      (r = text_write(tmp + INFO_HW_AT, INFO_HW_LEN, TEXT_ASCII, info->hardware, "INFO",
                      "hardware name", err)) < 0)
    return r;
  tmp[0] = info->major;
  tmp[1] = info->minor;
  tmp[INFO_CHANNELS_AT] = info->channels;
  tmp[INFO_BITS_AT] = info->adc_bits;
  tmp[INFO_NRATES_AT] = info->n_rates;
  tmp[INFO_RATE_AT] = info->current_rate_code;
  uint8_t *p = tmp + INFO_RATES_AT;
  for (unsigned i = 0; i < info->n_rates; i++, p += 4)
    stance_put_le32(p, info->rates_hz[i]);
  p[0] = info->flags;
  p[1] = info->samples_per_frame;
  stance_put_le32(p + 2, info->vref_uv);
  p[6] = info->pga_gain;
  memcpy(out, tmp, size);
  return (int)size;
}

int
stance_wire_info_decode(const uint8_t *p, size_t len, StanceWireInfo *info, StanceError *err)
{
  if (!info)
    return WIRE_FAIL(err, STANCE_EINVAL, "INFO: no output given");
  memset(info, 0, sizeof *info);
  if (!p && len > 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "INFO: no input given");
  if (len < 2)
    return WIRE_FAIL(err, STANCE_ETRUNC,
                     "INFO: %zu bytes end before the protocol version at offsets 0 and 1 (expected "
                     "at least %u bytes)",
                     len, INFO_SIZE(1));
  info->major = p[0];
  info->minor = p[1];
  if (p[0] != STANCE_WIRE_PROTO_MAJOR)
    return WIRE_FAIL(
        err, STANCE_EVERSION,
        "INFO: the board speaks protocol %u.%u, this host speaks %d.%d (expected major %d)", p[0],
        p[1], STANCE_WIRE_PROTO_MAJOR, STANCE_WIRE_PROTO_MINOR, STANCE_WIRE_PROTO_MAJOR);
  if (len < INFO_RATES_AT)
    return WIRE_FAIL(
        err, STANCE_ETRUNC,
        "INFO: %zu bytes end before the rate list at offset %d (expected at least %u bytes)", len,
        INFO_RATES_AT, INFO_SIZE(1));
  unsigned r = p[INFO_NRATES_AT];
  if (r < 1 || r > STANCE_WIRE_N_RATES)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "INFO: number of rates %u at offset %d (expected 1 to %d)", r, INFO_NRATES_AT,
                     STANCE_WIRE_N_RATES);
  if (len < INFO_SIZE(r))
    return WIRE_FAIL(err, STANCE_ETRUNC,
                     "INFO: %zu bytes end before the PGA gain at offset %u (expected at least %u "
                     "bytes with %u rates)",
                     len, INFO_SIZE(r) - 1, INFO_SIZE(r), r);
  int rc;
  if ((rc = text_read(p + INFO_FW_AT, INFO_FW_LEN, TEXT_UTF8, info->firmware_version, "INFO",
                      "firmware version", INFO_FW_AT, err)) < 0 ||
      (rc = text_read(p + INFO_SERIAL_AT, INFO_SERIAL_LEN, TEXT_SERIAL, info->serial, "INFO",
                      "serial", INFO_SERIAL_AT, err)) < 0 ||
      (rc = text_read(p + INFO_HW_AT, INFO_HW_LEN, TEXT_ASCII, info->hardware, "INFO",
                      "hardware name", INFO_HW_AT, err)) < 0) {
    memset(info, 0, sizeof *info);
    return rc;
  }
  info->channels = p[INFO_CHANNELS_AT];
  info->adc_bits = p[INFO_BITS_AT];
  info->n_rates = (uint8_t)r;
  info->current_rate_code = p[INFO_RATE_AT];
  const uint8_t *q = p + INFO_RATES_AT;
  for (unsigned i = 0; i < r; i++, q += 4)
    info->rates_hz[i] = stance_get_le32(q);
  info->flags = q[0];
  info->samples_per_frame = q[1];
  info->vref_uv = stance_get_le32(q + 2);
  info->pga_gain = q[6];
  InfoBad bad;
  if (!info_numbers_ok(info, &bad)) {
    memset(info, 0, sizeof *info);
    return WIRE_FAIL(err, STANCE_EFORMAT, "INFO: %s %lu at offset %zu (expected %s)", bad.field,
                     bad.value, bad.at, bad.expected);
  }
  /* Bytes beyond INFO_SIZE(r) are fields of a later minor: ignored. */
  return STANCE_OK;
}

/* ---- calibration block ---- */

#define CAL_VERSION_AT 4
#define CAL_RESERVED_AT 6
#define CAL_SERIAL_AT 8
#define CAL_SERIAL_LEN 24
#define CAL_ID_AT 32
#define CAL_ID_LEN 64
#define CAL_CREATED_AT 96
#define CAL_OFFSET_AT 104
#define CAL_GAIN_AT 168
#define CAL_PLATE_AT 232
#define CAL_PLATE_SIZE 96
#define CAL_CRC_AT (STANCE_WIRE_CALIB_SIZE - 4)

/* The 12 doubles of one plate in block order: width, length, x1, y1, ..., x4, y4, centre x, y. */
#define PLATE_DOUBLES 12

static const char *const plate_field[PLATE_DOUBLES] = {
    "width",    "length",   "cell 1 x", "cell 1 y", "cell 2 x", "cell 2 y",
    "cell 3 x", "cell 3 y", "cell 4 x", "cell 4 y", "centre x", "centre y",
};

/* Judges one double of the block by its bits: 0 when valid, else code with a message naming the
 * field. kind 0: finite; 1: finite and not zero (gains); 2: finite and above zero (plate sizes).
 * The field is "<group> of channel <channel>" when field is NULL, else "<group> plate <field>". */
static int
calib_double_check(uint64_t u, int kind, const char *group, int channel, const char *field,
                   size_t at, int code, StanceError *err)
{
  const char *is, *expected;
  if (!bits_finite(u)) {
    is = (u & 0x000FFFFFFFFFFFFFull) ? "NaN" : "infinite";
    expected = kind == 2 ? "a finite number above zero" : "a finite number";
  } else if (kind >= 1 && bits_zero(u)) {
    is = "zero";
    expected = kind == 1 ? "a finite, non-zero number" : "a finite number above zero";
  } else if (kind == 2 && bits_negative(u)) {
    is = "negative";
    expected = "a finite number above zero";
  } else {
    return STANCE_OK;
  }
  if (field)
    return WIRE_FAIL(err, code, "calibration block: %s plate %s at offset %zu is %s (expected %s)",
                     group, field, at, is, expected);
  return WIRE_FAIL(
      err, code,
      "calibration block: %s of channel %d (%s plate cell %d) at offset %zu is %s (expected %s)",
      group, channel, channel < 4 ? "left" : "right", channel % 4 + 1, at, is, expected);
}

/* Checks every double of a block image (its content bytes), in block order. */
static int
calib_doubles_check(const uint8_t *blk, int code, StanceError *err)
{
  int r;
  for (int c = 0; c < STANCE_WIRE_CHANNELS; c++) {
    size_t at = CAL_OFFSET_AT + 8u * (size_t)c;
    if ((r = calib_double_check(stance_get_le64(blk + at), 0, "offset", c, NULL, at, code, err)) <
        0)
      return r;
  }
  for (int c = 0; c < STANCE_WIRE_CHANNELS; c++) {
    size_t at = CAL_GAIN_AT + 8u * (size_t)c;
    if ((r = calib_double_check(stance_get_le64(blk + at), 1, "gain", c, NULL, at, code, err)) < 0)
      return r;
  }
  for (int pl = 0; pl < 2; pl++)
    for (int k = 0; k < PLATE_DOUBLES; k++) {
      size_t at = CAL_PLATE_AT + CAL_PLATE_SIZE * (size_t)pl + 8u * (size_t)k;
      if ((r = calib_double_check(stance_get_le64(blk + at), k < 2 ? 2 : 0,
                                  pl == 0 ? "left" : "right", 0, plate_field[k], at, code, err)) <
          0)
        return r;
    }
  return STANCE_OK;
}

int
stance_wire_calib_check(const uint8_t *p, size_t len, StanceError *err)
{
  if (!p && len > 0)
    return WIRE_FAIL(err, STANCE_EINVAL, "calibration block: no input given");
  if (len < STANCE_WIRE_CALIB_SIZE)
    return WIRE_FAIL(err, STANCE_ETRUNC, "calibration block: %zu bytes (expected exactly %d)", len,
                     STANCE_WIRE_CALIB_SIZE);
  if (len > STANCE_WIRE_CALIB_SIZE)
    return WIRE_FAIL(err, STANCE_EFORMAT, "calibration block: %zu bytes (expected exactly %d)", len,
                     STANCE_WIRE_CALIB_SIZE);
  uint32_t want = stance_get_le32(p + CAL_CRC_AT);
  uint32_t got = stance_wire_crc32(0, p, CAL_CRC_AT);
  if (want != got)
    return WIRE_FAIL(err, STANCE_ECORRUPT,
                     "calibration block: CRC 0x%08lx at offset %d does not match 0x%08lx computed "
                     "over bytes 0 to %d",
                     (unsigned long)want, CAL_CRC_AT, (unsigned long)got, CAL_CRC_AT - 1);
  uint32_t magic = stance_get_le32(p);
  if (magic != STANCE_WIRE_CALIB_MAGIC)
    return WIRE_FAIL(
        err, STANCE_EFORMAT,
        "calibration block: magic 0x%08lx at offset 0 (expected 0x%08lx, bytes 'C' 'A' 'L' 'B')",
        (unsigned long)magic, (unsigned long)STANCE_WIRE_CALIB_MAGIC);
  uint16_t version = stance_get_le16(p + CAL_VERSION_AT);
  if (version != STANCE_WIRE_CALIB_VERSION)
    return WIRE_FAIL(err, STANCE_EVERSION,
                     "calibration block: version %u at offset %d (expected %d)", version,
                     CAL_VERSION_AT, STANCE_WIRE_CALIB_VERSION);
  uint16_t reserved = stance_get_le16(p + CAL_RESERVED_AT);
  if (reserved != 0)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "calibration block: reserved field 0x%04x at offset %d (expected 0)", reserved,
                     CAL_RESERVED_AT);
  char serial[CAL_SERIAL_LEN + 1], id[CAL_ID_LEN + 1];
  int r;
  if ((r = text_read(p + CAL_SERIAL_AT, CAL_SERIAL_LEN, TEXT_SERIAL, serial, "calibration block",
                     "board serial", CAL_SERIAL_AT, err)) < 0 ||
      (r = text_read(p + CAL_ID_AT, CAL_ID_LEN, TEXT_UTF8, id, "calibration block",
                     "calibration id", CAL_ID_AT, err)) < 0)
    return r;
  uint64_t created = stance_get_le64(p + CAL_CREATED_AT);
  if (created >> 63)
    return WIRE_FAIL(err, STANCE_EFORMAT,
                     "calibration block: creation time at offset %d is negative (expected "
                     "milliseconds since 1970-01-01 UTC)",
                     CAL_CREATED_AT);
  return STANCE_OK;
}

int
stance_wire_calib_decode(const uint8_t *p, size_t len, StanceWireCalib *c, StanceError *err)
{
  if (!c)
    return WIRE_FAIL(err, STANCE_EINVAL, "calibration block: no output given");
  memset(c, 0, sizeof *c);
  int r = stance_wire_calib_check(p, len, err);
  if (r < 0)
    return r;
  if ((r = calib_doubles_check(p, STANCE_EFORMAT, err)) < 0)
    return r;
  /* Cannot fail now: calib_check() validated both texts. */
  text_read(p + CAL_SERIAL_AT, CAL_SERIAL_LEN, TEXT_SERIAL, c->board_serial, "calibration block",
            "board serial", CAL_SERIAL_AT, NULL);
  text_read(p + CAL_ID_AT, CAL_ID_LEN, TEXT_UTF8, c->id, "calibration block", "calibration id",
            CAL_ID_AT, NULL);
  c->created_unix_ms = (int64_t)stance_get_le64(p + CAL_CREATED_AT); /* < 2^63: checked */
  for (int ch = 0; ch < STANCE_WIRE_CHANNELS; ch++) {
    c->offset_counts[ch] = stance_get_le_f64(p + CAL_OFFSET_AT + 8 * ch);
    c->gain_n_per_count[ch] = stance_get_le_f64(p + CAL_GAIN_AT + 8 * ch);
  }
  for (int pl = 0; pl < 2; pl++) {
    const uint8_t *q = p + CAL_PLATE_AT + CAL_PLATE_SIZE * pl;
    c->plate[pl].width_mm = stance_get_le_f64(q);
    c->plate[pl].length_mm = stance_get_le_f64(q + 8);
    for (int k = 0; k < 4; k++) {
      c->plate[pl].cell_x_mm[k] = stance_get_le_f64(q + 16 + 16 * k);
      c->plate[pl].cell_y_mm[k] = stance_get_le_f64(q + 24 + 16 * k);
    }
    c->plate[pl].centre_x_mm = stance_get_le_f64(q + 80);
    c->plate[pl].centre_y_mm = stance_get_le_f64(q + 88);
  }
  return STANCE_OK;
}

int
stance_wire_calib_encode(const StanceWireCalib *c, uint8_t *out, size_t cap, StanceError *err)
{
  if (!c || !out)
    return WIRE_FAIL(err, STANCE_EINVAL, "calibration block: no calibration or output given");
  if (cap < STANCE_WIRE_CALIB_SIZE)
    return WIRE_FAIL(err, STANCE_ERANGE,
                     "calibration block: %d bytes do not fit the %zu-byte buffer",
                     STANCE_WIRE_CALIB_SIZE, cap);
  if (c->created_unix_ms < 0)
    return WIRE_FAIL(err, STANCE_EINVAL,
                     "calibration block: creation time %lld ms is negative (expected milliseconds "
                     "since 1970-01-01 UTC)",
                     (long long)c->created_unix_ms);
  /* Built in a local image so a refused struct leaves out untouched. */
  uint8_t blk[STANCE_WIRE_CALIB_SIZE];
  memset(blk, 0, sizeof blk);
  int r;
  if ((r = text_write(blk + CAL_SERIAL_AT, CAL_SERIAL_LEN, TEXT_SERIAL, c->board_serial,
                      "calibration block", "board serial", err)) < 0 ||
      (r = text_write(blk + CAL_ID_AT, CAL_ID_LEN, TEXT_UTF8, c->id, "calibration block",
                      "calibration id", err)) < 0)
    return r;
  stance_put_le32(blk, STANCE_WIRE_CALIB_MAGIC);
  stance_put_le16(blk + CAL_VERSION_AT, STANCE_WIRE_CALIB_VERSION);
  stance_put_le64(blk + CAL_CREATED_AT, (uint64_t)c->created_unix_ms);
  for (int ch = 0; ch < STANCE_WIRE_CHANNELS; ch++) {
    stance_put_le_f64(blk + CAL_OFFSET_AT + 8 * ch, c->offset_counts[ch]);
    stance_put_le_f64(blk + CAL_GAIN_AT + 8 * ch, c->gain_n_per_count[ch]);
  }
  for (int pl = 0; pl < 2; pl++) {
    uint8_t *q = blk + CAL_PLATE_AT + CAL_PLATE_SIZE * pl;
    stance_put_le_f64(q, c->plate[pl].width_mm);
    stance_put_le_f64(q + 8, c->plate[pl].length_mm);
    for (int k = 0; k < 4; k++) {
      stance_put_le_f64(q + 16 + 16 * k, c->plate[pl].cell_x_mm[k]);
      stance_put_le_f64(q + 24 + 16 * k, c->plate[pl].cell_y_mm[k]);
    }
    stance_put_le_f64(q + 80, c->plate[pl].centre_x_mm);
    stance_put_le_f64(q + 88, c->plate[pl].centre_y_mm);
  }
  if ((r = calib_doubles_check(blk, STANCE_EINVAL, err)) < 0)
    return r;
  stance_put_le32(blk + CAL_CRC_AT, stance_wire_crc32(0, blk, CAL_CRC_AT));
  memcpy(out, blk, sizeof blk);
  return STANCE_OK;
}
