/* stance-analysis-output.c: an analysis as JSON (docs/analysis-json.md), long CSV and a human
 * table (see stance-analysis.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers: JSON goes through stance-json (shortest round-trip form, locale-independent). CSV and
 * the table are written with the calling thread switched to the "C" locale (uselocale(), which is
 * per thread), so a GUI running with a decimal-comma LC_NUMERIC still writes dots. CSV numbers
 * use the same shortest round-trip form as the JSON; the table rounds for reading and converts
 * units for display only (heights and distances in cm, durations in ms), saying so in its header.
 *
 * Absent values are never written as numbers: JSON leaves the key out (reasons go to "absent"),
 * CSV leaves the cell empty, the table prints "-". Per-limb values are left out for one-plate
 * (COMBINED) recordings. Strings that come from outside (file names, messages quoting them) are
 * made valid UTF-8 (U+FFFD for bad bytes) before they reach the JSON writer, which refuses
 * invalid UTF-8.
 *
 * Threads: reentrant; an analysis is only read.
 */
#include "stance-analysis.h"
#include "stance-analysis-private.h"
#include "stance-utf8.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stance-config.h"
#include "stance-json.h"

/* ======================================================================================
 * Small helpers
 * ====================================================================================== */

static const char *
severity_name(StanceSeverity s)
{
  switch (s) {
  case STANCE_SEVERITY_INFO: return "info";
  case STANCE_SEVERITY_WARNING: return "warning";
  case STANCE_SEVERITY_ERROR: return "error";
  }
  return "warning";
}

/* The stronger limb as written in every output: "left", "right", or "even" (equal values). */
static const char *
stronger_name(StanceSide s)
{
  switch (s) {
  case STANCE_SIDE_LEFT: return "left";
  case STANCE_SIDE_RIGHT: return "right";
  default: return "even";
  }
}

static bool
one_plate(const StanceAnalysis *a)
{
  return a->layout == STANCE_LAYOUT_COMBINED;
}

/* Longest model string: StanceAnalysis.input (256 bytes). */
#define CLEAN_BUF (3 * 256 + 4)

static void
json_kv_text(StanceJson *j, const char *key, const char *s)
{
  char buf[CLEAN_BUF];
  stance_json_kv_string(j, key, stance_utf8_clean(s, buf, sizeof buf));
}

static void
json_key_text(StanceJson *j, const char *key)
{
  char buf[CLEAN_BUF];
  stance_json_key(j, stance_utf8_clean(key, buf, sizeof buf));
}

/* The calling thread in the "C" locale for the duration of one write. */
typedef struct {
  locale_t c;
  locale_t old;
} CLocale;

static int
c_locale_enter(CLocale *l, StanceError *err)
{
  l->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (l->c == (locale_t)0)
    return stance_error_set(err, STANCE_ENOMEM, "cannot create the C locale for number output");
  l->old = uselocale(l->c);
  return STANCE_OK;
}

static void
c_locale_leave(CLocale *l)
{
  uselocale(l->old);
  freelocale(l->c);
}

