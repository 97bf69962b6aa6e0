/* test-fw-core.c: the board's command handling and frame building against a fake platform.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every command and every status of docs/protocol.md (sections 5, 8 and 9), the INFO fields, and
 * the stream: sample indices, full 18-sample frames, the 10 ms flush on a fake clock, the FINAL
 * frame after STOP and the STOP count, drops after a FIFO overflow (indices, `dropped`, OVERFLOW,
 * contiguous frames), sequence numbers and their wrap, and START's reset. Frames are checked by
 * decoding them with the shared codec and by running them through the host's stream tracker, so
 * the firmware's framing and the host's placement rules are tested against each other.
 * Samples carry their own index in their counts (sample k: channel c = k * 8 + c), so every
 * decoded sample is checked against the index the frame gives it.
 */
#include <string.h>

#include "fw-core.h"
#include "fw-test.h"
#include "stance-wire.h"

/* ---- Fake platform ---- */

typedef struct {
  int rate_code;
  bool adc_running;
  unsigned set_rate_calls, start_calls, stop_calls, write_calls, reset_calls;
  bool fail_set_rate, fail_start, fail_write;
  bool has_calib;
  uint8_t flash[STANCE_WIRE_CALIB_SIZE];
  uint32_t now;
} Fake;

static Fake fake;
static FwCore core;

static bool
fk_set_rate(void *ctx, int code)
{
  Fake *f = ctx;
  f->set_rate_calls++;
  FW_CHECK(!f->adc_running); /* only while stopped */
  if (f->fail_set_rate)
    return false;
  f->rate_code = code;
  return true;
}

static bool
fk_adc_start(void *ctx)
{
  Fake *f = ctx;
  f->start_calls++;
  if (f->fail_start)
    return false;
  f->adc_running = true;
  return true;
}

static bool
fk_adc_stop(void *ctx)
{
  Fake *f = ctx;
  f->stop_calls++;
  f->adc_running = false;
  return true;
}

static bool
fk_calib_write(void *ctx, const uint8_t *block, size_t len)
{
  Fake *f = ctx;
  f->write_calls++;
  FW_CHECK_EQ(len, STANCE_WIRE_CALIB_SIZE);
  if (f->fail_write || len != sizeof f->flash)
    return false;
  memcpy(f->flash, block, len);
  f->has_calib = true;
  return true;
}

static bool
fk_calib_read(void *ctx, uint8_t *out, size_t len)
{
  Fake *f = ctx;
  if (!f->has_calib || len != sizeof f->flash)
    return false;
  memcpy(out, f->flash, len);
  return true;
}

static void
fk_request_reset(void *ctx)
{
  ((Fake *)ctx)->reset_calls++;
}

static uint32_t
fk_now_us(void *ctx)
{
  return ((Fake *)ctx)->now;
}

static const FwPlatform fake_platform = {
    .ctx = &fake,
    .set_rate = fk_set_rate,
    .adc_start = fk_adc_start,
    .adc_stop = fk_adc_stop,
    .calib_write = fk_calib_write,
    .calib_read = fk_calib_read,
    .request_reset = fk_request_reset,
    .now_us = fk_now_us,
};

static const FwIdentity ident = {
    .serial = "0D1R6WS30CTH1403M01F",
    .firmware_version = "0.1.0",
    .hardware = "stance-f411-ads131m08",
    .vref_uv = 1200000,
    .pga_gain = 128,
};

static void
setup(void)
{
  memset(&fake, 0, sizeof fake);
  fake.rate_code = -1;
  fake.now = 1000;
  FW_CHECK(fw_core_init(&core, &fake_platform, &ident));
}

/* ---- Commands ---- */

typedef struct {
  size_t len;
  uint8_t bytes[STANCE_WIRE_MSG_MAX];
  StanceWireMsg msg;
  bool decoded;
} Reply;

static Reply rep;
static uint16_t next_tag = 1;

/* Sends raw bytes as one command; decodes the reply into rep. */
static void
send_raw(const uint8_t *cmd, size_t len)
{
  memset(&rep, 0, sizeof rep);
  rep.len = fw_core_handle_command(&core, cmd, len, rep.bytes, sizeof rep.bytes);
  FW_CHECK(rep.len > 0 && rep.len <= sizeof rep.bytes);
  rep.decoded = stance_wire_msg_decode(rep.bytes, rep.len, &rep.msg, NULL) == 0;
  FW_CHECK(rep.decoded);
  FW_CHECK(rep.msg.is_reply);
  FW_CHECK_EQ(rep.msg.major, STANCE_WIRE_PROTO_MAJOR); /* the board's own major, always */
  /* docs/protocol.md: a reply other than OK has no payload. */
  if (rep.msg.status != STANCE_WIRE_ST_OK)
    FW_CHECK_EQ(rep.msg.len, 0);
}

