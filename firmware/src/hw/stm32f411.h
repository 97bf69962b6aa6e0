/* stm32f411.h: the STM32F411 registers the Stance firmware uses, and nothing else.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Written from ST's reference manual RM0383 (STM32F411xC/E) and ARM's Cortex-M4 documentation
 * (ARMv7-M Architecture Reference Manual for NVIC, SCB, SysTick and DWT). Register and bit names
 * follow the manuals so they can be looked up there; offsets are checked at compile time. Only
 * the peripherals and bits this firmware touches are defined.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define REG volatile uint32_t

/* ---- Memory map ---- */
#define FLASH_BASE_ADDR 0x08000000u
#define SRAM_BASE_ADDR 0x20000000u
#define UID_BASE_ADDR 0x1FFF7A10u /* 96-bit unique device ID */

/* ---- RCC (0x40023800) ---- */
typedef struct {
  REG CR;         /* 0x00 */
  REG PLLCFGR;    /* 0x04 */
  REG CFGR;       /* 0x08 */
  REG CIR;        /* 0x0C */
  REG AHB1RSTR;   /* 0x10 */
  REG AHB2RSTR;   /* 0x14 */
  REG RES0[2];    /* 0x18 */
  REG APB1RSTR;   /* 0x20 */
  REG APB2RSTR;   /* 0x24 */
  REG RES1[2];    /* 0x28 */
  REG AHB1ENR;    /* 0x30 */
  REG AHB2ENR;    /* 0x34 */
  REG RES2[2];    /* 0x38 */
  REG APB1ENR;    /* 0x40 */
  REG APB2ENR;    /* 0x44 */
  REG RES3[2];    /* 0x48 */
  REG AHB1LPENR;  /* 0x50 */
  REG AHB2LPENR;  /* 0x54 */
  REG RES4[2];    /* 0x58 */
  REG APB1LPENR;  /* 0x60 */
  REG APB2LPENR;  /* 0x64 */
  REG RES5[2];    /* 0x68 */
  REG BDCR;       /* 0x70 */
  REG CSR;        /* 0x74 */
  REG RES6[2];    /* 0x78 */
  REG SSCGR;      /* 0x80 */
  REG PLLI2SCFGR; /* 0x84 */
  REG RES7;       /* 0x88 */
  REG DCKCFGR;    /* 0x8C */
} RccRegs;
_Static_assert(offsetof(RccRegs, AHB1ENR) == 0x30, "RCC layout");
_Static_assert(offsetof(RccRegs, CSR) == 0x74, "RCC layout");
_Static_assert(offsetof(RccRegs, DCKCFGR) == 0x8C, "RCC layout");
#define RCC ((RccRegs *)0x40023800u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_PLLM(m) ((uint32_t)(m) << 0)            /* 2..63 */
#define RCC_PLLCFGR_PLLN(n) ((uint32_t)(n) << 6)            /* 50..432 */
#define RCC_PLLCFGR_PLLP(p) ((uint32_t)((p) / 2 - 1) << 16) /* 2, 4, 6, 8 */
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_PLLCFGR_PLLQ(q) ((uint32_t)(q) << 24) /* 2..15 */
#define RCC_CFGR_SW_PLL (2u << 0)
#define RCC_CFGR_SW_MASK (3u << 0)
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_HPRE_DIV1 (0u << 4)
#define RCC_CFGR_PPRE1_DIV2 (4u << 10)
#define RCC_CFGR_PPRE2_DIV1 (0u << 13)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_GPIOBEN (1u << 1)
#define RCC_AHB1ENR_GPIOCEN (1u << 2)
#define RCC_AHB1ENR_DMA2EN (1u << 22)
#define RCC_AHB2ENR_OTGFSEN (1u << 7)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_APB2ENR_SPI1EN (1u << 12)
#define RCC_APB2ENR_SYSCFGEN (1u << 14)
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_IWDGRSTF (1u << 29)

