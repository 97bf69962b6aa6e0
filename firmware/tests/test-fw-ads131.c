/* test-fw-ads131.c: ADS131M08 frames: CRC, parse/build, sign extension, rails, commands, the
 * CLOCK register per rate.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The CRC is checked against the catalogued check values of CRC-16/CCITT-FALSE (polynomial 0x1021,
 * seed 0xFFFF, no reflection: "123456789" -> 0x29B1, "A" -> 0xB915) and against a plain
 * bit-by-bit shift-register implementation written here, which shares no code with the
 * nibble-table one under test.
 */
#include <string.h>

#include "fw-ads131.h"
#include "fw-test.h"
#include "stance-wire.h"

static uint16_t
crc_bitwise(uint16_t crc, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint16_t)(p[i] << 8);
    for (int b = 0; b < 8; b++)
      crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
  }
  return crc;
}

static uint32_t lcg_state = 12345;
static uint32_t
lcg(void)
{
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return lcg_state;
}

static void
test_crc_known(void)
{
  FW_CHECK_EQ(fw_ads131_crc16(0xFFFF, (const uint8_t *)"123456789", 9), 0x29B1);
  FW_CHECK_EQ(fw_ads131_crc16(0xFFFF, (const uint8_t *)"A", 1), 0xB915);
  FW_CHECK_EQ(fw_ads131_crc16(0xFFFF, NULL, 0), 0xFFFF);
  /* Continuation: two halves give the same CRC as the whole. */
  uint16_t half = fw_ads131_crc16(0xFFFF, (const uint8_t *)"1234", 4);
  FW_CHECK_EQ(fw_ads131_crc16(half, (const uint8_t *)"56789", 5), 0x29B1);
  /* A CRC followed by itself (MSB first) leaves a zero remainder. */
  uint8_t buf[11];
  memcpy(buf, "123456789", 9);
  buf[9] = 0x29;
  buf[10] = 0xB1;
  FW_CHECK_EQ(fw_ads131_crc16(0xFFFF, buf, sizeof buf), 0);
}

static void
test_crc_against_bitwise(void)
{
  uint8_t buf[64];
  for (int round = 0; round < 200; round++) {
    size_t n = lcg() % sizeof buf;
    for (size_t i = 0; i < n; i++)
      buf[i] = (uint8_t)(lcg() >> 24);
    FW_CHECK_EQ(fw_ads131_crc16(0xFFFF, buf, n), crc_bitwise(0xFFFF, buf, n));
  }
}

/* A frame written byte by byte as the chip sends it (24-bit words, MSB first). */
static void
test_parse_known_bytes(void)
{
  uint8_t f[FW_ADS131_FRAME_BYTES] = {
      0x05, 0xFF, 0x00, /* STATUS: RESET, WLENGTH 24 bit, DRDY0-7 */
      0x00, 0x00, 0x01, /* ch0: 1 */
      0xFF, 0xFF, 0xFF, /* ch1: -1 */
      0x7F, 0xFF, 0xFF, /* ch2: +full scale (rail) */
      0x80, 0x00, 0x00, /* ch3: -full scale (rail) */
      0x12, 0x34, 0x56, /* ch4: 0x123456 */
      0xED, 0xCB, 0xAA, /* ch5: -0x123456 */
      0x7F, 0xFF, 0xFE, /* ch6: one below the rail */
      0x80, 0x00, 0x01, /* ch7: one above the rail */
      0x00, 0x00, 0x00, /* CRC, filled below */
  };
  uint16_t crc = crc_bitwise(0xFFFF, f, 27);
  f[27] = (uint8_t)(crc >> 8);
  f[28] = (uint8_t)crc;
  FwAdsFrame out;
  FW_CHECK(fw_ads131_parse(f, &out));
  FW_CHECK(out.crc_ok);
  FW_CHECK_EQ(out.status, 0x05FF);
  static const int32_t want[8] = {1, -1, 8388607, -8388608, 0x123456, -0x123456, 8388606, -8388607};
  for (int c = 0; c < 8; c++)
    FW_CHECK_EQ(out.counts[c], want[c]);
  FW_CHECK_EQ(out.sat, 0x0C); /* channels 2 and 3 only */

  /* The builder makes the same bytes. */
  uint8_t built[FW_ADS131_FRAME_BYTES];
  fw_ads131_build_frame(0x05FF, want, built);
  FW_CHECK_MEM(built, f, sizeof f);
}

