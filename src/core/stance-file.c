/* stance-file.c: the .stance file format (see stance-file.h and docs/formats.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every multi-byte value is encoded and decoded byte by byte as little-endian, so the format does
 * not depend on the host; structs are never written as they are in memory. Samples are moved with
 * straight loops through a fixed staging block, so a 1 h recording costs no per-sample
 * allocation.
 *
 * The reader checks, in this order: signature, major version, header length, header CRC, header
 * fields (and that the file is large enough to hold the samples the header declares, before
 * anything is allocated), then each chunk: its bounds, its CRC, then its contents. A file that
 * passes is decoded completely; there is no partial result.
 */
#include "stance-file.h"

#include "stance-atomic.h"
#include "stance-bytes.h"
#include "stance-utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <unistd.h>

/* ---- format constants (docs/formats.md) ---- */

static const uint8_t stance_magic[8] = {0x89, 'S', 'T', 'N', 0x0D, 0x0A, 0x1A, 0x0A};

enum {
  HEADER_LEN_V1 = 44,     /* bytes of the 1.0 header, CRC included */
  HEADER_LEN_MAX = 65536, /* a longer header is refused as malformed */
  CHUNK_HEAD_LEN = 16,    /* tag, flags, payload length */
  CHUNK_CRC_LEN = 4,
  CHUNK_OVERHEAD = CHUNK_HEAD_LEN + CHUNK_CRC_LEN,
  META_MAX_ENTRIES = 256,
  META_MAX_KEY = 64,
  META_MAX_VALUE = 4096,
};

#define CHUNK_FLAG_CRITICAL 0x00000001u
#define HEADER_FLAG_COP 0x00000001u
#define HEADER_FLAG_CALIBRATION 0x00000002u

/* Prefix of free metadata keys inside META (the standard keys have no prefix). */
#define META_EXTRA_PREFIX "x."
/* Free key that keeps a protocol name this build does not know. */
#define META_UNKNOWN_PROTOCOL "unknown_protocol"

/* Bytes of the CALB payload after the two strings and their lengths. */
#define CALB_FIXED_LEN (8 + 8 * 8 + 8 * 8 + STANCE_N_PLATES * 12 * 8)

/* ---- CRC-32 (reflected, polynomial 0xEDB88320), slicing by 8 ----
 *
 * The wire codec computes the same CRC (stance_wire_crc32) with a 16-entry nibble table, and the
 * two are deliberately kept apart. The wire's version is sized for the firmware's flash (64 bytes
 * of table) and is too slow for files: measured on the development host (2 cores, -O2), 64 MiB
 * took this version 0.11 s (about 600 MB/s) against 1.1 s (about 60 MB/s) for the nibble one, and
 * a 1 h 8-channel recording is checksummed whole on every write and read. The wire, in turn, can
 * neither link this file (stdio, threads) nor afford the 8 KiB table on the board. Both are pinned
 * to the same check value (0xCBF43926 for "123456789") by test-file and test-wire. */

static uint32_t crc_table[8][256];
static once_flag crc_once = ONCE_FLAG_INIT;

static void
crc_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    crc_table[0][i] = c;
  }
  /* crc_table[k][i]: the CRC of byte i followed by k zero bytes; lets 8 bytes be folded at once. */
  for (uint32_t i = 0; i < 256; i++)
    for (int k = 1; k < 8; k++)
      crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xFF];
}

uint32_t
stance_crc32(uint32_t crc, const void *data, size_t len)
{
  call_once(&crc_once, crc_init);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (len >= 8) {
    /* Bytes are combined explicitly (not loaded as words) so this is endian-independent. */
    uint32_t a = c ^ stance_get_le32(p);
    uint32_t b = stance_get_le32(p + 4);
    c = crc_table[7][a & 0xFF] ^ crc_table[6][(a >> 8) & 0xFF] ^ crc_table[5][(a >> 16) & 0xFF] ^
        crc_table[4][a >> 24] ^ crc_table[3][b & 0xFF] ^ crc_table[2][(b >> 8) & 0xFF] ^
        crc_table[1][(b >> 16) & 0xFF] ^ crc_table[0][b >> 24];
    p += 8;
    len -= 8;
  }
  while (len--)
    c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFF];
  return ~c;
}

/* A chunk tag for messages: printable ASCII as is, other bytes as \xNN. */
static const char *
tag_text(const uint8_t tag[4], char buf[20])
{
  size_t n = 0;
  for (int k = 0; k < 4; k++) {
    if (tag[k] >= 0x20 && tag[k] < 0x7F && tag[k] != '\\' && tag[k] != '\'')
      buf[n++] = (char)tag[k];
    else
      n += (size_t)snprintf(buf + n, 20 - n, "\\x%02X", tag[k]);
  }
  buf[n] = '\0';
  return buf;
}

/* True when s[0..n) is valid UTF-8 without NUL bytes; *bad gets the offending offset. */
static bool
utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
  StanceUtf8Fault fault;
  if (stance_utf8_check(s, n, false, &fault))
    return true;
  *bad = fault.offset;
  return false;
}

static size_t
layout_channels(uint32_t layout)
{
  switch (layout) {
  case STANCE_LAYOUT_CELLS: return STANCE_N_CELLS;
  case STANCE_LAYOUT_PLATES: return STANCE_N_PLATES;
  case STANCE_LAYOUT_COMBINED: return 1;
  default: return 0;
  }
}

/* Bytes per sample of the DATA payload. */
static size_t
data_elem_size(StanceLayout layout)
{
  return layout == STANCE_LAYOUT_CELLS ? 4 : 8;
}

/* ==== Writer ==== */

/* META and CALB payloads are built in memory first (they are small); samples are streamed. */
typedef struct {
  uint8_t *meta;
  size_t meta_len;
  uint8_t calb[4 + 63 + 4 + 31 + CALB_FIXED_LEN];
  size_t calb_len;
  bool has_cop;
  size_t n, nch;
  size_t data_len, cop_len, stat_len;
  size_t total_len;
} Plan;

/* Length of a NUL-terminated field stored in a fixed array; SIZE_MAX when it is not terminated. */
static size_t
field_len(const char *s, size_t cap)
{
  size_t n = strnlen(s, cap);
  return n == cap ? SIZE_MAX : n;
}

