/* flash.h: the calibration block in its own flash sector.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The block lives at the start of sector 7 (128 KiB at 0x08060000, the last sector of the
 * STM32F411CE); the linker script keeps code out of it. Writing erases the sector (about 1 s,
 * up to 2 s) and programs the block word by word, then reads it back. The code that waits on the
 * flash runs from RAM with interrupts off and keeps the watchdog fed, because the CPU cannot fetch
 * from flash while the flash is busy. Main thread only, and only while not streaming (the core
 * refuses WRITE_CALIB while streaming). A reflash with dfu-util/st-flash of the firmware image
 * leaves the sector alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Erases the sector, programs len bytes (a multiple of 4, at most the sector) and verifies them. */
bool flash_calib_write(const uint8_t *block, size_t len);
/* Copies the stored block; false when the sector is erased (nothing stored). The caller checks
 * the block's CRC. */
bool flash_calib_read(uint8_t *out, size_t len);
