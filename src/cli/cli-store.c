/* cli-store.c: what the stance-cli subcommands on the session store share (see cli-store.h):
 * opening the store with its recovery messages, GError printing, resolving athletes and sessions,
 * times in local time, and the short form of a stored analysis that `session show`, `record` and
 * `trend` print.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli-store.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "stance-report.h"

/* ======================================================================================
 * Opening the store
 * ====================================================================================== */

StanceStore *
cli_store_open(const char *sub, const char *db, StanceStoreFlags flags)
{
  GError *error = NULL;
  StanceStore *store = stance_store_open(db, flags, &error);
  if (!store) {
    cli_gerror(sub, error);
    return NULL;
  }
  /* A test of a full disk without filling one: the database may not grow past this many bytes
   * (stance_store_set_size_limit(); commits beyond fail as a full disk would). */
  const char *limit = g_getenv("STANCE_DB_MAX_BYTES");
  if (limit && *limit) {
    long v;
    if (!cli_parse_long(limit, 1, G_MAXLONG, &v)) {
      cli_error(sub,
                "STANCE_DB_MAX_BYTES: '%s' is not a size (expected a number of bytes, or "
                "unset it)",
                limit);
      stance_store_close(store);
      return NULL;
    }
    if (!stance_store_set_size_limit(store, (guint64)v, &error)) {
      cli_gerror(sub, error);
      stance_store_close(store);
      return NULL;
    }
  }
  /* Trials whose writer died (a crash, kill -9, a power cut) were recovered by the open: say so,
   * one line each, so that the user knows the trial is there and how much of it was kept. */
  const GArray *rec = stance_store_recovered(store);
  for (guint k = 0; rec && k < rec->len; k++) {
    gint64 id = g_array_index(rec, gint64, k);
    StanceStoreTrial t;
    stance_store_trial_init(&t);
    if (!stance_store_trial_get(store, id, &t, NULL)) {
      cli_error(sub, "recovered interrupted trial (id %" G_GINT64_FORMAT ")", id);
      continue;
    }
    StanceSession s;
    stance_session_init(&s);
    StanceAthlete a;
    stance_athlete_init(&a);
    const char *who = "?";
    if (stance_store_session_get(store, t.session_id, &s, NULL) &&
        stance_store_athlete_get(store, s.athlete_id, &a, NULL))
      who = a.name;
    double kept = t.sample_rate_hz > 0 ? (double)t.n_samples / t.sample_rate_hz : 0.0;
    cli_error(sub, "recovered interrupted trial %d of session %" G_GINT64_FORMAT " (%s): %s s kept",
              t.number, t.session_id, who, cli_num(kept, 2));
    stance_athlete_clear(&a);
    stance_session_clear(&s);
    stance_store_trial_clear(&t);
  }
  return store;
}

int
cli_gerror(const char *sub, GError *error)
{
  if (error) {
    cli_error(sub, "%s", error->message);
    g_error_free(error);
  } else {
    cli_error(sub, "failed (no reason given)");
  }
  return CLI_EXIT_INPUT;
}

/* ======================================================================================
 * Athletes and sessions
 * ====================================================================================== */

