/* test-wire.c: the USB wire protocol codec (stance-wire.h) and its normative description
 * (docs/protocol.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Golden bytes pin the encodings (the same hex dumps appear in docs/protocol.md, and the doc's
 * every example block is decoded here and compared with the values it states, so the doc cannot
 * drift from the code). Corruption tests flip every bit and cut every length of valid encodings.
 *
 *   test-wire                      run the tests
 *   test-wire --print-examples     print the doc's example blocks (to paste into protocol.md)
 *   test-wire --write-corpus DIR   write the fuzzer's seed corpus (tests/data/wire-corpus)
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-test.h"
#include "stance-wire.h"

/* ---- small helpers ---- */

/* The generators (--print-examples, --write-corpus) run outside Check, where ck_assert cannot
 * report: the helpers they share with the tests check with NEED(), which exits there instead. */
static bool generating;

#define NEED(cond, ...)                                                                            \
  do {                                                                                             \
    if (!generating) {                                                                             \
      ck_assert_msg(cond, __VA_ARGS__);                                                            \
    } else if (!(cond)) {                                                                          \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* Checks for hot loops. Check records every passing ck_assert (a write to its message pipe, a
 * system call), which under valgrind costs far more than the checks themselves: these only call
 * into Check when they fail. */
#define EXPECT(cond, ...)                                                                          \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

#define EXPECT_EQ(a, b)                                                                            \
  do {                                                                                             \
    uintmax_t _x = (a), _y = (b);                                                                  \
    if (_x != _y)                                                                                  \
      ck_abort_msg("%s = %ju, expected %s = %ju", #a, _x, #b, _y);                                 \
  } while (0)

/* Deterministic pseudo-random numbers (an LCG), so every run and failure is reproducible. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t
rnd32(void)
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 32);
}

static uint64_t
rnd64(void)
{
  return (uint64_t)rnd32() << 32 | rnd32();
}

/* Text of a whole file (NUL-terminated), or NULL. */
static char *
read_text(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      cap *= 2;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
  }
  fclose(f);
  buf[n] = '\0';
  if (len_out)
    *len_out = n;
  return buf;
}

/* Reference CRC-32/ISO-HDLC, one bit at a time, straight from the definition. */
static uint32_t
crc_reference(const uint8_t *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/* ---- hex dumps ----
 * The doc's format: lines of 16 bytes, "OOOO  xx xx xx xx xx xx xx xx  xx xx ... xx" with the
 * offset in hex; a line "*" stands for repeats of the line above up to the next line's offset
 * (as hexdump(1) prints them). The last line is always written out. */

static char *
hexdump(const uint8_t *b, size_t n)
{
  size_t cap = (n / 16 + 2) * 64 + 16, len = 0;
  char *out = malloc(cap);
  NEED(out != NULL, "out of memory");
  out[0] = '\0';
  bool starred = false;
  for (size_t off = 0; off < n; off += 16) {
    size_t k = n - off < 16 ? n - off : 16;
    bool last = off + 16 >= n;
    if (off >= 16 && k == 16 && !last && memcmp(b + off, b + off - 16, 16) == 0) {
      if (!starred)
        len += (size_t)snprintf(out + len, cap - len, "*\n");
      starred = true;
      continue;
    }
    starred = false;
    len += (size_t)snprintf(out + len, cap - len, "%04zx ", off);
    for (size_t i = 0; i < k; i++)
      len += (size_t)snprintf(out + len, cap - len, "%s%02x", i == 8 ? "  " : " ", b[off + i]);
    len += (size_t)snprintf(out + len, cap - len, "\n");
  }
  return out;
}

/* Parses the lines of a dump (lines starting with '#' and empty lines are skipped). Returns the
 * number of bytes, or -1 with why filled. */
static long
hexdump_parse(const char *text, uint8_t *out, size_t cap, char *why, size_t why_len)
{
  size_t n = 0;
  bool star = false;
  const char *line = text;
  int line_no = 0;
  while (*line) {
    const char *eol = strchr(line, '\n');
    size_t ll = eol ? (size_t)(eol - line) : strlen(line);
    char buf[256];
    line_no++;
    if (ll >= sizeof buf) {
      snprintf(why, why_len, "dump line %d is too long", line_no);
      return -1;
    }
    memcpy(buf, line, ll);
    buf[ll] = '\0';
    line = eol ? eol + 1 : line + ll;
    if (buf[0] == '\0' || buf[0] == '#')
      continue;
    if (strcmp(buf, "*") == 0) {
      if (n < 16 || star) {
        snprintf(why, why_len, "dump line %d: '*' without a full line above", line_no);
        return -1;
      }
      star = true;
      continue;
    }
    char *end;
    unsigned long off = strtoul(buf, &end, 16);
    if (end == buf || *end != ' ') {
      snprintf(why, why_len, "dump line %d: no hex offset: '%s'", line_no, buf);
      return -1;
    }
    if (star) {
      if (off <= n || off % 16 != 0 || off > cap) {
        snprintf(why, why_len, "dump line %d: offset %04lx after '*' (expected a later line)",
                 line_no, off);
        return -1;
      }
      while (n < off) {
        memcpy(out + n, out + n - 16, 16);
        n += 16;
      }
      star = false;
    }
    if (off != n) {
      snprintf(why, why_len, "dump line %d: offset %04lx (expected %04zx)", line_no, off, n);
      return -1;
    }
    const char *p = end;
    int count = 0;
    for (;;) {
      while (*p == ' ')
        p++;
      if (!*p)
        break;
      unsigned v;
      int used;
      if (sscanf(p, "%2x%n", &v, &used) != 1 || used != 2 || (p[2] != ' ' && p[2] != '\0')) {
        snprintf(why, why_len, "dump line %d: '%s' is not a hex byte", line_no, p);
        return -1;
      }
      if (n >= cap) {
        snprintf(why, why_len, "dump line %d: more than %zu bytes", line_no, cap);
        return -1;
      }
      out[n++] = (uint8_t)v;
      count++;
      p += 2;
    }
    if (count == 0 || count > 16) {
      snprintf(why, why_len, "dump line %d: %d bytes (expected 1 to 16)", line_no, count);
      return -1;
    }
  }
  if (star) {
    snprintf(why, why_len, "dump ends with '*'");
    return -1;
  }
  return (long)n;
}

/* ---- key=value descriptions of decoded encodings (the doc's '#' lines) ---- */

#define KV_MAX 96

typedef struct {
  char key[48];
  char value[400];
} KV;

typedef struct {
  KV kv[KV_MAX];
  int n;
} KVList;

__attribute__((format(printf, 3, 4))) static void
kv_add(KVList *l, const char *key, const char *fmt, ...)
{
  NEED(l->n < KV_MAX, "too many fields");
  KV *kv = &l->kv[l->n++];
  snprintf(kv->key, sizeof kv->key, "%s", key);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(kv->value, sizeof kv->value, fmt, ap);
  va_end(ap);
}

/* Shortest decimal text that reads back as exactly d: whole numbers as integers, others in the
 * shortest %g form (which avoids exponents between 1e-4 and 1e17). */
static void
fmt_double(char *buf, size_t n, double d)
{
  if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
    snprintf(buf, n, "%lld", (long long)d);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}

static void
kv_doubles(KVList *l, const char *key, const double *v, int n)
{
  char text[400] = "", one[40];
  for (int i = 0; i < n; i++) {
    fmt_double(one, sizeof one, v[i]);
    strcat(text, i ? "," : "");
    strcat(text, one);
  }
  kv_add(l, key, "%s", text);
}

static void
describe_info(const StanceWireInfo *in, KVList *l)
{
  kv_add(l, "info.major", "%u", in->major);
  kv_add(l, "info.minor", "%u", in->minor);
  kv_add(l, "info.firmware_version", "\"%s\"", in->firmware_version);
  kv_add(l, "info.serial", "\"%s\"", in->serial);
  kv_add(l, "info.hardware", "\"%s\"", in->hardware);
  kv_add(l, "info.channels", "%u", in->channels);
  kv_add(l, "info.adc_bits", "%u", in->adc_bits);
  char rates[64] = "";
  for (int i = 0; i < in->n_rates; i++)
    snprintf(rates + strlen(rates), sizeof rates - strlen(rates), "%s%lu", i ? "," : "",
             (unsigned long)in->rates_hz[i]);
  kv_add(l, "info.rates_hz", "%s", rates);
  kv_add(l, "info.current_rate_hz", "%lu",
         (unsigned long)stance_wire_rate_hz(in->current_rate_code));
  kv_add(l, "info.flags", "0x%02x", in->flags);
  kv_add(l, "info.samples_per_frame", "%u", in->samples_per_frame);
  kv_add(l, "info.vref_uv", "%lu", (unsigned long)in->vref_uv);
  kv_add(l, "info.pga_gain", "%u", in->pga_gain);
}

static void
describe_calib(const StanceWireCalib *c, KVList *l)
{
  kv_add(l, "calib.board_serial", "\"%s\"", c->board_serial);
  kv_add(l, "calib.id", "\"%s\"", c->id);
  kv_add(l, "calib.created_unix_ms", "%lld", (long long)c->created_unix_ms);
  kv_doubles(l, "calib.offset_counts", c->offset_counts, 8);
  kv_doubles(l, "calib.gain_n_per_count", c->gain_n_per_count, 8);
  for (int p = 0; p < 2; p++) {
    char key[48];
    const char *side = p ? "right" : "left";
    double size[2] = {c->plate[p].width_mm, c->plate[p].length_mm};
    double centre[2] = {c->plate[p].centre_x_mm, c->plate[p].centre_y_mm};
    snprintf(key, sizeof key, "calib.%s.width_length_mm", side);
    kv_doubles(l, key, size, 2);
    snprintf(key, sizeof key, "calib.%s.cell_x_mm", side);
    kv_doubles(l, key, c->plate[p].cell_x_mm, 4);
    snprintf(key, sizeof key, "calib.%s.cell_y_mm", side);
    kv_doubles(l, key, c->plate[p].cell_y_mm, 4);
    snprintf(key, sizeof key, "calib.%s.centre_mm", side);
    kv_doubles(l, key, centre, 2);
  }
}

/* Decodes bytes as kind ("frame", "command" or "reply") and describes every field. Returns 0, or
 * a negative code with why filled. */
static int
describe(const char *kind, const uint8_t *b, size_t n, KVList *l, char *why, size_t why_len)
{
  StanceError err = {0};
  l->n = 0;
  if (strcmp(kind, "frame") == 0) {
    StanceWireFrame f;
    int r = stance_wire_frame_decode(b, n, &f, &err);
    if (r < 0) {
      snprintf(why, why_len, "%s", err.message);
      return r;
    }
    kv_add(l, "flags", "0x%02x", f.flags);
    kv_add(l, "seq", "%lu", (unsigned long)f.seq);
    kv_add(l, "first_sample", "%llu", (unsigned long long)f.first_sample);
    kv_add(l, "n_samples", "%u", f.n_samples);
    kv_add(l, "rate_hz", "%lu", (unsigned long)stance_wire_rate_hz(f.rate_code));
    kv_add(l, "dropped", "%u", f.dropped);
    for (int s = 0; s < f.n_samples; s++) {
      char key[32], v[160] = "";
      for (int c = 0; c < 8; c++)
        snprintf(v + strlen(v), sizeof v - strlen(v), "%s%ld", c ? "," : "", (long)f.counts[s][c]);
      snprintf(key, sizeof key, "s%d.counts", s);
      kv_add(l, key, "%s", v);
      snprintf(key, sizeof key, "s%d.sat", s);
      kv_add(l, key, "0x%02x", f.sat[s]);
      snprintf(key, sizeof key, "s%d.status", s);
      kv_add(l, key, "0x%02x", f.status[s]);
    }
    return 0;
  }
  bool reply = strcmp(kind, "reply") == 0;
  if (!reply && strcmp(kind, "command") != 0) {
    snprintf(why, why_len, "unknown example kind '%s' (expected frame, command or reply)", kind);
    return STANCE_EINVAL;
  }
  StanceWireMsg m;
  int r = stance_wire_msg_decode(b, n, &m, &err);
  if (r < 0) {
    snprintf(why, why_len, "%s", err.message);
    return r;
  }
  if (m.is_reply != reply) {
    snprintf(why, why_len, "the bytes are a %s, the block says %s",
             m.is_reply ? "reply" : "command", kind);
    return STANCE_EFORMAT;
  }
  kv_add(l, "major", "%u", m.major);
  kv_add(l, "op", "%s", stance_wire_op_name(m.op));
  kv_add(l, "tag", "%u", m.tag);
  if (reply)
    kv_add(l, "status", "%u", m.status);
  kv_add(l, "len", "%u", m.len);
  bool ok = !reply || m.status == STANCE_WIRE_ST_OK;
  if (reply && ok && m.op == STANCE_WIRE_OP_INFO) {
    StanceWireInfo in;
    if ((r = stance_wire_info_decode(m.payload, m.len, &in, &err)) < 0) {
      snprintf(why, why_len, "INFO payload: %s", err.message);
      return r;
    }
    describe_info(&in, l);
  } else if (ok && ((reply && m.op == STANCE_WIRE_OP_READ_CALIB) ||
                    (!reply && m.op == STANCE_WIRE_OP_WRITE_CALIB))) {
    StanceWireCalib c;
    if ((r = stance_wire_calib_decode(m.payload, m.len, &c, &err)) < 0) {
      snprintf(why, why_len, "calibration payload: %s", err.message);
      return r;
    }
    describe_calib(&c, l);
  } else if (!reply && m.op == STANCE_WIRE_OP_SET_RATE && m.len == 4) {
    kv_add(l, "rate_hz", "%lu",
           (unsigned long)((uint32_t)m.payload[0] | (uint32_t)m.payload[1] << 8 |
                           (uint32_t)m.payload[2] << 16 | (uint32_t)m.payload[3] << 24));
  } else if (reply && ok && m.op == STANCE_WIRE_OP_STOP && m.len == 8) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
      v = v << 8 | m.payload[i];
    kv_add(l, "count", "%llu", (unsigned long long)v);
  } else if (m.len > 0) {
    char hex[2 * STANCE_WIRE_MSG_MAX_PAYLOAD + 1];
    for (int i = 0; i < m.len; i++)
      snprintf(hex + 2 * i, 3, "%02x", m.payload[i]);
    kv_add(l, "payload", "%s", m.len > 150 ? "(long)" : hex);
  }
  return 0;
}

/* ---- the fixed examples (golden bytes, the doc's session, the fuzz corpus) ---- */

static void
example_frame(StanceWireFrame *f)
{
  /* Frame 7 of a 1000 Hz stream: 11 samples (a frame leaves when its oldest sample has waited
   * 10 ms), an athlete standing on both plates. Sample 3 has channel 2 at the positive rail and
   * sample 9 failed the ADC's own CRC. */
  static const int32_t base[8] = {512340, 498211, 530077, 505912, 476345, 489001, 501290, 493388};
  memset(f, 0, sizeof *f);
  f->seq = 7;
  f->first_sample = 77;
  f->n_samples = 11;
  f->rate_code = STANCE_WIRE_RATE_1000;
  for (int s = 0; s < 11; s++)
    for (int c = 0; c < 8; c++)
      f->counts[s][c] = base[c] + (s * 37 + c * 11) % 97 - 48;
  f->counts[3][2] = 8388607;
  f->sat[3] = 0x04;
  f->counts[9][5] = -8388608;
  f->status[9] = STANCE_WIRE_SAMPLE_ADC_CRC;
}

static void
example_info(StanceWireInfo *in)
{
  memset(in, 0, sizeof *in);
  in->major = STANCE_WIRE_PROTO_MAJOR;
  in->minor = STANCE_WIRE_PROTO_MINOR;
  strcpy(in->firmware_version, "1.0.0");
  strcpy(in->serial, "SN0042");
  strcpy(in->hardware, "stance-f411-ads131m08");
  in->channels = 8;
  in->adc_bits = 24;
  in->n_rates = 4;
  in->rates_hz[0] = 500;
  in->rates_hz[1] = 1000;
  in->rates_hz[2] = 2000;
  in->rates_hz[3] = 4000;
  in->current_rate_code = STANCE_WIRE_RATE_1000;
  in->flags = STANCE_WIRE_INFO_HAS_CALIB;
  in->samples_per_frame = 18;
  in->vref_uv = 1200000;
  in->pga_gain = 128;
}

static void
example_calib(StanceWireCalib *c)
{
  /* Numbers with short decimal forms so the doc can state them exactly. */
  static const double offset[8] = {12034.5, -8211.25, 3120, 455.75, 10020, -1500.5, 7001.25, 210};
  static const double gain[8] = {0.0004768, 0.0004771, 0.0004759, 0.0004766,
                                 0.0004762, 0.0004770, 0.0004765, 0.0004761};
  memset(c, 0, sizeof *c);
  strcpy(c->board_serial, "SN0042");
  strcpy(c->id, "SN0042-2026-11-24-1");
  c->created_unix_ms = 1795512600000; /* 2026-11-24 09:30 UTC */
  memcpy(c->offset_counts, offset, sizeof offset);
  memcpy(c->gain_n_per_count, gain, sizeof gain);
  for (int p = 0; p < 2; p++) {
    c->plate[p].width_mm = 400;
    c->plate[p].length_mm = 600;
    static const double x[4] = {-170, 170, 170, -170}, y[4] = {270, 270, -270, -270};
    memcpy(c->plate[p].cell_x_mm, x, sizeof x);
    memcpy(c->plate[p].cell_y_mm, y, sizeof y);
    c->plate[p].centre_x_mm = p ? 250 : -250;
    c->plate[p].centre_y_mm = 0;
  }
}

static size_t
enc_msg(bool reply, uint8_t major, uint8_t op, uint16_t tag, uint8_t status, const void *payload,
        uint16_t len, uint8_t *out)
{
  StanceError err = {0};
  int r = stance_wire_msg_encode_major(major, reply, op, tag, status, payload, len, out,
                                       STANCE_WIRE_MSG_MAX, &err);
  NEED(r > 0, "%s", err.message);
  return (size_t)r;
}

static size_t
enc_info_reply(uint16_t tag, uint8_t *out)
{
  StanceWireInfo in;
  uint8_t pl[128];
  StanceError err = {0};
  example_info(&in);
  int n = stance_wire_info_encode(&in, pl, sizeof pl, &err);
  NEED(n > 0, "%s", err.message);
  return enc_msg(true, 1, STANCE_WIRE_OP_INFO, tag, 0, pl, (uint16_t)n, out);
}

static size_t
enc_calib_reply(uint16_t tag, uint8_t *out)
{
  StanceWireCalib c;
  uint8_t blk[STANCE_WIRE_CALIB_SIZE];
  StanceError err = {0};
  example_calib(&c);
  NEED((stance_wire_calib_encode(&c, blk, sizeof blk, &err)) == 0, "encoding an example failed");
  return enc_msg(true, 1, STANCE_WIRE_OP_READ_CALIB, tag, 0, blk, sizeof blk, out);
}

/* One example of the doc's session. */
typedef struct {
  const char *kind;
  const char *title;
  uint8_t bytes[STANCE_WIRE_FRAME_SIZE];
  size_t n;
} Example;

#define N_EXAMPLES 18

static void
build_examples(Example *ex)
{
  int k = 0;
  StanceWireFrame f;
  StanceError err = {0};
  uint8_t pl[8];
#define EX(kind_, title_) (ex[k].kind = (kind_), ex[k].title = (title_), &ex[k])
  Example *e;
  e = EX("command", "INFO command, tag 1");
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_INFO, 1, 0, NULL, 0, e->bytes);
  k++;
  e = EX("reply", "INFO reply");
  e->n = enc_info_reply(1, e->bytes);
  k++;
  e = EX("command", "READ_CALIB command, tag 2");
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_READ_CALIB, 2, 0, NULL, 0, e->bytes);
  k++;
  e = EX("reply", "READ_CALIB reply: the calibration block");
  e->n = enc_calib_reply(2, e->bytes);
  k++;
  e = EX("command", "SET_RATE command: 1000 Hz, tag 3");
  pl[0] = 0xE8, pl[1] = 0x03, pl[2] = 0, pl[3] = 0;
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_SET_RATE, 3, 0, pl, 4, e->bytes);
  k++;
  e = EX("reply", "SET_RATE reply");
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_SET_RATE, 3, 0, NULL, 0, e->bytes);
  k++;
  e = EX("command", "START command, tag 4");
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_START, 4, 0, NULL, 0, e->bytes);
  k++;
  e = EX("reply", "START reply");
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_START, 4, 0, NULL, 0, e->bytes);
  k++;
  e = EX("frame", "stream frame 7");
  example_frame(&f);
  NEED((stance_wire_frame_encode(&f, e->bytes, &err)) == 0, "encoding an example failed");
  e->n = STANCE_WIRE_FRAME_SIZE;
  k++;
  e = EX("command", "SET_RATE command while streaming: 2000 Hz, tag 5");
  pl[0] = 0xD0, pl[1] = 0x07, pl[2] = 0, pl[3] = 0;
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_SET_RATE, 5, 0, pl, 4, e->bytes);
  k++;
  e = EX("reply", "SET_RATE reply: busy");
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_SET_RATE, 5, STANCE_WIRE_ST_BUSY, NULL, 0, e->bytes);
  k++;
  e = EX("command", "PING command with 6 bytes, tag 6");
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_PING, 6, 0, "stance", 6, e->bytes);
  k++;
  e = EX("reply", "PING reply: the bytes echoed");
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_PING, 6, 0, "stance", 6, e->bytes);
  k++;
  e = EX("command", "STOP command, tag 7");
  e->n = enc_msg(false, 1, STANCE_WIRE_OP_STOP, 7, 0, NULL, 0, e->bytes);
  k++;
  e = EX("reply", "STOP reply: 3000 samples");
  uint64_t count = 3000;
  for (int i = 0; i < 8; i++)
    pl[i] = (uint8_t)(count >> (8 * i));
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_STOP, 7, 0, pl, 8, e->bytes);
  k++;
  e = EX("frame", "the FINAL frame");
  memset(&f, 0, sizeof f);
  f.flags = STANCE_WIRE_FRAME_FINAL;
  f.seq = 273;
  f.first_sample = 3000;
  f.rate_code = STANCE_WIRE_RATE_1000;
  NEED((stance_wire_frame_encode(&f, e->bytes, &err)) == 0, "encoding an example failed");
  e->n = STANCE_WIRE_FRAME_SIZE;
  k++;
  e = EX("command", "START command from a host of major 2, tag 8");
  e->n = enc_msg(false, 2, STANCE_WIRE_OP_START, 8, 0, NULL, 0, e->bytes);
  k++;
  e = EX("reply", "the board's answer: version");
  e->n = enc_msg(true, 1, STANCE_WIRE_OP_START, 8, STANCE_WIRE_ST_VERSION, NULL, 0, e->bytes);
  k++;
