/* adc.c: ADS131M08 over SPI1 with DMA2 (see adc.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Chip facts used here (TI ADS131M08 data sheet): SPI mode 1 (CPOL 0, CPHA 1), SCLK up to 25 MHz
 * (we run 12 MHz: 30 bytes take 20 us, 8 % of the 250 us period at 4 kHz); 24-bit words; a
 * frame's first word answers the previous frame's command; after RESET the next frame answers
 * 0xFF28 (0xFF20 + 8 channels); RREG of one register answers its value, WREG answers
 * 0x4000 | address << 7; SYNC/RESET held low for 1-2047 CLKIN periods resynchronises the filters,
 * 2048 or more resets the chip.
 */
#include "adc.h"

#include <string.h>

#include "clock.h"
#include "fw-ads131.h"
#include "stance-wire.h"
#include "stm32f411.h"

#define PIN_CS 4u   /* PA4 */
#define PIN_SCK 5u  /* PA5 */
#define PIN_MISO 6u /* PA6 */
#define PIN_MOSI 7u /* PA7 */
#define PIN_DRDY 0u /* PB0 */
#define PIN_SYNC 1u /* PB1 */
#define AF_SPI1 5u

#define ADS_REG_ID 0x00
#define ADS_REG_MODE 0x02
#define ADS_REG_CLOCK 0x03
#define ADS_REG_GAIN1 0x04
#define ADS_REG_GAIN2 0x05
#define ADS_RESET_ACK 0xFF28u
#define ADS_ID_MASK 0xFF00u
#define ADS_ID_M08 0x2800u
#define ADS_STATUS_RESET (1u << 10)
/* MODE: 24-bit words, SPI timeout on, DRDY from the most lagging channel, active-low level; and
 * the RESET flag written 0, so a later STATUS with RESET set means the chip restarted. */
#define ADS_MODE_VALUE 0x0110u
#define ADS_GAIN_128_ALL 0x7777u /* PGAGAIN 7 (x128) in each of the four 3-bit fields */

#define DMA_RX_STREAM 0
#define DMA_TX_STREAM 3
#define DMA_SPI1_CHANNEL 3

static FwCore *sink;
static bool present;
static uint8_t rx_frame[FW_ADS131_FRAME_BYTES];
static const uint8_t tx_zeros[FW_ADS131_FRAME_BYTES]; /* the NULL command, then zeros */
static volatile bool dma_busy;
static volatile uint32_t missed_pending; /* DRDYs seen while a transfer was running */

volatile uint32_t adc_crc_errors;
volatile uint32_t adc_missed;
volatile uint32_t adc_resets;

static void
cs(int high)
{
  gpio_write(GPIOA, PIN_CS, high);
}

/* One whole frame with polled SPI (set-up only: the DRDY interrupt is off). Returns the response
 * word, which answers the previous frame's command. */
static uint16_t
ads_frame(uint16_t cmd, uint16_t data)
{
  uint8_t tx[FW_ADS131_FRAME_BYTES] = {0};
  uint8_t rx[FW_ADS131_FRAME_BYTES];
  tx[0] = (uint8_t)(cmd >> 8);
  tx[1] = (uint8_t)cmd;
  tx[3] = (uint8_t)(data >> 8);
  tx[4] = (uint8_t)data;
  cs(0);
  for (unsigned i = 0; i < sizeof tx; i++) {
    while (!(SPI1->SR & SPI_SR_TXE))
      ;
    SPI1->DR = tx[i];
    while (!(SPI1->SR & SPI_SR_RXNE))
      ;
    rx[i] = (uint8_t)SPI1->DR;
  }
  while (SPI1->SR & SPI_SR_BSY)
    ;
  cs(1);
  clock_delay_us(2); /* /CS high time between frames */
  return (uint16_t)((rx[0] << 8) | rx[1]);
}

static uint16_t
ads_read_reg(uint8_t reg)
{
  ads_frame(fw_ads131_cmd_rreg(reg), 0);
  return ads_frame(fw_ads131_cmd_null(), 0);
}

/* Writes one register and reads it back. */
static bool
ads_write_reg(uint8_t reg, uint16_t value)
{
  ads_frame(fw_ads131_cmd_wreg(reg), value);
  uint16_t ack = ads_frame(fw_ads131_cmd_null(), 0);
  uint16_t back = ads_read_reg(reg);
  return ack == (uint16_t)(0x4000u | ((unsigned)reg << 7)) && back == value;
}

