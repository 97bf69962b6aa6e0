/* fuzz-wire.c: libFuzzer target of the USB wire codec (stance-wire.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (tests/meson.build) and run by the meson
 * test 'fuzz-wire' (suite 'fuzz') for a bounded number of runs from the seed corpus in
 * tests/data/wire-corpus/ (real encodings written by `test-wire --write-corpus`). By hand:
 *
 *   build/tests/fuzz-wire -runs=5000000 tests/data/wire-corpus
 *
 * (give a scratch directory first to keep the new inputs libFuzzer finds out of the source tree:
 * `build/tests/fuzz-wire /tmp/wire-new tests/data/wire-corpus`).
 *
 * Each input goes through every decoder. Properties checked (any violation aborts, which libFuzzer
 * reports as a crash with the input saved):
 *   - a decoder returns 0 or one of the negative codes its header names, and a refusal always
 *     comes with a message;
 *   - whatever decodes re-encodes to exactly the same bytes (the encodings are canonical: one
 *     value, one encoding), and a decoded message's INFO or calibration payload too;
 *   - calib_decode accepts only what calib_check accepts;
 *   - the stream tracker, fed both the decoded frames and frames made up from the input's bytes,
 *     keeps its invariants, and a refused frame leaves it unchanged.
 * Every input is also tried with its CRCs recomputed, so the checks behind the CRC get fuzzed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz-wire: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* A refusal: one of the allowed codes, with a message. */
static void
check_refusal(int r, const StanceError *err, int a, int b, int c, int d)
{
  CHECK(r == a || r == b || r == c || r == d);
  CHECK(err->code == r);
  CHECK(err->message[0] != '\0');
  CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
}

static void
check_tracker(const StanceWireTracker *t)
{
  if (!t->started) {
    CHECK(t->frames == 0 && t->samples == 0 && t->samples_gap == 0);
    return;
  }
  CHECK(t->samples + t->samples_gap == t->next_sample);
  CHECK((uint32_t)(t->frames + t->frames_lost) == t->next_seq);
  CHECK(t->board_dropped <= t->samples_gap);
  CHECK(t->rate_code < STANCE_WIRE_N_RATES);
}

/* Accepts f, checking the outcome either way. */
static void
track(StanceWireTracker *t, const StanceWireFrame *f)
{
  StanceWireTracker before = *t;
  StanceError err;
  uint64_t gap = 1;
  int r = stance_wire_tracker_accept(t, f, &gap, &err);
  if (r == 0) {
    CHECK(t->frames == before.frames + 1);
    CHECK(t->samples == before.samples + f->n_samples);
    CHECK(t->samples_gap == before.samples_gap + gap);
    CHECK(t->next_sample == f->first_sample + f->n_samples);
    CHECK(t->next_seq == f->seq + 1u);
    CHECK(gap >= f->dropped);
  } else {
    check_refusal(r, &err, STANCE_EFORMAT, STANCE_EINVAL, STANCE_EFORMAT, STANCE_EFORMAT);
    CHECK(memcmp(&before, t, sizeof before) == 0);
    CHECK(gap == 0);
  }
  check_tracker(t);
}

static void
fuzz_frame(const uint8_t *data, size_t size, StanceWireTracker *t)
{
  StanceWireFrame f;
  StanceError err;
  int r = stance_wire_frame_decode(data, size, &f, &err);
  if (r < 0) {
    check_refusal(r, &err, STANCE_ETRUNC, STANCE_EFORMAT, STANCE_ECORRUPT, STANCE_EVERSION);
    stance_wire_tracker_refuse(t);
    return;
  }
  CHECK(size == STANCE_WIRE_FRAME_SIZE);
  uint8_t again[STANCE_WIRE_FRAME_SIZE];
  CHECK(stance_wire_frame_encode(&f, again, &err) == 0);
  CHECK(memcmp(again, data, size) == 0);
  for (unsigned s = 0; s < f.n_samples; s++)
    for (unsigned c = 0; c < STANCE_WIRE_CHANNELS; c++)
      CHECK(f.counts[s][c] >= -8388608 && f.counts[s][c] <= 8388607);
  track(t, &f);
}

static void
fuzz_info(const uint8_t *data, size_t size)
{
  StanceWireInfo info;
  StanceError err;
  int r = stance_wire_info_decode(data, size, &info, &err);
  if (r < 0) {
    check_refusal(r, &err, STANCE_ETRUNC, STANCE_EFORMAT, STANCE_EVERSION, STANCE_EVERSION);
    if (r == STANCE_EVERSION)
      CHECK(info.major == data[0] && info.minor == data[1] && info.major != 1);
    return;
  }
  CHECK(info.major == STANCE_WIRE_PROTO_MAJOR);
  CHECK(memchr(info.serial, '\0', sizeof info.serial) != NULL);
  uint8_t again[128];
  int n = stance_wire_info_encode(&info, again, sizeof again, &err);
  CHECK(n > 0 && (size_t)n <= size);
  CHECK(memcmp(again, data, (size_t)n) == 0); /* bytes after n: a later minor's, ignored */
}

