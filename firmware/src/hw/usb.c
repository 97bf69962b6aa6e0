/* usb.c: OTG FS device driver (see usb.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Register-level sequences from RM0383 chapter 22 (OTG_FS): core initialisation, device
 * initialisation, the USB-reset and enumeration-done handling, the shared receive FIFO (every OUT
 * and SETUP packet is popped from it with a status word, GRXSTSP) and one transmit FIFO per IN
 * endpoint. FIFO RAM (320 words) is split:
 *   RX 128 words | EP0 TX 16 (one 64-byte packet) | EP1 TX 128 (a whole 512-byte frame) | EP2 TX 48
 * IN transfers are programmed whole (packet count and size) and their data is pushed into the
 * endpoint's FIFO one packet at a time as room appears; EP0 sends one packet per transfer because
 * its size register only holds 127 bytes.
 */
#include "usb.h"

#include <string.h>

#include "clock.h"
#include "fw-desc.h"
#include "stance-wire.h"
#include "stm32f411.h"

#define EP0_SIZE 64u
#define EP_SIZE STANCE_WIRE_PACKET_SIZE
#define EP_STREAM (STANCE_WIRE_EP_STREAM & 0x0Fu) /* 1 */
#define EP_CMD (STANCE_WIRE_EP_CMD & 0x0Fu)       /* 2 (OUT) */
#define EP_REPLY (STANCE_WIRE_EP_REPLY & 0x0Fu)   /* 2 (IN) */

#define RX_FIFO_WORDS 128u
#define TX0_FIFO_WORDS 16u
#define TX1_FIFO_WORDS 128u
#define TX2_FIFO_WORDS 48u
_Static_assert(RX_FIFO_WORDS + TX0_FIFO_WORDS + TX1_FIFO_WORDS + TX2_FIFO_WORDS <=
                   OTG_FIFO_TOTAL_WORDS,
               "OTG FIFO RAM overcommitted");
_Static_assert(EP_STREAM == 1 && EP_CMD == 2 && EP_REPLY == 2, "endpoint numbers of stance-wire.h");

/* Standard requests (USB 2.0 table 9-4) and descriptor types. */
#define REQ_GET_STATUS 0x00
#define REQ_CLEAR_FEATURE 0x01
#define REQ_SET_FEATURE 0x03
#define REQ_SET_ADDRESS 0x05
#define REQ_GET_DESCRIPTOR 0x06
#define REQ_GET_CONFIGURATION 0x08
#define REQ_SET_CONFIGURATION 0x09
#define REQ_GET_INTERFACE 0x0A
#define REQ_SET_INTERFACE 0x0B
#define FEATURE_ENDPOINT_HALT 0
#define DESC_DEVICE 1
#define DESC_CONFIGURATION 2
#define DESC_STRING 3
#define DESC_BOS 15

#define SPIN_LIMIT 100000u

typedef struct {
  const uint8_t *data;
  uint16_t len;    /* bytes in the transfer */
  uint16_t pushed; /* bytes written into the TX FIFO so far */
  bool busy;
  bool zlp; /* a zero-length packet follows the transfer */
} InEp;

static struct {
  const char *serial;
  uint16_t bcd_device;
  uint8_t config; /* 0 = not configured, 1 = configured */
  uint32_t session;
  bool halted_in[3];
  bool halted_out[3];

  /* Control endpoint. */
  uint8_t setup[8];
  uint8_t ep0_buf[192]; /* the largest answer: the MS OS 2.0 set (162 bytes) */
  const uint8_t *ep0_data;
  uint16_t ep0_left;
  bool ep0_zlp;
  bool ep0_in_active;

  InEp in[3]; /* by endpoint number; [0] unused (EP0 above) */

  /* Command assembly on EP2 OUT. */
  uint8_t cmd[STANCE_WIRE_MSG_MAX];
  size_t cmd_len;
  bool cmd_overflow;
  bool cmd_ready;
  bool cmd_armed;
  uint16_t cmd_last_packet;
} usb;

/* ---- FIFO and endpoint primitives ---- */

static bool
spin_until(volatile uint32_t *reg, uint32_t mask, bool set)
{
  for (uint32_t i = 0; i < SPIN_LIMIT; i++)
    if (((*reg & mask) != 0) == set)
      return true;
  return false;
}

