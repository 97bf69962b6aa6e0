/* cli-session.c: `stance-cli session list|show|reject|accept|analyse`: the recorded sessions of the
 * store, their trials and results.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `show` prints what is stored: every trial with its state and acceptance, and the key results of
 * its current analysis run (means over the trial's reps; the asymmetry is the run's formula on the
 * mean left and mean right, as `analyse` summarises). `analyse` re-runs the analysis of stored
 * trials with other methods: it adds a run and makes it current; the raw samples are never
 * touched and earlier runs stay.
 */
#include "cli-store.h"

#include <getopt.h>
#include <string.h>

static const char *const SUB = "session";

/* Version of the `session list|show --format json` documents. */
#define SESSION_JSON_VERSION 1

void
cli_session_help(FILE *out)
{
  fputs("Usage: stance-cli session list [--athlete ATHLETE] [--format table|json]\n"
        "       stance-cli session show SESSION [--all] [--format table|json]\n"
        "       stance-cli session reject SESSION TRIAL --reason TEXT\n"
        "       stance-cli session accept SESSION TRIAL\n"
        "       stance-cli session analyse SESSION [TRIAL] [analysis options]\n"
        "\n"
        "The sessions of the store: an athlete's visit with its trials (one recording each).\n"
        "SESSION is a session id (session list shows them), latest, or latest:ATHLETE; TRIAL is a\n"
        "trial's number within its session (1, 2, ...). ATHLETE is an id, uuid or name.\n"
        "\n"
        "  list       id, date, athlete, trials and protocols of every session (newest first)\n"
        "  show       the athlete, the date and every trial: number, protocol, side, duration,\n"
        "             state (complete, interrupted, recording), accepted or rejected with the\n"
        "             reason, notes, and the key results of its current analysis: mean left,\n"
        "             right and total over the reps, the asymmetry with its formula and the\n"
        "             stronger limb; then left against right for one-sided tests\n"
        "  reject     leaves the trial out of reports, exports and trends (raw data kept)\n"
        "  accept     takes a rejected trial back\n"
        "  analyse    re-analyses the session's trials (or one) with other methods: a new\n"
        "             analysis run becomes current; the raw samples are never changed. Each\n"
        "             trial starts from its current run's options; the ones given replace them\n"
        "\n"
        "Options:\n"
        "      --athlete A       list: only this athlete's sessions\n"
        "      --all             show: every metric of each trial, not only the key ones\n"
        "      --format F        list and show: table (default) or json\n"
        "      --reason TEXT     reject: why (1-500 bytes; required)\n"
        "      --db PATH         the store (default: $STANCE_DB, else\n"
        "                        ~/.local/share/stance/stance.db)\n"
        "  -h, --help            show this text and exit\n"
        "Analysis options (analyse):\n"
        "      --formula F       asymmetry formula: lsi, pct_diff, lr_sum, lr_mean, sym_angle,\n"
        "                        log_ratio or default (as for `stance-cli analyse`)\n"
        "      --involved S      involved limb for the LSI: left, right or none\n"
        "      --onset RULE      bw-5sd, bw-5sd-30ms, bw-<k>sd[-<ms>ms], fixed-<N>n, pct-<p>bw or\n"
        "                        default\n"
        "      --filter SPEC     raw, auto, butter:<cutoff_hz>, butter:<order>:<cutoff_hz> or\n"
        "                        default\n"
        "      --takeoff N       takeoff and landing threshold in N (0 or unloaded: 5 SD of the\n"
        "                        unloaded plate)\n"
        "      --weigh RULE      body-weight window: auto, stillest or first\n"
        "      --defaults        start from the default options (with the athlete's involved\n"
        "                        limb) instead of each trial's current ones\n"
        "\n"
        "Exit status: 0 done, 1 the store cannot be opened or written, no such session or trial,\n"
        "or an analysis failed, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  stance-cli session list --athlete \"Ana Silva\"\n"
        "  stance-cli session show 12\n"
        "  stance-cli session show latest:\"Ana Silva\" --format json\n"
        "  stance-cli session reject 12 2 --reason \"lost balance on landing\"\n"
        "  stance-cli session accept 12 2\n"
        "  stance-cli session analyse 12 --formula lsi --involved left\n"
        "  stance-cli session analyse 12 3 --onset fixed-20n --filter butter:50\n",
        out);
}

/* ---- Options ---- */

typedef enum {
  ACT_LIST,
  ACT_SHOW,
  ACT_REJECT,
  ACT_ACCEPT,
  ACT_ANALYSE,
} Action;

typedef struct {
  Action act;
  const char *act_name;
  const char *db;
  const char *athlete;
  bool json;
  bool format_given;
  bool all;
  const char *reason;
  /* analyse */
  const char *formula, *involved, *onset, *filter, *takeoff, *weigh;
  bool defaults;
  const char *first_analysis_option;
} SessionOptions;

