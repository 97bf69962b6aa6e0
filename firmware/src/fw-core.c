/* fw-core.c: command handling, streaming state and frame building (see fw-core.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sample indices. Every ADC conversion since START has an index, dropped ones included: the
 * producer counts drops in the FIFO and attaches the count to the next sample it manages to store
 * (FwSample.dropped_before), so the consumer knows each popped sample's index exactly:
 * next_index + dropped_before. A frame's samples are contiguous in index, so a frame ends before
 * any sample that follows a drop; that sample opens the next frame, which carries the drop count
 * in `dropped` and the OVERFLOW flag. dropped_before saturates at 65535 (16 s of a host that stops
 * reading at 4 kHz): from then on the board could no longer place samples exactly, so it ends the
 * stream itself with a FINAL frame rather than send samples at a wrong time.
 *
 * STOP silences the producer; the samples still waiting then leave at once in ordinary frames,
 * followed by one FINAL frame without samples whose first-sample index is the stream's total (the
 * STOP reply's count). Drops after the last stored sample are placed by that index, with
 * `dropped` and OVERFLOW set on the FINAL frame (docs/protocol.md, sections 4 and 9).
 *
 * Flush timing: the consumer notes when it first sees a non-empty FIFO (oldest_us) and sends a
 * partial frame once FW_CORE_FLUSH_US have passed since; the sample may have waited up to one
 * main-loop iteration longer, which is microseconds on the board. Samples left behind by a frame
 * keep that clock (they are no older than the ones sent), so none waits longer than the limit.
 */
#include "fw-core.h"

#include "stance-bytes.h"

#include <string.h>

#define FW_CORE_PING_MAX 32u
#define FW_CORE_ADC_BITS 24
#define FW_CORE_COUNT_MAX 0x7FFFFF
#define FW_CORE_COUNT_MIN (-0x800000)
#define FW_FIFO_SLOT_MASK (FW_FIFO_CAPACITY - 1u)

_Static_assert(STANCE_WIRE_CHANNELS == 8, "FwSample holds 8 channels");

/* ---- helpers ---- */

static bool
ident_ok(const char *s, size_t max, bool serial)
{
  if (s == NULL)
    return false;
  size_t n = 0;
  for (; s[n]; n++) {
    char ch = s[n];
    if (n >= max)
      return false;
    if (serial && !((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= 'a' && ch <= 'z') || ch == '-'))
      return false;
    if (!serial && (ch < 0x20 || ch == 0x7F))
      return false;
  }
  return n > 0;
}

/* The consumer's view of the slot at the FIFO's tail without popping it (only the consumer moves
 * tail, and a slot below head is published, so reading it is safe against the producer). */
static const FwSample *
fifo_peek(const FwFifo *f, uint32_t ahead)
{
  uint32_t tail = f->tail;
  uint32_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
  if (head - tail <= ahead)
    return NULL;
  return &f->slot[(tail + ahead) & FW_FIFO_SLOT_MASK];
}

/* Samples the stream has produced so far, drops included (valid once the producer is stopped). */
static uint64_t
stream_total(const FwCore *c)
{
  uint64_t total = c->next_index;
  const FwSample *s;
  for (uint32_t i = 0; (s = fifo_peek(&c->fifo, i)) != NULL; i++)
    total += 1u + s->dropped_before;
  return total + c->fifo.pending_drops;
}

static bool
calib_stored(FwCore *c, uint8_t block[STANCE_WIRE_CALIB_SIZE])
{
  if (!c->hw.calib_read(c->hw.ctx, block, STANCE_WIRE_CALIB_SIZE))
    return false;
  return stance_wire_calib_check(block, STANCE_WIRE_CALIB_SIZE, NULL) == 0;
}

/* ---- public ---- */

bool
fw_core_init(FwCore *c, const FwPlatform *hw, const FwIdentity *id)
{
  memset(c, 0, sizeof *c);
  if (hw == NULL || id == NULL)
    return false;
  /* Every hook is required: the board has them all, and a test double must say what each does. */
  if (!hw->set_rate || !hw->adc_start || !hw->adc_stop || !hw->calib_write || !hw->calib_read ||
      !hw->request_reset || !hw->now_us)
    return false;
  if (!ident_ok(id->serial, 24, true) || !ident_ok(id->firmware_version, 16, false) ||
      !ident_ok(id->hardware, 24, false))
    return false;
  c->hw = *hw;
  c->id = *id;
  fw_fifo_init(&c->fifo);
  c->rate_code = STANCE_WIRE_RATE_1000;
  return true;
}

