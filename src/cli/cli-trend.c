/* cli-trend.c: `stance-cli trend ATHLETE --metric M`: one metric across an athlete's sessions,
 * per limb and as an asymmetry, against its typical error and minimal detectable change.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * stance_store_trend() gives the per-session means over the current analyses of accepted trials
 * and the typical error (pooled within-session SD of the per-rep values) with MDC95 =
 * 1.96 sqrt(2) TE (stance-reliab.h). This command adds the last change (the last session against
 * the one before) and whether it exceeds the MDC95: a change within it cannot be told apart from
 * the test's own noise.
 */
#include "cli-store.h"

#include <getopt.h>
#include <math.h>
#include <string.h>

static const char *const SUB = "trend";

/* Version of the `trend --format json` document. */
#define TREND_JSON_VERSION 1

typedef enum {
  FORMAT_TABLE,
  FORMAT_JSON,
  FORMAT_CSV,
} OutFormat;

void
cli_trend_help(FILE *out)
{
  fputs(
      "Usage: stance-cli trend ATHLETE --metric M [--protocol P] [--format table|json|csv]\n"
      "\n"
      "One metric across the athlete's sessions: per session the date, the number of accepted\n"
      "trials with a value, the mean left, right and total, and the mean asymmetry with its\n"
      "formula and the stronger limb (current analyses of accepted trials). Then the typical\n"
      "error (TE: the pooled within-session SD of the trials) and the minimal detectable change\n"
      "MDC95 = 1.96 x sqrt(2) x TE of each, and whether the last change (the last session\n"
      "against the one before) exceeds the MDC95. ATHLETE is an id, uuid or name; metric ids\n"
      "are those of `stance-cli analyse` (docs/methods.md), e.g. peak_force, jump_height_impulse,\n"
      "rsi, net_impulse.\n"
      "\n"
      "Options:\n"
      "      --metric M      the metric (required)\n"
      "      --protocol P    only trials of this protocol (default: every protocol with the\n"
      "                      metric; the most frequent one is used)\n"
      "      --format F      table (default), json or csv\n"
      "      --db PATH       the store (default: $STANCE_DB, else "
      "~/.local/share/stance/stance.db)\n"
      "  -h, --help          show this text and exit\n"
      "\n"
      "Exit status: 0 printed, 1 the store cannot be opened, no such athlete, or no session has\n"
      "the metric (the message lists the metrics there are), 2 bad usage.\n"
      "\n"
      "Examples:\n"
      "  stance-cli trend \"Ana Silva\" --metric peak_force --protocol cmj\n"
      "  stance-cli trend 3 --metric jump_height_impulse --protocol sl-cmj --format csv\n",
      out);
}

/* Shortest decimal that reads back the same double ('.' decimal point: LC_NUMERIC is "C"). */
static const char *
exact(double v)
{
  static char ring[8][40];
  static unsigned next;
  char *b = ring[next++ % 8];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof ring[0], "%.*g", prec, v);
    if (strtod(b, NULL) == v)
      break;
  }
  return b;
}

static const char *
stronger_name(StanceSide s)
{
  return s == STANCE_SIDE_LEFT ? "left" : s == STANCE_SIDE_RIGHT ? "right" : "even";
}

/* The last change of one series: the last point against the one before with a value. */
typedef struct {
  gboolean has;
  double change;
  gboolean has_mdc;
  double mdc;
  gboolean exceeds;
} Change;

typedef enum {
  SERIES_LEFT,
  SERIES_RIGHT,
  SERIES_TOTAL,
  SERIES_ASYM,
} Series;

static gboolean
point_value(const StanceTrendPoint *p, Series s, double *v)
{
  switch (s) {
  case SERIES_LEFT: *v = p->left_mean; return p->has_left;
  case SERIES_RIGHT: *v = p->right_mean; return p->has_right;
  case SERIES_TOTAL: *v = p->total_mean; return p->has_total;
  case SERIES_ASYM: *v = p->asym_mean; return p->has_asym;
  }
  return FALSE;
}

