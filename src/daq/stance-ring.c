/* stance-ring.c: lock-free single-producer single-consumer ring of samples (see stance-ring.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * head counts samples ever pushed, tail samples ever popped; both only grow (64 bits do not wrap
 * in the life of a recording: 2^64 samples at 4 kHz is 146 million years), so head - tail is the
 * number waiting and slot k lives at k & mask. Each counter has one writer: the producer owns
 * head, the consumer owns tail. A side reads its own counter relaxed and the other's with acquire,
 * so that the other side's slot copies (before its release store) are visible before we touch the
 * slots. The two counters sit on separate cache lines so the threads do not bounce one line.
 */
#include "stance-ring.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64

struct StanceRing {
  _Alignas(CACHE_LINE) _Atomic uint64_t head; /* written by the producer only */
  _Alignas(CACHE_LINE) _Atomic uint64_t tail; /* written by the consumer only */
  _Alignas(CACHE_LINE) size_t capacity;       /* a power of two */
  size_t mask;
  StanceSample *slots;
};

StanceRing *
stance_ring_new(size_t capacity)
{
  if (capacity == 0 || capacity > (SIZE_MAX / 2) / sizeof(StanceSample))
    return NULL;
  size_t cap = 1;
  while (cap < capacity)
    cap <<= 1;
  /* The struct is over-aligned (cache lines): plain malloc only promises 16 bytes. */
  size_t size = (sizeof(StanceRing) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
  StanceRing *r = aligned_alloc(CACHE_LINE, size);
  if (!r)
    return NULL;
  memset(r, 0, sizeof *r);
  r->slots = calloc(cap, sizeof(StanceSample));
  if (!r->slots) {
    free(r);
    return NULL;
  }
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  r->capacity = cap;
  r->mask = cap - 1;
  return r;
}

void
stance_ring_free(StanceRing *r)
{
  if (!r)
    return;
  free(r->slots);
  free(r);
}

size_t
stance_ring_capacity(const StanceRing *r)
{
  return r->capacity;
}

size_t
stance_ring_push(StanceRing *r, const StanceSample *s, size_t n)
{
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  /* Acquire: the consumer's copies out of the slots it released happened before we reuse them. */
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  size_t space = r->capacity - (size_t)(head - tail);
  if (n > space)
    n = space;
  if (n == 0)
    return 0;
  size_t first = (size_t)head & r->mask;
  size_t run = r->capacity - first; /* slots before the end of the array */
  if (run > n)
    run = n;
  memcpy(r->slots + first, s, run * sizeof *s);
  if (n > run)
    memcpy(r->slots, s + run, (n - run) * sizeof *s);
  /* Release: the slots are written before the consumer can see the new head. */
  atomic_store_explicit(&r->head, head + n, memory_order_release);
  return n;
}

size_t
stance_ring_pop(StanceRing *r, StanceSample *out, size_t max)
{
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  /* Acquire: pairs with the producer's release store of head. */
  uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  size_t n = (size_t)(head - tail);
  if (n > max)
    n = max;
  if (n == 0)
    return 0;
  size_t first = (size_t)tail & r->mask;
  size_t run = r->capacity - first;
  if (run > n)
    run = n;
  memcpy(out, r->slots + first, run * sizeof *out);
  if (n > run)
    memcpy(out + run, r->slots, (n - run) * sizeof *out);
  /* Release: our copies are done before the producer may overwrite these slots. */
  atomic_store_explicit(&r->tail, tail + n, memory_order_release);
  return n;
}

size_t
stance_ring_count(const StanceRing *r)
{
  /* tail first: head only grows, so head read afterwards is >= that tail and the difference
   * cannot underflow, whichever thread calls. */
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  return (size_t)(head - tail);
}

void
stance_ring_reset(StanceRing *r)
{
  uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  atomic_store_explicit(&r->tail, head, memory_order_release);
}