static int
check_text(const char *what, const char *s, size_t cap, StanceError *err)
{
  size_t n = field_len(s, cap), bad;
  if (n == SIZE_MAX)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s is not NUL-terminated within its %zu bytes (expected a C string)",
                            what, cap);
  if (!utf8_valid((const uint8_t *)s, n, &bad))
    return stance_error_set(err, STANCE_EINVAL,
                            "%s is not valid UTF-8 at byte %zu (0x%02X); expected UTF-8 text", what,
                            bad, (unsigned)(uint8_t)s[bad]);
  return STANCE_OK;
}

static uint8_t *
meta_put(uint8_t *p, const char *key, const char *value)
{
  size_t kl = strlen(key), vl = strlen(value);
  stance_put_le32(p, (uint32_t)kl);
  memcpy(p + 4, key, kl);
  p += 4 + kl;
  stance_put_le32(p, (uint32_t)vl);
  memcpy(p + 4, value, vl);
  return p + 4 + vl;
}

static int
plan_meta(const StanceRecording *rec, Plan *plan, StanceError *err)
{
  const StanceMeta *m = &rec->meta;
  if ((int)m->protocol < 0 || m->protocol >= STANCE_PROTO_COUNT)
    return stance_error_set(err, STANCE_EINVAL,
                            "metadata: protocol id %d is out of range (expected 0..%d)",
                            (int)m->protocol, STANCE_PROTO_COUNT - 1);
  if (m->side != STANCE_SIDE_BOTH && m->side != STANCE_SIDE_LEFT && m->side != STANCE_SIDE_RIGHT)
    return stance_error_set(err, STANCE_EINVAL, "metadata: side %d is not both/left/right",
                            (int)m->side);
  if (m->n_extra < 0 || m->n_extra > STANCE_META_MAX_EXTRA)
    return stance_error_set(err, STANCE_EINVAL, "metadata: %d free pairs (expected 0..%d)",
                            m->n_extra, STANCE_META_MAX_EXTRA);
  struct {
    const char *key;
    const char *value;
    size_t cap;
  } texts[] = {
      {"athlete", m->athlete, sizeof m->athlete},
      {"board_serial", m->board_serial, sizeof m->board_serial},
      {"firmware_version", m->firmware_version, sizeof m->firmware_version},
      {"calibration_id", m->calibration_id, sizeof m->calibration_id},
      {"source", m->source, sizeof m->source},
  };
  int r;
  char what[96];
  for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
    snprintf(what, sizeof what, "metadata %s", texts[k].key);
    if ((r = check_text(what, texts[k].value, texts[k].cap, err)) < 0)
      return r;
  }
  for (int k = 0; k < m->n_extra; k++) {
    const StanceMetaEntry *e = &m->extra[k];
    snprintf(what, sizeof what, "metadata free pair %d key", k + 1);
    if ((r = check_text(what, e->key, sizeof e->key, err)) < 0)
      return r;
    if (e->key[0] == '\0')
      return stance_error_set(err, STANCE_EINVAL,
                              "metadata free pair %d has an empty key (expected a name)", k + 1);
    snprintf(what, sizeof what, "metadata value of \"%s\"", e->key);
    if ((r = check_text(what, e->value, sizeof e->value, err)) < 0)
      return r;
    for (int q = 0; q < k; q++)
      if (strcmp(m->extra[q].key, e->key) == 0)
        return stance_error_set(err, STANCE_EINVAL,
                                "metadata free key \"%s\" appears twice (pairs %d and %d; expected "
                                "unique keys)",
                                e->key, q + 1, k + 1);
  }

  /* Upper bound of the payload: count + each entry's two lengths and texts. */
  size_t cap = 4 + 16 * (8 + 32) + sizeof m->athlete + sizeof m->board_serial +
               sizeof m->firmware_version + sizeof m->calibration_id + sizeof m->source +
               (size_t)STANCE_META_MAX_EXTRA * (8 + 2 + sizeof(StanceMetaEntry));
  uint8_t *buf = malloc(cap);
  if (!buf)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory encoding metadata");
  uint8_t *p = buf + 4;
  uint32_t count = 0;
  p = meta_put(p, "protocol", stance_protocol_name(m->protocol)), count++;
  p = meta_put(p, "side", stance_side_name(m->side)), count++;
  /* Other standard keys are written only when they differ from their default. */
  for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
    if (texts[k].value[0])
      p = meta_put(p, texts[k].key, texts[k].value), count++;
  if (m->start_unix_ms != 0) {
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, m->start_unix_ms);
    p = meta_put(p, "start_unix_ms", num), count++;
  }
  if (m->rate_assumed)
    p = meta_put(p, "rate_assumed", "true"), count++;
  if (m->sides_assumed)
    p = meta_put(p, "sides_assumed", "true"), count++;
  for (int k = 0; k < m->n_extra; k++) {
    char key[2 + sizeof m->extra[k].key];
    snprintf(key, sizeof key, META_EXTRA_PREFIX "%s", m->extra[k].key);
    p = meta_put(p, key, m->extra[k].value), count++;
  }
  stance_put_le32(buf, count);
  plan->meta = buf;
  plan->meta_len = (size_t)(p - buf);
  return STANCE_OK;
}

static int
plan_calibration(const StanceRecording *rec, Plan *plan, StanceError *err)
{
  const StanceCalibration *c = &rec->calib;
  int r;
  if ((r = check_text("calibration id", c->id, sizeof c->id, err)) < 0 ||
      (r = check_text("calibration board serial", c->board_serial, sizeof c->board_serial, err)) <
          0)
    return r;
  StanceError verr = {0};
  if (stance_calibration_validate(c, &verr) < 0)
    return stance_error_set(err, STANCE_EINVAL, "cannot save an invalid calibration: %s",
                            verr.message);
  uint8_t *p = plan->calb;
  size_t il = strlen(c->id), sl = strlen(c->board_serial);
  stance_put_le32(p, (uint32_t)il);
  memcpy(p + 4, c->id, il);
  p += 4 + il;
  stance_put_le32(p, (uint32_t)sl);
  memcpy(p + 4, c->board_serial, sl);
  p += 4 + sl;
  stance_put_le64(p, (uint64_t)c->created_unix_ms);
  p += 8;
  for (int k = 0; k < STANCE_N_CELLS; k++, p += 8)
    stance_put_le_f64(p, c->offset_counts[k]);
  for (int k = 0; k < STANCE_N_CELLS; k++, p += 8)
    stance_put_le_f64(p, c->gain_n_per_count[k]);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const StancePlateGeometry *g = &c->plate[pl];
    stance_put_le_f64(p, g->width_mm);
    stance_put_le_f64(p + 8, g->length_mm);
    p += 16;
    for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++, p += 16) {
      stance_put_le_f64(p, g->cell[k].x_mm);
      stance_put_le_f64(p + 8, g->cell[k].y_mm);
    }
    stance_put_le_f64(p, g->centre_x_mm);
    stance_put_le_f64(p + 8, g->centre_y_mm);
    p += 16;
  }
  plan->calb_len = (size_t)(p - plan->calb);
  return STANCE_OK;
}