/* Sends op with the given major and payload; checks the echo; returns the reply status. */
static int
send_major(uint8_t major, uint8_t op, const void *payload, uint16_t len)
{
  uint8_t cmd[STANCE_WIRE_MSG_MAX];
  uint16_t tag = next_tag++;
  int n =
      stance_wire_msg_encode_major(major, false, op, tag, 0, payload, len, cmd, sizeof cmd, NULL);
  FW_CHECK(n > 0);
  send_raw(cmd, (size_t)n);
  FW_CHECK_EQ(rep.msg.op, op);
  FW_CHECK_EQ(rep.msg.tag, tag);
  return rep.msg.status;
}

static int
cmd_send(uint8_t op, const void *payload, uint16_t len)
{
  return send_major(STANCE_WIRE_PROTO_MAJOR, op, payload, len);
}

static int
set_rate(uint32_t hz)
{
  uint8_t p[4] = {(uint8_t)hz, (uint8_t)(hz >> 8), (uint8_t)(hz >> 16), (uint8_t)(hz >> 24)};
  return cmd_send(STANCE_WIRE_OP_SET_RATE, p, 4);
}

static uint64_t
reply_u64(void)
{
  uint64_t v = 0;
  FW_CHECK_EQ(rep.msg.len, 8);
  for (int i = 7; i >= 0 && rep.msg.len == 8; i--)
    v = (v << 8) | rep.msg.payload[i];
  return v;
}

static bool
get_info(StanceWireInfo *info)
{
  if (cmd_send(STANCE_WIRE_OP_INFO, NULL, 0) != STANCE_WIRE_ST_OK)
    return false;
  return stance_wire_info_decode(rep.msg.payload, rep.msg.len, info, NULL) == 0;
}

static void
test_init_identity(void)
{
  static FwCore c;
  FwIdentity id = ident;
  FW_CHECK(fw_core_init(&c, &fake_platform, &id));
  FW_CHECK(!c.streaming);
  FW_CHECK_EQ(c.rate_code, STANCE_WIRE_RATE_1000); /* 1000 Hz after power-up */
  id.serial = "SN 42";                             /* a space is not [0-9A-Za-z-] */
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  id.serial = "";
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  id.serial = "0123456789012345678901234"; /* 25 characters */
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  id.serial = "012345678901234567890123"; /* 24: fits */
  FW_CHECK(fw_core_init(&c, &fake_platform, &id));
  id.serial = NULL;
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  id = ident;
  id.firmware_version = "0.1.0-and-much-more"; /* 19 > 16 */
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  id = ident;
  id.hardware = "stance-f411-ads131m08-rev-b"; /* 27 > 24 */
  FW_CHECK(!fw_core_init(&c, &fake_platform, &id));
  FwPlatform hw = fake_platform;
  hw.now_us = NULL;
  FW_CHECK(!fw_core_init(&c, &hw, &ident));
  FW_CHECK(!fw_core_init(&c, NULL, &ident));
  FW_CHECK(!fw_core_init(&c, &fake_platform, NULL));
}

