/* stance-analysis-options.c: analysis option defaults, the parsers of the CLI's spellings for
 * the onset rule and the low-pass filter, and the options as one line of text (the form the store
 * keeps with every analysis run; see stance-analysis.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers inside the spellings ("bw-3sd", "butter:4:12.5") are read by a small decimal parser of
 * our own rather than strtod(): strtod() follows LC_NUMERIC, and a GUI running in a locale with a
 * decimal comma must read "12.5" the same way the CLI does.
 */
#include "stance-analysis.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
stance_analysis_options_default(StanceAnalysisOptions *o)
{
  memset(o, 0, sizeof *o);
  o->protocol = STANCE_PROTO_UNKNOWN;
  o->side = STANCE_SIDE_BOTH;
  o->involved = STANCE_SIDE_BOTH;
  o->formula = STANCE_ASYM_DEFAULT;
  o->onset = STANCE_ONSET_DEFAULT;
  o->onset_sd = 5.0;
  o->onset_step_back_s = -1.0; /* the protocol's default (30 ms for jumps, else none) */
  o->onset_n = 20.0;
  o->onset_pct_bw = 5.0;
  o->takeoff_n = 20.0;
  o->peak_rfd_window_s = 0.020;
  o->filter = STANCE_FILTER_DEFAULT;
  o->filter_order = 4;
  o->filter_cutoff_hz = 0.0;
  o->weigh = STANCE_WEIGH_AUTO;
  o->weigh_window_s = 1.0;
  o->weigh_start_s = -1.0;
  o->gravity_m_s2 = 9.81;
  o->external_load_kg = -1.0;
}

/* The spellings, for the messages. */
#define ONSET_SPELLINGS                                                                            \
  "bw-5sd, bw-5sd-30ms, bw-<k>sd (e.g. bw-3sd), bw-<k>sd-<ms>ms, fixed-<N>n (e.g. fixed-20n), "    \
  "pct-<p>bw (e.g. pct-5bw) or default"
#define FILTER_SPELLINGS                                                                           \
  "raw, none, auto, butter:<cutoff_hz> (e.g. butter:12 or butter:12hz), "                          \
  "butter:<order>:<cutoff_hz> (e.g. butter:4:12; order 2, 4, 6 or 8) or default"

/* Lower case, '_' -> '-', surrounding blanks dropped. false when the spelling does not fit. */
static bool
normalise(const char *spec, char *buf, size_t n)
{
  while (*spec == ' ' || *spec == '\t')
    spec++;
  size_t len = strlen(spec);
  while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\t'))
    len--;
  if (len == 0 || len >= n)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)spec[i];
    buf[i] = c == '_' ? '-' : (char)tolower(c);
  }
  buf[len] = '\0';
  return true;
}

/* A plain decimal at *p ("20", "2.5", ".5"; no sign, no exponent), advancing *p past it. Digits
 * are accumulated as an integer and scaled once, so "0.1" reads as the double nearest 0.1 as long
 * as there are at most 15 significant digits (more are refused). */
