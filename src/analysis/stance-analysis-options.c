/* stance-analysis-options.c: analysis option defaults and the parsers of the CLI's spellings for
 * the onset rule and the low-pass filter (see stance-analysis.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers inside the spellings ("bw-3sd", "butter:4:12.5") are read by a small decimal parser of
 * our own rather than strtod(): strtod() follows LC_NUMERIC, and a GUI running in a locale with a
 * decimal comma must read "12.5" the same way the CLI does.
 */
#include "stance-analysis.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
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
