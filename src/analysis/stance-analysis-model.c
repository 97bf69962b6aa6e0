/* stance-analysis-model.c: building, looking up and freeing analysis results.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-analysis.h"

#include "stance-reliab.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
copy_str(char *dst, size_t size, const char *src)
{
  if (!src)
    src = "";
  size_t n = strlen(src);
  if (n >= size)
    n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Grows an array of elements of size elem so that it holds at least n + 1. */
static int
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
  if (n < *cap)
    return STANCE_OK;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *p = realloc(*arr, ncap * elem);
  if (!p)
    return STANCE_ENOMEM;
  *arr = p;
  *cap = ncap;
  return STANCE_OK;
}

StanceAnalysis *
stance_analysis_new(void)
{
  StanceAnalysis *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->side = STANCE_SIDE_BOTH;
  a->involved = STANCE_SIDE_BOTH;
  a->formula = STANCE_ASYM_LR_SUM;
  a->cond.still_share_left = 0.5;
  a->cond.gravity_m_s2 = 9.81;
  stance_method_set(&a->cond.filter, "filter.raw");
  return a;
}

static void
trial_clear(StanceTrial *t)
{
  free(t->events);
  free(t->metrics);
  free(t->flags);
}

void
stance_analysis_free(StanceAnalysis *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->n_trials; i++)
    trial_clear(&a->trials[i]);
  free(a->trials);
  free(a->flags);
  free(a->metrics);
  free(a->summary);
  free(a->trend);
  free(a);
}

StanceTrial *
stance_analysis_add_trial(StanceAnalysis *a, const char *kind, double start_s, double end_s)
{
  if (grow((void **)&a->trials, &a->cap_trials, a->n_trials, sizeof *a->trials) != STANCE_OK)
    return NULL;
  StanceTrial *t = &a->trials[a->n_trials++];
  memset(t, 0, sizeof *t);
  t->index = (int)a->n_trials;
  copy_str(t->kind, sizeof t->kind, kind);
  t->side = STANCE_SIDE_BOTH;
  t->start_s = isfinite(start_s) ? start_s : 0.0;
  t->end_s = isfinite(end_s) ? end_s : t->start_s;
  return t;
}

static int
vflag(StanceFlag **arr, size_t *n, size_t *cap, const char *id, StanceSeverity sev, const char *fmt,
      va_list ap)
{
  /* One flag per id: a second report of the same id keeps the first message (it names the first
   * place) and the higher severity. */
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*arr)[i].id, id) == 0) {
      if (sev > (*arr)[i].severity)
        (*arr)[i].severity = sev;
      return STANCE_OK;
    }
  }
  if (grow((void **)arr, cap, *n, sizeof **arr) != STANCE_OK)
    return STANCE_ENOMEM;
  StanceFlag *f = &(*arr)[(*n)++];
  memset(f, 0, sizeof *f);
  copy_str(f->id, sizeof f->id, id);
  f->severity = sev;
  vsnprintf(f->message, sizeof f->message, fmt, ap);
  return STANCE_OK;
}

int
stance_analysis_flag(StanceAnalysis *a, const char *id, StanceSeverity sev, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = vflag(&a->flags, &a->n_flags, &a->cap_flags, id, sev, fmt, ap);
  va_end(ap);
  return rc;
}

int
stance_trial_flag(StanceTrial *t, const char *id, StanceSeverity sev, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = vflag(&t->flags, &t->n_flags, &t->cap_flags, id, sev, fmt, ap);
  va_end(ap);
  return rc;
}

int
stance_trial_add_event(StanceTrial *t, const char *name, double t_s, StanceSel sel)
{
  if (!isfinite(t_s))
    return STANCE_ERANGE;
  for (size_t i = 0; i < t->n_events; i++) {
    if (strcmp(t->events[i].name, name) == 0 && t->events[i].sel == sel) {
      t->events[i].t_s = t_s;
      return STANCE_OK;
    }
  }
  if (grow((void **)&t->events, &t->cap_events, t->n_events, sizeof *t->events) != STANCE_OK)
    return STANCE_ENOMEM;
  StanceEvent *e = &t->events[t->n_events++];
  memset(e, 0, sizeof *e);
  copy_str(e->name, sizeof e->name, name);
  e->t_s = t_s;
  e->sel = sel;
  return STANCE_OK;
}

