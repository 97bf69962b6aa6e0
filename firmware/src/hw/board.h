/* board.h: the reference board's pins, status LED, watchdog, unique ID and reset.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pin map (WeAct "Black Pill" STM32F411CEU6 + ADS131M08 board; docs/hardware.md has the table):
 *   PA4 ADC /CS (GPIO)     PA5 SPI1 SCK     PA6 SPI1 MISO     PA7 SPI1 MOSI   (AF5)
 *   PB0 ADC /DRDY (EXTI0, falling edge)     PB1 ADC SYNC/RESET (GPIO, active low)
 *   PA11 USB D-  PA12 USB D+ (AF10)         PC13 status LED (active low, on the Black Pill)
 *
 * Main thread only, except board_reset(), which any context may call.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum {
  LED_IDLE,      /* connected, not streaming: 100 ms flash every second */
  LED_STREAMING, /* streaming: on */
  LED_ERROR,     /* fault: 5 Hz blink (see docs/hardware.md for the causes) */
} LedMode;

void board_led_init(void);
/* Drives the LED for the pattern at time now_us (call from the main loop). */
void board_led_update(LedMode mode, uint32_t now_us);

/* Independent watchdog: ~0.5 s (32 kHz LSI / 32, reload 500; the LSI may run 17-47 kHz, so
 * 0.34-0.94 s). Once started it cannot be stopped. Kicked from the main loop only. */
void board_watchdog_start(void);
void board_watchdog_kick(void);

/* The 96-bit unique device ID, in address order. */
void board_uid(uint8_t uid[12]);

/* True when the last reset came from the watchdog or from a fault handler (the LED then shows the
 * error pattern for a while). Reads and clears the reset flags; call once at start-up. */
bool board_reset_was_abnormal(void);

/* Resets the chip (SYSRESETREQ). fault marks the reset as abnormal for the next start. */
void board_reset(bool fault) __attribute__((noreturn));
