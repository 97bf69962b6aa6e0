/* fw-desc.c: the board's USB descriptors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Layouts from the USB 2.0 specification (chapter 9), the USB 3.2 specification's BOS and
 * platform-capability descriptors, and Microsoft's "Microsoft OS 2.0 Descriptors Specification".
 * Everything multi-byte is little-endian. Descriptors are written field by field into the caller's
 * buffer (no packed structs), so the bytes do not depend on the compiler's layout rules.
 */
#include "fw-desc.h"

#include <string.h>

#include "stance-wire.h"

/* Descriptor types (USB 2.0 table 9-5, USB 3.2 table 9-6). */
#define DESC_DEVICE 0x01
#define DESC_CONFIGURATION 0x02
#define DESC_STRING 0x03
#define DESC_INTERFACE 0x04
#define DESC_ENDPOINT 0x05
#define DESC_BOS 0x0F
#define DESC_DEVICE_CAPABILITY 0x10
#define DEVCAP_PLATFORM 0x05

#define EP_BULK 0x02

#define DEVICE_LEN 18
#define CONFIG_LEN 9
#define INTERFACE_LEN 9
#define ENDPOINT_LEN 7
#define CONFIG_TOTAL (CONFIG_LEN + INTERFACE_LEN + 3 * ENDPOINT_LEN)

/* Microsoft OS 2.0 descriptor types and sizes. */
#define MS_OS_20_SET_HEADER 0x00
#define MS_OS_20_FEATURE_COMPATIBLE_ID 0x03
#define MS_OS_20_FEATURE_REG_PROPERTY 0x04
#define MS_OS_20_WINDOWS_8_1 0x06030000u
#define MS_OS_20_REG_MULTI_SZ 7
#define MS_SET_HEADER_LEN 10
#define MS_COMPAT_ID_LEN 20
#define MS_PROP_NAME "DeviceInterfaceGUIDs"
/* Our DeviceInterfaceGUID (generated once for Stance; host software may look it up with
 * SetupDiGetClassDevs). REG_MULTI_SZ: the string, its NUL, then the list's final NUL. */
#define MS_PROP_GUID "{643ACFB6-D95F-433E-A28F-FC8442D51E0F}"
#define MS_PROP_NAME_BYTES ((sizeof MS_PROP_NAME) * 2)     /* UTF-16LE with the NUL */
#define MS_PROP_DATA_BYTES ((sizeof MS_PROP_GUID + 1) * 2) /* UTF-16LE, NUL, NUL */
#define MS_REG_PROP_LEN (10 + MS_PROP_NAME_BYTES + MS_PROP_DATA_BYTES)
#define MS_OS_20_TOTAL (MS_SET_HEADER_LEN + MS_COMPAT_ID_LEN + MS_REG_PROP_LEN)

#define BOS_LEN 5
#define PLATFORM_CAP_LEN 28
#define BOS_TOTAL (BOS_LEN + PLATFORM_CAP_LEN)

/* {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F} in the byte order of a GUID in memory: the first three
 * fields little-endian, the last eight bytes as written. */
static const uint8_t ms_os_20_platform_uuid[16] = {
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
};

static const char *const strings[] = {NULL, "Stance", "Stance force plates"};

/* Byte writer over the caller's buffer. */
typedef struct {
  uint8_t *p;
  size_t n;
} Writer;

static void
put8(Writer *w, unsigned v)
{
  w->p[w->n++] = (uint8_t)v;
}

static void
put16(Writer *w, unsigned v)
{
  put8(w, v & 0xFFu);
  put8(w, (v >> 8) & 0xFFu);
}

static void
put32(Writer *w, uint32_t v)
{
  put16(w, v & 0xFFFFu);
  put16(w, v >> 16);
}

/* ASCII to UTF-16LE, with the terminating NUL when with_nul. */
static void
put_utf16(Writer *w, const char *s, int with_nul)
{
  for (; *s; s++)
    put16(w, (unsigned char)*s);
  if (with_nul)
    put16(w, 0);
}

size_t
fw_desc_device(uint16_t bcd_device, uint8_t *out, size_t cap)
{
  if (cap < DEVICE_LEN)
    return 0;
  Writer w = {out, 0};
  put8(&w, DEVICE_LEN);
  put8(&w, DESC_DEVICE);
  put16(&w, 0x0201);                 /* bcdUSB 2.01: the host may ask for the BOS */
  put8(&w, 0x00);                    /* bDeviceClass: per interface */
  put8(&w, 0x00);                    /* bDeviceSubClass */
  put8(&w, 0x00);                    /* bDeviceProtocol */
  put8(&w, STANCE_WIRE_PACKET_SIZE); /* bMaxPacketSize0 */
  put16(&w, STANCE_WIRE_VID);
  put16(&w, STANCE_WIRE_PID);
  put16(&w, bcd_device);
  put8(&w, 1); /* iManufacturer */
  put8(&w, 2); /* iProduct */
  put8(&w, 3); /* iSerialNumber */
  put8(&w, 1); /* bNumConfigurations */
  return w.n;
}