static bool
read_decimal(const char **p, double *out)
{
  const char *s = *p;
  unsigned long long mant = 0;
  int digits = 0, frac = 0;
  bool any = false, dot = false;
  for (;; s++) {
    if (*s >= '0' && *s <= '9') {
      any = true;
      if (mant == 0 && *s == '0') {
        if (dot)
          frac++;
        continue; /* leading zeros carry no significant digit */
      }
      if (++digits > 15)
        return false;
      mant = mant * 10 + (unsigned long long)(*s - '0');
      if (dot)
        frac++;
    } else if (*s == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any)
    return false;
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (frac > 22)
    return false;
  /* mant < 1e15 and 10^frac are exact doubles: one correctly rounded division. */
  *out = (double)mant / p10[frac];
  *p = s;
  return true;
}

/* Reads a decimal that must be followed by the literal suffix (and nothing after it). */
static bool
read_with_suffix(const char *s, const char *suffix, double *v)
{
  if (!read_decimal(&s, v))
    return false;
  return strcmp(s, suffix) == 0;
}

int
stance_analysis_options_parse_onset(StanceAnalysisOptions *o, const char *spec, StanceError *err)
{
  char b[64];
  if (!spec || !normalise(spec, b, sizeof b))
    return stance_error_set(err, STANCE_EINVAL, "'%s' is not an onset rule (expected %s)",
                            spec ? spec : "", ONSET_SPELLINGS);
  if (strcmp(b, "default") == 0) {
    StanceAnalysisOptions d;
    stance_analysis_options_default(&d);
    o->onset = STANCE_ONSET_DEFAULT;
    o->onset_sd = d.onset_sd;
    o->onset_step_back_s = d.onset_step_back_s;
    o->onset_n = d.onset_n;
    o->onset_pct_bw = d.onset_pct_bw;
    return STANCE_OK;
  }
  double v;
  if (strncmp(b, "bw-", 3) == 0) {
    /* bw-<k>sd or bw-<k>sd-<ms>ms. Without the step-back part the rule has none, even for jumps:
     * "bw-5sd" and "bw-5sd-30ms" are the two variants Owen et al. 2014 compare. */
    const char *p = b + 3;
    if (!read_decimal(&p, &v) || strncmp(p, "sd", 2) != 0)
      return stance_error_set(err, STANCE_EINVAL, "'%s' is not an onset rule (expected %s)", spec,
                              ONSET_SPELLINGS);
    p += 2;
    double back_ms = 0.0;
    if (*p) {
      if (*p != '-' || !read_with_suffix(p + 1, "ms", &back_ms))
        return stance_error_set(err, STANCE_EINVAL,
                                "'%s' is not an onset rule: after '<k>sd' expected a step-back "
                                "such as '-30ms' (accepted: %s)",
                                spec, ONSET_SPELLINGS);
    }
    if (!(v > 0.0 && v <= 50.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "'%s': %g SD is outside the accepted range (expected more than 0 and "
                              "at most 50 SD, e.g. bw-5sd)",
                              spec, v);
    if (back_ms > 1000.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "'%s': a step-back of %g ms is outside the accepted range (expected "
                              "0 to 1000 ms, e.g. bw-5sd-30ms)",
                              spec, back_ms);
    o->onset = STANCE_ONSET_BW_5SD;
    o->onset_sd = v;
    o->onset_step_back_s = back_ms / 1000.0;
    return STANCE_OK;
  }
  if (strncmp(b, "fixed-", 6) == 0) {
    if (!read_with_suffix(b + 6, "n", &v))
      return stance_error_set(err, STANCE_EINVAL, "'%s' is not an onset rule (expected %s)", spec,
                              ONSET_SPELLINGS);
    if (!(v > 0.0 && v <= 1000.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "'%s': a threshold of %g N is outside the accepted range (expected "
                              "more than 0 and at most 1000 N, e.g. fixed-20n)",
                              spec, v);
    o->onset = STANCE_ONSET_FIXED_N;
    o->onset_n = v;
    return STANCE_OK;
  }
  if (strncmp(b, "pct-", 4) == 0) {
    if (!read_with_suffix(b + 4, "bw", &v))
      return stance_error_set(err, STANCE_EINVAL, "'%s' is not an onset rule (expected %s)", spec,
                              ONSET_SPELLINGS);
    if (!(v > 0.0 && v <= 100.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "'%s': %g %% of body weight is outside the accepted range (expected "
                              "more than 0 and at most 100 %%, e.g. pct-5bw)",
                              spec, v);
    o->onset = STANCE_ONSET_PCT_BW;
    o->onset_pct_bw = v;
    return STANCE_OK;
  }
  return stance_error_set(err, STANCE_EINVAL, "'%s' is not an onset rule (expected %s)", spec,
                          ONSET_SPELLINGS);
}

int
stance_analysis_options_parse_filter(StanceAnalysisOptions *o, const char *spec, StanceError *err)
{
  char b[64];
  if (!spec || !normalise(spec, b, sizeof b))
    return stance_error_set(err, STANCE_EINVAL, "'%s' is not a filter (expected %s)",
                            spec ? spec : "", FILTER_SPELLINGS);
  if (strcmp(b, "default") == 0) {
    o->filter = STANCE_FILTER_DEFAULT;
    o->filter_order = 4;
    o->filter_cutoff_hz = 0.0;
    return STANCE_OK;
  }
  if (strcmp(b, "raw") == 0 || strcmp(b, "none") == 0) {
    o->filter = STANCE_FILTER_RAW;
    o->filter_cutoff_hz = 0.0;
    return STANCE_OK;
  }
  if (strcmp(b, "auto") == 0) {
    o->filter = STANCE_FILTER_AUTO;
    o->filter_cutoff_hz = 0.0;
    return STANCE_OK;
  }
  const char *p = NULL;
  if (strncmp(b, "butter:", 7) == 0)
    p = b + 7;
  else if (strncmp(b, "butterworth:", 12) == 0)
    p = b + 12;
  if (!p)
    return stance_error_set(err, STANCE_EINVAL, "'%s' is not a filter (expected %s)", spec,
                            FILTER_SPELLINGS);
  double first, cutoff;
  int order = 4;
  if (!read_decimal(&p, &first))
    return stance_error_set(err, STANCE_EINVAL,
                            "'%s' is not a filter: expected a cutoff in Hz after 'butter:' "
                            "(accepted: %s)",
                            spec, FILTER_SPELLINGS);
  if (*p == ':') {
    p++;
    if (first != floor(first) || !(first == 2 || first == 4 || first == 6 || first == 8))
      return stance_error_set(err, STANCE_ERANGE,
                              "'%s': order %g is not accepted (expected 2, 4, 6 or 8: the total "
                              "order of the forward-backward pair, e.g. butter:4:12)",
                              spec, first);
    order = (int)first;
    if (!read_decimal(&p, &cutoff) || !(*p == '\0' || strcmp(p, "hz") == 0))
      return stance_error_set(err, STANCE_EINVAL,
                              "'%s' is not a filter: expected a cutoff in Hz after the order "
                              "(accepted: %s)",
                              spec, FILTER_SPELLINGS);
  } else if (*p == '\0' || strcmp(p, "hz") == 0) {
    cutoff = first;
  } else {
    return stance_error_set(err, STANCE_EINVAL, "'%s' is not a filter (expected %s)", spec,
                            FILTER_SPELLINGS);
  }
  /* The upper limit is the recording's Nyquist frequency, which only the pipeline knows. */
  if (!(cutoff > 0.0) || !isfinite(cutoff))
    return stance_error_set(err, STANCE_ERANGE,
                            "'%s': a cutoff of %g Hz is not accepted (expected more than 0 Hz and "
                            "less than half the sample rate, e.g. butter:12)",
                            spec, cutoff);
  o->filter = STANCE_FILTER_BUTTERWORTH;
  o->filter_order = order;
  o->filter_cutoff_hz = cutoff;
  return STANCE_OK;
}

/* ======================================================================================
 * Options as text (stance_analysis_options_to_text / _from_text)
 *
 * One line, "key=value" pairs separated by ';', every field, in a fixed order. The store keeps
 * this text with each analysis run so that the run can be repeated exactly: numbers are written
 * with the fewest significant digits (up to 17) that read back to the same double, and both
 * directions run in the "C" locale of the calling thread (uselocale()), whatever LC_NUMERIC the
 * process has, so a GUI in a decimal-comma locale writes and reads the same text as the CLI.
 * ====================================================================================== */

typedef enum {
  OPT_PROTOCOL,
  OPT_SIDE,
  OPT_INVOLVED,
  OPT_FORMULA,
  OPT_ONSET,
  OPT_FILTER,
  OPT_WEIGH,
  OPT_INT,
  OPT_NUM,
} OptKind;

typedef struct {
  const char *key;
  OptKind kind;
  size_t offset; /* of the field in StanceAnalysisOptions */
} OptField;

#define OPT_OFF(member) offsetof(StanceAnalysisOptions, member)

/* The order of the text; every field of StanceAnalysisOptions appears exactly once. */
static const OptField opt_fields[] = {
    {"protocol", OPT_PROTOCOL, OPT_OFF(protocol)},
    {"side", OPT_SIDE, OPT_OFF(side)},
    {"involved", OPT_INVOLVED, OPT_OFF(involved)},
    {"formula", OPT_FORMULA, OPT_OFF(formula)},
    {"onset", OPT_ONSET, OPT_OFF(onset)},
    {"onset_sd", OPT_NUM, OPT_OFF(onset_sd)},
    {"onset_step_back_s", OPT_NUM, OPT_OFF(onset_step_back_s)},
    {"onset_n", OPT_NUM, OPT_OFF(onset_n)},
    {"onset_pct_bw", OPT_NUM, OPT_OFF(onset_pct_bw)},
    {"takeoff_n", OPT_NUM, OPT_OFF(takeoff_n)},
    {"peak_rfd_window_s", OPT_NUM, OPT_OFF(peak_rfd_window_s)},
    {"filter", OPT_FILTER, OPT_OFF(filter)},
    {"filter_order", OPT_INT, OPT_OFF(filter_order)},
    {"filter_cutoff_hz", OPT_NUM, OPT_OFF(filter_cutoff_hz)},
    {"weigh", OPT_WEIGH, OPT_OFF(weigh)},
    {"weigh_window_s", OPT_NUM, OPT_OFF(weigh_window_s)},
    {"weigh_start_s", OPT_NUM, OPT_OFF(weigh_start_s)},
    {"gravity_m_s2", OPT_NUM, OPT_OFF(gravity_m_s2)},
    {"external_load_kg", OPT_NUM, OPT_OFF(external_load_kg)},
};
#define N_OPT_FIELDS (sizeof opt_fields / sizeof opt_fields[0])

#define OPT_KEYS                                                                                   \
  "protocol, side, involved, formula, onset, onset_sd, onset_step_back_s, onset_n, onset_pct_bw, " \
  "takeoff_n, peak_rfd_window_s, filter, filter_order, filter_cutoff_hz, weigh, weigh_window_s, "  \
  "weigh_start_s, gravity_m_s2, external_load_kg"

static const char *const onset_names[] = {
    [STANCE_ONSET_DEFAULT] = "default",
    [STANCE_ONSET_BW_5SD] = "bw_5sd",
    [STANCE_ONSET_FIXED_N] = "fixed_n",
    [STANCE_ONSET_PCT_BW] = "pct_bw",
};
static const char *const filter_names[] = {
    [STANCE_FILTER_DEFAULT] = "default",
    [STANCE_FILTER_RAW] = "raw",
    [STANCE_FILTER_BUTTERWORTH] = "butterworth",
    [STANCE_FILTER_AUTO] = "auto",
};
static const char *const weigh_names[] = {
    [STANCE_WEIGH_STILLEST] = "stillest",
    [STANCE_WEIGH_FIRST] = "first",
    [STANCE_WEIGH_AUTO] = "auto",
};
#define N_NAMES(a) (sizeof(a) / sizeof(a)[0])

/* Name of enum value v in names[], or NULL when out of range. */
static const char *
enum_name(const char *const *names, size_t n, int v)
{
  return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

/* The value of v in names[] (exact, lower case as written by to_text), -1 when none. */
static int
enum_value(const char *const *names, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], s) == 0)
      return (int)i;
  return -1;
}

/* Shortest text that reads back to v; call with the "C" locale in use. */
static void
opt_format_double(double v, char *buf, size_t n)
{
  if (v == 0.0 && !signbit(v)) {
    snprintf(buf, n, "0");
    return;
  }
  if (!isfinite(v)) {
    /* Never produced by valid options; written so that from_text refuses it by name. */
    snprintf(buf, n, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    return;
  }
  if (fabs(v) < 1e15 && v == trunc(v)) {
    snprintf(buf, n, "%.0f", v); /* "20", not %g's "2e+01"; -0 stays "-0" */
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return; /* %.17g always reads back exactly, so the loop ends with a match */
  }
}

/* Appends text to buf like snprintf does (counting what did not fit). */
static void
opt_append(char *buf, size_t n, size_t *len, const char *s)
{
  size_t l = strlen(s);
  if (*len < n) {
    size_t room = n - *len - 1;
    size_t c = l < room ? l : room;
    memcpy(buf + *len, s, c);
    buf[*len + c] = '\0';
  }
  *len += l;
}

int
stance_analysis_options_to_text(const StanceAnalysisOptions *o, char *buf, size_t n)
{
  if (n > 0)
    buf[0] = '\0';
  if (!o)
    return 0;
  locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  locale_t old = c_loc != (locale_t)0 ? uselocale(c_loc) : (locale_t)0;
  size_t len = 0;
  for (size_t i = 0; i < N_OPT_FIELDS; i++) {
    const OptField *f = &opt_fields[i];
    const char *field = (const char *)o + f->offset;
    char val[48];
    const char *s = val;
    switch (f->kind) {
    case OPT_PROTOCOL: s = stance_protocol_name(*(const StanceProtocol *)field); break;
    case OPT_SIDE:
    case OPT_INVOLVED: s = stance_side_name(*(const StanceSide *)field); break;
    case OPT_FORMULA: s = stance_asym_formula_name(*(const StanceAsymFormula *)field); break;
    case OPT_ONSET:
      s = enum_name(onset_names, N_NAMES(onset_names), (int)*(const StanceOnsetRule *)field);
      break;
    case OPT_FILTER:
      s = enum_name(filter_names, N_NAMES(filter_names), (int)*(const StanceFilterKind *)field);
      break;
    case OPT_WEIGH:
      s = enum_name(weigh_names, N_NAMES(weigh_names), (int)*(const StanceWeighRule *)field);
      break;
    case OPT_INT: snprintf(val, sizeof val, "%d", *(const int *)field); break;
    case OPT_NUM: opt_format_double(*(const double *)field, val, sizeof val); break;
    }
    if (!s)
      s = "unknown"; /* an enum out of range: from_text refuses it, naming the key */
    if (i > 0)
      opt_append(buf, n, &len, ";");
    opt_append(buf, n, &len, f->key);
    opt_append(buf, n, &len, "=");
    opt_append(buf, n, &len, s);
  }
  if (c_loc != (locale_t)0) {
    uselocale(old);
    freelocale(c_loc);
  }
  return len > INT_MAX ? INT_MAX : (int)len;
}

/* A finite decimal number ("5", "-1", "0.03", "1e-05"): digits, one point, an optional exponent;
 * no hex, no "inf"/"nan", no blanks. Call with the "C" locale in use. */
static bool
opt_parse_double(const char *s, double *out)
{
  const char *p = s;
  if (*p == '+' || *p == '-')
    p++;
  bool digits = false;
  while (*p >= '0' && *p <= '9') {
    p++;
    digits = true;
  }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      p++;
      digits = true;
    }
  }
  if (!digits)
    return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!(*p >= '0' && *p <= '9'))
      return false;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  if (*p != '\0')
    return false;
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  /* ERANGE with a tiny result is a subnormal, which reads back exactly; an overflow is inf. */
  if (end != p || !isfinite(v))
    return false;
  *out = v;
  return true;
}

