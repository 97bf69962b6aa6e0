/* stance-summary.c: per-trial asymmetry and the session summary across trials (see
 * stance-analysis.h, stance_analysis_compute_asymmetry() and stance_analysis_summarise(), and
 * docs/methods.md, "Summary").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Summary rules, per metric id (in the order the ids first appear in the trials):
 *   - left, right, total: mean, SD, CV % over the trials that have that value;
 *   - bilateral session (every trial holding the metric has side BOTH): the asymmetry is the
 *     formula applied to the mean left and mean right value of the trials that have both values
 *     (so both means come from the same trials); asym_stats are the statistics of the per-trial
 *     asymmetries and the direction consistency is the % of those trials whose stronger limb is
 *     the summary's stronger limb;
 *   - sided session (some trial has side LEFT or RIGHT: single-leg tests, whose value sits in
 *     the stance limb's slot, and split stances, named by the front foot): the asymmetry of the
 *     mean of the left trials' left values against the mean of the right trials' right values;
 *     absent when one side has no trials. No per-trial asymmetry statistics there: one trial
 *     holds one limb.
 * The formula is always a->formula (resolved) with a->involved, recomputed here from the values
 * so that the summary does not depend on what an earlier pass stored in the trials.
 */
#include "stance-analysis.h"
#include "stance-reliab.h"

#include <stdlib.h>
#include <string.h>

static StanceAsymFormula
resolved_formula(const StanceAnalysis *a)
{
  if (a->formula > STANCE_ASYM_DEFAULT && a->formula < STANCE_ASYM_COUNT)
    return a->formula;
  return stance_asym_default(a->protocol, a->involved);
}