static void
fifo_write(unsigned ep, const uint8_t *p, unsigned n)
{
  volatile uint32_t *fifo = &OTG_FIFO(ep);
  for (unsigned i = 0; i < n; i += 4) {
    uint32_t w = 0;
    for (unsigned k = 0; k < 4 && i + k < n; k++)
      w |= (uint32_t)p[i + k] << (8 * k);
    *fifo = w;
  }
}

/* Pops n bytes of the packet at the head of the RX FIFO into p (NULL: discard). */
static void
fifo_read(uint8_t *p, unsigned n)
{
  volatile uint32_t *fifo = &OTG_FIFO(0);
  for (unsigned i = 0; i < n; i += 4) {
    uint32_t w = *fifo;
    for (unsigned k = 0; k < 4 && i + k < n; k++)
      if (p)
        p[i + k] = (uint8_t)(w >> (8 * k));
  }
}

static void
tx_fifo_flush(unsigned fifo_num)
{
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_AHBIDL, true);
  OTG->GRSTCTL = OTG_GRSTCTL_TXFNUM(fifo_num) | OTG_GRSTCTL_TXFFLSH;
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_TXFFLSH, false);
}

static void
rx_fifo_flush(void)
{
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_AHBIDL, true);
  OTG->GRSTCTL = OTG_GRSTCTL_RXFFLSH;
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_RXFFLSH, false);
}

/* Stops an IN endpoint's transfer (NAK, disable) and empties its FIFO. */
static void
in_abort(unsigned ep)
{
  OtgEpRegs *e = OTG_IN_EP(ep);
  if (e->CTL & OTG_EPCTL_EPENA) {
    e->INT = OTG_DIEPINT_INEPNE;
    e->CTL |= OTG_EPCTL_SNAK;
    spin_until(&e->INT, OTG_DIEPINT_INEPNE, true);
    e->CTL |= OTG_EPCTL_EPDIS | OTG_EPCTL_SNAK;
    spin_until(&e->INT, OTG_EPINT_EPDISD, true);
  }
  e->INT = 0xFFu;
  tx_fifo_flush(ep);
  if (ep > 0)
    usb.in[ep] = (InEp){0};
}

static void
in_pump(unsigned ep)
{
  InEp *s = &usb.in[ep];
  while (s->busy && s->pushed < s->len) {
    unsigned chunk = s->len - s->pushed;
    if (chunk > EP_SIZE)
      chunk = EP_SIZE;
    if ((OTG_IN_EP(ep)->TXFSTS & 0xFFFFu) < (chunk + 3u) / 4u)
      break; /* no room yet: the next poll continues */
    fifo_write(ep, s->data + s->pushed, chunk);
    s->pushed = (uint16_t)(s->pushed + chunk);
  }
}

static void
in_start(unsigned ep, const uint8_t *data, uint16_t len, bool zlp)
{
  unsigned packets = len == 0 ? 1u : (len + EP_SIZE - 1u) / EP_SIZE;
  usb.in[ep] = (InEp){.data = data, .len = len, .pushed = 0, .busy = true, .zlp = zlp};
  OTG_IN_EP(ep)->TSIZ = OTG_TSIZ_PKTCNT(packets) | OTG_TSIZ_XFRSIZ(len);
  OTG_IN_EP(ep)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  in_pump(ep);
}

static void
in_complete(unsigned ep)
{
  InEp *s = &usb.in[ep];
  if (s->zlp) {
    in_start(ep, NULL, 0, false);
    return;
  }
  s->busy = false;
}

static void
cmd_arm(void)
{
  OtgEpRegs *e = OTG_OUT_EP(EP_CMD);
  e->TSIZ = OTG_TSIZ_PKTCNT(1) | OTG_TSIZ_XFRSIZ(EP_SIZE);
  e->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  usb.cmd_armed = true;
}

static void
cmd_reset(void)
{
  usb.cmd_len = 0;
  usb.cmd_overflow = false;
  usb.cmd_ready = false;
}

/* ---- Control endpoint ---- */

static void
ep0_out_arm(void)
{
  OtgEpRegs *e = OTG_OUT_EP(0);
  e->TSIZ = OTG_DOEPTSIZ0_STUPCNT(3) | OTG_TSIZ_PKTCNT(1) | OTG_TSIZ_XFRSIZ(EP0_SIZE);
  e->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
}