static int
parse_options(int argc, char **argv, SessionOptions *o, char ***args, int *n_args)
{
  enum {
    OPT_ATHLETE = 256,
    OPT_ALL,
    OPT_FORMAT,
    OPT_REASON,
    OPT_FORMULA,
    OPT_INVOLVED,
    OPT_ONSET,
    OPT_FILTER,
    OPT_TAKEOFF,
    OPT_WEIGH,
    OPT_DEFAULTS,
  };
  static const struct option longopts[] = {
      {"athlete", required_argument, NULL, OPT_ATHLETE},
      {"all", no_argument, NULL, OPT_ALL},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"reason", required_argument, NULL, OPT_REASON},
      {"formula", required_argument, NULL, OPT_FORMULA},
      {"involved", required_argument, NULL, OPT_INVOLVED},
      {"onset", required_argument, NULL, OPT_ONSET},
      {"filter", required_argument, NULL, OPT_FILTER},
      {"takeoff", required_argument, NULL, OPT_TAKEOFF},
      {"weigh", required_argument, NULL, OPT_WEIGH},
      {"defaults", no_argument, NULL, OPT_DEFAULTS},
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  StanceAnalysisOptions probe;
  stance_analysis_options_default(&probe);
  StanceError perr;
  stance_error_clear(&perr);
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    const char *an = NULL;
    switch (c) {
    case 'h': cli_session_help(stdout); return -1;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      o->db = optarg;
      break;
    case OPT_ATHLETE:
      if (!*optarg)
        return cli_usage_error(SUB, "--athlete: empty (expected an athlete's id, uuid or name)");
      o->athlete = optarg;
      break;
    case OPT_ALL: o->all = true; break;
    case OPT_FORMAT:
      if (strcmp(optarg, "table") == 0)
        o->json = false;
      else if (strcmp(optarg, "json") == 0)
        o->json = true;
      else
        return cli_usage_error(SUB,
                               "--format: '%s' is not an output format (expected table or "
                               "json)",
                               optarg);
      o->format_given = true;
      break;
    case OPT_REASON:
      if (!*optarg || strlen(optarg) > 500)
        return cli_usage_error(SUB, "--reason: %s (expected 1 to 500 bytes saying why)",
                               *optarg ? "too long" : "empty");
      o->reason = optarg;
      break;
    case OPT_FORMULA: {
      StanceAsymFormula f;
      if (strcmp(optarg, "default") != 0 && !stance_asym_formula_from_name(optarg, &f))
        return cli_usage_error(SUB,
                               "--formula: '%s' is not an asymmetry formula (expected lsi, "
                               "pct_diff, lr_sum, lr_mean, sym_angle, log_ratio or default)",
                               optarg);
      o->formula = optarg;
      an = "--formula";
      break;
    }
    case OPT_INVOLVED: {
      StanceSide s;
      if (strcmp(optarg, "none") != 0 &&
          (!stance_side_from_name(optarg, &s) || s == STANCE_SIDE_BOTH))
        return cli_usage_error(SUB,
                               "--involved: '%s' is not a limb (expected left, right or "
                               "none)",
                               optarg);
      o->involved = optarg;
      an = "--involved";
      break;
    }
    case OPT_ONSET:
      if (stance_analysis_options_parse_onset(&probe, optarg, &perr) < 0)
        return cli_usage_error(SUB, "--onset: %s", perr.message);
      o->onset = optarg;
      an = "--onset";
      break;
    case OPT_FILTER:
      if (stance_analysis_options_parse_filter(&probe, optarg, &perr) < 0)
        return cli_usage_error(SUB, "--filter: %s", perr.message);
      o->filter = optarg;
      an = "--filter";
      break;
    case OPT_TAKEOFF: {
      double v;
      if (strcmp(optarg, "unloaded") != 0 && (!cli_parse_double(optarg, &v) || v < 0 || v > 500))
        return cli_usage_error(SUB,
                               "--takeoff: '%s' is not a threshold (expected 0 to 500 N, e.g. "
                               "20, or 0 / unloaded for 5 SD of the unloaded plate)",
                               optarg);
      o->takeoff = optarg;
      an = "--takeoff";
      break;
    }
    case OPT_WEIGH:
      if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "stillest") != 0 &&
          strcmp(optarg, "first") != 0)
        return cli_usage_error(SUB,
                               "--weigh: '%s' is not a weighing rule (expected auto, "
                               "stillest or first)",
                               optarg);
      o->weigh = optarg;
      an = "--weigh";
      break;
    case OPT_DEFAULTS:
      o->defaults = true;
      an = "--defaults";
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
    if (an && !o->first_analysis_option)
      o->first_analysis_option = an;
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no action given (expected list, show, reject, accept or analyse)");
  const char *act = argv[optind];
  o->act_name = act;
  if (strcmp(act, "list") == 0 || strcmp(act, "ls") == 0)
    o->act = ACT_LIST;
  else if (strcmp(act, "show") == 0)
    o->act = ACT_SHOW;
  else if (strcmp(act, "reject") == 0)
    o->act = ACT_REJECT;
  else if (strcmp(act, "accept") == 0)
    o->act = ACT_ACCEPT;
  else if (strcmp(act, "analyse") == 0 || strcmp(act, "analyze") == 0)
    o->act = ACT_ANALYSE;
  else
    return cli_usage_error(SUB,
                           "'%s' is not an action (expected list, show, reject, accept or "
                           "analyse)",
                           act);
  *args = argv + optind + 1;
  *n_args = argc - optind - 1;

  if (o->athlete && o->act != ACT_LIST)
    return cli_usage_error(SUB, "--athlete applies to session list (the session names its "
                                "athlete)");
  if (o->format_given && o->act != ACT_LIST && o->act != ACT_SHOW)
    return cli_usage_error(SUB, "--format applies to session list and show");
  if (o->all && o->act != ACT_SHOW)
    return cli_usage_error(SUB, "--all applies to session show");
  if (o->reason && o->act != ACT_REJECT)
    return cli_usage_error(SUB, "--reason applies to session reject");
  if (o->first_analysis_option && o->act != ACT_ANALYSE)
    return cli_usage_error(SUB, "%s applies to session analyse", o->first_analysis_option);
  int min = 0, max = 0;
  const char *want = "";
  switch (o->act) {
  case ACT_LIST: break;
  case ACT_SHOW:
    min = max = 1;
    want = "SESSION";
    break;
  case ACT_REJECT:
  case ACT_ACCEPT:
    min = max = 2;
    want = "SESSION TRIAL";
    break;
  case ACT_ANALYSE:
    min = 1;
    max = 2;
    want = "SESSION [TRIAL]";
    break;
  }
  if (*n_args < min)
    return cli_usage_error(SUB, "session %s: missing argument (expected %s)", act, want);
  if (*n_args > max)
    return cli_usage_error(SUB, "session %s: unexpected argument '%s' (expected %s)", act,
                           (*args)[max], max ? want : "no arguments");
  if (o->act == ACT_REJECT && !o->reason)
    return cli_usage_error(SUB, "session reject: no reason given (expected --reason TEXT, e.g. "
                                "--reason \"stepped off the plate\")");
  return CLI_EXIT_OK;
}

