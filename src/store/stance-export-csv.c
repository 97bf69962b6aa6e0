/* stance-export-csv.c: force-time and results as CSV for spreadsheets (see stance-export-csv.h and
 * docs/exports.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers never go through printf's floating-point conversions: the C library follows LC_NUMERIC,
 * and a GUI running in a decimal-comma locale must write the same bytes as the CLI. Every number
 * is scaled to an integer with exact powers of ten and its digits written one by one (as
 * cli_fmt() does):
 *   - forces with 4 decimals (0.1 mN, below one ADC count of our cells, about 0.4 mN), centres
 *     of pressure with 3 (1 um), time with as many decimals as the sample period needs (at most
 *     6), counts as integers;
 *   - results and metadata with 15 significant digits, trailing zeros removed (a double holds 15
 *     to 17; 15 are always exact through one scaling by a power of ten, so the text equals the
 *     analysis value to a relative 1e-14), in plain notation from 1e-5 to 1e15 and as
 *     d.ddde-NN outside.
 * Rows are built in a buffer and written with fwrite; a write failure (ENOSPC on a full disk,
 * EIO) is seen through ferror()/fflush() and reported as STANCE_EIO with the OS reason.
 */
#include "stance-export-csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stance-asym.h"
#include "stance-protocol.h"
#include "stance-utf8.h"

/* ======================================================================================
 * Numbers through integers
 * ====================================================================================== */

static const double exact_p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t u_p10[] = {1ull,
                                 10ull,
                                 100ull,
                                 1000ull,
                                 10000ull,
                                 100000ull,
                                 1000000ull,
                                 10000000ull,
                                 100000000ull,
                                 1000000000ull,
                                 10000000000ull,
                                 100000000000ull,
                                 1000000000000ull,
                                 10000000000000ull,
                                 100000000000000ull,
                                 1000000000000000ull};

/* v * 10^k: one correctly rounded operation while |k| <= 22 (10^k is exact); beyond, a few
 * (only for magnitudes no force-plate quantity reaches). */
static double
scale10(double v, int k)
{
  while (k > 22) {
    v *= 1e22;
    k -= 22;
  }
  while (k < -22) {
    v /= 1e22;
    k += 22;
  }
  return k >= 0 ? v * exact_p10[k] : v / exact_p10[-k];
}

/* Decimal digits of a into p; returns the end. */
static char *
put_u64(char *p, uint64_t a)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + a % 10);
    a /= 10;
  } while (a > 0);
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

static char *
put_i64(char *p, int64_t v)
{
  if (v < 0) {
    *p++ = '-';
    return put_u64(p, (uint64_t)(-(v + 1)) + 1u);
  }
  return put_u64(p, (uint64_t)v);
}

/* Writes v with 15 significant digits, trailing zeros removed, into p (at most 24 bytes);
 * returns the end. Non-finite values never reach here (callers leave the cell empty). */
static char *
put_sig(char *p, double v)
{
  if (v == 0.0 || !isfinite(v)) {
    *p++ = '0';
    return p;
  }
  double a = fabs(v);
  int e = (int)floor(log10(a));
  /* D = a * 10^(14 - e) rounded: 15 digits when e is the decimal exponent. log10 may be off by
   * one at powers of ten, and rounding may carry into a 16th digit: both are corrected here. */
  uint64_t d = 0;
  for (int pass = 0; pass < 4; pass++) {
    long long r = llround(scale10(a, 14 - e));
    if (r >= 1000000000000000ll) {
      e++;
      continue;
    }
    if (r < 100000000000000ll) {
      e--;
      continue;
    }
    d = (uint64_t)r;
    break;
  }
  if (d == 0) /* not reached for finite non-zero a; the output stays a number regardless */
    d = (uint64_t)llround(scale10(a, 14 - e));
  char dig[16];
  for (int i = 14; i >= 0; i--) {
    dig[i] = (char)('0' + d % 10);
    d /= 10;
  }
  int nd = 15;
  while (nd > 1 && dig[nd - 1] == '0')
    nd--;
  if (v < 0)
    *p++ = '-';
  if (e >= -5 && e < 15) {
    if (e >= 0) {
      for (int i = 0; i <= e; i++)
        *p++ = i < nd ? dig[i] : '0';
      if (nd > e + 1) {
        *p++ = '.';
        for (int i = e + 1; i < nd; i++)
          *p++ = dig[i];
      }
    } else {
      *p++ = '0';
      *p++ = '.';
      for (int i = 0; i < -e - 1; i++)
        *p++ = '0';
      for (int i = 0; i < nd; i++)
        *p++ = dig[i];
    }
  } else {
    *p++ = dig[0];
    if (nd > 1) {
      *p++ = '.';
      for (int i = 1; i < nd; i++)
        *p++ = dig[i];
    }
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    int ae = e < 0 ? -e : e;
    if (ae < 10)
      *p++ = '0';
    p = put_u64(p, (uint64_t)ae);
  }
  return p;
}