/* ---- PWR (0x40007000) ---- */
typedef struct {
  REG CR;  /* 0x00 */
  REG CSR; /* 0x04 */
} PwrRegs;
#define PWR ((PwrRegs *)0x40007000u)
#define PWR_CR_VOS_MASK (3u << 14)
#define PWR_CR_VOS_SCALE1 (3u << 14) /* up to 100 MHz */
#define PWR_CSR_VOSRDY (1u << 14)

/* ---- FLASH interface (0x40023C00) ---- */
typedef struct {
  REG ACR;     /* 0x00 */
  REG KEYR;    /* 0x04 */
  REG OPTKEYR; /* 0x08 */
  REG SR;      /* 0x0C */
  REG CR;      /* 0x10 */
  REG OPTCR;   /* 0x14 */
} FlashRegs;
#define FLASH ((FlashRegs *)0x40023C00u)
#define FLASH_ACR_LATENCY(ws) ((uint32_t)(ws) << 0)
#define FLASH_ACR_LATENCY_MASK (0xFu << 0)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_RDERR (1u << 8)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS                                                                            \
  (FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR | FLASH_SR_PGSERR |        \
   FLASH_SR_RDERR)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_SNB(n) ((uint32_t)(n) << 3)
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

/* ---- GPIO (A 0x40020000, B 0x40020400, C 0x40020800) ---- */
typedef struct {
  REG MODER;   /* 0x00 */
  REG OTYPER;  /* 0x04 */
  REG OSPEEDR; /* 0x08 */
  REG PUPDR;   /* 0x0C */
  REG IDR;     /* 0x10 */
  REG ODR;     /* 0x14 */
  REG BSRR;    /* 0x18 */
  REG LCKR;    /* 0x1C */
  REG AFR[2];  /* 0x20 */
} GpioRegs;
_Static_assert(offsetof(GpioRegs, AFR) == 0x20, "GPIO layout");
#define GPIOA ((GpioRegs *)0x40020000u)
#define GPIOB ((GpioRegs *)0x40020400u)
#define GPIOC ((GpioRegs *)0x40020800u)
#define GPIO_MODE_INPUT 0u
#define GPIO_MODE_OUTPUT 1u
#define GPIO_MODE_AF 2u
#define GPIO_SPEED_VERY_HIGH 3u
#define GPIO_PULL_NONE 0u
#define GPIO_PULL_UP 1u

/* ---- SPI1 (0x40013000) ---- */
typedef struct {
  REG CR1;     /* 0x00 */
  REG CR2;     /* 0x04 */
  REG SR;      /* 0x08 */
  REG DR;      /* 0x0C */
  REG CRCPR;   /* 0x10 */
  REG RXCRCR;  /* 0x14 */
  REG TXCRCR;  /* 0x18 */
  REG I2SCFGR; /* 0x1C */
  REG I2SPR;   /* 0x20 */
} SpiRegs;
#define SPI1 ((SpiRegs *)0x40013000u)
#define SPI_CR1_CPHA (1u << 0)
#define SPI_CR1_CPOL (1u << 1)
#define SPI_CR1_MSTR (1u << 2)
#define SPI_CR1_BR(div_log2_minus1) ((uint32_t)(div_log2_minus1) << 3) /* fPCLK / 2^(BR+1) */
#define SPI_CR1_SPE (1u << 6)
#define SPI_CR1_SSI (1u << 8)
#define SPI_CR1_SSM (1u << 9)
#define SPI_CR2_RXDMAEN (1u << 0)
#define SPI_CR2_TXDMAEN (1u << 1)
#define SPI_SR_RXNE (1u << 0)
#define SPI_SR_TXE (1u << 1)
#define SPI_SR_OVR (1u << 6)
#define SPI_SR_BSY (1u << 7)