static Change
last_change(const StanceTrend *t, Series s, gint64 *from, gint64 *to)
{
  Change c;
  memset(&c, 0, sizeof c);
  const GArray *pts = t->points;
  int last = -1, prev = -1;
  for (int k = (int)pts->len - 1; k >= 0; k--) {
    double v;
    if (!point_value(&g_array_index(pts, StanceTrendPoint, k), s, &v))
      continue;
    if (last < 0)
      last = k;
    else {
      prev = k;
      break;
    }
  }
  if (last < 0 || prev < 0)
    return c;
  double a = 0.0, b = 0.0;
  point_value(&g_array_index(pts, StanceTrendPoint, prev), s, &a);
  point_value(&g_array_index(pts, StanceTrendPoint, last), s, &b);
  c.has = TRUE;
  c.change = b - a;
  *from = g_array_index(pts, StanceTrendPoint, prev).session_id;
  *to = g_array_index(pts, StanceTrendPoint, last).session_id;
  switch (s) {
  case SERIES_LEFT:
    c.has_mdc = t->has_mdc_left;
    c.mdc = t->mdc95_left;
    break;
  case SERIES_RIGHT:
    c.has_mdc = t->has_mdc_right;
    c.mdc = t->mdc95_right;
    break;
  case SERIES_TOTAL:
    c.has_mdc = t->has_mdc_total;
    c.mdc = t->mdc95_total;
    break;
  case SERIES_ASYM:
    c.has_mdc = t->has_mdc_asym;
    c.mdc = t->mdc95_asym;
    break;
  }
  c.exceeds = c.has_mdc && fabs(c.change) > c.mdc;
  return c;
}

static const char *const series_name[] = {"left", "right", "total", "asymmetry"};

static void
print_table(const StanceAthlete *a, const StanceTrend *t)
{
  const char *unit = t->unit;
  cli_display_value(0.0, t->unit, &unit);
  printf("Trend of %s (%s) for %s: %s", t->metric, unit, a->name,
         stance_protocol_name(t->protocol));
  if (t->formula[0]) {
    StanceAsymFormula f;
    if (stance_asym_formula_from_name(t->formula, &f))
      printf(", asymmetry %s = %s", t->formula, stance_asym_formula_text(f));
  }
  printf("\n");
  printf("  %7s  %-16s  %6s  %10s  %10s  %10s   %s\n", "SESSION", "DATE", "TRIALS", "LEFT", "RIGHT",
         "TOTAL", "ASYMMETRY");
  for (guint k = 0; k < t->points->len; k++) {
    const StanceTrendPoint *p = &g_array_index(t->points, StanceTrendPoint, k);
    char l[40] = "-", r[40] = "-", tot[40] = "-", asym[96] = "-";
    if (p->has_left)
      g_strlcpy(l, cli_display_value(p->left_mean, t->unit, NULL), sizeof l);
    if (p->has_right)
      g_strlcpy(r, cli_display_value(p->right_mean, t->unit, NULL), sizeof r);
    if (p->has_total)
      g_strlcpy(tot, cli_display_value(p->total_mean, t->unit, NULL), sizeof tot);
    if (p->has_asym)
      cli_asym_value_text(asym, sizeof asym, p->asym_mean, t->formula, p->stronger);
    printf("  %7" G_GINT64_FORMAT "  %-16s  %6d  %10s  %10s  %10s   %s\n", p->session_id,
           cli_time_text(p->started_unix_ms), p->n_trials, l, r, tot, asym);
  }
  struct {
    gboolean has;
    double te, mdc;
    const char *unit;
  } col[4] = {
      {t->has_mdc_left, t->te_left, t->mdc95_left, t->unit},
      {t->has_mdc_right, t->te_right, t->mdc95_right, t->unit},
      {t->has_mdc_total, t->te_total, t->mdc95_total, t->unit},
      {t->has_mdc_asym, t->te_asym, t->mdc95_asym, "%"},
  };
  char te[4][40], mdc[4][40];
  for (int s = 0; s < 4; s++) {
    if (col[s].has) {
      g_strlcpy(te[s], s == 3 ? cli_num(col[s].te, 2) : cli_display_value(col[s].te, t->unit, NULL),
                sizeof te[s]);
      g_strlcpy(mdc[s],
                s == 3 ? cli_num(col[s].mdc, 2) : cli_display_value(col[s].mdc, t->unit, NULL),
                sizeof mdc[s]);
    } else {
      g_strlcpy(te[s], "-", sizeof te[s]);
      g_strlcpy(mdc[s], "-", sizeof mdc[s]);
    }
  }
  printf("  %-37s  %10s  %10s  %10s   %s\n", "typical error (TE)", te[0], te[1], te[2], te[3]);
  printf("  %-37s  %10s  %10s  %10s   %s\n", "MDC95 = 1.96 x sqrt(2) x TE", mdc[0], mdc[1], mdc[2],
         mdc[3]);
  if (!(t->has_mdc_left || t->has_mdc_right || t->has_mdc_total || t->has_mdc_asym))
    printf("  (TE and MDC95 need at least two trials with a value in every session)\n");

  bool header = false;
  for (int s = 0; s < 4; s++) {
    gint64 from = 0, to = 0;
    Change c = last_change(t, (Series)s, &from, &to);
    if (!c.has)
      continue;
    if (!header) {
      printf("Last change (session %" G_GINT64_FORMAT " against %" G_GINT64_FORMAT "):\n", to,
             from);
      header = true;
    }
    const char *u = s == 3 ? "%" : unit;
    const char *v = s == 3 ? cli_num(c.change, 2) : cli_display_value(c.change, t->unit, NULL);
    printf("  %-10s %s%s %s", series_name[s], c.change > 0 ? "+" : "", v, u);
    if (!c.has_mdc)
      printf("   (no MDC95)\n");
    else
      printf("   %s MDC95 %s %s\n", c.exceeds ? "exceeds the" : "within the",
             s == 3 ? cli_num(c.mdc, 2) : cli_display_value(c.mdc, t->unit, NULL), u);
  }
  if (!header)
    printf("Last change: needs two sessions with a value.\n");
}