gboolean
cli_find_athlete(const char *sub, StanceStore *store, const char *key, StanceAthlete *out)
{
  GError *error = NULL;
  if (stance_store_athlete_find(store, key, out, &error))
    return TRUE;
  if (g_error_matches(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
    cli_error(sub, "%s; to add the athlete: stance-cli athlete add \"%s\"", error->message, key);
    g_error_free(error);
    return FALSE;
  }
  if (g_error_matches(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_AMBIGUOUS)) {
    cli_error(sub, "%s (expected the athlete's id: 'stance-cli athlete list' shows them)",
              error->message);
    g_error_free(error);
    return FALSE;
  }
  cli_gerror(sub, error);
  return FALSE;
}

gint64
cli_find_session(const char *sub, StanceStore *store, const char *key)
{
  GError *error = NULL;
  if (g_str_has_prefix(key, "latest")) {
    gint64 athlete_id = 0;
    char *name = NULL;
    if (key[6] == ':') {
      StanceAthlete a;
      stance_athlete_init(&a);
      if (!cli_find_athlete(sub, store, key + 7, &a))
        return 0;
      athlete_id = a.id;
      name = g_strdup(a.name);
      stance_athlete_clear(&a);
    } else if (key[6] != '\0') {
      cli_error(sub,
                "'%s' is not a session (expected a session id, latest or latest:ATHLETE; "
                "'stance-cli session list' shows the ids)",
                key);
      return 0;
    }
    GPtrArray *list = stance_store_session_list(store, athlete_id, &error);
    if (!list) {
      g_free(name);
      cli_gerror(sub, error);
      return 0;
    }
    gint64 id = list->len > 0 ? ((StanceSession *)list->pdata[0])->id : 0;
    g_ptr_array_unref(list);
    if (id == 0) {
      if (name)
        cli_error(sub,
                  "%s has no sessions yet (expected a recorded session: stance-cli record "
                  "--athlete ...)",
                  name);
      else
        cli_error(sub,
                  "the store %s has no sessions yet (expected a recorded session: "
                  "stance-cli record --athlete ...)",
                  stance_store_path(store));
    }
    g_free(name);
    return id;
  }
  gint64 id = 0;
  {
    long v;
    if (!cli_parse_long(key, 1, G_MAXLONG, &v)) {
      cli_error(sub,
                "'%s' is not a session (expected a session id such as 12, latest or "
                "latest:ATHLETE; 'stance-cli session list' shows the ids)",
                key);
      return 0;
    }
    id = v;
  }
  StanceSession s;
  stance_session_init(&s);
  if (!stance_store_session_get(store, id, &s, &error)) {
    if (g_error_matches(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
      cli_error(sub, "%s (expected one of the ids 'stance-cli session list' shows)",
                error->message);
      g_error_free(error);
    } else {
      cli_gerror(sub, error);
    }
    return 0;
  }
  stance_session_clear(&s);
  return id;
}

/* ======================================================================================
 * Times
 * ====================================================================================== */

const char *
cli_time_text(gint64 unix_ms)
{
  static char ring[8][32];
  static unsigned next;
  char *b = ring[next++ % 8];
  time_t t = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000));
  struct tm tm;
  if (unix_ms == 0 || !localtime_r(&t, &tm)) {
    g_strlcpy(b, "?", sizeof ring[0]);
    return b;
  }
  /* Digits only: no locale-dependent names. */
  snprintf(b, sizeof ring[0], "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min);
  return b;
}

/* ======================================================================================
 * Stored results in short
 * ====================================================================================== */

/* Sums of one metric's rows over reps. */
typedef struct {
  char metric[32];
  char unit[12];
  int n; /* reps with any value */
  int n_left, n_right, n_total;
  double sum_left, sum_right, sum_total;
  int n_both; /* reps with left and right */
  double both_left, both_right;
  char formula[24];
  int rep_seen; /* the last rep counted in n */
} MetricSums;

static MetricSums *
sums_find(GArray *sums, const char *metric)
{
  for (guint k = 0; k < sums->len; k++) {
    MetricSums *s = &g_array_index(sums, MetricSums, k);
    if (strcmp(s->metric, metric) == 0)
      return s;
  }
  return NULL;
}

/* Accumulates the rows (rep >= 1) of one run (in (rep, metric, limb) order: a rep's rows are
 * together, which the count of reps per metric relies on). */
static void
sums_add_rows(GArray *sums, const GArray *rows)
{
  for (guint k = 0; k < rows->len; k++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, k);
    if (r->rep < 1)
      continue;
    MetricSums *s = sums_find(sums, r->metric);
    if (!s) {
      MetricSums z;
      memset(&z, 0, sizeof z);
      g_strlcpy(z.metric, r->metric, sizeof z.metric);
      g_strlcpy(z.unit, r->unit, sizeof z.unit);
      g_array_append_val(sums, z);
      s = &g_array_index(sums, MetricSums, sums->len - 1);
    }
    if (strcmp(r->limb, "asym") == 0) {
      if (r->formula[0])
        g_strlcpy(s->formula, r->formula, sizeof s->formula);
      continue;
    }
    if (!isfinite(r->value))
      continue;
    if (s->rep_seen != r->rep) {
      s->rep_seen = r->rep;
      s->n++;
    }
    if (strcmp(r->limb, "left") == 0) {
      s->n_left++;
      s->sum_left += r->value;
    } else if (strcmp(r->limb, "right") == 0) {
      s->n_right++;
      s->sum_right += r->value;
    } else if (strcmp(r->limb, "total") == 0) {
      s->n_total++;
      s->sum_total += r->value;
    }
  }
  /* Left and right of the same rep, for the asymmetry of the means (reps with both only). */
  GHashTable *right = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint k = 0; k < rows->len; k++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, k);
    if (r->rep >= 1 && strcmp(r->limb, "right") == 0 && isfinite(r->value))
      g_hash_table_insert(right, g_strdup_printf("%d|%s", r->rep, r->metric), (gpointer)r);
  }
  for (guint k = 0; k < rows->len; k++) {
    const StanceResultRow *l = &g_array_index(rows, StanceResultRow, k);
    if (l->rep < 1 || strcmp(l->limb, "left") != 0 || !isfinite(l->value))
      continue;
    char key[64];
    snprintf(key, sizeof key, "%d|%s", l->rep, l->metric);
    const StanceResultRow *r = g_hash_table_lookup(right, key);
    if (r) {
      MetricSums *s = sums_find(sums, l->metric);
      s->n_both++;
      s->both_left += l->value;
      s->both_right += r->value;
    }
  }
  g_hash_table_unref(right);
}