/* ---- DMA2 (0x40026400) ---- */
typedef struct {
  REG CR;   /* 0x00 */
  REG NDTR; /* 0x04 */
  REG PAR;  /* 0x08 */
  REG M0AR; /* 0x0C */
  REG M1AR; /* 0x10 */
  REG FCR;  /* 0x14 */
} DmaStreamRegs;
typedef struct {
  REG LISR;                /* 0x00 */
  REG HISR;                /* 0x04 */
  REG LIFCR;               /* 0x08 */
  REG HIFCR;               /* 0x0C */
  DmaStreamRegs STREAM[8]; /* 0x10 + 0x18 * n */
} DmaRegs;
_Static_assert(offsetof(DmaRegs, STREAM[3]) == 0x10 + 3 * 0x18, "DMA layout");
#define DMA2 ((DmaRegs *)0x40026400u)
#define DMA_SxCR_EN (1u << 0)
#define DMA_SxCR_TEIE (1u << 2)
#define DMA_SxCR_TCIE (1u << 4)
#define DMA_SxCR_DIR_P2M (0u << 6)
#define DMA_SxCR_DIR_M2P (1u << 6)
#define DMA_SxCR_MINC (1u << 10)
#define DMA_SxCR_PL_HIGH (2u << 16)
#define DMA_SxCR_PL_VERY_HIGH (3u << 16)
#define DMA_SxCR_CHSEL(c) ((uint32_t)(c) << 25)
/* Interrupt flags of streams 0 and 3 in LISR/LIFCR (streams 0-3 share the low register). */
#define DMA_LISR_S0_ALL (0x3Du << 0) /* FEIF0, DMEIF0, TEIF0, HTIF0, TCIF0 */
#define DMA_LISR_TCIF0 (1u << 5)
#define DMA_LISR_TEIF0 (1u << 3)
#define DMA_LISR_S3_ALL (0x3Du << 22) /* FEIF3 ... TCIF3 */

/* ---- EXTI (0x40013C00) and SYSCFG (0x40013800) ---- */
typedef struct {
  REG IMR;   /* 0x00 */
  REG EMR;   /* 0x04 */
  REG RTSR;  /* 0x08 */
  REG FTSR;  /* 0x0C */
  REG SWIER; /* 0x10 */
  REG PR;    /* 0x14 */
} ExtiRegs;
#define EXTI ((ExtiRegs *)0x40013C00u)
typedef struct {
  REG MEMRMP;    /* 0x00 */
  REG PMC;       /* 0x04 */
  REG EXTICR[4]; /* 0x08 */
  REG RES[2];    /* 0x18 */
  REG CMPCR;     /* 0x20 */
} SyscfgRegs;
_Static_assert(offsetof(SyscfgRegs, CMPCR) == 0x20, "SYSCFG layout");
#define SYSCFG ((SyscfgRegs *)0x40013800u)
#define SYSCFG_EXTICR_PORTB 1u

/* ---- TIM2 (0x40000000): 32-bit general-purpose timer ---- */
typedef struct {
  REG CR1;   /* 0x00 */
  REG CR2;   /* 0x04 */
  REG SMCR;  /* 0x08 */
  REG DIER;  /* 0x0C */
  REG SR;    /* 0x10 */
  REG EGR;   /* 0x14 */
  REG CCMR1; /* 0x18 */
  REG CCMR2; /* 0x1C */
  REG CCER;  /* 0x20 */
  REG CNT;   /* 0x24 */
  REG PSC;   /* 0x28 */
  REG ARR;   /* 0x2C */
} TimRegs;
_Static_assert(offsetof(TimRegs, ARR) == 0x2C, "TIM layout");
#define TIM2 ((TimRegs *)0x40000000u)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* ---- IWDG (0x40003000) ---- */
typedef struct {
  REG KR;  /* 0x00 */
  REG PR;  /* 0x04 */
  REG RLR; /* 0x08 */
  REG SR;  /* 0x0C */
} IwdgRegs;
#define IWDG ((IwdgRegs *)0x40003000u)
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_ACCESS 0x5555u
#define IWDG_KEY_START 0xCCCCu
#define IWDG_SR_PVU (1u << 0)
#define IWDG_SR_RVU (1u << 1)

