/* fw-test.c: the firmware logic tests' harness (see fw-test.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fw-test.h"

#include <string.h>

#ifdef FW_TEST_SEMIHOSTING
/* ARM semihosting (the "Semihosting for AArch32 and AArch64" specification): the operation in r0,
 * its argument in r1, trapped by BKPT 0xAB on M-profile cores. */
#define SEMI_SYS_WRITE0 0x04
#define SEMI_SYS_EXIT 0x18
#define SEMI_ADP_STOPPED_APPLICATION_EXIT 0x20026
#define SEMI_ADP_STOPPED_RUNTIME_ERROR 0x20023

static int
semihost(int op, const void *arg)
{
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void
fw_test_print(const char *s)
{
  semihost(SEMI_SYS_WRITE0, s);
}

void
fw_test_exit(int code)
{
  /* On AArch32 SYS_EXIT takes the reason itself in r1; QEMU exits 0 for ApplicationExit and 1 for
   * any other reason. */
  uintptr_t reason = code == 0 ? SEMI_ADP_STOPPED_APPLICATION_EXIT : SEMI_ADP_STOPPED_RUNTIME_ERROR;
  semihost(SEMI_SYS_EXIT, (const void *)reason);
  for (;;)
    ;
}
#else
#include <stdio.h>

void
fw_test_print(const char *s)
{
  fputs(s, stdout);
  fflush(stdout);
}
#endif

static unsigned checks, failures, tests_failed;
static unsigned failures_at_start;

void
fw_test_print_i64(int64_t v)
{
  char buf[24];
  char *p = buf + sizeof buf;
  *--p = '\0';
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10u);
    u /= 10u;
  } while (u != 0);
  if (v < 0)
    *--p = '-';
  fw_test_print(p);
}

void
fw_test_print_hex(uint64_t v)
{
  char buf[24];
  char *p = buf + sizeof buf;
  *--p = '\0';
  do {
    *--p = "0123456789ABCDEF"[v & 0xFu];
    v >>= 4;
  } while (v != 0);
  *--p = 'x';
  *--p = '0';
  fw_test_print(p);
}

static void
print_where(const char *file, int line)
{
  const char *base = strrchr(file, '/');
  fw_test_print("  FAIL ");
  fw_test_print(base ? base + 1 : file);
  fw_test_print(":");
  fw_test_print_i64(line);
  fw_test_print(": ");
}

bool
fw_test_check(bool ok, const char *expr, const char *file, int line)
{
  checks++;
  if (!ok) {
    failures++;
    print_where(file, line);
    fw_test_print(expr);
    fw_test_print("\n");
  }
  return ok;
}

bool
fw_test_check_eq(int64_t got, int64_t want, const char *got_expr, const char *want_expr,
                 const char *file, int line)
{
  checks++;
  if (got != want) {
    failures++;
    print_where(file, line);
    fw_test_print(got_expr);
    fw_test_print(" == ");
    fw_test_print(want_expr);
    fw_test_print(": got ");
    fw_test_print_i64(got);
    fw_test_print(" (");
    fw_test_print_hex((uint64_t)got);
    fw_test_print("), want ");
    fw_test_print_i64(want);
    fw_test_print(" (");
    fw_test_print_hex((uint64_t)want);
    fw_test_print(")\n");
    return false;
  }
  return true;
}

bool
fw_test_check_mem(const void *got, const void *want, size_t n, const char *got_expr,
                  const char *want_expr, const char *file, int line)
{
  checks++;
  const uint8_t *a = got, *b = want;
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) {
      failures++;
      print_where(file, line);
      fw_test_print(got_expr);
      fw_test_print(" differs from ");
      fw_test_print(want_expr);
      fw_test_print(" at byte ");
      fw_test_print_i64((int64_t)i);
      fw_test_print(": got ");
      fw_test_print_hex(a[i]);
      fw_test_print(", want ");
      fw_test_print_hex(b[i]);
      fw_test_print("\n");
      return false;
    }
  }
  return true;
}

void
fw_test_run(const char *name, void (*fn)(void))
{
  failures_at_start = failures;
  fn();
  bool ok = failures == failures_at_start;
  if (!ok)
    tests_failed++;
  fw_test_print(ok ? "ok   " : "FAIL ");
  fw_test_print(name);
  fw_test_print("\n");
}

int
fw_test_finish(void)
{
  fw_test_print("checks: ");
  fw_test_print_i64(checks);
  fw_test_print(", failures: ");
  fw_test_print_i64(failures);
  fw_test_print(", tests failed: ");
  fw_test_print_i64(tests_failed);
  fw_test_print("\n");
  return failures == 0 && checks > 0 ? 0 : 1;
}
