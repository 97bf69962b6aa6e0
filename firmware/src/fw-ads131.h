/* fw-ads131.h: TI ADS131M08 SPI frames: commands, the conversion frame, its CRC.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain C17, no allocation; used by the firmware's DRDY/DMA path, its logic tests, and the host
 * test suite's emulated plate (which builds the frames a real chip would send and feeds them
 * through fw_ads131_parse(), so the parse path is the firmware's own). Word size 24 bits (the
 * device default); a conversion frame is 10 words = 30 bytes: the response to the command word
 * (STATUS during conversions), 8 channel words (24-bit two's complement, MSB first) and the
 * output CRC word (CRC-16-CCITT, polynomial 0x1021, seed 0xFFFF, over the 9 preceding words,
 * in the top 16 bits of the word). See docs/hardware.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_ADS131_CHANNELS 8
#define FW_ADS131_WORD_BYTES 3
#define FW_ADS131_FRAME_WORDS 10
#define FW_ADS131_FRAME_BYTES (FW_ADS131_FRAME_WORDS * FW_ADS131_WORD_BYTES)
#define FW_ADS131_CODE_MAX 0x7FFFFF
#define FW_ADS131_CODE_MIN (-0x800000)

typedef struct {
  uint16_t status;                    /* first word's top 16 bits */
  int32_t counts[FW_ADS131_CHANNELS]; /* sign-extended */
  uint8_t sat;                        /* bit c: channel c at a rail code */
  bool crc_ok;                        /* the output CRC matched */
} FwAdsFrame;

/* CRC-16-CCITT (0x1021, seed 0xFFFF, no reflection, no final xor) as the ADS131M08 computes it. */
uint16_t fw_ads131_crc16(uint16_t crc, const uint8_t *data, size_t len);

/* Parses a 30-byte conversion frame. Always fills out; returns out->crc_ok. */
bool fw_ads131_parse(const uint8_t frame[FW_ADS131_FRAME_BYTES], FwAdsFrame *out);

/* Builds the 30-byte frame the chip sends for a conversion (status word, channels clamped to the
 * 24-bit range, CRC). For the emulated plate and tests. */
void fw_ads131_build_frame(uint16_t status, const int32_t counts[FW_ADS131_CHANNELS],
                           uint8_t out[FW_ADS131_FRAME_BYTES]);

/* Command words (16-bit opcode in a 24-bit word, padded with a zero byte) with the register
 * field filled: NULL, RESET, STANDBY, WAKEUP, RREG and WREG (one register). */
uint16_t fw_ads131_cmd_null(void);
uint16_t fw_ads131_cmd_reset(void);
uint16_t fw_ads131_cmd_standby(void);
uint16_t fw_ads131_cmd_wakeup(void);
uint16_t fw_ads131_cmd_rreg(uint8_t reg);
uint16_t fw_ads131_cmd_wreg(uint8_t reg);

/* CLOCK register value for a rate code (STANCE_WIRE_RATE_*) with all 8 channels enabled and
 * high-resolution power mode, given an 8.192 MHz CLKIN: OSR 4096 -> 1 kSPS ... Returns false for
 * an unknown code. */
bool fw_ads131_clock_reg(int rate_code, uint16_t *value);

#ifdef __cplusplus
}
#endif