/* ---- USB OTG FS (0x50000000) ---- */
typedef struct {
  REG GOTGCTL;    /* 0x000 */
  REG GOTGINT;    /* 0x004 */
  REG GAHBCFG;    /* 0x008 */
  REG GUSBCFG;    /* 0x00C */
  REG GRSTCTL;    /* 0x010 */
  REG GINTSTS;    /* 0x014 */
  REG GINTMSK;    /* 0x018 */
  REG GRXSTSR;    /* 0x01C */
  REG GRXSTSP;    /* 0x020 */
  REG GRXFSIZ;    /* 0x024 */
  REG DIEPTXF0;   /* 0x028 */
  REG RES0[3];    /* 0x02C */
  REG GCCFG;      /* 0x038 */
  REG CID;        /* 0x03C */
  REG RES1[48];   /* 0x040 */
  REG HPTXFSIZ;   /* 0x100 */
  REG DIEPTXF[3]; /* 0x104: IN endpoints 1-3 */
} OtgGlobalRegs;
_Static_assert(offsetof(OtgGlobalRegs, GCCFG) == 0x038, "OTG layout");
_Static_assert(offsetof(OtgGlobalRegs, DIEPTXF) == 0x104, "OTG layout");

typedef struct {
  REG DCFG;       /* 0x800 */
  REG DCTL;       /* 0x804 */
  REG DSTS;       /* 0x808 */
  REG RES0;       /* 0x80C */
  REG DIEPMSK;    /* 0x810 */
  REG DOEPMSK;    /* 0x814 */
  REG DAINT;      /* 0x818 */
  REG DAINTMSK;   /* 0x81C */
  REG RES1[2];    /* 0x820 */
  REG DVBUSDIS;   /* 0x828 */
  REG DVBUSPULSE; /* 0x82C */
  REG RES2;       /* 0x830 */
  REG DIEPEMPMSK; /* 0x834 */
} OtgDeviceRegs;
_Static_assert(offsetof(OtgDeviceRegs, DIEPEMPMSK) == 0x34, "OTG device layout");

typedef struct {
  REG CTL;    /* 0x00 DIEPCTLx / DOEPCTLx */
  REG RES0;   /* 0x04 */
  REG INT;    /* 0x08 DIEPINTx / DOEPINTx */
  REG RES1;   /* 0x0C */
  REG TSIZ;   /* 0x10 DIEPTSIZx / DOEPTSIZx */
  REG RES2;   /* 0x14 */
  REG TXFSTS; /* 0x18 DTXFSTSx (IN endpoints only) */
  REG RES3;   /* 0x1C */
} OtgEpRegs;
_Static_assert(sizeof(OtgEpRegs) == 0x20, "OTG endpoint layout");

#define OTG_BASE 0x50000000u
#define OTG ((OtgGlobalRegs *)OTG_BASE)
#define OTG_DEV ((OtgDeviceRegs *)(OTG_BASE + 0x800u))
#define OTG_IN_EP(n) ((OtgEpRegs *)(OTG_BASE + 0x900u + 0x20u * (n)))
#define OTG_OUT_EP(n) ((OtgEpRegs *)(OTG_BASE + 0xB00u + 0x20u * (n)))
#define OTG_PCGCCTL (*(REG *)(OTG_BASE + 0xE00u))
#define OTG_FIFO(n) (*(REG *)(OTG_BASE + 0x1000u + 0x1000u * (n)))
#define OTG_FIFO_TOTAL_WORDS 320u /* 1.25 KiB of FIFO RAM */

