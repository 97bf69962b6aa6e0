/* stance-import.c: import of force-time text files from other systems.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * How it works (the user-facing rules are in docs/import.md, keep the two in step):
 *   1. the file is read into memory in one go (the buffer variant works on the caller's bytes);
 *   2. the first lines are inspected: preamble (OpenSim "endheader", comment lines), delimiter,
 *      header row, decimal separator;
 *   3. the header names are classified (time, per plate, per cell, combined, CoP, ignored) and a
 *      layout is chosen, or the caller's column mapping is applied;
 *   4. one pass over the data parses only the used columns with a hand-written decimal parser,
 *      straight into the recordings' arrays (nothing is allocated per line);
 *   5. a time column, when there is one, gives the rate and must advance uniformly.
 *
 * Nothing here depends on the C locale (no strtod, no ctype): a GUI that set LC_NUMERIC to a
 * decimal-comma locale must not change how files are read.
 */
#include "stance-import.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COLUMNS 4096
#define HEAD_LINES 256  /* lines searched for an OpenSim "endheader" */
#define SAMPLE_LINES 64 /* lines used to detect delimiter, header and decimal separator */
#define MAX_ABS_VALUE                                                                              \
  1e12 /* larger magnitudes are refused: no force, time or position is this big */
#define MAX_TOKENS 8
#define TOKEN_LEN 24
#define NOTES_CAP 4096
#define MEDIAN_SAMPLES 4096

enum { NUM_OK = 0, NUM_EMPTY, NUM_BAD, NUM_NONFINITE, NUM_OVERFLOW, NUM_HUGE };

/* Roles a column can play; the order is the order of the "import.columns" metadata. */
enum {
  R_TIME,
  R_LEFT,
  R_RIGHT,
  R_TOTAL,
  R_L1,
  R_L2,
  R_L3,
  R_L4,
  R_R1,
  R_R2,
  R_R3,
  R_R4,
  R_COPX,
  R_COPY,
  R_LCOPX,
  R_LCOPY,
  R_RCOPX,
  R_RCOPY,
  R_COUNT
};

static const char *const ROLE_NAME[R_COUNT] = {
    "time", "left", "right", "total", "l1",   "l2",        "l3",        "l4",         "r1",
    "r2",   "r3",   "r4",    "copx",  "copy", "left_copx", "left_copy", "right_copx", "right_copy",
};

typedef enum {
  CK_UNKNOWN,
  CK_EMPTY, /* no name at all */
  CK_TIME,
  CK_COUNTER, /* sample / frame number */
  CK_SIDE,    /* left / right plate force */
  CK_INDEX,   /* fp1 / fp2 plate force */
  CK_TOTAL,   /* one combined force */
  CK_CELL,    /* l1..l4, r1..r4 */
  CK_COP,     /* centre of pressure coordinate */
  CK_OSIM_V,  /* OpenSim ground_force*_v[xyz] */
  CK_OSIM_P,  /* OpenSim ground_force*_p[xyz] */
  CK_OTHER,   /* moments, shear forces, ...: known and not used */
} ColKind;

typedef struct {
  char *name;    /* as written, unquoted and trimmed; "" when unnamed (malloc'd) */
  char unit[16]; /* lower-case unit from "(..)", "[..]" or a unit token; "" when not stated */
  char tok[MAX_TOKENS][TOKEN_LEN];
  int ntok;
  ColKind kind;
  int side;  /* 0 left, 1 right, -1 not stated */
  int index; /* plate number (CK_INDEX, CK_OSIM_*, CK_COP) or cell number (CK_CELL); 0 none */
  int axis;  /* 0 x, 1 y, 2 z; -1 none */
  bool numeric_in_sample; /* the sampled data lines hold numbers in this column */
  bool used;
} Column;

/* One recording to build: the column of every role and the factor applied to its values. */
typedef struct {
  int col[R_COUNT];
  double mul[R_COUNT];
  int first_col, last_col; /* for messages about side-by-side trials */
} Plan;

typedef struct {
  StanceLayout layout;
  bool from_cells;
  bool has_cop;
  bool cop_unit_unknown; /* decide metres or millimetres from the magnitudes after reading */
  bool cop_transform;    /* OpenSim axes were mapped: the cop roles are not a plain --columns map */
  bool wide;             /* trials side by side: empty trailing cells end a trial */
  Plan *trials;
  size_t n_trials;
  int time_col;     /* -1 none */
  double time_to_s; /* 0 when the unit is not stated */
  bool sides_assumed;
  char desc[160];  /* import.layout */
  char sides[160]; /* import.sides */
  char cop[160];   /* import.cop */
} Layout;

typedef struct {
  const char *name; /* base name for messages and metadata */
  const char *buf;  /* text after the BOM */
  const char *end;
  StanceImportOptions opt;
  StanceError *err;

  char delim;
  char dec;
  bool header;
  bool single_column;
  size_t n_skipped;
  const char *skip_reason;
  size_t header_lineno; /* 0 when there is no header */
  const char *data_start;
  size_t data_lineno;

  Column *cols;
  size_t ncols;
  Layout lay;

  char notes[NOTES_CAP];
  size_t notes_len;
} Ctx;

typedef struct {
  const char *s;
  size_t n;
} Field;

/* ------------------------------------------------------------------------------------------ */
/* Small locale-independent helpers                                                           */

static inline bool
is_digit(char ch)
{
  return (unsigned char)(ch - '0') < 10;
}