#undef EX
  NEED(k == N_EXAMPLES, "%d examples", k);
}

/* The block as it appears in the doc: fence, '#' lines with the decoded values, the dump. */
static char *
example_block(const Example *e)
{
  KVList l;
  char why[600];
  int r = describe(e->kind, e->bytes, e->n, &l, why, sizeof why);
  NEED(r == 0, "%s: %s", e->title, why);
  char *dump = hexdump(e->bytes, e->n);
  size_t cap = strlen(dump) + 16384, len = 0;
  char *out = malloc(cap);
  NEED(out != NULL, "out of memory");
  len += (size_t)snprintf(out, cap, "```wire %s\n", e->kind);
  size_t line = 0;
  for (int i = 0; i < l.n; i++) {
    size_t w = strlen(l.kv[i].key) + strlen(l.kv[i].value) + 1;
    /* Values go on lines of at most 100 columns; a sample's fields share one line. */
    bool new_sample = l.kv[i].key[0] == 's' && strstr(l.kv[i].key, ".counts");
    if (line > 0 && (line + 1 + w > 100 || new_sample)) {
      len += (size_t)snprintf(out + len, cap - len, "\n");
      line = 0;
    }
    len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", line ? " " : "# ", l.kv[i].key,
                            l.kv[i].value);
    line += (line ? 1 : 2) + w;
  }
  len += (size_t)snprintf(out + len, cap - len, "\n%s```\n", dump);
  free(dump);
  return out;
}

