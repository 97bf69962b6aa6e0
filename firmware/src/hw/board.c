/* board.c: status LED, watchdog, unique ID, reset (see board.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "board.h"

#include <string.h>

#include "stm32f411.h"

#define LED_PIN 13u

/* Survives a reset (the linker keeps .noinit out of the .bss clearing): set before a reset that
 * a fault caused. */
#define FAULT_MAGIC 0xFA17C0DEu
__attribute__((section(".noinit"))) static uint32_t fault_marker;

void
board_led_init(void)
{
  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOCEN;
  (void)RCC->AHB1ENR;
  gpio_write(GPIOC, LED_PIN, 1); /* off (active low) */
  gpio_config(GPIOC, LED_PIN, GPIO_MODE_OUTPUT, 0, 0, GPIO_PULL_NONE);
}

void
board_led_update(LedMode mode, uint32_t now_us)
{
  uint32_t ms = now_us / 1000u;
  bool on;
  switch (mode) {
  case LED_STREAMING: on = true; break;
  case LED_ERROR: on = (ms % 200u) < 100u; break;
  case LED_IDLE:
  default: on = (ms % 1000u) < 100u; break;
  }
  gpio_write(GPIOC, LED_PIN, !on);
}

void
board_watchdog_start(void)
{
  IWDG->KR = IWDG_KEY_START; /* also starts the LSI */
  IWDG->KR = IWDG_KEY_ACCESS;
  IWDG->PR = 3;    /* /32: 1 kHz from the nominal 32 kHz LSI */
  IWDG->RLR = 500; /* 0.5 s */
  while (IWDG->SR & (IWDG_SR_PVU | IWDG_SR_RVU))
    ;
  IWDG->KR = IWDG_KEY_RELOAD;
}

void
board_watchdog_kick(void)
{
  IWDG->KR = IWDG_KEY_RELOAD;
}

void
board_uid(uint8_t uid[12])
{
  memcpy(uid, (const void *)UID_BASE_ADDR, 12);
}

bool
board_reset_was_abnormal(void)
{
  bool abnormal = (RCC->CSR & RCC_CSR_IWDGRSTF) != 0 || fault_marker == FAULT_MAGIC;
  RCC->CSR |= RCC_CSR_RMVF;
  fault_marker = 0;
  return abnormal;
}

void
board_reset(bool fault)
{
  if (fault)
    fault_marker = FAULT_MAGIC;
  __asm__ volatile("dsb" ::: "memory");
  SCB->AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
  __asm__ volatile("dsb" ::: "memory");
  for (;;)
    ;
}
