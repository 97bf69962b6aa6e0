/* stance-json.c: streaming JSON writer (see stance-json.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The writer keeps a stack of open containers. After the first error it records the error and
 * writes nothing more: the output is unusable anyway and the caller learns why from
 * stance_json_finish().
 *
 * Numbers are formatted in the "C" locale whatever the process locale is (a GTK program may run
 * with LC_NUMERIC set to a locale whose decimal point is a comma): the writer switches the calling
 * thread's locale with uselocale() around each conversion and restores it.
 */
#include "stance-json.h"
#include "stance-utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  FRAME_OBJECT,
  FRAME_ARRAY,
} FrameKind;

typedef struct {
  FrameKind kind;
  size_t count; /* values written in this container so far */
  char key[64]; /* key under which this container was opened ("" at top level or in arrays) */
} Frame;

struct StanceJson {
  FILE *out;
  bool pretty;
  locale_t c_locale;
  Frame *stack;
  size_t depth;
  size_t cap;
  bool have_key;    /* inside an object: a key was written and its value is due */
  char key[64];     /* the last key written (for error messages) */
  bool top_done;    /* the single top-level value is complete */
  bool top_started; /* something was written at top level */
  StanceError err;  /* first error; code 0 while none */
};

/* Records the first error only. */
static void json_fail(StanceJson *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
json_fail(StanceJson *j, int code, const char *fmt, ...)
{
  if (j->err.code != STANCE_OK)
    return;
  j->err.code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->err.message, sizeof j->err.message, fmt, ap);
  va_end(ap);
}

/* Describes where the writer is, for messages: `key "peak_force_n"`, `element 3 of "trials"`. */
static void
json_where(const StanceJson *j, char *buf, size_t n)
{
  if (j->depth == 0) {
    snprintf(buf, n, "the top-level value");
    return;
  }
  const Frame *f = &j->stack[j->depth - 1];
  if (f->kind == FRAME_OBJECT) {
    if (j->have_key)
      snprintf(buf, n, "key \"%s\"", j->key);
    else
      snprintf(buf, n, "object member %zu", f->count);
  } else if (f->key[0]) {
    snprintf(buf, n, "element %zu of array \"%s\"", f->count, f->key);
  } else {
    snprintf(buf, n, "element %zu of an array", f->count);
  }
}

static void
json_put(StanceJson *j, const char *s, size_t len)
{
  if (j->err.code != STANCE_OK)
    return;
  if (len && fwrite(s, 1, len, j->out) != len)
    json_fail(j, STANCE_EIO, "writing JSON failed: %s (a write of %zu bytes was cut short)",
              strerror(errno), len);
}

static void
json_puts(StanceJson *j, const char *s)
{
  json_put(j, s, strlen(s));
}

static void
json_newline_indent(StanceJson *j, size_t level)
{
  static const char spaces[] = "                                                                ";
  json_put(j, "\n", 1);
  size_t n = level * 2;
  while (n > 0 && j->err.code == STANCE_OK) {
    size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
    json_put(j, spaces, k);
    n -= k;
  }
}

/* Called before any value (scalar or container start). Writes the separator and indentation and
 * checks the value is allowed here. Returns false when it is not (error recorded). */
static bool
json_before_value(StanceJson *j, const char *what)
{
  if (j->err.code != STANCE_OK)
    return false;
  if (j->depth == 0) {
    if (j->top_done) {
      json_fail(j, STANCE_EINVAL,
                "%s written after the top-level value was complete (expected one JSON value per "
                "document)",
                what);
      return false;
    }
    j->top_started = true;
    return true;
  }
  Frame *f = &j->stack[j->depth - 1];
  if (f->kind == FRAME_OBJECT) {
    if (!j->have_key) {
      char where[128];
      json_where(j, where, sizeof where);
      json_fail(j, STANCE_EINVAL,
                "%s written inside an object without a key (at %s; expected "
                "stance_json_key() first)",
                what, where);
      return false;
    }
    j->have_key = false; /* the key already wrote the separator */
  } else {
    if (f->count > 0)
      json_put(j, ",", 1);
    if (j->pretty)
      json_newline_indent(j, j->depth);
  }
  f->count++;
  return j->err.code == STANCE_OK;
}

/* Called after a complete value at the current level. */
static void
json_after_value(StanceJson *j)
{
  if (j->depth == 0)
    j->top_done = true;
}

/* Validates UTF-8 and writes s as a JSON string. Returns false on invalid UTF-8 (error recorded,
 * nothing of the string written). */