/* ---- docs/protocol.md ---- */

static char *
doc_path(void)
{
  const char *root = getenv("STANCE_SOURCE_ROOT");
  char *p = malloc(4096);
  ck_assert_ptr_nonnull(p);
  if (root && *root)
    snprintf(p, 4096, "%s/docs/protocol.md", root);
  else
    snprintf(p, 4096, "%s/../../docs/protocol.md", STANCE_TEST_DATA_DIR);
  return p;
}

static char *
doc_text(void)
{
  char *path = doc_path();
  char *text = read_text(path, NULL);
  ck_assert_msg(text != NULL, "cannot read %s: %s", path, strerror(errno));
  free(path);
  return text;
}

/* Removes the '#' lines of a block, leaving the dump. */
static void
strip_comments(char *s)
{
  char *w = s;
  const char *r = s;
  while (*r) {
    const char *eol = strchr(r, '\n');
    size_t n = eol ? (size_t)(eol - r) + 1 : strlen(r);
    if (r[0] != '#') {
      memmove(w, r, n);
      w += n;
    }
    r += n;
  }
  *w = '\0';
}

/* True when the doc holds this dump verbatim as the dump of a block of this kind. */
static bool
doc_has_dump(const char *doc, const char *kind, const char *dump)
{
  char fence[32];
  snprintf(fence, sizeof fence, "```wire %s\n", kind);
  for (const char *p = strstr(doc, fence); p; p = strstr(p + 1, fence)) {
    const char *body = p + strlen(fence);
    const char *end = strstr(body, "```");
    if (!end)
      return false;
    char *block = strndup(body, (size_t)(end - body));
    strip_comments(block);
    bool same = strcmp(block, dump) == 0;
    free(block);
    if (same)
      return true;
  }
  return false;
}

/* ---- CRC and rates ---- */

START_TEST(crc_check_value)
{
  /* The catalogue's check value of CRC-32/ISO-HDLC. */
  EXPECT_EQ(stance_wire_crc32(0, "123456789", 9), 0xCBF43926u);
  EXPECT_EQ(stance_wire_crc32(0, "", 0), 0);
  /* Continuation: any split gives the CRC of the whole; and the nibble table agrees with the
   * bitwise definition on random buffers of every length up to 600. */
  uint8_t buf[600];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)rnd32();
  for (size_t n = 0; n <= sizeof buf; n += 7) {
    uint32_t whole = stance_wire_crc32(0, buf, n);
    EXPECT_EQ(whole, crc_reference(buf, n));
    size_t cut = n / 3;
    EXPECT_EQ(stance_wire_crc32(stance_wire_crc32(0, buf, cut), buf + cut, n - cut), whole);
  }
}
END_TEST

START_TEST(rates)
{
  static const uint32_t hz[] = {500, 1000, 2000, 4000};
  for (int c = 0; c < STANCE_WIRE_N_RATES; c++) {
    ck_assert_uint_eq(stance_wire_rate_hz(c), hz[c]);
    ck_assert_int_eq(stance_wire_rate_code(hz[c]), c);
  }
  ck_assert_uint_eq(stance_wire_rate_hz(-1), 0);
  ck_assert_uint_eq(stance_wire_rate_hz(4), 0);
  ck_assert_int_eq(stance_wire_rate_code(0), STANCE_ERANGE);
  ck_assert_int_eq(stance_wire_rate_code(3000), STANCE_ERANGE);
  ck_assert_int_eq(stance_wire_rate_code(8000), STANCE_ERANGE);
}
END_TEST

START_TEST(names)
{
  ck_assert_str_eq(stance_wire_op_name(STANCE_WIRE_OP_SET_RATE), "set-rate");
  ck_assert_str_eq(stance_wire_op_name(STANCE_WIRE_OP_WRITE_CALIB), "write-calib");
  ck_assert_str_eq(stance_wire_op_name(0), "unknown opcode");
  ck_assert_str_eq(stance_wire_status_text(STANCE_WIRE_ST_BUSY),
                   "busy: not allowed while streaming");
  ck_assert_str_eq(stance_wire_status_text(200), "unknown status");
  for (int s = 0; s <= STANCE_WIRE_ST_NOT_STREAMING; s++)
    ck_assert_str_ne(stance_wire_status_text(s), "unknown status");
}
END_TEST

/* ---- frames ---- */

static int32_t
random_count(void)
{
  switch (rnd32() % 6) {
  case 0: return 8388607;
  case 1: return -8388608;
  case 2: return 0;
  case 3: return -1;
  default: return (int32_t)(rnd32() % 16777216u) - 8388608;
  }
}

static void
random_frame(StanceWireFrame *f, unsigned n)
{
  memset(f, 0, sizeof *f);
  f->n_samples = (uint8_t)n;
  f->rate_code = (uint8_t)(rnd32() % 4);
  uint32_t pick = rnd32() % 3;
  f->seq = pick == 0 ? 0 : pick == 1 ? UINT32_MAX : rnd32();
  pick = rnd32() % 3;
  f->first_sample = pick == 0 ? 0 : pick == 1 ? UINT64_MAX - 18 : rnd64();
  pick = rnd32() % 3;
  f->dropped = pick == 0 ? 0 : pick == 1 ? 65535 : (uint16_t)rnd32();
  /* Bits a later minor may define travel untouched. */
  f->flags = (uint8_t)(rnd32() & 0xFC);
  if (f->dropped)
    f->flags |= STANCE_WIRE_FRAME_OVERFLOW;
  if (n == 0 || rnd32() % 8 == 0)
    f->flags |= STANCE_WIRE_FRAME_FINAL;
  for (unsigned s = 0; s < n; s++) {
    for (int c = 0; c < 8; c++)
      f->counts[s][c] = random_count();
    f->sat[s] = (uint8_t)rnd32();
    f->status[s] = (uint8_t)rnd32();
  }
}

static void
assert_frames_equal(const StanceWireFrame *a, const StanceWireFrame *b)
{
  EXPECT_EQ(a->flags, b->flags);
  EXPECT_EQ(a->seq, b->seq);
  EXPECT_EQ(a->first_sample, b->first_sample);
  EXPECT_EQ(a->n_samples, b->n_samples);
  EXPECT_EQ(a->rate_code, b->rate_code);
  EXPECT_EQ(a->dropped, b->dropped);
  /* All 18 slots: the decoder zeroes those beyond n_samples, as random_frame() does. */
  for (int s = 0; s < STANCE_WIRE_SAMPLES_PER_FRAME; s++) {
    for (int c = 0; c < 8; c++)
      EXPECT(a->counts[s][c] == b->counts[s][c], "sample %d channel %d: %ld != %ld", s, c,
             (long)a->counts[s][c], (long)b->counts[s][c]);
    EXPECT_EQ(a->sat[s], b->sat[s]);
    EXPECT_EQ(a->status[s], b->status[s]);
  }
}

START_TEST(frame_round_trip)
{
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  StanceError err = {0};
  for (int iter = 0; iter < 2000; iter++) {
    StanceWireFrame f, g;
    random_frame(&f, (unsigned)iter % 19);
    EXPECT(stance_wire_frame_encode(&f, buf, &err) == 0, "%s", err.message);
    /* The layout by hand: magic, major, the sample count and where the padding starts. */
    EXPECT_EQ(buf[0], 'S');
    EXPECT_EQ(buf[1], 'F');
    EXPECT_EQ(buf[2], STANCE_WIRE_PROTO_MAJOR);
    EXPECT_EQ(buf[16], f.n_samples);
    for (size_t i = 20 + 26u * f.n_samples; i < 508; i++)
      EXPECT_EQ(buf[i], 0);
    EXPECT(stance_wire_frame_decode(buf, sizeof buf, &g, &err) == 0, "%s", err.message);
    assert_frames_equal(&f, &g);
  }
}
END_TEST

START_TEST(frame_count_bytes)
{
  /* 24-bit two's complement, little-endian, channel 0 first: the extremes byte by byte. */
  StanceWireFrame f;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  memset(&f, 0, sizeof f);
  f.n_samples = 1;
  static const int32_t v[8] = {8388607, -8388608, -1, 1, 0x123456, -0x123456, 0, 256};
  static const uint8_t want[24] = {0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0xFF, 0xFF,
                                   0xFF, 0x01, 0x00, 0x00, 0x56, 0x34, 0x12, 0xAA,
                                   0xCB, 0xED, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
  memcpy(f.counts[0], v, sizeof v);
  f.sat[0] = 0x03;
  f.status[0] = STANCE_WIRE_SAMPLE_ADC_CRC;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), 0);
  ck_assert_mem_eq(buf + 20, want, sizeof want);
  ck_assert_uint_eq(buf[44], 0x03);
  ck_assert_uint_eq(buf[45], 0x01);
}
END_TEST