/* Checks rec can be written and prepares the small payloads and every size. */
static int
plan_make(const StanceRecording *rec, Plan *plan, StanceError *err)
{
  memset(plan, 0, sizeof *plan);
  if (!rec)
    return stance_error_set(err, STANCE_EINVAL, "no recording given");
  size_t nch = layout_channels((uint32_t)rec->layout);
  if (nch == 0)
    return stance_error_set(err, STANCE_EINVAL, "layout %d is not cells, plates or combined",
                            (int)rec->layout);
  if (rec->n_channels != nch)
    return stance_error_set(err, STANCE_EINVAL, "a %s recording has %zu channels, not %zu",
                            stance_layout_name(rec->layout), nch, rec->n_channels);
  if (!isfinite(rec->sample_rate_hz) || rec->sample_rate_hz <= 0)
    return stance_error_set(err, STANCE_EINVAL,
                            "sample rate %g Hz is not usable (expected a finite rate > 0)",
                            rec->sample_rate_hz);
  if (rec->layout == STANCE_LAYOUT_CELLS && !rec->has_calibration)
    return stance_error_set(err, STANCE_EINVAL,
                            "a cells recording needs its calibration (raw counts alone cannot be "
                            "turned into newtons)");
  size_t n = rec->n_samples;
  bool cells = rec->layout == STANCE_LAYOUT_CELLS;
  if (n > 0 && (!rec->status || (cells ? !rec->counts : !rec->force_n)))
    return stance_error_set(err, STANCE_EINVAL,
                            "the recording has %zu samples but no sample "
                            "arrays",
                            n);
  plan->has_cop = !cells && rec->cop_mm != NULL;
  plan->n = n;
  plan->nch = nch;
  size_t elem = data_elem_size(rec->layout);
  if (n > SIZE_MAX / 64 / nch)
    return stance_error_set(err, STANCE_ERANGE, "%zu samples are too many to encode", n);
  plan->data_len = n * nch * elem;
  plan->cop_len = plan->has_cop ? n * nch * 16 : 0;
  plan->stat_len = n * 2;

  /* Non-finite forces would make every later computation meaningless: refuse them here. */
  if (!cells) {
    for (size_t i = 0; i < n * nch; i++)
      if (!isfinite(rec->force_n[i]))
        return stance_error_set(err, STANCE_ERANGE,
                                "sample %zu channel %zu: force %g N is not finite (expected a "
                                "number; gaps hold 0)",
                                i / nch, i % nch, rec->force_n[i]);
    for (size_t i = 0; plan->has_cop && i < n * nch * 2; i++)
      if (!isfinite(rec->cop_mm[i]))
        return stance_error_set(err, STANCE_ERANGE,
                                "sample %zu channel %zu: centre of pressure %s %g mm is not finite "
                                "(expected a number; store 0 where undefined)",
                                i / (nch * 2), (i / 2) % nch, i % 2 ? "y" : "x", rec->cop_mm[i]);
  }

  int r;
  if (rec->has_calibration && (r = plan_calibration(rec, plan, err)) < 0)
    return r;
  if ((r = plan_meta(rec, plan, err)) < 0)
    return r;
  plan->total_len = HEADER_LEN_V1 + CHUNK_OVERHEAD + plan->meta_len +
                    (rec->has_calibration ? CHUNK_OVERHEAD + plan->calb_len : 0) + CHUNK_OVERHEAD +
                    plan->data_len + (plan->has_cop ? CHUNK_OVERHEAD + plan->cop_len : 0) +
                    CHUNK_OVERHEAD + plan->stat_len + CHUNK_OVERHEAD + 8;
  return STANCE_OK;
}

static void
plan_clear(Plan *plan)
{
  free(plan->meta);
  plan->meta = NULL;
}

/* Output: either a preallocated memory image of exactly total_len bytes, or a stream fed through
 * a staging buffer. The running CRC covers everything put since the last chunk start. */
enum { SINK_STAGE = 1 << 16 };

typedef struct {
  uint8_t *mem;
  size_t pos;
  FILE *f;
  uint8_t *stage;
  size_t staged;
  uint32_t crc;
  int errnum; /* first write error (errno), 0 when none */
} Sink;

static void
sink_flush(Sink *s)
{
  if (s->f && s->staged && !s->errnum) {
    errno = 0;
    if (fwrite(s->stage, 1, s->staged, s->f) != s->staged)
      s->errnum = errno ? errno : EIO;
  }
  s->staged = 0;
}

static void
sink_raw(Sink *s, const uint8_t *p, size_t n)
{
  if (s->mem) {
    memcpy(s->mem + s->pos, p, n);
    s->pos += n;
    return;
  }
  while (n > 0) {
    size_t k = SINK_STAGE - s->staged < n ? SINK_STAGE - s->staged : n;
    memcpy(s->stage + s->staged, p, k);
    s->staged += k;
    s->pos += k;
    p += k;
    n -= k;
    if (s->staged == SINK_STAGE)
      sink_flush(s);
  }
}

static void
sink_put(Sink *s, const uint8_t *p, size_t n)
{
  s->crc = stance_crc32(s->crc, p, n);
  sink_raw(s, p, n);
}

static void
chunk_begin(Sink *s, const char tag[4], uint64_t payload_len)
{
  uint8_t h[CHUNK_HEAD_LEN];
  memcpy(h, tag, 4);
  stance_put_le32(h + 4, CHUNK_FLAG_CRITICAL);
  stance_put_le64(h + 8, payload_len);
  s->crc = 0;
  sink_put(s, h, sizeof h);
}

static void
chunk_end(Sink *s)
{
  uint8_t c[CHUNK_CRC_LEN];
  stance_put_le32(c, s->crc);
  sink_raw(s, c, sizeof c);
}