/* One "key=value" pair (already trimmed) into o. */
static int
opt_parse_pair(StanceAnalysisOptions *o, const char *key, const char *val, bool *seen,
               StanceError *err)
{
  const OptField *f = NULL;
  size_t idx = 0;
  for (size_t i = 0; i < N_OPT_FIELDS; i++)
    if (strcmp(opt_fields[i].key, key) == 0) {
      f = &opt_fields[i];
      idx = i;
      break;
    }
  if (!f)
    return stance_error_set(err, STANCE_EFORMAT,
                            "analysis options: unknown key '%s' (expected one of %s)", key,
                            OPT_KEYS);
  if (seen[idx])
    return stance_error_set(err, STANCE_EFORMAT,
                            "analysis options: key '%s' is given twice (expected each key once)",
                            key);
  seen[idx] = true;
  char *field = (char *)o + f->offset;
  switch (f->kind) {
  case OPT_PROTOCOL: {
    StanceProtocol p = stance_protocol_from_name(val);
    if (p == STANCE_PROTO_UNKNOWN && strcmp(val, "unknown") != 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: protocol '%s' is not a protocol (expected a "
                              "protocol id such as cmj or sl-cmj, or unknown)",
                              val);
    *(StanceProtocol *)field = p;
    return STANCE_OK;
  }
  case OPT_SIDE:
  case OPT_INVOLVED: {
    StanceSide s;
    if (!stance_side_from_name(val, &s))
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: %s '%s' is not a side (expected left, right or "
                              "both)",
                              key, val);
    *(StanceSide *)field = s;
    return STANCE_OK;
  }
  case OPT_FORMULA: {
    StanceAsymFormula fm;
    if (!stance_asym_formula_from_name(val, &fm))
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: formula '%s' is not an asymmetry formula "
                              "(expected default, lsi, pct_diff, lr_sum, lr_mean, sym_angle or "
                              "log_ratio)",
                              val);
    *(StanceAsymFormula *)field = fm;
    return STANCE_OK;
  }
  case OPT_ONSET: {
    int v = enum_value(onset_names, N_NAMES(onset_names), val);
    if (v < 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: onset '%s' is not an onset rule (expected "
                              "default, bw_5sd, fixed_n or pct_bw)",
                              val);
    *(StanceOnsetRule *)field = (StanceOnsetRule)v;
    return STANCE_OK;
  }
  case OPT_FILTER: {
    int v = enum_value(filter_names, N_NAMES(filter_names), val);
    if (v < 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: filter '%s' is not a filter kind (expected "
                              "default, raw, butterworth or auto)",
                              val);
    *(StanceFilterKind *)field = (StanceFilterKind)v;
    return STANCE_OK;
  }
  case OPT_WEIGH: {
    int v = enum_value(weigh_names, N_NAMES(weigh_names), val);
    if (v < 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: weigh '%s' is not a weighing rule (expected "
                              "stillest, first or auto)",
                              val);
    *(StanceWeighRule *)field = (StanceWeighRule)v;
    return STANCE_OK;
  }
  case OPT_INT: {
    const char *p = val;
    if (*p == '-' || *p == '+')
      p++;
    bool ok = *p != '\0';
    for (; *p; p++)
      ok = ok && *p >= '0' && *p <= '9';
    long v = 0;
    if (ok) {
      errno = 0;
      v = strtol(val, NULL, 10);
      ok = errno == 0 && v >= INT_MIN && v <= INT_MAX;
    }
    if (!ok)
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: %s '%s' is not an integer (expected a whole "
                              "number such as 4)",
                              key, val);
    *(int *)field = (int)v;
    return STANCE_OK;
  }
  case OPT_NUM: {
    double v;
    if (!opt_parse_double(val, &v))
      return stance_error_set(err, STANCE_EFORMAT,
                              "analysis options: %s '%s' is not a number (expected a finite "
                              "decimal with a '.' point, such as 0.02 or -1)",
                              key, val);
    *(double *)field = v;
    return STANCE_OK;
  }
  }
  return stance_error_set(err, STANCE_EFORMAT, "analysis options: key '%s' cannot be read", key);
}

/* Copies [s, e) without surrounding blanks into buf; false when it does not fit. */
static bool
opt_trim_copy(const char *s, const char *e, char *buf, size_t n)
{
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  if ((size_t)(e - s) >= n)
    return false;
  memcpy(buf, s, (size_t)(e - s));
  buf[e - s] = '\0';
  return true;
}

int
stance_analysis_options_from_text(StanceAnalysisOptions *o, const char *text, StanceError *err)
{
  if (!o || !text)
    return stance_error_set(err, STANCE_EINVAL, "analysis options: no options or no text given");
  StanceAnalysisOptions tmp;
  stance_analysis_options_default(&tmp);
  bool seen[N_OPT_FIELDS] = {false};
  locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (c_loc == (locale_t)0)
    return stance_error_set(err, STANCE_ENOMEM, "analysis options: cannot create the C locale");
  locale_t old = uselocale(c_loc);
  int r = STANCE_OK;
  const char *p = text;
  while (r == STANCE_OK && *p) {
    const char *end = strchr(p, ';');
    if (!end)
      end = p + strlen(p);
    char pair[256];
    if (!opt_trim_copy(p, end, pair, sizeof pair)) {
      r = stance_error_set(err, STANCE_EFORMAT,
                           "analysis options: the pair at offset %zu is longer than %zu "
                           "characters (expected key=value)",
                           (size_t)(p - text), sizeof pair - 1);
      break;
    }
    if (pair[0] != '\0') { /* empty pairs (";;", a trailing ';') are skipped */
      char *eq = strchr(pair, '=');
      if (!eq) {
        r = stance_error_set(err, STANCE_EFORMAT,
                             "analysis options: '%s' at offset %zu is not key=value (expected "
                             "e.g. onset_sd=5)",
                             pair, (size_t)(p - text));
        break;
      }
      *eq = '\0';
      char key[64], val[192];
      if (!opt_trim_copy(pair, eq, key, sizeof key) ||
          !opt_trim_copy(eq + 1, eq + 1 + strlen(eq + 1), val, sizeof val)) {
        r = stance_error_set(err, STANCE_EFORMAT,
                             "analysis options: key or value too long at offset %zu",
                             (size_t)(p - text));
        break;
      }
      if (key[0] == '\0') {
        r = stance_error_set(err, STANCE_EFORMAT,
                             "analysis options: empty key at offset %zu (expected key=value)",
                             (size_t)(p - text));
        break;
      }
      r = opt_parse_pair(&tmp, key, val, seen, err);
    }
    p = *end ? end + 1 : end;
  }
  uselocale(old);
  freelocale(c_loc);
  if (r == STANCE_OK)
    *o = tmp;
  return r;
}