/* The golden frame (also in docs/protocol.md). */
static const char golden_frame[] = "0000  53 46 01 00 07 00 00 00  4d 00 00 00 00 00 00 00\n"
                                   "0010  0b 01 00 00 24 d1 07 fe  99 07 83 16 08 29 b8 07\n"
                                   "0020  b5 44 07 30 76 07 3c a6  07 69 87 07 00 00 49 d1\n"
                                   "0030  07 23 9a 07 a8 16 08 4e  b8 07 da 44 07 55 76 07\n"
                                   "0040  00 a6 07 2d 87 07 00 00  6e d1 07 48 9a 07 cd 16\n"
                                   "0050  08 12 b8 07 9e 44 07 19  76 07 25 a6 07 52 87 07\n"
                                   "0060  00 00 32 d1 07 0c 9a 07  ff ff 7f 37 b8 07 c3 44\n"
                                   "0070  07 3e 76 07 4a a6 07 77  87 07 04 00 57 d1 07 31\n"
                                   "0080  9a 07 b6 16 08 5c b8 07  e8 44 07 02 76 07 0e a6\n"
                                   "0090  07 3b 87 07 00 00 7c d1  07 f5 99 07 7a 16 08 20\n"
                                   "00a0  b8 07 ac 44 07 27 76 07  33 a6 07 60 87 07 00 00\n"
                                   "00b0  40 d1 07 1a 9a 07 9f 16  08 45 b8 07 d1 44 07 4c\n"
                                   "00c0  76 07 58 a6 07 24 87 07  00 00 65 d1 07 3f 9a 07\n"
                                   "00d0  c4 16 08 09 b8 07 95 44  07 10 76 07 1c a6 07 49\n"
                                   "00e0  87 07 00 00 29 d1 07 03  9a 07 88 16 08 2e b8 07\n"
                                   "00f0  ba 44 07 35 76 07 41 a6  07 6e 87 07 00 00 4e d1\n"
                                   "0100  07 28 9a 07 ad 16 08 53  b8 07 df 44 07 00 00 80\n"
                                   "0110  05 a6 07 32 87 07 00 01  73 d1 07 4d 9a 07 71 16\n"
                                   "0120  08 17 b8 07 a3 44 07 1e  76 07 2a a6 07 57 87 07\n"
                                   "0130  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00\n"
                                   "*\n"
                                   "01f0  00 00 00 00 00 00 00 00  00 00 00 00 d8 ed 5d c9\n";

START_TEST(frame_golden)
{
  StanceWireFrame f, g;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  example_frame(&f);
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), 0);
  char *dump = hexdump(buf, sizeof buf);
  ck_assert_str_eq(dump, golden_frame);
  /* And back: the golden bytes decode to the example's fields. */
  uint8_t parsed[STANCE_WIRE_FRAME_SIZE];
  char why[256];
  ck_assert_int_eq(hexdump_parse(golden_frame, parsed, sizeof parsed, why, sizeof why), 512);
  ck_assert_int_eq(stance_wire_frame_decode(parsed, sizeof parsed, &g, NULL), 0);
  assert_frames_equal(&f, &g);
  char *doc = doc_text();
  ck_assert_msg(doc_has_dump(doc, "frame", dump),
                "docs/protocol.md has no ```wire frame block with the golden frame");
  free(doc);
  free(dump);
}
END_TEST

START_TEST(frame_bit_flips)
{
  StanceWireFrame f, g;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  StanceError err = {0};
  example_frame(&f);
  EXPECT_EQ(stance_wire_frame_encode(&f, buf, NULL), 0);
  /* CRC-32 detects every single-bit error, and the CRC is checked first: every flip anywhere
   * (header, samples, padding, the CRC itself) is ECORRUPT. */
  for (size_t bit = 0; bit < 8 * sizeof buf; bit++) {
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int r = stance_wire_frame_decode(buf, sizeof buf, &g, &err);
    EXPECT(r == STANCE_ECORRUPT, "bit %zu: %d (%s)", bit, r, err.message);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  EXPECT_EQ(stance_wire_frame_decode(buf, sizeof buf, &g, NULL), 0);
  EXPECT(strstr(err.message, "CRC") && strstr(err.message, "offset 508"), "%s", err.message);
}
END_TEST

START_TEST(frame_lengths)
{
  StanceWireFrame f, g;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE + 1];
  StanceError err = {0};
  example_frame(&f);
  EXPECT_EQ(stance_wire_frame_encode(&f, buf, NULL), 0);
  buf[STANCE_WIRE_FRAME_SIZE] = 0;
  for (size_t n = 0; n < STANCE_WIRE_FRAME_SIZE; n++)
    EXPECT_EQ(stance_wire_frame_decode(buf, n, &g, NULL), STANCE_ETRUNC);
  EXPECT_EQ(stance_wire_frame_decode(buf, sizeof buf, &g, &err), STANCE_EFORMAT);
  EXPECT(strstr(err.message, "513 bytes") && strstr(err.message, "exactly 512"), "%s", err.message);
}
END_TEST

/* Rewrites the CRC after a deliberate change, so the field check itself is reached. */
static void
reseal(uint8_t *buf, size_t n)
{
  uint32_t c = stance_wire_crc32(0, buf, n - 4);
  for (int i = 0; i < 4; i++)
    buf[n - 4 + i] = (uint8_t)(c >> (8 * i));
}

/* A field check table's row: the byte at `at` set to `value` must be refused with `code` and a
 * message containing `says`. */
typedef struct {
  size_t at;
  uint8_t value;
  int code;
  const char *says;
} ByteCase;

/* buf = good[0..n) with row k's byte set and the CRC recomputed, so the field check is reached. */
static void
patch_resealed(uint8_t *buf, const uint8_t *good, size_t n, const ByteCase *k)
{
  memcpy(buf, good, n);
  buf[k->at] = k->value;
  reseal(buf, n);
}

/* Row i (k) came back as r: it must be k's code, with a message naming the field. */
static void
expect_refused(size_t i, const ByteCase *k, int r, const StanceError *err)
{
  EXPECT(r == k->code, "case %zu: %d (%s)", i, r, err->message);
  EXPECT(strstr(err->message, k->says), "case %zu: '%s' lacks '%s'", i, err->message, k->says);
}

START_TEST(frame_fields_refused)
{
  StanceWireFrame f, g;
  uint8_t good[STANCE_WIRE_FRAME_SIZE], buf[STANCE_WIRE_FRAME_SIZE];
  StanceError err = {0};
  example_frame(&f);
  ck_assert_int_eq(stance_wire_frame_encode(&f, good, NULL), 0);
  static const ByteCase cases[] = {
      {0, 'X', STANCE_EFORMAT, "magic"},
      {2, 2, STANCE_EVERSION, "protocol major 2 at offset 2"},
      {2, 0, STANCE_EVERSION, "protocol major 0 at offset 2"},
      {16, 19, STANCE_EFORMAT, "sample count 19 at offset 16"},
      {16, 0, STANCE_EFORMAT, "without the FINAL flag"},
      {17, 4, STANCE_EFORMAT, "rate code 4 at offset 17"},
      {3, STANCE_WIRE_FRAME_OVERFLOW, STANCE_EFORMAT, "OVERFLOW flag"},
      {18, 1, STANCE_EFORMAT, "dropped count 1 at offset 18"},
      /* Non-zero padding, first and last byte after the 11 samples. */
      {20 + 26 * 11, 1, STANCE_EFORMAT, "padding byte 0x01 at offset 306"},
      {507, 0x80, STANCE_EFORMAT, "padding byte 0x80 at offset 507"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    patch_resealed(buf, good, sizeof buf, &cases[i]);
    int r = stance_wire_frame_decode(buf, sizeof buf, &g, &err);
    expect_refused(i, &cases[i], r, &err);
  }
  /* Non-zero padding after every possible sample count. */
  for (unsigned n = 0; n <= 18; n++) {
    StanceWireFrame h;
    random_frame(&h, n);
    ck_assert_int_eq(stance_wire_frame_encode(&h, buf, NULL), 0);
    if (n == 18) {
      /* 20 + 18 * 26 = 488: bytes 488..507 are padding. */
      ck_assert_uint_eq(20 + 26 * n, 488);
    }
    buf[20 + 26 * n] = 0x01;
    reseal(buf, sizeof buf);
    ck_assert_int_eq(stance_wire_frame_decode(buf, sizeof buf, &g, NULL), STANCE_EFORMAT);
  }
}
END_TEST

START_TEST(frame_encode_refused)
{
  StanceWireFrame f;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  StanceError err = {0};
  static const int32_t bad[] = {8388608, -8388609, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    example_frame(&f);
    f.counts[10][7] = bad[i];
    ck_assert_int_eq(stance_wire_frame_encode(&f, buf, &err), STANCE_EINVAL);
    ck_assert_msg(strstr(err.message, "sample 10 channel 7") && strstr(err.message, "24-bit"), "%s",
                  err.message);
  }
  /* Out-of-range counts in unused slots (beyond n_samples) are not sent and do not matter. */
  example_frame(&f);
  f.counts[11][0] = INT32_MAX;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), 0);
  example_frame(&f);
  f.n_samples = 19;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), STANCE_EINVAL);
  example_frame(&f);
  f.rate_code = 4;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), STANCE_EINVAL);
  example_frame(&f);
  f.n_samples = 0;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), STANCE_EINVAL);
  f.flags = STANCE_WIRE_FRAME_FINAL;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), 0);
  example_frame(&f);
  f.dropped = 3;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "OVERFLOW"));
  f.flags = STANCE_WIRE_FRAME_OVERFLOW;
  ck_assert_int_eq(stance_wire_frame_encode(&f, buf, NULL), 0);
  ck_assert_int_eq(stance_wire_frame_encode(NULL, buf, NULL), STANCE_EINVAL);
}
END_TEST

/* ---- tracker ---- */

/* The tracker's invariants: every sample index below next_sample is either accepted or a gap,
 * every sequence number below next_seq either accepted or lost, and board drops are gaps. */
static void
assert_tracker_invariants(const StanceWireTracker *t)
{
  if (!t->started) {
    EXPECT_EQ(t->frames, 0);
    return;
  }
  EXPECT_EQ(t->samples + t->samples_gap, t->next_sample);
  EXPECT_EQ((uint32_t)(t->frames + t->frames_lost), t->next_seq);
  EXPECT(t->board_dropped <= t->samples_gap, "%s", "board drops within the gaps");
}

static StanceWireFrame
tframe(uint32_t seq, uint64_t first, uint8_t n, uint16_t dropped)
{
  StanceWireFrame f;
  memset(&f, 0, sizeof f);
  f.seq = seq;
  f.first_sample = first;
  f.n_samples = n;
  f.rate_code = STANCE_WIRE_RATE_4000;
  f.dropped = dropped;
  f.flags = dropped ? STANCE_WIRE_FRAME_OVERFLOW : 0;
  return f;
}

static uint64_t
accept_ok(StanceWireTracker *t, StanceWireFrame f)
{
  uint64_t gap = 12345;
  StanceError err = {0};
  int r = stance_wire_tracker_accept(t, &f, &gap, &err);
  EXPECT(r == 0, "frame seq %lu: %s", (unsigned long)f.seq, err.message);
  assert_tracker_invariants(t);
  return gap;
}