static void
ep0_in_next(void)
{
  uint16_t n = usb.ep0_left > EP0_SIZE ? EP0_SIZE : usb.ep0_left;
  OTG_IN_EP(0)->TSIZ = OTG_TSIZ_PKTCNT(1) | OTG_TSIZ_XFRSIZ(n);
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_EPENA | OTG_EPCTL_CNAK;
  if (n > 0)
    fifo_write(0, usb.ep0_data, n); /* the EP0 FIFO holds one packet and is empty here */
  usb.ep0_data += n;
  usb.ep0_left = (uint16_t)(usb.ep0_left - n);
  usb.ep0_in_active = true;
}

/* Data stage IN (len bytes, cut to the host's wLength), or with len 0 and wlength 0 the status
 * stage of a request without data. A short answer that ends on a packet boundary gets a
 * zero-length packet so the host knows it is complete. */
static void
ep0_send(const uint8_t *data, uint16_t len, uint16_t wlength)
{
  if (len > wlength)
    len = wlength;
  usb.ep0_data = data;
  usb.ep0_left = len;
  usb.ep0_zlp = len > 0 && len < wlength && len % EP0_SIZE == 0;
  ep0_in_next();
}

static void
ep0_status_in(void)
{
  ep0_send(NULL, 0, 0);
}

static void
ep0_stall(void)
{
  OTG_IN_EP(0)->CTL |= OTG_EPCTL_STALL;
  OTG_OUT_EP(0)->CTL |= OTG_EPCTL_STALL; /* the next SETUP clears both */
}

static void
ep0_in_done(void)
{
  if (usb.ep0_left > 0) {
    ep0_in_next();
  } else if (usb.ep0_zlp) {
    usb.ep0_zlp = false;
    ep0_in_next();
  } else {
    usb.ep0_in_active = false;
  }
}

/* ---- Configuration ---- */

static void
endpoints_close(void)
{
  in_abort(EP_STREAM);
  in_abort(EP_REPLY);
  OTG_IN_EP(EP_STREAM)->CTL &= ~OTG_EPCTL_USBAEP;
  OTG_IN_EP(EP_REPLY)->CTL &= ~OTG_EPCTL_USBAEP;
  OtgEpRegs *o = OTG_OUT_EP(EP_CMD);
  if (o->CTL & OTG_EPCTL_EPENA) {
    o->CTL |= OTG_EPCTL_SNAK | OTG_EPCTL_EPDIS;
    spin_until(&o->INT, OTG_EPINT_EPDISD, true);
  }
  o->INT = 0xFFu;
  o->CTL &= ~OTG_EPCTL_USBAEP;
  OTG_DEV->DAINTMSK = OTG_DAINT_IN(0) | OTG_DAINT_OUT(0);
  usb.cmd_armed = false;
  cmd_reset();
  memset(usb.halted_in, 0, sizeof usb.halted_in);
  memset(usb.halted_out, 0, sizeof usb.halted_out);
  usb.config = 0;
}

static void
endpoints_open(void)
{
  OTG_IN_EP(EP_STREAM)->CTL = OTG_EPCTL_MPSIZ(EP_SIZE) | OTG_EPCTL_EPTYP_BULK |
                              OTG_EPCTL_TXFNUM(EP_STREAM) | OTG_EPCTL_USBAEP | OTG_EPCTL_SD0PID |
                              OTG_EPCTL_SNAK;
  OTG_IN_EP(EP_REPLY)->CTL = OTG_EPCTL_MPSIZ(EP_SIZE) | OTG_EPCTL_EPTYP_BULK |
                             OTG_EPCTL_TXFNUM(EP_REPLY) | OTG_EPCTL_USBAEP | OTG_EPCTL_SD0PID |
                             OTG_EPCTL_SNAK;
  OTG_OUT_EP(EP_CMD)->CTL = OTG_EPCTL_MPSIZ(EP_SIZE) | OTG_EPCTL_EPTYP_BULK | OTG_EPCTL_USBAEP |
                            OTG_EPCTL_SD0PID | OTG_EPCTL_SNAK;
  OTG_DEV->DAINTMSK = OTG_DAINT_IN(0) | OTG_DAINT_OUT(0) | OTG_DAINT_IN(EP_STREAM) |
                      OTG_DAINT_IN(EP_REPLY) | OTG_DAINT_OUT(EP_CMD);
  cmd_reset();
  cmd_arm();
  usb.config = 1;
}

/* SET_FEATURE / CLEAR_FEATURE(ENDPOINT_HALT). Clearing also discards the endpoint's leftovers and
 * resets its data toggle to DATA0, as the host does on its side. */