/* Shortest decimal that reads back to v (as the JSON writer does). Call in the C locale. */
static void
fmt_shortest(double v, char *buf, size_t n)
{
  if (v == 0.0) {
    snprintf(buf, n, "0");
    return;
  }
  if (fabs(v) < 1e15 && v == trunc(v)) {
    snprintf(buf, n, "%.0f", v);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

/* v with `dec` decimals, never "-0.0". Call in the C locale. */
static const char *
fmt_fixed(double v, int dec, char *buf, size_t n)
{
  snprintf(buf, n, "%.*f", dec, v);
  if (buf[0] == '-') {
    bool zero = true;
    for (const char *p = buf + 1; *p; p++)
      if (*p != '0' && *p != '.')
        zero = false;
    if (zero)
      memmove(buf, buf + 1, strlen(buf));
  }
  return buf;
}

static int
stream_status(FILE *out, const char *what, StanceError *err)
{
  if (fflush(out) != 0 || ferror(out))
    return stance_error_set(err, STANCE_EIO, "writing the %s failed: %s", what,
                            errno ? strerror(errno) : "stream error");
  return STANCE_OK;
}

/* ======================================================================================
 * JSON
 * ====================================================================================== */

static void
json_method(StanceJson *j, const char *key, const StanceMethod *m)
{
  stance_json_key(j, key);
  stance_json_begin_object(j);
  json_kv_text(j, "id", m->id);
  stance_json_key(j, "params");
  stance_json_begin_object(j);
  for (int i = 0; i < m->n_params && i < STANCE_METHOD_MAX_PARAMS; i++) {
    const StanceParam *p = &m->params[i];
    if (p->str[0]) {
      json_kv_text(j, p->key, p->str);
    } else if (isfinite(p->num)) {
      /* The model refuses non-finite parameters; the check keeps a JSON document valid even
       * for a hand-built method. */
      json_key_text(j, p->key);
      stance_json_number(j, p->num);
    }
  }
  stance_json_end_object(j);
  stance_json_end_object(j);
}

static void
json_flags(StanceJson *j, const StanceFlag *flags, size_t n)
{
  stance_json_key(j, "flags");
  stance_json_begin_array(j);
  for (size_t i = 0; i < n; i++) {
    stance_json_begin_object(j);
    json_kv_text(j, "id", flags[i].id);
    stance_json_kv_string(j, "severity", severity_name(flags[i].severity));
    json_kv_text(j, "message", flags[i].message);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
}

static void
json_asym(StanceJson *j, const StanceAsymValue *av)
{
  json_kv_text(j, "formula", av->formula_id);
  stance_json_kv_number(j, "value", av->value);
  stance_json_kv_string(j, "stronger", stronger_name(av->stronger));
  if (av->involved == STANCE_SIDE_LEFT || av->involved == STANCE_SIDE_RIGHT)
    stance_json_kv_string(j, "involved", stance_side_name(av->involved));
}

static void
json_metric(StanceJson *j, const StanceMetric *m, bool limbs)
{
  static const char *const slot_names[3] = {"left", "right", "total"};
  json_key_text(j, m->id);
  stance_json_begin_object(j);
  json_kv_text(j, "unit", m->unit);
  json_method(j, "method", &m->method);
  bool any_reason = false;
  for (int s = 0; s < 3; s++) {
    if (s != STANCE_SEL_TOTAL && !limbs)
      continue;
    double v;
    if (stance_metric_get(m, (StanceSel)s, &v))
      stance_json_kv_number(j, slot_names[s], v);
    else if (m->absent[s][0])
      any_reason = true;
  }
  if (any_reason) {
    stance_json_key(j, "absent");
    stance_json_begin_object(j);
    for (int s = 0; s < 3; s++) {
      if (s != STANCE_SEL_TOTAL && !limbs)
        continue;
      if (!stance_metric_get(m, (StanceSel)s, NULL) && m->absent[s][0])
        json_kv_text(j, slot_names[s], m->absent[s]);
    }
    stance_json_end_object(j);
  }
  if (m->has_asym && limbs && isfinite(m->asym.value)) {
    stance_json_key(j, "asymmetry");
    stance_json_begin_object(j);
    json_asym(j, &m->asym);
    stance_json_end_object(j);
  }
  stance_json_end_object(j);
}

static void
json_metrics(StanceJson *j, const char *key, const StanceMetric *ms, size_t n, bool limbs)
{
  stance_json_key(j, key);
  stance_json_begin_object(j);
  for (size_t i = 0; i < n; i++)
    json_metric(j, &ms[i], limbs);
  stance_json_end_object(j);
}

static void
json_stats_members(StanceJson *j, const StanceStats *s)
{
  stance_json_kv_int(j, "n", (int64_t)s->n);
  stance_json_kv_number(j, "mean", s->mean);
  if (s->has_sd && isfinite(s->sd))
    stance_json_kv_number(j, "sd", s->sd);
  if (s->has_cv && isfinite(s->cv_pct))
    stance_json_kv_number(j, "cv_pct", s->cv_pct);
}

static bool
stats_usable(const StanceStats *s)
{
  return s->n > 0 && isfinite(s->mean);
}

/* The series the top-level mean/sd/cv_pct of a summary entry describe: the total when there is
 * one, else the only limb (unilateral tests analysed one side at a time); NULL otherwise. */
static const StanceStats *
summary_primary(const StanceSummaryMetric *sm, bool limbs)
{
  bool l = limbs && (sm->has & STANCE_HAS_LEFT) && stats_usable(&sm->left);
  bool r = limbs && (sm->has & STANCE_HAS_RIGHT) && stats_usable(&sm->right);
  if ((sm->has & STANCE_HAS_TOTAL) && stats_usable(&sm->total))
    return &sm->total;
  if (l && !r)
    return &sm->left;
  if (r && !l)
    return &sm->right;
  return NULL;
}

static void
json_summary(StanceJson *j, const StanceSummaryMetric *ss, size_t n, bool limbs)
{
  stance_json_key(j, "summary");
  stance_json_begin_object(j);
  for (size_t i = 0; i < n; i++) {
    const StanceSummaryMetric *sm = &ss[i];
    json_key_text(j, sm->id);
    stance_json_begin_object(j);
    json_kv_text(j, "unit", sm->unit);
    const StanceStats *p = summary_primary(sm, limbs);
    if (p)
      json_stats_members(j, p);
    static const char *const names[3] = {"left", "right", "total"};
    const StanceStats *st[3] = {&sm->left, &sm->right, &sm->total};
    static const unsigned bits[3] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};
    for (int s = 0; s < 3; s++) {
      if (s != STANCE_SEL_TOTAL && !limbs)
        continue;
      if (!(sm->has & bits[s]) || !stats_usable(st[s]))
        continue;
      stance_json_key(j, names[s]);
      stance_json_begin_object(j);
      json_stats_members(j, st[s]);
      stance_json_end_object(j);
    }
    if (sm->has_asym && limbs && isfinite(sm->asym.value)) {
      stance_json_key(j, "asymmetry");
      stance_json_begin_object(j);
      json_asym(j, &sm->asym);
      if (stats_usable(&sm->asym_stats)) {
        stance_json_kv_int(j, "n", (int64_t)sm->asym_stats.n);
        stance_json_kv_number(j, "mean", sm->asym_stats.mean);
        if (sm->asym_stats.has_sd && isfinite(sm->asym_stats.sd))
          stance_json_kv_number(j, "sd", sm->asym_stats.sd);
      }
      if (sm->has_direction && isfinite(sm->direction_consistency_pct))
        stance_json_kv_number(j, "direction_consistency_pct", sm->direction_consistency_pct);
      stance_json_end_object(j);
    }
    stance_json_end_object(j);
  }
  stance_json_end_object(j);
}

/* The analysis's formula; a DEFAULT left in a hand-built analysis is resolved as the pipeline
 * does. */
static StanceAsymFormula
formula_of(const StanceAnalysis *a)
{
  if (a->formula > STANCE_ASYM_DEFAULT && a->formula < STANCE_ASYM_COUNT)
    return a->formula;
  return stance_asym_default(a->protocol, a->involved);
}

static void
json_formula(StanceJson *j, StanceAsymFormula f)
{
  stance_json_key(j, "asymmetry_formula");
  stance_json_begin_object(j);
  stance_json_kv_string(j, "id", stance_asym_formula_name(f));
  stance_json_kv_string(j, "text", stance_asym_formula_text(f));
  stance_json_end_object(j);
}

/* The per-plate triple of the conditioning (zero offsets, unloaded noise). */
static void
json_plates3(StanceJson *j, const char *key, const double v[3], bool limbs)
{
  stance_json_key(j, key);
  stance_json_begin_object(j);
  if (limbs) {
    stance_json_kv_number(j, "left", isfinite(v[0]) ? v[0] : 0.0);
    stance_json_kv_number(j, "right", isfinite(v[1]) ? v[1] : 0.0);
  } else {
    stance_json_kv_number(j, "total", isfinite(v[2]) ? v[2] : 0.0);
  }
  stance_json_end_object(j);
}

static void
json_kv_finite(StanceJson *j, const char *key, double v)
{
  if (isfinite(v))
    stance_json_kv_number(j, key, v);
}

static void
json_conditioning(StanceJson *j, const StanceAnalysis *a, bool limbs)
{
  const StanceConditioning *c = &a->cond;
  stance_json_key(j, "conditioning");
  stance_json_begin_object(j);
  stance_json_kv_bool(j, "body_weight_found", c->has_body_weight);
  if (c->has_body_weight) {
    json_kv_finite(j, "body_weight_window_start_s", c->bw_window_start_s);
    json_kv_finite(j, "body_weight_window_end_s", c->bw_window_end_s);
    if (limbs)
      json_kv_finite(j, "still_share_left", c->still_share_left);
  }
  if (c->external_load_kg > 0.0)
    json_kv_finite(j, "external_load_kg", c->external_load_kg);
  stance_json_kv_bool(j, "zeroed", c->zeroed);
  if (c->zeroed)
    json_plates3(j, "zero_offset_n", c->zero_offset_n, limbs);
  if (c->has_unloaded_sd)
    json_plates3(j, "unloaded_sd_n", c->unloaded_sd_n, limbs);
  if (c->has_spectrum) {
    json_kv_finite(j, "noise_floor_n", c->noise_floor_n);
    if (c->mains_hz > 0.0) {
      json_kv_finite(j, "mains_hz", c->mains_hz);
      json_kv_finite(j, "mains_amp_n", c->mains_amp_n);
    }
  }
  if (c->suggested_cutoff_hz > 0.0)
    json_kv_finite(j, "suggested_cutoff_hz", c->suggested_cutoff_hz);
  json_method(j, "filter", &c->filter);
  stance_json_kv_int(j, "spikes", (int64_t)c->n_spikes);
  stance_json_end_object(j);
}

static int
event_cmp(const void *x, const void *y)
{
  const StanceEvent *a = *(const StanceEvent *const *)x, *b = *(const StanceEvent *const *)y;
  if (a->t_s != b->t_s)
    return a->t_s < b->t_s ? -1 : 1;
  return (int)a->sel - (int)b->sel;
}

/* The events to write (finite times; limb events only with two plates) sorted by time, in a
 * new array (caller frees); NULL with *n = 0 when there are none or out of memory. */
static const StanceEvent **
sorted_events(const StanceTrial *t, bool limbs, size_t *n)
{
  *n = 0;
  if (t->n_events == 0)
    return NULL;
  const StanceEvent **ev = malloc(t->n_events * sizeof *ev);
  if (!ev)
    return NULL;
  for (size_t i = 0; i < t->n_events; i++)
    if (isfinite(t->events[i].t_s) && (limbs || t->events[i].sel == STANCE_SEL_TOTAL))
      ev[(*n)++] = &t->events[i];
  qsort(ev, *n, sizeof *ev, event_cmp);
  return ev;
}

static void
json_event_key(StanceJson *j, const StanceEvent *e)
{
  char key[48];
  if (e->sel == STANCE_SEL_LEFT)
    snprintf(key, sizeof key, "%s_left", e->name);
  else if (e->sel == STANCE_SEL_RIGHT)
    snprintf(key, sizeof key, "%s_right", e->name);
  else
    snprintf(key, sizeof key, "%s", e->name);
  json_key_text(j, key);
}

static void
json_trial(StanceJson *j, const StanceTrial *t, bool limbs)
{
  stance_json_begin_object(j);
  stance_json_kv_int(j, "index", t->index);
  json_kv_text(j, "kind", t->kind);
  if (t->set > 0)
    stance_json_kv_int(j, "set", t->set);
  stance_json_kv_string(j, "side", stance_side_name(t->side));
  stance_json_kv_number(j, "start_s", isfinite(t->start_s) ? t->start_s : 0.0);
  stance_json_kv_number(j, "end_s", isfinite(t->end_s) ? t->end_s : 0.0);
  stance_json_key(j, "events");
  stance_json_begin_object(j);
  size_t n_ev = 0;
  const StanceEvent **ev = sorted_events(t, limbs, &n_ev);
  for (size_t i = 0; i < n_ev; i++) {
    json_event_key(j, ev[i]);
    stance_json_number(j, ev[i]->t_s);
  }
  if (!ev) {
    /* Out of memory for the sort: the same events in the order they were found. */
    for (size_t i = 0; i < t->n_events; i++) {
      const StanceEvent *e = &t->events[i];
      if (isfinite(e->t_s) && (limbs || e->sel == STANCE_SEL_TOTAL)) {
        json_event_key(j, e);
        stance_json_number(j, e->t_s);
      }
    }
  }
  free(ev);
  stance_json_end_object(j);
  json_flags(j, t->flags, t->n_flags);
  json_metrics(j, "metrics", t->metrics, t->n_metrics, limbs);
  stance_json_end_object(j);
}

/* The members of one analysis (without the document-level version keys). */
static void
json_analysis_members(StanceJson *j, const StanceAnalysis *a)
{
  bool limbs = !one_plate(a);
  json_kv_text(j, "input", a->input);
  stance_json_kv_string(j, "protocol", stance_protocol_name(a->protocol));
  stance_json_kv_string(j, "side", stance_side_name(a->side));
  if (a->involved == STANCE_SIDE_LEFT || a->involved == STANCE_SIDE_RIGHT)
    stance_json_kv_string(j, "involved", stance_side_name(a->involved));
  stance_json_kv_string(j, "layout", stance_layout_name(a->layout));
  json_formula(j, formula_of(a));
  stance_json_kv_number(j, "sample_rate_hz", a->sample_rate_hz);
  stance_json_kv_number(j, "duration_s", a->duration_s);
  const StanceConditioning *c = &a->cond;
  if (c->has_body_weight && isfinite(c->body_weight_n)) {
    stance_json_kv_number(j, "body_weight_n", c->body_weight_n);
    json_kv_finite(j, "body_weight_sd_n", c->body_weight_sd_n);
    json_kv_finite(j, "body_mass_kg", c->body_mass_kg);
    stance_json_kv_number(j, "gravity_m_s2",
                          a->cond.gravity_m_s2); /* body_mass_kg = body_weight_n / g */
    json_kv_finite(j, "system_mass_kg", c->system_mass_kg);
  }
  json_conditioning(j, a, limbs);
  json_method(j, "onset_method", &a->onset_method);
  json_flags(j, a->flags, a->n_flags);
  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  for (size_t i = 0; i < a->n_trials; i++)
    json_trial(j, &a->trials[i], limbs);
  stance_json_end_array(j);
  json_metrics(j, "metrics", a->metrics, a->n_metrics, limbs);
  json_summary(j, a->summary, a->n_summary, limbs);
}

static void
json_document_head(StanceJson *j)
{
  stance_json_kv_string(j, "stance_version", STANCE_VERSION);
  stance_json_kv_string(j, "format", STANCE_ANALYSIS_FORMAT);
  stance_json_kv_int(j, "format_version", STANCE_ANALYSIS_FORMAT_VERSION);
}

int
stance_analysis_write_json(const StanceAnalysis *a, FILE *out, bool pretty, StanceError *err)
{
  if (!a || !out)
    return stance_error_set(err, STANCE_EINVAL, "no analysis or no output stream given");
  StanceJson *j = stance_json_new(out, pretty);
  if (!j)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the JSON writer");
  stance_json_begin_object(j);
  json_document_head(j);
  json_analysis_members(j, a);
  stance_json_end_object(j);
  int r = stance_json_finish(j, err);
  if (r < 0)
    return r;
  return stream_status(out, "analysis JSON", err);
}

/* "between_sessions": each metric's change from the first to the last input against its
 * typical error, smallest worthwhile change and MDC95 (only with two or more inputs). */
static void
json_trend(StanceJson *j, const StanceAnalysis *c)
{
  if (c->n_trend == 0)
    return;
  stance_json_key(j, "between_sessions");
  stance_json_begin_object(j);
  for (size_t k = 0; k < c->n_trend; k++) {
    const StanceTrendMetric *t = &c->trend[k];
    stance_json_key(j, t->id);
    stance_json_begin_object(j);
    stance_json_kv_string(j, "unit", t->unit);
    stance_json_kv_int(j, "sessions", (int64_t)t->n_sessions);
    stance_json_kv_number(j, "first_mean", t->first_mean);
    stance_json_kv_number(j, "last_mean", t->last_mean);
    stance_json_kv_number(j, "change", t->change);
    if (t->has_te)
      stance_json_kv_number(j, "typical_error", t->te);
    if (t->has_swc) {
      stance_json_kv_number(j, "swc", t->swc);
      stance_json_kv_bool(j, "exceeds_swc", t->exceeds_swc);
    }
    if (t->has_mdc) {
      stance_json_kv_number(j, "mdc95", t->mdc95);
      stance_json_kv_bool(j, "exceeds_mdc95", t->exceeds_mdc);
    }
    stance_json_end_object(j);
  }
  stance_json_end_object(j);
}

int
stance_analysis_write_json_many(StanceAnalysis *const *as, size_t n, FILE *out, bool pretty,
                                StanceError *err)
{
  if ((!as && n > 0) || !out)
    return stance_error_set(err, STANCE_EINVAL, "no analyses or no output stream given");
  for (size_t i = 0; i < n; i++)
    if (!as[i])
      return stance_error_set(err, STANCE_EINVAL, "analysis %zu of %zu is missing", i + 1, n);
  /* Group the analyses by protocol, in order of first appearance: each group is combined into
   * one summary over all its trials. */
  size_t *group = calloc(n ? n : 1, sizeof *group);
  StanceAnalysis **members = calloc(n ? n : 1, sizeof *members);
  if (!group || !members) {
    free(group);
    free(members);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  }
  StanceJson *j = stance_json_new(out, pretty);
  if (!j) {
    free(group);
    free(members);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the JSON writer");
  }
  int r = STANCE_OK;
  stance_json_begin_object(j);
  json_document_head(j);
  stance_json_key(j, "analyses");
  stance_json_begin_array(j);
  for (size_t i = 0; i < n; i++) {
    stance_json_begin_object(j);
    json_analysis_members(j, as[i]);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);

  stance_json_key(j, "combined");
  stance_json_begin_array(j);
  for (size_t i = 0; i < n && r == STANCE_OK; i++) {
    if (group[i])
      continue;
    size_t m = 0;
    for (size_t k = i; k < n; k++) {
      if (!group[k] && as[k]->protocol == as[i]->protocol) {
        group[k] = 1;
        members[m++] = as[k];
      }
    }
    StanceAnalysis *c = stance_analysis_combine(members, m);
    if (!c) {
      r = stance_error_set(err, STANCE_ENOMEM, "out of memory combining the %s analyses",
                           stance_protocol_name(as[i]->protocol));
      break;
    }
    /* Per-limb statistics exist when any member has two plates (they come from its trials). */
    bool limbs = false;
    for (size_t k = 0; k < m; k++)
      if (!one_plate(members[k]))
        limbs = true;
    stance_json_begin_object(j);
    stance_json_kv_string(j, "protocol", stance_protocol_name(c->protocol));
    stance_json_key(j, "inputs");
    stance_json_begin_array(j);
    for (size_t k = 0; k < m; k++) {
      char buf[CLEAN_BUF];
      stance_json_string(j, stance_utf8_clean(members[k]->input, buf, sizeof buf));
    }
    stance_json_end_array(j);
    json_formula(j, formula_of(c));
    /* Where each combined trial came from: combined index -> input and its own index. */
    stance_json_key(j, "trials");
    stance_json_begin_array(j);
    size_t idx = 0;
    for (size_t k = 0; k < m; k++) {
      for (size_t t = 0; t < members[k]->n_trials; t++) {
        stance_json_begin_object(j);
        stance_json_kv_int(j, "index", (int64_t)++idx);
        json_kv_text(j, "input", members[k]->input);
        stance_json_kv_int(j, "trial", members[k]->trials[t].index);
        stance_json_kv_string(j, "side", stance_side_name(members[k]->trials[t].side));
        stance_json_end_object(j);
      }
    }
    stance_json_end_array(j);
    json_summary(j, c->summary, c->n_summary, limbs);
    json_trend(j, c);
    stance_json_end_object(j);
    stance_analysis_free(c);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
  free(group);
  free(members);
  if (r < 0) {
    StanceError ignored;
    stance_json_finish(j, &ignored);
    return r;
  }
  r = stance_json_finish(j, err);
  if (r < 0)
    return r;
  return stream_status(out, "analysis JSON", err);
}

/* ======================================================================================
 * CSV
 * ====================================================================================== */

/* A CSV field, quoted when it holds a comma, a quote, or a line break (RFC 4180). */
static void
csv_field(FILE *out, const char *s)
{
  if (!s)
    s = "";
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (const char *p = s; *p; p++) {
    if (*p == '"')
      fputc('"', out);
    fputc(*p, out);
  }
  fputc('"', out);
}

static void
csv_number(FILE *out, double v)
{
  char buf[40];
  fmt_shortest(v, buf, sizeof buf);
  fputs(buf, out);
}

/* "id", or "id(key=value; key=value)" when the method has parameters; numbers in full (CSV) or
 * to 4 significant digits (table). Call in the C locale. */
static void
method_text_prec(const StanceMethod *m, char *buf, size_t n, bool full)
{
  size_t o = (size_t)snprintf(buf, n, "%s", m->id);
  int written = 0;
  for (int i = 0; i < m->n_params && i < STANCE_METHOD_MAX_PARAMS && o < n; i++) {
    const StanceParam *p = &m->params[i];
    char num[40];
    const char *val = p->str;
    if (!p->str[0]) {
      if (!isfinite(p->num))
        continue;
      if (full)
        fmt_shortest(p->num, num, sizeof num);
      else
        snprintf(num, sizeof num, "%.4g", p->num);
      val = num;
    }
    o += (size_t)snprintf(buf + o, n - o, "%s%s=%s", written++ == 0 ? "(" : "; ", p->key, val);
  }
  if (written > 0 && o < n)
    snprintf(buf + o, n - o, ")");
}

static void
method_text(const StanceMethod *m, char *buf, size_t n)
{
  method_text_prec(m, buf, n, true);
}

static void
csv_row(FILE *out, const StanceAnalysis *a, const StanceTrial *t, const StanceMetric *m)
{
  bool limbs = !one_plate(a);
  csv_field(out, a->input);
  fputc(',', out);
  if (t) {
    fprintf(out, "%d,", t->index);
    csv_field(out, t->kind);
    fprintf(out, ",%s,", stance_side_name(t->side));
    csv_number(out, t->start_s);
    fputc(',', out);
    csv_number(out, t->end_s);
  } else {
    /* A session-level metric (rep count, load shares, balance measures): no trial. */
    fprintf(out, ",session,%s,,", stance_side_name(a->side));
  }
  fputc(',', out);
  csv_field(out, m->id);
  fputc(',', out);
  csv_field(out, m->unit);
  fputc(',', out);
  char meth[512];
  method_text(&m->method, meth, sizeof meth);
  csv_field(out, meth);
  for (int s = 0; s < 3; s++) {
    fputc(',', out);
    double v;
    if ((s == STANCE_SEL_TOTAL || limbs) && stance_metric_get(m, (StanceSel)s, &v))
      csv_number(out, v);
  }
  fputc(',', out);
  if (m->has_asym && limbs && isfinite(m->asym.value)) {
    csv_field(out, m->asym.formula_id);
    fputc(',', out);
    csv_number(out, m->asym.value);
    fprintf(out, ",%s", stronger_name(m->asym.stronger));
  } else {
    fputs(",,", out);
  }
  fputc('\n', out);
}

int
stance_analysis_write_csv(const StanceAnalysis *a, FILE *out, bool header, StanceError *err)
{
  if (!a || !out)
    return stance_error_set(err, STANCE_EINVAL, "no analysis or no output stream given");
  CLocale loc = {(locale_t)0, (locale_t)0};
  int r = c_locale_enter(&loc, err);
  if (r < 0)
    return r;
  if (header)
    fputs("input,trial,kind,side,start_s,end_s,metric,unit,method,left,right,total,asym_formula,"
          "asym_value,stronger\n",
          out);
  for (size_t i = 0; i < a->n_trials; i++) {
    const StanceTrial *t = &a->trials[i];
    for (size_t k = 0; k < t->n_metrics; k++)
      csv_row(out, a, t, &t->metrics[k]);
  }
  for (size_t k = 0; k < a->n_metrics; k++)
    csv_row(out, a, NULL, &a->metrics[k]);
  c_locale_leave(&loc);
  return stream_status(out, "analysis CSV", err);
}

/* ======================================================================================
 * Table
 * ====================================================================================== */

/* The metrics a coach reads first, per family, in the order shown. */
static const char *const keys_jumps[] = {"jump_height_impulse",
                                         "jump_height_flight",
                                         "flight_time",
                                         "takeoff_velocity",
                                         "time_to_takeoff",
                                         "rsi_mod",
                                         "peak_force",
                                         "peak_force_rel",
                                         "net_impulse",
                                         "peak_rfd",
                                         "rfd_0_100",
                                         "peak_power",
                                         "countermovement_depth",
                                         "landing_peak_force",
                                         NULL};
static const char *const keys_hops[] = {"contact_time",       "flight_time",
                                        "jump_height_flight", "rsi",
                                        "leg_stiffness",      "vertical_stiffness",
                                        "peak_force",         "net_impulse",
                                        "landing_peak_force", NULL};
static const char *const keys_iso[] = {"peak_force",
                                       "peak_force_net",
                                       "peak_force_rel",
                                       "time_to_peak",
                                       "force_at_100",
                                       "force_at_200",
                                       "rfd_0_50",
                                       "rfd_0_100",
                                       "rfd_0_200",
                                       "rfd_0_250",
                                       "peak_rfd",
                                       "impulse",
                                       NULL};
static const char *const keys_reps[] = {"peak_force",
                                        "mean_force",
                                        "con_rfd",
                                        "rep_duration",
                                        "ecc_duration",
                                        "con_duration",
                                        "time_under_tension",
                                        "front_share_pct",
                                        "load_share_pct",
                                        "squat_depth",
                                        NULL};
static const char *const keys_balance[] = {
    "weight_bearing_pct",  "mean_force", "cop_path_length", "cop_mean_velocity",
    "cop_ellipse_area_95", "cop_rms_x",  "cop_rms_y",       NULL};

static const char *const *
family_keys(StanceFamily f)
{
  switch (f) {
  case STANCE_FAMILY_JUMPS: return keys_jumps;
  case STANCE_FAMILY_HOPS: return keys_hops;
  case STANCE_FAMILY_ISO: return keys_iso;
  case STANCE_FAMILY_REPS: return keys_reps;
  case STANCE_FAMILY_BALANCE: return keys_balance;
  default: return NULL;
  }
}

/* Display unit, scale and decimals for an SI unit: heights and distances in cm, durations in
 * ms, the rest as stored. */
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
      {"m", {"cm", 100.0, 1}},      {"s", {"ms", 1000.0, 0}},     {"N", {"N", 1.0, 1}},
      {"N/kg", {"N/kg", 1.0, 2}},   {"BW", {"BW", 1.0, 2}},       {"N/s", {"N/s", 1.0, 0}},
      {"N.s", {"N.s", 1.0, 2}},     {"m/s", {"m/s", 1.0, 3}},     {"W", {"W", 1.0, 0}},
      {"%", {"%", 1.0, 1}},         {"count", {"count", 1.0, 0}}, {"mm", {"mm", 1.0, 1}},
      {"mm2", {"mm2", 1.0, 0}},     {"mm/s", {"mm/s", 1.0, 1}},   {"kN/m", {"kN/m", 1.0, 1}},
      {"ratio", {"ratio", 1.0, 2}}, {"kg", {"kg", 1.0, 2}},       {"Hz", {"Hz", 1.0, 1}},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].si, unit) == 0)
      return table[i].d;
  Display d = {unit, 1.0, 3};
  return d;
}