static void
accept_refused(StanceWireTracker *t, StanceWireFrame f, const char *says)
{
  StanceWireTracker before = *t;
  uint64_t gap = 12345;
  StanceError err = {0};
  EXPECT_EQ(stance_wire_tracker_accept(t, &f, &gap, &err), STANCE_EFORMAT);
  EXPECT(strstr(err.message, says), "'%s' lacks '%s'", err.message, says);
  EXPECT(memcmp(&before, t, sizeof before) == 0, "a refused frame changed the tracker");
  EXPECT_EQ(gap, 0);
}

START_TEST(tracker_origin)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  assert_tracker_invariants(&t);
  ck_assert_uint_eq(accept_ok(&t, tframe(0, 0, 18, 0)), 0);
  ck_assert(t.started);
  ck_assert_uint_eq(t.next_seq, 1);
  ck_assert_uint_eq(t.next_sample, 18);
  ck_assert_uint_eq(t.frames, 1);
  ck_assert_uint_eq(t.samples, 18);
  ck_assert_uint_eq(t.samples_gap, 0);
  ck_assert_uint_eq(t.frames_lost, 0);
  /* A first frame later than the origin: what it skips was lost before it (frames 0 and 1). */
  stance_wire_tracker_init(&t);
  ck_assert_uint_eq(accept_ok(&t, tframe(2, 36, 18, 0)), 36);
  ck_assert_uint_eq(t.frames_lost, 2);
  ck_assert_uint_eq(t.samples_gap, 36);
  ck_assert_uint_eq(t.next_sample, 54);
  /* Board drops before the very first sample. */
  stance_wire_tracker_init(&t);
  ck_assert_uint_eq(accept_ok(&t, tframe(0, 5, 18, 5)), 5);
  ck_assert_uint_eq(t.board_dropped, 5);
  ck_assert_uint_eq(accept_ok(&t, tframe(1, 23, 18, 0)), 0);
  /* The origin frame cannot claim more drops than its index skips. */
  stance_wire_tracker_init(&t);
  accept_refused(&t, tframe(0, 3, 18, 4), "reports 4 samples dropped");
}
END_TEST

START_TEST(tracker_lost_frames)
{
  static const uint32_t losses[] = {1, 2, 5, 1000, 65536};
  for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++) {
    uint32_t n = losses[i];
    StanceWireTracker t;
    stance_wire_tracker_init(&t);
    for (uint32_t s = 0; s < 3; s++)
      EXPECT_EQ(accept_ok(&t, tframe(s, 18ull * s, 18, 0)), 0);
    uint32_t seq = 3 + n;
    EXPECT_EQ(accept_ok(&t, tframe(seq, 18ull * seq, 18, 0)), 18ull * n);
    EXPECT_EQ(t.frames_lost, n);
    EXPECT_EQ(t.samples_gap, 18ull * n);
    EXPECT_EQ(t.board_dropped, 0);
    EXPECT_EQ(t.frames, 4);
    EXPECT_EQ(t.next_sample, 18ull * (seq + 1));
  }
}
END_TEST

START_TEST(tracker_board_drops)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  accept_ok(&t, tframe(0, 0, 18, 0));
  /* The FIFO overflowed: 7 samples dropped, the index jumps by 7 with no frame lost. */
  ck_assert_uint_eq(accept_ok(&t, tframe(1, 25, 18, 7)), 7);
  ck_assert_uint_eq(t.board_dropped, 7);
  ck_assert_uint_eq(t.samples_gap, 7);
  ck_assert_uint_eq(t.frames_lost, 0);
  /* A lost frame and drops before the next: 18 + 5. */
  ck_assert_uint_eq(accept_ok(&t, tframe(3, 43 + 18 + 5, 18, 5)), 23);
  ck_assert_uint_eq(t.board_dropped, 12);
  ck_assert_uint_eq(t.samples_gap, 30);
  ck_assert_uint_eq(t.frames_lost, 1);
  /* The drop count saturates at 65535; the index is authoritative. */
  uint64_t next = t.next_sample;
  ck_assert_uint_eq(accept_ok(&t, tframe(4, next + 100000, 18, 65535)), 100000);
  ck_assert_uint_eq(t.board_dropped, 12 + 65535);
  /* More drops claimed than the index skips: the frame contradicts itself. */
  next = t.next_sample;
  accept_refused(&t, tframe(5, next + 3, 18, 4), "only 3 are missing");
  /* A FINAL frame with no samples ends the stream where the index says. */
  StanceWireFrame fin = tframe(5, t.next_sample, 0, 0);
  fin.flags = STANCE_WIRE_FRAME_FINAL;
  ck_assert_uint_eq(accept_ok(&t, fin), 0);
}
END_TEST

START_TEST(tracker_refusals)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  accept_ok(&t, tframe(0, 0, 18, 0));
  accept_ok(&t, tframe(1, 18, 18, 0));
  accept_refused(&t, tframe(1, 18, 18, 0), "behind the expected 2");    /* duplicate */
  accept_refused(&t, tframe(0, 0, 18, 0), "duplicate or out-of-order"); /* older */
  accept_refused(&t, tframe(2, 30, 18, 0), "before the expected 36");   /* back in time */
  StanceWireFrame r = tframe(2, 36, 18, 0);
  r.rate_code = STANCE_WIRE_RATE_1000;
  accept_refused(&t, r, "rate 1000 Hz differs from the stream's 4000 Hz");
  StanceWireFrame big = tframe(2, UINT64_MAX - 5, 18, 0);
  accept_refused(&t, big, "overflows");
  /* Frames that failed to decode are counted; their samples are the gap before the next. */
  stance_wire_tracker_refuse(&t);
  stance_wire_tracker_refuse(&t);
  ck_assert_uint_eq(t.frames_refused, 2);
  ck_assert_uint_eq(accept_ok(&t, tframe(4, 72, 18, 0)), 36);
  ck_assert_uint_eq(t.frames_lost, 2);
  ck_assert_uint_eq(t.frames_refused, 2);
  /* Not a decoded frame at all. */
  StanceWireFrame bad = tframe(5, 90, 19, 0);
  ck_assert_int_eq(stance_wire_tracker_accept(&t, &bad, NULL, NULL), STANCE_EINVAL);
}
END_TEST

START_TEST(tracker_seq_wrap)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  /* A stream that has run 2^32 - 2 frames (the index is far beyond 2^32 samples). */
  uint64_t base = 77309411292ull;
  t.started = true;
  t.next_seq = UINT32_MAX - 1;
  t.next_sample = base;
  t.rate_code = STANCE_WIRE_RATE_4000;
  t.frames = UINT32_MAX - 1;
  t.samples = base;
  ck_assert_uint_eq(accept_ok(&t, tframe(UINT32_MAX - 1, base, 18, 0)), 0);
  ck_assert_uint_eq(accept_ok(&t, tframe(UINT32_MAX, base + 18, 18, 0)), 0);
  ck_assert_uint_eq(t.next_seq, 0);
  ck_assert_uint_eq(accept_ok(&t, tframe(0, base + 36, 18, 0)), 0);
  ck_assert_uint_eq(t.frames_lost, 0);
  /* A loss across the wrap: 1 and 2 missing... */
  ck_assert_uint_eq(accept_ok(&t, tframe(3, base + 90, 18, 0)), 36);
  ck_assert_uint_eq(t.frames_lost, 2);
  /* ...and the frame from before the wrap is behind, not 2^32 - 1 frames ahead. */
  accept_refused(&t, tframe(UINT32_MAX, base + 18, 18, 0), "behind");
  /* Across the wrap with a loss straddling it. */
  stance_wire_tracker_init(&t);
  accept_ok(&t, tframe(0, 0, 18, 0));
  t.next_seq = UINT32_MAX;
  t.frames_lost = UINT32_MAX - 1; /* keep the invariant: frames + lost == next_seq */
  ck_assert_uint_eq(accept_ok(&t, tframe(1, 18 + 36, 18, 0)), 36);
  ck_assert_uint_eq(t.next_seq, 2);
}
END_TEST

START_TEST(tracker_random_stream)
{
  /* A long stream with random board drops, lost frames, CRC failures and duplicates; the
   * tracker's totals must equal what the simulation knows. */
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  uint64_t index = 0, want_gap = 0, want_samples = 0, want_dropped = 0, pending_gap = 0;
  uint64_t want_lost = 0, want_refused = 0, pending_lost = 0, accepted = 0;
  StanceWireFrame last;
  bool have_last = false;
  for (uint32_t seq = 0; seq < 20000; seq++) {
    uint16_t dropped = rnd32() % 50 == 0 ? (uint16_t)(1 + rnd32() % 40) : 0;
    index += dropped;
    uint8_t n = (uint8_t)(1 + rnd32() % 18);
    StanceWireFrame f = tframe(seq, index, n, dropped);
    uint32_t fate = rnd32() % 100;
    if (fate < 3) { /* lost on the way */
      pending_gap += dropped + n;
      pending_lost++;
      want_lost++;
    } else if (fate < 5) { /* arrived damaged */
      stance_wire_tracker_refuse(&t);
      pending_gap += dropped + n;
      pending_lost++;
      want_lost++;
      want_refused++;
    } else {
      uint64_t gap = accept_ok(&t, f);
      EXPECT_EQ(gap, pending_gap + dropped);
      EXPECT_EQ(t.frames_lost, want_lost);
      want_gap += pending_gap + dropped;
      want_dropped += dropped;
      want_samples += n;
      pending_gap = pending_lost = 0;
      accepted++;
      if (have_last && fate < 8)
        accept_refused(&t, last, "behind"); /* a duplicate of an older frame */
      last = f;
      have_last = true;
    }
    index += n;
  }
  EXPECT_EQ(t.samples, want_samples);
  EXPECT_EQ(t.samples_gap, want_gap);
  EXPECT_EQ(t.board_dropped, want_dropped);
  EXPECT_EQ(t.frames_refused, want_refused);
  EXPECT_EQ(t.frames, accepted);
  EXPECT_EQ(t.frames + want_lost, 20000);
  /* Frames lost at the very end are not known yet: the tracker learns of a loss from the next
   * frame that arrives. */
  EXPECT_EQ(t.frames_lost, want_lost - pending_lost);
}
END_TEST

/* ---- messages ---- */

/* The golden START command and INFO reply (also in docs/protocol.md). */
static const char golden_start[] = "0000  53 43 01 04 04 00 00 00  00 00 64 0c c2 f5\n";

static const char golden_info_reply[] = "0000  53 52 01 02 01 00 00 00  5d 00 01 00 31 2e 30 2e\n"
                                        "0010  30 00 00 00 00 00 00 00  00 00 00 00 53 4e 30 30\n"
                                        "0020  34 32 00 00 00 00 00 00  00 00 00 00 00 00 00 00\n"
                                        "0030  00 00 00 00 73 74 61 6e  63 65 2d 66 34 31 31 2d\n"
                                        "0040  61 64 73 31 33 31 6d 30  38 00 00 00 08 18 04 01\n"
                                        "0050  f4 01 00 00 e8 03 00 00  d0 07 00 00 a0 0f 00 00\n"
                                        "0060  02 12 80 4f 12 00 80 8e  82 df ff\n";

