/* main.c: the plate firmware's start-up and main loop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Start-up: clocks, watchdog, LED, serial number from the unique ID, the portable core with its
 * hardware hooks, the ADC, USB. Then one loop, never blocking (the watchdog is fed only here, so a
 * stuck loop resets the board within ~0.5 s; the one long step, the flash erase of WRITE_CALIB,
 * runs from RAM and feeds the watchdog itself):
 *   USB events -> a complete command is handled once the reply endpoint is free -> a stream frame
 *   is built once the stream endpoint is free -> a requested reset -> the LED.
 * The ADC interrupts produce samples into the core's FIFO meanwhile. When the host does not read
 * the stream, frames wait, the FIFO fills, and the core counts the drops into the next frame.
 */
#include <stdbool.h>
#include <stdint.h>

#include "adc.h"
#include "board.h"
#include "clock.h"
#include "flash.h"
#include "fw-core.h"
#include "fw-serial.h"
#include "stance-wire.h"
#include "usb.h"

#ifndef FW_VERSION
#error "FW_VERSION (\"major.minor.patch\") and FW_BCD_DEVICE come from firmware/meson.build"
#endif

#define FW_HARDWARE "stance-f411-ads131m08"
#define ERROR_SHOW_US 2000000u /* an ADC error keeps the error pattern this long */
#define ABNORMAL_RESET_SHOW_US 5000000u
#define RESET_REPLY_TIMEOUT_US 200000u /* reset even if the host never reads the RESET reply */

static FwCore core;
static uint8_t frame_buf[STANCE_WIRE_FRAME_SIZE];
static uint8_t reply_buf[STANCE_WIRE_MSG_MAX];
static char serial[FW_SERIAL_LEN + 1];
static bool reset_requested;
static uint32_t reset_requested_at;

/* ---- FwPlatform hooks ---- */

static bool
hook_set_rate(void *ctx, int rate_code)
{
  (void)ctx;
  return adc_set_rate(rate_code);
}

static bool
hook_adc_start(void *ctx)
{
  (void)ctx;
  usb_stream_abort(); /* an old stream's unsent frame must not precede the new stream's first */
  return adc_start();
}

static bool
hook_adc_stop(void *ctx)
{
  (void)ctx;
  adc_stop();
  return true;
}

static bool
hook_calib_write(void *ctx, const uint8_t *block, size_t len)
{
  (void)ctx;
  return flash_calib_write(block, len);
}

static bool
hook_calib_read(void *ctx, uint8_t *out, size_t len)
{
  (void)ctx;
  return flash_calib_read(out, len);
}

static void
hook_request_reset(void *ctx)
{
  (void)ctx;
  reset_requested = true;
  reset_requested_at = clock_now_us();
}

/* The host started over (bus reset, SET_CONFIGURATION): a running stream ends without a FINAL
 * frame, and nothing of it is sent any more. */
static void
stream_abandon(void)
{
  if (core.streaming) {
    core.streaming = false;
    adc_stop();
  }
  core.final_pending = false;
  fw_fifo_init(&core.fifo);
}

static uint32_t
hook_now_us(void *ctx)
{
  (void)ctx;
  return clock_now_us();
}

int
main(void)
{
  /* The clock start-up is bounded (~0.1 s when the crystal is dead); the watchdog starts right
   * after it and guards everything else. */
  bool clocks_ok = clock_init();
  board_watchdog_start();
  board_led_init();
  bool abnormal_reset = board_reset_was_abnormal();

  uint8_t uid[12];
  board_uid(uid);
  fw_serial_from_uid(uid, serial);

  const FwPlatform hw = {
      .ctx = NULL,
      .set_rate = hook_set_rate,
      .adc_start = hook_adc_start,
      .adc_stop = hook_adc_stop,
      .calib_write = hook_calib_write,
      .calib_read = hook_calib_read,
      .request_reset = hook_request_reset,
      .now_us = hook_now_us,
  };
  const FwIdentity id = {
      .serial = serial,
      .firmware_version = FW_VERSION,
      .hardware = FW_HARDWARE,
      .vref_uv = ADC_VREF_UV,
      .pga_gain = ADC_PGA_GAIN,
  };
  bool core_ok = fw_core_init(&core, &hw, &id);
  bool adc_ok = adc_init(&core, core.rate_code);
  if (clocks_ok)
    usb_init(serial, FW_BCD_DEVICE); /* without the crystal USB cannot meet its clock tolerance */

  uint32_t start = clock_now_us();
  uint32_t session = clocks_ok ? usb_session() : 0;
  uint32_t last_errors = 0, error_at = 0;
  bool error_recent = false;

  for (;;) {
    board_watchdog_kick();
    uint32_t now = clock_now_us();

    if (clocks_ok) {
      usb_poll();
      if (usb_session() != session) {
        session = usb_session();
        stream_abandon();
      }
      const uint8_t *cmd;
      size_t cmd_len;
      if (!reset_requested && usb_reply_idle() && usb_command(&cmd, &cmd_len)) {
        size_t n = fw_core_handle_command(&core, cmd, cmd_len, reply_buf, sizeof reply_buf);
        usb_command_done();
        if (n > 0)
          usb_reply_send(reply_buf, n);
      }
      if (usb_stream_idle() && fw_core_poll_frame(&core, frame_buf))
        usb_stream_send(frame_buf);
      if (reset_requested &&
          (usb_reply_idle() || (uint32_t)(now - reset_requested_at) > RESET_REPLY_TIMEOUT_US)) {
        clock_delay_us(2000); /* let the host's controller finish the reply's handshake */
        board_reset(false);
      }
    }

    /* The FIFO's drop count restarts with each stream, the ADC counters never do: a rise of the
     * sum is a new error. */
    uint32_t errors = adc_crc_errors + adc_missed + adc_resets + core.fifo.total_drops;
    if (errors > last_errors) {
      error_at = now;
      error_recent = true;
    }
    last_errors = errors;
    if (error_recent && (uint32_t)(now - error_at) > ERROR_SHOW_US)
      error_recent = false;
    bool fault = !clocks_ok || !core_ok || !adc_ok || error_recent ||
                 (abnormal_reset && (uint32_t)(now - start) < ABNORMAL_RESET_SHOW_US);
    board_led_update(fault ? LED_ERROR : core.streaming ? LED_STREAMING : LED_IDLE, now);
  }
}
