/* test-fw-desc.c: the USB descriptors: golden device descriptor, consistent lengths and totals,
 * endpoints as stance-wire.h defines them, UTF-16LE strings, the BOS with the Microsoft OS 2.0
 * platform capability and the descriptor set it announces.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The expected values come from the USB 2.0 specification (chapter 9) and Microsoft's "Microsoft
 * OS 2.0 Descriptors Specification"; the platform capability UUID is parsed here from its
 * registry text form, independently of the byte table in fw-desc.c.
 */
#include <string.h>

#include "fw-desc.h"
#include "fw-test.h"
#include "stance-wire.h"

static unsigned
le16(const uint8_t *p)
{
  return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
  return (uint32_t)le16(p) | ((uint32_t)le16(p + 2) << 16);
}

static void
test_device_golden(void)
{
  uint8_t d[64];
  memset(d, 0xEE, sizeof d);
  size_t n = fw_desc_device(0x0100, d, sizeof d);
  static const uint8_t golden[18] = {
      18,   0x01,       /* bLength, DEVICE */
      0x01, 0x02,       /* bcdUSB 2.01 */
      0x00, 0x00, 0x00, /* class, subclass, protocol: per interface */
      64,               /* bMaxPacketSize0 */
      0x09, 0x12,       /* idVendor 0x1209 (pid.codes) */
      0x01, 0x00,       /* idProduct 0x0001 */
      0x00, 0x01,       /* bcdDevice 1.00 */
      1,    2,    3,    /* manufacturer, product, serial strings */
      1,                /* one configuration */
  };
  FW_CHECK_EQ(n, 18);
  FW_CHECK_MEM(d, golden, sizeof golden);
  FW_CHECK_EQ(d[18], 0xEE); /* nothing written past the end */
  FW_CHECK_EQ(fw_desc_device(0x0102, d, sizeof d), 18);
  FW_CHECK_EQ(le16(d + 12), 0x0102);
  FW_CHECK_EQ(fw_desc_device(0x0100, d, 17), 0);
}

static void
test_config(void)
{
  uint8_t d[128];
  size_t n = fw_desc_config(d, sizeof d);
  FW_CHECK_EQ(n, 9 + 9 + 3 * 7);
  FW_CHECK_EQ(d[0], 9);
  FW_CHECK_EQ(d[1], 0x02);
  FW_CHECK_EQ(le16(d + 2), n); /* wTotalLength */
  FW_CHECK_EQ(d[4], 1);        /* bNumInterfaces */
  FW_CHECK_EQ(d[5], 1);        /* bConfigurationValue */
  FW_CHECK(d[7] & 0x80);       /* reserved bit 7 set */
  FW_CHECK(!(d[7] & 0x40));    /* bus-powered */
  FW_CHECK_EQ(d[8], 50);       /* 100 mA */

  /* Walk the set: every descriptor's bLength adds up to wTotalLength. */
  size_t at = 0, interfaces = 0, endpoints = 0;
  uint8_t ep_addr[3] = {0};
  while (at < n) {
    FW_CHECK(d[at] >= 2);
    if (d[at] < 2)
      break;
    if (d[at + 1] == 0x04) {
      interfaces++;
      FW_CHECK_EQ(d[at], 9);
      FW_CHECK_EQ(d[at + 4], 3); /* bNumEndpoints */
      FW_CHECK_EQ(d[at + 5], STANCE_WIRE_IFACE_CLASS);
      FW_CHECK_EQ(d[at + 6], STANCE_WIRE_IFACE_SUBCLASS);
      FW_CHECK_EQ(d[at + 7], STANCE_WIRE_IFACE_PROTOCOL);
    } else if (d[at + 1] == 0x05) {
      FW_CHECK_EQ(d[at], 7);
      if (endpoints < 3)
        ep_addr[endpoints] = d[at + 2];
      endpoints++;
      FW_CHECK_EQ(d[at + 3], 0x02); /* bulk */
      FW_CHECK_EQ(le16(d + at + 4), STANCE_WIRE_PACKET_SIZE);
    }
    at += d[at];
  }
  FW_CHECK_EQ(at, n);
  FW_CHECK_EQ(interfaces, 1);
  FW_CHECK_EQ(endpoints, 3);
  FW_CHECK_EQ(ep_addr[0], STANCE_WIRE_EP_STREAM);
  FW_CHECK_EQ(ep_addr[1], STANCE_WIRE_EP_CMD);
  FW_CHECK_EQ(ep_addr[2], STANCE_WIRE_EP_REPLY);
  FW_CHECK_EQ(ep_addr[0], 0x81);
  FW_CHECK_EQ(ep_addr[1], 0x02);
  FW_CHECK_EQ(ep_addr[2], 0x82);
  FW_CHECK_EQ(fw_desc_config(d, n - 1), 0);
}