START_TEST(msg_golden)
{
  uint8_t buf[STANCE_WIRE_MSG_MAX];
  size_t n = enc_msg(false, 1, STANCE_WIRE_OP_START, 4, 0, NULL, 0, buf);
  ck_assert_uint_eq(n, 14);
  char *start = hexdump(buf, n);
  ck_assert_str_eq(start, golden_start);
  n = enc_info_reply(1, buf);
  ck_assert_uint_eq(n, 14 + 77 + 16);
  char *info = hexdump(buf, n);
  ck_assert_str_eq(info, golden_info_reply);
  char *doc = doc_text();
  ck_assert_msg(doc_has_dump(doc, "command", start), "docs/protocol.md lacks the START command");
  ck_assert_msg(doc_has_dump(doc, "reply", info), "docs/protocol.md lacks the INFO reply");
  free(doc);
  free(start);
  free(info);
}
END_TEST

START_TEST(msg_round_trip)
{
  uint8_t payload[STANCE_WIRE_MSG_MAX_PAYLOAD], buf[STANCE_WIRE_MSG_MAX];
  StanceError err = {0};
  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (uint8_t)rnd32();
  for (unsigned len = 0; len <= STANCE_WIRE_MSG_MAX_PAYLOAD; len++) {
    bool reply = len % 2;
    uint8_t op = (uint8_t)rnd32(), status = reply ? (uint8_t)rnd32() : 0, major = (uint8_t)rnd32();
    uint16_t tag = (uint16_t)rnd32();
    int n = stance_wire_msg_encode_major(major, reply, op, tag, status, payload, (uint16_t)len, buf,
                                         sizeof buf, &err);
    EXPECT(n == (int)(14 + len), "%s", err.message);
    StanceWireMsg m;
    EXPECT(stance_wire_msg_decode(buf, (size_t)n, &m, &err) == 0, "%s", err.message);
    EXPECT(m.is_reply == reply, "length %u: is_reply %d", len, m.is_reply);
    EXPECT_EQ(m.major, major); /* any major decodes (see Versioning) */
    EXPECT_EQ(m.op, op);
    EXPECT_EQ(m.tag, tag);
    EXPECT_EQ(m.status, status);
    EXPECT_EQ(m.len, len);
    EXPECT(m.payload == buf + 10, "%s", "payload pointer");
    EXPECT(memcmp(m.payload, payload, len) == 0, "length %u: payload differs", len);
  }
  /* The 512-byte maximum fills a full frame's worth of packets exactly. */
  EXPECT_EQ(STANCE_WIRE_MSG_MAX, 512);
  /* A payload built in place at out + 10. */
  memcpy(buf + 10, "hello", 5);
  EXPECT_EQ(
      stance_wire_msg_encode(false, STANCE_WIRE_OP_PING, 9, 0, buf + 10, 5, buf, sizeof buf, NULL),
      19);
  StanceWireMsg m;
  EXPECT_EQ(stance_wire_msg_decode(buf, 19, &m, NULL), 0);
  EXPECT(memcmp(m.payload, "hello", 5) == 0, "%s", "in-place payload differs");
}
END_TEST

START_TEST(msg_refused)
{
  uint8_t buf[STANCE_WIRE_MSG_MAX + 1] = {0}, bad[STANCE_WIRE_MSG_MAX + 1];
  StanceError err = {0};
  StanceWireMsg m;
  /* Encode limits. */
  EXPECT_EQ(stance_wire_msg_encode(false, 1, 0, 0, buf, 499, buf, sizeof buf, &err), STANCE_ERANGE);
  EXPECT_EQ(stance_wire_msg_encode(false, 1, 0, 0, NULL, 0, buf, 13, &err), STANCE_ERANGE);
  EXPECT_EQ(stance_wire_msg_encode(false, 1, 0, 0, NULL, 0, buf, 14, &err), 14);
  EXPECT_EQ(stance_wire_msg_encode(false, 1, 0, 0, NULL, 3, buf, sizeof buf, &err), STANCE_EINVAL);
  EXPECT_EQ(stance_wire_msg_encode(false, 1, 0, 5, NULL, 0, buf, sizeof buf, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "expected 0 in a command"));

  size_t n = enc_info_reply(0x1234, buf);
  /* Every truncation, and one byte too many. */
  for (size_t k = 0; k < n; k++)
    EXPECT_EQ(stance_wire_msg_decode(buf, k, &m, NULL), STANCE_ETRUNC);
  buf[n] = 0;
  EXPECT_EQ(stance_wire_msg_decode(buf, n + 1, &m, &err), STANCE_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.message, "no trailing bytes"));
  /* Every single-bit flip. Flips in the magic or the length are refused by their own check
   * (EFORMAT/ETRUNC), every other one by the CRC. */
  for (size_t bit = 0; bit < 8 * n; bit++) {
    memcpy(bad, buf, n);
    bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    int r = stance_wire_msg_decode(bad, n, &m, &err);
    size_t at = bit / 8;
    if (at < 2)
      EXPECT(r == STANCE_EFORMAT, "bit %zu: %d", bit, r);
    else if (at == 8 || at == 9)
      EXPECT(r == STANCE_EFORMAT || r == STANCE_ETRUNC, "bit %zu: %d", bit, r);
    else
      EXPECT(r == STANCE_ECORRUPT, "bit %zu: %d (%s)", bit, r, err.message);
  }
  /* Field checks behind a valid CRC. */
  static const ByteCase cases[] = {
      {0, 'X', STANCE_EFORMAT, "magic"},
      {7, 1, STANCE_EFORMAT, "reserved byte 0x01 at offset 7"},
      {9, 2, STANCE_EFORMAT, "payload length 605 at offset 8"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    patch_resealed(bad, buf, n, &cases[i]);
    int r = stance_wire_msg_decode(bad, n, &m, &err);
    expect_refused(i, &cases[i], r, &err);
  }
  /* A command must carry status 0. */
  n = enc_msg(false, 1, STANCE_WIRE_OP_START, 4, 0, NULL, 0, bad);
  bad[6] = 3;
  reseal(bad, n);
  EXPECT_EQ(stance_wire_msg_decode(bad, n, &m, &err), STANCE_EFORMAT);
  ck_assert_ptr_nonnull(strstr(err.message, "status 3 at offset 6"));
  EXPECT_EQ(stance_wire_msg_decode(NULL, 0, &m, NULL), STANCE_ETRUNC);
}
END_TEST

/* ---- INFO ---- */

START_TEST(info_round_trip)
{
  StanceWireInfo in, out;
  uint8_t buf[128];
  StanceError err = {0};
  example_info(&in);
  int n = stance_wire_info_encode(&in, buf, sizeof buf, &err);
  ck_assert_msg(n == 93, "%d %s", n, err.message);
  ck_assert_int_eq(stance_wire_info_decode(buf, (size_t)n, &out, &err), 0);
  ck_assert_mem_eq(&in, &out, sizeof in);
  /* The layout by hand: offsets of the header's table. */
  ck_assert_str_eq((char *)buf + 2, "1.0.0");
  ck_assert_str_eq((char *)buf + 18, "SN0042");
  ck_assert_str_eq((char *)buf + 42, "stance-f411-ads131m08");
  ck_assert_uint_eq(buf[66], 8);
  ck_assert_uint_eq(buf[67], 24);
  ck_assert_uint_eq(buf[68], 4);
  ck_assert_uint_eq(buf[69], 1);
  ck_assert_uint_eq(buf[70 + 4] | buf[71 + 4] << 8, 1000);
  ck_assert_uint_eq(buf[86], STANCE_WIRE_INFO_HAS_CALIB);
  ck_assert_uint_eq(buf[87], 18);
  ck_assert_uint_eq(buf[92], 128);
  /* A board listing fewer rates: 1000 and 4000 Hz only, at 4000. Full-length texts. */
  in.n_rates = 2;
  in.rates_hz[0] = 1000;
  in.rates_hz[1] = 4000;
  in.rates_hz[2] = in.rates_hz[3] = 0;
  in.current_rate_code = STANCE_WIRE_RATE_4000;
  memset(in.serial, 'Z', 24);
  strcpy(in.firmware_version, "2.0.0-rc.1+\xc3\xa9t\xc3\xa9"); /* 16 bytes, UTF-8 "été" */
  in.flags = 0xFF;                                             /* bits a later minor may define */
  n = stance_wire_info_encode(&in, buf, sizeof buf, &err);
  ck_assert_msg(n == 85, "%d %s", n, err.message);
  ck_assert_int_eq(stance_wire_info_decode(buf, (size_t)n, &out, &err), 0);
  ck_assert_mem_eq(&in, &out, sizeof in);
  ck_assert_int_eq(stance_wire_info_encode(&in, buf, 84, NULL), STANCE_ERANGE);
}
END_TEST

START_TEST(info_future_minor)
{
  /* A later minor appends fields: the decoder reads what it knows and ignores the rest. */
  StanceWireInfo in, out;
  uint8_t buf[200];
  example_info(&in);
  in.minor = 7;
  int n = stance_wire_info_encode(&in, buf, sizeof buf, NULL);
  ck_assert_int_eq(n, 93);
  memset(buf + n, 0xA5, 40);
  ck_assert_int_eq(stance_wire_info_decode(buf, (size_t)n + 40, &out, NULL), 0);
  ck_assert_uint_eq(out.minor, 7);
  ck_assert_mem_eq(&in, &out, sizeof in);
}
END_TEST

START_TEST(info_other_major)
{
  /* A board of major 2: only the version is read, both versions are named. */
  StanceWireInfo in, out;
  uint8_t buf[128];
  StanceError err = {0};
  example_info(&in);
  in.major = 2;
  in.minor = 3;
  int n = stance_wire_info_encode(&in, buf, sizeof buf, NULL);
  ck_assert_int_eq(n, 93);
  ck_assert_int_eq(stance_wire_info_decode(buf, (size_t)n, &out, &err), STANCE_EVERSION);
  ck_assert_uint_eq(out.major, 2);
  ck_assert_uint_eq(out.minor, 3);
  ck_assert_str_eq(out.serial, "");
  ck_assert_msg(strstr(err.message, "2.3") && strstr(err.message, "1.0"), "%s", err.message);
  /* Two bytes are enough to learn the version, whatever follows (major 2 may change it all). */
  ck_assert_int_eq(stance_wire_info_decode(buf, 2, &out, NULL), STANCE_EVERSION);
  ck_assert_uint_eq(out.major, 2);
  ck_assert_int_eq(stance_wire_info_decode(buf, 1, &out, NULL), STANCE_ETRUNC);
  in.major = 0;
  ck_assert_int_eq(stance_wire_info_encode(&in, buf, sizeof buf, NULL), STANCE_EINVAL);
}
END_TEST