/* The run's options: formula (resolved) and involved limb. */
static void
options_formula(const char *options, StanceProtocol protocol, StanceAsymFormula *formula,
                StanceSide *involved)
{
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  StanceError err;
  stance_error_clear(&err);
  if (options)
    (void)stance_analysis_options_from_text(&o, options, &err); /* defaults where unreadable */
  if (o.protocol != STANCE_PROTO_UNKNOWN)
    protocol = o.protocol;
  *involved = o.involved;
  *formula =
      o.formula != STANCE_ASYM_DEFAULT ? o.formula : stance_asym_default(protocol, o.involved);
}

gboolean
cli_trial_results(StanceStore *store, const StanceStoreTrial *trial, CliTrialResults *out,
                  GError **error)
{
  memset(out, 0, sizeof *out);
  StanceStoreAnalysis an;
  memset(&an, 0, sizeof an);
  if (!stance_store_analysis_current(store, trial->id, &an, error))
    return FALSE;
  GArray *rows = stance_store_results(store, an.id, error);
  if (!rows) {
    stance_store_analysis_clear(&an);
    return FALSE;
  }
  out->analysis_id = an.id;
  out->created_unix_ms = an.created_unix_ms;
  out->options = g_strdup(an.options);
  stance_store_analysis_clear(&an);
  options_formula(out->options, trial->protocol, &out->formula, &out->involved);

  int max_rep = 0;
  for (guint k = 0; k < rows->len; k++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, k);
    if (r->rep > max_rep) {
      max_rep = r->rep;
      g_strlcpy(out->kind, r->kind, sizeof out->kind);
    }
  }
  out->n_reps = max_rep;

  GArray *sums = g_array_new(FALSE, TRUE, sizeof(MetricSums));
  sums_add_rows(sums, rows);
  g_array_unref(rows);
  out->metrics = g_array_new(FALSE, TRUE, sizeof(CliMetricMean));
  for (guint k = 0; k < sums->len; k++) {
    const MetricSums *s = &g_array_index(sums, MetricSums, k);
    CliMetricMean m;
    memset(&m, 0, sizeof m);
    g_strlcpy(m.metric, s->metric, sizeof m.metric);
    g_strlcpy(m.unit, s->unit, sizeof m.unit);
    m.n = s->n;
    m.stronger = STANCE_SIDE_BOTH;
    if (s->n_left) {
      m.has_left = TRUE;
      m.left = s->sum_left / s->n_left;
    }
    if (s->n_right) {
      m.has_right = TRUE;
      m.right = s->sum_right / s->n_right;
    }
    if (s->n_total) {
      m.has_total = TRUE;
      m.total = s->sum_total / s->n_total;
    }
    /* Only metrics the analysis gave an asymmetry (stored asym rows): the others (e.g. a time
     * offset between the limbs) have none by definition. */
    if (s->formula[0] && s->n_both > 0) {
      StanceAsymFormula f;
      if (!stance_asym_formula_from_name(s->formula, &f))
        f = out->formula;
      StanceError err;
      stance_error_clear(&err);
      double v;
      StanceSide st;
      if (stance_asym_compute(f, s->both_left / s->n_both, s->both_right / s->n_both, out->involved,
                              &v, &st, &err) == STANCE_OK &&
          isfinite(v)) {
        m.has_asym = TRUE;
        m.asym = v;
        m.stronger = st;
        g_strlcpy(m.formula, stance_asym_formula_name(f), sizeof m.formula);
      }
    }
    g_array_append_val(out->metrics, m);
  }
  g_array_unref(sums);
  return TRUE;
}

