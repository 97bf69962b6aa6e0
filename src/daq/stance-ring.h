/* stance-ring.h: lock-free single-producer single-consumer ring of samples.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain C17 with <stdatomic.h>; part of the core (no GLib). The acquisition thread of a device
 * source is the only producer; the thread that drains the source (the UI's frame-clock tick, the
 * CLI's main loop) is the only consumer. Head and tail are free-running 64-bit counters; the
 * producer stores a slot then publishes head with release order, the consumer reads head with
 * acquire order, copies, then publishes tail with release order. No locks, no allocation after
 * stance_ring_new(). A full ring refuses the push (the producer counts the loss and the samples
 * show up as a gap in the sample index); nothing is overwritten.
 *
 * Ownership: the creator owns the ring and frees it when neither thread uses it any more.
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One sample as a device source delivers it. The meaning of v[] follows the source's layout
 * (stance-recording.h): CELLS 8 raw ADC counts (exact integers); PLATES force left, force right
 * [N] and, when the source has CoP, x/y left then x/y right [mm]; COMBINED force [N] then x, y.
 * index counts samples since start, gaps included: a consumer that sees index jump by k + 1
 * records k gap samples before this one (STANCE_STATUS_GAP). */
typedef struct {
  uint64_t index;
  uint16_t status; /* STANCE_STATUS_* (saturation mask, OVERFLOW) */
  double v[8];
} StanceSample;

typedef struct StanceRing StanceRing;

/* capacity is rounded up to a power of two; NULL on out of memory or capacity 0. */
StanceRing *stance_ring_new(size_t capacity);
void stance_ring_free(StanceRing *r);
size_t stance_ring_capacity(const StanceRing *r);

/* Producer only: pushes up to n samples, returns how many fit (the rest were refused). */
size_t stance_ring_push(StanceRing *r, const StanceSample *s, size_t n);
/* Consumer only: pops up to max samples into out, returns how many. */
size_t stance_ring_pop(StanceRing *r, StanceSample *out, size_t max);
/* Either thread: samples waiting (a snapshot). */
size_t stance_ring_count(const StanceRing *r);
/* Consumer only, while the producer is stopped: drops everything waiting. */
void stance_ring_reset(StanceRing *r);

#ifdef __cplusplus
}
#endif