static bool
endpoint_halt(uint8_t address, bool halt)
{
  unsigned n = address & 0x0Fu;
  bool in = (address & 0x80u) != 0;
  if (usb.config == 0 || !((in && (n == EP_STREAM || n == EP_REPLY)) || (!in && n == EP_CMD)))
    return false;
  if (in) {
    in_abort(n);
    OtgEpRegs *e = OTG_IN_EP(n);
    if (halt)
      e->CTL |= OTG_EPCTL_STALL;
    else
      e->CTL = (e->CTL & ~OTG_EPCTL_STALL) | OTG_EPCTL_SD0PID;
    usb.halted_in[n] = halt;
  } else {
    OtgEpRegs *e = OTG_OUT_EP(n);
    if (halt) {
      e->CTL |= OTG_EPCTL_STALL;
    } else {
      e->CTL = (e->CTL & ~OTG_EPCTL_STALL) | OTG_EPCTL_SD0PID;
      if (!usb.cmd_ready) {
        cmd_reset(); /* a partial command is dropped; a complete one still gets its reply */
        if (!usb.cmd_armed)
          cmd_arm();
      }
    }
    usb.halted_out[n] = halt;
  }
  return true;
}

/* ---- SETUP requests ---- */

static void
handle_get_descriptor(uint8_t type, uint8_t index, uint16_t wlength)
{
  size_t n = 0;
  switch (type) {
  case DESC_DEVICE: n = fw_desc_device(usb.bcd_device, usb.ep0_buf, sizeof usb.ep0_buf); break;
  case DESC_CONFIGURATION: n = fw_desc_config(usb.ep0_buf, sizeof usb.ep0_buf); break;
  case DESC_STRING: n = fw_desc_string(index, usb.serial, usb.ep0_buf, sizeof usb.ep0_buf); break;
  case DESC_BOS: n = fw_desc_bos(usb.ep0_buf, sizeof usb.ep0_buf); break;
  default: break; /* device qualifier etc.: a full-speed-only device stalls them */
  }
  if (n == 0) {
    ep0_stall();
    return;
  }
  ep0_send(usb.ep0_buf, (uint16_t)n, wlength);
}

