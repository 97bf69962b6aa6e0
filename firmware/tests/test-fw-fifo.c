/* test-fw-fifo.c: the ISR sample FIFO: order, wrap-around of the free-running counters, drop
 * counting on a full FIFO, and a producer that interrupts the consumer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every sample carries its own production number in its counts (counts[i] = 8 * n + i), so the
 * consumer can check that each popped sample is whole (not torn by a concurrent push) and that
 * next_index + dropped_before names exactly the sample it holds: the invariant the stream's sample
 * indices are built on.
 */
#include <string.h>

#include "fw-fifo.h"
#include "fw-test.h"

static FwFifo fifo;

static void
make(uint32_t n, int32_t counts[8])
{
  for (int i = 0; i < 8; i++)
    counts[i] = (int32_t)(n * 8u + (uint32_t)i);
}

static bool
push_n(FwFifo *f, uint32_t n)
{
  int32_t counts[8];
  make(n, counts);
  return fw_fifo_push(f, counts, (uint8_t)(n & 0xFFu), (uint8_t)((n >> 8) & 0xFFu));
}

/* Checks a popped sample against the consumer's running index; returns the next index. */
static uint32_t
check_sample(const FwSample *s, uint32_t next)
{
  uint32_t idx = next + s->dropped_before;
  bool whole = true;
  for (int i = 1; i < 8; i++)
    whole = whole && s->counts[i] == s->counts[0] + i;
  FW_CHECK(whole);
  FW_CHECK_EQ((uint32_t)s->counts[0] / 8u, idx);
  FW_CHECK_EQ(s->sat, idx & 0xFFu);
  FW_CHECK_EQ(s->status, (idx >> 8) & 0xFFu);
  return idx + 1;
}

static void
test_empty(void)
{
  fw_fifo_init(&fifo);
  FwSample s;
  FW_CHECK_EQ(fw_fifo_count(&fifo), 0);
  FW_CHECK(!fw_fifo_pop(&fifo, &s));
  FW_CHECK_EQ(fifo.pending_drops, 0);
  FW_CHECK_EQ(fifo.total_drops, 0);
}

static void
test_order(void)
{
  fw_fifo_init(&fifo);
  for (uint32_t n = 0; n < 10; n++)
    FW_CHECK(push_n(&fifo, n));
  FW_CHECK_EQ(fw_fifo_count(&fifo), 10);
  uint32_t next = 0;
  FwSample s;
  for (uint32_t n = 0; n < 10; n++) {
    FW_CHECK(fw_fifo_pop(&fifo, &s));
    FW_CHECK_EQ(s.dropped_before, 0);
    next = check_sample(&s, next);
  }
  FW_CHECK(!fw_fifo_pop(&fifo, &s));
  FW_CHECK_EQ(next, 10);
}

static void
test_full_drops(void)
{
  fw_fifo_init(&fifo);
  uint32_t n = 0;
  for (; n < FW_FIFO_CAPACITY; n++)
    FW_CHECK(push_n(&fifo, n));
  FW_CHECK_EQ(fw_fifo_count(&fifo), FW_FIFO_CAPACITY);
  /* Three conversions arrive while the FIFO is full: each is refused and counted. */
  for (int k = 0; k < 3; k++, n++)
    FW_CHECK(!push_n(&fifo, n));
  FW_CHECK_EQ(fifo.pending_drops, 3);
  FW_CHECK_EQ(fifo.total_drops, 3);
  FW_CHECK_EQ(fw_fifo_count(&fifo), FW_FIFO_CAPACITY);

  FwSample s;
  uint32_t next = 0;
  FW_CHECK(fw_fifo_pop(&fifo, &s));
  next = check_sample(&s, next);
  FW_CHECK(push_n(&fifo, n++)); /* room for one: it carries the three drops */
  FW_CHECK_EQ(fifo.pending_drops, 0);
  FW_CHECK(!push_n(&fifo, n++)); /* full again */
  FW_CHECK_EQ(fifo.pending_drops, 1);

  for (uint32_t k = 0; k < FW_FIFO_CAPACITY - 1; k++) {
    FW_CHECK(fw_fifo_pop(&fifo, &s));
    FW_CHECK_EQ(s.dropped_before, 0);
    next = check_sample(&s, next);
  }
  FW_CHECK(fw_fifo_pop(&fifo, &s));
  FW_CHECK_EQ(s.dropped_before, 3);
  next = check_sample(&s, next);
  FW_CHECK_EQ(next, FW_FIFO_CAPACITY + 4);
  FW_CHECK(!fw_fifo_pop(&fifo, &s));
  FW_CHECK_EQ(fifo.total_drops, 4);
}