static void
test_info(void)
{
  setup();
  StanceWireInfo info;
  FW_CHECK(get_info(&info));
  FW_CHECK_EQ(info.major, STANCE_WIRE_PROTO_MAJOR);
  FW_CHECK_EQ(info.minor, STANCE_WIRE_PROTO_MINOR);
  FW_CHECK(strcmp(info.serial, "0D1R6WS30CTH1403M01F") == 0);
  FW_CHECK(strcmp(info.firmware_version, "0.1.0") == 0);
  FW_CHECK(strcmp(info.hardware, "stance-f411-ads131m08") == 0);
  FW_CHECK_EQ(info.channels, 8);
  FW_CHECK_EQ(info.adc_bits, 24);
  FW_CHECK_EQ(info.n_rates, 4);
  FW_CHECK_EQ(info.rates_hz[0], 500);
  FW_CHECK_EQ(info.rates_hz[1], 1000);
  FW_CHECK_EQ(info.rates_hz[2], 2000);
  FW_CHECK_EQ(info.rates_hz[3], 4000);
  FW_CHECK_EQ(info.current_rate_code, STANCE_WIRE_RATE_1000);
  FW_CHECK_EQ(info.flags, 0);
  FW_CHECK_EQ(info.samples_per_frame, 18);
  FW_CHECK_EQ(info.vref_uv, 1200000);
  FW_CHECK_EQ(info.pga_gain, 128);
  FW_CHECK_EQ(rep.msg.len, 77 + 4 * 4); /* docs: 77 + 4R bytes */

  /* INFO is answered whatever the command's major, with the board's own major. */
  FW_CHECK_EQ(send_major(2, STANCE_WIRE_OP_INFO, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(rep.msg.payload[0], STANCE_WIRE_PROTO_MAJOR);
  FW_CHECK_EQ(send_major(0, STANCE_WIRE_OP_INFO, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(send_major(255, STANCE_WIRE_OP_INFO, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_INFO, "x", 1), STANCE_WIRE_ST_BAD_ARG);

  /* Flags follow the state: a valid stored block, a running stream; the rate code too. */
  StanceWireCalib cal;
  memset(&cal, 0, sizeof cal);
  strcpy(cal.board_serial, ident.serial);
  strcpy(cal.id, "cal-1");
  for (int ch = 0; ch < 8; ch++)
    cal.gain_n_per_count[ch] = 0.001;
  cal.plate[0].width_mm = cal.plate[1].width_mm = 400;
  cal.plate[0].length_mm = cal.plate[1].length_mm = 600;
  FW_CHECK_EQ(stance_wire_calib_encode(&cal, fake.flash, sizeof fake.flash, NULL), 0);
  fake.has_calib = true;
  FW_CHECK_EQ(set_rate(4000), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK(get_info(&info));
  FW_CHECK_EQ(info.flags, STANCE_WIRE_INFO_STREAMING | STANCE_WIRE_INFO_HAS_CALIB);
  FW_CHECK_EQ(info.current_rate_code, STANCE_WIRE_RATE_4000);
  fake.flash[100] ^= 0x40; /* a corrupted block is not a calibration */
  FW_CHECK(get_info(&info));
  FW_CHECK_EQ(info.flags, STANCE_WIRE_INFO_STREAMING);
}

static void
test_version_refusal(void)
{
  setup();
  /* Every command but INFO with another major: VERSION, opcode and tag echoed, no effect. */
  static const uint8_t ops[] = {STANCE_WIRE_OP_PING,       STANCE_WIRE_OP_SET_RATE,
                                STANCE_WIRE_OP_START,      STANCE_WIRE_OP_STOP,
                                STANCE_WIRE_OP_READ_CALIB, STANCE_WIRE_OP_WRITE_CALIB,
                                STANCE_WIRE_OP_RESET,      0x7E};
  for (size_t i = 0; i < sizeof ops; i++) {
    FW_CHECK_EQ(send_major(2, ops[i], NULL, 0), STANCE_WIRE_ST_VERSION);
    FW_CHECK_EQ(send_major(0, ops[i], NULL, 0), STANCE_WIRE_ST_VERSION);
  }
  FW_CHECK(!core.streaming);
  FW_CHECK_EQ(fake.start_calls, 0);
  FW_CHECK_EQ(fake.reset_calls, 0);
  FW_CHECK_EQ(fake.set_rate_calls, 0);
}

static void
test_ping(void)
{
  setup();
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_PING, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(rep.msg.len, 0);
  uint8_t p[33];
  for (int i = 0; i < 33; i++)
    p[i] = (uint8_t)(0xA0 + i);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_PING, p, 32), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(rep.msg.len, 32);
  FW_CHECK_MEM(rep.msg.payload, p, 32);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_PING, p, 33), STANCE_WIRE_ST_BAD_ARG);
  /* Allowed while streaming. */
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_PING, p, 5), STANCE_WIRE_ST_OK);
  FW_CHECK_MEM(rep.msg.payload, p, 5);
}