void
cli_trial_results_clear(CliTrialResults *r)
{
  g_free(r->options);
  if (r->metrics)
    g_array_unref(r->metrics);
  memset(r, 0, sizeof *r);
}

const CliMetricMean *
cli_trial_results_find(const CliTrialResults *r, const char *metric)
{
  for (guint k = 0; r->metrics && k < r->metrics->len; k++) {
    const CliMetricMean *m = &g_array_index(r->metrics, CliMetricMean, k);
    if (strcmp(m->metric, metric) == 0)
      return m;
  }
  return NULL;
}

/* Per-limb metrics worth showing, in order of preference. */
static const char *const preferred[] = {
    "peak_force",      "net_impulse",       "peak_rfd",       "contact_time", "rsi",
    "mean_force",      "con_rfd",           "load_share_pct", "impulse",      "weight_bearing_pct",
    "cop_path_length", "cop_mean_velocity", "leg_stiffness",  "flight_time",
};

static gboolean
listed(const char **ids, size_t n, const char *id)
{
  for (size_t k = 0; k < n; k++)
    if (strcmp(ids[k], id) == 0)
      return TRUE;
  return FALSE;
}

size_t
cli_key_metrics(StanceProtocol p, const CliTrialResults *r, const char **ids, size_t max)
{
  size_t n = 0;
  if (max == 0 || !r->metrics)
    return 0;
  const char *head = stance_report_headline_metric(p);
  const CliMetricMean *hm = head ? cli_trial_results_find(r, head) : NULL;
  if (hm)
    ids[n++] = hm->metric;
  /* What the whole body achieved, for context (no per-limb value when bilateral). */
  static const char *const context[] = {"jump_height_impulse", "rsi"};
  for (size_t k = 0; k < G_N_ELEMENTS(context) && n < max; k++) {
    const CliMetricMean *m = cli_trial_results_find(r, context[k]);
    if (m && m->has_total && !listed(ids, n, m->metric))
      ids[n++] = m->metric;
  }
  /* Preferred metrics that have an asymmetry, or (one-sided trials) the stance limb's value. */
  for (size_t k = 0; k < G_N_ELEMENTS(preferred) && n < max; k++) {
    const CliMetricMean *m = cli_trial_results_find(r, preferred[k]);
    if (m && (m->has_asym || m->has_left != m->has_right) && !listed(ids, n, m->metric))
      ids[n++] = m->metric;
  }
  return n;
}

