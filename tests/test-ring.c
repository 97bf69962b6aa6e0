/* Tests of the lock-free SPSC sample ring: capacity rounding, a full ring refusing pushes without
 * overwriting anything, wrap-around over many cycles, and a two-thread stress in which every
 * sample must arrive exactly once, in order, with its payload intact.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stance-ring.h"
#include "stance-test.h"

/* For checks inside loops: Check's ck_assert* records a mark point (a write to its pipe) on every
 * success, which costs a system call per check, and valgrind makes those very slow. */
#define require(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* The payload a sample with this index carries: every field depends on the index, so a torn or
 * stale copy (a slot read before the producer finished writing it, or after it was reused) shows
 * up as a mismatch. */
static void
fill_sample(StanceSample *s, uint64_t index)
{
  s->index = index;
  s->status = (uint16_t)(index * 2654435761u >> 7);
  for (int c = 0; c < 8; c++)
    s->v[c] = (double)(int64_t)(index * 8 + (uint64_t)c) - 1.5 * c;
}

static bool
sample_ok(const StanceSample *s, uint64_t index)
{
  StanceSample want;
  fill_sample(&want, index);
  if (s->index != index || s->status != want.status)
    return false;
  for (int c = 0; c < 8; c++)
    if (s->v[c] != want.v[c])
      return false;
  return true;
}

START_TEST(test_capacity_rounding)
{
  static const size_t asked[] = {1, 2, 3, 5, 1000, 1024, 1025, 16000};
  static const size_t got[] = {1, 2, 4, 8, 1024, 1024, 2048, 16384};
  for (size_t k = 0; k < sizeof asked / sizeof asked[0]; k++) {
    StanceRing *r = stance_ring_new(asked[k]);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(stance_ring_capacity(r), got[k]);
    ck_assert_uint_eq(stance_ring_count(r), 0);
    stance_ring_free(r);
  }
  /* Zero and sizes whose byte count cannot exist are refused, not wrapped around. */
  ck_assert_ptr_null(stance_ring_new(0));
  ck_assert_ptr_null(stance_ring_new(SIZE_MAX));
  ck_assert_ptr_null(stance_ring_new(SIZE_MAX / sizeof(StanceSample)));
  stance_ring_free(NULL);
}
END_TEST

START_TEST(test_full_refuses)
{
  StanceRing *r = stance_ring_new(8);
  ck_assert_ptr_nonnull(r);
  StanceSample in[12], out[12];
  for (int i = 0; i < 12; i++)
    fill_sample(&in[i], (uint64_t)i);

  /* 12 offered, 8 fit; the ring is then full and refuses even one more. */
  ck_assert_uint_eq(stance_ring_push(r, in, 12), 8);
  ck_assert_uint_eq(stance_ring_count(r), 8);
  ck_assert_uint_eq(stance_ring_push(r, in + 8, 1), 0);
  ck_assert_uint_eq(stance_ring_count(r), 8);

  /* Nothing was overwritten: the first samples are still 0, 1, 2. */
  ck_assert_uint_eq(stance_ring_pop(r, out, 3), 3);
  for (int i = 0; i < 3; i++)
    ck_assert(sample_ok(&out[i], (uint64_t)i));
  /* Room for exactly 3 more: 8, 9, 10 go in (wrapping to the start of the array), 11 does not. */
  ck_assert_uint_eq(stance_ring_push(r, in + 8, 4), 3);
  ck_assert_uint_eq(stance_ring_count(r), 8);
  ck_assert_uint_eq(stance_ring_pop(r, out, 12), 8);
  for (int i = 0; i < 8; i++)
    ck_assert_msg(sample_ok(&out[i], (uint64_t)(i + 3)), "sample %d is index %llu", i,
                  (unsigned long long)out[i].index);
  /* Empty: pop gives nothing and leaves out untouched. */
  memset(out, 0xAB, sizeof out);
  ck_assert_uint_eq(stance_ring_pop(r, out, 12), 0);
  ck_assert_uint_eq(out[0].index, 0xABABABABABABABABull);
  /* Zero-length calls are harmless. */
  ck_assert_uint_eq(stance_ring_push(r, in, 0), 0);
  ck_assert_uint_eq(stance_ring_pop(r, out, 0), 0);
  stance_ring_free(r);
}
END_TEST