static const char *
fmt_display(double v, const Display *d, char *buf, size_t n)
{
  return fmt_fixed(v * d->scale, d->dec, buf, n);
}

static const char *
protocol_text(StanceProtocol p)
{
  const StanceProtocolInfo *info = stance_protocol_info(p);
  return info ? info->title : "unknown protocol";
}

/* Writes text from column col on, wrapped at 100 columns; continuation lines start at column
 * indent. Words longer than a line are not broken. */
static void
wrap_text(FILE *out, const char *text, int col, int indent)
{
  const char *p = text;
  bool first = true;
  while (*p) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    size_t w = strcspn(p, " ");
    if (!first && col + 1 + (int)w > 100) {
      fprintf(out, "\n%*s", indent, "");
      col = indent;
      first = true;
    }
    if (!first) {
      fputc(' ', out);
      col++;
    }
    fwrite(p, 1, w, out);
    col += (int)w;
    p += w;
    first = false;
  }
  fputc('\n', out);
}

static void
table_flags(FILE *out, const StanceFlag *flags, size_t n, int indent, const char *label)
{
  if (n == 0) {
    fprintf(out, "%*s%-18snone\n", indent, "", label);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    char head[96];
    snprintf(head, sizeof head, "%-8s %s: ", severity_name(flags[i].severity), flags[i].id);
    fprintf(out, "%*s%-18s%s", indent, "", i == 0 ? label : "", head);
    wrap_text(out, flags[i].message, indent + 18 + (int)strlen(head), indent + 18 + 9);
  }
}

