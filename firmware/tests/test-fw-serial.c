/* test-fw-serial.c: the board serial from the 96-bit unique ID.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Expected strings computed independently with Python's arbitrary-precision integers:
 *   n = int.from_bytes(uid, 'little')
 *   ''.join('0123456789ABCDEFGHJKMNPQRSTVWXYZ'[(n >> (5 * (19 - k))) & 31] for k in range(20))
 */
#include <string.h>

#include "fw-serial.h"
#include "fw-test.h"

static void
check_serial(const uint8_t uid[12], const char *want)
{
  char s[FW_SERIAL_LEN + 1];
  memset(s, '#', sizeof s);
  fw_serial_from_uid(uid, s);
  FW_CHECK_EQ(strlen(s), FW_SERIAL_LEN);
  FW_CHECK_MEM(s, want, FW_SERIAL_LEN + 1);
}

static void
test_known(void)
{
  static const uint8_t zero[12] = {0};
  check_serial(zero, "00000000000000000000");
  static const uint8_t ones[12] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  check_serial(ones, "1ZZZZZZZZZZZZZZZZZZZ"); /* 2^96 - 1: the top digit holds one bit */
  static const uint8_t seq[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  check_serial(seq, "030B184GG1R60M2060G1");
  /* A typical STM32 ID: wafer X/Y 0x2F/0x3A, wafer 9, lot "Q302784" in ASCII. */
  static const uint8_t real[12] = {0x2F, 0x00, 0x3A, 0x00, 0x09, 0x51,
                                   0x33, 0x30, 0x32, 0x37, 0x38, 0x34};
  check_serial(real, "0D1R6WS30CTH1403M01F");
}

static void
test_distinct_and_valid(void)
{
  /* Flipping any one bit of the ID changes the serial, and only to characters of the alphabet
   * (never I, L, O or U). */
  static const uint8_t base[12] = {0x2F, 0x00, 0x3A, 0x00, 0x09, 0x51,
                                   0x33, 0x30, 0x32, 0x37, 0x38, 0x34};
  char ref[FW_SERIAL_LEN + 1];
  fw_serial_from_uid(base, ref);
  unsigned distinct = 0, valid = 0;
  for (int bit = 0; bit < 96; bit++) {
    uint8_t uid[12];
    memcpy(uid, base, sizeof uid);
    uid[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    char s[FW_SERIAL_LEN + 1];
    fw_serial_from_uid(uid, s);
    distinct += strcmp(s, ref) != 0 ? 1u : 0u;
    bool ok = true;
    for (int i = 0; i < FW_SERIAL_LEN; i++)
      ok = ok && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')) && s[i] != 'I' &&
           s[i] != 'L' && s[i] != 'O' && s[i] != 'U';
    valid += ok ? 1u : 0u;
  }
  FW_CHECK_EQ(distinct, 96);
  FW_CHECK_EQ(valid, 96);
}

int
main(void)
{
  fw_test_run("serial known ids", test_known);
  fw_test_run("serial distinct and valid", test_distinct_and_valid);
  return fw_test_finish();
}