static StanceMetric *
add_metric(StanceMetric **arr, size_t *n, size_t *cap, const char *id, const char *unit,
           const char *method_id)
{
  StanceMetric *m = NULL;
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*arr)[i].id, id) == 0) {
      m = &(*arr)[i];
      break;
    }
  }
  if (!m) {
    if (grow((void **)arr, cap, *n, sizeof **arr) != STANCE_OK)
      return NULL;
    m = &(*arr)[(*n)++];
  }
  memset(m, 0, sizeof *m);
  copy_str(m->id, sizeof m->id, id);
  copy_str(m->unit, sizeof m->unit, unit);
  stance_method_set(&m->method, method_id);
  m->asym.stronger = STANCE_SIDE_BOTH;
  m->asym.involved = STANCE_SIDE_BOTH;
  return m;
}

StanceMetric *
stance_trial_add_metric(StanceTrial *t, const char *id, const char *unit, const char *method_id)
{
  return add_metric(&t->metrics, &t->n_metrics, &t->cap_metrics, id, unit, method_id);
}

StanceMetric *
stance_analysis_add_metric(StanceAnalysis *a, const char *id, const char *unit,
                           const char *method_id)
{
  return add_metric(&a->metrics, &a->n_metrics, &a->cap_metrics, id, unit, method_id);
}

static unsigned
sel_bit(StanceSel sel)
{
  switch (sel) {
  case STANCE_SEL_LEFT: return STANCE_HAS_LEFT;
  case STANCE_SEL_RIGHT: return STANCE_HAS_RIGHT;
  case STANCE_SEL_TOTAL: return STANCE_HAS_TOTAL;
  }
  return 0;
}

void
stance_metric_set(StanceMetric *m, StanceSel sel, double v)
{
  unsigned bit = sel_bit(sel);
  if (!bit)
    return;
  if (!isfinite(v)) {
    stance_metric_absent(m, sel, "not finite");
    return;
  }
  m->has |= bit;
  m->absent[sel][0] = '\0';
  switch (sel) {
  case STANCE_SEL_LEFT: m->left = v; break;
  case STANCE_SEL_RIGHT: m->right = v; break;
  case STANCE_SEL_TOTAL: m->total = v; break;
  }
}

void
stance_metric_absent(StanceMetric *m, StanceSel sel, const char *fmt, ...)
{
  unsigned bit = sel_bit(sel);
  if (!bit)
    return;
  m->has &= ~bit;
  switch (sel) {
  case STANCE_SEL_LEFT: m->left = 0.0; break;
  case STANCE_SEL_RIGHT: m->right = 0.0; break;
  case STANCE_SEL_TOTAL: m->total = 0.0; break;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->absent[sel], sizeof m->absent[sel], fmt, ap);
  va_end(ap);
}

bool
stance_metric_get(const StanceMetric *m, StanceSel sel, double *v)
{
  if (!m || !(m->has & sel_bit(sel)))
    return false;
  double x = sel == STANCE_SEL_LEFT ? m->left : sel == STANCE_SEL_RIGHT ? m->right : m->total;
  if (v)
    *v = x;
  return true;
}

void
stance_method_set(StanceMethod *mth, const char *id)
{
  memset(mth, 0, sizeof *mth);
  copy_str(mth->id, sizeof mth->id, id);
}

static StanceParam *
param_slot(StanceMethod *mth, const char *key)
{
  for (int i = 0; i < mth->n_params; i++)
    if (strcmp(mth->params[i].key, key) == 0)
      return &mth->params[i];
  if (mth->n_params >= STANCE_METHOD_MAX_PARAMS)
    return NULL;
  StanceParam *p = &mth->params[mth->n_params++];
  memset(p, 0, sizeof *p);
  copy_str(p->key, sizeof p->key, key);
  return p;
}

void
stance_method_param_num(StanceMethod *mth, const char *key, double v)
{
  if (!isfinite(v))
    return; /* a parameter is never NaN: callers pass only real settings */
  StanceParam *p = param_slot(mth, key);
  if (!p)
    return;
  p->num = v;
  p->str[0] = '\0';
}