static bool
in_keys(const char *const *keys, const char *id)
{
  for (size_t k = 0; keys && keys[k]; k++)
    if (strcmp(keys[k], id) == 0)
      return true;
  return false;
}

/* printf into a line buffer, trailing blanks dropped, then the line and a newline. */
static void put_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put_line(FILE *out, const char *fmt, ...)
{
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  while (len > 0 && line[len - 1] == ' ')
    line[--len] = '\0';
  fputs(line, out);
  fputc('\n', out);
}

static void
table_metric_header(FILE *out, bool limbs, const char *formula)
{
  if (limbs)
    put_line(out, "    %-24s %-6s %10s %10s %10s %14s  %s", "metric", "unit", "left", "right",
             "total", formula, "stronger");
  else
    put_line(out, "    %-24s %-6s %10s", "metric", "unit", "total");
}

static void
table_metric_row(FILE *out, const StanceMetric *m, bool limbs)
{
  Display d = display_of(m->unit);
  char b[3][48], av[48];
  const char *vals[3];
  for (int s = 0; s < 3; s++) {
    double v;
    vals[s] = stance_metric_get(m, (StanceSel)s, &v) ? fmt_display(v, &d, b[s], sizeof b[s]) : "-";
  }
  if (!limbs) {
    put_line(out, "    %-24s %-6s %10s", m->id, d.unit, vals[2]);
    return;
  }
  const char *asym = "-", *strong = "";
  if (m->has_asym && isfinite(m->asym.value)) {
    fmt_fixed(m->asym.value, 1, av, sizeof av);
    strcat(av, " %");
    asym = av;
    strong = stronger_name(m->asym.stronger);
  }
  put_line(out, "    %-24s %-6s %10s %10s %10s %14s  %s", m->id, d.unit, vals[0], vals[1], vals[2],
           asym, strong);
}

