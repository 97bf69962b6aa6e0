/* stance-report.c: the PDF asymmetry report (stance-report.h, docs/report.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Layout: A4 portrait in points, one flowing column between fixed margins; a block that does not
 * fit on the current page starts the next one (tables repeat their header there). Every text that
 * could be too long for its box is measured with cairo_text_extents() and wrapped or ellipsized,
 * so nothing crosses a margin or a column. The document is laid out twice: a dry pass (same
 * surface type, so the same font metrics and the same breaks) counts the pages, the real pass
 * prints "page N of M" in each footer.
 *
 * Numbers go through fmt_num() (integers only, no printf floating point), so the report reads the
 * same under any LC_NUMERIC. Strings from the model are made valid UTF-8 and stripped of control
 * characters before they reach cairo (the toy text API puts the context in an error state on
 * invalid UTF-8).
 *
 * Tests: the trials of one protocol, bilateral or sided, and one-plate or two-plate, form a test;
 * the accepted trials' analyses are combined (stance_analysis_combine()) so that the summary of a
 * sided test is the left-leg trials against the right-leg trials. Rejected trials are listed and
 * marked but stay out of every figure.
 *
 * Threads: reentrant (cairo contexts and surfaces are per call; localtime_r, strerror via the
 * atomic-file helper).
 */
#include "stance-report.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stance-atomic.h"
#include "stance-config.h"
#include "stance-utf8.h"

/* ======================================================================================
 * Lights and headline metrics
 * ====================================================================================== */

StanceLight
stance_report_light(const char *formula, double value, double green_below_pct, double red_above_pct)
{
  /* A value that is not a number cannot be called symmetric: red asks for a look. The model
   * never holds one (stance_metric_set() refuses them), so this is only a guard. */
  if (!isfinite(value))
    return STANCE_LIGHT_RED;
  /* LSI: the distance from 100 either way; above 100 the involved limb is the stronger one, which
   * is an imbalance too (e.g. a deconditioned uninvolved limb). */
  double dist = (formula && strcmp(formula, "lsi") == 0) ? fabs(100.0 - value) : fabs(value);
  if (dist < green_below_pct)
    return STANCE_LIGHT_GREEN;
  if (dist > red_above_pct)
    return STANCE_LIGHT_RED;
  return STANCE_LIGHT_AMBER;
}

const char *
stance_light_name(StanceLight l)
{
  switch (l) {
  case STANCE_LIGHT_GREEN: return "green";
  case STANCE_LIGHT_AMBER: return "amber";
  case STANCE_LIGHT_RED: return "red";
  }
  return "unknown";
}

const char *
stance_report_headline_metric(StanceProtocol p)
{
  switch (p) {
  /* Bilateral jumps and rebounds: jump height and RSI belong to the whole body (they have no
   * per-leg value); each leg's net impulse is its share of the take-off velocity that sets them
   * (impulse = mass x velocity change), so that is the limb comparison. */
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_POGO: return "net_impulse";
  /* Single-leg: one leg produces the whole jump, so the jump height itself is that leg's. */
  case STANCE_PROTO_SL_CMJ: return "jump_height_impulse";
  case STANCE_PROTO_SL_HOP: return "rsi";
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_WEIGH_IN: return "weight_bearing_pct";
  case STANCE_PROTO_SL_BALANCE: return "cop_path_length";
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT:
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE:
  case STANCE_PROTO_STEP_UP:
  case STANCE_PROTO_SL_SQUAT:
  case STANCE_PROTO_SL_RDL:
  case STANCE_PROTO_BACK_SQUAT:
  case STANCE_PROTO_DEADLIFT:
  default: return "peak_force";
  }
}

/* The key metrics of a protocol's table, in the order shown (docs/report.md). */
static const char *const keys_jumps[] = {"jump_height_impulse",
                                         "net_impulse",
                                         "propulsion_net_impulse",
                                         "braking_net_impulse",
                                         "peak_force",
                                         "peak_rfd",
                                         "rsi_mod",
                                         "landing_peak_force",
                                         NULL};
static const char *const keys_hops[] = {"rsi",           "jump_height_flight", "contact_time",
                                        "flight_time",   "net_impulse",        "peak_force",
                                        "leg_stiffness", "landing_peak_force", NULL};
static const char *const keys_iso[] = {
    "peak_force", "peak_force_rel", "force_at_100",  "force_at_200", "rfd_0_100",
    "rfd_0_200",  "peak_rfd",       "impulse_0_200", "time_to_peak", NULL};
static const char *const keys_reps[] = {
    "peak_force",      "mean_force",         "con_rfd", "load_share_pct",
    "front_share_pct", "time_under_tension", NULL};
static const char *const keys_balance[] = {
    "weight_bearing_pct",  "mean_force", "cop_path_length", "cop_mean_velocity",
    "cop_ellipse_area_95", "cop_rms_x",  "cop_rms_y",       NULL};

static const char *const *
protocol_keys(StanceProtocol p)
{
  switch (p) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_SL_CMJ: return keys_jumps;
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: return keys_hops;
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT: return keys_iso;
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_SL_BALANCE:
  case STANCE_PROTO_WEIGH_IN: return keys_balance;
  case STANCE_PROTO_UNKNOWN: return keys_iso;
  default: return keys_reps;
  }
}

/* Readable names of the metrics the report shows; anything else prints its id. */
static const struct {
  const char *id;
  const char *label;
} metric_labels[] = {
    {"jump_height_impulse", "Jump height (impulse)"},
    {"jump_height_flight", "Jump height (flight time)"},
    {"net_impulse", "Net impulse"},
    {"propulsion_net_impulse", "Propulsive net impulse"},
    {"braking_net_impulse", "Braking net impulse"},
    {"peak_force", "Peak force"},
    {"peak_force_rel", "Peak force per kg"},
    {"peak_force_net", "Peak net force"},
    {"peak_rfd", "Peak RFD"},
    {"rsi_mod", "RSI modified"},
    {"rsi", "Reactive strength index"},
    {"landing_peak_force", "Peak landing force"},
    {"contact_time", "Contact time"},
    {"flight_time", "Flight time"},
    {"leg_stiffness", "Leg stiffness"},
    {"force_at_100", "Force at 100 ms"},
    {"force_at_200", "Force at 200 ms"},
    {"rfd_0_100", "RFD 0-100 ms"},
    {"rfd_0_200", "RFD 0-200 ms"},
    {"impulse_0_200", "Impulse 0-200 ms"},
    {"time_to_peak", "Time to peak force"},
    {"mean_force", "Mean force"},
    {"con_rfd", "Concentric RFD"},
    {"load_share_pct", "Load share"},
    {"front_share_pct", "Front-foot share"},
    {"time_under_tension", "Time under tension"},
    {"weight_bearing_pct", "Weight bearing"},
    {"cop_path_length", "CoP path length"},
    {"cop_mean_velocity", "CoP mean velocity"},
    {"cop_ellipse_area_95", "CoP 95 % ellipse area"},
    {"cop_rms_x", "CoP RMS, side to side"},
    {"cop_rms_y", "CoP RMS, front to back"},
};

static const char *
metric_label(const char *id)
{
  for (size_t i = 0; i < sizeof metric_labels / sizeof metric_labels[0]; i++)
    if (strcmp(metric_labels[i].id, id) == 0)
      return metric_labels[i].label;
  return id;
}

/* Display unit, scale and decimals of an SI unit (display only: heights in cm, times in ms). */
typedef struct {
  const char *unit;
  double scale;
  int dec;
} Display;

static Display
display_of(const char *unit)
{
  static const struct {
    const char *si;
    Display d;
  } table[] = {
      {"m", {"cm", 100.0, 1}},       {"s", {"ms", 1000.0, 0}},   {"N", {"N", 1.0, 1}},
      {"N/kg", {"N/kg", 1.0, 2}},    {"BW", {"BW", 1.0, 2}},     {"N/s", {"N/s", 1.0, 0}},
      {"N.s", {"N\u00b7s", 1.0, 2}}, {"m/s", {"m/s", 1.0, 3}},   {"W", {"W", 1.0, 0}},
      {"%", {"%", 1.0, 1}},          {"count", {"", 1.0, 0}},    {"mm", {"mm", 1.0, 1}},
      {"mm2", {"mm\u00b2", 1.0, 0}}, {"mm/s", {"mm/s", 1.0, 1}}, {"kN/m", {"kN/m", 1.0, 1}},
      {"ratio", {"", 1.0, 2}},       {"kg", {"kg", 1.0, 2}},     {"Hz", {"Hz", 1.0, 1}},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].si, unit) == 0)
      return table[i].d;
  Display d = {unit, 1.0, 3};
  return d;
}

/* ======================================================================================
 * Locale-independent numbers and dates
 * ====================================================================================== */

/* v with dec decimals (0-6), rounded half away from zero, through integers only: the decimal
 * point is always '.', whatever the locale. "-0.0" prints as "0.0". Magnitudes beyond 9e15 print
 * in scientific notation (d.ddde+NN). */
static const char *
fmt_num(double v, int dec, char *buf, size_t n)
{
  static const uint64_t p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  if (n == 0)
    return buf;
  if (!isfinite(v)) {
    snprintf(buf, n, "-");
    return buf;
  }
  if (dec < 0)
    dec = 0;
  if (dec > 6)
    dec = 6;
  bool neg = v < 0.0;
  double a = fabs(v);
  if (a * (double)p10[dec] >= 9.0e15) {
    int e = (int)floor(log10(a));
    double m = a / pow(10.0, e);
    uint64_t q = (uint64_t)llround(m * 1000.0);
    if (q >= 10000) {
      q /= 10;
      e++;
    }
    snprintf(buf, n, "%s%llu.%03llue%c%02d", neg ? "-" : "", (unsigned long long)(q / 1000),
             (unsigned long long)(q % 1000), e < 0 ? '-' : '+', abs(e));
    return buf;
  }
  uint64_t q = (uint64_t)llround(a * (double)p10[dec]);
  if (q == 0)
    neg = false;
  if (dec == 0)
    snprintf(buf, n, "%s%llu", neg ? "-" : "", (unsigned long long)q);
  else
    snprintf(buf, n, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)(q / p10[dec]), dec,
             (unsigned long long)(q % p10[dec]));
  return buf;
}

/* Local broken-down time of a unix time in ms. */
static bool
local_tm(int64_t unix_ms, struct tm *tm)
{
  int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  time_t t = (time_t)s;
  return localtime_r(&t, tm) != NULL;
}

/* "YYYY-MM-DD HH:MM" (with_zone: " (UTC+hh:mm)") in local time. */
static const char *
fmt_time(int64_t unix_ms, bool with_zone, char *buf, size_t n)
{
  struct tm tm;
  if (!local_tm(unix_ms, &tm)) {
    snprintf(buf, n, "unknown time");
    return buf;
  }
  int len = snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min);
  if (with_zone && len > 0 && (size_t)len < n) {
    long off = tm.tm_gmtoff / 60;
    snprintf(buf + len, n - (size_t)len, " (UTC%c%02ld:%02ld)", off < 0 ? '-' : '+', labs(off) / 60,
             labs(off) % 60);
  }
  return buf;
}