static void
handle_setup(void)
{
  const uint8_t *s = usb.setup;
  uint8_t bm = s[0], req = s[1];
  uint16_t wvalue = (uint16_t)(s[2] | (s[3] << 8));
  uint16_t windex = (uint16_t)(s[4] | (s[5] << 8));
  uint16_t wlength = (uint16_t)(s[6] | (s[7] << 8));

  /* A new SETUP cancels a control transfer still in progress. */
  if (usb.ep0_in_active && (OTG_IN_EP(0)->CTL & OTG_EPCTL_EPENA))
    in_abort(0);
  usb.ep0_in_active = false;
  usb.ep0_left = 0;
  usb.ep0_zlp = false;

  uint8_t type = bm & 0x60u, recipient = bm & 0x1Fu;
  bool to_host = (bm & 0x80u) != 0;
  bool ok = true;

  if (type == 0x40u) {
    /* Vendor: only the Microsoft OS 2.0 descriptor set request. */
    if (to_host && req == FW_DESC_MS_VENDOR_CODE && windex == FW_DESC_MS_OS_20_INDEX) {
      size_t n = fw_desc_ms_os_20(usb.ep0_buf, sizeof usb.ep0_buf);
      if (n > 0)
        ep0_send(usb.ep0_buf, (uint16_t)n, wlength);
      else
        ok = false;
    } else {
      ok = false;
    }
  } else if (type != 0) {
    ok = false;
  } else if (!to_host && wlength != 0) {
    ok = false; /* no standard request we answer has an OUT data stage */
  } else {
    switch (req) {
    case REQ_GET_DESCRIPTOR:
      if (to_host && recipient == 0)
        handle_get_descriptor((uint8_t)(wvalue >> 8), (uint8_t)wvalue, wlength);
      else
        ok = false;
      break;
    case REQ_SET_ADDRESS:
      if (recipient == 0 && wvalue < 128 && usb.config == 0) {
        /* The OTG core applies the address after the status stage by itself. */
        OTG_DEV->DCFG = (OTG_DEV->DCFG & ~OTG_DCFG_DAD_MASK) | OTG_DCFG_DAD(wvalue);
        ep0_status_in();
      } else {
        ok = false;
      }
      break;
    case REQ_SET_CONFIGURATION:
      if (recipient == 0 && wvalue <= 1) {
        usb.session++;
        endpoints_close();
        if (wvalue == 1)
          endpoints_open();
        ep0_status_in();
      } else {
        ok = false;
      }
      break;
    case REQ_GET_CONFIGURATION:
      if (to_host && recipient == 0) {
        usb.ep0_buf[0] = usb.config;
        ep0_send(usb.ep0_buf, 1, wlength);
      } else {
        ok = false;
      }
      break;
    case REQ_GET_STATUS:
      if (!to_host) {
        ok = false;
        break;
      }
      usb.ep0_buf[0] = 0; /* device: bus-powered, no remote wake-up; interface: reserved 0 */
      usb.ep0_buf[1] = 0;
      if (recipient == 2) {
        unsigned n = windex & 0x0Fu;
        bool in = (windex & 0x80u) != 0;
        if (n > 2)
          ok = false;
        else
          usb.ep0_buf[0] = (in ? usb.halted_in[n] : usb.halted_out[n]) ? 1 : 0;
      } else if (recipient > 2 || (recipient == 1 && (windex != 0 || usb.config == 0))) {
        ok = false;
      }
      if (ok)
        ep0_send(usb.ep0_buf, 2, wlength);
      break;
    case REQ_CLEAR_FEATURE:
    case REQ_SET_FEATURE:
      if (recipient == 2 && wvalue == FEATURE_ENDPOINT_HALT &&
          ((windex & 0x0Fu) == 0 || endpoint_halt((uint8_t)windex, req == REQ_SET_FEATURE)))
        ep0_status_in();
      else
        ok = false; /* no remote wake-up, no test modes at full speed */
      break;
    case REQ_GET_INTERFACE:
      if (to_host && recipient == 1 && windex == 0 && usb.config != 0) {
        usb.ep0_buf[0] = 0;
        ep0_send(usb.ep0_buf, 1, wlength);
      } else {
        ok = false;
      }
      break;
    case REQ_SET_INTERFACE:
      if (recipient == 1 && windex == 0 && wvalue == 0 && usb.config != 0)
        ep0_status_in();
      else
        ok = false;
      break;
    default: ok = false; break;
    }
  }
  if (!ok)
    ep0_stall();
  ep0_out_arm(); /* ready for the status stage OUT or the next SETUP */
}

/* ---- Bus events ---- */

static void
handle_bus_reset(void)
{
  usb.session++;
  OTG_DEV->DCTL &= ~OTG_DCTL_RWUSIG;
  tx_fifo_flush(0x10); /* all */
  rx_fifo_flush();
  for (unsigned n = 0; n < 3; n++) {
    OTG_IN_EP(n)->INT = 0xFFu;
    OTG_OUT_EP(n)->INT = 0xFFu;
    OTG_IN_EP(n)->CTL &= ~OTG_EPCTL_STALL;
    OTG_OUT_EP(n)->CTL = (OTG_OUT_EP(n)->CTL & ~OTG_EPCTL_STALL) | OTG_EPCTL_SNAK;
  }
  endpoints_close();
  memset(usb.in, 0, sizeof usb.in);
  usb.ep0_in_active = false;
  OTG_DEV->DIEPMSK = OTG_DIEPMSK_XFRCM | OTG_DIEPMSK_TOM;
  OTG_DEV->DOEPMSK = OTG_DOEPMSK_XFRCM | OTG_DOEPMSK_STUPM;
  OTG_DEV->DAINTMSK = OTG_DAINT_IN(0) | OTG_DAINT_OUT(0);
  OTG_DEV->DCFG &= ~OTG_DCFG_DAD_MASK;
  ep0_out_arm();
}

static void
handle_enum_done(void)
{
  /* Full speed is the only speed of this core: EP0 max packet 64 (MPSIZ 0), turnaround time 6
   * for an AHB clock at or above 32 MHz. */
  OTG_IN_EP(0)->CTL &= ~0x3u;
  OTG->GUSBCFG = (OTG->GUSBCFG & ~OTG_GUSBCFG_TRDT_MASK) | OTG_GUSBCFG_TRDT(6);
  OTG_DEV->DCTL |= OTG_DCTL_CGINAK;
}

