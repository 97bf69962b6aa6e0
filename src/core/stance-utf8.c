/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-utf8.h"

#include <string.h>

static bool
fail(StanceUtf8Fault *fault, StanceUtf8Status status, size_t offset, unsigned lead, size_t need,
     uint32_t cp)
{
  if (fault)
    *fault = (StanceUtf8Fault){status, offset, lead, need, cp};
  return false;
}

bool
stance_utf8_check(const uint8_t *s, size_t n, bool allow_nul, StanceUtf8Fault *fault)
{
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t need;
    uint32_t min, cp;
    if (c < 0x80) {
      if (c == 0 && !allow_nul)
        return fail(fault, STANCE_UTF8_NUL, i, c, 0, 0);
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return fail(fault, STANCE_UTF8_BAD_LEAD, i, c, 0, 0);
    }
    for (size_t k = 1; k <= need; k++) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80)
        return fail(fault, STANCE_UTF8_CUT_SHORT, i, c, need, 0);
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min)
      return fail(fault, STANCE_UTF8_OVERLONG, i, c, need, cp);
    if (cp > 0x10FFFF)
      return fail(fault, STANCE_UTF8_TOO_BIG, i, c, need, cp);
    if (cp >= 0xD800 && cp <= 0xDFFF)
      return fail(fault, STANCE_UTF8_SURROGATE, i, c, need, cp);
    i += need + 1;
  }
  return true;
}

const char *
stance_utf8_clean(const char *s, char *buf, size_t n)
{
  if (!s)
    return "";
  size_t len = strlen(s);
  if (stance_utf8_check((const uint8_t *)s, len, false, NULL))
    return s;
  size_t i = 0, o = 0;
  while (i < len) {
    StanceUtf8Fault f;
    size_t good = len - i;
    bool ok = stance_utf8_check((const uint8_t *)s + i, len - i, false, &f);
    if (!ok)
      good = f.offset;
    if (o + good + 1 > n)
      break;
    memcpy(buf + o, s + i, good);
    o += good;
    i += good;
    if (ok)
      break;
    if (o + 3 + 1 > n)
      break;
    memcpy(buf + o, "\xef\xbf\xbd", 3);
    o += 3;
    i++;
  }
  buf[o] = '\0';
  return buf;
}