static void
test_malformed(void)
{
  setup();
  uint8_t cmd[64];
  int n = stance_wire_msg_encode(false, STANCE_WIRE_OP_PING, 0x1234, 0, (const uint8_t *)"ab", 2,
                                 cmd, sizeof cmd, NULL);
  FW_CHECK_EQ(n, 16);

  /* CRC mismatch: BAD_CRC, opcode and tag echoed. */
  uint8_t bad[64];
  memcpy(bad, cmd, (size_t)n);
  bad[11] ^= 0x01;
  send_raw(bad, (size_t)n);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_CRC);
  FW_CHECK_EQ(rep.msg.op, STANCE_WIRE_OP_PING);
  FW_CHECK_EQ(rep.msg.tag, 0x1234);

  /* Wrong magic, truncated, trailing byte: BAD_MSG. */
  memcpy(bad, cmd, (size_t)n);
  bad[0] = 'X';
  send_raw(bad, (size_t)n);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.tag, 0x1234);
  send_raw(cmd, (size_t)n - 1);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.op, STANCE_WIRE_OP_PING);
  FW_CHECK_EQ(rep.msg.tag, 0x1234);
  memcpy(bad, cmd, (size_t)n);
  bad[n] = 0;
  send_raw(bad, (size_t)n + 1);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);

  /* Too short to hold the tag: opcode echoed, tag 0; nothing readable: both 0. */
  send_raw(cmd, 5);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.op, STANCE_WIRE_OP_PING);
  FW_CHECK_EQ(rep.msg.tag, 0);
  send_raw(cmd, 0);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.op, 0);
  FW_CHECK_EQ(rep.msg.tag, 0);

  /* A reply sent as a command, a command with a status, a reserved byte: BAD_MSG. */
  n = stance_wire_msg_encode(true, STANCE_WIRE_OP_PING, 7, 0, NULL, 0, bad, sizeof bad, NULL);
  send_raw(bad, (size_t)n);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.tag, 7);
  /* (the codec will not encode a command with a status: patch one in and fix the CRC) */
  n = stance_wire_msg_encode(false, STANCE_WIRE_OP_PING, 8, 0, NULL, 0, bad, sizeof bad, NULL);
  FW_CHECK_EQ(n, 14);
  bad[6] = 3;
  uint32_t crc = stance_wire_crc32(0, bad, 10);
  for (int i = 0; i < 4; i++)
    bad[10 + i] = (uint8_t)(crc >> (8 * i));
  send_raw(bad, (size_t)n);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);
  FW_CHECK_EQ(rep.msg.tag, 8);
  bad[6] = 0;
  bad[7] = 1; /* reserved byte */
  crc = stance_wire_crc32(0, bad, 10);
  for (int i = 0; i < 4; i++)
    bad[10 + i] = (uint8_t)(crc >> (8 * i));
  send_raw(bad, (size_t)n);
  FW_CHECK_EQ(rep.msg.status, STANCE_WIRE_ST_BAD_MSG);

  /* Unknown opcode. */
  FW_CHECK_EQ(cmd_send(0x7E, NULL, 0), STANCE_WIRE_ST_UNKNOWN_OP);
  FW_CHECK_EQ(cmd_send(0x00, NULL, 0), STANCE_WIRE_ST_UNKNOWN_OP);
}

static void
test_set_rate(void)
{
  setup();
  static const uint32_t hz[4] = {500, 1000, 2000, 4000};
  StanceWireInfo info;
  for (int code = 0; code < 4; code++) {
    FW_CHECK_EQ(set_rate(hz[code]), STANCE_WIRE_ST_OK);
    FW_CHECK_EQ(rep.msg.len, 0);
    FW_CHECK_EQ(fake.rate_code, code);
    FW_CHECK(get_info(&info));
    FW_CHECK_EQ(info.current_rate_code, code);
  }
  FW_CHECK_EQ(set_rate(1234), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(set_rate(0), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_SET_RATE, "\xE8\x03", 2), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_SET_RATE, "\xE8\x03\0\0\0", 5), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(core.rate_code, STANCE_WIRE_RATE_4000); /* unchanged by the refusals */
  fake.fail_set_rate = true;
  FW_CHECK_EQ(set_rate(500), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(core.rate_code, STANCE_WIRE_RATE_4000);
  fake.fail_set_rate = false;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  unsigned calls = fake.set_rate_calls;
  FW_CHECK_EQ(set_rate(500), STANCE_WIRE_ST_BUSY);
  FW_CHECK_EQ(fake.set_rate_calls, calls);
}

static void
test_start_stop_states(void)
{
  setup();
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_NOT_STREAMING);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, "x", 1), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK(!core.streaming);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK(core.streaming);
  FW_CHECK(fake.adc_running);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_BUSY);
  FW_CHECK_EQ(fake.start_calls, 1);
  /* Streaming: SET_RATE, START, READ_CALIB, WRITE_CALIB, RESET are BUSY. */
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_READ_CALIB, NULL, 0), STANCE_WIRE_ST_BUSY);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_RESET, NULL, 0), STANCE_WIRE_ST_BUSY);
  FW_CHECK_EQ(fake.reset_calls, 0);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, "x", 1), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK(core.streaming);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), 0);
  FW_CHECK(!core.streaming);
  FW_CHECK(!fake.adc_running);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_NOT_STREAMING);

  /* The hardware refusing to start: the stream does not run. */
  fake.fail_start = true;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_BUSY);
  FW_CHECK(!core.streaming);
  FW_CHECK(!fake.adc_running);
}

static StanceWireCalib
make_calib(void)
{
  StanceWireCalib cal;
  memset(&cal, 0, sizeof cal);
  strcpy(cal.board_serial, ident.serial);
  strcpy(cal.id, "0D1R6WS30CTH1403M01F-2026-01-15-1");
  cal.created_unix_ms = 1768435200000;
  for (int ch = 0; ch < 8; ch++) {
    cal.offset_counts[ch] = 1000.0 * ch - 3500.5;
    cal.gain_n_per_count[ch] = 4.38e-4 + 1e-6 * ch;
  }
  for (int p = 0; p < 2; p++) {
    cal.plate[p].width_mm = 400;
    cal.plate[p].length_mm = 600;
    for (int k = 0; k < 4; k++) {
      cal.plate[p].cell_x_mm[k] = (k == 0 || k == 3) ? -180 : 180;
      cal.plate[p].cell_y_mm[k] = (k < 2) ? 280 : -280;
    }
    cal.plate[p].centre_x_mm = p == 0 ? -250 : 250;
  }
  return cal;
}

