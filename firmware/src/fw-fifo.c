/* fw-fifo.c: interrupt-safe single-producer single-consumer sample FIFO.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * head and tail run freely and wrap at 2^32; head - tail is the number of samples waiting (at most
 * FW_FIFO_CAPACITY, a power of two, so `index & (capacity - 1)` stays right across the wrap).
 *
 * Ordering: the producer fills the slot, then publishes it with a release store of head; the
 * consumer reads head with an acquire load before touching the slot, then releases the slot with a
 * release store of tail. On the Cortex-M4 (one core, the producer an interrupt) the release/acquire
 * pair costs a DMB and keeps the compiler from moving the slot accesses across the counter; on the
 * host (the emulated plate may push from another thread) it is the real C11 ordering. The GCC/Clang
 * __atomic builtins are used on the plain volatile counters so the header needs no <stdatomic.h>.
 */
#include "fw-fifo.h"

#include <string.h>

#define FW_FIFO_MASK (FW_FIFO_CAPACITY - 1u)

_Static_assert((FW_FIFO_CAPACITY & FW_FIFO_MASK) == 0, "FW_FIFO_CAPACITY must be a power of two");

void
fw_fifo_init(FwFifo *f)
{
  memset(f, 0, sizeof *f);
}

bool
fw_fifo_push(FwFifo *f, const int32_t counts[8], uint8_t sat, uint8_t status)
{
  uint32_t head = f->head; /* only this side writes head */
  uint32_t tail = __atomic_load_n(&f->tail, __ATOMIC_ACQUIRE);
  if (head - tail >= FW_FIFO_CAPACITY) {
    f->pending_drops = f->pending_drops + 1u;
    f->total_drops = f->total_drops + 1u;
    return false;
  }
  FwSample *s = &f->slot[head & FW_FIFO_MASK];
  memcpy(s->counts, counts, sizeof s->counts);
  s->sat = sat;
  s->status = status;
  uint32_t drops = f->pending_drops;
  s->dropped_before = drops > UINT16_MAX ? (uint16_t)UINT16_MAX : (uint16_t)drops;
  f->pending_drops = 0;
  __atomic_store_n(&f->head, head + 1u, __ATOMIC_RELEASE);
  return true;
}

bool
fw_fifo_pop(FwFifo *f, FwSample *out)
{
  uint32_t tail = f->tail; /* only this side writes tail */
  uint32_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
  if (head == tail)
    return false;
  *out = f->slot[tail & FW_FIFO_MASK];
  __atomic_store_n(&f->tail, tail + 1u, __ATOMIC_RELEASE);
  return true;
}

uint32_t
fw_fifo_count(const FwFifo *f)
{
  uint32_t tail = __atomic_load_n(&f->tail, __ATOMIC_ACQUIRE);
  uint32_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
  return head - tail;
}
