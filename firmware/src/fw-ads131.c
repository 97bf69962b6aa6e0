/* fw-ads131.c: TI ADS131M08 SPI frames, commands and CRC.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers from the ADS131M08 data sheet (TI SBAS950): command opcodes, the register map, the CLOCK
 * register layout and the CRC definition. The chip runs with its power-on defaults for the word
 * length (24 bit) and the CRC type (CCITT), and with the input CRC disabled, so the host side of a
 * conversion frame is the NULL command followed by zeros.
 */
#include "fw-ads131.h"

#include "stance-wire.h"

/* Command opcodes (the 16 bits at the top of the 24-bit command word). */
#define ADS_OP_NULL 0x0000u
#define ADS_OP_RESET 0x0011u
#define ADS_OP_STANDBY 0x0022u
#define ADS_OP_WAKEUP 0x0033u
#define ADS_OP_RREG 0xA000u /* 101a aaaa annn nnnn: address a, n + 1 registers */
#define ADS_OP_WREG 0x6000u /* 011a aaaa annn nnnn */
#define ADS_REG_ADDR_MASK 0x3Fu

/* CLOCK register (address 0x03): CH7_EN..CH0_EN in bits 15..8, OSR in bits 4..2, PWR in 1..0. */
#define ADS_CLOCK_ALL_CH 0xFF00u
#define ADS_CLOCK_OSR_SHIFT 2
#define ADS_CLOCK_PWR_HR 0x2u /* high-resolution power mode */

/* The CRC is nibble-table driven: 16 entries (32 bytes of flash) instead of the usual 256, at two
 * table lookups per byte; 27 bytes per conversion at 4 kHz is ~0.2 % of the 96 MHz core. */
static const uint16_t ads_crc_nibble[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
};

uint16_t
fw_ads131_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    crc = (uint16_t)((crc << 4) ^ ads_crc_nibble[(crc >> 12) ^ (data[i] >> 4)]);
    crc = (uint16_t)((crc << 4) ^ ads_crc_nibble[(crc >> 12) ^ (data[i] & 0x0Fu)]);
  }
  return crc;
}

static int32_t
ads_word_to_count(const uint8_t *w)
{
  uint32_t u = ((uint32_t)w[0] << 16) | ((uint32_t)w[1] << 8) | (uint32_t)w[2];
  /* Sign-extend bit 23 without relying on implementation-defined shifts of negative values. */
  return (int32_t)(u ^ 0x800000u) - 0x800000;
}

bool
fw_ads131_parse(const uint8_t frame[FW_ADS131_FRAME_BYTES], FwAdsFrame *out)
{
  out->status = (uint16_t)((frame[0] << 8) | frame[1]);
  out->sat = 0;
  for (int c = 0; c < FW_ADS131_CHANNELS; c++) {
    int32_t v = ads_word_to_count(&frame[(1 + c) * FW_ADS131_WORD_BYTES]);
    out->counts[c] = v;
    if (v == FW_ADS131_CODE_MAX || v == FW_ADS131_CODE_MIN)
      out->sat |= (uint8_t)(1u << c);
  }
  const size_t crc_at = (FW_ADS131_FRAME_WORDS - 1) * FW_ADS131_WORD_BYTES;
  uint16_t want = (uint16_t)((frame[crc_at] << 8) | frame[crc_at + 1]);
  out->crc_ok = fw_ads131_crc16(0xFFFF, frame, crc_at) == want;
  return out->crc_ok;
}

void
fw_ads131_build_frame(uint16_t status, const int32_t counts[FW_ADS131_CHANNELS],
                      uint8_t out[FW_ADS131_FRAME_BYTES])
{
  out[0] = (uint8_t)(status >> 8);
  out[1] = (uint8_t)status;
  out[2] = 0;
  for (int c = 0; c < FW_ADS131_CHANNELS; c++) {
    int32_t v = counts[c];
    if (v > FW_ADS131_CODE_MAX)
      v = FW_ADS131_CODE_MAX;
    if (v < FW_ADS131_CODE_MIN)
      v = FW_ADS131_CODE_MIN;
    uint32_t u = (uint32_t)v & 0xFFFFFFu;
    uint8_t *w = &out[(1 + c) * FW_ADS131_WORD_BYTES];
    w[0] = (uint8_t)(u >> 16);
    w[1] = (uint8_t)(u >> 8);
    w[2] = (uint8_t)u;
  }
  const size_t crc_at = (FW_ADS131_FRAME_WORDS - 1) * FW_ADS131_WORD_BYTES;
  uint16_t crc = fw_ads131_crc16(0xFFFF, out, crc_at);
  out[crc_at] = (uint8_t)(crc >> 8);
  out[crc_at + 1] = (uint8_t)crc;
  out[crc_at + 2] = 0;
}

uint16_t
fw_ads131_cmd_null(void)
{
  return ADS_OP_NULL;
}

uint16_t
fw_ads131_cmd_reset(void)
{
  return ADS_OP_RESET;
}

uint16_t
fw_ads131_cmd_standby(void)
{
  return ADS_OP_STANDBY;
}

uint16_t
fw_ads131_cmd_wakeup(void)
{
  return ADS_OP_WAKEUP;
}

uint16_t
fw_ads131_cmd_rreg(uint8_t reg)
{
  return (uint16_t)(ADS_OP_RREG | ((reg & ADS_REG_ADDR_MASK) << 7));
}

uint16_t
fw_ads131_cmd_wreg(uint8_t reg)
{
  return (uint16_t)(ADS_OP_WREG | ((reg & ADS_REG_ADDR_MASK) << 7));
}

bool
fw_ads131_clock_reg(int rate_code, uint16_t *value)
{
  /* fMOD = CLKIN / 2 = 4.096 MHz; data rate = fMOD / OSR. OSR codes: 3 = 1024, 4 = 2048,
   * 5 = 4096, 6 = 8192. */
  uint16_t osr;
  switch (rate_code) {
  case STANCE_WIRE_RATE_500: osr = 6; break;
  case STANCE_WIRE_RATE_1000: osr = 5; break;
  case STANCE_WIRE_RATE_2000: osr = 4; break;
  case STANCE_WIRE_RATE_4000: osr = 3; break;
  default: return false;
  }
  *value = (uint16_t)(ADS_CLOCK_ALL_CH | (osr << ADS_CLOCK_OSR_SHIFT) | ADS_CLOCK_PWR_HR);
  return true;
}