static void
test_calibration(void)
{
  setup();
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_READ_CALIB, NULL, 0), STANCE_WIRE_ST_NO_CALIB);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_READ_CALIB, "x", 1), STANCE_WIRE_ST_BAD_ARG);

  uint8_t block[STANCE_WIRE_CALIB_SIZE];
  StanceWireCalib cal = make_calib();
  FW_CHECK_EQ(stance_wire_calib_encode(&cal, block, sizeof block, NULL), 0);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, block, sizeof block), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(fake.write_calls, 1);
  FW_CHECK_MEM(fake.flash, block, sizeof block);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_READ_CALIB, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(rep.msg.len, STANCE_WIRE_CALIB_SIZE);
  FW_CHECK_MEM(rep.msg.payload, block, sizeof block);
  StanceWireCalib back;
  FW_CHECK_EQ(stance_wire_calib_decode(rep.msg.payload, rep.msg.len, &back, NULL), 0);
  FW_CHECK(strcmp(back.id, cal.id) == 0);

  /* Refused before flash is touched: a bad CRC, a wrong length, a bad magic. */
  uint8_t bad[STANCE_WIRE_CALIB_SIZE];
  memcpy(bad, block, sizeof bad);
  bad[200] ^= 0x01;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, bad, sizeof bad), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, block, sizeof block - 4),
              STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, NULL, 0), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(fake.write_calls, 1);

  /* A flash failure. */
  fake.fail_write = true;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, block, sizeof block), STANCE_WIRE_ST_FLASH);
  fake.fail_write = false;

  /* A stored block that no longer checks out is no calibration. */
  fake.flash[50] ^= 0x80;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_READ_CALIB, NULL, 0), STANCE_WIRE_ST_NO_CALIB);

  /* While streaming. */
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  unsigned calls = fake.write_calls;
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_WRITE_CALIB, block, sizeof block), STANCE_WIRE_ST_BUSY);
  FW_CHECK_EQ(fake.write_calls, calls);
}

static void
test_reset(void)
{
  setup();
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_RESET, "x", 1), STANCE_WIRE_ST_BAD_ARG);
  FW_CHECK_EQ(fake.reset_calls, 0);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_RESET, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(fake.reset_calls, 1);
}

/* ---- Stream ---- */

static uint32_t produced; /* conversions since START, pushed or not */

static void
push(uint8_t sat, uint8_t status)
{
  int32_t counts[8];
  for (int ch = 0; ch < 8; ch++)
    counts[ch] = (int32_t)((produced * 8u + (uint32_t)ch) & 0x7FFFFFu);
  fw_core_push_sample(&core, counts, sat, status);
  produced++;
}

static StanceWireTracker tracker;
static uint64_t gap_total, samples_total;
static unsigned frames_total;

/* Polls one frame; when there is one, decodes it, checks every sample against its index, feeds
 * the host's tracker and returns true. */
static bool
poll_one(StanceWireFrame *f)
{
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  if (!fw_core_poll_frame(&core, buf))
    return false;
  FW_CHECK_EQ(stance_wire_frame_decode(buf, sizeof buf, f, NULL), 0);
  for (unsigned i = 0; i < f->n_samples; i++) {
    uint64_t idx = f->first_sample + i;
    bool match = true;
    for (int ch = 0; ch < 8; ch++)
      match = match && f->counts[i][ch] == (int32_t)((idx * 8u + (uint64_t)ch) & 0x7FFFFFu);
    FW_CHECK(match);
  }
  uint64_t gap = 0;
  FW_CHECK_EQ(stance_wire_tracker_accept(&tracker, f, &gap, NULL), 0);
  gap_total += gap;
  samples_total += f->n_samples;
  frames_total++;
  return true;
}