/* A trial number argument: 1 to 100000. */
static bool
parse_trial_number(const char *s, int *out)
{
  long v;
  if (!cli_parse_long(s, 1, 100000, &v)) {
    cli_usage_error(SUB,
                    "'%s' is not a trial number (expected 1, 2, ...: session show lists "
                    "them)",
                    s);
    return false;
  }
  *out = (int)v;
  return true;
}

/* ---- Text helpers ---- */

static const char *
side_label(StanceProtocol p, StanceSide s)
{
  static char buf[4][48];
  static unsigned next;
  char *b = buf[next++ % 4];
  return stance_side_text(b, sizeof buf[0], p, s);
}

/* "cmj, sl-cmj (left, right)" for a session's trials. */
static gchar *
protocols_text(const GPtrArray *trials)
{
  GString *s = g_string_new(NULL);
  for (int p = 0; p < STANCE_PROTO_COUNT; p++) {
    bool any = false, left = false, right = false;
    for (guint k = 0; k < trials->len; k++) {
      const StanceStoreTrial *t = trials->pdata[k];
      if ((int)t->protocol != p)
        continue;
      any = true;
      left |= t->side == STANCE_SIDE_LEFT;
      right |= t->side == STANCE_SIDE_RIGHT;
    }
    if (!any)
      continue;
    if (s->len)
      g_string_append(s, ", ");
    g_string_append(s, stance_protocol_name((StanceProtocol)p));
    if (left || right)
      g_string_append_printf(s, " (%s%s%s)", left ? "left" : "", left && right ? ", " : "",
                             right ? "right" : "");
  }
  if (s->len == 0)
    g_string_append(s, "-");
  return g_string_free(s, FALSE);
}

static double
trial_seconds(const StanceStoreTrial *t)
{
  return t->sample_rate_hz > 0 ? (double)t->n_samples / t->sample_rate_hz : 0.0;
}

static const char *
stronger_name(StanceSide s)
{
  return s == STANCE_SIDE_LEFT ? "left" : s == STANCE_SIDE_RIGHT ? "right" : "even";
}

/* ---- list ---- */

static int
do_list(const SessionOptions *o)
{
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  gint64 athlete_id = 0;
  GPtrArray *athletes = NULL, *sessions = NULL;
  if (o->athlete) {
    StanceAthlete a;
    stance_athlete_init(&a);
    if (!cli_find_athlete(SUB, store, o->athlete, &a)) {
      stance_store_close(store);
      return CLI_EXIT_INPUT;
    }
    athlete_id = a.id;
    stance_athlete_clear(&a);
  }
  if (!(athletes = stance_store_athlete_list(store, &error)) ||
      !(sessions = stance_store_session_list(store, athlete_id, &error))) {
    status = cli_gerror(SUB, error);
    goto done;
  }
  /* Each session's trials, for the protocols column. */
  GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; k < sessions->len; k++) {
    const StanceSession *s = sessions->pdata[k];
    GPtrArray *trials = stance_store_trial_list(store, s->id, &error);
    if (!trials) {
      g_ptr_array_unref(texts);
      status = cli_gerror(SUB, error);
      goto done;
    }
    g_ptr_array_add(texts, protocols_text(trials));
    g_ptr_array_unref(trials);
  }
  int wname = 7;
  const char **names = g_new0(const char *, sessions->len + 1);
  for (guint k = 0; k < sessions->len; k++) {
    const StanceSession *s = sessions->pdata[k];
    names[k] = "?";
    for (guint a = 0; a < athletes->len; a++)
      if (((StanceAthlete *)athletes->pdata[a])->id == s->athlete_id)
        names[k] = ((StanceAthlete *)athletes->pdata[a])->name;
    int len = g_utf8_validate(names[k], -1, NULL) ? (int)g_utf8_strlen(names[k], -1)
                                                  : (int)strlen(names[k]);
    wname = MAX(wname, MIN(len, 32));
  }
  if (o->json) {
    StanceJson *j = stance_json_new(stdout, true);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "stance_cli_sessions", SESSION_JSON_VERSION);
    stance_json_key(j, "sessions");
    stance_json_begin_array(j);
    for (guint k = 0; k < sessions->len; k++) {
      const StanceSession *s = sessions->pdata[k];
      stance_json_begin_object(j);
      stance_json_kv_int(j, "id", s->id);
      stance_json_kv_string(j, "uuid", s->uuid);
      stance_json_kv_int(j, "started_unix_ms", s->started_unix_ms);
      stance_json_kv_int(j, "athlete_id", s->athlete_id);
      cli_json_kv_text(j, "athlete", names[k]);
      stance_json_kv_int(j, "trials", s->n_trials);
      cli_json_kv_text(j, "protocols", texts->pdata[k]);
      cli_json_kv_nullable(j, "place", s->place);
      stance_json_end_object(j);
    }
    stance_json_end_array(j);
    stance_json_end_object(j);
    status = cli_json_end(SUB, j);
  } else if (sessions->len == 0) {
    printf("No sessions%s yet (stance-cli record --athlete ATHLETE ... records one).\n",
           o->athlete ? " of this athlete" : "");
  } else {
    printf("%6s  %-16s  %-*s  %6s  %s\n", "ID", "DATE", wname, "ATHLETE", "TRIALS", "PROTOCOLS");
    for (guint k = 0; k < sessions->len; k++) {
      const StanceSession *s = sessions->pdata[k];
      printf("%6" G_GINT64_FORMAT "  %-16s  ", s->id, cli_time_text(s->started_unix_ms));
      fputs(names[k], stdout);
      int len = g_utf8_validate(names[k], -1, NULL) ? (int)g_utf8_strlen(names[k], -1)
                                                    : (int)strlen(names[k]);
      printf("%*s  %6d  %s\n", MAX(wname - len, 0), "", s->n_trials, (char *)texts->pdata[k]);
    }
  }
  g_free(names);
  g_ptr_array_unref(texts);
