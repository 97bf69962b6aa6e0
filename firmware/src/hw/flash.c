/* flash.c: erase and program the calibration sector (see flash.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sequence from RM0383 section 3.6: unlock with the two KEYR keys, wait for BSY to clear, clear
 * old error flags, sector erase (SER + SNB + STRT), then program with PG set and 32-bit
 * parallelism (PSIZE x32, valid at 2.7-3.6 V), checking the error flags after each step, and lock
 * again. Afterwards the data cache is reset so reads see the new contents.
 */
#include "flash.h"

#include <string.h>

#include "stm32f411.h"

#define CALIB_SECTOR 7u
extern const uint8_t __calib_start[]; /* linker script: start of sector 7 */
extern const uint8_t __calib_end[];

/* Runs from RAM (.ramfunc is copied with .data): starts the erase, waits, programs n_words words
 * and waits for each, all without touching flash. No library calls in here. Returns the error
 * flags (0 when everything went through). */
__attribute__((section(".ramfunc"), noinline, long_call)) static uint32_t
flash_erase_program_ram(volatile uint32_t *dst, const uint8_t *src, size_t n_words)
{
  FLASH->SR = FLASH_SR_ERRORS | FLASH_SR_EOP;
  FLASH->CR = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | FLASH_CR_SNB(CALIB_SECTOR);
  FLASH->CR |= FLASH_CR_STRT;
  while (FLASH->SR & FLASH_SR_BSY)
    IWDG->KR = IWDG_KEY_RELOAD;
  uint32_t err = FLASH->SR & FLASH_SR_ERRORS;
  FLASH->CR = 0;
  if (err)
    return err;

  FLASH->CR = FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
  for (size_t i = 0; i < n_words && err == 0; i++) {
    const uint8_t *p = src + 4 * i;
    dst[i] =
        (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    __asm__ volatile("dsb" ::: "memory");
    while (FLASH->SR & FLASH_SR_BSY)
      IWDG->KR = IWDG_KEY_RELOAD;
    err = FLASH->SR & FLASH_SR_ERRORS;
  }
  FLASH->CR = 0;
  return err;
}

bool
flash_calib_write(const uint8_t *block, size_t len)
{
  size_t cap = (size_t)(__calib_end - __calib_start);
  if (len == 0 || len % 4 != 0 || len > cap)
    return false;

  while (FLASH->SR & FLASH_SR_BSY)
    ;
  if (FLASH->CR & FLASH_CR_LOCK) {
    FLASH->KEYR = FLASH_KEY1;
    FLASH->KEYR = FLASH_KEY2;
  }
  irq_disable();
  uint32_t err =
      flash_erase_program_ram((volatile uint32_t *)(uintptr_t)__calib_start, block, len / 4);
  FLASH->CR = FLASH_CR_LOCK;
  /* Drop whatever the data cache holds of the old contents (the cache must be off to reset). */
  FLASH->ACR &= ~FLASH_ACR_DCEN;
  FLASH->ACR |= FLASH_ACR_DCRST;
  FLASH->ACR &= ~FLASH_ACR_DCRST;
  FLASH->ACR |= FLASH_ACR_DCEN;
  irq_enable();
  return err == 0 && memcmp(__calib_start, block, len) == 0;
}

bool
flash_calib_read(uint8_t *out, size_t len)
{
  size_t cap = (size_t)(__calib_end - __calib_start);
  if (len > cap)
    return false;
  static const uint8_t erased[4] = {0xFF, 0xFF, 0xFF, 0xFF};
  if (memcmp(__calib_start, erased, sizeof erased) == 0)
    return false;
  memcpy(out, __calib_start, len);
  return true;
}
