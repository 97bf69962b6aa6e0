/* stance-error.h: error codes of the plain-C core.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every core function that can fail returns 0 (STANCE_OK) or a negative STANCE_E* code, and
 * optionally fills a caller-owned StanceError with a message naming what was wrong and what was
 * expected ("line 12, column 3: 'abc' is not a number (expected a decimal such as 812.5)").
 * The GLib layers wrap these into GError with their own domains.
 *
 * Threads: every function here is reentrant; a StanceError belongs to the caller.
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  STANCE_OK = 0,
  STANCE_EINVAL = -1,    /* an argument or option is invalid */
  STANCE_ENOMEM = -2,    /* out of memory */
  STANCE_EIO = -3,       /* a read or write failed (errno-level) */
  STANCE_EFORMAT = -4,   /* input is malformed (not the expected format) */
  STANCE_ECORRUPT = -5,  /* a checksum does not match */
  STANCE_ETRUNC = -6,    /* input ends before it should */
  STANCE_EVERSION = -7,  /* a version this build does not understand */
  STANCE_ENOTAVAIL = -8, /* not available for this recording (e.g. per-limb on one plate) */
  STANCE_ERANGE = -9,    /* a value is outside its allowed range */
  STANCE_ENODATA = -10,  /* there is no data to work on */
};

/* Caller-owned error detail. `code` is 0 until an error is set. */
typedef struct {
  int code;
  char message[512];
} StanceError;

/* A short constant text for a code ("malformed input"); never NULL. */
const char *stance_strerror(int code);

/* Sets err (when not NULL) to code with a printf-style message and returns code, so callers can
 * write `return stance_error_set(err, STANCE_EFORMAT, "line %zu: ...", line);`. */
int stance_error_set(StanceError *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message ("file.csv: " + message); keeps the code. Returns err->code. */
int stance_error_prefix(StanceError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to STANCE_OK with an empty message. */
void stance_error_clear(StanceError *err);

#ifdef __cplusplus
}
#endif