static void
test_round_trip(void)
{
  for (int round = 0; round < 300; round++) {
    int32_t counts[8];
    for (int c = 0; c < 8; c++)
      counts[c] = (int32_t)(lcg() & 0xFFFFFFu) - 0x800000;
    uint16_t status = (uint16_t)lcg();
    uint8_t f[FW_ADS131_FRAME_BYTES];
    fw_ads131_build_frame(status, counts, f);
    FwAdsFrame out;
    FW_CHECK(fw_ads131_parse(f, &out));
    FW_CHECK_EQ(out.status, status);
    for (int c = 0; c < 8; c++)
      FW_CHECK_EQ(out.counts[c], counts[c]);
    FW_CHECK_EQ(f[2], 0);  /* pad byte of the status word */
    FW_CHECK_EQ(f[29], 0); /* pad byte of the CRC word */
  }
}

static void
test_saturation(void)
{
  /* Values beyond 24 bits are clamped by the builder to the rail codes, which parse as saturated,
   * on both rails. */
  int32_t counts[8] = {0x7FFFFF, -0x800000, 0x1000000, -0x1000000, INT32_MAX, INT32_MIN, 0, 5};
  uint8_t f[FW_ADS131_FRAME_BYTES];
  fw_ads131_build_frame(0, counts, f);
  FwAdsFrame out;
  FW_CHECK(fw_ads131_parse(f, &out));
  FW_CHECK_EQ(out.counts[0], FW_ADS131_CODE_MAX);
  FW_CHECK_EQ(out.counts[1], FW_ADS131_CODE_MIN);
  FW_CHECK_EQ(out.counts[2], FW_ADS131_CODE_MAX);
  FW_CHECK_EQ(out.counts[3], FW_ADS131_CODE_MIN);
  FW_CHECK_EQ(out.counts[4], FW_ADS131_CODE_MAX);
  FW_CHECK_EQ(out.counts[5], FW_ADS131_CODE_MIN);
  FW_CHECK_EQ(out.counts[6], 0);
  FW_CHECK_EQ(out.counts[7], 5);
  FW_CHECK_EQ(out.sat, 0x3F);
}

static void
test_crc_failure(void)
{
  int32_t counts[8] = {100, -200, 300, -400, 500, -600, 700, -800};
  uint8_t good[FW_ADS131_FRAME_BYTES];
  fw_ads131_build_frame(0x0500, counts, good);
  FwAdsFrame out;
  /* Any single flipped bit in the 27 covered bytes or in the CRC itself is detected. */
  unsigned detected = 0, tried = 0;
  for (int byte = 0; byte < 29; byte++) {
    for (int bit = 0; bit < 8; bit++) {
      uint8_t f[FW_ADS131_FRAME_BYTES];
      memcpy(f, good, sizeof f);
      f[byte] ^= (uint8_t)(1u << bit);
      tried++;
      bool ok = fw_ads131_parse(f, &out);
      detected += (!ok && !out.crc_ok) ? 1u : 0u;
    }
  }
  FW_CHECK_EQ(detected, tried);
  /* A corrupted frame still fills every field (the firmware pushes it flagged, keeping the
   * sample's place in time). */
  uint8_t f[FW_ADS131_FRAME_BYTES];
  memcpy(f, good, sizeof f);
  f[4] ^= 0x01;
  FW_CHECK(!fw_ads131_parse(f, &out));
  FW_CHECK_EQ(out.counts[0], 100 ^ 0x100);
  FW_CHECK_EQ(out.counts[1], -200);
  /* The last pad byte is outside the CRC (the chip's CRC word is 16 bits + pad). */
  memcpy(f, good, sizeof f);
  f[29] = 0xA5;
  FW_CHECK(fw_ads131_parse(f, &out));
}