/* Writes the whole file through the sink. */
static void
encode_to(const StanceRecording *rec, const Plan *plan, Sink *s)
{
  uint8_t h[HEADER_LEN_V1];
  memcpy(h, stance_magic, 8);
  stance_put_le16(h + 8, STANCE_FILE_VERSION_MAJOR);
  stance_put_le16(h + 10, STANCE_FILE_VERSION_MINOR);
  stance_put_le32(h + 12, HEADER_LEN_V1);
  stance_put_le16(h + 16, (uint16_t)rec->layout);
  stance_put_le16(h + 18, (uint16_t)plan->nch);
  stance_put_le32(h + 20, (plan->has_cop ? HEADER_FLAG_COP : 0) |
                              (rec->has_calibration ? HEADER_FLAG_CALIBRATION : 0));
  stance_put_le64(h + 24, (uint64_t)plan->n);
  stance_put_le_f64(h + 32, rec->sample_rate_hz);
  stance_put_le32(h + 40, stance_crc32(0, h, 40));
  sink_raw(s, h, sizeof h);

  chunk_begin(s, "META", plan->meta_len);
  sink_put(s, plan->meta, plan->meta_len);
  chunk_end(s);

  if (rec->has_calibration) {
    chunk_begin(s, "CALB", plan->calb_len);
    sink_put(s, plan->calb, plan->calb_len);
    chunk_end(s);
  }

  /* Samples go through a block of whole values; 4096 bytes is a multiple of 2, 4, 8 and 16. */
  uint8_t blk[4096];
  size_t total = plan->n * plan->nch, used = 0;
  chunk_begin(s, "DATA", plan->data_len);
  if (rec->layout == STANCE_LAYOUT_CELLS) {
    for (size_t i = 0; i < total; i++) {
      stance_put_le32(blk + used, (uint32_t)rec->counts[i]);
      if ((used += 4) == sizeof blk) {
        sink_put(s, blk, used);
        used = 0;
      }
    }
  } else {
    for (size_t i = 0; i < total; i++) {
      stance_put_le_f64(blk + used, rec->force_n[i]);
      if ((used += 8) == sizeof blk) {
        sink_put(s, blk, used);
        used = 0;
      }
    }
  }
  sink_put(s, blk, used);
  used = 0;
  chunk_end(s);

  if (plan->has_cop) {
    chunk_begin(s, "COPD", plan->cop_len);
    for (size_t i = 0; i < total * 2; i++) {
      stance_put_le_f64(blk + used, rec->cop_mm[i]);
      if ((used += 8) == sizeof blk) {
        sink_put(s, blk, used);
        used = 0;
      }
    }
    sink_put(s, blk, used);
    used = 0;
    chunk_end(s);
  }

  chunk_begin(s, "STAT", plan->stat_len);
  for (size_t i = 0; i < plan->n; i++) {
    stance_put_le16(blk + used, rec->status[i]);
    if ((used += 2) == sizeof blk) {
      sink_put(s, blk, used);
      used = 0;
    }
  }
  sink_put(s, blk, used);
  chunk_end(s);

  uint8_t end[8];
  stance_put_le64(end, (uint64_t)plan->total_len);
  chunk_begin(s, "END\0", sizeof end);
  sink_put(s, end, sizeof end);
  chunk_end(s);
}

int
stance_file_encode(const StanceRecording *rec, uint8_t **out, size_t *out_len, StanceError *err)
{
  if (!out || !out_len)
    return stance_error_set(err, STANCE_EINVAL, "no output buffer given");
  *out = NULL;
  *out_len = 0;
  Plan plan;
  int r = plan_make(rec, &plan, err);
  if (r < 0) {
    plan_clear(&plan);
    return r;
  }
  uint8_t *buf = malloc(plan.total_len);
  if (!buf) {
    plan_clear(&plan);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a %zu-byte .stance image",
                            plan.total_len);
  }
  Sink s = {.mem = buf};
  encode_to(rec, &plan, &s);
  plan_clear(&plan);
  *out = buf;
  *out_len = s.pos;
  return STANCE_OK;
}

int
stance_file_write(const StanceRecording *rec, const char *path, StanceError *err)
{
  if (!path || !*path)
    return stance_error_set(err, STANCE_EINVAL, "no file name given");
  Plan plan;
  int r = plan_make(rec, &plan, err);
  if (r < 0) {
    plan_clear(&plan);
    return stance_error_prefix(err, "%s: ", path);
  }
  uint8_t *stage = malloc(SINK_STAGE);
  if (!stage) {
    plan_clear(&plan);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory", path);
  }
  StanceAtomicFile af;
  r = stance_atomic_open(&af, path, err);
  if (r < 0) {
    free(stage);
    plan_clear(&plan);
    return r;
  }
  Sink s = {.f = af.fp, .stage = stage};
  encode_to(rec, &plan, &s);
  sink_flush(&s);
  free(stage);
  plan_clear(&plan);
  if (s.errnum) {
    r = stance_error_set(err, STANCE_EIO,
                         "cannot write '%s': %s (while writing; any existing file was left "
                         "untouched)",
                         path, strerror(s.errnum));
    stance_atomic_abort(&af);
    return r;
  }
  return stance_atomic_commit(&af, err);
}

/* ==== Reader ==== */

enum {
  SEEN_META = 1 << 0,
  SEEN_CALB = 1 << 1,
  SEEN_DATA = 1 << 2,
  SEEN_COPD = 1 << 3,
  SEEN_STAT = 1 << 4,
};

typedef struct {
  const uint8_t *p; /* payload */
  size_t len;       /* payload length */
  size_t off;       /* file offset of the chunk (its tag) */
  const char *tag;  /* printable tag for messages */
} Chunk;

/* Copies a UTF-8 text of n bytes into a fixed field. */
static int
meta_text(const Chunk *c, const char *key, const uint8_t *v, size_t n, char *dst, size_t cap,
          StanceError *err)
{
  if (n >= cap)
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu: \"%s\" is %zu bytes long (expected at most "
                            "%zu)",
                            c->off, key, n, cap - 1);
  memcpy(dst, v, n);
  dst[n] = '\0';
  return STANCE_OK;
}

static int
meta_bool(const Chunk *c, const char *key, const uint8_t *v, size_t n, bool *dst, StanceError *err)
{
  if (n == 4 && memcmp(v, "true", 4) == 0)
    *dst = true;
  else if (n == 5 && memcmp(v, "false", 5) == 0)
    *dst = false;
  else
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu: \"%s\" is \"%.*s\" (expected true or "
                            "false)",
                            c->off, key, (int)(n > 16 ? 16 : n), (const char *)v);
  return STANCE_OK;
}

