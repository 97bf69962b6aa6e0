/* stance-utf8.h: UTF-8 validation shared by the core's readers and writers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Strict RFC 3629: shortest forms only, no surrogates, nothing beyond U+10FFFF. The fault says
 * where and why, so each caller words its own message. Threads: reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  STANCE_UTF8_OK = 0,
  STANCE_UTF8_NUL,       /* a NUL byte where none is allowed */
  STANCE_UTF8_BAD_LEAD,  /* a byte that cannot start a sequence */
  STANCE_UTF8_CUT_SHORT, /* a sequence missing continuation bytes */
  STANCE_UTF8_OVERLONG,  /* a code point in a longer form than needed */
  STANCE_UTF8_TOO_BIG,   /* beyond U+10FFFF */
  STANCE_UTF8_SURROGATE, /* U+D800..U+DFFF */
} StanceUtf8Status;

typedef struct {
  StanceUtf8Status status;
  size_t offset; /* byte offset of the offending sequence's first byte */
  unsigned lead; /* that byte */
  size_t need;   /* continuation bytes the lead byte asks for */
  uint32_t cp;   /* decoded code point (OVERLONG, TOO_BIG, SURROGATE) */
} StanceUtf8Fault;

/* True when s[0..n) is valid UTF-8 (and NUL-free unless allow_nul); else fills fault if given. */
bool stance_utf8_check(const uint8_t *s, size_t n, bool allow_nul, StanceUtf8Fault *fault);

/* s as valid UTF-8 for an output: s itself when it is valid, else a copy in buf (n bytes) with
 * each invalid byte replaced by U+FFFD, cut short at a character boundary when buf is too small
 * (n >= 3 * strlen(s) + 1 is always enough). NULL reads as "". */
const char *stance_utf8_clean(const char *s, char *buf, size_t n);