static void
test_commands(void)
{
  FW_CHECK_EQ(fw_ads131_cmd_null(), 0x0000);
  FW_CHECK_EQ(fw_ads131_cmd_reset(), 0x0011);
  FW_CHECK_EQ(fw_ads131_cmd_standby(), 0x0022);
  FW_CHECK_EQ(fw_ads131_cmd_wakeup(), 0x0033);
  /* RREG 101a aaaa annn nnnn, WREG 011a aaaa annn nnnn, n = registers - 1 = 0. */
  FW_CHECK_EQ(fw_ads131_cmd_rreg(0x00), 0xA000); /* ID */
  FW_CHECK_EQ(fw_ads131_cmd_rreg(0x03), 0xA180); /* CLOCK */
  FW_CHECK_EQ(fw_ads131_cmd_wreg(0x03), 0x6180);
  FW_CHECK_EQ(fw_ads131_cmd_wreg(0x04), 0x6200); /* GAIN1 */
  FW_CHECK_EQ(fw_ads131_cmd_wreg(0x05), 0x6280); /* GAIN2 */
  FW_CHECK_EQ(fw_ads131_cmd_wreg(0x3F), 0x7F80); /* highest address */
}

static void
test_clock_register(void)
{
  /* CH0-7 enabled (0xFF00), high-resolution mode (PWR = 2), OSR code in bits 4:2. With 8.192 MHz
   * CLKIN, fMOD = 4.096 MHz and the rate is fMOD / OSR: OSR 8192, 4096, 2048, 1024. 0xFF0E is
   * also the chip's reset value, which the data sheet gives as 4 kSPS. */
  uint16_t v = 0;
  FW_CHECK(fw_ads131_clock_reg(STANCE_WIRE_RATE_500, &v));
  FW_CHECK_EQ(v, 0xFF1A);
  FW_CHECK(fw_ads131_clock_reg(STANCE_WIRE_RATE_1000, &v));
  FW_CHECK_EQ(v, 0xFF16);
  FW_CHECK(fw_ads131_clock_reg(STANCE_WIRE_RATE_2000, &v));
  FW_CHECK_EQ(v, 0xFF12);
  FW_CHECK(fw_ads131_clock_reg(STANCE_WIRE_RATE_4000, &v));
  FW_CHECK_EQ(v, 0xFF0E);
  for (int code = 0; code < STANCE_WIRE_N_RATES; code++) {
    FW_CHECK(fw_ads131_clock_reg(code, &v));
    uint32_t osr = 128u << ((v >> 2) & 7u);
    FW_CHECK_EQ(4096000u / osr, (code == 0 ? 500u : code == 1 ? 1000u : code == 2 ? 2000u : 4000u));
  }
  v = 0x1234;
  FW_CHECK(!fw_ads131_clock_reg(-1, &v));
  FW_CHECK(!fw_ads131_clock_reg(STANCE_WIRE_N_RATES, &v));
  FW_CHECK_EQ(v, 0x1234); /* untouched on failure */
}

int
main(void)
{
  fw_test_run("ads131 crc known values", test_crc_known);
  fw_test_run("ads131 crc against bitwise", test_crc_against_bitwise);
  fw_test_run("ads131 parse known bytes", test_parse_known_bytes);
  fw_test_run("ads131 build/parse round trip", test_round_trip);
  fw_test_run("ads131 saturation", test_saturation);
  fw_test_run("ads131 crc failure", test_crc_failure);
  fw_test_run("ads131 commands", test_commands);
  fw_test_run("ads131 clock register", test_clock_register);
  return fw_test_finish();
}