static int
meta_int64(const Chunk *c, const char *key, const uint8_t *v, size_t n, int64_t *dst,
           StanceError *err)
{
  size_t i = 0;
  bool neg = n > 0 && v[0] == '-';
  i = neg;
  uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  bool ok = i < n && n <= 20;
  for (; ok && i < n; i++) {
    if (v[i] < '0' || v[i] > '9' || acc > (lim - (uint64_t)(v[i] - '0')) / 10)
      ok = false;
    else
      acc = acc * 10 + (uint64_t)(v[i] - '0');
  }
  if (!ok)
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu: \"%s\" is \"%.*s\" (expected a decimal "
                            "64-bit integer)",
                            c->off, key, (int)(n > 24 ? 24 : n), (const char *)v);
  /* Negate in unsigned arithmetic: -(2^63) has no positive int64 counterpart. */
  *dst = neg ? (int64_t)(~acc + 1) : (int64_t)acc;
  return STANCE_OK;
}

static int
parse_meta(const Chunk *c, StanceMeta *m, StanceError *err)
{
  if (c->len < 4)
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu is %zu bytes (expected at least 4)", c->off,
                            c->len);
  uint32_t count = stance_get_le32(c->p);
  if (count > META_MAX_ENTRIES || count > (c->len - 4) / 8)
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu declares %" PRIu32 " entries (expected at "
                            "most %d, each at least 8 bytes in %zu bytes)",
                            c->off, count, META_MAX_ENTRIES, c->len - 4);
  struct {
    const uint8_t *k;
    size_t kl;
  } seen[META_MAX_ENTRIES];
  char protocol_raw[META_MAX_KEY + 1] = "";
  bool have_protocol = false;
  size_t pos = 4;
  int r;
  for (uint32_t e = 0; e < count; e++) {
    size_t lens[2];
    const uint8_t *txt[2];
    for (int part = 0; part < 2; part++) {
      size_t maxlen = part == 0 ? META_MAX_KEY : META_MAX_VALUE;
      if (c->len - pos < 4)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: entry %" PRIu32 " %s length runs past "
                                "the end of the chunk",
                                c->off, e + 1, part ? "value" : "key");
      uint32_t l = stance_get_le32(c->p + pos);
      pos += 4;
      if (l > maxlen || l > c->len - pos || (part == 0 && l == 0))
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: entry %" PRIu32 " %s is %" PRIu32
                                " bytes (expected %d..%zu bytes within the chunk)",
                                c->off, e + 1, part ? "value" : "key", l, part ? 0 : 1,
                                maxlen < c->len - pos ? maxlen : c->len - pos);
      txt[part] = c->p + pos;
      lens[part] = l;
      size_t bad;
      if (!utf8_valid(txt[part], l, &bad))
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: entry %" PRIu32 " %s is not valid UTF-8 "
                                "(byte %zu is 0x%02X; expected UTF-8 text without NUL)",
                                c->off, e + 1, part ? "value" : "key", bad, txt[part][bad]);
      pos += l;
    }
    char key[META_MAX_KEY + 1];
    memcpy(key, txt[0], lens[0]);
    key[lens[0]] = '\0';
    for (uint32_t q = 0; q < e; q++)
      if (seen[q].kl == lens[0] && memcmp(seen[q].k, txt[0], lens[0]) == 0)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: key \"%s\" appears twice (expected "
                                "unique keys)",
                                c->off, key);
    seen[e].k = txt[0];
    seen[e].kl = lens[0];

    const uint8_t *v = txt[1];
    size_t vl = lens[1];
    r = STANCE_OK;
    if (strcmp(key, "protocol") == 0) {
      if (vl > META_MAX_KEY)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: protocol name is %zu bytes (expected "
                                "at most %d)",
                                c->off, vl, META_MAX_KEY);
      memcpy(protocol_raw, v, vl);
      protocol_raw[vl] = '\0';
      have_protocol = true;
    } else if (strcmp(key, "side") == 0) {
      bool found = false;
      for (int s = STANCE_SIDE_BOTH; s <= STANCE_SIDE_RIGHT && !found; s++) {
        const char *name = stance_side_name((StanceSide)s);
        if (strlen(name) == vl && memcmp(name, v, vl) == 0) {
          m->side = (StanceSide)s;
          found = true;
        }
      }
      if (!found)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: side \"%.*s\" (expected both, left or "
                                "right)",
                                c->off, (int)(vl > 16 ? 16 : vl), (const char *)v);
    } else if (strcmp(key, "athlete") == 0) {
      r = meta_text(c, key, v, vl, m->athlete, sizeof m->athlete, err);
    } else if (strcmp(key, "board_serial") == 0) {
      r = meta_text(c, key, v, vl, m->board_serial, sizeof m->board_serial, err);
    } else if (strcmp(key, "firmware_version") == 0) {
      r = meta_text(c, key, v, vl, m->firmware_version, sizeof m->firmware_version, err);
    } else if (strcmp(key, "calibration_id") == 0) {
      r = meta_text(c, key, v, vl, m->calibration_id, sizeof m->calibration_id, err);
    } else if (strcmp(key, "source") == 0) {
      r = meta_text(c, key, v, vl, m->source, sizeof m->source, err);
    } else if (strcmp(key, "start_unix_ms") == 0) {
      r = meta_int64(c, key, v, vl, &m->start_unix_ms, err);
    } else if (strcmp(key, "rate_assumed") == 0) {
      r = meta_bool(c, key, v, vl, &m->rate_assumed, err);
    } else if (strcmp(key, "sides_assumed") == 0) {
      r = meta_bool(c, key, v, vl, &m->sides_assumed, err);
    } else if (strncmp(key, META_EXTRA_PREFIX, 2) == 0) {
      const char *fk = key + 2;
      if (*fk == '\0' || strlen(fk) >= sizeof m->extra[0].key || vl >= sizeof m->extra[0].value ||
          m->n_extra >= STANCE_META_MAX_EXTRA)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: free pair \"%s\" does not fit (expected "
                                "at most %d pairs, keys 1..%zu bytes, values up to %zu bytes)",
                                c->off, fk, STANCE_META_MAX_EXTRA, sizeof m->extra[0].key - 1,
                                sizeof m->extra[0].value - 1);
      StanceMetaEntry *x = &m->extra[m->n_extra++];
      snprintf(x->key, sizeof x->key, "%s", fk);
      memcpy(x->value, v, vl);
      x->value[vl] = '\0';
    }
    /* Any other key is a standard key from a newer minor version: ignored by design. */
    if (r < 0)
      return r;
  }
  if (pos != c->len)
    return stance_error_set(err, STANCE_EFORMAT,
                            "META chunk at offset %zu: %zu bytes follow its %" PRIu32 " entries "
                            "(expected the chunk to end there)",
                            c->off, c->len - pos, count);
  if (have_protocol) {
    StanceProtocol p = stance_protocol_from_name(protocol_raw);
    if (p == STANCE_PROTO_UNKNOWN && strcmp(protocol_raw, "unknown") != 0) {
      /* A protocol from a newer Stance: keep the recording usable and its name visible. */
      if (stance_meta_set(m, META_UNKNOWN_PROTOCOL, protocol_raw) < 0)
        return stance_error_set(err, STANCE_EFORMAT,
                                "META chunk at offset %zu: protocol \"%s\" is not known to this "
                                "Stance and there is no free metadata slot left to keep its name",
                                c->off, protocol_raw);
    }
    m->protocol = p;
  }
  return STANCE_OK;
}