/* Rows of metrics or summary entries (both start with their id): the family's key ids in their
 * order when any is present (with a count of the rest), else every one. */
typedef void (*TableRowFn)(FILE *out, const void *item, bool limbs);

static void
table_rows(FILE *out, const void *items, size_t n, size_t size, const char *const *keys, bool limbs,
           TableRowFn row)
{
  const char *base = items;
  bool any_key = false;
  for (size_t i = 0; i < n; i++)
    if (in_keys(keys, base + i * size))
      any_key = true;
  size_t shown = 0;
  if (any_key) {
    for (size_t k = 0; keys[k]; k++) {
      for (size_t i = 0; i < n; i++) {
        if (strcmp(base + i * size, keys[k]) == 0) {
          row(out, base + i * size, limbs);
          shown++;
        }
      }
    }
  } else {
    for (size_t i = 0; i < n; i++)
      row(out, base + i * size, limbs);
    shown = n;
  }
  if (shown < n)
    fprintf(out, "    (%zu more metric%s: --format json or csv lists every one)\n", n - shown,
            n - shown == 1 ? "" : "s");
}

static void
metric_row(FILE *out, const void *item, bool limbs)
{
  table_metric_row(out, item, limbs);
}

/* The metric rows of a trial or the session: the family's key metrics in their order when the
 * trial has any of them (with a count of the rest), else every metric. */