void
stance_method_param_str(StanceMethod *mth, const char *key, const char *s)
{
  StanceParam *p = param_slot(mth, key);
  if (!p)
    return;
  p->num = 0.0;
  copy_str(p->str, sizeof p->str, s && *s ? s : "-");
}

void
stance_method_copy(StanceMethod *dst, const StanceMethod *src)
{
  if (dst != src)
    memcpy(dst, src, sizeof *dst);
}

const StanceMetric *
stance_trial_metric(const StanceTrial *t, const char *id)
{
  for (size_t i = 0; i < t->n_metrics; i++)
    if (strcmp(t->metrics[i].id, id) == 0)
      return &t->metrics[i];
  return NULL;
}

double
stance_trial_event(const StanceTrial *t, const char *name)
{
  /* The total-force event when there is one, else the first of that name. */
  double found = -1.0;
  for (size_t i = 0; i < t->n_events; i++) {
    if (strcmp(t->events[i].name, name) != 0)
      continue;
    if (t->events[i].sel == STANCE_SEL_TOTAL)
      return t->events[i].t_s;
    if (found < 0)
      found = t->events[i].t_s;
  }
  return found;
}

const StanceFlag *
stance_trial_find_flag(const StanceTrial *t, const char *id)
{
  for (size_t i = 0; i < t->n_flags; i++)
    if (strcmp(t->flags[i].id, id) == 0)
      return &t->flags[i];
  return NULL;
}

const StanceFlag *
stance_analysis_find_flag(const StanceAnalysis *a, const char *id)
{
  for (size_t i = 0; i < a->n_flags; i++)
    if (strcmp(a->flags[i].id, id) == 0)
      return &a->flags[i];
  return NULL;
}

const StanceMetric *
stance_analysis_metric(const StanceAnalysis *a, const char *id)
{
  for (size_t i = 0; i < a->n_metrics; i++)
    if (strcmp(a->metrics[i].id, id) == 0)
      return &a->metrics[i];
  return NULL;
}

const StanceSummaryMetric *
stance_analysis_summary(const StanceAnalysis *a, const char *id)
{
  for (size_t i = 0; i < a->n_summary; i++)
    if (strcmp(a->summary[i].id, id) == 0)
      return &a->summary[i];
  return NULL;
}

/* Deep copy of one trial into dst (zeroed first). */
static int
trial_copy(StanceTrial *dst, const StanceTrial *src)
{
  *dst = *src;
  dst->events = NULL;
  dst->metrics = NULL;
  dst->flags = NULL;
  dst->cap_events = dst->n_events;
  dst->cap_metrics = dst->n_metrics;
  dst->cap_flags = dst->n_flags;
  if (src->n_events) {
    dst->events = malloc(src->n_events * sizeof *dst->events);
    if (!dst->events)
      goto oom;
    memcpy(dst->events, src->events, src->n_events * sizeof *dst->events);
  }
  if (src->n_metrics) {
    dst->metrics = malloc(src->n_metrics * sizeof *dst->metrics);
    if (!dst->metrics)
      goto oom;
    memcpy(dst->metrics, src->metrics, src->n_metrics * sizeof *dst->metrics);
  }
  if (src->n_flags) {
    dst->flags = malloc(src->n_flags * sizeof *dst->flags);
    if (!dst->flags)
      goto oom;
    memcpy(dst->flags, src->flags, src->n_flags * sizeof *dst->flags);
  }
  return STANCE_OK;
oom:
  trial_clear(dst);
  memset(dst, 0, sizeof *dst);
  return STANCE_ENOMEM;
}

/* A trial's value of a metric: its total, or its only limb's. */
static bool
trial_value(const StanceTrial *t, const char *id, double *v)
{
  const StanceMetric *m = stance_trial_metric(t, id);
  return m &&
         (stance_metric_get(m, STANCE_SEL_TOTAL, v) || stance_metric_get(m, STANCE_SEL_LEFT, v) ||
          stance_metric_get(m, STANCE_SEL_RIGHT, v));
}

