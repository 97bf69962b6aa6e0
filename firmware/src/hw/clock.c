/* clock.c: clock tree, flash wait states, microsecond timer (see clock.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "clock.h"

#include "stm32f411.h"

/* Attempts at polling a ready flag before giving up: the HSE needs ~2 ms to start, the PLL
 * ~100 us; at 16 MHz one iteration takes 6-8 cycles, so this is about 0.1 s. */
#define CLOCK_SPIN_LIMIT 250000u

static bool
wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
  for (uint32_t i = 0; i < CLOCK_SPIN_LIMIT; i++)
    if ((*reg & mask) == want)
      return true;
  return false;
}

static void
timer_init(uint32_t timer_clock_hz)
{
  RCC->APB1ENR |= RCC_APB1ENR_TIM2EN;
  (void)RCC->APB1ENR; /* the enable takes effect before the first register access */
  TIM2->CR1 = 0;
  TIM2->PSC = timer_clock_hz / 1000000u - 1u;
  TIM2->ARR = 0xFFFFFFFFu;
  TIM2->EGR = TIM_EGR_UG; /* load the prescaler now */
  TIM2->CR1 = TIM_CR1_CEN;
}

bool
clock_init(void)
{
  /* Voltage scale 1 (up to 100 MHz) before raising the frequency. */
  RCC->APB1ENR |= RCC_APB1ENR_PWREN;
  (void)RCC->APB1ENR;
  PWR->CR = (PWR->CR & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;

  RCC->CR |= RCC_CR_HSEON;
  if (!wait_set(&RCC->CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
    RCC->CR &= ~RCC_CR_HSEON;
    timer_init(16000000u); /* HSI, all prescalers at 1 */
    return false;
  }

  /* VCO input 25 MHz / 25 = 1 MHz; VCO 192 MHz; SYSCLK 192 / 2 = 96 MHz; USB 192 / 4 = 48 MHz. */
  RCC->PLLCFGR = RCC_PLLCFGR_PLLM(25) | RCC_PLLCFGR_PLLN(192) | RCC_PLLCFGR_PLLP(2) |
                 RCC_PLLCFGR_PLLSRC_HSE | RCC_PLLCFGR_PLLQ(4);
  RCC->CR |= RCC_CR_PLLON;
  if (!wait_set(&RCC->CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY) ||
      !wait_set(&PWR->CSR, PWR_CSR_VOSRDY, PWR_CSR_VOSRDY)) {
    RCC->CR &= ~(RCC_CR_PLLON | RCC_CR_HSEON);
    timer_init(16000000u);
    return false;
  }

  /* 96 MHz at 2.7-3.6 V needs 3 wait states (RM0383 table 6). Set them before switching. */
  FLASH->ACR = FLASH_ACR_LATENCY(3) | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
  while ((FLASH->ACR & FLASH_ACR_LATENCY_MASK) != FLASH_ACR_LATENCY(3))
    ;

  /* AHB /1 = 96 MHz, APB1 /2 = 48 MHz (its limit is 50), APB2 /1 = 96 MHz. */
  RCC->CFGR = RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_PPRE2_DIV1;
  RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
  wait_set(&RCC->CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL);

  /* APB1 timers run at twice the APB1 clock when it is divided: 96 MHz. */
  timer_init(2u * (CLOCK_HCLK_HZ / 2u));
  return true;
}

uint32_t
clock_now_us(void)
{
  return TIM2->CNT;
}

void
clock_delay_us(uint32_t us)
{
  uint32_t start = TIM2->CNT;
  while ((uint32_t)(TIM2->CNT - start) < us)
    ;
}
