/* startup-qemu.c: reset and fault handling for the logic tests under QEMU (netduinoplus2).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Copies .data, zeroes .bss, enables the FPU (the tests are built for -mfloat-abi=hard like the
 * firmware), runs main() and hands its result to semihosting SYS_EXIT. A fault prints its name and
 * exits with failure, so a crash ends the run at once instead of waiting for the test timeout.
 */
#include <stdint.h>

#include "fw-test.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void fault_handler(void);
/* A test that needs a periodic interrupt (test-fw-fifo's producer) defines SysTick_Handler. */
void SysTick_Handler(void) __attribute__((weak, alias("fault_handler")));

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void
Reset_Handler(void)
{
  uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;)
    *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;)
    *dst++ = 0;
  SCB_CPACR |= (0xFu << 20); /* CP10 and CP11: full access */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  fw_test_exit(main());
}

void
fault_handler(void)
{
  fw_test_print("FAIL: CPU fault (HardFault, MemManage, BusFault or UsageFault)\n");
  fw_test_exit(1);
}

typedef void (*Vector)(void);

/* The initial stack pointer, then the Cortex-M4 system exceptions; the tests use no interrupt
 * other than SysTick. */
__attribute__((section(".isr_vector"), used)) static const Vector vectors[16] = {
    (Vector)(uintptr_t)&_estack,
    Reset_Handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    [15] = SysTick_Handler,
};