done:
  if (athletes)
    g_ptr_array_unref(athletes);
  if (sessions)
    g_ptr_array_unref(sessions);
  stance_store_close(store);
  return status;
}

/* ---- show ---- */

typedef struct {
  StanceSession session;
  StanceAthlete athlete;
  GPtrArray *trials;   /* StanceStoreTrial* */
  GPtrArray *results;  /* CliTrialResults* or NULL (never analysed, or recording), same order */
  GArray *comparisons; /* CliSideComparison */
  double mass_kg;      /* the latest entry up to a day after the session started; 0 when none */
} ShowData;

static void
results_free(gpointer p)
{
  if (p) {
    cli_trial_results_clear(p);
    g_free(p);
  }
}

static void
show_data_clear(ShowData *d)
{
  stance_session_clear(&d->session);
  stance_athlete_clear(&d->athlete);
  if (d->trials)
    g_ptr_array_unref(d->trials);
  if (d->results)
    g_ptr_array_unref(d->results);
  if (d->comparisons)
    g_array_unref(d->comparisons);
}

static gboolean
show_data_load(StanceStore *store, gint64 id, ShowData *d, GError **error)
{
  memset(d, 0, sizeof *d);
  stance_session_init(&d->session);
  stance_athlete_init(&d->athlete);
  if (!stance_store_session_get(store, id, &d->session, error) ||
      !stance_store_athlete_get(store, d->session.athlete_id, &d->athlete, error) ||
      !(d->trials = stance_store_trial_list(store, id, error)))
    return FALSE;
  d->results = g_ptr_array_new_with_free_func(results_free);
  for (guint k = 0; k < d->trials->len; k++) {
    const StanceStoreTrial *t = d->trials->pdata[k];
    CliTrialResults *r = NULL;
    if (t->state != STANCE_TRIAL_RECORDING) {
      r = g_new0(CliTrialResults, 1);
      GError *e = NULL;
      if (!cli_trial_results(store, t, r, &e)) {
        g_free(r);
        r = NULL;
        /* Never analysed is not an error: show says so. */
        if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
          g_propagate_error(error, e);
          return FALSE;
        }
        g_error_free(e);
      }
    }
    g_ptr_array_add(d->results, r);
  }
  if (!(d->comparisons = cli_session_side_comparisons(store, id, error)))
    return FALSE;
  GArray *masses = stance_store_athlete_masses(store, d->athlete.id, error);
  if (!masses)
    return FALSE;
  const gint64 until = d->session.started_unix_ms + 24 * 3600 * (gint64)1000;
  for (guint k = 0; k < masses->len; k++) {
    const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, k);
    if (m->measured_unix_ms <= until)
      d->mass_kg = m->mass_kg;
  }
  g_array_unref(masses);
  return TRUE;
}

/* The metric ids a trial shows: the key ones, or every one with --all. */
static size_t
shown_metrics(const StanceStoreTrial *t, const CliTrialResults *r, bool all, const char **ids,
              size_t max)
{
  if (!all)
    return cli_key_metrics(t->protocol, r, ids, MIN(max, 5));
  size_t n = 0;
  for (guint k = 0; k < r->metrics->len && n < max; k++)
    ids[n++] = g_array_index(r->metrics, CliMetricMean, k).metric;
  return n;
}

