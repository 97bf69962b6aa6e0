/* fw-serial.c: board serial from the unique device ID (see fw-serial.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fw-serial.h"

static const char crockford[32] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
fw_serial_from_uid(const uint8_t uid[12], char out[FW_SERIAL_LEN + 1])
{
  /* 20 digits x 5 bits = 100 bits: the top four are zero. Digit k holds bits 99-5k .. 95-5k. */
  for (int k = 0; k < FW_SERIAL_LEN; k++) {
    unsigned v = 0;
    for (int b = 99 - 5 * k; b > 94 - 5 * k; b--) {
      unsigned bit = b < 96 ? (uid[b / 8] >> (b % 8)) & 1u : 0u;
      v = (v << 1) | bit;
    }
    out[k] = crockford[v];
  }
  out[FW_SERIAL_LEN] = '\0';
}