static inline char
to_lower(char ch)
{
  return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static inline bool
is_alpha(char ch)
{
  ch = to_lower(ch);
  return ch >= 'a' && ch <= 'z';
}

static inline bool
is_eol(char ch)
{
  return ch == '\n' || ch == '\r';
}

static bool
in_set(const char *t, const char *const *set)
{
  for (; *set; set++)
    if (strcmp(t, *set) == 0)
      return true;
  return false;
}

static bool
all_digits(const char *t)
{
  if (!*t)
    return false;
  for (; *t; t++)
    if (!is_digit(*t))
      return false;
  return true;
}

/* Case-insensitive comparison of two NUL-terminated strings. */
static bool
ieq(const char *a, const char *b)
{
  for (; *a && *b; a++, b++)
    if (to_lower(*a) != to_lower(*b))
      return false;
  return *a == *b;
}

/* Copies s (n bytes) into dst for a message: at most 40 characters, control bytes as '?'. */
static void
printable(const char *s, size_t n, char *dst, size_t cap)
{
  size_t k = 0, lim = n > 40 ? 40 : n;
  for (size_t i = 0; i < lim && k + 4 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    dst[k++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  if (n > lim && k + 4 < cap) {
    memcpy(dst + k, "...", 3);
    k += 3;
  }
  dst[k] = '\0';
}

/* Truncates s in place to at most max bytes without cutting a UTF-8 sequence. */
static void
utf8_truncate(char *s, size_t max)
{
  size_t n = strlen(s);
  if (n <= max)
    return;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  s[n] = '\0';
}

static void
meta_put(StanceMeta *m, const char *key, const char *value)
{
  char v[sizeof m->extra[0].value];
  snprintf(v, sizeof v, "%s", value);
  utf8_truncate(v, sizeof v - 1);
  /* Keys are ours and short, and we set fewer than STANCE_META_MAX_EXTRA pairs: cannot fail. */
  (void)stance_meta_set(m, key, v);
}

static int fail(Ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(Ctx *c, int code, const char *fmt, ...)
{
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return stance_error_set(c->err, code, "%s: %s", c->name, msg);
}

static void note(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one line to the human-readable notes. */
static void
note(Ctx *c, const char *fmt, ...)
{
  if (c->notes_len + 2 >= NOTES_CAP)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->notes + c->notes_len, NOTES_CAP - c->notes_len - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  c->notes_len += (size_t)n;
  if (c->notes_len > NOTES_CAP - 2)
    c->notes_len = NOTES_CAP - 2;
  c->notes[c->notes_len++] = '\n';
  c->notes[c->notes_len] = '\0';
}

/* "column 3 ('fz')" or "column 3". */
static const char *
col_desc(const Ctx *c, size_t j, char *buf, size_t cap)
{
  if (j < c->ncols && c->cols && c->cols[j].name[0]) {
    char nm[64];
    printable(c->cols[j].name, strlen(c->cols[j].name), nm, sizeof nm);
    snprintf(buf, cap, "column %zu ('%s')", j + 1, nm);
  } else {
    snprintf(buf, cap, "column %zu", j + 1);
  }
  return buf;
}

/* Reference to a column usable in a --columns string: its name when unique and plain, else its
 * 1-based number. */
static void
col_ref(const Ctx *c, int j, char *buf, size_t cap)
{
  const char *nm = c->cols[j].name;
  bool plain = nm[0] && !all_digits(nm) && !strpbrk(nm, ",=") && strlen(nm) < 64;
  for (size_t k = 0; plain && k < c->ncols; k++)
    if ((int)k != j && ieq(c->cols[k].name, nm))
      plain = false;
  if (plain)
    snprintf(buf, cap, "%s", nm);
  else
    snprintf(buf, cap, "%d", j + 1);
}

/* The column names for messages: "fp1, fp2" (or a note that there is no header). */
static void
column_list(const Ctx *c, char *buf, size_t cap)
{
  if (!c->header) {
    snprintf(buf, cap, "the file has no header line: columns are numbered 1 to %zu", c->ncols);
    return;
  }
  size_t k = (size_t)snprintf(buf, cap, "columns: ");
  for (size_t j = 0; j < c->ncols && k + 8 < cap; j++) {
    char nm[48];
    printable(c->cols[j].name, strlen(c->cols[j].name), nm, sizeof nm);
    int n = snprintf(buf + k, cap - k, "%s%s", j ? ", " : "", nm[0] ? nm : "(unnamed)");
    if (n < 0 || (size_t)n >= cap - k) {
      if (cap > 5)
        memcpy(buf + cap - 5, "...", 4);
      return;
    }
    k += (size_t)n;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                    */

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Scans a decimal number at p ("-12.5", "3,25" with dec ',', "1.3e-05"): no spaces, no quotes.
 * On NUM_OK sets *out, *after (first byte not consumed) and *ndec, the number of decimals the
 * value was printed with (fraction digits minus the exponent: "0.001" 3, "1e-5" 5, "120" 0).
 * Up to 19 significant digits are kept (the rest only shift the exponent). With at most 15-16
 * digits and a small exponent the result is correctly rounded by construction (Clinger's fast
 * path: both operands exact, one IEEE rounding); otherwise strtod rounds the kept 19 digits,
 * which is within one unit in the last place of the full decimal value. */
static int
scan_number(const char *p, const char *end, char dec, double *out, const char **after, int *ndec)
{
  bool neg = false;
  if (p < end && (*p == '-' || *p == '+')) {
    neg = *p == '-';
    p++;
  }
  uint64_t mant = 0;
  int ndig = 0, adj = 0, nfrac = 0;
  bool any = false;
  while (p < end && is_digit(*p)) {
    any = true;
    if (ndig < 19) {
      mant = mant * 10 + (uint64_t)(*p - '0');
      ndig += mant != 0;
    } else {
      adj++;
    }
    p++;
  }
  if (p < end && *p == dec) {
    p++;
    while (p < end && is_digit(*p)) {
      any = true;
      nfrac++;
      if (ndig < 19) {
        mant = mant * 10 + (uint64_t)(*p - '0');
        ndig += mant != 0;
        adj--;
      }
      p++;
    }
  }
  if (!any)
    return NUM_BAD;
  int e = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char *q = p + 1;
    bool eneg = false;
    if (q < end && (*q == '+' || *q == '-')) {
      eneg = *q == '-';
      q++;
    }
    if (q >= end || !is_digit(*q))
      return NUM_BAD;
    while (q < end && is_digit(*q)) {
      if (e < 100000)
        e = e * 10 + (*q - '0');
      q++;
    }
    if (eneg)
      e = -e;
    p = q;
  }
  *after = p;
  *ndec = nfrac - e;
  int e10 = adj + e;
  double v;
  if (mant == 0) {
    v = 0.0;
  } else if (mant <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
    v = e10 < 0 ? (double)mant / POW10[-e10] : (double)mant * POW10[e10];
  } else if (e10 > 310) {
    return NUM_OVERFLOW;
  } else if (e10 < -345) {
    v = 0.0; /* below the smallest subnormal even with 19 digits */
  } else {
    /* Rare (more than 15-16 significant digits or a large exponent): let the C library round
     * the kept digits. The text has no decimal separator, so the locale cannot matter. */
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%" PRIu64 "e%d", mant, e10);
    errno = 0;
    v = strtod(tmp, NULL);
    if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
      return NUM_OVERFLOW;
  }
  *out = neg && v != 0.0 ? -v : v;
  return NUM_OK;
}

/* Field-level parse: optional spaces and double quotes around the number, then the field must
 * end (delimiter, end of line or end of text). *pp is left at that terminator on NUM_OK and
 * NUM_EMPTY. */
static inline int
parse_field(const char **pp, const char *end, char delim, char dec, double *out, int *ndec)
{
  const char *p = *pp;
  while (p < end && (*p == ' ' || (*p == '\t' && delim != '\t')))
    p++;
  bool quoted = p < end && *p == '"';
  if (quoted)
    p++;
  if (p >= end || *p == delim || is_eol(*p) || (quoted && *p == '"')) {
    if (quoted && p < end && *p == '"')
      p++;
    while (p < end && (*p == ' ' || (*p == '\t' && delim != '\t')))
      p++;
    if (p < end && *p != delim && !is_eol(*p))
      return NUM_BAD;
    *pp = p;
    return NUM_EMPTY;
  }
  const char *after;
  int st = scan_number(p, end, dec, out, &after, ndec);
  if (st != NUM_OK) {
    if (st == NUM_BAD) {
      /* "nan", "-inf", "Infinity", "1.#INF": say so rather than "not a number". */
      const char *q = p;
      if (q < end && (*q == '-' || *q == '+'))
        q++;
      char w[4] = {0};
      for (int k = 0; k < 3 && q + k < end; k++)
        w[k] = to_lower(q[k]);
      if (strcmp(w, "nan") == 0 || strcmp(w, "inf") == 0 ||
          (is_digit(w[0]) && w[1] == dec && w[2] == '#'))
        st = NUM_NONFINITE;
    }
    return st;
  }
  p = after;
  if (quoted) {
    if (p < end && *p == '"')
      p++;
    else
      return NUM_BAD;
  }
  while (p < end && (*p == ' ' || (*p == '\t' && delim != '\t')))
    p++;
  if (p < end && *p != delim && !is_eol(*p))
    return NUM_BAD;
  if (fabs(*out) > MAX_ABS_VALUE)
    return NUM_HUGE;
  *pp = p;
  return NUM_OK;
}

/* True when f holds exactly one number (with decimal separator dec; 0 = either). */
static bool
field_is_number(Field f, char dec, double *v)
{
  double dummy;
  if (!v)
    v = &dummy;
  if (f.n == 0)
    return false;
  const char *after;
  int nd;
  for (int k = 0; k < 2; k++) {
    char d = dec ? dec : (k == 0 ? '.' : ',');
    if (dec && k == 1)
      break;
    if (scan_number(f.s, f.s + f.n, d, v, &after, &nd) == NUM_OK && after == f.s + f.n)
      return true;
  }
  return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Lines and fields                                                                           */

static const char *
line_end(const char *p, const char *end)
{
  while (p < end && !is_eol(*p))
    p++;
  return p;
}

/* p at the end of a line (an EOL byte or end): returns the start of the next line. CRLF, LF and
 * a lone CR all end a line. */
static const char *
skip_eol(const char *p, const char *end)
{
  if (p < end && *p == '\r') {
    p++;
    if (p < end && *p == '\n')
      p++;
  } else if (p < end && *p == '\n') {
    p++;
  }
  return p;
}

/* A line holding nothing but spaces, tabs and separators. */
static bool
blank_line(const char *s, const char *e)
{
  for (; s < e; s++)
    if (*s != ' ' && *s != '\t' && *s != ',' && *s != ';')
      return false;
  return true;
}

/* Splits [s, e) at delim, honouring double quotes. Stores up to max trimmed, unquoted fields and
 * returns how many fields the line has. */
static size_t
split_line(const char *s, const char *e, char delim, Field *f, size_t max)
{
  size_t n = 0;
  const char *p = s;
  for (;;) {
    while (p < e && (*p == ' ' || (*p == '\t' && delim != '\t')))
      p++;
    Field fld;
    if (p < e && *p == '"') {
      const char *qs = ++p;
      while (p < e && !(*p == '"' && !(p + 1 < e && p[1] == '"'))) {
        if (*p == '"')
          p++;
        p++;
      }
      fld = (Field){qs, (size_t)(p - qs)};
      while (p < e && *p != delim)
        p++;
    } else {
      const char *fs = p;
      while (p < e && *p != delim)
        p++;
      const char *fe = p;
      while (fe > fs && (fe[-1] == ' ' || (fe[-1] == '\t' && delim != '\t')))
        fe--;
      fld = (Field){fs, (size_t)(fe - fs)};
    }
    if (n < max)
      f[n] = fld;
    n++;
    if (p >= e)
      break;
    p++; /* the delimiter */
  }
  return n;
}

/* Number of fields once trailing empty ones are dropped. */
static size_t
trimmed_count(const Field *f, size_t n)
{
  while (n > 0 && f[n - 1].n == 0)
    n--;
  return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Column names                                                                               */

static const char *const TIME_WORDS[] = {
    "time",      "t",     "sec",     "secs",     "second",      "seconds",
    "s",         "ms",    "msec",    "msecs",    "millisecond", "milliseconds",
    "timestamp", "stamp", "elapsed", "relative", "rel",         "absolute",
    "abs",       "us",    "usec",    NULL};
static const char *const TIME_CORE[] = {
    "time", "t",    "sec",   "secs",        "second",       "seconds",   "s",
    "ms",   "msec", "msecs", "millisecond", "milliseconds", "timestamp", NULL};
static const char *const COUNTER_WORDS[] = {
    "sample", "samples", "index", "idx", "frame", "frames", "row",    "rows",  "number", "no",
    "nr",     "num",     "count", "n",   "id",    "line",   "record", "point", NULL};
static const char *const LEFT_WORDS[] = {"left", "l", "lt", "lft", NULL};
static const char *const RIGHT_WORDS[] = {"right", "r", "rt", "rgt", NULL};
static const char *const FORCE_WORDS[] = {
    "force",  "forces", "fz",       "f",        "grf",    "vgrf",       "vertical", "vert",
    "normal", "plate",  "platform", "fp",       "pf",     "forceplate", "foot",     "leg",
    "limb",   "side",   "load",     "reaction", "ground", "cell",       NULL};
static const char *const PLATE_WORDS[] = {"fp", "plate", "platform", "pf",   "forceplate", "force",
                                          "fz", "f",     "grf",      "vgrf", NULL};
static const char *const TOTAL_WORDS[] = {"total",     "sum",  "combined",  "net",
                                          "resultant", "both", "bilateral", NULL};
static const char *const COP_WORDS[] = {"cop", "cp",       "copx", "copy", "cpx",
                                        "cpy", "pressure", "cofp", NULL};
static const char *const OTHER_WORDS[] = {
    "mx",      "my",       "mz",       "moment",  "moments",      "torque",      "torques",
    "tx",      "ty",       "tz",       "fx",      "fy",           "fxy",         "shear",
    "free",    "velocity", "vel",      "power",   "displacement", "disp",        "acceleration",
    "accel",   "acc",      "position", "pos",     "angle",        "emg",         "trigger",
    "sync",    "marker",   "event",    "impulse", "work",         "temperature", "temp",
    "voltage", "volt",     "phase",    "date",    "name",         "trial",       "jump",
    "type",    "bar",      NULL};
static const char *const FORCE_UNITS[] = {"n",  "kn",  "kgf", "kg",     "kp",      "lbf",
                                          "lb", "lbs", "dan", "newton", "newtons", NULL};
static const char *const TIME_UNITS[] = {"s",  "sec",  "secs",  "second",      "seconds",
                                         "ms", "msec", "msecs", "millisecond", "milliseconds",
                                         "us", "usec", "min",   "h",           NULL};
static const char *const LENGTH_UNITS[] = {"m", "mm", "cm", NULL};
/* Units that are recognised as units but are not force, time or length: a force column in one of
 * these is refused unless a scale is given. */
static const char *const OTHER_UNITS[] = {"v",   "mv", "uv", "nm", "n.m",    "n*m", "deg", "rad",
                                          "%",   "bw", "g",  "hz", "w",      "j",   "m/s", "n/s",
                                          "n.s", "ns", "a",  "ma", "counts", "lsb", NULL};

/* Splits a header name into its unit ("Normal Force (N)" -> "n") and lower-case tokens split at
 * non-alphanumerics and at letter/digit boundaries ("ground_force1_vy" -> ground force 1 vy). */
static void
column_analyse(Column *col)
{
  char base[256];
  snprintf(base, sizeof base, "%s", col->name);
  size_t n = strlen(base);
  col->unit[0] = '\0';
  if (n >= 2 && (base[n - 1] == ')' || base[n - 1] == ']')) {
    char open = base[n - 1] == ')' ? '(' : '[';
    char *o = strrchr(base, open);
    if (o) {
      char u[64];
      size_t un = (size_t)(base + n - 1 - (o + 1));
      if (un >= sizeof u)
        un = sizeof u - 1;
      size_t k = 0;
      for (size_t i = 0; i < un; i++)
        if (o[1 + i] != ' ')
          u[k++] = to_lower(o[1 + i]);
      u[k] = '\0';
      if (strcmp(u, "\xc2\xb5s") == 0) /* "µs" */
        snprintf(u, sizeof u, "us");
      /* Only a known unit is a unit: "Force (left)" keeps "left" as part of the name. */
      if (in_set(u, FORCE_UNITS) || in_set(u, TIME_UNITS) || in_set(u, LENGTH_UNITS) ||
          in_set(u, OTHER_UNITS)) {
        snprintf(col->unit, sizeof col->unit, "%s", u);
        *o = '\0';
      }
    }
  }
  col->ntok = 0;
  const char *p = base;
  while (*p && col->ntok < MAX_TOKENS) {
    while (*p && !is_alpha(*p) && !is_digit(*p))
      p++;
    if (!*p)
      break;
    char *t = col->tok[col->ntok];
    size_t k = 0;
    bool digit = is_digit(*p);
    while (*p && (digit ? is_digit(*p) : is_alpha(*p))) {
      if (k + 1 < TOKEN_LEN)
        t[k++] = to_lower(*p);
      p++;
    }
    t[k] = '\0';
    col->ntok++;
  }
}

static void
column_classify(Column *c)
{
  c->kind = CK_UNKNOWN;
  c->side = -1;
  c->index = 0;
  c->axis = -1;
  if (c->ntok == 0) {
    c->kind = c->name[0] == '\0' ? CK_EMPTY : strcmp(c->name, "#") == 0 ? CK_COUNTER : CK_UNKNOWN;
    return;
  }
  const char *last = c->tok[c->ntok - 1];
  bool has_force = false, has_torque = false;
  for (int i = 0; i < c->ntok; i++) {
    has_force |= strcmp(c->tok[i], "force") == 0 || strcmp(c->tok[i], "forces") == 0;
    has_torque |= strcmp(c->tok[i], "torque") == 0 || strcmp(c->tok[i], "moment") == 0;
  }
  /* OpenSim ground reaction columns: <prefix>force<k>_v[xyz] (vector), _p[xyz] (point). */
  if (has_force && !has_torque && strlen(last) == 2 && (last[0] == 'v' || last[0] == 'p') &&
      last[1] >= 'x' && last[1] <= 'z') {
    c->kind = last[0] == 'v' ? CK_OSIM_V : CK_OSIM_P;
    c->axis = last[1] - 'x';
    for (int i = 0; i + 1 < c->ntok; i++) {
      if (all_digits(c->tok[i]) && strlen(c->tok[i]) < 4)
        c->index = atoi(c->tok[i]);
      else if (in_set(c->tok[i], LEFT_WORDS))
        c->side = 0;
      else if (in_set(c->tok[i], RIGHT_WORDS))
        c->side = 1;
    }
    return;
  }
  bool all_time = true, any_time = false, all_counter = true;
  for (int i = 0; i < c->ntok; i++) {
    all_time &= in_set(c->tok[i], TIME_WORDS);
    any_time |= in_set(c->tok[i], TIME_CORE);
    all_counter &= in_set(c->tok[i], COUNTER_WORDS);
  }
  if (all_time && any_time) {
    c->kind = CK_TIME;
    if (!c->unit[0])
      for (int i = 0; i < c->ntok; i++)
        if (in_set(c->tok[i], TIME_UNITS) && strcmp(c->tok[i], "t") != 0)
          snprintf(c->unit, sizeof c->unit, "%s", c->tok[i]);
    return;
  }
  if (all_counter) {
    c->kind = CK_COUNTER;
    return;
  }
  bool any_cop = false, any_other = false;
  for (int i = 0; i < c->ntok; i++) {
    any_cop |= in_set(c->tok[i], COP_WORDS);
    any_other |= in_set(c->tok[i], OTHER_WORDS);
  }
  if (any_cop) {
    for (int i = 0; i < c->ntok; i++) {
      const char *t = c->tok[i];
      if (!strcmp(t, "x") || !strcmp(t, "ml") || !strcmp(t, "copx") || !strcmp(t, "cpx"))
        c->axis = 0;
      else if (!strcmp(t, "y") || !strcmp(t, "ap") || !strcmp(t, "copy") || !strcmp(t, "cpy"))
        c->axis = 1;
      else if (in_set(t, LEFT_WORDS))
        c->side = 0;
      else if (in_set(t, RIGHT_WORDS))
        c->side = 1;
      else if (all_digits(t) && strlen(t) < 4)
        c->index = atoi(t);
      else if (in_set(t, LENGTH_UNITS) && i == c->ntok - 1 && !c->unit[0])
        snprintf(c->unit, sizeof c->unit, "%s", t);
    }
    c->kind = c->axis >= 0 ? CK_COP : CK_UNKNOWN;
    return;
  }
  if (any_other) {
    c->kind = CK_OTHER;
    return;
  }
  int n = c->ntok;
  if (n > 1 && in_set(last, FORCE_UNITS) && !c->unit[0]) {
    snprintf(c->unit, sizeof c->unit, "%s", last);
    n--;
  }
  int side = -1, digit = -1;
  bool force_word = false, plate_word = false, total_word = false;
  for (int i = 0; i < n; i++) {
    const char *t = c->tok[i];
    if (in_set(t, LEFT_WORDS) || in_set(t, RIGHT_WORDS)) {
      int s = in_set(t, LEFT_WORDS) ? 0 : 1;
      if (side >= 0 && side != s)
        return;
      side = s;
    } else if (all_digits(t)) {
      if (digit >= 0 || strlen(t) > 3)
        return;
      digit = atoi(t);
    } else if (in_set(t, FORCE_WORDS)) {
      force_word = true;
      plate_word |= in_set(t, PLATE_WORDS);
    } else if (in_set(t, TOTAL_WORDS)) {
      total_word = true;
    } else {
      return; /* an unknown word: not something we can interpret */
    }
  }
  if (side >= 0) {
    if (total_word)
      return;
    if (digit < 0) {
      c->kind = CK_SIDE;
      c->side = side;
    } else if (digit >= 1 && digit <= 4) {
      c->kind = CK_CELL;
      c->side = side;
      c->index = digit;
    }
  } else if (digit >= 0) {
    if (plate_word && !total_word && digit >= 1) {
      c->kind = CK_INDEX;
      c->index = digit;
    }
  } else if (force_word || total_word) {
    c->kind = CK_TOTAL;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Units                                                                                      */

/* Newtons per unit of a force column; 0 when the unit is not a force unit. */
static double
force_unit_factor(const char *u)
{
  if (!u[0] || !strcmp(u, "n") || !strcmp(u, "newton") || !strcmp(u, "newtons"))
    return 1.0;
  if (!strcmp(u, "kn"))
    return 1000.0;
  if (!strcmp(u, "kgf") || !strcmp(u, "kg") || !strcmp(u, "kp"))
    return 9.80665; /* standard gravity, by definition of the kilogram-force */
  if (!strcmp(u, "lbf") || !strcmp(u, "lb") || !strcmp(u, "lbs"))
    return 4.4482216152605;
  if (!strcmp(u, "dan"))
    return 10.0;
  return 0.0;
}

/* Seconds per unit of a time column; 0 when not stated, -1 when not a time unit. */
static double
time_unit_factor(const char *u)
{
  if (!u[0])
    return 0.0;
  if (!strcmp(u, "s") || !strcmp(u, "sec") || !strcmp(u, "secs") || !strcmp(u, "second") ||
      !strcmp(u, "seconds"))
    return 1.0;
  if (!strcmp(u, "ms") || !strcmp(u, "msec") || !strcmp(u, "msecs") || !strcmp(u, "millisecond") ||
      !strcmp(u, "milliseconds"))
    return 1e-3;
  if (!strcmp(u, "us") || !strcmp(u, "usec"))
    return 1e-6;
  if (!strcmp(u, "min"))
    return 60.0;
  if (!strcmp(u, "h"))
    return 3600.0;
  return -1.0;
}

/* Millimetres per unit of a CoP column; 0 when not stated, -1 when not a length unit. */
static double
length_unit_factor(const char *u)
{
  if (!u[0])
    return 0.0;
  if (!strcmp(u, "m"))
    return 1000.0;
  if (!strcmp(u, "mm"))
    return 1.0;
  if (!strcmp(u, "cm"))
    return 10.0;
  return -1.0;
}

/* ------------------------------------------------------------------------------------------ */
/* Format detection                                                                           */

typedef struct {
  const char *s, *e;
  size_t lineno;
} LineSpan;

/* Collects up to max non-blank lines starting at p (line number lineno). */
static size_t
collect_lines(const char *p, const char *end, size_t lineno, LineSpan *out, size_t max)
{
  size_t n = 0;
  while (p < end && n < max) {
    const char *e = line_end(p, end);
    if (!blank_line(p, e))
      out[n++] = (LineSpan){p, e, lineno};
    p = skip_eol(e, end);
    lineno++;
  }
  return n;
}

static int
detect_preamble(Ctx *c)
{
  const char *p = c->buf;
  size_t lineno = 1;
  if (c->opt.skip_lines >= 0) {
    for (int k = 0; k < c->opt.skip_lines && p < c->end; k++) {
      p = skip_eol(line_end(p, c->end), c->end);
      lineno++;
    }
    c->n_skipped = (size_t)c->opt.skip_lines;
    c->skip_reason = "as requested";
    if (p >= c->end)
      return fail(c, STANCE_ENODATA,
                  "nothing is left after skipping %d lines (the file has fewer lines)",
                  c->opt.skip_lines);
  } else {
    /* OpenSim .mot/.sto-style header: everything up to a line "endheader". */
    const char *q = p;
    for (size_t k = 0; k < HEAD_LINES && q < c->end; k++) {
      const char *e = line_end(q, c->end);
      const char *s = q;
      while (s < e && (*s == ' ' || *s == '\t'))
        s++;
      size_t n = 0;
      while (s + n < e && is_alpha(s[n]))
        n++;
      if (n == 9 && s + n <= e) {
        char w[10];
        for (int i = 0; i < 9; i++)
          w[i] = to_lower(s[i]);
        w[9] = '\0';
        if (strcmp(w, "endheader") == 0 && blank_line(s + 9, e)) {
          p = skip_eol(e, c->end);
          lineno += k + 1;
          c->n_skipped = k + 1;
          c->skip_reason = "OpenSim header ending with 'endheader'";
          break;
        }
      }
      q = skip_eol(e, c->end);
    }
    /* Leading blank and comment lines ('#', '%', '//'). */
    size_t comments = 0;
    while (p < c->end) {
      const char *e = line_end(p, c->end);
      const char *s = p;
      while (s < e && (*s == ' ' || *s == '\t'))
        s++;
      bool comment = s < e && (*s == '#' || *s == '%' || (*s == '/' && s + 1 < e && s[1] == '/'));
      if (!comment && !blank_line(p, e))
        break;
      comments += comment;
      p = skip_eol(e, c->end);
      lineno++;
    }
    if (comments > 0) {
      note(c, "%zu comment line%s skipped", comments, comments == 1 ? "" : "s");
      if (!c->n_skipped)
        c->skip_reason = "comment lines";
      c->n_skipped += comments;
    }
  }
  c->data_start = p;
  c->data_lineno = lineno;
  return STANCE_OK;
}

static const char *
delim_name(char d)
{
  return d == ',' ? "comma" : d == ';' ? "semicolon" : d == '\t' ? "tab" : "?";
}

static int
detect_format(Ctx *c, LineSpan *ln, size_t nl)
{
  Field f[64];
  const size_t FMAX = sizeof f / sizeof f[0];
  /* Delimiter: the candidate that splits the lines into the most consistently numeric fields. */
  if (c->opt.delimiter) {
    c->delim = c->opt.delimiter;
    note(c, "delimiter: %s (as requested)", delim_name(c->delim));
  } else {
    const char cand[3] = {'\t', ';', ','};
    int best = -1;
    double best_num = -1.0;
    size_t best_cons = 0;
    for (int k = 0; k < 3; k++) {
      if (cand[k] == ',' && c->opt.decimal_comma == 1)
        continue;
      size_t split = 0, first = 0, cons = 0, fields = 0, numeric = 0;
      for (size_t i = 0; i < nl; i++) {
        size_t cnt = split_line(ln[i].s, ln[i].e, cand[k], f, FMAX);
        if (i == 0)
          first = cnt;
        split += cnt >= 2;
        cons += cnt == first;
        if (i > 0 || nl == 1) {
          size_t m = cnt < FMAX ? cnt : FMAX;
          for (size_t j = 0; j < m; j++) {
            if (f[j].n == 0)
              continue;
            fields++;
            numeric += field_is_number(f[j], 0, NULL);
          }
        }
      }
      if (split == 0)
        continue;
      double num = fields ? (double)numeric / (double)fields : 0.0;
      if (best < 0 || num > best_num + 1e-9 || (fabs(num - best_num) <= 1e-9 && cons > best_cons)) {
        best = k;
        best_num = num;
        best_cons = cons;
      }
    }
    if (best >= 0) {
      c->delim = cand[best];
      note(c, "delimiter: %s (detected)", delim_name(c->delim));
    } else {
      c->single_column = true;
      c->delim = c->opt.decimal_comma == 1 ? ';' : ',';
      note(c, "one value per line (no delimiter found)");
    }
  }
  /* Header: a first row holding something that is not a number. */
  size_t n0 = split_line(ln[0].s, ln[0].e, c->delim, f, FMAX);
  size_t m0 = n0 < FMAX ? n0 : FMAX;
  c->header = false;
  for (size_t j = 0; j < m0; j++)
    if (f[j].n > 0 && !field_is_number(f[j], 0, NULL))
      c->header = true;
  if (c->header)
    c->header_lineno = ln[0].lineno;
  /* Decimal separator: a comma inside numbers, never a point, and the delimiter is not ','. */
  if (c->opt.decimal_comma == 1) {
    c->dec = ',';
    note(c, "decimal separator: comma (as requested)");
  } else if (c->opt.decimal_comma == 0 || c->delim == ',') {
    c->dec = '.';
  } else {
    size_t commas = 0, points = 0;
    for (size_t i = c->header ? 1 : 0; i < nl; i++) {
      size_t cnt = split_line(ln[i].s, ln[i].e, c->delim, f, FMAX);
      for (size_t j = 0; j < cnt && j < FMAX; j++) {
        if (!f[j].n)
          continue;
        if (memchr(f[j].s, '.', f[j].n))
          points++;
        else if (memchr(f[j].s, ',', f[j].n) && field_is_number(f[j], ',', NULL))
          commas++;
      }
    }
    c->dec = commas > 0 && points == 0 ? ',' : '.';
    if (c->dec == ',')
      note(c, "decimal separator: comma (detected)");
  }
  return STANCE_OK;
}

static void
copy_name(Column *col, Field f)
{
  size_t n = f.n < 255 ? f.n : 255;
  col->name = malloc(n + 1);
  if (!col->name)
    return;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (f.s[i] == '"' && i + 1 < n && f.s[i + 1] == '"')
      i++; /* "" inside quotes is one quote */
    col->name[k++] = f.s[i];
  }
  col->name[k] = '\0';
}

static int
setup_columns(Ctx *c, LineSpan *ln, size_t nl)
{
  Field *f = malloc(MAX_COLUMNS * sizeof *f);
  if (!f)
    return fail(c, STANCE_ENOMEM, "out of memory");
  size_t ncols = 0;
  if (c->header) {
    size_t n = split_line(ln[0].s, ln[0].e, c->delim, f, MAX_COLUMNS);
    if (n > MAX_COLUMNS) {
      free(f);
      return fail(c, STANCE_EFORMAT, "line %zu: %zu columns; at most %d are supported",
                  ln[0].lineno, n, MAX_COLUMNS);
    }
    ncols = trimmed_count(f, n);
  } else {
    for (size_t i = 0; i < nl; i++) {
      size_t n = split_line(ln[i].s, ln[i].e, c->delim, f, MAX_COLUMNS);
      if (n > MAX_COLUMNS) {
        free(f);
        return fail(c, STANCE_EFORMAT, "line %zu: %zu columns; at most %d are supported",
                    ln[i].lineno, n, MAX_COLUMNS);
      }
      size_t t = trimmed_count(f, n);
      if (t > ncols)
        ncols = t;
    }
  }
  if (ncols == 0) {
    free(f);
    return fail(c, STANCE_EFORMAT, "line %zu: no column names or values (expected %s)",
                ln[0].lineno, "a header such as 'time,left,right' or numbers");
  }
  c->cols = calloc(ncols, sizeof *c->cols);
  if (!c->cols) {
    free(f);
    return fail(c, STANCE_ENOMEM, "out of memory");
  }
  c->ncols = ncols;
  if (c->header)
    split_line(ln[0].s, ln[0].e, c->delim, f, MAX_COLUMNS);
  for (size_t j = 0; j < ncols; j++) {
    copy_name(&c->cols[j], c->header ? f[j] : (Field){"", 0});
    if (!c->cols[j].name) {
      free(f);
      return fail(c, STANCE_ENOMEM, "out of memory");
    }
    column_analyse(&c->cols[j]);
    column_classify(&c->cols[j]);
  }
  /* Which columns hold numbers in the sampled data lines. */
  bool any_numeric = false;
  for (size_t i = c->header ? 1 : 0; i < nl; i++) {
    size_t n = split_line(ln[i].s, ln[i].e, c->delim, f, MAX_COLUMNS);
    for (size_t j = 0; j < n && j < ncols; j++)
      if (field_is_number(f[j], c->dec, NULL)) {
        c->cols[j].numeric_in_sample = true;
        any_numeric = true;
      }
  }
  free(f);
  size_t first_data = c->header ? 1 : 0;
  if (first_data >= nl)
    return fail(c, STANCE_ENODATA, "only a header line (line %zu), no data lines",
                c->header_lineno);
  if (!any_numeric)
    return fail(c, STANCE_EFORMAT,
                "no numeric data: lines %zu to %zu hold only text (expected numbers such as "
                "812.5 separated by %s)",
                ln[0].lineno, ln[nl - 1].lineno,
                c->single_column ? "a delimiter" : delim_name(c->delim));
  return STANCE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Layout                                                                                     */

static void
plan_init(Plan *p)
{
  for (int r = 0; r < R_COUNT; r++) {
    p->col[r] = -1;
    p->mul[r] = 1.0;
  }
  p->first_col = p->last_col = -1;
}

static int
new_trials(Ctx *c, size_t n)
{
  c->lay.trials = calloc(n, sizeof *c->lay.trials);
  if (!c->lay.trials)
    return fail(c, STANCE_ENOMEM, "out of memory");
  c->lay.n_trials = n;
  for (size_t k = 0; k < n; k++)
    plan_init(&c->lay.trials[k]);
  return STANCE_OK;
}

/* Chooses the time column among the CK_TIME ones: the one named exactly "time" first. */
static void
choose_time(Ctx *c)
{
  int best = -1;
  for (size_t j = 0; j < c->ncols; j++) {
    if (c->cols[j].kind != CK_TIME || c->cols[j].used)
      continue;
    if (best < 0 || (ieq(c->cols[j].name, "time") && !ieq(c->cols[best].name, "time")))
      best = (int)j;
  }
  c->lay.time_col = best;
  if (best < 0)
    return;
  c->cols[best].used = true;
  for (size_t j = 0; j < c->ncols; j++)
    if (c->cols[j].kind == CK_TIME && (int)j != best) {
      char a[96], b[96];
      note(c, "%s is a second time column: ignored, %s used", col_desc(c, j, a, sizeof a),
           col_desc(c, (size_t)best, b, sizeof b));
      c->cols[j].used = true; /* accounted for: not in the "ignored" list */
      c->cols[j].kind = CK_COUNTER;
    }
}

/* Header-less files: does column j look like a time axis (strictly increasing, even steps)? */
static bool
looks_like_time(const Ctx *c, LineSpan *ln, size_t nl, size_t j)
{
  Field f[16];
  double prev = 0, dmin = INFINITY, dmax = 0;
  size_t n = 0;
  for (size_t i = 0; i < nl; i++) {
    size_t cnt = split_line(ln[i].s, ln[i].e, c->delim, f, 16);
    double v;
    if (j >= cnt || j >= 16 || !field_is_number(f[j], c->dec, &v))
      return false;
    if (n > 0) {
      double d = v - prev;
      if (!(d > 0))
        return false;
      dmin = fmin(dmin, d);
      dmax = fmax(dmax, d);
    }
    prev = v;
    n++;
  }
  return n >= 3 && dmax <= dmin * 1.02 + 1e-12;
}

static void
set_cols_used(Ctx *c, const Plan *p)
{
  for (int r = 0; r < R_COUNT; r++)
    if (p->col[r] >= 0)
      c->cols[p->col[r]].used = true;
}

/* Unit factor of a force column (or the user's --scale). */
static int
force_mul(Ctx *c, int j, double *mul)
{
  if (c->opt.force_scale != 0.0) {
    *mul = c->opt.force_scale;
    return STANCE_OK;
  }
  double f = force_unit_factor(c->cols[j].unit);
  if (f == 0.0) {
    char d[96];
    return fail(c, STANCE_EFORMAT,
                "%s: unit '%s' is not a force unit (expected N, kN, kgf or lbf; or give a "
                "scale factor with --scale)",
                col_desc(c, (size_t)j, d, sizeof d), c->cols[j].unit);
  }
  *mul = f;
  return STANCE_OK;
}

static int
cop_mul(Ctx *c, int j, double *mul)
{
  double f = length_unit_factor(c->cols[j].unit);
  if (f < 0) {
    char d[96];
    return fail(c, STANCE_EFORMAT,
                "%s: unit '%s' is not a length unit (expected m, cm or mm for a centre of "
                "pressure)",
                col_desc(c, (size_t)j, d, sizeof d), c->cols[j].unit);
  }
  if (f == 0.0) {
    c->lay.cop_unit_unknown = true;
    f = 1.0;
  }
  *mul = f;
  return STANCE_OK;
}

/* Fills the multipliers of a plan from the columns' units. */
static int
plan_units(Ctx *c, Plan *p)
{
  int r;
  for (int k = 0; k < R_COUNT; k++) {
    if (p->col[k] < 0 || k == R_TIME)
      continue;
    if (k >= R_COPX && k <= R_RCOPY) {
      if (c->lay.cop_transform)
        continue; /* set by the caller */
      if ((r = cop_mul(c, p->col[k], &p->mul[k])) < 0)
        return r;
    } else if ((r = force_mul(c, p->col[k], &p->mul[k])) < 0) {
      return r;
    }
  }
  return STANCE_OK;
}

/* Per-plate (or combined) CoP columns of kind CK_COP matching plate key (side or index). */
static void
attach_cop(Ctx *c, Plan *p, bool plates, bool by_index)
{
  int found[2][2] = {{-1, -1}, {-1, -1}};
  int dup = 0, any = 0;
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->kind != CK_COP || col->used)
      continue;
    any++;
    int plate;
    if (!plates)
      plate = (col->side < 0 && col->index == 0) ? 0 : -1;
    else if (by_index)
      plate = col->index == 1 ? 0 : col->index == 2 ? 1 : col->side;
    else
      plate = col->side;
    if (plate < 0 || col->axis < 0 || col->axis > 1)
      continue;
    if (found[plate][col->axis] >= 0)
      dup++;
    else
      found[plate][col->axis] = (int)j;
  }
  if (!any)
    return;
  bool ok = !dup;
  int np = plates ? 2 : 1;
  for (int pl = 0; pl < np; pl++)
    ok &= found[pl][0] >= 0 && found[pl][1] >= 0;
  if (!ok) {
    note(c,
         "centre-of-pressure columns are incomplete or ambiguous for this layout (need x and y "
         "%s): not imported",
         plates ? "for both plates" : "");
    return;
  }
  if (plates) {
    p->col[R_LCOPX] = found[0][0];
    p->col[R_LCOPY] = found[0][1];
    p->col[R_RCOPX] = found[1][0];
    p->col[R_RCOPY] = found[1][1];
  } else {
    p->col[R_COPX] = found[0][0];
    p->col[R_COPY] = found[0][1];
  }
  c->lay.has_cop = true;
}

static int
layout_opensim(Ctx *c, bool *done)
{
  char dsc[96];
  /* Vertical force of each plate: OpenSim's ground frame has y up. */
  int vy[3] = {-1, -1, -1}; /* by key: 0 left / plate 2, 1 right / plate 1, 2 single */
  int px[3] = {-1, -1, -1}, pz[3] = {-1, -1, -1};
  int keys_side = 0, keys_index = 0, n_v = 0;
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->kind != CK_OSIM_V && col->kind != CK_OSIM_P)
      continue;
    int key;
    if (col->side >= 0)
      key = col->side;
    else if (col->index == 1)
      key = 1; /* ground_force1 = right, as in the ACL_squat_jump data set */
    else if (col->index == 2)
      key = 0;
    else if (col->index == 0)
      key = 2;
    else
      return fail(c, STANCE_EFORMAT,
                  "%s: force plate %d: Stance handles two plates (choose the columns with "
                  "--columns)",
                  col_desc(c, j, dsc, sizeof dsc), col->index);
    if (col->kind == CK_OSIM_V && col->axis == 1) {
      if (vy[key] >= 0)
        return fail(c, STANCE_EFORMAT,
                    "columns %d and %zu are both the vertical force of the same plate (give "
                    "--columns)",
                    vy[key] + 1, j + 1);
      vy[key] = (int)j;
      n_v++;
      if (col->side >= 0)
        keys_side++;
      else if (col->index > 0)
        keys_index++;
    } else if (col->kind == CK_OSIM_P && col->axis == 0) {
      px[key] = (int)j;
    } else if (col->kind == CK_OSIM_P && col->axis == 2) {
      pz[key] = (int)j;
    }
  }
  if (n_v == 0)
    return STANCE_OK;
  *done = true;
  int r = new_trials(c, 1);
  if (r < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  c->lay.cop_transform = true;
  snprintf(c->lay.desc, sizeof c->lay.desc, "OpenSim ground reaction export (vertical = vy)");
  if (vy[0] >= 0 && vy[1] >= 0 && vy[2] < 0) {
    c->lay.layout = STANCE_LAYOUT_PLATES;
    p->col[R_LEFT] = vy[0];
    p->col[R_RIGHT] = vy[1];
    if (keys_side == 2) {
      snprintf(c->lay.sides, sizeof c->lay.sides, "left and right as named in the header");
    } else {
      c->lay.sides_assumed = true;
      snprintf(c->lay.sides, sizeof c->lay.sides,
               "ground_force1 = right, ground_force2 = left (ACL_squat_jump convention; the file "
               "does not say: assumed)");
    }
    if (px[0] >= 0 && pz[0] >= 0 && px[1] >= 0 && pz[1] >= 0) {
      p->col[R_LCOPX] = pz[0];
      p->col[R_LCOPY] = px[0];
      p->col[R_RCOPX] = pz[1];
      p->col[R_RCOPY] = px[1];
      c->lay.has_cop = true;
    }
  } else if (n_v == 1) {
    int k = vy[0] >= 0 ? 0 : vy[1] >= 0 ? 1 : 2;
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    p->col[R_TOTAL] = vy[k];
    if (px[k] >= 0 && pz[k] >= 0) {
      p->col[R_COPX] = pz[k];
      p->col[R_COPY] = px[k];
      c->lay.has_cop = true;
    }
  } else {
    return fail(c, STANCE_EFORMAT,
                "OpenSim columns: the vertical forces (*_vy) do not form one left/right pair "
                "(expected ground_force1/ground_force2 or l_/r_ prefixes; or give --columns)");
  }
  /* OpenSim positions are metres in the lab frame, y up. The athlete's right is -z (ground_force1,
   * the right plate, sits at more negative z in the ACL data), so with a right-handed frame and y
   * up, forward is -x: x_ours = -pz, y_ours = -px. */
  for (int k = R_COPX; k <= R_RCOPY; k++)
    p->mul[k] = -1000.0;
  if (c->lay.has_cop)
    snprintf(c->lay.cop, sizeof c->lay.cop,
             "x = -1000*p_z, y = -1000*p_x (OpenSim metres to mm; lab origin, not the plate "
             "centre)");
  return STANCE_OK;
}

static int
layout_cells(Ctx *c, bool *done)
{
  int cell[2][4] = {{-1, -1, -1, -1}, {-1, -1, -1, -1}};
  int any = 0;
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->kind != CK_CELL)
      continue;
    any++;
    int *slot = &cell[col->side][col->index - 1];
    if (*slot >= 0)
      return fail(c, STANCE_EFORMAT, "columns %d and %zu are both cell %s%d", *slot + 1, j + 1,
                  col->side ? "r" : "l", col->index);
    *slot = (int)j;
  }
  if (!any)
    return STANCE_OK;
  char missing[64] = "";
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < 4; k++)
      if (cell[s][k] < 0) {
        size_t n = strlen(missing);
        snprintf(missing + n, sizeof missing - n, "%s%s%d", n ? ", " : "", s ? "r" : "l", k + 1);
      }
  if (missing[0]) {
    char cl[320];
    column_list(c, cl, sizeof cl);
    return fail(c, STANCE_EFORMAT,
                "per-cell columns are incomplete: missing %s (expected all of l1..l4 and r1..r4; "
                "%s)",
                missing, cl);
  }
  *done = true;
  int r = new_trials(c, 1);
  if (r < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < 4; k++)
      p->col[R_L1 + s * 4 + k] = cell[s][k];
  c->lay.layout = STANCE_LAYOUT_PLATES;
  c->lay.from_cells = true;
  c->lay.has_cop = true;
  snprintf(c->lay.desc, sizeof c->lay.desc, "per-cell forces summed per plate");
  snprintf(c->lay.sides, sizeof c->lay.sides, "left and right as named in the header");
  snprintf(c->lay.cop, sizeof c->lay.cop,
           "computed from the cell forces with the default plate geometry (cells at +-170, "
           "+-270 mm)");
  return STANCE_OK;
}

static int
layout_sides(Ctx *c, bool *done)
{
  char dsc[96];
  int side[2] = {-1, -1};
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->kind != CK_SIDE)
      continue;
    if (side[col->side] >= 0)
      return fail(c, STANCE_EFORMAT,
                  "columns %d and %zu are both %s-plate forces: cannot tell which to use (give "
                  "--columns)",
                  side[col->side] + 1, j + 1, col->side ? "right" : "left");
    side[col->side] = (int)j;
  }
  if (side[0] < 0 && side[1] < 0)
    return STANCE_OK;
  if (side[0] < 0 || side[1] < 0) {
    int have = side[0] >= 0 ? side[0] : side[1];
    return fail(c, STANCE_EFORMAT,
                "%s is a %s-plate force but there is no %s-plate column (expected both; for one "
                "plate give --columns total=%d)",
                col_desc(c, (size_t)have, dsc, sizeof dsc), side[0] >= 0 ? "left" : "right",
                side[0] >= 0 ? "right" : "left", have + 1);
  }
  *done = true;
  int r = new_trials(c, 1);
  if (r < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  p->col[R_LEFT] = side[0];
  p->col[R_RIGHT] = side[1];
  c->lay.layout = STANCE_LAYOUT_PLATES;
  snprintf(c->lay.desc, sizeof c->lay.desc, "left and right plate columns");
  snprintf(c->lay.sides, sizeof c->lay.sides, "left and right as named in the header");
  attach_cop(c, p, true, false);
  return STANCE_OK;
}

static int
layout_index(Ctx *c, bool *done)
{
  char dsc[96];
  int idx[2] = {-1, -1};
  int any = 0;
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->kind != CK_INDEX)
      continue;
    any++;
    if (col->index > 2)
      return fail(c, STANCE_EFORMAT,
                  "%s is force plate %d: Stance handles two plates (choose the columns with "
                  "--columns)",
                  col_desc(c, j, dsc, sizeof dsc), col->index);
    if (idx[col->index - 1] >= 0)
      return fail(c, STANCE_EFORMAT,
                  "columns %d and %zu are both force plate %d: cannot tell which to use (give "
                  "--columns)",
                  idx[col->index - 1] + 1, j + 1, col->index);
    idx[col->index - 1] = (int)j;
  }
  if (!any)
    return STANCE_OK;
  *done = true;
  int r = new_trials(c, 1);
  if (r < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  if (idx[0] >= 0 && idx[1] >= 0) {
    p->col[R_LEFT] = idx[0];
    p->col[R_RIGHT] = idx[1];
    c->lay.layout = STANCE_LAYOUT_PLATES;
    c->lay.sides_assumed = true;
    snprintf(c->lay.desc, sizeof c->lay.desc, "two force plates (FP1, FP2)");
    snprintf(c->lay.sides, sizeof c->lay.sides,
             "FP1 = left, FP2 = right (the usual layout, e.g. shiny-vertical-jump's default; the "
             "file does not say: assumed)");
    attach_cop(c, p, true, true);
  } else {
    int k = idx[0] >= 0 ? 0 : 1;
    p->col[R_TOTAL] = idx[k];
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    snprintf(c->lay.desc, sizeof c->lay.desc, "one force plate (FP%d)", k + 1);
    attach_cop(c, p, false, false);
  }
  return STANCE_OK;
}

static int
layout_totals(Ctx *c, bool *done)
{
  int tot[256];
  size_t nt = 0;
  for (size_t j = 0; j < c->ncols && nt < 256; j++)
    if (c->cols[j].kind == CK_TOTAL)
      tot[nt++] = (int)j;
  if (nt == 0)
    return STANCE_OK;
  *done = true;
  int r;
  if (nt == 1) {
    if ((r = new_trials(c, 1)) < 0)
      return r;
    c->lay.trials[0].col[R_TOTAL] = tot[0];
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    snprintf(c->lay.desc, sizeof c->lay.desc, "one combined force column");
    attach_cop(c, &c->lay.trials[0], false, false);
    return STANCE_OK;
  }
  bool same = true;
  for (size_t k = 1; k < nt; k++)
    same &= strcmp(c->cols[tot[k]].name, c->cols[tot[0]].name) == 0;
  if (!same || nt % 2 != 0) {
    char cl[320];
    column_list(c, cl, sizeof cl);
    return fail(c, STANCE_EFORMAT,
                "%zu columns look like a total force: cannot tell which to use (expected one "
                "such column, or pairs of identically named columns as trials side by side; "
                "give --columns; %s)",
                nt, cl);
  }
  /* Identically named force columns in pairs: (FP1, FP2) of trials side by side. */
  if ((r = new_trials(c, nt / 2)) < 0)
    return r;
  for (size_t k = 0; k < nt / 2; k++) {
    Plan *p = &c->lay.trials[k];
    p->col[R_LEFT] = tot[2 * k];
    p->col[R_RIGHT] = tot[2 * k + 1];
    p->first_col = tot[2 * k];
    p->last_col = tot[2 * k + 1];
  }
  c->lay.layout = STANCE_LAYOUT_PLATES;
  c->lay.wide = true;
  c->lay.sides_assumed = true;
  snprintf(c->lay.desc, sizeof c->lay.desc, "%zu trial%s side by side: pairs of columns named '%s'",
           nt / 2, nt > 2 ? "s" : "", c->cols[tot[0]].name);
  snprintf(c->lay.sides, sizeof c->lay.sides,
           "first column of each pair = left (FP1), second = right (FP2) (assumed)");
  return STANCE_OK;
}

static int
layout_headerless(Ctx *c, LineSpan *ln, size_t nl, bool *done)
{
  size_t n = c->ncols;
  bool t0 = n >= 2 && looks_like_time(c, ln, nl, 0);
  int r;
  if ((r = new_trials(c, 1)) < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  size_t first = t0 ? 1 : 0, m = n - first;
  if (t0)
    c->lay.time_col = 0;
  if (m == 1) {
    p->col[R_TOTAL] = (int)first;
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    snprintf(c->lay.desc, sizeof c->lay.desc, "no header: %s",
             t0 ? "time, force" : "one force column");
  } else if (m == 2) {
    p->col[R_LEFT] = (int)first;
    p->col[R_RIGHT] = (int)first + 1;
    c->lay.layout = STANCE_LAYOUT_PLATES;
    c->lay.sides_assumed = true;
    snprintf(c->lay.desc, sizeof c->lay.desc, "no header: %s",
             t0 ? "time, left, right" : "left, right");
    snprintf(c->lay.sides, sizeof c->lay.sides, "first force column = left (assumed)");
  } else if (m == 8) {
    for (int k = 0; k < 8; k++)
      p->col[R_L1 + k] = (int)first + k;
    c->lay.layout = STANCE_LAYOUT_PLATES;
    c->lay.from_cells = true;
    c->lay.has_cop = true;
    c->lay.sides_assumed = true;
    snprintf(c->lay.desc, sizeof c->lay.desc,
             "no header: %s8 cell forces in Stance order l1..l4, r1..r4", t0 ? "time, " : "");
    snprintf(c->lay.sides, sizeof c->lay.sides, "columns in Stance channel order (assumed)");
    snprintf(c->lay.cop, sizeof c->lay.cop,
             "computed from the cell forces with the default plate geometry (cells at +-170, "
             "+-270 mm)");
  } else {
    return fail(c, STANCE_EFORMAT,
                "no header and %zu columns: cannot tell which column is which (without a header "
                "Stance reads 1 column as the total force, 2 as left and right, 8 as cells "
                "l1..r4, each optionally after a time column; give --columns with column "
                "numbers, e.g. --columns time=1,left=2,right=3)",
                n);
  }
  *done = true;
  return STANCE_OK;
}

static int
auto_layout(Ctx *c, LineSpan *ln, size_t nl)
{
  int r;
  bool done = false;
  c->lay.time_col = -1;
  if (!c->header)
    return layout_headerless(c, ln, nl, &done);
  choose_time(c);
  if ((r = layout_opensim(c, &done)) < 0 || done)
    return r;
  if ((r = layout_cells(c, &done)) < 0 || done)
    return r;
  if ((r = layout_sides(c, &done)) < 0 || done)
    return r;
  if ((r = layout_index(c, &done)) < 0 || done)
    return r;
  if ((r = layout_totals(c, &done)) < 0 || done)
    return r;
  /* One numeric column nobody recognised, and nothing else to read: take it as the force. */
  int unk = -1, n_unk = 0;
  for (size_t j = 0; j < c->ncols; j++)
    if ((c->cols[j].kind == CK_UNKNOWN || c->cols[j].kind == CK_EMPTY) &&
        c->cols[j].numeric_in_sample) {
      unk = (int)j;
      n_unk++;
    }
  if (n_unk == 1) {
    if ((r = new_trials(c, 1)) < 0)
      return r;
    c->lay.trials[0].col[R_TOTAL] = unk;
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    char d[96];
    snprintf(c->lay.desc, sizeof c->lay.desc, "one combined force column (by elimination)");
    note(c, "%s is the only data column: taken as the total vertical force",
         col_desc(c, (size_t)unk, d, sizeof d));
    attach_cop(c, &c->lay.trials[0], false, false);
    return STANCE_OK;
  }
  char cl[320];
  column_list(c, cl, sizeof cl);
  return fail(c, STANCE_EFORMAT,
              "cannot tell which columns hold the forces (expected names such as left/right, "
              "fp1/fp2, Fz/force/total or l1..r4; or give --columns; %s)",
              cl);
}

/* ---- explicit mapping ("left=fp1,right=fp2") ---- */

static int
role_from_name(const char *s, size_t n)
{
  char w[24];
  if (n == 0 || n >= sizeof w)
    return -1;
  for (size_t i = 0; i < n; i++)
    w[i] = s[i] == '-' ? '_' : to_lower(s[i]);
  w[n] = '\0';
  for (int r = 0; r < R_COUNT; r++)
    if (strcmp(w, ROLE_NAME[r]) == 0)
      return r;
  return -1;
}

static int
resolve_column(Ctx *c, const char *role, const char *s, size_t n, int *out)
{
  char v[256];
  if (n >= sizeof v)
    n = sizeof v - 1;
  memcpy(v, s, n);
  v[n] = '\0';
  char cl[320];
  if (all_digits(v)) {
    long k = strlen(v) > 6 ? 0 : atol(v);
    if (k < 1 || (size_t)k > c->ncols) {
      column_list(c, cl, sizeof cl);
      return fail(c, STANCE_EINVAL,
                  "--columns %s=%s: there is no column %s (the file has %zu column%s; %s)", role, v,
                  v, c->ncols, c->ncols == 1 ? "" : "s", cl);
    }
    *out = (int)k - 1;
    return STANCE_OK;
  }
  if (!c->header) {
    column_list(c, cl, sizeof cl);
    return fail(c, STANCE_EINVAL, "--columns %s=%s: %s; give column numbers", role, v, cl);
  }
  int found = -1, count = 0;
  for (size_t j = 0; j < c->ncols; j++)
    if (ieq(c->cols[j].name, v)) {
      if (found < 0)
        found = (int)j;
      count++;
    }
  if (count == 0) {
    column_list(c, cl, sizeof cl);
    return fail(c, STANCE_EINVAL, "--columns %s=%s: no column named '%s' (%s)", role, v, v, cl);
  }
  if (count > 1)
    return fail(c, STANCE_EINVAL,
                "--columns %s=%s: %d columns are named '%s' (the first is column %d): give the "
                "column number instead",
                role, v, count, v, found + 1);
  *out = found;
  return STANCE_OK;
}

static int
explicit_layout(Ctx *c)
{
  int r = new_trials(c, 1);
  if (r < 0)
    return r;
  Plan *p = &c->lay.trials[0];
  const char *s = c->opt.columns;
  while (*s) {
    while (*s == ' ' || *s == ',')
      s++;
    if (!*s)
      break;
    const char *item = s;
    while (*s && *s != ',')
      s++;
    const char *ie = s;
    while (ie > item && ie[-1] == ' ')
      ie--;
    const char *eq = memchr(item, '=', (size_t)(ie - item));
    char it[96];
    printable(item, (size_t)(ie - item), it, sizeof it);
    if (!eq)
      return fail(c, STANCE_EINVAL,
                  "--columns: '%s' is not role=column (expected e.g. left=fp1,right=fp2)", it);
    const char *re = eq;
    while (re > item && re[-1] == ' ')
      re--;
    int role = role_from_name(item, (size_t)(re - item));
    if (role < 0) {
      char rn[48];
      printable(item, (size_t)(re - item), rn, sizeof rn);
      return fail(c, STANCE_EINVAL,
                  "--columns: unknown role '%s' (expected time, left, right, total, l1..l4, "
                  "r1..r4, copx, copy, left_copx, left_copy, right_copx, right_copy)",
                  rn);
    }
    const char *vs = eq + 1;
    while (vs < ie && *vs == ' ')
      vs++;
    if (vs == ie)
      return fail(c, STANCE_EINVAL, "--columns: no column given for '%s'", ROLE_NAME[role]);
    if (p->col[role] >= 0)
      return fail(c, STANCE_EINVAL, "--columns: role '%s' is given twice", ROLE_NAME[role]);
    int j = -1;
    if ((r = resolve_column(c, ROLE_NAME[role], vs, (size_t)(ie - vs), &j)) < 0)
      return r;
    for (int k = 0; k < R_COUNT; k++)
      if (p->col[k] == j) {
        char d[96];
        return fail(c, STANCE_EINVAL, "--columns: %s is mapped to both '%s' and '%s'",
                    col_desc(c, (size_t)j, d, sizeof d), ROLE_NAME[k], ROLE_NAME[role]);
      }
    p->col[role] = j;
  }
  bool has_lr = p->col[R_LEFT] >= 0 || p->col[R_RIGHT] >= 0;
  bool has_total = p->col[R_TOTAL] >= 0;
  int n_cells = 0;
  for (int k = R_L1; k <= R_R4; k++)
    n_cells += p->col[k] >= 0;
  int n_pcop = 0;
  for (int k = R_LCOPX; k <= R_RCOPY; k++)
    n_pcop += p->col[k] >= 0;
  bool ccop = p->col[R_COPX] >= 0 || p->col[R_COPY] >= 0;
  if (has_total + has_lr + (n_cells > 0) > 1)
    return fail(c, STANCE_EINVAL,
                "--columns: give either total (one plate), left and right (two plates) or "
                "l1..l4,r1..r4 (cells), not a mix");
  if (has_lr) {
    if (p->col[R_LEFT] < 0 || p->col[R_RIGHT] < 0)
      return fail(c, STANCE_EINVAL, "--columns: '%s' needs '%s' too (a two-plate layout)",
                  p->col[R_LEFT] >= 0 ? "left" : "right", p->col[R_LEFT] >= 0 ? "right" : "left");
    if (ccop)
      return fail(c, STANCE_EINVAL,
                  "--columns: copx/copy are for one plate; with left and right give left_copx, "
                  "left_copy, right_copx and right_copy");
    if (n_pcop != 0 && n_pcop != 4)
      return fail(c, STANCE_EINVAL,
                  "--columns: per-plate centre of pressure needs all of left_copx, left_copy, "
                  "right_copx, right_copy");
    c->lay.layout = STANCE_LAYOUT_PLATES;
    c->lay.has_cop = n_pcop == 4;
  } else if (has_total) {
    if (n_pcop)
      return fail(c, STANCE_EINVAL,
                  "--columns: left_cop*/right_cop* need left and right plates; for one plate "
                  "give copx and copy");
    if (ccop && (p->col[R_COPX] < 0 || p->col[R_COPY] < 0))
      return fail(c, STANCE_EINVAL, "--columns: '%s' needs '%s' too",
                  p->col[R_COPX] >= 0 ? "copx" : "copy", p->col[R_COPX] >= 0 ? "copy" : "copx");
    c->lay.layout = STANCE_LAYOUT_COMBINED;
    c->lay.has_cop = ccop;
  } else if (n_cells > 0) {
    if (n_cells != 8) {
      char missing[64] = "";
      for (int k = R_L1; k <= R_R4; k++)
        if (p->col[k] < 0) {
          size_t n = strlen(missing);
          snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", ROLE_NAME[k]);
        }
      return fail(c, STANCE_EINVAL, "--columns: per-cell mapping needs all 8 cells; missing %s",
                  missing);
    }
    if (ccop || n_pcop)
      return fail(c, STANCE_EINVAL,
                  "--columns: with cells the centre of pressure is computed; do not map cop "
                  "columns");
    c->lay.layout = STANCE_LAYOUT_PLATES;
    c->lay.from_cells = true;
    c->lay.has_cop = true;
    snprintf(c->lay.cop, sizeof c->lay.cop,
             "computed from the cell forces with the default plate geometry (cells at +-170, "
             "+-270 mm)");
  } else {
    return fail(c, STANCE_EINVAL,
                "--columns: no force column given (expected total=..., left=...,right=... or "
                "l1=...,...,r4=...)");
  }
  snprintf(c->lay.desc, sizeof c->lay.desc, "columns as given with --columns");
  snprintf(c->lay.sides, sizeof c->lay.sides, "as given with --columns");
  c->lay.time_col = p->col[R_TIME];
  p->col[R_TIME] = -1;
  if (c->lay.time_col >= 0)
    c->cols[c->lay.time_col].used = true;
  set_cols_used(c, p);
  if (c->lay.time_col < 0 && c->header)
    choose_time(c);
  return STANCE_OK;
}

static void
swap_plan(Plan *p)
{
  int t;
  double m;
#define SWAP(a, b)                                                                                 \
  do {                                                                                             \
    t = p->col[a];                                                                                 \
    p->col[a] = p->col[b];                                                                         \
    p->col[b] = t;                                                                                 \
    m = p->mul[a];                                                                                 \
    p->mul[a] = p->mul[b];                                                                         \
    p->mul[b] = m;                                                                                 \
  } while (0)
  SWAP(R_LEFT, R_RIGHT);
  for (int k = 0; k < 4; k++)
    SWAP(R_L1 + k, R_R1 + k);
  SWAP(R_LCOPX, R_RCOPX);
  SWAP(R_LCOPY, R_RCOPY);
#undef SWAP
}

static int
make_layout(Ctx *c, LineSpan *ln, size_t nl)
{
  int r;
  c->lay.time_col = -1;
  if (c->opt.columns && *c->opt.columns)
    r = explicit_layout(c);
  else
    r = auto_layout(c, ln, nl);
  if (r < 0)
    return r;
  for (size_t k = 0; k < c->lay.n_trials; k++) {
    set_cols_used(c, &c->lay.trials[k]);
    if ((r = plan_units(c, &c->lay.trials[k])) < 0)
      return r;
  }
  if (c->lay.time_col >= 0) {
    const Column *tc = &c->cols[c->lay.time_col];
    c->cols[c->lay.time_col].used = true;
    double f = time_unit_factor(tc->unit);
    if (f < 0) {
      char d[96];
      return fail(c, STANCE_EFORMAT, "%s: unit '%s' is not a time unit (expected s or ms)",
                  col_desc(c, (size_t)c->lay.time_col, d, sizeof d), tc->unit);
    }
    c->lay.time_to_s = f;
  }
  if (c->opt.swap_sides) {
    if (c->lay.layout == STANCE_LAYOUT_PLATES) {
      for (size_t k = 0; k < c->lay.n_trials; k++)
        swap_plan(&c->lay.trials[k]);
      c->lay.sides_assumed = false;
      char s[160];
      snprintf(s, sizeof s, "swapped as requested (was: %s)", c->lay.sides);
      snprintf(c->lay.sides, sizeof c->lay.sides, "%s", s);
    } else {
      note(c, "--swap-sides has no effect: the recording has one combined force");
    }
  }
  if (c->opt.columns && *c->opt.columns)
    c->lay.sides_assumed = false; /* the user said which is which */
  /* Ignored columns. */
  char ign[600] = "";
  size_t k = 0, n_ign = 0;
  bool moments = false;
  for (size_t j = 0; j < c->ncols; j++) {
    const Column *col = &c->cols[j];
    if (col->used || col->kind == CK_COUNTER || (col->kind == CK_EMPTY && !col->numeric_in_sample))
      continue;
    n_ign++;
    for (int t = 0; t < col->ntok; t++)
      moments |= in_set(col->tok[t], (const char *const[]){"mx", "my", "mz", "moment", "moments",
                                                           "torque", "tx", "ty", "tz", NULL});
    char d[64];
    if (col->name[0])
      printable(col->name, strlen(col->name), d, sizeof d);
    else
      snprintf(d, sizeof d, "column %zu", j + 1);
    if (k + strlen(d) + 8 < sizeof ign) {
      int n = snprintf(ign + k, sizeof ign - k, "%s%s", k ? ", " : "", d);
      if (n > 0)
        k += (size_t)n;
    }
  }
  if (n_ign)
    note(c, "ignored column%s: %s%s", n_ign == 1 ? "" : "s", ign,
         moments ? " (moments are not part of the Stance recording model)" : "");
  for (size_t j = 0; j < c->ncols; j++)
    if (c->cols[j].kind == CK_COUNTER && !c->cols[j].used && c->cols[j].name[0]) {
      char d[96];
      note(c, "%s is a sample counter: ignored", col_desc(c, j, d, sizeof d));
    }
  return STANCE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Data                                                                                       */

typedef struct {
  StanceRecording **recs;
  size_t n_recs;
  int *slot_of; /* column -> slot, -1 unused */
  int n_slots;
  double *mul;     /* per slot */
  double *maxabs;  /* per slot */
  size_t *col_len; /* per slot: rows until its first empty field (wide) */
  bool *col_ended;
  double *vals; /* per slot, one row */
  int *fslot;   /* per trial, per role: slot or -1 */
  size_t *trial_len;
  bool *trial_ended;
  double *t; /* time column values */
  size_t t_cap;
  int time_slot;
  int time_ndec;
  size_t n_rows;
  size_t first_lineno; /* line of the first data row; rows are consecutive lines */
} Build;

static void
build_free(Build *b)
{
  if (b->recs)
    for (size_t k = 0; k < b->n_recs; k++)
      stance_recording_free(b->recs[k]);
  free(b->recs);
  free(b->slot_of);
  free(b->mul);
  free(b->maxabs);
  free(b->col_len);
  free(b->col_ended);
  free(b->vals);
  free(b->fslot);
  free(b->trial_len);
  free(b->trial_ended);
  free(b->t);
  memset(b, 0, sizeof *b);
}

static size_t
count_lines(const char *p, const char *end)
{
  size_t n = 0;
  const char *q = p;
  while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
    n++;
    q++;
  }
  if (n == 0)
    for (q = p; q < end; q++)
      n += *q == '\r';
  return n + 1;
}

static int
build_init(Ctx *c, Build *b)
{
  const Layout *L = &c->lay;
  size_t nc = c->ncols, nt = L->n_trials;
  b->slot_of = malloc(nc * sizeof *b->slot_of);
  b->mul = malloc((nc + 1) * sizeof *b->mul);
  b->maxabs = calloc(nc + 1, sizeof *b->maxabs);
  b->col_len = calloc(nc + 1, sizeof *b->col_len);
  b->col_ended = calloc(nc + 1, sizeof *b->col_ended);
  b->vals = calloc(nc + 1, sizeof *b->vals);
  b->fslot = malloc(nt * R_COUNT * sizeof *b->fslot);
  b->trial_len = calloc(nt, sizeof *b->trial_len);
  b->trial_ended = calloc(nt, sizeof *b->trial_ended);
  b->recs = calloc(nt, sizeof *b->recs);
  if (!b->slot_of || !b->mul || !b->maxabs || !b->col_len || !b->col_ended || !b->vals ||
      !b->fslot || !b->trial_len || !b->trial_ended || !b->recs)
    return fail(c, STANCE_ENOMEM, "out of memory");
  b->n_recs = nt;
  for (size_t j = 0; j < nc; j++)
    b->slot_of[j] = -1;
  b->time_slot = -1;
  b->time_ndec = INT32_MIN;
  int ns = 0;
  if (L->time_col >= 0) {
    b->slot_of[L->time_col] = ns;
    b->mul[ns] = 1.0;
    b->time_slot = ns++;
  }
  for (size_t k = 0; k < nt; k++) {
    const Plan *p = &L->trials[k];
    for (int r = 0; r < R_COUNT; r++) {
      int j = p->col[r];
      b->fslot[k * R_COUNT + (size_t)r] = -1;
      if (j < 0)
        continue;
      if (b->slot_of[j] < 0) {
        b->slot_of[j] = ns;
        b->mul[ns] = p->mul[r];
        ns++;
      }
      b->fslot[k * R_COUNT + (size_t)r] = b->slot_of[j];
    }
  }
  b->n_slots = ns;
  size_t est = count_lines(c->data_start, c->end);
  if (est > ((size_t)1 << 40))
    est = (size_t)1 << 40;
  if (L->time_col >= 0) {
    b->t_cap = est;
    b->t = malloc(est * sizeof *b->t);
    if (!b->t)
      return fail(c, STANCE_ENOMEM, "out of memory (%zu lines)", est);
  }
  for (size_t k = 0; k < nt; k++) {
    /* The rate is set once known; 1 Hz keeps stance_recording_new happy meanwhile. */
    b->recs[k] = stance_recording_new(L->layout, 1.0, L->has_cop);
    if (!b->recs[k] || stance_recording_reserve(b->recs[k], est) < 0)
      return fail(c, STANCE_ENOMEM, "out of memory (%zu lines)", est);
  }
  return STANCE_OK;
}

static int
grow_build(Ctx *c, Build *b, size_t row)
{
  for (size_t k = 0; k < b->n_recs; k++)
    if (row >= b->recs[k]->capacity && stance_recording_reserve(b->recs[k], row + 1) < 0)
      return fail(c, STANCE_ENOMEM, "out of memory at row %zu", row + 1);
  if (b->t && row >= b->t_cap) {
    size_t cap = b->t_cap * 2 + 1024;
    double *t = realloc(b->t, cap * sizeof *t);
    if (!t)
      return fail(c, STANCE_ENOMEM, "out of memory at row %zu", row + 1);
    b->t = t;
    b->t_cap = cap;
  }
  return STANCE_OK;
}

static int
value_error(Ctx *c, int st, size_t lineno, size_t j, const char *fs, const char *end)
{
  const char *fe = fs;
  bool q = false;
  while (fe < end && !is_eol(*fe) && (q || *fe != c->delim)) {
    if (*fe == '"')
      q = !q;
    fe++;
  }
  while (fs < fe && (*fs == ' ' || *fs == '\t'))
    fs++;
  char tok[64], d[96];
  printable(fs, (size_t)(fe - fs), tok, sizeof tok);
  col_desc(c, j, d, sizeof d);
  const char *example =
      c->dec == ',' ? "a number with a decimal comma such as 812,5" : "a number such as 812.5";
  switch (st) {
  case NUM_EMPTY:
    return fail(c, STANCE_EFORMAT, "line %zu, %s: empty field (expected %s)", lineno, d, example);
  case NUM_NONFINITE:
    return fail(c, STANCE_EFORMAT,
                "line %zu, %s: '%s' is not a finite number (NaN and infinity are refused; "
                "expected %s)",
                lineno, d, tok, example);
  case NUM_OVERFLOW:
    return fail(c, STANCE_ERANGE,
                "line %zu, %s: '%s' overflows (expected a value of magnitude below 1e12)", lineno,
                d, tok);
  case NUM_HUGE:
    return fail(c, STANCE_ERANGE,
                "line %zu, %s: '%s' is out of range (expected a value of magnitude below 1e12)",
                lineno, d, tok);
  default:
    if (c->dec == ',' && memchr(fs, '.', (size_t)(fe - fs)))
      return fail(c, STANCE_EFORMAT,
                  "line %zu, %s: '%s' is not a number (the file uses a decimal comma; expected "
                  "%s)",
                  lineno, d, tok, example);
    return fail(c, STANCE_EFORMAT, "line %zu, %s: '%s' is not a number (expected %s)", lineno, d,
                tok, example);
  }
}

static int
fields_error(Ctx *c, size_t lineno, size_t got, bool more)
{
  char cl[320];
  column_list(c, cl, sizeof cl);
  if (more)
    return fail(c, STANCE_EFORMAT, "line %zu: more than %zu fields (expected %zu%s; %s)", lineno,
                c->ncols, c->ncols, c->header ? ", as in the header" : ", as in the first lines",
                cl);
  return fail(c, STANCE_EFORMAT, "line %zu: %zu field%s, expected %zu%s (%s)", lineno, got,
              got == 1 ? "" : "s", c->ncols,
              c->header ? ", as in the header" : ", as in the first lines", cl);
}

/* Stores row `row` of trial k from the parsed slot values. */
static inline void
store_row(const Layout *L, Build *b, size_t k, size_t row)
{
  StanceRecording *rec = b->recs[k];
  const int *fs = b->fslot + k * R_COUNT;
  const double *v = b->vals;
  size_t nch = rec->n_channels;
  double *f = rec->force_n + row * nch;
  double *cop = rec->cop_mm ? rec->cop_mm + row * nch * 2 : NULL;
  if (L->from_cells) {
    for (int p = 0; p < 2; p++) {
      double fz = 0, mx = 0, my = 0;
      for (int q = 0; q < 4; q++) {
        double fc = v[fs[R_L1 + p * 4 + q]];
        fz += fc;
        mx += fc * rec->calib.plate[p].cell[q].x_mm;
        my += fc * rec->calib.plate[p].cell[q].y_mm;
      }
      f[p] = fz;
      if (cop) {
        bool ok = fabs(fz) > 1e-6;
        cop[p * 2] = ok ? mx / fz : 0.0;
        cop[p * 2 + 1] = ok ? my / fz : 0.0;
      }
    }
  } else if (nch == 2) {
    f[0] = v[fs[R_LEFT]];
    f[1] = v[fs[R_RIGHT]];
    if (cop) {
      cop[0] = v[fs[R_LCOPX]];
      cop[1] = v[fs[R_LCOPY]];
      cop[2] = v[fs[R_RCOPX]];
      cop[3] = v[fs[R_RCOPY]];
    }
  } else {
    f[0] = v[fs[R_TOTAL]];
    if (cop) {
      cop[0] = v[fs[R_COPX]];
      cop[1] = v[fs[R_COPY]];
    }
  }
}

static int
parse_data(Ctx *c, Build *b)
{
  const Layout *L = &c->lay;
  const char *p = c->data_start, *end = c->end;
  size_t lineno = c->data_lineno;
  if (c->header) {
    /* Step over the header line (and blank lines before it). */
    while (lineno <= c->header_lineno && p < end) {
      p = skip_eol(line_end(p, end), end);
      lineno++;
    }
  }
  const char delim = c->delim, dec = c->dec;
  const size_t ncols = c->ncols;
  const bool wide = L->wide;
  size_t row = 0, blank_at = 0;
  int r;
  while (p < end) {
    if (*p == ' ' || *p == '\t' || *p == delim || is_eol(*p)) {
      const char *e = line_end(p, end);
      if (blank_line(p, e)) {
        if (!blank_at && row > 0)
          blank_at = lineno;
        p = skip_eol(e, end);
        lineno++;
        continue;
      }
    }
    if (blank_at) {
      return fail(c, STANCE_EFORMAT,
                  "line %zu is empty but data follows at line %zu (expected no empty lines "
                  "inside the data)",
                  blank_at, lineno);
    }
    if (row >= b->recs[0]->capacity || (b->t && row >= b->t_cap))
      if ((r = grow_build(c, b, row)) < 0)
        return r;
    for (size_t j = 0; j < ncols; j++) {
      int slot = b->slot_of[j];
      if (slot >= 0) {
        double v;
        int nd;
        const char *fs = p;
        int st = parse_field(&p, end, delim, dec, &v, &nd);
        if (st == NUM_OK) {
          v *= b->mul[slot];
          if (fabs(v) > b->maxabs[slot])
            b->maxabs[slot] = fabs(v);
          if (slot == b->time_slot && nd > b->time_ndec)
            b->time_ndec = nd;
          if (wide && b->col_ended[slot]) {
            char d[96];
            return fail(c, STANCE_EFORMAT,
                        "line %zu, %s: a value after the column ended at line %zu (in trials "
                        "side by side each column must end with empty fields only)",
                        lineno, col_desc(c, j, d, sizeof d), b->first_lineno + b->col_len[slot]);
          }
          b->col_len[slot] = row + 1;
        } else if (st == NUM_EMPTY && wide && slot != b->time_slot) {
          v = 0.0;
          if (!b->col_ended[slot])
            b->col_ended[slot] = true;
        } else {
          return value_error(c, st, lineno, j, fs, end);
        }
        b->vals[slot] = v;
      } else {
        bool q = false;
        while (p < end && !is_eol(*p) && (q || *p != delim)) {
          if (*p == '"')
            q = !q;
          p++;
        }
      }
      if (j + 1 < ncols) {
        if (p < end && *p == delim)
          p++;
        else
          return fields_error(c, lineno, j + 1, false);
      }
    }
    if (p < end && *p == delim) {
      const char *e = line_end(p, end);
      if (!blank_line(p, e))
        return fields_error(c, lineno, 0, true);
      p = e;
    }
    p = skip_eol(p, end);
    if (row == 0)
      b->first_lineno = lineno;
    if (b->time_slot >= 0)
      b->t[row] = b->vals[b->time_slot];
    for (size_t k = 0; k < b->n_recs; k++) {
      if (wide) {
        if (b->trial_ended[k])
          continue;
        const Plan *pl = &L->trials[k];
        if (b->col_ended[b->slot_of[pl->col[R_LEFT]]] ||
            b->col_ended[b->slot_of[pl->col[R_RIGHT]]]) {
          b->trial_ended[k] = true;
          continue;
        }
        b->trial_len[k] = row + 1;
      }
      store_row(L, b, k, row);
    }
    row++;
    lineno++;
  }
  b->n_rows = row;
  if (row == 0) {
    if (c->header)
      return fail(c, STANCE_ENODATA, "only a header line (line %zu), no data lines",
                  c->header_lineno);
    return fail(c, STANCE_ENODATA, "no data lines");
  }
  if (!wide)
    for (size_t k = 0; k < b->n_recs; k++)
      b->trial_len[k] = row;
  return STANCE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Rate                                                                                       */

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of the m-sample steps (t[i+m] - t[i]) / m over up to MEDIAN_SAMPLES evenly spread i in
 * [0, n). */
static double
median_step(const double *t, size_t n, size_t m, double *scratch)
{
  size_t stride = n > MEDIAN_SAMPLES ? n / MEDIAN_SAMPLES : 1, k = 0;
  for (size_t i = 0; i < n && k < MEDIAN_SAMPLES; i += stride)
    scratch[k++] = (t[i + m] - t[i]) / (double)m;
  qsort(scratch, k, sizeof *scratch, cmp_double);
  return k % 2 ? scratch[k / 2] : 0.5 * (scratch[k / 2 - 1] + scratch[k / 2]);
}

/* The rate from the time column: see docs/import.md "Time column". */
static int
rate_from_time(Ctx *c, Build *b, double *rate, char *how, size_t howcap, double *t0_s)
{
  const double *t = b->t;
  size_t n = b->n_rows;
  size_t first_line = b->first_lineno;
  char d[96];
  col_desc(c, (size_t)c->lay.time_col, d, sizeof d);
  double scratch[MEDIAN_SAMPLES];
  if (n < 2)
    return 1; /* no step: the caller falls back */
  double h1 = median_step(t, n - 1, 1, scratch);
  size_t m = n - 1 >= 8 ? (n - 1) / 4 : 1;
  double h = median_step(t, n - m, m, scratch);
  if (!(h > 0) || !(h1 > 0)) {
    for (size_t i = 0; i + 1 < n; i++)
      if (!(t[i + 1] > t[i]))
        return fail(c, STANCE_EFORMAT,
                    "line %zu, %s: time %.9g does not advance after %.9g at line %zu (expected "
                    "increasing times at a constant step)",
                    first_line + i + 1, d, t[i + 1], t[i], first_line + i);
    return fail(c, STANCE_EFORMAT, "%s: the time does not advance (expected increasing times)", d);
  }
  double unit = c->lay.time_to_s;
  const char *unit_how;
  if (unit > 0) {
    unit_how = "unit from the header";
  } else if (h >= 0.5) {
    unit = 1e-3;
    unit_how = "unit not stated: a step >= 0.5 is read as milliseconds";
  } else {
    unit = 1.0;
    unit_how = "unit not stated: read as seconds";
  }
  int nd = b->time_ndec < -15 ? -15 : b->time_ndec > 20 ? 20 : b->time_ndec;
  double q = pow(10.0, -nd); /* printing resolution, file units */
  double tmax = fmax(fabs(t[0]), fabs(t[n - 1]));
  double eps = 8.0 * DBL_EPSILON * tmax;
  /* Times printed too coarsely for a 1 % check (1200 Hz printed in whole ms): each printed time is
   * within q/2 of the true one, so a step is within q of the true step, never q or more. */
  bool coarse = q > 0.01 * h1;
  double tol = coarse ? q * (1.0 - 1e-6) : 0.01 * h + eps;
  double off = 0.0, hfit = h;
  if (coarse) {
    /* Rounded times: the step is the least-squares slope of time over sample index (centred
     * sums), which the rounding errors cannot bias; the window median is off by up to about
     * q/m, an error that grows along the file, so it is only used for the step check. */
    double ibar = 0.5 * (double)(n - 1), tbar = 0.0;
    for (size_t i = 0; i < n; i++)
      tbar += t[i];
    tbar /= (double)n;
    double sxy = 0.0, sxx = 0.0;
    for (size_t i = 0; i < n; i++) {
      double di = (double)i - ibar;
      sxy += di * (t[i] - tbar);
      sxx += di * di;
    }
    if (sxy > 0 && sxx > 0)
      hfit = sxy / sxx;
    off = tbar - ibar * hfit;
  }
  /* Each step against the median step (robust to a single missing sample, unlike the fit). */
  for (size_t i = 0; i + 1 < n; i++) {
    double step = t[i + 1] - t[i];
    if (fabs(step - h) > tol)
      return fail(c, STANCE_EFORMAT,
                  "line %zu, %s: time %.9g follows %.9g (line %zu): step %.6g, expected %.6g "
                  "within %s; the time must advance uniformly (a missing sample or clock "
                  "jitter?)",
                  first_line + i + 1, d, t[i + 1], t[i], first_line + i, step, h,
                  coarse ? "the printing resolution" : "1 % (the median step)");
  }
  if (coarse) {
    /* Each rounded time is within q/2 of the fitted grid; a missing sample or a drifting clock
     * moves a run of them further. */
    double gtol = 0.75 * q + eps;
    for (size_t i = 0; i < n; i++) {
      double expect = off + (double)i * hfit;
      if (fabs(t[i] - expect) > gtol)
        return fail(c, STANCE_EFORMAT,
                    "line %zu, %s: time %.9g is off the uniform grid of the other samples "
                    "(expected %.9g within the printing resolution %.3g): a missing sample or "
                    "clock jitter?",
                    first_line + i, d, t[i], expect, q);
    }
  }
  h = hfit;
  double hs = h * unit;
  double rt = 1.0 / hs;
  double rn = nearbyint(rt);
  double unc = rt * (q / (h * (double)m) + 1e-9);
  if (rn >= 1.0 && fabs(rt - rn) <= fmax(unc, 1e-6 * rt))
    rt = rn;
  if (!(rt >= 0.1 && rt <= 1e6))
    return fail(c, STANCE_ERANGE,
                "%s: the time step %.6g s gives a rate of %.6g Hz (expected 0.1 Hz to 1 MHz; give "
                "the rate with --rate)",
                d, hs, rt);
  *rate = rt;
  *t0_s = t[0] * unit;
  char col[64];
  printable(c->cols[c->lay.time_col].name, strlen(c->cols[c->lay.time_col].name), col, sizeof col);
  snprintf(how, howcap, "from time column '%s' (median step %.6g s; %s)", col[0] ? col : "1", hs,
           unit_how);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Finishing                                                                                  */

static void
columns_string(const Ctx *c, const Plan *p, char *buf, size_t cap, bool numbers)
{
  size_t k = 0;
  buf[0] = '\0';
  for (int r = 0; r < R_COUNT; r++) {
    int j = r == R_TIME ? c->lay.time_col : p->col[r];
    if (j < 0)
      continue;
    if (r >= R_COPX && (c->lay.cop_transform || c->lay.from_cells))
      continue;
    char ref[80];
    if (numbers || c->lay.wide)
      snprintf(ref, sizeof ref, "%d", j + 1);
    else
      col_ref(c, j, ref, sizeof ref);
    int n = snprintf(buf + k, cap - k, "%s%s=%s", k ? "," : "", ROLE_NAME[r], ref);
    if (n < 0 || (size_t)n >= cap - k)
      return;
    k += (size_t)n;
  }
}

static const char *
base_name(const char *path)
{
  const char *s = strrchr(path, '/');
#ifdef _WIN32
  const char *b = strrchr(path, '\\');
  if (b && (!s || b > s))
    s = b;
#endif
  return s ? s + 1 : path;
}

static int
finish(Ctx *c, Build *b, StanceImportResult *out)
{
  Layout *L = &c->lay;
  double rate = 0.0, t0 = 0.0;
  bool assumed = false;
  char how[200] = "";
  if (c->opt.rate_hz > 0) {
    rate = c->opt.rate_hz;
    snprintf(how, sizeof how, "%g Hz as given", rate);
    if (L->time_col >= 0) {
      /* The given rate wins; the time column is still looked at so a contradiction is noted. */
      double tr;
      char h2[200];
      StanceError quiet = {0};
      StanceError *saved = c->err;
      c->err = &quiet;
      int r = rate_from_time(c, b, &tr, h2, sizeof h2, &t0);
      c->err = saved;
      if (r == 0 && fabs(tr - rate) > 0.01 * rate)
        note(c, "warning: the time column says %g Hz but the rate was given as %g Hz", tr, rate);
      else if (r < 0)
        note(c,
             "warning: the time column was not used (the rate was given) and is not uniform: "
             "%s",
             quiet.message);
    }
  } else if (L->time_col >= 0) {
    int r = rate_from_time(c, b, &rate, how, sizeof how, &t0);
    if (r < 0)
      return r;
    if (r > 0) {
      rate = c->opt.default_rate_hz > 0 ? c->opt.default_rate_hz : 1000.0;
      assumed = true;
      snprintf(how, sizeof how, "%g Hz assumed (one sample: the time column gives no step)", rate);
    }
  } else {
    rate = c->opt.default_rate_hz > 0 ? c->opt.default_rate_hz : 1000.0;
    assumed = true;
    snprintf(how, sizeof how,
             "%g Hz assumed: the file has no time column and no rate was given (use --rate)", rate);
  }

  /* CoP in unknown units: metres when every value is below 5 (no plate is 5 mm across, and no
   * lab is 5 km wide). */
  double cop_factor = 1.0;
  if (L->has_cop && L->cop_unit_unknown && !L->from_cells) {
    double mx = 0;
    for (size_t k = 0; k < L->n_trials; k++)
      for (int r = R_COPX; r <= R_RCOPY; r++) {
        int s = b->fslot[k * R_COUNT + (size_t)r];
        if (s >= 0)
          mx = fmax(mx, b->maxabs[s]);
      }
    cop_factor = mx < 5.0 ? 1000.0 : 1.0;
    snprintf(L->cop, sizeof L->cop,
             "unit not stated: largest |value| %.4g, read as %s; axes as in the file (x, y)", mx,
             cop_factor == 1000.0 ? "metres" : "millimetres");
  } else if (L->has_cop && !L->cop[0]) {
    snprintf(L->cop, sizeof L->cop, "from the columns, units from the header; axes as in the file");
  }

  char fmt[160];
  int fl = snprintf(fmt, sizeof fmt, "%s; %s; decimal %s",
                    c->single_column ? "one column" : delim_name(c->delim),
                    c->header ? "header" : "no header", c->dec == ',' ? "comma" : "point");
  if (c->n_skipped && fl > 0 && (size_t)fl < sizeof fmt)
    snprintf(fmt + fl, sizeof fmt - (size_t)fl, "; %zu lines skipped (%s)", c->n_skipped,
             c->skip_reason ? c->skip_reason : "");

  /* The summary comes first in the notes; the details collected on the way follow. */
  char sum[NOTES_CAP];
  size_t sl = 0;
#define SUM(...)                                                                                   \
  do {                                                                                             \
    int n_ = snprintf(sum + sl, sizeof sum - sl, __VA_ARGS__);                                     \
    if (n_ > 0)                                                                                    \
      sl = sl + (size_t)n_ < sizeof sum ? sl + (size_t)n_ : sizeof sum - 1;                        \
  } while (0)
  SUM("layout: %s (%s)\n", L->desc, stance_layout_name(L->layout));
  SUM("rate: %s\n", how);
  if (L->layout == STANCE_LAYOUT_PLATES)
    SUM("sides: %s\n", L->sides);
  if (L->has_cop)
    SUM("centre of pressure: %s\n", L->cop);
  for (size_t k = 0; k < L->n_trials && k < 8; k++) {
    char cs[200];
    columns_string(c, &L->trials[k], cs, sizeof cs, false);
    if (L->n_trials > 1)
      SUM("columns (trial %zu): %s\n", k + 1, cs);
    else
      SUM("columns: %s\n", cs);
  }
  SUM("format: %s\n", fmt);
  if (c->header)
    SUM("header: line %zu, %zu column%s\n", c->header_lineno, c->ncols, c->ncols == 1 ? "" : "s");
  if (c->opt.force_scale != 0.0)
    SUM("forces multiplied by %g as requested\n", c->opt.force_scale);
#undef SUM
  double scale = c->opt.force_scale != 0.0 ? c->opt.force_scale : 1.0;

  char ign[160] = "";
  {
    size_t k = 0;
    for (size_t j = 0; j < c->ncols; j++) {
      if (c->cols[j].used)
        continue;
      char nm[48];
      if (c->cols[j].name[0])
        printable(c->cols[j].name, strlen(c->cols[j].name), nm, sizeof nm);
      else
        snprintf(nm, sizeof nm, "%zu", j + 1);
      int n = snprintf(ign + k, sizeof ign - k, "%s%s", k ? "," : "", nm);
      if (n < 0 || (size_t)n + 4 >= sizeof ign - k) {
        snprintf(ign + k, sizeof ign - k, ",...");
        break;
      }
      k += (size_t)n;
    }
  }

  out->recs = calloc(L->n_trials, sizeof *out->recs);
  if (!out->recs)
    return fail(c, STANCE_ENOMEM, "out of memory");
  size_t kept = 0;
  for (size_t k = 0; k < L->n_trials; k++) {
    StanceRecording *rec = b->recs[k];
    size_t n = b->trial_len[k];
    if (n == 0) {
      note(c, "trial %zu (columns %d-%d) is empty: skipped", k + 1, L->trials[k].first_col + 1,
           L->trials[k].last_col + 1);
      continue;
    }
    rec->n_samples = n;
    rec->sample_rate_hz = rate;
    memset(rec->status, 0, n * sizeof *rec->status);
    if (rec->cop_mm && cop_factor != 1.0)
      for (size_t i = 0; i < n * rec->n_channels * 2; i++)
        rec->cop_mm[i] *= cop_factor;
    StanceMeta *m = &rec->meta;
    m->protocol = STANCE_PROTO_UNKNOWN;
    m->side = STANCE_SIDE_BOTH;
    snprintf(m->source, sizeof m->source, "import:%s", c->name);
    m->rate_assumed = assumed;
    m->sides_assumed = L->layout == STANCE_LAYOUT_PLATES && L->sides_assumed;
    char v[200];
    meta_put(m, "import.layout", L->desc);
    columns_string(c, &L->trials[k], v, sizeof v, false);
    if (strlen(v) >= sizeof m->extra[0].value)
      columns_string(c, &L->trials[k], v, sizeof v, true);
    meta_put(m, "import.columns", v);
    if (L->layout == STANCE_LAYOUT_PLATES)
      meta_put(m, "import.sides", L->sides);
    if (L->has_cop)
      meta_put(m, "import.cop", L->cop);
    meta_put(m, "import.rate", how);
    meta_put(m, "import.format", fmt);
    if (L->time_col >= 0) {
      snprintf(v, sizeof v, "%.9g", t0);
      meta_put(m, "import.time_start_s", v);
    }
    if (scale != 1.0) {
      snprintf(v, sizeof v, "%g", scale);
      meta_put(m, "import.scale", v);
    }
    if (ign[0])
      meta_put(m, "import.ignored", ign);
    if (L->n_trials > 1) {
      snprintf(v, sizeof v, "%zu/%zu (columns %d-%d)", k + 1, L->n_trials,
               L->trials[k].first_col + 1, L->trials[k].last_col + 1);
      meta_put(m, "import.trial", v);
    }
    if (L->wide) {
      const Plan *pl = &L->trials[k];
      size_t a = b->col_len[b->slot_of[pl->col[R_LEFT]]];
      size_t bb = b->col_len[b->slot_of[pl->col[R_RIGHT]]];
      size_t drop = (a - n) + (bb - n);
      if (drop)
        note(c,
             "trial %zu: %zu value%s without a partner in the other column of the pair "
             "dropped at the end",
             k + 1, drop, drop == 1 ? "" : "s");
    }
    out->recs[kept++] = rec;
    b->recs[k] = NULL;
  }
  out->n_recs = kept;
  if (kept == 0) {
    free(out->recs);
    out->recs = NULL;
    return fail(c, STANCE_ENODATA, "every trial is empty (no data)");
  }
  if (L->n_trials > 1)
    note(c, "%zu recordings (trials in file order)", kept);
  /* Notes: summary then details, cut at a line end when they do not fit. */
  size_t nn = strlen(sum);
  if (nn + c->notes_len < NOTES_CAP)
    memcpy(sum + nn, c->notes, c->notes_len + 1);
  nn = strlen(sum);
  while (nn > 0 && sum[nn - 1] == '\n')
    sum[--nn] = '\0';
  if (nn < sizeof out->notes) {
    memcpy(out->notes, sum, nn + 1);
  } else {
    sum[sizeof out->notes - 5] = '\0';
    char *cut = strrchr(sum, '\n');
    if (cut && cut > sum + sizeof out->notes / 2)
      *cut = '\0';
    utf8_truncate(sum, sizeof out->notes - 5);
    snprintf(out->notes, sizeof out->notes, "%s\n...", sum);
  }
  return STANCE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                 */

void
stance_import_options_default(StanceImportOptions *opt)
{
  if (!opt)
    return;
  memset(opt, 0, sizeof *opt);
  opt->delimiter = 0;
  opt->decimal_comma = -1;
  opt->skip_lines = -1;
  opt->rate_hz = 0.0;
  opt->default_rate_hz = 1000.0;
  opt->columns = NULL;
  opt->force_scale = 0.0;
  opt->swap_sides = false;
}

void
stance_import_result_clear(StanceImportResult *res)
{
  if (!res)
    return;
  for (size_t k = 0; res->recs && k < res->n_recs; k++)
    stance_recording_free(res->recs[k]);
  free(res->recs);
  memset(res, 0, sizeof *res);
}

static int
check_options(Ctx *c)
{
  const StanceImportOptions *o = &c->opt;
  if (o->delimiter && o->delimiter != ',' && o->delimiter != '\t' && o->delimiter != ';')
    return fail(c, STANCE_EINVAL, "delimiter 0x%02x is not supported (expected ',', tab or ';')",
                (unsigned char)o->delimiter);
  if (o->decimal_comma < -1 || o->decimal_comma > 1)
    return fail(c, STANCE_EINVAL, "decimal_comma %d (expected 1, 0 or -1 to detect)",
                o->decimal_comma);
  if (o->decimal_comma == 1 && o->delimiter == ',')
    return fail(c, STANCE_EINVAL,
                "a decimal comma cannot go with a comma delimiter (use ';' or tab)");
  if (o->skip_lines < -1)
    return fail(c, STANCE_EINVAL, "skip_lines %d (expected >= 0, or -1 to detect)", o->skip_lines);
  if (!isfinite(o->rate_hz) || o->rate_hz < 0 || o->rate_hz > 1e6)
    return fail(c, STANCE_EINVAL, "rate %g Hz (expected 0 for automatic, or up to 1 MHz)",
                o->rate_hz);
  if (!isfinite(o->default_rate_hz) || o->default_rate_hz < 0 || o->default_rate_hz > 1e6)
    return fail(c, STANCE_EINVAL, "default rate %g Hz (expected up to 1 MHz, or 0 for 1000)",
                o->default_rate_hz);
  if (!isfinite(o->force_scale) || fabs(o->force_scale) > 1e6 ||
      (o->force_scale != 0 && fabs(o->force_scale) < 1e-9))
    return fail(c, STANCE_EINVAL,
                "force scale %g (expected a finite non-zero factor such as 9.81, or 0 for none)",
                o->force_scale);
  return STANCE_OK;
}

static void
ctx_free(Ctx *c)
{
  for (size_t j = 0; c->cols && j < c->ncols; j++)
    free(c->cols[j].name);
  free(c->cols);
  free(c->lay.trials);
}

int
stance_import_text_buffer(const char *name, const char *buf, size_t len,
                          const StanceImportOptions *opt, StanceImportResult *out, StanceError *err)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!out || (!buf && len > 0))
    return stance_error_set(err, STANCE_EINVAL, "import: no buffer or result given");
  Ctx *c = calloc(1, sizeof *c);
  if (!c)
    return stance_error_set(err, STANCE_ENOMEM, "import: out of memory");
  c->name = base_name(name && *name ? name : "buffer");
  c->err = err;
  if (opt)
    c->opt = *opt;
  else
    stance_import_options_default(&c->opt);
  Build b = {0};
  int r = check_options(c);
  if (r < 0)
    goto done;
  if (!buf)
    buf = "";
  const char *nul = memchr(buf, '\0', len);
  if (nul) {
    r = fail(c, STANCE_EFORMAT,
             "not a text file: NUL byte at offset %zu (expected UTF-8 or ASCII text; UTF-16 "
             "files must be saved as UTF-8)",
             (size_t)(nul - buf));
    goto done;
  }
  c->buf = buf;
  c->end = buf + len;
  if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
    c->buf += 3;
  {
    bool any = false;
    for (const char *p = c->buf; p < c->end && !any; p++)
      any = !(*p == ' ' || *p == '\t' || is_eol(*p) || *p == ',' || *p == ';');
    if (!any) {
      r = fail(c, STANCE_ENODATA,
               "empty file (expected lines of numbers, optionally after a "
               "header line)");
      goto done;
    }
  }
  if ((r = detect_preamble(c)) < 0)
    goto done;
  LineSpan ln[SAMPLE_LINES];
  size_t nl = collect_lines(c->data_start, c->end, c->data_lineno, ln, SAMPLE_LINES);
  if (nl == 0) {
    r = fail(c, STANCE_ENODATA, "no data after the %zu skipped line%s", c->n_skipped,
             c->n_skipped == 1 ? "" : "s");
    goto done;
  }
  if ((r = detect_format(c, ln, nl)) < 0 || (r = setup_columns(c, ln, nl)) < 0)
    goto done;
  if ((r = make_layout(c, ln, nl)) < 0)
    goto done;
  if ((r = build_init(c, &b)) < 0 || (r = parse_data(c, &b)) < 0)
    goto done;
  r = finish(c, &b, out);
done:
  if (r < 0)
    stance_import_result_clear(out);
  build_free(&b);
  ctx_free(c);
  free(c);
  return r < 0 ? r : STANCE_OK;
}

int
stance_import_text(const char *path, const StanceImportOptions *opt, StanceImportResult *out,
                   StanceError *err)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!path || !out)
    return stance_error_set(err, STANCE_EINVAL, "import: no file or result given");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return stance_error_set(err, STANCE_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return stance_error_set(err, STANCE_EIO, "%s: cannot read: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return stance_error_set(err, STANCE_EIO, "%s: is a directory (expected a text file)", path);
  }
  size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory (%zu bytes)", path, cap);
  }
  size_t len = 0;
  for (;;) {
    if (len == cap) {
      size_t ncap = cap * 2;
      char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
      if (!nb) {
        free(buf);
        close(fd);
        return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory", path);
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      free(buf);
      close(fd);
      return stance_error_set(err, STANCE_EIO, "%s: read failed: %s", path, strerror(e));
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  int r = stance_import_text_buffer(path, buf, len, opt, out, err);
  free(buf);
  return r;
}
