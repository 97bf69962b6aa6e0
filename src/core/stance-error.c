/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
stance_strerror(int code)
{
  switch (code) {
  case STANCE_OK: return "success";
  case STANCE_EINVAL: return "invalid argument";
  case STANCE_ENOMEM: return "out of memory";
  case STANCE_EIO: return "input/output error";
  case STANCE_EFORMAT: return "malformed input";
  case STANCE_ECORRUPT: return "checksum mismatch (corrupted data)";
  case STANCE_ETRUNC: return "truncated input";
  case STANCE_EVERSION: return "unsupported version";
  case STANCE_ENOTAVAIL: return "not available for this recording";
  case STANCE_ERANGE: return "value out of range";
  case STANCE_ENODATA: return "no data";
  default: return "unknown error";
  }
}

int
stance_error_set(StanceError *err, int code, const char *fmt, ...)
{
  if (err) {
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

int
stance_error_prefix(StanceError *err, const char *fmt, ...)
{
  if (!err)
    return STANCE_EINVAL;
  char prefix[256];
  char old[sizeof err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->message, sizeof old);
  snprintf(err->message, sizeof err->message, "%s%s", prefix, old);
  return err->code;
}

void
stance_error_clear(StanceError *err)
{
  if (err) {
    err->code = STANCE_OK;
    err->message[0] = '\0';
  }
}