static int
parse_calb(const Chunk *c, StanceCalibration *cal, StanceError *err)
{
  size_t pos = 0;
  char *dst[2] = {cal->id, cal->board_serial};
  size_t cap[2] = {sizeof cal->id, sizeof cal->board_serial};
  const char *name[2] = {"id", "board serial"};
  for (int k = 0; k < 2; k++) {
    if (c->len - pos < 4)
      return stance_error_set(err, STANCE_EFORMAT,
                              "CALB chunk at offset %zu: the %s length runs past the chunk end",
                              c->off, name[k]);
    uint32_t l = stance_get_le32(c->p + pos);
    pos += 4;
    size_t bad;
    if (l >= cap[k] || l > c->len - pos)
      return stance_error_set(err, STANCE_EFORMAT,
                              "CALB chunk at offset %zu: the %s is %" PRIu32 " bytes (expected at "
                              "most %zu within the chunk)",
                              c->off, name[k], l, cap[k] - 1);
    if (!utf8_valid(c->p + pos, l, &bad))
      return stance_error_set(err, STANCE_EFORMAT,
                              "CALB chunk at offset %zu: the %s is not valid UTF-8 at byte %zu",
                              c->off, name[k], bad);
    memcpy(dst[k], c->p + pos, l);
    dst[k][l] = '\0';
    pos += l;
  }
  if (c->len - pos != CALB_FIXED_LEN)
    return stance_error_set(err, STANCE_EFORMAT,
                            "CALB chunk at offset %zu: %zu bytes after the strings (expected %d: "
                            "time, 8 offsets, 8 gains, 2 plate geometries)",
                            c->off, c->len - pos, CALB_FIXED_LEN);
  const uint8_t *p = c->p + pos;
  cal->created_unix_ms = (int64_t)stance_get_le64(p);
  p += 8;
  for (int k = 0; k < STANCE_N_CELLS; k++, p += 8)
    cal->offset_counts[k] = stance_get_le_f64(p);
  for (int k = 0; k < STANCE_N_CELLS; k++, p += 8)
    cal->gain_n_per_count[k] = stance_get_le_f64(p);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    StancePlateGeometry *g = &cal->plate[pl];
    g->width_mm = stance_get_le_f64(p);
    g->length_mm = stance_get_le_f64(p + 8);
    p += 16;
    for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++, p += 16) {
      g->cell[k].x_mm = stance_get_le_f64(p);
      g->cell[k].y_mm = stance_get_le_f64(p + 8);
    }
    g->centre_x_mm = stance_get_le_f64(p);
    g->centre_y_mm = stance_get_le_f64(p + 8);
    p += 16;
  }
  StanceError verr = {0};
  if (stance_calibration_validate(cal, &verr) < 0 || !isfinite(cal->plate[0].centre_x_mm) ||
      !isfinite(cal->plate[0].centre_y_mm) || !isfinite(cal->plate[1].centre_x_mm) ||
      !isfinite(cal->plate[1].centre_y_mm))
    return stance_error_set(err, STANCE_EFORMAT, "CALB chunk at offset %zu: %s", c->off,
                            verr.code ? verr.message
                                      : "a plate centre is not finite (expected millimetres)");
  return STANCE_OK;
}

static int
expect_len(const Chunk *c, size_t want, const char *what, StanceError *err)
{
  if (c->len != want)
    return stance_error_set(err, STANCE_EFORMAT,
                            "%s chunk at offset %zu holds %zu bytes; the header implies %s = %zu",
                            c->tag, c->off, c->len, what, want);
  return STANCE_OK;
}

static int
parse_data(const Chunk *c, StanceRecording *rec, size_t n, StanceError *err)
{
  size_t nch = rec->n_channels, total = n * nch;
  const uint8_t *p = c->p;
  int r;
  if (rec->layout == STANCE_LAYOUT_CELLS) {
    if ((r = expect_len(c, total * 4, "n_samples x 8 channels x 4 bytes", err)) < 0)
      return r;
    int32_t *dst = rec->counts;
    for (size_t i = 0; i < total; i++, p += 4)
      dst[i] = (int32_t)stance_get_le32(p);
    return STANCE_OK;
  }
  if ((r = expect_len(c, total * 8, "n_samples x channels x 8 bytes", err)) < 0)
    return r;
  double *dst = rec->force_n;
  for (size_t i = 0; i < total; i++, p += 8)
    dst[i] = stance_get_le_f64(p);
  for (size_t i = 0; i < total; i++)
    if (!isfinite(dst[i]))
      return stance_error_set(err, STANCE_EFORMAT,
                              "DATA chunk at offset %zu: sample %zu channel %zu is not a finite "
                              "number (expected newtons)",
                              c->off, i / nch, i % nch);
  return STANCE_OK;
}

static int
parse_copd(const Chunk *c, StanceRecording *rec, size_t n, StanceError *err)
{
  size_t nch = rec->n_channels, total = n * nch * 2;
  int r;
  if ((r = expect_len(c, total * 8, "n_samples x channels x 2 x 8 bytes", err)) < 0)
    return r;
  const uint8_t *p = c->p;
  double *dst = rec->cop_mm;
  for (size_t i = 0; i < total; i++, p += 8)
    dst[i] = stance_get_le_f64(p);
  for (size_t i = 0; i < total; i++)
    if (!isfinite(dst[i]))
      return stance_error_set(err, STANCE_EFORMAT,
                              "COPD chunk at offset %zu: sample %zu channel %zu %s is not a "
                              "finite number (expected millimetres)",
                              c->off, i / (nch * 2), (i / 2) % nch, i % 2 ? "y" : "x");
  return STANCE_OK;
}

static int
parse_stat(const Chunk *c, StanceRecording *rec, size_t n, StanceError *err)
{
  int r;
  if ((r = expect_len(c, n * 2, "n_samples x 2 bytes", err)) < 0)
    return r;
  const uint8_t *p = c->p;
  uint16_t *dst = rec->status;
  for (size_t i = 0; i < n; i++, p += 2)
    dst[i] = stance_get_le16(p);
  return STANCE_OK;
}

