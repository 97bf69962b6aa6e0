/* fw-fifo.h: interrupt-safe single-producer single-consumer sample FIFO with overflow counting.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The producer is the ADC interrupt, the consumer the main loop. Head and tail are free-running
 * 32-bit counters (capacity a power of two); each side writes only its own counter, reads the
 * other's, and a compiler/CPU barrier orders the slot write before the counter store. On a full
 * FIFO the producer drops the sample and adds 1 to `dropped` (a counter only the producer writes);
 * the consumer learns how many samples were dropped before the next one it pops, so the stream
 * frame can carry the drop count and the sample index stays exact. No allocation; plain C17.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_FIFO_CAPACITY 256u /* samples; ~64 ms at 4 kHz. Power of two. */

typedef struct {
  int32_t counts[8];
  uint8_t sat;
  uint8_t status;
  uint16_t dropped_before; /* samples dropped immediately before this one (saturating) */
} FwSample;

typedef struct {
  FwSample slot[FW_FIFO_CAPACITY];
  volatile uint32_t head;          /* written by the producer only */
  volatile uint32_t tail;          /* written by the consumer only */
  volatile uint32_t pending_drops; /* producer only: drops not yet attached to a sample */
  volatile uint32_t total_drops;   /* producer only */
} FwFifo;

void fw_fifo_init(FwFifo *f);
/* Producer. Returns false (and counts a drop) when full. */
bool fw_fifo_push(FwFifo *f, const int32_t counts[8], uint8_t sat, uint8_t status);
/* Consumer. Returns false when empty. */
bool fw_fifo_pop(FwFifo *f, FwSample *out);
/* Consumer: samples waiting. */
uint32_t fw_fifo_count(const FwFifo *f);

#ifdef __cplusplus
}
#endif