static int
print_json(const StanceAthlete *a, const StanceTrend *t)
{
  StanceJson *j = stance_json_new(stdout, true);
  stance_json_begin_object(j);
  stance_json_kv_int(j, "stance_cli_trend", TREND_JSON_VERSION);
  stance_json_key(j, "athlete");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "id", a->id);
  cli_json_kv_text(j, "name", a->name);
  stance_json_end_object(j);
  stance_json_kv_string(j, "metric", t->metric);
  stance_json_kv_string(j, "unit", t->unit);
  stance_json_kv_string(j, "protocol", stance_protocol_name(t->protocol));
  cli_json_kv_nullable(j, "formula", t->formula);
  stance_json_key(j, "points");
  stance_json_begin_array(j);
  for (guint k = 0; k < t->points->len; k++) {
    const StanceTrendPoint *p = &g_array_index(t->points, StanceTrendPoint, k);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "session_id", p->session_id);
    stance_json_kv_int(j, "started_unix_ms", p->started_unix_ms);
    stance_json_kv_int(j, "n", p->n_trials);
    if (p->has_left)
      stance_json_kv_number(j, "left", p->left_mean);
    if (p->has_right)
      stance_json_kv_number(j, "right", p->right_mean);
    if (p->has_total)
      stance_json_kv_number(j, "total", p->total_mean);
    if (p->has_asym) {
      stance_json_kv_number(j, "asym", p->asym_mean);
      stance_json_kv_string(j, "stronger", stronger_name(p->stronger));
    }
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  const gboolean has[4] = {t->has_mdc_left, t->has_mdc_right, t->has_mdc_total, t->has_mdc_asym};
  const double te[4] = {t->te_left, t->te_right, t->te_total, t->te_asym};
  const double mdc[4] = {t->mdc95_left, t->mdc95_right, t->mdc95_total, t->mdc95_asym};
  static const char *const keys[4] = {"left", "right", "total", "asym"};
  stance_json_key(j, "typical_error");
  stance_json_begin_object(j);
  for (int s = 0; s < 4; s++)
    if (has[s])
      stance_json_kv_number(j, keys[s], te[s]);
  stance_json_end_object(j);
  stance_json_key(j, "mdc95");
  stance_json_begin_object(j);
  for (int s = 0; s < 4; s++)
    if (has[s])
      stance_json_kv_number(j, keys[s], mdc[s]);
  stance_json_end_object(j);
  stance_json_key(j, "last_change");
  stance_json_begin_object(j);
  for (int s = 0; s < 4; s++) {
    gint64 from = 0, to = 0;
    Change c = last_change(t, (Series)s, &from, &to);
    if (!c.has)
      continue;
    stance_json_key(j, keys[s]);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "from_session", from);
    stance_json_kv_int(j, "to_session", to);
    stance_json_kv_number(j, "change", c.change);
    stance_json_key(j, "exceeds_mdc95");
    if (c.has_mdc)
      stance_json_bool(j, c.exceeds);
    else
      stance_json_null(j);
    stance_json_end_object(j);
  }
  stance_json_end_object(j);
  stance_json_end_object(j);
  return cli_json_end(SUB, j);
}

