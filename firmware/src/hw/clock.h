/* clock.h: system clocks, the microsecond timer and busy-wait delays.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * clock_init(): 25 MHz HSE crystal -> PLL (M 25, N 192, P 2, Q 4) -> 96 MHz SYSCLK/HCLK, 48 MHz
 * for USB, APB1 48 MHz (timers 96 MHz), APB2 96 MHz; voltage scale 1, flash 3 wait states with
 * prefetch and caches. Returns false when the crystal does not start; the chip then stays on its
 * 16 MHz HSI (no USB: the HSI is not accurate enough for it) and the timer is set up for that.
 * Main thread only, once, before anything else.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_HCLK_HZ 96000000u

bool clock_init(void);
/* TIM2 as a free-running 32-bit microsecond counter (wraps every 71.6 minutes). Any context. */
uint32_t clock_now_us(void);
void clock_delay_us(uint32_t us);