static void
test_drop_saturation(void)
{
  fw_fifo_init(&fifo);
  for (uint32_t n = 0; n < FW_FIFO_CAPACITY; n++)
    FW_CHECK(push_n(&fifo, n));
  for (uint32_t k = 0; k < 70000; k++)
    fw_fifo_push(&fifo, (const int32_t[8]){0}, 0, 0);
  FW_CHECK_EQ(fifo.pending_drops, 70000);
  FW_CHECK_EQ(fifo.total_drops, 70000);
  FwSample s;
  FW_CHECK(fw_fifo_pop(&fifo, &s));
  FW_CHECK(push_n(&fifo, 0));
  while (fw_fifo_count(&fifo) > 1)
    fw_fifo_pop(&fifo, &s);
  FW_CHECK(fw_fifo_pop(&fifo, &s));
  FW_CHECK_EQ(s.dropped_before, 65535); /* saturated: 70000 do not fit in 16 bits */
  FW_CHECK_EQ(fifo.pending_drops, 0);
}

static uint32_t lcg_state;
static uint32_t
lcg(void)
{
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return lcg_state >> 8;
}

/* head and tail are free-running: start them just below 2^32 and run across the wrap. */
static void
test_wrap(void)
{
  fw_fifo_init(&fifo);
  fifo.head = fifo.tail = 0xFFFFFF00u;
  lcg_state = 1;
  uint32_t produced = 0, next = 0, popped = 0;
  FwSample s;
  while (produced < 2000) {
    uint32_t k = lcg() % 40u;
    for (uint32_t i = 0; i < k; i++, produced++)
      FW_CHECK(push_n(&fifo, produced));
    FW_CHECK(fw_fifo_count(&fifo) <= FW_FIFO_CAPACITY);
    k = lcg() % 40u;
    for (uint32_t i = 0; i < k && fw_fifo_pop(&fifo, &s); i++, popped++)
      next = check_sample(&s, next);
    if (fw_fifo_count(&fifo) > FW_FIFO_CAPACITY - 40u)
      while (fw_fifo_pop(&fifo, &s))
        next = check_sample(&s, next), popped++;
  }
  while (fw_fifo_pop(&fifo, &s))
    next = check_sample(&s, next), popped++;
  FW_CHECK(fifo.head < 0x1000u); /* the counters did wrap */
  FW_CHECK_EQ(popped, produced);
  FW_CHECK_EQ(next, produced);
  FW_CHECK_EQ(fifo.total_drops, 0);
}

/* The ISR's bursts against a slower main loop, as a deterministic schedule: the producer pushes
 * 0-60 conversions at a time, the consumer pops 0-50; the FIFO overflows often. */
static void
test_interleaved_schedule(void)
{
  fw_fifo_init(&fifo);
  lcg_state = 7;
  uint32_t produced = 0, next = 0, stored = 0, popped = 0;
  FwSample s;
  for (int step = 0; step < 4000; step++) {
    uint32_t k = lcg() % 61u;
    for (uint32_t i = 0; i < k; i++, produced++)
      stored += push_n(&fifo, produced) ? 1u : 0u;
    k = lcg() % 51u;
    for (uint32_t i = 0; i < k && fw_fifo_pop(&fifo, &s); i++, popped++)
      next = check_sample(&s, next);
  }
  while (fw_fifo_pop(&fifo, &s))
    next = check_sample(&s, next), popped++;
  FW_CHECK_EQ(popped, stored);
  FW_CHECK(fifo.total_drops > 1000); /* the schedule really overflowed */
  FW_CHECK_EQ(fifo.total_drops, produced - stored);
  /* Drops after the last stored sample are still pending: together they account for everything. */
  FW_CHECK_EQ(next + fifo.pending_drops, produced);
}

/* ---- A real concurrent producer: a SysTick interrupt under QEMU, a thread on the host ---- */

#define CONCURRENT_N 20000u
/* Written by the producer only; atomic so the host's consumer thread may read them. */
static volatile uint32_t producer_n;
static volatile uint32_t producer_stored;

static uint32_t
produced_so_far(void)
{
  return __atomic_load_n(&producer_n, __ATOMIC_ACQUIRE);
}

