/* fw-serial.h: the board serial number from the STM32's 96-bit unique device ID.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The 12 ID bytes (read from the chip's UID registers in address order) are one little-endian
 * 96-bit number, written as 20 digits of Crockford base 32 (0-9 and A-Z without I, L, O, U), most
 * significant first. Every ID gives a different serial, the serial is valid as a USB
 * iSerialNumber and as a stance-wire serial ([0-9A-Za-z-], at most 24 characters), and a person
 * can read it back from a label without confusing 0/O or 1/I/L. Plain C17, no allocation.
 */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_SERIAL_LEN 20

void fw_serial_from_uid(const uint8_t uid[12], char out[FW_SERIAL_LEN + 1]);

#ifdef __cplusplus
}
#endif