const char *
cli_reps_text(StanceProtocol p, const CliTrialResults *r)
{
  static char ring[4][48];
  static unsigned next;
  char *b = ring[next++ % 4];
  const StanceProtocolInfo *pi = stance_protocol_info(p);
  const char *noun = r->kind[0]           ? r->kind
                     : pi && pi->is_jump  ? "jump"
                     : pi && pi->has_reps ? "rep"
                                          : "trial";
  if (r->n_reps == 0)
    snprintf(b, sizeof ring[0], "no %s found", noun);
  else
    snprintf(b, sizeof ring[0], "%d %s%s", r->n_reps, noun, r->n_reps == 1 ? "" : "s");
  return b;
}

const char *
cli_display_value(double v, const char *si_unit, const char **unit)
{
  const char *u = si_unit;
  int dec = 2;
  if (strcmp(si_unit, "m") == 0) {
    v *= 100.0;
    u = "cm";
    dec = 1;
  } else if (strcmp(si_unit, "s") == 0) {
    v *= 1000.0;
    u = "ms";
    dec = 0;
  } else if (strcmp(si_unit, "N") == 0 || strcmp(si_unit, "%") == 0 || strcmp(si_unit, "mm") == 0 ||
             strcmp(si_unit, "mm/s") == 0) {
    dec = 1;
  } else if (strcmp(si_unit, "N/s") == 0 || strcmp(si_unit, "W") == 0 ||
             strcmp(si_unit, "mm2") == 0 || strcmp(si_unit, "count") == 0) {
    dec = 0;
  }
  if (unit)
    *unit = u;
  return cli_num(v, dec);
}

const char *
cli_asym_value_text(char *buf, size_t n, double value, const char *formula, StanceSide stronger)
{
  snprintf(buf, n, "%s %% %s (%s)", cli_num(value, 1), formula,
           stronger == STANCE_SIDE_LEFT    ? "left stronger"
           : stronger == STANCE_SIDE_RIGHT ? "right stronger"
                                           : "even");
  return buf;
}

/* ======================================================================================
 * Left against right across the trials of a one-sided protocol
 * ====================================================================================== */

typedef struct {
  StanceProtocol protocol;
  GArray *left, *right; /* MetricSums over the trials of each side */
  char formula[24];
  StanceAsymFormula f;
  StanceSide involved;
} SideGroup;