/* Decodes after the signature and version were checked; on failure *out stays NULL. */
static int
decode_body(const uint8_t *buf, size_t len, StanceRecording **out, StanceError *err)
{
  uint32_t hlen = stance_get_le32(buf + 12);
  if (hlen < HEADER_LEN_V1 || hlen > HEADER_LEN_MAX)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header length at offset 12 is %" PRIu32 " bytes (expected %d..%d)",
                            hlen, HEADER_LEN_V1, HEADER_LEN_MAX);
  if (len < hlen)
    return stance_error_set(err, STANCE_ETRUNC,
                            "truncated: the file ends at byte %zu inside the %" PRIu32 "-byte "
                            "header",
                            len, hlen);
  uint32_t stored = stance_get_le32(buf + hlen - 4), actual = stance_crc32(0, buf, hlen - 4);
  if (stored != actual)
    return stance_error_set(err, STANCE_ECORRUPT,
                            "header at offset 0 is corrupted: its CRC-32 is 0x%08" PRIX32
                            " but the file stores 0x%08" PRIX32,
                            actual, stored);
  uint16_t layout = stance_get_le16(buf + 16), nch16 = stance_get_le16(buf + 18);
  uint32_t flags = stance_get_le32(buf + 20);
  uint64_t n64 = stance_get_le64(buf + 24);
  double rate = stance_get_le_f64(buf + 32);
  size_t nch = layout_channels(layout);
  if (nch == 0)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header: layout %u at offset 16 (expected 0 cells, 1 plates or 2 "
                            "combined)",
                            layout);
  if (nch16 != nch)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header: %u channels at offset 18 (a %s recording has %zu)", nch16,
                            stance_layout_name((StanceLayout)layout), nch);
  if (!isfinite(rate) || rate <= 0)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header: sample rate %g Hz at offset 32 (expected a finite rate > 0)",
                            rate);
  bool has_cop = flags & HEADER_FLAG_COP, has_cal = flags & HEADER_FLAG_CALIBRATION;
  if (has_cop && layout == STANCE_LAYOUT_CELLS)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header: a cells recording with a stored centre of pressure (flags "
                            "0x%08" PRIX32 "; cells derive it from the calibration)",
                            flags);
  if (!has_cal && layout == STANCE_LAYOUT_CELLS)
    return stance_error_set(err, STANCE_EFORMAT,
                            "header: a cells recording without calibration (flags 0x%08" PRIX32
                            "; expected bit 1 set)",
                            flags);
  /* Refuse a sample count the file cannot hold before allocating anything for it. */
  size_t per_sample = nch * data_elem_size((StanceLayout)layout) + 2 + (has_cop ? nch * 16 : 0);
  size_t room = len - hlen;
  if (n64 > room / per_sample)
    return stance_error_set(err, STANCE_ETRUNC,
                            "truncated: the header declares %" PRIu64 " samples (%zu bytes "
                            "each), but only %zu bytes follow the header",
                            n64, per_sample, room);
  size_t n = (size_t)n64;

  StanceRecording *rec = stance_recording_new((StanceLayout)layout, rate, has_cop);
  if (!rec || stance_recording_reserve(rec, n ? n : 1) < 0) {
    stance_recording_free(rec);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
  }
  rec->has_calibration = has_cal;

  unsigned seen = 0;
  size_t pos = hlen;
  int r = STANCE_OK;
  for (;;) {
    if (len - pos < CHUNK_HEAD_LEN) {
      r = stance_error_set(err, STANCE_ETRUNC,
                           pos == len ? "truncated: the file ends at byte %zu, before its END "
                                        "chunk%s"
                                      : "truncated: the file ends at byte %zu inside a chunk "
                                        "header%s",
                           len, pos == len ? "" : " (expected 16 bytes: tag, flags, length)");
      break;
    }
    const uint8_t *h = buf + pos;
    char tagbuf[20];
    Chunk c = {.off = pos, .tag = tag_text(h, tagbuf)};
    uint32_t cflags = stance_get_le32(h + 4);
    uint64_t plen = stance_get_le64(h + 8);
    size_t avail = len - pos - CHUNK_HEAD_LEN;
    if (plen > avail || avail - plen < CHUNK_CRC_LEN) {
      r = stance_error_set(err, STANCE_ETRUNC,
                           "truncated: chunk '%s' at offset %zu declares %" PRIu64 " payload "
                           "bytes plus a 4-byte CRC, but only %zu bytes remain",
                           c.tag, pos, plen, avail);
      break;
    }
    c.p = h + CHUNK_HEAD_LEN;
    c.len = (size_t)plen;
    uint32_t cstored = stance_get_le32(c.p + c.len);
    uint32_t cactual = stance_crc32(0, h, CHUNK_HEAD_LEN + c.len);
    if (cstored != cactual) {
      r = stance_error_set(err, STANCE_ECORRUPT,
                           "chunk '%s' at offset %zu is corrupted: its CRC-32 is 0x%08" PRIX32
                           " but the file stores 0x%08" PRIX32,
                           c.tag, pos, cactual, cstored);
      break;
    }
    size_t next = pos + CHUNK_OVERHEAD + c.len;

    unsigned bit = 0;
    if (memcmp(h, "META", 4) == 0)
      bit = SEEN_META;
    else if (memcmp(h, "CALB", 4) == 0)
      bit = SEEN_CALB;
    else if (memcmp(h, "DATA", 4) == 0)
      bit = SEEN_DATA;
    else if (memcmp(h, "COPD", 4) == 0)
      bit = SEEN_COPD;
    else if (memcmp(h, "STAT", 4) == 0)
      bit = SEEN_STAT;
    if (bit && (seen & bit)) {
      r = stance_error_set(err, STANCE_EFORMAT,
                           "chunk '%s' at offset %zu appears a second time (expected once)", c.tag,
                           pos);
      break;
    }
    seen |= bit;
    if (bit == SEEN_META) {
      r = parse_meta(&c, &rec->meta, err);
    } else if (bit == SEEN_CALB) {
      if (!has_cal)
        r = stance_error_set(err, STANCE_EFORMAT,
                             "CALB chunk at offset %zu, but the header flags say there is no "
                             "calibration",
                             pos);
      else
        r = parse_calb(&c, &rec->calib, err);
    } else if (bit == SEEN_DATA) {
      r = parse_data(&c, rec, n, err);
    } else if (bit == SEEN_COPD) {
      if (!has_cop)
        r = stance_error_set(err, STANCE_EFORMAT,
                             "COPD chunk at offset %zu, but the header flags say there is no "
                             "centre of pressure",
                             pos);
      else
        r = parse_copd(&c, rec, n, err);
    } else if (bit == SEEN_STAT) {
      r = parse_stat(&c, rec, n, err);
    } else if (memcmp(h, "END\0", 4) == 0) {
      if (c.len != 8) {
        r = stance_error_set(err, STANCE_EFORMAT,
                             "END chunk at offset %zu holds %zu bytes (expected 8)", pos, c.len);
      } else {
        uint64_t total = stance_get_le64(c.p);
        if (total != next)
          r = stance_error_set(err, STANCE_EFORMAT,
                               "END chunk at offset %zu records a file length of %" PRIu64
                               " bytes, but it ends at byte %zu",
                               pos, total, next);
        else if (next != len)
          r = stance_error_set(err, STANCE_EFORMAT,
                               "%zu unexpected bytes follow the END chunk (which ends at byte "
                               "%zu)",
                               len - next, next);
      }
      break; /* END: the chunk walk is over */
    } else if (cflags & CHUNK_FLAG_CRITICAL) {
      r = stance_error_set(err, STANCE_EVERSION,
                           "chunk '%s' at offset %zu is marked critical, but this Stance (format "
                           "%d.%d) does not know it (expected a newer Stance to read this file)",
                           c.tag, pos, STANCE_FILE_VERSION_MAJOR, STANCE_FILE_VERSION_MINOR);
    }
    /* else: an unknown, non-critical chunk from a newer minor version: skipped. */
    if (r < 0)
      break;
    pos = next;
  }

  if (r == STANCE_OK) {
    struct {
      unsigned bit;
      bool needed;
      const char *what;
    } req[] = {
        {SEEN_META, true, "META (metadata)"},
        {SEEN_CALB, has_cal, "CALB (calibration; the header says there is one)"},
        {SEEN_DATA, true, "DATA (samples)"},
        {SEEN_COPD, has_cop, "COPD (centre of pressure; the header says there is one)"},
        {SEEN_STAT, true, "STAT (sample status)"},
    };
    for (size_t k = 0; k < sizeof req / sizeof req[0]; k++)
      if (req[k].needed && !(seen & req[k].bit)) {
        r = stance_error_set(err, STANCE_EFORMAT, "the file has no %s chunk before END",
                             req[k].what);
        break;
      }
  }
  if (r < 0) {
    stance_recording_free(rec);
    return r;
  }
  rec->n_samples = n;
  *out = rec;
  return STANCE_OK;
}