static void
fuzz_calib(const uint8_t *data, size_t size)
{
  StanceWireCalib c;
  StanceError err;
  int rc = stance_wire_calib_check(data, size, &err);
  if (rc < 0)
    check_refusal(rc, &err, STANCE_ETRUNC, STANCE_EFORMAT, STANCE_ECORRUPT, STANCE_EVERSION);
  int r = stance_wire_calib_decode(data, size, &c, &err);
  if (r < 0) {
    check_refusal(r, &err, STANCE_ETRUNC, STANCE_EFORMAT, STANCE_ECORRUPT, STANCE_EVERSION);
    /* Either the same refusal as the check, or the check passed and a double is bad. */
    CHECK(r == rc || (rc == 0 && r == STANCE_EFORMAT));
    return;
  }
  CHECK(rc == 0);
  uint8_t again[STANCE_WIRE_CALIB_SIZE];
  CHECK(stance_wire_calib_encode(&c, again, sizeof again, &err) == 0);
  CHECK(memcmp(again, data, sizeof again) == 0);
}

static void
fuzz_msg(const uint8_t *data, size_t size)
{
  StanceWireMsg m;
  StanceError err;
  int r = stance_wire_msg_decode(data, size, &m, &err);
  if (r < 0) {
    check_refusal(r, &err, STANCE_ETRUNC, STANCE_EFORMAT, STANCE_ECORRUPT, STANCE_ECORRUPT);
    return;
  }
  CHECK(size == STANCE_WIRE_MSG_HEADER + (size_t)m.len + 4);
  CHECK(m.payload == data + STANCE_WIRE_MSG_HEADER);
  uint8_t again[STANCE_WIRE_MSG_MAX];
  int n = stance_wire_msg_encode_major(m.major, m.is_reply, m.op, m.tag, m.status, m.payload, m.len,
                                       again, sizeof again, &err);
  CHECK(n == (int)size);
  CHECK(memcmp(again, data, size) == 0);
  /* The payloads the host decodes further. */
  if (m.op == STANCE_WIRE_OP_INFO)
    fuzz_info(m.payload, m.len);
  if (m.op == STANCE_WIRE_OP_READ_CALIB || m.op == STANCE_WIRE_OP_WRITE_CALIB)
    fuzz_calib(m.payload, m.len);
}

/* Frames made up from the input, 8 bytes each, relative to what the tracker expects, so the
 * tracker sees in-order frames, losses, drops, duplicates, rate changes and wraps. */
static void
fuzz_tracker(const uint8_t *data, size_t size)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    const uint8_t *p = data + i;
    StanceWireFrame f;
    memset(&f, 0, sizeof f);
    f.seq = t.next_seq + (uint32_t)(int8_t)p[0];
    if (p[7] == 0xFF) /* now and then a sequence number anywhere, e.g. across the wrap */
      f.seq = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    int16_t ds = (int16_t)(p[1] | p[2] << 8);
    f.first_sample = t.next_sample + (uint64_t)(int64_t)ds;
    if (p[7] == 0xFE)
      f.first_sample = UINT64_MAX - p[1];
    f.n_samples = p[3] % 19;
    f.rate_code = p[4] % 5 == 4 ? t.rate_code : p[4] % 5;
    f.rate_code %= STANCE_WIRE_N_RATES;
    f.dropped = (uint16_t)(p[5] | p[6] << 8);
    f.flags = (uint8_t)((f.dropped ? STANCE_WIRE_FRAME_OVERFLOW : 0) |
                        (f.n_samples == 0 ? STANCE_WIRE_FRAME_FINAL : 0));
    track(&t, &f);
    if (p[7] == 0xFD)
      stance_wire_tracker_refuse(&t);
  }
}

/* Writes the CRC of p[0..at) at p + at. */
static void
reseal(uint8_t *p, size_t at)
{
  uint32_t c = stance_wire_crc32(0, p, at);
  for (int i = 0; i < 4; i++)
    p[at + i] = (uint8_t)(c >> (8 * i));
}

/* A CRC-32 stops nearly every mutation at the first check, so each input is also tried with its
 * CRCs made right: the field checks behind the CRC are fuzzed too. */
static void
fuzz_resealed(const uint8_t *data, size_t size, StanceWireTracker *t)
{
  uint8_t copy[STANCE_WIRE_FRAME_SIZE];
  if (size < STANCE_WIRE_MSG_HEADER + 4 || size > sizeof copy)
    return;
  memcpy(copy, data, size);
  if (size == STANCE_WIRE_FRAME_SIZE) {
    reseal(copy, STANCE_WIRE_FRAME_SIZE - 4);
    fuzz_frame(copy, size, t);
    memcpy(copy, data, size);
  }
  if (size == STANCE_WIRE_CALIB_SIZE) {
    reseal(copy, STANCE_WIRE_CALIB_SIZE - 4);
    fuzz_calib(copy, size);
    memcpy(copy, data, size);
  }
  size_t len = (size_t)(copy[8] | copy[9] << 8);
  if (STANCE_WIRE_MSG_HEADER + len + 4 == size) {
    if (len == STANCE_WIRE_CALIB_SIZE)
      reseal(copy + STANCE_WIRE_MSG_HEADER, STANCE_WIRE_CALIB_SIZE - 4);
    reseal(copy, STANCE_WIRE_MSG_HEADER + len);
    fuzz_msg(copy, size);
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  StanceWireTracker t;
  stance_wire_tracker_init(&t);
  fuzz_frame(data, size, &t);
  /* A transfer of several frames, cut into 512-byte frames as a host does. */
  if (size > STANCE_WIRE_FRAME_SIZE)
    for (size_t off = 0; off + STANCE_WIRE_FRAME_SIZE <= size; off += STANCE_WIRE_FRAME_SIZE)
      fuzz_frame(data + off, STANCE_WIRE_FRAME_SIZE, &t);
  fuzz_msg(data, size);
  fuzz_info(data, size);
  fuzz_calib(data, size);
  fuzz_resealed(data, size, &t);
  fuzz_tracker(data, size);
  return 0;
}