static void
start_stream(uint32_t hz)
{
  FW_CHECK_EQ(set_rate(hz), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  produced = 0;
  stance_wire_tracker_init(&tracker);
  gap_total = samples_total = 0;
  frames_total = 0;
}

static void
test_frames_full_and_flush(void)
{
  setup();
  StanceWireFrame f;
  FW_CHECK(!poll_one(&f)); /* not streaming */
  push(0, 0);              /* ignored while not streaming */
  FW_CHECK_EQ(fw_fifo_count(&core.fifo), 0);

  start_stream(4000);
  for (int i = 0; i < 3 * 18 + 5; i++)
    push((uint8_t)(i == 3 ? 0x81 : 0), (uint8_t)(i == 7 ? STANCE_WIRE_SAMPLE_ADC_CRC : 0));
  for (uint32_t k = 0; k < 3; k++) {
    FW_CHECK(poll_one(&f));
    FW_CHECK_EQ(f.seq, k);
    FW_CHECK_EQ(f.first_sample, 18 * k);
    FW_CHECK_EQ(f.n_samples, 18);
    FW_CHECK_EQ(f.rate_code, STANCE_WIRE_RATE_4000);
    FW_CHECK_EQ(f.flags, 0);
    FW_CHECK_EQ(f.dropped, 0);
    if (k == 0) {
      FW_CHECK_EQ(f.sat[3], 0x81);
      FW_CHECK_EQ(f.status[7], STANCE_WIRE_SAMPLE_ADC_CRC);
      FW_CHECK_EQ(f.sat[4], 0);
      FW_CHECK_EQ(f.status[6], 0);
    }
  }
  /* 5 waiting: no frame until the oldest has waited 10 ms (clock starts when the core first sees
   * them, at this poll). */
  FW_CHECK(!poll_one(&f));
  fake.now += FW_CORE_FLUSH_US - 1;
  FW_CHECK(!poll_one(&f));
  fake.now += 1;
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.n_samples, 5);
  FW_CHECK_EQ(f.first_sample, 54);
  FW_CHECK_EQ(f.seq, 3);
  FW_CHECK(!poll_one(&f));

  /* The flush clock across the 32-bit wrap of the microsecond counter. */
  fake.now = 0xFFFFFFFFu - 3000u;
  push(0, 0);
  FW_CHECK(!poll_one(&f));
  fake.now += 9999u; /* wrapped */
  FW_CHECK(!poll_one(&f));
  fake.now += 1u;
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.n_samples, 1);
  FW_CHECK_EQ(f.first_sample, 59);

  /* 18 arriving before the flush time: a full frame at once. */
  for (int i = 0; i < 18; i++)
    push(0, 0);
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.n_samples, 18);
  FW_CHECK_EQ(tracker.samples, produced);
  FW_CHECK_EQ(gap_total, 0);
  FW_CHECK_EQ(tracker.frames_lost, 0);
}

/* 500 Hz: a sample every 2 ms; frames leave every 10 ms with ~5 samples, none older than 10 ms. */
static void
test_frames_low_rate_latency(void)
{
  setup();
  start_stream(500);
  StanceWireFrame f;
  uint32_t t0 = fake.now;
  uint32_t arrival[600];
  uint32_t worst = 0;
  for (uint32_t k = 0; k < 600; k++) {
    fake.now = t0 + 2000u * k;
    arrival[k] = fake.now;
    push(0, 0);
    /* the main loop polls many times between conversions */
    for (int p = 0; p < 4; p++) {
      fake.now = t0 + 2000u * k + 500u * (uint32_t)p;
      while (poll_one(&f)) {
        for (unsigned i = 0; i < f.n_samples; i++) {
          uint32_t waited = fake.now - arrival[f.first_sample + i];
          worst = waited > worst ? waited : worst;
        }
        FW_CHECK(f.n_samples >= 5 && f.n_samples <= 6);
      }
    }
  }
  FW_CHECK(worst <= FW_CORE_FLUSH_US + 500u); /* + one polling interval */
  FW_CHECK(samples_total >= 590);
  FW_CHECK(frames_total >= 95 && frames_total <= 121); /* about 100 per second for 1.2 s */
}

static void
test_stop_final(void)
{
  setup();
  start_stream(1000);
  StanceWireFrame f;
  for (int i = 0; i < 25; i++)
    push(0, 0);
  FW_CHECK(poll_one(&f)); /* 18 */
  /* STOP with 7 waiting: they leave at once (no flush wait), then an empty FINAL frame whose
   * first sample index is the count the STOP reply gave. */
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), 25);
  push(0, 0); /* a conversion after STOP is not part of the stream */
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.n_samples, 7);
  FW_CHECK_EQ(f.first_sample, 18);
  FW_CHECK_EQ(f.flags, 0);
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.flags, STANCE_WIRE_FRAME_FINAL);
  FW_CHECK_EQ(f.n_samples, 0);
  FW_CHECK_EQ(f.first_sample, 25);
  FW_CHECK_EQ(f.seq, 2);
  FW_CHECK(!poll_one(&f)); /* exactly one FINAL frame */
  FW_CHECK(!poll_one(&f));
  FW_CHECK_EQ(tracker.next_sample, 25);
  FW_CHECK_EQ(gap_total, 0);

  /* STOP with nothing waiting: just the FINAL frame. */
  start_stream(1000);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), 0);
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.flags, STANCE_WIRE_FRAME_FINAL);
  FW_CHECK_EQ(f.seq, 0);
  FW_CHECK_EQ(f.first_sample, 0);
  FW_CHECK(!poll_one(&f));
}