/* Between-session statistics of every summarised metric of c over the sessions as[0..n). */
static int
fill_trend(StanceAnalysis *c, StanceAnalysis *const *as, size_t n)
{
  size_t cap = c->n_trials ? c->n_trials : 1;
  double *v = malloc(cap * sizeof *v), *means = malloc(n * sizeof *means);
  int *session = malloc(cap * sizeof *session);
  c->trend = calloc(c->n_summary ? c->n_summary : 1, sizeof *c->trend);
  if (!v || !means || !session || !c->trend) {
    free(v);
    free(means);
    free(session);
    return STANCE_ENOMEM;
  }
  for (size_t k = 0; k < c->n_summary; k++) {
    const char *id = c->summary[k].id;
    size_t nv = 0, ns = 0;
    for (size_t s = 0; s < n; s++) {
      double sum = 0;
      size_t cnt = 0;
      for (size_t t = 0; t < as[s]->n_trials; t++) {
        double x;
        if (!trial_value(&as[s]->trials[t], id, &x))
          continue;
        v[nv] = x;
        session[nv] = (int)ns;
        nv++;
        sum += x;
        cnt++;
      }
      if (cnt)
        means[ns++] = sum / (double)cnt;
    }
    if (ns < 2)
      continue;
    StanceTrendMetric *tm = &c->trend[c->n_trend++];
    memset(tm, 0, sizeof *tm);
    copy_str(tm->id, sizeof tm->id, id);
    copy_str(tm->unit, sizeof tm->unit, c->summary[k].unit);
    tm->n_sessions = ns;
    tm->first_mean = means[0];
    tm->last_mean = means[ns - 1];
    tm->change = tm->last_mean - tm->first_mean;
    tm->has_te = stance_reliab_te_pooled(v, session, nv, (int)ns, &tm->te, NULL) == STANCE_OK;
    tm->has_swc = stance_reliab_swc(means, ns, 0.2, &tm->swc, NULL) == STANCE_OK;
    tm->has_mdc = tm->has_te && stance_reliab_mdc95(tm->te, &tm->mdc95, NULL) == STANCE_OK;
    tm->exceeds_swc = tm->has_swc && fabs(tm->change) > tm->swc;
    tm->exceeds_mdc = tm->has_mdc && fabs(tm->change) > tm->mdc95;
  }
  free(v);
  free(means);
  free(session);
  return STANCE_OK;
}

StanceAnalysis *
stance_analysis_combine(StanceAnalysis *const *as, size_t n)
{
  if (n == 0 || !as[0])
    return NULL;
  for (size_t i = 1; i < n; i++)
    if (!as[i] || as[i]->protocol != as[0]->protocol)
      return NULL;
  StanceAnalysis *c = stance_analysis_new();
  if (!c)
    return NULL;
  const StanceAnalysis *f = as[0];
  copy_str(c->input, sizeof c->input, "combined");
  c->protocol = f->protocol;
  c->side = f->side;
  c->involved = f->involved;
  c->formula = f->formula;
  c->layout = f->layout;
  c->sample_rate_hz = f->sample_rate_hz;
  c->cond = f->cond;
  stance_method_copy(&c->onset_method, &f->onset_method);
  for (size_t i = 0; i < n; i++) {
    c->duration_s += as[i]->duration_s;
    /* Sides of different files may differ (a left file and a right file). */
    if (as[i]->side != c->side)
      c->side = STANCE_SIDE_BOTH;
    for (size_t k = 0; k < as[i]->n_trials; k++) {
      if (grow((void **)&c->trials, &c->cap_trials, c->n_trials, sizeof *c->trials) != STANCE_OK)
        goto oom;
      if (trial_copy(&c->trials[c->n_trials], &as[i]->trials[k]) != STANCE_OK)
        goto oom;
      c->n_trials++;
      c->trials[c->n_trials - 1].index = (int)c->n_trials;
    }
  }
  if (stance_analysis_summarise(c) != STANCE_OK)
    goto oom;
  /* Sessions compare only like with like: the same side (a left-front and a right-front set are
   * one session's two sides, not two sessions). */
  bool same_side = true;
  for (size_t i = 1; i < n; i++)
    if (as[i]->side != as[0]->side)
      same_side = false;
  if (n >= 2 && same_side && fill_trend(c, as, n) != STANCE_OK)
    goto oom;
  return c;
oom:
  stance_analysis_free(c);
  return NULL;
}