static void
handle_rx(void)
{
  uint32_t st = OTG->GRXSTSP;
  unsigned ep = OTG_GRXSTS_EPNUM(st), n = OTG_GRXSTS_BCNT(st);
  switch (OTG_GRXSTS_PKTSTS(st)) {
  case OTG_PKTSTS_SETUP_DATA:
    if (n == sizeof usb.setup)
      fifo_read(usb.setup, n);
    else
      fifo_read(NULL, n);
    break;
  case OTG_PKTSTS_OUT_DATA:
    if (ep == EP_CMD) {
      size_t room = sizeof usb.cmd - usb.cmd_len;
      if (n > room) {
        usb.cmd_overflow = true;
        fifo_read(NULL, n);
      } else {
        fifo_read(usb.cmd + usb.cmd_len, n);
        usb.cmd_len += n;
      }
      usb.cmd_last_packet = (uint16_t)n;
    } else {
      fifo_read(NULL, n); /* EP0 status stage (zero length) or data we do not take */
    }
    break;
  default: break; /* transfer/setup complete markers carry no data */
  }
}

static void
handle_out_endpoints(void)
{
  uint32_t daint = OTG_DEV->DAINT & OTG_DEV->DAINTMSK;
  if (daint & OTG_DAINT_OUT(0)) {
    uint32_t i = OTG_OUT_EP(0)->INT;
    OTG_OUT_EP(0)->INT = i;
    if (i & OTG_DOEPINT_STUP)
      handle_setup();
    else if (i & OTG_EPINT_XFRC)
      ep0_out_arm();
  }
  if (daint & OTG_DAINT_OUT(EP_CMD)) {
    uint32_t i = OTG_OUT_EP(EP_CMD)->INT;
    OTG_OUT_EP(EP_CMD)->INT = i;
    if (i & OTG_EPINT_XFRC) {
      usb.cmd_armed = false;
      if (usb.cmd_last_packet < EP_SIZE)
        usb.cmd_ready = true; /* short packet: the message is complete; NAK until handled */
      else
        cmd_arm();
    }
  }
}

static void
handle_in_endpoints(void)
{
  uint32_t daint = OTG_DEV->DAINT & OTG_DEV->DAINTMSK;
  for (unsigned ep = 0; ep < 3; ep++) {
    if (!(daint & OTG_DAINT_IN(ep)))
      continue;
    uint32_t i = OTG_IN_EP(ep)->INT;
    OTG_IN_EP(ep)->INT = i;
    if (!(i & OTG_EPINT_XFRC))
      continue;
    if (ep == 0)
      ep0_in_done();
    else
      in_complete(ep);
  }
}

/* ---- Public ---- */

void
usb_init(const char *serial, uint16_t bcd_device)
{
  memset(&usb, 0, sizeof usb);
  usb.serial = serial;
  usb.bcd_device = bcd_device;

  RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
  RCC->AHB2ENR |= RCC_AHB2ENR_OTGFSEN;
  (void)RCC->AHB2ENR;
  gpio_config(GPIOA, 11, GPIO_MODE_AF, 10, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE); /* DM */
  gpio_config(GPIOA, 12, GPIO_MODE_AF, 10, GPIO_SPEED_VERY_HIGH, GPIO_PULL_NONE); /* DP */

  /* Core soft reset once the AHB master is idle. */
  OTG->GUSBCFG |= OTG_GUSBCFG_PHYSEL;
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_AHBIDL, true);
  OTG->GRSTCTL |= OTG_GRSTCTL_CSRST;
  spin_until(&OTG->GRSTCTL, OTG_GRSTCTL_CSRST, false);
  clock_delay_us(10);

  /* Transceiver on; no VBUS sensing (the board is powered from VBUS, PA9 is not wired to it). */
  OTG->GCCFG = OTG_GCCFG_PWRDWN | OTG_GCCFG_NOVBUSSENS;
  /* Device mode forced; the switch takes up to 25 ms. */
  OTG->GUSBCFG = (OTG->GUSBCFG & ~(OTG_GUSBCFG_FHMOD | OTG_GUSBCFG_TRDT_MASK)) | OTG_GUSBCFG_FDMOD |
                 OTG_GUSBCFG_TRDT(6);
  clock_delay_us(25000);

  OTG_PCGCCTL = 0;
  OTG_DEV->DCFG = OTG_DCFG_DSPD_FS;
  OTG_DEV->DCTL = OTG_DCTL_SDIS; /* stay disconnected while setting up */

  OTG->GRXFSIZ = RX_FIFO_WORDS;
  OTG->DIEPTXF0 = (TX0_FIFO_WORDS << 16) | RX_FIFO_WORDS;
  OTG->DIEPTXF[0] = (TX1_FIFO_WORDS << 16) | (RX_FIFO_WORDS + TX0_FIFO_WORDS);
  OTG->DIEPTXF[1] = (TX2_FIFO_WORDS << 16) | (RX_FIFO_WORDS + TX0_FIFO_WORDS + TX1_FIFO_WORDS);
  tx_fifo_flush(0x10);
  rx_fifo_flush();

  OTG_DEV->DIEPMSK = 0;
  OTG_DEV->DOEPMSK = 0;
  OTG_DEV->DAINTMSK = 0;
  for (unsigned n = 0; n < 4; n++) {
    OTG_IN_EP(n)->CTL = (n == 0) ? OTG_EPCTL_SNAK : 0;
    OTG_OUT_EP(n)->CTL = OTG_EPCTL_SNAK;
    OTG_IN_EP(n)->INT = 0xFFu;
    OTG_OUT_EP(n)->INT = 0xFFu;
  }

  /* Polled: the status bits are read in usb_poll(); the OTG interrupt line stays disabled. */
  OTG->GAHBCFG = 0;
  OTG->GINTSTS = 0xFFFFFFFFu;
  OTG->GINTMSK = OTG_GINTSTS_USBRST | OTG_GINTSTS_ENUMDNE | OTG_GINTSTS_USBSUSP |
                 OTG_GINTSTS_WKUPINT | OTG_GINTSTS_RXFLVL | OTG_GINTSTS_IEPINT | OTG_GINTSTS_OEPINT;

  OTG_DEV->DCTL &= ~OTG_DCTL_SDIS; /* pull-up on D+: the host sees the device */
}