#define OTG_GAHBCFG_GINTMSK (1u << 0)
#define OTG_GUSBCFG_TOCAL(x) ((uint32_t)(x) << 0)
#define OTG_GUSBCFG_PHYSEL (1u << 6)
#define OTG_GUSBCFG_TRDT(x) ((uint32_t)(x) << 10)
#define OTG_GUSBCFG_TRDT_MASK (0xFu << 10)
#define OTG_GUSBCFG_FHMOD (1u << 29)
#define OTG_GUSBCFG_FDMOD (1u << 30)
#define OTG_GRSTCTL_CSRST (1u << 0)
#define OTG_GRSTCTL_RXFFLSH (1u << 4)
#define OTG_GRSTCTL_TXFFLSH (1u << 5)
#define OTG_GRSTCTL_TXFNUM(n) ((uint32_t)(n) << 6) /* 0x10: all TX FIFOs */
#define OTG_GRSTCTL_AHBIDL (1u << 31)
#define OTG_GINTSTS_CMOD (1u << 0)
#define OTG_GINTSTS_SOF (1u << 3)
#define OTG_GINTSTS_GONAKEFF (1u << 7)
#define OTG_GINTSTS_RXFLVL (1u << 4)
#define OTG_GINTSTS_ESUSP (1u << 10)
#define OTG_GINTSTS_USBSUSP (1u << 11)
#define OTG_GINTSTS_USBRST (1u << 12)
#define OTG_GINTSTS_ENUMDNE (1u << 13)
#define OTG_GINTSTS_IEPINT (1u << 18)
#define OTG_GINTSTS_OEPINT (1u << 19)
#define OTG_GINTSTS_WKUPINT (1u << 31)
#define OTG_GRXSTS_EPNUM(x) ((x)&0xFu)
#define OTG_GRXSTS_BCNT(x) (((x) >> 4) & 0x7FFu)
#define OTG_GRXSTS_PKTSTS(x) (((x) >> 17) & 0xFu)
#define OTG_PKTSTS_OUT_DATA 2u
#define OTG_PKTSTS_OUT_DONE 3u
#define OTG_PKTSTS_SETUP_DONE 4u
#define OTG_PKTSTS_SETUP_DATA 6u
#define OTG_GCCFG_PWRDWN (1u << 16)
#define OTG_GCCFG_VBUSASEN (1u << 18)
#define OTG_GCCFG_VBUSBSEN (1u << 19)
#define OTG_GCCFG_NOVBUSSENS (1u << 21)

#define OTG_DCFG_DSPD_FS (3u << 0)
#define OTG_DCFG_DAD(a) ((uint32_t)(a) << 4)
#define OTG_DCFG_DAD_MASK (0x7Fu << 4)
#define OTG_DCTL_RWUSIG (1u << 0)
#define OTG_DCTL_SDIS (1u << 1)
#define OTG_DCTL_CGINAK (1u << 8)
#define OTG_DCTL_SGONAK (1u << 9)
#define OTG_DCTL_CGONAK (1u << 10)
#define OTG_DIEPMSK_XFRCM (1u << 0)
#define OTG_DIEPMSK_TOM (1u << 3)
#define OTG_DOEPMSK_XFRCM (1u << 0)
#define OTG_DOEPMSK_STUPM (1u << 3)
#define OTG_DAINT_IN(n) (1u << (n))
#define OTG_DAINT_OUT(n) (1u << (16 + (n)))

#define OTG_EPCTL_MPSIZ(x) ((uint32_t)(x) << 0) /* EP0: 0 = 64 bytes; others: bytes */
#define OTG_EPCTL_USBAEP (1u << 15)
#define OTG_EPCTL_NAKSTS (1u << 17)
#define OTG_EPCTL_EPTYP_BULK (2u << 18)
#define OTG_EPCTL_STALL (1u << 21)
#define OTG_EPCTL_TXFNUM(n) ((uint32_t)(n) << 22)
#define OTG_EPCTL_CNAK (1u << 26)
#define OTG_EPCTL_SNAK (1u << 27)
#define OTG_EPCTL_SD0PID (1u << 28)
#define OTG_EPCTL_EPDIS (1u << 30)
#define OTG_EPCTL_EPENA (1u << 31)
#define OTG_EPINT_XFRC (1u << 0)
#define OTG_EPINT_EPDISD (1u << 1)
#define OTG_DOEPINT_STUP (1u << 3)
#define OTG_DIEPINT_TOC (1u << 3)
#define OTG_DIEPINT_INEPNE (1u << 6)
#define OTG_TSIZ_XFRSIZ(n) ((uint32_t)(n) << 0)
#define OTG_TSIZ_PKTCNT(n) ((uint32_t)(n) << 19)
#define OTG_DOEPTSIZ0_STUPCNT(n) ((uint32_t)(n) << 29)