static const char *
fmt_date(int64_t unix_ms, char *buf, size_t n)
{
  struct tm tm;
  if (!local_tm(unix_ms, &tm))
    snprintf(buf, n, "unknown date");
  else
    snprintf(buf, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

static const char *
fmt_clock(int64_t unix_ms, char *buf, size_t n)
{
  struct tm tm;
  if (unix_ms == 0 || !local_tm(unix_ms, &tm))
    snprintf(buf, n, "-");
  else
    snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/* Parses "YYYY-MM-DD" strictly. */
static bool
parse_date(const char *s, int *y, int *m, int *d)
{
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return false;
  *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  *m = (s[5] - '0') * 10 + (s[6] - '0');
  *d = (s[8] - '0') * 10 + (s[9] - '0');
  return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* ======================================================================================
 * Colours and page geometry
 * ====================================================================================== */

typedef struct {
  double r, g, b;
} Rgb;

#define RGB8(R, G, B) ((Rgb){(R) / 255.0, (G) / 255.0, (B) / 255.0})

/* Left and right everywhere: a blue/orange pair that colour-blind readers tell apart (and that
 * differs in lightness, so it survives a grey-scale print). */
#define COL_LEFT RGB8(0, 114, 178)
#define COL_RIGHT RGB8(230, 97, 0)
#define COL_TOTAL RGB8(64, 64, 64)
/* Traffic lights; each dot is printed with its name beside it, so colour is never the only cue. */
#define COL_GREEN RGB8(26, 152, 80)
#define COL_AMBER RGB8(255, 176, 0)
#define COL_RED RGB8(204, 32, 39)
#define COL_TEXT RGB8(26, 26, 26)
#define COL_MUTED RGB8(96, 100, 108)
#define COL_RULE RGB8(176, 180, 186)
#define COL_GRID RGB8(226, 229, 233)
#define COL_HEAD_BG RGB8(238, 241, 245)
#define COL_ZEBRA RGB8(248, 249, 251)
#define COL_ACCENT RGB8(22, 58, 96)
#define COL_BAND RGB8(214, 226, 240)
#define COL_WARN RGB8(176, 96, 0)
#define COL_ERR RGB8(176, 24, 32)

#define PAGE_W 595.276
#define PAGE_H 841.89
#define MARGIN_X 51.0
#define CONTENT_W (PAGE_W - 2.0 * MARGIN_X)
#define PAGE_TOP 72.0               /* content starts here (below the running header) */
#define PAGE_BOTTOM (PAGE_H - 64.0) /* content ends here (above the footer) */
#define FONT "DejaVu Sans"

static Rgb
light_colour(StanceLight l)
{
  switch (l) {
  case STANCE_LIGHT_GREEN: return COL_GREEN;
  case STANCE_LIGHT_AMBER: return COL_AMBER;
  default: return COL_RED;
  }
}

/* ======================================================================================
 * The document: pages, text, measuring
 * ====================================================================================== */

/* One test: the trials of one protocol, bilateral or sided, one plate or two. */
typedef struct {
  StanceProtocol protocol;
  bool sided;     /* left-leg (front-foot) trials against right-leg ones */
  bool one_plate; /* COMBINED recordings: no left/right */
  size_t *idx;    /* report trial indices (every trial, rejected ones too), in number order */
  size_t n;
  size_t n_accepted;
  size_t *acc;   /* report trial indices of the accepted trials (their analyses are combined) */
  size_t *first; /* for each accepted trial: its first rep's index in comb->trials */
  StanceAnalysis *comb;
  const char *headline;
} Test;

typedef struct {
  cairo_surface_t *surf;
  cairo_t *cr;
  const StanceReport *r;
  bool dry;        /* counting pass: nothing needs to look right, only the breaks */
  int page;        /* current page, 1-based; 0 before the first */
  int total_pages; /* known in the real pass */
  double y;        /* the flow's cursor: top of the next block */
  /* Cleaned model strings (valid UTF-8, no control characters). */
  char *athlete, *place, *board, *calib, *sex, *injury_date, *injury_notes, *notes, *generator;
  int64_t generated_ms;
  char generated[40];
  char session_time[64];
  Test *tests;
  size_t n_tests;
  int oom;
} Doc;

/* s as valid UTF-8 with control characters as spaces (keep_newlines: '\n' stays); NULL -> "". */
static char *
clean_dup(const char *s, bool keep_newlines)
{
  if (!s)
    s = "";
  size_t n = strlen(s) * 3 + 1;
  char *buf = malloc(n);
  if (!buf)
    return NULL;
  const char *c = stance_utf8_clean(s, buf, n);
  if (c != buf)
    memmove(buf, c, strlen(c) + 1);
  for (char *p = buf; *p; p++) {
    unsigned char u = (unsigned char)*p;
    if (u == '\r' && keep_newlines && p[1] == '\n')
      *p = ' ';
    else if ((u < 0x20 && !(keep_newlines && u == '\n')) || u == 0x7f)
      *p = ' ';
  }
  return buf;
}

static void
set_rgb(Doc *d, Rgb c)
{
  cairo_set_source_rgb(d->cr, c.r, c.g, c.b);
}

static void
font(Doc *d, double size, bool bold)
{
  cairo_select_font_face(d->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(d->cr, size);
}

static double
text_w(Doc *d, const char *s)
{
  cairo_text_extents_t e;
  cairo_text_extents(d->cr, s, &e);
  return e.x_advance;
}

/* Width of s[0..len). */
static double
span_w(Doc *d, const char *s, size_t len)
{
  char small[512];
  char *b = len < sizeof small ? small : malloc(len + 1);
  if (!b) {
    d->oom = 1;
    return 0.0;
  }
  memcpy(b, s, len);
  b[len] = '\0';
  double w = text_w(d, b);
  if (b != small)
    free(b);
  return w;
}

typedef enum { AL_LEFT, AL_RIGHT, AL_CENTER } Align;

static void
text_at(Doc *d, double x, double y, const char *s, Align al)
{
  if (!s || !*s)
    return;
  double w = al == AL_LEFT ? 0.0 : text_w(d, s);
  if (al == AL_RIGHT)
    x -= w;
  else if (al == AL_CENTER)
    x -= w / 2.0;
  cairo_move_to(d->cr, x, y);
  cairo_show_text(d->cr, s);
}

/* Length of the UTF-8 character starting at s (1 for a stray byte). */
static size_t
u8len(const char *s)
{
  unsigned char c = (unsigned char)*s;
  size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  for (size_t i = 1; i < n; i++)
    if (!s[i])
      return i;
  return n;
}

/* Longest prefix of s[0..len) (on a character boundary, at least one character) whose width with
 * suffix appended is <= maxw. */
static size_t
fit_prefix(Doc *d, const char *s, size_t len, double maxw, const char *suffix)
{
  double sw = suffix ? text_w(d, suffix) : 0.0;
  /* Binary search over the character boundaries (widths only grow with the prefix). */
  size_t first = u8len(s);
  if (first > len)
    first = len;
  size_t lo = first, hi = len; /* lo: a prefix that is kept; hi: the longest candidate */
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    while (mid > lo && ((unsigned char)s[mid] & 0xc0) == 0x80)
      mid--; /* back to a character's first byte */
    if (mid == lo) {
      /* No boundary between lo and the middle: try the next character after lo. */
      mid = lo + u8len(s + lo);
      if (mid > hi)
        break;
    }
    if (span_w(d, s, mid) + sw <= maxw)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* s ellipsized to maxw into buf. */
static const char *
fit_text(Doc *d, const char *s, double maxw, char *buf, size_t n)
{
  size_t len = strlen(s);
  if (len < n && text_w(d, s) <= maxw) {
    memcpy(buf, s, len + 1);
    return buf;
  }
  size_t k = fit_prefix(d, s, len, maxw, "\u2026");
  while (k > 0 && s[k - 1] == ' ')
    k--;
  if (k + 4 > n)
    k = n > 4 ? n - 4 : 0;
  while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
    k--;
  memcpy(buf, s, k);
  memcpy(buf + k, "\u2026", 4); /* 3 bytes + NUL */
  return buf;
}

static void
text_fit(Doc *d, double x, double y, const char *s, double maxw, Align al)
{
  char buf[1024];
  text_at(d, x, y, fit_text(d, s, maxw, buf, sizeof buf), al);
}

/* Wrapped lines of a text: spans into the caller's string. */
typedef struct {
  const char *s;
  size_t len;
} Span;

typedef struct {
  Span *v;
  size_t n, cap;
} Lines;

static void
lines_push(Doc *d, Lines *l, const char *s, size_t len)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    Span *v = realloc(l->v, cap * sizeof *v);
    if (!v) {
      d->oom = 1;
      return;
    }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].s = s;
  l->v[l->n].len = len;
  l->n++;
}

/* Wraps s at spaces to maxw with the current font; '\n' starts a new line; a word wider than a
 * line is broken between characters. */
static void
wrap(Doc *d, const char *s, double maxw, Lines *out)
{
  out->n = 0;
  const char *p = s;
  while (true) {
    size_t plen = strcspn(p, "\n");
    const char *end = p + plen;
    const char *q = p;
    while (q < end && *q == ' ')
      q++;
    if (q == end)
      lines_push(d, out, q, 0);
    const char *ls = NULL, *le = NULL; /* the line being built */
    while (q < end) {
      const char *ws = q;
      while (q < end && *q != ' ')
        q++;
      /* A unit sign never starts a line: "10.0 %" stays together. */
      const char *nx = q;
      while (nx < end && *nx == ' ')
        nx++;
      if (nx < end && *nx == '%' &&
          (nx + 1 == end || nx[1] == ' ' || nx[1] == ',' || nx[1] == '.' || nx[1] == ';' ||
           nx[1] == ')')) {
        q = nx;
        while (q < end && *q != ' ')
          q++;
      }
      const char *we = q;
      while (q < end && *q == ' ')
        q++;
      if (ls && span_w(d, ls, (size_t)(we - ls)) <= maxw) {
        le = we;
        continue;
      }
      if (ls)
        lines_push(d, out, ls, (size_t)(le - ls));
      /* The word alone: break it while it is too wide. */
      while (span_w(d, ws, (size_t)(we - ws)) > maxw) {
        size_t k = fit_prefix(d, ws, (size_t)(we - ws), maxw, NULL);
        lines_push(d, out, ws, k);
        ws += k;
      }
      ls = ws;
      le = we;
    }
    if (ls)
      lines_push(d, out, ls, (size_t)(le - ls));
    if (!*end)
      break;
    p = end + 1;
  }
}

static void
draw_span(Doc *d, double x, double y, Span sp)
{
  if (sp.len == 0)
    return;
  char small[512];
  char *b = sp.len < sizeof small ? small : malloc(sp.len + 1);
  if (!b) {
    d->oom = 1;
    return;
  }
  memcpy(b, sp.s, sp.len);
  b[sp.len] = '\0';
  text_at(d, x, y, b, AL_LEFT);
  if (b != small)
    free(b);
}

/* ---- Pages ---- */

static void footer_and_header(Doc *d);

static void
new_page(Doc *d)
{
  if (d->page > 0)
    cairo_show_page(d->cr);
  d->page++;
  d->y = PAGE_TOP;
  footer_and_header(d);
}

/* Starts a new page unless h more points fit below the cursor. */
static void
need(Doc *d, double h)
{
  if (d->y + h > PAGE_BOTTOM)
    new_page(d);
}

static void
hrule(Doc *d, double x0, double x1, double y, double w, Rgb c)
{
  set_rgb(d, c);
  cairo_set_line_width(d->cr, w);
  cairo_move_to(d->cr, x0, y);
  cairo_line_to(d->cr, x1, y);
  cairo_stroke(d->cr);
}

static void
footer_and_header(Doc *d)
{
  char buf[256], pg[48];
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, PAGE_H - 44.0, 0.5, COL_RULE);
  font(d, 7.5, false);
  set_rgb(d, COL_MUTED);
  if (d->total_pages > 0)
    snprintf(pg, sizeof pg, "page %d of %d", d->page, d->total_pages);
  else
    snprintf(pg, sizeof pg, "page %d", d->page);
  snprintf(buf, sizeof buf, "%s - generated %s - %s", d->generator, d->generated, pg);
  text_fit(d, PAGE_W / 2.0, PAGE_H - 32.0, buf, CONTENT_W, AL_CENTER);
  if (d->page == 1)
    return;
  /* Running header: whose report, and which session. */
  font(d, 7.5, true);
  set_rgb(d, COL_ACCENT);
  double w = text_w(d, "Asymmetry report");
  text_at(d, MARGIN_X, 44.0, "Asymmetry report", AL_LEFT);
  font(d, 7.5, false);
  set_rgb(d, COL_MUTED);
  char right[96];
  snprintf(right, sizeof right, "Session %s", d->session_time);
  double rw = text_w(d, right);
  text_at(d, PAGE_W - MARGIN_X, 44.0, right, AL_RIGHT);
  set_rgb(d, COL_TEXT);
  text_fit(d, MARGIN_X + w + 10.0, 44.0, d->athlete, CONTENT_W - w - rw - 24.0, AL_LEFT);
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, 51.0, 0.5, COL_RULE);
}

/* A section heading: keeps at least keep points of what follows on the same page. */
static void
heading(Doc *d, const char *title, double keep)
{
  need(d, 24.0 + keep);
  d->y += 8.0;
  font(d, 10.5, true);
  set_rgb(d, COL_ACCENT);
  text_fit(d, MARGIN_X, d->y + 10.0, title, CONTENT_W, AL_LEFT);
  d->y += 16.0;
}

/* A wrapped paragraph at the cursor, breaking pages between lines. */
static void
paragraph(Doc *d, const char *s, double x, double maxw, double size, bool bold, Rgb c)
{
  Lines l = {0};
  font(d, size, bold);
  wrap(d, s, maxw, &l);
  double lh = size * 1.38;
  for (size_t i = 0; i < l.n; i++) {
    if (d->y + lh > PAGE_BOTTOM) {
      new_page(d);
      font(d, size, bold);
    }
    set_rgb(d, c);
    draw_span(d, x, d->y + size, l.v[i]);
    d->y += lh;
  }
  free(l.v);
}

static void
dot(Doc *d, double cx, double cy, double rad, Rgb c)
{
  set_rgb(d, c);
  cairo_new_sub_path(d->cr);
  cairo_arc(d->cr, cx, cy, rad, 0.0, 2.0 * M_PI);
  cairo_fill(d->cr);
}

/* A traffic light: the dot and its name. */
static void
light_cell(Doc *d, double x, double baseline, StanceLight l, double size)
{
  dot(d, x + 4.5, baseline - size * 0.35, 4.2, light_colour(l));
  font(d, size, false);
  set_rgb(d, COL_TEXT);
  text_at(d, x + 12.0, baseline, stance_light_name(l), AL_LEFT);
}

/* ======================================================================================
 * Tests: grouping and lookups
 * ====================================================================================== */

static bool
stats_ok(const StanceStats *s)
{
  return s->n > 0 && isfinite(s->mean);
}

static const StanceSummaryMetric *
summary_of(const StanceAnalysis *a, const char *id)
{
  if (!a)
    return NULL;
  for (size_t i = 0; i < a->n_summary; i++)
    if (strcmp(a->summary[i].id, id) == 0)
      return &a->summary[i];
  return NULL;
}

static const StanceMetric *
rep_metric(const StanceTrial *t, const char *id)
{
  for (size_t i = 0; i < t->n_metrics; i++)
    if (strcmp(t->metrics[i].id, id) == 0)
      return &t->metrics[i];
  return NULL;
}

static bool
analysis_sided(const StanceAnalysis *a)
{
  if (a->side == STANCE_SIDE_LEFT || a->side == STANCE_SIDE_RIGHT)
    return true;
  for (size_t i = 0; i < a->n_trials; i++)
    if (a->trials[i].side != STANCE_SIDE_BOTH)
      return true;
  const StanceProtocolInfo *info = stance_protocol_info(a->protocol);
  return info && info->needs_side;
}

static const char *
protocol_title(StanceProtocol p)
{
  const StanceProtocolInfo *info = stance_protocol_info(p);
  return info ? info->title : "Unknown protocol";
}

static StanceAsymFormula
resolved_formula(const StanceAnalysis *a)
{
  if (a->formula > STANCE_ASYM_DEFAULT && a->formula < STANCE_ASYM_COUNT)
    return a->formula;
  return stance_asym_default(a->protocol, a->involved);
}

static void
tests_free(Doc *d)
{
  for (size_t i = 0; i < d->n_tests; i++) {
    free(d->tests[i].idx);
    free(d->tests[i].acc);
    free(d->tests[i].first);
    stance_analysis_free(d->tests[i].comb);
  }
  free(d->tests);
  d->tests = NULL;
  d->n_tests = 0;
}

static int
build_tests(Doc *d, StanceError *err)
{
  const StanceReport *r = d->r;
  d->tests = calloc(r->n_trials ? r->n_trials : 1, sizeof *d->tests);
  if (!d->tests)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory grouping the trials into tests");
  /* Trials in number order; each joins the first test of its kind or starts one. */
  size_t *order = malloc((r->n_trials ? r->n_trials : 1) * sizeof *order);
  if (!order)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory grouping the trials into tests");
  for (size_t i = 0; i < r->n_trials; i++)
    order[i] = i;
  for (size_t i = 1; i < r->n_trials; i++) { /* insertion sort: stable, small n */
    size_t v = order[i], j = i;
    while (j > 0 && r->trials[order[j - 1]].number > r->trials[v].number) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
  for (size_t k = 0; k < r->n_trials; k++) {
    size_t i = order[k];
    const StanceAnalysis *a = r->trials[i].an;
    bool sided = analysis_sided(a), one = a->layout == STANCE_LAYOUT_COMBINED;
    Test *t = NULL;
    for (size_t j = 0; j < d->n_tests; j++)
      if (d->tests[j].protocol == a->protocol && d->tests[j].sided == sided &&
          d->tests[j].one_plate == one)
        t = &d->tests[j];
    if (!t) {
      t = &d->tests[d->n_tests++];
      t->protocol = a->protocol;
      t->sided = sided;
      t->one_plate = one;
      t->headline = stance_report_headline_metric(a->protocol);
      t->idx = malloc(r->n_trials * sizeof *t->idx);
      t->acc = malloc(r->n_trials * sizeof *t->acc);
      t->first = malloc(r->n_trials * sizeof *t->first);
      if (!t->idx || !t->acc || !t->first) {
        free(order);
        return stance_error_set(err, STANCE_ENOMEM, "out of memory grouping the trials");
      }
    }
    t->idx[t->n++] = i;
    if (r->trials[i].accepted)
      t->acc[t->n_accepted++] = i;
  }
  free(order);
  for (size_t j = 0; j < d->n_tests; j++) {
    Test *t = &d->tests[j];
    if (t->n_accepted == 0)
      continue;
    StanceAnalysis **as = malloc(t->n_accepted * sizeof *as);
    if (!as)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory combining the trials");
    size_t reps = 0;
    for (size_t k = 0; k < t->n_accepted; k++) {
      as[k] = (StanceAnalysis *)r->trials[t->acc[k]].an;
      t->first[k] = reps;
      reps += as[k]->n_trials;
    }
    t->comb = stance_analysis_combine(as, t->n_accepted);
    free(as);
    if (!t->comb)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory combining the %s trials",
                              stance_protocol_name(t->protocol));
  }
  return STANCE_OK;
}

/* Which accepted trial (index into t->acc) holds combined rep k, and the rep's index in it. */
static size_t
rep_owner(const Test *t, size_t k, size_t *rep_in_trial)
{
  size_t o = 0;
  for (size_t i = 0; i < t->n_accepted; i++)
    if (t->first[i] <= k)
      o = i;
  if (rep_in_trial)
    *rep_in_trial = k - t->first[o];
  return o;
}

/* The value of a rep's metric that stands for it: its stance limb's in a sided test, else the
 * total (or the only limb). */
static bool
rep_value(const Test *t, const StanceTrial *rep, const char *id, double *v)
{
  const StanceMetric *m = rep_metric(rep, id);
  if (!m)
    return false;
  if (t->sided) {
    if (rep->side == STANCE_SIDE_LEFT)
      return stance_metric_get(m, STANCE_SEL_LEFT, v);
    if (rep->side == STANCE_SIDE_RIGHT)
      return stance_metric_get(m, STANCE_SEL_RIGHT, v);
  }
  return stance_metric_get(m, STANCE_SEL_TOTAL, v) || stance_metric_get(m, STANCE_SEL_LEFT, v) ||
         stance_metric_get(m, STANCE_SEL_RIGHT, v);
}

/* The rep nearest the median headline value among reps of side s (BOTH: every rep); -1 when
 * none has a value. */
static long
median_rep(const Test *t, StanceSide s)
{
  const StanceAnalysis *c = t->comb;
  if (!c || c->n_trials == 0)
    return -1;
  double *v = malloc(c->n_trials * sizeof *v);
  size_t *ix = malloc(c->n_trials * sizeof *ix);
  if (!v || !ix) {
    free(v);
    free(ix);
    return -1;
  }
  size_t n = 0;
  for (size_t i = 0; i < c->n_trials; i++) {
    if (s != STANCE_SIDE_BOTH && c->trials[i].side != s)
      continue;
    double x;
    if (rep_value(t, &c->trials[i], t->headline, &x)) {
      v[n] = x;
      ix[n] = i;
      n++;
    }
  }
  long best = -1;
  if (n > 0) {
    /* Sort a copy of the values and take the lower middle one. */
    double *sv = malloc(n * sizeof *sv);
    if (sv) {
      memcpy(sv, v, n * sizeof *sv);
      for (size_t i = 1; i < n; i++) {
        double x = sv[i];
        size_t j = i;
        while (j > 0 && sv[j - 1] > x) {
          sv[j] = sv[j - 1];
          j--;
        }
        sv[j] = x;
      }
      double med = sv[(n - 1) / 2];
      for (size_t i = 0; i < n; i++)
        if (v[i] == med) {
          best = (long)ix[i];
          break;
        }
      free(sv);
    }
  } else if (s == STANCE_SIDE_BOTH || t->sided) {
    /* No headline values: the first rep of that side still shows the force. */
    for (size_t i = 0; i < c->n_trials; i++)
      if (s == STANCE_SIDE_BOTH || c->trials[i].side == s) {
        best = (long)i;
        break;
      }
  }
  free(v);
  free(ix);
  return best;
}

/* What a rep is called, plural ("jumps", "reps", ...). */
static const char *
kind_plural(const char *kind, size_t n)
{
  static const struct {
    const char *k, *one, *many;
  } names[] = {{"jump", "jump", "jumps"}, {"hop", "hop", "hops"},       {"rep", "rep", "reps"},
               {"hold", "hold", "holds"}, {"stand", "stand", "stands"}, {"set", "set", "sets"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(names[i].k, kind) == 0)
      return n == 1 ? names[i].one : names[i].many;
  return n == 1 ? "repetition" : "repetitions";
}

static const char *
test_kind(const Test *t)
{
  if (t->comb && t->comb->n_trials > 0)
    return t->comb->trials[0].kind;
  /* No repetitions found: what the protocol's would be called. */
  switch (t->protocol) {
  case STANCE_PROTO_CMJ:
  case STANCE_PROTO_SJ:
  case STANCE_PROTO_DJ:
  case STANCE_PROTO_SL_CMJ: return "jump";
  case STANCE_PROTO_SL_HOP:
  case STANCE_PROTO_POGO: return "hop";
  case STANCE_PROTO_IMTP:
  case STANCE_PROTO_ISO_SQUAT: return "hold";
  case STANCE_PROTO_QUIET_STANDING:
  case STANCE_PROTO_SL_BALANCE:
  case STANCE_PROTO_WEIGH_IN: return "stand";
  default: return "rep";
  }
}

static const char *
side_word(StanceSide s)
{
  return s == STANCE_SIDE_LEFT ? "left" : s == STANCE_SIDE_RIGHT ? "right" : "even";
}

/* "left leg" / "front foot left" / ... for the test's protocol. */
static const char *
limb_text(const Test *t, StanceSide s, char *buf, size_t n)
{
  return stance_side_text(buf, n, t->protocol, s);
}

/* The limb's role without the side word: "leg", "front foot", "stepping leg". */
static const char *
limb_role(const Test *t, StanceSide s, char *buf, size_t n)
{
  char full[64];
  limb_text(t, s, full, sizeof full);
  const char *w = s == STANCE_SIDE_LEFT ? "left" : "right";
  size_t wl = strlen(w), fl = strlen(full);
  if (strncmp(full, w, wl) == 0 && full[wl] == ' ')
    snprintf(buf, n, "%s", full + wl + 1);
  else if (fl > wl + 1 && strcmp(full + fl - wl, w) == 0 && full[fl - wl - 1] == ' ')
    snprintf(buf, n, "%.*s", (int)(fl - wl - 1), full);
  else
    snprintf(buf, n, "%s", full);
  return buf;
}

/* "bilateral", "left vs right leg", "left vs right leading", "single plate". */
static const char *
test_variant(const Test *t)
{
  if (t->one_plate)
    return "single plate";
  if (!t->sided)
    return "bilateral";
  return stance_protocol_is_split_stance(t->protocol) ? "left vs right leading"
                                                      : "left vs right leg";
}

/* The test's title: "Countermovement jump, bilateral", "..., left vs right leg", ... */
static void
test_title(const Test *t, char *buf, size_t n)
{
  snprintf(buf, n, "%s, %s", protocol_title(t->protocol), test_variant(t));
}

/* ======================================================================================
 * Page 1: header and summary
 * ====================================================================================== */

static const char *
side_or(StanceSide s, const char *none)
{
  return s == STANCE_SIDE_LEFT ? "left" : s == STANCE_SIDE_RIGHT ? "right" : none;
}

/* One "label  value" line of the info block; returns its height. */
static double
info_line(Doc *d, double x, double y, double w, const char *label, const char *value, bool bold)
{
  font(d, 8.0, false);
  set_rgb(d, COL_MUTED);
  text_at(d, x, y + 8.0, label, AL_LEFT);
  font(d, 8.5, bold);
  set_rgb(d, COL_TEXT);
  Lines l = {0};
  wrap(d, value, w - 78.0, &l);
  for (size_t i = 0; i < l.n; i++)
    draw_span(d, x + 78.0, y + 8.5 + (double)i * 11.5, l.v[i]);
  double h = (l.n ? (double)l.n : 1.0) * 11.5 + 2.0;
  free(l.v);
  return h;
}

typedef struct {
  const char *label;
  char value[320];
  bool bold;
} InfoItem;

static void
header_block(Doc *d)
{
  const StanceReport *r = d->r;
  char b1[64], b2[64];
  /* Title band. */
  font(d, 19.0, true);
  set_rgb(d, COL_ACCENT);
  text_at(d, MARGIN_X, 50.0, "Inter-limb asymmetry report", AL_LEFT);
  font(d, 9.0, false);
  set_rgb(d, COL_MUTED);
  text_at(d, MARGIN_X, 64.0, "Force-plate assessment: left against right", AL_LEFT);
  font(d, 8.0, false);
  text_at(d, PAGE_W - MARGIN_X, 50.0, "Session", AL_RIGHT);
  font(d, 10.0, true);
  set_rgb(d, COL_TEXT);
  text_at(d, PAGE_W - MARGIN_X, 64.0, fmt_time(r->session_unix_ms, false, b1, sizeof b1), AL_RIGHT);
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, 74.0, 1.6, COL_ACCENT);
  d->y = 86.0;

  /* Athlete (left column) and session (right column). */
  InfoItem ath[8], ses[8];
  size_t na = 0, ns = 0;
  ath[na] = (InfoItem){"Athlete", "", true};
  snprintf(ath[na++].value, sizeof ath[0].value, "%s", d->athlete[0] ? d->athlete : "(no name)");
  int by, bm, bd;
  ath[na] = (InfoItem){"Born", "", false};
  if (r->birth_date && parse_date(r->birth_date, &by, &bm, &bd)) {
    if (r->birth_year_only) {
      snprintf(ath[na].value, sizeof ath[0].value, "born %04d (pseudonymised)", by);
    } else {
      struct tm tm;
      int age = -1;
      if (r->session_unix_ms != 0 && local_tm(r->session_unix_ms, &tm)) {
        age = tm.tm_year + 1900 - by;
        if (tm.tm_mon + 1 < bm || (tm.tm_mon + 1 == bm && tm.tm_mday < bd))
          age--;
      }
      if (age >= 0)
        snprintf(ath[na].value, sizeof ath[0].value, "%s (age %d at the session)", r->birth_date,
                 age);
      else
        snprintf(ath[na].value, sizeof ath[0].value, "%s", r->birth_date);
    }
  } else if (r->birth_date && r->birth_date[0]) {
    char *c = clean_dup(r->birth_date, false);
    snprintf(ath[na].value, sizeof ath[0].value, "%s (not a YYYY-MM-DD date)", c ? c : "");
    free(c);
  } else {
    snprintf(ath[na].value, sizeof ath[0].value, "not recorded");
  }
  na++;
  ath[na] = (InfoItem){"Sex", "", false};
  snprintf(ath[na++].value, sizeof ath[0].value, "%s", d->sex[0] ? d->sex : "not recorded");
  ath[na] = (InfoItem){"Body mass", "", false};
  if (r->body_mass_kg > 0.0)
    snprintf(ath[na++].value, sizeof ath[0].value, "%s kg",
             fmt_num(r->body_mass_kg, 1, b1, sizeof b1));
  else
    snprintf(ath[na++].value, sizeof ath[0].value, "not recorded");
  ath[na] = (InfoItem){"Dominant limb", "", false};
  snprintf(ath[na++].value, sizeof ath[0].value, "%s", side_or(r->dominant, "not recorded"));
  ath[na] = (InfoItem){"Involved limb", "", false};
  snprintf(ath[na++].value, sizeof ath[0].value, "%s", side_or(r->involved, "none"));
  ath[na] = (InfoItem){"Injury date", "", false};
  snprintf(ath[na++].value, sizeof ath[0].value, "%s",
           d->injury_date[0] ? d->injury_date : "none recorded");

  size_t n_rej = 0, n_int = 0;
  for (size_t i = 0; i < r->n_trials; i++) {
    n_rej += !r->trials[i].accepted;
    n_int += r->trials[i].interrupted;
  }
  ses[ns] = (InfoItem){"Date", "", true};
  snprintf(ses[ns++].value, sizeof ses[0].value, "%s", d->session_time);
  ses[ns] = (InfoItem){"Place", "", false};
  snprintf(ses[ns++].value, sizeof ses[0].value, "%s", d->place[0] ? d->place : "not recorded");
  ses[ns] = (InfoItem){"Force plates", "", false};
  snprintf(ses[ns++].value, sizeof ses[0].value, "%s",
           d->board[0] ? d->board : "not from a Stance board");
  ses[ns] = (InfoItem){"Calibration", "", false};
  snprintf(ses[ns++].value, sizeof ses[0].value, "%s", d->calib[0] ? d->calib : "none recorded");
  ses[ns] = (InfoItem){"Trials", "", false};
  snprintf(ses[ns].value, sizeof ses[0].value, "%zu in %zu test%s", r->n_trials, d->n_tests,
           d->n_tests == 1 ? "" : "s");
  if (n_rej || n_int) {
    size_t len = strlen(ses[ns].value);
    snprintf(ses[ns].value + len, sizeof ses[0].value - len, " (%zu rejected, %zu interrupted)",
             n_rej, n_int);
  }
  ns++;
  ses[ns] = (InfoItem){"Light bands", "", false};
  snprintf(ses[ns++].value, sizeof ses[0].value, "green < %s %%, red > %s %%",
           fmt_num(r->green_below_pct, 1, b1, sizeof b1),
           fmt_num(r->red_above_pct, 1, b2, sizeof b2));

  double colw = (CONTENT_W - 20.0) / 2.0;
  double yl = d->y, yr = d->y;
  for (size_t i = 0; i < na; i++)
    yl += info_line(d, MARGIN_X, yl, colw, ath[i].label, ath[i].value, ath[i].bold);
  for (size_t i = 0; i < ns; i++)
    yr += info_line(d, MARGIN_X + colw + 20.0, yr, colw, ses[i].label, ses[i].value, ses[i].bold);
  d->y = fmax(yl, yr) + 2.0;
  if (d->injury_notes[0]) {
    font(d, 8.0, false);
    set_rgb(d, COL_MUTED);
    text_at(d, MARGIN_X, d->y + 8.0, "Injury notes", AL_LEFT);
    paragraph(d, d->injury_notes, MARGIN_X + 78.0, CONTENT_W - 78.0, 8.5, false, COL_TEXT);
  }
  d->y += 4.0;
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.5, COL_RULE);
  d->y += 4.0;
}

/* ---- table helpers ---- */

typedef struct {
  const char *title;
  double w;
  Align al;
  Rgb swatch; /* a coloured square before the title when has_swatch */
  bool has_swatch;
  const char *sub; /* a second, smaller header line (e.g. the formula's name), or NULL */
} Col;

/* Header height: two lines when a column has a sub-title. */
static double
header_h(const Col *cols, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (cols[i].sub)
      return 23.0;
  return 16.0;
}

static void
table_header(Doc *d, const Col *cols, size_t n)
{
  double h = header_h(cols, n);
  set_rgb(d, COL_HEAD_BG);
  cairo_rectangle(d->cr, MARGIN_X, d->y, CONTENT_W, h);
  cairo_fill(d->cr);
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.8, COL_TEXT);
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y + h, 0.5, COL_RULE);
  double base = d->y + 10.7;
  double x = MARGIN_X;
  for (size_t i = 0; i < n; i++) {
    const Col *c = &cols[i];
    double pad = 4.0, tx = c->al == AL_LEFT    ? x + pad
                           : c->al == AL_RIGHT ? x + c->w - pad
                                               : x + c->w / 2.0;
    double maxw = c->w - 2.0 * pad;
    font(d, 7.0, true);
    if (c->has_swatch) {
      double tw = fmin(text_w(d, c->title), maxw - 9.0);
      double sx = c->al == AL_RIGHT ? tx - tw - 9.0 : c->al == AL_LEFT ? tx : tx - tw / 2 - 4.5;
      set_rgb(d, c->swatch);
      cairo_rectangle(d->cr, sx, base - 6.0, 6.0, 6.0);
      cairo_fill(d->cr);
      if (c->al == AL_LEFT)
        tx += 9.0;
      else if (c->al == AL_CENTER)
        tx += 4.5;
      maxw -= 9.0;
    }
    set_rgb(d, COL_TEXT);
    text_fit(d, tx, base, c->title, maxw, c->al);
    if (c->sub) {
      font(d, 6.5, false);
      set_rgb(d, COL_MUTED);
      text_fit(d, tx, base + 8.5, c->sub, maxw, c->al);
    }
    x += c->w;
  }
  d->y += h;
}