static void
print_metric_row(const CliMetricMean *m)
{
  const char *unit = m->unit;
  char l[48] = "-", r[48] = "-", t[48] = "-", asym[96] = "-";
  if (m->has_left)
    g_strlcpy(l, cli_display_value(m->left, m->unit, &unit), sizeof l);
  if (m->has_right)
    g_strlcpy(r, cli_display_value(m->right, m->unit, &unit), sizeof r);
  if (m->has_total)
    g_strlcpy(t, cli_display_value(m->total, m->unit, &unit), sizeof t);
  if (m->has_asym)
    cli_asym_value_text(asym, sizeof asym, m->asym, m->formula, m->stronger);
  printf("    %-24s %-6s %10s %10s %10s   %s\n", m->metric, unit, l, r, t, asym);
}

static void
show_text(const ShowData *d, bool all)
{
  const StanceSession *s = &d->session;
  const StanceAthlete *a = &d->athlete;
  int accepted = 0;
  for (guint k = 0; k < d->trials->len; k++)
    accepted += ((StanceStoreTrial *)d->trials->pdata[k])->accepted ? 1 : 0;
  printf("Session %" G_GINT64_FORMAT ": %s, %s\n", s->id, a->name,
         cli_time_text(s->started_unix_ms));
  printf("  %-16s%s (id %" G_GINT64_FORMAT ")", "athlete", a->name, a->id);
  if (a->birth_date[0])
    printf(", born %.*s", a->pseudonymised ? 4 : 10, a->birth_date);
  if (a->sex != STANCE_SEX_UNKNOWN)
    printf(", %s", stance_sex_name(a->sex));
  printf("\n");
  if (a->dominant != STANCE_SIDE_BOTH)
    printf("  %-16s%s\n", "dominant limb", stance_side_name(a->dominant));
  if (a->involved != STANCE_SIDE_BOTH)
    printf("  %-16s%s%s%s\n", "involved limb", stance_side_name(a->involved),
           a->injury_date[0] ? ", injury " : "", a->injury_date);
  if (d->mass_kg > 0)
    printf("  %-16s%s kg\n", "body mass", cli_num(d->mass_kg, 1));
  if (s->place)
    printf("  %-16s%s\n", "place", s->place);
  if (s->notes)
    printf("  %-16s%s\n", "notes", s->notes);
  printf("  %-16s%u (%d accepted, %u rejected)\n", "trials", d->trials->len, accepted,
         d->trials->len - (guint)accepted);

  for (guint k = 0; k < d->trials->len; k++) {
    const StanceStoreTrial *t = d->trials->pdata[k];
    const CliTrialResults *r = d->results->pdata[k];
    printf("\nTrial %d: %s, %s\n", t->number, stance_protocol_name(t->protocol),
           side_label(t->protocol, t->side));
    printf("  %-16s%s s at %s Hz (%s samples", "recording", cli_num(trial_seconds(t), 3),
           cli_num_trim(t->sample_rate_hz, 3), cli_size((size_t)t->n_samples));
    if (t->gap_samples)
      printf(", %s gap samples", cli_size((size_t)t->gap_samples));
    printf("), %s\n", t->source && *t->source ? t->source : "unknown source");
    printf("  %-16s%s\n", "started", cli_time_text(t->started_unix_ms));
    printf("  %-16s%s\n", "state", stance_trial_state_name(t->state));
    if (t->accepted)
      printf("  %-16syes\n", "accepted");
    else
      printf("  %-16sno, rejected: %s\n", "accepted", t->reject_reason ? t->reject_reason : "");
    if (t->note)
      printf("  %-16s%s\n", "note", t->note);
    if (t->state == STANCE_TRIAL_RECORDING) {
      printf("  %-16snone yet (still being recorded)\n", "analysis");
      continue;
    }
    if (!r) {
      printf("  %-16snone (stance-cli session analyse %" G_GINT64_FORMAT " %d runs it)\n",
             "analysis", s->id, t->number);
      continue;
    }
    printf("  %-16s%s, asymmetry %s = %s (run %s)\n", "analysis", cli_reps_text(t->protocol, r),
           stance_asym_formula_name(r->formula), stance_asym_formula_text(r->formula),
           cli_time_text(r->created_unix_ms));
    const char *ids[64];
    size_t n = shown_metrics(t, r, all, ids, G_N_ELEMENTS(ids));
    if (n == 0) {
      printf("    (no metrics to show)\n");
      continue;
    }
    printf("    %-24s %-6s %10s %10s %10s   %s\n", "metric (mean)", "unit", "left", "right",
           "total", "asymmetry");
    for (size_t q = 0; q < n; q++)
      print_metric_row(cli_trial_results_find(r, ids[q]));
  }
  if (d->comparisons->len > 0) {
    printf("\nLeft against right (one-sided tests: the stance limb's mean over the accepted "
           "trials of each side)\n");
    printf("    %-12s %-24s %-6s %14s %14s   %s\n", "test", "metric", "unit", "left (n)",
           "right (n)", "asymmetry");
    for (guint k = 0; k < d->comparisons->len; k++) {
      const CliSideComparison *c = &g_array_index(d->comparisons, CliSideComparison, k);
      const char *unit = c->unit;
      char l[48], r[48], asym[96] = "-";
      snprintf(l, sizeof l, "%s (%d)", cli_display_value(c->left, c->unit, &unit), c->n_left);
      snprintf(r, sizeof r, "%s (%d)", cli_display_value(c->right, c->unit, &unit), c->n_right);
      if (c->has_asym)
        cli_asym_value_text(asym, sizeof asym, c->asym, c->formula, c->stronger);
      printf("    %-12s %-24s %-6s %14s %14s   %s\n", stance_protocol_name(c->protocol), c->metric,
             unit, l, r, asym);
    }
  }
  printf("\nValues in display units: heights and distances in cm, durations in ms (--format json "
         "keeps SI units).\n");
}