/* ---- Cortex-M4 core peripherals ---- */
typedef struct {
  REG ISER[8]; /* 0x000 */
  REG RES0[24];
  REG ICER[8]; /* 0x080 */
  REG RES1[24];
  REG ISPR[8]; /* 0x100 */
  REG RES2[24];
  REG ICPR[8]; /* 0x180 */
  REG RES3[24];
  REG IABR[8]; /* 0x200 */
  REG RES4[56];
  volatile uint8_t IP[240]; /* 0x300: one priority byte per interrupt */
} NvicRegs;
_Static_assert(offsetof(NvicRegs, IP) == 0x300, "NVIC layout (from 0xE000E100)");
#define NVIC ((NvicRegs *)0xE000E100u)

typedef struct {
  REG CPUID;   /* 0x00 */
  REG ICSR;    /* 0x04 */
  REG VTOR;    /* 0x08 */
  REG AIRCR;   /* 0x0C */
  REG SCR;     /* 0x10 */
  REG CCR;     /* 0x14 */
  REG SHPR[3]; /* 0x18 */
  REG SHCSR;   /* 0x24 */
  REG CFSR;    /* 0x28 */
  REG HFSR;    /* 0x2C */
  REG DFSR;    /* 0x30 */
  REG MMFAR;   /* 0x34 */
  REG BFAR;    /* 0x38 */
  REG AFSR;    /* 0x3C */
  REG RES[18]; /* 0x40 */
  REG CPACR;   /* 0x88 */
} ScbRegs;
_Static_assert(offsetof(ScbRegs, CPACR) == 0x88, "SCB layout");
#define SCB ((ScbRegs *)0xE000ED00u)
#define SCB_AIRCR_VECTKEY (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)

typedef struct {
  REG CTRL;  /* 0x00 */
  REG LOAD;  /* 0x04 */
  REG VAL;   /* 0x08 */
  REG CALIB; /* 0x0C */
} SysTickRegs;
#define SYSTICK ((SysTickRegs *)0xE000E010u)

/* ---- Interrupt numbers (RM0383 vector table) ---- */
#define IRQ_EXTI0 6
#define IRQ_DMA2_STREAM0 56
#define IRQ_OTG_FS 67
#define IRQ_COUNT 86

static inline void
nvic_enable(int irq, uint8_t priority)
{
  NVIC->IP[irq] = (uint8_t)(priority << 4); /* 4 priority bits, in the top of the byte */
  NVIC->ISER[irq >> 5] = 1u << (irq & 31);
}

static inline void
nvic_disable(int irq)
{
  NVIC->ICER[irq >> 5] = 1u << (irq & 31);
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

static inline void
irq_disable(void)
{
  __asm__ volatile("cpsid i" ::: "memory");
}

static inline void
irq_enable(void)
{
  __asm__ volatile("cpsie i" ::: "memory");
}

/* GPIO pin set-up in one call: mode, alternate function, speed, pull. */
static inline void
gpio_config(GpioRegs *port, unsigned pin, unsigned mode, unsigned af, unsigned speed, unsigned pull)
{
  port->MODER = (port->MODER & ~(3u << (2 * pin))) | (mode << (2 * pin));
  port->OSPEEDR = (port->OSPEEDR & ~(3u << (2 * pin))) | (speed << (2 * pin));
  port->PUPDR = (port->PUPDR & ~(3u << (2 * pin))) | (pull << (2 * pin));
  port->OTYPER &= ~(1u << pin);
  REG *afr = &port->AFR[pin >> 3];
  unsigned shift = 4 * (pin & 7u);
  *afr = (*afr & ~(0xFu << shift)) | (af << shift);
}

static inline void
gpio_write(GpioRegs *port, unsigned pin, int high)
{
  port->BSRR = high ? (1u << pin) : (1u << (pin + 16));
}