GArray *
cli_session_side_comparisons(StanceStore *store, gint64 session_id, GError **error)
{
  GPtrArray *trials = stance_store_trial_list(store, session_id, error);
  if (!trials)
    return NULL;
  GArray *out = g_array_new(FALSE, TRUE, sizeof(CliSideComparison));
  SideGroup groups[STANCE_PROTO_COUNT];
  memset(groups, 0, sizeof groups);
  gboolean ok = TRUE;
  for (guint k = 0; ok && k < trials->len; k++) {
    const StanceStoreTrial *t = trials->pdata[k];
    const StanceProtocolInfo *pi = stance_protocol_info(t->protocol);
    if (!pi || !pi->needs_side || t->side == STANCE_SIDE_BOTH || !t->accepted ||
        t->state == STANCE_TRIAL_RECORDING)
      continue;
    StanceStoreAnalysis an;
    memset(&an, 0, sizeof an);
    GError *e = NULL;
    if (!stance_store_analysis_current(store, t->id, &an, &e)) {
      /* A trial never analysed has nothing to compare; other errors are real. */
      if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
        g_propagate_error(error, e);
        ok = FALSE;
      } else {
        g_error_free(e);
      }
      continue;
    }
    GArray *rows = stance_store_results(store, an.id, error);
    if (!rows) {
      stance_store_analysis_clear(&an);
      ok = FALSE;
      continue;
    }
    SideGroup *g = &groups[t->protocol];
    if (!g->left) {
      g->protocol = t->protocol;
      g->left = g_array_new(FALSE, TRUE, sizeof(MetricSums));
      g->right = g_array_new(FALSE, TRUE, sizeof(MetricSums));
      options_formula(an.options, t->protocol, &g->f, &g->involved);
      /* One-sided trials compare with the protocol's one-sided default unless the run chose. */
      g_strlcpy(g->formula, stance_asym_formula_name(g->f), sizeof g->formula);
    }
    /* Only the stance limb's rows count for its side. */
    GArray *own = g_array_new(FALSE, TRUE, sizeof(StanceResultRow));
    const char *limb = t->side == STANCE_SIDE_LEFT ? "left" : "right";
    for (guint q = 0; q < rows->len; q++) {
      const StanceResultRow *r = &g_array_index(rows, StanceResultRow, q);
      if (strcmp(r->limb, limb) == 0)
        g_array_append_vals(own, r, 1); /* shallow: rows stays the owner of the strings */
    }
    /* Each trial's reps are counted again from 1: reset the rep markers of the sums. */
    GArray *dst = t->side == STANCE_SIDE_LEFT ? g->left : g->right;
    for (guint q = 0; q < dst->len; q++)
      g_array_index(dst, MetricSums, q).rep_seen = 0;
    sums_add_rows(dst, own);
    g_array_unref(own);
    g_array_unref(rows);
    stance_store_analysis_clear(&an);
  }
  g_ptr_array_unref(trials);

  for (int p = 0; p < STANCE_PROTO_COUNT; p++) {
    SideGroup *g = &groups[p];
    if (!g->left)
      continue;
    if (ok && g->left->len > 0 && g->right->len > 0) {
      /* The key metrics of the protocol: the headline, then the preferred per-limb ones. */
      const char *ids[8];
      size_t n = 0;
      const char *head = stance_report_headline_metric(g->protocol);
      if (head)
        ids[n++] = head;
      for (size_t k = 0; k < G_N_ELEMENTS(preferred) && n < 5; k++)
        if (!listed(ids, n, preferred[k]))
          ids[n++] = preferred[k];
      for (size_t k = 0; k < n; k++) {
        const MetricSums *l = sums_find(g->left, ids[k]);
        const MetricSums *r = sums_find(g->right, ids[k]);
        if (!l || !r || l->n_left == 0 || r->n_right == 0)
          continue;
        CliSideComparison c;
        memset(&c, 0, sizeof c);
        c.protocol = g->protocol;
        g_strlcpy(c.metric, ids[k], sizeof c.metric);
        g_strlcpy(c.unit, l->unit, sizeof c.unit);
        c.n_left = l->n_left;
        c.n_right = r->n_right;
        c.left = l->sum_left / l->n_left;
        c.right = r->sum_right / r->n_right;
        c.stronger = STANCE_SIDE_BOTH;
        StanceError err;
        stance_error_clear(&err);
        double v;
        StanceSide st;
        if (stance_asym_compute(g->f, c.left, c.right, g->involved, &v, &st, &err) == STANCE_OK &&
            isfinite(v)) {
          c.has_asym = TRUE;
          c.asym = v;
          c.stronger = st;
          g_strlcpy(c.formula, g->formula, sizeof c.formula);
        }
        g_array_append_val(out, c);
      }
    }
    g_array_unref(g->left);
    g_array_unref(g->right);
  }
  if (!ok) {
    g_array_unref(out);
    return NULL;
  }
  return out;
}

/* ======================================================================================
 * JSON
 * ====================================================================================== */

void
cli_json_kv_nullable(StanceJson *j, const char *key, const char *s)
{
  if (s && *s) {
    cli_json_kv_text(j, key, s);
  } else {
    stance_json_key(j, key);
    stance_json_null(j);
  }
}

int
cli_json_end(const char *sub, StanceJson *j)
{
  StanceError err;
  stance_error_clear(&err);
  if (stance_json_finish(j, &err) < 0) {
    cli_error(sub, "cannot write the JSON document: %s",
              err.message[0] ? err.message : stance_strerror(err.code));
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

/* ======================================================================================
 * Fonts
 * ====================================================================================== */

void
cli_release_fonts(void)
{
  cairo_debug_reset_static_data();
  FcFini();
}