static void
copy_id(char *dst, size_t cap, const char *src)
{
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Fills v with the asymmetry of l and r; false when the formula is undefined for them. */
static bool
asym_value(StanceAsymFormula f, StanceSide involved, double l, double r, StanceAsymValue *v)
{
  double x;
  StanceSide s;
  if (stance_asym_compute(f, l, r, involved, &x, &s, NULL) != STANCE_OK)
    return false;
  memset(v, 0, sizeof *v);
  copy_id(v->formula_id, sizeof v->formula_id, stance_asym_formula_name(f));
  v->value = x;
  v->stronger = s;
  v->involved = f == STANCE_ASYM_LSI ? involved : STANCE_SIDE_BOTH;
  return true;
}

static void
metric_asymmetry(StanceMetric *m, StanceAsymFormula f, StanceSide involved)
{
  m->has_asym = false;
  if (m->no_asym || !(m->has & STANCE_HAS_LEFT) || !(m->has & STANCE_HAS_RIGHT))
    return;
  m->has_asym = asym_value(f, involved, m->left, m->right, &m->asym);
}

void
stance_analysis_compute_asymmetry(StanceAnalysis *a)
{
  if (!a)
    return;
  StanceAsymFormula f = resolved_formula(a);
  /* Split stances load the front and the rear foot: their left/right values within one rep are
   * front against rear, not one limb against the other, and get no asymmetry (the rep reports
   * front_share_pct). The limb comparison is left-front reps against right-front reps, in the
   * summary. */
  const bool split = stance_protocol_is_split_stance(a->protocol);
  for (size_t t = 0; t < a->n_trials; t++) {
    StanceTrial *tr = &a->trials[t];
    for (size_t i = 0; i < tr->n_metrics; i++) {
      if (split) {
        tr->metrics[i].has_asym = false;
        continue;
      }
      metric_asymmetry(&tr->metrics[i], f, a->involved);
    }
  }
  if (split) {
    for (size_t i = 0; i < a->n_metrics; i++)
      a->metrics[i].has_asym = false;
    return;
  }
  /* Session-level metrics with a left and a right value (load shares, per-plate balance
   * measures) follow the same rule. */
  for (size_t i = 0; i < a->n_metrics; i++)
    metric_asymmetry(&a->metrics[i], f, a->involved);
}

static const StanceMetric *
trial_metric(const StanceTrial *t, const char *id)
{
  for (size_t i = 0; i < t->n_metrics; i++)
    if (strcmp(t->metrics[i].id, id) == 0)
      return &t->metrics[i];
  return NULL;
}

static bool
summary_has(const StanceAnalysis *a, const char *id)
{
  for (size_t i = 0; i < a->n_summary; i++)
    if (strcmp(a->summary[i].id, id) == 0)
      return true;
  return false;
}

static StanceSummaryMetric *
summary_append(StanceAnalysis *a)
{
  if (a->n_summary == a->cap_summary) {
    size_t cap = a->cap_summary ? a->cap_summary * 2 : 16;
    StanceSummaryMetric *p = realloc(a->summary, cap * sizeof *p);
    if (!p)
      return NULL;
    a->summary = p;
    a->cap_summary = cap;
  }
  StanceSummaryMetric *s = &a->summary[a->n_summary++];
  memset(s, 0, sizeof *s);
  return s;
}

/* StanceStats of v[0..n); false when n == 0 (or the values are unusable). */
static bool
stats_of(const double *v, size_t n, StanceStats *out)
{
  StanceReliabStats r;
  memset(out, 0, sizeof *out);
  if (n == 0 || stance_reliab_stats(v, n, &r, NULL) != STANCE_OK)
    return false;
  out->n = r.n;
  out->mean = r.mean;
  out->sd = r.has_sd ? r.sd : 0.0;
  out->cv_pct = r.has_cv ? r.cv_pct : 0.0;
  out->has_sd = r.has_sd;
  out->has_cv = r.has_cv;
  return true;
}

static double
mean_of(const double *v, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += v[i];
  return s / (double)n;
}

static bool
is_warmup(const StanceTrial *t)
{
  for (size_t i = 0; i < t->n_flags; i++)
    if (strcmp(t->flags[i].id, "warmup_set") == 0)
      return true;
  return false;
}

/* Scratch arrays, one slot per trial. */
typedef struct {
  double *l, *r, *tot; /* values of the trials that have them */
  double *pl, *pr;     /* paired left and right of bilateral trials with both */
  double *ul, *ur;     /* left trials' left values, right trials' right values */
  double *av;          /* per-trial asymmetry values */
  int *as;             /* per-trial stronger limbs */
} Scratch;

static void
summarise_metric(const StanceAnalysis *a, StanceSummaryMetric *s, const Scratch *w,
                 StanceAsymFormula f)
{
  size_t nl = 0, nr = 0, nt = 0, np = 0, nul = 0, nur = 0, na = 0;
  bool sided = false;
  /* Barbell warm-up sets (flag warmup_set) stay out of the summary when working sets exist: the
   * coach's figures are those of the working load. */
  bool any_warm = false, any_work = false;
  for (size_t t = 0; t < a->n_trials; t++) {
    if (is_warmup(&a->trials[t]))
      any_warm = true;
    else
      any_work = true;
  }
  const bool skip_warm = any_warm && any_work;
  for (size_t t = 0; t < a->n_trials; t++) {
    const StanceTrial *tr = &a->trials[t];
    if (skip_warm && is_warmup(tr))
      continue;
    const StanceMetric *m = trial_metric(tr, s->id);
    if (!m)
      continue;
    bool hl = (m->has & STANCE_HAS_LEFT) != 0;
    bool hr = (m->has & STANCE_HAS_RIGHT) != 0;
    if (hl)
      w->l[nl++] = m->left;
    if (hr)
      w->r[nr++] = m->right;
    if (m->has & STANCE_HAS_TOTAL)
      w->tot[nt++] = m->total;
    if (m->no_asym)
      continue;
    if (tr->side == STANCE_SIDE_LEFT || tr->side == STANCE_SIDE_RIGHT) {
      sided = true;
      if (tr->side == STANCE_SIDE_LEFT && hl)
        w->ul[nul++] = m->left;
      if (tr->side == STANCE_SIDE_RIGHT && hr)
        w->ur[nur++] = m->right;
    } else if (hl && hr) {
      w->pl[np] = m->left;
      w->pr[np] = m->right;
      np++;
      StanceAsymValue v;
      if (asym_value(f, a->involved, m->left, m->right, &v)) {
        w->av[na] = v.value;
        w->as[na] = (int)v.stronger;
        na++;
      }
    }
  }

  /* Sided sessions: a limb's statistics are those of the trials on (or with in front) that
   * limb, so that a split squat's "left" is the left leg leading, not a mix of front and rear. */
  if (sided ? stats_of(w->ul, nul, &s->left) : stats_of(w->l, nl, &s->left))
    s->has |= STANCE_HAS_LEFT;
  if (sided ? stats_of(w->ur, nur, &s->right) : stats_of(w->r, nr, &s->right))
    s->has |= STANCE_HAS_RIGHT;
  if (stats_of(w->tot, nt, &s->total))
    s->has |= STANCE_HAS_TOTAL;

  if (sided) {
    /* Left-trial mean against right-trial mean; bilateral trials mixed into a sided session
     * are not part of this comparison. */
    if (nul > 0 && nur > 0)
      s->has_asym = asym_value(f, a->involved, mean_of(w->ul, nul), mean_of(w->ur, nur), &s->asym);
    return;
  }
  if (np == 0)
    return;
  s->has_asym = asym_value(f, a->involved, mean_of(w->pl, np), mean_of(w->pr, np), &s->asym);
  if (na == 0)
    return;
  stats_of(w->av, na, &s->asym_stats);
  if (!s->has_asym)
    return;
  /* % of the trials whose stronger limb is the summary's stronger limb. When that limb is the
   * trials' most frequent one, stance_reliab_direction() gives it; otherwise (a few large trials
   * outweigh the rest in the means) count it directly. */
  double pct;
  int dominant;
  if (stance_reliab_direction(w->as, na, &pct, &dominant, NULL) != STANCE_OK)
    return;
  if (dominant != (int)s->asym.stronger) {
    size_t k = 0;
    for (size_t i = 0; i < na; i++)
      if (w->as[i] == (int)s->asym.stronger)
        k++;
    pct = (double)k / (double)na * 100.0;
  }
  s->direction_consistency_pct = pct;
  s->has_direction = true;
}

int
stance_analysis_summarise(StanceAnalysis *a)
{
  if (!a)
    return STANCE_EINVAL;
  a->n_summary = 0;
  if (a->n_trials == 0)
    return STANCE_OK;

  /* The ids, in order of first appearance. */
  for (size_t t = 0; t < a->n_trials; t++) {
    const StanceTrial *tr = &a->trials[t];
    for (size_t i = 0; i < tr->n_metrics; i++) {
      const StanceMetric *m = &tr->metrics[i];
      if (summary_has(a, m->id))
        continue;
      StanceSummaryMetric *s = summary_append(a);
      if (!s)
        return STANCE_ENOMEM;
      copy_id(s->id, sizeof s->id, m->id);
      copy_id(s->unit, sizeof s->unit, m->unit);
    }
  }

  size_t n = a->n_trials;
  Scratch w;
  double *buf = malloc(8 * n * sizeof *buf);
  int *as = malloc(n * sizeof *as);
  if (!buf || !as) {
    free(buf);
    free(as);
    a->n_summary = 0;
    return STANCE_ENOMEM;
  }
  w.l = buf;
  w.r = buf + n;
  w.tot = buf + 2 * n;
  w.pl = buf + 3 * n;
  w.pr = buf + 4 * n;
  w.ul = buf + 5 * n;
  w.ur = buf + 6 * n;
  w.av = buf + 7 * n;
  w.as = as;

  StanceAsymFormula f = resolved_formula(a);
  for (size_t i = 0; i < a->n_summary; i++)
    summarise_metric(a, &a->summary[i], &w, f);
  free(buf);
  free(as);
  return STANCE_OK;
}