static void
table_metrics(FILE *out, const StanceMetric *ms, size_t n, const char *const *keys, bool limbs,
              const char *formula)
{
  table_metric_header(out, limbs, formula);
  table_rows(out, ms, n, sizeof *ms, keys, limbs, metric_row);
}

static void
stats_cell(const StanceStats *s, const Display *d, bool with_sd, char *buf, size_t n)
{
  char m[48], sd[48];
  if (!stats_usable(s)) {
    snprintf(buf, n, "-");
    return;
  }
  fmt_display(s->mean, d, m, sizeof m);
  if (with_sd && s->has_sd && isfinite(s->sd))
    snprintf(buf, n, "%s +- %s", m, fmt_display(s->sd, d, sd, sizeof sd));
  else
    snprintf(buf, n, "%s", m);
}

static void
table_summary_row(FILE *out, const StanceSummaryMetric *sm, bool limbs)
{
  Display d = display_of(sm->unit);
  const StanceStats *p = summary_primary(sm, limbs);
  char main_c[64], cv[48], l[48], r[48], as[64], cons[48];
  if (p)
    stats_cell(p, &d, true, main_c, sizeof main_c);
  else
    snprintf(main_c, sizeof main_c, "-");
  if (p && p->has_cv && isfinite(p->cv_pct))
    fmt_fixed(p->cv_pct, 1, cv, sizeof cv);
  else
    snprintf(cv, sizeof cv, "-");
  size_t count = p ? p->n : 0;
  if (!limbs) {
    put_line(out, "    %-24s %-6s %3zu %20s %6s", sm->id, d.unit, count, main_c, cv);
    return;
  }
  if (sm->has & STANCE_HAS_LEFT)
    stats_cell(&sm->left, &d, false, l, sizeof l);
  else
    snprintf(l, sizeof l, "-");
  if (sm->has & STANCE_HAS_RIGHT)
    stats_cell(&sm->right, &d, false, r, sizeof r);
  else
    snprintf(r, sizeof r, "-");
  snprintf(as, sizeof as, "-");
  snprintf(cons, sizeof cons, "-");
  if (sm->has_asym && isfinite(sm->asym.value)) {
    char v[48], sd[48];
    fmt_fixed(sm->asym.value, 1, v, sizeof v);
    const char *st = sm->asym.stronger == STANCE_SIDE_LEFT    ? "L"
                     : sm->asym.stronger == STANCE_SIDE_RIGHT ? "R"
                                                              : "=";
    if (sm->asym_stats.has_sd && isfinite(sm->asym_stats.sd))
      snprintf(as, sizeof as, "%s +- %s %s", v, fmt_fixed(sm->asym_stats.sd, 1, sd, sizeof sd), st);
    else
      snprintf(as, sizeof as, "%s %s", v, st);
    if (sm->has_direction && isfinite(sm->direction_consistency_pct)) {
      fmt_fixed(sm->direction_consistency_pct, 0, cons, sizeof cons);
      strcat(cons, " %");
    }
  }
  put_line(out, "    %-24s %-6s %3zu %20s %6s %10s %10s %16s %7s", sm->id, d.unit, count, main_c,
           cv, l, r, as, cons);
}

