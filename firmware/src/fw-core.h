/* fw-core.h: the board's portable logic: command handling, streaming state, frame building.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain C17 without allocation, built three ways: into the firmware (Cortex-M4), into the
 * firmware's logic tests (host and QEMU), and into the host test suite's emulated plate
 * (tests/test-usb.c), which answers usbfs requests by running exactly this code over a simulated
 * ADC. Nothing here touches a register: the hardware is reached through FwPlatform hooks.
 *
 * Data path: the ADC's DRDY interrupt (after SPI DMA) calls fw_core_push_sample() (producer); the
 * main loop calls fw_core_poll_frame() (consumer), which builds 512-byte stream frames from the
 * sample FIFO whenever 18 samples are waiting or the oldest waiting sample is older than
 * FW_CORE_FLUSH_US, and fw_core_handle_command() for each command message received on the OUT
 * endpoint. Single producer, single consumer: push may run in an interrupt that preempts poll.
 *
 * Ownership: the caller owns the FwCore storage (static on the board); no pointers are kept into
 * caller buffers after a call returns, except the FwPlatform hooks and their ctx and the FwIdentity
 * strings, which must outlive the core.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw-fifo.h"
#include "stance-wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A partial frame is sent when its oldest sample has waited this long (microseconds). */
#define FW_CORE_FLUSH_US 10000u

/* Hardware hooks. Every hook returns true on success. ctx is passed back unchanged. */
typedef struct {
  void *ctx;
  /* Program the ADC for a rate code (STANCE_WIRE_RATE_*); called only while stopped. */
  bool (*set_rate)(void *ctx, int rate_code);
  /* Start/stop conversions (DRDY interrupts begin/end). */
  bool (*adc_start)(void *ctx);
  bool (*adc_stop)(void *ctx);
  /* Persist a checked calibration block (STANCE_WIRE_CALIB_SIZE bytes) to flash. */
  bool (*calib_write)(void *ctx, const uint8_t *block, size_t len);
  /* Read the stored block into out (STANCE_WIRE_CALIB_SIZE bytes); false when none is stored. The
   * core checks its CRC before using it. */
  bool (*calib_read)(void *ctx, uint8_t *out, size_t len);
  /* Ask for a reset once the current reply has been sent. */
  void (*request_reset)(void *ctx);
  /* Microsecond clock (wraps at 2^32). */
  uint32_t (*now_us)(void *ctx);
} FwPlatform;

typedef struct {
  const char *serial;           /* [0-9A-Za-z-], at most 24 characters */
  const char *firmware_version; /* at most 16 characters */
  const char *hardware;         /* at most 24 characters */
  uint32_t vref_uv;
  uint8_t pga_gain;
} FwIdentity;

typedef struct {
  FwPlatform hw;
  FwIdentity id;
  FwFifo fifo;
  volatile bool streaming;
  int rate_code;
  uint32_t seq;        /* next frame's sequence number */
  uint64_t next_index; /* sample index of the next sample the consumer will frame */
  bool final_pending;  /* STOP received: one FINAL frame still to send */
  uint32_t oldest_us;  /* when the oldest waiting sample arrived */
  bool oldest_valid;
  uint64_t frames_sent;
} FwCore;

/* Initialises the core (stopped, 1000 Hz). Returns false when the identity is invalid or a hook is
 * missing (every hook is required). */
bool fw_core_init(FwCore *c, const FwPlatform *hw, const FwIdentity *id);

/* Producer (DRDY interrupt): one conversion. counts are sign-extended 24-bit values, sat the
 * per-channel rail mask, status STANCE_WIRE_SAMPLE_* bits. Never blocks; when the FIFO is full
 * the sample is counted as dropped. Ignored while not streaming. */
void fw_core_push_sample(FwCore *c, const int32_t counts[STANCE_WIRE_CHANNELS], uint8_t sat,
                         uint8_t status);

/* Consumer (main loop): writes one 512-byte frame into out and returns true when a frame is due
 * (18 samples waiting, the flush time passed, or the FINAL frame after STOP); false otherwise. */
bool fw_core_poll_frame(FwCore *c, uint8_t out[STANCE_WIRE_FRAME_SIZE]);

/* Handles one command message (the bytes of one OUT transfer) and writes the reply message into
 * reply[0..cap), returning its length (always > 0: malformed commands get an error reply with the
 * opcode and tag echoed when they could be read, else opcode 0 and tag 0). cap must be at least
 * STANCE_WIRE_MSG_MAX. */
size_t fw_core_handle_command(FwCore *c, const uint8_t *cmd, size_t len, uint8_t *reply,
                              size_t cap);

#ifdef __cplusplus
}
#endif