static void
test_overflow_drops(void)
{
  setup();
  start_stream(4000);
  StanceWireFrame f;
  /* The host stops reading: 256 stored, 10 dropped, then room for 5 more after one frame. */
  for (uint32_t i = 0; i < FW_FIFO_CAPACITY; i++)
    push(0, 0);
  for (int i = 0; i < 10; i++)
    push(0, 0);
  FW_CHECK_EQ(core.fifo.total_drops, 10);
  FW_CHECK(poll_one(&f)); /* frees 18 slots */
  for (int i = 0; i < 5; i++)
    push(0, 0);
  fake.now += FW_CORE_FLUSH_US; /* the host is back after a while */
  /* Frames up to the drop: 14 full frames of 18 = 252, then the 4 left before the drop, in a
   * frame of its own (frames are contiguous in index). */
  unsigned full = 1;
  while (poll_one(&f) && f.n_samples == 18)
    full++;
  FW_CHECK_EQ(full, 14);
  FW_CHECK_EQ(f.n_samples, 4);
  FW_CHECK_EQ(f.first_sample, 252);
  FW_CHECK_EQ(f.flags, 0);
  /* The next frame starts after the drop, says so, and counts the dropped samples in its index;
   * it leaves at once (its samples are as old as the frame before). */
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.flags, STANCE_WIRE_FRAME_OVERFLOW);
  FW_CHECK_EQ(f.dropped, 10);
  FW_CHECK_EQ(f.first_sample, 266);
  FW_CHECK_EQ(f.n_samples, 5);
  FW_CHECK(!poll_one(&f));
  /* The host's tracker places it: a 10-sample gap, all of it the board's drops. */
  FW_CHECK_EQ(gap_total, 10);
  FW_CHECK_EQ(tracker.board_dropped, 10);
  FW_CHECK_EQ(tracker.next_sample, produced);
  FW_CHECK_EQ(tracker.samples + gap_total, produced);

  /* Drops at the very end: counted by STOP and placed by the FINAL frame. */
  for (uint32_t i = 0; i < FW_FIFO_CAPACITY; i++)
    push(0, 0);
  for (int i = 0; i < 3; i++)
    push(0, 0);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), produced);
  StanceWireFrame last;
  memset(&last, 0, sizeof last);
  while (poll_one(&f))
    last = f;
  FW_CHECK_EQ(last.flags, STANCE_WIRE_FRAME_FINAL | STANCE_WIRE_FRAME_OVERFLOW);
  FW_CHECK_EQ(last.n_samples, 0);
  FW_CHECK_EQ(last.dropped, 3);
  FW_CHECK_EQ(last.first_sample, produced);
  FW_CHECK_EQ(gap_total, 13);
  FW_CHECK_EQ(tracker.next_sample, produced);
}

/* A host away long enough for the 16-bit drop count to saturate: the board cannot place what
 * follows, so it ends the stream with a FINAL frame rather than send misplaced samples. */
static void
test_drop_saturation_ends_stream(void)
{
  setup();
  start_stream(4000);
  StanceWireFrame f;
  for (uint32_t i = 0; i < FW_FIFO_CAPACITY; i++)
    push(0, 0);
  for (uint32_t i = 0; i < 70000; i++) /* the FIFO is full for 70000 conversions... */
    fw_core_push_sample(&core, (const int32_t[8]){0}, 0, 0);
  FW_CHECK(poll_one(&f));
  for (uint32_t i = 0; i < 18; i++) /* ...then 18 more find room after the first frame */
    fw_core_push_sample(&core, (const int32_t[8]){0}, 0, 0);
  fake.now += FW_CORE_FLUSH_US;
  unsigned frames = 1;
  while (poll_one(&f) && !(f.flags & STANCE_WIRE_FRAME_FINAL))
    frames++;
  FW_CHECK_EQ(frames, 15); /* 256 = 14 x 18 + 4 */
  FW_CHECK_EQ(f.flags, STANCE_WIRE_FRAME_FINAL | STANCE_WIRE_FRAME_OVERFLOW);
  FW_CHECK_EQ(f.n_samples, 0);
  FW_CHECK_EQ(f.dropped, 65535);
  FW_CHECK_EQ(f.first_sample, 256 + 65535);
  FW_CHECK(!core.streaming);
  FW_CHECK(!fake.adc_running);
  FW_CHECK(!poll_one(&f));
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_NOT_STREAMING);
}