static void
producer_step(void)
{
  uint32_t n = producer_n;
  if (n < CONCURRENT_N) {
    if (push_n(&fifo, n))
      __atomic_store_n(&producer_stored, producer_stored + 1u, __ATOMIC_RELEASE);
    __atomic_store_n(&producer_n, n + 1u, __ATOMIC_RELEASE);
  }
}

#ifdef FW_TEST_SEMIHOSTING
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

void SysTick_Handler(void);
void
SysTick_Handler(void)
{
  producer_step();
}

static void
producer_begin(void)
{
  SYST_RVR = 999; /* every 1000 CPU clocks */
  SYST_CVR = 0;
  SYST_CSR = 0x7; /* processor clock, interrupt, enable */
}

static void
producer_end(void)
{
  SYST_CSR = 0;
}

static void
producer_relax(void)
{
}
#else
#include <pthread.h>
#include <sched.h>

static pthread_t producer_thread;

static void *
producer_main(void *arg)
{
  (void)arg;
  while (produced_so_far() < CONCURRENT_N) {
    producer_step();
    if ((produced_so_far() & 63u) == 0)
      sched_yield();
  }
  return NULL;
}

static void
producer_begin(void)
{
  pthread_create(&producer_thread, NULL, producer_main, NULL);
}

static void
producer_end(void)
{
  pthread_join(producer_thread, NULL);
}

static void
producer_relax(void)
{
  sched_yield();
}
#endif

/* Lets the producer run k more conversions (bounded: a dead producer ends the wait). */
static void
wait_for_producer(uint32_t k)
{
  uint32_t target = produced_so_far() + k;
  for (uint32_t spin = 0; spin < 20000000u; spin++) {
    uint32_t n = produced_so_far();
    if (n >= target || n >= CONCURRENT_N)
      return;
    producer_relax();
  }
}

static void
test_concurrent_producer(void)
{
  fw_fifo_init(&fifo);
  producer_n = 0;
  producer_stored = 0;
  uint32_t next = 0, popped = 0, bad = 0;
  FwSample s;
  producer_begin();
  /* The consumer alternates between draining and waiting: for a few conversions, or for more
   * than the FIFO holds, so that the FIFO both empties (races on the empty state) and overflows
   * (drops while the consumer reads). It gives up when the producer makes no progress for a long
   * while, so a producer that never runs fails the test instead of hanging it. */
  uint32_t last_n = 0, stalled = 0;
  for (uint32_t round = 0; produced_so_far() < CONCURRENT_N && stalled < 100000u; round++) {
    while (fw_fifo_pop(&fifo, &s)) {
      uint32_t before = next;
      next = check_sample(&s, next);
      bad += next <= before ? 1u : 0u;
      popped++;
    }
    if (round % 16u == 15u)
      wait_for_producer(FW_FIFO_CAPACITY + 40u);
    else if (round % 4u == 3u)
      wait_for_producer(3);
    uint32_t n = produced_so_far();
    stalled = n == last_n ? stalled + 1u : 0u;
    last_n = n;
  }
  producer_end();
  while (fw_fifo_pop(&fifo, &s))
    next = check_sample(&s, next), popped++;
  FW_CHECK_EQ(producer_n, CONCURRENT_N);
  FW_CHECK_EQ(bad, 0);
  FW_CHECK(popped > 0);
  FW_CHECK(fifo.total_drops > 0); /* both the empty and the full FIFO were reached */
  FW_CHECK_EQ(popped, producer_stored);
  FW_CHECK_EQ(fifo.total_drops, CONCURRENT_N - producer_stored);
  FW_CHECK_EQ(next + fifo.pending_drops, CONCURRENT_N);
  fw_test_print("  concurrent: ");
  fw_test_print_i64(popped);
  fw_test_print(" popped, ");
  fw_test_print_i64(fifo.total_drops);
  fw_test_print(" dropped\n");
}

int
main(void)
{
  fw_test_run("fifo empty", test_empty);
  fw_test_run("fifo order", test_order);
  fw_test_run("fifo full drops", test_full_drops);
  fw_test_run("fifo drop saturation", test_drop_saturation);
  fw_test_run("fifo wrap-around", test_wrap);
  fw_test_run("fifo interleaved schedule", test_interleaved_schedule);
  fw_test_run("fifo concurrent producer", test_concurrent_producer);
  return fw_test_finish();
}
