/* fuzz-probe.c: configure-time check (tests/meson.build) that clang can build and link a libFuzzer
 * target with the sanitizers fuzz-wire uses.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  (void)data;
  (void)size;
  return 0;
}