/* Writes v with exactly `decimals` decimals (0-15) into p, never "-0.000"; values too large for
 * that many decimals get fewer, and beyond 9e15 the significant form. Returns the end. */
static char *
put_fixed(char *p, double v, int decimals)
{
  if (!isfinite(v)) {
    *p++ = '0';
    return p;
  }
  if (decimals < 0)
    decimals = 0;
  if (decimals > 15)
    decimals = 15;
  while (decimals > 0 && fabs(v * exact_p10[decimals]) >= 9.0e15)
    decimals--;
  double scaled = v * exact_p10[decimals];
  if (fabs(scaled) >= 9.0e15)
    return put_sig(p, v);
  long long q = llround(scaled);
  uint64_t a = q < 0 ? (uint64_t)(-q) : (uint64_t)q;
  if (q < 0)
    *p++ = '-';
  p = put_u64(p, a / u_p10[decimals]);
  if (decimals > 0) {
    *p++ = '.';
    uint64_t frac = a % u_p10[decimals];
    for (int k = decimals - 1; k >= 0; k--)
      *p++ = (char)('0' + (frac / u_p10[k]) % 10);
  }
  return p;
}

/* A number as text in a small buffer (metadata). */
static const char *
sig_text(double v, char *buf)
{
  *put_sig(buf, v) = '\0';
  return buf;
}