static void
json_metric(StanceJson *j, const CliMetricMean *m)
{
  stance_json_begin_object(j);
  stance_json_kv_string(j, "id", m->metric);
  stance_json_kv_string(j, "unit", m->unit);
  stance_json_kv_int(j, "n", m->n);
  if (m->has_left)
    stance_json_kv_number(j, "left", m->left);
  if (m->has_right)
    stance_json_kv_number(j, "right", m->right);
  if (m->has_total)
    stance_json_kv_number(j, "total", m->total);
  stance_json_key(j, "asym");
  if (m->has_asym) {
    stance_json_begin_object(j);
    stance_json_kv_string(j, "formula", m->formula);
    stance_json_kv_number(j, "value", m->asym);
    stance_json_kv_string(j, "stronger", stronger_name(m->stronger));
    stance_json_end_object(j);
  } else {
    stance_json_null(j);
  }
  stance_json_end_object(j);
}

static int
show_json(const ShowData *d, bool all)
{
  const StanceSession *s = &d->session;
  const StanceAthlete *a = &d->athlete;
  StanceJson *j = stance_json_new(stdout, true);
  stance_json_begin_object(j);
  stance_json_kv_int(j, "stance_cli_session", SESSION_JSON_VERSION);
  stance_json_key(j, "session");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "id", s->id);
  stance_json_kv_string(j, "uuid", s->uuid);
  stance_json_kv_int(j, "started_unix_ms", s->started_unix_ms);
  cli_json_kv_nullable(j, "place", s->place);
  cli_json_kv_nullable(j, "notes", s->notes);
  stance_json_end_object(j);
  stance_json_key(j, "athlete");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "id", a->id);
  stance_json_kv_string(j, "uuid", a->uuid);
  cli_json_kv_text(j, "name", a->name);
  cli_json_kv_nullable(j, "birth_date", a->birth_date);
  stance_json_kv_string(j, "sex", stance_sex_name(a->sex));
  cli_json_kv_nullable(j, "dominant",
                       a->dominant == STANCE_SIDE_BOTH ? NULL : stance_side_name(a->dominant));
  cli_json_kv_nullable(j, "involved",
                       a->involved == STANCE_SIDE_BOTH ? NULL : stance_side_name(a->involved));
  cli_json_kv_nullable(j, "injury_date", a->injury_date);
  stance_json_kv_bool(j, "pseudonymised", a->pseudonymised);
  stance_json_key(j, "body_mass_kg");
  if (d->mass_kg > 0)
    stance_json_number(j, d->mass_kg);
  else
    stance_json_null(j);
  stance_json_end_object(j);
  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  for (guint k = 0; k < d->trials->len; k++) {
    const StanceStoreTrial *t = d->trials->pdata[k];
    const CliTrialResults *r = d->results->pdata[k];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "number", t->number);
    stance_json_kv_int(j, "id", t->id);
    stance_json_kv_string(j, "uuid", t->uuid);
    stance_json_kv_string(j, "protocol", stance_protocol_name(t->protocol));
    stance_json_kv_string(j, "side", stance_side_name(t->side));
    stance_json_kv_string(j, "layout", stance_layout_name(t->layout));
    stance_json_kv_number(j, "sample_rate_hz", t->sample_rate_hz);
    stance_json_kv_int(j, "n_samples", (int64_t)t->n_samples);
    stance_json_kv_int(j, "gap_samples", (int64_t)t->gap_samples);
    stance_json_kv_number(j, "duration_s", trial_seconds(t));
    stance_json_kv_int(j, "started_unix_ms", t->started_unix_ms);
    stance_json_kv_string(j, "state", stance_trial_state_name(t->state));
    stance_json_kv_bool(j, "accepted", t->accepted);
    cli_json_kv_nullable(j, "reject_reason", t->reject_reason);
    cli_json_kv_nullable(j, "note", t->note);
    cli_json_kv_nullable(j, "source", t->source);
    cli_json_kv_nullable(j, "calibration_id", t->calibration_id);
    stance_json_key(j, "analysis");
    if (!r) {
      stance_json_null(j);
    } else {
      stance_json_begin_object(j);
      stance_json_kv_int(j, "id", r->analysis_id);
      stance_json_kv_int(j, "created_unix_ms", r->created_unix_ms);
      cli_json_kv_nullable(j, "options", r->options);
      stance_json_kv_string(j, "formula", stance_asym_formula_name(r->formula));
      cli_json_kv_nullable(j, "involved",
                           r->involved == STANCE_SIDE_BOTH ? NULL : stance_side_name(r->involved));
      stance_json_kv_int(j, "reps", r->n_reps);
      cli_json_kv_nullable(j, "kind", r->kind);
      stance_json_key(j, "metrics");
      stance_json_begin_array(j);
      const char *ids[256];
      size_t n = shown_metrics(t, r, all, ids, G_N_ELEMENTS(ids));
      for (size_t q = 0; q < n; q++)
        json_metric(j, cli_trial_results_find(r, ids[q]));
      stance_json_end_array(j);
      stance_json_end_object(j);
    }
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_key(j, "left_right");
  stance_json_begin_array(j);
  for (guint k = 0; k < d->comparisons->len; k++) {
    const CliSideComparison *c = &g_array_index(d->comparisons, CliSideComparison, k);
    stance_json_begin_object(j);
    stance_json_kv_string(j, "protocol", stance_protocol_name(c->protocol));
    stance_json_kv_string(j, "metric", c->metric);
    stance_json_kv_string(j, "unit", c->unit);
    stance_json_kv_number(j, "left", c->left);
    stance_json_kv_int(j, "n_left", c->n_left);
    stance_json_kv_number(j, "right", c->right);
    stance_json_kv_int(j, "n_right", c->n_right);
    stance_json_key(j, "asym");
    if (c->has_asym) {
      stance_json_begin_object(j);
      stance_json_kv_string(j, "formula", c->formula);
      stance_json_kv_number(j, "value", c->asym);
      stance_json_kv_string(j, "stronger", stronger_name(c->stronger));
      stance_json_end_object(j);
    } else {
      stance_json_null(j);
    }
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
  return cli_json_end(SUB, j);
}

