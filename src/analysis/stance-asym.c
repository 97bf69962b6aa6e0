/* stance-asym.c: inter-limb asymmetry formulas (see stance-asym.h and docs/methods.md,
 * "Asymmetry").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every formula compares magnitudes of the same quantity on the two limbs: negative values are
 * refused (a negative left value and a positive right value have no meaningful "percent
 * difference"), and so is any combination that would divide by zero. The refusal is
 * STANCE_ERANGE with a message naming both values, so callers can leave the asymmetry absent
 * with that reason rather than report a made-up number.
 */
#include "stance-asym.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static const char *const formula_names[STANCE_ASYM_COUNT] = {
    [STANCE_ASYM_DEFAULT] = "default",     [STANCE_ASYM_LSI] = "lsi",
    [STANCE_ASYM_PCT_DIFF] = "pct_diff",   [STANCE_ASYM_LR_SUM] = "lr_sum",
    [STANCE_ASYM_LR_MEAN] = "lr_mean",     [STANCE_ASYM_SYM_ANGLE] = "sym_angle",
    [STANCE_ASYM_LOG_RATIO] = "log_ratio",
};

static const char *const formula_texts[STANCE_ASYM_COUNT] = {
    [STANCE_ASYM_DEFAULT] = "the protocol's default formula",
    [STANCE_ASYM_LSI] = "involved / uninvolved * 100 (weaker / stronger * 100 when no limb is "
                        "involved)",
    [STANCE_ASYM_PCT_DIFF] = "(stronger - weaker) / stronger * 100",
    [STANCE_ASYM_LR_SUM] = "(L - R) / (L + R) * 100",
    [STANCE_ASYM_LR_MEAN] = "(L - R) / ((L + R) / 2) * 100",
    [STANCE_ASYM_SYM_ANGLE] = "(atan(L / R) - 45 deg) / 90 deg * 100",
    [STANCE_ASYM_LOG_RATIO] = "ln(L / R) * 100",
};

/* Aliases accepted by stance_asym_formula_from_name(), already normalised (lower case,
 * underscores). */
static const struct {
  const char *alias;
  StanceAsymFormula f;
} formula_aliases[] = {
    {"percent_difference", STANCE_ASYM_PCT_DIFF},
    {"bishop", STANCE_ASYM_PCT_DIFF},
    {"si", STANCE_ASYM_LR_MEAN},
    {"zifchock", STANCE_ASYM_SYM_ANGLE},
};

const char *
stance_asym_formula_name(StanceAsymFormula f)
{
  if ((int)f < 0 || f >= STANCE_ASYM_COUNT)
    return "unknown";
  return formula_names[f];
}

const char *
stance_asym_formula_text(StanceAsymFormula f)
{
  if ((int)f < 0 || f >= STANCE_ASYM_COUNT)
    return "unknown formula";
  return formula_texts[f];
}

bool
stance_asym_formula_from_name(const char *name, StanceAsymFormula *out)
{
  if (!name)
    return false;
  /* Normalise: any case, dashes for underscores. The longest name or alias is 18 characters,
   * so anything that does not fit the buffer is unknown. */
  char buf[32];
  size_t n = strlen(name);
  if (n == 0 || n >= sizeof buf)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)name[i]);
    buf[i] = c == '-' ? '_' : c;
  }
  buf[n] = '\0';

  for (int f = 0; f < STANCE_ASYM_COUNT; f++) {
    if (strcmp(buf, formula_names[f]) == 0) {
      if (out)
        *out = (StanceAsymFormula)f;
      return true;
    }
  }
  for (size_t i = 0; i < sizeof formula_aliases / sizeof formula_aliases[0]; i++) {
    if (strcmp(buf, formula_aliases[i].alias) == 0) {
      if (out)
        *out = formula_aliases[i].f;
      return true;
    }
  }
  return false;
}

StanceAsymFormula
stance_asym_default(StanceProtocol p, StanceSide involved)
{
  if (involved == STANCE_SIDE_LEFT || involved == STANCE_SIDE_RIGHT)
    return STANCE_ASYM_LSI;
  const StanceProtocolInfo *info = stance_protocol_info(p);
  if (info && info->needs_side)
    return STANCE_ASYM_PCT_DIFF;
  return STANCE_ASYM_LR_SUM;
}