void
usb_poll(void)
{
  uint32_t st = OTG->GINTSTS & OTG->GINTMSK;
  if (st & OTG_GINTSTS_USBRST) {
    OTG->GINTSTS = OTG_GINTSTS_USBRST;
    handle_bus_reset();
  }
  if (st & OTG_GINTSTS_ENUMDNE) {
    OTG->GINTSTS = OTG_GINTSTS_ENUMDNE;
    handle_enum_done();
  }
  if (st & (OTG_GINTSTS_USBSUSP | OTG_GINTSTS_WKUPINT))
    OTG->GINTSTS = st & (OTG_GINTSTS_USBSUSP | OTG_GINTSTS_WKUPINT);
  for (unsigned guard = 0; (OTG->GINTSTS & OTG_GINTSTS_RXFLVL) && guard < 64; guard++)
    handle_rx();
  if (st & OTG_GINTSTS_OEPINT)
    handle_out_endpoints();
  if (st & OTG_GINTSTS_IEPINT)
    handle_in_endpoints();
  in_pump(EP_STREAM);
  in_pump(EP_REPLY);
}

bool
usb_configured(void)
{
  return usb.config != 0;
}

uint32_t
usb_session(void)
{
  return usb.session;
}

bool
usb_command(const uint8_t **msg, size_t *len)
{
  if (!usb.cmd_ready)
    return false;
  *msg = usb.cmd;
  /* A transfer longer than any message: hand over only the header, which the core refuses as
   * truncated while still echoing its opcode and tag. */
  *len = usb.cmd_overflow ? (usb.cmd_len < STANCE_WIRE_MSG_HEADER ? usb.cmd_len : 6u) : usb.cmd_len;
  return true;
}

void
usb_command_done(void)
{
  cmd_reset();
  if (usb.config != 0 && !usb.cmd_armed)
    cmd_arm();
}

bool
usb_reply_idle(void)
{
  return usb.config != 0 && !usb.in[EP_REPLY].busy;
}

void
usb_reply_send(const uint8_t *msg, size_t len)
{
  if (usb.config == 0 || len > STANCE_WIRE_MSG_MAX)
    return;
  in_start(EP_REPLY, msg, (uint16_t)len, len > 0 && len % EP_SIZE == 0);
}

bool
usb_stream_idle(void)
{
  return usb.config != 0 && !usb.in[EP_STREAM].busy;
}

void
usb_stream_send(const uint8_t *frame)
{
  if (usb.config == 0)
    return;
  in_start(EP_STREAM, frame, STANCE_WIRE_FRAME_SIZE, false);
}

void
usb_stream_abort(void)
{
  if (usb.config != 0)
    in_abort(EP_STREAM);
}
