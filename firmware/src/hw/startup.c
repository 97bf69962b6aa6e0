/* startup.c: vector table and reset handler for the STM32F411.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reset_Handler enables the FPU (the firmware is built for the hard-float ABI), copies .data
 * (which also holds .ramfunc, the flash-programming code that must run from RAM) from flash,
 * zeroes .bss and calls main(). Every exception without a handler of its own goes to
 * Default_Handler, which resets the chip and marks the reset as a fault, so the LED shows the
 * error pattern after the restart instead of the board hanging until the watchdog bites.
 */
#include <stdint.h>

#include "board.h"
#include "stm32f411.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);

#define WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))
WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);
WEAK_HANDLER(EXTI0_IRQHandler);
WEAK_HANDLER(DMA2_Stream0_IRQHandler);
WEAK_HANDLER(OTG_FS_IRQHandler);

void
Reset_Handler(void)
{
  SCB->CPACR |= SCB_CPACR_CP10_CP11_FULL;
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  const uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;)
    *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;)
    *dst++ = 0;

  main();
  board_reset(true); /* main() never returns */
}

void
Default_Handler(void)
{
  board_reset(true);
}

typedef void (*Vector)(void);

/* 16 Cortex-M4 entries (the first is the initial stack pointer), then the STM32F411's 86
 * interrupts (RM0383 table 37). Interrupts the firmware never enables stay 0: should one fire
 * anyway, the vector fetch faults and HardFault_Handler resets the chip. */
__attribute__((section(".isr_vector"), used)) static const Vector vector_table[16 + IRQ_COUNT] = {
    [0] = (Vector)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 + IRQ_EXTI0] = EXTI0_IRQHandler,
    [16 + IRQ_DMA2_STREAM0] = DMA2_Stream0_IRQHandler,
    [16 + IRQ_OTG_FS] = OTG_FS_IRQHandler,
};