static void
put_endpoint(Writer *w, uint8_t address)
{
  put8(w, ENDPOINT_LEN);
  put8(w, DESC_ENDPOINT);
  put8(w, address);
  put8(w, EP_BULK);
  put16(w, STANCE_WIRE_PACKET_SIZE);
  put8(w, 0); /* bInterval: ignored for full-speed bulk */
}

size_t
fw_desc_config(uint8_t *out, size_t cap)
{
  if (cap < CONFIG_TOTAL)
    return 0;
  Writer w = {out, 0};
  put8(&w, CONFIG_LEN);
  put8(&w, DESC_CONFIGURATION);
  put16(&w, CONFIG_TOTAL);
  put8(&w, 1);    /* bNumInterfaces */
  put8(&w, 1);    /* bConfigurationValue */
  put8(&w, 0);    /* iConfiguration */
  put8(&w, 0x80); /* bmAttributes: bus-powered, no remote wake-up (bit 7 must be set) */
  put8(&w, 50);   /* bMaxPower in 2 mA units: 100 mA */

  put8(&w, INTERFACE_LEN);
  put8(&w, DESC_INTERFACE);
  put8(&w, 0); /* bInterfaceNumber */
  put8(&w, 0); /* bAlternateSetting */
  put8(&w, 3); /* bNumEndpoints */
  put8(&w, STANCE_WIRE_IFACE_CLASS);
  put8(&w, STANCE_WIRE_IFACE_SUBCLASS);
  put8(&w, STANCE_WIRE_IFACE_PROTOCOL);
  put8(&w, 0); /* iInterface */

  put_endpoint(&w, STANCE_WIRE_EP_STREAM);
  put_endpoint(&w, STANCE_WIRE_EP_CMD);
  put_endpoint(&w, STANCE_WIRE_EP_REPLY);
  return w.n;
}

size_t
fw_desc_string(uint8_t index, const char *serial, uint8_t *out, size_t cap)
{
  Writer w = {out, 0};
  if (index == 0) {
    if (cap < 4)
      return 0;
    put8(&w, 4);
    put8(&w, DESC_STRING);
    put16(&w, 0x0409); /* English (United States) */
    return w.n;
  }
  const char *s = NULL;
  if (index < sizeof strings / sizeof strings[0])
    s = strings[index];
  else if (index == 3)
    s = serial;
  if (s == NULL)
    return 0;
  size_t len = 2 + 2 * strlen(s);
  if (len > 255 || cap < len)
    return 0;
  put8(&w, (unsigned)len);
  put8(&w, DESC_STRING);
  put_utf16(&w, s, 0);
  return w.n;
}

size_t
fw_desc_bos(uint8_t *out, size_t cap)
{
  if (cap < BOS_TOTAL)
    return 0;
  Writer w = {out, 0};
  put8(&w, BOS_LEN);
  put8(&w, DESC_BOS);
  put16(&w, BOS_TOTAL);
  put8(&w, 1); /* bNumDeviceCaps */

  put8(&w, PLATFORM_CAP_LEN);
  put8(&w, DESC_DEVICE_CAPABILITY);
  put8(&w, DEVCAP_PLATFORM);
  put8(&w, 0); /* bReserved */
  memcpy(w.p + w.n, ms_os_20_platform_uuid, sizeof ms_os_20_platform_uuid);
  w.n += sizeof ms_os_20_platform_uuid;
  /* Descriptor set information: Windows version, set length, vendor code, no alternate
   * enumeration. */
  put32(&w, MS_OS_20_WINDOWS_8_1);
  put16(&w, MS_OS_20_TOTAL);
  put8(&w, FW_DESC_MS_VENDOR_CODE);
  put8(&w, 0);
  return w.n;
}

size_t
fw_desc_ms_os_20(uint8_t *out, size_t cap)
{
  if (cap < MS_OS_20_TOTAL)
    return 0;
  Writer w = {out, 0};
  /* Set header. Without configuration or function subsets the features apply to the whole
   * device, which is right for a single-interface, non-composite device. */
  put16(&w, MS_SET_HEADER_LEN);
  put16(&w, MS_OS_20_SET_HEADER);
  put32(&w, MS_OS_20_WINDOWS_8_1);
  put16(&w, MS_OS_20_TOTAL);

  /* CompatibleID "WINUSB", SubCompatibleID empty: Windows binds WinUSB.sys. */
  put16(&w, MS_COMPAT_ID_LEN);
  put16(&w, MS_OS_20_FEATURE_COMPATIBLE_ID);
  static const char compat[8] = {'W', 'I', 'N', 'U', 'S', 'B', 0, 0};
  memcpy(w.p + w.n, compat, sizeof compat);
  w.n += sizeof compat;
  memset(w.p + w.n, 0, 8);
  w.n += 8;

  /* Registry property DeviceInterfaceGUIDs (REG_MULTI_SZ). */
  put16(&w, MS_REG_PROP_LEN);
  put16(&w, MS_OS_20_FEATURE_REG_PROPERTY);
  put16(&w, MS_OS_20_REG_MULTI_SZ);
  put16(&w, MS_PROP_NAME_BYTES);
  put_utf16(&w, MS_PROP_NAME, 1);
  put16(&w, MS_PROP_DATA_BYTES);
  put_utf16(&w, MS_PROP_GUID, 1);
  put16(&w, 0); /* the empty string that ends the multi-string list */
  return w.n;
}