void
fw_core_push_sample(FwCore *c, const int32_t counts[STANCE_WIRE_CHANNELS], uint8_t sat,
                    uint8_t status)
{
  if (!c->streaming)
    return;
  fw_fifo_push(&c->fifo, counts, sat, status);
}

/* Ends the stream from the consumer side (STOP, or drops the board can no longer count). The
 * producer is silenced first so the FIFO no longer moves. */
static void
stream_end(FwCore *c)
{
  c->streaming = false;
  c->hw.adc_stop(c->hw.ctx);
  c->final_pending = true;
  c->oldest_valid = false;
}

bool
fw_core_poll_frame(FwCore *c, uint8_t out[STANCE_WIRE_FRAME_SIZE])
{
  uint32_t waiting = fw_fifo_count(&c->fifo);
  if (!c->final_pending) {
    if (!c->streaming || waiting == 0) {
      c->oldest_valid = false;
      return false;
    }
    uint32_t now = c->hw.now_us(c->hw.ctx);
    if (!c->oldest_valid) {
      c->oldest_us = now;
      c->oldest_valid = true;
    }
    if (waiting < STANCE_WIRE_SAMPLES_PER_FRAME &&
        (uint32_t)(now - c->oldest_us) < FW_CORE_FLUSH_US)
      return false;
  }
  /* After STOP nothing more arrives: whatever waits goes out at once, then the FINAL frame. */

  StanceWireFrame f;
  memset(&f, 0, sizeof f);
  f.rate_code = (uint8_t)c->rate_code;
  f.first_sample = c->next_index;

  const FwSample *head = fifo_peek(&c->fifo, 0);
  if (head != NULL && head->dropped_before == UINT16_MAX) {
    /* The drop count saturated: this sample and the ones after it can no longer be placed, so the
     * stream ends here; the FINAL frame's index is then a lower bound (as is a STOP total). */
    if (c->streaming)
      stream_end(c);
    fw_fifo_init(&c->fifo);
    f.flags = STANCE_WIRE_FRAME_FINAL | STANCE_WIRE_FRAME_OVERFLOW;
    f.dropped = UINT16_MAX;
    f.first_sample = c->next_index + UINT16_MAX;
    c->next_index = f.first_sample;
    c->final_pending = false;
  } else if (head == NULL) {
    /* Only reached after STOP with an empty FIFO: the FINAL frame. It carries no samples; its
     * first index is the stream's total, so drops after the last stored sample are placed too. */
    uint32_t trailing = c->fifo.pending_drops;
    f.flags = STANCE_WIRE_FRAME_FINAL;
    if (trailing > 0) {
      f.flags |= STANCE_WIRE_FRAME_OVERFLOW;
      f.dropped = trailing > UINT16_MAX ? (uint16_t)UINT16_MAX : (uint16_t)trailing;
      f.first_sample = c->next_index + trailing;
      c->fifo.pending_drops = 0;
    }
    c->next_index = f.first_sample;
    c->final_pending = false;
  } else {
    unsigned n = 0;
    FwSample s;
    const FwSample *peek;
    while (n < STANCE_WIRE_SAMPLES_PER_FRAME && (peek = fifo_peek(&c->fifo, 0)) != NULL) {
      if (n > 0 && peek->dropped_before > 0)
        break; /* keep the frame contiguous: the drop opens the next frame */
      fw_fifo_pop(&c->fifo, &s);
      if (n == 0 && s.dropped_before > 0) {
        f.dropped = s.dropped_before;
        f.flags |= STANCE_WIRE_FRAME_OVERFLOW;
        f.first_sample = c->next_index + s.dropped_before;
      }
      for (int ch = 0; ch < STANCE_WIRE_CHANNELS; ch++) {
        int32_t v = s.counts[ch];
        /* The ADC cannot produce more than 24 bits; clamp what a faulty producer passes and
         * flag it as a rail so the frame always encodes. */
        if (v > FW_CORE_COUNT_MAX || v < FW_CORE_COUNT_MIN) {
          v = v > 0 ? FW_CORE_COUNT_MAX : FW_CORE_COUNT_MIN;
          s.sat |= (uint8_t)(1u << ch);
        }
        f.counts[n][ch] = v;
      }
      f.sat[n] = s.sat;
      f.status[n] = s.status;
      n++;
    }
    f.n_samples = (uint8_t)n;
    c->next_index = f.first_sample + n;
  }

  f.seq = c->seq++;
  if (stance_wire_frame_encode(&f, out, NULL) != 0)
    return false; /* unreachable: every field was range-checked above */
  c->frames_sent++;
  /* Samples left behind (more than 18 waiting, or a frame cut short by a drop) are no older than
   * the ones just sent, so the flush clock keeps running for them. */
  if (fw_fifo_count(&c->fifo) == 0)
    c->oldest_valid = false;
  return true;
}