/* Gives the last column what the others leave of the content width. */
static void
fill_last(Col *cols, size_t n)
{
  double used = 0.0;
  for (size_t i = 0; i + 1 < n; i++)
    used += cols[i].w;
  cols[n - 1].w = CONTENT_W - used;
}

/* Cell text (ellipsized to the column) at baseline y. */
static void
cell(Doc *d, const Col *cols, size_t i, double y, const char *s)
{
  double x = MARGIN_X;
  for (size_t k = 0; k < i; k++)
    x += cols[k].w;
  const Col *c = &cols[i];
  double pad = 4.0;
  double tx = c->al == AL_LEFT ? x + pad : c->al == AL_RIGHT ? x + c->w - pad : x + c->w / 2.0;
  text_fit(d, tx, y, s, c->w - 2.0 * pad, c->al);
}

static double
col_x(const Col *cols, size_t i)
{
  double x = MARGIN_X;
  for (size_t k = 0; k < i; k++)
    x += cols[k].w;
  return x;
}

static void
zebra(Doc *d, double h, size_t row)
{
  if (row % 2 == 1) {
    set_rgb(d, COL_ZEBRA);
    cairo_rectangle(d->cr, MARGIN_X, d->y, CONTENT_W, h);
    cairo_fill(d->cr);
  }
}

/* The asymmetry of a summary metric as shown: "-3.2 %" or "91.0 %" (LSI). */
static const char *
asym_text(const StanceAsymValue *a, char *buf, size_t n)
{
  char v[48];
  snprintf(buf, n, "%s %%", fmt_num(a->value, 1, v, sizeof v));
  return buf;
}

/* Mean of a stats slot in display units, or "-". */
static const char *
stat_text(const StanceStats *s, const Display *dp, char *buf, size_t n)
{
  if (!stats_ok(s)) {
    snprintf(buf, n, "-");
    return buf;
  }
  return fmt_num(s->mean * dp->scale, dp->dec, buf, n);
}

/* Why a test's headline has no asymmetry (short, for the summary line). */
static const char *
no_asym_reason(const Test *t, const StanceSummaryMetric *sm)
{
  if (t->one_plate)
    return "single plate: no left/right";
  if (!t->comb)
    return "no accepted trials";
  if (t->comb->n_trials == 0)
    return "no repetitions found";
  if (!sm)
    return "metric not measured";
  if (t->sided) {
    if (!(sm->has & STANCE_HAS_LEFT) && !(sm->has & STANCE_HAS_RIGHT))
      return "no values";
    if (!(sm->has & STANCE_HAS_LEFT))
      return "no left-side trials";
    if (!(sm->has & STANCE_HAS_RIGHT))
      return "no right-side trials";
  } else if (!(sm->has & STANCE_HAS_LEFT) || !(sm->has & STANCE_HAS_RIGHT)) {
    return "no per-limb values";
  }
  /* Both limbs there: the analysis gives no asymmetry for this metric (CoP measures: lower is
   * steadier, compare the values), or the formula is undefined for the values. */
  for (size_t i = 0; i < t->comb->n_trials; i++) {
    const StanceMetric *m = rep_metric(&t->comb->trials[i], sm->id);
    if (m && m->no_asym)
      return "compare the values (no asymmetry index)";
  }
  return "formula undefined for these values";
}

