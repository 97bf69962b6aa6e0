/* stance-asym.h: inter-limb asymmetry formulas (plain C).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every asymmetry Stance reports is one of these named formulas, written with its id and the
 * stronger limb ("stronger" = the limb with the larger value of the metric; for metrics where
 * smaller is better, such as contact time, it is still the larger value: the docs say so).
 *
 *   lsi            involved / uninvolved * 100 when the involved limb is known, else
 *                  weaker / stronger * 100 (limb symmetry index, %; 100 = symmetric)
 *   pct_diff       (stronger - weaker) / stronger * 100 (Bishop 2018; >= 0)
 *   lr_sum         (L - R) / (L + R) * 100 (signed; + = left larger)
 *   lr_mean        (L - R) / mean(L, R) * 100 (signed; the shiny-vertical-jump app's "SI")
 *   sym_angle      (atan(L / R) - 45 deg) / 90 deg * 100 (Zifchock 2008's symmetry angle with
 *                  the sign turned so that, like the others, + = left larger; needs L, R > 0)
 *   log_ratio      ln(L / R) * 100 (signed; + = left larger)
 *
 * Defaults: pct_diff for unilateral tests, lr_sum for bilateral ones, lsi when the involved limb
 * is set. Values that make a formula undefined (both zero, a negative value where a ratio needs
 * positive ones, a zero denominator) give STANCE_ERANGE with a message naming the values: never
 * NaN or infinity.
 *
 * Threads: reentrant.
 */
#pragma once

#include <stdbool.h>

#include "stance-error.h"
#include "stance-protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  STANCE_ASYM_DEFAULT = 0, /* resolve with stance_asym_default() */
  STANCE_ASYM_LSI,
  STANCE_ASYM_PCT_DIFF,
  STANCE_ASYM_LR_SUM,
  STANCE_ASYM_LR_MEAN,
  STANCE_ASYM_SYM_ANGLE,
  STANCE_ASYM_LOG_RATIO,
  STANCE_ASYM_COUNT
} StanceAsymFormula;

/* "lsi", "pct_diff", "lr_sum", "lr_mean", "sym_angle", "log_ratio" ("default" for DEFAULT). */
const char *stance_asym_formula_name(StanceAsymFormula f);
/* The formula as text, e.g. "(stronger - weaker) / stronger * 100". */
const char *stance_asym_formula_text(StanceAsymFormula f);
/* Parses a name (also accepts dashes, any case, and the aliases "percent-difference", "bishop",
 * "si" (= lr_mean), "zifchock"); false when unknown. */
bool stance_asym_formula_from_name(const char *name, StanceAsymFormula *out);

/* The default formula: LSI when involved is LEFT/RIGHT, else PCT_DIFF for protocols that need a
 * side (unilateral and split-stance tests), else LR_SUM. */
StanceAsymFormula stance_asym_default(StanceProtocol p, StanceSide involved);

/* Computes the asymmetry of left value l and right value r. involved is used by LSI only (BOTH:
 * weaker/stronger). *stronger is LEFT, RIGHT or BOTH when l == r. Returns 0 or STANCE_ERANGE
 * (message names l and r and why the formula is undefined for them). */
int stance_asym_compute(StanceAsymFormula f, double l, double r, StanceSide involved, double *value,
                        StanceSide *stronger, StanceError *err);

#ifdef __cplusplus
}
#endif