START_TEST(info_refused)
{
  StanceWireInfo in, out;
  uint8_t good[128], buf[128];
  StanceError err = {0};
  example_info(&in);
  int n = stance_wire_info_encode(&in, good, sizeof good, NULL);
  EXPECT_EQ(n, 93);
  for (int k = 0; k < n; k++)
    EXPECT_EQ(stance_wire_info_decode(good, (size_t)k, &out, NULL), STANCE_ETRUNC);
  struct {
    size_t at;
    uint8_t value;
    const char *says;
  } cases[] = {
      {18 + 2, '_', "serial at offset 18: byte 0x5f at offset 20"},
      {18 + 3, ' ', "serial at offset 18: byte 0x20 at offset 21"},
      {18, 0, "serial at offset 18 is empty"},
      {18 + 8, 'A', "follows the terminating NUL"},
      {2 + 1, 0xC0, "firmware version at offset 2: byte 0xc0 at offset 3"},
      {2 + 3, 0x07, "firmware version at offset 2: byte 0x07"},
      {42 + 5, 0xE9, "hardware name at offset 42: byte 0xe9"},
      {66, 4, "channels 4 at offset 66"},
      {67, 32, "ADC bits 32 at offset 67"},
      {68, 0, "number of rates 0 at offset 68"},
      {68, 5, "number of rates 5 at offset 68"},
      {69, 4, "current rate code 4 at offset 69"},
      {70 + 4, 0xB8, "rate 3000 at offset 74"}, /* 3000 Hz is not a rate */
      {70 + 8, 0xE8, "rate 1000 at offset 78"}, /* not increasing */
      {87, 17, "samples per frame 17 at offset 87"},
      {92, 0, "PGA gain 0 at offset 92"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(buf, good, (size_t)n);
    buf[cases[i].at] = cases[i].value;
    if (cases[i].at == 70 + 4)
      buf[70 + 5] = 0x0B; /* 0x0BB8 = 3000 */
    if (cases[i].at == 70 + 8)
      buf[70 + 9] = 0x03;
    int r = stance_wire_info_decode(buf, (size_t)n, &out, &err);
    EXPECT(r == STANCE_EFORMAT, "case %zu: %d (%s)", i, r, err.message);
    EXPECT(strstr(err.message, cases[i].says), "case %zu: '%s' lacks '%s'", i, err.message,
           cases[i].says);
  }
  /* The encoder refuses the same things. */
  example_info(&in);
  strcpy(in.serial, "SN 0042");
  EXPECT_EQ(stance_wire_info_encode(&in, buf, sizeof buf, &err), STANCE_EINVAL);
  EXPECT(strstr(err.message, "serial") && strstr(err.message, "[0-9A-Za-z-]"), "%s", err.message);
  example_info(&in);
  memset(in.serial, 'A', sizeof in.serial); /* no NUL within 25 bytes */
  EXPECT_EQ(stance_wire_info_encode(&in, buf, sizeof buf, &err), STANCE_EINVAL);
  example_info(&in);
  in.current_rate_code = STANCE_WIRE_RATE_500;
  in.n_rates = 1;
  in.rates_hz[0] = 1000;
  EXPECT_EQ(stance_wire_info_encode(&in, buf, sizeof buf, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "current rate code"));
  example_info(&in);
  in.vref_uv = 0;
  EXPECT_EQ(stance_wire_info_encode(&in, buf, sizeof buf, NULL), STANCE_EINVAL);
  example_info(&in);
  in.firmware_version[0] = '\0';
  EXPECT_EQ(stance_wire_info_encode(&in, buf, sizeof buf, NULL), STANCE_EINVAL);
}
END_TEST

/* ---- calibration block ---- */

START_TEST(calib_round_trip)
{
  StanceWireCalib c, d;
  uint8_t blk[STANCE_WIRE_CALIB_SIZE + 8];
  StanceError err = {0};
  example_calib(&c);
  /* Exact bit patterns survive: a subnormal, the largest double, a negative zero offset. */
  c.gain_n_per_count[6] = 4.9406564584124654e-324;
  c.offset_counts[1] = -0.0;
  c.plate[1].cell_x_mm[2] = 1.7976931348623157e308;
  memset(c.id, 'x', 64); /* the longest id */
  c.id[64] = '\0';
  ck_assert_int_eq(stance_wire_calib_encode(&c, blk, STANCE_WIRE_CALIB_SIZE - 1, NULL),
                   STANCE_ERANGE);
  ck_assert_msg(stance_wire_calib_encode(&c, blk, sizeof blk, &err) == 0, "%s", err.message);
  ck_assert_int_eq(stance_wire_calib_check(blk, STANCE_WIRE_CALIB_SIZE, &err), 0);
  ck_assert_msg(stance_wire_calib_decode(blk, STANCE_WIRE_CALIB_SIZE, &d, &err) == 0, "%s",
                err.message);
  ck_assert_mem_eq(&c, &d, sizeof c);
  /* The layout by hand. */
  ck_assert_mem_eq(blk, "CALB", 4);
  ck_assert_uint_eq(blk[4], 1);
  ck_assert_str_eq((char *)blk + 8, "SN0042");
  double g0;
  memcpy(&g0, blk + 168, 8); /* little-endian host: the bytes are the double */
  ck_assert(g0 == 0.0004768);
  double w;
  memcpy(&w, blk + 232 + 96, 8);
  ck_assert(w == 400.0);
  double cy;
  memcpy(&cy, blk + 232 + 96 + 88, 8);
  ck_assert(cy == 0.0);
}
END_TEST

START_TEST(calib_doubles_refused)
{
  StanceWireCalib c, d;
  uint8_t good[STANCE_WIRE_CALIB_SIZE], blk[STANCE_WIRE_CALIB_SIZE];
  StanceError err = {0};
  example_calib(&c);
  ck_assert_int_eq(stance_wire_calib_encode(&c, good, sizeof good, NULL), 0);
  static const uint64_t nan_bits = 0x7FF8000000000001ull, inf_bits = 0x7FF0000000000000ull,
                        ninf_bits = 0xFFF0000000000000ull, nzero_bits = 0x8000000000000000ull,
                        neg_bits = 0xC079000000000000ull; /* -400 */
  struct {
    size_t at;
    uint64_t bits;
    const char *says;
  } cases[] = {
      {168 + 8 * 3, nan_bits, "gain of channel 3 (left plate cell 4) at offset 192 is NaN"},
      {168 + 8 * 5, inf_bits, "gain of channel 5 (right plate cell 2) at offset 208 is infinite"},
      {168, 0, "gain of channel 0 (left plate cell 1) at offset 168 is zero"},
      {168 + 8 * 7, nzero_bits, "gain of channel 7 (right plate cell 4) at offset 224 is zero"},
      {104 + 8 * 2, ninf_bits, "offset of channel 2 (left plate cell 3) at offset 120 is infinite"},
      {232, 0, "left plate width at offset 232 is zero"},
      {232 + 96 + 8, neg_bits, "right plate length at offset 336 is negative"},
      {232 + 16 + 8 * 5, nan_bits, "left plate cell 3 y at offset 288 is NaN"},
      {232 + 96 + 88, inf_bits, "right plate centre y at offset 416 is infinite"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(blk, good, sizeof blk);
    for (int b = 0; b < 8; b++)
      blk[cases[i].at + b] = (uint8_t)(cases[i].bits >> (8 * b));
    reseal(blk, sizeof blk);
    /* The firmware's check does not look at doubles; the host's decode does. */
    ck_assert_int_eq(stance_wire_calib_check(blk, sizeof blk, NULL), 0);
    int r = stance_wire_calib_decode(blk, sizeof blk, &d, &err);
    ck_assert_msg(r == STANCE_EFORMAT, "case %zu: %d", i, r);
    ck_assert_msg(strstr(err.message, cases[i].says), "case %zu: '%s' lacks '%s'", i, err.message,
                  cases[i].says);
  }
  /* The encoder refuses the same values, leaving the output untouched. */
  uint8_t out[STANCE_WIRE_CALIB_SIZE];
  memset(out, 0x5A, sizeof out);
  example_calib(&c);
  c.gain_n_per_count[4] = 0.0;
  ck_assert_int_eq(stance_wire_calib_encode(&c, out, sizeof out, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "gain of channel 4"));
  ck_assert_uint_eq(out[0], 0x5A);
  example_calib(&c);
  memcpy(&c.plate[0].centre_x_mm, &nan_bits, 8);
  ck_assert_int_eq(stance_wire_calib_encode(&c, out, sizeof out, &err), STANCE_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "left plate centre x"));
  example_calib(&c);
  c.created_unix_ms = -1;
  ck_assert_int_eq(stance_wire_calib_encode(&c, out, sizeof out, NULL), STANCE_EINVAL);
  example_calib(&c);
  strcpy(c.board_serial, "SN/42");
  ck_assert_int_eq(stance_wire_calib_encode(&c, out, sizeof out, NULL), STANCE_EINVAL);
}
END_TEST

START_TEST(calib_corruption)
{
  StanceWireCalib c, d;
  uint8_t good[STANCE_WIRE_CALIB_SIZE + 1], blk[STANCE_WIRE_CALIB_SIZE + 1];
  StanceError err = {0};
  example_calib(&c);
  EXPECT_EQ(stance_wire_calib_encode(&c, good, sizeof good, NULL), 0);
  for (size_t bit = 0; bit < 8 * STANCE_WIRE_CALIB_SIZE; bit++) {
    memcpy(blk, good, STANCE_WIRE_CALIB_SIZE);
    blk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    EXPECT_EQ(stance_wire_calib_check(blk, STANCE_WIRE_CALIB_SIZE, NULL), STANCE_ECORRUPT);
    EXPECT_EQ(stance_wire_calib_decode(blk, STANCE_WIRE_CALIB_SIZE, &d, NULL), STANCE_ECORRUPT);
  }
  for (size_t n = 0; n < STANCE_WIRE_CALIB_SIZE; n++)
    EXPECT_EQ(stance_wire_calib_check(good, n, NULL), STANCE_ETRUNC);
  good[STANCE_WIRE_CALIB_SIZE] = 0;
  EXPECT_EQ(stance_wire_calib_check(good, STANCE_WIRE_CALIB_SIZE + 1, NULL), STANCE_EFORMAT);
  static const ByteCase cases[] = {
      {0, 'X', STANCE_EFORMAT, "magic"},
      {4, 2, STANCE_EVERSION, "version 2 at offset 4"},
      {6, 1, STANCE_EFORMAT, "reserved field 0x0001 at offset 6"},
      {8 + 2, '.', STANCE_EFORMAT, "board serial at offset 8: byte 0x2e at offset 10"},
      {32, 0, STANCE_EFORMAT, "calibration id at offset 32 is empty"},
      {32 + 4, 0x0A, STANCE_EFORMAT, "calibration id at offset 32: byte 0x0a at offset 36"},
      {96 + 7, 0x80, STANCE_EFORMAT, "creation time at offset 96 is negative"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    patch_resealed(blk, good, STANCE_WIRE_CALIB_SIZE, &cases[i]);
    int r = stance_wire_calib_check(blk, STANCE_WIRE_CALIB_SIZE, &err);
    expect_refused(i, &cases[i], r, &err);
    EXPECT_EQ(stance_wire_calib_decode(blk, STANCE_WIRE_CALIB_SIZE, &d, NULL), r);
  }
}
END_TEST

/* ---- the doc and the corpus ---- */

START_TEST(doc_examples)
{
  /* Every ```wire block of docs/protocol.md decodes, and the values its '#' lines state are
   * exactly the decoded ones: every field, nothing else. */
  char *doc = doc_text();
  int blocks = 0, frames = 0, commands = 0, replies = 0;
  const char *p = doc;
  int line_no = 1;
  for (const char *q = doc; (q = strstr(q, "```wire ")); q++) {
    if (q != doc && q[-1] != '\n')
      continue;
    for (; p < q; p++)
      line_no += *p == '\n';
    char kind[32];
    ck_assert_int_eq(sscanf(q, "```wire %31s", kind), 1);
    const char *body = strchr(q, '\n') + 1;
    const char *end = strstr(body, "\n```");
    ck_assert_msg(end != NULL, "protocol.md line %d: unterminated block", line_no);
    char *block = strndup(body, (size_t)(end - body) + 1);
    uint8_t bytes[STANCE_WIRE_FRAME_SIZE + 64];
    char why[600];
    long n = hexdump_parse(block, bytes, sizeof bytes, why, sizeof why);
    ck_assert_msg(n > 0, "protocol.md line %d: %s", line_no, why);
    KVList want;
    int r = describe(kind, bytes, (size_t)n, &want, why, sizeof why);
    ck_assert_msg(r == 0, "protocol.md line %d (%s): does not decode: %s", line_no, kind, why);
    /* The stated pairs, in order, must be the decoded ones. */
    int k = 0;
    for (const char *l = block; *l;) {
      const char *eol = strchr(l, '\n');
      size_t ll = eol ? (size_t)(eol - l) : strlen(l);
      if (l[0] == '#') {
        char line[512];
        ck_assert_uint_lt(ll, sizeof line);
        memcpy(line, l + 1, ll - 1);
        line[ll - 1] = '\0';
        for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
          char *eq = strchr(tok, '=');
          ck_assert_msg(eq != NULL, "protocol.md line %d: '%s' is not key=value", line_no, tok);
          *eq = '\0';
          ck_assert_msg(k < want.n, "protocol.md line %d: '%s' is not a field of a %s", line_no,
                        tok, kind);
          ck_assert_msg(strcmp(tok, want.kv[k].key) == 0,
                        "protocol.md line %d: states '%s' where the decoded %s has '%s'", line_no,
                        tok, kind, want.kv[k].key);
          ck_assert_msg(strcmp(eq + 1, want.kv[k].value) == 0,
                        "protocol.md line %d: %s=%s but the bytes decode to %s", line_no, tok,
                        eq + 1, want.kv[k].value);
          k++;
        }
      }
      l += ll + (eol ? 1 : 0);
    }
    ck_assert_msg(k == want.n,
                  "protocol.md line %d: states %d fields of the %s, it has %d (next: %s)", line_no,
                  k, kind, want.n, k < want.n ? want.kv[k].key : "");
    blocks++;
    frames += strcmp(kind, "frame") == 0;
    commands += strcmp(kind, "command") == 0;
    replies += strcmp(kind, "reply") == 0;
    free(block);
  }
  /* The worked session has all its examples (so this test cannot pass on an empty doc). */
  ck_assert_int_ge(blocks, N_EXAMPLES);
  ck_assert_int_ge(frames, 2);
  ck_assert_int_ge(commands, 7);
  ck_assert_int_ge(replies, 7);
  /* And they are this code's encodings, byte for byte. */
  Example *ex = calloc(N_EXAMPLES, sizeof *ex);
  ck_assert_ptr_nonnull(ex);
  build_examples(ex);
  for (int i = 0; i < N_EXAMPLES; i++) {
    char *dump = hexdump(ex[i].bytes, ex[i].n);
    ck_assert_msg(doc_has_dump(doc, ex[i].kind, dump), "protocol.md lacks the example '%s'",
                  ex[i].title);
    free(dump);
  }
  free(ex);
  free(doc);
}
END_TEST

START_TEST(corpus_files)
{
  /* The fuzzer's seeds are real encodings: each decodes and re-encodes to the same bytes. */
  char *dir = stance_test_data_path("wire-corpus");
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
  int count[4] = {0};
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    size_t n;
    char *data = read_text(path, &n);
    ck_assert_ptr_nonnull(data);
    const uint8_t *b = (const uint8_t *)data;
    uint8_t again[STANCE_WIRE_MSG_MAX + 64];
    StanceError err = {0};
    if (strncmp(e->d_name, "frame-", 6) == 0) {
      StanceWireFrame f;
      ck_assert_msg(stance_wire_frame_decode(b, n, &f, &err) == 0, "%s: %s", path, err.message);
      ck_assert_int_eq(stance_wire_frame_encode(&f, again, NULL), 0);
      ck_assert_mem_eq(again, b, n);
      count[0]++;
    } else if (strncmp(e->d_name, "msg-", 4) == 0) {
      StanceWireMsg m;
      ck_assert_msg(stance_wire_msg_decode(b, n, &m, &err) == 0, "%s: %s", path, err.message);
      int k = stance_wire_msg_encode_major(m.major, m.is_reply, m.op, m.tag, m.status, m.payload,
                                           m.len, again, sizeof again, NULL);
      ck_assert_int_eq(k, (int)n);
      ck_assert_mem_eq(again, b, n);
      count[1]++;
    } else if (strncmp(e->d_name, "info-", 5) == 0) {
      StanceWireInfo in;
      ck_assert_msg(stance_wire_info_decode(b, n, &in, &err) == 0, "%s: %s", path, err.message);
      int k = stance_wire_info_encode(&in, again, sizeof again, NULL);
      ck_assert_int_le(k, (int)n);
      ck_assert_mem_eq(again, b, (size_t)k);
      count[2]++;
    } else if (strncmp(e->d_name, "calib-", 6) == 0) {
      StanceWireCalib c;
      ck_assert_msg(stance_wire_calib_decode(b, n, &c, &err) == 0, "%s: %s", path, err.message);
      ck_assert_int_eq(stance_wire_calib_encode(&c, again, sizeof again, NULL), 0);
      ck_assert_mem_eq(again, b, n);
      count[3]++;
    } else {
      ck_abort_msg("%s: unexpected file in the corpus", path);
    }
    free(data);
  }
  closedir(d);
  free(dir);
  for (int i = 0; i < 4; i++)
    ck_assert_int_ge(count[i], 1);
}
END_TEST