static void
summary_section(Doc *d)
{
  const StanceReport *r = d->r;
  heading(d, "Summary", 60.0);
  font(d, 8.0, false);
  set_rgb(d, COL_MUTED);
  paragraph(d,
            "One line per test: the headline metric's left and right means over the accepted "
            "trials, its asymmetry and traffic light. Each test has its own page with the key "
            "metrics, the force-time curves and the repetitions.",
            MARGIN_X, CONTENT_W, 8.0, false, COL_MUTED);
  d->y += 4.0;
  Col cols[] = {
      {"Test", 166.0, AL_LEFT, {0}, false, NULL},
      {"Headline metric", 97.0, AL_LEFT, {0}, false, NULL},
      {"Left", 44.0, AL_RIGHT, COL_LEFT, true, NULL},
      {"Right", 44.0, AL_RIGHT, COL_RIGHT, true, NULL},
      {"Asymmetry", 53.0, AL_RIGHT, {0}, false, NULL},
      {"Stronger", 43.0, AL_CENTER, {0}, false, NULL},
      {"Light", 0.0, AL_LEFT, {0}, false, NULL},
  };
  size_t nc = sizeof cols / sizeof cols[0];
  fill_last(cols, nc);
  if (d->n_tests == 0) {
    paragraph(d, "No trials in this session.", MARGIN_X, CONTENT_W, 9.0, false, COL_TEXT);
    return;
  }
  need(d, 18.0 + 26.0);
  table_header(d, cols, nc);
  for (size_t j = 0; j < d->n_tests; j++) {
    const Test *t = &d->tests[j];
    double rh = 26.0;
    if (d->y + rh > PAGE_BOTTOM) {
      new_page(d);
      table_header(d, cols, nc);
    }
    zebra(d, rh, j);
    double b1 = d->y + 11.0, b2 = d->y + 21.0;
    char sub[160], l[48], rr[48], as[48], lab[96];
    font(d, 8.0, true);
    set_rgb(d, COL_TEXT);
    cell(d, cols, 0, b1, protocol_title(t->protocol));
    size_t reps = t->comb ? t->comb->n_trials : 0;
    snprintf(sub, sizeof sub, "%s: %zu trial%s, %zu %s", test_variant(t), t->n_accepted,
             t->n_accepted == 1 ? "" : "s", reps, kind_plural(test_kind(t), reps));
    if (t->n > t->n_accepted) {
      size_t len = strlen(sub);
      snprintf(sub + len, sizeof sub - len, "; %zu rejected", t->n - t->n_accepted);
    }
    font(d, 7.0, false);
    set_rgb(d, COL_MUTED);
    cell(d, cols, 0, b2, sub);

    const StanceSummaryMetric *sm = summary_of(t->comb, t->headline);
    Display dp = display_of(sm ? sm->unit : "");
    font(d, 8.0, false);
    set_rgb(d, COL_TEXT);
    cell(d, cols, 1, b1, metric_label(t->headline));
    font(d, 7.0, false);
    set_rgb(d, COL_MUTED);
    if (sm && dp.unit[0])
      cell(d, cols, 1, b2, dp.unit);
    font(d, 8.0, false);
    set_rgb(d, COL_TEXT);
    if (t->one_plate || !sm) {
      /* One plate: the total instead of the limbs. */
      if (sm && stats_ok(&sm->total) && t->one_plate) {
        /* The total spans the two limb columns. */
        snprintf(lab, sizeof lab, "total %s", stat_text(&sm->total, &dp, l, sizeof l));
        double x1 = col_x(cols, 4) - 4.0;
        text_fit(d, x1, b1, lab, cols[2].w + cols[3].w - 8.0, AL_RIGHT);
      } else {
        cell(d, cols, 2, b1, "-");
        cell(d, cols, 3, b1, "-");
      }
    } else {
      cell(d, cols, 2, b1,
           (sm->has & STANCE_HAS_LEFT) ? stat_text(&sm->left, &dp, l, sizeof l) : "-");
      cell(d, cols, 3, b1,
           (sm->has & STANCE_HAS_RIGHT) ? stat_text(&sm->right, &dp, rr, sizeof rr) : "-");
    }
    if (sm && sm->has_asym && !t->one_plate) {
      font(d, 8.0, true);
      cell(d, cols, 4, b1, asym_text(&sm->asym, as, sizeof as));
      font(d, 7.0, false);
      set_rgb(d, COL_MUTED);
      cell(d, cols, 4, b2, sm->asym.formula_id);
      font(d, 8.0, false);
      set_rgb(d, COL_TEXT);
      cell(d, cols, 5, b1, side_word(sm->asym.stronger));
      StanceLight li = stance_report_light(sm->asym.formula_id, sm->asym.value, r->green_below_pct,
                                           r->red_above_pct);
      light_cell(d, col_x(cols, 6) + 4.0, b1, li, 8.0);
    } else {
      font(d, 7.5, false);
      set_rgb(d, COL_MUTED);
      /* The reason spans the asymmetry, stronger and light columns. */
      double x = col_x(cols, 4) + 4.0;
      text_fit(d, x, b1, no_asym_reason(t, sm), PAGE_W - MARGIN_X - x - 2.0, AL_LEFT);
    }
    d->y += rh;
    hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.3, COL_GRID);
  }
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.8, COL_TEXT);
  d->y += 6.0;
}

static void
legend_section(Doc *d)
{
  const StanceReport *r = d->r;
  char g[32], rd[32], line[256];
  fmt_num(r->green_below_pct, 1, g, sizeof g);
  fmt_num(r->red_above_pct, 1, rd, sizeof rd);
  heading(d, "How to read this report", 90.0);
  need(d, 16.0);
  /* The three lights in a row. */
  double x = MARGIN_X;
  const char *texts[3];
  char t0[96], t1[96], t2[96];
  snprintf(t0, sizeof t0, "green: below %s %%", g);
  snprintf(t1, sizeof t1, "amber: %s to %s %%", g, rd);
  snprintf(t2, sizeof t2, "red: above %s %%", rd);
  texts[0] = t0;
  texts[1] = t1;
  texts[2] = t2;
  for (int i = 0; i < 3; i++) {
    dot(d, x + 4.5, d->y + 5.5, 4.2, light_colour((StanceLight)i));
    font(d, 8.5, false);
    set_rgb(d, COL_TEXT);
    text_at(d, x + 12.0, d->y + 8.5, texts[i], AL_LEFT);
    x += 12.0 + text_w(d, texts[i]) + 22.0;
  }
  /* Limb colours. */
  font(d, 8.5, false);
  double lx = PAGE_W - MARGIN_X - text_w(d, "Right") - 12.0 - text_w(d, "Left") - 24.0;
  if (lx > x) {
    set_rgb(d, COL_LEFT);
    cairo_rectangle(d->cr, lx, d->y + 2.5, 8.0, 6.0);
    cairo_fill(d->cr);
    set_rgb(d, COL_TEXT);
    text_at(d, lx + 11.0, d->y + 8.5, "Left", AL_LEFT);
    lx += 11.0 + text_w(d, "Left") + 13.0;
    set_rgb(d, COL_RIGHT);
    cairo_rectangle(d->cr, lx, d->y + 2.5, 8.0, 6.0);
    cairo_fill(d->cr);
    set_rgb(d, COL_TEXT);
    text_at(d, lx + 11.0, d->y + 8.5, "Right", AL_LEFT);
  }
  d->y += 16.0;
  snprintf(line, sizeof line,
           "Traffic light: the distance from symmetry is |asymmetry| (|100 - LSI| for the limb "
           "symmetry index); below %s %% is green, above %s %% red, in between amber.",
           g, rd);
  const char *items[] = {
      line,
      "Asymmetry compares the left and right values of one metric by the formula named under "
      "each table (lr_sum and the other signed formulas: positive when the left value is larger). "
      "The stronger limb is the one with the larger value; for times (contact, time to peak) a "
      "larger value is not better, so read the values too.",
      "Single-leg and split-stance tests compare the left-leg (left-leading) trials with the "
      "right-leg ones; bilateral tests compare both legs within each repetition.",
      "Trends: the headline asymmetry of each session; the shaded band is the first session's "
      "value plus or minus its MDC95 (minimal detectable change): a later point outside the band "
      "is a real change, one inside it may be measurement noise.",
      "Rejected trials are listed and marked but left out of every figure; interrupted trials "
      "(a recording cut short and recovered) are marked and used with what was recorded.",
  };
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
    need(d, 12.0);
    dot(d, MARGIN_X + 3.0, d->y + 5.0, 1.4, COL_MUTED);
    paragraph(d, items[i], MARGIN_X + 10.0, CONTENT_W - 10.0, 8.0, false, COL_TEXT);
    d->y += 1.5;
  }
}

/* ======================================================================================
 * Plots
 * ====================================================================================== */

/* Tick step of about n ticks over [lo, hi]: 1, 2 or 5 x 10^k. */
static double
nice_step(double lo, double hi, int n)
{
  double span = hi - lo;
  if (!(span > 0.0) || !isfinite(span))
    return 1.0;
  double raw = span / n;
  double p = pow(10.0, floor(log10(raw)));
  double f = raw / p;
  double m = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
  return m * p;
}

static int
step_decimals(double step)
{
  int dec = (int)ceil(-log10(step) - 1e-9);
  return dec < 0 ? 0 : dec > 4 ? 4 : dec;
}

typedef struct {
  double x0, y0, w, h; /* plot area (inside the axes) */
  double xmin, xmax, ymin, ymax;
} Plot;

static double
px(const Plot *p, double x)
{
  return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}

