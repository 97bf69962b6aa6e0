/* fw-test.h: a tiny test harness for the firmware's logic tests, on the host and under QEMU.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same test programs run twice: built for the host by the main project (printing with stdio,
 * under ASan+UBSan and valgrind in CI) and built as Cortex-M4 code by the firmware project, run
 * under `qemu-system-arm -M netduinoplus2` where they print through ARM semihosting (SYS_WRITE0)
 * and end with SYS_EXIT (define FW_TEST_SEMIHOSTING for that build). No printf on the board
 * side: the harness formats its few numbers itself.
 *
 * Use: a test file has static test functions that call FW_CHECK*(); main() calls
 * fw_test_run("name", fn) for each and returns fw_test_finish(). A failed check prints the file,
 * line, expression and, for the _EQ form, both values; the test continues with the next check.
 * Single-threaded: the checks must be called from one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void fw_test_run(const char *name, void (*fn)(void));
/* Prints a summary line and returns the process exit code (0 when every check passed). */
int fw_test_finish(void);

void fw_test_print(const char *s);
void fw_test_print_i64(int64_t v);
void fw_test_print_hex(uint64_t v);

bool fw_test_check(bool ok, const char *expr, const char *file, int line);
bool fw_test_check_eq(int64_t got, int64_t want, const char *got_expr, const char *want_expr,
                      const char *file, int line);
bool fw_test_check_mem(const void *got, const void *want, size_t n, const char *got_expr,
                       const char *want_expr, const char *file, int line);

#define FW_CHECK(e) fw_test_check((e) ? true : false, #e, __FILE__, __LINE__)
#define FW_CHECK_EQ(got, want)                                                                     \
  fw_test_check_eq((int64_t)(got), (int64_t)(want), #got, #want, __FILE__, __LINE__)
#define FW_CHECK_MEM(got, want, n)                                                                 \
  fw_test_check_mem((got), (want), (n), #got, #want, __FILE__, __LINE__)

#ifdef FW_TEST_SEMIHOSTING
/* Ends the QEMU run: exit status 0 when code is 0, else 1. Called by the QEMU startup code after
 * main() returns and by its fault handlers. */
void fw_test_exit(int code) __attribute__((noreturn));
#endif

#ifdef __cplusplus
}
#endif