static void
pins_and_peripherals_init(void)
{
  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN | RCC_AHB1ENR_GPIOBEN | RCC_AHB1ENR_DMA2EN;
  RCC->APB2ENR |= RCC_APB2ENR_SPI1EN | RCC_APB2ENR_SYSCFGEN;
  (void)RCC->APB2ENR;

  cs(1);
  gpio_config(GPIOA, PIN_CS, GPIO_MODE_OUTPUT, 0, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE);
  gpio_config(GPIOA, PIN_SCK, GPIO_MODE_AF, AF_SPI1, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE);
  gpio_config(GPIOA, PIN_MISO, GPIO_MODE_AF, AF_SPI1, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE);
  gpio_config(GPIOA, PIN_MOSI, GPIO_MODE_AF, AF_SPI1, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE);
  gpio_write(GPIOB, PIN_SYNC, 1);
  gpio_config(GPIOB, PIN_SYNC, GPIO_MODE_OUTPUT, 0, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE);
  gpio_config(GPIOB, PIN_DRDY, GPIO_MODE_INPUT, 0, 0, GPIO_PULL_UP);

  /* SPI1 master, mode 1, 8-bit, MSB first, fPCLK2 / 8 = 12 MHz, software slave select. */
  SPI1->CR1 = 0;
  SPI1->CR2 = 0;
  SPI1->CR1 = SPI_CR1_MSTR | SPI_CR1_CPHA | SPI_CR1_BR(2) | SPI_CR1_SSM | SPI_CR1_SSI;
  SPI1->CR1 |= SPI_CR1_SPE;

  /* DMA2: stream 0 channel 3 = SPI1_RX, stream 3 channel 3 = SPI1_TX; byte transfers, direct
   * mode. Only the receive side interrupts: it finishes last. */
  DmaStreamRegs *rx = &DMA2->STREAM[DMA_RX_STREAM];
  DmaStreamRegs *tx = &DMA2->STREAM[DMA_TX_STREAM];
  rx->CR = 0;
  tx->CR = 0;
  while ((rx->CR | tx->CR) & DMA_SxCR_EN)
    ;
  rx->PAR = (uint32_t)(uintptr_t)&SPI1->DR;
  rx->M0AR = (uint32_t)(uintptr_t)rx_frame;
  rx->FCR = 0;
  rx->CR = DMA_SxCR_CHSEL(DMA_SPI1_CHANNEL) | DMA_SxCR_PL_VERY_HIGH | DMA_SxCR_MINC |
           DMA_SxCR_DIR_P2M | DMA_SxCR_TCIE | DMA_SxCR_TEIE;
  tx->PAR = (uint32_t)(uintptr_t)&SPI1->DR;
  tx->M0AR = (uint32_t)(uintptr_t)tx_zeros;
  tx->FCR = 0;
  tx->CR = DMA_SxCR_CHSEL(DMA_SPI1_CHANNEL) | DMA_SxCR_PL_HIGH | DMA_SxCR_MINC | DMA_SxCR_DIR_M2P;
  DMA2->LIFCR = DMA_LISR_S0_ALL | DMA_LISR_S3_ALL;

  /* PB0 -> EXTI0, falling edge, masked until adc_start(). */
  SYSCFG->EXTICR[0] = (SYSCFG->EXTICR[0] & ~0xFu) | SYSCFG_EXTICR_PORTB;
  EXTI->IMR &= ~(1u << PIN_DRDY);
  EXTI->RTSR &= ~(1u << PIN_DRDY);
  EXTI->FTSR |= 1u << PIN_DRDY;
  EXTI->PR = 1u << PIN_DRDY;
  nvic_enable(IRQ_EXTI0, 1);
  nvic_enable(IRQ_DMA2_STREAM0, 1);
}

bool
adc_init(FwCore *core, int rate_code)
{
  sink = core;
  pins_and_peripherals_init();

  /* Hardware reset: SYNC/RESET low for more than 2048 CLKIN periods (250 us). */
  gpio_write(GPIOB, PIN_SYNC, 0);
  clock_delay_us(1000);
  gpio_write(GPIOB, PIN_SYNC, 1);
  clock_delay_us(1000);

  /* The RESET command's acknowledgement also proves the SPI link and the channel count. */
  ads_frame(fw_ads131_cmd_reset(), 0);
  clock_delay_us(10);
  uint16_t ack = ads_frame(fw_ads131_cmd_null(), 0);
  uint16_t id = ads_read_reg(ADS_REG_ID);
  present = ack == ADS_RESET_ACK && (id & ADS_ID_MASK) == ADS_ID_M08 &&
            ads_write_reg(ADS_REG_MODE, ADS_MODE_VALUE) &&
            ads_write_reg(ADS_REG_GAIN1, ADS_GAIN_128_ALL) &&
            ads_write_reg(ADS_REG_GAIN2, ADS_GAIN_128_ALL) && adc_set_rate(rate_code);
  return present;
}