static double
py(const Plot *p, double y)
{
  return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

/* Widens [lo, hi] to tick multiples (and to a non-empty range). */
static void
nice_range(double *lo, double *hi, int n)
{
  if (!(*hi > *lo)) {
    double c = *lo, a = fabs(c) > 1e-9 ? fabs(c) * 0.1 : 1.0;
    *lo = c - a;
    *hi = c + a;
  }
  double s = nice_step(*lo, *hi, n);
  *lo = floor(*lo / s + 1e-9) * s;
  *hi = ceil(*hi / s - 1e-9) * s;
}

/* Grid, axes, ticks and labels. x_ticks false: the caller labels x itself. */
static void
plot_axes(Doc *d, const Plot *p, const char *xlabel, const char *ylabel, bool x_ticks)
{
  cairo_t *cr = d->cr;
  char buf[48];
  double ys = nice_step(p->ymin, p->ymax, 5);
  int ydec = step_decimals(ys);
  font(d, 7.0, false);
  for (double v = ceil(p->ymin / ys - 1e-9) * ys; v <= p->ymax + ys * 1e-6; v += ys) {
    double y = py(p, v);
    hrule(d, p->x0, p->x0 + p->w, y, 0.4, COL_GRID);
    hrule(d, p->x0 - 3.0, p->x0, y, 0.6, COL_TEXT);
    set_rgb(d, COL_MUTED);
    text_at(d, p->x0 - 5.0, y + 2.5, fmt_num(fabs(v) < ys * 1e-6 ? 0.0 : v, ydec, buf, sizeof buf),
            AL_RIGHT);
  }
  if (x_ticks) {
    double xs = nice_step(p->xmin, p->xmax, 8);
    int xdec = step_decimals(xs);
    for (double v = ceil(p->xmin / xs - 1e-9) * xs; v <= p->xmax + xs * 1e-6; v += xs) {
      double x = px(p, v);
      set_rgb(d, COL_GRID);
      cairo_set_line_width(cr, 0.4);
      cairo_move_to(cr, x, p->y0);
      cairo_line_to(cr, x, p->y0 + p->h);
      cairo_stroke(cr);
      set_rgb(d, COL_TEXT);
      cairo_set_line_width(cr, 0.6);
      cairo_move_to(cr, x, p->y0 + p->h);
      cairo_line_to(cr, x, p->y0 + p->h + 3.0);
      cairo_stroke(cr);
      set_rgb(d, COL_MUTED);
      text_at(d, x, p->y0 + p->h + 11.0,
              fmt_num(fabs(v) < xs * 1e-6 ? 0.0 : v, xdec, buf, sizeof buf), AL_CENTER);
    }
  }
  /* The axes themselves. */
  set_rgb(d, COL_TEXT);
  cairo_set_line_width(cr, 0.7);
  cairo_move_to(cr, p->x0, p->y0);
  cairo_line_to(cr, p->x0, p->y0 + p->h);
  cairo_line_to(cr, p->x0 + p->w, p->y0 + p->h);
  cairo_stroke(cr);
  font(d, 7.5, false);
  set_rgb(d, COL_TEXT);
  if (xlabel)
    text_fit(d, p->x0 + p->w / 2.0, p->y0 + p->h + 23.0, xlabel, p->w, AL_CENTER);
  if (ylabel) {
    cairo_save(cr);
    cairo_translate(cr, p->x0 - 36.0, p->y0 + p->h / 2.0);
    cairo_rotate(cr, -M_PI / 2.0);
    text_fit(d, 0.0, 0.0, ylabel, p->h, AL_CENTER);
    cairo_restore(cr);
  }
}

/* A legend entry: a line, a filled square, a dashed line or a band sample, and its text. */
typedef struct {
  Rgb c;
  const char *text;
  int kind; /* 0 line, 1 filled square, 2 dashed line, 3 band */
} LegendItem;

/* The legend as one row, right-aligned to the content's edge, its baseline at y: above the plot,
 * so that it never hides data. Entries that do not fit are ellipsized. */
static void
legend_row(Doc *d, double y, const LegendItem *items, size_t n)
{
  font(d, 7.0, false);
  double total = 0.0;
  for (size_t i = 0; i < n; i++)
    total += 16.0 + text_w(d, items[i].text) + (i + 1 < n ? 12.0 : 0.0);
  double maxw_each = total > CONTENT_W ? CONTENT_W / (double)n - 28.0 : 1e9;
  double x = PAGE_W - MARGIN_X - fmin(total, CONTENT_W);
  for (size_t i = 0; i < n; i++) {
    double sy = y - 2.5;
    set_rgb(d, items[i].c);
    if (items[i].kind == 1) {
      cairo_rectangle(d->cr, x, sy - 3.5, 10.0, 7.0);
      cairo_fill(d->cr);
    } else if (items[i].kind == 3) {
      cairo_rectangle(d->cr, x - 1.0, sy - 4.0, 12.0, 8.0);
      cairo_fill(d->cr);
    } else {
      cairo_set_line_width(d->cr, 1.4);
      if (items[i].kind == 2) {
        double dash[] = {3.0, 2.0};
        cairo_set_dash(d->cr, dash, 2, 0.0);
      }
      cairo_move_to(d->cr, x - 1.0, sy);
      cairo_line_to(d->cr, x + 11.0, sy);
      cairo_stroke(d->cr);
      cairo_set_dash(d->cr, NULL, 0, 0.0);
    }
    set_rgb(d, COL_TEXT);
    double tw = fmin(text_w(d, items[i].text), maxw_each);
    text_fit(d, x + 16.0, y, items[i].text, tw + 0.5, AL_LEFT);
    x += 16.0 + tw + 12.0;
  }
}

/* ---- Force-time overlay ---- */

typedef struct {
  const StanceRecording *rec;
  const StanceAnalysis *an;
  const StanceTrial *rep;
  int trial_number; /* the stored trial's number, for the legend */
  StanceSel sel;
  Rgb colour;
  double t0; /* the rep's onset (recording time), plotted as 0 */
  double from, to;
} Trace;

static double
trace_force(const Trace *tr, size_t i)
{
  double f = stance_recording_force_at(tr->rec, i, tr->sel);
  if (tr->an->cond.zeroed)
    f -= tr->an->cond.zero_offset_n[tr->sel];
  return f;
}

/* Sample range of a trace's window. */
static void
trace_range(const Trace *tr, size_t *a, size_t *b)
{
  double rate = tr->rec->sample_rate_hz;
  double fa = floor(tr->from * rate), fb = ceil(tr->to * rate);
  size_t n = tr->rec->n_samples;
  *a = fa <= 0.0 ? 0 : fa >= (double)n ? n : (size_t)fa;
  *b = fb <= 0.0 ? 0 : fb >= (double)n ? n : (size_t)fb;
}

static void
trace_minmax(const Trace *tr, double *lo, double *hi)
{
  size_t a, b;
  trace_range(tr, &a, &b);
  for (size_t i = a; i < b; i++) {
    if (tr->rec->status[i] & STANCE_STATUS_GAP)
      continue;
    double f = trace_force(tr, i);
    *lo = fmin(*lo, f);
    *hi = fmax(*hi, f);
  }
}

/* Draws a trace, at most two points (min and max) per 0.5 pt column; gaps break the line. */
static void
trace_draw(Doc *d, const Plot *p, const Trace *tr, double width)
{
  if (d->dry)
    return;
  size_t a, b;
  trace_range(tr, &a, &b);
  double rate = tr->rec->sample_rate_hz;
  cairo_t *cr = d->cr;
  cairo_save(cr);
  cairo_rectangle(cr, p->x0, p->y0 - 1.0, p->w, p->h + 2.0);
  cairo_clip(cr);
  set_rgb(d, tr->colour);
  cairo_set_line_width(cr, width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  bool pen = false;
  double col_w = 0.5;
  size_t i = a;
  while (i < b) {
    if (tr->rec->status[i] & STANCE_STATUS_GAP) {
      pen = false;
      i++;
      continue;
    }
    double x = px(p, (double)i / rate - tr->t0);
    /* The samples falling in this column. */
    double col = floor((x - p->x0) / col_w);
    size_t j = i, imin = i, imax = i;
    double fmn = trace_force(tr, i), fmx = fmn;
    while (j + 1 < b && !(tr->rec->status[j + 1] & STANCE_STATUS_GAP) &&
           floor((px(p, (double)(j + 1) / rate - tr->t0) - p->x0) / col_w) == col) {
      j++;
      double f = trace_force(tr, j);
      if (f < fmn) {
        fmn = f;
        imin = j;
      }
      if (f > fmx) {
        fmx = f;
        imax = j;
      }
    }
    size_t first = imin < imax ? imin : imax, second = imin < imax ? imax : imin;
    double f1 = first == imin ? fmn : fmx, f2 = first == imin ? fmx : fmn;
    double x1 = px(p, (double)first / rate - tr->t0), x2 = px(p, (double)second / rate - tr->t0);
    if (!pen) {
      cairo_move_to(cr, x1, py(p, f1));
      pen = true;
    } else {
      cairo_line_to(cr, x1, py(p, f1));
    }
    if (second != first)
      cairo_line_to(cr, x2, py(p, f2));
    i = j + 1;
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

/* Event names as printed. */
static const char *
event_label(const char *name, char *buf, size_t n)
{
  static const struct {
    const char *n, *l;
  } t[] = {{"onset", "onset"},
           {"unweighting_end", "unweighting end"},
           {"braking_end", "braking end"},
           {"takeoff", "take-off"},
           {"landing", "landing"},
           {"peak", "peak"},
           {"touchdown", "touchdown"},
           {"ecc_start", "eccentric"},
           {"con_start", "concentric"},
           {"rep_end", "rep end"},
           {"hold_start", "hold start"},
           {"hold_end", "hold end"}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(t[i].n, name) == 0)
      return t[i].l;
  snprintf(buf, n, "%s", name);
  for (char *p = buf; *p; p++)
    if (*p == '_')
      *p = ' ';
  return buf;
}

/* Vertical event lines with labels stacked in rows so that none overlaps. */
static void
draw_events(Doc *d, const Plot *p, const Trace *tr, size_t n_tr)
{
  double row_end[4] = {-1e9, -1e9, -1e9, -1e9};
  font(d, 6.5, false);
  for (size_t k = 0; k < n_tr; k++) {
    const StanceTrial *rep = tr[k].rep;
    for (size_t i = 0; i < rep->n_events; i++) {
      const StanceEvent *e = &rep->events[i];
      /* Each trace shows its own limb's events and the whole-body ones; two traces of the same
       * rep (bilateral) share the whole-body events, drawn once in grey. */
      if (e->sel != STANCE_SEL_TOTAL && e->sel != tr[k].sel)
        continue;
      bool shared = n_tr > 1 && tr[0].rep == tr[n_tr - 1].rep;
      if (e->sel == STANCE_SEL_TOTAL && shared && k > 0)
        continue;
      double t = e->t_s - tr[k].t0;
      if (t < p->xmin || t > p->xmax)
        continue;
      double x = px(p, t);
      Rgb c = e->sel == STANCE_SEL_TOTAL && (shared || n_tr == 1) ? COL_MUTED : tr[k].colour;
      set_rgb(d, c);
      cairo_set_line_width(d->cr, 0.6);
      double dash[] = {2.0, 2.0};
      cairo_set_dash(d->cr, dash, 2, 0.0);
      cairo_move_to(d->cr, x, p->y0);
      cairo_line_to(d->cr, x, p->y0 + p->h);
      cairo_stroke(d->cr);
      cairo_set_dash(d->cr, NULL, 0, 0.0);
      char eb[48];
      const char *lab = event_label(e->name, eb, sizeof eb);
      double w = text_w(d, lab);
      /* Right of its line, or left of it at the plot's right end; in the first row where it
       * starts after everything already there (a row only remembers its right end, so a label
       * can never land on one drawn before it). */
      double lx = x + 2.0;
      if (lx + w > p->x0 + p->w)
        lx = x - 2.0 - w;
      int row = -1;
      for (int r = 0; r < 4; r++)
        if (lx > row_end[r] + 3.0) {
          row = r;
          break;
        }
      if (row < 0)
        continue; /* four rows full here: the line alone marks it */
      row_end[row] = lx + w;
      set_rgb(d, c);
      text_at(d, lx, p->y0 - 3.0 - (3 - row) * 8.0, lab, AL_LEFT);
    }
  }
}

static void
overlay_section(Doc *d, const Test *t)
{
  const StanceReport *r = d->r;
  heading(d, "Force-time curves", 250.0);
  if (!t->comb || t->comb->n_trials == 0) {
    paragraph(d, "No repetitions were found in the accepted trials: there is no curve to show.",
              MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
    return;
  }
  Trace tr[2];
  size_t n_tr = 0;
  char cap[512], l1[160], l2[160], sb[64];
  const char *kind = test_kind(t);
  if (t->sided) {
    StanceSide sides[2] = {STANCE_SIDE_LEFT, STANCE_SIDE_RIGHT};
    for (int s = 0; s < 2; s++) {
      long k = median_rep(t, sides[s]);
      if (k < 0)
        continue;
      size_t rep_in;
      size_t o = rep_owner(t, (size_t)k, &rep_in);
      const StanceReportTrial *rt = &r->trials[t->acc[o]];
      Trace *x = &tr[n_tr++];
      x->rec = rt->rec;
      x->an = rt->an;
      x->rep = &rt->an->trials[rep_in];
      x->trial_number = rt->number;
      x->sel = s == 0 ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
      if (t->one_plate)
        x->sel = STANCE_SEL_TOTAL;
      x->colour = t->one_plate ? COL_TOTAL : s == 0 ? COL_LEFT : COL_RIGHT;
    }
  } else {
    long k = median_rep(t, STANCE_SIDE_BOTH);
    if (k >= 0) {
      size_t rep_in;
      size_t o = rep_owner(t, (size_t)k, &rep_in);
      const StanceReportTrial *rt = &r->trials[t->acc[o]];
      for (int s = 0; s < (t->one_plate ? 1 : 2); s++) {
        Trace *x = &tr[n_tr++];
        x->rec = rt->rec;
        x->an = rt->an;
        x->rep = &rt->an->trials[rep_in];
        x->trial_number = rt->number;
        x->sel = t->one_plate ? STANCE_SEL_TOTAL : s == 0 ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
        x->colour = t->one_plate ? COL_TOTAL : s == 0 ? COL_LEFT : COL_RIGHT;
      }
    }
  }
  if (n_tr == 0) {
    paragraph(d, "No repetition has a value of the headline metric: there is no curve to show.",
              MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
    return;
  }
  /* Time 0 is each rep's onset of movement (its start when it has no onset event); the window
   * runs from a little before the earliest start to a little after the latest end. */
  bool all_onset = true;
  double rel_a = INFINITY, rel_b = -INFINITY;
  for (size_t i = 0; i < n_tr; i++) {
    double on = stance_trial_event(tr[i].rep, "onset");
    if (on < 0.0) {
      on = tr[i].rep->start_s;
      all_onset = false;
    }
    tr[i].t0 = on;
    rel_a = fmin(rel_a, tr[i].rep->start_s - on);
    rel_b = fmax(rel_b, fmax(tr[i].rep->end_s - on, rel_a + 0.05));
  }
  double span = rel_b - rel_a;
  double pre = fmin(0.5, span * 0.15), post = fmin(0.5, span * 0.15);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n_tr; i++) {
    tr[i].from = tr[i].t0 + rel_a - pre;
    tr[i].to = tr[i].t0 + rel_b + post;
    trace_minmax(&tr[i], &lo, &hi);
  }
  if (!isfinite(lo)) {
    lo = 0.0;
    hi = 1.0;
  }
  /* Zero in view; a small dip below it (an unloaded plate's noise) gets a small margin rather
   * than a whole tick step. */
  double raw_lo = fmin(lo, 0.0);
  lo = 0.0;
  nice_range(&lo, &hi, 5);
  if (raw_lo < 0.0) {
    double minor = nice_step(0.0, hi, 5) / 5.0;
    lo = floor(raw_lo / minor) * minor;
  }

  Plot p = {MARGIN_X + 46.0, 0.0, CONTENT_W - 56.0, 170.0, rel_a - pre, rel_b + post, lo, hi};
  need(d, p.h + 94.0);
  double legend_y = d->y + 7.0;
  p.y0 = d->y + 48.0; /* room above for the legend and the event labels */
  char xlab[96];
  if (all_onset)
    snprintf(xlab, sizeof xlab, "time from the onset of movement (s)");
  else
    snprintf(xlab, sizeof xlab, "time from the start of the %s (s)", kind);
  plot_axes(d, &p, xlab, "vertical force (N)", true);
  draw_events(d, &p, tr, n_tr);
  for (size_t i = 0; i < n_tr; i++)
    trace_draw(d, &p, &tr[i], 1.3);

  LegendItem li[2];
  for (size_t i = 0; i < n_tr; i++) {
    char *dst = i == 0 ? l1 : l2;
    const char *who = tr[i].sel == STANCE_SEL_LEFT    ? "Left"
                      : tr[i].sel == STANCE_SEL_RIGHT ? "Right"
                                                      : "Total (single plate)";
    if (t->sided && !t->one_plate)
      who = limb_text(t, tr[i].rep->side, sb, sizeof sb);
    snprintf(dst, 160, "%s: trial %d, %s %d", who, tr[i].trial_number, kind, tr[i].rep->index);
    if (t->sided && !t->one_plate && dst[0] >= 'a' && dst[0] <= 'z')
      dst[0] = (char)(dst[0] - 'a' + 'A');
    li[i] = (LegendItem){tr[i].colour, dst, 0};
  }
  legend_row(d, legend_y, li, n_tr);
  d->y = p.y0 + p.h + 30.0;
  const StanceSummaryMetric *sm = summary_of(t->comb, t->headline);
  snprintf(cap, sizeof cap,
           "The %s nearest the median %s%s%s, from %s s before it starts; dashed lines mark the "
           "events the analysis found%s.",
           kind, metric_label(t->headline), t->sided ? " of each side" : "",
           sm ? "" : " (no values: the first one)", fmt_num(pre, 2, sb, sizeof sb),
           t->sided && n_tr == 2 ? (all_onset ? " (each curve aligned at its own onset)"
                                              : " (each curve aligned at its own start)")
                                 : "");
  if (t->one_plate) {
    size_t len = strlen(cap);
    snprintf(cap + len, sizeof cap - len, " Single plate: no left/right, the total force.");
  }
  paragraph(d, cap, MARGIN_X, CONTENT_W, 7.5, false, COL_MUTED);
}

/* ---- Rep-by-rep bars ---- */

/* "trial.rep" of combined rep k: the stored trial's number and the rep's index within it. */
static void
rep_label(Doc *d, const Test *t, size_t k, char *buf, size_t n)
{
  size_t rep_in;
  size_t o = rep_owner(t, k, &rep_in);
  const StanceReportTrial *rt = &d->r->trials[t->acc[o]];
  snprintf(buf, n, "%d.%d", rt->number, rt->an->trials[rep_in].index);
}

static void
bars_section(Doc *d, const Test *t)
{
  const StanceAnalysis *c = t->comb;
  char title[160], buf[64];
  snprintf(title, sizeof title, "%s, %s by %s", metric_label(t->headline),
           t->one_plate ? "total" : "per limb", test_kind(t));
  heading(d, title, 190.0);
  if (!c || c->n_trials == 0) {
    paragraph(d, "No repetitions in the accepted trials.", MARGIN_X, CONTENT_W, 8.5, false,
              COL_MUTED);
    return;
  }
  /* Bars: bilateral: a left and a right bar per rep; sided: one bar per rep in its limb's
   * colour, the left reps first; single plate: the total. */
  typedef struct {
    double v;
    bool has;
    StanceSel sel;
    size_t rep;
  } Bar;
  size_t nmax = c->n_trials * 2;
  Bar *bars = calloc(nmax, sizeof *bars);
  if (!bars) {
    d->oom = 1;
    return;
  }
  size_t nb = 0, n_has = 0;
  const char *unit = "";
  for (int pass = 0; pass < (t->sided ? 2 : 1); pass++) {
    for (size_t i = 0; i < c->n_trials; i++) {
      const StanceTrial *rep = &c->trials[i];
      const StanceMetric *m = rep_metric(rep, t->headline);
      if (m)
        unit = m->unit;
      if (t->sided && !t->one_plate) {
        StanceSide want = pass == 0 ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
        if (rep->side != want)
          continue;
        Bar *b = &bars[nb++];
        b->sel = want == STANCE_SIDE_LEFT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
        b->rep = i;
        b->has = m && stance_metric_get(m, b->sel, &b->v);
      } else if (t->one_plate) {
        if (t->sided && pass == 1)
          continue;
        Bar *b = &bars[nb++];
        b->sel = STANCE_SEL_TOTAL;
        b->rep = i;
        b->has = m && stance_metric_get(m, STANCE_SEL_TOTAL, &b->v);
      } else {
        for (int s = 0; s < 2; s++) {
          Bar *b = &bars[nb++];
          b->sel = s == 0 ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
          b->rep = i;
          b->has = m && stance_metric_get(m, b->sel, &b->v);
        }
      }
    }
  }
  Display dp = display_of(unit);
  double lo = 0.0, hi = -INFINITY;
  double sum[3] = {0}, cnt[3] = {0};
  for (size_t i = 0; i < nb; i++) {
    if (!bars[i].has)
      continue;
    n_has++;
    double v = bars[i].v * dp.scale;
    lo = fmin(lo, v);
    hi = fmax(hi, v);
    sum[bars[i].sel] += v;
    cnt[bars[i].sel] += 1.0;
  }
  if (n_has == 0) {
    free(bars);
    char msg[256];
    snprintf(msg, sizeof msg, "No %s has a %s value%s.", test_kind(t), metric_label(t->headline),
             t->one_plate ? "" : " per limb");
    paragraph(d, msg, MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
    return;
  }
  hi = fmax(hi, 0.0);
  nice_range(&lo, &hi, 5);
  char ylab[96], shortl[64];
  snprintf(shortl, sizeof shortl, "%s", metric_label(t->headline));
  char *paren = strstr(shortl, " (");
  if (paren)
    *paren = '\0';
  snprintf(ylab, sizeof ylab, "%s%s%s%s", shortl, dp.unit[0] ? " (" : "", dp.unit,
           dp.unit[0] ? ")" : "");
  Plot p = {MARGIN_X + 46.0, 0.0, CONTENT_W - 56.0, 130.0, 0.0, 1.0, lo, hi};
  need(d, p.h + 72.0);
  double legend_y = d->y + 7.0;
  p.y0 = d->y + 18.0;
  plot_axes(d, &p, NULL, ylab, false);

  /* Slots: bilateral pairs share a slot per rep; sided: one slot per bar with a gap between
   * the sides. */
  bool pairs = !t->sided && !t->one_plate;
  size_t n_slots = pairs ? nb / 2 : nb;
  size_t gap = 0;
  size_t first_right = nb;
  if (t->sided && !t->one_plate) {
    for (size_t i = 0; i < nb; i++)
      if (bars[i].sel == STANCE_SEL_RIGHT) {
        first_right = i;
        break;
      }
    if (first_right > 0 && first_right < nb)
      gap = 1;
  }
  double slot = p.w / (double)(n_slots + gap);
  double bw = pairs ? fmin(slot * 0.38, 14.0) : fmin(slot * 0.7, 20.0);
  font(d, 6.5, false);
  double min_label_gap = 0.0;
  for (size_t i = 0; i < nb; i++) {
    rep_label(d, t, bars[i].rep, buf, sizeof buf);
    min_label_gap = fmax(min_label_gap, text_w(d, buf) + 4.0);
  }
  size_t label_every = 1;
  while (slot * (double)label_every < min_label_gap)
    label_every++;
  double y_zero = py(&p, 0.0);
  for (size_t s = 0; s < n_slots; s++) {
    size_t extra = (gap && s >= first_right) ? 1 : 0;
    double cx = p.x0 + ((double)(s + extra) + 0.5) * slot;
    for (int k = 0; k < (pairs ? 2 : 1); k++) {
      const Bar *b = &bars[pairs ? s * 2 + (size_t)k : s];
      double x = pairs ? cx - bw + (double)k * bw : cx - bw / 2.0;
      if (!b->has) {
        set_rgb(d, COL_MUTED);
        font(d, 6.5, false);
        text_at(d, x + bw / 2.0, y_zero - 3.0, "-", AL_CENTER);
        continue;
      }
      double v = b->v * dp.scale;
      set_rgb(d, b->sel == STANCE_SEL_LEFT    ? COL_LEFT
                 : b->sel == STANCE_SEL_RIGHT ? COL_RIGHT
                                              : COL_TOTAL);
      double y1 = py(&p, v);
      cairo_rectangle(d->cr, x, fmin(y1, y_zero), bw * (pairs ? 0.92 : 1.0), fabs(y_zero - y1));
      cairo_fill(d->cr);
    }
    if (s % label_every == 0) {
      const Bar *b = &bars[pairs ? s * 2 : s];
      rep_label(d, t, b->rep, buf, sizeof buf);
      set_rgb(d, COL_MUTED);
      font(d, 6.5, false);
      text_at(d, cx, p.y0 + p.h + 9.0, buf, AL_CENTER);
    }
  }
  /* Means per limb, dashed across the plot. */
  LegendItem li[4];
  size_t nli = 0;
  char ml[3][96], mv[48];
  static const char *const names[3] = {"left", "right", "total"};
  for (int s = 0; s < 3; s++) {
    if (cnt[s] == 0.0)
      continue;
    double m = sum[s] / cnt[s];
    Rgb col = s == 0 ? COL_LEFT : s == 1 ? COL_RIGHT : COL_TOTAL;
    set_rgb(d, col);
    cairo_set_line_width(d->cr, 0.9);
    double dash[] = {4.0, 2.5};
    cairo_set_dash(d->cr, dash, 2, 0.0);
    cairo_move_to(d->cr, p.x0, py(&p, m));
    cairo_line_to(d->cr, p.x0 + p.w, py(&p, m));
    cairo_stroke(d->cr);
    cairo_set_dash(d->cr, NULL, 0, 0.0);
    snprintf(ml[s], sizeof ml[s], "%s, mean %s %s", names[s], fmt_num(m, dp.dec, mv, sizeof mv),
             dp.unit);
    li[nli++] = (LegendItem){col, ml[s], 1};
  }
  legend_row(d, legend_y, li, nli);
  font(d, 7.5, false);
  set_rgb(d, COL_TEXT);
  char xl[96];
  snprintf(xl, sizeof xl, "trial.%s (trial number, then the %s within it)", test_kind(t),
           test_kind(t));
  if (t->sided && gap) {
    double xl0 = p.x0 + (double)first_right * slot / 2.0;
    double xr0 = p.x0 + ((double)first_right + 1.0 + (double)(nb - first_right) / 2.0) * slot;
    char sb[64];
    set_rgb(d, COL_LEFT);
    text_at(d, xl0, p.y0 + p.h + 20.0, limb_text(t, STANCE_SIDE_LEFT, sb, sizeof sb), AL_CENTER);
    set_rgb(d, COL_RIGHT);
    text_at(d, xr0, p.y0 + p.h + 20.0, limb_text(t, STANCE_SIDE_RIGHT, sb, sizeof sb), AL_CENTER);
    set_rgb(d, COL_TEXT);
    text_fit(d, p.x0 + p.w / 2.0, p.y0 + p.h + 31.0, xl, p.w, AL_CENTER);
    d->y = p.y0 + p.h + 38.0;
  } else {
    text_fit(d, p.x0 + p.w / 2.0, p.y0 + p.h + 21.0, xl, p.w, AL_CENTER);
    d->y = p.y0 + p.h + 28.0;
  }
  free(bars);
}

/* ======================================================================================
 * Per-test pages
 * ====================================================================================== */

/* Footnotes under the key-metric table: why a value is absent. */
typedef struct {
  char text[400];
} Note;

typedef struct {
  Note *v;
  size_t n, cap;
} Notes;

static int notes_add(Doc *d, Notes *ns, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
notes_add(Doc *d, Notes *ns, const char *fmt, ...)
{
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < ns->n; i++)
    if (strcmp(ns->v[i].text, text) == 0)
      return (int)i + 1;
  if (ns->n == ns->cap) {
    size_t cap = ns->cap ? ns->cap * 2 : 8;
    Note *v = realloc(ns->v, cap * sizeof *v);
    if (!v) {
      d->oom = 1;
      return 0;
    }
    ns->v = v;
    ns->cap = cap;
  }
  snprintf(ns->v[ns->n].text, sizeof ns->v[0].text, "%s", text);
  return (int)++ns->n;
}

/* The first absence reason of slot s of metric id among the test's reps (NULL: none given). */
static const char *
absent_reason(const Test *t, const char *id, StanceSel s)
{
  const StanceAnalysis *c = t->comb;
  for (size_t i = 0; c && i < c->n_trials; i++) {
    const StanceMetric *m = rep_metric(&c->trials[i], id);
    if (m && m->absent[s][0])
      return m->absent[s];
  }
  return NULL;
}

static void
metrics_table(Doc *d, const Test *t)
{
  const StanceReport *r = d->r;
  const StanceAnalysis *c = t->comb;
  const char *formula = stance_asym_formula_name(resolved_formula(c));
  char lt[48], rt[48];
  bool sided2 = t->sided && !t->one_plate;
  if (sided2) {
    /* "left leg" -> "leg", "front foot left" -> "front foot": the column title says the side. */
    limb_role(t, STANCE_SIDE_LEFT, lt, sizeof lt);
    limb_role(t, STANCE_SIDE_RIGHT, rt, sizeof rt);
  }
  Col two[] = {
      {"Metric", 138.0, AL_LEFT, {0}, false, NULL},
      {"Unit", 32.0, AL_LEFT, {0}, false, NULL},
      {"Left", 58.0, AL_RIGHT, COL_LEFT, true, sided2 ? lt : NULL},
      {"Right", 58.0, AL_RIGHT, COL_RIGHT, true, sided2 ? rt : NULL},
      {t->sided ? "n" : "Both", 50.0, AL_RIGHT, {0}, false, t->sided ? "left / right" : NULL},
      {"Asymmetry", 56.0, AL_RIGHT, {0}, false, formula},
      {"Stronger", 47.0, AL_CENTER, {0}, false, NULL},
      {"Light", 0.0, AL_LEFT, {0}, false, NULL},
  };
  Col one[] = {
      {"Metric", 170.0, AL_LEFT, {0}, false, NULL}, {"Unit", 50.0, AL_LEFT, {0}, false, NULL},
      {"Total", 80.0, AL_RIGHT, {0}, false, NULL},  {"SD", 70.0, AL_RIGHT, {0}, false, NULL},
      {"CV %", 60.0, AL_RIGHT, {0}, false, NULL},   {"n", 0.0, AL_RIGHT, {0}, false, NULL},
  };
  Col *cols = t->one_plate ? one : two;
  size_t nc = t->one_plate ? sizeof one / sizeof one[0] : sizeof two / sizeof two[0];
  fill_last(cols, nc);

  heading(d, "Key metrics (means over the accepted trials)", 60.0);
  if (t->one_plate)
    paragraph(d,
              "Single plate: no left/right. These recordings hold one combined force, so the "
              "limbs cannot be compared; the totals are shown.",
              MARGIN_X, CONTENT_W, 8.0, false, COL_WARN);
  const char *const *keys = protocol_keys(t->protocol);
  Notes notes = {0};
  need(d, header_h(cols, nc) + 16.0);
  table_header(d, cols, nc);
  size_t row = 0;
  for (size_t k = 0; keys[k]; k++) {
    const StanceSummaryMetric *sm = summary_of(c, keys[k]);
    if (!sm)
      continue;
    double rh = 15.0;
    if (d->y + rh > PAGE_BOTTOM) {
      new_page(d);
      table_header(d, cols, nc);
    }
    zebra(d, rh, row);
    double b = d->y + 10.5;
    Display dp = display_of(sm->unit);
    char v1[64], v2[64], v3[64], name[160];
    bool is_head = strcmp(keys[k], t->headline) == 0;
    snprintf(name, sizeof name, "%s", metric_label(sm->id));
    font(d, 8.0, is_head);
    set_rgb(d, COL_TEXT);
    cell(d, cols, 0, b, name);
    font(d, 8.0, false);
    set_rgb(d, COL_MUTED);
    cell(d, cols, 1, b, dp.unit);
    set_rgb(d, COL_TEXT);
    if (t->one_plate) {
      if (stats_ok(&sm->total)) {
        cell(d, cols, 2, b, stat_text(&sm->total, &dp, v1, sizeof v1));
        cell(d, cols, 3, b,
             sm->total.has_sd ? fmt_num(sm->total.sd * dp.scale, dp.dec, v2, sizeof v2) : "-");
        cell(d, cols, 4, b, sm->total.has_cv ? fmt_num(sm->total.cv_pct, 1, v3, sizeof v3) : "-");
        snprintf(v1, sizeof v1, "%zu", sm->total.n);
        cell(d, cols, 5, b, v1);
      } else {
        const char *why = absent_reason(t, sm->id, STANCE_SEL_TOTAL);
        int fn = why ? notes_add(d, &notes, "%s: %s", metric_label(sm->id), why) : 0;
        if (fn)
          snprintf(v1, sizeof v1, "- [%d]", fn);
        else
          snprintf(v1, sizeof v1, "-");
        cell(d, cols, 2, b, v1);
      }
    } else if (t->sided && !(sm->has & (STANCE_HAS_LEFT | STANCE_HAS_RIGHT)) &&
               stats_ok(&sm->total)) {
      /* A whole-body value in a sided test (a front-foot share, a rep duration): no limb to put
       * it under, so its mean over every trial spans the limb columns. */
      char all[96];
      snprintf(all, sizeof all, "all trials: %s (n %zu)", stat_text(&sm->total, &dp, v3, sizeof v3),
               sm->total.n);
      set_rgb(d, COL_MUTED);
      double x0 = col_x(cols, 2) + 4.0, x1 = col_x(cols, 5) - 4.0;
      text_fit(d, x1, b, all, x1 - x0, AL_RIGHT);
      cell(d, cols, 5, b, "-");
    } else {
      for (int s = 0; s < 2; s++) {
        unsigned bit = s == 0 ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT;
        const StanceStats *st = s == 0 ? &sm->left : &sm->right;
        char *out = s == 0 ? v1 : v2;
        if ((sm->has & bit) && stats_ok(st)) {
          stat_text(st, &dp, out, 64);
        } else {
          const char *why = absent_reason(t, sm->id, s == 0 ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT);
          int fn = why ? notes_add(d, &notes, "%s, %s: %s", metric_label(sm->id),
                                   s == 0 ? "left" : "right", why)
                       : 0;
          if (fn)
            snprintf(out, 64, "- [%d]", fn);
          else
            snprintf(out, 64, "-");
        }
        cell(d, cols, (size_t)(2 + s), b, out);
      }
      if (t->sided) {
        snprintf(v3, sizeof v3, "%zu / %zu", (sm->has & STANCE_HAS_LEFT) ? sm->left.n : 0,
                 (sm->has & STANCE_HAS_RIGHT) ? sm->right.n : 0);
        set_rgb(d, COL_MUTED);
        cell(d, cols, 4, b, v3);
      } else {
        set_rgb(d, COL_MUTED);
        cell(d, cols, 4, b,
             (sm->has & STANCE_HAS_TOTAL) ? stat_text(&sm->total, &dp, v3, sizeof v3) : "-");
      }
      set_rgb(d, COL_TEXT);
      if (sm->has_asym) {
        font(d, 8.0, true);
        cell(d, cols, 5, b, asym_text(&sm->asym, v3, sizeof v3));
        font(d, 8.0, false);
        cell(d, cols, 6, b, side_word(sm->asym.stronger));
        StanceLight li = stance_report_light(sm->asym.formula_id, sm->asym.value,
                                             r->green_below_pct, r->red_above_pct);
        light_cell(d, col_x(cols, 7) + 4.0, b, li, 8.0);
      } else if ((sm->has & STANCE_HAS_LEFT) && (sm->has & STANCE_HAS_RIGHT)) {
        /* Both limbs, no asymmetry: say why in a note. */
        const char *why = no_asym_reason(t, sm);
        char msg[400];
        if (strcmp(why, "formula undefined for these values") == 0) {
          StanceError e = {0};
          double x;
          StanceSide st;
          if (stance_asym_compute(resolved_formula(c), sm->left.mean, sm->right.mean, c->involved,
                                  &x, &st, &e) != STANCE_OK)
            snprintf(msg, sizeof msg, "%s: no asymmetry, %s", metric_label(sm->id), e.message);
          else
            snprintf(msg, sizeof msg, "%s: no asymmetry for these values", metric_label(sm->id));
        } else {
          snprintf(msg, sizeof msg, "%s: %s", metric_label(sm->id), why);
        }
        int fn = notes_add(d, &notes, "%s", msg);
        snprintf(v3, sizeof v3, "- [%d]", fn);
        set_rgb(d, COL_MUTED);
        cell(d, cols, 5, b, v3);
      } else {
        set_rgb(d, COL_MUTED);
        cell(d, cols, 5, b, "-");
      }
    }
    d->y += rh;
    hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.3, COL_GRID);
    row++;
  }
  if (row == 0) {
    font(d, 8.0, false);
    set_rgb(d, COL_MUTED);
    text_at(d, MARGIN_X + 4.0, d->y + 11.0, "None of the key metrics was measured.", AL_LEFT);
    d->y += 15.0;
  }
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.8, COL_TEXT);
  d->y += 5.0;
  /* The formula, written out, and how the light is set. */
  if (!t->one_plate) {
    StanceAsymFormula f = resolved_formula(c);
    char line[512], g[32], rd[32];
    const char *sign = "";
    switch (f) {
    case STANCE_ASYM_LSI:
      sign = c->involved == STANCE_SIDE_LEFT || c->involved == STANCE_SIDE_RIGHT
                 ? "; 100 % is symmetric, below 100 the involved limb is weaker"
                 : "; 100 % is symmetric";
      break;
    case STANCE_ASYM_PCT_DIFF: sign = "; never negative (see the stronger limb)"; break;
    default: sign = "; positive when the left value is larger"; break;
    }
    snprintf(line, sizeof line, "Asymmetry (%s) = %s%s.", stance_asym_formula_name(f),
             stance_asym_formula_text(f), sign);
    paragraph(d, line, MARGIN_X, CONTENT_W, 8.0, true, COL_TEXT);
    if (f == STANCE_ASYM_LSI &&
        (c->involved == STANCE_SIDE_LEFT || c->involved == STANCE_SIDE_RIGHT)) {
      snprintf(line, sizeof line, "Involved limb: %s.", stance_side_name(c->involved));
      paragraph(d, line, MARGIN_X, CONTENT_W, 8.0, false, COL_TEXT);
    }
    fmt_num(r->green_below_pct, 1, g, sizeof g);
    fmt_num(r->red_above_pct, 1, rd, sizeof rd);
    snprintf(line, sizeof line,
             "Traffic light on %s: green below %s %%, amber from %s to %s %%, red above %s %%.",
             f == STANCE_ASYM_LSI ? "the distance |100 - LSI|" : "|asymmetry|", g, g, rd, rd);
    paragraph(d, line, MARGIN_X, CONTENT_W, 8.0, false, COL_MUTED);
  }
  for (size_t i = 0; i < notes.n; i++) {
    char fn[600];
    snprintf(fn, sizeof fn, "[%zu] %s", i + 1, notes.v[i].text);
    paragraph(d, fn, MARGIN_X, CONTENT_W, 7.5, false, COL_MUTED);
  }
  free(notes.v);
}

/* The trials of a test: one row each, with their state. */
static void
trials_table(Doc *d, const Test *t)
{
  const StanceReport *r = d->r;
  heading(d, "Trials", 40.0);
  const StanceSummaryMetric *hs = summary_of(t->comb, t->headline);
  Display hd = display_of(hs ? hs->unit : "");
  Col cols[8];
  size_t nc = 0;
  cols[nc++] = (Col){"Trial", 30.0, AL_RIGHT, {0}, false, NULL};
  cols[nc++] = (Col){"Recorded", 46.0, AL_LEFT, {0}, false, NULL};
  cols[nc++] = (Col){"Side", 70.0, AL_LEFT, {0}, false, NULL};
  cols[nc++] = (Col){"Found", 44.0, AL_RIGHT, {0}, false, NULL};
  if (t->one_plate) {
    cols[nc++] = (Col){"Total", 64.0, AL_RIGHT, {0}, false, hd.unit[0] ? hd.unit : NULL};
  } else {
    cols[nc++] = (Col){"Left", 52.0, AL_RIGHT, COL_LEFT, true, hd.unit[0] ? hd.unit : NULL};
    cols[nc++] = (Col){"Right", 52.0, AL_RIGHT, COL_RIGHT, true, hd.unit[0] ? hd.unit : NULL};
    cols[nc++] = (Col){"Asymmetry", 56.0, AL_RIGHT, {0}, false, NULL};
  }
  size_t c_state = nc;
  cols[nc++] = (Col){"State", 0.0, AL_LEFT, {0}, false, NULL};
  fill_last(cols, nc);
  char cap[256];
  snprintf(cap, sizeof cap,
           "%s: each trial's own mean %s; rejected trials are left out of every figure.",
           t->one_plate ? "Total" : "Left and right", metric_label(t->headline));
  paragraph(d, cap, MARGIN_X, CONTENT_W, 7.5, false, COL_MUTED);
  d->y += 2.0;
  need(d, header_h(cols, nc) + 15.0);
  table_header(d, cols, nc);
  for (size_t k = 0; k < t->n; k++) {
    const StanceReportTrial *rt = &r->trials[t->idx[k]];
    const StanceAnalysis *a = rt->an;
    /* The state column wraps (rejection reasons can be long). */
    char state[512];
    if (!rt->accepted)
      snprintf(state, sizeof state, "rejected: %s",
               rt->reject_reason && rt->reject_reason[0] ? rt->reject_reason : "no reason given");
    else
      snprintf(state, sizeof state, "accepted");
    if (rt->interrupted) {
      size_t len = strlen(state);
      snprintf(state + len, sizeof state - len, "; interrupted (recovered)");
    }
    char *cs = clean_dup(state, false);
    if (!cs) {
      d->oom = 1;
      return;
    }
    bool loud = !rt->accepted || rt->interrupted;
    Lines l = {0};
    font(d, 7.5, loud);
    wrap(d, cs, cols[c_state].w - 8.0, &l);
    double rh = fmax(15.0, 6.0 + (double)l.n * 9.5);
    if (d->y + rh > PAGE_BOTTOM) {
      new_page(d);
      table_header(d, cols, nc);
    }
    zebra(d, rh, k);
    double b = d->y + 10.5;
    char v[96];
    Rgb rowc = rt->accepted ? COL_TEXT : COL_MUTED;
    font(d, 8.0, true);
    set_rgb(d, rowc);
    snprintf(v, sizeof v, "%d", rt->number);
    cell(d, cols, 0, b, v);
    font(d, 8.0, false);
    cell(d, cols, 1, b, fmt_clock(rt->rec->meta.start_unix_ms, v, sizeof v));
    cell(d, cols, 2, b, stance_side_text(v, sizeof v, a->protocol, a->side));
    snprintf(v, sizeof v, "%zu %s", a->n_trials,
             kind_plural(a->n_trials ? a->trials[0].kind : test_kind(t), a->n_trials));
    cell(d, cols, 3, b, v);
    const StanceSummaryMetric *sm = summary_of(a, t->headline);
    Display dp = display_of(sm ? sm->unit : "");
    if (t->one_plate) {
      cell(d, cols, 4, b,
           sm && stats_ok(&sm->total) ? stat_text(&sm->total, &dp, v, sizeof v) : "-");
    } else {
      cell(d, cols, 4, b,
           sm && (sm->has & STANCE_HAS_LEFT) ? stat_text(&sm->left, &dp, v, sizeof v) : "-");
      cell(d, cols, 5, b,
           sm && (sm->has & STANCE_HAS_RIGHT) ? stat_text(&sm->right, &dp, v, sizeof v) : "-");
      if (sm && sm->has_asym) {
        cell(d, cols, 6, b, asym_text(&sm->asym, v, sizeof v));
      } else {
        set_rgb(d, COL_MUTED);
        cell(d, cols, 6, b, "-");
      }
    }
    /* State, coloured when it needs attention. */
    font(d, 7.5, loud);
    set_rgb(d, !rt->accepted ? COL_ERR : rt->interrupted ? COL_WARN : COL_TEXT);
    double sx = col_x(cols, c_state) + 4.0;
    for (size_t i = 0; i < l.n; i++)
      draw_span(d, sx, b + (double)i * 9.5, l.v[i]);
    free(l.v);
    free(cs);
    d->y += rh;
    hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.3, COL_GRID);
  }
  hrule(d, MARGIN_X, PAGE_W - MARGIN_X, d->y, 0.8, COL_TEXT);
  d->y += 4.0;
}

/* Quality flags of every trial of the test, grouped by severity and id. */
typedef struct {
  const StanceFlag *f;
  int trial_number;
  int rep; /* 0: recording-level */
  bool accepted;
} FlagRef;

static int
flag_cmp(const void *pa, const void *pb)
{
  const FlagRef *a = pa, *b = pb;
  if (a->f->severity != b->f->severity)
    return a->f->severity > b->f->severity ? -1 : 1;
  int c = strcmp(a->f->id, b->f->id);
  if (c)
    return c;
  if (a->trial_number != b->trial_number)
    return a->trial_number < b->trial_number ? -1 : 1;
  return a->rep < b->rep ? -1 : a->rep > b->rep;
}

static const char *
severity_word(StanceSeverity s)
{
  return s == STANCE_SEVERITY_ERROR ? "error" : s == STANCE_SEVERITY_WARNING ? "warning" : "info";
}

static void
flags_section(Doc *d, const Test *t)
{
  const StanceReport *r = d->r;
  heading(d, "Quality flags", 30.0);
  size_t n = 0;
  for (size_t k = 0; k < t->n; k++) {
    const StanceAnalysis *a = r->trials[t->idx[k]].an;
    n += a->n_flags;
    for (size_t i = 0; i < a->n_trials; i++)
      n += a->trials[i].n_flags;
  }
  if (n == 0) {
    paragraph(d, "None: the analysis raised no quality flag on these trials.", MARGIN_X, CONTENT_W,
              8.5, false, COL_TEXT);
    return;
  }
  FlagRef *fr = malloc(n * sizeof *fr);
  if (!fr) {
    d->oom = 1;
    return;
  }
  size_t m = 0;
  for (size_t k = 0; k < t->n; k++) {
    const StanceReportTrial *rt = &r->trials[t->idx[k]];
    const StanceAnalysis *a = rt->an;
    for (size_t i = 0; i < a->n_flags; i++)
      fr[m++] = (FlagRef){&a->flags[i], rt->number, 0, rt->accepted};
    for (size_t j = 0; j < a->n_trials; j++)
      for (size_t i = 0; i < a->trials[j].n_flags; i++)
        fr[m++] = (FlagRef){&a->trials[j].flags[i], rt->number, a->trials[j].index, rt->accepted};
  }
  qsort(fr, m, sizeof *fr, flag_cmp);
  const char *kind = test_kind(t);
  for (size_t i = 0; i < m;) {
    size_t j = i;
    while (j < m && fr[j].f->severity == fr[i].f->severity && strcmp(fr[j].f->id, fr[i].f->id) == 0)
      j++;
    /* "warning  saturation: 3 times, trial 2 jump 1, trial 5, ..." then the first message. */
    char where[400];
    size_t len = 0;
    where[0] = '\0';
    for (size_t k = i; k < j && len + 40 < sizeof where; k++) {
      char one[64];
      if (fr[k].rep > 0)
        snprintf(one, sizeof one, "trial %d %s %d", fr[k].trial_number, kind, fr[k].rep);
      else
        snprintf(one, sizeof one, "trial %d", fr[k].trial_number);
      len += (size_t)snprintf(where + len, sizeof where - len, "%s%s%s", k > i ? ", " : "", one,
                              fr[k].accepted ? "" : " (rejected)");
      if (k + 1 < j && len + 40 >= sizeof where) {
        snprintf(where + len, sizeof where - len, " and %zu more", j - k - 1);
        break;
      }
    }
    Rgb sc = fr[i].f->severity == STANCE_SEVERITY_ERROR     ? COL_ERR
             : fr[i].f->severity == STANCE_SEVERITY_WARNING ? COL_WARN
                                                            : COL_MUTED;
    char head[160];
    snprintf(head, sizeof head, "%s %s", severity_word(fr[i].f->severity), fr[i].f->id);
    char *cw = clean_dup(where, false);
    char *cm = clean_dup(fr[i].f->message, false);
    if (!cw || !cm) {
      free(cw);
      free(cm);
      d->oom = 1;
      break;
    }
    need(d, 24.0);
    font(d, 8.0, true);
    set_rgb(d, sc);
    char hb[200];
    text_at(d, MARGIN_X, d->y + 8.0, fit_text(d, head, 150.0, hb, sizeof hb), AL_LEFT);
    double y0 = d->y;
    paragraph(d, cm, MARGIN_X + 156.0, CONTENT_W - 156.0, 8.0, false, COL_TEXT);
    char wl[480];
    snprintf(wl, sizeof wl, "%zu time%s: %s", j - i, j - i == 1 ? "" : "s", cw);
    paragraph(d, wl, MARGIN_X + 156.0, CONTENT_W - 156.0, 7.0, false, COL_MUTED);
    (void)y0;
    d->y += 3.0;
    free(cw);
    free(cm);
    i = j;
  }
  free(fr);
}

static void
test_pages(Doc *d, Test *t)
{
  const StanceReport *r = d->r;
  new_page(d);
  char title[200], sub[400];
  test_title(t, title, sizeof title);
  if (!d->dry) {
    char link[64];
    snprintf(link, sizeof link, "page=%d pos=[0 0]", d->page);
    cairo_pdf_surface_add_outline(d->surf, CAIRO_PDF_OUTLINE_ROOT, title, link, 0);
  }
  font(d, 15.0, true);
  set_rgb(d, COL_ACCENT);
  text_fit(d, MARGIN_X, d->y + 14.0, title, CONTENT_W, AL_LEFT);
  d->y += 22.0;
  size_t reps = t->comb ? t->comb->n_trials : 0;
  snprintf(sub, sizeof sub, "%zu trial%s (%zu accepted), %zu %s analysed; headline metric: %s",
           t->n, t->n == 1 ? "" : "s", t->n_accepted, reps, kind_plural(test_kind(t), reps),
           metric_label(t->headline));
  paragraph(d, sub, MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);

  /* The headline in one line, with its light. */
  const StanceSummaryMetric *sm = summary_of(t->comb, t->headline);
  d->y += 2.0;
  if (sm && sm->has_asym && !t->one_plate) {
    char as[48], line[300];
    StanceLight li = stance_report_light(sm->asym.formula_id, sm->asym.value, r->green_below_pct,
                                         r->red_above_pct);
    snprintf(line, sizeof line, "%s asymmetry %s (%s), %s stronger", metric_label(t->headline),
             asym_text(&sm->asym, as, sizeof as), sm->asym.formula_id,
             sm->asym.stronger == STANCE_SIDE_BOTH ? "neither limb" : side_word(sm->asym.stronger));
    need(d, 22.0);
    Rgb lc = light_colour(li);
    cairo_set_source_rgba(d->cr, lc.r, lc.g, lc.b, 0.12);
    cairo_rectangle(d->cr, MARGIN_X, d->y, CONTENT_W, 20.0);
    cairo_fill(d->cr);
    set_rgb(d, lc);
    cairo_rectangle(d->cr, MARGIN_X, d->y, 3.0, 20.0);
    cairo_fill(d->cr);
    font(d, 9.5, true);
    set_rgb(d, COL_TEXT);
    text_fit(d, MARGIN_X + 10.0, d->y + 13.5, line, CONTENT_W - 80.0, AL_LEFT);
    light_cell(d, PAGE_W - MARGIN_X - 58.0, d->y + 13.5, li, 9.0);
    d->y += 24.0;
  } else {
    char line[300];
    snprintf(line, sizeof line, "%s: %s", metric_label(t->headline), no_asym_reason(t, sm));
    paragraph(d, line, MARGIN_X, CONTENT_W, 9.0, true, COL_TEXT);
  }

  if (!t->comb) {
    paragraph(d, "Every trial of this test was rejected: no figures.", MARGIN_X, CONTENT_W, 9.0,
              false, COL_ERR);
    trials_table(d, t);
  } else if (t->comb->n_trials == 0) {
    char msg[200];
    d->y += 4.0;
    snprintf(msg, sizeof msg,
             "The analysis found no %s in the accepted trials, so there are no metrics, curves or "
             "bars; the quality flags below say why.",
             kind_plural(test_kind(t), 2));
    paragraph(d, msg, MARGIN_X, CONTENT_W, 9.0, false, COL_ERR);
    trials_table(d, t);
  } else {
    metrics_table(d, t);
    trials_table(d, t);
    overlay_section(d, t);
    bars_section(d, t);
  }
  flags_section(d, t);
}

/* ======================================================================================
 * Trends
 * ====================================================================================== */

static void
trend_plot(Doc *d, const StanceReportTrend *tr)
{
  const StanceReport *r = d->r;
  char title[200], buf[64];
  snprintf(title, sizeof title, "%s: %s asymmetry (%s)", protocol_title(tr->protocol),
           metric_label(tr->metric), tr->formula[0] ? tr->formula : "no formula");
  char *ct = clean_dup(title, false);
  if (!ct) {
    d->oom = 1;
    return;
  }
  heading(d, ct, 200.0);
  free(ct);
  if (tr->n_points == 0) {
    paragraph(d, "No session has a value yet.", MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
    return;
  }
  bool lsi = strcmp(tr->formula, "lsi") == 0;
  double g = r->green_below_pct, rd = r->red_above_pct;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < tr->n_points; i++) {
    lo = fmin(lo, tr->points[i].asym);
    hi = fmax(hi, tr->points[i].asym);
  }
  double first = tr->points[0].asym;
  if (tr->has_mdc) {
    lo = fmin(lo, first - tr->mdc95);
    hi = fmax(hi, first + tr->mdc95);
  }
  /* Keep symmetry and the amber band in view. */
  if (lsi) {
    hi = fmax(hi, hi > 100.0 ? 100.0 + rd + 2.0 : 100.0);
    lo = fmin(lo, 100.0 - rd - 2.0);
  } else {
    bool signed_f = strcmp(tr->formula, "pct_diff") != 0;
    hi = fmax(hi, rd + 2.0);
    lo = fmin(lo, signed_f ? -(rd + 2.0) : 0.0);
  }
  nice_range(&lo, &hi, 6);
  Plot p = {MARGIN_X + 46.0, 0.0, CONTENT_W - 56.0, 150.0, 0.0, 1.0, lo, hi};
  int64_t t0 = tr->points[0].started_unix_ms, t1 = tr->points[tr->n_points - 1].started_unix_ms;
  double span_days = (double)(t1 - t0) / 86400000.0;
  p.xmin = -0.06 * fmax(span_days, 1.0);
  p.xmax = span_days + 0.06 * fmax(span_days, 1.0);
  need(d, p.h + 80.0);
  double legend_y = d->y + 7.0;
  p.y0 = d->y + 20.0;

  /* Light zones as faint bands, then the MDC band, then the grid and axes over them. */
  cairo_t *cr = d->cr;
  cairo_save(cr);
  cairo_rectangle(cr, p.x0, p.y0, p.w, p.h);
  cairo_clip(cr);
  double zones[2][2];
  int nz = 0;
  if (lsi) {
    zones[nz][0] = 100.0 - g;
    zones[nz++][1] = 100.0 + g;
  } else {
    zones[nz][0] = -g;
    zones[nz++][1] = g;
  }
  for (int z = 0; z < nz; z++) {
    Rgb c = COL_GREEN;
    cairo_set_source_rgba(cr, c.r, c.g, c.b, 0.07);
    double ya = py(&p, fmax(zones[z][0], lo)), yb = py(&p, fmin(zones[z][1], hi));
    cairo_rectangle(cr, p.x0, yb, p.w, ya - yb);
    cairo_fill(cr);
  }
  if (tr->has_mdc && tr->mdc95 > 0.0) {
    set_rgb(d, COL_BAND);
    double ya = py(&p, first - tr->mdc95), yb = py(&p, first + tr->mdc95);
    cairo_rectangle(cr, p.x0, yb, p.w, ya - yb);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  plot_axes(d, &p, "session date", "asymmetry (%)", false);
  /* Threshold lines. */
  double th[4];
  int nth = 0;
  if (lsi) {
    th[nth++] = 100.0 - g;
    th[nth++] = 100.0 - rd;
    th[nth++] = 100.0 + g;
    th[nth++] = 100.0 + rd;
  } else {
    th[nth++] = g;
    th[nth++] = rd;
    if (strcmp(tr->formula, "pct_diff") != 0) {
      th[nth++] = -g;
      th[nth++] = -rd;
    }
  }
  for (int i = 0; i < nth; i++) {
    if (th[i] < lo || th[i] > hi)
      continue;
    Rgb c = (i % 2 == 0) ? COL_AMBER : COL_RED;
    set_rgb(d, c);
    cairo_set_line_width(cr, 0.7);
    double dash[] = {3.0, 2.0};
    cairo_set_dash(cr, dash, 2, 0.0);
    cairo_move_to(cr, p.x0, py(&p, th[i]));
    cairo_line_to(cr, p.x0 + p.w, py(&p, th[i]));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0.0);
  }
  /* The line through the sessions, then the points coloured by their light. */
  set_rgb(d, COL_MUTED);
  cairo_set_line_width(cr, 0.8);
  for (size_t i = 0; i < tr->n_points; i++) {
    double x = px(&p, (double)(tr->points[i].started_unix_ms - t0) / 86400000.0);
    double y = py(&p, tr->points[i].asym);
    if (i == 0)
      cairo_move_to(cr, x, y);
    else
      cairo_line_to(cr, x, y);
  }
  cairo_stroke(cr);
  double last_label = -1e9, last_date = -1e9;
  font(d, 6.5, false);
  for (size_t i = 0; i < tr->n_points; i++) {
    const StanceReportTrendPoint *pt = &tr->points[i];
    double x = px(&p, (double)(pt->started_unix_ms - t0) / 86400000.0);
    double y = py(&p, pt->asym);
    StanceLight li = stance_report_light(tr->formula, pt->asym, g, rd);
    if (pt->is_this_session) {
      set_rgb(d, COL_TEXT);
      cairo_set_line_width(cr, 1.0);
      cairo_new_sub_path(cr);
      cairo_arc(cr, x, y, 6.5, 0.0, 2.0 * M_PI);
      cairo_stroke(cr);
    }
    dot(d, x, y, 4.2, light_colour(li));
    /* Value and stronger limb above the point, when there is room. */
    char lab[64];
    snprintf(lab, sizeof lab, "%s %s", fmt_num(pt->asym, 1, buf, sizeof buf),
             pt->stronger == STANCE_SIDE_LEFT    ? "L"
             : pt->stronger == STANCE_SIDE_RIGHT ? "R"
                                                 : "=");
    font(d, 6.5, false);
    double w = text_w(d, lab);
    if (x - w / 2.0 > last_label + 3.0 || i + 1 == tr->n_points) {
      /* On a white patch, so that the line through the points does not cross the text. */
      cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.85);
      cairo_rectangle(cr, x - w / 2.0 - 1.5, y - 16.0, w + 3.0, 8.5);
      cairo_fill(cr);
      set_rgb(d, COL_TEXT);
      text_at(d, x, y - 9.5, lab, AL_CENTER);
      last_label = x + w / 2.0;
    }
    /* Dates under the axis, when there is room. */
    fmt_date(pt->started_unix_ms, buf, sizeof buf);
    double dw = text_w(d, buf);
    if (x - dw / 2.0 > last_date + 4.0) {
      set_rgb(d, COL_MUTED);
      text_at(d, x, p.y0 + p.h + 10.0, buf, AL_CENTER);
      set_rgb(d, COL_TEXT);
      cairo_set_line_width(cr, 0.6);
      cairo_move_to(cr, x, p.y0 + p.h);
      cairo_line_to(cr, x, p.y0 + p.h + 3.0);
      cairo_stroke(cr);
      last_date = x + dw / 2.0;
    }
  }
  LegendItem li[3];
  size_t nli = 0;
  char band[96];
  if (tr->has_mdc) {
    snprintf(band, sizeof band, "first session \u00b1 MDC95 (%s %%)",
             fmt_num(tr->mdc95, 1, buf, sizeof buf));
    li[nli++] = (LegendItem){COL_BAND, band, 3};
  }
  li[nli++] = (LegendItem){COL_AMBER, "amber threshold", 2};
  li[nli++] = (LegendItem){COL_RED, "red threshold", 2};
  legend_row(d, legend_y, li, nli);
  d->y = p.y0 + p.h + 26.0;

  /* In words: the change since the first session against MDC95. */
  char line[400], a[48], b[48], c[48];
  const StanceReportTrendPoint *last = &tr->points[tr->n_points - 1];
  if (tr->n_points < 2) {
    snprintf(line, sizeof line, "One session so far: the trend needs a second one.");
  } else if (tr->has_mdc) {
    double ch = last->asym - first;
    snprintf(line, sizeof line,
             "%zu sessions. From %s %% to %s %%: a change of %s percentage points, %s the MDC95 of "
             "%s %%%s.",
             tr->n_points, fmt_num(first, 1, a, sizeof a), fmt_num(last->asym, 1, b, sizeof b),
             fmt_num(ch, 1, c, sizeof c), fabs(ch) > tr->mdc95 ? "beyond" : "within",
             fmt_num(tr->mdc95, 1, buf, sizeof buf),
             fabs(ch) > tr->mdc95 ? " (a real change)" : " (may be measurement noise)");
  } else {
    snprintf(line, sizeof line,
             "%zu sessions. From %s %% to %s %%; no MDC95 (it needs two or more values within a "
             "session), so the change cannot be told from noise.",
             tr->n_points, fmt_num(first, 1, a, sizeof a), fmt_num(last->asym, 1, b, sizeof b));
  }
  paragraph(d, line, MARGIN_X, CONTENT_W, 8.0, false, COL_TEXT);
  snprintf(line, sizeof line,
           "Points are coloured by their traffic light; the ringed point is this session; labels "
           "give the value and the stronger limb (L, R).");
  paragraph(d, line, MARGIN_X, CONTENT_W, 7.5, false, COL_MUTED);
}

static void
trends_section(Doc *d)
{
  const StanceReport *r = d->r;
  new_page(d);
  if (!d->dry) {
    char link[64];
    snprintf(link, sizeof link, "page=%d pos=[0 0]", d->page);
    cairo_pdf_surface_add_outline(d->surf, CAIRO_PDF_OUTLINE_ROOT, "Trends", link, 0);
  }
  font(d, 15.0, true);
  set_rgb(d, COL_ACCENT);
  text_at(d, MARGIN_X, d->y + 14.0, "Trends across sessions", AL_LEFT);
  d->y += 22.0;
  if (r->n_trends == 0) {
    paragraph(d,
              "No trend: this athlete has no other stored session of these tests. The headline "
              "asymmetry of each test will be followed here from the next session on.",
              MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
    return;
  }
  paragraph(d,
            "Each test's headline asymmetry per session (mean of the session's trials), oldest "
            "first.",
            MARGIN_X, CONTENT_W, 8.5, false, COL_MUTED);
  for (size_t i = 0; i < r->n_trends; i++)
    trend_plot(d, &r->trends[i]);
}

static void
notes_section(Doc *d)
{
  heading(d, "Notes", 30.0);
  if (d->notes[0])
    paragraph(d, d->notes, MARGIN_X, CONTENT_W, 9.0, false, COL_TEXT);
  else
    paragraph(d, "No notes.", MARGIN_X, CONTENT_W, 9.0, false, COL_MUTED);
}

/* ======================================================================================
 * Rendering and writing
 * ====================================================================================== */

static void
render(Doc *d)
{
  d->page = 0;
  new_page(d);
  header_block(d);
  summary_section(d);
  legend_section(d);
  for (size_t i = 0; i < d->n_tests; i++)
    test_pages(d, &d->tests[i]);
  trends_section(d);
  notes_section(d);
  cairo_show_page(d->cr);
}

typedef struct {
  FILE *fp; /* NULL: count only */
  int err;  /* errno of the first failed write */
} Sink;

static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int len)
{
  Sink *s = closure;
  if (s->err)
    return CAIRO_STATUS_WRITE_ERROR;
  if (s->fp && len > 0) {
    errno = 0;
    if (fwrite(data, 1, len, s->fp) != len) {
      s->err = errno ? errno : EIO;
      return CAIRO_STATUS_WRITE_ERROR;
    }
  }
  return CAIRO_STATUS_SUCCESS;
}

static int
check_model(const StanceReport *r, StanceError *err)
{
  if (!(isfinite(r->green_below_pct) && isfinite(r->red_above_pct) && r->green_below_pct > 0.0 &&
        r->green_below_pct <= r->red_above_pct && r->red_above_pct <= 100.0))
    return stance_error_set(err, STANCE_ERANGE,
                            "traffic-light bands green_below_pct = %.6g, red_above_pct = %.6g: "
                            "expected 0 < green <= red <= 100 (defaults 10 and 15)",
                            r->green_below_pct, r->red_above_pct);
  if (!r->athlete_name)
    return stance_error_set(err, STANCE_EINVAL,
                            "the report has no athlete_name (expected the athlete's name or "
                            "pseudonym)");
  if (!isfinite(r->body_mass_kg))
    return stance_error_set(
        err, STANCE_ERANGE,
        "body_mass_kg is not finite (expected kilograms, or <= 0 when unknown)");
  if (r->n_trials > 0 && !r->trials)
    return stance_error_set(err, STANCE_EINVAL, "n_trials is %zu but trials is NULL", r->n_trials);
  for (size_t i = 0; i < r->n_trials; i++) {
    const StanceReportTrial *t = &r->trials[i];
    if (!t->an)
      return stance_error_set(err, STANCE_EINVAL,
                              "trial %d (trials[%zu]) has no analysis (an is NULL; expected "
                              "stance_analyse()'s result)",
                              t->number, i);
    if (!t->rec)
      return stance_error_set(err, STANCE_EINVAL,
                              "trial %d (trials[%zu]) has no recording (rec is NULL; the "
                              "force-time overlay needs it)",
                              t->number, i);
    if (t->rec->sample_rate_hz <= 0.0 || !isfinite(t->rec->sample_rate_hz) ||
        (t->rec->n_samples > 0 && !t->rec->status))
      return stance_error_set(err, STANCE_EINVAL,
                              "trial %d (trials[%zu]): the recording is not usable (rate %.6g Hz, "
                              "%zu samples)",
                              t->number, i, t->rec->sample_rate_hz, t->rec->n_samples);
    for (size_t k = 0; k < i; k++)
      if (r->trials[k].number == t->number)
        return stance_error_set(err, STANCE_EINVAL,
                                "trial number %d appears twice (trials[%zu] and trials[%zu]); "
                                "expected each trial once",
                                t->number, k, i);
  }
  if (r->n_trends > 0 && !r->trends)
    return stance_error_set(err, STANCE_EINVAL, "n_trends is %zu but trends is NULL", r->n_trends);
  for (size_t i = 0; i < r->n_trends; i++) {
    const StanceReportTrend *t = &r->trends[i];
    if (t->n_points > 0 && !t->points)
      return stance_error_set(err, STANCE_EINVAL,
                              "trend %zu (%s) has %zu points but points is NULL", i, t->metric,
                              t->n_points);
    if (t->has_mdc && !(isfinite(t->mdc95) && t->mdc95 >= 0.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "trend %zu (%s): mdc95 = %.6g, expected a finite value >= 0", i,
                              t->metric, t->mdc95);
    for (size_t k = 0; k < t->n_points; k++) {
      const StanceReportTrendPoint *p = &t->points[k];
      if (!isfinite(p->asym))
        return stance_error_set(err, STANCE_ERANGE,
                                "trend %zu (%s), point %zu: the asymmetry is not finite", i,
                                t->metric, k);
      if (k > 0 && p->started_unix_ms < t->points[k - 1].started_unix_ms)
        return stance_error_set(err, STANCE_EINVAL,
                                "trend %zu (%s): point %zu is older than point %zu (expected "
                                "oldest first)",
                                i, t->metric, k, k - 1);
    }
  }
  return STANCE_OK;
}

static void
doc_free(Doc *d)
{
  free(d->athlete);
  free(d->place);
  free(d->board);
  free(d->calib);
  free(d->sex);
  free(d->injury_date);
  free(d->injury_notes);
  free(d->notes);
  free(d->generator);
  tests_free(d);
}

/* One pass over a PDF surface writing to sink. Returns the page count, or a negative code. */
static int
run_pass(Doc *d, Sink *sink, bool dry, int total, StanceError *err, const char *path)
{
  d->dry = dry;
  d->total_pages = total;
  d->surf = cairo_pdf_surface_create_for_stream(sink_write, sink, PAGE_W, PAGE_H);
  if (cairo_surface_status(d->surf) != CAIRO_STATUS_SUCCESS) {
    int code = stance_error_set(err, STANCE_ENOMEM, "cannot write '%s': cairo: %s", path,
                                cairo_status_to_string(cairo_surface_status(d->surf)));
    cairo_surface_destroy(d->surf);
    return code;
  }
  cairo_pdf_surface_restrict_to_version(d->surf, CAIRO_PDF_VERSION_1_5);
  if (!dry) {
    char title[300];
    snprintf(title, sizeof title, "Asymmetry report: %s", d->athlete);
    cairo_pdf_surface_set_metadata(d->surf, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(d->surf, CAIRO_PDF_METADATA_CREATOR, d->generator);
    cairo_pdf_surface_set_metadata(d->surf, CAIRO_PDF_METADATA_SUBJECT,
                                   "Inter-limb asymmetry from force plates");
    struct tm tm;
    if (local_tm(d->generated_ms, &tm)) {
      char iso[40];
      long off = tm.tm_gmtoff / 60;
      snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
               labs(off) / 60, labs(off) % 60);
      cairo_pdf_surface_set_metadata(d->surf, CAIRO_PDF_METADATA_CREATE_DATE, iso);
    }
  }
  d->cr = cairo_create(d->surf);
  /* Round caps and joins read better on thin plot lines. */
  cairo_set_line_cap(d->cr, CAIRO_LINE_CAP_BUTT);
  if (!dry)
    cairo_pdf_surface_add_outline(d->surf, CAIRO_PDF_OUTLINE_ROOT, "Summary", "page=1", 0);
  render(d);
  cairo_status_t cs = cairo_status(d->cr);
  int pages = d->page;
  cairo_destroy(d->cr);
  d->cr = NULL;
  cairo_surface_finish(d->surf);
  cairo_status_t ss = cairo_surface_status(d->surf);
  cairo_surface_destroy(d->surf);
  d->surf = NULL;
  if (d->oom)
    return stance_error_set(err, STANCE_ENOMEM, "cannot write '%s': out of memory", path);
  if (sink->err)
    return stance_error_set(err, STANCE_EIO,
                            "cannot write '%s': %s (while writing; any existing file was left "
                            "untouched)",
                            path, strerror(sink->err));
  if (cs != CAIRO_STATUS_SUCCESS || ss != CAIRO_STATUS_SUCCESS)
    return stance_error_set(err, STANCE_EIO, "cannot write '%s': cairo: %s", path,
                            cairo_status_to_string(cs != CAIRO_STATUS_SUCCESS ? cs : ss));
  return pages;
}

int
stance_report_write_pdf(const StanceReport *r, const char *path, StanceError *err)
{
  if (!r)
    return stance_error_set(err, STANCE_EINVAL, "no report model given");
  if (!path || !*path)
    return stance_error_set(err, STANCE_EINVAL, "no output path given for the PDF report");
  int rc = check_model(r, err);
  if (rc < 0)
    return rc;

  Doc d;
  memset(&d, 0, sizeof d);
  d.r = r;
  char gen_default[64];
  snprintf(gen_default, sizeof gen_default, "Stance %s", STANCE_VERSION);
  d.athlete = clean_dup(r->athlete_name, false);
  d.place = clean_dup(r->place, false);
  d.board = clean_dup(r->board_serial, false);
  d.calib = clean_dup(r->calibration_id, false);
  d.sex = clean_dup(r->sex, false);
  d.injury_date = clean_dup(r->injury_date, false);
  d.injury_notes = clean_dup(r->injury_notes, true);
  d.notes = clean_dup(r->notes, true);
  d.generator = clean_dup(r->generator && r->generator[0] ? r->generator : gen_default, false);
  if (!d.athlete || !d.place || !d.board || !d.calib || !d.sex || !d.injury_date ||
      !d.injury_notes || !d.notes || !d.generator) {
    doc_free(&d);
    return stance_error_set(err, STANCE_ENOMEM, "cannot write '%s': out of memory", path);
  }
  d.generated_ms = r->generated_unix_ms;
  if (d.generated_ms == 0)
    d.generated_ms = (int64_t)time(NULL) * 1000;
  fmt_time(d.generated_ms, false, d.generated, sizeof d.generated);
  fmt_time(r->session_unix_ms, true, d.session_time, sizeof d.session_time);

  rc = build_tests(&d, err);
  if (rc < 0) {
    doc_free(&d);
    return rc;
  }
  /* Pass 1 counts the pages; pass 2 writes them with "page N of M". */
  Sink count = {NULL, 0};
  int pages = run_pass(&d, &count, true, 0, err, path);
  if (pages < 0) {
    doc_free(&d);
    return pages;
  }
  StanceAtomicFile f;
  rc = stance_atomic_open(&f, path, err);
  if (rc < 0) {
    doc_free(&d);
    return rc;
  }
  Sink out = {f.fp, 0};
  int pages2 = run_pass(&d, &out, false, pages, err, path);
  doc_free(&d);
  if (pages2 < 0) {
    stance_atomic_abort(&f);
    return pages2;
  }
  return stance_atomic_commit(&f, err);
}