static bool
json_write_string(StanceJson *j, const char *s, const char *what)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strlen(s);
  /* Validate first so that a refused string leaves no partial output behind. */
  StanceUtf8Fault f;
  if (!stance_utf8_check(p, len, true, &f)) {
    switch (f.status) {
    case STANCE_UTF8_BAD_LEAD:
      json_fail(j, STANCE_EFORMAT,
                "%s: byte %zu (0x%02X) is not valid UTF-8 (expected a UTF-8 lead byte)", what,
                f.offset, f.lead);
      break;
    case STANCE_UTF8_CUT_SHORT:
      json_fail(j, STANCE_EFORMAT,
                "%s: byte %zu: UTF-8 sequence starting with 0x%02X is cut short (expected %zu "
                "continuation bytes)",
                what, f.offset, f.lead, f.need);
      break;
    default:
      json_fail(j, STANCE_EFORMAT,
                "%s: byte %zu: UTF-8 sequence encodes U+%04X, which is %s (expected a valid "
                "Unicode scalar value in its shortest form)",
                what, f.offset, (unsigned)f.cp,
                f.status == STANCE_UTF8_OVERLONG  ? "an overlong encoding"
                : f.status == STANCE_UTF8_TOO_BIG ? "beyond U+10FFFF"
                                                  : "a surrogate");
      break;
    }
    return false;
  }

  json_put(j, "\"", 1);
  size_t run = 0; /* start of the pending run of bytes that need no escape */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = p[i];
    const char *esc = NULL;
    char ubuf[8];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\t': esc = "\\t"; break;
    case '\r': esc = "\\r"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
        esc = ubuf;
      }
    }
    if (esc) {
      json_put(j, s + run, i - run);
      json_puts(j, esc);
      run = i + 1;
    }
  }
  json_put(j, s + run, len - run);
  json_put(j, "\"", 1);
  return j->err.code == STANCE_OK;
}

StanceJson *
stance_json_new(FILE *out, bool pretty)
{
  if (!out)
    return NULL;
  StanceJson *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (j->c_locale == (locale_t)0) {
    free(j);
    return NULL;
  }
  j->out = out;
  j->pretty = pretty;
  return j;
}

static void
json_push(StanceJson *j, FrameKind kind)
{
  const char *what = kind == FRAME_OBJECT ? "an object" : "an array";
  /* The key that names this container, kept for messages about its elements. */
  char key[sizeof j->key];
  bool keyed = j->depth > 0 && j->stack[j->depth - 1].kind == FRAME_OBJECT && j->have_key;
  snprintf(key, sizeof key, "%s", keyed ? j->key : "");
  if (!json_before_value(j, what))
    return;
  if (j->depth == j->cap) {
    size_t ncap = j->cap ? j->cap * 2 : 16;
    Frame *ns = realloc(j->stack, ncap * sizeof *ns);
    if (!ns) {
      json_fail(j, STANCE_ENOMEM, "out of memory opening %s at depth %zu", what, j->depth + 1);
      return;
    }
    j->stack = ns;
    j->cap = ncap;
  }
  Frame *f = &j->stack[j->depth++];
  f->kind = kind;
  f->count = 0;
  memcpy(f->key, key, sizeof f->key);
  json_put(j, kind == FRAME_OBJECT ? "{" : "[", 1);
}

static void
json_pop(StanceJson *j, FrameKind kind)
{
  if (j->err.code != STANCE_OK)
    return;
  const char *name = kind == FRAME_OBJECT ? "object" : "array";
  if (j->depth == 0) {
    json_fail(j, STANCE_EINVAL, "end of %s with no %s open (unbalanced nesting)", name, name);
    return;
  }
  Frame *f = &j->stack[j->depth - 1];
  if (f->kind != kind) {
    json_fail(j, STANCE_EINVAL,
              "end of %s while an %s is open (unbalanced nesting; expected "
              "stance_json_end_%s())",
              name, f->kind == FRAME_OBJECT ? "object" : "array",
              f->kind == FRAME_OBJECT ? "object" : "array");
    return;
  }
  if (j->have_key) {
    json_fail(j, STANCE_EINVAL,
              "end of object right after key \"%s\" (expected a value for that key)", j->key);
    return;
  }
  j->depth--;
  if (j->pretty && f->count > 0)
    json_newline_indent(j, j->depth);
  json_put(j, kind == FRAME_OBJECT ? "}" : "]", 1);
  json_after_value(j);
}

void
stance_json_begin_object(StanceJson *j)
{
  if (j)
    json_push(j, FRAME_OBJECT);
}

void
stance_json_end_object(StanceJson *j)
{
  if (j)
    json_pop(j, FRAME_OBJECT);
}

void
stance_json_begin_array(StanceJson *j)
{
  if (j)
    json_push(j, FRAME_ARRAY);
}

void
stance_json_end_array(StanceJson *j)
{
  if (j)
    json_pop(j, FRAME_ARRAY);
}

void
stance_json_key(StanceJson *j, const char *key)
{
  if (!j || j->err.code != STANCE_OK)
    return;
  if (!key) {
    json_fail(j, STANCE_EINVAL, "NULL key (expected a UTF-8 string)");
    return;
  }
  if (j->depth == 0 || j->stack[j->depth - 1].kind != FRAME_OBJECT) {
    json_fail(j, STANCE_EINVAL,
              "key \"%.64s\" written outside an object (expected to be inside "
              "stance_json_begin_object())",
              key);
    return;
  }
  if (j->have_key) {
    json_fail(j, STANCE_EINVAL,
              "key \"%.64s\" follows key \"%s\" which has no value (expected a value first)", key,
              j->key);
    return;
  }
  Frame *f = &j->stack[j->depth - 1];
  if (f->count > 0)
    json_put(j, ",", 1);
  if (j->pretty)
    json_newline_indent(j, j->depth);
  char what[96];
  snprintf(what, sizeof what, "key \"%.40s\"", key);
  if (!json_write_string(j, key, what))
    return;
  json_puts(j, j->pretty ? ": " : ":");
  snprintf(j->key, sizeof j->key, "%s", key);
  j->have_key = true;
}

