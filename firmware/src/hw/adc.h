/* adc.h: the ADS131M08 on SPI1: set-up, and conversions read by DMA on DRDY.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Data path: /DRDY falls (EXTI0) -> the interrupt lowers /CS and starts a 30-byte full-duplex
 * DMA transfer (DMA2 stream 3 sends the NULL command and zeros, stream 0 receives the conversion
 * frame) -> the DMA-complete interrupt raises /CS, parses the frame with fw_ads131_parse(), checks
 * its CRC and the chip's STATUS word, and pushes the sample with fw_core_push_sample(). A frame
 * whose CRC fails is pushed with STANCE_WIRE_SAMPLE_ADC_CRC (its place in time is kept); so is a
 * conversion the board could not read (DRDY while the previous transfer was still running, or a
 * DMA error). Both interrupts run at the same priority, so they never preempt each other.
 *
 * adc_init(), adc_set_rate(), adc_start() and adc_stop() are for the main thread; adc_set_rate()
 * only while stopped (it talks to the chip with polled SPI).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fw-core.h"

/* Resets the chip, checks that it is an ADS131M08, sets PGA gain ADC_PGA_GAIN on every channel
 * and the rate. Samples go to core once started. False when the chip does not answer as
 * expected (the board then reports the error on its LED and refuses START). */
bool adc_init(FwCore *core, int rate_code);
bool adc_set_rate(int rate_code);
/* Restarts the chip's digital filters (SYNC pulse) so the next DRDY is the stream's first
 * settled sample, then enables the DRDY interrupt. */
bool adc_start(void);
/* Disables the DRDY interrupt and waits for a transfer in flight to finish. */
void adc_stop(void);
bool adc_present(void);

/* Diagnostics since start-up (written by the interrupts, read by the main loop). */
extern volatile uint32_t adc_crc_errors; /* frames whose CRC failed */
extern volatile uint32_t adc_missed;     /* conversions not read (overrun or DMA error) */
extern volatile uint32_t adc_resets;     /* frames whose STATUS said the chip had reset */

#define ADC_PGA_GAIN 128
#define ADC_VREF_UV 1200000u