static int
do_show(const SessionOptions *o, const char *key)
{
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  gint64 id = cli_find_session(SUB, store, key);
  if (id <= 0) {
    stance_store_close(store);
    return CLI_EXIT_INPUT;
  }
  ShowData d;
  GError *error = NULL;
  if (!show_data_load(store, id, &d, &error))
    status = cli_gerror(SUB, error);
  else if (o->json)
    status = show_json(&d, o->all);
  else
    show_text(&d, o->all);
  show_data_clear(&d);
  stance_store_close(store);
  return status;
}

/* ---- reject / accept ---- */

/* The trial numbered `number` of the session; prints the error and returns FALSE when none. */
static gboolean
find_trial(StanceStore *store, gint64 session_id, int number, StanceStoreTrial *out)
{
  GError *error = NULL;
  GPtrArray *trials = stance_store_trial_list(store, session_id, &error);
  if (!trials) {
    cli_gerror(SUB, error);
    return FALSE;
  }
  gboolean found = FALSE;
  for (guint k = 0; k < trials->len && !found; k++) {
    const StanceStoreTrial *t = trials->pdata[k];
    if (t->number == number)
      found = stance_store_trial_get(store, t->id, out, &error);
  }
  if (!found && error) {
    cli_gerror(SUB, error);
  } else if (!found) {
    if (trials->len == 0)
      cli_error(SUB, "session %" G_GINT64_FORMAT " has no trials", session_id);
    else
      cli_error(SUB,
                "session %" G_GINT64_FORMAT " has no trial %d (expected 1 to %d: session show "
                "lists them)",
                session_id, number, ((StanceStoreTrial *)trials->pdata[trials->len - 1])->number);
  }
  g_ptr_array_unref(trials);
  return found;
}

static int
do_accept(const SessionOptions *o, const char *skey, const char *tkey, gboolean accept)
{
  int number;
  if (!parse_trial_number(tkey, &number))
    return CLI_EXIT_USAGE;
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  gint64 sid = cli_find_session(SUB, store, skey);
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  GError *error = NULL;
  if (sid <= 0 || !find_trial(store, sid, number, &t)) {
    status = CLI_EXIT_INPUT;
  } else if (!stance_store_trial_set_accepted(store, t.id, accept, accept ? NULL : o->reason,
                                              &error)) {
    status = cli_gerror(SUB, error);
  } else if (accept) {
    printf("Trial %d of session %" G_GINT64_FORMAT " accepted%s\n", number, sid,
           t.accepted ? " (it was already)" : "");
  } else {
    printf("Trial %d of session %" G_GINT64_FORMAT " rejected: %s\n", number, sid, o->reason);
  }
  stance_store_trial_clear(&t);
  stance_store_close(store);
  return status;
}

/* ---- analyse ---- */

/* The given analysis options on top of o. The values were checked while parsing. */
static void
apply_analysis_options(const SessionOptions *so, StanceAnalysisOptions *o)
{
  StanceError err;
  stance_error_clear(&err);
  if (so->formula) {
    if (strcmp(so->formula, "default") == 0)
      o->formula = STANCE_ASYM_DEFAULT;
    else
      stance_asym_formula_from_name(so->formula, &o->formula);
  }
  if (so->involved) {
    if (strcmp(so->involved, "none") == 0)
      o->involved = STANCE_SIDE_BOTH;
    else
      stance_side_from_name(so->involved, &o->involved);
  }
  if (so->onset)
    (void)stance_analysis_options_parse_onset(o, so->onset, &err);
  if (so->filter)
    (void)stance_analysis_options_parse_filter(o, so->filter, &err);
  if (so->takeoff) {
    if (strcmp(so->takeoff, "unloaded") == 0)
      o->takeoff_n = 0.0;
    else
      cli_parse_double(so->takeoff, &o->takeoff_n);
  }
  if (so->weigh)
    o->weigh = strcmp(so->weigh, "first") == 0      ? STANCE_WEIGH_FIRST
               : strcmp(so->weigh, "stillest") == 0 ? STANCE_WEIGH_STILLEST
                                                    : STANCE_WEIGH_AUTO;
}