static void
summary_row(FILE *out, const void *item, bool limbs)
{
  table_summary_row(out, item, limbs);
}

static void
table_summary(FILE *out, const StanceSummaryMetric *ss, size_t n, const char *const *keys,
              bool limbs, const char *formula)
{
  if (limbs)
    put_line(out, "    %-24s %-6s %3s %20s %6s %10s %10s %16s %7s", "metric", "unit", "n",
             "mean +- SD", "CV %", "left", "right", formula, "consist");
  else
    put_line(out, "    %-24s %-6s %3s %20s %6s", "metric", "unit", "n", "mean +- SD", "CV %");
  table_rows(out, ss, n, sizeof *ss, keys, limbs, summary_row);
}

/* The events in time order, wrapped at 100 columns. */
static void
table_events(FILE *out, const StanceTrial *t, bool limbs)
{
  size_t n = 0;
  const StanceEvent **ev = sorted_events(t, limbs, &n);
  if (!ev)
    return; /* none, or out of memory: the JSON carries them; the table leaves the line out */
  fprintf(out, "  %-18s", "events (s)");
  int col = 20;
  for (size_t i = 0; i < n; i++) {
    const StanceEvent *e = ev[i];
    char num[48], item[96];
    fmt_fixed(e->t_s, 3, num, sizeof num);
    snprintf(item, sizeof item, "%s%s %s", e->name,
             e->sel == STANCE_SEL_LEFT    ? " (left)"
             : e->sel == STANCE_SEL_RIGHT ? " (right)"
                                          : "",
             num);
    int len = (int)strlen(item);
    if (col > 20 && col + 2 + len > 100) {
      fprintf(out, ",\n%20s", "");
      col = 20;
    } else if (col > 20) {
      fputs(", ", out);
      col += 2;
    }
    fputs(item, out);
    col += len;
  }
  fputc('\n', out);
  free(ev);
}

static void
table_summary_block(FILE *out, const StanceAnalysis *a, const char *const *keys, bool limbs,
                    const char *asym_col)
{
  fprintf(out,
          "Summary over %zu trial%s: mean +- SD and CV %% (of the total, or of the only limb)%s\n",
          a->n_trials, a->n_trials == 1 ? "" : "s", limbs ? ";" : "");
  if (limbs)
    fputs(
        "  left and right means; asymmetry of the means +- SD of the trials' asymmetries and the\n"
        "  stronger limb (L, R, = even); consist: % of trials with that limb stronger\n",
        out);
  table_summary(out, a->summary, a->n_summary, keys, limbs, asym_col);
}