int
stance_file_is_stance(const uint8_t *buf, size_t len)
{
  return buf && len >= sizeof stance_magic && memcmp(buf, stance_magic, sizeof stance_magic) == 0;
}

int
stance_file_decode(const uint8_t *buf, size_t len, StanceRecording **out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output recording given");
  *out = NULL;
  if (!buf && len)
    return stance_error_set(err, STANCE_EINVAL, "no input buffer given");
  if (len == 0)
    return stance_error_set(err, STANCE_ETRUNC,
                            "truncated: the file is empty (expected a .stance "
                            "signature)");
  size_t m = len < sizeof stance_magic ? len : sizeof stance_magic;
  for (size_t k = 0; k < m; k++) {
    if (buf[k] != stance_magic[k]) {
      /* 0x89 S T N then something else: the signature was mangled, typically by a text-mode
       * transfer that rewrote line endings or stripped the high bit. */
      if (k >= 4)
        return stance_error_set(err, STANCE_EFORMAT,
                                "not a .stance file: byte %zu of the signature is 0x%02X "
                                "(expected 0x%02X); the file looks damaged by a text-mode "
                                "transfer that changed line endings",
                                k, buf[k], stance_magic[k]);
      return stance_error_set(err, STANCE_EFORMAT,
                              "not a .stance file: it starts with %02X %02X %02X %02X (expected "
                              "the signature 89 53 54 4E 0D 0A 1A 0A)",
                              buf[0], len > 1 ? buf[1] : 0, len > 2 ? buf[2] : 0,
                              len > 3 ? buf[3] : 0);
    }
  }
  if (len < 12)
    return stance_error_set(err, STANCE_ETRUNC,
                            "truncated: the file ends at byte %zu, before the version at offset 8",
                            len);
  uint16_t major = stance_get_le16(buf + 8), minor = stance_get_le16(buf + 10);
  if (major != STANCE_FILE_VERSION_MAJOR)
    return stance_error_set(err, STANCE_EVERSION,
                            "the file is format version %u.%u; this Stance reads version %d.x "
                            "(it writes %d.%d)",
                            major, minor, STANCE_FILE_VERSION_MAJOR, STANCE_FILE_VERSION_MAJOR,
                            STANCE_FILE_VERSION_MINOR);
  if (len < 16)
    return stance_error_set(err, STANCE_ETRUNC,
                            "truncated: the file ends at byte %zu, before the header length at "
                            "offset 12",
                            len);
  return decode_body(buf, len, out, err);
}

int
stance_file_read(const char *path, StanceRecording **out, StanceError *err)
{
  if (out)
    *out = NULL;
  if (!path || !out)
    return stance_error_set(err, STANCE_EINVAL, "no file name or output given");
  FILE *f = fopen(path, "rb");
  if (!f)
    return stance_error_set(err, STANCE_EIO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return stance_error_set(err, STANCE_EIO, "cannot read '%s': %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    return stance_error_set(err, STANCE_EIO, "cannot read '%s': not a regular file", path);
  }
  if ((uintmax_t)st.st_size > SIZE_MAX) {
    fclose(f);
    return stance_error_set(err, STANCE_ERANGE, "cannot read '%s': %jd bytes is too large", path,
                            (intmax_t)st.st_size);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    fclose(f);
    return stance_error_set(err, STANCE_ENOMEM, "cannot read '%s': out of memory for %zu bytes",
                            path, size);
  }
  errno = 0;
  size_t got = fread(buf, 1, size, f);
  int e = errno;
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    return stance_error_set(err, STANCE_EIO, "cannot read '%s': %s", path,
                            e ? strerror(e) : "read error");
  }
  /* A file that shrank meanwhile reads short; decode reports it as truncated. */
  int r = stance_file_decode(buf, got, out, err);
  free(buf);
  if (r < 0)
    stance_error_prefix(err, "%s: ", path);
  return r;
}