/* "2026-11-24T09:30:00.000Z" (UTC). */
static const char *
iso_time(int64_t unix_ms, char *buf, size_t n)
{
  int64_t ms = unix_ms % 1000;
  int64_t s = unix_ms / 1000;
  if (ms < 0) {
    ms += 1000;
    s -= 1;
  }
  time_t t = (time_t)s;
  struct tm tm;
  if (n < 32 || !gmtime_r(&t, &tm)) {
    if (n > 0)
      buf[0] = '\0';
    return buf;
  }
  char *p = buf;
  p = put_i64(p, (int64_t)tm.tm_year + 1900);
  const int parts[] = {tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
  const char seps[] = {'-', '-', 'T', ':', ':'};
  for (int i = 0; i < 5; i++) {
    *p++ = seps[i];
    *p++ = (char)('0' + parts[i] / 10);
    *p++ = (char)('0' + parts[i] % 10);
  }
  *p++ = '.';
  *p++ = (char)('0' + ms / 100);
  *p++ = (char)('0' + ms / 10 % 10);
  *p++ = (char)('0' + ms % 10);
  *p++ = 'Z';
  *p = '\0';
  return buf;
}

/* ======================================================================================
 * Output with error tracking
 * ====================================================================================== */

typedef struct {
  FILE *out;
  const char *what; /* "force-time CSV", "results CSV" */
  int failed_errno; /* first errno seen with a failed write, 0 when none */
  bool failed;
} Out;

static void
out_bytes(Out *o, const char *s, size_t n)
{
  if (o->failed || n == 0)
    return;
  errno = 0;
  if (fwrite(s, 1, n, o->out) != n) {
    o->failed = true;
    o->failed_errno = errno ? errno : EIO;
  }
}

static void
out_str(Out *o, const char *s)
{
  out_bytes(o, s, strlen(s));
}

/* s as one CSV field (RFC 4180: quoted, inner quotes doubled, when it holds a comma, quote, CR or
 * LF); invalid UTF-8 bytes become U+FFFD. */
static void
out_field(Out *o, const char *s)
{
  if (!s)
    s = "";
  size_t len = strlen(s);
  char small[3 * 256 + 4];
  char *big = NULL;
  const char *t = s;
  if (!stance_utf8_check((const uint8_t *)s, len, false, NULL)) {
    size_t need = 3 * len + 1;
    char *buf = need <= sizeof small ? small : (big = malloc(need));
    if (!buf) {
      o->failed = true;
      o->failed_errno = ENOMEM;
      return;
    }
    t = stance_utf8_clean(s, buf, need);
  }
  if (strpbrk(t, ",\"\r\n") == NULL) {
    out_str(o, t);
  } else {
    out_bytes(o, "\"", 1);
    for (const char *p = t; *p; p++) {
      if (*p == '"')
        out_bytes(o, "\"", 1);
      out_bytes(o, p, 1);
    }
    out_bytes(o, "\"", 1);
  }
  free(big);
}

/* "# key: value\n". The value is one CSV field (quoted when it holds a comma or quote); line
 * breaks and other control characters in it become spaces so that the line stays one line. */
static void
out_meta(Out *o, const char *key, const char *value)
{
  if (!value)
    return;
  char v[600];
  size_t n = 0;
  for (const char *p = value; *p && n + 1 < sizeof v; p++)
    v[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
  v[n] = '\0';
  out_str(o, "# ");
  out_str(o, key);
  out_str(o, ": ");
  out_field(o, v);
  out_str(o, "\n");
}

/* Ends the write: flushes, and turns any failure into STANCE_EIO naming the OS reason. */
static int
out_finish(Out *o, StanceError *err)
{
  if (!o->failed) {
    errno = 0;
    if (fflush(o->out) != 0) {
      o->failed = true;
      o->failed_errno = errno ? errno : EIO;
    } else if (ferror(o->out)) {
      o->failed = true;
      o->failed_errno = EIO;
    }
  }
  if (o->failed)
    return stance_error_set(err, STANCE_EIO, "writing the %s failed: %s", o->what,
                            strerror(o->failed_errno));
  return STANCE_OK;
}

/* ======================================================================================
 * Force-time
 * ====================================================================================== */

static const char *const cell_names[STANCE_N_CELLS] = {"l1", "l2", "l3", "l4",
                                                       "r1", "r2", "r3", "r4"};

/* Name of channel c of the layout in the status column. */
static const char *
channel_name(StanceLayout layout, size_t c)
{
  switch (layout) {
  case STANCE_LAYOUT_CELLS: return c < STANCE_N_CELLS ? cell_names[c] : "?";
  case STANCE_LAYOUT_PLATES: return c == 0 ? "left" : c == 1 ? "right" : "?";
  case STANCE_LAYOUT_COMBINED: return c == 0 ? "total" : "?";
  default: return "?";
  }
}

/* The status column: "ok", "gap", or space-separated "overflow" and "sat:<channel>" tokens. */
static char *
put_status(char *p, const StanceRecording *rec, uint16_t st)
{
  if (st == 0) {
    memcpy(p, "ok", 2);
    return p + 2;
  }
  bool first = true;
  if (st & STANCE_STATUS_GAP) {
    memcpy(p, "gap", 3);
    p += 3;
    first = false;
  }
  if (st & STANCE_STATUS_OVERFLOW) {
    if (!first)
      *p++ = ' ';
    memcpy(p, "overflow", 8);
    p += 8;
    first = false;
  }
  for (size_t c = 0; c < 8; c++) {
    if (!(st & (1u << c)))
      continue;
    if (!first)
      *p++ = ' ';
    memcpy(p, "sat:", 4);
    p += 4;
    const char *name = c < rec->n_channels ? channel_name(rec->layout, c) : "?";
    size_t l = strlen(name);
    if (name[0] == '?') {
      /* A bit beyond the layout's channels: name it by number. */
      memcpy(p, "ch", 2);
      p = put_u64(p + 2, (uint64_t)c);
    } else {
      memcpy(p, name, l);
      p += l;
    }
    first = false;
  }
  if (first) { /* only reserved bits set */
    memcpy(p, "ok", 2);
    p += 2;
  }
  return p;
}

/* Decimals for the time column: the fewest (0-6) that write every sample time exactly, 6 when
 * the period has no short decimal form (e.g. 1200 Hz). */
static int
time_decimals(double rate)
{
  double period = 1.0 / rate;
  for (int d = 0; d <= 6; d++) {
    double s = period * exact_p10[d];
    if (fabs(s - nearbyint(s)) < 1e-9 * (s > 1 ? s : 1))
      return d;
  }
  return 6;
}

static void
meta_common(Out *o, const StanceCsvMeta *meta)
{
  if (!meta)
    return;
  char b[48];
  out_meta(o, "generator", meta->generator);
  if (meta->exported_unix_ms)
    out_meta(o, "exported", iso_time(meta->exported_unix_ms, b, sizeof b));
  if (meta->athlete && meta->athlete[0])
    out_meta(o, "athlete", meta->athlete);
  if (meta->session && meta->session[0])
    out_meta(o, "session", meta->session);
}

int
stance_csv_write_recording(FILE *out, const StanceRecording *rec, const StanceCsvMeta *meta,
                           StanceError *err)
{
  if (!out || !rec)
    return stance_error_set(err, STANCE_EINVAL, "force-time CSV: no output stream or recording");
  if (!(rec->sample_rate_hz > 0.0) || !isfinite(rec->sample_rate_hz))
    return stance_error_set(err, STANCE_EINVAL,
                            "force-time CSV: sample rate %g Hz is not usable (expected a finite "
                            "rate above 0)",
                            rec->sample_rate_hz);
  size_t expect_ch = rec->layout == STANCE_LAYOUT_CELLS    ? STANCE_N_CELLS
                     : rec->layout == STANCE_LAYOUT_PLATES ? 2
                                                           : 1;
  if (rec->n_channels != expect_ch ||
      (rec->n_samples > 0 &&
       (!rec->status || (rec->layout == STANCE_LAYOUT_CELLS ? !rec->counts : !rec->force_n))))
    return stance_error_set(err, STANCE_EINVAL,
                            "force-time CSV: the recording's arrays do not match its %s layout",
                            stance_layout_name(rec->layout));
  Out o = {out, "force-time CSV", 0, false};
  char b[640], n1[40], n2[40];
  const StanceMeta *m = &rec->meta;
  bool cells = rec->layout == STANCE_LAYOUT_CELLS;
  bool limbs = rec->layout != STANCE_LAYOUT_COMBINED;
  bool cop = !cells && rec->cop_mm != NULL;

  /* ---- Metadata ---- */
  out_meta(&o, "format", "stance-force-csv 1");
  meta_common(&o, meta);
  if (meta && meta->trial_number > 0) {
    *put_i64(b, meta->trial_number) = '\0';
    out_meta(&o, "trial", b);
  }
  if (m->athlete[0] && !(meta && meta->athlete && meta->athlete[0]))
    out_meta(&o, "athlete", m->athlete);
  const StanceProtocolInfo *pi = stance_protocol_info(m->protocol);
  out_meta(&o, "protocol", pi ? pi->name : "unknown (not stated by the source)");
  char side[48];
  stance_side_text(side, sizeof side, m->protocol, m->side);
  out_meta(&o, "side", side);
  out_meta(&o, "layout", stance_layout_name(rec->layout));
  snprintf(b, sizeof b, "%s Hz%s", sig_text(rec->sample_rate_hz, n1),
           m->rate_assumed ? " (assumed: the source gave no rate)" : "");
  out_meta(&o, "rate", b);
  *put_u64(b, (uint64_t)rec->n_samples) = '\0';
  out_meta(&o, "samples", b);
  *put_fixed(n1, stance_recording_duration(rec), 3) = '\0';
  snprintf(b, sizeof b, "%s s", n1);
  out_meta(&o, "duration", b);
  if (m->start_unix_ms)
    out_meta(&o, "start", iso_time(m->start_unix_ms, b, sizeof b));
  if (cells)
    out_meta(&o, "units",
             "time_s in s from the first sample; *_n vertical force in N (4 decimals); "
             "*_counts raw 24-bit ADC counts");
  else if (cop)
    out_meta(&o, "units",
             "time_s in s from the first sample; *_n vertical force in N (4 decimals); "
             "*_cop_*_mm centre of pressure in mm in the plate frame (x right / y forward); empty "
             "below 20 N");
  else
    out_meta(&o, "units",
             "time_s in s from the first sample; *_n vertical force in N (4 decimals)");
  if (cells)
    out_meta(&o, "method",
             "cell force = (counts - offset) x gain; plate force = sum of its 4 cells; "
             "total = left + right");
  else if (limbs)
    out_meta(&o, "method", "plate forces as recorded by the source; total = left + right");
  else
    out_meta(&o, "method", "one combined vertical force as recorded by the source");
  if (m->sides_assumed)
    out_meta(&o, "sides", "assumed: the source did not say which plate is left");
  if (m->board_serial[0])
    out_meta(&o, "board", m->board_serial);
  if (m->firmware_version[0])
    out_meta(&o, "firmware", m->firmware_version);
  if (rec->has_calibration) {
    const StanceCalibration *c = &rec->calib;
    out_meta(&o, "calibration", c->id[0] ? c->id : "(no id)");
    if (c->board_serial[0])
      out_meta(&o, "calibration board", c->board_serial);
    if (c->created_unix_ms)
      out_meta(&o, "calibration created", iso_time(c->created_unix_ms, b, sizeof b));
    if (cells) {
      for (int ch = 0; ch < STANCE_N_CELLS; ch++) {
        char key[32];
        snprintf(key, sizeof key, "calibration %s", cell_names[ch]);
        snprintf(b, sizeof b, "offset %s counts; gain %s N/count",
                 sig_text(c->offset_counts[ch], n1), sig_text(c->gain_n_per_count[ch], n2));
        out_meta(&o, key, b);
      }
    }
  } else if (m->calibration_id[0]) {
    out_meta(&o, "calibration", m->calibration_id);
  } else {
    out_meta(&o, "calibration", "none (forces as imported)");
  }
  out_meta(&o, "source", m->source[0] ? m->source : "unknown");
  size_t gaps = stance_recording_count_gaps(rec);
  *put_fixed(n1, (double)gaps / rec->sample_rate_hz, 3) = '\0';
  char *p = put_u64(b, (uint64_t)gaps);
  snprintf(p, sizeof b - (size_t)(p - b),
           " samples (%s s); their rows are kept with empty force "
           "cells; nothing is interpolated",
           n1);
  out_meta(&o, "gaps", b);
  size_t sat = stance_recording_count_saturated(rec);
  *put_u64(b, (uint64_t)sat) = '\0';
  out_meta(&o, "saturated", b);
  for (int k = 0; k < m->n_extra && k < STANCE_META_MAX_EXTRA; k++) {
    char key[48];
    snprintf(key, sizeof key, "meta %s", m->extra[k].key);
    out_meta(&o, key, m->extra[k].value);
  }

  /* ---- Header row ---- */
  out_str(&o, "time_s");
  if (limbs)
    out_str(&o, ",left_n,right_n,total_n");
  else
    out_str(&o, ",total_n");
  if (cells) {
    for (int ch = 0; ch < STANCE_N_CELLS; ch++) {
      out_str(&o, ",");
      out_str(&o, cell_names[ch]);
      out_str(&o, "_n");
    }
    for (int ch = 0; ch < STANCE_N_CELLS; ch++) {
      out_str(&o, ",");
      out_str(&o, cell_names[ch]);
      out_str(&o, "_counts");
    }
  }
  if (cop) {
    if (limbs)
      out_str(&o, ",left_cop_x_mm,left_cop_y_mm,right_cop_x_mm,right_cop_y_mm");
    else
      out_str(&o, ",cop_x_mm,cop_y_mm");
  }
  out_str(&o, ",status\n");

  /* ---- Rows ---- */
  int tdec = time_decimals(rec->sample_rate_hz);
  char row[1024];
  for (size_t i = 0; i < rec->n_samples && !o.failed; i++) {
    uint16_t st = rec->status[i];
    bool gap = (st & STANCE_STATUS_GAP) != 0;
    char *q = row;
    q = put_fixed(q, (double)i / rec->sample_rate_hz, tdec);
    if (limbs) {
      for (int s = 0; s < 3; s++) {
        *q++ = ',';
        if (!gap)
          q = put_fixed(q, stance_recording_force_at(rec, i, (StanceSel)s), 4);
      }
    } else {
      *q++ = ',';
      if (!gap)
        q = put_fixed(q, rec->force_n[i], 4);
    }
    if (cells) {
      for (int ch = 0; ch < STANCE_N_CELLS; ch++) {
        *q++ = ',';
        if (!gap)
          q = put_fixed(q, stance_recording_cell_force(rec, i, ch), 4);
      }
      for (int ch = 0; ch < STANCE_N_CELLS; ch++) {
        *q++ = ',';
        if (!gap)
          q = put_i64(q, rec->counts[i * STANCE_N_CELLS + (size_t)ch]);
      }
    }
    if (cop) {
      for (size_t c = 0; c < rec->n_channels; c++) {
        double f = rec->force_n[i * rec->n_channels + c];
        bool valid = !gap && f > STANCE_COP_THRESHOLD_N;
        for (int k = 0; k < 2; k++) {
          *q++ = ',';
          double v = rec->cop_mm[(i * rec->n_channels + c) * 2 + (size_t)k];
          if (valid && isfinite(v))
            q = put_fixed(q, v, 3);
        }
      }
    }
    *q++ = ',';
    q = put_status(q, rec, st);
    *q++ = '\n';
    out_bytes(&o, row, (size_t)(q - row));
  }
  return out_finish(&o, err);
}

/* ======================================================================================
 * Results
 * ====================================================================================== */

static const char *
stronger_name(StanceSide s)
{
  switch (s) {
  case STANCE_SIDE_LEFT: return "left";
  case STANCE_SIDE_RIGHT: return "right";
  default: return "even";
  }
}

/* "id", or "id(key=value; key=value)" when the method has parameters. */
static void
method_text(const StanceMethod *mth, char *buf, size_t n)
{
  size_t o = (size_t)snprintf(buf, n, "%s", mth->id);
  int written = 0;
  for (int i = 0; i < mth->n_params && i < STANCE_METHOD_MAX_PARAMS && o < n; i++) {
    const StanceParam *p = &mth->params[i];
    char num[40];
    const char *val = p->str;
    if (!p->str[0]) {
      if (!isfinite(p->num))
        continue;
      val = sig_text(p->num, num);
    }
    o += (size_t)snprintf(buf + o, n - o, "%s%s=%s", written++ == 0 ? "(" : "; ", p->key, val);
  }
  if (written > 0 && o < n)
    snprintf(buf + o, n - o, ")");
}

static void
out_num(Out *o, double v)
{
  char b[40];
  out_bytes(o, b, (size_t)(put_sig(b, v) - b));
}

static void
results_row(Out *o, int number, const StanceAnalysis *a, const StanceTrial *t,
            const StanceMetric *mt)
{
  bool limbs = a->layout != STANCE_LAYOUT_COMBINED;
  char b[48];
  *put_i64(b, number) = '\0';
  out_str(o, b);
  out_str(o, ",");
  out_field(o, a->input);
  out_str(o, ",");
  if (t) {
    *put_i64(b, t->index) = '\0';
    out_str(o, b);
    out_str(o, ",");
    out_field(o, t->kind);
    out_str(o, ",");
    out_str(o, stance_side_name(t->side));
    out_str(o, ",");
    out_num(o, t->start_s);
    out_str(o, ",");
    out_num(o, t->end_s);
  } else {
    /* A recording-level metric (rep count, load shares, balance measures): no rep. */
    out_str(o, ",session,");
    out_str(o, stance_side_name(a->side));
    out_str(o, ",,");
  }
  out_str(o, ",");
  out_field(o, mt->id);
  out_str(o, ",");
  out_field(o, mt->unit);
  out_str(o, ",");
  char meth[512];
  method_text(&mt->method, meth, sizeof meth);
  out_field(o, meth);
  for (int s = 0; s < 3; s++) {
    out_str(o, ",");
    double v;
    if ((s == STANCE_SEL_TOTAL || limbs) && stance_metric_get(mt, (StanceSel)s, &v) && isfinite(v))
      out_num(o, v);
  }
  out_str(o, ",");
  if (mt->has_asym && limbs && isfinite(mt->asym.value)) {
    out_field(o, mt->asym.formula_id);
    out_str(o, ",");
    out_num(o, mt->asym.value);
    out_str(o, ",");
    out_str(o, stronger_name(mt->asym.stronger));
  } else {
    out_str(o, ",,");
  }
  out_str(o, "\n");
}

int
stance_csv_write_results(FILE *out, const StanceAnalysis *const *as, const int *numbers, size_t n,
                         const StanceCsvMeta *meta, StanceError *err)
{
  if (!out || (n > 0 && (!as || !numbers)))
    return stance_error_set(err, STANCE_EINVAL, "results CSV: no output stream or analyses");
  for (size_t k = 0; k < n; k++)
    if (!as[k])
      return stance_error_set(err, STANCE_EINVAL, "results CSV: analysis %zu is missing", k + 1);
  Out o = {out, "results CSV", 0, false};
  char b[640], key[64], n1[40];
  out_meta(&o, "format", "stance-results-csv 1");
  meta_common(&o, meta);
  out_meta(&o, "units",
           "SI as each row's unit column says (N; N/kg; BW; N/s; N.s; m; s; m/s; W; %; count; "
           "mm); numbers with up to 15 significant digits");
  out_meta(&o, "columns",
           "trial = the session's trial number; rep = the repetition (jump/hop/rep/hold) "
           "within the trial; rep is empty for trial-level metrics (kind session)");
  for (size_t k = 0; k < n; k++) {
    const StanceAnalysis *a = as[k];
    char tn[24];
    *put_i64(tn, numbers[k]) = '\0';
    char side[48];
    stance_side_text(side, sizeof side, a->protocol, a->side);
    snprintf(key, sizeof key, "trial %s protocol", tn);
    snprintf(b, sizeof b, "%s (%s)", stance_protocol_name(a->protocol), side);
    out_meta(&o, key, b);
    snprintf(key, sizeof key, "trial %s onset", tn);
    method_text(&a->onset_method, b, sizeof b);
    out_meta(&o, key, b[0] ? b : "none");
    snprintf(key, sizeof key, "trial %s filter", tn);
    method_text(&a->cond.filter, b, sizeof b);
    out_meta(&o, key, b[0] ? b : "filter.raw");
    snprintf(key, sizeof key, "trial %s formula", tn);
    snprintf(b, sizeof b, "%s = %s%s", stance_asym_formula_name(a->formula),
             stance_asym_formula_text(a->formula),
             a->involved != STANCE_SIDE_BOTH
                 ? (a->involved == STANCE_SIDE_LEFT ? " (involved limb: left)"
                                                    : " (involved limb: right)")
                 : "");
    out_meta(&o, key, b);
    snprintf(key, sizeof key, "trial %s gravity", tn);
    snprintf(b, sizeof b, "%s m/s2", sig_text(a->cond.gravity_m_s2, n1));
    out_meta(&o, key, b);
    if (a->cond.has_body_weight) {
      snprintf(key, sizeof key, "trial %s body weight", tn);
      char n2[40];
      snprintf(b, sizeof b, "%s N (%s kg)", sig_text(a->cond.body_weight_n, n1),
               sig_text(a->cond.body_mass_kg, n2));
      out_meta(&o, key, b);
    }
  }
  out_str(&o, "trial,input,rep,kind,side,start_s,end_s,metric,unit,method,left,right,total,"
              "asym_formula,asym_value,stronger\n");
  for (size_t k = 0; k < n && !o.failed; k++) {
    const StanceAnalysis *a = as[k];
    for (size_t i = 0; i < a->n_trials; i++) {
      const StanceTrial *t = &a->trials[i];
      for (size_t j = 0; j < t->n_metrics; j++)
        results_row(&o, numbers[k], a, t, &t->metrics[j]);
    }
    for (size_t j = 0; j < a->n_metrics; j++)
      results_row(&o, numbers[k], a, NULL, &a->metrics[j]);
  }
  return out_finish(&o, err);
}