bool
adc_present(void)
{
  return present;
}

bool
adc_set_rate(int rate_code)
{
  uint16_t clock;
  if (!fw_ads131_clock_reg(rate_code, &clock))
    return false;
  return ads_write_reg(ADS_REG_CLOCK, clock);
}

bool
adc_start(void)
{
  if (!present)
    return false;
  /* Resynchronise: SYNC low for ~4 us (33 CLKIN periods, well inside 1-2047). The first DRDY
   * after it carries settled data. */
  gpio_write(GPIOB, PIN_SYNC, 0);
  clock_delay_us(4);
  gpio_write(GPIOB, PIN_SYNC, 1);
  missed_pending = 0;
  EXTI->PR = 1u << PIN_DRDY;
  EXTI->IMR |= 1u << PIN_DRDY;
  return true;
}

void
adc_stop(void)
{
  EXTI->IMR &= ~(1u << PIN_DRDY);
  uint32_t start = clock_now_us();
  while (dma_busy && (uint32_t)(clock_now_us() - start) < 1000u)
    ;
  EXTI->PR = 1u << PIN_DRDY;
}

/* A conversion whose values cannot be trusted or were never read: keeps its place in time. */
static void
push_invalid(void)
{
  static const int32_t zeros[STANCE_WIRE_CHANNELS] = {0};
  fw_core_push_sample(sink, zeros, 0, STANCE_WIRE_SAMPLE_ADC_CRC);
}

void EXTI0_IRQHandler(void);
void DMA2_Stream0_IRQHandler(void);

void
EXTI0_IRQHandler(void)
{
  EXTI->PR = 1u << PIN_DRDY;
  if (dma_busy) {
    missed_pending = missed_pending + 1u;
    return;
  }
  dma_busy = true;
  cs(0);
  DMA2->LIFCR = DMA_LISR_S0_ALL | DMA_LISR_S3_ALL;
  DmaStreamRegs *rx = &DMA2->STREAM[DMA_RX_STREAM];
  DmaStreamRegs *tx = &DMA2->STREAM[DMA_TX_STREAM];
  rx->NDTR = FW_ADS131_FRAME_BYTES;
  tx->NDTR = FW_ADS131_FRAME_BYTES;
  rx->CR |= DMA_SxCR_EN;
  tx->CR |= DMA_SxCR_EN;
  /* Receive requests first, so no received byte can be missed once transmission starts. */
  SPI1->CR2 = SPI_CR2_RXDMAEN;
  SPI1->CR2 = SPI_CR2_RXDMAEN | SPI_CR2_TXDMAEN;
}

void
DMA2_Stream0_IRQHandler(void)
{
  uint32_t flags = DMA2->LISR;
  DMA2->LIFCR = DMA_LISR_S0_ALL | DMA_LISR_S3_ALL;
  SPI1->CR2 = 0;
  while (SPI1->SR & SPI_SR_BSY)
    ;
  cs(1);
  if (flags & DMA_LISR_TEIF0) {
    DMA2->STREAM[DMA_RX_STREAM].CR &= ~DMA_SxCR_EN;
    DMA2->STREAM[DMA_TX_STREAM].CR &= ~DMA_SxCR_EN;
    adc_missed = adc_missed + 1u;
    push_invalid();
  } else {
    FwAdsFrame f;
    uint8_t status = 0;
    if (!fw_ads131_parse(rx_frame, &f)) {
      status |= STANCE_WIRE_SAMPLE_ADC_CRC;
      adc_crc_errors = adc_crc_errors + 1u;
    } else if (f.status & ADS_STATUS_RESET) {
      /* The chip restarted (brown-out?) and lost gain and rate: its values are not ours. */
      status |= STANCE_WIRE_SAMPLE_ADC_CRC;
      adc_resets = adc_resets + 1u;
    }
    fw_core_push_sample(sink, f.counts, f.sat, status);
  }
  dma_busy = false;
  while (missed_pending) {
    missed_pending = missed_pending - 1u;
    adc_missed = adc_missed + 1u;
    push_invalid();
  }
}