/* Writes the reply; payload may be NULL when len is 0. Never fails when cap is at least
 * STANCE_WIRE_MSG_MAX (fw-core.h asks for that); a smaller buffer gets nothing (0) rather than a
 * reply that would lose its payload. */
static size_t
reply(uint8_t op, uint16_t tag, uint8_t status, const uint8_t *payload, uint16_t len, uint8_t *out,
      size_t cap)
{
  int n = stance_wire_msg_encode(true, op, tag, status, payload, len, out, cap, NULL);
  return n > 0 ? (size_t)n : 0;
}

/* The checks most commands open with, in this order: BUSY while streaming, BAD_ARG when the
 * payload is not len bytes; STANCE_WIRE_ST_OK when both pass. */
static uint8_t
stopped_with_len(const FwCore *c, const StanceWireMsg *m, uint16_t len)
{
  if (c->streaming)
    return STANCE_WIRE_ST_BUSY;
  if (m->len != len)
    return STANCE_WIRE_ST_BAD_ARG;
  return STANCE_WIRE_ST_OK;
}

static size_t
handle_info(FwCore *c, const StanceWireMsg *m, uint8_t *out, size_t cap)
{
  StanceWireInfo info;
  memset(&info, 0, sizeof info);
  info.major = STANCE_WIRE_PROTO_MAJOR;
  info.minor = STANCE_WIRE_PROTO_MINOR;
  strncpy(info.firmware_version, c->id.firmware_version, sizeof info.firmware_version - 1);
  strncpy(info.serial, c->id.serial, sizeof info.serial - 1);
  strncpy(info.hardware, c->id.hardware, sizeof info.hardware - 1);
  info.channels = STANCE_WIRE_CHANNELS;
  info.adc_bits = FW_CORE_ADC_BITS;
  info.n_rates = STANCE_WIRE_N_RATES;
  for (int r = 0; r < STANCE_WIRE_N_RATES; r++)
    info.rates_hz[r] = stance_wire_rate_hz(r);
  info.current_rate_code = (uint8_t)c->rate_code;
  uint8_t block[STANCE_WIRE_CALIB_SIZE];
  info.flags = (uint8_t)((c->streaming ? STANCE_WIRE_INFO_STREAMING : 0) |
                         (calib_stored(c, block) ? STANCE_WIRE_INFO_HAS_CALIB : 0));
  info.samples_per_frame = STANCE_WIRE_SAMPLES_PER_FRAME;
  info.vref_uv = c->id.vref_uv;
  info.pga_gain = c->id.pga_gain;

  uint8_t payload[128];
  int len = stance_wire_info_encode(&info, payload, sizeof payload, NULL);
  if (len < 0) /* unreachable: the identity was checked by fw_core_init() */
    return reply(m->op, m->tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
  return reply(m->op, m->tag, STANCE_WIRE_ST_OK, payload, (uint16_t)len, out, cap);
}

size_t
fw_core_handle_command(FwCore *c, const uint8_t *cmd, size_t len, uint8_t *out, size_t cap)
{
  StanceWireMsg m;
  int rc = stance_wire_msg_decode(cmd, len, &m, NULL);
  if (rc != 0 || m.is_reply || m.status != 0) {
    /* Echo what can be read of the header so the host can match the error to its command. */
    uint8_t op = len >= 4 ? cmd[3] : 0;
    uint16_t tag = len >= 6 ? (uint16_t)(cmd[4] | (cmd[5] << 8)) : 0;
    uint8_t st = rc == STANCE_ECORRUPT ? STANCE_WIRE_ST_BAD_CRC : STANCE_WIRE_ST_BAD_MSG;
    return reply(op, tag, st, NULL, 0, out, cap);
  }

  /* INFO is frozen across majors: it is answered whatever the sender's version. */
  if (m.op == STANCE_WIRE_OP_INFO) {
    if (m.len != 0)
      return reply(m.op, m.tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
    return handle_info(c, &m, out, cap);
  }
  if (m.major != STANCE_WIRE_PROTO_MAJOR)
    return reply(m.op, m.tag, STANCE_WIRE_ST_VERSION, NULL, 0, out, cap);

  uint8_t st;
  switch (m.op) {
  case STANCE_WIRE_OP_PING:
    if (m.len > FW_CORE_PING_MAX)
      return reply(m.op, m.tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, m.payload, m.len, out, cap);

  case STANCE_WIRE_OP_SET_RATE: {
    if ((st = stopped_with_len(c, &m, 4)) != STANCE_WIRE_ST_OK)
      return reply(m.op, m.tag, st, NULL, 0, out, cap);
    int code = stance_wire_rate_code(stance_get_le32(m.payload));
    if (code < 0 || !c->hw.set_rate(c->hw.ctx, code))
      return reply(m.op, m.tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
    c->rate_code = code;
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, NULL, 0, out, cap);
  }

  case STANCE_WIRE_OP_START:
    if ((st = stopped_with_len(c, &m, 0)) != STANCE_WIRE_ST_OK)
      return reply(m.op, m.tag, st, NULL, 0, out, cap);
    /* A new stream: whatever the previous one left unsent (its FINAL frame included) is gone. */
    fw_fifo_init(&c->fifo);
    c->seq = 0;
    c->next_index = 0;
    c->final_pending = false;
    c->oldest_valid = false;
    c->streaming = true; /* before the ADC starts, so its first conversion is sample 0 */
    if (!c->hw.adc_start(c->hw.ctx)) {
      c->streaming = false;
      c->hw.adc_stop(c->hw.ctx);
      fw_fifo_init(&c->fifo);
      return reply(m.op, m.tag, STANCE_WIRE_ST_BUSY, NULL, 0, out, cap);
    }
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, NULL, 0, out, cap);

  case STANCE_WIRE_OP_STOP: {
    if (!c->streaming)
      return reply(m.op, m.tag, STANCE_WIRE_ST_NOT_STREAMING, NULL, 0, out, cap);
    if (m.len != 0)
      return reply(m.op, m.tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
    stream_end(c);
    uint8_t total[8];
    stance_put_le64(total, stream_total(c));
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, total, sizeof total, out, cap);
  }

  case STANCE_WIRE_OP_READ_CALIB: {
    if ((st = stopped_with_len(c, &m, 0)) != STANCE_WIRE_ST_OK)
      return reply(m.op, m.tag, st, NULL, 0, out, cap);
    uint8_t block[STANCE_WIRE_CALIB_SIZE];
    if (!calib_stored(c, block))
      return reply(m.op, m.tag, STANCE_WIRE_ST_NO_CALIB, NULL, 0, out, cap);
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, block, sizeof block, out, cap);
  }

  case STANCE_WIRE_OP_WRITE_CALIB:
    if (c->streaming)
      return reply(m.op, m.tag, STANCE_WIRE_ST_BUSY, NULL, 0, out, cap);
    if (stance_wire_calib_check(m.payload, m.len, NULL) != 0)
      return reply(m.op, m.tag, STANCE_WIRE_ST_BAD_ARG, NULL, 0, out, cap);
    if (!c->hw.calib_write(c->hw.ctx, m.payload, m.len))
      return reply(m.op, m.tag, STANCE_WIRE_ST_FLASH, NULL, 0, out, cap);
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, NULL, 0, out, cap);

  case STANCE_WIRE_OP_RESET:
    if ((st = stopped_with_len(c, &m, 0)) != STANCE_WIRE_ST_OK)
      return reply(m.op, m.tag, st, NULL, 0, out, cap);
    c->hw.request_reset(c->hw.ctx);
    return reply(m.op, m.tag, STANCE_WIRE_ST_OK, NULL, 0, out, cap);

  default: return reply(m.op, m.tag, STANCE_WIRE_ST_UNKNOWN_OP, NULL, 0, out, cap);
  }
}