int
stance_analysis_write_table(const StanceAnalysis *a, FILE *out, StanceError *err)
{
  if (!a || !out)
    return stance_error_set(err, STANCE_EINVAL, "no analysis or no output stream given");
  CLocale loc = {(locale_t)0, (locale_t)0};
  int r = c_locale_enter(&loc, err);
  if (r < 0)
    return r;
  bool limbs = !one_plate(a);
  const StanceConditioning *c = &a->cond;
  char b1[64], b2[64], b3[64], b4[64], side[64], meth[512];
  StanceAsymFormula fid = formula_of(a);
  const char *formula = stance_asym_formula_name(fid);

  fprintf(out, "Analysis of %s\n", a->input[0] ? a->input : "(unnamed input)");
  fprintf(out, "  %-18s%s (%s), %s\n", "protocol", stance_protocol_name(a->protocol),
          protocol_text(a->protocol), stance_side_text(side, sizeof side, a->protocol, a->side));
  if (a->involved == STANCE_SIDE_LEFT || a->involved == STANCE_SIDE_RIGHT)
    fprintf(out, "  %-18s%s\n", "involved limb", stance_side_name(a->involved));
  fprintf(out, "  %-18s%s\n", "plates",
          limbs ? "left and right" : "one combined force (no per-limb values)");
  fprintf(out, "  %-18s%s Hz, %s s\n", "recording", fmt_fixed(a->sample_rate_hz, 0, b1, sizeof b1),
          fmt_fixed(a->duration_s, 3, b2, sizeof b2));
  if (c->has_body_weight) {
    fprintf(out, "  %-18s%s N (SD %s N, window %s-%s s), body mass %s kg\n", "body weight",
            fmt_fixed(c->body_weight_n, 1, b1, sizeof b1),
            fmt_fixed(c->body_weight_sd_n, 1, b2, sizeof b2),
            fmt_fixed(c->bw_window_start_s, 3, b3, sizeof b3),
            fmt_fixed(c->bw_window_end_s, 3, b4, sizeof b4),
            fmt_fixed(c->body_mass_kg, 2, side, sizeof side));
    if (limbs)
      fprintf(out, "  %-18sleft %s %%, right %s %% while weighing\n", "load share",
              fmt_fixed(c->still_share_left * 100.0, 1, b1, sizeof b1),
              fmt_fixed(100.0 - c->still_share_left * 100.0, 1, b2, sizeof b2));
    if (c->external_load_kg > 0.0)
      fprintf(out, "  %-18s%s kg (body %s kg + load %s kg)\n", "system mass",
              fmt_fixed(c->system_mass_kg, 2, b1, sizeof b1),
              fmt_fixed(c->body_mass_kg, 2, b2, sizeof b2),
              fmt_fixed(c->external_load_kg, 2, b3, sizeof b3));
  } else {
    fprintf(out, "  %-18snot found (no still window; metrics that need it are absent)\n",
            "body weight");
  }
  fprintf(out, "  %-18s%s = %s", "asymmetry", formula, stance_asym_formula_text(fid));
  fputc('\n', out);
  method_text_prec(&a->onset_method, meth, sizeof meth, false);
  fprintf(out, "  %-18s%s\n", "onset", a->onset_method.id[0] ? meth : "-");
  method_text_prec(&c->filter, meth, sizeof meth, false);
  fprintf(out, "  %-18s%s\n", "filter", meth);
  fprintf(out, "  %-18s", "conditioning");
  if (c->zeroed) {
    if (limbs)
      fprintf(out, "zeroed (offsets left %s N, right %s N)",
              fmt_fixed(c->zero_offset_n[0], 1, b1, sizeof b1),
              fmt_fixed(c->zero_offset_n[1], 1, b2, sizeof b2));
    else
      fprintf(out, "zeroed (offset %s N)", fmt_fixed(c->zero_offset_n[2], 1, b1, sizeof b1));
  } else {
    fputs("not zeroed", out);
  }
  if (c->has_spectrum) {
    fprintf(out, "; noise floor %s N", fmt_fixed(c->noise_floor_n, 2, b1, sizeof b1));
    if (c->mains_hz > 0.0)
      fprintf(out, "; mains hum %s Hz (%s N)", fmt_fixed(c->mains_hz, 0, b1, sizeof b1),
              fmt_fixed(c->mains_amp_n, 2, b2, sizeof b2));
  }
  if (c->suggested_cutoff_hz > 0.0)
    fprintf(out, "; suggested cutoff %s Hz", fmt_fixed(c->suggested_cutoff_hz, 1, b1, sizeof b1));
  fprintf(out, "; %zu spike%s\n", c->n_spikes, c->n_spikes == 1 ? "" : "s");
  table_flags(out, a->flags, a->n_flags, 2, "flags");
  fprintf(out, "  %-18s%zu\n", "trials", a->n_trials);
  fputs("  Values in display units: heights and distances in cm, durations in ms (JSON and CSV\n"
        "  keep SI units: m, s).\n",
        out);

  const char *const *keys = family_keys(stance_protocol_family(a->protocol));
  char asym_col[40];
  snprintf(asym_col, sizeof asym_col, "asym %s", formula);
  for (size_t i = 0; i < a->n_trials; i++) {
    const StanceTrial *t = &a->trials[i];
    fprintf(out, "\nTrial %d: %s", t->index, t->kind);
    if (t->set > 0)
      fprintf(out, ", set %d", t->set);
    if (t->side != STANCE_SIDE_BOTH)
      fprintf(out, ", %s", stance_side_text(side, sizeof side, a->protocol, t->side));
    fprintf(out, ", %s-%s s\n", fmt_fixed(t->start_s, 3, b1, sizeof b1),
            fmt_fixed(t->end_s, 3, b2, sizeof b2));
    table_events(out, t, limbs);
    if (t->n_flags)
      table_flags(out, t->flags, t->n_flags, 2, "flags");
    if (t->n_metrics)
      table_metrics(out, t->metrics, t->n_metrics, keys, limbs, asym_col);
    else
      fprintf(out, "    no metrics (see the flags)\n");
  }
  if (a->n_metrics) {
    fputs("\nSession\n", out);
    table_metrics(out, a->metrics, a->n_metrics, NULL, limbs, asym_col);
  }
  if (a->n_summary) {
    fputc('\n', out);
    table_summary_block(out, a, keys, limbs, asym_col);
  }
  c_locale_leave(&loc);
  return stream_status(out, "analysis table", err);
}

/* Between sessions: the key metrics' change from the first to the last input, against the
 * typical error (TE), the smallest worthwhile change (SWC) and MDC95. */
static void
table_trend(FILE *out, const StanceAnalysis *a, const char *const *keys)
{
  if (a->n_trend == 0)
    return;
  fprintf(out, "\nBetween sessions (first -> last input; TE = typical error, SWC = 0.2 x SD of the "
               "session means,\n  MDC95 = 1.96 x sqrt(2) x TE; '*' = the change exceeds it)\n");
  put_line(out, "    %-24s %-6s %4s %10s %10s %10s %9s %9s %9s", "metric", "unit", "n", "first",
           "last", "change", "TE", "SWC", "MDC95");
  size_t shown = 0;
  for (size_t k = 0; keys[k]; k++) {
    for (size_t i = 0; i < a->n_trend; i++) {
      const StanceTrendMetric *t = &a->trend[i];
      if (strcmp(t->id, keys[k]) != 0)
        continue;
      Display d = display_of(t->unit);
      char f[48], l[48], c[48], te[48], swc[48], mdc[48];
      fmt_display(t->first_mean, &d, f, sizeof f);
      fmt_display(t->last_mean, &d, l, sizeof l);
      fmt_display(t->change, &d, c, sizeof c);
      if (t->has_te)
        fmt_display(t->te, &d, te, sizeof te);
      else
        snprintf(te, sizeof te, "-");
      if (t->has_swc) {
        fmt_display(t->swc, &d, swc, sizeof swc);
        if (t->exceeds_swc)
          strncat(swc, "*", sizeof swc - strlen(swc) - 1);
      } else {
        snprintf(swc, sizeof swc, "-");
      }
      if (t->has_mdc) {
        fmt_display(t->mdc95, &d, mdc, sizeof mdc);
        if (t->exceeds_mdc)
          strncat(mdc, "*", sizeof mdc - strlen(mdc) - 1);
      } else {
        snprintf(mdc, sizeof mdc, "-");
      }
      put_line(out, "    %-24s %-6s %4zu %10s %10s %10s %9s %9s %9s", t->id, d.unit, t->n_sessions,
               f, l, c, te, swc, mdc);
      shown++;
    }
  }
  if (shown < a->n_trend)
    fprintf(out, "    (%zu more metric%s: --format json lists every one)\n", a->n_trend - shown,
            a->n_trend - shown == 1 ? "" : "s");
}

int
stance_analysis_write_table_summary(const StanceAnalysis *a, FILE *out, StanceError *err)
{
  if (!a || !out)
    return stance_error_set(err, STANCE_EINVAL, "no analysis or no output stream given");
  CLocale loc = {(locale_t)0, (locale_t)0};
  int r = c_locale_enter(&loc, err);
  if (r < 0)
    return r;
  char asym_col[40];
  snprintf(asym_col, sizeof asym_col, "asym %s", stance_asym_formula_name(formula_of(a)));
  table_summary_block(out, a, family_keys(stance_protocol_family(a->protocol)), !one_plate(a),
                      asym_col);
  table_trend(out, a, family_keys(stance_protocol_family(a->protocol)));
  c_locale_leave(&loc);
  return stream_status(out, "analysis table", err);
}