static void
print_csv(const StanceTrend *t)
{
  printf("session_id,started_unix_ms,date,protocol,metric,unit,n,left,right,total,asym_formula,"
         "asym_value,stronger\n");
  for (guint k = 0; k < t->points->len; k++) {
    const StanceTrendPoint *p = &g_array_index(t->points, StanceTrendPoint, k);
    printf("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%s,%s,%s,%s,%d,", p->session_id,
           p->started_unix_ms, cli_time_text(p->started_unix_ms), stance_protocol_name(t->protocol),
           t->metric, t->unit, p->n_trials);
    printf("%s,", p->has_left ? exact(p->left_mean) : "");
    printf("%s,", p->has_right ? exact(p->right_mean) : "");
    printf("%s,", p->has_total ? exact(p->total_mean) : "");
    if (p->has_asym)
      printf("%s,%s,%s\n", t->formula, exact(p->asym_mean), stronger_name(p->stronger));
    else
      printf(",,\n");
  }
}

int
cli_trend_main(int argc, char **argv)
{
  enum {
    OPT_METRIC = 256,
    OPT_PROTOCOL,
    OPT_FORMAT,
  };
  static const struct option longopts[] = {
      {"metric", required_argument, NULL, OPT_METRIC},
      {"protocol", required_argument, NULL, OPT_PROTOCOL},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *db = NULL, *metric = NULL;
  StanceProtocol protocol = STANCE_PROTO_UNKNOWN;
  OutFormat fmt = FORMAT_TABLE;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_trend_help(stdout); return CLI_EXIT_OK;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      db = optarg;
      break;
    case OPT_METRIC: {
      bool ok = *optarg && strlen(optarg) < 32;
      for (const char *q = optarg; ok && *q; q++)
        ok = g_ascii_islower(*q) || g_ascii_isdigit(*q) || *q == '_';
      if (!ok)
        return cli_usage_error(SUB,
                               "--metric: '%s' is not a metric id (expected a snake_case id "
                               "of docs/methods.md, e.g. peak_force)",
                               optarg);
      metric = optarg;
      break;
    }
    case OPT_PROTOCOL:
      if (!cli_parse_protocol(SUB, "--protocol", optarg, &protocol))
        return CLI_EXIT_USAGE;
      break;
    case OPT_FORMAT:
      if (strcmp(optarg, "table") == 0)
        fmt = FORMAT_TABLE;
      else if (strcmp(optarg, "json") == 0)
        fmt = FORMAT_JSON;
      else if (strcmp(optarg, "csv") == 0)
        fmt = FORMAT_CSV;
      else
        return cli_usage_error(SUB,
                               "--format: '%s' is not an output format (expected table, "
                               "json or csv)",
                               optarg);
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no athlete given (expected an athlete's id, uuid or name)");
  if (argc - optind > 1)
    return cli_usage_error(SUB,
                           "unexpected argument '%s' (expected one athlete; a name with "
                           "spaces needs quotes)",
                           argv[optind + 1]);
  if (!metric)
    return cli_usage_error(SUB, "no metric given (expected --metric M, e.g. --metric peak_force)");

  StanceStore *store = cli_store_open(SUB, db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  StanceAthlete a;
  stance_athlete_init(&a);
  GError *error = NULL;
  StanceTrend *t = NULL;
  if (!cli_find_athlete(SUB, store, argv[optind], &a)) {
    status = CLI_EXIT_INPUT;
  } else if (!(t = stance_store_trend(store, a.id, protocol, metric, &error))) {
    status = cli_gerror(SUB, error);
  } else if (fmt == FORMAT_JSON) {
    status = print_json(&a, t);
  } else if (fmt == FORMAT_CSV) {
    print_csv(t);
  } else {
    print_table(&a, t);
  }
  if (t)
    stance_trend_free(t);
  stance_athlete_clear(&a);
  stance_store_close(store);
  return status;
}
