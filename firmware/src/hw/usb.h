/* usb.h: USB full-speed device driver for the STM32F411's OTG FS core.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Polled from the main loop (usb_poll(); the OTG interrupt stays off), so nothing here races with
 * the main loop's own state; only the ADC interrupts run asynchronously, and they never touch USB.
 * Enumeration answers GET_DESCRIPTOR (device, configuration, string, BOS), the Microsoft OS 2.0
 * vendor request, SET_ADDRESS, SET/GET_CONFIGURATION, GET_STATUS, SET/CLEAR_FEATURE(ENDPOINT_HALT)
 * and GET/SET_INTERFACE; the descriptors come from fw-desc.c. The vendor interface has:
 *   0x02 OUT  commands: packets are assembled until a short (or zero-length) packet ends the
 *             transfer; then usb_command() hands the whole message to the caller, and the endpoint
 *             NAKs until usb_command_done()
 *   0x82 IN   replies: one transfer per message, a zero-length packet after a length that is a
 *             multiple of 64
 *   0x81 IN   stream frames: 512 bytes each (8 full packets, no zero-length packet)
 * CLEAR_FEATURE(ENDPOINT_HALT) on an endpoint also discards what it still held (an unsent frame or
 * reply, a partial command): a host opening the board clears the halts to start clean. A USB
 * reset or SET_CONFIGURATION(0) does the same for all three.
 *
 * Buffers passed to usb_reply_send() and usb_stream_send() must stay untouched until the
 * endpoint is idle again. Main thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* serial is the iSerialNumber string (kept, not copied); bcd_device the firmware version. */
void usb_init(const char *serial, uint16_t bcd_device);
void usb_poll(void);
bool usb_configured(void);
/* Counts bus resets and SET_CONFIGURATION requests: when it changes, the host has started over
 * and a running stream ends without a FINAL frame (docs/protocol.md, section 9). */
uint32_t usb_session(void);

/* A whole command message waiting: its bytes (valid until usb_command_done()). */
bool usb_command(const uint8_t **msg, size_t *len);
void usb_command_done(void);

bool usb_reply_idle(void);
void usb_reply_send(const uint8_t *msg, size_t len);

bool usb_stream_idle(void);
void usb_stream_send(const uint8_t *frame);
/* Drops a frame not yet taken by the host (a new stream must not start with an old frame). */
void usb_stream_abort(void);