/* The refusal every formula shares: names the formula, both values and what it needs. */
static int
refuse(StanceError *err, StanceAsymFormula f, double l, double r, const char *why)
{
  return stance_error_set(err, STANCE_ERANGE,
                          "asymmetry %s is undefined for L = %.9g, R = %.9g: %s", formula_names[f],
                          l, r, why);
}

int
stance_asym_compute(StanceAsymFormula f, double l, double r, StanceSide involved, double *value,
                    StanceSide *stronger, StanceError *err)
{
  if ((int)f <= STANCE_ASYM_DEFAULT || f >= STANCE_ASYM_COUNT)
    return stance_error_set(err, STANCE_EINVAL,
                            "asymmetry formula %d is not a concrete formula (expected lsi, "
                            "pct_diff, lr_sum, lr_mean, sym_angle or log_ratio; resolve "
                            "\"default\" with stance_asym_default())",
                            (int)f);
  if (!isfinite(l) || !isfinite(r))
    return refuse(err, f, l, r, "both values must be finite");
  if (l < 0.0 || r < 0.0)
    return refuse(err, f, l, r,
                  "the formulas compare magnitudes and need L >= 0 and R >= 0 "
                  "(report a negative quantity by its magnitude)");
  if (l == 0.0 && r == 0.0)
    return refuse(err, f, l, r, "both values are zero");

  double hi = l > r ? l : r;
  double lo = l > r ? r : l;
  double v;
  switch (f) {
  case STANCE_ASYM_LSI:
    if (involved == STANCE_SIDE_LEFT || involved == STANCE_SIDE_RIGHT) {
      double inv = involved == STANCE_SIDE_LEFT ? l : r;
      double uninv = involved == STANCE_SIDE_LEFT ? r : l;
      if (uninv == 0.0)
        return refuse(err, f, l, r,
                      involved == STANCE_SIDE_LEFT
                          ? "the uninvolved (right) value is zero (expected > 0)"
                          : "the uninvolved (left) value is zero (expected > 0)");
      v = inv / uninv * 100.0;
    } else {
      v = lo / hi * 100.0; /* hi > 0: both zero was refused above */
    }
    break;
  case STANCE_ASYM_PCT_DIFF: v = (hi - lo) / hi * 100.0; break;
  /* mean(L, R) is computed as 0.5 L + 0.5 R: halving is exact, and unlike (L + R) / 2 it
   * cannot overflow to infinity and silently give 0 for huge values. */
  case STANCE_ASYM_LR_SUM: v = (l - r) / (0.5 * l + 0.5 * r) * 50.0; break;
  case STANCE_ASYM_LR_MEAN: v = (l - r) / (0.5 * l + 0.5 * r) * 100.0; break;
  case STANCE_ASYM_SYM_ANGLE:
    if (l == 0.0 || r == 0.0)
      return refuse(err, f, l, r, "the symmetry angle needs L > 0 and R > 0");
    /* Zifchock 2008: SA = (45 deg - atan(L/R)) / 90 deg * 100; the sign is turned so that,
     * like the other signed formulas, + means left larger. With L, R > 0 atan(L/R) lies in
     * (0, 90) deg, so Zifchock's correction for |SA| > 100 never applies. */
    v = (atan(l / r) * (180.0 / M_PI) - 45.0) / 90.0 * 100.0;
    break;
  case STANCE_ASYM_LOG_RATIO:
    if (l == 0.0 || r == 0.0)
      return refuse(err, f, l, r, "the log ratio needs L > 0 and R > 0");
    v = log(l / r) * 100.0;
    break;
  default: return refuse(err, f, l, r, "unknown formula");
  }
  /* Overflow (e.g. L + R beyond DBL_MAX) or an underflowed ratio would give inf or NaN. */
  if (!isfinite(v))
    return refuse(err, f, l, r, "the result is not finite (values out of range)");

  if (value)
    *value = v;
  if (stronger)
    *stronger = l > r ? STANCE_SIDE_LEFT : (r > l ? STANCE_SIDE_RIGHT : STANCE_SIDE_BOTH);
  return STANCE_OK;
}