static bool
utf16_equals(const uint8_t *p, size_t bytes, const char *ascii)
{
  if (bytes != 2 * strlen(ascii))
    return false;
  for (size_t i = 0; ascii[i]; i++)
    if (p[2 * i] != (uint8_t)ascii[i] || p[2 * i + 1] != 0)
      return false;
  return true;
}

static void
test_strings(void)
{
  uint8_t d[256];
  FW_CHECK_EQ(fw_desc_string(0, "X", d, sizeof d), 4);
  static const uint8_t langs[4] = {4, 0x03, 0x09, 0x04};
  FW_CHECK_MEM(d, langs, 4);

  size_t n = fw_desc_string(1, "SER1", d, sizeof d);
  FW_CHECK_EQ(n, 2 + 2 * 6);
  FW_CHECK_EQ(d[0], n);
  FW_CHECK_EQ(d[1], 0x03);
  FW_CHECK(utf16_equals(d + 2, n - 2, "Stance"));

  n = fw_desc_string(2, "SER1", d, sizeof d);
  FW_CHECK_EQ(d[0], n);
  FW_CHECK(utf16_equals(d + 2, n - 2, "Stance force plates"));

  n = fw_desc_string(3, "0A1B2C3D4E5F6G7H8J9K", d, sizeof d);
  FW_CHECK_EQ(n, 42);
  FW_CHECK_EQ(d[0], 42);
  FW_CHECK(utf16_equals(d + 2, n - 2, "0A1B2C3D4E5F6G7H8J9K"));

  FW_CHECK_EQ(fw_desc_string(3, NULL, d, sizeof d), 0);
  FW_CHECK_EQ(fw_desc_string(4, "SER1", d, sizeof d), 0);
  FW_CHECK_EQ(fw_desc_string(0xEE, "SER1", d, sizeof d), 0); /* no MS OS 1.0 string */
  FW_CHECK_EQ(fw_desc_string(2, "SER1", d, 10), 0);          /* too small */
  FW_CHECK_EQ(fw_desc_string(0, "SER1", d, 3), 0);
}

static int
hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* "{D8DD60DF-4589-4CC7-9CD2-659D9E648A9F}" to the 16 bytes of a GUID in memory (Data1 u32, Data2
 * u16, Data3 u16 little-endian, then Data4's 8 bytes in order). */
static void
guid_bytes(const char *s, uint8_t out[16])
{
  uint8_t be[16];
  int k = 0;
  for (const char *p = s; *p && k < 16; p++) {
    if (hexval(p[0]) < 0)
      continue;
    be[k++] = (uint8_t)(hexval(p[0]) * 16 + hexval(p[1]));
    p++;
  }
  static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; i++)
    out[i] = be[order[i]];
}