static void
test_seq_wrap_and_restart(void)
{
  setup();
  start_stream(2000);
  StanceWireFrame f;
  core.seq = 0xFFFFFFFFu; /* as after 2^32 - 1 frames */
  for (int i = 0; i < 36; i++)
    push(0, 0);
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.seq, 0xFFFFFFFFu);
  uint64_t lost = tracker.frames_lost; /* the tracker's origin: it counts seq frames as lost */
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.seq, 0);
  FW_CHECK_EQ(f.first_sample, 18);
  FW_CHECK_EQ(tracker.frames_lost, lost); /* the wrap loses nothing */

  /* START after STOP resets seq, the index and the FIFO; a FINAL frame not yet sent is dropped
   * with the old stream. */
  for (int i = 0; i < 7; i++)
    push(0, 0);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), 43);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_START, NULL, 0), STANCE_WIRE_ST_OK);
  produced = 0;
  stance_wire_tracker_init(&tracker);
  FW_CHECK_EQ(fw_fifo_count(&core.fifo), 0);
  FW_CHECK(!poll_one(&f));
  for (int i = 0; i < 18; i++)
    push(0, 0);
  FW_CHECK(poll_one(&f));
  FW_CHECK_EQ(f.seq, 0);
  FW_CHECK_EQ(f.first_sample, 0);
  FW_CHECK_EQ(f.flags, 0);
  FW_CHECK_EQ(f.rate_code, STANCE_WIRE_RATE_2000);
}

/* A long run at 4 kHz with a host that reads in bursts: every conversion is either received or
 * counted as dropped, in place, and the two sides agree on the totals. */
static void
test_long_run_bursty_host(void)
{
  setup();
  start_stream(4000);
  StanceWireFrame f;
  uint32_t lcg = 99;
  for (int tick = 0; tick < 40000; tick++) {
    fake.now += 250;
    push(0, 0);
    lcg = lcg * 1664525u + 1013904223u;
    /* Reads in bursts, and every 250 ms stops for 100 ms (the FIFO holds 64 ms). */
    bool paused = (tick % 1000) < 400;
    if (!paused && (lcg >> 24) < 200)
      while (poll_one(&f))
        ;
  }
  FW_CHECK(core.fifo.total_drops > 1000);
  FW_CHECK_EQ(cmd_send(STANCE_WIRE_OP_STOP, NULL, 0), STANCE_WIRE_ST_OK);
  FW_CHECK_EQ(reply_u64(), 40000);
  bool final = false;
  while (poll_one(&f))
    final = (f.flags & STANCE_WIRE_FRAME_FINAL) != 0;
  FW_CHECK(final);
  FW_CHECK_EQ(tracker.next_sample, 40000);
  FW_CHECK_EQ(tracker.samples + gap_total, 40000);
  FW_CHECK_EQ(gap_total, tracker.board_dropped);
  FW_CHECK_EQ(tracker.board_dropped, core.fifo.total_drops);
  FW_CHECK_EQ(tracker.frames_lost, 0);
  FW_CHECK_EQ(tracker.frames, core.frames_sent);
}

static void
test_out_of_range_counts(void)
{
  setup();
  start_stream(4000);
  int32_t counts[8] = {0x800000, -0x800001, 0x7FFFFF, -0x800000, 1, -1, INT32_MAX, INT32_MIN};
  for (int i = 0; i < 18; i++)
    fw_core_push_sample(&core, counts, 0x0C, 0);
  uint8_t buf[STANCE_WIRE_FRAME_SIZE];
  FW_CHECK(fw_core_poll_frame(&core, buf));
  StanceWireFrame f;
  FW_CHECK_EQ(stance_wire_frame_decode(buf, sizeof buf, &f, NULL), 0);
  FW_CHECK_EQ(f.counts[0][0], 0x7FFFFF);
  FW_CHECK_EQ(f.counts[0][1], -0x800000);
  FW_CHECK_EQ(f.counts[0][6], 0x7FFFFF);
  FW_CHECK_EQ(f.counts[0][7], -0x800000);
  FW_CHECK_EQ(f.counts[0][4], 1);
  FW_CHECK_EQ(f.sat[0], 0xCF); /* the ADC's own rails (2, 3) plus the clamped channels */
}

int
main(void)
{
  fw_test_run("core init identity", test_init_identity);
  fw_test_run("core info", test_info);
  fw_test_run("core version refusal", test_version_refusal);
  fw_test_run("core ping", test_ping);
  fw_test_run("core malformed commands", test_malformed);
  fw_test_run("core set rate", test_set_rate);
  fw_test_run("core start/stop states", test_start_stop_states);
  fw_test_run("core calibration", test_calibration);
  fw_test_run("core reset", test_reset);
  fw_test_run("core frames full and flush", test_frames_full_and_flush);
  fw_test_run("core frames low-rate latency", test_frames_low_rate_latency);
  fw_test_run("core stop and final frame", test_stop_final);
  fw_test_run("core overflow drops", test_overflow_drops);
  fw_test_run("core drop saturation ends stream", test_drop_saturation_ends_stream);
  fw_test_run("core seq wrap and restart", test_seq_wrap_and_restart);
  fw_test_run("core long run, bursty host", test_long_run_bursty_host);
  fw_test_run("core out-of-range counts", test_out_of_range_counts);
  return fw_test_finish();
}