void
stance_json_string(StanceJson *j, const char *s)
{
  if (!j || !json_before_value(j, "a string"))
    return;
  if (!s) {
    json_put(j, "null", 4); /* keep the document well formed, but report the misuse */
    json_fail(j, STANCE_EINVAL, "NULL string value (expected a UTF-8 string)");
    return;
  }
  char where[128], what[160];
  json_where(j, where, sizeof where);
  snprintf(what, sizeof what, "string value (%s)", where);
  if (json_write_string(j, s, what))
    json_after_value(j);
}

/* Shortest decimal text that reads back to exactly v ("C" locale). Integer values below 1e15 in
 * magnitude print without exponent or fraction; -0 prints as 0. */
static void
format_double(locale_t loc, double v, char *buf, size_t n)
{
  locale_t old = uselocale(loc);
  if (v == 0.0) {
    snprintf(buf, n, "0");
  } else if (fabs(v) < 1e15 && v == trunc(v)) {
    snprintf(buf, n, "%.0f", v);
  } else {
    static const int precs[] = {15, 16, 17};
    for (size_t k = 0; k < sizeof precs / sizeof precs[0]; k++) {
      snprintf(buf, n, "%.*g", precs[k], v);
      if (strtod(buf, NULL) == v)
        break; /* %.17g always round-trips, so the loop ends with a match */
    }
  }
  uselocale(old);
}

void
stance_json_number(StanceJson *j, double v)
{
  if (!j || j->err.code != STANCE_OK)
    return;
  if (!isfinite(v)) {
    char where[128];
    json_where(j, where, sizeof where);
    json_fail(j, STANCE_ERANGE,
              "%s: value is %s; JSON has no NaN or infinity (expected a finite number)", where,
              isnan(v) ? "NaN"
              : v > 0  ? "+infinity"
                       : "-infinity");
    return;
  }
  if (!json_before_value(j, "a number"))
    return;
  char buf[40];
  format_double(j->c_locale, v, buf, sizeof buf);
  json_puts(j, buf);
  json_after_value(j);
}

void
stance_json_int(StanceJson *j, int64_t v)
{
  if (!j || !json_before_value(j, "an integer"))
    return;
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  json_puts(j, buf);
  json_after_value(j);
}

void
stance_json_bool(StanceJson *j, bool v)
{
  if (!j || !json_before_value(j, "a boolean"))
    return;
  json_puts(j, v ? "true" : "false");
  json_after_value(j);
}

void
stance_json_null(StanceJson *j)
{
  if (!j || !json_before_value(j, "null"))
    return;
  json_puts(j, "null");
  json_after_value(j);
}

void
stance_json_kv_string(StanceJson *j, const char *key, const char *s)
{
  stance_json_key(j, key);
  stance_json_string(j, s);
}

void
stance_json_kv_number(StanceJson *j, const char *key, double v)
{
  stance_json_key(j, key);
  stance_json_number(j, v);
}

void
stance_json_kv_int(StanceJson *j, const char *key, int64_t v)
{
  stance_json_key(j, key);
  stance_json_int(j, v);
}

void
stance_json_kv_bool(StanceJson *j, const char *key, bool v)
{
  stance_json_key(j, key);
  stance_json_bool(j, v);
}

int
stance_json_finish(StanceJson *j, StanceError *err)
{
  if (!j)
    return stance_error_set(err, STANCE_EINVAL, "no JSON writer given");
  if (j->err.code == STANCE_OK) {
    if (j->depth > 0) {
      const Frame *f = &j->stack[j->depth - 1];
      json_fail(j, STANCE_EINVAL,
                "document ended with %zu container(s) still open, innermost %s%s%s%s (expected "
                "every begin to be matched by an end)",
                j->depth, f->kind == FRAME_OBJECT ? "an object" : "an array",
                f->key[0] ? " under key \"" : "", f->key, f->key[0] ? "\"" : "");
    } else if (!j->top_started) {
      json_fail(j, STANCE_EINVAL, "empty document (expected one JSON value)");
    } else if (j->pretty) {
      json_put(j, "\n", 1);
    }
  }
  /* The stream may buffer: only a flush tells whether the bytes really went out. */
  errno = 0;
  if (fflush(j->out) != 0 || ferror(j->out))
    json_fail(j, STANCE_EIO, "writing JSON failed: %s",
              errno ? strerror(errno) : "the stream reports an error");
  int code = j->err.code;
  if (code != STANCE_OK)
    stance_error_set(err, code, "%s", j->err.message);
  freelocale(j->c_locale);
  free(j->stack);
  free(j);
  return code;
}