static void
test_bos(void)
{
  uint8_t d[128];
  size_t n = fw_desc_bos(d, sizeof d);
  FW_CHECK_EQ(n, 5 + 28);
  FW_CHECK_EQ(d[0], 5);
  FW_CHECK_EQ(d[1], 0x0F);
  FW_CHECK_EQ(le16(d + 2), n);
  FW_CHECK_EQ(d[4], 1);

  const uint8_t *cap = d + 5;
  FW_CHECK_EQ(cap[0], 28);
  FW_CHECK_EQ(cap[1], 0x10); /* DEVICE CAPABILITY */
  FW_CHECK_EQ(cap[2], 0x05); /* PLATFORM */
  FW_CHECK_EQ(cap[3], 0);
  uint8_t uuid[16];
  guid_bytes("{D8DD60DF-4589-4CC7-9CD2-659D9E648A9F}", uuid);
  FW_CHECK_MEM(cap + 4, uuid, 16);
  FW_CHECK_EQ(le32(cap + 20), 0x06030000u); /* Windows 8.1 */
  uint8_t set[512];
  size_t set_len = fw_desc_ms_os_20(set, sizeof set);
  FW_CHECK(set_len > 0);
  FW_CHECK_EQ(le16(cap + 24), set_len); /* wMSOSDescriptorSetTotalLength */
  FW_CHECK_EQ(cap[26], FW_DESC_MS_VENDOR_CODE);
  FW_CHECK_EQ(cap[27], 0); /* no alternate enumeration */
  FW_CHECK_EQ(fw_desc_bos(d, n - 1), 0);
}

static void
test_ms_os_20(void)
{
  uint8_t d[512];
  size_t n = fw_desc_ms_os_20(d, sizeof d);
  FW_CHECK_EQ(n, 162);
  FW_CHECK_EQ(le16(d + 0), 10); /* set header */
  FW_CHECK_EQ(le16(d + 2), 0x00);
  FW_CHECK_EQ(le32(d + 4), 0x06030000u);
  FW_CHECK_EQ(le16(d + 8), n); /* wTotalLength */

  /* Walk the features: each wLength adds up to the total. */
  size_t at = 10;
  bool compat = false, guid = false;
  while (at + 4 <= n) {
    unsigned len = le16(d + at), type = le16(d + at + 2);
    FW_CHECK(len >= 4);
    if (len < 4)
      break;
    if (type == 0x03) { /* compatible ID */
      FW_CHECK_EQ(len, 20);
      static const uint8_t winusb[16] = {'W', 'I', 'N', 'U', 'S', 'B', 0, 0,
                                         0,   0,   0,   0,   0,   0,   0, 0};
      FW_CHECK_MEM(d + at + 4, winusb, 16);
      compat = true;
    } else if (type == 0x04) {          /* registry property */
      FW_CHECK_EQ(le16(d + at + 4), 7); /* REG_MULTI_SZ */
      unsigned name_len = le16(d + at + 6);
      FW_CHECK_EQ(name_len, 42);
      FW_CHECK(utf16_equals(d + at + 8, name_len - 2, "DeviceInterfaceGUIDs"));
      FW_CHECK_EQ(le16(d + at + 8 + name_len - 2), 0);
      unsigned data_len = le16(d + at + 8 + name_len);
      FW_CHECK_EQ(len, 10 + name_len + data_len);
      const uint8_t *data = d + at + 10 + name_len;
      FW_CHECK_EQ(data_len, 80); /* 38 characters, NUL, final NUL */
      /* A registry-format GUID: {8-4-4-4-12} in upper-case hex. */
      char text[39];
      bool ascii = true;
      for (int i = 0; i < 38; i++) {
        ascii = ascii && data[2 * i + 1] == 0;
        text[i] = (char)data[2 * i];
      }
      text[38] = '\0';
      FW_CHECK(ascii);
      bool shape = text[0] == '{' && text[37] == '}';
      for (int i = 1; i < 37; i++)
        shape = shape &&
                ((i == 9 || i == 14 || i == 19 || i == 24) ? text[i] == '-' : hexval(text[i]) >= 0);
      FW_CHECK(shape);
      FW_CHECK_EQ(le32(data + 76), 0); /* the two NULs */
      guid = true;
    }
    at += len;
  }
  FW_CHECK_EQ(at, n);
  FW_CHECK(compat);
  FW_CHECK(guid);
  FW_CHECK_EQ(fw_desc_ms_os_20(d, n - 1), 0);
}

int
main(void)
{
  fw_test_run("desc device golden", test_device_golden);
  fw_test_run("desc configuration", test_config);
  fw_test_run("desc strings", test_strings);
  fw_test_run("desc bos", test_bos);
  fw_test_run("desc ms os 2.0 set", test_ms_os_20);
  return fw_test_finish();
}