/* ---- generators (not tests) ---- */

static int
write_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}

static int
write_corpus(const char *dir)
{
  Example *ex = calloc(N_EXAMPLES, sizeof *ex);
  if (!ex)
    return 1;
  build_examples(ex);
  int bad = 0, nf = 0, nm = 0;
  for (int i = 0; i < N_EXAMPLES; i++) {
    char name[64];
    if (strcmp(ex[i].kind, "frame") == 0)
      snprintf(name, sizeof name, "frame-%02d", nf++);
    else
      snprintf(name, sizeof name, "msg-%02d-%s-%s", nm++, ex[i].kind,
               stance_wire_op_name(ex[i].bytes[3]));
    bad |= write_file(dir, name, ex[i].bytes, ex[i].n);
  }
  /* A full frame with the extremes and an overflow. */
  StanceWireFrame f;
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  memset(&f, 0, sizeof f);
  f.seq = UINT32_MAX;
  f.first_sample = 1000000007;
  f.n_samples = 18;
  f.rate_code = STANCE_WIRE_RATE_4000;
  f.dropped = 65535;
  f.flags = STANCE_WIRE_FRAME_OVERFLOW;
  for (int s = 0; s < 18; s++) {
    for (int c = 0; c < 8; c++)
      f.counts[s][c] = (s + c) % 3 == 0 ? 8388607 : (s + c) % 3 == 1 ? -8388608 : s * 1000 - c;
    f.sat[s] = (uint8_t)(s * 17);
    f.status[s] = s % 2;
  }
  stance_wire_frame_encode(&f, buf, NULL);
  bad |= write_file(dir, "frame-full", buf, sizeof buf);
  StanceWireInfo in;
  uint8_t pl[200];
  example_info(&in);
  int n = stance_wire_info_encode(&in, pl, sizeof pl, NULL);
  bad |= write_file(dir, "info-example", pl, (size_t)n);
  memset(pl + n, 0x11, 12); /* a later minor's extra fields */
  bad |= write_file(dir, "info-future-minor", pl, (size_t)n + 12);
  in.n_rates = 1;
  in.rates_hz[0] = 2000;
  in.rates_hz[1] = in.rates_hz[2] = in.rates_hz[3] = 0;
  in.current_rate_code = STANCE_WIRE_RATE_2000;
  n = stance_wire_info_encode(&in, pl, sizeof pl, NULL);
  bad |= write_file(dir, "info-one-rate", pl, (size_t)n);
  StanceWireCalib c;
  uint8_t blk[STANCE_WIRE_CALIB_SIZE];
  example_calib(&c);
  stance_wire_calib_encode(&c, blk, sizeof blk, NULL);
  bad |= write_file(dir, "calib-example", blk, sizeof blk);
  free(ex);
  return bad;
}

static int
print_examples(void)
{
  Example *ex = calloc(N_EXAMPLES, sizeof *ex);
  if (!ex)
    return 1;
  build_examples(ex);
  for (int i = 0; i < N_EXAMPLES; i++) {
    char *block = example_block(&ex[i]);
    printf("<!-- %s -->\n%s\n", ex[i].title, block);
    free(block);
  }
  free(ex);
  return 0;
}

static Suite *
wire_suite(void)
{
  Suite *s = suite_create("wire");
  TCase *tc = tcase_create("codec");
  tcase_add_test(tc, crc_check_value);
  tcase_add_test(tc, rates);
  tcase_add_test(tc, names);
  tcase_add_test(tc, frame_round_trip);
  tcase_add_test(tc, frame_count_bytes);
  tcase_add_test(tc, frame_golden);
  tcase_add_test(tc, frame_bit_flips);
  tcase_add_test(tc, frame_lengths);
  tcase_add_test(tc, frame_fields_refused);
  tcase_add_test(tc, frame_encode_refused);
  tcase_add_test(tc, msg_golden);
  tcase_add_test(tc, msg_round_trip);
  tcase_add_test(tc, msg_refused);
  tcase_add_test(tc, info_round_trip);
  tcase_add_test(tc, info_future_minor);
  tcase_add_test(tc, info_other_major);
  tcase_add_test(tc, info_refused);
  tcase_add_test(tc, calib_round_trip);
  tcase_add_test(tc, calib_doubles_refused);
  tcase_add_test(tc, calib_corruption);
  suite_add_tcase(s, tc);
  TCase *tt = tcase_create("tracker");
  tcase_add_test(tt, tracker_origin);
  tcase_add_test(tt, tracker_lost_frames);
  tcase_add_test(tt, tracker_board_drops);
  tcase_add_test(tt, tracker_refusals);
  tcase_add_test(tt, tracker_seq_wrap);
  tcase_add_test(tt, tracker_random_stream);
  suite_add_tcase(s, tt);
  TCase *td = tcase_create("doc");
  tcase_add_test(td, doc_examples);
  tcase_add_test(td, corpus_files);
  suite_add_tcase(s, td);
  return s;
}

int
main(int argc, char **argv)
{
  generating = argc > 1;
  if (argc == 2 && strcmp(argv[1], "--print-examples") == 0)
    return print_examples();
  if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
    return write_corpus(argv[2]);
  return stance_test_run(wire_suite());
}