/* One line about a trial's current results: the headline and the first asymmetry. */
static void
print_result_line(StanceStore *store, const StanceStoreTrial *t, const char *before)
{
  CliTrialResults r;
  GError *error = NULL;
  if (!cli_trial_results(store, t, &r, &error)) {
    printf("Trial %d: analysed (%s)\n", t->number, error->message);
    g_error_free(error);
    return;
  }
  printf("Trial %d: %s, %s, formula %s%s%s", t->number, stance_protocol_name(t->protocol),
         cli_reps_text(t->protocol, &r), before ? before : "", before ? " -> " : "",
         stance_asym_formula_name(r.formula));
  const char *ids[5];
  size_t n = cli_key_metrics(t->protocol, &r, ids, G_N_ELEMENTS(ids));
  for (size_t k = 0; k < n; k++) {
    const CliMetricMean *m = cli_trial_results_find(&r, ids[k]);
    if (m->has_asym) {
      char buf[96];
      printf("; %s %s", m->metric,
             cli_asym_value_text(buf, sizeof buf, m->asym, m->formula, m->stronger));
      break;
    }
  }
  printf("\n");
  cli_trial_results_clear(&r);
}

static int
do_analyse(const SessionOptions *o, const char *skey, const char *tkey)
{
  int only = 0;
  if (tkey && !parse_trial_number(tkey, &only))
    return CLI_EXIT_USAGE;
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  GPtrArray *trials = NULL;
  StanceSession s;
  stance_session_init(&s);
  StanceAthlete a;
  stance_athlete_init(&a);
  gint64 sid = cli_find_session(SUB, store, skey);
  if (sid <= 0) {
    status = CLI_EXIT_INPUT;
    goto done;
  }
  if (!stance_store_session_get(store, sid, &s, &error) ||
      !stance_store_athlete_get(store, s.athlete_id, &a, &error) ||
      !(trials = stance_store_trial_list(store, sid, &error))) {
    status = cli_gerror(SUB, error);
    goto done;
  }
  int done_n = 0;
  bool found = only == 0;
  for (guint k = 0; k < trials->len; k++) {
    const StanceStoreTrial *t = trials->pdata[k];
    if (only && t->number != only)
      continue;
    found = true;
    if (t->state == STANCE_TRIAL_RECORDING) {
      cli_error(SUB, "trial %d is still being recorded: not analysed", t->number);
      if (only)
        status = CLI_EXIT_INPUT;
      continue;
    }
    /* Start from the current run's options (so one option changes one thing), else from the
     * defaults with the athlete's involved limb. */
    StanceAnalysisOptions opts;
    stance_analysis_options_default(&opts);
    opts.involved = a.involved;
    char before[24] = "";
    StanceStoreAnalysis cur;
    memset(&cur, 0, sizeof cur);
    GError *e = NULL;
    if (stance_store_analysis_current(store, t->id, &cur, &e)) {
      StanceAnalysisOptions prev;
      stance_analysis_options_default(&prev);
      StanceError err;
      stance_error_clear(&err);
      if (cur.options && stance_analysis_options_from_text(&prev, cur.options, &err) == 0) {
        StanceAsymFormula pf = prev.formula != STANCE_ASYM_DEFAULT
                                   ? prev.formula
                                   : stance_asym_default(t->protocol, prev.involved);
        g_strlcpy(before, stance_asym_formula_name(pf), sizeof before);
        if (!o->defaults)
          opts = prev;
      }
      stance_store_analysis_clear(&cur);
    } else if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
      status = cli_gerror(SUB, e);
      goto done;
    } else {
      g_error_free(e);
    }
    apply_analysis_options(o, &opts);
    if (stance_session_analyse_trial(store, t->id, &opts, NULL, &e) <= 0) {
      cli_error(SUB, "trial %d: %s", t->number, e ? e->message : "the analysis failed");
      g_clear_error(&e);
      status = CLI_EXIT_INPUT;
      continue;
    }
    print_result_line(store, t, before[0] ? before : NULL);
    done_n++;
  }
  if (!found) {
    cli_error(SUB,
              "session %" G_GINT64_FORMAT " has no trial %d (expected one of the numbers "
              "session show lists)",
              sid, only);
    status = CLI_EXIT_INPUT;
  } else if (done_n > 0) {
    printf("Re-analysed %d trial%s of session %" G_GINT64_FORMAT " (%s); the raw samples are "
           "unchanged and earlier runs are kept.\n",
           done_n, done_n == 1 ? "" : "s", sid, a.name);
  } else if (status == CLI_EXIT_OK) {
    printf("Session %" G_GINT64_FORMAT " has no trials to analyse.\n", sid);
  }
done:
  if (trials)
    g_ptr_array_unref(trials);
  stance_athlete_clear(&a);
  stance_session_clear(&s);
  stance_store_close(store);
  return status;
}

int
cli_session_main(int argc, char **argv)
{
  SessionOptions o;
  memset(&o, 0, sizeof o);
  char **args = NULL;
  int n_args = 0;
  int status = parse_options(argc, argv, &o, &args, &n_args);
  if (status != CLI_EXIT_OK)
    return status < 0 ? CLI_EXIT_OK : status;
  switch (o.act) {
  case ACT_LIST: return do_list(&o);
  case ACT_SHOW: return do_show(&o, args[0]);
  case ACT_REJECT: return do_accept(&o, args[0], args[1], FALSE);
  case ACT_ACCEPT: return do_accept(&o, args[0], args[1], TRUE);
  case ACT_ANALYSE: return do_analyse(&o, args[0], n_args > 1 ? args[1] : NULL);
  }
  return CLI_EXIT_USAGE;
}