START_TEST(test_wraparound_cycles)
{
  /* 16 slots, 20000 cycles of a push and a pop of varying sizes (1-16, never in step with the
   * capacity), so every possible split of a copy at the end of the array occurs many times. */
  StanceRing *r = stance_ring_new(16);
  ck_assert_ptr_nonnull(r);
  StanceSample in[16], out[16];
  uint64_t next_in = 0, next_out = 0;
  for (int cycle = 0; cycle < 20000; cycle++) {
    size_t want = 1 + (size_t)(cycle * 7 % 16);
    size_t space = 16 - stance_ring_count(r);
    for (size_t k = 0; k < want; k++)
      fill_sample(&in[k], next_in + k);
    size_t pushed = stance_ring_push(r, in, want);
    require(pushed == (want < space ? want : space), "cycle %d: pushed %zu of %zu with %zu free",
            cycle, pushed, want, space);
    next_in += pushed;
    size_t take = 1 + (size_t)(cycle * 5 % 13);
    size_t popped = stance_ring_pop(r, out, take);
    require(popped <= take, "cycle %d: popped %zu, asked for %zu", cycle, popped, take);
    for (size_t k = 0; k < popped; k++)
      require(sample_ok(&out[k], next_out + k), "cycle %d: got index %llu, expected %llu", cycle,
              (unsigned long long)out[k].index, (unsigned long long)(next_out + k));
    next_out += popped;
    require(stance_ring_count(r) == next_in - next_out, "cycle %d: count %zu, expected %llu", cycle,
            stance_ring_count(r), (unsigned long long)(next_in - next_out));
  }
  /* Many times around the array. */
  ck_assert_uint_gt(next_in, 100000);
  /* reset drops what is waiting; the ring then works on from the same counters. */
  ck_assert_uint_eq(stance_ring_push(r, in, 4), 4);
  stance_ring_reset(r);
  ck_assert_uint_eq(stance_ring_count(r), 0);
  ck_assert_uint_eq(stance_ring_pop(r, out, 16), 0);
  ck_assert_uint_eq(stance_ring_push(r, in, 16), 16);
  ck_assert_uint_eq(stance_ring_pop(r, out, 16), 16);
  for (size_t k = 0; k < 16; k++)
    ck_assert_uint_eq(out[k].index, in[k].index);
  stance_ring_free(r);
}
END_TEST

/* ---- Two threads ---- */

typedef struct {
  StanceRing *ring;
  uint64_t total;
  uint64_t seed;
  /* consumer results */
  uint64_t received;
  uint64_t first_bad; /* UINT64_MAX when every sample was right */
  uint64_t bad_index;
  uint64_t full_waits, empty_waits;
} Stress;

static uint64_t
xorshift(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void *
producer(void *arg)
{
  Stress *st = arg;
  uint64_t rng = st->seed;
  StanceSample batch[300];
  uint64_t next = 0;
  while (next < st->total) {
    size_t n = 1 + (size_t)(xorshift(&rng) % 300);
    if (n > st->total - next)
      n = (size_t)(st->total - next);
    for (size_t k = 0; k < n; k++)
      fill_sample(&batch[k], next + k);
    /* Push the whole batch, waiting while the consumer is behind (a real source would count
     * the refused samples as lost; here every sample must arrive). */
    size_t done = 0;
    while (done < n) {
      size_t p = stance_ring_push(st->ring, batch + done, n - done);
      if (p == 0) {
        st->full_waits++;
        sched_yield();
      }
      done += p;
    }
    next += n;
  }
  return NULL;
}

static void *
consumer(void *arg)
{
  Stress *st = arg;
  uint64_t rng = st->seed ^ 0x9E3779B97F4A7C15ull;
  StanceSample batch[400];
  st->first_bad = UINT64_MAX;
  while (st->received < st->total) {
    size_t want = 1 + (size_t)(xorshift(&rng) % 400);
    size_t got = stance_ring_pop(st->ring, batch, want);
    if (got == 0) {
      st->empty_waits++;
      sched_yield();
      continue;
    }
    for (size_t k = 0; k < got; k++) {
      if (st->first_bad == UINT64_MAX && !sample_ok(&batch[k], st->received + k)) {
        st->first_bad = st->received + k;
        st->bad_index = batch[k].index;
      }
    }
    st->received += got;
  }
  return NULL;
}

START_TEST(test_two_thread_stress)
{
  /* A few million samples (about 3 s of CPU here); under valgrind, which runs the threads one at
   * a time and 50 times slower, 50 thousand still go round the ring a hundred times. */
  const uint64_t total = stance_test_under_valgrind() ? 50000 : 4000000;
  /* A small ring (512 slots) so that it is often full and often empty: both the producer's and
   * the consumer's view of the other counter are exercised at their limits. */
  Stress st = {.ring = stance_ring_new(500), .total = total, .seed = 0x5EED1234ABCDull};
  ck_assert_ptr_nonnull(st.ring);
  ck_assert_uint_eq(stance_ring_capacity(st.ring), 512);
  pthread_t tp, tc;
  ck_assert_int_eq(pthread_create(&tc, NULL, consumer, &st), 0);
  ck_assert_int_eq(pthread_create(&tp, NULL, producer, &st), 0);
  ck_assert_int_eq(pthread_join(tp, NULL), 0);
  ck_assert_int_eq(pthread_join(tc, NULL), 0);
  ck_assert_msg(st.first_bad == UINT64_MAX,
                "sample %llu arrived wrong (index %llu or its payload differs)",
                (unsigned long long)st.first_bad, (unsigned long long)st.bad_index);
  /* Exactly once: the consumer stopped at total and nothing is left over. */
  ck_assert_uint_eq(st.received, total);
  ck_assert_uint_eq(stance_ring_count(st.ring), 0);
  stance_ring_free(st.ring);
}
END_TEST

static Suite *
ring_suite(void)
{
  Suite *s = suite_create("ring");
  TCase *tc = tcase_create("single-thread");
  tcase_add_test(tc, test_capacity_rounding);
  tcase_add_test(tc, test_full_refuses);
  tcase_add_test(tc, test_wraparound_cycles);
  suite_add_tcase(s, tc);
  TCase *mt = tcase_create("threads");
  tcase_add_test(mt, test_two_thread_stress);
  suite_add_tcase(s, mt);
  return s;
}

int
main(void)
{
  return stance_test_run(ring_suite());
}
