/* fw-desc.h: the board's USB descriptors, built from the identity at run time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain C17, no allocation. Used by the firmware's USB driver (GET_DESCRIPTOR requests), by its
 * logic tests, and by the host test suite's emulated plate (umockdev's descriptors= line is the
 * device descriptor followed by the configuration descriptor set, exactly these bytes).
 *
 * Device: USB 2.01 (bcdUSB 0x0201, so Windows asks for the BOS), class 0 (per interface),
 * VID 0x1209 PID 0x0001, bcdDevice = firmware major.minor, strings 1 manufacturer "Stance",
 * 2 product "Stance force plates", 3 serial. One configuration, bus-powered 100 mA, one vendor
 * interface with the three bulk endpoints of stance-wire.h. BOS with the Microsoft OS 2.0
 * platform capability (vendor code FW_DESC_MS_VENDOR_CODE) whose descriptor set gives
 * CompatibleID "WINUSB" and a DeviceInterfaceGUID, so Windows binds WinUSB without a driver.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_DESC_MS_VENDOR_CODE 0x20
#define FW_DESC_MS_OS_20_INDEX 0x07 /* wIndex of the MS OS 2.0 descriptor-set request */

/* Each returns the descriptor length written into out, or 0 when cap is too small (or, for
 * strings, the index is unknown). */
size_t fw_desc_device(uint16_t bcd_device, uint8_t *out, size_t cap);
size_t fw_desc_config(uint8_t *out, size_t cap); /* configuration + interface + 3 endpoints */
/* index 0: language list (0x0409); 1-3 as above (UTF-16LE from ASCII). */
size_t fw_desc_string(uint8_t index, const char *serial, uint8_t *out, size_t cap);
size_t fw_desc_bos(uint8_t *out, size_t cap);
size_t fw_desc_ms_os_20(uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif
